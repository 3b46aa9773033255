from __future__ import annotations

import math

import pytest

from callister.protocol.errors import ErrorCode
from callister.protocol.intents import Dock, Input, Jump, Undock
from callister.sim import (
    DOCK_MAX_SPEED,
    DOCKED,
    JUMP_CHARGE_TICKS,
    JUMPING,
    Docked,
    JumpCancelled,
    JumpCharging,
    JumpOut,
    Refused,
    StationSpec,
    Undocked,
)
from callister.sim.rules import UNDOCK_MARGIN, UNDOCK_SPEED

from ._support import FAR_STATION, HAULER, OWNER, SHUTTLE, STATION, run, zone

OTHER = 99


def refusal(events: list[object]) -> Refused:
    assert len(events) == 1 and isinstance(events[0], Refused), events
    return events[0]


def near_station_zone():  # type: ignore[no-untyped-def]
    z = zone()
    z.add_ship(1, OWNER, SHUTTLE, x=STATION.x - 250.0, y=0.0)  # inside dock_radius 300
    return z


# -- who may command which ship -------------------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "action"),
    [
        (Input(OWNER, 42, 1.0, 0.0), "input"),
        (Dock(OWNER, 42), "dock"),
        (Undock(OWNER, 42), "undock"),
        (Jump(OWNER, 42, 1, 0), "jump"),
    ],
)
def test_unknown_ship_is_refused(intent: object, action: str) -> None:
    z = near_station_zone()
    z.submit(intent)  # type: ignore[arg-type]
    r = refusal(z.step())
    assert (r.code, r.action, r.actor, r.ship) == (ErrorCode.UNKNOWN_SHIP, action, OWNER, 42)


@pytest.mark.parametrize(
    "intent",
    [Input(OTHER, 1, 1.0, 0.0), Dock(OTHER, 1), Undock(OTHER, 1), Jump(OTHER, 1, 1, 0)],
)
def test_someone_elses_ship_is_refused_and_untouched(intent: object) -> None:
    z = near_station_zone()
    before = z.state_hash()
    z.submit(intent)  # type: ignore[arg-type]
    r = refusal(z.step())
    assert r.code == ErrorCode.NOT_YOUR_SHIP and r.actor == OTHER
    other = zone()
    other.add_ship(1, OWNER, SHUTTLE, x=STATION.x - 250.0, y=0.0)
    other.step()
    assert z.state_hash() == other.state_hash() != before


def test_submit_rejects_non_intents() -> None:
    with pytest.raises(TypeError):
        zone().submit("dock please")  # type: ignore[arg-type]


# -- input ----------------------------------------------------------------------------------


def test_input_is_clamped_and_non_finite_counts_as_zero() -> None:
    z = near_station_zone()
    row = z.store.row(1)
    z.submit(Input(OWNER, 1, thrust=7.0, turn=-3.0, brake=False))
    assert z.step() == []
    assert (z.store.thrust[row], z.store.turn[row]) == (1.0, -1.0)
    z.submit(Input(OWNER, 1, thrust=math.nan, turn=math.inf))
    z.step()
    assert (z.store.thrust[row], z.store.turn[row]) == (0.0, 0.0)
    z.submit(Input(OWNER, 1, thrust=-0.5, turn=0.25))
    z.step()
    assert (z.store.thrust[row], z.store.turn[row]) == (0.0, 0.25)


def test_garbage_controls_and_out_of_range_actors_are_handled_without_exceptions() -> None:
    z = near_station_zone()
    row = z.store.row(1)
    z.submit(Input(OWNER, 1, thrust="full", turn=None))  # type: ignore[arg-type]
    z.submit(Input(2**70, 1, thrust=1.0, turn=0.0))  # no int64 owner can match
    z.submit(Input(-(2**70), 77, thrust=1.0, turn=0.0))
    codes = [e.code for e in z.step() if isinstance(e, Refused)]
    assert codes == [ErrorCode.NOT_YOUR_SHIP, ErrorCode.UNKNOWN_SHIP]
    assert (z.store.thrust[row], z.store.turn[row]) == (0.0, 0.0)


def test_last_input_of_a_tick_wins_and_applies_only_on_step() -> None:
    z = near_station_zone()
    row = z.store.row(1)
    z.submit(Input(OWNER, 1, thrust=1.0, turn=1.0, brake=True))
    z.submit(Input(OWNER, 1, thrust=0.25, turn=-0.5))
    assert z.store.thrust[row] == 0.0  # queued, not applied yet
    z.step()
    assert (z.store.thrust[row], z.store.turn[row], z.store.brake[row]) == (0.25, -0.5, False)


