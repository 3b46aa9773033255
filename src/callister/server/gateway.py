"""The gateway: WebSocket connections, the hello, message budgets, and the fan-out's sessions.

It holds the sockets and nothing of the simulation. One socket's life: `handle` accepts it,
`authenticate` reads the hello (also used by the world host and a cluster gateway), `serve`
puts the player's ship in the world and reads the socket; each frame is budgeted (token bucket,
flood close), decoded (protocol/messages.py), and handed to the commands (server/commands.py),
whose `Effect` the gateway carries out: JSON text written to the session, a request run beside
the read loop, or a change to what the socket is shown, made by the fan-out (server/fanout.py),
which also turns every zone tick into each socket's snapshot.

Intents go to zones through the bus and zone ticks come back through it, so gateways and zones
can live in different processes (cluster/).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from callister.moderation import admission
from callister.moderation.admission import Mutes
from callister.moderation.feeds import EVIDENCE, Suspicion
from callister.moderation.service import Moderation
from callister.protocol.controls import ControlsMsg, ResyncMsg, decode_client_v2
from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.messages import (
    AckMsg,
    ClientMessage,
    Hello,
    decode_client,
    encode_server,
    error_message,
)
from callister.server.auth import token_hash
from callister.server.bus import Bus
from callister.server.commands import Acked, Answer, Commands, Effect, Request, Targeted
from callister.server.fanout import Fanout
from callister.server.keepalive import KEEPALIVE
from callister.server.metrics import Metrics
from callister.server.session import Session, open_socket
from callister.server.settings import Settings
from callister.server.world import World
from callister.server.writer import StoreWriter
from callister.store import Account, Store

log = logging.getLogger(__name__)

# WebSocket close codes (docs/protocol.md lists them)
CLOSE_BAD_HELLO = 4400
CLOSE_AUTH_FAILED = 4401
CLOSE_BANNED = 4403
CLOSE_HELLO_TIMEOUT = 4408
CLOSE_REPLACED = 4409
CLOSE_FLOOD = 4429
CLOSE_FORBIDDEN = 4405  # hello.spectate / hello.moderator_ship from a role that may not
STAFF_ROLES = ("moderator", "admin")  # may spectate or fly a marked moderator ship

WorldsFor = Callable[[Account], list[dict[str, Any]]]


def peer_address(ws: Any) -> str:
    """The client's IP address as the socket sees it ("?" when unknown)."""
    peer = ws.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else "?"


