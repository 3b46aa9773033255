from __future__ import annotations

import math

import numpy as np
import pytest

from callister.protocol.intents import Input
from callister.sim import DOCKED, THRUSTING

from ._support import HAULER, INTERCEPTOR, OWNER, SHUTTLE, run, zone

DT = 1 / 20


def speed(z, ship: int) -> float:  # type: ignore[no-untyped-def]
    s = z.ship_state(ship)
    return math.hypot(s.vx, s.vy)


def test_thrust_accelerates_along_heading_and_position_integrates() -> None:
    z = zone()
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=3000.0, angle=math.pi / 2)
    z.submit(Input(OWNER, 1, thrust=1.0, turn=0.0))
    z.step()
    s = z.ship_state(1)
    assert s.vx == pytest.approx(0.0, abs=1e-4)
    assert s.vy == pytest.approx(SHUTTLE.thrust * DT)
    assert s.y == pytest.approx(3000.0 + SHUTTLE.thrust * DT * DT, abs=1e-3)
    assert z.frame().flags[0] & THRUSTING
    z.submit(Input(OWNER, 1, thrust=0.5, turn=0.0))
    z.step()
    assert z.ship_state(1).vy == pytest.approx(1.5 * SHUTTLE.thrust * DT)


def test_turn_rate_and_heading_wraps() -> None:
    z = zone()
    z.add_ship(1, OWNER, HAULER, x=0.0, y=3000.0, angle=3.0)
    z.submit(Input(OWNER, 1, thrust=0.0, turn=1.0))
    run(z, 20)  # one second at full turn: +110 degrees from 3.0 rad, wrapped to [-pi, pi]
    expected = math.remainder(3.0 + math.radians(HAULER.turn_rate), 2 * math.pi)
    angle = z.ship_state(1).angle
    assert -math.pi <= angle <= math.pi
    assert angle == pytest.approx(expected, abs=1e-4)
    z.submit(Input(OWNER, 1, thrust=0.0, turn=-0.5))
    run(z, 20)
    assert z.ship_state(1).angle == pytest.approx(
        math.remainder(expected - math.radians(HAULER.turn_rate) / 2, 2 * math.pi), abs=1e-4
    )
    assert speed(z, 1) == 0.0


@pytest.mark.parametrize("hull", [SHUTTLE, HAULER, INTERCEPTOR])
def test_speed_is_capped_at_the_hull_max(hull) -> None:  # type: ignore[no-untyped-def]
    z = zone()
    z.add_ship(1, OWNER, hull, x=-2000.0, y=4000.0, vx=5000.0, angle=0.3)
    z.submit(Input(OWNER, 1, thrust=1.0, turn=0.1))
    top = 0.0
    for _ in range(200):
        z.step()
        top = max(top, speed(z, 1))
    assert top <= hull.max_speed * (1 + 1e-6)
    assert top == pytest.approx(hull.max_speed, rel=1e-5)


def test_brake_slows_by_full_thrust_and_never_reverses() -> None:
    z = zone()
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=3000.0, vx=100.0, angle=1.0)
    z.submit(Input(OWNER, 1, thrust=1.0, turn=0.0, brake=True))
    z.step()
    s = z.ship_state(1)
    assert s.vx == pytest.approx(100.0 - SHUTTLE.thrust * DT, abs=1e-3)  # no thrust while braking
    assert s.vy == 0.0
    assert not z.frame().flags[0] & THRUSTING
    run(z, 40)
    assert z.ship_state(1).vx == 0.0 and z.ship_state(1).vy == 0.0


def test_docked_ship_ignores_held_input_until_it_undocks() -> None:
    z = zone()
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=0.0, docked_at=0)
    z.submit(Input(OWNER, 1, thrust=1.0, turn=1.0))
    events = run(z, 10)
    assert events == []  # silently ignored
    s = z.ship_state(1)
    assert (s.x, s.y, s.vx, s.vy, s.angle) == (5000.0, 0.0, 0.0, 0.0, 0.0)
    assert s.docked_at == 0
    assert z.frame().flags[0] == DOCKED
    # The held keys were stored: after undocking the ship flies with them.
    row = z.store.row(1)
    assert z.store.thrust[row] == 1.0 and z.store.turn[row] == 1.0


def test_boundary_pushes_ships_back() -> None:
    z = zone()  # radius 10 km, so the soft wall is at 15 km
    z.add_ship(1, OWNER, INTERCEPTOR, x=14_000.0, y=0.0, vx=INTERCEPTOR.max_speed)
    z.submit(Input(OWNER, 1, thrust=1.0, turn=0.0))  # full thrust straight out
    farthest = 0.0
    for _ in range(400):
        z.step()
        s = z.ship_state(1)
        farthest = max(farthest, math.hypot(s.x, s.y))
    assert 15_000.0 < farthest < 15_600.0
    s = z.ship_state(1)
    assert math.hypot(s.x, s.y) < 15_600.0
    z.submit(Input(OWNER, 1, thrust=0.0, turn=0.0))
    run(z, 200)
    s = z.ship_state(1)
    assert math.hypot(s.x, s.y) < 15_000.0 and s.vx < 0  # drifting back inwards


def test_vectorised_steering_matches_per_ship_reference() -> None:
    # Many ships, random controls: the numpy path agrees with a scalar re-implementation.
    rng = np.random.default_rng(11)
    z = zone()
    n = 300
    hulls = [SHUTTLE, HAULER, INTERCEPTOR]
    ref = []
    for i in range(n):
        hull = hulls[i % 3]
        x, y = rng.uniform(2000, 8000), rng.uniform(2000, 8000)
        vx, vy = rng.uniform(-200, 200, 2)
        angle = rng.uniform(-3, 3)
        z.add_ship(i + 1, OWNER, hull, x=x, y=y, vx=vx, vy=vy, angle=angle)
        thrust, turn, brake = rng.uniform(0, 1), rng.uniform(-1, 1), bool(rng.random() < 0.2)
        z.submit(Input(OWNER, i + 1, thrust=thrust, turn=turn, brake=brake))
        ref.append([hull, x, y, vx, vy, angle, thrust, turn, brake])
    for _ in range(5):
        z.step()
        for r in ref:
            hull, x, y, vx, vy, angle, thrust, turn, brake = r
            angle = math.remainder(angle + turn * math.radians(hull.turn_rate) * DT, 2 * math.pi)
            if brake:
                sp = math.hypot(vx, vy)
                keep = (sp - hull.thrust * DT) / sp if sp > hull.thrust * DT else 0.0
                vx, vy = vx * keep, vy * keep
            else:
                vx += math.cos(angle) * thrust * hull.thrust * DT
                vy += math.sin(angle) * thrust * hull.thrust * DT
            sp = math.hypot(vx, vy)
            if sp > hull.max_speed:
                vx, vy = vx * hull.max_speed / sp, vy * hull.max_speed / sp
            r[1:6] = [x + vx * DT, y + vy * DT, vx, vy, angle]
    for i, r in enumerate(ref):
        s = z.ship_state(i + 1)
        assert s.x == pytest.approx(r[1], abs=0.05)
        assert s.y == pytest.approx(r[2], abs=0.05)
        assert s.vx == pytest.approx(r[3], abs=0.01)
        assert s.vy == pytest.approx(r[4], abs=0.01)
