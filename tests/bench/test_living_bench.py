"""`callister bench living`: the real server in-process with the living universe, measured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "callister", "bench", "living", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )


def test_the_living_bench_measures_a_server_with_npcs() -> None:
    run = _run("--seconds", "4", "--homes", "1", "--players", "1", "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout)
    assert out["density"] == 1.0 and out["homes"] == 1 and out["ticks"] > 0
    assert out["clones"] and sum(out["clones"].values()) == out["births_transactions"]
    assert out["live_npcs"] > 0  # handed to the player's home zone
    assert out["ledger_balanced"] is True
    for key in ("tick_ms", "agents_ms", "agents_cpu_ms", "offscreen_step_ms"):
        assert set(out[key]) >= {"p50", "p99", "max"}


def test_bad_arguments_are_refused_with_a_clear_message() -> None:
    for args, message in (
        (("--seconds", "0"), "--seconds > 0"),
        (("--density", "5"), "--density in 0..4"),
        (("--homes", "0"), "--homes and --players >= 1"),
    ):
        bad = _run(*args, "--json")
        assert bad.returncode != 0 and message in bad.stderr, (args, bad.stderr[-500:])
