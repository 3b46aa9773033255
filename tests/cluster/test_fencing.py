"""Fenced writes: the database refuses zone state from a worker that lost the zone.

On the real PostgreSQL (a fresh schema per test) and on SQLite (the migration's twin), each
worker on a connection of its own as in `callister worker`."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.cluster._support import NatsServer, database_connections

from callister.cluster.fencing import add_ship, checkpoint, load_zone
from callister.cluster.leases import LeaseHeld, LeaseTable
from callister.cluster.subjects import WORKER
from callister.sim.events import ShipState
from callister.store import Database, Fenced, StoreError
from callister.store.cluster import ClusterRepository
from callister.store.database import Cursor

ZONE = "infinity.0.0"
Connect = Callable[[], Database]


def ship(ship_id: int, x: float = 0.0) -> ShipState:
    return ShipState(ship_id, 7, "shuttle", x, 0.0, 0.0, 0.0, 0.0, None)


@pytest.fixture(params=["postgresql", "postgresql-pipelined", "sqlite"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Connect]:
    """Opens connections (two workers) to one database with the cluster tables; pipelined
    as a worker's hand-off connections are (`Database.pipelined`), or not."""
    if request.param.startswith("postgresql"):
        pg_connect: Connect = request.getfixturevalue("pg_connect")
        if request.param == "postgresql":
            yield pg_connect
            return

        def pipelined() -> Database:
            conn = pg_connect()
            conn.pipelined = True
            return conn

        yield pipelined
        return
    with database_connections(f"sqlite:///{tmp_path / 'cluster.db'}") as connect:
        yield connect


def workers(db: Connect, n: int = 2) -> list[ClusterRepository]:
    """The cluster state as `n` workers see it, each on its own connection."""
    return [ClusterRepository(db()) for _ in range(n)]


def test_fence_only_rises(db: Connect) -> None:
    (cluster,) = workers(db, 1)
    cluster.claim(ZONE, 5, "a")
    cluster.claim(ZONE, 5, "a")  # the same token again is fine (same owner, renewals)
    assert cluster.fence_token(ZONE) == 5
    cluster.claim(ZONE, 9, "b")
    with pytest.raises(Fenced) as refused:
        cluster.claim(ZONE, 7, "c")
    assert refused.value.current == 9
    with pytest.raises(Fenced):  # an equal token from another owner (a reused revision)
        cluster.claim(ZONE, 9, "c")
    assert cluster.fence_token(ZONE) == 9


def test_a_token_below_one_is_refused_before_any_write(db: Connect) -> None:
    (cluster,) = workers(db, 1)
    for token in (0, -5):
        with pytest.raises(ValueError, match="fencing tokens are positive"):
            cluster.claim(ZONE, token, "a")
    assert cluster.fence_token(ZONE) is None


def test_old_owners_late_checkpoint_is_refused(db: Connect) -> None:
    old, new = workers(db)
    old.claim(ZONE, 5, "worker-a")
    add_ship(old, ZONE, 5, "worker-a", ship(1))
    assert checkpoint(old, ZONE, 5, "worker-a", tick=100, ships=[ship(1, x=10.0)]) == 1

    new.claim(ZONE, 8, "worker-b")  # took the lease over (token 8), before loading
    loaded = load_zone(new, ZONE)
    assert loaded.tick == 100 and [s.x for s in loaded.ships] == [10.0]

    extra_ran: list[bool] = []
    with pytest.raises(Fenced):  # the old owner, unaware, writes its next checkpoint
        checkpoint(
            old,
            ZONE,
            5,
            "worker-a",
            tick=140,
            ships=[ship(1, x=99.0)],
            extra=lambda cur: extra_ran.append(True),
        )
    assert not extra_ran
    with pytest.raises(Fenced):
        add_ship(old, ZONE, 5, "worker-a", ship(2))
    checkpoint(new, ZONE, 8, "worker-b", tick=120, ships=[ship(1, x=20.0)])
    after = load_zone(new, ZONE)
    assert after.tick == 120 and after.token == 8 and [s.x for s in after.ships] == [20.0]
    assert [s.id for s in after.ships] == [1]  # ship 2 never got in


