"""Client sessions relayed between a gateway process and the worker that owns the ship's zone.

A gateway holds the client's WebSocket and nothing of the game; the session's logic (the same
`server.gateway.Gateway` code the single process runs) runs on the worker that owns the zone the
ship is in, against a `RemoteSocket` that looks like the socket to it. Frames cross NATS as they
are (no re-encoding): one byte of kind, then the payload.

Subjects (cluster/subjects.py has them all, with who may publish and subscribe; zone keys are
``<world>.<x>.<y>``; NATS tokens may hold ``-``):

- ``cl.attach.<zone>``      request, gateway -> the zone's owner: start (or resume) a session.
- ``cl.claim.<worker>``     request, gateway/admin -> a worker: acquire a zone's lease and load it.
- ``cl.move.<zone>``        request, admin -> the zone's owner: drain it and hand it to a worker.
- ``cl.in.<worker>``        gateway -> worker: clients' frames (and their close), batched.
- ``cl.out.<gateway>``       worker -> gateway: frames for clients, close, moved, batched.

Frames travel in batches, one NATS message per destination per event-loop turn: every snapshot
a worker's tick makes for the sessions of one gateway goes as one message. Per-message costs
(a publish, the client's protocol parser, a callback) would otherwise be paid per frame, and
they are what made a relayed player cost more than a direct one. A batch is a sequence of
(session id: 32 ASCII bytes, kind: 1 byte, length: uint32 LE, payload); frames of one session
keep their order.
- ``cl.hb.worker`` / ``cl.hb.gateway``  heartbeats with load (placement) and liveness.

Relayed sessions speak either protocol version (docs/protocol.md), as the client's hello asks:
the gateway passes the hello's ``v`` in the attach and the worker's session answers with it. A
v2 update is a delta against the update before it, so one the gateway cannot write (a backed-up
client) must not just vanish, as a v1 snapshot may (the client never acks it): the gateway asks
the worker for a RESYNC (the ``R`` kind, outside the client's message budget) and drops the
session's updates until a RESYNC comes. A session attached to another worker (a jump's hand-off,
a live move, a failover) has a fresh view there: its first update is a RESYNC, as on entering a
system in one process.

A gateway may build its v2 players' views itself from one frame per zone tick (`edge_views`,
cluster/edge.py): the worker then sends their statuses and events as above and the frame as
one `F` item; the updates are the gateway's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import WSMsgType

from callister.cluster.subjects import (  # noqa: F401 (the subjects' builders, re-exported)
    GATEWAY_HEARTBEAT,
    WORKER_HEARTBEAT,
    attach_subject,
    claim_subject,
    in_subject,
    move_subject,
    out_subject,
)

# kinds of relayed frames (first byte)
TEXT = b"T"  # a text frame (JSON), either way
BINARY = b"B"  # a binary frame (v1 snapshot and ack, v2 update and controls), either way
CLOSE = b"C"  # close the client socket (worker -> gateway) / the client left (gateway -> worker)
MOVED = b"M"  # worker -> gateway: the ship is now in another zone; attach there (`follow`)
RESYNC = b"R"  # gateway -> worker: the client missed a v2 update; its next must be a RESYNC
# (worker -> gateway, for a session whose view the gateway builds: the client asked for a RESYNC)
# F (a zone's frame) and U (a view no longer built there): cluster/edge.py

HEARTBEAT_EVERY = 0.5  # seconds between heartbeats of every process
WORKER_DEAD_AFTER = 2.0  # a worker silent this long is presumed dead by gateways
GATEWAY_DEAD_AFTER = 5.0  # a gateway silent this long: its relayed sessions are dropped


SID_BYTES = 32  # session ids: uuid4().hex
_HEAD = struct.Struct(f"<{SID_BYTES}scI")
MAX_BATCH = 512 * 1024  # a batch this big goes at once (NATS max_payload is far above)


def new_sid() -> str:
    return uuid.uuid4().hex


class Batcher:
    """Gathers frames per destination subject and publishes each destination's frames as one
    message when the current event-loop callback (e.g. a whole tick) is done."""

    def __init__(self, bus: RawBus, delay: float = 0.0) -> None:
        """`delay` 0: flush when the current loop callback is done (a worker's tick makes all
        its snapshots in one callback). A gateway receives clients' frames one socket read at
        a time, so it waits `delay` seconds to gather them (10 acks and inputs a second per
        client would otherwise each be a NATS message)."""
        self.bus = bus
        self.delay = delay
        self._bufs: dict[str, bytearray] = {}
        self._scheduled = False
        self.pending = 0  # bytes gathered, not yet handed to the bus

    def add(self, subject: str, sid: str, kind: bytes, data: bytes | memoryview) -> None:
        buf = self._bufs.get(subject)
        if buf is None:
            buf = self._bufs[subject] = bytearray()
        buf += _HEAD.pack(sid.encode("ascii"), kind, len(data))
        buf += data
        self.pending += _HEAD.size + len(data)
        if len(buf) >= MAX_BATCH:
            self._send(subject)
        elif not self._scheduled:
            self._scheduled = True
            if self.delay > 0:
                asyncio.get_running_loop().call_later(self.delay, self.flush)
            else:
                asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        for subject in list(self._bufs):
            self._send(subject)

    def _send(self, subject: str) -> None:
        buf = self._bufs.pop(subject)
        self.pending -= len(buf)
        self.bus.publish_raw(subject, bytes(buf))


def frames(payload: bytes) -> Iterator[tuple[str, bytes, memoryview]]:
    """The (session id, kind, payload) frames of a batch; ValueError if it is malformed."""
    view = memoryview(payload)
    pos, end = 0, len(view)
    while pos < end:
        if pos + _HEAD.size > end:
            raise ValueError("truncated frame header in a batch")
        sid, kind, length = _HEAD.unpack_from(view, pos)
        pos += _HEAD.size
        if pos + length > end:
            raise ValueError("truncated frame in a batch")
        yield sid.decode("ascii", "replace"), kind, view[pos : pos + length]
        pos += length


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class RawBus(Protocol):
    """What a RemoteSocket needs of the NATS bus (cluster/nats_bus.py)."""

    def publish_raw(self, subject: str, data: bytes) -> None: ...

    @property
    def queue_bytes(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Frame:
    """What `async for msg in ws` yields in aiohttp: a type and its data."""

    type: WSMsgType
    data: Any


class RemoteSocket:
    """The worker's stand-in for a client's WebSocket held by a gateway process.

    `Gateway.serve` runs against it unchanged: it iterates over inbound frames, writes
    snapshots through `write_direct` (best effort, skipped when the bus is backed up, as with a
    slow socket) and JSON through `send_str`, and closes it.
    """

    def __init__(
        self, batcher: Batcher, gateway: str, sid: str, address: str, account_id: int = 0
    ) -> None:
        self.batcher, self.bus = batcher, batcher.bus
        self.gateway, self.sid, self.address = gateway, sid, address
        self.account_id = account_id
        self._out = out_subject(gateway)
        self._inbox: asyncio.Queue[Frame | None] = asyncio.Queue()
        self.closed = False
        self.close_code: int | None = None
        self.last_in = time.monotonic()
        # the gateway builds this session's v2 view itself (its attach said so: cluster/edge.py)
        self.builds_views = False

    # ---------------------------------------------------------------- inbound (gateway -> us)
    def deliver(self, kind: bytes, payload: bytes | memoryview) -> None:
        """A relayed frame from the gateway (the worker's cl.in.<worker> subscription)."""
        self.last_in = time.monotonic()
        if kind == TEXT:
            text = bytes(payload).decode("utf-8", "replace")
            self._inbox.put_nowait(Frame(WSMsgType.TEXT, text))
        elif kind == BINARY:
            self._inbox.put_nowait(Frame(WSMsgType.BINARY, bytes(payload)))
        elif kind == CLOSE:
            self.closed = True
            self._inbox.put_nowait(None)

    def hang_up(self) -> None:
        """End the session without telling the gateway (it is gone, or was told already)."""
        self.closed = True
        self._inbox.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._frames()

    async def _frames(self) -> AsyncIterator[Frame]:
        while True:
            frame = await self._inbox.get()
            if frame is None:
                return
            yield frame

    # --------------------------------------------------------------- outbound (us -> gateway)
    def write_direct(self, data: bytes, binary: bool, backlog: int) -> bool:
        if self.closed:
            return False
        if binary and self.bus.queue_bytes > backlog:
            return False  # the bus is backed up: skip the snapshot, like a slow socket
        self.batcher.add(self._out, self.sid, BINARY if binary else TEXT, data)
        return True

    async def send_str(self, text: str) -> None:
        if not self.closed:
            self.batcher.add(self._out, self.sid, TEXT, text.encode())

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        if self.closed:
            return False
        self.closed = True
        self.close_code = code
        reason = message.decode("utf-8", "replace")
        self.batcher.add(self._out, self.sid, CLOSE, _json({"code": code, "reason": reason}))
        self._inbox.put_nowait(None)
        return True

    def moved(self, zone: str, *, follow: bool = False) -> None:
        """Tell the gateway the ship went to `zone` (another worker) and end the session here.
        `follow`: the ship jumped there (a hand-off): the session follows it, and the client,
        which has its welcome, hears only that it arrived (as in one process)."""
        if self.closed:
            return
        self.closed = True
        self.batcher.add(self._out, self.sid, MOVED, _json({"zone": zone, "follow": follow}))
        self._inbox.put_nowait(None)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "peername":
            return (self.address, 0)
        return default


async def scatter(
    nc: Any, subject: str, payload: bytes, *, expect: int, timeout: float = 2.0
) -> list[bytes]:
    """Publish a request every subscriber answers (not just the first, as `request` does) and
    collect the answers until `expect` came or `timeout` passed."""
    inbox = nc.new_inbox()
    answers: list[bytes] = []
    done = asyncio.Event()

    async def on_answer(msg: Any) -> None:
        answers.append(bytes(msg.data))
        if len(answers) >= expect:
            done.set()

    sub = await nc.subscribe(inbox, cb=on_answer)
    try:
        await nc.publish(subject, payload, reply=inbox)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout)
    finally:
        await sub.unsubscribe()
    return answers
