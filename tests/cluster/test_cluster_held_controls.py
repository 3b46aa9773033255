"""Held controls across a hand-off to another worker, with real processes (a real gateway
process; the worker whose step of the hand-off is slowed runs in the test's own process).

A client sends its controls only when they change; the ship holds them. Controls changed while
the ship is handed to another worker used to be lost (dropped by the gateway while it
re-attached the session, or sent to the source worker the ship had already left), and the
ship arrived without them. The gateway now sends the latest controls again to the worker it
attaches to: the ship thrusts on arrival as the player holds it to, and nobody hears an error.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import aiohttp
import pytest
from tests.cluster._support import NatsServer, add_worker, ready, start_worker_and_gateway
from tests.cluster.test_cluster_missions import in_process_worker
from tests.cluster.test_cluster_ops import until
from tests.server.wsclient import capture

from callister.bots.client import Bot
from callister.cluster import outbox
from callister.cluster.procs import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WORLD = "infinity"


async def undocked(cluster: Cluster, http: aiohttp.ClientSession, name: str) -> Bot:
    """A v1 player (held binary controls of v2: tests/cluster/test_cluster_v2.py)."""
    g = cluster.procs["g1"]
    bot = Bot(g.url, g.ws, name, session=http, jump_every_s=0)
    await bot.register()
    await bot.connect()
    await bot.send({"t": "undock", "ship": bot.ship})
    await until(lambda: not bot.docked, 10, "undocked", bot)
    return bot


async def jump(bot: Bot) -> tuple[tuple[int, int], str]:
    assert bot.system is not None
    home = (bot.system["x"], bot.system["y"])
    to = bot.system["links"][0]
    await bot.send({"t": "jump", "ship": bot.ship, "to": to})
    return home, f"{WORLD}.{to[0]}.{to[1]}"


async def thrust(bot: Bot) -> None:
    await bot.send({"t": "input", "ship": bot.ship, "thrust": 1.0, "turn": 0.0, "brake": False})


async def arrives_thrusting(bot: Bot, home: tuple[int, int], seen: list[dict[str, Any]]) -> None:
    """The client hears it arrived, then sees its ship (at rest on arrival) fly off ahead."""
    await until(lambda: bot.stats.jumps >= 1, 30, "the arrived event", bot)
    assert bot.system is not None and (bot.system["x"], bot.system["y"]) != home
    snaps = bot.stats.snapshots
    await until(lambda: bot.stats.snapshots > snaps + 2, 10, "snapshots there", bot)
    start = bot.pos
    await bot.pump(2.0)
    moved = math.dist(start, bot.pos)
    assert moved > 20.0, f"the ship moved {moved:.1f} m in 2 s: not thrusting"
    errors = [m for m in seen if m["t"] == "error"]
    assert not errors, errors


async def test_controls_changed_while_the_gateway_re_attaches_are_held_on_arrival(
    cluster: Cluster, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The destination worker (in this process) holds the gateway's attach back: the client
    presses thrust meanwhile (the gateway drops what the client sends while it re-attaches);
    once attached, the ship thrusts there."""
    await start_worker_and_gateway(cluster)
    async with aiohttp.ClientSession() as http:
        bot = await undocked(cluster, http, "holder1")
        async with in_process_worker(cluster, nats_server, "w2") as w2:
            asked, release = asyncio.Event(), asyncio.Event()
            settled = w2._settled

            async def held_back(zone: str) -> bool:
                if not asked.is_set():  # the session's attach, following its ship
                    asked.set()
                    await asyncio.wait_for(release.wait(), 10)
                return await settled(zone)

            monkeypatch.setattr(w2, "_settled", held_back)
            seen = capture(bot)
            home, zone = await jump(bot)
            await until(asked.is_set, 30, "the gateway attaching to w2", bot)
            await thrust(bot)
            await bot.pump(0.3)  # the gateway has it, while attaching
            release.set()
            await arrives_thrusting(bot, home, seen)
            assert zone in w2.world.zones, "the jump should cross to the worker in this process"
            pilot = next(iter(w2.world.pilots.values()))
            state = w2.world.ship_state(pilot)
            assert state is not None and math.hypot(state.vx, state.vy) > 10.0, state
            await bot.close()


async def test_controls_sent_to_the_source_while_the_ship_departs_are_held_on_arrival(
    cluster: Cluster, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The source worker (in this process) holds the ship's departure back: the ship has left
    its zone but the session is still there, so the thrust the client presses goes to the
    source, which has nothing to steer (ignored, no error); on the destination worker (a
    process) the ship thrusts."""
    cluster.start("gateway", "g1")
    await ready(cluster, "g1")
    async with aiohttp.ClientSession() as http, in_process_worker(cluster, nats_server, "w1") as w1:
        bot = await undocked(cluster, http, "departer1")
        await add_worker(cluster, "w2", workers=2)  # the emptier: the next system goes there
        departing, release = asyncio.Event(), asyncio.Event()
        handoff_db = w1.handoff_db

        async def held_back(fn: Any, *args: Any, **kwargs: Any) -> Any:
            if fn is outbox.depart:
                departing.set()
                await asyncio.wait_for(release.wait(), 10)
            return await handoff_db(fn, *args, **kwargs)

        monkeypatch.setattr(w1, "handoff_db", held_back)
        seen = capture(bot)
        home, zone = await jump(bot)
        await until(departing.is_set, 30, "the ship departing w1", bot)
        await thrust(bot)
        await bot.pump(0.3)  # w1 has it: the ship is between systems there
        release.set()
        await arrives_thrusting(bot, home, seen)
        assert zone in cluster.health("w2")["zones"], "the jump should cross to w2"
        await bot.close()
