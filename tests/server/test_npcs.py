"""NPC ships and crews on a real server (real sockets, the real tick loop and database).

The headline: an NPC pirate attacks a player's ship whose hired gunner fires back without
orders and explains itself in the ship's chat.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from callister.agents import Clone, Goal, Profile, Role, Skills
from callister.bots.client import Bot

from ..conftest import LiveServer, live_server
from .wsclient import player, record

Messages = dict[str, list[dict[str, Any]]]  # a bot's messages of some types, by type


live = live_server(starting_credits=5000)


async def pump_until(bot: Bot, cond: Callable[[], Any], timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        await bot.pump(0.05)


async def captain(live: LiveServer, http: aiohttp.ClientSession, name: str) -> tuple[Bot, Messages]:
    """A new player, and its crew-board and chat messages as they come (the Bot keeps neither)."""
    bot = await player(live, http, name)
    return bot, record(bot, "crew", "chat")


async def hire(bot: Bot, seen: Messages, role: str) -> dict[str, Any]:
    await pump_until(bot, lambda: any(m["candidates"] for m in seen["crew"]))
    cand = next(c for c in seen["crew"][-1]["candidates"] if c["role"] == role)
    receipt, refused = await bot.request({"t": "hire", "candidate": cand["id"]})
    assert refused is None and receipt is not None
    assert receipt["kind"] == "hire" and receipt["detail"]["price"] == cand["price"]
    await pump_until(bot, lambda: any(m["crew"] for m in seen["crew"]))
    return cand


async def spawn_pirate(
    live: LiveServer, pilot: Any, name: str, distance: float, skills: Skills
) -> int:
    """An NPC pirate (a clone) appears `distance` m abeam the pilot's ship, hostile to it and
    turned towards it; its ship id."""
    world = live.services.world
    handle = world.zones[pilot.zone_key]
    me = handle.zone.ship_state(pilot.character.ship_id)
    pirate = Clone.create(
        world.agents.repo.new_id(),
        Profile(name=name, traits=("ruthless", "brave"), skills=skills),
        world=world.name,
        goal=Goal.PIRATE,
        role=Role.PILOT,
    )
    pirate.relationships.of(pilot.account_id, "captain").hostile = True
    ship = await world.ids.next()
    ang = me.angle + math.pi / 2
    x, y = me.x + distance * math.cos(ang), me.y + distance * math.sin(ang)
    world.agents.spawn_npc(handle, pirate, ship, "shuttle", x, y, angle=ang + math.pi)
    return ship


async def test_pirate_attacks_and_the_gunner_defends_without_orders(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    bot, seen = await captain(live, http, "captain")
    world = live.services.world
    cand = await hire(bot, seen, "gunner")
    credits = bot.receipts[next(iter(bot.receipts))]["credits"]
    assert credits == 5000 - cand["price"]  # paid through the ledger
    crew = seen["crew"][-1]["crew"]
    assert crew[0]["name"] == cand["name"] and crew[0]["licence"] == "generated"
    # the ship's performance follows the crew: the gunner's modifier is in the message
    assert seen["crew"][-1]["modifiers"]["aim_spread"] < 1.3

    await bot.send({"t": "undock", "ship": bot.ship})
    await pump_until(bot, lambda: not bot.docked)
    await bot.pump(1.0)
    pilot = world.pilots[bot.welcome["account"]]
    # a pirate (a clone) appears 700 m away, hostile to this captain
    await spawn_pirate(live, pilot, "Rook", 700.0, Skills(0.6, 0.6, 0.3, 0.1))
    gunner = int(crew[0]["id"])

    def gunner_fired() -> bool:
        return any(
            m.get("kind") == "auto" and m.get("action") == "fire" and m["clone"] == str(gunner)
            for m in seen["chat"]
        )

    await pump_until(bot, gunner_fired, timeout=20.0)
    line = next(m for m in seen["chat"] if m.get("action") == "fire")
    assert "Rook" in line["text"] and line["from"] == cand["name"]
    # the pirate really hit us, and our ship really fired at the pirate (the player did not)
    await pump_until(
        bot,
        lambda: any(f.get("ship") == bot.ship and f.get("k") in ("beam", "shot") for f in bot.fx),
    )
    assert any(f.get("k") == "hit" and f.get("ship") == bot.ship for f in bot.fx)
    assert "fire" not in bot.refused  # no refusal of the crew's shots reached the captain
    # the crew speak as people: names, no ids or ticks, never the same line twice (issue 15)
    said = [m["text"] for m in seen["chat"] if m.get("kind") == "auto"]
    assert not any(re.search(r"#\d|\btick", t) for t in said), said
    assert len(said) == len(set(said)), said
    evidence = await world.writer.call(world.store.moderation.list_evidence, world.name)
    assert not [e for e in evidence if e.account_id == pilot.account_id]
    await bot.close()


async def test_a_ship_destroyed_by_an_npc_hears_its_name_and_id(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    """Issue 13: `destroyed.by` was null when an NPC killed you; now it names the NPC and
    `by_ship` gives its ship's id (a JSON number, as every entity id)."""
    bot = await player(live, http, "prey")
    world = live.services.world
    await bot.send({"t": "undock", "ship": bot.ship})
    await pump_until(bot, lambda: not bot.docked)
    pilot = world.pilots[bot.welcome["account"]]
    handle = world.zones[pilot.zone_key]
    old_ship = bot.ship
    handle.zone.set_vitals(old_ship, hull_hp=1.0, shield=0.0)  # one hit is enough
    ship = await spawn_pirate(live, pilot, "Vex", 500.0, Skills(0.9, 0.9, 0.3, 0.1))
    await pump_until(
        bot, lambda: any(e.get("kind") == "destroyed" for e in bot.events), timeout=30.0
    )
    destroyed = next(e for e in bot.events if e.get("kind") == "destroyed")
    assert destroyed["ship"] == old_ship
    assert destroyed["by"] == "Vex" and destroyed["by_kind"] == "npc"
    assert destroyed["by_ship"] == ship
    await pump_until(bot, lambda: any(e.get("kind") == "respawned" for e in bot.events))
    respawned = next(e for e in bot.events if e.get("kind") == "respawned")
    assert isinstance(respawned["ship"], int) and respawned["ship"] != old_ship
    await bot.close()


