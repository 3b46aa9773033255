"""The store's moderation contract (issue 6: reports, footage, flags, actions, bans, audit log).

Mixed into `Store` (api.py); every method follows the contract in api.py's docstring: one
transaction each, ValueError for bad arguments before the database is touched, StoreError for
database trouble. Every table has a `world` column (a world is deleted by key). Text written
here (report text, reasons) is stored as given and must be shown as literal text.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any

REPORT_REASONS: tuple[str, ...] = (
    "griefing", "cheating", "bot", "harassment", "spam", "illegal_clone", "exploit", "other",
)  # fmt: skip
REPORT_TARGETS: tuple[str, ...] = ("player", "ship", "clone")
REPORT_STATES: tuple[str, ...] = ("open", "closed")
FLAG_STATES: tuple[str, ...] = ("open", "dismissed", "actioned")
BAN_KINDS: tuple[str, ...] = ("account", "address")
MAX_REPORT_TEXT = 1000
MAX_FOOTAGE_BYTES = 64 * 1024 * 1024
"""The largest footage one row may hold (the rolling window of a very busy system is far less;
docs/moderation.md gives measured sizes)."""


@dataclass(frozen=True)
class Report:
    world: str
    reporter_id: int
    target_kind: str  # one of REPORT_TARGETS
    target: str  # the account id, ship id or clone id reported, as text
    target_account: int | None  # the account behind the target when known
    reason: str  # one of REPORT_REASONS
    text: str  # the reporter's words (<= MAX_REPORT_TEXT), literal text
    at: float
    zone: str = ""
    tick: int = 0
    footage_id: int | None = None
    chat: list[dict[str, Any]] = field(default_factory=list)  # the log around the report
    status: str = "open"
    id: int = 0


@dataclass(frozen=True)
class FootageRecord:
    world: str
    zone: str
    start_tick: int
    end_tick: int
    at: float
    reason: str  # "report:<id>", "moderator", "watch:<account>"
    size: int
    data: bytes = b""  # empty when listed
    id: int = 0


@dataclass(frozen=True)
class Flag:
    world: str
    detector: str  # e.g. "bot", "unlicensed_clone", "refusals", "economy", "flood"
    account_id: int
    score: float  # 0..1
    evidence: dict[str, Any]
    at: float
    subject: str = ""  # what the flag is about beyond the account (a clone id, a rid)
    status: str = "open"
    id: int = 0


@dataclass(frozen=True)
class AuditEntry:
    world: str
    moderator_id: int
    action: str  # warn, mute, kick, ban, unban, delete_clone, save_footage, watch, ...
    target_account: int | None
    reason: str
    at: float
    detail: dict[str, Any] = field(default_factory=dict)
    id: int = 0


@dataclass(frozen=True)
class Ban:
    world: str
    kind: str  # "account" | "address"
    value: str  # the account id or the address
    until: float | None  # Unix time; None = permanent
    reason: str
    by: int
    at: float
    id: int = 0


@dataclass(frozen=True)
class Login:
    world: str
    account_id: int
    address: str
    at: float


class ModerationRecords:
    """Abstract moderation methods of `Store` (implemented in _moderation.py)."""

    @abstractmethod
    def add_report(self, report: Report) -> int:
        """Store a report (status "open") and return its id."""

    @abstractmethod
    def get_report(self, world: str, report_id: int) -> Report | None: ...

    @abstractmethod
    def list_reports(
        self, world: str, status: str | None = "open", limit: int = 100
    ) -> list[Report]:
        """Reports newest first, optionally only those in `status`."""

    @abstractmethod
    def set_report_status(self, world: str, report_id: int, status: str) -> bool: ...

    @abstractmethod
    def save_footage(self, record: FootageRecord) -> int:
        """Store footage bytes (at most MAX_FOOTAGE_BYTES) and return the id."""

    @abstractmethod
    def get_footage(self, world: str, footage_id: int) -> FootageRecord | None:
        """The footage with its bytes."""

    @abstractmethod
    def list_footage(self, world: str, limit: int = 100) -> list[FootageRecord]:
        """Footage newest first, without bytes."""

    @abstractmethod
    def add_flag(self, flag: Flag) -> int:
        """Store a flag; an open flag of the same detector, account and subject is updated
        instead (score, evidence, time) and its id returned."""

    @abstractmethod
    def list_flags(
        self, world: str, status: str | None = "open", limit: int = 100
    ) -> list[Flag]: ...

    @abstractmethod
    def set_flag_status(self, world: str, flag_id: int, status: str) -> bool: ...

    @abstractmethod
    def add_audit(self, entry: AuditEntry) -> int: ...

    @abstractmethod
    def list_audit(
        self, world: str, target_account: int | None = None, limit: int = 100
    ) -> list[AuditEntry]: ...

    @abstractmethod
    def add_ban(self, ban: Ban) -> int: ...

    @abstractmethod
    def active_bans(self, world: str, now: float) -> list[Ban]:
        """Bans in force at `now` (permanent or not yet expired), newest first."""

    @abstractmethod
    def bans_on(
        self, world: str, account_id: int | None, address: str | None, now: float
    ) -> list[Ban]:
        """The bans in force at `now` on this account or this address (either may be None),
        newest first: what admission checks (moderation/admission.py), one indexed query."""

    @abstractmethod
    def lift_ban(self, world: str, ban_id: int) -> bool: ...

    @abstractmethod
    def set_watch(
        self, world: str, account_id: int, watched: bool, by: int, reason: str
    ) -> None: ...

    @abstractmethod
    def list_watch(self, world: str) -> list[int]: ...

    @abstractmethod
    def record_login(self, login: Login) -> None: ...

    @abstractmethod
    def list_logins(
        self, world: str, account_id: int | None = None, limit: int = 1000
    ) -> list[Login]:
        """Logins newest first (all accounts, or one)."""

    @abstractmethod
    def list_txns(
        self, world: str, kinds: tuple[str, ...], after_id: int, since: float, limit: int = 1000
    ) -> list[Any]:
        """Ledger transactions (`Txn`) of these kinds with id > after_id created at or after
        `since`, oldest first: what the economic detectors read of the books."""
