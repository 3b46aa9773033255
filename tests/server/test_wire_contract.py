"""What docs/protocol.md promises a client author about the live wire, held on a real server:
`/api/me` before the first hello, the docked start, snapshots of a ship at rest, and what
happens without acks."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
from tests.conftest import LiveServer
from tests.server.test_http import register
from tests.server.wsclient import next_json, raw_socket

from callister.protocol.messages import BINARY_ACK, BINARY_ACK_TYPE
from callister.protocol.snapshot import Snapshot, decode_snapshot


async def snapshots(ws: aiohttp.ClientWebSocketResponse, count: int, ack: bool) -> list[Snapshot]:
    """The next `count` snapshots, acknowledging each (binary ack) when `ack`."""
    got: list[Snapshot] = []
    end = time.monotonic() + 20.0
    while len(got) < count:
        msg = await asyncio.wait_for(ws.receive(), max(0.01, end - time.monotonic()))
        assert msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY), msg
        if msg.type == aiohttp.WSMsgType.BINARY:
            snap = decode_snapshot(msg.data)
            got.append(snap)
            if ack:
                await ws.send_bytes(BINARY_ACK.pack(BINARY_ACK_TYPE, snap.seq))
    return got


async def raw_player(
    live: LiveServer, http: aiohttp.ClientSession, name: str
) -> tuple[aiohttp.ClientWebSocketResponse, int]:
    """A new player on a bare socket (the hello sent, no client code in between): the socket,
    and the ship its welcome gives it."""
    token = (await register(http, live, name))["token"]
    ws = await raw_socket(live, http, token)
    return ws, (await next_json(ws, "welcome"))["ship"]


async def test_me_has_no_ship_before_the_first_hello(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    token = (await register(http, live, "Newbie"))["token"]
    auth = {"Authorization": f"Bearer {token}"}
    async with http.get(f"{live.http}/api/me", headers=auth) as r:
        me = await r.json()
    assert "ship" not in me and isinstance(me["id"], int)
    ws = await raw_socket(live, http, token)
    welcome = await next_json(ws, "welcome")
    system = (await next_json(ws, "system"))["system"]
    async with http.get(f"{live.http}/api/me", headers=auth) as r:
        ship = (await r.json())["ship"]
    # a starter ship, docked at the home station: home_station indexes the system's stations
    assert ship["id"] == welcome["ship"] and isinstance(welcome["ship"], int)
    assert ship["docked_at"] == welcome["home_station"]
    assert system["stations"][welcome["home_station"]]["index"] == welcome["home_station"]
    await ws.close()


async def test_a_docked_ship_is_in_the_full_snapshot_then_only_when_it_changes(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    ws, ship = await raw_player(live, http, "Parked")
    # held controls while docked move nothing (and are not an error)
    await ws.send_str(json.dumps({"t": "input", "ship": ship, "thrust": 1.0, "turn": 1.0}))
    got = await snapshots(ws, 12, ack=True)
    first = got[0]
    assert first.full and ship in first.changed["id"].tolist()
    assert first.changed[first.changed["id"] == ship]["flags"][0] & 1  # docked
    deltas = [s for s in got[1:] if not s.full]  # (a FULL one if an ack came in late)
    assert len(deltas) >= 5
    for snap in deltas:
        assert snap.base_seq > 0
        assert ship not in snap.changed["id"].tolist()  # at rest: nothing to resend
        assert ship not in snap.removed.tolist()  # but never out of the view
    await ws.close()


async def test_without_acks_every_snapshot_is_full(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    ws, ship = await raw_player(live, http, "Silent")
    got = await snapshots(ws, 6, ack=False)
    assert all(s.full and s.base_seq == 0 for s in got)
    assert all(ship in s.changed["id"].tolist() for s in got)
    await ws.close()
