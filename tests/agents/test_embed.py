from __future__ import annotations

import numpy as np

from callister.agents.embed import DIM, embed, tokens


def test_embedding_is_deterministic_unit_and_cheap_to_compare() -> None:
    a = embed("Pirate #42 attacked us near station 2")
    assert a.dtype == np.float32 and a.shape == (DIM,)
    assert np.array_equal(a, embed("Pirate #42 attacked us near station 2"))
    assert abs(float(np.linalg.norm(a)) - 1.0) < 1e-5
    assert not embed("the a of").any()  # stop words only


def test_related_texts_are_closer_than_unrelated_ones() -> None:
    q = embed("who attacked us?")
    near = embed("The pirate attacked our ship")
    far = embed("We sold ore at the market for good credits")
    assert float(q @ near) > float(q @ far)
    assert "#42" in tokens("ship #42 fired") and "the" not in tokens("the ship")
