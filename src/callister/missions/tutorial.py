"""The guided start: a state machine of steps that teaches by doing, advanced by real events.

Steps, in order (a plan for the pilot's home system; `plan_tutorial`):

1. **undock** from the home station;
2. **fly** to a marker just outside the asteroid field nearest home;
3. **mine** a few units of its ore;
4. **dock** at a station (the marker points home);
5. **sell** for a first profit: any sale above what the goods cost (mined ore cost nothing;
   so does buying low and selling high), or any contract's pay;
6. **contract**: accept a contract from a mission board;
7. **jump** to a neighbouring system.

Why mining comes before the first sale: on a fresh world every market sits at its target
stock, where every station prices an item alike and a round trip loses the 5 % spread each
way; the one profit always within reach of a new pilot is ore that cost nothing (or a paid
contract). A home system without any field in reach drops the mining step.

Each step has a HUD objective and pays a small reward (`rules.TUTORIAL_REWARDS`) as a ledger
request; finishing pays "done". A deed done before its turn (a pilot who jumps first) is
remembered and its step completes the moment it comes up, so nobody is asked to repeat
themselves. The tutorial can be skipped at any point and resumed later where it stopped; its
state is JSON (`to_dict` / `from_dict`) stored with the character.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from callister.content import Hull
from callister.missions import rules
from callister.missions._data import (
    Sector,
    get_bool,
    get_float,
    get_int,
    get_list,
    get_str,
    obj,
    sector_in,
    sector_out,
)
from callister.missions.errors import MissionDataError, MissionError
from callister.missions.facts import (
    Arrived,
    DockedAt,
    Fact,
    MinedOre,
    Pilot,
    Position,
    Traded,
    UndockedFrom,
)
from callister.missions.ledger import MISSIONS, LedgerRequest, pay, player_account
from callister.missions.markers import Marker, Objective, reached
from callister.missions.travel import flight_seconds
from callister.protocol.errors import ErrorCode
from callister.sim.rules import MINING_RANGE, MINING_RATE
from callister.universe import AsteroidField, StarSystem, Station

STEPS: tuple[str, ...] = ("undock", "fly", "mine", "dock", "sell", "contract", "jump")


@dataclass(frozen=True, slots=True)
class TutorialPlan:
    """Where a pilot's tutorial points: the home station, the first marker (a point), the
    field to mine (None: no mining step), the link to jump along (None: no jump step) and the
    hull's jump fuel (for the text)."""

    home: Sector
    station: int
    station_name: str
    station_x: float
    station_y: float
    marker: Marker
    field: Marker | None
    ore: str
    link: Sector | None
    jump_fuel: float

    @property
    def steps(self) -> tuple[str, ...]:
        """The steps this plan has, in order."""
        return tuple(
            s
            for s in STEPS
            if not (s == "mine" and self.field is None) and not (s == "jump" and self.link is None)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "home": sector_out(self.home),
            "station": self.station,
            "station_name": self.station_name,
            "station_x": float(self.station_x),
            "station_y": float(self.station_y),
            "marker": self.marker.to_dict(),
            "field": None if self.field is None else self.field.to_dict(),
            "ore": self.ore,
            "link": None if self.link is None else sector_out(self.link),
            "jump_fuel": self.jump_fuel,
        }

    @classmethod
    def from_dict(cls, value: object, path: str) -> TutorialPlan:
        d = obj(value, path)
        field = d.get("field")
        link = d.get("link")
        return cls(
            home=sector_in(d.get("home"), f"{path}.home"),
            station=get_int(d, "station", path),
            station_name=get_str(d, "station_name", path),
            station_x=get_float(d, "station_x", path),
            station_y=get_float(d, "station_y", path),
            marker=Marker.from_dict(d.get("marker"), f"{path}.marker"),
            field=None if field is None else Marker.from_dict(field, f"{path}.field"),
            ore=get_str(d, "ore", path, ""),
            link=None if link is None else sector_in(link, f"{path}.link"),
            jump_fuel=get_float(d, "jump_fuel", path, 0.0),
        )


