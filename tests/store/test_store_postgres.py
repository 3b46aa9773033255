"""PostgreSQL-only behaviour: schema placement, reconnecting, connection errors."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from psycopg import sql

from callister.store import StoreError, open_store

pytestmark = pytest.mark.postgres


def tables_in(base: str, schema: str) -> set[str]:
    with psycopg.connect(base) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
    return {r[0] for r in rows}


def test_tables_live_in_the_named_schema(pg_base: str, pg_url: str) -> None:
    schema = pg_url.rpartition("schema=")[2]
    with open_store(pg_url) as store:
        assert store.db.dialect == "postgresql"
        store.meta.set("k", "v")
    assert {"accounts", "characters", "deltas", "discoveries", "meta"} <= tables_in(pg_base, schema)
    assert "accounts" not in tables_in(pg_base, "public")


def test_reconnects_once_after_the_connection_is_killed(pg_base: str, pg_url: str) -> None:
    with open_store(pg_url) as store:
        store.meta.set("k", "before")
        pid = store.db.scalar("SELECT pg_backend_pid()")
        with psycopg.connect(pg_base, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert store.meta.get("k") == "before"  # transparently on a new connection
        assert store.db.scalar("SELECT pg_backend_pid()") != pid
        store.meta.set("k", "after")  # writes work too, and the search_path was restored
        assert store.characters.reserve_ids(1) == range(1, 2)
    with open_store(pg_url) as store:
        assert store.meta.get("k") == "after"


def test_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="cannot connect to postgresql://u:\\*\\*\\*@") as info:
        open_store("postgresql://u:secret@127.0.0.1:1/db?connect_timeout=2")
    assert "secret" not in str(info.value)  # passwords never reach logs


@pytest.mark.parametrize("schema", ["bad-name", "x;drop", "1abc", "a" * 64])
def test_bad_schema_name(schema: str) -> None:
    with pytest.raises(StoreError, match="schema must be a plain identifier"):
        open_store(f"postgresql://postgres@127.0.0.1:1/test?schema={schema}")


def test_postgres_scheme_alias_and_extra_params(pg_base: str) -> None:
    schema = f"t_{uuid.uuid4().hex[:16]}"
    url = pg_base.replace("postgresql://", "postgres://") + f"?schema={schema}&sslmode=disable"
    try:
        with open_store(url) as store:
            assert store.db.schema_version() >= 1
    finally:
        with psycopg.connect(pg_base, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def test_a_separate_connection_is_in_the_same_schema(pg_base: str, pg_url: str) -> None:
    """`connect_separate()` (the cluster's fenced connections): another session, same schema."""
    schema = pg_url.rpartition("schema=")[2]
    with open_store(pg_url) as store:
        other = store.db.connect_separate()
        try:
            assert other.scalar("SELECT current_schema()") == schema
            assert other.scalar("SELECT pg_backend_pid()") != store.db.scalar(
                "SELECT pg_backend_pid()"
            )
            store.meta.set("k", "v")
            assert other.scalar("SELECT value FROM meta WHERE key = 'k'") == "v"
        finally:
            other.close()


def test_a_failed_pipelined_transaction_always_leaves_the_connection_usable(pg_url: str) -> None:
    """A pipelined write whose statement fails unseen (`Database.pipelined`) is rolled back
    every time: the failure sometimes lands after the last result psycopg read, and the
    ROLLBACK was then refused as "pipeline aborted" and never sent, so the connection's next
    statement failed "current transaction is aborted" (the flaky
    test_a_pipelined_transaction_reads_counts_and_fails_like_any_other: 32 of 200 here)."""
    with open_store(pg_url) as store:
        db = store.db
        db.execute("CREATE TABLE pipe_t (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)")
        db.execute("INSERT INTO pipe_t (k, v) VALUES (1, 0), (2, 0)")
        db.pipelined = True

        def duplicate(cur: Any) -> None:
            cur.execute("UPDATE pipe_t SET v = 3 WHERE k = 1")
            cur.execute("INSERT INTO pipe_t (k, v) VALUES (2, 5)")  # the key is taken
            cur.execute("UPDATE pipe_t SET v = 4 WHERE k = 1")

        for _ in range(200):
            with pytest.raises(StoreError):
                db.write(duplicate)
            assert db.scalar("SELECT v FROM pipe_t WHERE k = 1") == 0  # nothing written
