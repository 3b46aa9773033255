from __future__ import annotations

import itertools
import math

import pytest

from callister.missions import rules
from callister.missions.contracts import Giver, MissionLog, accept, observe
from callister.missions.errors import MissionError
from callister.missions.facts import Near
from callister.missions.ledger import MISSIONS, escrow_account, ship_holder, station_holder
from callister.missions.reputation import Reputation
from callister.missions.rescue import (
    Haven,
    RescueOffer,
    Responder,
    Situation,
    cancel_rescue,
    dead_end,
    fuel_warning,
    may_answer,
    progress_actions,
    ration_request,
    recall_request,
    recall_terms,
    rescue_contract,
    rescue_offers,
)
from callister.missions.travel import Place, flight_fuel

from ._support import Books, content, pilot_at

HOME, AWAY = (0, 0), (3, -1)
HULL = content().starter_hull
PRICES = {k: c.base_price for k, c in content().commodities.items()} | {
    k: o.base_price for k, o in content().ores.items()
}


def test_fuel_warnings_come_before_the_point_of_no_return() -> None:
    need = flight_fuel(20_000, HULL)
    assert fuel_warning(100.0, HULL, 20_000).level == "ok"
    low = need * rules.FUEL_LOW + HULL.jump_fuel - 0.1
    assert fuel_warning(low, HULL, 20_000).level == "low"
    assert fuel_warning(need * rules.FUEL_CRITICAL - 0.1, HULL, 20_000).level == "critical"
    assert fuel_warning(0.0, HULL, 20_000).level == "dry"
    assert fuel_warning(50.0, HULL, None).level == "critical"
    # a station in another system: the jump's fuel counts
    assert fuel_warning(need * 1.3, HULL, 20_000).level != "critical"
    assert fuel_warning(need * 1.3, HULL, 20_000, jump_needed=True).level == "critical"
    d = fuel_warning(0.0, HULL, 20_000).to_dict()
    assert d["level"] == "dry" and d["needed"] is None


def test_who_may_answer_a_distress_call() -> None:
    at = Place(HOME, 0.0, 0.0)
    patrol = Responder("patrol", 1, -3, at, 80.0)
    assert may_answer(patrol, 7, lawful_space=True)
    assert not may_answer(patrol, 7, lawful_space=False)
    assert may_answer(Responder("trader", 2, -4, at, 80.0), 7, lawful_space=False)
    assert may_answer(Responder("player", 3, 8, at, 80.0), 7, lawful_space=False)
    assert not may_answer(Responder("pirate", 4, -5, at, 80.0), 7, lawful_space=False)
    assert not may_answer(Responder("player", 3, 7, at, 80.0), 7, lawful_space=True)  # yourself
    assert not may_answer(Responder("player", 3, 8, at, 80.0, criminal=True), 7, lawful_space=True)
    assert not may_answer(Responder("trader", 2, -4, at, 5.0), 7, lawful_space=True)  # dry too


def test_offers_are_priced_from_distance_and_fuel_and_split_between_pilot_and_fund() -> None:
    ship = Place(HOME, 10_000.0, 0.0)
    havens = (
        Haven(Place(HOME, 0.0, 0.0), 0, True, 3.0),
        Haven(Place(HOME, 12_000.0, 0.0), 1, False, 0.0),
    )
    responders = (
        Responder("trader", 50, -2, Place(HOME, 10_000.0, 5_000.0), 200.0),
        Responder("pirate", 51, -3, Place(HOME, 10_000.0, 100.0), 200.0),
    )
    pilot = pilot_at(HOME, None, credits=100, fuel=0.0)
    fuel, tow = rescue_offers(
        ship, pilot, HULL, havens, responders, lawful_space=True, fund_available=True
    )
    assert fuel.kind == "fuel" and tow.kind == "tow"
    assert fuel.responder is not None and fuel.responder.ship == 50  # never the pirate
    want = max(rules.RESCUE_FUEL_MIN, flight_fuel(10_000, HULL) * rules.RESCUE_FUEL_MARGIN)
    assert fuel.fuel == pytest.approx(want)
    assert fuel.fee == rules.CALLOUT_BASE + math.ceil(rules.CALLOUT_PER_KM * 5) + math.ceil(
        want * 3.0 * 2
    )
    assert tow.to == (HOME, 1) and tow.at == (12_000.0, 0.0)  # the nearest, refuel or not
    assert tow.fee == rules.CALLOUT_BASE + math.ceil(
        rules.CALLOUT_PER_KM * 5 + rules.TOW_PER_KM * 2
    )
    assert fuel.pilot_pays == 100 and fuel.fund_pays == fuel.fee - 100 and fuel.affordable
    broke = rescue_offers(
        ship,
        pilot_at(HOME, None, credits=0, fuel=0.0),
        HULL,
        havens,
        responders,
        lawful_space=False,
        fund_available=True,
    )
    assert all(not o.affordable and o.fund_pays == 0 for o in broke)
    assert (
        rescue_offers(ship, pilot, HULL, (), responders, lawful_space=True, fund_available=True)
        == ()
    )
    assert fuel.to_dict()["responder"] == {"kind": "trader", "ship": 50}
    assert tow.to_dict()["to"] == {"sector": ["0", "0"], "station": 1, "x": 12_000.0, "y": 0.0}


