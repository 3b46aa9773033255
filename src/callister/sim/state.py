"""`SimState`: everything the systems of one zone read and write during a tick.

`Zone` owns one and hands it to each stage of the schedule. Systems are plain functions of it,
so a test can run a single system on a hand-made state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    grid_version: int = -1
    """`store.version` when `grid` was built (rows go stale when ships come or go)."""
    jumping: set[int] = field(default_factory=set)
    """Ids of ships with a charging jump (few, so the charge stage skips a column scan)."""


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
