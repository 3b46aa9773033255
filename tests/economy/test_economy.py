"""Each Economy method: what it changes, what it refuses, and that a repeated rid replays.

Runs on SQLite and PostgreSQL (the `any_store` fixture behind `economy`).
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from callister.content import Content
from callister.economy import (
    Economy,
    EconomyError,
    Receipt,
    StationRef,
    cargo_volume,
    pricing,
    rules,
    vitals,
)
from callister.protocol.errors import ErrorCode
from callister.protocol.limits import MAX_QTY
from callister.store import Character, ItemMove, Posting, Store

from ._support import BARE, HOME, OTHER, WORLD, Clock, make_character, undock

E = ErrorCode


def fund(economy: Economy, account_id: int, amount: int) -> None:
    """Give a player credits from the mint (a test-only source)."""
    economy.store.ledger.commit(
        WORLD,
        f"test-grant:{uuid.uuid4().hex}",
        "grant",
        postings=[Posting("mint", -amount), Posting(f"player:{account_id}", amount)],
    )


def load(economy: Economy, ship_id: int, items: dict[str, int]) -> None:
    """Put items into a ship's hold (a test-only source)."""
    economy.store.ledger.commit(
        WORLD,
        f"test-load:{uuid.uuid4().hex}",
        "grant",
        moves=[ItemMove(item, qty, None, f"ship:{ship_id}") for item, qty in items.items()],
    )


def refused(code: ErrorCode, call: Callable[[], Any]) -> EconomyError:
    with pytest.raises(EconomyError) as info:
        call()
    assert info.value.code == code, info.value
    return info.value


def state(economy: Economy) -> tuple[Any, ...]:
    s = economy.store
    return (
        s.ledger.balances(WORLD),
        s.ledger.all_holdings(WORLD),
        s.ledger.totals(WORLD).transactions,
    )


def assert_replays(economy: Economy, first: Receipt, call: Callable[[], Receipt]) -> None:
    before = state(economy)
    again = call()
    assert again == dataclasses.replace(first, replay=True)
    assert state(economy) == before


def assert_books(economy: Economy) -> None:
    audit = economy.audit()
    assert audit["balanced"], audit["problems"]
    assert audit["credits_total"] == 0


# -- construction, players ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"world": ""},
        {"starting_credits": -1},
        {"starting_credits": 1.5},
        {"price_multiplier": 0},
        {"price_multiplier": math.inf},
        {"price_multiplier": True},
    ],
)
def test_constructor_refuses_bad_settings(
    store: Store, content: Content, kwargs: dict[str, Any]
) -> None:
    args: dict[str, Any] = {"world": WORLD, **kwargs}
    with pytest.raises(ValueError):
        Economy(store, content, args.pop("world"), **args)


def test_ensure_player_grants_once(economy: Economy) -> None:
    acc = economy.store.accounts.create("newbie", "h").id
    assert economy.books.credits(acc) == 0
    assert economy.events.ensure_player(acc) == rules.STARTING_CREDITS
    assert economy.events.ensure_player(acc) == rules.STARTING_CREDITS
    assert economy.store.ledger.balance(WORLD, "mint") == -rules.STARTING_CREDITS
    poor = Economy(economy.store, economy.content, "poor", starting_credits=0)
    assert poor.events.ensure_player(acc) == 0
    assert_books(economy)
    assert_books(poor)


# -- quote and drift ---------------------------------------------------------------------------


def test_quote_lists_the_station_screen(economy: Economy, pilot: int, content: Content) -> None:
    screen = economy.screen(HOME, make_character(pilot, hull_hp=40.0, fuel=20.0))
    assert screen["station"] == HOME.key() == "station:3:-4:0"
    keys = [item["key"] for item in screen["items"]]
    assert keys == list(content.commodities) + list(content.ores)
    for item in screen["items"]:
        target = economy.catalog.target_stock(HOME, item["key"])
        assert item["stock"] == target  # a new market opens at its targets
        assert item["buy"] > item["sell"] >= 0
    assert screen["fuel_price"] == pricing.fuel_price(HOME.key())
    assert screen["repair_price"]["shuttle"] == content.hulls["shuttle"].repair_price
    assert screen["ammo"] == {"cannon": 4, "missile": 120}
    assert {h["key"] for h in screen["hulls"]} == set(content.hulls)
    assert {m["key"] for m in screen["modules"]} == set(content.weapons)
    assert "shuttle" not in screen["insurance"]
    assert screen["insurance"]["hauler"] == 6000
    assert screen["services"] == list(HOME.services)
    ship = screen["ship"]
    assert ship["repair"] == 60 * 5
    assert ship["refuel"] == pricing.whole_cost(80, pricing.fuel_price(HOME.key()))
    assert ship["rearm"] == 0 and ship["insured"] is False and ship["trade_in"] == 0

    bare = economy.screen(BARE)
    assert bare["items"] == [] and bare["fuel_price"] is None and bare["hulls"] == []
    assert bare["insurance"] == {} and bare["ammo"] == {} and "ship" not in bare
    assert_books(economy)


