"""`callister bench cluster` run tiny: real worker, gateway and serve processes, a private
nats-server with JetStream and the real PostgreSQL. Checks the contract's fields are there and
sane (the figures themselves are recorded in docs/benchmarks.md, not asserted here)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from callister.bench.cluster import run_cluster_bench

PG = os.environ.get("CALLISTER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.mark.parametrize("protocol", [1, 2])
def test_bench_cluster_tiny_reports_the_contract_fields(tmp_path: Path, protocol: int) -> None:
    out = run_cluster_bench(
        2, 1, 4, 4.0, jump_every=2.0, protocol=protocol, pg=PG, workdir=tmp_path
    )

    assert (out["workers"], out["gateways"], out["clients"]) == (2, 1, 4)
    assert out["protocol"] == protocol  # the bots' wire protocol, in both phases
    for bots in (out["bots"], out["single"]["bots"]):
        # updates kept coming, and a v2 bot's view always fitted them (a refused jump, e.g.
        # while one still charges, is an error of the game, not of the protocol)
        assert bots["connected"] == 4 and bots["snapshots"] > 0, bots
        assert not {"VIEW_GAP", "BAD_UPDATE"} & set(bots["error_codes"]), bots
    assert out["connected"] == 4
    assert out["zones"] >= 1 and sum(out["zones_per_worker"].values()) == out["zones"]
    tick = out["tick_ms"]
    assert 0 < tick["p50"] <= tick["p99"]
    assert tick["worst_worker"]["name"] in {"w1", "w2"}
    assert tick["worst_worker"]["p99"] == max(w["p99"] for w in tick["per_worker"].values())
    handoff = out["handoff_ms"]
    assert handoff["count"] >= 0 and 0 <= handoff["p50"] <= handoff["p99"]
    # where a hand-off's time goes: each stage measured, none longer than the whole at p50
    stages = handoff["stages"]
    if handoff["count"]:
        assert {"transit", "arrive", "land"} <= set(stages)  # (recorded by the arrival)
        for name in ("arrive", "land"):
            assert 0 <= stages[name]["p50"] <= stages[name]["p99"]
    assert out["player_s"] == pytest.approx(4 * out["window_s"], rel=0.2)
    assert math.isfinite(out["cpu_ms_per_player_s"]) and out["cpu_ms_per_player_s"] > 0
    # where it goes: each worker's and gateway's share, adding up to the whole
    by_process = out["cpu_s_by_process"]
    assert set(by_process) == {"w1", "w2", "g1"}
    assert sum(by_process.values()) == pytest.approx(out["cpu_s"], abs=0.05)
    workers, gateways = out["workers_cpu_ms_per_player_s"], out["gateways_cpu_ms_per_player_s"]
    assert workers + gateways == pytest.approx(out["cpu_ms_per_player_s"], abs=0.01)
    assert out["edge_views"] is True  # (the default: gateways build v2 views)
    assert set(out["single"]["cpu_s_by_process"]) == {"serve"}
    assert out["single_cpu_ms_per_player_s"] > 0
    assert out["cost_ratio"] == pytest.approx(
        out["cpu_ms_per_player_s"] / out["single_cpu_ms_per_player_s"], rel=0.01
    )
    assert isinstance(out["cost_met"], bool) and isinstance(out["handoff_met"], bool)
