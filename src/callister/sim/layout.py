"""`ZoneLayout`: the static geometry a zone simulates around, independent of `universe/`.

The zone needs only numbers (radii, positions, links), so it takes this neutral value instead of
a universe type. `ZoneLayout.from_system` reads a generated star system by duck typing, which
keeps `sim/` testable with hand-built layouts and free of the generator's internals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class StationSpec:
    """A dockable station: body `radius` collides; ships dock within `dock_radius` of the centre."""

    index: int
    x: float
    y: float
    radius: float
    dock_radius: float


@dataclass(frozen=True, slots=True)
class RockSpec:
    """An asteroid: a circle of radius `r`; `field` is the index of its asteroid field."""

    x: float
    y: float
    r: float
    field: int = 0


class _Star(Protocol):
    @property
    def radius(self) -> Any: ...


class _System(Protocol):
    """What `from_system` reads (all attributes are ints in universe/, any real number here)."""

    # read-only properties, so frozen dataclasses (universe.StarSystem) satisfy the protocol
    @property
    def radius(self) -> Any: ...
    @property
    def sector(self) -> Any: ...
    @property
    def links(self) -> Any: ...
    @property
    def star(self) -> _Star: ...
    @property
    def stations(self) -> Any: ...
    @property
    def fields(self) -> Any: ...


def _finite(name: str, value: float, *, positive: bool = False) -> None:
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        kind = "positive" if positive else "non-negative"
        raise ValueError(f"{name} must be a finite {kind} number, not {value!r}")


@dataclass(frozen=True, slots=True)
class ZoneLayout:
    """The static part of one star system, centred on its star at (0, 0). Metres.

    Promises: validated at construction (ValueError for non-finite or negative sizes, a
    non-positive system radius, duplicate station indices or links). Rocks are numbered in
    the order given; that number is the `index` of a rock in `Collided` events.
    """

    radius: float
    sector: tuple[int, int] = (0, 0)
    links: tuple[tuple[int, int], ...] = ()
    star_radius: float = 0.0
    stations: tuple[StationSpec, ...] = ()
    rocks: tuple[RockSpec, ...] = ()

    def __post_init__(self) -> None:
        _finite("radius", self.radius, positive=True)
        _finite("star_radius", self.star_radius)
        for s in self.stations:
            for name in ("x", "y"):
                if not math.isfinite(getattr(s, name)):
                    raise ValueError(f"station {s.index} {name} must be finite")
            _finite(f"station {s.index} radius", s.radius)
            _finite(f"station {s.index} dock_radius", s.dock_radius)
        indices = [s.index for s in self.stations]
        if len(set(indices)) != len(indices):
            raise ValueError(f"duplicate station indices in {indices}")
        for i, rock in enumerate(self.rocks):
            if not (math.isfinite(rock.x) and math.isfinite(rock.y)):
                raise ValueError(f"rock {i} position must be finite")
            _finite(f"rock {i} r", rock.r)
        if len(set(self.links)) != len(self.links):
            raise ValueError("duplicate jump links")

    def station(self, index: int) -> StationSpec | None:
        """The station with this index, or None."""
        for s in self.stations:
            if s.index == index:
                return s
        return None

    @classmethod
    def from_system(cls, system: _System) -> ZoneLayout:
        """Build a layout from a generated star system (duck-typed; see module docstring).

        Reads only: ``radius``, ``sector`` (x, y), ``links`` (tuple of (x, y)),
        ``star.radius``, ``stations[i].index/.x/.y/.radius/.dock_radius`` and
        ``fields[i].rocks[j].x/.y/.r``.
        """
        stations = tuple(
            StationSpec(
                index=int(s.index),
                x=float(s.x),
                y=float(s.y),
                radius=float(s.radius),
                dock_radius=float(s.dock_radius),
            )
            for s in system.stations
        )
        fields: Iterable[Any] = system.fields
        rocks = tuple(
            RockSpec(x=float(r.x), y=float(r.y), r=float(r.r), field=i)
            for i, f in enumerate(fields)
            for r in f.rocks
        )
        sx, sy = system.sector
        return cls(
            radius=float(system.radius),
            sector=(int(sx), int(sy)),
            links=tuple((int(lx), int(ly)) for lx, ly in system.links),
            star_radius=float(system.star.radius),
            stations=stations,
            rocks=rocks,
        )
