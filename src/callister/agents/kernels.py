"""Compiled loops (numba) for the agents' hot paths.

`relevance`: the cosine of every memory's embedding with a query (a matrix-vector product).
numpy's `@` hands this to OpenBLAS, which splits it over threads: fast on an idle machine but
with multi-millisecond tails when the other core is busy (its threads wait for each other), and a
game server must not depend on a spare core. This loop runs on the calling thread only.

It is the one kernel here compiled with `fastmath` (reassociation lets LLVM vectorise the dot
product, ~5x faster): its result is a ranking signal, identical from run to run on one machine
and build, within float32 rounding of numpy's, and it never feeds the simulation or a decision.
Compiled eagerly from an explicit signature and cached on disk, like `sim/kernels.py`.

`sense_ships` / `nearest`: what each thinking agent sees, one loop over the zone's ships per
agent (k x n pairs without k x n temporaries). Exact float32 arithmetic (no fastmath).
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit
from numpy.typing import NDArray

_started = time.perf_counter()


@njit("float32[::1](float32[:, ::1], float32[::1], int64)", fastmath=True, nogil=True, cache=True)
def _relevance(emb: NDArray[np.float32], query: NDArray[np.float32], n: int) -> NDArray[np.float32]:
    out = np.empty(n, np.float32)
    dim = emb.shape[1]
    for i in range(n):
        s = np.float32(0.0)
        for j in range(dim):
            s += emb[i, j] * query[j]
        out[i] = s
    return out


def relevance(emb: NDArray[np.float32], query: NDArray[np.float32], n: int) -> NDArray[np.float32]:
    """emb[:n] @ query for a C-contiguous float32 (rows, dim) array and a float32 (dim,) query."""
    q = np.ascontiguousarray(query, dtype=np.float32)
    if not q.flags.writeable:  # the compiled signature takes writable arrays; 1 KB to copy
        q = q.copy()
    return _relevance(emb, q, n)


# --- sensing ------------------------------------------------------------------------------
# Exact float32 arithmetic, no fastmath: the same inputs give the same senses on every run.

_CIVILIAN, _PIRATE, _PATROL = 0, 1, 2
_FAR = np.float32(1e9)


@njit(
    "void(int64[::1], int64[::1], float32[::1], float32[::1], int32[::1], int8[::1], "
    "boolean[::1], float32[::1], int64[::1], int8[::1], int64[::1], int64[::1], int64, int64, "
    "int64[:, ::1], float32, float32, float32, "
    "int64[::1], float32[::1], float32[::1], float32[::1], int64[::1], float32[::1], "
    "int64[::1], float32[::1], float32[::1], int64[::1], float32[::1], int64[::1], float32[::1])",
    nogil=True,
    cache=True,
)
def sense_ships(
    ids: NDArray[np.int64],
    owner: NDArray[np.int64],
    x: NDArray[np.float32],
    y: NDArray[np.float32],
    docked: NDArray[np.int32],
    stance: NDArray[np.int8],
    wanted: NDArray[np.bool_],
    strength: NDArray[np.float32],
    rows: NDArray[np.int64],
    my_stance: NDArray[np.int8],
    last_attacker: NDArray[np.int64],
    attacked_tick: NDArray[np.int64],
    tick: int,
    attack_memory: int,
    hostile: NDArray[np.int64],
    sensor_range: float,
    threat_range: float,
    ally_range: float,
    threat_row: NDArray[np.int64],
    threat_dist: NDArray[np.float32],
    threat_ratio: NDArray[np.float32],
    attacked: NDArray[np.float32],
    att_row: NDArray[np.int64],
    att_dist: NDArray[np.float32],
    prey_row: NDArray[np.int64],
    prey_dist: NDArray[np.float32],
    prey_weak: NDArray[np.float32],
    crim_row: NDArray[np.int64],
    crim_dist: NDArray[np.float32],
    held_row: NDArray[np.int64],
    held_dist: NDArray[np.float32],
) -> None:
    """For each thinker (a ship row and its agent's columns), one pass over the zone's ships:
    the nearest threat, the fight balance (threat strength in range over ours plus our
    allies'), how recently we were attacked (1 just now .. 0 after attack_memory ticks), the
    attacker, the best prey (pirates: weak and near), the nearest criminal (patrols) and the
    nearest ship of an actor held hostile."""
    n = ids.size
    sensor2 = np.float32(sensor_range) * np.float32(sensor_range)
    threat2 = np.float32(threat_range) * np.float32(threat_range)
    ally2 = np.float32(ally_range) * np.float32(ally_range)
    for a in range(rows.size):
        r = rows[a]
        mx, my, mid, mown = x[r], y[r], ids[r], owner[r]
        ms = my_stance[a]
        mw = wanted[r]
        mstr = max(strength[r], np.float32(1e-3))
        la = last_attacker[a]
        age = tick - attacked_tick[a]
        rec = age <= attack_memory
        bt, best_t = -1, _FAR
        ba, best_a = -1, _FAR
        bp, best_p, pd, pw = -1, np.float32(-1.0), _FAR, np.float32(0.0)
        bc, best_c = -1, _FAR
        bh, best_h = -1, _FAR
        hs = np.float32(0.0)
        al = np.float32(0.0)
        for j in range(n):
            if ids[j] == mid or docked[j] >= 0:
                continue
            dx = x[j] - mx
            dy = y[j] - my
            d2 = dx * dx + dy * dy
            if d2 > sensor2:
                continue
            d = np.float32(np.sqrt(d2))
            sj = stance[j]
            oj = owner[j]
            is_att = rec and oj == la
            held = False
            for h in range(hostile.shape[1]):
                if hostile[a, h] == oj:
                    held = True
            threat = (
                (sj == _PIRATE and ms != _PIRATE)
                or (sj == _PATROL and (ms == _PIRATE or mw))
                or is_att
                or held
            )
            if oj == mown:
                threat = False
            if threat:
                if d < best_t:
                    best_t, bt = d, j
                if d2 <= threat2:
                    hs += strength[j]
            elif d2 <= ally2 and (
                (sj == ms and ms != _CIVILIAN) or (sj == _PATROL and ms == _CIVILIAN)
            ):
                al += strength[j]
            if held and oj != mown and d < best_h:
                best_h, bh = d, j
            if is_att and d < best_a:
                best_a, ba = d, j
            if ms == _PIRATE and sj != _PIRATE:
                w = np.float32(1.0) - strength[j] / mstr
                if w < 0:
                    w = np.float32(0.0)
                score = w / (np.float32(1.0) + d / np.float32(2000.0))
                if score > best_p:
                    best_p, bp, pd, pw = score, j, d, w
            if ms == _PATROL and (sj == _PIRATE or wanted[j]) and d < best_c:
                best_c, bc = d, j
        threat_row[a] = bt
        threat_dist[a] = best_t
        threat_ratio[a] = hs / (mstr + al)
        if rec:
            attacked[a] = np.float32(1.0) - np.float32(age) / np.float32(attack_memory + 1)
        else:
            attacked[a] = np.float32(0.0)
        att_row[a] = ba
        att_dist[a] = best_a
        prey_row[a] = bp
        prey_dist[a] = pd
        prey_weak[a] = pw
        crim_row[a] = bc
        crim_dist[a] = best_c
        held_row[a] = bh
        held_dist[a] = best_h


@njit(
    "void(float32[::1], float32[::1], int32[::1], int32[::1], int64[::1], int64, "
    "int32[::1], float32[::1], float32[::1], float32[::1], float32[::1], float32[::1], "
    "float32[::1], float32[::1], float32[::1], float32[::1], int64[::1], int64, "
    "float32[::1], float32[::1], float32[::1], "
    "int64[::1], float32[::1], int64[::1], int64[::1], float32[::1], int64[::1], float32[::1], "
    "int64[::1], float32[::1], int64[::1], float32[::1], int64[::1])",
    nogil=True,
    cache=True,
)
def sense_places(
    px: NDArray[np.float32],
    py: NDArray[np.float32],
    docked_at: NDArray[np.int32],
    dest_in: NDArray[np.int32],
    clone_id: NDArray[np.int64],
    tick: int,
    st_index: NDArray[np.int32],
    st_x: NDArray[np.float32],
    st_y: NDArray[np.float32],
    fx: NDArray[np.float32],
    fy: NDArray[np.float32],
    fr: NDArray[np.float32],
    wx: NDArray[np.float32],
    wy: NDArray[np.float32],
    cx: NDArray[np.float32],
    cy: NDArray[np.float32],
    ctick: NDArray[np.int64],
    crime_memory: int,
    rx: NDArray[np.float32],
    ry: NDArray[np.float32],
    rr: NDArray[np.float32],
    station_slot: NDArray[np.int64],
    station_dist: NDArray[np.float32],
    docked_slot: NDArray[np.int64],
    dest: NDArray[np.int64],
    dest_dist: NDArray[np.float32],
    field_slot: NDArray[np.int64],
    field_dist: NDArray[np.float32],
    wreck_slot: NDArray[np.int64],
    wreck_dist: NDArray[np.float32],
    crime_slot: NDArray[np.int64],
    crime_dist: NDArray[np.float32],
    rock_slot: NDArray[np.int64],
) -> None:
    """Per thinker: nearest station, the station docked at (slot), the trade destination
    (kept, or picked from the clone id and the hour when unset, out of range or where we are),
    nearest asteroid field (distance to its edge), nearest wreck, nearest recent crime, and the
    nearest rock (by distance to its surface) when the field is within 30 km."""
    ns = st_x.size
    for a in range(px.size):
        x, y = px[a], py[a]
        bi, best = -1, _FAR
        ds = -1
        for j in range(ns):
            dx = st_x[j] - x
            dy = st_y[j] - y
            d = np.float32(np.sqrt(dx * dx + dy * dy))
            if d < best:
                best, bi = d, j
            if st_index[j] == docked_at[a]:
                ds = j
        station_slot[a] = bi
        station_dist[a] = best
        docked_slot[a] = ds if docked_at[a] >= 0 else -1
        if ns:
            t = dest_in[a]
            if t < 0 or t >= ns or t == docked_slot[a]:
                t = (clone_id[a] % 997 + tick // 1200) % ns
                if t == docked_slot[a] and ns > 1:
                    t = (t + 1) % ns
            dx = st_x[t] - x
            dy = st_y[t] - y
            dest[a] = t
            dest_dist[a] = np.float32(np.sqrt(dx * dx + dy * dy))
        else:
            dest[a] = -1
            dest_dist[a] = _FAR
        bi, best = -1, _FAR
        for j in range(fx.size):
            dx = fx[j] - x
            dy = fy[j] - y
            d = np.float32(np.sqrt(dx * dx + dy * dy)) - fr[j]
            if d < 0:
                d = np.float32(0.0)
            if d < best:
                best, bi = d, j
        field_slot[a] = bi
        field_dist[a] = best
        bi, best = -1, _FAR
        for j in range(wx.size):
            dx = wx[j] - x
            dy = wy[j] - y
            d = np.float32(np.sqrt(dx * dx + dy * dy))
            if d < best:
                best, bi = d, j
        wreck_slot[a] = bi
        wreck_dist[a] = best
        bi, best = -1, _FAR
        for j in range(cx.size):
            if tick - ctick[j] > crime_memory:
                continue
            dx = cx[j] - x
            dy = cy[j] - y
            d = np.float32(np.sqrt(dx * dx + dy * dy))
            if d < best:
                best, bi = d, j
        crime_slot[a] = bi
        crime_dist[a] = best
        bi, best = -1, _FAR
        if field_dist[a] <= np.float32(30_000.0):
            for j in range(rx.size):
                dx = rx[j] - x
                dy = ry[j] - y
                d = np.float32(np.sqrt(dx * dx + dy * dy)) - rr[j]
                if d < best:
                    best, bi = d, j
        rock_slot[a] = bi


COMPILE_SECONDS = time.perf_counter() - _started
