"""The living universe on a real server (issue 15): real zones, the real tick loop, the real
agent code (planner, off-screen simulation, pool), the real economy and ledger on SQLite.

NPCs are the off-screen simulation's clones, handed to the home zone when a player is there,
flown with the autopilot by their captains; what they remember changes what they do.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from callister.agents import Action, Clone, Goal, Profile, Role, Skills
from callister.agents.gossip import gossip
from callister.agents.memory import MemoryKind
from callister.agents.offscreen import Mined
from callister.moderation.feeds import DISTRESS, DistressCall
from callister.server.captains import Captain
from callister.server.living import SAVE_KEY
from callister.server.world import World, ZoneHandle

from ..conftest import LiveServer, live_server, make_settings, running
from ..waiting import until
from .wsclient import player

living = live_server(npc_density=1.0)


def moving_npcs(world: World, handle: ZoneHandle) -> list[int]:
    """NPC ships of the zone in space and under way (over 3 m/s)."""
    out = []
    for ship in world.agents.by_zone.get(handle.key, set()):
        if not handle.zone.has_ship(ship):
            continue
        st = handle.zone.ship_state(ship)
        if st.docked_at is None and math.hypot(st.vx, st.vy) > 3.0:
            out.append(ship)
    return out


def captains(world: World, goal: Goal | None = None) -> list[Captain]:
    return [
        c for c in world.agents.captains.by_clone.values() if goal is None or c.ship.goal is goal
    ]


def move_ship(handle: ZoneHandle, ship: int, x: float, y: float, angle: float = 0.0) -> None:
    """Put a ship elsewhere in its zone (its vitals kept): the test's way to bring two ships
    together without minutes of flying."""
    zone = handle.zone
    st = zone.ship_state(ship)
    from callister.content import load_content

    zone.remove_ship(ship)
    zone.add_ship(
        ship, st.owner, load_content().hulls[st.hull], x=x, y=y, angle=angle, readmit=True,
        hull_hp=st.hull_hp, shield=st.shield, energy=st.energy, fuel=st.fuel,
        weapons=st.weapons, ammo=st.ammo,
    )  # fmt: skip


async def in_space(bot: Any, world: World, goal: Goal | None = None) -> Captain:
    """The first captain (of `goal`) flying undocked, waiting up to 90 s for one."""
    found: Captain = await wait(
        bot,
        lambda: next((c for c in captains(world, goal) if c.ship.docked_at is None), None),
        "an NPC in space" if goal is None else f"a {goal.value} in space",
        timeout=90,
    )
    return found


async def wait(bot: Any, cond: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """`until` while the player's client keeps reading its socket."""

    async def pumped() -> Any:
        await bot.pump(0.05)
        return cond()

    return await until(pumped, what, timeout=timeout)


async def undocked_player(
    live: LiveServer, http: aiohttp.ClientSession, name: str
) -> tuple[Any, ZoneHandle]:
    """A new player undocked from its home station, and the zone its ship is in (where the
    NPCs it is to watch are handed)."""
    bot = await player(live, http, name)
    await bot.send({"t": "undock", "ship": bot.ship})
    await wait(bot, lambda: not bot.docked, "undocked")
    world = live.services.world
    return bot, world.zones[world.pilots[bot.welcome["account"]].zone_key]


async def test_a_new_player_sees_traffic_and_births_are_paid_through_the_ledger(
    living: LiveServer, http: aiohttp.ClientSession
) -> None:
    world = living.services.world
    assert world.agents.living.enabled
    bot, handle = await undocked_player(living, http, "newcomer")
    # the target of issue 15: at least 3 other ships moving within 90 s of undocking
    await wait(bot, lambda: len(moving_npcs(world, handle)) >= 3, "3 NPC ships moving", timeout=90)
    # they fly with the autopilot (the same intent players use), not straight-line drift
    s = handle.zone.store
    on_ap = [sh for sh in moving_npcs(world, handle) if s.ap_kind.item(s.find(sh)) != 0]  # type: ignore[arg-type]
    assert on_ap
    # every clone was born through the ledger (a grant from the mint) and the books balance
    population = world.agents.living.population()
    assert population and "pirate" not in {
        c.ship.goal.value for c in captains(world)
    }  # no pirates where new players start
    bot_audit = await world.writer.call(world.economy.audit)
    assert bot_audit["balanced"], bot_audit["problems"]
    some = next(iter(world.agents.living.sim.agents.values()))  # type: ignore[union-attr]
    credits = await world.writer.call(world.economy.books.credits, -some.id)
    assert credits > 0
    await bot.close()


