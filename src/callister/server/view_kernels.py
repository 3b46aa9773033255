"""Compiled loops (numba) behind `server/views.py`: every v2 client's view of a zone in one pass.

Two kernels per zone tick:

- `encode_entities`: once per entity, its quantised state (fine position, velocity, measured
  acceleration and spin, heading, record flags) and where each entity of the previous call sits
  in this frame (`remap`), by one merge of the two sorted id columns;
- `build_views`: a uniform grid over the entities, then per due client one scan of the cells
  around it. Entities it holds are checked against its dead-reckoning reference (the integer
  model of `protocol/reckoning.py`, evaluated exactly as the client does); entities entering
  its view become new; held entities that left it become removals. Its update frame is written
  straight into one shared byte buffer. Clients not due keep their pairs (copied, rows remapped).

Rules as in `sim/kernels.py`: explicit signatures compiled when the module is imported and
cached on disk, no fastmath, no parallel reductions, so the same inputs give the same bytes.
Pair state columns (int32): see the P_* constants.
"""

from __future__ import annotations

import math
import time
from typing import Final

import numpy as np
from numba import njit

from callister.protocol.reckoning import ACC_FINE, QUARTER_FINE, SPIN_ANGLE, VEL_FINE
from callister.protocol.updates import FLAG_RESYNC, MSG_UPDATE, RECORD_FLAGS

_started = time.perf_counter()

# entity columns (int64) written by encode_entities
E_X, E_Y, E_VX, E_VY, E_AX, E_AY, E_ANGLE, E_SPIN, E_FLAGS = range(9)
ENTITY_COLUMNS: Final = 9
# pair state columns (int32): what the client holds for an entity it sees
P_ROW, P_X, P_Y, P_T0, P_VX, P_VY, P_AX, P_AY, P_ANGLE, P_SPIN, P_FLAGS = range(11)
PAIR_COLUMNS: Final = 11

OK: Final = 0
PAIRS_FULL: Final = 1
BUFFER_FULL: Final = 2
BAD_SLOT: Final = 3
BAD_CENTRE: Final = 4
UNSORTED: Final = 5
NOT_FINITE: Final = 6

# slot columns (rows of the int64 `slots` table) and the new starts and lengths (`n_slots`)
S_ACTIVE, S_RESYNC, S_SEQ, S_START, S_LEN = range(5)
N_START, N_LEN = range(2)
# rows of `out`: each due client's frame and fresh-id ranges
O_FRAME_START, O_FRAME_END, O_FRESH_START, O_FRESH_END = range(4)

HEADER_BYTES: Final = 26
NEW_MAX_BYTES: Final = 8 + 1 + 14  # varint id, kind, body
UPDATED_MAX_BYTES: Final = 8 + 14
REMOVED_MAX_BYTES: Final = 8

# Rates measured over more ticks than this are not trusted (the previous call is too old).
MAX_RATE_TICKS: Final = 4
# Coordinates are clamped to +-LIMIT_M so fine units fit int32 (systems are under 100 km).
LIMIT_M: Final = 500_000.0

_TWO_PI: Final = 2.0 * math.pi
_ACC_SCALE: Final = 256.0  # record units per m/tick
_RECORD_FLAGS: Final = np.int64(RECORD_FLAGS)


@njit(cache=True, nogil=True)
def _clamp(v, lo, hi):
    return lo if v < lo else (hi if v > hi else v)


