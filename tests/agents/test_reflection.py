from __future__ import annotations

from callister.agents import DefaultMind, Goal, MemoryKind, SeenEvent
from callister.agents.reflection import reflect, should_reflect

from ._support import make_clone


def test_two_attacks_make_a_hostile_belief() -> None:
    clone = make_clone()
    mind = DefaultMind(names={99: "Rook"})
    mind.notice(clone, SeenEvent("attacked", 10, actor=99, target=clone.id))
    assert reflect(clone, 11) == []  # once is not yet a pattern
    mind.notice(clone, SeenEvent("attacked", 20, actor=99, target=clone.id))
    beliefs = reflect(clone, 21)
    assert [b.text for b in beliefs] == ["Rook attacked us twice: Rook is hostile."]
    assert beliefs[0].kind is MemoryKind.REFLECTION and beliefs[0].entities == (99,)
    rel = clone.relationships.get(99)
    assert rel is not None and rel.hostile and rel.trust < 0 and rel.attacks == 2
    assert reflect(clone, 22) == []  # idempotent
    mind.notice(clone, SeenEvent("attacked", 30, actor=99, target=clone.id))
    assert "3 times" in reflect(clone, 31)[0].text


def test_attacks_on_others_do_not_count_as_attacks_on_us() -> None:
    clone = make_clone()
    mind = DefaultMind()
    for t in (10, 20, 30):
        mind.notice(clone, SeenEvent("attacked", t, actor=50, target=51))
    assert reflect(clone, 40) == []


def test_trust_and_crime_beliefs_and_the_threshold() -> None:
    clone = make_clone(goal=Goal.PATROL)
    mind = DefaultMind()
    for t in (1, 2):
        mind.notice(clone, SeenEvent("traded", t, actor=7, target=clone.id))
    mind.notice(clone, SeenEvent("crime", 3, actor=8, x=1.0, y=2.0))
    texts = [m.text for m in reflect(clone, 4)]
    # nobody told us their names: speech says so instead of showing ids
    assert "An unknown pilot has dealt fairly with us twice: they can be trusted." in texts
    assert "An unknown pilot commits crimes: they are a criminal." in texts
    assert clone.relationships.is_hostile(8)  # a patrol treats criminals as hostile
    assert not should_reflect(clone)
    for t in range(5, 10):
        mind.notice(clone, SeenEvent("attacked", t, actor=60 + t, target=clone.id))
    assert should_reflect(clone)  # 5 x importance 8 > 30
