"""The persistence contract: records, errors and the abstract `Store` every backend implements.

The contract, in one place so callers never need to read a backend:

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

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from .api_clones import CloneRecords
from .api_moderation import ModerationRecords
from .api_worlds import WorldRecords

ROLES: tuple[str, ...] = ("player", "moderator", "admin")  # lowest first: the staff order
MAX_RESERVE = 1_000_000
MAX_ENTITY_ID = 2**53 - 1  # ids travel as JSON numbers, exact in JavaScript below 2**53
MAX_AMOUNT = 10**15  # the largest credit amount of one posting; keeps sums far from 2**63
# The largest quantity of one logged item move: a storage bound, far above what one request may
# move (the wire's MAX_QTY, protocol/limits.py).
MAX_MOVE_QTY = 10**12
MAX_KEY = 256  # ledger account, holder and idempotency keys
MAX_LIST = 100_000  # the largest `limit` of the list_* methods


class StoreError(Exception):
    """The database refused or failed an operation; the message says which and why."""


class NameTaken(StoreError):
    """An account with that name (compared case-insensitively) already exists."""


class NotFound(StoreError):
    """The account (or other record) the operation needs does not exist."""


class NoSuchCharacter(NotFound):
    """The account has no character in the world the operation reads it from (a move)."""


class InsufficientFunds(StoreError):
    """A posting would take an owned ledger account (a key with ':') below zero."""

    def __init__(self, account: str, balance: int, amount: int) -> None:
        super().__init__(
            f"ledger account {account!r} holds {balance}; it cannot pay {-amount} "
            f"(short by {-amount - balance})"
        )
        self.account = account
        self.balance = balance  # before the transaction's postings to it
        self.amount = amount  # the transaction's net posting to it (negative)


class InsufficientItems(StoreError):
    """An item move would take a holding below zero (the holder has fewer than `need`)."""

    def __init__(self, holder: str, item: str, have: int, need: int) -> None:
        super().__init__(f"{holder!r} holds {have} {item!r}; the move needs {need}")
        self.holder = holder
        self.item = item
        self.have = have
        self.need = need


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


@dataclass(frozen=True)
class Posting:
    """One ledger entry: `amount` credits (non-zero, |amount| <= MAX_AMOUNT) added to `account`.

    Account keys are lowercase words optionally followed by ':'-separated parts. A key with a
    ':' ("player:7", "bounty:7") is an *owned* account and never goes below zero; a bare key
    ("mint", "market", "services", "insurer") is a *system* account, which may: it is where
    credits come from and go to.
    """

    account: str
    amount: int


@dataclass(frozen=True)
class ItemMove:
    """`qty` (>= 1) units of `item` from holder `source` to holder `destination`.

    `source=None` creates the units (mining, market drift), `destination=None` destroys them
    (drift, wreck expiry); never both None, never source == destination. Holder keys have the
    same form as ledger account keys ("ship:12", "wreck:40", "station:3:-4:1").
    """

    item: str
    qty: int
    source: str | None
    destination: str | None


@dataclass(frozen=True)
class Wreck:
    """A destroyed ship's persisted wreck; its cargo is the holdings of holder "wreck:<id>"."""

    world: str
    wreck_id: int  # the wreck entity's id (> 0)
    system_x: int
    system_y: int
    x: float
    y: float
    expires_at: float  # Unix time after which the world expires it
    origin_account: int | None  # whose ship it was (None: an NPC's)
    created_at: float = 0.0  # set by the store


@dataclass(frozen=True)
class Evidence:
    """One moderation record: something an account did that may be cheating or abuse."""

    world: str
    account_id: int
    tick: int  # the zone tick it happened on (>= 0)
    at: float  # Unix time
    code: str  # e.g. an ErrorCode such as "COOLDOWN"
    action: str  # e.g. the intent type, "fire"
    detail: dict[str, Any] = field(default_factory=dict)  # JSON object
    id: int = 0  # set by the store; 0 on rows not yet stored


@dataclass(frozen=True)
class Txn:
    """A committed ledger transaction, as `commit_txn` and `get_txn` return it.

    `result` is the caller's JSON object; `balances` and `holdings` are the balances of the
    accounts and the holdings of the holders the caller asked to have reported, as they were
    right after the transaction, read inside it. All three are stored with the transaction, so
    a replay returns exactly what the first commit returned.
    """

    id: int
    world: str
    idem: str
    kind: str
    account: str | None
    created_at: float
    result: dict[str, Any]
    balances: dict[str, int]
    holdings: dict[str, dict[str, int]]
    replay: bool  # True: read back from an earlier commit; this call applied nothing


@dataclass(frozen=True)
class LedgerTotals:
    """A full check of one world's ledger (see `Store.ledger_totals`)."""

    balance_sum: int  # sum of every account balance: 0 in a healthy ledger
    accounts: int
    transactions: int
    mismatched: tuple[str, ...]  # accounts whose balance differs from the sum of their entries
    unbalanced: tuple[int, ...]  # transactions whose entries do not sum to zero
    negative: tuple[str, ...]  # owned accounts below zero

    @property
    def balanced(self) -> bool:
        return self.balance_sum == 0 and not (self.mismatched or self.unbalanced or self.negative)


@dataclass(frozen=True)
class ItemTotals:
    """One item's conservation check (see `Store.item_totals`)."""

    held: int  # sum of every holder's holding
    created: int  # sum of moves with no source
    destroyed: int  # sum of moves with no destination
    mismatched: tuple[str, ...] = ()  # holders whose holding differs from their moves' net

    @property
    def conserved(self) -> bool:
        return self.held == self.created - self.destroyed and not self.mismatched


