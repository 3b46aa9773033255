"""Decoding the moderators' hello options and the spectator's camera message (issue 6)."""

from __future__ import annotations

import json

import pytest

from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.messages import Hello, SpectateMsg, decode_client


def decode(**fields: object) -> object:
    return decode_client(json.dumps(fields))


def test_hello_options() -> None:
    assert decode(t="hello", token="t", v=1) == Hello("t", 1)
    got = decode(t="hello", token="t", v=1, spectate=True, follow="12", sector=["-3", 4])
    assert got == Hello("t", 1, spectate=True, follow=12, sector=(-3, 4))
    assert decode(t="hello", token="t", v=1, moderator_ship=True) == Hello(
        "t", 1, moderator_ship=True
    )


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"spectate": True, "moderator_ship": True}, ErrorCode.BAD_FIELD),
        ({"follow": "5"}, ErrorCode.BAD_FIELD),
        ({"sector": [1, 2]}, ErrorCode.BAD_FIELD),
        ({"spectate": 1}, ErrorCode.BAD_FIELD),
        ({"moderator_ship": "true"}, ErrorCode.BAD_FIELD),
        ({"spectate": True, "follow": "x"}, ErrorCode.BAD_FIELD),
        ({"spectate": True, "follow": -4}, ErrorCode.BAD_NUMBER),
        ({"spectate": True, "sector": [1]}, ErrorCode.BAD_FIELD),
        ({"spectate": True, "sector": "1,2"}, ErrorCode.BAD_FIELD),
    ],
)
def test_bad_hello_options(fields: dict[str, object], code: ErrorCode) -> None:
    with pytest.raises(ProtocolError) as err:
        decode(t="hello", token="t", v=1, **fields)
    assert err.value.code == code


def test_spectate_message() -> None:
    assert decode(t="spectate", follow="7") == SpectateMsg(7, None, None)
    assert decode(t="spectate", follow=None) == SpectateMsg(0, None, None)  # stop following
    assert decode(t="spectate", sector=[1, "2"]) == SpectateMsg(None, (1, 2), None)
    assert decode(t="spectate", at=[10, -2.5], sector=[0, 0]) == SpectateMsg(
        None, (0, 0), (10.0, -2.5)
    )


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({}, ErrorCode.BAD_FIELD),
        ({"follow": "abc"}, ErrorCode.BAD_FIELD),
        ({"follow": 0}, ErrorCode.BAD_NUMBER),
        ({"at": [1, 2, 3]}, ErrorCode.BAD_FIELD),
        ({"at": [1e12, 0]}, ErrorCode.BAD_NUMBER),
        ({"at": ["1", 0]}, ErrorCode.BAD_FIELD),
        ({"at": [0, 0], "follow": "3"}, ErrorCode.BAD_FIELD),
        ({"sector": [1.5, 2]}, ErrorCode.BAD_FIELD),
    ],
)
def test_bad_spectate_messages(fields: dict[str, object], code: ErrorCode) -> None:
    with pytest.raises(ProtocolError) as err:
        decode(t="spectate", **fields)
    assert err.value.code == code
