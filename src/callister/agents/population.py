"""How many clones of each kind a system should hold, and new clones when there are too few.

`role_targets(atlas, roles)` is a pure function of the map (systems with stations only) and
the world's content NPC roles (`content/data/npc_roles.toml`, plus a world's pack). Each
role's goal has a *need* in a system (`need`): patrols two per lawful station, a trader when
another market lies within two jumps, a hauler where there are two markets or more, a pirate
where there is a market to fence at and no lawful station, miners two per asteroid field.
The role's target there is that need bounded by the role's [least, most] for the system's
kind (`content.system_kind`: lawful, home or lawless) and capped at its `max_per_system`;
none where the system has fewer markets or fields than the role's `min_markets` /
`min_fields`. So a pack that raises a role's least raises its target everywhere of that kind,
and a pack role (a "smuggler" with the trader goal and its own hull) is born beside the base
ones. Targets are keyed by (system, role key); the base roles' keys are their goals' names.
Miners are the economy's source of goods (ore) and traders carry it from where it is cheap
to where it is dear, so their numbers go together.
`scale_targets` fits the total to a wanted population (largest remainders, so the sum is
exact).

`regulate(sim, regulator, now, execute)` is the station side of the population: for each
system and kind below its target it brings **one** new clone into being per call at a
station of that system (`OffscreenSim.birth`: the clone's ledger account is opened with its
birth grant from `mint`, the source documented in docs/agents.md). Deaths are permanent: a
dead clone is never revived; a newborn is a new person with a new id (`born_id`). Pure: no
I/O.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from callister.agents.atlas import Atlas, StationInfo, SystemId
from callister.agents.model import Clone, Goal, Licence, Profile, Role, Skills
from callister.agents.offscreen import Execute, OffscreenSim
from callister.agents.planner import HullSpec, Ship
from callister.content import NpcRole, load_content, system_kind

Key = tuple[SystemId, str]  # (system, NPC role key)

NPC_ID_BASE: Final = 1 << 61  # clone ids of generated people: [2^61, 2^62), like the server's
GOALS: Final = (Goal.PATROL, Goal.TRADER, Goal.HAULER, Goal.PIRATE, Goal.MINER)
NPC_MEMORIES: Final = 200
TRADE_REACH: Final = 2  # jumps within which a trader's system must see another market
BIRTH_GRANT: Final = {  # credits a newborn starts with, from `mint` (docs/agents.md)
    Goal.TRADER: 20_000,  # a trading house stakes its captains: a hold of goods and fuel
    Goal.HAULER: 20_000,
    Goal.MINER: 4_000,
    Goal.PIRATE: 3_000,
    Goal.PATROL: 6_000,  # the faction pays its patrols' upkeep up front
}

_SYLLABLES: Final = (
    "ka", "ri", "so", "la", "ven", "dor", "mi", "ta", "ul", "bren", "co", "sa", "nel", "vi",
    "ar", "eth", "jo", "lin", "ma", "ro", "tes", "ya", "zu", "quin", "hal", "or", "pel", "dra",
)  # fmt: skip
_TRAITS: Final = (
    "brave", "cautious", "greedy", "loyal", "curious", "calm", "nervous", "stubborn",
    "cheerful", "kind", "ruthless", "careful", "reckless", "friendly", "aggressive", "quiet",
)  # fmt: skip


def _mix(*parts: int) -> int:
    """A stable 64-bit hash of integers (splitmix64 steps; never Python's hash())."""
    z = 0x9E3779B97F4A7C15
    for p in parts:
        z = (z ^ (p & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
        z ^= z >> 31
    return z


def base_roles() -> dict[str, NpcRole]:
    """The base content's NPC roles (a world without a pack)."""
    return load_content().npc_roles


def need(atlas: Atlas, sid: SystemId, goal: Goal) -> int:
    """How many clones of `goal` system `sid` calls for before a role's bounds (module
    docstring)."""
    s = atlas.system(sid)
    lawful = [st for st in s.stations if st.lawful]
    markets = [st for st in s.stations if st.has("market")]
    if goal is Goal.PATROL:
        return min(4, 2 * len(lawful))
    if goal is Goal.TRADER:
        # a trader needs somewhere to trade with: another market within two jumps
        reach = sum(
            1
            for other in atlas.within(sid, TRADE_REACH)
            for st in atlas.system(other).stations
            if st.has("market")
        )
        return min(1, len(markets)) if reach >= 2 else 0
    if goal is Goal.HAULER:
        return 1 if len(markets) >= 2 else 0
    if goal is Goal.PIRATE:
        return 1 if markets and not lawful else 0
    if goal is Goal.MINER:
        return min(6, 2 * len(s.fields))
    return 0


def role_targets(
    atlas: Atlas,
    roles: Mapping[str, NpcRole] | None = None,
    homes: Iterable[SystemId] = (),
) -> dict[Key, int]:
    """How many clones of each NPC role each system of the map should hold (module
    docstring); `roles` the world's content roles (None: the base content's), `homes` the
    home systems (their kind is "home" when they have no lawful station)."""
    if roles is None:
        roles = base_roles()
    home_set = set(homes)
    out: dict[Key, int] = {}
    for sid in sorted(atlas.systems):
        s = atlas.system(sid)
        if not s.stations:
            continue  # nobody is born, refuels or sells where there is no station
        kind = system_kind(any(st.lawful for st in s.stations), sid in home_set)
        markets = sum(1 for st in s.stations if st.has("market"))
        for key, role in roles.items():
            if markets < role.min_markets or len(s.fields) < role.min_fields:
                continue
            least, most = role.population.range_for(kind)
            n = min(role.max_per_system, max(least, min(most, need(atlas, sid, Goal(role.goal)))))
            if n > 0:
                out[(sid, key)] = n
    return out


def scale_targets(targets: Mapping[Key, int], total: int) -> dict[Key, int]:
    """The targets scaled so that they add up to `total` exactly (largest remainders; ties
    by system and kind)."""
    have = sum(targets.values())
    if have == 0 or total <= 0:
        return {}
    raw = {k: v * total / have for k, v in targets.items()}
    out = {k: int(v) for k, v in raw.items()}
    short = total - sum(out.values())
    order = sorted(raw, key=lambda k: (-(raw[k] - out[k]), k[0], role_order(k[1])))
    for k in order[:short]:
        out[k] += 1
    return {k: v for k, v in out.items() if v > 0}


def role_order(key: str) -> int:
    """A stable number for an NPC role key: a base goal's index in GOALS (so the base roles'
    clone ids are what they were when targets were per goal), else a CRC of the key above
    them."""
    for i, g in enumerate(GOALS):
        if g.value == key:
            return i
    return len(GOALS) + zlib.crc32(key.encode())


def born_id(seed: int, system: SystemId, role: str, serial: int) -> int:
    """The id of the `serial`-th clone of NPC role `role` born in `system`: in [2^61, 2^62)."""
    h = _mix(seed, system[0], system[1], role_order(role), serial)
    return NPC_ID_BASE | (h & (NPC_ID_BASE - 1))


def born_person(clone_id: int, goal: Goal, place: str, what: str | None = None) -> Profile:
    """A generated person for a newborn clone: a name from syllables, two traits, skills
    (pilots and gunners better among patrols and pirates, miners among miners)."""
    h = _mix(clone_id, 17)
    first = "".join(_SYLLABLES[(h >> (5 * i)) % len(_SYLLABLES)] for i in range(2)).title()
    last = "".join(_SYLLABLES[(h >> (12 + 5 * i)) % len(_SYLLABLES)] for i in range(3)).title()
    traits = tuple(dict.fromkeys((_TRAITS[(h >> 32) % 16], _TRAITS[(h >> 40) % 16])))
    bump = {Goal.PATROL: (0.2, 0.2, 0.0, 0.0), Goal.PIRATE: (0.15, 0.25, 0.0, 0.0),
            Goal.MINER: (0.0, 0.0, 0.1, 0.3)}.get(goal, (0.1, 0.0, 0.1, 0.0))  # fmt: skip
    skills = Skills(
        *(
            min(1.0, round(0.2 + 0.5 * ((h >> (48 + 4 * i)) & 15) / 15 + bump[i], 2))
            for i in range(4)
        )
    )
    return Profile(
        name=f"{first} {last}",
        background=f"A {what or goal.value} born at {place}.",
        traits=traits,
        skills=skills,
    )


@dataclass(slots=True)
class Regulator:
    """Keeps each system's clones of each NPC role at their target by births at its stations
    (`births`); a newborn of a role flies one of the role's hulls (`hull_for(hull key)`, taken
    in turn by birth serial)."""

    atlas: Atlas
    targets: dict[Key, int]
    hull_for: Callable[[str], HullSpec]
    roles: Mapping[str, NpcRole]
    seed: int = 0
    world: str = "infinity"
    next_ship: Callable[[], int] = lambda: 0
    serials: dict[Key, int] | None = None

    def goal_of(self, role: str) -> Goal:
        """The goal a role's clones pursue (a role a pack no longer has: its key's goal, or
        trader)."""
        r = self.roles.get(role)
        if r is not None:
            return Goal(r.goal)
        return Goal(role) if role in {g.value for g in GOALS} else Goal.TRADER

    def station_for(self, system: SystemId, goal: Goal, serial: int) -> StationInfo | None:
        """Where a clone of `goal` is born in `system`: traders, haulers and miners at a
        market, patrols at a lawful station, pirates at a lawless one."""
        stations = self.atlas.system(system).stations
        if goal is Goal.PATROL:
            pick = [s for s in stations if s.lawful]
        elif goal is Goal.PIRATE:
            pick = [s for s in stations if not s.lawful]
        else:
            pick = [s for s in stations if s.has("market")] or list(stations)
        pick = pick or list(stations)
        return pick[serial % len(pick)] if pick else None

    def newborn(
        self, system: SystemId, role: str, tick: int
    ) -> tuple[Clone, Ship, StationInfo] | None:
        """A new clone of NPC role `role` and its ship for `system` (not yet in the world:
        `OffscreenSim.birth`)."""
        if self.serials is None:
            self.serials = {}
        serial = self.serials.get((system, role), 0)
        self.serials[(system, role)] = serial + 1
        goal = self.goal_of(role)
        station = self.station_for(system, goal, serial)
        if station is None:
            return None
        spec = self.roles.get(role)
        clone_id = born_id(self.seed, system, role, serial)
        what = spec.name.lower() if spec is not None and spec.key != goal.value else None
        clone = Clone.create(
            clone_id,
            born_person(clone_id, goal, station.name, what),
            world=self.world,
            tick=tick,
            role=Role.PILOT,
            goal=goal,
            licence=Licence(),
            home_station=station.id[2],
            max_memories=NPC_MEMORIES,
        )
        hull = self.hull_for(spec.hull_for(serial) if spec is not None else "")
        ship = Ship(
            clone_id=clone_id,
            actor=-clone_id,
            ship_id=self.next_ship(),
            goal=goal,
            hull=hull,
            system=system,
            x=station.x,
            y=station.y,
            docked_at=station.id,
            fuel=hull.fuel,
            hull_hp=hull.hull,
            home=system,
            role=role,
        )
        return clone, ship, station

    def deficits(self, alive: Iterable[Key]) -> list[Key]:
        """(system, role) pairs below target, in a stable order, given the (home system,
        role) of every living clone."""
        counts: dict[Key, int] = {}
        for key in alive:
            counts[key] = counts.get(key, 0) + 1
        return [
            key
            for key in sorted(self.targets, key=lambda k: (k[0], role_order(k[1])))
            if counts.get(key, 0) < self.targets[key]
        ]


def regulate(sim: OffscreenSim, reg: Regulator, now: int, execute: Execute) -> int:
    """One round of births: a clone for every (system, role) below its target. Returns how
    many were born."""
    born = 0
    alive = ((a.ship.home or a.ship.system, a.ship.role or a.ship.goal.value) for a in sim.living())
    for system, role in reg.deficits(alive):
        made = reg.newborn(system, role, now)
        if made is None:
            continue
        clone, ship, station = made
        grant = BIRTH_GRANT.get(ship.goal, 0)
        if sim.birth(clone, ship, station.id, now, execute, grant=grant) is not None:
            born += 1
    return born
