"""Shared helpers for the sim tests: content hulls and small hand-built layouts."""

from __future__ import annotations

from callister.content import Hull, load_content
from callister.protocol.intents import Fire
from callister.sim import RockSpec, StationSpec, Zone, ZoneLayout, ZoneRules

HULLS = load_content().hulls
SHUTTLE: Hull = HULLS["shuttle"]  # thrust 60, max 260 m/s, 200 deg/s, r 12
HAULER: Hull = HULLS["hauler"]
INTERCEPTOR: Hull = HULLS["interceptor"]  # max 380 m/s, r 10

OWNER = 7
STATION = StationSpec(index=0, x=5000.0, y=0.0, radius=100.0, dock_radius=300.0)
FAR_STATION = StationSpec(index=3, x=-5000.0, y=0.0, radius=100.0, dock_radius=300.0)


def layout(**overrides: object) -> ZoneLayout:
    """A 10 km system: star r=500, two stations on the x axis, no rocks unless given."""
    base: dict[str, object] = {
        "radius": 10_000.0,
        "sector": (0, 0),
        "links": ((1, 0), (0, -1)),
        "star_radius": 500.0,
        "stations": (STATION, FAR_STATION),
        "rocks": (),
    }
    base.update(overrides)
    return ZoneLayout(**base)  # type: ignore[arg-type]


def rock(x: float, y: float, r: float, field: int = 0) -> RockSpec:
    return RockSpec(x=x, y=y, r=r, field=field)


def zone(**overrides: object) -> Zone:
    return Zone(layout(**overrides))


def run(z: Zone, ticks: int) -> list[object]:
    """Step `ticks` times, returning all events."""
    events: list[object] = []
    for _ in range(ticks):
        events.extend(z.step())
    return events


# -- combat helpers ---------------------------------------------------------------------------

WEAPONS = load_content().weapons
LASER = WEAPONS["laser"]  # hitscan, 8 dmg, 1000 m, 0.4 s, 6 energy, turret, falloff 0.5
CANNON = WEAPONS["cannon"]  # shells, 22 dmg, 1600 m, 1000 m/s, 80 rounds, arc 30
MISSILE = WEAPONS["missile"]  # homing, 70 dmg, 3000 m, 6 rounds, arc 90
HEAVY = WEAPONS["heavy_laser"]  # hitscan, arc 25
POOL = range(1 << 50, (1 << 50) + 100_000)


def armed_zone(
    rules: ZoneRules | None = None, *, ids: range | None = POOL, **overrides: object
) -> Zone:
    """A zone (see `layout`) whose id pool holds plenty of ids for shells and wrecks."""
    z = Zone(layout(**overrides), rules=rules)
    if ids is not None:
        z.grant_ids(ids)
    return z


def ship(
    z: Zone, ship_id: int, x: float, y: float = 3000.0, *, owner: int | None = None, **kw: object
) -> int:
    """Add a shuttle (laser in slot 0, cannon in slot 1) at (x, y) facing +x; owner = its id."""
    hull = kw.pop("hull", SHUTTLE)
    z.add_ship(ship_id, ship_id if owner is None else owner, hull, x=x, y=y, **kw)  # type: ignore[arg-type]
    return ship_id


def duel(distance: float, **target: object) -> Zone:
    """An armed zone with two shuttles facing +x: ship 1 at x = 0 and ship 2 `distance` ahead
    of it (`target`: ship 2's other settings)."""
    z = armed_zone()
    ship(z, 1, 0.0)
    ship(z, 2, distance, **target)
    return z


def fire(
    z: Zone, shooter: int, slot: int, target: int = 0, actor: int | None = None
) -> list[object]:
    """Submit one Fire (by the shooter's owner unless `actor`) and step once."""
    owner = z.ship_state(shooter).owner if actor is None else actor
    z.submit(Fire(owner, shooter, slot, target))
    return z.step()


def of_type(events: list[object], kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, kind)]