@njit(
    "int64(uint64[::1], float64[:, ::1], uint8[::1], int64, float64, uint64[::1],"
    " float64[:, ::1], int64, int64[:, ::1], int64[::1])",
    cache=True,
    nogil=True,
)
def encode_entities(ids, cols, flags, tick, tick_hz, prev_ids, prev_cols, prev_tick, ent, remap):
    """Quantise every entity once (columns E_*) and map the previous call's rows to this
    frame's (`remap[old] = new row or -1`). `cols` rows: x, y, vx, vy, angle; `prev_cols`:
    the previous call's vx, vy, angle. Acceleration and spin are measured against those when
    the previous call was at most MAX_RATE_TICKS ticks ago, else 0. Returns OK, UNSORTED (ids
    not strictly ascending) or NOT_FINITE (a NaN or infinity in `cols`)."""
    x, y, vx, vy, angle = cols[0], cols[1], cols[2], cols[3], cols[4]
    prev_vx, prev_vy, prev_angle = prev_cols[0], prev_cols[1], prev_cols[2]
    n = ids.size
    span = tick - prev_tick
    rates = 0 < span <= MAX_RATE_TICKS
    j = 0
    m = prev_ids.size
    per_tick = 1.0 / tick_hz
    for i in range(n):
        ident = ids[i]
        if i > 0 and ident <= ids[i - 1]:
            return UNSORTED
        for c in range(5):
            if not math.isfinite(cols[c, i]):
                return NOT_FINITE
        while j < m and prev_ids[j] < ident:
            remap[j] = -1
            j += 1
        px = _clamp(x[i], -LIMIT_M, LIMIT_M)
        py = _clamp(y[i], -LIMIT_M, LIMIT_M)
        ent[i, E_X] = np.int64(np.rint(px * 1024.0))
        ent[i, E_Y] = np.int64(np.rint(py * 1024.0))
        ent[i, E_VX] = np.int64(_clamp(np.rint(vx[i] * per_tick * _ACC_SCALE), -32767.0, 32767.0))
        ent[i, E_VY] = np.int64(_clamp(np.rint(vy[i] * per_tick * _ACC_SCALE), -32767.0, 32767.0))
        a = angle[i] % _TWO_PI
        ent[i, E_ANGLE] = np.int64(np.rint(a * (65536.0 / _TWO_PI))) & 0xFFFF
        ent[i, E_FLAGS] = np.int64(flags[i]) & _RECORD_FLAGS
        ax = 0.0
        ay = 0.0
        spin = 0.0
        if j < m and prev_ids[j] == ident:
            remap[j] = i
            if rates:
                scale = per_tick * _ACC_SCALE / span
                ax = (vx[i] - prev_vx[j]) * scale
                ay = (vy[i] - prev_vy[j]) * scale
                turn = (angle[i] - prev_angle[j]) % _TWO_PI
                if turn > math.pi:
                    turn -= _TWO_PI
                spin = turn * (2048.0 / _TWO_PI) / span
            j += 1
        ent[i, E_AX] = np.int64(_clamp(np.rint(ax), -127.0, 127.0))
        ent[i, E_AY] = np.int64(_clamp(np.rint(ay), -127.0, 127.0))
        ent[i, E_SPIN] = np.int64(_clamp(np.rint(spin), -127.0, 127.0))
    while j < m:
        remap[j] = -1
        j += 1
    return OK


@njit(cache=True, nogil=True)
def _sort_small(a, n):
    """Sort a[:n] ascending in place (insertion sort: the lists are a few dozen long)."""
    if n > 48:
        a[:n] = np.sort(a[:n])
        return
    for i in range(1, n):
        v = a[i]
        k = i - 1
        while k >= 0 and a[k] > v:
            a[k + 1] = a[k]
            k -= 1
        a[k + 1] = v


@njit(cache=True, nogil=True)
def _put_u16(buf, at, v):
    buf[at] = v & 0xFF
    buf[at + 1] = (v >> 8) & 0xFF


@njit(cache=True, nogil=True)
def _put_u32(buf, at, v):
    buf[at] = v & 0xFF
    buf[at + 1] = (v >> 8) & 0xFF
    buf[at + 2] = (v >> 16) & 0xFF
    buf[at + 3] = (v >> 24) & 0xFF


@njit(cache=True, nogil=True)
def _put_varint(buf, at, v):
    while v >= 0x80:
        buf[at] = (v & 0x7F) | 0x80
        v >>= 7
        at += 1
    buf[at] = v
    return at + 1


@njit(cache=True, nogil=True)
def _put_body(buf, at, ent, r, ox, oy, step, half, st, k, tick):
    """Write entity row r's record body relative to origin (ox, oy) (fine units) and make
    pair k's state what the client will decode from it."""
    dx = (ent[r, E_X] - ox + half) // step
    dy = (ent[r, E_Y] - oy + half) // step
    _put_u16(buf, at, dx)
    _put_u16(buf, at + 2, dy)
    _put_u16(buf, at + 4, ent[r, E_VX])
    _put_u16(buf, at + 6, ent[r, E_VY])
    buf[at + 8] = ent[r, E_AX] & 0xFF
    buf[at + 9] = ent[r, E_AY] & 0xFF
    _put_u16(buf, at + 10, ent[r, E_ANGLE])
    buf[at + 12] = ent[r, E_SPIN] & 0xFF
    buf[at + 13] = ent[r, E_FLAGS]
    st[k, P_X] = ox + dx * step
    st[k, P_Y] = oy + dy * step
    st[k, P_T0] = np.int32(np.uint32(tick & 0xFFFFFFFF))
    st[k, P_VX] = ent[r, E_VX]
    st[k, P_VY] = ent[r, E_VY]
    st[k, P_AX] = ent[r, E_AX]
    st[k, P_AY] = ent[r, E_AY]
    st[k, P_ANGLE] = ent[r, E_ANGLE]
    st[k, P_SPIN] = ent[r, E_SPIN]
    st[k, P_FLAGS] = ent[r, E_FLAGS]
    return at + 14


