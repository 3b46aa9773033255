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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from callister.agents.decide import ALLOWED, Action, Kind, clone_rng, kind_of
from callister.agents.memory import Memory, MemoryKind
from callister.agents.model import UNNAMED, Clone
from callister.agents.orders import Order, for_role, parse_order

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
    return fallback or clone.knowledge.names.get(entity) or UNNAMED


TICK_HZ: Final = 20


def ago(ticks: int) -> str:
    """How long `ticks` (20 Hz) is, as a person says it: "just now", "5 minutes ago", "about
    2 hours ago", "3 days ago"."""
    s = max(0, ticks) / TICK_HZ
    if s < 90:
        return "just now"
    if s < 3600:
        return f"{round(s / 60)} minutes ago"
    if s < 2 * 86_400:
        h = round(s / 3600)
        return "about an hour ago" if h <= 1 else f"about {h} hours ago"
    return f"{round(s / 86_400)} days ago"


_AT_TICK: Final = re.compile(r"\b(?:at |since |up to |until )?tick (\d{1,19})\b")
_TICKS: Final = re.compile(r"\(ticks \d{1,19}-\d{1,19}\)\s*")
_IDS: Final = re.compile(r"\(?#(-?\d{1,19})\)?")


def speakable(clone: Clone, text: str, now: int) -> str:
    """`text` as the clone would say it: ticks become times ("at tick 900" -> "an hour ago")
    and "#id"s become names (or "an unknown pilot"). Memories written before names were
    known, or by other code, still come out as a person would say them."""
    text = _TICKS.sub("", text)
    text = _AT_TICK.sub(lambda m: ago(now - int(m.group(1))), text)

    def name(m: re.Match[str]) -> str:
        return _name_of(clone, int(m.group(1)))

    return re.sub(r"\s+([,.;:])", r"\1", _IDS.sub(name, text)).strip()


def origin_story(clone: Clone, now: int | None = None) -> str:
    """Where the clone comes from, in its own words (from its lineage), with times said as
    a person says them (no ticks, no ids)."""
    lin = clone.lineage
    made = f"I'm {clone.name}. I was made in world {lin.origin_world}"
    if now is not None and now >= lin.born_tick:
        made += f", {ago(now - lin.born_tick)}" if now - lin.born_tick >= 1800 else ", just now"
    if lin.parent is not None:
        made += ", forked from another clone, sharing their memories"
    parts = [made + "."]
    moves = [e for e in lin.history if e.event in ("imported", "hosted")]
    if moves:
        last = moves[-1]
        note = _plain(last.note, now)
        if last.event == "imported":
            parts.append(f"I came to {last.world}{_from(note)}.")
        else:
            parts.append(f"Now I'm awake outside any world{_from(note)}.")
    if clone.licence.status == "unlicensed":
        parts.append("(My licence is not in order: the person I was made from never consented.)")
    return " ".join(parts)


def _plain(text: str, now: int | None) -> str:
    """A lineage note as speech: ticks said as times (or left out without a `now`), ids and
    key fingerprints left out."""
    if now is None:
        text = re.sub(r",?\s*\b(?:exported |forked )?(?:at|since|up to) tick \d{1,19}", "", text)
    else:
        text = _AT_TICK.sub(lambda m: ago(now - int(m.group(1))), text)
    text = re.sub(r",?\s*signed by [0-9a-f]{6,}(?: \(untrusted\))?", "", text)
    return _IDS.sub("", text).strip(" ,;")


def _from(note: str) -> str:
    return f" ({note})" if note else ""


def _recall(clone: Clone, mem: Memory, now: int) -> str:
    text = speakable(clone, mem.text, now)
    when = ago(now - mem.tick)
    return f"{text} ({when})" if not text.endswith("ago.") else text


def _recently_said(clone: Clone, k: int = 3) -> str:
    """What the clone answered in its last `k` exchanges (so it does not repeat itself)."""
    said = [m.text for m in clone.memory.recent(12) if m.kind is MemoryKind.DIALOGUE][:k]
    return "\n".join(t.split('I answered: "', 1)[-1] for t in said)


