"""`ModerationRepository`: reports, footage, detector flags, moderators' actions (their audit
log), bans, the watch list, logins, and evidence (what an account did that may be cheating).

Every table has a `world` column (a world is deleted by key). Text written here (report text,
reasons) is stored as given and must be shown as literal text. Every method is one transaction
(see `Store` for the contract every repository keeps).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from . import _check as check
from .database import Cursor, Database, Row
from .records import (
    BAN_KINDS,
    FLAG_STATES,
    MAX_FOOTAGE_BYTES,
    MAX_LIST,
    MAX_REPORT_TEXT,
    REPORT_REASONS,
    REPORT_STATES,
    REPORT_TARGETS,
    AuditEntry,
    Ban,
    Evidence,
    Flag,
    FootageRecord,
    Login,
    Report,
)

T = TypeVar("T")
_SHORT = 64
_REPORT_COLS = (
    "id, world, reporter_id, target_kind, target, target_account, reason, text, at, zone, tick, "
    "footage_id, chat, status"
)
_FLAG_COLS = "id, world, detector, account_id, subject, score, evidence, at, status"
_AUDIT_COLS = "id, world, moderator_id, action, target_account, reason, at, detail"
_BAN_COLS = "id, world, kind, value, until, reason, by_id, at"
_EVIDENCE_COLS = "id, world, account_id, tick, at, code, action, detail"
_FOOTAGE_COLS = "id, world, zone, start_tick, end_tick, at, reason, size"
MAX_EVIDENCE_TEXT = 64


def _one_of(name: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return str(value)


def _opt_int(name: str, value: object) -> int | None:
    return None if value is None else check.int64(name, value)


def _report(r: Row) -> Report:
    return Report(
        world=r[1], reporter_id=int(r[2]), target_kind=r[3], target=r[4],
        target_account=None if r[5] is None else int(r[5]), reason=r[6], text=r[7],
        at=float(r[8]), zone=r[9], tick=int(r[10]),
        footage_id=None if r[11] is None else int(r[11]), chat=json.loads(r[12]), status=r[13],
        id=int(r[0]),
    )  # fmt: skip


def _flag(r: Row) -> Flag:
    return Flag(
        world=r[1], detector=r[2], account_id=int(r[3]), subject=r[4], score=float(r[5]),
        evidence=json.loads(r[6]), at=float(r[7]), status=r[8], id=int(r[0]),
    )  # fmt: skip


def _audit(r: Row) -> AuditEntry:
    return AuditEntry(
        world=r[1], moderator_id=int(r[2]), action=r[3],
        target_account=None if r[4] is None else int(r[4]), reason=r[5], at=float(r[6]),
        detail=json.loads(r[7]), id=int(r[0]),
    )  # fmt: skip


def _ban(r: Row) -> Ban:
    return Ban(
        world=r[1], kind=r[2], value=r[3], until=None if r[4] is None else float(r[4]),
        reason=r[5], by=int(r[6]), at=float(r[7]), id=int(r[0]),
    )  # fmt: skip


class ModerationRepository:
    """Everything moderators and detectors keep, per world."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def _insert(self, sql: str, values: Sequence[Any]) -> int:
        """Run an INSERT (`sql` without its RETURNING clause); the new row's id."""
        row = self._db.one(sql + " RETURNING id", values, write=True)
        assert row is not None  # INSERT ... RETURNING always yields the row
        return int(row[0])

    def _newest(
        self,
        columns: str,
        table: str,
        world: str,
        limit: int,
        map: Callable[[Row], T],
        match: tuple[str, Any] | None = None,
    ) -> list[T]:
        """The world's rows of `table`, newest first, at most `limit`, optionally only those
        whose column match[0] equals match[1]."""
        world = check.text("world", world)
        limit = check.count("limit", limit, 0, MAX_LIST)
        where, params = "world = ?", [world]
        if match is not None:
            where += f" AND {match[0]} = ?"
            params.append(match[1])
        return self._db.all(
            f"SELECT {columns} FROM {table} WHERE {where} ORDER BY id DESC LIMIT ?",
            (*params, limit),
            map=map,
        )

    def _set_status(self, table: str, world: str, field: str, row_id: int, status: str) -> bool:
        values = (status, check.text("world", world), check.int64(field, row_id))
        return bool(
            self._db.execute(f"UPDATE {table} SET status = ? WHERE world = ? AND id = ?", values)
        )

    # -- reports ----------------------------------------------------------------------------

    def add_report(self, report: Report) -> int:
        """Store a report (status "open") and return its id."""
        if not isinstance(report, Report):
            raise ValueError("expected a Report")
        values = (
            check.text("world", report.world),
            check.int64("reporter_id", report.reporter_id),
            _one_of("target_kind", report.target_kind, REPORT_TARGETS),
            check.text("target", report.target, _SHORT),
            _opt_int("target_account", report.target_account),
            _one_of("reason", report.reason, REPORT_REASONS),
            _text("text", report.text, MAX_REPORT_TEXT),
            check.finite("at", report.at),
            _text("zone", report.zone, 200),
            check.int64("tick", report.tick, 0),
            _opt_int("footage_id", report.footage_id),
            check.to_json("chat", report.chat),
            "open",
        )
        return self._insert(
            f"INSERT INTO mod_reports ({_REPORT_COLS.removeprefix('id, ')}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )

    def get_report(self, world: str, report_id: int) -> Report | None:
        """The world's report of that id, or None."""
        world, rid = check.text("world", world), check.int64("report_id", report_id)
        return self._db.one(
            f"SELECT {_REPORT_COLS} FROM mod_reports WHERE world = ? AND id = ?",
            (world, rid),
            map=_report,
        )

    def list_reports(
        self, world: str, status: str | None = "open", limit: int = 100
    ) -> list[Report]:
        """Reports newest first, optionally only those in `status`."""
        match = None if status is None else ("status", _one_of("status", status, REPORT_STATES))
        return self._newest(_REPORT_COLS, "mod_reports", world, limit, _report, match)

    def set_report_status(self, world: str, report_id: int, status: str) -> bool:
        """Open or close a report; False if the world has no report of that id."""
        status = _one_of("status", status, REPORT_STATES)
        return self._set_status("mod_reports", world, "report_id", report_id, status)

    # -- footage ----------------------------------------------------------------------------

    def save_footage(self, record: FootageRecord) -> int:
        """Store footage bytes (at most MAX_FOOTAGE_BYTES) and return the id."""
        if not isinstance(record, FootageRecord):
            raise ValueError("expected a FootageRecord")
        if not isinstance(record.data, bytes | bytearray) or not record.data:
            raise ValueError("footage data must be non-empty bytes")
        if len(record.data) > MAX_FOOTAGE_BYTES:
            raise ValueError(f"footage of {len(record.data)} bytes is over {MAX_FOOTAGE_BYTES}")
        values = (
            check.text("world", record.world), _text("zone", record.zone, 200),
            check.int64("start_tick", record.start_tick, 0),
            check.int64("end_tick", record.end_tick, record.start_tick),
            check.finite("at", record.at), _text("reason", record.reason, 200),
            len(record.data), bytes(record.data),
        )  # fmt: skip
        return self._insert(
            "INSERT INTO mod_footage (world, zone, start_tick, end_tick, at, reason, size, "
            "data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )

    def get_footage(self, world: str, footage_id: int) -> FootageRecord | None:
        """The footage with its bytes."""
        world, fid = check.text("world", world), check.int64("footage_id", footage_id)
        return self._db.one(
            f"SELECT {_FOOTAGE_COLS}, data FROM mod_footage WHERE world = ? AND id = ?",
            (world, fid),
            map=_footage,
        )

    def list_footage(self, world: str, limit: int = 100) -> list[FootageRecord]:
        """Footage newest first, without bytes."""
        return self._newest(_FOOTAGE_COLS, "mod_footage", world, limit, _footage)

    # -- flags ------------------------------------------------------------------------------

    def add_flag(self, flag: Flag) -> int:
        """Store a flag; an open flag of the same detector, account and subject is updated
        instead (score, evidence, time) and its id returned."""
        return self.add_flags([flag])[0]

    def add_flags(self, flags: Sequence[Flag]) -> list[int]:
        """`add_flag` for many flags in one transaction (a detector pass writes its changes
        at once); every flag is checked before any is written. Ids in the order given."""
        rows = [self._flag_row(flag) for flag in flags]

        def upsert(c: Cursor) -> list[int]:
            ids = []
            for world, detector, account, subject, score, evidence, at in rows:
                row = c.execute(
                    "SELECT id FROM mod_flags WHERE world = ? AND detector = ? "
                    "AND account_id = ? AND subject = ? AND status = 'open'",
                    (world, detector, account, subject),
                ).one()
                if row is not None:
                    c.execute(
                        "UPDATE mod_flags SET score = ?, evidence = ?, at = ? WHERE id = ?",
                        (score, evidence, at, row[0]),
                    )
                    ids.append(int(row[0]))
                    continue
                row = c.execute(
                    "INSERT INTO mod_flags (world, detector, account_id, subject, score, "
                    "evidence, at, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'open') RETURNING id",
                    (world, detector, account, subject, score, evidence, at),
                ).one()
                assert row is not None
                ids.append(int(row[0]))
            return ids

        return self._db.write(upsert) if rows else []

    @staticmethod
    def _flag_row(flag: Flag) -> tuple[str, str, int, str, float, str, float]:
        if not isinstance(flag, Flag):
            raise ValueError("expected a Flag")
        score = check.finite("score", flag.score)
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"score must be within [0, 1], not {score}")
        return (
            check.text("world", flag.world),
            check.text("detector", flag.detector, _SHORT),
            check.int64("account_id", flag.account_id),
            _text("subject", flag.subject, 200),
            score,
            check.to_json("evidence", flag.evidence, object_only=True),
            check.finite("at", flag.at),
        )

    def list_flags(self, world: str, status: str | None = "open", limit: int = 100) -> list[Flag]:
        """Flags newest first, optionally only those in `status`."""
        match = None if status is None else ("status", _one_of("status", status, FLAG_STATES))
        return self._newest(_FLAG_COLS, "mod_flags", world, limit, _flag, match)

    def set_flag_status(self, world: str, flag_id: int, status: str) -> bool:
        """Dismiss or action a flag (or reopen it); False if the world has no such flag."""
        status = _one_of("status", status, FLAG_STATES)
        return self._set_status("mod_flags", world, "flag_id", flag_id, status)

    # -- the moderators' audit log ----------------------------------------------------------

    def add_audit(self, entry: AuditEntry) -> int:
        """Record what a moderator did; the entry's id."""
        if not isinstance(entry, AuditEntry):
            raise ValueError("expected an AuditEntry")
        values = (
            check.text("world", entry.world), check.int64("moderator_id", entry.moderator_id),
            check.text("action", entry.action, _SHORT),
            _opt_int("target_account", entry.target_account),
            _text("reason", entry.reason, MAX_REPORT_TEXT), check.finite("at", entry.at),
            check.to_json("detail", entry.detail, object_only=True),
        )  # fmt: skip
        return self._insert(
            "INSERT INTO mod_audit (world, moderator_id, action, target_account, reason, at, "
            "detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
            values,
        )

    def list_audit(
        self, world: str, target_account: int | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """The moderators' actions newest first, optionally only those on one account."""
        match = (
            None
            if target_account is None
            else ("target_account", check.int64("target_account", target_account))
        )
        return self._newest(_AUDIT_COLS, "mod_audit", world, limit, _audit, match)

    # -- bans -------------------------------------------------------------------------------

    def add_ban(self, ban: Ban) -> int:
        """Record a ban on an account or an address; its id."""
        if not isinstance(ban, Ban):
            raise ValueError("expected a Ban")
        values = (
            check.text("world", ban.world), _one_of("kind", ban.kind, BAN_KINDS),
            check.text("value", ban.value, 200),
            None if ban.until is None else check.finite("until", ban.until),
            _text("reason", ban.reason, MAX_REPORT_TEXT), check.int64("by", ban.by),
            check.finite("at", ban.at),
        )  # fmt: skip
        return self._insert(
            "INSERT INTO mod_bans (world, kind, value, until, reason, by_id, at, lifted) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (*values, False),
        )

    def active_bans(self, world: str, now: float) -> list[Ban]:
        """Bans in force at `now` (permanent or not yet expired), newest first."""
        world, now = check.text("world", world), check.finite("now", now)
        return self._db.all(
            f"SELECT {_BAN_COLS} FROM mod_bans WHERE world = ? AND lifted = ? "
            "AND (until IS NULL OR until > ?) ORDER BY id DESC",
            (world, False, now),
            map=_ban,
        )

    def bans_on(
        self, world: str, account_id: int | None, address: str | None, now: float
    ) -> list[Ban]:
        """The bans in force at `now` on this account or this address (either may be None),
        newest first: what admission checks (moderation/admission.py), one indexed query."""
        world, now = check.text("world", world), check.finite("now", now)
        wanted: list[tuple[str, str]] = []
        if account_id is not None:
            wanted.append(("account", str(check.int64("account_id", account_id))))
        if address is not None:
            wanted.append(("address", check.text("address", address, 200)))
        if not wanted:
            return []
        match = " OR ".join("(kind = ? AND value = ?)" for _ in wanted)
        return self._db.all(
            f"SELECT {_BAN_COLS} FROM mod_bans WHERE world = ? AND lifted = ? "
            f"AND (until IS NULL OR until > ?) AND ({match}) ORDER BY id DESC",
            (world, False, now, *(v for pair in wanted for v in pair)),
            map=_ban,
        )

    def lift_ban(self, world: str, ban_id: int) -> bool:
        """End a ban before its time; False if the world has no ban of that id."""
        values = (True, check.text("world", world), check.int64("ban_id", ban_id))
        return bool(
            self._db.execute("UPDATE mod_bans SET lifted = ? WHERE world = ? AND id = ?", values)
        )

    # -- watch list and logins --------------------------------------------------------------

    def set_watch(self, world: str, account_id: int, watched: bool, by: int, reason: str) -> None:
        """Put the account on the world's watch list (its footage is kept) or take it off."""
        world = check.text("world", world)
        account = check.int64("account_id", account_id)
        by = check.int64("by", by)
        reason = _text("reason", reason, MAX_REPORT_TEXT)

        def run(c: Cursor) -> None:
            c.execute("DELETE FROM mod_watch WHERE world = ? AND account_id = ?", (world, account))
            if watched:
                c.execute(
                    "INSERT INTO mod_watch (world, account_id, by_id, reason, at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (world, account, by, reason, time.time()),
                )

        self._db.write(run)

    def list_watch(self, world: str) -> list[int]:
        """The watched accounts of the world, by id."""
        world = check.text("world", world)
        return self._db.all(
            "SELECT account_id FROM mod_watch WHERE world = ? ORDER BY account_id",
            (world,),
            map=lambda r: int(r[0]),
        )

    def record_login(self, login: Login) -> None:
        """Remember that an account entered the world from an address."""
        if not isinstance(login, Login):
            raise ValueError("expected a Login")
        values = (check.text("world", login.world), check.int64("account_id", login.account_id),
                  _text("address", login.address, 200), check.finite("at", login.at))  # fmt: skip
        self._db.execute(
            "INSERT INTO mod_logins (world, account_id, address, at) VALUES (?, ?, ?, ?)", values
        )

    def list_logins(
        self, world: str, account_id: int | None = None, limit: int = 1000
    ) -> list[Login]:
        """Logins newest first (all accounts, or one)."""
        match = (
            None if account_id is None else ("account_id", check.int64("account_id", account_id))
        )
        return self._newest(
            "world, account_id, address, at",
            "mod_logins",
            world,
            limit,
            lambda r: Login(r[0], int(r[1]), r[2], float(r[3])),
            match,
        )

    # -- evidence ---------------------------------------------------------------------------

    def add_evidence(self, rows: Sequence[Evidence]) -> list[int]:
        """Store the rows in one transaction (their `id` is ignored); return the new ids in
        order. Evidence is an audit record: it outlives the account it names.
        """
        values = [_evidence_row(i, e) for i, e in enumerate(check.sequence("rows", rows))]

        def insert(cur: Cursor) -> list[int]:
            ids = []
            for value in values:
                row = cur.execute(
                    "INSERT INTO evidence (world, account_id, tick, at, code, action, detail) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    value,
                ).one()
                assert row is not None  # INSERT ... RETURNING always yields the row
                ids.append(int(row[0]))
            return ids

        return self._db.write(insert) if values else []

    def list_evidence(
        self, world: str, account_id: int | None = None, limit: int = 100
    ) -> list[Evidence]:
        """The world's evidence, newest first, optionally only about one account."""
        match = (
            None if account_id is None else ("account_id", check.int64("account_id", account_id))
        )
        return self._newest(_EVIDENCE_COLS, "evidence", world, limit, _evidence, match)


def _footage(r: Row) -> FootageRecord:
    """A footage row (`_FOOTAGE_COLS`, and `data` when read: listed footage has none)."""
    data = bytes(r[8]) if len(r) > 8 else b""
    return FootageRecord(r[1], r[2], int(r[3]), int(r[4]), float(r[5]), r[6], int(r[7]), data,
                         int(r[0]))  # fmt: skip


def _evidence_row(i: int, e: Evidence) -> Row:
    if not isinstance(e, Evidence):
        raise ValueError(f"rows[{i}] must be an Evidence, not {type(e).__name__}")
    return (
        check.text(f"rows[{i}].world", e.world),
        check.int64(f"rows[{i}].account_id", e.account_id),
        check.int64(f"rows[{i}].tick", e.tick, 0),
        check.finite(f"rows[{i}].at", e.at),
        check.text(f"rows[{i}].code", e.code, MAX_EVIDENCE_TEXT),
        check.text(f"rows[{i}].action", e.action, MAX_EVIDENCE_TEXT),
        check.to_json(f"rows[{i}].detail", e.detail, object_only=True),
    )


def _evidence(row: Row) -> Evidence:
    id_, world, account_id, tick, at, code, action, detail = row
    return Evidence(
        world=world,
        account_id=int(account_id),
        tick=int(tick),
        at=float(at),
        code=code,
        action=action,
        detail=json.loads(detail),
        id=int(id_),
    )


def _text(name: str, value: object, max_len: int) -> str:
    """Free text (may be empty), bounded; control characters other than newline refused."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    if len(value) > max_len:
        raise ValueError(f"{name} is longer than {max_len} characters")
    if any((ord(ch) < 32 and ch not in "\n\t") or ch == "\x7f" for ch in value):
        raise ValueError(f"{name} contains control characters")
    return check.clean(name, value)
