"""PostgreSQL dialect (psycopg 3, synchronous): for deployments past one machine.

One connection per Database behind its lock, in autocommit mode with explicit
`conn.transaction()` blocks, so every repository method is exactly one BEGIN ... COMMIT.
Isolation is PostgreSQL's default READ COMMITTED; every method's writes are single statements or
batches of upserts whose row locks make them safe under it (reserve_ids is one UPDATE ...
RETURNING).

If the connection breaks (server restart, idle-connection reaper), it reconnects once and
retries the transaction, but only when the failure happened before COMMIT was sent: a retry after
an ambiguous COMMIT could apply a write twice, so that case raises StoreError instead.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

import psycopg
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict

from .database import ConstraintKind, ConstraintViolation, Cursor, Database
from .errors import StoreError

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


@lru_cache(maxsize=256)
def _placeholders(query: str) -> str:
    # The shared SQL uses '?'; psycopg wants '%s' and a literal '%' doubled.
    return query.replace("%", "%%").replace("?", "%s")


class PostgresDatabase(Database):
    """A Database in PostgreSQL, optionally confined to one schema."""

    dialect = "postgresql"
    _SCHEMA_VERSION_DDL = (
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
    )

    def __init__(
        self,
        conninfo: str,
        *,
        schema: str | None = None,
        connect_timeout: int = 10,
        display: str | None = None,
        migrate: bool = True,
    ) -> None:
        """Connect with a libpq URL or conninfo string and migrate.

        `schema` puts every table in that schema (created if missing) via the search_path.
        `display` is how the database is named in errors (the URL without its password).
        `migrate=False` only for `connect_separate`.
        """
        super().__init__()
        self._pipe: tuple[psycopg.Connection[Any], Any, psycopg.Pipeline] | None = None
        if schema is not None and not SCHEMA_NAME.fullmatch(schema):
            raise ValueError(
                f"schema must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*): {schema!r}"
            )
        self.schema = schema
        self._display = display or "PostgreSQL"
        self._conninfo = conninfo
        self._connect_kwargs: dict[str, Any] = {}
        try:
            if "connect_timeout" not in conninfo_to_dict(conninfo):
                self._connect_kwargs["connect_timeout"] = connect_timeout
        except psycopg.ProgrammingError as exc:
            raise StoreError(f"bad PostgreSQL connection string {self._display}: {exc}") from exc
        self._connect_timeout = connect_timeout
        self._conn = self._connect()
        if not migrate:
            return
        try:
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    def __repr__(self) -> str:
        return f"PostgresDatabase({self._display!r}, schema={self.schema!r})"

    def connect_separate(self) -> PostgresDatabase:
        return PostgresDatabase(
            self._conninfo,
            schema=self.schema,
            connect_timeout=self._connect_timeout,
            display=self._display,
            migrate=False,
        )

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True, **self._connect_kwargs)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to {self._display}: {exc}") from exc
        if self.schema is not None:
            try:
                # Session-level (autocommit) so it outlives every transaction. Naming a schema
                # that does not exist yet is allowed; _before_migrate creates it.
                conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
            except psycopg.Error as exc:
                conn.close()
                raise StoreError(f"cannot set search_path on {self._display}: {exc}") from exc
        return conn

    def _transaction(self, fn: Callable[[Cursor], T], write: bool) -> T:
        for attempt in (1, 2):
            if self._conn.closed or self._conn.broken:
                self._conn = self._connect()  # known dead before we sent anything: safe
            conn = self._conn
            committing = False
            try:
                if self.pipelined and write:
                    pipe = self._pipeline(conn)
                    with conn.cursor() as raw:
                        try:
                            raw.execute(b"BEGIN")  # sent with fn's first statement
                            result = fn(Cursor(raw, _placeholders, self.dialect, pipe.sync))
                            committing = True
                            raw.execute(b"COMMIT")  # sent with fn's last statements
                            pipe.sync()
                        except BaseException:
                            _roll_back(conn, raw, pipe)
                            raise
                    return result
                with conn.transaction(), conn.cursor() as raw:
                    result = fn(Cursor(raw, _placeholders, self.dialect))
                    committing = True  # the block's exit sends COMMIT
                return result
            except errors.IntegrityError as exc:
                raise ConstraintViolation(_kind(exc), f"postgresql: {exc}") from exc
            except psycopg.OperationalError as exc:
                if conn.broken and not committing and attempt == 1:
                    log.warning("PostgreSQL connection lost (%s); reconnecting once", exc)
                    continue
                if conn.broken and committing:
                    raise StoreError(
                        f"connection to {self._display} lost during COMMIT; the transaction may "
                        f"or may not have been applied: {exc}"
                    ) from exc
                raise StoreError(f"{self._display}: {exc}") from exc
            except psycopg.Error as exc:
                raise StoreError(f"{self._display}: {exc}") from exc
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _pipeline(self, conn: psycopg.Connection[Any]) -> psycopg.Pipeline:
        """The connection's pipeline, entered once and kept: leaving one syncs, which would
        cost every transaction one more round trip. The connection stays in pipeline mode
        (its other calls work as usual; psycopg syncs where they need results)."""
        if self._pipe is None or self._pipe[0] is not conn:
            block = conn.pipeline()  # (kept: collecting the block would leave the pipeline)
            self._pipe = (conn, block, block.__enter__())
        return self._pipe[2]

    def _disconnect(self) -> None:
        if self._pipe is not None and self._pipe[0] is self._conn and not self._conn.broken:
            with contextlib.suppress(psycopg.Error):
                self._pipe[1].__exit__(None, None, None)  # leave pipeline mode cleanly
        self._pipe = None
        self._conn.close()

    def _outside_transaction(self, statement: str) -> None:
        try:
            self._conn.execute(statement.encode("utf-8"))
        except psycopg.Error as exc:
            raise StoreError(f"{self._display}: {exc}") from exc

    def _before_migrate(self, cur: Cursor) -> None:
        # Serialise migrators of the same schema (two servers starting at once) for the rest of
        # this transaction; CREATE ... IF NOT EXISTS alone is not race-free in PostgreSQL.
        cur.execute(
            "SELECT pg_advisory_xact_lock(hashtext(?))",
            (f"callister.store.migrate:{self.schema or ''}",),
        )
        if self.schema is not None:
            cur.raw.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
            )

    def _run_script(self, cur: Cursor, sql_text: str) -> None:
        # Without parameters psycopg sends the text as one simple query, which may hold many
        # statements; it runs inside the open transaction.
        cur.raw.execute(sql_text.encode("utf-8"))


def _roll_back(conn: psycopg.Connection[Any], raw: Any, pipe: Any) -> None:
    """End a pipelined transaction that failed (`Database.pipelined`: psycopg's own
    transaction block syncs on entering and before the COMMIT, so BEGIN and COMMIT are sent
    by hand, with the first and the last statements). An error of a statement not waited
    for surfaces at the next wait; either way the transaction is rolled back here."""
    if conn.broken:
        return
    # always: the transaction status is not known in pipeline mode until a sync (ROLLBACK
    # outside a transaction is only a warning)
    for _ in range(2):
        try:
            raw.execute(b"ROLLBACK")
            pipe.sync()
            return
        except errors.PipelineAborted:
            # the pipeline still holds the failed statement's unread error (it failed after
            # the last result psycopg read): a sync reads it, then the ROLLBACK can be sent.
            # Without it the ROLLBACK was never sent, and the connection's next statement
            # failed "current transaction is aborted".
            with contextlib.suppress(psycopg.Error):
                pipe.sync()
        except psycopg.Error:
            return


def _kind(exc: errors.IntegrityError) -> ConstraintKind:
    if isinstance(exc, errors.UniqueViolation):
        return "unique"
    if isinstance(exc, errors.ForeignKeyViolation):
        return "foreign_key"
    if isinstance(exc, errors.CheckViolation):
        return "check"
    return "other"
