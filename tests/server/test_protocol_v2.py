"""Protocol v2 on the real gateway (docs/protocol.md, "Protocol v2"), over real sockets: the
version negotiated in `hello`, update frames that keep coming with no acknowledgement and keep
a client's view exact, `resync`, a reconnect starting from a RESYNC, binary controls that fly
the ship, every refused v2 frame with its error code, and v1 alongside it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from tests.conftest import LiveServer
from tests.server.wsclient import next_json
from tests.waiting import until

from callister.protocol.controls import encode_controls
from callister.protocol.snapshot import decode_snapshot
from callister.protocol.updates import ClientView, Update, decode_update


class V2:
    """A v2 client written from docs/protocol.md: it never acknowledges anything."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, welcome: dict[str, Any]) -> None:
        self.ws, self.welcome = ws, welcome
        self.ship = int(welcome["ship"])
        self.view = ClientView()
        self.updates: list[Update] = []
        self.json: list[dict[str, Any]] = []
        self.named: set[int] = set()  # ids introduced by `ents`
        self.unnamed_ships: list[int] = []  # ships in an update before their `ents`
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                update = decode_update(msg.data)
                self.view.apply(update)  # raises on any frame that does not fit the view
                self.unnamed_ships += [
                    r.id for r in update.new if r.kind == 1 and r.id not in self.named
                ]
                self.updates.append(update)
            elif msg.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(msg.data)
                self.json.append(data)
                if data.get("t") == "ents":
                    self.named.update(int(e["id"]) for e in data["ents"])

    def errors(self) -> list[str]:
        return [m["code"] for m in self.json if m.get("t") == "error"]

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.gather(self.task, return_exceptions=True)
        if self.task.done() and not self.task.cancelled() and self.task.exception():
            raise self.task.exception()  # type: ignore[misc]


async def register(live: LiveServer, http: aiohttp.ClientSession, name: str) -> str:
    body = {"name": name, "password": "password-1"}
    async with http.post(f"{live.http}/api/register", json=body) as resp:
        return str((await resp.json())["token"])


async def connect(
    live: LiveServer, http: aiohttp.ClientSession, token: str, v: int = 2
) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
    ws = await http.ws_connect(live.ws)
    await ws.send_str(json.dumps({"t": "hello", "token": token, "v": v}))
    return ws, await next_json(ws, "welcome", 30)


async def v2_client(live: LiveServer, http: aiohttp.ClientSession, name: str) -> V2:
    ws, welcome = await connect(live, http, await register(live, http, name))
    assert welcome["v"] == 2
    return V2(ws, welcome)


async def test_hello_negotiates_the_version(live: LiveServer, http: aiohttp.ClientSession) -> None:
    token = await register(live, http, "negotiator")
    ws, welcome = await connect(live, http, token, v=2)
    assert welcome["v"] == 2 and welcome["aoi_radius"] > 0 and welcome["tick_hz"] == 20
    await ws.close()
    ws, welcome = await connect(live, http, token, v=1)
    assert welcome["v"] == 1
    await ws.close()
    ws = await http.ws_connect(live.ws)
    await ws.send_str(json.dumps({"t": "hello", "token": token, "v": 3}))
    assert (await next_json(ws, "error"))["code"] == "BAD_VERSION"
    await ws.close()