def test_price_multiplier_scales_prices(any_store: Store, content: Content) -> None:
    cheap = Economy(any_store, content, "a", price_multiplier=1.0)
    dear = Economy(any_store, content, "b", price_multiplier=2.0)
    one, two = cheap.screen(HOME), dear.screen(HOME)
    for a, b in zip(one["items"], two["items"], strict=True):
        assert b["buy"] >= 2 * a["buy"] - 1
    assert two["hulls"][0]["price"] == 2 * one["hulls"][0]["price"]
    assert two["fuel_price"] == pytest.approx(2 * one["fuel_price"], abs=0.011)


def test_stock_drifts_back_towards_its_target(economy: Economy, pilot: int, clock: Clock) -> None:
    c = make_character(pilot, hull="hauler")
    fund(economy, pilot, 100_000)
    target = economy.catalog.target_stock(HOME, "ice")
    economy.markets.trade("b1", pilot, c, HOME, "ice", 150, "buy")
    low = target - 150
    assert economy.screen(HOME)["items"][-1]["stock"] == low  # no time passed: no drift
    txns = economy.store.ledger.totals(WORLD).transactions
    economy.screen(HOME)
    assert economy.store.ledger.totals(WORLD).transactions == txns  # nothing to commit

    clock.advance(rules.DRIFT_TAU_S)
    expected = pricing.drifted(low, target, rules.DRIFT_TAU_S)
    stock = {i["key"]: i["stock"] for i in economy.screen(HOME)["items"]}
    assert abs(stock["ice"] - expected) <= 1
    assert low < stock["ice"] < target
    clock.advance(30 * rules.DRIFT_TAU_S)
    stock = {i["key"]: i["stock"] for i in economy.screen(HOME)["items"]}
    assert stock["ice"] == target

    # Over-stock drifts down: units are destroyed (a sink), and the books still balance.
    load(economy, c.ship_id, {"iron": 150})
    economy.markets.trade("s1", pilot, c, HOME, "iron", 150, "sell")
    clock.advance(30 * rules.DRIFT_TAU_S)
    stock = {i["key"]: i["stock"] for i in economy.screen(HOME)["items"]}
    assert stock["iron"] == economy.catalog.target_stock(HOME, "iron")
    iron = economy.audit()["items"]["iron"]
    assert iron["destroyed"] == 150 and iron["conserved"]
    assert_books(economy)


def test_a_trade_after_a_quiet_spell_drifts_from_the_trade(
    economy: Economy, pilot: int, clock: Clock
) -> None:
    # A market at its targets commits no drift for hours (nothing moves). A trade then must
    # drift back from the moment of the trade, not from the last (stale) drift commit.
    c = make_character(pilot, hull="hauler")
    fund(economy, pilot, 100_000)
    target = economy.catalog.target_stock(HOME, "ice")
    economy.screen(HOME)
    clock.advance(10 * rules.DRIFT_TAU_S)
    economy.screen(HOME)
    economy.markets.trade("b", pilot, c, HOME, "ice", 100, "buy")
    clock.advance(1.0)
    stock = {i["key"]: i["stock"] for i in economy.screen(HOME)["items"]}
    assert stock["ice"] == target - 100  # one second later: barely moved
    clock.advance(rules.DRIFT_TAU_S - 1.0)
    stock = {i["key"]: i["stock"] for i in economy.screen(HOME)["items"]}
    assert abs(stock["ice"] - pricing.drifted(target - 100, target, rules.DRIFT_TAU_S)) <= 0.5


def test_small_drifts_accumulate(economy: Economy, pilot: int, clock: Clock) -> None:
    # Quoting every few seconds must not freeze the drift by rounding each step to zero.
    c = make_character(pilot)
    economy.markets.trade("b", pilot, c, HOME, "water", 20, "buy")
    target = economy.catalog.target_stock(HOME, "water")
    for _ in range(120):
        clock.advance(30.0)
        economy.screen(HOME)
    stock = {i["key"]: i["stock"] for i in economy.screen(HOME)["items"]}
    expected = pricing.drifted(target - 20, target, 3600.0)
    assert abs(stock["water"] - expected) <= 1


# -- trade -------------------------------------------------------------------------------------


def test_buy_and_sell(economy: Economy, pilot: int) -> None:
    c = make_character(pilot)
    before = {i["key"]: i for i in economy.screen(HOME)["items"]}["food"]
    target = economy.catalog.target_stock(HOME, "food")
    r = economy.markets.trade("r1", pilot, c, HOME, "food", 10, "buy")
    cost = pricing.buy_cost(20, target, before["stock"], 10)
    assert (r.kind, r.rid, r.replay, r.character) == ("trade", "r1", False, None)
    assert r.detail["total"] == cost and r.detail["stock"] == before["stock"] - 10
    assert r.credits == rules.STARTING_CREDITS - cost == economy.books.credits(pilot)
    assert r.cargo == {"food": 10} == economy.books.cargo(c.ship_id)
    assert cargo_volume(economy.content, economy.books.cargo(c.ship_id)) == 10
    after = {i["key"]: i for i in economy.screen(HOME)["items"]}["food"]
    assert after["stock"] == before["stock"] - 10
    assert after["buy"] >= before["buy"] and r.detail["buy"] == after["buy"]
    assert_replays(
        economy, r, lambda: economy.markets.trade("r1", pilot, c, HOME, "food", 10, "buy")
    )

    s = economy.markets.trade("r2", pilot, c, HOME, "food", 4, "sell")
    proceeds = pricing.sell_proceeds(20, target, before["stock"] - 10, 4)
    assert s.detail["total"] == proceeds and s.credits == r.credits + proceeds
    assert s.cargo == {"food": 6}
    assert proceeds < cost * 4 / 10  # selling back loses money
    # ores trade at a market too, with their volume of 1
    load(economy, c.ship_id, {"platinum": 3})
    o = economy.markets.trade("r3", pilot, c, HOME, "platinum", 3, "sell")
    assert o.cargo == {"food": 6} and o.credits > s.credits
    assert_books(economy)


