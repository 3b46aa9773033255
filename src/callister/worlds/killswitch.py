"""The kill switch's deletion job, step by step (each step one store transaction).

Order: (1) close out the ledger (the final balances go into the audit record), (2) move each
character to its home world (an atomic move; a player whose home is this world, or who already
has a character there, keeps nothing here), (3) delete every row of every table with a `world`
column in batches, (4) one last transaction removes the registry row and the job and writes the
audit record. Every step is idempotent, so a job interrupted anywhere (SIGKILL) resumes from
the database state: the job row stays until step 4 commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from callister.store import NotFound, Store, StoreError
from callister.worlds.placement import home_placement

log = logging.getLogger(__name__)
LAST_TABLES = ("worlds", "world_jobs")
MAX_LEDGER_IN_AUDIT = 2000  # accounts listed in the closing ledger (the rest are summed)


class DeletionPlan:
    """The steps of deleting `world`; the server runs each on its writer thread, the CLI
    directly (run_deletion)."""

    def __init__(self, store: Store, world: str, public: str, home_count: int, batch: int) -> None:
        self.store, self.world, self.public = store, world, public
        self.home_count, self.batch = home_count, batch
        self.detail: dict[str, Any] = {"moved": [], "stayed": []}

    def close_ledger(self) -> dict[str, Any]:
        balances = self.store.ledger_balances(self.world)
        owned = {k: v for k, v in balances.items() if ":" in k}
        listed = dict(sorted(owned.items())[:MAX_LEDGER_IN_AUDIT])
        ledger = {
            "accounts": len(balances),
            "credits_total": sum(balances.values()),
            "owned_total": sum(owned.values()),
            "owned": listed,
            "system": {k: v for k, v in balances.items() if ":" not in k},
        }
        self.detail["ledger"] = ledger
        return ledger

    def evacuees(self) -> list[tuple[int, str | None]]:
        """(account id, home world or None) for every character still in the world."""
        out: list[tuple[int, str | None]] = []
        for account_id in self.store.world_characters(self.world):
            out.append((account_id, self.home_of(account_id)))
        return out

    def home_of(self, account_id: int) -> str | None:
        home: str | None = self.store.get_home(account_id) or self.public
        if home == self.world:
            home = self.public if self.public != self.world else None
        if home is None:
            return None
        record = self.store.get_world(home)
        if record is None or record.state != "live":
            return None
        return home

    def move_one(self, account_id: int, home: str | None) -> str | None:
        """Move the character home; None if it stays (and is deleted with the world)."""
        if home is None or home in self.store.characters_of(account_id):
            self.detail["stayed"].append(account_id)
            return None
        record = self.store.get_world(home)
        if record is None:
            self.detail["stayed"].append(account_id)
            return None
        placement = home_placement(record.seed, self.home_count, account_id)
        try:
            self.store.move_character(
                account_id, self.world, home, placement=placement, reason="evacuate"
            )
        except NotFound:
            return None  # moved already (a resumed job)
        except ValueError:
            self.detail["stayed"].append(account_id)
            return None
        self.detail["moved"].append(account_id)
        return home

    def tables(self) -> list[str]:
        return [t for t in self.store.world_tables() if t not in LAST_TABLES]

    def delete_batch(self, table: str) -> int:
        """Rows deleted; -1 if a foreign key holds the table back (retry after the others)."""
        try:
            return self.store.delete_world_batch(self.world, table, self.batch)
        except StoreError as exc:
            if "foreign" in str(exc).lower():
                return -1
            raise

    def finish(self) -> int:
        audit_id = self.store.finish_world_deletion(self.world, self.detail)
        self.store.scrub()
        return audit_id


def run_deletion(
    store: Store,
    world: str,
    *,
    public: str,
    home_count: int,
    batch: int = 500,
    progress: Callable[[str, int], None] | None = None,
) -> int:
    """Drive a job that is in state 'deleting' to the end, synchronously; the audit id."""
    plan = DeletionPlan(store, world, public, home_count, batch)
    plan.close_ledger()
    for account_id, home in plan.evacuees():
        plan.move_one(account_id, home)
    pending = plan.tables()
    while pending:
        held_back = []
        for table in pending:
            while True:
                n = plan.delete_batch(table)
                if n < 0:
                    held_back.append(table)
                    break
                if progress is not None and n:
                    progress(table, n)
                if n == 0:
                    break
        if held_back == pending:
            raise StoreError(f"foreign keys keep rows of {world!r} in {held_back}")
        pending = held_back
    return plan.finish()
