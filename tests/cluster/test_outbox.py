"""Jump hand-offs between workers: exactly once, whatever crashes at whatever step.

A "worker" here is an in-process stand-in for a `callister worker` process: its own NATS
connection and database connection, leases, fenced claims, a set of ship ids per zone for its
simulation, a hand-off receiver per zone and an outbox relay. A crash throws all of that away
at a chosen step (nothing acked, nothing committed that was not), and a new incarnation starts
from what NATS and PostgreSQL hold. The lead's multi-process SIGKILL tests come later."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext, api
from tests.cluster._support import NatsServer

from callister.cluster import outbox
from callister.cluster.fencing import add_ship, load_zone
from callister.cluster.leases import DEFAULT_BUCKET, KV_OP, Lease, LeaseTable
from callister.cluster.nats_bus import connect
from callister.cluster.outbox import Handoff, HandoffReceiver, OutboxRelay
from callister.cluster.subjects import WORKER
from callister.sim.events import ShipState
from callister.store import Database, Fenced, NotResident
from callister.store.cluster import ClusterRepository
from callister.store.database import Cursor

A, B, C = "infinity.0.0", "infinity.1.0", "infinity.2.0"
PgConnect = Callable[[], Database]


class SimulatedCrash(BaseException):
    """The process dies here: not an Exception, so nothing in the code under test handles it."""


def ship(ship_id: int, x: float = 0.0) -> ShipState:
    return ShipState(ship_id, 1, "shuttle", x, 0.0, 1.0, 0.0, 0.0, None)


@dataclass
class Worker:
    name: str
    nc: Client
    js: JetStreamContext
    db: Database
    relay_db: Database
    table: LeaseTable
    leases: dict[str, Lease] = field(default_factory=dict)
    sims: dict[str, set[int]] = field(default_factory=dict)
    receivers: dict[str, HandoffReceiver] = field(default_factory=dict)
    relay: OutboxRelay | None = None
    crash_in_arrival: str | None = None  # "before_commit" | "after_commit" | "after_sim"
    dead: bool = False

    @property
    def cluster(self) -> ClusterRepository:
        return ClusterRepository(self.db)

    def token(self, zone: str) -> int:
        return self.leases[zone].token

    async def own(self, zone: str) -> None:
        """Acquire, claim, load, then receive: the takeover sequence of a real worker."""
        lease = await self.table.acquire(zone, self.name)
        self.leases[zone] = lease
        await asyncio.to_thread(self.cluster.claim, zone, lease.token, self.name)
        state = await asyncio.to_thread(load_zone, self.cluster, zone)
        self.sims[zone] = {s.id for s in state.ships}
        receiver = HandoffReceiver(
            self.js,
            zone,
            self._applier(zone),
            ack_wait=1.0,
            retry_delay=0.1,
            poll=0.5,
            on_fenced=self._fenced,
        )
        await receiver.start()
        self.receivers[zone] = receiver

    def _fenced(self, zone: str) -> None:
        self.sims.pop(zone, None)  # the zone is someone else's now: stop simulating it
        self.leases.pop(zone, None)

    def _applier(self, zone: str) -> Callable[[Handoff], Awaitable[bool]]:
        async def apply(handoff: Handoff) -> bool:
            def extra(cur: Cursor) -> None:
                if self.crash_in_arrival == "before_commit":
                    raise SimulatedCrash

            applied = await asyncio.to_thread(
                outbox.arrive,
                self.cluster,
                handoff,
                token=self.token(zone),
                owner=self.name,
                extra=extra,
            )
            if self.crash_in_arrival == "after_commit":
                raise SimulatedCrash
            if applied:
                self.sims[zone].add(handoff.ship)
            if self.crash_in_arrival == "after_sim":
                raise SimulatedCrash
            return applied

        return apply

    async def spawn(self, zone: str, state: ShipState) -> None:
        await asyncio.to_thread(add_ship, self.cluster, zone, self.token(zone), self.name, state)
        self.sims[zone].add(state.id)

    async def depart(
        self, ship_id: int, src: str, dst: str, extra: Callable[[Cursor], None] | None = None
    ) -> Handoff:
        """A departure's commit alone (the ship gone from `src`, its outbox row written),
        fenced on this worker's lease of `src`; nothing is published."""
        return await asyncio.to_thread(
            outbox.depart,
            self.cluster,
            from_zone=src,
            to_zone=dst,
            token=self.token(src),
            owner=self.name,
            state=ship(ship_id),
            extra=extra,
        )

    async def jump(self, ship_id: int, src: str, dst: str, crash: str | None = None) -> Handoff:
        """The source side of a jump. `crash`: before_commit | after_commit | after_publish."""
        self.sims[src].discard(ship_id)  # the zone's step already removed it (JumpOut)

        def extra(cur: Cursor) -> None:
            if crash == "before_commit":
                raise SimulatedCrash

        handoff = await self.depart(ship_id, src, dst, extra)
        if crash == "after_commit":
            raise SimulatedCrash
        await outbox.publish(self.js, handoff)
        if crash == "after_publish":
            raise SimulatedCrash
        await asyncio.to_thread(self.cluster.mark_published, [handoff.msg_id])
        return handoff

    async def crash(self) -> None:
        """Die: no acks, no commits, no lease release; memory gone."""
        self.dead = True
        for receiver in self.receivers.values():
            if receiver._task is not None:
                receiver._task.cancel()
                with contextlib.suppress(BaseException):
                    await receiver._task
        if self.relay is not None:
            await self.relay.stop()
        await self.nc.close()
        self.db.close()
        self.relay_db.close()
        self.sims.clear()

    async def stop(self) -> None:
        if self.dead:
            return
        for receiver in self.receivers.values():
            with contextlib.suppress(BaseException):
                await receiver.stop()
        if self.relay is not None:
            await self.relay.stop()
        await self.nc.close()


