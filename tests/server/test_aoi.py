"""Area of interest: the dense and grid paths agree with brute force; deltas are minimal."""

from __future__ import annotations

import numpy as np

from callister.protocol.snapshot import quantise
from callister.server import aoi
from callister.server.aoi import SharedFrame, delta, view_records, visible_rows


def shared_frame(n: int, spread: float, seed: int = 1) -> SharedFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-spread, spread, n)
    y = rng.uniform(-spread, spread, n)
    ids = np.arange(1, n + 1, dtype=np.uint64)
    z = np.zeros(n)
    rec = quantise(ids, x, y, z, z, z, np.ones(n, np.uint8), np.zeros(n, np.uint8))
    return SharedFrame(1, ids, rec, x, y, 3000.0)


def brute(shared: SharedFrame, cx: float, cy: float, r: float) -> np.ndarray:
    return np.flatnonzero((shared.x - cx) ** 2 + (shared.y - cy) ** 2 <= r * r)


def test_dense_and_grid_paths_match_brute_force(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    shared = shared_frame(3000, 40_000.0)
    cx, cy = shared.x[:50].copy(), shared.y[:50].copy()
    for dense_pairs in (0, 10**9):  # force each path
        monkeypatch.setattr(aoi, "DENSE_PAIRS", dense_pairs)
        rows = visible_rows(shared, cx, cy, 6000.0)
        for i in range(50):
            assert rows[i].tolist() == brute(shared, cx[i], cy[i], 6000.0).tolist()


def test_far_entities_update_at_a_quarter_rate() -> None:
    shared = shared_frame(100, 3000.0)
    rows = np.arange(100)
    base = view_records(shared, rows, 0.0, 0.0, 10, 1, None)
    moved = shared.records.copy()
    moved["x"] += 16  # everything moved 1 m
    shared.records = moved
    sent = [
        int((delta(base, view_records(shared, rows, 0.0, 0.0, 10, seq, base))[0]).size)
        for seq in range(2, 6)
    ]
    # the 10 nearest every time; the other 90 spread over four snapshots
    assert all(10 <= s <= 10 + 90 // 2 for s in sent)
    assert sum(s - 10 for s in sent) == 90


def test_delta_reports_new_and_removed_ids() -> None:
    shared = shared_frame(10, 1000.0)
    base = shared.records[[0, 1, 2]]
    current = shared.records[[1, 2, 3]]
    changed, removed, fresh = delta(base, current)
    assert changed["id"].tolist() == [4] and removed.tolist() == [1] and fresh.tolist() == [4]
    same, gone, new = delta(current, current.copy())
    assert len(same) == len(gone) == len(new) == 0
