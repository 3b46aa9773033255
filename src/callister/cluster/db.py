"""Raw database connections for the cluster's fenced writes (cluster/fencing.py, outbox.py).

They take the same URL as the store (`postgresql://…[?schema=NAME]` or `sqlite:///path.db`) and
open a connection of their own: the fenced transactions must not interleave with the store
writer's, and each caller (the worker's fence thread, the outbox relay) uses one at a time.
"""

from __future__ import annotations

import sqlite3
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from callister.store.url import redact


class ClusterDbError(ValueError):
    """The database URL cannot carry cluster state."""


def connect(url: str) -> Any:
    """An autocommit connection (psycopg 3, or sqlite3 with isolation_level=None)."""
    if url.startswith(("postgresql://", "postgres://")):
        import psycopg
        from psycopg import sql

        parts = urlsplit(url)
        params = parse_qsl(parts.query, keep_blank_values=True)
        schemas = [v for k, v in params if k == "schema"]
        rest = [(k, v) for k, v in params if k != "schema"]
        conninfo = urlunsplit(parts._replace(query=urlencode(rest)))
        try:
            conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise ClusterDbError(f"cannot connect to {redact(url)}: {exc}") from exc
        if schemas:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schemas[0])))
        return conn
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :].partition("?")[0]
        lite = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        lite.execute("PRAGMA journal_mode = WAL")
        lite.execute("PRAGMA busy_timeout = 10000")
        return lite
    raise ClusterDbError(
        f"a cluster needs postgresql://… (or sqlite:///… on one machine), not {redact(url)!r}"
    )
