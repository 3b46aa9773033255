"""The economy tables of the store (migration 0002, `store.ledger`), on every backend.

`store.ledger.commit` is the one primitive the economy uses, so it gets the hardest look:
atomicity (a refusal writes nothing, not even the parts before the failing step), idempotency
(a repeated key applies nothing, also across reopen and concurrent callers), and its refusals.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from tests.store.test_store_api import char as any_character

from callister.store import (
    Character,
    Evidence,
    InsufficientFunds,
    InsufficientItems,
    ItemMove,
    NotFound,
    Posting,
    Store,
    StoreError,
    Wreck,
)

W = "main"
RawSql = Callable[[str], list[tuple[Any, ...]]]


def char(account_id: int, world: str = W, **changes: Any) -> Character:
    """test_store_api's character, at rest and docked at its home station, with fuel."""
    docked: dict[str, Any] = {
        "vx": 0.0,
        "vy": 0.0,
        "angle": 0.0,
        "docked_at": 0,
        "home_x": 3,
        "home_y": -4,
        "extra": {"fuel": 50.0},
    }
    return any_character(account_id, world, **(docked | changes))


def wreck(wreck_id: int = 7, world: str = W, **changes: Any) -> Wreck:
    base = Wreck(world, wreck_id, 3, -4, 100.5, -200.25, 5000.0, 1)
    return dataclasses.replace(base, **changes)


def grant(store: Store, account: str, amount: int, key: str | None = None) -> None:
    store.ledger.commit(
        W,
        key or f"grant:{account}:{amount}",
        "open",
        postings=[Posting("mint", -amount), Posting(account, amount)],
    )


def snapshot(store: Store, world: str = W) -> tuple[Any, ...]:
    return (
        store.ledger.balances(world),
        store.ledger.all_holdings(world),
        store.ledger.totals(world).transactions,
        [w.wreck_id for w in store.ledger.wrecks_in_system(world, 3, -4)],
    )


# -- schema ------------------------------------------------------------------------------------

ECONOMY_TABLES = (
    "ledger_accounts",
    "ledger_txns",
    "ledger_entries",
    "holdings",
    "item_moves",
    "wrecks",
    "evidence",
)


def test_every_economy_table_has_a_world_column(
    store: Store, store_url: str, raw_sql: RawSql
) -> None:
    assert store.db.schema_version() >= 2
    for table in ECONOMY_TABLES:
        if store_url.startswith("sqlite"):
            columns = {row[1] for row in raw_sql(f"PRAGMA table_info({table})")}
        else:
            columns = {
                row[0]
                for row in raw_sql(
                    "SELECT column_name FROM information_schema.columns "
                    f"WHERE table_name = '{table}' AND table_schema = current_schema()"
                )
            }
        assert "world" in columns, table


def test_database_constraints_back_the_store_checks(store: Store, raw_sql: RawSql) -> None:
    # The store checks first (clear errors); the schema refuses what slips past it anyway.
    grant(store, "player:1", 10)
    with pytest.raises(Exception, match=r"(?i)check|constraint"):
        raw_sql("UPDATE ledger_accounts SET balance = -1 WHERE account = 'player:1'")
    raw_sql("UPDATE ledger_accounts SET balance = -1 WHERE account = 'mint' AND balance < 0")
    with pytest.raises(Exception, match=r"(?i)check|constraint"):
        raw_sql(f"INSERT INTO holdings (world, holder, item, qty) VALUES ('{W}', 'h:1', 'x', 0)")


# -- commit ---------------------------------------------------------------------------------------


