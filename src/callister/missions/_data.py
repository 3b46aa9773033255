"""Reading stored JSON back: small checked accessors that raise MissionDataError with a path.

Everything in this package serialises to JSON with `to_dict` and reads back with `from_dict`;
these helpers make a corrupt or hand-edited record fail with the field's name instead of a
KeyError deep inside a transition.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from callister.missions.errors import MissionDataError

Sector = tuple[int, int]
T = TypeVar("T")


def obj(value: object, path: str) -> Mapping[str, Any]:
    """`value` as a JSON object, else MissionDataError."""
    if not isinstance(value, Mapping):
        raise MissionDataError(path, f"must be an object, not {type(value).__name__}")
    return value


def _field(
    d: Mapping[str, Any], key: str, path: str, default: T | None, convert: Callable[[Any], T]
) -> T:
    """d[key] through `convert`, which raises ValueError saying what is wrong with the value;
    `default` when the key is missing and there is one. Errors name the field's path."""
    if key not in d:
        if default is not None:
            return default
        raise MissionDataError(f"{path}.{key}", "is missing")
    try:
        return convert(d[key])
    except ValueError as exc:
        raise MissionDataError(f"{path}.{key}", str(exc)) from None


def _as_int(value: Any) -> int:
    if isinstance(value, str):
        try:
            return int(value, 10)
        except ValueError:
            raise ValueError(f"is not an integer: {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be an integer, not {value!r}")
    return value


def _as_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"must be a finite number, not {value!r}")
    return float(value)


def _as_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {value!r}")
    return value


def _as_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {value!r}")
    return value


def _as_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"must be a list, not {type(value).__name__}")
    return value


def get_int(d: Mapping[str, Any], key: str, path: str, default: int | None = None) -> int:
    """d[key] as an int (a decimal string too, for values JSON clients cannot hold exactly)."""
    return _field(d, key, path, default, _as_int)


def get_float(d: Mapping[str, Any], key: str, path: str, default: float | None = None) -> float:
    """d[key] as a finite float."""
    return _field(d, key, path, default, _as_float)


def get_str(d: Mapping[str, Any], key: str, path: str, default: str | None = None) -> str:
    """d[key] as a str."""
    return _field(d, key, path, default, _as_str)


def get_bool(d: Mapping[str, Any], key: str, path: str, default: bool | None = None) -> bool:
    """d[key] as a bool."""
    return _field(d, key, path, default, _as_bool)


def get_list(d: Mapping[str, Any], key: str, path: str, default: bool = False) -> list[Any]:
    """d[key] as a list ([] when missing and `default`)."""
    return _field(d, key, path, [] if default else None, _as_list)


def sector_out(sector: Sector) -> list[str]:
    """A sector as JSON: decimal strings, as the universe writes them (exact in browsers)."""
    return [str(sector[0]), str(sector[1])]


def sector_in(value: object, path: str) -> Sector:
    """A sector back from `sector_out` (plain integers are accepted too)."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise MissionDataError(path, f"must be [x, y], not {value!r}")
    d = {"x": value[0], "y": value[1]}
    return (get_int(d, "x", path), get_int(d, "y", path))
