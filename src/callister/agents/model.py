"""What a clone is: profile, personality, skills, goals, relationships, mood, lineage, licence.

Plain values with validation at the edges (`Profile.from_dict`, `Clone.from_dict` raise
`ProfileError` / `AgentError` naming the field). The memory stream lives in `memory.py`; a
`Clone` holds one. Nothing here does I/O.

Roles and goals
- A crew clone sits at a crew station: `Role` pilot, gunner, engineer or miner.
- An NPC ship is flown by one clone whose `Goal` is trader, miner, pirate or patrol; that clone
  decides for the whole ship (movement and weapons). A crew clone has goal `crew`.

Licence: a clone made from a real person's profile (`Licence.subject` is that player's account
id) is licensed only with that person's recorded consent (`consent` is the id of the consent
record). A clone of a generated person (subject None) needs no consent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Final

from callister.agents.errors import AgentError, CloneDead, ProfileError
from callister.agents.knowledge import Knowledge
from callister.agents.memory import MemoryStream


class Role(StrEnum):
    """A crew station aboard a ship (the NPC captain uses `PILOT` and decides by goal)."""

    PILOT = "pilot"
    GUNNER = "gunner"
    ENGINEER = "engineer"
    MINER = "miner"


class Goal(StrEnum):
    """What a clone does with its life. `CREW` follows its station's duties and the captain."""

    CREW = "crew"
    TRADER = "trader"
    MINER = "miner"
    PIRATE = "pirate"
    PATROL = "patrol"
    HAULER = "hauler"  # a trader who also brings stations what they lack (planner.py)


SKILL_NAMES: Final = ("pilot", "gunner", "engineer", "miner")
BIG_FIVE: Final = ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")
MAX_NAME: Final = 64
MAX_BACKGROUND: Final = 4000
MAX_TRAITS: Final = 16
MAX_AMBITIONS: Final = 8
_TRAIT_RE: Final = re.compile(r"^[a-z][a-z-]{0,31}$")

# How a trait word moves the Big Five away from 0.5 (deterministic; unknown words move nothing).
TRAIT_EFFECTS: Final[Mapping[str, Mapping[str, float]]] = {
    "curious": {"openness": 0.25},
    "creative": {"openness": 0.2},
    "conventional": {"openness": -0.2},
    "disciplined": {"conscientiousness": 0.25},
    "careful": {"conscientiousness": 0.2, "neuroticism": 0.05},
    "cautious": {"conscientiousness": 0.1, "neuroticism": 0.15},
    "reckless": {"conscientiousness": -0.25, "neuroticism": -0.1},
    "lazy": {"conscientiousness": -0.2},
    "loyal": {"agreeableness": 0.15, "conscientiousness": 0.1},
    "talkative": {"extraversion": 0.25},
    "cheerful": {"extraversion": 0.15, "neuroticism": -0.15},
    "quiet": {"extraversion": -0.25},
    "shy": {"extraversion": -0.2, "neuroticism": 0.1},
    "friendly": {"agreeableness": 0.25, "extraversion": 0.1},
    "kind": {"agreeableness": 0.25},
    "greedy": {"agreeableness": -0.2, "conscientiousness": 0.05},
    "ruthless": {"agreeableness": -0.3, "neuroticism": -0.1},
    "aggressive": {"agreeableness": -0.25, "extraversion": 0.1},
    "hot-headed": {"agreeableness": -0.15, "neuroticism": 0.15},
    "brave": {"neuroticism": -0.25},
    "calm": {"neuroticism": -0.2},
    "nervous": {"neuroticism": 0.25},
    "anxious": {"neuroticism": 0.3},
    "stubborn": {"agreeableness": -0.1, "openness": -0.1},
}


def _clip01(value: float) -> float:
    return min(1.0, max(0.0, value))


