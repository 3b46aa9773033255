"""The economy's refusals and argument checks.

Every public economy call checks its arguments with these before it reads or writes anything,
and a refusal is an `EconomyError` that writes nothing. The field checks are the wire decoder's
own family (`protocol.validate`), bound to EconomyError and BAD_FIELD, so a request id or a
quantity means the same at the socket and at the ledger.
"""

from __future__ import annotations

from callister.economy.accounts import StationRef
from callister.protocol.errors import ErrorCode
from callister.protocol.limits import MAX_QTY
from callister.protocol.validate import Checks
from callister.store import Character


class EconomyError(Exception):
    """A refused economic request: `code` from the protocol's closed set, `message` for the
    player. Nothing was written."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


CHECK = Checks(EconomyError, ErrorCode.BAD_FIELD)
"""Field checks raising EconomyError BAD_FIELD (also for a value out of its range)."""


def quantity(field: str, value: object) -> int:
    """A count of units one request may move: 1..MAX_QTY."""
    return CHECK.integer(field, value, 1, MAX_QTY)


def character(value: object, world: str, account_id: int | None) -> Character:
    """A Character of this world (and of `account_id`, unless None)."""
    if not isinstance(value, Character):
        raise EconomyError(ErrorCode.BAD_FIELD, "character must be a Character")
    if account_id is not None and value.account_id != account_id:
        raise EconomyError(ErrorCode.BAD_FIELD, "the character belongs to another account")
    if value.world != world:
        raise EconomyError(ErrorCode.BAD_FIELD, f"the character is not in {world!r}")
    return value


def station(value: object) -> StationRef:
    """A StationRef."""
    if not isinstance(value, StationRef):
        raise EconomyError(ErrorCode.BAD_FIELD, "station must be a StationRef")
    return value


def docked(who: Character, at: object) -> StationRef:
    """The station, if the character is docked there; NOT_DOCKED if not."""
    ref = station(at)
    if (who.system_x, who.system_y, who.docked_at) != (ref.x, ref.y, ref.index):
        raise EconomyError(ErrorCode.NOT_DOCKED, "dock at the station first")
    return ref


def offers(ref: StationRef, service: str) -> None:
    """NOT_AVAILABLE unless the station offers the service."""
    if service not in ref.services:
        raise EconomyError(ErrorCode.NOT_AVAILABLE, f"this station has no {service} service")


def afford(amount: int, credits: int) -> None:
    """INSUFFICIENT_FUNDS if `amount` is more than the player's `credits`."""
    if amount > credits:
        raise EconomyError(ErrorCode.INSUFFICIENT_FUNDS, f"that costs {amount}; you have {credits}")
