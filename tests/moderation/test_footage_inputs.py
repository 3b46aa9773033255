"""Footage records every input a crowd sends (ten a second per player): the direct encoding of
`submit(Input)` is the general encoding's line, value for value, and replays the same."""

from __future__ import annotations

import json

from callister.moderation.footage import _enc, encode_op
from callister.protocol.intents import Input, Undock


def general(name: str, args: tuple[object, ...]) -> list[object]:
    return [name, [_enc(a) for a in args]]


def test_inputs_encode_as_the_general_path_does() -> None:
    for intent in (
        Input(1, 2, 1.0, -0.5, False),
        Input(7, 2**53 - 1, 0.0, 1.0, True),
        Input(3, 4, 0.123456789012345, -1e-9, False),
        Input(3, 4, 1, 0, True),  # ints where floats are expected
    ):
        line = encode_op("submit", (intent,), {})
        assert line.endswith(b"\n")
        assert json.loads(line) == general("submit", (intent,))
    # anything else takes the general path
    assert json.loads(encode_op("submit", (Undock(1, 2),), {})) == general(
        "submit", (Undock(1, 2),)
    )
    nan = encode_op("submit", (Input(1, 2, 0.5, 0.5),), {})
    assert json.loads(nan) == general("submit", (Input(1, 2, 0.5, 0.5),))