def test_trade_refusals(economy: Economy, pilot: int) -> None:
    c = make_character(pilot)
    start = state(economy)
    refused(
        E.NOT_DOCKED, lambda: economy.markets.trade("a", pilot, undock(c), HOME, "food", 1, "buy")
    )
    refused(E.NOT_DOCKED, lambda: economy.markets.trade("a", pilot, c, OTHER, "food", 1, "buy"))
    at_bare = make_character(pilot, station=BARE)
    refused(
        E.NOT_AVAILABLE, lambda: economy.markets.trade("a", pilot, at_bare, BARE, "food", 1, "buy")
    )
    refused(E.NOT_FOR_SALE, lambda: economy.markets.trade("a", pilot, c, HOME, "gold", 1, "buy"))
    refused(
        E.CARGO_FULL, lambda: economy.markets.trade("a", pilot, c, HOME, "machinery", 11, "buy")
    )
    refused(
        E.INSUFFICIENT_FUNDS,
        lambda: economy.markets.trade("a", pilot, c, HOME, "medicine", 10, "buy"),
    )
    refused(E.OUT_OF_STOCK, lambda: economy.markets.trade("a", pilot, c, HOME, "food", 1, "sell"))
    platinum = economy.catalog.target_stock(HOME, "platinum")
    hauler = make_character(pilot, hull="hauler")
    fund(economy, pilot, 10**7)
    refused(
        E.OUT_OF_STOCK,
        lambda: economy.markets.trade("a", pilot, hauler, HOME, "platinum", platinum + 1, "buy"),
    )
    for bad in (0, -1, 1.5, True, None, MAX_QTY + 1):
        refused(
            E.BAD_FIELD,
            lambda bad=bad: economy.markets.trade("a", pilot, c, HOME, "food", bad, "buy"),
        )
    refused(E.BAD_FIELD, lambda: economy.markets.trade("a", pilot, c, HOME, "food", 1, "steal"))
    for rid in ("", "x" * 65, 5, None, "tab\there"):
        refused(
            E.BAD_FIELD,
            lambda rid=rid: economy.markets.trade(rid, pilot, c, HOME, "food", 1, "buy"),
        )
    refused(E.BAD_FIELD, lambda: economy.markets.trade("a", pilot + 1, c, HOME, "food", 1, "buy"))
    refused(E.BAD_FIELD, lambda: economy.markets.trade("a", pilot, "me", HOME, "food", 1, "buy"))
    refused(E.BAD_FIELD, lambda: economy.markets.trade("a", pilot, c, (3, -4, 0), "food", 1, "buy"))
    # nothing reached a ship, and the player paid nothing (only the test grant arrived)
    assert not any(h.startswith("ship:") for h in economy.store.ledger.all_holdings(WORLD))
    assert economy.books.credits(pilot) == rules.STARTING_CREDITS + 10**7
    assert start[2] < economy.store.ledger.totals(WORLD).transactions  # the grant and drift
    # a refused rid was never used: the same rid works once the request is valid
    r = economy.markets.trade("a", pilot, c, HOME, "food", 1, "buy")
    assert r.replay is False and r.cargo == {"food": 1}
    assert_books(economy)


def test_rids_are_scoped_by_player_and_kind(economy: Economy, pilot: int) -> None:
    other = economy.store.accounts.create("other", "h").id
    economy.events.ensure_player(other)
    a = economy.markets.trade("same", pilot, make_character(pilot), HOME, "food", 1, "buy")
    b = economy.markets.trade(
        "same", other, make_character(other, ship_id=200), HOME, "food", 1, "buy"
    )
    assert not a.replay and not b.replay and a.txn != b.txn
    # the same rid for another kind of request is another request
    m = economy.events.mine("same", pilot, make_character(pilot), "iron", 2)
    assert not m.replay and m.cargo == {"food": 1, "iron": 2}


# -- station services --------------------------------------------------------------------------


