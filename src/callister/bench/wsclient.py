"""A minimal RFC 6455 WebSocket client on an `asyncio.Protocol`, for the load generators.

Why not aiohttp's client: its reader wakes one coroutine per frame, and a load generator holding
a thousand sockets at 20 frames a second each spends most of a core on those wake-ups, which
preempts the server it measures. Here frames are parsed straight from `data_received` and handed
to the subclass's `on_binary` / `on_text` in the same call: no task, no future, no copy of the
payload (a binary payload is a memoryview, valid only during the call).

What a client must do and nothing more: the upgrade handshake (random key, the 101 and its
Sec-WebSocket-Accept checked), masked client frames, pong to ping, close answered with close,
fragmented messages reassembled. Bad input from the server never raises out of `data_received`:
a frame that breaks the framing (reserved bits, an unknown opcode, a masked or oversize frame, a
bad control frame) is counted through `on_error` with a `WS_*` code and fails the connection
(close 1002/1009, as RFC 6455 7.1.7 asks); a stream cut inside a frame counts `WS_TRUNCATED`.
A refused or malformed handshake is a `WsError` from `open_ws` that says what came back.

Imports nothing of the server: it is written from RFC 6455 and docs/protocol.md.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import random
from collections.abc import Callable
from typing import Final, TypeVar, cast
from urllib.parse import urlsplit

GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_HEADERS: Final = 16 * 1024  # a 101 response is a few hundred bytes
OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
DATA_OPS: Final = frozenset({OP_CONT, OP_TEXT, OP_BINARY})
CONTROL_OPS: Final = frozenset({OP_CLOSE, OP_PING, OP_PONG})


class WsError(Exception):
    """The WebSocket could not be opened (refused, malformed or silent handshake)."""


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept a server must answer `key` with (RFC 6455 4.2.2)."""
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def mask(payload: bytes, key: int) -> bytes:
    """`payload` XORed with the 32-bit masking `key` repeated (RFC 6455 5.3), as one big-int
    XOR: the control frames here are a few bytes, so no per-byte Python loop."""
    n = len(payload)
    if n == 0:
        return b""
    keys = key.to_bytes(4, "big") * (n // 4 + 1)
    return (int.from_bytes(payload, "big") ^ int.from_bytes(keys[:n], "big")).to_bytes(n, "big")


def frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked client frame. The mask comes from `random.getrandbits`, not a CSPRNG:
    masking protects intermediaries from a hostile page's chosen bytes, and a load generator on
    loopback has neither, so the cheap generator is enough (RFC 6455 10.3 asks for
    unpredictability against browsers' scripts)."""
    n = len(payload)
    key = random.getrandbits(32)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 1 << 16:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + key.to_bytes(4, "big") + mask(payload, key)


class WsClient(asyncio.Protocol):
    """One client socket. Subclasses override `on_binary`, `on_text`, `on_error`, `on_close`;
    `opened` resolves once the handshake is through (or fails with a WsError)."""

    def __init__(self, max_size: int = 1 << 20) -> None:
        self.max_size = max_size
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.open = False  # handshake through, not closed
        self.closed = False
        self.close_code: int | None = None
        self._request = b""
        self._key = ""
        self._head = bytearray()  # the handshake response so far
        self._buf = bytearray()  # an incomplete frame carried to the next read
        self._frag_op = 0  # a fragmented message's opcode while it is being reassembled
        self._frag = bytearray()
        self._sent_close = False

    # -- what a subclass sees --------------------------------------------------------------

    def on_binary(self, payload: memoryview) -> None:
        """A binary message (the memoryview is valid only during the call)."""

    def on_text(self, text: str) -> None:
        """A text message."""

    def on_error(self, code: str, detail: str) -> None:
        """A counted protocol error (`WS_*` codes); the connection is failed after it."""

    def on_close(self) -> None:
        """The connection is gone (close handshake, failure or lost socket)."""

    # -- sending ---------------------------------------------------------------------------

    def send_binary(self, payload: bytes) -> bool:
        """Queue a binary message; False when the socket is no longer open."""
        return self._send(OP_BINARY, payload)

    def send_text(self, text: str) -> bool:
        return self._send(OP_TEXT, text.encode())

    def close(self, code: int = 1000) -> None:
        """Say close (once) and let the transport flush and shut."""
        if self.transport is not None and self.open and not self._sent_close:
            self._sent_close = True
            self.transport.write(frame(OP_CLOSE, code.to_bytes(2, "big")))
        self._finish()

    def _send(self, opcode: int, payload: bytes) -> bool:
        if not self.open or self.transport is None or self.transport.is_closing():
            return False
        self.transport.write(frame(opcode, payload))
        return True

    # -- asyncio.Protocol ------------------------------------------------------------------

    def request(self, host: str, path: str) -> None:
        """Set what the upgrade request asks for (before the connection is made)."""
        self._key = base64.b64encode(os.urandom(16)).decode()
        self._request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {self._key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are no subclasses of asyncio.Transport, only alike
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self._request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(
                WsError(f"connection closed during the handshake ({exc or 'EOF'})")
            )
        elif self._buf and not self.closed:
            self.on_error("WS_TRUNCATED", f"the stream ended inside a frame ({len(self._buf)} B)")
        self._buf.clear()
        self._finish()

    def data_received(self, data: bytes) -> None:
        if not self.open:
            if self.closed or self.opened.done():
                return
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                if len(self._head) > MAX_HEADERS:
                    self._refuse(f"no end of the handshake response in {MAX_HEADERS} bytes")
                return
            rest = bytes(self._head[end + 4 :])
            problem = self._check_response(bytes(self._head[:end]))
            self._head.clear()
            if problem:
                self._refuse(problem)
                return
            self.open = True
            self.opened.set_result(None)
            if not rest:
                return
            data = rest
        self._frames(data)

    # -- internals -------------------------------------------------------------------------

    def _check_response(self, head: bytes) -> str:
        """What is wrong with the handshake response ("" when nothing)."""
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ", 2)
        if len(status) < 2 or not status[0].startswith("HTTP/"):
            return f"not an HTTP response: {lines[0][:80]!r}"
        if status[1] != "101":
            return f"handshake refused: {lines[0][:120]}"
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("upgrade", "").lower() != "websocket":
            return f"101 without Upgrade: websocket ({headers.get('upgrade')!r})"
        if "upgrade" not in headers.get("connection", "").lower():
            return f"101 without Connection: Upgrade ({headers.get('connection')!r})"
        if headers.get("sec-websocket-accept") != accept_key(self._key):
            return f"wrong Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r}"
        return ""

    def _refuse(self, why: str) -> None:
        if not self.opened.done():
            self.opened.set_exception(WsError(why))
        self._finish()

    def _finish(self) -> None:
        was_open = not self.closed
        self.open = False
        self.closed = True
        if self.transport is not None:
            self.transport.close()
        if was_open:
            self.on_close()

    def _fail(self, code: str, detail: str, status: int = 1002) -> None:
        """Count a protocol error and fail the connection (RFC 6455 7.1.7)."""
        self.on_error(code, detail)
        self._buf.clear()
        self.close(status)

    def _frames(self, data: bytes) -> None:
        """Parse every whole frame in the carried bytes plus `data`; keep the incomplete tail."""
        if self._buf:
            self._buf += data
            view = memoryview(self._buf)  # the carried bytes are ours: hand them over
            self._buf = bytearray()
        else:
            view = memoryview(data)
        n, pos = len(view), 0
        while n - pos >= 2:
            b0, b1 = view[pos], view[pos + 1]
            length, head = b1 & 0x7F, 2
            if length == 126:
                if n - pos < 4:
                    break
                length, head = int.from_bytes(view[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if n - pos < 10:
                    break
                length, head = int.from_bytes(view[pos + 2 : pos + 10], "big"), 10
            opcode = b0 & 0x0F
            if b0 & 0x70:
                return self._fail("WS_BAD_FRAME", f"reserved bits set (0x{b0:02x})")
            if opcode not in DATA_OPS and opcode not in CONTROL_OPS:
                return self._fail("WS_BAD_FRAME", f"unknown opcode 0x{opcode:x}")
            if b1 & 0x80:
                return self._fail("WS_BAD_FRAME", "a masked frame from the server")
            if opcode in CONTROL_OPS and (length > 125 or not b0 & 0x80):
                return self._fail("WS_BAD_FRAME", f"bad control frame (op {opcode}, {length} B)")
            if length > self.max_size:
                return self._fail("WS_TOO_BIG", f"a {length} B frame (limit {self.max_size})", 1009)
            end = pos + head + length
            if end > n:
                break
            self._frame(b0 & 0x80, opcode, view[pos + head : end])
            pos = end
            if self.closed:
                return
        if pos < n:
            self._buf += view[pos:]

    def _frame(self, fin: int, opcode: int, payload: memoryview) -> None:
        if opcode == OP_BINARY and fin and not self._frag_op:
            self.on_binary(payload)  # the hot path: one update
        elif opcode in (OP_TEXT, OP_BINARY):
            if self._frag_op:
                return self._fail("WS_BAD_FRAME", "a new message inside a fragmented one")
            if fin:
                self._text(payload)
            else:
                self._frag_op = opcode
                self._frag += payload
        elif opcode == OP_CONT:
            if not self._frag_op:
                return self._fail("WS_BAD_FRAME", "a continuation with nothing to continue")
            self._frag += payload
            if len(self._frag) > self.max_size:
                return self._fail("WS_TOO_BIG", f"a message over {self.max_size} B", 1009)
            if fin:
                op, whole = self._frag_op, bytes(self._frag)
                self._frag_op = 0
                self._frag.clear()
                if op == OP_BINARY:
                    self.on_binary(memoryview(whole))
                else:
                    self._text(memoryview(whole))
        elif opcode == OP_PING:
            self._send(OP_PONG, bytes(payload))
        elif opcode == OP_CLOSE:
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            # answer with the status received (RFC 6455 5.5.1); 1005 is never sent
            self.close(self.close_code if self.close_code != 1005 else 1000)
        # a pong needs nothing

    def _text(self, payload: memoryview) -> None:
        try:
            text = str(payload, "utf-8")
        except UnicodeDecodeError as exc:
            return self._fail("WS_BAD_UTF8", f"a text message that is not UTF-8 ({exc})", 1007)
        self.on_text(text)


W = TypeVar("W", bound=WsClient)


async def open_ws(url: str, factory: Callable[[], W], timeout: float = 30.0) -> W:
    """Connect `factory()`'s client to `url` (ws://host:port/path) and finish the handshake
    within `timeout` seconds. WsError says why when it cannot; OSError when nobody listens."""
    parts = urlsplit(url)
    if parts.scheme != "ws" or not parts.hostname:
        raise WsError(f"only ws:// URLs, not {url!r}")
    port = parts.port or 80
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    client = factory()
    client.request(parts.netloc, path)
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            await loop.create_connection(lambda: client, parts.hostname, port)
            await client.opened
    except TimeoutError:
        client._finish()
        raise WsError(f"no WebSocket handshake from {url} within {timeout:g} s") from None
    return client
