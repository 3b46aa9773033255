"""Speech a person would believe: names (never ids or ticks), true claims, no repetition."""

from __future__ import annotations

import re

from callister.agents import (
    Action,
    AgentPool,
    DefaultMind,
    Role,
    SeenEvent,
    ZoneStatics,
    ZoneView,
    template_reply,
)
from callister.agents.dialogue import ago, speakable

from ._support import make_clone, statics

NAMED = ZoneStatics.build(
    radius=20_000.0,
    stations=((0, 3000.0, 0.0, 400.0), (1, -6000.0, 2000.0, 400.0)),
    links=((4, 5),),
    station_names=("Vega Prime", "Vega Outpost"),
    link_names=("Tarsis",),
)
NO_IDS = re.compile(r"#\d|\btick\b|\bticks\b")


def _think(pool: AgentPool, view: object, start: int) -> tuple[int, list]:  # type: ignore[type-arg]
    """Step from `start` until someone thinks (the pool's cadence): (tick, decisions)."""
    for tick in range(start, start + 200):
        got = pool.step(tick, lambda k, t=tick: view(t))  # type: ignore[operator]
        if got:
            return tick, got
    raise AssertionError("nobody thought")


def _view(tick: int, *, enemy_x: float, stance: int = 0, attacked: bool = False) -> ZoneView:
    return ZoneView.build(
        "z",
        tick,
        NAMED,
        ids=[5, 6],
        owner=[77, 99],
        x=[0.0, enemy_x],
        y=[0.0, 0.0],
        stance=[0, stance],
        players=[(0.0, 0.0)],
    )


def test_decisions_name_ships_stations_and_systems() -> None:
    pool = AgentPool(names={99: "Rook Varga"})
    gunner = make_clone(1, role=Role.GUNNER)
    gunner.relationships.of(99, "Rook Varga").hostile = True
    pool.add(gunner, ship=5, zone="z")
    tick, [d] = _think(pool, lambda t: _view(t, enemy_x=600.0), 10)
    assert d.action is Action.FIRE and "Rook Varga" in d.say
    assert "attacking" not in d.say  # Rook has not fired: a known enemy, not an attacker
    pool.notice_ship(5, SeenEvent("attacked", tick + 1, actor=99, target=5), me=77)
    _, [d] = _think(pool, lambda t: _view(t, enemy_x=600.0), tick + 2)
    assert d.say.startswith(("Firing on Rook Varga, who is attacking", "Firing at Rook Varga!",
                             "Rook Varga fired first", "Firing: Rook Varga"))  # fmt: skip
    stranger = AgentPool()
    stranger.add(make_clone(2, role=Role.GUNNER), ship=5, zone="z")
    stranger.notice_ship(5, SeenEvent("attacked", 11, actor=98, target=5), me=77)
    _, [d] = _think(
        stranger,
        lambda t: ZoneView.build("z", t, NAMED, ids=[5, 7], owner=[77, 98], x=[0.0, 500.0],
                                 y=[0.0, 0.0], players=[(0.0, 0.0)]),
        12,
    )  # fmt: skip
    assert "an unknown ship" in d.say and not NO_IDS.search(d.say)


def test_a_pilot_names_the_station_it_runs_to_and_claims_only_what_is_so() -> None:
    pilot = make_clone(1, traits=("nervous", "anxious"))
    pool = AgentPool(names={99: "Rook Varga"})
    pilot.relationships.of(99, "Rook Varga").hostile = True
    pool.add(pilot, ship=5, zone="z")
    _, [d] = _think(pool, lambda t: _view(t, enemy_x=1500.0), 10)
    assert d.action is Action.FLEE
    assert "Vega" in d.say and "outgun" not in d.say  # an even match: not "outgunned"
    assert not NO_IDS.search(d.say)


def test_memories_are_said_with_names_and_times_not_ids_and_ticks() -> None:
    clone = make_clone()
    clone.relationships.of(42, "Rook Varga")
    clone.memory.add(100, "#42 shot at us near the gate at tick 100.", importance=8,
                     entities=(42,), event="attacked")  # fmt: skip
    now = 100 + 20 * 3600 * 2
    assert speakable(clone, "#42 shot at us at tick 100.", now) == (
        "Rook Varga shot at us about 2 hours ago."
    )
    r = template_reply(clone, "What happened with Rook Varga?", speaker=7, tick=now)
    assert "Rook Varga" in r.text and not NO_IDS.search(r.text)
    assert not NO_IDS.search(template_reply(clone, "where are you from?", speaker=7, tick=now).text)
    assert ago(20 * 60 * 5) == "5 minutes ago" and ago(10) == "just now"


def test_an_order_nobody_aboard_can_carry_out_is_not_promised() -> None:
    gunner = make_clone(1, role=Role.GUNNER)
    r = template_reply(gunner, "get us out of here", speaker=77, tick=5)
    assert "getting us out of here" not in r.text and "Nobody aboard can" in r.text
    # with a pilot aboard the gunner passes it on, and the pilot takes it
    pool = AgentPool()
    pool.add(gunner, ship=5, zone="z")
    pilot = make_clone(2, role=Role.PILOT, name="Mira")
    pool.add(pilot, ship=5, zone="z")
    r = pool.chat(1, "get us out of here", speaker=77, tick=6)
    assert "Mira" in r.text and "getting us out" not in r.text
    assert pool._orders[pool._row[2]] is not None  # the pilot has the order


def test_nobody_says_the_same_line_over_and_over() -> None:
    pool = AgentPool(names={99: "Rook Varga"})
    pilot = make_clone(1, traits=("nervous", "anxious"))
    pilot.relationships.of(99, "Rook Varga").hostile = True
    pool.add(pilot, ship=5, zone="z")
    said = []
    tick = 10
    for x in [1500.0, 9000.0] * 6:  # Rook comes and goes, six times
        tick, decisions = _think(pool, lambda t, x=x: _view(t, enemy_x=x), tick + 1)
        said += [d.say for d in decisions if d.changed]
    assert len(said) == len(set(said)) and len(said) <= 3
    # dialogue: asked twice, it tells the next thing it remembers instead of the same one
    clone = make_clone(3)
    mind = DefaultMind(names={9: "Sol"})
    for t in (10, 20):
        mind.notice(clone, SeenEvent("attacked", t, actor=9, target=clone.id))
    first = template_reply(clone, "what happened?", speaker=7, tick=100)
    second = template_reply(clone, "what happened?", speaker=7, tick=101)
    assert first.memories[:1] != second.memories[:1]


def test_old_statics_without_names_still_speak_without_numbers() -> None:
    pool = AgentPool()
    pool.add(make_clone(1, goal="trader"), ship=5, zone="z")
    _, [d] = _think(
        pool,
        lambda t: ZoneView.build("z", t, statics(), ids=[5], owner=[77], x=[0.0], y=[0.0],
                                 players=[(0.0, 0.0)]),
        10,
    )  # fmt: skip
    assert not NO_IDS.search(d.say) and "station 0" not in d.say and "station 1" not in d.say
