"""Fenced writes: zone state in the database that a worker without the zone's lease cannot touch.

The tables and the rule live in the migration ``sql/<dialect>/0900_cluster.sql``: per zone, the
highest fencing token seen (`cluster_fences`), and triggers on every table of zone state
(`cluster_ships`, `cluster_checkpoints`) that refuse a row whose token is below its zone's.
The refusal is the database's, not this module's: a writer that skipped the checks here would
still be refused.

The protocol, for a worker that acquired a zone's lease with token T (leases.py):

1. `claim(conn, zone, T, owner)` before reading anything: it raises the zone's fence to T (a
   conditional upsert: ``... WHERE cluster_fences.token <= T``), waiting for any write of the
   previous owner that is in flight (row lock). From its commit on, every write with a lower
   token (or the same token from another owner) is refused; everything committed before it
   is visible.
2. `load_zone(conn, zone)`: the last checkpoint and the ships resident there.
3. Each checkpoint: `checkpoint(conn, zone, T, owner, tick=..., ships=...)`, one transaction that
   first re-checks the fence (`Fenced` if a newer owner claimed it), then writes.

Functions take a DB-API connection: psycopg 3 (autocommit mode; each call is one explicit
transaction) or sqlite3 (opened with ``isolation_level=None``; writes use BEGIN IMMEDIATE).
They are synchronous: call them off the event loop (the store writer thread, or
``asyncio.to_thread``).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

from callister.cluster.codec import decode_ship, encode_ship
from callister.sim.events import ShipState

FENCE_SQLSTATE = "CL409"  # raised by the PostgreSQL trigger
FENCE_MESSAGE = "callister fenced"  # the trigger's message prefix (both dialects)
MIGRATION_NAME = "0900_cluster.sql"

Connection = psycopg.Connection[Any] | sqlite3.Connection


class Fenced(Exception):
    """The write carries a token below the zone's fence: the writer has lost the zone."""

    def __init__(self, zone: str, token: int, current: int | None = None) -> None:
        detail = f" (fence is at {current})" if current is not None else ""
        super().__init__(f"zone {zone}: token {token} is fenced off{detail}")
        self.zone, self.token, self.current = zone, token, current


class ShipExists(Exception):
    """`add_ship` for a ship the cluster already places somewhere."""


def world_of(zone: str) -> str:
    """The world part of a zone key ``<world>.<x>.<y>``."""
    return zone.rsplit(".", 2)[0]


# ------------------------------------------------------------------------ connection adapter


class Cursor:
    """The slice of a DB-API cursor used here, with ``?`` placeholders on both dialects."""

    __slots__ = ("_pg", "raw")

    def __init__(self, raw: Any, pg: bool) -> None:
        self.raw, self._pg = raw, pg

    @property
    def postgres(self) -> bool:
        return self._pg

    def _sql(self, query: str) -> str:
        return query.replace("%", "%%").replace("?", "%s") if self._pg else query

    def execute(self, query: str, params: Sequence[Any] = ()) -> Cursor:
        self.raw.execute(self._sql(query), params)
        return self

    def executemany(self, query: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.raw.executemany(self._sql(query), rows)

    def one(self) -> tuple[Any, ...] | None:
        row = self.raw.fetchone()
        return None if row is None else tuple(row)

    def all(self) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.raw.fetchall()]

    @property
    def rowcount(self) -> int:
        return int(self.raw.rowcount)


def dialect(conn: Connection) -> str:
    return "sqlite" if isinstance(conn, sqlite3.Connection) else "postgresql"


_LOCKS_GUARD = threading.Lock()
_PG_LOCKS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_SQLITE_LOCKS: dict[int, threading.RLock] = {}  # sqlite3 connections take no weak references


def _lock_for(conn: Connection) -> threading.RLock:
    with _LOCKS_GUARD:
        if isinstance(conn, sqlite3.Connection):
            return _SQLITE_LOCKS.setdefault(id(conn), threading.RLock())
        lock = _PG_LOCKS.get(conn)
        if lock is None:
            lock = _PG_LOCKS[conn] = threading.RLock()
        return lock


@contextlib.contextmanager
def transaction(conn: Connection) -> Iterator[Cursor]:
    """One write transaction; commits on exit, rolls back on any exception.

    Calls on one connection from several threads (e.g. `asyncio.to_thread` from a receiver
    and from a departure at once) are serialised here; separate connections run in parallel.
    """
    with _lock_for(conn), _transaction(conn) as cur:
        yield cur