def test_a_taken_offer_escrows_the_pilots_share_and_pays_the_rescuer() -> None:
    books = Books()
    books.balances.update({"player:42": 400, "mint": -400})
    stranded = pilot_at(HOME, None, account=42, ship=4242, credits=400, fuel=0.0)
    offer = RescueOffer("fuel", 600, 400, 200, 15.0, (HOME, 0), None, 40)
    contract, hold = rescue_contract(
        offer, stranded, Place(HOME, 5.0, 5.0), Giver(HOME, 0, "concord", "Hub"), 1, 10
    )
    assert hold is not None
    books.commit(hold)
    assert books.balance(escrow_account(42, contract.id)) == 400
    assert contract.funding == ((escrow_account(42, contract.id), 400), (MISSIONS, 200))
    rescuer = pilot_at(HOME, None, account=9, ship=900, credits=0, fuel=90.0)
    log = accept(MissionLog(), contract, rescuer, Reputation(), 10).log
    ch = observe(log, Near(4242, HOME, 120.0, 3.0), rescuer, 20)
    books.commit(*ch.requests)
    assert books.balance("player:9") == 600 and books.balance("player:42") == 0
    assert books.fuel == {9: -15.0, 42: 15.0}
    assert books.total() == 0
    # a call withdrawn before anyone came gives the share back
    assert cancel_rescue(contract, stranded) is not None
    _, no_hold = rescue_contract(
        RescueOffer("tow", 300, 0, 300, 0.0, (HOME, 0), None, 10),
        stranded,
        Place(HOME, 0, 0),
        Giver(HOME, 0, "", "x"),
        2,
        10,
    )
    assert no_hold is None
    with pytest.raises(MissionError, match="recall home instead"):
        rescue_contract(
            RescueOffer("tow", 300, 0, 0, 0.0, (HOME, 0), None, 10),
            stranded,
            Place(HOME, 0, 0),
            Giver(HOME, 0, "", "x"),
            3,
            10,
        )


def test_recall_is_paid_by_insurance_credits_or_salvage_and_never_leaves_debt() -> None:
    far = pilot_at(AWAY, None, credits=5000, fuel=3.0, home=(HOME, 0), cargo={"food": 10})
    terms = recall_terms(far, PRICES)
    assert terms.fee == rules.RECALL_BASE + 3 * rules.RECALL_PER_JUMP
    assert terms.credits == terms.fee and terms.salvage == () and terms.waived == 0
    assert terms.fuel == rules.RATION_FUEL - 3.0
    insured = recall_terms(pilot_at(AWAY, None, credits=0, home=(HOME, 0), insured=True), PRICES)
    assert insured.insured and insured.credits == 0 and insured.salvage == ()
    poor = pilot_at(
        AWAY, None, credits=200, fuel=0.0, home=(HOME, 0), cargo={"food": 30, "medicine": 5}
    )
    t = recall_terms(poor, PRICES)
    food_unit = math.floor(20 * rules.SALVAGE_SHARE)
    assert t.credits == 200 and t.salvage[0] == ("food", 30)  # cheapest goods go first
    assert t.salvage[1][0] == "medicine" and t.waived == 0
    broke = recall_terms(pilot_at(AWAY, None, credits=0, home=(HOME, 0)), PRICES)
    assert broke.waived == broke.fee and broke.credits == 0
    books = Books()
    books.balances.update({"player:7": 200, "mint": -200})
    books.holdings[(ship_holder(1001), "food")] = 30
    books.holdings[(ship_holder(1001), "medicine")] = 5
    r = recall_request(poor, t, "sos-1")
    books.commit(r)
    assert books.balance("player:7") == 0 and books.balance("services") == 200
    assert books.held(station_holder(HOME, 0), "food") == 30
    assert books.relocated == {7: (HOME, 0)} and books.fuel[7] == rules.RATION_FUEL
    assert food_unit * 30 < t.fee - 200  # it took medicine too because food was not enough


