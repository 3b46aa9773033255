"""What a zone tells the world after a tick: frozen event values, plus `ShipState`.

Events are returned by `Zone.step()` in the order they happened within the tick (stage order,
then arrival order of intents, then entity id). They are plain values so the server can encode
them, agents can read them and replays can compare them.

They are frozen msgspec Structs (equal by value, hashable, picklable; `msgspec.structs.replace`
makes a changed copy): a big battle builds thousands a tick, and a Struct is built in C, several
times faster than a frozen dataclass (`callister bench values`, docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

from callister.protocol.errors import ErrorCode


class ShipState(Struct, frozen=True):
    """One ship as plain Python values (for hand-offs, persistence and tests).

    `hull` is the hull key; `angle` is radians in [-pi, pi]; `docked_at` is a station index or
    None. The vitals (hull_hp ... ammo) are filled by the zone; a `ShipState` built elsewhere
    may leave them None, which means "full / the hull's loadout / full magazines".
    `weapons` and `ammo` have one entry per hull slot ("" for an empty slot).
    """

    id: int
    owner: int
    hull: str
    x: float
    y: float
    vx: float
    vy: float
    angle: float
    docked_at: int | None
    hull_hp: float | None = None
    shield: float | None = None
    energy: float | None = None
    fuel: float | None = None
    weapons: tuple[str, ...] | None = None
    ammo: tuple[int, ...] | None = None


class ShipVitals(Struct, frozen=True):
    """A ship's combat and upkeep state (`Zone.vitals`).

    `weapons`, `ammo` and `cooldowns` (seconds until the slot may fire) have one entry per
    hull slot ("" / 0 / 0.0 for an empty slot); `criminal_s` is the seconds of criminal flag
    left (0 when clean); `mining_rock` is the rock being mined or -1.
    """

    hull_hp: float
    hull_max: float
    shield: float
    shield_max: float
    energy: float
    energy_max: float
    fuel: float
    fuel_max: float
    weapons: tuple[str, ...]
    ammo: tuple[int, ...]
    cooldowns: tuple[float, ...]
    cargo_free: int
    criminal_s: float
    mining_rock: int


class Refused(Struct, frozen=True):
    """An intent the zone would not carry out. `action` is "input", "dock", "undock", "jump",
    "fire", "mine" or "loot". `evidence` marks refusals an honest client should not cause
    (NOT_YOUR_SHIP, COOLDOWN, OUT_OF_RANGE, NO_AMMO, NO_LINE_OF_FIRE, BAD_SLOT, TOO_FAR): the
    world records them for the moderators."""

    actor: int
    ship: int
    action: str
    code: ErrorCode
    reason: str
    evidence: bool = False


class Docked(Struct, frozen=True):
    ship: int
    station: int


class Undocked(Struct, frozen=True):
    ship: int
    station: int


class JumpCharging(Struct, frozen=True):
    """A jump started charging; `JumpOut` follows `ticks` ticks later unless cancelled."""

    ship: int
    to_x: int
    to_y: int
    ticks: int


class JumpCancelled(Struct, frozen=True):
    """A charging jump was cancelled (docking cancels a charge)."""

    ship: int
    to_x: int
    to_y: int


class JumpOut(Struct, frozen=True):
    """The ship left through the link to sector (to_x, to_y); it is no longer in the zone.

    `state` is the ship as it left, for the hand-off to the destination zone. `at` is set only
    for a game master's teleport (the world makes it, never a zone): the ship arrives at that
    point (or docked, per `state.docked_at`), not at the gate of the link back.
    """

    ship: int
    to_x: int
    to_y: int
    state: ShipState
    at: tuple[float, float] | None = None


ColliderName = Literal["rock", "station", "star"]


class Collided(Struct, frozen=True):
    """A ship newly hit a static collider (not repeated while it stays in contact).

    `index` is the station index, the rock's index in `ZoneLayout.rocks`, or 0 for the star.
    `speed` is the closing speed along the contact normal at impact, m/s.
    """

    ship: int
    what: ColliderName
    index: int
    speed: float


class Fired(Struct, frozen=True):
    """A ship fired weapon `weapon` (a key) from `slot` at (x, y).

    `target` is the entity aimed at (0: straight ahead). Hitscan: (tx, ty) is where the beam
    ended and `hit` whether it hit a ship (a `Hit` follows); `shot` is 0. Shell or missile:
    `shot` is the new entity's id, (tx, ty) the aim point and `hit` False.
    """

    ship: int
    owner: int
    slot: int
    weapon: str
    target: int
    x: float
    y: float
    tx: float
    ty: float
    hit: bool
    shot: int


class Hit(Struct, frozen=True):
    """Ship `ship` took damage from `by` (a ship id, 0 for a station's defences) with `weapon`
    (a weapon key, "station" for defences): `shield_damage` absorbed, `hull_damage` to the hull.
    (x, y) is where the victim was."""

    ship: int
    owner: int
    by: int
    by_owner: int
    weapon: str
    shield_damage: float
    hull_damage: float
    x: float
    y: float


class Destroyed(Struct, frozen=True):
    """Ship `ship` was destroyed (its hull reached 0) by the last one to hit it (`by`, 0 for a
    station). It is already out of the zone and its id is retired; `wreck` is the id of the
    wreck it left at (x, y) (0 when the zone's id pool was empty). `state` is its last state."""

    ship: int
    owner: int
    by: int
    by_owner: int
    weapon: str
    x: float
    y: float
    wreck: int
    state: ShipState


class WreckExpired(Struct, frozen=True):
    """The wreck's time ran out; it has left the zone."""

    wreck: int


class CrimeCommitted(Struct, frozen=True):
    """`ship` hit `victim`, who was not a criminal, inside the secure space of lawful station
    `station`: it is flagged CRIMINAL (raised when the flag is newly set)."""

    ship: int
    owner: int
    victim: int
    victim_owner: int
    station: int


class Mined(Struct, frozen=True):
    """`qty` whole units of `ore` mined from `rock` of field `field` (the world adds them to the
    ship's hold; the zone already lowered the ship's `cargo_free` by `qty`)."""

    ship: int
    owner: int
    field: int
    rock: int
    ore: str
    qty: int


MiningStopReason = Literal["range", "speed", "cargo_full", "depleted", "docked"]


class MiningStopped(Struct, frozen=True):
    """Mining ended because it could not go on (`reason`)."""

    ship: int
    owner: int
    reason: MiningStopReason


class FieldChanged(Struct, frozen=True):
    """A field's integer richness changed (mined down or regrown); persist it with the tick."""

    field: int
    richness: int


class LootReached(Struct, frozen=True):
    """`ship` is close and slow enough to loot `wreck`: the world moves the items."""

    ship: int
    owner: int
    wreck: int


class FuelEmpty(Struct, frozen=True):
    """The ship's tank just ran dry: it drifts (thrust and brake do nothing) until refuelled."""

    ship: int
    owner: int


AutopilotCancelReason = Literal["manual", "off", "target_gone", "target_docked", "fuel", "docked"]


class AutopilotArrived(Struct, frozen=True):
    """The autopilot brought the ship to its target and stopped it there (`kind` "station",
    "field", "link", "point"; the ship now holds its brake and the autopilot is off), or (kind
    "ship") reached escort distance of the ship it follows, which it goes on following.
    `target` is the station, field or link index, the followed ship's id, or 0 (a point)."""

    ship: int
    owner: int
    kind: str
    target: int


class AutopilotCancelled(Struct, frozen=True):
    """The autopilot stopped before arriving: `reason` "manual" (an Input with thrust, turn or
    brake), "off" (turned off), "target_gone" (the followed ship left or was destroyed),
    "target_docked", "fuel" (the tank ran dry), "docked"."""

    ship: int
    owner: int
    reason: AutopilotCancelReason


CruiseState = Literal["spooling", "on", "off"]


class CruiseChanged(Struct, frozen=True):
    """The cruise drive started spooling up, engaged, or went off (`reason`: "manual",
    "arrival" (the autopilot's target is near), "star", "station", "field" (within the drop-out
    distance), "ship" (a ship closing), "damage", "fired", "fuel", "boundary", "docked";
    "" when it engaged)."""

    ship: int
    owner: int
    state: CruiseState
    reason: str = ""


ZoneEvent = (
    Refused
    | Docked
    | Undocked
    | JumpCharging
    | JumpCancelled
    | JumpOut
    | Collided
    | Fired
    | Hit
    | Destroyed
    | WreckExpired
    | CrimeCommitted
    | Mined
    | MiningStopped
    | FieldChanged
    | LootReached
    | FuelEmpty
    | AutopilotArrived
    | AutopilotCancelled
    | CruiseChanged
)
