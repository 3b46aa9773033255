from __future__ import annotations

import collections

import pytest

from callister.universe.hashing import Rng, cumulative, hash_xy, mix64


def test_splitmix64_reference_vectors() -> None:
    # the reference splitmix64 stream for seed 0 (Vigna), so the mixing is the published one
    rng = Rng(0)
    assert [rng.next() for _ in range(3)] == [
        0xE220A8397B1DCDAF,
        0x6E789E6AA1B965F4,
        0x06C45D188009454F,
    ]
    assert mix64(0) == 0


def test_hash_xy_differs_per_argument_and_is_u64() -> None:
    base = hash_xy(1, 2, 3, 4)
    assert 0 <= base < 2**64
    assert len({base, hash_xy(2, 2, 3, 4), hash_xy(1, 3, 3, 4), hash_xy(1, 2, 4, 4)}) == 4
    assert hash_xy(1, 2, 3, 5) != base
    # negative and huge coordinates fold to u64 without error
    assert hash_xy(1, -1, -(2**63), 0) != hash_xy(1, 1, 2**63 - 1, 0)


def test_rng_ranges_and_distribution() -> None:
    rng = Rng(42)
    values = [rng.between(3, 7) for _ in range(5000)]
    assert set(values) == {3, 4, 5, 6, 7}
    counts = collections.Counter(values)
    assert all(800 < c < 1200 for c in counts.values())
    assert all(0 <= rng.below(10) < 10 for _ in range(1000))
    hits = sum(rng.chance(250) for _ in range(4000))
    assert 850 < hits < 1150
    picks = collections.Counter(rng.weighted((1, 0, 3)) for _ in range(4000))
    assert picks[1] == 0
    assert 2700 < picks[2] < 3300


def test_cumulative() -> None:
    assert cumulative((1, 1)) == (32768, 65536)
    assert cumulative((0, 5))[0] == 0
    with pytest.raises(ValueError):
        cumulative((0, 0))
