from __future__ import annotations

import numpy as np
import pytest

from callister.universe import SECTOR_MAX, SECTOR_MIN, generate_system, has_system, neighbourhood
from callister.universe.space import check_sector, seed_u64


@pytest.mark.parametrize(
    ("x", "y"),
    [(2**63, 0), (0, 2**63), (-(2**63) - 1, 5), (3, -(2**63) - 1), (2**80, -(2**80))],
)
def test_out_of_range_sectors_raise_value_error(x: int, y: int) -> None:
    for fn in (generate_system, has_system):
        with pytest.raises(ValueError, match="outside the universe"):
            fn(1, x, y)
    with pytest.raises(ValueError, match="outside the universe"):
        neighbourhood(1, x, y, 1)


def test_edges_are_inside() -> None:
    assert check_sector(SECTOR_MIN, SECTOR_MAX) == (SECTOR_MIN, SECTOR_MAX)
    for x, y in [(SECTOR_MIN, SECTOR_MIN), (SECTOR_MAX, SECTOR_MAX)]:
        has_system(1, x, y)  # does not raise


def test_non_integers_are_rejected_but_numpy_ints_accepted() -> None:
    with pytest.raises(TypeError):
        has_system(1, 1.0, 2)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        has_system(1, True, 2)
    assert has_system(1, np.int64(5), np.int32(7)) == has_system(1, 5, 7)  # type: ignore[arg-type]


def test_seed_folds_to_u64() -> None:
    assert seed_u64(-1) == 2**64 - 1
    assert seed_u64(2**64 + 5) == 5
    with pytest.raises(TypeError):
        seed_u64(True)
