"""Issue 14 item 4: would msgspec Structs decode the client protocol and encode the cluster codec
faster? Times the current code against msgspec doing the same work, on the same inputs.

    pip install --target /tmp/msgspec msgspec   # not a dependency: see the verdict below
    PYTHONPATH=src:/tmp/msgspec python scripts/msgspec_trial.py

Protocol: `decode_client` (validated dataclasses) against a msgspec tagged union of Structs with
the same bounds (`Meta` constraints), on the hot valid messages. Codec: `codec.encode/decode` of
an intent and of a zone tick with events, against the same tagged JSON written and read by
msgspec.json (the wire unchanged), and a typed msgspec Struct round trip as an upper bound.
Best of 5 runs; microseconds per message.

Verdict (issue 14): msgspec is faster at both, but not kept. The client protocol would keep
every check msgspec cannot express (ids as decimal strings, printable text, cross-field rules)
and gain a layer mapping msgspec's error texts onto our closed error codes (NaN is malformed
JSON to msgspec, BAD_NUMBER to us): no less code. The codec's tagged JSON is the same bytes
whichever library writes it, so msgspec there is two changed lines and a new dependency, no
code removed. Typed Structs for intents and events (the last row) are the real prize, for a
redesign of `sim/events.py` and `protocol/intents.py` that changes the bus format.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

import msgspec
import numpy as np

from callister.cluster import codec
from callister.protocol.intents import Input
from callister.protocol.limits import MAX_ENTITY_ID, MAX_QTY, MAX_SECTOR, MAX_SLOT, MIN_SECTOR
from callister.protocol.messages import (
    FireMsg,
    InputMsg,
    JumpMsg,
    PingMsg,
    TradeMsg,
    decode_client,
)
from callister.sim.events import Fired, Hit
from callister.sim.frame import ZoneFrame

Ship = Annotated[int, msgspec.Meta(ge=1, le=MAX_ENTITY_ID)]
Unit = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Turn = Annotated[float, msgspec.Meta(ge=-1.0, le=1.0)]
Sector = Annotated[int, msgspec.Meta(ge=MIN_SECTOR, le=MAX_SECTOR)]
Rid = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Key = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern="^[a-z0-9_]+$")]


class InputS(msgspec.Struct, tag="input", tag_field="t", forbid_unknown_fields=False):
    ship: Ship
    thrust: Unit = 0.0
    turn: Turn = 0.0
    brake: bool = False


class FireS(msgspec.Struct, tag="fire", tag_field="t"):
    ship: Ship
    slot: Annotated[int, msgspec.Meta(ge=0, le=MAX_SLOT)]
    target: int | str | None = None  # ids may come as decimal strings: checked after decoding


class JumpS(msgspec.Struct, tag="jump", tag_field="t"):
    ship: Ship
    to: tuple[Sector | str, Sector | str]


class TradeS(msgspec.Struct, tag="trade", tag_field="t"):
    ship: Ship
    rid: Rid
    item: Key
    qty: Annotated[int, msgspec.Meta(ge=1, le=MAX_QTY)]
    side: Literal["buy", "sell"]


class PingS(msgspec.Struct, tag="ping", tag_field="t"):
    n: Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)]


CLIENT = msgspec.json.Decoder(InputS | FireS | JumpS | TradeS | PingS)


def _id(value: int | str | None) -> int:
    """What the real decoder does with an entity id that may come as a decimal string."""
    if value is None:
        return 0
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()) or len(value) > 24:
            raise ValueError("not an id")
        value = int(value)
    if not 1 <= value <= MAX_ENTITY_ID:
        raise ValueError("out of range")
    return value


def decode_msgspec(data: bytes) -> Any:
    """The msgspec port's decode: the Struct, then what decode_client returns (the same
    dataclasses, ids from decimal strings, printable rids), so both do the same work."""
    msg = CLIENT.decode(data)
    if isinstance(msg, InputS):
        return InputMsg(msg.ship, msg.thrust, msg.turn, msg.brake)
    if isinstance(msg, FireS):
        return FireMsg(msg.ship, msg.slot, _id(msg.target))
    if isinstance(msg, JumpS):
        return JumpMsg(msg.ship, int(msg.to[0]), int(msg.to[1]))
    if isinstance(msg, TradeS):
        if not msg.rid.isprintable():
            raise ValueError("rid")
        return TradeMsg(msg.ship, msg.rid, msg.item, msg.qty, msg.side)
    return PingMsg(msg.n)


FRAMES = {
    "input": '{"t":"input","ship":7,"thrust":0.5,"turn":-1,"brake":true}',
    "fire": '{"t":"fire","ship":7,"slot":1,"target":"99"}',
    "jump": '{"t":"jump","ship":7,"to":["-3","4"]}',
    "trade": '{"t":"trade","ship":7,"rid":"r-12","item":"iron","qty":5,"side":"buy"}',
    "ping": '{"t":"ping","n":12}',
}


def best(fn: Callable[[], Any], n: int) -> float:
    """Microseconds per call, best of 5 runs of n calls."""
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - start) / n * 1e6)
    return min(runs)


def protocol_rows() -> list[tuple[str, float, float]]:
    rows = []
    for kind, frame in FRAMES.items():
        data = frame.encode()
        assert decode_client(frame) == decode_msgspec(data)  # the same result
        now = best(lambda f=frame: decode_client(f), 20_000)
        rows.append((kind, now, best(lambda d=data: decode_msgspec(d), 20_000)))
    return rows


def msgspec_dumps(value: Any) -> bytes:
    """The codec's tagged JSON, written by msgspec instead of json.dumps."""
    return msgspec.json.encode(codec.to_json(value))


