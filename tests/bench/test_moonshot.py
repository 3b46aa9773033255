"""`callister bench moonshot` run tiny against the machine's NATS (two real processes): the
frame format round-trips, bad sizes are refused, and the report has its fields (the figures
themselves are in docs/benchmarks.md, not asserted here)."""

from __future__ import annotations

import numpy as np
import pytest

from callister.bench.moonshot import cluster_size, pack_frame, run_moonshot_bench, unpack_frame
from callister.bench.views import CrowdRun


def test_a_frame_packs_once_and_unpacks_to_the_same_columns() -> None:
    frame, _ = CrowdRun(50, seed=3).step()
    back = unpack_frame(pack_frame(frame))
    assert back.tick == frame.tick and len(back) == 50
    for name in ("ids", "owner", "kind", "hull", "x", "y", "vx", "vy", "angle", "flags"):
        assert np.array_equal(getattr(back, name), getattr(frame, name)), name


def test_a_truncated_frame_is_refused() -> None:
    data = pack_frame(CrowdRun(5, seed=1).step()[0])
    with pytest.raises(ValueError, match="must be"):
        unpack_frame(data[:-1])
    with pytest.raises(ValueError, match="header"):
        unpack_frame(b"\x00")


def test_the_cluster_size_follows_from_the_costs() -> None:
    plan = cluster_size(7000, sim_ms_p99=20.0, us_per_client_update=8.0, socket_us=12.0)
    # 7000 players x 20 updates x 20 µs = 2.8 core-seconds a second, at 70 %: 4 cores
    assert plan["gateway_cores"] == 4 and plan["worker_cores"] == 1 and plan["worker_tick_fits"]
    assert cluster_size(10, sim_ms_p99=120.0, us_per_client_update=1.0)["worker_cores"] == 3


def test_bench_moonshot_tiny_reports_both_sides() -> None:
    out = run_moonshot_bench(ships=120, clients=30, seconds=2.0)
    worker, gateway = out["worker"], out["gateway"]
    assert worker["ships"] == 120 and worker["ticks"] == 40 and worker["frame_bytes"] > 120 * 30
    assert gateway["clients"] == 30, gateway
    # NATS core may drop frames for a slow consumer on a loaded machine: the report says so
    assert 0 < gateway["frames"] <= 40 and gateway["frames"] + gateway["ticks_missed"] <= 40, out
    assert gateway["us_per_client_update"]["p50"] > 0 and gateway["visible_per_client"] > 0
    assert out["cluster"]["players"] == 120 and out["cluster"]["gateway_cores"] >= 1


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        run_moonshot_bench(ships=10, clients=11)
    with pytest.raises(ValueError):
        run_moonshot_bench(ships=1)