def test_the_database_refuses_even_without_the_client_check(db: Connect) -> None:
    """A writer that skips `fenced()` and writes the rows directly is still refused: the rule
    is in the database (triggers), not in the repository."""
    old_db, new_db = db(), db()
    old, new = ClusterRepository(old_db), ClusterRepository(new_db)
    old.claim(ZONE, 5, "worker-a")
    add_ship(old, ZONE, 5, "worker-a", ship(1))
    new.claim(ZONE, 8, "worker-b")
    for statement in (
        "UPDATE cluster_ships SET state = 'x', token = 5 WHERE ship_id = 1",
        "INSERT INTO cluster_checkpoints (zone, world, token, tick, payload, updated_at) "
        "VALUES ('infinity.0.0', 'infinity', 5, 1, '{}', 0)",
        "INSERT INTO cluster_ships (ship_id, world, zone, state, token, updated_at) "
        "VALUES (3, 'infinity', 'infinity.0.0', 'x', 5, 0)",
        # a zone nobody has claimed refuses every write
        "INSERT INTO cluster_ships (ship_id, world, zone, state, token, updated_at) "
        "VALUES (4, 'infinity', 'infinity.9.9', 'x', 99, 0)",
    ):
        with pytest.raises(StoreError, match="callister fenced"):  # the triggers' refusal
            old_db.execute(statement)
    new_db.execute("UPDATE cluster_ships SET token = 8 WHERE ship_id = 1")  # the owner's passes


def test_a_claim_waits_for_the_old_owners_write_in_flight(pg_connect: Connect) -> None:
    """PostgreSQL row locks order a takeover after a write already under way: the new owner's
    load sees it, and every later write of the old owner is refused."""
    old, new = workers(pg_connect)
    old.claim(ZONE, 5, "worker-a")
    add_ship(old, ZONE, 5, "worker-a", ship(1))
    in_write, release = threading.Event(), threading.Event()
    claimed_at: list[float] = []

    def slow_extra(cur: Cursor) -> None:
        in_write.set()
        release.wait(5)

    writer = threading.Thread(
        target=checkpoint,
        args=(old, ZONE, 5, "worker-a"),
        kwargs={"tick": 50, "ships": [ship(1, x=50.0)], "extra": slow_extra},
    )
    writer.start()
    assert in_write.wait(5)

    def take_over() -> None:
        new.claim(ZONE, 8, "worker-b")
        claimed_at.append(time.monotonic())

    claimer = threading.Thread(target=take_over)
    claimer.start()
    time.sleep(0.3)
    assert not claimed_at  # blocked on the fence row
    committed_at = time.monotonic()
    release.set()
    writer.join(5)
    claimer.join(5)
    assert claimed_at and claimed_at[0] >= committed_at
    assert [s.x for s in load_zone(new, ZONE).ships] == [50.0]
    with pytest.raises(Fenced):
        checkpoint(old, ZONE, 5, "worker-a", tick=60, ships=[ship(1, x=60.0)])


def test_fenced_transaction_rolls_back_everything(db: Connect) -> None:
    (cluster,) = workers(db, 1)
    cluster.claim(ZONE, 5, "a")

    def crash_midway(cur: Cursor) -> None:
        cur.execute(
            "INSERT INTO cluster_checkpoints (zone, world, token, tick, payload, updated_at) "
            "VALUES (?, 'infinity', 5, 7, '{}', 0)",
            (ZONE,),
        )
        raise RuntimeError("crash mid-transaction")

    with pytest.raises(RuntimeError):
        cluster.fenced(ZONE, 5, "a", crash_midway)
    assert load_zone(cluster, ZONE).tick == 0