def test_refuel(economy: Economy, pilot: int) -> None:
    price = pricing.fuel_price(HOME.key())
    c = make_character(pilot, fuel=40.0)
    r = economy.services.buy("refuel", "f1", pilot, c, HOME, 25.0)
    assert r.detail["fuel"] == 25.0 and r.detail["cost"] == pricing.whole_cost(25, price)
    assert r.character is not None and r.character.extra["fuel"] == 65.0
    assert r.credits == rules.STARTING_CREDITS - r.detail["cost"]
    saved = economy.store.characters.load(pilot, WORLD)
    assert saved == r.character  # saved in the same transaction
    assert_replays(economy, r, lambda: economy.services.buy("refuel", "f1", pilot, c, HOME, 25.0))
    full = economy.services.buy("refuel", "f2", pilot, r.character, HOME, None)
    assert full.character is not None and full.character.extra["fuel"] == 100.0
    assert full.detail["fuel"] == pytest.approx(35.0)
    refused(
        E.NOT_AVAILABLE,
        lambda: economy.services.buy("refuel", "f3", pilot, full.character, HOME, 1.0),
    )
    clipped = economy.services.buy(
        "refuel", "f4", pilot, c, HOME, 500.0
    )  # more than the room: clipped
    assert clipped.detail["fuel"] == 60.0
    for bad in (0, -1.0, math.nan, math.inf, True, "5"):
        refused(
            E.BAD_FIELD, lambda bad=bad: economy.services.buy("refuel", "f5", pilot, c, HOME, bad)
        )
    refused(
        E.NOT_AVAILABLE,
        lambda: economy.services.buy(
            "refuel", "f6", pilot, c, HOME.__class__(3, -4, 0, "x", ()), None
        ),
    )
    assert_books(economy)


def test_refuel_when_short_of_credits(economy: Economy, content: Content) -> None:
    poor = Economy(economy.store, content, WORLD, starting_credits=10, clock=economy.books.clock)
    acc = economy.store.accounts.create("poor", "h").id
    poor.events.ensure_player(acc)
    c = make_character(acc, fuel=0.0)
    refused(E.INSUFFICIENT_FUNDS, lambda: poor.services.buy("refuel", "x", acc, c, HOME, 100.0))
    r = poor.services.buy("refuel", "y", acc, c, HOME, None)  # fills what 10 credits buy
    price = pricing.fuel_price(HOME.key())
    assert r.detail["fuel"] == pricing.affordable(10, price) > 0
    assert 0 <= r.credits < price
    drained = Economy(economy.store, content, "broke", starting_credits=0)
    acc2 = economy.store.accounts.create("broke", "h").id
    drained.events.ensure_player(acc2)
    c2 = make_character(acc2, world="broke", fuel=0.0)
    refused(E.INSUFFICIENT_FUNDS, lambda: drained.services.buy("refuel", "z", acc2, c2, HOME, None))


def test_repair(economy: Economy, pilot: int, content: Content) -> None:
    c = make_character(pilot, hull_hp=30.0, shield=5.0)
    r = economy.services.buy("repair", "h1", pilot, c, HOME)
    assert r.detail["cost"] == 70 * content.hulls["shuttle"].repair_price
    assert r.character is not None and r.character.extra["hull_hp"] == 100.0
    assert r.character.extra["shield"] == 5.0  # shields recharge by themselves
    assert_replays(economy, r, lambda: economy.services.buy("repair", "h1", pilot, c, HOME))
    refused(E.NOT_AVAILABLE, lambda: economy.services.buy("repair", "h2", pilot, r.character, HOME))
    refused(
        E.NOT_AVAILABLE,
        lambda: economy.services.buy("repair", "h3", pilot, make_character(pilot), HOME),
    )
    at_other = make_character(pilot, station=OTHER, hull_hp=1.0)
    refused(E.NOT_AVAILABLE, lambda: economy.services.buy("repair", "h4", pilot, at_other, OTHER))
    # short of credits: as many whole points as they pay for
    economy.store.ledger.commit(
        WORLD,
        "drain",
        "x",
        postings=[Posting(f"player:{pilot}", -r.credits + 12), Posting("mint", r.credits - 12)],
    )
    part = economy.services.buy("repair", "h5", pilot, c, HOME)
    assert part.detail["points"] == 2 and part.credits == 2
    assert part.character is not None and part.character.extra["hull_hp"] == 32.0
    assert_books(economy)


def test_rearm(economy: Economy, pilot: int) -> None:
    c = make_character(pilot, ammo=[0, 10])  # shuttle: laser (energy), cannon (80 rounds, 4 each)
    r = economy.services.buy("rearm", "a1", pilot, c, HOME)
    assert r.detail["rounds"] == 70 and r.detail["cost"] == 280 and not r.detail["partial"]
    assert r.character is not None
    assert r.character.extra["ammo"] == [0, 80]
    assert r.character.extra["weapons"] == ["laser", "cannon"]
    assert_replays(economy, r, lambda: economy.services.buy("rearm", "a1", pilot, c, HOME))
    refused(E.NOT_AVAILABLE, lambda: economy.services.buy("rearm", "a2", pilot, r.character, HOME))
    hauler = make_character(pilot, hull="hauler")  # only a laser: nothing to rearm
    refused(E.NOT_AVAILABLE, lambda: economy.services.buy("rearm", "a3", pilot, hauler, HOME))
    at_other = make_character(pilot, station=OTHER, ammo=[0, 0])
    refused(E.NOT_AVAILABLE, lambda: economy.services.buy("rearm", "a4", pilot, at_other, OTHER))
    assert_books(economy)


