"""Area of interest: the dense and grid paths agree with brute force; deltas are minimal."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.protocol.test_snapshot import records

from callister.protocol.snapshot import (
    EMPTY_RECORDS,
    apply_snapshot,
    decode_snapshot,
    encode_snapshot,
    quantise,
)
from callister.server import aoi
from callister.server.aoi import WORDS, SharedFrame, as_records, plan_views, view_delta


def shared_frame(n: int, spread: float, seed: int = 1) -> SharedFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-spread, spread, n)
    y = rng.uniform(-spread, spread, n)
    ids = np.arange(1, n + 1, dtype=np.uint64)
    z = np.zeros(n)
    rec = quantise(ids, x, y, z, z, z, np.ones(n, np.uint8), np.zeros(n, np.uint8))
    return SharedFrame(1, ids, rec.view("<u8").reshape(-1, WORDS), x, y, 3000.0)


def moved_by(shared: SharedFrame, dx16: int) -> None:
    """Move every record dx16/16 m along x."""
    records = as_records(shared.words)
    records["x"] += dx16
    shared.words = records.view("<u8").reshape(-1, WORDS)


def brute(shared: SharedFrame, cx: float, cy: float, r: float) -> np.ndarray:
    return np.flatnonzero((shared.x - cx) ** 2 + (shared.y - cy) ** 2 <= r * r)


def test_dense_and_grid_paths_match_brute_force(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    shared = shared_frame(3000, 40_000.0)
    cx, cy = shared.x[:50].copy(), shared.y[:50].copy()
    for dense_pairs in (0, 10**9):  # force each path
        monkeypatch.setattr(aoi, "DENSE_PAIRS", dense_pairs)
        views = plan_views(shared, cx, cy, 6000.0, 1500.0, 3)
        for i in range(50):
            rows, stale = views[i]
            assert rows.tolist() == brute(shared, cx[i], cy[i], 6000.0).tolist()
            far = brute(shared, cx[i], cy[i], 1500.0)
            due = (shared.ids[rows] + 3) % 4 == 0
            assert stale.tolist() == (~np.isin(rows, far) & ~due).tolist()


def test_far_entities_update_at_a_quarter_rate() -> None:
    shared = shared_frame(400, 3000.0)
    origin = np.zeros(1)
    rows, stale = plan_views(shared, origin, origin, 1e9, 1000.0, 0)[0]
    base = view_delta(shared, rows, stale, None)[0]
    moved_by(shared, 16)  # everything moved 1 m
    n_near = int(((shared.x**2 + shared.y**2) <= 1000.0**2).sum())
    assert 0 < n_near < 400
    sent = []
    for rnd in range(4):
        rows, stale = plan_views(shared, origin, origin, 1e9, 1000.0, rnd)[0]
        sent.append(len(view_delta(shared, rows, stale, base)[1]))
    # the near ones every round; each far one in exactly one of four rounds
    assert all(s >= n_near for s in sent)
    assert sum(s - n_near for s in sent) == 400 - n_near


def test_delta_reports_new_and_removed_ids() -> None:
    shared = shared_frame(10, 1000.0)
    keep = np.zeros(3, dtype=bool)
    base = shared.words[[0, 1, 2]]
    view, changed, removed, fresh = view_delta(shared, np.array([1, 2, 3]), keep, base)
    assert view[:, 0].tolist() == [2, 3, 4]
    assert as_records(changed)["id"].tolist() == [4]
    assert removed.tolist() == [1] and fresh.tolist() == [4]
    view2, same, gone, new = view_delta(shared, np.array([1, 2, 3]), keep, view)
    assert len(same) == len(gone) == len(new) == 0 and view2.tobytes() == view.tobytes()


def test_stale_rows_keep_the_clients_record() -> None:
    shared = shared_frame(5, 1000.0)
    rows = np.arange(5)
    base = view_delta(shared, rows, np.zeros(5, dtype=bool), None)[0]
    moved_by(shared, 160)
    stale = np.array([True, False, True, False, False])
    view, changed, _, _ = view_delta(shared, rows, stale, base)
    assert changed[:, 0].tolist() == [2, 4, 5]
    assert view[0].tobytes() == base[0].tobytes()
    assert view[1].tobytes() == shared.words[1].tobytes() != base[1].tobytes()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sets(st.integers(1, 60), max_size=30), st.integers(0, 3)),
        min_size=1,
        max_size=8,
    ),
)
def test_client_applying_deltas_reconstructs_every_view(steps: list) -> None:  # type: ignore[type-arg]
    """Whatever the sequence of views and whichever acked base, client state == server view."""
    server_views: dict[int, np.ndarray] = {0: EMPTY_RECORDS}
    client_views: dict[int, np.ndarray] = {0: EMPTY_RECORDS}
    for seq, (ids, shift) in enumerate(steps, start=1):
        ordered = sorted(ids)
        current = records(ordered, [float(i * 10 + shift) for i in ordered])
        base_seq = max(0, seq - 1 - shift % 2)  # sometimes the client acked an older one
        base = server_views[base_seq]
        # the gateway's own diff, on a frame holding exactly these entities
        n = len(current)
        shared = SharedFrame(
            seq,
            current["id"],
            current.view("<u8").reshape(-1, WORDS),
            np.zeros(n),
            np.zeros(n),
            3000.0,
        )
        _, changed, removed, _ = view_delta(
            shared,
            np.arange(n),
            np.zeros(n, dtype=bool),
            base.view("<u8").reshape(-1, WORDS) if base_seq else None,
        )
        frame = encode_snapshot(seq, seq, base_seq, changed, removed)
        snap = decode_snapshot(frame)
        client_views[seq] = apply_snapshot(client_views[base_seq], snap)
        server_views[seq] = current
        assert client_views[seq].tobytes() == current.tobytes()
