"""Protocol v2 views: every client's update frame for one zone tick, in one compiled pass.

`ViewEngine` (one per zone) holds, for each client slot, what that client was last *sent* of
every entity it sees (its dead-reckoning reference, `protocol/reckoning.py`), in flat arrays.
Each call to `update` takes the zone's frame and the due clients' centres and returns every due
client's update frame in one `bytes` buffer with offsets: the gateway's per-client work is one
slice and one socket write. No Python object per entity or per (client, entity) pair.

An entity is in a client's frame when it enters the view (within `radius`; new record), when
the client's prediction of it drifts past `threshold_m` (+ `threshold_per_km` of its distance)
or its heading past `angle_threshold_deg`, when its record flags change, when its reference is
`refresh_ticks` old, and as a removal when it leaves (beyond `radius` * (1 + `leave_margin`), or
out of the zone). There are no acknowledgements: the transport is reliable and ordered, so what
was sent is what the client has. A client whose frame could not be delivered (a backed-up
socket) must be `resync`ed: its next frame then carries its whole view with the RESYNC flag.

How the gateway uses it (one engine per zone, one call per zone tick):

    slot = engine.add_client()                 # on entering the zone (first frame: RESYNC)
    batch = engine.update_frame(frame, slots, cx, cy)   # due slots, their centres (metres)
    for i, session in enumerate(due):
        session.send_snapshot(batch.frame(i))  # skipped? -> engine.resync(slot)
        introduce(session, batch.fresh(i))     # ids new to this client: send `ents` names
    engine.remove_client(slot)                 # on leaving the zone or disconnecting

Calling `update` every tick, even with no client due, keeps the measured accelerations and
spins exact (they are measured between consecutive calls).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from callister.protocol.reckoning import FINE_PER_M, position_shift
from callister.protocol.updates import MAX_SECTION
from callister.server import view_kernels as vk
from callister.sim import ZoneFrame
from callister.sim.grid import ranges_to_indices

DEFAULT_THRESHOLD_M: Final = 1.0
DEFAULT_ANGLE_DEG: Final = 3.0
DEFAULT_REFRESH_TICKS: Final = 40
DEFAULT_LEAVE_MARGIN: Final = 0.1
DEFAULT_MAX_VIEW: Final = 2048
_MIN_PAIRS: Final = 1024
_MIN_BUFFER: Final = 1 << 16


@dataclass(frozen=True, slots=True)
class UpdateBatch:
    """The frames of one `update` call: client i (in the order of `slots`) gets
    data[starts[i]:ends[i]]; fresh_ids[fresh_starts[i]:fresh_ends[i]] are the ids it sees for
    the first time (ascending), for the gateway's `ents` introductions."""

    tick: int
    slots: npt.NDArray[np.int64]
    data: bytes
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    fresh_ids: npt.NDArray[np.uint64]
    fresh_starts: npt.NDArray[np.int64]
    fresh_ends: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.slots.size)

    def frame(self, i: int) -> memoryview:
        """Client i's frame (a view of the shared immutable buffer: no copy)."""
        return memoryview(self.data)[int(self.starts[i]) : int(self.ends[i])]

    def fresh(self, i: int) -> list[int]:
        """Ids client i sees for the first time in this frame."""
        return self.fresh_ids[int(self.fresh_starts[i]) : int(self.fresh_ends[i])].tolist()


