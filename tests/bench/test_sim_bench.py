from __future__ import annotations

import gc
import math

import esper
import pytest

from callister.bench.esper_peer import EsperPeer
from callister.bench.sim import (
    bench_layout,
    bench_ships,
    build_zone,
    control_stream,
    run_sim_bench,
    run_small_zones_bench,
    submit_controls,
)
from callister.sim import STAGE_NAMES, Collided

STATS = {"p50", "p99", "mean", "max"}


def test_bench_reports_timings_per_stage() -> None:
    result = run_sim_bench(300, 4, seed=3)
    assert (result["entities"], result["ticks"], result["seed"]) == (300, 4, 3)
    assert set(result["ms_per_tick"]) == STATS
    assert 0 < result["ms_per_tick"]["p50"] <= result["ms_per_tick"]["max"]
    # every stage of the schedule (sim/schedule.py), in its order, and the lazy grid
    assert list(result["systems_ms"]) == list(STAGE_NAMES)
    assert result["intents_per_tick"] == 3.0  # 1 % of 300 ships
    assert result["rocks"] == 300 and result["stations"] == 3
    assert "peer" not in result and "ratio" not in result
    assert not gc.isenabled() or gc.get_freeze_count() == 0  # the GC freeze is undone


def test_bench_with_ships_on_autopilot_times_the_travel_stage() -> None:
    result = run_sim_bench(300, 40, seed=3, autopilot=0.5)
    assert result["autopilot"] == 150
    assert result["intents_per_tick"] == 2.0  # 1 % of the 150 ships not on autopilot
    assert result["systems_ms"]["travel"] > 0
    assert result["cruising"] > 0  # long legs engage cruise
    plain = run_sim_bench(300, 4, seed=3)
    assert plain["autopilot"] == 0 and "cruising" not in plain
    with pytest.raises(ValueError):
        run_sim_bench(10, 1, autopilot=1.5)
    with pytest.raises(ValueError):
        run_sim_bench(10, 1, peer="esper", autopilot=0.5)


def test_bench_with_esper_peer_and_cleanup() -> None:
    world_before = esper.current_world
    result = run_sim_bench(60, 12, peer="esper", seed=2)
    assert result["peer"]["name"] == "esper"
    assert result["peer_ticks"] == result["peer"]["ticks"] == 12  # as many ticks as ours
    assert not result["peer"]["time_boxed"]
    assert set(result["peer"]["ms_per_tick"]) == STATS
    assert result["peer"]["ms_per_tick"]["p99"] is None  # 12 samples have no 99th percentile
    assert result["peer"]["ms_per_tick"]["max"] > 0
    assert result["ratio"] == pytest.approx(
        result["peer"]["ms_per_tick"]["p50"] / result["ms_per_tick"]["p50"], rel=0.02, abs=0.01
    )
    assert esper.current_world == world_before
    assert "callister-bench-sim" not in esper.list_worlds()


def test_esper_peer_is_time_boxed_and_has_a_p99_from_100_ticks() -> None:
    boxed = run_sim_bench(30, 100, peer="esper", seed=2, peer_seconds=1e-9)
    assert boxed["peer"]["time_boxed"] and boxed["peer_ticks"] == 1  # stopped after one tick
    full = run_sim_bench(30, 100, peer="esper", seed=2)
    assert full["peer_ticks"] == 100 and not full["peer"]["time_boxed"]
    peer = full["peer"]["ms_per_tick"]
    assert 0 < peer["p50"] <= peer["p99"] <= peer["max"]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        run_sim_bench(10, 1, peer="bevy")
    with pytest.raises(ValueError):
        run_sim_bench(0, 1)
    with pytest.raises(ValueError):
        run_sim_bench(10, 1, peer="esper", peer_seconds=0)


def test_workload_is_seeded() -> None:
    a = bench_ships(bench_layout(4), 50, 4)
    b = bench_ships(bench_layout(4), 50, 4)
    assert a == b
    assert bench_layout(4) != bench_layout(5)
    first = next(control_stream(a, 4))
    assert len(first) == 50  # everyone gets controls on the first tick


def test_esper_peer_flies_the_same_trajectories_as_the_zone() -> None:
    # The comparison is only fair if both implementations do the same work: same steering,
    # same swept collisions and bounces, same boundary. Same inputs must give the same ships
    # (up to float32 vs float64 rounding) and the same number of new hits.
    layout = bench_layout(7)
    ships = bench_ships(layout, 400, 7)
    owners = {s.id: s.owner for s in ships}
    zone = build_zone(layout, ships)
    zone_hits = 0
    stream = control_stream(ships, 7)
    with EsperPeer(layout, ships) as peer:
        for _ in range(40):
            controls = next(stream)
            submit_controls(zone, owners, controls)
            zone_hits += sum(isinstance(e, Collided) for e in zone.step())
            peer.step(controls)
        got = peer.ships()
        peer_hits = peer.collisions.hits
    assert zone_hits > 5  # the workload really collides
    assert peer_hits == zone_hits
    worst = 0.0
    for ship_id, (x, y, vx, vy) in got.items():
        s = zone.ship_state(ship_id)
        worst = max(worst, math.hypot(s.x - x, s.y - y), math.hypot(s.vx - vx, s.vy - vy))
    assert worst < 0.5


def test_small_zones_bench_reports_per_zone_microseconds() -> None:
    result = run_small_zones_bench(zones=3, ships=4, ticks=5, seed=2)
    assert (result["zones"], result["ships"], result["ticks"]) == (3, 4, 5)
    for key in ("step_us", "frame_us"):
        assert set(result[key]) == STATS
        assert 0 < result[key]["p50"] <= result[key]["max"]
    with pytest.raises(ValueError):
        run_small_zones_bench(zones=0)


def test_bench_times_the_lazy_grid_like_the_peer_rebuilds_its_own() -> None:
    result = run_sim_bench(200, 3, seed=4)
    assert result["systems_ms"]["grid"] > 0  # forced every timed tick
