from __future__ import annotations

import dataclasses
import json

import msgspec
import pytest

from callister.missions import rules, tutorial
from callister.missions.errors import MissionDataError, MissionError
from callister.missions.facts import (
    Arrived,
    DockedAt,
    Fact,
    MinedOre,
    Position,
    Traded,
    UndockedFrom,
)
from callister.missions.tutorial import STEPS, Tutorial, plan_tutorial, start

from ._support import Books, content, good_homes, pilot_at, system

HOME, STATION = good_homes()[0]
NOW = 1_000_000


def plan() -> tutorial.TutorialPlan:
    here = system(*HOME)
    assert here is not None
    return plan_tutorial(here, STATION, content().starter_hull)


def walk(p: tutorial.TutorialPlan) -> list[Fact]:
    """One fact per step, in order: the deeds that complete the tutorial."""
    assert p.field is not None and p.link is not None
    return [
        UndockedFrom(HOME, STATION),
        Position(HOME, p.marker.x + 100, p.marker.y),
        MinedOre(HOME, p.field.index, p.ore, rules.TUTORIAL_MINE_UNITS),
        DockedAt(HOME, STATION),
        Traded(HOME, STATION, p.ore, "sell", rules.TUTORIAL_MINE_UNITS, 90),
        Arrived(p.link, HOME),
    ]


def test_the_plan_points_at_home_the_best_field_and_a_link() -> None:
    p = plan()
    here = system(*HOME)
    assert here is not None
    assert p.steps == STEPS
    assert p.field is not None and p.field.sector == HOME
    assert p.ore == here.fields[p.field.index].ore
    assert p.marker.kind == "point" and p.marker.radius == rules.MARKER_RADIUS
    assert p.link in here.links
    # the marker sits just outside the field's rim, on the station's side
    import math

    st = here.stations[STATION]
    to_field = math.hypot(p.marker.x - p.field.x, p.marker.y - p.field.y)
    assert to_field == pytest.approx(p.field.radius + rules.MARKER_STANDOFF, abs=1)
    assert math.hypot(st.x - p.marker.x, st.y - p.marker.y) < math.hypot(
        st.x - p.field.x, st.y - p.field.y
    )


def test_a_home_without_fields_or_links_gets_a_shorter_plan() -> None:
    here = system(*HOME)
    assert here is not None
    bare = msgspec.structs.replace(here, fields=(), links=())
    p = plan_tutorial(bare, STATION, content().starter_hull)
    assert p.steps == ("undock", "fly", "dock", "sell", "contract")
    assert p.field is None and p.link is None
    # a field next door is used when home has none
    neighbours = {
        s: found for s in here.links if (found := system(*s)) is not None and found.fields
    }
    if neighbours:
        p = plan_tutorial(
            msgspec.structs.replace(here, fields=()), STATION, content().starter_hull, neighbours
        )
        assert p.field is not None and p.field.sector != HOME and "mine" in p.steps
    with pytest.raises(ValueError, match="no station"):
        plan_tutorial(here, 40, content().starter_hull)


def test_doing_each_step_pays_each_reward_once_and_finishes() -> None:
    p = plan()
    pilot = pilot_at(HOME, None)
    books = Books()
    t = start(p, NOW)
    assert t.current == "undock" and t.objective() is not None
    for i, fact in enumerate(walk(p)):
        if t.current == "contract":
            ch = tutorial.observe(t, None, pilot, NOW + i, accepted=True)
            t = ch.tutorial
            books.commit(*ch.requests)
        ch = tutorial.observe(t, fact, pilot, NOW + i)
        books.commit(*ch.requests)
        t = ch.tutorial
        assert ch.messages and ch.messages[-1]["t"] == "tutorial"
    assert t.finished and t.finished_at and t.objective() is None
    assert books.balance("player:7") == sum(rules.TUTORIAL_REWARDS.values())
    assert books.total() == 0
    assert t.first_profit_at == NOW + 4
    # nothing more happens once finished
    again = tutorial.observe(t, UndockedFrom(HOME, STATION), pilot, NOW + 99)
    assert again.tutorial == t and not again.requests