def test_rearm_partial_and_broke(economy: Economy, content: Content) -> None:
    tight = Economy(economy.store, content, WORLD, starting_credits=130)
    acc = economy.store.accounts.create("tight", "h").id
    tight.events.ensure_player(acc)
    c = make_character(acc, hull="interceptor", ammo=[0, 70, 0])  # cannon 10 short, missiles 6
    r = tight.services.buy("rearm", "p", acc, c, HOME)
    # slot order: 10 cannon rounds (40), then 90 credits buy no 120-credit missile
    assert r.detail == {"rounds": 10, "cost": 40, "ammo": [0, 80, 0], "partial": True}
    assert r.credits == 90
    refused(E.INSUFFICIENT_FUNDS, lambda: tight.services.buy("rearm", "q", acc, r.character, HOME))


def test_buy_hull(economy: Economy, pilot: int, content: Content) -> None:
    fund(economy, pilot, 200_000)
    c = make_character(pilot, fuel=3.0, hull_hp=10.0, custom="kept")
    load(economy, c.ship_id, {"food": 5})
    r = economy.services.buy("hull", "s1", pilot, c, HOME, "hauler")
    assert r.detail["price"] == 60_000 and r.detail["trade_in"] == 0  # the starter is scrap
    assert r.character is not None and r.character.hull == "hauler"
    assert r.character.ship_id == c.ship_id and r.cargo == {"food": 5}
    assert r.character.extra == {"custom": "kept"}  # vitals reset to full; other keys kept
    v = vitals(r.character, content)
    assert (v.fuel, v.hull_hp, v.weapons, v.insured) == (250.0, 300.0, ("laser",), False)
    assert_replays(economy, r, lambda: economy.services.buy("hull", "s1", pilot, c, HOME, "hauler"))
    refused(
        E.NOT_AVAILABLE,
        lambda: economy.services.buy("hull", "s2", pilot, r.character, HOME, "hauler"),
    )
    refused(
        E.NOT_FOR_SALE,
        lambda: economy.services.buy("hull", "s2", pilot, r.character, HOME, "titan"),
    )
    at_other = dataclasses.replace(r.character, docked_at=OTHER.index)
    refused(
        E.NOT_AVAILABLE,
        lambda: economy.services.buy("hull", "s2", pilot, at_other, OTHER, "shuttle"),
    )

    # trade-in: half the price, scaled by hull points left; insurance lapses
    insured = economy.services.buy("insure", "i1", pilot, r.character, HOME).character
    assert insured is not None
    damaged = dataclasses.replace(insured, extra={**insured.extra, "hull_hp": 150.0})
    credits = economy.books.credits(pilot)
    swap = economy.services.buy("hull", "s3", pilot, damaged, HOME, "interceptor")
    assert swap.detail["trade_in"] == 15_000 and swap.detail["insurance_lapsed"] is True
    assert swap.credits == credits - 45_000 + 15_000
    assert swap.character is not None and "insured" not in swap.character.extra

    big = make_character(pilot, hull="hauler", ship_id=300)
    load(economy, 300, {"water": 30})
    refused(E.CARGO_FULL, lambda: economy.services.buy("hull", "s4", pilot, big, HOME, "shuttle"))
    assert_books(economy)


def test_buy_hull_needs_the_money(economy: Economy, pilot: int) -> None:
    c = make_character(pilot)
    refused(
        E.INSUFFICIENT_FUNDS, lambda: economy.services.buy("hull", "s", pilot, c, HOME, "hauler")
    )
    assert economy.books.credits(pilot) == rules.STARTING_CREDITS


def test_buy_module(economy: Economy, pilot: int) -> None:
    fund(economy, pilot, 100_000)
    c = make_character(pilot, hull="hauler")  # 2 slots, laser in slot 0
    r = economy.services.buy("module", "m1", pilot, c, HOME, 1, "missile")
    assert r.detail == {"slot": 1, "weapon": "missile", "price": 15_000, "replaced": None}
    assert r.character is not None
    assert r.character.extra["weapons"] == ["laser", "missile"]
    assert r.character.extra["ammo"] == [0, 6]  # comes loaded
    assert_replays(
        economy, r, lambda: economy.services.buy("module", "m1", pilot, c, HOME, 1, "missile")
    )
    swap = economy.services.buy("module", "m2", pilot, r.character, HOME, 0, "cannon")
    assert swap.detail["replaced"] == "laser"
    assert swap.character is not None
    assert swap.character.extra["weapons"] == ["cannon", "missile"]
    assert swap.character.extra["ammo"] == [80, 6]
    refused(
        E.NOT_AVAILABLE,
        lambda: economy.services.buy("module", "m3", pilot, swap.character, HOME, 0, "cannon"),
    )
    refused(
        E.BAD_SLOT,
        lambda: economy.services.buy("module", "m3", pilot, swap.character, HOME, 2, "laser"),
    )
    refused(E.BAD_SLOT, lambda: economy.services.buy("module", "m3", pilot, c, HOME, -1, "laser"))
    three = make_character(pilot, hull="interceptor", weapons=["laser"])
    refused(
        E.BAD_SLOT, lambda: economy.services.buy("module", "m3", pilot, three, HOME, 2, "laser")
    )  # a gap
    refused(
        E.NOT_FOR_SALE, lambda: economy.services.buy("module", "m3", pilot, c, HOME, 1, "railgun")
    )
    refused(E.BAD_FIELD, lambda: economy.services.buy("module", "m3", pilot, c, HOME, "1", "laser"))
    assert_books(economy)


