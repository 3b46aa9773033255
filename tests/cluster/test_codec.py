"""Round trips of everything that crosses the bus between processes, and fuzzing of decode."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from callister.cluster import codec
from callister.cluster.outbox import Handoff
from callister.protocol.errors import ErrorCode
from callister.protocol.intents import Input, Intent, Jump
from callister.sim.events import JumpOut, Refused, ShipState, ZoneEvent
from callister.sim.frame import ZoneFrame
from callister.sim.framepack import COLUMNS

FINITE = st.floats(allow_nan=False, allow_infinity=False)


def strategy_for(tp: Any) -> st.SearchStrategy[Any]:
    """Values of a type hint, for the registered dataclasses' fields."""
    origin = get_origin(tp)
    if tp is Any:  # (e.g. Handoff.pilot's values): any JSON-like value
        return st.recursive(
            st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | FINITE | st.text(),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=8,
        )
    if tp is type(None):
        return st.none()
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(-(2**63), 2**64 - 1)
    if tp is float:
        return FINITE
    if tp is str:
        return st.text(max_size=20)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return st.builds(
            tp, **{f.name: strategy_for(hints[f.name]) for f in dataclasses.fields(tp)}
        )
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):  # events, ShipState
        hints = typing.get_type_hints(tp)
        return st.builds(tp, **{name: strategy_for(hints[name]) for name in tp.__struct_fields__})
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(strategy_for(a) for a in get_args(tp)))
    if origin is Literal:
        return st.sampled_from(get_args(tp))
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(strategy_for(args[0]), max_size=4).map(tuple)
        return st.tuples(*(strategy_for(a) for a in args))
    if origin is list:
        return st.lists(strategy_for(get_args(tp)[0]), max_size=4)
    if origin is dict:
        key, value = get_args(tp)
        return st.dictionaries(strategy_for(key), strategy_for(value), max_size=4)
    raise NotImplementedError(f"no strategy for {tp!r}")


MESSAGES = st.one_of(
    *(strategy_for(cls) for cls in (*get_args(Intent), *get_args(ZoneEvent), ShipState, Handoff))
)


@given(MESSAGES)
@settings(max_examples=200, deadline=None)
def test_intents_events_and_handoffs_round_trip(message: Any) -> None:
    data = codec.encode(message)
    assert data[:1] == codec.KIND_JSON
    back = codec.decode(data)
    assert type(back) is type(message)
    assert back == message


def test_every_event_and_intent_class_is_registered() -> None:
    """New events or intents added by the simulation are carried without touching the codec."""
    names = codec.registered()
    for cls in (*get_args(Intent), *get_args(ZoneEvent), ShipState, Handoff):
        assert names[cls.__name__] is cls


VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=10)
    | st.binary(max_size=10)
    | st.sampled_from(list(ErrorCode)),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.integers() | st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


