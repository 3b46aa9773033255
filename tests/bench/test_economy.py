"""`callister bench economy`: a small headless universe, its figures checked as functions.

The run is 100 clones for 2 simulated hours on the real economy and ledger (a temporary
SQLite database). No timing is asserted here (speed claims live in docs/benchmarks.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from callister.agents import Goal
from callister.agents.offscreen import OffscreenSim
from callister.bench.economy import run_economy_bench
from callister.server.npc_economy import NpcEconomy

FIELDS = {
    "agents",
    "simulated_hours",
    "wall_seconds",
    "cpu_seconds",
    "stranded_fraction",
    "trades_per_trader_hour",
    "price_ratio",
    "ledger_balanced",
    "population",
    "npc_deaths",
    "npc_births",
    "credits_in_circulation",
}


@pytest.fixture(scope="module")
def small() -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def keep(sim: OffscreenSim, port: NpcEconomy) -> None:
        seen["sim"], seen["port"] = sim, port

    result = run_economy_bench(100, 2, seed=1, progress=False, on_sim=keep)
    result["_sim"] = seen["sim"]
    return result


def test_the_small_universe_lives(small: dict[str, Any]) -> None:
    assert set(small) >= FIELDS
    assert small["agents"] == 100 and small["simulated_hours"] == 2
    assert small["stranded_fraction"] == 0
    trades = small["trades_per_trader_hour"]
    assert trades["traders"] > 10 and trades["min"] >= 1.0 and trades["below_one"] == 0
    assert 0.5 <= small["price_ratio"]["min"] <= small["price_ratio"]["max"] <= 2.0
    assert small["ledger_balanced"] is True and small["ledger_problems"] == []
    pop = small["population"]
    assert pop["target"] == 100
    assert 0.8 * pop["target"] <= pop["min"] <= pop["max"] <= 1.2 * pop["target"]
    credits = small["credits_in_circulation"]
    assert credits["start"] > 0 and credits["end"] > 0


def test_every_kind_of_clone_lives_its_life(small: dict[str, Any]) -> None:
    sim: OffscreenSim = small["_sim"]
    goals = {a.ship.goal for a in sim.agents.values()}
    assert goals == {Goal.TRADER, Goal.HAULER, Goal.MINER, Goal.PIRATE, Goal.PATROL}
    counters = small["counters"]
    assert counters["trades"] > 0 and counters["gossip"] > 0 and counters["events"] > 0
    # traders learned prices by seeing and hearing them, not from an oracle
    traders = [a for a in sim.agents.values() if a.ship.goal is Goal.TRADER]
    heard = sum(1 for a in traders for m in a.clone.knowledge.markets.values() if m.hops > 0)
    assert heard > 0
    # deaths are permanent: the dead are archives, never back in the world
    for dead in sim.dead:
        assert not dead.clone.alive and dead.id not in sim.agents


def test_the_command_line(tmp_path: Any) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "callister", "bench", "economy", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--agents" in run.stdout and "--hours" in run.stdout and "--seed" in run.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "callister", "bench", "economy", "--agents", "0", "--json"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "--agents must be within" in bad.stderr
    ok = subprocess.run(
        [sys.executable, "-m", "callister", "bench", "economy", "--agents", "20", "--hours",
         "0.25", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    out = json.loads(ok.stdout)
    assert out["agents"] == 20 and out["ledger_balanced"] is True
    assert "h" in ok.stderr  # the progress bar
