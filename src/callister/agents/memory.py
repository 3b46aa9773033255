"""The memory stream (Park et al. 2023, "Generative Agents"), held in numpy columns.

Every memory has a time (tick), an importance 1..10, the entities it concerns, a short text, an
optional event word ("attacked", "docked" ...) that reflection counts, a kind (observation,
reflection, summary, dialogue) and an embedding (`embed.py`).

Retrieval scores every memory at once:

    score = w_recency * norm(recency) + w_importance * norm(importance) + w_relevance * norm(cos)
            (+ w_entity when an `entity` is asked about and the memory concerns it)

where recency = 0.5 ** ((now - last_access) / half_life), cos is the cosine of the memory's
embedding with the query's, and norm() is min-max scaling over all memories (as in the paper).
Retrieved memories have their last access set to `now` (recalling refreshes a memory). The
columns are preallocated and grow by doubling, so a retrieval over 10,000 memories is a handful
of vector operations and one compiled dot-product loop (`kernels.py`); `callister bench
agents` measures it (target: <= 1 ms over 10,000 memories).

Bounded size: when a stream holds more than `max_memories`, its oldest unimportant memories
(importance below `summarise_below`, older than the newest quarter, never reflections unless
nothing else is left) are replaced by one summary memory that counts their events and entities,
carries the mean of their embeddings and keeps the most notable one's text.
"""

from __future__ import annotations

import base64
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from callister.agents.embed import DIM, embed, normalise
from callister.agents.errors import AgentError
from callister.agents.kernels import relevance as _relevance

ENTITY_COLUMNS: Final = 4  # entities matched by retrieval/reflection (more are kept as text)
NO_ENTITY: Final = np.iinfo(np.int64).min
"""Padding of the entity columns. Not -1 (nor any negative id): NPC actors are negative
(-clone id), and an attack by one must count like a player's."""
MAX_TEXT: Final = 1000
MAX_ENTITIES: Final = 16
DEFAULT_HALF_LIFE: Final = 72_000  # ticks: one hour of game time at 20 Hz
MIN_CAPACITY: Final = 8


class MemoryKind(IntEnum):
    OBSERVATION = 0
    REFLECTION = 1
    SUMMARY = 2
    DIALOGUE = 3


_KIND_NAMES: Final = {k: k.name.lower() for k in MemoryKind}
_KIND_BY_NAME: Final = {v: k for k, v in _KIND_NAMES.items()}

# Event words get small integer codes for vectorised counting (process-local, never stored).
_EVENT_CODES: dict[str, int] = {"": 0}


def event_code(event: str) -> int:
    code = _EVENT_CODES.get(event)
    if code is None:
        code = _EVENT_CODES[event] = len(_EVENT_CODES)
    return code


@dataclass(frozen=True, slots=True, eq=False)
class Memory:
    """One memory as a plain value (a copy of its row; the embedding is read-only)."""

    seq: int
    tick: int
    kind: MemoryKind
    importance: float
    text: str
    entities: tuple[int, ...]
    event: str
    last_access: int
    embedding: NDArray[np.float32] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "tick": self.tick,
            "kind": _KIND_NAMES[self.kind],
            "importance": self.importance,
            "text": self.text,
            "entities": list(self.entities),
            "event": self.event,
            "last_access": self.last_access,
            "embedding": base64.b64encode(
                np.ascontiguousarray(self.embedding, dtype="<f4").tobytes()
            ).decode("ascii"),
        }


@dataclass(frozen=True, slots=True)
class ScoreParts:
    """The retrieval score of every memory and its three parts (each min-max normalised)."""

    score: NDArray[np.float32]
    recency: NDArray[np.float32]
    importance: NDArray[np.float32]
    relevance: NDArray[np.float32]


def _minmax(x: NDArray[np.float32]) -> NDArray[np.float32]:
    lo = x.min()
    span = x.max() - lo
    if span <= 0:
        return np.zeros_like(x)
    return (x - lo) * (1.0 / span)


