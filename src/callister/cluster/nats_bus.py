"""`NatsBus`: the `server.bus.Bus` interface over NATS, for zone workers and gateways.

`publish(subject, message)` is synchronous and never waits for the network: it encodes the
message (codec.py) and appends it to a bounded in-memory queue; one flusher task hands queued
messages to the NATS client, which writes them to the socket. The tick therefore pays only the
encoding. While the connection is down the queue keeps filling, and past `max_queue_bytes` the
oldest messages are dropped and counted (a zone tick is stale after 50 ms anyway; an intent
older than the outage is better lost than replayed late).

`subscribe(subject, handler)` calls `handler(message)` on the event loop for every message
published on that subject by any process, decoded; handlers of one subscription run in arrival
order, and a handler that raises is logged and counted, never fatal (as with InProcessBus).
Subject wildcards (``*``, ``>``) work as in NATS.

Reconnection is the NATS client's: it retries forever with a short wait, and re-subscribes by
itself. Counters for /metrics come from `counters()`.

Leases (leases.py) should use a connection of their own (`connect()`), so a backlog of zone
frames never delays a lease renewal behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.js import JetStreamContext

from callister.cluster import codec
from callister.cluster.natsconf import NatsConfigError, read_seed_file
from callister.cluster.subjects import ROLES, inbox_prefix
from callister.server.bus import Handler, Subscription
from callister.server.settings import Settings
from callister.server.tasks import stop_task

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClientAuth:
    """Who a process is to NATS: its role (its reply inbox), its nkey seed file, and TLS.

    Built from settings (`nats_nkey`, `nats_tls_ca`, `nats_tls_cert`, `nats_tls_key`) by
    `from_settings`, which checks the files at once so that a wrong path is a start-up error
    that names the setting, not a connection that keeps failing. The seed is never read into
    a log or an error message: only its public key is shown.
    """

    role: str
    nkey_file: str = ""
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    public_key: str = ""

    @classmethod
    def from_settings(cls, settings: Settings, role: str) -> ClientAuth:
        if role not in ROLES:
            raise NatsConfigError(f"unknown NATS role {role!r}; roles: {', '.join(ROLES)}")
        public = read_seed_file(settings.nats_nkey) if settings.nats_nkey else ""
        if not public:
            log.warning(
                "NATS without credentials: anyone who reaches the NATS server can act as this "
                "cluster's %s; set nats_nkey (docs/deploy.md, Security)",
                role,
            )
        auth = cls(
            role,
            settings.nats_nkey,
            settings.nats_tls_ca,
            settings.nats_tls_cert,
            settings.nats_tls_key,
            public,
        )
        auth.tls_context()  # unreadable certificates fail here, naming the setting
        return auth

    def tls_context(self) -> ssl.SSLContext | None:
        """The client's TLS context (None: plain TCP unless the URL says tls://)."""
        if not (self.tls_ca or self.tls_cert or self.tls_key):
            return None
        if bool(self.tls_cert) != bool(self.tls_key):
            raise NatsConfigError("nats_tls_cert and nats_tls_key go together (mutual TLS)")
        try:
            context = ssl.create_default_context(cafile=self.tls_ca or None)
        except (OSError, ssl.SSLError) as exc:
            raise NatsConfigError(f"nats_tls_ca {self.tls_ca}: {exc}") from None
        if self.tls_cert:
            try:
                context.load_cert_chain(self.tls_cert, self.tls_key)
            except (OSError, ssl.SSLError) as exc:
                raise NatsConfigError(
                    f"nats_tls_cert {self.tls_cert} / nats_tls_key {self.tls_key}: {exc}"
                ) from None
        return context

    def options(self) -> dict[str, Any]:
        """Keyword arguments for `nats.connect`."""
        out: dict[str, Any] = {"inbox_prefix": inbox_prefix(self.role)}
        if self.nkey_file:
            out["nkeys_seed"] = self.nkey_file  # re-read at each reconnect: rotation works
        context = self.tls_context()
        if context is not None:
            out["tls"] = context
        return out

    def describe(self) -> str:
        """For logs: the role and public key, never the seed."""
        if not self.nkey_file:
            return f"{self.role} (no credentials)"
        return f"{self.role} (nkey {self.public_key})"


