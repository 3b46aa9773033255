"""`Database`: the one database layer under every repository.

A `Database` is one connection (SQLite file or PostgreSQL, `store/url.py` opens it from a URL)
behind one lock, the dialect it speaks, the versioned migrations under
``migrations/<dialect>/NNNN_name.sql``, and the only ways to run SQL:

- `write(fn)` / `read(fn)`: `fn(cursor)` inside one transaction, committed before it returns
  and rolled back if it raises. A callback rather than a ``with`` block so that PostgreSQL can
  run it again on a fresh connection when the old one died before COMMIT was sent.
- the query helper, for the common single statement: `one(sql, params, map=Record)`,
  `all(...)`, `scalar(...)`, `execute(...)`, `executemany(...)`, each its own transaction.

All SQL is written once, in the common subset of SQLite (>= 3.37) and PostgreSQL (>= 14): `?`
placeholders (the one `Cursor` type rewrites them for psycopg), ``INSERT ... ON CONFLICT``,
``RETURNING``. A dialect (sqlite.py, postgres.py) supplies only what truly differs: connecting,
running a transaction (and its locking), running a migration script, classifying a constraint
violation.

Thread-safety: every call takes the lock, so one Database may be shared by threads (the server's
writer thread and the HTTP handlers' executor); calls run one at a time on its connection. A
caller that must not queue behind them (the cluster's fenced writes) opens its own connection
with `connect_separate()`.
"""

from __future__ import annotations

import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, ClassVar, Literal, Self, TypeVar, overload

from .errors import StoreError

T = TypeVar("T")
R = TypeVar("R")
Row = tuple[Any, ...]
ConstraintKind = Literal["unique", "foreign_key", "check", "other"]

_MIGRATION_FILE = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")