async def test_a_miner_attacked_by_a_player_flees_or_fights_when_they_come_back(
    living: LiveServer, http: aiohttp.ClientSession
) -> None:
    world = living.services.world
    bot, handle = await undocked_player(living, http, "raider")
    miner = await in_space(bot, world, Goal.MINER)
    mine = handle.zone.ship_state(miner.ship.ship_id)
    move_ship(handle, bot.ship, mine.x + 300.0, mine.y, angle=math.pi)
    laser = next(i for i, w in enumerate(bot.status["weapons"]) if w["kind"] == "hitscan")
    clone = miner.agent.clone
    me = bot.welcome["account"]

    async def attack() -> bool:
        await bot.send(
            {"t": "fire", "ship": bot.ship, "slot": laser, "target": str(miner.ship.ship_id)}
        )
        await bot.pump(0.6)
        rel = clone.relationships.get(me)
        return rel is not None and rel.hostile

    await until(attack, "the miner holds the player hostile", timeout=60)
    # the player leaves (its ship leaves the zone): nobody watches, the miner goes off-screen
    gone = handle.zone.remove_ship(bot.ship)
    sim = world.agents.living.sim
    assert sim is not None
    # the captain lets go on the loop; the off-screen simulation takes the clone back on the
    # writer thread, a moment later
    await wait(
        bot,
        lambda: (
            miner.clone_id not in world.agents.captains.by_clone
            and sim.agents[miner.clone_id].phase != "live"
        ),
        "off-screen",
    )
    # ... and comes back: the system snaps back, the miner with it, remembering
    from callister.content import load_content

    handle.zone.add_ship(
        bot.ship, gone.owner, load_content().hulls[gone.hull], x=gone.x, y=gone.y,
        readmit=True, fuel=gone.fuel, hull_hp=gone.hull_hp, weapons=gone.weapons,
    )  # fmt: skip
    back = await wait(
        bot, lambda: world.agents.captains.by_clone.get(miner.clone_id), "the miner back on screen"
    )
    assert back.agent.clone is clone and clone.relationships.get(me).hostile  # type: ignore[union-attr]
    await wait(bot, lambda: back.ship.docked_at is None, "the miner in space", timeout=120)
    here = handle.zone.ship_state(back.ship.ship_id)
    move_ship(handle, bot.ship, here.x + 900.0, here.y, angle=math.pi)

    def reacts() -> bool:
        d = world.agents.last.get(miner.clone_id)
        return d is not None and d.action in (Action.FLEE, Action.DEFEND)

    await wait(bot, reacts, "the miner flees or fights (not idles)", timeout=30)
    await bot.close()


async def test_an_npc_attacked_by_an_npc_holds_it_hostile(
    living: LiveServer, http: aiohttp.ClientSession
) -> None:
    world = living.services.world
    bot, handle = await undocked_player(living, http, "witness")
    victim = await in_space(bot, world)
    pirate = Clone.create(
        world.agents.repo.new_id(),
        Profile(name="Rook", traits=("ruthless", "brave"), skills=Skills(0.8, 0.9, 0.2, 0.1)),
        world=world.name,
        goal=Goal.PIRATE,
        role=Role.PILOT,
    )
    ship = await world.ids.next()
    at = handle.zone.ship_state(victim.ship.ship_id)
    world.agents.spawn_npc(handle, pirate, ship, "interceptor", at.x + 600.0, at.y)
    mine = world.agents.pool.clone(pirate.id)

    def belief() -> Clone | None:
        """Whoever of the two was attacked holds the other hostile (NPC ids are negative)."""
        for who, other in ((victim.agent.clone, -pirate.id), (mine, victim.ship.actor)):
            rel = who.relationships.get(other)
            if rel is not None and rel.hostile and rel.attacks >= 2:
                return who
        return None

    held = await wait(bot, belief, "an NPC holds its NPC attacker hostile", timeout=60)
    assert any(m.event == "attacked" for m in held.memory)
    assert any("hostile" in m.text for m in held.memory if m.kind is MemoryKind.REFLECTION)
    await bot.close()


