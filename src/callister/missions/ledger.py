"""Ledger requests: the money, items and fuel a mission step moves, for the server to commit.

The missions package never touches the ledger. Each transition returns `LedgerRequest`s, and
the server commits each one as ONE economy transaction (`Store.commit_txn`) under its `key`,
which is deterministic (`mission:<account>:<contract>:<what>`, `tutorial:<account>:<step>`,
...), so committing a request twice applies it once: the server may retry after a crash.

Accounts and holders use the economy's names: "player:<id>", "station:<x>:<y>:<i>",
"ship:<id>", and the system accounts "market", "services", "insurer" and — new for missions —
"missions" (the factions' contract treasury, a system account that may go negative like
"mint"). Collateral waits in "escrow:<account>:<contract>", an owned account (never negative).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from callister.missions._data import Sector

MISSIONS = "missions"
"""The system account paying contract rewards and tutorial rewards."""
MARKET = "market"
SERVICES = "services"
INSURER = "insurer"


def player_account(account: int) -> str:
    """The ledger account of a player (or, with a negative id, an NPC clone)."""
    return f"player:{account}"


def escrow_account(account: int, contract: str) -> str:
    """Where a pilot's collateral for `contract` waits until delivery or forfeit."""
    return f"escrow:{account}:{contract}"


def station_holder(sector: Sector, station: int) -> str:
    """The item holder of a station's market stock."""
    return f"station:{sector[0]}:{sector[1]}:{station}"


def ship_holder(ship: int) -> str:
    """The item holder of a ship's hold."""
    return f"ship:{ship}"


@dataclass(frozen=True, slots=True)
class Posting:
    """`amount` credits into (positive) or out of (negative) `account`."""

    account: str
    amount: int


@dataclass(frozen=True, slots=True)
class Move:
    """`qty` units of `item` from holder `src` to holder `dst`."""

    item: str
    qty: int
    src: str
    dst: str


@dataclass(frozen=True, slots=True)
class FuelChange:
    """`delta` fuel units into (or out of) the tank of `account`'s ship (clipped to the tank
    by the server)."""

    account: int
    delta: float


@dataclass(frozen=True, slots=True)
class Relocate:
    """Put `account`'s ship docked at `station` of `sector` (a recall or a tow's end)."""

    account: int
    sector: Sector
    station: int


@dataclass(frozen=True, slots=True)
class LedgerRequest:
    """One economy transaction to commit under `key` (idempotent) for `account`.

    `kind` names it for the event log ("mission_pickup", "mission_reward", "tutorial_reward",
    "rescue", "recall", "ration", ...). Postings sum to zero (checked here). `detail` is what
    the receipt tells the client.
    """

    key: str
    kind: str
    account: int
    postings: tuple[Posting, ...] = ()
    moves: tuple[Move, ...] = ()
    fuel: tuple[FuelChange, ...] = ()
    relocate: Relocate | None = None
    detail: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if sum(p.amount for p in self.postings) != 0:
            raise ValueError(f"{self.key}: postings must sum to zero: {self.postings}")
        if any(p.amount == 0 for p in self.postings):
            raise ValueError(f"{self.key}: a posting of 0 credits")
        if any(m.qty <= 0 for m in self.moves):
            raise ValueError(f"{self.key}: item moves need a positive quantity")

    def credits_to(self, account: str) -> int:
        """Net credits this request moves into `account`."""
        return sum(p.amount for p in self.postings if p.account == account)


def pay(payer: str, payee: str, amount: int) -> tuple[Posting, ...]:
    """Postings moving `amount` (> 0) credits from `payer` to `payee`; none for 0."""
    if amount < 0:
        raise ValueError(f"cannot pay a negative amount: {amount}")
    if amount == 0:
        return ()
    return (Posting(payer, -amount), Posting(payee, amount))
