"""The closed set of protocol errors. Every refusal the server sends carries one of these codes.

Codes are stable strings (documented in docs/protocol.md); messages are human-readable and may
change. Decoding raises only `ProtocolError`; anything else escaping a decoder is a bug (the
fuzz tests enforce that).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # framing and decoding
    BAD_FRAME = "BAD_FRAME"  # not valid UTF-8 JSON, or not a JSON object
    TOO_LARGE = "TOO_LARGE"  # frame over the size limit
    UNKNOWN_TYPE = "UNKNOWN_TYPE"  # "t" is not a known message type
    BAD_FIELD = "BAD_FIELD"  # a field is missing, of the wrong type, or out of range
    BAD_NUMBER = "BAD_NUMBER"  # NaN, Infinity, or a number outside its range
    BAD_VERSION = "BAD_VERSION"  # protocol version not supported
    # session
    AUTH_REQUIRED = "AUTH_REQUIRED"  # first message must be a valid hello
    AUTH_FAILED = "AUTH_FAILED"  # token unknown or expired
    RATE_LIMITED = "RATE_LIMITED"  # too many messages; repeated floods close the socket
    NOT_IN_WORLD = "NOT_IN_WORLD"  # the ship is between zones (jumping) or not spawned yet
    # game rules (raised by the zone, identical for players and agents)
    NOT_YOUR_SHIP = "NOT_YOUR_SHIP"
    UNKNOWN_SHIP = "UNKNOWN_SHIP"
    DOCKED = "DOCKED"  # the action needs the ship to be undocked
    NOT_DOCKED = "NOT_DOCKED"
    NO_STATION_IN_RANGE = "NO_STATION_IN_RANGE"
    TOO_FAST = "TOO_FAST"  # docking above the docking speed
    NO_SUCH_LINK = "NO_SUCH_LINK"  # jump target is not linked to the current system
    JUMPING = "JUMPING"  # a jump is already charging
    INTERNAL = "INTERNAL"  # a server fault; the request may be retried


class ProtocolError(Exception):
    """A refused message: `code` is from the closed ErrorCode set, `message` says what to fix."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
