"""The off-screen simulation with the real economy and ledger (a SQLite file per test).

Timed legs and hand-offs to the full simulation, rescues of stranded clones, encounters decided
by the on-screen decision code, a trader's route following the prices it remembered, and the
books balancing after all of it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from callister.agents import Action, Goal, Skills
from callister.agents.model import npc_actor
from callister.agents.offscreen import (
    Born,
    Distress,
    Done,
    OffscreenSim,
    Request,
    Rescue,
    Trade,
    encounter_actions,
    leg_state,
    stance_of,
)
from callister.agents.planner import Leg

from ._world import A0, B0, C1, D2, E3, S0, S1, S4, Ledger, atlas, hull, npc, ship, sim

TICKS_PER_MIN = 1200


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    book = Ledger(tmp_path, atlas())
    try:
        yield book
    finally:
        book.close()


class Recorder:
    """The real adapter, with every request and its answer kept (and the clock moved)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.log: list[tuple[Request, Done]] = []

    def __call__(self, request: Request) -> Done:
        done = self.ledger.port.execute(request)
        self.log.append((request, done))
        return done

    def of(self, kind: type) -> list[tuple[Request, Done]]:
        return [(r, d) for r, d in self.log if isinstance(r, kind)]


def _run(s: OffscreenSim, rec: Recorder, start: int, minutes: int) -> int:
    now = start
    for _ in range(minutes * 6):
        now += 200
        rec.ledger.seconds = 1_700_000_000.0 + now / 20
        s.step(now, rec)
    return now


def _born(s: OffscreenSim, rec: Recorder, clone, sh, grant: int = 20_000) -> None:  # type: ignore[no-untyped-def]
    if sh.docked_at is not None:  # born at a station: it looks around and trades at once
        assert s.birth(clone, sh, sh.docked_at, 0, rec, grant=grant) is not None
        return
    assert rec(Born(sh, A0, grant)).ok
    sh.credits = grant
    s.add(clone, sh, 0)


def test_a_leg_is_flown_accelerate_coast_brake() -> None:
    h = hull("hauler")
    leg = Leg("fly", S0, 0.0, 0.0, 30_000.0, 0.0, 0.0, 0.0)
    x0, _, vx0, _ = leg_state(leg, h.thrust, h.max_speed, 0.0)
    x1, _, vx1, _ = leg_state(leg, h.thrust, h.max_speed, 60.0)
    x2, _, vx2, _ = leg_state(leg, h.thrust, h.max_speed, 1e6)
    assert (x0, vx0) == (0.0, 0.0)
    assert 0 < x1 < 30_000 and vx1 == pytest.approx(h.max_speed)
    assert (x2, vx2) == (pytest.approx(30_000.0), 0.0)


def test_a_system_snaps_back_to_full_simulation_where_each_clone_is(ledger: Ledger) -> None:
    s, rec = sim(), Recorder(ledger)
    trader = npc(1, Goal.TRADER)
    sh = ship(trader)
    _born(s, rec, trader, sh)
    now = 0
    while s.agents[trader.id].phase != "flying":
        now = _run(s, rec, now, 1)
        assert now < 60 * TICKS_PER_MIN
    agent = s.agents[trader.id]
    assert agent.plan is not None
    leg = agent.plan.legs[agent.leg]
    now += 300  # 15 s into the leg
    [state] = [h for h in s.handoff(agent.ship.system, now) if h.clone_id == trader.id]
    assert state.tick == now and state.docked_at is None and state.action in ("travel", "dock")
    if leg.kind == "fly":
        assert min(leg.x0, leg.x1) - 1 <= state.x <= max(leg.x0, leg.x1) + 1
        heading = math.atan2(leg.y1 - leg.y0, leg.x1 - leg.x0)
        assert math.hypot(state.vx, state.vy) > 0
        assert abs(math.atan2(state.vy, state.vx) - heading) < 1e-6
    assert state.fuel == agent.ship.fuel and state.cargo == agent.ship.cargo
    assert agent.phase == "live"
    before = len(rec.log)
    _run(s, rec, now, 30)
    assert len(rec.log) == before  # a live clone is the zone's: off-screen leaves it alone
    # the players leave: it comes back from where the zone left it, and goes on
    s.adopt(state, now=now + 36_000)
    assert agent.phase == "flying" and (agent.ship.x, agent.ship.y) == (state.x, state.y)
    _run(s, rec, now + 36_000, 30)
    assert agent.phase != "live"


