"""`LedgerRepository`: the double-entry ledger (transactions, balances), item holdings and their
move log, and wrecks.

`commit` is the one way credits and items change: one transaction, exactly once per
(world, idempotency key). Everything else reads, or keeps wreck rows. Every method is one
transaction (see `Store` for the contract every repository keeps). `post`, `balance_of`,
`holdings_of` and `TXN_COLUMNS`/`txn_record` also serve other repositories' transactions (a
move between worlds, a fork) so the ledger's rules are written once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from . import _check as check
from .characters import SAVE_CHARACTER, character_row
from .database import ConstraintViolation, Cursor, Database, Row
from .errors import InsufficientFunds, InsufficientItems, NotFound, StoreError
from .records import (
    MAX_AMOUNT,
    MAX_KEY,
    MAX_LIST,
    MAX_MOVE_QTY,
    Character,
    ItemMove,
    ItemTotals,
    LedgerTotals,
    Posting,
    Txn,
    Wreck,
)

TXN_COLUMNS = "id, world, idem, kind, account, created_at, result"
_WRECK_COLUMNS = "world, wreck_id, system_x, system_y, x, y, expires_at, origin_account, created_at"
_SAVE_WRECK = (
    f"INSERT INTO wrecks ({_WRECK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (world, wreck_id) DO UPDATE SET "
    + ", ".join(
        f"{col} = excluded.{col}"
        for col in _WRECK_COLUMNS.split(", ")
        if col not in ("world", "wreck_id", "created_at")  # created_at: the first save's
    )
)


class LedgerRepository:
    """Ledger transactions, balances, holdings and wrecks, per world."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def commit(
        self,
        world: str,
        idem: str,
        kind: str,
        *,
        account: str | None = None,
        postings: Sequence[Posting] = (),
        moves: Sequence[ItemMove] = (),
        character: Character | None = None,
        save_wreck: Wreck | None = None,
        delete_wreck: int | None = None,
        result: Mapping[str, Any] | None = None,
        report_accounts: Sequence[str] = (),
        report_holders: Sequence[str] = (),
        at: float | None = None,
    ) -> Txn:
        """Apply one economic transaction atomically and exactly once per (world, idem).

        In one database transaction: record the transaction (`kind`, the `account` it is for,
        `at` or now), add every posting to its ledger account (creating accounts at 0), apply
        the item moves in order, upsert `character` (its world must be `world`), save
        `save_wreck` and delete wreck `delete_wreck` (absent: no error), then read the balances
        of `report_accounts` and the holdings of `report_holders` and store them with `result`.

        Idempotent: if (world, idem) was committed before, nothing is applied and the stored
        Txn is returned with `replay=True`, whatever the other arguments say now.

        Refusals (nothing written): InsufficientFunds if an owned account's balance would go
        below zero; InsufficientItems if a move takes more than the source holds at that point;
        NotFound if `character`'s account does not exist. ValueError before any SQL for bad
        arguments, including postings that do not sum to zero, a zero amount or quantity, or
        a wreck / character of another world.
        """
        world = check.text("world", world)
        idem = check.text("idem", idem, MAX_KEY)
        kind = check.kind("kind", kind)
        if account is not None:
            account = check.ledger_key("account", account, MAX_KEY)
        at = time.time() if at is None else check.finite("at", at)
        net, entries = _postings(postings)
        move_rows = _moves(moves)
        char_row = None
        if character is not None:
            char_row = character_row(character, at)
            if char_row[1] != world:
                raise ValueError(f"character is of world {char_row[1]!r}, not {world!r}")
        wreck_row = None
        if save_wreck is not None:
            wreck_row = _wreck_row(save_wreck, at)
            if wreck_row[0] != world:
                raise ValueError(f"save_wreck is of world {wreck_row[0]!r}, not {world!r}")
        delete_id = None if delete_wreck is None else check.int64("delete_wreck", delete_wreck, 1)
        if result is not None and not isinstance(result, Mapping):
            raise ValueError(f"result must be a dict (JSON object), not {type(result).__name__}")
        result_obj = {} if result is None else dict(result)
        check.to_json("result", result_obj, object_only=True)
        accounts = _unique(
            check.ledger_key(f"report_accounts[{i}]", a, MAX_KEY)
            for i, a in enumerate(check.sequence("report_accounts", report_accounts))
        )
        holders = _unique(
            check.ledger_key(f"report_holders[{i}]", h, MAX_KEY)
            for i, h in enumerate(check.sequence("report_holders", report_holders))
        )

        def apply(cur: Cursor) -> Txn:
            row = cur.execute(
                "INSERT INTO ledger_txns (world, idem, kind, account, created_at, result) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (world, idem) DO NOTHING RETURNING id",
                (world, idem, kind, account, at, "{}"),
            ).one()
            if row is None:  # committed before: replay, apply nothing
                found = _select_txn(cur, world, idem)
                if found is None:
                    raise StoreError(f"transaction {idem!r} conflicts but cannot be read back")
                return found
            txn_id = int(row[0])
            # Accounts in key order, so concurrent writers lock rows in the same order.
            for key in sorted(net):
                post(cur, world, key, net[key])
            cur.executemany(
                "INSERT INTO ledger_entries (world, txn_id, account, amount) VALUES (?, ?, ?, ?)",
                [(world, txn_id, key, amount) for key, amount in entries],
            )
            for item, qty, source, destination in move_rows:
                if source is not None:
                    _take(cur, world, source, item, qty)
                if destination is not None:
                    cur.execute(
                        "INSERT INTO holdings (world, holder, item, qty) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (world, holder, item) DO UPDATE "
                        "SET qty = holdings.qty + excluded.qty",
                        (world, destination, item, qty),
                    )
            cur.executemany(
                "INSERT INTO item_moves (world, txn_id, item, qty, source, destination) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(world, txn_id, *move) for move in move_rows],
            )
            if char_row is not None:
                cur.execute(SAVE_CHARACTER, char_row)
            if wreck_row is not None:
                cur.execute(_SAVE_WRECK, wreck_row)
            if delete_id is not None:
                cur.execute(
                    "DELETE FROM wrecks WHERE world = ? AND wreck_id = ?", (world, delete_id)
                )
            balances = {key: balance_of(cur, world, key) for key in accounts}
            holdings = {key: holdings_of(cur, world, key) for key in holders}
            stored = {"result": result_obj, "balances": balances, "holdings": holdings}
            cur.execute(
                "UPDATE ledger_txns SET result = ? WHERE id = ?",
                (check.to_json("stored result", stored), txn_id),
            )
            return Txn(
                id=txn_id,
                world=world,
                idem=idem,
                kind=kind,
                account=account,
                created_at=at,
                result=json.loads(json.dumps(result_obj)),  # a copy the caller cannot alias
                balances=balances,
                holdings=holdings,
                replay=False,
            )

        try:
            return self._db.write(apply)
        except ConstraintViolation as exc:
            if exc.kind == "foreign_key" and character is not None:
                raise NotFound(f"no account with id {character.account_id}") from exc
            raise

    def get_txn(self, world: str, idem: str) -> Txn | None:
        """The committed transaction with that idempotency key (replay=True), or None."""
        world = check.text("world", world)
        idem = check.text("idem", idem, MAX_KEY)
        return self._db.read(lambda c: _select_txn(c, world, idem))

    def latest_txn(self, world: str, account: str, kind: str) -> Txn | None:
        """The most recent transaction of `kind` recorded for `account`, or None."""
        world = check.text("world", world)
        account = check.ledger_key("account", account, MAX_KEY)
        kind = check.kind("kind", kind)
        return self._db.one(
            f"SELECT {TXN_COLUMNS} FROM ledger_txns WHERE world = ? AND account = ? "
            "AND kind = ? ORDER BY id DESC LIMIT 1",
            (world, account, kind),
            map=txn_record,
        )

    def txns(
        self, world: str, kinds: tuple[str, ...], after_id: int, since: float, limit: int = 1000
    ) -> list[Txn]:
        """Transactions of these kinds with id > after_id created at or after `since`, oldest
        first: what the economic detectors read of the books."""
        world = check.text("world", world)
        if not isinstance(kinds, tuple) or not 0 < len(kinds) <= 16:
            raise ValueError("kinds must be a tuple of 1-16 transaction kinds")
        names = [check.kind("kind", k) for k in kinds]
        after = check.int64("after_id", after_id, 0)
        since = check.finite("since", since)
        limit = check.count("limit", limit, 0, MAX_LIST)
        marks = ", ".join("?" for _ in names)
        return self._db.all(
            f"SELECT {TXN_COLUMNS} FROM ledger_txns WHERE world = ? AND id > ? "
            f"AND kind IN ({marks}) AND created_at >= ? ORDER BY id LIMIT ?",
            (world, after, *names, since, limit),
            map=txn_record,
        )

    def balance(self, world: str, account: str) -> int:
        """The ledger account's balance; 0 for an account never posted to."""
        world = check.text("world", world)
        account = check.ledger_key("account", account, MAX_KEY)
        return self._db.read(lambda c: balance_of(c, world, account))

    def balances(self, world: str) -> dict[str, int]:
        """Every ledger account of the world and its balance, by key."""
        world = check.text("world", world)
        rows = self._db.all(
            "SELECT account, balance FROM ledger_accounts WHERE world = ? ORDER BY account",
            (world,),
        )
        return {key: int(balance) for key, balance in rows}

    def totals(self, world: str) -> LedgerTotals:
        """Check the whole ledger of the world: balances sum to zero, each balance equals the
        sum of its entries, each transaction's entries sum to zero, no owned account negative.
        A full scan: for audits and tests, not for every request.
        """
        world = check.text("world", world)

        def scan(cur: Cursor) -> LedgerTotals:
            accounts = cur.execute(
                "SELECT account, owned, balance FROM ledger_accounts WHERE world = ?", (world,)
            ).all()
            sums: dict[str, int] = dict(
                cur.execute(
                    "SELECT account, SUM(amount) FROM ledger_entries WHERE world = ? "
                    "GROUP BY account",
                    (world,),
                ).all()
            )
            unbalanced = cur.execute(
                "SELECT txn_id FROM ledger_entries WHERE world = ? GROUP BY txn_id "
                "HAVING SUM(amount) <> 0 ORDER BY txn_id",
                (world,),
            ).all()
            txns = cur.execute("SELECT COUNT(*) FROM ledger_txns WHERE world = ?", (world,)).one()
            balances = {key: int(balance) for key, _, balance in accounts}
            mismatched = sorted(
                key
                for key in set(balances) | set(sums)
                if balances.get(key) != int(sums.get(key, 0))
            )
            return LedgerTotals(
                balance_sum=sum(balances.values()),
                accounts=len(balances),
                transactions=int(txns[0]) if txns else 0,
                mismatched=tuple(mismatched),
                unbalanced=tuple(int(r[0]) for r in unbalanced),
                negative=tuple(
                    sorted(key for key, owned, balance in accounts if owned and balance < 0)
                ),
            )

        return self._db.read(scan)

    def holdings(self, world: str, holder: str) -> dict[str, int]:
        """What the holder holds: {item: qty}, every qty > 0; empty if nothing."""
        world = check.text("world", world)
        holder = check.ledger_key("holder", holder, MAX_KEY)
        return self._db.read(lambda c: holdings_of(c, world, holder))

    def all_holdings(self, world: str) -> dict[str, dict[str, int]]:
        """Every holder's holdings in the world: {holder: {item: qty}}."""
        world = check.text("world", world)
        rows = self._db.all(
            "SELECT holder, item, qty FROM holdings WHERE world = ? ORDER BY holder, item",
            (world,),
        )
        found: dict[str, dict[str, int]] = {}
        for holder, item, qty in rows:
            found.setdefault(holder, {})[item] = int(qty)
        return found

    def item_totals(self, world: str) -> dict[str, ItemTotals]:
        """Per item ever moved in the world: held, created and destroyed totals, and the holders
        whose holding differs from the net of their moves (none in a healthy store). A full
        scan, like `totals`.
        """
        world = check.text("world", world)

        def scan(cur: Cursor) -> dict[str, ItemTotals]:
            held: dict[str, int] = {}
            holdings: dict[tuple[str, str], int] = {}
            for holder, item, qty in cur.execute(
                "SELECT holder, item, qty FROM holdings WHERE world = ?", (world,)
            ).all():
                held[item] = held.get(item, 0) + int(qty)
                holdings[(holder, item)] = int(qty)
            created: dict[str, int] = {}
            destroyed: dict[str, int] = {}
            net: dict[tuple[str, str], int] = {}
            for item, qty, source, destination in cur.execute(
                "SELECT item, SUM(qty), source, destination FROM item_moves WHERE world = ? "
                "GROUP BY item, source, destination",
                (world,),
            ).all():
                qty = int(qty)
                if source is None:
                    created[item] = created.get(item, 0) + qty
                else:
                    net[(source, item)] = net.get((source, item), 0) - qty
                if destination is None:
                    destroyed[item] = destroyed.get(item, 0) + qty
                else:
                    net[(destination, item)] = net.get((destination, item), 0) + qty
            mismatched: dict[str, list[str]] = {}
            for holder, item in sorted(set(net) | set(holdings)):
                if net.get((holder, item), 0) != holdings.get((holder, item), 0):
                    mismatched.setdefault(item, []).append(holder)
            items = sorted(set(held) | set(created) | set(destroyed) | set(mismatched))
            return {
                item: ItemTotals(
                    held=held.get(item, 0),
                    created=created.get(item, 0),
                    destroyed=destroyed.get(item, 0),
                    mismatched=tuple(mismatched.get(item, ())),
                )
                for item in items
            }

        return self._db.read(scan)

    # -- wrecks -----------------------------------------------------------------------------

    def save_wreck(self, wreck: Wreck) -> None:
        """Insert or replace the wreck (world, wreck_id); stamps created_at on insert."""
        self._db.execute(_SAVE_WRECK, _wreck_row(wreck, time.time()))

    def get_wreck(self, world: str, wreck_id: int) -> Wreck | None:
        """The saved wreck, or None."""
        world = check.text("world", world)
        wreck_id = check.int64("wreck_id", wreck_id, 1)
        return self._db.one(
            f"SELECT {_WRECK_COLUMNS} FROM wrecks WHERE world = ? AND wreck_id = ?",
            (world, wreck_id),
            map=_wreck,
        )

    def wrecks_in_system(self, world: str, x: int, y: int) -> list[Wreck]:
        """Every saved wreck in system (x, y) of `world`, by wreck id (expired ones included:
        expiring is the world's job)."""
        world = check.text("world", world)
        x, y = check.int64("x", x), check.int64("y", y)
        return self._db.all(
            f"SELECT {_WRECK_COLUMNS} FROM wrecks "
            "WHERE world = ? AND system_x = ? AND system_y = ? ORDER BY wreck_id",
            (world, x, y),
            map=_wreck,
        )

    def delete_wreck(self, world: str, wreck_id: int) -> bool:
        """Forget the wreck row (not its holdings: see `commit`). True if it existed."""
        world = check.text("world", world)
        wreck_id = check.int64("wreck_id", wreck_id, 1)
        deleted = self._db.execute(
            "DELETE FROM wrecks WHERE world = ? AND wreck_id = ?", (world, wreck_id)
        )
        return deleted == 1


