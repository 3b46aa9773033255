"""server/keepalive.py on real sockets: silent clients are pinged, dead ones closed, and a
client's own pings answered, with one sweep instead of a timer per frame received."""

from __future__ import annotations

import time

import aiohttp
from tests.conftest import LiveServer
from tests.server.wsclient import close_code, next_json, player

from callister.server.keepalive import DEAD_AFTER_S, KEEPALIVE, PING_AFTER_S
from callister.server.session import Session


async def _silent_socket(
    live: LiveServer, http: aiohttp.ClientSession, name: str, *, answers_pings: bool
) -> tuple[aiohttp.ClientWebSocketResponse, Session]:
    """A player's second socket that never sends a frame of its own; `answers_pings`: whether
    its client answers the server's pings (aiohttp's autoping) or is a peer gone silent."""
    bot = await player(live, http, name)
    assert bot.token
    ws = await http.ws_connect(live.ws, autoping=answers_pings, heartbeat=None)
    await ws.send_json({"t": "hello", "token": bot.token, "v": 1})
    welcome = await next_json(ws, "welcome")
    session = live.services.gateway.sessions[welcome["account"]]
    assert session.ws is not None
    return ws, session


async def test_a_silent_client_is_pinged_and_kept_while_it_answers(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    ws, session = await _silent_socket(live, http, "Quiet", answers_pings=True)
    KEEPALIVE.sweep(time.monotonic() + PING_AFTER_S + 1)  # silent long enough: pinged
    heard = KEEPALIVE._heard[session.ws]
    deadline = time.monotonic() + 10
    while KEEPALIVE._heard[session.ws] == heard:  # its pong comes back through the read loop
        assert time.monotonic() < deadline, "no pong heard"
        await ws.receive(timeout=0.5)  # the client reads (and so answers the ping)
    KEEPALIVE.sweep(heard + DEAD_AFTER_S - 1)
    assert not session.ws.closed


async def test_a_client_that_answers_nothing_is_closed_1011(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    ws, _ = await _silent_socket(live, http, "Gone", answers_pings=False)
    KEEPALIVE.sweep(time.monotonic() + DEAD_AFTER_S + 1)
    assert await close_code(ws) == aiohttp.WSCloseCode.INTERNAL_ERROR


async def test_a_clients_ping_is_answered_before_and_after_its_hello(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    bot = await player(live, http, "Pinger")
    ws = await http.ws_connect(live.ws, autoping=False, heartbeat=None)
    await ws.ping(b"early")
    msg = await ws.receive(timeout=10)
    assert (msg.type, msg.data) == (aiohttp.WSMsgType.PONG, b"early")
    await ws.send_json({"t": "hello", "token": bot.token, "v": 1})
    await next_json(ws, "welcome")
    await ws.ping(b"later")
    deadline = time.monotonic() + 10
    while True:
        msg = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
        if msg.type == aiohttp.WSMsgType.PONG:
            assert msg.data == b"later"
            break
