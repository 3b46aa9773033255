from __future__ import annotations

import pytest

from callister.agents import (
    AgentError,
    AgentPool,
    CloneDead,
    DefaultMind,
    Licence,
    Personality,
    Profile,
    ProfileError,
    Role,
    crew_modifiers,
    template_reply,
)
from callister.agents.reflection import reflect

from ._support import attack, make_clone, observe, pirate


def test_profile_is_validated_naming_the_field() -> None:
    ok = Profile.from_dict({"name": "Ada", "traits": ["brave"], "skills": {"pilot": 0.9}})
    assert ok.skills.pilot == 0.9 and ok.skills.gunner == 0.3
    cases = [
        ({}, "lacks 'name'"),
        ({"name": ""}, "name must not be empty"),
        ({"name": "x" * 65}, "at most 64"),
        ({"name": "A", "traits": ["Brave!"]}, "traits[0]"),
        ({"name": "A", "traits": ["calm", "calm"]}, "must not repeat"),
        ({"name": "A", "skills": {"pilot": 1.5}}, "skills.pilot"),
        ({"name": "A", "skills": {"cooking": 0.5}}, "unknown fields ['cooking']"),
        ({"name": "A", "big_five": {"openness": -1}}, "big_five.openness"),
        ({"name": "A", "age": 30}, "unknown fields ['age']"),
        ({"name": "A\x00"}, "control characters"),
    ]
    for raw, message in cases:
        with pytest.raises(ProfileError, match=message.replace("[", r"\[").replace("]", r"\]")):
            Profile.from_dict(raw)


def test_personality_comes_from_traits_or_explicit_scores() -> None:
    p = Personality.from_profile(Profile(name="A", traits=("nervous", "friendly", "unknown")))
    assert p.neuroticism == 0.75 and p.agreeableness == 0.75 and p.openness == 0.5
    q = Personality.from_profile(
        Profile(name="B", traits=("brave",), big_five={"neuroticism": 0.9})
    )
    assert q.neuroticism == 0.9
    assert p.traits == ("nervous", "friendly", "unknown")


def test_licence_marks_unlicensed_clones() -> None:
    assert Licence().status == "generated" and Licence().is_licensed
    other = Licence(owner=9, subject=5)
    assert not other.is_licensed and other.status == "unlicensed"
    consented = Licence(owner=9, subject=5, consent="consent-17", proven=True)
    assert consented.is_licensed and consented.status == "licensed"
    clone = make_clone(licence=other)
    assert clone.licence.status == "unlicensed"
    assert "never consented" in template_reply(clone, "who are you?", speaker=1, tick=5).text


def test_a_consent_string_alone_does_not_license() -> None:
    # issue 13 M1: anyone can write a consent id into a clone; only a checker sets `proven`
    claimed = Licence(owner=9, subject=5, consent="forged-17")
    assert not claimed.is_licensed and claimed.status == "unlicensed"
    # `proven` never travels: a document cannot vouch for itself
    proven = Licence(owner=9, subject=5, consent="17", home="ab" * 8, claim="0" * 64, proven=True)
    back = Licence.from_dict(proven.to_dict())
    assert "proven" not in proven.to_dict() and not back.proven
    assert (back.home, back.claim, back.consent) == ("ab" * 8, "0" * 64, "17")
    for bad in ({"claim": "short"}, {"home": ""}, {"proof": "x"}, {"consent": ""}):
        with pytest.raises(AgentError, match="licence"):
            Licence.from_dict({"owner": 1, "subject": 2, **bad})


def test_a_dead_clone_cannot_act() -> None:
    clone = make_clone(role=Role.GUNNER)
    clone.die(50, "hull breach")
    assert not clone.alive and clone.died_tick == 50
    assert clone.memory.latest("died") is not None  # the archive keeps its last memory
    mind = DefaultMind()
    with pytest.raises(CloneDead, match="died at tick 50 \\(hull breach\\)"):
        mind.decide(clone, observe(contacts=[pirate()], events=[attack()]))
    with pytest.raises(CloneDead):
        mind.reply(clone, "hello", speaker=1, tick=60)
    with pytest.raises(CloneDead):
        reflect(clone, 60)
    with pytest.raises(CloneDead):
        AgentPool().add(clone, ship=5, zone="z")
    with pytest.raises(CloneDead):
        clone.die(70, "again")
    before = len(clone.memory)
    assert mind.notice(clone, attack()) is None  # the dead notice nothing
    assert len(clone.memory) == before


def test_pool_kill_removes_the_clone_and_it_decides_nothing() -> None:
    pool = AgentPool()
    clone = make_clone(role=Role.GUNNER)
    pool.add(clone, ship=5, zone="z")
    dead = pool.kill(clone.id, 10, "destroyed")
    assert not dead.alive and clone.id not in pool and len(pool) == 0


def test_clone_dict_round_trip_keeps_every_field() -> None:
    clone = make_clone()
    DefaultMind().notice(clone, attack(tick=10, target=clone.id))
    clone.relationships.of(99).name = "Rook"
    again = type(clone).from_dict(clone.to_dict())
    assert again.to_dict() == clone.to_dict()


def test_crew_skills_change_ship_performance() -> None:
    none = crew_modifiers([])
    gunner = make_clone(1, role=Role.GUNNER)
    engineer = make_clone(2, role=Role.ENGINEER)
    mods = crew_modifiers([gunner, engineer])
    assert mods.aim_spread < none.aim_spread  # skill 0.6 gunner aims better than the autopilot
    assert mods.shield_recharge > none.shield_recharge
    assert mods.mining_yield == none.mining_yield
    engineer.die(1, "x")
    assert crew_modifiers([gunner, engineer]).shield_recharge == none.shield_recharge
