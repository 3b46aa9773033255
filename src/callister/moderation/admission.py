"""Who may come in, and who may speak: the one admission check and the server's mutes.

A ban is per account (or per address), never per world or per door: every entry point asks
`refusal` the same question — each world's WebSocket hello (`server/gateway.authenticate`, also
a cluster gateway's), the login, the registration (an address ban), and every authenticated HTTP
request (`server/app.current_account`, so an old token is useless while the ban lasts). Bans are
the server's: the moderation service writes them under the server's public world name (the
`world` column lets a world be deleted by key), and private worlds obey the same list.

Staff act in a role order (`ROLES`, lowest first): a moderator or administrator may act only on
an account of a strictly lower role (`may_act_on`).

The functions taking a `store` are synchronous and run on the store's writer thread (one hop
for the whole check); nothing here imports the server.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from callister.store import ROLES, Account, Ban


@dataclass(frozen=True)
class Refusal:
    """Why an account or address may not come in: `code` for HTTP answers, `message` for the
    person, `until` when it ends (Unix time; None: permanent)."""

    code: str
    message: str
    until: float | None

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "until": self.until}


def refusal(
    store: Any, world: str, account: Account | None, address: str | None, now: float
) -> Refusal | None:
    """The reason `account` (or anyone from `address`) may not come in at `now`, or None.

    Checks the account's permanent flag (`callister admin ban`) and the moderators' bans in
    force on the account or the address (temporary ones until they end). When several apply,
    the one that lasts longest is named. Runs on the store thread."""
    if account is not None and account.banned:
        return Refusal("BANNED", "this account is banned permanently", None)
    address = address if address and address != "?" else None
    bans = store.moderation.bans_on(world, None if account is None else account.id, address, now)
    if not bans:
        return None
    ban = max(bans, key=_ends)
    who = "this account is" if ban.kind == "account" else f"your address ({ban.value}) is"
    if ban.until is None:
        return Refusal("BANNED", f"{who} banned permanently", None)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ban.until))
    return Refusal("BANNED", f"{who} banned until {when}", ban.until)


def _ends(ban: Ban) -> float:
    return float("inf") if ban.until is None else ban.until


def token_account(
    store: Any, world: str, token_hash: str, address: str | None, now: float
) -> tuple[Account | None, Refusal | None]:
    """The account behind a session token (None: unknown or expired) and its refusal, if any:
    what a hello or an authenticated HTTP request needs, in one store-thread call."""
    account_id = store.accounts.get_session(token_hash, now)
    account = store.accounts.get(account_id) if account_id else None
    if account is None:
        return None, None
    return account, refusal(store, world, account, address, now)


def rank(role: str) -> int:
    """A role's place in the staff order (player 0 < moderator 1 < admin 2)."""
    return ROLES.index(role) if role in ROLES else -1


def may_act_on(actor_role: str, target_role: str) -> bool:
    """Whether staff of `actor_role` may act (warn, mute, kick, ban …) on an account of
    `target_role`: only on a strictly lower role, so nobody acts on a peer or a superior."""
    return rank(actor_role) > rank(target_role)


class Mutes:
    """Muted accounts of this process (account -> until, Unix time): one object shared by every
    world's gateway, so a mute silences the account in every world it enters."""

    def __init__(self) -> None:
        self.until: dict[int, float] = {}

    def mute(self, account_id: int, until: float) -> None:
        self.until[account_id] = until

    def is_muted(self, account_id: int, now: float | None = None) -> bool:
        until = self.until.get(account_id)
        return until is not None and until > (time.time() if now is None else now)

    def message(self, account_id: int) -> str:
        until = self.until.get(account_id, 0.0)
        left = max(1, round((until - time.time()) / 60.0))
        return f"a moderator muted you: your chat is refused for {left} more minute(s)"
