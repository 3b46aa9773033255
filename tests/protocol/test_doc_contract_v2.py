"""docs/protocol.md, "Protocol v2", is the contract an outside v2 client is written from: its
layouts, example frame, numbers and message types are the code's."""

from __future__ import annotations

import re

from tests.protocol.test_doc_contract import DOC

from callister.protocol import reckoning
from callister.protocol.controls import CONTROLS, V2_MESSAGE_TYPES, encode_controls
from callister.protocol.limits import PROTOCOL_VERSIONS
from callister.protocol.updates import (
    BODY,
    HEADER,
    RECORD_FLAGS,
    Body,
    decode_update,
    encode_update,
)
from callister.server import views

V2 = DOC[DOC.index("\n## Protocol v2\n") :]
FLAT = " ".join(V2.split())


def test_layout_sizes_and_versions() -> None:
    assert HEADER.size == 26 and "its 26-byte header" in FLAT
    assert f"**Body** ({BODY.size} bytes)" in V2
    assert CONTROLS.size == 4 and "4-byte binary frame" in FLAT
    assert PROTOCOL_VERSIONS == (1, 2) and "(1 or 2)" in DOC
    assert f"0..{reckoning.MAX_SHIFT})" in V2


def test_the_example_frame_is_what_the_encoder_writes() -> None:
    block = V2[V2.index("Example (") :]
    hex_lines = block[block.index("```") + 3 : block.index("```", block.index("```") + 3)]
    data = bytes.fromhex(" ".join(hex_lines.split()))
    assert f"Example ({len(data)} bytes)" in V2
    expected = encode_update(
        1000, 5, (400, -80),
        [(7, 1, Body(8, -4, 2560, 0, 0, 0, 16384, 0, 2))],
        [(300, Body(-1000, 20, 0, -128, 3, 0, 0, 57, 0))],
        [9],
    )  # fmt: skip
    assert data == expected
    update = decode_update(data)
    assert update.new[0].x == 256 * 400 + 8 * 256  # "x0 = 256 × origin_x + dx × 256 × 2^shift"


def test_the_model_and_thresholds_quoted_are_the_codes() -> None:
    assert "x(t) = x0 + 4·vx·t + 2·ax·t·(t+1)" in FLAT
    assert reckoning.predict_position(0, 1, 1, 3) == 4 * 3 + 2 * 3 * 4
    assert "angle(t) = (angle + 32·spin·t) mod 65536" in FLAT
    assert reckoning.predict_angle(0, 1, 1) == 32
    assert f"more than {views.DEFAULT_THRESHOLD_M:g} m from the true one" in FLAT
    assert f"more than {views.DEFAULT_ANGLE_DEG:g}° from the true one" in FLAT
    assert f"is {views.DEFAULT_REFRESH_TICKS} ticks (2 s) old" in FLAT
    assert f"`aoi_radius` × {1 + views.DEFAULT_LEAVE_MARGIN:g}" in FLAT
    row = V2[V2.index("| 13 | u8 | flags |") :]
    listed = row[row.index("per-tick bits:") : row.index("(bits 4")]
    bits = [int(b) for b in re.findall(r"\b(\d) [a-z]", listed)]
    assert sum(1 << b for b in bits) == RECORD_FLAGS


def test_v2_messages_and_controls_are_documented() -> None:
    for kind in V2_MESSAGE_TYPES:
        assert f"| `{kind}` |" in V2
    assert encode_controls(1.0, -1.0, True) == bytes([2, 1, 255, 0x81])
    assert "-127..127 = -1..1" in V2 and "bit 0 brake" in V2
