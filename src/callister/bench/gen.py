"""`callister bench gen`: how fast the universe generator produces systems, from a cold cache.

Scans sectors in square rings outward from (0, 0), generating every system found (with its jump
links) until `systems` have been made. All universe caches are emptied first, so the figure
includes finding the systems, the density noise and the link graph, not just cache hits.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

from callister.content import load_content
from callister.universe import clear_caches, generate_system, has_system


def ring(r: int) -> Iterator[tuple[int, int]]:
    """The sectors at Chebyshev distance r from (0, 0), each once (ring 0 is the origin)."""
    if r == 0:
        yield (0, 0)
        return
    for x in range(-r, r + 1):
        yield (x, -r)
        yield (x, r)
    for y in range(-r + 1, r):
        yield (-r, y)
        yield (r, y)


def run_gen_bench(systems: int, seed: int = 1, progress: bool = False) -> dict[str, Any]:
    """Generate `systems` systems outward from the origin of world `seed`; report the rate.

    Returns {"systems", "systems_per_s", "seconds", "seed", "sectors_scanned",
    "links_per_system", "empty_fraction", "rocks_per_system", "stations_fraction"}.
    Raises ValueError if `systems` < 1.
    """
    if systems < 1:
        raise ValueError("systems must be at least 1")
    bar: Any = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=systems, unit="sys", file=sys.stderr, desc="generating")
    load_content()  # reading the data files is start-up, not generation
    clear_caches()
    made = scanned = links = rocks = with_station = 0
    started = time.perf_counter()
    r = 0
    while made < systems:
        for x, y in ring(r):
            scanned += 1
            if not has_system(seed, x, y):
                continue
            system = generate_system(seed, x, y)
            assert system is not None
            made += 1
            links += len(system.links)
            rocks += sum(len(f.rocks) for f in system.fields)
            with_station += bool(system.stations)
            if bar is not None and made % 256 == 0:
                bar.update(256)
            if made == systems:
                break
        r += 1
    seconds = time.perf_counter() - started
    if bar is not None:
        bar.update(made % 256)
        bar.close()
    return {
        "systems": made,
        "systems_per_s": made / seconds if seconds > 0 else float("inf"),
        "seconds": seconds,
        "seed": seed,
        "sectors_scanned": scanned,
        "links_per_system": links / made,
        "empty_fraction": 1.0 - made / scanned,
        "rocks_per_system": rocks / made,
        "stations_fraction": with_station / made,
    }