def _unit(name: str, value: Any, *, lo: float = 0.0, hi: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProfileError(f"{name} must be a number in [{lo}, {hi}], not {value!r}")
    value = float(value)
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ProfileError(f"{name} must be within [{lo}, {hi}], not {value!r}")
    return value


def _text(name: str, value: Any, *, max_len: int, required: bool = True) -> str:
    if not isinstance(value, str):
        raise ProfileError(f"{name} must be a string, not {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise ProfileError(f"{name} must not be empty")
    if len(value) > max_len:
        raise ProfileError(f"{name} is {len(value)} characters long; at most {max_len} allowed")
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise ProfileError(f"{name} contains control characters")
    return value


def _known(name: str, raw: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = set(raw) - set(allowed)
    if unknown:
        raise ProfileError(f"{name} has unknown fields {sorted(unknown)}")


def _int_or_none(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise AgentError(f"{name} must be an integer or null, not {value!r}")
    return value


def _int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise AgentError(f"{name} must be an integer, not {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Skills:
    """Crew skills, each 0 (untrained) .. 1 (master). They change ship performance
    (`crew_modifiers`) and weigh decisions (a good pilot trusts an escape more)."""

    pilot: float = 0.3
    gunner: float = 0.3
    engineer: float = 0.3
    miner: float = 0.3

    def __post_init__(self) -> None:
        for key in SKILL_NAMES:
            _unit(f"skills.{key}", getattr(self, key))

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.pilot, self.gunner, self.engineer, self.miner)

    def to_dict(self) -> dict[str, float]:
        return {key: getattr(self, key) for key in SKILL_NAMES}

    @classmethod
    def from_dict(cls, raw: Any, where: str = "skills") -> Skills:
        if not isinstance(raw, Mapping):
            raise ProfileError(f"{where} must be a table of {list(SKILL_NAMES)}")
        _known(where, raw, SKILL_NAMES)
        return cls(**{k: _unit(f"{where}.{k}", v) for k, v in raw.items()})


@dataclass(frozen=True, slots=True)
class Profile:
    """A person's profile document: who the clone is made from.

    `name` (1..64 chars), `background` (free text, up to 4000 chars), `traits` (lowercase words
    such as "brave", "greedy"; see TRAIT_EFFECTS for the ones that move the personality),
    `skills`, and optionally explicit Big Five scores in `big_five` (otherwise derived from
    the traits)."""

    name: str
    background: str = ""
    traits: tuple[str, ...] = ()
    skills: Skills = field(default_factory=Skills)
    big_five: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _text("name", self.name, max_len=MAX_NAME))
        object.__setattr__(
            self,
            "background",
            _text("background", self.background, max_len=MAX_BACKGROUND, required=False),
        )
        traits = tuple(self.traits)
        if len(traits) > MAX_TRAITS:
            raise ProfileError(f"traits: at most {MAX_TRAITS} allowed, got {len(traits)}")
        for i, t in enumerate(traits):
            if not isinstance(t, str) or not _TRAIT_RE.match(t):
                raise ProfileError(
                    f"traits[{i}] must be a lowercase word (a-z and '-', up to 32), not {t!r}"
                )
        if len(set(traits)) != len(traits):
            raise ProfileError("traits must not repeat")
        object.__setattr__(self, "traits", traits)
        if self.big_five is not None:
            if not isinstance(self.big_five, Mapping):
                raise ProfileError("big_five must be a table")
            _known("big_five", self.big_five, BIG_FIVE)
            object.__setattr__(
                self,
                "big_five",
                {k: _unit(f"big_five.{k}", v) for k, v in sorted(self.big_five.items())},
            )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "background": self.background,
            "traits": list(self.traits),
            "skills": self.skills.to_dict(),
        }
        if self.big_five is not None:
            out["big_five"] = dict(self.big_five)
        return out

    @classmethod
    def from_dict(cls, raw: Any) -> Profile:
        """Validate a profile document (JSON/TOML table); ProfileError names the bad field."""
        if not isinstance(raw, Mapping):
            raise ProfileError("a profile must be a table/object")
        _known("profile", raw, ("name", "background", "traits", "skills", "big_five"))
        if "name" not in raw:
            raise ProfileError("profile lacks 'name'")
        traits = raw.get("traits", [])
        if not isinstance(traits, list | tuple):
            raise ProfileError("traits must be a list of words")
        return cls(
            name=raw["name"],
            background=raw.get("background", ""),
            traits=tuple(traits),
            skills=Skills.from_dict(raw.get("skills", {})),
            big_five=raw.get("big_five"),
        )


@dataclass(frozen=True, slots=True)
class Personality:
    """Big Five scores (0..1) and the trait words they came from."""

    openness: float = 0.5
    conscientiousness: float = 0.5
    extraversion: float = 0.5
    agreeableness: float = 0.5
    neuroticism: float = 0.5
    traits: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for key in BIG_FIVE:
            _unit(key, getattr(self, key))

    def as_tuple(self) -> tuple[float, float, float, float, float]:
        return (
            self.openness,
            self.conscientiousness,
            self.extraversion,
            self.agreeableness,
            self.neuroticism,
        )

    @classmethod
    def from_profile(cls, profile: Profile) -> Personality:
        """Explicit `big_five` scores win; otherwise 0.5 moved by each known trait word."""
        scores = {k: 0.5 for k in BIG_FIVE}
        for trait in profile.traits:
            for key, delta in TRAIT_EFFECTS.get(trait, {}).items():
                scores[key] += delta
        if profile.big_five:
            scores.update(profile.big_five)
        return cls(**{k: round(_clip01(v), 6) for k, v in scores.items()}, traits=profile.traits)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k) for k in BIG_FIVE}
        out["traits"] = list(self.traits)
        return out

    @classmethod
    def from_dict(cls, raw: Any) -> Personality:
        if not isinstance(raw, Mapping):
            raise AgentError("personality must be an object")
        _known("personality", raw, (*BIG_FIVE, "traits"))
        traits = raw.get("traits", [])
        if not isinstance(traits, list) or not all(isinstance(t, str) for t in traits):
            raise AgentError("personality.traits must be a list of strings")
        return cls(
            **{k: _unit(f"personality.{k}", raw.get(k, 0.5)) for k in BIG_FIVE},
            traits=tuple(traits),
        )


