"""Protocol v2 client frames: 4-byte binary controls, `resync`, every v1 message still accepted,
and the version negotiated in `hello`."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callister.protocol.controls import (
    ControlsMsg,
    ResyncMsg,
    decode_client_v2,
    decode_controls,
    encode_controls,
)
from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.messages import AckMsg, Hello, InputMsg, decode_client


def test_controls_round_trip() -> None:
    assert encode_controls(1.0, -1.0, True) == bytes([2, 1, 255, 0x81])
    assert decode_controls(bytes([2, 0, 0, 0])) == ControlsMsg(0.0, 0.0, False)
    msg = decode_controls(encode_controls(0.5, 0.25, False))
    assert abs(msg.thrust - 0.5) < 1 / 255 and abs(msg.turn - 0.25) < 1 / 127
    assert decode_controls(encode_controls(7.0, -7.0, False)) == ControlsMsg(1.0, -1.0, False)
    assert msg.for_ship(12) == InputMsg(ship=12, thrust=msg.thrust, turn=msg.turn, brake=False)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (bytes([2, 0, 0]), ErrorCode.BAD_FRAME),
        (bytes([2, 0, 0, 0, 0]), ErrorCode.BAD_FRAME),
        (bytes([3, 0, 0, 0]), ErrorCode.BAD_FRAME),
        (bytes([2, 2, 0, 0]), ErrorCode.BAD_FIELD),
        (bytes([2, 0, 0, 0x80]), ErrorCode.BAD_NUMBER),
    ],
)
def test_bad_controls_are_refused(frame: bytes, code: ErrorCode) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_controls(frame)
    assert info.value.code is code
    with pytest.raises(ProtocolError) as info:
        decode_client_v2(frame)
    assert info.value.code is code


def test_v2_decoder_takes_controls_resync_and_every_v1_message() -> None:
    assert decode_client_v2(bytes([2, 1, 0, 5])) == ControlsMsg(0.0, 5 / 127, True)
    assert decode_client_v2('{"t":"resync"}') == ResyncMsg()
    assert decode_client_v2(bytes([1, 7, 0, 0, 0])) == AckMsg(seq=7)
    assert decode_client_v2('{"t":"input","ship":3,"thrust":1}') == InputMsg(3, 1.0, 0.0, False)
    for bad in (b"", b"\x09", '{"t":"nope"}', "[]", '{"t":"resync"'):
        with pytest.raises(ProtocolError):
            decode_client_v2(bad)
    # v1's decoder does not know resync (a v1 gateway never sees it)
    with pytest.raises(ProtocolError) as info:
        decode_client('{"t":"resync"}')
    assert info.value.code is ErrorCode.UNKNOWN_TYPE


def test_hello_negotiates_the_version() -> None:
    assert decode_client('{"t":"hello","token":"x","v":2}') == Hello(token="x", v=2)
    assert decode_client('{"t":"hello","token":"x","v":1}') == Hello(token="x", v=1)
    for v in (0, 3, 99):
        with pytest.raises(ProtocolError) as info:
            decode_client(f'{{"t":"hello","token":"x","v":{v}}}')
        assert info.value.code is ErrorCode.BAD_VERSION


@given(st.one_of(st.binary(max_size=16), st.text(max_size=64)))
def test_v2_decoder_raises_only_protocol_errors(frame: bytes | str) -> None:
    with contextlib.suppress(ProtocolError):
        decode_client_v2(frame)
