"""The client-message decoder: every kind of bad input maps to one documented error code."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.limits import MAX_CLIENT_FRAME
from callister.protocol.messages import (
    MESSAGE_TYPES,
    AckMsg,
    BountyMsg,
    BuyHullMsg,
    BuyModuleMsg,
    DistressMsg,
    DockMsg,
    FireMsg,
    Hello,
    InputMsg,
    JumpMsg,
    LootMsg,
    MarketMsg,
    MineMsg,
    PingMsg,
    ServiceMsg,
    TargetMsg,
    TradeMsg,
    UndockMsg,
    decode_client,
    encode_server,
)


def code_of(frame: str | bytes) -> ErrorCode:
    with pytest.raises(ProtocolError) as info:
        decode_client(frame)
    return info.value.code


def test_valid_messages_decode() -> None:
    assert decode_client('{"t":"hello","token":"abc","v":1}') == Hello("abc", 1)
    assert decode_client('{"t":"input","ship":7,"thrust":0.5,"turn":-1,"brake":true}') == InputMsg(
        7, 0.5, -1.0, True
    )
    assert decode_client('{"t":"dock","ship":7}') == DockMsg(7, None)
    assert decode_client('{"t":"dock","ship":7,"station":2}') == DockMsg(7, 2)
    assert decode_client('{"t":"undock","ship":7}') == UndockMsg(7)
    assert decode_client('{"t":"ack","seq":3}') == AckMsg(3)
    assert decode_client('{"t":"ping","n":1}') == PingMsg(1)
    assert decode_client(b"\x01\x07\x00\x00\x00") == AckMsg(7)  # the binary ack


def test_combat_and_station_messages_decode() -> None:
    assert decode_client('{"t":"fire","ship":7,"slot":1,"target":"99"}') == FireMsg(7, 1, 99)
    assert decode_client('{"t":"fire","ship":7,"slot":0,"target":null}') == FireMsg(7, 0, 0)
    assert decode_client('{"t":"fire","ship":7,"slot":0}') == FireMsg(7, 0, 0)
    assert decode_client('{"t":"target","ship":7,"target":5}') == TargetMsg(7, 5)
    assert decode_client('{"t":"target","ship":7,"target":null}') == TargetMsg(7, 0)
    assert decode_client('{"t":"mine","ship":7,"rock":3}') == MineMsg(7, 3)
    assert decode_client('{"t":"mine","ship":7,"rock":null}') == MineMsg(7, -1)
    assert decode_client('{"t":"loot","ship":7,"wreck":"12"}') == LootMsg(7, 12)
    assert decode_client('{"t":"distress","ship":7}') == DistressMsg(7)
    assert decode_client('{"t":"market","ship":7}') == MarketMsg(7)
    trade = '{"t":"trade","ship":7,"rid":"r1","item":"iron","qty":5,"side":"sell"}'
    assert decode_client(trade) == TradeMsg(7, "r1", "iron", 5, "sell")
    service = '{"t":"service","ship":7,"rid":"r2","op":"refuel"}'
    assert decode_client(service) == ServiceMsg(7, "r2", "refuel")
    hull = '{"t":"buy_hull","ship":7,"rid":"r3","hull":"hauler"}'
    assert decode_client(hull) == BuyHullMsg(7, "r3", "hauler")
    module = '{"t":"buy_module","ship":7,"rid":"r4","slot":1,"weapon":"cannon"}'
    assert decode_client(module) == BuyModuleMsg(7, "r4", 1, "cannon")
    bounty = '{"t":"bounty","rid":"r5","target":"Vex","amount":500}'
    assert decode_client(bounty) == BountyMsg("r5", "Vex", 500)


def test_jump_takes_64_bit_sectors_as_strings_or_numbers() -> None:
    msg = decode_client('{"t":"jump","ship":7,"to":["-9223372036854775808","9223372036854775807"]}')
    assert msg == JumpMsg(7, -(2**63), 2**63 - 1)
    assert decode_client('{"t":"jump","ship":7,"to":[3,-4]}') == JumpMsg(7, 3, -4)
    assert code_of('{"t":"jump","ship":7,"to":["9223372036854775808",0]}') == ErrorCode.BAD_NUMBER
    assert code_of('{"t":"jump","ship":7,"to":[1]}') == ErrorCode.BAD_FIELD
    assert code_of('{"t":"jump","ship":7,"to":["1x",0]}') == ErrorCode.BAD_FIELD


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", ErrorCode.BAD_FRAME),
        ('{"t":"input"', ErrorCode.BAD_FRAME),  # truncated
        ("[1,2]", ErrorCode.BAD_FRAME),
        ('"hello"', ErrorCode.BAD_FRAME),
        (b'{"t":"ping","n":1}', ErrorCode.BAD_FRAME),  # binary frame
        (b"\x01\x07\x00\x00", ErrorCode.BAD_FRAME),  # a truncated binary ack
        (b"\x02\x07\x00\x00\x00", ErrorCode.BAD_FRAME),  # not an ack
        ("[" * 100_000, ErrorCode.TOO_LARGE),
        ("[" * 2000 + "]" * 2000, ErrorCode.BAD_FRAME),  # deep nesting within the size limit
        ('{"n":1}', ErrorCode.BAD_FIELD),
        ('{"t":5}', ErrorCode.BAD_FIELD),
        ('{"t":"warp"}', ErrorCode.UNKNOWN_TYPE),
        ('{"t":"input","ship":7,"thrust":NaN}', ErrorCode.BAD_NUMBER),
        ('{"t":"input","ship":7,"thrust":Infinity}', ErrorCode.BAD_NUMBER),
        ('{"t":"input","ship":7,"thrust":-Infinity}', ErrorCode.BAD_NUMBER),
        ('{"t":"input","ship":7,"thrust":1e999}', ErrorCode.BAD_NUMBER),
        ('{"t":"input","ship":7,"thrust":2}', ErrorCode.BAD_NUMBER),
        ('{"t":"input","ship":7,"turn":-1.5}', ErrorCode.BAD_NUMBER),
        ('{"t":"input","ship":7,"thrust":"1"}', ErrorCode.BAD_FIELD),
        ('{"t":"input","ship":7,"brake":1}', ErrorCode.BAD_FIELD),
        ('{"t":"input","thrust":1}', ErrorCode.BAD_FIELD),
        ('{"t":"input","ship":true}', ErrorCode.BAD_FIELD),
        ('{"t":"input","ship":0}', ErrorCode.BAD_NUMBER),
        ('{"t":"input","ship":1.5}', ErrorCode.BAD_FIELD),
        ('{"t":"input","ship":' + "9" * 30 + "}", ErrorCode.BAD_NUMBER),
        ('{"t":"hello","token":"","v":1}', ErrorCode.BAD_FIELD),
        ('{"t":"hello","token":"x","v":3}', ErrorCode.BAD_VERSION),
        ('{"t":"hello","token":"' + "x" * 300 + '","v":1}', ErrorCode.BAD_FIELD),
        ('{"t":"ack","seq":-1}', ErrorCode.BAD_NUMBER),
        ('{"t":"dock","ship":7,"station":999}', ErrorCode.BAD_NUMBER),
        ('{"t":"fire","ship":7}', ErrorCode.BAD_FIELD),  # no slot
        ('{"t":"fire","ship":7,"slot":9}', ErrorCode.BAD_NUMBER),
        ('{"t":"fire","ship":7,"slot":0,"target":0}', ErrorCode.BAD_NUMBER),
        ('{"t":"fire","ship":7,"slot":0,"target":"x"}', ErrorCode.BAD_FIELD),
        ('{"t":"mine","ship":7,"rock":-1}', ErrorCode.BAD_NUMBER),
        ('{"t":"loot","ship":7}', ErrorCode.BAD_FIELD),
        ('{"t":"trade","ship":7,"item":"iron","qty":1,"side":"buy"}', ErrorCode.BAD_FIELD),
        ('{"t":"trade","ship":7,"rid":"","item":"iron","qty":1,"side":"buy"}', ErrorCode.BAD_FIELD),
        (
            '{"t":"trade","ship":7,"rid":"' + "r" * 65 + '","item":"iron","qty":1,"side":"buy"}',
            ErrorCode.BAD_FIELD,
        ),
        (
            '{"t":"trade","ship":7,"rid":"a\\nb","item":"iron","qty":1,"side":"buy"}',
            ErrorCode.BAD_FIELD,
        ),
        ('{"t":"trade","ship":7,"rid":"a","item":"<b>","qty":1,"side":"buy"}', ErrorCode.BAD_FIELD),
        (
            '{"t":"trade","ship":7,"rid":"a","item":"iron","qty":0,"side":"buy"}',
            ErrorCode.BAD_NUMBER,
        ),
        (
            '{"t":"trade","ship":7,"rid":"a","item":"iron","qty":-5,"side":"sell"}',
            ErrorCode.BAD_NUMBER,
        ),
        (
            '{"t":"trade","ship":7,"rid":"a","item":"iron","qty":1.5,"side":"buy"}',
            ErrorCode.BAD_FIELD,
        ),
        (
            '{"t":"trade","ship":7,"rid":"a","item":"iron","qty":1,"side":"steal"}',
            ErrorCode.BAD_FIELD,
        ),
        ('{"t":"service","ship":7,"rid":"a","op":"print_money"}', ErrorCode.BAD_FIELD),
        ('{"t":"buy_module","ship":7,"rid":"a","slot":-1,"weapon":"laser"}', ErrorCode.BAD_NUMBER),
        ('{"t":"bounty","rid":"a","target":"x","amount":0}', ErrorCode.BAD_NUMBER),
        ('{"t":"bounty","rid":"a","target":"","amount":5}', ErrorCode.BAD_FIELD),
        # integers as strings are ASCII decimal digits: "²" once escaped as a ValueError and
        # Arabic-Indic "٣" was read as 3
        ('{"t":"ack","seq":"\u00b2"}', ErrorCode.BAD_FIELD),
        ('{"t":"ack","seq":"\u0663"}', ErrorCode.BAD_FIELD),
        ('{"t":"fire","ship":"-\u00b9","slot":0}', ErrorCode.BAD_FIELD),
    ],
)
def test_bad_input_gets_its_code(frame: str | bytes, code: ErrorCode) -> None:
    assert code_of(frame) == code


def test_size_limit_counts_utf8_bytes() -> None:
    pad = "é" * (MAX_CLIENT_FRAME // 2 + 10)  # under the limit in characters, over it in bytes
    assert code_of('{"t":"ping","n":1,"x":"' + pad + '"}') == ErrorCode.TOO_LARGE


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_decoder_raises_only_protocol_errors_on_random_input(frame: str | bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode_client(frame)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from([*MESSAGE_TYPES, "x"]),
    st.dictionaries(
        st.sampled_from(
            [
                "ship",
                "thrust",
                "turn",
                "brake",
                "to",
                "seq",
                "n",
                "token",
                "v",
                "station",
                "slot",
                "target",
                "rock",
                "wreck",
                "rid",
                "item",
                "qty",
                "side",
                "op",
                "hull",
                "weapon",
                "amount",
            ]
        ),
        json_values,
        max_size=6,
    ),
)
def test_decoder_on_structured_random_messages(kind: str, fields: dict) -> None:  # type: ignore[type-arg]
    frame = json.dumps({"t": kind, **fields})
    with contextlib.suppress(ProtocolError):
        decode_client(frame)


def test_server_messages_refuse_non_finite_numbers() -> None:
    assert json.loads(encode_server("pong", n=1, tick=2)) == {"t": "pong", "n": 1, "tick": 2}
    with pytest.raises(ValueError):
        encode_server("event", speed=float("nan"))