@dataclass(frozen=True, slots=True)
class Mood:
    """How the clone feels now: valence -1 (miserable) .. 1 (elated); arousal, fear and anger
    0..1. Moves with events (`minds.feel`) and relaxes towards the personality's baseline."""

    valence: float = 0.0
    arousal: float = 0.2
    fear: float = 0.0
    anger: float = 0.0

    def __post_init__(self) -> None:
        _unit("mood.valence", self.valence, lo=-1.0)
        for key in ("arousal", "fear", "anger"):
            _unit(f"mood.{key}", getattr(self, key))

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.valence, self.arousal, self.fear, self.anger)

    @classmethod
    def baseline(cls, p: Personality) -> Mood:
        """The resting mood of a personality: cheerful extraverts, gloomy neurotics."""
        valence = 0.3 * (p.extraversion - 0.5) - 0.4 * (p.neuroticism - 0.5) + 0.1
        return cls(valence=round(max(-1.0, min(1.0, valence)), 6), arousal=0.2)

    @property
    def label(self) -> str:
        if self.fear >= 0.5 and self.fear >= self.anger:
            return "afraid"
        if self.anger >= 0.5:
            return "angry"
        if self.valence >= 0.3:
            return "cheerful"
        if self.valence <= -0.3:
            return "gloomy"
        return "calm"

    def to_dict(self) -> dict[str, float]:
        return {
            "valence": self.valence,
            "arousal": self.arousal,
            "fear": self.fear,
            "anger": self.anger,
        }

    @classmethod
    def from_dict(cls, raw: Any) -> Mood:
        if not isinstance(raw, Mapping):
            raise AgentError("mood must be an object")
        _known("mood", raw, ("valence", "arousal", "fear", "anger"))
        return cls(**{k: float(v) for k, v in raw.items()})


