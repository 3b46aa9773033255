"""The world audit log (`world_audit`): what happened to worlds, clones' consents and trusted
keys, written in the same transaction as the change it records. It has no `world` column, so it
outlives the worlds it tells of."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from . import _check as check
from .database import Cursor, Row
from .records import AuditRecord

AUDIT_COLUMNS = "id, at, actor, action, subject, detail"


def insert_audit(
    cur: Cursor, actor: int | None, action: str, subject: str, detail: Mapping[str, Any]
) -> int:
    """Append a record inside the caller's transaction; its id."""
    row = cur.execute(
        "INSERT INTO world_audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?) "
        "RETURNING id",
        (time.time(), actor, action, subject, check.to_json("detail", dict(detail))),
    ).one()
    assert row is not None
    return int(row[0])


def audit_record(row: Row) -> AuditRecord:
    """The record of an `AUDIT_COLUMNS` row."""
    id_, at, actor, action, subject, detail = row
    return AuditRecord(
        id=int(id_),
        at=float(at),
        actor=None if actor is None else int(actor),
        action=action,
        subject=subject,
        detail=json.loads(detail),
    )