def test_commit_applies_postings_moves_and_reports(store: Store) -> None:
    txn = store.ledger.commit(
        W,
        "k1",
        "open",
        account="player:1",
        postings=[Posting("mint", -100), Posting("player:1", 100)],
        moves=[ItemMove("iron", 5, None, "ship:1"), ItemMove("iron", 2, "ship:1", "ship:2")],
        result={"note": "hello", "n": [1, 2.5, None]},
        report_accounts=["player:1", "mint", "nobody:9"],
        report_holders=["ship:1", "ship:2", "ship:3"],
        at=1234.5,
    )
    assert (txn.world, txn.idem, txn.kind, txn.account, txn.replay) == (
        W,
        "k1",
        "open",
        "player:1",
        False,
    )
    assert txn.created_at == 1234.5
    assert txn.result == {"note": "hello", "n": [1, 2.5, None]}
    assert txn.balances == {"player:1": 100, "mint": -100, "nobody:9": 0}
    assert txn.holdings == {"ship:1": {"iron": 3}, "ship:2": {"iron": 2}, "ship:3": {}}
    assert store.ledger.balance(W, "player:1") == 100
    assert store.ledger.balance(W, "mint") == -100
    assert store.ledger.balance(W, "never") == 0
    assert store.ledger.holdings(W, "ship:1") == {"iron": 3}
    assert store.ledger.all_holdings(W) == {"ship:1": {"iron": 3}, "ship:2": {"iron": 2}}
    assert store.ledger.balances(W) == {"mint": -100, "player:1": 100}
    assert store.ledger.get_txn(W, "k1") == dataclasses.replace(txn, replay=True)
    assert store.ledger.get_txn(W, "k2") is None
    assert store.ledger.get_txn("other", "k1") is None  # keys are per world


def test_repeated_key_is_a_replay_that_applies_nothing(
    store: Store, reopen: Callable[[], Store]
) -> None:
    first = store.ledger.commit(
        W,
        "once",
        "trade",
        postings=[Posting("mint", -7), Posting("player:1", 7)],
        moves=[ItemMove("ore", 1, None, "ship:1")],
        result={"v": 1},
        report_accounts=["player:1"],
        report_holders=["ship:1"],
    )
    before = snapshot(store)
    # Different arguments under the same key: still the first result, nothing applied.
    again = store.ledger.commit(
        W,
        "once",
        "other",
        postings=[Posting("mint", -1000), Posting("player:1", 1000)],
        moves=[ItemMove("ore", 50, None, "ship:1")],
        character=None,
        save_wreck=wreck(),
        result={"v": 2},
    )
    assert again == dataclasses.replace(first, replay=True)
    assert snapshot(store) == before
    store.db.close()
    later = reopen()
    assert later.ledger.commit(W, "once", "trade") == dataclasses.replace(first, replay=True)
    assert snapshot(later) == before
    # the same key in another world is a different transaction
    assert later.ledger.commit("beta", "once", "trade").replay is False


def test_system_accounts_may_go_negative_owned_ones_may_not(store: Store) -> None:
    store.ledger.commit(W, "a", "x", postings=[Posting("market", -50), Posting("services", 50)])
    assert store.ledger.balance(W, "market") == -50
    for owned in ("player:1", "bounty:1"):
        with pytest.raises(InsufficientFunds, match=rf"'{owned}' holds 0; it cannot pay 1"):
            store.ledger.commit(
                W, f"b{owned}", "x", postings=[Posting(owned, -1), Posting("mint", 1)]
            )
    grant(store, "player:1", 30)
    with pytest.raises(InsufficientFunds) as info:
        store.ledger.commit(W, "c", "x", postings=[Posting("player:1", -31), Posting("mint", 31)])
    assert (info.value.account, info.value.balance, info.value.amount) == ("player:1", 30, -31)
    # exactly to zero is fine; the net per account counts, not each posting
    store.ledger.commit(
        W,
        "d",
        "x",
        postings=[
            Posting("player:1", -40),
            Posting("player:1", 10),
            Posting("mint", 30),
        ],
    )
    assert store.ledger.balance(W, "player:1") == 0
    assert store.ledger.totals(W).balanced


