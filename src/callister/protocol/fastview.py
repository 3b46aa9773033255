"""A vectorised protocol v2 client view: the same semantics as `updates.ClientView`, in arrays.

`updates.decode_update` + `ClientView` are the reference client (readable; an outside client is
checked against them). They build Python objects per record and copy the view's dict per update:
~65 us per update at ~70 entities in view, most of a load generator's CPU. Here the view is a few
numpy arrays, ids ascending:

- `ids`: int64 entity ids;
- `kinds`: each entity's kind (from its new record);
- `bodies`: each entity's newest record body, the 14 bytes as sent (BODY_DTYPE when read);
- `frames`: int64 (t0, origin_x, origin_y, shift) of the frame that record came in.

A reference is (kind, frame, body), so the view holds exactly what `ClientView` holds; absolute
values (`Reference`) are computed only when asked for (`get`, `entities`, `metres_at`), with the
reference's formulas. Decoding is a Python walk over the ids (varints: records have no fixed
stride) that slices the bodies out, and a handful of array operations whatever the number of
records; applying is a few more (searchsorted, one gather or scatter per section).

Equality with the reference (the same references, seq, tick and origin after any sequence of
frames; the same ProtocolError for a frame that is malformed or does not fit the view, the view
then unchanged) is what tests/protocol/test_fastview.py checks. A malformed frame is detected
cheaply here and then handed to `decode_update`, so the error raised is the reference's own.
"""

from __future__ import annotations

from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.limits import MAX_ENTITY_ID
from callister.protocol.reckoning import (
    FINE_PER_M,
    MAX_SHIFT,
    QUARTER_FINE,
    predict_angle,
    predict_position,
)
from callister.protocol.updates import (
    BODY,
    FLAG_RESYNC,
    HEADER,
    KINDS,
    MSG_UPDATE,
    RECORD_FLAGS,
    Body,
    Reference,
    decode_update,
)

Int64s = npt.NDArray[np.int64]
Bodies = npt.NDArray[np.void]

BODY_DTYPE: Final = np.dtype(
    [("dx", "<i2"), ("dy", "<i2"), ("vx", "<i2"), ("vy", "<i2"), ("ax", "i1"), ("ay", "i1"),
     ("angle", "<u2"), ("spin", "i1"), ("flags", "u1")]
)  # fmt: skip
"""`updates.BODY` as a numpy record."""
assert BODY_DTYPE.itemsize == BODY.size and BODY_DTYPE.names == Body._fields
T0, ORIGIN_X, ORIGIN_Y, SHIFT = range(4)  # the columns of `frames`
RAW_BODY: Final = np.dtype((np.void, BODY.size))
"""How bodies are held: raw bytes (moved as such; viewed as BODY_DTYPE when read)."""
_GOOD_FLAGS: Final = bytes(v for v in range(256) if not v & ~RECORD_FLAGS)
_NO_IDS: Final = np.zeros(0, dtype=np.int64)
_NO_BODIES: Final = np.zeros(0, dtype=RAW_BODY)
_NO_FRAMES: Final = np.zeros((0, 4), dtype=np.int64)


class FastUpdate(NamedTuple):
    """One decoded update frame as arrays (each section's ids ascending, as in the frame)."""

    tick: int
    seq: int
    resync: bool
    shift: int
    origin: tuple[int, int]  # (x, y), 1/4 m
    new_ids: Int64s
    new_kinds: Int64s
    new_bodies: Bodies
    updated_ids: Int64s
    updated_bodies: Bodies
    removed: Int64s


class Sighting(NamedTuple):
    """One entity predicted at a tick (`FastClientView.sight`)."""

    x: float  # metres, system frame
    y: float
    angle: int  # heading, 1/65536 turn
    flags: int  # of its reference (RECORD_FLAGS)
    t0: int  # the tick of its reference: the update's own tick when that update carried it


class _Malformed(Exception):
    """Internal: the fast walk found the frame malformed; the reference says how."""


def _walk(frame: bytes, pos: int, count: int, kind: bool, body: bool, ids: list[int],
          kinds: list[int], bodies: list[bytes]) -> int:  # fmt: skip
    """Read one section's `count` records from `pos`: ids to `ids`, the kind byte (if `kind`)
    to `kinds`, the body (if `body`) to `bodies`; return the section's end. IndexError or
    _Malformed for what does not parse (the caller lets the reference say what)."""
    ident = 0
    for _ in range(count):
        byte = frame[pos]
        if byte < 0x80:  # a one-byte delta: the usual case for ids ascending through a view
            if byte == 0:
                raise _Malformed
            ident += byte
            pos += 1
        else:
            value = shift = 0
            for i in range(8):
                byte = frame[pos + i]
                value |= (byte & 0x7F) << shift
                shift += 7
                if byte < 0x80:
                    break
            else:
                raise _Malformed
            if value == 0:
                raise _Malformed
            ident += value
            pos += i + 1
        ids.append(ident)
        if kind:
            kinds.append(frame[pos])
            pos += 1
        if body:
            bodies.append(frame[pos : pos + 14])
            pos += 14
    if ident > MAX_ENTITY_ID:  # ids ascend: the last is the largest
        raise _Malformed
    return pos


