from __future__ import annotations

import pytest

from callister.bench.agents import run_agents_bench

STATS = {"p50", "p99", "mean", "max"}


def test_agents_bench_reports_the_figures() -> None:
    r = run_agents_bench(400, 40, per_zone=50, memories=2000, retrievals=20, seed=2)
    assert r["agents"] == 400 and r["zones"] == 8 and r["occupied_zones"] == 4
    assert set(r["ms_per_tick"]) == STATS and set(r["retrieval_ms"]) == STATS
    assert 0 < r["ms_per_tick"]["p50"] <= r["ms_per_tick"]["max"]
    assert r["memories"] == 2000 and r["retrieval_ms"]["p50"] > 0
    assert r["thinks_per_tick"] > 0 and sum(r["actions"].values()) > 0


def test_agents_bench_is_seeded_and_checks_arguments() -> None:
    a = run_agents_bench(200, 20, per_zone=50, memories=100, retrievals=5, seed=3)
    b = run_agents_bench(200, 20, per_zone=50, memories=100, retrievals=5, seed=3)
    assert a["actions"] == b["actions"] and a["thinks_per_tick"] == b["thinks_per_tick"]
    with pytest.raises(ValueError):
        run_agents_bench(0, 10)
    with pytest.raises(ValueError):
        run_agents_bench(10, 10, occupied=2.0)