def plan_tutorial(
    home: StarSystem,
    station: int,
    hull: Hull,
    neighbours: Mapping[Sector, StarSystem] | None = None,
) -> TutorialPlan:
    """The plan for a pilot whose home is `station` of `home`, flying `hull`.

    The field is the home system's with the quickest first profit (`first_profit_seconds`),
    else the nearest in a linked system
    among `neighbours`; the first marker lies MARKER_STANDOFF outside its rim on the side
    facing the station (a field in another system, or none: a point 3 km out from the
    station, away from the star). The link is the linked system nearest in the galaxy.
    ValueError if the station does not exist.
    """
    if not 0 <= station < len(home.stations):
        raise ValueError(f"system {home.key} has no station {station}")
    st = home.stations[station]
    field: Marker | None = None
    ore = ""
    candidates = [(home.sector, f) for f in home.fields if f.richness > 0]
    if not candidates and neighbours:
        for s in home.links:
            other = neighbours.get(s)
            if other is not None:
                candidates += [(s, f) for f in other.fields if f.richness > 0]
    if candidates:
        s, f = min(
            candidates,
            key=lambda c: (
                c[0] != home.sector,
                first_profit_seconds(st, c[1], hull) if c[0] == home.sector else 0.0,
                math.hypot(c[1].x - st.x, c[1].y - st.y),
                c[0],
            ),
        )
        field = Marker("field", s, f.index, f.x, f.y, float(f.radius))
        ore = f.ore
    if field is not None and field.sector == home.sector:
        mx, my = _marker_point(st, field.x, field.y, field.radius)
    else:
        d = math.hypot(st.x, st.y) or 1.0
        mx, my = st.x + st.x / d * 3000, st.y + st.y / d * 3000
    marker = Marker("point", home.sector, -1, round(mx), round(my), rules.MARKER_RADIUS)
    link = None
    if home.links:
        link = min(home.links, key=lambda s: (abs(s[0] - home.x) + abs(s[1] - home.y), s))
    return TutorialPlan(
        home.sector, station, st.name, st.x, st.y, marker, field, ore, link, hull.jump_fuel
    )


def first_profit_seconds(
    station: Station, field: AsteroidField, hull: Hull, mining_yield: float = 1.0
) -> float:
    """The quickest the tutorial's first profit comes from `station` mining `field` in its
    system: undock, fly to the marker and on to the rocks, mine TUTORIAL_MINE_UNITS, fly back,
    dock and sell (infinite for a mined-out field)."""
    rate = MINING_RATE * field.richness / 100 * mining_yield
    if rate <= 0:
        return math.inf
    mx, my = _marker_point(station, field.x, field.y, field.radius)
    out = math.hypot(mx - station.x, my - station.y)
    into = rules.MARKER_STANDOFF + MINING_RANGE
    return (
        rules.UNDOCK_S
        + flight_seconds(out, hull)
        + flight_seconds(into, hull)
        + rules.TUTORIAL_MINE_UNITS / rate
        + flight_seconds(out + into, hull)
        + rules.DOCK_S
        + rules.HANDLING_S
    )


def _marker_point(station: Station, fx: float, fy: float, radius: float) -> tuple[float, float]:
    """MARKER_STANDOFF outside the field's rim, on the side facing the station."""
    dx, dy = station.x - fx, station.y - fy
    d = math.hypot(dx, dy) or 1.0
    out = radius + rules.MARKER_STANDOFF
    return fx + dx / d * out, fy + dy / d * out


@dataclass(frozen=True, slots=True)
class Tutorial:
    """A pilot's tutorial. `step` indexes `plan.steps` (== its length when finished); `early`
    are deeds done ahead of their step; `mined` counts ore mined so far; `basis` is (item,
    units, credits paid) for goods bought, to tell a profitable sale; times are wall-clock
    seconds (0: not yet)."""

    plan: TutorialPlan
    step: int = 0
    early: tuple[str, ...] = ()
    mined: int = 0
    basis: tuple[tuple[str, int, int], ...] = ()
    skipped: bool = False
    started_at: int = 0
    finished_at: int = 0
    first_profit_at: int = 0

    @property
    def steps(self) -> tuple[str, ...]:
        return self.plan.steps

    @property
    def finished(self) -> bool:
        """Every step done."""
        return self.step >= len(self.steps)

    @property
    def current(self) -> str | None:
        """The step being worked on (None when finished)."""
        return None if self.finished else self.steps[self.step]

    def objective(self) -> Objective | None:
        """The HUD line for the current step (None when finished or skipped)."""
        if self.finished or self.skipped:
            return None
        return _objective(self)

    def message(self, reward: int = 0) -> dict[str, Any]:
        """The proposed `tutorial` message (docs/missions.md, "Messages")."""
        objective = self.objective()
        return {
            "t": "tutorial",
            "step": self.current,
            "index": self.step,
            "of": len(self.steps),
            "steps": list(self.steps),
            "objective": None if objective is None else objective.to_dict(),
            "hint": "" if self.current is None else HINTS[self.current],
            "reward": reward,
            "skipped": self.skipped,
            "finished": self.finished,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan.to_dict(),
            "step": self.step,
            "early": list(self.early),
            "mined": self.mined,
            "basis": [list(b) for b in self.basis],
            "skipped": self.skipped,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "first_profit_at": self.first_profit_at,
        }

    @classmethod
    def from_dict(cls, value: object, path: str = "tutorial") -> Tutorial:
        d = obj(value, path)
        plan = TutorialPlan.from_dict(d.get("plan"), f"{path}.plan")
        step = get_int(d, "step", path)
        if not 0 <= step <= len(plan.steps):
            raise MissionDataError(f"{path}.step", f"must be within 0..{len(plan.steps)}")
        early = get_list(d, "early", path, default=True)
        if not all(isinstance(e, str) and e in STEPS for e in early):
            raise MissionDataError(f"{path}.early", f"must list steps of {STEPS}")
        basis = []
        for i, b in enumerate(get_list(d, "basis", path, default=True)):
            if not (isinstance(b, list) and len(b) == 3 and isinstance(b[0], str)):
                raise MissionDataError(f"{path}.basis[{i}]", "must be [item, units, credits]")
            row = {"u": b[1], "c": b[2]}
            basis.append((b[0], get_int(row, "u", path), get_int(row, "c", path)))
        return cls(
            plan,
            step,
            tuple(early),
            get_int(d, "mined", path, 0),
            tuple(basis),
            get_bool(d, "skipped", path, False),
            get_int(d, "started_at", path, 0),
            get_int(d, "finished_at", path, 0),
            get_int(d, "first_profit_at", path, 0),
        )