def test_insure(economy: Economy, pilot: int) -> None:
    fund(economy, pilot, 100_000)
    shuttle = make_character(pilot)
    refused(
        E.NOT_AVAILABLE, lambda: economy.services.buy("insure", "i0", pilot, shuttle, HOME)
    )  # the starter
    c = make_character(pilot, hull="hauler")
    r = economy.services.buy("insure", "i1", pilot, c, HOME)
    assert r.detail == {"hull": "hauler", "premium": 6000, "payout": 36_000}
    assert r.character is not None and r.character.extra["insured"] is True
    assert_replays(economy, r, lambda: economy.services.buy("insure", "i1", pilot, c, HOME))
    refused(E.NOT_AVAILABLE, lambda: economy.services.buy("insure", "i2", pilot, r.character, HOME))
    at_other = make_character(pilot, hull="hauler", station=OTHER)
    refused(E.NOT_AVAILABLE, lambda: economy.services.buy("insure", "i3", pilot, at_other, OTHER))
    assert_books(economy)


# -- world events ------------------------------------------------------------------------------


def test_mine(economy: Economy, pilot: int) -> None:
    c = make_character(pilot, station=None)  # mining happens in space
    r = economy.events.mine("t1:100", pilot, c, "iron", 7)
    assert r.cargo == {"iron": 7} and r.detail == {"ore": "iron", "qty": 7, "requested": 7}
    assert_replays(economy, r, lambda: economy.events.mine("t1:100", pilot, c, "iron", 7))
    clipped = economy.events.mine("t2:100", pilot, c, "ice", 50)
    assert clipped.detail["qty"] == 13 and clipped.cargo == {"iron": 7, "ice": 13}
    refused(E.CARGO_FULL, lambda: economy.events.mine("t3:100", pilot, c, "ice", 1))
    refused(E.BAD_FIELD, lambda: economy.events.mine("t4:100", pilot, c, "food", 1))
    refused(E.BAD_FIELD, lambda: economy.events.mine("t4:100", pilot, c, "iron", 0))
    assert economy.audit()["items"]["ice"]["created"] == 13
    assert_books(economy)


def _death(
    economy: Economy,
    c: Character,
    rid: str = "death:100",
    wreck: int = 900,
    killer: int | None = None,
) -> Receipt:
    return economy.events.wreck_ship(
        rid, c.account_id, c, wreck, c.ship_id + 1, (3, -4, 500.0, -600.0), 5000.0, killer
    )


def test_wreck_ship_moves_cargo_and_respawns(
    economy: Economy, pilot: int, content: Content
) -> None:
    c = make_character(pilot, station=None, fuel=5.0, hull_hp=0.0, custom="kept")
    load(economy, c.ship_id, {"food": 4, "iron": 6})
    r = _death(economy, c)
    assert r.kind == "death" and r.cargo == {}
    assert r.detail["lost"] == {"food": 4, "iron": 6} and r.detail["wreck"] == 900
    assert r.detail["insurance"] == 0 and r.detail["bounty"] == 0
    reborn = r.character
    assert reborn is not None
    assert (reborn.ship_id, reborn.hull, reborn.docked_at) == (101, "shuttle", HOME.index)
    assert (reborn.system_x, reborn.system_y) == (HOME.x, HOME.y)
    assert reborn.extra == {"custom": "kept"}
    assert economy.store.characters.load(pilot, WORLD) == reborn
    assert (
        economy.books.cargo(100) == {}
        and economy.store.ledger.holdings(WORLD, "wreck:900") == r.detail["lost"]
    )
    saved = economy.store.ledger.get_wreck(WORLD, 900)
    assert saved is not None
    assert (saved.system_x, saved.system_y, saved.x, saved.y) == (3, -4, 500.0, -600.0)
    assert (saved.expires_at, saved.origin_account) == (5000.0, pilot)
    assert_replays(economy, r, lambda: _death(economy, c))
    refused(
        E.BAD_FIELD,
        lambda: economy.events.wreck_ship(
            "d2", pilot, c, 1, c.ship_id, (3, -4, 0.0, 0.0), 1.0, None
        ),
    )
    refused(
        E.BAD_FIELD,
        lambda: economy.events.wreck_ship("d2", pilot, c, 1, 5, (3, -4, 0.0), 1.0, None),
    )
    refused(
        E.BAD_FIELD,
        lambda: economy.events.wreck_ship("d2", pilot, c, 1, 5, (3, -4, math.nan, 0.0), 1.0, None),
    )
    assert_books(economy)


