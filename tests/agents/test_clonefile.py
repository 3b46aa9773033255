from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from callister.agents import AgentError, Clone, CloneDead, DefaultMind, Licence, SeenEvent
from callister.agents.clonefile import (
    CloneFileError,
    SigningKey,
    canonical,
    claim_hash,
    claim_matches,
    export_clone,
    fork_clone,
    import_clone,
    issue_licence_proof,
    read_clone_file,
)
from callister.agents.reflection import reflect

from ._support import make_clone

KEY = SigningKey.generate()
DATA = Path(__file__).parent / "data"


def _lived():
    clone = make_clone(licence=Licence(owner=9, subject=5, consent="c-1"))
    mind = DefaultMind(names={99: "Rook"})
    for t in (10, 20):
        mind.notice(clone, SeenEvent("attacked", t, actor=99, target=clone.id))
    reflect(clone, 30)
    mind.reply(clone, "hello", speaker=7, speaker_name="Cap", tick=40)
    return clone


def test_export_import_round_trip_keeps_every_field() -> None:
    clone = _lived()
    data = export_clone(clone, KEY, world="infinity", tick=50)
    package = read_clone_file(data, trusted=[KEY.public_bytes])
    assert package.clone.to_dict() == clone.to_dict()  # profile, memories with embeddings, ...
    assert (package.world, package.tick, package.signer) == ("infinity", 50, KEY.fingerprint)
    assert package.version == 3
    arrival = import_clone(data, world="elsewhere", tick=60, own=[KEY.public_bytes])
    arrived = arrival.clone
    assert arrival.home and arrival.trusted and arrival.notes == ()
    assert arrived.world == "elsewhere" and arrived.id == clone.id
    assert arrived.licence.owner == 9  # back home: our own account numbers
    assert arrived.lineage.history[-1].event == "imported"
    memory = arrived.memory.latest("arrived")
    assert memory is not None and "from world infinity" in memory.text and memory.tick == 60
    assert len(arrived.memory) == len(clone.memory) + 1
    renamed = import_clone(data, world="w", tick=60, own=[KEY.public_bytes], new_id=4242).clone
    assert renamed.id == 4242 and "was #1001" in renamed.lineage.history[-1].note


# -- issue 13 M1: trust is the default; licences are proven; owners are not mapped ----------

A, B, C = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()


def _owned(consent: str | None = "3") -> Clone:
    return make_clone(licence=Licence(owner=7, subject=7, consent=consent))


def _proof(key: SigningKey, subject: int = 7, consent: str = "3") -> dict[str, object]:
    return issue_licence_proof(
        key, subject=subject, consent=consent, grantee=None, granted_at=1.0, issued_at=2.0
    )


def test_a_file_signed_by_an_untrusted_key_is_refused_or_believes_nothing() -> None:
    forged = export_clone(_owned(), C, world="x", tick=1, proof=_proof(C), claim_code="k")
    with pytest.raises(CloneFileError, match=r"does not trust.*clone trust add.*allow-untrusted"):
        import_clone(forged, world="w", tick=5, own=[A.public_bytes], trusted=[B.public_bytes])
    arrival = import_clone(forged, world="w", tick=5, own=[A.public_bytes], allow_untrusted=True)
    licence = arrival.clone.licence
    assert not arrival.trusted and licence.owner is None and licence.status == "unlicensed"
    assert licence.home == C.fingerprint  # its account 7 is not our account 7
    assert any("untrusted" in n for n in arrival.notes)
    assert "(untrusted)" in arrival.clone.lineage.history[-1].note
    # a forged file that claims to come home to us is not believed either
    home = make_clone(licence=Licence(owner=7, subject=7, consent="3", home=A.fingerprint))
    liar = export_clone(home, C, world="x", tick=1)
    lic = import_clone(liar, world="w", tick=5, own=[A.public_bytes], allow_untrusted=True)
    assert lic.clone.licence.home == C.fingerprint and lic.clone.licence.owner is None


