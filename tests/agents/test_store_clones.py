"""Clones in the database: the store's clone tables and `StoreCloneRepository`, on SQLite and
the real PostgreSQL (a fresh schema per test)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from callister.agents import Goal, Licence, SeenEvent, notice
from callister.agents.clonefile import SigningKey, export_clone, import_clone, read_clone_file
from callister.agents.errors import CloneDead
from callister.agents.repository import CloneNotFound
from callister.cli.main import main
from callister.moderation.detect.clones import unlicensed_clones
from callister.server.crew import StoreCloneRepository, clone_to_row
from callister.store import CloneFilter, NotFound, Store, open_store

from ._support import make_clone

DATA = Path(__file__).parent / "data"

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path / 'clones.db'}")
        yield s
        s.db.close()
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    s = open_store(f"{PG_URL}?schema={schema}")
    try:
        yield s
    finally:
        s.db.close()
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
    assert store.clones.find(CloneFilter(ship_id=42))[0].memories == len(clone.memory)
    # replacing keeps one copy, not two
    clone.memory.add(500, "Docked at station 1.", importance=3, event="docked")
    repo.put(clone, ship_id=None)
    again = repo.get(clone.id)
    assert len(again.memory) == len(clone.memory)
    assert store.clones.get(clone.id).ship_id is None  # type: ignore[union-attr]


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
    subject = store.accounts.create("subject", "h")
    repo = StoreCloneRepository(store)
    clone = make_clone(2**61 + 9, licence=Licence(owner=None, subject=subject.id))
    repo.put(clone)
    assert store.clones.find()[0].licence == "unlicensed"
    consent = store.clones.record_consent(subject.id)
    assert store.clones.active_consent(subject.id, 99) == consent
    assert store.clones.revoke_consent(subject.id, consent.id)
    assert store.clones.active_consent(subject.id, None) is None
    with pytest.raises(NotFound):
        store.clones.record_consent(123456)


def test_export_import_through_the_database(store: Store) -> None:
    repo = StoreCloneRepository(store, world="alpha")
    clone = _lived()
    repo.put(clone)
    key = repo.signing_key()
    assert repo.signing_key().public_bytes == key.public_bytes  # stored, not regenerated
    data = export_clone(repo.get(clone.id), key, world="alpha", tick=200)
    store.clones.trust_key("beta", key.public_bytes, "alpha")
    trusted = [k.public_key for k in store.clones.trusted_keys("beta")]
    assert read_clone_file(data, trusted=trusted).clone.id == clone.id
    arrived = import_clone(
        data, world="beta", tick=300, own=repo.own_keys(), new_id=repo.new_id()
    ).clone
    repo.put(arrived)
    assert repo.get(arrived.id).world == "beta"
    # every world's key on this database is the server's own (the worlds share accounts)
    other = StoreCloneRepository(store, world="beta")
    assert {k for k in other.own_keys()} == {key.public_bytes, other.signing_key().public_bytes}


def test_bad_input_is_refused(store: Store) -> None:
    repo = StoreCloneRepository(store)
    with pytest.raises(CloneNotFound):
        repo.get(12345)
    with pytest.raises(CloneNotFound):
        repo.purge(12345)
    with pytest.raises(ValueError):
        store.clones.trust_key("w", b"short", "x")
    with pytest.raises(ValueError):
        store.clones.untrust_key("w", b"short")
    with pytest.raises(ValueError, match="licence_key"):
        store.clones.put(replace(clone_to_row(make_clone(2**61 + 3)), licence_key=b"x"))
    with pytest.raises(NotFound):
        store.clones.set_ship(999, 1)
    with pytest.raises(ValueError):
        store.clones.get("nope")  # type: ignore[arg-type]


# -- issue 13 M1: licences are checked, not believed ------------------------------------


def test_a_consent_id_is_checked_not_believed(store: Store) -> None:
    alice, bob, carol = (store.accounts.create(n, "h") for n in ("alice", "bob", "carol"))
    repo = StoreCloneRepository(store)
    consent = store.clones.record_consent(alice.id, bob.id)  # alice lets bob clone her
    cid = str(consent.id)
    clones = {
        "granted": Licence(owner=bob.id, subject=alice.id, consent=cid),
        "not the grantee": Licence(owner=carol.id, subject=alice.id, consent=cid),
        "no such record": Licence(owner=bob.id, subject=alice.id, consent="999"),
        "someone else's record": Licence(owner=bob.id, subject=bob.id, consent=cid),
        "no consent": Licence(owner=bob.id, subject=alice.id),
    }
    ids = {}
    for i, (name, licence) in enumerate(clones.items()):
        clone = make_clone(2**61 + 100 + i, licence=licence)
        repo.put(clone)
        ids[name] = clone.id
    status = {c.id: c.licence for c in store.clones.find()}
    assert {name: status[ids[name]] for name in clones} == {
        "granted": "licensed",
        "not the grantee": "unlicensed",
        "no such record": "unlicensed",
        "someone else's record": "unlicensed",
        "no consent": "unlicensed",
    }
    granted = ids["granted"]
    assert repo.get(granted).licence.proven and not repo.get(ids["no such record"]).licence.proven
    # revoking the consent unlicenses at once: lists, rows, the repository and the detector
    assert store.clones.revoke_consent(alice.id, consent.id, alice.id)
    assert store.clones.find(CloneFilter(ids=(granted,)))[0].licence == "unlicensed"
    assert store.clones.get(granted).licence == "unlicensed"  # type: ignore[union-attr]
    back = repo.get(granted)
    assert back.licence.status == "unlicensed"
    assert [(f.subject, f.account_id) for f in unlicensed_clones([back])] == [
        (str(granted), bob.id)
    ]
    audit = store.worlds.list_audit(str(alice.id))
    assert [(a.action, a.actor, a.detail) for a in audit] == [
        ("clone_consent_revoked", alice.id, {"consent": consent.id})
    ]


def test_another_servers_licence_follows_the_trusted_keys(store: Store) -> None:
    from callister.agents.clonefile import issue_licence_proof

    alpha = SigningKey.generate()
    here = store.accounts.create("mallory", "h")  # the same account number as alpha's subject
    ours = store.clones.record_consent(here.id)  # ... and a consent record with the same id here
    proof = issue_licence_proof(
        alpha, subject=here.id, consent=str(ours.id), grantee=None, granted_at=1.0, issued_at=2.0
    )
    licence = Licence(subject=here.id, consent=str(ours.id), home=alpha.fingerprint, proof=proof)
    repo = StoreCloneRepository(store, world="beta")
    clone = make_clone(2**61 + 7, world="beta", licence=licence)
    repo.put(clone)
    row = store.clones.get(clone.id)
    assert row is not None and row.subject_id is None and row.licence_home == alpha.fingerprint
    assert row.licence == "unlicensed"  # alpha is not trusted; our record #1 is not alpha's
    store.clones.trust_key("gamma", alpha.public_bytes, "alpha, elsewhere")
    assert store.clones.get(clone.id).licence == "unlicensed"  # type: ignore[union-attr]
    store.clones.trust_key("beta", alpha.public_bytes, "alpha")
    assert store.clones.find(CloneFilter(ids=(clone.id,)))[0].licence == "licensed"
    assert repo.get(clone.id).licence.proven
    assert store.clones.untrust_key("beta", alpha.public_bytes)
    assert not store.clones.untrust_key("beta", alpha.public_bytes)
    assert store.clones.find(CloneFilter(ids=(clone.id,)))[0].licence == "unlicensed"
    assert [a.action for a in store.worlds.list_audit("beta")][:2] == [
        "clone_key_untrusted",
        "clone_key_trusted",
    ]
    # a proof whose signature does not verify never licenses, trusted key or not
    store.clones.trust_key("beta", alpha.public_bytes, "alpha")
    bad = dict(proof, statement={**proof["statement"], "grantee": 99})
    forged = make_clone(2**61 + 8, world="beta", licence=replace(licence, proof=bad))
    repo.put(forged)
    assert store.clones.get(forged.id).licence == "unlicensed"  # type: ignore[union-attr]


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    """Run `callister ARGS`: (exit code, stdout as JSON when it parses, stderr)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    try:
        parsed: Any = json.loads(out)
    except ValueError:
        parsed = out
    return int(exit_.value.code or 0), parsed, err