def _unique(keys: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(keys))


def _postings(postings: Sequence[Posting]) -> tuple[dict[str, int], list[tuple[str, int]]]:
    """Validate the postings; return the net amount per account and the entries in order."""
    net: dict[str, int] = {}
    entries: list[tuple[str, int]] = []
    for i, p in enumerate(check.sequence("postings", postings)):
        if not isinstance(p, Posting):
            raise ValueError(f"postings[{i}] must be a Posting, not {type(p).__name__}")
        key = check.ledger_key(f"postings[{i}].account", p.account, MAX_KEY)
        amount = check.int64(f"postings[{i}].amount", p.amount)
        if amount == 0 or abs(amount) > MAX_AMOUNT:
            raise ValueError(
                f"postings[{i}].amount={amount} must be non-zero and within +-{MAX_AMOUNT}"
            )
        net[key] = net.get(key, 0) + amount
        entries.append((key, amount))
    total = sum(net.values())
    if total != 0:
        raise ValueError(f"postings sum to {total}; a transaction's postings must sum to 0")
    return net, entries


def _moves(moves: Sequence[ItemMove]) -> list[tuple[str, int, str | None, str | None]]:
    rows = []
    for i, m in enumerate(check.sequence("moves", moves)):
        if not isinstance(m, ItemMove):
            raise ValueError(f"moves[{i}] must be an ItemMove, not {type(m).__name__}")
        item = check.item_key(f"moves[{i}].item", m.item)
        qty = check.count(f"moves[{i}].qty", m.qty, 1, MAX_MOVE_QTY)
        source = (
            None if m.source is None else check.ledger_key(f"moves[{i}].source", m.source, MAX_KEY)
        )
        destination = (
            None
            if m.destination is None
            else check.ledger_key(f"moves[{i}].destination", m.destination, MAX_KEY)
        )
        if source is None and destination is None:
            raise ValueError(f"moves[{i}] needs a source or a destination (both are None)")
        if source == destination:
            raise ValueError(f"moves[{i}] moves from {source!r} to itself")
        rows.append((item, qty, source, destination))
    return rows


