"""Boarding: when one ship's crew may board another, and who wins the fight aboard.

A pure, deterministic rule (no I/O, no clocks, no global randomness): the server gathers the
two crews and calls `resolve`; the same crews, tick and ship ids always give the same result.

When (`eligibility`): the attacker is within BOARD_RANGE (50 m, centre to centre) of the
target, moves slower than BOARD_MAX_SPEED (5 m/s) relative to it, neither ship is docked at a
station, and the target's shields are down (0).

Who wins (`resolve`):
- each member aboard counts 1 + skill (a clone's skill at its station, 0..1; a human counts
  HUMAN_SKILL, 0.5); the captain is a member;
- equipment: x (1 + WEAPON_BONUS x weapons fitted) for each side (the armoury);
- the defenders fight on their own decks: x DEFENDER_BONUS (1.2);
- each side's score is then multiplied by its roll, uniform in [1 - ROLL_SPREAD, 1 + ROLL_SPREAD]
  (0.75..1.25), drawn from BLAKE2b of (tick, attacker ship, defender ship, side): seeded, so a
  replay or a retry gives the same fight;
- the attacker wins only with a strictly higher score (a tie holds the ship).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

BOARD_RANGE = 50.0
"""m: the most the two ships' centres may be apart to board."""
BOARD_MAX_SPEED = 5.0
"""m/s: the most the attacker may move relative to the target to board."""
HUMAN_SKILL = 0.5
WEAPON_BONUS = 0.1
DEFENDER_BONUS = 1.2
ROLL_SPREAD = 0.25


@dataclass(frozen=True, slots=True)
class Boarder:
    """One member of a boarding fight: `kind` "human" or "clone", `skill` 0..1."""

    id: int
    kind: str
    skill: float = HUMAN_SKILL


@dataclass(frozen=True, slots=True)
class Party:
    """A ship's side of the fight: who is aboard and how many weapons the ship carries."""

    ship: int
    crew: tuple[Boarder, ...]
    weapons: int = 0


@dataclass(frozen=True, slots=True)
class BoardingResult:
    attacker_won: bool
    attack: float  # the attacker's final score
    defence: float  # the defender's final score
    attack_roll: float
    defence_roll: float


def strength(party: Party) -> float:
    """The party's score before the defender's bonus and the roll."""
    crew = sum(1.0 + min(1.0, max(0.0, b.skill)) for b in party.crew)
    return crew * (1.0 + WEAPON_BONUS * max(0, party.weapons))


def roll(tick: int, attacker: int, defender: int, side: str) -> float:
    """A factor in [1 - ROLL_SPREAD, 1 + ROLL_SPREAD] from a hash of the fight's identity."""
    digest = hashlib.blake2b(f"{tick}:{attacker}:{defender}:{side}".encode(), digest_size=8)
    unit = int.from_bytes(digest.digest(), "little") / 2.0**64
    return 1.0 - ROLL_SPREAD + 2.0 * ROLL_SPREAD * unit


def resolve(attacker: Party, defender: Party, tick: int) -> BoardingResult:
    """The fight aboard `defender`'s ship at `tick` (see the module docstring)."""
    ra = roll(tick, attacker.ship, defender.ship, "attack")
    rd = roll(tick, attacker.ship, defender.ship, "defence")
    attack = strength(attacker) * ra
    defence = strength(defender) * DEFENDER_BONUS * rd
    return BoardingResult(attack > defence, attack, defence, ra, rd)


def eligibility(
    distance: float, relative_speed: float, target_shield: float, docked: bool
) -> str | None:
    """Why the attacker may not board now (a reason for the player), or None if it may."""
    if docked:
        return "neither ship may be docked at a station"
    if distance > BOARD_RANGE:
        return f"the target is {distance:.0f} m away; board within {BOARD_RANGE:.0f} m"
    if relative_speed >= BOARD_MAX_SPEED:
        return (
            f"moving at {relative_speed:.1f} m/s relative to the target; "
            f"match its speed to under {BOARD_MAX_SPEED:.0f} m/s"
        )
    if target_shield > 0:
        return f"the target's shields are up ({target_shield:.0f}); bring them down first"
    return None
