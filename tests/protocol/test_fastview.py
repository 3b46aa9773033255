"""The vectorised v2 client (protocol/fastview.py) against the reference (protocol/updates.py):
on frames recorded from the real view engine over a crowd in a real Zone, and on random update
sequences (RESYNCs, removals, refreshes, every shift, ids up to 2^53 - 1, seq wrapping, and
updates that do not fit the view), the two hold the same view and refuse the same updates with
the same error; malformed frames raise the same ProtocolError from both decoders."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.protocol.test_updates import BAD_FRAMES, frame

from callister.bench.views import CrowdRun
from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.fastview import FastClientView, FastUpdate, decode_fast
from callister.protocol.limits import MAX_ENTITY_ID
from callister.protocol.reckoning import MAX_SHIFT, QUARTER_FINE
from callister.protocol.updates import (
    BODY,
    RECORD_FLAGS,
    Body,
    ClientView,
    Reference,
    Update,
    decode_update,
    encode_update,
)
from callister.server.views import ViewEngine


@functools.cache
def recorded(players: int = 160, clients: int = 4, ticks: int = 120) -> list[list[bytes]]:
    """Real update frames of `clients` players in a crowd of `players` (~70 in view), some
    clients resynced along the way."""
    run = CrowdRun(players, seed=7)
    engine = ViewEngine(1500.0, threshold_m=0.5)
    slots = [engine.add_client() for _ in range(clients)]
    frames: list[list[bytes]] = [[] for _ in slots]
    for t in range(ticks):
        zone_frame, rows = run.step()
        if t % 40 == 20:
            engine.resync(slots[(t // 40) % clients])
        x, y = zone_frame.x[rows[:clients]], zone_frame.y[rows[:clients]]
        batch = engine.update_frame(zone_frame, slots, x, y)
        for i in range(clients):
            frames[i].append(bytes(batch.frame(i)))
    return frames


def as_update(fast: FastUpdate) -> Update:
    """A FastUpdate as the reference's Update, rebuilt from the raw bodies with the formulas of
    docs/protocol.md (independently of fastview's own)."""
    step = QUARTER_FINE << fast.shift

    def ref(ident: int, kind: int, raw: bytes) -> Reference:
        b = Body(*BODY.unpack(raw))
        x = fast.origin[0] * QUARTER_FINE + b.dx * step
        y = fast.origin[1] * QUARTER_FINE + b.dy * step
        return Reference(ident, kind, fast.tick, x, y, *b[2:])

    return Update(
        fast.tick, fast.seq, fast.resync, fast.shift, *fast.origin,
        tuple(ref(i, k, b.tobytes()) for i, k, b in
              zip(fast.new_ids.tolist(), fast.new_kinds.tolist(), fast.new_bodies, strict=True)),
        tuple(ref(i, 0, b.tobytes()) for i, b in
              zip(fast.updated_ids.tolist(), fast.updated_bodies, strict=True)),
        tuple(fast.removed.tolist()),
    )  # fmt: skip


def outcome(apply: Any, data: bytes) -> tuple[str, str] | None:
    """None if `apply(data)` accepted the frame, else the ProtocolError's code and message."""
    try:
        apply(data)
    except ProtocolError as exc:
        return exc.code, exc.message
    return None


def assert_same_view(fast: FastClientView, ref: ClientView) -> None:
    assert fast.entities == ref.entities
    assert (fast.seq, fast.tick, fast.origin) == (ref.seq, ref.tick, ref.origin)
    assert fast.ids.tolist() == sorted(ref.entities)
    for ahead in (0, 7):
        tick = ref.tick + ahead
        expected = [ref.entities[i].metres_at(tick) for i in fast.ids.tolist()]
        assert [tuple(p) for p in fast.metres_at(tick).tolist()] == expected
    for ident in [*list(ref.entities)[:3], 1, MAX_ENTITY_ID]:
        assert fast.get(ident) == ref.entities.get(ident)
        assert (ident in fast) == (ident in ref.entities)
    for ident, r in ref.entities.items():
        tick = ref.tick + 3
        seen = fast.sight(ident, tick)
        assert seen == (*r.metres_at(tick), r.angle_at(tick), r.flags, r.t0)
    assert fast.sight(MAX_ENTITY_ID, ref.tick) is None or MAX_ENTITY_ID in ref.entities


def test_recorded_frames_give_the_reference_view_after_every_update() -> None:
    frames = recorded()
    records = resyncs = removals = 0
    for fs in frames:
        ref, fast = ClientView(), FastClientView()
        for data in fs:
            update = ref.apply_frame(data)
            decoded = fast.apply_frame(data)
            assert as_update(decoded) == update
            assert_same_view(fast, ref)
            records += len(update.new) + len(update.updated)
            resyncs += update.resync and update.seq != 1
            removals += len(update.removed)
        assert len(fast) > 40  # a crowd in view, not a few ships
    assert records > 10 * len(frames) * len(frames[0]) and resyncs >= 2 and removals > 0


def test_the_example_frame_of_the_protocol_doc() -> None:
    data = bytes.fromhex(
        "02 00 00 00 e8 03 00 00 05 00 00 00 90 01 00 00 b0 ff ff ff 01 00 01 00 01 00"
        "07 01 08 00 fc ff 00 0a 00 00 00 00 00 40 00 02"
        "ac 02 18 fc 14 00 00 00 80 ff 03 00 00 00 39 00"
        "09"
    )
    assert len(data) == 59
    assert as_update(decode_fast(data)) == decode_update(data)


@pytest.mark.parametrize("name", sorted(BAD_FRAMES))
def test_bad_frames_raise_the_reference_error(name: str) -> None:
    with pytest.raises(ProtocolError) as expected:
        decode_update(BAD_FRAMES[name])
    with pytest.raises(ProtocolError) as got:
        decode_fast(BAD_FRAMES[name])
    assert (got.value.code, got.value.message) == (expected.value.code, expected.value.message)
    assert got.value.code is ErrorCode.BAD_FRAME


def _same_decoding(data: bytes) -> None:
    expected = outcome(decode_update, data)
    assert outcome(decode_fast, data) == expected, data.hex()
    if expected is None:
        assert as_update(decode_fast(data)) == decode_update(data)


def test_every_truncation_and_corrupted_byte_decodes_as_the_reference() -> None:
    samples = [frame(), frame(shift=MAX_SHIFT, resync=True), recorded()[0][0], recorded()[1][30]]
    for data in samples:
        for end in range(len(data) + 2):
            _same_decoding(data[:end] + (b"\x05" if end > len(data) else b""))
        for at in range(len(data)):
            for value in (0x00, 0x05, 0x10, 0x7F, 0x80, 0xFF, data[at] ^ 0x01):
                _same_decoding(data[:at] + bytes([value]) + data[at + 1 :])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=160))
