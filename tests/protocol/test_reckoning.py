"""The v2 dead-reckoning model: its closed form is the simulation's integration step by step,
exactly, and its units convert as the protocol doc says."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from callister.protocol.reckoning import (
    ACC_FINE,
    VEL_FINE,
    angle_error,
    fine,
    heading_units,
    position_shift,
    predict_angle,
    predict_position,
    predict_velocity,
    velocity_units,
)


@given(
    st.integers(-(2**31), 2**31),
    st.integers(-32767, 32767),
    st.integers(-127, 127),
    st.integers(0, 255),
)
def test_closed_form_is_the_tick_by_tick_integration(p0: int, v: int, a: int, ticks: int) -> None:
    # the simulation: velocity += acceleration, then position += velocity, each tick
    pos, vel = p0, VEL_FINE * v
    for _ in range(ticks):
        vel += ACC_FINE * a
        pos += vel
    assert predict_position(p0, v, a, ticks) == pos
    assert VEL_FINE * predict_velocity(v, a, ticks) == vel


def test_closed_form_works_on_arrays_too() -> None:
    p0 = np.array([0, 10, -5], dtype=np.int64)
    got = predict_position(p0, p0 + 1, p0 - 1, np.array([3, 4, 5], dtype=np.int64))
    assert got.tolist() == [predict_position(int(a), int(a) + 1, int(a) - 1, t)
                            for a, t in zip(p0, [3, 4, 5], strict=True)]  # fmt: skip


def test_angles_wrap() -> None:
    assert predict_angle(65000, 100, 1) == (65000 + 3200) % 65536
    assert predict_angle(10, -1, 1) == 65514
    assert angle_error(10, 65530) == 16 and angle_error(65530, 10) == -16
    assert angle_error(0, 32768) == -32768


def test_units() -> None:
    assert fine(1.0) == 1024
    assert velocity_units(200.0, 20) == 2560  # 10 m a tick in 1/256 m
    assert velocity_units(1e9, 20) == 32767
    assert heading_units(math.pi) == 32768 and heading_units(-math.pi / 2) == 49152
    assert position_shift(1650.0) == 0 and position_shift(6600.0) == 0
    assert position_shift(9000.0) == 1 and position_shift(30_000.0) == 2
    for bad in (0.0, -1.0, float("inf"), 1e9):
        with pytest.raises(ValueError):
            position_shift(bad)
