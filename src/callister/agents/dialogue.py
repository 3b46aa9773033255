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
from dataclasses import dataclass, replace
from typing import Final

import numpy as np

from callister.agents.decide import ALLOWED, Action, Kind, clone_rng, kind_of
from callister.agents.memory import Memory, MemoryKind
from callister.agents.model import UNNAMED, Clone
from callister.agents.orders import Order, for_role, parse_order
from callister.agents.speech import gist

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

    def model_not_used(self, why: str) -> Reply:
        """This template reply, saying why the language model's answer was not used."""
        return replace(self, source="template", fallback=why)


def classify(message: str) -> str:
    """The intent of a message, read from its first sentence."""
    low = re.split(r"(?<=[.!?])\s", message.lower().strip(), maxsplit=1)[0][:160]
    for name, pattern in _INTENTS:
        if pattern.search(low):
            return name
    return "chat"


def is_order(message: str, tick: int) -> bool:
    """Whether the captain's line is an order: answered at once by the template, never put to
    a language model (an order is a game action, not a conversation)."""
    return classify(message) == "chat" and parse_order(message, tick) is not None


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
    """A memory as the clone tells it: names, and when ("Rook attacked us, an hour ago.");
    a conversation with someone else is told by what they said, not the whole exchange."""
    text = mem.text
    if mem.kind is MemoryKind.DIALOGUE:
        heard = text.partition('"; I answered: "')[0]
        text = heard.replace(' said to me: "', ' told me: "', 1) + '"'
    text = speakable(clone, text, now)
    if text.endswith("ago."):
        return text
    return f"{text.rstrip('.')}, {ago(now - mem.tick)}."


SAY_AGAIN_TICKS: Final = 10 * 60 * TICK_HZ  # an answer is not given to the same person again within


def exchanges(
    clone: Clone, listener: int, now: int, within: int = SAY_AGAIN_TICKS
) -> list[tuple[str, str]]:
    """(what `listener` said, what the clone answered), newest first, within `within` ticks:
    read from the clone's dialogue memories, so it survives restarts."""
    out = []
    for m in clone.memory.recent(160):
        if now - m.tick > within:
            break
        if m.kind is not MemoryKind.DIALOGUE or m.entities[:1] != (listener,):
            continue
        heard, sep, answered = m.text.partition('"; I answered: "')
        if sep:
            out.append((heard.split(' said to me: "', 1)[-1], answered.rsplit('"', 1)[0]))
    return out


def _recently_said(clone: Clone, k: int = 3) -> str:
    """What the clone answered in its last `k` exchanges (so it does not repeat itself)."""
    said = [m.text for m in clone.memory.recent(12) if m.kind is MemoryKind.DIALOGUE][:k]
    return "\n".join(t.split('I answered: "', 1)[-1] for t in said)


def _fresh(clone: Clone, memories: list[Memory], now: int) -> list[Memory]:
    """The memories not quoted in the clone's last few answers, best first (all of them if
    every one was)."""
    said = _recently_said(clone)
    fresh = [m for m in memories if speakable(clone, m.text, now).rstrip(".")[:40] not in said]
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


_STATION_OF: Final = {  # the crew station an order needs, as a person names it
    Kind.PILOT: "the helm",
    Kind.GUNNER: "the guns",
    Kind.ENGINEER: "engineering",
    Kind.MINER: "the mining laser",
}


def _station_for(order: Order) -> str:
    for kind, station in _STATION_OF.items():
        if _can(kind, order):
            return station
    return "that station"


# Why an order that this station can carry out cannot be carried out now (`possible`: what
# the clone could do when it last thought; the order still holds for a while).
_NOT_NOW: Final = {
    Action.FLEE: "Nothing is after us right now - there's nothing to run from. If something "
    "comes at us, I'll get us clear.",
    Action.DOCK: "There's no station near enough to dock at.",
    Action.UNDOCK: "We're not docked.",
    Action.DEFEND: "There's nobody to fight on the sensors.",
    Action.FIRE: "Nothing in range of the guns. I'll fire when there is.",
    Action.MINE: "No rock in reach of the laser - bring us to a field first.",
    Action.LOOT: "There's no wreck near enough to salvage.",
    Action.HOLD: "We're docked - we're not going anywhere.",
}