# -- docking --------------------------------------------------------------------------------


def test_dock_at_nearest_station_in_range() -> None:
    z = near_station_zone()
    z.submit(Dock(OWNER, 1))
    assert z.step() == [Docked(ship=1, station=STATION.index)]
    s = z.ship_state(1)
    assert (s.x, s.y, s.vx, s.vy, s.docked_at) == (STATION.x, STATION.y, 0.0, 0.0, 0)
    assert z.frame().flags[0] & DOCKED


def test_dock_at_named_station_and_nearest_when_two_overlap() -> None:
    a = StationSpec(index=5, x=3000.0, y=0.0, radius=50.0, dock_radius=400.0)
    b = StationSpec(index=6, x=3500.0, y=0.0, radius=50.0, dock_radius=400.0)
    z = zone(stations=(a, b))
    z.add_ship(1, OWNER, SHUTTLE, x=3300.0, y=0.0)  # 300 from a, 200 from b
    z.add_ship(2, OWNER, SHUTTLE, x=3300.0, y=10.0)
    z.submit(Dock(OWNER, 1))
    z.submit(Dock(OWNER, 2, station=5))
    assert z.step() == [Docked(ship=1, station=6), Docked(ship=2, station=5)]


def test_dock_refusals() -> None:
    z = zone()
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=2000.0)  # nowhere near a station
    z.add_ship(2, OWNER, SHUTTLE, x=STATION.x - 250.0, y=0.0)
    z.add_ship(3, OWNER, SHUTTLE, x=STATION.x - 280.0, y=0.0, vy=DOCK_MAX_SPEED + 5.0)
    z.add_ship(4, OWNER, SHUTTLE, x=0.0, y=0.0, docked_at=3)
    z.submit(Dock(OWNER, 1))
    z.submit(Dock(OWNER, 2, station=FAR_STATION.index))  # exists, out of range
    z.submit(Dock(OWNER, 2, station=17))  # no such station
    z.submit(Dock(OWNER, 3))
    z.submit(Dock(OWNER, 4))
    codes = [(e.ship, e.code) for e in z.step() if isinstance(e, Refused)]
    assert codes == [
        (1, ErrorCode.NO_STATION_IN_RANGE),
        (2, ErrorCode.NO_STATION_IN_RANGE),
        (2, ErrorCode.NO_STATION_IN_RANGE),
        (3, ErrorCode.TOO_FAST),
        (4, ErrorCode.DOCKED),
    ]
    assert not z.ship_state(2).docked_at and not z.ship_state(3).docked_at


def test_dock_checks_the_position_after_this_ticks_flight() -> None:
    # 301 m out (outside dock_radius 300) but drifting in at 40 m/s: 299 m after the move.
    z = zone()
    z.add_ship(1, OWNER, SHUTTLE, x=STATION.x - 301.0, y=0.0, vx=40.0)
    z.submit(Dock(OWNER, 1))
    assert z.step() == [Docked(ship=1, station=0)]


# -- undocking ------------------------------------------------------------------------------


def test_undock_places_ship_in_the_lane_away_from_star_moving_out() -> None:
    station = StationSpec(index=2, x=-3000.0, y=4000.0, radius=150.0, dock_radius=400.0)
    z = zone(stations=(station,))
    z.add_ship(1, OWNER, HAULER, x=0.0, y=0.0, docked_at=2)
    z.submit(Undock(OWNER, 1))
    assert z.step() == [Undocked(ship=1, station=2)]
    s = z.ship_state(1)
    out = station.radius + HAULER.radius + UNDOCK_MARGIN
    assert s.x == pytest.approx(-3000.0 - 0.6 * out, abs=1e-3)
    assert s.y == pytest.approx(4000.0 + 0.8 * out, abs=1e-3)
    assert s.angle == pytest.approx(math.atan2(0.8, -0.6), abs=1e-6)
    assert s.vx == pytest.approx(-0.6 * UNDOCK_SPEED, abs=1e-3)
    assert s.vy == pytest.approx(0.8 * UNDOCK_SPEED, abs=1e-3)
    assert s.docked_at is None
    assert not z.frame().flags[0] & DOCKED
    # It really is clear of the station: no collision on the next ticks.
    assert run(z, 5) == []


