"""Persistence: one `Store` interface with SQLite (default) and PostgreSQL backends.

A leaf layer: it imports nothing else from callister. Open one with `open_store(url)`; the
contract every backend keeps (transactions, thread-safety, errors) is in `callister.store.api`.
"""

from .api import (
    ROLES,
    Account,
    Character,
    Evidence,
    InsufficientFunds,
    InsufficientItems,
    ItemMove,
    ItemTotals,
    LedgerTotals,
    NameTaken,
    NotFound,
    Posting,
    Store,
    StoreError,
    Txn,
    Wreck,
)
from .url import open_store

__all__ = [
    "ROLES",
    "Account",
    "Character",
    "Evidence",
    "InsufficientFunds",
    "InsufficientItems",
    "ItemMove",
    "ItemTotals",
    "LedgerTotals",
    "NameTaken",
    "NotFound",
    "Posting",
    "Store",
    "StoreError",
    "Txn",
    "Wreck",
    "open_store",
]