def test_a_stranded_clone_calls_for_help_and_is_helped(ledger: Ledger) -> None:
    s, rec = sim(), Recorder(ledger)
    lost = npc(1, Goal.TRADER, name="Sol Haas")
    sh = ship(lost, x=-2_000.0, y=15_000.0, docked_at=None, fuel=0.0)
    # a kind trader at the outpost with a full hauler's tank: fuel to spare
    patrol = npc(2, Goal.TRADER, traits=("kind", "loyal"), name="Ines Lind")
    _born(s, rec, lost, sh, grant=5_000)
    _born(s, rec, patrol, ship(patrol, x=-10_000.0, docked_at=B0))
    now = _run(s, rec, 0, 1)
    [(call, _)] = rec.of(Distress)
    assert call.ship.clone_id == lost.id  # the call a player would see
    assert s.agents[lost.id].phase == "stranded"
    now = _run(s, rec, now, 10)
    [(rescue, done)] = rec.of(Rescue)
    assert rescue.helper is not None and rescue.helper.clone_id == patrol.id and done.ok
    agent = s.agents[lost.id]
    assert agent.phase != "stranded" and agent.ship.fuel > 0
    assert s.stranded_for(agent, now) <= 5 * TICKS_PER_MIN
    rel = lost.relationships.get(npc_actor(patrol.id))
    assert rel is not None and rel.helps == 1 and rel.trust > 0  # kindness remembered
    assert done.total > 0  # the rescued pays the rescuer (less if they are friends)
    assert ledger.economy.audit()["balanced"]


def test_with_nobody_to_help_the_station_tug_comes(ledger: Ledger) -> None:
    s, rec = sim(), Recorder(ledger)
    lost = npc(1, Goal.MINER)
    _born(s, rec, lost, ship(lost, x=0.0, y=19_000.0, docked_at=None, fuel=0.0), grant=5_000)
    now = _run(s, rec, 0, 4)
    [(rescue, done)] = rec.of(Rescue)
    assert rescue.helper is None and done.ok and done.total > 0  # paid to the services
    assert s.stranded_for(s.agents[lost.id], now) <= 5 * TICKS_PER_MIN


def test_pirates_attack_weaker_ships_and_let_stronger_ones_be() -> None:
    pirate = npc(1, Goal.PIRATE, traits=("ruthless", "brave"), skills=Skills(0.8, 0.8, 0.3, 0.2))
    trader = npc(2, Goal.TRADER)
    patrol = npc(3, Goal.PATROL, traits=("brave",))
    p_ship = ship(pirate, hull_key="interceptor", docked_at=None)
    weak = ship(trader, hull_key="shuttle", docked_at=None)
    weak.hull_hp = 30.0
    strong = ship(patrol, hull_key="hauler", docked_at=None)  # a big patrol ship
    stances = [stance_of(Goal.PIRATE), stance_of(Goal.TRADER)]
    assert encounter_actions([pirate, trader], [p_ship, weak], stances, 100)[0] is Action.HUNT
    stances = [stance_of(Goal.PIRATE), stance_of(Goal.PATROL)]
    acts = encounter_actions([pirate, patrol], [p_ship, strong], stances, 100)
    assert acts[0] is not Action.HUNT and acts[1] is Action.RESPOND  # the patrol goes for it
    # attacked, the victim answers by its personality: flee (nervous) or fight (brave)
    nervous = npc(4, Goal.TRADER, traits=("nervous", "anxious"))
    stances = [stance_of(Goal.PIRATE), stance_of(Goal.TRADER)]
    answer = encounter_actions(
        [pirate, nervous], [p_ship, weak], stances, 100, attacked_by=[-1, p_ship.actor]
    )[1]
    assert answer is Action.FLEE


