from __future__ import annotations

import dataclasses

import pytest

from callister.missions import rules
from callister.missions.contracts import (
    Active,
    Contract,
    Giver,
    Goal,
    MissionLog,
    abandon,
    accept,
    expire,
    observe,
)
from callister.missions.errors import MissionDataError, MissionError
from callister.missions.facts import (
    DockedAt,
    Killed,
    MinedOre,
    Near,
    Pilot,
    ShipLost,
    WatchedDocked,
    WatchedLost,
)
from callister.missions.ledger import MISSIONS, escrow_account, ship_holder, station_holder
from callister.missions.markers import Marker
from callister.missions.reputation import Reputation
from callister.protocol.errors import ErrorCode

from ._support import Books, pilot_at

HOME, OTHER = (0, 0), (1, 0)
GIVER = Giver(HOME, 0, "concord", "Home Station")
NOW = 1_000_000


def contract(kind: str, *goals: Goal, **kw: object) -> Contract:
    reward = int(kw.pop("reward", 1000))  # type: ignore[call-overload]
    base = {
        "id": f"x-{kind}",
        "kind": kind,
        "tier": 0,
        "giver": GIVER,
        "title": f"a {kind}",
        "goals": goals,
        "reward": reward,
        "funding": ((MISSIONS, reward),),
        "reputation": (("concord", 3),),
        "collateral": 0,
        "offered_until": NOW + 900,
        "duration_s": 600,
        "estimate_s": 200,
    }
    base.update(kw)
    return Contract(**base)


def station(sector: tuple[int, int], index: int) -> Marker:
    return Marker("station", sector, index)


def delivery(collateral: int = 420, qty: int = 20) -> Contract:
    return contract(
        "delivery",
        Goal("pickup", station(OTHER, 1), "load", "food", qty, qty),
        Goal("deliver", station(HOME, 0), "deliver", "food", qty, qty),
        collateral=collateral,
    )


def pilot(**kw: object) -> Pilot:
    base: dict[str, object] = {"credits": 2000, "cargo_free": 20}
    base.update(kw)
    sector = base.pop("sector", HOME)
    docked = base.pop("docked_at", 0)
    return pilot_at(sector, docked, **base)  # type: ignore[arg-type]


def test_a_delivery_from_pickup_to_reward_keeps_the_books() -> None:
    books = Books()
    books.balances.update({"player:7": 2000, "mint": -2000})
    books.holdings[(station_holder(OTHER, 1), "food")] = 100
    c = delivery()
    ch = accept(MissionLog(), c, pilot(), Reputation(), NOW)
    assert [n.event for n in ch.notices] == ["accepted"] and not ch.requests
    assert ch.log.holds(c.id) is not None
    # docking at the pickup: goods entrusted for the collateral
    p = pilot(sector=OTHER, docked_at=1)
    ch = observe(ch.log, DockedAt(OTHER, 1), p, NOW + 60)
    (pickup,) = ch.requests
    books.commit(pickup)
    assert books.balance(escrow_account(7, c.id)) == 420
    assert books.held(ship_holder(1001), "food") == 20
    assert ch.log.active[0].step == 1 and ch.log.active[0].escrowed == 420
    # docking at the giver with the goods: delivered, refunded, paid
    p = pilot(credits=1580, cargo={"food": 20}, cargo_free=0)
    ch = observe(ch.log, DockedAt(HOME, 0), p, NOW + 200)
    (reward,) = ch.requests
    books.commit(reward)
    assert books.balance("player:7") == 2000 + c.reward
    assert books.balance(escrow_account(7, c.id)) == 0
    assert books.held(station_holder(HOME, 0), "food") == 20
    assert books.total() == 0  # the missions treasury paid: double entry
    assert books.balance(MISSIONS) == -c.reward and books.balance("mint") == -2000
    assert ch.reputation == (("concord", 3),) and ch.earned == c.reward
    assert not ch.log.active and ch.log.finished == (c.id,) and ch.log.completed == 1
    assert [n.event for n in ch.notices] == ["completed"]
    # committing again changes nothing (idempotent keys)
    books.commit(pickup, reward)
    assert books.balance("player:7") == 2000 + c.reward


