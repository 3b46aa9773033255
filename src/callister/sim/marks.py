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


DRIFTING: Final = ("energy", "fuel")
"""The rounded columns that creep while a ship just flies (thrust burns fuel, energy drains and
recharges): the fan-out holds a status that only they changed back for a while, so
`steady_marks` leaves them out of the mark and gives their whole points apart."""


def status_marks(store: EntityStore, ship_ids: list[int], tick: int) -> list[int]:
    """A mark per ship id: 0 where the store holds no such ship, else a non-zero number that
    changes whenever the ship's status would (see the module's docstring)."""
    return _marks(store, ship_ids, tick, _ROUNDED)[0]


def steady_marks(
    store: EntityStore, ship_ids: list[int], tick: int
) -> tuple[list[int], list[tuple[float, float]]]:
    """`status_marks` of everything but the DRIFTING columns, and each ship's DRIFTING values
    in whole points ((0, 0) where the store holds no such ship)."""
    steady = tuple(name for name in _ROUNDED if name not in DRIFTING)
    return _marks(store, ship_ids, tick, steady)


SMALL: Final = 8
"""Up to this many ships, marks are mixed in Python, ship by ship: a system of a few ships
(most of a universe's) would pay sixty numpy calls' overhead for each (7.7 % of a cluster
worker's CPU with 200 players over 100 systems, `callister bench cluster`)."""


def _marks(
    store: EntityStore, ship_ids: list[int], tick: int, rounded: tuple[str, ...]
) -> tuple[list[int], list[tuple[float, float]]]:
    """Marks over the `rounded` columns (whole points) and every exact one; and each ship's
    DRIFTING columns in whole points."""
    if len(ship_ids) <= SMALL:
        return _few_marks(store, ship_ids, tick, rounded)
    rows_of = store.row_map
    rows = np.fromiter((rows_of.get(i, -1) for i in ship_ids), dtype=np.intp, count=len(ship_ids))
    held = rows >= 0
    if held.any():
        held[held] = store.kind[rows[held]] == KIND_SHIP
    marks = np.zeros(len(ship_ids), dtype=np.uint64)
    drifting = np.zeros((len(ship_ids), len(DRIFTING)))
    if not held.any():
        return marks.tolist(), [(0.0, 0.0)] * len(ship_ids)
    r = rows[held]
    whole = {name: np.round(np.maximum(getattr(store, name)[r], 0.0)) for name in _ROUNDED}
    columns: list[NDArray[np.float64]] = [whole[name] for name in rounded]
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
    for i, name in enumerate(DRIFTING):
        drifting[held, i] = whole[name]
    return marks.tolist(), [(a, b) for a, b in drifting.tolist()]


def _few_marks(
    store: EntityStore, ship_ids: list[int], tick: int, rounded: tuple[str, ...]
) -> tuple[list[int], list[tuple[float, float]]]:
    """`_marks` for a few ships: the same values hashed as a tuple (a different number than the
    vectorised mix, so a ship's mark changes once when its system's count crosses SMALL: one
    status built that finds nothing new to send)."""
    rows_of, kind = store.row_map, store.kind
    marks: list[int] = []
    drifting: list[tuple[float, float]] = []
    for ship_id in ship_ids:
        row = rows_of.get(ship_id, -1)
        if row < 0 or kind.item(row) != KIND_SHIP:
            marks.append(0)
            drifting.append((0.0, 0.0))
            continue
        whole = {name: round(max(getattr(store, name).item(row), 0.0)) for name in _ROUNDED}
        flags = store.flags.item(row)
        criminal = max(store.criminal_until.item(row) - tick, 0) if flags & CRIMINAL else 0
        values = (
            *(whole[name] for name in rounded),
            *(getattr(store, name).item(row) for name in _EXACT),
            flags & _SHOWN_FLAGS,
            criminal,
            *store.weapon[row].tolist(),
            *store.ammo[row].tolist(),
            *(max(t - tick, 0) for t in store.ready[row].tolist()),
        )
        marks.append((hash(values) & 0xFFFF_FFFF_FFFF_FFFF) | 1)  # never 0: 0 is "not here"
        drifting.append((float(whole[DRIFTING[0]]), float(whole[DRIFTING[1]])))
    return marks, drifting
