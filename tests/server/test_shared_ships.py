"""Shared ships on a real server: three real WebSocket clients crew one ship (pilot, gunner,
engineer); each one's intents act only on their own station, and an intent for a station one
does not hold is refused NOT_YOUR_STATION."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from callister.bots.client import Bot

from ..conftest import LiveServer
from .wsclient import player, pump_until, record


def zone_of(live: LiveServer, ship: int) -> Any:
    world = live.services.world
    pilot = world.pilots[world.ship_owner[ship]]
    return world.zones[pilot.zone_key].zone


async def board(
    cap: Bot, guest: Bot, seen: dict[str, list[dict[str, Any]]], bots: list[Bot]
) -> str:
    """The captain invites, the guest boards; returns the guest's station."""
    await cap.send({"t": "invite_aboard", "ship": cap.ship, "name": guest.name})
    await pump_until(bots, lambda: any(m["ship"] == cap.ship for m in seen["invite"]))
    await guest.send({"t": "board", "ship": cap.ship})
    await pump_until(bots, lambda: any(m.get("station") for m in seen["aboard"]))
    return str(seen["aboard"][-1]["station"])


async def refused_code(bots: list[Bot], bot: Bot, ref: str) -> str:
    bot.refused.pop(ref, None)
    await pump_until(bots, lambda: ref in bot.refused)
    return bot.refused[ref]


