"""Real server on loopback, real WebSocket clients: seeing each other, docking, jumping,
reconnecting."""

from __future__ import annotations

import math

import aiohttp
from tests.conftest import LiveServer
from tests.server.wsclient import close_code, player, pump_until, undock


async def test_players_see_each_other_move(live: LiveServer, http: aiohttp.ClientSession) -> None:
    a = await player(live, http, "Ann")
    b = await player(live, http, "Ben")
    c = await player(live, http, "Cid")
    await undock(a, b, c)
    await a.send({"t": "input", "ship": a.ship, "thrust": 1.0, "turn": 0.3})
    await pump_until([a, b, c], lambda: a.ship in b.positions() and a.ship in c.positions())
    start = b.positions()[a.ship]
    await pump_until([a, b, c], lambda: math.dist(b.positions()[a.ship], start) > 20.0)
    # names arrive with the entities, and B's view of A agrees with A's own
    assert b.names[a.ship] == "Ann" and c.names[a.ship] == "Ann"
    assert math.dist(b.positions()[a.ship], a.positions()[a.ship]) < 200.0
    for bot in (a, b, c):
        await bot.close()


async def test_dock_undock_and_jump(live: LiveServer, http: aiohttp.ClientSession) -> None:
    a = await player(live, http, "Dora")
    assert a.docked
    await undock(a)
    # the undock lane leaves the docking range: the autopilot brings the ship back
    home = a.welcome["home_station"]
    await a.send({"t": "autopilot", "ship": a.ship, "to": {"kind": "station", "index": home}})
    await pump_until([a], lambda: any(e["kind"] == "autopilot_arrived" for e in a.events))
    await a.send({"t": "dock", "ship": a.ship})
    await pump_until([a], lambda: a.docked)
    await undock(a)
    assert a.system is not None
    origin = (a.system["x"], a.system["y"])
    target = a.system["links"][0]
    await a.send({"t": "jump", "ship": a.ship, "to": target})
    await pump_until([a], lambda: a.stats.jumps == 1, timeout=15)  # the "arrived" event
    assert a.system is not None and [a.system["x"], a.system["y"]] == target
    # the ship arrives inside the new system, by the gate of the link back
    await pump_until([a], lambda: a.ship in a.positions())
    x, y = a.positions()[a.ship]
    assert math.hypot(x, y) < a.system["radius"]
    back = next(g for g in a.gates if g["to"] == [origin[0], origin[1]])
    assert math.hypot(x - back["x"], y - back["y"]) < 300
    assert [origin[0], origin[1]] in a.system["links"]
    await a.close()


async def test_refusals_come_back_as_errors(live: LiveServer, http: aiohttp.ClientSession) -> None:
    a = await player(live, http, "Eli")
    await undock(a)
    await a.send({"t": "undock", "ship": a.ship})
    await pump_until([a], lambda: a.stats.error_codes.get("NOT_DOCKED", 0) == 1)
    await a.send({"t": "jump", "ship": a.ship, "to": ["123456789", "987654321"]})
    await pump_until([a], lambda: a.stats.error_codes.get("NO_SUCH_LINK", 0) == 1)
    await a.close()


async def test_reconnect_within_grace_resumes_the_ship(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    a = await player(live, http, "Fay")
    await undock(a)
    await a.send({"t": "input", "ship": a.ship, "thrust": 1.0, "turn": 0.0})
    await a.pump(1.0)
    await a.send({"t": "input", "ship": a.ship, "thrust": 0.0, "turn": 0.0, "brake": True})
    await a.pump(1.5)
    ship, where = a.ship, a.pos
    await a.close()
    await a.connect()  # same token, within the grace period
    await pump_until([a], lambda: a.ship in a.positions())
    assert a.ship == ship
    assert not a.docked
    assert math.dist(a.positions()[a.ship], where) < 100.0
    await a.close()


async def test_new_connection_replaces_the_old(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    a = await player(live, http, "Gus")
    old = a.ws
    await a.connect()
    assert old is not None
    assert await close_code(old) == 4409
    await pump_until([a], lambda: a.ship in a.positions())
    await a.close()