class ViewEngine:
    """The v2 views of one zone's clients; see the module docstring.

    Memory is bounded: pairs are at most (clients) x `max_view` (a view holds the nearest
    entities scanned first once full; `max_view` <= 65535, the frame's section limit), and the
    tables shrink again when clients leave.
    """

    def __init__(
        self,
        radius: float,
        *,
        tick_hz: int = 20,
        threshold_m: float = DEFAULT_THRESHOLD_M,
        threshold_per_km: float = 0.0,
        angle_threshold_deg: float = DEFAULT_ANGLE_DEG,
        refresh_ticks: int = DEFAULT_REFRESH_TICKS,
        leave_margin: float = DEFAULT_LEAVE_MARGIN,
        max_view: int = DEFAULT_MAX_VIEW,
    ) -> None:
        for name, value in (
            ("radius", radius),
            ("threshold_m", threshold_m),
            ("angle_threshold_deg", angle_threshold_deg),
        ):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, not {value!r}")
        if not (math.isfinite(threshold_per_km) and threshold_per_km >= 0):
            raise ValueError(f"threshold_per_km must be >= 0, not {threshold_per_km!r}")
        if not (math.isfinite(leave_margin) and 0 <= leave_margin <= 1):
            raise ValueError(f"leave_margin must be within 0..1, not {leave_margin!r}")
        if not 1 <= refresh_ticks <= 255:
            raise ValueError(f"refresh_ticks must be within 1..255, not {refresh_ticks}")
        if not 1 <= max_view <= MAX_SECTION:
            raise ValueError(f"max_view must be within 1..{MAX_SECTION}, not {max_view}")
        if not 1 <= tick_hz <= 1000:
            raise ValueError(f"tick_hz must be within 1..1000, not {tick_hz}")
        self.radius = float(radius)
        self.leave = float(radius) * (1.0 + leave_margin)
        self.shift = position_shift(self.leave)
        self.tick_hz = tick_hz
        self.threshold_m = float(threshold_m)
        self.threshold_per_km = float(threshold_per_km)
        self.angle_units = round(angle_threshold_deg / 360.0 * 65536)
        self.refresh_ticks = refresh_ticks
        self.max_view = max_view
        # per slot, one int64 row each (view_kernels.S_*): active, resync, seq, start, len
        self._slots = np.zeros((5, 0), dtype=np.int64)
        self._n_slots = np.zeros((2, 0), dtype=np.int64)
        self._free: list[int] = []
        # pair tables (double-buffered: each call writes the other one)
        self._pairs = 0
        self._ids, self._state = self._pair_table(_MIN_PAIRS)
        self._ids2, self._state2 = self._pair_table(_MIN_PAIRS)
        self._buf = np.empty(_MIN_BUFFER, dtype=np.uint8)
        self._fresh = np.empty(_MIN_PAIRS, dtype=np.uint64)
        # the previous call's entities, for rates and row remapping
        self._prev_tick = -(1 << 40)
        self._prev_ids = np.zeros(0, dtype=np.uint64)
        self._prev_cols = np.zeros((3, 0))  # vx, vy, angle
        self._totals = np.zeros(3, dtype=np.int64)
        self._fparams = np.array(
            [self.radius, self.leave, self.threshold_m * FINE_PER_M,
             self.threshold_per_km * FINE_PER_M / 1000.0]
        )  # fmt: skip
        self._iparams = np.array(
            [self.shift, self.angle_units, self.refresh_ticks, self.max_view], dtype=np.int64
        )

    @staticmethod
    def _pair_table(n: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32]]:
        return np.empty(n, dtype=np.uint64), np.empty((n, vk.PAIR_COLUMNS), dtype=np.int32)

    # -- clients ---------------------------------------------------------------------------

    def add_client(self) -> int:
        """A new client slot; its first frame is a RESYNC with its whole view."""
        if self._free:
            slot = self._free.pop()
        else:
            slot = self._slots.shape[1]
            grow = max(16, slot)
            self._slots = np.concatenate([self._slots, np.zeros((5, grow), np.int64)], axis=1)
            self._n_slots = np.zeros_like(self._slots[:2])
            self._free.extend(range(self._slots.shape[1] - 1, slot, -1))
        self._slots[:, slot] = 0  # a reused slot's old pairs are dropped by the next update
        self._slots[vk.S_ACTIVE, slot] = 1
        self._slots[vk.S_RESYNC, slot] = 1
        return slot

    def remove_client(self, slot: int) -> None:
        """Forget a client (its pairs go at the next update). ValueError if not active."""
        self._check(slot)
        self._slots[:, slot] = 0
        self._free.append(slot)

    def resync(self, slot: int) -> None:
        """The client's next frame carries its whole view with the RESYNC flag: after a
        `resync` request, or when a frame for it was not delivered."""
        self._check(slot)
        self._slots[vk.S_RESYNC, slot] = 1

    def _check(self, slot: int) -> None:
        if not (0 <= slot < self._slots.shape[1] and self._slots[vk.S_ACTIVE, slot]):
            raise ValueError(f"slot {slot} is not an active client of this view engine")

    @property
    def clients(self) -> int:
        return int(self._slots[vk.S_ACTIVE].sum())

    @property
    def pairs(self) -> int:
        """(client, entity) pairs held: the sum of the clients' view sizes."""
        return self._pairs

    def view_size(self, slot: int) -> int:
        """Entities the client holds after its last frame."""
        self._check(slot)
        return int(self._slots[vk.S_LEN, slot])

    def held(self, slot: int) -> dict[int, tuple[int, ...]]:
        """What the client in `slot` holds, entity id -> (t0, x, y, vx, vy, ax, ay, angle, spin,
        flags) in the units of `protocol/reckoning.py`: exactly the fields of the references
        its decoder built (`protocol.updates.Reference`). For tests and tools, not the tick."""
        self._check(slot)
        start, length = (int(v) for v in self._slots[vk.S_START : vk.S_LEN + 1, slot])
        out = {}
        for k in range(start, start + length):
            row = self._state[k].astype(np.int64).tolist()
            row[vk.P_T0] &= 0xFFFFFFFF
            out[int(self._ids[k])] = (row[vk.P_T0], row[vk.P_X], row[vk.P_Y], *row[vk.P_VX :])
        return out

    def pair_table(
        self,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
        """Every held pair as (slot, entity id, reference columns t0, x, y, vx, vy, ax, ay,
        angle, spin, flags), copies, for measurements over all clients at once."""
        slots = np.flatnonzero(self._slots[vk.S_ACTIVE])
        lens = self._slots[vk.S_LEN, slots]
        starts = self._slots[vk.S_START, slots]
        index = ranges_to_indices(starts, lens)
        state = self._state[index].astype(np.int64)
        state[:, vk.P_T0] &= 0xFFFFFFFF
        cols = [vk.P_T0, vk.P_X, vk.P_Y, *range(vk.P_VX, vk.PAIR_COLUMNS)]
        return np.repeat(slots, lens), self._ids[index].copy(), state[:, cols]

    def memory_bytes(self) -> int:
        """Bytes held in this engine's arrays (pair tables, buffers, slot columns)."""
        arrays = (
            self._ids, self._state, self._ids2, self._state2, self._buf, self._fresh,
            self._slots, self._n_slots, self._prev_ids, self._prev_cols,
        )  # fmt: skip
        return sum(a.nbytes for a in arrays)

    # -- the tick --------------------------------------------------------------------------

    def update_frame(
        self,
        frame: ZoneFrame,
        slots: npt.ArrayLike,
        cx: npt.ArrayLike,
        cy: npt.ArrayLike,
    ) -> UpdateBatch:
        """`update` over a zone's published frame."""
        return self.update(
            frame.tick, frame.ids, frame.kind, frame.x, frame.y, frame.vx, frame.vy,
            frame.angle, frame.flags, slots, cx, cy,
        )  # fmt: skip

    def update(
        self,
        tick: int,
        ids: npt.NDArray[np.uint64],
        kind: npt.NDArray[np.uint8],
        x: npt.ArrayLike,
        y: npt.ArrayLike,
        vx: npt.ArrayLike,
        vy: npt.ArrayLike,
        angle: npt.ArrayLike,
        flags: npt.NDArray[np.uint8],
        slots: npt.ArrayLike,
        cx: npt.ArrayLike,
        cy: npt.ArrayLike,
    ) -> UpdateBatch:
        """Frames for the clients in `slots` (distinct active slots), centred on (cx, cy)
        metres, from the entity columns of tick `tick` (ids ascending, as a ZoneFrame's).
        ValueError for mismatched, unsorted or non-finite columns, or a bad slot; a call that
        raises changes nothing."""
        ids = np.array(ids, dtype=np.uint64)  # copies: a ZoneFrame's arrays are read-only
        n = ids.size
        columns = (x, y, vx, vy, angle, kind, flags)
        if ids.ndim != 1 or any(np.shape(c) != (n,) for c in columns):
            raise ValueError("entity columns must be 1-D and as long as ids")
        cols = np.empty((5, n))
        try:
            for row, column in enumerate((x, y, vx, vy, angle)):
                cols[row] = column
            kind_a = np.array(kind, dtype=np.uint8).reshape(n)
            flags_a = np.array(flags, dtype=np.uint8).reshape(n)
        except ValueError:
            raise ValueError("entity columns must be 1-D and as long as ids") from None
        due = np.array(slots, dtype=np.int64).reshape(-1)
        centres = np.empty((2, due.size))
        try:
            centres[0], centres[1] = cx, cy
        except ValueError:
            raise ValueError("slots, cx and cy must have the same length") from None
        ent = np.empty((n, vk.ENTITY_COLUMNS), dtype=np.int64)
        remap = np.empty(self._prev_ids.size, dtype=np.int64)
        status = vk.encode_entities(
            ids, cols, flags_a, int(tick), float(self.tick_hz), self._prev_ids,
            self._prev_cols, self._prev_tick, ent, remap,
        )  # fmt: skip
        if status == vk.UNSORTED:
            raise ValueError("entity ids must be strictly ascending")
        if status == vk.NOT_FINITE:
            raise ValueError("entity positions, velocities and angles must be finite")
        out = np.empty((4, due.size), dtype=np.int64)
        retried = False
        while True:
            status = vk.build_views(
                int(tick), ent, ids, cols, kind_a, due, centres, self._slots, self._ids,
                self._state, remap, self._n_slots, self._ids2, self._state2, self._buf, out,
                self._fresh, self._totals, self._fparams, self._iparams,
            )  # fmt: skip
            if status == vk.OK:
                break
            if status == vk.PAIRS_FULL:
                # room for every held pair plus a margin of new ones; doubled if that was
                # not enough (each retry is a whole pass, so it must not take many)
                size = int(1.25 * (self._pairs + 16 * due.size)) + _MIN_PAIRS
                if retried or size <= self._ids2.size:
                    size = 2 * self._ids2.size
                retried = True
                self._ids2, self._state2 = self._pair_table(size)
                self._fresh = np.empty(size, dtype=np.uint64)
            elif status == vk.BUFFER_FULL:
                self._buf = np.empty(4 * self._buf.size, dtype=np.uint8)
            elif status == vk.BAD_CENTRE:
                raise ValueError("view centres must be finite")
            else:
                raise ValueError("slots must be distinct active client slots")
        pairs, nbytes, nfresh = (int(v) for v in self._totals)
        self._ids, self._ids2 = self._ids2, self._ids
        self._state, self._state2 = self._state2, self._state
        self._slots[vk.S_START : vk.S_LEN + 1] = self._n_slots
        self._slots[vk.S_SEQ, due] = (self._slots[vk.S_SEQ, due] + 1) & 0xFFFFFFFF
        self._slots[vk.S_RESYNC, due] = 0
        self._pairs = pairs
        self._prev_tick = int(tick)
        self._prev_ids = ids
        self._prev_cols = cols[2:5].copy()
        batch = UpdateBatch(
            int(tick), due, self._buf[:nbytes].tobytes(), out[vk.O_FRAME_START],
            out[vk.O_FRAME_END], self._fresh[:nfresh].copy(), out[vk.O_FRESH_START],
            out[vk.O_FRESH_END],
        )  # fmt: skip
        self._shrink(nbytes)  # after the copies: shrinking replaces the buffers
        return batch

    def _shrink(self, nbytes: int) -> None:
        """Give back table and buffer space once under a quarter of it is used (clients left,
        or a burst of RESYNCs is over)."""
        # hysteresis (shrink below 1/16, to 4x the use; grow 4x): a retried call costs a
        # whole pass, so the buffer must not bounce between sizes tick after tick
        if self._buf.size > _MIN_BUFFER and nbytes < self._buf.size // 16:
            self._buf = np.empty(max(_MIN_BUFFER, 4 * nbytes), dtype=np.uint8)
        size = self._ids.size
        if size > _MIN_PAIRS and self._pairs < size // 4:
            keep = max(_MIN_PAIRS, 2 * self._pairs)
            ids, state = self._pair_table(keep)
            ids[: self._pairs] = self._ids[: self._pairs]
            state[: self._pairs] = self._state[: self._pairs]
            self._ids, self._state = ids, state
            self._ids2, self._state2 = self._pair_table(keep)
            self._fresh = np.empty(keep, dtype=np.uint64)
