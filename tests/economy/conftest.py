"""Fixtures for the economy tests: a real store (SQLite file, and PostgreSQL where a test asks
for `any_store`), a settable clock, an Economy, and docked characters.

PostgreSQL: a fresh schema per test on CALLISTER_TEST_PG (default
postgresql://postgres@127.0.0.1:5432/test), dropped afterwards; set CALLISTER_SKIP_POSTGRES=1
to skip those tests when no server is running.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from callister.content import Content, load_content
from callister.economy import Economy
from callister.store import Store, open_store

from ._support import WORLD, Clock

PG_URL = os.environ.get("CALLISTER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def require_postgres() -> None:
    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        message = f"PostgreSQL at {PG_URL} unreachable: {exc}"
        if os.environ.get("CALLISTER_SKIP_POSTGRES") == "1":
            pytest.skip(message)
        pytest.fail(f"{message} (set CALLISTER_SKIP_POSTGRES=1 to skip PostgreSQL tests)")


@pytest.fixture
def pg_url() -> Iterator[str]:
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    yield f"{PG_URL}?schema={schema}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A SQLite file store (NORMAL sync: a real file, without an fsync per commit)."""
    with open_store(f"sqlite:///{tmp_path / 'economy.db'}?synchronous=NORMAL") as s:
        yield s


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The same on every backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'economy.db'}?synchronous=NORMAL"
    else:
        url = request.getfixturevalue("pg_url")
    with open_store(url) as s:
        yield s


@pytest.fixture
def content() -> Content:
    return load_content()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def economy(any_store: Store, content: Content, clock: Clock) -> Economy:
    return Economy(any_store, content, WORLD, clock=clock)


@pytest.fixture
def pilot(economy: Economy) -> int:
    """A registered account with its starting credits."""
    account = economy.store.accounts.create(f"pilot-{uuid.uuid4().hex[:8]}", "h")
    economy.events.ensure_player(account.id)
    return account.id
