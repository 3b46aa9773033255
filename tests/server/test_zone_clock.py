"""Every zone keeps its own time (issue 17): a system whose steps take longer than a tick falls
behind its own schedule (time dilation) without holding the others back, and /healthz?zone=
reports each system's own clock."""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
from tests.conftest import LiveServer, live_server
from tests.server.test_protocol_v2 import V2, connect, register
from tests.waiting import until

two_homes = live_server(home_systems=2)


async def test_a_slow_zone_does_not_slow_another(
    two_homes: LiveServer, http: aiohttp.ClientSession
) -> None:
    live = two_homes
    clients = []
    for name in ("crowded", "quiet"):  # accounts 1 and 2 start in different home systems
        ws, welcome = await connect(live, http, await register(live, http, name))
        clients.append(V2(ws, welcome))
    world = live.services.world
    await until(lambda: len(world.zones) == 2, "two systems loaded")
    slow, quiet = (world.zones[world.pilots[a].zone_key] for a in (1, 2))  # type: ignore[index]
    assert slow is not quiet
    step = slow.zone.step

    def overloaded() -> Any:  # a crowded system: every step takes three ticks' time
        time.sleep(0.15)
        return step()

    slow.zone.step = overloaded  # type: ignore[method-assign]
    slow0, quiet0 = slow.zone.tick, quiet.zone.tick
    await until(lambda: slow.zone.tick >= slow0 + 12, "twelve slow steps")
    slow_steps, quiet_steps = slow.zone.tick - slow0, quiet.zone.tick - quiet0
    # in lockstep the quiet zone would have stepped as often as the slow one; on its own clock
    # it keeps its 20 Hz (each slow step is 150 ms: three of the quiet zone's ticks)
    assert quiet_steps >= 2 * slow_steps, (quiet_steps, slow_steps)
    assert slow.overruns > 0  # the slow one dropped its backlog: it runs dilated
    # each system's own clock, as /healthz reports it
    async with http.get(f"{live.http}/healthz?zone={quiet.sector[0]}:{quiet.sector[1]}") as r:
        zone = (await r.json())["zone"]
    assert zone["key"] == quiet.key and zone["tick_hz"] > 0 and zone["tick_ms"]["p50"] > 0
    async with http.get(f"{live.http}/healthz?zone=nowhere") as r:
        assert r.status == 400 and (await r.json())["error"]["code"] == "BAD_FIELD"
    async with http.get(f"{live.http}/healthz?zone=123456:654321") as r:
        assert (await r.json())["zone"] is None
    slow.zone.step = step  # type: ignore[method-assign]
    for c in clients:
        await c.close()
    assert json.dumps(zone)