@dataclass(frozen=True, slots=True)
class Goals:
    """What the clone wants: its life goal, where it calls home, and free-text ambitions
    (from the profile or given by its owner) that colour dialogue."""

    primary: Goal = Goal.CREW
    home_station: int | None = None
    ambitions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "primary", Goal(self.primary))
        if len(self.ambitions) > MAX_AMBITIONS:
            raise AgentError(f"goals.ambitions: at most {MAX_AMBITIONS}")
        for i, text in enumerate(self.ambitions):
            _text(f"goals.ambitions[{i}]", text, max_len=200)

    def to_dict(self) -> dict[str, Any]:
        return {
            "primary": self.primary.value,
            "home_station": self.home_station,
            "ambitions": list(self.ambitions),
        }

    @classmethod
    def from_dict(cls, raw: Any) -> Goals:
        if not isinstance(raw, Mapping):
            raise AgentError("goals must be an object")
        _known("goals", raw, ("primary", "home_station", "ambitions"))
        try:
            primary = Goal(raw.get("primary", "crew"))
        except ValueError:
            allowed = [g.value for g in Goal]
            raise AgentError(
                f"goals.primary must be one of {allowed}, not {raw.get('primary')!r}"
            ) from None
        ambitions = raw.get("ambitions", [])
        if not isinstance(ambitions, list):
            raise AgentError("goals.ambitions must be a list")
        return cls(
            primary=primary,
            home_station=_int_or_none("goals.home_station", raw.get("home_station")),
            ambitions=tuple(ambitions),
        )


@dataclass(slots=True)
class Relationship:
    """How the clone regards one entity (an actor id: an account or another clone; ships
    change, actors stay). trust and affinity -1..1; `hostile` is set by reflection ("X
    attacked us twice") or by orders, and makes sensors treat X as a threat."""

    entity: int
    name: str = ""
    trust: float = 0.0
    affinity: float = 0.0
    hostile: bool = False
    attacks: int = 0
    helps: int = 0
    last_tick: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "name": self.name,
            "trust": self.trust,
            "affinity": self.affinity,
            "hostile": self.hostile,
            "attacks": self.attacks,
            "helps": self.helps,
            "last_tick": self.last_tick,
        }

    @classmethod
    def from_dict(cls, raw: Any, where: str) -> Relationship:
        if not isinstance(raw, Mapping):
            raise AgentError(f"{where} must be an object")
        _known(where, raw, cls.__slots__)
        rel = cls(
            entity=_int(f"{where}.entity", raw.get("entity")),
            name=str(raw.get("name", "")),
            trust=_unit(f"{where}.trust", raw.get("trust", 0.0), lo=-1.0),
            affinity=_unit(f"{where}.affinity", raw.get("affinity", 0.0), lo=-1.0),
            hostile=bool(raw.get("hostile", False)),
            attacks=_int(f"{where}.attacks", raw.get("attacks", 0)),
            helps=_int(f"{where}.helps", raw.get("helps", 0)),
            last_tick=_int(f"{where}.last_tick", raw.get("last_tick", 0)),
        )
        return rel


UNNAMED: Final = "an unknown pilot"


