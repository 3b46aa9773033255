"""The store's repositories and its Database, run on every backend (see conftest.py: SQLite file
and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import psycopg
import pytest

from callister.store import (
    ROLES,
    Account,
    Character,
    Fenced,
    NameTaken,
    NotFound,
    Store,
    StoreError,
)
from callister.store.database import load_migrations

I64_MIN, I64_MAX = -(2**63), 2**63 - 1


def th(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def char(account_id: int, world: str = "main", **changes: Any) -> Character:
    base = Character(
        account_id=account_id,
        world=world,
        ship_id=42,
        hull="shuttle",
        system_x=3,
        system_y=-4,
        x=1.5,
        y=-2.25,
        vx=0.1,
        vy=-0.2,
        angle=math.pi,
        docked_at=None,
        home_x=0,
        home_y=0,
        home_station=0,
        extra={},
    )
    return dataclasses.replace(base, **changes)


def same(saved: Character, loaded: Character | None) -> bool:
    """Equal apart from updated_at, which the store stamps."""
    assert loaded is not None
    return dataclasses.replace(loaded, updated_at=saved.updated_at) == saved


# -- opening and migrations --------------------------------------------------------------------


def test_schema_version_and_migrations_idempotent(
    store: Store, reopen: Callable[[], Store], raw_sql: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    latest = len(load_migrations(store.db.dialect))
    assert store.db.schema_version() == latest >= 1
    store.meta.set("seed", "7")
    store.db.close()
    again = reopen()  # migrations must not run twice or touch data
    assert again.db.schema_version() == latest
    assert again.meta.get("seed") == "7"
    rows = raw_sql("SELECT version FROM schema_version ORDER BY version")
    assert [r[0] for r in rows] == list(range(1, latest + 1))


def test_upgrade_gives_meta_a_world_column(
    reopen: Callable[[], Store],
    raw_sql: Callable[[str], list[tuple[Any, ...]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Migration 7 on a database written before it: "world.<name>.<key>" rows become the
    world's own keys (found by equality, deleted with the world), the others stay the
    server's. Names with '_' and '-' (LIKE wildcards and look-alikes) are kept apart."""
    from callister.store import database

    real = database.load_migrations
    monkeypatch.setattr(database, "load_migrations", lambda dialect: real(dialect)[:5])
    reopen().db.close()  # the schema as version 5 left it
    monkeypatch.undo()
    raw_sql(
        "INSERT INTO meta (key, value) VALUES ('world.kw_1.tick', '1'), ('world.kw-1.tick', "
        "'2'), ('world.kwz1.tick', '3'), ('world.kw_1.a.b', '4'), ('seed', '7'), "
        "('world.', '8'), ('world.x', '9'), ('world..y', '10'), ('world.z.', '11')"
    )
    store = reopen()
    assert store.db.schema_version() == len(real(store.db.dialect))
    assert [store.meta.get("tick", world=w) for w in ("kw_1", "kw-1", "kwz1")] == ["1", "2", "3"]
    assert store.meta.get("a.b", world="kw_1") == "4"
    kept = {k: store.meta.get(k) for k in ("seed", "world.", "world.x", "world..y", "world.z.")}
    assert kept == {"seed": "7", "world.": "8", "world.x": "9", "world..y": "10", "world.z.": "11"}
    rows = raw_sql("SELECT world, key FROM meta WHERE world <> ''")
    assert sorted(tuple(r) for r in rows) == [
        ("kw-1", "tick"),
        ("kw_1", "a.b"),
        ("kw_1", "tick"),
        ("kwz1", "tick"),
    ]


