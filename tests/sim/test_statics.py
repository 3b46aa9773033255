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
