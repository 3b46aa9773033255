"""`PartyRepository`: parties (groups of players) in a world (issue 16, "friends together").

A party is made when a player accepts another's invitation and lives while it has two or more
members; a player is in at most one party per world (the `party_members` key refuses a second:
`InParty`). When the leader leaves, the longest-standing member leads.

Every method is one transaction (see `Store` for the contract every repository keeps).
"""

from __future__ import annotations

import time

from . import _check as check
from .database import Cursor, Database
from .errors import InParty, NotFound, PartyFull
from .records import Party

MAX_PARTY = 64


def _load(cur: Cursor, world: str, party_id: int) -> Party | None:
    row = cur.execute(
        "SELECT id, world, leader FROM parties WHERE id = ? AND world = ?", (party_id, world)
    ).one()
    if row is None:
        return None
    leader = int(row[2])
    rows = cur.execute(
        "SELECT account_id, joined_at FROM party_members WHERE party_id = ? AND world = ?",
        (party_id, world),
    ).all()
    # in the order they joined; the party's maker before the first to join it (same time)
    members = sorted((float(at), int(a) != leader, int(a)) for a, at in rows)
    return Party(int(row[0]), str(row[1]), leader, tuple(m[2] for m in members))


def _add_member(cur: Cursor, world: str, party_id: int, account_id: int, at: float) -> None:
    """The account joins the party (the table's key refuses one already in a party)."""
    cur.execute(
        "INSERT INTO party_members (account_id, world, party_id, joined_at) VALUES (?, ?, ?, ?)",
        (account_id, world, party_id, at),
    )


def _party_of(cur: Cursor, world: str, account_id: int) -> int | None:
    row = cur.execute(
        "SELECT party_id FROM party_members WHERE account_id = ? AND world = ?",
        (account_id, world),
    ).one()
    return None if row is None else int(row[0])


class PartyRepository:
    """Parties and their members, per world."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def join(
        self, world: str, inviter: int, account_id: int, max_size: int, now: float | None = None
    ) -> Party:
        """`account_id` joins `inviter`'s party — a new one led by the inviter when the
        inviter has none. InParty when `account_id` is in a party already; PartyFull at
        `max_size` members; ValueError for joining oneself."""
        world = check.world_name(world)
        inviter = check.int64("inviter", inviter, 1)
        account_id = check.int64("account_id", account_id, 1)
        max_size = check.count("max_size", max_size, 2, MAX_PARTY)
        if inviter == account_id:
            raise ValueError("a player cannot join their own invitation")
        at = time.time() if now is None else check.finite("now", now)

        def apply(cur: Cursor) -> Party:
            if _party_of(cur, world, account_id) is not None:
                raise InParty(f"account {account_id} is in a party already")
            party_id = _party_of(cur, world, inviter)
            if party_id is None:
                row = cur.execute(
                    "INSERT INTO parties (world, leader, created_at) VALUES (?, ?, ?) RETURNING id",
                    (world, inviter, at),
                ).one()
                assert row is not None
                party_id = int(row[0])
                _add_member(cur, world, party_id, inviter, at)
            party = _load(cur, world, party_id)
            assert party is not None
            if len(party.members) >= max_size:
                raise PartyFull(f"the party has {len(party.members)} members, the most allowed")
            _add_member(cur, world, party_id, account_id, at)
            done = _load(cur, world, party_id)
            assert done is not None
            return done

        return self._db.write(apply)

    def leave(self, world: str, account_id: int) -> Party | None:
        """The account leaves its party; returns the party as it is after (None when it was
        dissolved: one member left). NotFound when the account is in no party."""
        world = check.world_name(world)
        account_id = check.int64("account_id", account_id, 1)

        def apply(cur: Cursor) -> Party | None:
            party_id = _party_of(cur, world, account_id)
            if party_id is None:
                raise NotFound(f"account {account_id} is in no party")
            cur.execute(
                "DELETE FROM party_members WHERE account_id = ? AND world = ?",
                (account_id, world),
            )
            party = _load(cur, world, party_id)
            assert party is not None
            if len(party.members) <= 1:  # nobody to party with: the party ends
                cur.execute(
                    "DELETE FROM party_members WHERE party_id = ? AND world = ?",
                    (party_id, world),
                )
                cur.execute("DELETE FROM parties WHERE id = ? AND world = ?", (party_id, world))
                return None
            if party.leader == account_id:
                leader = party.members[0]
                cur.execute(
                    "UPDATE parties SET leader = ? WHERE id = ? AND world = ?",
                    (leader, party_id, world),
                )
                party = Party(party.id, world, leader, party.members)
            return party

        return self._db.write(apply)

    def of(self, world: str, account_id: int) -> Party | None:
        """The account's party in the world, or None."""
        world = check.world_name(world)
        account_id = check.int64("account_id", account_id, 1)

        def read(cur: Cursor) -> Party | None:
            party_id = _party_of(cur, world, account_id)
            return None if party_id is None else _load(cur, world, party_id)

        return self._db.read(read)

    def get(self, world: str, party_id: int) -> Party | None:
        """The party by id, or None."""
        world = check.world_name(world)
        party_id = check.int64("party_id", party_id, 1)
        return self._db.read(lambda cur: _load(cur, world, party_id))

    def all(self, world: str) -> list[Party]:
        """Every party of the world, by id."""
        world = check.world_name(world)

        def read(cur: Cursor) -> list[Party]:
            ids = cur.execute("SELECT id FROM parties WHERE world = ? ORDER BY id", (world,))
            found = [_load(cur, world, int(r[0])) for r in ids.all()]
            return [p for p in found if p is not None]

        return self._db.read(read)