def _bodies(bodies: list[bytes]) -> Bodies:
    if not bodies:
        return _NO_BODIES
    data = b"".join(bodies)
    if data[13::14].translate(None, _GOOD_FLAGS):  # a flag bit outside RECORD_FLAGS
        raise _Malformed
    return np.frombuffer(data, dtype=RAW_BODY)


def _ids(ids: list[int]) -> Int64s:
    return np.array(ids, dtype=np.int64) if ids else _NO_IDS


def decode_fast(frame: bytes) -> FastUpdate:
    """`decode_update` into arrays. Raises the very ProtocolError `decode_update` raises for a
    malformed frame."""
    try:
        return _decode(frame)
    except (_Malformed, IndexError):
        decode_update(frame)  # raises the reference's ProtocolError(BAD_FRAME)
        raise AssertionError("the fast decoder refused a frame the reference accepts") from None


def _decode(frame: bytes) -> FastUpdate:
    if len(frame) < HEADER.size:
        raise _Malformed
    kind, flags, shift, reserved, tick, seq, ox, oy, n_new, n_upd, n_rem = HEADER.unpack_from(frame)
    if kind != MSG_UPDATE or flags & ~FLAG_RESYNC or reserved or shift > MAX_SHIFT:
        raise _Malformed
    new_ids: list[int] = []
    kinds: list[int] = []
    new_bodies: list[bytes] = []
    pos = _walk(frame, HEADER.size, n_new, True, True, new_ids, kinds, new_bodies)
    if not KINDS.issuperset(kinds):
        raise _Malformed
    upd_ids: list[int] = []
    upd_bodies: list[bytes] = []
    pos = _walk(frame, pos, n_upd, False, True, upd_ids, kinds, upd_bodies)
    removed: list[int] = []
    if _walk(frame, pos, n_rem, False, False, removed, kinds, []) != len(frame):
        raise _Malformed  # bytes past the end, or the last record cut short
    return FastUpdate(
        tick, seq, bool(flags & FLAG_RESYNC), shift, (ox, oy),
        _ids(new_ids), _ids(kinds), _bodies(new_bodies),
        _ids(upd_ids), _bodies(upd_bodies), _ids(removed),
    )  # fmt: skip


def _find(ids: Int64s, wanted: Int64s) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """Where each of `wanted` is (or would go) in the ascending `ids`, and whether it is there."""
    where = np.searchsorted(ids, wanted)
    if not len(ids):
        return where, np.zeros(len(wanted), dtype=np.bool_)
    return where, ids.take(where, mode="clip") == wanted