def test_accepting_while_docked_at_the_pickup_loads_at_once() -> None:
    c = delivery()
    ch = accept(MissionLog(), c, pilot(sector=OTHER, docked_at=1), Reputation(), NOW)
    assert [r.kind for r in ch.requests] == ["mission_pickup"]
    assert [n.event for n in ch.notices] == ["accepted", "updated"]


def test_two_pickups_at_one_station_share_the_hold() -> None:
    a = delivery(qty=15)
    b = dataclasses.replace(delivery(qty=15), id="x-other")
    log = accept(MissionLog(), a, pilot(docked_at=None), Reputation(), NOW).log
    log = accept(log, b, pilot(docked_at=None), Reputation(), NOW).log
    ch = observe(log, DockedAt(OTHER, 1), pilot(sector=OTHER, docked_at=1, cargo_free=20), NOW)
    assert [r.kind for r in ch.requests] == ["mission_pickup"]
    assert [n.event for n in ch.notices] == ["updated", "blocked"]
    assert "make room" in ch.notices[1].text


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"credits": 100}, ErrorCode.INSUFFICIENT_FUNDS, "collateral"),
        ({"now": NOW + 900}, ErrorCode.NOT_AVAILABLE, "expired"),
        ({"tier": 1}, ErrorCode.NOT_AVAILABLE, "needs rank Known"),
        ({"rep": -50}, ErrorCode.NOT_AVAILABLE, "needs rank Neutral"),
    ],
)
def test_accept_refusals_say_why(change: dict[str, int], code: ErrorCode, words: str) -> None:
    c = dataclasses.replace(delivery(), tier=change.get("tier", 0))
    rep = Reputation().adjust([("concord", change.get("rep", 0))])
    p = pilot(credits=change.get("credits", 2000))
    with pytest.raises(MissionError) as e:
        accept(MissionLog(), c, p, rep, change.get("now", NOW))
    assert e.value.code == code and words in e.value.message


def test_a_pilot_holds_a_bounded_number_and_never_the_same_twice() -> None:
    log = MissionLog()
    for i in range(rules.MAX_ACTIVE):
        c = dataclasses.replace(delivery(), id=f"c{i}")
        log = accept(log, c, pilot(docked_at=None), Reputation(), NOW).log
    with pytest.raises(MissionError, match="the most at once"):
        accept(log, dataclasses.replace(delivery(), id="one-more"), pilot(), Reputation(), NOW)
    with pytest.raises(MissionError, match="already hold"):
        accept(log, dataclasses.replace(delivery(), id="c0"), pilot(), Reputation(), NOW)
    done = MissionLog(finished=("c9",))
    with pytest.raises(MissionError, match="finished this contract"):
        accept(done, dataclasses.replace(delivery(), id="c9"), pilot(), Reputation(), NOW)
    assert done.taken("c9") and log.taken("c0") and not log.taken("c9")


def test_delivering_without_the_goods_is_blocked_and_the_deadline_forfeits() -> None:
    books = Books()
    books.balances.update({"player:7": 2000, "mint": -2000})
    books.holdings[(station_holder(OTHER, 1), "food")] = 100
    c = delivery()
    log = accept(MissionLog(), c, pilot(sector=OTHER, docked_at=1), Reputation(), NOW)
    books.commit(*log.requests)
    # sold the entrusted food: the delivery cannot be made
    ch = observe(log.log, DockedAt(HOME, 0), pilot(cargo={}), NOW + 100)
    assert not ch.requests and ch.notices[0].event == "blocked"
    ch = expire(ch.log, pilot(), NOW + c.duration_s)
    (forfeit,) = ch.requests
    books.commit(forfeit)
    assert books.balance("market") == 420 and books.balance(escrow_account(7, c.id)) == 0
    assert ch.reputation == (("concord", rules.FAIL_REP),)
    assert ch.log.failed == 1 and ch.notices[0].event == "failed"


