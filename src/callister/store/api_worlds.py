"""The store's worlds contract (issue 5: worlds, invites, moves, deletion jobs, audit).

Mixed into `Store` (api.py); every method follows the contract in api.py's docstring: one
transaction each, ValueError for bad arguments before the database is touched, StoreError for
database trouble.

Every table holding one world's data has a `world` column; `world_tables()` discovers them from
the schema (so tables other features add are covered without a list here). `world_audit` has no
such column on purpose: the audit record of what happened to a world outlives it.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

VISIBILITIES: tuple[str, ...] = ("public", "private", "invite")
MEMBER_STATUSES: tuple[str, ...] = ("invited", "member")
JOB_STATES: tuple[str, ...] = ("approval", "countdown", "deleting")
TRANSFER_ACCOUNT = "transfer"  # the system ledger account credits cross worlds through
FORK_ACCOUNT = "fork"  # the system ledger account that balances a fork's opening balances
MAX_WORLD_NAME = 32


@dataclass(frozen=True)
class WorldRecord:
    """One world in the registry."""

    name: str
    seed: int
    owner: int | None  # the owning account (private worlds); None: the server
    visibility: str  # one of VISIBILITIES
    player_limit: int  # 0: unlimited
    rules: dict[str, Any]  # JSON object (see callister.worlds.rules.WorldRules)
    state: str = "live"  # 'live' or 'deleting'
    created_at: float = 0.0


@dataclass(frozen=True)
class DeletionJob:
    """A kill-switch job: drives a world's deletion in resumable batches."""

    id: int
    world: str
    state: str  # one of JOB_STATES
    requested_by: int
    requested_at: float
    approvals: list[dict[str, Any]]
    approve_by: float | None  # deadline for the second administrator (None: not needed)
    countdown_s: int
    ends_at: float | None  # when the countdown ends (set when it starts)
    override: bool  # the public world's explicit override
    progress: dict[str, int]  # rows deleted so far per table
    audit_id: int


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: float
    actor: int | None
    action: str
    subject: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class MoveResult:
    """What an atomic move of a character between worlds carried."""

    audit_id: int
    account_id: int
    source: str
    destination: str
    ship_id: int
    credits: int
    cargo: dict[str, int]
    moved_rows: dict[str, int] = field(default_factory=dict)  # other tables (clones aboard)