Start = Callable[[str], Awaitable[Worker]]


@pytest.fixture
async def start_worker(nats_server: NatsServer, pg_connect: PgConnect) -> AsyncIterator[Start]:
    workers: list[Worker] = []

    async def _start(name: str) -> Worker:
        nc = await connect(nats_server.url, name=name, auth=nats_server.auth(WORKER), timeout=5)
        js = nc.jetstream(timeout=2)
        await outbox.ensure_stream(js, duplicate_window=60)
        table = await LeaseTable.open(js, ttl=5.0)
        db = pg_connect()
        db.pipelined = True  # as a worker's hand-off connections (cluster/worker.py)
        worker = Worker(name, nc, js, db, pg_connect(), table)
        worker.relay = OutboxRelay(
            js, ClusterRepository(worker.relay_db), every=0.2, older_than=0.5
        )
        worker.relay.start()
        workers.append(worker)
        return worker

    yield _start
    for worker in workers:
        await worker.stop()


async def expire_lease(js: JetStreamContext, zone: str) -> None:
    """Stand-in for waiting out a dead worker's TTL (tested for real in test_leases): a delete
    marker on the key, as the server's expiry leaves one (a worker may write the bucket; no
    role may purge it)."""
    await js.publish(f"$KV.{DEFAULT_BUCKET}.{zone}", b"", headers={KV_OP: "DEL"})


async def ship_1_in_a(start_worker: Start) -> tuple[Worker, Worker]:
    """Workers wa (owning zone A, where ship 1 is) and wb (owning B): a jump's two ends."""
    wa, wb = await start_worker("wa"), await start_worker("wb")
    await wa.own(A)
    await wb.own(B)
    await wa.spawn(A, ship(1))
    return wa, wb


