"""The bench-only spawn (setting `bench_spawn`, server/bench_spawn.py): off by default; on, it
puts connected players' ships in one disc of open space in one system and an observer in
another, and refuses every bad request with a clear code."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from tests.conftest import LiveServer, make_settings, start_live
from tests.server.test_protocol_v2 import V2, connect, register
from tests.waiting import until


@pytest.fixture
async def spawning(tmp_path: Path) -> AsyncIterator[LiveServer]:
    server = await start_live(make_settings(tmp_path, home_systems=2, bench_spawn=True))
    try:
        yield server
    finally:
        await server.server.close()


async def test_off_by_default(live: LiveServer, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{live.http}/api/bench/place", json={"ships": [], "radius": 1}) as r:
        assert r.status == 404


async def test_places_a_crowd_in_one_disc_and_an_observer_elsewhere(
    spawning: LiveServer, http: aiohttp.ClientSession
) -> None:
    live = spawning
    clients = []
    for i in range(5):
        ws, welcome = await connect(live, http, await register(live, http, f"crowd-{i}"))
        clients.append(V2(ws, welcome))
    crowd, observer = clients[:4], clients[4]
    body = {"ships": [c.ship for c in crowd], "radius": 800.0, "seed": 3, "observer": observer.ship}
    async with http.post(f"{live.http}/api/bench/place", json=body) as r:
        assert r.status == 200, await r.text()
        placed = await r.json()
    assert placed["placed"] == 4 and placed["observer_sector"] != placed["sector"]
    world = live.services.world
    cx, cy = placed["centre"]
    keys = {world.pilots[world.ship_owner[c.ship]].zone_key for c in crowd}
    assert len(keys) == 1
    (key,) = keys
    assert key.endswith(f".{placed['sector'][0]}.{placed['sector'][1]}")
    zone = world.zones[key].zone
    for c in crowd:
        state = zone.ship_state(c.ship)
        assert state.docked_at is None and math.hypot(state.x - cx, state.y - cy) <= 800.0 + 1
    obs_key = world.pilots[world.ship_owner[observer.ship]].zone_key
    assert obs_key != key
    # every crowd client now sees the others: its view was rebuilt in the new system (RESYNC)
    for c in crowd:
        await until(
            lambda c=c: {o.ship for o in crowd} <= set(c.view.entities), "the crowd in view"
        )
        assert any(m.get("t") == "system" for m in c.json[1:])
    assert observer.view.entities.keys().isdisjoint({c.ship for c in crowd} - {observer.ship})
    for c in clients:
        await c.close()


async def test_refuses_bad_requests(spawning: LiveServer, http: aiohttp.ClientSession) -> None:
    live = spawning
    ws, welcome = await connect(live, http, await register(live, http, "lonely"))
    c = V2(ws, welcome)
    cases = [
        ({"ships": "all", "radius": 10}, 400, "BAD_FIELD"),
        ({"ships": [c.ship], "radius": -1}, 400, "BAD_FIELD"),
        ({"ships": [c.ship, c.ship], "radius": 10}, 400, "BAD_FIELD"),
        ({"ships": [c.ship], "radius": 10, "seed": "x"}, 400, "BAD_FIELD"),
        ({"ships": [c.ship], "radius": 10, "sector": "here"}, 400, "BAD_FIELD"),
        ({"ships": [c.ship], "radius": 10, "observer": c.ship}, 400, "BAD_FIELD"),
        ({"ships": [987654321], "radius": 10}, 404, "NOT_FOUND"),
    ]
    for body, status, code in cases:
        async with http.post(f"{live.http}/api/bench/place", json=body) as r:
            assert r.status == status, body
            assert (await r.json())["error"]["code"] == code, body
    async with http.post(
        f"{live.http}/api/bench/place", json={"ships": [c.ship], "radius": 10},
        headers={"X-Forwarded-For": "10.1.1.1"},
    ) as r:  # fmt: skip
        assert r.status == 403 and (await r.json())["error"]["code"] == "FORBIDDEN"
    await c.close()
