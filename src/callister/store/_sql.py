"""`SqlStore`: the one implementation of the Store contract, shared by both backends.

All SQL lives here and is written once, in the common subset of SQLite (>= 3.37) and PostgreSQL
(>= 12): `?` placeholders (rewritten for psycopg), `INSERT ... ON CONFLICT`, `RETURNING`. A backend
supplies only what truly differs: how to connect, how to run a transaction (and its locking),
how to run a migration script, and how to recognise a constraint violation.
"""

from __future__ import annotations

import json
import re
import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, TypeVar

from . import _check as check
from .api import MAX_RESERVE, Account, Character, NameTaken, NotFound, Store, StoreError

T = TypeVar("T")
ConstraintKind = Literal["unique", "foreign_key", "check", "other"]

_MIGRATION_FILE = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
_ACCOUNT_COLUMNS = "id, name, password_hash, role, created_at, banned"
_CHARACTER_COLUMNS = (
    "account_id, world, ship_id, hull, system_x, system_y, x, y, vx, vy, angle, "
    "docked_at, home_x, home_y, home_station, extra, updated_at"
)
_SAVE_CHARACTER = (
    f"INSERT INTO characters ({_CHARACTER_COLUMNS}) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (account_id, world) DO UPDATE SET "
    + ", ".join(
        f"{col} = excluded.{col}"
        for col in _CHARACTER_COLUMNS.split(", ")
        if col not in ("account_id", "world")
    )
)
_PUT_DELTA = (
    "INSERT INTO deltas (world, system_x, system_y, key, value, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (world, system_x, system_y, key) "
    "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
)
_ENTITY_COUNTER = "entity"


