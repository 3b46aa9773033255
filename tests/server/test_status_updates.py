"""The status message over a real socket: sent when what it shows changes, and only then.

The fan-out builds a status only where a ship's status mark, credits, hold, hull, objective or
system moved (server/fanout.py `_statuses`); these tests check the player still hears every
change, and never a status that changes nothing."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import aiohttp
from tests.conftest import LiveServer
from tests.server.wsclient import buy_cheapest, player, pump_until, record, undock


def _changes(statuses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What each status changed of the one the client had (merging deltas as clients do)."""
    have: dict[str, Any] = {}
    out = []
    for msg in statuses:
        fields = {k: v for k, v in msg.items() if k not in ("t", "delta")}
        if not msg.get("delta"):
            have = {}
        out.append({k: v for k, v in fields.items() if have.get(k, object()) != v})
        have.update(fields)
    return out


async def test_trading_locking_and_flying_each_reach_the_status_and_nothing_else_does(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    bot = await player(live, http, "Bookkeeper")
    seen = record(bot, "status")
    await pump_until([bot], lambda: bot.status is not None)
    credits = bot.status["credits"]  # type: ignore[index]

    item = await buy_cheapest(bot, 2)  # credits and hold change while docked
    await pump_until(
        [bot],
        lambda: (
            bot.status["cargo"].get(item["key"]) == 2  # type: ignore[index]
            and bot.status["credits"] < credits
        ),  # type: ignore[index]
    )

    # both docked (nothing else moves): locking and letting go must each reach the status
    other = await player(live, http, "Neighbour")
    await bot.send({"t": "target", "ship": bot.ship, "target": other.ship})
    await pump_until(
        [bot, other],
        lambda: (bot.status.get("target") or {}).get("id") == other.ship,  # type: ignore[union-attr]
    )
    await bot.send({"t": "target", "ship": bot.ship, "target": None})  # let go of it
    await pump_until([bot, other], lambda: bot.status.get("target") is None)  # type: ignore[union-attr]

    await undock(bot, other)
    # flying, then braking: a status only when something it shows moves (fuel burns)
    start = bot.pos
    await bot.send({"t": "input", "ship": bot.ship, "thrust": 1.0, "turn": 0.0, "brake": False})
    await pump_until([bot, other], lambda: math.dist(bot.pos, start) > 30)
    before = len(seen["status"])
    await bot.send({"t": "input", "ship": bot.ship, "thrust": 0.0, "turn": 0.0, "brake": True})
    await asyncio.gather(bot.pump(2.0), other.pump(2.0))
    assert len(seen["status"]) - before <= 12  # 5 a second would be 10 in 2 s, plus a few

    # a creeping change held back still arrives: the client's fuel is the ship's, rounded
    world = live.services.world
    pilot = world.pilots[bot.welcome["account"]]

    def fuel_shown() -> bool:
        state = world.ship_state(pilot)
        return state is not None and bot.status["fuel"] == round(state.fuel or 0.0)  # type: ignore[index]

    await pump_until([bot, other], fuel_shown, timeout=10)

    changes = _changes(seen["status"])
    assert all(changes), [c for c in changes if not c]  # every status changed something
    assert not bot.stats.error_codes


async def test_a_ship_that_just_flies_builds_a_status_only_when_one_is_due(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    """Fuel burning by whole units changes the status mark at every status turn; the change
    is held back for SLOW_STATUS_EVERY ticks (it creeps), and building the status at every
    turn only to hold it back was half the status work of a crowd (`callister bench crowd`)."""
    fanout = live.services.gateway.fanout
    bot = await player(live, http, "Cruiser")
    other = await player(live, http, "Watcher")
    seen = record(bot, "status")
    await pump_until([bot], lambda: bot.status is not None)
    await undock(bot, other)
    built: list[int] = []
    real = fanout._status

    def counted(msg: Any, zone: Any, session: Any, pilot: Any) -> int | None:
        if session.account.id == bot.welcome["account"]:
            built.append(msg.tick)
        return real(msg, zone, session, pilot)

    fanout._status = counted  # (counts the builds; the real one runs)
    try:
        await bot.send({"t": "input", "ship": bot.ship, "thrust": 1.0, "turn": 0.3, "brake": False})
        before = len(seen["status"])
        await asyncio.gather(bot.pump(6.0), other.pump(6.0))
    finally:
        del fanout._status
    sent = len(seen["status"]) - before
    assert sent >= 2  # the fuel burned: the client heard it (every SLOW_STATUS_EVERY ticks)
    assert len(built) <= sent + 3, (built, sent)  # and nothing was built only to be held back
    assert all(_changes(seen["status"]))