def post(cur: Cursor, world: str, account: str, amount: int) -> None:
    """Add `amount` to the account (created at 0 if new); an owned account may not go below 0."""
    owned = ":" in account
    cur.execute(
        "INSERT INTO ledger_accounts (world, account, owned, balance) VALUES (?, ?, ?, 0) "
        "ON CONFLICT (world, account) DO NOTHING",
        (world, account, owned),
    )
    if owned and amount < 0:
        # The guard is part of the UPDATE, so the check and the change are one atomic step.
        row = cur.execute(
            "UPDATE ledger_accounts SET balance = balance + ? "
            "WHERE world = ? AND account = ? AND balance >= ? RETURNING balance",
            (amount, world, account, -amount),
        ).one()
        if row is None:
            raise InsufficientFunds(account, balance_of(cur, world, account), amount)
    else:
        cur.execute(
            "UPDATE ledger_accounts SET balance = balance + ? WHERE world = ? AND account = ?",
            (amount, world, account),
        )


def _take(cur: Cursor, world: str, holder: str, item: str, qty: int) -> None:
    """Remove qty of item from the holder, deleting the holding at zero (qty > 0 is a CHECK)."""
    row = cur.execute(
        "UPDATE holdings SET qty = qty - ? WHERE world = ? AND holder = ? AND item = ? "
        "AND qty > ? RETURNING qty",
        (qty, world, holder, item, qty),
    ).one()
    if row is not None:
        return
    deleted = cur.execute(
        "DELETE FROM holdings WHERE world = ? AND holder = ? AND item = ? AND qty = ?",
        (world, holder, item, qty),
    ).rowcount
    if deleted != 1:
        have = holdings_of(cur, world, holder).get(item, 0)
        raise InsufficientItems(holder, item, have, qty)


