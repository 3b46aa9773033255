"""The persistence contract: records, errors and the abstract `Store` every backend implements.

The contract, in one place so callers never need to read a backend:

- Synchronous and thread-safe. Call it from worker threads (the server's writer thread or
  `run_in_executor`), never on the asyncio event loop.
- Every public method is one database transaction, committed (durably, on SQLite with the default
  ``synchronous=FULL``) before it returns. If it raises, nothing it was asked to do was written.
- Invalid arguments raise `ValueError` before the database is touched; database trouble raises
  `StoreError` (or its subclasses `NameTaken` / `NotFound`).
- Integers that reach the database (ids, sector coordinates) are signed 64-bit; floats are IEEE
  doubles and round-trip exactly; NaN and infinities are refused because JSON cannot hold them
  and a NaN position would poison every system that reads it back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

ROLES: tuple[str, ...] = ("player", "moderator", "admin")
MAX_RESERVE = 1_000_000


class StoreError(Exception):
    """The database refused or failed an operation; the message says which and why."""


class NameTaken(StoreError):
    """An account with that name (compared case-insensitively) already exists."""


class NotFound(StoreError):
    """The account (or other record) the operation needs does not exist."""


@dataclass(frozen=True)
class Account:
    id: int
    name: str  # as registered (display form); uniqueness ignores case
    password_hash: str
    role: str  # one of ROLES
    created_at: float  # Unix time, set by the store
    banned: bool = False


@dataclass(frozen=True)
class Character:
    """One account's ship in one world: where it is and where it respawns."""

    account_id: int
    world: str
    ship_id: int
    hull: str
    system_x: int  # sector coordinates, the full signed 64-bit range
    system_y: int
    x: float
    y: float
    vx: float
    vy: float
    angle: float
    docked_at: int | None  # station index in the current system, or None in space
    home_x: int
    home_y: int
    home_station: int
    extra: dict[str, Any]  # JSON object for fields later features add (fuel, cargo, ...)
    updated_at: float = 0.0  # Unix time of the save that wrote it; set by the store


