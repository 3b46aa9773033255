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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, TypeVar

from . import _check as check
from ._clones import SqlCloneRecords
from ._moderation import SqlModerationRecords
from ._worlds import SqlWorldRecords, world_name
from .api import (
    MAX_AMOUNT,
    MAX_ENTITY_ID,
    MAX_KEY,
    MAX_LIST,
    MAX_MOVE_QTY,
    MAX_RESERVE,
    Account,
    Character,
    Evidence,
    InsufficientFunds,
    InsufficientItems,
    ItemMove,
    ItemTotals,
    LedgerTotals,
    NameTaken,
    NotFound,
    Posting,
    Store,
    StoreError,
    Txn,
    Wreck,
)

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
_TXN_COLUMNS = "id, world, idem, kind, account, created_at, result"
_WRECK_COLUMNS = "world, wreck_id, system_x, system_y, x, y, expires_at, origin_account, created_at"
_SAVE_WRECK = (
    f"INSERT INTO wrecks ({_WRECK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (world, wreck_id) DO UPDATE SET "
    + ", ".join(
        f"{col} = excluded.{col}"
        for col in _WRECK_COLUMNS.split(", ")
        if col not in ("world", "wreck_id", "created_at")  # created_at: the first save's
    )
)
_EVIDENCE_COLUMNS = "id, world, account_id, tick, at, code, action, detail"
MAX_EVIDENCE_TEXT = 64


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


