"""A mined-down asteroid field is a universe delta: it survives the zone being unloaded (or the
server restarting) and regrows slowly, also for the time nobody was there."""

from __future__ import annotations

import aiohttp
from tests.conftest import LiveServer
from tests.server.wsclient import player

from callister.sim import FieldChanged
from callister.sim.rules import REGROW_TICKS


async def test_depletion_is_kept_and_regrows(live: LiveServer, http: aiohttp.ClientSession) -> None:
    bot = await player(live, http, "Digger")
    world = live.services.world
    handle = next(iter(world.zones.values()))
    x, y = handle.sector
    field = handle.system.fields[0]
    assert field.richness > 10
    # the zone reports a field mined down to 3 (as its mining stage does); the zone keeps
    # ticking while the delta is written, so the tick it records is the one at the report
    reported_at = handle.zone.tick
    world.outcomes.handle(handle, [FieldChanged(field=field.index, richness=3)])
    deltas = await world.writer.call(world.store.characters.get_deltas, world.name, x, y)
    assert deltas[f"field.{field.index}.richness"] == 3
    assert deltas[f"field.{field.index}.tick"] == reported_at

    # loaded again (after an unload or a restart): still mined down
    again = await world._load_zone(handle.key, x, y)
    assert again.zone.field_richness(field.index) == 3

    # five regrowth periods later, five points have come back, and no more than the base
    world.tick += 5 * REGROW_TICKS
    later = await world._load_zone(handle.key, x, y)
    events = later.zone.step()  # the first tick catches up the time the field sat unloaded
    assert FieldChanged(field=field.index, richness=8) in events
    assert later.zone.field_richness(field.index) == min(field.richness, 3 + 5)
    await bot.close()