class FastClientView:
    """`ClientView` in arrays (see the module docstring). `apply` accepts and refuses exactly
    what `ClientView.apply` does, with the same error, and leaves the view unchanged when it
    refuses."""

    __slots__ = ("bodies", "frames", "ids", "kinds", "origin", "seq", "tick")

    def __init__(self) -> None:
        self.ids: Int64s = _NO_IDS
        self.kinds: Int64s = _NO_IDS
        self.bodies: Bodies = _NO_BODIES
        self.frames: Int64s = _NO_FRAMES
        self.seq = 0
        self.tick = 0
        self.origin = (0, 0)

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, ident: int) -> bool:
        return self._index(ident) is not None

    def apply(self, update: FastUpdate) -> None:
        if not update.resync and update.seq != (self.seq + 1) & 0xFFFFFFFF:
            raise ProtocolError(
                ErrorCode.BAD_FRAME, f"update {update.seq} after {self.seq} without RESYNC"
            )
        if update.resync:
            ids, kinds, bodies, frames = _NO_IDS, _NO_IDS, _NO_BODIES, _NO_FRAMES
        else:
            ids, kinds, bodies, frames = self.ids, self.kinds, self.bodies, self.frames
        meta = (update.tick, *update.origin, update.shift)
        if len(update.new_ids):
            _, found = _find(ids, update.new_ids)
            if found.any():
                ident = int(update.new_ids[found.argmax()])  # the first, as the reference
                raise ProtocolError(ErrorCode.BAD_FRAME, f"entity {ident} is already in view")
            ids = np.concatenate((ids, update.new_ids))
            order = ids.argsort()
            ids = ids[order]
            kinds = np.concatenate((kinds, update.new_kinds))[order]
            bodies = np.concatenate((bodies, update.new_bodies))[order]
            added = np.broadcast_to(np.array(meta), (len(update.new_ids), len(meta)))
            frames = np.concatenate((frames, added))[order]
        if len(update.updated_ids):
            where, found = _find(ids, update.updated_ids)
            if np.count_nonzero(found) != len(found):
                ident = int(update.updated_ids[found.argmin()])
                raise ProtocolError(ErrorCode.BAD_FRAME, f"update of {ident}, not in view")
            if bodies is self.bodies:  # the view changes only once the whole update fits
                bodies, frames = bodies.copy(), frames.copy()
            bodies[where] = update.updated_bodies
            frames[where] = meta  # the kind stays
        if len(update.removed):
            where, found = _find(ids, update.removed)
            if np.count_nonzero(found) != len(found):
                ident = int(update.removed[found.argmin()])
                raise ProtocolError(ErrorCode.BAD_FRAME, f"removal of {ident}, not in view")
            keep = np.ones(len(ids), dtype=np.bool_)
            keep[where] = False
            ids, kinds, bodies, frames = ids[keep], kinds[keep], bodies[keep], frames[keep]
        self.ids, self.kinds, self.bodies, self.frames = ids, kinds, bodies, frames
        self.seq, self.tick, self.origin = update.seq, update.tick, update.origin

    def apply_frame(self, frame: bytes) -> FastUpdate:
        """`apply(decode_fast(frame))`; returns the decoded update."""
        self.apply(decoded := decode_fast(frame))
        return decoded

    def _index(self, ident: int) -> int | None:
        i = int(self.ids.searchsorted(ident))
        return i if i < len(self.ids) and self.ids.item(i) == ident else None

    def _reference(self, i: int) -> Reference:
        """Row i as the reference decoder builds it (`updates.decode_update`'s formulas)."""
        t0, ox, oy, shift = self.frames[i].tolist()
        b = Body(*BODY.unpack_from(self.bodies.data, i * BODY.size))
        step = QUARTER_FINE << shift
        return Reference(
            self.ids.item(i), self.kinds.item(i), t0, ox * QUARTER_FINE + b.dx * step,
            oy * QUARTER_FINE + b.dy * step, b.vx, b.vy, b.ax, b.ay, b.angle, b.spin, b.flags,
        )  # fmt: skip

    def sight(self, ident: int, tick: int) -> Sighting | None:
        """Where `ident` is predicted at `tick` (>= its t0), as its `get(ident)` reference's
        `metres_at`, `angle_at` and `flags` say, without building the reference (a bot asks for
        its own ship on every update; a `Reference` costs more than the rest)."""
        i = self._index(ident)
        if i is None:
            return None
        t0, ox, oy, shift = self.frames[i].tolist()
        dx, dy, vx, vy, ax, ay, angle, spin, flags = BODY.unpack_from(
            self.bodies.data, i * BODY.size
        )
        step, t = QUARTER_FINE << shift, tick - t0
        x = predict_position(ox * QUARTER_FINE + dx * step, vx, ax, t)
        y = predict_position(oy * QUARTER_FINE + dy * step, vy, ay, t)
        return Sighting(x / FINE_PER_M, y / FINE_PER_M, predict_angle(angle, spin, t), flags, t0)

    def get(self, ident: int) -> Reference | None:
        """The reference held for `ident`, as `ClientView.entities.get(ident)` gives it."""
        i = self._index(ident)
        return None if i is None else self._reference(i)

    @property
    def entities(self) -> dict[int, Reference]:
        """Every reference held, as `ClientView.entities` (built on each call: for tests and
        slow paths, not per update)."""
        return {int(self.ids[i]): self._reference(i) for i in range(len(self.ids))}

    def metres_at(self, tick: int) -> npt.NDArray[np.float64]:
        """(n, 2) predicted positions in metres at `tick`, row i for `ids[i]`: every entity's
        `Reference.metres_at(tick)` at once, equal to it while tick - t0 < 2^27 ticks (int64
        then holds the reference's integers; the server refreshes references within seconds)."""
        b, f = self.bodies.view(BODY_DTYPE), self.frames
        step = QUARTER_FINE << f[:, SHIFT]
        t = tick - f[:, T0]
        out = np.empty((len(b), 2), dtype=np.float64)
        for axis, (d, v, a, o) in enumerate(
            (("dx", "vx", "ax", ORIGIN_X), ("dy", "vy", "ay", ORIGIN_Y))
        ):
            p0 = f[:, o] * QUARTER_FINE + b[d].astype(np.int64) * step
            out[:, axis] = predict_position(p0, b[v].astype(np.int64), b[a].astype(np.int64), t)
        return out / FINE_PER_M