@contextlib.contextmanager
def _transaction(conn: Connection) -> Iterator[Cursor]:
    if isinstance(conn, sqlite3.Connection):
        raw = conn.cursor()
        raw.execute("BEGIN IMMEDIATE")
        try:
            yield Cursor(raw, pg=False)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return
    with conn.transaction(), conn.cursor() as pg_raw:
        yield Cursor(pg_raw, pg=True)


def _is_fence_error(exc: BaseException) -> bool:
    if isinstance(exc, psycopg.Error):
        return getattr(exc, "sqlstate", None) == FENCE_SQLSTATE
    return isinstance(exc, sqlite3.IntegrityError) and FENCE_MESSAGE in str(exc)


# ------------------------------------------------------------------------------- schema


def migration_sql(dialect_name: str) -> str:
    """The text of the cluster migration for 'postgresql' or 'sqlite'."""
    path = resources.files("callister.cluster") / "sql" / dialect_name / MIGRATION_NAME
    return path.read_text(encoding="utf-8")


def ensure_schema(conn: Connection) -> bool:
    """Create the cluster tables if they are missing (True if it did).

    Until the store's migration runner takes the 0900 migration, workers call this at start;
    on PostgreSQL an advisory lock makes two workers starting at once safe.
    """
    name = dialect(conn)
    with transaction(conn) as cur:
        if name == "postgresql":
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('callister.cluster.schema'))")
            row = cur.execute("SELECT to_regclass('cluster_fences') IS NOT NULL").one()
            if row and row[0]:
                return False
            cur.raw.execute(migration_sql(name).encode("utf-8"))
            return True
        row = cur.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'cluster_fences'"
        ).one()
        if row and row[0]:
            return False
        statement = ""
        for line in migration_sql(name).splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                cur.execute(statement)
                statement = ""
        return True


# ------------------------------------------------------------------------------- fencing

_RAISE_FENCE = (
    "INSERT INTO cluster_fences (zone, world, token, owner, updated_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (zone) DO UPDATE SET token = excluded.token, owner = excluded.owner, "
    "updated_at = excluded.updated_at WHERE cluster_fences.token < excluded.token "
    "OR (cluster_fences.token = excluded.token AND cluster_fences.owner = excluded.owner) "
    "RETURNING token"
)


def _raise_fence(cur: Cursor, zone: str, token: int, owner: str) -> None:
    """Raise the zone's fence to `token`, or raise `Fenced` if it is already higher (or equal
    but held by another owner: a token reused after a NATS store lost its last writes must
    not let two owners in).

    One statement, decided by the database under the fence row's lock (held to commit)."""
    if token <= 0:
        raise ValueError("fencing tokens are positive")
    row = cur.execute(_RAISE_FENCE, (zone, world_of(zone), token, owner, time.time())).one()
    if row is None:
        current = cur.execute("SELECT token FROM cluster_fences WHERE zone = ?", (zone,)).one()
        raise Fenced(zone, token, int(current[0]) if current else None)


@contextlib.contextmanager
def fenced(conn: Connection, zone: str, token: int, owner: str) -> Iterator[Cursor]:
    """A transaction in which `zone`'s fence has been checked (and raised) to `token`.

    Everything written through the cursor commits only if the writer still holds the zone;
    otherwise `Fenced` is raised and nothing is written. Use it to put other tables' writes
    (e.g. the store's `characters` rows) in the same transaction as a checkpoint.
    """
    try:
        with transaction(conn) as cur:
            _raise_fence(cur, zone, token, owner)
            yield cur
    except Fenced:
        raise
    except Exception as exc:
        if _is_fence_error(exc):  # a trigger refused a row of another zone's state
            raise Fenced(zone, token) from exc
        raise


def claim(conn: Connection, zone: str, token: int, owner: str) -> None:
    """Take over `zone`'s fence with a newly acquired lease's token (before loading it)."""
    with fenced(conn, zone, token, owner):
        pass


def fence_token(conn: Connection, zone: str) -> int | None:
    """The zone's current fence (None: never claimed)."""
    with transaction(conn) as cur:
        row = cur.execute("SELECT token FROM cluster_fences WHERE zone = ?", (zone,)).one()
    return int(row[0]) if row else None


# ------------------------------------------------------------------------------ zone state


@dataclass(frozen=True, slots=True)
class ZoneCheckpoint:
    zone: str
    tick: int
    payload: str
    token: int
    """The token of the worker that wrote the checkpoint."""
    ships: list[ShipState]
    """Ships resident in the zone (arrived), as last checkpointed."""
    incoming: list[tuple[int, int]]
    """(ship id, seq) of ships in transit to the zone: they arrive through the hand-off
    stream (outbox.py), not from here."""


