"""Binary snapshots: layout, quantisation, deltas, and applying them gives the server's view."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callister.protocol.errors import ProtocolError
from callister.protocol.snapshot import (
    EMPTY_RECORDS,
    HEADER,
    RECORD_DTYPE,
    apply_snapshot,
    decode_snapshot,
    diff,
    encode_snapshot,
    quantise,
)


def records(ids: list[int], x: list[float] | None = None) -> np.ndarray:
    n = len(ids)
    xs = np.array(x if x is not None else [float(i) for i in ids])
    z = np.zeros(n)
    return quantise(
        np.array(ids, dtype=np.uint64),
        xs,
        -xs,
        z + 3.0,
        z - 3.0,
        z + 1.0,
        np.ones(n, np.uint8),
        np.zeros(n, np.uint8),
    )


def test_layout_sizes_match_the_protocol_doc() -> None:
    assert HEADER.size == 20
    assert RECORD_DTYPE.itemsize == 24
    frame = encode_snapshot(5, 1, 0, records([1, 2]), np.array([9], dtype=np.uint64))
    assert len(frame) == 20 + 2 * 24 + 8


def test_quantisation_precision() -> None:
    r = records([1], [1234.56])
    assert abs(r["x"][0] / 16 - 1234.56) <= 1 / 32
    assert r["vx"][0] == 48 and r["vy"][0] == -48
    angle = r["angle"][0] / 65536 * 2 * np.pi
    assert abs(angle - 1.0) < 1e-3


def test_diff_sends_only_changes_and_removals() -> None:
    base = records([1, 2, 3])
    cur = records([2, 3, 4], [2.0, 30.0, 4.0])  # 2 unchanged, 3 moved, 4 new, 1 gone
    changed, removed = diff(base, cur)
    assert changed["id"].tolist() == [3, 4]
    assert removed.tolist() == [1]


def test_decode_rejects_malformed_frames() -> None:
    good = encode_snapshot(5, 2, 1, records([1]), np.empty(0, np.uint64))
    with pytest.raises(ProtocolError):
        decode_snapshot(good[:10])
    with pytest.raises(ProtocolError):
        decode_snapshot(good[:-1])
    with pytest.raises(ProtocolError):
        decode_snapshot(b"\x02" + good[1:])


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
        changed, removed = diff(base, current)
        frame = encode_snapshot(
            seq,
            seq,
            base_seq,
            changed if base_seq else current,
            removed if base_seq else np.empty(0, np.uint64),
        )
        snap = decode_snapshot(frame)
        client_views[seq] = apply_snapshot(client_views[base_seq], snap)
        server_views[seq] = current
        assert client_views[seq].tobytes() == current.tobytes()
