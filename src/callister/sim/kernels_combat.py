"""Compiled loops (numba) for combat: firing, shells and missiles, station defences, regeneration.

The same rules as kernels.py: explicit signatures compiled eagerly at import and cached on disk
(``cache=True``), ``nogil``, no fastmath, no parallel reductions, so the same inputs give the
same results on every run. Geometry is float64; the entity columns stay float32 and are
rounded once when written back.

Determinism inside a loop: fires are resolved in arrival order and shells in id order (the
callers sort); where a loop picks one of several candidates (the first ship on a beam or a
shell's path) ties go to the lower entity id, so the answer never depends on row layout.

Two grids serve the queries:
- the static line-of-fire grid (`StaticColliders.los`): every static collider listed in each
  coarse cell its bounding box touches; a segment is cut into pieces no longer than a cell
  and each piece tests the colliders listed in the cells of its bounding box;
- the ship grid (`build_ship_grid`): a counting sort of the live, undocked ships into cells
  over their own bounding box, rebuilt when a stage needs it (one pass over the rows).
"""

from __future__ import annotations

import math
import time
from typing import Final

import numpy as np
from numba import njit, types

from callister.sim.entities import (
    CRIMINAL,
    DOCKED,
    FIRING,
    KIND_MISSILE,
    KIND_PROJECTILE,
    KIND_SHIP,
    SHIELD_HIT,
    STATION_WEAPON,
)
from callister.sim.rules import FALLOFF_FLOOR, MISSILE_FUSE, SHOT_RADIUS
from callister.sim.weapons import HITSCAN, MISSILE, PROJECTILE

_started = time.perf_counter()

# Result codes of `resolve_fires` (combat.py maps them to ErrorCodes).
FIRE_OK: Final = 0
FIRE_DESTROYED: Final = 1
FIRE_DOCKED: Final = 2
FIRE_BAD_SLOT: Final = 3
FIRE_COOLDOWN: Final = 4
FIRE_NO_AMMO: Final = 5
FIRE_NO_ENERGY: Final = 6
FIRE_NO_TARGET: Final = 7
FIRE_PVP_OFF: Final = 8
FIRE_OUT_OF_RANGE: Final = 9
FIRE_OUT_OF_ARC: Final = 10
FIRE_NO_LINE_OF_FIRE: Final = 11
FIRE_NO_IDS: Final = 12

TARGET_NONE: Final = -1  # `Fire.target` was 0: straight ahead
TARGET_UNKNOWN: Final = -2  # the target id is not in the zone

# Fields of the ship grid's `meta` array (float64).
GRID_X0: Final = 0
GRID_Y0: Final = 1
GRID_INV: Final = 2
GRID_NX: Final = 3
GRID_NY: Final = 4
GRID_MAX_R: Final = 5
GRID_MAX_V: Final = 6
GRID_META: Final = 7

_INF: Final = math.inf
_NOT_CRIMINAL: Final = np.uint8(0xFF & ~CRIMINAL)
_PAD: Final = 1e-6  # cells of padding on query boxes against rounding in the cell arithmetic

# numba types for the signatures
_i64 = types.int64
_f32 = types.float32
_f64 = types.float64
_b1 = types.boolean
_A_u8 = types.uint8[::1]
_A_i8 = types.int8[::1]
_A_i16 = types.int16[::1]
_A_i32 = types.int32[::1]
_A_i64 = types.int64[::1]
_A_u64 = types.uint64[::1]
_A_f32 = types.float32[::1]
_A_f64 = types.float64[::1]
_A_b1 = types.boolean[::1]
_M_i16 = types.int16[:, ::1]
_M_i64 = types.int64[:, ::1]
_M_i32 = types.int32[:, ::1]


@njit(cache=True, nogil=True)
def _span(lo, hi, origin, inv, cells):
    """Cells [a, b] a coordinate interval touches, clamped; a > b when it misses the grid."""
    a = math.floor((lo - origin) * inv - _PAD)
    b = math.floor((hi - origin) * inv + _PAD)
    if b < 0 or a > cells - 1:
        return 1, 0
    if a < 0:
        a = 0
    if b > cells - 1:
        b = cells - 1
    return a, b


@njit(cache=True, nogil=True)
def _wrap(a):
    """`a` radians wrapped into [-pi, pi)."""
    two_pi = 2.0 * math.pi
    return a - two_pi * math.floor((a + math.pi) / two_pi)


@njit(cache=True, nogil=True)
def _segment_circle(x0, y0, dx, dy, cx, cy, r):
    """First t in [0, 1] at which p0 + t d is within r of c (0 if p0 already is), else inf."""
    fx = x0 - cx
    fy = y0 - cy
    c = fx * fx + fy * fy - r * r
    if c <= 0.0:
        return 0.0
    a = dx * dx + dy * dy
    if a <= 0.0:
        return _INF
    b = fx * dx + fy * dy
    if b >= 0.0:
        return _INF
    disc = b * b - a * c
    if disc < 0.0:
        return _INF
    t = (-b - math.sqrt(disc)) / a
    return t if t <= 1.0 else _INF


