"""Where systems are: integer value noise gives the galaxy clusters and voids.

A sector holds a system when a 16-bit hash of (seed, x, y) falls below a threshold that depends
on the local density. The density is value noise on three lattices (cells of 128, 32 and 8
sectors), interpolated in fixed point with a smoothstep table, and shaped by a piecewise-linear
table into a probability. Everything is integer arithmetic, so every machine agrees on which
sectors hold a system.
"""

from __future__ import annotations

from functools import lru_cache

from callister.universe.hashing import GOLDEN, MIX_M1, MIX_M2, mix64
from callister.universe.params import DEFAULT_PARAMS, GeneratorParams, settings_at
from callister.universe.space import (
    BLOCK_BITS,
    MASK64,
    SECTOR_MARGIN,
    SECTOR_MAX,
    SECTOR_MIN,
    SECTOR_SIZE,
)

SALT_SECTOR = 0x5EC7
SALT_NOISE = 0xD3A5

# (cell size as a power of two, weight): large cells make voids and superclusters, small ones
# break up their edges so clusters look organic rather than square.
OCTAVES: tuple[tuple[int, int], ...] = ((7, 5), (5, 3), (3, 2))
_WEIGHT_SUM = sum(w for _, w in OCTAVES)
assert len(OCTAVES) == 3, "block() is unrolled for three octaves"

