"""Binary snapshots: layout, quantisation, deltas, and applying them gives the server's view."""

from __future__ import annotations

import numpy as np
import pytest

from callister.protocol.errors import ProtocolError
from callister.protocol.snapshot import (
    HEADER,
    RECORD_DTYPE,
    decode_snapshot,
    encode_snapshot,
    quantise,
)


def records(ids: list[int], x: list[float] | None = None) -> np.ndarray:
    """Quantised records of ships `ids` at x (default: x = id), y = -x, all else fixed."""
    n = len(ids)
    xs = np.array(x if x is not None else ids, dtype=np.float64)
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


def test_decode_rejects_malformed_frames() -> None:
    good = encode_snapshot(5, 2, 1, records([1]), np.empty(0, np.uint64))
    with pytest.raises(ProtocolError):
        decode_snapshot(good[:10])
    with pytest.raises(ProtocolError):
        decode_snapshot(good[:-1])
    with pytest.raises(ProtocolError):
        decode_snapshot(b"\x02" + good[1:])