@njit(cache=True, nogil=True)
def _swept_hit(p0x, p0y, p1x, p1y, sx, sy, svx, svy, reach, dt):
    """First t in [0, 1] at which a shot flying p0 -> p1 this tick comes within `reach` of a
    ship now at (sx, sy) that moved at (svx, svy) over the same tick, else inf. Worked out in
    the ship's frame, so a fast ship cannot slip between the shot's two positions."""
    s1x = np.float64(sx)
    s1y = np.float64(sy)
    d0x = p0x - (s1x - np.float64(svx) * dt)
    d0y = p0y - (s1y - np.float64(svy) * dt)
    d1x = p1x - s1x
    d1y = p1y - s1y
    return _segment_circle(d0x, d0y, d1x - d0x, d1y - d0y, 0.0, 0.0, reach)


@njit(cache=True, nogil=True)
def static_hit(x0, y0, x1, y1, sx, sy, sr, gx0, gy0, ginv, gnx, gny, gstart, gitems):
    """(t, collider): the first static collider the segment p0 -> p1 enters (t in [0, 1] along
    it; 0 if p0 is inside one), or (inf, -1). Ties go to the lower collider index."""
    best_t = _INF
    best = -1
    if gnx == 0:
        return best_t, best
    dx = x1 - x0
    dy = y1 - y0
    length = math.sqrt(dx * dx + dy * dy)
    pieces = int(length * ginv) + 1
    for p in range(pieces):
        ta = p / pieces
        tb = (p + 1) / pieces
        ax = x0 + dx * ta
        bx = x0 + dx * tb
        ay = y0 + dy * ta
        by = y0 + dy * tb
        cx0, cx1 = _span(min(ax, bx), max(ax, bx), gx0, ginv, gnx)
        cy0, cy1 = _span(min(ay, by), max(ay, by), gy0, ginv, gny)
        for cx in range(cx0, cx1 + 1):
            for cy in range(cy0, cy1 + 1):
                cell = cx * gny + cy
                for k in range(gstart[cell], gstart[cell + 1]):
                    j = gitems[k]
                    t = _segment_circle(
                        x0, y0, dx, dy, np.float64(sx[j]), np.float64(sy[j]), np.float64(sr[j])
                    )
                    if t < best_t or (t == best_t and t < _INF and j < best):
                        best_t = t
                        best = j
    return best_t, best


@njit(
    types.void(
        _A_f32, _A_f32, _A_f32, _f64, _f64, _f64, _i64, _i64, _A_i32, _A_i32, _A_f64, _A_f64,
        _A_f64, _A_f64, _A_f64, _A_i64,
    ),
    cache=True,
    nogil=True,
)  # fmt: skip
def first_static_hits(
    sx, sy, sr, gx0, gy0, ginv, gnx, gny, gstart, gitems, x0, y0, x1, y1, out_t, out_j
):  # fmt: skip
    """`static_hit` for each segment (x0[k], y0[k]) -> (x1[k], y1[k])."""
    for k in range(x0.size):
        t, j = static_hit(
            x0[k], y0[k], x1[k], y1[k], sx, sy, sr, gx0, gy0, ginv, gnx, gny, gstart, gitems
        )
        out_t[k] = t
        out_j[k] = j


