"""The living universe in the server (issue 15): the clones' world beyond what players see.

`Living` (one per `World`, owned by `AgentRuntime`) runs the agent core in the real server:

- **The map and the population.** At start the atlas is the home systems and every system one
  jump from them (`Atlas.from_systems`, with the universe's arrival rule); it grows as players
  reach further (`chart`). The population targets are `population.role_targets` scaled by the
  `npc_density` setting; `regulate` brings a clone into being per (system, kind) below target,
  docked at a station, its account opened with its grant from `mint` (`Born`), every ten
  minutes of world time. Deaths are permanent (the archive is stored; the estate goes back to
  `mint`). Haulers are born as traders until the clones table accepts the `hauler` goal.
- **Off-screen.** Systems no player watches run through `OffscreenSim` (timed legs, stays,
  statistical encounters, distress and tugs) with every credit and item through the world's
  `Economy` and ledger (`NpcEconomy`). All access to the simulation and the adapter happens on
  the store-writer thread (`StoreWriter.call`): the step every `STEP_TICKS`, births, hand-offs,
  live dockings, saving. Nothing of it runs on the tick.
- **Snapping back.** When a zone has a player in it (awake), every clone of that system is
  handed off (`OffscreenSim.handoff`: its exact state on its leg) and spawned in the zone with
  its fuel, hull and cargo; each step hands off whoever arrived there off-screen since. When
  the zone sleeps, its clones are adopted back from the state the zone left them in.
- **Live clones** are flown by `Captain`s (`server/captains.py`): plans become autopilot
  intents; tactical decisions (flee, fight, hunt, loot, mine) come from the agent pool.
- **Persistence.** The clones are stored with their memories, beliefs and knowledge
  (`clones` table, `doc`), at each checkpoint those whose memories, relationships or
  knowledge changed since they were last stored (`fingerprint`); their ships' state (where,
  docked, fuel, hull, ammunition, what was paid for the cargo, where it is meant to be sold)
  and the birth serials are one JSON value in the world's `meta` (`npcs`), written at every
  checkpoint. Credits and cargo are
  the ledger's (`player:-<clone id>`, `ship:<ship id>`).
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Protocol, cast

from callister.agents.atlas import Atlas, StationId, SystemId
from callister.agents.decide import unit_hash
from callister.agents.model import Clone, Goal
from callister.agents.offscreen import Agent, Handoff, OffscreenSim, Rules
from callister.agents.planner import STEER_MARGIN, TURN_S, HullSpec, Planner, Ship
from callister.agents.population import Regulator, regulate, role_targets
from callister.economy import rules as econ_rules
from callister.server.captains import Captains
from callister.server.npc_economy import NpcEconomy
from callister.server.ports import LivingWorld, ZoneHandle
from callister.sim.rules import MINING_RATE, REGROW_TICKS, UNITS_PER_POINT
from callister.sim.travel import Drive, leg
from callister.universe import StarSystem, arrival_point


class LivingRuntime(Protocol):
    """What the living universe uses of the agent runtime (server/npcs.py `AgentRuntime`): a
    protocol, so this module imports neither the runtime nor the world."""

    world: Any  # the World, as server/ports.py's LivingWorld
    repo: Any  # server/crew.py StoreCloneRepository
    captains: Captains

    def npc_count(self, key: str) -> int: ...


log = logging.getLogger(__name__)

STEP_TICKS: Final = 100  # world ticks between off-screen steps (5 s at 20 Hz)
REGULATE_TICKS: Final = 12_000  # births and wreck expiry every 10 minutes of world time
SAVE_KEY: Final = "npcs"
HOME_GUARD: Final = 2  # patrols at least in every home system (lawful station or not)
FIRST_WRECK: Final = 1 << 52  # off-screen wreck ids: far above the zones' entity ids
START_SPREAD_S: Final = {  # a fresh world's newborns leave within this many seconds
    Goal.PATROL: 30.0,
    Goal.MINER: 30.0,
    Goal.PIRATE: 90.0,
    Goal.TRADER: 300.0,
    Goal.HAULER: 300.0,
}
HULLS: Final = {  # the hull each kind flies (the hulls the planner's numbers were tuned on)
    Goal.TRADER: "hauler",
    Goal.HAULER: "hauler",
    Goal.MINER: "hauler",
    Goal.PIRATE: "interceptor",
    Goal.PATROL: "interceptor",
}


@dataclass(frozen=True, slots=True)
class Arrival:
    """A clone handed to a zone: its state and the zone key to spawn it in."""

    key: str
    state: Handoff
    agent: Agent


class Living:
    """The world's clones beyond the screen (module docstring)."""

    def __init__(self, runtime: LivingRuntime) -> None:
        self.runtime = runtime
        # a real World: the living universe starts only in one (server/ports.py LivingWorld)
        self.world = cast(LivingWorld, runtime.world)
        self.enabled = False
        self.sim: OffscreenSim | None = None
        self.port: NpcEconomy | None = None
        self.reg: Regulator | None = None
        self.atlas: Atlas | None = None
        self.planner: Planner | None = None
        self.hulls: dict[str, HullSpec] = {}
        self.awake: set[str] = set()  # zone keys with a player in them
        self.keys: dict[SystemId, str] = {}  # awake systems -> their zone keys
        self._busy = False
        self._last_step = 0
        self._last_regulate = 0
        self._ids: list[int] = []
        self.steps = 0
        self.step_ms: deque[float] = deque(maxlen=2_000)  # off-screen steps (writer thread)
        self._saved: dict[int, tuple[Any, ...]] = {}  # clone id -> fingerprint last stored
        self.saved_last = 0  # clones written by the last save
        self.stay_factor = 1.0  # scales how long live clones stay docked (tests shorten it)

    # ------------------------------------------------------------------ start
    async def start(self) -> None:
        """Chart the home systems and their neighbours, restore the stored clones and bring
        the population up to its targets (births through the ledger)."""
        world = self.world
        density = world.settings.npc_density
        if density <= 0 or not world.homes:
            return
        systems: dict[SystemId, StarSystem] = {}
        for hx, hy, _ in world.homes:
            home = await world.universe.get(hx, hy)
            if home is None:
                continue
            systems[(hx, hy)] = home
            for lx, ly in home.links:
                if (lx, ly) not in systems:
                    s = await world.universe.get(lx, ly)
                    if s is not None:
                        systems[(lx, ly)] = s
        content = world.content
        lawful = {k for k, f in content.factions.items() if f.lawful}
        self.atlas = Atlas.from_systems(
            systems.values(), lawful_factions=lawful, arrival=arrival_point
        )
        bases = {k: c.base_price for k, c in content.commodities.items()}
        volumes = {k: c.volume for k, c in content.commodities.items()}
        for k, o in content.ores.items():
            bases.setdefault(k, o.base_price)
            volumes.setdefault(k, econ_rules.ORE_VOLUME)
        self.planner = Planner(
            self.atlas,
            bases=bases,
            volumes=volumes,
            ores={k: o.base_price for k, o in content.ores.items()},
            mining_rate=MINING_RATE,
            fuel_cost=self.fuel_cost,
            fuel_price=econ_rules.FUEL_PRICE,
            stock_value=econ_rules.STOCK_VALUE,
        )
        # a world's pack may remove one of these hulls: its NPCs then fly the starter
        self.hulls = {
            key: HullSpec.of(content.hulls.get(key, content.starter_hull), content.weapons)
            for key in set(HULLS.values())
        }
        rules = Rules(
            tick_hz=world.settings.tick_hz,
            units_per_point=UNITS_PER_POINT,
            regrow_ticks=REGROW_TICKS,
        )
        self.sim = OffscreenSim(self.planner, rules=rules, seed=world.seed)
        self.reg = Regulator(
            self.atlas,
            self.targets(),
            lambda goal: self.hulls[HULLS[goal]],
            seed=world.seed,
            world=world.name,
            next_ship=self._next_ship,
        )
        self.port = NpcEconomy(world.economy, world.store, self.atlas, content)
        saved = await world.writer.call(lambda: world.store.meta.get(SAVE_KEY, world=world.name))
        born = await world.writer.call(self._populate, saved, world.tick)
        self._last_step = self._last_regulate = world.tick
        self.enabled = True
        log.info(
            "living universe started",
            extra={"systems": len(self.atlas), "clones": len(self.sim.agents), "born": born},
        )

    def targets(self) -> dict[tuple[SystemId, Goal], int]:
        """The population targets: role_targets x npc_density (haulers counted as traders:
        the clones table's goal column does not accept `hauler` yet; no pirates are born in
        home systems, and every home system has a guard of HOME_GUARD patrols)."""
        assert self.atlas is not None
        density = self.world.settings.npc_density
        out: dict[tuple[SystemId, Goal], int] = {}
        homes = {(x, y) for x, y, _ in self.world.homes}
        for (sid, goal), n in role_targets(self.atlas).items():
            if goal is Goal.PIRATE and sid in homes:
                continue  # new players start there
            g = Goal.TRADER if goal is Goal.HAULER else goal
            out[(sid, g)] = out.get((sid, g), 0) + n
        for sid in homes & set(self.atlas.systems):
            if self.atlas.system(sid).stations:  # new players start here: a station guard
                out[(sid, Goal.PATROL)] = max(out.get((sid, Goal.PATROL), 0), HOME_GUARD)
        return {k: max(1, round(v * density)) for k, v in out.items()}

    def fuel_cost(self, hull: HullSpec, metres: float) -> float:
        """Fuel of an in-system leg in this world: the simulation's own trip model
        (`sim/travel.py`, normal flight, the world's fuel multiplier) with the planner's
        margin for steering and manoeuvres."""
        if metres <= 0:
            return 0.0
        drive = Drive(max_speed=hull.max_speed, accel=hull.thrust, fuel_burn=hull.fuel_burn)
        m = self.world.rules.fuel_multiplier
        return leg(drive, metres, cruise=False, fuel_multiplier=m).fuel * STEER_MARGIN + (
            TURN_S * hull.fuel_burn * m
        )

    def _next_ship(self) -> int:
        """A ship id for a newborn (world entity ids, reserved in blocks; writer thread)."""
        if not self._ids:
            ids = self.world.store.characters.reserve_ids(1000)
            self._ids = list(reversed(ids))
        return self._ids.pop()

    # ------------------------------------------------------------------ writer thread
    def _populate(self, saved: str | None, now: int) -> int:
        """Restore the stored clones (writer thread), then births up to the targets; a
        fresh world's newborns leave their stations at spread times."""
        sim, reg = self.sim, self.reg
        assert sim is not None and reg is not None and self.port is not None
        fresh = saved is None
        if saved:
            self._restore(json.loads(saved), now)
        born = 0
        for _ in range(8):  # one birth per (system, kind) and round
            n = regulate(sim, reg, now, self.port.execute)
            born += n
            if n == 0:
                break
        if fresh:
            for a in list(sim.living()):
                spread = START_SPREAD_S.get(a.ship.goal, 120.0)
                u = unit_hash(a.id ^ self.world.seed, now, 3)
                sim.wake_at(a.id, now + max(1, int(u * spread * self.world.settings.tick_hz)))
        return born

    def _restore(self, doc: dict[str, Any], now: int) -> None:
        from callister.server.crew import row_to_clone

        sim, reg, atlas = self.sim, self.reg, self.atlas
        assert sim is not None and reg is not None and atlas is not None
        reg.serials = {}
        for key, n in doc.get("serials", {}).items():
            x, y, goal = key.split(",")
            reg.serials[((int(x), int(y)), Goal(goal))] = int(n)
        if self.port is not None:
            self.port._next_wreck = max(self.port._next_wreck, int(doc.get("next_wreck", 0)))
        books = self.world.economy.books
        for d in doc.get("ships", []):
            system = (int(d["sys"][0]), int(d["sys"][1]))
            if system not in atlas:
                continue
            row = self.world.store.clones.get(int(d["id"]))
            if row is None or not row.alive:
                continue  # dead for good: an archive, never back
            clone = row_to_clone(row)
            hull = self.hulls.get(str(d["hull"])) or self.hulls[HULLS[clone.goals.primary]]
            dock = d.get("dock")
            docked: StationId | None = (int(dock[0]), int(dock[1]), int(dock[2])) if dock else None
            sell = d.get("sell_at")
            home = d.get("home")
            ship = Ship(
                clone_id=clone.id,
                actor=-clone.id,
                ship_id=int(d["ship"]),
                goal=clone.goals.primary,
                hull=hull,
                system=system,
                x=float(d["x"]),
                y=float(d["y"]),
                docked_at=docked,
                fuel=float(d["fuel"]),
                hull_hp=float(d["hp"]),
                ammo=float(d.get("ammo", 1.0)),
                cargo=books.cargo(int(d["ship"])),
                paid={str(k): float(v) for k, v in d.get("paid", {}).items()},
                credits=books.credits(-clone.id),
                sell_at=(int(sell[0]), int(sell[1]), int(sell[2])) if sell else None,
                home=(int(home[0]), int(home[1])) if home else None,
                last_trade=d.get("last_trade"),
            )
            sim.add(clone, ship, now, born=int(d.get("born", now)))

    def save(self) -> None:
        """Store every living clone and its ship's state (writer thread)."""
        sim, reg = self.sim, self.reg
        if sim is None or reg is None:
            return
        ships = []
        clones: list[tuple[Clone, int | None]] = []
        for a in sim.living():
            s = a.ship
            ships.append(
                {
                    "id": a.id,
                    "ship": s.ship_id,
                    "hull": s.hull.key,
                    "sys": list(s.system),
                    "x": round(s.x, 2),
                    "y": round(s.y, 2),
                    "dock": list(s.docked_at) if s.docked_at is not None else None,
                    "fuel": round(s.fuel, 3),
                    "hp": round(s.hull_hp, 3),
                    "ammo": round(s.ammo, 4),
                    "paid": s.paid,
                    "sell_at": list(s.sell_at) if s.sell_at is not None else None,
                    "home": list(s.home) if s.home is not None else None,
                    "born": a.born,
                    "last_trade": s.last_trade,
                }
            )
            clones.append((a.clone, s.ship_id))
        for a in sim.dead:
            clones.append((a.clone, None))
        sim.dead.clear()  # archived once
        changed = []
        for clone, ship in clones:  # only what changed since the last save (module docstring)
            mark = fingerprint(clone)
            if self._saved.get(clone.id) != mark:
                self._saved[clone.id] = mark
                changed.append((clone, ship))
        self.runtime.repo.put_many(changed)
        self.saved_last = len(changed)
        doc = {
            "ships": ships,
            "serials": {
                f"{sid[0]},{sid[1]},{goal.value}": n
                for (sid, goal), n in (reg.serials or {}).items()
            },
            "next_wreck": self.port._next_wreck if self.port is not None else FIRST_WRECK,
        }
        self.world.store.meta.set(SAVE_KEY, json.dumps(doc), world=self.world.name)

    def _step(self, now: int, regulate_now: bool) -> list[Arrival]:
        """One off-screen step (writer thread): due events, encounters, rescues; births and
        wreck expiry when due; then hand off whoever is now in a system players watch."""
        sim, port, reg = self.sim, self.port, self.reg
        assert sim is not None and port is not None and reg is not None
        t0 = time.perf_counter()
        sim.step(now, port.execute)
        if regulate_now:
            regulate(sim, reg, now, port.execute)
            port.expire()
        port.distress_calls.clear()  # off-screen calls: nobody there to hear them
        self.steps += 1
        out = self._handoffs(now)
        self.step_ms.append((time.perf_counter() - t0) * 1000.0)
        return out

    def _handoffs(self, now: int) -> list[Arrival]:
        sim = self.sim
        assert sim is not None
        out = []
        for system, key in list(self.keys.items()):
            for h in sim.handoff(system, now):
                out.append(Arrival(key, h, sim.agents[h.clone_id]))
        return out

    def _chart(self, system: StarSystem, now: int) -> list[Arrival]:
        """A system players reached that the atlas lacks (writer thread): chart it, refit the
        targets and bring its first clones into being."""
        atlas, planner, reg, sim, port = self.atlas, self.planner, self.reg, self.sim, self.port
        assert atlas is not None and planner is not None and reg is not None
        assert sim is not None and port is not None
        lawful = {k for k, f in self.world.content.factions.items() if f.lawful}
        extra = Atlas.from_systems([system], lawful_factions=lawful, arrival=arrival_point)
        atlas.extend(extra.system(s) for s in extra.systems)
        planner.charted()
        reg.targets = self.targets()
        for _ in range(4):
            if regulate(sim, reg, now, port.execute) == 0:
                break
        return self._handoffs(now)

    # ------------------------------------------------------------------ loop thread
    def tick(self, tick: int) -> None:
        """Once per world tick (cheap): notice zones waking and sleeping (once a second) and
        start an off-screen step on the writer thread when one is due and none is running."""
        if not self.enabled:
            return
        if tick % 20 == 0:
            self._sync_zones(tick)
        if not self._busy and tick - self._last_step >= STEP_TICKS:
            self._busy = True
            self._last_step = tick
            due = tick - self._last_regulate >= REGULATE_TICKS
            if due:
                self._last_regulate = tick
            self.world.spawn(self._run_step(tick, due), "offscreen step")

    async def _run_step(self, tick: int, due: bool) -> None:
        try:
            arrivals = await self.world.writer.call(self._step, tick, due)
            self._arrive(arrivals)
            gauges = self.world.metrics.gauges
            gauges["callister_npc_clones"] = sum(self.population().values())
            gauges["callister_npcs_live"] = len(self.runtime.captains)
        except Exception:
            log.exception("off-screen step failed")
        finally:
            self._busy = False

    def _arrive(self, arrivals: Iterable[Arrival]) -> None:
        runtime = self.runtime
        back: list[Arrival] = []
        for a in arrivals:
            handle = self.world.zones.get(a.key)
            if handle is None or a.key not in self.awake:
                back.append(a)  # the zone fell asleep meanwhile: off-screen again
                continue
            try:
                runtime.captains.spawn(handle, a.agent, a.state)
            except Exception:
                log.exception("hand-off failed", extra={"clone": a.state.clone_id})
                back.append(a)
        if back:
            now = self.world.tick
            self.world.writer.submit(self._adopt_many, [(a.state, None) for a in back], now)

    def _adopt_many(self, states: list[tuple[Handoff, dict[str, int] | None]], now: int) -> None:
        sim = self.sim
        assert sim is not None
        for state, cargo in states:
            if state.clone_id in sim.agents:
                sim.adopt(state, cargo=cargo, now=now)

    def _sync_zones(self, tick: int) -> None:
        runtime = self.runtime
        seen = set()
        for key, handle in list(self.world.zones.items()):
            awake = handle.zone.ship_count > runtime.npc_count(key)
            if awake:
                seen.add(key)
                if key not in self.awake:
                    self.awake.add(key)
                    self.keys[handle.sector] = key
                    self.world.spawn(self._wake(handle, tick), f"wake {key}")
        for key in list(self.awake - seen):
            self.sleep(key, tick)

    async def _wake(self, handle: ZoneHandle, tick: int) -> None:
        """A player is in this zone: its off-screen clones snap back into it."""
        assert self.atlas is not None
        try:
            if handle.sector not in self.atlas:
                arrivals = await self.world.writer.call(self._chart, handle.system, tick)
            else:
                arrivals = await self.world.writer.call(self._handoff_one, handle.sector, tick)
            self._arrive(arrivals)
        except Exception:
            log.exception("wake failed", extra={"zone": handle.key})

    def _handoff_one(self, system: SystemId, now: int) -> list[Arrival]:
        sim = self.sim
        assert sim is not None
        key = self.keys.get(system)
        if key is None:
            return []
        return [Arrival(key, h, sim.agents[h.clone_id]) for h in sim.handoff(system, now)]

    def sleep(self, key: str, tick: int, handle: ZoneHandle | None = None) -> None:
        """No player in this zone any more (or it unloads): its live clones go back
        off-screen, from the state the zone left them in."""
        self.awake.discard(key)
        for sector, k in list(self.keys.items()):
            if k == key:
                del self.keys[sector]
        states = self.runtime.captains.leave_zone(key, tick, handle)
        if states:
            self.world.writer.submit(self._adopt_many, states, tick)

    def adopt(self, state: Handoff, cargo: dict[str, int] | None, tick: int) -> None:
        """One live clone goes back off-screen (it jumped out of a watched system)."""
        self.world.writer.submit(self._adopt_many, [(state, cargo)], tick)

    def station_id(self, handle: ZoneHandle, index: int) -> StationId:
        return (handle.sector[0], handle.sector[1], index)

    def system_name(self, system: SystemId) -> str:
        if self.atlas is not None and system in self.atlas:
            return self.atlas.system(system).name
        return f"({system[0]}, {system[1]})"

    def population(self) -> dict[str, int]:
        """Living clones by kind (metrics, tests): off-screen and live."""
        out: dict[str, int] = {}
        if self.sim is not None:
            for a in self.sim.living():
                out[a.ship.goal.value] = out.get(a.ship.goal.value, 0) + 1
        return out


def fingerprint(clone: Clone) -> tuple[Any, ...]:
    """What a stored clone must be rewritten for when it changes: its life, its memories (a
    new one, or a compaction), its relationships and what it knows (prices, dangers, attacks).
    Moods alone do not count: they settle back to the personality by themselves."""
    memory = clone.memory
    n = len(memory)
    k = clone.knowledge
    return (
        clone.alive,
        n,
        memory[-1].seq if n else -1,
        len(clone.relationships),
        sum(r.last_tick + r.attacks + r.helps + int(r.hostile) for r in clone.relationships),
        len(k.markets),
        sum(m.tick for m in k.markets.values()),
        len(k.dangers),
        sum(d.tick for d in k.dangers.values()),
        len(k.attacks),
        len(k.names),
    )


__all__ = ["HULLS", "STEP_TICKS", "Arrival", "Living"]
