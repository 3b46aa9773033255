"""Jump links: a Gabriel graph over galaxy positions, limited in length and degree.

Systems A and B are linked iff
  1. |AB| <= LINK_RANGE (galaxy units), and
  2. no other system C lies strictly inside the circle with diameter AB, i.e. no C with
     (C - A) . (C - B) < 0 (exact integer test), and
  3. B is among A's MAX_LINKS shortest candidate links from 1-2 and A among B's
     (ordered by squared length, then sector x, then y).
Each rule is symmetric in A and B, so links are symmetric; each looks only at systems within
LINK_RANGE of A or B, so any system's links are computed locally. The Gabriel graph contains the
minimum spanning tree, so systems are connected wherever gaps are shorter than LINK_RANGE; voids
wider than that separate clusters on purpose. Rule 3 rarely binds (Gabriel graphs are planar,
average degree about 4) but bounds what a client must draw and a zone must prefetch.

LINK_RANGE is 3.5 sectors: a disc graph percolates once its mean number of neighbours in range
exceeds ~4.5, i.e. wherever more than ~12% of sectors hold a system, so ordinary space and
clusters form one network while voids (< 3%) stay barriers. A longer range connects more but
costs quadratically more candidates per system.

A world's generator parameters may set another LINK_RANGE (`max_link_length`, 2000-6000):
longer links join sparser space at a quadratic cost in candidates per system.

Near the edges of the int64 sector range the neighbour search is clamped: there are no sectors
beyond, so edge systems simply have fewer candidates.
"""

from __future__ import annotations

from functools import lru_cache
from math import isqrt
from typing import TYPE_CHECKING

from callister.universe.density import BLOCK_BITS, block, sector_info
from callister.universe.model import Gate
from callister.universe.params import DEFAULT_PARAMS, GeneratorParams
from callister.universe.space import (
    SECTOR_MAX,
    SECTOR_MIN,
    SECTOR_SIZE,
    check_sector,
    seed_u64,
)

if TYPE_CHECKING:
    from callister.universe.model import StarSystem

LINK_RANGE = DEFAULT_PARAMS.max_link_length  # 3500
MAX_LINKS = 8

GATE_ARC = 2500
"""m: a jump gate lies this far along its station's orbit from the station (GATE_STEP more
for each gate already on that side of the station)."""
GATE_STEP = 2000
GATE_EDGE = 1000
"""m: in a system without stations, gates lie this far inside the system's radius (beyond
every body: the outermost annulus ends >= 2300 m inside it)."""
ARRIVAL_INSET = 200
"""m: a ship jumping in appears this far from the gate, towards the star."""


@lru_cache(maxsize=1 << 15)
def gabriel(
    seed: int, x: int, y: int, params: GeneratorParams = DEFAULT_PARAMS
) -> tuple[tuple[int, int, int], ...]:
    """Rules 1-2 for the system at (x, y): ((d2, sx, sy), ...) sorted by (d2, sx, sy).

    Empty if the sector holds no system. Arguments must be pre-validated (u64 seed, int64 xy).
    Rule 1's range is `params.max_link_length`.
    """
    here = sector_info(seed, x, y, params)
    if here is None:
        return ()
    gx, gy = here[2], here[3]
    near: list[tuple[int, int, int, int, int]] = []
    reach = params.max_link_length
    r2 = reach * reach
    # every block that can hold a system within LINK_RANGE of A's galaxy position (sector of
    # a galaxy coordinate g is g // SECTOR_SIZE); blocks past the int64 edge would only hold
    # sectors that do not exist, so the range is clamped to the edge blocks
    bx0 = max((gx - reach) // SECTOR_SIZE, SECTOR_MIN) >> BLOCK_BITS
    bx1 = min((gx + reach) // SECTOR_SIZE, SECTOR_MAX) >> BLOCK_BITS
    by0 = max((gy - reach) // SECTOR_SIZE, SECTOR_MIN) >> BLOCK_BITS
    by1 = min((gy + reach) // SECTOR_SIZE, SECTOR_MAX) >> BLOCK_BITS
    for by in range(by0, by1 + 1):
        for bx in range(bx0, bx1 + 1):
            for sx, sy, ox, oy, _ in block(seed, bx, by, params):
                dx = ox - gx
                if -reach <= dx <= reach:  # cheap pre-filter: most misses fail it
                    dy = oy - gy
                    d2 = dx * dx + dy * dy
                    # d2 == 0 only for A itself: systems are >= 2 * SECTOR_MARGIN apart
                    if 0 < d2 <= r2:
                        near.append((d2, sx, sy, dx, dy))
    near.sort()
    out: list[tuple[int, int, int]] = []
    # Only systems strictly closer to A than B can lie inside the circle on AB: those are the
    # candidates before B, split into A's links so far and the rest. Whatever blocks B is
    # usually a link (the nearest system in B's direction), so those are tested first.
    kept: list[tuple[int, int]] = []
    dropped: list[tuple[int, int]] = []
    for d2, sx, sy, bx, by in near:
        for cx, cy in kept:
            if cx * (cx - bx) + cy * (cy - by) < 0:
                dropped.append((bx, by))
                break
        else:
            for cx, cy in dropped:
                if cx * (cx - bx) + cy * (cy - by) < 0:
                    dropped.append((bx, by))
                    break
            else:
                out.append((d2, sx, sy))
                kept.append((bx, by))
    return tuple(out)


@lru_cache(maxsize=1 << 15)
def links_of(
    seed: int, x: int, y: int, params: GeneratorParams = DEFAULT_PARAMS
) -> tuple[tuple[int, int], ...]:
    """All three rules: the sorted sectors linked to (x, y). Arguments pre-validated."""
    mine = gabriel(seed, x, y, params)
    out: list[tuple[int, int]] = []
    for _, sx, sy in mine[:MAX_LINKS]:
        theirs = gabriel(seed, sx, sy, params)
        if len(theirs) <= MAX_LINKS or any(tx == x and ty == y for _, tx, ty in theirs[:MAX_LINKS]):
            out.append((sx, sy))
    out.sort()
    return tuple(out)


def _source_position(system: StarSystem, x: int, y: int) -> tuple[int, int]:
    # a jump comes from a system, but tolerate an empty sector (e.g. a debug teleport):
    # then its centre stands in for the system
    x, y = check_sector(x, y)
    other = sector_info(seed_u64(system.seed), x, y, system.params)
    if other is None:
        half = SECTOR_SIZE // 2
        return x * SECTOR_SIZE + half, y * SECTOR_SIZE + half
    return other[2], other[3]


def _towards(system: StarSystem, x: int, y: int, length: int) -> tuple[int, int]:
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


def jump_bearing(system: StarSystem, to_x: int, to_y: int) -> tuple[int, int]:
    """Direction from `system` to sector (to_x, to_y) in the galaxy, as an integer vector of
    length 1,000,000 (+-2 from rounding): (1_000_000, 0) points to +x, and so when both are
    the same system. Exact integer arithmetic: the same on every machine. Raises ValueError
    if (to_x, to_y) is outside the sector range."""
    return _towards(system, to_x, to_y, 1_000_000)


def _gate(system: StarSystem, bx: int, by: int, taken: dict[tuple[int, int], int]) -> Gate:
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


def gates_of(system: StarSystem) -> tuple[Gate, ...]:
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


def arrival_point(system: StarSystem, from_x: int, from_y: int) -> tuple[int, int]:
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