def test_garbage_decodes_as_the_reference(data: bytes) -> None:
    for candidate in (data, frame()[:26] + data, bytes([2, 0, 0, 0]) + data):
        _same_decoding(candidate)


# ------------------------------------------------------------------ random update sequences

I16 = st.integers(-32768, 32767)
I8 = st.integers(-128, 127)
FLAGS = st.sampled_from([v for v in range(256) if not v & ~RECORD_FLAGS])
BODIES = st.builds(Body, I16, I16, I16, I16, I8, I8, st.integers(0, 65535), I8, FLAGS)
IDS = st.one_of(
    st.integers(1, 400),  # dense: one-byte deltas
    st.integers(1, MAX_ENTITY_ID),  # sparse: up to 8-byte varints
    st.sampled_from([127, 128, 16383, 16384, MAX_ENTITY_ID - 1, MAX_ENTITY_ID]),
)
MISFITS = ("gap", "known new", "unknown update", "unknown removal")


def _draw_update(data: st.DataObject, held: list[int], seq: int, tick: int) -> bytes:
    """A frame that fits a view holding `held` after `seq`, or (now and then) does not."""
    misfit = data.draw(st.sampled_from([None] * 6 + list(MISFITS)))
    resync = data.draw(st.integers(0, 5)) == 0 and misfit != "gap"
    pool = [] if resync else held
    gone = data.draw(st.lists(st.sampled_from(pool), unique=True)) if pool else []
    kept = [i for i in pool if i not in gone]
    changed = data.draw(st.lists(st.sampled_from(kept), unique=True)) if kept else []
    new = data.draw(st.lists(IDS.filter(lambda i: i not in pool), unique=True, max_size=12))
    # a new entity may also be updated or removed in its own frame
    changed += data.draw(st.lists(st.sampled_from(new), unique=True)) if new else []
    if misfit == "known new" and held:
        new.append(data.draw(st.sampled_from(held)))
        resync = False
    elif misfit in ("unknown update", "unknown removal"):
        stranger = data.draw(IDS.filter(lambda i: i not in held and i not in new))
        (changed if misfit == "unknown update" else gone).append(stranger)
    next_seq = (seq + 1) & 0xFFFFFFFF
    if misfit == "gap":
        next_seq = data.draw(st.integers(0, 0xFFFFFFFF).filter(lambda s: s != next_seq))
    elif resync:
        next_seq = data.draw(st.integers(0, 0xFFFFFFFF))
    return encode_update(
        tick,
        next_seq,
        (data.draw(st.integers(-(2**31), 2**31 - 1)), data.draw(st.integers(-(2**31), 2**31 - 1))),
        [(i, data.draw(st.integers(1, 4)), data.draw(BODIES)) for i in sorted(set(new))],
        [(i, data.draw(BODIES)) for i in sorted(set(changed))],
        sorted(set(gone)),
        resync=resync,
        shift=data.draw(st.integers(0, MAX_SHIFT)),
    )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_update_sequences_keep_the_reference_view(data: st.DataObject) -> None:
    ref, fast = ClientView(), FastClientView()
    # a view that has followed some updates already (seq near its wrap, now and then)
    ref.seq = fast.seq = data.draw(st.sampled_from([0, 41, 0xFFFFFFFE, 0xFFFFFFFF]))
    tick = data.draw(st.integers(0, 0xFFFFFFFF - 10_000))
    for _ in range(data.draw(st.integers(1, 10))):
        tick += data.draw(st.integers(0, 40))
        frame_bytes = _draw_update(data, sorted(ref.entities), ref.seq, tick)
        refused = outcome(ref.apply_frame, frame_bytes)
        assert outcome(fast.apply_frame, frame_bytes) == refused
        assert_same_view(fast, ref)  # refused: both unchanged