class Relationships:
    """Relationships by entity id (insertion order kept, so files are stable)."""

    __slots__ = ("_by_entity",)

    def __init__(self, items: Iterable[Relationship] = ()) -> None:
        self._by_entity: dict[int, Relationship] = {r.entity: r for r in items}

    def __len__(self) -> int:
        return len(self._by_entity)

    def __iter__(self) -> Any:
        return iter(self._by_entity.values())

    def __contains__(self, entity: object) -> bool:
        return entity in self._by_entity

    def get(self, entity: int) -> Relationship | None:
        return self._by_entity.get(entity)

    def of(self, entity: int, name: str = "") -> Relationship:
        """The relationship with `entity`, created neutral if new (and named if a name is given)."""
        rel = self._by_entity.get(entity)
        if rel is None:
            rel = self._by_entity[entity] = Relationship(entity=entity, name=name)
        elif name and not rel.name:
            rel.name = name
        return rel

    def is_hostile(self, entity: int) -> bool:
        rel = self._by_entity.get(entity)
        return rel is not None and rel.hostile

    def hostile_ids(self) -> list[int]:
        """Hostile entities, most recently active first."""
        rels = [r for r in self._by_entity.values() if r.hostile]
        rels.sort(key=lambda r: (-r.last_tick, r.entity))
        return [r.entity for r in rels]

    def name_of(self, entity: int) -> str:
        """The entity's name, or UNNAMED: speech never shows ids."""
        rel = self._by_entity.get(entity)
        return rel.name if rel is not None and rel.name else UNNAMED

    def to_list(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self._by_entity.values()]

    @classmethod
    def from_list(cls, raw: Any) -> Relationships:
        if not isinstance(raw, list):
            raise AgentError("relationships must be a list")
        return cls(Relationship.from_dict(r, f"relationships[{i}]") for i, r in enumerate(raw))


@dataclass(frozen=True, slots=True)
class LineageEvent:
    """One step of a clone's life story: created, exported, imported, forked, hosted, died."""

    event: str
    world: str
    tick: int
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event, "world": self.world, "tick": self.tick, "note": self.note}

    @classmethod
    def from_dict(cls, raw: Any, where: str) -> LineageEvent:
        if not isinstance(raw, Mapping):
            raise AgentError(f"{where} must be an object")
        _known(where, raw, ("event", "world", "tick", "note"))
        return cls(
            event=str(raw.get("event", "")),
            world=str(raw.get("world", "")),
            tick=_int(f"{where}.tick", raw.get("tick")),
            note=str(raw.get("note", "")),
        )


@dataclass(frozen=True, slots=True)
class Lineage:
    """Where a clone came from. `parent` is the clone it was forked from (None for an
    original), `fork_tick` the last tick of the parent's memories it shares, `origin_world`
    the world it was first made in, `generation` 0 for an original and parent's + 1 for a
    fork. `history` lists its moves (import, fork, host, death)."""

    origin_world: str
    born_tick: int = 0
    parent: int | None = None
    fork_tick: int | None = None
    generation: int = 0
    history: tuple[LineageEvent, ...] = ()

    def with_event(self, event: LineageEvent) -> Lineage:
        return replace(self, history=(*self.history, event))

    def to_dict(self) -> dict[str, Any]:
        return {
            "origin_world": self.origin_world,
            "born_tick": self.born_tick,
            "parent": self.parent,
            "fork_tick": self.fork_tick,
            "generation": self.generation,
            "history": [e.to_dict() for e in self.history],
        }

    @classmethod
    def from_dict(cls, raw: Any) -> Lineage:
        if not isinstance(raw, Mapping):
            raise AgentError("lineage must be an object")
        _known(
            "lineage",
            raw,
            ("origin_world", "born_tick", "parent", "fork_tick", "generation", "history"),
        )
        history = raw.get("history", [])
        if not isinstance(history, list):
            raise AgentError("lineage.history must be a list")
        generation = _int("lineage.generation", raw.get("generation", 0))
        if generation < 0:
            raise AgentError("lineage.generation must be >= 0")
        return cls(
            origin_world=str(raw.get("origin_world", "")),
            born_tick=_int("lineage.born_tick", raw.get("born_tick", 0)),
            parent=_int_or_none("lineage.parent", raw.get("parent")),
            fork_tick=_int_or_none("lineage.fork_tick", raw.get("fork_tick")),
            generation=generation,
            history=tuple(
                LineageEvent.from_dict(e, f"lineage.history[{i}]") for i, e in enumerate(history)
            ),
        )


