"""Version negotiation as docs/protocol.md states it today ("Protocol v2", Status): a hello
asking for v2 is accepted, and `welcome.v` tells the client which version the server speaks on
that socket — v1 until the gateway's v2 integration lands (which changes this test)."""

from __future__ import annotations

import json

import aiohttp
from tests.conftest import LiveServer
from tests.server.wsclient import next_json


async def test_a_v2_hello_is_welcomed_with_the_version_spoken(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    body = {"name": "negotiator", "password": "password-1"}
    async with http.post(f"{live.http}/api/register", json=body) as resp:
        token = (await resp.json())["token"]
    ws = await http.ws_connect(live.ws)
    await ws.send_str(json.dumps({"t": "hello", "token": token, "v": 2}))
    welcome = await next_json(ws, "welcome")
    assert welcome["v"] == 1
    await ws.close()