def test_a_deed_done_early_completes_its_step_when_it_comes_up() -> None:
    p = plan()
    pilot = pilot_at(HOME, None)
    t = start(p, NOW)
    assert p.link is not None
    t = tutorial.observe(t, Arrived(p.link, HOME), pilot, NOW).tutorial  # jumped first
    t = tutorial.observe(t, None, pilot, NOW, accepted=True).tutorial  # took a contract
    assert t.current == "undock" and set(t.early) == {"jump", "contract"}
    # docking before ever undocking is not the dock step
    t = tutorial.observe(t, DockedAt(HOME, STATION), pilot, NOW).tutorial
    assert "dock" not in t.early
    for fact in walk(p)[:5]:
        t = tutorial.observe(t, fact, pilot, NOW).tutorial
    assert t.finished


def test_only_a_profitable_sale_is_a_first_profit() -> None:
    p = plan()
    pilot = pilot_at(HOME, None)
    t = start(p, NOW)
    for fact in walk(p)[:4]:
        t = tutorial.observe(t, fact, pilot, NOW).tutorial
    assert t.current == "sell"
    t = tutorial.observe(t, Traded(HOME, STATION, "food", "buy", 10, 210), pilot, NOW).tutorial
    loss = tutorial.observe(t, Traded(HOME, STATION, "food", "sell", 10, 190), pilot, NOW).tutorial
    assert loss.current == "sell" and not loss.first_profit_at
    assert loss.basis == ()  # the food is gone
    t = tutorial.observe(t, Traded(HOME, STATION, "food", "sell", 5, 110), pilot, NOW).tutorial
    assert t.current == "contract"  # 5 of 10 bought for 210 cost 105; sold for 110
    assert t.basis == (("food", 5, 105),)
    # contract pay counts as a profit too
    t2 = start(p, NOW)
    for fact in walk(p)[:4]:
        t2 = tutorial.observe(t2, fact, pilot, NOW).tutorial
    assert (
        tutorial.observe(t2, None, pilot, NOW + 5, earned=300).tutorial.first_profit_at == NOW + 5
    )


def test_skip_and_resume_and_the_errors_for_either() -> None:
    p = plan()
    pilot = pilot_at(HOME, None)
    t = tutorial.observe(start(p, NOW), UndockedFrom(HOME, STATION), pilot, NOW).tutorial
    skipped = tutorial.skip(t).tutorial
    assert skipped.skipped and skipped.objective() is None
    ignored = tutorial.observe(skipped, walk(p)[1], pilot, NOW)
    assert ignored.tutorial == skipped and not ignored.requests
    with pytest.raises(MissionError, match="not paused"):
        tutorial.resume(t)
    back = tutorial.resume(skipped).tutorial
    assert back.current == "fly"
    done = dataclasses.replace(t, step=len(t.steps))
    with pytest.raises(MissionError, match="already finished"):
        tutorial.skip(done)


def test_state_survives_a_restart_at_every_step() -> None:
    p = plan()
    pilot = pilot_at(HOME, None)
    t = start(p, NOW)
    keys: list[str] = []
    for fact in walk(p):
        t = Tutorial.from_dict(json.loads(json.dumps(t.to_dict())))
        if t.current == "contract":
            t = tutorial.observe(t, None, pilot, NOW, accepted=True).tutorial
            t = Tutorial.from_dict(json.loads(json.dumps(t.to_dict())))
        ch = tutorial.observe(t, fact, pilot, NOW)
        keys += [r.key for r in ch.requests]
        t = ch.tutorial
    assert t.finished
    assert len(keys) == len(set(keys))  # every reward under its own idempotency key


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.update(step=99), "tutorial.step"),
        (lambda d: d.update(early=["fly", "swim"]), "tutorial.early"),
        (lambda d: d.update(basis=[["food", 1]]), "tutorial.basis[0]"),
        (lambda d: d.update(skipped="yes"), "tutorial.skipped"),
        (lambda d: d["plan"].update(home="0:0"), "tutorial.plan.home"),
        (lambda d: d.update(plan=None), "tutorial.plan"),
    ],
)
def test_bad_tutorial_data_names_the_field(mutate: object, path: str) -> None:
    data = start(plan(), NOW).to_dict()
    mutate(data)  # type: ignore[operator]
    with pytest.raises(MissionDataError) as e:
        Tutorial.from_dict(data)
    assert e.value.path == path


def test_every_step_has_a_hud_line_with_a_marker() -> None:
    p = plan()
    t = start(p, NOW)
    kinds = []
    for i in range(len(t.steps)):
        o = dataclasses.replace(t, step=i).objective()
        assert o is not None and o.marker is not None and o.text
        kinds.append(o.marker.kind)
        assert dataclasses.replace(t, step=i).message()["hint"]
    assert kinds == ["station", "point", "field", "station", "station", "station", "link"]