def test_cli_moves_a_licensed_clone_to_another_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alpha, beta = (f"sqlite:///{tmp_path / n}.db" for n in ("alpha", "beta"))
    with open_store(alpha) as a:
        ada = a.accounts.create("ada", "h")
        consent = a.clones.record_consent(ada.id)
    with open_store(beta) as b:
        mallory = b.accounts.create("mallory", "h")
        bea = b.accounts.create("bea", "h")
    assert mallory.id == ada.id  # the same account number on both servers

    def ok(*args: str) -> Any:
        code, out, err = _cli(capsys, *args)
        assert code == 0, err
        return out

    def refused(*args: str) -> str:
        code, _, err = _cli(capsys, *args)
        assert code == 2, err
        return err

    who = ("--subject", str(ada.id), "--owner", str(ada.id))
    made = ok(
        "clone", "new", "--name", "Ada", *who, "--consent", str(consent.id), "--db", alpha, "--json"
    )
    assert made["licence"] == "licensed"
    assert "not an active consent" in refused(
        "clone", "new", "--name", "X", *who, "--consent", "99", "--db", alpha
    )
    assert "give --db" in refused(
        "clone", "new", "--name", "X", *who, "--consent", "1", "--dir", str(tmp_path / "d")
    )
    file = str(tmp_path / "ada.clone")
    exported = ok("clone", "export", str(made["id"]), "-o", file, "--db", alpha, "--json")
    assert exported["licence_proof"] and exported["claim_code"]
    # beta does not trust alpha: refused, saying what to do
    err = refused("clone", "import", file, "--world", "infinity", "--db", beta)
    assert "does not trust" in err and "clone trust add" in err
    pub = str(tmp_path / "alpha.pub")
    ok("clone", "key", "--db", alpha, "--out", pub)
    added = ok("clone", "trust", "add", pub, "--label", "alpha", "--db", beta, "--json")
    keys = ok("clone", "trust", "list", "--db", beta, "--json")["keys"]
    assert [(k["source"], k["label"]) for k in keys] == [("own", "this server"), ("added", "alpha")]
    got = ok("clone", "import", file, "--world", "infinity", "--db", beta, "--json")
    assert got["owner"] is None and got["licence"] == "licensed" and got["trusted"]
    assert any("not an account here" in n for n in got["notes"])
    with open_store(beta) as b:
        assert b.clones.find(CloneFilter(owner_id=mallory.id)) == []  # not handed to #1 here
    # the owner proves who they are with the claim code; nobody else can
    clone_id = str(got["id"])
    assert "not clone" in refused(
        "clone", "claim", clone_id, "--account", str(mallory.id), "--code", "guess", "--db", beta
    )
    claimed = ok(
        "clone",
        "claim",
        clone_id,
        "--account",
        str(bea.id),
        "--code",
        exported["claim_code"],
        "--db",
        beta,
        "--json",
    )
    assert claimed["owner"] == bea.id and claimed["licence"] == "licensed"
    assert "already belongs" in refused(
        "clone", "claim", clone_id, "--account", str(mallory.id), "--assign", "--db", beta
    )
    # beta stops trusting alpha: the clone is unlicensed at once
    ok("clone", "trust", "remove", added["fingerprint"], "--db", beta, "--json")
    assert ok("clone", "show", clone_id, "--db", beta, "--json")["licence"] == "unlicensed"
    assert "neither a trusted key's fingerprint" in refused(
        "clone", "trust", "remove", added["fingerprint"], "--db", beta
    )
    assert "does not trust" in refused("clone", "trust", "remove", pub, "--db", beta)
    with open_store(beta) as b:
        actions = [r.action for r in b.worlds.list_audit(None, 10)]
    assert actions[:3] == ["clone_key_untrusted", "clone_claimed", "clone_key_trusted"]
    # ada's consent is revoked at alpha: alpha's clone is unlicensed at once
    ok("clone", "consent", "revoke", "ada", str(consent.id), "--db", alpha, "--json")
    assert ok("clone", "show", str(made["id"]), "--db", alpha, "--json")["licence"] == "unlicensed"
    listed = ok("clone", "consent", "list", "ada", "--db", alpha, "--json")
    assert [c["active"] for c in listed["consents"]] == [False]
    assert "no active consent" in refused(
        "clone", "consent", "revoke", "ada", str(consent.id), "--db", alpha
    )
    assert "give --db" in refused("clone", "consent", "list", "ada", "--dir", str(tmp_path))


