"""Shared fixtures: a real server on loopback (in-process aiohttp on a real TCP port), and
fresh schemas on the PostgreSQL test server (tests/postgres.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from tests.postgres import PG_URL, fresh_schema, require_postgres

from callister.server.app import SERVICES, Services, build_app
from callister.server.settings import Settings


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Fast, isolated settings: cheap password hashing, a fresh SQLite file."""
    base: dict[str, Any] = {
        "db": f"sqlite:///{tmp_path}/test.db",
        "argon2_time_cost": 1,
        "argon2_memory_kib": 8192,
        "register_per_minute": 10_000,
        "home_systems": 1,  # everyone starts in the same system, so players meet
        "npc_density": 0.0,  # no NPC ships unless a test asks for them (tests/server/test_npcs)
        "log_json": False,
    }
    base.update(overrides)
    return Settings(**base)


class LiveServer:
    def __init__(self, server: TestServer) -> None:
        self.server = server

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/ws"

    @property
    def services(self) -> Services:
        return self.server.app[SERVICES]


async def start_live(settings: Settings) -> LiveServer:
    server = TestServer(build_app(settings), host="127.0.0.1", port=0)
    await server.start_server()
    return LiveServer(server)


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[LiveServer]:
    """A live server with these settings for the block; closed after it."""
    server = await start_live(settings)
    try:
        yield server
    finally:
        await server.server.close()


def live_server(**overrides: Any) -> Any:
    """A fixture: a live server for each test, on make_settings with these `overrides`. A test
    module names its own, e.g. `deadly = live_server(damage_multiplier=50.0)`."""

    @pytest.fixture
    async def fixture(tmp_path: Path) -> AsyncIterator[LiveServer]:
        async with running(make_settings(tmp_path, **overrides)) as server:
            yield server

    return fixture


live = live_server()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def pg_base() -> str:
    """The PostgreSQL test server URL (no schema), after checking it is reachable."""
    require_postgres()
    return PG_URL


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL store URL in a unique schema, dropped afterwards."""
    with fresh_schema() as url:
        yield url
