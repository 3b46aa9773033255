from __future__ import annotations

import pytest

from callister.missions.errors import MissionDataError
from callister.missions.facts import (
    Crime,
    DockedAt,
    FuelOut,
    Killed,
    MinedOre,
    ShipLost,
    UndockedFrom,
    Victim,
    from_zone_event,
)
from callister.missions.markers import Marker, Objective, reached
from callister.sim import events as sim

from ._support import system


def _state(ship: int) -> sim.ShipState:
    return sim.ShipState(ship, 7, "shuttle", 0.0, 0.0, 0.0, 0.0, 0.0, None)


def test_zone_events_become_the_pilots_facts() -> None:
    home = system(-2, 1)  # three stations, two of them Concord's
    assert home is not None
    me, other = 11, 22
    s = home.sector
    cases: list[tuple[sim.ZoneEvent, object]] = [
        (sim.Docked(me, 1), DockedAt(s, 1)),
        (sim.Undocked(me, 1), UndockedFrom(s, 1)),
        (sim.Mined(me, 7, 0, 3, "ice", 4), MinedOre(s, 0, "ice", 4)),
        (sim.FuelEmpty(me, 7), FuelOut(s)),
        (sim.CrimeCommitted(me, 7, other, 8, 1), Crime(s, 1, home.stations[1].faction)),
        (sim.Destroyed(me, 7, other, 8, "laser", 0, 0, 99, _state(me)), ShipLost(s)),
        (
            sim.Destroyed(other, -5, me, 7, "laser", 0, 0, 99, _state(other)),
            Killed(s, other, 5, "pirate", "ashen", True),
        ),
    ]
    victims = {other: Victim(5, "pirate", "ashen", True)}
    for event, fact in cases:
        assert from_zone_event(home, event, me, victims) == fact
    # about someone else: nothing for this pilot
    assert from_zone_event(home, sim.Docked(other, 1), me) is None
    assert from_zone_event(home, sim.FuelEmpty(other, 8), me) is None
    # an unknown victim is a player's ship
    killed = from_zone_event(home, sim.Destroyed(33, 9, me, 7, "laser", 0, 0, 0, _state(33)), me)
    assert killed == Killed(s, 33)


def test_marker_round_trip_and_reach() -> None:
    m = Marker("point", (-1, 1), -1, 1000.0, 2000.0, 400.0)
    assert Marker.from_dict(m.to_dict()) == m
    link = Marker("link", (5, -6), to=(6, -6))
    assert Marker.from_dict(link.to_dict()) == link
    assert m.to_dict()["sector"] == ["-1", "1"]
    assert reached(m, (-1, 1), 1300.0, 2000.0)
    assert not reached(m, (-1, 1), 1401.0, 2000.0)
    assert not reached(m, (0, 1), 1000.0, 2000.0)
    assert not reached(Marker("station", (-1, 1), 0, 1000.0, 2000.0), (-1, 1), 1000.0, 2000.0)
    o = Objective("Mine 5 Ice", m, 2, 5).to_dict()
    assert o["have"] == 2 and o["need"] == 5 and o["marker"]["kind"] == "point"
    assert "need" not in Objective("Dock").to_dict()


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ([], "marker"),
        ({"kind": "moon", "sector": ["0", "0"]}, "marker.kind"),
        ({"kind": "point", "sector": ["x", "0"]}, "marker.sector.x"),
        ({"kind": "point", "sector": [0]}, "marker.sector"),
        ({"kind": "point", "sector": [0, 0], "x": "far"}, "marker.x"),
        ({"kind": "point", "sector": [0, 0], "x": float("nan")}, "marker.x"),
        ({"kind": "point", "sector": [0, 0], "index": True}, "marker.index"),
    ],
)
def test_bad_marker_data_names_the_field(data: object, path: str) -> None:
    with pytest.raises(MissionDataError) as e:
        Marker.from_dict(data)
    assert e.value.path == path