def test_cli_imports_an_older_format_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'server.db'}"
    with open_store(db) as s:
        for i in range(8):  # account 7 exists here too: it must not get the clone
            s.accounts.create(f"p{i}", "h")
    old = str(DATA / "v1-licensed.clone")
    code, _, err = _cli(capsys, "clone", "import", old, "--world", "infinity", "--db", db)
    assert code == 2 and "does not trust" in err
    code, _, err = _cli(capsys, "clone", "trust", "add", str(DATA / "v1-origin.key"), "--db", db)
    assert code == 0, err
    code, got, err = _cli(
        capsys, "clone", "import", old, "--world", "infinity", "--db", db, "--json"
    )
    assert code == 0, err
    assert got["format_version"] == 1 and got["owner"] is None and got["licence"] == "unlicensed"
    assert "note: older clone file (format version 1)" in err and "UNLICENSED" in err


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
    run("clone", "key", "--db", db, "--out", str(tmp_path / "db.pub"), "--json")
    run(
        "clone",
        "trust",
        "add",
        str(tmp_path / "db.pub"),
        "--world",
        "beta",
        "--db",
        other,
        "--json",
    )
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


def test_knowledge_gossip_and_beliefs_survive_a_restart_of_the_store(
    store: Store, tmp_path: Path
) -> None:
    from callister.agents.gossip import gossip
    from callister.agents.reflection import reflect

    teller, clone = make_clone(2**61 + 8, name="Ines"), _lived()
    teller.knowledge.saw_market((3, 4, 0), 90, {"food": 21}, {"food": 19})
    teller.knowledge.saw_attack(-9, -10, (3, 4), 95, on_us=True, names={-9: "Rook"})
    gossip(teller, clone, 120)
    reflect(clone, 130)
    assert clone.relationships.is_hostile(77) and clone.knowledge.markets
    StoreCloneRepository(store).put(clone, ship_id=None)
    back = StoreCloneRepository(store).get(clone.id)  # what a restarted server loads
    assert back.knowledge.to_dict() == clone.knowledge.to_dict()
    assert back.knowledge.markets[(3, 4, 0)].source == -(2**61 + 8)  # heard from Ines
    assert back.relationships.is_hostile(77) and back.beliefs == clone.beliefs
    assert [m.event for m in back.memory].count("heard-attack") == 1