def same(a: Any, b: Any) -> bool:
    """Equality where NaN equals NaN and -0.0 differs from 0.0 (exact float round trips)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


@given(VALUES)
@settings(max_examples=150, deadline=None)
def test_nested_values_round_trip_exactly(value: Any) -> None:
    assert same(codec.decode(codec.encode(value)), value)


def test_floats_are_exact_including_non_finite() -> None:
    values = [0.1, -0.0, 1e-310, 3.4028234663852886e38, math.inf, -math.inf, math.nan]
    back = codec.decode(codec.encode(values))
    assert same(back, values)


def test_ship_state_text() -> None:
    state = ShipState(
        9, 3, "shuttle", 1.5, -2.25, 0.0, 0.1, 3.0, 2, hull_hp=40.0, weapons=("laser", "")
    )
    assert codec.decode_ship(codec.encode_ship(state)) == state
    with pytest.raises(codec.CodecError):
        codec.decode_ship(codec.dumps(Input(1, 2, 0.0, 0.0)))


def test_unknown_fields_and_types_are_refused() -> None:
    with pytest.raises(codec.CodecError, match="no fields"):
        codec.loads(b'{"@":"Input","actor":1,"ship":2,"thrust":0,"turn":0,"warp":9}')
    with pytest.raises(codec.CodecError, match="unknown type"):
        codec.loads(b'{"@":"Teleport","ship":2}')
    with pytest.raises(codec.CodecError, match="bad Input"):
        codec.loads(b'{"@":"Input","actor":1}')
    with pytest.raises(codec.CodecError):
        codec.encode(object())
    # a missing field that has a default takes it (a producer one version behind)
    assert codec.loads(b'{"@":"Input","actor":1,"ship":2,"thrust":0.5,"turn":0}') == Input(
        1, 2, 0.5, 0
    )


def test_register_refuses_a_second_class_with_the_same_name() -> None:
    @dataclass
    class Input:
        x: int

    with pytest.raises(ValueError, match="two classes"):
        codec.register(Input)


# ------------------------------------------------------------------------------- frames

DTYPES = {f: np.dtype(t) for f, t in COLUMNS}  # a frame's columns (sim/framepack.py)


@st.composite
def frames(draw: st.DrawFn) -> ZoneFrame:
    rows = draw(st.integers(0, 40))
    columns = {name: draw(hnp.arrays(DTYPES[name], rows)) for name in codec.FRAME_COLUMNS}
    for array in columns.values():
        array.setflags(write=False)
    return ZoneFrame(tick=draw(st.integers(0, 2**62)), **columns)


def assert_same_frame(a: ZoneFrame, b: ZoneFrame) -> None:
    assert a.tick == b.tick and len(a) == len(b)
    for name in codec.FRAME_COLUMNS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        assert x.tobytes() == y.tobytes(), name  # bit-exact, NaN payloads included


@given(
    frames(),
    st.lists(MESSAGES.filter(lambda m: type(m) in get_args(ZoneEvent)), max_size=3),
    st.text(min_size=1, max_size=30),
)
@settings(max_examples=60, deadline=None)
def test_zone_ticks_round_trip(frame: ZoneFrame, events: list[Any], key: str) -> None:
    tick = codec.ZoneOutput(key, frame.tick, frame, events)
    data = codec.encode(tick)
    assert data[:1] == codec.KIND_TICK
    back = codec.decode(data)
    assert isinstance(back, codec.ZoneOutput)
    assert back.key == key and back.tick == frame.tick and back.events == events
    assert_same_frame(frame, back.frame)
    for name in codec.FRAME_COLUMNS:
        column = getattr(back.frame, name)
        assert not column.flags.writeable  # views of the message, as ZoneFrame promises
        assert column.flags.aligned


def test_frame_decode_is_zero_copy_and_sized() -> None:
    n = 10_000
    frame = ZoneFrame(
        tick=7,
        **{name: np.arange(n).astype(DTYPES[name]) for name in codec.FRAME_COLUMNS},
    )
    data = codec.encode(codec.ZoneOutput("infinity.1.2", 7, frame, []))
    # 39 bytes of columns per entity and a header of about a hundred bytes
    assert 39 * n < len(data) < 39 * n + 200
    back = codec.decode(data).frame
    assert np.shares_memory(back.x, np.frombuffer(data, dtype=np.uint8))
    assert back.row_of(1234) == 1234


def test_tick_factory_decodes_into_the_servers_type() -> None:
    @dataclass(frozen=True)
    class ServerTick:
        key: str
        tick: int
        frame: ZoneFrame
        events: list[Any]

    empty = ZoneFrame(tick=3, **{n: np.empty(0, DTYPES[n]) for n in codec.FRAME_COLUMNS})
    codec.set_tick_factory(ServerTick)
    try:
        event = Refused(1, 2, "jump", ErrorCode.NO_SUCH_LINK, "no link")
        back = codec.decode(codec.encode(ServerTick("w.0.0", 3, empty, [event])))
        assert isinstance(back, ServerTick) and back.events == [event]
    finally:
        codec.set_tick_factory(codec.ZoneOutput)


def test_a_frame_missing_a_column_is_refused() -> None:
    frame = ZoneFrame(tick=1, **{n: np.zeros(2, DTYPES[n]) for n in codec.FRAME_COLUMNS})
    data = bytearray(codec.encode_frame(frame))
    data[data.index(b"flags")] = ord("g")  # rename the column "flags" -> "glags"
    with pytest.raises(codec.CodecError, match="lacks columns"):
        codec.decode_frame(bytes(data))


@pytest.mark.parametrize("code", [b"<f,", b"(,)f4", b"3,", b"O|", b"V8", b"<U4", b"(2)i4", b"<f3"])
def test_a_column_of_anything_but_a_plain_number_is_refused(code: bytes) -> None:
    """numpy would parse these (a repeat count through ast.literal_eval: "(,)f4" raised a
    SyntaxError, an object or string column...); a frame's columns are plain numbers only."""
    frame = ZoneFrame(tick=1, **{n: np.zeros(2, DTYPES[n]) for n in codec.FRAME_COLUMNS})
    data = bytearray(codec.encode_frame(frame))
    at = data.index(b"<f4")  # the first float column's dtype, length-prefixed
    assert data[at - 1] == 3
    data[at - 1 : at + 3] = bytes([len(code)]) + code
    with pytest.raises(codec.CodecError, match="bad"):
        codec.decode_frame(bytes(data))


@given(st.binary(max_size=200), st.sampled_from([b"", b"T", b"J", b"TX", b"J{"]))
@settings(max_examples=500, deadline=None)
def test_decode_raises_only_codec_errors_on_garbage(tail: bytes, head: bytes) -> None:
    with contextlib.suppress(codec.CodecError):
        codec.decode(head + tail)


@given(st.data())
@settings(max_examples=150, deadline=None)
def test_decode_raises_only_codec_errors_on_corrupted_messages(data: st.DataObject) -> None:
    rows = data.draw(st.integers(0, 5))
    frame = ZoneFrame(tick=rows, **{n: np.ones(rows, DTYPES[n]) for n in codec.FRAME_COLUMNS})
    event = JumpOut(5, 1, 2, ShipState(5, 1, "shuttle", 0.0, 0.0, 0.0, 0.0, 0.0, None))
    message = bytearray(codec.encode(codec.ZoneOutput("w.1.1", frame.tick, frame, [event])))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(message) - 1))
        message[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(message)))
    with contextlib.suppress(codec.CodecError):
        codec.decode(bytes(message[:cut]))


def test_intents_are_small() -> None:
    assert len(codec.encode(Jump(1, 2, -3, 4))) < 80
