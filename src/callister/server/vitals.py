"""A ship's vitals between the zone (numpy columns) and the character record (JSON `extra`),
and its motion (`ship_motion`), which the record keeps in columns of its own.

Hull, shield, energy, fuel, weapons and ammunition are checkpointed with the ship's position
(bounded loss, like position) except when a purchase changes them: then the economy's
transaction writes them with the purchase, so what a player paid for is never lost.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from callister.sim import ShipState, ShipVitals
from callister.store import Character

VITAL_KEYS = ("hull_hp", "shield", "energy", "fuel")


def _float(extra: dict[str, Any], key: str) -> float | None:
    value = extra.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None  # missing or damaged: the zone fills it in as full
    return float(value)


def ship_motion(state: ShipState) -> dict[str, Any]:
    """Where a ship is and how it moves (position, velocity, heading, dock), as the keywords
    `Character`, `ShipState` and `Zone.add_ship` all take: what a checkpoint, a jump or a
    re-placed ship carries over from the zone's `ShipState`."""
    return {
        "x": state.x,
        "y": state.y,
        "vx": state.vx,
        "vy": state.vy,
        "angle": state.angle,
        "docked_at": state.docked_at,
    }


def ship_kwargs(character: Character) -> dict[str, Any]:
    """The `Zone.add_ship` vitals keywords for a character (None: full / the hull's default)."""
    extra = character.extra
    kwargs: dict[str, Any] = {key: _float(extra, key) for key in VITAL_KEYS}
    weapons = extra.get("weapons")
    if isinstance(weapons, list) and all(isinstance(w, str) for w in weapons):
        kwargs["weapons"] = tuple(weapons)
    ammo = extra.get("ammo")
    if isinstance(ammo, list) and all(isinstance(a, int) and not isinstance(a, bool) for a in ammo):
        kwargs["ammo"] = tuple(max(0, a) for a in ammo)
    return kwargs


def with_vitals(character: Character, vitals: ShipVitals | ShipState) -> Character:
    """The character with the ship's vitals written into `extra`: the zone's current ones, or
    those a `ShipState` carries (a jump hand-off; a value it leaves None is not written)."""
    extra = dict(character.extra)
    for key in VITAL_KEYS:
        value = getattr(vitals, key)
        if value is not None:
            extra[key] = round(float(value), 3)
    if vitals.weapons is not None:
        extra["weapons"] = list(vitals.weapons)
    if vitals.ammo is not None:
        extra["ammo"] = [int(a) for a in vitals.ammo]
    return replace(character, extra=extra)
