"""`callister gateway`: a process that holds clients' HTTP and WebSocket connections.

It serves the same HTTP API and web client as `callister serve` (accounts, universe look-ups,
static files) and relays each WebSocket to the worker that owns the zone its ship is in
(cluster/remote.py). It knows nothing of the game beyond the hello: where a zone lives is found
by asking (`cl.attach.<zone>`: only the lease holder answers), and a zone nobody holds is placed
on the least-loaded live worker (cluster/directory.py).

The client's socket outlives its worker: when a ship jumps to another worker's zone, when a zone
moves live, or when a worker dies (its heartbeat stops; the zone's lease expires; another worker
takes it from its last checkpoint), the gateway attaches the session again and the player sees a
pause, not a disconnect. When a gateway dies, its clients reconnect to another gateway and the
worker hands them their ship back (the session is replaced, the ship never left).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any, cast

import nats.errors
from aiohttp import WSCloseCode, WSMsgType, web

from callister.cluster.directory import Directory
from callister.cluster.edge import FRAME, UNEDGE
from callister.cluster.edge_views import EdgeViews
from callister.cluster.moderation import GatewayModeration
from callister.cluster.nats_bus import ClientAuth, NatsBus
from callister.cluster.remote import (
    BINARY,
    CLOSE,
    HEARTBEAT_EVERY,
    MOVED,
    RESYNC,
    TEXT,
    Batcher,
    frames,
    new_sid,
)
from callister.cluster.subjects import (
    GATEWAY,
    GATEWAY_HEARTBEAT,
    WORKER_HEARTBEAT,
    attach_subject,
    in_subject,
    out_subject,
)
from callister.protocol.controls import CONTROLS, CONTROLS_TYPE, decode_controls
from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.limits import MAX_HTTP_BODY
from callister.protocol.messages import Hello, InputMsg, decode_client, error_message
from callister.protocol.updates import FLAG_RESYNC, MSG_UPDATE
from callister.server import app as server_app
from callister.server import http as server_http
from callister.server import moderation_routes
from callister.server.admin_routes import admin_console
from callister.server.auth import Passwords, Throttle
from callister.server.bus import zone_key
from callister.server.frames import write_frame_now
from callister.server.gateway import CLOSE_BANNED, authenticate
from callister.server.keepalive import KEEPALIVE
from callister.server.metrics import Metrics, refuse_scrape
from callister.server.session import JSON_BACKLOG, SNAPSHOT_BACKLOG, open_socket
from callister.server.settings import Settings
from callister.server.universe_cache import UniverseCache
from callister.server.world import find_home_systems
from callister.server.world_host import CLOSE_WORLD_REFUSED
from callister.server.writer import StoreWriter
from callister.store import Account, AuditEntry, open_store
from callister.universe import DEFAULT_PARAMS
from callister.worlds.content import world_params

log = logging.getLogger(__name__)

INBOUND_GATHER_S = 0.005
ATTACH_TIMEOUT = 2.0  # an owner answers at once (the session starts after the reply)


@dataclass
class GatewayView:
    """What the shared HTTP handlers (server/app.py) read of a world: its name and universe.
    The world itself runs in the workers."""

    name: str
    seed: int
    universe: UniverseCache
    settings: Settings
    store: Any
    writer: StoreWriter
    pilots: dict[int, Any] = field(default_factory=dict)
    zones: dict[str, Any] = field(default_factory=dict)
    tick: int = 0


def hello_options(hello: Hello | None) -> dict[str, Any] | None:
    """What of the client's hello a worker needs (the protocol version it asked for, the
    moderator options), without its token."""
    if hello is None:
        return None
    return {
        "v": hello.v,
        "spectate": hello.spectate,
        "follow": hello.follow,
        "sector": list(hello.sector) if hello.sector is not None else None,
        "moderator_ship": hello.moderator_ship,
    }


def held_controls(kind: bytes, data: bytes, v2: bool) -> bool:
    """Whether a client's frame is a valid held-controls message: a JSON `input`, or (`v2`: the
    session speaks protocol v2) a 4-byte binary controls frame. A frame the worker would refuse
    is not one (it changes nothing there). Cheap for everything else: a text frame is decoded
    only if it holds `"input"`, a binary one only if it is 4 bytes of type 2."""
    if kind == BINARY:
        if not v2 or len(data) != CONTROLS.size or data[0] != CONTROLS_TYPE:
            return False
        try:
            decode_controls(data)
        except ProtocolError:
            return False
        return True
    if kind != TEXT or b'"input"' not in data:
        return False
    try:
        return type(decode_client(data.decode("utf-8"))) is InputMsg
    except (ProtocolError, UnicodeDecodeError):
        return False


# events after which the session commands another ship (`encode_server`'s compact JSON): the
# controls a client sent before name a ship it no longer flies (a v1 `input` carries its id),
# and re-sent they would be refused NOT_YOUR_SHIP (and taken as evidence)
SHIP_CHANGED = (b'"kind":"respawned"', b'"kind":"view"')


_UPDATE = bytes([MSG_UPDATE])


def is_resync(frame: bytes | memoryview) -> bool:
    """Whether a binary frame from a worker is a v2 update with the RESYNC flag."""
    return len(frame) >= 2 and frame[0] == MSG_UPDATE and bool(frame[1] & FLAG_RESYNC)


def ship_changed(batch: bytes) -> bool:
    """Whether a worker's frames (a batch, or one JSON frame) may tell a client its session
    commands another ship now. A false alarm only costs a re-attach its re-sent controls."""
    return any(marker in batch for marker in SHIP_CHANGED)


class Relay:
    """One client socket and the session it is attached to on some worker."""

    def __init__(self, ws: web.WebSocketResponse, account: Account, address: str) -> None:
        self.ws, self.account, self.address = ws, account, address
        # the client's latest held controls (kind, frame): sent again to each worker the session
        # attaches to after its first, since the ones sent meanwhile were lost (dropped here
        # while re-attaching, or sent to a worker the ship had already left); None: none yet
        self.controls: tuple[bytes, bytes] | None = None
        self.v2 = False  # the session speaks protocol v2 (binary controls, update frames)
        # v2: an update was not written to the client (backed up): the worker was asked for a
        # RESYNC, and the updates before it (deltas against the one missed) are dropped
        self.resyncing = False
        self.pilots = True  # a player (a spectator steers nothing)
        self.sid = ""
        self.zone = ""
        self.worker: str | None = None
        self.attached = asyncio.Event()
        self.closed = False
        self.queue: asyncio.Queue[tuple[bytes, bytes]] = asyncio.Queue()
        self.reattaches = 0
        self.hello: Hello | None = None


class EdgeGateway:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.name = settings.node_name or f"gateway-{socket.gethostname()}-{os.getpid()}"
        self.servers = [s.strip() for s in settings.nats_url.split(",") if s.strip()]
        self.metrics = Metrics()
        self.relays: dict[str, Relay] = {}  # by current session id
        self.connections = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self.homes: list[tuple[int, int, int]] = []
        self.pause_ms: list[float] = []
        # v2 players' views built here from their zones' frames (cluster/edge.py)
        self.edge = (
            EdgeViews(settings, self.metrics, self._edge_write, self._edge_live)
            if settings.edge_views
            else None
        )

    # ------------------------------------------------------------------------ lifecycle
    async def start(self, app: web.Application) -> None:
        loop = asyncio.get_running_loop()
        s = self.settings
        self.writer = StoreWriter()
        self.store = await self.writer.call(open_store, s.db)
        record = await self.writer.call(self.store.worlds.get, s.world_name)
        # the world's map: its seed and generator parameters (home systems are found in it)
        self.universe = UniverseCache(
            s.world_seed, params=DEFAULT_PARAMS if record is None else world_params(record)
        )
        self.homes = await loop.run_in_executor(
            None, find_home_systems, self.universe, s.home_systems
        )
        auth = ClientAuth.from_settings(s, GATEWAY)
        self.bus = NatsBus(self.servers, name=self.name, auth=auth)
        await self.bus.start()
        assert self.bus.nc is not None
        self.nc = self.bus.nc
        self.directory = Directory(self.bus.request)
        # clients' frames to workers wait up to 5 ms to travel together (a tenth of a tick)
        self.batcher = Batcher(self.bus, delay=INBOUND_GATHER_S)
        await self.nc.subscribe(out_subject(self.name), cb=self._on_out)
        await self.nc.subscribe(WORKER_HEARTBEAT, cb=self._on_worker_beat)
        await self.nc.flush()
        self.bus.check_refusals()  # another role's credentials: say so now, not per message
        self._spawn(self._heartbeat_loop(), "heartbeat")
        self._spawn(self._watch_workers(), "watch workers")
        view = GatewayView(s.world_name, s.world_seed, self.universe, s, self.store, self.writer)
        app[server_http.SERVICES] = server_http.Services(
            settings=s,
            store=self.store,
            writer=self.writer,
            world=cast(Any, view),  # the HTTP handlers read only name, seed and universe
            gateway=cast(Any, self),
            metrics=self.metrics,
            passwords=Passwords.from_settings(s),
            login_throttle=Throttle(s.login_per_minute),
            register_throttle=Throttle(s.register_per_minute),
            started_at=time.time(),
        )
        log.info("gateway ready", extra={"gateway": self.name, "port": s.port})

    async def stop(self) -> None:
        for relay in list(self.relays.values()):
            relay.closed = True
            with contextlib.suppress(Exception):
                await relay.ws.close(code=WSCloseCode.GOING_AWAY, message=b"gateway stopping")
        for task in list(self._tasks):
            task.cancel()
        await self.bus.close()
        self.universe.close()
        self.writer.submit(self.store.db.close)
        self.writer.close()

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------------------ sockets
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = await open_socket(request, full=self.connections >= self.settings.max_clients)
        if ws.closed:  # the server is full
            return ws
        self.connections += 1
        self.metrics.gauges["callister_connections"] = self.connections
        try:
            found = await self._authenticate(ws)
            if found is not None:
                await self._relay(ws, *found, request.remote or "?")
        finally:
            self.connections -= 1
            self.metrics.gauges["callister_connections"] = self.connections
        return ws

    async def _authenticate(self, ws: web.WebSocketResponse) -> tuple[Account, Hello] | None:
        found = await authenticate(  # the one admission check: bans on the account or address
            ws,
            self.store,
            self.writer,
            self.metrics,
            self.settings.hello_timeout_s,
            bans_world=self.settings.world_name,
        )
        if found is None:
            return None
        account, hello = found
        if hello.world is not None and hello.world != self.settings.world_name:
            # private worlds run on `callister serve` (docs/deploy.md, Limits)
            refusal = f"this cluster runs only the world {self.settings.world_name!r}"
            await ws.send_str(error_message(ErrorCode.WORLD_REFUSED, refusal))
            await ws.close(code=CLOSE_WORLD_REFUSED, message=b"world refused")
            return None
        return account, hello

    async def _relay(
        self, ws: web.WebSocketResponse, account: Account, hello: Hello, address: str
    ) -> None:
        relay = Relay(ws, account, address)
        relay.hello = hello
        relay.v2 = hello.v == 2  # as the worker's session will speak (the attach says so)
        relay.pilots = not hello.spectate
        sender = self._spawn(self._send_loop(relay), f"send {account.id}")
        zone = await self._zone_of(account)
        if hello.spectate and hello.sector is not None:  # a moderator watching a system
            zone = zone_key(self.settings.world_name, *hello.sector)
        attaching = self._spawn(self._attach(relay, zone), "attach")
        self.metrics.inc("callister_logins_total")
        try:
            async for msg in ws:
                KEEPALIVE.heard(ws)
                if msg.type == WSMsgType.TEXT:
                    kind, data = TEXT, msg.data.encode()
                elif msg.type == WSMsgType.BINARY:
                    kind, data = BINARY, msg.data
                elif KEEPALIVE.control(ws, msg):
                    continue
                else:
                    break
                self.metrics.inc("callister_messages_received_total")
                if relay.pilots and held_controls(kind, data, relay.v2):
                    relay.controls = (kind, data)
                if relay.attached.is_set() and relay.worker is not None:
                    self.batcher.add(in_subject(relay.worker), relay.sid, kind, data)
                # while re-attaching, messages are dropped: requests are answered (or retried
                # by their rid) once the session is back, and the held controls are sent again
                # when it is (`_attach`)
        finally:
            relay.closed = True
            attaching.cancel()
            sender.cancel()
            if relay.attached.is_set() and relay.worker is not None:
                self.batcher.add(in_subject(relay.worker), relay.sid, CLOSE, b"")
            self.relays.pop(relay.sid, None)
            if self.edge is not None:
                self.edge.drop(relay.sid)

    async def _zone_of(self, account: Account) -> str:
        """Where the account's ship is (the worker corrects us if the ship moved since)."""
        character = await self.writer.call(
            self.store.characters.load, account.id, self.settings.world_name
        )
        if character is not None:
            return zone_key(self.settings.world_name, character.system_x, character.system_y)
        # a new character starts where the player chose or a friend's invite placed them
        # (issue 16), else at a home by account id: as World._new_character
        start = await self.writer.call(
            self.store.invites.start_of, account.id, self.settings.world_name
        )
        if start is not None:
            return zone_key(self.settings.world_name, start.system_x, start.system_y)
        hx, hy, _ = self.homes[account.id % len(self.homes)]
        return zone_key(self.settings.world_name, hx, hy)

    async def _attach(self, relay: Relay, zone: str, follow: bool = False) -> None:
        """Attach the relay's session on `zone`'s owner, placing the zone if nobody has it.
        Retries until it works or the client leaves (a failover takes a lease's lifetime).
        `follow`: the ship jumped to `zone` (the worker's MOVED said so): the session follows
        it there and the client, which has its welcome and content, is not sent them again."""
        relay.attached.clear()
        self.relays.pop(relay.sid, None)
        if self.edge is not None:  # the next worker's frames give a fresh view (a RESYNC)
            self.edge.drop(relay.sid)
        relay.sid, relay.zone, relay.worker = new_sid(), zone, None
        self.relays[relay.sid] = relay
        started = time.monotonic()
        delay = 0.1
        while not relay.closed:
            request = {
                "sid": relay.sid,
                "gw": self.name,
                "account": relay.account.id,
                "address": relay.address,
                "who": {
                    "name": relay.account.name,
                    "role": relay.account.role,
                    "created_at": relay.account.created_at,
                },
                "resume": relay.reattaches > 0,
                "follow": follow,
                # the worker's session logic sees the client's own hello (moderator options)
                # (never the token: the gateway authenticated it)
                "hello": hello_options(relay.hello),
                # this gateway builds v2 players' views from their zones' frames
                "edge": self.edge is not None,
            }
            try:
                reply = await self.bus.request(
                    attach_subject(zone), json.dumps(request).encode(), ATTACH_TIMEOUT
                )
                answer = json.loads(reply)
            except nats.errors.NoRespondersError:
                await self.directory.place(zone)  # nobody has it: the least-loaded worker
                answer = {"ok": False, "error": "placing"}
            except (TimeoutError, nats.errors.TimeoutError):
                # the subscriber is there but silent: a partitioned or frozen worker that NATS
                # has not dropped yet. Place the zone elsewhere (refused until its lease expires).
                await self.directory.place(zone)
                answer = {"ok": False, "error": "owner silent"}
            except (nats.errors.Error, ValueError) as exc:
                answer = {"ok": False, "error": repr(exc)}
            if answer.get("ok"):
                relay.worker = str(answer.get("worker"))
                relay.v2 = answer.get("v", 1) == 2  # the version the worker's session speaks
                relay.resyncing = False  # a fresh session there: its first update is a RESYNC
                relay.attached.set()
                if relay.controls is not None:
                    # the ship holds what the client last held (lost during the hand-off or
                    # failover otherwise): first on the new worker, before anything the client
                    # sends from now (the same batch, in order); idempotent if it had them
                    kind, data = relay.controls
                    self.batcher.add(in_subject(relay.worker), relay.sid, kind, data)
                if relay.reattaches:
                    self.pause_ms.append((time.monotonic() - started) * 1000.0)
                    del self.pause_ms[:-5000]
                self.metrics.inc("callister_attaches_total")
                return
            if answer.get("error") == "account refused":
                relay.closed = True
                await relay.ws.close(code=CLOSE_BANNED, message=b"refused")
                return
            await asyncio.sleep(delay)
            delay = min(0.5, delay * 1.5)

    def _reattach(self, relay: Relay, zone: str, follow: bool = False) -> None:
        relay.reattaches += 1
        self.metrics.inc("callister_reattaches_total")
        self._spawn(self._attach(relay, zone, follow), f"reattach {relay.account.id}")

    async def _on_out(self, msg: Any) -> None:
        """A batch of frames from a worker: each to its client's socket, written at once
        (server/gateway.py's direct write), or queued behind a slow client's backlog."""
        try:
            batch = list(frames(msg.data))
        except ValueError:
            self.metrics.inc("callister_bad_batches_total")
            log.warning("malformed frame batch from a worker dropped")
            return
        changed = ship_changed(msg.data)  # (rare: each frame is looked at only then)
        for sid, kind, payload in batch:
            if kind == FRAME:  # a zone's frame: the views built here (cluster/edge_views.py)
                if self.edge is not None:
                    self.edge.on_frame(payload)
                continue
            if kind in (UNEDGE, RESYNC, CLOSE, MOVED) and self.edge is not None:
                if kind == RESYNC:  # the client asked for its whole view
                    self.edge.resync(sid)
                else:  # its view is no longer built here (or in that zone)
                    self.edge.drop(sid)
                if kind in (UNEDGE, RESYNC):
                    continue
            relay = self.relays.get(sid)
            if relay is None or relay.closed:
                continue
            if changed and kind == TEXT and ship_changed(bytes(payload)):
                relay.controls = None  # they were for the ship it flew before
            if kind == MOVED:
                try:
                    moved = json.loads(bytes(payload))
                    zone, follow = str(moved["zone"]), moved.get("follow") is True
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue
                self._reattach(relay, zone, follow)
            elif kind == BINARY:
                # a slow client skips snapshots; it never acks them, so v1's deltas stay right
                # (v2's do not: `_skipped`)
                if relay.resyncing and not is_resync(payload):
                    self.metrics.inc("callister_snapshots_skipped_total")
                elif relay.queue.empty() and write_frame_now(
                    relay.ws, bytes(payload), WSMsgType.BINARY, SNAPSHOT_BACKLOG
                ):
                    relay.resyncing = False
                    self.metrics.counters["callister_snapshots_sent_total"] += 1
                    self.metrics.counters["callister_bytes_sent_total"] += len(payload)
                else:
                    self.metrics.inc("callister_snapshots_skipped_total")
                    self._skipped(relay, payload)
            elif (
                kind == TEXT
                and relay.queue.empty()
                and write_frame_now(relay.ws, bytes(payload), WSMsgType.TEXT, JSON_BACKLOG)
            ):
                self.metrics.counters["callister_bytes_sent_total"] += len(payload)
            else:  # JSON behind a backlog, and the close after what is queued
                relay.queue.put_nowait((kind, bytes(payload)))

    def _edge_live(self, sid: str) -> bool:
        relay = self.relays.get(sid)
        return relay is not None and not relay.closed

    def _edge_write(self, sid: str, data: bytes, binary: bool) -> bool:
        """A frame built here (`EdgeViews`) to the client: an update written now or not at all
        (False: its next is a RESYNC), an `ents` message now or queued in order."""
        relay = self.relays.get(sid)
        if relay is None or relay.closed:
            return False
        if binary:
            if relay.queue.empty() and write_frame_now(
                relay.ws, data, WSMsgType.BINARY, SNAPSHOT_BACKLOG
            ):
                self.metrics.counters["callister_snapshots_sent_total"] += 1
                self.metrics.counters["callister_bytes_sent_total"] += len(data)
                return True
            self.metrics.inc("callister_snapshots_skipped_total")
            return False
        if relay.queue.empty() and write_frame_now(relay.ws, data, WSMsgType.TEXT, JSON_BACKLOG):
            self.metrics.counters["callister_bytes_sent_total"] += len(data)
        else:
            relay.queue.put_nowait((TEXT, data))
        return True

    def _skipped(self, relay: Relay, payload: memoryview) -> None:
        """A v2 update not written to the client: the next ones, deltas against it, would not
        fit the client's view. Ask the worker for a RESYNC (one per missed update or RESYNC)
        and drop the updates until it comes (`_on_out`): the client sees `seq` jump with the
        RESYNC flag, as from a backed-up socket in one process (docs/protocol.md)."""
        if not relay.v2 or payload[:1] != _UPDATE or relay.closed:
            return
        relay.resyncing = True
        if relay.attached.is_set() and relay.worker is not None:
            self.batcher.add(in_subject(relay.worker), relay.sid, RESYNC, b"")

    async def _send_loop(self, relay: Relay) -> None:
        """The slow path: JSON that could not be written at once, in order, then a close."""
        ws = relay.ws
        while True:
            kind, payload = await relay.queue.get()
            try:
                if kind == TEXT:
                    await ws.send_str(payload.decode("utf-8", "replace"))
                    self.metrics.inc("callister_bytes_sent_total", len(payload))
                elif kind == CLOSE:
                    try:
                        info = json.loads(payload)
                        code, reason = int(info["code"]), str(info.get("reason", ""))
                    except (ValueError, KeyError, TypeError):
                        code, reason = 1000, ""
                    relay.closed = True
                    await ws.close(code=code, message=reason.encode()[:120])
                    return
            except (ConnectionResetError, RuntimeError):
                return

    # ------------------------------------------------------------------- liveness
    async def _on_worker_beat(self, msg: Any) -> None:
        self.directory.on_heartbeat(msg.data)

    async def _heartbeat_loop(self) -> None:
        while True:
            beat = {"gateway": self.name, "connections": self.connections, "t": time.time()}
            self.bus.publish_raw(GATEWAY_HEARTBEAT, json.dumps(beat).encode())
            await asyncio.sleep(HEARTBEAT_EVERY)

    async def _watch_workers(self) -> None:
        """Sessions on a worker that stopped beating move on: the zone's next owner (after the
        lease expires) gets them. The client's socket stays open the whole time."""
        while True:
            await asyncio.sleep(0.5)
            if self.edge is not None:
                self.edge.sweep()  # zones nobody here watches any more
            for relay in list(self.relays.values()):
                worker = relay.worker
                if (
                    relay.attached.is_set()
                    and worker is not None
                    and worker in self.directory.workers
                    and not self.directory.is_alive(worker)
                ):
                    log.info("worker silent: re-attaching", extra={"worker": worker})
                    self._reattach(relay, relay.zone)

    @property
    def sessions(self) -> dict[int, Relay]:
        """The accounts connected through this gateway (the moderation inspector's "online")."""
        return {r.account.id: r for r in self.relays.values() if not r.closed}

    # ------------------------------------------------------------------------ HTTP
    def cluster_view(self) -> dict[str, Any]:
        """Live workers with their zones, load and tick times (the admin console's table)."""
        workers = []
        for w in sorted(self.directory.alive(), key=lambda w: w.name):
            workers.append(
                {
                    "name": w.name,
                    "zones": dict(sorted(w.zones.items())),
                    "players": w.players,
                    "load": w.load,
                    "draining": w.draining,
                    "tick_ms": w.tick_ms,
                }
            )
        return {"gateway": self.name, "world": self.settings.world_name, "workers": workers}

    async def move_zone(self, zone: str, to: str | None) -> dict[str, Any]:
        return await self.directory.move(zone, to)

    def render_metrics(self) -> str:
        extra = dict(self.bus.counters())
        extra["callister_relays"] = float(len(self.relays))
        if self.edge is not None:
            extra["callister_edge_sessions"] = float(self.edge.sessions)
        lines = [f"{k} {v:g}" for k, v in sorted(extra.items())]
        return self.metrics.render() + "\n".join(lines) + "\n"


