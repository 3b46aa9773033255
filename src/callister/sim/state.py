"""`SimState`: everything the systems of one zone read and write during a tick.

`Zone` owns one and hands it to each stage of the schedule. Systems are plain functions of it,
so a test can run a single system on a hand-made state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from callister.protocol.intents import Dock, Input, Intent, Jump, Undock
from callister.sim.entities import DOCKED, NO_STATION, EntityStore
from callister.sim.events import ShipState, ZoneEvent
from callister.sim.frame import HULL_KEYS
from callister.sim.grid import SpatialGrid
from callister.sim.layout import ZoneLayout
from callister.sim.statics import StaticColliders

ACTION_NAMES: dict[type, str] = {Input: "input", Dock: "dock", Undock: "undock", Jump: "jump"}


@dataclass(eq=False)
class SimState:
    """Mutable state of one zone. Only the schedule's systems and `Zone` mutate it."""

    layout: ZoneLayout
    dt: float
    store: EntityStore
    statics: StaticColliders
    grid: SpatialGrid
    tick: int = 0
    intents: list[Intent] = field(default_factory=list)
    """Submitted since the last step, in arrival order."""
    actions: list[Dock | Undock | Jump] = field(default_factory=list)
    """Dock/Undock/Jump that passed the ownership check, for the docking stage."""
    events: list[ZoneEvent] = field(default_factory=list)
    grid_built: tuple[int, int] = (-1, -1)
    """(`store.version`, `tick`) when `grid` was last brought up to date: it is stale after
    every step (ships moved) and every add or remove (rows changed)."""
    jumping: set[int] = field(default_factory=set)
    """Ids of ships with a charging jump (few, so the charge stage skips a column scan)."""
    _scratch: dict[str, NDArray[Any]] = field(default_factory=dict, repr=False)

    def scratch_trig(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Two float32 work arrays of the store's capacity (headings' cos and sin)."""
        return self._work("cos", np.float32), self._work("sin", np.float32)

    def scratch_hits(
        self,
    ) -> tuple[
        NDArray[np.int64],
        NDArray[np.int32],
        NDArray[np.int64],
        NDArray[np.int32],
        NDArray[np.float64],
        NDArray[np.bool_],
    ]:
        """Work arrays of the store's capacity for a tick's collisions: ships near a collider
        (row, raster slot), then the hits (row, collider, impact speed, new contact?)."""
        return (
            self._work("near", np.int64),
            self._work("near_slot", np.int32),
            self._work("hit_rows", np.int64),
            self._work("hit_static", np.int32),
            self._work("hit_speed", np.float64),
            self._work("hit_new", np.bool_),
        )

    def _work(self, name: str, dtype: type[np.generic]) -> NDArray[Any]:
        # Reused across ticks: allocating a handful of arrays per stage is a measurable part
        # of a small zone's tick. Regrown with the store.
        array = self._scratch.get(name)
        if array is None or array.size < self.store.capacity:
            array = np.empty(self.store.capacity, dtype=dtype)
            self._scratch[name] = array
        return array


def ship_state(store: EntityStore, entity_id: int) -> ShipState:
    """The ship `entity_id` as plain values (KeyError if it is not live)."""
    row = store.row(entity_id)
    docked = bool(store.flags.item(row) & DOCKED)
    station = store.docked_at.item(row)
    return ShipState(
        id=entity_id,
        owner=store.owner.item(row),
        hull=HULL_KEYS[store.hull.item(row)],
        x=store.x.item(row),
        y=store.y.item(row),
        vx=store.vx.item(row),
        vy=store.vy.item(row),
        angle=store.angle.item(row),
        docked_at=station if docked and station != NO_STATION else None,
    )