@pytest.mark.parametrize("worker_made_tables", [True, False])
def test_upgrade_to_the_cluster_migration(
    reopen: Callable[[], Store],
    raw_sql: Callable[[str], list[tuple[Any, ...]]],
    raw_script: Callable[[str], None],
    monkeypatch: pytest.MonkeyPatch,
    worker_made_tables: bool,
) -> None:
    """Migration 8 (`cluster`) on a database at version 7. Before 8 was an ordinary migration,
    a cluster worker created these tables itself (`fencing.ensure_schema`, outside the runner,
    from the same SQL) and wrote zone state: such a database upgrades with its rows and its
    fence intact. A server that never ran a cluster gets the tables."""
    from callister.store import database

    real = database.load_migrations
    monkeypatch.setattr(database, "load_migrations", lambda dialect: real(dialect)[:7])
    old = reopen()  # the schema as version 7 left it
    dialect = old.db.dialect
    assert old.db.schema_version() == 7
    if worker_made_tables:
        (cluster_sql,) = [m.sql for m in real(dialect) if m.name == "cluster"]
        raw_script(cluster_sql)  # what the worker did at start
        old.cluster.claim("infinity.0.0", 7, "worker-a")
        old.cluster.add_ship("infinity.0.0", 7, "worker-a", 42, '{"ship": 42}')
    old.db.close()
    monkeypatch.undo()

    store = reopen()
    latest = len(real(dialect))
    assert store.db.schema_version() == latest >= 8
    versions = raw_sql("SELECT version, name FROM schema_version ORDER BY version")
    assert [tuple(r) for r in versions][7] == (8, "cluster")
    if worker_made_tables:
        assert store.cluster.fence_token("infinity.0.0") == 7
        assert store.cluster.ship_location(42) == ("infinity.0.0", 0, 0)
        assert store.cluster.load_zone("infinity.0.0").ships == ['{"ship": 42}']
    else:
        assert store.cluster.fence_token("infinity.0.0") is None
        store.cluster.claim("infinity.0.0", 7, "worker-a")
    with pytest.raises(Fenced):  # the triggers hold after the upgrade
        store.cluster.add_ship("infinity.0.0", 6, "worker-b", 43, "{}")
    with pytest.raises((sqlite3.Error, psycopg.Error), match="callister fenced"):
        raw_sql(
            "INSERT INTO cluster_ships (ship_id, world, zone, state, token, updated_at) "
            "VALUES (44, 'infinity', 'infinity.0.0', 'x', 6, 0)"
        )


def test_newer_schema_is_refused(
    store: Store, reopen: Callable[[], Store], raw_sql: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    store.db.close()
    raw_sql("INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'future', 0)")
    with pytest.raises(StoreError, match=r"schema version 999 is newer"):
        reopen()


def test_concurrent_first_open_migrates_once(reopen: Callable[[], Store]) -> None:
    barrier = threading.Barrier(4)

    def open_one(_: int) -> int:
        barrier.wait()
        return reopen().db.schema_version()

    with ThreadPoolExecutor(4) as pool:
        versions = list(pool.map(open_one, range(4)))
    assert len(set(versions)) == 1 and versions[0] >= 1


def test_closed_store_refuses_calls(store: Store) -> None:
    store.db.close()
    store.db.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.meta.get("x")


def test_backend_name(store: Store, store_url: str) -> None:
    assert store.db.dialect == ("sqlite" if store_url.startswith("sqlite") else "postgresql")


# -- accounts ----------------------------------------------------------------------------------


def test_account_crud(store: Store) -> None:
    before = time.time()
    bob = store.accounts.create("Bob", "hash-1")
    assert isinstance(bob, Account)
    assert (bob.name, bob.password_hash, bob.role, bob.banned) == ("Bob", "hash-1", "player", False)
    assert before - 1 <= bob.created_at <= time.time() + 1
    assert store.accounts.get(bob.id) == bob
    assert store.accounts.by_name("bob") == bob
    assert store.accounts.by_name("BOB") == bob
    assert store.accounts.get(bob.id + 1000) is None
    assert store.accounts.by_name("alice") is None

    store.accounts.set_password_hash(bob.id, "hash-2")
    assert store.accounts.get(bob.id).password_hash == "hash-2"  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        store.accounts.set_password_hash(bob.id + 1000, "x")

    store.accounts.delete("BOB")
    assert store.accounts.get(bob.id) is None
    with pytest.raises(NotFound):
        store.accounts.delete("bob")


def test_names_are_unique_ignoring_case(store: Store) -> None:
    store.accounts.create("Alice", "h")
    for clash in ("alice", "ALICE", "aLiCe", "Ａｌｉｃｅ"):  # the last is fullwidth (NFKC)
        with pytest.raises(NameTaken, match="taken"):
            store.accounts.create(clash, "h")
    store.accounts.create("Straße", "h")
    with pytest.raises(NameTaken):
        store.accounts.create("STRASSE", "h")  # Unicode case folding, not just ASCII
    assert [a.name for a in store.accounts.all()] == ["Alice", "Straße"]


def test_account_ids_never_reused(store: Store) -> None:
    first = store.accounts.create("one", "h")
    store.accounts.delete("one")
    second = store.accounts.create("one", "h")
    assert second.id > first.id


def test_roles_and_bans(store: Store) -> None:
    admin = store.accounts.create("root", "h", role="admin")
    assert admin.role == "admin"
    store.accounts.create("mod", "h")
    for role in ROLES:
        assert store.accounts.set_role("MOD", role).role == role
    assert store.accounts.by_name("mod").role == ROLES[-1]  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="role must be one of"):
        store.accounts.set_role("mod", "god")
    with pytest.raises(ValueError, match="role must be one of"):
        store.accounts.create("x", "h", role="superuser")
    with pytest.raises(NotFound, match="nobody"):
        store.accounts.set_role("nobody", "admin")
    assert store.accounts.set_banned("mod", True).banned is True
    assert store.accounts.by_name("mod").banned is True  # type: ignore[union-attr]
    assert store.accounts.set_banned("mod", False).banned is False
    with pytest.raises(NotFound):
        store.accounts.set_banned("nobody", True)


