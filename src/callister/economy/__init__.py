"""The economy: credits in a double-entry ledger, items as logged holdings, market prices.

`Economy` (service.py) is what the world calls; `pricing` is pure price math; `rules` holds
the numbers; `vitals` reads a character's ship state from `Character.extra`. Imports content,
store and protocol only.
"""

from callister.economy.audit import audit_books
from callister.economy.service import (
    INSURER,
    MARKET,
    MINT,
    SERVICES,
    Economy,
    EconomyError,
    Receipt,
    StationRef,
    bounty_account,
    player_account,
    ship_holder,
    wreck_holder,
)
from callister.economy.vitals import VITAL_KEYS, Vitals, vitals, with_extra, without_vitals

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
    "player_account",
    "ship_holder",
    "vitals",
    "with_extra",
    "without_vitals",
    "wreck_holder",
]
