"""The tick schedule: every system of a zone, in the one order they run.

A tick (`Zone.step`) runs these stages, each timed (`Zone.timings_ms`):

1. ``apply_intents``  - ownership checks for intents queued since the last tick, in arrival
                        order; Inputs become held controls (last one per ship wins); Dock,
                        Undock and Jump are queued for stage 7. (actions.apply_intents)
2. ``steering``       - turn, thrust along heading, brake, speed cap. (movement.steer)
3. ``jump_charge``    - count down charging jumps; finished ships leave (JumpOut) before they
                        move again. (actions.charge_jumps)
4. ``integrate``      - position += velocity * dt. (movement.integrate)
5. ``collide``        - swept ship-vs-static collisions: push out, reflect, Collided on new
                        contact. No ship-vs-ship collisions (see collision.py). (collision)
6. ``boundary``       - soft push back beyond 1.5 system radii. (movement.keep_in_bounds)
7. ``docking``        - Dock, Undock and Jump requests in arrival order, against the positions
                        and speeds this tick produced. (actions.resolve_actions)
8. ``grid``           - rebuild the dynamic SpatialGrid over final positions, for neighbour
                        queries until the next tick. (rebuild_grid)

Why this order: intents first so a tick reacts to everything that arrived before it; steering
before integration so velocity changes take effect in the same tick; collisions and the
boundary after integration so published positions are always resolved; discrete actions last
so docking checks the position the client will be shown; the grid last so it matches the frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

import numpy as np

from callister.sim.actions import apply_intents, charge_jumps, resolve_actions
from callister.sim.collision import collide_statics
from callister.sim.grid import SpatialGrid
from callister.sim.layout import ZoneLayout
from callister.sim.movement import integrate, keep_in_bounds, steer
from callister.sim.rules import BOUNDARY_FACTOR, GRID_BOUNDS_MARGIN, GRID_CELL_SIZE
from callister.sim.state import SimState


def zone_grid(layout: ZoneLayout) -> SpatialGrid:
    """An empty neighbour grid for a zone: fixed bounds a little past the boundary wall, so it
    can be updated incrementally, and at most 256 x 256 cells however big the system."""
    half = BOUNDARY_FACTOR * layout.radius + GRID_BOUNDS_MARGIN
    cell = max(GRID_CELL_SIZE, 2 * half / 256)
    empty = np.empty(0, dtype=np.float32)
    return SpatialGrid(empty, empty, cell, bounds=(-half, -half, half, half))


def rebuild_grid(state: SimState) -> None:
    """Bring `state.grid` up to the live positions (rows are store rows).

    Incremental: a tick moves only a few % of ships across a cell border, and only those are
    re-sorted (a full sort happens when ships were added or removed).
    """
    n = state.store.count
    state.grid.update(state.store.x[:n], state.store.y[:n])
    state.grid_version = state.store.version


System = Callable[[SimState], None]

SCHEDULE: Final[tuple[tuple[str, System], ...]] = (
    ("apply_intents", apply_intents),
    ("steering", steer),
    ("jump_charge", charge_jumps),
    ("integrate", integrate),
    ("collide", collide_statics),
    ("boundary", keep_in_bounds),
    ("docking", resolve_actions),
    ("grid", rebuild_grid),
)
STAGE_NAMES: Final = tuple(name for name, _ in SCHEDULE)


def run_schedule(state: SimState, last_ms: dict[str, float], total_ms: dict[str, float]) -> None:
    """Run every stage once, in SCHEDULE order, recording milliseconds per stage.

    `last_ms` is overwritten with this tick's times; `total_ms` accumulates them.
    """
    clock = time.perf_counter
    for name, system in SCHEDULE:
        start = clock()
        system(state)
        elapsed = (clock() - start) * 1000.0
        last_ms[name] = elapsed
        total_ms[name] = total_ms.get(name, 0.0) + elapsed
