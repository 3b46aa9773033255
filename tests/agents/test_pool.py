"""The pool: scheduling (who thinks when), batches equal to single decisions, events, orders."""

from __future__ import annotations

import numpy as np
import pytest

from callister.agents import (
    Action,
    AgentError,
    AgentPool,
    AgentState,
    Cadence,
    Contact,
    DefaultMind,
    Goal,
    Order,
    Role,
    SeenEvent,
    Stance,
    ZoneView,
    stance_for,
)

from ._support import make_clone, observe, statics

ST = statics()


def _view(
    tick: int, n: int, *, players: bool = True, key: object = "z", start: int = 100
) -> ZoneView:
    rng = np.random.default_rng(n)
    return ZoneView.build(
        key,
        tick,
        ST,
        ids=np.arange(start, start + n),
        owner=np.arange(5000, 5000 + n),
        x=rng.uniform(-9000, 9000, n),
        y=rng.uniform(-9000, 9000, n),
        stance=rng.integers(0, 3, n),
        strength=rng.uniform(0.5, 2.0, n),
        hull=rng.uniform(0.2, 1.0, n),
        players=[(0.0, 0.0)] if players else [],
    )


def _pool(
    n: int, *, key: object = "z", start: int = 100, cadence: Cadence | None = None
) -> AgentPool:
    pool = AgentPool(cadence=cadence)
    goals = [Goal.TRADER, Goal.MINER, Goal.PIRATE, Goal.PATROL]
    for i in range(n):
        clone = make_clone(
            10_000 + i, goal=goals[i % 4], traits=("curious",) if i % 2 else ("calm",)
        )
        pool.add(clone, ship=start + i, zone=key, stance=stance_for(clone))
    return pool


def test_empty_systems_never_think_and_everyone_else_does_in_turn() -> None:
    pool = _pool(40)
    no_players = [pool.step(t, lambda k, t=t: _view(t, 40, players=False)) for t in range(200)]
    assert sum(len(d) for d in no_players) == 0
    counts = {}
    for t in range(200, 400):
        for d in pool.step(t, lambda k, t=t: _view(t, 40)):
            counts[d.clone] = counts.get(d.clone, 0) + 1
    assert len(counts) == 40  # everyone thought within 10 s
    assert max(counts.values()) <= 10 + 20  # at most 1 Hz, plus a fight's 2 Hz


def test_far_agents_think_less_than_near_ones() -> None:
    pool = _pool(2, cadence=Cadence())
    near_far = ZoneView.build(
        "z",
        0,
        ST,
        ids=[100, 101],
        owner=[1, 2],
        x=[0.0, 15_000.0],
        y=[0.0, 0.0],
        players=[(100.0, 0.0)],
    )
    seen: dict[int, int] = {}
    for t in range(400):
        v = ZoneView.build(
            "z",
            t,
            ST,
            ids=near_far.ids,
            owner=near_far.owner,
            x=near_far.x,
            y=near_far.y,
            players=[(100.0, 0.0)],
        )
        for d in pool.step(t, lambda k, v=v: v):
            seen[d.ship] = seen.get(d.ship, 0) + 1
    assert seen[100] == 20  # 1 Hz for 20 s
    assert seen[101] == 4  # 0.2 Hz


def test_an_attack_wakes_the_agent_at_once_and_keeps_it_alert() -> None:
    pool = _pool(1)
    view = ZoneView.build(
        "z",
        0,
        ST,
        ids=[100, 200],
        owner=[10_000, 99],
        x=[0.0, 600.0],
        y=[0.0, 0.0],
        stance=[0, 1],
        players=[(0.0, 0.0)],
    )
    pool.notice(10_000, SeenEvent("attacked", 7, actor=99, target=100))
    assert pool.zones_due(8) == ["z"]
    d = pool.step(8, lambda k: view)
    assert len(d) == 1 and d[0].action in (Action.DEFEND, Action.FLEE)
    thoughts = sum(len(pool.step(t, lambda k: view)) for t in range(9, 109))
    assert thoughts >= 9  # ~2 Hz while alert (5 s)
    memory = pool.clone(10_000).memory.latest("attacked")
    assert memory is not None and memory.entities == (99,)


