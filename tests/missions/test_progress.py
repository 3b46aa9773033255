from __future__ import annotations

import json

import pytest

from callister.missions import progress, rules
from callister.missions.board import board
from callister.missions.errors import MissionDataError, MissionError
from callister.missions.facts import Crime, DockedAt, Killed, MinedOre, Position, UndockedFrom
from callister.missions.progress import Progress
from callister.missions.tutorial import plan_tutorial

from ._support import Books, content, good_homes, lawful, pilot_at, system, world_at

HOME, STATION = good_homes()[0]
T0 = 1_800_000_000 // rules.BOARD_BUCKET_S * rules.BOARD_BUCKET_S


def fresh() -> Progress:
    here = system(*HOME)
    assert here is not None
    return progress.begin(plan_tutorial(here, STATION, content().starter_hull), T0)


def test_a_new_pilot_hears_their_objectives_and_survives_a_restart() -> None:
    p = fresh()
    msg = progress.objectives(p, T0)
    assert msg["t"] == "objectives" and msg["tutorial"]["step"] == "undock"
    assert msg["missions"] == [] and msg["standing"] == {}
    again = Progress.from_dict(json.loads(json.dumps(p.to_dict())))
    assert again == p
    assert Progress.from_dict({"version": 1}) == Progress()


def test_stored_progress_from_a_newer_server_or_corrupt_is_refused_with_the_field() -> None:
    with pytest.raises(MissionDataError, match="newer than this server"):
        Progress.from_dict({"version": 2})
    with pytest.raises(MissionDataError) as e:
        Progress.from_dict({"version": 1, "reputation": {"concord": "x"}})
    assert e.value.path == "progress.reputation.concord"
    with pytest.raises(MissionDataError) as e:
        Progress.from_dict("[]")
    assert e.value.path == "progress"


def test_crimes_and_kills_change_standing_and_say_so() -> None:
    pilot = pilot_at(HOME, None)
    out = progress.observe(fresh(), Crime(HOME, 0, "concord"), pilot, T0, lawful())
    assert out.progress.reputation.get("concord") == rules.CRIME_REP
    standing = [m for m in out.messages if m["t"] == "standing"]
    assert {m["faction"] for m in standing} == {"concord", "free_traders"}
    out = progress.observe(
        out.progress, Killed(HOME, 5, 9, "pirate", "ashen", True), pilot, T0, lawful()
    )
    assert out.progress.reputation.get("concord") == rules.CRIME_REP + rules.KILL_PIRATE_REP


def test_taking_and_finishing_a_contract_advances_the_tutorial_and_pays() -> None:
    books = Books()
    p = fresh()
    pilot = pilot_at(HOME, None)
    # do the first steps
    plan = p.tutorial.plan if p.tutorial else None
    assert plan is not None and plan.field is not None
    for fact in (UndockedFrom(HOME, STATION), Position(HOME, plan.marker.x, plan.marker.y)):
        out = progress.observe(p, fact, pilot, T0, lawful())
        books.commit(*out.requests)
        p = out.progress
    assert progress.watch(p).positions is False  # past the fly step
    # a mining quota from the real board, done start to end
    offers = board(world_at(HOME, T0, homes={HOME: STATION}), HOME, STATION)
    quota = next(c for c in offers if c.kind == "mining" and c.tier == 0)
    out = progress.accept(p, quota, pilot, T0)
    p = out.progress
    assert out.messages[0]["t"] == "mission"
    assert p.tutorial is not None and "contract" in p.tutorial.early
    mine = quota.goals[0]

    out = progress.observe(
        p,
        MinedOre(mine.marker.sector, mine.marker.index, mine.item, mine.qty),
        pilot,
        T0 + 60,
        lawful(),
    )
    p = out.progress
    books.commit(*out.requests)
    books.holdings[("ship:1001", mine.item)] = mine.qty  # the economy's mining transaction
    assert p.tutorial is not None and p.tutorial.current == "dock"  # mined enough for both
    docked = pilot_at(HOME, STATION, cargo={mine.item: mine.qty}, cargo_free=20 - mine.qty)
    out = progress.observe(p, DockedAt(HOME, STATION), docked, T0 + 120, lawful())
    books.commit(*out.requests)
    p = out.progress
    kinds = [r.kind for r in out.requests]
    assert kinds[0] == "mission_reward" and "tutorial_reward" in kinds
    assert p.tutorial is not None and p.tutorial.current == "jump"  # dock, sell (the pay), contract
    assert (
        p.missions.completed == 1 and p.reputation.get(quota.giver.faction) == rules.MISSION_REP[0]
    )
    paid = sum(
        rules.TUTORIAL_REWARDS[s] for s in ("undock", "fly", "mine", "dock", "sell", "contract")
    )
    assert books.balance("player:7") == quota.reward + paid
    assert books.total() == 0


def test_watch_positions_during_the_fly_step_and_the_ships_of_held_contracts() -> None:
    p = fresh()
    pilot = pilot_at(HOME, None)
    p = progress.observe(p, UndockedFrom(HOME, STATION), pilot, T0, lawful()).progress
    assert progress.watch(p).positions
    assert progress.watch(p).ships == frozenset()
    p = progress.skip_tutorial(p).progress
    assert not progress.watch(p).positions
    p = progress.resume_tutorial(p).progress
    assert progress.watch(p).positions
    with pytest.raises(MissionError, match="no tutorial"):
        progress.skip_tutorial(Progress())


def test_the_patrol_fund_pays_once_an_hour() -> None:
    p = Progress()
    assert progress.fund_available(p, T0)
    p = progress.fund_used(p, T0)
    assert not progress.fund_available(p, T0 + rules.FUND_EVERY_S - 1)
    assert progress.fund_available(p, T0 + rules.FUND_EVERY_S)


def test_abandon_and_expire_go_through_progress() -> None:
    p = fresh()
    pilot = pilot_at(HOME, None)
    offers = board(world_at(HOME, T0, homes={HOME: STATION}), HOME, STATION)
    c = next(c for c in offers if c.kind == "mining" and c.tier == 0)
    p = progress.accept(p, c, pilot, T0).progress
    out = progress.abandon(p, c.id, pilot, T0 + 1)
    assert out.progress.missions.failed == 1 and out.messages[0]["event"] == "abandoned"
    out = progress.expire(p, pilot, T0 + c.duration_s)
    assert out.messages[0]["event"] == "failed"
