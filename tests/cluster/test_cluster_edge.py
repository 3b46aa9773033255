"""Views built at the edge (cluster/edge.py, `edge_views`), with real processes: the gateway
(in this process, to read its state) builds its v2 players' views from one frame per zone tick
and writes their updates itself; the worker builds none of them. A v2 player sees another
player's ship named and moving, beside a v1 client the worker still serves; a client's
`resync` request gets a RESYNC; a game master's mark reaches a viewer who already knows the
ship, and a game master turning invisible (it sees its own ghost ship: the worker serves its
view from then) gets a fresh view from the worker, and one from the gateway again when visible.
The hand-off and failover cases run through the edge in tests/cluster/test_cluster_v2.py
(`edge_views` is on by default); `test_the_worker_serves_v2_views_when_edge_views_is_off`
keeps the worker's own path tested."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator

import aiohttp
import pytest
from tests.cluster._support import NatsServer, ready
from tests.cluster.test_cluster_v2 import (
    InProcessGateway,
    V2Client,
    assert_fresh_view,
    in_process_gateway,
    system_index,
    until,
)

from callister.bots.client import Bot
from callister.cluster.procs import Cluster
from callister.protocol.updates import Update
from callister.store import open_store

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def named(client: V2Client, ship: int, since: int = 0) -> list[dict[str, object]]:
    """The `ents` entries for `ship` the client got (at or after frame `since`)."""
    return [
        e
        for m in client.json(since)
        if m.get("t") == "ents"
        for e in m["ents"]
        if int(e["id"]) == ship
    ]


@contextlib.asynccontextmanager
async def edge_cluster(
    cluster: Cluster, nats_server: NatsServer
) -> AsyncIterator[tuple[aiohttp.ClientSession, InProcessGateway]]:
    """Worker w1 and gateway g1 in this process, its `edge_views` on (the default)."""
    cluster.start("worker", "w1")
    await ready(cluster, "w1")
    async with (
        aiohttp.ClientSession() as http,
        in_process_gateway(cluster, nats_server, "g1") as g,
    ):
        assert g.edge.edge is not None, "edge_views should be on by default"
        yield http, g


def seated(g: InProcessGateway, client: V2Client) -> bool:
    """Whether the gateway builds the client's view (its session holds a slot there)."""
    edge = g.edge.edge
    assert edge is not None
    relays = g.edge.relays.items()
    return any(r.account.name == client.name and sid in edge.seats for sid, r in relays)


def resyncs(client: V2Client, since: int) -> list[Update]:
    return [u for u in client.updates(since) if u.resync]


async def test_an_edge_gateway_builds_v2_views_beside_a_v1_client(
    cluster: Cluster, nats_server: NatsServer
) -> None:
    async with edge_cluster(cluster, nats_server) as (http, g):
        a = V2Client(cluster, http, "edge-viewer", gateway=g)
        b = V2Client(cluster, http, "edge-mover", gateway=g)
        for c in (a, b):
            await c.connect()
            assert c.welcome["v"] == 2
        old = Bot(g.url, g.ws, "edge-v1", session=http, jump_every_s=0)
        await old.register()
        await old.connect()
        assert old.welcome["v"] == 1
        await until(lambda: len(a.updates()) >= 3, 15, "updates")
        assert_fresh_view(a, system_index(a))
        # the gateway builds both players' views; the worker sent it frames, no updates
        assert set(g.edge.edge.seats) == {r.sid for r in g.edge.relays.values() if r.v2}
        assert g.edge.metrics.counters["callister_edge_updates_total"] > 0
        worker = cluster.metrics("w1")
        assert worker["callister_edge_frames_sent_total"] > 0
        await b.undock()
        await old.send({"t": "undock", "ship": old.ship})
        await b.controls(1.0, 0.0)
        await old.send({"t": "input", "ship": old.ship, "thrust": 1.0, "turn": 0.0, "brake": False})
        # a sees b's ship, named by `ents` before it, and moving
        await until(lambda: b.ship in a.view.entities, 10, "b in a's view")
        assert named(a, b.ship) and named(a, b.ship)[0]["name"] == "edge-mover"
        await until(lambda: old.ship in a.view.entities, 10, "the v1 client in a's view")
        ref = a.view.entities[b.ship]
        x0 = ref.metres_at(a.view.tick)
        await until(
            lambda: math.dist(x0, a.view.entities[b.ship].metres_at(a.view.tick)) > 20.0,
            10,
            "b moving in a's view",
        )
        # the v1 client is served by the worker, as before
        start = old.pos
        await old.pump(2.0)
        assert old.stats.snapshots > 10 and math.dist(start, old.pos) > 20.0
        assert old.stats.errors == 0
        # a client's `resync` request: its next update is a RESYNC (built by the gateway)
        n = len(a.frames)
        await a.send({"t": "resync"})
        await until(lambda: resyncs(a, n), 10, "a RESYNC after the request")
        assert not a.misfits and not a.errors(), (a.misfits, a.errors())
        assert not b.misfits and not b.errors(), (b.misfits, b.errors())
        for c in (a, b):
            await c.close()
        await old.close()
        await until(lambda: not g.edge.edge.seats, 10, "the closed sessions' views dropped")