def build_gateway_app(settings: Settings) -> web.Application:
    edge = EdgeGateway(settings)
    app = web.Application(client_max_size=MAX_HTTP_BODY, middlewares=[server_app.security_headers])
    key = web.AppKey("edge", EdgeGateway)
    app[key] = edge

    async def on_startup(app: web.Application) -> None:
        await edge.start(app)

    async def on_shutdown(app: web.Application) -> None:
        await edge.stop()

    async def ws_route(request: web.Request) -> web.StreamResponse:
        return await edge.handle(request)

    async def metrics(request: web.Request) -> web.Response:
        refused = refuse_scrape(request, settings.metrics_token)
        return refused or web.Response(text=edge.render_metrics(), content_type="text/plain")

    async def healthz(request: web.Request) -> web.Response:
        alive = edge.directory.alive()
        body = {
            "ok": edge.bus.connected,
            "role": "gateway",
            "gateway": edge.name,
            "world": settings.world_name,
            "connections": edge.connections,
            "workers": sorted(w.name for w in alive),
            "zones": {w.name: sorted(w.zones) for w in alive},
        }
        return web.json_response(body, status=200 if edge.bus.connected else 503)

    async def cluster_view(request: web.Request) -> web.Response:
        account = await server_http.current_account(request)
        server_http.require_role(account, "admin")
        return web.json_response(edge.cluster_view())

    async def cluster_move(request: web.Request) -> web.Response:
        account = await server_http.current_account(request)
        server_http.require_role(account, "admin")
        body = await server_http.json_body(request)
        zone, to = body.get("zone"), body.get("to") or None
        reason = body.get("reason") or "rebalance"
        if not isinstance(zone, str) or zone.count(".") < 2:
            return server_http.error(400, "BAD_FIELD", "zone must be a key like infinity.0.0")
        if to is not None and not isinstance(to, str):
            return server_http.error(400, "BAD_FIELD", "to must be a worker name")
        if not isinstance(reason, str) or len(reason) > 500:
            return server_http.error(400, "BAD_FIELD", "reason must be text (500 at most)")
        answer = await edge.move_zone(zone, to)
        entry = AuditEntry(
            world=settings.world_name,
            moderator_id=account.id,
            action="move_zone",
            target_account=None,
            reason=reason,
            at=time.time(),
            detail={"zone": zone, "to": answer.get("to"), "ok": bool(answer.get("ok"))},
        )
        await edge.writer.call(edge.store.moderation.add_audit, entry)
        if not answer.get("ok"):
            return server_http.error(409, "MOVE_FAILED", str(answer.get("error", answer)))
        return web.json_response(answer)

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    # the moderator console's API, served from the database and the workers
    moderation_routes.register(
        app, lambda services: GatewayModeration(services.world, services.gateway)
    )
    app.router.add_get("/admin", admin_console)
    app.router.add_get("/api/admin/cluster", cluster_view)
    app.router.add_post("/api/admin/cluster/move", cluster_move)
    app.router.add_get("/", server_app.index)
    app.router.add_get("/ws", ws_route)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/api/register", server_app.register)
    app.router.add_post("/api/login", server_app.login)
    app.router.add_post("/api/logout", server_app.logout)
    app.router.add_get("/api/me", server_app.me)
    app.router.add_get("/api/me/discovered", server_app.discovered)
    app.router.add_get("/api/universe/system", server_app.system_view)
    app.router.add_get("/api/universe/map", server_app.map_view)
    app.router.add_static("/static/", server_http.WEB_DIR, show_index=False)
    return app


def run(settings: Settings) -> None:
    server_http.serve(build_gateway_app(settings), settings)
