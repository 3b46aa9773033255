from __future__ import annotations

import gc
import json

import pytest

from callister.bench.battle import build_battle, find_battlefield, run_battle_bench
from callister.cli.main import main
from callister.sim import STAGE_NAMES

STATS = {"p50", "p99", "mean", "max"}


def test_battle_bench_reports_a_real_fight() -> None:
    result = run_battle_bench(60, 40, seed=2)
    assert (result["ships"], result["ticks"], result["seed"]) == (60, 40, 2)
    assert set(result["ms_per_tick"]) == STATS and set(result["ai_ms"]) == STATS
    assert 0 < result["ms_per_tick"]["p50"] <= result["ms_per_tick"]["p99"]
    assert list(result["systems_ms"]) == list(STAGE_NAMES)
    assert result["shots"] > 0 and result["hits"] > 0
    assert result["intents_per_tick"] > 0
    assert result["system"]["lawful_stations"] >= 1 and result["system"]["rocks"] > 0
    assert result["ships_left"] + result["destroyed"] == 60
    assert not gc.isenabled() or gc.get_freeze_count() == 0  # the GC freeze is undone
    json.dumps(result)  # JSON-ready


def test_battlefield_is_a_real_system_and_the_fleet_is_seeded() -> None:
    field = find_battlefield(1)
    assert field.system.fields and any(s.lawful for s in field.layout.stations)
    a, _, team_a = build_battle(30, 5, 1)
    b, _, team_b = build_battle(30, 5, 1)
    assert a.state_hash() == b.state_hash() and (team_a == team_b).all()
    assert sorted(set(team_a.tolist())) == [0, 1] and a.ship_count == 30
    assert a.ids_left > 1_000_000


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        run_battle_bench(1, 5)
    with pytest.raises(ValueError):
        run_battle_bench(10, 0)


def test_cli_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "battle", "--ships", "20", "--ticks", "3", "--json"])
    assert exit_info.value.code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ships"] == 20 and result["ticks"] == 3
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "battle", "--ships", "1"])
    assert exit_info.value.code == 2
