"""Generator parameters: the part of a world's identity besides its seed.

`GeneratorParams` says how dense space is, how many systems have stations, how rich asteroid
fields are, how long a jump link may be, and which named regions override some of that. Every
value is an integer within a safe range (validated on construction, with the field named in
the error), and generation uses them in integer arithmetic only, so the same seed and params
give byte-identical systems on any machine. `DEFAULT_PARAMS` reproduces the generator as it
was before parameters existed, byte for byte.

A world's params are fixed when it is created: changing them would move, add and remove
systems under its players (and every stored delta refers to the generated base). New params
apply to a new world or a fork.

Regions apply per block of 4 x 4 sectors: a block belongs to the first region (in list order)
that contains the block's centre, which is why a region must be at least 4 sectors across.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

from callister.content import load_content
from callister.universe.space import BLOCK_BITS, GENERATOR_VERSION, SECTOR_MAX, SECTOR_MIN

# name: (least, most, default, what it means); percentages are of the default generator's
RANGES: Final[dict[str, tuple[int, int, int, str]]] = {
    "density": (50, 200, 100, "systems per sector, in % of the default (about 20% of sectors)"),
    "station_fraction": (10, 100, 78, "% of systems with at least one station"),
    "field_richness": (25, 400, 100, "asteroid field richness, in % of the default"),
    "max_link_length": (2000, 6000, 3500, "longest jump link, galaxy units (1000 per sector)"),
}
REGION_OVERRIDES: Final = ("density", "station_fraction", "field_richness")
MAX_REGIONS: Final = 64
MAX_REGION_NAME: Final = 48
MIN_REGION_SIZE: Final = 1 << BLOCK_BITS  # sectors: a region holds at least one block centre
MAX_CIRCLE_RADIUS: Final = 2**40


class GeneratorParamsError(ValueError):
    """Parameters out of range or malformed; `field` names the parameter ("regions[2].rect")."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}" if field else reason)


