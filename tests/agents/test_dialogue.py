from __future__ import annotations

from callister.agents import (
    Action,
    DefaultMind,
    MemoryKind,
    Role,
    SeenEvent,
    parse_order,
    template_reply,
)
from callister.agents.dialogue import classify

from ._support import make_clone


def test_replies_are_grounded_in_memories() -> None:
    clone = make_clone()
    mind = DefaultMind(names={99: "Rook"})
    mind.notice(clone, SeenEvent("attacked", 10, actor=99, target=clone.id))
    mind.notice(clone, SeenEvent("docked", 20, target=2))
    r = mind.reply(clone, "What happened with #99?", speaker=7, speaker_name="Cap", tick=30)
    assert "Rook attacked us" in r.text and r.source == "template"
    attacked = clone.memory.latest("attacked")
    assert attacked is not None and attacked.seq in r.memories
    said = clone.memory.latest("said")
    assert said is not None and said.kind is MemoryKind.DIALOGUE and "Cap said to me" in said.text
    again = mind.reply(clone, "what did Cap ask you?", speaker=8, tick=40)
    assert "#99" in again.text or "Rook" in again.text  # the exchange itself is remembered


def test_origin_mood_and_voice() -> None:
    clone = make_clone(traits=("talkative", "friendly"))
    origin = template_reply(clone, "Where are you from?", speaker=1, tick=5)
    assert "made in world infinity" in origin.text and "ice mine" in origin.text
    assert "tick" not in origin.text  # times as a person says them, never ticks
    assert template_reply(clone, "hello", speaker=1, speaker_name="Sam", tick=6).text.startswith(
        ("Hey Sam", "Sam!")
    )
    gruff = make_clone(2, traits=("ruthless", "aggressive"))
    assert template_reply(gruff, "hello", speaker=1, speaker_name="Sam", tick=6).text.startswith(
        ("What do you want", "Sam. Make it")
    )
    mood = template_reply(clone, "how are you?", speaker=1, tick=7).text
    assert mood.startswith("I'm feeling")


def test_hostile_speakers_are_distrusted() -> None:
    clone = make_clone()
    clone.relationships.of(99, "Rook").hostile = True
    assert template_reply(clone, "hi", speaker=99, tick=5).text.startswith(
        "I don't trust you, Rook"
    )


def test_orders_by_chat() -> None:
    crew = make_clone(role=Role.PILOT)
    r = template_reply(crew, "Dock at the station", speaker=1, tick=5)
    assert r.order is not None and r.order.action is Action.DOCK and "docking" in r.text
    assert template_reply(crew, "dock", speaker=2, tick=6, allow_orders=False).order is None
    npc = make_clone(2, goal="pirate")
    assert template_reply(npc, "dock now", speaker=1, tick=5).order is None
    assert parse_order("what should we do?", 0) is None
    assert parse_order("attack #42", 0).target == 42  # type: ignore[union-attr]
    assert classify("Good to see you, Sam") == "chat" and classify("bye then") == "farewell"
