"""What each kind of content entry holds: typed, frozen dataclasses whose fields carry their
parsers and bounds.

Every field is declared with `spec(parser, ...)`; the parser turns one TOML value into the
field's value or raises `Bad` with a reason that says what is allowed ("must be a number in
1..1000, got "fast""). The bounds keep the simulation sane (no zero cooldowns, no kilometre
hulls, no NaN) and are the same for the base content and for packs. A field declared without a
spec still loads, under the old rule: the right type, finite, not negative.

Rules that tie fields of one entry together (a missile needs ammunition, a loadout fits the
slots) are `entry_rules`; rules across tables (a loadout names known weapons) live in the
loader.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any, Final

MAX_WEAPON_SLOTS: Final = 4
"""The most weapon slots a hull may have (the simulation stores this many per ship)."""

WEAPON_KINDS: Final = ("hitscan", "projectile", "missile")

MAX_CRUISE_SPEED: Final = 2000.0
"""m/s: the fastest cruise a hull may have (a snapshot's velocity field holds +-2047 m/s, and
clients dead-reckon with it)."""

NPC_GOALS: Final = ("trader", "hauler", "miner", "pirate", "patrol")
"""What an NPC role may do: the clone goals the agents implement (`agents.Goal`, less crew)."""

SYSTEM_KINDS: Final = ("lawful", "lawless", "home")
"""How NPC population targets classify a system: `lawful` has a station of a lawful faction;
`home` has none and is a home system (new players start there); `lawless` is every other."""

KEY_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
KEY_RULE: Final = "1-32 of a-z 0-9 _, starting with a letter"
MAX_NAME: Final = 48
MAX_SILHOUETTE_POINTS: Final = 32
MIN_SILHOUETTE_AREA: Final = 0.05  # in hull radii squared: smaller would not show on screen
MAX_POPULATION: Final = 16  # NPCs of one role in one system


class Bad(Exception):
    """One value is wrong; `reason` says how and what is allowed (the loader adds where)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Parser = Callable[[Any], Any]


