"""Compiled per-ship loops (numba) for the flight stages and the static collisions.

Why compiled loops and not whole-array numpy: a numpy stage is a fixed sequence of 20-40 array
calls, each ~1 us of overhead however few ships there are (a 4-ship zone paid ~140 us a tick),
and each a full pass over memory at 100k ships. One loop costs one call and one pass.

Rules every kernel keeps:
- the arithmetic is the former numpy version's, operation by operation and in the same float
  type (float32 kinematics, float64 collision geometry), so the same inputs give the same
  `Zone.state_hash()` on every run and build (no fastmath: no reassociation, no fused
  multiply-add; no parallel reductions);
- trigonometry stays in numpy (`movement.steer`): numpy's SIMD float32 sin/cos is ~20x faster
  than a scalar libm call per ship;
- the public kernels are compiled eagerly from explicit signatures when this module is imported
  and cached on disk (``cache=True``), so no tick ever pays a compile (see `warm_up`).
"""

from __future__ import annotations

import math
import time
from typing import Final

import numpy as np
from numba import njit

from callister.sim.entities import (
    CRUISE_ON,
    DOCKED,
    FIRING,
    KIND_SHIP,
    NO_CONTACT,
    NO_FUEL,
    SHIELD_HIT,
    THRUSTING,
)
from callister.sim.rules import (
    BOUNDARY_DAMPING,
    CONTACT_SLOP,
    PUSH_OUT_EPSILON,
    RESTING_SPEED,
    RESTITUTION,
)

_PI: Final = np.float32(math.pi)
_TWO_PI: Final = np.float32(2 * math.pi)
_TINY: Final = np.float32(1e-30)
_ONE: Final = np.float32(1.0)
_ZERO: Final = np.float32(0.0)
_CLEARED_EACH_TICK: Final = np.uint8(0xFF & ~(THRUSTING | SHIELD_HIT | FIRING | NO_FUEL))
_DAMPING: Final = np.float32(BOUNDARY_DAMPING)
_SLOP: Final = np.float32(CONTACT_SLOP)
# m added to radii in the float32 pre-test so its rounding (~0.01 m) can only let extra pairs
# through to the exact float64 test, never drop one.
_PRETEST_SLACK: Final = np.float32(0.05)

# Every kernel: cache=True (compiled once per machine, loaded from __pycache__ afterwards);
# nogil=True (a zone worker may step zones on threads); bounds checks off (numba's default).

_started = time.perf_counter()


@njit(
    "void(int64[::1], float64[:, ::1], bool_[::1], float32[::1], float32[::1], bool_[::1])",
    cache=True,
    nogil=True,
)
def store_controls(rows, controls, brakes, thrust, turn, brake):
    """Store held controls: thrust clamped to [0, 1], turn to [-1, 1], non-finite values as 0.
    `controls` holds (thrust, turn) per row; rows are distinct."""
    for k in range(rows.size):
        row = rows[k]
        t = controls[k, 0]
        t = 0.0 if not math.isfinite(t) else min(max(t, 0.0), 1.0)
        u = controls[k, 1]
        u = 0.0 if not math.isfinite(u) else min(max(u, -1.0), 1.0)
        thrust[row] = t
        turn[row] = u
        brake[row] = brakes[k]


@njit(
    "void(int64, float32, uint8[::1], float32[::1], float32[::1], float32[::1])",
    cache=True,
    nogil=True,
)
def turn_ships(n, dt, flags, angle, turn, turn_rate):
    """Heading += turn * turn_rate * dt for undocked ships, wrapped once into [-pi, pi] (a
    tick turns far less than a full circle)."""
    for i in range(n):
        free = _ONE if (flags[i] & DOCKED) == 0 else _ZERO
        t = turn[i] * turn_rate[i]
        t = t * dt
        t = t * free
        a = angle[i] + t
        if a > _PI:
            a = a - _TWO_PI
        elif a < -_PI:
            a = a + _TWO_PI
        angle[i] = a


