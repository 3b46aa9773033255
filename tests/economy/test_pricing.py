"""Pure pricing: stable targets, prices that move with every unit, no round-trip profit, drift."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from callister.economy import pricing, rules

bases = st.integers(1, 5000)
targets = st.integers(rules.STOCK_MIN, rules.STOCK_MAX)
stocks = st.integers(0, 20_000)
mults = st.sampled_from([0.5, 1.0, 1.37, 3.0])
fast = settings(max_examples=150, deadline=None)


def test_stable_hash_is_pinned() -> None:
    # These exact numbers must never change: every server (and every restart) must agree on
    # each station's targets and fuel price. Python's hash() would differ per process.
    assert pricing.stable_u64("a") == 4681665781835383343
    assert pricing.stable_u64("station:0:0:0", "iron") == 16877982007013297305
    assert pricing.target_stock("station:3:-4:0", "iron", 30) == 696
    assert pricing.fuel_price("station:3:-4:0") == 2.31
    assert pricing.stable_u64("ab", "c") != pricing.stable_u64("a", "bc")  # parts are separated


@given(st.text(max_size=30), st.text(max_size=10))
@fast
def test_stable_unit_is_in_range(a: str, b: str) -> None:
    assert 0.0 <= pricing.stable_unit(a, b) < 1.0


@given(st.integers(-50, 50), st.integers(-50, 50), st.integers(0, 5), bases)
@fast
def test_target_stock_bounds(x: int, y: int, i: int, base: int) -> None:
    key = f"station:{x}:{y}:{i}"
    target = pricing.target_stock(key, "iron", base)
    assert rules.STOCK_MIN <= target <= rules.STOCK_MAX
    assert target == pricing.target_stock(key, "iron", base)
    low, high = rules.STOCK_SPREAD
    expected = rules.STOCK_VALUE / base
    assert target >= min(rules.STOCK_MAX, max(rules.STOCK_MIN, math.floor(expected * low)))
    assert target <= max(rules.STOCK_MIN, min(rules.STOCK_MAX, math.ceil(expected * high)))


def test_stations_differ() -> None:
    targets_ = {pricing.target_stock(f"station:{i}:0:0", "food", 20) for i in range(30)}
    assert len(targets_) > 20
    fuel = {pricing.fuel_price(f"station:{i}:0:0") for i in range(30)}
    assert len(fuel) > 20
    low, high = rules.FUEL_SPREAD
    assert all(rules.FUEL_PRICE * low - 0.01 <= p <= rules.FUEL_PRICE * high + 0.01 for p in fuel)


def test_price_factor_clamps() -> None:
    assert pricing.price_factor(100, 100) == 1.0
    assert pricing.price_factor(100, 25) == 2.0
    assert pricing.price_factor(100, 0) == rules.PRICE_FACTOR_MAX  # empty: capped, not inf
    assert pricing.price_factor(100, 1) == rules.PRICE_FACTOR_MAX
    assert pricing.price_factor(100, 100_000) == rules.PRICE_FACTOR_MIN


@given(bases, targets, mults)
@fast
def test_every_unit_moves_the_value_inside_the_clamp(base: int, target: int, m: float) -> None:
    # Between the clamps (target/16 < n < 16 target) each unit taken raises the unit value and
    # each unit added lowers it.
    low = math.floor(target / rules.PRICE_FACTOR_MAX**2) + 1
    high = math.ceil(target / rules.PRICE_FACTOR_MIN**2) - 1
    for n in (low, (low + target) // 2, target, (target + high) // 2, high - 1):
        assert pricing.unit_value(base, target, n, m) > pricing.unit_value(base, target, n + 1, m)


@given(bases, targets, st.integers(1, 5000), st.integers(1, 200), mults)
@fast
def test_buying_walks_the_price_up(base: int, target: int, stock: int, qty: int, m: float) -> None:
    qty = min(qty, stock)
    units = [pricing.buy_unit_price(base, target, stock - k, m) for k in range(qty)]
    assert pricing.buy_cost(base, target, stock, qty, m) == sum(units)
    assert units == sorted(units)  # each unit costs at least as much as the one before
    after = pricing.buy_unit_price(base, target, stock - qty, m)
    assert after >= pricing.buy_unit_price(base, target, stock, m)
    assert all(u >= 1 for u in units)


@given(bases, targets, stocks, st.integers(1, 200), mults)
@fast
def test_selling_walks_the_price_down(
    base: int, target: int, stock: int, qty: int, m: float
) -> None:
    units = [pricing.sell_unit_price(base, target, stock + k, m) for k in range(qty)]
    assert pricing.sell_proceeds(base, target, stock, qty, m) == sum(units)
    assert units == sorted(units, reverse=True)
    assert pricing.sell_unit_price(base, target, stock + qty, m) <= units[0]


@given(bases, targets, st.integers(1, 5000), st.integers(1, 300), mults)
@fast
def test_no_round_trip_profit(base: int, target: int, stock: int, qty: int, m: float) -> None:
    # buy qty then sell them straight back
    bought = min(qty, stock)
    cost = pricing.buy_cost(base, target, stock, bought, m)
    assert pricing.sell_proceeds(base, target, stock - bought, bought, m) < cost
    # sell qty then buy them straight back
    proceeds = pricing.sell_proceeds(base, target, stock, qty, m)
    assert pricing.buy_cost(base, target, stock + qty, qty, m) > proceeds
    # and the quoted spread: buying the top unit always costs more than selling one pays
    assert pricing.buy_unit_price(base, target, stock, m) > pricing.sell_unit_price(
        base, target, stock, m
    )


@given(bases, targets, stocks)
@fast
def test_scarcity_costs_more(base: int, target: int, stock: int) -> None:
    if stock >= 2:
        assert pricing.buy_unit_price(base, target, stock - 1) >= pricing.buy_unit_price(
            base, target, stock
        )
    assert pricing.buy_unit_price(base, target, stock, 2.0) >= pricing.buy_unit_price(
        base, target, stock, 1.0
    )


def test_buy_and_sell_refuse_impossible_quantities() -> None:
    for qty, stock in ((0, 10), (11, 10), (-1, 10)):
        try:
            pricing.buy_cost(10, 100, stock, qty)
        except ValueError:
            continue
        raise AssertionError(f"buy_cost accepted qty={qty} stock={stock}")
    try:
        pricing.sell_proceeds(10, 100, 5, 0)
    except ValueError:
        pass
    else:
        raise AssertionError("sell_proceeds accepted qty=0")


@given(st.floats(0, 10_000), targets, st.floats(0, 50_000), st.floats(0, 50_000))
@fast
def test_drift_moves_towards_the_target_and_never_overshoots(
    stock: float, target: int, t1: float, t2: float
) -> None:
    a = pricing.drifted(stock, target, t1)
    assert min(stock, target) - 1e-9 <= a <= max(stock, target) + 1e-9
    # composing two drifts equals one drift of the summed time (it is a pure exponential)
    assert math.isclose(
        pricing.drifted(a, target, t2), pricing.drifted(stock, target, t1 + t2), abs_tol=1e-6
    )
    # longer waits get closer
    if t2 > 0:
        assert abs(pricing.drifted(stock, target, t1 + t2) - target) <= abs(a - target) + 1e-9


def test_drift_time_constant() -> None:
    tau = rules.DRIFT_TAU_S
    assert tau == 3600.0
    assert pricing.drifted(0.0, 1000, 0.0) == 0.0
    assert pricing.drifted(0.0, 1000, -5.0) == 0.0
    assert math.isclose(pricing.drifted(0.0, 1000, tau), 1000 * (1 - math.exp(-1)))
    assert math.isclose(pricing.drifted(0.0, 1000, tau * math.log(2)), 500.0)
    assert round(pricing.drifted(5000.0, 1000, 20 * tau)) == 1000


@given(st.integers(0, 10**7), st.floats(0.01, 500))
@fast
def test_affordable_is_the_most_the_credits_buy(credits: int, price: float) -> None:
    units = pricing.affordable(credits, price)
    assert pricing.whole_cost(units, price) <= credits
    assert pricing.whole_cost(units + 1, price) > credits


def test_whole_cost() -> None:
    assert pricing.whole_cost(0, 3.0) == 0
    assert pricing.whole_cost(0.001, 3.0) == 1  # anything bought costs at least a credit
    assert pricing.whole_cost(10, 2.1) == 21  # no float-noise rounding up to 22
    assert pricing.whole_cost(3, 0.1) == 1
