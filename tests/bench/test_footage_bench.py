from __future__ import annotations

import pytest

from callister.bench.footage import run_footage_bench


def test_footage_bench_records_a_fight_that_replays_exactly() -> None:
    r = run_footage_bench(ships=20, seconds=3.0, checkpoint_s=1.0)
    assert r["ships"] == 20 and r["intents_per_s"] > 0
    assert r["segments"] >= 3 and r["bytes"] > 0
    assert r["bytes_per_minute"] >= r["checkpoint_bytes_per_minute"] > 0
    assert r["replay_exact"] is True
    with pytest.raises(ValueError):
        run_footage_bench(ships=1)