async def test_dead_clone_cannot_act_and_crew_talks(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    bot, seen = await captain(live, http, "talker")
    world = live.services.world
    cand = await hire(bot, seen, "engineer")
    clone_id = int(cand["id"])
    await bot.send({"t": "crew_chat", "ship": bot.ship, "crew": cand["id"], "text": "Who are you?"})
    await pump_until(bot, lambda: any(m.get("kind") == "reply" for m in seen["chat"]))
    reply = next(m for m in seen["chat"] if m.get("kind") == "reply")
    assert cand["name"].split()[0] in reply["text"]
    await bot.send({"t": "crew_order", "ship": bot.ship, "order": "shields"})
    await pump_until(bot, lambda: any(m.get("kind") == "ack" for m in seen["chat"]))
    # bad input: each kind gets a clear error
    for bad, code in (
        ({"t": "crew_order", "ship": bot.ship, "order": "explode"}, "BAD_FIELD"),
        ({"t": "crew_chat", "ship": bot.ship, "text": ""}, "BAD_FIELD"),
        ({"t": "crew_chat", "ship": bot.ship, "crew": "123", "text": "hi"}, "BAD_FIELD"),
        ({"t": "dismiss", "ship": bot.ship, "crew": "nope"}, "BAD_FIELD"),
        ({"t": "hire", "ship": bot.ship, "rid": "x1", "candidate": "42"}, "BAD_FIELD"),
    ):
        before = bot.stats.error_codes.get(code, 0)
        await bot.send(bad)
        await pump_until(bot, lambda c=code, b=before: bot.stats.error_codes.get(c, 0) > b)
    # a dead clone cannot act: its intents are refused by the zone itself
    pilot = world.pilots[bot.welcome["account"]]
    handle = world.zones[pilot.zone_key]
    dead = world.agents.crews.ship_lost(bot.ship, world.tick, "a test")
    assert dead and not dead[0][0].alive
    from callister.protocol.intents import Undock

    submitted = handle.zone.tick
    world.submit(handle.key, Undock(actor=clone_id, ship=bot.ship))
    await pump_until(bot, lambda: handle.zone.tick > submitted + 1)  # the intent was applied
    assert handle.zone.ship_state(bot.ship).docked_at is not None
    await bot.close()


async def test_consent_and_unlicensed_clones(live: LiveServer, http: aiohttp.ClientSession) -> None:
    a = await player(live, http, "alice")
    b = await player(live, http, "bob")
    auth_a = {"Authorization": f"Bearer {a.token}"}
    auth_b = {"Authorization": f"Bearer {b.token}"}
    r = await http.post(f"{live.http}/api/clones", json={"subject": "alice"}, headers=auth_b)
    assert r.status == 201 and (await r.json())["licence"] == "unlicensed"
    r = await http.post(f"{live.http}/api/clones/consent", json={"grantee": "bob"}, headers=auth_a)
    assert r.status == 201
    r = await http.post(
        f"{live.http}/api/clones", json={"subject": "alice", "role": "pilot"}, headers=auth_b
    )
    assert (await r.json())["licence"] == "licensed"
    mine = await (await http.get(f"{live.http}/api/clones", headers=auth_b)).json()
    assert sorted(c["licence"] for c in mine["clones"]) == ["licensed", "unlicensed"]
    # moderators see the unlicensed one at /api/mod/clones; players may not look; the
    # /api/admin/ listing is for administrators only, like every /api/admin/ route
    for path in ("/api/mod/clones", "/api/admin/clones"):
        r = await http.get(f"{live.http}{path}?licence=unlicensed", headers=auth_a)
        assert r.status == 403, path
    store = live.services.store
    await live.services.writer.call(store.accounts.set_role, "alice", "moderator")
    r = await http.get(f"{live.http}/api/mod/clones?licence=unlicensed", headers=auth_a)
    assert [c["name"] for c in (await r.json())["clones"]] == ["alice"]
    r = await http.get(f"{live.http}/api/admin/clones?licence=unlicensed", headers=auth_a)
    assert r.status == 403
    await live.services.writer.call(store.accounts.set_role, "alice", "admin")
    r = await http.get(f"{live.http}/api/admin/clones?licence=unlicensed", headers=auth_a)
    assert [c["name"] for c in (await r.json())["clones"]] == ["alice"]
    r = await http.get(f"{live.http}/api/mod/clones?licence=bogus", headers=auth_a)
    assert r.status == 400 and (await r.json())["error"]["code"] == "BAD_FIELD"
    # bad input
    for body in ({"subject": 5}, {"subject": "nobody"}, {"subject": "alice", "role": "cook"}):
        r = await http.post(f"{live.http}/api/clones", json=body, headers=auth_b)
        assert r.status in (400, 404)
    r = await http.post(
        f"{live.http}/api/clones/consent", json={"grantee": "ghost"}, headers=auth_a
    )
    assert r.status == 404
    r = await http.delete(f"{live.http}/api/clones/consent/abc", headers=auth_a)
    assert r.status == 400
    r = await http.post(f"{live.http}/api/clones", json={"subject": "alice"})
    assert r.status == 401
    await a.close()
    await b.close()