def test_the_home_ration_is_only_for_those_who_cannot_pay() -> None:
    home = (HOME, 0)
    r = ration_request(pilot_at(HOME, 0, credits=10, fuel=2.0, home=home), 3.0, "r1")
    assert r.fuel[0].delta == pytest.approx(rules.RATION_FUEL - 2.0) and not r.postings
    with pytest.raises(MissionError, match="home station"):
        ration_request(pilot_at(AWAY, 0, credits=0, fuel=0.0, home=home), 3.0, "r2")
    with pytest.raises(MissionError, match="fuel enough"):
        ration_request(pilot_at(HOME, 0, credits=0, fuel=60.0, home=home), 3.0, "r3")
    with pytest.raises(MissionError, match="can afford"):
        ration_request(pilot_at(HOME, 0, credits=500, fuel=0.0, home=home), 3.0, "r4")


# -- dead ends ---------------------------------------------------------------------------------

ALL = ("market", "refuel", "repair", "rearm", "shipyard")
DOCKED = [  # (at home, services)
    (True, ALL),
    (False, ALL),
    (False, ("refuel",)),
    (False, ("market",)),
    (False, ()),
]
FUELS = [0.0, 3.0, 12.0, HULL.fuel]
CREDITS = [0, 2, 5000]
CARGO = [0, 10, HULL.cargo]
HULLS = [1.0, 0.1]
UNDOCKED = [  # (refuel distance, field distance, links)
    (None, None, False),
    (None, None, True),
    (2000.0, None, False),
    (40_000.0, 5000.0, True),
    (None, 500.0, False),
]


def situations(*, rescue: bool, recall: bool, ration: bool) -> list[Situation]:
    out = []
    for (home, services), fuel, credits, cargo, hull, contracts in itertools.product(
        DOCKED, FUELS, CREDITS, CARGO, HULLS, (False, True)
    ):
        out.append(
            Situation(
                HULL,
                True,
                fuel,
                credits,
                cargo,
                hull,
                home,
                services,
                contracts=contracts,
                rescue=rescue,
                recall=recall,
                ration=ration,
            )
        )
    for (refuel, field, links), fuel, credits, cargo, hull, responders in itertools.product(
        UNDOCKED, FUELS, CREDITS, CARGO, HULLS, (0, 1)
    ):
        out.append(
            Situation(
                HULL,
                False,
                fuel,
                credits,
                cargo,
                hull,
                refuel_distance=refuel,
                field_distance=field,
                links=links,
                responders=responders,
                rescue=rescue,
                recall=recall,
                ration=ration,
            )
        )
    return out


def test_every_situation_on_the_grid_has_a_way_forward() -> None:
    grid = situations(rescue=True, recall=True, ration=True)
    assert len(grid) > 1000
    stuck = [s for s in grid if dead_end(s)]
    assert stuck == []


def test_without_rescue_recall_and_ration_the_same_grid_has_dead_ends() -> None:
    grid = situations(rescue=False, recall=False, ration=False)
    stuck = [s for s in grid if dead_end(s)]
    assert stuck  # the features are what closes them
    # e.g. adrift without fuel, or docked broke and dry at a station with nothing to buy
    assert any(not s.docked and s.fuel == 0 for s in stuck)
    assert any(s.docked and s.fuel == 0 and s.credits == 0 for s in stuck)
    # each feature alone closes some of them
    for feature in ("rescue", "recall", "ration"):
        flags = {"rescue": False, "recall": False, "ration": False, feature: True}
        fewer = [s for s in situations(**flags) if dead_end(s)]
        assert len(fewer) < len(stuck), feature


def test_listed_actions_can_really_be_taken() -> None:
    for s in situations(rescue=True, recall=True, ration=True):
        actions = progress_actions(s)
        if "refuel" in actions:
            assert s.docked and "refuel" in s.services and s.credits >= math.ceil(s.fuel_price)
        if "sell_cargo" in actions:
            assert "market" in s.services and s.cargo_used > 0
        if "repair" in actions:
            assert "repair" in s.services and s.hull_frac < 1
        if "jump" in actions:
            assert not s.docked and s.links and s.fuel >= HULL.jump_fuel
        if "fly_to_station" in actions:
            assert s.refuel_distance is not None and s.fuel >= flight_fuel(s.refuel_distance, HULL)
        if "mine" in actions:
            assert s.cargo_used < HULL.cargo and s.field_distance is not None
        if "ration" in actions:
            assert s.at_home and s.fuel < rules.RATION_FUEL
        if "recall_home" in actions:
            assert actions[-1] == "recall_home"  # the last resort, offered last
            assert not s.at_home
