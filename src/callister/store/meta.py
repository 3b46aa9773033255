"""`MetaRepository`: small named values, the server's own or one world's (its clock).

A world's keys live in rows with its `world` column, so they are deleted with the world and
copied by a spatial fork; the server's keys have world ''.
"""

from __future__ import annotations

from . import _check as check
from .database import Database


def _scope(world: str | None) -> str:
    """The `meta.world` of a key: '' for server-wide keys, else a valid world name (so no
    world's keys can be written under another's, or under the server's)."""
    return "" if world is None else check.world_name(world)


class MetaRepository:
    """Metadata values by key, server-wide (world None) or of one world."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, key: str, *, world: str | None = None) -> str | None:
        """The metadata value for `key`, or None: the server's (world None) or one world's
        (kept with the world's other rows, deleted with it, copied by a spatial fork)."""
        key = check.text("key", key)
        scope = _scope(world)
        value = self._db.scalar("SELECT value FROM meta WHERE world = ? AND key = ?", (scope, key))
        return None if value is None else str(value)

    def set(self, key: str, value: str, *, world: str | None = None) -> None:
        """Set a metadata value (upsert), server-wide (world None) or of one world.
        ValueError for a server-wide key starting "world." (pass world= instead)."""
        key = check.text("key", key)
        scope = _scope(world)
        if not scope and key.startswith("world."):
            raise ValueError(
                f"meta key {key!r} looks world-scoped: pass world=<name> and the bare key, so "
                "the world's deletion finds it by its world column"
            )
        if not isinstance(value, str):
            raise ValueError(f"meta value must be a str, not {type(value).__name__}")
        check.clean("meta value", value)
        self._db.execute(
            "INSERT INTO meta (world, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (world, key) DO UPDATE SET value = excluded.value",
            (scope, key, value),
        )
