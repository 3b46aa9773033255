"""`Store`: the repositories over one `Database`, and `open_store(url)` that makes one.

The contract every repository keeps, in one place so callers never need to read SQL:

- Synchronous and thread-safe. Call it from worker threads (the server's writer thread or
  `run_in_executor`), never on the asyncio event loop.
- Every public method is one database transaction, committed (durably, on SQLite with the default
  ``synchronous=FULL``) before it returns. If it raises, nothing it was asked to do was written.
- Invalid arguments raise `ValueError` before the database is touched; database trouble raises
  `StoreError` (or its subclasses `NameTaken` / `NotFound`); a ledger transaction the data
  refuses raises `InsufficientFunds` / `InsufficientItems` and writes nothing.
- Integers that reach the database (ids, sector coordinates) are signed 64-bit; floats are IEEE
  doubles and round-trip exactly; NaN and infinities are refused because JSON cannot hold them
  and a NaN position would poison every system that reads it back.
"""

from __future__ import annotations

import os
from typing import Self

from .accounts import AccountRepository
from .characters import CharacterRepository
from .clones import CloneRowRepository
from .cluster import ClusterRepository
from .content import WorldContentRepository
from .database import Database
from .deletions import DeletionRepository
from .invites import InviteRepository
from .ledger import LedgerRepository
from .meta import MetaRepository
from .missions import MissionRepository
from .moderation import ModerationRepository
from .parties import PartyRepository
from .url import open_database
from .worlds import WorldRepository


class Store:
    """One repository per aggregate, all over `db` (its connection, dialect, transactions and
    migrations: `store.db.close()`, `store.db.schema_version()`, `store.db.dialect`).
    A ``with`` block closes the database at its end."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.accounts = AccountRepository(db)
        self.characters = CharacterRepository(db)
        self.ledger = LedgerRepository(db)
        self.meta = MetaRepository(db)
        self.worlds = WorldRepository(db)
        self.deletions = DeletionRepository(db)
        self.clones = CloneRowRepository(db)
        self.moderation = ModerationRepository(db)
        self.cluster = ClusterRepository(db)
        self.content = WorldContentRepository(db)
        self.invites = InviteRepository(db)  # invite links and new players' starts
        self.parties = PartyRepository(db)
        self.missions = MissionRepository(db)

    def __repr__(self) -> str:
        return f"Store({self.db!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.close()


def open_store(url: str | os.PathLike[str]) -> Store:
    """Open (creating and migrating as needed) the database the URL names, with its
    repositories. The accepted URLs are `open_database`'s (store/url.py)."""
    return Store(open_database(url))