class SqlStore(SqlCloneRecords, SqlModerationRecords, SqlWorldRecords, Store):
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
            # processes. The guard keeps every id at or below MAX_ENTITY_ID, so clients read it
            # exactly as a JSON number (and far inside int64, which SQLite would silently turn
            # into a float on overflow).
            row = cur.execute(
                "UPDATE id_counters SET next_id = next_id + ? WHERE name = ? AND next_id <= ? "
                "RETURNING next_id",
                (count, _ENTITY_COUNTER, MAX_ENTITY_ID + 1 - count),
            ).one()
            if row is None:
                exists = cur.execute(
                    "SELECT next_id FROM id_counters WHERE name = ?", (_ENTITY_COUNTER,)
                ).one()
                if exists is None:
                    raise StoreError("the entity id counter row is missing; the schema is damaged")
                raise StoreError(f"entity ids exhausted: next id {exists[0]} + {count} > 2**53")
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

    def get_meta(self, key: str, *, world: str | None = None) -> str | None:
        key = check.text("key", key)
        scope = _meta_scope(world)
        row = self._run(
            lambda c: c.execute(
                "SELECT value FROM meta WHERE world = ? AND key = ?", (scope, key)
            ).one(),
            write=False,
        )
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str, *, world: str | None = None) -> None:
        key = check.text("key", key)
        scope = _meta_scope(world)
        if not scope and key.startswith("world."):
            raise ValueError(
                f"meta key {key!r} looks world-scoped: pass world=<name> and the bare key, so "
                "the world's deletion finds it by its world column"
            )
        if not isinstance(value, str):
            raise ValueError(f"meta value must be a str, not {type(value).__name__}")
        check.clean("meta value", value)
        self._run(
            lambda c: c.execute(
                "INSERT INTO meta (world, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (world, key) DO UPDATE SET value = excluded.value",
                (scope, key, value),
            ),
            write=True,
        )

    # -- ledger and items -------------------------------------------------------------------

    def commit_txn(
        self,
        world: str,
        idem: str,
        kind: str,
        *,
        account: str | None = None,
        postings: Sequence[Posting] = (),
        moves: Sequence[ItemMove] = (),
        character: Character | None = None,
        save_wreck: Wreck | None = None,
        delete_wreck: int | None = None,
        result: Mapping[str, Any] | None = None,
        report_accounts: Sequence[str] = (),
        report_holders: Sequence[str] = (),
        at: float | None = None,
    ) -> Txn:
        world = check.text("world", world)
        idem = check.text("idem", idem, MAX_KEY)
        kind = check.kind("kind", kind)
        if account is not None:
            account = check.ledger_key("account", account, MAX_KEY)
        at = time.time() if at is None else check.finite("at", at)
        net, entries = _postings(postings)
        move_rows = _moves(moves)
        char_row = None
        if character is not None:
            char_row = _character_row(character, at)
            if char_row[1] != world:
                raise ValueError(f"character is of world {char_row[1]!r}, not {world!r}")
        wreck_row = None
        if save_wreck is not None:
            wreck_row = _wreck_row(save_wreck, at)
            if wreck_row[0] != world:
                raise ValueError(f"save_wreck is of world {wreck_row[0]!r}, not {world!r}")
        delete_id = None if delete_wreck is None else check.int64("delete_wreck", delete_wreck, 1)
        if result is not None and not isinstance(result, Mapping):
            raise ValueError(f"result must be a dict (JSON object), not {type(result).__name__}")
        result_obj = {} if result is None else dict(result)
        check.to_json("result", result_obj, object_only=True)
        accounts = _unique(
            check.ledger_key(f"report_accounts[{i}]", a, MAX_KEY)
            for i, a in enumerate(_sequence("report_accounts", report_accounts))
        )
        holders = _unique(
            check.ledger_key(f"report_holders[{i}]", h, MAX_KEY)
            for i, h in enumerate(_sequence("report_holders", report_holders))
        )

        def apply(cur: Cursor) -> Txn:
            row = cur.execute(
                "INSERT INTO ledger_txns (world, idem, kind, account, created_at, result) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (world, idem) DO NOTHING RETURNING id",
                (world, idem, kind, account, at, "{}"),
            ).one()
            if row is None:  # committed before: replay, apply nothing
                found = _select_txn(cur, world, idem)
                if found is None:
                    raise StoreError(f"transaction {idem!r} conflicts but cannot be read back")
                return found
            txn_id = int(row[0])
            # Accounts in key order, so concurrent writers lock rows in the same order.
            for key in sorted(net):
                _post(cur, world, key, net[key])
            cur.executemany(
                "INSERT INTO ledger_entries (world, txn_id, account, amount) VALUES (?, ?, ?, ?)",
                [(world, txn_id, key, amount) for key, amount in entries],
            )
            for item, qty, source, destination in move_rows:
                if source is not None:
                    _take(cur, world, source, item, qty)
                if destination is not None:
                    cur.execute(
                        "INSERT INTO holdings (world, holder, item, qty) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (world, holder, item) DO UPDATE "
                        "SET qty = holdings.qty + excluded.qty",
                        (world, destination, item, qty),
                    )
            cur.executemany(
                "INSERT INTO item_moves (world, txn_id, item, qty, source, destination) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(world, txn_id, *move) for move in move_rows],
            )
            if char_row is not None:
                cur.execute(_SAVE_CHARACTER, char_row)
            if wreck_row is not None:
                cur.execute(_SAVE_WRECK, wreck_row)
            if delete_id is not None:
                cur.execute(
                    "DELETE FROM wrecks WHERE world = ? AND wreck_id = ?", (world, delete_id)
                )
            balances = {key: _balance(cur, world, key) for key in accounts}
            holdings = {key: _holdings(cur, world, key) for key in holders}
            stored = {"result": result_obj, "balances": balances, "holdings": holdings}
            cur.execute(
                "UPDATE ledger_txns SET result = ? WHERE id = ?",
                (check.to_json("stored result", stored), txn_id),
            )
            return Txn(
                id=txn_id,
                world=world,
                idem=idem,
                kind=kind,
                account=account,
                created_at=at,
                result=json.loads(json.dumps(result_obj)),  # a copy the caller cannot alias
                balances=balances,
                holdings=holdings,
                replay=False,
            )

        try:
            return self._run(apply, write=True)
        except ConstraintViolation as exc:
            if exc.kind == "foreign_key" and character is not None:
                raise NotFound(f"no account with id {character.account_id}") from exc
            raise

    def get_txn(self, world: str, idem: str) -> Txn | None:
        world = check.text("world", world)
        idem = check.text("idem", idem, MAX_KEY)
        return self._run(lambda c: _select_txn(c, world, idem), write=False)

    def latest_txn(self, world: str, account: str, kind: str) -> Txn | None:
        world = check.text("world", world)
        account = check.ledger_key("account", account, MAX_KEY)
        kind = check.kind("kind", kind)
        row = self._run(
            lambda c: c.execute(
                f"SELECT {_TXN_COLUMNS} FROM ledger_txns WHERE world = ? AND account = ? "
                "AND kind = ? ORDER BY id DESC LIMIT 1",
                (world, account, kind),
            ).one(),
            write=False,
        )
        return None if row is None else _txn(row)

    def balance(self, world: str, account: str) -> int:
        world = check.text("world", world)
        account = check.ledger_key("account", account, MAX_KEY)
        return self._run(lambda c: _balance(c, world, account), write=False)

    def ledger_balances(self, world: str) -> dict[str, int]:
        world = check.text("world", world)
        rows = self._run(
            lambda c: c.execute(
                "SELECT account, balance FROM ledger_accounts WHERE world = ? ORDER BY account",
                (world,),
            ).all(),
            write=False,
        )
        return {key: int(balance) for key, balance in rows}

    def ledger_totals(self, world: str) -> LedgerTotals:
        world = check.text("world", world)

        def scan(cur: Cursor) -> LedgerTotals:
            accounts = cur.execute(
                "SELECT account, owned, balance FROM ledger_accounts WHERE world = ?", (world,)
            ).all()
            sums = dict(
                cur.execute(
                    "SELECT account, SUM(amount) FROM ledger_entries WHERE world = ? "
                    "GROUP BY account",
                    (world,),
                ).all()
            )
            unbalanced = cur.execute(
                "SELECT txn_id FROM ledger_entries WHERE world = ? GROUP BY txn_id "
                "HAVING SUM(amount) <> 0 ORDER BY txn_id",
                (world,),
            ).all()
            txns = cur.execute("SELECT COUNT(*) FROM ledger_txns WHERE world = ?", (world,)).one()
            balances = {key: int(balance) for key, _, balance in accounts}
            mismatched = sorted(
                key
                for key in set(balances) | set(sums)
                if balances.get(key) != int(sums.get(key, 0))
            )
            return LedgerTotals(
                balance_sum=sum(balances.values()),
                accounts=len(balances),
                transactions=int(txns[0]) if txns else 0,
                mismatched=tuple(mismatched),
                unbalanced=tuple(int(r[0]) for r in unbalanced),
                negative=tuple(
                    sorted(key for key, owned, balance in accounts if owned and balance < 0)
                ),
            )

        return self._run(scan, write=False)

    def holdings(self, world: str, holder: str) -> dict[str, int]:
        world = check.text("world", world)
        holder = check.ledger_key("holder", holder, MAX_KEY)
        return self._run(lambda c: _holdings(c, world, holder), write=False)

    def all_holdings(self, world: str) -> dict[str, dict[str, int]]:
        world = check.text("world", world)
        rows = self._run(
            lambda c: c.execute(
                "SELECT holder, item, qty FROM holdings WHERE world = ? ORDER BY holder, item",
                (world,),
            ).all(),
            write=False,
        )
        found: dict[str, dict[str, int]] = {}
        for holder, item, qty in rows:
            found.setdefault(holder, {})[item] = int(qty)
        return found

    def item_totals(self, world: str) -> dict[str, ItemTotals]:
        world = check.text("world", world)

        def scan(cur: Cursor) -> dict[str, ItemTotals]:
            held: dict[str, int] = {}
            holdings: dict[tuple[str, str], int] = {}
            for holder, item, qty in cur.execute(
                "SELECT holder, item, qty FROM holdings WHERE world = ?", (world,)
            ).all():
                held[item] = held.get(item, 0) + int(qty)
                holdings[(holder, item)] = int(qty)
            created: dict[str, int] = {}
            destroyed: dict[str, int] = {}
            net: dict[tuple[str, str], int] = {}
            for item, qty, source, destination in cur.execute(
                "SELECT item, SUM(qty), source, destination FROM item_moves WHERE world = ? "
                "GROUP BY item, source, destination",
                (world,),
            ).all():
                qty = int(qty)
                if source is None:
                    created[item] = created.get(item, 0) + qty
                else:
                    net[(source, item)] = net.get((source, item), 0) - qty
                if destination is None:
                    destroyed[item] = destroyed.get(item, 0) + qty
                else:
                    net[(destination, item)] = net.get((destination, item), 0) + qty
            mismatched: dict[str, list[str]] = {}
            for holder, item in sorted(set(net) | set(holdings)):
                if net.get((holder, item), 0) != holdings.get((holder, item), 0):
                    mismatched.setdefault(item, []).append(holder)
            items = sorted(set(held) | set(created) | set(destroyed) | set(mismatched))
            return {
                item: ItemTotals(
                    held=held.get(item, 0),
                    created=created.get(item, 0),
                    destroyed=destroyed.get(item, 0),
                    mismatched=tuple(mismatched.get(item, ())),
                )
                for item in items
            }

        return self._run(scan, write=False)

    # -- wrecks -----------------------------------------------------------------------------

    def save_wreck(self, wreck: Wreck) -> None:
        row = _wreck_row(wreck, time.time())
        self._run(lambda c: c.execute(_SAVE_WRECK, row), write=True)

    def get_wreck(self, world: str, wreck_id: int) -> Wreck | None:
        world = check.text("world", world)
        wreck_id = check.int64("wreck_id", wreck_id, 1)
        row = self._run(
            lambda c: c.execute(
                f"SELECT {_WRECK_COLUMNS} FROM wrecks WHERE world = ? AND wreck_id = ?",
                (world, wreck_id),
            ).one(),
            write=False,
        )
        return None if row is None else _wreck(row)

    def wrecks_in_system(self, world: str, x: int, y: int) -> list[Wreck]:
        world = check.text("world", world)
        x, y = check.int64("x", x), check.int64("y", y)
        rows = self._run(
            lambda c: c.execute(
                f"SELECT {_WRECK_COLUMNS} FROM wrecks "
                "WHERE world = ? AND system_x = ? AND system_y = ? ORDER BY wreck_id",
                (world, x, y),
            ).all(),
            write=False,
        )
        return [_wreck(row) for row in rows]

    def delete_wreck(self, world: str, wreck_id: int) -> bool:
        world = check.text("world", world)
        wreck_id = check.int64("wreck_id", wreck_id, 1)
        deleted = self._run(
            lambda c: (
                c.execute(
                    "DELETE FROM wrecks WHERE world = ? AND wreck_id = ?", (world, wreck_id)
                ).rowcount
            ),
            write=True,
        )
        return deleted == 1

    # -- evidence ---------------------------------------------------------------------------

    def add_evidence(self, rows: Sequence[Evidence]) -> list[int]:
        values = [_evidence_row(i, e) for i, e in enumerate(_sequence("rows", rows))]

        def insert(cur: Cursor) -> list[int]:
            ids = []
            for value in values:
                row = cur.execute(
                    "INSERT INTO evidence (world, account_id, tick, at, code, action, detail) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    value,
                ).one()
                assert row is not None  # INSERT ... RETURNING always yields the row
                ids.append(int(row[0]))
            return ids

        return self._run(insert, write=True) if values else []

    def list_evidence(
        self, world: str, account_id: int | None = None, limit: int = 100
    ) -> list[Evidence]:
        world = check.text("world", world)
        limit = check.count("limit", limit, 0, MAX_LIST)
        sql_text = f"SELECT {_EVIDENCE_COLUMNS} FROM evidence WHERE world = ? "
        if account_id is None:
            params: tuple[Any, ...] = (world, limit)
        else:
            sql_text += "AND account_id = ? "
            params = (world, check.int64("account_id", account_id), limit)
        rows = self._run(
            lambda c: c.execute(sql_text + "ORDER BY id DESC LIMIT ?", params).all(), write=False
        )
        return [_evidence(row) for row in rows]


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


