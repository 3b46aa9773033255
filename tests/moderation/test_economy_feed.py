"""What feeds the economic detectors from a live server: ledger rows -> transfers, replayed
request ids -> duplication evidence, and the store query the detectors read the books with."""

from __future__ import annotations

from typing import Any

import pytest

from callister.moderation.detect import economy
from callister.moderation.detect.economy import (
    DUPLICATE_RID,
    TransferLedger,
    replay_differs,
    request_fields,
    rid_variants,
)
from callister.protocol.messages import (
    BountyMsg,
    BuyHullMsg,
    BuyModuleMsg,
    ServiceMsg,
    TradeMsg,
)
from callister.store import Evidence, Login, Store, Txn


def txn(id_: int, kind: str, account: str | None, detail: Any, at: float = 100.0) -> Txn:
    return Txn(id=id_, world="w", idem=f"{kind}:{id_}", kind=kind, account=account,
               created_at=at, result={"detail": detail}, balances={}, holdings={},
               replay=True)  # fmt: skip


def test_loot_of_another_players_wreck_is_a_transfer_from_the_victim() -> None:
    ledger = TransferLedger()
    made = ledger.feed(
        [
            txn(1, "death", "player:7", {"wreck": 50, "killer": 3, "bounty": 0}),
            txn(2, "loot", "player:3", {"wreck": 50, "items": {"iron": 2, "gold": 1}}),
            txn(3, "loot", "player:7", {"wreck": 50, "items": {"iron": 1}}),  # own cargo back
            txn(4, "loot", "player:3", {"wreck": 99, "items": {"iron": 4}}),  # an NPC's wreck
        ],
        now=100.0,
    )
    assert made == 1
    (t,) = ledger.transfers
    assert (t.source, t.destination, t.items, t.credits, t.how) == (7, 3, 3, 0, "loot")
    # the same rows again (an overlapping read) are not counted twice
    assert ledger.feed([txn(2, "loot", "player:3", {"wreck": 50, "items": {"x": 1}})], 100.0) == 0
    assert ledger.last_id == 4


def test_a_claimed_bounty_is_a_transfer_from_each_placer_to_the_killer() -> None:
    ledger = TransferLedger()
    ledger.feed(
        [
            txn(1, "bounty", "player:1", {"target": 9, "amount": 500}),
            txn(2, "bounty", "player:2", {"target": 9, "amount": 300}),
            txn(3, "bounty", "player:3", {"target": 9, "amount": 100}),
            txn(4, "death", "player:9", {"wreck": 0, "killer": 3, "bounty": 900}),
        ],
        now=100.0,
    )
    got = sorted((t.source, t.destination, t.credits) for t in ledger.transfers)
    assert got == [(1, 3, 500), (2, 3, 300)]  # the killer's own 100 back is no transfer
    assert not ledger.escrow  # paid out: a later death pays nothing more


def test_malformed_rows_and_old_transfers_are_skipped() -> None:
    ledger = TransferLedger(window_s=60.0)
    made = ledger.feed(
        [
            txn(1, "death", "player:x", {"wreck": 5}),  # not a player account
            txn(2, "death", None, {"wreck": 5}),
            txn(3, "death", "player:4", "not a dict"),
            txn(4, "loot", "player:3", {"wreck": True, "items": {"a": 1}}),
            txn(5, "loot", "player:3", {"wreck": 5, "items": ["a"]}),
            txn(6, "death", "player:4", {"wreck": 6}, at=10.0),
            txn(7, "loot", "player:3", {"wreck": 6, "items": {"a": -2, "b": "x"}}, at=10.0),
            txn(8, "loot", "player:3", {"wreck": 6, "items": {"a": 2}}, at=10.0),
            txn(9, "refuel", "player:3", {"wreck": 6}),
        ],
        now=30.0,
    )
    assert made == 1 and len(ledger.transfers) == 1
    ledger.feed([], now=100.0)  # a minute later: out of the window, forgotten
    assert not ledger.transfers and not ledger.wreck_owner


