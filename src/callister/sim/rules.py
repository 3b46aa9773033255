"""The zone's rule constants in one place: same numbers for players and agents."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

DOCK_MAX_SPEED: Final = 60.0
"""m/s: the fastest a ship may be moving and still dock."""

JUMP_CHARGE_TICKS: Final = 40
"""Ticks between a jump starting to charge and the ship leaving (2 s at 20 Hz)."""

UNDOCK_MARGIN: Final = 300.0
"""m of clear space between station hull and ship hull when a ship undocks (the undock lane:
far enough that a ship thrusting at full power in any direction for 3 s misses the station)."""

UNDOCK_SPEED: Final = 25.0
"""m/s: an undocking ship leaves along the undock lane (away from the star) at this speed."""

RESTITUTION: Final = 0.4
"""Fraction of the normal speed a ship keeps (reflected) after hitting a static collider."""

RESTING_SPEED: Final = 5.0
"""m/s: impacts slower than this do not bounce (the normal speed is removed), so a ship
pressing against a rock comes to rest on it instead of buzzing back and forth."""

CONTACT_SLOP: Final = 2.0
"""m: a ship within this distance of the collider it touched is still "in contact", so pressing
against a rock (push-out, re-penetrate, push-out ...) raises one Collided event, not one per
tick."""

PUSH_OUT_EPSILON: Final = 0.01
"""m: a pushed-out ship is left this far outside the surface so float32 rounding cannot leave
it touching."""

BOUNDARY_FACTOR: Final = 1.5
"""Ships farther than this many system radii from the star are pushed back."""

BOUNDARY_ACCEL: Final = 300.0
"""m/s^2 of push-back beyond the boundary: above every hull's thrust, so nobody flies out."""

BOUNDARY_DAMPING: Final = 0.1
"""Fraction of the outward speed removed per tick beyond the boundary (a soft wall)."""

GRID_CELL_SIZE: Final = 500.0
"""m: cell size of the dynamic neighbour grid rebuilt every tick (larger in huge systems)."""

GRID_BOUNDS_MARGIN: Final = 2000.0
"""m the neighbour grid extends past the boundary wall (ships beyond share its edge cells)."""

# -- combat, law, mining, wrecks (issue 3) ----------------------------------------------------
# Durations are in seconds and converted with the zone's tick rate, except the *_TICKS ones,
# which count world ticks (20 Hz) because they are persisted or compared across zones.

SHIELD_DELAY_S: Final = 3.0
"""s after the last hit before a shield starts regenerating."""

FALLOFF_FLOOR: Final = 0.3
"""Fraction of a hitscan weapon's damage left at its full range (linear from `falloff` x range)."""

MISSILE_FUSE: Final = 20.0
"""m: a missile explodes when its path comes this close to its target's hull."""

MISSILE_LIFE: Final = 1.5
"""A missile flies for range / speed x this many seconds (room to turn) before it burns out."""

SHOT_RADIUS: Final = 1.0
"""m: the collision radius of a cannon shell (and a missile's body against rocks)."""

SECURE_RADIUS: Final = 6000.0
"""m around a lawful station inside which hitting a ship that is not criminal is a crime."""

CRIME_S: Final = 120.0
"""s a criminal flag lasts after the last crime."""

CRIME_TICKS: Final = 2400
"""CRIME_S in world ticks (20 Hz)."""

DEFENCE_RANGE: Final = 3000.0
"""m: a lawful station fires on criminal ships this close to its centre."""

DEFENCE_DPS: Final = 40.0
"""Damage per second each lawful station deals to each criminal ship within DEFENCE_RANGE."""

MINING_RANGE: Final = 150.0
"""m from a rock's surface within which a ship can mine it."""

MINING_MAX_SPEED: Final = 30.0
"""m/s: a faster ship cannot mine (nor start mining)."""

MINING_RATE: Final = 1.0
"""Ore units per second at richness 100 (scaled by richness / 100 and the yield multiplier)."""