@njit(
    "int64(int64, float32, uint8[::1], uint8[::1], float32[::1], float32[::1], float32[::1],"
    " bool_[::1], float32[::1], float32[::1], float32[::1], float32[::1], float32[::1],"
    " float32[::1], float32, bool_[::1], uint8[::1], float32[::1], float32[::1], float32)",
    cache=True,
    nogil=True,
)
def thrust_ships(
    n, dt, flags, kind, vx, vy, thrust, brake, accel, max_speed, cos, sin, fuel, fuel_burn,
    fuel_mult, emptied, cruise, cruise_speed, cruise_fuel, inv_ramp,
):  # fmt: skip
    """Thrust along the heading (cos, sin), brake, speed cap, fuel burn; THRUSTING set exactly
    for the ships that thrusted, NO_FUEL for ships with an empty tank, and the per-tick bits
    SHIELD_HIT and FIRING cleared (see `movement.steer` for the rules). `emptied[i]` is set
    for the ships whose tank ran dry this tick; returns their number. A cruising ship
    (`cruise` CRUISE_ON) thrusts at cruise_speed * inv_ramp, is capped at its cruise speed
    and burns cruise_fuel per metre flown instead.

    Written without data-dependent branches (selects only), so LLVM vectorises the loop: a
    branchy version with an append for the emptied tanks was 10x slower at 100k ships.
    """
    count = 0
    for i in range(n):
        fl = flags[i]
        free = (fl & DOCKED) == 0
        ship = kind[i] == KIND_SHIP
        fuel0 = fuel[i]
        # Shells, missiles and wrecks have no tank and never run dry.
        fuelled = (fuel0 > _ZERO) | (not ship)
        braking = brake[i] & free & fuelled
        cruising = cruise[i] == CRUISE_ON
        push = thrust[i] * (cruise_speed[i] * inv_ramp if cruising else accel[i])
        push = push * dt
        # a braking ship does not thrust; an empty tank does neither
        push = push * (_ONE if free & (not braking) & fuelled else _ZERO)
        wx = vx[i] + cos[i] * push
        wy = vy[i] + sin[i] * push
        # Brake and cap as one rescale: target = min(speed - brake, max_speed), >= 0. Ships
        # under the cap get exactly speed / speed == 1.0; a stopped ship divides by the tiny
        # floor instead of 0 and gets target 0.
        speed = np.float32(math.sqrt(wx * wx + wy * wy))
        moving = speed > _ZERO
        target = accel[i] * dt
        target = target * (_ONE if braking else _ZERO)
        target = speed - target
        cap = cruise_speed[i] if cruising else max_speed[i]
        if target > cap:
            target = cap
        if target < _ZERO:
            target = _ZERO
        if speed < _TINY:
            speed = _TINY
        target = target / speed
        vx[i] = wx * target
        vy[i] = wy * target
        # Fuel: thrust burns in proportion, braking a moving ship at the full rate. Non-ships
        # burn nothing (fuel_burn 0), so their fuel stays 0.
        rate = fuel_burn[i] * dt
        rate = rate * fuel_mult
        burn = rate * thrust[i]
        burn = burn if push > _ZERO else (rate if braking & moving else _ZERO)
        flown = speed * target  # the speed after this tick (speed / speed == 1 when uncapped)
        flown = flown * dt
        flown = flown * cruise_fuel[i]
        burn = flown * fuel_mult if cruising else burn
        left = fuel0 - burn
        left = left if left > _ZERO else _ZERO
        fuel[i] = left
        dry = ship & (left <= _ZERO)
        f = (fl & _CLEARED_EACH_TICK) | (THRUSTING if push > _ZERO else 0) | (NO_FUEL if dry else 0)
        flags[i] = f
        newly = dry & (fuel0 > _ZERO)
        emptied[i] = newly
        count += newly
    return count


# Helpers are plain njit functions, which LLVM inlines: numba's own IR inlining
# (inline="always") made every array argument an atomic incref/decref per ship (4x slower).
@njit(cache=True, nogil=True)
def _raster_slot(px, py, inv, off_x, off_y, nx_cells, ny_cells, slot_of):
    """The raster slot (0 = no collider) of the cell holding (px, py). Points outside the
    statics' box clamp onto the raster's empty border ring."""
    # Clamped with comparisons, not min/max: numba's NaN-aware builtins cost 2.5x here.
    hi = np.float32(nx_cells + 1)
    t = px * inv + off_x
    t = hi if t > hi else (_ZERO if t < _ZERO else t)
    key = np.int64(np.int32(t)) * (ny_cells + 2)  # non-negative: truncation is floor
    hi = np.float32(ny_cells + 1)
    t = py * inv + off_y
    t = hi if t > hi else (_ZERO if t < _ZERO else t)
    key += np.int32(t)
    return slot_of[key]