async def test_updates_keep_coming_without_acks_and_keep_the_view_exact(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    a = await v2_client(live, http, "pilot-a")
    b = await v2_client(live, http, "pilot-b")
    # the first update is a RESYNC holding the client's own ship
    await until(lambda: a.updates, "a's first update")
    first = a.updates[0]
    assert first.resync and a.ship in {r.id for r in first.new}
    # fly: undock, then thrust and turn with binary controls (no ship id travels)
    await a.ws.send_str(json.dumps({"t": "undock", "ship": a.ship}))
    await until(lambda: any(m.get("kind") == "undocked" for m in a.json), "a undocked")
    await a.ws.send_bytes(encode_controls(1.0, 0.5, False))
    seen = len(a.updates)
    start = a.view.entities[a.ship]
    # updates keep coming though `a` never acknowledged one; every seq follows the last
    await until(lambda: len(a.updates) >= seen + 30, "30 more updates without acks")
    seqs = [u.seq for u in a.updates]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert not any(u.resync for u in a.updates[1:])
    moved = a.view.entities[a.ship]
    assert (moved.x, moved.y) != (start.x, start.y) and moved.flags & 2  # thrusting
    # b is in a's view, named by `ents` before the first update that held it
    await until(lambda: b.ship in a.view.entities, "b in a's view")
    assert a.unnamed_ships == [] and b.ship in a.named
    # what a predicts of its own ship is within the protocol's bounds of where the server
    # says it is (b sees a too: the same ship through another viewer's frames)
    await until(lambda: a.ship in b.view.entities, "a in b's view")
    tick = min(a.view.tick, b.view.tick)
    ax, ay = a.view.entities[a.ship].metres_at(tick)
    bx, by = b.view.entities[a.ship].metres_at(tick)
    assert abs(ax - bx) < 50 and abs(ay - by) < 50
    assert a.errors() == [] and b.errors() == []
    await a.close()
    await b.close()


async def test_resync_on_request_and_on_reconnect(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    token = await register(live, http, "resyncer")
    ws, welcome = await connect(live, http, token)
    c = V2(ws, welcome)
    await until(lambda: len(c.updates) >= 3, "three updates")
    # the `system` message (encoded once per system, its tick spliced in) is the system
    system = next(m for m in c.json if m["t"] == "system")
    x, y = system["system"]["x"], system["system"]["y"]
    async with http.get(f"{live.http}/api/universe/system", params={"x": x, "y": y}) as r:
        assert system["system"] == await r.json()
    assert isinstance(system["tick"], int) and isinstance(system["gates"], list)
    await c.ws.send_str(json.dumps({"t": "resync"}))
    n = len(c.updates)
    await until(lambda: any(u.resync for u in c.updates[n:]), "a RESYNC after asking for one")
    resync = next(u for u in c.updates[n:] if u.resync)
    assert c.ship in {r.id for r in resync.new}
    # acks (JSON or binary) are accepted and ignored on v2
    await c.ws.send_str(json.dumps({"t": "ack", "seq": resync.seq}))
    await c.ws.send_bytes(bytes([1]) + resync.seq.to_bytes(4, "little"))
    await c.close()
    assert c.errors() == []
    # a reconnect resumes the same ship, and its first update is a RESYNC
    ws, welcome = await connect(live, http, token)
    again = V2(ws, welcome)
    assert again.ship == c.ship
    await until(lambda: again.updates, "the first update after reconnecting")
    assert again.updates[0].resync and again.ship in again.view.entities
    await again.close()


async def test_bad_v2_frames_get_clear_errors(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    c = await v2_client(live, http, "clumsy")
    bad = [
        (b"\x02\x00\x00", "BAD_FRAME"),  # short
        (b"\x02\x00\x00\x00\x00", "BAD_FRAME"),  # long
        (b"\x07\x00\x00\x00", "BAD_FRAME"),  # another type
        (b"\x02\x02\x00\x00", "BAD_FIELD"),  # a flag bit other than brake
        (b"\x02\x00\x10\x80", "BAD_NUMBER"),  # turn -128
        (b"", "BAD_FRAME"),  # empty
    ]
    for frame, code in bad:
        await c.ws.send_bytes(frame)
        await until(lambda code=code: code in c.errors(), f"{code} for {frame!r}")
        c.json.clear()
    # none of them stopped the socket: controls still fly the ship, updates still come
    n = len(c.updates)
    await c.ws.send_bytes(encode_controls(0.0, 0.0, True))
    await until(lambda: len(c.updates) > n + 3, "updates after the refusals")
    await c.close()


async def test_v1_still_works_beside_v2(live: LiveServer, http: aiohttp.ClientSession) -> None:
    new = await v2_client(live, http, "modern")
    ws, welcome = await connect(live, http, await register(live, http, "classic"), v=1)
    assert welcome["v"] == 1
    ship = int(welcome["ship"])
    snapshot = None
    while snapshot is None:  # v1: binary snapshots, each acknowledged
        msg = await asyncio.wait_for(ws.receive(), 30)
        if msg.type == aiohttp.WSMsgType.BINARY:
            snapshot = decode_snapshot(msg.data)
    await ws.send_str(json.dumps({"t": "ack", "seq": snapshot.seq}))
    # v2's additions are refused on a v1 socket
    await ws.send_bytes(encode_controls(1.0, 0.0, False))
    assert (await next_json(ws, "error"))["code"] == "BAD_FRAME"
    await ws.send_str(json.dumps({"t": "resync"}))
    assert (await next_json(ws, "error"))["code"] == "UNKNOWN_TYPE"
    # and each sees the other
    await until(lambda: ship in new.view.entities, "the v1 ship in the v2 view")
    await ws.close()
    await new.close()


async def test_a_spectator_on_v2_watches_the_followed_ship(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    pilot = await v2_client(live, http, "watched")
    token = await register(live, http, "warden")
    live.services.store.accounts.set_role("warden", "moderator")
    ws = await http.ws_connect(live.ws)
    hello = {"t": "hello", "token": token, "v": 2, "spectate": True, "follow": pilot.ship}
    await ws.send_str(json.dumps(hello))
    welcome = await next_json(ws, "welcome", 30)
    assert welcome["v"] == 2 and welcome["spectate"] is True and welcome["ship"] == 0
    watcher = V2(ws, welcome)
    # the spectator's view is centred on the ship it follows and holds it; it is not in the
    # zone, so the pilot never sees it
    await until(lambda: pilot.ship in watcher.view.entities, "the followed ship in view")
    first = watcher.updates[0]
    assert first.resync
    x, y = watcher.view.entities[pilot.ship].metres_at(first.tick)
    assert abs(first.origin_x / 4 - x) < 1 and abs(first.origin_y / 4 - y) < 1
    # (the pilot's own first update may still be on its way: wait for it, then it holds only
    # its own ship — the spectator has none)
    await until(lambda: bool(pilot.view.entities), "the pilot's first update")
    assert set(pilot.view.entities) == {pilot.ship}
    assert watcher.errors() == []
    await watcher.close()
    await pilot.close()
