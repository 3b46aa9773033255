"""What the schema holds, read from the database itself (both dialects): its tables, their
columns, and the world tables (every table with a `world` column), so that code which must cover
every world-scoped table (deleting, moving, forking, checksumming a world) finds the tables other
features add without a list to keep up to date. `world_audit` has no `world` column on purpose:
the audit record of what happened to a world outlives it."""

from __future__ import annotations

import re

from .database import Cursor

_IDENT = re.compile(r"[a-z_][a-z0-9_]*")


def tables(cur: Cursor) -> list[str]:
    """Every table of the database (of the current schema on PostgreSQL), sorted."""
    if cur.dialect == "sqlite":
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


def columns(cur: Cursor, table: str) -> list[str]:
    """The table's columns in their declared order (ValueError for a name that is not one)."""
    if not _IDENT.fullmatch(table):
        raise ValueError(f"not a table name: {table!r}")
    if cur.dialect == "sqlite":
        return [str(r[1]) for r in cur.execute(f'PRAGMA table_info("{table}")').all()]
    rows = cur.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND table_name = ? ORDER BY ordinal_position",
        (table,),
    ).all()
    return [str(r[0]) for r in rows]


def world_tables(cur: Cursor) -> list[str]:
    """Every table with a `world` column, sorted."""
    return [t for t in tables(cur) if "world" in columns(cur, t)]
