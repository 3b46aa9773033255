"""Real server, real sockets: fighting, dying, looting, and cheating attempts that are refused
and leave evidence for the moderators."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
from tests.conftest import LiveServer, live_server, make_settings, running
from tests.server.wsclient import buy_cheapest, cheapest_goods, player, pump_until, record, undock
from tests.waiting import until

from callister.bots.client import Bot
from callister.content import load_content
from callister.sim import CrimeCommitted


def slot_of(bot: Bot, kind: str) -> int:
    """The bot's first weapon slot of this kind (from its status message)."""
    assert bot.status is not None
    for weapon in bot.status["weapons"]:
        if weapon["kind"] == kind:
            return int(weapon["slot"])
    raise AssertionError(f"no {kind} weapon in {bot.status['weapons']}")


def zone_of(live: LiveServer, bot: Bot) -> Any:
    world = live.services.world
    pilot = world.pilots[int(bot.welcome["account"])]
    assert pilot.zone_key is not None
    return world.zones[pilot.zone_key].zone


async def undocked_pair(live: LiveServer, http: aiohttp.ClientSession) -> tuple[Bot, Bot]:
    a = await player(live, http, "Ash")
    b = await player(live, http, "Bea")
    await undock(a, b)
    await pump_until([a, b], lambda: bool(a.status))
    return a, b


def move_ship(live: LiveServer, bot: Bot, dx: float, dy: float = 0.0) -> None:
    """Test set-up only: put the bot's ship somewhere else in its system."""
    zone = zone_of(live, bot)
    row = zone.store.row(bot.ship)
    zone.store.x[row] += dx
    zone.store.y[row] += dy


async def fire_until_destroyed(shooter: Bot, victim: Bot, shots: int = 40) -> None:
    """Fire the shooter's laser at the victim's ship once per cooldown until it is destroyed
    (the victim's client switches to its new ship) or `shots` have been fired. A shot refused
    for its cooldown (the ticks ran late on a loaded machine) is not counted."""
    laser = slot_of(shooter, "hitscan")
    key = shooter.status["weapons"][laser]["key"]  # type: ignore[index]
    cooldown = load_content().weapons[key].cooldown
    ship = victim.ship
    fired = 0
    for _ in range(3 * shots):
        if victim.ship != ship or fired == shots:
            return
        early = shooter.stats.error_codes.get("COOLDOWN", 0)
        await shooter.send({"t": "fire", "ship": shooter.ship, "slot": laser, "target": str(ship)})
        await asyncio.gather(shooter.pump(cooldown + 0.05), victim.pump(cooldown + 0.05))
        fired += shooter.stats.error_codes.get("COOLDOWN", 0) == early


async def evidence(live: LiveServer, bot: Bot, *codes: str) -> list[Any]:
    """The bot's evidence rows, once every code in `codes` is among them (the evidence write
    is queued after the refusal); with no codes, the rows as they are now."""
    world = live.services.world

    async def rows() -> list[Any] | None:
        found = await world.writer.call(
            world.store.moderation.list_evidence, world.name, int(bot.welcome["account"])
        )
        return found if set(codes) <= {row.code for row in found} else None

    if not codes:
        return await rows() or []
    found: list[Any] = await until(rows, f"evidence {sorted(codes)}")
    return found


def weapon_ready(live: LiveServer, bot: Bot, slot: int) -> bool:
    """Whether the bot's weapon in `slot` is past its cooldown (counted in ticks, not seconds:
    on a loaded machine the ticks run late)."""
    zone = zone_of(live, bot)
    return bool(zone.store.ready[zone.store.row(bot.ship), slot] <= zone.tick)


# A world where weapons are fifty times as deadly, so fights end within a test.
deadly = live_server(damage_multiplier=50.0)


