"""Read a test database with its driver directly, not through the store code under test."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
from psycopg import sql


def _pg(url: str) -> tuple[str, str]:
    base, schema = url.split("?schema=")
    return base, schema


def raw_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for t in tables:
            out[t] = list(conn.execute(f'SELECT * FROM "{t}"'))
        conn.close()
        return out
    base, schema = _pg(url)
    with psycopg.connect(base, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,))]  # fmt: skip
        for t in tables:
            out[t] = list(conn.execute(sql.SQL("SELECT * FROM {}.{}").format(
                sql.Identifier(schema), sql.Identifier(t))))  # fmt: skip
    return out


def table_columns(url: str) -> dict[str, list[str]]:
    """Column names per table, in order."""
    found: dict[str, list[str]] = {}
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            found[t] = [r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')]
        conn.close()
        return found
    base, schema = _pg(url)
    with psycopg.connect(base, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = %s ORDER BY table_name, ordinal_position",
            (schema,),
        )
        for t, c in rows:
            found.setdefault(t, []).append(c)
    return found


def world_rows(url: str, world: str) -> dict[str, list[tuple[Any, ...]]]:
    """Per table with a `world` column: the rows whose world is `world`, sorted, as the driver
    returns them (bytes compared as bytes, floats as floats)."""
    columns = table_columns(url)
    out: dict[str, list[tuple[Any, ...]]] = {}
    for table, rows in raw_rows(url).items():
        cols = columns[table]
        if "world" not in cols:
            continue
        at = cols.index("world")
        out[table] = sorted((r for r in rows if r[at] == world), key=repr)
    return out
