"""Reflection: turning many memories into beliefs, deterministically (the default mind).

Park et al. reflect when the importance of recent memories adds up past a threshold; so do we
(`should_reflect`). Rules over the whole stream's event counts per entity make beliefs:

- attacked us twice or more, or destroyed one of ours: "X attacked us twice: X is hostile."
  (the relationship becomes hostile, trust and affinity drop);
- helped or traded with us twice or more: "X has traded with us 3 times: X can be trusted.";
- seen committing a crime: "X commits crimes: X is a criminal." (hostile for patrols);
- reported attacking others twice or more by gossip (`gossip.py`): "X attacks ships, I have heard
  twice: X is dangerous." (hostile, except to pirates): a reputation that spread.

A belief is stored as a memory of kind REFLECTION, and stated again only when its count grows
(`Clone.beliefs` remembers what was concluded), so reflection is idempotent.
"""

from __future__ import annotations

from typing import Final

from callister.agents.memory import Memory, MemoryKind
from callister.agents.model import UNNAMED, Clone, Goal

REFLECT_THRESHOLD: Final = 30.0  # importance points since the last reflection


def times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def sentence(subject: str, rest: str, then: str) -> str:
    """ "Subject rest: subject then." with an unnamed subject said once ("An unknown pilot
    attacked us twice: they are hostile.") and the first letter capitalised."""
    again = f"they {then.replace('is ', 'are ', 1)}" if subject == UNNAMED else f"{subject} {then}"
    text = f"{subject} {rest}: {again}."
    return text[:1].upper() + text[1:]


def should_reflect(clone: Clone, threshold: float = REFLECT_THRESHOLD) -> bool:
    return clone.alive and clone.memory.importance_since_reflection >= threshold


def reflect(clone: Clone, tick: int) -> list[Memory]:
    """Form new beliefs from the memory stream; returns the reflection memories added."""
    clone.require_alive()
    mem = clone.memory
    rels = clone.relationships
    out: list[Memory] = []

    def believe(
        key: str, count: int, text: str, entity: int, importance: float, event: str
    ) -> None:
        if clone.beliefs.get(key, 0) >= count:
            return
        clone.beliefs[key] = count
        out.append(
            mem.add(
                tick,
                text,
                importance=importance,
                entities=(entity,),
                event=event,
                kind=MemoryKind.REFLECTION,
            )
        )

    attacks = mem.counts_by_entity("attacked")
    kills = mem.counts_by_entity("destroyed")
    for entity in sorted(set(attacks) | set(kills)):
        n, k = attacks.get(entity, 0), kills.get(entity, 0)
        if n < 2 and k < 1:
            continue
        name = rels.name_of(entity)
        if k:
            text = sentence(name, "destroyed one of ours", "is hostile")
        else:
            text = sentence(name, f"attacked us {times(n)}", "is hostile")
        before = clone.beliefs.get(f"hostile:{entity}", 0)
        believe(f"hostile:{entity}", n + 10 * k, text, entity, min(10.0, 6.0 + n + 2 * k), "belief")
        if clone.beliefs[f"hostile:{entity}"] != before:
            rel = rels.of(entity)
            rel.hostile = True
            rel.trust = max(-1.0, rel.trust - 0.5)
            rel.affinity = max(-1.0, rel.affinity - 0.3)
            rel.last_tick = max(rel.last_tick, tick)
    friendly = mem.counts_by_entity("helped")
    for entity, c in mem.counts_by_entity("traded").items():
        friendly[entity] = friendly.get(entity, 0) + c
    for entity in sorted(friendly):
        n = friendly[entity]
        if n < 2 or rels.is_hostile(entity):
            continue
        name = rels.name_of(entity)
        key = f"trusted:{entity}"
        before = clone.beliefs.get(key, 0)
        believe(
            key,
            n,
            sentence(name, f"has dealt fairly with us {times(n)}", "can be trusted"),
            entity,
            5.0,
            "belief",
        )
        if clone.beliefs[key] != before:
            rel = rels.of(entity)
            rel.trust = min(1.0, rel.trust + 0.3)
            rel.affinity = min(1.0, rel.affinity + 0.2)
    heard = mem.counts_by_entity("heard-attack")
    for entity in sorted(heard):
        n = heard[entity]
        if n < 2 or entity in attacks or entity in kills:
            continue  # one rumour is not a reputation; our own fights speak for themselves
        name = rels.name_of(entity)
        key = f"reputed:{entity}"
        before = clone.beliefs.get(key, 0)
        text = sentence(name, f"attacks ships, I have heard {times(n)}", "is dangerous")
        believe(key, n, text, entity, 6.0, "belief")
        if clone.beliefs[key] != before and clone.goals.primary is not Goal.PIRATE:
            rel = rels.of(entity)
            rel.hostile = True  # flee or fight on sight, by personality (decide.py)
            rel.trust = max(-1.0, rel.trust - 0.3)
    for entity, n in sorted(mem.counts_by_entity("crime").items()):
        name = rels.name_of(entity)
        key = f"criminal:{entity}"
        before = clone.beliefs.get(key, 0)
        text = sentence(name, "commits crimes", "is a criminal")
        believe(key, n, text, entity, 6.0, "belief")
        if clone.beliefs[key] != before and clone.goals.primary is Goal.PATROL:
            rels.of(entity).hostile = True
    mem.importance_since_reflection = 0.0
    mem.last_reflection_tick = tick
    return out