def _int_in(where: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise GeneratorParamsError(where, f"must be a whole number in {lo}..{hi}, got {value!r}")
    return value


def _sector(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise GeneratorParamsError(where, f"must be a whole number, got {value!r}")
    if not SECTOR_MIN <= value <= SECTOR_MAX:
        raise GeneratorParamsError(where, "must be a sector coordinate (signed 64-bit)")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    """What generation uses in one block: the params with its region's overrides applied."""

    density: int
    station_fraction: int
    field_richness: int
    faction: str  # "" = the faction territories decide
    region: str  # the region's name, "" outside every region


@dataclass(frozen=True, slots=True)
class Region:
    """A named region: a rectangle (x0, y0, x1, y1: inclusive sector bounds) or a circle
    (cx, cy, r: the centre sector and a radius in sectors), and what it overrides (None: the
    world's value). `faction` makes it that faction's territory (a base content faction)."""

    name: str
    rect: tuple[int, int, int, int] | None = None
    circle: tuple[int, int, int] | None = None
    density: int | None = None
    station_fraction: int | None = None
    field_richness: int | None = None
    faction: str | None = None

    def check(self, where: str, factions: tuple[str, ...]) -> None:
        """Raise GeneratorParamsError (naming `where`.field) unless the region is valid."""
        if not isinstance(self.name, str) or not self.name.strip():
            raise GeneratorParamsError(f"{where}.name", "must be non-empty text")
        if len(self.name) > MAX_REGION_NAME or not self.name.isprintable():
            raise GeneratorParamsError(
                f"{where}.name", f"must be printable text of at most {MAX_REGION_NAME} characters"
            )
        if (self.rect is None) == (self.circle is None):
            raise GeneratorParamsError(where, "needs exactly one shape: rect or circle")
        if self.rect is not None:
            w = f"{where}.rect"
            if not isinstance(self.rect, tuple) or len(self.rect) != 4:
                raise GeneratorParamsError(w, "must be [x0, y0, x1, y1] (inclusive sectors)")
            x0, y0, x1, y1 = (_sector(w, v) for v in self.rect)
            if x1 - x0 + 1 < MIN_REGION_SIZE or y1 - y0 + 1 < MIN_REGION_SIZE:
                raise GeneratorParamsError(
                    w, f"must span at least {MIN_REGION_SIZE} sectors each way (x0 <= x1 - 3)"
                )
        if self.circle is not None:
            w = f"{where}.circle"
            if not isinstance(self.circle, tuple) or len(self.circle) != 3:
                raise GeneratorParamsError(w, "must be [x, y, radius] (sectors)")
            _sector(w, self.circle[0])
            _sector(w, self.circle[1])
            _int_in(w, self.circle[2], MIN_REGION_SIZE, MAX_CIRCLE_RADIUS)
        for name in REGION_OVERRIDES:
            value = getattr(self, name)
            if value is not None:
                lo, hi, _, _ = RANGES[name]
                _int_in(f"{where}.{name}", value, lo, hi)
        if self.faction is not None and self.faction not in factions:
            raise GeneratorParamsError(
                f"{where}.faction", f"must be one of {', '.join(factions)}, got {self.faction!r}"
            )

    def contains_block(self, bx: int, by: int) -> bool:
        """Whether the centre of block (bx, by) (sectors 4bx..4bx+3) lies in the region."""
        half = 1 << (BLOCK_BITS - 1)
        cx, cy = (bx << BLOCK_BITS) + half, (by << BLOCK_BITS) + half  # a sector corner
        if self.rect is not None:
            x0, y0, x1, y1 = self.rect
            return x0 <= cx <= x1 and y0 <= cy <= y1
        assert self.circle is not None
        sx, sy, r = self.circle
        # doubled coordinates: the circle's centre is the middle of sector (sx, sy)
        dx, dy = 2 * cx - 2 * sx - 1, 2 * cy - 2 * sy - 1
        return dx * dx + dy * dy <= 4 * r * r

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, omitting what the region does not set."""
        out: dict[str, Any] = {"name": self.name}
        if self.rect is not None:
            out["rect"] = list(self.rect)
        if self.circle is not None:
            out["circle"] = list(self.circle)
        for name in (*REGION_OVERRIDES, "faction"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out

    @classmethod
    def from_dict(cls, where: str, data: Any) -> Region:
        """A region from its JSON/TOML table; GeneratorParamsError naming the field."""
        if not isinstance(data, dict):
            raise GeneratorParamsError(where, "must be a table with name and rect or circle")
        known = ("name", "rect", "circle", *REGION_OVERRIDES, "faction")
        for key in data:
            if key not in known:
                raise GeneratorParamsError(
                    f"{where}.{key}", f"unknown field; a region has {', '.join(known)}"
                )
        values = dict(data)
        for shape in ("rect", "circle"):
            if isinstance(values.get(shape), list):
                values[shape] = tuple(values[shape])
            elif shape in values:
                raise GeneratorParamsError(f"{where}.{shape}", "must be a list of sectors")
        if "name" not in values:
            raise GeneratorParamsError(f"{where}.name", "is missing")
        return cls(**values)


@dataclass(frozen=True, slots=True)
class GeneratorParams:
    """How a world's universe is generated, besides its seed (see the module doc). Validated
    on construction (GeneratorParamsError naming the field); hashable, so it keys caches."""

    density: int = 100
    station_fraction: int = 78
    field_richness: int = 100
    max_link_length: int = 3500
    regions: tuple[Region, ...] = ()
    # the hash is computed once: params key every generation cache, on the hot path
    _hash: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        for name, (lo, hi, _, _) in RANGES.items():
            _int_in(name, getattr(self, name), lo, hi)
        if not isinstance(self.regions, tuple) or len(self.regions) > MAX_REGIONS:
            raise GeneratorParamsError("regions", f"must be a list of at most {MAX_REGIONS}")
        factions = tuple(load_content().factions)  # the base's: the map never uses packs
        names: set[str] = set()
        for i, region in enumerate(self.regions):
            if not isinstance(region, Region):
                raise GeneratorParamsError(f"regions[{i}]", "must be a Region")
            region.check(f"regions[{i}]", factions)
            if region.name in names:
                raise GeneratorParamsError(f"regions[{i}].name", f"{region.name!r} is taken")
            names.add(region.name)
        # from the digest, not hash(): the same in every process, so a pickled copy agrees
        object.__setattr__(self, "_hash", int(self.digest[:15], 16))

    def __hash__(self) -> int:
        return self._hash

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: {"generator": GENERATOR_VERSION, every parameter, "regions"}."""
        out: dict[str, Any] = {"generator": GENERATOR_VERSION}
        out.update({name: getattr(self, name) for name in RANGES})
        out["regions"] = [r.to_dict() for r in self.regions]
        return out

    @classmethod
    def from_dict(cls, data: Any) -> GeneratorParams:
        """Params from a JSON object or TOML document; absent parameters take their defaults.
        Unknown keys, bad values and a "generator" version other than this code's are
        refused (GeneratorParamsError naming the field)."""
        if data is None:
            return DEFAULT_PARAMS
        if not isinstance(data, dict):
            raise GeneratorParamsError("", "generator parameters must be a table / JSON object")
        known = ("generator", *RANGES, "regions")
        for key in data:
            if key not in known:
                raise GeneratorParamsError(key, f"unknown parameter; known: {', '.join(known)}")
        version = data.get("generator", GENERATOR_VERSION)
        if version != GENERATOR_VERSION or isinstance(version, bool):
            raise GeneratorParamsError(
                "generator",
                f"these parameters are for generator version {version!r}; this server "
                f"generates version {GENERATOR_VERSION}",
            )
        raw_regions = data.get("regions", [])
        if not isinstance(raw_regions, list):
            raise GeneratorParamsError("regions", "must be a list of region tables")
        regions = tuple(Region.from_dict(f"regions[{i}]", r) for i, r in enumerate(raw_regions))
        return cls(**{k: data[k] for k in RANGES if k in data}, regions=regions)

    @classmethod
    def from_toml(cls, text: str) -> GeneratorParams:
        """Params from a TOML document (top-level parameters, [[regions]] tables)."""
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise GeneratorParamsError("", f"not valid TOML ({exc})") from None
        except RecursionError:  # tomllib recurses once per level of [ or {
            raise GeneratorParamsError("", "arrays or tables are nested too deeply") from None
        return cls.from_dict(doc)

    def canonical(self) -> bytes:
        """`to_dict` as canonical JSON (sorted keys, no spaces, ASCII)."""
        return json.dumps(
            self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True
        ).encode()

    @property
    def digest(self) -> str:
        """SHA-256 (hex) of `canonical()`: with the seed, the identity of a world's map."""
        return hashlib.sha256(self.canonical()).hexdigest()

    @property
    def is_default(self) -> bool:
        """Whether these are the default parameters (the map of the original generator)."""
        return self == DEFAULT_PARAMS


DEFAULT_PARAMS: Final = GeneratorParams()
_DEFAULT_SETTINGS: Final = Settings(100, 78, 100, "", "")


def settings_at(params: GeneratorParams, bx: int, by: int) -> Settings:
    """The settings generation uses in block (bx, by) under `params`."""
    if not params.regions:
        if params is DEFAULT_PARAMS:
            return _DEFAULT_SETTINGS
        return Settings(params.density, params.station_fraction, params.field_richness, "", "")
    return _regional(params, bx, by)


@lru_cache(maxsize=1 << 14)
def _regional(params: GeneratorParams, bx: int, by: int) -> Settings:
    for region in params.regions:
        if region.contains_block(bx, by):
            return Settings(
                params.density if region.density is None else region.density,
                params.station_fraction
                if region.station_fraction is None
                else region.station_fraction,
                params.field_richness if region.field_richness is None else region.field_richness,
                region.faction or "",
                region.name,
            )
    return Settings(params.density, params.station_fraction, params.field_richness, "", "")
