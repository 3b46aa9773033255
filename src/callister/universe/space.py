"""Constants and coordinate checks shared by the universe layer.

Sector coordinates are Python ints restricted to the signed 64-bit range so that every other
engine (databases, other languages, the browser via strings) can hold them exactly.
"""

from __future__ import annotations

import operator

SECTOR_MIN = -(2**63)
SECTOR_MAX = 2**63 - 1
MASK64 = 2**64 - 1

# One sector is SECTOR_SIZE galaxy units wide; a system sits at an integer offset inside its
# sector, kept SECTOR_MARGIN away from the sector's edges so that two systems are never closer
# than 2 * SECTOR_MARGIN units (link geometry never degenerates).
SECTOR_SIZE = 1000
SECTOR_MARGIN = 100

TICK_HZ = 20

# Systems are found a block of 4 x 4 sectors at a time (density.block); faction territories
# and named regions are decided per block too.
BLOCK_BITS = 2

# Bumped whenever a change to generation alters any system; stored deltas refer to the
# generated base, so a world must not silently switch generator versions.
GENERATOR_VERSION = 1


def check_sector(x: object, y: object) -> tuple[int, int]:
    """Return (x, y) as plain ints; raise TypeError for non-integers, ValueError out of range.

    Accepts anything with ``__index__`` (e.g. numpy integers) but not bools, whose use as
    coordinates is always a bug.
    """
    if isinstance(x, bool) or isinstance(y, bool):
        raise TypeError("sector coordinates must be integers, not bool")
    ix = operator.index(x)  # type: ignore[arg-type]
    iy = operator.index(y)  # type: ignore[arg-type]
    if not (SECTOR_MIN <= ix <= SECTOR_MAX and SECTOR_MIN <= iy <= SECTOR_MAX):
        raise ValueError(
            f"sector ({ix}, {iy}) is outside the universe: coordinates must lie in "
            f"[-2**63, 2**63-1]"
        )
    return ix, iy


def seed_u64(seed: object) -> int:
    """Any integer seed folded to an unsigned 64-bit value (two's complement for negatives)."""
    if isinstance(seed, bool):
        raise TypeError("seed must be an integer, not bool")
    return operator.index(seed) & MASK64  # type: ignore[arg-type]
