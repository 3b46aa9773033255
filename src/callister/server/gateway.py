"""The gateway: WebSocket sessions, validation, rate limits, and per-client snapshots.

It holds the sockets and nothing of the simulation: intents go to zones through the bus and zone
ticks come back through it, so gateways and zones can later live in different processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
from collections import deque
from typing import Any

import numpy as np
import numpy.typing as npt
from aiohttp import WSCloseCode, WSMsgType, web

from callister.economy import EconomyError, Receipt
from callister.moderation import admission
from callister.moderation.admission import Mutes
from callister.moderation.detect.economy import request_fields
from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.intents import Dock, Fire, Input, Intent, Jump, Loot, Mine, Power, Undock
from callister.protocol.limits import MAX_WS_MESSAGE, PROTOCOL_VERSION
from callister.protocol.messages import (
    AckMsg,
    BountyMsg,
    BuyHullMsg,
    BuyModuleMsg,
    ClientMessage,
    CrewChatMsg,
    CrewOrderMsg,
    DismissMsg,
    DistressMsg,
    DockMsg,
    FireMsg,
    Hello,
    HireMsg,
    InputMsg,
    JumpMsg,
    LootMsg,
    MarketMsg,
    MineMsg,
    PingMsg,
    PowerMsg,
    ReportMsg,
    ServiceMsg,
    ShareMessage,
    SpectateMsg,
    TargetMsg,
    TradeMsg,
    TravelMessage,
    UndockMsg,
    decode_client,
    encode_server,
    error_message,
)
from callister.protocol.snapshot import encode_snapshot
from callister.server.aoi import SharedFrame, plan_views, share_frame, view_delta
from callister.server.auth import Throttle, token_hash
from callister.server.bus import Bus, Subscription, tick_subject
from callister.server.metrics import Metrics
from callister.server.outcomes import Notice, Respawned, account_subject
from callister.server.settings import Settings
from callister.server.shipshare import ViewShip
from callister.server.status import fx_for, zone_fx
from callister.server.world import Pilot, ShipMoved, World, ZoneTick
from callister.sim import Collided, Docked, JumpCancelled, JumpCharging, Refused, Undocked
from callister.sim.entities import KIND_SHIP, KIND_WRECK
from callister.store import Account

log = logging.getLogger(__name__)

# WebSocket close codes (docs/protocol.md lists them)
CLOSE_BAD_HELLO = 4400
CLOSE_AUTH_FAILED = 4401
CLOSE_BANNED = 4403
CLOSE_HELLO_TIMEOUT = 4408
CLOSE_REPLACED = 4409
CLOSE_FLOOD = 4429
CLOSE_FORBIDDEN = 4405  # hello.spectate / hello.moderator_ship from a role that may not
CLOSE_TOO_SLOW = 4413  # the client does not read: JSON_QUEUE_MAX characters of JSON wait
STAFF_ROLES = ("moderator", "admin")  # may spectate or fly a marked moderator ship
VIEW_HISTORY = 32  # snapshots kept per client as possible delta bases
SNAPSHOT_BACKLOG = 64 * 1024  # bytes queued in the socket beyond which snapshots are skipped
JSON_BACKLOG = 1024 * 1024  # beyond which JSON waits in the session's queue
JSON_QUEUE_MAX = 4 * 1024 * 1024  # characters of JSON queued beyond which the socket is closed
_NO_IDS = np.empty(0, dtype=np.uint64)
_CLOSING: set[asyncio.Task[Any]] = set()  # closes of too-slow sockets under way
STATUS_EVERY = 4  # ticks between status messages (5 Hz at 20 Hz), sent only when changed
FLOOD_GAP_S = 1.0  # a second without a dropped message ends a flood
SLOW_STATUS_EVERY = 40  # ...but a change in fuel or energy alone waits 2 s (they creep)
_DRIFTING = frozenset(("fuel", "energy", "fuel_range_m"))


def _only_drifting(status: dict[str, Any], last: dict[str, Any]) -> bool:
    """Whether the two statuses differ only in values that change slowly all the time."""
    return all(status[k] == last.get(k) for k in status if k not in _DRIFTING)


def sector_str(xy: tuple[int, int]) -> list[str]:
    return [str(xy[0]), str(xy[1])]


def write_frame_now(ws: Any, data: bytes, opcode: WSMsgType, backlog: int) -> bool:
    """Write one frame straight to the socket's transport; False (nothing written) if the
    socket is closing, has more than `backlog` bytes waiting, or aiohttp's internals moved.

    aiohttp's own send_* are coroutines; one task switch per frame would cost more than the
    snapshot itself (measured), so frames go straight to the transport, which is what
    send_frame does for uncompressed frames. Callers fall back to their queued path."""
    writer = getattr(ws, "_writer", None)
    transport = getattr(writer, "transport", None)
    if transport is None or transport.is_closing():
        return False
    if transport.get_write_buffer_size() > backlog:
        return False
    try:
        writer._write_websocket_frame(data, opcode, 0)  # type: ignore[union-attr]
    except (AttributeError, ConnectionError, RuntimeError):
        return False
    return True


def peer_address(ws: Any) -> str:
    """The client's IP address as the socket sees it ("?" when unknown)."""
    peer = ws.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else "?"


async def authenticate(
    ws: web.WebSocketResponse,
    store: Any,
    writer: Any,
    metrics: Metrics,
    timeout: float,
    *,
    bans_world: str,
) -> tuple[Account, Hello] | None:
    """Read the hello and check its token; None (the socket closed with the reason's code) when
    it is late, malformed, not a hello, for an unknown token, or refused by the one admission
    check (moderation/admission.py: the account or its address banned, permanently or until a
    time; `bans_world` is the server's public world, whose ban list every world obeys). Shared
    by this gateway, the world host (every world's socket) and a cluster gateway."""
    try:
        msg = await ws.receive(timeout=timeout)
    except TimeoutError:
        await ws.close(code=CLOSE_HELLO_TIMEOUT, message=b"no hello in time")
        return None
    if msg.type != WSMsgType.TEXT:
        if msg.type not in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            await refuse(ws, metrics, ErrorCode.AUTH_REQUIRED, "first message must be a hello")
        return None
    try:
        hello = decode_client(msg.data)
    except ProtocolError as exc:
        await refuse(ws, metrics, exc.code, exc.message)
        return None
    if not isinstance(hello, Hello):
        await refuse(ws, metrics, ErrorCode.AUTH_REQUIRED, "first message must be a hello")
        return None
    account, refused = await writer.call(
        admission.token_account,
        store,
        bans_world,
        token_hash(hello.token),
        peer_address(ws),
        time.time(),
    )
    if account is None:
        await ws.send_str(error_message(ErrorCode.AUTH_FAILED, "token unknown or expired; log in"))
        await ws.close(code=CLOSE_AUTH_FAILED, message=b"auth failed")
        return None
    if refused is not None:
        await refuse_banned(ws, refused.message)
        return None
    return account, hello