def test_wreck_ship_without_a_wreck_destroys_the_cargo(economy: Economy, pilot: int) -> None:
    c = make_character(pilot, station=None)
    load(economy, c.ship_id, {"water": 3})
    r = _death(economy, c, wreck=0)
    assert r.detail["wreck"] == 0 and economy.store.ledger.get_wreck(WORLD, 900) is None
    assert economy.audit()["items"]["water"]["destroyed"] == 3
    assert_books(economy)


def test_insurance_and_bounty_pay_out_on_death(economy: Economy, pilot: int) -> None:
    hunter = economy.store.accounts.create("hunter", "h").id
    sponsor = economy.store.accounts.create("sponsor", "h").id
    for acc in (hunter, sponsor):
        economy.events.ensure_player(acc)
    fund(economy, pilot, 100_000)
    c = economy.services.buy(
        "insure", "i", pilot, make_character(pilot, hull="hauler"), HOME
    ).character
    assert c is not None
    b1 = economy.events.place_bounty("b1", sponsor, pilot, 500)
    assert b1.detail == {"target": pilot, "amount": 500, "total": 500}
    assert b1.credits == rules.STARTING_CREDITS - 500
    b2 = economy.events.place_bounty("b2", hunter, pilot, 300)
    assert b2.detail["total"] == 800 and economy.books.bounty(pilot) == 800
    assert_replays(economy, b1, lambda: economy.events.place_bounty("b1", sponsor, pilot, 500))

    before = economy.books.credits(pilot)
    r = _death(economy, c, killer=hunter)
    assert r.detail["insurance"] == 36_000 and r.detail["bounty"] == 800
    assert r.credits == before + 36_000
    assert economy.books.credits(hunter) == rules.STARTING_CREDITS - 300 + 800
    assert economy.books.bounty(pilot) == 0
    assert r.character is not None and "insured" not in r.character.extra  # lapsed
    assert economy.store.ledger.balance(WORLD, "insurer") == -36_000
    assert_books(economy)


def test_bounty_stays_without_a_player_killer(economy: Economy, pilot: int) -> None:
    sponsor = economy.store.accounts.create("sponsor", "h").id
    economy.events.ensure_player(sponsor)
    economy.events.place_bounty("b", sponsor, pilot, 400)
    c = make_character(pilot, station=None)
    r1 = _death(economy, c, rid="d1", killer=None)  # an NPC or a station
    assert r1.detail["bounty"] == 0 and economy.books.bounty(pilot) == 400
    assert r1.character is not None
    r2 = _death(economy, r1.character, rid="d2", wreck=901, killer=pilot)  # suicide
    assert r2.detail["bounty"] == 0 and economy.books.bounty(pilot) == 400
    assert_books(economy)


def test_place_bounty_refusals(economy: Economy, pilot: int) -> None:
    refused(E.BAD_FIELD, lambda: economy.events.place_bounty("b", pilot, pilot, 500))
    refused(
        E.BAD_FIELD,
        lambda: economy.events.place_bounty("b", pilot, pilot + 1, rules.MIN_BOUNTY - 1),
    )
    refused(
        E.BAD_FIELD,
        lambda: economy.events.place_bounty("b", pilot, pilot + 1, rules.MAX_BOUNTY + 1),
    )
    refused(E.NOT_AVAILABLE, lambda: economy.events.place_bounty("b", pilot, 10**12, 500))
    other = economy.store.accounts.create("other", "h").id
    refused(E.INSUFFICIENT_FUNDS, lambda: economy.events.place_bounty("b", pilot, other, 5000))
    assert (
        economy.books.credits(pilot) == rules.STARTING_CREDITS and economy.books.bounty(other) == 0
    )


def test_loot(economy: Economy, pilot: int, content: Content) -> None:
    victim = economy.store.accounts.create("victim", "h").id
    economy.events.ensure_player(victim)
    dead = make_character(victim, ship_id=500, station=None)
    load(economy, 500, {"water": 15, "machinery": 4, "platinum": 3})
    _death(economy, dead, rid="d", wreck=700)
    c = make_character(pilot, station=None)  # shuttle: 20 units
    load(economy, c.ship_id, {"ice": 5})  # 15 free
    r = economy.events.loot("l1", pilot, c, 700)
    # most valuable per unit first: platinum (3), machinery (4 x 2 units), then 4 water
    assert r.detail == {
        "wreck": 700,
        "items": {"platinum": 3, "machinery": 4, "water": 4},
        "empty": False,
    }
    assert r.cargo == {"ice": 5, "platinum": 3, "machinery": 4, "water": 4}
    assert economy.store.ledger.holdings(WORLD, "wreck:700") == {"water": 11}
    assert economy.store.ledger.get_wreck(WORLD, 700) is not None
    assert_replays(economy, r, lambda: economy.events.loot("l1", pilot, c, 700))
    refused(E.CARGO_FULL, lambda: economy.events.loot("l2", pilot, c, 700))
    roomy = make_character(pilot, ship_id=600, hull="hauler", station=None)
    rest = economy.events.loot("l3", pilot, roomy, 700)
    assert rest.detail["empty"] is True and rest.cargo == {"water": 11}
    assert economy.store.ledger.get_wreck(WORLD, 700) is None  # deleted with its last item
    refused(E.NOT_AVAILABLE, lambda: economy.events.loot("l4", pilot, roomy, 700))
    refused(E.NOT_AVAILABLE, lambda: economy.events.loot("l5", pilot, roomy, 12345))
    refused(E.BAD_FIELD, lambda: economy.events.loot("l6", pilot, roomy, 0))
    # a wreck that never held anything: looting it clears it
    _death(economy, make_character(victim, ship_id=501, station=None), rid="d2", wreck=701)
    empty = economy.events.loot("l7", pilot, roomy, 701)
    assert empty.detail == {"wreck": 701, "items": {}, "empty": True}
    assert economy.store.ledger.get_wreck(WORLD, 701) is None
    assert_books(economy)


