from __future__ import annotations

import dataclasses
import math

import msgspec

from callister.missions import rules
from callister.missions.board import (
    Sighting,
    World,
    board,
    bucket_of,
    deadline_for,
    estimate_hull,
    offers_of,
    reward_round,
)
from callister.missions.contracts import Contract, Giver, MissionLog
from callister.missions.travel import Place, trip

from ._support import content, good_homes, world_at

T0 = 1_800_000_000 // rules.BOARD_BUCKET_S * rules.BOARD_BUCKET_S
HOME, STATION = good_homes()[0]  # (-1, 1): an Ashen home station, a link to a Concord system


def test_same_seed_station_and_bucket_give_the_same_board_ids_included() -> None:
    a = board(world_at(HOME, T0), HOME, STATION)
    b = board(world_at(HOME, T0 + rules.BOARD_BUCKET_S - 1), HOME, STATION)
    assert a and [c.to_dict() for c in a] == [c.to_dict() for c in b]
    later = board(world_at(HOME, T0 + rules.BOARD_BUCKET_S), HOME, STATION)
    assert {c.id for c in later}.isdisjoint({c.id for c in a})
    assert bucket_of(T0) + 1 == bucket_of(T0 + rules.BOARD_BUCKET_S)


def test_a_board_is_bounded_keeps_work_for_every_tier_and_offers_until_the_bucket_ends() -> None:
    for sector, station in good_homes()[:8]:
        offers = board(world_at(sector, T0, homes={sector: station}), sector, station)
        assert 0 < len(offers) <= rules.BOARD_SIZE
        assert sum(c.tier == 0 for c in offers) >= min(rules.BOARD_TIER_SLOTS[0], 1)
        for c in offers:
            assert c.offered_until == T0 + rules.BOARD_BUCKET_S
            assert c.collateral <= rules.TIER_COLLATERAL[c.tier]
            assert max(g.volume for g in c.goals) <= rules.TIER_HOLD[c.tier]
            assert (
                c.duration_s == deadline_for(c.estimate_s) or c.duration_s >= rules.DEADLINE_MIN_S
            )
            assert c.reward % rules.ROUND_TO == 0 and c.reward > 0
            assert sum(a for _, a in c.funding) == c.reward