_CLAIM_HEX: Final = re.compile(r"[0-9a-f]{64}")
MAX_HOME: Final = 64


@dataclass(frozen=True, slots=True)
class Licence:
    """Who may run this clone and on what authority (docs/agents.md, "Licences and trust").

    `owner`: the account, on the server where the clone lives, that owns it (None: nobody's:
    an NPC, or an imported clone not claimed yet).
    `subject`: the account whose profile the clone was made from (None: a generated person),
    numbered on `home`.
    `consent`: the id of that person's consent record on `home`, or None.
    `home`: None when `subject` and `consent` are this server's; otherwise the fingerprint of
    the server (signing key) that holds them. Account numbers never cross servers.
    `proof`: `home`'s signed licence statement (`clonefile.issue_licence_proof`); travels in
    clone files so another server can check the consent without asking.
    `claim`: SHA-256 (hex) of the claim code that lets an account take an unowned imported
    clone (`clonefile.claim_hash`).
    `proven`: this server checked the consent: the store on every read (the record exists, is
    the subject's, covers the owner and is not revoked), or the importer (a valid proof signed
    by a trusted key). Never serialised: a document cannot vouch for itself, so a clone read
    from anywhere is unproven until a checker says otherwise.

    A clone of a real person that is not proven is *unlicensed*: it exists (it may have been
    imported from elsewhere) but is marked so everywhere it shows."""

    owner: int | None = None
    subject: int | None = None
    consent: str | None = None
    home: str | None = None
    proof: Mapping[str, Any] | None = None
    claim: str | None = None
    proven: bool = False

    @property
    def is_licensed(self) -> bool:
        return self.subject is None or self.proven

    @property
    def status(self) -> str:
        """ "generated" (nobody's profile), "licensed" (consent checked) or "unlicensed"."""
        if self.subject is None:
            return "generated"
        return "licensed" if self.proven else "unlicensed"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "owner": self.owner,
            "subject": self.subject,
            "consent": self.consent,
        }
        if self.home is not None:
            out["home"] = self.home
        if self.proof is not None:
            out["proof"] = dict(self.proof)
        if self.claim is not None:
            out["claim"] = self.claim
        return out

    @classmethod
    def from_dict(cls, raw: Any) -> Licence:
        """From `to_dict` output (older documents lack home, proof and claim); never proven."""
        if not isinstance(raw, Mapping):
            raise AgentError("licence must be an object")
        _known("licence", raw, ("owner", "subject", "consent", "home", "proof", "claim"))
        consent = raw.get("consent")
        if consent is not None and (not isinstance(consent, str) or not consent):
            raise AgentError("licence.consent must be a non-empty string or null")
        home = raw.get("home")
        if home is not None and (not isinstance(home, str) or not 0 < len(home) <= MAX_HOME):
            raise AgentError(f"licence.home must be a key fingerprint (1..{MAX_HOME} characters)")
        proof = raw.get("proof")
        if proof is not None and not isinstance(proof, Mapping):
            raise AgentError("licence.proof must be an object or null")
        claim = raw.get("claim")
        if claim is not None and (not isinstance(claim, str) or not _CLAIM_HEX.fullmatch(claim)):
            raise AgentError("licence.claim must be 64 lowercase hex digits (a SHA-256) or null")
        return cls(
            owner=_int_or_none("licence.owner", raw.get("owner")),
            subject=_int_or_none("licence.subject", raw.get("subject")),
            consent=consent,
            home=home,
            proof=None if proof is None else dict(proof),
            claim=claim,
        )


CLONE_ID_MIN: Final = 1
CLONE_ID_MAX: Final = 2**63 - 1


def npc_actor(clone_id: int) -> int:
    """The actor id of an NPC ship flown by this clone: the ship's owner and its intents'
    actor (negative, so it can never be an account). Beliefs about NPCs are keyed by it."""
    return -clone_id


