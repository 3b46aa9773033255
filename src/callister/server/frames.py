"""Writing WebSocket frames straight to a socket's transport (RFC 6455, server side).

aiohttp's own send_* are coroutines; one task switch per frame would cost more than the
snapshot itself (measured), so the server builds a frame's header itself and writes header and
payload in one write (one system call), as aiohttp's send_frame does for uncompressed frames.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from aiohttp import WSMsgType


def frame_header(opcode: int, length: int) -> bytes:
    """A server-to-client WebSocket frame's header (RFC 6455 §5.2: FIN set, no mask, no
    compression) for a payload of `length` bytes."""
    if length < 126:
        return _SHORT.pack(0x80 | opcode, length)
    if length < 0x10000:
        return _MEDIUM.pack(0x80 | opcode, 126, length)
    return _LONG.pack(0x80 | opcode, 127, length)


_SHORT, _MEDIUM, _LONG = struct.Struct("!BB"), struct.Struct("!BBH"), struct.Struct("!BBQ")
_BINARY = 0x80 | WSMsgType.BINARY.value
_PACK_MEDIUM = _MEDIUM.pack


def binary_header(length: int) -> bytes:
    """`frame_header` of a binary frame, for the update path (a crowd's thousand a tick):
    plain ints, the common sizes first."""
    if 126 <= length < 0x10000:
        return _PACK_MEDIUM(_BINARY, 126, length)
    return frame_header(WSMsgType.BINARY, length)


def socket_transport(ws: Any) -> Any:
    """The socket's transport, or None when it is closing or aiohttp's internals moved.

    A socket whose close has begun (`ws.closed`: aiohttp has sent, or is sending, its close
    frame) counts as closing although its transport stays open for the client's reply: a
    frame written after the close frame breaks RFC 6455, and a browser fails the socket
    with "Data frame received after close"."""
    if getattr(ws, "closed", False):
        return None
    transport = getattr(getattr(ws, "_writer", None), "transport", None)
    if transport is None or transport.is_closing():
        return None
    return transport


def write_frame_now(ws: Any, data: bytes | memoryview, opcode: WSMsgType, backlog: int) -> bool:
    """Write one frame straight to the socket's transport; False (nothing written) if the
    socket is closing, has more than `backlog` bytes waiting, or aiohttp's internals moved.

    Callers fall back to their queued path."""
    transport = socket_transport(ws)
    if transport is None or transport.get_write_buffer_size() > backlog:
        return False
    try:
        transport.write(frame_header(opcode, len(data)) + data)
    except (ConnectionError, RuntimeError):
        return False
    return True


_CLOSING: set[asyncio.Task[Any]] = set()  # closes under way, kept from the collector


def close_later(ws: Any, code: int, message: bytes) -> None:
    """Close `ws` beside the caller, not awaited: the close waits for the client's close frame
    (up to aiohttp's close timeout) and must outlive whatever decided it (a session's clean-up
    cancels its own tasks)."""
    task = asyncio.get_running_loop().create_task(ws.close(code=code, message=message))
    _CLOSING.add(task)
    task.add_done_callback(_CLOSING.discard)
