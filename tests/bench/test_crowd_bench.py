"""`callister bench crowd` with a small crowd: a real server process, the load generator in
processes of its own, the crowd placed by the server's bench-only spawn in one system and an
observer in another; the report carries every field issue 17 asks for, from real traffic."""

from __future__ import annotations

import json
import subprocess
import sys

from callister.bench.crowd_bench import run_crowd_bench

FIELDS = (
    "clients", "connected", "updates_per_client_per_s", "update_interval_ms", "bytes_per_update",
    "visible_per_client", "server_cpu_ms_per_client_s", "loadgen_cpu_percent", "tick_ms",
    "other_zone_tick_hz",
)  # fmt: skip


def test_a_small_crowd_end_to_end() -> None:
    report = run_crowd_bench(12, 3.0, workers=2, settle_s=1.0, progress=False)
    assert set(FIELDS) <= set(report)
    assert report["clients"] == 12 and report["connected"] == 12
    assert report["errors"] == {} and report["failures"] == []
    assert report["placement"] == "disc" and report["crowd_ships"] == 12
    assert report["updates_per_client_per_s"] > 0
    assert report["bytes_per_update"] >= 26  # at least the header
    # every crowd ship is in one small disc: each sees (nearly) all of the crowd, never the
    # observer, who is alone in another system
    assert 2 <= report["visible_per_client"] <= 12
    assert report["other_zone_tick_hz"] > 0 and report["crowd_zone_tick_hz"] > 0
    assert report["zones"]["crowd"]["ships"] == 12 and report["zones"]["other"]["ships"] == 1
    assert {"p50", "p99"} <= set(report["tick_ms"]) and report["tick_ms"]["p50"] > 0
    assert {"p50", "p99"} <= set(report["update_interval_ms"])
    assert report["server_cpu_ms_per_client_s"] > 0 and report["loadgen_cpu_percent"] > 0
    # held controls go up when they change: fewer than the walk's 10 a second, more than none
    assert report["inputs"] == "changes" and 0 < report["inputs_per_client_per_s"] < 10


def test_cli_help_and_bad_arguments() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "callister", "bench", "crowd", "--help"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    for flag in ("--clients", "--seconds", "--workers", "--json"):
        assert flag in out.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "callister", "bench", "crowd", "--clients", "0", "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode != 0 and "clients" in bad.stderr
    assert json.dumps(FIELDS)
