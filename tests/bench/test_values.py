from __future__ import annotations

import pytest

from callister.bench.values import run_values_bench


def test_values_bench_times_every_value_it_names() -> None:
    out = run_values_bench(number=200, repeat=2)
    assert out["number"] == 200 and out["repeat"] == 2 and out["call_ns"] > 0
    assert {name.split(" ")[0] for name in out["ns"]} == {
        "ShipState", "Hit", "Fired", "Refused", "Docked", "Station", "Rock",
    }  # fmt: skip
    assert all(ns >= 0 for ns in out["ns"].values())


@pytest.mark.parametrize("number, repeat", [(0, 1), (1, 0)])
def test_values_bench_refuses_nothing_to_time(number: int, repeat: int) -> None:
    with pytest.raises(ValueError, match="must be >= 1"):
        run_values_bench(number, repeat)