async def refuse_banned(ws: web.WebSocketResponse, message: str) -> None:
    """Refuse a banned account or address: AUTH_FAILED with the reason, then close 4403."""
    await ws.send_str(error_message(ErrorCode.AUTH_FAILED, message))
    await ws.close(code=CLOSE_BANNED, message=b"banned")


async def refuse(
    ws: web.WebSocketResponse, metrics: Metrics, code: ErrorCode, message: str
) -> None:
    """Refuse a bad hello: the error, then close with CLOSE_BAD_HELLO."""
    metrics.inc("callister_protocol_errors_total")
    await ws.send_str(error_message(code, message))
    await ws.close(code=CLOSE_BAD_HELLO, message=code.encode())


class Session:
    """One authenticated WebSocket: its ship, its acknowledged view, its outbound queue."""

    def __init__(
        self, ws: web.WebSocketResponse, account: Account, settings: Settings, metrics: Metrics
    ) -> None:
        self.ws = ws
        self.account = account
        self.pilot: Pilot | None = None
        self.ship_id = 0  # set once the pilot is in the world; a ship keeps its id for life
        self.zone_key: str | None = None
        self.seq = 0
        self.acked = 0
        self.views: dict[int, npt.NDArray[np.uint64]] = {}  # seq -> record words
        self.introduced: set[int] = set()
        self._json: deque[str] = deque()
        self._json_queued = 0  # characters in _json
        self._wake = asyncio.Event()
        self.metrics = metrics
        self._tokens = settings.msg_burst
        self._rate, self._burst = settings.msg_rate, settings.msg_burst
        self._refill_at = time.monotonic()
        self._flood_since: float | None = None  # the first dropped message of this flood
        self._last_drop = 0.0
        self._last_rate_error = 0.0
        self.bytes_sent = 0
        self.closed = False
        self.sender: asyncio.Task[None] | None = None
        self.subscription: Subscription | None = None
        self.account_sub: Subscription | None = None
        self.target = 0  # the entity the player has locked (for the status message)
        self.last_status: dict[str, Any] | None = None
        self.last_status_tick = 0
        self.requests: set[asyncio.Task[None]] = set()
        # issue 6: a moderator watching with no ship (hello.spectate): its snapshots are
        # centred on the entity it follows, or on (cam_x, cam_y) when that is not in view
        self.spectator = False
        self.follow = 0
        self.cam_x = self.cam_y = 0.0

    @property
    def centre_id(self) -> int:
        """The entity this session's view is centred on (0: none, a spectator's fixed camera)."""
        return self.follow if self.spectator else self.ship_id

    @property
    def phase_key(self) -> int:
        """Spreads sessions over the snapshot phases (a spectator has no ship id to use)."""
        return self.ship_id or self.account.id

    def send_json(self, text: str) -> None:
        """Reliable, ordered: written now, or queued behind earlier messages if the socket is
        backed up (the sender task flushes the queue when it drains). A client that lets more
        than JSON_QUEUE_MAX characters queue up is not reading: its socket is closed with
        CLOSE_TOO_SLOW rather than the server holding its messages without bound."""
        if self.closed:
            return
        if not self._json and self._write_now(text.encode(), WSMsgType.TEXT, JSON_BACKLOG):
            return
        self._json.append(text)
        self._json_queued += len(text)
        self._wake.set()
        if self._json_queued > JSON_QUEUE_MAX:
            self._close_slow()

    def _close_slow(self) -> None:
        self.closed = True
        self._json.clear()
        self._json_queued = 0
        self.metrics.inc("callister_slow_clients_closed_total")
        log.warning("closing a client that does not read", extra={"account": self.account.id})
        # not one of self.requests: the session's clean-up cancels those, and this close must
        # outlive it (it waits for the client's close frame, up to aiohttp's close timeout)
        task = asyncio.get_running_loop().create_task(
            self.ws.close(code=CLOSE_TOO_SLOW, message=b"too slow: messages piled up")
        )
        _CLOSING.add(task)
        task.add_done_callback(_CLOSING.discard)

    def send_snapshot(self, data: bytes) -> bool:
        """Best effort: written now unless the socket is backed up, then skipped. A skipped
        snapshot is never acknowledged, so later deltas are based on what the client has."""
        if self.closed or self._json:
            return False
        return self._write_now(data, WSMsgType.BINARY, SNAPSHOT_BACKLOG)

    def _write_now(self, data: bytes, opcode: WSMsgType, backlog: int) -> bool:
        direct = getattr(self.ws, "write_direct", None)
        if direct is not None:  # a session relayed from a gateway process (cluster/remote.py)
            if not direct(data, opcode == WSMsgType.BINARY, backlog):
                return False
        elif not write_frame_now(self.ws, data, opcode, backlog):
            return False
        self.bytes_sent += len(data)
        counters = self.metrics.counters
        counters["callister_bytes_sent_total"] += len(data)
        if opcode == WSMsgType.BINARY:
            counters["callister_snapshots_sent_total"] += 1
        return True

    async def run_sender(self) -> None:
        """Flushes JSON messages that could not be written at once (the slow path)."""
        while not self.closed:
            await self._wake.wait()
            self._wake.clear()
            try:
                while self._json:
                    text = self._json.popleft()
                    self._json_queued -= len(text)
                    await self.ws.send_str(text)
                    self.bytes_sent += len(text)
                    self.metrics.inc("callister_bytes_sent_total", len(text))
            except (ConnectionResetError, RuntimeError):
                return

    def allow_message(self, flood_strikes: float, now: float | None = None) -> bool | None:
        """Token bucket. True: go on; False: drop with RATE_LIMITED; None: close for flooding.

        A flood starts with the first dropped message and goes on while drops follow each
        other within FLOOD_GAP_S; once it has lasted `flood_strikes` seconds the socket is
        closed (docs/protocol.md)."""
        now = time.monotonic() if now is None else now
        self._tokens = min(self._burst, self._tokens + (now - self._refill_at) * self._rate)
        self._refill_at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        if self._flood_since is None or now - self._last_drop > FLOOD_GAP_S:
            self._flood_since = now
        self._last_drop = now
        if now - self._flood_since >= flood_strikes:
            return None
        return False

    def should_report_rate(self) -> bool:
        now = time.monotonic()
        if now - self._last_rate_error >= 1.0:
            self._last_rate_error = now
            return True
        return False

    def ack(self, seq: int) -> None:
        if seq in self.views and seq > self.acked:
            self.acked = seq
            for old in [s for s in self.views if s < seq]:
                del self.views[old]

    def reset_view(self) -> None:
        self.views.clear()
        self.acked = 0