def test_an_npc_attacked_by_an_npc_forms_a_belief_and_others_hear_of_it(
    ledger: Ledger,
) -> None:
    s, rec = sim(), Recorder(ledger)
    pirate = npc(1, Goal.PIRATE, name="Rook Varga", skills=Skills(0.8, 0.9, 0.3, 0.2))
    trader = npc(2, Goal.TRADER, traits=("brave", "stubborn"), name="Sol Haas")
    witness = npc(3, Goal.MINER, name="Tove Sato")
    p = _agent(s, rec, pirate, ship(pirate, hull_key="interceptor", docked_at=None))
    t = _agent(s, rec, trader, ship(trader, hull_key="hauler", docked_at=None))
    _agent(s, rec, witness, ship(witness, docked_at=None, x=0.0, y=15_000.0))
    meetings = 0
    while trader.alive and not trader.relationships.is_hostile(p.ship.actor):
        t.ship.hull_hp = t.ship.hull.hull  # patched up between meetings, for the test
        p.ship.hull_hp, p.ship.ammo = p.ship.hull.hull, 1.0
        s._meet(p, t, S0, 100 + meetings * 1000, rec)
        meetings += 1
        assert meetings < 10, "the pirate never attacked"
    if trader.alive:
        assert any("Rook Varga attacked us" in m.text for m in trader.memory)
    known = witness.knowledge.attacks_by(p.ship.actor)
    assert known, "the witness in the system heard of the attack"
    assert ledger.economy.audit()["balanced"]


def _agent(s: OffscreenSim, rec: Recorder, clone, sh):  # type: ignore[no-untyped-def]
    assert rec(Born(sh, A0, 5_000)).ok
    agent = s.add(clone, sh, 0)
    agent.phase = "working"
    return agent


def test_a_traders_route_follows_the_prices_it_remembered(ledger: Ledger) -> None:
    s, rec = sim(), Recorder(ledger)
    trader = npc(1, Goal.TRADER)
    # what it remembers: Tarsis pays well for water (it saw so, and told nobody)
    trader.knowledge.saw_market(C1, 0, {"water": 30}, {"water": 28})
    trader.knowledge.saw_market(B0, 0, {"water": 13}, {"water": 12})
    _born(s, rec, trader, ship(trader))
    now = _run(s, rec, 0, 1)
    buys = [(r, d) for r, d in rec.of(Trade) if r.side == "buy" and d.ok]
    assert buys and buys[0][0].item == "water"
    assert s.agents[trader.id].ship.sell_at == C1
    while not any(r.side == "sell" and r.station == C1 for r, _ in rec.of(Trade)):
        now = _run(s, rec, now, 5)
        assert now < 120 * TICKS_PER_MIN, "it never got to Tarsis"
    assert s.agents[trader.id].ship.system == S1
    assert trader.knowledge.markets[C1].tick > 0  # it saw the real prices there itself
    assert ledger.economy.audit()["balanced"]


def test_a_clone_the_zone_runs_docks_through_the_same_visit(ledger: Ledger) -> None:
    s, rec = sim(), Recorder(ledger)
    trader = npc(1, Goal.TRADER)
    trader.knowledge.saw_market(C1, 0, {"water": 30}, {"water": 28})
    sh = ship(trader, docked_at=None, x=9_000.0)
    _born(s, rec, trader, sh)
    [state] = s.handoff(S0, 100)  # players arrived: the zone runs it now
    plan = s.dock_live(trader.id, A0, 200, rec)  # ... and it docked at Vega Prime
    assert any(isinstance(r, Trade) and r.side == "buy" for r, _ in rec.log)
    assert plan.purpose == "trade" and plan.station == C1 and plan.legs
    assert s.agents[trader.id].phase == "live" and state.clone_id == trader.id
    assert ledger.economy.audit()["balanced"]


def test_a_tug_comes_from_the_next_system_when_there_is_no_fuel_here(ledger: Ledger) -> None:
    s, rec = sim(), Recorder(ledger)
    lost = npc(1, Goal.MINER)
    # stranded in Dust, a system without stations
    _born(s, rec, lost, ship(lost, system=S4, x=0.0, y=0.0, docked_at=None, fuel=0.0), grant=5_000)
    now = _run(s, rec, 0, 4)
    [(rescue, done)] = rec.of(Rescue)
    assert rescue.helper is None and done.ok and rescue.station in (D2, E3)
    assert s.stranded_for(s.agents[lost.id], now) <= 5 * TICKS_PER_MIN