@njit(
    _i64(
        _i64, _A_u8, _A_u8, _A_f32, _A_f32, _A_f32, _A_f32, _A_f32, _A_f32, _f64, _i64,
        _A_i32, _A_i32, _A_i32, _A_f64,
    ),
    cache=True,
    nogil=True,
)  # fmt: skip
def build_ship_grid(n, kind, flags, hull_hp, x, y, vx, vy, radius, cell, max_cells, cell_of,
                    start, rows, meta):  # fmt: skip
    """Counting-sort the live, undocked ships (hull > 0) into square cells of side `cell` (grown
    until the grid has at most `max_cells` cells) over their bounding box.

    Writes `start` (len >= max_cells + 1: rows of cell c are rows[start[c]:start[c + 1]],
    ascending), `rows`, and `meta` (GRID_* fields: origin, 1/cell, nx, ny, the largest ship
    radius and speed). `cell_of` is scratch of len >= n. Returns the number of ships listed.
    """
    m = 0
    minx = _INF
    miny = _INF
    maxx = -_INF
    maxy = -_INF
    max_r = 0.0
    max_v2 = 0.0
    for i in range(n):
        if kind[i] != KIND_SHIP or (flags[i] & DOCKED) != 0 or hull_hp[i] <= 0:
            cell_of[i] = -1
            continue
        px = np.float64(x[i])
        py = np.float64(y[i])
        minx = min(minx, px)
        maxx = max(maxx, px)
        miny = min(miny, py)
        maxy = max(maxy, py)
        max_r = max(max_r, np.float64(radius[i]))
        v2 = np.float64(vx[i]) ** 2 + np.float64(vy[i]) ** 2
        max_v2 = max(max_v2, v2)
        cell_of[i] = 0
        m += 1
    meta[GRID_MAX_R] = max_r
    meta[GRID_MAX_V] = math.sqrt(max_v2)
    if m == 0:
        meta[GRID_X0] = 0.0
        meta[GRID_Y0] = 0.0
        meta[GRID_INV] = 1.0 / cell
        meta[GRID_NX] = 0.0
        meta[GRID_NY] = 0.0
        start[0] = 0
        return 0
    cs = cell
    nx = int((maxx - minx) / cs) + 1
    ny = int((maxy - miny) / cs) + 1
    while nx * ny > max_cells:
        cs *= 2.0
        nx = int((maxx - minx) / cs) + 1
        ny = int((maxy - miny) / cs) + 1
    inv = 1.0 / cs
    ncells = nx * ny
    for c in range(ncells + 1):
        start[c] = 0
    for i in range(n):
        if cell_of[i] < 0:
            continue
        kx = int((np.float64(x[i]) - minx) * inv)
        ky = int((np.float64(y[i]) - miny) * inv)
        kx = min(kx, nx - 1)
        ky = min(ky, ny - 1)
        c = kx * ny + ky
        cell_of[i] = c
        start[c] += 1
    total = 0
    for c in range(ncells):
        count = start[c]
        start[c] = total
        total += count
    start[ncells] = total
    for i in range(n):
        c = cell_of[i]
        if c < 0:
            continue
        rows[start[c]] = i
        start[c] += 1
    # start[c] is now the end of cell c, i.e. the start of c + 1: shift back by one.
    for c in range(ncells, 0, -1):
        start[c] = start[c - 1]
    start[0] = 0
    meta[GRID_X0] = minx
    meta[GRID_Y0] = miny
    meta[GRID_INV] = inv
    meta[GRID_NX] = nx
    meta[GRID_NY] = ny
    return m


@njit(cache=True, nogil=True)
def _fair(attacker_owner, victim_owner, pvp):
    """May this owner's weapons harm that owner's ship? NPCs (owner <= 0) always may and may
    always be harmed; players harm other players only when the world allows PvP."""
    return pvp or attacker_owner <= 0 or victim_owner <= 0 or attacker_owner == victim_owner


@njit(cache=True, nogil=True)
def _ray_ships(px, py, ux, uy, length, shooter, pvp, ids, owner, x, y, radius, hull_hp,
               grid_start, grid_rows, meta):  # fmt: skip
    """(row, t): the first ship a ray from p along unit u meets within `length` (t = distance
    to its hull), skipping the shooter, the dead and ships it may not harm; (-1, inf) if none."""
    best = -1
    best_t = _INF
    nx = int(meta[GRID_NX])
    if nx == 0:
        return best, best_t
    ny = int(meta[GRID_NY])
    x0 = meta[GRID_X0]
    y0 = meta[GRID_Y0]
    inv = meta[GRID_INV]
    pad = meta[GRID_MAX_R]
    pieces = int(length * inv) + 1
    shooter_owner = owner[shooter]
    for p in range(pieces):
        ta = length * p / pieces
        tb = length * (p + 1) / pieces
        ax = px + ux * ta
        bx = px + ux * tb
        ay = py + uy * ta
        by = py + uy * tb
        cx0, cx1 = _span(min(ax, bx) - pad, max(ax, bx) + pad, x0, inv, nx)
        cy0, cy1 = _span(min(ay, by) - pad, max(ay, by) + pad, y0, inv, ny)
        for cx in range(cx0, cx1 + 1):
            for cy in range(cy0, cy1 + 1):
                cell = cx * ny + cy
                for k in range(grid_start[cell], grid_start[cell + 1]):
                    r = grid_rows[k]
                    if r == shooter or hull_hp[r] <= 0:
                        continue
                    if not _fair(shooter_owner, owner[r], pvp):
                        continue
                    fx = px - np.float64(x[r])
                    fy = py - np.float64(y[r])
                    rr = np.float64(radius[r])
                    c = fx * fx + fy * fy - rr * rr
                    if c <= 0.0:
                        t = 0.0
                    else:
                        b = fx * ux + fy * uy
                        if b >= 0.0:
                            continue
                        disc = b * b - c
                        if disc < 0.0:
                            continue
                        t = -b - math.sqrt(disc)
                    if t > length:
                        continue
                    if t < best_t or (t == best_t and ids[r] < ids[best]):
                        best = r
                        best_t = t
    return best, best_t


