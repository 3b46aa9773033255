"""SQLite dialect (stdlib sqlite3): the default, one file under ./data.

Durability: WAL journal with `synchronous=FULL` by default, so a committed transaction survives
power loss, not just a process crash. `synchronous="NORMAL"` is faster and still never corrupts
the file, but the last transactions before a power cut may roll back; only choose it for data
that is checkpointed anyway.

Concurrency: one connection per Database behind its lock (thread-safe within a process); between
processes, write transactions start with BEGIN IMMEDIATE so they queue on SQLite's write lock
(waiting up to `busy_timeout`) instead of failing when a read would upgrade to a write.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .database import ConstraintKind, ConstraintViolation, Cursor, Database
from .errors import StoreError

T = TypeVar("T")

MIN_SQLITE = (3, 37, 0)  # STRICT tables (3.37); RETURNING and ON CONFLICT upserts are older
SYNCHRONOUS = ("FULL", "NORMAL")
MEMORY = ":memory:"


def _same(sql: str) -> str:
    return sql


class SqliteDatabase(Database):
    """A Database in one SQLite file (or in memory with path ":memory:", for tests)."""

    dialect = "sqlite"
    _SCHEMA_VERSION_DDL = (
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL) STRICT"
    )

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: str = "FULL",
        busy_timeout: float = 10.0,
        migrate: bool = True,
    ) -> None:
        """Open (creating it and its parent directories if needed) and migrate the database.

        `busy_timeout` is how many seconds a write waits for another process's write lock
        before failing with StoreError. `migrate=False` only for `connect_separate`.
        """
        super().__init__()
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise StoreError(
                f"SQLite {sqlite3.sqlite_version} is too old; callister needs "
                f"{'.'.join(map(str, MIN_SQLITE))} or newer"
            )
        sync = synchronous.upper() if isinstance(synchronous, str) else synchronous
        if sync not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be FULL or NORMAL; got {synchronous!r}")
        if not isinstance(busy_timeout, int | float) or not 0 <= busy_timeout <= 3600:
            raise ValueError(f"busy_timeout must be 0..3600 seconds; got {busy_timeout!r}")

        self.path = str(path)
        self._synchronous, self._busy_timeout = sync, busy_timeout
        if self.path != MEMORY:
            Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            # isolation_level=None: the sqlite3 module must not open transactions behind our
            # back; every transaction is an explicit BEGIN in _transaction.
            self._conn = sqlite3.connect(
                self.path,
                timeout=busy_timeout,
                isolation_level=None,
                check_same_thread=False,  # safe: every use is under self._lock
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite database {self.path!r}: {exc}") from exc
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            # WAL: readers never block the writer and commits are one sequential append.
            # (In-memory databases report "memory"; some filesystems refuse WAL and keep
            # "delete", which is slower but equally safe.)
            self.journal_mode = self._set_wal(busy_timeout)
            self._conn.execute(f"PRAGMA synchronous = {sync}")
            self._conn.execute("PRAGMA foreign_keys = ON")
            if migrate:
                self._migrate()
        except BaseException:
            self._conn.close()
            raise

    def __repr__(self) -> str:
        return f"SqliteDatabase({self.path!r})"

    def connect_separate(self) -> SqliteDatabase:
        if self.path == MEMORY:
            raise StoreError(
                "an in-memory SQLite database cannot be opened twice; use a file "
                "(sqlite:///path.db) or PostgreSQL"
            )
        return SqliteDatabase(
            self.path,
            synchronous=self._synchronous,
            busy_timeout=self._busy_timeout,
            migrate=False,
        )

    def _set_wal(self, busy_timeout: float) -> str:
        # Changing (or confirming) the journal mode can fail at once with "database is locked"
        # while another connection is inside a write transaction (several servers or threads
        # opening a fresh file together): SQLite does not run the busy handler for it. Retry
        # for up to busy_timeout, like any other lock wait.
        deadline = time.monotonic() + busy_timeout
        delay = 0.001
        while True:
            try:
                return str(self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _transaction(self, fn: Callable[[Cursor], T], write: bool) -> T:
        raw = self._conn.cursor()
        try:
            # Writes take the write lock up front (IMMEDIATE): a deferred transaction that reads
            # and then writes can fail with SQLITE_BUSY without waiting, the classic WAL trap.
            raw.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                result = fn(Cursor(raw, _same, self.dialect))
                raw.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
        except sqlite3.IntegrityError as exc:
            raise ConstraintViolation(_kind(exc), f"sqlite: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite {self.path!r}: {exc}") from exc
        finally:
            raw.close()
        return result

    def _disconnect(self) -> None:
        self._conn.close()

    def _outside_transaction(self, statement: str) -> None:
        try:
            self._conn.execute(statement)
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite {self.path!r}: {exc}") from exc

    def _before_migrate(self, cur: Cursor) -> None:
        """Nothing to prepare: BEGIN IMMEDIATE already keeps a second migrator out."""

    def _run_script(self, cur: Cursor, sql: str) -> None:
        # executescript() would COMMIT first and so break the migration transaction; instead
        # split into complete statements (sqlite3.complete_statement understands strings,
        # comments and trigger bodies) and run them one by one.
        statement = ""
        for line in sql.splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                cur.raw.execute(statement)
                statement = ""
        if _strip_comments(statement):
            raise StoreError(f"migration script ends with an incomplete statement: {statement!r}")


def _strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines()).strip()


def _kind(exc: sqlite3.IntegrityError) -> ConstraintKind:
    name = getattr(exc, "sqlite_errorname", "")
    if name in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"):
        return "unique"
    if name == "SQLITE_CONSTRAINT_FOREIGNKEY":
        return "foreign_key"
    if name == "SQLITE_CONSTRAINT_CHECK":
        return "check"
    return "other"
