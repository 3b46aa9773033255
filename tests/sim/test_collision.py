from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest

from callister.protocol.intents import Input
from callister.sim import Collided, StationSpec

from ._support import INTERCEPTOR, OWNER, SHUTTLE, rock, run, zone


def dist_to(z, ship: int, x: float, y: float) -> float:  # type: ignore[no-untyped-def]
    s = z.ship_state(ship)
    return math.hypot(s.x - x, s.y - y)


def test_head_on_hit_pushes_out_reflects_and_reports_once() -> None:
    z = zone(rocks=(rock(0.0, 3000.0, 50.0),))
    z.add_ship(1, OWNER, SHUTTLE, x=-400.0, y=3000.0, vx=200.0)
    events = run(z, 60)
    hits = [e for e in events if isinstance(e, Collided)]
    assert len(hits) == 1
    assert hits[0].ship == 1 and hits[0].what == "rock" and hits[0].index == 0
    assert hits[0].speed == pytest.approx(200.0, rel=1e-3)
    s = z.ship_state(1)
    assert s.vx == pytest.approx(-200.0 * 0.4, rel=1e-3)  # reflected, restitution 0.4
    assert dist_to(z, 1, 0.0, 3000.0) >= 50.0 + SHUTTLE.radius


def test_pressing_against_a_rock_settles_without_repeating_events() -> None:
    z = zone(rocks=(rock(0.0, 3000.0, 80.0),))
    z.add_ship(1, OWNER, SHUTTLE, x=-300.0, y=3000.0)
    z.submit(Input(OWNER, 1, thrust=1.0, turn=0.0))  # heading +x, into the rock, forever
    hits_per_tick = []
    for _ in range(200):
        hits_per_tick.append(sum(isinstance(e, Collided) for e in z.step()))
        assert dist_to(z, 1, 0.0, 3000.0) >= 80.0 + SHUTTLE.radius - 1e-3
    # A few real, decaying bounces (each separating more than CONTACT_SLOP), then resting
    # contact under full thrust that raises nothing more and leaves no normal velocity.
    assert 1 <= sum(hits_per_tick) <= 5
    assert sum(hits_per_tick[130:]) == 0
    assert dist_to(z, 1, 0.0, 3000.0) < 80.0 + SHUTTLE.radius + 0.1
    assert z.ship_state(1).vx == pytest.approx(0.0, abs=1e-3)


def test_leaving_and_coming_back_is_a_new_hit() -> None:
    z = zone(rocks=(rock(0.0, 3000.0, 50.0),))
    z.add_ship(1, OWNER, SHUTTLE, x=-300.0, y=3000.0, vx=100.0)
    assert sum(isinstance(e, Collided) for e in run(z, 80)) == 1
    assert dist_to(z, 1, 0.0, 3000.0) > 50.0 + SHUTTLE.radius + 50.0  # drifted well away
    z.submit(Input(OWNER, 1, thrust=1.0, turn=0.0))  # heading is still +x: back into it
    assert sum(isinstance(e, Collided) for e in run(z, 80)) >= 1


def _segment_distance(
    p: tuple[float, float], q: tuple[float, float], c: tuple[float, float]
) -> float:
    dx, dy = q[0] - p[0], q[1] - p[1]
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else ((c[0] - p[0]) * dx + (c[1] - p[1]) * dy) / length2
    t = min(max(t, 0.0), 1.0)
    return math.hypot(p[0] + t * dx - c[0], p[1] + t * dy - c[1])