@njit(cache=True, nogil=True)
def _apply_damage(v, amount, by_id, by_owner, weapon, tick, shield_delay, shield, hull_hp, flags,
                  shield_at, last_by, last_by_owner, last_weapon):  # fmt: skip
    """Shield first, then hull; returns (shield damage, hull damage). Marks SHIELD_HIT, restarts
    the shield's regeneration delay and remembers the attacker for `Destroyed`."""
    s = np.float64(shield[v])
    sd = amount if amount < s else s
    hd = amount - sd
    shield[v] = np.float32(s - sd)
    hull_hp[v] = np.float32(np.float64(hull_hp[v]) - hd)
    flags[v] |= SHIELD_HIT
    shield_at[v] = tick + shield_delay
    last_by[v] = by_id
    last_by_owner[v] = by_owner
    last_weapon[v] = weapon
    return sd, hd


@njit(cache=True, nogil=True)
def _crime(victim, attacker, tick, crime_ticks, secure_r2, lx, ly, lidx, flags, criminal_until,
           x, y):  # fmt: skip
    """If hitting `victim` was a crime (it is not criminal and lies within the secure radius of
    a lawful station), flag `attacker` CRIMINAL for crime_ticks more. Returns the nearest such
    station's index when the flag is newly raised, else -1."""
    if attacker < 0 or (flags[victim] & CRIMINAL) != 0:
        return -1
    vx = np.float64(x[victim])
    vy = np.float64(y[victim])
    station = -1
    best = _INF
    for s in range(lx.size):
        dx = vx - lx[s]
        dy = vy - ly[s]
        d2 = dx * dx + dy * dy
        if d2 <= secure_r2 and d2 < best:
            best = d2
            station = lidx[s]
    if station < 0:
        return -1
    fresh = (flags[attacker] & CRIMINAL) == 0
    flags[attacker] |= CRIMINAL
    criminal_until[attacker] = tick + crime_ticks
    return station if fresh else -1


@njit(cache=True, nogil=True)
def _falloff(distance, weapon_range, falloff):
    """Damage factor at `distance`: 1 out to falloff x range, then linear to FALLOFF_FLOOR."""
    full = falloff * weapon_range
    if distance <= full:
        return 1.0
    span = weapon_range - full
    if span <= 0.0:
        return FALLOFF_FLOOR
    f = 1.0 - (1.0 - FALLOFF_FLOOR) * (distance - full) / span
    return f if f > FALLOFF_FLOOR else FALLOFF_FLOOR


@njit(cache=True, nogil=True)
def _lead(rx, ry, wx, wy, speed):
    """Time t at which a shot of `speed` (relative to the shooter) meets a target at relative
    position r moving at relative velocity w; the direct flight time if it never can."""
    a = wx * wx + wy * wy - speed * speed
    b = 2.0 * (rx * wx + ry * wy)
    c = rx * rx + ry * ry
    direct = math.sqrt(c) / speed
    if abs(a) < 1e-9:
        if b < 0.0:
            return -c / b
        return direct
    disc = b * b - 4.0 * a * c
    if disc < 0.0:
        return direct
    root = math.sqrt(disc)
    t1 = (-b - root) / (2.0 * a)
    t2 = (-b + root) / (2.0 * a)
    lo = min(t1, t2)
    hi = max(t1, t2)
    if lo > 0.0:
        return lo
    if hi > 0.0:
        return hi
    return direct