MINING_REPORT_S: Final = 1.0
"""s between two `Mined` events of one ship (whole units only; fractions carry over)."""

UNITS_PER_POINT: Final = 20
"""Ore units a field holds per point of richness."""

REGROW_TICKS: Final = 12000
"""World ticks (10 min at 20 Hz) per point of richness a field regrows, up to its base."""

WRECK_TTL_TICKS: Final = 6000
"""World ticks (5 min at 20 Hz) a wreck stays before it expires."""

WRECK_DAMPING: Final = 0.98
"""Fraction of its speed a drifting wreck keeps per tick (it comes to rest in ~10 s)."""

LOOT_RANGE: Final = 200.0
"""m from a wreck's hull within which a ship may loot it."""

LOOT_MAX_SPEED: Final = 60.0
"""m/s: a faster ship cannot loot."""

# -- travel: autopilot and cruise (issue 16) ---------------------------------------------------

CRUISE_SPOOL_S: Final = 3.0
"""s of spool-up between engaging cruise and flying at cruise speed (the ship flies normally
meanwhile; anything that drops a cruise also stops a spool)."""

CRUISE_RAMP_S: Final = 4.0
"""In cruise, full thrust accelerates by cruise_speed / CRUISE_RAMP_S m/s^2."""

CRUISE_DROP_DISTANCE: Final = 1000.0
"""m: a cruise drops out (and cannot engage) this close to the surface of the star, a
station or an asteroid field's disc. Far more than a tick of cruise flight, so a cruising
ship can never reach a collider."""

CRUISE_SHIP_DISTANCE: Final = 1000.0
"""m: a cruise drops out when another (undocked) ship this close is closing on the ship."""

CRUISE_COOLDOWN_S: Final = 5.0
"""s after a drop-out before the autopilot engages cruise again (a manual `cruise` may)."""

CRUISE_MIN_LEG: Final = 6000.0
"""m: the autopilot engages cruise only for a leg at least this long."""

AUTOPILOT_AVOID_MARGIN: Final = 250.0
"""m the autopilot keeps between the ship's hull and the star, stations and field discs when
it routes around them (in cruise: CRUISE_DROP_DISTANCE, so the cruise is not dropped)."""

AUTOPILOT_TOLERANCE: Final = 25.0
"""m: the autopilot has arrived within this distance of its approach point..."""

AUTOPILOT_ARRIVE_SPEED: Final = 3.0
"""m/s: ... moving at most this fast (relative to a followed ship)."""

AUTOPILOT_FIELD_MARGIN: Final = 50.0
"""m between the ship's hull and a field's disc where the autopilot stops (the field edge)."""

ESCORT_DISTANCE: Final = 300.0
"""m between hulls at which the autopilot follows another ship."""

FUEL_RESERVE: Final = 0.1
"""Fraction of a full tank the autopilot keeps in reserve on a trip to anything but a station
(where the ship can refuel): it refuses a trip that would leave less."""

UNLIMITED_SPEED: Final = 1.0e6
"""m/s: the speed cap given to shells and wrecks so the steering stage never slows them."""


@dataclass(frozen=True, slots=True)
class ZoneRules:
    """A world's rules for its zones (the same for players and agents).

    - `pvp`: False refuses fire at another player's ship (PVP_OFF) and makes shells and
      missiles pass harmlessly through ships of other players; NPCs (owner <= 0) are always
      fair game and may always shoot.
    - `fuel_multiplier`: scales fuel burnt by thrust, braking and jumps.
    - `damage_multiplier`: scales the damage of every weapon (not station defences).
    - `yield_multiplier`: scales mining yields.
    """

    pvp: bool = True
    fuel_multiplier: float = 1.0
    damage_multiplier: float = 1.0
    yield_multiplier: float = 1.0

    def __post_init__(self) -> None:
        for name in ("fuel_multiplier", "damage_multiplier", "yield_multiplier"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number, not {value!r}")
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite non-negative number, not {value!r}")
