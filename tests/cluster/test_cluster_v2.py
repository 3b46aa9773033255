"""Protocol v2 through a cluster, with real processes (gateway, workers, nats-server, PostgreSQL):
a v2 client is relayed v2 end to end (update frames with no acknowledgements, binary controls
that fly its ship), keeps an exact view across a jump's hand-off to another worker and a
worker's death (the first update on the new worker is a RESYNC, after the new `system`), and its
held binary controls survive the hand-off. A v1 client beside it is still served v1.

The client here is written from docs/protocol.md alone: it never acknowledges anything, and
`ClientView.apply` refuses any update that does not fit the view it holds."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from tests.cluster._support import (
    NatsServer,
    add_worker,
    first_home_zone,
    ready,
    start_worker_and_gateway,
)

import callister.cluster.gateway as edge
from callister.bots.client import Bot
from callister.cluster.procs import Cluster, free_port
from callister.cluster.subjects import GATEWAY
from callister.protocol.controls import encode_controls
from callister.protocol.errors import ProtocolError
from callister.protocol.updates import ClientView, Update, decode_update
from callister.server.settings import load_settings

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WORLD = "infinity"
THRUSTING = 2  # a record's flag bit 1


class V2Client:
    """A v2 player through gateway g1: every frame it receives, in order (`frames`: JSON
    messages as dicts, updates decoded), and the view those updates keep."""

    def __init__(
        self, cluster: Cluster, http: aiohttp.ClientSession, name: str, gateway: Any = None
    ) -> None:
        self.g = gateway or cluster.procs["g1"]  # (anything with the gateway's url and ws)
        self.http, self.name = http, name
        self.frames: list[dict[str, Any] | Update] = []
        self.view = ClientView()
        self.misfits: list[str] = []  # updates that did not fit the view
        self.acks_sent = 0
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.task: asyncio.Task[None] | None = None
        self.welcome: dict[str, Any] = {}
        self.ship = 0

    async def register(self) -> str:
        body = {"name": self.name, "password": "password-123"}
        async with self.http.post(f"{self.g.url}/api/register", json=body) as resp:
            return str((await resp.json())["token"])

    async def connect(self, token: str | None = None) -> None:
        """Register (unless `token`: registered already) and say hello, v2."""
        if token is None:
            token = await self.register()
        self.ws = await self.http.ws_connect(self.g.ws)
        await self.send({"t": "hello", "token": token, "v": 2})
        self.task = asyncio.create_task(self._read())
        await until(lambda: self.welcome, 20, "the welcome")
        self.ship = int(self.welcome["ship"])

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                update = decode_update(msg.data)
                try:
                    self.view.apply(update)
                except ProtocolError as exc:
                    self.misfits.append(exc.message)
                    self.view = ClientView()
                    self.view.apply(Update(0, update.seq, True, 0, 0, 0, (), (), ()))
                self.frames.append(update)
            elif msg.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(msg.data)
                self.frames.append(data)
                if data.get("t") == "welcome":
                    self.welcome = data

    async def send(self, obj: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send_str(json.dumps(obj))

    async def controls(self, thrust: float, turn: float = 0.0) -> None:
        assert self.ws is not None
        await self.ws.send_bytes(encode_controls(thrust, turn, False))

    def updates(self, since: int = 0) -> list[Update]:
        return [f for f in self.frames[since:] if isinstance(f, Update)]

    def json(self, since: int = 0) -> list[dict[str, Any]]:
        return [f for f in self.frames[since:] if isinstance(f, dict)]

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.json() if m.get("t") == "event" and m.get("kind") == kind]

    def errors(self) -> list[dict[str, Any]]:
        return [m for m in self.json() if m.get("t") == "error"]

    def own(self) -> tuple[float, float, int]:
        """Where the view says the client's ship is (metres, at the view's tick), its flags."""
        ref = self.view.entities[self.ship]
        x, y = ref.metres_at(self.view.tick)
        return x, y, ref.flags

    async def undock(self) -> None:
        await self.send({"t": "undock", "ship": self.ship})
        await until(lambda: self.events("undocked"), 15, f"{self.name} undocked")

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)


async def until(cond: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout:.0f} s: {what}")
        await asyncio.sleep(0.1)


def system_index(client: V2Client, since: int = 0) -> int:
    """The position in `frames` of the newest `system` message at or after `since`."""
    found = [
        i
        for i, f in enumerate(client.frames)
        if i >= since and isinstance(f, dict) and f.get("t") == "system"
    ]
    assert found, "no system message"
    return found[-1]


def assert_fresh_view(client: V2Client, since: int) -> Update:
    """After the `system` message at `since` come updates whose first is a RESYNC holding the
    client's own ship (a new view), then updates that follow it seq by seq."""
    after = client.updates(since)
    assert after, "no update after the system message"
    first = after[0]
    assert first.resync, f"the first update in the new system is not a RESYNC: {first}"
    assert client.ship in {r.id for r in first.new}
    seqs = [u.seq for u in after]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
    return first


