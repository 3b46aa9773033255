from __future__ import annotations

import itertools

import pytest

from callister.missions import rules
from callister.missions.errors import MissionDataError
from callister.missions.reputation import (
    RANKS,
    Reputation,
    crime_changes,
    hull_rank,
    kill_changes,
    rank_named,
    rank_of,
    terms,
)

from ._support import content, lawful


def test_ranks_cover_the_whole_range_in_order() -> None:
    floors = [r.floor for r in RANKS]
    assert floors == sorted(floors) and floors[0] == rules.REP_MIN
    for value in range(rules.REP_MIN, rules.REP_MAX + 1):
        rank = rank_of(value)
        assert rank.floor <= value
        above = [r for r in RANKS if r.floor > rank.floor]
        assert not above or value < above[0].floor
    assert (
        rank_of(0).key == "neutral" and rank_of(10).key == "known" and rank_of(9).key == "neutral"
    )
    # better rank, never worse terms; the market's buy markup never drops to the sell markdown
    for lower, higher in itertools.pairwise(RANKS):
        assert higher.max_tier >= lower.max_tier
        assert higher.price_factor <= lower.price_factor
        assert higher.buy_markup <= lower.buy_markup
    assert all(r.buy_markup > 0.95 for r in RANKS)


def test_adjust_clamps_and_round_trips() -> None:
    rep = Reputation().adjust(
        [("concord", 70), ("concord", 70), ("ashen", -5), ("free_traders", 3)]
    )
    assert rep.get("concord") == rules.REP_MAX
    assert rep.get("nobody") == 0
    assert rep.adjust([("ashen", 5)]).to_dict() == {"concord": 100, "free_traders": 3}
    assert Reputation.from_dict(rep.to_dict()) == rep
    low = Reputation().adjust([("concord", -500)])
    assert low.get("concord") == rules.REP_MIN and low.rank("concord").key == "hostile"


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ([], "reputation"),
        ({"concord": "high"}, "reputation.concord"),
        ({"concord": 101}, "reputation.concord"),
    ],
)
def test_bad_reputation_data_names_the_field(data: object, path: str) -> None:
    with pytest.raises(MissionDataError) as e:
        Reputation.from_dict(data)
    assert e.value.path == path


def test_crimes_anger_the_faction_and_its_lawful_peers() -> None:
    changes = dict(crime_changes("concord", lawful()))
    assert changes == {"concord": rules.CRIME_REP, "free_traders": rules.CRIME_SPILL_REP}
    # a crime at an independent station still counts with the lawful factions
    assert dict(crime_changes("independent", lawful()))["concord"] == rules.CRIME_SPILL_REP


def test_kills_of_pirates_please_the_lawful_and_kills_of_innocents_cost() -> None:
    assert dict(kill_changes("pirate", "ashen", True, lawful())) == {
        "concord": rules.KILL_PIRATE_REP,
        "free_traders": rules.KILL_PIRATE_REP,
    }
    assert kill_changes("patrol", "concord", False, lawful()) == (
        ("concord", rules.KILL_FACTION_REP),
    )
    assert kill_changes("player", "", False, lawful()) == ()


def test_shipyards_of_lawful_factions_ask_rank_for_big_hulls() -> None:
    hulls = content().hulls
    assert hull_rank(hulls["hauler"].price, lawful=True).key == "known"
    assert hull_rank(hulls["shuttle"].price, lawful=True).key == "neutral"
    assert hull_rank(200_000, lawful=True).key == "trusted"
    assert hull_rank(200_000, lawful=False) == RANKS[0]
    newbie = terms(Reputation(), "concord")
    assert not newbie.may_buy_hull(hulls["hauler"].price, lawful=True)
    assert newbie.may_buy_hull(hulls["hauler"].price, lawful=False)
    known = terms(Reputation().adjust([("concord", 10)]), "concord")
    assert known.may_buy_hull(hulls["hauler"].price, lawful=True)
    assert known.price_factor < 1 and known.to_dict()["rank"] == "known"
    hostile = terms(Reputation().adjust([("concord", -100)]), "concord")
    assert not hostile.services and not hostile.may_buy_hull(1, lawful=False)
    assert hostile.max_tier == -1


def test_rank_named_refuses_unknown_keys() -> None:
    assert rank_named("trusted").floor == 30
    with pytest.raises(ValueError, match="no rank"):
        rank_named("emperor")