# Density noise (0..65535, sampled every 4096) -> probability a sector holds a system, in
# 1/65536. Calibrated on the noise histogram: of all space about 17% is void (< 3% of sectors
# hold a system), 15% sparse (3-12%), 53% ordinary (12-35%) and 15% cluster (35-82%); 20% of
# all sectors hold a system. Above ~12% the jump network percolates (see links.py).
_SHAPE_PER_MILLE: tuple[int, ...] = (
    0, 0, 0, 0, 5, 10, 30, 120, 180, 220, 300, 450, 620, 720, 780, 800, 820,
)  # fmt: skip
_SHAPE: tuple[int, ...] = tuple(p * 65536 // 1000 for p in _SHAPE_PER_MILLE)
assert list(_SHAPE) == sorted(_SHAPE), "block() relies on probability never decreasing"


def _fade_table(bits: int) -> tuple[int, ...]:
    # smoothstep 3t^2 - 2t^3 in 1/1024, so lattice lines do not show as creases in the density
    size = 1 << bits
    return tuple((3 * t * t * size - 2 * t * t * t) * 1024 // size**3 for t in range(size))


_FADES = tuple(_fade_table(bits) for bits, _ in OCTAVES)


def _corner(seed: int, octave: int, cx: int, cy: int) -> int:
    """A 16-bit value at a lattice corner."""
    h = mix64((seed ^ (((SALT_NOISE + octave) * GOLDEN) & MASK64)) & MASK64)
    h = mix64(h ^ (cx & MASK64))
    return mix64(h ^ (cy & MASK64)) >> 48


@lru_cache(maxsize=1 << 14)
def _cell(seed: int, octave: int, cx: int, cy: int) -> tuple[int, int, int, int]:
    # one cache entry per lattice cell: its four corner values, in the order the
    # interpolation below reads them
    return (
        _corner(seed, octave, cx, cy),
        _corner(seed, octave, cx + 1, cy),
        _corner(seed, octave, cx, cy + 1),
        _corner(seed, octave, cx + 1, cy + 1),
    )


def noise(seed: int, x: int, y: int) -> int:
    """The density noise at sector (x, y): an int in [0, 65535], smooth over a few sectors.

    The reference form of what `block` computes for 16 sectors at once (tests hold them equal).
    """
    total = 0
    for octave, (bits, weight) in enumerate(OCTAVES):
        mask = (1 << bits) - 1
        fade = _FADES[octave]
        fx = fade[x & mask]  # x & mask is the offset inside the cell, also for negative x
        fy = fade[y & mask]
        v00, v10, v01, v11 = _cell(seed, octave, x >> bits, y >> bits)
        top = weight * (v00 * (1024 - fx) + v10 * fx)
        bottom = weight * (v01 * (1024 - fx) + v11 * fx)
        total += (top * (1024 - fy) + bottom * fy) >> 20
    return total // _WEIGHT_SUM


def probability(n: int) -> int:
    """The chance (in 1/65536) that a sector with density noise `n` holds a system."""
    i = n >> 12
    f = n & 4095
    return (_SHAPE[i] * (4096 - f) + _SHAPE[i + 1] * f) >> 12


BLOCK = 1 << BLOCK_BITS  # systems are found a block of 4 x 4 sectors at a time
assert all(bits >= BLOCK_BITS for bits, _ in OCTAVES), "a block must lie in one cell per octave"
_SPAN = SECTOR_SIZE - 2 * SECTOR_MARGIN + 1

# one entry of a block: (sector x, sector y, galaxy x, galaxy y, sector hash)
Entry = tuple[int, int, int, int, int]


def scaled(p: int, density: int) -> int:
    """Probability `p` (in 1/65536) scaled by `density` percent, capped at certainty."""
    return min(65536, p * density // 100)


@lru_cache(maxsize=1 << 15)
def block(
    seed: int, bx: int, by: int, params: GeneratorParams = DEFAULT_PARAMS
) -> tuple[Entry, ...]:
    """The systems in sectors [4bx, 4bx+4) x [4by, 4by+4), row by row.

    A sector (x, y) holds a system iff the low 16 bits of its hash are below the probability
    given by the density noise there; the galaxy offset comes from higher bits of the same hash.
    Working a block at a time shares the lattice look-ups and half of the hashing between
    sectors, which makes scanning space several times cheaper than sector by sector. Sectors
    outside the int64 range are never produced (edge blocks are clipped).
    `seed` must be u64 already. The block's density (params, or its named region's) scales
    the probability in integer arithmetic; at 100% nothing is scaled.
    """
    x0 = bx << BLOCK_BITS
    y0 = by << BLOCK_BITS
    xs = [x for x in range(x0, x0 + BLOCK) if SECTOR_MIN <= x <= SECTOR_MAX]
    ys = [y for y in range(y0, y0 + BLOCK) if SECTOR_MIN <= y <= SECTOR_MAX]
    base = mix64((seed ^ ((SALT_SECTOR * GOLDEN) & MASK64)) & MASK64)
    col_hash = [mix64(base ^ (x & MASK64)) for x in xs]
    # per octave: the lattice cell holding the whole block (cells are >= 8 sectors and
    # aligned, so a 4 x 4 block never straddles one), interpolated along x per column
    cols: list[list[tuple[int, int]]] = []
    rows: list[list[int]] = []
    ceiling = 0  # an upper bound of the noise anywhere in the block
    for octave, (bits, weight) in enumerate(OCTAVES):
        mask = (1 << bits) - 1
        fade = _FADES[octave]
        v00, v10, v01, v11 = _cell(seed, octave, x0 >> bits, y0 >> bits)
        ceiling += weight * max(v00, v10, v01, v11)
        col = []
        for x in xs:
            fx = fade[x & mask]
            col.append(
                (weight * (v00 * (1024 - fx) + v10 * fx), weight * (v01 * (1024 - fx) + v11 * fx))
            )
        cols.append(col)
        rows.append([fade[y & mask] for y in ys])
    (c0, c1, c2), (r0, r1, r2) = cols, rows
    # Interpolation never exceeds the largest corner and the shape table never decreases, so
    # no sector here is likelier than p_max: a hash at or above it settles the sector without
    # the noise (all of a void, most of an ordinary block).
    p_max = probability(ceiling // _WEIGHT_SUM)
    # scaling is monotonic, so the scaled p_max still bounds every scaled probability
    density = settings_at(params, bx, by).density
    if density != 100:
        p_max = scaled(p_max, density)
    out: list[Entry] = []
    for j, y in enumerate(ys):
        yu = y & MASK64
        f0, f1, f2 = r0[j], r1[j], r2[j]
        for i, x in enumerate(xs):
            h = col_hash[i] ^ yu
            h = ((h ^ (h >> 30)) * MIX_M1) & MASK64
            h = ((h ^ (h >> 27)) * MIX_M2) & MASK64
            h ^= h >> 31
            if (h & 0xFFFF) >= p_max:
                continue
            (t0, b0), (t1, b1), (t2, b2) = c0[i], c1[i], c2[i]
            n = (
                ((t0 * (1024 - f0) + b0 * f0) >> 20)
                + ((t1 * (1024 - f1) + b1 * f1) >> 20)
                + ((t2 * (1024 - f2) + b2 * f2) >> 20)
            ) // _WEIGHT_SUM
            k = n >> 12
            f = n & 4095
            p = (_SHAPE[k] * (4096 - f) + _SHAPE[k + 1] * f) >> 12
            if density != 100:
                p = scaled(p, density)
            if (h & 0xFFFF) >= p:
                continue
            gx = x * SECTOR_SIZE + SECTOR_MARGIN + ((((h >> 16) & 0xFFFFF) * _SPAN) >> 20)
            gy = y * SECTOR_SIZE + SECTOR_MARGIN + ((((h >> 36) & 0xFFFFF) * _SPAN) >> 20)
            out.append((x, y, gx, gy, h))
    return tuple(out)


@lru_cache(maxsize=1 << 16)
def sector_info(
    seed: int, x: int, y: int, params: GeneratorParams = DEFAULT_PARAMS
) -> Entry | None:
    """The block entry (x, y, gx, gy, hash) of the system in sector (x, y), or None if empty.

    `seed` must already be folded to u64 and (x, y) checked; callers in this package do both.
    """
    for entry in block(seed, x >> BLOCK_BITS, y >> BLOCK_BITS, params):
        if entry[0] == x and entry[1] == y:
            return entry
    return None
