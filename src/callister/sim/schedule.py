"""The tick schedule: every system of a zone, in the one order they run.

A tick (`Zone.step`) runs these stages, each timed (`Zone.timings_ms`):

1. ``apply_intents``  - ownership checks for intents queued since the last tick, in arrival
                        order; Inputs become held controls (last one per ship wins; one with
                        thrust, turn or brake cancels the autopilot); Autopilot and Cruise are
                        checked and set; Fire is queued for stage 4; Dock, Undock, Jump, Mine
                        and Loot for stage 10. (actions.apply_intents)
2. ``travel``         - cruise drives drop out, spool up or engage; the autopilot writes its
                        ships' held controls (route, braking curve, cruise on long legs) and
                        reports arrivals. (autopilot.travel)
3. ``steering``       - turn, thrust along heading, brake, speed cap (the cruise speed while
                        cruising), fuel burn (an empty tank drifts: FuelEmpty); clears the
                        per-tick flags. (movement.steer)
4. ``weapons``        - Fire intents checked and carried out in arrival order by one compiled
                        loop: beams land at once (Hit), shells and missiles are spawned with
                        pool ids. (combat.fire_weapons)
5. ``jump_charge``    - count down charging jumps; finished ships leave (JumpOut) before they
                        move again. (actions.charge_jumps)
6. ``move``           - position += velocity * dt for every entity; swept ship-vs-static
                        collisions (push out, reflect, Collided on new contact; no
                        ship-vs-ship, see collision.py); soft push back beyond 1.5 system
                        radii. One pass, ship by ship: ships do not interact here.
                        (movement.move)
7. ``shots``          - shells and missiles swept along this tick's path against ships (the
                        ship grid) and static colliders: hits, expiry, missile homing, in id
                        order. (combat.move_shots)
8. ``defences``       - lawful stations fire on criminals in range. (combat.station_defences)
9. ``destruction``    - ships whose hull reached 0 leave (Destroyed) and leave wrecks.
                        (combat.destroy_ships)
10. ``docking``       - Dock, Undock, Jump, Mine and Loot requests in arrival order, against
                        the positions and speeds this tick produced. (actions.resolve_actions)
11. ``vitals``       - energy and shield regeneration, criminal flags expire.
                        (combat.regenerate_vitals)
12. ``mining``       - miners gain ore and fields deplete (Mined, MiningStopped,
                        FieldChanged), fields regrow. (mining.mine)
13. ``wrecks``       - wrecks drift to rest and expire (WreckExpired). (combat.expire_wrecks)

and, lazily, ``grid``: the dynamic SpatialGrid over final positions is brought up to date on
the first neighbour query after a tick (`ensure_grid`), not in every tick: most zones are
never queried between two ticks (the gateway builds its own grid over the frame), and a
small zone's tick would otherwise be mostly grid upkeep. Its time shows under "grid" in the
timings of the tick it served.

Stages with nothing to do (no intents, no autopilot or cruise, no jump charging, no actions,
no fires, no shots, no criminals, no hits, no miners, no wrecks) return at once.

Why this order: intents first so a tick reacts to everything that arrived before it; travel
after the intents (a manual Input has already cancelled the autopilot) and before steering,
which applies the controls it wrote, and it sees last tick's hits and shots (SHIELD_HIT,
FIRING) before steering clears them; steering before integration so velocity changes take
effect in the same tick; weapons before the jump charge and the move, so a shot is checked
against the positions the shooter was shown and a ship cannot escape a shot fired in its last
tick; collisions and the boundary after
integration so published positions are always resolved; shells after the move so they sweep
exactly the path of this tick; every source of damage before destruction, so a ship dies once
with the right killer; destruction before the discrete actions so a dead ship cannot dock;
discrete actions after that so docking checks the position the client will be shown;
regeneration after all damage (a hit this tick restarts the shield delay first); mining after
docking so a ship that docked stops mining in the same tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

import numpy as np

from callister.sim.actions import apply_intents, charge_jumps, resolve_actions
from callister.sim.autopilot import travel
from callister.sim.combat import (
    destroy_ships,
    expire_wrecks,
    fire_weapons,
    move_shots,
    regenerate_vitals,
    station_defences,
)
from callister.sim.grid import SpatialGrid
from callister.sim.layout import ZoneLayout
from callister.sim.mining import mine
from callister.sim.movement import move, steer
from callister.sim.rules import BOUNDARY_FACTOR, GRID_BOUNDS_MARGIN, GRID_CELL_SIZE
from callister.sim.state import SimState, ensure_grid

__all__ = ["LAZY_GRID", "SCHEDULE", "STAGE_NAMES", "ensure_grid", "run_schedule", "zone_grid"]


def zone_grid(layout: ZoneLayout) -> SpatialGrid:
    """An empty neighbour grid for a zone: fixed bounds a little past the boundary wall, so it
    can be updated incrementally, and at most 256 x 256 cells however big the system."""
    half = BOUNDARY_FACTOR * layout.radius + GRID_BOUNDS_MARGIN
    cell = max(GRID_CELL_SIZE, 2 * half / 256)
    empty = np.empty(0, dtype=np.float32)
    return SpatialGrid(empty, empty, cell, bounds=(-half, -half, half, half))


System = Callable[[SimState], None]

SCHEDULE: Final[tuple[tuple[str, System], ...]] = (
    ("apply_intents", apply_intents),
    ("travel", travel),
    ("steering", steer),
    ("weapons", fire_weapons),
    ("jump_charge", charge_jumps),
    ("move", move),
    ("shots", move_shots),
    ("defences", station_defences),
    ("destruction", destroy_ships),
    ("docking", resolve_actions),
    ("vitals", regenerate_vitals),
    ("mining", mine),
    ("wrecks", expire_wrecks),
)
LAZY_GRID: Final = "grid"
STAGE_NAMES: Final = (*(name for name, _ in SCHEDULE), LAZY_GRID)
"""Every timed stage: the schedule's, then the lazily run grid update."""


def run_schedule(state: SimState, last_ms: dict[str, float], total_ms: dict[str, float]) -> None:
    """Run every stage once, in SCHEDULE order, recording milliseconds per stage.

    `last_ms` is overwritten with this tick's times (the lazy grid's starts at 0 and is set if
    a query updates it before the next tick); `total_ms` accumulates them.
    """
    clock = time.perf_counter
    before = clock()
    for name, system in SCHEDULE:
        system(state)
        after = clock()
        elapsed = (after - before) * 1000.0
        before = after
        last_ms[name] = elapsed
        total_ms[name] += elapsed
    last_ms[LAZY_GRID] = 0.0
