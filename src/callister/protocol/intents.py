"""Intents: what an actor (a player's session or an agent) asks its ship to do.

Intents are plain, validated values. The gateway builds them from client messages; agents build
them directly. Both go through the same zone-side checks (ownership, state), so no actor has a
privileged path. `actor` is the account (or agent) id; `ship` is the 64-bit entity id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


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


AUTOPILOT_KINDS = ("station", "field", "link", "ship", "point", "off")
"""What an Autopilot intent flies to ("off" turns the autopilot off)."""


@dataclass(frozen=True, slots=True)
class Autopilot:
    """Fly the ship to a target and stop there (the zone steers it every tick until it arrives,
    is cancelled or turned off). `kind` is one of AUTOPILOT_KINDS; which fields matter:

    - "station": `index` (a station index): stop within its docking range;
    - "field": `index` (an asteroid field's index): stop at the edge of its rocks;
    - "link": `to_x`, `to_y` (a linked sector): stop at the jump gate of that link;
    - "ship": `target` (a ship id): follow it at escort distance until cancelled;
    - "point": `x`, `y` (metres): stop there;
    - "off": stop steering (the ship coasts).

    `cruise` lets the autopilot use the cruise drive on long legs. Any Input with thrust, turn
    or brake cancels the autopilot.
    """

    actor: int
    ship: int
    kind: str
    index: int = 0
    target: int = 0
    x: float = 0.0
    y: float = 0.0
    to_x: int = 0
    to_y: int = 0
    cruise: bool = True


@dataclass(frozen=True, slots=True)
class Cruise:
    """Engage (`on`) or leave the cruise drive: after a spool-up the ship flies at its hull's
    cruise speed until it drops out (near a station, field, the star or a closing ship, on
    damage, firing, an empty tank, braking) or is turned off."""

    actor: int
    ship: int
    on: bool


Intent = Input | Dock | Undock | Jump | Fire | Mine | Loot | Power | Autopilot | Cruise

INTENT_NAMES: Final[dict[type, str]] = {
    Input: "input",
    Dock: "dock",
    Undock: "undock",
    Jump: "jump",
    Fire: "fire",
    Mine: "mine",
    Loot: "loot",
    Power: "power",
    Autopilot: "autopilot",
    Cruise: "cruise",
}
"""Each intent class's short name: the tag of an encoded intent in checkpoints and footage, and
the `action` of a refusal event. Every member of `Intent` has one."""

INTENT_TYPES: Final[dict[str, type]] = {name: cls for cls, name in INTENT_NAMES.items()}
"""The intent class of each short name (the inverse of INTENT_NAMES)."""

INTENT_CLASSES: Final[tuple[type, ...]] = tuple(INTENT_NAMES)
"""Every intent class, for an `isinstance` check on something claiming to be an Intent."""
