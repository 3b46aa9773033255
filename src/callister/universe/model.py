"""The generated universe's value types: frozen msgspec Structs with JSON-ready `to_dict`.

Equal by value, hashable and picklable (zone workers may get a system pickled);
`msgspec.structs.replace` makes a changed copy (universe/deltas.py). A Struct is built in C,
several times faster than a frozen dataclass: generation builds ~40 per system.

Coordinates inside a system are integer metres with the star at (0, 0); times are ticks at
20 Hz. `to_dict` writes sector coordinates, galaxy positions and the seed (anything that may
exceed 2**53, the largest integer a JavaScript number holds exactly) as decimal strings and
small values as plain ints, so browsers never round a coordinate.
"""

from __future__ import annotations

import math
from typing import Any

from msgspec import Struct, structs

from callister.universe.gates import Gate, gates_of
from callister.universe.params import DEFAULT_PARAMS, GeneratorParams
from callister.universe.space import GENERATOR_VERSION

SERVICES: tuple[str, ...] = ("market", "refuel", "repair", "rearm", "shipyard")
PLANET_KINDS: tuple[str, ...] = ("lava", "rocky", "ice", "gas")
STAR_CLASSES: tuple[str, ...] = ("O", "B", "A", "F", "G", "K", "M")


class Star(Struct, frozen=True):
    """The system's star, always at (0, 0). `spectral_class` is one of STAR_CLASSES."""

    spectral_class: str
    color: str
    radius: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: {"class", "color", "radius"}."""
        return {"class": self.spectral_class, "color": self.color, "radius": self.radius}


class Planet(Struct, frozen=True):
    """A planet on a circular orbit around the star.

    `orbit` is the orbit radius (m), `period` the ticks per revolution, `phase` the position at
    tick 0 in millionths of a turn (counter-clockwise from +x).
    """

    index: int
    name: str
    kind: str
    radius: int
    orbit: int
    period: int
    phase: int

    def position_at(self, tick: int) -> tuple[float, float]:
        """Planet centre at `tick` (m). Float maths: for display and the sim, never for data."""
        # reduce the tick modulo the period first so huge tick numbers keep full precision
        turns = self.phase / 1_000_000 + (tick % self.period) / self.period
        angle = 2.0 * math.pi * turns
        return self.orbit * math.cos(angle), self.orbit * math.sin(angle)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with every field under its own name."""
        return structs.asdict(self)


class Station(Struct, frozen=True):
    """A dockable station. `index` always equals its position in `StarSystem.stations`.

    A destroyed station (a delta) stays in place with `destroyed=True` and no services, so
    station indices held elsewhere (homes, docked ships) never shift.
    """

    index: int
    name: str
    faction: str
    services: tuple[str, ...]
    x: int
    y: int
    radius: int
    dock_radius: int
    destroyed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: every field under its own name, `services` as a list in SERVICES
        order."""
        return {**structs.asdict(self), "services": list(self.services)}


class Rock(Struct, frozen=True):
    """One asteroid: centre (x, y) in system coordinates (not relative to its field), radius r."""

    x: int
    y: int
    r: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: {"x", "y", "r"}."""
        return structs.asdict(self)


class AsteroidField(Struct, frozen=True):
    """A disc of rocks around (x, y). `ore` is a content ore key; `richness` 0-100 (0: mined out,
    only through deltas; generated fields are 1-100). Every rock lies inside the disc."""

    index: int
    x: int
    y: int
    radius: int
    ore: str
    richness: int
    rocks: tuple[Rock, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: every field under its own name, rocks as a list of {"x", "y", "r"}."""
        return {**structs.asdict(self), "rocks": [r.to_dict() for r in self.rocks]}


class StarSystem(Struct, frozen=True):
    """One generated star system in sector (x, y) of world `seed` (u64).

    `gx, gy` is its galaxy position (galaxy units, SECTOR_SIZE per sector), used for link
    geometry and maps. `radius` is the playable radius in metres. `links` are the sectors of the
    systems reachable by one jump, sorted; links are symmetric. `faction` is the key of the
    faction whose region the system lies in. `region` is the name of the named region (of the
    world's generator parameters) it lies in, "" if none; `params` are those parameters.
    """

    seed: int
    x: int
    y: int
    name: str
    gx: int
    gy: int
    faction: str
    radius: int
    star: Star
    planets: tuple[Planet, ...]
    stations: tuple[Station, ...]
    fields: tuple[AsteroidField, ...]
    links: tuple[tuple[int, int], ...]
    region: str = ""
    params: GeneratorParams = DEFAULT_PARAMS

    @property
    def sector(self) -> tuple[int, int]:
        """(x, y) sector coordinates."""
        return (self.x, self.y)

    @property
    def gates(self) -> tuple[Gate, ...]:
        """Each link's jump gate, in `links` order (computed from the system; not in
        `to_dict`, so the generated data and its digest are unchanged)."""
        return gates_of(self)

    @property
    def key(self) -> str:
        """Stable textual id "x:y" (decimal, signed), e.g. for zone names and delta rows."""
        return f"{self.x}:{self.y}"

    @property
    def galaxy(self) -> tuple[int, int]:
        """(gx, gy) galaxy position."""
        return (self.gx, self.gy)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form. Sector coordinates, galaxy position and seed are decimal strings.
        "region" is present only for a system in a named region (so a world with default
        parameters serialises exactly as before parameters existed); `params` are the world's,
        not the system's, and are not repeated here."""
        out = {
            "version": GENERATOR_VERSION,
            "key": self.key,
            "seed": str(self.seed),
            "x": str(self.x),
            "y": str(self.y),
            "name": self.name,
            "galaxy": [str(self.gx), str(self.gy)],
            "faction": self.faction,
            "radius": self.radius,
            "star": self.star.to_dict(),
            "planets": [p.to_dict() for p in self.planets],
            "stations": [s.to_dict() for s in self.stations],
            "fields": [f.to_dict() for f in self.fields],
            "links": [[str(lx), str(ly)] for lx, ly in self.links],
        }
        if self.region:
            out["region"] = self.region
        return out
