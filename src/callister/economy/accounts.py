"""Who is who in a world's books: the ledger accounts that hold credits and the holders that
hold items, by the names the store keys them with. Pure names; no I/O.

Ledger accounts: "player:<id>", "bounty:<id>" (escrow on a player's head) — owned accounts,
never negative — and the system accounts "mint" (starting grants), "market" (trade
counterparty), "services" (fuel, repair, ammo, hulls, modules, insurance premiums, crew hires;
pays hull trade-ins) and "insurer" (payouts), which may go negative. Item holders:
"ship:<id>", "wreck:<id>" and a station's market, "station:<x>:<y>:<index>".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from callister.store import Posting

MINT = "mint"
MARKET = "market"
SERVICES = "services"
INSURER = "insurer"


def player_account(account_id: int) -> str:
    """The player's own credits."""
    return f"player:{account_id}"


def bounty_account(account_id: int) -> str:
    """The escrow of bounties placed on the player's head."""
    return f"bounty:{account_id}"


def ship_holder(ship_id: int) -> str:
    """A ship's hold."""
    return f"ship:{ship_id}"


def wreck_holder(wreck_id: int) -> str:
    """What a wreck holds until it is looted or expires."""
    return f"wreck:{wreck_id}"


def transfer(source: str, destination: str, amount: int) -> list[Posting]:
    """The two postings that move `amount` credits from one account to another; none when
    the amount is not positive (the store refuses zero postings)."""
    if amount <= 0:
        return []
    return [Posting(source, -amount), Posting(destination, amount)]


class _StationLike(Protocol):
    @property
    def index(self) -> int: ...
    @property
    def faction(self) -> str: ...
    @property
    def services(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class StationRef:
    """A station as the economy needs it: system (x, y), index, faction, services."""

    x: int
    y: int
    index: int
    faction: str
    services: tuple[str, ...]

    def key(self) -> str:
        """The station's holder key, "station:<x>:<y>:<index>" (also its market's name)."""
        return f"station:{self.x}:{self.y}:{self.index}"

    @classmethod
    def of(cls, x: int, y: int, station: _StationLike) -> StationRef:
        """From a universe `Station` (anything with index, faction, services) in system x, y."""
        return cls(x, y, station.index, station.faction, tuple(station.services))
