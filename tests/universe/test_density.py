from __future__ import annotations

import statistics

import pytest

from callister.universe import SECTOR_MAX, SECTOR_MIN, SECTOR_SIZE, has_system
from callister.universe.density import (
    BLOCK_BITS,
    SALT_SECTOR,
    block,
    noise,
    probability,
    sector_info,
)
from callister.universe.hashing import hash_xy
from callister.universe.space import SECTOR_MARGIN

from ._support import EDGE_SECTORS, random_sectors


def test_block_matches_the_reference_formula() -> None:
    # block() is an optimised form of: hash low 16 bits < probability(noise(x, y))
    sectors = [(x, y) for x in range(-70, 70) for y in range(-40, 40)]
    sectors += random_sectors(5, 1000) + list(EDGE_SECTORS)
    for seed in (1, 2**64 - 1):
        for x, y in sectors:
            h = hash_xy(seed, x, y, SALT_SECTOR)
            expected = (h & 0xFFFF) < probability(noise(seed, x, y))
            info = sector_info(seed, x, y)
            assert (info is not None) == expected, (seed, x, y)
            if info is not None:
                assert info[4] == h


def test_galaxy_position_is_inside_its_sector_margin() -> None:
    for x, y in [(x, y) for x in range(-30, 30) for y in range(-30, 30)] + list(EDGE_SECTORS):
        info = sector_info(1, x, y)
        if info is None:
            continue
        ox = info[2] - x * SECTOR_SIZE
        oy = info[3] - y * SECTOR_SIZE
        assert SECTOR_MARGIN <= ox <= SECTOR_SIZE - SECTOR_MARGIN
        assert SECTOR_MARGIN <= oy <= SECTOR_SIZE - SECTOR_MARGIN


def test_edge_blocks_hold_no_sector_beyond_the_range() -> None:
    for seed in range(1, 40):
        for bx, by in [
            (SECTOR_MAX >> BLOCK_BITS, SECTOR_MAX >> BLOCK_BITS),
            (SECTOR_MIN >> BLOCK_BITS, SECTOR_MIN >> BLOCK_BITS),
            ((SECTOR_MAX >> BLOCK_BITS) + 1, 0),  # wholly outside: empty
        ]:
            for sx, sy, *_ in block(seed, bx, by):
                assert SECTOR_MIN <= sx <= SECTOR_MAX and SECTOR_MIN <= sy <= SECTOR_MAX
    assert block(1, (SECTOR_MAX >> BLOCK_BITS) + 1, 0) == ()


def test_noise_and_probability_ranges() -> None:
    values = [noise(3, x, y) for x in range(-200, 200, 7) for y in range(-200, 200, 7)]
    assert min(values) >= 0 and max(values) <= 65535
    assert max(values) - min(values) > 20000  # it actually varies
    assert probability(0) == 0
    assert 0 < probability(65535) <= 65536


def test_overall_density_is_in_the_designed_band() -> None:
    sample = random_sectors(101, 4000)
    fraction = sum(has_system(7, x, y) for x, y in sample) / len(sample)
    assert 0.12 < fraction < 0.30


@pytest.mark.parametrize("seed", [1, 2**64 - 1])
def test_density_has_clusters_and_voids(seed: int) -> None:
    # systems counted in 32 x 32 blocks of a 384 x 384 window: far more spread than the
    # binomial variance of a uniform density, with empty voids and dense clusters
    counts = []
    for big_y in range(-6, 6):
        for big_x in range(-6, 6):
            counts.append(
                sum(
                    len(block(seed, bx, by))
                    for by in range(big_y * 8, big_y * 8 + 8)
                    for bx in range(big_x * 8, big_x * 8 + 8)
                )
            )
    n = 32 * 32
    p = statistics.mean(counts) / n
    assert 0.12 < p < 0.35
    assert statistics.pvariance(counts) > 20 * n * p * (1 - p)
    assert sum(c / n < 0.03 for c in counts) >= 3, "expected voids (< 3% systems)"
    assert sum(c / n > 0.40 for c in counts) >= 3, "expected clusters (> 40% systems)"
