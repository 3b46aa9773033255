"""`callister worker`: a process that owns zones (by lease) and simulates them.

It runs the single-process server's `World` (as `ClusterWorld`) and its `Gateway` session
logic; the clients' sockets are held by gateway processes and relayed over NATS
(cluster/remote.py). What it adds:

- leases for its zones, renewed by a `LeaseKeeper`; a zone whose lease cannot be renewed in time
  stops being simulated before the lease can expire (`ClusterWorld.step` checks every tick);
- a fenced database connection (one thread) for checkpoints, departures and arrivals;
- a `HandoffReceiver` per owned zone and an `OutboxRelay` (ships jumping in from other workers);
- request handlers: `cl.claim.<name>` (take a zone), `cl.attach.<zone>` (a session for a ship in
  one of its zones), `cl.move.<zone>` (hand a zone to another worker live: drain, hand off,
  resume);
- heartbeats with its load (placement), and `/metrics` + `/healthz` on `--port`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import resource
import signal
import socket
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import nats.errors
from aiohttp import web
from nats.aio.msg import Msg

from callister.cluster import outbox
from callister.cluster.directory import Directory
from callister.cluster.edge import EdgeFrames
from callister.cluster.leases import LeaseHeld, LeaseKeeper, LeaseTable
from callister.cluster.moderation import MOD_QUEUE, WorkerModeration
from callister.cluster.nats_bus import ClientAuth, NatsBus
from callister.cluster.nats_bus import connect as nats_connect
from callister.cluster.outbox import Handoff, HandoffReceiver, OutboxRelay
from callister.cluster.placement import Move, place
from callister.cluster.remote import (
    BINARY,
    GATEWAY_DEAD_AFTER,
    GATEWAY_HEARTBEAT,
    HEARTBEAT_EVERY,
    RESYNC,
    SID_BYTES,
    Batcher,
    RemoteSocket,
    frames,
    scatter,
)
from callister.cluster.subjects import (
    MOD_ACT,
    MOD_DETECT,
    MOD_EFFECT,
    WORKER,
    WORKER_HEARTBEAT,
    attach_subject,
    bench_subject,
    claim_subject,
    footage_subject,
    in_subject,
    move_subject,
)
from callister.cluster.world import ClusterWorld, ZoneElsewhere, sector_of
from callister.protocol.limits import PROTOCOL_VERSION
from callister.protocol.messages import BINARY_ACK, BINARY_ACK_TYPE, Hello
from callister.server import heap
from callister.server.bus import InProcessBus
from callister.server.gateway import STAFF_ROLES, Gateway
from callister.server.metrics import Metrics, percentiles, refuse_scrape
from callister.server.settings import Settings
from callister.server.writer import StoreWriter
from callister.store import Account, Database, Fenced, open_store
from callister.store.cluster import ClusterRepository
from callister.universe import DEFAULT_PARAMS
from callister.worlds.content import world_content, world_params

log = logging.getLogger(__name__)


SWITCH_INTERVAL_S = 0.001
"""The interpreter's thread switch interval in a worker (CPython's default is 5 ms). A hand-off
is a few database round trips on the hand-off and arrival threads; after each one the thread
waits for the GIL, which a tick in progress gives up only every switch interval: at 5 ms
that wait was most of a hand-off's transaction time while the worker ticked (bench cluster,
docs/benchmarks.md)."""


OUTBOUND_GATHER_S = 0.005
"""How long the worker's frames to a gateway wait to travel together (a tenth of a tick, as
the gateway's inbound ones: `INBOUND_GATHER_S`)."""


