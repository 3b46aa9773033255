"""A headless universe fast-forwarded: N clones living H simulated hours, no players.

`callister bench economy --agents N --hours H` runs exactly what a server runs for systems no
player watches: the generated systems around sector (0, 0) (as many as the population
targets need, `population.role_targets` scaled to N), the clones' planner, memories,
reflection, gossip and encounter decisions (`agents.offscreen.OffscreenSim`), births at
stations when a kind falls below its target (`population.regulate`), and every credit and
item through the real `Economy` and ledger on a temporary SQLite database (under /dev/shm when
the machine has it: memory-backed, so the disk does not set the pace), through the one adapter
`bench.npc_economy.NpcEconomy`. Time advances in steps of `step_s` simulated seconds; the
economy's clock is the simulated time, so markets drift as they would.

What it prints (`--json`): `agents` (the target population), `systems`, `simulated_hours`,
`wall_seconds`; `stranded_fraction` (clones stranded, i.e. unable to reach fuel, for more than
5 simulated minutes at a time, over all clones that lived); `trades_per_trader_hour` (`mean`,
`min` over traders and haulers alive at least an hour: sales of goods they bought, per hour
alive); `price_ratio` (`min`, `max` of a unit's value / its base price over every market
station and item, sampled every 4 simulated hours and at the end); `ledger_balanced` (the full
audit: ledger and items); `cpu_seconds` (this process's CPU time: on a shared machine the
wall clock also counts other processes' turns); `population` (`start`, `end`, `target`,
`min`, `max` of the samples); `npc_deaths`, `npc_births` (after the start);
`credits_in_circulation` (`start`, `end`: all NPC accounts); and counters (transactions,
fights, escapes, distress calls, rescues, tugs, gossip conversations).
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from callister.agents.atlas import Atlas
from callister.agents.model import Goal
from callister.agents.offscreen import OffscreenSim, Rules
from callister.agents.planner import HullSpec, Planner
from callister.agents.population import Regulator, regulate, role_targets, scale_targets
from callister.bench.systems import bench_systems
from callister.content import Content, load_content
from callister.economy import Economy, StationRef, pricing, rules
from callister.server.npc_economy import NpcEconomy
from callister.sim.rules import MINING_RATE, REGROW_TICKS, UNITS_PER_POINT
from callister.store import open_store
from callister.universe import StarSystem, arrival_point

WORLD: Final = "bench-economy"
TICK_HZ: Final = 20
EPOCH: Final = 1_700_000_000.0  # the economy's clock at tick 0 (any fixed Unix time)
STRANDED_S: Final = 300.0  # "stranded": unable to reach fuel for longer than this
BIRTHS_EVERY_S: Final = 600.0
SAMPLE_EVERY_S: Final = 4 * 3600.0
FIRST_SHIP: Final = 1 << 40


def systems_for(seed: int, agents: int) -> list[StarSystem]:
    """The systems nearest (0, 0) whose population targets add up to at least `agents`."""
    count = 8
    content_lawful = {k for k, f in load_content().factions.items() if f.lawful}
    while True:
        systems = bench_systems(seed, count)
        atlas = Atlas.from_systems(systems, lawful_factions=content_lawful)
        total = sum(role_targets(atlas).values())
        if total >= agents:
            # trim to the fewest systems that still reach the target
            need, acc = [], 0
            targets = role_targets(atlas)
            for s in systems:
                need.append(s)
                acc += sum(v for (sid, _), v in targets.items() if sid == (s.x, s.y))
                if acc >= agents:
                    return need
            return systems
        count = math.ceil(count * max(1.5, agents / max(total, 1)))


def _scratch_dir() -> str:
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else tempfile.gettempdir()


class _Clock:
    """The economy's clock: the simulated time in Unix seconds."""

    def __init__(self) -> None:
        self.tick = 0

    def __call__(self) -> float:
        return EPOCH + self.tick / TICK_HZ


def _progress(done: float, total: float, extra: str) -> None:
    width = 30
    filled = int(width * done / max(total, 1e-9))
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:5.1f}/{total:g} h {extra}")
    sys.stderr.flush()


def price_ratios(economy: Economy, atlas: Atlas, content: Content) -> tuple[float, float]:
    """(min, max) over every market station and item of a unit's value / its base price."""
    lo, hi = math.inf, 0.0
    bases = {k: c.base_price for k, c in content.commodities.items()}
    for k, o in content.ores.items():
        bases.setdefault(k, o.base_price)
    for st in atlas.stations():
        if not st.has("market"):
            continue
        ref = StationRef(st.id[0], st.id[1], st.id[2], st.faction, tuple(sorted(st.services)))
        for item in economy.screen(ref)["items"]:
            target = economy.catalog.target_stock(ref, item["key"])
            ratio = pricing.price_factor(target, item["stock"]) * economy.catalog.multiplier
            lo, hi = min(lo, ratio), max(hi, ratio)
    return (lo if lo != math.inf else 1.0), hi


