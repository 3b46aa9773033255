"""The books check of one world: the one function behind `Economy.audit()`, the tests' ledger
assertions and `callister admin ledger audit`.

A full scan (two read transactions: the ledger, then the item log), for administrators and
tests, never for the tick. The ledger is balanced when every transaction's postings and all
balances sum to 0 and each account's balance equals the sum of its entries; owned accounts
(keys with ':') are never negative; every item is conserved (held = created - destroyed) and
every holder's holding equals the net of its logged moves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from callister.store import Store

STAGES: tuple[str, ...] = ("ledger", "items")  # the scans, in order (for a progress bar)


def audit_books(
    store: Store, world: str, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Check the world's books. `progress(stage)` is called after each of STAGES.

    {"world", "balanced": every check passed, "checks": {"ledger_balanced",
    "accounts_consistent", "owned_non_negative", "items_conserved", "holders_consistent"},
    "credits_total": sum of all balances (0), "accounts": n, "transactions": n,
    "items": {item: {"held", "created", "destroyed", "conserved"}}, "problems": [text, ...]}.
    """
    ledger = store.ledger.totals(world)
    if progress is not None:
        progress("ledger")
    items = store.ledger.item_totals(world)
    if progress is not None:
        progress("items")
    problems = []
    if ledger.balance_sum != 0:
        problems.append(f"balances sum to {ledger.balance_sum}")
    problems += [f"account {a} differs from its entries" for a in ledger.mismatched]
    problems += [f"transaction {t} is unbalanced" for t in ledger.unbalanced]
    problems += [f"account {a} is negative" for a in ledger.negative]
    for item, totals in items.items():
        if not totals.conserved:
            problems.append(
                f"{item}: held {totals.held} != created {totals.created} - destroyed "
                f"{totals.destroyed}, or holders {list(totals.mismatched)} disagree with "
                "their moves"
            )
    checks = {
        "ledger_balanced": ledger.balance_sum == 0 and not ledger.unbalanced,
        "accounts_consistent": not ledger.mismatched,
        "owned_non_negative": not ledger.negative,
        "items_conserved": all(t.held == t.created - t.destroyed for t in items.values()),
        "holders_consistent": not any(t.mismatched for t in items.values()),
    }
    return {
        "world": world,
        "balanced": not problems,
        "checks": checks,
        "credits_total": ledger.balance_sum,
        "accounts": ledger.accounts,
        "transactions": ledger.transactions,
        "items": {
            item: {
                "held": t.held,
                "created": t.created,
                "destroyed": t.destroyed,
                "conserved": t.conserved,
            }
            for item, t in items.items()
        },
        "problems": problems,
    }