class Store(CloneRecords, ModerationRecords, WorldRecords, ABC):
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
        """Reserve `count` (1..1_000_000) fresh entity ids, returned as a range.

        The persisted counter advances atomically before this returns, so ids are never handed
        out twice: not to concurrent callers, not to other processes sharing the database, not
        after a restart. Ids start at 1. Ids of a block the caller never uses are simply skipped.
        Ids never exceed MAX_ENTITY_ID (2**53 - 1): past it, StoreError "exhausted".
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
    def get_meta(self, key: str, *, world: str | None = None) -> str | None:
        """The metadata value for `key`, or None: the server's (world None) or one world's
        (kept with the world's other rows, deleted with it, copied by a spatial fork)."""

    @abstractmethod
    def set_meta(self, key: str, value: str, *, world: str | None = None) -> None:
        """Set a metadata value (upsert), server-wide (world None) or of one world.
        ValueError for a server-wide key starting "world." (pass world= instead)."""

    # -- ledger and items -------------------------------------------------------------------

    @abstractmethod
    def commit_txn(
        self,
        world: str,
        idem: str,
        kind: str,
        *,
        account: str | None = None,
        postings: Sequence[Posting] = (),
        moves: Sequence[ItemMove] = (),
        character: Character | None = None,
        save_wreck: Wreck | None = None,
        delete_wreck: int | None = None,
        result: Mapping[str, Any] | None = None,
        report_accounts: Sequence[str] = (),
        report_holders: Sequence[str] = (),
        at: float | None = None,
    ) -> Txn:
        """Apply one economic transaction atomically and exactly once per (world, idem).

        In one database transaction: record the transaction (`kind`, the `account` it is for,
        `at` or now), add every posting to its ledger account (creating accounts at 0), apply
        the item moves in order, upsert `character` (its world must be `world`), save
        `save_wreck` and delete wreck `delete_wreck` (absent: no error), then read the balances
        of `report_accounts` and the holdings of `report_holders` and store them with `result`.

        Idempotent: if (world, idem) was committed before, nothing is applied and the stored
        Txn is returned with `replay=True`, whatever the other arguments say now.

        Refusals (nothing written): InsufficientFunds if an owned account's balance would go
        below zero; InsufficientItems if a move takes more than the source holds at that point;
        NotFound if `character`'s account does not exist. ValueError before any SQL for bad
        arguments, including postings that do not sum to zero, a zero amount or quantity, or
        a wreck / character of another world.
        """

    @abstractmethod
    def get_txn(self, world: str, idem: str) -> Txn | None:
        """The committed transaction with that idempotency key (replay=True), or None."""

    @abstractmethod
    def latest_txn(self, world: str, account: str, kind: str) -> Txn | None:
        """The most recent transaction of `kind` recorded for `account`, or None."""

    @abstractmethod
    def balance(self, world: str, account: str) -> int:
        """The ledger account's balance; 0 for an account never posted to."""

    @abstractmethod
    def ledger_balances(self, world: str) -> dict[str, int]:
        """Every ledger account of the world and its balance, by key."""

    @abstractmethod
    def ledger_totals(self, world: str) -> LedgerTotals:
        """Check the whole ledger of the world: balances sum to zero, each balance equals the
        sum of its entries, each transaction's entries sum to zero, no owned account negative.
        A full scan: for audits and tests, not for every request.
        """

    @abstractmethod
    def holdings(self, world: str, holder: str) -> dict[str, int]:
        """What the holder holds: {item: qty}, every qty > 0; empty if nothing."""

    @abstractmethod
    def all_holdings(self, world: str) -> dict[str, dict[str, int]]:
        """Every holder's holdings in the world: {holder: {item: qty}}."""

    @abstractmethod
    def item_totals(self, world: str) -> dict[str, ItemTotals]:
        """Per item ever moved in the world: held, created and destroyed totals, and the holders
        whose holding differs from the net of their moves (none in a healthy store). A full
        scan, like ledger_totals.
        """

    # -- wrecks -----------------------------------------------------------------------------

    @abstractmethod
    def save_wreck(self, wreck: Wreck) -> None:
        """Insert or replace the wreck (world, wreck_id); stamps created_at on insert."""

    @abstractmethod
    def get_wreck(self, world: str, wreck_id: int) -> Wreck | None:
        """The saved wreck, or None."""

    @abstractmethod
    def wrecks_in_system(self, world: str, x: int, y: int) -> list[Wreck]:
        """Every saved wreck in system (x, y) of `world`, by wreck id (expired ones included:
        expiring is the world's job)."""

    @abstractmethod
    def delete_wreck(self, world: str, wreck_id: int) -> bool:
        """Forget the wreck row (not its holdings: see commit_txn). True if it existed."""

    # -- evidence ---------------------------------------------------------------------------

    @abstractmethod
    def add_evidence(self, rows: Sequence[Evidence]) -> list[int]:
        """Store the rows in one transaction (their `id` is ignored); return the new ids in
        order. Evidence is an audit record: it outlives the account it names.
        """

    @abstractmethod
    def list_evidence(
        self, world: str, account_id: int | None = None, limit: int = 100
    ) -> list[Evidence]:
        """The world's evidence, newest first, optionally only about one account."""