def _fresh(clone: Clone, memories: list[Memory], now: int) -> list[Memory]:
    """The memories not quoted in the clone's last few answers, best first (all of them if
    every one was)."""
    said = _recently_said(clone)
    fresh = [m for m in memories if speakable(clone, m.text, now)[:40] not in said]
    return fresh or memories


def _can(kind: Kind, order: Order) -> bool:
    """Whether a clone of `kind` can carry out `order` (as `for_role` reads it: a gunner told
    to attack fires)."""
    allowed = frozenset(Action(int(a)) for a in np.flatnonzero(ALLOWED[int(kind)]))
    return for_role(order, allowed) is not None


def _carrier(order: Order, crew: Sequence[tuple[str, Kind]]) -> str | None:
    """The crewmate (name) whose station can carry out `order`, if any."""
    for name, kind in crew:
        if _can(kind, order):
            return name
    return None


def template_reply(
    clone: Clone,
    message: str,
    *,
    speaker: int,
    speaker_name: str = "",
    tick: int,
    remember: bool = True,
    allow_orders: bool = True,
    crew: Sequence[tuple[str, Kind]] = (),
) -> Reply:
    """The default mind's reply (see module docstring). Raises CloneDead for a dead clone.
    `allow_orders`: the speaker may give orders (the captain; not another clone). `crew`:
    the others aboard (name, kind), so an order for another station is passed on honestly,
    and one nobody aboard can carry out is not promised.

    What it says is true to what it is and knows: names, never ids or ticks; it quotes a
    memory it did not quote in its last few answers when it has another."""
    clone.require_alive()
    message = message.strip()[:MAX_MESSAGE]
    who = _name_of(clone, speaker, speaker_name)
    voice = _voice(clone)
    rng = clone_rng(clone.id, tick)
    intent = classify(message)
    order = parse_order(message, tick) if allow_orders and intent == "chat" else None
    kind = kind_of(clone)
    if order is not None and kind not in (Kind.PILOT, Kind.GUNNER, Kind.ENGINEER, Kind.MINER):
        order = None  # NPC captains take no orders from strangers
    mentioned = [int(m) for m in _ENTITY_RE.findall(message)]
    about = mentioned[0] if mentioned else speaker
    used = clone.memory.retrieve(message, tick, k=4, entity=about)
    used = [
        m for m in used if m.kind is not MemoryKind.DIALOGUE or m.entities[:1] != (speaker,)
    ] or used
    used = _fresh(clone, used, tick)
    sentences: list[str] = []
    rel = clone.relationships.get(speaker)
    if rel is not None and rel.hostile:
        sentences.append(f"I don't trust you, {who}.")
    if order is not None:
        if _can(kind, order):
            sentences.append(_ACK[voice].format(order=_ORDER_WORDS[order.action.name]))
        else:
            carrier = _carrier(order, crew)
            if carrier is not None:
                sentences.append(f"That's for {carrier}'s station - passing it on.")
            else:
                sentences.append(
                    f"Nobody aboard can do that: I'm the {kind.name.lower()}, and no one "
                    "else here has the station for it."
                )
        used = []
    elif intent == "greeting":
        sentences.append(_GREET[voice][int(rng.integers(2))].format(who=who))
        if voice in ("warm", "plain") and used:
            sentences.append(f"Last thing on my mind: {_recall(clone, used[0], tick)}")
    elif intent == "origin":
        sentences.append(origin_story(clone, tick))
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
        reason = f" - {speakable(clone, recent[0].text, tick).rstrip('.')}" if recent else ""
        sentences.append(f"I'm feeling {label}{reason}.")
        used = recent[:1]
    elif intent == "memory" or mentioned:
        if used:
            lead = {"nervous": "I... I remember", "gruff": "Yeah. I remember", "terse": "Recall:"}
            sentences.append(f"{lead.get(voice, 'I remember')} {_recall(clone, used[0], tick)}")
            if len(used) > 1 and voice in ("warm", "plain"):
                sentences.append(f"Also: {_recall(clone, used[1], tick)}")
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
            sentences.append(f"That makes me think of this: {_recall(clone, used[0], tick)}")
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
