"""HUD objectives and their markers: what a pilot is asked to do next and where.

A `Marker` points at a station, a point in space, an asteroid field, a jump link or a ship, in
one sector. An `Objective` is one HUD line: its text, its marker and, for counted work, the
progress (`have` of `need`). Both serialise to the JSON the client draws (docs/missions.md,
"Messages").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from callister.missions._data import (
    Sector,
    get_float,
    get_int,
    get_str,
    obj,
    sector_in,
    sector_out,
)
from callister.missions.errors import MissionDataError

MarkerKind = Literal["station", "point", "field", "link", "ship"]
MARKER_KINDS: tuple[str, ...] = get_args(MarkerKind)


@dataclass(frozen=True, slots=True)
class Marker:
    """Where an objective points. `index` is the station or field index, or the ship's entity
    id; (x, y) is the position (a point's centre; for the others where it was last known, for
    the client's arrow); `radius` is how close counts for a point; `to` is a link's target
    sector."""

    kind: MarkerKind
    sector: Sector
    index: int = -1
    x: float = 0.0
    y: float = 0.0
    radius: float = 0.0
    to: Sector | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form: {"kind", "sector": ["x", "y"], "index", "x", "y", "radius"?, "to"?}."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "sector": sector_out(self.sector),
            "index": self.index,
            "x": round(self.x, 1),
            "y": round(self.y, 1),
        }
        if self.radius:
            out["radius"] = self.radius
        if self.to is not None:
            out["to"] = sector_out(self.to)
        return out

    @classmethod
    def from_dict(cls, value: object, path: str = "marker") -> Marker:
        """Read `to_dict` output back; MissionDataError names a bad field."""
        d = obj(value, path)
        kind = get_str(d, "kind", path)
        if kind not in MARKER_KINDS:
            raise MissionDataError(f"{path}.kind", f"must be one of {MARKER_KINDS}, not {kind!r}")
        return cls(
            kind=cast(MarkerKind, kind),
            sector=sector_in(d.get("sector"), f"{path}.sector"),
            index=get_int(d, "index", path, -1),
            x=get_float(d, "x", path, 0.0),
            y=get_float(d, "y", path, 0.0),
            radius=get_float(d, "radius", path, 0.0),
            to=sector_in(d["to"], f"{path}.to") if "to" in d else None,
        )


def reached(marker: Marker, sector: Sector, x: float, y: float) -> bool:
    """Whether a ship at (x, y) in `sector` has reached a point marker (within its radius).
    Other kinds are reached by their own events (docking, mining, jumping), so False."""
    if marker.kind != "point" or sector != marker.sector:
        return False
    return math.hypot(x - marker.x, y - marker.y) <= marker.radius


@dataclass(frozen=True, slots=True)
class Objective:
    """One HUD line: `text`, an optional `marker`, and `have` of `need` for counted work
    (need 0: not counted)."""

    text: str
    marker: Marker | None = None
    have: int = 0
    need: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form: {"text", "marker": {...} | null, "have"?, "need"?}."""
        out: dict[str, Any] = {
            "text": self.text,
            "marker": None if self.marker is None else self.marker.to_dict(),
        }
        if self.need:
            out["have"] = self.have
            out["need"] = self.need
        return out
