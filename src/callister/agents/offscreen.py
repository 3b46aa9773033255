"""The coarse simulation of systems no player watches (as X4 simulates out of sector).

A clone off-screen lives the same life with less detail: each leg of its plan (`planner.py`)
is a timed transition (the accelerate-coast-brake profile the planner costs), mining is a
timed stay at a field, a patrol beat or a pirate's prowl a timed stay in a system, and when
ships meet the encounter is resolved statistically, but **who does what is decided by the same
code as on screen**: `decide.utilities` on senses computed from a small view of the ships that
met (`encounter_actions`), and the same planner, memories, reflection and gossip. Whatever
touches credits or items is a `Request` (quote, trade, refuel, repair, rearm, mined, wreck,
loot, rescue, birth, death) that the world executes through the real ledger (`execute`
returns a `Done`); nothing here does I/O.

`OffscreenSim.step(now, execute)` advances every clone to tick `now` (events in tick order,
encounters every `Rules.encounter_every` ticks). `handoff(system, now)` gives each clone of a
system its exact state at `now` (position and velocity along its leg, heading, where it is
going and why, fuel, hull, cargo) and takes it out of the off-screen world: the server spawns
the ships from it and runs them at full fidelity; `adopt(...)` takes them back when the
players leave. A clone stranded without fuel calls for help (`Distress`): a patrol or a
willing clone near by comes (`Rescue`, paid to the rescuer, less by friends), else after
`Rules.tug_after` the nearest station's tug.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from callister.agents.atlas import StationId, SystemId
from callister.agents.decide import Action, choose, unit_hash, utilities
from callister.agents.gossip import gossip, partners
from callister.agents.mind import hostile_slots, notice, traits_of
from callister.agents.model import Clone, Goal
from callister.agents.observe import (
    NONE,
    AgentColumns,
    SeenEvent,
    Stance,
    ZoneStatics,
    ZoneView,
    sense,
)
from callister.agents.planner import Leg, MarketView, Plan, Planner, Ship
from callister.agents.reflection import reflect, should_reflect

NEVER: Final = -(10**12)
MAX_MINING_S: Final = 1800.0  # a miner leaves a poor field after this long, full or not


# --- requests the world executes through the ledger --------------------------------------------


@dataclass(frozen=True, slots=True)
class Quote:
    """Read `station`'s market screen (the agent docked there)."""

    ship: Ship
    station: StationId


@dataclass(frozen=True, slots=True)
class Trade:
    """Buy or sell `qty` of `item` at `station` (side "buy" | "sell")."""

    ship: Ship
    station: StationId
    item: str
    qty: int
    side: str


@dataclass(frozen=True, slots=True)
class Refuel:
    ship: Ship
    station: StationId
    units: float


@dataclass(frozen=True, slots=True)
class Repair:
    ship: Ship
    station: StationId
    points: float


@dataclass(frozen=True, slots=True)
class Rearm:
    ship: Ship
    station: StationId


@dataclass(frozen=True, slots=True)
class Mined:
    """`qty` units of `ore` came into the hold (a source of items)."""

    ship: Ship
    ore: str
    qty: int


@dataclass(frozen=True, slots=True)
class Wrecked:
    """`ship` lost `items` into a new wreck (all of them and its life when `destroyed`).
    `killer` is the actor who did it. Done.qty is the wreck id. `wreck_id`: the wreck a zone
    already made (its entity id; 0: the world picks a new id)."""

    ship: Ship
    killer: int
    items: tuple[tuple[str, int], ...]
    destroyed: bool
    wreck_id: int = 0


@dataclass(frozen=True, slots=True)
class Looted:
    """`ship` takes what fits of wreck `wreck`."""

    ship: Ship
    wreck: int


@dataclass(frozen=True, slots=True)
class Distress:
    """`ship` is stranded at (x, y) in its system: the call a player would see."""

    ship: Ship
    tick: int


@dataclass(frozen=True, slots=True)
class Rescue:
    """`helper` (None: the station's tug) gives `stranded` `fuel` units; the stranded pays
    `fee` credits to the helper (or to the station's services)."""

    helper: Ship | None
    stranded: Ship
    fuel: float
    fee: int
    station: StationId | None = None


@dataclass(frozen=True, slots=True)
class Born:
    """A clone comes into being at `station` with a ship; its account is opened with `grant`
    credits from the mint."""

    ship: Ship
    station: StationId
    grant: int


@dataclass(frozen=True, slots=True)
class Died:
    """The clone flying `ship` died (permanently): its estate leaves circulation."""

    ship: Ship
    cause: str


Request = (
    Quote
    | Trade
    | Refuel
    | Repair
    | Rearm
    | Mined
    | Wrecked
    | Looted
    | Distress
    | Rescue
    | Born
    | Died
)


@dataclass(frozen=True, slots=True)
class Done:
    """The result of a request: `ok`, the clone's `credits` after it (None: unchanged), the
    ship's `cargo` after it (None: unchanged), a quantity (units traded, fuel bought, items
    mined, a wreck id), a credit `total`, the market seen (Quote) and why it failed."""

    ok: bool
    credits: int | None = None
    cargo: dict[str, int] | None = None
    qty: float = 0.0
    total: int = 0
    market: MarketView | None = None
    why: str = ""
    prices: tuple[int, int] | None = None  # (buy, sell) unit prices after a trade


Execute = Callable[[Request], Done]


# --- who answers a distress call ----------------------------------------------------------------

MIN_RESCUE_WILL: Final = 0.2  # below this a clone does not answer a distress call


def rescue_will(clone: Clone, goal: Goal, caller: int) -> float:
    """How willing `clone` (flying with `goal`) is to help the stranded actor `caller`: a
    patrol fully (1.0), others by agreeableness and their affinity to the caller, and nobody
    who holds the caller hostile (0.0)."""
    rel = clone.relationships.get(caller)
    if rel is not None and rel.hostile:
        return 0.0
    if goal is Goal.PATROL:
        return 1.0
    affinity = rel.affinity if rel is not None else 0.0
    return 0.3 * clone.personality.agreeableness + 0.7 * affinity


