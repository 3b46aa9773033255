from __future__ import annotations

from types import SimpleNamespace as NS

import pytest

from callister.sim import RockSpec, StationSpec, ZoneLayout


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
    ],
)
def test_invalid_layouts_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ZoneLayout(**kwargs)  # type: ignore[arg-type]
