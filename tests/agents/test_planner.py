"""The route and resource planner: fuel, reserves, upkeep, trade from memory, roles, danger."""

from __future__ import annotations

import math

import pytest

from callister.agents import Goal
from callister.agents.planner import (
    MINER_FLOOR,
    RESERVE,
    STEER_MARGIN,
    TURN_S,
    MarketView,
    leg_fuel,
    leg_seconds,
)

from ._world import A0, B0, C1, D2, E3, S0, S1, S2, S3, atlas, hull, npc, planner, ship

FOOD = {"food": 20}


def _market(station: tuple[int, int, int], buy: dict[str, int], stock: int = 1000) -> MarketView:
    return MarketView(
        station=station,
        buy=buy,
        sell={k: int(v * 0.9) for k, v in buy.items()},
        stock={k: stock for k in buy},
        fuel_price=3.0,
        services=frozenset({"market", "refuel"}),
    )


def test_leg_fuel_and_time_follow_the_hull() -> None:
    h = hull("hauler")
    far = 50_000.0
    burn_s = 2 * h.max_speed / h.thrust
    assert leg_fuel(h, far) == pytest.approx((burn_s * STEER_MARGIN + TURN_S) * h.fuel_burn)
    near = 100.0  # never reaches top speed
    assert leg_fuel(h, near) == pytest.approx(
        (2 * math.sqrt(near / h.thrust) * STEER_MARGIN + TURN_S) * h.fuel_burn
    )
    assert leg_seconds(h, far) > far / h.max_speed
    assert leg_fuel(h, 0.0) == 0.0


def test_a_fuel_model_is_data_the_simulation_can_replace() -> None:
    p = planner()
    p.fuel_cost = lambda h, d: d / 1000.0  # e.g. the sim's own per-leg function
    trader = npc(1, Goal.TRADER)
    s = ship(trader)
    legs = p.legs_to(s, S0, -10_000.0, 0.0)
    assert legs is not None and legs[-1].fuel == pytest.approx(20.0)


def test_never_a_leg_it_cannot_finish_plus_a_reserve() -> None:
    p = planner()
    trader = npc(1, Goal.TRADER)
    trader.knowledge.saw_market(C1, 0, {"food": 10}, {"food": 60})  # a tempting trade
    # at the outpost (no fuel sold), with too little fuel for the trip to Tarsis and the reserve
    s = ship(trader, x=-10_000.0, docked_at=B0, fuel=80.0)
    s.cargo, s.paid, s.sell_at = {"food": 100}, {"food": 10.0}, C1
    plan = p.next_plan(s, trader, 0)
    assert plan.purpose == "refuel" and plan.station == A0
    assert s.fuel - plan.fuel >= RESERVE * s.hull.fuel
    # with less, the reserve is for getting to fuel, nothing else
    s.fuel = 40.0
    plan = p.next_plan(s, trader, 0)
    assert plan.purpose == "refuel" and plan.station == A0 and s.fuel - plan.fuel >= 0.0
    # with less than that, and nothing in reach even without the reserve: distress
    s.docked_at, s.fuel = None, 1.0
    assert p.next_plan(s, trader, 0).purpose == "distress"
    # every plan it does choose leaves the reserve in the tank
    s.fuel, s.docked_at, s.x = s.hull.fuel, A0, 10_000.0
    plan = p.next_plan(s, trader, 0)
    assert s.fuel - plan.fuel >= RESERVE * s.hull.fuel


def test_upkeep_at_a_station_with_its_own_credits() -> None:
    p = planner()
    clone = npc(1, Goal.PATROL)
    s = ship(clone, hull_key="interceptor", fuel=10.0)
    s.hull_hp, s.ammo = 20.0, 0.1
    visit = p.visit(s, clone, atlas().station(A0), None)
    assert visit.refuel == pytest.approx(s.hull.fuel - 10.0) and visit.repair and visit.rearm
    # far from repairs with a wrecked hull: repairs come before anything else
    s.docked_at, s.x, s.fuel = None, 0.0, s.hull.fuel
    assert p.next_plan(s, clone, 0).purpose == "repair"


def test_a_trader_buys_for_the_market_it_remembers_not_for_one_it_does_not_know() -> None:
    p = planner()
    trader = npc(1, Goal.TRADER)
    trader.knowledge.saw_market(C1, 0, {"food": 40}, {"food": 38})  # heard: food sells at 38
    trader.knowledge.saw_market(B0, 0, {"food": 22}, {"food": 21})
    # (D2 would pay 80 for food, but nobody told it)
    s = ship(trader)
    pick = p.purchase(s, trader, _market(A0, {"food": 21, "water": 12}), 0)
    assert pick is not None and (pick.item, pick.sell_at) == ("food", C1) and pick.qty > 0
    # the same prices heard long ago count for less: the margin regresses to the base price
    stale = npc(2, Goal.TRADER)
    stale.knowledge.saw_market(C1, 0, {"food": 40}, {"food": 38})
    assert p.purchase(ship(stale), stale, _market(A0, {"food": 21}), 2_000_000) is None


