from __future__ import annotations

from types import SimpleNamespace as NS

import pytest

from callister.content import load_content
from callister.sim import FieldSpec, RockSpec, StationSpec, ZoneLayout
from callister.universe import generate_system


def test_from_system_reads_the_duck_typed_attributes() -> None:
    system = NS(
        radius=12_000,
        sector=(3, -4),
        links=((4, -4), (3, -5)),
        star=NS(radius=700, name="ignored"),
        stations=[
            NS(index=0, x=4000, y=100, radius=120, dock_radius=350, name="x"),
            NS(index=1, x=-3000, y=-2000, radius=90, dock_radius=300),
        ],
        fields=[
            NS(rocks=[NS(x=1, y=2, r=30), NS(x=3, y=4, r=40)]),
            NS(rocks=[]),
            NS(rocks=[NS(x=-5, y=-6, r=50)]),
        ],
    )
    layout = ZoneLayout.from_system(system)
    assert layout.radius == 12_000.0 and layout.sector == (3, -4)
    assert layout.links == ((4, -4), (3, -5))
    assert layout.star_radius == 700.0
    assert layout.stations[1] == StationSpec(1, -3000.0, -2000.0, 90.0, 300.0)
    assert layout.rocks == (
        RockSpec(1.0, 2.0, 30.0, 0),
        RockSpec(3.0, 4.0, 40.0, 0),
        RockSpec(-5.0, -6.0, 50.0, 2),
    )
    assert layout.station(1) is layout.stations[1]
    assert layout.station(9) is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"radius": 0.0},
        {"radius": float("nan")},
        {"radius": 1000.0, "star_radius": -1.0},
        {"radius": 1000.0, "rocks": (RockSpec(0.0, 0.0, -3.0),)},
        {"radius": 1000.0, "rocks": (RockSpec(float("inf"), 0.0, 3.0),)},
        {"radius": 1000.0, "stations": (StationSpec(0, 0, 0, 1, 2), StationSpec(0, 5, 5, 1, 2))},
        {"radius": 1000.0, "stations": (StationSpec(0, 0, 0, 1, float("nan")),)},
        {"radius": 1000.0, "links": ((1, 0), (1, 0))},
        {"radius": 1000.0, "fields": (FieldSpec(0, "iron", 5, 5), FieldSpec(0, "ice", 5, 5))},
        {"radius": 1000.0, "fields": (FieldSpec(0, "iron", 101, 101),)},
        {"radius": 1000.0, "fields": (FieldSpec(0, "iron", 5, -1),)},
        {"radius": 1000.0, "fields": (FieldSpec(0, "iron", 5, 5, -3),)},
    ],
)
def test_invalid_layouts_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ZoneLayout(**kwargs)  # type: ignore[arg-type]


def test_from_system_reads_lawfulness_and_fields() -> None:
    system = NS(
        radius=12_000,
        sector=(0, 0),
        links=(),
        star=NS(radius=700),
        stations=[
            NS(index=0, x=4000, y=100, radius=120, dock_radius=350, faction="concord"),
            NS(index=1, x=-3000, y=0, radius=90, dock_radius=300, faction="ashen"),
            NS(index=2, x=0, y=-3000, radius=90, dock_radius=300, faction="concord",
               destroyed=True),
            NS(index=3, x=0, y=3000, radius=90, dock_radius=300, faction="nobody"),
        ],
        fields=[
            NS(ore="iron", richness=40, rocks=[NS(x=1, y=2, r=30)]),
            NS(ore="ice", richness=7, rocks=[]),
        ],
    )  # fmt: skip
    layout = ZoneLayout.from_system(system, base_richness={1: 9}, field_ticks={1: 500})
    assert [s.lawful for s in layout.stations] == [True, False, False, False]
    assert layout.fields == (FieldSpec(0, "iron", 40, 40, None), FieldSpec(1, "ice", 7, 9, 500))
    assert layout.field(1) is layout.fields[1] and layout.field(5) is None


def test_from_a_generated_system() -> None:
    for x in range(-5, 6):
        system = generate_system(1, x, 0)
        if system is not None and system.fields and system.stations:
            break
    else:
        raise AssertionError("no system with fields and stations")
    layout = ZoneLayout.from_system(system)
    assert [f.ore for f in layout.fields] == [f.ore for f in system.fields]
    assert [f.richness for f in layout.fields] == [f.base for f in layout.fields]
    lawful = {k for k, f in load_content().factions.items() if f.lawful}
    assert [s.lawful for s in layout.stations] == [s.faction in lawful for s in system.stations]
