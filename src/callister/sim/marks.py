"""Status marks: one 64-bit number per ship that changes whenever what its status shows does.

The server sends each player a status (hull, shield, energy, fuel, weapons and cooldowns,
autopilot, cruise, ...) a few times a second, and only when it changed. Building it is a
few dozen Python-level reads per ship; in a crowded system most ships' status is the same as
last time, so the fan-out first compares marks computed here for every due ship in one
vectorised pass, and builds a status only where the mark moved (server/fanout.py).

A mark mixes the columns a status reads, rounded the way the status rounds them (whole points
of hull, shield, energy and fuel), so fuel burning by a fraction of a unit does not count as a
change. Anything that counts down every tick (a weapon cooling down, a criminal timer) changes
the mark every tick: those ships always get a fresh status. Marks are for change detection
only: two different states share a mark with probability 2**-64.
"""

from __future__ import annotations

import functools
from typing import Final

import numpy as np
from numpy.typing import NDArray

from callister.sim.entities import (
    CRIMINAL,
    DOCKED,
    JUMPING,
    KIND_SHIP,
    MINING,
    NO_FUEL,
    EntityStore,
)

_SHOWN_FLAGS: Final = DOCKED | JUMPING | CRIMINAL | MINING | NO_FUEL
"""The flag bits a status reflects (not THRUSTING, FIRING or SHIELD_HIT: they flicker with the
controls, and what they change shows up in the other columns)."""

_ROUNDED: Final = ("hull_hp", "shield", "energy", "fuel")  # the status shows whole points
_EXACT: Final = (
    "hull_max", "shield_max", "energy_max", "fuel_max", "slots", "mine_rock", "docked_at",
    "ap_kind", "ap_index", "ap_target", "ap_x", "ap_y", "cruise",
)  # fmt: skip
_SLOTTED: Final = ("weapon", "ammo")


@functools.cache
def _mixers(count: int) -> NDArray[np.uint64]:
    """Odd 64-bit multipliers, one per mixed value (fixed: marks compare across ticks)."""
    rng = np.random.default_rng(0x5747_5553)
    return rng.integers(1, 2**63, size=count, dtype=np.uint64) * np.uint64(2) + np.uint64(1)


def status_marks(store: EntityStore, ship_ids: list[int], tick: int) -> list[int]:
    """A mark per ship id: 0 where the store holds no such ship, else a non-zero number that
    changes whenever the ship's status would (see the module's docstring)."""
    rows_of = store.row_map
    rows = np.fromiter((rows_of.get(i, -1) for i in ship_ids), dtype=np.intp, count=len(ship_ids))
    held = rows >= 0
    if held.any():
        held[held] = store.kind[rows[held]] == KIND_SHIP
    marks = np.zeros(len(ship_ids), dtype=np.uint64)
    if not held.any():
        return marks.tolist()
    r = rows[held]
    columns: list[NDArray[np.float64]] = [
        np.round(np.maximum(getattr(store, name)[r], 0.0)) for name in _ROUNDED
    ]
    columns += [getattr(store, name)[r].astype(np.float64) for name in _EXACT]
    columns.append((store.flags[r] & _SHOWN_FLAGS).astype(np.float64))
    criminal = (store.flags[r] & CRIMINAL) != 0
    columns.append(
        np.where(criminal, np.maximum(store.criminal_until[r] - tick, 0), 0).astype(np.float64)
    )
    values = np.column_stack(columns)
    slotted = [getattr(store, name)[r].astype(np.float64) for name in _SLOTTED]
    slotted.append(np.maximum(store.ready[r] - tick, 0).astype(np.float64))  # cooldowns
    values = np.hstack([values, *slotted])
    bits = values.view(np.uint64)
    mixed = (bits * _mixers(bits.shape[1])[None, :]).sum(axis=1, dtype=np.uint64)
    marks[held] = mixed | np.uint64(1)  # never 0: 0 means "not here"
    return marks.tolist()