class ConstraintViolation(StoreError):
    """A driver's integrity error, classified so repositories can map it to NameTaken etc."""

    def __init__(self, kind: ConstraintKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Cursor:
    """The slice of a DB-API cursor the SQL uses, with `?` placeholders on both dialects."""

    __slots__ = ("_convert", "_sync", "dialect", "raw")

    def __init__(
        self,
        raw: Any,
        convert: Callable[[str], str],
        dialect: str,
        sync: Callable[[], None] | None = None,
    ) -> None:
        self.raw = raw  # the driver's cursor, for dialect-specific statements only
        self.dialect = dialect  # "sqlite" | "postgresql"
        self._convert = convert
        # a pipelined transaction (PostgreSQL, `Database.pipelined`): statements are sent
        # without waiting for their results; `rowcount` must wait for them (fetching does)
        self._sync = sync

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        self.raw.execute(self._convert(sql), params)
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.raw.executemany(self._convert(sql), rows)

    def one(self) -> Row | None:
        row = self.raw.fetchone()
        return None if row is None else tuple(row)

    def all(self) -> list[Row]:
        return [tuple(row) for row in self.raw.fetchall()]

    @property
    def rowcount(self) -> int:
        if self._sync is not None:
            self._sync()
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


class Database(ABC):
    """One connection, its dialect, transactions, migrations and the query helper.

    Subclasses connect in their __init__ and then call `_migrate()` (unless opened with
    `connect_separate()`, whose schema the first connection migrated).
    """

    dialect: ClassVar[str]  # "sqlite" | "postgresql"
    # DDL of the bookkeeping table; dialects differ in type names, so each gives its own.
    _SCHEMA_VERSION_DDL: ClassVar[str]

    def __init__(self) -> None:
        # One connection per Database, serialised by this lock: simple, and it makes every
        # call thread-safe. RLock so a dialect may run SQL from inside its own hooks.
        self._lock = threading.RLock()
        self._closed = False
        self.pipelined = False
        """PostgreSQL: write transactions in pipeline mode. Statements go without waiting for
        each one's result; the driver waits where a result is read (a fetch, `rowcount`) and
        at the COMMIT. A cluster worker's hand-off connections use it: a departure or an
        arrival is 3 round trips instead of 6-7, each of which also waited for the GIL behind
        a tick. An error of a statement not waited for surfaces at the next wait (at the
        latest the COMMIT), and the transaction is rolled back as usual. SQLite ignores it."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- dialect hooks ----------------------------------------------------------------------

    @abstractmethod
    def _transaction(self, fn: Callable[[Cursor], T], write: bool) -> T:
        """Run fn in one transaction and commit; roll back and re-raise on any exception.

        Called with the lock held. Driver errors become StoreError / ConstraintViolation.
        """

    @abstractmethod
    def _disconnect(self) -> None:
        """Close the underlying connection."""

    @abstractmethod
    def _run_script(self, cur: Cursor, sql: str) -> None:
        """Execute a multi-statement migration script inside the current transaction."""

    @abstractmethod
    def _outside_transaction(self, statement: str) -> None:
        """Run one statement that cannot run inside a transaction (VACUUM), lock held."""

    @abstractmethod
    def connect_separate(self) -> Database:
        """Another connection to the same database (same URL, schema and settings), with a
        lock of its own, for work that must not queue behind this one's callers. It does not
        migrate: this Database already did. The caller closes it."""

    @abstractmethod
    def _before_migrate(self, cur: Cursor) -> None:
        """Run first in the migration transaction (PostgreSQL locks and creates the schema)."""

    # -- transactions -----------------------------------------------------------------------

    def write(self, fn: Callable[[Cursor], T]) -> T:
        """`fn(cursor)` in one write transaction (SQLite: BEGIN IMMEDIATE, so it queues on the
        write lock instead of failing on upgrade), committed before this returns; rolled back
        if fn raises. fn may run twice on PostgreSQL (a connection lost before COMMIT)."""
        return self._run(fn, write=True)

    def read(self, fn: Callable[[Cursor], T]) -> T:
        """`fn(cursor)` in one read transaction: a consistent view across its statements."""
        return self._run(fn, write=False)

    def _run(self, fn: Callable[[Cursor], T], *, write: bool) -> T:
        with self._lock:
            if self._closed:
                raise StoreError(f"{self.dialect} store is closed")
            return self._transaction(fn, write)

    # -- the query helper: one statement, one transaction -----------------------------------

    @overload
    def one(
        self, sql: str, params: Sequence[Any] = (), *, map: Callable[[Row], R], write: bool = ...
    ) -> R | None: ...

    @overload
    def one(self, sql: str, params: Sequence[Any] = (), *, write: bool = ...) -> Row | None: ...

    def one(
        self,
        sql: str,
        params: Sequence[Any] = (),
        *,
        map: Callable[[Row], Any] | None = None,
        write: bool = False,
    ) -> Any:
        """The statement's first row, passed through `map` (a record's constructor from a
        row), or None if it returned no row. `write=True` for ``... RETURNING``."""
        row = self._run(lambda c: c.execute(sql, params).one(), write=write)
        return row if row is None or map is None else map(row)

    @overload
    def all(self, sql: str, params: Sequence[Any] = (), *, map: Callable[[Row], R]) -> list[R]: ...

    @overload
    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    def all(
        self, sql: str, params: Sequence[Any] = (), *, map: Callable[[Row], Any] | None = None
    ) -> list[Any]:
        """Every row the query returns, each passed through `map` if given."""
        rows = self._run(lambda c: c.execute(sql, params).all(), write=False)
        return rows if map is None else [map(row) for row in rows]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the query's first row; None if there is no row."""
        row = self.one(sql, params)
        return None if row is None else row[0]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one writing statement in its own transaction; the number of rows it touched."""
        return self._run(lambda c: c.execute(sql, params).rowcount, write=True)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run the statement for every row, all in one transaction (none if there are none)."""
        if rows:
            self._run(lambda c: c.executemany(sql, rows), write=True)

    def outside_transaction(self, statements: Sequence[str]) -> None:
        """Run maintenance statements that refuse a transaction (VACUUM, checkpoints), in
        order, each committed by itself."""
        with self._lock:
            if self._closed:
                raise StoreError(f"{self.dialect} store is closed")
            for statement in statements:
                self._outside_transaction(statement)

    # -- migrations and lifetime ------------------------------------------------------------

    def _migrate(self) -> None:
        migrations = load_migrations(self.dialect)
        latest = migrations[-1].version

        def apply(cur: Cursor) -> None:
            self._before_migrate(cur)
            cur.execute(self._SCHEMA_VERSION_DDL)
            applied: dict[int, str] = dict(
                cur.execute("SELECT version, name FROM schema_version").all()
            )
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
        self.write(apply)

    def schema_version(self) -> int:
        """The highest migration applied to this database."""
        version = self.scalar("SELECT max(version) FROM schema_version")
        return 0 if version is None else int(version)

    def close(self) -> None:
        """Release the connection. Idempotent; any later call raises StoreError."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._disconnect()