async def connect(
    servers: str | list[str],
    *,
    name: str = "callister",
    auth: ClientAuth | None = None,
    timeout: float = 10.0,
    ping_interval: int = 2,
    max_outstanding_pings: int = 2,
    pending_size: int = 8 * 1024 * 1024,
    disconnected_cb: Callable[[], Any] | None = None,
    reconnected_cb: Callable[[], Any] | None = None,
    error_cb: Callable[[Exception], Any] | None = None,
) -> Client:
    """A NATS connection that reconnects forever, retrying the first connect for `timeout` s.

    Pings every `ping_interval` s and gives up on a silent server after `max_outstanding_pings`
    unanswered pings, so a dead or partitioned server is noticed in seconds, not minutes.
    Callbacks may be plain functions (wrapped for the client, which wants coroutines).
    `auth` is the process's NATS identity (None: no credentials, replies under ``_INBOX``);
    credentials the server refuses raise `nats.errors.AuthorizationError` at once.
    """

    def wrap(cb: Callable[..., Any] | None) -> Any:
        if cb is None:
            return None

        async def call(*args: Any) -> None:
            cb(*args)

        return call

    # what the server refused while we connect and check the role (not kept afterwards)
    refusals: list[Exception] = []
    refused = asyncio.Event()
    violations: list[str] = []
    connecting = [True]

    async def on_error(exc: Exception) -> None:
        if connecting[0] and "permissions violation" in str(exc):
            violations.append(str(exc))
        # (while connecting, nats-py reports the server's -ERR as a plain Error)
        if connecting[0] and (
            isinstance(exc, nats.errors.AuthorizationError)
            or "authorization violation" in str(exc).lower()
        ):
            refusals.append(nats.errors.AuthorizationError())
            refused.set()
        if error_cb is not None:
            error_cb(exc)
        elif "permissions violation" in str(exc):
            # the server refused a publish or subscription: this process's credentials are
            # not its role's, or the subject table (cluster/subjects.py) misses a subject
            log.error("NATS refused", extra={"err": str(exc), "client": name})
        else:
            log.info("nats client error", extra={"err": repr(exc)})

    deadline = time.monotonic() + timeout
    while True:
        # with reconnection on, the client retries an unreachable first server, and one that
        # refuses the credentials, forever: bound the first connection ourselves, and give up
        # at once when the server said no (retrying will not change its mind)
        attempt = asyncio.ensure_future(
            _connect_once(
                servers,
                name,
                auth.options() if auth is not None else {},
                ping_interval,
                max_outstanding_pings,
                pending_size,
                wrap(disconnected_cb),
                wrap(reconnected_cb),
                on_error,
            )
        )
        watch = asyncio.ensure_future(refused.wait())
        try:
            done, _ = await asyncio.wait(
                {attempt, watch},
                timeout=max(0.5, deadline - time.monotonic()),
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            watch.cancel()
        if attempt in done:
            try:
                nc = attempt.result()
            except (nats.errors.NoServersError, OSError):
                if refusals:
                    raise refusals[0] from None
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.25)
                continue
            if auth is not None and auth.nkey_file:
                await _check_role(nc, auth, violations)
            connecting[0] = False
            return nc
        attempt.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await attempt
        if refusals:
            raise refusals[0]
        raise TimeoutError(f"no NATS server answered at {servers} in {timeout:.0f} s")


async def _check_role(nc: Client, auth: ClientAuth, violations: list[str]) -> None:
    """Refuse to go on with another role's key: each role alone may read its replies inbox,
    so a subscription there is refused for any other key (PermissionError, connection closed)."""
    probe = f"{inbox_prefix(auth.role)}.check"
    sub = await nc.subscribe(probe)
    for _ in range(2):  # the server's -ERR precedes the PONG of the second flush at the latest
        await nc.flush(timeout=5)
    if any(f'"{probe.lower()}"' in v for v in violations):
        await nc.close()
        raise PermissionError(
            f"the nkey in {auth.nkey_file} ({auth.public_key or 'unknown'}) is not the "
            f"{auth.role} role's: NATS refused it the {auth.role}'s replies; give this process "
            f"{auth.role}.nk (docs/deploy.md, Security)"
        )
    await sub.unsubscribe()


async def _connect_once(
    servers: str | list[str],
    name: str,
    auth_options: dict[str, Any],
    ping_interval: int,
    max_outstanding_pings: int,
    pending_size: int,
    disconnected_cb: Any,
    reconnected_cb: Any,
    error_cb: Any,
) -> Client:
    return await nats.connect(
        servers,
        name=name,
        connect_timeout=2,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.25,
        ping_interval=ping_interval,
        max_outstanding_pings=max_outstanding_pings,
        pending_size=pending_size,
        disconnected_cb=disconnected_cb,
        reconnected_cb=reconnected_cb,
        error_cb=error_cb,
        **auth_options,
    )


@dataclass(slots=True)
class BusStats:
    published: int = 0
    sent: int = 0
    dropped: int = 0
    bytes_out: int = 0
    received: int = 0
    bytes_in: int = 0
    decode_errors: int = 0
    handler_errors: int = 0
    encode_errors: int = 0
    disconnects: int = 0
    reconnects: int = 0
    refused: int = 0  # publishes and subscriptions the server refused (permissions)