async def settle(predicate: Callable[[], bool], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "did not settle"
        await asyncio.sleep(0.02)


def holders(workers: list[Worker], ship_id: int) -> list[tuple[str, str]]:
    """(worker, zone) of every live simulation that has the ship."""
    return [
        (w.name, zone)
        for w in workers
        if not w.dead
        for zone, ships in w.sims.items()
        if ship_id in ships
    ]


async def assert_exactly_once(workers: list[Worker], db: Database, ship_id: int, zone: str) -> None:
    await settle(lambda: len(holders(workers, ship_id)) >= 1)
    await asyncio.sleep(1.5)  # let any redelivery or republish that could duplicate happen
    owner = next(w.name for w in workers if not w.dead and zone in w.leases)
    assert holders(workers, ship_id) == [(owner, zone)]
    where = await asyncio.to_thread(ClusterRepository(db).ship_location, ship_id)
    assert where is not None and where[0] == zone and where[1] == where[2]  # resident


async def test_a_jump_between_two_workers(start_worker: Start, pg_connect: PgConnect) -> None:
    wa, wb = await ship_1_in_a(start_worker)
    handoff = await wa.jump(1, A, B)
    assert handoff.seq == 1 and handoff.msg_id == "ship.1.1"
    await assert_exactly_once([wa, wb], pg_connect(), 1, B)
    # and back again: seq 2
    back = await wb.jump(1, B, A)
    assert back.seq == 2
    await assert_exactly_once([wa, wb], pg_connect(), 1, A)
    assert wb.receivers[B].stats.applied == 1 and wa.receivers[A].stats.applied == 1


@pytest.mark.parametrize("crash", ["before_commit", "after_commit", "after_publish"])
async def test_source_crash_at_each_step(
    start_worker: Start, pg_connect: PgConnect, crash: str
) -> None:
    wa, wb = await ship_1_in_a(start_worker)
    with pytest.raises(SimulatedCrash):
        await wa.jump(1, A, B, crash=crash)
    await wa.crash()
    await expire_lease(wb.js, A)
    wa2 = await start_worker("wa2")  # the replacement takes zone A from its checkpoint
    await wa2.own(A)
    # before the commit the ship never left A; after it, the outbox relay brings it to B
    await assert_exactly_once([wa2, wb], pg_connect(), 1, A if crash == "before_commit" else B)


@pytest.mark.parametrize("crash", ["before_commit", "after_commit", "after_sim"])
async def test_destination_crash_at_each_step(
    start_worker: Start, pg_connect: PgConnect, crash: str
) -> None:
    wa, wb = await ship_1_in_a(start_worker)
    wb.crash_in_arrival = crash
    await wa.jump(1, A, B)
    await settle(lambda: wb.receivers[B]._task is not None and wb.receivers[B]._task.done())
    await wb.crash()
    await expire_lease(wa.js, B)
    wb2 = await start_worker("wb2")
    await wb2.own(B)  # loads B (with the ship if its arrival committed), then receives
    await assert_exactly_once([wa, wb2], pg_connect(), 1, B)
    applied = wb2.receivers[B].stats.applied
    assert applied == (1 if crash == "before_commit" else 0)  # else: a dropped duplicate


async def test_republish_after_the_dedup_window_is_dropped_by_seq(
    start_worker: Start, pg_connect: PgConnect
) -> None:
    wa, wb = await ship_1_in_a(start_worker)
    handoff = await wa.jump(1, A, B)
    await settle(lambda: 1 in wb.sims[B])
    # the same hand-off again under another message id (as if the window had passed)
    await wa.js.publish(
        outbox.handoff_subject(B),
        outbox.codec.encode(handoff),
        headers={api.Header.MSG_ID.value: "something-else"},
    )
    await settle(lambda: wb.receivers[B].stats.duplicates == 1)
    # a fresh receiver with no memory drops it too: the database holds the seq
    await wb.receivers[B].stop()
    await wa.js.publish(
        outbox.handoff_subject(B),
        outbox.codec.encode(handoff),
        headers={api.Header.MSG_ID.value: "a-third-id"},
    )
    await expire_lease(wa.js, B)
    wb2 = await start_worker("wb2")
    await wb2.own(B)
    await settle(lambda: wb2.receivers[B].stats.duplicates == 1)
    assert wb2.receivers[B].stats.applied == 0
    assert wb2.sims[B] == {1}  # loaded as resident, once


async def test_a_same_message_id_is_stored_once(start_worker: Start) -> None:
    wa = await start_worker("wa")
    await wa.own(A)
    await wa.spawn(A, ship(1))
    handoff = await wa.depart(1, A, C)
    assert await outbox.publish(wa.js, handoff)
    assert not await outbox.publish(wa.js, handoff)  # the server's dedup: not stored again
    info = await wa.js.stream_info(outbox.HANDOFF_STREAM)
    assert info.state.messages == 1  # nobody owns C yet: it waits in the stream


async def test_a_fenced_old_owner_cannot_take_arrivals(
    start_worker: Start, pg_connect: PgConnect
) -> None:
    """The destination's old owner (lease lost, still running) refuses the arrival (Fenced),
    stops receiving, and the message goes to the new owner, once."""
    wa, wb = await ship_1_in_a(start_worker)
    await expire_lease(wa.js, B)  # wb is cut off and does not know yet
    wb2 = await start_worker("wb2")
    await wb2.own(B)
    await wb.receivers[B].stop()  # only the stale owner listens at first
    wb.receivers[B] = HandoffReceiver(
        wb.js, B, wb._applier(B), ack_wait=1.0, poll=0.5, on_fenced=wb._fenced
    )
    await wb2.receivers[B].stop()
    await wb.receivers[B].start()
    await wa.jump(1, A, B)
    await settle(lambda: wb.receivers[B].stats.failed == 1)  # Fenced
    assert B not in wb.sims
    await wb2.receivers[B].start()
    await assert_exactly_once([wa, wb, wb2], pg_connect(), 1, B)


async def test_late_departure_of_a_fenced_source_is_refused(start_worker: Start) -> None:
    wa = await start_worker("wa")
    await wa.own(A)
    await wa.spawn(A, ship(1))
    await expire_lease(wa.js, A)
    wa2 = await start_worker("wa2")
    await wa2.own(A)
    with pytest.raises(Fenced):
        await wa.jump(1, A, B)
    assert wa2.sims[A] == {1}  # the ship stayed where the new owner found it
    await wa2.jump(1, A, B)
    with pytest.raises(NotResident):  # a repeated departure is refused
        await wa2.depart(1, A, B)


async def test_random_jumps_and_crashes_keep_every_ship_exactly_once(
    start_worker: Start, pg_connect: PgConnect
) -> None:
    """Ships jumping around three zones while workers crash at random steps; afterwards every
    ship is in exactly one live simulation, where the database says it is."""
    rng = random.Random(7)
    zones = [A, B, C]
    workers: dict[str, Worker] = {}
    for i, zone in enumerate(zones):
        workers[zone] = await start_worker(f"w{i}")
        await workers[zone].own(zone)
    ships = list(range(1, 9))
    for s in ships:
        await workers[zones[s % 3]].spawn(zones[s % 3], ship(s))
    generation = jumps = 0
    for _ in range(14):
        residents = [
            (s, z) for z, w in workers.items() for s in list(w.sims.get(z, ())) if s in ships
        ]
        if not residents:
            await asyncio.sleep(0.3)
            continue
        s, src = rng.choice(residents)
        dst = rng.choice([z for z in zones if z != src])
        crash = rng.choice([None, None, "before_commit", "after_commit", "after_publish"])
        jumps += 1
        try:
            await workers[src].jump(s, src, dst, crash=crash)
        except SimulatedCrash:
            await workers[src].crash()
            await expire_lease(workers[dst].js, src)
            generation += 1
            workers[src] = await start_worker(f"{src}-g{generation}")
            await workers[src].own(src)
        await asyncio.sleep(rng.random() * 0.2)
    assert jumps >= 10 and generation >= 3  # the seed gives a fair mix of crashes
    live = list(workers.values())
    db = pg_connect()

    def placed() -> bool:
        return all(len(holders(live, s)) == 1 for s in ships)

    await settle(placed, timeout=15)
    await asyncio.sleep(1.5)  # any duplicate would show up now
    for s in ships:
        ((_, zone),) = holders(live, s)
        where = await asyncio.to_thread(ClusterRepository(db).ship_location, s)
        assert where is not None and where[0] == zone and where[1] == where[2]
