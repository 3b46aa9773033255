"""The content's weapons as arrays for the compiled combat loops, and their key <-> index map.

A ship's `weapon` column holds indices into WEAPON_KEYS (content-file order, like HULL_KEYS, so
appending a weapon keeps every stored index). `WeaponTable` turns the weapons into one array
per field, in the units the kernels use (radians, ticks), for a given tick rate.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from callister.content import Weapon, load_content
from callister.sim.keys import KeyIndex
from callister.sim.rules import MISSILE_LIFE

WEAPONS: Final[tuple[Weapon, ...]] = tuple(load_content().weapons.values())
"""The base content's weapons, in file order."""

MAX_WEAPON_KEYS: Final = 32767  # the `weapon` column is int16 (-1: an empty slot)
_WEAPONS: Final = KeyIndex("weapon", [w.key for w in WEAPONS], MAX_WEAPON_KEYS)

WEAPON_KEYS: Final[list[str]] = _WEAPONS.keys
"""Every weapon key this process knows, in the order first seen: the base content's in file
order, then each world's pack's new keys as its world registers them (`register_weapons`).
The `weapon` column indexes this list. Append-only, so an index never changes meaning while
the process runs; a world's WeaponTable gives each index that world's stats."""


def register_weapons(keys: Iterable[str]) -> None:
    """Give every key of `keys` an index (new keys appended; known keys keep theirs). A world
    registers its content's weapons before its zones use them. ValueError past the limit."""
    _WEAPONS.register(keys)


# Weapon kinds as the kernels see them.
HITSCAN: Final = 0
PROJECTILE: Final = 1
MISSILE: Final = 2
_KIND_CODES: Final = {"hitscan": HITSCAN, "projectile": PROJECTILE, "missile": MISSILE}

STATION_WEAPON_KEY: Final = "station"
"""The `weapon` of hits dealt by a lawful station's defences."""


def weapon_index(key: str) -> int:
    """The index of weapon `key` in WEAPON_KEYS; ValueError for a weapon content lacks."""
    return _WEAPONS.index(key)


_ABSENT: Final = dataclasses.replace(
    WEAPONS[0], key="", name="(absent)", damage=0.0, range=10.0, cooldown=600.0, ammo=0
)


@dataclass(frozen=True, slots=True, eq=False)
class WeaponTable:
    """Per-weapon arrays (indexed like WEAPON_KEYS) for a zone ticking at `tick_hz`.

    `cooldown` is in whole ticks (rounded up: a weapon never fires faster than its content
    says); `arc_cos` is cos(arc) (a target is inside the arc when the cosine of its bearing off
    the nose is at least this); `turn` is radians per tick; `life` is the ticks a shell or
    missile flies before it expires.
    """

    kind: NDArray[np.int8]
    damage: NDArray[np.float64]
    range: NDArray[np.float64]
    cooldown: NDArray[np.int64]
    energy: NDArray[np.float64]
    magazine: NDArray[np.int32]
    speed: NDArray[np.float64]
    turn: NDArray[np.float64]
    arc_cos: NDArray[np.float64]
    falloff: NDArray[np.float64]
    life: NDArray[np.int64]

    @classmethod
    def build(cls, tick_hz: int, content: Iterable[Weapon] = WEAPONS) -> WeaponTable:
        """The table for a zone ticking at `tick_hz` whose content has these weapons (rules in
        the class docstring): one row per registered key (WEAPON_KEYS), the content's stats
        where it has the weapon; a key it lacks gets a row no ship of the zone can fire
        (never equipped: the zone refuses unknown weapons)."""
        dt = 1.0 / tick_hz
        given = {w.key: w for w in content}
        register_weapons(given)
        weapons = tuple(given.get(k, _ABSENT) for k in WEAPON_KEYS)

        def life(w: Weapon) -> int:
            if w.kind == "hitscan":
                return 0
            seconds = w.range / w.speed * (MISSILE_LIFE if w.kind == "missile" else 1.0)
            return max(1, math.ceil(seconds * tick_hz))

        return cls(
            kind=np.array([_KIND_CODES[w.kind] for w in weapons], dtype=np.int8),
            damage=np.array([w.damage for w in weapons], dtype=np.float64),
            range=np.array([w.range for w in weapons], dtype=np.float64),
            cooldown=np.array(
                [max(1, math.ceil(w.cooldown * tick_hz - 1e-9)) for w in weapons], dtype=np.int64
            ),
            energy=np.array([w.energy for w in weapons], dtype=np.float64),
            magazine=np.array([w.ammo for w in weapons], dtype=np.int32),
            speed=np.array([w.speed for w in weapons], dtype=np.float64),
            turn=np.array([math.radians(w.turn_rate) * dt for w in weapons], dtype=np.float64),
            arc_cos=np.array(
                [-1.0 if w.arc >= 180 else math.cos(math.radians(w.arc)) for w in weapons],
                dtype=np.float64,
            ),
            falloff=np.array([w.falloff for w in weapons], dtype=np.float64),
            life=np.array([life(w) for w in weapons], dtype=np.int64),
        )
