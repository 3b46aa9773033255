"""Jump hand-offs between workers: a ship is neither lost nor duplicated, whatever crashes when.

The ship's place is a row in `cluster_ships` (zone, seq, arrived; fencing.py). A jump is
(the SQL is the store's `ClusterRepository`; here are the hand-off's types and the NATS side):

1. **depart** (source worker, one fenced transaction on the source zone): the ship row moves to
   the destination zone with ``seq + 1`` (in transit: ``arrived < seq``) and an outbox row with
   the hand-off is inserted. Either both commit or neither: before the commit the ship is still
   resident in the source zone (a restarted source loads it back), after it the outbox row
   guarantees the hand-off is (re)sent.
2. **publish** to the destination zone's durable subject ``handoff.<zone>`` in the JetStream
   stream CALLISTER_HANDOFFS, with ``Nats-Msg-Id: ship.<id>.<seq>``: a republish within the
   stream's duplicate window is dropped by the server.
3. **arrive** (destination worker, one fenced transaction on the destination zone): only if
   the row is still in transit with exactly this seq does it become resident (``arrived =
   seq``) and the outbox row delivered. A hand-off whose seq is not greater than the ship's
   last arrival is a duplicate and is dropped (also checked in memory first, per ship).
4. **ack** the JetStream message after the arrival committed. If the destination dies before,
   the message is redelivered and step 3 drops it or applies it, once.

The `OutboxRelay` republishes outbox rows not delivered after a while (the source died between
commit and publish, or the message was lost beyond the duplicate window): dedup id and seq make
that safe, so every worker may run one.

Database functions are synchronous (run them off the loop); the NATS side is asyncio. A
`NotResident` departure and a `Fenced` write are the store's exceptions (`callister.store`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext, api

from callister.cluster import codec
from callister.cluster.subjects import HANDOFF_PREFIX, HANDOFF_STREAM, handoff_subject
from callister.server.tasks import stop_task
from callister.sim.events import ShipState
from callister.store import Character, Fenced
from callister.store.cluster import ClusterRepository, Extra, handoff_id

log = logging.getLogger(__name__)


@codec.register
@dataclass(frozen=True, slots=True)
class Handoff:
    """A ship on its way from one zone to another (what the outbox row and the message hold)."""

    ship: int
    seq: int
    from_zone: str
    to_zone: str
    state: ShipState
    departed_at: float = 0.0
    """Wall-clock time of the departure commit (for hand-off latency metrics only)."""
    pilot: dict[str, Any] | None = None
    """What the destination needs of the ship's player beyond the ship (ClusterWorld: the
    character, name, credits, cargo, whether crew is aboard), so it need not read it back."""

    @property
    def msg_id(self) -> str:
        return handoff_id(self.ship, self.seq)


def consumer_name(zone: str) -> str:
    """The durable consumer of a zone's hand-offs (names cannot hold dots; the hash keeps
    sanitised names of different zones apart)."""
    digest = hashlib.sha256(zone.encode()).hexdigest()[:10]
    return f"ho-{re.sub(r'[^A-Za-z0-9_-]', '_', zone)[:80]}-{digest}"


# ------------------------------------------------------------------------- database side


def depart(
    cluster: ClusterRepository,
    *,
    from_zone: str,
    to_zone: str,
    token: int,
    owner: str,
    state: ShipState,
    characters: Sequence[Character] = (),
    extra: Extra | None = None,
    pilot: dict[str, Any] | None = None,
) -> Handoff:
    """Commit a ship's departure and its outbox row together (fenced on `from_zone`).

    Raises `Fenced` if the source zone has a newer owner, `NotResident` if the ship is not
    resident in `from_zone` (already departed: a repeated call). `characters` (e.g. the
    player's, in its new system) and `extra(cursor)` are written in the same transaction.
    """
    made: list[Handoff] = []

    def message(seq: int, departed_at: float) -> str:
        made[:] = [Handoff(state.id, seq, from_zone, to_zone, state, departed_at, pilot)]
        return codec.dumps(made[0]).decode("utf-8")

    cluster.depart(
        from_zone=from_zone,
        to_zone=to_zone,
        token=token,
        owner=owner,
        ship_id=state.id,
        state=codec.encode_ship(state),
        handoff=message,
        characters=characters,
        extra=extra,
    )
    return made[0]


def arrive(
    cluster: ClusterRepository,
    handoff: Handoff,
    *,
    token: int,
    owner: str,
    state: ShipState | None = None,
    characters: Sequence[Character] = (),
    extra: Extra | None = None,
) -> bool:
    """Make the ship resident in the destination zone (fenced on it). False: a duplicate (this
    seq already arrived, or a later hand-off superseded it); nothing was written then.

    `state` is what to store for the arrived ship (e.g. moved to the arrival point); default the
    hand-off's. `characters` and `extra(cursor)` are written in the same transaction, only when
    the arrival applies.
    """
    return cluster.arrive(
        ship_id=handoff.ship,
        seq=handoff.seq,
        to_zone=handoff.to_zone,
        token=token,
        owner=owner,
        state=codec.encode_ship(state if state is not None else handoff.state),
        characters=characters,
        extra=extra,
    )


def pending(
    cluster: ClusterRepository,
    *,
    older_than: float = 1.0,
    limit: int = 500,
    now: float | None = None,
) -> list[Handoff]:
    """Undelivered hand-offs last (re)published more than `older_than` seconds ago."""
    out = []
    for payload in cluster.pending_handoffs(older_than=older_than, limit=limit, now=now):
        handoff = codec.loads(payload)
        if isinstance(handoff, Handoff):
            out.append(handoff)
    return out


# ------------------------------------------------------------------------------ NATS side


async def ensure_stream(
    js: JetStreamContext, *, replicas: int = 1, duplicate_window: float = 120.0
) -> None:
    """Create the hand-off stream if missing: work-queue retention (a message is removed once
    acked), file storage, per-zone subjects, server-side dedup of Nats-Msg-Id."""
    config = api.StreamConfig(
        name=HANDOFF_STREAM,
        subjects=[f"{HANDOFF_PREFIX}.>"],
        retention=api.RetentionPolicy.WORK_QUEUE,
        storage=api.StorageType.FILE,
        num_replicas=replicas,
        duplicate_window=duplicate_window,
        discard=api.DiscardPolicy.NEW,
        description="callister jump hand-offs between zone workers",
    )
    try:
        await js.add_stream(config)
    except nats.js.errors.BadRequestError as exc:
        if exc.err_code != 10058:  # exists with another config: keep it (an operator's choice)
            raise


async def publish(js: JetStreamContext, handoff: Handoff, *, timeout: float = 2.0) -> bool:
    """Send a hand-off (durably stored once acked). False if the server saw it as a duplicate."""
    ack = await js.publish(
        handoff_subject(handoff.to_zone),
        codec.encode(handoff),
        timeout=timeout,
        headers={api.Header.MSG_ID.value: handoff.msg_id},
    )
    return not ack.duplicate


@dataclass(slots=True)
class ReceiverStats:
    received: int = 0
    applied: int = 0
    duplicates: int = 0
    failed: int = 0
    bad: int = 0
    latency_ms: list[float] = field(default_factory=list)


Apply = Callable[[Handoff], Awaitable[bool]]


class HandoffReceiver:
    """Pulls one zone's hand-offs from its durable consumer and applies each exactly once.

    `apply(handoff)` must commit the arrival (e.g. ``await asyncio.to_thread(arrive, ...)``)
    and then put the ship into the simulation; it returns False for a duplicate. A message is
    acked only after `apply` returned. An exception from `apply` naks the message (it comes
    back after `retry_delay`); `Fenced` means the zone is no longer ours: the receiver stops.

    `batch` is 1 on purpose: nats-py's `fetch(n > 1)` on a long poll returns the first message
    only once `n` have come or the poll's `timeout` ends, so a lone hand-off waited up to
    `poll` (1 s) in the client (`bench cluster`: transit p99 428 ms with 64, 55 ms with 1). A
    backlog (a failover) then costs one pull round trip per message, which is ~1 ms.
    """

    def __init__(
        self,
        js: JetStreamContext,
        zone: str,
        apply: Apply,
        *,
        batch: int = 1,
        ack_wait: float = 5.0,
        retry_delay: float = 0.5,
        poll: float = 1.0,
        on_fenced: Callable[[str], None] | None = None,
    ) -> None:
        self.js, self.zone, self.apply = js, zone, apply
        self.batch, self.ack_wait, self.retry_delay, self.poll = batch, ack_wait, retry_delay, poll
        self.on_fenced = on_fenced
        self.last_seen: dict[int, int] = {}
        """Per ship, the highest hand-off seq applied or seen as duplicate (a fast path; the
        database check in `arrive` is the authority)."""
        self.stats = ReceiverStats()
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        config = api.ConsumerConfig(
            durable_name=consumer_name(self.zone),
            filter_subject=handoff_subject(self.zone),
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            max_ack_pending=1000,
            inactive_threshold=3600.0,
        )
        self._sub = await self.js.pull_subscribe(
            handoff_subject(self.zone),
            durable=consumer_name(self.zone),
            stream=HANDOFF_STREAM,
            config=config,
        )
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"handoffs {self.zone}"
        )

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None

    def counters(self) -> dict[str, float]:
        s = self.stats
        return {
            "callister_handoffs_received_total": float(s.received),
            "callister_handoffs_applied_total": float(s.applied),
            "callister_handoffs_duplicate_total": float(s.duplicates),
            "callister_handoffs_failed_total": float(s.failed),
        }

    async def _run(self) -> None:
        while True:
            try:
                msgs = await self._sub.fetch(self.batch, timeout=self.poll)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except nats.errors.Error as exc:  # disconnected: the client reconnects by itself
                log.info("hand-off fetch failed", extra={"zone": self.zone, "err": repr(exc)})
                await asyncio.sleep(self.retry_delay)
                continue
            for msg in msgs:
                if not await self._handle(msg):
                    return

    async def _handle(self, msg: Any) -> bool:
        """Apply one message; False when the zone was lost (stop receiving)."""
        self.stats.received += 1
        try:
            handoff = codec.decode(msg.data)
        except codec.CodecError:
            handoff = None
        if not isinstance(handoff, Handoff) or handoff.to_zone != self.zone:
            self.stats.bad += 1
            log.error("bad hand-off message dropped", extra={"zone": self.zone})
            await _quiet(msg.term())
            return True
        if handoff.seq <= self.last_seen.get(handoff.ship, 0):
            self.stats.duplicates += 1
            await _quiet(msg.ack())
            return True
        try:
            applied = await self.apply(handoff)
        except Fenced:
            self.stats.failed += 1
            await _quiet(msg.nak())
            if self.on_fenced is not None:
                self.on_fenced(self.zone)
            return False
        except Exception:
            self.stats.failed += 1
            log.exception("hand-off arrival failed; will retry", extra={"ship": handoff.ship})
            await _quiet(msg.nak(delay=self.retry_delay))
            return True
        self.last_seen[handoff.ship] = max(self.last_seen.get(handoff.ship, 0), handoff.seq)
        if applied:
            self.stats.applied += 1
            if handoff.departed_at and len(self.stats.latency_ms) < 100_000:
                self.stats.latency_ms.append((time.time() - handoff.departed_at) * 1000.0)
        else:
            self.stats.duplicates += 1
        await _quiet(msg.ack())
        return True


async def _quiet(aw: Awaitable[Any]) -> None:
    """Ack/nak/term: a failure (disconnected) only means the message will be redelivered."""
    try:
        await aw
    except (TimeoutError, nats.errors.Error) as exc:
        log.info("hand-off ack failed; it will be redelivered", extra={"err": repr(exc)})


class OutboxRelay:
    """Republishes undelivered outbox rows (same dedup id) every `every` seconds.

    `cluster` is on the relay's own connection (it is used from a worker thread, one call at a
    time). Safe to run in every worker: the stream's dedup window and the arrival's seq check
    absorb the repeats.
    """

    def __init__(
        self,
        js: JetStreamContext,
        cluster: ClusterRepository,
        *,
        every: float = 1.0,
        older_than: float = 2.0,
        timeout: float = 2.0,
    ) -> None:
        self.js, self.cluster = js, cluster
        self.every, self.older_than, self.timeout = every, older_than, timeout
        self.republished = 0
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def run_once(self) -> int:
        """Republish what is due now; returns how many were sent."""
        async with self._lock:
            due = await asyncio.to_thread(pending, self.cluster, older_than=self.older_than)
            sent: list[str] = []
            for handoff in due:
                try:
                    await publish(self.js, handoff, timeout=self.timeout)
                except (TimeoutError, nats.errors.Error) as exc:
                    log.info("outbox republish failed", extra={"err": repr(exc)})
                    break
                sent.append(handoff.msg_id)
            if sent:
                await asyncio.to_thread(self.cluster.mark_published, sent)
            self.republished += len(sent)
            return len(sent)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox relay")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.run_once()
            except Exception:
                log.exception("outbox relay pass failed")
