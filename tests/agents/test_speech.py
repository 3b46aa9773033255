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


# --- no repetition: per speaker and listener, with a cool-down and other wordings -----------

TALK = ("hello", "how are you?", "what happened?", "thanks", "who are you?",
        "tell me something", "bye", "hello", "what happened?", "nice weather")  # fmt: skip


def test_a_long_conversation_never_repeats_an_answer() -> None:
    clone = make_clone(traits=("talkative", "friendly"))
    mind = DefaultMind(names={99: "Rook Varga", 98: "Sol Haas"})
    for t, who in ((10, 99), (40, 98), (90, 99)):
        mind.notice(clone, SeenEvent("attacked", t, actor=who, target=clone.id))
    said = []
    tick = 1000
    for i in range(80):  # 80 lines, 5 s apart: all within the 10-minute cool-down
        tick += 100
        r = template_reply(clone, TALK[i % len(TALK)], speaker=7, speaker_name="Cap", tick=tick)
        said.append(r.text)
        assert not NO_IDS.search(r.text), r.text
    assert len(said) == len(set(said)), [s for s in said if said.count(s) > 1]
    # when every answer was given, the count is the news: it says how often it was asked
    assert any("time you've" in s or "times now" in s for s in said)
    # per listener: someone else saying hello gets the ordinary greeting
    other = template_reply(clone, "hello", speaker=8, speaker_name="Ines", tick=tick + 20)
    assert other.text.startswith(("Hey Ines", "Ines!"))


def test_after_the_cool_down_the_same_question_gets_an_answer_again() -> None:
    clone = make_clone()
    first = template_reply(clone, "thanks", speaker=7, speaker_name="Cap", tick=100)
    second = template_reply(clone, "thanks", speaker=7, speaker_name="Cap", tick=200)
    assert first.text != second.text
    later = template_reply(clone, "thanks", speaker=7, speaker_name="Cap", tick=100 + 20 * 60 * 11)
    assert later.text == first.text  # 11 minutes on: the usual answer is fine again


def test_the_same_news_is_told_once_and_later_in_other_words() -> None:
    pool = AgentPool(names={99: "Rook Varga"})
    pilot = make_clone(1, traits=("nervous", "anxious"))
    pilot.relationships.of(99, "Rook Varga").hostile = True
    pool.add(pilot, ship=5, zone="z")
    tick, [d] = _think(pool, lambda t: _view(t, enemy_x=1500.0), 10)
    first = d.say
    assert d.changed and d.action is Action.FLEE
    tick, _ = _think(pool, lambda t: _view(t, enemy_x=9000.0), tick + 1)
    # back within 2 minutes: the same news is not told again
    tick, [d] = _think(pool, lambda t: _view(t, enemy_x=1500.0), tick + 1)
    assert d.action is Action.FLEE and not d.changed
    # three minutes on: told again, in other words
    tick, _ = _think(pool, lambda t: _view(t, enemy_x=9000.0), tick + 1)
    tick, [d] = _think(pool, lambda t: _view(t, enemy_x=1500.0), tick + 3 * 60 * 20)
    assert d.action is Action.FLEE and d.changed and d.say != first
    assert "Rook Varga" in d.say and not NO_IDS.search(d.say)


# --- only true claims ----------------------------------------------------------------------


def _gunner_fight(struck_first: bool) -> str:
    pool = AgentPool(names={99: "Rook Varga"})
    pool.add(make_clone(1, role=Role.GUNNER), ship=5, zone="z")
    if struck_first:
        pool.struck(5, 99, 10)  # our ship hit Rook first
    pool.notice_ship(5, SeenEvent("attacked", 11, actor=99, target=5), me=77)
    _, [d] = _think(pool, lambda t: _view(t, enemy_x=600.0), 12)
    assert d.action is Action.FIRE
    return d.say


def test_who_fired_first_decides_what_is_said() -> None:
    assert "attacking" in _gunner_fight(struck_first=False)
    line = _gunner_fight(struck_first=True)  # Rook is firing back at us: not "attacking us"
    assert "Rook Varga" in line and "attacking" not in line and "back" in line


def test_an_order_that_cannot_be_carried_out_now_is_not_acknowledged() -> None:
    pool = AgentPool()
    pool.add(make_clone(1, role=Role.PILOT, name="Mira"), ship=5, zone="z")
    _think(pool, lambda t: _view(t, enemy_x=9000.0), 10)  # nothing threatens: nothing to flee
    r = pool.chat(1, "get us out of here", speaker=77, speaker_name="Cap", tick=40)
    assert "getting us out" not in r.text and "nothing to run from" in r.text
    # the gunner alone aboard a player's ship: the helm is the captain's, and it says so
    gunners = AgentPool()
    gunners.add(make_clone(2, role=Role.GUNNER), ship=6, zone="z")
    r = gunners.chat(2, "get us out of here", speaker=77, speaker_name="Cap", tick=41, holder="Cap")
    assert "helm is yours" in r.text and "getting us out" not in r.text
    assert gunners._orders[gunners._row[2]] is None
    # a button order, again and again: never the same words twice
    pool.add(make_clone(3, role=Role.ENGINEER, name="Oona"), ship=5, zone="z")
    from callister.agents.orders import Order

    order = Order(Action.SHIELDS, 1000, text="shields")
    lines = [
        pool.answer_order(3, order, speaker=77, speaker_name="Cap", tick=50 + i) for i in range(12)
    ]
    assert len(set(lines)) == 12 and not any(NO_IDS.search(x) for x in lines)
