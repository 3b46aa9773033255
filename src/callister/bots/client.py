"""A bot: a real client that registers over HTTP, speaks the WebSocket protocol, flies and jumps.

Bots use exactly the path a browser uses (no privileged API), so a swarm of them load-tests the
real server. They speak protocol v1 (the default) or v2 (`protocol=2`; docs/protocol.md).

- **v1**: binary snapshots, each acknowledged (every `ack_every`-th); JSON `input` controls. A
  bot keeps its full view (`track_view=True`, used by tests) or only its own ship (load tests:
  the server's bytes and timing are the same; the bot just does less work).
- **v2**: hello with `"v": 2`, and the welcome must say 2 (`ProtocolMismatch` otherwise). Every
  update frame is decoded and applied to a `FastClientView` (protocol/fastview.py: the reference
  client `updates.ClientView` in numpy arrays, tested equal to it; a few microseconds an update
  where the reference takes tens, which a swarm of hundreds on the server's machine needs), so
  the bot always holds its whole view and finds every gap and misfit the reference would; its own
  ship is predicted from its reference (dead reckoning) at each update's tick. Nothing is
  acknowledged; controls go up as 4-byte binary frames. An update that does not fit the view
  (a `seq` gap without RESYNC, an entity it does not hold...) or a malformed frame is counted
  as an error (`VIEW_GAP`, `BAD_UPDATE`) and answered with `resync`; updates are then ignored
  until the RESYNC.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import numpy as np
import numpy.typing as npt

from callister.protocol.controls import encode_controls
from callister.protocol.errors import ProtocolError
from callister.protocol.fastview import FastClientView, decode_fast
from callister.protocol.limits import PROTOCOL_VERSIONS
from callister.protocol.messages import BINARY_ACK, BINARY_ACK_TYPE
from callister.protocol.snapshot import (
    EMPTY_RECORDS,
    POS_SCALE,
    apply_snapshot,
    decode_snapshot,
)


def check_protocol(protocol: object) -> int:
    """`protocol` if it is a version the bots speak (1 or 2), else ValueError saying so."""
    if type(protocol) is not int or protocol not in PROTOCOL_VERSIONS:
        versions = " or ".join(map(str, PROTOCOL_VERSIONS))
        raise ValueError(f"protocol must be {versions} (docs/protocol.md), got {protocol!r}")
    return protocol


@dataclass
class BotStats:
    connected: bool = False
    errors: int = 0  # the server's `error` messages, a v2 view gap, and the bot's own failure
    error_codes: dict[str, int] = field(default_factory=dict)
    snapshots: int = 0  # v1 snapshots or v2 updates received
    bytes_received: int = 0
    json_bytes: int = 0  # of bytes_received, the JSON (text) frames
    intervals_ms: list[float] = field(default_factory=list)
    jumps: int = 0
    docks: int = 0
    seconds: float = 0.0
    failure: str | None = None


class GmRefused(RuntimeError):
    """A game master's command was refused: `code` from the error set, and the message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


RESYNC_PATIENCE = 40
"""v2: updates a bot ignores while it waits for a RESYNC before it asks (again) for one."""
JUMP_PATIENCE_S = 10.0
"""How long a bot waits for a jump it asked for to land (or be cancelled or refused) before it
may ask for another (a reply lost with a failed-over worker must not stop it for good)."""


class ProtocolMismatch(RuntimeError):
    """The server's welcome names another protocol version than the bot asked for."""


