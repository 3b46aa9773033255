"""Destruction, wrecks, looting, and the law (crime flags, station defences)."""

from __future__ import annotations

import math

import pytest

from callister.protocol.errors import ErrorCode
from callister.protocol.intents import Dock, Fire, Input, Jump, Loot
from callister.sim import (
    CRIMINAL,
    KIND_WRECK,
    CrimeCommitted,
    Destroyed,
    Hit,
    LootReached,
    Refused,
    StationSpec,
    WreckExpired,
    ZoneRules,
)
from callister.sim.rules import (
    CRIME_S,
    DEFENCE_DPS,
    LOOT_RANGE,
    WRECK_TTL_TICKS,
)

from ._support import OWNER, SHUTTLE, armed_zone, fire, of_type, run, ship

DEADLY = ZoneRules(damage_multiplier=100.0)
LAWFUL = StationSpec(index=1, x=5000.0, y=3000.0, radius=100.0, dock_radius=300.0, lawful=True)


def test_destroyed_ship_leaves_a_wreck_and_its_id_is_retired() -> None:
    z = armed_zone(DEADLY)
    ship(z, 1, 0.0)
    ship(z, 2, 300.0, vx=40.0, vy=-20.0)
    z.submit(Jump(2, 2, 1, 0))  # a charging jump does not save it
    z.step()
    events = fire(z, 1, 0, 2)
    [hit] = of_type(events, Hit)
    [dead] = of_type(events, Destroyed)
    assert events.index(hit) < events.index(dead)
    assert (dead.ship, dead.owner, dead.by, dead.by_owner, dead.weapon) == (2, 2, 1, 1, "laser")
    assert dead.wreck == z.store.ids[z.store.row(dead.wreck)] and dead.wreck >= 1 << 50
    assert dead.state.id == 2 and dead.state.hull_hp == 0.0 and dead.state.hull == "shuttle"
    assert not z.has_ship(2) and z.ship_count == 1
    assert z.entity_kind(dead.wreck) == KIND_WRECK and z.entity_kind(2) is None
    row = z.store.row(dead.wreck)
    assert z.store.expires[row] == z.tick + WRECK_TTL_TICKS
    assert z.store.owner[row] == 2 and z.store.kind[row] == KIND_WRECK
    # half the velocity, and damped from then on
    assert (dead.x, dead.y) == (z.store.x[row], z.store.y[row])
    assert abs(float(z.store.vx[row])) < 20.0 + 1e-3
    run(z, 200)
    assert math.hypot(float(z.store.vx[row]), float(z.store.vy[row])) < 1.0
    with pytest.raises(ValueError, match="never reused"):
        z.add_ship(2, 2, SHUTTLE, x=0.0, y=-3000.0)
    # intents for the dead ship are refused
    z.submit(Input(2, 2, 1.0, 0.0))
    assert [e.code for e in of_type(z.step(), Refused)] == [ErrorCode.UNKNOWN_SHIP]
    with pytest.raises(KeyError):
        z.vitals(dead.wreck)


def test_no_ids_no_wreck() -> None:
    z = armed_zone(DEADLY, ids=None)
    ship(z, 1, 0.0)
    ship(z, 2, 300.0)
    [dead] = of_type(fire(z, 1, 0, 2), Destroyed)
    assert dead.wreck == 0 and z.entity_count == 1


def test_two_killers_in_one_tick_the_last_hit_counts_and_it_dies_once() -> None:
    z = armed_zone(DEADLY)
    ship(z, 1, 0.0)
    ship(z, 3, 0.0, y=3300.0)
    ship(z, 2, 300.0)
    z.submit(Fire(1, 1, 0, 2))
    z.submit(Fire(3, 3, 0, 2))  # the target is already down: refused
    events = z.step()
    assert [e.code for e in of_type(events, Refused)] == [ErrorCode.NO_TARGET]
    [dead] = of_type(events, Destroyed)
    assert dead.by == 1


def test_wrecks_expire() -> None:
    z = armed_zone()
    ship(z, 1, 0.0)
    z.add_wreck(900, 100.0, 2000.0, vx=3.0, ttl_ticks=5, owner=4)
    assert z.entity_kind(900) == KIND_WRECK and z.ship_count == 1 and z.entity_count == 2
    assert not of_type(run(z, 4), WreckExpired)
    events = run(z, 1)
    assert of_type(events, WreckExpired) == [WreckExpired(900)]
    assert z.entity_kind(900) is None
    with pytest.raises(ValueError):
        z.add_wreck(900, 0.0, 2000.0, ttl_ticks=5)
    with pytest.raises(ValueError):
        z.add_wreck(901, math.nan, 2000.0, ttl_ticks=5)
    with pytest.raises(ValueError):
        z.add_wreck(901, 0.0, 2000.0, ttl_ticks=-1)


