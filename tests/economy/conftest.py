"""Fixtures for the economy tests: a real store (SQLite file, and PostgreSQL where a test asks
for `any_store`), a settable clock, an Economy, and docked characters.

PostgreSQL: the `pg_url` schema of tests/conftest.py, a fresh one per test (tests/postgres.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from callister.content import Content, load_content
from callister.economy import Economy
from callister.store import Store, open_store

from ._support import WORLD, Clock


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