# --- rules -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rules:
    """The numbers of the off-screen world (zone rules passed in as data)."""

    tick_hz: int = 20
    units_per_point: float = 20.0  # field units per richness point (sim.rules.UNITS_PER_POINT)
    regrow_ticks: int = 12_000  # one richness point back per this many ticks
    dwell_s: float = 1200.0  # seconds a trader stays docked (loading, rest), x 0.7..1.3
    dwell_short_s: float = 600.0  # miners, patrols, pirates
    encounter_every: int = 1200  # ticks between encounter checks (60 s)
    meet_rate: float = 0.02  # per pirate, per prey in its system, per minute
    witness: float = 0.5  # chance a clone in the same system learns of an attack
    tug_after: int = 2400  # ticks a stranded clone waits for a volunteer before the tug
    tug_fee: int = 200  # the station tug's fee on top of the fuel


@dataclass(slots=True)
class FieldState:
    units: float
    base: float
    tick: int


@dataclass(slots=True, eq=False)
class Agent:
    """One clone off-screen: its mind, its ship, what it is doing and until when."""

    clone: Clone
    ship: Ship
    plan: Plan | None = None
    leg: int = -1
    leg_start: int = 0
    leg_end: int = 0
    phase: str = "docked"  # docked | flying | working | stranded | live | dead
    until: int = 0
    born: int = 0
    trades: int = 0
    empty_since: int | None = None
    stranded_ticks: int = 0  # the longest time it spent stranded so far
    last_attacker: int = NONE
    attacked_tick: int = NEVER
    rescuer: int | None = None
    seq: int = 0  # bumps on every reschedule: stale heap entries are skipped

    @property
    def rescuing(self) -> bool:
        return self.plan is not None and self.plan.purpose == "rescue"

    @property
    def id(self) -> int:
        return self.clone.id


@dataclass(frozen=True, slots=True)
class Handoff:
    """A clone's exact state at `tick`, for a system snapping back to full simulation:
    position, velocity, heading, docked station, what it does (`action`: travel, dock,
    mine, patrol, hunt, respond, rescue, hold, docked) towards which station or point, and
    its fuel, hull, ammunition and cargo."""

    clone_id: int
    ship_id: int
    system: SystemId
    tick: int
    x: float
    y: float
    vx: float
    vy: float
    angle: float
    docked_at: StationId | None
    action: str
    station: StationId | None
    target_x: float
    target_y: float
    fuel: float
    hull_hp: float
    ammo: float
    cargo: dict[str, int]
    purpose: str
    phase: str = ""  # what it was doing off-screen: docked, flying, working, stranded
    until: int = 0  # the tick its stay, leg or work was to end
    leg: int = -1  # the leg of its plan it was flying


@dataclass(slots=True)
class Stats:
    """Counters of an off-screen world since it started."""

    trades: int = 0
    encounters: int = 0
    fights: int = 0
    escapes: int = 0
    deaths: int = 0
    births: int = 0
    distress: int = 0
    rescues: int = 0
    tugs: int = 0
    gossip: int = 0
    refused: int = 0
    events: int = 0


def leg_state(
    leg: Leg, hull_thrust: float, hull_speed: float, elapsed: float
) -> tuple[float, float, float, float]:
    """Position and velocity `elapsed` seconds into a `fly` leg flown accelerate-coast-brake
    (what `planner.leg_seconds` costs); a jump leg is at its arrival point."""
    if leg.kind == "jump":
        return leg.x1, leg.y1, 0.0, 0.0
    dx, dy = leg.x1 - leg.x0, leg.y1 - leg.y0
    d = math.hypot(dx, dy)
    if d <= 1e-6:
        return leg.x1, leg.y1, 0.0, 0.0
    ux, uy = dx / d, dy / d
    a, v = max(hull_thrust, 1e-3), max(hull_speed, 1e-3)
    t_acc = min(v / a, math.sqrt(d / a))
    peak = a * t_acc
    coast = max(0.0, (d - peak * t_acc) / peak) if peak > 0 else 0.0
    t = max(0.0, min(elapsed, 2 * t_acc + coast))
    if t < t_acc:
        s, speed = 0.5 * a * t * t, a * t
    elif t < t_acc + coast:
        s, speed = 0.5 * a * t_acc * t_acc + peak * (t - t_acc), peak
    else:
        tb = t - t_acc - coast
        s = 0.5 * a * t_acc * t_acc + peak * coast + peak * tb - 0.5 * a * tb * tb
        speed = max(0.0, peak - a * tb)
    s = min(s, d)
    return leg.x0 + ux * s, leg.y0 + uy * s, ux * speed, uy * speed


def encounter_actions(
    clones: Sequence[Clone],
    ships: Sequence[Ship],
    stances: Sequence[Stance],
    tick: int,
    *,
    attacked_by: Sequence[int] | None = None,
    spacing: float = 2000.0,
) -> list[Action]:
    """What each clone decides when these ships meet: the on-screen decision code
    (`sense` + `utilities` + `choose`) on a view of just them, `spacing` metres apart in a
    line. `attacked_by[i]` is the actor who just attacked clone i (NONE: nobody)."""
    k = len(clones)
    hulls = [s.hull_hp / max(s.hull.hull, 1.0) for s in ships]
    strength = [
        (s.hull_hp + s.hull.shield) / 100.0 * max(s.hull.weapons, 1) * _ammo_factor(s)
        for s in ships
    ]
    view = ZoneView.build(
        "encounter",
        tick,
        _OPEN_SPACE,
        ids=[s.ship_id for s in ships],
        owner=[s.actor for s in ships],
        x=[i * spacing for i in range(k)],
        y=[0.0] * k,
        hull=hulls,
        strength=strength,
        cargo=[min(1.0, sum(s.cargo.values()) / max(s.hull.cargo, 1)) for s in ships],
        stance=[int(st) for st in stances],
        players=[(0.0, 0.0)],
    )
    attackers = list(attacked_by) if attacked_by is not None else [NONE] * k
    agents = AgentColumns(
        stance=np.array([int(st) for st in stances], np.int8),
        last_attacker=np.array(attackers, np.int64),
        attacked_tick=np.array([tick if a != NONE else NEVER for a in attackers], np.int64),
        hostile=np.stack([hostile_slots(c) for c in clones]),
        dest=np.full(k, NONE, np.int32),
        clone_id=np.array([c.id for c in clones], np.int64),
    )
    s = sense(view, np.arange(k, dtype=np.intp), agents)
    u, ok = utilities(s, traits_of(list(clones), [None] * k))
    best, _ = choose(u, ok)
    return [Action(int(b)) for b in best]


