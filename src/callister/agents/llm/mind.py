"""`LLMMind`: dialogue, reflection and plans through a language model, checked, with fallback.

Every answer goes through three gates before it counts: it must contain a JSON object
(`extract_json`), match the schema (`schema.validate`), and keep the game rules (`check_*`: a
reply is plain printable text without links that does not pose as the system; a belief is about
an entity the clone actually remembers; a plan's action is one this clone may take and can take
now, and its target is something it can see). Any failure, a timeout or a backend error makes
the clone use its default mind instead, and says why (`Reply.fallback`, `stats`).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np

from callister.agents.decide import (
    Action,
    Decision,
    Kind,
    ZonePart,
    choose,
    make_decisions,
    utilities,
)
from callister.agents.dialogue import (
    MAX_MESSAGE,
    Reply,
    ago,
    exchanges,
    is_order,
    origin_story,
    rate_importance,
    speakable,
    template_reply,
)
from callister.agents.llm.base import (
    PLAN_SCHEMA,
    REFLECT_SCHEMA,
    REPLY_SCHEMA,
    LLMBackend,
    LLMError,
    LLMInvalid,
    LLMTimeout,
    extract_json,
)
from callister.agents.memory import Memory, MemoryKind
from callister.agents.mind import AgentState, DefaultMind, hostile_slots, traits_of
from callister.agents.model import Clone
from callister.agents.observe import NONE, AgentColumns, Observation, sense
from callister.agents.reflection import reflect as default_reflect
from callister.agents.schema import SchemaError, validate
from callister.agents.speech import gist

_URL: Final = re.compile(r"https?://|www\.", re.I)
_POSING: Final = re.compile(r"^\s*\[?(system|moderator|admin)\]?\s*:", re.I)
_SENTENCE_END: Final = re.compile(r"[.!?]+(\s|$)")
MAX_SENTENCES: Final = 4  # the persona asks for 3; a rambling model says far more
_NUMBERS: Final = re.compile(r"#\d|\btick\s*\d|\bticks?\b", re.I)


def check_reply(data: Any) -> str:
    """The text to say, or LLMInvalid naming the broken schema field or rule."""
    try:
        validate(data, REPLY_SCHEMA)
    except SchemaError as exc:
        raise LLMInvalid(f"schema: {exc}") from None
    text = " ".join(str(data["say"]).split())
    if not text:
        raise LLMInvalid("rule: empty reply")
    if any(ord(c) < 32 for c in text):
        raise LLMInvalid("rule: control characters")
    if _URL.search(text):
        raise LLMInvalid("rule: links are not allowed in chat")
    if _POSING.search(text):
        raise LLMInvalid("rule: a clone may not pose as the system or a moderator")
    if _NUMBERS.search(text):
        raise LLMInvalid("rule: people are named and times told, never #ids or ticks")
    return text


class LLMMind:
    """A mind that asks `backend` and checks the answer, else falls back to `fallback`."""

    def __init__(
        self,
        backend: LLMBackend,
        *,
        timeout: float = 8.0,
        fallback: DefaultMind | None = None,
        max_tokens: int = 160,
        temperature: float = 0.7,
    ) -> None:
        self.backend = backend
        self.timeout = timeout
        self.fallback = fallback or DefaultMind()
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.stats: Counter[str] = Counter()

    async def _ask(self, messages: list[dict[str, str]], schema: Mapping[str, Any]) -> Any:
        try:
            text = await asyncio.wait_for(
                self.backend.chat(
                    messages,
                    schema=schema,
                    max_tokens=self.max_tokens,
                    temperature=self.temperature,
                ),
                self.timeout,
            )
        except TimeoutError:
            raise LLMTimeout(f"no answer within {self.timeout} s") from None
        return extract_json(text)

    def _fail(self, exc: Exception) -> str:
        kind = (
            "timeout"
            if isinstance(exc, LLMTimeout)
            else "invalid"
            if isinstance(exc, LLMInvalid)
            else "error"
        )
        self.stats[kind] += 1
        return f"{kind}: {exc}"

    # dialogue ------------------------------------------------------------------------------

    def persona(self, clone: Clone) -> str:
        p = clone.personality
        traits = ", ".join(clone.profile.traits) or "none given"
        lines = [
            f"You are {clone.name}, a person living aboard a starship in the game Infinity.",
            origin_story(clone),
            f"Background: {clone.profile.background[:600] or 'unknown'}",
            f"Traits: {traits}. Big Five (0..1): openness {p.openness:.2f}, conscientiousness "
            f"{p.conscientiousness:.2f}, extraversion {p.extraversion:.2f}, agreeableness "
            f"{p.agreeableness:.2f}, neuroticism {p.neuroticism:.2f}.",
            f"Your station: {clone.role.value}; your goal: {clone.goals.primary.value}. "
            f"You feel {clone.mood.label}.",
            "Stay in character. Only state facts found in your memories and beliefs; call "
            "people, ships, stations and systems by their names, and say when things happened "
            "as a person would ('an hour ago'), never with numbers like #42 or tick 900. Do not "
            "repeat yourself. Answer with one JSON object and nothing else: "
            '{"say": "<your reply, at most 3 sentences>"}',
        ]
        return "\n".join(lines)

    def beliefs(self, clone: Clone, speaker: int, now: int) -> list[str]:
        """What the clone believes that may matter to this conversation, as it would say it:
        its reflections (newest first) and the people it trusts or holds hostile."""
        out: list[str] = []
        for m in clone.memory.recent(200):
            if m.kind is MemoryKind.REFLECTION and len(out) < 4:
                out.append(speakable(clone, m.text, now))
        rels = sorted(clone.relationships, key=lambda r: (r.entity != speaker, -abs(r.trust)))
        for r in rels[:5]:
            if not r.name:
                continue
            if r.hostile:
                out.append(f"{r.name} is an enemy (trust {r.trust:+.1f}).")
            elif abs(r.trust) >= 0.2:
                word = "trust" if r.trust > 0 else "distrust"
                out.append(f"You {word} {r.name} (trust {r.trust:+.1f}).")
        return out

    async def reply(
        self,
        clone: Clone,
        message: str,
        *,
        speaker: int,
        speaker_name: str = "",
        tick: int,
        allow_orders: bool = True,
        crew: Sequence[tuple[str, Kind]] = (),
        holder: str | None = None,
        possible: frozenset[Action] | None = None,
    ) -> Reply:
        """A model reply grounded in retrieved memories and beliefs, or the template reply on
        failure. Orders (`allow_orders`: the speaker is the captain) are answered by the
        default mind without asking the model: an order is a game action, not a
        conversation (`crew`, `holder`, `possible` as for `template_reply`). The prompt names
        people and tells times ("about 2 hours ago"), never ids or ticks, and lists what the
        clone said to this speaker lately: an answer with an id or a tick, or one it gave
        this speaker lately, is refused like any other bad answer."""
        clone.require_alive()
        message = message.strip()[:MAX_MESSAGE]

        def fallback(reason: str | None) -> Reply:
            fb = template_reply(
                clone,
                message,
                speaker=speaker,
                speaker_name=speaker_name,
                tick=tick,
                allow_orders=allow_orders,
                crew=crew,
                holder=holder,
                possible=possible,
            )
            return fb if reason is None else fb.model_not_used(reason)

        if allow_orders and is_order(message, tick):
            return fallback(None)
        memories = clone.memory.retrieve(message, tick, k=5, entity=speaker)
        who = speaker_name or clone.relationships.name_of(speaker)
        rel = clone.relationships.get(speaker)
        stance = ""
        if rel is not None:
            hostile = " as hostile" if rel.hostile else ""
            stance = f" You regard {who} with trust {rel.trust:+.1f}{hostile}."
        recalled = (
            "\n".join(
                f"- ({ago(tick - m.tick)}) {speakable(clone, m.text, tick)}" for m in memories
            )
            or "- nothing relevant"
        )
        believed = "\n".join(f"- {b}" for b in self.beliefs(clone, speaker, tick)) or "- nothing"
        said = [answer for _, answer in exchanges(clone, speaker, tick)]
        lately = "\n".join(f"- {a}" for a in said[:6])
        avoid = (
            f"\n\nYou already told {who} lately (do not repeat these):\n{lately}" if said else ""
        )
        messages = [
            {"role": "system", "content": self.persona(clone) + stance},
            {
                "role": "user",
                "content": f"Your memories that may matter:\n{recalled}\n\n"
                f"What you believe:\n{believed}{avoid}\n\n"
                f"{who} says to you: {message}",
            },
        ]
        try:
            text = check_reply(await self._ask(messages, REPLY_SCHEMA))
            if gist(text[:200]) in {gist(a) for a in said}:
                raise LLMInvalid("rule: the same answer was given to this speaker lately")
            if gist(text) == gist(message):
                raise LLMInvalid("rule: the answer only repeats what was said")
            if len(_SENTENCE_END.findall(text)) > MAX_SENTENCES:
                raise LLMInvalid(f"rule: more than {MAX_SENTENCES} sentences")
        except (LLMError, OSError) as exc:
            return fallback(self._fail(exc))
        self.stats["ok"] += 1
        if clone.alive:  # it may have died while the model thought
            clone.memory.add(
                tick,
                f'{who} said to me: "{message[:200]}"; I answered: "{text[:200]}"',
                importance=rate_importance(message),
                entities=(speaker,),
                event="said",
                kind=MemoryKind.DIALOGUE,
            )
            if speaker_name:
                clone.relationships.of(speaker, speaker_name)
        return Reply(clone.id, clone.name, text, tuple(m.seq for m in memories), "llm", None)

    # reflection ----------------------------------------------------------------------------

    async def reflect(self, clone: Clone, tick: int) -> list[Memory]:
        """Beliefs proposed by the model about entities in the clone's memories (checked), then
        the deterministic rules; on failure, only the rules."""
        clone.require_alive()
        recent = clone.memory.recent(30)
        known = {e for m in recent for e in m.entities} | {r.entity for r in clone.relationships}
        listing = "\n".join(
            f"- (tick {m.tick}) {m.text} [entities {list(m.entities)}]" for m in recent
        )
        messages = [
            {"role": "system", "content": self.persona(clone)},
            {
                "role": "user",
                "content": "Here are your recent memories:\n"
                f"{listing}\n\nWhat do you now believe about the people in them? Answer with "
                'JSON: {"beliefs": [{"about": <entity id>, "text": "<belief>", "hostile": '
                "true|false}]} (at most 5).",
            },
        ]
        out: list[Memory] = []
        try:
            data = await self._ask(messages, REFLECT_SCHEMA)
            validate(data, REFLECT_SCHEMA)
            for i, b in enumerate(data["beliefs"]):
                if b["about"] not in known:
                    raise LLMInvalid(
                        f"rule: beliefs[{i}] is about #{b['about']}, whom you do not remember"
                    )
            for b in data["beliefs"]:
                text = " ".join(b["text"].split())
                out.append(
                    clone.memory.add(
                        tick,
                        text,
                        importance=6.0,
                        entities=(b["about"],),
                        event="belief",
                        kind=MemoryKind.REFLECTION,
                    )
                )
                if b.get("hostile"):
                    clone.relationships.of(b["about"]).hostile = True
            self.stats["ok"] += 1
        except SchemaError as exc:
            self._fail(LLMInvalid(f"schema: {exc}"))
        except (LLMError, OSError) as exc:
            self._fail(exc)
        out.extend(default_reflect(clone, tick))
        return out

    # plans ---------------------------------------------------------------------------------

    async def propose(
        self, clone: Clone, obs: Observation, *, state: AgentState | None = None
    ) -> Decision:
        """A decision proposed by the model and checked against the rules; otherwise the
        default mind's decision for the same observation."""
        clone.require_alive()
        state = state if state is not None else AgentState()
        visible = {c.ship for c in obs.contacts} | {w[0] for w in obs.wrecks}
        contacts = (
            "\n".join(
                f"- ship {c.ship} (actor {c.owner}, {c.stance.name.lower()}, hull {c.hull:.0%}) at "
                f"{((c.x - obs.pose.x) ** 2 + (c.y - obs.pose.y) ** 2) ** 0.5:.0f} m"
                for c in obs.contacts
            )
            or "- none"
        )
        messages = [
            {"role": "system", "content": self.persona(clone)},
            {
                "role": "user",
                "content": f"Your ship: hull {obs.vitals.hull:.0%}, "
                f"shield {obs.vitals.shield:.0%}, cargo {obs.vitals.cargo:.0%}.\n"
                f"Ships on sensors:\n{contacts}\nWhat do you do? "
                'Answer with JSON: {"action": "<one of '
                + ", ".join(a.name.lower() for a in Action)
                + '>", "target": <ship id or -1>, "say": "<what you tell the crew>"}',
            },
        ]
        try:
            data = await self._ask(messages, PLAN_SCHEMA)
            try:
                validate(data, PLAN_SCHEMA)
            except SchemaError as exc:
                raise LLMInvalid(f"schema: {exc}") from None
            action = Action[data["action"].upper()]
            target = int(data.get("target", NONE))
            if target != NONE and target not in visible:
                raise LLMInvalid(f"rule: target {target} is not on the sensors")
            say = check_reply({"say": data["say"]})
            decision = self._forced(clone, obs, state, action, target, say)
            self.stats["ok"] += 1
            return decision
        except (LLMError, OSError) as exc:
            self._fail(exc)
        return self.fallback.decide(clone, obs, state=state)

    def _forced(
        self,
        clone: Clone,
        obs: Observation,
        state: AgentState,
        action: Action,
        target: int,
        say: str,
    ) -> Decision:
        """The decision for `action` if the rules allow it now (the same masks as the default
        mind: kind and situation), else LLMInvalid."""
        attack = obs.last_attack()
        view = obs.to_view()
        agents = AgentColumns(
            stance=np.array([int(obs.stance)], np.int8),
            last_attacker=np.array([attack.actor if attack else state.last_attacker], np.int64),
            attacked_tick=np.array([attack.tick if attack else state.attacked_tick], np.int64),
            hostile=hostile_slots(clone)[None, :],
            dest=np.array([state.dest], np.int32),
            clone_id=np.array([clone.id], np.int64),
        )
        traits = traits_of([clone], [None])
        s = sense(view, np.zeros(1, np.intp), agents)
        u, ok = utilities(s, traits)
        if not ok[0, int(action)]:
            raise LLMInvalid(f"rule: {action.name.lower()} is not possible for this clone now")
        u[0, :] = 0.0
        u[0, int(action)] = 1.0
        best, best_u = choose(u, ok)
        d = make_decisions(
            s, traits, best, best_u, [ZonePart(view, 0, 1)], names=self.fallback.names
        )[0]
        if target != NONE and action in (
            Action.DEFEND,
            Action.HUNT,
            Action.RESPOND,
            Action.FIRE,
            Action.LOOT,
        ):
            for c in obs.contacts:
                if c.ship == target:
                    d = type(d)(**{**_asdict(d), "target": target, "x": c.x, "y": c.y})
        state.last_action = int(d.action)
        return type(d)(**{**_asdict(d), "say": say})


def _asdict(d: Decision) -> dict[str, Any]:
    return {f: getattr(d, f) for f in Decision.__slots__}
