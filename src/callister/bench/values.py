"""`callister bench values`: what it costs to make the values the tick and the generator make.

A zone's step builds its events (`sim/events.py`: a `Hit` and a `Fired` per shot in a battle, a
`Refused` per refused intent) and `ShipState`s (every status, every hand-off); the generator
builds ~40 `universe/model.py` values per system. Each is built here the way its producer builds
it (positional or keyword arguments, the same field counts), `number` times per run; the figure
is the best of `repeat` runs, in nanoseconds per value, so a busy machine inflates it less.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from typing import Any

from callister.protocol.errors import ErrorCode
from callister.sim.events import Docked, Fired, Hit, Refused, ShipState
from callister.universe import Rock, Station


def _cases() -> dict[str, Callable[[], Any]]:
    weapons, ammo = ("laser", "cannon"), (0, 40)

    def ship_state() -> Any:  # as sim/state.py's ship_state builds it
        return ShipState(
            id=7, owner=3, hull="shuttle", x=1.0, y=2.0, vx=0.5, vy=-0.5, angle=0.1,
            docked_at=None, hull_hp=100.0, shield=50.0, energy=80.0, fuel=90.0,
            weapons=weapons, ammo=ammo,
        )  # fmt: skip

    code = ErrorCode.COOLDOWN
    return {
        "ShipState (15 fields, keywords)": ship_state,
        "Hit (9 fields)": lambda: Hit(7, 3, 8, 4, "laser", 1.5, 2.5, 10.0, 20.0),
        "Fired (11 fields)": lambda: Fired(7, 3, 0, "laser", 8, 1.0, 2.0, 3.0, 4.0, True, 0),
        "Refused (6 fields)": lambda: Refused(3, 7, "fire", code, "cooling down", True),
        "Docked (2 fields)": lambda: Docked(7, 1),
        "Station (8 of 9 fields)": lambda: Station(
            0, "A Hub", "concord", ("refuel",), 10, 20, 100, 250
        ),
        "Rock (3 fields)": lambda: Rock(1, 2, 3),
    }


def run_values_bench(number: int = 200_000, repeat: int = 7) -> dict[str, Any]:
    """Nanoseconds to construct each value (best of `repeat` runs of `number`), with the empty
    call's cost (the lambda around it) measured the same way and subtracted.

    Returns {"number", "repeat", "call_ns", "ns": {value: ns}}. ValueError if `number` or
    `repeat` < 1."""
    if number < 1 or repeat < 1:
        raise ValueError("number and repeat must be >= 1")

    def best(fn: Callable[[], Any]) -> float:
        return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e9

    call_ns = best(lambda: None)
    ns = {name: round(max(0.0, best(fn) - call_ns), 1) for name, fn in _cases().items()}
    return {"number": number, "repeat": repeat, "call_ns": round(call_ns, 1), "ns": ns}