def order_reply(
    clone: Clone,
    order: Order,
    *,
    crew: Sequence[tuple[str, Kind]] = (),
    holder: str | None = None,
    possible: frozenset[Action] | None = None,
) -> list[str]:
    """What a crew member says to `order`, as several wordings (best first): an
    acknowledgement only if its station can carry it out and it can be done now; else who
    can (a crewmate, or `holder`: the captain, who holds every station nobody else does), or
    the honest reason it can't."""
    kind = kind_of(clone)
    voice = _voice(clone)
    words = _ORDER_WORDS[order.action.name]
    if _can(kind, order):
        mine = order.action
        if mine is Action.DEFEND and kind is Kind.GUNNER:
            mine = Action.FIRE  # a gunner told to attack fires (`for_role`)
        words = _ORDER_WORDS[mine.name]
        if possible is not None and mine not in possible:
            if Action.UNDOCK in possible and mine is not Action.UNDOCK:
                why = "We're docked: undock first."
            else:
                why = _NOT_NOW.get(mine, "Can't do that right now.")
            return [why, f"Not yet - {why[0].lower()}{why[1:]}", f"Still no: {why}"]
        return [
            _sentence_case(_ACK[voice].format(order=words)),
            f"On it: {words}.",
            f"{words[0].upper()}{words[1:]}, captain.",
            f"Aye - {words}.",
        ]
    carrier = _carrier(order, crew)
    post = _STATION_OF.get(kind, "my post")
    if carrier is not None:
        return [
            f"That's for {carrier}'s station - passing it on.",
            f"{carrier} has that one - I've told them.",
            f"Passing that to {carrier}.",
        ]
    station = _station_for(order)
    if holder:
        return [
            f"I'm on {post}, {holder} - {station} is yours: nobody else aboard has it.",
            f"That's {station}, {holder}, and that's you - I can't do it from {post}.",
            f"Not from {post}. {station[0].upper()}{station[1:]} is yours, {holder}.",
        ]
    return [
        f"Nobody aboard can do that: I'm the {kind.name.lower()}, and no one else here has "
        f"{station}.",
        f"I can't - that needs {station}, and nobody aboard has it.",
    ]


_ORDINAL: Final = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def _ordinal(n: int) -> str:
    return _ORDINAL[n - 1] if 0 < n <= len(_ORDINAL) else f"{n}th"


_AGAIN: Final = {  # what it says when every answer was given lately: the count is news
    "greeting": "That's the {n} time you've said hello, {who}.",
    "origin": "That's the {n} time you've asked who I am, {who}. Still the same answer.",
    "mood": "You've asked how I am {times} now, {who}. No change.",
    "memory": "That's the {n} time you've asked me that, {who}. I've told you what I know.",
    "thanks": "You've thanked me {times} now, {who}. Enough.",
    "farewell": "That's the {n} goodbye, {who}. Are you going or not?",
    "order": "That's the {n} time you've given that order, {who}.",
    "chat": "You've said that {times} now, {who}.",
}


def _same_orders(before: list[tuple[str, str]], order: Order, tick: int) -> int:
    """How many of the lines heard lately gave the same order."""
    return sum(
        1 for heard, _ in before if (o := parse_order(heard, tick)) and o.action is order.action
    )


