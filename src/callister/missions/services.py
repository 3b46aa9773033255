"""The station services baseline, and what makes a system a good home for a new pilot.

A new pilot must never start where the basics are missing (issue 16: "many stations offer no
repair, insurance or shipyard, home stations included"). The rule: **home stations and
lawful hubs offer at least market, refuel, repair, rearm, insurance and shipyard.** The
universe's service list has no "insurance": the economy sells insurance wherever there is a
repair service or a shipyard, so the baseline's repair and shipyard bring it.

A *lawful hub* is, in a system ruled by a lawful faction, the first live station of that
faction (one per system, so most lawful stations keep their generated, varied services).

`with_baseline` applies the rule to a generated system; the generator (for hubs) and the
server (for the homes it chooses) call it. `home_problems` says why a system would make a poor
home (the server's choice of home systems should skip those).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import msgspec

from callister.content import Hull
from callister.missions import rules
from callister.missions.tutorial import first_profit_seconds
from callister.universe import SERVICES, StarSystem, Station

BASELINE: tuple[str, ...] = ("market", "refuel", "repair", "rearm", "shipyard")
"""The generated services every home station and lawful hub has (insurance comes with repair
and shipyard)."""


def offers_insurance(services: Iterable[str]) -> bool:
    """Whether the economy sells insurance at a station with these services."""
    found = set(services)
    return "repair" in found or "shipyard" in found


def lawful_hub(system: StarSystem, lawful: Mapping[str, bool]) -> int | None:
    """The index of the system's lawful hub, or None (the ruling faction is not lawful, or
    it has no live station here)."""
    if not lawful.get(system.faction, False):
        return None
    for station in system.stations:
        if station.faction == system.faction and not station.destroyed:
            return station.index
    return None


def baseline_services(station: Station) -> tuple[str, ...]:
    """The station's services with the baseline added, in SERVICES order."""
    have = set(station.services) | set(BASELINE)
    return tuple(s for s in SERVICES if s in have)


def with_baseline(
    system: StarSystem, lawful: Mapping[str, bool], homes: Iterable[int] = ()
) -> StarSystem:
    """`system` with the baseline applied to its lawful hub and to the stations in `homes`
    (indices of home stations). Destroyed stations keep no services. The same system object
    is returned when nothing changes."""
    targets = set(homes)
    hub = lawful_hub(system, lawful)
    if hub is not None:
        targets.add(hub)
    stations = tuple(
        msgspec.structs.replace(s, services=baseline_services(s))
        if s.index in targets and not s.destroyed and baseline_services(s) != s.services
        else s
        for s in system.stations
    )
    if stations == system.stations:
        return system
    return msgspec.structs.replace(system, stations=stations)


def missing(station: Station) -> tuple[str, ...]:
    """The baseline services the station lacks (what the HUD or an operator report shows)."""
    return tuple(s for s in BASELINE if s not in station.services)


def home_problems(system: StarSystem, station: int, hull: Hull) -> tuple[str, ...]:
    """Why `station` of `system` would be a poor home for a new pilot flying `hull` (empty: a
    good one): it must exist and stand; the system needs a jump link (the tutorial's jump, a
    way on) and an asteroid field close and rich enough that the tutorial's first profit
    takes at most FIRST_PROFIT_S at the quickest. Services are not checked: the baseline
    gives a home station all of them."""
    if not 0 <= station < len(system.stations) or system.stations[station].destroyed:
        return (f"station {station} does not exist or is destroyed",)
    problems = []
    if not system.links:
        problems.append("no jump links")
    st = system.stations[station]
    quickest = min((first_profit_seconds(st, f, hull) for f in system.fields), default=math.inf)
    if not math.isfinite(quickest):
        problems.append("no asteroid field with ore")
    elif quickest > rules.FIRST_PROFIT_S:
        problems.append(
            f"the nearest field is too far or too poor: a first profit takes {quickest:.0f} s "
            f"at the quickest (at most {rules.FIRST_PROFIT_S:.0f})"
        )
    return tuple(problems)
