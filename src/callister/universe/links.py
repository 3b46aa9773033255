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

from callister.universe.density import BLOCK_BITS, block, sector_info
from callister.universe.gates import (  # where links end: gates_of (re-exported here)
    ARRIVAL_INSET,
    GATE_ARC,
    GATE_EDGE,
    GATE_STEP,
    arrival_point,
    gates_of,
    jump_bearing,
)
from callister.universe.params import DEFAULT_PARAMS, GeneratorParams
from callister.universe.space import SECTOR_MAX, SECTOR_MIN, SECTOR_SIZE

__all__ = [
    "ARRIVAL_INSET",
    "GATE_ARC",
    "GATE_EDGE",
    "GATE_STEP",
    "LINK_RANGE",
    "MAX_LINKS",
    "arrival_point",
    "gabriel",
    "gates_of",
    "jump_bearing",
    "links_of",
]

LINK_RANGE = DEFAULT_PARAMS.max_link_length  # 3500
MAX_LINKS = 8


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
