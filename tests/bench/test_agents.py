from __future__ import annotations

import numpy as np
import pytest

from callister.bench.agents import BenchWorld, run_agents_bench
from callister.server.npcs import HULL_FOR

STATS = {"p50", "p99", "mean", "max"}


def test_agents_bench_reports_the_figures() -> None:
    r = run_agents_bench(400, 40, per_zone=50, memories=2000, retrievals=20, seed=2)
    assert r["agents"] == 400 and r["zones"] == 8 and r["occupied_zones"] == 4
    for key in ("ms_per_tick", "cpu_ms_per_tick", "view_ms_per_tick", "retrieval_ms"):
        assert set(r[key]) == STATS, key
    assert 0 < r["ms_per_tick"]["p50"] <= r["ms_per_tick"]["max"]
    # the server's view building is inside the timed work and was timed on its own
    assert r["views_per_tick"] > 0 and r["view_ms_per_tick"]["max"] > 0
    assert r["view_ms_per_tick"]["mean"] <= r["ms_per_tick"]["mean"]
    assert r["memories"] == 2000 and r["retrieval_ms"]["p50"] > 0
    assert r["thinks_per_tick"] > 0 and sum(r["actions"].values()) > 0
    assert r["intents_per_tick"] > 0  # the decisions reached the zones as intents


def test_agents_bench_is_seeded_and_checks_arguments() -> None:
    a = run_agents_bench(200, 20, per_zone=50, memories=100, retrievals=5, seed=3)
    b = run_agents_bench(200, 20, per_zone=50, memories=100, retrievals=5, seed=3)
    assert a["actions"] == b["actions"] and a["thinks_per_tick"] == b["thinks_per_tick"]
    with pytest.raises(ValueError):
        run_agents_bench(0, 10)
    with pytest.raises(ValueError):
        run_agents_bench(10, 10, occupied=2.0)


def test_the_agents_run_on_the_servers_runtime_over_real_zones() -> None:
    world = BenchWorld(60, 20, 0.5, seed=4)
    runtime = world.runtime
    assert len(runtime.npcs) == 60 and len(world.handles) == 3
    for handle in world.handles:
        zone = handle.zone
        npcs = [runtime.npcs[s] for s in runtime.by_zone[handle.key]]
        assert len(npcs) == 20
        for npc in npcs:  # NPC ships as the server spawns them: owner -clone id, its hull
            state = zone.ship_state(npc.ship)
            assert state.owner == npc.owner == -npc.clone_id and npc.hull == HULL_FOR[npc.goal]
    occupied = world.occupied[0]
    view = runtime.zone_view(occupied, 1)
    assert view is not None  # built from the zone's columns by the server's own code
    assert len(view) == occupied.zone.ship_count and view.has_players
    assert np.all(view.weapon_range > 0) and view.statics is runtime.statics[occupied.key]
    empty = next(h for h in world.handles if h not in world.occupied)
    assert runtime.zone_view(empty, 1) is None  # no player: nobody thinks there
