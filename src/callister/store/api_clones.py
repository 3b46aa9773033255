"""The store's clones contract (issue 4: clones, memories, relationships, consents, world keys).

Mixed into `Store` (api.py); every method follows the contract in api.py's docstring: one
transaction each, ValueError for bad arguments before the database is touched, StoreError for
database trouble.

A clone's `licence` is never taken from the writer: every read computes it from the consent
records and the trusted keys (see `_licence_sql` in _clones.py), so a revoked consent or a key
no longer trusted unlicenses the clones at once. Trust changes are written to `world_audit`.

The store knows nothing of `callister.agents` (it is a leaf layer): a clone travels as a
`CloneRow` of plain values, and `agents.repository.StoreCloneRepository` converts. Dead clones
are kept (archives); `purge_clone` exists for moderation only.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

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
    else), its memories and relationships. `put_clone` replaces all of it at once."""

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


class CloneRecords:
    """Abstract clones methods of `Store` (implemented in _clones.py)."""

    @abstractmethod
    def put_clone(self, row: CloneRow) -> None:
        """Insert or replace the clone with its memories and relationships (one transaction).
        ValueError for bad values (unknown role/goal/kind, a wrong-sized embedding ...).
        `row.licence` is ignored: the store computes the status (module docstring)."""

    @abstractmethod
    def put_clones(self, rows: Sequence[CloneRow]) -> None:
        """put_clone for each, all in one transaction."""

    @abstractmethod
    def get_clone(self, clone_id: int) -> CloneRow | None:
        """The stored clone with memories (in seq order) and relationships, or None."""

    @abstractmethod
    def clone_exists(self, clone_id: int) -> bool:
        """True if a clone (alive or dead) with that id is stored."""

    @abstractmethod
    def list_clones(self, where: CloneFilter | None = None, limit: int = 1000) -> list[CloneInfo]:
        """Clones matching every given field of `where`, by id."""

    @abstractmethod
    def set_clone_ship(self, clone_id: int, ship_id: int | None) -> None:
        """Move the clone aboard `ship_id` (None: ashore). NotFound for an unknown clone."""

    @abstractmethod
    def purge_clone(self, clone_id: int) -> bool:
        """Delete the clone and everything of it (moderation only). True if it existed."""

    # -- consents ---------------------------------------------------------------------------

    @abstractmethod
    def record_consent(self, subject_id: int, grantee_id: int | None = None) -> Consent:
        """Record that `subject_id` allows clones of their profile (by `grantee_id`, or
        anyone). NotFound for an unknown account."""

    @abstractmethod
    def revoke_consent(self, subject_id: int, consent_id: int, by: int | None = None) -> bool:
        """Revoke one of the subject's consents; False if it is not theirs or already revoked.
        The clones licensed by it read as unlicensed from then on. Recorded in world_audit
        (`clone_consent_revoked`, by the account `by`; None: the server's operator)."""

    @abstractmethod
    def active_consent(self, subject_id: int, grantee_id: int | None) -> Consent | None:
        """The newest unrevoked consent of `subject_id` that covers `grantee_id`, or None."""

    @abstractmethod
    def list_consents(self, subject_id: int) -> list[Consent]:
        """Every consent the subject ever recorded, oldest first."""

    # -- keys -------------------------------------------------------------------------------

    @abstractmethod
    def world_key(self, world: str, create_pem: str | None = None) -> str | None:
        """The world's signing key (PEM). With `create_pem`, store it if the world has none
        yet (the first stored key wins) and return the stored one."""

    @abstractmethod
    def signing_keys(self) -> list[tuple[str, str]]:
        """Every world's signing key as (world, PEM): together, this server's own keys."""

    @abstractmethod
    def trust_key(
        self, world: str, public_key: bytes, label: str, actor: int | None = None
    ) -> None:
        """Accept clone files and licence proofs signed by `public_key` in `world` (upsert of
        the label), recorded in world_audit (`clone_key_trusted`, by `actor`; None: the
        server's operator)."""

    @abstractmethod
    def untrust_key(self, world: str, public_key: bytes, actor: int | None = None) -> bool:
        """Stop trusting `public_key` in `world` (audited as `clone_key_untrusted`); False if it
        was not trusted. Clones licensed by its proofs read as unlicensed from then on."""

    @abstractmethod
    def trusted_keys(self, world: str) -> list[TrustedKey]:
        """The world's trusted keys, oldest first."""