@njit(
    "int64(float32[::1], float32[::1], float32, float32, float32, int64, int64, int32[::1],"
    " int32[:, ::1], int64[::1], int32[::1])",
    cache=True,
    nogil=True,
)
def raster_candidates(x, y, inv, off_x, off_y, nx_cells, ny_cells, slot_of, table, pts, sts):
    """(point, collider) pairs for the colliders listed in each point's cell, written into
    pts/sts (room for len(x) * table width); returns how many."""
    pairs = 0
    for i in range(x.size):
        slot = _raster_slot(x[i], y[i], inv, off_x, off_y, nx_cells, ny_cells, slot_of)
        if slot == 0:
            continue
        for k in range(table.shape[1]):
            j = table[slot, k]
            if j < 0:  # rows are -1 padded after their colliders
                break
            pts[pairs] = i
            sts[pairs] = j
            pairs += 1
    return pairs


@njit(cache=True, nogil=True)
def _push_out(px, py, cx, cy, reach, fallback_x, fallback_y):
    """Unit normal from centre to point (fallback direction when they coincide) and the point
    moved onto the circle of radius `reach` + PUSH_OUT_EPSILON along it."""
    nx = px - cx
    ny = py - cy
    length = math.hypot(nx, ny)
    if length < 1e-9:
        nx = fallback_x
        ny = fallback_y
        length = math.hypot(nx, ny)
        if length < 1e-9:
            nx = 1.0
            ny = 0.0
            length = 1.0
    nx /= length
    ny /= length
    out = reach + PUSH_OUT_EPSILON
    return nx, ny, cx + nx * out, cy + ny * out


@njit(cache=True, nogil=True)
def _bounce(vx, vy, nx, ny):
    """Velocity after hitting a surface with normal n, and the closing speed (<= 0): the
    normal part is reflected with RESTITUTION, or just removed below RESTING_SPEED."""
    vn = vx * nx + vy * ny
    closing = vn if vn < 0.0 else 0.0  # as numpy.minimum(vn, 0.0), signed zeros included
    bounce = 1.0 + (RESTITUTION if closing < -RESTING_SPEED else 0.0)
    return vx - bounce * closing * nx, vy - bounce * closing * ny, closing


@njit(cache=True, nogil=True)
def _touching(i, dt32, x, y, vx, vy, radius, sx, sy, sr, table, slot):
    """Bit k set if table[slot, k] is a collider the path of ship `i` this tick may touch.

    A float32 pre-test of the swept circle, grown by _PRETEST_SLACK so it can only let extra
    colliders through to the exact float64 test, never drop one. Every slot of the row is
    tested, padding included, and the conditions are combined without branches: most cells
    list one or two colliders, and data-dependent branches per ship mispredict (2x slower).
    """
    width = table.shape[1]
    if width > 63:  # a pathological cell: let the exact test see every collider
        return np.int64(-1)
    px32 = x[i]
    py32 = y[i]
    dx32 = vx[i] * dt32  # the path this tick
    dy32 = vy[i] * dt32
    mask = np.int64(0)
    for k in range(width):
        j = table[slot, k]
        valid = j >= 0  # rows are -1 padded after their colliders
        j = j if valid else 0
        ex = px32 - sx[j]
        ey = py32 - sy[j]
        reach32 = radius[i] + sr[j]
        reach32 = reach32 + _PRETEST_SLACK
        reach32 = reach32 * reach32
        end = ex * ex + ey * ey - reach32  # < 0: ends inside
        fx32 = ex - dx32
        fy32 = ey - dy32
        start = fx32 * fx32 + fy32 * fy32 - reach32  # < 0: starts inside
        b32 = fx32 * dx32 + fy32 * dy32
        a32 = dx32 * dx32 + dy32 * dy32
        # Passes through without stopping inside: closest approach within the path and
        # nearer than the radius.
        through = (b32 < _ZERO) & (-b32 < a32) & (b32 * b32 > a32 * start)
        touch = valid & ((start < _ZERO) | (end < _ZERO) | through)
        mask |= np.int64(touch) << k
    return mask