class WorldRecords:
    """Abstract worlds methods of `Store` (implemented in _worlds.py)."""

    # -- the registry -------------------------------------------------------------------
    @abstractmethod
    def create_world(self, record: WorldRecord, actor: int | None) -> WorldRecord:
        """Register a new world (NameTaken if the name exists) and audit it."""

    @abstractmethod
    def ensure_world(self, record: WorldRecord) -> WorldRecord:
        """Register the world unless it exists; return the stored record."""

    @abstractmethod
    def get_world(self, name: str) -> WorldRecord | None: ...

    @abstractmethod
    def list_worlds(self) -> list[WorldRecord]: ...

    @abstractmethod
    def world_stats(self, name: str) -> dict[str, int]:
        """{"characters": n, "rows": rows keyed to the world over every world table}."""

    # -- membership, homes ------------------------------------------------------------------
    @abstractmethod
    def set_member(self, world: str, account_id: int, status: str, by: int | None) -> None:
        """Invite (status 'invited') or admit ('member') an account; audited."""

    @abstractmethod
    def remove_member(self, world: str, account_id: int) -> bool: ...

    @abstractmethod
    def list_members(self, world: str | None = None) -> list[tuple[str, int, str]]:
        """(world, account_id, status) rows, of one world or all."""

    @abstractmethod
    def set_home(self, account_id: int, world: str) -> None: ...

    @abstractmethod
    def get_home(self, account_id: int) -> str | None:
        """The account's home world, None if it has not chosen one (the public world)."""

    @abstractmethod
    def world_characters(self, world: str) -> list[int]:
        """Account ids with a character in the world."""

    @abstractmethod
    def characters_of(self, account_id: int) -> list[str]:
        """The worlds the account has a character in."""

    # -- audit ----------------------------------------------------------------------------
    @abstractmethod
    def add_world_audit(
        self, actor: int | None, action: str, subject: str, detail: Mapping[str, Any]
    ) -> int: ...

    @abstractmethod
    def list_world_audit(
        self, subject: str | None = None, limit: int = 100
    ) -> list[AuditRecord]: ...

    # -- moving a character -----------------------------------------------------------------
    @abstractmethod
    def move_character(
        self,
        account_id: int,
        source: str,
        destination: str,
        *,
        placement: Mapping[str, Any] | None = None,
        actor: int | None = None,
        reason: str = "move",
    ) -> MoveResult:
        """Move the account's character with its ship, cargo, credits and the rows of other
        tables aboard the ship (clones) from `source` to `destination` in ONE transaction.

        Credits leave the source ledger to the `transfer` account and enter the destination's
        from its `transfer` account (both transactions keyed `move:<audit id>`); cargo leaves
        as destroyed and arrives as created in the destination's item log. `placement` (sector,
        position, home) replaces the character's position (the destination's universe differs).
        NotFound: no character in source; ValueError: already a character in destination.
        """

    # -- the kill switch ----------------------------------------------------------------------
    @abstractmethod
    def create_deletion_job(
        self,
        world: str,
        requested_by: int,
        *,
        countdown_s: int,
        approve_by: float | None,
        override: bool,
        at: float,
        detail: Mapping[str, Any] | None = None,
    ) -> DeletionJob:
        """Record the request (and its audit entry, with `detail` added: e.g. whether the
        two-person rule applied). ValueError if a job exists already."""

    @abstractmethod
    def get_deletion_job(self, world: str) -> DeletionJob | None: ...

    @abstractmethod
    def list_deletion_jobs(self) -> list[DeletionJob]: ...

    @abstractmethod
    def approve_deletion(self, world: str, by: int, at: float) -> DeletionJob:
        """A second administrator's approval (not the requester's); the job moves to
        'countdown' with ends_at = at + countdown_s."""

    @abstractmethod
    def start_countdown(self, world: str, at: float) -> DeletionJob: ...

    @abstractmethod
    def cancel_deletion(self, world: str, by: int | None, why: str) -> bool:
        """Drop a job that has not reached 'deleting' (expired or cancelled); audited."""

    @abstractmethod
    def begin_deleting(self, world: str) -> DeletionJob:
        """Job to 'deleting' and the world to state 'deleting' (one transaction), and an audit
        record of this run (`delete_run`): a resumed deletion counts its runs."""

    @abstractmethod
    def record_stayed(self, world: str, account_id: int, why: str) -> bool:
        """Audit that the account's character stays in the world being deleted (and is deleted
        with it), with the reason. False if already recorded (a resumed job)."""

    @abstractmethod
    def close_deletion_ledger(self, world: str, ledger: Mapping[str, Any]) -> dict[str, Any]:
        """Audit the world's closing ledger; the first closing is kept, and returned, if a run
        before this one recorded it already. ValueError unless the world is being deleted."""

    @abstractmethod
    def deletion_story(self, world: str) -> dict[str, Any]:
        """What the world's deletion did so far, over every run, read from the audit records
        written with each step: {"runs", "moved": [account ids], "moves": [{"account", "to",
        "ship", "credits", "audit"}], "stayed": [account ids], "stayed_why": {id: why},
        "ledger": closing ledger or None}. ValueError if there is no job."""

    @abstractmethod
    def world_tables(self) -> list[str]:
        """Every table with a `world` column, discovered from the schema."""

    @abstractmethod
    def delete_world_batch(self, world: str, table: str, limit: int) -> int:
        """Delete up to `limit` rows of the world from the table; records progress in the
        job. Returns the rows deleted (0: the table is clear of the world)."""

    @abstractmethod
    def finish_world_deletion(self, world: str, detail: Mapping[str, Any]) -> int:
        """Last step: remove the registry row and the job, and write the audit record
        (returned id) in one transaction; refused (ValueError) while any other table holds a
        row of the world. The record is `detail` plus the job (who asked, approvals, rows
        deleted per table) and the whole `deletion_story`, so an interrupted and resumed
        deletion is told in full."""

    @abstractmethod
    def scrub(self) -> None:
        """Make deleted rows unrecoverable from the database files (SQLite: VACUUM and a WAL
        truncation; PostgreSQL: VACUUM of the world tables)."""

    @abstractmethod
    def world_checksum(self, world: str) -> str:
        """SHA-256 over every row keyed to the world in every world table (stable order), meta
        included: equal checksums before and after mean the world's rows are byte-identical."""

    # -- forking -------------------------------------------------------------------------------
    @abstractmethod
    def fork_world(
        self,
        source: str,
        record: WorldRecord,
        *,
        actor: int | None,
        spatial: bool,
        placement: Callable[[int], Mapping[str, Any]] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """Create `record` from the source's persisted state, read in one transaction.

        spatial=True (same seed): characters as they are, deltas, discoveries, wrecks, station
        stocks. spatial=False (new seed): characters at `placement(account_id)`, with their
        ships' cargo and credits; nothing tied to the old space. Ledger balances open the new
        world in one 'fork' transaction. progress(done, total) is called as rows are copied.
        Returns {"rows": {table: n}, "skipped": [tables not copied]}.
        """