def show(value: Any) -> str:
    """A short, readable rendering of a TOML value for error messages."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fmt(v: float) -> str:
    return f"{v:g}"


def number(lo: float, hi: float, *, above: bool = False) -> Parser:
    """A finite float in lo..hi (with `above`: strictly more than lo); ints are accepted."""
    rule = f"> {_fmt(lo)} and <= {_fmt(hi)}" if above else f"in {_fmt(lo)}..{_fmt(hi)}"

    def parse(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Bad(f"must be a number {rule}, got {show(value)}")
        v = float(value)
        if not math.isfinite(v) or v > hi or v < lo or (above and v == lo):
            raise Bad(f"must be a number {rule}, got {show(value)}")
        return v

    return parse


def integer(lo: int, hi: int) -> Parser:
    """A whole number in lo..hi (1.0 is not one: prices and counts are exact)."""

    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise Bad(f"must be a whole number in {lo}..{hi}, got {show(value)}")
        return value

    return parse


def flag(value: Any) -> bool:
    """true or false."""
    if not isinstance(value, bool):
        raise Bad(f"must be true or false, got {show(value)}")
    return value


def text(max_len: int = MAX_NAME) -> Parser:
    """Non-empty printable text of at most `max_len` characters (no control characters:
    names end up in every client and log)."""

    def parse(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise Bad(f"must be non-empty text, got {show(value)}")
        if len(value) > max_len:
            raise Bad(f"must be at most {max_len} characters, got {len(value)}")
        if not value.isprintable():
            raise Bad("must be printable text (no tabs, newlines or control characters)")
        return value

    return parse


def choice(options: tuple[str, ...]) -> Parser:
    """One of `options`."""

    def parse(value: Any) -> str:
        if not isinstance(value, str) or value not in options:
            raise Bad(f"must be one of {', '.join(options)}; got {show(value)}")
        return value

    return parse


def key_list(*, least: int = 0, most: int = MAX_WEAPON_SLOTS) -> Parser:
    """A list of `least`..`most` content keys (references, checked by the loader)."""

    def parse(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Bad(f'must be a list of keys like ["laser"], got {show(value)}')
        if not least <= len(value) <= most:
            raise Bad(f"must list {least}..{most} keys, got {len(value)}")
        for v in value:
            if not KEY_PATTERN.fullmatch(v):
                raise Bad(f"{show(v)} is not a content key ({KEY_RULE})")
        return tuple(value)

    return parse


_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def hex_color(value: Any) -> str:
    """ "#rrggbb"."""
    if not isinstance(value, str) or not _COLOR.fullmatch(value):
        raise Bad(f'must be a colour "#rrggbb", got {show(value)}')
    return value.lower()


def outline(value: Any) -> tuple[tuple[float, float], ...]:
    """A polygon of 3..32 [x, y] points in hull radii: +x is the nose, +y the left side
    (counter-clockwise from the nose, like the simulation's angles), every point inside the
    collision circle (x*x + y*y <= 1), enclosing an area of at least 0.05 radii squared."""
    if not isinstance(value, list) or not 3 <= len(value) <= MAX_SILHOUETTE_POINTS:
        raise Bad(f"must be a list of 3..{MAX_SILHOUETTE_POINTS} [x, y] points, got {show(value)}")
    points = []
    for i, p in enumerate(value):
        if (
            not isinstance(p, list)
            or len(p) != 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in p)
        ):
            raise Bad(f"point {i} must be [x, y] (two numbers), got {show(p)}")
        x, y = float(p[0]), float(p[1])
        if not (math.isfinite(x) and math.isfinite(y)) or x * x + y * y > 1.0 + 1e-9:
            raise Bad(
                f"point {i} {show(p)} lies outside the hull's radius (x*x + y*y must be <= 1)"
            )
        points.append((x, y))
    area = 0.5 * abs(
        sum(
            x0 * y1 - x1 * y0
            for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True)
        )
    )
    if area < MIN_SILHOUETTE_AREA:
        raise Bad(
            f"encloses {area:.3f} radii squared; at least {MIN_SILHOUETTE_AREA} is needed "
            "to be seen (are the points in order around the outline?)"
        )
    return tuple(points)


@dataclass(frozen=True, slots=True)
class Population:
    """How many NPCs of a role a system gets, per system kind (SYSTEM_KINDS): an inclusive
    [least, most] range; the count is drawn from the system's hash."""

    lawful: tuple[int, int] = (0, 0)
    lawless: tuple[int, int] = (0, 0)
    home: tuple[int, int] = (0, 0)

    def range_for(self, kind: str) -> tuple[int, int]:
        """The [least, most] range for system kind `kind` (one of SYSTEM_KINDS)."""
        lo, hi = getattr(self, kind)
        return lo, hi


def population_table(value: Any) -> Population:
    """A table { lawful = [1, 2], lawless = [0, 0], home = [0, 1] }; kinds left out get [0, 0]."""
    if not isinstance(value, dict):
        raise Bad(f"must be a table like {{ lawful = [1, 2] }}, got {show(value)}")
    unknown = sorted(set(value) - set(SYSTEM_KINDS))
    if unknown:
        raise Bad(f"unknown system kinds {unknown}; known: {', '.join(SYSTEM_KINDS)}")
    ranges: dict[str, tuple[int, int]] = {}
    for kind, pair in value.items():
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(n, int) and not isinstance(n, bool) for n in pair)
            or not 0 <= pair[0] <= pair[1] <= MAX_POPULATION
        ):
            raise Bad(
                f"{kind} must be [least, most] with 0 <= least <= most <= {MAX_POPULATION}, "
                f"got {show(pair)}"
            )
        ranges[kind] = (pair[0], pair[1])
    return Population(**ranges)


