"""Faction territories: Voronoi regions around one hashed point per 64 x 64 sectors.

The faction of a sector decides which faction most of its stations belong to (and so whether
attacking there is a crime). Regions are decided per 4 x 4 block of sectors (at the block's
centre), so borders are slightly stepped but each block costs one cached look-up.
"""

from __future__ import annotations

from bisect import bisect_right
from functools import cache, lru_cache

from callister.content import load_content
from callister.universe.hashing import cumulative, hash_xy
from callister.universe.params import DEFAULT_PARAMS, GeneratorParams, settings_at
from callister.universe.space import BLOCK_BITS

SALT_REGION = 0x4E610
REGION_BITS = 6
# relative share of territory per faction key; unknown (future) factions get 20
FACTION_WEIGHTS = {"concord": 30, "free_traders": 25, "ashen": 20, "independent": 25}


@cache
def faction_table() -> tuple[tuple[str, ...], tuple[int, ...]]:
    """(faction keys sorted, cumulative 16-bit thresholds by FACTION_WEIGHTS)."""
    # sorted keys: reordering the TOML file must not reshuffle the universe
    keys = tuple(sorted(load_content().factions))
    return keys, cumulative(tuple(FACTION_WEIGHTS.get(k, 20) for k in keys))


@lru_cache(maxsize=1 << 12)
def _region_point(seed: int, cx: int, cy: int) -> tuple[int, int, int]:
    """(point x, point y, faction index) of region cell (cx, cy)."""
    h = hash_xy(seed, cx, cy, SALT_REGION)
    mask = (1 << REGION_BITS) - 1
    return (
        (cx << REGION_BITS) + (h & mask),
        (cy << REGION_BITS) + ((h >> 16) & mask),
        bisect_right(faction_table()[1], h >> 48),
    )


@lru_cache(maxsize=1 << 14)
def block_faction(seed: int, bx: int, by: int, params: GeneratorParams = DEFAULT_PARAMS) -> str:
    """The faction of 4 x 4 block (bx, by): a named region's faction if it sets one, else
    that of the region point nearest its centre.

    Ties in distance go to the smaller (cy, cx), so the answer is total. `seed` must be u64.
    """
    named = settings_at(params, bx, by).faction
    if named:
        return named
    # centre of the block in half-sectors, so distances stay exact integers
    x2 = (bx << (BLOCK_BITS + 1)) + (1 << BLOCK_BITS)
    y2 = (by << (BLOCK_BITS + 1)) + (1 << BLOCK_BITS)
    cx = (x2 >> 1) >> REGION_BITS
    cy = (y2 >> 1) >> REGION_BITS
    best = (-1, 0, 0, 0)
    for ny in (cy - 1, cy, cy + 1):
        for nx in (cx - 1, cx, cx + 1):
            px, py, faction = _region_point(seed, nx, ny)
            d2 = (2 * px - x2) ** 2 + (2 * py - y2) ** 2
            if best[0] < 0 or (d2, ny, nx) < best[:3]:
                best = (d2, ny, nx, faction)
    return faction_table()[0][best[3]]


def region_faction(seed: int, x: int, y: int, params: GeneratorParams = DEFAULT_PARAMS) -> str:
    """The faction key whose territory holds sector (x, y). `seed` must be u64."""
    return block_faction(seed, x >> BLOCK_BITS, y >> BLOCK_BITS, params)