_OPEN_SPACE: Final = ZoneStatics.build(radius=50_000.0)
_ATTACKS: Final = frozenset({Action.HUNT, Action.RESPOND})


def _ammo_factor(ship: Ship) -> float:
    return 0.6 + 0.4 * ship.ammo if ship.hull.ammo else 1.0


def stance_of(goal: Goal) -> Stance:
    return {Goal.PIRATE: Stance.PIRATE, Goal.PATROL: Stance.PATROL}.get(goal, Stance.CIVILIAN)


class OffscreenSim:
    """Clones in systems nobody watches (see the module docstring)."""

    def __init__(
        self,
        planner: Planner,
        *,
        rules: Rules | None = None,
        seed: int = 0,
        place: Callable[[SystemId], str] | None = None,
    ) -> None:
        self.planner = planner
        self.atlas = planner.atlas
        self.rules = rules or Rules()
        self.seed = int(seed) & 0xFFFFFFFF
        self.agents: dict[int, Agent] = {}
        self.stats = Stats()
        self.place = place or (lambda s: self.atlas.system(s).name)
        self._heap: list[tuple[int, int, int, int]] = []
        self._docked: dict[StationId, list[int]] = {}
        self._fields: dict[tuple[SystemId, int], FieldState] = {}
        self._distress: dict[int, int] = {}  # stranded clone id -> tick of the call
        self._last_encounters = 0
        self._now = 0
        self.dead: list[Agent] = []

    # --- membership ---------------------------------------------------------------------------

    def add(self, clone: Clone, ship: Ship, now: int, *, born: int | None = None) -> Agent:
        """A living clone enters the off-screen world (docked or in space); it decides at
        once."""
        clone.require_alive()
        agent = Agent(clone, ship, born=now if born is None else born)
        agent.phase = "docked" if ship.docked_at is not None else "flying"
        if ship.docked_at is not None:
            self._docked.setdefault(ship.docked_at, []).append(clone.id)
        self.agents[clone.id] = agent
        self._schedule(agent, now)
        return agent

    def wake_at(self, clone_id: int, tick: int) -> None:
        """Move an off-screen clone's next event to `tick` (e.g. a fresh world's newborns
        leave their stations at spread times instead of all after a full stay)."""
        agent = self.agents[clone_id]
        if agent.phase not in ("dead", "live", "stranded"):
            self._schedule(agent, tick)

    def died(self, clone_id: int, now: int, cause: str, execute: Execute) -> None:
        """A clone the zone runs (live) died there: permanent, its estate leaves circulation
        (`Died`), as off-screen."""
        agent = self.agents.get(clone_id)
        if agent is not None and agent.phase != "dead":
            if agent.clone.alive:
                self._die(agent, cause, now, execute)
            else:  # the pool already archived it (Clone.die)
                self._undock(agent)
                agent.phase = "dead"
                execute(Died(agent.ship, cause))
                self.stats.deaths += 1
                self._distress.pop(agent.id, None)
                self.dead.append(agent)
                del self.agents[agent.id]

    def living(self) -> Iterable[Agent]:
        return (a for a in self.agents.values() if a.phase != "dead")

    def count(self, goal: Goal, system: SystemId | None = None) -> int:
        return sum(
            1
            for a in self.agents.values()
            if a.ship.goal is goal and (system is None or (a.ship.home or a.ship.system) == system)
        )

    # --- time -----------------------------------------------------------------------------------

    def _schedule(self, agent: Agent, tick: int) -> None:
        agent.seq += 1
        agent.until = tick
        heapq.heappush(self._heap, (tick, agent.id & 0xFFFF, agent.seq, agent.id))

    def step(self, now: int, execute: Execute) -> None:
        """Advance every off-screen clone to tick `now`: their due events in tick order, then
        encounters and distress calls."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            tick, _, seq, clone_id = heapq.heappop(heap)
            agent = self.agents.get(clone_id)
            if agent is None or agent.seq != seq or agent.phase in ("dead", "live"):
                continue
            self._now = tick
            self.stats.events += 1
            self._event(agent, tick, execute)
        self._now = now
        every = self.rules.encounter_every
        if now - self._last_encounters >= every:
            self._last_encounters = now - now % every
            self._encounters(now, execute)
            self._rescues(now, execute)

    def _event(self, agent: Agent, tick: int, execute: Execute) -> None:
        phase = agent.phase
        if phase == "docked":
            self._depart(agent, tick, execute)
        elif phase == "flying":
            self._leg_done(agent, tick, execute)
        elif phase == "working":
            self._work_done(agent, tick, execute)
        elif phase == "stranded":
            pass  # rescued by _rescues

    # --- plans and legs ----------------------------------------------------------------------

    def _depart(self, agent: Agent, now: int, execute: Execute) -> None:
        """Docked and the stay is over (or just added): choose and start the next plan."""
        plan = self.planner.next_plan(agent.ship, agent.clone, now)
        self._start(agent, plan, now, execute)

    def _start(self, agent: Agent, plan: Plan, now: int, execute: Execute) -> None:
        ship = agent.ship
        if plan.purpose == "wait" and not plan.legs:
            agent.plan = plan
            if ship.docked_at is not None and ship.goal in (Goal.TRADER, Goal.HAULER):
                self._dock(agent, ship.docked_at, now, execute)  # a fresh look at the market
                return
            if ship.docked_at is None:  # nothing to do in space: hold and think again
                agent.phase = "working"
            self._schedule(agent, now + self._ticks(max(plan.seconds, 60.0)))
            return
        if plan.purpose == "distress":
            self._strand(agent, now, execute)
            return
        here = ship.docked_at
        if plan.purpose == "refuel" and here is not None and plan.station == here:
            agent.plan = plan
            self._upkeep(agent, ship.hull.fuel - ship.fuel, False, False, here, execute)
            agent.plan = None
            wait = 60.0 if ship.fuel >= ship.hull.fuel - 1.0 else 900.0  # no credits: later
            self._schedule(agent, now + self._ticks(wait))
            return
        if ship.docked_at is not None:
            self._undock(agent)
        agent.plan = plan
        agent.leg = -1
        if not plan.legs:
            self._arrive(agent, now, execute)
            return
        self._next_leg(agent, now, execute)

    def _undock(self, agent: Agent) -> None:
        station = agent.ship.docked_at
        if station is not None:
            present = self._docked.get(station)
            if present is not None and agent.id in present:
                present.remove(agent.id)
            agent.ship.docked_at = None

    def _next_leg(self, agent: Agent, now: int, execute: Execute) -> None:
        plan = agent.plan
        assert plan is not None
        agent.leg += 1
        if agent.leg >= len(plan.legs):
            self._arrive(agent, now, execute)
            return
        leg = plan.legs[agent.leg]
        ship = agent.ship
        if ship.fuel + 1e-6 < leg.fuel:  # a surprise (a chase) drained the tank
            self._strand(agent, now, execute)
            return
        ship.fuel = max(0.0, ship.fuel - leg.fuel)
        agent.phase = "flying"
        agent.leg_start = now
        agent.leg_end = now + self._ticks(leg.seconds)
        if leg.kind == "jump":
            ship.system = leg.system
            ship.x, ship.y = leg.x1, leg.y1
        self._schedule(agent, agent.leg_end)

    def _leg_done(self, agent: Agent, now: int, execute: Execute) -> None:
        plan = agent.plan
        if plan is None or agent.leg < 0:
            self._depart(agent, now, execute)
            return
        leg = plan.legs[agent.leg]
        agent.ship.system = leg.system
        agent.ship.x, agent.ship.y = leg.x1, leg.y1
        self._next_leg(agent, now, execute)

    def _arrive(self, agent: Agent, now: int, execute: Execute) -> None:
        plan = agent.plan
        assert plan is not None
        agent.leg = -1
        if plan.station is not None:
            self._dock(agent, plan.station, now, execute)
            return
        agent.phase = "working"
        if plan.purpose == "rescue":
            self._arrive_rescue(agent, now, execute)
            return
        seconds = plan.seconds
        if plan.purpose == "mine" and plan.field is not None:
            seconds = self._mining_seconds(agent, plan, now)
        self._schedule(agent, now + self._ticks(max(seconds, 30.0)))

    def _mining_seconds(self, agent: Agent, plan: Plan, now: int) -> float:
        """How long filling the hold takes at the field as it is now (richer fields yield
        faster; a mined-out field only by regrowth), at most MAX_MINING_S."""
        f = plan.field
        assert f is not None
        state = self._field(f.system, f.index, f.richness, now)
        room = agent.ship.hull.cargo - agent.ship.cargo_used(self.planner.volumes)
        richness = state.units / self.rules.units_per_point
        rate = self.planner.mining_rate * max(richness, 1.0) / 100.0
        return min(MAX_MINING_S, room / max(rate, 1e-6))

    def _work_done(self, agent: Agent, now: int, execute: Execute) -> None:
        plan = agent.plan
        if plan is not None and plan.purpose == "mine" and plan.field is not None:
            self._mine(agent, plan, now, execute)
        if plan is not None and plan.purpose == "respond":
            pirate = self.agents.get(plan.target)
            if (
                pirate is not None
                and pirate.phase in ("flying", "working")
                and pirate.ship.system == agent.ship.system
            ):
                self._meet(agent, pirate, agent.ship.system, now, execute)
                if agent.phase != "working":
                    return  # the fight moved it on (or killed it)
        self._depart(agent, now, execute)

    def _mine(self, agent: Agent, plan: Plan, now: int, execute: Execute) -> None:
        f = plan.field
        assert f is not None
        ship = agent.ship
        state = self._field(f.system, f.index, f.richness, now)
        room = ship.hull.cargo - ship.cargo_used(self.planner.volumes)
        qty = int(min(room, state.units))
        if qty <= 0:
            return
        done = execute(Mined(ship, f.ore, qty))
        if not done.ok:
            self.stats.refused += 1
            return
        got = int(done.qty)
        state.units -= got
        state.tick = now
        if done.cargo is not None:
            ship.cargo = dict(done.cargo)
        ship.paid.setdefault(f.ore, 0.0)

    def _field(self, system: SystemId, index: int, richness: int, now: int) -> FieldState:
        key = (system, index)
        st = self._fields.get(key)
        full = richness * self.rules.units_per_point
        if st is None:
            st = self._fields[key] = FieldState(full, full, now)
        elif st.units < st.base:  # regrowth since the last visit
            grown = (now - st.tick) / self.rules.regrow_ticks * self.rules.units_per_point
            st.units = min(st.base, st.units + grown)
            st.tick = now
        return st

    def _ticks(self, seconds: float) -> int:
        return max(1, math.ceil(seconds * self.rules.tick_hz))

    # --- stations ---------------------------------------------------------------------------

    def _dock(self, agent: Agent, station: StationId, now: int, execute: Execute) -> None:
        agent.phase = "docked"
        stay = self._visit(agent, station, now, execute)
        self._schedule(agent, now + self._ticks(stay))

    def dock_live(self, clone_id: int, station: StationId, now: int, execute: Execute) -> Plan:
        """A clone the zone runs (handed off) docked at `station`: the same visit as
        off-screen (gossip with whoever is docked there, the screen, sales, upkeep,
        purchases, through `execute`), then its next plan, which the server passes to the
        zone (`AgentPool.set_plan`) when its stay (`Plan.seconds` of a wait, else the usual
        stay) is over. KeyError for a clone this world does not know."""
        agent = self.agents[clone_id]
        stay = self._visit(agent, station, now, execute)
        agent.phase = "live"
        present = self._docked.get(station)
        if present is not None and agent.id in present:
            present.remove(agent.id)
        plan = self.planner.next_plan(agent.ship, agent.clone, now)
        agent.plan = plan
        return plan if plan.purpose != "wait" else Plan("wait", station=station, seconds=stay)

    def _visit(self, agent: Agent, station: StationId, now: int, execute: Execute) -> float:
        """Gossip, the screen, sales, upkeep and purchases at `station`; returns how long the
        clone stays (seconds)."""
        ship = agent.ship
        info = self.atlas.station(station)
        ship.docked_at = station
        ship.system = info.system
        ship.x, ship.y = info.x, info.y
        present = self._docked.setdefault(station, [])
        for other_id in partners(present, agent.id, now):
            other = self.agents.get(other_id)
            if other is not None and other.phase == "docked":
                gossip(agent.clone, other.clone, now, place=self.place)
                self.stats.gossip += 1
        if agent.id not in present:
            present.append(agent.id)
        trader = ship.goal in (Goal.TRADER, Goal.HAULER)
        market = None
        if info.has("market") and (trader or ship.cargo):  # read the screen to trade
            done = execute(Quote(ship, station))
            market = done.market
            if market is not None:
                agent.clone.knowledge.saw_market(station, now, market.buy, market.sell)
        refuel = agent.plan is not None and agent.plan.purpose == "refuel"
        visit = self.planner.visit(ship, agent.clone, info, market, refuel=refuel)
        for item, qty in visit.sell:
            done = execute(Trade(ship, station, item, qty, "sell"))
            self._apply(agent, done)
            self._saw_price(agent, station, item, done, now)
            if done.ok:
                self._traded(agent, now)
                ship.paid.pop(item, None)
        if not ship.cargo:
            ship.sell_at = None
        self._upkeep(agent, visit.refuel, visit.repair, visit.rearm, station, execute)
        if market is not None and trader:
            self._buy(agent, market, now, execute)
        stay = self.rules.dwell_s if trader else self.rules.dwell_short_s
        return stay * (0.7 + 0.6 * unit_hash(agent.id ^ self.seed, now, 7))

    def _upkeep(
        self,
        agent: Agent,
        refuel: float,
        repair: bool,
        rearm: bool,
        station: StationId,
        execute: Execute,
    ) -> None:
        ship = agent.ship
        if refuel > 0:
            done = execute(Refuel(ship, station, refuel))
            if self._apply(agent, done):
                ship.fuel = min(ship.hull.fuel, ship.fuel + done.qty)
        if repair:
            done = execute(Repair(ship, station, ship.hull.hull - ship.hull_hp))
            if self._apply(agent, done):
                ship.hull_hp = min(ship.hull.hull, ship.hull_hp + done.qty)
        if rearm:
            done = execute(Rearm(ship, station))
            if self._apply(agent, done):
                ship.ammo = min(1.0, ship.ammo + done.qty)

    def _buy(self, agent: Agent, market: MarketView, now: int, execute: Execute) -> None:
        ship = agent.ship
        pick = self.planner.purchase(ship, agent.clone, market, now)
        if pick is None:
            pick = self.planner.small_lot(ship, agent.clone, market, now)
        if pick is None:
            return
        item, qty, sell_at = pick.item, pick.qty, pick.sell_at
        while qty > 0:
            done = execute(Trade(ship, market.station, item, qty, "buy"))
            if done.ok:
                self._apply(agent, done)
                self._saw_price(agent, market.station, item, done, now)
                self._traded(agent, now)
                ship.paid[item] = done.total / max(done.qty, 1)
                ship.sell_at = sell_at
                return
            if done.why not in ("INSUFFICIENT_FUNDS", "OUT_OF_STOCK", "CARGO_FULL"):
                self.stats.refused += 1
                return
            qty //= 2

    def _traded(self, agent: Agent, now: int) -> None:
        """A market deal went through the ledger (a trader's completed trade)."""
        agent.ship.last_trade = now
        if agent.ship.goal in (Goal.TRADER, Goal.HAULER):
            agent.trades += 1
            self.stats.trades += 1

    def _saw_price(self, agent: Agent, station: StationId, item: str, done: Done, now: int) -> None:
        if done.ok and done.prices is not None:
            agent.clone.knowledge.saw_price(station, now, item, *done.prices)

    def _apply(self, agent: Agent, done: Done) -> bool:
        if not done.ok:
            self.stats.refused += 1
            return False
        if done.credits is not None:
            agent.ship.credits = done.credits
        if done.cargo is not None:
            agent.ship.cargo = dict(done.cargo)
        return True

    # --- memory ---------------------------------------------------------------------------------

    def _notice(self, agent: Agent, event: SeenEvent) -> None:
        """The clone perceives `event` (`mind.notice`). An encounter off-screen stands for a
        whole fight, so the clone reflects on it at once rather than waiting for more."""
        clone = agent.clone
        notice(clone, event, ship=agent.ship.ship_id, names=clone.knowledge.names)
        if event.kind in ("attacked", "destroyed", "helped") or should_reflect(clone):
            reflect(clone, event.tick)

    # --- encounters ----------------------------------------------------------------------------

    def _encounters(self, now: int, execute: Execute) -> None:
        """Pirates prowling a system may meet ships flying or working there; patrols in a
        lawful system meet pirates there. Who attacks, flees or fights is `decide`'s call."""
        by_system: dict[SystemId, list[Agent]] = {}
        for a in self.agents.values():
            if a.phase in ("flying", "working") and (
                a.leg < 0 or a.plan is None or a.plan.legs[a.leg].kind == "fly"
            ):
                by_system.setdefault(a.ship.system, []).append(a)
        minutes = self.rules.encounter_every / (60.0 * self.rules.tick_hz)
        for system in sorted(by_system):
            here = by_system[system]
            pirates = [a for a in here if a.ship.goal is Goal.PIRATE and a.phase != "dead"]
            if not pirates:
                continue
            others = [a for a in here if a.ship.goal is not Goal.PIRATE]
            for pirate in sorted(pirates, key=lambda a: a.id):
                if pirate.phase == "dead" or not others:
                    continue
                live = [o for o in others if o.phase not in ("dead", "live")]
                if not live:
                    continue
                p_meet = 1.0 - math.exp(-self.rules.meet_rate * len(live) * minutes)
                if unit_hash(pirate.id ^ self.seed, now, 11) >= p_meet:
                    continue
                other = live[int(unit_hash(pirate.id ^ self.seed, now, 12) * len(live))]
                self.stats.encounters += 1
                self._meet(pirate, other, system, now, execute)

    def _meet(self, a: Agent, b: Agent, system: SystemId, now: int, execute: Execute) -> None:
        """Two ships meet: each decides with the on-screen code; whoever chooses to attack
        (a pirate hunting weaker prey, a patrol going after a pirate) does, the other answers
        (flee or fight, by its personality and the odds); the fight or the chase is resolved
        by strength, speed and skill."""
        clones, ships = [a.clone, b.clone], [a.ship, b.ship]
        stances = [stance_of(a.ship.goal), stance_of(b.ship.goal)]
        first = encounter_actions(clones, ships, stances, now)
        if first[0] in _ATTACKS:
            attacker, victim, vi = a, b, 1
        elif first[1] in _ATTACKS:
            attacker, victim, vi = b, a, 0
        else:
            return  # they let each other be (too strong, or not worth it)
        seen_by = [NONE, NONE]
        seen_by[vi] = attacker.ship.actor
        answer = encounter_actions(clones, ships, stances, now, attacked_by=seen_by)[vi]
        self._attacked(victim, attacker, system, now)
        if self.atlas.system(system).lawful and attacker.ship.goal is Goal.PIRATE:
            self._crime(attacker, system, now, execute)
        if answer is Action.FLEE:
            u = unit_hash(victim.id ^ self.seed, now, 13)
            ratio = victim.ship.hull.max_speed / max(attacker.ship.hull.max_speed, 1.0)
            skill = victim.clone.skills.pilot - attacker.clone.skills.pilot
            escape = min(0.9, max(0.15, 0.5 + 0.5 * (ratio - 1.0) + 0.3 * skill))
            if u < escape:
                self.stats.escapes += 1
                self._damage(victim, 0.02 + 0.1 * unit_hash(victim.id ^ self.seed, now, 14))
                # running flat out burns a leg's worth of fuel
                victim.ship.fuel = max(
                    0.0, victim.ship.fuel - self.planner.fuel_cost(victim.ship.hull, 8000.0)
                )
                self._after_fight(victim, now, execute)
                return
        self._fight(attacker, victim, system, now, execute, defended=answer is not Action.FLEE)

    def _crime(self, pirate: Agent, system: SystemId, now: int, execute: Execute) -> None:
        """A pirate attacked in a lawful system: the patrols there answer."""
        for p in sorted(self.agents.values(), key=lambda a: a.id):
            if p.ship.goal is not Goal.PATROL or p.ship.system != system:
                continue
            if p.phase not in ("docked", "working") or (p.plan and p.plan.purpose == "rescue"):
                continue
            plan = self.planner.respond(p.ship, system, pirate.ship.x, pirate.ship.y, "respond")
            if plan is None:
                continue
            self._undock(p)
            p.plan = Plan("respond", plan.legs, seconds=60.0, target=pirate.id)
            p.leg = -1
            self._next_leg(p, now, execute)

    def _fight(
        self, a: Agent, b: Agent, system: SystemId, now: int, execute: Execute, *, defended: bool
    ) -> None:
        self.stats.fights += 1
        sa = self._strength(a)
        sb = self._strength(b) * (1.0 if defended else 0.5)
        p_a = sa * sa / max(sa * sa + sb * sb, 1e-9)
        a_wins = unit_hash(a.id ^ self.seed, now, 15) < p_a
        win, lose = (a, b) if a_wins else (b, a)
        if defended or not a_wins:
            self._attacked(a, b, system, now)
        self._attacked(b, a, system, now)  # the fight's hits on the victim, after the first
        hurt = 0.3 + 0.5 * unit_hash(lose.id ^ self.seed, now, 16)
        for x in (a, b):
            if x.ship.hull.ammo:
                x.ship.ammo = max(0.0, x.ship.ammo - 0.3)
        self._damage(
            win, 0.05 + 0.25 * min(1.0, self._strength(lose) / max(self._strength(win), 1e-6))
        )
        destroyed = self._damage(lose, hurt)
        if destroyed:
            self._destroy(lose, win, now, execute)
        elif lose.ship.cargo and win.ship.goal is Goal.PIRATE:
            share = 0.3 + 0.3 * unit_hash(lose.id ^ self.seed, now, 17)
            items = tuple(
                (i, max(1, int(q * share))) for i, q in sorted(lose.ship.cargo.items()) if q > 0
            )
            done = execute(Wrecked(lose.ship, win.ship.actor, items, False))
            if self._apply(lose, done):
                self._loot(win, int(done.qty), now, execute)
        for x in (a, b):
            if x.phase != "dead":
                self._after_fight(x, now, execute)

    def _strength(self, a: Agent) -> float:
        s = a.ship
        skill = 0.7 + 0.6 * a.clone.skills.gunner
        return (
            (s.hull_hp + s.hull.shield) / 100.0 * max(s.hull.weapons, 1) * skill * (_ammo_factor(s))
        )

    def _damage(self, a: Agent, fraction: float) -> bool:
        """Take `fraction` of the hull's points (shields soak the first part); True when the
        ship is destroyed."""
        s = a.ship
        loss = max(0.0, fraction * (s.hull.hull + s.hull.shield) - s.hull.shield * 0.5)
        s.hull_hp = max(0.0, s.hull_hp - loss)
        return s.hull_hp <= 0.0

    def _attacked(self, victim: Agent, attacker: Agent, system: SystemId, now: int) -> None:
        names = victim.clone.knowledge.names
        names.setdefault(attacker.ship.actor, attacker.clone.name)
        names.setdefault(victim.ship.actor, victim.clone.name)
        self._notice(
            victim,
            SeenEvent(
                "attacked",
                now,
                actor=attacker.ship.actor,
                target=victim.ship.actor,
                ship=attacker.ship.ship_id,
                system=system,
            ),
        )
        victim.last_attacker = attacker.ship.actor
        victim.attacked_tick = now
        for w in self.agents.values():  # witnesses in the system hear of it
            if w is victim or w is attacker or w.phase in ("dead", "live"):
                continue
            if (
                w.ship.system != system
                or unit_hash(w.id ^ self.seed, now, 18) >= self.rules.witness
            ):
                continue
            w.clone.knowledge.saw_attack(
                attacker.ship.actor,
                victim.ship.actor,
                system,
                now,
                on_us=False,
                names={
                    attacker.ship.actor: attacker.clone.name,
                    victim.ship.actor: victim.clone.name,
                },
            )

    def _after_fight(self, a: Agent, now: int, execute: Execute) -> None:
        """After a fight or a chase: think again (repairs, fuel, or on with the plan)."""
        if a.phase == "docked":
            return
        a.ship.docked_at = None
        plan = self.planner.next_plan(a.ship, a.clone, now)
        a.phase = "flying"
        self._start(a, plan, now, execute)

    def _destroy(self, dead: Agent, killer: Agent, now: int, execute: Execute) -> None:
        items = tuple(sorted((i, q) for i, q in dead.ship.cargo.items() if q > 0))
        done = execute(Wrecked(dead.ship, killer.ship.actor, items, True))
        self._die(dead, f"ship destroyed by {killer.clone.name}", now, execute)
        if done.ok and items:
            self._loot(killer, int(done.qty), now, execute)
        self._notice(
            killer,
            SeenEvent(
                "destroyed",
                now,
                actor=killer.ship.actor,
                target=dead.ship.actor,
                system=dead.ship.system,
            ),
        )

    def _loot(self, a: Agent, wreck: int, now: int, execute: Execute) -> None:
        if wreck <= 0:
            return
        done = execute(Looted(a.ship, wreck))
        if self._apply(a, done) and done.cargo:
            for item in done.cargo:
                a.ship.paid.setdefault(item, 0.0)
            self._notice(a, SeenEvent("looted", now))

    def _die(self, agent: Agent, cause: str, now: int, execute: Execute) -> None:
        self._undock(agent)
        agent.phase = "dead"
        agent.clone.die(now, cause)
        execute(Died(agent.ship, cause))
        self.stats.deaths += 1
        self._distress.pop(agent.id, None)
        self.dead.append(agent)
        del self.agents[agent.id]

    # --- distress and rescue ------------------------------------------------------------------

    def _strand(self, agent: Agent, now: int, execute: Execute) -> None:
        """Out of fuel in space: call for help like a player (the world shows the call)."""
        agent.phase = "stranded"
        agent.plan = None
        agent.leg = -1
        if agent.id not in self._distress:
            self._distress[agent.id] = now
            self.stats.distress += 1
            execute(Distress(agent.ship, now))
        if agent.empty_since is None:
            agent.empty_since = now
        agent.seq += 1  # nothing scheduled: a rescue wakes it

    def _rescues(self, now: int, execute: Execute) -> None:
        """Assign volunteers to distress calls: patrols first, then clones in the system who
        like the caller or are agreeable, if they can spare the fuel and still get to fuel
        themselves; past `tug_after` the nearest station's tug comes."""
        for clone_id, called in sorted(self._distress.items()):
            agent = self.agents.get(clone_id)
            if agent is None or agent.phase != "stranded":
                self._distress.pop(clone_id, None)
                continue
            if agent.rescuer is not None and agent.rescuer in self.agents:
                continue
            if now - called >= self.rules.tug_after:
                self._tug(agent, now, execute)  # quicker by now than any volunteer
                continue
            found = self._volunteer(agent, now)
            if found is None:
                continue
            helper, plan = found
            agent.rescuer = helper.id
            self._undock(helper)
            helper.plan = Plan("rescue", plan.legs, seconds=30.0, target=clone_id)
            helper.leg = -1
            self._next_leg(helper, now, execute)

    def _volunteer(self, stranded: Agent, now: int) -> tuple[Agent, Plan] | None:
        """Who answers `stranded`'s call, and how it gets there: the most willing (patrols
        always; others by agreeableness and affinity to the caller; never someone who holds
        the caller hostile) whose tank, less the fuel it gives, still covers the trip there
        and on to fuel plus its reserve."""
        need = self._need(stranded)
        caller = stranded.ship.actor
        best: tuple[float, int, Agent, Plan] | None = None
        for a in self.agents.values():
            if a is stranded or a.ship.goal is Goal.PIRATE or a.rescuing:
                continue
            free = (
                ("docked", "working", "flying")
                if a.ship.goal is Goal.PATROL
                else (
                    "docked",
                    "working",
                )
            )
            if a.phase not in free or a.ship.system != stranded.ship.system:
                continue
            will = rescue_will(a.clone, a.ship.goal, caller)
            if will < MIN_RESCUE_WILL or (best is not None and (-will, a.id) >= best[:2]):
                continue
            a.ship.fuel -= need  # what it would have left
            try:
                plan = self.planner.respond(
                    a.ship, stranded.ship.system, stranded.ship.x, stranded.ship.y, "rescue"
                )
            finally:
                a.ship.fuel += need
            if plan is not None:
                best = (-will, a.id, a, plan)
        return None if best is None else (best[2], best[3])

    def _need(self, stranded: Agent) -> float:
        """Fuel that takes a stranded ship to the nearest fuel station, plus the reserve."""
        ship = stranded.ship
        saved = ship.fuel
        ship.fuel = ship.hull.fuel
        found = self.planner.nearest_service(ship, "refuel", reserve=False)
        ship.fuel = saved
        need = sum(leg.fuel for leg in found[1]) if found is not None else 0.5 * ship.hull.fuel
        return min(ship.hull.fuel - ship.fuel, need + self.planner.reserve(ship) * 0.5)

    def _arrive_rescue(self, helper: Agent, now: int, execute: Execute) -> None:
        plan = helper.plan
        assert plan is not None
        stranded = self.agents.get(plan.target)
        if stranded is not None and stranded.phase == "stranded":
            fuel = self._need(stranded)
            price = self.planner.fuel_price
            rel = stranded.clone.relationships.get(helper.ship.actor)
            friendly = max(0.0, rel.affinity) if rel is not None else 0.0
            fee = int(fuel * price * (1.0 - 0.5 * friendly))  # friends help for less
            fee = min(fee, stranded.ship.credits)
            done = execute(Rescue(helper.ship, stranded.ship, fuel, fee))
            if done.ok:
                helper.ship.fuel = max(0.0, helper.ship.fuel - fuel)
                if done.credits is not None:
                    stranded.ship.credits = done.credits
                helper.ship.credits += done.total
                self._rescued(stranded, helper.ship.actor, helper.clone.name, fuel, now, execute)
                self.stats.rescues += 1
        helper.plan = None
        self._depart(helper, now, execute)

    def _tug(self, agent: Agent, now: int, execute: Execute) -> None:
        """The nearest station selling fuel sends its tug (from a neighbouring system if
        there is none in this one; the fee grows with each jump)."""
        ship = agent.ship
        found: tuple[int, float, StationId] | None = None
        for system in self.atlas.within(ship.system, 2):
            hops = self.atlas.hops(ship.system, system)
            if found is not None and hops > found[0]:
                break
            for st in self.atlas.system(system).stations:
                if st.has("refuel"):
                    d = math.hypot(st.x - ship.x, st.y - ship.y) if hops == 0 else 0.0
                    if found is None or (hops, d, st.id) < found:
                        found = (hops, d, st.id)
        if found is None:
            return  # nothing in reach: it waits for a volunteer
        st = self.atlas.station(found[2])
        fuel = self._need(agent)
        tug_fee = self.rules.tug_fee * (1 + found[0])
        fee = min(ship.credits, int(fuel * self.planner.fuel_price) + tug_fee)
        done = execute(Rescue(None, ship, fuel, fee, station=st.id))
        if done.ok:
            if done.credits is not None:
                ship.credits = done.credits
            self.stats.tugs += 1
            self._rescued(agent, 0, f"the tug of {st.name}", fuel, now, execute)

    def _rescued(
        self, agent: Agent, helper: int, name: str, fuel: float, now: int, execute: Execute
    ) -> None:
        ship = agent.ship
        ship.fuel = min(ship.hull.fuel, ship.fuel + fuel)
        self._distress.pop(agent.id, None)
        agent.rescuer = None
        if agent.empty_since is not None:
            agent.stranded_ticks = max(agent.stranded_ticks, now - agent.empty_since)
            agent.empty_since = None
        if helper:
            agent.clone.knowledge.names.setdefault(helper, name)
            self._notice(agent, SeenEvent("helped", now, actor=helper, target=ship.actor))
        else:
            agent.clone.memory.add(
                now,
                f"{name} brought us fuel when we were stranded.",
                importance=5.0,
                event="rescued",
            )
        agent.phase = "flying"
        self._depart(agent, now, execute)

    def stranded_for(self, agent: Agent, now: int) -> int:
        """The longest time (ticks) `agent` has been stranded, the current episode included."""
        current = now - agent.empty_since if agent.empty_since is not None else 0
        return max(agent.stranded_ticks, current)

    # --- births ---------------------------------------------------------------------------

    def birth(
        self,
        clone: Clone,
        ship: Ship,
        station: StationId,
        now: int,
        execute: Execute,
        *,
        grant: int = 0,
    ) -> Agent | None:
        """A station brings a clone into being: its account is opened through the ledger
        with `grant` credits (`Born`), it starts docked there with a full ship, looks at the
        market, trades, and sets off after its stay."""
        ship.docked_at = station
        info = self.atlas.station(station)
        ship.system, ship.x, ship.y = info.system, info.x, info.y
        done = execute(Born(ship, station, grant))
        if not done.ok:
            self.stats.refused += 1
            return None
        if done.credits is not None:
            ship.credits = done.credits
        self.stats.births += 1
        clone.require_alive()
        agent = self.agents[clone.id] = Agent(clone, ship, born=now)
        self._dock(agent, station, now, execute)  # it looks around, trades, then sets off
        return agent

    # --- handing systems to the full simulation and back --------------------------------------

    def handoff(self, system: SystemId, now: int) -> list[Handoff]:
        """Every off-screen clone in `system` at tick `now`, exactly where it is, for the
        zone to spawn; they leave the off-screen world (phase "live") until `adopt`."""
        out = []
        for a in sorted(self.agents.values(), key=lambda a: a.id):
            if a.phase in ("dead", "live") or a.ship.system != system:
                continue
            out.append(self.state_at(a, now))
            self._undock_keep(a)
            a.phase = "live"
            a.seq += 1
        return out

    def _undock_keep(self, a: Agent) -> None:
        # a live ship docked stays docked in the zone; off-screen rosters forget it
        station = a.ship.docked_at
        if station is not None:
            present = self._docked.get(station)
            if present is not None and a.id in present:
                present.remove(a.id)

    def state_at(self, a: Agent, now: int) -> Handoff:
        """The clone's state at `now` (see `Handoff`), without changing it."""
        ship = a.ship
        plan = a.plan
        x, y, vx, vy = ship.x, ship.y, 0.0, 0.0
        action = "hold"
        station = plan.station if plan is not None else None
        tx, ty = x, y
        if ship.docked_at is not None:
            action, station = "docked", ship.docked_at
        elif a.phase == "flying" and plan is not None and 0 <= a.leg < len(plan.legs):
            leg = plan.legs[a.leg]
            elapsed = (now - a.leg_start) / self.rules.tick_hz
            x, y, vx, vy = leg_state(leg, ship.hull.thrust, ship.hull.max_speed, elapsed)
            last = plan.legs[-1]
            tx, ty = (last.x1, last.y1) if last.system == ship.system else (leg.x1, leg.y1)
            action = {
                "mine": "mine",
                "patrol": "patrol",
                "hunt": "hunt",
                "respond": "respond",
                "rescue": "rescue",
            }.get(plan.purpose, "dock" if station else "travel")
        elif a.phase == "working" and plan is not None:
            action = {"mine": "mine", "patrol": "patrol", "hunt": "hunt"}.get(plan.purpose, "hold")
        speed = math.hypot(vx, vy)
        angle = math.atan2(vy, vx) if speed > 0 else math.atan2(ty - y, tx - x)
        return Handoff(
            clone_id=a.id,
            ship_id=ship.ship_id,
            system=ship.system,
            tick=now,
            x=x,
            y=y,
            vx=vx,
            vy=vy,
            angle=angle,
            docked_at=ship.docked_at,
            action=action,
            station=station,
            target_x=tx,
            target_y=ty,
            fuel=ship.fuel,
            hull_hp=ship.hull_hp,
            ammo=ship.ammo,
            cargo=dict(ship.cargo),
            purpose=plan.purpose if plan is not None else "",
            phase=a.phase,
            until=a.until,
            leg=a.leg,
        )

    def adopt(
        self,
        state: Handoff,
        *,
        fuel: float | None = None,
        hull_hp: float | None = None,
        cargo: dict[str, int] | None = None,
        now: int,
    ) -> Agent:
        """A live clone returns off-screen (its system has no players any more) from the state
        the zone left it in: where it is, docked or not, what its ship holds. It plans afresh
        from there at once."""
        a = self.agents[state.clone_id]
        ship = a.ship
        ship.system = state.system
        ship.x, ship.y = state.x, state.y
        ship.docked_at = state.docked_at
        ship.fuel = state.fuel if fuel is None else fuel
        ship.hull_hp = state.hull_hp if hull_hp is None else hull_hp
        ship.cargo = dict(state.cargo if cargo is None else cargo)
        a.plan = None
        a.leg = -1
        if ship.docked_at is not None:
            a.phase = "docked"
            self._docked.setdefault(ship.docked_at, []).append(a.id)
        else:
            a.phase = "flying"
        self._schedule(a, now)
        return a