def test_list_accounts_pages_in_id_order(store: Store) -> None:
    ids = [store.accounts.create(f"user{i}", "h").id for i in range(7)]
    assert [a.id for a in store.accounts.all()] == ids
    assert [a.id for a in store.accounts.all(limit=3)] == ids[:3]
    assert [a.id for a in store.accounts.all(limit=3, offset=5)] == ids[5:]
    assert store.accounts.all(limit=0) == []
    with pytest.raises(ValueError, match="offset"):
        store.accounts.all(offset=-1)


def test_delete_account_takes_everything_with_it(store: Store) -> None:
    doomed = store.accounts.create("doomed", "h")
    kept = store.accounts.create("kept", "h")
    for acc in (doomed, kept):
        store.accounts.create_session(acc.id, th(f"t{acc.id}"), time.time() + 100)
        store.characters.save(char(acc.id))
        store.characters.add_discovery(acc.id, "main", 1, 1, 1.0)
    store.accounts.delete("doomed")
    assert store.accounts.get_session(th(f"t{doomed.id}"), time.time()) is None
    assert store.characters.load(doomed.id, "main") is None
    assert store.characters.list_discoveries(doomed.id, "main") == []
    # the other account is untouched
    assert store.accounts.get_session(th(f"t{kept.id}"), time.time()) == kept.id
    assert store.characters.load(kept.id, "main") is not None
    assert store.characters.list_discoveries(kept.id, "main") == [(1, 1)]


# -- sessions ----------------------------------------------------------------------------------


def test_sessions_expire(store: Store) -> None:
    acc = store.accounts.create("s", "h")
    store.accounts.create_session(acc.id, th("a"), expires_at=100.0)
    store.accounts.create_session(acc.id, th("b"), expires_at=200.0)
    store.accounts.create_session(acc.id, th("c"), expires_at=300.0)
    assert store.accounts.get_session(th("a"), now=99.9) == acc.id
    assert store.accounts.get_session(th("a"), now=100.0) is None  # expires_at is exclusive
    assert store.accounts.get_session(th("unknown"), now=0.0) is None
    store.accounts.delete_session(th("c"))
    store.accounts.delete_session(th("c"))  # absent: no error
    assert store.accounts.get_session(th("c"), now=0.0) is None
    assert store.accounts.purge_sessions(now=150.0) == 1
    assert store.accounts.get_session(th("a"), now=0.0) is None  # purged, even for an earlier 'now'
    assert store.accounts.get_session(th("b"), now=150.0) == acc.id
    assert store.accounts.purge_sessions(now=150.0) == 0