async def test_hits_are_seen_by_everyone_nearby(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    a, b = await undocked_pair(live, http)
    c = await player(live, http, "Cyd")  # docked nearby: a witness
    move_ship(live, b, 300.0)
    laser = slot_of(a, "hitscan")
    await a.send({"t": "fire", "ship": a.ship, "slot": laser, "target": str(b.ship)})
    await pump_until([a, b, c], lambda: any(f["k"] == "hit" for f in c.fx) and b.status is not None)
    beam = next(f for f in c.fx if f["k"] == "beam")
    assert beam["ship"] == a.ship and beam["hit"]
    await pump_until(
        [a, b], lambda: b.status is not None and b.status["shield"] < b.status["shield_max"]
    )
    for bot in (a, b, c):
        await bot.close()


async def test_cheating_is_refused_and_leaves_evidence(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    a, b = await undocked_pair(live, http)
    move_ship(live, b, 200.0)
    laser = slot_of(a, "hitscan")
    target = str(b.ship)
    # faster than the cooldown: two shots in one breath
    await a.send({"t": "fire", "ship": a.ship, "slot": laser, "target": target})
    await a.send({"t": "fire", "ship": a.ship, "slot": laser, "target": target})
    await pump_until([a, b], lambda: a.stats.error_codes.get("COOLDOWN", 0) >= 1)
    # beyond range
    weapon = load_content().weapons[a.status["weapons"][laser]["key"]]  # type: ignore[index]
    move_ship(live, b, weapon.range * 2)
    await pump_until([a, b], lambda: weapon_ready(live, a, laser))
    await a.send({"t": "fire", "ship": a.ship, "slot": laser, "target": target})
    await pump_until([a, b], lambda: a.stats.error_codes.get("OUT_OF_RANGE", 0) >= 1)
    move_ship(live, b, -weapon.range * 2)
    # no ammunition: the magazine of an ammunition weapon emptied
    zone = zone_of(live, a)
    ammo_slot = slot_of(a, "projectile")
    vitals = zone.vitals(a.ship)
    zone.set_vitals(a.ship, ammo=tuple(0 for _ in vitals.ammo))
    await a.send({"t": "fire", "ship": a.ship, "slot": ammo_slot, "target": target})
    await pump_until([a, b], lambda: a.stats.error_codes.get("NO_AMMO", 0) >= 1)
    # someone else's ship
    await a.send({"t": "fire", "ship": b.ship, "slot": 0, "target": str(a.ship)})
    await pump_until([a, b], lambda: a.stats.error_codes.get("NOT_YOUR_SHIP", 0) >= 1)
    # the victim was never hurt by the refused shots beyond the one legal hit
    await evidence(live, a, "COOLDOWN", "OUT_OF_RANGE", "NO_AMMO", "NOT_YOUR_SHIP")
    assert not await evidence(live, b)
    for bot in (a, b):
        await bot.close()


async def test_buying_without_credits_is_refused_and_leaves_evidence(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    a = await player(live, http, "Poor")
    await pump_until([a], lambda: a.status is not None)
    credits = a.status["credits"]  # type: ignore[index]
    dearest = max(load_content().hulls.values(), key=lambda h: h.price)
    assert dearest.price > credits
    # find a shipyard: the home station may not have one, then any purchase beyond means works
    await a.send({"t": "market", "ship": a.ship})
    await pump_until([a], lambda: a.market is not None)
    assert a.market is not None
    if a.market["hulls"]:
        receipt, code = await a.request({"t": "buy_hull", "hull": dearest.key})
    else:
        item = max(a.market["items"], key=lambda i: i["buy"])
        qty = credits // item["buy"] + 1
        receipt, code = await a.request(
            {"t": "trade", "item": item["key"], "qty": qty, "side": "buy"}
        )
    assert receipt is None and code == "INSUFFICIENT_FUNDS"
    await pump_until([a], lambda: a.status is not None)
    assert a.status["credits"] == credits  # type: ignore[index]
    await evidence(live, a, "INSUFFICIENT_FUNDS")
    await a.close()


async def test_trade_round_trip_is_committed_and_idempotent(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    a = await player(live, http, "Tess")
    item = await cheapest_goods(a)
    before = a.market["credits"]
    rid = a.next_rid()
    receipt, code = await a.request(
        {"t": "trade", "rid": rid, "item": item["key"], "qty": 3, "side": "buy"}
    )
    assert code is None and receipt is not None
    assert receipt["cargo"].get(item["key"]) == 3 and receipt["credits"] < before
    # the same request again (a retry after a reconnect) is answered, not repeated
    del a.receipts[rid]
    again, _ = await a.request(
        {"t": "trade", "rid": rid, "item": item["key"], "qty": 3, "side": "buy"}
    )
    assert again is not None and again["replay"] and again["credits"] == receipt["credits"]
    sold, code = await a.request({"t": "trade", "item": item["key"], "qty": 3, "side": "sell"})
    assert code is None and sold is not None and not sold["cargo"].get(item["key"])
    assert sold["credits"] < before  # the spread: selling back returns less than it cost
    world = live.services.world
    audit = await world.writer.call(world.economy.audit)
    assert audit["balanced"]
    await a.close()


async def test_destroyed_ship_respawns_at_home_and_leaves_loot(
    deadly: LiveServer, http: aiohttp.ClientSession
) -> None:
    live = deadly
    a = await player(live, http, "Kat")
    b = await player(live, http, "Lou")
    # B buys something to carry, then both fly out of the station's protection
    item = await buy_cheapest(b, 2)
    old_ship = b.ship
    await undock(a, b)
    await pump_until([a, b], lambda: bool(a.status))
    # B's ship counts as an insured hauler (as bought at a shipyard): its loss is paid
    world = live.services.world
    victim = world.pilots[int(b.welcome["account"])]
    victim.character = replace(victim.character, hull="hauler", extra={"insured": True})
    payout = world.economy.catalog.payout(load_content().hulls["hauler"])
    assert payout > 0
    move_ship(live, b, 250.0)
    await fire_until_destroyed(a, b)
    await pump_until([a, b], lambda: b.ship != old_ship, timeout=15)
    assert any(e.get("kind") == "destroyed" for e in b.events)
    await pump_until([b], lambda: any(e.get("kind") == "respawned" for e in b.events))
    respawned = next(e for e in b.events if e.get("kind") == "respawned")
    assert respawned["insurance"] == payout  # the event tells what the insurer paid
    assert any(f["k"] == "boom" for f in a.fx)
    # the wreck holds B's cargo; A flies to it and loots it
    await pump_until([a], lambda: any(n == "Wreck" for n in a.names.values()))
    wreck = next(i for i, n in a.names.items() if n == "Wreck")
    zone = zone_of(live, a)
    row = zone.store.row(wreck)
    arow = zone.store.row(a.ship)
    zone.store.x[arow], zone.store.y[arow] = zone.store.x[row] + 50, zone.store.y[row]
    zone.store.vx[arow] = zone.store.vy[arow] = 0.0
    await a.send({"t": "loot", "ship": a.ship, "wreck": str(wreck)})
    await pump_until([a], lambda: any(e.get("kind") == "looted" for e in a.events))
    looted = next(e for e in a.events if e.get("kind") == "looted")
    assert looted["items"] == {item["key"]: 2}
    assert zone.entity_kind(wreck) is None  # looted empty: the wreck is gone before the event
    assert await world.writer.call(world.economy.books.cargo, old_ship) == {}
    assert (await world.writer.call(world.economy.audit))["balanced"]
    # B is docked at home in a fresh starter ship
    await pump_until([b], lambda: b.status is not None and b.status["ship"] == b.ship)
    assert b.status is not None and b.status["hull"] == b.status["hull_max"]
    for bot in (a, b):
        await bot.close()


async def test_pvp_off_world_does_no_harm(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with running(make_settings(tmp_path, pvp=False)) as live:
        a, b = await undocked_pair(live, http)
        move_ship(live, b, 200.0)
        laser = slot_of(a, "hitscan")
        await a.send({"t": "fire", "ship": a.ship, "slot": laser, "target": str(b.ship)})
        await pump_until([a, b], lambda: a.stats.error_codes.get("PVP_OFF", 0) >= 1)
        vitals = zone_of(live, b).vitals(b.ship)
        assert vitals.shield == vitals.shield_max and vitals.hull_hp == vitals.hull_max
        for bot in (a, b):
            await bot.close()


async def test_bounty_only_on_a_flagged_player_and_paid_to_the_killer(
    deadly: LiveServer, http: aiohttp.ClientSession
) -> None:
    live = deadly
    hunter = await player(live, http, "Hunter")
    outlaw = await player(live, http, "Outlaw")
    sponsor = await player(live, http, "Sponsor")
    await pump_until([hunter, outlaw, sponsor], lambda: bool(sponsor.status))
    receipt, code = await sponsor.request({"t": "bounty", "target": "Outlaw", "amount": 300})
    assert receipt is None and code == "NOT_AVAILABLE"  # not a criminal (yet)
    world = live.services.world
    handle = next(iter(world.zones.values()))
    # the zone reports the outlaw's crime near a lawful station (the home system is lawless,
    # so the event stands in for the sim's CrimeCommitted, tested in tests/sim)
    outlaw_account = int(outlaw.welcome["account"])
    world.outcomes.handle(
        handle,
        [
            CrimeCommitted(
                ship=outlaw.ship, owner=outlaw_account, victim=1, victim_owner=0, station=0
            )
        ],
    )
    credits = sponsor.status["credits"]  # type: ignore[index]
    receipt, code = await sponsor.request({"t": "bounty", "target": "Outlaw", "amount": 300})
    assert code is None and receipt is not None
    # (read before: a status with the new balance may arrive ahead of the receipt)
    assert receipt["credits"] == credits - 300
    # the hunter destroys the outlaw and collects (its tutorial skipped: undocking would pay
    # the tutorial's reward into the same balance)
    seen = record(hunter, "tutorial")
    await hunter.send({"t": "tutorial", "ship": hunter.ship, "op": "skip"})
    await pump_until([hunter], lambda: any(m.get("skipped") for m in seen["tutorial"]))
    before = await world.writer.call(world.economy.books.credits, int(hunter.welcome["account"]))
    await undock(hunter, outlaw)
    move_ship(live, outlaw, 250.0)
    await fire_until_destroyed(hunter, outlaw)
    await pump_until([hunter], lambda: any(e.get("kind") == "bounty" for e in hunter.events))
    after = await world.writer.call(world.economy.books.credits, int(hunter.welcome["account"]))
    assert after == before + 300
    assert (await world.writer.call(world.economy.audit))["balanced"]
    for bot in (hunter, outlaw, sponsor):
        await bot.close()
