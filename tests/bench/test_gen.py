from __future__ import annotations

import pytest

from callister.bench.gen import ring, run_gen_bench


def test_ring_covers_each_sector_once() -> None:
    cells = [c for r in range(5) for c in ring(r)]
    assert len(cells) == len(set(cells)) == 81
    assert set(cells) == {(x, y) for x in range(-4, 5) for y in range(-4, 5)}


def test_run_gen_bench_reports_the_fields(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_gen_bench(300, seed=3, progress=True)
    assert out["systems"] == 300
    assert out["seed"] == 3
    assert out["seconds"] > 0 and out["systems_per_s"] > 0
    assert out["sectors_scanned"] >= 300
    assert out["empty_fraction"] == pytest.approx(1 - 300 / out["sectors_scanned"])
    assert 1.0 < out["links_per_system"] < 8.0
    assert 0.0 <= out["stations_fraction"] <= 1.0
    captured = capsys.readouterr()
    assert captured.out == ""  # progress goes to stderr only
    assert "300" in captured.err


def test_run_gen_bench_is_repeatable_and_validates() -> None:
    a = run_gen_bench(50, seed=9)
    b = run_gen_bench(50, seed=9)
    assert a["sectors_scanned"] == b["sectors_scanned"]
    assert a["links_per_system"] == b["links_per_system"]
    with pytest.raises(ValueError):
        run_gen_bench(0)
