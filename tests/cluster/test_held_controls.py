"""The gateway's test for a client's held controls (cluster/gateway.py `held_controls`): what it
remembers to send again after a re-attach is exactly what a worker would act on as controls."""

from __future__ import annotations

import json

import numpy as np
import pytest

from callister.cluster.gateway import held_controls, is_resync, ship_changed
from callister.cluster.remote import BINARY, CLOSE, TEXT
from callister.protocol.controls import encode_controls
from callister.protocol.messages import encode_server
from callister.protocol.snapshot import encode_snapshot
from callister.protocol.updates import encode_update


def text(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_a_json_input_is_held_controls() -> None:
    frame = text({"t": "input", "ship": 7, "thrust": 1, "turn": -0.5, "brake": False})
    assert held_controls(TEXT, frame, v2=False)
    assert held_controls(TEXT, frame, v2=True)  # v2 still accepts the JSON input
    spaced = b'{ "ship" : 7 , "t" : "input", "thrust": 0, "turn": 0, "brake": true }'
    assert held_controls(TEXT, spaced, v2=False)


@pytest.mark.parametrize(
    "frame",
    [
        text({"t": "input", "ship": 7, "thrust": 2, "turn": 0, "brake": False}),  # out of range
        text({"t": "input", "ship": 7, "thrust": 1, "turn": 1.5, "brake": False}),
        text({"t": "input", "ship": 0, "thrust": 1, "turn": 0, "brake": False}),  # no such id
        text({"t": "input", "ship": 7, "thrust": float("nan"), "turn": 0, "brake": False}),
        b'{"t":"input","ship":7,"thrust":1,"turn":0,"brake":false',  # truncated
        text(["input"]),
        b'\xff"input"',  # not UTF-8
        text({"t": "chat", "text": '"input"'}),  # the word, not the message
        text({"t": "report", "reason": "input"}),
        text({"t": "undock", "ship": 7}),
        text({"t": "ping", "n": 1}),
    ],
)
def test_other_or_bad_text_frames_are_not(frame: bytes) -> None:
    assert not held_controls(TEXT, frame, v2=True)


def test_binary_controls_count_only_on_a_v2_session_and_only_when_valid() -> None:
    good = encode_controls(1.0, -1.0, True)
    assert held_controls(BINARY, good, v2=True)
    assert not held_controls(BINARY, good, v2=False)  # a v1 session refuses them: BAD_FRAME
    assert not held_controls(BINARY, bytes([2, 2, 255, 0]), v2=True)  # a flag other than brake
    assert not held_controls(BINARY, bytes([2, 0, 255, 0x80]), v2=True)  # turn -128
    assert not held_controls(BINARY, bytes([1, 0, 255, 0]), v2=True)  # another type
    assert not held_controls(BINARY, good + b"\x00", v2=True)  # 5 bytes (an ack's length)
    assert not held_controls(BINARY, good[:3], v2=True)
    assert not held_controls(CLOSE, good, v2=True)
    assert not held_controls(CLOSE, text({"t": "input"}), v2=True)


def test_a_new_ship_is_told_by_respawned_and_view_events() -> None:
    assert ship_changed(encode_server("event", kind="respawned", ship=9, insurance=0).encode())
    assert ship_changed(encode_server("event", kind="view", ship=9).encode())
    assert not ship_changed(encode_server("event", kind="arrived", ship=9).encode())
    # a player's words are escaped inside their string: never mistaken for the event
    chat = encode_server("chat", text='"kind":"respawned"').encode()
    assert not ship_changed(chat)


def test_a_resync_is_a_v2_update_with_its_flag() -> None:
    """What the gateway waits for after skipping a v2 update (`EdgeGateway._skipped`)."""
    assert is_resync(encode_update(5, 9, (0, 0), [], [], [], resync=True))
    assert is_resync(memoryview(encode_update(5, 9, (0, 0), [], [], [], resync=True)))
    assert not is_resync(encode_update(5, 9, (0, 0), [], [], [9]))
    none = np.zeros(0, np.uint64)
    assert not is_resync(encode_snapshot(5, 9, 0, none, none))  # a v1 snapshot, full or not
    assert not is_resync(b"\x02")
    assert not is_resync(b"")