def test_a_refusal_writes_nothing_at_all(store: Store) -> None:
    acc = store.accounts.create("pilot", "h")
    grant(store, "player:1", 10)
    store.ledger.commit(W, "stock", "x", moves=[ItemMove("iron", 4, None, "ship:1")])
    before = snapshot(store)
    entries = store.ledger.totals(W)
    # Everything before the failing step (postings, moves, character, wreck) must roll back.
    with pytest.raises(InsufficientItems) as info:
        store.ledger.commit(
            W,
            "big",
            "x",
            postings=[Posting("player:1", -10), Posting("market", 10)],
            moves=[
                ItemMove("iron", 4, "ship:1", "wreck:7"),
                ItemMove("gold", 1, "ship:1", "wreck:7"),
            ],
            character=char(acc.id),
            save_wreck=wreck(),
        )
    assert (info.value.holder, info.value.item, info.value.have, info.value.need) == (
        "ship:1",
        "gold",
        0,
        1,
    )
    with pytest.raises(InsufficientFunds):
        store.ledger.commit(
            W,
            "big",
            "x",
            postings=[Posting("player:1", -11), Posting("market", 11)],
            moves=[ItemMove("iron", 4, "ship:1", "wreck:7")],
            character=char(acc.id),
            save_wreck=wreck(),
        )
    assert snapshot(store) == before
    assert store.ledger.totals(W) == entries
    assert store.characters.load(acc.id, W) is None
    assert store.ledger.get_wreck(W, 7) is None
    assert store.ledger.get_txn(W, "big") is None
    # the refused key was never used, so it still works for a valid transaction
    assert store.ledger.commit(W, "big", "x", moves=[ItemMove("iron", 4, "ship:1", "wreck:7")])
    assert store.ledger.holdings(W, "wreck:7") == {"iron": 4}


def test_moves_apply_in_order_and_empty_holdings_vanish(store: Store, raw_sql: RawSql) -> None:
    txn = store.ledger.commit(
        W,
        "seq",
        "x",
        moves=[
            ItemMove("ice", 3, None, "a:1"),  # created
            ItemMove("ice", 3, "a:1", "b:1"),  # all of it onward: a:1's row must go
            ItemMove("ice", 1, "b:1", None),  # destroyed
        ],
        report_holders=["a:1", "b:1"],
    )
    assert txn.holdings == {"a:1": {}, "b:1": {"ice": 2}}
    assert raw_sql("SELECT COUNT(*) FROM holdings WHERE qty <= 0")[0][0] == 0
    assert raw_sql("SELECT COUNT(*) FROM holdings WHERE holder = 'a:1'")[0][0] == 0
    totals = store.ledger.item_totals(W)["ice"]
    assert (totals.held, totals.created, totals.destroyed, totals.conserved) == (2, 3, 1, True)
    with pytest.raises(InsufficientItems, match="'b:1' holds 2 'ice'; the move needs 3"):
        store.ledger.commit(W, "too-many", "x", moves=[ItemMove("ice", 3, "b:1", None)])


def test_commit_saves_character_and_wrecks_in_the_same_transaction(store: Store) -> None:
    acc = store.accounts.create("pilot", "h")
    c = char(acc.id, ship_id=99, extra={"fuel": 12.5, "weapons": ["laser"]})
    store.ledger.commit(W, "w1", "death", character=c, save_wreck=wreck(7), at=500.0)
    loaded = store.characters.load(acc.id, W)
    assert loaded == dataclasses.replace(c, updated_at=500.0)
    saved = store.ledger.get_wreck(W, 7)
    assert saved == dataclasses.replace(wreck(7), created_at=500.0)
    store.ledger.commit(W, "w2", "loot", delete_wreck=7)
    assert store.ledger.get_wreck(W, 7) is None
    store.ledger.commit(W, "w3", "loot", delete_wreck=7)  # absent: no error
    with pytest.raises(NotFound, match="no account"):
        store.ledger.commit(W, "w4", "x", character=char(acc.id + 100))
    assert store.ledger.get_txn(W, "w4") is None


def test_concurrent_callers_with_one_key_apply_it_once(
    store: Store, reopen: Callable[[], Store]
) -> None:
    other = reopen()
    barrier = threading.Barrier(8)

    def attempt(i: int) -> bool:
        target = store if i % 2 else other
        barrier.wait()
        txn = target.ledger.commit(
            W,
            "the-one",
            "x",
            postings=[Posting("mint", -5), Posting("player:1", 5)],
            moves=[ItemMove("ore", 1, None, "ship:1")],
        )
        return txn.replay

    with ThreadPoolExecutor(8) as pool:
        replays = list(pool.map(attempt, range(8)))
    assert replays.count(False) == 1
    assert store.ledger.balance(W, "player:1") == 5
    assert store.ledger.holdings(W, "ship:1") == {"ore": 1}