@njit(
    _i64(
        # fires
        _A_i64, _A_i64, _A_i64,
        # entity columns
        _A_u64, _A_i64, _A_u8, _A_u8, _A_f32, _A_f32, _A_f32, _A_f32, _A_f32, _A_f32,
        _A_f32, _A_f32, _A_f32, _A_u8, _M_i16, _M_i64, _M_i32, _A_i64, _A_i64, _A_u64,
        _A_i64, _A_i16,
        # weapons
        _A_i8, _A_f64, _A_f64, _A_i64, _A_f64, _A_i32, _A_f64, _A_f64, _A_f64, _A_f64,
        # statics and their line-of-fire grid
        _A_f32, _A_f32, _A_f32, _f64, _f64, _f64, _i64, _i64, _A_i32, _A_i32,
        # ship grid
        _A_i32, _A_i32, _A_f64,
        # lawful stations
        _A_f64, _A_f64, _A_i32,
        # rules
        _i64, _b1, _f64, _i64, _i64, _f64, _i64,
        # outputs
        _A_i8, _A_i64, _A_f64, _A_f64, _A_f64, _A_f64, _A_i32, _A_f64, _A_f64, _A_f64,
        _A_f64, _A_f64, _A_i64, _A_f64,
    ),
    cache=True,
    nogil=True,
)  # fmt: skip
def resolve_fires(
    f_row, f_slot, f_trow,
    ids, owner, kind, flags, x, y, vx, vy, angle, radius, hull_hp, shield, energy, slots,
    weapon, ready, ammo, shield_at, criminal_until, last_by, last_by_owner, last_weapon,
    w_kind, w_damage, w_range, w_cooldown, w_energy, w_magazine, w_speed, w_turn, w_arc_cos,
    w_falloff,
    sx, sy, sr, gx0, gy0, ginv, gnx, gny, gstart, gitems,
    grid_start, grid_rows, grid_meta,
    lx, ly, lidx,
    tick, pvp, damage_mult, shield_delay, crime_ticks, secure_r2, ids_free,
    code, victim, tx, ty, shield_dmg, hull_dmg, crime, spawn_x, spawn_y, spawn_vx, spawn_vy,
    spawn_angle, spawn_weapon, spawn_damage,
):  # fmt: skip
    """Check and carry out each Fire in arrival order (one row per fire in the f_* arrays:
    shooter row, slot, target row or TARGET_NONE / TARGET_UNKNOWN).

    Refusals are written to `code` (FIRE_*), in the order the checks run: shooter destroyed,
    docked, bad slot, cooldown, ammunition, energy, target (unknown, itself, not a live
    undocked ship, or none for a missile), PvP, range (to the target's hull), arc, line of
    fire (to the target's hull, against every static collider), and, for shells and missiles,
    a free id. An accepted shot spends energy and a round, restarts the slot's cooldown and
    sets FIRING. A hitscan beam hits its target at once (or, fired straight ahead, the first
    ship it meets before a static collider within range): damage with falloff, then shield
    before hull, and the law (`_crime`). Shells and missiles are described in the spawn_*
    arrays for the caller to add. Returns the number of shells and missiles to spawn.
    """
    spawned = 0
    for k in range(f_row.size):
        i = f_row[k]
        s = f_slot[k]
        t = f_trow[k]
        victim[k] = -1
        crime[k] = -1
        spawn_weapon[k] = -1
        if hull_hp[i] <= 0:
            code[k] = FIRE_DESTROYED
            continue
        if (flags[i] & DOCKED) != 0:
            code[k] = FIRE_DOCKED
            continue
        if s < 0 or s >= slots[i] or weapon[i, s] < 0:
            code[k] = FIRE_BAD_SLOT
            continue
        w = weapon[i, s]
        if tick < ready[i, s]:
            code[k] = FIRE_COOLDOWN
            continue
        magazine = w_magazine[w]
        if magazine > 0 and ammo[i, s] <= 0:
            code[k] = FIRE_NO_AMMO
            continue
        if np.float64(energy[i]) < w_energy[w]:
            code[k] = FIRE_NO_ENERGY
            continue
        wk = w_kind[w]
        if t == TARGET_UNKNOWN or (t == TARGET_NONE and wk == MISSILE):
            code[k] = FIRE_NO_TARGET
            continue
        if t >= 0 and (
            t == i or kind[t] != KIND_SHIP or (flags[t] & DOCKED) != 0 or hull_hp[t] <= 0
        ):
            code[k] = FIRE_NO_TARGET
            continue
        if t >= 0 and not _fair(owner[i], owner[t], pvp):
            code[k] = FIRE_PVP_OFF
            continue
        px = np.float64(x[i])
        py = np.float64(y[i])
        a = np.float64(angle[i])
        nx_ = math.cos(a)
        ny_ = math.sin(a)
        reach = 0.0
        dist = 0.0
        if t >= 0:
            dx = np.float64(x[t]) - px
            dy = np.float64(y[t]) - py
            dist = math.sqrt(dx * dx + dy * dy)
            reach = dist - np.float64(radius[t])
            if reach < 0.0:
                reach = 0.0
            if reach > w_range[w]:
                code[k] = FIRE_OUT_OF_RANGE
                continue
            if dist > 0.0 and (dx * nx_ + dy * ny_) / dist < w_arc_cos[w] - 1e-12:
                code[k] = FIRE_OUT_OF_ARC
                continue
            if dist > 0.0:
                ts, _ = static_hit(
                    px, py, px + dx * (reach / dist), py + dy * (reach / dist),
                    sx, sy, sr, gx0, gy0, ginv, gnx, gny, gstart, gitems,
                )  # fmt: skip
                if ts <= 1.0:
                    code[k] = FIRE_NO_LINE_OF_FIRE
                    continue
        if wk != HITSCAN and spawned >= ids_free:
            code[k] = FIRE_NO_IDS
            continue
        # -- the shot is fired ----------------------------------------------------------------
        code[k] = FIRE_OK
        ready[i, s] = tick + w_cooldown[w]
        energy[i] = np.float32(np.float64(energy[i]) - w_energy[w])
        if magazine > 0:
            ammo[i, s] -= 1
        flags[i] |= FIRING
        if wk == HITSCAN:
            hit = -1
            travel = 0.0
            if t >= 0:
                hit = t
                travel = reach
                tx[k] = np.float64(x[t])
                ty[k] = np.float64(y[t])
            else:
                length = w_range[w]
                ex = px + nx_ * length
                ey = py + ny_ * length
                ts, _ = static_hit(px, py, ex, ey, sx, sy, sr, gx0, gy0, ginv, gnx, gny,
                                   gstart, gitems)  # fmt: skip
                if ts <= 1.0:
                    length = length * ts
                r, rt = _ray_ships(px, py, nx_, ny_, length, i, pvp, ids, owner, x, y, radius,
                                   hull_hp, grid_start, grid_rows, grid_meta)  # fmt: skip
                if r >= 0:
                    hit = r
                    travel = rt
                    length = rt
                tx[k] = px + nx_ * length
                ty[k] = py + ny_ * length
            if hit >= 0:
                amount = w_damage[w] * damage_mult * _falloff(travel, w_range[w], w_falloff[w])
                sd, hd = _apply_damage(
                    hit, amount, ids[i], owner[i], w, tick, shield_delay, shield, hull_hp,
                    flags, shield_at, last_by, last_by_owner, last_weapon,
                )  # fmt: skip
                victim[k] = hit
                shield_dmg[k] = sd
                hull_dmg[k] = hd
                crime[k] = _crime(hit, i, tick, crime_ticks, secure_r2, lx, ly, lidx, flags,
                                  criminal_until, x, y)  # fmt: skip
            continue
        # Shell or missile: leaves the nose-side hull along its launch direction.
        speed = w_speed[w]
        svx = np.float64(vx[i])
        svy = np.float64(vy[i])
        if wk == PROJECTILE:
            if t >= 0:
                rx = np.float64(x[t]) - px
                ry = np.float64(y[t]) - py
                wx = np.float64(vx[t]) - svx
                wy = np.float64(vy[t]) - svy
                lead = _lead(rx, ry, wx, wy, speed)
                ax = rx + wx * lead
                ay = ry + wy * lead
                norm = math.sqrt(ax * ax + ay * ay)
                if norm > 0.0:
                    ux = ax / norm
                    uy = ay / norm
                else:
                    ux = nx_
                    uy = ny_
                tx[k] = np.float64(x[t]) + np.float64(vx[t]) * lead
                ty[k] = np.float64(y[t]) + np.float64(vy[t]) * lead
            else:
                ux = nx_
                uy = ny_
                tx[k] = px + ux * w_range[w]
                ty[k] = py + uy * w_range[w]
            # a shell carries its gun's velocity
            spawn_vx[k] = svx + ux * speed
            spawn_vy[k] = svy + uy * speed
        else:
            ux = nx_
            uy = ny_
            tx[k] = np.float64(x[t])
            ty[k] = np.float64(y[t])
            # a missile flies at its own speed and steers (kernel `fly_shots`)
            spawn_vx[k] = ux * speed
            spawn_vy[k] = uy * speed
        out = np.float64(radius[i]) + SHOT_RADIUS
        spawn_x[k] = px + ux * out
        spawn_y[k] = py + uy * out
        spawn_angle[k] = math.atan2(uy, ux)
        spawn_weapon[k] = w
        spawn_damage[k] = w_damage[w] * damage_mult
        spawned += 1
    return spawned


