"""`ClusterRepository`: a cluster's zone ownership in the database (migration 8, `cluster`):
per zone the highest fencing token seen (`cluster_fences`), the zone's last checkpoint
(`cluster_checkpoints`), where each ship is (`cluster_ships`) and the jump hand-offs between
workers (`cluster_outbox`).

The rule lives in the database: triggers on every table of zone state refuse a row whose token
is below its zone's fence, so a writer that skipped the checks here would still be refused.
Every write method here is one *fenced* transaction: it first raises the zone's fence to the
writer's token (`Fenced` if a newer owner holds it), then writes, and everything it wrote
commits only if the writer still holds the zone. The protocol (claim before loading; fenced
checkpoints, departures and arrivals) is told in cluster/fencing.py and cluster/outbox.py,
which add the cluster's types (ship states, hand-offs) on top of this repository: here a ship's
state and a hand-off are opaque text.

A worker runs these on connections of its own (`Database.connect_separate()`), so a fenced
write never queues behind the server's writer thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from .characters import SAVE_CHARACTER, character_rows
from .database import Cursor, Database
from .errors import Fenced, NotResident, ShipExists, StoreError
from .records import Character, ZoneRecord

T = TypeVar("T")
Extra = Callable[[Cursor], None]

FENCE_MESSAGE = "callister fenced"  # the triggers' message prefix (both dialects)
_RAISE_FENCE = (
    "INSERT INTO cluster_fences (zone, world, token, owner, updated_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (zone) DO UPDATE SET token = excluded.token, owner = excluded.owner, "
    "updated_at = excluded.updated_at WHERE cluster_fences.token < excluded.token "
    "OR (cluster_fences.token = excluded.token AND cluster_fences.owner = excluded.owner) "
    "RETURNING token"
)


def world_of(zone: str) -> str:
    """The world part of a zone key ``<world>.<x>.<y>``."""
    return zone.rsplit(".", 2)[0]


def handoff_id(ship_id: int, seq: int) -> str:
    """The outbox row's key for a ship's `seq`-th hand-off; also the JetStream Nats-Msg-Id, so
    a republished hand-off is deduplicated by the server."""
    return f"ship.{ship_id}.{seq}"


def _raise_fence(cur: Cursor, zone: str, token: int, owner: str) -> None:
    """Raise the zone's fence to `token`, or raise `Fenced` if it is already higher (or equal
    but held by another owner: a token reused after a NATS store lost its last writes must
    not let two owners in).

    One statement, decided by the database under the fence row's lock (held to commit)."""
    row = cur.execute(_RAISE_FENCE, (zone, world_of(zone), token, owner, time.time())).one()
    if row is None:
        current = cur.execute("SELECT token FROM cluster_fences WHERE zone = ?", (zone,)).one()
        raise Fenced(zone, token, int(current[0]) if current else None)


def _then(cur: Cursor, characters: Sequence[Character], extra: Extra | None) -> None:
    """The rest of a fenced transaction: the players' characters (so a worker that lost the
    zone cannot overwrite them), then the caller's own statements."""
    if len(characters) == 1:  # (one statement: no round trip of its own when pipelined)
        cur.execute(SAVE_CHARACTER, character_rows(characters, time.time())[0])
    elif characters:
        cur.executemany(SAVE_CHARACTER, character_rows(characters, time.time()))
    if extra is not None:
        extra(cur)