@dataclass(frozen=True, slots=True)
class TutorialChange:
    """The new `tutorial`, the reward requests to commit, and the messages for the client."""

    tutorial: Tutorial
    requests: tuple[LedgerRequest, ...] = ()
    messages: tuple[dict[str, Any], ...] = ()


def start(plan: TutorialPlan, now: int) -> Tutorial:
    """A fresh tutorial at its first step."""
    return Tutorial(plan, started_at=now)


def observe(
    tutorial: Tutorial,
    fact: Fact | None,
    pilot: Pilot,
    now: int,
    *,
    earned: int = 0,
    accepted: bool = False,
) -> TutorialChange:
    """Advance by `fact`, by `earned` credits of contract pay, or by a contract `accepted`.

    Every step whose deed is done (now or earlier) completes in order, each paying its
    reward; the last one also pays "done". A skipped or finished tutorial ignores everything.
    """
    if tutorial.skipped or tutorial.finished:
        return TutorialChange(tutorial)
    t, deeds = _deeds(tutorial, fact, now, earned=earned, accepted=accepted)
    if not deeds and t == tutorial:
        return TutorialChange(tutorial)
    early = tuple(sorted(set(t.early) | deeds))
    t = dataclasses.replace(t, early=early)
    requests: list[LedgerRequest] = []
    paid = 0
    while not t.finished and t.steps[t.step] in t.early:
        done = t.steps[t.step]
        t = dataclasses.replace(t, step=t.step + 1, early=tuple(e for e in t.early if e != done))
        requests.append(_reward(pilot, done))
        paid += rules.TUTORIAL_REWARDS[done]
        if t.finished:
            t = dataclasses.replace(t, finished_at=now)
            requests.append(_reward(pilot, "done"))
            paid += rules.TUTORIAL_REWARDS["done"]
    messages = (t.message(paid),) if t.step != tutorial.step or t.mined != tutorial.mined else ()
    return TutorialChange(t, tuple(requests), messages)


def skip(tutorial: Tutorial) -> TutorialChange:
    """Skip the rest (no more rewards until resumed). NOT_AVAILABLE when already finished."""
    if tutorial.finished:
        raise MissionError(ErrorCode.NOT_AVAILABLE, "the tutorial is already finished")
    t = dataclasses.replace(tutorial, skipped=True)
    return TutorialChange(t, messages=(t.message(),))


def resume(tutorial: Tutorial) -> TutorialChange:
    """Take a skipped tutorial up again at the step where it stopped. NOT_AVAILABLE when it
    is finished or was not skipped."""
    if tutorial.finished or not tutorial.skipped:
        raise MissionError(ErrorCode.NOT_AVAILABLE, "the tutorial is not paused")
    t = dataclasses.replace(tutorial, skipped=False)
    return TutorialChange(t, messages=(t.message(),))