async def test_three_players_crew_one_ship_each_on_their_station(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    cap = await player(live, http, "Cap")
    pia = await player(live, http, "Pia")
    gus = await player(live, http, "Gus")
    bots = [cap, pia, gus]
    seen_cap = record(cap, "aboard", "chat")
    seen_pia = record(pia, "invite", "aboard", "chat")
    seen_gus = record(gus, "invite", "aboard", "chat")
    world = live.services.world
    ship = cap.ship

    # -- aboard: guests never take the helm on boarding (issue 16), the captain hands it over;
    # then Pia flies, Gus shoots, and the captain keeps the empty engineer's station
    assert await board(cap, pia, seen_pia, bots) == "gunner"
    assert await board(cap, gus, seen_gus, bots) == "engineer"
    for bot, seen, station in ((pia, seen_pia, "pilot"), (gus, seen_gus, "gunner")):
        member = bot.welcome["account"]
        await cap.send({"t": "assign", "ship": ship, "member": member, "station": station})
        await pump_until(bots, lambda s=seen, st=station: s["aboard"][-1]["station"] == st)
    await pump_until(bots, lambda: len(seen_cap["aboard"][-1]["members"]) == 3)
    aboard = {m["name"]: (m["kind"], m["station"]) for m in seen_cap["aboard"][-1]["members"]}
    assert aboard == {
        "Cap": ("captain", None),
        "Pia": ("human", "pilot"),
        "Gus": ("human", "gunner"),
    }
    # the members' own ships wait docked at the station; their sessions view Cap's ship
    for bot in (pia, gus):
        assert world.ship_state(world.pilots[int(bot.welcome["account"])]).docked_at is not None
    await pump_until(bots, lambda: bool(pia.status) and pia.status.get("ship") == ship)
    await pump_until(bots, lambda: pia.status.get("station") == "pilot")
    await pump_until(bots, lambda: any(int(r["id"]) == ship for r in gus.view))

    # -- the pilot undocks and flies; the gunner and the captain may not
    await pia.send({"t": "undock", "ship": ship})
    zone = zone_of(live, ship)
    await pump_until(bots, lambda: zone.ship_state(ship).docked_at is None)
    await pia.send({"t": "input", "ship": ship, "thrust": 1.0, "turn": 0.0})
    await pump_until(bots, lambda: zone.store.thrust.item(zone.store.row(ship)) == 1.0)
    await pia.send({"t": "input", "ship": ship, "thrust": 0.0, "turn": 0.0, "brake": True})
    await pump_until(bots, lambda: zone.store.thrust.item(zone.store.row(ship)) == 0.0)
    await gus.send({"t": "input", "ship": ship, "thrust": 1.0, "turn": 1.0})
    assert await refused_code(bots, gus, "input") == "NOT_YOUR_STATION"
    await cap.send({"t": "input", "ship": ship, "thrust": 1.0, "turn": 1.0})
    assert await refused_code(bots, cap, "input") == "NOT_YOUR_STATION"
    row = zone.store.row(ship)
    assert zone.store.thrust.item(row) == 0.0 and zone.store.turn.item(row) == 0.0

    # -- the engineer (the captain, holding the empty station) moves power; the pilot may not
    accel = zone.store.accel.item(row)
    await pia.send({"t": "power", "ship": ship, "engines": 1, "weapons": 0, "shields": 0})
    assert await refused_code(bots, pia, "power") == "NOT_YOUR_STATION"
    assert zone.power_of(ship) == (1.0, 1.0, 1.0)
    await cap.send({"t": "power", "ship": ship, "engines": 0, "weapons": 0, "shields": 1})
    await pump_until(bots, lambda: zone.power_of(ship) != (1.0, 1.0, 1.0))
    assert zone.power_of(ship) == pytest.approx((0.5, 0.5, 2.0))
    assert zone.store.accel.item(zone.store.row(ship)) == pytest.approx(accel * 0.5, rel=1e-5)

    # -- the gunner fires the ship's laser; the pilot may not
    laser = next(w["slot"] for w in pia.status["weapons"] if w["kind"] == "hitscan")
    await pia.send({"t": "fire", "ship": ship, "slot": laser, "target": None})
    assert await refused_code(bots, pia, "fire") == "NOT_YOUR_STATION"
    await gus.send({"t": "fire", "ship": ship, "slot": laser, "target": None})
    await pump_until(bots, lambda: any(f.get("ship") == ship for f in gus.fx))
    assert any(f["k"] == "beam" and f["ship"] == ship for f in cap.fx + gus.fx)
    # nobody's intents touched another station: the controls are still the pilot's last
    assert zone.store.thrust.item(zone.store.row(ship)) == 0.0

    # -- ship chat: a member speaks, everyone aboard hears it
    await gus.send({"t": "crew_chat", "ship": ship, "text": "target destroyed, nearly"})
    heard: Callable[[dict[str, list[dict[str, Any]]]], bool] = lambda seen: any(  # noqa: E731
        m["text"] == "target destroyed, nearly" and m["from"] == "Gus" for m in seen["chat"]
    )
    await pump_until(bots, lambda: heard(seen_cap) and heard(seen_pia) and heard(seen_gus))

    # -- the captain reassigns: Pia and Gus swap stations, and the rule follows
    await cap.send(
        {"t": "assign", "ship": ship, "member": str(pia.welcome["account"]), "station": "gunner"}
    )
    await pump_until(bots, lambda: seen_pia["aboard"][-1]["station"] == "gunner")
    assert zone.stations_of(ship) == {
        "gunner": int(pia.welcome["account"]),
        "pilot": int(gus.welcome["account"]),
    }
    await pia.send({"t": "input", "ship": ship, "thrust": 1.0, "turn": 0.0})
    assert await refused_code(bots, pia, "input") == "NOT_YOUR_STATION"

    # -- a member leaves: back to their own ship, where it waited
    await gus.send({"t": "leave_ship", "ship": ship})
    await pump_until(bots, lambda: seen_gus["aboard"][-1]["ship"] is None)
    await pump_until(bots, lambda: bool(gus.status) and gus.status.get("ship") == gus.ship)
    assert "station" not in gus.status
    assert zone.stations_of(ship) == {"gunner": int(pia.welcome["account"])}
    await gus.send({"t": "input", "ship": ship, "thrust": 1.0, "turn": 0.0})
    await pump_until(bots, lambda: gus.refused.get("input") is not None)


async def test_shared_ship_requests_that_are_refused(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    cap = await player(live, http, "Cap")
    pia = await player(live, http, "Pia")
    bots = [cap, pia]
    seen = record(pia, "invite", "aboard")
    cases = [
        (cap, {"t": "invite_aboard", "ship": cap.ship, "name": "nobody_here"}, "NOT_AVAILABLE"),
        (cap, {"t": "invite_aboard", "ship": cap.ship, "name": "Cap"}, "BAD_FIELD"),
        (cap, {"t": "invite_aboard", "ship": pia.ship, "name": "Pia"}, "NOT_YOUR_SHIP"),
        (cap, {"t": "invite_aboard", "ship": cap.ship, "name": ""}, "BAD_FIELD"),
        (pia, {"t": "board", "ship": cap.ship}, "NOT_AVAILABLE"),  # not invited
        (pia, {"t": "leave_ship", "ship": cap.ship}, "NOT_AVAILABLE"),  # not aboard
        (cap, {"t": "assign", "ship": cap.ship, "member": "7", "station": "cook"}, "BAD_FIELD"),
        (cap, {"t": "assign", "ship": cap.ship, "member": "777", "station": "pilot"}, "BAD_FIELD"),
        (cap, {"t": "power", "ship": cap.ship, "engines": 2}, "BAD_NUMBER"),
        (cap, {"t": "power", "ship": cap.ship, "engines": "x"}, "BAD_FIELD"),
        (cap, {"t": "board_attack", "ship": cap.ship, "target": cap.ship}, "NO_TARGET"),
        (cap, {"t": "board_attack", "ship": pia.ship, "target": cap.ship}, "NOT_YOUR_SHIP"),
        (cap, {"t": "board_attack", "ship": cap.ship, "target": pia.ship}, "DOCKED"),
    ]
    for bot, msg, code in cases:
        bot.stats.error_codes.clear()
        await bot.send(msg)
        await pump_until(bots, lambda b=bot, c=code: c in b.stats.error_codes)
        assert list(bot.stats.error_codes) == [code], (msg, bot.stats.error_codes)
    # a member may not trade or command the crew from another's ship
    await cap.send({"t": "invite_aboard", "ship": cap.ship, "name": "Pia"})
    await pump_until(bots, lambda: bool(seen["invite"]))
    await pia.send({"t": "board", "ship": cap.ship})
    await pump_until(bots, lambda: bool(seen["aboard"]) and seen["aboard"][-1]["station"])
    for msg, code in [
        ({"t": "market", "ship": cap.ship}, "NOT_AVAILABLE"),
        ({"t": "dismiss", "ship": cap.ship, "crew": "5"}, "NOT_YOUR_SHIP"),
        ({"t": "board", "ship": cap.ship}, "NOT_AVAILABLE"),
        ({"t": "input", "ship": pia.ship, "thrust": 1}, "NOT_YOUR_SHIP"),  # own ship: parked
    ]:
        pia.stats.error_codes.clear()
        await pia.send(msg)
        await pump_until(bots, lambda c=code: c in pia.stats.error_codes)
        assert list(pia.stats.error_codes) == [code], msg


async def test_a_guest_aboard_leaves_the_captain_at_the_helm(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    """Issue 16: inviting a friend aboard must not hand them the helm. The guest takes a free
    station other than the pilot's; the captain keeps flying (undock, thrust) and the guest's
    flight controls are refused until the captain assigns them the pilot's station."""
    cap = await player(live, http, "Cap")
    gia = await player(live, http, "Gia")
    bots = [cap, gia]
    seen = record(gia, "invite", "aboard")
    ship = cap.ship
    station = await board(cap, gia, seen, bots)
    assert station != "pilot"
    zone = zone_of(live, ship)
    assert "pilot" not in zone.stations_of(ship)  # the empty helm is the captain's
    # the captain still undocks and flies their own ship
    await cap.send({"t": "undock", "ship": ship})
    await pump_until(bots, lambda: zone.ship_state(ship).docked_at is None)
    await cap.send({"t": "input", "ship": ship, "thrust": 1.0, "turn": 0.0})
    await pump_until(bots, lambda: zone.store.thrust.item(zone.store.row(ship)) == 1.0)
    # the guest's flight controls and autopilot are refused, and change nothing
    await gia.send({"t": "input", "ship": ship, "thrust": 0.0, "turn": 1.0, "brake": True})
    assert await refused_code(bots, gia, "input") == "NOT_YOUR_STATION"
    await gia.send({"t": "autopilot", "ship": ship, "to": {"kind": "station", "index": 0}})
    assert await refused_code(bots, gia, "autopilot") == "NOT_YOUR_STATION"
    assert zone.store.thrust.item(zone.store.row(ship)) == 1.0
    # once the captain assigns the helm, the guest flies and the captain may not
    await cap.send(
        {"t": "assign", "ship": ship, "member": gia.welcome["account"], "station": "pilot"}
    )
    await pump_until(bots, lambda: seen["aboard"][-1]["station"] == "pilot")
    await gia.send({"t": "input", "ship": ship, "thrust": 0.0, "turn": 0.0, "brake": True})
    await pump_until(bots, lambda: zone.store.thrust.item(zone.store.row(ship)) == 0.0)
    await cap.send({"t": "input", "ship": ship, "thrust": 1.0, "turn": 0.0})
    assert await refused_code(bots, cap, "input") == "NOT_YOUR_STATION"
