"""`InviteRepository`: invite links and the starts they give (issue 16, "friends together").

A player makes an invite code in the client; a friend registering with it starts at the
player's home station. Only the SHA-256 of a code is stored (as for session tokens). Where a new
account's first character starts in a world — chosen at registration among the offered home
systems, or given by an invite — is a `Start`, read when the character is made.

Every method is one transaction (see `Store` for the contract every repository keeps).
"""

from __future__ import annotations

import time

from . import _check as check
from .database import Cursor, Database, Row
from .errors import InviteRefused
from .records import Invite, Start

MAX_USES = 1000


def _start(row: Row) -> Start:
    account_id, world, x, y, station, invited_by = row
    return Start(
        int(account_id), str(world), int(x), int(y), int(station),
        None if invited_by is None else int(invited_by),
    )  # fmt: skip


def _invite(row: Row) -> Invite:
    account_id, world, created, expires, uses, max_uses = row
    return Invite(
        int(account_id), str(world), float(created), float(expires), int(uses), int(max_uses)
    )


class InviteRepository:
    """Invite codes (by their hash) and new accounts' starts."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self, code_hash: str, account_id: int, world: str, expires_at: float, max_uses: int
    ) -> Invite:
        """Record an invite code (its SHA-256 hex) made by `account_id` for `world`."""
        code_hash = check.token_hash(code_hash)
        account_id = check.int64("account_id", account_id, 1)
        world = check.world_name(world)
        expires_at = check.finite("expires_at", expires_at)
        max_uses = check.count("max_uses", max_uses, 1, MAX_USES)
        now = time.time()
        self._db.execute(
            "INSERT INTO invites (code_hash, account_id, world, created_at, expires_at, uses, "
            "max_uses) VALUES (?, ?, ?, ?, ?, 0, ?)",
            (code_hash, account_id, world, now, expires_at, max_uses),
        )
        return Invite(account_id, world, now, expires_at, 0, max_uses)

    def get(self, code_hash: str) -> Invite | None:
        """The invite with that code hash, or None (expired and used-up ones included)."""
        code_hash = check.token_hash(code_hash)
        return self._db.one(
            "SELECT account_id, world, created_at, expires_at, uses, max_uses FROM invites "
            "WHERE code_hash = ?",
            (code_hash,),
            map=_invite,
        )

    def redeem(self, code_hash: str, start: Start, now: float | None = None) -> Invite:
        """Use the invite once for a new account: count the use and record `start` (the
        account, placed where the caller resolved the inviter's home), in one transaction.
        InviteRefused ('unknown', 'expired', 'used') writes nothing."""
        code_hash = check.token_hash(code_hash)
        row = _start_row(start)
        at = time.time() if now is None else check.finite("now", now)

        def apply(cur: Cursor) -> Invite:
            found = cur.execute(
                "SELECT account_id, world, created_at, expires_at, uses, max_uses FROM invites "
                "WHERE code_hash = ?",
                (code_hash,),
            ).one()
            if found is None:
                raise InviteRefused("unknown", "no such invite code")
            invite = _invite(found)
            if invite.expires_at <= at:
                raise InviteRefused("expired", "this invite code has expired")
            if invite.uses >= invite.max_uses:
                raise InviteRefused("used", "this invite code has been used up")
            cur.execute("UPDATE invites SET uses = uses + 1 WHERE code_hash = ?", (code_hash,))
            _put_start(cur, row, at)
            return Invite(
                invite.account_id, invite.world, invite.created_at, invite.expires_at,
                invite.uses + 1, invite.max_uses,
            )  # fmt: skip

        return self._db.write(apply)

    def set_start(self, start: Start) -> None:
        """Record (or replace) where the account's first character in the world starts."""
        row = _start_row(start)
        self._db.write(lambda cur: _put_start(cur, row, time.time()))

    def start_of(self, account_id: int, world: str) -> Start | None:
        """Where the account's first character in `world` starts, if it chose (or was given)."""
        account_id = check.int64("account_id", account_id, 1)
        world = check.world_name(world)
        return self._db.one(
            "SELECT account_id, world, system_x, system_y, station, invited_by FROM starts "
            "WHERE account_id = ? AND world = ?",
            (account_id, world),
            map=_start,
        )

    def live_count(self, account_id: int, world: str, now: float | None = None) -> int:
        """How many of the account's invites in the world are still usable (not expired, not
        used up)."""
        account_id = check.int64("account_id", account_id, 1)
        world = check.world_name(world)
        at = time.time() if now is None else check.finite("now", now)
        return int(
            self._db.scalar(
                "SELECT count(*) FROM invites WHERE account_id = ? AND world = ? "
                "AND expires_at > ? AND uses < max_uses",
                (account_id, world, at),
            )
        )

    def purge_expired(self, now: float | None = None) -> int:
        """Delete invites that expired; the number deleted."""
        at = time.time() if now is None else check.finite("now", now)
        return self._db.execute("DELETE FROM invites WHERE expires_at <= ?", (at,))


def _start_row(start: Start) -> tuple[int, str, int, int, int, int | None]:
    if not isinstance(start, Start):
        raise ValueError(f"expected a Start, not {type(start).__name__}")
    invited_by = start.invited_by
    return (
        check.int64("account_id", start.account_id, 1),
        check.world_name(start.world),
        check.int64("system_x", start.system_x),
        check.int64("system_y", start.system_y),
        check.int64("station", start.station, 0),
        None if invited_by is None else check.int64("invited_by", invited_by, 1),
    )


def _put_start(cur: Cursor, row: tuple[int, str, int, int, int, int | None], now: float) -> None:
    cur.execute(
        "INSERT INTO starts (account_id, world, system_x, system_y, station, invited_by, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, world) DO UPDATE SET "
        "system_x = excluded.system_x, system_y = excluded.system_y, "
        "station = excluded.station, invited_by = excluded.invited_by",
        (*row, now),
    )