async def moves_thrusting(client: V2Client, seconds: float = 2.0) -> float:
    """How far the client's ship moves in `seconds`, by its view; it must be thrusting."""
    n = len(client.frames)
    await until(lambda: len(client.updates(n)) >= 3, 10, "updates")
    x0, y0, _ = client.own()
    await asyncio.sleep(seconds)
    x1, y1, flags = client.own()
    assert flags & THRUSTING, "the ship is not thrusting"
    return math.dist((x0, y0), (x1, y1))


async def test_a_v2_client_is_relayed_v2_and_flies_with_binary_controls_beside_a_v1_client(
    cluster: Cluster,
) -> None:
    await start_worker_and_gateway(cluster)
    async with aiohttp.ClientSession() as http:
        a = V2Client(cluster, http, "relayed-v2")
        await a.connect()
        assert a.welcome["v"] == 2, "the gateway's worker should speak v2 to a v2 hello"
        await until(lambda: a.updates(), 15, "the first update")
        assert_fresh_view(a, system_index(a))
        # a v1 client beside it is still served v1: snapshots it acknowledges
        g = cluster.procs["g1"]
        old = Bot(g.url, g.ws, "relayed-v1", session=http, jump_every_s=0)
        await old.register()
        await old.connect()
        assert old.welcome["v"] == 1
        await old.send({"t": "undock", "ship": old.ship})
        await a.undock()
        await old.send({"t": "input", "ship": old.ship, "thrust": 1.0, "turn": 0.0, "brake": False})
        # the binary controls (no ship id travels) fly the ship through the relay
        await a.controls(1.0, 0.3)
        moved = await moves_thrusting(a)
        assert moved > 20.0, f"the ship moved {moved:.1f} m in 2 s"
        # updates keep coming with no acknowledgement, each seq after the last, no RESYNC
        n = len(a.updates())
        await until(lambda: len(a.updates()) >= n + 20, 10, "20 more updates without acks")
        assert not any(u.resync for u in a.updates()[1:])
        assert_fresh_view(a, system_index(a))
        # the v1 client is in the v2 client's view, named by `ents` before it
        await until(lambda: old.ship in a.view.entities, 10, "the v1 client in view")
        named = {int(e["id"]) for m in a.json() if m.get("t") == "ents" for e in m["ents"]}
        assert old.ship in named
        start = old.pos
        await old.pump(2.0)
        assert old.stats.snapshots > 10 and math.dist(start, old.pos) > 20.0
        assert old.stats.errors == 0
        assert not a.misfits and not a.errors(), (a.misfits, a.errors())
        await old.close()
        await a.close()


async def test_a_v2_view_and_held_binary_controls_survive_a_jump_to_another_worker(
    cluster: Cluster,
) -> None:
    """The ship jumps to a system another worker simulates: the session follows it there and
    the client's first update on that worker is a RESYNC (a new view, after the new `system`);
    the thrust the client pressed before the hand-off (held by the gateway) flies the ship
    there, though the ship arrives with its controls released."""
    await start_worker_and_gateway(cluster)
    async with aiohttp.ClientSession() as http:
        a = V2Client(cluster, http, "jumper-v2")
        await a.connect()
        assert a.welcome["v"] == 2
        await a.undock()
        await add_worker(cluster, "w2", workers=2)  # the emptier: the next system goes there
        home = system_index(a)
        system = a.frames[home]
        assert isinstance(system, dict)
        to = system["system"]["links"][0]
        await a.send({"t": "jump", "ship": a.ship, "to": to})
        await until(lambda: a.events("jump_charging"), 10, "the jump charging")
        await a.controls(1.0)  # held from now: the ship thrusts until told otherwise
        await until(lambda: a.events("arrived"), 30, "the arrived event")
        assert f"{WORLD}.{to[0]}.{to[1]}" in cluster.health("w2")["zones"]
        there = system_index(a, home + 1)
        arrived = a.frames[there]
        assert isinstance(arrived, dict) and [arrived["system"]["x"], arrived["system"]["y"]] == to
        await until(lambda: a.updates(there), 10, "an update in the new system")
        assert_fresh_view(a, there)
        moved = await moves_thrusting(a)
        assert moved > 20.0, f"the ship moved {moved:.1f} m in 2 s: its controls were not held"
        assert_fresh_view(a, there)
        # (the gateway built the view, from frames of both workers: cluster/edge.py)
        assert cluster.metrics("w2")["callister_edge_frames_sent_total"] > 0
        assert cluster.metrics("g1")["callister_edge_updates_total"] > 0
        assert not a.misfits and not a.errors(), (a.misfits, a.errors())
        await a.close()


