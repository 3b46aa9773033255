"""Firing: every check of a Fire intent, beams, shells, missiles, shields and the hull."""

from __future__ import annotations

import math

import numpy as np
import pytest

from callister.protocol.errors import ErrorCode
from callister.protocol.intents import Fire, Input
from callister.sim import (
    FIRING,
    KIND_MISSILE,
    KIND_PROJECTILE,
    KIND_SHIP,
    SHIELD_HIT,
    Fired,
    Hit,
    Refused,
    ZoneRules,
)
from callister.sim.rules import FALLOFF_FLOOR, SHIELD_DELAY_S

from ._support import (
    CANNON,
    HEAVY,
    INTERCEPTOR,
    LASER,
    MISSILE,
    SHUTTLE,
    armed_zone,
    duel,
    fire,
    of_type,
    rock,
    run,
    ship,
)


def refusal(events: list[object]) -> Refused:
    [r] = of_type(events, Refused)
    return r


def test_laser_hits_its_target_and_the_shield_absorbs_it() -> None:
    z = duel(300.0)
    events = fire(z, 1, 0, 2)
    [fired] = of_type(events, Fired)
    [hit] = of_type(events, Hit)
    assert (fired.ship, fired.slot, fired.weapon, fired.target, fired.hit, fired.shot) == (
        1, 0, "laser", 2, True, 0,
    )  # fmt: skip
    assert (fired.tx, fired.ty) == (300.0, 3000.0)
    assert (hit.ship, hit.owner, hit.by, hit.by_owner, hit.weapon) == (2, 2, 1, 1, "laser")
    assert hit.shield_damage == pytest.approx(LASER.damage) and hit.hull_damage == 0.0
    v = z.vitals(2)
    assert v.shield == pytest.approx(SHUTTLE.shield - LASER.damage)
    assert v.hull_hp == SHUTTLE.hull
    shooter = z.vitals(1)
    regen = SHUTTLE.energy_regen / 20
    assert shooter.energy == pytest.approx(SHUTTLE.energy - LASER.energy + regen, abs=1e-4)
    assert shooter.cooldowns[0] == pytest.approx(LASER.cooldown)  # ticks until it may fire
    assert z.store.flags[z.store.row(1)] & FIRING
    assert z.store.flags[z.store.row(2)] & SHIELD_HIT
    z.step()  # the per-tick flags last one tick
    assert not z.store.flags[z.store.row(1)] & FIRING
    assert not z.store.flags[z.store.row(2)] & SHIELD_HIT


def test_shield_absorbs_first_then_the_hull_takes_the_rest() -> None:
    z = armed_zone(ZoneRules(damage_multiplier=7.0))  # 56 per beam
    ship(z, 1, 0.0)
    ship(z, 2, 300.0, shield=20.0)
    [hit] = of_type(fire(z, 1, 0, 2), Hit)
    assert hit.shield_damage == pytest.approx(20.0)
    assert hit.hull_damage == pytest.approx(56.0 - 20.0)
    v = z.vitals(2)
    assert v.shield == 0.0 and v.hull_hp == pytest.approx(SHUTTLE.hull - 36.0)


def test_second_shot_inside_the_cooldown_is_refused_as_evidence() -> None:
    z = duel(300.0)
    z.submit(Fire(1, 1, 0, 2))
    z.submit(Fire(1, 1, 0, 2))  # same tick
    events = z.step()
    assert len(of_type(events, Fired)) == 1
    r = refusal(events)
    assert (r.code, r.evidence, r.action) == (ErrorCode.COOLDOWN, True, "fire")
    ticks = math.ceil(LASER.cooldown * 20)
    run(z, ticks - 2)
    assert refusal(fire(z, 1, 0, 2)).code == ErrorCode.COOLDOWN  # one tick early
    assert of_type(fire(z, 1, 0, 2), Fired)  # cooled down


