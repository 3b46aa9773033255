"""Binary snapshot frames (server -> client), packed with numpy and no per-entity Python objects.

Layout (little-endian), documented in docs/protocol.md:

    header (20 bytes): u8 type=1, u8 version, u16 n_changed, u16 n_removed, u16 flags,
                       u32 tick, u32 seq, u32 base_seq (0 = not a delta)
    n_changed records of RECORD_DTYPE (24 bytes each)
    n_removed u64 entity ids

A delta (base_seq != 0) carries only the records that differ from the state the client had after
snapshot `base_seq`, which it acknowledged; entities absent from that state are new; ids listed as
removed have left the client's view. A full snapshot (flag FULL) replaces the client's state.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.limits import PROTOCOL_VERSION

MSG_SNAPSHOT = 1
FLAG_FULL = 1

# Positions in 1/16 m (covers +-134,000 km, far past any system), velocities in 1/16 m/s,
# angle in 1/65536 of a turn. Quantising to integers makes unchanged entities byte-identical,
# which is what the delta comparison relies on.
POS_SCALE = 16.0
VEL_SCALE = 16.0
ANGLE_SCALE = 65536.0 / (2.0 * np.pi)

RECORD_DTYPE = np.dtype(
    [
        ("id", "<u8"),
        ("x", "<i4"),
        ("y", "<i4"),
        ("vx", "<i2"),
        ("vy", "<i2"),
        ("angle", "<u2"),
        ("kind", "u1"),
        ("flags", "u1"),
    ]
)
assert RECORD_DTYPE.itemsize == 24

# Record comparisons use a raw view: 24 bytes = three u64 words.
_WORDS = np.dtype((np.void, RECORD_DTYPE.itemsize))

HEADER = struct.Struct("<BBHHHIII")
assert HEADER.size == 20


def quantise(
    ids: npt.NDArray[np.uint64],
    x: npt.NDArray[np.floating],
    y: npt.NDArray[np.floating],
    vx: npt.NDArray[np.floating],
    vy: npt.NDArray[np.floating],
    angle: npt.NDArray[np.floating],
    kind: npt.NDArray[np.uint8],
    flags: npt.NDArray[np.uint8],
) -> npt.NDArray[np.void]:
    """Pack entity columns into records once per tick; clients then gather rows by index."""
    out = np.empty(len(ids), dtype=RECORD_DTYPE)
    out["id"] = ids
    out["x"] = np.clip(np.rint(x * POS_SCALE), -(2**31), 2**31 - 1)
    out["y"] = np.clip(np.rint(y * POS_SCALE), -(2**31), 2**31 - 1)
    out["vx"] = np.clip(np.rint(vx * VEL_SCALE), -(2**15), 2**15 - 1)
    out["vy"] = np.clip(np.rint(vy * VEL_SCALE), -(2**15), 2**15 - 1)
    out["angle"] = (np.rint(np.mod(angle, 2.0 * np.pi) * ANGLE_SCALE).astype(np.int64)) & 0xFFFF
    out["kind"] = kind
    out["flags"] = flags
    return out


EMPTY_RECORDS = np.empty(0, dtype=RECORD_DTYPE)


def encode_snapshot(
    tick: int,
    seq: int,
    base_seq: int,
    changed: npt.NDArray[np.void] | npt.NDArray[np.uint64],
    removed: npt.NDArray[np.uint64],
) -> bytes:
    """One binary snapshot frame. base_seq 0 means a full snapshot. `changed` holds one record
    per row: RECORD_DTYPE records, or the same bytes as rows of three u64 words."""
    flags = FLAG_FULL if base_seq == 0 else 0
    header = HEADER.pack(
        MSG_SNAPSHOT,
        PROTOCOL_VERSION,
        len(changed),
        len(removed),
        flags,
        tick & 0xFFFFFFFF,
        seq,
        base_seq,
    )
    if removed.dtype != np.dtype("<u8"):
        removed = removed.astype("<u8")
    return b"".join((header, changed.tobytes(), removed.tobytes()))


@dataclass(frozen=True, slots=True)
class Snapshot:
    tick: int
    seq: int
    base_seq: int
    full: bool
    changed: npt.NDArray[np.void]
    removed: npt.NDArray[np.uint64]


def decode_snapshot(frame: bytes) -> Snapshot:
    """Decode a snapshot frame (bots and tests use this). Raises ProtocolError when malformed."""
    if len(frame) < HEADER.size:
        raise ProtocolError(ErrorCode.BAD_FRAME, "snapshot shorter than its header")
    kind, version, n_changed, n_removed, flags, tick, seq, base = HEADER.unpack_from(frame)
    if kind != MSG_SNAPSHOT or version != PROTOCOL_VERSION:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"not a v{PROTOCOL_VERSION} snapshot")
    want = HEADER.size + n_changed * RECORD_DTYPE.itemsize + n_removed * 8
    if len(frame) != want:
        raise ProtocolError(
            ErrorCode.BAD_FRAME, f"snapshot is {len(frame)} bytes, header says {want}"
        )
    changed = np.frombuffer(frame, dtype=RECORD_DTYPE, count=n_changed, offset=HEADER.size)
    removed = np.frombuffer(
        frame, dtype="<u8", count=n_removed, offset=HEADER.size + n_changed * RECORD_DTYPE.itemsize
    )
    return Snapshot(tick, seq, base, bool(flags & FLAG_FULL), changed, removed)


def apply_snapshot(view: npt.NDArray[np.void], snap: Snapshot) -> npt.NDArray[np.void]:
    """The client's state after `snap`, given its state `view` at snap.base_seq (sorted by id)."""
    if snap.full:
        return np.sort(snap.changed, order="id")
    keep = ~np.isin(view["id"], snap.removed) & ~np.isin(view["id"], snap.changed["id"])
    merged = np.concatenate([view[keep], snap.changed])
    return np.sort(merged, order="id")
