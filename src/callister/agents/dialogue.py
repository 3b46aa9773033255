"""Replies to what players (and other clones) say, from templates filled with retrieved memories.

The default mind answers without a language model: it sorts the message into a few intents
(greeting, who-are-you/where-from, how-are-you, what-happened, about someone, an order, thanks,
farewell, anything else), retrieves the memories most relevant to the message (and to the
speaker or the entity asked about), and fills a template whose wording follows the personality
(extraverts say more, disagreeable clones are curt, neurotic ones nervous) and whose content is
the memories: every factual sentence in a reply comes from the clone's own memory stream or
lineage. The exchange itself is remembered (kind DIALOGUE), so the next reply can refer to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from callister.agents.decide import Kind, clone_rng, kind_of
from callister.agents.memory import Memory, MemoryKind
from callister.agents.model import Clone
from callister.agents.orders import Order, parse_order

MAX_MESSAGE: Final = 500
_ENTITY_RE: Final = re.compile(r"#(\d{1,19})")
_INTENTS: Final = (
    (
        "origin",
        re.compile(
            r"who are you|where .*(from|born|made)|your (name|origin|story)|come from"
            r"|remember where"
        ),
    ),
    ("mood", re.compile(r"how are you|how do you feel|how('s| is) it going|feeling|you ok")),
    ("memory", re.compile(r"what happened|remember|recall|seen|what did|tell me about")),
    ("thanks", re.compile(r"\b(thanks|thank you|cheers|well done|good job)\b")),
    ("farewell", re.compile(r"\b(bye|goodbye|farewell|see you later|see ya|until next time)\b")),
    ("greeting", re.compile(r"^\s*(hi|hello|hey|greetings|good (morning|evening|day)|yo)\b")),
)


@dataclass(frozen=True, slots=True)
class Reply:
    """A clone's answer. `memories`: sequence numbers of the memories it drew on; `source`:
    "template" or "llm"; `fallback`: why the language model's answer was not used (None when
    it was, or when no model was asked); `order`: the order the message gave, if any."""

    clone: int
    name: str
    text: str
    memories: tuple[int, ...] = ()
    source: str = "template"
    fallback: str | None = None
    order: Order | None = None


def classify(message: str) -> str:
    """The intent of a message, read from its first sentence."""
    low = re.split(r"(?<=[.!?])\s", message.lower().strip(), maxsplit=1)[0][:160]
    for name, pattern in _INTENTS:
        if pattern.search(low):
            return name
    return "chat"


def rate_importance(text: str) -> float:
    """Importance 2..7 of something said, from a few charged words (Park et al. ask an LLM)."""
    low = text.lower()
    score = 2.0
    for words, bump in (
        (("attack", "kill", "die", "dead", "destroy", "betray", "pirate"), 3.0),
        (("love", "hate", "promise", "secret", "never", "always", "danger"), 2.0),
        (("trade", "credits", "pay", "ore", "station", "jump"), 1.0),
    ):
        if any(w in low for w in words):
            score += bump
    return min(7.0, score)


def _voice(clone: Clone) -> str:
    p = clone.personality
    if p.neuroticism >= 0.65:
        return "nervous"
    if p.agreeableness <= 0.35:
        return "gruff"
    if p.extraversion >= 0.65:
        return "warm"
    if p.extraversion <= 0.35:
        return "terse"
    return "plain"


_GREET: Final = {
    "nervous": ("Oh - {who}. Hello.", "{who}! You startled me. Hello."),
    "gruff": ("What do you want, {who}?", "{who}. Make it quick."),
    "warm": ("Hey {who}! Good to see you!", "{who}! Always a pleasure."),
    "terse": ("{who}.", "Hello, {who}."),
    "plain": ("Hello, {who}.", "Good to see you, {who}."),
}
_ACK: Final = {
    "nervous": "Y-yes, {order}. Right away.",
    "gruff": "Fine. {order}.",
    "warm": "You got it - {order}!",
    "terse": "Aye. {order}.",
    "plain": "Understood: {order}.",
}
_ORDER_WORDS: Final = {
    "IDLE": "holding fire",
    "HOLD": "holding position",
    "DOCK": "docking",
    "UNDOCK": "undocking",
    "FLEE": "getting us out of here",
    "DEFEND": "engaging",
    "FIRE": "opening fire",
    "SHIELDS": "power to shields",
    "MINE": "mining",
    "LOOT": "salvaging",
    "PATROL": "patrolling",
    "TRAVEL": "setting course",
    "JUMP": "jumping",
    "HUNT": "hunting",
    "RESPOND": "responding",
}


def _name_of(clone: Clone, entity: int, fallback: str = "") -> str:
    rel = clone.relationships.get(entity)
    if rel is not None and rel.name:
        return rel.name
    return fallback or f"#{entity}"


def origin_story(clone: Clone) -> str:
    """Where the clone comes from, in its own words (from its lineage)."""
    lin = clone.lineage
    parts = [f"I'm {clone.name}. I was made in world {lin.origin_world} at tick {lin.born_tick}"]
    if lin.parent is not None:
        parts[0] += f", forked from clone #{lin.parent} at tick {lin.fork_tick}"
    parts[0] += "."
    moves = [e for e in lin.history if e.event in ("imported", "hosted")]
    if moves:
        last = moves[-1]
        if last.event == "imported":
            parts.append(f"I came to {last.world} at tick {last.tick}{_from(last.note)}.")
        else:
            parts.append(f"Now I'm awake outside any world{_from(last.note)}.")
    if clone.licence.status == "unlicensed":
        parts.append("(My licence is not in order: the person I was made from never consented.)")
    return " ".join(parts)


def _from(note: str) -> str:
    return f" ({note})" if note else ""


def _recall(mem: Memory) -> str:
    return f"{mem.text} (tick {mem.tick})"


def template_reply(
    clone: Clone,
    message: str,
    *,
    speaker: int,
    speaker_name: str = "",
    tick: int,
    remember: bool = True,
    allow_orders: bool = True,
) -> Reply:
    """The default mind's reply (see module docstring). Raises CloneDead for a dead clone.
    `allow_orders`: the speaker may give orders (the captain; not another clone)."""
    clone.require_alive()
    message = message.strip()[:MAX_MESSAGE]
    who = _name_of(clone, speaker, speaker_name)
    voice = _voice(clone)
    rng = clone_rng(clone.id, tick)
    intent = classify(message)
    order = parse_order(message, tick) if allow_orders and intent == "chat" else None
    if order is not None and kind_of(clone) not in (
        Kind.PILOT,
        Kind.GUNNER,
        Kind.ENGINEER,
        Kind.MINER,
    ):
        order = None  # NPC captains take no orders from strangers
    mentioned = [int(m) for m in _ENTITY_RE.findall(message)]
    about = mentioned[0] if mentioned else speaker
    used = clone.memory.retrieve(message, tick, k=3, entity=about)
    used = [
        m for m in used if m.kind is not MemoryKind.DIALOGUE or m.entities[:1] != (speaker,)
    ] or used
    sentences: list[str] = []
    rel = clone.relationships.get(speaker)
    if rel is not None and rel.hostile:
        sentences.append(f"I don't trust you, {who}.")
    if order is not None:
        sentences.append(_ACK[voice].format(order=_ORDER_WORDS[order.action.name]))
        used = []
    elif intent == "greeting":
        sentences.append(_GREET[voice][int(rng.integers(2))].format(who=who))
        if voice in ("warm", "plain") and used:
            sentences.append(f"Last thing on my mind: {_recall(used[0])}")
    elif intent == "origin":
        sentences.append(origin_story(clone))
        if clone.profile.background and voice != "terse":
            sentences.append(clone.profile.background.split("\n")[0][:240])
        used = [m for m in used if m.event in ("created", "arrived", "imported", "forked")][:1]
    elif intent == "mood":
        label = clone.mood.label
        recent = [
            m
            for m in clone.memory.recent(8)
            if m.importance >= 5 and m.kind is not MemoryKind.DIALOGUE
        ]
        reason = f" - {recent[0].text}" if recent else ""
        sentences.append(f"I'm feeling {label}{reason}.")
        used = recent[:1]
    elif intent == "memory" or mentioned:
        if used:
            lead = {"nervous": "I... I remember", "gruff": "Yeah. I remember", "terse": "Recall:"}
            sentences.append(f"{lead.get(voice, 'I remember')} {_recall(used[0])}")
            if len(used) > 1 and voice in ("warm", "plain"):
                sentences.append(f"Also: {_recall(used[1])}")
        else:
            sentences.append("I don't remember anything about that.")
    elif intent == "thanks":
        sentences.append(
            {"gruff": "Don't mention it.", "terse": "Sure."}.get(voice, f"Any time, {who}.")
        )
        used = []
    elif intent == "farewell":
        sentences.append(
            {"nervous": "Be careful out there.", "gruff": "Finally."}.get(
                voice, f"Fly safe, {who}."
            )
        )
        used = []
    else:
        if used:
            sentences.append(f"That makes me think of this: {_recall(used[0])}")
        else:
            sentences.append("Hm. I have nothing to say about that.")
        ambitions = clone.goals.ambitions
        if ambitions and voice == "warm":
            sentences.append(
                f"You know what I want? {ambitions[int(rng.integers(len(ambitions)))]}"
            )
    text = " ".join(sentences)
    if remember:
        clone.memory.add(
            tick,
            f'{who} said to me: "{message[:200]}"; I answered: "{text[:200]}"',
            importance=rate_importance(message),
            entities=(speaker, *mentioned[:3]),
            event="said",
            kind=MemoryKind.DIALOGUE,
        )
        if speaker_name:
            clone.relationships.of(speaker, speaker_name)
    return Reply(
        clone=clone.id,
        name=clone.name,
        text=text,
        memories=tuple(m.seq for m in used),
        order=order,
    )
