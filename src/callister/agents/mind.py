"""The default mind for one clone: notice events, decide, talk, reflect. Deterministic and fast.

`DefaultMind.decide(clone, observation)` runs the same vectorised code as `AgentPool.step`
(on a batch of one), so a crew member decided for alone and an NPC decided for among 10,000
choose the same action in the same situation at the same tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from callister.agents.decide import (
    ALLOWED,
    Action,
    Decision,
    Kind,
    Traits,
    ZonePart,
    choose,
    feel,
    kind_of,
    make_decisions,
    utilities,
)
from callister.agents.dialogue import Reply, template_reply
from callister.agents.memory import Memory
from callister.agents.model import Clone, Mood, npc_actor
from callister.agents.observe import (
    HOSTILE_SLOTS,
    NONE,
    AgentColumns,
    Observation,
    SeenEvent,
    sense,
)
from callister.agents.orders import Order, for_role
from callister.agents.reflection import reflect, should_reflect

NEVER: Final = -(10**12)

# (importance, event word, text) per event kind; {a} actor name, {t} target name
_EVENT_MEMORY: Final[dict[str, tuple[float, str]]] = {
    "attacked": (8.0, "{a} attacked {t}."),
    "destroyed": (10.0, "{a} destroyed {t}."),
    "crime": (5.0, "{a} committed a crime."),
    "helped": (4.0, "{a} helped {t}."),
    "traded": (3.0, "{a} traded with {t}."),
    "docked": (1.5, "We docked at {place}."),
    "undocked": (1.0, "We undocked from {place}."),
    "mined": (1.0, "We mined {text}."),
    "looted": (2.0, "We looted a wreck."),
    "jumped": (3.0, "We jumped to {text}."),
    "saw": (1.0, "We saw {a}."),
    "said": (3.0, '{a} said: "{text}"'),
    "order": (4.0, '{a} ordered: "{text}"'),
}


def kind_allows(kind: Kind) -> frozenset[Action]:
    return frozenset(Action(int(a)) for a in np.flatnonzero(ALLOWED[kind]))


def us_of(clone: Clone, *, me: int | None = None, ship: int | None = None) -> frozenset[int]:
    """The ids that mean "us" to a clone: itself, its actor as an NPC captain (`npc_actor`),
    the actor it flies for (`me`: a crew's captain) and the ship it is aboard. An attack on
    any of them is an attack on us (a crew's ship is theirs too)."""
    return frozenset(i for i in (clone.id, npc_actor(clone.id), me, ship) if i is not None)


def notice(
    clone: Clone,
    event: SeenEvent,
    *,
    me: int | None = None,
    ship: int | None = None,
    names: dict[int, str] | None = None,
) -> Memory | None:
    """Remember an event and let it change relationships. `me` is an actor id that counts as
    "us" besides the clone (an NPC's ship owner, a crew's captain) and `ship` the ship it is
    aboard (`us_of`); attacks on us make the attacker an entity of the memory (first column:
    reflection counts it). Dead clones notice nothing."""
    if not clone.alive:
        return None
    spec = _EVENT_MEMORY.get(event.kind)
    if spec is None:
        raise ValueError(f"unknown event kind {event.kind!r}")
    importance, template = spec
    names = names or {}
    us = us_of(clone, me=me, ship=ship)
    a_name = names.get(event.actor) or clone.relationships.name_of(event.actor)
    on_us = event.target in us
    t_name = "us" if on_us else names.get(event.target) or clone.relationships.name_of(event.target)
    if event.kind in ("attacked", "destroyed") and not on_us:
        importance = 5.0 if event.kind == "attacked" else 6.0
    text = template.format(
        a=a_name,
        t=t_name,
        x=event.x,
        y=event.y,
        place=event.text[:80] or "a station",
        text=event.text[:200],
    )
    entities: tuple[int, ...] = (event.actor,) if event.actor else ()
    if event.target and not on_us and event.kind in ("attacked", "destroyed", "helped", "traded"):
        entities = (*entities, event.target)
    if event.actor and event.actor not in us:
        rel = clone.relationships.of(event.actor, names.get(event.actor, ""))
        rel.last_tick = max(rel.last_tick, event.tick)
        if event.kind in ("attacked", "destroyed") and on_us:
            rel.attacks += 1
            rel.trust = max(-1.0, rel.trust - 0.2)
            rel.affinity = max(-1.0, rel.affinity - 0.2)
        elif event.kind in ("helped", "traded") and on_us:
            rel.helps += 1
            rel.trust = min(1.0, rel.trust + 0.1)
            rel.affinity = min(1.0, rel.affinity + 0.1)
    if event.kind in ("attacked", "destroyed") and event.system is not None and event.actor:
        victim = (me if me is not None else npc_actor(clone.id)) if on_us else event.target
        clone.knowledge.saw_attack(
            event.actor, victim, event.system, event.tick, on_us=on_us, names=names
        )
    event_word = event.kind
    if event.kind in ("attacked", "destroyed") and not on_us:
        event_word = f"{event.kind}-other"  # not counted as an attack on us by reflection
    return clone.memory.add(
        event.tick,
        text[:1].upper() + text[1:],
        importance=importance,
        entities=entities,
        event=event_word,
    )


def jolt(
    mood: NDArray[np.float32], personality: NDArray[np.float32], kind: str
) -> NDArray[np.float32]:
    """The mood right after an event happened to us (k x 4 in, k x 4 out)."""
    out = mood.copy()
    Ag, N = personality[:, 3], personality[:, 4]
    if kind in ("attacked", "destroyed"):
        out[:, 2] += 0.2 * (0.5 + N)
        out[:, 3] += 0.3 * (1.2 - Ag)
        out[:, 0] -= 0.2
        out[:, 1] += 0.4
    elif kind in ("helped", "traded"):
        out[:, 0] += 0.1
    out[:, 0] = np.clip(out[:, 0], -1, 1)
    out[:, 1:] = np.clip(out[:, 1:], 0, 1)
    return out.astype(np.float32)


def hostile_slots(clone: Clone, extra: int | None = None) -> NDArray[np.int64]:
    ids = clone.relationships.hostile_ids()
    if extra is not None:
        ids = [extra, *[i for i in ids if i != extra]]
    row = np.full(HOSTILE_SLOTS, NONE, np.int64)
    for j, e in enumerate(ids[:HOSTILE_SLOTS]):
        row[j] = e
    return row


def obedience(clone: Clone) -> float:
    return round(0.5 + 0.5 * clone.personality.conscientiousness, 6)


@dataclass(slots=True)
class AgentState:
    """What a single clone's mind carries between decisions outside the clone itself: the
    trader's destination station slot, the last action (so chat only hears changes), the
    current order, the last attack seen, and the planner's `wary` and `hop` (AgentPool.set_plan)."""

    dest: int = NONE
    last_action: int = NONE
    order: Order | None = None
    last_attacker: int = NONE
    attacked_tick: int = NEVER
    wary: float = 0.0
    hop: int = NONE


class DefaultMind:
    """Deterministic, fast, no network: utility decisions, template dialogue, rule reflection."""

    def __init__(self, names: dict[int, str] | None = None) -> None:
        self.names: dict[int, str] = names if names is not None else {}

    def notice(
        self,
        clone: Clone,
        event: SeenEvent,
        *,
        me: int | None = None,
        ship: int | None = None,
        state: AgentState | None = None,
    ) -> Memory | None:
        """Remember `event`; an attack on us (`us_of`) also jolts the mood and is kept in
        `state`."""
        mem = notice(clone, event, me=me, ship=ship, names=self.names)
        if mem is None:
            return None
        if event.kind in ("attacked", "destroyed") and event.target in us_of(
            clone, me=me, ship=ship
        ):
            p = np.array([clone.personality.as_tuple()], np.float32)
            m = jolt(np.array([clone.mood.as_tuple()], np.float32), p, event.kind)[0]
            clone.mood = _mood(m)
            if state is not None:
                state.last_attacker = event.actor
                state.attacked_tick = event.tick
        return mem

    def decide(
        self, clone: Clone, obs: Observation, *, state: AgentState | None = None
    ) -> Decision:
        """One decision for `clone` aboard the observed ship. Raises CloneDead for a dead clone.

        Attacks among `obs.events` (on our ship or actor) count as having been attacked, as do
        attacks recorded in `state` by `notice`. Updates the clone's mood and `state`."""
        clone.require_alive()
        state = state if state is not None else AgentState()
        attack = obs.last_attack()
        attacker, attacked_tick = state.last_attacker, state.attacked_tick
        if attack is not None and attack.tick >= attacked_tick:
            attacker, attacked_tick = attack.actor, attack.tick
        kind = kind_of(clone)
        order = state.order if state.order is not None and state.order.until >= obs.tick else None
        if order is not None:
            order = for_role(order, kind_allows(kind))
        view = obs.to_view()
        rows = np.zeros(1, np.intp)
        agents = AgentColumns(
            stance=np.array([int(obs.stance)], np.int8),
            last_attacker=np.array([attacker], np.int64),
            attacked_tick=np.array([attacked_tick], np.int64),
            hostile=hostile_slots(clone, order.target if order else None)[None, :],
            dest=np.array([state.dest], np.int32),
            clone_id=np.array([clone.id], np.int64),
        )
        traits = traits_of([clone], [order], wary=[state.wary], hop=[state.hop])
        s = sense(view, rows, agents)
        u, ok = utilities(s, traits)
        best, best_u = choose(u, ok)
        last = np.array([state.last_action], np.int8)
        decision = make_decisions(
            s, traits, best, best_u, [ZonePart(view, 0, 1)], last_action=last, names=self.names
        )[0]
        clone.mood = _mood(feel(traits.mood, traits.personality, s)[0])
        state.last_action = int(decision.action)
        state.dest = int(s.dest_slot[0])
        return decision

    def reply(
        self, clone: Clone, message: str, *, speaker: int, speaker_name: str = "", tick: int
    ) -> Reply:
        return template_reply(clone, message, speaker=speaker, speaker_name=speaker_name, tick=tick)

    def reflect(self, clone: Clone, tick: int, *, force: bool = False) -> list[Memory]:
        """Reflect if enough happened since the last time (or `force`)."""
        if not force and not should_reflect(clone):
            return []
        return reflect(clone, tick)


def _mood(m: NDArray[np.float32]) -> Mood:
    return Mood(
        valence=round(float(np.clip(m[0], -1, 1)), 6),
        arousal=round(float(np.clip(m[1], 0, 1)), 6),
        fear=round(float(np.clip(m[2], 0, 1)), 6),
        anger=round(float(np.clip(m[3], 0, 1)), 6),
    )


def mood_from_array(m: NDArray[np.float32]) -> Mood:
    return _mood(m)


def traits_of(
    clones: list[Clone],
    orders: list[Order | None],
    *,
    wary: list[float] | None = None,
    hop: list[int] | None = None,
) -> Traits:
    """Scoring inputs for these clones (orders already filtered for their kinds)."""
    k = len(clones)
    return Traits(
        clone_id=np.array([c.id for c in clones], np.int64),
        kind=np.array([int(kind_of(c)) for c in clones], np.int8),
        personality=np.array([c.personality.as_tuple() for c in clones], np.float32).reshape(-1, 5),
        mood=np.array([c.mood.as_tuple() for c in clones], np.float32).reshape(-1, 4),
        skills=np.array([c.skills.as_tuple() for c in clones], np.float32).reshape(-1, 4),
        order=np.array([int(o.action) if o else NONE for o in orders], np.int8),
        obedience=np.array([obedience(c) for c in clones], np.float32),
        wary=np.array(wary if wary is not None else [0.0] * k, np.float32),
        hop=np.array(hop if hop is not None else [NONE] * k, np.int16),
    )
