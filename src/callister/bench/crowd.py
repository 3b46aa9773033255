"""The canonical crowd workload (issue 17), shared by the view microbenchmark and the load
generator: N players in one star system at constant density.

- placed uniformly in a disc of radius DISC_RADIUS_M * sqrt(N / 1000) in open space;
- every client changes its controls at INPUT_HZ as a random walk: thrust on/off and turn
  left/none/right, each flipping with probability FLIP_P per input;
- speed capped at SPEED_CAP (thrust is held off at or above it) and kept inside the disc (a ship
  outside it moving outwards brakes instead of thrusting);
- sensor (interest) radius SENSOR_RADIUS_M, UPDATE_HZ updates a second, every visible ship.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Final

DISC_RADIUS_M: Final = 5000.0
"""Disc radius at 1000 players; it grows with sqrt(N) so the density stays the same."""
INPUT_HZ: Final = 10
FLIP_P: Final = 0.2
SPEED_CAP: Final = 200.0
SENSOR_RADIUS_M: Final = 1500.0
UPDATE_HZ: Final = 20


def disc_radius(players: int) -> float:
    """The workload's disc radius for `players` (metres)."""
    if players < 1:
        raise ValueError(f"players must be at least 1, not {players}")
    return DISC_RADIUS_M * math.sqrt(players / 1000)


def place_in_disc(
    players: int, rng: random.Random, centre: tuple[float, float] = (0.0, 0.0)
) -> list[tuple[float, float]]:
    """`players` points uniformly distributed in the workload's disc around `centre`."""
    radius = disc_radius(players)
    out = []
    for _ in range(players):
        r = radius * math.sqrt(rng.random())
        a = rng.uniform(0.0, 2 * math.pi)
        out.append((centre[0] + r * math.cos(a), centre[1] + r * math.sin(a)))
    return out


@dataclass(slots=True)
class Walker:
    """One client's random walk: call `step` once per input (INPUT_HZ) with its ship's latest
    known position and velocity; it returns the controls to send (thrust 0/1, turn -1/0/+1,
    brake)."""

    rng: random.Random
    centre: tuple[float, float]
    radius: float
    thrust: bool = False
    turn: int = 0

    def step(self, x: float, y: float, vx: float, vy: float) -> tuple[float, float, bool]:
        if self.rng.random() < FLIP_P:
            self.thrust = not self.thrust
        if self.rng.random() < FLIP_P:
            self.turn = self.rng.choice([t for t in (-1, 0, 1) if t != self.turn])
        dx, dy = x - self.centre[0], y - self.centre[1]
        brake = dx * dx + dy * dy > self.radius * self.radius and dx * vx + dy * vy > 0
        push = self.thrust and not brake and vx * vx + vy * vy < SPEED_CAP * SPEED_CAP
        return (1.0 if push else 0.0), float(self.turn), brake


CLEARANCE_M: Final = 1000.0
"""Open space: the disc clears the star, every station and every asteroid field by this."""


def open_space(system: dict[str, Any], radius: float) -> tuple[float, float]:
    """A centre for a disc of `radius` in open space of `system` (the JSON of
    `GET /api/universe/system`): clear of the star, stations and fields by CLEARANCE_M and
    inside the system; the nearest such point to the star on rings of 24 bearings.
    ValueError when there is none."""
    star = float(system["star"]["radius"])
    obstacles = [(float(s["x"]), float(s["y"]), float(s["radius"])) for s in system["stations"]]
    obstacles += [(float(f["x"]), float(f["y"]), float(f["radius"])) for f in system["fields"]]
    limit = float(system["radius"]) - radius - CLEARANCE_M
    d = star + radius + CLEARANCE_M
    while d <= limit:
        for k in range(24):
            a = 2 * math.pi * k / 24
            x, y = d * math.cos(a), d * math.sin(a)
            if all(
                math.hypot(x - ox, y - oy) > radius + r + CLEARANCE_M for ox, oy, r in obstacles
            ):
                return x, y
        d += max(1000.0, radius / 2)
    raise ValueError(f"no open space for a disc of {radius:.0f} m in system {system.get('name')}")