class Gateway:
    def __init__(self, world: World, bus: Bus, settings: Settings, metrics: Metrics) -> None:
        self.world, self.bus, self.settings, self.metrics = world, bus, settings, metrics
        self.sessions: dict[int, Session] = {}  # by account id
        self.by_zone: dict[str, set[Session]] = {}
        self._zone_subs: dict[str, Subscription] = {}
        self.period = settings.tick_hz // settings.snapshot_hz
        self.cell = max(settings.aoi_radius / 2.0, 250.0)
        self._connections = 0
        self.moderation: Any = None  # moderation.service.Moderation (logins, reports)
        self.mutes: Mutes | None = None  # the server's mutes, shared by every world's gateway
        self.spectators: set[Session] = set()  # not in `sessions`: they have no ship or pilot
        self.moderator_ships: set[int] = set()  # accounts flying a marked moderator ship
        # the worlds an account may enter (welcome.worlds); set by server/world_host.py
        self.worlds_for: Any = None
        # reports and distress calls have limits of their own: each costs the moderators (a
        # queue entry, footage) or everyone in a system far more than a message does
        self.report_throttle = Throttle(settings.reports_per_minute)
        self.report_target_throttle = Throttle(settings.reports_per_target_minute)
        self.distress_at: dict[int, float] = {}  # account -> when its last call went out

    @property
    def connections(self) -> int:
        """Sockets this gateway counts (open, authenticating included); the world host moves
        a socket's count to the world it enters. Kept in the `callister_connections` gauge."""
        return self._connections

    @connections.setter
    def connections(self, value: int) -> None:
        self._connections = value
        self.metrics.gauges["callister_connections"] = value

    # ------------------------------------------------------------ the socket's life
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=MAX_WS_MESSAGE, heartbeat=20.0, compress=False)
        await ws.prepare(request)
        if self.connections >= self.settings.max_clients:
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"server full")
            return ws
        self.connections += 1
        try:
            found = await self._authenticate(ws)
            if found is not None:
                await self._serve(ws, *found)
        finally:
            self.connections -= 1
        return ws

    async def _authenticate(self, ws: web.WebSocketResponse) -> tuple[Account, Hello] | None:
        return await authenticate(
            ws,
            self.world.store,
            self.world.writer,
            self.metrics,
            self.settings.hello_timeout_s,
            bans_world=self.settings.world_name,
        )

    async def _serve(
        self,
        ws: web.WebSocketResponse,
        account: Account,
        hello: Hello | None = None,
        *,
        admitted: bool = False,
    ) -> None:
        """Serve one authenticated socket. `admitted`: bans and the login were checked for this
        connection already (a cluster session resuming on another worker)."""
        staff_only = hello is not None and (hello.spectate or hello.moderator_ship)
        if staff_only and account.role not in STAFF_ROLES:
            assert hello is not None
            self.metrics.inc("callister_protocol_errors_total")
            what = "spectate" if hello.spectate else "fly a moderator ship"
            await ws.send_str(
                error_message(ErrorCode.FORBIDDEN, f"only moderators and admins may {what}")
            )
            await ws.close(code=CLOSE_FORBIDDEN, message=b"forbidden")
            return
        if self.moderation is not None and not admitted:  # the login record (and bans again)
            refused = await self.moderation.admit(account, peer_address(ws))
            if refused is not None:
                await refuse_banned(ws, refused.message)
                return
        if hello is not None and hello.spectate:
            await self._spectate(ws, account, hello)
            return
        old = self.sessions.get(account.id)
        if old is not None:  # the same player logged in again: the newest socket wins
            self._detach(old)
            old.send_json(encode_server("bye", reason="replaced by a newer connection"))
            await old.ws.close(code=CLOSE_REPLACED, message=b"replaced")
        session = Session(ws, account, self.settings, self.metrics)
        self.sessions[account.id] = session
        self.metrics.inc("callister_logins_total")
        session.sender = asyncio.get_running_loop().create_task(session.run_sender())
        try:
            pilot = await self.world.enter(account.id, account.name)
            session.pilot = pilot
            session.ship_id = pilot.character.ship_id
            if (hello is not None and hello.moderator_ship) != (account.id in self.moderator_ships):
                self._mark_moderator(pilot, hello is not None and hello.moderator_ship)
            session.subscription = self.bus.subscribe(
                f"ship.{pilot.character.ship_id}", functools.partial(self._on_ship_moved, session)
            )
            session.account_sub = self.bus.subscribe(
                account_subject(account.id), functools.partial(self._on_notice, session)
            )
            session.send_json(self._welcome(session))
            if pilot.zone_key is not None:
                self._enter_zone(session, pilot.zone_key)
            self._request(session, None, self.world.agents.crews.send_crew(pilot))
            async for msg in ws:
                if msg.type == WSMsgType.TEXT or msg.type == WSMsgType.BINARY:
                    if not await self._on_message(session, msg.data):
                        break
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            replaced = self.sessions.get(account.id) is not session
            self._detach(session)
            if not replaced:
                self.sessions.pop(account.id, None)
                self.world.leave(account.id)

    def _detach(self, session: Session) -> None:
        session.closed = True
        session._wake.set()
        if session.subscription is not None:
            session.subscription.unsubscribe()
            session.subscription = None
        if session.account_sub is not None:
            session.account_sub.unsubscribe()
            session.account_sub = None
        for task in session.requests:
            task.cancel()
        self._leave_zone(session)

    def _welcome(self, session: Session) -> str:
        assert session.pilot is not None
        c = session.pilot.character
        return encode_server(
            "welcome",
            v=PROTOCOL_VERSION,
            account=session.account.id,
            name=session.account.name,
            role=session.account.role,
            ship=c.ship_id,
            hull=c.hull,
            world=self.world.name,
            seed=str(self.world.seed),
            tick_hz=self.settings.tick_hz,
            snapshot_hz=self.settings.snapshot_hz,
            aoi_radius=self.settings.aoi_radius,
            home=sector_str((c.home_x, c.home_y)),
            home_station=c.home_station,
            credits=session.pilot.credits,
            content=self._content_summary(),
            worlds=self.worlds_for(session.account) if self.worlds_for else [],
        )

    def _content_summary(self) -> dict[str, Any]:
        """What the client needs to know about weapons to pace and aim its own fire (the arc:
        a client firing every weapon skips those that cannot bear, instead of being refused)."""
        return {
            "weapons": {
                key: {
                    "name": w.name,
                    "kind": w.kind,
                    "range": w.range,
                    "cooldown": w.cooldown,
                    "ammo": w.ammo,
                    "arc": w.arc,
                }
                for key, w in self.world.content.weapons.items()
            }
        }

    # -------------------------------------------------------------- spectators (issue 6)
    async def _spectate(self, ws: web.WebSocketResponse, account: Account, hello: Hello) -> None:
        """A moderator watches a system with no ship: nothing of it is in the zone, so no other
        client can see it. Its snapshots go through the same per-client AOI path as players',
        centred on the entity it follows (across jumps, for a player's ship) or a fixed point."""
        session = Session(ws, account, self.settings, self.metrics)
        session.spectator = True
        self.spectators.add(session)
        self.metrics.inc("callister_spectators_total")
        session.sender = asyncio.get_running_loop().create_task(session.run_sender())
        try:
            session.send_json(self._spectator_welcome(session))
            try:
                if hello.follow or hello.sector is not None:
                    self._aim(session, hello.follow or None, hello.sector, None)
            except ProtocolError as exc:
                session.send_json(error_message(exc.code, exc.message, ref="spectate"))
            if session.zone_key is None and self.world.zones:
                # nothing (valid) named: the first active system, so the view is never blank
                self._aim(session, None, self.world.zones[min(self.world.zones)].sector, None)
            async for msg in ws:
                if msg.type == WSMsgType.TEXT or msg.type == WSMsgType.BINARY:
                    if not await self._on_message(session, msg.data):
                        break
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self.spectators.discard(session)
            self._detach(session)

    def _spectator_welcome(self, session: Session) -> str:
        return encode_server(
            "welcome",
            v=PROTOCOL_VERSION,
            account=session.account.id,
            name=session.account.name,
            role=session.account.role,
            ship=0,
            spectate=True,
            world=self.world.name,
            seed=str(self.world.seed),
            tick_hz=self.settings.tick_hz,
            snapshot_hz=self.settings.snapshot_hz,
            aoi_radius=self.settings.aoi_radius,
            content=self._content_summary(),
            worlds=self.worlds_for(session.account) if self.worlds_for else [],
        )

    def _zone_of_entity(self, entity: int) -> str | None:
        """The active zone holding `entity`: a player's ship by its pilot, else by search."""
        owner = self.world.ship_owner.get(entity)
        pilot = self.world.pilots.get(owner) if owner is not None else None
        if pilot is not None and pilot.character.ship_id == entity:
            return pilot.zone_key
        for key, handle in self.world.zones.items():
            if handle.zone.entity_kind(entity) is not None:
                return key
        return None

    def _aim(
        self,
        session: Session,
        follow: int | None,
        sector: tuple[int, int] | None,
        at: tuple[float, float] | None,
    ) -> None:
        """Point a spectator's camera (see SpectateMsg); ProtocolError changes nothing."""
        key: str | None = None
        if follow:
            key = self._zone_of_entity(follow)
            if key is None:
                raise ProtocolError(
                    ErrorCode.NO_TARGET, f"entity {follow} is in no active system (or between)"
                )
            if sector is not None and self.world.zones[key].sector != sector:
                raise ProtocolError(ErrorCode.BAD_FIELD, f"entity {follow} is not in that system")
        elif sector is not None:
            key = next((k for k, h in self.world.zones.items() if h.sector == sector), None)
            if key is None:
                raise ProtocolError(
                    ErrorCode.NOT_AVAILABLE, f"no active system at {list(sector)}: nobody is there"
                )
        if follow is not None:
            self._follow(session, follow)
        if at is not None:
            self._follow(session, 0)
            session.cam_x, session.cam_y = at
        elif key is not None and not follow and key != session.zone_key:
            session.cam_x = session.cam_y = 0.0  # a new system, nothing followed: its star
        if key is not None and key != session.zone_key:
            self._enter_zone(session, key)
        self._tell_spectator(session)

    def _follow(self, session: Session, entity: int) -> None:
        """Follow `entity` (0: nobody). The ship's bus subject says where it jumps and which
        ship a destroyed pilot gets next, so the camera stays on the player."""
        if session.subscription is not None:
            session.subscription.unsubscribe()
            session.subscription = None
        session.follow = entity
        if entity:
            session.subscription = self.bus.subscribe(
                f"ship.{entity}", functools.partial(self._on_followed_moved, session)
            )

    def _on_followed_moved(self, session: Session, moved: Any) -> None:
        if session.closed:
            return
        if isinstance(moved, Respawned):
            self._follow(session, moved.new_ship)  # its ShipMoved brings the new zone
        elif isinstance(moved, ShipMoved) and moved.to_key is not None:
            if moved.to_key != session.zone_key:
                self._enter_zone(session, moved.to_key)
        else:
            return  # left the world: the camera stays where it last saw the ship
        self._tell_spectator(session)

    def _tell_spectator(self, session: Session) -> None:
        handle = self.world.zones.get(session.zone_key) if session.zone_key else None
        session.send_json(
            encode_server(
                "spectating",
                follow=session.follow or None,
                sector=sector_str(handle.sector) if handle is not None else None,
                at=[round(session.cam_x, 1), round(session.cam_y, 1)],
            )
        )

    def _spectator_message(self, session: Session, message: ClientMessage) -> None:
        if not session.spectator:
            raise ProtocolError(
                ErrorCode.FORBIDDEN, "not spectating: a moderator connects with hello.spectate"
            )
        if not isinstance(message, SpectateMsg):
            raise ProtocolError(ErrorCode.NOT_IN_WORLD, "a spectator has no ship to command")
        self._aim(session, message.follow, message.sector, message.at)

    def _mark_moderator(self, pilot: Pilot, marked: bool) -> None:
        """Mark (or unmark) the pilot's ship as a moderator's: `ents` carry `mod: true`, and
        viewers who were already introduced to the ship hear of the change at once."""
        if marked:
            self.moderator_ships.add(pilot.account_id)
        else:
            self.moderator_ships.discard(pilot.account_id)
        ship = pilot.character.ship_id
        for member in self.by_zone.get(pilot.zone_key or "", ()):
            if ship in member.introduced:
                self._introduce(member, [ship])

    # -------------------------------------------------------------------- zones
    def _enter_zone(self, session: Session, key: str) -> None:
        self._leave_zone(session)
        session.zone_key = key
        session.reset_view()
        session.introduced.clear()
        members = self.by_zone.setdefault(key, set())
        members.add(session)
        if key not in self._zone_subs:
            self._zone_subs[key] = self.bus.subscribe(tick_subject(key), self._on_zone_tick)
        handle = self.world.zones.get(key)
        if handle is not None:
            session.send_json(
                encode_server(
                    "system",
                    system=handle.system.to_dict(),
                    tick=handle.zone.tick,
                    gates=[gate.to_dict() for gate in handle.system.gates],
                )
            )

    def _leave_zone(self, session: Session) -> None:
        key = session.zone_key
        if key is None:
            return
        session.zone_key = None
        members = self.by_zone.get(key)
        if members is not None:
            members.discard(session)
            if not members:
                del self.by_zone[key]
                sub = self._zone_subs.pop(key, None)
                if sub is not None:
                    sub.unsubscribe()

    def _on_notice(self, session: Session, notice: Any) -> None:
        if isinstance(notice, ViewShip):  # aboard another's ship, or back (shipshare.py)
            self._view_ship(session, notice)
            return
        assert isinstance(notice, Notice)
        session.send_json(encode_server(notice.msg_type, **notice.fields))

    def _view_ship(self, session: Session, view: ViewShip) -> None:
        """The session follows ship `view.ship` (snapshots centred on it, its status)."""
        if session.closed:
            return
        if session.subscription is not None:
            session.subscription.unsubscribe()
        session.ship_id = view.ship
        session.target = 0
        session.last_status = None
        session.subscription = self.bus.subscribe(
            f"ship.{view.ship}", functools.partial(self._on_ship_moved, session)
        )
        if view.zone_key is None:
            self._leave_zone(session)
        else:
            self._enter_zone(session, view.zone_key)
        session.send_json(encode_server("event", kind="view", ship=view.ship))

    def _on_ship_moved(self, session: Session, moved: Any) -> None:
        if isinstance(moved, Respawned):
            # the old ship is gone: follow the pilot into the new one
            self._leave_zone(session)
            if session.subscription is not None:
                session.subscription.unsubscribe()
            session.ship_id = moved.new_ship
            session.target = 0
            session.last_status = None
            session.subscription = self.bus.subscribe(
                f"ship.{moved.new_ship}", functools.partial(self._on_ship_moved, session)
            )
            return
        assert isinstance(moved, ShipMoved)
        if moved.to_key is None:
            self._leave_zone(session)
            return
        self._enter_zone(session, moved.to_key)
        session.send_json(encode_server("event", kind="arrived", ship=moved.ship))

    # ------------------------------------------------------------------ messages in
    async def _on_message(self, session: Session, data: str | bytes) -> bool:
        """Handle one client frame; False closes the socket."""
        self.metrics.inc("callister_messages_received_total")
        allowed = session.allow_message(self.settings.flood_strikes)
        if allowed is None:
            self.world.outcomes.evidence(  # moderation's flood detector reads these
                session.account.id, "FLOOD", "socket", {"rate": self.settings.msg_rate}
            )
            self.world.outcomes.flush_evidence()
            session.send_json(error_message(ErrorCode.RATE_LIMITED, "flooding: closing"))
            await asyncio.sleep(0)  # let the sender flush the error
            await session.ws.close(code=CLOSE_FLOOD, message=b"flood")
            return False
        if not allowed:
            if session.should_report_rate():
                session.send_json(
                    error_message(ErrorCode.RATE_LIMITED, "too many messages; slow down")
                )
            return True
        try:
            message = decode_client(data)
            self._dispatch(session, message)
        except ProtocolError as exc:
            self.metrics.inc("callister_protocol_errors_total")
            session.send_json(error_message(exc.code, exc.message))
        return True

    def _dispatch(self, session: Session, message: ClientMessage) -> None:
        if isinstance(message, AckMsg):
            session.ack(message.seq)
            return
        if isinstance(message, PingMsg):
            session.send_json(encode_server("pong", n=message.n, tick=self.world.tick))
            return
        if isinstance(message, Hello):
            raise ProtocolError(ErrorCode.BAD_FIELD, "already authenticated")
        if session.spectator or isinstance(message, SpectateMsg):
            self._spectator_message(session, message)
            return
        if isinstance(message, ReportMsg):
            self._report(session, message)
            return
        pilot = session.pilot
        assert pilot is not None
        if (
            isinstance(message, CrewChatMsg)
            and self.mutes is not None
            and self.mutes.is_muted(session.account.id)
        ):  # refused before any desk sees it: nothing is delivered, stored or remembered
            raise ProtocolError(ErrorCode.MUTED, self.mutes.message(session.account.id))
        if isinstance(message, BountyMsg):
            work = self.world.stations.bounty(pilot, message)
            self._request(session, message.rid, work, request_fields(message))
            return
        if isinstance(message, ShareMessage):
            work = self.world.shipshare.handle(pilot, message)  # shared ships (issue 8)
            if work is not None:
                self._request(session, None, work)
            return
        if message.ship != session.ship_id:
            self.world.outcomes.evidence(
                session.account.id,
                str(ErrorCode.NOT_YOUR_SHIP),
                type(message).__name__.removesuffix("Msg").lower(),
                {"ship": message.ship, "own_ship": session.ship_id, "source": "gateway"},
            )
            self.world.outcomes.flush_evidence()
            raise ProtocolError(ErrorCode.NOT_YOUR_SHIP, f"ship {message.ship} is not yours")
        if pilot.dead:
            if isinstance(message, InputMsg):
                return
            raise ProtocolError(ErrorCode.DESTROYED, "your ship was destroyed; respawning")
        # the world's view, not the session's: it changes the moment a ship leaves on a jump
        # (aboard another's ship: that ship's zone)
        zone = self.world.shipshare.zone_for(pilot)
        if zone is None:
            if isinstance(message, InputMsg):
                return  # held controls during the instant of a jump: nothing to steer yet
            raise ProtocolError(ErrorCode.NOT_IN_WORLD, "your ship is between systems")
        self.world.shipshare.check_member(pilot, message)
        if isinstance(message, CrewChatMsg) and self.world.shipshare.chat(
            pilot, message.crew, message.text
        ):
            return
        if isinstance(message, TargetMsg):
            session.target = message.target
            session.last_status = None
            return
        if isinstance(message, DistressMsg):
            self._distress(session, pilot, zone)
            return
        if isinstance(message, MarketMsg):
            self._request(session, None, self._market(session, pilot))
            return
        if isinstance(message, TradeMsg | ServiceMsg | BuyHullMsg | BuyModuleMsg):
            work = self.world.stations.request(pilot, message)
            self._request(session, message.rid, work, request_fields(message))
            return
        if isinstance(message, HireMsg | DismissMsg | CrewOrderMsg | CrewChatMsg):
            self._crew(session, pilot, message)
            return
        actor = session.account.id
        intent: Intent
        if isinstance(message, InputMsg):
            intent = Input(actor, message.ship, message.thrust, message.turn, message.brake)
        elif isinstance(message, DockMsg):
            intent = Dock(actor, message.ship, message.station)
        elif isinstance(message, UndockMsg):
            intent = Undock(actor, message.ship)
        elif isinstance(message, JumpMsg):
            intent = Jump(actor, message.ship, message.to_x, message.to_y)
        elif isinstance(message, FireMsg):
            intent = Fire(actor, message.ship, message.slot, message.target)
        elif isinstance(message, MineMsg):
            intent = Mine(actor, message.ship, message.rock)
        elif isinstance(message, LootMsg):
            intent = Loot(actor, message.ship, message.wreck)
        elif isinstance(message, PowerMsg):
            intent = Power(actor, message.ship, message.engines, message.weapons, message.shields)
        elif isinstance(message, TravelMessage):  # autopilot, cruise (issue 16)
            intent = message.intent(actor)
        else:  # pragma: no cover - the decoder's set is closed
            raise ProtocolError(ErrorCode.UNKNOWN_TYPE, "unhandled message")
        self.world.submit(zone, intent)

    def _crew(
        self,
        session: Session,
        pilot: Pilot,
        message: HireMsg | DismissMsg | CrewOrderMsg | CrewChatMsg,
    ) -> None:
        """Crew messages go to the world's crew desk (server/crew.py); answers come back as
        `crew` and `chat` messages on the account's subject, a hire also as a `receipt`."""
        crews = self.world.agents.crews
        if isinstance(message, CrewOrderMsg):
            crews.order(pilot, message.crew, message.order, message.target)
        elif isinstance(message, CrewChatMsg):
            crews.chat(pilot, message.crew, message.text)
        elif isinstance(message, DismissMsg):
            self._request(session, None, crews.dismiss(pilot, message.crew))
        else:

            async def hire() -> None:
                done = await crews.hire(pilot, message.rid, message.candidate)
                session.last_status = None  # credits changed
                session.send_json(
                    encode_server(
                        "receipt",
                        rid=message.rid,
                        ok=True,
                        kind="hire",
                        txn=done["txn"],
                        credits=done["credits"],
                        cargo=pilot.cargo,
                        detail={"clone": done["clone"], "price": done["price"]},
                        replay=done["replay"],
                    )
                )

            self._request(session, message.rid, hire())

    def _report(self, session: Session, message: ReportMsg) -> None:
        """A player reports a player, ship or clone: moderation saves footage and queues it.
        Refused with RATE_LIMITED beyond the reporter's or the target's limit per minute."""
        if self.moderation is None:
            raise ProtocolError(ErrorCode.INTERNAL, "reports are not available on this server")
        moderation = self.moderation
        refusal = self._limit_report(
            session.account.id, moderation.target_key(message.kind, message.target), message
        )
        if refusal is not None:
            self.metrics.inc("callister_reports_refused_total")
            session.send_json(error_message(ErrorCode.RATE_LIMITED, refusal, ref="report"))
            return

        async def run() -> None:
            try:
                out = await moderation.report(
                    session.account.id, message.kind, message.target, message.reason, message.text
                )
            except Exception:
                log.exception("report failed", extra={"account": session.account.id})
                session.send_json(error_message(ErrorCode.INTERNAL, "the report failed; retry"))
                return
            session.send_json(encode_server("reported", id=out["id"], footage=out["footage"]))

        task = asyncio.get_running_loop().create_task(run())
        session.requests.add(task)
        task.add_done_callback(session.requests.discard)

    def _limit_report(self, reporter: int, target_key: str, message: ReportMsg) -> str | None:
        """Count a report against its reporter and its target; if either is at its limit,
        count nothing and return why (the error message)."""
        mine = self.report_throttle.reserve(f"reporter:{reporter}")
        if mine.refused:
            return (
                f"you filed {self.report_throttle.per_minute} reports in the last minute; wait "
                f"{math.ceil(mine.retry_after)} s before the next (the moderators have the "
                "ones you sent)"
            )
        theirs = self.report_target_throttle.reserve(target_key)
        if theirs.refused:
            self.report_throttle.forget(mine)
            return (
                f"{message.target[:64]} was reported {self.report_target_throttle.per_minute} "
                "times in the last minute; the moderators have those reports and their footage "
                f"(wait {math.ceil(theirs.retry_after)} s if you have something new)"
            )
        return None

    async def disconnect(self, account_id: int, code: int, reason: str) -> bool:
        """Close an account's sockets, its player's and any spectator's (a moderator's kick or
        ban); False if it had none here."""
        found = [s for s in self.spectators if s.account.id == account_id]
        session = self.sessions.get(account_id)
        if session is not None:
            found.append(session)
        for each in found:
            each.send_json(encode_server("bye", reason=reason))
        await asyncio.sleep(0)
        for each in found:
            with contextlib.suppress(Exception):
                await each.ws.close(code=code, message=reason.encode()[:120])
        return bool(found)

    def _distress(self, session: Session, pilot: Pilot, zone: str) -> None:
        """Call for help: everyone in the system hears it, with where to find the caller; at
        most once per `distress_every_s` (a repeat is refused to the caller, not re-sent)."""
        state = self.world.ship_state(pilot)
        if state is None:
            raise ProtocolError(ErrorCode.NOT_IN_WORLD, "your ship is between systems")
        refusal = self._limit_distress(session.account.id)
        if refusal is not None:
            self.metrics.inc("callister_distress_refused_total")
            session.send_json(error_message(ErrorCode.RATE_LIMITED, refusal, ref="distress"))
            return
        self.metrics.inc("callister_distress_total")
        if self.moderation is not None:  # the system's message log (reports carry it)
            self.moderation.note(zone, "distress", **{"from": pilot.name})
        text = encode_server(
            "event",
            kind="distress",
            ship=state.id,
            **{"from": pilot.name},
            at=[round(state.x, 1), round(state.y, 1)],
        )
        for member in self.by_zone.get(zone, ()):
            member.send_json(text)

    def _limit_distress(self, account: int) -> str | None:
        """Note a distress call going out now, or say why it may not (one per window)."""
        every, now = self.settings.distress_every_s, time.monotonic()
        last = self.distress_at.get(account)
        if last is not None and now - last < every:
            return (
                f"your distress call went out {int(now - last)} s ago and everyone in the "
                f"system heard it; you may call again in {math.ceil(every - (now - last))} s"
            )
        if every > 0:
            self.distress_at[account] = now
            if len(self.distress_at) > 10_000:  # bound memory: forget calls out of the window
                self.distress_at = {a: t for a, t in self.distress_at.items() if now - t < every}
        return None

    async def _market(self, session: Session, pilot: Pilot) -> None:
        session.send_json(encode_server("market", **await self.world.stations.market(pilot)))

    def _request(
        self, session: Session, rid: str | None, work: Any, sent: dict[str, Any] | None = None
    ) -> None:
        """Run a database-backed request off the read loop; answer with its receipt or error.
        `sent`: what the request asked for, compared with a replayed receipt (moderation)."""

        async def run() -> None:
            try:
                result = await work
            except ProtocolError as exc:
                session.send_json(error_message(exc.code, exc.message, ref=rid))
                return
            except EconomyError as exc:
                if exc.code == ErrorCode.INSUFFICIENT_FUNDS:
                    self.world.outcomes.evidence(
                        session.account.id,
                        str(exc.code),
                        "purchase",
                        {"rid": rid, "why": exc.message},
                    )
                    self.world.outcomes.flush_evidence()
                session.send_json(error_message(exc.code, exc.message, ref=rid))
                return
            except Exception:
                log.exception("station request failed", extra={"account": session.account.id})
                session.send_json(
                    error_message(ErrorCode.INTERNAL, "the request failed; retry it", ref=rid)
                )
                return
            if isinstance(result, Receipt):
                if result.replay and sent is not None and self.moderation is not None:
                    # the same rid with other contents: answered idempotently, but recorded
                    self.moderation.replayed(session.account.id, result, sent)
                self.metrics.inc("callister_transactions_total")
                session.last_status = None  # credits/cargo changed: resend the status
                session.send_json(
                    encode_server(
                        "receipt",
                        rid=result.rid,
                        ok=True,
                        kind=result.kind,
                        txn=result.txn,
                        credits=result.credits,
                        cargo=result.cargo,
                        detail=result.detail,
                        replay=result.replay,
                    )
                )

        task = asyncio.get_running_loop().create_task(run())
        session.requests.add(task)
        task.add_done_callback(session.requests.discard)

    # ----------------------------------------------------------------- snapshots out
    def _on_zone_tick(self, msg: Any) -> None:
        assert isinstance(msg, ZoneTick)
        members = self.by_zone.get(msg.key)
        if not members:
            return
        for event in msg.events:
            self._route_event(event)
        fx = zone_fx(msg.events) if msg.events else None
        self._fx_and_status(msg, members, fx)
        phase = msg.tick % self.period
        ids = msg.frame.ids
        candidates = [s for s in members if s.phase_key % self.period == phase and not s.closed]
        if not candidates or len(ids) == 0:
            return
        # one vectorised lookup of every due viewer's centre row in the frame: its own ship, or
        # for a spectator the entity it follows
        wanted = np.fromiter(
            (s.centre_id for s in candidates), dtype=np.uint64, count=len(candidates)
        )
        rows_of = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
        found = ids[rows_of] == wanted
        keep = found
        if self.spectators:  # a spectator is served even when its target is out of the frame
            watching = np.fromiter((s.spectator for s in candidates), dtype=bool)
            keep = found | watching
        due = [s for s, ok in zip(candidates, keep.tolist(), strict=True) if ok]
        if not due:
            return
        shared = share_frame(msg.frame, self.cell)
        own = rows_of[keep]
        cx, cy = shared.x[own], shared.y[own]
        if keep is not found:
            hit = found[keep]
            for i, session in enumerate(due):
                if not session.spectator:
                    continue
                if hit[i]:  # remember where the target was: the camera stays if it leaves
                    session.cam_x, session.cam_y = float(cx[i]), float(cy[i])
                else:
                    cx[i], cy[i] = session.cam_x, session.cam_y
        views = plan_views(
            shared,
            cx,
            cy,
            self.settings.aoi_radius,
            self.settings.aoi_near_radius,
            msg.tick // self.period,
            self.settings.aoi_far_every,
        )
        for session, (rows, stale) in zip(due, views, strict=True):
            self._snapshot(session, shared, rows, stale)

    def _snapshot(
        self,
        session: Session,
        shared: SharedFrame,
        rows: npt.NDArray[np.intp],
        stale: npt.NDArray[np.bool_],
    ) -> None:
        base = session.views.get(session.acked) if session.acked else None
        session.seq += 1
        seq = session.seq
        records, changed, removed, fresh = view_delta(shared, rows, stale, base)
        base_seq = session.acked if base is not None else 0
        if len(fresh):
            new_ids = [i for i in fresh.tolist() if i not in session.introduced]
            if new_ids:
                self._introduce(session, new_ids)
        session.views[seq] = records
        session.views.pop(seq - VIEW_HISTORY, None)  # seqs only grow: drop the one fallen out
        session.send_snapshot(encode_snapshot(shared.tick, seq, base_seq, changed, removed))

    def _fx_and_status(
        self, msg: ZoneTick, members: set[Session], fx: list[dict[str, Any]] | None
    ) -> None:
        """Effects near each viewer this tick, and every STATUS_EVERY ticks its status (viewers
        are staggered by ship id so a full system's statuses spread over the ticks)."""
        handle = self.world.zones.get(msg.key)
        if handle is None:
            return
        zone = handle.zone
        radius = self.settings.aoi_radius
        tick = msg.tick
        for session in members:
            send_status = (tick + session.ship_id) % STATUS_EVERY == 0
            if not (fx or send_status):
                continue
            if session.spectator:  # effects around the camera; no ship, so no status
                near = fx_for(fx, session.cam_x, session.cam_y, radius) if fx else None
                if near and not session.closed:
                    session.send_json(encode_server("fx", fx=near))
                continue
            pilot = session.pilot
            if session.closed or pilot is None or not zone.has_ship(session.ship_id):
                continue
            own = zone.ship_state(session.ship_id)
            if fx:
                near = fx_for(fx, own.x, own.y, radius)
                if near:
                    session.send_json(encode_server("fx", fx=near))
            if send_status:
                status = self.world.shipshare.status(self.world, zone, pilot, own, session.target)
                last = session.last_status
                if status != last and (
                    last is None
                    or tick - session.last_status_tick >= SLOW_STATUS_EVERY
                    or not _only_drifting(status, last)
                ):
                    session.last_status = status
                    session.last_status_tick = tick
                    if last is None:
                        session.send_json(encode_server("status", **status))
                    else:  # only what changed; the client merges it into the last status
                        changed = {k: v for k, v in status.items() if last.get(k) != v}
                        session.send_json(encode_server("status", delta=True, **changed))

    def _introduce(self, session: Session, ship_ids: list[int]) -> None:
        ents = []
        zone = self.world.zones.get(session.zone_key) if session.zone_key else None
        for ship_id in ship_ids:
            kind = zone.zone.entity_kind(ship_id) if zone is not None else KIND_SHIP
            if kind != KIND_SHIP:
                if kind == KIND_WRECK:
                    session.introduced.add(ship_id)
                    ents.append({"id": ship_id, "kind": "wreck", "name": "Wreck", "hull": ""})
                continue  # projectiles and missiles need no introduction
            session.introduced.add(ship_id)
            owner = self.world.ship_owner.get(ship_id)
            pilot = self.world.pilots.get(owner) if owner is not None else None
            ent: dict[str, Any] = {
                "id": ship_id,
                "kind": "ship",
                "name": pilot.name
                if pilot
                else self.world.agents.ship_name(ship_id) or f"ship-{ship_id}",
                "hull": pilot.character.hull if pilot else "",
            }
            if owner in self.moderator_ships and pilot and pilot.character.ship_id == ship_id:
                ent["mod"] = True  # a moderator's ship: clients tag it "MOD"
            ents.append(ent)
        if ents:
            session.send_json(encode_server("ents", ents=ents))

    def _route_event(self, event: Any) -> None:
        if isinstance(event, Refused):
            target = self.sessions.get(event.actor)
            if target is not None:
                target.send_json(error_message(event.code, event.reason, ref=event.action))
            return
        owner = self.world.ship_owner.get(getattr(event, "ship", 0))
        target = self.sessions.get(owner) if owner is not None else None
        if target is None:
            return
        if isinstance(event, Docked):
            target.send_json(
                encode_server("event", kind="docked", ship=event.ship, station=event.station)
            )
        elif isinstance(event, Undocked):
            target.send_json(
                encode_server("event", kind="undocked", ship=event.ship, station=event.station)
            )
        elif isinstance(event, JumpCharging):
            target.send_json(
                encode_server(
                    "event",
                    kind="jump_charging",
                    ship=event.ship,
                    to=sector_str((event.to_x, event.to_y)),
                    ticks=event.ticks,
                )
            )
        elif isinstance(event, JumpCancelled):
            target.send_json(encode_server("event", kind="jump_cancelled", ship=event.ship))
        elif isinstance(event, Collided):
            target.send_json(
                encode_server(
                    "event",
                    kind="collided",
                    ship=event.ship,
                    what=event.what,
                    speed=round(float(event.speed), 1),
                )
            )

    # ------------------------------------------------------------------- shutdown
    async def shutdown(self, reason: str = "server shutting down") -> None:
        """Tell every client why, then close their sockets with 1001 (going away)."""
        for session in [*self.sessions.values(), *self.spectators]:
            session.send_json(encode_server("bye", reason=reason))
        await asyncio.sleep(0.05)
        for session in [*self.sessions.values(), *self.spectators]:
            with contextlib.suppress(Exception):
                await session.ws.close(code=WSCloseCode.GOING_AWAY, message=b"shutdown")