async def test_a_v2_client_gets_a_fresh_view_after_its_worker_dies(cluster: Cluster) -> None:
    """The worker simulating the client's system is killed: the zone's next owner (another
    worker) takes the session, welcomes it again (v2) and starts it with a RESYNC."""
    await start_worker_and_gateway(cluster)
    await add_worker(cluster, "w2", workers=2)
    async with aiohttp.ClientSession() as http:
        a = V2Client(cluster, http, "survivor-v2")
        await a.connect()
        assert a.welcome["v"] == 2
        home = first_home_zone()
        owner = next(w for w in ("w1", "w2") if home in cluster.health(w)["zones"])
        other = "w2" if owner == "w1" else "w1"
        await until(lambda: len(a.updates()) >= 3, 15, "updates")
        n = len(a.frames)
        cluster.kill(owner)
        await until(lambda: any(m.get("t") == "welcome" for m in a.json(n)), 60, "welcomed again")
        assert next(m for m in a.json(n) if m.get("t") == "welcome")["v"] == 2
        again = system_index(a, n)
        await until(lambda: a.updates(again), 15, "an update from the new owner")
        assert_fresh_view(a, again)
        assert home in cluster.health(other)["zones"]
        assert cluster.metrics(other)["callister_edge_frames_sent_total"] > 0  # (edge views)
        assert not a.misfits and not a.errors(), (a.misfits, a.errors())
        await a.close()


@dataclass
class InProcessGateway:
    edge: edge.EdgeGateway
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


@contextlib.asynccontextmanager
async def in_process_gateway(
    cluster: Cluster, nats_server: NatsServer, name: str
) -> AsyncIterator[InProcessGateway]:
    """Gateway `name` in this process (the cluster's settings, the gateway's nkey), serving
    HTTP and WebSockets on a free port until it routes to the cluster's workers."""
    env = {**cluster.env, "CALLISTER_NATS_NKEY": str(nats_server.keys[GATEWAY])}
    port = free_port()
    settings = load_settings(
        env=env, db=cluster.db, nats_url=cluster.nats_url, node_name=name, port=port
    )
    app = edge.build_gateway_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    gateway = next(v for v in app.values() if isinstance(v, edge.EdgeGateway))
    try:
        workers = sum(1 for p in cluster.procs.values() if p.role == "worker")
        await until(lambda: len(gateway.directory.alive()) >= workers, 30, "workers seen")
        yield InProcessGateway(gateway, port)
    finally:
        await runner.cleanup()


async def test_a_v2_update_the_gateway_cannot_write_is_followed_by_a_resync(
    cluster: Cluster, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A v2 update is a delta against the one before: the gateway (in this process) finds the
    client backed up for three updates and skips them, as a slow socket in one process. The
    client must not get the next deltas (they would not fit its view): it gets a RESYNC, its
    `seq` jumping, and its view stays exact."""
    cluster.start("worker", "w1")
    await ready(cluster, "w1")
    async with (
        aiohttp.ClientSession() as http,
        in_process_gateway(cluster, nats_server, "g1") as g,
    ):
        a = V2Client(cluster, http, "backed-up-v2", gateway=g)
        await a.connect()
        assert a.welcome["v"] == 2
        await a.undock()
        await a.controls(1.0, 0.5)  # turning: its records keep changing
        await until(lambda: len(a.updates()) >= 5, 15, "updates")
        skip = {"left": 0}
        write = edge.write_frame_now

        def backed_up(ws: Any, data: bytes, opcode: WSMsgType, backlog: int) -> bool:
            if opcode == WSMsgType.BINARY and skip["left"] > 0:
                skip["left"] -= 1
                return False  # the client's socket is backed up: not written
            return write(ws, data, opcode, backlog)

        monkeypatch.setattr(edge, "write_frame_now", backed_up)
        n = len(a.updates())
        skip["left"] = 3
        await until(lambda: len(a.updates()) >= n + 20, 15, "20 more updates")
        after = a.updates()[n:]
        assert skip["left"] == 0
        resync = next((i for i, u in enumerate(after) if u.resync), None)
        assert resync is not None, "no RESYNC after the skipped updates"
        assert after[resync].seq > a.updates()[n - 1].seq + 3, "the seq should jump"
        assert all(not u.resync for u in after[resync + 1 :])
        seqs = [u.seq for u in after[resync:]]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        assert not a.misfits and not a.errors(), (a.misfits, a.errors())
        assert g.edge.metrics.counters["callister_snapshots_skipped_total"] >= 3
        # (the gateway built the updates and resynced the view itself: cluster/edge_views.py)
        assert g.edge.metrics.counters["callister_edge_updates_total"] > 0
        await a.close()
