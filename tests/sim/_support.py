"""Shared helpers for the sim tests: content hulls and small hand-built layouts."""

from __future__ import annotations

from callister.content import Hull, load_content
from callister.sim import RockSpec, StationSpec, Zone, ZoneLayout

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