def test_session_errors(store: Store) -> None:
    acc = store.accounts.create("s", "h")
    with pytest.raises(NotFound):
        store.accounts.create_session(acc.id + 99, th("x"), 1e12)
    store.accounts.create_session(acc.id, th("x"), 1e12)
    with pytest.raises(StoreError, match="already exists"):
        store.accounts.create_session(acc.id, th("x"), 1e12)
    for bad in ("raw-token", th("x").upper(), th("x")[:-1], ""):
        with pytest.raises(ValueError, match="SHA-256"):
            store.accounts.create_session(acc.id, bad, 1e12)
    with pytest.raises(ValueError, match="not finite"):
        store.accounts.create_session(acc.id, th("y"), math.inf)


# -- entity ids --------------------------------------------------------------------------------


def test_reserve_ids_monotonic_and_persistent(store: Store, reopen: Callable[[], Store]) -> None:
    assert store.characters.reserve_ids(1) == range(1, 2)
    assert store.characters.reserve_ids(10) == range(2, 12)
    assert store.characters.reserve_ids(1_000_000) == range(12, 1_000_012)
    store.db.close()
    again = reopen()
    assert again.characters.reserve_ids(3) == range(
        1_000_012, 1_000_015
    )  # never reused after restart


@pytest.mark.parametrize("bad", [0, -1, 1_000_001, 1.5, True, "3", None])
def test_reserve_ids_rejects_bad_counts(store: Store, bad: Any) -> None:
    with pytest.raises(ValueError, match="count"):
        store.characters.reserve_ids(bad)
    assert store.characters.reserve_ids(1) == range(1, 2)  # nothing was consumed


def test_reserve_ids_exhaustion_is_an_error(
    store: Store, raw_sql: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    # ids stop at 2**53 - 1: beyond it a JSON number (a JavaScript double) is no longer exact
    raw_sql(f"UPDATE id_counters SET next_id = {2**53 - 5} WHERE name = 'entity'")
    assert store.characters.reserve_ids(5) == range(2**53 - 5, 2**53)
    with pytest.raises(StoreError, match="exhausted"):
        store.characters.reserve_ids(1)


def test_reserve_ids_concurrent_callers(store: Store, reopen: Callable[[], Store]) -> None:
    # Four threads on one Store and four on a second Store (a second connection, as a second
    # server would have): every id handed out exactly once, no gaps.
    other = reopen()
    barrier = threading.Barrier(8)

    def worker(i: int) -> list[range]:
        target = store if i % 2 else other
        barrier.wait()
        return [target.characters.reserve_ids(1 + (i + n) % 7) for n in range(40)]

    with ThreadPoolExecutor(8) as pool:
        ranges = [r for rs in pool.map(worker, range(8)) for r in rs]
    ids = sorted(i for r in ranges for i in r)
    assert ids == list(range(1, len(ids) + 1))


# -- characters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sx", "sy"), [(I64_MIN, I64_MAX), (I64_MAX, I64_MIN), (0, 0), (-1, 123456789012)]
)
def test_character_round_trip(store: Store, sx: int, sy: int) -> None:
    acc = store.accounts.create("pilot", "h")
    c = char(
        acc.id,
        system_x=sx,
        system_y=sy,
        x=0.1 + 0.2,  # not representable in decimal: must come back bit-identical
        y=-1e308,
        vx=5e-324,
        vy=1 / 3,
        angle=-math.pi,
        docked_at=7,
        home_x=sx,
        home_y=sy,
        home_station=2,
        ship_id=I64_MAX,
        extra={
            "fuel": 0.75,
            "cargo": [{"item": "ore", "qty": 12}, {"item": "wine", "qty": 2**62}],
            "name": "Ünïcødé ✈ \u0000 \ud800",  # NUL and a lone surrogate inside JSON survive
            "flags": [True, False, None],
            "nested": {"a": {"b": {"c": []}}},
            "neg_zero": -0.0,
        },
    )
    before = time.time()
    store.characters.save(c)
    loaded = store.characters.load(acc.id, "main")
    assert same(c, loaded)
    assert loaded is not None
    assert loaded.x.hex() == (0.1 + 0.2).hex()
    assert math.copysign(1, loaded.extra["neg_zero"]) == -1
    assert before - 1 <= loaded.updated_at <= time.time() + 1
    assert store.characters.in_system("main", sx, sy) == [loaded]


