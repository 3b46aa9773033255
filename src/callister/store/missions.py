"""`MissionRepository`: each character's missions progress, one JSON document per (account,
world): the tutorial, the mission log, reputation (docs/missions.md, "State").

The store does not read the document: it keeps what `missions.Progress.to_dict()` gave, and
the server reads it back with `Progress.from_dict` (which knows the version). Money a mission
moves is in the ledger, under idempotent keys: a progress saved after its requests commit can
be lost in a crash only to be replayed (the keys apply once), never paid twice.
"""

from __future__ import annotations

import json
import time
from typing import Any

from . import _check as check
from .database import ConstraintViolation, Database
from .errors import NotFound


class MissionRepository:
    """Missions progress per character."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, account_id: int, world: str) -> dict[str, Any] | None:
        """The saved progress document of that account in that world, or None."""
        account_id = check.int64("account_id", account_id)
        world = check.world_name(world)
        doc = self._db.scalar(
            "SELECT doc FROM mission_progress WHERE account_id = ? AND world = ?",
            (account_id, world),
        )
        if doc is None:
            return None
        value = json.loads(str(doc))
        if not isinstance(value, dict):  # written only by `save`, which takes objects
            raise ValueError(f"mission_progress of account {account_id} is not a JSON object")
        return value

    def save(self, account_id: int, world: str, doc: dict[str, Any]) -> None:
        """Insert or replace the document (a JSON object). NotFound if the account does not
        exist; ValueError for a value that is not JSON as it will load back."""
        account_id = check.int64("account_id", account_id)
        world = check.world_name(world)
        text = check.to_json("doc", doc, object_only=True)
        try:
            self._db.execute(
                "INSERT INTO mission_progress (account_id, world, doc, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (account_id, world) DO UPDATE SET "
                "doc = excluded.doc, updated_at = excluded.updated_at",
                (account_id, world, text, time.time()),
            )
        except ConstraintViolation as exc:
            if exc.kind == "foreign_key":
                raise NotFound(f"no account {account_id}") from exc
            raise