def test_with_nothing_known_a_trader_explores_a_market_it_does_not_know() -> None:
    p = planner()
    trader = npc(1, Goal.TRADER)
    trader.knowledge.saw_market(A0, 0, FOOD, FOOD)
    trader.knowledge.saw_market(B0, 0, FOOD, FOOD)
    plan = p.next_plan(ship(trader), trader, 0)
    assert plan.purpose == "explore" and plan.station not in (A0, B0)


def test_a_trader_with_goods_flies_to_where_they_are_meant_to_sell() -> None:
    p = planner()
    trader = npc(1, Goal.TRADER)
    s = ship(trader)
    s.cargo, s.paid, s.sell_at = {"food": 50}, {"food": 20.0}, C1
    plan = p.next_plan(s, trader, 0)
    assert plan.purpose == "trade" and plan.station == C1
    assert [leg.kind for leg in plan.legs] == ["jump", "fly"] and plan.legs[0].system == S1


def test_a_miner_mines_then_sells_what_the_market_takes() -> None:
    p = planner()
    miner = npc(1, Goal.MINER)
    s = ship(miner)
    plan = p.next_plan(s, miner, 0)
    assert plan.purpose == "mine" and plan.field is not None and plan.seconds > 0
    s.cargo = {"iron": s.hull.cargo}
    plan = p.next_plan(s, miner, 0)
    assert plan.purpose == "sell" and plan.station is not None
    # a market with little room for iron takes only what keeps its price above the floor
    market = MarketView(A0, {"iron": 30}, {"iron": 28}, {"iron": 60}, 3.0, frozenset({"market"}))
    takes = p.absorbs(market, "iron", MINER_FLOOR)
    assert 0 < takes < s.hull.cargo
    visit = p.visit(s, miner, atlas().station(A0), market)
    assert visit.sell == (("iron", takes),)


def test_nervous_clones_go_round_a_system_they_believe_dangerous() -> None:
    p = planner()
    # two ways to Mira: through Tarsis (2 jumps, believed dangerous) or round by Hollow and
    # Dust (3 jumps)
    for traits, expect in ((("nervous", "anxious"), S2), (("brave", "reckless"), S1)):
        trader = npc(1, Goal.TRADER, traits=traits)
        trader.knowledge.saw_attack(-9, -10, S1, 0, on_us=False)  # heard: Tarsis is dangerous
        nerves = trader.personality.neuroticism
        legs = p.legs_to(ship(trader), S3, 0.0, 0.0, knowledge=trader.knowledge, nerves=nerves)
        assert legs is not None and legs[0].system == expect, traits
        assert legs[-1].system == S3


def test_pirates_prowl_lawless_space_and_fence_at_lawless_markets() -> None:
    p = planner()
    pirate = npc(1, Goal.PIRATE)
    s = ship(pirate, hull_key="interceptor", system=S2, x=0.0, docked_at=D2)
    plan = p.next_plan(s, pirate, 0)
    assert plan.purpose == "hunt" and plan.system == S2
    s.cargo = {"food": 5}
    s.docked_at, s.system = None, S0
    assert p.next_plan(s, pirate, 0).station == D2  # the only lawless market in reach


def test_patrols_fly_a_beat_at_a_lawful_station_and_answer_calls_they_can_reach() -> None:
    p = planner()
    patrol = npc(1, Goal.PATROL)
    s = ship(patrol, hull_key="interceptor")
    plan = p.next_plan(s, patrol, 0)
    assert plan.purpose == "patrol" and plan.system == S0 and plan.seconds > 0
    assert p.respond(s, S0, -5_000.0, 3_000.0, "respond") is not None
    s.fuel = 2.0
    assert p.respond(s, S3, 0.0, 0.0, "respond") is None  # not with that tank


def test_haulers_bring_goods_to_a_station_short_of_them() -> None:
    p = planner()
    hauler = npc(1, Goal.HAULER, traits=("kind", "friendly"))
    trader = npc(2, Goal.TRADER, traits=("kind", "friendly"))
    for c in (hauler, trader):
        c.knowledge.saw_market(C1, 0, {"water": 22}, {"water": 20})  # short: 20 vs base 12
        c.knowledge.saw_market(E3, 0, {"water": 17}, {"water": 16})
    market = _market(A0, {"water": 14})
    pick = p.purchase(ship(hauler), hauler, market, 0)
    assert pick is not None and pick.sell_at == C1
    assert p.purchase(ship(trader), trader, market, 0) is not None
    assert E3 != C1 and D2 != C1  # (the map's other markets)