@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_the_hauler_migration_lets_haulers_be_stored_and_keeps_every_clone(
    dialect: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hauler migration (hauler_goal) on a database written before it: the clones and
    their memories stay, a hauler can be stored, and an unknown goal is still refused."""
    from callister.store import StoreError, database

    schema = f"t_{uuid.uuid4().hex[:16]}"
    url = f"sqlite:///{tmp_path / 'old.db'}" if dialect == "sqlite" else f"{PG_URL}?schema={schema}"
    real = database.load_migrations
    before = [m for m in real(dialect) if m.name != "hauler_goal"]
    monkeypatch.setattr(database, "load_migrations", lambda d: before)
    old = open_store(url)
    try:
        trader = _lived()
        StoreCloneRepository(old).put(trader, ship_id=None)
        with pytest.raises(StoreError):  # the old CHECK constraint
            old.clones.put(clone_to_row(make_clone(2**61 + 9, goal=Goal.HAULER)))
    finally:
        old.db.close()
    monkeypatch.undo()
    store = open_store(url)
    try:
        assert store.db.schema_version() == len(real(dialect))
        repo = StoreCloneRepository(store)
        assert repo.get(trader.id).to_dict() == trader.to_dict()  # memories and all
        hauler = make_clone(2**61 + 9, goal=Goal.HAULER)
        repo.put(hauler, ship_id=None)
        assert repo.get(hauler.id).goals.primary is Goal.HAULER
        with pytest.raises(ValueError, match="goal must be one of"):
            store.clones.put(replace(clone_to_row(make_clone(2**61 + 10)), goal="smuggler"))
    finally:
        store.db.close()
        if dialect == "postgresql":
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                )
