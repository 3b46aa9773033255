"""`callister bench detectors` runs the server's detector and flag writes (issue 17)."""

from __future__ import annotations

import pytest

from callister.bench.detectors import run_detectors_bench


def test_a_crowd_on_one_address_is_one_flag_then_none() -> None:
    result = run_detectors_bench(300)
    assert result["accounts"] == 300 and result["groups"] == 1 and result["findings"] == 1
    assert result["first_pass"]["flags_written"] == 1  # type: ignore[index]
    assert result["second_pass"]["flags_written"] == 0  # type: ignore[index]


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="accounts"):
        run_detectors_bench(1)