def test_undock_when_not_docked_is_refused() -> None:
    z = near_station_zone()
    z.submit(Undock(OWNER, 1))
    assert refusal(z.step()).code == ErrorCode.NOT_DOCKED


def test_dock_then_undock_in_one_tick_run_in_arrival_order() -> None:
    z = near_station_zone()
    z.submit(Dock(OWNER, 1))
    z.submit(Undock(OWNER, 1))
    assert z.step() == [Docked(ship=1, station=0), Undocked(ship=1, station=0)]
    z = near_station_zone()  # undocking left the docking range (the undock lane)
    z.submit(Undock(OWNER, 1))
    z.submit(Dock(OWNER, 1))
    events = z.step()
    assert events[0].code == ErrorCode.NOT_DOCKED  # type: ignore[union-attr]
    assert events[1] == Docked(ship=1, station=0)


def test_held_input_applies_after_undocking() -> None:
    z = zone()
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=0.0, docked_at=0)
    z.submit(Input(OWNER, 1, thrust=1.0, turn=0.0))
    run(z, 3)
    z.submit(Undock(OWNER, 1))
    z.step()
    z.step()
    # facing +x, away from star, leaving the lane at UNDOCK_SPEED
    assert z.ship_state(1).vx == pytest.approx(UNDOCK_SPEED + SHUTTLE.thrust / 20)


# -- jumping --------------------------------------------------------------------------------


def test_jump_charges_while_flying_then_leaves() -> None:
    z = near_station_zone()
    z.submit(Input(OWNER, 1, thrust=1.0, turn=0.0))
    z.submit(Jump(OWNER, 1, 1, 0))
    assert z.step() == [JumpCharging(ship=1, to_x=1, to_y=0, ticks=JUMP_CHARGE_TICKS)]
    assert z.frame().flags[0] & JUMPING
    x0 = z.ship_state(1).x
    assert run(z, JUMP_CHARGE_TICKS - 1) == []
    assert z.ship_state(1).x > x0  # kept flying while charging
    before = z.ship_state(1)
    (out,) = z.step()
    assert isinstance(out, JumpOut)
    assert (out.ship, out.to_x, out.to_y) == (1, 1, 0)
    # It leaves before this tick's integration: where the previous tick ended.
    assert (out.state.id, out.state.x, out.state.y) == (1, before.x, before.y)
    assert out.state.hull == "shuttle" and out.state.owner == OWNER
    assert not z.has_ship(1) and z.ship_count == 0 and len(z.frame()) == 0
    z.submit(Input(OWNER, 1, thrust=0.0, turn=0.0))
    assert refusal(z.step()).code == ErrorCode.UNKNOWN_SHIP


def test_jump_refusals() -> None:
    z = zone()
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=2000.0)
    z.add_ship(2, OWNER, SHUTTLE, x=0.0, y=0.0, docked_at=0)
    z.submit(Jump(OWNER, 1, 5, 5))  # not a link
    z.submit(Jump(OWNER, 2, 1, 0))  # docked
    z.submit(Jump(OWNER, 1, 0, -1))  # fine
    z.submit(Jump(OWNER, 1, 1, 0))  # already charging
    events = z.step()
    assert [(type(e).__name__, getattr(e, "code", None)) for e in events] == [
        ("Refused", ErrorCode.NO_SUCH_LINK),
        ("Refused", ErrorCode.DOCKED),
        ("JumpCharging", None),
        ("Refused", ErrorCode.JUMPING),
    ]


def test_docking_cancels_a_charging_jump() -> None:
    z = near_station_zone()
    z.submit(Jump(OWNER, 1, 1, 0))
    z.step()
    run(z, 10)
    z.submit(Dock(OWNER, 1))
    assert z.step() == [JumpCancelled(ship=1, to_x=1, to_y=0), Docked(ship=1, station=0)]
    assert not z.frame().flags[0] & JUMPING
    assert run(z, JUMP_CHARGE_TICKS) == []
    assert z.has_ship(1)


def test_remove_while_charging_forgets_the_jump() -> None:
    z = near_station_zone()
    z.submit(Jump(OWNER, 1, 1, 0))
    z.step()
    state = z.remove_ship(1)
    assert state.id == 1
    assert run(z, JUMP_CHARGE_TICKS + 2) == []
