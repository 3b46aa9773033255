from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from callister.sim import RockSpec, StationSpec, ZoneLayout
from callister.sim.statics import ROCK, STAR, STATION, StaticColliders


def test_arrays_follow_the_layout() -> None:
    layout = ZoneLayout(
        radius=5000.0,
        star_radius=400.0,
        stations=(StationSpec(4, 2000.0, 0.0, 80.0, 250.0),),
        rocks=(RockSpec(-1000.0, 50.0, 30.0), RockSpec(0.0, 0.0, 0.0), RockSpec(1.0, 2.0, 5.0)),
    )
    statics = StaticColliders(layout)
    assert statics.kind.tolist() == [STAR, STATION, ROCK, ROCK]
    # A zero-radius rock collides with nothing and is left out, but keeps rock numbering.
    assert statics.index.tolist() == [0, 4, 0, 2]
    assert statics.r.tolist() == [400.0, 80.0, 30.0, 5.0]


@settings(max_examples=60, deadline=None)
@given(
    rocks=st.lists(
        st.tuples(st.floats(-3000, 3000), st.floats(-3000, 3000), st.floats(1, 200)),
        max_size=40,
    ),
    star=st.floats(0, 1500),
    margin=st.floats(0, 80),
    seed=st.integers(0, 2**32 - 1),
)
def test_candidates_cover_every_collider_within_reach(
    rocks: list[tuple[float, float, float]], star: float, margin: float, seed: int
) -> None:
    layout = ZoneLayout(radius=3000.0, star_radius=star, rocks=tuple(RockSpec(*r) for r in rocks))
    statics = StaticColliders(layout, margin=margin)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-4000, 4000, 3000).astype(np.float32)
    y = rng.uniform(-4000, 4000, 3000).astype(np.float32)
    pts, sts = statics.candidates(x, y)
    got = set(zip(pts.tolist(), sts.tolist(), strict=True))
    dx = x[:, None].astype(np.float64) - statics.x[None, :]
    dy = y[:, None].astype(np.float64) - statics.y[None, :]
    reach = statics.r[None, :].astype(np.float64) + margin
    need = set(zip(*np.nonzero(dx * dx + dy * dy <= reach * reach), strict=True))
    assert need <= got
    assert len(got) == pts.size  # no duplicate pairs
    assert np.all(np.diff(pts) >= 0)


def test_no_statics_means_no_candidates() -> None:
    statics = StaticColliders(ZoneLayout(radius=100.0))
    pts, sts = statics.candidates(np.zeros(5, np.float32), np.zeros(5, np.float32))
    assert pts.size == 0 and sts.size == 0


def test_with_margin_rebuilds_only_when_needed() -> None:
    statics = StaticColliders(ZoneLayout(radius=100.0, star_radius=10.0), margin=20.0)
    assert statics.with_margin(15.0) is statics
    wider = statics.with_margin(40.0)
    assert wider.margin == 40.0
    pts, _ = wider.candidates(np.array([45.0], np.float32), np.array([0.0], np.float32))
    assert pts.tolist() == [0]


def _brute_first_hits(
    statics: StaticColliders, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray
) -> np.ndarray:
    best = np.full(x0.size, np.inf)
    dx = x1 - x0
    dy = y1 - y0
    a = dx * dx + dy * dy
    for cx, cy, r in zip(statics.x.tolist(), statics.y.tolist(), statics.r.tolist(), strict=True):
        fx = x0 - cx
        fy = y0 - cy
        b = fx * dx + fy * dy
        c = fx * fx + fy * fy - r * r
        disc = b * b - a * c
        with np.errstate(invalid="ignore", divide="ignore"):
            t = (-b - np.sqrt(np.maximum(disc, 0.0))) / a
        t = np.where((a > 0) & (b < 0) & (disc >= 0) & (t <= 1.0), t, np.inf)
        t = np.where(c <= 0, 0.0, t)
        best = np.minimum(best, t)
    return best


@settings(max_examples=40, deadline=None)
@given(
    rocks=st.lists(
        st.tuples(st.floats(-3000, 3000), st.floats(-3000, 3000), st.floats(1, 200)),
        max_size=30,
    ),
    seed=st.integers(0, 2**31),
)
def test_line_of_fire_matches_brute_force(
    rocks: list[tuple[float, float, float]], seed: int
) -> None:
    layout = ZoneLayout(
        radius=5000.0,
        star_radius=300.0,
        stations=(StationSpec(0, 2500.0, -2500.0, 120.0, 300.0),),
        rocks=tuple(RockSpec(x, y, r) for x, y, r in rocks),
    )
    statics = StaticColliders(layout)
    rng = np.random.default_rng(seed)
    k = 300
    x0, y0, x1, y1 = (rng.uniform(-4000, 4000, k) for _ in range(4))
    t, j = statics.first_hits(x0, y0, x1, y1)
    want = _brute_first_hits(statics, x0, y0, x1, y1)
    assert np.allclose(np.where(np.isinf(t), -1, t), np.where(np.isinf(want), -1, want))
    assert ((j >= 0) == np.isfinite(t)).all()


def test_line_of_fire_with_no_statics_and_long_segments() -> None:
    empty = StaticColliders(ZoneLayout(radius=1000.0))
    t, j = empty.first_hits(np.zeros(1), np.zeros(1), np.full(1, 500.0), np.zeros(1))
    assert np.isinf(t[0]) and j[0] == -1
    star = StaticColliders(ZoneLayout(radius=100_000.0, star_radius=1000.0))
    t, j = star.first_hits(
        np.array([-50_000.0, -50_000.0]), np.array([0.0, 2000.0]),
        np.array([50_000.0, 50_000.0]), np.array([0.0, 2000.0]),
    )  # fmt: skip
    assert t[0] == np.float64(49_000.0 / 100_000.0) and j[0] == 0
    assert np.isinf(t[1])
