"""What a trip costs: fuel and time of one leg, the autopilot's choice of leg, and how far a
ship's fuel still carries it (the HUD's point-of-no-return warning).

Pure functions of numbers, no zone state: the autopilot checks a trip with them before it
starts (`sim/autopilot.py`), the status message warns with them (`server/status.py`), and an
NPC can plan a route with them.

The flight model has no drag, so in normal flight a leg's fuel does not grow with its length:
the ship burns fuel to reach its cruising speed and to brake, and coasts for free between.
A cruise leg burns `cruise_fuel` per metre instead while the cruise drive is on, and the
normal-flight fuel to get up to speed (during the spool-up) and to brake after the drop-out.
The estimates are conservative (the whole leg's length is charged at the cruise rate, a
ship's present speed is charged as a full stop), so a trip they allow does not run dry unless
it is diverted; the reserve covers course corrections.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from callister.content import Hull
from callister.sim.rules import (
    CRUISE_DROP_DISTANCE,
    CRUISE_MIN_LEG,
    CRUISE_RAMP_S,
    CRUISE_SPOOL_S,
    FUEL_RESERVE,
)


@dataclass(frozen=True, slots=True)
class Drive:
    """A ship's drive: the numbers a trip's fuel and time depend on.

    `accel` in m/s^2 at full thrust (braking decelerates as fast); `fuel_burn` fuel per
    second at full thrust or braking; `cruise_speed` m/s (0: no cruise drive);
    `cruise_fuel` fuel per metre flown in cruise.
    """

    max_speed: float
    accel: float
    fuel_burn: float
    cruise_speed: float = 0.0
    cruise_fuel: float = 0.0

    @classmethod
    def of_hull(cls, hull: Hull, *, engines: float = 1.0) -> Drive:
        """The drive of `hull` (`engines`: the engineer's thrust factor, 1 normally)."""
        return cls(
            max_speed=hull.max_speed,
            accel=hull.thrust * engines,
            fuel_burn=hull.fuel_burn,
            cruise_speed=hull.cruise_speed,
            cruise_fuel=hull.cruise_fuel / 1000.0,
        )

    @property
    def can_cruise(self) -> bool:
        """Whether the drive has a cruise faster than its normal top speed."""
        return self.cruise_speed > self.max_speed


@dataclass(frozen=True, slots=True)
class Leg:
    """One planned leg: `distance` m, flown in cruise or not, needing `fuel` and `seconds`."""

    distance: float
    cruise: bool
    fuel: float
    seconds: float


def reserve(fuel_max: float) -> float:
    """The fuel the autopilot keeps in reserve on trips to anything but a station."""
    return FUEL_RESERVE * fuel_max


def _normal(drive: Drive, distance: float) -> tuple[float, float]:
    """(fuel before the multiplier, seconds) to fly `distance` from rest to rest: full thrust
    up to top speed (or half way), coast, brake."""
    a = drive.accel
    if a <= 0:
        return 0.0, math.inf
    peak = min(drive.max_speed, math.sqrt(a * distance))
    fuel = 2.0 * peak / a * drive.fuel_burn
    if peak <= 0:
        return fuel, 0.0
    coast = max(0.0, distance - peak * peak / a)
    return fuel, 2.0 * peak / a + coast / peak


def _cruise(drive: Drive, distance: float) -> tuple[float, float] | None:
    """(fuel before the multiplier, seconds) of a cruise leg, or None if the drive has no
    cruise or the leg is too short to be worth one (see the module docstring)."""
    if not drive.can_cruise or distance < CRUISE_MIN_LEG or drive.accel <= 0:
        return None
    a, v, c = drive.accel, drive.max_speed, drive.cruise_speed
    # spool-up: normal flight towards the goal
    t_up = min(CRUISE_SPOOL_S, v / a)
    v_spool = a * t_up
    d_spool = v_spool * t_up / 2 + v_spool * (CRUISE_SPOOL_S - t_up)
    # ramp from the spool's speed to cruise speed, cruise, drop out CRUISE_DROP_DISTANCE before
    # the goal at top speed, brake
    ramp = (c - v_spool) * CRUISE_RAMP_S / c
    d_ramp = (v_spool + c) / 2 * ramp
    d_cruise = distance - d_spool - d_ramp - CRUISE_DROP_DISTANCE
    if d_cruise < 0:
        return None
    fuel = (v_spool + v) / a * drive.fuel_burn + drive.cruise_fuel * distance
    brake = v / a
    d_after = max(0.0, CRUISE_DROP_DISTANCE - v * brake / 2)
    seconds = CRUISE_SPOOL_S + ramp + d_cruise / c + d_after / v + brake
    return fuel, seconds


def leg(
    drive: Drive,
    distance: float,
    *,
    cruise: bool,
    speed: float = 0.0,
    fuel_multiplier: float = 1.0,
) -> Leg:
    """The fuel and time of a leg of `distance` m for a ship moving at `speed` now (charged as
    a full stop first), in cruise if `cruise` and the leg allows one (else in normal flight:
    `Leg.cruise` says which), fuel times the world's `fuel_multiplier`."""
    distance = max(0.0, float(distance))
    stop_fuel = speed / drive.accel * drive.fuel_burn if drive.accel > 0 else 0.0
    stop_s = speed / drive.accel if drive.accel > 0 else 0.0
    cruising = _cruise(drive, distance) if cruise else None
    fuel, seconds = cruising if cruising is not None else _normal(drive, distance)
    return Leg(
        distance=distance,
        cruise=cruising is not None,
        fuel=(fuel + stop_fuel) * fuel_multiplier,
        seconds=seconds + stop_s,
    )


def plan_leg(
    drive: Drive,
    distance: float,
    fuel: float,
    *,
    keep: float,
    speed: float = 0.0,
    fuel_multiplier: float = 1.0,
    may_cruise: bool = True,
) -> Leg | None:
    """The leg the autopilot flies with `fuel` in the tank, keeping `keep` fuel: a cruise
    when allowed, worthwhile and affordable, else normal flight when affordable; None when
    neither leaves `keep` in the tank."""
    if may_cruise:
        fast = leg(drive, distance, cruise=True, speed=speed, fuel_multiplier=fuel_multiplier)
        if fast.cruise and fast.fuel + keep <= fuel:
            return fast
    slow = leg(drive, distance, cruise=False, speed=speed, fuel_multiplier=fuel_multiplier)
    return slow if slow.fuel + keep <= fuel else None


def cruise_range(drive: Drive, fuel: float, *, keep: float, fuel_multiplier: float = 1.0) -> float:
    """How far (m) a cruise leg from rest can go on `fuel`, keeping `keep`: 0 without a cruise
    drive or the fuel for the shortest cruise leg; infinite when cruising burns no fuel."""
    if not drive.can_cruise:
        return 0.0
    if fuel_multiplier <= 0 or drive.cruise_fuel <= 0:
        return math.inf
    # the normal-flight part of any cruise leg (spool-up and braking), before the multiplier
    overhead = leg(drive, CRUISE_MIN_LEG, cruise=True).fuel - drive.cruise_fuel * CRUISE_MIN_LEG
    reach = ((fuel - keep) / fuel_multiplier - overhead) / drive.cruise_fuel
    return reach if reach >= CRUISE_MIN_LEG else 0.0


FuelState = Literal["ok", "low", "stranded"]


@dataclass(frozen=True, slots=True)
class FuelOutlook:
    """Whether the fuel gets the ship to a station (the point-of-no-return warning).

    - "ok": the autopilot can fly to the nearest station and keep the reserve (`station`:
      that station);
    - "low": it cannot keep the reserve, but can still reach `station` (the nearest it can);
    - "stranded": no station is within reach (`station` None): refuel from another ship,
      or drift.

    `cruise_range_m` is how far a cruise could go, keeping the reserve (0 without one).
    """

    state: FuelState
    station: int | None
    cruise_range_m: float


def fuel_outlook(
    drive: Drive,
    fuel: float,
    fuel_max: float,
    x: float,
    y: float,
    speed: float,
    stations: Iterable[tuple[int, float, float]],
    *,
    fuel_multiplier: float = 1.0,
) -> FuelOutlook:
    """The outlook of a ship at (x, y) moving at `speed` with `fuel` of `fuel_max`, given the
    system's stations as (index, x, y) (see `FuelOutlook`). A few arithmetic operations per
    station: cheap enough for every status message."""
    keep = reserve(fuel_max)
    by_distance = sorted((math.hypot(sx - x, sy - y), index) for index, sx, sy in stations)
    reach = cruise_range(drive, fuel, keep=keep, fuel_multiplier=fuel_multiplier)

    def reachable(distance: float, keep: float) -> bool:
        plan = plan_leg(
            drive, distance, fuel, keep=keep, speed=speed, fuel_multiplier=fuel_multiplier
        )
        return plan is not None

    if by_distance and reachable(by_distance[0][0], keep):
        return FuelOutlook("ok", by_distance[0][1], reach)
    for distance, index in by_distance:
        if reachable(distance, 0.0):
            return FuelOutlook("low", index, reach)
    return FuelOutlook("stranded", None, reach)
