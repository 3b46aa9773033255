"""SQLite-only behaviour: URL forms, pragmas, several processes on one file, crash safety."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from callister.store import Database, StoreError, open_store
from callister.store.sqlite import SqliteDatabase

WORKER = Path(__file__).with_name("store_worker.py")


def pragma(db: Database, name: str) -> object:
    assert isinstance(db, SqliteDatabase)
    return db.scalar(f"PRAGMA {name}")


def test_url_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cases = {
        "sqlite:///rel/dir/a.db": tmp_path / "rel/dir/a.db",  # parents are created
        f"sqlite:///{tmp_path}/abs/b.db": tmp_path / "abs/b.db",
        "plain/c.db": tmp_path / "plain/c.db",
        "d.sqlite": tmp_path / "d.sqlite",
        str(tmp_path / "e.sqlite3"): tmp_path / "e.sqlite3",
    }
    for url, path in cases.items():
        with open_store(url) as store:
            assert store.db.dialect == "sqlite"
            store.meta.set("k", url)
        assert path.is_file(), url
        with open_store(url) as store:
            assert store.meta.get("k") == url
    with open_store(tmp_path / "pathlike.db") as store:  # a Path works too
        store.meta.set("k", "v")
    assert (tmp_path / "pathlike.db").is_file()
    for url in (":memory:", "sqlite:///:memory:"):
        with open_store(url) as store:
            assert store.characters.reserve_ids(2) == range(1, 3)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty store URL"),
        ("mysql://localhost/db", "unsupported store URL scheme"),
        ("data/world.txt", "unrecognised store URL"),
        ("sqlite://x.db", "three slashes"),
        ("sqlite:///", "no file path"),
        ("sqlite:///x.db?bogus=1", "unknown SQLite URL parameter"),
        ("sqlite:///x.db?synchronous=OFF", "synchronous must be FULL or NORMAL"),
        ("sqlite:///x.db?busy_timeout=soon", "bad SQLite URL"),
    ],
)
def test_bad_urls(url: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match=message):
        open_store(url)


def test_pragmas(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path}/full.db") as store:
        assert pragma(store.db, "journal_mode") == "wal"
        assert pragma(store.db, "synchronous") == 2  # FULL
        assert pragma(store.db, "foreign_keys") == 1
        assert pragma(store.db, "busy_timeout") == 10_000
    with open_store(f"sqlite:///{tmp_path}/normal.db?synchronous=normal&busy_timeout=2") as s:
        assert pragma(s.db, "synchronous") == 1  # NORMAL
        assert pragma(s.db, "busy_timeout") == 2_000
    with SqliteDatabase(tmp_path / "direct.db", synchronous="NORMAL") as db:
        assert pragma(db, "synchronous") == 1
    with pytest.raises(ValueError, match="synchronous"):
        SqliteDatabase(tmp_path / "x.db", synchronous="OFF")


def test_locked_database_gives_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    store = open_store(f"sqlite:///{path}?busy_timeout=0.2")
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        started = time.monotonic()
        with pytest.raises(StoreError, match="locked"):
            store.characters.reserve_ids(1)
        assert time.monotonic() - started >= 0.15  # it waited busy_timeout first
        assert store.meta.get("x") is None  # reads still work under WAL
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert store.characters.reserve_ids(1) == range(1, 2)  # the failed call consumed nothing
    store.db.close()


@pytest.mark.slow
def test_reserve_ids_two_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ids.db"
    open_store(url).db.close()  # migrate first, so both workers race on ids only
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), "reserve", url, "300"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    ranges = [tuple(map(int, line.split())) for out in outputs for line in out.splitlines()]
    assert len(ranges) == 600
    ids = sorted(i for start, stop in ranges for i in range(start, stop))
    assert ids == list(range(1, len(ids) + 1))  # disjoint, and no id lost
    with open_store(url) as store:
        assert store.characters.reserve_ids(1).start == len(ids) + 1


@pytest.mark.slow
def test_sigkill_mid_write_loses_no_committed_write(tmp_path: Path) -> None:
    # Three rounds of: a writer process saving 20-character batches, killed with SIGKILL at a
    # random moment (almost always inside a transaction). After each, the file must be intact,
    # every batch the writer reported must be complete, and the batch in flight all or nothing.
    # (SIGKILL tests atomicity and recovery; surviving power loss is synchronous=FULL's job.)
    path = tmp_path / "crash.db"
    accounts = 20
    rng = random.Random(1234)
    for round_ in range(3):
        prefix = f"r{round_}w"
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), "write", f"sqlite:///{path}", str(accounts), prefix],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        printed, target = -1, rng.randrange(20, 60)
        deadline = time.monotonic() + 20
        try:
            while printed < target and time.monotonic() < deadline:
                line = proc.stdout.readline()
                assert line, f"worker died early (exit {proc.poll()})"
                printed = int(line)
            time.sleep(rng.uniform(0, 0.01))
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        assert printed >= 5, "worker too slow to test anything"

        raw = sqlite3.connect(path)
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        raw.close()
        with open_store(f"sqlite:///{path}") as store:
            pilots = [store.accounts.by_name(f"pilot{n}") for n in range(accounts)]
            ids = [a.id for a in pilots if a is not None]
            assert len(ids) == accounts
            saved = {}
            for i in range(printed + 50):  # the reader may lag the writer by a few batches
                found = [store.characters.load(a, f"{prefix}{i}") for a in ids]
                saved[i] = sum(c is not None for c in found)
                assert all(c is None or (c.extra["i"] == i and c.x == i / 3) for c in found)
            assert all(saved[i] == accounts for i in range(printed + 1)), "lost a commit"
            assert all(n in (0, accounts) for n in saved.values()), "a batch was half-written"


def test_a_separate_connection_keeps_the_url_settings(tmp_path: Path) -> None:
    """`connect_separate()` (the cluster's fenced connections) opens the same file with the
    same pragmas, without migrating again; an in-memory database cannot be opened twice."""
    with open_store(f"sqlite:///{tmp_path}/s.db?synchronous=NORMAL&busy_timeout=2") as store:
        other = store.db.connect_separate()
        try:
            assert pragma(other, "synchronous") == 1 and pragma(other, "busy_timeout") == 2_000
            assert pragma(other, "foreign_keys") == 1 and pragma(other, "journal_mode") == "wal"
            store.meta.set("k", "v")
            assert other.scalar("SELECT value FROM meta WHERE key = 'k'") == "v"
            assert other.schema_version() == store.db.schema_version()
        finally:
            other.close()
    with open_store(":memory:") as store, pytest.raises(StoreError, match="in-memory"):
        store.db.connect_separate()