async def test_a_game_masters_mark_and_invisibility_reach_edge_views(
    cluster: Cluster, nats_server: NatsServer, pg_url: str
) -> None:
    async with edge_cluster(cluster, nats_server) as (http, g):
        a = V2Client(cluster, http, "edge-watcher", gateway=g)
        gm = V2Client(cluster, http, "edge-gm", gateway=g)
        token = await gm.register()
        store = open_store(pg_url)
        try:
            store.accounts.set_role("edge-gm", "admin")
        finally:
            store.db.close()
        await gm.connect(token)
        await a.connect()
        await until(lambda: gm.ship in a.view.entities and named(a, gm.ship), 15, "gm in view")
        assert "gm" not in named(a, gm.ship)[0]
        # marked: the viewer who knows the ship hears it again, from the gateway's table
        n = len(a.frames)
        await gm.send({"t": "gm", "op": "gm_ship", "mode": "marked"})
        await until(lambda: any(e.get("gm") for e in named(a, gm.ship, n)), 10, "the GM mark")
        # invisible: the game master sees its own ghost ship, so the worker builds its view
        # from now (a fresh one: a RESYNC); the others lose the ship from theirs
        n = len(gm.frames)
        await gm.send({"t": "gm", "op": "gm_ship", "mode": "invisible"})
        await until(lambda: not seated(g, gm), 10, "the GM's edge view dropped")
        await until(lambda: resyncs(gm, n), 10, "a RESYNC from the worker")
        await until(lambda: gm.ship not in a.view.entities, 10, "the ghost out of a's view")
        m = len(gm.updates())
        await until(lambda: len(gm.updates()) >= m + 10, 10, "the worker's updates")
        assert not any(u.resync for u in gm.updates()[m:])
        # visible again: back to the gateway's views, with a fresh slot there
        n = len(gm.frames)
        await gm.send({"t": "gm", "op": "gm_ship", "mode": "off"})
        await until(lambda: seated(g, gm), 10, "the GM's edge view back")
        await until(lambda: resyncs(gm, n), 10, "a RESYNC from the gateway")
        await until(lambda: gm.ship in a.view.entities, 10, "the GM's ship back in a's view")
        assert not a.misfits and not a.errors(), (a.misfits, a.errors())
        assert not gm.misfits, gm.misfits
        for c in (a, gm):
            await c.close()


async def test_the_worker_serves_v2_views_when_edge_views_is_off(cluster: Cluster) -> None:
    cluster.start("worker", "w1")
    cluster.start("gateway", "g1", {"CALLISTER_EDGE_VIEWS": "false"})
    await ready(cluster, "w1", "g1")
    await asyncio.get_running_loop().run_in_executor(None, cluster.wait_workers, "g1", 1)
    async with aiohttp.ClientSession() as http:
        a = V2Client(cluster, http, "worker-served")
        await a.connect()
        await until(lambda: len(a.updates()) >= 10, 15, "updates")
        assert_fresh_view(a, system_index(a))
        assert cluster.metrics("w1").get("callister_edge_frames_sent_total", 0) == 0
        assert "callister_edge_sessions" not in cluster.metrics("g1")
        assert not a.misfits and not a.errors(), (a.misfits, a.errors())
        await a.close()


async def test_a_zone_hands_its_views_to_the_gateway_once_crowded_enough(
    cluster: Cluster, nats_server: NatsServer
) -> None:
    """`edge_views_min_players`: a zone's few players are served by the worker; the player
    that makes the zone crowded enough moves every view to the gateway (each a RESYNC), and
    one leaving again does not move them back (only below half the threshold)."""
    cluster.start("worker", "w1", {"CALLISTER_EDGE_VIEWS_MIN_PLAYERS": "2"})
    await ready(cluster, "w1")
    async with (
        aiohttp.ClientSession() as http,
        in_process_gateway(cluster, nats_server, "g1") as g,
    ):
        a = V2Client(cluster, http, "few-a", gateway=g)
        await a.connect()
        await until(lambda: len(a.updates()) >= 3, 15, "updates")
        assert not seated(g, a)  # one player: its worker builds the view
        assert cluster.metrics("w1")["callister_edge_frames_sent_total"] == 0
        n = len(a.frames)
        b = V2Client(cluster, http, "few-b", gateway=g)
        await b.connect()
        await until(lambda: seated(g, a) and seated(g, b), 10, "both views at the gateway")
        await until(lambda: resyncs(a, n), 10, "a fresh view for a, from the gateway")
        assert cluster.metrics("w1")["callister_edge_frames_sent_total"] > 0
        await b.close()
        m = len(a.updates())
        await until(lambda: len(a.updates()) >= m + 20, 10, "updates after b left")
        assert seated(g, a)  # 1 player left, not below half of 2: no flapping
        assert not a.misfits and not a.errors(), (a.misfits, a.errors())
        await a.close()
