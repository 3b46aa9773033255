"""A character's ship as the economy sees it: its vitals, stored in `Character.extra`, and the
cargo units its hold's contents take.

Keys (all optional; a missing or malformed key means "full" / "the hull's default"):
"hull_hp", "shield", "energy", "fuel" (floats), "weapons" (list of weapon keys in slot order),
"ammo" (list of ints, rounds per slot), "insured" (bool). The world copies the zone's live
vitals into these keys before an economic call and applies the receipt's character back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from callister.content import Content, Hull
from callister.economy import rules
from callister.store import Character

VITAL_KEYS: tuple[str, ...] = (
    "hull_hp",
    "shield",
    "energy",
    "fuel",
    "weapons",
    "ammo",
    "insured",
)


@dataclass(frozen=True)
class Vitals:
    """Resolved vitals: every value present, clamped to [0, max]; ammo aligned with weapons."""

    hull: Hull
    hull_hp: float
    shield: float
    energy: float
    fuel: float
    weapons: tuple[str, ...]
    ammo: tuple[int, ...]
    insured: bool


def hull_of(character: Character, content: Content) -> Hull:
    """The character's hull; the starter hull if its key is no longer in the content."""
    return content.hulls.get(character.hull, content.starter_hull)


def item_volume(content: Content, item: str) -> int:
    """Cargo units one unit of the item takes: a commodity's volume, else ORE_VOLUME (ores and
    unknown keys)."""
    found = content.commodities.get(item)
    return rules.ORE_VOLUME if found is None else found.volume


def cargo_volume(content: Content, cargo: Mapping[str, int]) -> int:
    """Cargo units a hold's contents take."""
    return sum(qty * item_volume(content, item) for item, qty in cargo.items())


def magazine(content: Content, weapon: str) -> int:
    """The magazine size of a weapon key (0: energy weapon or unknown key)."""
    found = content.weapons.get(weapon)
    return 0 if found is None else found.ammo


def vitals(character: Character, content: Content) -> Vitals:
    """The character's vitals with defaults filled in (see the module docstring)."""
    hull = hull_of(character, content)
    extra = character.extra

    def level(key: str, maximum: float) -> float:
        value = extra.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return maximum
        if not math.isfinite(value):
            return maximum
        return min(maximum, max(0.0, float(value)))

    raw_weapons = extra.get("weapons")
    if isinstance(raw_weapons, list) and all(isinstance(w, str) for w in raw_weapons):
        # a weapon this content lacks (a world's pack removed it) leaves its slot empty
        weapons = tuple(w if w in content.weapons else "" for w in raw_weapons[: hull.slots])
    else:
        weapons = tuple(hull.loadout[: hull.slots])
    raw_ammo = extra.get("ammo")
    ammo_list = raw_ammo if isinstance(raw_ammo, list) else []
    ammo = []
    for i, weapon in enumerate(weapons):
        full = magazine(content, weapon)
        have = ammo_list[i] if i < len(ammo_list) else full
        if isinstance(have, bool) or not isinstance(have, int):
            have = full
        ammo.append(min(full, max(0, have)))
    return Vitals(
        hull=hull,
        hull_hp=level("hull_hp", hull.hull),
        shield=level("shield", hull.shield),
        energy=level("energy", hull.energy),
        fuel=level("fuel", hull.fuel),
        weapons=weapons,
        ammo=tuple(ammo),
        insured=extra.get("insured") is True,
    )


def with_extra(character: Character, **changes: Any) -> Character:
    """A copy of the character with these `extra` keys set (None deletes a key)."""
    extra = dict(character.extra)
    for key, value in changes.items():
        if value is None:
            extra.pop(key, None)
        else:
            extra[key] = value
    return replace(character, extra=extra)


def without_vitals(character: Character) -> Character:
    """A copy with every vital key removed: a fresh ship, full, with its hull's loadout,
    uninsured. Other `extra` keys are kept."""
    return replace(
        character, extra={k: v for k, v in character.extra.items() if k not in VITAL_KEYS}
    )
