"""Flight systems: steering, then moving (integration, static collisions, the system boundary).

Each function is one stage of the schedule and one or two compiled loops over the live rows
(`kernels`), so a stage costs a few microseconds in a 5-ship zone and one pass over memory in a
100k-ship one. Docked ships are masked inside the loops rather than skipped.
"""

from __future__ import annotations

import numpy as np

from callister.sim.collision import raise_collided
from callister.sim.events import FuelEmpty
from callister.sim.kernels import move_ships, thrust_ships, turn_ships
from callister.sim.rules import BOUNDARY_ACCEL, BOUNDARY_FACTOR, CRUISE_RAMP_S
from callister.sim.state import SimState


def steer(state: SimState) -> None:
    """Apply each undocked ship's held controls for one tick.

    In order: turn (turn * turn_rate * dt, heading kept in [-pi, pi]); thrust along the new
    heading (thrust * accel * dt); brake (speed reduced by accel * dt towards 0, never
    reversing; a braking ship does not thrust); speed cap (velocity scaled down to max_speed).
    A cruising ship (autopilot.py) thrusts at cruise_speed / CRUISE_RAMP_S and is capped at
    cruise_speed instead.
    Sets the THRUSTING flag exactly for ships that thrusted this tick. Docked ships keep their
    held controls but do not move or turn.

    Fuel: thrust burns fuel_burn * thrust * dt, braking a moving ship fuel_burn * dt, both
    times the world's fuel multiplier (cruising: cruise_fuel per metre flown, instead); a ship
    with an empty tank neither thrusts nor brakes (it drifts; turning still works) and carries
    NO_FUEL. `FuelEmpty` is raised, in ship id
    order, for each tank that ran dry this tick. The per-tick flags SHIELD_HIT and FIRING are
    cleared here, before the stages that set them.
    """
    store = state.store
    n = store.count
    if n == 0:
        return
    dt = np.float32(state.dt)
    turn_ships(n, dt, store.flags, store.angle, store.turn, store.turn_rate)
    # The heading's cos/sin between the two loops: numpy's SIMD float32 trig is far cheaper
    # than a libm call per ship inside the kernel.
    cos, sin = state.scratch_trig()
    np.cos(store.angle[:n], out=cos[:n])
    np.sin(store.angle[:n], out=sin[:n])
    emptied = state.scratch("fuel_emptied", np.bool_)
    dry = thrust_ships(
        n,
        dt,
        store.flags,
        store.kind,
        store.vx,
        store.vy,
        store.thrust,
        store.brake,
        store.accel,
        store.max_speed,
        cos,
        sin,
        store.fuel,
        store.fuel_burn,
        np.float32(state.rules.fuel_multiplier),
        emptied,
        store.cruise,
        store.cruise_speed,
        store.cruise_fuel,
        np.float32(1.0 / CRUISE_RAMP_S),
    )
    if dry:
        rows = np.flatnonzero(emptied[:n])
        rows = rows[np.argsort(store.ids[rows])]
        state.events.extend(
            FuelEmpty(ship, owner)
            for ship, owner in zip(
                store.ids[rows].tolist(), store.owner[rows].tolist(), strict=True
            )
        )


def move(state: SimState) -> None:
    """Move every ship by velocity * dt, resolve it against the static colliders (the method is
    in collision.py's docstring) and push back ships beyond the boundary.

    The boundary is a soft wall at BOUNDARY_FACTOR system radii: beyond it a ship loses
    BOUNDARY_DAMPING of its outward speed per tick and gains BOUNDARY_ACCEL inward, which beats
    every hull's thrust, so a ship flying straight out at full speed overshoots by a bounded
    distance (a few hundred metres) and comes back. Docked ships have zero velocity and stay.
    A `Collided` event is raised for each new contact, in ship id order.
    """
    store = state.store
    n = store.count
    if n == 0:
        return
    statics = state.statics
    limit = BOUNDARY_FACTOR * state.layout.radius
    near, near_slot, hit_rows, hit_static, hit_speed, hit_new = state.scratch_hits()
    hits = move_ships(
        n,
        np.float32(state.dt),
        state.dt,
        np.float32(limit * limit),
        np.float32(BOUNDARY_ACCEL * state.dt),
        store.flags,
        store.kind,
        store.x,
        store.y,
        store.vx,
        store.vy,
        store.radius,
        store.contact,
        statics.x,
        statics.y,
        statics.r,
        *statics.raster,
        near,
        near_slot,
        hit_rows,
        hit_static,
        hit_speed,
        hit_new,
    )
    if hits:
        raise_collided(state, hit_rows[:hits], hit_static[:hits], hit_speed[:hits], hit_new[:hits])
