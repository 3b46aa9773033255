"""The world runtime: empty zones sleep and unload, generation runs ahead of jumps, ids come in
never-reused blocks, new players get a home with a station."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from tests.conftest import LiveServer, make_settings, running
from tests.server.wsclient import player, pump_until, undock
from tests.waiting import until


async def test_neighbours_are_generated_before_anyone_jumps(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    a = await player(live, http, "Scout")
    world = live.services.world
    assert a.system is not None
    links = [(int(x), int(y)) for x, y in a.system["links"]]
    # the generator process works in the background
    await until(lambda: all(world.universe.cached(*xy) for xy in links), "neighbours generated")
    waited = world.universe.waited
    await undock(a)
    await a.send({"t": "jump", "ship": a.ship, "to": a.system["links"][0]})
    await pump_until([a], lambda: a.stats.jumps == 1, timeout=10)
    assert world.universe.waited == waited, "the jump had to wait for the generator"
    await a.close()


async def test_empty_zone_sleeps_then_unloads(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with running(make_settings(tmp_path, zone_unload_s=1.0, reconnect_grace_s=0.0)) as live:
        a = await player(live, http, "Lonely")
        world = live.services.world
        key = next(iter(world.zones))
        zone = world.zones[key].zone
        handle = world.zones[key]
        await pump_until([a], lambda: zone.tick > 0)
        await a.close()
        # grace 0: the ship leaves the world; the next tick finds the zone empty and skips it
        await until(lambda: handle.empty_since is not None, "the zone asleep")
        asleep_at = zone.tick
        await until(lambda: key not in world.zones, "the empty zone unloaded")
        assert zone.tick == asleep_at, "an empty zone was stepped"


async def test_ids_come_from_the_store_in_blocks(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    a = await player(live, http, "First")
    b = await player(live, http, "Second")
    assert b.ship == a.ship + 1
    store = live.services.store
    # the store's counter is past the whole block, so a restart cannot hand these out again
    assert store.characters.reserve_ids(1)[0] > b.ship + 500
    await a.close()
    await b.close()


async def test_home_systems_have_stations_and_links(live: LiveServer) -> None:
    world = live.services.world
    for x, y, station in world.homes:
        system = world.universe.peek(x, y)
        assert system is not None and system.links
        assert system.stations[station].index == station
