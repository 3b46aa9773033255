"""The store's errors. Every failure of the database is a `StoreError` whose message says what
and why; its subclasses are the refusals callers handle (a taken name, a missing record, a
ledger transaction the balances refuse). The cluster's fencing refusals (`Fenced`,
`ShipExists`, `NotResident`) are answers about zone ownership, not database trouble, so they
are not StoreErrors.
"""

from __future__ import annotations


class StoreError(Exception):
    """The database refused or failed an operation; the message says which and why."""


class NameTaken(StoreError):
    """An account with that name (compared case-insensitively) already exists."""


class NotFound(StoreError):
    """The account (or other record) the operation needs does not exist."""


class NoSuchCharacter(NotFound):
    """The account has no character in the world the operation reads it from (a move)."""


class InParty(StoreError):
    """The account is already in a party in that world (one party per player per world)."""


class PartyFull(StoreError):
    """The party already has its maximum number of members."""


class InviteRefused(StoreError):
    """An invite code that is unknown, expired or used up; `reason` says which."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # "unknown", "expired" or "used"


class InsufficientFunds(StoreError):
    """A posting would take an owned ledger account (a key with ':') below zero."""

    def __init__(self, account: str, balance: int, amount: int) -> None:
        super().__init__(
            f"ledger account {account!r} holds {balance}; it cannot pay {-amount} "
            f"(short by {-amount - balance})"
        )
        self.account = account
        self.balance = balance  # before the transaction's postings to it
        self.amount = amount  # the transaction's net posting to it (negative)


class InsufficientItems(StoreError):
    """An item move would take a holding below zero (the holder has fewer than `need`)."""

    def __init__(self, holder: str, item: str, have: int, need: int) -> None:
        super().__init__(f"{holder!r} holds {have} {item!r}; the move needs {need}")
        self.holder = holder
        self.item = item
        self.have = have
        self.need = need


class Fenced(Exception):
    """The write carries a token below the zone's fence: the writer has lost the zone."""

    def __init__(self, zone: str, token: int, current: int | None = None) -> None:
        detail = f" (fence is at {current})" if current is not None else ""
        super().__init__(f"zone {zone}: token {token} is fenced off{detail}")
        self.zone, self.token, self.current = zone, token, current


class ShipExists(Exception):
    """`add_ship` for a ship the cluster already places somewhere."""


class NotResident(Exception):
    """A departure of a ship that is not resident in the zone it is said to leave."""