async def test_a_stranded_npc_calls_for_help_and_is_helped(
    living: LiveServer, http: aiohttp.ClientSession
) -> None:
    world = living.services.world
    calls: list[DistressCall] = []
    world.bus.subscribe(DISTRESS, calls.append)
    sim = world.agents.living.sim
    assert sim is not None
    sim.rules = dataclasses.replace(sim.rules, tug_after=200)  # the tug comes after 10 s
    bot, handle = await undocked_player(living, http, "bystander")
    cap = await wait(
        bot,
        lambda: next((c for c in captains(world) if c.phase in ("leg", "work")), None),
        "an NPC in space",
        timeout=90,
    )
    handle.zone.set_vitals(cap.ship.ship_id, fuel=0.0)  # its tank is empty
    await wait(bot, lambda: any(c.ship == cap.ship.ship_id for c in calls), "a distress call")
    assert calls[-1].caller == cap.agent.clone.name  # by name, like a player's call
    await wait(bot, lambda: cap.helped, "help came", timeout=60)
    assert handle.zone.vitals(cap.ship.ship_id).fuel > 1.0
    # it plans on (to fuel) rather than drifting
    await wait(bot, lambda: cap.phase in ("leg", "docking", "docked", "work"), "on its way")
    assert any(m.event in ("rescued", "helped") for m in cap.agent.clone.memory)
    audit = await world.writer.call(world.economy.audit)
    assert audit["balanced"], audit["problems"]  # the rescue was paid through the ledger
    await bot.close()


async def test_a_trader_flies_where_its_remembered_prices_say(
    living: LiveServer, http: aiohttp.ClientSession
) -> None:
    world = living.services.world
    bot, handle = await undocked_player(living, http, "observer")
    trader = await wait(
        bot,
        lambda: next((c for c in captains(world, Goal.TRADER) if c.phase == "docked"), None),
        "a docked trader",
        timeout=60,
    )
    planner = world.agents.living.planner
    assert planner is not None
    here = trader.ship.docked_at
    markets = [s for s in planner.markets_near(trader.ship.system) if s != here]
    assert len(markets) >= 2
    cheap, dear = markets[0], markets[1]
    k = trader.agent.clone.knowledge
    k.markets.clear()
    now = world.tick
    item = "medicine"
    base = planner.bases[item]
    # it remembers a bargain at one market and a buyer paying well at another
    k.saw_market(cheap, now, buy={item: int(base * 0.6)}, sell={item: int(base * 0.55)})
    k.saw_market(dear, now, buy={item: int(base * 1.9)}, sell={item: int(base * 1.8)})
    trader.ship.cargo.clear()
    trader.until = world.tick  # its stay is over: it plans now

    def planned() -> Any:
        p = trader.plan
        return p if p is not None and p.purpose in ("buy", "trade") else None

    plan = await wait(bot, planned, "the trader's plan")
    assert plan.station == cheap and plan.purpose == "buy"
    if plan.station[:2] == handle.sector:  # the autopilot flies it to that station
        s = handle.zone.store
        await wait(bot, lambda: s.ap_kind.item(s.find(trader.ship.ship_id)) != 0, "autopilot on")
        assert s.ap_index.item(s.find(trader.ship.ship_id)) == cheap[2]
    await bot.close()


