"""Protocol v2 update frames (server -> client, binary) and the client's side of them.

Layout (little-endian; docs/protocol.md, "Protocol v2"):

    header (26 bytes): u8 type=2, u8 flags (bit 0 RESYNC), u8 shift, u8 reserved=0,
                       u32 tick, u32 seq, i32 origin_x, i32 origin_y (1/4 m),
                       u16 n_new, u16 n_updated, u16 n_removed
    n_new records:     id, u8 kind, body
    n_updated records: id, body
    n_removed ids:     id

Ids within each section ascend and are written as the LEB128 varint of the difference to the
previous id of the section (the first: to 0). A body (14 bytes) is BODY below: the position
as i16 steps of 2^shift / 4 m from the origin, then the dead-reckoning reference
(`protocol/reckoning.py`). Deltas are against what the server *sent* (TCP delivers it all, in
order), so there are no acknowledgements; RESYNC says "forget everything, this is your view".

`encode_update` is the reference encoder (tests compare the server's compiled encoder with it);
`decode_update` and `ClientView` are the reference client (bots, tests, and the model for
`web/js/snapshot2.js`). Malformed input raises ProtocolError(BAD_FRAME) and nothing else.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.limits import MAX_ENTITY_ID
from callister.protocol.reckoning import (
    FINE_PER_M,
    MAX_SHIFT,
    QUARTER_FINE,
    predict_angle,
    predict_position,
    predict_velocity,
)

MSG_UPDATE: Final = 2
FLAG_RESYNC: Final = 1
HEADER: Final = struct.Struct("<BBBBIIiiHHH")
BODY: Final = struct.Struct("<hhhhbbHbB")  # dx, dy, vx, vy, ax, ay, angle, spin, flags
assert HEADER.size == 26 and BODY.size == 14
MAX_VARINT_BYTES: Final = 8  # 8 * 7 = 56 bits >= the 53 bits of MAX_ENTITY_ID
MAX_SECTION: Final = 65535

KINDS: Final = frozenset({1, 2, 3, 4})  # ship, projectile, missile, wreck (as v1)
RECORD_FLAGS: Final = 0x6F
"""v1's flag bits a v2 record carries: docked, thrusting, jump charging, criminal, mining, out
of fuel. The per-tick bits (shield hit, fired) are left out: they would force a record every
time they blink, and `fx` messages already carry those moments."""


class Body(NamedTuple):
    """A record's body as sent: offsets from the frame origin and the reckoning reference."""

    dx: int
    dy: int
    vx: int
    vy: int
    ax: int
    ay: int
    angle: int
    spin: int
    flags: int


@dataclass(frozen=True, slots=True)
class Reference:
    """What the client holds for one entity: the state at tick `t0`, in absolute fine units."""

    id: int
    kind: int
    t0: int
    x: int  # fine units (1/1024 m), system frame
    y: int
    vx: int  # 1/256 m per tick
    vy: int
    ax: int  # 1/256 m per tick^2
    ay: int
    angle: int  # 1/65536 turn
    spin: int  # 1/2048 turn per tick
    flags: int

    def position_at(self, tick: int) -> tuple[int, int]:
        """Predicted position in fine units at `tick` (>= t0)."""
        t = tick - self.t0
        return (
            predict_position(self.x, self.vx, self.ax, t),
            predict_position(self.y, self.vy, self.ay, t),
        )

    def velocity_at(self, tick: int) -> tuple[int, int]:
        t = tick - self.t0
        return predict_velocity(self.vx, self.ax, t), predict_velocity(self.vy, self.ay, t)

    def angle_at(self, tick: int) -> int:
        return predict_angle(self.angle, self.spin, tick - self.t0)

    def metres_at(self, tick: int) -> tuple[float, float]:
        x, y = self.position_at(tick)
        return x / FINE_PER_M, y / FINE_PER_M


