"""Invite links, starts and parties (issue 16) on both backends against real databases."""

from __future__ import annotations

import hashlib

import pytest

from callister.store import InParty, InviteRefused, NotFound, PartyFull, Start, Store

W = "infinity"


def digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def accounts(store: Store, *names: str) -> list[int]:
    return [store.accounts.create(n, "x" * 20).id for n in names]


def test_an_invite_is_redeemed_into_a_start_until_it_expires_or_is_used_up(store: Store) -> None:
    ann, bob, cid, dee = accounts(store, "Ann", "Bob", "Cid", "Dee")
    store.invites.create(digest("code-1"), ann, W, expires_at=1000.0, max_uses=2)
    start = Start(bob, W, -3, 7, 1, invited_by=ann)
    invite = store.invites.redeem(digest("code-1"), start, now=10.0)
    assert (invite.account_id, invite.uses, invite.max_uses) == (ann, 1, 2)
    assert store.invites.start_of(bob, W) == start
    store.invites.redeem(digest("code-1"), Start(cid, W, -3, 7, 1, ann), now=11.0)
    # used up, expired, unknown: refused, and nothing written
    with pytest.raises(InviteRefused) as used:
        store.invites.redeem(digest("code-1"), Start(dee, W, 0, 0, 0, ann), now=12.0)
    assert used.value.reason == "used"
    store.invites.create(digest("code-2"), ann, W, expires_at=100.0, max_uses=5)
    with pytest.raises(InviteRefused) as expired:
        store.invites.redeem(digest("code-2"), Start(dee, W, 0, 0, 0, ann), now=100.0)
    assert expired.value.reason == "expired"
    with pytest.raises(InviteRefused) as unknown:
        store.invites.redeem(digest("nope"), Start(dee, W, 0, 0, 0, ann), now=1.0)
    assert unknown.value.reason == "unknown"
    assert store.invites.start_of(dee, W) is None
    assert store.invites.get(digest("code-2")).uses == 0  # type: ignore[union-attr]
    assert store.invites.purge_expired(now=500.0) == 1
    assert store.invites.get(digest("code-2")) is None


def test_a_chosen_start_is_kept_and_replaced(store: Store) -> None:
    (ann,) = accounts(store, "Ann")
    store.invites.set_start(Start(ann, W, 9223372036854775807, -9223372036854775808, 0))
    assert store.invites.start_of(ann, W) == Start(ann, W, 2**63 - 1, -(2**63), 0)
    store.invites.set_start(Start(ann, W, 1, 2, 3))
    assert store.invites.start_of(ann, W) == Start(ann, W, 1, 2, 3)
    assert store.invites.start_of(ann, "other") is None


def test_bad_arguments_are_refused_before_any_sql(store: Store) -> None:
    (ann,) = accounts(store, "Ann")
    with pytest.raises(ValueError):
        store.invites.create("not-a-hash", ann, W, 1.0, 1)
    with pytest.raises(ValueError):
        store.invites.create(digest("c"), ann, W, float("nan"), 1)
    with pytest.raises(ValueError):
        store.invites.create(digest("c"), ann, W, 1.0, 0)
    with pytest.raises(ValueError):
        store.invites.set_start(Start(ann, "Bad World", 0, 0, 0))
    with pytest.raises(ValueError):
        store.invites.set_start(Start(ann, W, 0, 0, -1))
    with pytest.raises(ValueError):
        store.parties.join(W, ann, ann, 4)


def test_parties_join_leave_and_one_party_per_player(store: Store) -> None:
    ann, bob, cid, dee, eve = accounts(store, "Ann", "Bob", "Cid", "Dee", "Eve")
    party = store.parties.join(W, ann, bob, max_size=3, now=1.0)
    assert (party.leader, party.members) == (ann, (ann, bob))
    assert store.parties.of(W, bob) == party
    # a member invites a third: the same party
    assert store.parties.join(W, bob, cid, max_size=3, now=2.0).members == (ann, bob, cid)
    with pytest.raises(PartyFull):
        store.parties.join(W, ann, dee, max_size=3, now=3.0)
    # one party per player: Dee leads a second party; Bob cannot join it
    other = store.parties.join(W, dee, eve, max_size=3, now=4.0)
    assert other.id != party.id
    with pytest.raises(InParty):
        store.parties.join(W, dee, bob, max_size=3)
    with pytest.raises(InParty):
        store.parties.join(W, bob, eve, max_size=3)  # Eve is in Dee's party
    # the leader leaves: the longest-standing member leads
    after = store.parties.leave(W, ann)
    assert after is not None and (after.leader, after.members) == (bob, (bob, cid))
    assert store.parties.of(W, ann) is None
    # down to one member: the party ends
    assert store.parties.leave(W, cid) is None
    assert store.parties.of(W, bob) is None and store.parties.get(W, party.id) is None
    with pytest.raises(NotFound):
        store.parties.leave(W, bob)
    assert [p.members for p in store.parties.all(W)] == [(dee, eve)]
    assert store.parties.all("other") == []
