"""The PostgreSQL test server, for every test folder that runs a backend on it.

CALLISTER_TEST_PG names it (default postgresql://postgres@127.0.0.1:5432/test); each test gets
a fresh schema there, dropped at teardown. An unreachable server fails those tests; set
CALLISTER_SKIP_POSTGRES=1 to skip them instead.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

PG_URL = os.environ.get("CALLISTER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def require_postgres() -> None:
    """Fail (or skip, if CALLISTER_SKIP_POSTGRES=1) when the test server is unreachable."""
    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        message = f"PostgreSQL at {PG_URL} unreachable: {exc}"
        if os.environ.get("CALLISTER_SKIP_POSTGRES") == "1":
            pytest.skip(message)
        pytest.fail(f"{message} (set CALLISTER_SKIP_POSTGRES=1 to skip PostgreSQL tests)")


def drop_schema(schema: str) -> None:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@contextlib.contextmanager
def fresh_schema(prefix: str = "t") -> Iterator[str]:
    """The URL of a unique, empty schema on the test server (its `?schema=` names it), dropped
    when the block ends."""
    require_postgres()
    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    try:
        yield f"{PG_URL}?schema={schema}"
    finally:
        drop_schema(schema)