@dataclass(frozen=True, slots=True)
class Update:
    """One decoded update frame; records already turned into absolute references."""

    tick: int
    seq: int
    resync: bool
    shift: int
    origin_x: int  # 1/4 m
    origin_y: int
    new: tuple[Reference, ...]
    updated: tuple[Reference, ...]
    removed: tuple[int, ...]


def _put_varint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _put_ids_section(out: bytearray, ids: Iterable[int]) -> int:
    prev = 0
    n = 0
    for ident in ids:
        if not prev < ident <= MAX_ENTITY_ID:
            raise ValueError(f"section ids must ascend within 1..{MAX_ENTITY_ID}: {ident}")
        _put_varint(out, ident - prev)
        prev = ident
        n += 1
    return n


def encode_update(
    tick: int,
    seq: int,
    origin: tuple[int, int],
    new: Sequence[tuple[int, int, Body]],
    updated: Sequence[tuple[int, Body]],
    removed: Sequence[int],
    *,
    resync: bool = False,
    shift: int = 0,
) -> bytes:
    """The reference encoder: `new` holds (id, kind, body), `updated` (id, body), `removed`
    ids; each section ascending by id. ValueError for anything the format cannot carry."""
    if max(len(new), len(updated), len(removed)) > MAX_SECTION:
        raise ValueError(f"a section holds at most {MAX_SECTION} entries")
    if not 0 <= shift <= MAX_SHIFT:
        raise ValueError(f"shift must be within 0..{MAX_SHIFT}")
    out = bytearray(
        HEADER.pack(
            MSG_UPDATE,
            FLAG_RESYNC if resync else 0,
            shift,
            0,
            tick & 0xFFFFFFFF,
            seq & 0xFFFFFFFF,
            origin[0],
            origin[1],
            len(new),
            len(updated),
            len(removed),
        )
    )
    prev = 0
    for ident, kind, body in new:
        if not prev < ident <= MAX_ENTITY_ID:
            raise ValueError(f"section ids must ascend within 1..{MAX_ENTITY_ID}: {ident}")
        _put_varint(out, ident - prev)
        prev = ident
        out.append(kind)
        out += BODY.pack(*body)
    prev = 0
    for ident, body in updated:
        if not prev < ident <= MAX_ENTITY_ID:
            raise ValueError(f"section ids must ascend within 1..{MAX_ENTITY_ID}: {ident}")
        _put_varint(out, ident - prev)
        prev = ident
        out += BODY.pack(*body)
    _put_ids_section(out, removed)
    return bytes(out)


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = HEADER.size

    def next_id(self, prev: int) -> int:
        data, pos = self.data, self.pos
        value = shift = 0
        for i in range(MAX_VARINT_BYTES):
            if pos + i >= len(data):
                raise ProtocolError(ErrorCode.BAD_FRAME, "update frame ends inside an id")
            byte = data[pos + i]
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                self.pos = pos + i + 1
                break
        else:
            raise ProtocolError(ErrorCode.BAD_FRAME, "an id varint is longer than 8 bytes")
        ident = prev + value
        if value == 0 or ident > MAX_ENTITY_ID:
            raise ProtocolError(
                ErrorCode.BAD_FRAME, "ids in a section must ascend and stay within 2^53 - 1"
            )
        return ident

    def take(self, n: int) -> int:
        start = self.pos
        if start + n > len(self.data):
            raise ProtocolError(ErrorCode.BAD_FRAME, "update frame ends inside a record")
        self.pos = start + n
        return start


