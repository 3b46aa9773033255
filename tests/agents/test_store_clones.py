"""Clones in the database: the store's clone tables and `StoreCloneRepository`, on SQLite and
the real PostgreSQL (a fresh schema per test)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from callister.agents import Licence, SeenEvent, notice
from callister.agents.clonefile import export_clone, import_clone, read_clone_file
from callister.agents.errors import CloneDead
from callister.agents.repository import CloneNotFound
from callister.server.crew import StoreCloneRepository
from callister.store import CloneFilter, NotFound, Store, open_store

from ._support import make_clone

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path / 'clones.db'}")
        yield s
        s.close()
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    s = open_store(f"{PG_URL}?schema={schema}")
    try:
        yield s
    finally:
        s.close()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _lived(clone_id: int = 2**61 + 5):  # type: ignore[no-untyped-def]
    clone = make_clone(clone_id, name="Ada")
    for t in range(1, 30):
        notice(clone, SeenEvent("attacked", 100 + t, actor=77, target=clone_id), me=clone_id)
    clone.relationships.of(77, "Raider").hostile = True
    return clone


def test_round_trip_keeps_every_field(store: Store) -> None:
    repo = StoreCloneRepository(store)
    clone = _lived()
    repo.put(clone, ship_id=42)
    back = repo.get(clone.id)
    assert back.to_dict() == clone.to_dict()
    assert store.list_clones(CloneFilter(ship_id=42))[0].memories == len(clone.memory)
    # replacing keeps one copy, not two
    clone.memory.add(500, "Docked at station 1.", importance=3, event="docked")
    repo.put(clone, ship_id=None)
    again = repo.get(clone.id)
    assert len(again.memory) == len(clone.memory)
    assert store.get_clone(clone.id).ship_id is None  # type: ignore[union-attr]


def test_dead_clone_is_an_archive_that_cannot_act(store: Store) -> None:
    repo = StoreCloneRepository(store)
    clone = _lived()
    clone.die(900, "hull breach")
    repo.put(clone)
    back = repo.get(clone.id)
    assert not back.alive and back.death_cause == "hull breach"
    assert [c.id for c in repo.list(alive=False)] == [clone.id]
    with pytest.raises(CloneDead):
        back.require_alive()


def test_unlicensed_clone_is_marked(store: Store) -> None:
    subject = store.create_account("subject", "h")
    repo = StoreCloneRepository(store)
    clone = make_clone(2**61 + 9, licence=Licence(owner=None, subject=subject.id))
    repo.put(clone)
    assert store.list_clones()[0].licence == "unlicensed"
    consent = store.record_consent(subject.id)
    assert store.active_consent(subject.id, 99) == consent
    assert store.revoke_consent(subject.id, consent.id)
    assert store.active_consent(subject.id, None) is None
    with pytest.raises(NotFound):
        store.record_consent(123456)


def test_export_import_through_the_database(store: Store) -> None:
    repo = StoreCloneRepository(store, world="alpha")
    clone = _lived()
    repo.put(clone)
    key = repo.signing_key()
    assert repo.signing_key().public_bytes == key.public_bytes  # stored, not regenerated
    data = export_clone(repo.get(clone.id), key, world="alpha", tick=200)
    store.trust_key("beta", key.public_bytes, "alpha")
    trusted = [k.public_key for k in store.trusted_keys("beta")]
    assert read_clone_file(data, trusted=trusted).clone.id == clone.id
    arrived = import_clone(data, world="beta", tick=300, trusted=trusted, new_id=repo.new_id())
    repo.put(arrived)
    assert repo.get(arrived.id).world == "beta"


def test_bad_input_is_refused(store: Store) -> None:
    repo = StoreCloneRepository(store)
    with pytest.raises(CloneNotFound):
        repo.get(12345)
    with pytest.raises(CloneNotFound):
        repo.purge(12345)
    with pytest.raises(ValueError):
        store.trust_key("w", b"short", "x")
    with pytest.raises(NotFound):
        store.set_clone_ship(999, 1)
    with pytest.raises(ValueError):
        store.get_clone("nope")  # type: ignore[arg-type]


def test_cli_export_import_against_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from callister.cli.main import main

    db = f"sqlite:///{tmp_path / 'server.db'}"

    def run(*args: str) -> Any:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            main(list(args))
        assert not exit_.value.code
        return json.loads(capsys.readouterr().out)

    made = run("clone", "new", "--name", "Ada", "--role", "gunner", "--db", db, "--json")
    out = tmp_path / "ada.clone"
    run("clone", "export", str(made["id"]), "-o", str(out), "--db", db, "--json")
    other = f"sqlite:///{tmp_path / 'other.db'}"
    got = run("clone", "import", str(out), "--world", "beta", "--db", other, "--json")
    assert got["id"] == made["id"] and got["world"] == "beta"
    listed = run("clone", "list", "--db", other, "--json")
    assert [c["id"] for c in listed] == [made["id"]] or [c["id"] for c in listed["clones"]] == [
        made["id"]
    ]
    tampered = out.read_bytes().replace(b'"Ada"', b'"Eve"')
    (tmp_path / "bad.clone").write_bytes(tampered)
    with pytest.raises(SystemExit) as exit_:
        main(["clone", "import", str(tmp_path / "bad.clone"), "--world", "w", "--db", other])
    assert exit_.value.code
