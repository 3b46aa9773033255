from __future__ import annotations

import math
import pickle

import pytest
from msgspec import structs

from callister.universe import TICK_HZ, Planet, Rock, Station

from ._support import systems_near


def test_planet_position_follows_its_orbit() -> None:
    p = Planet(0, "Veyra I", "rocky", 300, 10_000, 1200, 250_000)  # a quarter turn at tick 0
    x, y = p.position_at(0)
    assert x == pytest.approx(0.0, abs=1e-6) and y == pytest.approx(10_000.0)
    assert p.position_at(300) == pytest.approx((-10_000.0, 0.0), abs=1e-6)
    assert p.position_at(1200 * 10**12) == pytest.approx(p.position_at(0), abs=1e-6)
    for tick in (0, 7, 10**9):
        assert math.hypot(*p.position_at(tick)) == pytest.approx(10_000.0)


def test_planet_periods_are_minutes_to_hours() -> None:
    for system in systems_near(1, 0, 0, 100):
        for p in system.planets:
            assert 2 * 60 * TICK_HZ < p.period < 12 * 3600 * TICK_HZ


def test_values_are_frozen_hashable_and_keep_value_behaviour() -> None:
    rock = Rock(1, 2, 3)
    assert rock == Rock(x=1, y=2, r=3) and hash(rock) == hash(Rock(1, 2, 3))
    assert rock != Rock(1, 2, 4) and len({rock, Rock(1, 2, 3)}) == 1
    with pytest.raises(AttributeError):
        rock.x = 5  # type: ignore[misc]
    station = Station(0, "A Hub", "concord", ("refuel",), 1, 2, 100, 250)
    assert station.destroyed is False  # the default
    assert structs.replace(station, destroyed=True).destroyed is True
    assert station.destroyed is False  # replace makes a copy
    with pytest.raises(TypeError):
        Rock(1, 2)  # type: ignore[call-arg]
    system = systems_near(1, 0, 0, 1)[0]
    assert structs.replace(system) == system
    assert pickle.loads(pickle.dumps(system)) == system  # zone workers may get it pickled
    assert system.sector == (system.x, system.y) and system.galaxy == (system.gx, system.gy)


def test_to_dict_shapes() -> None:
    system = systems_near(1, 0, 0, 1)[0]
    d = system.to_dict()
    assert set(d) >= {"key", "x", "y", "name", "star", "planets", "stations", "fields", "links"}
    assert d["star"] == {
        "class": system.star.spectral_class,
        "color": system.star.color,
        "radius": system.star.radius,
    }
    assert [p["index"] for p in d["planets"]] == list(range(len(system.planets)))
    for s, sd in zip(system.stations, d["stations"], strict=True):
        assert sd["services"] == list(s.services) and sd["dock_radius"] == s.dock_radius
    for f, fd in zip(system.fields, d["fields"], strict=True):
        assert fd["rocks"] == [r.to_dict() for r in f.rocks]
