"""Market pricing: pure functions of (station, item, stock). No I/O, no clocks.

A station's *target stock* of an item comes from a stable hash of the station key and the item
key (never Python's `hash()`, which is salted per process), so every server agrees. The value
of the n-th unit in stock is

    base x clamp(sqrt(target / max(n, 1)), 0.25, 4) x world multiplier

so scarce items cost more. Buying takes units n, n-1, ... off the top of the stock and pays
each one's value x 1.05 (rounded up); selling puts units n+1, n+2, ... on top and receives
each one's value x 0.95 (rounded down). Every unit traded therefore moves the price, and a
buy followed by selling the same units back (or the reverse) always loses money.
"""

from __future__ import annotations

import hashlib
import math

from callister.economy import rules
from callister.protocol.limits import MAX_QTY


def stable_u64(*parts: str) -> int:
    """A 64-bit integer hash of the parts, identical on every machine and process."""
    data = "\x1f".join(parts).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def stable_unit(*parts: str) -> float:
    """A stable number in [0, 1) from the parts (53 bits of stable_u64)."""
    return (stable_u64(*parts) >> 11) / float(1 << 53)


def target_stock(station_key: str, item: str, base_price: int) -> int:
    """The stock the station's market drifts towards: about STOCK_VALUE credits' worth,
    times a per-station factor in STOCK_SPREAD, within [STOCK_MIN, STOCK_MAX]."""
    low, high = rules.STOCK_SPREAD
    factor = low + (high - low) * stable_unit("stock", station_key, item)
    units = rules.STOCK_VALUE / max(base_price, 1) * factor
    return min(rules.STOCK_MAX, max(rules.STOCK_MIN, round(units)))


def price_factor(target: int, stock: int) -> float:
    """clamp(sqrt(target / max(stock, 1)), PRICE_FACTOR_MIN, PRICE_FACTOR_MAX)."""
    raw = math.sqrt(target / max(stock, 1))
    return min(rules.PRICE_FACTOR_MAX, max(rules.PRICE_FACTOR_MIN, raw))


def unit_value(base: int, target: int, n: int, multiplier: float = 1.0) -> float:
    """The value of the n-th unit in stock (before the buy/sell spread)."""
    return base * price_factor(target, n) * multiplier


def _ceil(x: float) -> int:
    # Round to micro-credits first, so 21.000000000004 (float noise) does not become 22.
    return math.ceil(round(x, 6))


def _floor(x: float) -> int:
    return math.floor(round(x, 6))


def buy_unit_price(base: int, target: int, stock: int, multiplier: float = 1.0) -> int:
    """What buying one unit costs while the station holds `stock` (it takes the top unit);
    at least 1 credit. With no stock this is the price the next stocked unit would have."""
    return max(1, _ceil(unit_value(base, target, max(stock, 1), multiplier) * rules.BUY_MARKUP))


def sell_unit_price(base: int, target: int, stock: int, multiplier: float = 1.0) -> int:
    """What selling one unit pays while the station holds `stock` (it becomes unit stock+1)."""
    return max(0, _floor(unit_value(base, target, stock + 1, multiplier) * rules.SELL_MARKDOWN))


def buy_cost(base: int, target: int, stock: int, qty: int, multiplier: float = 1.0) -> int:
    """The total cost of buying `qty` units from `stock`, walking the price unit by unit.

    ValueError if qty < 1 or qty > stock (the station cannot sell what it has not got).
    """
    if qty < 1 or qty > stock:
        raise ValueError(f"cannot buy {qty} units from a stock of {stock}")
    return sum(buy_unit_price(base, target, stock - k, multiplier) for k in range(qty))


def sell_proceeds(base: int, target: int, stock: int, qty: int, multiplier: float = 1.0) -> int:
    """What selling `qty` units into `stock` pays in total, walking the price unit by unit."""
    if qty < 1 or stock < 0:
        raise ValueError(f"cannot sell {qty} units into a stock of {stock}")
    return sum(sell_unit_price(base, target, stock + k, multiplier) for k in range(qty))


def drifted(stock: float, target: int, elapsed_s: float, tau_s: float = rules.DRIFT_TAU_S) -> float:
    """Stock after `elapsed_s` seconds of exponential relaxation towards `target`.

    Never overshoots: the result lies between `stock` and `target`. Negative or zero elapsed
    time changes nothing.
    """
    if elapsed_s <= 0:
        return stock
    return target + (stock - target) * math.exp(-elapsed_s / tau_s)


def fuel_price(station_key: str, multiplier: float = 1.0) -> float:
    """Credits per fuel unit at the station: FUEL_PRICE x a stable factor in FUEL_SPREAD x
    the world multiplier, rounded to cents (at least 0.01)."""
    low, high = rules.FUEL_SPREAD
    factor = low + (high - low) * stable_unit("fuel", station_key)
    return max(0.01, round(rules.FUEL_PRICE * factor * multiplier, 2))


def whole_cost(units: float, price: float) -> int:
    """The integer credits `units` at a fractional `price` cost: rounded up, at least 1 when
    anything is bought."""
    if units <= 0:
        return 0
    return max(1, _ceil(units * price))


def affordable(credits: int, price: float) -> int:
    """The most whole units `credits` pay for at `price` each (whole_cost of them <= credits)."""
    if price <= 0:
        return MAX_QTY
    units = max(0, math.floor(credits / price))
    # float noise at the boundary (1 // 0.01 == 99.0): settle on the exact answer
    while whole_cost(units + 1, price) <= credits:
        units += 1
    while units > 0 and whole_cost(units, price) > credits:
        units -= 1
    return units
