"""A small protocol v2 server for the load generator's tests.

Stand-in for the gateway, which does not speak v2 yet (its integration follows the gateway
restructuring): real aiohttp sockets, real `Zone`s stepped at 20 Hz, the real `ViewEngine`
building every frame and the real v2 decoder reading every client frame. It keeps only what a
gateway adds around those (accounts, sessions) as simply as possible: registration hands out a
token, `hello` with v 2 spawns a shuttle in the crowd's disc (or, for a name ending in "-obs",
alone in a second zone), binary controls become Input intents.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import secrets
import time
from dataclasses import dataclass, field

import numpy as np
from aiohttp import WSMsgType, web

from callister.bench.crowd import SENSOR_RADIUS_M, UPDATE_HZ, disc_radius
from callister.content import load_content
from callister.protocol.controls import ControlsMsg, ResyncMsg, decode_client_v2
from callister.protocol.errors import ProtocolError
from callister.protocol.intents import Input
from callister.protocol.messages import Hello
from callister.server.metrics import percentiles
from callister.server.views import ViewEngine
from callister.sim import Zone, ZoneLayout

CENTRE = (20_000.0, 0.0)


@dataclass
class Session:
    ws: web.WebSocketResponse
    account: int
    ship: int
    slot: int
    zone: int


@dataclass
class V2Server:
    crowd: int  # players expected in the disc (sets its radius)
    zones: list[Zone] = field(default_factory=list)
    engines: list[ViewEngine] = field(default_factory=list)
    tokens: dict[str, int] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    sessions: list[Session] = field(default_factory=list)
    tick_ms: list[float] = field(default_factory=list)
    controls: dict[int, int] = field(default_factory=dict)  # ship -> controls frames received
    rng: random.Random = field(default_factory=lambda: random.Random(3))
    next_ship: int = 1 << 40

    def __post_init__(self) -> None:
        for _ in range(2):
            self.zones.append(Zone(ZoneLayout(radius=60_000.0, star_radius=1000.0)))
            self.engines.append(ViewEngine(SENSOR_RADIUS_M, tick_hz=UPDATE_HZ))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/register", self.register)
        app.router.add_post("/api/login", self.register)
        app.router.add_get("/ws", self.ws)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics)
        return app

    async def register(self, request: web.Request) -> web.Response:
        body = await request.json()
        name = body["name"]
        token = self.names.setdefault(name, secrets.token_hex(8))
        self.tokens[token] = len(self.tokens) + 1
        return web.json_response({"token": token}, status=201)

    async def healthz(self, request: web.Request) -> web.Response:
        p = percentiles(self.tick_ms[-1200:], 3)
        tick = {"p50": p["p50"], "p99": p["p99"], "max": p["max"]}
        return web.json_response({"tick": self.zones[0].tick, "tick_ms": tick})

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(text=f"callister_process_cpu_seconds_total {time.process_time()}\n")

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        hello = decode_client_v2((await ws.receive()).data)
        assert isinstance(hello, Hello) and hello.v == 2 and hello.token in self.tokens
        name = next(n for n, t in self.names.items() if t == hello.token)
        zone = 1 if name.endswith("-obs") else 0
        r = disc_radius(self.crowd) * math.sqrt(self.rng.random())
        a = self.rng.uniform(0, 2 * math.pi)
        self.next_ship += 1
        account = self.tokens[hello.token]
        self.zones[zone].add_ship(
            self.next_ship, account, load_content().hulls["shuttle"],
            x=CENTRE[0] + r * math.cos(a), y=CENTRE[1] + r * math.sin(a),
        )  # fmt: skip
        session = Session(ws, account, self.next_ship, self.engines[zone].add_client(), zone)
        welcome = {"t": "welcome", "v": 2, "ship": session.ship, "tick_hz": UPDATE_HZ}
        await ws.send_str(json.dumps(welcome))
        self.sessions.append(session)
        async for msg in ws:
            if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                break
            try:
                decoded = decode_client_v2(msg.data)
            except ProtocolError as exc:
                await ws.send_str(json.dumps({"t": "error", "code": str(exc.code)}))
                continue
            if isinstance(decoded, ControlsMsg):
                self.controls[session.ship] = self.controls.get(session.ship, 0) + 1
                intent = decoded.for_ship(session.ship)
                self.zones[zone].submit(
                    Input(account, session.ship, intent.thrust, intent.turn, intent.brake)
                )
            elif isinstance(decoded, ResyncMsg):
                self.engines[zone].resync(session.slot)
        self.sessions.remove(session)
        self.engines[zone].remove_client(session.slot)
        return ws

    async def tick_loop(self, stop: asyncio.Event) -> None:
        period = 1.0 / UPDATE_HZ
        at = time.monotonic()
        for _ in range(100_000):  # bounded: far beyond any test
            if stop.is_set():
                return
            start = time.perf_counter()
            for z, (zone, engine) in enumerate(zip(self.zones, self.engines, strict=True)):
                zone.step()
                frame = zone.frame()
                here = [s for s in self.sessions if s.zone == z and not s.ws.closed]
                ships = np.array([s.ship for s in here], dtype=np.uint64)
                rows = np.searchsorted(frame.ids, ships)
                batch = engine.update_frame(
                    frame, [s.slot for s in here], frame.x[rows], frame.y[rows]
                )
                for i, s in enumerate(here):
                    with contextlib.suppress(ConnectionResetError, RuntimeError):
                        await s.ws.send_bytes(bytes(batch.frame(i)))
            self.tick_ms.append((time.perf_counter() - start) * 1000.0)
            at += period
            await asyncio.sleep(max(0.0, at - time.monotonic()))

    def centre(self) -> tuple[float, float]:
        return CENTRE