def test_losing_the_ship_with_entrusted_cargo_fails_but_other_work_goes_on() -> None:
    quota = contract(
        "mining",
        Goal("mine", Marker("field", HOME, 0), "mine", "ice", 12, 12),
        Goal("handin", station(HOME, 0), "hand in", "ice", 12, 12),
    )
    log = accept(MissionLog(), delivery(), pilot(sector=OTHER, docked_at=1), Reputation(), NOW).log
    log = accept(log, quota, pilot(docked_at=None), Reputation(), NOW).log
    ch = observe(log, ShipLost(HOME), pilot(docked_at=None), NOW + 10)
    assert [a.contract.id for a in ch.log.active] == [quota.id]
    assert [r.kind for r in ch.requests] == ["mission_forfeit"]


def test_a_mining_quota_counts_only_its_field_and_ore_then_takes_the_hand_in() -> None:
    quota = contract(
        "mining",
        Goal("mine", Marker("field", HOME, 0), "mine", "ice", 12, 12),
        Goal("handin", station(HOME, 0), "hand in", "ice", 12, 12),
    )
    p = pilot(docked_at=None)
    log = accept(MissionLog(), quota, p, Reputation(), NOW).log
    log = observe(log, MinedOre(HOME, 0, "iron", 20), p, NOW).log
    log = observe(log, MinedOre(HOME, 1, "ice", 20), p, NOW).log  # a richer field elsewhere
    log = observe(log, MinedOre(OTHER, 0, "ice", 20), p, NOW).log
    assert log.active[0].have == 0
    ch = observe(log, MinedOre(HOME, 0, "ice", 5), p, NOW)
    assert ch.log.active[0].have == 5 and ch.notices[0].objective is not None
    assert ch.notices[0].objective.have == 5 and ch.notices[0].objective.need == 12
    log = observe(ch.log, MinedOre(HOME, 0, "ice", 9), p, NOW).log
    assert log.active[0].step == 1
    ch = observe(log, DockedAt(HOME, 0), pilot(cargo={"ice": 14}, cargo_free=6), NOW + 50)
    (done,) = ch.requests
    assert done.moves[0].qty == 12 and done.credits_to("player:7") == quota.reward
    assert ch.notices[0].event == "completed"


def test_a_bounty_pays_its_killer_and_is_void_when_someone_else_kills() -> None:
    bounty = contract(
        "bounty", Goal("kill", Marker("ship", OTHER, 55), "destroy", target=55, clone=9)
    )
    log = accept(MissionLog(), bounty, pilot(docked_at=None), Reputation(), NOW).log
    assert log.watched_ships() == {55}
    assert not observe(log, Killed(OTHER, 56, 10), pilot(), NOW).requests
    ch = observe(log, Killed(OTHER, 55, 9, "pirate"), pilot(), NOW)
    assert ch.notices[0].event == "completed" and ch.earned == bounty.reward
    ch = observe(log, WatchedLost(55), pilot(), NOW)
    assert ch.notices[0].event == "void" and not ch.requests and not ch.reputation


def test_an_escort_needs_presence_along_the_way_and_at_arrival() -> None:
    escort = contract("escort", Goal("escort", station(OTHER, 1), "escort", target=77))
    start = accept(MissionLog(), escort, pilot(docked_at=None), Reputation(), NOW).log

    def fly(distances: list[float], arrival: float) -> str:
        log = start
        for d in distances:
            log = observe(log, Near(77, HOME, d), pilot(docked_at=None), NOW).log
        ch = observe(log, WatchedDocked(77, OTHER, 1, arrival), pilot(docked_at=None), NOW)
        return ch.notices[0].event

    assert fly([500, 800, 1500, 3000], 900) == "completed"  # 3 of 4 near: 75 %
    assert fly([500, 5000, 5000, 5000], 900) == "failed"  # mostly away
    assert fly([500, 800, 1500], 9000) == "failed"  # not there at the end
    # docking somewhere on the way is not the arrival
    log = observe(start, WatchedDocked(77, HOME, 0, 100), pilot(docked_at=None), NOW).log
    assert log.active and not log.active[0].seen
    assert observe(start, WatchedLost(77), pilot(), NOW).notices[0].event == "failed"


