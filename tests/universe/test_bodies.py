from __future__ import annotations

import collections
import itertools
import math
from functools import cache

from callister.content import load_content
from callister.universe import PLANET_KINDS, SERVICES, STAR_CLASSES, StarSystem
from callister.universe.bodies import (
    DOCK_MARGIN,
    ROCK_R_MAX,
    ROCK_R_MIN,
    SYSTEM_RADIUS_MAX,
    SYSTEM_RADIUS_MIN,
)
from callister.universe.names import ROMAN

from ._support import EDGE_SECTORS, systems_near


@cache
def _systems() -> list[StarSystem]:
    out = systems_near(1, 0, 0, 350) + systems_near(0xBEEF, -40, 70, 200)
    for x, y in EDGE_SECTORS[:2]:
        out += systems_near(7, x, y, 40)
    return out


def _annuli(system: StarSystem) -> list[tuple[float, float, str]]:
    """(inner, outer, what) of the ring each body occupies around the star (planets sweep
    their whole orbit, so they claim orbit +- radius)."""
    rings: list[tuple[float, float, str]] = [
        (p.orbit - p.radius, p.orbit + p.radius, p.name) for p in system.planets
    ]
    for s in system.stations:
        d = math.hypot(s.x, s.y)
        rings.append((d - s.dock_radius, d + s.dock_radius, s.name))
    for f in system.fields:
        d = math.hypot(f.x, f.y)
        rings.append((d - f.radius, d + f.radius, f"field {f.index}"))
    return sorted(rings)


def test_system_shape() -> None:
    assert len(_systems()) > 600
    for system in _systems():
        assert SYSTEM_RADIUS_MIN <= system.radius <= SYSTEM_RADIUS_MAX
        assert system.star.spectral_class in STAR_CLASSES
        assert system.star.color.startswith("#") and len(system.star.color) == 7
        assert 300 <= system.star.radius <= 3000
        assert 0 <= len(system.planets) <= 9
        assert 0 <= len(system.stations) <= 3
        assert 0 <= len(system.fields) <= 4
        assert system.faction in load_content().factions


def test_nothing_overlaps_the_star_or_each_other() -> None:
    for system in _systems():
        rings = _annuli(system)
        for inner, outer, what in rings:
            assert inner > system.star.radius + 1000, (system.key, what)
            assert outer < system.radius, (system.key, what)
        for (_, outer, a), (inner, _, b) in itertools.pairwise(rings):
            assert outer < inner, (system.key, a, b)


def test_planets() -> None:
    for system in _systems():
        orbits = [p.orbit for p in system.planets]
        assert orbits == sorted(orbits)
        for i, p in enumerate(system.planets):
            assert p.index == i
            assert p.name == f"{system.name} {ROMAN[i]}"
            assert p.kind in PLANET_KINDS
            assert 100 <= p.radius <= 1500
            assert 0 <= p.phase < 1_000_000
            assert p.period > 0
        # Kepler: an outer planet never orbits faster than an inner one
        periods = [p.period for p in system.planets]
        assert periods == sorted(periods)


def test_stations() -> None:
    factions = load_content().factions
    for system in _systems():
        for i, s in enumerate(system.stations):
            assert s.index == i
            assert 80 <= s.radius <= 150 and s.dock_radius == s.radius + DOCK_MARGIN
            assert s.services and list(s.services) == [x for x in SERVICES if x in s.services]
            assert s.faction in factions
            assert not s.destroyed
            assert s.name.split(" ")[0]
        assert len({s.name for s in system.stations}) == len(system.stations)
    docked = sum(bool(s.stations) for s in _systems()) / len(_systems())
    assert docked >= 0.7, "most systems must have a station to dock at"


def test_fields_and_rocks() -> None:
    ores = load_content().ores
    seen_ores: collections.Counter[str] = collections.Counter()
    for system in _systems():
        for i, f in enumerate(system.fields):
            assert f.index == i
            assert f.ore in ores
            seen_ores[f.ore] += 1
            assert 1 <= f.richness <= 100
            assert 10 <= len(f.rocks) <= 60
            for rock in f.rocks:
                assert ROCK_R_MIN <= rock.r <= ROCK_R_MAX
                # wholly inside the field's disc
                assert math.hypot(rock.x - f.x, rock.y - f.y) + rock.r <= f.radius
            for a, b in itertools.combinations(f.rocks, 2):
                assert (a.x - b.x) ** 2 + (a.y - b.y) ** 2 >= (a.r + b.r) ** 2
    # weighted by the content weights: iron (50) far more common than platinum (5)
    assert seen_ores["iron"] > 4 * seen_ores["platinum"] > 0


def test_variety() -> None:
    planets = collections.Counter(len(s.planets) for s in _systems())
    stations = collections.Counter(len(s.stations) for s in _systems())
    fields = collections.Counter(len(s.fields) for s in _systems())
    assert set(planets) == set(range(10))
    assert set(stations) == set(range(4))
    assert set(fields) == set(range(5))
    classes = collections.Counter(s.star.spectral_class for s in _systems())
    assert set(classes) == set(STAR_CLASSES) and classes["M"] > classes["O"]
    kinds = collections.Counter(p.kind for s in _systems() for p in s.planets)
    assert set(kinds) == set(PLANET_KINDS)
    rocks = [len(f.rocks) for s in _systems() for f in s.fields]
    assert min(rocks) == 10 and max(rocks) >= 50


def test_everything_generated_is_an_integer() -> None:
    for system in _systems()[:200]:
        values = [system.radius, system.gx, system.gy, system.star.radius]
        for p in system.planets:
            values += [p.radius, p.orbit, p.period, p.phase]
        for s in system.stations:
            values += [s.x, s.y, s.radius, s.dock_radius]
        for f in system.fields:
            values += [f.x, f.y, f.radius, f.richness]
            values += [v for r in f.rocks for v in (r.x, r.y, r.r)]
        assert all(type(v) is int for v in values)
