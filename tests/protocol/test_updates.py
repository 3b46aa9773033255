"""Protocol v2 update frames: layout, round trips, the client view, and every kind of bad frame
refused with BAD_FRAME (and nothing else escaping the decoder)."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.limits import MAX_ENTITY_ID
from callister.protocol.updates import (
    BODY,
    HEADER,
    Body,
    ClientView,
    decode_update,
    encode_update,
)

B = Body(dx=-40, dy=7, vx=1000, vy=-3, ax=-5, ay=127, angle=65535, spin=-127, flags=0x6F)


def frame(**kw: object) -> bytes:
    args = {
        "tick": 1000,
        "seq": 1,
        "origin": (-400, 80_000),
        "new": [(5, 1, B), (300, 4, B._replace(dx=32767))],
        "updated": [(2, B._replace(flags=0)), (MAX_ENTITY_ID, B)],
        "removed": [9, 10, 1 << 40],
        "resync": False,
        "shift": 0,
    }
    args.update(kw)
    return encode_update(
        args["tick"],  # type: ignore[arg-type]
        args["seq"],  # type: ignore[arg-type]
        args["origin"],  # type: ignore[arg-type]
        args["new"],  # type: ignore[arg-type]
        args["updated"],  # type: ignore[arg-type]
        args["removed"],  # type: ignore[arg-type]
        resync=args["resync"],  # type: ignore[arg-type]
        shift=args["shift"],  # type: ignore[arg-type]
    )


def test_layout_sizes_match_the_protocol_doc() -> None:
    assert HEADER.size == 26 and BODY.size == 14
    empty = encode_update(7, 3, (0, 0), [], [], [])
    assert len(empty) == 26
    one = encode_update(7, 3, (0, 0), [(5, 1, B)], [], [])
    assert len(one) == 26 + 1 + 1 + 14  # 1-byte id delta, kind, body
    # ids up to 2^53 - 1 take 8 varint bytes
    big = encode_update(7, 3, (0, 0), [], [(MAX_ENTITY_ID, B)], [])
    assert len(big) == 26 + 8 + 14


def test_round_trip_gives_absolute_references() -> None:
    update = decode_update(frame(shift=2))
    assert (update.tick, update.seq, update.resync, update.shift) == (1000, 1, False, 2)
    assert (update.origin_x, update.origin_y) == (-400, 80_000)
    assert [r.id for r in update.new] == [5, 300]
    assert [r.kind for r in update.new] == [1, 4]
    first = update.new[0]
    step = 256 << 2
    assert first.x == -400 * 256 + (-40) * step and first.y == 80_000 * 256 + 7 * step
    assert (first.vx, first.vy, first.ax, first.ay) == (1000, -3, -5, 127)
    assert (first.angle, first.spin, first.flags, first.t0) == (65535, -127, 0x6F, 1000)
    assert [r.id for r in update.updated] == [2, MAX_ENTITY_ID]
    assert update.removed == (9, 10, 1 << 40)
    assert decode_update(frame(resync=True)).resync


def test_reference_predicts_with_the_integer_model() -> None:
    ref = decode_update(frame()).new[0]
    x, y = ref.position_at(1010)
    assert x == ref.x + 4 * 1000 * 10 + 2 * (-5) * 10 * 11
    assert y == ref.y + 4 * (-3) * 10 + 2 * 127 * 10 * 11
    assert ref.angle_at(1001) == (65535 - 32 * 127) % 65536
    assert ref.velocity_at(1002) == (1000 - 10, -3 + 254)


def test_client_view_applies_updates_in_order() -> None:
    view = ClientView()
    view.apply_frame(frame(resync=True, updated=[], removed=[], seq=41))
    assert sorted(view.entities) == [5, 300]
    view.apply_frame(encode_update(1001, 42, (0, 0), [(6, 2, B)], [(5, B._replace(vx=1))], [300]))
    assert sorted(view.entities) == [5, 6]
    assert view.entities[5].vx == 1 and view.entities[5].kind == 1 and view.entities[5].t0 == 1001
    assert view.seq == 42 and view.tick == 1001
    # a RESYNC replaces everything, whatever its seq
    view.apply_frame(encode_update(1005, 7, (0, 0), [(9, 1, B)], [], [], resync=True))
    assert sorted(view.entities) == [9] and view.seq == 7


@pytest.mark.parametrize(
    ("second", "why"),
    [
        (encode_update(2, 3, (0, 0), [], [], []), "without RESYNC"),  # seq gap
        (encode_update(2, 2, (0, 0), [(5, 1, B)], [], []), "already in view"),
        (encode_update(2, 2, (0, 0), [], [(6, B)], []), "not in view"),
        (encode_update(2, 2, (0, 0), [], [], [6]), "not in view"),
    ],
)
def test_client_view_refuses_frames_that_do_not_fit(second: bytes, why: str) -> None:
    view = ClientView()
    view.apply_frame(encode_update(1, 1, (0, 0), [(5, 1, B)], [], [], resync=True))
    with pytest.raises(ProtocolError, match=why) as info:
        view.apply_frame(second)
    assert info.value.code is ErrorCode.BAD_FRAME
    assert sorted(view.entities) == [5] and view.seq == 1  # unchanged


def _corrupt(data: bytes, at: int, value: int) -> bytes:
    return data[:at] + bytes([value]) + data[at + 1 :]


BAD_FRAMES = {
    "short header": frame()[:25],
    "wrong type": _corrupt(frame(), 0, 1),
    "unknown flag": _corrupt(frame(), 1, 2),
    "shift too big": _corrupt(frame(), 2, 9),
    "reserved byte": _corrupt(frame(), 3, 1),
    "truncated record": frame()[:40],
    "trailing bytes": frame() + b"\0",
    "missing removal": frame()[:-1],
    "bad kind": _corrupt(frame(), 27, 9),
    "bad record flags": _corrupt(frame(), 27 + 1 + 13, 0x10),
    "id delta 0": encode_update(1, 1, (0, 0), [], [], [4])[:-1] + b"\0",
    "varint too long": encode_update(1, 1, (0, 0), [], [], [4])[:-1] + b"\xff" * 8 + b"\1",
    "id past 2^53": encode_update(1, 1, (0, 0), [], [], [4])[:-1] + b"\xff" * 7 + b"\x7f",
    "counts beyond the data": HEADER.pack(2, 0, 0, 0, 1, 1, 0, 0, 3, 0, 0),
}


@pytest.mark.parametrize("name", sorted(BAD_FRAMES))
def test_bad_frames_are_refused(name: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_update(BAD_FRAMES[name])
    assert info.value.code is ErrorCode.BAD_FRAME


def test_encoder_refuses_what_the_format_cannot_carry() -> None:
    for kwargs in (
        {"new": [(5, 1, B), (5, 1, B)]},  # not ascending
        {"removed": [0]},
        {"removed": [MAX_ENTITY_ID + 1]},
        {"shift": 9},
        {"removed": list(range(1, 65538))},
    ):
        with pytest.raises((ValueError, struct.error)):
            frame(**kwargs)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_decoder_raises_only_protocol_errors(data: bytes) -> None:
    for candidate in (data, frame()[:26] + data, bytes([2, 0, 0, 0]) + data):
        with contextlib.suppress(ProtocolError):
            decode_update(candidate)