@njit(
    _i64(
        _f64, _i64, _b1, _i64, _i64, _f64,
        _A_i64, _A_i64, _A_i64,
        _A_u64, _A_i64, _A_u8, _A_u8, _A_f32, _A_f32, _A_f32, _A_f32, _A_f32, _A_f32,
        _A_f32, _A_f32, _A_f32, _A_f32, _A_i64, _A_i64, _A_u64, _A_i64, _A_i16, _A_u64,
        _A_i16, _A_f32, _A_i64,
        _A_f32, _A_f32, _A_f32, _f64, _f64, _f64, _i64, _i64, _A_i32, _A_i32,
        _A_i32, _A_i32, _A_f64,
        _A_f64, _A_f64, _A_i32,
        _A_b1, _A_i64, _A_i64, _A_f64, _A_f64, _A_i32,
    ),
    cache=True,
    nogil=True,
)  # fmt: skip
def fly_shots(
    dt, tick, pvp, shield_delay, crime_ticks, secure_r2,
    shot_rows, src_rows, tgt_rows,
    ids, owner, kind, flags, x, y, vx, vy, angle, radius,
    hull_hp, shield, max_speed, turn_rate, shield_at, criminal_until, last_by, last_by_owner,
    last_weapon, source, shot_weapon, damage, expires,
    sx, sy, sr, gx0, gy0, ginv, gnx, gny, gstart, gitems,
    grid_start, grid_rows, grid_meta,
    lx, ly, lidx,
    gone, hit_shot, hit_victim, hit_sd, hit_hd, hit_crime,
):  # fmt: skip
    """Resolve this tick's flight of every shell and missile (rows in id order; `src_rows` the
    row of each one's shooter or -1, `tgt_rows` each missile's target row or -1).

    The move stage already advanced them, so a shot swept p0 = p - v dt -> p this tick. A shell
    hits the first ship (other than its shooter, alive, one it may harm) its path met, the
    ship's own motion this tick taken into account, unless a static collider came first; a
    missile explodes when its path comes within MISSILE_FUSE of its target's hull. A shot that
    hit, met a static collider or reached its expiry tick is marked in `gone`. Surviving
    missiles then turn towards their target (leading it) by at most turn_rate x dt. Hits are
    written to the hit_* arrays in order; returns their number.
    """
    hits = 0
    nx = int(grid_meta[GRID_NX])
    ny = int(grid_meta[GRID_NY])
    g_x0 = grid_meta[GRID_X0]
    g_y0 = grid_meta[GRID_Y0]
    g_inv = grid_meta[GRID_INV]
    pad = grid_meta[GRID_MAX_R] + SHOT_RADIUS + grid_meta[GRID_MAX_V] * dt
    for m in range(shot_rows.size):
        p = shot_rows[m]
        gone[m] = False
        p1x = np.float64(x[p])
        p1y = np.float64(y[p])
        pvx = np.float64(vx[p])
        pvy = np.float64(vy[p])
        p0x = p1x - pvx * dt
        p0y = p1y - pvy * dt
        ts, _ = static_hit(p0x, p0y, p1x, p1y, sx, sy, sr, gx0, gy0, ginv, gnx, gny, gstart,
                           gitems)  # fmt: skip
        best = -1
        best_t = _INF
        if kind[p] == KIND_PROJECTILE:
            if nx > 0:
                cx0, cx1 = _span(min(p0x, p1x) - pad, max(p0x, p1x) + pad, g_x0, g_inv, nx)
                cy0, cy1 = _span(min(p0y, p1y) - pad, max(p0y, p1y) + pad, g_y0, g_inv, ny)
                for cx in range(cx0, cx1 + 1):
                    for cy in range(cy0, cy1 + 1):
                        cell = cx * ny + cy
                        for k in range(grid_start[cell], grid_start[cell + 1]):
                            r = grid_rows[k]
                            if ids[r] == source[p] or hull_hp[r] <= 0:
                                continue
                            if not _fair(owner[p], owner[r], pvp):
                                continue
                            th = _swept_hit(p0x, p0y, p1x, p1y, x[r], y[r], vx[r], vy[r],
                                            np.float64(radius[r]) + SHOT_RADIUS, dt)  # fmt: skip
                            if th < best_t or (th == best_t and th < _INF and ids[r] < ids[best]):
                                best = r
                                best_t = th
        elif kind[p] == KIND_MISSILE:
            r = tgt_rows[m]
            if r >= 0 and hull_hp[r] > 0 and (flags[r] & DOCKED) == 0 and kind[r] == KIND_SHIP:
                th = _swept_hit(p0x, p0y, p1x, p1y, x[r], y[r], vx[r], vy[r],
                                np.float64(radius[r]) + MISSILE_FUSE, dt)  # fmt: skip
                if th < _INF and _fair(owner[p], owner[r], pvp):
                    best = r
                    best_t = th
        if best >= 0 and best_t <= ts:
            sd, hd = _apply_damage(
                best, np.float64(damage[p]), source[p], owner[p], shot_weapon[p], tick,
                shield_delay, shield, hull_hp, flags, shield_at, last_by, last_by_owner,
                last_weapon,
            )  # fmt: skip
            hit_shot[hits] = p
            hit_victim[hits] = best
            hit_sd[hits] = sd
            hit_hd[hits] = hd
            hit_crime[hits] = _crime(best, src_rows[m], tick, crime_ticks, secure_r2, lx, ly,
                                     lidx, flags, criminal_until, x, y)  # fmt: skip
            hits += 1
            gone[m] = True
            continue
        if ts <= 1.0 or tick >= expires[p]:
            gone[m] = True
            continue
        if kind[p] == KIND_MISSILE:
            r = tgt_rows[m]
            if r >= 0 and hull_hp[r] > 0 and (flags[r] & DOCKED) == 0 and kind[r] == KIND_SHIP:
                speed = np.float64(max_speed[p])
                rx = np.float64(x[r]) - p1x
                ry = np.float64(y[r]) - p1y
                go = math.sqrt(rx * rx + ry * ry) / speed if speed > 0.0 else 0.0
                go = min(go, 2.0)
                aim_x = rx + np.float64(vx[r]) * go
                aim_y = ry + np.float64(vy[r]) * go
                want = math.atan2(aim_y, aim_x)
                a = np.float64(angle[p])
                diff = want - a
                diff = _wrap(diff)
                step = np.float64(turn_rate[p]) * dt
                if diff > step:
                    diff = step
                elif diff < -step:
                    diff = -step
                a = _wrap(a + diff)
                angle[p] = np.float32(a)
                vx[p] = np.float32(speed * math.cos(a))
                vy[p] = np.float32(speed * math.sin(a))
    return hits


