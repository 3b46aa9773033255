from __future__ import annotations

import collections

from callister.content import load_content
from callister.universe import SECTOR_MAX, SECTOR_MIN, region_faction


def test_regions_are_contiguous_territories_of_every_faction() -> None:
    keys = set(load_content().factions)
    grid = {
        (x, y): region_faction(1, x, y) for x in range(-256, 256, 4) for y in range(-256, 256, 4)
    }
    assert set(grid.values()) <= keys
    counts = collections.Counter(grid.values())
    assert len(counts) == len(keys), counts
    same = sum(grid[(x, y)] == grid.get((x + 4, y), grid[(x, y)]) for x, y in grid)
    assert same / len(grid) > 0.85, "neighbours mostly share a faction (regions, not noise)"


def test_regions_work_at_the_edges() -> None:
    keys = set(load_content().factions)
    for x, y in [(SECTOR_MIN, SECTOR_MIN), (SECTOR_MAX, SECTOR_MAX), (SECTOR_MIN, SECTOR_MAX)]:
        assert region_faction(2**64 - 1, x, y) in keys
