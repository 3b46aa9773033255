"""The cruise drive (sim/autopilot.py, kernels_travel.py): spool-up, speed, fuel, drop-outs."""

from __future__ import annotations

import dataclasses
import math

import pytest

from callister.protocol.errors import ErrorCode
from callister.protocol.intents import Autopilot, Cruise, Fire, Input
from callister.sim import Collided, CruiseChanged, Refused, Zone, autopilot
from callister.sim.rules import (
    CRUISE_COOLDOWN_S,
    CRUISE_DROP_DISTANCE,
    CRUISE_SHIP_DISTANCE,
    CRUISE_SPOOL_S,
)

from ._support import OWNER, POOL, SHUTTLE
from .test_autopilot import HOME, HZ, fly, of, travel_layout

OPEN = (0.0, -25_000.0)  # open space: far from the star, the stations, the field


def cruiser(x: float = OPEN[0], y: float = OPEN[1], **kw: object) -> Zone:
    """A zone with ship 1 spooling up its cruise drive at (x, y)."""
    z = Zone(travel_layout())
    z.grant_ids(POOL)
    z.add_ship(1, OWNER, SHUTTLE, x=x, y=y, **kw)  # type: ignore[arg-type]
    z.submit(Cruise(OWNER, 1, True))
    assert z.step() == [CruiseChanged(1, OWNER, "spooling")]
    return z


def cruising(**kw: object) -> Zone:
    z = cruiser(**kw)
    assert of(fly(z, CRUISE_SPOOL_S), CruiseChanged) == [CruiseChanged(1, OWNER, "on")]
    return z


def speed(z: Zone, ship: int = 1) -> float:
    s = z.ship_state(ship)
    return math.hypot(s.vx, s.vy)


def test_spool_up_then_cruise_speed_and_fuel_per_metre() -> None:
    z = cruiser()
    events = fly(z, CRUISE_SPOOL_S - 0.1)
    assert not events and z.travel(1).cruise == "spooling"
    assert of(fly(z, 0.1), CruiseChanged) == [CruiseChanged(1, OWNER, "on")]
    assert z.travel(1).cruise == "on"
    z.submit(Input(OWNER, 1, 1.0, 0.0))  # full thrust: cruise_speed / 4 s
    fly(z, 4.1)
    assert speed(z) == pytest.approx(SHUTTLE.cruise_speed, rel=1e-4)
    z.submit(Input(OWNER, 1, 0.0, 0.0))
    before, start = z.ship_state(1).fuel, z.ship_state(1).x
    fly(z, 5)  # coasting in cruise still burns per metre flown, not per second
    flown = z.ship_state(1).x - start
    assert flown == pytest.approx(5 * SHUTTLE.cruise_speed, rel=1e-3)
    used = before - z.ship_state(1).fuel  # type: ignore[operator]
    assert used == pytest.approx(flown * SHUTTLE.cruise_fuel / 1000, rel=1e-3)


def test_drops_out_near_a_station_at_top_speed_and_never_reaches_it() -> None:
    z = cruising(x=HOME.x + 22_000.0, y=0.0, angle=math.pi)
    z.submit(Input(OWNER, 1, 1.0, 0.0))  # straight at the station
    events: list[object] = []
    while not of(events, CruiseChanged):
        events += z.step()
        assert z.tick < 60 * HZ
    assert of(events, CruiseChanged) == [CruiseChanged(1, OWNER, "off", "station")]
    gap = z.ship_state(1).x - HOME.x - HOME.radius - SHUTTLE.radius
    assert CRUISE_DROP_DISTANCE - SHUTTLE.cruise_speed / HZ < gap < CRUISE_DROP_DISTANCE
    assert speed(z) <= SHUTTLE.max_speed + 1e-3  # capped at once
    z.submit(Cruise(OWNER, 1, True))  # and it cannot engage again this close
    r = z.step()[0]
    assert isinstance(r, Refused) and r.code == ErrorCode.CRUISE_BLOCKED
    assert "a station" in r.reason and r.action == "cruise"
    assert not of(events, Collided)


@pytest.mark.parametrize(
    ("where", "reason"),
    [((0.0, 2_500.0), "the star"), ((9_300.0, 11_000.0), "an asteroid field")],
)
def test_cannot_engage_near_the_star_or_a_field(where: tuple[float, float], reason: str) -> None:
    z = Zone(travel_layout())
    z.add_ship(1, OWNER, SHUTTLE, x=where[0], y=where[1])
    z.submit(Cruise(OWNER, 1, True))
    r = z.step()[0]
    assert isinstance(r, Refused) and r.code == ErrorCode.CRUISE_BLOCKED and reason in r.reason