def test_concurrent_spenders_never_overdraw(store: Store, reopen: Callable[[], Store]) -> None:
    grant(store, "player:1", 100)
    other = reopen()
    barrier = threading.Barrier(6)

    def spend(i: int) -> int:
        target = store if i % 2 else other
        barrier.wait()
        won = 0
        for n in range(10):
            try:
                target.ledger.commit(
                    W,
                    f"spend:{i}:{n}",
                    "x",
                    postings=[Posting("player:1", -3), Posting("services", 3)],
                )
                won += 1
            except InsufficientFunds:
                pass
        return won

    with ThreadPoolExecutor(6) as pool:
        spent = sum(pool.map(spend, range(6)))
    assert spent == 33  # 100 // 3: every credit accounted for, never below zero
    assert store.ledger.balance(W, "player:1") == 1
    assert store.ledger.totals(W).balanced


def test_latest_txn(store: Store) -> None:
    assert store.ledger.latest_txn(W, "station:1:2:0", "drift") is None
    store.ledger.commit(W, "d0", "drift", account="station:1:2:0", result={"at": 1.0})
    store.ledger.commit(W, "t0", "trade", account="station:1:2:0")
    store.ledger.commit(W, "d1", "drift", account="station:1:2:0", result={"at": 2.0})
    store.ledger.commit(W, "d2", "drift", account="station:9:9:0", result={"at": 3.0})
    found = store.ledger.latest_txn(W, "station:1:2:0", "drift")
    assert found is not None and found.idem == "d1" and found.result == {"at": 2.0}


# -- audits ------------------------------------------------------------------------------------


def test_ledger_and_item_audits_detect_tampering(store: Store, raw_sql: RawSql) -> None:
    grant(store, "player:1", 100)
    store.ledger.commit(W, "m", "mine", moves=[ItemMove("iron", 9, None, "ship:1")])
    totals = store.ledger.totals(W)
    assert totals.balanced and totals.balance_sum == 0
    assert (totals.accounts, totals.transactions) == (2, 2)
    assert store.ledger.item_totals(W)["iron"].conserved

    raw_sql("UPDATE ledger_accounts SET balance = 99 WHERE account = 'player:1'")
    bad = store.ledger.totals(W)
    assert not bad.balanced
    assert bad.balance_sum == -1 and bad.mismatched == ("player:1",)
    raw_sql("UPDATE ledger_accounts SET balance = 100 WHERE account = 'player:1'")
    raw_sql("UPDATE ledger_entries SET amount = 101 WHERE account = 'player:1'")
    bad = store.ledger.totals(W)
    assert bad.mismatched == ("player:1",) and len(bad.unbalanced) == 1

    raw_sql("UPDATE holdings SET qty = 10 WHERE holder = 'ship:1'")  # an item from nowhere
    iron = store.ledger.item_totals(W)["iron"]
    assert not iron.conserved and iron.mismatched == ("ship:1",)
    assert (iron.held, iron.created) == (10, 9)


# -- wrecks ------------------------------------------------------------------------------------


def test_wrecks(store: Store) -> None:
    assert store.ledger.wrecks_in_system(W, 3, -4) == []
    store.ledger.save_wreck(wreck(9))
    store.ledger.save_wreck(wreck(2, origin_account=None, x=-1e300))
    store.ledger.save_wreck(wreck(5, system_x=0))
    store.ledger.save_wreck(wreck(4, world="other"))
    found = store.ledger.wrecks_in_system(W, 3, -4)
    assert [w.wreck_id for w in found] == [2, 9]
    assert found[0].origin_account is None and found[0].x == -1e300
    first = store.ledger.get_wreck(W, 9)
    assert first is not None and first.created_at > 0
    store.ledger.save_wreck(wreck(9, expires_at=9999.0))  # upsert keeps the first created_at
    again = store.ledger.get_wreck(W, 9)
    assert again == dataclasses.replace(first, expires_at=9999.0)
    assert store.ledger.delete_wreck(W, 9) is True
    assert store.ledger.delete_wreck(W, 9) is False
    assert store.ledger.get_wreck(W, 9) is None
    assert [w.wreck_id for w in store.ledger.wrecks_in_system("other", 3, -4)] == [4]


# -- evidence ----------------------------------------------------------------------------------