def run_economy_bench(
    agents: int,
    hours: float,
    *,
    seed: int = 1,
    progress: bool = True,
    step_s: float = 10.0,
    on_sim: Callable[[OffscreenSim, NpcEconomy], None] | None = None,
) -> dict[str, Any]:
    """Run the headless universe (module docstring) and return its figures. `on_sim` is
    called once with the simulation and the adapter before time starts (tests use it)."""
    if agents < 1 or hours <= 0 or step_s <= 0:
        raise ValueError("agents must be >= 1, hours and step_s > 0")
    started = time.perf_counter()
    cpu_started = time.process_time()
    content = load_content()
    lawful = {k for k, f in content.factions.items() if f.lawful}
    systems = systems_for(seed, agents)
    atlas = Atlas.from_systems(systems, lawful_factions=lawful, arrival=arrival_point)
    bases = {k: c.base_price for k, c in content.commodities.items()}
    volumes = {k: c.volume for k, c in content.commodities.items()}
    for k, o in content.ores.items():
        bases.setdefault(k, o.base_price)
        volumes.setdefault(k, rules.ORE_VOLUME)
    planner = Planner(
        atlas,
        bases=bases,
        volumes=volumes,
        ores={k: o.base_price for k, o in content.ores.items()},
        mining_rate=MINING_RATE,
        fuel_price=rules.FUEL_PRICE,
        stock_value=rules.STOCK_VALUE,
    )
    # the hulls the base content's NPC roles fly (npc_roles.toml), as the server's
    hulls = {
        h: HullSpec.of(content.hulls[h], content.weapons)
        for r in content.npc_roles.values()
        for h in r.hulls
    }
    sim_rules = Rules(tick_hz=TICK_HZ, units_per_point=UNITS_PER_POINT, regrow_ticks=REGROW_TICKS)
    sim = OffscreenSim(planner, rules=sim_rules, seed=seed)
    ships = iter(range(FIRST_SHIP, FIRST_SHIP + (1 << 30)))
    targets = scale_targets(role_targets(atlas, content.npc_roles), agents)
    reg = Regulator(
        atlas,
        targets,
        hulls.__getitem__,
        content.npc_roles,
        seed=seed,
        world=WORLD,
        next_ship=lambda: next(ships),
    )
    with tempfile.TemporaryDirectory(prefix="callister-economy-", dir=_scratch_dir()) as tmp:
        store = open_store(f"sqlite:///{tmp}/economy.db?synchronous=NORMAL")
        try:
            clock = _Clock()
            economy = Economy(store, content, WORLD, clock=clock)
            port = NpcEconomy(economy, store, atlas, content)
            if on_sim is not None:
                on_sim(sim, port)
            while regulate(sim, reg, 0, port.execute):
                pass  # the first population: every kind up to its target
            start_pop = sum(1 for _ in sim.living())
            start_credits = port.circulation()
            births0 = sim.stats.births
            total_ticks = int(hours * 3600 * TICK_HZ)
            step = max(1, int(step_s * TICK_HZ))
            births_every = int(BIRTHS_EVERY_S * TICK_HZ)
            sample_every = int(SAMPLE_EVERY_S * TICK_HZ)
            lo, hi = math.inf, 0.0
            pops = [start_pop]
            now = 0
            while now < total_ticks:
                now = min(total_ticks, now + step)
                clock.tick = now
                sim.step(now, port.execute)
                if now % births_every < step:
                    regulate(sim, reg, now, port.execute)
                    port.expire()
                if now % sample_every < step or now == total_ticks:
                    a, b = price_ratios(economy, atlas, content)
                    lo, hi = min(lo, a), max(hi, b)
                    pops.append(sum(1 for _ in sim.living()))
                    if progress:
                        _progress(now / (3600 * TICK_HZ), hours, f"{pops[-1]} clones")
            if progress:
                sys.stderr.write("\n")
            result = _figures(sim, port, now, agents, hours, len(systems), targets)
            audit = economy.audit()
        finally:
            store.db.close()
    result.update(
        {
            "price_ratio": {"min": round(lo, 4), "max": round(hi, 4)},
            "ledger_balanced": bool(audit["balanced"]),
            "ledger_problems": audit["problems"][:5],
            "population": {
                "start": start_pop,
                "end": pops[-1],
                "target": sum(targets.values()),
                "min": min(pops),
                "max": max(pops),
            },
            "npc_births": sim.stats.births - births0,
            "credits_in_circulation": {"start": start_credits, "end": result.pop("_credits")},
            "wall_seconds": round(time.perf_counter() - started, 1),
            "cpu_seconds": round(time.process_time() - cpu_started, 1),
        }
    )
    return result


def _figures(
    sim: OffscreenSim,
    port: NpcEconomy,
    now: int,
    agents: int,
    hours: float,
    systems: int,
    targets: dict[Any, int],
) -> dict[str, Any]:
    everyone = [*sim.agents.values(), *sim.dead]
    limit = int(STRANDED_S * TICK_HZ)
    stranded = sum(1 for a in everyone if sim.stranded_for(a, now) > limit)
    rates = []
    for a in everyone:
        if a.ship.goal not in (Goal.TRADER, Goal.HAULER):
            continue
        end = a.clone.died_tick if a.clone.died_tick is not None else now
        alive_h = (end - a.born) / (3600 * TICK_HZ)
        if alive_h >= 1.0:
            rates.append(a.trades / alive_h)
    st = sim.stats
    return {
        "agents": agents,
        "systems": systems,
        "simulated_hours": hours,
        "stranded_fraction": round(stranded / max(1, len(everyone)), 4),
        "trades_per_trader_hour": {
            "mean": round(sum(rates) / len(rates), 3) if rates else 0.0,
            "min": round(min(rates), 3) if rates else 0.0,
            "below_one": sum(1 for r in rates if r < 1.0),
            "traders": len(rates),
        },
        "npc_deaths": st.deaths,
        "_credits": port.circulation(),
        "counters": {
            "transactions": port.transactions,
            "trades": st.trades,
            "encounters": st.encounters,
            "fights": st.fights,
            "escapes": st.escapes,
            "distress_calls": st.distress,
            "rescues": st.rescues,
            "tugs": st.tugs,
            "gossip": st.gossip,
            "refused": st.refused,
            "events": st.events,
        },
    }