@njit(cache=True, nogil=True)
def _collide_one(i, dt, x, y, vx, vy, radius, sx, sy, sr, table, slot, mask):
    """Exact swept test of ship `i` against the colliders of table row `slot` (its cell) that
    `mask` lets through; resolves the earliest hit and then the deepest overlap left. Returns
    (collider hit or -1, closing speed)."""
    px = np.float64(x[i])
    py = np.float64(y[i])
    hvx = np.float64(vx[i])
    hvy = np.float64(vy[i])
    dx = hvx * dt
    dy = hvy * dt
    r = np.float64(radius[i])
    best = -1
    best_t = math.inf
    best_inside = False
    for k in range(table.shape[1]):
        j = table[slot, k]
        if j < 0:  # rows are -1 padded after their colliders
            break
        if k < 64 and not (mask >> k) & 1:
            continue
        # Exact float64 test: segment p0 + t * d, t in [0, 1], against |p - c| = reach.
        reach = r + np.float64(sr[j])
        fx = px - dx - np.float64(sx[j])
        fy = py - dy - np.float64(sy[j])
        a = dx * dx + dy * dy
        b = fx * dx + fy * dy
        c = fx * fx + fy * fy - reach * reach
        inside = c < 0
        disc = b * b - a * c
        t = math.inf
        if a > 0 and disc >= 0 and b < 0:
            t = (-b - math.sqrt(disc)) / a
        if inside:
            t = 0.0
        if (inside or t <= 1.0) and t < best_t:  # ties: the lower collider index
            best = j
            best_t = t
            best_inside = inside
    if best < 0:
        return -1, 0.0
    # Where the centre touched the surface: p1 if it started inside, else p0 + t * d.
    qx = px if best_inside else px - dx * (1.0 - best_t)
    qy = py if best_inside else py - dy * (1.0 - best_t)
    nx, ny, ox, oy = _push_out(
        qx, qy, np.float64(sx[best]), np.float64(sy[best]), r + np.float64(sr[best]), -hvx, -hvy
    )
    hvx, hvy, closing = _bounce(hvx, hvy, nx, ny)
    # One discrete pass against every collider listed (rocks may touch): out of the deepest.
    deepest = -1
    depth = 0.0
    for k in range(table.shape[1]):
        j = table[slot, k]
        if j < 0:
            break
        ex64 = ox - np.float64(sx[j])
        ey64 = oy - np.float64(sy[j])
        d = (r + np.float64(sr[j])) - math.sqrt(ex64 * ex64 + ey64 * ey64)
        if d > 0 and (deepest < 0 or d > depth):
            deepest = j
            depth = d
    if deepest >= 0:
        mx, my, ox, oy = _push_out(
            ox,
            oy,
            np.float64(sx[deepest]),
            np.float64(sy[deepest]),
            r + np.float64(sr[deepest]),
            -hvx,
            -hvy,
        )
        hvx, hvy, _ = _bounce(hvx, hvy, mx, my)
    x[i] = ox
    y[i] = oy
    vx[i] = hvx
    vy[i] = hvy
    return best, closing