def test_character_upsert_and_lookup(store: Store) -> None:
    a = store.accounts.create("a", "h")
    b = store.accounts.create("b", "h")
    store.characters.save(char(a.id, x=1.0))
    store.characters.save(char(a.id, x=2.0, extra={"fuel": 3}))  # replaces, no duplicate
    store.characters.save(char(a.id, world="other"))
    store.characters.save(char(b.id, system_x=99))
    assert store.characters.load(a.id, "main").x == 2.0  # type: ignore[union-attr]
    assert store.characters.load(a.id, "main").extra == {"fuel": 3}  # type: ignore[union-attr]
    assert store.characters.load(a.id, "nowhere") is None
    assert store.characters.load(b.id + 50, "main") is None
    assert [c.account_id for c in store.characters.in_system("main", 3, -4)] == [a.id]
    assert [c.account_id for c in store.characters.in_system("other", 3, -4)] == [a.id]
    assert [c.account_id for c in store.characters.in_system("main", 99, -4)] == [b.id]
    assert store.characters.in_system("main", 0, 0) == []


def test_negative_zero_is_normalised(store: Store) -> None:
    acc = store.accounts.create("z", "h")
    store.characters.save(char(acc.id, x=-0.0))
    loaded = store.characters.load(acc.id, "main")
    assert loaded is not None and math.copysign(1, loaded.x) == 1  # same on both backends


def test_numpy_scalars_are_accepted(store: Store) -> None:
    acc = store.accounts.create("np", "h")
    c = char(acc.id, system_x=np.int64(-5), x=np.float32(0.5), vx=np.float64(0.25))
    store.characters.save(c)
    loaded = store.characters.load(acc.id, "main")
    assert loaded is not None and (loaded.system_x, loaded.x, loaded.vx) == (-5, 0.5, 0.25)
    assert type(loaded.system_x) is int and type(loaded.x) is float


def test_save_characters_is_one_transaction(store: Store) -> None:
    accs = [store.accounts.create(f"p{i}", "h") for i in range(5)]
    batch = [char(a.id, x=float(i)) for i, a in enumerate(accs)]
    store.characters.save_many(batch)
    for c in batch:
        assert same(c, store.characters.load(c.account_id, "main"))
    store.characters.save_many([])  # no-op

    # a bad value anywhere: refused before anything is written
    moved = [dataclasses.replace(c, x=100.0) for c in batch]
    poisoned = [*moved[:3], dataclasses.replace(moved[3], y=math.nan), moved[4]]
    with pytest.raises(ValueError, match="y=nan is not finite"):
        store.characters.save_many(poisoned)
    # an unknown account in the middle: the database refuses it and the earlier rows roll back
    orphan = char(accs[-1].id + 1000)
    with pytest.raises(NotFound):
        store.characters.save_many([*moved[:2], orphan, *moved[2:]])
    assert [store.characters.load(a.id, "main").x for a in accs] == [0, 1, 2, 3, 4]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"x": math.nan}, "x=nan is not finite"),
        ({"angle": math.inf}, "angle=inf is not finite"),
        ({"system_x": 2**63}, "system_x=9223372036854775808 is outside"),
        ({"home_y": -(2**63) - 1}, "home_y=.* is outside"),
        ({"system_y": 1.0}, "system_y must be an int"),
        ({"docked_at": -1}, "docked_at=-1 is outside"),
        ({"world": ""}, "world must not be empty"),
        ({"hull": "a\x00b"}, "hull must not contain NUL"),
        ({"extra": {"fuel": math.nan}}, r"extra\['fuel'\]=nan: JSON cannot hold NaN"),
        ({"extra": {"a": [1, math.inf]}}, r"extra\['a'\]\[1\]=inf"),
        ({"extra": {1: "x"}}, "key 1 is not a str"),
        ({"extra": {"t": (1, 2)}}, "tuple is not a JSON type"),
        ({"extra": {"s": {1, 2}}}, "set is not a JSON type"),
        ({"extra": [1, 2]}, "extra must be a dict"),
    ],
)
def test_character_validation(store: Store, changes: dict[str, Any], message: str) -> None:
    acc = store.accounts.create("v", "h")
    with pytest.raises(ValueError, match=message):
        store.characters.save(char(acc.id, **changes))
    assert store.characters.load(acc.id, "main") is None