class MemoryStream:
    """A bounded, retrievable memory stream. See the module docstring for the scoring."""

    def __init__(
        self,
        *,
        max_memories: int = 1000,
        half_life: int = DEFAULT_HALF_LIFE,
        weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
        entity_weight: float = 1.0,
        summarise_below: float = 5.0,
    ) -> None:
        if max_memories < 16:
            raise AgentError("max_memories must be at least 16")
        if half_life <= 0:
            raise AgentError("half_life must be positive")
        self.max_memories = int(max_memories)
        self.half_life = int(half_life)
        self.weights = tuple(float(w) for w in weights)
        self.entity_weight = float(entity_weight)
        self.summarise_below = float(summarise_below)
        self.next_seq = 0
        self.importance_since_reflection = 0.0
        self.last_reflection_tick = 0
        self._n = 0
        self._tick: NDArray[np.int64]
        self._access: NDArray[np.int64]
        self._seq: NDArray[np.int64]
        self._imp: NDArray[np.float32]
        self._kind: NDArray[np.uint8]
        self._code: NDArray[np.int32]
        self._ent: NDArray[np.int64]
        self._emb: NDArray[np.float32]
        self._alloc(MIN_CAPACITY)
        self._text: list[str] = []
        self._entities: list[tuple[int, ...]] = []
        self._event: list[str] = []

    # storage -----------------------------------------------------------------------------

    def _alloc(self, cap: int) -> None:
        has_old = hasattr(self, "_tick")
        n = self._n
        tick = np.zeros(cap, np.int64)
        access = np.zeros(cap, np.int64)
        seq = np.zeros(cap, np.int64)
        imp = np.zeros(cap, np.float32)
        kind = np.zeros(cap, np.uint8)
        code = np.zeros(cap, np.int32)
        ent = np.full((cap, ENTITY_COLUMNS), NO_ENTITY, np.int64)
        emb = np.zeros((cap, DIM), np.float32)
        if has_old and n:
            tick[:n] = self._tick[:n]
            access[:n] = self._access[:n]
            seq[:n] = self._seq[:n]
            imp[:n] = self._imp[:n]
            kind[:n] = self._kind[:n]
            code[:n] = self._code[:n]
            ent[:n] = self._ent[:n]
            emb[:n] = self._emb[:n]
        self._tick, self._access, self._seq, self._imp = tick, access, seq, imp
        self._kind, self._code, self._ent, self._emb = kind, code, ent, emb

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[Memory]:
        return (self._row(i) for i in range(self._n))

    def __getitem__(self, i: int) -> Memory:
        if not -self._n <= i < self._n:
            raise IndexError(i)
        return self._row(i % self._n)

    def _row(self, i: int) -> Memory:
        emb = self._emb[i].copy()
        emb.flags.writeable = False
        return Memory(
            seq=int(self._seq[i]),
            tick=int(self._tick[i]),
            kind=MemoryKind(int(self._kind[i])),
            importance=float(self._imp[i]),
            text=self._text[i],
            entities=self._entities[i],
            event=self._event[i],
            last_access=int(self._access[i]),
            embedding=emb,
        )

    def add(
        self,
        tick: int,
        text: str,
        *,
        importance: float,
        entities: Iterable[int] = (),
        event: str = "",
        kind: MemoryKind = MemoryKind.OBSERVATION,
        embedding: NDArray[np.float32] | None = None,
        seq: int | None = None,
        last_access: int | None = None,
        compact: bool = True,
    ) -> Memory:
        """Append a memory (compacting if over `max_memories`) and return it."""
        if not isinstance(text, str) or not text.strip():
            raise AgentError("a memory needs text")
        text = text.strip()[:MAX_TEXT]
        if isinstance(importance, bool) or not isinstance(importance, int | float):
            raise AgentError(f"importance must be a number, not {importance!r}")
        if not (math.isfinite(importance) and 1 <= importance <= 10):
            raise AgentError(f"importance must be within 1..10, not {importance!r}")
        ents = tuple(int(e) for e in entities)[:MAX_ENTITIES]
        if embedding is None:
            embedding = embed(text)
        elif embedding.shape != (DIM,):
            raise AgentError(f"embedding must have shape ({DIM},), not {embedding.shape}")
        if self._n == self._tick.shape[0]:
            self._alloc(self._n * 2)
        i = self._n
        s = self.next_seq if seq is None else int(seq)
        self.next_seq = max(self.next_seq, s + 1)
        self._tick[i] = tick
        self._access[i] = tick if last_access is None else last_access
        self._seq[i] = s
        self._imp[i] = importance
        self._kind[i] = int(kind)
        self._code[i] = event_code(event)
        self._ent[i] = NO_ENTITY
        for j, e in enumerate(ents[:ENTITY_COLUMNS]):
            self._ent[i, j] = e
        self._emb[i] = embedding
        self._text.append(text)
        self._entities.append(ents)
        self._event.append(event)
        self._n += 1
        if kind is not MemoryKind.REFLECTION:
            self.importance_since_reflection += float(importance)
        row = self._row(i)
        if compact and self._n > self.max_memories:
            self.compact(tick)
        return row

    # retrieval ---------------------------------------------------------------------------

    def score(
        self, query: str | NDArray[np.float32], now: int, *, entity: int | None = None
    ) -> ScoreParts:
        """Scores of all memories for `query` at tick `now` (no side effects)."""
        n = self._n
        qv = embed(query) if isinstance(query, str) else np.asarray(query, np.float32)
        age = (now - self._access[:n]).astype(np.float32)
        recency = np.exp2(age * np.float32(-1.0 / self.half_life))
        importance = self._imp[:n]
        relevance = _relevance(self._emb, qv, n)
        r, i, v = _minmax(recency), _minmax(importance), _minmax(relevance)
        wr, wi, wv = self.weights
        score = np.float32(wr) * r + np.float32(wi) * i + np.float32(wv) * v
        if entity is not None and self.entity_weight:
            hit = (self._ent[:n] == entity).any(axis=1)
            score += np.float32(self.entity_weight) * hit
        return ScoreParts(score=score, recency=r, importance=i, relevance=v)

    def retrieve(
        self,
        query: str | NDArray[np.float32],
        now: int,
        k: int = 5,
        *,
        entity: int | None = None,
        touch: bool = True,
        not_said_with: int | None = None,
    ) -> list[Memory]:
        """The k best memories for `query` (best first). With `touch`, their last access
        becomes `now`. `not_said_with`: leave out conversations with this entity (what a
        clone said to someone is no news to them)."""
        n = self._n
        if n == 0 or k <= 0:
            return []
        score = self.score(query, now, entity=entity).score
        if not_said_with is not None:
            said = (self._kind[:n] == int(MemoryKind.DIALOGUE)) & (
                self._ent[:n, 0] == not_said_with
            )
            if said.any():
                keep = np.flatnonzero(~said)
                if keep.size == 0:
                    return []
                k = min(k, keep.size)
                sub = score[keep]
                part = (
                    np.argpartition(sub, keep.size - k)[keep.size - k :]
                    if k < keep.size
                    else (np.arange(keep.size))
                )
                top = keep[part]
                order = np.lexsort((-self._seq[top], -self._tick[top], -score[top]))
                rows = top[order]
                if touch:
                    self._access[rows] = np.maximum(self._access[rows], now)
                return [self._row(int(i)) for i in rows]
        top = np.argpartition(score, n - k)[n - k :] if k < n else np.arange(n)
        # best first; ties broken by newer, then by sequence number (deterministic)
        order = np.lexsort((-self._seq[top], -self._tick[top], -score[top]))
        rows = top[order]
        if touch:
            self._access[rows] = np.maximum(self._access[rows], now)
        return [self._row(int(i)) for i in rows]

    # queries used by reflection and dialogue ---------------------------------------------

    def counts_by_entity(self, event: str, *, since_tick: int | None = None) -> dict[int, int]:
        """How many observations with `event` concern each entity (the first entity column:
        by convention the one who did it)."""
        n = self._n
        code = _EVENT_CODES.get(event)
        if code is None or n == 0:
            return {}
        mask = (self._code[:n] == code) & (self._kind[:n] == MemoryKind.OBSERVATION)
        if since_tick is not None:
            mask &= self._tick[:n] >= since_tick
        who = self._ent[:n, 0][mask]
        who = who[who != NO_ENTITY]
        if who.size == 0:
            return {}
        ids, counts = np.unique(who, return_counts=True)
        return {int(i): int(c) for i, c in zip(ids, counts, strict=True)}

    def recent(self, k: int = 5) -> list[Memory]:
        """The k latest memories (by tick, then sequence), newest first."""
        n = self._n
        if n == 0:
            return []
        order = np.lexsort((self._seq[:n], self._tick[:n]))[::-1][:k]
        return [self._row(int(i)) for i in order]

    def latest(self, event: str) -> Memory | None:
        """The newest memory with this event word, or None."""
        for i in range(self._n - 1, -1, -1):
            if self._event[i] == event:
                return self._row(i)
        return None

    # bounded size ------------------------------------------------------------------------

    def compact(self, now: int) -> Memory | None:
        """Summarise old unimportant memories into one until the stream holds at most 80 % of
        `max_memories`. Returns the summary memory (None if nothing could be summarised)."""
        n = self._n
        target = int(self.max_memories * 0.8)
        remove = n - target + 1  # +1: room for the summary itself
        if remove < 2:
            return None
        recent_cut = n - max(1, self.max_memories // 4)
        by_age = np.lexsort((self._seq[:n], self._tick[:n]))  # oldest first
        old = by_age[:recent_cut]
        is_reflection = self._kind[old] == MemoryKind.REFLECTION
        important = self._imp[old] >= self.summarise_below
        # prefer unimportant non-reflections, then important ones, then reflections; oldest first
        priority = is_reflection.astype(np.int8) * 2 + important.astype(np.int8)
        pick = old[np.argsort(priority, kind="stable")[:remove]]
        if pick.size < 2:
            return None
        pick.sort()
        ticks = self._tick[pick]
        events = Counter(self._event[i] for i in pick if self._event[i])
        ent_counts: Counter[int] = Counter()
        for i in pick:
            ent_counts.update(self._entities[i][:ENTITY_COLUMNS])
        notable = int(pick[int(np.argmax(self._imp[pick]))])
        # no ticks or ids in the text: it may be quoted in speech (the entities stay in the
        # entity columns, where retrieval and reflection find them)
        parts = [f"Summary of {pick.size} older memories"]
        if events:
            parts.append(", ".join(f"{e} x{c}" for e, c in _top(events, 4)))
        parts.append(f"most notable: {self._text[notable][:160]}")
        text = "; ".join(parts)
        importance = float(min(10.0, max(1.0, round(float(self._imp[pick].mean()) + 1.0, 2))))
        emb = normalise(self._emb[pick].sum(axis=0))
        summary = {
            "tick": int(ticks.max()),
            "text": text,
            "importance": importance,
            "entities": tuple(e for e, _ in _top(ent_counts, ENTITY_COLUMNS)),
            "event": "summary",
            "kind": MemoryKind.SUMMARY,
            "embedding": emb,
            "last_access": int(self._access[pick].max()),
        }
        keep = np.ones(n, bool)
        keep[pick] = False
        first = int(pick[0])
        order = np.concatenate([np.flatnonzero(keep[:first]), np.flatnonzero(keep[first:]) + first])
        insert_at = int(keep[:first].sum())
        self._take(order)
        saved = self.importance_since_reflection
        self._insert_summary(insert_at, summary)
        self.importance_since_reflection = saved
        return self._row(insert_at)

    def _take(self, rows: NDArray[np.intp]) -> None:
        m = rows.size
        for name in ("_tick", "_access", "_seq", "_imp", "_kind", "_code", "_ent", "_emb"):
            arr = getattr(self, name)
            arr[:m] = arr[rows]
        self._text = [self._text[i] for i in rows]
        self._entities = [self._entities[i] for i in rows]
        self._event = [self._event[i] for i in rows]
        self._n = m

    def _insert_summary(self, at: int, s: Mapping[str, Any]) -> None:
        self.add(
            s["tick"],
            s["text"],
            importance=s["importance"],
            entities=s["entities"],
            event=s["event"],
            kind=s["kind"],
            embedding=s["embedding"],
            last_access=s["last_access"],
            compact=False,
        )
        last = self._n - 1
        if at == last:
            return
        order = np.concatenate([np.arange(at), [last], np.arange(at, last)])
        self._take(order)

    # copies and files ----------------------------------------------------------------------

    def copy(self, *, up_to_tick: int | None = None) -> MemoryStream:
        """A deep copy; with `up_to_tick`, only memories from ticks <= it (a fork's past)."""
        out = MemoryStream(
            max_memories=self.max_memories,
            half_life=self.half_life,
            weights=self.weights,  # type: ignore[arg-type]
            entity_weight=self.entity_weight,
            summarise_below=self.summarise_below,
        )
        rows = np.arange(self._n)
        if up_to_tick is not None:
            rows = rows[self._tick[: self._n] <= up_to_tick]
        out._alloc(max(MIN_CAPACITY, int(rows.size)))
        m = int(rows.size)
        for name in ("_tick", "_access", "_seq", "_imp", "_kind", "_code", "_ent", "_emb"):
            getattr(out, name)[:m] = getattr(self, name)[rows]
        out._text = [self._text[i] for i in rows]
        out._entities = [self._entities[i] for i in rows]
        out._event = [self._event[i] for i in rows]
        out._n = m
        out.next_seq = self.next_seq
        out.importance_since_reflection = self.importance_since_reflection
        out.last_reflection_tick = self.last_reflection_tick
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_memories": self.max_memories,
            "half_life": self.half_life,
            "weights": list(self.weights),
            "entity_weight": self.entity_weight,
            "summarise_below": self.summarise_below,
            "next_seq": self.next_seq,
            "importance_since_reflection": self.importance_since_reflection,
            "last_reflection_tick": self.last_reflection_tick,
            "dim": DIM,
            "items": [m.to_dict() for m in self],
        }

    @classmethod
    def from_dict(cls, raw: Any) -> MemoryStream:
        if not isinstance(raw, Mapping):
            raise AgentError("memory must be an object")
        if raw.get("dim") != DIM:
            raise AgentError(f"memory.dim must be {DIM} (embedding size), not {raw.get('dim')!r}")
        weights = raw.get("weights", [1.0, 1.0, 1.0])
        if not isinstance(weights, list) or len(weights) != 3:
            raise AgentError("memory.weights must be a list of three numbers")
        try:
            stream = cls(
                max_memories=int(raw.get("max_memories", 1000)),
                half_life=int(raw.get("half_life", DEFAULT_HALF_LIFE)),
                weights=(float(weights[0]), float(weights[1]), float(weights[2])),
                entity_weight=float(raw.get("entity_weight", 1.0)),
                summarise_below=float(raw.get("summarise_below", 5.0)),
            )
        except (TypeError, ValueError) as exc:
            raise AgentError(f"memory settings: {exc}") from None
        items = raw.get("items")
        if not isinstance(items, list):
            raise AgentError("memory.items must be a list")
        if len(items) > stream.max_memories:
            raise AgentError(
                f"memory holds {len(items)} items, more than its max_memories {stream.max_memories}"
            )
        stream._alloc(max(MIN_CAPACITY, len(items)))
        for i, item in enumerate(items):
            _add_item(stream, item, f"memory.items[{i}]")
        stream.next_seq = _nonneg("memory.next_seq", raw.get("next_seq", stream.next_seq))
        stream.importance_since_reflection = float(raw.get("importance_since_reflection", 0.0))
        stream.last_reflection_tick = int(raw.get("last_reflection_tick", 0))
        return stream