HINTS: Mapping[str, str] = {
    "undock": "Your ship starts docked at your home station. Stations sell fuel, repairs and "
    "goods; the mission board pays for work.",
    "fly": "Thrust burns fuel; coasting is free. The HUD warns when the fuel left would no "
    "longer bring you back to a station.",
    "mine": "Stop within 150 m of a rock, under 30 m/s, and mine it: ore fills your hold.",
    "dock": "Come within the station's docking ring under 60 m/s and dock.",
    "sell": "Ore you mined cost nothing, so selling it is all profit. Later, buy goods where "
    "they are cheap and sell them where a station runs short.",
    "contract": "Contracts pay credits and reputation with the station's faction; reputation "
    "unlocks bigger contracts, better prices and hulls.",
    "jump": "Lawful space (Concord, Free Traders) punishes attacks near its stations; beyond "
    "it pirates hunt. Out of fuel, call for help, or recall home as a last resort.",
}


# -- inside -------------------------------------------------------------------------------------


def _deeds(
    t: Tutorial, fact: Fact | None, now: int, *, earned: int, accepted: bool
) -> tuple[Tutorial, set[str]]:
    """The tutorial with its counters updated, and the deeds `fact` (etc.) accomplishes."""
    deeds: set[str] = set()
    plan = t.plan
    if accepted:
        deeds.add("contract")
    if earned > 0:
        deeds.add("sell")
    if isinstance(fact, UndockedFrom):
        deeds.add("undock")
    elif isinstance(fact, Position) and reached(plan.marker, fact.sector, fact.x, fact.y):
        deeds.add("fly")
    elif isinstance(fact, MinedOre):
        t = dataclasses.replace(t, mined=min(rules.TUTORIAL_MINE_UNITS, t.mined + fact.qty))
        if t.mined >= rules.TUTORIAL_MINE_UNITS:
            deeds.add("mine")
    elif isinstance(fact, DockedAt) and _done_or_early(t, "undock"):
        deeds.add("dock")
    elif isinstance(fact, Arrived) and fact.sector != plan.home:
        deeds.add("jump")
    elif isinstance(fact, Traded):
        t, profit = _trade(t, fact)
        if profit > 0:
            deeds.add("sell")
    if "sell" in deeds and not t.first_profit_at:
        t = dataclasses.replace(t, first_profit_at=now)
    return t, {d for d in deeds if d in t.steps and not _done(t, d)}


def _trade(t: Tutorial, fact: Traded) -> tuple[Tutorial, int]:
    """Record a trade in the cost basis; the profit of a sale (units not bought during the
    tutorial, such as mined ore, cost nothing)."""
    basis = {item: (units, cost) for item, units, cost in t.basis}
    units, cost = basis.get(fact.item, (0, 0))
    profit = 0
    if fact.side == "buy":
        basis[fact.item] = (units + fact.qty, cost + fact.total)
    else:
        sold = min(units, fact.qty)
        paid = cost * sold // units if units else 0
        profit = fact.total - paid
        basis[fact.item] = (units - sold, cost - paid)
    rows = tuple(sorted((k, u, c) for k, (u, c) in basis.items() if u > 0))
    return dataclasses.replace(t, basis=rows), profit


def _done(t: Tutorial, step: str) -> bool:
    return step in t.steps[: t.step]


def _done_or_early(t: Tutorial, step: str) -> bool:
    return _done(t, step) or step in t.early


def _reward(pilot: Pilot, step: str) -> LedgerRequest:
    amount = rules.TUTORIAL_REWARDS[step]
    return LedgerRequest(
        f"tutorial:{pilot.account}:{step}",
        "tutorial_reward",
        pilot.account,
        pay(MISSIONS, player_account(pilot.account), amount),
        detail={"step": step, "reward": amount},
    )


def _objective(t: Tutorial) -> Objective:
    plan = t.plan
    step = t.current
    home = Marker("station", plan.home, plan.station, plan.station_x, plan.station_y)
    if step == "undock":
        return Objective(f"Undock from {plan.station_name}", home)
    if step == "fly":
        km = math.hypot(plan.marker.x - plan.station_x, plan.marker.y - plan.station_y) / 1000
        return Objective(f"Fly to the marker ({km:.1f} km from the station)", plan.marker)
    if step == "mine":
        return Objective(
            f"Mine {rules.TUTORIAL_MINE_UNITS} {plan.ore} in the asteroid field",
            plan.field,
            t.mined,
            rules.TUTORIAL_MINE_UNITS,
        )
    if step == "dock":
        return Objective(f"Dock at {plan.station_name}", home)
    if step == "sell":
        return Objective("Sell at the market for your first profit", home)
    if step == "contract":
        return Objective("Accept a contract from the mission board", home)
    link = Marker("link", plan.home, -1, 0.0, 0.0, 0.0, plan.link)
    return Objective(f"Jump to a neighbouring system ({plan.jump_fuel:.0f} fuel)", link)