def test_same_seed_same_decisions_in_a_batch() -> None:
    def run() -> list[tuple[int, int, int, str]]:
        pool = _pool(60)
        out = []
        for t in range(0, 300):
            v = _view(t, 60)
            if t % 37 == 0:
                pool.notice(
                    10_000 + t % 60, SeenEvent("attacked", t, actor=5003, target=100 + t % 60)
                )
            out.extend(
                (d.clone, int(d.action), d.target, d.say) for d in pool.step(t, lambda k, v=v: v)
            )
        return out

    a, b = run(), run()
    assert a == b and len(a) > 100
    assert len({x[1] for x in a}) >= 4  # varied behaviour, not one action


def test_a_batch_decides_like_the_single_mind() -> None:
    clone_a = make_clone(1, role=Role.GUNNER)
    clone_b = make_clone(1, role=Role.GUNNER)
    pirate = Contact(ship=6, owner=99, x=600.0, y=0.0, stance=Stance.PIRATE)
    attack = SeenEvent("attacked", 95, actor=99, target=5)
    single = DefaultMind().decide(
        clone_a, observe(contacts=[pirate], events=[attack]), state=AgentState()
    )
    pool = AgentPool()
    pool.add(clone_b, ship=5, zone="z")
    pool.notice(1, attack)
    view = observe(contacts=[pirate]).to_view("z")
    batch = pool.step(100, lambda k: view)
    assert len(batch) == 1
    assert (batch[0].action, batch[0].target, batch[0].say) == (
        single.action,
        single.target,
        single.say,
    )


def test_orders_membership_and_errors() -> None:
    pool = _pool(2)
    assert pool.order(10_000, Order(Action.DOCK, until=500))  # a trader may dock
    assert not pool.order(10_000, Order(Action.MINE, until=500))  # traders don't mine
    view = _view(21, 2)
    d = {x.clone: x for x in pool.step(21, lambda k: view)}
    assert d[10_000].action is Action.DOCK
    with pytest.raises(AgentError):
        pool.add(pool.clone(10_000), ship=1, zone="z")
    with pytest.raises(KeyError):
        pool.remove(1)
    pool.move(10_001, zone="elsewhere", ship=999)
    assert pool.aboard(999) == [10_001]
    out = pool.remove(10_000)
    assert out.id == 10_000 and len(pool) == 1


def test_crew_aboard_a_player_ship_all_hear_the_attack() -> None:
    pool = AgentPool()
    for i, role in enumerate((Role.PILOT, Role.GUNNER, Role.ENGINEER)):
        pool.add(make_clone(20 + i, role=role), ship=5, zone="z")
    told = pool.notice_ship(5, SeenEvent("attacked", 10, actor=99, target=5))
    assert sorted(told) == [20, 21, 22]
    view = ZoneView.build(
        "z",
        11,
        ST,
        ids=[5, 6],
        owner=[77, 99],
        x=[0.0, 500.0],
        y=[0.0, 0.0],
        stance=[0, 1],
        hull=[0.3, 1.0],
        players=[(0.0, 0.0)],
    )
    by_role = {d.kind.name: d for d in pool.step(11, lambda k: view)}
    assert by_role["GUNNER"].action is Action.FIRE and by_role["GUNNER"].target == 6
    assert by_role["ENGINEER"].action is Action.SHIELDS
    assert by_role["PILOT"].action in (Action.FLEE, Action.DEFEND)
    assert all(d.say for d in by_role.values())


def test_talking_to_a_crew_member_gives_orders_and_wakes_them() -> None:
    pool = AgentPool()
    pool.add(make_clone(30, role=Role.GUNNER), ship=5, zone="z")
    reply = pool.chat(30, "hold fire", speaker=77, speaker_name="Cap", tick=10)
    assert reply.order is not None and reply.order.action is Action.IDLE
    assert pool.zones_due(11) == ["z"]  # woken by being spoken to
    chat = pool.chat(30, "what happened?", speaker=78, tick=12, captain=False)
    assert chat.order is None and chat.text