HANDOFF_LANES = 2
"""Database connections (each with its thread) that departures take turns on."""


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Worker:
    def __init__(self, settings: Settings, *, bench_spawn: bool = False) -> None:
        """`bench_spawn`: serve `callister bench cluster`'s synthetic load requests
        (``cl.bench.<name>``: anyone with the bench role could add ships); off in production."""
        self.settings = settings
        self.bench_spawn = bench_spawn
        self.name = settings.node_name or f"worker-{socket.gethostname()}-{os.getpid()}"
        self.servers = [s.strip() for s in settings.nats_url.split(",") if s.strip()]
        self._db_pool = ThreadPoolExecutor(1, thread_name_prefix="fence")
        # hand-offs have connections and threads of their own: a ship in transit never waits
        # behind the checkpoint of every zone (tens of ms each). Departures (and jumps between
        # two of our zones) take turns over HANDOFF_LANES lanes, each a connection and a thread:
        # with one, a burst of jumps queued (bench cluster: departure p50 256 ms on a loaded
        # machine, most of it waiting for the one thread)
        self._handoff_lanes: list[tuple[ThreadPoolExecutor, ClusterRepository, Database]] = []
        self._next_lane = 0
        # arrivals on a third connection and thread: an arriving ship never waits behind the
        # departures (and local jumps) of this worker's own zones. Queued behind them, arrivals
        # were the p99 of the hand-off (bench cluster, docs/benchmarks.md)
        self._arrival_pool = ThreadPoolExecutor(1, thread_name_prefix="arrival")
        self.metrics = Metrics()
        self.receivers: dict[str, HandoffReceiver] = {}
        self._zone_subs: dict[str, list[Any]] = {}
        self.remote: dict[str, RemoteSocket] = {}  # by session id
        self.gateways_seen: dict[str, float] = {}
        self.draining = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopped = asyncio.Event()
        self.handoff_ms: list[float] = []
        self._owning: dict[str, asyncio.Lock] = {}

    # ------------------------------------------------------------------------ start / stop
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        s = self.settings
        self.writer = StoreWriter()
        # opening migrates the database, the cluster's tables included (store migration 8)
        self.store = await self.writer.call(open_store, s.db)
        # fenced writes and hand-offs on connections of their own, each used by one thread
        self.fence_db = await loop.run_in_executor(self._db_pool, self.store.db.connect_separate)
        self.cluster = ClusterRepository(self.fence_db)
        for i in range(HANDOFF_LANES):
            pool = ThreadPoolExecutor(1, thread_name_prefix=f"handoff{i}")
            conn = await loop.run_in_executor(pool, self.store.db.connect_separate)
            conn.pipelined = True  # a departure: 3 round trips, not 7 (store/database.py)
            self._handoff_lanes.append((pool, ClusterRepository(conn), conn))
        self.arrival_fence_db = await loop.run_in_executor(
            self._arrival_pool, self.store.db.connect_separate
        )
        self.arrival_fence_db.pipelined = True  # an arrival: 3 round trips, not 6
        self.arrival_cluster = ClusterRepository(self.arrival_fence_db)
        auth = ClientAuth.from_settings(s, WORKER)
        self.bus = NatsBus(self.servers, name=self.name, auth=auth)
        await self.bus.start()
        assert self.bus.nc is not None
        self.nc = self.bus.nc
        # leases on a connection of their own: a backlog of frames never delays a renewal
        self.lease_nc = await nats_connect(self.servers, name=f"{self.name} leases", auth=auth)
        self.table = await LeaseTable.open(self.lease_nc.jetstream(), ttl=s.lease_ttl_s)
        self.keeper = LeaseKeeper(self.table, self.name, lost=self._on_lost)
        self.keeper.start()
        self.js = self.nc.jetstream()
        await outbox.ensure_stream(self.js)
        self.relay_db = await loop.run_in_executor(None, self.store.db.connect_separate)
        self.relay = OutboxRelay(self.js, ClusterRepository(self.relay_db))
        self.relay.start()
        self.directory = Directory(self.bus.request)
        bus = InProcessBus()
        # the world's own content pack and generator parameters, as a single server runs them
        content = await self.writer.call(world_content, self.store, s.world_name)
        record = await self.writer.call(self.store.worlds.get, s.world_name)
        params = DEFAULT_PARAMS if record is None else world_params(record)
        self.world = ClusterWorld(
            s, self.store, self.writer, bus, content, self.metrics, params=params
        )
        self.world.bind(self)
        await self.world.start()
        self.gateway = Gateway(self.world, bus, s, self.metrics)
        self.moderation = WorkerModeration(self.world, self.gateway, self)
        # admission (bans), reports, muted chat (mutes shared over cl.mod.effect)
        self.gateway.moderate(self.moderation)
        self.moderation.start()
        # each zone steps in a loop callback of its own (World._tick_loop), so frames flushed
        # per callback made one NATS message per zone tick per gateway (2,000 a second for 48
        # zones and 2 gateways); gathered for OUTBOUND_GATHER_S they travel a few zones at once
        self.batcher = Batcher(self.bus, delay=OUTBOUND_GATHER_S)
        # v2 players of gateways that build views get their zone's frame, not updates
        self.edge = EdgeFrames(self.batcher)
        self.gateway.fanout.edge = self.edge
        await self.nc.subscribe(in_subject(self.name), cb=self._on_frames)
        await self.nc.subscribe(claim_subject(self.name), cb=self._on_claim)
        await self.nc.subscribe(WORKER_HEARTBEAT, cb=self._on_worker_beat)
        await self.nc.subscribe(GATEWAY_HEARTBEAT, cb=self._on_gateway_beat)
        if self.bench_spawn:
            await self.nc.subscribe(bench_subject(self.name), cb=self._on_bench)
        await self.nc.subscribe(MOD_ACT, queue=MOD_QUEUE, cb=self.moderation.on_act)
        await self.nc.subscribe(MOD_EFFECT, cb=self.moderation.on_effect)
        await self.nc.subscribe(MOD_DETECT, cb=self.moderation.on_detect)
        await self.nc.flush()
        self.bus.check_refusals()  # another role's credentials: say so now, not per message
        self._spawn(self._heartbeat_loop(), "heartbeat")
        self._spawn(self._sweep_loop(), "sweep")
        if s.rebalance_s > 0:
            self._spawn(self._rebalance_loop(), "rebalance")
        self._http = web.AppRunner(self._http_app(), access_log=None)
        await self._http.setup()
        site = web.TCPSite(self._http, s.host, s.port)
        await site.start()
        heap.time_pauses(self.metrics)
        log.info("worker ready", extra={"worker": self.name, "port": s.port})

    async def stop(self) -> None:
        """Checkpoint every zone, release the leases (others take over at once), close."""
        self.draining = True
        for task in list(self._tasks):
            task.cancel()
        for sock in list(self.remote.values()):
            sock.hang_up()
        with contextlib.suppress(Exception):
            await self.moderation.stop()
        with contextlib.suppress(Exception):
            await self.world.stop()  # the last fenced checkpoint
        for receiver in list(self.receivers.values()):
            await receiver.stop()
        await self.keeper.stop(release=True)
        await self.relay.stop()
        await self._http.cleanup()
        await self.bus.close()
        await self.lease_nc.close()
        self.relay_db.close()
        self._db_pool.submit(self.fence_db.close)  # after the calls queued on each thread
        for pool, _, conn in self._handoff_lanes:
            pool.submit(conn.close)
        self._arrival_pool.submit(self.arrival_fence_db.close)
        self.writer.submit(self.store.db.close)
        self.writer.close()

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a fenced-connection call on the connection's own thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db_pool, lambda: fn(*args, **kwargs))

    async def handoff_db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`fn(cluster, *args, **kwargs)` on the next hand-off lane: a departure (or a jump
        between two of our zones) with that lane's connection, on its thread."""
        pool, cluster, _ = self._handoff_lanes[self._next_lane]
        self._next_lane = (self._next_lane + 1) % len(self._handoff_lanes)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool, lambda: fn(cluster, *args, **kwargs))

    async def arrival_db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run an arrival from another worker (with `arrival_cluster`) on the arrival thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._arrival_pool, lambda: fn(*args, **kwargs))

    # --------------------------------------------------------------------- zone ownership
    async def own(self, zone: str) -> None:
        """Acquire `zone`'s lease and raise its fence (ZoneElsewhere if another holds it)."""
        if self.draining:
            raise ZoneElsewhere(zone)
        try:
            lease = await self.keeper.acquire(zone, timeout=3.0)
        except LeaseHeld as exc:
            raise ZoneElsewhere(zone, exc.holder) from None
        try:
            await self.db(self.cluster.claim, zone, lease.token, self.name)
        except Fenced:
            await self.keeper.release(zone)
            raise ZoneElsewhere(zone) from None
        # a long poll (10 s): with batch 1 a fetch returns as soon as one hand-off is there, so
        # a longer poll costs no latency, only fewer idle pull requests (one per zone per poll)
        receiver = HandoffReceiver(
            self.js, zone, self._apply_handoff, poll=10.0, on_fenced=lambda z: self._on_lost(z)
        )
        await receiver.start()
        self.receivers[zone] = receiver
        subs = [
            await self.nc.subscribe(attach_subject(zone), cb=self._on_attach),
            await self.nc.subscribe(move_subject(zone), cb=self._on_move),
            await self.nc.subscribe(footage_subject(zone), cb=self.moderation.on_footage),
        ]
        self._zone_subs[zone] = subs
        log.info("zone owned", extra={"zone": zone, "token": lease.token})

    async def _apply_handoff(self, handoff: Handoff) -> bool:
        applied = await self.world.apply_handoff(handoff)
        if applied and handoff.departed_at:
            ms = (time.time() - handoff.departed_at) * 1000.0
            self.handoff_ms.append(ms)
            del self.handoff_ms[:-5000]
        return applied

    def valid(self, zone: str) -> bool:
        return self.keeper.valid(zone)

    def holds(self, zone: str) -> bool:
        return self.keeper.held(zone)

    def token(self, zone: str) -> int:
        return self.keeper.token(zone)

    async def place(self, zone: str) -> str | None:
        """Who should simulate `zone` (claimed now if nobody holds it)."""
        holder = await self.table.holder(zone)
        if holder is not None:
            return holder.owner
        return await self.directory.place(zone)

    async def publish_handoff(self, handoff: Handoff) -> None:
        await outbox.publish(self.js, handoff)

    def released(self, zone: str) -> None:
        """The world unloaded `zone` (empty): let it go."""
        self._spawn(self._let_go(zone), f"release {zone}")

    async def _let_go(self, zone: str) -> None:
        for sub in self._zone_subs.pop(zone, []):
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        receiver = self.receivers.pop(zone, None)
        if receiver is not None:
            await receiver.stop()
        await self.keeper.release(zone)

    def _on_lost(self, zone: str) -> None:
        """The keeper (or the database) says the zone is not ours any more: stop at once."""
        self.world.lose_zone(zone, "lease lost")
        for sub in self._zone_subs.pop(zone, []):
            self._spawn(sub.unsubscribe(), "unsubscribe")
        receiver = self.receivers.pop(zone, None)
        if receiver is not None:
            self._spawn(receiver.stop(), "receiver stop")

    def session_moved(self, account_id: int, zone: str, *, jumped: bool = False) -> None:
        """Send the account's session to `zone`'s owner (`jumped`: its ship is being handed
        there, so the session follows it rather than starting anew: remote.MOVED)."""
        session = self.gateway.sessions.get(account_id)
        if session is not None and isinstance(session.ws, RemoteSocket):
            session.ws.moved(zone, follow=jumped)

    # ---------------------------------------------------------------------- requests
    async def _reply(self, msg: Msg, value: dict[str, Any]) -> None:
        if msg.reply:
            with contextlib.suppress(nats.errors.Error):
                await msg.respond(json.dumps(value).encode())

    async def _on_claim(self, msg: Msg) -> None:
        try:
            zone = str(json.loads(msg.data)["zone"])
            x, y = sector_of(zone)
        except (ValueError, KeyError, TypeError):
            await self._reply(msg, {"ok": False, "error": "bad claim request"})
            return
        if zone.rsplit(".", 2)[0] != self.world.name:
            await self._reply(msg, {"ok": False, "error": f"this worker runs {self.world.name}"})
            return
        try:
            await self.world.ensure_zone(x, y)
        except ZoneElsewhere as exc:
            await self._reply(msg, {"ok": False, "holder": exc.holder, "error": str(exc)})
            return
        except LookupError as exc:
            await self._reply(msg, {"ok": False, "error": str(exc)})
            return
        except Exception as exc:
            log.exception("claim failed", extra={"zone": zone})
            await self._reply(msg, {"ok": False, "error": repr(exc)})
            return
        await self._reply(msg, {"ok": True, "worker": self.name})

    async def _on_attach(self, msg: Msg) -> None:
        zone = msg.subject[len(attach_subject("")) :]
        try:
            req = json.loads(msg.data)
            sid, gw = str(req["sid"]), str(req["gw"])
            account_id, address = int(req["account"]), str(req.get("address", "?"))
            hello = relayed_hello(req.get("hello"))
            resume = bool(req.get("resume", False))
            # the session follows its ship, handed here by a jump: the client has its welcome
            follow = resume and bool(req.get("follow", False))
            edge = req.get("edge") is True  # the gateway builds v2 views (cluster/edge.py)
            known = relayed_account(req)
        except (ValueError, KeyError, TypeError, AttributeError):
            await self._reply(msg, {"ok": False, "error": "bad attach request"})
            return
        if not await self._settled(zone) or self.draining:
            await self._reply(msg, {"ok": False, "error": "not_owner"})
            return
        # the gateway authenticated the account a moment ago and sends what the session needs;
        # a claim of staff powers (spectating, moderator ships) is checked in the database
        if known is None or known.role in STAFF_ROLES:
            known = await self.writer.call(self.store.accounts.get, account_id)
        account = known
        if account is None or account.banned:
            await self._reply(msg, {"ok": False, "error": "account refused"})
            return
        if len(sid) != SID_BYTES or not sid.isascii():
            await self._reply(msg, {"ok": False, "error": "bad attach request"})
            return
        same = self.remote.get(sid)
        if same is not None and same.gateway == gw and same.account_id == account_id:
            # the gateway asked again (its request timed out while this worker was stalled,
            # and both were queued): that session is being served; a second would replace it
            # and close the client's socket (4409)
            await self._reply(
                msg, {"ok": True, "worker": self.name, "v": self.gateway.version(hello)}
            )
            return
        sock = RemoteSocket(self.batcher, gw, sid, address, account_id)
        sock.builds_views = edge
        self.remote[sid] = sock
        self.gateways_seen.setdefault(gw, time.monotonic())
        if follow:
            self.world.expect(account_id)
        self._spawn(self._serve_remote(sock, account, hello, resume, follow), f"session {sid}")
        # the protocol version the session speaks (the gateway's relay handles v2's updates)
        await self._reply(msg, {"ok": True, "worker": self.name, "v": self.gateway.version(hello)})

    async def _settled(self, zone: str) -> bool:
        """Whether `zone` is ours to serve; a paused zone (its renewal late) is waited for
        until it resumes or is lost (at most a second: the gateway asks again)."""
        deadline = time.monotonic() + min(1.0, self.keeper.safety)
        while self.keeper.paused(zone) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return self.keeper.valid(zone)

    async def _serve_remote(
        self,
        sock: RemoteSocket,
        account: Any,
        hello: Hello | None,
        resume: bool,
        follow: bool = False,
    ) -> None:
        try:
            # a resumed session (it followed its ship, or its worker died) was admitted when
            # it connected: no second ban check and login record per jump. One that followed
            # its ship's jump goes on as after a jump within one process: no welcome again
            await self.gateway.serve(
                sock,  # type: ignore[arg-type]
                account,
                hello,
                admitted=resume,
                followed=follow,
            )
        except ZoneElsewhere as exc:
            sock.moved(exc.zone)
        except Exception:
            log.exception("relayed session failed", extra={"account": account.id})
            await sock.close(code=1011, message=b"server error")
        finally:
            self.remote.pop(sock.sid, None)

    async def _on_frames(self, msg: Msg) -> None:
        """A batch of clients' frames from a gateway, to the sessions they belong to."""
        try:
            for sid, kind, payload in frames(msg.data):
                sock = self.remote.get(sid)
                if sock is None:
                    continue
                if kind == BINARY and self._fast_ack(sock, payload):
                    continue
                if kind == RESYNC:
                    self._resync(sock)
                    continue
                sock.deliver(kind, payload)
        except ValueError:
            self.metrics.inc("callister_bad_batches_total")
            log.warning("malformed frame batch from a gateway dropped")

    def _resync(self, sock: RemoteSocket) -> None:
        """The gateway could not write one of the session's v2 updates to the client: its next
        update is a RESYNC (as for a backed-up socket in one process). Not a client message:
        outside its message budget."""
        for session in (self.gateway.sessions.get(sock.account_id), *self.gateway.spectators):
            if session is not None and session.ws is sock:
                self.gateway.fanout.resync(session)
                return

    def _fast_ack(self, sock: RemoteSocket, payload: memoryview) -> bool:
        """A snapshot ack (10 a second per player, 5 bytes) applied here, without waking the
        session's task: that wake-up per ack was a tenth of a relayed player's cost. Anything
        else, and an ack over the client's message rate, takes the session's usual path."""
        if len(payload) != BINARY_ACK.size or payload[0] != BINARY_ACK_TYPE:
            return False
        session = self.gateway.sessions.get(sock.account_id)
        if session is None or session.ws is not sock:
            return False
        if session.allow_message(self.settings.flood_strikes) is not True:
            return False  # the session's path refuses or closes it, as for any message
        self.metrics.counters["callister_messages_received_total"] += 1
        session.ack(BINARY_ACK.unpack(payload)[1])
        return True

    async def _on_move(self, msg: Msg) -> None:
        """Live move: checkpoint, drop, release, have the target claim, then send the
        sessions there. Players see a pause of about the time this takes."""
        zone = msg.subject[len(move_subject("")) :]
        try:
            req = json.loads(msg.data or b"{}")
            target = req.get("to") or self.directory.least_loaded(exclude=(self.name,))
        except (ValueError, AttributeError):
            await self._reply(msg, {"ok": False, "error": "bad move request"})
            return
        if target is None or target == self.name:
            await self._reply(msg, {"ok": False, "error": "no other live worker to move to"})
            return
        started = time.perf_counter()
        accounts = [p.account_id for p in self.world.pilots.values() if p.zone_key == zone]
        await self.world.checkpoint()  # drain: everything up to now is written
        self.world.lose_zone(zone, f"moving to {target}", notify=False)
        await self._let_go(zone)
        answer = await self.directory.claim(str(target), zone)
        for account_id in accounts:
            self.session_moved(account_id, zone)
        ms = (time.perf_counter() - started) * 1000.0
        log.info("zone moved", extra={"zone": zone, "to": target, "ms": round(ms, 1)})
        await self._reply(msg, {"ok": bool(answer.get("ok")), "to": target, "ms": ms, **answer})

    async def _on_bench(self, msg: Msg) -> None:
        """`callister bench cluster`: load generated inside this worker (cluster/synthetic.py)."""
        from callister.cluster import synthetic

        await synthetic.handle(self, msg)

    # ------------------------------------------------------------------ liveness, load
    async def _on_worker_beat(self, msg: Msg) -> None:
        self.directory.on_heartbeat(msg.data)

    async def _on_gateway_beat(self, msg: Msg) -> None:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            self.gateways_seen[str(json.loads(msg.data)["gateway"])] = time.monotonic()

    def heartbeat(self) -> dict[str, Any]:
        zones = {
            key: float(h.zone.ship_count)
            for key, h in self.world.zones.items()
            if self.keeper.valid(key)
        }
        tick = self.metrics.tick_percentiles()
        return {
            "worker": self.name,
            "zones": zones,
            "players": len(self.world.pilots),
            "sessions": len(self.remote),
            "draining": self.draining,
            "tick_ms": {"p50": tick["p50"], "p99": tick["p99"], "max": tick["max"]},
            "cpu_s": cpu_seconds(),
            "pid": os.getpid(),
            "t": time.time(),
        }

    async def _heartbeat_loop(self) -> None:
        while True:
            self.bus.publish_raw(WORKER_HEARTBEAT, json.dumps(self.heartbeat()).encode())
            await asyncio.sleep(HEARTBEAT_EVERY)

    async def _sweep_loop(self) -> None:
        """Sessions whose gateway went silent end (the ship lingers for the reconnect grace)."""
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for sock in list(self.remote.values()):
                seen = self.gateways_seen.get(sock.gateway, 0.0)
                if now - max(seen, sock.last_in) > GATEWAY_DEAD_AFTER:
                    log.info("gateway silent: session ended", extra={"gateway": sock.gateway})
                    sock.hang_up()
            for gateway, seen in self.gateways_seen.items():
                if now - seen > GATEWAY_DEAD_AFTER:
                    self.edge.forget(gateway)  # (a new epoch if it returns)
            self.edge.sweep()

    async def _rebalance_loop(self) -> None:
        """The live worker with the lowest name moves a zone from the busiest worker to the
        least busy one when they are out of balance (placement.place: hysteresis, one move per
        round, each strictly reducing imbalance, so it settles). Coordination is only a
        convention: two workers both believing they are lowest (views differ for a heartbeat)
        ask for moves the leases serialise; nothing depends on a single coordinator."""
        while True:
            await asyncio.sleep(self.settings.rebalance_s)
            try:
                await self.rebalance_once()
            except Exception:
                log.exception("rebalancing failed; next round")

    def is_coordinator(self) -> bool:
        """Whether this is the live worker with the lowest name: it runs the world-wide
        detectors and the rebalancer. A convention, not an election: for a heartbeat two
        workers may both believe it, which costs a duplicate pass, never a wrong result."""
        names = [w.name for w in self.directory.alive() if not w.draining]
        return bool(names) and min(names) == self.name

    async def scatter(
        self, subject: str, value: dict[str, Any], *, skip_self: bool = False
    ) -> list[dict[str, Any]]:
        """Ask every live worker (this one included) and collect their answers."""
        if skip_self:
            value = {**value, "skip": self.name}
        expect = max(1, len(self.directory.alive()) - (1 if skip_self else 0))
        answers = await scatter(self.nc, subject, json.dumps(value).encode(), expect=expect)
        out = []
        for raw in answers:
            with contextlib.suppress(ValueError):
                answer = json.loads(raw)
                if isinstance(answer, dict):
                    out.append(answer)
        return out

    async def rebalance_once(self) -> list[Move]:
        alive = [w for w in self.directory.alive() if not w.draining]
        if len(alive) < 2 or not self.is_coordinator():
            return []
        loads = {zone: max(1.0, load) for w in alive for zone, load in w.zones.items()}
        current = {zone: w.name for w in alive for zone in w.zones}
        plan = place(loads, [w.name for w in alive], current, max_moves=1)
        for move in plan.moves:
            log.info(
                "rebalancing", extra={"zone": move.zone, "from": move.source, "to": move.target}
            )
            try:
                await self.bus.request(
                    move_subject(move.zone), json.dumps({"to": move.target}).encode(), 30.0
                )
            except (TimeoutError, nats.errors.Error) as exc:
                log.info("rebalancing move failed", extra={"zone": move.zone, "err": repr(exc)})
        return plan.moves

    # --------------------------------------------------------------------------- HTTP
    def _http_app(self) -> web.Application:
        app = web.Application()

        async def metrics(request: web.Request) -> web.Response:
            refused = refuse_scrape(request, self.settings.metrics_token)
            return refused or web.Response(text=self.render_metrics(), content_type="text/plain")

        async def healthz(request: web.Request) -> web.Response:
            beat = self.heartbeat()
            beat["ok"] = self.bus.connected
            beat["role"] = "worker"
            # the player ships simulated here (tests check none is simulated twice)
            beat["ships"] = sorted(
                p.character.ship_id for p in self.world.pilots.values() if p.zone_key
            )
            beat["handoff_ms"] = {**percentiles(self.handoff_ms), "count": len(self.handoff_ms)}
            beat["tick"] = self.world.tick
            return web.json_response(beat, status=200 if self.bus.connected else 503)

        app.router.add_get("/metrics", metrics)
        app.router.add_get("/healthz", healthz)
        return app

    def render_metrics(self) -> str:
        extra: dict[str, float] = {}
        extra.update(self.bus.counters())
        extra.update(self.keeper.counters())
        for receiver in self.receivers.values():
            for k, v in receiver.counters().items():
                extra[k] = extra.get(k, 0.0) + v
        extra["callister_outbox_republished_total"] = float(self.relay.republished)
        extra["callister_relayed_sessions"] = float(len(self.remote))
        extra["callister_edge_frames_sent_total"] = float(self.edge.frames_sent)
        extra["callister_process_cpu_seconds_total"] = cpu_seconds()
        lines = [f"{k} {v:g}" for k, v in sorted(extra.items())]
        return self.metrics.render() + "\n".join(lines) + "\n"