def test_range_is_measured_to_the_targets_hull() -> None:
    z = duel(LASER.range + SHUTTLE.radius + 5.0)
    r = refusal(fire(z, 1, 0, 2))
    assert (r.code, r.evidence) == (ErrorCode.OUT_OF_RANGE, True)
    assert z.vitals(1).energy == SHUTTLE.energy  # a refused shot costs nothing
    ship(z, 3, LASER.range + SHUTTLE.radius - 5.0, y=3100.0)
    z.store.y[z.store.row(3)] = 3000.0  # (added off-line, moved onto the line of fire)
    [hit] = of_type(fire(z, 1, 0, 3), Hit)
    factor = FALLOFF_FLOOR + (1 - FALLOFF_FLOOR) * 5.0 / (LASER.range * (1 - LASER.falloff))
    assert hit.shield_damage == pytest.approx(LASER.damage * factor, rel=1e-4)


@pytest.mark.parametrize(
    ("reach", "factor"),
    [
        (100.0, 1.0),
        (LASER.falloff * LASER.range, 1.0),
        (0.75 * LASER.range, 1.0 - (1 - FALLOFF_FLOOR) * 0.5),
        (LASER.range - 1.0, FALLOFF_FLOOR + (1 - FALLOFF_FLOOR) / 500),
    ],
)
def test_beam_damage_falls_off_with_distance(reach: float, factor: float) -> None:
    z = duel(reach + SHUTTLE.radius)
    [hit] = of_type(fire(z, 1, 0, 2), Hit)
    assert hit.shield_damage == pytest.approx(LASER.damage * factor, rel=1e-3)


def test_a_rock_in_the_way_blocks_the_line_of_fire() -> None:
    z = armed_zone(rocks=(rock(400.0, 3000.0, 40.0),))
    ship(z, 1, 0.0)
    ship(z, 2, 800.0)
    r = refusal(fire(z, 1, 0, 2))
    assert (r.code, r.evidence) == (ErrorCode.NO_LINE_OF_FIRE, True)
    # the star blocks too; a target beside the rock does not
    ship(z, 3, 800.0, y=3200.0)
    assert of_type(fire(z, 1, 0, 3), Hit)


def test_the_star_blocks_the_line_of_fire() -> None:
    z = armed_zone()
    ship(z, 1, -800.0, y=0.0)
    ship(z, 2, 800.0, y=0.0, hull=INTERCEPTOR)
    assert refusal(fire(z, 1, 1, 2)).code == ErrorCode.NO_LINE_OF_FIRE  # cannon: 1600 m


def test_an_empty_magazine_is_refused() -> None:
    z = armed_zone()
    ship(z, 1, 0.0, ammo=(0, 0))
    ship(z, 2, 300.0)
    r = refusal(fire(z, 1, 1, 2))
    assert (r.code, r.evidence) == (ErrorCode.NO_AMMO, True)
    z.set_vitals(1, ammo=(0, 1))
    assert of_type(fire(z, 1, 1, 2), Fired)
    assert z.vitals(1).ammo == (0, 0)


def test_not_enough_energy_is_refused_but_not_evidence() -> None:
    z = armed_zone()
    ship(z, 1, 0.0, energy=LASER.energy - 1.0)
    ship(z, 2, 300.0)
    r = refusal(fire(z, 1, 0, 2))
    assert (r.code, r.evidence) == (ErrorCode.NO_ENERGY, False)


def test_a_fixed_weapon_fires_only_within_its_arc() -> None:
    z = armed_zone()
    ship(z, 1, 0.0, hull=INTERCEPTOR, weapons=("heavy_laser",))
    off = math.radians(HEAVY.arc) + 0.05
    ship(z, 2, 500.0 * math.cos(off), y=3000.0 + 500.0 * math.sin(off))
    r = refusal(fire(z, 1, 0, 2))
    assert (r.code, r.evidence) == (ErrorCode.OUT_OF_RANGE, True) and "arc" in r.reason
    inside = math.radians(HEAVY.arc) - 0.05
    ship(z, 3, 500.0 * math.cos(inside), y=3000.0 - 500.0 * math.sin(inside))
    assert of_type(fire(z, 1, 0, 3), Hit)
    # the turret laser fires behind
    ship(z, 4, -400.0)
    ship(z, 5, 400.0, y=2900.0)
    assert of_type(fire(z, 5, 0, 4), Hit)


