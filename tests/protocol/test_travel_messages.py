"""`autopilot` and `cruise` (issue 16): what they decode to, and a clear error for each kind of
bad input."""

from __future__ import annotations

import pytest

from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.intents import Autopilot, Cruise
from callister.protocol.messages import AutopilotMsg, CruiseMsg, decode_client


def test_every_target_kind_decodes_to_its_intent() -> None:
    def ap(to: str, extra: str = "") -> AutopilotMsg:
        message = decode_client(f'{{"t":"autopilot","ship":7,"to":{to}{extra}}}')
        assert isinstance(message, AutopilotMsg)
        return message

    assert ap('{"kind":"station","index":2}') == AutopilotMsg(7, "station", index=2)
    assert ap('{"kind":"field","index":0}', ',"cruise":false') == AutopilotMsg(
        7, "field", index=0, cruise=False
    )
    link = ap('{"kind":"link","sector":["-9223372036854775808","5"]}')
    assert (link.kind, link.to_x, link.to_y) == ("link", -(2**63), 5)
    assert ap('{"kind":"ship","id":"99"}') == AutopilotMsg(7, "ship", target=99)
    assert ap('{"kind":"point","x":-1200.5,"y":3000}') == AutopilotMsg(
        7, "point", x=-1200.5, y=3000.0
    )
    off = decode_client('{"t":"autopilot","ship":7,"off":true}')
    assert off == AutopilotMsg(7, "off")
    assert ap('{"kind":"ship","id":99}').intent(3) == Autopilot(3, 7, "ship", target=99)
    assert decode_client('{"t":"cruise","ship":7,"on":true}') == CruiseMsg(7, True)
    assert CruiseMsg(7, False).intent(3) == Cruise(3, 7, False)


@pytest.mark.parametrize(
    ("frame", "code", "words"),
    [
        ('{"t":"autopilot","ship":7}', ErrorCode.BAD_FIELD, "'to'"),
        ('{"t":"autopilot","ship":7,"off":false}', ErrorCode.BAD_FIELD, "'off' must be true"),
        ('{"t":"autopilot","ship":7,"off":1}', ErrorCode.BAD_FIELD, "'off' must be true"),
        (
            '{"t":"autopilot","ship":7,"off":true,"to":{"kind":"station","index":0}}',
            ErrorCode.BAD_FIELD,
            "exactly one",
        ),
        ('{"t":"autopilot","ship":7,"to":"station"}', ErrorCode.BAD_FIELD, "object"),
        ('{"t":"autopilot","ship":7,"to":{}}', ErrorCode.BAD_FIELD, "'to.kind'"),
        ('{"t":"autopilot","ship":7,"to":{"kind":"moon"}}', ErrorCode.BAD_FIELD, "'to.kind'"),
        ('{"t":"autopilot","ship":7,"to":{"kind":"station"}}', ErrorCode.BAD_FIELD, "'index'"),
        (
            '{"t":"autopilot","ship":7,"to":{"kind":"station","index":-1}}',
            ErrorCode.BAD_NUMBER,
            "'index'",
        ),
        (
            '{"t":"autopilot","ship":7,"to":{"kind":"field","index":"two"}}',
            ErrorCode.BAD_FIELD,
            "'index'",
        ),
        ('{"t":"autopilot","ship":7,"to":{"kind":"ship"}}', ErrorCode.BAD_FIELD, "'id'"),
        ('{"t":"autopilot","ship":7,"to":{"kind":"ship","id":0}}', ErrorCode.BAD_NUMBER, "'id'"),
        (
            '{"t":"autopilot","ship":7,"to":{"kind":"link","sector":[1]}}',
            ErrorCode.BAD_FIELD,
            "'sector'",
        ),
        (
            '{"t":"autopilot","ship":7,"to":{"kind":"link","sector":["1","2**70"]}}',
            ErrorCode.BAD_FIELD,
            "'y'",
        ),
        ('{"t":"autopilot","ship":7,"to":{"kind":"point","x":1}}', ErrorCode.BAD_FIELD, "'y'"),
        (
            '{"t":"autopilot","ship":7,"to":{"kind":"point","x":"1","y":2}}',
            ErrorCode.BAD_FIELD,
            "'x'",
        ),
        (
            '{"t":"autopilot","ship":7,"to":{"kind":"point","x":1e12,"y":2}}',
            ErrorCode.BAD_NUMBER,
            "'x'",
        ),
        (
            '{"t":"autopilot","ship":7,"to":{"kind":"point","x":NaN,"y":2}}',
            ErrorCode.BAD_NUMBER,
            "",
        ),
        (
            '{"t":"autopilot","ship":7,"to":{"kind":"station","index":0},"cruise":"yes"}',
            ErrorCode.BAD_FIELD,
            "'cruise'",
        ),
        ('{"t":"autopilot","to":{"kind":"station","index":0}}', ErrorCode.BAD_FIELD, "'ship'"),
        ('{"t":"cruise","ship":7}', ErrorCode.BAD_FIELD, "'on'"),
        ('{"t":"cruise","ship":7,"on":1}', ErrorCode.BAD_FIELD, "'on'"),
        ('{"t":"cruise","ship":7,"on":null}', ErrorCode.BAD_FIELD, "'on'"),
        ('{"t":"cruise","on":true}', ErrorCode.BAD_FIELD, "'ship'"),
    ],
)
def test_bad_travel_messages_get_a_clear_error(frame: str, code: ErrorCode, words: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_client(frame)
    assert info.value.code == code
    assert words in info.value.message
