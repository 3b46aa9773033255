from __future__ import annotations

import numpy as np
import pytest

from callister.agents import AgentError, MemoryKind, MemoryStream


def _stream() -> MemoryStream:
    return MemoryStream(max_memories=1000, half_life=1000)


def test_recency_wins_when_all_else_is_equal() -> None:
    m = _stream()
    m.add(0, "we saw a freighter", importance=3)
    m.add(5000, "we saw a freighter", importance=3)
    best = m.retrieve("freighter", 5000, k=1)[0]
    assert best.tick == 5000


def test_importance_wins_when_all_else_is_equal() -> None:
    m = _stream()
    m.add(10, "we saw a freighter", importance=2)
    m.add(10, "we saw a freighter", importance=9)
    assert m.retrieve("freighter", 10, k=1)[0].importance == 9


def test_relevance_wins_when_all_else_is_equal() -> None:
    m = _stream()
    m.add(10, "the market price of ore went up", importance=5)
    m.add(10, "a pirate attacked us near the station", importance=5)
    m.add(10, "we refuelled and had lunch", importance=5)
    assert "pirate" in m.retrieve("who attacked us?", 10, k=1)[0].text


def test_entity_and_touch() -> None:
    m = _stream()
    m.add(10, "a ship passed by", importance=3, entities=(7,))
    m.add(10, "a ship passed by", importance=3, entities=(8,))
    assert m.retrieve("ship", 20, k=1, entity=8)[0].entities == (8,)
    assert m[1].last_access == 20  # recalled: refreshed
    assert m[0].last_access == 10
    parts = m.score("ship", 30)
    assert parts.score.shape == (2,) and parts.relevance.max() <= 1.0


def test_validation() -> None:
    m = _stream()
    with pytest.raises(AgentError, match="importance"):
        m.add(0, "x", importance=11)
    with pytest.raises(AgentError, match="text"):
        m.add(0, "  ", importance=3)
    with pytest.raises(AgentError):
        MemoryStream(max_memories=3)


def test_bounded_memory_summarises_old_unimportant_memories() -> None:
    m = MemoryStream(max_memories=100)
    m.add(0, "I was born", importance=9, event="created")
    for i in range(1, 200):
        m.add(i, f"we mined rock {i % 7}", importance=2, entities=(i % 3,), event="mined")
    assert len(m) <= 100
    summaries = [x for x in m if x.kind is MemoryKind.SUMMARY]
    assert summaries, "old memories were summarised"
    assert "mined x" in summaries[0].text and "Summary of" in summaries[0].text
    assert any(x.event == "created" for x in m)  # the important one survived
    assert max(x.tick for x in m) == 199  # the newest survived
    assert abs(float(np.linalg.norm(summaries[0].embedding)) - 1.0) < 1e-4


def test_round_trip_and_fork_copy() -> None:
    m = _stream()
    for i in range(30):
        m.add(i * 10, f"event {i}", importance=1 + i % 10, entities=(i,), event="saw")
    m.retrieve("event 3", 400)
    again = MemoryStream.from_dict(m.to_dict())
    assert again.to_dict() == m.to_dict()
    assert all(np.array_equal(a.embedding, b.embedding) for a, b in zip(m, again, strict=True))
    past = m.copy(up_to_tick=100)
    assert len(past) == 11 and max(x.tick for x in past) == 100
    with pytest.raises(AgentError, match="embedding is 8 bytes"):
        raw = m.to_dict()
        raw["items"][0]["embedding"] = "AAAAAAAAAAA="
        MemoryStream.from_dict(raw)


def test_retrieval_over_10000_memories_finds_the_relevant_important_ones() -> None:
    # (how fast: `callister bench agents` reports retrieval_ms over 10,000 memories)
    rng = np.random.default_rng(3)
    m = MemoryStream(max_memories=10_000)
    words = ["pirate", "ore", "station", "attacked", "docked", "wreck", "credits", "jump"]
    for i in range(10_000):
        m.add(
            i, " ".join(rng.choice(words, 5)), importance=float(rng.integers(1, 11)), compact=False
        )
    assert len(m) == 10_000
    got = m.retrieve("pirate attacked", 10_000)
    assert len(got) == 5
    for memory in got:
        assert {"pirate", "attacked"} <= set(memory.text.split()) and memory.importance == 10.0
