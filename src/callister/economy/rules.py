"""The economy's numbers, in one place. Prices are credits (integers); fuel is in tank units.

Every figure here is a default a world may scale with `Economy(price_multiplier=...)`; the
formulas that use them live in `pricing.py` (markets), `catalog.py` (services, insurance) and
`events.py` (bounties). Request limits (request ids, quantities) are the wire's:
`protocol/limits.py`.
"""

from __future__ import annotations

from typing import Final

# -- players -----------------------------------------------------------------------------------
STARTING_CREDITS: Final = 2000
"""Credits the mint grants a player once, when their ledger account is opened."""

# -- markets (pricing.py) ------------------------------------------------------------------------
BUY_MARKUP: Final = 1.05
"""A player buys at the unit value +5 % ..."""
SELL_MARKDOWN: Final = 0.95
"""... and sells at -5 %, so buying and selling back at one station always loses money."""
PRICE_FACTOR_MIN: Final = 0.25
PRICE_FACTOR_MAX: Final = 4.0
"""Unit value = base x clamp(sqrt(target / stock), MIN, MAX) x world multiplier."""
STOCK_VALUE: Final = 20_000
"""An average station keeps about this many credits' worth of each item (cheap goods in bulk,
precious ones by the handful): target stock = STOCK_VALUE / base price x a station factor."""
STOCK_SPREAD: Final = (0.3, 2.0)
"""The per-station, per-item factor on the target stock is drawn from this range (stable
hash of the station key and item), so stations differ in what is cheap."""
STOCK_MIN: Final = 5
STOCK_MAX: Final = 5000
DRIFT_TAU_S: Final = 3600.0
"""Stock relaxes towards its target as exp(-t / tau): about 63 % of the way in an hour."""

# -- services (catalog.py) -----------------------------------------------------------------------
FUEL_PRICE: Final = 3.0
"""Credits per fuel unit at an average station; each station's price is this x a stable
factor from FUEL_SPREAD (x the world multiplier), rounded to cents."""
FUEL_SPREAD: Final = (0.75, 1.5)
INSURANCE_PREMIUM: Final = 0.10
"""One policy costs this fraction of the hull's price and covers one loss; it lapses when the
ship is destroyed or replaced. The starter hull is not insurable (it is replaced free)."""
INSURANCE_PAYOUT: Final = 0.60
"""An insured loss pays this fraction of the lost hull's price."""
TRADE_IN: Final = 0.50
"""Buying a hull scraps the old one for this fraction of its price, scaled by its hull
points left (a wreck is worth little); the starter hull trades in for nothing."""
MIN_BOUNTY: Final = 100
MAX_BOUNTY: Final = 1_000_000_000

# -- cargo -------------------------------------------------------------------------------------
ORE_VOLUME: Final = 1
"""Cargo units one unit of ore takes (commodities carry their own volume)."""
