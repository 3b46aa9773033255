"""Argument checks run at the store boundary, before any SQL, so a bad value never reaches disk.

Every check raises ValueError with the field name and the reason, and returns the value converted
to the builtin type the database drivers bind (numpy scalars from the sim become int / float).
"""

from __future__ import annotations

import json
import math
import numbers
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from .records import MAX_WORLD_NAME, ROLES

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_TEXT = 1024  # names, worlds, keys, hashes: generous, but a bound keeps rows small
MAX_JSON_CHARS = 1 << 20  # one extra / delta value; bigger blobs belong in their own table
MAX_JSON_DEPTH = 64

SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def text(field: str, value: object, max_len: int = MAX_TEXT) -> str:
    """A non-empty str of at most `max_len` characters without NUL (PostgreSQL rejects NUL)."""
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{field} must not be empty")
    if len(value) > max_len:
        raise ValueError(f"{field} is {len(value)} characters; the limit is {max_len}")
    return clean(field, value)


def clean(field: str, value: str) -> str:
    """Refuse what a database cannot store as text: NUL (PostgreSQL) and lone surrogates."""
    if "\x00" in value:
        raise ValueError(f"{field} must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{field} is not valid Unicode text: {exc.reason}") from None
    return value


def int64(field: str, value: object, minimum: int = INT64_MIN) -> int:
    """An integer in [minimum, 2**63-1]. bool is refused: True as an id is always a bug."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{field} must be an int, not {type(value).__name__}")
    result = int(value)
    if not minimum <= result <= INT64_MAX:
        raise ValueError(f"{field}={result} is outside [{minimum}, {INT64_MAX}]")
    return result


def finite(field: str, value: object) -> float:
    """A finite real number as a float; -0.0 becomes 0.0.

    SQLite stores integral REAL values as integers and so loses the sign of zero; normalising
    here makes both backends return the same value (and no game rule depends on that sign).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{field} must be a float, not {type(value).__name__}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{field}={result!r} is not finite")
    return result + 0.0  # -0.0 + 0.0 == +0.0


def count(field: str, value: object, minimum: int, maximum: int) -> int:
    """A small integer in [minimum, maximum] (limits, offsets, reservation sizes)."""
    result = int64(field, value)
    if not minimum <= result <= maximum:
        raise ValueError(f"{field}={result} is outside [{minimum}, {maximum}]")
    return result


def role(value: object) -> str:
    if value not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}; got {value!r}")
    return str(value)


def token_hash(value: object) -> str:
    """A lowercase SHA-256 hex digest; refusing anything else keeps raw tokens out of the DB."""
    if not isinstance(value, str) or not SHA256_HEX.fullmatch(value):
        raise ValueError("token_hash must be the 64-character lowercase SHA-256 hex digest")
    return value


def name_key(name: str) -> str:
    """The form account names are compared in: NFKC then Unicode case folding.

    Stored in its own unique column, so both backends compare identically (SQLite's NOCASE only
    folds ASCII, PostgreSQL's lower() depends on the server locale).
    """
    return unicodedata.normalize("NFKC", name).casefold()


def to_json(field: str, value: Any, *, object_only: bool = False) -> str:
    """Encode a JSON value exactly as it will load back, or raise ValueError naming the bad part.

    Refused rather than silently changed: NaN/inf, non-str dict keys (json would stringify them)
    and tuples or other types (they would come back as lists or not at all).
    """
    if object_only and not isinstance(value, dict):
        raise ValueError(f"{field} must be a dict (JSON object), not {type(value).__name__}")
    _check_json(field, value, 0)
    encoded = json.dumps(value, allow_nan=False, separators=(",", ":"))
    if len(encoded) > MAX_JSON_CHARS:
        raise ValueError(f"{field} encodes to {len(encoded)} characters; limit {MAX_JSON_CHARS}")
    return encoded


def _check_json(path: str, value: Any, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"{path}: nested deeper than {MAX_JSON_DEPTH} levels")
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path}={value!r}: JSON cannot hold NaN or infinity")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(f"{path}[{i}]", item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: key {key!r} is not a str (JSON keys are strings)")
            _check_json(f"{path}[{key!r}]", item, depth + 1)
        return
    raise ValueError(
        f"{path}: {type(value).__name__} is not a JSON type "
        "(use dict, list, str, int, float, bool or None)"
    )


_KEY = re.compile(r"[a-z][a-z0-9_]*(?::[A-Za-z0-9_.\-]+)*")
_ITEM = re.compile(r"[A-Za-z0-9_.\-]+")
_KIND = re.compile(r"[a-z][a-z0-9_]*")
MAX_ITEM = 64
MAX_KIND = 32


def ledger_key(field: str, value: object, max_len: int) -> str:
    """A ledger account or holder key: a lowercase word, then ':'-separated parts
    ("mint", "player:7", "station:3:-4:1"). ASCII only, so both backends sort it the same."""
    result = text(field, value, max_len)
    if not _KEY.fullmatch(result):
        raise ValueError(
            f"{field}={result!r} is not a key like 'mint' or 'player:7' "
            "(a lowercase word, then ':'-separated parts of letters, digits, '_', '.', '-')"
        )
    return result


def item_key(field: str, value: object) -> str:
    """An item key (a content key such as "iron"): letters, digits, '_', '.', '-'."""
    result = text(field, value, MAX_ITEM)
    if not _ITEM.fullmatch(result):
        raise ValueError(f"{field}={result!r} may hold only letters, digits, '_', '.', '-'")
    return result


def kind(field: str, value: object) -> str:
    """A transaction kind: a lowercase word such as "trade" or "death"."""
    result = text(field, value, MAX_KIND)
    if not _KIND.fullmatch(result):
        raise ValueError(f"{field}={result!r} must be a lowercase word ([a-z][a-z0-9_]*)")
    return result


_WORLD_NAME = re.compile(r"[a-z][a-z0-9_-]{1,31}")


def world_name(value: object) -> str:
    """A world name: 2-32 characters, a lowercase letter then lowercase letters, digits, _ -."""
    if not isinstance(value, str) or not _WORLD_NAME.fullmatch(value):
        raise ValueError(
            f"world name {value!r} must be 2-{MAX_WORLD_NAME} characters: a lowercase letter, "
            "then lowercase letters, digits, '_' or '-'"
        )
    return value


def sequence(field: str, value: object) -> list[Any]:
    """A list of the items of a list/tuple-like argument; a str or a dict is refused (both are
    iterable, and iterating them is never what the caller meant)."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ValueError(f"{field} must be a list or tuple, not {type(value).__name__}")
    return list(value)
