"""Portable integer hashing: splitmix64 mixing on explicitly masked unsigned 64-bit values.

Everything the universe generates starts here. Only integer operations are used, so the results
are identical on every machine, Python version and process (unlike ``hash()``, which is salted
per process for str and differs between builds).
"""

from __future__ import annotations

from callister.universe.space import MASK64

GOLDEN = 0x9E3779B97F4A7C15
MIX_M1 = 0xBF58476D1CE4E5B9
MIX_M2 = 0x94D049BB133111EB


def mix64(z: int) -> int:
    """The splitmix64 finaliser: a bijection on u64 with good avalanche. Input must be masked."""
    z = ((z ^ (z >> 30)) * MIX_M1) & MASK64
    z = ((z ^ (z >> 27)) * MIX_M2) & MASK64
    return z ^ (z >> 31)


def hash_xy(seed: int, x: int, y: int, salt: int) -> int:
    """A u64 hash of (seed, x, y, salt); x and y may be any ints (folded to u64 first).

    Chained mixing (rather than a linear combination) keeps it injective in each argument
    separately, so neighbouring sectors never share a hash by construction.
    """
    h = mix64((seed ^ ((salt * GOLDEN) & MASK64)) & MASK64)
    h = mix64(h ^ (x & MASK64))
    return mix64(h ^ (y & MASK64))


class Rng:
    """A splitmix64 stream: cheap, deterministic, portable. Not for cryptography.

    Each method draws exactly one u64 (except `weighted`, also one), so the sequence of values
    a generator sees depends only on the sequence of calls. The mixing is written out in every
    method because a nested method call costs as much as the mixing itself, and generation
    draws tens of values per system.
    """

    __slots__ = ("state",)

    def __init__(self, seed: int) -> None:
        self.state = seed & MASK64

    def next(self) -> int:
        """The next u64."""
        self.state = s = (self.state + GOLDEN) & MASK64
        z = ((s ^ (s >> 30)) * MIX_M1) & MASK64
        z = ((z ^ (z >> 27)) * MIX_M2) & MASK64
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        """A value in [0, n). Uses the top bits via multiply-shift (bias < n / 2**64)."""
        self.state = s = (self.state + GOLDEN) & MASK64
        z = ((s ^ (s >> 30)) * MIX_M1) & MASK64
        z = ((z ^ (z >> 27)) * MIX_M2) & MASK64
        return ((z ^ (z >> 31)) * n) >> 64

    def between(self, lo: int, hi: int) -> int:
        """A value in [lo, hi], both inclusive."""
        self.state = s = (self.state + GOLDEN) & MASK64
        z = ((s ^ (s >> 30)) * MIX_M1) & MASK64
        z = ((z ^ (z >> 27)) * MIX_M2) & MASK64
        return lo + (((z ^ (z >> 31)) * (hi - lo + 1)) >> 64)

    def chance(self, per_mille: int) -> bool:
        """True with probability per_mille / 1000."""
        self.state = s = (self.state + GOLDEN) & MASK64
        z = ((s ^ (s >> 30)) * MIX_M1) & MASK64
        z = ((z ^ (z >> 27)) * MIX_M2) & MASK64
        return (((z ^ (z >> 31)) * 1000) >> 64) < per_mille

    def weighted(self, weights: tuple[int, ...]) -> int:
        """An index into `weights` chosen with probability proportional to its weight."""
        self.state = s = (self.state + GOLDEN) & MASK64
        z = ((s ^ (s >> 30)) * MIX_M1) & MASK64
        z = ((z ^ (z >> 27)) * MIX_M2) & MASK64
        pick = ((z ^ (z >> 31)) * sum(weights)) >> 64
        for i, w in enumerate(weights):
            if pick < w:
                return i
            pick -= w
        return len(weights) - 1  # unreachable with positive weights; keeps the type total


def cumulative(weights: tuple[int, ...]) -> tuple[int, ...]:
    """Thresholds for choosing by weight from 16 random bits: the index `bisect_right(table, u)`
    for u uniform in [0, 65536) is i with probability ~ weights[i] / sum (to 1/65536)."""
    total = sum(weights)
    if total <= 0 or min(weights) < 0:
        raise ValueError("weights must be non-negative with a positive sum")
    out = []
    run = 0
    for w in weights:
        run += w
        out.append((run << 16) // total)
    return tuple(out)
