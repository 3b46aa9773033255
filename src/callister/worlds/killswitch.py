"""The kill switch's deletion job, step by step (each step one store transaction).

Order: (1) move each character to its home world (an atomic move, audited in its own
transaction; a player whose home is this world, or who already has a character there, keeps
nothing here, and that is audited too), (2) close out the ledger after the evacuation (the
balances that die with the world go into the audit record; the first closing is kept), (3)
delete every row of every table with a `world` column in batches, (4) one last transaction
removes the registry row and the job and writes the final audit record, which the store builds
from the records of every step of every run. Every step is idempotent, so a job interrupted
anywhere (SIGKILL) resumes from the database state and its final record still tells all of it:
the job row stays until step 4 commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from callister.store import NotFound, Store, StoreError
from callister.worlds.content import move_character, world_params
from callister.worlds.placement import home_placement

log = logging.getLogger(__name__)
LAST_TABLES = ("worlds", "world_jobs")
MAX_LEDGER_IN_AUDIT = 2000  # accounts listed in the closing ledger (the rest are summed)


class DeletionPlan:
    """The steps of deleting `world`; the server runs each on its writer thread, the CLI
    directly (run_deletion). The job must be in state 'deleting' (store.deletions.begin)."""

    def __init__(self, store: Store, world: str, public: str, home_count: int, batch: int) -> None:
        self.store, self.world, self.public = store, world, public
        self.home_count, self.batch = home_count, batch
        self._round: list[str] | None = None  # the tables this pass of batches clears
        self._left: list[str] = []  # of the round, those not cleared yet
        self._held: list[str] = []  # of the round, those a foreign key held back

    def evacuees(self) -> list[tuple[int, str | None]]:
        """(account id, home world or None) for every character still in the world."""
        out: list[tuple[int, str | None]] = []
        for account_id in self.store.characters.in_world(self.world):
            out.append((account_id, self.home_of(account_id)))
        return out

    def home_of(self, account_id: int) -> str | None:
        home: str | None = self.store.worlds.get_home(account_id) or self.public
        if home == self.world:
            home = self.public if self.public != self.world else None
        if home is None:
            return None
        record = self.store.worlds.get(home)
        if record is None or record.state != "live":
            return None
        return home

    def move_one(self, account_id: int, home: str | None) -> str | None:
        """Move the character home; None if it stays (and is deleted with the world). Either
        way the outcome is audited in the transaction that decides it."""
        if home is None:
            self.store.deletions.record_stayed(self.world, account_id, "no live home world")
            return None
        if home in self.store.characters.worlds_of(account_id):
            self.store.deletions.record_stayed(self.world, account_id, f"has a character in {home}")
            return None
        record = self.store.worlds.get(home)
        if record is None:
            self.store.deletions.record_stayed(self.world, account_id, f"home world {home} is gone")
            return None
        placement = home_placement(record.seed, self.home_count, account_id, world_params(record))
        try:
            move_character(
                self.store, account_id, self.world, home, placement=placement, reason="evacuate"
            )
        except (NotFound, ValueError) as exc:
            # NotFound: moved meanwhile (that move is audited) or the home stopped being live
            if self.world in self.store.characters.worlds_of(account_id):
                self.store.deletions.record_stayed(self.world, account_id, str(exc)[:200])
            return None
        return home

    def close_ledger(self) -> dict[str, Any]:
        """The world's balances after the evacuation (what dies with it), audited once."""
        balances = self.store.ledger.balances(self.world)
        owned = {k: v for k, v in balances.items() if ":" in k}
        listed = dict(sorted(owned.items())[:MAX_LEDGER_IN_AUDIT])
        ledger = {
            "accounts": len(balances),
            "credits_total": sum(balances.values()),
            "owned_total": sum(owned.values()),
            "owned": listed,
            "system": {k: v for k, v in balances.items() if ":" not in k},
        }
        return self.store.deletions.close_ledger(self.world, ledger)

    def tables(self) -> list[str]:
        return [t for t in self.store.worlds.tables() if t not in LAST_TABLES]

    def delete_batch(self, table: str) -> int:
        """Rows deleted; -1 if a foreign key holds the table back (retry after the others)."""
        try:
            return self.store.deletions.delete_batch(self.world, table, self.batch)
        except StoreError as exc:
            if "foreign" in str(exc).lower():
                return -1
            raise

    def next_batch(self) -> tuple[str, int] | None:
        """Delete the next batch: (table, rows deleted), or None when every table is clear.

        Tables go in order; one that a foreign key holds back is retried after the others, and
        StoreError is raised when a whole pass clears nothing it held back."""
        if self._round is None:
            self._round = self.tables()
            self._left = list(self._round)
        while True:
            if not self._left:
                if not self._held:
                    return None
                if self._held == self._round:
                    raise StoreError(f"foreign keys keep rows of {self.world!r} in {self._held}")
                self._round, self._left, self._held = self._held, list(self._held), []
            table = self._left[0]
            n = self.delete_batch(table)
            if n > 0:
                return table, n
            self._left.pop(0)
            if n < 0:
                self._held.append(table)

    def finish(self) -> int:
        audit_id = self.store.deletions.finish(self.world, {})
        self.store.deletions.scrub()
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
    for account_id, home in plan.evacuees():
        plan.move_one(account_id, home)
    plan.close_ledger()
    while (step := plan.next_batch()) is not None:
        if progress is not None:
            progress(*step)
    return plan.finish()
