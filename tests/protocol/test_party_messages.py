"""Party messages (issue 16) decode to their dataclasses; bad ones get a clear error code."""

from __future__ import annotations

import json

import pytest

from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.messages import (
    PartyAcceptMsg,
    PartyDeclineMsg,
    PartyInviteMsg,
    PartyLeaveMsg,
    decode_client,
)


def test_party_messages_decode() -> None:
    assert decode_client('{"t":"party_invite","name":"Ann"}') == PartyInviteMsg("Ann")
    assert decode_client('{"t":"party_accept","from":7}') == PartyAcceptMsg(7)
    assert decode_client('{"t":"party_accept","from":"7"}') == PartyAcceptMsg(7)  # a string
    assert decode_client('{"t":"party_decline","from":12}') == PartyDeclineMsg(12)
    assert decode_client('{"t":"party_leave"}') == PartyLeaveMsg()


@pytest.mark.parametrize(
    ("msg", "code"),
    [
        ({"t": "party_invite"}, ErrorCode.BAD_FIELD),
        ({"t": "party_invite", "name": ""}, ErrorCode.BAD_FIELD),
        ({"t": "party_invite", "name": 5}, ErrorCode.BAD_FIELD),
        ({"t": "party_invite", "name": "x" * 65}, ErrorCode.BAD_FIELD),
        ({"t": "party_invite", "name": "a\u0000b"}, ErrorCode.BAD_FIELD),
        ({"t": "party_accept"}, ErrorCode.BAD_FIELD),
        ({"t": "party_accept", "from": "ann"}, ErrorCode.BAD_FIELD),
        ({"t": "party_accept", "from": 0}, ErrorCode.BAD_NUMBER),
        ({"t": "party_accept", "from": 2**53}, ErrorCode.BAD_NUMBER),
        ({"t": "party_accept", "from": 1.5}, ErrorCode.BAD_FIELD),
        ({"t": "party_decline", "from": None}, ErrorCode.BAD_FIELD),
    ],
)
def test_bad_party_messages_are_refused(msg: dict[str, object], code: ErrorCode) -> None:
    with pytest.raises(ProtocolError) as refused:
        decode_client(json.dumps(msg))
    assert refused.value.code == code
