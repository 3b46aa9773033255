"""The star systems a benchmark runs in: the generated universe around sector (0, 0)."""

from __future__ import annotations

from callister.universe import StarSystem
from callister.universe.generate import neighbourhood


def bench_systems(seed: int, count: int) -> list[StarSystem]:
    """The first `count` star systems around sector (0, 0), nearest rings first."""
    radius = 2
    while True:
        found = neighbourhood(seed, 0, 0, radius)
        if len(found) >= count:
            return sorted(found, key=lambda s: (max(abs(s.x), abs(s.y)), s.y, s.x))[:count]
        radius *= 2