@pytest.mark.parametrize("misfit", MISFITS)
def test_each_misfit_is_refused_with_the_reference_error_and_changes_nothing(
    misfit: str,
) -> None:
    body = Body(1, 2, 3, 4, 5, 6, 7, 8, 1)
    start = encode_update(100, 7, (0, 0), [(5, 1, body), (9, 2, body)], [], [], resync=True)
    second = {
        "gap": encode_update(101, 9, (0, 0), [], [], []),
        "known new": encode_update(101, 8, (0, 0), [(4, 1, body), (9, 1, body)], [], []),
        "unknown update": encode_update(101, 8, (0, 0), [], [(5, body), (6, body)], []),
        "unknown removal": encode_update(101, 8, (0, 0), [(6, 3, body)], [(6, body)], [6, 7]),
    }[misfit]
    ref, fast = ClientView(), FastClientView()
    ref.apply_frame(start)
    fast.apply_frame(start)
    with pytest.raises(ProtocolError) as expected:
        ref.apply_frame(second)
    with pytest.raises(ProtocolError) as got:
        fast.apply_frame(second)
    assert (got.value.code, got.value.message) == (expected.value.code, expected.value.message)
    assert_same_view(fast, ref)
    assert fast.ids.tolist() == [5, 9] and fast.seq == 7


def test_positions_follow_dead_reckoning_between_records() -> None:
    # one record, then heartbeats: the position is predicted from the reference (the integer
    # model of protocol/reckoning.py), exactly as the reference client predicts it
    body = Body(dx=10, dy=-4, vx=300, vy=-20, ax=3, ay=-1, angle=100, spin=2, flags=2)
    fast = FastClientView()
    fast.apply_frame(encode_update(50, 1, (400, -400), [(77, 1, body)], [], [], resync=True))
    for seq in range(2, 30):
        fast.apply_frame(encode_update(48 + seq, seq, (0, 0), [], [], []))
    ref = fast.get(77)
    assert ref is not None and ref.t0 == 50 and fast.tick == 77
    x, y = fast.metres_at(fast.tick)[0]
    assert (x, y) == ref.metres_at(77) != ref.metres_at(50)
    assert np.isclose(x, (400 * 256 + 10 * 256 + 4 * 300 * 27 + 2 * 3 * 27 * 28) / 1024)