def test_evidence(store: Store) -> None:
    acc = store.accounts.create("suspect", "h")
    rows = [
        Evidence(W, acc.id, 10, 1.5, "COOLDOWN", "fire", {"slot": 0, "early_s": 0.12}),
        Evidence(W, acc.id, 11, 1.6, "TOO_FAR", "loot", {"dist": 250.0}),
        Evidence(W, acc.id + 1, 12, 1.7, "BAD_SLOT", "fire"),
        Evidence("other", acc.id, 13, 1.8, "NO_AMMO", "fire", id=12345),  # id is ignored
    ]
    ids = store.moderation.add_evidence(rows)
    assert len(ids) == 4 and ids == sorted(ids)
    assert store.moderation.add_evidence([]) == []
    mine = store.moderation.list_evidence(W, acc.id)
    assert [e.code for e in mine] == ["TOO_FAR", "COOLDOWN"]  # newest first
    assert mine[1] == dataclasses.replace(rows[0], id=ids[0])
    assert [e.tick for e in store.moderation.list_evidence(W)] == [12, 11, 10]
    assert [e.tick for e in store.moderation.list_evidence(W, limit=1)] == [12]
    assert store.moderation.list_evidence("other")[0].id == ids[3]
    store.accounts.delete("suspect")
    assert len(store.moderation.list_evidence(W, acc.id)) == 2  # evidence outlives the account


# -- bad inputs --------------------------------------------------------------------------------