class _Sub:
    """A `Subscription` (server.bus) backed by a NATS subscription made when connected."""

    def __init__(self, bus: NatsBus, subject: str, handler: Handler, raw: bool = False) -> None:
        self.bus, self.subject, self.handler = bus, subject, handler
        self.raw = raw  # hand the handler the message's bytes (no codec)
        self.active = True
        self.nats_sub: NatsSubscription | None = None

    def unsubscribe(self) -> None:
        if not self.active:
            return
        self.active = False
        self.bus._subs.discard(self)
        if self.nats_sub is not None:
            self.bus._spawn(self.nats_sub.unsubscribe())
            self.nats_sub = None

    async def on_msg(self, msg: Msg) -> None:
        if not self.active:
            return
        stats = self.bus.stats
        stats.received += 1
        stats.bytes_in += len(msg.data)
        if self.raw:
            try:
                self.handler(msg.data)
            except Exception:
                stats.handler_errors += 1
                log.exception("bus handler failed", extra={"subject": msg.subject})
            return
        try:
            message = codec.decode(msg.data)
        except codec.CodecError:
            stats.decode_errors += 1
            log.warning("undecodable bus message dropped", extra={"subject": msg.subject})
            return
        try:
            self.handler(message)
        except Exception:  # one bad subscriber must not stop the others (as InProcessBus)
            stats.handler_errors += 1
            log.exception("bus handler failed", extra={"subject": msg.subject})


