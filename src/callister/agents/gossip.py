"""Gossip: clones docked at the same station trade what they know.

`gossip(a, b, now)` is one conversation: each tells the other its freshest facts
(`Knowledge.tell`: prices with the tick they were seen, dangerous systems, who attacked whom)
and each keeps what is newer than what it knew (`Knowledge.hear`), with the teller as the
source and one more hop. Bounded: a few facts of each kind per conversation (more from
extraverts), none retold past MAX_HOPS. Nobody listens to, or talks to, someone they hold
hostile.

What matters is also remembered: a heard attack becomes a memory ("Ines Lind told me that Rook
Varga attacked Sol Haas in Tarsis.", event "heard-attack", entities attacker, teller, victim)
and a newly feared system one ("heard-danger"), so reflection can turn repeated reports into a
belief (`reflection.py`: an attacker reported twice is held hostile) and dialogue can repeat
them: that is how a reputation spreads. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from callister.agents.atlas import SystemId
from callister.agents.knowledge import Heard
from callister.agents.memory import Memory
from callister.agents.mind import us_of
from callister.agents.model import Clone, npc_actor

MAX_MEMORIES_PER_TALK: Final = 2  # memories one conversation may add to a listener
PARTNERS: Final = 1  # clones a newcomer talks to at a station


@dataclass(frozen=True, slots=True)
class Talk:
    """What one conversation taught each side (`a_heard` is what `a` learned)."""

    a_heard: Heard | None
    b_heard: Heard | None
    memories: tuple[Memory, ...]


def gossip(
    a: Clone,
    b: Clone,
    now: int,
    *,
    actor_a: int | None = None,
    actor_b: int | None = None,
    place: Callable[[SystemId], str] | None = None,
) -> Talk:
    """One conversation between two living clones at `now`. `actor_*` are the ids they are
    known by to others (default: their NPC actor ids); `place` names systems for memories."""
    a.require_alive()
    b.require_alive()
    ida = npc_actor(a.id) if actor_a is None else actor_a
    idb = npc_actor(b.id) if actor_b is None else actor_b
    a_listens = not (a.relationships.is_hostile(idb) or a.relationships.is_hostile(b.id))
    b_listens = not (b.relationships.is_hostile(ida) or b.relationships.is_hostile(a.id))
    told_by_a = a.knowledge.tell(now, **_amounts(a)) if b_listens and a_listens else None
    told_by_b = b.knowledge.tell(now, **_amounts(b)) if a_listens and b_listens else None
    memories: list[Memory] = []
    a_heard = b_heard = None
    if told_by_b is not None:
        a_heard = a.knowledge.hear(told_by_b, idb)
        memories += _remember(a, a_heard, b, idb, now, place)
    if told_by_a is not None:
        b_heard = b.knowledge.hear(told_by_a, ida)
        memories += _remember(b, b_heard, a, ida, now, place)
    return Talk(a_heard, b_heard, tuple(memories))


def partners(present: Sequence[int], newcomer: int, tick: int) -> list[int]:
    """Whom a clone arriving at a station talks to: up to PARTNERS of those docked there (the
    latest arrivals first, `present` in arrival order), never itself."""
    others = [c for c in present if c != newcomer]
    return others[-PARTNERS:][::-1] if others else []


def _amounts(clone: Clone) -> dict[str, int]:
    e = clone.personality.extraversion
    return {"markets": 3 + round(6 * e), "dangers": 1 + round(3 * e), "attacks": 2 + round(4 * e)}


def _remember(
    listener: Clone,
    heard: Heard,
    teller: Clone,
    teller_actor: int,
    now: int,
    place: Callable[[SystemId], str] | None,
) -> list[Memory]:
    out: list[Memory] = []
    names = listener.knowledge.names
    us = us_of(listener)
    listener.relationships.of(teller_actor, teller.name)
    where = place or (lambda s: "a nearby system")
    for attack in heard.attacks:
        if len(out) >= MAX_MEMORIES_PER_TALK:
            break
        if attack.victim in us or attack.attacker in us:
            continue  # we know our own fights first hand
        attacker = names.get(attack.attacker) or listener.relationships.name_of(attack.attacker)
        victim = names.get(attack.victim) or listener.relationships.name_of(attack.victim)
        rel = listener.relationships.of(attack.attacker, names.get(attack.attacker, ""))
        rel.trust = max(-1.0, rel.trust - 0.05)
        out.append(
            listener.memory.add(
                now,
                f"{teller.name} told me that {attacker} attacked {victim} in "
                f"{where(attack.system)}.",
                importance=4.0,
                entities=(attack.attacker, teller_actor, attack.victim),
                event="heard-attack",
            )
        )
    for system in heard.dangers:
        if len(out) >= MAX_MEMORIES_PER_TALK:
            break
        out.append(
            listener.memory.add(
                now,
                f"{teller.name} warned me that {where(system)} is dangerous.",
                importance=3.0,
                entities=(teller_actor,),
                event="heard-danger",
            )
        )
    return out
