from __future__ import annotations

from functools import cache

import pytest

from callister.sim import ZoneLayout, regrown
from callister.universe import DELTA_KEYS, StarSystem, apply_deltas
from callister.universe.deltas import field_ticks

from ._support import systems_near


@cache
def _system_with(stations: int, fields: int) -> StarSystem:
    for system in systems_near(1, 0, 0, 300):
        if len(system.stations) >= stations and len(system.fields) >= fields:
            return system
    raise AssertionError("no such system near the origin")


def test_field_richness_and_rocks() -> None:
    base = _system_with(1, 2)
    rocks = base.fields[1].rocks
    out = apply_deltas(
        base,
        {
            "field.0.richness": 0,
            "field.1.rock.0.destroyed": True,
            "field.1.rock.2.destroyed": True,
            "field.1.rock.3.destroyed": False,
        },
    )
    assert out.fields[0].richness == 0
    assert out.fields[0].rocks == base.fields[0].rocks
    assert out.fields[1].rocks == (rocks[1], *rocks[3:])
    assert out.fields[1].richness == base.fields[1].richness
    assert base.fields[0].richness > 0, "the base is not modified"
    assert out.stations == base.stations and out.planets == base.planets


def test_stations() -> None:
    base = _system_with(2, 0)
    out = apply_deltas(
        base,
        {
            "station.0.destroyed": True,
            "station.0.services": ["market"],
            "station.1.faction": "ashen",
            "station.1.services": ["shipyard", "market"],
        },
    )
    assert [s.index for s in out.stations] == [s.index for s in base.stations]
    assert out.stations[0].destroyed and out.stations[0].services == ()
    assert out.stations[1].faction == "ashen"
    assert out.stations[1].services == ("market", "shipyard")
    assert apply_deltas(base, {}) == base
    assert apply_deltas(base, {"station.0.destroyed": False}) == base


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("field.0.depleted", True),
        ("planet.0.destroyed", True),
        ("station.01.destroyed", True),
        ("station.0.destroyed.now", True),
        ("name", "Mine"),
        ("field.99.richness", 1),
        ("station.99.destroyed", True),
        ("field.0.rock.999.destroyed", True),
        ("field.0.richness", 101),
        ("field.0.richness", -1),
        ("field.0.richness", True),
        ("field.0.richness", "5"),
        ("field.0.tick", -1),
        ("field.0.tick", 1.5),
        ("field.0.tick", True),
        ("field.0.tick", "12"),
        ("field.99.tick", 5),
        ("station.0.destroyed", 1),
        ("station.0.faction", "pirates"),
        ("station.0.services", ["market", "casino"]),
        ("station.0.services", "market"),
    ],
)
def test_unknown_keys_and_bad_values_raise(key: str, value: object) -> None:
    base = _system_with(1, 1)
    with pytest.raises(ValueError):
        apply_deltas(base, {key: value})


def test_field_tick_is_validated_kept_out_of_the_system_and_read_back() -> None:
    base = _system_with(1, 2)
    deltas = {"field.0.richness": 3, "field.0.tick": 120_000, "field.1.tick": 0}
    out = apply_deltas(base, deltas)
    assert out.fields[0].richness == 3 and out.fields[1] == base.fields[1]
    assert "field.<i>.tick" in DELTA_KEYS
    assert field_ticks(deltas) == {0: 120_000, 1: 0}
    assert field_ticks({"station.0.destroyed": True}) == {}
    with pytest.raises(ValueError):
        field_ticks({"field.0.tick": -5})


def test_a_world_regrows_an_unloaded_field_from_its_deltas() -> None:
    # The world's path: stored richness + tick -> regrown richness -> the zone's layout.
    base = _system_with(1, 2)
    deltas = {"field.0.richness": 2, "field.0.tick": 1000}
    now = 1000 + 3 * 12_000 + 5
    system = apply_deltas(base, deltas)
    richness = regrown(system.fields[0].richness, base.fields[0].richness, now - 1000)
    assert richness == min(base.fields[0].richness, 5)
    layout = ZoneLayout.from_system(
        system,
        base_richness={f.index: f.richness for f in base.fields},
        field_ticks=field_ticks(deltas),
    )
    spec = layout.fields[0]
    assert (spec.richness, spec.base, spec.tick) == (2, base.fields[0].richness, 1000)
