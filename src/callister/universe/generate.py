"""Seed + sector -> star system: the universe's public entry points.

`generate_system` is a pure function of (seed, x, y, params): it reads only the base content
data, the world's generator parameters and its own integer hashes, so any process on any
machine produces the same system, byte for byte in `system_json`. All generated quantities are
integers (metres, ticks, millionths of a turn). Every entry point takes `params` (default
`DEFAULT_PARAMS`: the map as it was before parameters existed).
"""

from __future__ import annotations

import json

from callister.universe import regions
from callister.universe.bodies import build_system
from callister.universe.density import BLOCK_BITS, block, sector_info
from callister.universe.model import StarSystem
from callister.universe.params import DEFAULT_PARAMS, GeneratorParams
from callister.universe.space import MASK64, SECTOR_MAX, SECTOR_MIN, check_sector, seed_u64

MAX_NEIGHBOURHOOD = 64


def generate_system(
    seed: int, x: int, y: int, params: GeneratorParams = DEFAULT_PARAMS
) -> StarSystem | None:
    """The star system in sector (x, y) of world `seed` generated under `params`, or None if
    the sector is empty.

    Pure and portable: the same arguments give an equal system (and byte-identical
    `system_json`) in any process on any machine. `seed` is any int (folded to u64).
    Raises ValueError if (x, y) lies outside the signed 64-bit range, TypeError for non-ints.
    """
    x, y = check_sector(x, y)
    s = seed_u64(seed)
    entry = sector_info(s, x, y, params)
    if entry is None:
        return None
    return build_system(s, entry, params)


def has_system(seed: int, x: int, y: int, params: GeneratorParams = DEFAULT_PARAMS) -> bool:
    """Whether sector (x, y) holds a system; cheap (cached), same rules as `generate_system`.

    Raises like `generate_system` for bad coordinates.
    """
    # fast path for the common case (plain ints in range); anything else gets the full checks
    if not (type(x) is int and type(y) is int and SECTOR_MIN <= x <= SECTOR_MAX >= y >= SECTOR_MIN):
        x, y = check_sector(x, y)
    if not (type(seed) is int and 0 <= seed <= MASK64):
        seed = seed_u64(seed)
    return sector_info(seed, x, y, params) is not None


def neighbourhood(
    seed: int, x: int, y: int, radius: int, params: GeneratorParams = DEFAULT_PARAMS
) -> list[StarSystem]:
    """Every system with |dx| <= radius and |dy| <= radius of sector (x, y), ordered by (y, x).

    Clamped at the edges of the sector range. `radius` must be 0..MAX_NEIGHBOURHOOD
    (ValueError otherwise), which bounds the work a single call can cause.
    """
    x, y = check_sector(x, y)
    if isinstance(radius, bool) or not isinstance(radius, int):
        raise TypeError("radius must be an int")
    if not 0 <= radius <= MAX_NEIGHBOURHOOD:
        raise ValueError(f"radius must be within 0..{MAX_NEIGHBOURHOOD}, not {radius}")
    s = seed_u64(seed)
    x0, x1 = max(x - radius, SECTOR_MIN), min(x + radius, SECTOR_MAX)
    y0, y1 = max(y - radius, SECTOR_MIN), min(y + radius, SECTOR_MAX)
    found = []
    for by in range(y0 >> BLOCK_BITS, (y1 >> BLOCK_BITS) + 1):
        for bx in range(x0 >> BLOCK_BITS, (x1 >> BLOCK_BITS) + 1):
            for entry in block(s, bx, by, params):
                if x0 <= entry[0] <= x1 and y0 <= entry[1] <= y1:
                    found.append(entry)
    found.sort(key=lambda e: (e[1], e[0]))
    return [build_system(s, e, params) for e in found]


def region_faction(seed: int, x: int, y: int, params: GeneratorParams = DEFAULT_PARAMS) -> str:
    """The key of the faction whose territory holds sector (x, y), empty or not; a system's
    `faction`. Raises like `generate_system` for bad coordinates."""
    x, y = check_sector(x, y)
    return regions.region_faction(seed_u64(seed), x, y, params)


def system_json(system: StarSystem) -> bytes:
    """Canonical JSON of `system.to_dict()`: sorted keys, no spaces, ASCII. Byte-identical for
    equal systems in any process (all values are ints, strings, bools and lists)."""
    return json.dumps(
        system.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True
    ).encode("ascii")