def test_character_needs_an_account(store: Store) -> None:
    with pytest.raises(NotFound):
        store.characters.save(char(12345))


# -- deltas ------------------------------------------------------------------------------------


def test_deltas_crud(store: Store) -> None:
    assert store.characters.get_deltas("main", 1, 2) == {}
    store.characters.put_delta("main", 1, 2, "asteroids.7", {"ore": 0})
    store.characters.put_delta("main", 1, 2, "wreck.1", [1.5, "hull", None])
    store.characters.put_delta("main", 1, 2, "asteroids.7", {"ore": 5})  # overwrite
    store.characters.put_delta("other", 1, 2, "asteroids.7", "elsewhere")
    store.characters.put_delta("main", I64_MIN, I64_MAX, "edge", 100)
    assert store.characters.get_deltas("main", 1, 2) == {
        "asteroids.7": {"ore": 5},
        "wreck.1": [1.5, "hull", None],
    }
    assert store.characters.get_deltas("other", 1, 2) == {"asteroids.7": "elsewhere"}
    assert store.characters.get_deltas("main", I64_MIN, I64_MAX) == {"edge": 100}
    store.characters.delete_delta("main", 1, 2, "wreck.1")
    store.characters.delete_delta("main", 1, 2, "wreck.1")  # absent: no error
    assert store.characters.get_deltas("main", 1, 2) == {"asteroids.7": {"ore": 5}}
    values: list[Any] = [None, True, 0, -7, 2.5, "", "100%", [], {}]
    for value in values:
        store.characters.put_delta("main", 5, 5, "v", value)
        assert store.characters.get_deltas("main", 5, 5) == {"v": value}


def test_put_deltas_is_one_transaction(store: Store) -> None:
    store.characters.put_deltas(
        "main", [(0, 0, "a", 1), (0, 0, "b", 2), (1, 0, "a", 3), (0, 0, "a", 4)]
    )
    assert store.characters.get_deltas("main", 0, 0) == {"a": 4, "b": 2}  # the later duplicate wins
    assert store.characters.get_deltas("main", 1, 0) == {"a": 3}
    with pytest.raises(ValueError, match="JSON cannot hold NaN"):
        store.characters.put_deltas("main", [(0, 0, "a", 9), (0, 0, "c", math.nan)])
    with pytest.raises(ValueError, match=r"items\[1\] must be a tuple"):
        store.characters.put_deltas("main", [(0, 0, "a", 9), (0, 0, "c")])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"items\[0\] x"):
        store.characters.put_deltas("main", [(2**63, 0, "a", 9)])
    assert store.characters.get_deltas("main", 0, 0) == {"a": 4, "b": 2}


# -- discoveries -------------------------------------------------------------------------------


def test_discoveries(store: Store) -> None:
    acc = store.accounts.create("explorer", "h")
    other = store.accounts.create("other", "h")
    assert store.characters.add_discovery(acc.id, "main", 5, 5, at=10.0) is True
    assert store.characters.add_discovery(acc.id, "main", 5, 5, at=20.0) is False  # idempotent
    assert store.characters.add_discovery(acc.id, "main", I64_MIN, I64_MAX, at=5.0) is True
    assert store.characters.add_discovery(acc.id, "main", -1, 0, at=30.0) is True
    assert store.characters.add_discovery(acc.id, "beta", 5, 5, at=1.0) is True
    assert store.characters.add_discovery(other.id, "main", 9, 9, at=1.0) is True
    # oldest first: the repeat did not move (5, 5) to t=20
    assert store.characters.list_discoveries(acc.id, "main") == [
        (I64_MIN, I64_MAX),
        (5, 5),
        (-1, 0),
    ]
    assert store.characters.list_discoveries(acc.id, "main", limit=2) == [
        (I64_MIN, I64_MAX),
        (5, 5),
    ]
    assert store.characters.list_discoveries(acc.id, "beta") == [(5, 5)]
    assert store.characters.list_discoveries(other.id, "main") == [(9, 9)]
    with pytest.raises(NotFound):
        store.characters.add_discovery(other.id + 100, "main", 0, 0, at=1.0)
    with pytest.raises(ValueError, match="limit"):
        store.characters.list_discoveries(acc.id, "main", limit=-1)