def decode_update(frame: bytes) -> Update:
    """Decode one update frame into absolute references (t0 = the frame's tick). Raises
    ProtocolError(BAD_FRAME) for a frame that is short, long, of another type, or whose
    sections do not follow the format."""
    if len(frame) < HEADER.size:
        raise ProtocolError(ErrorCode.BAD_FRAME, "update frame shorter than its 26-byte header")
    kind, flags, shift, reserved, tick, seq, ox, oy, n_new, n_upd, n_rem = HEADER.unpack_from(frame)
    if kind != MSG_UPDATE:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"frame type {kind} is not a v2 update (2)")
    if flags & ~FLAG_RESYNC or reserved or shift > MAX_SHIFT:
        raise ProtocolError(ErrorCode.BAD_FRAME, "update header has bits this version lacks")
    reader = _Reader(frame)
    step = QUARTER_FINE << shift

    def reference(ident: int, kind: int) -> Reference:
        b = Body(*BODY.unpack_from(frame, reader.take(BODY.size)))
        if b.flags & ~RECORD_FLAGS:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"record flags {b.flags:#x} out of the set")
        return Reference(
            ident,
            kind,
            tick,
            ox * QUARTER_FINE + b.dx * step,
            oy * QUARTER_FINE + b.dy * step,
            b.vx,
            b.vy,
            b.ax,
            b.ay,
            b.angle,
            b.spin,
            b.flags,
        )

    new = []
    prev = 0
    for _ in range(n_new):
        prev = reader.next_id(prev)
        ent_kind = frame[reader.take(1)]
        if ent_kind not in KINDS:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"entity kind {ent_kind} is not 1-4")
        new.append(reference(prev, ent_kind))
    updated = []
    prev = 0
    for _ in range(n_upd):
        prev = reader.next_id(prev)
        updated.append(reference(prev, 0))
    removed = []
    prev = 0
    for _ in range(n_rem):
        prev = reader.next_id(prev)
        removed.append(prev)
    if reader.pos != len(frame):
        raise ProtocolError(
            ErrorCode.BAD_FRAME, f"update frame has {len(frame) - reader.pos} bytes past its end"
        )
    return Update(
        tick, seq, bool(flags & FLAG_RESYNC), shift, ox, oy, tuple(new), tuple(updated),
        tuple(removed),
    )  # fmt: skip


@dataclass(slots=True)
class ClientView:
    """What a v2 client knows: one reference per entity in view, kept by applying every update
    frame in order. `apply` raises ProtocolError(BAD_FRAME) when a frame does not fit the view
    (a sequence gap without RESYNC, an update or removal of an entity it does not hold, a new
    entity it already holds): the client should then send `resync`."""

    entities: dict[int, Reference] = field(default_factory=dict)
    seq: int = 0
    tick: int = 0
    origin: tuple[int, int] = (0, 0)

    def apply(self, update: Update) -> None:
        if not update.resync and update.seq != (self.seq + 1) & 0xFFFFFFFF:
            raise ProtocolError(
                ErrorCode.BAD_FRAME, f"update {update.seq} after {self.seq} without RESYNC"
            )
        entities = {} if update.resync else dict(self.entities)
        for ref in update.new:
            if ref.id in entities:
                raise ProtocolError(ErrorCode.BAD_FRAME, f"entity {ref.id} is already in view")
            entities[ref.id] = ref
        for ref in update.updated:
            old = entities.get(ref.id)
            if old is None:
                raise ProtocolError(ErrorCode.BAD_FRAME, f"update of {ref.id}, not in view")
            entities[ref.id] = Reference(
                ref.id, old.kind, ref.t0, ref.x, ref.y, ref.vx, ref.vy, ref.ax, ref.ay,
                ref.angle, ref.spin, ref.flags,
            )  # fmt: skip
        for ident in update.removed:
            if entities.pop(ident, None) is None:
                raise ProtocolError(ErrorCode.BAD_FRAME, f"removal of {ident}, not in view")
        self.entities = entities
        self.seq, self.tick = update.seq, update.tick
        self.origin = (update.origin_x, update.origin_y)

    def apply_frame(self, frame: bytes) -> Update:
        """Decode and apply one frame; returns the decoded update."""
        update = decode_update(frame)
        self.apply(update)
        return update
