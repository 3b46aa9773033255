"""`WorldRepository`: the world registry, membership and homes, the world audit log, moving a
character between worlds and forking a world; and what every world-scoped table holds (its
tables, stats, checksum).

Every table holding one world's data has a `world` column; `_schema.world_tables` discovers them
from the schema, so tables other features add are covered without a list here. Every method is
one transaction (see `Store` for the contract every repository keeps). The kill switch's
deletion jobs are `DeletionRepository` (deletions.py).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from . import _check as check
from . import _schema as schema
from ._audit import AUDIT_COLUMNS, audit_record, insert_audit
from .database import Cursor, Database, Row
from .errors import NameTaken, NoSuchCharacter, NotFound
from .ledger import post
from .records import (
    FORK_ACCOUNT,
    MEMBER_STATUSES,
    TRANSFER_ACCOUNT,
    VISIBILITIES,
    AuditRecord,
    MoveResult,
    WorldRecord,
)

WORLD_COLUMNS = "world, seed, owner, visibility, player_limit, rules, state, created_at, params"

# columns that say "this row is aboard that ship": rows of other tables that move with a ship
_SHIP_COLUMNS = ("ship_id", "ship")
# JSON-object columns whose top-level "world" names the world the row lives in: a move rewrites
# it with the row's `world` column, or the document would send the row back (a crew clone
# loaded from its doc is saved again under doc["world"]). Provenance inside them (a clone's
# lineage: where it was born, imported, forked) is history and stays as it was.
_WORLD_DOCUMENTS = {"clones": "doc"}
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


def _record_row(r: WorldRecord, now: float) -> Row:
    if not isinstance(r, WorldRecord):
        raise ValueError(f"record must be a WorldRecord, not {type(r).__name__}")
    name = check.world_name(r.name)
    seed = check.int64("seed", r.seed)
    owner = None if r.owner is None else check.int64("owner", r.owner, 1)
    if r.visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {VISIBILITIES}, not {r.visibility!r}")
    limit = check.count("player_limit", r.player_limit, 0, 1_000_000)
    rules = check.to_json("rules", r.rules, object_only=True)
    if r.state not in ("live", "deleting"):
        raise ValueError(f"state must be live or deleting, not {r.state!r}")
    params = check.to_json("params", r.params, object_only=True)
    return (name, seed, owner, r.visibility, limit, rules, r.state, now, params)


def _world(row: Row) -> WorldRecord:
    name, seed, owner, visibility, limit, rules, state, created_at, params = row
    return WorldRecord(
        name=name,
        seed=int(seed),
        owner=None if owner is None else int(owner),
        visibility=visibility,
        player_limit=int(limit),
        rules=json.loads(rules),
        state=state,
        created_at=float(created_at),
        params=json.loads(params),
    )


def _new_txn(
    cur: Cursor, world: str, idem: str, kind: str, account: str | None, result: dict[str, Any]
) -> int:
    """Record a ledger transaction of a move or a fork (keys unique by construction); its id."""
    stored = {"result": result, "balances": {}, "holdings": {}}
    row = cur.execute(
        "INSERT INTO ledger_txns (world, idem, kind, account, created_at, result) "
        "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (world, idem, kind, account, time.time(), check.to_json("result", stored)),
    ).one()
    assert row is not None
    return int(row[0])


def _entries(cur: Cursor, world: str, txn: int, postings: list[tuple[str, int]]) -> None:
    """Post the non-zero amounts to their accounts, in key order, and log them as entries."""
    for account, amount in sorted(postings):
        if amount:
            post(cur, world, account, amount)
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


def _plain(value: Any) -> Any:
    """A column value in the form the checksum hashes (the same on both dialects)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return repr(value)
    return value


