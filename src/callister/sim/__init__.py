"""The simulation of one star system: entity columns, spatial grid, systems, `Zone`.

No I/O and no asyncio: everything here runs in microseconds inside tests and is what a zone
worker on another machine runs. Start with `Zone` (zone.py) and the tick order (schedule.py).
"""

from callister.sim.entities import (
    CRIMINAL,
    DOCKED,
    FIRING,
    JUMPING,
    KIND_MISSILE,
    KIND_PROJECTILE,
    KIND_SHIP,
    KIND_WRECK,
    MINING,
    NO_FUEL,
    SHIELD_HIT,
    THRUSTING,
    EntityStore,
)
from callister.sim.events import (
    AutopilotArrived,
    AutopilotCancelled,
    Collided,
    CrimeCommitted,
    CruiseChanged,
    Destroyed,
    Docked,
    FieldChanged,
    Fired,
    FuelEmpty,
    Hit,
    JumpCancelled,
    JumpCharging,
    JumpOut,
    LootReached,
    Mined,
    MiningStopped,
    Refused,
    ShipState,
    ShipVitals,
    Undocked,
    WreckExpired,
    ZoneEvent,
)
from callister.sim.frame import HULL_KEYS, ZoneFrame, hull_index
from callister.sim.grid import SpatialGrid
from callister.sim.kernels import warm_up
from callister.sim.layout import FieldSpec, RockSpec, StationSpec, ZoneLayout
from callister.sim.mining import regrow_since, regrown
from callister.sim.rules import DOCK_MAX_SPEED, JUMP_CHARGE_TICKS, ZoneRules
from callister.sim.schedule import SCHEDULE, STAGE_NAMES
from callister.sim.statics import StaticColliders
from callister.sim.weapons import WEAPON_KEYS, weapon_index
from callister.sim.zone import Zone

__all__ = [
    "CRIMINAL",
    "DOCKED",
    "DOCK_MAX_SPEED",
    "FIRING",
    "HULL_KEYS",
    "JUMPING",
    "JUMP_CHARGE_TICKS",
    "KIND_MISSILE",
    "KIND_PROJECTILE",
    "KIND_SHIP",
    "KIND_WRECK",
    "MINING",
    "NO_FUEL",
    "SCHEDULE",
    "SHIELD_HIT",
    "STAGE_NAMES",
    "THRUSTING",
    "WEAPON_KEYS",
    "AutopilotArrived",
    "AutopilotCancelled",
    "Collided",
    "CrimeCommitted",
    "CruiseChanged",
    "Destroyed",
    "Docked",
    "EntityStore",
    "FieldChanged",
    "FieldSpec",
    "Fired",
    "FuelEmpty",
    "Hit",
    "JumpCancelled",
    "JumpCharging",
    "JumpOut",
    "LootReached",
    "Mined",
    "MiningStopped",
    "Refused",
    "RockSpec",
    "ShipState",
    "ShipVitals",
    "SpatialGrid",
    "StaticColliders",
    "StationSpec",
    "Undocked",
    "WreckExpired",
    "Zone",
    "ZoneEvent",
    "ZoneFrame",
    "ZoneLayout",
    "ZoneRules",
    "hull_index",
    "regrow_since",
    "regrown",
    "warm_up",
    "weapon_index",
]