@njit(
    _i64(
        _i64, _i64, _A_i64, _A_f64, _A_f64, _A_i32, _f64, _f64,
        _A_u8, _A_f32, _A_f32, _A_f32, _A_f32, _A_i64, _A_u64, _A_i64, _A_i16,
        _A_i64, _A_i32, _A_f64, _A_f64,
    ),
    cache=True,
    nogil=True,
)  # fmt: skip
def station_defence(tick, shield_delay, rows, lx, ly, lidx, range2, dps_dt, flags, x, y,
                    hull_hp, shield, shield_at, last_by, last_by_owner, last_weapon,
                    out_row, out_station, out_sd, out_hd):  # fmt: skip
    """Each lawful station hits each criminal, undocked, live ship (rows in id order) within
    DEFENCE_RANGE: stations in index order, `dps_dt` damage a tick. Writes (row, station,
    shield damage, hull damage) per hit; returns the number of hits."""
    hits = 0
    for m in range(rows.size):
        i = rows[m]
        for s in range(lx.size):
            if (flags[i] & (CRIMINAL | DOCKED)) != CRIMINAL or hull_hp[i] <= 0:
                break
            dx = np.float64(x[i]) - lx[s]
            dy = np.float64(y[i]) - ly[s]
            if dx * dx + dy * dy > range2:
                continue
            sd, hd = _apply_damage(i, dps_dt, np.uint64(0), np.int64(0), np.int16(STATION_WEAPON),
                                   tick, shield_delay, shield, hull_hp, flags, shield_at,
                                   last_by, last_by_owner, last_weapon)  # fmt: skip
            out_row[hits] = i
            out_station[hits] = lidx[s]
            out_sd[hits] = sd
            out_hd[hits] = hd
            hits += 1
    return hits