def relayed_account(req: dict[str, Any]) -> Account | None:
    """The account as the gateway that authenticated it sent it (None: not sent)."""
    info = req.get("who")
    if info is None:
        return None
    return Account(
        id=int(req["account"]),
        name=str(info["name"]),
        password_hash="",  # never leaves the gateway
        role=str(info["role"]),
        created_at=float(info["created_at"]),
        banned=False,
    )


def relayed_hello(options: Any) -> Hello | None:
    """The client's hello options as the gateway relayed them (see gateway.hello_options): the
    protocol version it asked for (2, else the default) and the moderator options."""
    if options is None:
        return None
    sector = options.get("sector")
    return Hello(
        token="",
        v=2 if options.get("v") == 2 else PROTOCOL_VERSION,
        spectate=bool(options.get("spectate", False)),
        follow=int(options.get("follow") or 0),
        sector=(int(sector[0]), int(sector[1])) if sector is not None else None,
        moderator_ship=bool(options.get("moderator_ship", False)),
    )


async def serve(settings: Settings, *, bench_spawn: bool = False) -> None:
    """Run a worker until SIGTERM/SIGINT; then checkpoint, release the leases and exit."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    worker = Worker(settings, bench_spawn=bench_spawn)
    await worker.start()
    log.info("collector tuned", extra={"frozen": heap.freeze_startup()})  # server/heap.py
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await worker.stop()