@njit(cache=True, nogil=True)
def _drifted(st, k, ent, r, tick, thr2, ang_thr, refresh):
    """True when what the client predicts of row r (from pair k) is due a new record."""
    tau = (tick - (np.int64(st[k, P_T0]) & 0xFFFFFFFF)) & 0xFFFFFFFF
    if tau >= refresh or np.int64(st[k, P_FLAGS]) != ent[r, E_FLAGS]:
        return True
    tri = tau * (tau + 1)
    px = np.int64(st[k, P_X]) + VEL_FINE * st[k, P_VX] * tau + (ACC_FINE // 2) * st[k, P_AX] * tri
    py = np.int64(st[k, P_Y]) + VEL_FINE * st[k, P_VY] * tau + (ACC_FINE // 2) * st[k, P_AY] * tri
    ex = np.float64(ent[r, E_X] - px)
    ey = np.float64(ent[r, E_Y] - py)
    if ex * ex + ey * ey > thr2:
        return True
    pa = (np.int64(st[k, P_ANGLE]) + SPIN_ANGLE * np.int64(st[k, P_SPIN]) * tau) & 0xFFFF
    ea = ((ent[r, E_ANGLE] - pa + 32768) & 0xFFFF) - 32768
    return abs(ea) > ang_thr


@njit(
    "int64(int64, int64[:, ::1], uint64[::1], float64[:, ::1], uint8[::1], int64[::1],"
    " float64[:, ::1], int64[:, ::1], uint64[::1], int32[:, ::1], int64[::1], int64[:, ::1],"
    " uint64[::1], int32[:, ::1], uint8[::1], int64[:, ::1], uint64[::1], int64[::1],"
    " float64[::1], int64[::1])",
    cache=True,
    nogil=True,
)
def build_views(
    tick, ent, ids, cols, kind, due, centres, slots, o_id, o_st, remap, n_slots, n_id, n_st,
    buf, out, fresh, totals, fparams, iparams,
):  # fmt: skip
    """Every due client's update frame and every client's new pairs; see the module doc.

    `due[i]` is the slot of due client i, centred on centres[:, i] (x, y metres); its frame is
    buf[out[0, i]:out[1, i]] and the ids it sees for the first time fresh[out[2, i]:out[3, i]].
    `slots` rows are S_*; pairs of slot s move from the old table (o_*, slots[S_START/S_LEN])
    to the new one (n_*, n_slots); `totals` receives (pairs, bytes, fresh ids). `fparams`:
    radius, leave radius, drift threshold (fine units) and its slope per metre; `iparams`:
    position shift, heading threshold, refresh ticks, max view. Returns OK, PAIRS_FULL or
    BUFFER_FULL (the caller grows that and calls again: nothing else was changed), BAD_SLOT (a
    due slot inactive or listed twice) or BAD_CENTRE (not finite).
    """
    x, y = cols[0], cols[1]
    cx, cy = centres[0], centres[1]
    active, resync, seq = slots[S_ACTIVE], slots[S_RESYNC], slots[S_SEQ]
    o_start, o_len = slots[S_START], slots[S_LEN]
    n_start, n_len = n_slots[N_START], n_slots[N_LEN]
    f_start, f_end = out[O_FRAME_START], out[O_FRAME_END]
    fr_start, fr_end = out[O_FRESH_START], out[O_FRESH_END]
    radius, leave, thr_fine, thr_slope = fparams[0], fparams[1], fparams[2], fparams[3]
    shift, ang_thr, refresh, max_view = iparams[0], iparams[1], iparams[2], iparams[3]
    n = ids.size
    n_slots_total = active.size
    due_of = np.full(n_slots_total, -1, np.int64)
    for i in range(due.size):
        s = due[i]
        if s < 0 or s >= n_slots_total or active[s] == 0 or due_of[s] >= 0:
            return BAD_SLOT
        if not (math.isfinite(cx[i]) and math.isfinite(cy[i])):
            return BAD_CENTRE
        due_of[s] = i
    # uniform grid over the entities, cells of leave/2 (a view scans at most 5 x 5 cells),
    # widened when the entities are spread so thin that the cells would outnumber them
    cell = leave * 0.5
    if n > 0:
        x0 = x.min()
        y0 = y.min()
        w = x.max() - x0
        h = y.max() - y0
        while (w / cell + 1.0) * (h / cell + 1.0) > 4.0 * n + 64.0:
            cell *= 2.0
        nx = np.int64(w / cell) + 1
        ny = np.int64(h / cell) + 1
    else:
        x0 = 0.0
        y0 = 0.0
        nx = 1
        ny = 1
    cell_start = np.zeros(nx * ny + 1, np.int64)
    cell_of = np.empty(n, np.int64)
    for r in range(n):
        c = np.int64((y[r] - y0) / cell) * nx + np.int64((x[r] - x0) / cell)
        cell_of[r] = c
        cell_start[c + 1] += 1
    for c in range(nx * ny):
        cell_start[c + 1] += cell_start[c]
    fill = cell_start[:-1].copy()
    cell_rows = np.empty(n, np.int64)
    cell_x = np.empty(n, np.float64)  # positions in cell order: the scans read them in a row
    cell_y = np.empty(n, np.float64)
    for r in range(n):  # rows ascend within each cell
        c = cell_of[r]
        q = fill[c]
        cell_rows[q] = r
        cell_x[q] = x[r]
        cell_y[q] = y[r]
        fill[c] += 1

    mark = np.zeros(n, np.int64)  # stamp of the client holding row r in the scan
    mark_k = np.empty(n, np.int64)  # ... and its old pair index
    new_rows = np.empty(max_view, np.int64)
    upd_rows = np.empty(max_view, np.int64)
    gone = np.empty(max_view, np.int64)
    leave2 = leave * leave
    thr_base2 = thr_fine * thr_fine
    radius2 = radius * radius
    step = np.int64(QUARTER_FINE) << shift
    half = step // 2
    cap_pairs = n_id.size
    cap_buf = buf.size
    cap_fresh = fresh.size
    p = 0  # next free pair in the new table
    b = 0  # next free byte in buf
    nf = 0  # next free fresh id
    stamp = 0
    for s in range(n_slots_total):
        if active[s] == 0:
            n_start[s] = p
            n_len[s] = 0
            continue
        i = due_of[s]
        start = o_start[s]
        length = o_len[s]
        if i < 0:  # not due: keep its pairs, rows remapped to this frame
            if p + length > cap_pairs:
                return PAIRS_FULL
            n_start[s] = p
            for k in range(start, start + length):
                n_id[p] = o_id[k]
                for col in range(PAIR_COLUMNS):
                    n_st[p, col] = o_st[k, col]
                old_row = o_st[k, P_ROW]
                n_st[p, P_ROW] = remap[old_row] if old_row >= 0 else -1
                p += 1
            n_len[s] = length
            continue
        stamp += 1
        full = resync[s] != 0
        if not full:  # the old table is only read: a retried call sees it unchanged
            for k in range(start, start + length):
                old_row = o_st[k, P_ROW]
                row = remap[old_row] if old_row >= 0 else -1
                if row >= 0:
                    mark[row] = stamp
                    mark_k[row] = k
        ccx = cx[i]
        ccy = cy[i]
        ox = np.int64(np.rint(_clamp(ccx, -LIMIT_M, LIMIT_M) * 4.0))
        oy = np.int64(np.rint(_clamp(ccy, -LIMIT_M, LIMIT_M) * 4.0))
        ox_fine = ox * QUARTER_FINE
        oy_fine = oy * QUARTER_FINE
        n_start[s] = p
        n_new = 0
        n_upd = 0
        kept = 0
        if n > 0:
            c0x = max(np.int64(0), np.int64(math.floor((ccx - leave - x0) / cell)))
            c1x = min(nx - 1, np.int64(math.floor((ccx + leave - x0) / cell)))
            c0y = max(np.int64(0), np.int64(math.floor((ccy - leave - y0) / cell)))
            c1y = min(ny - 1, np.int64(math.floor((ccy + leave - y0) / cell)))
            for gy in range(c0y, c1y + 1):
                for gx in range(c0x, c1x + 1):
                    c = gy * nx + gx
                    for q in range(cell_start[c], cell_start[c + 1]):
                        ddx = cell_x[q] - ccx
                        ddy = cell_y[q] - ccy
                        d2 = ddx * ddx + ddy * ddy
                        if d2 > leave2:
                            continue
                        r = cell_rows[q]
                        held = mark[r] == stamp
                        if not held and (d2 > radius2 or kept >= max_view):
                            continue
                        if p >= cap_pairs:
                            return PAIRS_FULL
                        n_id[p] = ids[r]
                        if held:
                            k = mark_k[r]
                            mark[r] = -stamp
                            for col in range(PAIR_COLUMNS):
                                n_st[p, col] = o_st[k, col]
                            n_st[p, P_ROW] = r
                            thr2 = thr_base2
                            if thr_slope > 0.0:
                                thr = thr_fine + thr_slope * math.sqrt(d2)
                                thr2 = thr * thr
                            if _drifted(n_st, p, ent, r, tick, thr2, ang_thr, refresh):
                                upd_rows[n_upd] = p  # the pair; sorted by row below
                                n_upd += 1
                        else:
                            n_st[p, P_ROW] = r
                            new_rows[n_new] = p
                            n_new += 1
                        kept += 1
                        p += 1
        n_gone = 0
        if not full:
            for k in range(start, start + length):
                old_row = o_st[k, P_ROW]
                row = remap[old_row] if old_row >= 0 else -1
                if row < 0 or mark[row] == stamp:
                    gone[n_gone] = np.int64(o_id[k])
                    n_gone += 1
        # sections ascend by id; pairs of this slot are sorted by their rows (= id order)
        # through a key of row * cap + pair index, unpacked after the sort
        key_scale = np.int64(cap_pairs) + 1
        for j in range(n_new):
            new_rows[j] = np.int64(n_st[new_rows[j], P_ROW]) * key_scale + new_rows[j]
        for j in range(n_upd):
            upd_rows[j] = np.int64(n_st[upd_rows[j], P_ROW]) * key_scale + upd_rows[j]
        _sort_small(new_rows, n_new)
        _sort_small(upd_rows, n_upd)
        _sort_small(gone, n_gone)
        need = HEADER_BYTES + n_new * NEW_MAX_BYTES + n_upd * UPDATED_MAX_BYTES
        need += n_gone * REMOVED_MAX_BYTES
        if b + need > cap_buf:
            return BUFFER_FULL
        if nf + n_new > cap_fresh:
            return PAIRS_FULL
        f_start[i] = b
        buf[b] = MSG_UPDATE
        buf[b + 1] = FLAG_RESYNC if full else 0
        buf[b + 2] = shift
        buf[b + 3] = 0
        _put_u32(buf, b + 4, tick)
        _put_u32(buf, b + 8, seq[s] + 1)
        _put_u32(buf, b + 12, ox)
        _put_u32(buf, b + 16, oy)
        _put_u16(buf, b + 20, n_new)
        _put_u16(buf, b + 22, n_upd)
        _put_u16(buf, b + 24, n_gone)
        at = b + HEADER_BYTES
        prev = np.int64(0)
        fr_start[i] = nf
        for j in range(n_new):
            k = new_rows[j] % key_scale
            r = n_st[k, P_ROW]
            ident = np.int64(ids[r])
            at = _put_varint(buf, at, ident - prev)
            prev = ident
            buf[at] = kind[r]
            at = _put_body(buf, at + 1, ent, r, ox_fine, oy_fine, step, half, n_st, k, tick)
            fresh[nf] = ident
            nf += 1
        fr_end[i] = nf
        prev = np.int64(0)
        for j in range(n_upd):
            k = upd_rows[j] % key_scale
            r = n_st[k, P_ROW]
            ident = np.int64(ids[r])
            at = _put_varint(buf, at, ident - prev)
            prev = ident
            at = _put_body(buf, at, ent, r, ox_fine, oy_fine, step, half, n_st, k, tick)
        prev = np.int64(0)
        for j in range(n_gone):
            at = _put_varint(buf, at, gone[j] - prev)
            prev = gone[j]
        f_end[i] = at
        b = at
        n_len[s] = p - n_start[s]
    totals[0] = p
    totals[1] = b
    totals[2] = nf
    return OK


COMPILE_SECONDS: Final = time.perf_counter() - _started
"""Seconds this module's import spent compiling (or loading cached) kernels."""