def add_ship(conn: Connection, zone: str, token: int, owner: str, state: ShipState) -> None:
    """A ship enters the cluster (a new character) in `zone`. `ShipExists` if it is known."""
    with fenced(conn, zone, token, owner) as cur:
        row = cur.execute("SELECT zone FROM cluster_ships WHERE ship_id = ?", (state.id,)).one()
        if row is not None:
            raise ShipExists(f"ship {state.id} is already in zone {row[0]}")
        cur.execute(
            "INSERT INTO cluster_ships (ship_id, world, zone, seq, arrived, state, token, "
            "updated_at) VALUES (?, ?, ?, 0, 0, ?, ?, ?)",
            (state.id, world_of(zone), zone, encode_ship(state), token, time.time()),
        )


def remove_ship(conn: Connection, zone: str, token: int, owner: str, ship_id: int) -> bool:
    """A ship resident in `zone` is gone for good (destroyed). False if it was not there."""
    with fenced(conn, zone, token, owner) as cur:
        cur.execute(
            "DELETE FROM cluster_ships WHERE ship_id = ? AND zone = ? AND arrived = seq",
            (ship_id, zone),
        )
        return cur.rowcount == 1


def checkpoint(
    conn: Connection,
    zone: str,
    token: int,
    owner: str,
    *,
    tick: int,
    ships: Sequence[ShipState] = (),
    payload: str = "{}",
    extra: Callable[[Cursor], None] | None = None,
) -> int:
    """Write the zone's tick, payload and ships' states in one fenced transaction.

    Only ships resident in the zone are updated (a ship that departed meanwhile is skipped, so
    a late checkpoint cannot pull it back). `extra(cursor)` runs inside the same transaction.
    Returns the number of ship rows written. `Fenced` if the zone has a newer owner.
    """
    now = time.time()
    with fenced(conn, zone, token, owner) as cur:
        cur.execute(
            "INSERT INTO cluster_checkpoints (zone, world, token, tick, payload, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (zone) DO UPDATE SET token = excluded.token, "
            "tick = excluded.tick, payload = excluded.payload, updated_at = excluded.updated_at",
            (zone, world_of(zone), token, tick, payload, now),
        )
        written = 0
        if ships and cur.postgres:
            # one statement for all ships (arrays), not one round trip per ship
            cur.execute(
                "UPDATE cluster_ships AS s SET state = v.state, token = ?, updated_at = ? "
                "FROM (SELECT unnest(?::bigint[]) AS id, unnest(?::text[]) AS state) AS v "
                "WHERE s.ship_id = v.id AND s.zone = ? AND s.arrived = s.seq",
                (token, now, [s.id for s in ships], [encode_ship(s) for s in ships], zone),
            )
            written = max(0, cur.rowcount)
        elif ships:
            rows = [(encode_ship(s), token, now, s.id, zone) for s in ships]
            cur.executemany(
                "UPDATE cluster_ships SET state = ?, token = ?, updated_at = ? "
                "WHERE ship_id = ? AND zone = ? AND arrived = seq",
                rows,
            )
            written = max(0, cur.rowcount)
        if extra is not None:
            extra(cur)
    return written


def load_zone(conn: Connection, zone: str) -> ZoneCheckpoint:
    """The zone's last checkpoint (tick 0 and payload '{}' if none) and its ships."""
    with transaction(conn) as cur:
        row = cur.execute(
            "SELECT tick, payload, token FROM cluster_checkpoints WHERE zone = ?", (zone,)
        ).one()
        ships = cur.execute(
            "SELECT state, seq, arrived FROM cluster_ships WHERE zone = ? ORDER BY ship_id",
            (zone,),
        ).all()
        incoming_rows = cur.execute(
            "SELECT ship_id, seq FROM cluster_ships WHERE zone = ? AND arrived < seq "
            "ORDER BY ship_id",
            (zone,),
        ).all()
    tick, payload, token = (int(row[0]), str(row[1]), int(row[2])) if row else (0, "{}", 0)
    resident = [decode_ship(s) for s, seq, arrived in ships if seq == arrived]
    incoming = [(int(a), int(b)) for a, b in incoming_rows]
    return ZoneCheckpoint(zone, tick, payload, token, resident, incoming)


def ship_location(conn: Connection, ship_id: int) -> tuple[str, int, int] | None:
    """(zone, seq, arrived) of a ship, or None if the cluster does not know it."""
    with transaction(conn) as cur:
        row = cur.execute(
            "SELECT zone, seq, arrived FROM cluster_ships WHERE ship_id = ?", (ship_id,)
        ).one()
    return (str(row[0]), int(row[1]), int(row[2])) if row else None