def spec(parse: Parser, default: Any = MISSING) -> Any:
    """A dataclass field parsed and bounded by `parse` (with an optional default)."""
    if default is MISSING:
        return field(metadata={"parse": parse})
    return field(default=default, metadata={"parse": parse})


NAME = text()
PRICE = integer(0, 1_000_000_000)


@dataclass(frozen=True, slots=True)
class Weapon:
    """A weapon module (weapons.toml explains every field and its unit)."""

    key: str
    name: str = spec(NAME)
    kind: str = spec(choice(WEAPON_KINDS))
    damage: float = spec(number(0, 10_000, above=True))
    range: float = spec(number(10, 20_000))
    cooldown: float = spec(number(0.05, 600))
    energy: float = spec(number(0, 10_000))
    ammo: int = spec(integer(0, 10_000))
    speed: float = spec(number(0, 20_000))
    turn_rate: float = spec(number(0, 1080))
    arc: float = spec(number(0, 180))
    falloff: float = spec(number(0, 1))
    price: int = spec(PRICE)
    ammo_price: int = spec(integer(0, 1_000_000))


@dataclass(frozen=True, slots=True)
class Hull:
    """A ship hull (hulls.toml explains every field and its unit)."""

    key: str
    name: str = spec(NAME)
    thrust: float = spec(number(1, 1000))
    max_speed: float = spec(number(10, 5000))
    turn_rate: float = spec(number(1, 1080))
    radius: float = spec(number(2, 100))
    mass: float = spec(number(0.1, 100_000))
    hull: float = spec(number(1, 1_000_000))
    shield: float = spec(number(0, 1_000_000))
    cargo: int = spec(integer(0, 100_000))
    fuel: float = spec(number(0, 1_000_000))
    price: int = spec(PRICE)
    starter: bool = spec(flag, False)
    # Combat and upkeep; the defaults describe an unarmed hull that burns no fuel, so a
    # content set without combat still loads.
    slots: int = spec(integer(0, MAX_WEAPON_SLOTS), 0)
    loadout: tuple[str, ...] = spec(key_list(), ())
    energy: float = spec(number(0, 1_000_000), 0.0)
    energy_regen: float = spec(number(0, 10_000), 0.0)
    shield_regen: float = spec(number(0, 10_000), 0.0)
    fuel_burn: float = spec(number(0, 1000), 0.0)
    jump_fuel: float = spec(number(0, 1_000_000), 0.0)
    repair_price: int = spec(integer(0, 1_000_000), 0)
    # Travel (issue 16): 0 = no cruise drive; fuel per km flown in cruise.
    cruise_speed: float = spec(number(0, MAX_CRUISE_SPEED), 0.0)
    cruise_fuel: float = spec(number(0, 1000), 0.0)
    # The outline clients draw, in hull radii (`silhouette` above); () = the client's own.
    silhouette: tuple[tuple[float, float], ...] = spec(outline, ())


@dataclass(frozen=True, slots=True)
class Faction:
    key: str
    name: str = spec(NAME)
    lawful: bool = spec(flag)
    color: str = spec(hex_color)


@dataclass(frozen=True, slots=True)
class Commodity:
    key: str
    name: str = spec(NAME)
    base_price: int = spec(integer(1, 10_000_000))
    volume: int = spec(integer(1, 1000))


@dataclass(frozen=True, slots=True)
class Ore:
    key: str
    name: str = spec(NAME)
    base_price: int = spec(integer(1, 10_000_000))
    weight: int = spec(integer(1, 1000))


@dataclass(frozen=True, slots=True)
class NpcRole:
    """Who flies in a system and how many (npc_roles.toml explains every field)."""

    key: str
    name: str = spec(NAME)
    goal: str = spec(choice(NPC_GOALS))
    hulls: tuple[str, ...] = spec(key_list(least=1, most=8))
    population: Population = spec(population_table)  # noqa: RUF009 - a Field, not a value
    min_markets: int = spec(integer(0, 8), 0)
    min_fields: int = spec(integer(0, 8), 0)
    max_per_system: int = spec(integer(0, MAX_POPULATION), 3)

    def hull_for(self, roll: int) -> str:
        """The hull an NPC of this role flies, chosen among `hulls` by a hash `roll` >= 0."""
        return self.hulls[roll % len(self.hulls)]


