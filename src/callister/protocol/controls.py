"""Protocol v2 client frames: binary controls, `resync`, and the v2 client decoder.

A v2 client sends its held controls as a 4-byte binary frame (docs/protocol.md, "Protocol
v2"): ``u8 type=2, u8 flags (bit 0 brake), u8 thrust (0..255 = 0..1), i8 turn (-127..127 =
-1..1, + counter-clockwise)``. They act on the ship the session commands (its own, or the
captain's while it pilots a shared ship), so no ship id travels. Every v1 JSON message is still
accepted; `{"t":"resync"}` asks for a RESYNC update.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Final

from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.messages import (
    BINARY_ACK,
    BINARY_ACK_TYPE,
    AckMsg,
    ClientMessage,
    InputMsg,
    decode_client,
)

CONTROLS_TYPE: Final = 2
CONTROLS: Final = struct.Struct("<BBBb")
CONTROLS_BRAKE: Final = 1


@dataclass(frozen=True, slots=True)
class ControlsMsg:
    """Held controls from a binary v2 frame; they act on the ship the session commands."""

    thrust: float  # 0..1
    turn: float  # -1..1, + counter-clockwise
    brake: bool

    def for_ship(self, ship: int) -> InputMsg:
        """The same controls as the v1 message for `ship` (the gateway's one input path)."""
        return InputMsg(ship=ship, thrust=self.thrust, turn=self.turn, brake=self.brake)


@dataclass(frozen=True, slots=True)
class ResyncMsg:
    """The client asks for a RESYNC update: it dropped its view (or found it inconsistent)."""


V2Message = ClientMessage | ControlsMsg | ResyncMsg


def encode_controls(thrust: float, turn: float, brake: bool) -> bytes:
    """The 4-byte controls frame: thrust clamped to 0..1, turn to -1..1, both rounded half up
    (as JavaScript's Math.round, so every client encodes the same bytes)."""
    t = math.floor(min(1.0, max(0.0, thrust)) * 255 + 0.5)
    u = math.floor(min(1.0, max(-1.0, turn)) * 127 + 0.5)
    return CONTROLS.pack(CONTROLS_TYPE, CONTROLS_BRAKE if brake else 0, t, u)


def decode_controls(frame: bytes) -> ControlsMsg:
    """Decode a controls frame. ProtocolError: BAD_FRAME (length or type), BAD_FIELD (flag
    bits other than brake), BAD_NUMBER (turn -128, outside -127..127)."""
    if len(frame) != CONTROLS.size or frame[0] != CONTROLS_TYPE:
        raise ProtocolError(ErrorCode.BAD_FRAME, "a controls frame is 4 bytes starting with 2")
    _, flags, thrust, turn = CONTROLS.unpack(frame)
    if flags & ~CONTROLS_BRAKE:
        raise ProtocolError(ErrorCode.BAD_FIELD, "controls flags: only bit 0 (brake) is defined")
    if turn == -128:
        raise ProtocolError(ErrorCode.BAD_NUMBER, "controls turn must be within -127..127")
    return ControlsMsg(thrust=thrust / 255, turn=turn / 127, brake=bool(flags & CONTROLS_BRAKE))


def decode_client_v2(frame: str | bytes) -> V2Message:
    """Decode one frame from a v2 client: binary controls (or a v1 binary ack, which v2
    ignores), `resync`, or any v1 JSON message. Raises ProtocolError and nothing else."""
    if isinstance(frame, bytes | bytearray):
        if type(frame) is not bytes:
            frame = bytes(frame)
        if frame and frame[0] == CONTROLS_TYPE:
            return decode_controls(frame)
        if len(frame) == BINARY_ACK.size and frame[0] == BINARY_ACK_TYPE:
            return AckMsg(seq=BINARY_ACK.unpack(frame)[1])
        raise ProtocolError(
            ErrorCode.BAD_FRAME, "v2 binary client frames are 4-byte controls (type 2)"
        )
    try:
        return decode_client(frame)
    except ProtocolError as exc:
        # `resync` exists only in v2, so v1's decoder (which the v1 gateway dispatches from)
        # does not know it; the frame is valid JSON here, at most MAX_CLIENT_FRAME bytes.
        if exc.code is ErrorCode.UNKNOWN_TYPE and json.loads(frame).get("t") == "resync":
            return ResyncMsg()
        raise


V2_MESSAGE_TYPES: Final = ("resync",)
"""JSON message types only v2 clients may send (the doc's v2 table lists them)."""