class NatsBus:
    """Bus over NATS core (at-most-once, ordered per publisher and subject)."""

    def __init__(
        self,
        servers: str | list[str],
        *,
        name: str = "callister",
        auth: ClientAuth | None = None,
        max_queue_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.servers = servers
        self.name = name
        self.auth = auth
        self.refusals: deque[str] = deque(maxlen=20)  # the server's last permission errors
        self.max_queue_bytes = max_queue_bytes
        self.stats = BusStats()
        self.nc: Client | None = None
        self._queue: deque[tuple[str, bytes]] = deque()
        self._queue_bytes = 0
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._subs: set[_Sub] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False

    # ------------------------------------------------------------------------- lifecycle

    async def start(self, timeout: float = 10.0) -> None:
        """Connect (retrying for `timeout` s), subscribe what was subscribed before, flush."""
        self.nc = await connect(
            self.servers,
            name=self.name,
            auth=self.auth,
            timeout=timeout,
            disconnected_cb=self._on_disconnect,
            reconnected_cb=self._on_reconnect,
            error_cb=self._on_error,
        )
        for sub in list(self._subs):
            await self._nats_subscribe(sub)
        self._flusher = asyncio.get_running_loop().create_task(
            self._flush_loop(), name=f"nats bus flusher {self.name}"
        )

    async def close(self, timeout: float = 2.0) -> None:
        """Send what is queued (up to `timeout` s), then close the connection."""
        with contextlib.suppress(asyncio.TimeoutError, nats.errors.Error):
            await self.flush(timeout)
        self._closing = True
        await stop_task(self._flusher)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.close()

    def check_refusals(self) -> None:
        """Raise PermissionError if the server refused anything so far (call after `flush`):
        at start-up this means the process runs with another role's credentials."""
        if self.refusals:
            who = self.auth.describe() if self.auth is not None else "no credentials"
            raise PermissionError(
                f"NATS refused {self.name} ({who}): {self.refusals[0]}; give this process "
                "its own role's nkey (docs/deploy.md, Security)"
            )

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    def jetstream(self, timeout: float = 2.0) -> JetStreamContext:
        assert self.nc is not None, "start() first"
        return self.nc.jetstream(timeout=timeout)

    async def flush(self, timeout: float = 2.0) -> None:
        """Wait until the queue is handed to the client and the server has seen it all (and
        every subscription made so far is active on the server)."""
        deadline = time.monotonic() + timeout
        while self._queue or self._tasks:
            if time.monotonic() > deadline:
                raise TimeoutError("bus queue not drained")
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=max(0.0, deadline - time.monotonic()))
            else:
                await asyncio.sleep(0.001)
        if self.nc is not None and self.nc.is_connected:
            await self.nc.flush(timeout=max(0.1, deadline - time.monotonic()))  # type: ignore[arg-type]

    # ------------------------------------------------------------------------ Bus protocol

    def publish(self, subject: str, message: Any) -> None:
        self.stats.published += 1
        try:
            data = codec.encode(message)
        except codec.CodecError:
            self.stats.encode_errors += 1
            log.exception("bus message not encodable; dropped", extra={"subject": subject})
            return
        self._enqueue(subject, data)

    def publish_raw(self, subject: str, data: bytes) -> None:
        """Queue bytes as they are (relayed client frames: already encoded once)."""
        self.stats.published += 1
        self._enqueue(subject, data)

    def _enqueue(self, subject: str, data: bytes) -> None:
        """Queue for the flusher; past `max_queue_bytes` the oldest frames are dropped."""
        self._queue.append((subject, data))
        self._queue_bytes += len(data)
        while self._queue_bytes > self.max_queue_bytes and len(self._queue) > 1:
            _, old = self._queue.popleft()
            self._queue_bytes -= len(old)
            self.stats.dropped += 1
        self._wake.set()

    @property
    def queue_bytes(self) -> int:
        """Bytes waiting to be handed to the NATS client (back-pressure for snapshots)."""
        return self._queue_bytes

    def subscribe_raw(self, subject: str, handler: Callable[[bytes], None]) -> Subscription:
        """Like `subscribe`, but the handler gets the message's bytes undecoded."""
        sub = _Sub(self, subject, handler, raw=True)
        self._subs.add(sub)
        if self.nc is not None:
            self._spawn(self._nats_subscribe(sub))
        return sub

    async def request(self, subject: str, data: bytes, timeout: float = 2.0) -> bytes:
        """A NATS request/reply; raises nats.errors.NoRespondersError when nobody listens."""
        assert self.nc is not None, "start() first"
        msg = await self.nc.request(subject, data, timeout=timeout)
        return bytes(msg.data)

    def subscribe(self, subject: str, handler: Handler) -> Subscription:
        sub = _Sub(self, subject, handler)
        self._subs.add(sub)
        if self.nc is not None:
            self._spawn(self._nats_subscribe(sub))
        return sub

    # --------------------------------------------------------------------------- metrics

    def counters(self) -> dict[str, float]:
        s = self.stats
        return {
            "callister_bus_published_total": float(s.published),
            "callister_bus_sent_total": float(s.sent),
            "callister_bus_dropped_total": float(s.dropped),
            "callister_bus_bytes_out_total": float(s.bytes_out),
            "callister_bus_received_total": float(s.received),
            "callister_bus_bytes_in_total": float(s.bytes_in),
            "callister_bus_decode_errors_total": float(s.decode_errors),
            "callister_bus_encode_errors_total": float(s.encode_errors),
            "callister_bus_handler_errors_total": float(s.handler_errors),
            "callister_bus_disconnects_total": float(s.disconnects),
            "callister_bus_reconnects_total": float(s.reconnects),
            "callister_bus_refused_total": float(s.refused),
            "callister_bus_queue_bytes": float(self._queue_bytes),
            "callister_bus_connected": 1.0 if self.connected else 0.0,
        }

    # ------------------------------------------------------------------------- internals

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _nats_subscribe(self, sub: _Sub) -> None:
        if not sub.active or sub.nats_sub is not None or self.nc is None:
            return
        try:
            sub.nats_sub = await self.nc.subscribe(
                sub.subject, cb=sub.on_msg, pending_msgs_limit=65536
            )
        except nats.errors.Error:
            log.exception("subscribe failed", extra={"subject": sub.subject})
            return
        if not sub.active:  # unsubscribed while we were subscribing
            await sub.nats_sub.unsubscribe()
            sub.nats_sub = None

    def _on_error(self, exc: Exception) -> None:
        text = str(exc)
        if "permissions violation" in text:
            self.stats.refused += 1
            self.refusals.append(text.removeprefix("nats: "))
            log.error("NATS refused", extra={"bus": self.name, "err": text})
        else:
            log.info("nats client error", extra={"bus": self.name, "err": repr(exc)})

    def _on_disconnect(self) -> None:
        if self._closing:
            return
        self.stats.disconnects += 1
        log.warning("NATS connection lost; reconnecting", extra={"bus": self.name})

    def _on_reconnect(self) -> None:
        self.stats.reconnects += 1
        log.info("NATS connection back", extra={"bus": self.name})
        self._wake.set()

    async def _flush_loop(self) -> None:
        nc = self.nc
        assert nc is not None
        while not self._closing:
            await self._wake.wait()
            self._wake.clear()
            while self._queue and nc.is_connected:
                subject, data = self._queue.popleft()
                self._queue_bytes -= len(data)
                try:
                    await nc.publish(subject, data)
                except (nats.errors.MaxPayloadError, nats.errors.BadSubjectError):
                    self.stats.dropped += 1
                    log.error(
                        "bus message refused by the client",
                        extra={"subject": subject, "bytes": len(data)},
                    )
                    continue
                except nats.errors.Error:  # the connection went away under us
                    self.stats.dropped += 1
                    continue
                self.stats.sent += 1
                self.stats.bytes_out += len(data)