class WorldRepository:
    """The registry of worlds and what holds each world's rows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- the registry -----------------------------------------------------------------------

    def create(self, record: WorldRecord, actor: int | None) -> WorldRecord:
        """Register a new world (NameTaken if the name exists) and audit it."""
        row = _record_row(record, time.time())

        def apply(cur: Cursor) -> WorldRecord:
            found = cur.execute("SELECT 1 FROM worlds WHERE world = ?", (row[0],)).one()
            if found is not None:
                raise NameTaken(f"a world named {row[0]!r} exists")
            cur.execute(f"INSERT INTO worlds ({WORLD_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", row)
            insert_audit(
                cur,
                actor,
                "create",
                row[0],
                {"seed": row[1], "owner": row[2], "visibility": row[3], "rules": record.rules},
            )
            return _world(row)

        return self._db.write(apply)

    def ensure(self, record: WorldRecord) -> WorldRecord:
        """Register the world unless it exists; return the stored record."""
        row = _record_row(record, time.time())

        def apply(cur: Cursor) -> WorldRecord:
            cur.execute(
                f"INSERT INTO worlds ({WORLD_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (world) DO NOTHING",
                row,
            )
            found = cur.execute(
                f"SELECT {WORLD_COLUMNS} FROM worlds WHERE world = ?", (row[0],)
            ).one()
            assert found is not None
            return _world(found)

        return self._db.write(apply)

    def get(self, name: str) -> WorldRecord | None:
        """The registered world of that name, or None."""
        name = check.text("name", name, 64)
        return self._db.one(
            f"SELECT {WORLD_COLUMNS} FROM worlds WHERE world = ?", (name,), map=_world
        )

    def all(self) -> list[WorldRecord]:
        """Every registered world, by name."""
        return self._db.all(f"SELECT {WORLD_COLUMNS} FROM worlds ORDER BY world", map=_world)

    def stats(self, name: str) -> dict[str, int]:
        """{"characters": n, "systems": discovered systems, "rows": rows keyed to the world over
        every world table}."""
        name = check.text("name", name, 64)

        def scan(cur: Cursor) -> dict[str, int]:
            rows = 0
            for table in schema.world_tables(cur):
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

        return self._db.read(scan)

    def tables(self) -> list[str]:
        """Every table with a `world` column, discovered from the schema."""
        return self._db.read(schema.world_tables)

    def checksum(self, world: str) -> str:
        """SHA-256 over every row keyed to the world in every world table (stable order), meta
        included: equal checksums before and after mean the world's rows are byte-identical."""
        world = check.text("world", world, 64)

        def scan(cur: Cursor) -> str:
            digest = hashlib.sha256()
            for table in schema.world_tables(cur):
                rows = cur.execute(f'SELECT * FROM "{table}" WHERE world = ?', (world,)).all()
                digest.update(table.encode())
                for text in sorted(repr(tuple(_plain(v) for v in r)) for r in rows):
                    digest.update(text.encode())
            return digest.hexdigest()

        return self._db.read(scan)

    # -- membership, homes ------------------------------------------------------------------

    def set_member(self, world: str, account_id: int, status: str, by: int | None) -> None:
        """Invite (status 'invited') or admit ('member') an account; audited."""
        world = check.world_name(world)
        account_id = check.int64("account_id", account_id, 1)
        if status not in MEMBER_STATUSES:
            raise ValueError(f"status must be one of {MEMBER_STATUSES}, not {status!r}")

        def apply(cur: Cursor) -> None:
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
            insert_audit(cur, by, status, world, {"account": account_id})

        self._db.write(apply)

    def remove_member(self, world: str, account_id: int) -> bool:
        """Forget the account's invitation or membership; True if there was one."""
        world = check.world_name(world)
        account_id = check.int64("account_id", account_id, 1)
        return bool(
            self._db.execute(
                "DELETE FROM world_members WHERE world = ? AND account_id = ?", (world, account_id)
            )
        )

    def list_members(self, world: str | None = None) -> list[tuple[str, int, str]]:
        """(world, account_id, status) rows, of one world or all."""
        sql = "SELECT world, account_id, status FROM world_members "
        params: tuple[Any, ...] = ()
        if world is None:
            sql += "ORDER BY world, account_id"
        else:
            sql += "WHERE world = ? ORDER BY account_id"
            params = (check.text("world", world, 64),)
        return self._db.all(sql, params, map=lambda r: (r[0], int(r[1]), r[2]))

    def set_home(self, account_id: int, world: str) -> None:
        """Make `world` the account's home world (where it enters by default)."""
        account_id = check.int64("account_id", account_id, 1)
        world = check.world_name(world)
        self._db.execute(
            "INSERT INTO world_homes (account_id, world) VALUES (?, ?) "
            "ON CONFLICT (account_id) DO UPDATE SET world = excluded.world",
            (account_id, world),
        )

    def get_home(self, account_id: int) -> str | None:
        """The account's home world, None if it has not chosen one (the public world)."""
        account_id = check.int64("account_id", account_id, 1)
        home = self._db.scalar("SELECT world FROM world_homes WHERE account_id = ?", (account_id,))
        return None if home is None else str(home)

    # -- the audit log ----------------------------------------------------------------------

    def add_audit(
        self, actor: int | None, action: str, subject: str, detail: Mapping[str, Any]
    ) -> int:
        """Append a world audit record (`action` a lowercase word); its id."""
        action = check.kind("action", action)
        subject = check.text("subject", subject, 64)
        check.to_json("detail", dict(detail), object_only=True)
        return self._db.write(lambda c: insert_audit(c, actor, action, subject, detail))

    def list_audit(self, subject: str | None = None, limit: int = 100) -> list[AuditRecord]:
        """The world audit log newest first, optionally only the records about `subject`."""
        limit = check.count("limit", limit, 1, 10_000)
        sql, params = "ORDER BY id DESC LIMIT ?", list[Any]([limit])
        if subject is not None:
            sql = "WHERE subject = ? " + sql
            params.insert(0, check.text("subject", subject, 64))
        return self._db.all(
            f"SELECT {AUDIT_COLUMNS} FROM world_audit {sql}", params, map=audit_record
        )

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
        refit: Mapping[str, Any] | None = None,
    ) -> MoveResult:
        """Move the account's character with its ship, cargo, credits and the rows of other
        tables aboard the ship (clones) from `source` to `destination` in ONE transaction.

        Credits leave the source ledger to the `transfer` account and enter the destination's
        from its `transfer` account (both transactions keyed `move:<audit id>`); cargo leaves
        as destroyed and arrives as created in the destination's item log. `placement` (sector,
        position, home) replaces the character's position (the destination's universe differs).
        `refit` is what the destination's content changes on arrival (worlds/content.py
        decides it): {"hull": key, "extra": the character's new extra, "credit": credits the
        destination's `services` account pays the player for what it took, "drop": {item: qty}
        of cargo the destination does not know (destroyed in the source, not created in the
        destination), "detail": JSON for the audit record}.
        NoSuchCharacter: no character in source; NotFound: no live destination; ValueError:
        already a character in destination.
        """
        account_id = check.int64("account_id", account_id, 1)
        source = check.world_name(source)
        destination = check.world_name(destination)
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
        refit_hull: str | None = None
        refit_extra: str | None = None
        refit_credit = 0
        refit_drop: dict[str, int] = {}
        refit_detail: dict[str, Any] = {}
        if refit is not None:
            unknown = set(refit) - {"hull", "extra", "credit", "drop", "detail"}
            if unknown:
                raise ValueError(f"refit has unknown fields {sorted(unknown)}")
            if refit.get("hull") is not None:
                refit_hull = check.text("refit hull", refit["hull"], 64)
            if refit.get("extra") is not None:
                refit_extra = check.to_json("refit extra", refit["extra"], object_only=True)
            refit_credit = check.count("refit credit", refit.get("credit", 0), 0, 2**62)
            for item, qty in dict(refit.get("drop") or {}).items():
                refit_drop[check.item_key("refit drop", item)] = check.count(
                    "refit drop qty", qty, 1, 2**62
                )
            refit_detail = dict(refit.get("detail") or {})
            check.to_json("refit detail", refit_detail, object_only=True)

        def apply(cur: Cursor) -> MoveResult:
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
            for table in schema.world_tables(cur):
                if table in ("characters", "worlds", "world_jobs"):
                    continue
                cols = schema.columns(cur, table)
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
            if refit is not None:
                detail["refit"] = {**refit_detail, "credit": refit_credit, "drop": refit_drop}
            audit_id = insert_audit(cur, actor, "move", str(account_id), detail)
            idem = f"move:{audit_id}"
            out = _new_txn(cur, source, idem, "world_out", player, {"credits": credits})
            _entries(cur, source, out, [(player, -credits), (TRANSFER_ACCOUNT, credits)])
            into = _new_txn(
                cur, destination, idem, "world_in", player,
                {"credits": credits, "refit_credit": refit_credit},
            )  # fmt: skip
            _entries(
                cur,
                destination,
                into,
                [(TRANSFER_ACCOUNT, -credits), (player, credits + refit_credit),
                 ("services", -refit_credit)],
            )  # fmt: skip
            for item, qty in cargo.items():
                cur.execute(
                    "INSERT INTO item_moves (world, txn_id, item, qty, source, destination) "
                    "VALUES (?, ?, ?, ?, ?, NULL)",
                    (source, out, item, qty, holder),
                )
                if item in refit_drop:  # the destination has no such item: it stays behind
                    cur.execute(
                        "DELETE FROM holdings WHERE world = ? AND holder = ? AND item = ?",
                        (source, holder, item),
                    )
                    continue
                cur.execute(
                    "INSERT INTO item_moves (world, txn_id, item, qty, source, destination) "
                    "VALUES (?, ?, ?, ?, NULL, ?)",
                    (destination, into, item, qty, holder),
                )
            cur.execute(
                "UPDATE holdings SET world = ? WHERE world = ? AND holder = ?",
                (destination, source, holder),
            )
            if refit_hull is not None:
                place["hull"] = refit_hull
            if refit_extra is not None:
                place["extra"] = refit_extra
            _open_marker(cur, destination, account_id, {"moved": True})
            sets = ", ".join(f"{k} = ?" for k in place)
            cur.execute(
                f"UPDATE characters SET world = ?, updated_at = ?{', ' + sets if sets else ''} "
                "WHERE account_id = ? AND world = ?",
                (destination, time.time(), *place.values(), account_id, source),
            )
            children: dict[str, list[int]] = {}  # "clone_id" -> ids of the clones aboard
            for table in list(aboard):
                cols = schema.columns(cur, table)
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
                cols = schema.columns(cur, table)
                col = next(c for c in _SHIP_COLUMNS if c in cols)
                cur.execute(
                    f'DELETE FROM "{table}" WHERE world = ? AND "{col}" = ?', (source, ship)
                )
            # rows that belong to what moved (a clone's memories, relationships) go along
            for table in schema.world_tables(cur):
                cols = schema.columns(cur, table)
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

        return self._db.write(apply)

    # ----------------------------------------------------------------------- forking
    def fork(
        self,
        source: str,
        record: WorldRecord,
        *,
        actor: int | None,
        spatial: bool,
        placement: Callable[[int], Mapping[str, Any]] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """Create `record` from the source's persisted state, read in one transaction.

        The source's content pack (every kept version) is copied either way.
        spatial=True (same seed and generator params): characters as they are, deltas,
        discoveries, wrecks, station stocks. spatial=False (another map): characters at
        `placement(account_id)`, with their ships' cargo and credits; nothing tied to the old
        space. Ledger balances open the new world in one 'fork' transaction. progress(done,
        total) is called as rows are copied.
        Returns {"rows": {table: n}, "skipped": [tables not copied], "at": time}.
        """
        source = check.world_name(source)
        row = _record_row(record, time.time())
        dst = row[0]
        if not spatial and placement is None:
            raise ValueError("a fork with a new seed needs placement (characters' new homes)")

        def apply(cur: Cursor) -> dict[str, Any]:
            if cur.execute("SELECT 1 FROM worlds WHERE world = ?", (source,)).one() is None:
                raise NotFound(f"no world named {source!r}")
            if cur.execute("SELECT 1 FROM worlds WHERE world = ?", (dst,)).one() is not None:
                raise NameTaken(f"a world named {dst!r} exists")
            cur.execute(f"INSERT INTO worlds ({WORLD_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", row)
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
            cols = schema.columns(cur, "characters")
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
                    cols = schema.columns(cur, table)
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
            # the world's content pack (every kept version) is the world's, whatever the seed
            cols = schema.columns(cur, "world_content")
            select = ", ".join("?" if c == "world" else c for c in cols)
            counts["world_content"] = int(
                cur.execute(
                    f"INSERT INTO world_content ({', '.join(cols)}) "
                    f"SELECT {select} FROM world_content WHERE world = ?",
                    (dst, source),
                ).rowcount
            )
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
                for t in schema.world_tables(cur)
                if t not in counts and t not in ("worlds", "ledger_txns")
            ]
            at = time.time()
            insert_audit(
                cur,
                actor,
                "fork",
                dst,
                {"from": source, "at": at, "spatial": spatial, "rows": counts, "seed": row[1]},
            )
            return {"rows": counts, "skipped": skipped, "at": at}

        return self._db.write(apply)
