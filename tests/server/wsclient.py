"""Test helpers: real WebSocket players built on the bots' client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from callister.bots.client import Bot


async def player(live: Any, http: aiohttp.ClientSession, name: str) -> Bot:
    """Register `name` and connect it (full view tracked)."""
    bot = Bot(live.http, live.ws, name, session=http, track_view=True, jump_every_s=0)
    await bot.register()
    await bot.connect()
    return bot


async def pump_until(bots: list[Bot], cond: Callable[[], bool], timeout: float = 10.0) -> None:
    """Receive on every bot until `cond()` holds; fail after `timeout` seconds."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.gather(*(b.pump(0.05) for b in bots))


async def raw_socket(
    live: Any, http: aiohttp.ClientSession, token: str
) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(live.ws, max_msg_size=1 << 20)
    await ws.send_str(json.dumps({"t": "hello", "token": token, "v": 1}))
    return ws


async def next_json(
    ws: aiohttp.ClientWebSocketResponse, kind: str, timeout: float = 5.0
) -> dict[str, Any]:
    """Skip frames until a JSON message of type `kind` arrives."""
    end = time.monotonic() + timeout
    while True:
        msg = await asyncio.wait_for(ws.receive(), max(0.01, end - time.monotonic()))
        if msg.type == aiohttp.WSMsgType.TEXT:
            data = json.loads(msg.data)
            if data.get("t") == kind:
                return data  # type: ignore[no-any-return]
        elif msg.type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.CLOSING,
        ):
            raise AssertionError(f"socket closed ({ws.close_code}) while waiting for {kind}")


async def close_code(ws: aiohttp.ClientWebSocketResponse, timeout: float = 10.0) -> int | None:
    """Read until the server closes; the code from its close frame (aiohttp may report 1006
    once the transport is gone, so the frame is the reliable source)."""
    end = time.monotonic() + timeout
    while True:
        msg = await asyncio.wait_for(ws.receive(), max(0.01, end - time.monotonic()))
        if msg.type == aiohttp.WSMsgType.CLOSE:
            return int(msg.data)
        if msg.type in (
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.CLOSING,
            aiohttp.WSMsgType.ERROR,
        ):
            return ws.close_code