@dataclass(slots=True)
class Clone:
    """One individual. Mutable: memories, mood and relationships change as it lives.

    `id` is its actor id (intents carry it as `actor`); `world` where it lives now; `role` its
    crew station; `names` the names it knows for entity ids (for speech)."""

    id: int
    profile: Profile
    personality: Personality
    lineage: Lineage
    world: str
    role: Role = Role.PILOT
    goals: Goals = field(default_factory=Goals)
    skills: Skills = field(default_factory=Skills)
    licence: Licence = field(default_factory=Licence)
    mood: Mood = field(default_factory=Mood)
    relationships: Relationships = field(default_factory=Relationships)
    memory: MemoryStream = field(default_factory=MemoryStream)
    beliefs: dict[str, int] = field(default_factory=dict)
    knowledge: Knowledge = field(default_factory=Knowledge)
    alive: bool = True
    died_tick: int | None = None
    death_cause: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.id, bool) or not isinstance(self.id, int):
            raise AgentError(f"clone id must be an integer, not {self.id!r}")
        if not CLONE_ID_MIN <= self.id <= CLONE_ID_MAX:
            raise AgentError(f"clone id {self.id} is outside 1..2^63-1")
        self.role = Role(self.role)

    @classmethod
    def create(
        cls,
        clone_id: int,
        profile: Profile,
        *,
        world: str,
        tick: int = 0,
        role: Role | str = Role.PILOT,
        goal: Goal | str = Goal.CREW,
        licence: Licence | None = None,
        ambitions: tuple[str, ...] = (),
        home_station: int | None = None,
        max_memories: int = 1000,
    ) -> Clone:
        """A new original clone made from `profile`, born at `tick` in `world`, with the memory
        of its making as its first memory."""
        personality = Personality.from_profile(profile)
        clone = cls(
            id=clone_id,
            profile=profile,
            personality=personality,
            lineage=Lineage(
                origin_world=world,
                born_tick=tick,
                history=(LineageEvent("created", world, tick),),
            ),
            world=world,
            role=Role(role),
            goals=Goals(primary=Goal(goal), home_station=home_station, ambitions=ambitions),
            skills=profile.skills,
            licence=licence or Licence(),
            mood=Mood.baseline(personality),
            memory=MemoryStream(max_memories=max_memories),
        )
        clone.memory.add(
            tick,
            f"I, {profile.name}, came to life in world {world}.",
            importance=7,
            event="created",
        )
        return clone

    @property
    def name(self) -> str:
        return self.profile.name

    @property
    def kind(self) -> str:
        """The decision kind: the goal for NPC captains, the crew station for crew."""
        return self.role.value if self.goals.primary is Goal.CREW else self.goals.primary.value

    def require_alive(self) -> None:
        """Raise CloneDead unless alive. Every acting API calls this first."""
        if not self.alive:
            raise CloneDead(self.id, self.name, self.died_tick, self.death_cause)

    def die(self, tick: int, cause: str) -> None:
        """Death is permanent: the clone stays as an archive (memories kept) and never acts."""
        self.require_alive()
        self.memory.add(tick, f"I died: {cause}.", importance=10, event="died")
        self.alive = False
        self.died_tick = tick
        self.death_cause = cause
        self.lineage = self.lineage.with_event(LineageEvent("died", self.world, tick, cause))

    def to_dict(self) -> dict[str, Any]:
        """Everything the clone is, as JSON-ready values (embeddings as base64 float32)."""
        return {
            "id": self.id,
            "world": self.world,
            "role": self.role.value,
            "profile": self.profile.to_dict(),
            "personality": self.personality.to_dict(),
            "skills": self.skills.to_dict(),
            "goals": self.goals.to_dict(),
            "mood": self.mood.to_dict(),
            "relationships": self.relationships.to_list(),
            "beliefs": dict(self.beliefs),
            "knowledge": self.knowledge.to_dict(),
            "lineage": self.lineage.to_dict(),
            "licence": self.licence.to_dict(),
            "alive": self.alive,
            "died_tick": self.died_tick,
            "death_cause": self.death_cause,
            "memory": self.memory.to_dict(),
        }

    @classmethod
    def from_dict(cls, raw: Any) -> Clone:
        """Rebuild a clone from `to_dict` output; AgentError names the first bad field."""
        if not isinstance(raw, Mapping):
            raise AgentError("a clone must be an object")
        _known("clone", raw, CLONE_FIELDS)
        missing = [k for k in CLONE_FIELDS if k not in raw and k not in OPTIONAL_FIELDS]
        if missing:
            raise AgentError(f"clone lacks fields {missing}")
        try:
            role = Role(raw["role"])
        except ValueError:
            raise AgentError(f"role must be one of {[r.value for r in Role]}") from None
        beliefs = raw["beliefs"]
        if not isinstance(beliefs, Mapping) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
            for k, v in beliefs.items()
        ):
            raise AgentError("beliefs must map strings to integers")
        alive = raw["alive"]
        if not isinstance(alive, bool):
            raise AgentError("alive must be true or false")
        return cls(
            id=_int("id", raw["id"]),
            world=str(raw["world"]),
            role=role,
            profile=Profile.from_dict(raw["profile"]),
            personality=Personality.from_dict(raw["personality"]),
            skills=Skills.from_dict(raw["skills"]),
            goals=Goals.from_dict(raw["goals"]),
            mood=Mood.from_dict(raw["mood"]),
            relationships=Relationships.from_list(raw["relationships"]),
            beliefs=dict(beliefs),
            knowledge=Knowledge.from_dict(raw.get("knowledge", {})),
            lineage=Lineage.from_dict(raw["lineage"]),
            licence=Licence.from_dict(raw["licence"]),
            alive=alive,
            died_tick=_int_or_none("died_tick", raw["died_tick"]),
            death_cause=str(raw["death_cause"]),
            memory=MemoryStream.from_dict(raw["memory"]),
        )


