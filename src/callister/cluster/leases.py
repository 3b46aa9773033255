"""Zone ownership: leases in a JetStream key-value bucket, and a keeper that renews them.

One key per zone (the zone key, e.g. ``infinity.3.-2``) in the bucket; its value names the
holder. The operations are plain JetStream publishes with an expected-last-subject-sequence
header, so the server decides every race:

- **acquire**: write with expected last sequence = 0 (or = the sequence of the tombstone/expiry
  marker the key currently has): create-if-absent. Two workers racing: one wins, the other gets
  `LeaseHeld`.
- **renew**: write with expected last sequence = the revision we hold: compare-and-swap. If
  anything else wrote the key in between (it expired and another took it), `LeaseLost`.
- **expiry**: every lease write carries a per-message TTL (``Nats-TTL``, nats-server >= 2.11) so
  an unrenewed key vanishes `ttl` seconds after its last write, leaving a short-lived marker that
  the next acquirer writes over. On an older server (no per-message TTL: Debian's 2.9) the
  bucket's max_age is the TTL instead: with history 1 each renewal replaces the message, so the
  key still expires `ttl` after its last write; then all leases of a bucket share one TTL and
  changing it means recreating the bucket. `LeaseTable.open` picks the mode from the server's
  JetStream API level.
- **release**: a delete marker written with expected last sequence = our revision.

**Fencing token.** A KV revision is the stream sequence of the write, which only grows. The token
of a lease is the revision of the write that *acquired* it: it stays the same through renewals,
and any later acquisition of the zone, by anyone, has a larger one. Every checkpoint write carries
it (fencing.py), so the database refuses a worker that lost its lease, whatever it believes.
(Deleting and recreating the bucket would restart the sequence: never do that on a live cluster.)

**Stopping in time.** `LeaseKeeper` renews every lease on a timer. The server starts a write's TTL
when it stores it, which is after we sent it, so ``sent + ttl`` (our monotonic clock) is a
lower bound on when the key can expire. The keeper treats the lease as valid only until
``sent + ttl - safety`` of the last confirmed write; at that moment, if no renewal got through,
a timer calls ``lost(zone)`` (and `valid()` already answers False to the tick loop, even if the
event loop stalled and the timer is late). So a worker cut off from NATS stops simulating at
least `safety` seconds before anyone else can acquire the zone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext, api

from callister.cluster.subjects import LEASE_BUCKET
from callister.server.tasks import stop_task

log = logging.getLogger(__name__)

DEFAULT_BUCKET = LEASE_BUCKET
KV_OP = "KV-Operation"
MARKER_REASON = "Nats-Marker-Reason"  # server-placed marker when a key expires (2.11+)
_WRONG_LAST_SEQUENCE = (10071, 10164)


class LeaseError(Exception):
    """A lease operation could not be completed (the outcome may be unknown: see subclasses)."""


class LeaseHeld(LeaseError):
    """Acquire refused: another holder has a live lease on the zone."""

    def __init__(self, zone: str, holder: str | None, revision: int) -> None:
        super().__init__(f"zone {zone} is held by {holder!r} (revision {revision})")
        self.zone, self.holder, self.revision = zone, holder, revision


class LeaseLost(LeaseError):
    """Renew refused: the key changed since our revision (expired, and maybe taken)."""


@dataclass(frozen=True, slots=True)
class Lease:
    zone: str
    owner: str
    token: int
    """The fencing token: the revision of the write that acquired the lease."""
    revision: int
    """The revision of the last write (what the next renewal compares against)."""
    expires_at: float
    """Monotonic time before which the key cannot have expired (send time of the last
    confirmed write + ttl)."""
    nonce: str = ""


@dataclass(frozen=True, slots=True)
class Holder:
    """What the bucket says about a zone right now."""

    zone: str
    owner: str
    revision: int
    token: int


@dataclass(frozen=True, slots=True)
class _Current:
    revision: int  # last sequence on the key's subject (0: never written or fully gone)
    live: bool  # False: deleted, purged or expired (a marker)
    value: dict[str, Any]


class LeaseTable:
    """Lease operations on one bucket; one per process, shared by everything that needs leases.

    Each call takes a `timeout` (seconds) and raises `asyncio.TimeoutError` when it expires:
    then the write may or may not have happened. The nonce in each lease's value lets the next
    call tell a lost reply of ours from someone else's write, so retrying is safe.
    """

    def __init__(self, js: JetStreamContext, bucket: str, ttl: float, *, per_key_ttl: bool):
        if ttl < 1.0:
            raise ValueError("lease ttl must be at least 1 s (NATS's TTL granularity)")
        self.js = js
        self.bucket = bucket
        self.stream = f"KV_{bucket}"
        self.ttl = float(ttl)
        self.per_key_ttl = per_key_ttl
        self._prefix = f"$KV.{bucket}."

    @classmethod
    async def open(
        cls,
        js: JetStreamContext,
        *,
        bucket: str = DEFAULT_BUCKET,
        ttl: float = 6.0,
        replicas: int = 1,
        per_key_ttl: bool | None = None,
        marker_ttl: float = 1.0,
    ) -> LeaseTable:
        """Create (or bind) the lease bucket. `per_key_ttl` None: use it if the server has it."""
        if per_key_ttl is None:
            info = await js.account_info()
            per_key_ttl = bool(info.api.level) and (info.api.level or 0) >= 1
        config: dict[str, Any] = {
            "bucket": bucket,
            "history": 1,
            "replicas": replicas,
            "storage": api.StorageType.FILE,
            "description": "callister zone leases",
        }
        if per_key_ttl:
            config["limit_marker_ttl"] = marker_ttl
        else:
            config["ttl"] = float(ttl)
        try:
            await js.create_key_value(**config)
        except nats.js.errors.BadRequestError as exc:
            # 10058: the stream exists with another config; bind it if it is usable as is
            if exc.err_code != 10058:
                raise
            info_s = await js.stream_info(f"KV_{bucket}")
            if not per_key_ttl and abs((info_s.config.max_age or 0) - ttl) > 1e-3:
                raise LeaseError(
                    f"bucket {bucket} has max_age {info_s.config.max_age}, not the lease ttl {ttl}"
                ) from exc
        return cls(js, bucket, ttl, per_key_ttl=per_key_ttl)

    # ---------------------------------------------------------------------------- primitives

    def _subject(self, zone: str) -> str:
        return self._prefix + zone

    async def _read(self, zone: str, timeout: float) -> _Current:
        try:
            msg = await asyncio.wait_for(
                self.js.get_msg(self.stream, subject=self._subject(zone), direct=False), timeout
            )
        except nats.js.errors.NotFoundError:
            return _Current(0, False, {})
        headers = msg.headers or {}
        live = headers.get(KV_OP) not in ("DEL", "PURGE") and MARKER_REASON not in headers
        value: dict[str, Any] = {}
        if live and msg.data:
            with contextlib.suppress(ValueError):
                value = json.loads(msg.data)
        return _Current(int(msg.seq or 0), live, value)

    async def _write(self, zone: str, value: bytes, last: int, timeout: float) -> int:
        headers = {api.Header.EXPECTED_LAST_SUBJECT_SEQUENCE.value: str(last)}
        if self.per_key_ttl:
            headers[api.Header.MSG_TTL.value] = f"{round(self.ttl * 1000)}ms"
        try:
            ack = await self.js.publish(
                self._subject(zone), value, timeout=timeout, headers=headers
            )
        except nats.errors.TimeoutError as exc:
            raise TimeoutError from exc
        except nats.js.errors.APIError as exc:
            if exc.err_code in _WRONG_LAST_SEQUENCE:
                raise _WrongLast from exc
            raise
        return int(ack.seq)

    def _value(self, owner: str, nonce: str, token: int) -> bytes:
        return json.dumps(
            {"owner": owner, "nonce": nonce, "token": token, "at": time.time()}
        ).encode()

    # ------------------------------------------------------------------------------ public

    async def acquire(
        self,
        zone: str,
        owner: str,
        *,
        timeout: float = 2.0,
        nonce: str | None = None,
        since: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> Lease:
        """Take the zone if nobody holds it. `LeaseHeld` if someone does.

        To retry after a timeout, pass the same `nonce` and the monotonic time of the first
        attempt as `since`: if that attempt's write did land, the lease is recognised as ours
        (and its expiry is counted from `since`, a safe lower bound).
        """
        nonce = nonce or uuid.uuid4().hex
        since = clock() if since is None else since
        deadline = clock() + timeout
        last = 0
        for _ in range(4):  # a marker appearing or vanishing between read and write: retry
            sent = clock()
            try:
                # token 0 in the value: the acquiring write's own revision becomes the token
                revision = await self._write(
                    zone, self._value(owner, nonce, 0), last, max(0.05, deadline - sent)
                )
                return Lease(zone, owner, revision, revision, sent + self.ttl, nonce)
            except _WrongLast:
                current = await self._read(zone, max(0.05, deadline - clock()))
                if current.live:
                    if current.value.get("nonce") == nonce:  # our earlier write got through
                        rev = current.revision
                        return Lease(zone, owner, rev, rev, since + self.ttl, nonce)
                    raise LeaseHeld(zone, current.value.get("owner"), current.revision) from None
                last = current.revision
        raise LeaseError(f"could not acquire {zone}: the key kept changing")

    async def renew(
        self,
        lease: Lease,
        *,
        timeout: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> Lease:
        """Extend the lease (compare-and-swap on its revision). `LeaseLost` if it changed."""
        sent = clock()
        value = self._value(lease.owner, lease.nonce, lease.token)
        try:
            revision = await self._write(lease.zone, value, lease.revision, timeout)
        except _WrongLast:
            # Maybe a renewal of ours whose reply we never got moved the revision on: then the
            # key still holds our nonce. Adopt that revision but not a later expiry (we do not
            # know when it was written); the next renewal extends it.
            current = await self._read(lease.zone, timeout)
            if current.live and current.value.get("nonce") == lease.nonce:
                return replace(lease, revision=current.revision)
            raise LeaseLost(
                f"lease on {lease.zone} lost (revision {lease.revision} is no longer current)"
            ) from None
        return replace(lease, revision=revision, expires_at=sent + self.ttl)

    async def release(self, lease: Lease, *, timeout: float = 2.0) -> bool:
        """Give the zone up (delete marker, compare-and-swap). False if it was not ours anymore."""
        headers = {
            KV_OP: "DEL",
            api.Header.EXPECTED_LAST_SUBJECT_SEQUENCE.value: str(lease.revision),
        }
        try:
            await self.js.publish(self._subject(lease.zone), b"", timeout=timeout, headers=headers)
        except nats.errors.TimeoutError as exc:
            raise TimeoutError from exc
        except nats.js.errors.APIError as exc:
            if exc.err_code in _WRONG_LAST_SEQUENCE:
                return False
            raise
        return True

    async def holder(self, zone: str, *, timeout: float = 2.0) -> Holder | None:
        """Who holds the zone now (None: nobody)."""
        current = await self._read(zone, timeout)
        if not current.live:
            return None
        token = int(current.value.get("token") or current.revision)
        return Holder(zone, str(current.value.get("owner")), current.revision, token)


class _WrongLast(Exception):
    """The expected-last-sequence check failed (internal)."""


@dataclass(slots=True)
class _Kept:
    lease: Lease
    timer: asyncio.TimerHandle | None = None
    failures: int = 0
    renewing: bool = False
    last_attempt: float = 0.0


@dataclass(slots=True)
class KeeperStats:
    acquired: int = 0
    renewed: int = 0
    renew_failures: int = 0
    lost: int = 0
    released: int = 0
    renew_ms: list[float] = field(default_factory=list)


class LeaseKeeper:
    """Holds a worker's leases: renews each every `renew_every` s, and calls `lost(zone)` (once)
    the moment a lease can no longer be trusted: a renewal refused, or no renewal confirmed
    before ``expires_at - safety``.

    The tick loop must call `valid(zone)` before stepping a zone: it compares monotonic time
    with that same deadline, so it is right even when a stalled event loop fires the timer late.
    Defaults for ttl T: renew every T/3, safety T/3 (T = 6 s: renew every 2 s, stop 4 s after the
    last confirmed renewal, 2 s before the key can expire).
    """

    def __init__(
        self,
        table: LeaseTable,
        owner: str,
        *,
        lost: Callable[[str], None],
        renew_every: float | None = None,
        safety: float | None = None,
        retry_every: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.table = table
        self.owner = owner
        self._lost_cb = lost
        self.renew_every = renew_every if renew_every is not None else table.ttl / 3
        self.safety = safety if safety is not None else table.ttl / 3
        if self.renew_every + self.safety >= table.ttl:
            raise ValueError("renew_every + safety must be less than the lease ttl")
        self.retry_every = retry_every
        self.clock = clock
        self.stats = KeeperStats()
        self._kept: dict[str, _Kept] = {}
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------------- queries

    def valid(self, zone: str) -> bool:
        """True while the worker may simulate `zone` (and write its checkpoints)."""
        kept = self._kept.get(zone)
        return kept is not None and self.clock() < kept.lease.expires_at - self.safety

    def token(self, zone: str) -> int:
        """The fencing token for `zone` (KeyError if not held)."""
        return self._kept[zone].lease.token

    def lease(self, zone: str) -> Lease | None:
        kept = self._kept.get(zone)
        return kept.lease if kept is not None else None

    def zones(self) -> list[str]:
        return list(self._kept)

    def counters(self) -> dict[str, float]:
        """Prometheus-style counters and gauges for /metrics."""
        return {
            "callister_leases_held": float(len(self._kept)),
            "callister_lease_acquired_total": float(self.stats.acquired),
            "callister_lease_renewed_total": float(self.stats.renewed),
            "callister_lease_renew_failures_total": float(self.stats.renew_failures),
            "callister_lease_lost_total": float(self.stats.lost),
            "callister_lease_released_total": float(self.stats.released),
        }

    # ----------------------------------------------------------------------- lifecycle

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"lease keeper {self.owner}"
            )

    async def stop(self, *, release: bool = True) -> None:
        """Stop renewing; release every lease (best effort) unless `release` is False."""
        await stop_task(self._task)
        self._task = None
        for task in list(self._inflight):
            task.cancel()
        await asyncio.gather(*self._inflight, return_exceptions=True)
        for zone in list(self._kept):
            if release:
                await self.release(zone)
            else:
                self._forget(zone)

    async def acquire(self, zone: str, *, timeout: float = 2.0) -> Lease:
        """Acquire and keep `zone`. Raises LeaseHeld (or a timeout) like `LeaseTable.acquire`."""
        if zone in self._kept:
            return self._kept[zone].lease
        nonce, first = uuid.uuid4().hex, self.clock()
        while True:  # a timed-out attempt may have landed: retry with the same nonce
            remaining = first + timeout - self.clock()
            try:
                lease = await self.table.acquire(
                    zone, self.owner, timeout=remaining, nonce=nonce, since=first, clock=self.clock
                )
                break
            except TimeoutError:
                if self.clock() - first >= timeout - 0.05:
                    raise
        kept = _Kept(lease, last_attempt=self.clock())
        self._kept[zone] = kept
        self._arm(zone, kept)
        self.stats.acquired += 1
        return lease

    async def release(self, zone: str, *, timeout: float = 2.0) -> None:
        kept = self._kept.get(zone)
        if kept is None:
            return
        self._forget(zone)
        try:
            if await self.table.release(kept.lease, timeout=timeout):
                self.stats.released += 1
        except (TimeoutError, nats.errors.Error, LeaseError) as exc:
            log.warning("lease release failed (it will expire)", extra={"zone": zone, "err": exc})

    # -------------------------------------------------------------------------- internals

    def _forget(self, zone: str) -> None:
        kept = self._kept.pop(zone, None)
        if kept is not None and kept.timer is not None:
            kept.timer.cancel()

    def _arm(self, zone: str, kept: _Kept) -> None:
        """(Re)arm the watchdog at the lease's safe deadline, in monotonic time."""
        if kept.timer is not None:
            kept.timer.cancel()
        loop = asyncio.get_running_loop()
        delay = kept.lease.expires_at - self.safety - self.clock()
        kept.timer = loop.call_at(loop.time() + max(0.0, delay), self._deadline, zone, kept)

    def _deadline(self, zone: str, kept: _Kept) -> None:
        if self._kept.get(zone) is not kept:
            return
        if self.clock() < kept.lease.expires_at - self.safety:  # renewed meanwhile
            self._arm(zone, kept)
            return
        self._declare_lost(zone, "no renewal confirmed before the safety margin")

    def _declare_lost(self, zone: str, why: str) -> None:
        if zone not in self._kept:
            return
        self._forget(zone)
        self.stats.lost += 1
        log.warning("lease lost; stop simulating", extra={"zone": zone, "why": why})
        try:
            self._lost_cb(zone)
        except Exception:
            log.exception("lease lost callback failed", extra={"zone": zone})

    async def _run(self) -> None:
        while True:
            now = self.clock()
            for zone, kept in list(self._kept.items()):
                if kept.renewing:
                    continue
                due = self.renew_every if kept.failures == 0 else self.retry_every
                if now - kept.last_attempt >= due:
                    kept.renewing = True
                    kept.last_attempt = now
                    task = asyncio.get_running_loop().create_task(self._renew(zone, kept))
                    self._inflight.add(task)
                    task.add_done_callback(self._inflight.discard)
            await asyncio.sleep(min(self.retry_every, self.renew_every / 4))

    async def _renew(self, zone: str, kept: _Kept) -> None:
        try:
            # never wait past the safe deadline: by then the lease is gone for us anyway
            budget = kept.lease.expires_at - self.safety - self.clock()
            if budget <= 0:
                self._deadline(zone, kept)
                return
            started = time.perf_counter()
            try:
                lease = await self.table.renew(
                    kept.lease, timeout=min(budget, self.renew_every), clock=self.clock
                )
            except LeaseLost as exc:
                self._declare_lost(zone, str(exc))
                return
            except (TimeoutError, nats.errors.Error, OSError) as exc:
                kept.failures += 1
                self.stats.renew_failures += 1
                log.info("lease renewal failed; retrying", extra={"zone": zone, "err": repr(exc)})
                return
            if self._kept.get(zone) is not kept:
                return  # released or lost while the request was in flight
            kept.lease = lease
            kept.failures = 0
            self.stats.renewed += 1
            ms = (time.perf_counter() - started) * 1000.0
            if len(self.stats.renew_ms) < 10000:
                self.stats.renew_ms.append(ms)
            self._arm(zone, kept)
        finally:
            kept.renewing = False
