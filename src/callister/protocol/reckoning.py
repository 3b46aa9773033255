"""Dead reckoning for protocol v2: the integer model by which a client predicts an entity.

A v2 update record is a *reference*: where an entity was at the frame's tick, how fast it moved,
how fast its velocity and heading were changing. Until the next record for that entity, the
client predicts it from the reference with the integer formulas below, and the server predicts
it with the same formulas to decide when the client's picture has drifted too far and a new
record is due. Integers (no floats, no trigonometry) make both sides compute the same numbers on
every platform and in JavaScript (every intermediate stays far below 2^53), so the server knows
exactly what each client believes and its drift accounting is exact.

Units (docs/protocol.md, "Dead reckoning"), all per *tick* (1 / `welcome.tick_hz` s):

- position: fine units of 1/1024 m (FINE_PER_M); records carry 1/4 m steps times 2^shift;
- velocity: 1/256 m per tick (VEL_FINE fine units per tick);
- acceleration: 1/256 m per tick^2 (ACC_FINE fine units per tick^2);
- heading: 1/65536 turn, counter-clockwise from +x; spin: 1/2048 turn per tick (SPIN_ANGLE
  heading units per tick).

The model is the simulation's own integration (velocity first, then position, once per tick)
with the acceleration and spin held constant, so an entity flying with unchanged controls and
below its speed cap is predicted to within the quantisation of its record.
"""

from __future__ import annotations

import math
from typing import Final, TypeVar

import numpy as np
import numpy.typing as npt

Ints = TypeVar("Ints", int, npt.NDArray[np.int64])
"""Python ints, or int64 arrays for every pair at once (the formulas are the same)."""

FINE_PER_M: Final = 1024
"""Fine position units per metre: predictions and drift are computed in these."""
QUARTER_FINE: Final = 256
"""Fine units per 1/4 m, the record's position step at shift 0 (and the origin's unit)."""
VEL_FINE: Final = 4
"""Fine units per tick in one velocity unit (1/256 m per tick)."""
ACC_FINE: Final = 4
"""Fine units per tick^2 in one acceleration unit (1/256 m per tick^2)."""
ANGLE_UNITS: Final = 65536
"""Heading units per turn."""
SPIN_ANGLE: Final = 32
"""Heading units per tick in one spin unit (1/2048 turn per tick)."""

I16_MAX: Final = 32767
I8_MAX: Final = 127


def predict_position(p0: Ints, v: Ints, a: Ints, ticks: Ints) -> Ints:
    """Fine-unit coordinate `ticks` after a reference at `p0` (fine units) with velocity `v`
    and acceleration `a` (record units): p0 + 4 v t + 2 a t (t + 1).

    Why t (t + 1): the simulation adds the acceleration to the velocity and then moves by the
    new velocity, so after t ticks the acceleration has moved the entity a * (1 + 2 + ... + t).
    """
    return p0 + VEL_FINE * v * ticks + (ACC_FINE // 2) * a * ticks * (ticks + 1)


def predict_velocity(v: int, a: int, ticks: int) -> int:
    """Velocity (1/256 m per tick) `ticks` after the reference."""
    return v + a * ticks


def predict_angle(angle0: int, spin: int, ticks: int) -> int:
    """Heading (1/65536 turn) `ticks` after the reference, wrapped into [0, 65536)."""
    return (angle0 + SPIN_ANGLE * spin * ticks) % ANGLE_UNITS


def angle_error(a: int, b: int) -> int:
    """The signed difference a - b of two headings, wrapped into [-32768, 32767]."""
    return (a - b + 32768) % ANGLE_UNITS - 32768


def fine(metres: float) -> int:
    """Metres to fine units (round half to even, as numpy's rint)."""
    return round(metres * FINE_PER_M)


def velocity_units(metres_per_s: float, tick_hz: int) -> int:
    """m/s to record velocity units (1/256 m per tick), clamped to i16."""
    return _clamp(round(metres_per_s * 256 / tick_hz), I16_MAX)


def heading_units(radians: float) -> int:
    """Radians (any value) to heading units in [0, 65536)."""
    return round(radians % (2 * math.pi) * ANGLE_UNITS / (2 * math.pi)) % ANGLE_UNITS


def _clamp(value: int, limit: int) -> int:
    return max(-limit, min(limit, value))


def position_shift(radius_m: float) -> int:
    """The smallest shift (record position step = 2^shift / 4 m) whose i16 offsets cover
    `radius_m` around the origin with a metre to spare; ValueError past 2^15 * 64 m."""
    if not math.isfinite(radius_m) or radius_m <= 0:
        raise ValueError(f"radius must be a positive number of metres, not {radius_m!r}")
    for shift in range(MAX_SHIFT + 1):
        if (radius_m + 1.0) * 4 / (1 << shift) <= I16_MAX:
            return shift
    raise ValueError(f"a view radius of {radius_m} m is beyond what v2 records can carry")


MAX_SHIFT: Final = 8
"""Largest position shift (steps of 64 m, views up to ~2,000 km); the decoder refuses more."""