def test_another_servers_clone_is_unowned_and_licensed_only_by_a_trusted_proof() -> None:
    data = export_clone(_owned(), A, world="alpha", tick=1, proof=_proof(A), claim_code="c0de")
    own = [B.public_bytes]
    arrival = import_clone(data, world="beta", tick=5, own=own, trusted=[A.public_bytes])
    licence = arrival.clone.licence
    assert arrival.trusted and not arrival.home
    assert licence.owner is None  # not handed to beta's account 7
    assert licence.home == A.fingerprint and licence.proven and licence.status == "licensed"
    assert claim_matches(licence, "c0de") and not claim_matches(licence, "guess")
    assert licence.claim == claim_hash("c0de") and "c0de" not in data.decode()
    assert any("not an account here" in n for n in arrival.notes)
    # no proof: unlicensed, and the note says why
    bare = export_clone(_owned(), A, world="alpha", tick=1)
    got = import_clone(bare, world="beta", tick=5, own=own, trusted=[A.public_bytes])
    assert got.clone.licence.status == "unlicensed"
    assert any("UNLICENSED" in n and "no licence proof" in n for n in got.notes)
    # a proof for someone else, or by a server that does not hold the consent, proves nothing
    for proof, why in ((_proof(A, subject=8), "it is for subject 8"), (_proof(C), "not by")):
        wrong = export_clone(_owned(), A, world="alpha", tick=1, proof=proof)
        got = import_clone(wrong, world="beta", tick=5, own=own, trusted=[A.public_bytes])
        assert got.clone.licence.status == "unlicensed"
        assert any(why in n for n in got.notes), got.notes


def test_a_relayed_clone_keeps_its_home_proof() -> None:
    # alpha -> beta -> gamma: beta may relay the clone, but only alpha vouches for the consent
    first = export_clone(_owned(), A, world="alpha", tick=1, proof=_proof(A), claim_code="c")
    at_beta = import_clone(
        first, world="beta", tick=2, own=[B.public_bytes], trusted=[A.public_bytes]
    )
    relayed = export_clone(at_beta.clone, B, world="beta", tick=3)
    with pytest.raises(CloneFileError, match="only that server"):
        export_clone(at_beta.clone, B, world="beta", tick=3, proof=_proof(B))
    both = import_clone(
        relayed,
        world="gamma",
        tick=4,
        own=[C.public_bytes],
        trusted=[A.public_bytes, B.public_bytes],
    )
    assert both.clone.licence.status == "licensed" and both.clone.licence.home == A.fingerprint
    assert claim_matches(both.clone.licence, "c")  # the owner's code still works two hops on
    only_b = import_clone(
        relayed, world="gamma", tick=4, own=[C.public_bytes], trusted=[B.public_bytes]
    )
    assert only_b.clone.licence.status == "unlicensed"
    assert any("which this world does not trust" in n for n in only_b.notes)
    # coming home to alpha: alpha's own account numbers again; the store checks the consent
    home = import_clone(
        relayed, world="alpha", tick=5, own=[A.public_bytes], trusted=[B.public_bytes]
    )
    licence = home.clone.licence
    assert licence.home is None and licence.proof is None and licence.subject == 7
    assert licence.owner is None and claim_matches(licence, "c")  # beta's owner is not ours
    assert not licence.proven  # only the store, holding the consent records, may prove it


def test_an_older_format_file_still_imports_with_nothing_proven() -> None:
    # a real version-1 file, written by the exporter before licence proofs and claim codes
    data = (DATA / "v1-licensed.clone").read_bytes()
    origin = SigningKey.from_bytes((DATA / "v1-origin.key").read_bytes())
    package = read_clone_file(data)
    assert package.version == 1 and package.clone.licence.consent == "3"
    with pytest.raises(CloneFileError, match="does not trust"):
        import_clone(data, world="w", tick=200, own=[A.public_bytes])
    arrival = import_clone(
        data, world="w", tick=200, own=[A.public_bytes], trusted=[origin.public_bytes]
    )
    licence = arrival.clone.licence
    assert licence.owner is None and licence.status == "unlicensed"
    assert licence.home == origin.fingerprint and licence.claim is None
    assert any("format version 1" in n for n in arrival.notes)
    assert any("--assign" in n for n in arrival.notes)  # no claim code: what to do instead
    # and its own server takes it back with its account numbers (the store checks consent 3)
    back = import_clone(data, world="w", tick=200, own=[origin.public_bytes]).clone
    assert back.licence.owner == 7 and back.licence.home is None and not back.licence.proven


