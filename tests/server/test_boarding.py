"""Boarding on a real server: a ship whose shields are down is boarded by a docked-alongside
attacker; the crews fight by sim/boarding.py's rule; the winner takes the cargo (one ledger
transaction) and captures the clone crew (a moderation case: CAPTURED_CLONE evidence)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp

from callister.bots.client import Bot
from callister.server import boarding
from callister.store import ItemMove

from ..conftest import LiveServer, live_server, make_settings, running
from ..waiting import until
from .test_shared_ships import board
from .wsclient import player, pump_until, record

live = live_server(starting_credits=5000)


ORE = "iron"


def account(bot: Bot) -> int:
    return int(bot.welcome["account"])


def shields_down(live: LiveServer, ship: int) -> None:
    """Test set-up only: the target's shields were shot down (and stay down)."""
    world = live.services.world
    zone = world.zones[world.pilots[world.ship_owner[ship]].zone_key].zone
    row = zone.store.row(ship)
    zone.store.shield[row] = 0.0
    zone.store.shield_at[row] = 2**40


async def test_boarding_takes_the_cargo_and_captures_the_clone(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    world = live.services.world
    ash, cyd, dee, bea = [await player(live, http, n) for n in ("Ash", "Cyd", "Dee", "Bea")]
    bots = [ash, cyd, dee, bea]
    seen_ash = record(ash, "event")
    seen_bea = record(bea, "event", "crew")
    seen_cyd = record(cyd, "invite", "aboard")
    seen_dee = record(dee, "invite", "aboard")
    # Bea hires a gunner (a clone licensed to her) and carries ore
    await pump_until(bots, lambda: any(m["candidates"] for m in seen_bea["crew"]), 15)
    cand = next(c for c in seen_bea["crew"][-1]["candidates"] if c["role"] == "gunner")
    receipt, refused = await bea.request({"t": "hire", "candidate": cand["id"]})
    assert refused is None and receipt is not None
    await world.writer.call(
        lambda: world.store.ledger.commit(
            world.name, "test:ore", "test", moves=[ItemMove(ORE, 12, None, f"ship:{bea.ship}")]
        )
    )
    # Ash's boarding party: Cyd and Dee come aboard (their ships wait at the station)
    await board(ash, cyd, seen_cyd, bots)
    await board(ash, dee, seen_dee, bots)
    # both ships in space, side by side, at rest
    for bot, ship in ((ash, ash.ship), (bea, bea.ship)):  # Ash keeps the helm (docs/crews.md)
        await bot.send({"t": "undock", "ship": ship})
    zone = world.zones[world.pilots[account(ash)].zone_key].zone
    await pump_until(
        bots,
        lambda: (
            zone.ship_state(ash.ship).docked_at is None
            and zone.ship_state(bea.ship).docked_at is None
        ),
    )
    await asyncio.sleep(0.2)
    # shields up: refused
    await ash.send({"t": "board_attack", "ship": ash.ship, "target": bea.ship})
    await pump_until(bots, lambda: "NOT_AVAILABLE" in ash.stats.error_codes)
    # too far: refused
    row = zone.store.row(bea.ship)
    zone.store.x[row] += 400.0
    shields_down(live, bea.ship)
    await ash.send({"t": "board_attack", "ship": ash.ship, "target": bea.ship})
    await pump_until(bots, lambda: "TOO_FAR" in ash.stats.error_codes)
    zone.store.x[row] -= 400.0
    boarding.BOARD_COOLDOWN_S = 0.0  # test set-up: retry at once (each tick rolls afresh)
    won: dict[str, Any] | None = None
    for _ in range(20):
        shields_down(live, bea.ship)
        before = len(seen_ash["event"])
        await ash.send({"t": "board_attack", "ship": ash.ship, "target": bea.ship})
        await pump_until(
            bots, lambda b=before: any(e["kind"] == "boarding" for e in seen_ash["event"][b:])
        )
        result = next(e for e in seen_ash["event"][before:] if e["kind"] == "boarding")
        # the server's scores are the rule's: 3 humans + 3 weapons against Bea and her gunner
        assert result["attacker_won"] == (result["attack"] > result["defence"])
        if result["attacker_won"]:
            won = result
            break
        assert result["items"] == {} and result["captured"] == []
    boarding.BOARD_COOLDOWN_S = 30.0
    assert won is not None, "Ash's party of three never won"
    assert won["items"] == {ORE: 12}
    assert won["captured"] == [cand["name"]]
    # the defender heard it too
    await pump_until(bots, lambda: any(e["kind"] == "boarding" for e in seen_bea["event"]))
    # the cargo moved in one ledger transaction; the items are conserved
    assert await world.writer.call(world.economy.books.cargo, ash.ship) == {ORE: 12}
    assert await world.writer.call(world.economy.books.cargo, bea.ship) == {}
    txn = await world.writer.call(
        world.store.ledger.latest_txn, world.name, f"player:{account(ash)}", "board"
    )
    assert txn is not None and txn.result["items"] == {ORE: 12}
    audit = await world.writer.call(world.economy.audit)
    assert audit["balanced"], audit["problems"]  # ledger balanced, items conserved
    # the clone changed ships: it is Ash's crew now, its licence still Bea's
    clone_id = int(cand["id"])
    assert world.agents.crews.ship_of(clone_id) == ash.ship
    assert clone_id not in world.agents.crews.by_ship.get(bea.ship, [])
    row_clone = await world.writer.call(world.store.clones.get, clone_id)
    assert row_clone is not None and row_clone.ship_id == ash.ship
    assert row_clone.owner_id == account(bea)

    # ...so it is a moderation case
    async def captured() -> list[Any]:
        rows = await world.writer.call(
            world.store.moderation.list_evidence, world.name, account(ash)
        )
        return [e for e in rows if e.code == "CAPTURED_CLONE"]

    case = await until(captured, "the CAPTURED_CLONE evidence")  # written after the move
    assert len(case) == 1 and case[0].detail["clone"] == str(clone_id)
    assert case[0].detail["licence_owner"] == account(bea)
    assert json.dumps(case[0].detail)  # plain JSON for the moderators' queue


async def test_the_shared_ship_destroyed_members_wake_at_home(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with running(make_settings(tmp_path, damage_multiplier=100.0)) as server:
        world = server.services.world
        cap = await player(server, http, "Cap")
        pia = await player(server, http, "Pia")
        foe = await player(server, http, "Foe")
        bots = [cap, pia, foe]
        seen_pia = record(pia, "invite", "aboard", "event")
        await board(cap, pia, seen_pia, bots)
        # Pia's own ship waits docked at the station; Cap's ship goes out and is shot down
        for bot, ship in ((cap, cap.ship), (foe, foe.ship)):  # the captain keeps the helm
            await bot.send({"t": "undock", "ship": ship})
        zone = world.zones[world.pilots[account(cap)].zone_key].zone
        await pump_until(bots, lambda: zone.ship_state(cap.ship).docked_at is None)
        await pump_until(bots, lambda: bool(foe.status))
        laser = next(w["slot"] for w in foe.status["weapons"] if w["kind"] == "hitscan")
        old = cap.ship
        for _ in range(40):
            if zone.has_ship(old):
                await foe.send({"t": "fire", "ship": foe.ship, "slot": laser, "target": str(old)})
            await asyncio.gather(*(b.pump(0.45) for b in bots))
            if any(e["kind"] == "destroyed" for e in seen_pia["event"]):
                break
        destroyed = [e for e in seen_pia["event"] if e["kind"] == "destroyed"]
        assert destroyed and destroyed[0]["ship"] == old and destroyed[0]["aboard"]
        # Pia lost her seat and nothing else: she is back aboard her own ship, still docked
        await pump_until(bots, lambda: seen_pia["aboard"][-1]["ship"] is None)
        assert account(pia) not in world.shipshare.aboard
        await pump_until(bots, lambda: bool(pia.status) and pia.status["ship"] == pia.ship)
        state = world.ship_state(world.pilots[account(pia)])
        assert state is not None and state.docked_at is not None
        assert world.shipshare.ships == {}