class ClusterRepository:
    """Fences, zone checkpoints, ship locations and the hand-off outbox."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- fencing ----------------------------------------------------------------------------

    def fenced(self, zone: str, token: int, owner: str, fn: Callable[[Cursor], T]) -> T:
        """`fn(cursor)` in a transaction in which `zone`'s fence has been checked (and raised)
        to `token`: everything fn writes commits only if the writer still holds the zone;
        otherwise `Fenced` is raised and nothing is written (also when a trigger refuses a
        row of another zone's state that fn wrote)."""
        if token <= 0:
            raise ValueError("fencing tokens are positive")

        def run(cur: Cursor) -> T:
            _raise_fence(cur, zone, token, owner)
            return fn(cur)

        try:
            return self._db.write(run)
        except StoreError as exc:
            if FENCE_MESSAGE in str(exc):  # a trigger refused a row: the database's verdict
                raise Fenced(zone, token) from exc
            raise

    def claim(self, zone: str, token: int, owner: str) -> None:
        """Take over `zone`'s fence with a newly acquired lease's token (before loading it):
        from its commit on, every write with a lower token (or the same token from another
        owner) is refused, and every write committed before it is visible. On PostgreSQL it
        waits for a write of the previous owner in flight (the fence row's lock)."""
        self.fenced(zone, token, owner, lambda cur: None)

    def fence_token(self, zone: str) -> int | None:
        """The zone's current fence (None: never claimed)."""
        token = self._db.scalar("SELECT token FROM cluster_fences WHERE zone = ?", (zone,))
        return None if token is None else int(token)

    # -- zone state -------------------------------------------------------------------------

    def add_ship(self, zone: str, token: int, owner: str, ship_id: int, state: str) -> None:
        """A ship enters the cluster (a new character) in `zone`, with its encoded `state`.
        `ShipExists` if the cluster places it somewhere already."""

        def insert(cur: Cursor) -> None:
            row = cur.execute("SELECT zone FROM cluster_ships WHERE ship_id = ?", (ship_id,)).one()
            if row is not None:
                raise ShipExists(f"ship {ship_id} is already in zone {row[0]}")
            cur.execute(
                "INSERT INTO cluster_ships (ship_id, world, zone, seq, arrived, state, token, "
                "updated_at) VALUES (?, ?, ?, 0, 0, ?, ?, ?)",
                (ship_id, world_of(zone), zone, state, token, time.time()),
            )

        self.fenced(zone, token, owner, insert)

    def remove_ship(self, zone: str, token: int, owner: str, ship_id: int) -> bool:
        """A ship resident in `zone` is gone for good (destroyed). False if it was not there."""

        def delete(cur: Cursor) -> bool:
            cur.execute(
                "DELETE FROM cluster_ships WHERE ship_id = ? AND zone = ? AND arrived = seq",
                (ship_id, zone),
            )
            return cur.rowcount == 1

        return self.fenced(zone, token, owner, delete)

    def checkpoint(
        self,
        zone: str,
        token: int,
        owner: str,
        *,
        tick: int,
        ships: Sequence[tuple[int, str]] = (),
        payload: str = "{}",
        characters: Sequence[Character] = (),
        extra: Extra | None = None,
    ) -> int:
        """Write the zone's tick, payload and ships' states ((ship id, encoded state) pairs),
        and save `characters`, in one fenced transaction; `extra(cursor)` runs in it last.

        Only ships resident in the zone are updated (a ship that departed meanwhile is skipped,
        so a late checkpoint cannot pull it back). Returns the number of ship rows written.
        """
        now = time.time()

        def write(cur: Cursor) -> int:
            cur.execute(
                "INSERT INTO cluster_checkpoints (zone, world, token, tick, payload, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (zone) DO UPDATE SET "
                "token = excluded.token, tick = excluded.tick, payload = excluded.payload, "
                "updated_at = excluded.updated_at",
                (zone, world_of(zone), token, tick, payload, now),
            )
            written = 0
            if ships and cur.dialect == "postgresql":
                # one statement for all ships (arrays), not one round trip per ship
                cur.execute(
                    "UPDATE cluster_ships AS s SET state = v.state, token = ?, updated_at = ? "
                    "FROM (SELECT unnest(?::bigint[]) AS id, unnest(?::text[]) AS state) AS v "
                    "WHERE s.ship_id = v.id AND s.zone = ? AND s.arrived = s.seq",
                    (token, now, [s for s, _ in ships], [state for _, state in ships], zone),
                )
                written = max(0, cur.rowcount)
            elif ships:
                cur.executemany(
                    "UPDATE cluster_ships SET state = ?, token = ?, updated_at = ? "
                    "WHERE ship_id = ? AND zone = ? AND arrived = seq",
                    [(state, token, now, ship, zone) for ship, state in ships],
                )
                written = max(0, cur.rowcount)
            _then(cur, characters, extra)
            return written

        return self.fenced(zone, token, owner, write)

    def load_zone(self, zone: str) -> ZoneRecord:
        """The zone's last checkpoint (tick 0 and payload '{}' if none), the states of the
        ships resident there and the ships in transit to it."""

        def read(cur: Cursor) -> ZoneRecord:
            row = cur.execute(
                "SELECT tick, payload, token FROM cluster_checkpoints WHERE zone = ?", (zone,)
            ).one()
            ships = cur.execute(
                "SELECT state, seq, arrived FROM cluster_ships WHERE zone = ? ORDER BY ship_id",
                (zone,),
            ).all()
            incoming = cur.execute(
                "SELECT ship_id, seq FROM cluster_ships WHERE zone = ? AND arrived < seq "
                "ORDER BY ship_id",
                (zone,),
            ).all()
            tick, payload, token = (int(row[0]), str(row[1]), int(row[2])) if row else (0, "{}", 0)
            return ZoneRecord(
                zone,
                tick,
                payload,
                token,
                [str(state) for state, seq, arrived in ships if seq == arrived],
                [(int(ship), int(seq)) for ship, seq in incoming],
            )

        return self._db.read(read)

    def ship_location(self, ship_id: int) -> tuple[str, int, int] | None:
        """(zone, seq, arrived) of a ship, or None if the cluster does not know it."""
        row = self._db.one(
            "SELECT zone, seq, arrived FROM cluster_ships WHERE ship_id = ?", (ship_id,)
        )
        return (str(row[0]), int(row[1]), int(row[2])) if row else None

    # -- hand-offs --------------------------------------------------------------------------

    def depart(
        self,
        *,
        from_zone: str,
        to_zone: str,
        token: int,
        owner: str,
        ship_id: int,
        state: str,
        handoff: Callable[[int, float], str],
        characters: Sequence[Character] = (),
        extra: Extra | None = None,
    ) -> None:
        """Commit a ship's departure and its outbox row together (fenced on `from_zone`): the
        ship row moves to `to_zone` with seq + 1 (in transit) and `state`, and the outbox row
        holds `handoff(seq, departed_at)` (the hand-off's encoded message). `characters` and
        `extra(cursor)` are written in the same transaction.

        `NotResident` if the ship is not resident in `from_zone` (already departed: a repeated
        call); `Fenced` if the source zone has a newer owner.
        """
        now = time.time()

        def write(cur: Cursor) -> None:
            row = cur.execute(
                "SELECT zone, seq, arrived FROM cluster_ships WHERE ship_id = ?", (ship_id,)
            ).one()
            if row is None or row[0] != from_zone or int(row[1]) != int(row[2]):
                raise NotResident(f"ship {ship_id} is not resident in {from_zone}: {row}")
            seq = int(row[1]) + 1
            cur.execute(
                "UPDATE cluster_ships SET zone = ?, seq = ?, state = ?, token = ?, updated_at = ? "
                "WHERE ship_id = ? AND seq = ?",
                (to_zone, seq, state, token, now, ship_id, row[1]),
            )
            cur.execute(
                "INSERT INTO cluster_outbox (msg_id, world, ship_id, seq, from_zone, to_zone, "
                "payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    handoff_id(ship_id, seq),
                    world_of(to_zone),
                    ship_id,
                    seq,
                    from_zone,
                    to_zone,
                    handoff(seq, now),
                    now,
                ),
            )
            _then(cur, characters, extra)

        self.fenced(from_zone, token, owner, write)

    def arrive(
        self,
        *,
        ship_id: int,
        seq: int,
        to_zone: str,
        token: int,
        owner: str,
        state: str,
        characters: Sequence[Character] = (),
        extra: Extra | None = None,
    ) -> bool:
        """Make the ship resident in `to_zone` (fenced on it) with `state`, and mark its
        hand-off delivered. False: a duplicate (this seq already arrived, or a later hand-off
        superseded it); nothing was written then. `characters` and `extra(cursor)` are written
        in the same transaction, only when the arrival applies."""
        now = time.time()

        def write(cur: Cursor) -> bool:
            cur.execute(
                "UPDATE cluster_ships SET arrived = seq, state = ?, token = ?, updated_at = ? "
                "WHERE ship_id = ? AND zone = ? AND seq = ? AND arrived < seq",
                (state, token, now, ship_id, to_zone, seq),
            )
            if cur.rowcount != 1:
                return False
            cur.execute(
                "UPDATE cluster_outbox SET delivered_at = ? WHERE msg_id = ?",
                (now, handoff_id(ship_id, seq)),
            )
            _then(cur, characters, extra)
            return True

        return self.fenced(to_zone, token, owner, write)

    def pending_handoffs(
        self, *, older_than: float = 1.0, limit: int = 500, now: float | None = None
    ) -> list[str]:
        """The encoded hand-offs not delivered yet and last (re)published more than
        `older_than` seconds ago, oldest first: what the outbox relay republishes."""
        cutoff = (time.time() if now is None else now) - older_than
        return self._db.all(
            "SELECT payload FROM cluster_outbox WHERE delivered_at IS NULL "
            "AND COALESCE(published_at, created_at) <= ? ORDER BY created_at LIMIT ?",
            (cutoff, limit),
            map=lambda r: str(r[0]),
        )

    def mark_published(self, msg_ids: Iterable[str]) -> None:
        """Note that these hand-offs were (re)published now (undelivered ones only)."""
        now = time.time()
        self._db.executemany(
            "UPDATE cluster_outbox SET published_at = ? WHERE msg_id = ? AND delivered_at IS NULL",
            [(now, m) for m in msg_ids],
        )