def _sentence_case(text: str) -> str:
    """A capital letter after each full stop ("Fine. holding fire." -> "Fine. Holding fire.")."""
    return re.sub(r"([.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _say_again(intent: str, n: int, who: str, before: list[tuple[str, str]]) -> str:
    """The count is the news: compared word for word (its number is what differs)."""
    said = {answer for _, answer in before}
    while True:
        text = _AGAIN[intent].format(n=_ordinal(n), times=_times(n), who=who)
        if text[:200] not in said:
            return text
        n += 1


def answer_order(
    clone: Clone,
    order: Order,
    *,
    speaker: int,
    speaker_name: str = "",
    tick: int,
    crew: Sequence[tuple[str, Kind]] = (),
    holder: str | None = None,
    possible: frozenset[Action] | None = None,
) -> str:
    """What the clone says to an order given with a button (`order.text`: its words): the
    first of `order_reply`'s wordings it has not said to the speaker lately, remembered as
    an exchange like any other."""
    clone.require_alive()
    who = _name_of(clone, speaker, speaker_name)
    before = exchanges(clone, speaker, tick)
    said = {gist(answer) for _, answer in before}
    options = order_reply(clone, order, crew=crew, holder=holder, possible=possible)
    text = next((t for t in options if gist(t[:200]) not in said), None)
    if text is None:
        n = 1 + _same_orders(before, order, tick)
        text = _say_again("order", n, who, before)
    heard = order.text or _ORDER_WORDS[order.action.name]
    clone.memory.add(
        tick,
        f'{who} said to me: "{heard[:200]}"; I answered: "{text[:200]}"',
        importance=3.0,
        entities=(speaker,),
        event="said",
        kind=MemoryKind.DIALOGUE,
    )
    return text


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
    holder: str | None = None,
    possible: frozenset[Action] | None = None,
) -> Reply:
    """The default mind's reply (see module docstring). Raises CloneDead for a dead clone.
    `allow_orders`: the speaker may give orders (the captain; not another clone). `crew`:
    the others aboard (name, kind), so an order for another station is passed on honestly;
    `holder`: who holds the stations nobody in `crew` holds (the captain); `possible`: what
    the clone can do now (an order it cannot carry out now is not acknowledged).

    What it says is true to what it is and knows: names, never ids or ticks; it quotes a
    memory it did not quote in its last few answers when it has another; and it never gives
    the same answer to the same person within `SAY_AGAIN_TICKS` (it words it differently,
    tells something else, or remarks that it was asked before)."""
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
    # what it said to this very speaker is not news to them: never quoted back at them
    used = clone.memory.retrieve(message, tick, k=4, entity=about, not_said_with=speaker)
    used = _fresh(clone, used, tick)
    before = exchanges(clone, speaker, tick)
    said = {gist(answer) for _, answer in before}
    # every way of answering, best first: (the text, the memories it quotes)
    options: list[tuple[str, list[Memory]]] = []
    if order is not None:
        options = [(t, []) for t in order_reply(clone, order, crew=crew, holder=holder,
                                                 possible=possible)]  # fmt: skip
    elif intent == "greeting":
        greets = [g.format(who=who) for g in _GREET[voice]]
        greets += [f"{who}. What is it?", f"Yes, {who}?", f"Here, {who}."]
        if voice in ("warm", "plain"):
            for m in used[:2]:
                options.append(
                    (f"{greets[0]} Last thing on my mind: {_recall(clone, m, tick)}", [m])
                )
        first = int(rng.integers(2))
        options = [(greets[first], [])] + options + [(g, []) for g in greets if g != greets[first]]
    elif intent == "origin":
        story = origin_story(clone, tick)
        back = clone.profile.background.split("\n")[0][:240] if clone.profile.background else ""
        made = [m for m in used if m.event in ("created", "arrived", "imported", "forked")][:1]
        if back and voice != "terse":
            options.append((f"{story} {back}", made))
        options += [(story, made), (f"Like I said: {story}", made)]
    elif intent == "mood":
        label = clone.mood.label
        recent = [
            m
            for m in clone.memory.recent(8)
            if m.importance >= 5 and m.kind is not MemoryKind.DIALOGUE
        ]
        for m in recent[:3]:
            reason = speakable(clone, m.text, tick).rstrip(".")
            options.append((f"I'm feeling {label} - {reason}.", [m]))
        options += [(f"I'm feeling {label}.", []), (f"{label.capitalize()}, mostly.", []),
                    (f"Still {label}.", [])]  # fmt: skip
    elif intent == "memory" or mentioned:
        lead = {"nervous": "I... I remember", "gruff": "Yeah. I remember", "terse": "Recall:"}
        first_lead = lead.get(voice, "I remember")
        for j, m in enumerate(used):
            text = f"{first_lead} {_recall(clone, m, tick)}"
            also = used[j + 1] if j + 1 < len(used) else None
            if also is not None and gist(also.text) != gist(m.text) and voice in ("warm", "plain"):
                options.append((f"{text} Also: {_recall(clone, also, tick)}", [m, also]))
            options.append((text, [m]))
        options += [(f"There's this: {_recall(clone, m, tick)}", [m]) for m in used]
        if not used:
            options += [("I don't remember anything about that.", []),
                        ("Nothing comes to mind.", []),
                        (f"I can't help you there, {who}.", [])]  # fmt: skip
    elif intent == "thanks":
        thanks = {"gruff": "Don't mention it.", "terse": "Sure."}.get(voice, f"Any time, {who}.")
        options = [(t, []) for t in (thanks, "Glad to help.", "No trouble.", f"Sure thing, {who}.")]
    elif intent == "farewell":
        bye = {"nervous": "Be careful out there.", "gruff": "Finally."}.get(
            voice, f"Fly safe, {who}."
        )
        options = [(t, []) for t in (bye, "Until next time.", f"Take care, {who}.", "Later.")]
    else:
        for m in used:
            recall = _recall(clone, m, tick)
            options += [(f"That makes me think of this: {recall}", [m]),
                        (f"Reminds me: {recall}", [m])]  # fmt: skip
        ambitions = clone.goals.ambitions
        if ambitions and voice == "warm":
            pick = ambitions[int(rng.integers(len(ambitions)))]
            options = [(f"{t} You know what I want? {pick}", ms) for t, ms in options[:1]] + options
            options.append((f"You know what I want? {pick}", []))
        options += [("Hm. I have nothing to say about that.", []),
                    ("Not sure what to tell you.", []), (f"Hm. Go on, {who}.", []),
                    ("I couldn't say.", [])]  # fmt: skip
    rel = clone.relationships.get(speaker)
    if rel is not None and rel.hostile:
        options = [
            (f"{lead} {t}", ms)
            for lead in (f"I don't trust you, {who}.", f"You again, {who}.", "Keep your distance.")
            for t, ms in options
        ]
    chosen = next(((t, ms) for t, ms in options if gist(t[:200]) not in said), None)
    if chosen is None:
        if order is not None:
            key = "order"
            n = 1 + _same_orders(before, order, tick)
        else:
            key = intent
            n = 1 + sum(1 for heard, _ in before if classify(heard) == intent)
        chosen = (_say_again(key, n, who, before), [])
    text, quoted = chosen
    used = quoted
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