def test_a_fuel_rescue_hands_fuel_over_and_a_tow_docks_the_stranded_ship() -> None:
    rescue = contract(
        "rescue",
        Goal("rendezvous", Marker("ship", HOME, 5), "bring fuel", target=5, owner=42, fuel=20.0),
    )
    log = accept(MissionLog(), rescue, pilot(docked_at=None), Reputation(), NOW).log
    assert not observe(log, Near(5, HOME, 1000), pilot(fuel=80.0), NOW).requests  # too far
    assert not observe(log, Near(5, HOME, 100, 50.0), pilot(fuel=80.0), NOW).requests  # too fast
    blocked = observe(log, Near(5, HOME, 100, 5.0), pilot(fuel=15.0), NOW)
    assert blocked.notices[0].event == "blocked"
    ch = observe(log, Near(5, HOME, 100, 5.0), pilot(fuel=80.0), NOW)
    (r,) = ch.requests
    assert {(f.account, f.delta) for f in r.fuel} == {(7, -20.0), (42, 20.0)}
    tow = contract(
        "rescue",
        Goal("rendezvous", Marker("ship", HOME, 5), "reach it", target=5, owner=42),
        Goal("tow", station(HOME, 0), "tow it", target=5, owner=42),
    )
    log = accept(MissionLog(), tow, pilot(docked_at=None), Reputation(), NOW).log
    log = observe(log, Near(5, HOME, 100, 5.0), pilot(docked_at=None), NOW).log
    assert log.active[0].step == 1 and log.watched_ships() == {5}
    ch = observe(log, DockedAt(HOME, 2), pilot(docked_at=2), NOW)
    (r,) = ch.requests
    assert r.relocate is not None and (r.relocate.account, r.relocate.station) == (42, 2)


def test_abandoning_returns_the_cargo_at_the_pickup_or_forfeits_elsewhere() -> None:
    c = delivery()
    log = accept(MissionLog(), c, pilot(sector=OTHER, docked_at=1), Reputation(), NOW).log
    at_pickup = abandon(log, c.id, pilot(sector=OTHER, docked_at=1, cargo={"food": 20}), NOW)
    (r,) = at_pickup.requests
    assert r.kind == "mission_return" and r.credits_to("player:7") == 420
    assert at_pickup.reputation == (("concord", rules.ABANDON_REP),)
    elsewhere = abandon(log, c.id, pilot(docked_at=None, cargo={"food": 20}), NOW)
    assert [r.kind for r in elsewhere.requests] == ["mission_forfeit"]
    with pytest.raises(MissionError, match="no contract"):
        abandon(MissionLog(), c.id, pilot(), NOW)


def test_the_log_survives_a_round_trip_through_json() -> None:
    import json

    c = delivery()
    log = accept(MissionLog(), c, pilot(sector=OTHER, docked_at=1), Reputation(), NOW).log
    log = dataclasses.replace(log, finished=("a", "b"), completed=2)
    again = MissionLog.from_dict(json.loads(json.dumps(log.to_dict())))
    assert again == log
    assert Contract.from_dict(c.to_dict()) == c


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.update(active="no"), "missions.active"),
        (lambda d: d["active"][0].update(step=5), "missions.active[0].step"),
        (
            lambda d: d["active"][0]["contract"].update(kind="heist"),
            "missions.active[0].contract.kind",
        ),
        (lambda d: d["active"][0]["contract"].update(reward=1), "missions.active[0].contract"),
        (
            lambda d: d["active"][0]["contract"]["goals"][0].update(kind="dance"),
            "missions.active[0].contract.goals[0].kind",
        ),
        (
            lambda d: d["active"][0]["contract"].update(funding=[["missions"]]),
            "missions.active[0].contract.funding[0]",
        ),
        (lambda d: d.update(finished=[1]), "missions.finished"),
    ],
)
def test_bad_log_data_names_the_field(mutate: object, path: str) -> None:
    log = accept(MissionLog(), delivery(), pilot(docked_at=None), Reputation(), NOW).log
    data = log.to_dict()
    mutate(data)  # type: ignore[operator]
    with pytest.raises(MissionDataError) as e:
        MissionLog.from_dict(data)
    assert e.value.path == path


def test_an_active_contract_reports_its_hud_line() -> None:
    a = Active(delivery(), NOW, NOW + 600)
    o = a.objective().to_dict()
    assert o["text"] == "load" and o["marker"]["index"] == 1