CLONE_FIELDS: Final = (
    "id",
    "world",
    "role",
    "profile",
    "personality",
    "skills",
    "goals",
    "mood",
    "relationships",
    "beliefs",
    "knowledge",
    "lineage",
    "licence",
    "alive",
    "died_tick",
    "death_cause",
    "memory",
)
OPTIONAL_FIELDS: Final = frozenset({"knowledge"})  # documents written before it existed lack it


@dataclass(frozen=True, slots=True)
class CrewModifiers:
    """How a ship's crew changes its performance (multipliers, 1.0 = no crew effect):
    aim spread (smaller is better), shield recharge, mining yield, turn rate."""

    aim_spread: float = 1.0
    shield_recharge: float = 1.0
    mining_yield: float = 1.0
    turn_rate: float = 1.0


def crew_modifiers(crew: Iterable[Clone]) -> CrewModifiers:
    """The best living crew member at each station sets that station's modifier: a skill of s
    gives aim spread x(1.3 - 0.6 s), shield recharge x(0.8 + 0.6 s), mining yield x(0.8 + 0.7 s)
    and turn rate x(0.9 + 0.3 s). An empty station counts as skill 1/3 (the ship's autopilot)."""
    best = {role: 1.0 / 3.0 for role in Role}
    filled: dict[Role, float] = {}
    for c in crew:
        if not c.alive:
            continue
        skill = getattr(c.skills, c.role.value)
        filled[c.role] = max(filled.get(c.role, 0.0), skill)
    best.update(filled)
    return CrewModifiers(
        aim_spread=round(1.3 - 0.6 * best[Role.GUNNER], 6),
        shield_recharge=round(0.8 + 0.6 * best[Role.ENGINEER], 6),
        mining_yield=round(0.8 + 0.7 * best[Role.MINER], 6),
        turn_rate=round(0.9 + 0.3 * best[Role.PILOT], 6),
    )
