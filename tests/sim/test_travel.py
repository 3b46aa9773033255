"""The pure trip maths (sim/travel.py): a leg's fuel and time, the autopilot's plan, the
point-of-no-return outlook."""

from __future__ import annotations

import math

import pytest

from callister.sim.rules import CRUISE_MIN_LEG, FUEL_RESERVE
from callister.sim.travel import Drive, cruise_range, fuel_outlook, leg, plan_leg, reserve

from ._support import HAULER, SHUTTLE

DRIVE = Drive.of_hull(SHUTTLE)  # 60 m/s^2, 260 m/s, burn 1/s, cruise 2000 m/s at 0.1 / km


def test_drive_of_hull_reads_the_content() -> None:
    assert Drive.of_hull(SHUTTLE) == Drive(260.0, 60.0, 1.0, 2000.0, 0.0001)
    assert DRIVE.can_cruise
    assert Drive.of_hull(HAULER, engines=2.0).accel == 2 * HAULER.thrust
    assert not Drive(260.0, 60.0, 1.0).can_cruise


def test_a_normal_leg_costs_speeding_up_and_braking_whatever_its_length() -> None:
    # no drag: 260 / 60 s of full thrust up and as long braking, coasting is free
    full = 2 * 260 / 60
    for distance in (5_000.0, 30_000.0, 90_000.0):
        trip = leg(DRIVE, distance, cruise=False)
        assert not trip.cruise
        assert trip.fuel == pytest.approx(full)
        assert trip.seconds == pytest.approx(full + (distance - 260**2 / 60) / 260)
    # short: a triangle, never reaching top speed
    short = leg(DRIVE, 600.0, cruise=False)
    assert short.fuel == pytest.approx(2 * math.sqrt(60 * 600) / 60)
    assert short.seconds == pytest.approx(2 * math.sqrt(600 / 60))
    assert leg(DRIVE, 0.0, cruise=False).fuel == 0.0
    # the world's multiplier and the present speed (charged as a full stop first)
    assert leg(DRIVE, 30_000.0, cruise=False, fuel_multiplier=2.0).fuel == pytest.approx(2 * full)
    assert leg(DRIVE, 30_000.0, cruise=False, speed=120.0).fuel == pytest.approx(full + 2.0)


def test_a_cruise_leg_is_faster_and_pays_per_metre() -> None:
    slow = leg(DRIVE, 30_000.0, cruise=False)
    fast = leg(DRIVE, 30_000.0, cruise=True)
    assert fast.cruise and fast.seconds < slow.seconds / 3
    assert fast.seconds < 30  # a long in-system trip takes well under a minute
    longer = leg(DRIVE, 60_000.0, cruise=True)
    assert longer.fuel - fast.fuel == pytest.approx(30_000 * DRIVE.cruise_fuel)
    # too short to be worth a cruise, or no cruise drive: normal flight
    assert not leg(DRIVE, CRUISE_MIN_LEG - 1, cruise=True).cruise
    assert not leg(Drive(260.0, 60.0, 1.0), 30_000.0, cruise=True).cruise


def test_the_plan_prefers_cruise_falls_back_to_normal_flight_and_refuses_when_short() -> None:
    keep = reserve(SHUTTLE.fuel)
    assert keep == FUEL_RESERVE * SHUTTLE.fuel
    fast = leg(DRIVE, 40_000.0, cruise=True)
    slow = leg(DRIVE, 40_000.0, cruise=False)
    assert fast.fuel > slow.fuel  # cruising costs more fuel than coasting
    assert plan_leg(DRIVE, 40_000.0, 100.0, keep=keep) == fast
    assert plan_leg(DRIVE, 40_000.0, 100.0, keep=keep, may_cruise=False) == slow
    # enough for coasting with the reserve, not for cruising: the slow plan
    assert plan_leg(DRIVE, 40_000.0, slow.fuel + keep + 0.1, keep=keep) == slow
    assert plan_leg(DRIVE, 40_000.0, slow.fuel + keep - 0.1, keep=keep) is None
    assert plan_leg(DRIVE, 40_000.0, slow.fuel, keep=0.0) == slow


def test_cruise_range_is_the_fuel_above_the_reserve_and_overhead_per_metre() -> None:
    keep = reserve(SHUTTLE.fuel)
    reach = cruise_range(DRIVE, 100.0, keep=keep)
    assert plan_leg(DRIVE, reach * 0.99, 100.0, keep=keep) is not None
    assert plan_leg(DRIVE, reach * 0.99, 100.0, keep=keep).cruise  # type: ignore[union-attr]
    assert not plan_leg(DRIVE, reach * 1.01, 100.0, keep=keep).cruise  # type: ignore[union-attr]
    assert cruise_range(DRIVE, 100.0, keep=keep, fuel_multiplier=2.0) < reach / 2 + 1
    assert cruise_range(DRIVE, keep + 1.0, keep=keep) == 0.0  # not even a short cruise
    assert cruise_range(Drive(260.0, 60.0, 1.0), 100.0, keep=keep) == 0.0
    assert cruise_range(DRIVE, 100.0, keep=keep, fuel_multiplier=0.0) == math.inf


STATIONS = [(0, 20_000.0, 0.0), (1, -5_000.0, 0.0)]


def test_fuel_outlook_ok_low_and_stranded() -> None:
    def outlook(fuel: float, speed: float = 0.0):  # type: ignore[no-untyped-def]
        return fuel_outlook(DRIVE, fuel, 100.0, 0.0, 0.0, speed, STATIONS)

    ok = outlook(100.0)
    assert (ok.state, ok.station) == ("ok", 1)  # the nearest station, with the reserve kept
    assert ok.cruise_range_m > 100_000
    need = leg(DRIVE, 5_000.0, cruise=False).fuel
    low = outlook(need + 1.0)  # reaches the nearest, but not with 10 fuel left over
    assert (low.state, low.station) == ("low", 1)
    assert low.cruise_range_m == 0.0
    stranded = outlook(need - 1.0)
    assert (stranded.state, stranded.station) == ("stranded", None)
    # a ship already moving must first stop: that costs fuel too
    assert outlook(need + 1.0, speed=200.0).state == "stranded"
    assert fuel_outlook(DRIVE, 100.0, 100.0, 0.0, 0.0, 0.0, []).state == "stranded"
