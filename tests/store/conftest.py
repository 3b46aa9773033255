"""Fixtures that run every store test on both backends against real databases.

SQLite: a file in the test's tmp_path. PostgreSQL: the `pg_url` schema of tests/conftest.py (a
fresh one per test on the server tests/postgres.py names, dropped at teardown).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from callister.store import Store, open_store


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty store, once per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"  # tmp_path is absolute: sqlite:////tmp/...
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def reopen(store_url: str) -> Iterator[Callable[[], Store]]:
    """Open another Store on the same database (a restart, or a second server)."""
    opened: list[Store] = []

    def _open() -> Store:
        store = open_store(store_url)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.db.close()


@pytest.fixture
def store(reopen: Callable[[], Store]) -> Store:
    return reopen()


@pytest.fixture
def raw_sql(store_url: str) -> Callable[[str], list[tuple[Any, ...]]]:
    """Run one SQL statement directly on the test database, bypassing the store."""

    def run(statement: str) -> list[tuple[Any, ...]]:
        if store_url.startswith("sqlite:///"):
            conn = sqlite3.connect(store_url[len("sqlite:///") :])
            try:
                with conn:
                    return conn.execute(statement).fetchall()
            finally:
                conn.close()
        base, _, schema = store_url.partition("?schema=")
        with psycopg.connect(base, autocommit=True) as pg:
            pg.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            cur = pg.execute(statement.encode())
            return cur.fetchall() if cur.description else []

    return run


@pytest.fixture
def raw_script(store_url: str) -> Callable[[str], None]:
    """Run a multi-statement SQL script directly on the test database, bypassing the store."""

    def run(script: str) -> None:
        if store_url.startswith("sqlite:///"):
            conn = sqlite3.connect(store_url[len("sqlite:///") :], isolation_level=None)
            try:
                conn.executescript(script)
            finally:
                conn.close()
            return
        base, _, schema = store_url.partition("?schema=")
        with psycopg.connect(base, autocommit=True) as pg:
            pg.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            pg.execute(script.encode())

    return run
