"""`ZoneLayout`: the static geometry a zone simulates around, independent of `universe/`.

The zone needs only numbers (radii, positions, links), so it takes this neutral value instead of
a universe type. `ZoneLayout.from_system` reads a generated star system by duck typing, which
keeps `sim/` testable with hand-built layouts and free of the generator's internals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from callister.content import load_content


@dataclass(frozen=True, slots=True)
class StationSpec:
    """A dockable station: body `radius` collides; ships dock within `dock_radius` of the centre.

    `lawful`: the station's faction keeps the law: space within SECURE_RADIUS is secure, and
    its defences fire on criminals (see combat.py).
    """

    index: int
    x: float
    y: float
    radius: float
    dock_radius: float
    lawful: bool = False


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """An asteroid field's ore: rocks whose `field` equals `index` yield `ore`.

    `richness` (0-100) is the richness now, `base` the generated richness it regrows to;
    `tick` is the world tick of the last richness change (regrowth counts from it), None for
    "at the zone's start".
    """

    index: int
    ore: str
    richness: int
    base: int
    tick: int | None = None


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
    fields: tuple[FieldSpec, ...] = ()
    gates: tuple[tuple[float, float], ...] = ()
    """Where each link's jump gate is (m), in `links` order; empty: the layout places none (the
    autopilot then cannot fly to a link)."""

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
        if self.gates and len(self.gates) != len(self.links):
            raise ValueError(f"{len(self.gates)} gates for {len(self.links)} links")
        for gx, gy in self.gates:
            if not (math.isfinite(gx) and math.isfinite(gy)):
                raise ValueError("gate positions must be finite")
        field_indices = [f.index for f in self.fields]
        if len(set(field_indices)) != len(field_indices):
            raise ValueError(f"duplicate field indices in {field_indices}")
        for f in self.fields:
            for name in ("richness", "base"):
                value = getattr(f, name)
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
                    raise ValueError(f"field {f.index} {name} must be an int in 0..100")
            if f.tick is not None and (isinstance(f.tick, bool) or f.tick < 0):
                raise ValueError(f"field {f.index} tick must be a non-negative int or None")

    def station(self, index: int) -> StationSpec | None:
        """The station with this index, or None."""
        for s in self.stations:
            if s.index == index:
                return s
        return None

    def gate(self, to: tuple[int, int]) -> tuple[float, float] | None:
        """Where the jump gate of the link to sector `to` is, or None (no such link, or the
        layout places no gates)."""
        if not self.gates or to not in self.links:
            return None
        return self.gates[self.links.index(to)]

    def field(self, index: int) -> FieldSpec | None:
        """The field with this index, or None (rocks of a field without a spec hold no ore)."""
        for f in self.fields:
            if f.index == index:
                return f
        return None

    @classmethod
    def from_system(
        cls,
        system: _System,
        base_richness: Mapping[int, int] | None = None,
        field_ticks: Mapping[int, int] | None = None,
    ) -> ZoneLayout:
        """Build a layout from a generated star system (duck-typed; see module docstring).

        Reads only: ``radius``, ``sector`` (x, y), ``links`` (tuple of (x, y)), ``gates``
        if present (``gates[i].x/.y``: link i's jump gate),
        ``star.radius``, ``stations[i].index/.x/.y/.radius/.dock_radius/.faction`` (and
        ``.destroyed`` if present), ``fields[i].ore/.richness`` (fields without them get no
        FieldSpec: nothing to mine) and ``fields[i].rocks[j].x/.y/.r``. Field i of the layout
        is the system's i-th field.

        A station is lawful when its faction is lawful in content (a destroyed one never is).
        `base_richness` maps field index -> the generated richness (a system with deltas
        applied has lost it); a field missing from it has base = its richness now (or the
        richness now, if that is higher). `field_ticks` maps field index -> world tick of its
        last richness change (the ``field.<i>.tick`` delta).
        """
        factions = load_content().factions
        stations = tuple(
            StationSpec(
                index=int(s.index),
                x=float(s.x),
                y=float(s.y),
                radius=float(s.radius),
                dock_radius=float(s.dock_radius),
                lawful=bool(
                    not getattr(s, "destroyed", False)
                    and (f := factions.get(getattr(s, "faction", ""))) is not None
                    and f.lawful
                ),
            )
            for s in system.stations
        )
        fields: Iterable[Any] = system.fields
        rocks = tuple(
            RockSpec(x=float(r.x), y=float(r.y), r=float(r.r), field=i)
            for i, f in enumerate(fields)
            for r in f.rocks
        )
        bases = base_richness or {}
        ticks = field_ticks or {}
        field_specs = tuple(
            FieldSpec(
                index=i,
                ore=str(f.ore),
                richness=int(f.richness),
                base=max(int(bases.get(i, f.richness)), int(f.richness)),
                tick=None if i not in ticks else int(ticks[i]),
            )
            for i, f in enumerate(system.fields)
            # a field without ore data (a hand-made system) has rocks but nothing to mine
            if hasattr(f, "ore") and hasattr(f, "richness")
        )
        sx, sy = system.sector
        gates = tuple((float(g.x), float(g.y)) for g in getattr(system, "gates", ()))
        return cls(
            radius=float(system.radius),
            sector=(int(sx), int(sy)),
            links=tuple((int(lx), int(ly)) for lx, ly in system.links),
            star_radius=float(system.star.radius),
            stations=stations,
            rocks=rocks,
            fields=field_specs,
            gates=gates,
        )