class ConstraintViolation(StoreError):
    """A backend's integrity error, classified so shared code can map it to NameTaken etc."""

    def __init__(self, kind: ConstraintKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Cursor:
    """The slice of a DB-API cursor the shared SQL uses; SQL is written with `?` placeholders."""

    __slots__ = ("_convert", "raw")

    def __init__(self, raw: Any, convert: Callable[[str], str]) -> None:
        self.raw = raw
        self._convert = convert

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        self.raw.execute(self._convert(sql), params)
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.raw.executemany(self._convert(sql), rows)

    def one(self) -> tuple[Any, ...] | None:
        row = self.raw.fetchone()
        return None if row is None else tuple(row)

    def all(self) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.raw.fetchall()]

    @property
    def rowcount(self) -> int:
        return int(self.raw.rowcount)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(dialect: str) -> list[Migration]:
    """The dialect's migrations/<dialect>/NNNN_name.sql files, in order, numbered 1, 2, 3 ..."""
    folder = resources.files("callister.store") / "migrations" / dialect
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_FILE.fullmatch(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    # A gap or duplicate would make "schema version N" mean different things on different
    # installs, so refuse to start rather than guess.
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise StoreError(
            f"{dialect} migrations are not numbered 1..N: {[m.version for m in found]}"
        )
    return found


class SqlStore(Store):
    """Shared implementation; subclasses connect, then call `_migrate()` from their __init__."""

    # DDL of the bookkeeping table; dialects differ in type names, so each backend gives its own.
    _SCHEMA_VERSION_DDL: str

    def __init__(self) -> None:
        # One connection per Store, serialised by this lock: simple, and it makes every method
        # thread-safe. RLock so a backend may call _run from inside its own hooks.
        self._lock = threading.RLock()
        self._closed = False

    # -- backend hooks ----------------------------------------------------------------------

    @abstractmethod
    def _transaction(self, fn: Callable[[Cursor], T], write: bool) -> T:
        """Run fn in one transaction and commit; roll back and re-raise on any exception.

        Called with the lock held. Driver errors are translated with `_translate`.
        """

    @abstractmethod
    def _disconnect(self) -> None:
        """Close the underlying connection."""

    @abstractmethod
    def _run_script(self, cur: Cursor, sql: str) -> None:
        """Execute a multi-statement migration script inside the current transaction."""

    def _before_migrate(self, cur: Cursor) -> None:
        """Hook run first in the migration transaction (PostgreSQL locks and creates schema)."""

    # -- plumbing ---------------------------------------------------------------------------

    def _run(self, fn: Callable[[Cursor], T], *, write: bool) -> T:
        with self._lock:
            if self._closed:
                raise StoreError(f"{self.backend} store is closed")
            return self._transaction(fn, write)

    def _migrate(self) -> None:
        migrations = load_migrations(self.backend)
        latest = migrations[-1].version

        def apply(cur: Cursor) -> None:
            self._before_migrate(cur)
            cur.execute(self._SCHEMA_VERSION_DDL)
            applied = dict(cur.execute("SELECT version, name FROM schema_version").all())
            current = max(applied, default=0)
            if current > latest:
                raise StoreError(
                    f"database schema version {current} is newer than this code supports "
                    f"({latest}); upgrade callister before opening it"
                )
            for m in migrations:
                if m.version in applied:
                    if applied[m.version] != m.name:
                        raise StoreError(
                            f"database migration {m.version} is {applied[m.version]!r} but this "
                            f"code's is {m.name!r}: the database comes from a different branch"
                        )
                    continue
                self._run_script(cur, m.sql)
                cur.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                    (m.version, m.name, time.time()),
                )

        # All pending migrations in one write transaction: a crash leaves the old schema intact,
        # and two processes opening a fresh database at once cannot both apply them.
        self._run(apply, write=True)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._disconnect()

    def schema_version(self) -> int:
        row = self._run(
            lambda c: c.execute("SELECT max(version) FROM schema_version").one(), write=False
        )
        return int(row[0]) if row and row[0] is not None else 0

    # -- accounts ---------------------------------------------------------------------------

    def create_account(self, name: str, password_hash: str, role: str = "player") -> Account:
        name = check.text("name", name)
        password_hash = check.text("password_hash", password_hash)
        role = check.role(role)
        now = time.time()

        def insert(cur: Cursor) -> tuple[Any, ...] | None:
            return cur.execute(
                "INSERT INTO accounts (name, name_key, password_hash, role, banned, created_at) "
                f"VALUES (?, ?, ?, ?, ?, ?) RETURNING {_ACCOUNT_COLUMNS}",
                (name, check.name_key(name), password_hash, role, False, now),
            ).one()

        try:
            row = self._run(insert, write=True)
        except ConstraintViolation as exc:
            if exc.kind == "unique":
                raise NameTaken(f"the name {name!r} is taken") from exc
            raise
        assert row is not None  # INSERT ... RETURNING always yields the row
        return _account(row)

    def get_account(self, account_id: int) -> Account | None:
        account_id = check.int64("account_id", account_id)
        row = self._run(
            lambda c: c.execute(
                f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = ?", (account_id,)
            ).one(),
            write=False,
        )
        return None if row is None else _account(row)

    def get_account_by_name(self, name: str) -> Account | None:
        key = check.name_key(check.text("name", name))
        row = self._run(
            lambda c: c.execute(
                f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE name_key = ?", (key,)
            ).one(),
            write=False,
        )
        return None if row is None else _account(row)

    def set_role(self, name: str, role: str) -> Account:
        role = check.role(role)
        return self._update_account_by_name(name, "role = ?", role)

    def set_banned(self, name: str, banned: bool) -> Account:
        if not isinstance(banned, bool):
            raise ValueError(f"banned must be a bool, not {type(banned).__name__}")
        return self._update_account_by_name(name, "banned = ?", banned)

    def _update_account_by_name(self, name: str, assignment: str, value: object) -> Account:
        key = check.name_key(check.text("name", name))
        row = self._run(
            lambda c: c.execute(
                f"UPDATE accounts SET {assignment} WHERE name_key = ? RETURNING {_ACCOUNT_COLUMNS}",
                (value, key),
            ).one(),
            write=True,
        )
        if row is None:
            raise NotFound(f"no account named {name!r}")
        return _account(row)

    def set_password_hash(self, account_id: int, password_hash: str) -> None:
        account_id = check.int64("account_id", account_id)
        password_hash = check.text("password_hash", password_hash)
        updated = self._run(
            lambda c: (
                c.execute(
                    "UPDATE accounts SET password_hash = ? WHERE id = ?",
                    (password_hash, account_id),
                ).rowcount
            ),
            write=True,
        )
        if updated == 0:
            raise NotFound(f"no account with id {account_id}")

    def list_accounts(self, limit: int = 100, offset: int = 0) -> list[Account]:
        limit = check.count("limit", limit, 0, 100_000)
        offset = check.count("offset", offset, 0, check.INT64_MAX)
        rows = self._run(
            lambda c: c.execute(
                f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY id LIMIT ? OFFSET ?",
                (limit, offset),
            ).all(),
            write=False,
        )
        return [_account(row) for row in rows]

    def delete_account(self, name: str) -> None:
        key = check.name_key(check.text("name", name))
        # Sessions, characters and discoveries go with it through ON DELETE CASCADE, inside this
        # same transaction, so there is never an orphan to clean up.
        deleted = self._run(
            lambda c: c.execute("DELETE FROM accounts WHERE name_key = ?", (key,)).rowcount,
            write=True,
        )
        if deleted == 0:
            raise NotFound(f"no account named {name!r}")

    # -- sessions ---------------------------------------------------------------------------

    def create_session(self, account_id: int, token_hash: str, expires_at: float) -> None:
        account_id = check.int64("account_id", account_id)
        token_hash = check.token_hash(token_hash)
        expires_at = check.finite("expires_at", expires_at)
        now = time.time()
        try:
            self._run(
                lambda c: c.execute(
                    "INSERT INTO sessions (token_hash, account_id, created_at, expires_at) "
                    "VALUES (?, ?, ?, ?)",
                    (token_hash, account_id, now, expires_at),
                ),
                write=True,
            )
        except ConstraintViolation as exc:
            if exc.kind == "foreign_key":
                raise NotFound(f"no account with id {account_id}") from exc
            if exc.kind == "unique":
                raise StoreError("a session with this token hash already exists") from exc
            raise

    def get_session(self, token_hash: str, now: float) -> int | None:
        token_hash = check.token_hash(token_hash)
        now = check.finite("now", now)
        row = self._run(
            lambda c: c.execute(
                "SELECT account_id FROM sessions WHERE token_hash = ? AND expires_at > ?",
                (token_hash, now),
            ).one(),
            write=False,
        )
        return None if row is None else int(row[0])

    def delete_session(self, token_hash: str) -> None:
        token_hash = check.token_hash(token_hash)
        self._run(
            lambda c: c.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,)),
            write=True,
        )

    def purge_sessions(self, now: float) -> int:
        now = check.finite("now", now)
        return self._run(
            lambda c: c.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,)).rowcount,
            write=True,
        )

    # -- entity ids -------------------------------------------------------------------------

    def reserve_ids(self, count: int) -> range:
        count = check.count("count", count, 1, MAX_RESERVE)

        def advance(cur: Cursor) -> int:
            # One UPDATE ... RETURNING: the row lock (PostgreSQL) or the write lock taken by
            # BEGIN IMMEDIATE (SQLite) makes read-and-advance atomic across connections and
            # processes. The guard keeps the counter inside int64 (SQLite would silently turn an
            # overflowing integer into a float).
            row = cur.execute(
                "UPDATE id_counters SET next_id = next_id + ? WHERE name = ? AND next_id <= ? "
                "RETURNING next_id",
                (count, _ENTITY_COUNTER, check.INT64_MAX - count),
            ).one()
            if row is None:
                exists = cur.execute(
                    "SELECT next_id FROM id_counters WHERE name = ?", (_ENTITY_COUNTER,)
                ).one()
                if exists is None:
                    raise StoreError("the entity id counter row is missing; the schema is damaged")
                raise StoreError(f"entity ids exhausted: next id {exists[0]} + {count} > 2**63-1")
            return int(row[0])

        end = self._run(advance, write=True)
        return range(end - count, end)

    # -- characters -------------------------------------------------------------------------

    def save_character(self, c: Character) -> None:
        self.save_characters([c])

    def save_characters(self, cs: Sequence[Character]) -> None:
        now = time.time()
        rows = [_character_row(c, now) for c in cs]  # validate all before writing any
        if not rows:
            return
        # Key order: two writers upserting overlapping batches then lock rows in the same order
        # and cannot deadlock (PostgreSQL). The sort is stable, so a later duplicate still wins.
        rows.sort(key=lambda row: (row[0], row[1]))
        try:
            self._run(lambda cur: cur.executemany(_SAVE_CHARACTER, rows), write=True)
        except ConstraintViolation as exc:
            if exc.kind == "foreign_key":
                ids = sorted({row[0] for row in rows})
                raise NotFound(
                    f"no account for some of the characters (account ids {ids})"
                ) from exc
            raise

    def load_character(self, account_id: int, world: str) -> Character | None:
        account_id = check.int64("account_id", account_id)
        world = check.text("world", world)
        row = self._run(
            lambda c: c.execute(
                f"SELECT {_CHARACTER_COLUMNS} FROM characters WHERE account_id = ? AND world = ?",
                (account_id, world),
            ).one(),
            write=False,
        )
        return None if row is None else _character(row)

    def characters_in_system(self, world: str, x: int, y: int) -> list[Character]:
        world = check.text("world", world)
        x, y = check.int64("x", x), check.int64("y", y)
        rows = self._run(
            lambda c: c.execute(
                f"SELECT {_CHARACTER_COLUMNS} FROM characters "
                "WHERE world = ? AND system_x = ? AND system_y = ? ORDER BY account_id",
                (world, x, y),
            ).all(),
            write=False,
        )
        return [_character(row) for row in rows]

    # -- universe deltas --------------------------------------------------------------------

    def put_delta(self, world: str, x: int, y: int, key: str, value: Any) -> None:
        self.put_deltas(world, [(x, y, key, value)])

    def put_deltas(self, world: str, items: Sequence[tuple[int, int, str, Any]]) -> None:
        world = check.text("world", world)
        now = time.time()
        rows = []
        for i, item in enumerate(items):
            if not isinstance(item, tuple | list) or len(item) != 4:
                raise ValueError(f"items[{i}] must be a tuple (x, y, key, value)")
            x, y, key, value = item
            key = check.text(f"items[{i}] key", key)
            rows.append(
                (
                    world,
                    check.int64(f"items[{i}] x", x),
                    check.int64(f"items[{i}] y", y),
                    key,
                    check.to_json(f"delta {key!r}", value),
                    now,
                )
            )
        rows.sort(key=lambda row: (row[1], row[2], row[3]))  # lock order; see save_characters
        if rows:
            self._run(lambda c: c.executemany(_PUT_DELTA, rows), write=True)

    def get_deltas(self, world: str, x: int, y: int) -> dict[str, Any]:
        world = check.text("world", world)
        x, y = check.int64("x", x), check.int64("y", y)
        rows = self._run(
            lambda c: c.execute(
                "SELECT key, value FROM deltas WHERE world = ? AND system_x = ? AND system_y = ? "
                "ORDER BY key",
                (world, x, y),
            ).all(),
            write=False,
        )
        return {key: json.loads(value) for key, value in rows}

    def delete_delta(self, world: str, x: int, y: int, key: str) -> None:
        world, key = check.text("world", world), check.text("key", key)
        x, y = check.int64("x", x), check.int64("y", y)
        self._run(
            lambda c: c.execute(
                "DELETE FROM deltas WHERE world = ? AND system_x = ? AND system_y = ? AND key = ?",
                (world, x, y, key),
            ),
            write=True,
        )

    # -- discoveries ------------------------------------------------------------------------

    def add_discovery(self, account_id: int, world: str, x: int, y: int, at: float) -> bool:
        account_id = check.int64("account_id", account_id)
        world = check.text("world", world)
        x, y = check.int64("x", x), check.int64("y", y)
        at = check.finite("at", at)
        try:
            inserted = self._run(
                lambda c: (
                    c.execute(
                        "INSERT INTO discoveries (account_id, world, system_x, system_y, "
                        "discovered_at) VALUES (?, ?, ?, ?, ?) "
                        "ON CONFLICT (account_id, world, system_x, system_y) DO NOTHING",
                        (account_id, world, x, y, at),
                    ).rowcount
                ),
                write=True,
            )
        except ConstraintViolation as exc:
            if exc.kind == "foreign_key":
                raise NotFound(f"no account with id {account_id}") from exc
            raise
        return inserted == 1

    def list_discoveries(
        self, account_id: int, world: str, limit: int = 10_000
    ) -> list[tuple[int, int]]:
        account_id = check.int64("account_id", account_id)
        world = check.text("world", world)
        limit = check.count("limit", limit, 0, 10_000_000)
        rows = self._run(
            lambda c: c.execute(
                "SELECT system_x, system_y FROM discoveries WHERE account_id = ? AND world = ? "
                "ORDER BY discovered_at, system_x, system_y LIMIT ?",
                (account_id, world, limit),
            ).all(),
            write=False,
        )
        return [(int(x), int(y)) for x, y in rows]

    # -- metadata ---------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        key = check.text("key", key)
        row = self._run(
            lambda c: c.execute("SELECT value FROM meta WHERE key = ?", (key,)).one(),
            write=False,
        )
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        key = check.text("key", key)
        if not isinstance(value, str):
            raise ValueError(f"meta value must be a str, not {type(value).__name__}")
        check.clean("meta value", value)
        self._run(
            lambda c: c.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            ),
            write=True,
        )


