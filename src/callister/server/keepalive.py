"""Keeping every client socket alive with one timer, not one per frame received.

aiohttp's own heartbeat re-arms a timer through the event loop for every frame a socket
receives (`call_soon`, then `call_at`): at a thousand clients sending their controls that was
about a twelfth of the server's time (py-spy, `callister bench crowd`, docs/benchmarks.md).
Here a socket's read loop only notes when it last heard from the client (`heard`, a dict store)
and answers pings itself (`control`); one sweep every SWEEP_S seconds pings the sockets silent
for PING_AFTER_S (a client holding its controls sends nothing) and closes with 1011 those that
stayed silent DEAD_AFTER_S, not even answering the ping: a peer gone without a word.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from aiohttp import WSCloseCode, WSMessage, WSMsgType

from callister.server.frames import close_later, frame_header, socket_transport

PING_AFTER_S = 20.0  # as aiohttp's heartbeat did
DEAD_AFTER_S = 40.0  # a ping unanswered for PING_AFTER_S more
SWEEP_S = 5.0


class Keepalive:
    """The sockets of this process and when each last heard from its client."""

    def __init__(self, ping_after: float = PING_AFTER_S, dead_after: float = DEAD_AFTER_S) -> None:
        self.ping_after, self.dead_after = ping_after, dead_after
        self._heard: dict[Any, float] = {}
        self._sweeper: asyncio.Task[None] | None = None

    def watch(self, ws: Any) -> None:
        """Keep `ws` alive from now (the sweep forgets it once it is closed)."""
        self._heard[ws] = time.monotonic()
        sweeper = self._sweeper
        loop = asyncio.get_running_loop()
        if sweeper is None or sweeper.done() or sweeper.get_loop() is not loop:
            self._sweeper = loop.create_task(self._sweep_forever(), name="keepalive")

    def heard(self, ws: Any) -> None:
        """The client said something (any frame): it is alive."""
        self._heard[ws] = time.monotonic()

    def control(self, ws: Any, msg: WSMessage) -> bool:
        """Whether `msg` is a ping or pong, which this handles (a ping is answered with a pong
        carrying its payload, RFC 6455 §5.5.3); the read loop skips it."""
        if msg.type == WSMsgType.PING:
            transport = socket_transport(ws)
            if transport is not None:
                payload = bytes(msg.data or b"")  # aiohttp may hand a bytearray
                transport.write(frame_header(WSMsgType.PONG, len(payload)) + payload)
            return True
        return msg.type == WSMsgType.PONG

    def sweep(self, now: float | None = None) -> None:
        """Ping the silent sockets, close the dead ones, forget the closed ones."""
        now = time.monotonic() if now is None else now
        for ws, heard in list(self._heard.items()):
            if ws.closed:
                del self._heard[ws]
                continue
            silent = now - heard
            if silent >= self.dead_after:
                del self._heard[ws]
                close_later(ws, WSCloseCode.INTERNAL_ERROR, b"no answer to pings")
            elif silent >= self.ping_after:
                transport = socket_transport(ws)
                if transport is not None:
                    transport.write(frame_header(WSMsgType.PING, 0))

    async def _sweep_forever(self) -> None:
        while self._heard:
            await asyncio.sleep(SWEEP_S)
            with contextlib.suppress(Exception):
                self.sweep()


KEEPALIVE = Keepalive()
"""The process's keepalive: `open_socket` watches every client socket with it."""
