"""Time and fuel estimates for a trip: what contracts are paid by and fuel warnings warn about.

The flight model is the zone's (docs/protocol.md, "Flight model"): full thrust accelerates at
the hull's `thrust` up to `max_speed`, braking decelerates as fast, and coasting burns nothing.
The quickest trip over `d` metres accelerates, cruises, and brakes; it burns fuel only while
accelerating and braking. A jump may start anywhere in a system (2 s of charge) and arrives at
`universe.arrival_point` of the target system.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from callister.content import Hull
from callister.missions import rules
from callister.missions._data import Sector
from callister.universe import StarSystem, arrival_point


def flight_seconds(distance: float, hull: Hull) -> float:
    """Seconds of the quickest flight over `distance` m from rest to rest."""
    a, v = hull.thrust, hull.max_speed
    if distance <= 0:
        return 0.0
    if distance <= v * v / a:  # never reaches full speed: accelerate half way, brake half way
        return 2.0 * math.sqrt(distance / a)
    return 2.0 * v / a + (distance - v * v / a) / v


def flight_fuel(distance: float, hull: Hull, fuel_multiplier: float = 1.0) -> float:
    """Fuel the quickest flight over `distance` burns (accelerating and braking only), plus
    `rules.FUEL_SPARE` for corrections."""
    a, v = hull.thrust, hull.max_speed
    burn_s = 2.0 * min(v / a, math.sqrt(max(distance, 0.0) / a))
    return (burn_s * hull.fuel_burn + rules.FUEL_SPARE) * fuel_multiplier


@dataclass(frozen=True, slots=True)
class Place:
    """A point in a sector (a station, a field, a ship)."""

    sector: Sector
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class Trip:
    """An estimated trip: `seconds` of flight (including undocking, jumps and docking when
    asked), `fuel` it burns, `jumps` it makes and `metres` it flies."""

    seconds: float
    fuel: float
    jumps: int
    metres: float

    def __add__(self, other: Trip) -> Trip:
        return Trip(
            self.seconds + other.seconds,
            self.fuel + other.fuel,
            self.jumps + other.jumps,
            self.metres + other.metres,
        )


NO_TRIP = Trip(0.0, 0.0, 0, 0.0)


def trip(
    a: Place,
    b: Place,
    systems: Mapping[Sector, StarSystem],
    hull: Hull,
    *,
    undock: bool = False,
    dock: bool = False,
) -> Trip | None:
    """The trip from `a` to `b`: in one sector, or across one jump link (the ship jumps where
    it is and flies from the arrival point). None if `b` is neither in `a`'s sector nor one
    link away, or the target system is not in `systems`. `undock` / `dock` add those times."""
    extra = (rules.UNDOCK_S if undock else 0.0) + (rules.DOCK_S if dock else 0.0)
    if a.sector == b.sector:
        d = math.hypot(b.x - a.x, b.y - a.y)
        return Trip(flight_seconds(d, hull) + extra, flight_fuel(d, hull), 0, d)
    origin, target = systems.get(a.sector), systems.get(b.sector)
    if origin is None or target is None or b.sector not in origin.links:
        return None
    ax, ay = arrival_point(target, a.sector[0], a.sector[1])
    d = math.hypot(b.x - ax, b.y - ay)
    return Trip(
        flight_seconds(d, hull) + rules.JUMP_S + extra,
        flight_fuel(d, hull) + hull.jump_fuel,
        1,
        d,
    )
