"""Where a character arriving in a world (a move, an evacuation, a fork with a new seed) is put:
docked at one of the world's home stations, chosen by account id like a new character."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from callister.universe import DEFAULT_PARAMS, GeneratorParams, generate_system

MAX_RADIUS = 200


@lru_cache(maxsize=64)
def home_systems(
    seed: int, count: int, params: GeneratorParams = DEFAULT_PARAMS
) -> tuple[tuple[int, int, int, float, float], ...]:
    """The first `count` systems with a station and jump links, spiralling out from (0, 0):
    (x, y, station index, station x, station y). The same choice World.start makes."""
    homes: list[tuple[int, int, int, float, float]] = []
    for radius in range(MAX_RADIUS + 1):
        for x, y in _ring(radius):
            system = generate_system(seed, x, y, params)
            if system is not None and system.stations and system.links:
                st = system.stations[0]
                homes.append((x, y, st.index, float(st.x), float(st.y)))
                if len(homes) == count:
                    return tuple(homes)
    raise RuntimeError(f"no system with a station within {MAX_RADIUS} sectors of the origin")


def home_placement(
    seed: int, count: int, account_id: int, params: GeneratorParams = DEFAULT_PARAMS
) -> dict[str, Any]:
    """The placement fields (see store.worlds.move_character) for the account in world `seed`
    generated under `params`."""
    homes = home_systems(seed, count, params)
    x, y, station, sx, sy = homes[account_id % len(homes)]
    return {
        "system_x": x,
        "system_y": y,
        "x": sx,
        "y": sy,
        "vx": 0.0,
        "vy": 0.0,
        "angle": 0.0,
        "docked_at": station,
        "home_x": x,
        "home_y": y,
        "home_station": station,
    }


def _ring(r: int) -> list[tuple[int, int]]:
    if r == 0:
        return [(0, 0)]
    cells = [(x, -r) for x in range(-r, r + 1)] + [(x, r) for x in range(-r, r + 1)]
    cells += [(-r, y) for y in range(-r + 1, r)] + [(r, y) for y in range(-r + 1, r)]
    return cells