GOOD = [Posting("mint", -1), Posting("player:1", 1)]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        # ledger.commit
        (lambda s: s.ledger.commit("", "k", "x"), "world must not be empty"),
        (lambda s: s.ledger.commit(W, "", "x"), "idem must not be empty"),
        (lambda s: s.ledger.commit(W, "k" * 300, "x"), "idem is 300 characters"),
        (lambda s: s.ledger.commit(W, "k", "Trade"), "kind='Trade' must be a lowercase word"),
        (lambda s: s.ledger.commit(W, "k", "x", account="Player:1"), "account='Player:1' is not"),
        (lambda s: s.ledger.commit(W, "k", "x", postings=[GOOD[0]]), "postings sum to -1"),
        (
            lambda s: s.ledger.commit(W, "k", "x", postings=[Posting("a", 0)]),
            r"postings\[0\].amount=0 must be non-zero",
        ),
        (
            lambda s: s.ledger.commit(W, "k", "x", postings=[Posting("a", 10**16), *GOOD]),
            "within",
        ),
        (
            lambda s: s.ledger.commit(W, "k", "x", postings=[Posting("a", 1.0), *GOOD]),
            "amount must be an int",
        ),
        (
            lambda s: s.ledger.commit(W, "k", "x", postings=[Posting("a b", 1), *GOOD]),
            "is not a key",
        ),
        (lambda s: s.ledger.commit(W, "k", "x", postings=[("mint", 1)]), "must be a Posting"),
        (lambda s: s.ledger.commit(W, "k", "x", postings="mint"), "postings must be a list"),
        (
            lambda s: s.ledger.commit(W, "k", "x", moves=[ItemMove("ore", 0, None, "s:1")]),
            r"moves\[0\].qty=0 is outside",
        ),
        (
            lambda s: s.ledger.commit(W, "k", "x", moves=[ItemMove("ore", 1, None, None)]),
            "needs a source or a destination",
        ),
        (
            lambda s: s.ledger.commit(W, "k", "x", moves=[ItemMove("ore", 1, "s:1", "s:1")]),
            "to itself",
        ),
        (
            lambda s: s.ledger.commit(W, "k", "x", moves=[ItemMove("o re", 1, None, "s:1")]),
            "may hold only",
        ),
        (
            lambda s: s.ledger.commit(W, "k", "x", moves=[ItemMove("ore", True, None, "s:1")]),
            "qty must be an int",
        ),
        (lambda s: s.ledger.commit(W, "k", "x", moves=[{"item": "ore"}]), "must be an ItemMove"),
        (lambda s: s.ledger.commit(W, "k", "x", character=char(1, "beta")), "world 'beta'"),
        (lambda s: s.ledger.commit(W, "k", "x", character=char(1, x=math.nan)), "x=nan"),
        (lambda s: s.ledger.commit(W, "k", "x", save_wreck=wreck(world="b")), "world 'b'"),
        (lambda s: s.ledger.commit(W, "k", "x", save_wreck=wreck(0)), "wreck_id=0 is outside"),
        (lambda s: s.ledger.commit(W, "k", "x", delete_wreck=-1), "delete_wreck=-1"),
        (lambda s: s.ledger.commit(W, "k", "x", result=[1]), "result must be a dict"),
        (lambda s: s.ledger.commit(W, "k", "x", result={"a": math.inf}), "NaN or infinity"),
        (lambda s: s.ledger.commit(W, "k", "x", result={1: 2}), "is not a str"),
        (lambda s: s.ledger.commit(W, "k", "x", report_accounts="player:1"), "must be a list"),
        (lambda s: s.ledger.commit(W, "k", "x", report_holders=["A"]), "is not a key"),
        (lambda s: s.ledger.commit(W, "k", "x", at=math.nan), "at=nan is not finite"),
        # reads
        (lambda s: s.ledger.get_txn(W, ""), "idem must not be empty"),
        (lambda s: s.ledger.latest_txn(W, "station:1", "Drift"), "lowercase word"),
        (lambda s: s.ledger.balance(W, ""), "account must not be empty"),
        (lambda s: s.ledger.balance(W, "x\x00"), "NUL"),
        (lambda s: s.ledger.holdings(W, "ship 1"), "is not a key"),
        (lambda s: s.ledger.balances(""), "world must not be empty"),
        (lambda s: s.ledger.totals(5), "world must be a str"),
        (lambda s: s.ledger.item_totals(""), "world must not be empty"),
        (lambda s: s.ledger.all_holdings(""), "world must not be empty"),
        # wrecks
        (lambda s: s.ledger.save_wreck("wreck"), "expected a Wreck"),
        (lambda s: s.ledger.save_wreck(wreck(expires_at=math.inf)), "expires_at=inf"),
        (lambda s: s.ledger.save_wreck(wreck(system_x=2**63)), "system_x=.* is outside"),
        (lambda s: s.ledger.save_wreck(wreck(origin_account="1")), "origin_account must be an int"),
        (lambda s: s.ledger.get_wreck(W, 0), "wreck_id=0"),
        (lambda s: s.ledger.wrecks_in_system(W, 0, 1.5), "y must be an int"),
        (lambda s: s.ledger.delete_wreck(W, True), "wreck_id must be an int"),
        # evidence
        (lambda s: s.moderation.add_evidence([Evidence(W, 1, -1, 0.0, "C", "a")]), r"tick=-1"),
        (lambda s: s.moderation.add_evidence([Evidence(W, 1, 0, math.nan, "C", "a")]), "at=nan"),
        (
            lambda s: s.moderation.add_evidence([Evidence(W, 1, 0, 0.0, "", "a")]),
            "code must not be empty",
        ),
        (
            lambda s: s.moderation.add_evidence([Evidence(W, 1, 0, 0.0, "C", "a" * 65)]),
            "65 characters",
        ),
        (
            lambda s: s.moderation.add_evidence([Evidence(W, 1, 0, 0.0, "C", "a", [])]),
            "must be a dict",
        ),
        (lambda s: s.moderation.add_evidence(["row"]), "must be an Evidence"),
        (
            lambda s: s.moderation.add_evidence(Evidence(W, 1, 0, 0.0, "C", "a")),
            "rows must be a list",
        ),
        (lambda s: s.moderation.list_evidence(W, limit=-1), "limit=-1"),
        (lambda s: s.moderation.list_evidence(W, account_id="1"), "account_id must be an int"),
    ],
)
def test_bad_arguments_raise_value_error_before_any_write(
    store: Store, call: Callable[[Store], Any], message: str
) -> None:
    before = snapshot(store)
    with pytest.raises(ValueError, match=message):
        call(store)
    assert snapshot(store) == before
    assert store.ledger.get_txn(W, "k") is None


def test_store_errors_are_store_errors(store: Store) -> None:
    assert issubclass(InsufficientFunds, StoreError)
    assert issubclass(InsufficientItems, StoreError)