def msgspec_loads(data: bytes | memoryview) -> Any:
    """The codec's tagged JSON, read by msgspec instead of json.loads."""
    return codec.from_json(msgspec.json.decode(data))


DTYPES = {
    "ids": np.uint64,
    "owner": np.int64,
    "kind": np.uint8,
    "hull": np.uint8,
    "flags": np.uint8,
}


def zone_tick(rows: int, events: int) -> codec.ZoneOutput:
    """A zone tick of `rows` entities and `events` events (hits and shots)."""
    columns = {n: np.arange(rows).astype(DTYPES.get(n, np.float32)) for n in codec.FRAME_COLUMNS}
    frame = ZoneFrame(tick=7, **columns)
    hit = Hit(3, 2, 4, 5, "laser", 1.5, 2.25, 100.125, -50.5)
    fired = Fired(4, 5, 0, "laser", 3, 1.0, 2.0, 3.0, 4.0, True, 0)
    return codec.ZoneOutput("w.1.2", 7, frame, [hit, fired] * (events // 2))


def encode_tick_msgspec(t: codec.ZoneOutput) -> bytes:
    """codec.encode_tick with the events written by msgspec (same bytes layout)."""
    key = t.key.encode()
    frame = codec.encode_frame(t.frame)
    events = msgspec_dumps(list(t.events)) if t.events else b""
    pad = -(2 + 6 + len(key)) % 8
    head = b"T" + bytes([pad]) + len(key).to_bytes(2, "little") + len(frame).to_bytes(4, "little")
    return b"".join((head, key, b"\0" * pad, frame, events))


def decode_tick_msgspec(raw: bytes) -> Any:
    """codec.decode_tick with the events read by msgspec (the frame part is the codec's own:
    zero-copy numpy views either way)."""
    buf = memoryview(raw)
    pad, key_len = buf[1], int.from_bytes(buf[2:4], "little")
    frame_len = int.from_bytes(buf[4:8], "little")
    pos = 8 + key_len + pad
    frame = codec.decode_frame(buf, pos, frame_len)
    rest = buf[pos + frame_len :]
    return frame, (msgspec_loads(rest) if len(rest) else [])


class InputTyped(msgspec.Struct, tag=True):
    """What an intent would be as a msgspec Struct (for the upper bound)."""

    actor: int
    ship: int
    thrust: float
    turn: float
    brake: bool


def codec_rows() -> list[tuple[str, float, float]]:
    intent = Input(actor=12, ship=7, thrust=0.5, turn=-0.25, brake=False)
    data = codec.dumps(intent)
    assert msgspec_loads(msgspec_dumps(intent)) == intent
    assert json.loads(msgspec_dumps(intent)) == json.loads(data)  # the same tagged JSON
    rows = [
        ("intent encode", best(lambda: codec.dumps(intent), 50_000),
         best(lambda: msgspec_dumps(intent), 50_000)),
        ("intent decode", best(lambda: codec.loads(data), 50_000),
         best(lambda: msgspec_loads(data), 50_000)),
    ]  # fmt: skip
    for events in (0, 20):
        t = zone_tick(500, events)
        raw = codec.encode(t)
        assert encode_tick_msgspec(t)[: len(raw) - 1][:8] == raw[:8]
        rows.append((f"tick, 500 rows, {events} events: encode",
                     best(lambda t=t: codec.encode(t), 5_000),
                     best(lambda t=t: encode_tick_msgspec(t), 5_000)))  # fmt: skip
        rows.append((f"tick, 500 rows, {events} events: decode",
                     best(lambda r=raw: codec.decode(r), 5_000),
                     best(lambda r=raw: decode_tick_msgspec(r), 5_000)))  # fmt: skip
    enc, dec = msgspec.json.Encoder(), msgspec.json.Decoder(InputTyped)
    typed = InputTyped(12, 7, 0.5, -0.25, False)
    rows.append(("intent round trip: typed Struct (upper bound)",
                 best(lambda: codec.loads(codec.dumps(intent)), 50_000),
                 best(lambda: dec.decode(enc.encode(typed)), 50_000)))  # fmt: skip
    return rows


def main() -> None:
    print(f"msgspec {msgspec.__version__}; microseconds per message (best of 5)")
    print(f"{'protocol decode':<48} {'now':>8} {'msgspec':>8}")
    for name, now, ms in protocol_rows():
        print(f"  {name:<46} {now:8.2f} {ms:8.2f}")
    print(f"{'cluster codec':<48} {'now':>8} {'msgspec':>8}")
    for name, now, ms in codec_rows():
        print(f"  {name:<46} {now:8.2f} {ms:8.2f}")


if __name__ == "__main__":
    main()
