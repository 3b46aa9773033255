"""Fuel (thrust, brake, jumps, an empty tank) and the vitals API (add_ship, set_vitals, vitals)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from callister.protocol.errors import ErrorCode
from callister.protocol.intents import Input, Jump
from callister.sim import NO_FUEL, THRUSTING, FuelEmpty, JumpCharging, Refused, ZoneRules

from ._support import HAULER, INTERCEPTOR, OWNER, SHUTTLE, armed_zone, of_type, run, zone


def speed(z, ship: int) -> float:  # type: ignore[no-untyped-def]
    s = z.ship_state(ship)
    return math.hypot(s.vx, s.vy)


def test_thrust_burns_fuel_in_proportion() -> None:
    z = zone()
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=3000.0)
    z.submit(Input(OWNER, 1, 0.5, 0.0))
    run(z, 20)
    assert z.vitals(1).fuel == pytest.approx(SHUTTLE.fuel - 0.5 * SHUTTLE.fuel_burn, abs=1e-4)


def test_braking_burns_at_the_full_rate_and_the_multiplier_scales_it() -> None:
    z = armed_zone(ZoneRules(fuel_multiplier=2.0))
    z.add_ship(1, OWNER, HAULER, x=0.0, y=3000.0, vx=100.0)
    z.add_ship(2, OWNER, HAULER, x=0.0, y=-3000.0)  # at rest: holding the brake costs nothing
    z.submit(Input(OWNER, 1, 0.0, 0.0, brake=True))
    z.submit(Input(OWNER, 2, 0.0, 0.0, brake=True))
    run(z, 10)
    assert z.vitals(1).fuel == pytest.approx(HAULER.fuel - 2.0 * HAULER.fuel_burn * 0.5, abs=1e-4)
    assert z.vitals(2).fuel == HAULER.fuel


def test_an_empty_tank_drifts_turns_and_reports_once() -> None:
    z = zone()
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=3000.0, fuel=0.1)
    z.submit(Input(OWNER, 1, 1.0, 0.5))
    events = run(z, 3)
    assert of_type(events, FuelEmpty) == [FuelEmpty(1, OWNER)]
    flags = z.store.flags[z.store.row(1)]
    assert flags & NO_FUEL and not flags & THRUSTING
    v = speed(z, 1)
    angle = z.ship_state(1).angle
    events = run(z, 20)
    assert not of_type(events, FuelEmpty)
    assert speed(z, 1) == pytest.approx(v)  # no thrust
    assert z.ship_state(1).angle != angle  # turning works
    z.submit(Input(OWNER, 1, 0.0, 0.0, brake=True))
    run(z, 20)
    assert speed(z, 1) == pytest.approx(v)  # no brake either
    assert z.vitals(1).fuel == 0.0
    z.set_vitals(1, fuel=50.0)
    assert not z.store.flags[z.store.row(1)] & NO_FUEL
    run(z, 20)
    assert speed(z, 1) < v  # brakes again


def test_a_jump_needs_fuel_and_takes_it_when_charging_starts() -> None:
    z = zone()
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=3000.0, fuel=SHUTTLE.jump_fuel - 0.5)
    z.submit(Jump(OWNER, 1, 1, 0))
    [r] = of_type(z.step(), Refused)
    assert (r.code, r.action, r.evidence) == (ErrorCode.NO_FUEL, "jump", False)
    z.set_vitals(1, fuel=SHUTTLE.jump_fuel + 3.0)
    z.submit(Jump(OWNER, 1, 1, 0))
    assert of_type(z.step(), JumpCharging)
    assert z.vitals(1).fuel == pytest.approx(3.0)
    # exactly enough: the tank runs dry with the jump
    z.add_ship(2, OWNER, SHUTTLE, x=0.0, y=-3000.0, fuel=SHUTTLE.jump_fuel)
    z.submit(Jump(OWNER, 2, 1, 0))
    events = z.step()
    assert of_type(events, JumpCharging) and of_type(events, FuelEmpty) == [FuelEmpty(2, OWNER)]


def test_jump_fuel_scales_with_the_world() -> None:
    z = armed_zone(ZoneRules(fuel_multiplier=3.0))
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=3000.0, fuel=SHUTTLE.jump_fuel * 2)
    z.submit(Jump(OWNER, 1, 1, 0))
    assert of_type(z.step(), Refused)[0].code == ErrorCode.NO_FUEL


def test_add_ship_defaults_to_full_vitals_and_the_loadout() -> None:
    z = zone()
    z.add_ship(1, OWNER, INTERCEPTOR, x=0.0, y=3000.0)
    v = z.vitals(1)
    assert (v.hull_hp, v.hull_max, v.shield, v.shield_max) == (
        INTERCEPTOR.hull, INTERCEPTOR.hull, INTERCEPTOR.shield, INTERCEPTOR.shield,
    )  # fmt: skip
    assert (v.energy, v.energy_max, v.fuel, v.fuel_max) == (
        INTERCEPTOR.energy, INTERCEPTOR.energy, INTERCEPTOR.fuel, INTERCEPTOR.fuel,
    )  # fmt: skip
    assert v.weapons == INTERCEPTOR.loadout and len(v.ammo) == len(v.cooldowns) == 3
    assert v.ammo == (0, 80, 6) and v.cooldowns == (0.0, 0.0, 0.0)
    assert (v.cargo_free, v.criminal_s, v.mining_rock) == (INTERCEPTOR.cargo, 0.0, -1)
    s = z.ship_state(1)
    assert (s.hull_hp, s.shield, s.energy, s.fuel) == (v.hull_hp, v.shield, v.energy, v.fuel)
    assert (s.weapons, s.ammo) == (v.weapons, v.ammo)


def test_add_ship_clamps_and_validates_vitals() -> None:
    z = zone()
    z.add_ship(
        1, OWNER, SHUTTLE, x=0.0, y=3000.0, hull_hp=1e6, shield=3.0, energy=1e9, fuel=2.5,
        weapons=("cannon",), ammo=(500,), cargo_free=7,
    )  # fmt: skip
    v = z.vitals(1)
    assert (v.hull_hp, v.shield, v.energy, v.fuel) == (SHUTTLE.hull, 3.0, SHUTTLE.energy, 2.5)
    assert v.weapons == ("cannon", "") and v.ammo == (80, 0) and v.cargo_free == 7
    before = z.state_hash()
    bad: list[dict[str, object]] = [
        {"hull_hp": 0.0},
        {"hull_hp": math.nan},
        {"shield": -1.0},
        {"fuel": math.inf},
        {"weapons": ("laser", "laser", "laser")},
        {"weapons": ("phaser",)},
        {"weapons": "laser"},
        {"ammo": (-1,)},
        {"ammo": (1, 2, 3, 4, 5)},
        {"cargo_free": -3},
        {"cargo_free": 1.5},
        {"hull": replace(SHUTTLE, slots=9)},
    ]
    for overrides in bad:
        kwargs: dict[str, object] = {"hull": SHUTTLE, "x": 0.0, "y": -3000.0}
        kwargs.update(overrides)
        hull = kwargs.pop("hull")
        with pytest.raises(ValueError):
            z.add_ship(2, OWNER, hull, **kwargs)  # type: ignore[arg-type]
    assert z.state_hash() == before and z.ship_count == 1


def test_set_vitals_sets_clamps_and_re_equips() -> None:
    z = zone()
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=3000.0, ammo=(0, 10))
    z.set_vitals(1, hull_hp=40.0, shield=1e6, energy=5.0, fuel=0.0, cargo_free=3)
    v = z.vitals(1)
    assert (v.hull_hp, v.shield, v.energy, v.fuel, v.cargo_free) == (
        40.0, SHUTTLE.shield, 5.0, 0.0, 3,
    )  # fmt: skip
    assert z.store.flags[z.store.row(1)] & NO_FUEL
    z.set_vitals(1, weapons=("missile",))  # slot 0 changes: a full magazine; slot 1 keeps
    assert z.vitals(1).weapons == ("missile", "cannon") and z.vitals(1).ammo == (6, 10)
    z.set_vitals(1, ammo=(2, 99))
    assert z.vitals(1).ammo == (2, 80)
    z.set_vitals(1, weapons=("", "cannon"), ammo=(0, 5))
    assert z.vitals(1).weapons == ("", "cannon") and z.vitals(1).ammo == (0, 5)
    with pytest.raises(KeyError):
        z.set_vitals(99, fuel=1.0)
    with pytest.raises(ValueError):
        z.set_vitals(1, hull_hp=-5.0)
    with pytest.raises(ValueError):
        z.set_vitals(1, weapons=("laser", "laser", "laser"))
    with pytest.raises(KeyError):
        z.vitals(99)


def test_zone_rules_are_validated() -> None:
    with pytest.raises(ValueError):
        ZoneRules(fuel_multiplier=-1.0)
    with pytest.raises(ValueError):
        ZoneRules(damage_multiplier=math.nan)
    with pytest.raises(TypeError):
        zone().__class__(zone().layout, rules="pvp")  # type: ignore[arg-type]