@pytest.mark.parametrize(
    ("slot", "target", "code", "evidence"),
    [
        (5, 2, ErrorCode.BAD_SLOT, True),
        (-1, 2, ErrorCode.BAD_SLOT, True),
        (0, 999, ErrorCode.NO_TARGET, False),
        (0, 1, ErrorCode.NO_TARGET, False),  # itself
        (0, -7, ErrorCode.NO_TARGET, False),  # garbage
    ],
)
def test_bad_slots_and_targets(slot: int, target: int, code: ErrorCode, evidence: bool) -> None:
    z = duel(300.0)
    r = refusal(fire(z, 1, slot, target))
    assert (r.code, r.evidence) == (code, evidence)


def test_empty_slot_is_a_bad_slot_and_foreign_ships_are_evidence() -> None:
    z = armed_zone()
    ship(z, 1, 0.0, weapons=("", "cannon"))
    ship(z, 2, 300.0)
    assert z.vitals(1).weapons == ("", "cannon")
    assert refusal(fire(z, 1, 0, 2)).code == ErrorCode.BAD_SLOT
    r = refusal(fire(z, 2, 0, 1, actor=1))
    assert (r.code, r.evidence) == (ErrorCode.NOT_YOUR_SHIP, True)
    z.submit(Fire(1, 77, 0, 1))
    r = refusal(z.step())
    assert (r.code, r.evidence) == (ErrorCode.UNKNOWN_SHIP, False)


def test_docked_ships_cannot_fire_or_be_hit() -> None:
    z = armed_zone()
    ship(z, 1, 0.0, docked_at=0)
    ship(z, 2, 4700.0, y=0.0)
    assert refusal(fire(z, 1, 0, 2)).code == ErrorCode.DOCKED
    assert refusal(fire(z, 2, 0, 1)).code == ErrorCode.NO_TARGET
    # a beam straight ahead passes the docked ship (at the station: its body blocks instead)
    z2 = armed_zone(stations=())
    ship(z2, 1, 0.0)
    ship(z2, 2, 300.0)
    z2.store.flags[z2.store.row(2)] |= 1  # docked (test set-up)
    [fired] = of_type(fire(z2, 1, 0), Fired)
    assert not fired.hit and fired.tx == pytest.approx(LASER.range)


def test_straight_ahead_beam_hits_the_first_ship_and_stops_at_rocks() -> None:
    z = armed_zone(rocks=(rock(900.0, 3000.0, 30.0),))
    ship(z, 1, 0.0)
    ship(z, 3, 600.0)
    ship(z, 2, 400.0)
    ship(z, 4, 950.0, y=2700.0)
    events = fire(z, 1, 0)
    [fired] = of_type(events, Fired)
    [hit] = of_type(events, Hit)
    assert hit.ship == 2 and fired.hit and fired.target == 0
    assert fired.tx == pytest.approx(400.0 - SHUTTLE.radius, abs=1e-3)
    z.remove_ship(2)
    z.remove_ship(3)
    run(z, 10)
    [fired] = of_type(fire(z, 1, 0), Fired)
    assert not fired.hit and fired.tx == pytest.approx(870.0, abs=1e-3)  # the rock's surface