async def test_beliefs_and_gossip_survive_a_restart(tmp_path: Path, store_url: str) -> None:
    settings = make_settings(tmp_path, npc_density=1.0, db=store_url)
    async with running(settings) as server:
        world = server.services.world
        sim = world.agents.living.sim
        assert sim is not None
        clone, listener = (a.clone for a in list(sim.agents.values())[:2])
        clone.relationships.of(4242, "Vex").hostile = True
        station = next(iter(world.agents.living.atlas.stations())).id  # type: ignore[union-attr]
        clone.knowledge.saw_market(station, world.tick, buy={"ore": 11}, sell={"ore": 9})
        clone.knowledge.saw_attack(-77, 4242, station[:2], world.tick, on_us=False)
        gossip(clone, listener, world.tick)  # docked together: the listener hears of both
        assert listener.knowledge.markets[station].hops == 1
        await world.checkpoint()
        saved = await world.writer.call(lambda: world.store.meta.get(SAVE_KEY, world=world.name))
        assert saved and str(clone.id) in saved
        count = len(sim.agents)
    async with running(settings) as server:
        world = server.services.world
        sim = world.agents.living.sim
        assert sim is not None
        again = sim.agents[clone.id].clone  # the same clone, not a newborn
        assert again.relationships.get(4242).hostile  # type: ignore[union-attr]
        assert again.knowledge.markets[station].buy == {"ore": 11}
        assert any(a.attacker == -77 for a in again.knowledge.attacks)
        heard = sim.agents[listener.id].clone  # what it heard, with who told it
        assert heard.knowledge.markets[station].buy == {"ore": 11}
        assert heard.knowledge.markets[station].source == -clone.id
        assert any(a.attacker == -77 and a.hops == 1 for a in heard.knowledge.attacks)
        assert any(m.event == "heard-attack" for m in heard.memory)
        assert len(sim.agents) == count  # nobody born twice


async def test_a_docked_trader_trades_through_the_ledger_and_moves_prices(
    living: LiveServer, http: aiohttp.ClientSession
) -> None:
    world = living.services.world
    bot, handle = await undocked_player(living, http, "merchant")
    trader = await wait(
        bot,
        lambda: next(
            (
                c
                for c in captains(world, Goal.TRADER)
                if c.phase == "docked" and c.ship.docked_at is not None
            ),
            None,
        ),
        "a docked trader",
        timeout=60,
    )
    planner = world.agents.living.planner
    assert planner is not None
    here = trader.ship.docked_at
    assert here is not None
    # it has heard that every good sells dear at another market near by
    other = next(s for s in planner.markets_near(trader.ship.system) if s != here)
    dear = {item: int(base * 1.9) for item, base in planner.bases.items()}
    trader.agent.clone.knowledge.saw_market(other, world.tick, buy={}, sell=dear)
    ref = world.agents.living.port._ref(here)  # type: ignore[union-attr]
    before = await world.writer.call(world.economy.screen, ref)
    credits = await world.writer.call(world.economy.books.credits, trader.ship.actor)
    world.agents.captains.on_docked(handle, trader.ship.ship_id, here[2])  # as on `Docked`

    async def bought() -> bool:
        cargo = await world.writer.call(world.economy.books.cargo, trader.ship.ship_id)
        return bool(cargo) and trader.phase == "docked"

    await until(bought, "the trader bought goods here")
    after = await world.writer.call(world.economy.screen, ref)
    spent = credits - await world.writer.call(world.economy.books.credits, trader.ship.actor)
    assert spent > 0  # paid from its own account
    stock = {i["key"]: i["stock"] for i in before["items"]}
    assert any(i["stock"] < stock[i["key"]] for i in after["items"])  # the station's stock moved
    assert trader.agent.clone.knowledge.markets[here].tick >= 0  # it read the screen
    assert trader.ship.sell_at == other  # bought for the market it heard of
    audit = await world.writer.call(world.economy.audit)
    assert audit["balanced"], audit["problems"]
    await bot.close()


