"""The field-check family the wire decoder and the economy share: plain types out, and each
kind of bad value refused with the family's codes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.limits import MAX_RID_LEN
from callister.protocol.validate import Checks

WIRE = Checks(ProtocolError, ErrorCode.BAD_NUMBER)
LEDGER = Checks(ProtocolError, ErrorCode.BAD_FIELD)


def code(call: object) -> ErrorCode:
    with pytest.raises(ProtocolError) as info:
        call()  # type: ignore[operator]
    return info.value.code


def test_values_come_back_as_plain_types() -> None:
    value = WIRE.integer("n", np.int64(7), 0, 10)
    assert value == 7 and type(value) is int
    number = WIRE.number("x", np.float32(0.5), 0.0, 1.0)
    assert number == 0.5 and type(number) is float
    assert WIRE.number("x", 3) == 3.0 and type(WIRE.number("x", 3)) is float
    assert WIRE.positive("amount", 0.25) == 0.25
    assert WIRE.rid("r" * MAX_RID_LEN) == "r" * MAX_RID_LEN
    assert WIRE.choice("side", "buy", ("buy", "sell")) == "buy"


@pytest.mark.parametrize("bad", [True, 1.0, "1", None, [1]])
def test_a_wrong_type_is_bad_field_in_both_families(bad: object) -> None:
    assert code(lambda: WIRE.integer("n", bad)) == ErrorCode.BAD_FIELD
    assert code(lambda: LEDGER.integer("n", bad)) == ErrorCode.BAD_FIELD


def test_out_of_range_is_the_familys_code() -> None:
    for checks, expected in ((WIRE, ErrorCode.BAD_NUMBER), (LEDGER, ErrorCode.BAD_FIELD)):
        assert code(lambda c=checks: c.integer("n", 11, 0, 10)) == expected
        assert code(lambda c=checks: c.number("x", 1.5, 0.0, 1.0)) == expected
        assert code(lambda c=checks: c.number("x", math.nan)) == expected
        assert code(lambda c=checks: c.number("x", math.inf)) == expected
        assert code(lambda c=checks: c.positive("amount", 0)) == expected
    assert code(lambda: WIRE.number("x", True)) == ErrorCode.BAD_FIELD


@pytest.mark.parametrize(
    "rid", ["", "r" * (MAX_RID_LEN + 1), "a\nb", "tab\there", "\ud800", 5, None, b"rid"]
)
def test_rids_are_short_printable_text(rid: object) -> None:
    assert code(lambda: WIRE.rid(rid)) == ErrorCode.BAD_FIELD


def test_choices_name_what_is_accepted() -> None:
    with pytest.raises(ProtocolError) as info:
        WIRE.choice("side", "steal", ("buy", "sell"))
    assert info.value.code == ErrorCode.BAD_FIELD and "buy, sell" in info.value.message
    assert code(lambda: WIRE.choice("side", ["buy"], ("buy", "sell"))) == ErrorCode.BAD_FIELD