def test_expire_wreck(economy: Economy, pilot: int) -> None:
    c = make_character(pilot, station=None)
    load(economy, c.ship_id, {"food": 2, "nickel": 9})
    _death(economy, c, wreck=800)
    economy.events.expire_wreck(800)
    assert economy.store.ledger.holdings(WORLD, "wreck:800") == {}
    assert economy.store.ledger.get_wreck(WORLD, 800) is None
    items = economy.audit()["items"]
    assert items["nickel"]["destroyed"] == 9 and items["food"]["destroyed"] == 2
    before = state(economy)
    economy.events.expire_wreck(800)  # again: nothing
    economy.events.expire_wreck(987654)  # never existed: nothing
    assert state(economy) == before
    with pytest.raises(EconomyError):
        economy.events.expire_wreck(0)
    assert_books(economy)


def test_vitals_defaults_and_junk(content: Content) -> None:
    c = make_character(
        1, hull="interceptor", fuel="lots", hull_hp=-5.0, ammo=[True, 999], weapons=[1]
    )
    v = vitals(c, content)
    assert v.fuel == 80.0 and v.hull_hp == 0.0  # junk means full; out of range is clamped
    assert v.weapons == ("heavy_laser", "cannon", "missile") and v.ammo == (0, 80, 6)
    unknown = make_character(1, hull="dreadnought")
    assert vitals(unknown, content).hull.key == "shuttle"


def test_receipt_message(economy: Economy, pilot: int) -> None:
    r = economy.markets.trade("m", pilot, make_character(pilot), HOME, "food", 1, "buy")
    msg = r.message()
    assert msg["t"] == "receipt" and msg["rid"] == "m" and msg["ok"] is True
    assert msg["kind"] == "trade" and msg["credits"] == r.credits and msg["cargo"] == {"food": 1}


def test_station_ref(content: Content) -> None:
    class FakeStation:
        index = 2
        faction = "concord"
        services = ("market", "refuel")

    ref = StationRef.of(-7, 8, FakeStation())
    assert ref == StationRef(-7, 8, 2, "concord", ("market", "refuel"))
    assert ref.key() == "station:-7:8:2"


def test_services_table_refuses_unknown_kinds_and_choices(economy: Economy, pilot: int) -> None:
    c = make_character(pilot, hull_hp=10.0)
    start = state(economy)
    buy = economy.services.buy
    for kind in ("print_money", "buy_hull", "", None, 3):
        refused(E.BAD_FIELD, lambda kind=kind: buy(kind, "k", pilot, c, HOME))
    refused(E.BAD_FIELD, lambda: buy("repair", "k", pilot, c, HOME, 5))  # repair takes nothing
    refused(E.BAD_FIELD, lambda: buy("refuel", "k", pilot, c, HOME, 1.0, 2.0))
    refused(E.BAD_FIELD, lambda: buy("module", "k", pilot, c, HOME))  # no slot
    refused(E.NOT_FOR_SALE, lambda: buy("hull", "k", pilot, c, HOME))  # no hull named
    assert state(economy) == start  # nothing written, the rid unused
    assert buy("repair", "k", pilot, c, HOME).kind == "repair"


def test_board_takes_what_fits_once(economy: Economy, pilot: int) -> None:
    load(economy, 500, {"water": 15, "machinery": 4, "platinum": 3})  # the boarded ship's hold
    captor = make_character(pilot, station=None)  # shuttle: 20 units
    load(economy, captor.ship_id, {"ice": 5})  # 15 free
    taken = economy.events.board(captor, 500, 77)
    # most valuable per cargo unit first, as a loot
    assert taken == {"platinum": 3, "machinery": 4, "water": 4}
    assert economy.books.cargo(500) == {"water": 11}
    assert economy.books.cargo(captor.ship_id) == {"ice": 5, **taken}
    txn = economy.store.ledger.get_txn(WORLD, f"board:{pilot}:500:77")
    assert txn is not None and txn.kind == "board"
    assert txn.result == {"target": 500, "items": taken}
    before = state(economy)
    assert economy.events.board(captor, 500, 77) == {}  # the hold is full now: nothing written
    assert state(economy) == before
    refused(E.BAD_FIELD, lambda: economy.events.board(captor, 0, 78))
    refused(E.BAD_FIELD, lambda: economy.events.board("captor", 500, 78))  # type: ignore[arg-type]
    assert_books(economy)
