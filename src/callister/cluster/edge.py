"""Views built at the edge: a zone's worker hands each gateway its zone frame once per tick,
and the gateway builds its v2 players' views from it (cluster/edge_views.py), so per-client
view work scales out over gateway processes (issue 17's serving path, `bench moonshot`).

A gateway with `edge_views` on says so in its attach requests; the worker's fan-out
(server/fanout.py, `EdgeSink`) then keeps that gateway's v2 players (not spectators, not
sessions that see game masters' invisible ships) out of its own view engines, and per zone tick
adds ONE `F` item to the gateway's batch (after the tick's statuses and events for those
players, so they still precede their update):

    F payload: header `<HIII` (zone key bytes, epoch, due sessions, entries, frame bytes
    follow), the zone key (UTF-8), per due session its id (32 ASCII bytes) and ship id
    (uint64), per entry an entity id (uint64), a length (uint32) and its `ents` entry (JSON),
    then the packed frame (sim/framepack.py).

Entries go once per gateway and zone: the worker remembers what it sent under an `epoch`; a
new epoch (state forgotten or grown too big) tells the gateway to forget its table and take the
frame's entries afresh. An entry that changed (a moderator or game-master mark) is sent again,
and the gateway re-introduces it to its players who already know the ship.

Kinds to the gateway for one session: `U` (its view is no longer built there: it left the zone,
turned seer, or closed; the next frames give a fresh slot, or the worker sends its updates) and
`R` (the client asked for its whole view; its next update is a RESYNC).
"""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from callister.cluster.remote import RESYNC, SID_BYTES, Batcher, RemoteSocket
from callister.cluster.subjects import out_subject
from callister.server.session import Session
from callister.sim import ZoneFrame
from callister.sim.framepack import pack_frame, unpack_frame

FRAME: Final = b"F"  # worker -> gateway: a zone's frame for the gateway's due players
UNEDGE: Final = b"U"  # worker -> gateway: this session's view is not built there any more
NO_SID: Final = "0" * SID_BYTES  # the batch slot of an item for no one session

_HEAD: Final = struct.Struct("<HIIII")  # key bytes, epoch, due, entries, frame bytes
_DUE: Final = struct.Struct(f"<{SID_BYTES}sQ")
_ENT: Final = struct.Struct("<QI")
MAX_ENTRY: Final = 4096  # bytes of one `ents` entry (a name and a few marks)
_RESET_AFTER: Final = 4  # entries remembered past this many times the frame: a new epoch
FORGET_S: Final = 30.0
"""A gateway sent no frame of a zone this long: what it was sent is forgotten (its next frame
starts a new epoch). A gateway forgets a zone nobody there watches after twice this long, so it
never forgets entries its worker still counts on."""


@dataclass(frozen=True, slots=True)
class EdgeFrame:
    """One parsed `F` item."""

    key: str
    epoch: int
    due: list[tuple[str, int]]  # (session id, ship id)
    entries: list[tuple[int, bytes]]  # (entity id, `ents` entry JSON)
    frame: ZoneFrame


def pack_edge_frame(
    key: str,
    epoch: int,
    due: list[tuple[str, int]],
    entries: list[tuple[int, bytes]],
    packed_frame: bytes,
) -> bytes:
    raw_key = key.encode()
    parts = [_HEAD.pack(len(raw_key), epoch, len(due), len(entries), len(packed_frame)), raw_key]
    parts += [_DUE.pack(sid.encode("ascii"), ship) for sid, ship in due]
    for ent_id, entry in entries:
        parts += [_ENT.pack(ent_id, len(entry)), entry]
    parts.append(packed_frame)
    return b"".join(parts)


