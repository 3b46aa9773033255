"""The boarding rule (sim/boarding.py) and the shared ship's station checks and power split
(sim/actions.py) — pure, no server."""

from __future__ import annotations

import math

import pytest

from callister.protocol.errors import ErrorCode
from callister.protocol.intents import Fire, Input, Mine, Power
from callister.sim import Refused, Zone
from callister.sim.actions import power_factors
from callister.sim.boarding import (
    BOARD_MAX_SPEED,
    BOARD_RANGE,
    DEFENDER_BONUS,
    ROLL_SPREAD,
    Boarder,
    Party,
    eligibility,
    resolve,
    roll,
    strength,
)

from ._support import POOL, SHUTTLE, layout

CAPTAIN, PILOT, GUNNER, ENGINEER = 7, 8, 9, 10


def crew(*skills: float) -> tuple[Boarder, ...]:
    return tuple(Boarder(i + 1, "clone", s) for i, s in enumerate(skills))


# -- the fight --------------------------------------------------------------------------------


def test_strength_counts_members_skills_and_weapons() -> None:
    assert strength(Party(1, crew(0.0))) == 1.0
    assert strength(Party(1, crew(1.0, 0.5))) == 3.5
    assert strength(Party(1, (Boarder(1, "human"),))) == 1.5  # a human counts skill 0.5
    assert strength(Party(1, crew(0.0), weapons=2)) == pytest.approx(1.2)
    assert strength(Party(1, ())) == 0.0
    assert strength(Party(1, crew(7.0))) == 2.0  # skills are clamped to 0..1


def test_roll_is_seeded_and_bounded() -> None:
    values = {roll(t, 11, 22, "attack") for t in range(500)}
    assert all(1 - ROLL_SPREAD <= v <= 1 + ROLL_SPREAD for v in values)
    assert len(values) == 500  # different ticks, different rolls
    assert roll(42, 11, 22, "attack") == roll(42, 11, 22, "attack")
    assert roll(42, 11, 22, "attack") != roll(42, 11, 22, "defence")


def test_resolve_is_deterministic_and_follows_the_rule() -> None:
    a = Party(100, crew(0.9, 0.9, 0.9, 0.9), weapons=3)
    d = Party(200, crew(0.1))
    first = resolve(a, d, 1234)
    assert first == resolve(a, d, 1234)
    assert first.attack == pytest.approx(strength(a) * first.attack_roll)
    assert first.defence == pytest.approx(strength(d) * DEFENDER_BONUS * first.defence_roll)
    assert first.attacker_won == (first.attack > first.defence)


def test_a_much_bigger_crew_always_wins_and_an_empty_one_never_does() -> None:
    big = Party(1, crew(1.0, 1.0, 1.0, 1.0, 1.0), weapons=4)
    small = Party(2, crew(0.0))
    assert all(resolve(big, small, t).attacker_won for t in range(200))
    assert not any(resolve(Party(1, ()), small, t).attacker_won for t in range(200))
    # an undefended ship falls to anyone aboard
    assert all(resolve(small, Party(2, ()), t).attacker_won for t in range(200))


def test_even_crews_the_defender_usually_holds() -> None:
    even = [resolve(Party(1, crew(0.5)), Party(2, crew(0.5)), t).attacker_won for t in range(400)]
    assert 0 < sum(even) < 200  # the roll matters, but the defenders' decks favour them


def test_eligibility() -> None:
    assert eligibility(10.0, 1.0, 0.0, False) is None
    assert "m away" in (eligibility(BOARD_RANGE + 1, 1.0, 0.0, False) or "")
    assert "m/s" in (eligibility(10.0, BOARD_MAX_SPEED, 0.0, False) or "")
    assert "shields" in (eligibility(10.0, 1.0, 3.0, False) or "")
    assert "docked" in (eligibility(10.0, 1.0, 0.0, True) or "")


# -- stations on a shared ship ----------------------------------------------------------------


def shared_zone() -> Zone:
    z = Zone(layout())
    z.grant_ids(POOL)
    z.add_ship(1, CAPTAIN, SHUTTLE, x=0.0, y=2000.0)
    z.add_ship(2, 99, SHUTTLE, x=300.0, y=2000.0)
    for member in (PILOT, GUNNER, ENGINEER):
        z.set_crew(member, 1)
    z.set_stations(1, [("pilot", PILOT), ("gunner", GUNNER), ("engineer", ENGINEER)])
    return z