def test_transfers_between_linked_accounts_are_flagged_and_others_not() -> None:
    ledger = TransferLedger()
    ledger.feed(
        [
            txn(1, "death", "player:1", {"wreck": 10}),
            txn(2, "loot", "player:2", {"wreck": 10, "items": {"iron": 5}}),
            txn(3, "death", "player:5", {"wreck": 11}),
            txn(4, "loot", "player:6", {"wreck": 11, "items": {"iron": 5}}),
        ],
        now=100.0,
    )
    links = economy.linked_accounts(
        [Login("w", 1, "10.0.0.1", 1.0), Login("w", 2, "10.0.0.1", 9000.0),
         Login("w", 5, "10.0.0.5", 1.0), Login("w", 6, "10.0.0.6", 9000.0)]
    )  # fmt: skip
    (flag,) = economy.linked_transfers(ledger.transfers, links)
    assert flag.account_id == 2 and flag.evidence["from"] == 1 and flag.evidence["items"] == 5


def test_request_fields_match_the_receipt_detail_names() -> None:
    trade = TradeMsg(ship=1, rid="r", item="iron", qty=3, side="buy")
    assert request_fields(trade) == {"item": "iron", "qty": 3, "side": "buy"}
    assert request_fields(BuyHullMsg(ship=1, rid="r", hull="hauler")) == {"hull": "hauler"}
    assert request_fields(BuyModuleMsg(ship=1, rid="r", slot=2, weapon="laser")) == {
        "slot": 2,
        "weapon": "laser",
    }
    assert request_fields(BountyMsg(rid="r", target="bob", amount=50)) == {"amount": 50}
    assert request_fields(ServiceMsg(ship=1, rid="r", op="refuel")) is None  # op is in the key
    detail = {"item": "iron", "qty": 3, "side": "buy", "total": 30}
    assert replay_differs({"item": "iron", "qty": 3, "side": "buy"}, detail) == {}
    assert replay_differs({"item": "iron", "qty": 9, "side": "sell"}, detail) == {
        "qty": 3,
        "side": "buy",
    }
    assert replay_differs({"unknown": 1}, detail) == {}  # nothing to compare: no anomaly


def test_duplicate_rid_evidence_becomes_a_flag() -> None:
    def ev(account: int, code: str, detail: dict[str, Any]) -> Evidence:
        return Evidence("w", account, 0, 1.0, code, "trade", detail)

    rows = [
        ev(
            4, DUPLICATE_RID, {"rid": "a", "kind": "trade", "sent": {"qty": 5}, "first": {"qty": 1}}
        ),
        ev(4, "COOLDOWN", {"rid": "b"}),
        ev(4, DUPLICATE_RID, {"rid": "c", "kind": "trade", "sent": "junk", "first": {}}),
    ]
    variants = rid_variants(rows)
    assert len(variants) == 2 and {v[1] for v in variants} == {"trade:a"}
    (flag,) = economy.duplicate_rids(variants)
    assert flag.account_id == 4 and flag.subject == "rid:trade:a"


def test_store_lists_transactions_by_kind_after_an_id(store: Store) -> None:
    for i, kind in enumerate(("death", "mine", "loot", "bounty", "loot")):
        store.ledger.commit("w", f"k{i}", kind, account="player:1", result={"detail": {"n": i}},
                            at=100.0 + i)  # fmt: skip
    store.ledger.commit("other", "k9", "loot", account="player:1", at=200.0)
    rows = store.ledger.txns("w", ("death", "loot"), 0, 0.0, 100)
    assert [r.kind for r in rows] == ["death", "loot", "loot"]
    assert [r.result["detail"]["n"] for r in rows] == [0, 2, 4]
    assert [r.kind for r in store.ledger.txns("w", ("loot",), rows[1].id, 0.0, 100)] == ["loot"]
    assert [r.kind for r in store.ledger.txns("w", ("loot", "death"), 0, 103.5, 100)] == ["loot"]
    assert len(store.ledger.txns("w", ("loot", "death"), 0, 0.0, 1)) == 1


@pytest.mark.parametrize(
    "args",
    [
        ("w", (), 0, 0.0, 10),
        ("w", ["loot"], 0, 0.0, 10),
        ("w", ("Loot; DROP",), 0, 0.0, 10),
        ("w", ("loot",), -1, 0.0, 10),
        ("w", ("loot",), 0, float("nan"), 10),
        ("w", ("loot",), 0, 0.0, -1),
        ("", ("loot",), 0, 0.0, 10),
    ],
)
def test_store_refuses_bad_transaction_queries(store: Store, args: tuple[Any, ...]) -> None:
    with pytest.raises(ValueError):
        store.ledger.txns(*args)