async def test_a_patrol_flies_out_with_fuel_for_a_stranded_npc(
    living: LiveServer, http: aiohttp.ClientSession
) -> None:
    world = living.services.world
    sim = world.agents.living.sim
    assert sim is not None
    sim.rules = dataclasses.replace(sim.rules, tug_after=10**9)  # no tug: a clone must come
    bot, handle = await undocked_player(living, http, "onlooker")
    patrol = await wait(
        bot,
        lambda: next((c for c in captains(world, Goal.PATROL) if c.ship.docked_at is None), None),
        "a patrol out on its beat",
        timeout=90,
    )
    stranded = next(
        c for c in captains(world) if c is not patrol and c.ship.goal is not Goal.PIRATE
    )
    if stranded.ship.docked_at is not None:
        await wait(bot, lambda: stranded.ship.docked_at is None, "the other NPC in space", 120)
    fuel_before = None

    def strand() -> bool:
        nonlocal fuel_before
        if stranded.phase == "stranded":
            return True
        handle.zone.set_vitals(stranded.ship.ship_id, fuel=0.0)
        return False

    await wait(bot, strand, "stranded")
    fuel_before = handle.zone.vitals(patrol.ship.ship_id).fuel
    await wait(bot, lambda: stranded.helped, "help came", timeout=120)
    helper = stranded.helped[-1]
    helpers = {c.agent.clone.name for c in captains(world)}
    assert helper in helpers  # a clone of the zone flew out, not the tug
    rel = stranded.agent.clone.relationships.get(
        next(c.ship.actor for c in captains(world) if c.agent.clone.name == helper)
    )
    assert rel is not None and rel.helps >= 1  # it remembers who helped
    if helper == patrol.agent.clone.name:
        assert handle.zone.vitals(patrol.ship.ship_id).fuel < fuel_before  # it gave its own
    await bot.close()


async def test_a_destroyed_npc_leaves_its_cargo_in_a_wreck_anyone_can_loot(
    living: LiveServer, http: aiohttp.ClientSession
) -> None:
    world = living.services.world
    bot, handle = await undocked_player(living, http, "scavenger")
    victim = await in_space(bot, world)
    port = world.agents.living.port
    assert port is not None
    ore = next(iter(world.content.ores))
    # ore in its hold, created the way mining creates it (a ledger source)
    done = await world.writer.call(port.execute, Mined(victim.ship, ore, 5))
    assert done.ok
    victim.ship.cargo = dict(done.cargo or {})
    clone_id, ship = victim.clone_id, victim.ship.ship_id
    at = handle.zone.ship_state(ship)
    move_ship(handle, bot.ship, at.x + 250.0, at.y, angle=math.pi)
    handle.zone.set_vitals(ship, hull_hp=1.0, shield=0.0)
    laser = next(i for i, w in enumerate(bot.status["weapons"]) if w["kind"] == "hitscan")

    async def destroyed() -> bool:
        if handle.zone.has_ship(ship):
            await bot.send({"t": "fire", "ship": bot.ship, "slot": laser, "target": str(ship)})
        await bot.pump(0.5)
        return not handle.zone.has_ship(ship)

    await until(destroyed, "the NPC destroyed", timeout=60)
    row = await world.writer.call(world.store.clones.get, clone_id)
    assert row is not None and not row.alive  # dead for good

    async def wreck_with_ore() -> int | None:
        for w in await world.writer.call(
            world.store.ledger.wrecks_in_system, world.name, *handle.sector
        ):
            held = await world.writer.call(
                world.store.ledger.holdings, world.name, f"wreck:{w.wreck_id}"
            )
            if held.get(ore):
                return w.wreck_id
        return None

    wreck = await until(wreck_with_ore, "the NPC's ore in the wreck")
    # the player loots it (the ordinary loot request, within reach of the wreck)
    st = handle.zone.ship_state(bot.ship)
    assert math.hypot(st.x - at.x, st.y - at.y) < 1000

    async def looted() -> bool:
        await bot.send({"t": "loot", "ship": bot.ship, "wreck": str(wreck)})
        await bot.pump(0.5)
        held = await world.writer.call(world.store.ledger.holdings, world.name, f"ship:{bot.ship}")
        return held.get(ore, 0) > 0

    await until(looted, "the player looted the NPC's ore")
    audit = await world.writer.call(world.economy.audit)
    assert audit["balanced"], audit["problems"]
    estate = await world.writer.call(world.economy.books.credits, -clone_id)
    assert estate == 0  # its credits went back to the mint
    await bot.close()
