"""Intents: what an actor (a player's session or an agent) asks its ship to do.

Intents are plain, validated values. The gateway builds them from client messages; agents build
them directly. Both go through the same zone-side checks (ownership, state), so no actor has a
privileged path. `actor` is the account (or agent) id; `ship` is the 64-bit entity id.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Input:
    """Held flight controls, applied every tick until the next Input replaces them.

    thrust in [0, 1]; turn in [-1, 1] (positive = counter-clockwise); brake slows the ship
    with its full thrust opposite to its velocity.
    """

    actor: int
    ship: int
    thrust: float
    turn: float
    brake: bool = False


@dataclass(frozen=True, slots=True)
class Dock:
    """Dock at a station: the named station index, or the nearest one in range when None."""

    actor: int
    ship: int
    station: int | None = None


@dataclass(frozen=True, slots=True)
class Undock:
    actor: int
    ship: int


@dataclass(frozen=True, slots=True)
class Jump:
    """Jump along a jump link of the current system to the neighbouring system at sector (x, y)."""

    actor: int
    ship: int
    to_x: int
    to_y: int


@dataclass(frozen=True, slots=True)
class Fire:
    """Fire the weapon in `slot` once. `target` is the entity id aimed at, or 0 for "straight
    ahead" (lasers and cannons only; missiles need a target). The zone checks ownership,
    cooldown, range, line of fire, energy and ammunition; a shot that breaks them is refused
    and marked as evidence."""

    actor: int
    ship: int
    slot: int
    target: int = 0


@dataclass(frozen=True, slots=True)
class Mine:
    """Start mining rock `rock` (its index in the zone layout's rocks), or stop with -1.
    Mining goes on each tick while the ship stays within mining range and slow enough."""

    actor: int
    ship: int
    rock: int


@dataclass(frozen=True, slots=True)
class Loot:
    """Take what wreck `wreck` holds: the zone checks range and speed, the world moves the
    items (one ledger transaction)."""

    actor: int
    ship: int
    wreck: int


@dataclass(frozen=True, slots=True)
class Power:
    """The engineer's power split between engines, weapons and shields (each 0..1; the zone
    normalises them to sum to 1, all zero meaning an even split). Each system runs at
    `0.5 + 1.5 x share` of its normal rate: engines scale thrust (acceleration), weapons the
    energy regeneration, shields the shield regeneration; an even split (1/3 each) is normal."""

    actor: int
    ship: int
    engines: float
    weapons: float
    shields: float


Intent = Input | Dock | Undock | Jump | Fire | Mine | Loot | Power