@pytest.mark.parametrize("offset", [0.0, 5.0, 9.0, 12.5, 14.0])
@pytest.mark.parametrize("phase", [0.0, 0.25, 0.5, 0.75])
def test_fast_ship_does_not_tunnel_through_a_small_rock(offset: float, phase: float) -> None:
    # 1,200 m/s moves 60 m a tick; the rock plus ship is only 15 m across, so a test that only
    # looked at end positions would jump straight over it from almost every start phase.
    fast = replace(INTERCEPTOR, max_speed=1200.0, radius=10.0)
    z = zone(rocks=(rock(0.0, 3000.0, 5.0),))
    z.add_ship(1, OWNER, fast, x=-1000.0 - 60.0 * phase, y=3000.0 + offset, vx=1200.0)
    path = [(z.ship_state(1).x, z.ship_state(1).y)]
    hits = []
    for _ in range(40):
        hits += [e for e in z.step() if isinstance(e, Collided)]
        path.append((z.ship_state(1).x, z.ship_state(1).y))
    assert len(hits) == 1 and hits[0].index == 0
    # No tick's straight-line motion passes through the rock (5 m + ship 10 m).
    for p, q in itertools.pairwise(path):
        assert _segment_distance(p, q, (0.0, 3000.0)) >= 15.0 - 0.05
    if offset == 0.0:
        assert z.ship_state(1).x < 0.0  # head-on: bounced straight back


def test_station_and_star_collisions_name_what_was_hit() -> None:
    z = zone()
    z.add_ship(1, OWNER, SHUTTLE, x=5000.0, y=-400.0, vy=150.0)  # into station 0 (r=100)
    z.add_ship(2, OWNER, SHUTTLE, x=-1000.0, y=0.0, vx=150.0)  # into the star (r=500)
    hits = sorted((e.ship, e.what, e.index) for e in run(z, 100) if isinstance(e, Collided))
    assert hits == [(1, "station", 0), (2, "star", 0)]
    assert dist_to(z, 1, 5000.0, 0.0) >= 100.0 + SHUTTLE.radius
    assert dist_to(z, 2, 0.0, 0.0) >= 500.0 + SHUTTLE.radius


def test_ship_between_touching_rocks_ends_outside_both() -> None:
    rocks = (rock(0.0, 3000.0, 60.0), rock(0.0, 3110.0, 60.0))  # overlap by 10 m
    z = zone(rocks=rocks)
    z.add_ship(1, OWNER, SHUTTLE, x=-300.0, y=3055.0, vx=250.0)  # aimed at the seam
    for _ in range(40):
        z.step()
        for r in rocks:
            assert dist_to(z, 1, r.x, r.y) >= r.r + SHUTTLE.radius - 0.05


def test_docked_ships_are_not_pushed_out_of_their_station() -> None:
    station = StationSpec(index=0, x=5000.0, y=0.0, radius=200.0, dock_radius=400.0)
    z = zone(stations=(station,))
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=0.0, docked_at=0)
    assert [e for e in run(z, 5) if isinstance(e, Collided)] == []
    assert (z.ship_state(1).x, z.ship_state(1).y) == (5000.0, 0.0)


def test_crowd_flying_through_a_field_never_ends_inside_a_rock() -> None:
    rng = np.random.default_rng(4)
    rocks = tuple(
        rock(float(x), float(y), float(r))
        for x, y, r in zip(
            rng.uniform(2000, 4000, 60),
            rng.uniform(2000, 4000, 60),
            rng.uniform(10, 60, 60),
            strict=True,
        )
    )
    z = zone(rocks=rocks)
    for i in range(200):
        z.add_ship(
            i + 1,
            OWNER,
            INTERCEPTOR,
            x=float(rng.uniform(1500, 4500)),
            y=float(rng.uniform(1500, 4500)),
            angle=float(rng.uniform(-3, 3)),
        )
        z.submit(Input(OWNER, i + 1, thrust=1.0, turn=float(rng.uniform(-0.3, 0.3))))
    hits = 0
    rx = np.array([r.x for r in rocks])
    ry = np.array([r.y for r in rocks])
    rr = np.array([r.r for r in rocks])
    for _ in range(60):
        hits += sum(isinstance(e, Collided) for e in z.step())
        f = z.frame()
        d = np.hypot(f.x[:, None] - rx[None, :], f.y[:, None] - ry[None, :])
        # Deep overlaps only happen where rocks overlap each other; allow a sliver there.
        assert (d - rr[None, :] - INTERCEPTOR.radius).min() > -2.0
    assert hits > 20
