"""Flight systems, vectorised over every live row: steering, integration, the system boundary.

Each function is one stage of the schedule. They work on ``column[:count]`` views in place and
allocate only a few float32 temporaries per call; docked ships are masked out rather than
skipped, which keeps every stage a fixed sequence of whole-array operations.
"""

from __future__ import annotations

import math

import numpy as np

from callister.sim.entities import DOCKED, THRUSTING
from callister.sim.rules import BOUNDARY_ACCEL, BOUNDARY_DAMPING, BOUNDARY_FACTOR
from callister.sim.state import SimState

_PI = np.float32(math.pi)
_TWO_PI = np.float32(2 * math.pi)
_NOT_THRUSTING = np.uint8(0xFF & ~THRUSTING)
_TINY = np.float32(1e-30)
_ZERO = np.float32(0.0)
assert THRUSTING == 1 << 1


def steer(state: SimState) -> None:
    """Apply each undocked ship's held controls for one tick.

    In order: turn (turn * turn_rate * dt, heading kept in [-pi, pi]); thrust along the new
    heading (thrust * accel * dt); brake (speed reduced by accel * dt towards 0, never
    reversing; a braking ship does not thrust); speed cap (velocity scaled down to max_speed).
    Sets the THRUSTING flag exactly for ships that thrusted this tick. Docked ships keep their
    held controls but do not move or turn.
    """
    store = state.store
    n = store.count
    if n == 0:
        return
    dt = state.dt
    flags = store.flags[:n]
    angle = store.angle[:n]
    vx = store.vx[:n]
    vy = store.vy[:n]
    accel = store.accel[:n]
    # Whole-array arithmetic only: masks enter as multiplications by booleans, because numpy's
    # `where=` ufuncs and boolean indexing cost 10-30x more per element on random masks.
    free = (flags & DOCKED) == 0
    braking = store.brake[:n] & free

    tmp = np.multiply(store.turn[:n], store.turn_rate[:n])
    tmp *= dt
    tmp *= free
    angle += tmp
    # A tick turns far less than a full circle, so one conditional wrap keeps [-pi, pi].
    np.greater(angle, _PI, out=tmp)
    angle -= tmp * _TWO_PI
    np.less(angle, -_PI, out=tmp)
    angle += tmp * _TWO_PI

    push = np.multiply(store.thrust[:n], accel)
    push *= dt
    push *= free & ~braking  # a braking ship does not thrust
    np.cos(angle, out=tmp)
    tmp *= push
    vx += tmp
    np.sin(angle, out=tmp)
    tmp *= push
    vy += tmp
    flags &= _NOT_THRUSTING
    flags |= (push > 0).view(np.uint8) << 1  # THRUSTING is bit 1

    # Brake and speed cap as one rescale: target speed = min(speed - brake, max_speed), >= 0.
    speed = np.multiply(vx, vx)
    np.multiply(vy, vy, out=tmp)
    speed += tmp
    np.sqrt(speed, out=speed)
    target = np.multiply(accel, dt)
    target *= braking
    np.subtract(speed, target, out=target)
    np.minimum(target, store.max_speed[:n], out=target)
    np.maximum(target, _ZERO, out=target)
    # Ships under the cap get exactly speed / speed == 1.0; a stopped ship divides by the tiny
    # floor instead of 0 and gets target 0.
    np.maximum(speed, _TINY, out=speed)
    np.divide(target, speed, out=target)
    vx *= target
    vy *= target


def integrate(state: SimState) -> None:
    """Move every ship by velocity * dt (docked ships have zero velocity and stay put)."""
    store = state.store
    n = store.count
    if n == 0:
        return
    step = np.multiply(store.vx[:n], state.dt)
    store.x[:n] += step
    np.multiply(store.vy[:n], state.dt, out=step)
    store.y[:n] += step


def keep_in_bounds(state: SimState) -> None:
    """Push back ships beyond BOUNDARY_FACTOR system radii from the star.

    A soft wall: beyond the line a ship loses BOUNDARY_DAMPING of its outward speed per tick and
    gains BOUNDARY_ACCEL inward, which beats every hull's thrust, so a ship flying straight out
    at full speed overshoots by a bounded distance (a few hundred metres) and comes back.
    """
    store = state.store
    n = store.count
    if n == 0:
        return
    x = store.x[:n]
    y = store.y[:n]
    r2 = x * x
    r2 += y * y
    limit = BOUNDARY_FACTOR * state.layout.radius
    rows = np.flatnonzero(r2 > np.float32(limit * limit))
    if rows.size == 0:
        return
    rows = rows[(store.flags[rows] & DOCKED) == 0]
    r = np.sqrt(r2[rows])
    nx = x[rows] / r
    ny = y[rows] / r
    bvx = store.vx[rows]
    bvy = store.vy[rows]
    outward = np.maximum(bvx * nx + bvy * ny, 0)
    push = outward * BOUNDARY_DAMPING + BOUNDARY_ACCEL * state.dt
    store.vx[rows] = bvx - nx * push
    store.vy[rows] = bvy - ny * push