def _account(row: tuple[Any, ...]) -> Account:
    id_, name, password_hash, role, created_at, banned = row
    return Account(int(id_), name, password_hash, role, float(created_at), bool(banned))


def _character_row(c: Character, now: float) -> tuple[Any, ...]:
    if not isinstance(c, Character):
        raise ValueError(f"expected a Character, not {type(c).__name__}")
    docked_at = None if c.docked_at is None else check.int64("docked_at", c.docked_at, 0)
    return (
        check.int64("account_id", c.account_id),
        check.text("world", c.world),
        check.int64("ship_id", c.ship_id),
        check.text("hull", c.hull),
        check.int64("system_x", c.system_x),
        check.int64("system_y", c.system_y),
        check.finite("x", c.x),
        check.finite("y", c.y),
        check.finite("vx", c.vx),
        check.finite("vy", c.vy),
        check.finite("angle", c.angle),
        docked_at,
        check.int64("home_x", c.home_x),
        check.int64("home_y", c.home_y),
        check.int64("home_station", c.home_station, 0),
        check.to_json("extra", c.extra, object_only=True),
        now,
    )


def _character(row: tuple[Any, ...]) -> Character:
    (aid, world, ship_id, hull, sx, sy, x, y, vx, vy, angle, docked, hx, hy, hs, extra, at) = row
    return Character(
        account_id=int(aid),
        world=world,
        ship_id=int(ship_id),
        hull=hull,
        system_x=int(sx),
        system_y=int(sy),
        x=float(x),
        y=float(y),
        vx=float(vx),
        vy=float(vy),
        angle=float(angle),
        docked_at=None if docked is None else int(docked),
        home_x=int(hx),
        home_y=int(hy),
        home_station=int(hs),
        extra=json.loads(extra),
        updated_at=float(at),
    )