# -- meta --------------------------------------------------------------------------------------


def test_meta(store: Store) -> None:
    assert store.meta.get("seed") is None
    store.meta.set("seed", "12345")
    store.meta.set("motd", "Wëlcome, pilots ✈")
    store.meta.set("seed", "67890")
    assert store.meta.get("seed") == "67890"
    assert store.meta.get("motd") == "Wëlcome, pilots ✈"
    store.meta.set("empty", "")
    assert store.meta.get("empty") == ""
    with pytest.raises(ValueError, match="str"):
        store.meta.set("n", 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="key must not be empty"):
        store.meta.get("")
    store.meta.set("tick", "5", world="main")  # one world's key: apart from the server's
    assert store.meta.get("tick", world="main") == "5" and store.meta.get("tick") is None


# -- bad inputs in general ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.accounts.create("", "h"), "name must not be empty"),
        (lambda s: s.accounts.create("x" * 2000, "h"), "name is 2000 characters"),
        (lambda s: s.accounts.create(5, "h"), "name must be a str"),
        (lambda s: s.accounts.get("1"), "account_id must be an int"),
        (lambda s: s.accounts.get(2**64), "outside"),
        (lambda s: s.characters.in_system("main", 2**63, 0), "x=.* is outside"),
        (lambda s: s.characters.get_deltas("main", 0, None), "y must be an int"),
        (lambda s: s.characters.add_discovery(1, "main", 0, 0, math.nan), "at=nan is not finite"),
        (lambda s: s.accounts.get_session(th("x"), math.nan), "now=nan is not finite"),
        (lambda s: s.characters.save("not a character"), "expected a Character"),
        (lambda s: s.accounts.set_banned("x", 1), "banned must be a bool"),
        (lambda s: s.characters.load(1, "w\ud800"), "world is not valid Unicode"),
        (lambda s: s.meta.set("k", "\ud800"), "meta value is not valid Unicode"),
        (lambda s: s.characters.put_delta("main", 0, 0, "a\x00b", 1), "key must not contain NUL"),
    ],
)
def test_bad_arguments_raise_value_error(
    store: Store, call: Callable[[Store], Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        call(store)


# -- durability and concurrency ----------------------------------------------------------------


def test_everything_survives_reopen(store: Store, reopen: Callable[[], Store]) -> None:
    acc = store.accounts.create("Keeper", "h", role="moderator")
    store.accounts.create_session(acc.id, th("tok"), 1e12)
    ids = store.characters.reserve_ids(100)
    c = char(acc.id, extra={"cargo": ["ore"]})
    store.characters.save(c)
    store.characters.put_delta("main", 3, -4, "k", {"v": 1})
    store.characters.add_discovery(acc.id, "main", 3, -4, at=1.0)
    store.meta.set("seed", "7")
    store.db.close()

    s = reopen()
    assert s.accounts.by_name("keeper") == acc
    assert s.accounts.get_session(th("tok"), time.time()) == acc.id
    assert s.characters.reserve_ids(1).start == ids.stop
    assert same(c, s.characters.load(acc.id, "main"))
    assert s.characters.get_deltas("main", 3, -4) == {"k": {"v": 1}}
    assert s.characters.list_discoveries(acc.id, "main") == [(3, -4)]
    assert s.meta.get("seed") == "7"


def test_many_threads_share_one_store(store: Store) -> None:
    accs = [store.accounts.create(f"t{i}", "h") for i in range(6)]

    def work(acc: Account) -> None:
        for n in range(25):
            store.characters.save(char(acc.id, x=float(n)))
            store.characters.put_delta("main", acc.id, n, "k", n)
            store.characters.add_discovery(acc.id, "main", n, 0, at=float(n))
            assert store.characters.load(acc.id, "main").x == float(n)  # type: ignore[union-attr]

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(work, accs))
    for acc in accs:
        assert store.characters.load(acc.id, "main").x == 24.0  # type: ignore[union-attr]
        assert len(store.characters.list_discoveries(acc.id, "main")) == 25
        assert store.characters.get_deltas("main", acc.id, 24) == {"k": 24}
