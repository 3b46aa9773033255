from __future__ import annotations

import pytest

from callister.bench.stack import run_stack_bench


def test_stack_bench_times_the_gateways_direct_write_on_both_stacks() -> None:
    r = run_stack_bench(clients=4, rounds=5)
    assert r["path"].startswith("server.frames.write_frame_now")
    for name in ("aiohttp", "websockets"):
        stack = r[name]
        assert stack["us_per_frame"] > 0 and stack["awaited_us_per_frame"] > 0, name
        assert stack["written"] + stack["skipped"] == 4 * 5, name
        # every frame written on either path reached the clients intact
        assert stack["received"] == stack["written"] + 4 * 5, name
    assert r["ratio"] == pytest.approx(
        r["websockets"]["us_per_frame"] / r["aiohttp"]["us_per_frame"], rel=0.02, abs=0.01
    )
    with pytest.raises(ValueError):
        run_stack_bench(clients=0)
