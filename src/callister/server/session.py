"""One client's WebSocket as the server holds it: its outbound queue, its message budget and the
view of the world it has acknowledged.

A `Session` is written to by the gateway and its fan-out only (server/gateway.py,
server/fanout.py); what a client's message means is decided in server/commands.py, which never
sees a session's socket. Snapshots go straight to the socket's transport (`write_frame_now`);
JSON messages are never dropped: they queue behind a slow socket, up to JSON_QUEUE_MAX.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any

import numpy as np
import numpy.typing as npt
from aiohttp import WSCloseCode, WSMsgType, web

from callister.protocol.limits import MAX_WS_MESSAGE
from callister.server.bus import Subscription
from callister.server.frames import (
    binary_header,
    close_later,
    frame_header,
    socket_transport,
    write_frame_now,
)
from callister.server.keepalive import KEEPALIVE
from callister.server.metrics import Metrics
from callister.server.settings import Settings
from callister.server.world import Pilot
from callister.store import Account

log = logging.getLogger(__name__)

CLOSE_TOO_SLOW = 4413  # the client does not read: JSON_QUEUE_MAX characters of JSON wait
VIEW_HISTORY = 32  # snapshots kept per client as possible delta bases
SNAPSHOT_BACKLOG = 64 * 1024  # bytes queued in the socket beyond which snapshots are skipped
JSON_BACKLOG = 1024 * 1024  # beyond which JSON waits in the session's queue
JSON_QUEUE_MAX = 4 * 1024 * 1024  # characters of JSON queued beyond which the socket is closed
FLOOD_GAP_S = 1.0  # a second without a dropped message ends a flood


async def open_socket(request: web.Request, *, full: bool) -> web.WebSocketResponse:
    """Accept a client's WebSocket (the protocol's message size limit, no compression:
    snapshots are already packed; pings and pongs are the read loop's, see
    server/keepalive.py). When the server is `full` the socket is closed at once with 1013
    "server full" (the caller sees `ws.closed` and returns it)."""
    ws = web.WebSocketResponse(
        max_msg_size=MAX_WS_MESSAGE, heartbeat=None, autoping=False, compress=False
    )
    await ws.prepare(request)
    if full:
        await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"server full")
    else:
        KEEPALIVE.watch(ws)
    return ws


class Session:
    """One authenticated WebSocket: its ship, its acknowledged view, its outbound queue."""

    def __init__(
        self, ws: web.WebSocketResponse, account: Account, settings: Settings, metrics: Metrics
    ) -> None:
        self.ws = ws
        self.account = account
        self.pilot: Pilot | None = None
        self.ship_id = 0  # set once the pilot is in the world; a ship keeps its id for life
        self.zone_key: str | None = None
        self.seq = 0
        self.acked = 0
        self.views: dict[int, npt.NDArray[np.uint64]] = {}  # seq -> record words
        self.introduced: set[int] = set()
        self._json: deque[str] = deque()
        self._json_queued = 0  # characters in _json
        self._wake = asyncio.Event()
        self.metrics = metrics
        self._tokens = settings.msg_burst
        self._rate, self._burst = settings.msg_rate, settings.msg_burst
        self._refill_at = time.monotonic()
        self._flood_since: float | None = None  # the first dropped message of this flood
        self._last_drop = 0.0
        self._last_rate_error = 0.0
        self.closed = False
        self.sender: asyncio.Task[None] | None = None
        self.subscription: Subscription | None = None
        self.account_sub: Subscription | None = None
        self.target = 0  # the entity the player has locked (for the status message)
        self.last_status: dict[str, Any] | None = None
        self.last_status_tick = 0
        # what the last status was built from, while the client has that status: the same
        # key next time means the same status (server/fanout.py `_statuses`); None: build it
        self.status_key: tuple[Any, ...] | None = None
        self.status_until = 0  # ...before this tick (a change held back is due then)
        self.status_cargo: dict[str, int] | None = None
        self.status_drift: tuple[float, float] | None = None  # its energy and fuel, whole points
        # the status's fuel outlook, reused for a couple of seconds (server/fanout.py)
        self.outlook: dict[str, Any] | None = None
        self.outlook_tick = 0
        self.outlook_place: tuple[str, int | None] | None = None
        self.outlook_fuel = 0.0
        self.requests: set[asyncio.Task[None]] = set()
        # issue 6: a moderator watching with no ship (hello.spectate): its snapshots are
        # centred on the entity it follows, or on (cam_x, cam_y) when that is not in view
        self.spectator = False
        self.follow = 0
        self.cam_x = self.cam_y = 0.0
        # the protocol version this socket speaks (hello.v, docs/protocol.md "Negotiation"); a
        # v2 socket's view lives in its zone's ViewEngine (server/views.py) as `view_slot`
        self.version = 1
        self.view_slot: int | None = None
        self.view_seer = False  # the slot is in the engine that shows invisible GM ships
        # the view is built by the gateway process holding the socket (cluster/edge.py): the
        # zone's frame goes there, and this process keeps no slot for it
        self.edge = False
        # frames held back while the fan-out handles one zone tick (its `Cork`, shared by the
        # zone's sockets: `join_cork`): written in one go
        self._cork = Cork()  # its own (never on) until it joins a zone's
        self._corked: list[bytes | memoryview] = []  # header, payload, header, ...
        self._corked_to: Any = None  # the transport they go to (read at the first frame)
        self._corked_size = 0  # bytes waiting in the transport then, plus those held
        self._tx: Any = None  # the socket's transport, once known (`_transport`)
        # a socket relayed from a gateway process (cluster/remote.py) writes to the bus
        self._relay: Any = getattr(ws, "write_direct", None)

    @property
    def centre_id(self) -> int:
        """The entity this session's view is centred on (0: none, a spectator's fixed camera)."""
        return self.follow if self.spectator else self.ship_id

    @property
    def phase_key(self) -> int:
        """Spreads sessions over the snapshot phases (a spectator has no ship id to use)."""
        return self.ship_id or self.account.id

    def send_json(self, text: str) -> None:
        """Reliable, ordered: written now, or queued behind earlier messages if the socket is
        backed up (the sender task flushes the queue when it drains). A client that lets more
        than JSON_QUEUE_MAX characters queue up is not reading: its socket is closed with
        CLOSE_TOO_SLOW rather than the server holding its messages without bound."""
        if self.closed:
            return
        if not self._json and self._write_now(text.encode(), WSMsgType.TEXT, JSON_BACKLOG):
            return
        self._json.append(text)
        self._json_queued += len(text)
        self._wake.set()
        if self._json_queued > JSON_QUEUE_MAX:
            self._close_slow()

    def _close_slow(self) -> None:
        self.closed = True
        self._json.clear()
        self._json_queued = 0
        self.metrics.inc("callister_slow_clients_closed_total")
        log.warning("closing a client that does not read", extra={"account": self.account.id})
        close_later(self.ws, CLOSE_TOO_SLOW, b"too slow: messages piled up")

    def send_snapshot(self, data: bytes | memoryview) -> bool:
        """Best effort: written now unless the socket is backed up, then skipped. A skipped
        snapshot is never acknowledged, so later deltas are based on what the client has."""
        if self.closed or self._json:
            return False
        return self._write_now(data, WSMsgType.BINARY, SNAPSHOT_BACKLOG)

    def send_update(self, data: bytes | memoryview) -> bool:
        """A v2 update: the last frame a zone tick sends this socket (its introductions,
        effects and status come first), so whatever the tick held back goes out with it in
        one write now. Best effort, as `send_snapshot`. (A zone's updates go out together
        through `send_updates`.)"""
        if self._corked or self.closed or self._json or self._relay is not None:
            return self._update_behind(data)
        view = memoryview(data)
        return not send_updates([self], view, [0], [len(view)])

    def _update_behind(self, data: bytes | memoryview) -> bool:
        """`send_update` for a socket that is not the common case: frames held (they go
        first, in the same write), closed or JSON queued (skipped), or relayed."""
        if self.closed or self._json:
            return False
        if not self._corked:
            return self.send_snapshot(data)  # a relayed socket: to the bus
        if not self._write_now(data, WSMsgType.BINARY, SNAPSHOT_BACKLOG):
            return False
        self.uncork()
        return True

    def _transport(self) -> Any:
        """The socket's transport (kept: it is the same for the socket's life), or None once
        it is closing or its close has begun (see `socket_transport`)."""
        transport = self._tx
        if transport is None:
            transport = self._tx = socket_transport(self.ws)
        elif transport.is_closing() or self.ws.closed:
            return None
        return transport

    def join_cork(self, cork: Cork | None) -> None:
        """Hold this socket's frames whenever `cork` is on (its zone's tick is being fanned
        out), from now; None: its own again (no zone). Frames it holds now go out first
        (a socket's frames keep their order: the new zone's `system` message after the last
        zone's status)."""
        if self._corked:
            self.uncork()
        self._cork = Cork() if cork is None else cork

    def uncork(self) -> None:
        """Write the frames held under its cork in one write (`Cork.release` does, for each
        socket that held some)."""
        held, transport = self._corked, self._corked_to
        if not held:
            return
        self._corked, self._corked_to = [], None
        if transport.is_closing() or self.ws.closed:  # a close began during the tick
            return
        try:
            transport.write(b"".join(held))
        except (ConnectionError, RuntimeError):
            return
        self._count_sent(sum(map(len, held[1::2])))

    def _write_now(self, data: bytes | memoryview, opcode: WSMsgType, backlog: int) -> bool:
        if self._cork.on and self._relay is None:  # (a relayed socket writes to the bus)
            if self._corked_to is None:  # the tick's first frame: the transport, once
                transport = self._transport()
                if transport is None:
                    return False
                self._corked_to = transport
                self._corked_size = transport.get_write_buffer_size()  # what already waits
            size = len(data)
            if self._corked_size + size > backlog:
                return False
            if not self._corked:
                self._cork.held.append(self)  # written when the cork is released
            self._corked += (frame_header(opcode, size), data)
            self._corked_size += size
        else:
            if self._relay is not None:  # a session relayed from a gateway process
                if not self._relay(data, opcode == WSMsgType.BINARY, backlog):
                    return False
            elif not write_frame_now(self.ws, data, opcode, backlog):
                return False
            self._count_sent(len(data))
        if opcode == WSMsgType.BINARY:
            self.metrics.counters["callister_snapshots_sent_total"] += 1
        return True

    def _count_sent(self, size: int) -> None:
        self.metrics.counters["callister_bytes_sent_total"] += size

    async def run_sender(self) -> None:
        """Flushes JSON messages that could not be written at once (the slow path). Whatever
        the socket takes now is written in one go; only a backed-up socket is awaited. (One
        await per message would let a queue outlive its cause on a busy server: each await
        resumes a whole loop iteration later, and snapshots wait while JSON is queued.)"""
        while not self.closed:
            await self._wake.wait()
            self._wake.clear()
            try:
                while self._json:
                    text = self._json[0]
                    if self._write_now(text.encode(), WSMsgType.TEXT, JSON_BACKLOG):
                        self._json.popleft()
                        self._json_queued -= len(text)
                        continue
                    self._json.popleft()
                    self._json_queued -= len(text)
                    await self.ws.send_str(text)  # waits for the socket to drain
                    self.metrics.inc("callister_bytes_sent_total", len(text))
            except (ConnectionResetError, RuntimeError):
                return

    def allow_message(self, flood_strikes: float, now: float | None = None) -> bool | None:
        """Token bucket. True: go on; False: drop with RATE_LIMITED; None: close for flooding.

        A flood starts with the first dropped message and goes on while drops follow each
        other within FLOOD_GAP_S; once it has lasted `flood_strikes` seconds the socket is
        closed (docs/protocol.md)."""
        now = time.monotonic() if now is None else now
        self._tokens = min(self._burst, self._tokens + (now - self._refill_at) * self._rate)
        self._refill_at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        if self._flood_since is None or now - self._last_drop > FLOOD_GAP_S:
            self._flood_since = now
        self._last_drop = now
        if now - self._flood_since >= flood_strikes:
            return None
        return False

    def should_report_rate(self) -> bool:
        now = time.monotonic()
        if now - self._last_rate_error >= 1.0:
            self._last_rate_error = now
            return True
        return False

    def ack(self, seq: int) -> None:
        if seq in self.views and seq > self.acked:
            self.acked = seq
            for old in [s for s in self.views if s < seq]:
                del self.views[old]

    def end(self) -> None:
        """The socket is done: nothing more is written, its requests are cancelled."""
        self.closed = True
        self._wake.set()
        for task in self.requests:
            task.cancel()

    def reset_view(self) -> None:
        self.views.clear()
        self.acked = 0


class Cork:
    """One zone's tick being fanned out (Fanout._on_zone_tick): while `on`, its sockets hold
    what the tick sends them (status, effects, introductions, then the update), and each
    socket's frames go out in one write, with its update (`send_updates`) or when the cork
    is released. Shared by the zone's sockets (`Session.join_cork`), so holding and
    releasing cost one step, not one per socket."""

    __slots__ = ("held", "on")

    def __init__(self) -> None:
        self.on = False
        self.held: list[Session] = []  # the sockets holding frames under it now

    def hold(self) -> None:
        self.on = True

    def release(self) -> None:
        """Stop holding; write what each socket still holds (most wrote theirs with their
        update)."""
        self.on = False
        held, self.held = self.held, []
        for session in held:
            session.uncork()


def send_updates(
    sessions: list[Session], data: memoryview, starts: list[int], ends: list[int]
) -> list[int]:
    """A zone tick's updates, `data[starts[i]:ends[i]]` to `sessions[i]`, each as
    `Session.send_update`; the indices of those not sent (skipped or closed: their views
    resync). The common case, a crowd's thousand sockets a tick with nothing held for them,
    is written here in one pass: the transport kept per session, one system call each, the
    counters added up once."""
    failed: list[int] = []
    sent = total = 0
    for i, session in enumerate(sessions):
        if session._corked or session.closed or session._json or session._relay is not None:
            if session._update_behind(data[starts[i] : ends[i]]):
                continue
            failed.append(i)
            continue
        transport = session._transport()
        size = ends[i] - starts[i]
        if transport is None or transport.get_write_buffer_size() + size > SNAPSHOT_BACKLOG:
            failed.append(i)
            continue
        try:
            transport.write(
                (_HEADERS[size] if size < _HEADERS_KEPT else binary_header(size))
                + data[starts[i] : ends[i]]
            )
        except (ConnectionError, RuntimeError):
            failed.append(i)
            continue
        sent += 1
        total += size
    if sent:
        counters = sessions[0].metrics.counters
        counters["callister_bytes_sent_total"] += total
        counters["callister_snapshots_sent_total"] += sent
    return failed


_HEADERS_KEPT = 4096  # updates are a few hundred bytes: their headers are built once
_HEADERS = [binary_header(size) for size in range(_HEADERS_KEPT)]