class Bot:
    """One scripted player. `run(seconds)` registers, connects, flies until time is up.
    `protocol` is the wire protocol's version it asks for and speaks: 1 or 2."""

    def __init__(
        self,
        http_url: str,
        ws_url: str,
        name: str,
        password: str = "bot-password-123",
        *,
        session: aiohttp.ClientSession,
        jump_every_s: float = 30.0,
        track_view: bool = False,
        ack_every: int = 1,
        rng: random.Random | None = None,
        protocol: int = 1,
    ) -> None:
        self.protocol = check_protocol(protocol)
        self.http_url, self.ws_url = http_url.rstrip("/"), ws_url
        self.name, self.password = name, password
        self.http = session
        self.jump_every_s = jump_every_s
        self.track_view = track_view
        # acknowledging every n-th snapshot is allowed: deltas are then against a slightly
        # older view (a little larger), and the server handles n times fewer messages
        self.ack_every = max(1, ack_every)
        self.rng = rng or random.Random(name)
        self.stats = BotStats()
        self.token: str | None = None
        self.ship = 0
        self.system: dict[str, Any] | None = None
        self.views: dict[int, npt.NDArray[np.void]] = {0: EMPTY_RECORDS}
        self.view: npt.NDArray[np.void] = EMPTY_RECORDS
        self.names: dict[int, str] = {}
        self.pos = (0.0, 0.0)
        # a jump asked for and not yet landed, cancelled or refused (until then, no other:
        # a player does not ask again while the drive charges; a second ask would race the
        # first out of the system and be refused)
        self._jump_until = 0.0
        self.angle = 0.0
        self.docked = True
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.events: list[dict[str, Any]] = []
        self.status: dict[str, Any] | None = None
        self.market: dict[str, Any] | None = None
        self.receipts: dict[str, dict[str, Any]] = {}  # rid -> receipt, as the server told
        self.refused: dict[str, str] = {}  # ref (rid or action) -> error code
        self.fx: list[dict[str, Any]] = []
        self.welcome: dict[str, Any] = {}
        self.content: dict[str, Any] = {}  # the world's `content` message (after the welcome)
        self._rid = 0
        self.bye: str | None = None
        self.world: str | None = None  # hello.world: the world to enter (None: home)
        self.bye_world: str | None = None  # bye.world: where the server sent us
        # issue 6: extra hello fields (`spectate`, `follow`, `moderator_ship`: moderators only)
        self.hello_extra: dict[str, Any] = {}
        self.ents: dict[int, dict[str, Any]] = {}  # id -> the newest `ents` entry
        self.spectating: dict[str, Any] | None = None  # a spectator's newest camera
        self.gm_done: list[dict[str, Any]] = []  # answers to game-master commands (`gm`)
        self.last_error: dict[str, Any] = {}  # the newest `error` message
        self._seq = 0
        self._undocked_seq = -10
        self._last_snapshot = 0.0
        # v2: the view kept from the update frames, and whether it waits for a RESYNC (after
        # connecting, entering a system, or finding a gap: then updates are ignored until one)
        self.v2view = FastClientView()
        self._need_resync, self._asked_resync, self._ignored = True, False, 0
        self.resyncs_asked = 0  # `resync` messages sent on finding a gap
        self.view_errors: list[str] = []  # what did not fit (the newest 20)
        self._sends: set[asyncio.Future[None]] = set()  # fire-and-forget writes (acks, resync)

    # -------------------------------------------------------------------- account
    async def register(self) -> None:
        """Register (or log in if the name exists) and keep the token."""
        body = {"name": self.name, "password": self.password}
        async with self.http.post(f"{self.http_url}/api/register", json=body) as resp:
            if resp.status == 409:
                async with self.http.post(f"{self.http_url}/api/login", json=body) as login:
                    data = await login.json()
                    if login.status != 200:
                        raise RuntimeError(f"login failed: {data}")
            else:
                data = await resp.json()
                if resp.status != 201:
                    raise RuntimeError(f"register failed ({resp.status}): {data}")
        self.token = data["token"]

    # ----------------------------------------------------------------- connection
    async def connect(self) -> None:
        """Open the socket, say hello, and wait for the welcome and the system."""
        self.ship, self.system, self.welcome = 0, None, {}
        self.views, self.view = {0: EMPTY_RECORDS}, EMPTY_RECORDS
        self._last_snapshot = 0.0
        self._wait_resync()
        self.ws = await self.http.ws_connect(self.ws_url, max_msg_size=1 << 20, heartbeat=30)
        hello: dict[str, Any] = {"t": "hello", "token": self.token, "v": self.protocol}
        if self.world is not None:
            hello["world"] = self.world
        hello.update(self.hello_extra)
        await self.send(hello)
        # a spectator has no ship (welcome.ship 0): its welcome and first system suffice
        while not (self.ship or self.welcome.get("spectate")) or self.system is None:
            msg = await asyncio.wait_for(self.ws.receive(), 15)
            if msg.type != aiohttp.WSMsgType.TEXT and msg.type != aiohttp.WSMsgType.BINARY:
                raise RuntimeError(f"socket closed during hello: {msg.type} {msg.data}")
            self._on_frame(msg.data)
            if self.welcome and self.welcome.get("v", 1) != self.protocol:
                await self.ws.close()
                raise ProtocolMismatch(
                    f"asked for protocol v{self.protocol}, but the server's welcome says "
                    f"v{self.welcome.get('v', 1)}: it does not speak v{self.protocol} on "
                    f"{self.ws_url} (run the bots with --protocol {self.welcome.get('v', 1)})"
                )
        self.stats.connected = True

    async def send(self, obj: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send_str(json.dumps(obj, separators=(",", ":")))

    def _on_frame(self, data: str | bytes) -> None:
        if isinstance(data, bytes):
            if self.protocol == 2:
                self._on_update(data)
            else:
                self._on_snapshot(data)
            return
        self.stats.bytes_received += len(data)
        self.stats.json_bytes += len(data)
        msg = json.loads(data)
        kind = msg.get("t")
        if kind == "welcome":
            self.ship = int(msg["ship"])
            self.welcome = msg
        elif kind == "status":
            # a delta carries only what changed since the last status
            self.status = {**self.status, **msg} if msg.get("delta") and self.status else msg
        elif kind == "market":
            self.market = msg
        elif kind == "receipt":
            self.receipts[msg["rid"]] = msg
        elif kind == "fx":
            self.fx.extend(msg["fx"])
            del self.fx[:-500]
        elif kind == "system":
            self.system = msg["system"]
            self.views = {0: EMPTY_RECORDS}
            self.view = EMPTY_RECORDS
            self._wait_resync()
        elif kind == "ents":
            for ent in msg["ents"]:
                self.names[int(ent["id"])] = ent["name"]
                self.ents[int(ent["id"])] = ent
        elif kind == "spectating":
            self.spectating = msg
        elif kind == "content":
            self.content = msg
        elif kind == "gm":
            self.gm_done.append(msg)
        elif kind == "error":
            self.last_error = msg
            self.stats.errors += 1
            code = msg.get("code", "?")
            self.stats.error_codes[code] = self.stats.error_codes.get(code, 0) + 1
            if msg.get("ref") is not None:
                self.refused[str(msg["ref"])] = code
            if msg.get("ref") == "jump":
                self._jump_until = 0.0
        elif kind == "bye":
            self.bye = msg.get("reason")
            self.bye_world = msg.get("world")
        elif kind == "event":
            self.events.append(msg)
            if msg.get("kind") == "docked":
                self.docked = True
                self.stats.docks += 1
            elif msg.get("kind") == "undocked":
                self.docked = False
                self._undocked_seq = self._seq
            elif msg.get("kind") == "arrived":
                self.stats.jumps += 1
                self._jump_until = 0.0
            elif msg.get("kind") == "jump_cancelled":
                self._jump_until = 0.0
            elif msg.get("kind") == "respawned":
                self.ship = int(msg["ship"])  # the old ship was destroyed
                self.docked = True

    def _count_frame(self, data: bytes) -> None:
        """A v1 snapshot's or v2 update's interval, count and bytes in the stats."""
        now = time.monotonic()
        if self._last_snapshot:
            self.stats.intervals_ms.append((now - self._last_snapshot) * 1000.0)
        self._last_snapshot = now
        self.stats.snapshots += 1
        self.stats.bytes_received += len(data)

    def _on_snapshot(self, data: bytes) -> None:
        self._count_frame(data)
        snap = decode_snapshot(data)
        if self.track_view:
            base = self.views.get(snap.base_seq, EMPTY_RECORDS) if not snap.full else EMPTY_RECORDS
            self.view = apply_snapshot(base, snap)
            self.views[snap.seq] = self.view
            for old in [s for s in self.views if s < snap.seq - 32]:
                del self.views[old]
        self._seq = snap.seq
        mine = snap.changed[snap.changed["id"] == self.ship]
        if len(mine):
            self.pos = (float(mine["x"][0]) / POS_SCALE, float(mine["y"][0]) / POS_SCALE)
            self.angle = float(mine["angle"][0]) / 65536.0 * 2.0 * math.pi
            # a snapshot built before the undocked event may still say docked: events win
            if snap.seq > self._undocked_seq + 1 or not (mine["flags"][0] & 1):
                self.docked = bool(mine["flags"][0] & 1)
        if self.ws is not None and not self.ws.closed and snap.seq % self.ack_every == 0:
            # fire-and-forget: aiohttp writes immediately unless the socket is backed up
            self._fire(self.ws.send_bytes(BINARY_ACK.pack(BINARY_ACK_TYPE, snap.seq)))

    def _on_update(self, data: bytes) -> None:
        """A v2 update frame: counted, decoded, applied to the view (docs/protocol.md, "Keeping
        the view"); never acknowledged. A frame that does not fit asks for a RESYNC."""
        self._count_frame(data)
        try:
            update = decode_fast(data)
        except ProtocolError as exc:
            self._lost_view("BAD_UPDATE", exc.message)
            return
        if self._need_resync and not update.resync:
            # a RESYNC is on its way: nothing before it fits a view; if it does not come,
            # ask (again)
            self._ignored += 1
            if self._ignored % RESYNC_PATIENCE == 0:
                self._lost_view("VIEW_GAP", f"no RESYNC in {self._ignored} updates", again=True)
            return
        try:
            self.v2view.apply(update)
        except ProtocolError as exc:
            self._lost_view("VIEW_GAP", exc.message)
            return
        self._need_resync, self._asked_resync, self._ignored = False, False, 0
        self._seq = update.seq
        mine = self.v2view.sight(self.ship, update.tick)
        if mine is None:
            return
        self.pos = (mine.x, mine.y)
        self.angle = mine.angle / 65536.0 * 2.0 * math.pi
        # the docked flag of a record of this update (not a reference held from before); an
        # update built before the undocked event may still say docked: events win
        fresh = mine.t0 == update.tick
        if fresh and (update.seq > self._undocked_seq + 1 or not (mine.flags & 1)):
            self.docked = bool(mine.flags & 1)

    def _wait_resync(self) -> None:
        """v2, on connecting and entering a system: the view restarts, and the server's next
        update is a RESYNC (it sends it unasked)."""
        self.v2view = FastClientView()
        self._need_resync, self._asked_resync, self._ignored = True, False, 0

    def _lost_view(self, code: str, why: str, again: bool = False) -> None:
        """The v2 view is wrong (`why`): count it under `code`, send `resync` (once, unless
        `again`) and wait for the RESYNC."""
        self.view_errors.append(why)
        del self.view_errors[:-20]
        self.stats.errors += 1
        self.stats.error_codes[code] = self.stats.error_codes.get(code, 0) + 1
        if self._asked_resync and not again:
            return  # asked already: the RESYNC is on its way
        self._need_resync, self._asked_resync, self._ignored = True, True, 0
        self.resyncs_asked += 1
        if self.ws is not None and not self.ws.closed:
            self._fire(self.ws.send_str('{"t":"resync"}'))

    def _fire(self, write: Any) -> None:
        """Run a socket write without waiting for it (kept referenced until it is done)."""
        task = asyncio.ensure_future(write)
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    def next_rid(self) -> str:
        """A fresh request id for a trade or purchase (the idempotency key of the request)."""
        self._rid += 1
        return f"{self.name}-{self._rid}"

    async def request(
        self, msg: dict[str, Any], timeout: float = 10.0
    ) -> tuple[dict[str, Any] | None, str | None]:
        """Send a station request with a fresh rid; wait for (receipt, None) or (None, code)."""
        rid = msg.get("rid") or self.next_rid()
        await self.send(
            {**msg, "rid": rid, "ship": self.ship} if "ship" not in msg else {**msg, "rid": rid}
        )
        end = time.monotonic() + timeout
        while rid not in self.receipts and rid not in self.refused:
            if time.monotonic() > end:
                raise TimeoutError(f"no answer to request {rid}")
            await self.pump(0.05)
        return self.receipts.get(rid), self.refused.get(rid)

    async def gm(self, op: str, timeout: float = 15.0, **fields: Any) -> dict[str, Any]:
        """Send a game master's command (`{"t": "gm", "op", ...}`) and wait for its answer:
        the `gm` message, or RuntimeError naming the refusal's code and message."""
        done = len(self.gm_done)
        self.refused.pop("gm", None)
        await self.send({"t": "gm", "op": op, **fields})
        end = time.monotonic() + timeout
        while len(self.gm_done) == done and "gm" not in self.refused:
            if time.monotonic() > end:
                raise TimeoutError(f"no answer to gm {op}")
            await self.pump(0.05)
        if "gm" in self.refused:
            raise GmRefused(self.refused.pop("gm"), self.last_error.get("message", ""))
        return self.gm_done[done]

    def positions(self) -> dict[int, tuple[float, float]]:
        """Every entity in the bot's view (v1: with track_view) with its position in metres
        (v2: predicted at the last update's tick)."""
        if self.protocol == 2:
            view = self.v2view
            where = view.metres_at(view.tick).tolist()
            return {ident: (x, y) for ident, (x, y) in zip(view.ids.tolist(), where, strict=True)}
        return {
            int(r["id"]): (float(r["x"]) / POS_SCALE, float(r["y"]) / POS_SCALE) for r in self.view
        }

    async def pump(self, seconds: float) -> None:
        """Receive frames for `seconds` (or until the socket closes)."""
        assert self.ws is not None
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                # receive's own timeout, not wait_for: that made a task per message, an eighth
                # of a v2 bot's CPU (profiled); a timeout cancels the read the same way
                msg = await self.ws.receive(timeout=left)
            except TimeoutError:
                return
            if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                self._on_frame(msg.data)
            else:
                raise ConnectionError(f"socket closed: {msg.type} {msg.data!r}")

    # ------------------------------------------------------------------------ flying
    def _pick_waypoint(self) -> tuple[float, float]:
        """Somewhere a player would go: a station or an asteroid field, or open space."""
        places: list[tuple[float, float]] = []
        if self.system:
            places += [(float(s["x"]), float(s["y"])) for s in self.system.get("stations", [])]
            places += [(float(f["x"]), float(f["y"])) for f in self.system.get("fields", [])]
            radius = float(self.system.get("radius", 20000))
        else:
            radius = 20000.0
        if places and self.rng.random() < 0.7:
            return self.rng.choice(places)
        angle = self.rng.uniform(0, 2 * math.pi)
        dist = self.rng.uniform(0.1, 0.6) * radius
        return (dist * math.cos(angle), dist * math.sin(angle))

    def _steer(self, target: tuple[float, float]) -> tuple[float, float]:
        """(thrust, turn) towards `target`: turn to face it, thrust when roughly facing it."""
        dx, dy = target[0] - self.pos[0], target[1] - self.pos[1]
        error = math.atan2(dy, dx) - self.angle
        error = (error + math.pi) % (2 * math.pi) - math.pi
        turn = max(-1.0, min(1.0, error * 2.0))
        thrust = 1.0 if abs(error) < 0.6 else 0.2
        return thrust, turn

    async def steer(self, thrust: float, turn: float, brake: bool = False) -> None:
        """Send held controls: v1's `input` message, or v2's 4-byte binary controls frame
        (no ship id: they act on the ship the session commands)."""
        assert self.ws is not None
        if self.protocol == 2:
            await self.ws.send_bytes(encode_controls(thrust, turn, brake))
        else:
            await self.send(
                {
                    "t": "input",
                    "ship": self.ship,
                    "thrust": thrust,
                    "turn": round(turn, 3),
                    "brake": brake,
                }
            )

    async def fly(self, seconds: float) -> None:
        """Undock, fly between stations, fields and open space like a player, and jump now and
        then. Controls are checked a few times a second and sent when they change."""
        assert self.ws is not None
        end = time.monotonic() + seconds
        receiver = asyncio.ensure_future(self.pump(seconds))
        next_jump = time.monotonic() + self.rng.uniform(0.3, 1.0) * self.jump_every_s
        undock_retry = 0.0
        waypoint: tuple[float, float] | None = None
        sent, sent_at = (-1.0, 0.0), 0.0
        try:
            while time.monotonic() < end and not receiver.done():
                if self.docked:
                    if time.monotonic() > undock_retry:
                        await self.send({"t": "undock", "ship": self.ship})
                        undock_retry = time.monotonic() + 3.0  # the undocked event is on its way
                    await asyncio.sleep(0.2)
                    continue
                if waypoint is None or math.dist(self.pos, waypoint) < 800.0:
                    waypoint = self._pick_waypoint()
                thrust, turn = self._steer(waypoint)
                # like a player's keys: a new input when the controls change, and a refresh
                # every couple of seconds, not a stream of identical messages
                now = time.monotonic()
                if abs(thrust - sent[0]) > 0.1 or abs(turn - sent[1]) > 0.15 or now - sent_at > 2.0:
                    await self.steer(thrust, turn)
                    sent, sent_at = (thrust, turn), now
                jumping = time.monotonic() < self._jump_until  # the last one is under way
                if self.jump_every_s > 0 and time.monotonic() > next_jump and self.system:
                    links = self.system.get("links") or []
                    if links and not jumping:
                        target = self.rng.choice(links)
                        await self.send({"t": "jump", "ship": self.ship, "to": target})
                        self._jump_until = time.monotonic() + JUMP_PATIENCE_S
                    next_jump = time.monotonic() + self.jump_every_s
                await asyncio.sleep(self.rng.uniform(0.3, 0.6))
        finally:
            if not receiver.done():
                receiver.cancel()
            try:
                await receiver
            except (asyncio.CancelledError, ConnectionError) as exc:
                if isinstance(exc, ConnectionError):
                    self.stats.failure = str(exc)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def run(self, seconds: float) -> BotStats:
        started = time.monotonic()
        try:
            await self.register()
            await self.connect()
            await self.fly(seconds)
        except Exception as exc:  # a bot's failure is data for the summary, not a crash
            self.stats.failure = f"{type(exc).__name__}: {exc}"[:200]
            self.stats.errors += 1
        finally:
            self.stats.seconds = time.monotonic() - started
            await self.close()
        return self.stats
