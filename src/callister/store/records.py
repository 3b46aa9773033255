"""The store's records: the frozen dataclasses every repository takes and returns, and the
limits and vocabularies they are checked against. Plain data; no SQL here.

Grouped by repository: accounts and characters, the ledger, moderation, worlds, clones, the
cluster's zone state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# -- accounts, characters, the ledger -------------------------------------------------------

ROLES: tuple[str, ...] = ("player", "moderator", "admin")  # lowest first: the staff order
MAX_RESERVE = 1_000_000
MAX_ENTITY_ID = 2**53 - 1  # ids travel as JSON numbers, exact in JavaScript below 2**53
MAX_AMOUNT = 10**15  # the largest credit amount of one posting; keeps sums far from 2**63
MAX_MOVE_QTY = 10**12  # the largest quantity of one item move (a storage bound, not a trade limit)
MAX_KEY = 256  # ledger account, holder and idempotency keys
MAX_LIST = 100_000  # the largest `limit` of the list_* methods


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

    @classmethod
    def docked(
        cls,
        account_id: int,
        world: str,
        ship_id: int,
        hull: str,
        sector: tuple[int, int],
        station: int,
        at: tuple[float, float],
    ) -> Character:
        """A character docked at station `station` (at `at`, metres) of `sector`, which is also
        its home: a new player's starting character, or an NPC as the economy sees a trader
        docked there. Full vitals (none in `extra`)."""
        return cls(
            account_id=account_id,
            world=world,
            ship_id=ship_id,
            hull=hull,
            system_x=sector[0],
            system_y=sector[1],
            x=float(at[0]),
            y=float(at[1]),
            vx=0.0,
            vy=0.0,
            angle=0.0,
            docked_at=station,
            home_x=sector[0],
            home_y=sector[1],
            home_station=station,
            extra={},
        )


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
    """A committed ledger transaction, as `LedgerRepository.commit` and `get_txn` return it.

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
    """A full check of one world's ledger (see `LedgerRepository.totals`)."""

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
    """One item's conservation check (see `LedgerRepository.item_totals`)."""

    held: int  # sum of every holder's holding
    created: int  # sum of moves with no source
    destroyed: int  # sum of moves with no destination
    mismatched: tuple[str, ...] = ()  # holders whose holding differs from their moves' net

    @property
    def conserved(self) -> bool:
        return self.held == self.created - self.destroyed and not self.mismatched


# -- moderation --------------------------------------------------------------------------

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


# -- worlds ------------------------------------------------------------------------------

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
    # the generator parameters (GeneratorParams.to_dict; {}: the defaults): with the seed, the
    # world's map; fixed at creation
    params: dict[str, Any] = field(default_factory=dict)


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


# -- clones ------------------------------------------------------------------------------

CLONE_ROLES = ("pilot", "gunner", "engineer", "miner")
CLONE_GOALS = ("crew", "trader", "miner", "pirate", "patrol")
CLONE_LICENCES = ("generated", "licensed", "unlicensed")
MEMORY_KINDS = ("observation", "reflection", "summary", "dialogue")
EMBEDDING_BYTES = 1024  # 256 x float32


@dataclass(frozen=True)
class MemoryRow:
    seq: int
    tick: int
    kind: str  # one of MEMORY_KINDS
    importance: float  # 1..10
    event: str
    entities: tuple[int, ...]
    text: str
    embedding: bytes  # EMBEDDING_BYTES, float32 little-endian
    last_access: int


@dataclass(frozen=True)
class RelationshipRow:
    entity: int
    name: str
    trust: float
    affinity: float
    hostile: bool
    attacks: int
    helps: int
    last_tick: int


@dataclass(frozen=True)
class CloneRow:
    """One clone as the store keeps it: indexed facts, `doc` (a JSON object with everything
    else), its memories and relationships. `CloneRowRepository.put` replaces all of it at once."""

    id: int
    world: str
    name: str
    role: str  # CLONE_ROLES
    goal: str  # CLONE_GOALS
    ship_id: int | None
    owner_id: int | None
    subject_id: int | None
    consent_id: str | None
    licence: str  # CLONE_LICENCES
    parent_id: int | None
    fork_tick: int | None
    generation: int
    origin_world: str
    born_tick: int
    alive: bool
    died_tick: int | None
    death_cause: str
    doc: dict[str, Any]
    next_memory: int
    memories: tuple[MemoryRow, ...] = ()
    relationships: tuple[RelationshipRow, ...] = ()
    updated_at: float = 0.0  # set by the store
    # Another server's clone: the fingerprint of the server holding its subject and consent
    # (subject_id is then None: that server's account numbers are not ours), and the key that
    # signed its checked licence proof (None: no valid proof).
    licence_home: str | None = None
    licence_key: bytes | None = None


@dataclass(frozen=True)
class CloneInfo:
    """A clone in a list: the indexed facts and how many memories it holds."""

    id: int
    world: str
    name: str
    role: str
    goal: str
    ship_id: int | None
    owner_id: int | None
    subject_id: int | None
    licence: str
    alive: bool
    died_tick: int | None
    death_cause: str
    parent_id: int | None
    generation: int
    memories: int
    licence_home: str | None = None  # see CloneRow


@dataclass(frozen=True)
class Consent:
    """A person (`subject_id`) allowing clones of their profile: by `grantee_id` or anyone
    (None). Revoked consents stay as records (`revoked_at`)."""

    id: int
    subject_id: int
    grantee_id: int | None
    granted_at: float
    revoked_at: float | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class TrustedKey:
    world: str
    public_key: bytes  # 32 bytes (Ed25519)
    label: str
    added_at: float


@dataclass(frozen=True)
class CloneFilter:
    world: str | None = None
    alive: bool | None = None
    owner_id: int | None = None
    ship_id: int | None = None
    ids: Sequence[int] = field(default_factory=tuple)


# -- the cluster's zone state ---------------------------------------------------------------


@dataclass(frozen=True)
class ZoneRecord:
    """A zone's last checkpoint as stored (see `ClusterRepository.load_zone`). Ship states are
    opaque text to the store (the cluster codec's; cluster/fencing.py decodes them)."""

    zone: str
    tick: int  # 0 if the zone was never checkpointed
    payload: str  # the zone-level JSON the worker keeps ('{}' if none)
    token: int  # the token of the worker that wrote the checkpoint (0: none yet)
    ships: list[str]  # states of the ships resident in the zone, by ship id
    incoming: list[tuple[int, int]]  # (ship id, seq) of ships in transit to the zone


# -- friends: starts, invites, parties (issue 16) ------------------------------------------


@dataclass(frozen=True)
class Start:
    """Where an account's first character in a world is made: a home system and station,
    chosen at registration or given by a friend's invite (`invited_by`)."""

    account_id: int
    world: str
    system_x: int
    system_y: int
    station: int
    invited_by: int | None = None


@dataclass(frozen=True)
class Invite:
    """An invite link's record (the code itself is never stored: only its SHA-256)."""

    account_id: int  # who made it: the new player starts at their home station
    world: str
    created_at: float
    expires_at: float
    uses: int
    max_uses: int


@dataclass(frozen=True)
class Party:
    """A party: its members by account id, in the order they joined (the leader is one)."""

    id: int
    world: str
    leader: int
    members: tuple[int, ...]
