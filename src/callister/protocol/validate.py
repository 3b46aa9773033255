"""One family of field checks, used by the wire decoder (`protocol.messages`) and the economy.

A `Checks` returns each value in its plain type (a numpy integer from the simulation becomes an
int) or raises `refuse(code, message)`. A value of the wrong type is BAD_FIELD; a well-typed
value outside its bounds is the family's `out_of_range` code: BAD_NUMBER on the wire (the error
set's code for a number outside its range), BAD_FIELD in the economy (whose refusals are all
BAD_FIELD). Messages quote the field and say what would be accepted. No I/O.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

from callister.protocol.errors import ErrorCode
from callister.protocol.limits import MAX_KEY_LEN, MAX_RID_LEN, MAX_SECTOR, MIN_SECTOR

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

Refuse = Callable[[ErrorCode, str], Exception]
"""Builds the exception a failed check raises: ProtocolError, EconomyError, ..."""


class Checks:
    """The checks, raising `refuse(code, message)`; see the module docstring."""

    __slots__ = ("out_of_range", "refuse")

    def __init__(self, refuse: Refuse, out_of_range: ErrorCode) -> None:
        self.refuse = refuse
        self.out_of_range = out_of_range

    def integer(self, field: str, value: object, lo: int = INT64_MIN, hi: int = INT64_MAX) -> int:
        """An integer (not a bool) within [lo, hi]."""
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise self.refuse(ErrorCode.BAD_FIELD, f"'{field}' must be an integer")
        result = int(value)
        if not lo <= result <= hi:
            raise self.refuse(self.out_of_range, f"'{field}' must be within [{lo}, {hi}]")
        return result

    def decimal(self, field: str, value: object, lo: int = INT64_MIN, hi: int = INT64_MAX) -> int:
        """`integer`, also written as a decimal string: 64-bit values travel as strings on the
        wire (JSON numbers are doubles)."""
        if isinstance(value, str):
            digits = value.removeprefix("-")
            if not (digits.isascii() and digits.isdigit()) or len(value) > 24:
                raise self.refuse(ErrorCode.BAD_FIELD, f"'{field}' must be an integer")
            value = int(value)
        return self.integer(field, value, lo, hi)

    def sector(self, field: str, value: object) -> tuple[int, int]:
        """[x, y] sector coordinates (each a `decimal`)."""
        if not isinstance(value, list) or len(value) != 2:
            raise self.refuse(ErrorCode.BAD_FIELD, f"'{field}' must be [x, y] sector coordinates")
        return (
            self.decimal("x", value[0], MIN_SECTOR, MAX_SECTOR),
            self.decimal("y", value[1], MIN_SECTOR, MAX_SECTOR),
        )

    def content_key(self, field: str, value: object, example: str) -> str:
        """A content key (item, hull, weapon): short lowercase ASCII; whether the content has
        it is checked later. `example` is a key of the kind asked for, for the message."""
        if (
            not isinstance(value, str)
            or not 0 < len(value) <= MAX_KEY_LEN
            or not all(c.isascii() and (c.isalnum() or c == "_") for c in value)
        ):
            raise self.refuse(
                ErrorCode.BAD_FIELD, f"'{field}' must be a content key like '{example}'"
            )
        return value

    def number(
        self, field: str, value: object, lo: float = -math.inf, hi: float = math.inf
    ) -> float:
        """A finite real number (not a bool) within [lo, hi], as a float."""
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self.refuse(ErrorCode.BAD_FIELD, f"'{field}' must be a number")
        result = float(value)
        if not math.isfinite(result):
            raise self.refuse(self.out_of_range, f"'{field}' must be finite")
        if not lo <= result <= hi:
            raise self.refuse(self.out_of_range, f"'{field}' must be within [{lo}, {hi}]")
        return result

    def positive(self, field: str, value: object) -> float:
        """A finite number above 0, as a float."""
        result = self.number(field, value)
        if result <= 0:
            raise self.refuse(self.out_of_range, f"'{field}' must be positive")
        return result

    def rid(self, value: object) -> str:
        """A client request id: 1..MAX_RID_LEN printable characters (no control characters,
        no lone surrogates: both are unprintable), so it can key a ledger transaction."""
        if isinstance(value, str) and 0 < len(value) <= MAX_RID_LEN and value.isprintable():
            return value
        limit = f"1-{MAX_RID_LEN} printable characters"
        raise self.refuse(ErrorCode.BAD_FIELD, f"'rid' must be {limit}")

    def choice(self, field: str, value: object, choices: tuple[str, ...]) -> str:
        """One of `choices`."""
        if not isinstance(value, str) or value not in choices:
            accepted = ", ".join(choices)
            raise self.refuse(ErrorCode.BAD_FIELD, f"'{field}' must be one of: {accepted}")
        return value