async def test_lease_tokens_fence_a_worker_that_lost_its_lease(
    nats_server: NatsServer, pg_connect: Connect
) -> None:
    """End to end: tokens from real leases; the old holder stops renewing, the new one takes
    the zone after the TTL, claims it, and the old holder's late checkpoint is refused."""
    ncs = [await nats_server.connect(WORKER, timeout=5) for _ in range(2)]
    try:
        a = await LeaseTable.open(ncs[0].jetstream(), ttl=1.0)
        b = await LeaseTable.open(ncs[1].jetstream(), ttl=1.0)
        old_db, new_db = workers(pg_connect)
        lease_a = await a.acquire(ZONE, "worker-a")
        await asyncio.to_thread(old_db.claim, ZONE, lease_a.token, "worker-a")
        await asyncio.to_thread(add_ship, old_db, ZONE, lease_a.token, "worker-a", ship(1))
        while True:  # worker-a is stuck (GC pause, partition): its lease runs out
            try:
                lease_b = await b.acquire(ZONE, "worker-b")
                break
            except LeaseHeld:
                await asyncio.sleep(0.05)
        await asyncio.to_thread(new_db.claim, ZONE, lease_b.token, "worker-b")
        with pytest.raises(Fenced):
            await asyncio.to_thread(
                checkpoint, old_db, ZONE, lease_a.token, "worker-a", tick=9, ships=[ship(1, 9.0)]
            )
        state = await asyncio.to_thread(load_zone, new_db, ZONE)
        assert [s.x for s in state.ships] == [0.0]
    finally:
        for nc in ncs:
            await nc.close()


def test_the_migration_twins_match(pg_connect: Connect, tmp_path: Path) -> None:
    """Same tables and columns on both dialects. (Running the migration again over tables a
    worker created before it was an ordinary migration: tests/store/test_store_api.py.)"""
    pg = pg_connect()
    pg_columns = set(
        pg.all(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name LIKE 'cluster_%'"
        )
    )
    with database_connections(f"sqlite:///{tmp_path / 'twin.db'}") as lite_connect:
        lite = lite_connect()
        tables = [
            str(r[0])
            for r in lite.all(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'cluster_%'"
            )
        ]
        lite_columns = {(t, str(r[1])) for t in tables for r in lite.all(f"PRAGMA table_info({t})")}
    assert pg_columns == lite_columns
    assert {t for t, _ in pg_columns} == {
        "cluster_fences",
        "cluster_checkpoints",
        "cluster_ships",
        "cluster_outbox",
    }


def test_a_pipelined_transaction_reads_counts_and_fails_like_any_other(
    pg_connect: Connect,
) -> None:
    """Pipelined (statements sent without waiting for each result): `rowcount` and fetches
    still see their statement's result, and a statement that fails without being waited for
    fails the whole transaction at the COMMIT, writing nothing."""
    conn = pg_connect()
    conn.pipelined = True
    cluster = ClusterRepository(conn)
    cluster.claim(ZONE, 5, "a")
    add_ship(cluster, ZONE, 5, "a", ship(1))
    add_ship(cluster, ZONE, 5, "a", ship(2))

    def count(cur: Cursor) -> tuple[int, int, object]:
        cur.execute("UPDATE cluster_ships SET updated_at = 1 WHERE zone = ?", (ZONE,))
        updated = cur.rowcount
        cur.execute("UPDATE cluster_ships SET updated_at = 2 WHERE ship_id = 99")
        none = cur.rowcount
        row = cur.execute("SELECT count(*) FROM cluster_ships WHERE updated_at = 1").one()
        return updated, none, row

    assert conn.write(count) == (2, 0, (2,))

    def duplicate(cur: Cursor) -> None:
        cur.execute("UPDATE cluster_ships SET updated_at = 3 WHERE ship_id = 1")
        cur.execute(  # a second row for ship 2: its primary key refuses it
            "INSERT INTO cluster_ships (ship_id, world, zone, state, token, updated_at) "
            "VALUES (2, 'infinity', ?, 'x', 5, 0)",
            (ZONE,),
        )
        cur.execute("UPDATE cluster_ships SET updated_at = 4 WHERE ship_id = 1")

    with pytest.raises(StoreError):
        conn.write(duplicate)
    assert conn.scalar("SELECT updated_at FROM cluster_ships WHERE ship_id = 1") == 1
    assert conn.write(count)[0] == 2  # the connection goes on after the failure