def test_claim_codes() -> None:
    licence = Licence(subject=None, claim=claim_hash("abc"))
    assert claim_matches(licence, "abc") and claim_matches(licence, " abc\n")
    assert not claim_matches(licence, "abd") and not claim_matches(licence, "")
    assert not claim_matches(replace(licence, claim=None), "abc")


def test_tampered_files_are_refused() -> None:
    data = export_clone(_lived(), KEY, world="infinity", tick=50)
    changed = data.replace(b'"Vega"', b'"Vegx"', 1)
    with pytest.raises(CloneFileError, match="tampered: the content's digest"):
        read_clone_file(changed)
    env = json.loads(changed)  # a forger also fixes the digest: the signature still fails
    import hashlib

    env["digest"] = "sha256:" + hashlib.sha256(canonical(env["payload"])).hexdigest()
    with pytest.raises(CloneFileError, match="tampered: the signature does not verify"):
        read_clone_file(json.dumps(env).encode())
    other = SigningKey.generate()  # re-signed by someone else: valid, but not trusted
    resigned = export_clone(read_clone_file(data).clone, other, world="x", tick=1)
    with pytest.raises(CloneFileError, match="untrusted key"):
        read_clone_file(resigned, trusted=[KEY.public_bytes])


def test_truncated_corrupt_and_foreign_files_are_refused() -> None:
    data = export_clone(_lived(), KEY, world="infinity", tick=50)
    for cut in (10, len(data) // 2, len(data) - 3):
        with pytest.raises(CloneFileError, match="truncated"):
            read_clone_file(data[:cut])
    with pytest.raises(CloneFileError, match="empty"):
        read_clone_file(b"")
    with pytest.raises(CloneFileError, match="not UTF-8"):
        read_clone_file(b"\xff\xfe" + data)
    with pytest.raises(CloneFileError, match="corrupt"):
        read_clone_file(data.replace(b'"format"', b'"format" "', 1))
    with pytest.raises(CloneFileError, match="not a clone file"):
        read_clone_file(b'{"format": "png"}')
    newer = json.loads(data)
    newer["version"] = 7
    with pytest.raises(CloneFileError, match="version 7 is newer"):
        read_clone_file(json.dumps(newer).encode())
    missing = json.loads(data)
    del missing["signature"]
    with pytest.raises(CloneFileError, match="missing \\['signature'\\]"):
        read_clone_file(json.dumps(missing).encode())


def test_signing_key_round_trips_through_pem() -> None:
    again = SigningKey.from_bytes(KEY.to_pem())
    assert again.public_bytes == KEY.public_bytes
    with pytest.raises(CloneFileError):
        SigningKey.from_bytes(b"nonsense")


def test_fork_shares_memories_up_to_the_fork() -> None:
    clone = _lived()
    twin = fork_clone(clone, new_id=2002, tick=100, at_tick=20, name="Vega II")
    assert twin.id == 2002 and twin.name == "Vega II"
    assert twin.lineage.parent == clone.id and twin.lineage.fork_tick == 20
    assert twin.lineage.generation == 1
    shared = [m for m in twin.memory if m.event != "forked"]
    assert shared and max(m.tick for m in shared) <= 20
    assert twin.memory.latest("forked") is not None
    twin.memory.add(101, "only the twin remembers this", importance=5)
    assert all("only the twin" not in m.text for m in clone.memory)  # separate individuals
    with pytest.raises(AgentError):
        fork_clone(clone, new_id=clone.id, tick=100)
    clone.die(120, "x")
    with pytest.raises(CloneDead):
        fork_clone(clone, new_id=3003, tick=130)
    archive = read_clone_file(export_clone(clone, KEY, world="w", tick=130)).clone
    assert not archive.alive and archive.death_cause == "x"  # archives travel too