def refusals(events: list[object]) -> list[Refused]:
    return [e for e in events if isinstance(e, Refused)]


def test_each_intent_is_taken_only_from_its_station() -> None:
    z = shared_zone()
    z.submit(Input(GUNNER, 1, 1.0, 0.0))  # the gunner may not fly
    z.submit(Input(CAPTAIN, 1, 1.0, 0.0))  # nor may the captain: the pilot seat is taken
    z.submit(Power(PILOT, 1, 1.0, 0.0, 0.0))  # the pilot may not move power
    z.submit(Fire(ENGINEER, 1, 0, 2))  # the engineer may not shoot
    out = refusals(z.step())
    assert [(r.actor, r.action, r.code) for r in out] == [
        (GUNNER, "input", ErrorCode.NOT_YOUR_STATION),
        (CAPTAIN, "input", ErrorCode.NOT_YOUR_STATION),
        (PILOT, "power", ErrorCode.NOT_YOUR_STATION),
        (ENGINEER, "fire", ErrorCode.NOT_YOUR_STATION),
    ]
    assert not any(r.evidence for r in out)
    row = z.store.row(1)
    assert z.store.thrust.item(row) == 0.0
    assert z.power_of(1) == (1.0, 1.0, 1.0)


def test_the_holders_intents_take_effect() -> None:
    z = shared_zone()
    row = z.store.row(1)
    accel = z.store.accel.item(row)
    z.submit(Input(PILOT, 1, 1.0, 0.0))
    z.submit(Power(ENGINEER, 1, 1.0, 0.0, 0.0))
    z.submit(Fire(GUNNER, 1, 0, 2))
    events = z.step()
    assert not refusals(events), events
    assert z.store.thrust.item(row) == 1.0
    assert z.power_of(1) == pytest.approx((2.0, 0.5, 0.5))
    assert z.store.accel.item(row) == pytest.approx(accel * 2.0, rel=1e-5)
    assert any(type(e).__name__ == "Fired" for e in events)


def test_an_empty_station_is_the_owners_and_strangers_are_still_refused() -> None:
    z = shared_zone()
    z.submit(Mine(CAPTAIN, 1, -1))  # nobody holds the miner's station: the captain may
    z.submit(Mine(PILOT, 1, -1))
    z.submit(Input(4242, 1, 1.0, 0.0))  # not aboard at all
    out = refusals(z.step())
    assert [(r.actor, r.code) for r in out] == [
        (PILOT, ErrorCode.NOT_YOUR_STATION),
        (4242, ErrorCode.NOT_YOUR_SHIP),
    ]
    z.set_stations(1, None)  # an ordinary ship again: any crew member may act as before
    z.submit(Input(GUNNER, 1, 0.5, 0.0))
    assert not refusals(z.step())


def test_power_factors_and_shields_survive_retuning() -> None:
    assert power_factors(1, 1, 1) == pytest.approx((1.0, 1.0, 1.0))
    assert power_factors(0, 0, 0) == pytest.approx((1.0, 1.0, 1.0))
    assert power_factors(0, 0, 1) == pytest.approx((0.5, 0.5, 2.0))
    assert power_factors(math.nan, 5, -1) == pytest.approx((0.5, 2.0, 0.5))
    z = shared_zone()
    z.submit(Power(ENGINEER, 1, 0.0, 0.0, 1.0))
    z.step()
    z.tune_ship(1, shield_regen=4.0)  # the crew's skills retune: the power split stays
    assert z.store.shield_regen.item(z.store.row(1)) == pytest.approx(8.0)
    z.submit(Power(ENGINEER, 1, 1.0, 1.0, 1.0))  # back to even: rates return
    z.step()
    assert z.store.shield_regen.item(z.store.row(1)) == pytest.approx(4.0)


def test_stations_and_power_survive_a_checkpoint() -> None:
    z = shared_zone()
    z.submit(Power(ENGINEER, 1, 0.2, 0.2, 0.6))
    z.step()
    copy = Zone.from_checkpoint(layout(), z.checkpoint())
    assert copy.stations_of(1) == z.stations_of(1)
    assert copy.power_of(1) == pytest.approx(z.power_of(1))
    assert copy.state_hash() == z.state_hash()