@njit(
    "int64(int64, float32, float64, float32, float32, uint8[::1], uint8[::1], float32[::1],"
    " float32[::1], float32[::1], float32[::1], float32[::1], int32[::1], float32[::1],"
    " float32[::1], float32[::1], float32, float32, float32, int64, int64, int32[::1],"
    " int32[:, ::1], int64[::1], int32[::1], int64[::1], int32[::1], float64[::1], bool_[::1])",
    cache=True,
    nogil=True,
)
def move_ships(
    n, dt32, dt, limit2, boundary_push, flags, kind, x, y, vx, vy, radius, contact,
    sx, sy, sr, inv, off_x, off_y, nx_cells, ny_cells, slot_of, table,
    near, near_slot, hit_rows, hit_static, hit_speed, hit_new,
):  # fmt: skip
    """Integrate, collide with statics, track contacts and apply the soft boundary.

    Ships do not interact in these stages, so each stage is a loop over ships and the result
    is exactly the stage-by-stage one. The loops are kept small and separate (the rare,
    long collision code in the integration loop cost it 60 % in register spills): the first
    lists the ships in a cell with colliders (`near`, `near_slot`: scratch of length n), the
    second resolves only those. Ships that hit a collider are written to the hit_* arrays in
    row order (collider, closing speed, new contact?); returns their number.
    """
    # 1. Integrate (a loop LLVM vectorises), then list the movable ships standing in a raster
    # cell that lists colliders.
    for i in range(n):
        x[i] = x[i] + vx[i] * dt32
        y[i] = y[i] + vy[i] * dt32
    listed = 0
    if sx.size > 0:
        hi_x = np.float32(nx_cells + 1)
        hi_y = np.float32(ny_cells + 1)
        stride = ny_cells + 2
        for i in range(n):
            # The raster cell, clamped with comparisons (numba's NaN-aware min/max cost 2.5x);
            # non-negative, so truncation is floor. Points outside the statics' box clamp onto
            # the raster's empty border ring.
            t = x[i] * inv + off_x
            t = hi_x if t > hi_x else (_ZERO if t < _ZERO else t)
            key = np.int64(np.int32(t)) * stride
            t = y[i] * inv + off_y
            t = hi_y if t > hi_y else (_ZERO if t < _ZERO else t)
            key += np.int32(t)
            slot = slot_of[key]
            near[listed] = i
            near_slot[listed] = slot
            # Branch-free append: whether a ship is listed is a coin flip per ship.
            listed += (slot != 0) & ((flags[i] & DOCKED) == 0) & (kind[i] == KIND_SHIP)
    # 2. The cheap pre-test for every listed ship, then the exact test and resolution for the
    # few whose path comes near a collider (rows ascending, so the hits are too).
    hits = 0
    for m in range(listed):
        i = near[m]
        slot = near_slot[m]
        mask = _touching(i, dt32, x, y, vx, vy, radius, sx, sy, sr, table, slot)
        if mask == 0:
            continue
        hit, closing = _collide_one(i, dt, x, y, vx, vy, radius, sx, sy, sr, table, slot, mask)
        if hit >= 0:
            hit_rows[hits] = i
            hit_static[hits] = hit
            hit_speed[hits] = -closing
            hit_new[hits] = contact[i] != hit
            hits += 1
    # 3. Contacts and the boundary, over final positions.
    for i in range(n):
        # A ship keeps the contact it had while within CONTACT_SLOP of that collider, so
        # pressing against a rock raises one Collided, not one per tick.
        before = contact[i]
        if before != NO_CONTACT:
            cx = np.float64(x[i]) - np.float64(sx[before])
            cy = np.float64(y[i]) - np.float64(sy[before])
            reach = np.float64(radius[i] + sr[before] + _SLOP)
            if cx * cx + cy * cy > reach * reach:
                contact[i] = NO_CONTACT
        # Soft wall: lose some outward speed and gain a fixed inward push per tick.
        bx = x[i]
        by = y[i]
        r2 = bx * bx + by * by
        if r2 > limit2 and (flags[i] & DOCKED) == 0:
            r = np.float32(math.sqrt(r2))
            ux = bx / r
            uy = by / r
            bvx = vx[i]
            bvy = vy[i]
            outward = bvx * ux + bvy * uy
            if outward < _ZERO:
                outward = _ZERO
            push = outward * _DAMPING + boundary_push
            vx[i] = bvx - ux * push
            vy[i] = bvy - uy * push
    # 4. This tick's hits are the ships' contacts now, whatever step 3 decided.
    for h in range(hits):
        contact[hit_rows[h]] = hit_static[h]
    return hits


COMPILE_SECONDS: Final = time.perf_counter() - _started
"""Seconds this module's import spent compiling (or loading cached) kernels."""


def warm_up() -> float:
    """Make sure every simulation kernel is compiled; returns the seconds that took.

    Importing `callister.sim` already compiles them (explicit signatures, eager), so this costs
    nothing at run time; a server calls it at start-up to make that explicit and to log the
    figure (the first run on a machine compiles for a few seconds, later runs load the on-disk
    cache in well under a second).
    """
    return COMPILE_SECONDS