def test_cannon_shell_flies_and_hits() -> None:
    z = duel(500.0)
    events = fire(z, 1, 1, 2)
    [fired] = of_type(events, Fired)
    assert fired.shot in z.store and z.entity_kind(fired.shot) == KIND_PROJECTILE
    assert not of_type(events, Hit) and z.vitals(1).ammo == (0, CANNON.ammo - 1)
    hits: list[Hit] = []
    for _ in range(20):
        hits += of_type(z.step(), Hit)
    assert [(h.ship, h.by, h.weapon) for h in hits] == [(2, 1, "cannon")]
    assert hits[0].shield_damage == pytest.approx(CANNON.damage)
    assert fired.shot not in z.store and z.store.was_removed(fired.shot)


def test_shells_lead_a_moving_target() -> None:
    z = duel(800.0, vy=150.0)
    [fired] = of_type(fire(z, 1, 1, 2), Fired)
    assert fired.ty > 3000.0
    hits = of_type(run(z, 30), Hit)
    assert [h.ship for h in hits] == [2]


def test_shells_stop_at_rocks_and_expire() -> None:
    z = armed_zone(rocks=(rock(400.0, 3000.0, 30.0),))
    ship(z, 1, 0.0)
    ship(z, 2, 800.0)
    [fired] = of_type(fire(z, 1, 1), Fired)  # straight ahead: no line-of-fire check
    assert z.entity_kind(fired.shot) == KIND_PROJECTILE
    events = run(z, 20)
    assert not of_type(events, Hit) and fired.shot not in z.store
    assert z.vitals(2).shield == SHUTTLE.shield
    # nothing in the way: a shell fired into empty space expires after range / speed
    z2 = armed_zone()
    ship(z2, 1, 0.0)
    [fired] = of_type(fire(z2, 1, 1), Fired)
    life = math.ceil(CANNON.range / CANNON.speed * 20)
    run(z2, life - 2)
    assert fired.shot in z2.store
    run(z2, 2)
    assert fired.shot not in z2.store and z2.entity_count == 1


def test_missile_needs_a_target_homes_and_hits() -> None:
    z = armed_zone()
    z.add_ship(1, 1, INTERCEPTOR, x=0.0, y=3000.0, angle=0.0)  # heavy laser, cannon, missile
    ship(z, 2, 1200.0, y=3900.0, vx=-40.0, vy=60.0)  # 37 deg off the nose, crossing
    assert refusal(fire(z, 1, 2)).code == ErrorCode.NO_TARGET
    events = fire(z, 1, 2, 2)
    [fired] = of_type(events, Fired)
    assert z.entity_kind(fired.shot) == KIND_MISSILE and fired.tx == pytest.approx(1198.0)
    assert z.vitals(1).ammo[2] == MISSILE.ammo - 1
    row = z.store.row(fired.shot)
    start = float(z.store.angle[row])
    hits: list[Hit] = []
    turned = False
    for _ in range(200):
        events = z.step()
        if fired.shot in z.store:
            turned |= abs(float(z.store.angle[z.store.row(fired.shot)]) - start) > 0.3
        hits += of_type(events, Hit)
        if hits:
            break
    assert turned, "the missile never turned towards its target"
    assert [(h.ship, h.weapon) for h in hits] == [(2, "missile")]
    assert hits[0].shield_damage + hits[0].hull_damage == pytest.approx(MISSILE.damage)
    assert fired.shot not in z.store


def test_a_missile_whose_target_leaves_flies_on_and_burns_out() -> None:
    z = armed_zone()
    z.add_ship(1, 1, INTERCEPTOR, x=0.0, y=3000.0)
    ship(z, 2, 2000.0)
    [fired] = of_type(fire(z, 1, 2, 2), Fired)
    z.remove_ship(2)
    life = math.ceil(MISSILE.range / MISSILE.speed * 1.5 * 20)
    run(z, life - 2)
    assert fired.shot in z.store
    run(z, 3)
    assert fired.shot not in z.store