class Store(ABC):
    """One persistence interface over SQLite (default) or PostgreSQL; see the module docstring."""

    backend: ClassVar[str]  # "sqlite" | "postgresql"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abstractmethod
    def close(self) -> None:
        """Release the connection. Idempotent; any later call raises StoreError."""

    @abstractmethod
    def schema_version(self) -> int:
        """The highest migration applied to this database."""

    # -- accounts ---------------------------------------------------------------------------

    @abstractmethod
    def create_account(self, name: str, password_hash: str, role: str = "player") -> Account:
        """Create an account with a fresh id (never reused, even after deletion).

        Raises NameTaken if the name equals an existing one ignoring case (Unicode case folding
        after NFKC normalisation, so "ｆｏｏ" and "FOO" collide with "foo").
        """

    @abstractmethod
    def get_account(self, account_id: int) -> Account | None:
        """The account with that id, or None."""

    @abstractmethod
    def get_account_by_name(self, name: str) -> Account | None:
        """The account whose name matches ignoring case, or None."""

    @abstractmethod
    def set_role(self, name: str, role: str) -> Account:
        """Give the named account a role from ROLES and return it updated.

        Raises ValueError for an unknown role, NotFound for an unknown name.
        """

    @abstractmethod
    def set_banned(self, name: str, banned: bool) -> Account:
        """Ban or unban the named account and return it updated; NotFound for an unknown name.

        Banning does not end sessions by itself: the caller decides that.
        """

    @abstractmethod
    def set_password_hash(self, account_id: int, password_hash: str) -> None:
        """Replace the account's password hash; NotFound for an unknown id."""

    @abstractmethod
    def list_accounts(self, limit: int = 100, offset: int = 0) -> list[Account]:
        """Accounts in id (creation) order, `limit` of them after skipping `offset`."""

    @abstractmethod
    def delete_account(self, name: str) -> None:
        """Delete the named account with its sessions, characters and discoveries.

        Raises NotFound for an unknown name. Destructive: callers gate it behind admin rights.
        """

    # -- sessions ---------------------------------------------------------------------------

    @abstractmethod
    def create_session(self, account_id: int, token_hash: str, expires_at: float) -> None:
        """Record a session. `token_hash` must be the SHA-256 hex digest of the token (the raw
        token is never stored). NotFound for an unknown account; StoreError if the hash exists.
        """

    @abstractmethod
    def get_session(self, token_hash: str, now: float) -> int | None:
        """The account id of the session, or None if absent or expired (expires_at <= now)."""

    @abstractmethod
    def delete_session(self, token_hash: str) -> None:
        """Forget a session (logout). Deleting an absent session is not an error."""

    @abstractmethod
    def purge_sessions(self, now: float) -> int:
        """Delete every expired session (expires_at <= now); return how many."""

    # -- entity ids -------------------------------------------------------------------------

    @abstractmethod
    def reserve_ids(self, count: int) -> range:
        """Reserve `count` (1..1_000_000) fresh 64-bit entity ids, returned as a range.

        The persisted counter advances atomically before this returns, so ids are never handed
        out twice: not to concurrent callers, not to other processes sharing the database, not
        after a restart. Ids start at 1. Ids of a block the caller never uses are simply skipped.
        """

    # -- characters -------------------------------------------------------------------------

    @abstractmethod
    def save_character(self, c: Character) -> None:
        """Insert or replace the character of (c.account_id, c.world); stamps updated_at.

        NotFound if the account does not exist; ValueError for non-finite floats, out-of-range
        integers or an `extra` that is not a JSON object of JSON values.
        """

    @abstractmethod
    def save_characters(self, cs: Sequence[Character]) -> None:
        """save_character for each, all in one transaction: all are written or none are.

        Every character is validated before anything is written. Checkpoints use this.
        """

    @abstractmethod
    def load_character(self, account_id: int, world: str) -> Character | None:
        """The saved character of that account in that world, or None."""

    @abstractmethod
    def characters_in_system(self, world: str, x: int, y: int) -> list[Character]:
        """Every saved character whose current system is (x, y) in `world`, by account id."""

    # -- universe deltas --------------------------------------------------------------------

    @abstractmethod
    def put_delta(self, world: str, x: int, y: int, key: str, value: Any) -> None:
        """Set one player-made change of system (x, y): `key` -> any JSON value (upsert)."""

    @abstractmethod
    def put_deltas(self, world: str, items: Sequence[tuple[int, int, str, Any]]) -> None:
        """put_delta for each (x, y, key, value), in one transaction: all or none.

        If a (x, y, key) appears twice, the later item wins.
        """

    @abstractmethod
    def get_deltas(self, world: str, x: int, y: int) -> dict[str, Any]:
        """Every delta of system (x, y) in `world` as {key: value}; empty if none."""

    @abstractmethod
    def delete_delta(self, world: str, x: int, y: int, key: str) -> None:
        """Remove one delta; removing an absent one is not an error."""

    # -- discoveries ------------------------------------------------------------------------

    @abstractmethod
    def add_discovery(self, account_id: int, world: str, x: int, y: int, at: float) -> bool:
        """Record that the account has seen system (x, y). True if new; a repeat changes
        nothing (the first discovery time is kept). NotFound for an unknown account.
        """

    @abstractmethod
    def list_discoveries(
        self, account_id: int, world: str, limit: int = 10_000
    ) -> list[tuple[int, int]]:
        """The account's discovered systems in `world`, oldest first, at most `limit`."""

    # -- metadata ---------------------------------------------------------------------------

    @abstractmethod
    def get_meta(self, key: str) -> str | None:
        """The server metadata value for `key`, or None."""

    @abstractmethod
    def set_meta(self, key: str, value: str) -> None:
        """Set a server metadata value (upsert)."""
