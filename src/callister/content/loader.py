"""Typed loader for the TOML content files. Content is read once and is immutable."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

DATA_DIR = Path(__file__).parent / "data"


class ContentError(ValueError):
    """A content file is missing a field, has a wrong type, or an out-of-range value."""


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

    @property
    def starter_hull(self) -> Hull:
        """The hull new and reborn players fly (the first marked `starter`)."""
        for hull in self.hulls.values():
            if hull.starter:
                return hull
        raise ContentError("no hull is marked starter = true")


T = TypeVar("T")


def _build(cls: type[T], key: str, raw: dict[str, Any], source: str) -> T:
    kwargs: dict[str, Any] = {"key": key}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name == "key":
            continue
        if f.name not in raw:
            if f.default is not f.default_factory:  # has a default
                continue
            raise ContentError(f"{source}: [{key}] lacks field '{f.name}'")
        value = raw[f.name]
        want: type = {"float": float, "int": int, "str": str, "bool": bool}[str(f.type)]
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise ContentError(f"{source}: [{key}].{f.name} must be {want.__name__}")
        if isinstance(value, int | float) and value < 0:
            raise ContentError(f"{source}: [{key}].{f.name} must not be negative")
        kwargs[f.name] = value
    unknown = set(raw) - {f.name for f in fields(cls)}  # type: ignore[arg-type]
    if unknown:
        raise ContentError(f"{source}: [{key}] has unknown fields {sorted(unknown)}")
    return cls(**kwargs)


def _load_table(cls: type[T], name: str, data_dir: Path) -> dict[str, T]:
    path = data_dir / f"{name}.toml"
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    if not raw:
        raise ContentError(f"{path.name}: no entries")
    return {key: _build(cls, key, value, path.name) for key, value in raw.items()}


@cache
def load_content(data_dir: Path = DATA_DIR) -> Content:
    """Load and validate every content file; raises ContentError naming the file and field."""
    return Content(
        hulls=_load_table(Hull, "hulls", data_dir),
        factions=_load_table(Faction, "factions", data_dir),
        commodities=_load_table(Commodity, "commodities", data_dir),
        ores=_load_table(Ore, "ores", data_dir),
    )
