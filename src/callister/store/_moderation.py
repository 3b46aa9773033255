"""SQL implementation of the moderation records (see api_moderation.py), shared by both backends."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from . import _check as check
from .api import MAX_LIST
from .api_moderation import (
    BAN_KINDS,
    FLAG_STATES,
    MAX_FOOTAGE_BYTES,
    MAX_REPORT_TEXT,
    REPORT_REASONS,
    REPORT_STATES,
    REPORT_TARGETS,
    AuditEntry,
    Ban,
    Flag,
    FootageRecord,
    Login,
    Report,
)

if TYPE_CHECKING:
    from ._sql import Cursor

T = TypeVar("T")
_SHORT = 64
_REPORT_COLS = (
    "id, world, reporter_id, target_kind, target, target_account, reason, text, at, zone, tick, "
    "footage_id, chat, status"
)
_FLAG_COLS = "id, world, detector, account_id, subject, score, evidence, at, status"
_AUDIT_COLS = "id, world, moderator_id, action, target_account, reason, at, detail"
_BAN_COLS = "id, world, kind, value, until, reason, by_id, at"


def _one_of(name: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return str(value)


def _opt_int(name: str, value: object) -> int | None:
    return None if value is None else check.int64(name, value)


def _report(r: tuple[Any, ...]) -> Report:
    return Report(
        world=r[1], reporter_id=int(r[2]), target_kind=r[3], target=r[4],
        target_account=None if r[5] is None else int(r[5]), reason=r[6], text=r[7],
        at=float(r[8]), zone=r[9], tick=int(r[10]),
        footage_id=None if r[11] is None else int(r[11]), chat=json.loads(r[12]), status=r[13],
        id=int(r[0]),
    )  # fmt: skip


def _flag(r: tuple[Any, ...]) -> Flag:
    return Flag(
        world=r[1], detector=r[2], account_id=int(r[3]), subject=r[4], score=float(r[5]),
        evidence=json.loads(r[6]), at=float(r[7]), status=r[8], id=int(r[0]),
    )  # fmt: skip


def _audit(r: tuple[Any, ...]) -> AuditEntry:
    return AuditEntry(
        world=r[1], moderator_id=int(r[2]), action=r[3],
        target_account=None if r[4] is None else int(r[4]), reason=r[5], at=float(r[6]),
        detail=json.loads(r[7]), id=int(r[0]),
    )  # fmt: skip


def _ban(r: tuple[Any, ...]) -> Ban:
    return Ban(
        world=r[1], kind=r[2], value=r[3], until=None if r[4] is None else float(r[4]),
        reason=r[5], by=int(r[6]), at=float(r[7]), id=int(r[0]),
    )  # fmt: skip


class SqlModerationRecords:
    """Mixed into `SqlStore`; uses its `_run`/transaction helpers."""

    _run: Callable[..., Any]

    def _q(self, fn: Callable[[Cursor], T], write: bool = False) -> T:
        return self._run(fn, write=write)

    # -- reports ----------------------------------------------------------------------------
    def add_report(self, report: Report) -> int:
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

        def insert(c: Cursor) -> int:
            row = c.execute(
                f"INSERT INTO mod_reports ({_REPORT_COLS.removeprefix('id, ')}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                values,
            ).one()
            assert row is not None
            return int(row[0])

        return self._q(insert, True)

    def get_report(self, world: str, report_id: int) -> Report | None:
        world, rid = check.text("world", world), check.int64("report_id", report_id)
        row = self._q(
            lambda c: c.execute(
                f"SELECT {_REPORT_COLS} FROM mod_reports WHERE world = ? AND id = ?", (world, rid)
            ).one()
        )
        return None if row is None else _report(row)

    def list_reports(
        self, world: str, status: str | None = "open", limit: int = 100
    ) -> list[Report]:
        world = check.text("world", world)
        limit = check.count("limit", limit, 0, MAX_LIST)
        sql, params = f"SELECT {_REPORT_COLS} FROM mod_reports WHERE world = ? ", list[Any]([world])
        if status is not None:
            sql += "AND status = ? "
            params.append(_one_of("status", status, REPORT_STATES))
        rows = self._q(
            lambda c: c.execute(sql + "ORDER BY id DESC LIMIT ?", (*params, limit)).all()
        )
        return [_report(r) for r in rows]

    def set_report_status(self, world: str, report_id: int, status: str) -> bool:
        values = (_one_of("status", status, REPORT_STATES), check.text("world", world),
                  check.int64("report_id", report_id))  # fmt: skip
        return bool(
            self._q(
                lambda c: (
                    c.execute(
                        "UPDATE mod_reports SET status = ? WHERE world = ? AND id = ?", values
                    ).rowcount
                ),
                True,
            )
        )

    # -- footage ----------------------------------------------------------------------------
    def save_footage(self, record: FootageRecord) -> int:
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

        def insert(c: Cursor) -> int:
            row = c.execute(
                "INSERT INTO mod_footage (world, zone, start_tick, end_tick, at, reason, size, "
                "data) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                values,
            ).one()
            assert row is not None
            return int(row[0])

        return self._q(insert, True)

    def get_footage(self, world: str, footage_id: int) -> FootageRecord | None:
        world, fid = check.text("world", world), check.int64("footage_id", footage_id)
        r = self._q(
            lambda c: c.execute(
                "SELECT id, world, zone, start_tick, end_tick, at, reason, size, data "
                "FROM mod_footage WHERE world = ? AND id = ?",
                (world, fid),
            ).one()
        )
        if r is None:
            return None
        return FootageRecord(r[1], r[2], int(r[3]), int(r[4]), float(r[5]), r[6], int(r[7]),
                             bytes(r[8]), int(r[0]))  # fmt: skip

    def list_footage(self, world: str, limit: int = 100) -> list[FootageRecord]:
        world = check.text("world", world)
        limit = check.count("limit", limit, 0, MAX_LIST)
        rows = self._q(
            lambda c: c.execute(
                "SELECT id, world, zone, start_tick, end_tick, at, reason, size FROM mod_footage "
                "WHERE world = ? ORDER BY id DESC LIMIT ?",
                (world, limit),
            ).all()
        )
        return [
            FootageRecord(
                r[1], r[2], int(r[3]), int(r[4]), float(r[5]), r[6], int(r[7]), b"", int(r[0])
            )
            for r in rows
        ]

    # -- flags ------------------------------------------------------------------------------
    def add_flag(self, flag: Flag) -> int:
        if not isinstance(flag, Flag):
            raise ValueError("expected a Flag")
        score = check.finite("score", flag.score)
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"score must be within [0, 1], not {score}")
        world = check.text("world", flag.world)
        detector = check.text("detector", flag.detector, _SHORT)
        account = check.int64("account_id", flag.account_id)
        subject = _text("subject", flag.subject, 200)
        evidence = check.to_json("evidence", flag.evidence, object_only=True)
        at = check.finite("at", flag.at)

        def upsert(c: Cursor) -> int:
            row = c.execute(
                "SELECT id FROM mod_flags WHERE world = ? AND detector = ? AND account_id = ? "
                "AND subject = ? AND status = 'open'",
                (world, detector, account, subject),
            ).one()
            if row is not None:
                c.execute(
                    "UPDATE mod_flags SET score = ?, evidence = ?, at = ? WHERE id = ?",
                    (score, evidence, at, row[0]),
                )
                return int(row[0])
            row = c.execute(
                "INSERT INTO mod_flags (world, detector, account_id, subject, score, evidence, "
                "at, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'open') RETURNING id",
                (world, detector, account, subject, score, evidence, at),
            ).one()
            assert row is not None
            return int(row[0])

        return self._q(upsert, True)

    def list_flags(self, world: str, status: str | None = "open", limit: int = 100) -> list[Flag]:
        world = check.text("world", world)
        limit = check.count("limit", limit, 0, MAX_LIST)
        sql, params = f"SELECT {_FLAG_COLS} FROM mod_flags WHERE world = ? ", list[Any]([world])
        if status is not None:
            sql += "AND status = ? "
            params.append(_one_of("status", status, FLAG_STATES))
        rows = self._q(
            lambda c: c.execute(sql + "ORDER BY id DESC LIMIT ?", (*params, limit)).all()
        )
        return [_flag(r) for r in rows]

    def set_flag_status(self, world: str, flag_id: int, status: str) -> bool:
        values = (_one_of("status", status, FLAG_STATES), check.text("world", world),
                  check.int64("flag_id", flag_id))  # fmt: skip
        return bool(
            self._q(
                lambda c: (
                    c.execute(
                        "UPDATE mod_flags SET status = ? WHERE world = ? AND id = ?", values
                    ).rowcount
                ),
                True,
            )
        )

    # -- audit ------------------------------------------------------------------------------
    def add_audit(self, entry: AuditEntry) -> int:
        if not isinstance(entry, AuditEntry):
            raise ValueError("expected an AuditEntry")
        values = (
            check.text("world", entry.world), check.int64("moderator_id", entry.moderator_id),
            check.text("action", entry.action, _SHORT),
            _opt_int("target_account", entry.target_account),
            _text("reason", entry.reason, MAX_REPORT_TEXT), check.finite("at", entry.at),
            check.to_json("detail", entry.detail, object_only=True),
        )  # fmt: skip

        def insert(c: Cursor) -> int:
            row = c.execute(
                "INSERT INTO mod_audit (world, moderator_id, action, target_account, reason, at, "
                "detail) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                values,
            ).one()
            assert row is not None
            return int(row[0])

        return self._q(insert, True)

    def list_audit(
        self, world: str, target_account: int | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        world = check.text("world", world)
        limit = check.count("limit", limit, 0, MAX_LIST)
        sql, params = f"SELECT {_AUDIT_COLS} FROM mod_audit WHERE world = ? ", list[Any]([world])
        if target_account is not None:
            sql += "AND target_account = ? "
            params.append(check.int64("target_account", target_account))
        rows = self._q(
            lambda c: c.execute(sql + "ORDER BY id DESC LIMIT ?", (*params, limit)).all()
        )
        return [_audit(r) for r in rows]

    # -- bans -------------------------------------------------------------------------------
    def add_ban(self, ban: Ban) -> int:
        if not isinstance(ban, Ban):
            raise ValueError("expected a Ban")
        values = (
            check.text("world", ban.world), _one_of("kind", ban.kind, BAN_KINDS),
            check.text("value", ban.value, 200),
            None if ban.until is None else check.finite("until", ban.until),
            _text("reason", ban.reason, MAX_REPORT_TEXT), check.int64("by", ban.by),
            check.finite("at", ban.at),
        )  # fmt: skip

        def insert(c: Cursor) -> int:
            row = c.execute(
                "INSERT INTO mod_bans (world, kind, value, until, reason, by_id, at, lifted) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (*values, False),
            ).one()
            assert row is not None
            return int(row[0])

        return self._q(insert, True)

    def active_bans(self, world: str, now: float) -> list[Ban]:
        world, now = check.text("world", world), check.finite("now", now)
        rows = self._q(
            lambda c: c.execute(
                f"SELECT {_BAN_COLS} FROM mod_bans WHERE world = ? AND lifted = ? "
                "AND (until IS NULL OR until > ?) ORDER BY id DESC",
                (world, False, now),
            ).all()
        )
        return [_ban(r) for r in rows]

    def bans_on(
        self, world: str, account_id: int | None, address: str | None, now: float
    ) -> list[Ban]:
        world, now = check.text("world", world), check.finite("now", now)
        wanted: list[tuple[str, str]] = []
        if account_id is not None:
            wanted.append(("account", str(check.int64("account_id", account_id))))
        if address is not None:
            wanted.append(("address", check.text("address", address, 200)))
        if not wanted:
            return []
        match = " OR ".join("(kind = ? AND value = ?)" for _ in wanted)
        params = (world, False, now, *(v for pair in wanted for v in pair))
        rows = self._q(
            lambda c: c.execute(
                f"SELECT {_BAN_COLS} FROM mod_bans WHERE world = ? AND lifted = ? "
                f"AND (until IS NULL OR until > ?) AND ({match}) ORDER BY id DESC",
                params,
            ).all()
        )
        return [_ban(r) for r in rows]

    def lift_ban(self, world: str, ban_id: int) -> bool:
        values = (True, check.text("world", world), check.int64("ban_id", ban_id))
        return bool(
            self._q(
                lambda c: (
                    c.execute(
                        "UPDATE mod_bans SET lifted = ? WHERE world = ? AND id = ?", values
                    ).rowcount
                ),
                True,
            )
        )

    # -- watch list and logins --------------------------------------------------------------
    def set_watch(self, world: str, account_id: int, watched: bool, by: int, reason: str) -> None:
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

        self._q(run, True)

    def list_watch(self, world: str) -> list[int]:
        world = check.text("world", world)
        rows = self._q(
            lambda c: c.execute(
                "SELECT account_id FROM mod_watch WHERE world = ? ORDER BY account_id", (world,)
            ).all()
        )
        return [int(r[0]) for r in rows]

    def record_login(self, login: Login) -> None:
        if not isinstance(login, Login):
            raise ValueError("expected a Login")
        values = (check.text("world", login.world), check.int64("account_id", login.account_id),
                  _text("address", login.address, 200), check.finite("at", login.at))  # fmt: skip
        self._q(
            lambda c: c.execute(
                "INSERT INTO mod_logins (world, account_id, address, at) VALUES (?, ?, ?, ?)",
                values,
            ),
            True,
        )

    def list_logins(
        self, world: str, account_id: int | None = None, limit: int = 1000
    ) -> list[Login]:
        world = check.text("world", world)
        limit = check.count("limit", limit, 0, MAX_LIST)
        sql = "SELECT world, account_id, address, at FROM mod_logins WHERE world = ? "
        params: list[Any] = [world]
        if account_id is not None:
            sql += "AND account_id = ? "
            params.append(check.int64("account_id", account_id))
        rows = self._q(
            lambda c: c.execute(sql + "ORDER BY id DESC LIMIT ?", (*params, limit)).all()
        )
        return [Login(r[0], int(r[1]), r[2], float(r[3])) for r in rows]

    def list_txns(
        self, world: str, kinds: tuple[str, ...], after_id: int, since: float, limit: int = 1000
    ) -> list[Any]:
        from ._sql import _TXN_COLUMNS, _txn  # _sql mixes this class in: import at call time

        world = check.text("world", world)
        if not isinstance(kinds, tuple) or not 0 < len(kinds) <= 16:
            raise ValueError("kinds must be a tuple of 1-16 transaction kinds")
        names = [check.kind("kind", k) for k in kinds]
        after = check.int64("after_id", after_id, 0)
        since = check.finite("since", since)
        limit = check.count("limit", limit, 0, MAX_LIST)
        marks = ", ".join("?" for _ in names)
        rows = self._q(
            lambda c: c.execute(
                f"SELECT {_TXN_COLUMNS} FROM ledger_txns WHERE world = ? AND id > ? "
                f"AND kind IN ({marks}) AND created_at >= ? ORDER BY id LIMIT ?",
                (world, after, *names, since, limit),
            ).all()
        )
        return [_txn(r) for r in rows]


def _text(name: str, value: object, max_len: int) -> str:
    """Free text (may be empty), bounded; control characters other than newline refused."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    if len(value) > max_len:
        raise ValueError(f"{name} is longer than {max_len} characters")
    if any((ord(ch) < 32 and ch not in "\n\t") or ch == "\x7f" for ch in value):
        raise ValueError(f"{name} contains control characters")
    return check.clean(name, value)
