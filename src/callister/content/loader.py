"""Typed loader for the TOML content files. Content is read once and is immutable.

Every file is a table of entries keyed by their content key; each entry's fields are checked
against its dataclass (type, sign, unknown names) and then against the rules of its kind
(`_check_weapon`, `_check_hulls`). A bad file raises `ContentError` naming the file, the entry
and the field.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any, Final, TypeVar

DATA_DIR = Path(__file__).parent / "data"

MAX_WEAPON_SLOTS: Final = 4
"""The most weapon slots a hull may have (the simulation stores this many per ship)."""

WEAPON_KINDS: Final = ("hitscan", "projectile", "missile")

MAX_CRUISE_SPEED: Final = 2000.0
"""m/s: the fastest cruise a hull may have (a snapshot's velocity field holds +-2047 m/s, and
clients dead-reckon with it)."""


class ContentError(ValueError):
    """A content file is missing a field, has a wrong type, or an out-of-range value."""


@dataclass(frozen=True, slots=True)
class Weapon:
    """A weapon module (weapons.toml explains every field and its unit)."""

    key: str
    name: str
    kind: str
    damage: float
    range: float
    cooldown: float
    energy: float
    ammo: int
    speed: float
    turn_rate: float
    arc: float
    falloff: float
    price: int
    ammo_price: int


@dataclass(frozen=True, slots=True)
class Hull:
    key: str
    name: str
    thrust: float
    max_speed: float
    turn_rate: float
    radius: float
    mass: float
    hull: float
    shield: float
    cargo: int
    fuel: float
    price: int
    starter: bool = False
    # Combat and upkeep (hulls.toml explains them); the defaults describe an unarmed hull
    # that burns no fuel, so a content set without combat still loads.
    slots: int = 0
    loadout: tuple[str, ...] = ()
    energy: float = 0.0
    energy_regen: float = 0.0
    shield_regen: float = 0.0
    fuel_burn: float = 0.0
    jump_fuel: float = 0.0
    repair_price: int = 0
    # Travel (issue 16): 0 = no cruise drive.
    cruise_speed: float = 0.0
    cruise_fuel: float = 0.0


@dataclass(frozen=True, slots=True)
class Faction:
    key: str
    name: str
    lawful: bool
    color: str


@dataclass(frozen=True, slots=True)
class Commodity:
    key: str
    name: str
    base_price: int
    volume: int


@dataclass(frozen=True, slots=True)
class Ore:
    key: str
    name: str
    base_price: int
    weight: int


@dataclass(frozen=True, slots=True)
class Content:
    hulls: dict[str, Hull]
    factions: dict[str, Faction]
    commodities: dict[str, Commodity]
    ores: dict[str, Ore]
    weapons: dict[str, Weapon]

    @property
    def starter_hull(self) -> Hull:
        """The hull new and reborn players fly (the first marked `starter`)."""
        for hull in self.hulls.values():
            if hull.starter:
                return hull
        raise ContentError("no hull is marked starter = true")


T = TypeVar("T")

_SCALARS: Final[dict[str, type]] = {"float": float, "int": int, "str": str, "bool": bool}
_STR_LIST: Final = "tuple[str, ...]"


def _build(cls: type[T], key: str, raw: dict[str, Any], source: str) -> T:
    kwargs: dict[str, Any] = {"key": key}
    if not isinstance(raw, dict):
        raise ContentError(f"{source}: [{key}] must be a table")
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name == "key":
            continue
        if f.name not in raw:
            if f.default is not f.default_factory:  # has a default
                continue
            raise ContentError(f"{source}: [{key}] lacks field '{f.name}'")
        value = raw[f.name]
        kind = str(f.type)
        if kind == _STR_LIST:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ContentError(f"{source}: [{key}].{f.name} must be a list of strings")
            kwargs[f.name] = tuple(value)
            continue
        want = _SCALARS[kind]
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise ContentError(f"{source}: [{key}].{f.name} must be {want.__name__}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ContentError(f"{source}: [{key}].{f.name} must be finite")
        if isinstance(value, int | float) and value < 0:
            raise ContentError(f"{source}: [{key}].{f.name} must not be negative")
        kwargs[f.name] = value
    unknown = set(raw) - {f.name for f in fields(cls)}  # type: ignore[arg-type]
    if unknown:
        raise ContentError(f"{source}: [{key}] has unknown fields {sorted(unknown)}")
    return cls(**kwargs)


def _load_table(cls: type[T], name: str, data_dir: Path) -> dict[str, T]:
    path = data_dir / f"{name}.toml"
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ContentError(f"{path.name}: file missing from {data_dir}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ContentError(f"{path.name}: not valid TOML ({exc})") from None
    if not raw:
        raise ContentError(f"{path.name}: no entries")
    return {key: _build(cls, key, value, path.name) for key, value in raw.items()}


def _check_weapon(w: Weapon) -> None:
    """The rules a weapon entry must keep beyond types and signs."""
    where = f"weapons.toml: [{w.key}]"
    if w.kind not in WEAPON_KINDS:
        raise ContentError(f"{where}.kind must be one of {list(WEAPON_KINDS)}, not {w.kind!r}")
    if w.range <= 0:
        raise ContentError(f"{where}.range must be positive")
    if w.cooldown <= 0:
        raise ContentError(f"{where}.cooldown must be positive")
    if w.falloff > 1:
        raise ContentError(f"{where}.falloff must be within 0..1")
    if w.arc > 180:
        raise ContentError(f"{where}.arc must be within 0..180 degrees")
    if w.kind != "hitscan" and w.speed <= 0:
        raise ContentError(f"{where}.speed must be positive for a {w.kind}")
    if w.kind == "missile" and w.turn_rate <= 0:
        raise ContentError(f"{where}.turn_rate must be positive for a missile")
    if w.kind == "missile" and w.ammo == 0:
        raise ContentError(f"{where}.ammo must be positive for a missile")


def _check_hulls(hulls: dict[str, Hull], weapons: dict[str, Weapon]) -> None:
    """Slots within MAX_WEAPON_SLOTS; a loadout fits the slots and names known weapons."""
    for h in hulls.values():
        where = f"hulls.toml: [{h.key}]"
        if h.slots > MAX_WEAPON_SLOTS:
            raise ContentError(f"{where}.slots must be at most {MAX_WEAPON_SLOTS}")
        if h.cruise_speed and not h.max_speed < h.cruise_speed <= MAX_CRUISE_SPEED:
            raise ContentError(
                f"{where}.cruise_speed must be 0 (no cruise drive) or above max_speed and at"
                f" most {MAX_CRUISE_SPEED:g} m/s"
            )
        if len(h.loadout) > h.slots:
            raise ContentError(f"{where}.loadout has {len(h.loadout)} weapons for {h.slots} slots")
        for weapon in h.loadout:
            if weapon not in weapons:
                raise ContentError(
                    f"{where}.loadout names unknown weapon {weapon!r}; known: {sorted(weapons)}"
                )


@cache
def load_content(data_dir: Path = DATA_DIR) -> Content:
    """Load and validate every content file; raises ContentError naming the file and field."""
    weapons = _load_table(Weapon, "weapons", data_dir)
    for weapon in weapons.values():
        _check_weapon(weapon)
    hulls = _load_table(Hull, "hulls", data_dir)
    _check_hulls(hulls, weapons)
    return Content(
        hulls=hulls,
        factions=_load_table(Faction, "factions", data_dir),
        commodities=_load_table(Commodity, "commodities", data_dir),
        ores=_load_table(Ore, "ores", data_dir),
        weapons=weapons,
    )