@njit(
    _i64(
        _i64, _f32, _i64, _A_u8, _A_f32, _A_f32, _A_f32, _A_f32, _A_f32, _A_f32,
        _A_i64, _A_i64,
    ),
    cache=True,
    nogil=True,
)  # fmt: skip
def regenerate(n, dt, tick, flags, energy, energy_max, energy_regen, shield, shield_max,
               shield_regen, shield_at, criminal_until):  # fmt: skip
    """Per ship: energy += regen x dt (capped); from `shield_at` on, the shield regains
    shield_regen x dt, paid point for point from energy; an expired CRIMINAL flag is cleared.
    Returns how many ships are still criminal.

    Branch-free (selects only, so LLVM vectorises it; this pass runs over every row every
    tick): other kinds have zero energy, shield and regeneration, so the same arithmetic
    leaves them unchanged (x + 0 == x).
    """
    criminals = 0
    for i in range(n):
        e = energy[i] + energy_regen[i] * dt
        e = energy_max[i] if e > energy_max[i] else e
        s = shield[i]
        gain = shield_regen[i] * dt
        room = shield_max[i] - s
        gain = room if gain > room else gain
        gain = e if gain > e else gain
        gain = gain if (tick >= shield_at[i]) & (gain > 0) else np.float32(0.0)
        shield[i] = s + gain
        energy[i] = e - gain
        f = flags[i]
        criminal = (f & CRIMINAL) != 0
        expired = criminal & (tick >= criminal_until[i])
        flags[i] = f & _NOT_CRIMINAL if expired else f
        criminals += criminal & (not expired)
    return criminals


COMPILE_SECONDS: Final = time.perf_counter() - _started
"""Seconds this module's import spent compiling (or loading cached) kernels."""

__all__ = [
    "FIRE_BAD_SLOT",
    "FIRE_COOLDOWN",
    "FIRE_DESTROYED",
    "FIRE_DOCKED",
    "FIRE_NO_AMMO",
    "FIRE_NO_ENERGY",
    "FIRE_NO_IDS",
    "FIRE_NO_LINE_OF_FIRE",
    "FIRE_NO_TARGET",
    "FIRE_OK",
    "FIRE_OUT_OF_ARC",
    "FIRE_OUT_OF_RANGE",
    "FIRE_PVP_OFF",
    "GRID_META",
    "build_ship_grid",
    "first_static_hits",
    "fly_shots",
    "regenerate",
    "resolve_fires",
    "station_defence",
]
