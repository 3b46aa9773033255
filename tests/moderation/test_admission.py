"""The one admission check (moderation/admission.py) and the store query behind it, on SQLite
and PostgreSQL: account flag, account and address bans, permanent and temporary, lifted ones,
another world's; the staff role order; mutes."""

from __future__ import annotations

import pytest

from callister.moderation.admission import Mutes, may_act_on, refusal, token_account
from callister.server.auth import token_hash
from callister.store import Ban, Store

W = "infinity"


def test_bans_on_finds_the_account_and_address_bans_in_force(store: Store) -> None:
    temp = store.moderation.add_ban(Ban(W, "account", "7", 100.0, "r", 1, 3.0))
    addr = store.moderation.add_ban(Ban(W, "address", "10.0.0.1", None, "r", 1, 4.0))
    store.moderation.add_ban(Ban(W, "account", "8", None, "r", 1, 5.0))  # someone else
    store.moderation.add_ban(
        Ban("haven", "account", "7", None, "r", 1, 6.0)
    )  # not the server's list
    lifted = store.moderation.add_ban(Ban(W, "account", "7", None, "r", 1, 7.0))
    assert store.moderation.lift_ban(W, lifted)
    assert [b.id for b in store.moderation.bans_on(W, 7, "10.0.0.1", 50.0)] == [
        addr,
        temp,
    ]  # newest first
    assert [b.id for b in store.moderation.bans_on(W, 7, None, 50.0)] == [temp]
    assert [b.id for b in store.moderation.bans_on(W, 7, None, 150.0)] == []  # expired
    assert [b.id for b in store.moderation.bans_on(W, None, "10.0.0.1", 150.0)] == [addr]
    assert store.moderation.bans_on(W, 9, "10.0.0.2", 50.0) == []
    assert store.moderation.bans_on(W, None, None, 50.0) == []
    for bad in (
        (W, "7", None, 1.0),
        (W, 7, "", 1.0),
        (W, 7, None, float("nan")),
        ("", 7, None, 1.0),
    ):
        with pytest.raises(ValueError):
            store.moderation.bans_on(*bad)  # type: ignore[arg-type]


def test_refusal_names_the_longest_ban_and_ends_with_it(store: Store) -> None:
    account = store.accounts.create("Grief", "x")
    other = store.accounts.create("Alt", "x")
    assert refusal(store, W, account, "10.0.0.1", 10.0) is None
    store.moderation.add_ban(Ban(W, "account", str(account.id), 100.0, "r", 1, 3.0))
    store.moderation.add_ban(Ban(W, "account", str(account.id), 500.0, "r", 1, 4.0))
    found = refusal(store, W, account, "10.0.0.1", 10.0)
    assert found is not None and found.code == "BANNED" and found.until == 500.0
    assert found.message == "this account is banned until 1970-01-01 00:08 UTC"
    assert refusal(store, W, account, "10.0.0.1", 500.0) is None  # over
    assert refusal(store, W, other, "10.0.0.1", 10.0) is None  # bans are per account
    store.moderation.add_ban(Ban(W, "address", "10.0.0.1", None, "r", 1, 5.0))
    for who in (account, other, None):  # everyone from the address, a registration too
        found = refusal(store, W, who, "10.0.0.1", 600.0)
        assert found is not None and found.until is None
        assert found.message == "your address (10.0.0.1) is banned permanently"
    assert refusal(store, W, other, "10.0.0.2", 600.0) is None
    assert refusal(store, W, other, "?", 600.0) is None  # an unknown address matches nothing
    flagged = store.accounts.set_banned(
        "Alt", True
    )  # `callister admin ban`: permanent, any address
    found = refusal(store, W, flagged, None, 600.0)
    assert found is not None and found.message == "this account is banned permanently"


def test_token_account_answers_unknown_tokens_and_bans(store: Store) -> None:
    account = store.accounts.create("Grief", "x")
    store.accounts.create_session(account.id, token_hash("tok"), 1000.0)
    assert token_account(store, W, token_hash("nope"), None, 10.0) == (None, None)
    assert token_account(store, W, token_hash("tok"), None, 2000.0) == (None, None)  # expired
    found, refused = token_account(store, W, token_hash("tok"), None, 10.0)
    assert found == account and refused is None
    store.moderation.add_ban(Ban(W, "account", str(account.id), None, "r", 1, 3.0))
    found, refused = token_account(store, W, token_hash("tok"), None, 10.0)
    assert found == account and refused is not None and refused.until is None


@pytest.mark.parametrize(
    ("actor", "target", "allowed"),
    [
        ("moderator", "player", True), ("admin", "player", True), ("admin", "moderator", True),
        ("moderator", "moderator", False), ("moderator", "admin", False),
        ("admin", "admin", False), ("player", "player", False), ("nobody", "player", False),
    ],
)  # fmt: skip
def test_staff_act_only_on_a_strictly_lower_role(actor: str, target: str, allowed: bool) -> None:
    assert may_act_on(actor, target) is allowed


def test_mutes_end_and_say_how_long() -> None:
    mutes = Mutes()
    assert not mutes.is_muted(5)
    mutes.mute(5, 1000.0)
    assert mutes.is_muted(5, now=999.0) and not mutes.is_muted(5, now=1000.0)
    assert not mutes.is_muted(6, now=999.0)
    assert "more minute(s)" in mutes.message(5)