def parse_edge_frame(payload: bytes | memoryview) -> EdgeFrame:
    """The inverse of `pack_edge_frame`; ValueError for anything malformed (sizes that do not
    add up, a bad session id, an oversized entry)."""
    data = bytes(payload)
    if len(data) < _HEAD.size:
        raise ValueError("F item shorter than its header")
    key_len, epoch, n_due, n_ents, frame_len = _HEAD.unpack_from(data)
    at = _HEAD.size
    if at + key_len + n_due * _DUE.size + n_ents * _ENT.size + frame_len > len(data):
        raise ValueError("F item shorter than its header says")
    try:
        key = data[at : at + key_len].decode()
    except UnicodeDecodeError as exc:
        raise ValueError("F item's zone key is not UTF-8") from exc
    at += key_len
    due = []
    for _ in range(n_due):
        sid, ship = _DUE.unpack_from(data, at)
        if not sid.isascii():
            raise ValueError("F item holds a bad session id")
        due.append((sid.decode("ascii"), int(ship)))
        at += _DUE.size
    entries = []
    for _ in range(n_ents):
        if at + _ENT.size > len(data):
            raise ValueError("F item's entries overrun it")
        ent_id, size = _ENT.unpack_from(data, at)
        at += _ENT.size
        if size > MAX_ENTRY or at + size > len(data):
            raise ValueError("F item holds an oversized entry")
        entries.append((int(ent_id), data[at : at + size]))
        at += size
    if len(data) - at != frame_len:
        raise ValueError(f"F item's frame must be {frame_len} bytes, not {len(data) - at}")
    return EdgeFrame(key, epoch, due, entries, unpack_frame(data[at:]))


@dataclass
class _Sent:
    """What one gateway was sent of one zone's entries (under `epoch`)."""

    epoch: int
    ids: set[int]
    last: float = 0.0  # (monotonic) when the last frame went


class EdgeFrames:
    """The worker's `EdgeSink` (server/fanout.py): frames, entries and session notices to the
    gateways that build views, in each gateway's batch (ordered with the sessions' frames)."""

    def __init__(self, batcher: Batcher) -> None:
        self.batcher = batcher
        self._sent: dict[tuple[str, str], _Sent] = {}  # (gateway, zone) -> entries it has
        self.frames_sent = 0

    @staticmethod
    def _socket(session: Session) -> RemoteSocket | None:
        ws: Any = session.ws
        return ws if isinstance(ws, RemoteSocket) else None

    def serves(self, session: Session) -> bool:
        sock = self._socket(session)
        return sock is not None and sock.builds_views

    def frame(
        self, key: str, frame: ZoneFrame, due: list[Session], entry: Callable[[int], str]
    ) -> None:
        by_gateway: dict[str, list[tuple[str, int]]] = {}
        for session in due:
            sock = self._socket(session)
            if sock is not None and not sock.closed:
                by_gateway.setdefault(sock.gateway, []).append((sock.sid, session.ship_id))
        if not by_gateway:
            return
        packed = pack_frame(frame)
        ids = frame.ids.tolist()
        now = time.monotonic()
        for gateway, sessions in by_gateway.items():
            sent = self._sent.get((gateway, key))
            if (
                sent is None
                or len(sent.ids) > _RESET_AFTER * len(ids) + 256
                or now - sent.last > FORGET_S
            ):
                # (projectiles come and go: what is remembered is kept near the frame's size)
                sent = self._sent[(gateway, key)] = _Sent(random.getrandbits(32), set())
            sent.last = now
            entries = []
            for ent_id in ids:
                if ent_id not in sent.ids:
                    sent.ids.add(ent_id)
                    text = entry(ent_id)
                    if text:
                        entries.append((ent_id, text.encode()))
            payload = pack_edge_frame(key, sent.epoch, sessions, entries, packed)
            self.batcher.add(out_subject(gateway), NO_SID, FRAME, payload)
            self.frames_sent += 1

    def drop(self, session: Session) -> None:
        sock = self._socket(session)
        if sock is not None:
            self.batcher.add(out_subject(sock.gateway), sock.sid, UNEDGE, b"")

    def resync(self, session: Session) -> None:
        sock = self._socket(session)
        if sock is not None:
            self.batcher.add(out_subject(sock.gateway), sock.sid, RESYNC, b"")

    def changed(self, ship: int) -> None:
        for sent in self._sent.values():  # sent again with the next frame that holds it
            sent.ids.discard(ship)

    def sweep(self) -> None:
        """Forget what went to zones' gateways that were sent no frame for FORGET_S."""
        now = time.monotonic()
        for pair in [p for p, sent in self._sent.items() if now - sent.last > FORGET_S]:
            del self._sent[pair]

    def forget(self, gateway: str) -> None:
        """The gateway is gone: what it was sent is forgotten (a new epoch if it returns)."""
        for pair in [p for p in self._sent if p[0] == gateway]:
            del self._sent[pair]
