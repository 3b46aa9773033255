"""The economy: credits in a double-entry ledger, items as logged holdings, market prices.

`Economy` (facade.py) is what the world holds: its parts are `books` (balances, holds,
commit and replay), `catalog` (prices), `markets` (quote, trade, drift), `services` (the
station services table), `events` (grant, mining, deaths, loot, boarding, wrecks, bounties).
`accounts` names the ledger accounts and item holders; `checks` holds the refusals; `pricing`
is pure price math; `rules` holds the numbers; `vitals` reads a character's ship from
`Character.extra`; `audit` checks the books. Imports content, store and protocol only.
"""

from callister.economy.accounts import (
    INSURER,
    MARKET,
    MINT,
    SERVICES,
    StationRef,
    bounty_account,
    player_account,
    ship_holder,
    transfer,
    wreck_holder,
)
from callister.economy.audit import audit_books
from callister.economy.books import Receipt
from callister.economy.checks import EconomyError
from callister.economy.facade import Economy
from callister.economy.vitals import (
    VITAL_KEYS,
    Vitals,
    cargo_volume,
    vitals,
    with_extra,
    without_vitals,
)

__all__ = [
    "INSURER",
    "MARKET",
    "MINT",
    "SERVICES",
    "VITAL_KEYS",
    "Economy",
    "EconomyError",
    "Receipt",
    "StationRef",
    "Vitals",
    "audit_books",
    "bounty_account",
    "cargo_volume",
    "player_account",
    "ship_holder",
    "transfer",
    "vitals",
    "with_extra",
    "without_vitals",
    "wreck_holder",
]