_SCALARS: Final[dict[str, type]] = {"float": float, "int": int, "str": str, "bool": bool}


def _legacy(kind: str) -> Parser:
    # A field declared without spec(): the right scalar type, finite, not negative.
    want = _SCALARS.get(kind)

    def parse(value: Any) -> Any:
        if want is None:
            raise Bad(f"has no parser for type {kind} (declare it with spec())")
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want) or (want is not bool and isinstance(value, bool)):
            raise Bad(f"must be {want.__name__}, got {show(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise Bad(f"must be finite, got {show(value)}")
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            raise Bad(f"must not be negative, got {show(value)}")
        return value

    return parse


def parser_of(f: Field[Any]) -> Parser:
    """The parser of a content field: its spec's, or the old scalar rule without one."""
    parse = f.metadata.get("parse")
    return parse if parse is not None else _legacy(str(f.type))


def data_fields(cls: type) -> Iterator[Field[Any]]:
    """The fields an entry of `cls` reads from TOML (all but `key`)."""
    return (f for f in fields(cls) if f.name != "key")


def required(f: Field[Any]) -> bool:
    """Whether a new entry must give this field (it has no default)."""
    return f.default is MISSING and f.default_factory is MISSING


Rule = tuple[tuple[str, ...], str]  # (the fields involved, the main one first; reason)


def _weapon_rules(w: Weapon) -> Iterator[Rule]:
    if w.kind != "hitscan" and w.speed <= 0:
        yield ("speed", "kind"), f"must be more than 0 for a {w.kind}"
    if w.kind == "missile" and w.turn_rate <= 0:
        yield ("turn_rate", "kind"), "must be more than 0 for a missile"
    if w.kind == "missile" and w.ammo == 0:
        yield ("ammo", "kind"), "must be more than 0 for a missile"


def _hull_rules(h: Hull) -> Iterator[Rule]:
    if len(h.loadout) > h.slots:
        yield ("loadout", "slots"), f"the loadout has {len(h.loadout)} weapons for {h.slots} slots"
    if h.cruise_speed and not h.cruise_speed > h.max_speed:
        yield (
            ("cruise_speed", "max_speed"),
            "must be 0 (no cruise drive) or above max_speed "
            f"({h.cruise_speed:g} <= {h.max_speed:g})",
        )


def _role_rules(r: NpcRole) -> Iterator[Rule]:
    if len(set(r.hulls)) != len(r.hulls):
        yield ("hulls",), "names a hull twice"


def entry_rules(entry: object) -> Iterator[Rule]:
    """((fields involved, main first), reason) for every rule `entry` breaks that ties its
    own fields together; the loader blames whichever of those fields was set last."""
    if isinstance(entry, Weapon):
        yield from _weapon_rules(entry)
    elif isinstance(entry, Hull):
        yield from _hull_rules(entry)
    elif isinstance(entry, NpcRole):
        yield from _role_rules(entry)


def to_json_value(value: Any) -> Any:
    """A parsed field value in JSON-ready form (tuples as lists, Population as a table)."""
    if isinstance(value, Population):
        return {k: list(value.range_for(k)) for k in SYSTEM_KINDS}
    if isinstance(value, tuple):
        return [to_json_value(v) for v in value]
    return value


def entry_dict(entry: object) -> dict[str, Any]:
    """Every field of a content entry (with `key`), JSON-ready, in declaration order."""
    return {f.name: to_json_value(getattr(entry, f.name)) for f in fields(entry)}  # type: ignore[arg-type]