def test_an_empty_id_pool_refuses_shells_but_not_beams() -> None:
    z = armed_zone(ids=None)
    ship(z, 1, 0.0)
    ship(z, 2, 300.0)
    r = refusal(fire(z, 1, 1, 2))
    assert r.code == ErrorCode.INTERNAL and not r.evidence
    assert z.vitals(1).ammo[1] == CANNON.ammo  # nothing spent
    run(z, 10)
    assert of_type(fire(z, 1, 0, 2), Hit)
    z.grant_ids(range(500, 502))
    assert z.ids_left == 2
    [fired] = of_type(fire(z, 1, 1, 2), Fired)
    assert fired.shot == 500 and z.ids_left == 1


def test_shield_regenerates_only_after_the_delay_and_costs_energy() -> None:
    z = duel(300.0, energy=10.0)
    fire(z, 1, 0, 2)
    hurt = z.vitals(2).shield
    delay = round(SHIELD_DELAY_S * 20)
    run(z, delay - 2)
    assert z.vitals(2).shield == hurt
    energy_before = z.vitals(2).energy
    run(z, 3)
    v = z.vitals(2)
    assert v.shield > hurt
    regen = SHUTTLE.energy_regen / 20
    gained = v.shield - hurt
    assert v.energy == pytest.approx(energy_before + 3 * regen - gained, abs=1e-3)
    # no energy: no shield regeneration
    z.set_vitals(2, energy=0.0)
    z.store.energy_regen[z.store.row(2)] = 0.0
    before = z.vitals(2).shield
    run(z, 5)
    assert z.vitals(2).shield == before


def test_energy_regenerates_to_its_maximum() -> None:
    z = armed_zone()
    ship(z, 1, 0.0, energy=0.0)
    run(z, 20)
    assert z.vitals(1).energy == pytest.approx(SHUTTLE.energy_regen, abs=1e-3)
    run(z, 20 * 60)
    assert z.vitals(1).energy == SHUTTLE.energy


def test_pvp_off_protects_players_but_not_npcs() -> None:
    z = armed_zone(ZoneRules(pvp=False))
    ship(z, 1, 0.0)
    ship(z, 2, 300.0)
    ship(z, 3, -300.0, owner=0)  # an NPC
    ship(z, 4, 0.0, y=3300.0, owner=-9)  # another NPC
    r = refusal(fire(z, 1, 0, 2))
    assert (r.code, r.evidence) == (ErrorCode.PVP_OFF, False)
    assert of_type(fire(z, 1, 0, 3), Hit)  # players may shoot NPCs
    assert of_type(fire(z, 3, 0, 1), Hit)  # and NPCs players
    # a shell fired straight ahead passes through another player's ship, then hits an NPC
    run(z, 20)
    z.store.x[z.store.row(4)] = 700.0
    z.store.y[z.store.row(4)] = 3000.0
    fire(z, 1, 1)
    hits = of_type(run(z, 30), Hit)
    assert [h.ship for h in hits] == [4]
    assert z.vitals(2).shield == SHUTTLE.shield  # the other player was never touched


def test_frame_carries_every_kind() -> None:
    z = duel(900.0)
    [fired] = of_type(fire(z, 1, 1, 2), Fired)
    f = z.frame()
    kinds = dict(zip(f.ids.tolist(), f.kind.tolist(), strict=True))
    assert kinds == {1: KIND_SHIP, 2: KIND_SHIP, fired.shot: KIND_PROJECTILE}
    assert f.hull[f.row_of(fired.shot)] == 0
    assert z.ship_count == 2 and z.entity_count == 3
    assert z.ships_within(450.0, 3000.0, 600.0).tolist() == [1, 2]


def test_beam_ignores_input_garbage_slots() -> None:
    z = duel(300.0)
    z.submit(Fire(1, 1, "0", 2))  # type: ignore[arg-type]
    z.submit(Fire(1, 1, 2**70, 2))
    z.submit(Input(1, 1, np.nan, 0.0))
    events = z.step()
    assert [r.code for r in of_type(events, Refused)] == [ErrorCode.BAD_SLOT] * 2
