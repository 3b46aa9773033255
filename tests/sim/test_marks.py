"""Status marks: they move whenever the status a player sees would, and only then."""

from __future__ import annotations

import pytest

from callister.protocol.intents import Input
from callister.sim import marks as marks_module
from callister.sim.marks import status_marks, steady_marks

from ._support import STATION, duel, fire, run


@pytest.fixture(autouse=True, params=["few", "vectorised"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs on both ways of mixing marks: ship by ship (a few ships) and in one
    vectorised pass (a crowd)."""
    if request.param == "vectorised":
        monkeypatch.setattr(marks_module, "SMALL", 0)


def _marks(z, ids):  # type: ignore[no-untyped-def]
    return status_marks(z.store, ids, z.tick)


def test_a_ship_the_zone_does_not_hold_has_mark_zero_and_others_never_do() -> None:
    z = duel(500.0)
    assert [m != 0 for m in _marks(z, [1, 2, 99])] == [True, True, False]
    assert _marks(z, []) == []


def test_a_ship_sitting_still_keeps_its_mark_and_two_ships_differ_only_by_their_state() -> None:
    z = duel(500.0)
    before = _marks(z, [1, 2])
    run(z, 10)
    assert _marks(z, [1, 2]) == before
    assert before[0] == before[1]  # same hull, same vitals: the same status but for its id


def test_firing_changes_the_shooters_mark_while_the_weapon_cools_and_the_targets_on_a_hit() -> None:
    z = duel(500.0)
    shooter0, target0 = _marks(z, [1, 2])
    fire(z, 1, 0, target=2)
    shooter1, target1 = _marks(z, [1, 2])
    assert shooter1 != shooter0  # energy spent, the laser cooling down
    assert target1 != target0  # the shield took the hit
    run(z, 1)
    assert _marks(z, [1])[0] != shooter1  # still cooling: a cooldown counts down every tick


def test_thrust_alone_does_not_move_the_mark_until_a_whole_unit_of_fuel_is_burned() -> None:
    z = duel(5000.0)
    start = _marks(z, [1])[0]
    z.submit(Input(1, 1, thrust=1.0, turn=0.0, brake=False))
    z.step()
    fuel = z.ship_state(1).fuel or 0.0
    assert round(fuel) == round(z.vitals(1).fuel_max) or _marks(z, [1])[0] != start
    marks = set()
    for _ in range(400):  # long enough to burn whole units of fuel
        z.step()
        marks.add(_marks(z, [1])[0])
    burned = round(z.vitals(1).fuel_max) - round(z.ship_state(1).fuel or 0.0)
    assert burned >= 1
    assert len(marks) <= burned + 2  # one new mark per whole unit, not one per tick


def test_a_docked_ship_and_an_undocked_one_have_different_marks() -> None:
    z = duel(500.0)
    start = _marks(z, [2])[0]
    z.add_ship(5, 5, z.content.starter_hull, x=STATION.x + 150.0, y=0.0, docked_at=STATION.index)
    docked = _marks(z, [5])[0]
    z.add_ship(6, 6, z.content.starter_hull, x=STATION.x + 150.0, y=0.0)
    assert docked != _marks(z, [6])[0]
    assert _marks(z, [2])[0] == start


def test_steady_marks_leave_fuel_and_energy_out_and_give_them_apart() -> None:
    z = duel(5000.0)
    marks0, drift0 = steady_marks(z.store, [1, 99], z.tick)
    assert marks0[1] == 0 and drift0[1] == (0.0, 0.0)  # not held
    assert drift0[0] == (round(z.vitals(1).energy), round(z.ship_state(1).fuel or 0.0))
    z.submit(Input(1, 1, thrust=1.0, turn=0.0, brake=False))
    full0 = _marks(z, [1])[0]
    for _ in range(400):  # long enough to burn whole units of fuel
        z.step()
    marks1, drift1 = steady_marks(z.store, [1], z.tick)
    assert drift1[0][1] < drift0[0][1]  # fuel burned...
    assert _marks(z, [1])[0] != full0  # ...which moves the full mark
    assert marks1[0] == marks0[0]  # and not the steady one