def balance_of(cur: Cursor, world: str, account: str) -> int:
    """The account's balance read inside the caller's transaction (0 if never posted to)."""
    row = cur.execute(
        "SELECT balance FROM ledger_accounts WHERE world = ? AND account = ?", (world, account)
    ).one()
    return 0 if row is None else int(row[0])


def holdings_of(cur: Cursor, world: str, holder: str) -> dict[str, int]:
    """The holder's {item: qty} read inside the caller's transaction."""
    rows = cur.execute(
        "SELECT item, qty FROM holdings WHERE world = ? AND holder = ? ORDER BY item",
        (world, holder),
    ).all()
    return {item: int(qty) for item, qty in rows}


def _select_txn(cur: Cursor, world: str, idem: str) -> Txn | None:
    row = cur.execute(
        f"SELECT {TXN_COLUMNS} FROM ledger_txns WHERE world = ? AND idem = ?", (world, idem)
    ).one()
    return None if row is None else txn_record(row)


def txn_record(row: Row) -> Txn:
    """The stored transaction of a `TXN_COLUMNS` row, as a replay (`replay=True`)."""
    id_, world, idem, kind, account, created_at, result = row
    stored = json.loads(result)
    return Txn(
        id=int(id_),
        world=world,
        idem=idem,
        kind=kind,
        account=account,
        created_at=float(created_at),
        result=stored.get("result", {}),
        balances={key: int(v) for key, v in stored.get("balances", {}).items()},
        holdings={
            holder: {item: int(q) for item, q in items.items()}
            for holder, items in stored.get("holdings", {}).items()
        },
        replay=True,
    )


def _wreck_row(w: Wreck, now: float) -> Row:
    if not isinstance(w, Wreck):
        raise ValueError(f"expected a Wreck, not {type(w).__name__}")
    origin = None if w.origin_account is None else check.int64("origin_account", w.origin_account)
    return (
        check.text("world", w.world),
        check.int64("wreck_id", w.wreck_id, 1),
        check.int64("system_x", w.system_x),
        check.int64("system_y", w.system_y),
        check.finite("x", w.x),
        check.finite("y", w.y),
        check.finite("expires_at", w.expires_at),
        origin,
        now,
    )


def _wreck(row: Row) -> Wreck:
    world, wreck_id, sx, sy, x, y, expires_at, origin, created_at = row
    return Wreck(
        world=world,
        wreck_id=int(wreck_id),
        system_x=int(sx),
        system_y=int(sy),
        x=float(x),
        y=float(y),
        expires_at=float(expires_at),
        origin_account=None if origin is None else int(origin),
        created_at=float(created_at),
    )
