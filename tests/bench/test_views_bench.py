"""`callister bench views`: the v2 view engine on the crowd workload reports what the benchmark
doc renders, from a real run (small)."""

from __future__ import annotations

import json

from tests.test_cli import cli

from callister.bench.report import render_views


def test_views_bench_reports_its_figures() -> None:
    out = cli("bench", "views", "--clients", "40", "--ticks", "5", "--json")
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["clients"] == 40 and r["ticks"] == 5
    assert r["us_per_client_update"]["p50"] > 0
    assert r["bytes_per_update"]["mean"] >= 26  # every update has its header
    assert 1 <= r["visible_per_client"] <= 40
    # drift accounting is exact (against the truth rounded to 1/1024 m, hence the 1 mm)
    assert r["error_m"]["max"] <= r["threshold_m"] + 1e-3
    assert r["pairs"] > 0
    assert any("bytes/update" in line for line in render_views(r))
