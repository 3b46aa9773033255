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
    WORLD_REFUSED = "WORLD_REFUSED"  # no such world, being deleted, full, or you need an invite
    FORBIDDEN = "FORBIDDEN"  # the account's role may not do that (spectate, a moderator ship)
    MUTED = "MUTED"  # a moderator muted this account: its chat is refused until the mute ends
    # game rules (raised by the zone, identical for players and agents)
    NOT_YOUR_SHIP = "NOT_YOUR_SHIP"
    UNKNOWN_SHIP = "UNKNOWN_SHIP"
    DOCKED = "DOCKED"  # the action needs the ship to be undocked
    NOT_DOCKED = "NOT_DOCKED"
    NO_STATION_IN_RANGE = "NO_STATION_IN_RANGE"
    TOO_FAST = "TOO_FAST"  # docking above the docking speed
    NO_SUCH_LINK = "NO_SUCH_LINK"  # jump target is not linked to the current system
    JUMPING = "JUMPING"  # a jump is already charging
    NOT_YOUR_STATION = "NOT_YOUR_STATION"  # a shared ship: another member holds that station
    CRUISE_BLOCKED = "CRUISE_BLOCKED"  # cruise cannot engage here (too close to something)
    # parties (issue 16)
    IN_PARTY = "IN_PARTY"  # you (or the invited player) are in a party already: leave it first
    PARTY_FULL = "PARTY_FULL"  # the party has the most members the server allows
    # game masters (issue 18)
    NO_SYSTEM = "NO_SYSTEM"  # that sector is empty space (no star system)
    OUT_OF_BOUNDS = "OUT_OF_BOUNDS"  # a position outside the system, or inside its star
    FROZEN = "FROZEN"  # the system is frozen by a game master: nothing moves until unfrozen
    # combat (zone checks; the ones marked * are also recorded as evidence)
    COOLDOWN = "COOLDOWN"  # * the weapon has not cooled down since its last shot
    OUT_OF_RANGE = "OUT_OF_RANGE"  # * the target is beyond the weapon's range
    NO_AMMO = "NO_AMMO"  # * the weapon's magazine is empty
    NO_ENERGY = "NO_ENERGY"  # not enough energy for the shot
    NO_LINE_OF_FIRE = "NO_LINE_OF_FIRE"  # * a rock, station or star is in the way
    NO_TARGET = "NO_TARGET"  # the target does not exist here (or a missile was fired without)
    BAD_SLOT = "BAD_SLOT"  # * no weapon in that slot
    PVP_OFF = "PVP_OFF"  # this world's rules forbid attacking other players
    NO_FUEL = "NO_FUEL"  # not enough fuel (for a jump, an autopilot trip, a cruise)
    TOO_FAR = "TOO_FAR"  # * the rock or wreck is out of reach (or the ship is moving too fast)
    # economy (station services, trades; answered after the database commits or refuses)
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"  # * not enough credits
    CARGO_FULL = "CARGO_FULL"  # the hold has no room for that
    OUT_OF_STOCK = "OUT_OF_STOCK"  # the station (or your hold) has not got that many
    NOT_FOR_SALE = "NOT_FOR_SALE"  # unknown item, or this station does not trade it
    NOT_AVAILABLE = "NOT_AVAILABLE"  # the station lacks that service, or nothing to do
    DESTROYED = "DESTROYED"  # the ship was destroyed; wait for the respawn
    INTERNAL = "INTERNAL"  # a server fault; the request may be retried


class ProtocolError(Exception):
    """A refused message: `code` is from the closed ErrorCode set, `message` says what to fix."""

    def __init__(self, code: ErrorCode, message: str, ref: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.ref = ref  # the refused action, when the decoder knows it (a `gm` message: "gm")