def test_a_station_short_of_an_item_asks_for_it_and_pays_for_the_urgency() -> None:
    world = world_at(HOME, T0)
    market = {m.item: m for m in world.markets[(HOME, STATION)]}
    item = next(
        i
        for i in ("water", "food", "machinery")
        if not any(
            c.kind == "delivery" and c.goals[0].item == i for c in offers_of(world, HOME, STATION)
        )
    )
    target = market[item].target
    short = world_at(HOME, T0, stocks={(HOME, STATION): {item: target // 4}})
    asked = [
        c
        for c in offers_of(short, HOME, STATION)
        if c.kind == "delivery" and c.goals[1].item == item
    ]
    assert asked, f"no delivery of {item} at 25 % stock"
    c = min(asked, key=lambda c: c.tier)
    assert "short of" in c.title
    pickup, deliver = c.goals
    assert (deliver.marker.sector, deliver.marker.index) == (HOME, STATION)
    assert pickup.qty <= target - target // 4
    # the reward, recomputed from the published formula
    src = short.systems[pickup.marker.sector].stations[pickup.marker.index]
    here = short.systems[HOME].stations[STATION]
    hull = estimate_hull(content(), c.tier)
    a, b = Place(HOME, here.x, here.y), Place(pickup.marker.sector, src.x, src.y)
    out = trip(a, b, short.systems, hull, undock=True, dock=True)
    back = trip(b, a, short.systems, hull, undock=True, dock=True)
    assert out is not None and back is not None
    estimate = out.seconds + back.seconds + rules.HANDLING_S
    mine = next(m for m in short.markets[(HOME, STATION)] if m.item == item)
    urgency = min(rules.URGENCY_MAX, mine.shortage)
    assert urgency >= 0.75
    line = next(
        m for m in short.markets[(pickup.marker.sector, pickup.marker.index)] if m.item == item
    )
    assert c.collateral == pickup.qty * line.buy
    want = rules.WAGE_PER_S[c.tier] * estimate * (1 + urgency) + rules.CARGO_SHARE * c.collateral
    assert c.reward == reward_round(want)
    assert c.estimate_s == math.ceil(estimate)


def test_a_delivery_is_listed_on_the_board_of_its_pickup_station_too() -> None:
    world = world_at(HOME, T0)
    for c in offers_of(world, HOME, STATION):
        if c.kind != "delivery":
            continue
        pickup = c.goals[0].marker
        there = world_at(pickup.sector, T0)
        if pickup.sector != HOME and HOME not in there.systems:
            continue
        source_board = offers_of(there, pickup.sector, pickup.index)
        listed = board(there, pickup.sector, pickup.index)
        assert c.id not in {o.id for o in source_board}  # not the source's own contract ...
        all_offers = {o.id for o in listed} | {
            o.id for o in _unselected(there, pickup.sector, pickup.index)
        }
        assert c.id in all_offers  # ... but shown there
        return
    raise AssertionError("no delivery at the home station")


def _unselected(world: World, sector: tuple[int, int], station: int) -> tuple[Contract, ...]:
    return board(world, sector, station, limit=1000)


def test_pirates_in_reach_get_bounties_from_stations_of_other_factions() -> None:
    here = world_at(HOME, T0).systems[HOME]
    link = here.links[0]
    pirate = Sighting(501, "pirate", link, 100.0, 200.0, "shuttle", "Vex", clone=9, faction="ashen")
    own = Sighting(
        502,
        "pirate",
        HOME,
        0.0,
        0.0,
        "shuttle",
        "Kin",
        clone=10,
        faction=here.stations[STATION].faction,
    )
    far = Sighting(503, "pirate", (50, 50), 0.0, 0.0, "shuttle", "Far", clone=11)
    world = world_at(HOME, T0, ships=(pirate, own, far))
    bounties = [c for c in offers_of(world, HOME, STATION) if c.kind == "bounty"]
    targets = {c.goals[0].target for c in bounties}
    if here.stations[STATION].faction == "ashen":
        assert targets == set()  # nobody posts a bounty on their own
        world = world_at(HOME, T0, ships=(dataclasses.replace(pirate, faction=""),))
        bounties = [c for c in offers_of(world, HOME, STATION) if c.kind == "bounty"]
        targets = {c.goals[0].target for c in bounties}
    assert targets == {501}
    (b,) = bounties
    assert b.tier == rules.BOUNTY_TIER and b.goals[0].clone == 9
    assert b.reward >= rules.BOUNTY_BASE


def test_a_trader_docked_here_and_bound_somewhere_asks_for_an_escort() -> None:
    world = world_at(HOME, T0)
    here = world.systems[HOME]
    dest = next(
        (s, st.index)
        for s in (HOME, *here.links)
        for st in world.systems[s].stations
        if (s, st.index) != (HOME, STATION)
    )
    trader = Sighting(
        600, "trader", HOME, 0.0, 0.0, "hauler", "Ona", clone=3, docked_at=STATION, bound_for=dest
    )
    elsewhere = dataclasses.replace(trader, ship=601, docked_at=None)
    world = world_at(HOME, T0, ships=(trader, elsewhere))
    escorts = [c for c in offers_of(world, HOME, STATION) if c.kind == "escort"]
    assert [c.goals[0].target for c in escorts] == [600]
    (e,) = escorts
    assert (e.goals[0].marker.sector, e.goals[0].marker.index) == dest
    assert e.reward > rules.ESCORT_BASE and e.tier == 0
    assert here.stations[STATION].name in e.giver.name


def test_rescues_in_reach_are_listed_and_taken_contracts_are_hidden() -> None:
    world = world_at(HOME, T0)
    plain = board(world, HOME, STATION)
    taken = MissionLog(finished=(plain[0].id,))
    assert plain[0].id not in {c.id for c in board(world, HOME, STATION, taken)}
    from callister.missions.rescue import RescueOffer, rescue_contract

    from ._support import pilot_at

    offer = RescueOffer("tow", 300, 300, 0, 0.0, (HOME, STATION), None, 60)
    stranded = pilot_at(HOME, None, account=42, ship=4242, credits=1000)
    giver = Giver(HOME, STATION, "concord", "x")
    rescue, _ = rescue_contract(offer, stranded, Place(HOME, 10.0, 10.0), giver, 1, T0)
    with_call = world_at(HOME, T0, rescues=(rescue,))
    assert rescue.id in {c.id for c in _unselected(with_call, HOME, STATION)}
    remote = dataclasses.replace(
        rescue,
        goals=tuple(
            dataclasses.replace(g, marker=dataclasses.replace(g.marker, sector=(90, 90)))
            for g in rescue.goals
        ),
    )
    assert rescue.id not in {
        c.id for c in _unselected(world_at(HOME, T0, rescues=(remote,)), HOME, STATION)
    }


def test_unknown_or_destroyed_stations_have_no_board() -> None:
    world = world_at(HOME, T0)
    assert board(world, HOME, 99) == ()
    assert board(world, (77, 77), 0) == ()
    system = world.systems[HOME]
    ruined = msgspec.structs.replace(
        system,
        stations=tuple(
            msgspec.structs.replace(s, destroyed=True, services=()) for s in system.stations
        ),
    )
    broken = dataclasses.replace(world, systems={**world.systems, HOME: ruined})
    assert board(broken, HOME, STATION) == ()
    assert offers_of(broken, HOME, STATION) == ()


def test_a_pickup_listed_here_is_the_same_contract_as_on_its_givers_own_board() -> None:
    checked = 0
    for sector, station in good_homes():
        world = world_at(sector, T0)
        for c in _unselected(world, sector, station):
            if c.kind == "delivery" and c.giver.sector != sector:
                theirs = offers_of(world_at(c.giver.sector, T0), c.giver.sector, c.giver.station)
                assert c in theirs
                checked += 1
    assert checked, "no delivery picked up at a home for a giver next door"