def test_loot_needs_range_and_low_speed() -> None:
    z = armed_zone()
    ship(z, 1, 0.0)
    z.add_wreck(900, 100.0, 3000.0, ttl_ticks=1000)
    wreck_r = float(z.store.radius[z.store.row(900)])
    z.submit(Loot(1, 1, 900))
    assert of_type(z.step(), LootReached) == [LootReached(1, 1, 900)]
    far = 100.0 + wreck_r + LOOT_RANGE + 5.0
    z.store.x[z.store.row(1)] = far
    z.submit(Loot(1, 1, 900))
    [r] = of_type(z.step(), Refused)
    assert (r.code, r.evidence, r.action) == (ErrorCode.TOO_FAR, True, "loot")
    z.store.x[z.store.row(1)] = 0.0
    z.store.vx[z.store.row(1)] = 80.0
    z.submit(Loot(1, 1, 900))
    [r] = of_type(z.step(), Refused)
    assert (r.code, r.evidence) == (ErrorCode.TOO_FAR, True) and "m/s" in r.reason
    ship(z, 2, 300.0)
    z.submit(Loot(1, 1, 2))  # a ship is not a wreck
    z.submit(Loot(1, 1, 12345))
    assert [e.code for e in of_type(z.step(), Refused)] == [ErrorCode.NO_TARGET] * 2
    z.remove_entity(900)
    assert z.entity_kind(900) is None
    with pytest.raises(KeyError):
        z.remove_entity(900)


def test_intents_naming_a_wreck_as_ship_are_refused() -> None:
    z = armed_zone()
    z.add_wreck(900, 100.0, 3000.0, ttl_ticks=1000, owner=OWNER)
    z.submit(Input(OWNER, 900, 1.0, 0.0))
    z.submit(Fire(OWNER, 900, 0, 0))
    assert [e.code for e in of_type(z.step(), Refused)] == [ErrorCode.UNKNOWN_SHIP] * 2
    assert not z.has_ship(900)
    with pytest.raises(KeyError):
        z.remove_ship(900)


def test_crime_flags_the_attacker_and_lawful_stations_kill_it() -> None:
    z = armed_zone(stations=(LAWFUL,))
    ship(z, 1, 4000.0)
    ship(z, 2, 4300.0)
    events = fire(z, 1, 0, 2)
    [crime] = of_type(events, CrimeCommitted)
    assert crime == CrimeCommitted(1, 1, 2, 2, station=1)
    # the station opens fire in the same tick
    assert [h.ship for h in of_type(events, Hit) if h.weapon == "station"] == [1]
    assert z.store.flags[z.store.row(1)] & CRIMINAL
    assert z.vitals(1).criminal_s == pytest.approx(CRIME_S)
    assert z.vitals(2).criminal_s == 0.0
    # hitting a criminal is no crime
    events = run(z, 10)
    events += fire(z, 2, 0, 1)
    assert not of_type(events, CrimeCommitted)
    # the station's defences: DEFENCE_DPS until the criminal is dead
    deaths: list[Destroyed] = []
    station_hits = sum(1 for h in of_type(events, Hit) if h.weapon == "station")
    assert station_hits == 11
    station_hits += 1  # the first tick's
    for _ in range(20 * 10):
        events = z.step()
        station_hits += sum(1 for h in of_type(events, Hit) if h.weapon == "station")
        deaths += of_type(events, Destroyed)
        if deaths:
            break
    [dead] = deaths
    assert (dead.ship, dead.by, dead.by_owner, dead.weapon) == (1, 0, 0, "station")
    total = SHUTTLE.hull + SHUTTLE.shield - 8.0  # less the victim's one laser hit
    assert station_hits == math.ceil(total / (DEFENCE_DPS / 20) - 1e-6)
    assert z.has_ship(2)  # the victim was never shot by the station


def test_no_crime_in_lawless_space_or_near_lawless_stations() -> None:
    lawless = StationSpec(index=1, x=5000.0, y=3000.0, radius=100.0, dock_radius=300.0)
    z = armed_zone(stations=(lawless,))
    ship(z, 1, 4000.0)
    ship(z, 2, 4300.0)
    assert not of_type(fire(z, 1, 0, 2), CrimeCommitted)
    z2 = armed_zone(stations=(LAWFUL,))
    ship(z2, 1, -4000.0)  # 9 km from the lawful station
    ship(z2, 2, -3700.0)
    assert not of_type(fire(z2, 1, 0, 2), CrimeCommitted)
    assert not z2.store.flags[z2.store.row(1)] & CRIMINAL


def test_criminal_flag_expires() -> None:
    z = armed_zone(stations=(LAWFUL,))
    ship(z, 1, -1000.0, y=6000.0)  # out of the defences' range, within the secure radius
    ship(z, 2, -700.0, y=6000.0)
    z.store.x[z.store.row(1)] = 1000.0
    z.store.x[z.store.row(2)] = 1300.0
    assert of_type(fire(z, 1, 0, 2), CrimeCommitted)
    run(z, round(CRIME_S * 20) - 2)
    assert z.store.flags[z.store.row(1)] & CRIMINAL
    run(z, 2)
    assert not z.store.flags[z.store.row(1)] & CRIMINAL
    assert z.vitals(1).criminal_s == 0.0


def test_a_docked_criminal_is_safe() -> None:
    z = armed_zone(stations=(LAWFUL,))
    ship(z, 1, 4000.0)
    ship(z, 2, 4300.0)
    assert of_type(fire(z, 1, 0, 2), CrimeCommitted)
    z.store.x[z.store.row(1)] = 5000.0 - 200.0
    z.submit(Dock(1, 1, 1))
    z.step()
    assert z.ship_state(1).docked_at == 1
    before = z.vitals(1)
    events = run(z, 40)
    assert not [h for h in of_type(events, Hit) if h.ship == 1]
    assert z.vitals(1).hull_hp == before.hull_hp