# -- ledger helpers (run inside a transaction) -------------------------------------------------


def _sequence(field: str, value: object) -> list[Any]:
    """A list of the items of a list/tuple-like argument; a str or a dict is refused (both are
    iterable, and iterating them is never what the caller meant)."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ValueError(f"{field} must be a list or tuple, not {type(value).__name__}")
    return list(value)


def _unique(keys: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(keys))


def _postings(postings: Sequence[Posting]) -> tuple[dict[str, int], list[tuple[str, int]]]:
    """Validate the postings; return the net amount per account and the entries in order."""
    net: dict[str, int] = {}
    entries: list[tuple[str, int]] = []
    for i, p in enumerate(_sequence("postings", postings)):
        if not isinstance(p, Posting):
            raise ValueError(f"postings[{i}] must be a Posting, not {type(p).__name__}")
        key = check.ledger_key(f"postings[{i}].account", p.account, MAX_KEY)
        amount = check.int64(f"postings[{i}].amount", p.amount)
        if amount == 0 or abs(amount) > MAX_AMOUNT:
            raise ValueError(
                f"postings[{i}].amount={amount} must be non-zero and within +-{MAX_AMOUNT}"
            )
        net[key] = net.get(key, 0) + amount
        entries.append((key, amount))
    total = sum(net.values())
    if total != 0:
        raise ValueError(f"postings sum to {total}; a transaction's postings must sum to 0")
    return net, entries


def _moves(moves: Sequence[ItemMove]) -> list[tuple[str, int, str | None, str | None]]:
    rows = []
    for i, m in enumerate(_sequence("moves", moves)):
        if not isinstance(m, ItemMove):
            raise ValueError(f"moves[{i}] must be an ItemMove, not {type(m).__name__}")
        item = check.item_key(f"moves[{i}].item", m.item)
        qty = check.count(f"moves[{i}].qty", m.qty, 1, MAX_MOVE_QTY)
        source = (
            None if m.source is None else check.ledger_key(f"moves[{i}].source", m.source, MAX_KEY)
        )
        destination = (
            None
            if m.destination is None
            else check.ledger_key(f"moves[{i}].destination", m.destination, MAX_KEY)
        )
        if source is None and destination is None:
            raise ValueError(f"moves[{i}] needs a source or a destination (both are None)")
        if source == destination:
            raise ValueError(f"moves[{i}] moves from {source!r} to itself")
        rows.append((item, qty, source, destination))
    return rows


def _post(cur: Cursor, world: str, account: str, amount: int) -> None:
    """Add `amount` to the account (created at 0 if new); an owned account may not go below 0."""
    owned = ":" in account
    cur.execute(
        "INSERT INTO ledger_accounts (world, account, owned, balance) VALUES (?, ?, ?, 0) "
        "ON CONFLICT (world, account) DO NOTHING",
        (world, account, owned),
    )
    if owned and amount < 0:
        # The guard is part of the UPDATE, so the check and the change are one atomic step.
        row = cur.execute(
            "UPDATE ledger_accounts SET balance = balance + ? "
            "WHERE world = ? AND account = ? AND balance >= ? RETURNING balance",
            (amount, world, account, -amount),
        ).one()
        if row is None:
            raise InsufficientFunds(account, _balance(cur, world, account), amount)
    else:
        cur.execute(
            "UPDATE ledger_accounts SET balance = balance + ? WHERE world = ? AND account = ?",
            (amount, world, account),
        )


def _take(cur: Cursor, world: str, holder: str, item: str, qty: int) -> None:
    """Remove qty of item from the holder, deleting the holding at zero (qty > 0 is a CHECK)."""
    row = cur.execute(
        "UPDATE holdings SET qty = qty - ? WHERE world = ? AND holder = ? AND item = ? "
        "AND qty > ? RETURNING qty",
        (qty, world, holder, item, qty),
    ).one()
    if row is not None:
        return
    deleted = cur.execute(
        "DELETE FROM holdings WHERE world = ? AND holder = ? AND item = ? AND qty = ?",
        (world, holder, item, qty),
    ).rowcount
    if deleted != 1:
        have = _holdings(cur, world, holder).get(item, 0)
        raise InsufficientItems(holder, item, have, qty)


def _balance(cur: Cursor, world: str, account: str) -> int:
    row = cur.execute(
        "SELECT balance FROM ledger_accounts WHERE world = ? AND account = ?", (world, account)
    ).one()
    return 0 if row is None else int(row[0])


def _holdings(cur: Cursor, world: str, holder: str) -> dict[str, int]:
    rows = cur.execute(
        "SELECT item, qty FROM holdings WHERE world = ? AND holder = ? ORDER BY item",
        (world, holder),
    ).all()
    return {item: int(qty) for item, qty in rows}


def _select_txn(cur: Cursor, world: str, idem: str) -> Txn | None:
    row = cur.execute(
        f"SELECT {_TXN_COLUMNS} FROM ledger_txns WHERE world = ? AND idem = ?", (world, idem)
    ).one()
    return None if row is None else _txn(row)


def _txn(row: tuple[Any, ...]) -> Txn:
    id_, world, idem, kind, account, created_at, result = row
    stored = json.loads(result)
    return Txn(
        id=int(id_),
        world=world,
        idem=idem,
        kind=kind,
        account=account,
        created_at=float(created_at),
        result=stored.get("result", {}),
        balances={key: int(v) for key, v in stored.get("balances", {}).items()},
        holdings={
            holder: {item: int(q) for item, q in items.items()}
            for holder, items in stored.get("holdings", {}).items()
        },
        replay=True,
    )


def _wreck_row(w: Wreck, now: float) -> tuple[Any, ...]:
    if not isinstance(w, Wreck):
        raise ValueError(f"expected a Wreck, not {type(w).__name__}")
    origin = None if w.origin_account is None else check.int64("origin_account", w.origin_account)
    return (
        check.text("world", w.world),
        check.int64("wreck_id", w.wreck_id, 1),
        check.int64("system_x", w.system_x),
        check.int64("system_y", w.system_y),
        check.finite("x", w.x),
        check.finite("y", w.y),
        check.finite("expires_at", w.expires_at),
        origin,
        now,
    )


def _wreck(row: tuple[Any, ...]) -> Wreck:
    world, wreck_id, sx, sy, x, y, expires_at, origin, created_at = row
    return Wreck(
        world=world,
        wreck_id=int(wreck_id),
        system_x=int(sx),
        system_y=int(sy),
        x=float(x),
        y=float(y),
        expires_at=float(expires_at),
        origin_account=None if origin is None else int(origin),
        created_at=float(created_at),
    )


def _evidence_row(i: int, e: Evidence) -> tuple[Any, ...]:
    if not isinstance(e, Evidence):
        raise ValueError(f"rows[{i}] must be an Evidence, not {type(e).__name__}")
    return (
        check.text(f"rows[{i}].world", e.world),
        check.int64(f"rows[{i}].account_id", e.account_id),
        check.int64(f"rows[{i}].tick", e.tick, 0),
        check.finite(f"rows[{i}].at", e.at),
        check.text(f"rows[{i}].code", e.code, MAX_EVIDENCE_TEXT),
        check.text(f"rows[{i}].action", e.action, MAX_EVIDENCE_TEXT),
        check.to_json(f"rows[{i}].detail", e.detail, object_only=True),
    )


def _evidence(row: tuple[Any, ...]) -> Evidence:
    id_, world, account_id, tick, at, code, action, detail = row
    return Evidence(
        world=world,
        account_id=int(account_id),
        tick=int(tick),
        at=float(at),
        code=code,
        action=action,
        detail=json.loads(detail),
        id=int(id_),
    )


def character_upsert(characters: Sequence[Character]) -> tuple[str, list[tuple[Any, ...]]]:
    """The statement and rows that save `characters` (validated), for running them inside
    another transaction: a cluster worker writes its players' characters in the same fenced
    transaction as the zone checkpoint (cluster/fencing.py), so a worker that lost the zone
    cannot overwrite them. Rows are in key order, as `save_characters` writes them."""
    now = time.time()
    rows = sorted((_character_row(c, now) for c in characters), key=lambda r: (r[0], r[1]))
    return _SAVE_CHARACTER, rows


def _meta_scope(world: str | None) -> str:
    """The `meta.world` of a key: '' for server-wide keys, else a valid world name (so no
    world's keys can be written under another's, or under the server's)."""
    return "" if world is None else world_name(world)
