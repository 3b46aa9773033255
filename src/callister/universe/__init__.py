"""The universe: pure functions from (world seed, generator parameters, sector x, y) to a star
system or nothing.

No I/O, no asyncio, no threads; only stdlib and `callister.content`. Every structural decision
is integer arithmetic on portable hashes, so every machine generates the same universe.
"""

from callister.universe.deltas import DELTA_KEYS, apply_deltas
from callister.universe.generate import (
    MAX_NEIGHBOURHOOD,
    generate_system,
    has_system,
    neighbourhood,
    region_faction,
    system_json,
)
from callister.universe.links import (
    LINK_RANGE,
    MAX_LINKS,
    arrival_point,
    gates_of,
    jump_bearing,
)
from callister.universe.model import (
    PLANET_KINDS,
    SERVICES,
    STAR_CLASSES,
    AsteroidField,
    Gate,
    Planet,
    Rock,
    Star,
    StarSystem,
    Station,
)
from callister.universe.params import (
    DEFAULT_PARAMS,
    GeneratorParams,
    GeneratorParamsError,
    Region,
)
from callister.universe.space import GENERATOR_VERSION, SECTOR_MAX, SECTOR_MIN, SECTOR_SIZE, TICK_HZ


def clear_caches() -> None:
    """Empty every memo cache of the universe layer (for honest cold-cache benchmarks)."""
    from callister.universe import bodies, density, links, params, regions

    for fn in (
        density.block,
        density.sector_info,
        density._cell,
        links.gabriel,
        links.links_of,
        regions.block_faction,
        regions._region_point,
        params._regional,
        bodies.stations_table,
    ):
        fn.cache_clear()


__all__ = [
    "DEFAULT_PARAMS",
    "DELTA_KEYS",
    "GENERATOR_VERSION",
    "LINK_RANGE",
    "MAX_LINKS",
    "MAX_NEIGHBOURHOOD",
    "PLANET_KINDS",
    "SECTOR_MAX",
    "SECTOR_MIN",
    "SECTOR_SIZE",
    "SERVICES",
    "STAR_CLASSES",
    "TICK_HZ",
    "AsteroidField",
    "Gate",
    "GeneratorParams",
    "GeneratorParamsError",
    "Planet",
    "Region",
    "Rock",
    "Star",
    "StarSystem",
    "Station",
    "apply_deltas",
    "arrival_point",
    "clear_caches",
    "gates_of",
    "generate_system",
    "has_system",
    "jump_bearing",
    "neighbourhood",
    "region_faction",
    "system_json",
]
