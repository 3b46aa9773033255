"""What the fan-out tells a player of the zone's refusals (server/fanout.py `_route_event`)."""

from __future__ import annotations

import aiohttp
from tests.conftest import LiveServer
from tests.server.wsclient import player, pump_until, record

from callister.protocol.errors import ErrorCode
from callister.sim.events import Refused


async def test_held_controls_that_raced_the_ship_out_of_its_zone_are_not_an_error(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    """An `input` that reaches a zone just as the ship left it (a jump landed) is refused
    UNKNOWN_SHIP by the zone: nothing the player can act on (the client sends its held
    controls again), so no error reaches them. Every other refusal still does."""
    bot = await player(live, http, "Racer")
    seen = record(bot, "error")
    await pump_until([bot], lambda: bot.status is not None)
    fanout = live.services.gateway.fanout
    account, ship = bot.welcome["account"], bot.ship
    left = f"ship {ship} left this zone"
    fanout._route_event(Refused(account, ship, "input", ErrorCode.UNKNOWN_SHIP, left, False))
    fanout._route_event(Refused(account, ship, "jump", ErrorCode.UNKNOWN_SHIP, left, False))
    await pump_until([bot], lambda: len(seen["error"]) >= 1)
    await bot.pump(0.3)
    assert [(e["code"], e.get("ref")) for e in seen["error"]] == [("UNKNOWN_SHIP", "jump")]
    assert bot.stats.error_codes == {"UNKNOWN_SHIP": 1}
