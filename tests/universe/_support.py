"""Helpers shared by the universe tests."""

from __future__ import annotations

from callister.universe import SECTOR_MAX, SECTOR_MIN, StarSystem, generate_system, has_system
from callister.universe.hashing import Rng

EDGE_SECTORS: tuple[tuple[int, int], ...] = (
    (SECTOR_MIN, SECTOR_MIN),
    (SECTOR_MAX, SECTOR_MAX),
    (SECTOR_MIN, SECTOR_MAX),
    (SECTOR_MAX, SECTOR_MIN),
    (SECTOR_MIN + 3, 0),
    (0, SECTOR_MAX - 2),
)


def random_sectors(seed: int, n: int, span: int = 2**63) -> list[tuple[int, int]]:
    """n pseudo-random sectors in [-span, span) (clipped to the int64 range), deterministic."""
    rng = Rng(seed)
    out = []
    for _ in range(n):
        x = max(SECTOR_MIN, min(SECTOR_MAX, rng.below(2 * span) - span))
        y = max(SECTOR_MIN, min(SECTOR_MAX, rng.below(2 * span) - span))
        out.append((x, y))
    return out


def systems_near(seed: int, x: int, y: int, want: int, limit: int = 400) -> list[StarSystem]:
    """Up to `want` systems found in square rings around (x, y), clamped to the sector range."""
    found: list[StarSystem] = []
    for r in range(limit):
        ring = {
            (max(SECTOR_MIN, min(SECTOR_MAX, x + dx)), max(SECTOR_MIN, min(SECTOR_MAX, y + dy)))
            for dx in range(-r, r + 1)
            for dy in (-r, r)
        } | {
            (max(SECTOR_MIN, min(SECTOR_MAX, x + dx)), max(SECTOR_MIN, min(SECTOR_MAX, y + dy)))
            for dy in range(-r, r + 1)
            for dx in (-r, r)
        }
        for sx, sy in sorted(ring):
            if has_system(seed, sx, sy) and all(s.sector != (sx, sy) for s in found):
                system = generate_system(seed, sx, sy)
                assert system is not None
                found.append(system)
                if len(found) == want:
                    return found
    return found
