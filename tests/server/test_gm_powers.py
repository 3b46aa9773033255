"""Game-master powers on a live server (issue 18), besides teleport (tests/server/test_gm.py):
spawning a pirate clone and removing it, setting hull, fuel and shields, freezing a system,
an invisible and a marked GM ship, and cargo, credits and wrecks from the world's GM ledger
account with the books still balanced."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.conftest import LiveServer, live_server, make_settings, running
from tests.server.test_gm import GAME_MASTERED, account, gm_audit, gm_http, sandbox, world_of
from tests.server.test_worlds import run_cli
from tests.server.wsclient import pump_until
from tests.waiting import until

from callister.bots.client import Bot, GmRefused
from callister.protocol.intents import Input
from callister.server.world import World

live = live_server(**GAME_MASTERED)


async def sandbox_world(live: LiveServer, http: aiohttp.ClientSession) -> tuple[Bot, Bot, World]:
    """`sandbox`'s owner and guest, and the world itself (where a test looks behind the API)."""
    olga, pete = await sandbox(live, http)
    return olga, pete, world_of(live, "sandbox")


def home_sector(bot: Bot) -> list[str]:
    assert bot.system is not None
    return [str(bot.system["x"]), str(bot.system["y"])]


async def test_a_game_master_spawns_a_pirate_clone_and_removes_it(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    olga, pete = await sandbox(live, http)
    sector = home_sector(pete)
    with pytest.raises(GmRefused) as refused:
        await pete.gm("spawn_npc", role="pirate", sector=sector, x=3000.0, y=500.0)
    assert refused.value.code == "FORBIDDEN"
    status, body = await gm_http(
        live, http, pete, "spawn_npc", role="pirate", sector=sector, x=3000.0, y=500.0
    )
    assert status == 403 and body["error"]["code"] == "FORBIDDEN"
    done = await olga.gm("spawn_npc", role="pirate", sector=sector, x=3000.0, y=500.0,
                         reason="pirate raid")  # fmt: skip
    ship = done["ship"]
    assert done["role"] == "pirate" and done["hull"] == "shuttle" and done["clone"].isdigit()
    world = world_of(live, "sandbox")
    npc = world.agents.npcs[ship]
    assert npc.goal.value == "pirate" and npc.clone_id == int(done["clone"])
    assert npc.clone_id in world.agents.pool  # it thinks and acts like every NPC
    # players see it, named as an NPC is
    await pump_until([pete], lambda: ship in pete.positions() and ship in pete.names)
    assert "(pirate)" in pete.names[ship]
    stored = await until(
        lambda: live.services.store.clones.get(npc.clone_id), "the clone is stored"
    )
    assert stored.alive
    # teleported to the next system and back: the clone goes with its ship
    assert pete.system is not None
    away = (int(pete.system["links"][0][0]), int(pete.system["links"][0][1]))
    done = await olga.gm("teleport", ship=ship, sector=list(away), x=3000.0, y=-3000.0)
    assert done["to"] == [str(away[0]), str(away[1])]
    assert world.agents.npcs[ship].key == f"sandbox.{away[0]}.{away[1]}"
    assert world.zones[world.agents.npcs[ship].key].zone.has_ship(ship)
    await pump_until([pete], lambda: ship not in pete.positions())
    await olga.gm("teleport", ship=ship, sector=sector, x=3500.0, y=800.0)
    assert world.agents.pool.clone(npc.clone_id).alive
    await pump_until([pete], lambda: ship in pete.positions())
    # removed: out of the zone and everyone's view; its clone is kept, alive, in no ship
    done = await olga.gm("remove", entity=ship)
    assert done["kind"] == "npc" and done["clone"] == str(npc.clone_id)
    assert ship not in world.agents.npcs
    await pump_until([pete], lambda: ship not in pete.positions())
    with pytest.raises(GmRefused) as refused:
        await olga.gm("remove", entity=ship)
    assert refused.value.code == "UNKNOWN_SHIP"
    with pytest.raises(GmRefused) as refused:  # a player's ship is not removed
        await olga.gm("remove", entity=pete.ship)
    assert refused.value.code == "NOT_AVAILABLE"
    # bad input
    for fields, code in (
        ({"role": "admiral"}, "BAD_FIELD"),
        ({"hull": "battlestar"}, "BAD_FIELD"),
        ({"x": 9e6}, "OUT_OF_BOUNDS"),
        ({"sector": None}, "BAD_FIELD"),
    ):
        body = {"role": "pirate", "sector": sector, "x": 3000.0, "y": 500.0, **fields}
        status, answer = await gm_http(
            live, http, olga, "spawn_npc", **{k: v for k, v in body.items() if v is not None}
        )
        assert answer["error"]["code"] == code, (fields, answer)
    audit = await gm_audit(live, http, olga)
    assert [a["action"] for a in audit] == [
        "gm_remove", "gm_teleport", "gm_teleport", "gm_spawn_npc"
    ]  # fmt: skip
    assert audit[3]["reason"] == "pirate raid" and audit[3]["detail"]["done"]["ship"] == ship
    assert {a["actor"] for a in audit} == {int(olga.welcome["account"])}


async def test_set_a_ships_hull_fuel_and_shields(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    olga, pete, world = await sandbox_world(live, http)
    done = await olga.gm("set", ship=pete.ship, fuel=5.0, shield=0.0)
    assert done["fuel"] == 5.0 and done["shield"] == 0.0 and done["hull"] == "shuttle"
    await pump_until([pete], lambda: pete.status is not None and pete.status["fuel"] == 5.0)
    # a refit: the same ship id, the new hull's stats, full
    done = await olga.gm("set", ship=pete.ship, hull="hauler", hull_hp=120.0)
    assert done["hull"] == "hauler" and done["hull_hp"] == 120.0 and done["fuel"] == 250.0
    pilot = world.pilots[int(pete.welcome["account"])]
    assert pilot.character.hull == "hauler"
    zone = world.zones[pilot.zone_key or ""].zone
    assert zone.ship_state(pete.ship).hull == "hauler" and zone.vitals(pete.ship).hull_max == 300
    await pump_until([pete], lambda: pete.status is not None and pete.status["hull_max"] == 300)
    # values past the maximum are capped
    done = await olga.gm("set", ship=pete.ship, fuel=99999.0)
    assert done["fuel"] == 250.0
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        ({"hull": "battlestar"}, 400, "BAD_FIELD", "no hull 'battlestar'"),
        ({"fuel": -1.0}, 400, "BAD_NUMBER", "'fuel'"),
        ({"shield": -0.5}, 400, "BAD_NUMBER", "'shield'"),
        ({"hull_hp": 0.0}, 400, "BAD_NUMBER", "'hull_hp'"),
        ({"fuel": "full"}, 400, "BAD_FIELD", "'fuel'"),
        ({}, 400, "BAD_FIELD", "needs 'hull'"),
        ({"ship": 424242, "fuel": 1.0}, 404, "UNKNOWN_SHIP", "424242"),
    ]
    for fields, status_want, code, words in cases:
        status, answer = await gm_http(live, http, olga, "set", **{"ship": pete.ship, **fields})
        assert status == status_want and answer["error"]["code"] == code, (fields, answer)
        assert words in answer["error"]["message"], answer
    # the record keeps it: a save after the change carries the vitals
    await world.checkpoint()
    saved = await live.services.writer.call(
        live.services.store.characters.load, int(pete.welcome["account"]), "sandbox"
    )
    assert saved.hull == "hauler" and saved.extra["fuel"] == 250.0


async def test_a_frozen_system_stops_and_goes_on_when_unfrozen(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    olga, pete, world = await sandbox_world(live, http)
    sector = home_sector(pete)
    await olga.gm("teleport", ship=pete.ship, x=5000.0, y=0.0)
    await pump_until([pete], lambda: math.dist(pete.pos, (5000.0, 0.0)) < 1.0)
    await pete.send({"t": "input", "ship": pete.ship, "thrust": 1.0, "turn": 0.0})
    await pump_until([pete], lambda: math.dist(pete.pos, (5000.0, 0.0)) > 5.0)
    with pytest.raises(GmRefused) as refused:
        await pete.gm("freeze", sector=sector)
    assert refused.value.code == "FORBIDDEN"
    done = await olga.gm("freeze", sector=sector, reason="briefing")
    assert done["frozen"] is True and done["changed"] is True
    await pump_until([pete], lambda: any(e.get("kind") == "frozen" for e in pete.events))
    pilot = world.pilots[int(pete.welcome["account"])]
    zone = world.zones[pilot.zone_key or ""].zone
    tick, state = zone.tick, zone.ship_state(pete.ship)
    snapshots = pete.stats.snapshots
    await pump_until([pete, olga], lambda: pete.stats.snapshots >= snapshots + 10)
    # nothing moved, the zone did not step, and the players kept getting snapshots
    assert zone.tick == tick and zone.ship_state(pete.ship) == state
    assert world.tick > tick
    await pete.send({"t": "dock", "ship": pete.ship})
    await pump_until([pete], lambda: pete.refused.get("dock") == "FROZEN"
                     or pete.stats.error_codes.get("FROZEN", 0) > 0)  # fmt: skip
    # an agent's intents are not queued up either
    world.submit(pilot.zone_key or "", Input(int(pete.welcome["account"]), pete.ship, 1.0, 0.0))
    assert not zone._state.intents
    # a player arriving in a frozen system is told at once
    assert olga.ws is not None
    await olga.ws.close()
    await olga.connect()
    await pump_until([olga], lambda: any(e.get("kind") == "frozen" for e in olga.events))
    done = await olga.gm("unfreeze", sector=sector)
    assert done["frozen"] is False and done["changed"] is True
    await pump_until([pete], lambda: any(e.get("kind") == "unfrozen" for e in pete.events))
    await until(lambda: zone.tick > tick + 5, "the zone steps again")
    await pump_until([pete], lambda: math.dist(pete.pos, (state.x, state.y)) > 5.0)
    # the world remembers frozen systems over a restart of the world (meta)
    done = await olga.gm("freeze", sector=sector)
    saved = await live.services.writer.call(
        lambda: live.services.store.meta.get("gm.frozen", world="sandbox")
    )
    assert json.loads(saved) == [pilot.zone_key]
    status, answer = await gm_http(live, http, olga, "freeze", sector=["40", "3"])
    assert status in (200, 404)  # a system or empty space; never a crash
    status, answer = await gm_http(live, http, olga, "freeze", sector="here")
    assert status == 400 and answer["error"]["code"] == "BAD_FIELD"
    actions = [a["action"] for a in await gm_audit(live, http, olga)]
    assert actions.count("gm_freeze") >= 2 and "gm_unfreeze" in actions


async def test_an_invisible_gm_ship_is_in_no_other_players_snapshot(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    olga, pete = await sandbox(live, http)
    await pump_until([olga, pete], lambda: olga.ship in pete.positions())
    with pytest.raises(GmRefused) as refused:
        await pete.gm("gm_ship", mode="invisible")
    assert refused.value.code == "FORBIDDEN"
    done = await olga.gm("gm_ship", mode="invisible")
    assert done["ship"] == olga.ship and done["was"] == "off"
    await pump_until([olga, pete], lambda: olga.ship not in pete.positions())
    # she still sees herself, tagged; she flies about and stays unseen
    await pump_until([olga], lambda: olga.ents.get(olga.ship, {}).get("invisible") is True)
    await olga.gm("teleport", ship=olga.ship, x=4000.0, y=300.0)
    await olga.gm("teleport", ship=pete.ship, x=4100.0, y=300.0)
    await pump_until(
        [olga, pete],
        lambda: math.dist(pete.pos, (4100.0, 300.0)) < 1.0 and olga.ship in olga.positions(),
    )
    for _ in range(10):
        await asyncio.gather(olga.pump(0.05), pete.pump(0.05))
        assert olga.ship not in pete.positions()
        assert pete.ship in olga.positions()
    # its shots' effects are hers alone (the one it hits learns of the hit, not the shooter)
    assert olga.status is not None
    laser = next(int(w["slot"]) for w in olga.status["weapons"] if w["kind"] == "hitscan")
    await olga.send({"t": "fire", "ship": olga.ship, "slot": laser, "target": pete.ship})
    await pump_until([olga, pete], lambda: any(f.get("ship") == olga.ship for f in olga.fx))
    await pump_until([olga, pete], lambda: any(f.get("k") == "hit" for f in pete.fx))
    assert not any(f.get("ship") == olga.ship for f in pete.fx)
    # marked: back in view, flagged GM in `ents`
    await olga.gm("gm_ship", mode="marked")
    await pump_until([olga, pete], lambda: olga.ship in pete.positions())
    await pump_until([pete], lambda: pete.ents.get(olga.ship, {}).get("gm") is True)
    assert "invisible" not in pete.ents[olga.ship]
    await olga.gm("gm_ship", mode="off")
    await pump_until([pete], lambda: "gm" not in pete.ents.get(olga.ship, {"gm": 1}))
    status, answer = await gm_http(live, http, olga, "gm_ship", mode="ghost")
    assert status == 400 and "'mode' must be one of" in answer["error"]["message"]


async def test_spawned_credits_cargo_and_wrecks_keep_the_books_balanced(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    olga, pete, world = await sandbox_world(live, http)
    account_id = int(pete.welcome["account"])
    before = await live.services.writer.call(world.economy.books.credits, account_id)
    done = await olga.gm("give", ship=pete.ship, credits=5000, items={"iron": 5, "food": 2})
    assert done["balance"] == before + 5000 and done["cargo"] == {"food": 2, "iron": 5}
    assert done["source"] == "gm"
    await pump_until([pete], lambda: pete.status is not None
                     and pete.status["credits"] == before + 5000
                     and pete.status["cargo"] == {"food": 2, "iron": 5})  # fmt: skip
    ledger = live.services.store.ledger
    gm_balance = await live.services.writer.call(ledger.balance, "sandbox", "gm")
    assert gm_balance == -5000  # the named source account
    # a wreck with items, looted by a player
    sector = home_sector(pete)
    done = await olga.gm("spawn_wreck", sector=sector, x=6000.0, y=0.0, items={"platinum": 3})
    wreck = done["wreck"]
    await olga.gm("teleport", ship=pete.ship, x=6050.0, y=0.0)
    await pump_until([pete], lambda: wreck in pete.positions() and not pete.docked)
    await pete.send({"t": "loot", "ship": pete.ship, "wreck": wreck})
    await pump_until([pete], lambda: pete.status is not None
                     and pete.status["cargo"].get("platinum") == 3)  # fmt: skip
    # another wreck, removed by the GM: its items are destroyed in the books
    done = await olga.gm("spawn_wreck", sector=sector, x=-6000.0, y=0.0, items={"water": 4})
    await olga.gm("remove", entity=done["wreck"])
    assert world.zones[f"sandbox.{sector[0]}.{sector[1]}"].zone.entity_kind(done["wreck"]) is None
    # bad input
    for op, fields, code in (
        ("give", {"ship": pete.ship, "items": {"unobtainium": 1}}, "BAD_FIELD"),
        ("give", {"ship": pete.ship, "credits": -5}, "BAD_NUMBER"),
        ("give", {"ship": pete.ship, "items": {"iron": 100000}}, "CARGO_FULL"),
        ("give", {"ship": 555555, "credits": 5}, "UNKNOWN_SHIP"),
        ("give", {"ship": pete.ship}, "BAD_FIELD"),
        ("spawn_wreck", {"sector": sector, "x": 6000.0, "y": 0.0}, "BAD_FIELD"),
        ("spawn_wreck", {"sector": sector, "x": 6000.0, "y": 0.0, "items": {"iron": 0}},
         "BAD_NUMBER"),
    ):  # fmt: skip
        _, answer = await gm_http(live, http, olga, op, **fields)
        assert answer["error"]["code"] == code, (op, fields, answer)
    # the books: balanced, items conserved, in process and from the command line
    audit = await live.services.writer.call(world.economy.audit)
    assert audit["balanced"], audit
    out = await asyncio.to_thread(
        run_cli, "admin", "ledger", "audit", "sandbox", "--json", "--db",
        live.services.settings.db,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    actions = [a["action"] for a in await gm_audit(live, http, olga)]
    assert actions.count("gm_give") == 1 and actions.count("gm_spawn_wreck") == 2


async def test_spawned_npcs_come_back_with_their_system(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """A system nobody is in is unloaded; the NPCs a game master spawned there are back when
    it loads again (a removed one is not)."""
    async with running(make_settings(tmp_path, players_own_worlds=True, zone_unload_s=1.0)) as live:
        olga, pete, world = await sandbox_world(live, http)
        assert pete.system is not None
        away = [str(pete.system["links"][0][0]), str(pete.system["links"][0][1])]
        key = f"sandbox.{away[0]}.{away[1]}"
        kept = await olga.gm("spawn_npc", role="trader", sector=away, x=3000.0, y=900.0)
        gone = await olga.gm("spawn_npc", role="miner", sector=away, x=-3000.0, y=900.0)
        await olga.gm("remove", entity=gone["ship"])
        await until(lambda: key not in world.zones, "the empty system is unloaded")
        assert int(kept["clone"]) not in world.agents.pool
        await olga.gm("teleport", ship=pete.ship, sector=away, x=3400.0, y=900.0)
        await until(lambda: key in world.zones, "the system is loaded again")
        ship = await until(
            lambda: world.agents.npc_of_clone.get(int(kept["clone"])), "the trader is back"
        )
        assert world.agents.npcs[ship].key == key and world.agents.npcs[ship].goal.value == "trader"
        assert int(gone["clone"]) not in world.agents.npc_of_clone
        await pump_until([pete], lambda: ship in pete.positions())
        saved = await live.services.writer.call(
            lambda: live.services.store.meta.get("gm.npcs", world="sandbox")
        )
        assert list(json.loads(saved)[key]) == [kept["clone"]]


async def test_gm_actions_are_in_the_footage_and_replay_to_the_live_state(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """In the public world (administrators only): a teleport, a refit, vitals set and a spawned
    NPC are zone edge calls the moderators' footage records; its replay reaches the same state."""
    from callister.moderation.footage import Footage
    from callister.server.moderation_routes import MODERATION

    async with running(make_settings(tmp_path)) as live:
        root = await account(live, http, "Root", "admin")
        pete = await account(live, http, "Pete", "player")
        for bot in (root, pete):
            await bot.connect()
        with pytest.raises(GmRefused) as refused:  # the public world: administrators only
            await pete.gm("teleport", ship=root.ship, x=3000.0, y=0.0)
        assert "administrators" in refused.value.message
        world = live.services.world
        key = world.pilots[int(pete.welcome["account"])].zone_key
        assert key is not None
        mod = live.server.app[MODERATION]
        await until(lambda: key in mod.recorders, "the zone is recorded")
        sector = home_sector(pete)
        await root.gm("teleport", ship=pete.ship, x=3000.0, y=200.0)
        await root.gm("set", ship=pete.ship, hull="interceptor", fuel=10.0)
        await root.gm("spawn_npc", role="patrol", sector=sector, x=-3000.0, y=200.0)
        await pete.send({"t": "input", "ship": pete.ship, "thrust": 1.0, "turn": 0.2})
        zone = world.zones[key].zone
        tick = zone.tick
        await until(lambda: zone.tick > tick + 20, "the zone steps on")
        rec = mod.recorders[key]
        footage, live_hash, now = rec.save(), rec.zone.state_hash(), rec.zone.tick
        assert Footage.decode(footage.encode()).hashes()[now] == live_hash