def test_refused_docked_without_a_drive_or_fuel() -> None:
    z = Zone(travel_layout())
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=0.0, docked_at=0)
    z.add_ship(2, OWNER, dataclasses.replace(SHUTTLE, cruise_speed=0.0), x=OPEN[0], y=OPEN[1])
    z.add_ship(3, OWNER, SHUTTLE, x=OPEN[0], y=OPEN[1], fuel=0.0)
    for ship, code in ((1, ErrorCode.DOCKED), (2, ErrorCode.NOT_AVAILABLE), (3, ErrorCode.NO_FUEL)):
        z.submit(Cruise(OWNER, ship, True))
        r = z.step()[0]
        assert isinstance(r, Refused) and (r.code, r.ship) == (code, ship)


@pytest.mark.parametrize("pairs", [autopilot._BRUTE_PAIRS, 0], ids=["every-pair", "grid"])
def test_a_closing_ship_drops_the_cruise_but_one_keeping_pace_does_not(
    pairs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(autopilot, "_BRUTE_PAIRS", pairs)  # many cruisers: the grid's way
    z = cruising(vx=200.0)
    x, y = z.ship_state(1).x, z.ship_state(1).y
    z.add_ship(2, 99, SHUTTLE, x=x + 600.0, y=y + 300.0, vx=200.0)  # same velocity: not closing
    assert not fly(z, 1)
    z.add_ship(3, 99, SHUTTLE, x=x + 2_000.0, y=y - 100.0)  # at rest ahead: closing
    events = fly(z, 10, until=CruiseChanged)
    assert of(events, CruiseChanged) == [CruiseChanged(1, OWNER, "off", "ship")]
    s, other = z.ship_state(1), z.ship_state(3)
    assert math.hypot(s.x - other.x, s.y - other.y) <= CRUISE_SHIP_DISTANCE


def test_damage_and_firing_drop_it() -> None:
    z = cruiser()
    z.add_ship(2, 99, SHUTTLE, x=OPEN[0] + 500.0, y=OPEN[1])  # at rest beside it: not closing
    z.submit(Fire(99, 2, 0, target=1))  # a laser hit
    events = fly(z, 0.2)
    assert of(events, CruiseChanged) == [CruiseChanged(1, OWNER, "off", "damage")]
    z = cruiser()
    z.submit(Fire(OWNER, 1, 0))  # the cruiser fires itself
    assert of(fly(z, 0.2), CruiseChanged) == [CruiseChanged(1, OWNER, "off", "fired")]


def test_brake_off_fuel_and_the_boundary_drop_it() -> None:
    z = cruising()
    z.submit(Input(OWNER, 1, 0.0, 0.0, True))
    assert of(z.step(), CruiseChanged) == [CruiseChanged(1, OWNER, "off", "manual")]
    z = cruising()
    z.submit(Cruise(OWNER, 1, False))
    assert z.step() == [CruiseChanged(1, OWNER, "off", "manual")]
    z.submit(Cruise(OWNER, 1, False))  # off when off: nothing
    assert z.step() == []
    z = cruising()
    z.set_vitals(1, fuel=0.0)
    assert of(z.step(), CruiseChanged) == [CruiseChanged(1, OWNER, "off", "fuel")]
    z = cruising(x=0.0, y=-38_000.0, angle=-math.pi / 2)
    z.submit(Input(OWNER, 1, 1.0, 0.0))  # out towards the edge
    events = fly(z, 10, until=CruiseChanged)
    assert of(events, CruiseChanged) == [CruiseChanged(1, OWNER, "off", "boundary")]
    assert math.hypot(z.ship_state(1).x, z.ship_state(1).y) > 40_000.0
    assert speed(z) <= SHUTTLE.max_speed + 1e-3


def test_after_a_drop_the_autopilot_waits_before_engaging_again() -> None:
    z = cruiser()
    z.submit(Cruise(OWNER, 1, False))
    z.step()
    z.submit(Autopilot(OWNER, 1, "point", x=OPEN[0], y=OPEN[1] + 20_000.0))
    quiet = fly(z, CRUISE_COOLDOWN_S - 0.2)
    assert not of(quiet, CruiseChanged)  # the cool-down
    assert of(fly(z, 0.3), CruiseChanged) == [CruiseChanged(1, OWNER, "spooling")]
