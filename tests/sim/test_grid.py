from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callister.sim.grid import SpatialGrid, ranges_to_indices

coord = st.floats(-5000, 5000, allow_nan=False, allow_infinity=False)


def brute(x: np.ndarray, y: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    dx = x.astype(np.float64) - cx
    dy = y.astype(np.float64) - cy
    return np.flatnonzero(dx * dx + dy * dy <= r * r)


@st.composite
def point_sets(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(0, 120))
    xs = draw(st.lists(coord, min_size=n, max_size=n))
    ys = draw(st.lists(coord, min_size=n, max_size=n))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    # Clusters and exact duplicates are where bucketing bugs hide.
    if n and draw(st.booleans()):
        xs = [round(v / 250) * 250 for v in xs]
    return np.array(xs, dtype=dtype), np.array(ys, dtype=dtype)


@settings(max_examples=200, deadline=None)
@given(
    points=point_sets(),
    cell=st.floats(1.0, 3000.0),
    cx=coord,
    cy=coord,
    r=st.floats(0, 4000),
    r_in_cells=st.none() | st.floats(0, 3),
)
def test_query_radius_equals_brute_force(
    points: tuple[np.ndarray, np.ndarray],
    cell: float,
    cx: float,
    cy: float,
    r: float,
    r_in_cells: float | None,
) -> None:
    x, y = points
    grid = SpatialGrid(x, y, cell)
    if r_in_cells is not None:  # small radii walk the cells instead of scanning every point
        r = r_in_cells * cell
    got = grid.query_radius(cx, cy, r)
    assert got.tolist() == brute(x, y, cx, cy, r).tolist()


@settings(max_examples=80, deadline=None)
@given(
    points=point_sets(),
    cell=st.floats(10.0, 3000.0),
    centres=st.lists(st.tuples(coord, coord), min_size=0, max_size=12),
    r=st.floats(0, 2000),
)
def test_query_many_equals_brute_force(
    points: tuple[np.ndarray, np.ndarray],
    cell: float,
    centres: list[tuple[float, float]],
    r: float,
) -> None:
    x, y = points
    grid = SpatialGrid(x, y, cell)
    qx = np.array([c[0] for c in centres])
    qy = np.array([c[1] for c in centres])
    qi, rows = grid.query_many(qx, qy, r)
    expected = [(q, int(row)) for q, (a, b) in enumerate(centres) for row in brute(x, y, a, b, r)]
    assert list(zip(qi.tolist(), rows.tolist(), strict=True)) == expected


def test_negative_coordinates_and_cell_borders() -> None:
    x = np.array([-1000.0, -500.0, -0.0, 0.0, 499.999, 500.0, -500.001])
    y = np.array([-1000.0, -500.0, 0.0, -0.0, -499.999, 500.0, -500.0])
    grid = SpatialGrid(x, y, 500.0)
    assert grid.query_radius(-500.0, -500.0, 0.01).tolist() == [1, 6]
    assert grid.query_radius(0.0, 0.0, 0.0).tolist() == [2, 3]
    assert (
        grid.query_radius(-1000.0, -1000.0, 2000.0).tolist()
        == brute(x, y, -1000.0, -1000.0, 2000.0).tolist()
    )


def test_sparse_layout_matches_brute_force() -> None:
    # A few points spread over a huge area with tiny cells: the occupied-cells-only table.
    rng = np.random.default_rng(3)
    x = rng.uniform(-1e7, 1e7, 300)
    y = rng.uniform(-1e7, 1e7, 300)
    x[:50] = rng.uniform(-100, 100, 50)
    y[:50] = rng.uniform(-100, 100, 50)
    grid = SpatialGrid(x, y, 10.0)
    assert not grid._dense
    for cx, cy, r in [(0.0, 0.0, 60.0), (x[200], y[200], 5.0), (x[7], y[7], 150.0)]:
        assert grid.query_radius(cx, cy, r).tolist() == brute(x, y, cx, cy, r).tolist()
    qi, rows = grid.query_many(x[:60], y[:60], 40.0)
    expected = [(q, int(r)) for q in range(60) for r in brute(x, y, x[q], y[q], 40.0)]
    assert list(zip(qi.tolist(), rows.tolist(), strict=True)) == expected


def test_many_float32_points_match_brute_force() -> None:
    rng = np.random.default_rng(5)
    x = rng.uniform(-50_000, 50_000, 20_000).astype(np.float32)
    y = rng.uniform(-50_000, 50_000, 20_000).astype(np.float32)
    x[:2000] = np.round(x[:2000] / 200) * 200  # on cell borders
    grid = SpatialGrid(x, y, 200.0)
    for cx, cy, r in [(0.0, 0.0, 900.0), (-49_000.0, 48_000.0, 3000.0), (x[5], y[5], 200.0)]:
        assert grid.query_radius(cx, cy, r).tolist() == brute(x, y, cx, cy, r).tolist()


def test_astronomical_cell_counts_fall_back_to_argsort() -> None:
    rng = np.random.default_rng(6)
    x = rng.uniform(-5e8, 5e8, 200)
    y = rng.uniform(-5e8, 5e8, 200)
    grid = SpatialGrid(x, y, 1.0)  # ~1e9 x 1e9 cells: too many to pack cell and row in 63 bits
    for i in (0, 17, 199):
        assert grid.query_radius(x[i], y[i], 0.5).tolist() == [i]


def test_empty_grid_and_degenerate_queries() -> None:
    grid = SpatialGrid(np.empty(0), np.empty(0), 100.0)
    assert len(grid) == 0
    assert grid.query_radius(0.0, 0.0, 1e6).size == 0
    assert grid.query_many([0.0], [0.0], 10.0)[0].size == 0
    one = SpatialGrid([1.0], [1.0], 100.0)
    assert one.query_radius(0.0, 0.0, -1.0).size == 0
    assert one.query_radius(1.0, 1.0, 0.0).tolist() == [0]


def test_grid_copies_its_input() -> None:
    x = np.array([0.0, 100.0])
    y = np.array([0.0, 0.0])
    grid = SpatialGrid(x, y, 50.0)
    x[0] = 10_000.0
    assert grid.query_radius(0.0, 0.0, 1.0).tolist() == [0]


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        SpatialGrid([0.0, np.nan], [0.0, 0.0], 10.0)
    with pytest.raises(ValueError):
        SpatialGrid([0.0], [0.0], 0.0)
    with pytest.raises(ValueError):
        SpatialGrid([0.0, 1.0], [0.0], 10.0)
    with pytest.raises(ValueError):
        SpatialGrid([0.0], [0.0], 10.0).query_radius(np.inf, 0.0, 1.0)


def test_ranges_to_indices() -> None:
    starts = np.array([5, 0, 9, 2])
    counts = np.array([2, 0, 3, 1])
    assert ranges_to_indices(starts, counts).tolist() == [5, 6, 9, 10, 11, 2]
    assert ranges_to_indices(starts[:0], counts[:0]).size == 0


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 400),
    moves=st.lists(st.floats(0, 300), min_size=1, max_size=6),
)
def test_bounded_update_equals_a_fresh_build(seed: int, n: int, moves: list[float]) -> None:
    # Incremental updates (few points change cell) and bulk ones must leave the grid exactly
    # as a fresh build would, including points outside the bounds.
    rng = np.random.default_rng(seed)
    bounds = (-2000.0, -1500.0, 2000.0, 1500.0)
    x = rng.uniform(-2500, 2500, n).astype(np.float32)
    y = rng.uniform(-2000, 2000, n).astype(np.float32)
    grid = SpatialGrid(x, y, 250.0, bounds=bounds)
    for step in moves:
        mask = rng.random(n) < 0.1
        x = (x + mask * rng.uniform(-step, step, n)).astype(np.float32)
        y = (y + mask * rng.uniform(-step, step, n)).astype(np.float32)
        grid.update(x, y)
        fresh = SpatialGrid(x, y, 250.0, bounds=bounds)
        assert grid.order.tolist() == fresh.order.tolist()
        assert grid._starts.tolist() == fresh._starts.tolist()
        for cx, cy, r in [(0.0, 0.0, 700.0), (2400.0, -1900.0, 300.0), (-3000.0, 0.0, 600.0)]:
            assert grid.query_radius(cx, cy, r).tolist() == brute(x, y, cx, cy, r).tolist()
        qi, rows = grid.query_many(x[:5], y[:5], 260.0)
        expected = [(q, int(r)) for q in range(min(5, n)) for r in brute(x, y, x[q], y[q], 260.0)]
        assert list(zip(qi.tolist(), rows.tolist(), strict=True)) == expected


def test_update_with_a_different_count_rebuilds() -> None:
    grid = SpatialGrid([0.0, 10.0], [0.0, 0.0], 100.0, bounds=(-50.0, -50.0, 50.0, 50.0))
    grid.update([0.0, 10.0, 900.0], [0.0, 0.0, 0.0])
    assert len(grid) == 3
    assert grid.query_radius(900.0, 0.0, 1.0).tolist() == [2]
    grid.update([], [])
    assert len(grid) == 0 and grid.query_radius(0.0, 0.0, 1e3).size == 0


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError):
        SpatialGrid([0.0], [0.0], 10.0, bounds=(0.0, 0.0, 0.0, 5.0))
    with pytest.raises(ValueError):
        SpatialGrid([0.0], [0.0], 10.0, bounds=(0.0, 0.0, math.inf, 5.0))