async def authenticate(
    ws: web.WebSocketResponse,
    store: Store,
    writer: StoreWriter,
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
    deadline = time.monotonic() + timeout
    try:
        msg = await ws.receive(timeout=timeout)
        while KEEPALIVE.control(ws, msg):  # a client's ping before its hello is answered
            msg = await ws.receive(timeout=max(0.0, deadline - time.monotonic()))
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


class Gateway:
    """One world's sockets: its players' (by account) and its spectators'."""

    def __init__(
        self,
        world: World,
        bus: Bus,
        settings: Settings,
        metrics: Metrics,
        *,
        mutes: Mutes | None = None,
    ) -> None:
        self.world, self.bus, self.settings, self.metrics = world, bus, settings, metrics
        self.sessions: dict[int, Session] = {}  # by account id
        self.spectators: set[Session] = set()  # not in `sessions`: they have no ship or pilot
        self._connections = 0
        self.moderation: Moderation | None = None  # logins and bans on entry (see `moderate`)
        self.commands = Commands(world, bus, settings, metrics, mutes=mutes)
        self.fanout = Fanout(world, bus, settings, self.sessions, self.spectators)
        # the worlds an account may enter (welcome.worlds); set by server/world_host.py
        self.worlds_for: WorldsFor | None = None

    def moderate(self, moderation: Moderation) -> None:
        """Put this gateway's sockets under `moderation` (at start-up, before any connects):
        each login is recorded and checked against bans, reports are taken, muted chat is
        refused."""
        self.moderation = moderation
        self.commands = Commands(
            self.world,
            self.bus,
            self.settings,
            self.metrics,
            moderation=moderation,
            mutes=moderation.mutes,
        )

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
        ws = await open_socket(request, full=self.connections >= self.settings.max_clients)
        if ws.closed:  # the server is full
            return ws
        self.connections += 1
        try:
            found = await authenticate(
                ws,
                self.world.store,
                self.world.writer,
                self.metrics,
                self.settings.hello_timeout_s,
                bans_world=self.settings.world_name,
            )
            if found is not None:
                await self.serve(ws, *found)
        finally:
            self.connections -= 1
        return ws

    async def serve(
        self,
        ws: web.WebSocketResponse,
        account: Account,
        hello: Hello | None = None,
        *,
        admitted: bool = False,
        followed: bool = False,
    ) -> None:
        """Serve one authenticated socket until it closes (called by `handle`, the world host
        and a cluster worker for a relayed socket). `admitted`: bans and the login were
        checked for this connection already (a cluster session resuming on another worker).
        `followed`: the session follows its ship, which jumped here from another cluster
        worker: the client has its welcome and content, and hears what a jump within one
        process tells it (the `system` message, then `event arrived`: the world's)."""
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
        session.version = self.version(hello)
        self.sessions[account.id] = session
        self.metrics.inc("callister_logins_total")
        session.sender = asyncio.get_running_loop().create_task(session.run_sender())
        try:
            pilot = await self.world.enter(account.id, account.name)
            session.pilot = pilot
            session.ship_id = pilot.character.ship_id
            marked = hello is not None and hello.moderator_ship
            if marked != (account.id in self.fanout.moderator_ships):
                self.fanout.mark_moderator(pilot, marked)
            self.fanout.attach(session, pilot)
            if not followed:
                session.send_json(
                    self.commands.welcome(account, pilot, self._worlds(account), session.version)
                )
                session.send_json(self.commands.content_message())
            if pilot.zone_key is not None:
                self.fanout.enter_zone(session, pilot.zone_key)
            self._perform(session, self.commands.entered(pilot))
            await self._read(session)
        finally:
            replaced = self.sessions.get(account.id) is not session
            self._detach(session)
            if not replaced:
                self.sessions.pop(account.id, None)
                self.world.leave(account.id)

    async def _read(self, session: Session) -> None:
        """Handle the socket's frames until it closes (or is closed for flooding)."""
        ws = session.ws
        async for msg in ws:
            KEEPALIVE.heard(ws)
            if msg.type == WSMsgType.TEXT or msg.type == WSMsgType.BINARY:
                if not await self._on_message(session, msg.data):
                    break
            elif msg.type == WSMsgType.ERROR:
                break
            else:
                KEEPALIVE.control(ws, msg)

    @staticmethod
    def version(hello: Hello | None) -> int:
        """The protocol version a socket with this hello speaks: 2 when it asks for it, else 1
        (docs/protocol.md, "Negotiation"); a cluster worker's relayed sockets alike."""
        return 2 if hello is not None and hello.v == 2 else 1

    def _worlds(self, account: Account) -> list[dict[str, Any]]:
        return self.worlds_for(account) if self.worlds_for else []

    def _detach(self, session: Session) -> None:
        session.end()
        self.fanout.detach(session)

    # -------------------------------------------------------------- spectators (issue 6)
    async def _spectate(self, ws: web.WebSocketResponse, account: Account, hello: Hello) -> None:
        """A moderator watches a system with no ship: nothing of it is in the zone, so no other
        client can see it. Its snapshots go through the same per-client AOI path as players',
        centred on the entity it follows (across jumps, for a player's ship) or a fixed point."""
        session = Session(ws, account, self.settings, self.metrics)
        session.spectator = True
        session.version = self.version(hello)
        self.spectators.add(session)
        self.metrics.inc("callister_spectators_total")
        session.sender = asyncio.get_running_loop().create_task(session.run_sender())
        try:
            session.send_json(
                self.commands.spectator_welcome(account, self._worlds(account), session.version)
            )
            session.send_json(self.commands.content_message())
            for effect in self.commands.spectate(hello.follow, hello.sector):
                self._perform(session, effect)
            await self._read(session)
        finally:
            self.spectators.discard(session)
            self._detach(session)

    # ------------------------------------------------------------------ messages in
    async def _on_message(self, session: Session, data: str | bytes) -> bool:
        """Handle one client frame; False closes the socket."""
        self.metrics.inc("callister_messages_received_total")
        allowed = session.allow_message(self.settings.flood_strikes)
        if allowed is None:
            self.bus.publish(  # moderation's flood detector reads these
                EVIDENCE,
                Suspicion(session.account.id, "FLOOD", "socket", {"rate": self.settings.msg_rate}),
            )
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
            message = (
                decode_client(data) if session.version == 1 else self._decode_v2(session, data)
            )
        except ProtocolError as exc:
            self.metrics.inc("callister_protocol_errors_total")
            session.send_json(error_message(exc.code, exc.message, ref=exc.ref))
            return True
        if message is not None:
            self._perform(session, self.commands.handle(session, message))
        return True

    def _decode_v2(self, session: Session, data: str | bytes) -> ClientMessage | None:
        """A v2 socket's frame as the one message path knows it: binary controls become the
        `input` of the ship the session commands; `resync` and acks are the view's business
        (None: nothing more to do). ProtocolError for a frame v2 refuses."""
        message = decode_client_v2(data)
        if isinstance(message, ControlsMsg):
            return message.for_ship(session.ship_id)
        if isinstance(message, ResyncMsg):
            self.fanout.resync(session)
            return None
        if isinstance(message, AckMsg):
            return None  # v2 has no acknowledgements: accepted and ignored
        return message

    def _perform(self, session: Session, effect: Effect) -> None:
        """Carry out what a command returned (server/commands.py): write it, run it, or change
        what the socket is shown."""
        if effect is None:
            return
        if isinstance(effect, str):
            session.send_json(effect)
        elif isinstance(effect, Acked):
            session.ack(effect.seq)
        elif isinstance(effect, Request):
            self._run(session, effect.work)
        elif isinstance(effect, Targeted):
            session.target = effect.target
            session.last_status = None
        else:
            self.fanout.aim(session, effect)

    def _run(self, session: Session, work: Awaitable[Answer | None]) -> None:
        """Run a request beside the read loop (cancelled if the socket closes); write its
        answer."""

        async def run() -> None:
            answer = await work
            if answer is None:
                return
            if answer.status_changed:
                session.last_status = None  # the next status is sent whole
            session.send_json(answer.text)

        task = asyncio.get_running_loop().create_task(run())
        session.requests.add(task)
        task.add_done_callback(session.requests.discard)
        # `work` is a coroutine made when the message was handled; a socket that closes before
        # the task's first step cancels it unstarted, and `work` would be dropped unawaited
        # (a RuntimeWarning at teardown): close it then (a no-op for one that ran)
        if asyncio.iscoroutine(work):
            coroutine = work
            task.add_done_callback(lambda done: done.cancelled() and coroutine.close())

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

    # ------------------------------------------------------------------- shutdown
    async def shutdown(self, reason: str = "server shutting down") -> None:
        """Tell every client why, then close their sockets with 1001 (going away)."""
        for session in [*self.sessions.values(), *self.spectators]:
            session.send_json(encode_server("bye", reason=reason))
        await asyncio.sleep(0.05)
        for session in [*self.sessions.values(), *self.spectators]:
            with contextlib.suppress(Exception):
                await session.ws.close(code=WSCloseCode.GOING_AWAY, message=b"shutdown")
