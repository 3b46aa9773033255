"""The default mind's decisions, one clone at a time (the same code as the pool's batches)."""

from __future__ import annotations

from callister.agents import (
    Action,
    AgentState,
    Contact,
    DefaultMind,
    Goal,
    Order,
    Role,
    SeenEvent,
    Stance,
)

from ._support import attack, make_clone, observe, pirate


def test_gunner_fires_at_whatever_attacks_the_ship() -> None:
    clone = make_clone(role=Role.GUNNER)
    d = DefaultMind().decide(clone, observe(contacts=[pirate()], events=[attack()]))
    assert d.action is Action.FIRE and d.target == 6 and d.slot == 0
    assert "attacking" in d.say
    calm = DefaultMind().decide(make_clone(role=Role.GUNNER), observe(contacts=[pirate()]))
    assert calm.action is Action.IDLE  # a pirate nearby that has not attacked: hold fire


def test_engineer_shifts_power_to_shields_when_the_hull_is_low() -> None:
    low = DefaultMind().decide(make_clone(role=Role.ENGINEER), observe(hull=0.3, events=[attack()]))
    assert low.action is Action.SHIELDS and low.power == "shields" and "30%" in low.say
    fine = DefaultMind().decide(make_clone(role=Role.ENGINEER), observe(hull=0.95))
    assert fine.action is Action.IDLE


def test_pilot_flees_when_the_fight_is_lost_and_defends_otherwise() -> None:
    strong = [pirate(strength=4.0)]
    lost = DefaultMind().decide(make_clone(), observe(hull=0.2, contacts=strong, events=[attack()]))
    assert lost.action is Action.FLEE
    assert lost.target == 1  # the station away from the pirate (station 0 is behind it)
    assert "toward the station" in lost.say  # (unnamed stations in this test; never "station 1")
    even = DefaultMind().decide(
        make_clone(), observe(hull=1.0, contacts=[pirate()], events=[attack()])
    )
    assert even.action is Action.DEFEND and even.target == 6


def test_personality_weighs_the_decision() -> None:
    contacts = [pirate(strength=1.6)]
    obs = observe(hull=0.55, contacts=contacts, events=[attack()])
    brave = DefaultMind().decide(make_clone(1, traits=("brave", "aggressive", "calm")), obs)
    nervous = DefaultMind().decide(make_clone(2, traits=("anxious", "nervous", "kind")), obs)
    assert brave.action is Action.DEFEND
    assert nervous.action is Action.FLEE
    assert "!" in nervous.say  # nervous voice


def test_miner_mines_when_idle_near_a_field() -> None:
    d = DefaultMind().decide(make_clone(role=Role.MINER), observe(x=0.0, y=8500.0))
    assert d.action is Action.MINE and d.target in (0, 1, 2)
    far = DefaultMind().decide(make_clone(role=Role.MINER), observe(x=0.0, y=-5000.0))
    assert far.action is Action.IDLE


def test_npc_goals() -> None:
    mind = DefaultMind()
    trader = mind.decide(make_clone(1, goal=Goal.TRADER), observe(x=-9000.0, y=-9000.0))
    assert trader.action is Action.TRAVEL and trader.target in (0, 1)
    weak = Contact(ship=8, owner=80, x=1500.0, y=0.0, strength=0.3, hull=0.4)
    hunter = mind.decide(
        make_clone(2, goal=Goal.PIRATE, traits=("curious",)),
        observe(contacts=[weak], stance=Stance.PIRATE, strength=1.5),
    )
    assert hunter.action is Action.HUNT and hunter.target == 8 and "40% hull" in hunter.say
    crime = SeenEvent("crime", 90, actor=80, x=2500.0, y=0.0)
    criminal = Contact(ship=8, owner=80, x=2500.0, y=0.0, wanted=True)
    patrol = mind.decide(
        make_clone(3, goal=Goal.PATROL),
        observe(contacts=[criminal], events=[crime], stance=Stance.PATROL, strength=2.0),
    )
    assert patrol.action is Action.RESPOND and patrol.target == 8
    quiet = mind.decide(make_clone(4, goal=Goal.PATROL), observe(stance=Stance.PATROL))
    assert quiet.action is Action.PATROL
    full = mind.decide(make_clone(5, goal=Goal.MINER), observe(cargo=0.95, x=0.0, y=8000.0))
    assert full.action is Action.DOCK and "selling ore" in full.say
    docked = mind.decide(make_clone(6, goal=Goal.MINER), observe(cargo=0.0, docked_at=0, x=3000.0))
    assert docked.action is Action.UNDOCK


def test_same_seed_same_decisions() -> None:
    def run() -> list[tuple[int, int, float, str]]:
        clone = make_clone(goal=Goal.PIRATE, traits=("curious", "reckless"))
        state = AgentState()
        out = []
        for t in range(0, 2000, 20):
            obs = observe(
                tick=t,
                contacts=[Contact(ship=8, owner=80, x=3000.0 - t, y=t / 2, strength=0.8)],
                stance=Stance.PIRATE,
                links=((1, 0), (0, 1)),
            )
            d = DefaultMind().decide(clone, obs, state=state)
            out.append((int(d.action), d.target, d.utility, d.say))
        return out

    a, b = run(), run()
    assert a == b
    assert len({x[0] for x in a}) >= 1


def test_orders_from_the_captain() -> None:
    clone = make_clone(role=Role.PILOT)
    state = AgentState(order=Order(Action.DOCK, until=500))
    d = DefaultMind().decide(clone, observe(), state=state)
    assert d.action is Action.DOCK and d.target == 0
    expired = AgentState(order=Order(Action.DOCK, until=50))
    assert DefaultMind().decide(make_clone(), observe(), state=expired).action is not Action.DOCK
    gunner = make_clone(2, role=Role.GUNNER)
    attack_order = AgentState(order=Order(Action.DEFEND, until=500, target=99))
    fire = DefaultMind().decide(gunner, observe(contacts=[pirate(x=700.0)]), state=attack_order)
    assert fire.action is Action.FIRE and fire.target == 6  # "attack #99" -> the gunner fires


def test_notice_changes_mood_and_decide_remembers_the_attacker() -> None:
    clone = make_clone(role=Role.GUNNER)
    state = AgentState()
    calm = clone.mood
    DefaultMind().notice(clone, attack(tick=90, target=clone.id), state=state)
    assert clone.mood.fear > calm.fear and clone.mood.anger > calm.anger
    assert state.last_attacker == 99
    d = DefaultMind().decide(clone, observe(contacts=[pirate()]), state=state)
    assert d.action is Action.FIRE
    d2 = DefaultMind().decide(clone, observe(tick=101, contacts=[pirate()]), state=state)
    assert d2.changed is False  # same action: the crew does not repeat itself in chat
