"""Compiled per-ship loops (numba) of the travel stage: the cruise drive and the autopilot.

The same rules as `kernels.py`: float64 arithmetic inside (float32 only where a column is
written), no fastmath and no parallel reductions, so the same inputs give the same state on
every run; explicit signatures compiled eagerly at import and cached on disk. Ships that
neither fly on autopilot nor cruise cost one comparison each.

What the loops decide (the rules are in `autopilot.py`'s docstring) comes back as events:
(row, code) pairs in row order, codes below; `autopilot.travel` turns them into event objects.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numba import njit

from callister.sim.entities import (
    AP_MAY_CRUISE,
    AP_OFF,
    AP_REACHED,
    AP_SHIP,
    CRUISE_OFF,
    CRUISE_ON,
    CRUISE_SPOOLING,
    DOCKED,
    FIRING,
    KIND_SHIP,
    SHIELD_HIT,
)

# Event codes written by `steer_travel`.
EV_ARRIVED: Final = 1
EV_OUT_OF_FUEL: Final = 2  # the autopilot gave up: the tank is empty
EV_SPOOLING: Final = 3  # the autopilot engaged cruise: spooling up
EV_CRUISING: Final = 4  # a spool-up finished: cruising
EV_DROP: Final = 16  # + a DROP_* reason: the cruise (or its spool-up) ended

# Why a cruise ended (EV_DROP + reason).
DROP_ARRIVAL: Final = 0
DROP_STAR: Final = 1
DROP_STATION: Final = 2
DROP_FIELD: Final = 3
DROP_SHIP: Final = 4
DROP_DAMAGE: Final = 5
DROP_FIRED: Final = 6
DROP_FUEL: Final = 7
DROP_BOUNDARY: Final = 8
DROP_MANUAL: Final = 9
DROP_DOCKED: Final = 10
DROP_REASONS: Final = (
    "arrival", "star", "station", "field", "ship", "damage", "fired", "fuel", "boundary",
    "manual", "docked",
)  # fmt: skip
"""Reason names by DROP_* value (the `cruise` event's `reason`)."""

# Route obstacles (`autopilot.TravelMap.what`): 0 star, 1 station, 2 field, so an obstacle's
# drop reason is 1 + what (DROP_STAR, DROP_STATION, DROP_FIELD).

_ALIGN: Final = math.cos(math.radians(25.0))  # thrust only within 25 degrees of the wanted heading
_SLOWING: Final = 0.85  # fraction of the ideal braking curve the autopilot flies
_WAYPOINT_OUT: Final = 1.1  # a route waypoint lies this far out from an obstacle's centre
_ARRIVAL_DROP_MARGIN: Final = 300.0  # m: extra room to brake after an arrival drop-out


@njit(
    "UniTuple(int64, 3)(int64, uint8[::1], uint8[::1], int32[::1], int64[::1], int64[::1])",
    cache=True,
    nogil=True,
)
def travel_scan(n, ap_kind, cruise, cruise_ticks, followers, cruisers):
    """Rows of ships following a ship (`followers`) and of ships whose cruise drive is on or
    spooling (`cruisers`); returns (followers, cruisers, ships with anything to do)."""
    nf = 0
    nc = 0
    busy = 0
    for i in range(n):
        k = ap_kind[i]
        c = cruise[i]
        followers[nf] = i
        nf += k == AP_SHIP
        cruisers[nc] = i
        nc += c != CRUISE_OFF
        busy += (k != AP_OFF) | (c != CRUISE_OFF) | (cruise_ticks[i] > 0)
    return nf, nc, busy


@njit(
    "void(int64, int64[::1], uint8[::1], uint8[::1], float32[::1], float32[::1], float32[::1],"
    " float32[::1], float64, bool_[::1])",
    cache=True,
    nogil=True,
)
def ships_closing(n, cruisers, kind, flags, x, y, vx, vy, reach, near):
    """near[c] = whether another undocked ship within `reach` of cruiser row c is closing on
    it (the range shrinking), for every row c in `cruisers`. Every ship against every
    cruiser: for the few cruisers a zone has, cheaper than updating a neighbour grid."""
    r2 = reach * reach
    for k in range(cruisers.size):
        c = cruisers[k]
        cx = np.float64(x[c])
        cy = np.float64(y[c])
        cvx = np.float64(vx[c])
        cvy = np.float64(vy[c])
        hit = False
        for i in range(n):
            dx = np.float64(x[i]) - cx
            dy = np.float64(y[i]) - cy
            if dx * dx + dy * dy > r2 or i == c:
                continue
            if kind[i] != KIND_SHIP or (flags[i] & DOCKED) != 0:
                continue
            if dx * (np.float64(vx[i]) - cvx) + dy * (np.float64(vy[i]) - cvy) < 0.0:
                hit = True
                break
        near[c] = hit


@njit(cache=True, nogil=True)
def _blocking(px, py, ax, ay, goal_x, goal_y, radius, infl, skip, skip2, ox, oy, orad):
    """The first obstacle (by distance along the path) the segment P -> aim passes through
    when grown by `infl` (and the radius it was tested with), or (-1, 0). Obstacles holding
    the goal are ignored; one holding the ship is tested with a radius just inside the ship's
    distance, so the ship still steers around the body it is next to."""
    dx = ax - px
    dy = ay - py
    length2 = dx * dx + dy * dy
    best = -1
    best_t = math.inf
    best_r = 0.0
    if length2 < 1.0:
        return best, best_r
    for j in range(ox.size):
        if j == skip or j == skip2:  # noqa: SIM109 - two int compares, no tuple in the loop
            continue
        cx = ox[j] - px
        cy = oy[j] - py
        t = (cx * dx + cy * dy) / length2
        if t <= 0.0:
            continue  # behind the ship (most obstacles): the cheapest test first
        reach = orad[j] + infl
        gx = goal_x - ox[j]
        gy = goal_y - oy[j]
        if gx * gx + gy * gy <= reach * reach:
            continue
        dist2 = cx * cx + cy * cy
        if dist2 <= reach * reach:
            reach = math.sqrt(dist2) * 0.97
            if reach < orad[j] + radius + 5.0:
                continue  # touching it already: nothing to steer around
        tt = t if t < 1.0 else 1.0
        qx = dx * tt - cx
        qy = dy * tt - cy
        if qx * qx + qy * qy >= reach * reach:
            continue
        if t < best_t:
            best = j
            best_t = t
            best_r = reach
    return best, best_r


@njit(cache=True, nogil=True)
def _detour(px, py, ax, ay, j, reach, ox, oy):
    """A waypoint past obstacle `j` (radius `reach`): the tangent point from P on the side the
    aim lies, pushed out by _WAYPOINT_OUT."""
    cx = ox[j] - px
    cy = oy[j] - py
    dist = math.sqrt(cx * cx + cy * cy)
    ux = cx / dist
    uy = cy / dist
    s = reach / dist
    s = 1.0 if s > 1.0 else s
    alpha = math.asin(s)
    cross = cx * (ay - py) - cy * (ax - px)
    if cross < 0.0:
        alpha = -alpha
    ca = math.cos(alpha)
    sa = math.sin(alpha)
    rx = ux * ca - uy * sa
    ry = ux * sa + uy * ca
    tl = math.sqrt(max(dist * dist - reach * reach, 0.0))
    tx = px + rx * tl
    ty = py + ry * tl
    return ox[j] + (tx - ox[j]) * _WAYPOINT_OUT, oy[j] + (ty - oy[j]) * _WAYPOINT_OUT


@njit(cache=True, nogil=True)
def _wrap(a):
    """`a` (radians) wrapped into [-pi, pi)."""
    return a - 2.0 * math.pi * math.floor((a + math.pi) / (2.0 * math.pi))


@njit(cache=True, nogil=True)
def _drop_zone(px, py, radius, drop, ox, oy, orad):
    """The first obstacle whose surface is within `drop` of the ship's hull, or -1."""
    for j in range(ox.size):
        dx = px - ox[j]
        dy = py - oy[j]
        reach = orad[j] + radius + drop
        if dx * dx + dy * dy < reach * reach:
            return j
    return -1


@njit(
    "int64(int64, float64, uint8[::1], float32[::1], float32[::1], float32[::1], float32[::1],"
    " float32[::1], float32[::1], float32[::1], float32[::1], float32[::1], float32[::1],"
    " float32[::1], float32[::1], bool_[::1], uint8[::1], uint8[::1], float64[::1],"
    " float64[::1], float32[::1], float32[::1], float32[::1], int16[::1], uint8[::1],"
    " int32[::1], float32[::1], bool_[::1], float64[::1], float64[::1], float64[::1],"
    " int8[::1], float64, int64, int64, float64[::1], int64[::1], int8[::1])",
    cache=True,
    nogil=True,
)
def steer_travel(
    n, dt, flags, x, y, vx, vy, angle, accel, max_speed, turn_rate, radius, fuel,
    thrust, turn, brake, ap_kind, ap_flags, ap_x, ap_y, ap_vx, ap_vy, ap_r, ap_skip,
    cruise, cruise_ticks, cruise_speed, ship_near, ox, oy, orad, owhat,
    boundary, spool_ticks, cooldown_ticks, params, out_rows, out_codes,
):  # fmt: skip
    """One tick of the cruise drive and the autopilot for every ship that uses either.

    `params` = (drop distance, avoid margin, cruise minimum leg, tolerance, arrive speed,
    1 / cruise ramp seconds). For each such ship, in row order:
    1. a cruise (or spool-up) drops out if the ship is docked, out of fuel, was hit or fired
       last tick, brakes by hand, is past `boundary`, has a ship closing (`ship_near`), or is
       within the drop distance of an obstacle, or (autopilot) is about to arrive; the speed
       is then capped at the hull's top speed and a cool-down starts. A finished spool-up
       engages the cruise;
    2. the autopilot sets the ship's controls: towards the approach point (`ap_r` from the
       goal's centre on the ship's side), around the obstacles in the way, braking in time to
       stop there (matching a followed ship's velocity), engaging cruise on long legs.
    Writes (row, code) events to out_rows/out_codes (at most two per ship); returns how many.
    """
    drop = params[0]
    avoid = params[1]
    min_leg = params[2]
    tol = params[3]
    arrive_speed = params[4]
    inv_ramp = params[5]
    events = 0
    for i in range(n):
        k = ap_kind[i]
        c = cruise[i]
        if k == AP_OFF and c == CRUISE_OFF:
            if cruise_ticks[i] > 0:
                cruise_ticks[i] -= 1
            continue
        fl = flags[i]
        docked = (fl & DOCKED) != 0
        px = np.float64(x[i])
        py = np.float64(y[i])
        r = np.float64(radius[i])
        vmax = np.float64(max_speed[i])
        # goal and approach point (autopilot)
        gx = ap_x[i]
        gy = ap_y[i]
        ex = px - gx
        ey = py - gy
        dc = math.sqrt(ex * ex + ey * ey)
        if dc > 1e-6:
            ux = ex / dc
            uy = ey / dc
        else:
            ux = 1.0
            uy = 0.0
        ax = gx + ux * np.float64(ap_r[i])
        ay = gy + uy * np.float64(ap_r[i])
        dist = math.sqrt((ax - px) * (ax - px) + (ay - py) * (ay - py))
        # 1. the cruise drive
        if c != CRUISE_OFF:
            reason = -1
            if docked:
                reason = DROP_DOCKED
            elif fuel[i] <= 0:
                reason = DROP_FUEL
            elif fl & SHIELD_HIT:
                reason = DROP_DAMAGE
            elif fl & FIRING:
                reason = DROP_FIRED
            elif k == AP_OFF and brake[i]:
                reason = DROP_MANUAL
            elif px * px + py * py > boundary * boundary:
                reason = DROP_BOUNDARY
            elif ship_near[i]:
                reason = DROP_SHIP
            else:
                j = _drop_zone(px, py, r, drop, ox, oy, orad)
                if j >= 0:
                    reason = DROP_ARRIVAL if (k != AP_OFF and j == ap_skip[i]) else 1 + owhat[j]
                elif k != AP_OFF and c == CRUISE_ON and k != AP_SHIP:
                    stop = vmax * vmax / (2.0 * np.float64(accel[i])) if accel[i] > 0 else 0.0
                    ahead = np.float64(cruise_speed[i]) * dt * 3.0
                    if dist < stop + ahead + _ARRIVAL_DROP_MARGIN:
                        reason = DROP_ARRIVAL
            if reason >= 0:
                cruise[i] = CRUISE_OFF
                cruise_ticks[i] = cooldown_ticks
                c = CRUISE_OFF
                sx = np.float64(vx[i])
                sy = np.float64(vy[i])
                speed = math.sqrt(sx * sx + sy * sy)
                if speed > vmax:
                    vx[i] = np.float32(sx * (vmax / speed))
                    vy[i] = np.float32(sy * (vmax / speed))
                out_rows[events] = i
                out_codes[events] = EV_DROP + reason
                events += 1
            elif c == CRUISE_SPOOLING:
                left = cruise_ticks[i] - 1
                cruise_ticks[i] = left
                if left <= 0:
                    cruise[i] = CRUISE_ON
                    cruise_ticks[i] = 0
                    c = CRUISE_ON
                    out_rows[events] = i
                    out_codes[events] = EV_CRUISING
                    events += 1
        elif cruise_ticks[i] > 0:
            cruise_ticks[i] -= 1
        if k == AP_OFF or docked:
            continue
        # 2. the autopilot
        if fuel[i] <= 0:  # the caller turns the autopilot off (it reads what it was first)
            thrust[i] = 0.0
            turn[i] = 0.0
            brake[i] = False
            out_rows[events] = i
            out_codes[events] = EV_OUT_OF_FUEL
            events += 1
            continue
        svx = np.float64(vx[i])
        svy = np.float64(vy[i])
        tvx = np.float64(ap_vx[i])
        tvy = np.float64(ap_vy[i])
        wx = svx - tvx
        wy = svy - tvy
        if dist <= tol and math.sqrt(wx * wx + wy * wy) <= arrive_speed:
            if k != AP_SHIP:  # the caller turns the autopilot off
                thrust[i] = 0.0
                turn[i] = 0.0
                brake[i] = True  # hold still
                out_rows[events] = i
                out_codes[events] = EV_ARRIVED
                events += 1
                continue
            if (ap_flags[i] & AP_REACHED) == 0:
                ap_flags[i] |= AP_REACHED
                out_rows[events] = i
                out_codes[events] = EV_ARRIVED
                events += 1
        a = np.float64(accel[i])
        cruising = c == CRUISE_ON
        cap = np.float64(cruise_speed[i]) if cruising else vmax
        push = cap * inv_ramp if cruising else a
        # route: up to two detours, around the nearest obstacle in the way and then around
        # the nearest in the way to that waypoint
        infl = r + avoid + (drop if c != CRUISE_OFF else 0.0)
        aim_x = ax
        aim_y = ay
        final = True
        used = -1
        for _ in range(2):
            j, reach = _blocking(px, py, aim_x, aim_y, ax, ay, r, infl, ap_skip[i], used,
                                 ox, oy, orad)  # fmt: skip
            if j < 0:
                break
            aim_x, aim_y = _detour(px, py, aim_x, aim_y, j, reach, ox, oy)
            final = False
            used = j
        # engage cruise on a long leg, clear of every drop zone
        if (
            c == CRUISE_OFF
            and cruise_ticks[i] == 0
            and (ap_flags[i] & AP_MAY_CRUISE) != 0
            and cruise_speed[i] > max_speed[i]
            and dist >= min_leg
            and k != AP_SHIP
            and _drop_zone(px, py, r, drop, ox, oy, orad) < 0
        ):
            cruise[i] = CRUISE_SPOOLING
            cruise_ticks[i] = spool_ticks
            out_rows[events] = i
            out_codes[events] = EV_SPOOLING
            events += 1
        # the velocity wanted: towards the aim, slowing to stop at the approach point
        hx = aim_x - px
        hy = aim_y - py
        hl = math.sqrt(hx * hx + hy * hy)
        if hl > 1e-9:
            hx /= hl
            hy /= hl
        else:
            hx = 0.0
            hy = 0.0
        want = cap
        if final and not cruising:
            room = dist - tol * 0.5
            room = room if room > 0.0 else 0.0
            slow = _SLOWING * math.sqrt(2.0 * a * room)
            want = slow if slow < want else want
        dvx = tvx + hx * want - svx
        dvy = tvy + hy * want - svy
        err = math.sqrt(dvx * dvx + dvy * dvy)
        heading = np.float64(angle[i])
        step = np.float64(turn_rate[i]) * dt
        speed = math.sqrt(svx * svx + svy * svy)
        along = (dvx * svx + dvy * svy) / speed if speed > 1e-6 else 0.0
        if err < 0.5:
            face = math.atan2(hy, hx) if hl > 1e-9 else heading
            t = _wrap(face - heading) / step if step > 0.0 else 0.0
            turn[i] = np.float32(t if -1.0 <= t <= 1.0 else (1.0 if t > 0.0 else -1.0))
            thrust[i] = 0.0
            brake[i] = False
        elif along < 0.0 and err * err - along * along <= 0.04 * err * err and not cruising:
            # too fast along the way we are going: brake (no need to turn round)
            face = math.atan2(hy, hx) if hl > 1e-9 else heading
            t = _wrap(face - heading) / step if step > 0.0 else 0.0
            turn[i] = np.float32(t if -1.0 <= t <= 1.0 else (1.0 if t > 0.0 else -1.0))
            thrust[i] = 0.0
            brake[i] = True
        else:
            face = math.atan2(dvy, dvx)
            t = _wrap(face - heading) / step if step > 0.0 else 0.0
            t = t if -1.0 <= t <= 1.0 else (1.0 if t > 0.0 else -1.0)
            turn[i] = np.float32(t)
            align = math.cos(face - (heading + t * step))
            power = 0.0
            if align > _ALIGN and push > 0.0:
                power = err * align / (push * dt)
                power = power if power < 1.0 else 1.0
            thrust[i] = np.float32(power)
            brake[i] = False
    return events
