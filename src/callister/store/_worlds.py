"""SQL implementation of the worlds records (see api_worlds.py), shared by both backends."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from . import _check as check
from .api_worlds import (
    FORK_ACCOUNT,
    JOB_STATES,
    MAX_WORLD_NAME,
    MEMBER_STATUSES,
    TRANSFER_ACCOUNT,
    VISIBILITIES,
    AuditRecord,
    DeletionJob,
    MoveResult,
    WorldRecord,
)

if TYPE_CHECKING:
    from ._sql import Cursor

_WORLD_COLUMNS = "world, seed, owner, visibility, player_limit, rules, state, created_at"
_JOB_COLUMNS = (
    "id, world, state, requested_by, requested_at, approvals, approve_by, countdown_s, "
    "ends_at, override, progress, audit_id"
)
_AUDIT_COLUMNS = "id, at, actor, action, subject, detail"
_WORLD_NAME = re.compile(r"[a-z][a-z0-9_-]{1,31}")
_IDENT = re.compile(r"[a-z_][a-z0-9_]*")
# removed by finish_world_deletion, last, so the job survives until everything else is gone
_LAST_TABLES = ("worlds", "world_jobs")
# columns that say "this row is aboard that ship": rows of other tables that move with a ship
_SHIP_COLUMNS = ("ship_id", "ship")
# JSON-object columns whose top-level "world" names the world the row lives in: a move rewrites
# it with the row's `world` column, or the document would send the row back (a crew clone
# loaded from its doc is saved again under doc["world"]). Provenance inside them (a clone's
# lineage: where it was born, imported, forked) is history and stays as it was.
_WORLD_DOCUMENTS = {"clones": "doc"}
# audit actions that tell a deletion's story (read back by finish_world_deletion)
_STAYED = "evacuate_stayed"
_LEDGER = "ledger_closed"
_RUN = "delete_run"
_PLACEMENT = (
    "system_x",
    "system_y",
    "x",
    "y",
    "vx",
    "vy",
    "angle",
    "docked_at",
    "home_x",
    "home_y",
    "home_station",
)


def world_name(value: object) -> str:
    """A world name: 2-32 characters, a lowercase letter then lowercase letters, digits, _ -."""
    if not isinstance(value, str) or not _WORLD_NAME.fullmatch(value):
        raise ValueError(
            f"world name {value!r} must be 2-{MAX_WORLD_NAME} characters: a lowercase letter, "
            "then lowercase letters, digits, '_' or '-'"
        )
    return value


def _record_row(r: WorldRecord, now: float) -> tuple[Any, ...]:
    if not isinstance(r, WorldRecord):
        raise ValueError(f"record must be a WorldRecord, not {type(r).__name__}")
    name = world_name(r.name)
    seed = check.int64("seed", r.seed)
    owner = None if r.owner is None else check.int64("owner", r.owner, 1)
    if r.visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {VISIBILITIES}, not {r.visibility!r}")
    limit = check.count("player_limit", r.player_limit, 0, 1_000_000)
    rules = check.to_json("rules", r.rules, object_only=True)
    if r.state not in ("live", "deleting"):
        raise ValueError(f"state must be live or deleting, not {r.state!r}")
    return (name, seed, owner, r.visibility, limit, rules, r.state, now)


def _world(row: tuple[Any, ...]) -> WorldRecord:
    name, seed, owner, visibility, limit, rules, state, created_at = row
    return WorldRecord(
        name=name,
        seed=int(seed),
        owner=None if owner is None else int(owner),
        visibility=visibility,
        player_limit=int(limit),
        rules=json.loads(rules),
        state=state,
        created_at=float(created_at),
    )


def _job(row: tuple[Any, ...]) -> DeletionJob:
    (id_, world, state, by, at, approvals, approve_by, countdown, ends_at, override, progress,
     audit_id) = row  # fmt: skip
    return DeletionJob(
        id=int(id_),
        world=world,
        state=state,
        requested_by=int(by),
        requested_at=float(at),
        approvals=json.loads(approvals),
        approve_by=None if approve_by is None else float(approve_by),
        countdown_s=int(countdown),
        ends_at=None if ends_at is None else float(ends_at),
        override=bool(override),
        progress=json.loads(progress),
        audit_id=int(audit_id),
    )


def _audit(row: tuple[Any, ...]) -> AuditRecord:
    id_, at, actor, action, subject, detail = row
    return AuditRecord(
        id=int(id_),
        at=float(at),
        actor=None if actor is None else int(actor),
        action=action,
        subject=subject,
        detail=json.loads(detail),
    )


def _insert_audit(
    cur: Cursor, actor: int | None, action: str, subject: str, detail: Mapping[str, Any]
) -> int:
    row = cur.execute(
        "INSERT INTO world_audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?) "
        "RETURNING id",
        (time.time(), actor, action, subject, check.to_json("detail", dict(detail))),
    ).one()
    assert row is not None
    return int(row[0])


def _post(cur: Cursor, world: str, account: str, amount: int) -> None:
    """Add `amount` to a ledger account (creating it at 0); owned accounts never go below 0."""
    from .api import InsufficientFunds

    owned = ":" in account
    cur.execute(
        "INSERT INTO ledger_accounts (world, account, owned, balance) VALUES (?, ?, ?, 0) "
        "ON CONFLICT (world, account) DO NOTHING",
        (world, account, owned),
    )
    row = cur.execute(
        "UPDATE ledger_accounts SET balance = balance + ? WHERE world = ? AND account = ? "
        "RETURNING balance",
        (amount, world, account),
    ).one()
    assert row is not None
    if owned and int(row[0]) < 0:
        raise InsufficientFunds(account, int(row[0]) - amount, amount)


def _new_txn(
    cur: Cursor, world: str, idem: str, kind: str, account: str | None, result: dict[str, Any]
) -> int:
    stored = {"result": result, "balances": {}, "holdings": {}}
    row = cur.execute(
        "INSERT INTO ledger_txns (world, idem, kind, account, created_at, result) "
        "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (world, idem, kind, account, time.time(), check.to_json("result", stored)),
    ).one()
    assert row is not None
    return int(row[0])


def _entries(cur: Cursor, world: str, txn: int, postings: list[tuple[str, int]]) -> None:
    for account, amount in sorted(postings):
        if amount:
            _post(cur, world, account, amount)
            cur.execute(
                "INSERT INTO ledger_entries (world, txn_id, account, amount) VALUES (?, ?, ?, ?)",
                (world, txn, account, amount),
            )


def _open_marker(cur: Cursor, world: str, account_id: int, detail: dict[str, Any]) -> None:
    """The `open:<account>` transaction that marks the starting grant as given (no postings):
    a character that arrives by a move or a fork is not granted credits a second time."""
    stored = {"result": {"granted": 0, **detail}, "balances": {}, "holdings": {}}
    cur.execute(
        "INSERT INTO ledger_txns (world, idem, kind, account, created_at, result) "
        "VALUES (?, ?, 'open', ?, ?, ?) ON CONFLICT (world, idem) DO NOTHING",
        (world, f"open:{account_id}", f"player:{account_id}", time.time(), json.dumps(stored)),
    )


def _zone_key_column(column: str) -> bool:
    """A column holding zone keys ("<world>.<x>.<y>"): the row places something in one world."""
    return column == "zone" or column.endswith("_zone")


def _rewrite_world_documents(cur: Cursor, table: str, ids: list[int], destination: str) -> None:
    """Point the documents of moved rows (`_WORLD_DOCUMENTS`) at the world they moved to."""
    column = _WORLD_DOCUMENTS[table]
    for row_id in ids:
        found = cur.execute(f'SELECT "{column}" FROM "{table}" WHERE id = ?', (row_id,)).one()
        if found is None:
            continue
        doc = json.loads(found[0])
        if isinstance(doc, dict) and "world" in doc and doc["world"] != destination:
            doc["world"] = destination
            cur.execute(
                f'UPDATE "{table}" SET "{column}" = ? WHERE id = ?',
                (check.to_json(column, doc), row_id),
            )


def _audits_since(cur: Cursor, job: DeletionJob, action: str, subject: str) -> list[dict[str, Any]]:
    """The details of the audit records of `action` about `subject` written since the job was
    requested, oldest first (the world_audit_subject index finds them)."""
    rows = cur.execute(
        "SELECT detail FROM world_audit WHERE subject = ? AND id > ? AND action = ? ORDER BY id",
        (subject, job.audit_id, action),
    ).all()
    return [json.loads(r[0]) for r in rows]


class SqlWorldRecords:
    """Mixed into `SqlStore`; uses its `_run`/transaction helpers."""

    backend: ClassVar[str]
    _run: Callable[..., Any]

    # ------------------------------------------------------------------- schema discovery
    def _tables(self, cur: Cursor) -> list[str]:
        if self.backend == "sqlite":
            rows = cur.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND substr(name, 1, 7) <> 'sqlite_'"  # SQLite's own (no LIKE: '_' is a wildcard)
            ).all()
        else:
            rows = cur.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            ).all()
        return sorted(str(r[0]) for r in rows)

    def _columns(self, cur: Cursor, table: str) -> list[str]:
        if not _IDENT.fullmatch(table):
            raise ValueError(f"not a table name: {table!r}")
        if self.backend == "sqlite":
            return [str(r[1]) for r in cur.execute(f'PRAGMA table_info("{table}")').all()]
        rows = cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = ? ORDER BY ordinal_position",
            (table,),
        ).all()
        return [str(r[0]) for r in rows]

    def _world_tables(self, cur: Cursor) -> list[str]:
        return [t for t in self._tables(cur) if "world" in self._columns(cur, t)]

    def world_tables(self) -> list[str]:
        return self._run(self._world_tables, write=False)

    # ----------------------------------------------------------------------- registry
    def create_world(self, record: WorldRecord, actor: int | None) -> WorldRecord:
        row = _record_row(record, time.time())

        def apply(cur: Cursor) -> WorldRecord:
            from .api import NameTaken

            found = cur.execute("SELECT 1 FROM worlds WHERE world = ?", (row[0],)).one()
            if found is not None:
                raise NameTaken(f"a world named {row[0]!r} exists")
            cur.execute(f"INSERT INTO worlds ({_WORLD_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", row)
            _insert_audit(
                cur,
                actor,
                "create",
                row[0],
                {"seed": row[1], "owner": row[2], "visibility": row[3], "rules": record.rules},
            )
            return _world(row)

        return self._run(apply, write=True)

    def ensure_world(self, record: WorldRecord) -> WorldRecord:
        row = _record_row(record, time.time())

        def apply(cur: Cursor) -> WorldRecord:
            cur.execute(
                f"INSERT INTO worlds ({_WORLD_COLUMNS}) VALUES (?,?,?,?,?,?,?,?) "
                "ON CONFLICT (world) DO NOTHING",
                row,
            )
            found = cur.execute(
                f"SELECT {_WORLD_COLUMNS} FROM worlds WHERE world = ?", (row[0],)
            ).one()
            assert found is not None
            return _world(found)

        return self._run(apply, write=True)

    def get_world(self, name: str) -> WorldRecord | None:
        name = check.text("name", name, 64)
        row = self._run(
            lambda c: c.execute(
                f"SELECT {_WORLD_COLUMNS} FROM worlds WHERE world = ?", (name,)
            ).one(),
            write=False,
        )
        return None if row is None else _world(row)

    def list_worlds(self) -> list[WorldRecord]:
        rows = self._run(
            lambda c: c.execute(f"SELECT {_WORLD_COLUMNS} FROM worlds ORDER BY world").all(),
            write=False,
        )
        return [_world(r) for r in rows]

    def world_stats(self, name: str) -> dict[str, int]:
        name = check.text("name", name, 64)

        def scan(cur: Cursor) -> dict[str, int]:
            rows = 0
            for table in self._world_tables(cur):
                found = cur.execute(f'SELECT count(*) FROM "{table}" WHERE world = ?', (name,))
                rows += int(found.one()[0])  # type: ignore[index]
            chars = cur.execute("SELECT count(*) FROM characters WHERE world = ?", (name,)).one()
            systems = cur.execute(
                "SELECT count(*) FROM (SELECT DISTINCT system_x, system_y FROM discoveries "
                "WHERE world = ?) AS s",
                (name,),
            ).one()
            return {
                "characters": int(chars[0]) if chars else 0,
                "systems": int(systems[0]) if systems else 0,
                "rows": rows,
            }

        return self._run(scan, write=False)

    # -------------------------------------------------------------------- membership
    def set_member(self, world: str, account_id: int, status: str, by: int | None) -> None:
        world = world_name(world)
        account_id = check.int64("account_id", account_id, 1)
        if status not in MEMBER_STATUSES:
            raise ValueError(f"status must be one of {MEMBER_STATUSES}, not {status!r}")

        def apply(cur: Cursor) -> None:
            from .api import NotFound

            if cur.execute("SELECT 1 FROM worlds WHERE world = ?", (world,)).one() is None:
                raise NotFound(f"no world named {world!r}")
            if cur.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).one() is None:
                raise NotFound(f"no account with id {account_id}")
            cur.execute(
                "INSERT INTO world_members (world, account_id, status, invited_by, at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (world, account_id) DO UPDATE SET "
                "status = excluded.status",
                (world, account_id, status, by, time.time()),
            )
            _insert_audit(cur, by, status, world, {"account": account_id})

        self._run(apply, write=True)

    def remove_member(self, world: str, account_id: int) -> bool:
        world = world_name(world)
        account_id = check.int64("account_id", account_id, 1)
        return bool(
            self._run(
                lambda c: (
                    c.execute(
                        "DELETE FROM world_members WHERE world = ? AND account_id = ?",
                        (world, account_id),
                    ).rowcount
                ),
                write=True,
            )
        )

    def list_members(self, world: str | None = None) -> list[tuple[str, int, str]]:
        if world is None:
            rows = self._run(
                lambda c: c.execute(
                    "SELECT world, account_id, status FROM world_members ORDER BY world, account_id"
                ).all(),
                write=False,
            )
        else:
            name = check.text("world", world, 64)
            rows = self._run(
                lambda c: c.execute(
                    "SELECT world, account_id, status FROM world_members WHERE world = ? "
                    "ORDER BY account_id",
                    (name,),
                ).all(),
                write=False,
            )
        return [(w, int(a), s) for w, a, s in rows]

    def set_home(self, account_id: int, world: str) -> None:
        account_id = check.int64("account_id", account_id, 1)
        world = world_name(world)
        self._run(
            lambda c: c.execute(
                "INSERT INTO world_homes (account_id, world) VALUES (?, ?) "
                "ON CONFLICT (account_id) DO UPDATE SET world = excluded.world",
                (account_id, world),
            ),
            write=True,
        )

    def get_home(self, account_id: int) -> str | None:
        account_id = check.int64("account_id", account_id, 1)
        row = self._run(
            lambda c: c.execute(
                "SELECT world FROM world_homes WHERE account_id = ?", (account_id,)
            ).one(),
            write=False,
        )
        return None if row is None else str(row[0])

    def world_characters(self, world: str) -> list[int]:
        world = check.text("world", world, 64)
        rows = self._run(
            lambda c: c.execute(
                "SELECT account_id FROM characters WHERE world = ? ORDER BY account_id", (world,)
            ).all(),
            write=False,
        )
        return [int(r[0]) for r in rows]

    def characters_of(self, account_id: int) -> list[str]:
        account_id = check.int64("account_id", account_id, 1)
        rows = self._run(
            lambda c: c.execute(
                "SELECT world FROM characters WHERE account_id = ? ORDER BY world", (account_id,)
            ).all(),
            write=False,
        )
        return [str(r[0]) for r in rows]

    # ------------------------------------------------------------------------- audit
    def add_world_audit(
        self, actor: int | None, action: str, subject: str, detail: Mapping[str, Any]
    ) -> int:
        action = check.kind("action", action)
        subject = check.text("subject", subject, 64)
        check.to_json("detail", dict(detail), object_only=True)
        return self._run(lambda c: _insert_audit(c, actor, action, subject, detail), write=True)

    def list_world_audit(self, subject: str | None = None, limit: int = 100) -> list[AuditRecord]:
        limit = check.count("limit", limit, 1, 10_000)
        if subject is None:
            rows = self._run(
                lambda c: c.execute(
                    f"SELECT {_AUDIT_COLUMNS} FROM world_audit ORDER BY id DESC LIMIT ?", (limit,)
                ).all(),
                write=False,
            )
        else:
            subject = check.text("subject", subject, 64)
            rows = self._run(
                lambda c: c.execute(
                    f"SELECT {_AUDIT_COLUMNS} FROM world_audit WHERE subject = ? "
                    "ORDER BY id DESC LIMIT ?",
                    (subject, limit),
                ).all(),
                write=False,
            )
        return [_audit(r) for r in rows]

    # ------------------------------------------------------------------- moving
    def move_character(
        self,
        account_id: int,
        source: str,
        destination: str,
        *,
        placement: Mapping[str, Any] | None = None,
        actor: int | None = None,
        reason: str = "move",
    ) -> MoveResult:
        account_id = check.int64("account_id", account_id, 1)
        source = world_name(source)
        destination = world_name(destination)
        if source == destination:
            raise ValueError("source and destination are the same world")
        reason = check.kind("reason", reason)
        place: dict[str, Any] = {}
        for key, value in (placement or {}).items():
            if key not in _PLACEMENT:
                raise ValueError(f"placement has unknown field {key!r}")
            if key in ("x", "y", "vx", "vy", "angle"):
                place[key] = check.finite(key, value)
            elif key == "docked_at" and value is None:
                place[key] = None
            else:
                place[key] = check.int64(key, value)
        player = f"player:{account_id}"

        def apply(cur: Cursor) -> MoveResult:
            from .api import NoSuchCharacter, NotFound

            row = cur.execute(
                "SELECT ship_id FROM characters WHERE account_id = ? AND world = ?",
                (account_id, source),
            ).one()
            if row is None:
                raise NoSuchCharacter(
                    f"account {account_id} has no character in world {source!r} to move"
                )
            if cur.execute("SELECT 1 FROM worlds WHERE world = ? AND state = 'live'",
                           (destination,)).one() is None:  # fmt: skip
                raise NotFound(f"no live world named {destination!r}")
            taken = cur.execute(
                "SELECT 1 FROM characters WHERE account_id = ? AND world = ?",
                (account_id, destination),
            ).one()
            if taken is not None:
                raise ValueError(
                    f"account {account_id} already has a character in world {destination!r}"
                )
            ship = int(row[0])
            holder = f"ship:{ship}"
            bal = cur.execute(
                "SELECT balance FROM ledger_accounts WHERE world = ? AND account = ?",
                (source, player),
            ).one()
            credits = 0 if bal is None else int(bal[0])
            cargo = {
                str(item): int(qty)
                for item, qty in cur.execute(
                    "SELECT item, qty FROM holdings WHERE world = ? AND holder = ? ORDER BY item",
                    (source, holder),
                ).all()
            }
            # the tables other features add: rows aboard the ship move with it; rows placing
            # the ship in the source's zones (a zone key holds the world's name) are dropped:
            # re-keyed they would point into the old world, and `placement` places it anew
            aboard: dict[str, int] = {}
            dropped: dict[str, int] = {}
            for table in self._world_tables(cur):
                if table in ("characters", "worlds", "world_jobs"):
                    continue
                cols = self._columns(cur, table)
                col = next((c for c in _SHIP_COLUMNS if c in cols), None)
                if col is None:
                    continue
                n = int(
                    cur.execute(
                        f'SELECT count(*) FROM "{table}" WHERE world = ? AND "{col}" = ?',
                        (source, ship),
                    ).one()[0]  # type: ignore[index]
                )
                if any(_zone_key_column(c) for c in cols):
                    if n:
                        dropped[table] = n
                else:
                    aboard[table] = n
            detail = {
                "from": source,
                "to": destination,
                "account": account_id,
                "ship": ship,
                "credits": credits,
                "cargo": cargo,
                "aboard": aboard,
                "reason": reason,
            }
            if dropped:
                detail["dropped"] = dropped
            audit_id = _insert_audit(cur, actor, "move", str(account_id), detail)
            idem = f"move:{audit_id}"
            out = _new_txn(cur, source, idem, "world_out", player, {"credits": credits})
            _entries(cur, source, out, [(player, -credits), (TRANSFER_ACCOUNT, credits)])
            into = _new_txn(cur, destination, idem, "world_in", player, {"credits": credits})
            _entries(cur, destination, into, [(TRANSFER_ACCOUNT, -credits), (player, credits)])
            for item, qty in cargo.items():
                cur.execute(
                    "INSERT INTO item_moves (world, txn_id, item, qty, source, destination) "
                    "VALUES (?, ?, ?, ?, ?, NULL)",
                    (source, out, item, qty, holder),
                )
                cur.execute(
                    "INSERT INTO item_moves (world, txn_id, item, qty, source, destination) "
                    "VALUES (?, ?, ?, ?, NULL, ?)",
                    (destination, into, item, qty, holder),
                )
            cur.execute(
                "UPDATE holdings SET world = ? WHERE world = ? AND holder = ?",
                (destination, source, holder),
            )
            _open_marker(cur, destination, account_id, {"moved": True})
            sets = ", ".join(f"{k} = ?" for k in place)
            cur.execute(
                f"UPDATE characters SET world = ?, updated_at = ?{', ' + sets if sets else ''} "
                "WHERE account_id = ? AND world = ?",
                (destination, time.time(), *place.values(), account_id, source),
            )
            children: dict[str, list[int]] = {}  # "clone_id" -> ids of the clones aboard
            for table in list(aboard):
                cols = self._columns(cur, table)
                col = next(c for c in _SHIP_COLUMNS if c in cols)
                ids: list[int] = []
                if "id" in cols:
                    ids = [int(r[0]) for r in cur.execute(
                        f'SELECT id FROM "{table}" WHERE world = ? AND "{col}" = ?',
                        (source, ship),
                    ).all()]  # fmt: skip
                    children[f"{table.removesuffix('s')}_id"] = ids
                cur.execute(
                    f'UPDATE "{table}" SET world = ? WHERE world = ? AND "{col}" = ?',
                    (destination, source, ship),
                )
                if table in _WORLD_DOCUMENTS:
                    _rewrite_world_documents(cur, table, ids, destination)
            for table in dropped:
                cols = self._columns(cur, table)
                col = next(c for c in _SHIP_COLUMNS if c in cols)
                cur.execute(
                    f'DELETE FROM "{table}" WHERE world = ? AND "{col}" = ?', (source, ship)
                )
            # rows that belong to what moved (a clone's memories, relationships) go along
            for table in self._world_tables(cur):
                cols = self._columns(cur, table)
                for key, child_ids in children.items():
                    if key in cols and child_ids:
                        marks = ", ".join("?" for _ in child_ids)
                        moved = cur.execute(
                            f'UPDATE "{table}" SET world = ? WHERE world = ? '
                            f'AND "{key}" IN ({marks})',
                            (destination, source, *child_ids),
                        ).rowcount
                        aboard[table] = aboard.get(table, 0) + int(moved)
            return MoveResult(
                audit_id=audit_id,
                account_id=account_id,
                source=source,
                destination=destination,
                ship_id=ship,
                credits=credits,
                cargo=cargo,
                moved_rows=aboard,
            )

        return self._run(apply, write=True)

    # ------------------------------------------------------------------- kill switch
    def create_deletion_job(
        self,
        world: str,
        requested_by: int,
        *,
        countdown_s: int,
        approve_by: float | None,
        override: bool,
        at: float,
        detail: Mapping[str, Any] | None = None,
    ) -> DeletionJob:
        world = world_name(world)
        extra = dict(detail or {})
        check.to_json("detail", extra, object_only=True)
        requested_by = check.int64("requested_by", requested_by, 1)
        countdown_s = check.count("countdown_s", countdown_s, 0, 86_400)
        at = check.finite("at", at)
        deadline = None if approve_by is None else check.finite("approve_by", approve_by)
        state = "approval" if deadline is not None else "countdown"
        ends_at = None if deadline is not None else at + countdown_s

        def apply(cur: Cursor) -> DeletionJob:
            from .api import NotFound

            if cur.execute("SELECT 1 FROM worlds WHERE world = ?", (world,)).one() is None:
                raise NotFound(f"no world named {world!r}")
            if cur.execute("SELECT 1 FROM world_jobs WHERE world = ?", (world,)).one():
                raise ValueError(f"world {world!r} already has a deletion job")
            audit_id = _insert_audit(
                cur,
                requested_by,
                "delete_requested",
                world,
                {**extra, "countdown_s": countdown_s, "approve_by": deadline,
                 "override": override},
            )  # fmt: skip
            row = cur.execute(
                f"INSERT INTO world_jobs ({_JOB_COLUMNS.removeprefix('id, ')}) "
                f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_JOB_COLUMNS}",
                (world, state, requested_by, at, "[]", deadline, countdown_s, ends_at,
                 bool(override), "{}", audit_id),
            ).one()  # fmt: skip
            assert row is not None
            return _job(row)

        return self._run(apply, write=True)

    def _get_job(self, cur: Cursor, world: str) -> DeletionJob | None:
        row = cur.execute(f"SELECT {_JOB_COLUMNS} FROM world_jobs WHERE world = ?", (world,)).one()
        return None if row is None else _job(row)

    def get_deletion_job(self, world: str) -> DeletionJob | None:
        world = check.text("world", world, 64)
        return self._run(lambda c: self._get_job(c, world), write=False)

    def list_deletion_jobs(self) -> list[DeletionJob]:
        rows = self._run(
            lambda c: c.execute(f"SELECT {_JOB_COLUMNS} FROM world_jobs ORDER BY id").all(),
            write=False,
        )
        return [_job(r) for r in rows]

    def approve_deletion(self, world: str, by: int, at: float) -> DeletionJob:
        world = world_name(world)
        by = check.int64("by", by, 1)
        at = check.finite("at", at)

        def apply(cur: Cursor) -> DeletionJob:
            from .api import NotFound

            job = self._get_job(cur, world)
            if job is None:
                raise NotFound(f"no deletion of {world!r} is waiting")
            if job.state != "approval":
                raise ValueError(f"the deletion of {world!r} is not waiting for approval")
            if by == job.requested_by:
                raise ValueError("a second administrator must approve, not the requester")
            if job.approve_by is not None and at > job.approve_by:
                raise ValueError("the approval window has closed; request the deletion again")
            approvals = [*job.approvals, {"by": by, "at": at}]
            cur.execute(
                "UPDATE world_jobs SET state = 'countdown', approvals = ?, ends_at = ? "
                "WHERE world = ?",
                (json.dumps(approvals), at + job.countdown_s, world),
            )
            _insert_audit(cur, by, "delete_approved", world, {"job": job.id})
            found = self._get_job(cur, world)
            assert found is not None
            return found

        return self._run(apply, write=True)

    def start_countdown(self, world: str, at: float) -> DeletionJob:
        world = world_name(world)
        at = check.finite("at", at)

        def apply(cur: Cursor) -> DeletionJob:
            cur.execute(
                "UPDATE world_jobs SET ends_at = ? + countdown_s WHERE world = ? AND "
                "state = 'countdown' AND ends_at IS NULL",
                (at, world),
            )
            found = self._get_job(cur, world)
            if found is None:
                raise ValueError(f"no deletion job for {world!r}")
            return found

        return self._run(apply, write=True)

    def cancel_deletion(self, world: str, by: int | None, why: str) -> bool:
        world = check.text("world", world, 64)
        why = check.text("why", why, 200)

        def apply(cur: Cursor) -> bool:
            job = self._get_job(cur, world)
            if job is None or job.state == "deleting":
                return False
            cur.execute("DELETE FROM world_jobs WHERE world = ?", (world,))
            _insert_audit(cur, by, "delete_cancelled", world, {"job": job.id, "why": why})
            return True

        return self._run(apply, write=True)

    def begin_deleting(self, world: str) -> DeletionJob:
        world = world_name(world)

        def apply(cur: Cursor) -> DeletionJob:
            cur.execute("UPDATE world_jobs SET state = 'deleting' WHERE world = ?", (world,))
            cur.execute("UPDATE worlds SET state = 'deleting' WHERE world = ?", (world,))
            found = self._get_job(cur, world)
            if found is None:
                raise ValueError(f"no deletion job for {world!r}")
            runs = len(_audits_since(cur, found, _RUN, world))
            _insert_audit(cur, None, _RUN, world, {"job": found.id, "run": runs + 1})
            return found

        return self._run(apply, write=True)

    def _story(self, cur: Cursor, world: str, job: DeletionJob) -> dict[str, Any]:
        """What the deletion has done so far, over every run: read back from the audit records
        written since it was requested (each in the transaction that did the step)."""
        rows = cur.execute(
            "SELECT id, action, subject, detail FROM world_audit WHERE id > ? AND action IN "
            "(?, ?, ?, ?) ORDER BY id",
            (job.audit_id, "move", _STAYED, _LEDGER, _RUN),
        ).all()
        moves: list[dict[str, Any]] = []
        stayed: dict[int, str] = {}
        ledger: dict[str, Any] | None = None
        runs = 0
        for audit_id, action, subject, raw in rows:
            detail = json.loads(raw)
            if action == "move":
                if detail.get("from") == world and detail.get("reason") == "evacuate":
                    moves.append({
                        "account": detail["account"], "to": detail["to"],
                        "ship": detail["ship"], "credits": detail["credits"],
                        "audit": int(audit_id),
                    })  # fmt: skip
            elif detail.get("world") != world and subject != world:
                continue
            elif action == _STAYED:
                stayed.setdefault(int(subject), str(detail.get("why", "")))
            elif action == _LEDGER:
                ledger = ledger if ledger is not None else detail["ledger"]
            elif action == _RUN:
                runs += 1
        return {
            "runs": runs,
            "moved": [m["account"] for m in moves],
            "moves": moves,
            "stayed": sorted(stayed),
            "stayed_why": {str(k): v for k, v in sorted(stayed.items())},
            "ledger": ledger,
        }

    def deletion_story(self, world: str) -> dict[str, Any]:
        world = check.text("world", world, 64)

        def read(cur: Cursor) -> dict[str, Any]:
            job = self._get_job(cur, world)
            if job is None:
                raise ValueError(f"no deletion job for {world!r}")
            return self._story(cur, world, job)

        return self._run(read, write=False)

    def record_stayed(self, world: str, account_id: int, why: str) -> bool:
        world = world_name(world)
        account_id = check.int64("account_id", account_id, 1)
        why = check.text("why", why, 200)

        def apply(cur: Cursor) -> bool:
            job = self._get_job(cur, world)
            if job is None or job.state != "deleting":
                raise ValueError(f"{world!r} is not being deleted")
            done = _audits_since(cur, job, _STAYED, str(account_id))
            if any(d.get("world") == world for d in done):
                return False
            _insert_audit(cur, None, _STAYED, str(account_id), {"world": world, "why": why})
            return True

        return bool(self._run(apply, write=True))

    def close_deletion_ledger(self, world: str, ledger: Mapping[str, Any]) -> dict[str, Any]:
        world = world_name(world)
        check.to_json("ledger", dict(ledger), object_only=True)

        def apply(cur: Cursor) -> dict[str, Any]:
            job = self._get_job(cur, world)
            if job is None or job.state != "deleting":
                raise ValueError(f"{world!r} is not being deleted")
            kept = _audits_since(cur, job, _LEDGER, world)
            if kept:
                return dict(kept[0]["ledger"])
            _insert_audit(cur, None, _LEDGER, world, {"world": world, "ledger": dict(ledger)})
            return dict(ledger)

        return self._run(apply, write=True)

    def delete_world_batch(self, world: str, table: str, limit: int) -> int:
        world = world_name(world)
        limit = check.count("limit", limit, 1, 1_000_000)
        if table in _LAST_TABLES:
            raise ValueError(f"{table} is cleared by finish_world_deletion")

        def apply(cur: Cursor) -> int:
            if table not in self._world_tables(cur):
                raise ValueError(f"{table!r} is not a table with a world column")
            key = "rowid" if self.backend == "sqlite" else "ctid"
            n = cur.execute(
                f'DELETE FROM "{table}" WHERE {key} IN '
                f'(SELECT {key} FROM "{table}" WHERE world = ? LIMIT ?)',
                (world, limit),
            ).rowcount
            if n:
                job = self._get_job(cur, world)
                if job is not None:
                    progress = dict(job.progress)
                    progress[table] = progress.get(table, 0) + n
                    cur.execute(
                        "UPDATE world_jobs SET progress = ? WHERE world = ?",
                        (json.dumps(progress), world),
                    )
            return int(n)

        return self._run(apply, write=True)

    def finish_world_deletion(self, world: str, detail: Mapping[str, Any]) -> int:
        world = world_name(world)
        check.to_json("detail", dict(detail), object_only=True)

        def apply(cur: Cursor) -> int:
            job = self._get_job(cur, world)
            # the batches cleared meta too, but the public world (deleted with the override)
            # keeps ticking and checkpoints its clock until it starts again: sweep it here
            cur.execute("DELETE FROM meta WHERE world = ?", (world,))
            for table in self._world_tables(cur):
                if table in _LAST_TABLES:
                    continue
                left = cur.execute(f'SELECT 1 FROM "{table}" WHERE world = ? LIMIT 1', (world,))
                if left.one() is not None:
                    raise ValueError(f"table {table} still holds rows of {world!r}")
            cur.execute("DELETE FROM worlds WHERE world = ?", (world,))
            cur.execute("DELETE FROM world_jobs WHERE world = ?", (world,))
            full = dict(detail)
            if job is not None:
                story = self._story(cur, world, job)
                full.update(
                    job=job.id,
                    requested_by=job.requested_by,
                    requested_at=job.requested_at,
                    approvals=job.approvals,
                    override=job.override,
                    rows_deleted=job.progress,
                    runs=story["runs"],
                    moved=story["moved"],
                    moves=story["moves"],
                    stayed=story["stayed"],
                    stayed_why=story["stayed_why"],
                )
                if story["ledger"] is not None:
                    full["ledger"] = story["ledger"]
            return _insert_audit(cur, None, "deleted", world, full)

        return self._run(apply, write=True)

    def scrub(self) -> None:
        with self._lock:  # type: ignore[attr-defined]
            if self.backend == "sqlite":
                conn = self._conn  # type: ignore[attr-defined]
                conn.execute("VACUUM")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                return

        def vacuum(cur: Cursor) -> list[str]:
            return self._world_tables(cur)

        tables = self._run(vacuum, write=False)
        conn = self._conn  # type: ignore[attr-defined]
        with self._lock:  # type: ignore[attr-defined]
            for table in tables:
                conn.execute(f'VACUUM "{table}"')

    def world_checksum(self, world: str) -> str:
        world = check.text("world", world, 64)

        def scan(cur: Cursor) -> str:
            digest = hashlib.sha256()
            for table in self._world_tables(cur):
                rows = cur.execute(f'SELECT * FROM "{table}" WHERE world = ?', (world,)).all()
                digest.update(table.encode())
                for text in sorted(repr(tuple(_plain(v) for v in r)) for r in rows):
                    digest.update(text.encode())
            return digest.hexdigest()

        return self._run(scan, write=False)

    # ----------------------------------------------------------------------- forking
    def fork_world(
        self,
        source: str,
        record: WorldRecord,
        *,
        actor: int | None,
        spatial: bool,
        placement: Callable[[int], Mapping[str, Any]] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        source = world_name(source)
        row = _record_row(record, time.time())
        dst = row[0]
        if not spatial and placement is None:
            raise ValueError("a fork with a new seed needs placement (characters' new homes)")

        def apply(cur: Cursor) -> dict[str, Any]:
            from .api import NameTaken, NotFound

            if cur.execute("SELECT 1 FROM worlds WHERE world = ?", (source,)).one() is None:
                raise NotFound(f"no world named {source!r}")
            if cur.execute("SELECT 1 FROM worlds WHERE world = ?", (dst,)).one() is not None:
                raise NameTaken(f"a world named {dst!r} exists")
            cur.execute(f"INSERT INTO worlds ({_WORLD_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", row)
            copied = ["characters", "holdings", "ledger_accounts"]
            if spatial:
                copied += ["deltas", "discoveries", "wrecks"]
            total = 0
            for table in copied:
                n = cur.execute(f'SELECT count(*) FROM "{table}" WHERE world = ?', (source,)).one()
                total += int(n[0]) if n else 0
            done = 0
            counts: dict[str, int] = {}

            def tick(n: int) -> None:
                nonlocal done
                done += n
                if progress is not None:
                    progress(done, total)

            # characters (and their ships: the same ids, another world)
            chars = cur.execute(
                "SELECT account_id, ship_id FROM characters WHERE world = ?", (source,)
            ).all()
            ships = {f"ship:{int(s)}" for _, s in chars}
            cols = self._columns(cur, "characters")
            select = ", ".join("?" if c == "world" else c for c in cols)
            cur.execute(
                f"INSERT INTO characters ({', '.join(cols)}) "
                f"SELECT {select} FROM characters WHERE world = ?",
                (dst, source),
            )
            if not spatial:
                assert placement is not None
                for account_id, _ in chars:
                    place = dict(placement(int(account_id)))
                    sets = ", ".join(f"{k} = ?" for k in place if k in _PLACEMENT)
                    values = [v for k, v in place.items() if k in _PLACEMENT]
                    if sets:
                        cur.execute(
                            f"UPDATE characters SET {sets} WHERE world = ? AND account_id = ?",
                            (*values, dst, int(account_id)),
                        )
            for account_id, _ in chars:
                _open_marker(cur, dst, int(account_id), {"forked_from": source})
            counts["characters"] = len(chars)
            tick(len(chars))
            # universe deltas, discoveries, wrecks: plain copies with the world replaced
            if spatial:
                for table in ("deltas", "discoveries", "wrecks"):
                    cols = self._columns(cur, table)
                    select = ", ".join("?" if c == "world" else c for c in cols)
                    copied_rows = cur.execute(
                        f'INSERT INTO "{table}" ({", ".join(cols)}) '
                        f'SELECT {select} FROM "{table}" WHERE world = ?',
                        (dst, source),
                    ).rowcount
                    counts[table] = int(copied_rows)
                    tick(int(copied_rows))
            # the books: one opening transaction at the source's balances and holdings
            txn = _new_txn(cur, dst, f"fork:{source}", "fork", None, {"from": source})
            postings: list[tuple[str, int]] = []
            for account, balance in cur.execute(
                "SELECT account, balance FROM ledger_accounts WHERE world = ? ORDER BY account",
                (source,),
            ).all():
                if spatial or str(account).startswith("player:"):
                    postings.append((str(account), int(balance)))
            counts["ledger_accounts"] = len(postings)
            rest = -sum(amount for _, amount in postings)
            if rest:
                postings.append((FORK_ACCOUNT, rest))
            _entries(cur, dst, txn, postings)
            tick(len(postings))
            holdings = cur.execute(
                "SELECT holder, item, qty FROM holdings WHERE world = ? ORDER BY holder, item",
                (source,),
            ).all()
            n_hold = 0
            for holder, item, qty in holdings:
                if not spatial and holder not in ships:
                    continue
                cur.execute(
                    "INSERT INTO holdings (world, holder, item, qty) VALUES (?, ?, ?, ?)",
                    (dst, holder, item, int(qty)),
                )
                cur.execute(
                    "INSERT INTO item_moves (world, txn_id, item, qty, source, destination) "
                    "VALUES (?, ?, ?, ?, NULL, ?)",
                    (dst, txn, item, int(qty), holder),
                )
                n_hold += 1
                if n_hold % 500 == 0:
                    tick(500)
            tick(n_hold % 500)
            counts["holdings"] = n_hold
            if spatial:  # the world's metadata (its clock) belongs to its space
                counts["meta"] = int(
                    cur.execute(
                        "INSERT INTO meta (world, key, value) "
                        "SELECT ?, key, value FROM meta WHERE world = ?",
                        (dst, source),
                    ).rowcount
                )
            skipped = [
                t
                for t in self._world_tables(cur)
                if t not in counts and t not in ("worlds", "ledger_txns")
            ]
            at = time.time()
            _insert_audit(
                cur,
                actor,
                "fork",
                dst,
                {"from": source, "at": at, "spatial": spatial, "rows": counts, "seed": row[1]},
            )
            return {"rows": counts, "skipped": skipped, "at": at}

        return self._run(apply, write=True)


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return repr(value)
    return value


__all__ = ["JOB_STATES", "SqlWorldRecords", "world_name"]