def _nonneg(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise AgentError(f"{where} must be a non-negative integer, not {value!r}")
    return value


def _add_item(stream: MemoryStream, item: Any, where: str) -> None:
    if not isinstance(item, Mapping):
        raise AgentError(f"{where} must be an object")
    try:
        kind = _KIND_BY_NAME[item["kind"]]
        raw_emb = base64.b64decode(item["embedding"], validate=True)
        if len(raw_emb) != DIM * 4:
            raise AgentError(
                f"{where}.embedding is {len(raw_emb)} bytes; expected {DIM * 4} (float32 x {DIM})"
            )
        emb = np.frombuffer(raw_emb, dtype="<f4").astype(np.float32)
        if not np.isfinite(emb).all():
            raise AgentError(f"{where}.embedding holds non-finite numbers")
        entities = item["entities"]
        if not isinstance(entities, list) or not all(
            isinstance(e, int) and not isinstance(e, bool) for e in entities
        ):
            raise AgentError(f"{where}.entities must be a list of integers")
        tick = item["tick"]
        if isinstance(tick, bool) or not isinstance(tick, int):
            raise AgentError(f"{where}.tick must be an integer")
        stream.add(
            tick,
            item["text"],
            importance=item["importance"],
            entities=entities,
            event=str(item["event"]),
            kind=kind,
            embedding=emb,
            seq=_nonneg(f"{where}.seq", item["seq"]),
            last_access=int(item["last_access"]),
            compact=False,
        )
    except AgentError as exc:
        if str(exc).startswith(where):
            raise
        raise AgentError(f"{where}: {exc}") from None
    except KeyError as exc:
        raise AgentError(f"{where} lacks or has a bad {exc}") from None
    except (TypeError, ValueError) as exc:
        raise AgentError(f"{where}: {exc}") from None


def _top(counter: Counter[Any], k: int) -> list[tuple[Any, int]]:
    """The k most common items, ties broken by the item (deterministic)."""
    return sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))[:k]
