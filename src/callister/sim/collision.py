"""Ships against static colliders (star, stations, rocks): the method, and its events.

Per tick, after integration (the loop is `kernels.move_ships`, run by `movement.move`):
1. Each undocked ship takes the colliders listed in its cell of the static raster (one array
   lookup per ship; most ships are in empty space and stop here).
2. For each listed collider, a swept test: the ship's centre moved along the segment
   p0 -> p1 = p0 + v * dt this tick; it hit the collider if that segment enters the circle of
   radius r_ship + r_collider. Sweeping, not just testing p1, is what stops a fast ship from
   tunnelling through a small rock between two ticks. A float32 pre-test, grown by a small
   slack so rounding can only let extra pairs through, skips the exact float64 test for
   colliders the path does not come near.
3. Each ship resolves its earliest hit: it is put back on the surface (plus PUSH_OUT_EPSILON)
   where the segment entered, and the normal component of its velocity is reflected and scaled
   by RESTITUTION (or just removed below RESTING_SPEED, so pressing ships come to rest). One
   more discrete pass pushes it out of any other collider it now overlaps (rocks may touch).
4. A `Collided` event is raised only for a *new* contact: a ship that keeps pressing against
   the rock it touched last tick (within CONTACT_SLOP) raises nothing more.

Ship-against-ship collision is deliberately not simulated: crowds gather at stations and jump
points, and letting ships pass through each other avoids pile-ups, griefing by blocking and an
O(crowd^2) cost exactly where players cluster. Neighbour queries (weapons, area of interest)
use the dynamic grid instead.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from callister.sim.events import Collided
from callister.sim.state import SimState
from callister.sim.statics import COLLIDER_NAMES


def raise_collided(
    state: SimState,
    rows: NDArray[np.int64],
    colliders: NDArray[np.int32],
    speeds: NDArray[np.float64],
    new: NDArray[np.bool_],
) -> None:
    """Append a `Collided` for each hit that is a new contact, in ship id order (whatever the
    row layout). The arrays describe this tick's hits: row, collider, impact speed, new?"""
    fresh = np.flatnonzero(new)
    if fresh.size == 0:
        return
    ids = state.store.ids[rows[fresh]]
    order = np.argsort(ids)
    fresh = fresh[order]
    which = colliders[fresh]
    statics = state.statics
    names = COLLIDER_NAMES
    state.events.extend(
        Collided(ship, names[kind], index, speed)  # positional: 30 % cheaper, 300 a tick
        for ship, kind, index, speed in zip(
            ids[order].tolist(),
            statics.kind[which].tolist(),
            statics.index[which].tolist(),
            speeds[fresh].tolist(),
            strict=True,
        )
    )
