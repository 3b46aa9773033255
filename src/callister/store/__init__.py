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
    NoSuchCharacter,
    NotFound,
    Posting,
    Store,
    StoreError,
    Txn,
    Wreck,
)
from .api_clones import (
    CloneFilter,
    CloneInfo,
    CloneRow,
    Consent,
    MemoryRow,
    RelationshipRow,
    TrustedKey,
)
from .api_moderation import (
    REPORT_REASONS,
    REPORT_TARGETS,
    AuditEntry,
    Ban,
    Flag,
    FootageRecord,
    Login,
    Report,
)
from .api_worlds import AuditRecord, DeletionJob, MoveResult, WorldRecord
from .url import open_store

__all__ = [
    "REPORT_REASONS",
    "REPORT_TARGETS",
    "ROLES",
    "Account",
    "AuditEntry",
    "AuditRecord",
    "Ban",
    "Character",
    "CloneFilter",
    "CloneInfo",
    "CloneRow",
    "Consent",
    "DeletionJob",
    "Evidence",
    "Flag",
    "FootageRecord",
    "InsufficientFunds",
    "InsufficientItems",
    "ItemMove",
    "ItemTotals",
    "LedgerTotals",
    "Login",
    "MemoryRow",
    "MoveResult",
    "NameTaken",
    "NoSuchCharacter",
    "NotFound",
    "Posting",
    "RelationshipRow",
    "Report",
    "Store",
    "StoreError",
    "TrustedKey",
    "Txn",
    "WorldRecord",
    "Wreck",
    "open_store",
]
