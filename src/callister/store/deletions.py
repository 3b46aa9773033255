"""`DeletionRepository`: the kill switch's deletion jobs, which drive a world's deletion in
resumable batches (approval, countdown, evacuation, batches, the final audit record).

Each step writes its audit record in the same transaction as the step, so `story` can tell
everything a deletion did over every run, however often it was interrupted and resumed. Every
method is one transaction (see `Store` for the contract every repository keeps).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from . import _check as check
from . import _schema as schema
from ._audit import insert_audit
from .database import Cursor, Database, Row
from .errors import NotFound
from .records import DeletionJob

_JOB_COLUMNS = (
    "id, world, state, requested_by, requested_at, approvals, approve_by, countdown_s, "
    "ends_at, override, progress, audit_id"
)
# removed by `finish`, last, so the job survives until everything else is gone
_LAST_TABLES = ("worlds", "world_jobs")
# audit actions that tell a deletion's story (read back by `story` and `finish`)
_STAYED = "evacuate_stayed"
_LEDGER = "ledger_closed"
_RUN = "delete_run"


def _job(row: Row) -> DeletionJob:
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


def _audits_since(cur: Cursor, job: DeletionJob, action: str, subject: str) -> list[dict[str, Any]]:
    """The details of the audit records of `action` about `subject` written since the job was
    requested, oldest first (the world_audit_subject index finds them)."""
    rows = cur.execute(
        "SELECT detail FROM world_audit WHERE subject = ? AND id > ? AND action = ? ORDER BY id",
        (subject, job.audit_id, action),
    ).all()
    return [json.loads(r[0]) for r in rows]


def _get_job(cur: Cursor, world: str) -> DeletionJob | None:
    row = cur.execute(f"SELECT {_JOB_COLUMNS} FROM world_jobs WHERE world = ?", (world,)).one()
    return None if row is None else _job(row)


def _story(cur: Cursor, world: str, job: DeletionJob) -> dict[str, Any]:
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


class DeletionRepository:
    """Deletion jobs of worlds and the steps that carry them out."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
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
        """Record the request (and its audit entry, with `detail` added: e.g. whether the
        two-person rule applied). ValueError if a job exists already; NotFound for no world."""
        world = check.world_name(world)
        extra = dict(detail or {})
        check.to_json("detail", extra, object_only=True)
        requested_by = check.int64("requested_by", requested_by, 1)
        countdown_s = check.count("countdown_s", countdown_s, 0, 86_400)
        at = check.finite("at", at)
        deadline = None if approve_by is None else check.finite("approve_by", approve_by)
        state = "approval" if deadline is not None else "countdown"
        ends_at = None if deadline is not None else at + countdown_s

        def apply(cur: Cursor) -> DeletionJob:
            if cur.execute("SELECT 1 FROM worlds WHERE world = ?", (world,)).one() is None:
                raise NotFound(f"no world named {world!r}")
            if cur.execute("SELECT 1 FROM world_jobs WHERE world = ?", (world,)).one():
                raise ValueError(f"world {world!r} already has a deletion job")
            audit_id = insert_audit(
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

        return self._db.write(apply)

    def get(self, world: str) -> DeletionJob | None:
        """The world's deletion job, or None."""
        world = check.text("world", world, 64)
        return self._db.read(lambda c: _get_job(c, world))

    def all(self) -> list[DeletionJob]:
        """Every deletion job, oldest first (what a restarted server resumes)."""
        return self._db.all(f"SELECT {_JOB_COLUMNS} FROM world_jobs ORDER BY id", map=_job)

    def approve(self, world: str, by: int, at: float) -> DeletionJob:
        """A second administrator's approval (not the requester's); the job moves to
        'countdown' with ends_at = at + countdown_s."""
        world = check.world_name(world)
        by = check.int64("by", by, 1)
        at = check.finite("at", at)

        def apply(cur: Cursor) -> DeletionJob:
            job = _get_job(cur, world)
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
            insert_audit(cur, by, "delete_approved", world, {"job": job.id})
            found = _get_job(cur, world)
            assert found is not None
            return found

        return self._db.write(apply)

    def start_countdown(self, world: str, at: float) -> DeletionJob:
        """Start the countdown of a job that needed no approval (ends_at = at + countdown_s,
        once); the job as it is now."""
        world = check.world_name(world)
        at = check.finite("at", at)

        def apply(cur: Cursor) -> DeletionJob:
            cur.execute(
                "UPDATE world_jobs SET ends_at = ? + countdown_s WHERE world = ? AND "
                "state = 'countdown' AND ends_at IS NULL",
                (at, world),
            )
            found = _get_job(cur, world)
            if found is None:
                raise ValueError(f"no deletion job for {world!r}")
            return found

        return self._db.write(apply)

    def cancel(self, world: str, by: int | None, why: str) -> bool:
        """Drop a job that has not reached 'deleting' (expired or cancelled); audited."""
        world = check.text("world", world, 64)
        why = check.text("why", why, 200)

        def apply(cur: Cursor) -> bool:
            job = _get_job(cur, world)
            if job is None or job.state == "deleting":
                return False
            cur.execute("DELETE FROM world_jobs WHERE world = ?", (world,))
            insert_audit(cur, by, "delete_cancelled", world, {"job": job.id, "why": why})
            return True

        return self._db.write(apply)

    def begin(self, world: str) -> DeletionJob:
        """Job to 'deleting' and the world to state 'deleting' (one transaction), and an audit
        record of this run (`delete_run`): a resumed deletion counts its runs."""
        world = check.world_name(world)

        def apply(cur: Cursor) -> DeletionJob:
            cur.execute("UPDATE world_jobs SET state = 'deleting' WHERE world = ?", (world,))
            cur.execute("UPDATE worlds SET state = 'deleting' WHERE world = ?", (world,))
            found = _get_job(cur, world)
            if found is None:
                raise ValueError(f"no deletion job for {world!r}")
            runs = len(_audits_since(cur, found, _RUN, world))
            insert_audit(cur, None, _RUN, world, {"job": found.id, "run": runs + 1})
            return found

        return self._db.write(apply)

    def story(self, world: str) -> dict[str, Any]:
        """What the world's deletion did so far, over every run, read from the audit records
        written with each step: {"runs", "moved": [account ids], "moves": [{"account", "to",
        "ship", "credits", "audit"}], "stayed": [account ids], "stayed_why": {id: why},
        "ledger": closing ledger or None}. ValueError if there is no job."""
        world = check.text("world", world, 64)

        def read(cur: Cursor) -> dict[str, Any]:
            job = _get_job(cur, world)
            if job is None:
                raise ValueError(f"no deletion job for {world!r}")
            return _story(cur, world, job)

        return self._db.read(read)

    def record_stayed(self, world: str, account_id: int, why: str) -> bool:
        """Audit that the account's character stays in the world being deleted (and is deleted
        with it), with the reason. False if already recorded (a resumed job)."""
        world = check.world_name(world)
        account_id = check.int64("account_id", account_id, 1)
        why = check.text("why", why, 200)

        def apply(cur: Cursor) -> bool:
            job = _get_job(cur, world)
            if job is None or job.state != "deleting":
                raise ValueError(f"{world!r} is not being deleted")
            done = _audits_since(cur, job, _STAYED, str(account_id))
            if any(d.get("world") == world for d in done):
                return False
            insert_audit(cur, None, _STAYED, str(account_id), {"world": world, "why": why})
            return True

        return bool(self._db.write(apply))

    def close_ledger(self, world: str, ledger: Mapping[str, Any]) -> dict[str, Any]:
        """Audit the world's closing ledger; the first closing is kept, and returned, if a run
        before this one recorded it already. ValueError unless the world is being deleted."""
        world = check.world_name(world)
        check.to_json("ledger", dict(ledger), object_only=True)

        def apply(cur: Cursor) -> dict[str, Any]:
            job = _get_job(cur, world)
            if job is None or job.state != "deleting":
                raise ValueError(f"{world!r} is not being deleted")
            kept = _audits_since(cur, job, _LEDGER, world)
            if kept:
                return dict(kept[0]["ledger"])
            insert_audit(cur, None, _LEDGER, world, {"world": world, "ledger": dict(ledger)})
            return dict(ledger)

        return self._db.write(apply)

    def delete_batch(self, world: str, table: str, limit: int) -> int:
        """Delete up to `limit` rows of the world from the table; records progress in the
        job. Returns the rows deleted (0: the table is clear of the world)."""
        world = check.world_name(world)
        limit = check.count("limit", limit, 1, 1_000_000)
        if table in _LAST_TABLES:
            raise ValueError(f"{table} is cleared by `finish`, last")

        def apply(cur: Cursor) -> int:
            if table not in schema.world_tables(cur):
                raise ValueError(f"{table!r} is not a table with a world column")
            key = "rowid" if cur.dialect == "sqlite" else "ctid"
            n = cur.execute(
                f'DELETE FROM "{table}" WHERE {key} IN '
                f'(SELECT {key} FROM "{table}" WHERE world = ? LIMIT ?)',
                (world, limit),
            ).rowcount
            if n:
                job = _get_job(cur, world)
                if job is not None:
                    progress = dict(job.progress)
                    progress[table] = progress.get(table, 0) + n
                    cur.execute(
                        "UPDATE world_jobs SET progress = ? WHERE world = ?",
                        (json.dumps(progress), world),
                    )
            return int(n)

        return self._db.write(apply)

    def finish(self, world: str, detail: Mapping[str, Any]) -> int:
        """Last step: remove the registry row and the job, and write the audit record
        (returned id) in one transaction; refused (ValueError) while any other table holds a
        row of the world. The record is `detail` plus the job (who asked, approvals, rows
        deleted per table) and the whole `story`, so an interrupted and resumed deletion is
        told in full."""
        world = check.world_name(world)
        check.to_json("detail", dict(detail), object_only=True)

        def apply(cur: Cursor) -> int:
            job = _get_job(cur, world)
            # the batches cleared meta too, but the public world (deleted with the override)
            # keeps ticking and checkpoints its clock until it starts again: sweep it here
            cur.execute("DELETE FROM meta WHERE world = ?", (world,))
            for table in schema.world_tables(cur):
                if table in _LAST_TABLES:
                    continue
                left = cur.execute(f'SELECT 1 FROM "{table}" WHERE world = ? LIMIT 1', (world,))
                if left.one() is not None:
                    raise ValueError(f"table {table} still holds rows of {world!r}")
            cur.execute("DELETE FROM worlds WHERE world = ?", (world,))
            cur.execute("DELETE FROM world_jobs WHERE world = ?", (world,))
            full = dict(detail)
            if job is not None:
                story = _story(cur, world, job)
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
            return insert_audit(cur, None, "deleted", world, full)

        return self._db.write(apply)

    def scrub(self) -> None:
        """Make deleted rows unrecoverable from the database files (SQLite: VACUUM and a WAL
        truncation; PostgreSQL: VACUUM of the world tables)."""
        if self._db.dialect == "sqlite":
            self._db.outside_transaction(["VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"])
            return
        tables = self._db.read(schema.world_tables)
        self._db.outside_transaction([f'VACUUM "{table}"' for table in tables])
