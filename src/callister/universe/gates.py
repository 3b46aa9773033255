"""Jump gates: where each of a system's links is taken, and where a ship jumping in appears.

A function of the generated system (its stations, radius, galaxy position and links), not part
of its data (`StarSystem.to_dict` and the digest leave it out): `StarSystem.gates` calls
`gates_of`. This module imports nothing of `model.py` (it takes any object with the system's
fields), so the model can offer the property without an import circle.
"""

from __future__ import annotations

from math import isqrt
from typing import Any

from msgspec import Struct

from callister.universe.density import sector_info
from callister.universe.space import SECTOR_SIZE, check_sector, seed_u64

GATE_ARC = 2500
"""m: a jump gate lies this far along its station's orbit from the station (GATE_STEP more
for each gate already on that side of the station)."""
GATE_STEP = 2000
GATE_EDGE = 1000
"""m: in a system without stations, gates lie this far inside the system's radius (beyond
every body: the outermost annulus ends >= 2300 m inside it)."""
ARRIVAL_INSET = 200
"""m: a ship jumping in appears this far from the gate, towards the star."""


class Gate(Struct, frozen=True):
    """The jump gate of the link to sector (to_x, to_y): where the autopilot flies to take
    that link, and where ships from there arrive (`gates_of`). Metres, star at (0, 0)."""

    to_x: int
    to_y: int
    x: int
    y: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: {"to": [x, y] as decimal strings, "x", "y"}."""
        return {"to": [str(self.to_x), str(self.to_y)], "x": self.x, "y": self.y}


# `system` below is a `model.StarSystem` (seed, params, gx, gy, radius, stations, links),
# typed Any so that this module does not import the model that imports it
def _source_position(system: Any, x: int, y: int) -> tuple[int, int]:
    # a jump comes from a system, but tolerate an empty sector (e.g. a debug teleport):
    # then its centre stands in for the system
    x, y = check_sector(x, y)
    other = sector_info(seed_u64(system.seed), x, y, system.params)
    if other is None:
        half = SECTOR_SIZE // 2
        return x * SECTOR_SIZE + half, y * SECTOR_SIZE + half
    return other[2], other[3]


def _towards(system: Any, x: int, y: int, length: int) -> tuple[int, int]:
    # the galaxy vector from `system` to sector (x, y), rescaled to `length`; the square root
    # is taken of the squared length shifted by 40 bits, so rounding stays below 2**-20
    # relative (isqrt is exact integer arithmetic; no libm)
    tx, ty = _source_position(system, x, y)
    dx = tx - system.gx
    dy = ty - system.gy
    if dx == 0 and dy == 0:
        return length, 0
    n = isqrt((dx * dx + dy * dy) << 40)
    return (dx << 20) * length // n, (dy << 20) * length // n


def jump_bearing(system: Any, to_x: int, to_y: int) -> tuple[int, int]:
    """Direction from `system` to sector (to_x, to_y) in the galaxy, as an integer vector of
    length 1,000,000 (+-2 from rounding): (1_000_000, 0) points to +x, and so when both are
    the same system. Exact integer arithmetic: the same on every machine. Raises ValueError
    if (to_x, to_y) is outside the sector range."""
    return _towards(system, to_x, to_y, 1_000_000)


def _gate(system: Any, bx: int, by: int, taken: dict[tuple[int, int], int]) -> Gate:
    # The station whose direction from the star is nearest the bearing (bx, by) holds the gate:
    # on its own orbit circle, turned towards the bearing by GATE_ARC metres (or away from it,
    # when that side holds fewer of the station's gates; GATE_STEP more for each gate already
    # on the side: `taken` counts them). Each station's annulus holds nothing else
    # (bodies.py), so a point on the station's orbit away from the station is never inside a
    # collider. Integer arithmetic throughout (isqrt): the same on every machine.
    best, best_cos = -1, 0
    for s in system.stations:
        n = isqrt((s.x * s.x + s.y * s.y) << 40)
        if n == 0:
            continue
        cos = ((s.x * bx + s.y * by) << 20) // n  # 1e6 x the cosine
        if best < 0 or cos > best_cos:
            best, best_cos = s.index, cos
    if best < 0:
        length = system.radius - GATE_EDGE
        return Gate(0, 0, bx * length // 1_000_000, by * length // 1_000_000)
    s = system.stations[best]
    side = 1 if s.x * by - s.y * bx >= 0 else -1  # counter-clockwise if the bearing is left
    if taken.get((best, -side), 0) < taken.get((best, side), 0):
        side = -side  # the other side has room nearer the station
    rank = taken.get((best, side), 0)
    taken[(best, side)] = rank + 1
    arc = side * (GATE_ARC + GATE_STEP * rank)
    r = isqrt(s.x * s.x + s.y * s.y)
    # s + arc x (the orbit's unit tangent), scaled by r, then brought back onto the orbit
    px = s.x * r - arc * s.y
    py = s.y * r + arc * s.x
    n = isqrt(px * px + py * py)
    return Gate(0, 0, px * r // n, py * r // n)


def gates_of(system: Any) -> tuple[Gate, ...]:
    """Where the jump gate of each of `system`'s links is, in `links` order.

    Near a station: on the orbit of the station whose direction from the star is nearest the
    link's bearing, GATE_ARC m along it towards the bearing (the station's later gates
    alternate sides, each GATE_STEP m further out than the last on its side);
    in a system without stations, GATE_EDGE m inside the system's radius on the bearing.
    Never inside a collider; integer maths only. Not part of the generated data (`to_dict`):
    a function of it."""
    taken: dict[tuple[int, int], int] = {}
    out = []
    for lx, ly in system.links:
        bx, by = jump_bearing(system, lx, ly)
        g = _gate(system, bx, by, taken)
        out.append(Gate(lx, ly, g.x, g.y))
    return tuple(out)


def arrival_point(system: Any, from_x: int, from_y: int) -> tuple[int, int]:
    """Where a ship jumping in from sector (from_x, from_y) appears in `system` (metres).

    ARRIVAL_INSET m from the gate of the link back to the source, towards the star: so near
    a station in a system that has one (see `gates_of`). A source that is not linked (a debug
    teleport) gets the gate that link would have. Never inside a collider; integer maths
    only. Raises ValueError if (from_x, from_y) is outside the sector range.
    """
    x, y = check_sector(from_x, from_y)
    gate = next((g for g in gates_of(system) if (g.to_x, g.to_y) == (x, y)), None)
    if gate is None:
        bx, by = jump_bearing(system, x, y)
        gate = _gate(system, bx, by, {})
    r = isqrt(gate.x * gate.x + gate.y * gate.y)
    if r <= ARRIVAL_INSET:
        return gate.x, gate.y
    return gate.x * (r - ARRIVAL_INSET) // r, gate.y * (r - ARRIVAL_INSET) // r
