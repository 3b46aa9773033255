"""The simulation of one star system: entity columns, spatial grid, systems, `Zone`.

No I/O and no asyncio: everything here runs in microseconds inside tests and is what a zone
worker on another machine runs. Start with `Zone` (zone.py) and the tick order (schedule.py).
"""

from callister.sim.entities import DOCKED, JUMPING, KIND_SHIP, THRUSTING, EntityStore
from callister.sim.events import (
    Collided,
    Docked,
    JumpCancelled,
    JumpCharging,
    JumpOut,
    Refused,
    ShipState,
    Undocked,
    ZoneEvent,
)
from callister.sim.frame import HULL_KEYS, ZoneFrame, hull_index
from callister.sim.grid import SpatialGrid
from callister.sim.kernels import warm_up
from callister.sim.layout import RockSpec, StationSpec, ZoneLayout
from callister.sim.rules import DOCK_MAX_SPEED, JUMP_CHARGE_TICKS
from callister.sim.schedule import SCHEDULE, STAGE_NAMES
from callister.sim.statics import StaticColliders
from callister.sim.zone import Zone

__all__ = [
    "DOCKED",
    "DOCK_MAX_SPEED",
    "HULL_KEYS",
    "JUMPING",
    "JUMP_CHARGE_TICKS",
    "KIND_SHIP",
    "SCHEDULE",
    "STAGE_NAMES",
    "THRUSTING",
    "Collided",
    "Docked",
    "EntityStore",
    "JumpCancelled",
    "JumpCharging",
    "JumpOut",
    "Refused",
    "RockSpec",
    "ShipState",
    "SpatialGrid",
    "StaticColliders",
    "StationSpec",
    "Undocked",
    "Zone",
    "ZoneEvent",
    "ZoneFrame",
    "ZoneLayout",
    "hull_index",
    "warm_up",
]
