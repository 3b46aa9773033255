from __future__ import annotations

import json

import pytest

from callister.agents import AgentError, CloneDead, DefaultMind, Licence, SeenEvent
from callister.agents.clonefile import (
    CloneFileError,
    SigningKey,
    canonical,
    export_clone,
    fork_clone,
    import_clone,
    read_clone_file,
)
from callister.agents.reflection import reflect

from ._support import make_clone

KEY = SigningKey.generate()


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
    arrived = import_clone(data, world="elsewhere", tick=60)
    assert arrived.world == "elsewhere" and arrived.id == clone.id
    assert arrived.lineage.history[-1].event == "imported"
    memory = arrived.memory.latest("arrived")
    assert memory is not None and "from world infinity" in memory.text and memory.tick == 60
    assert len(arrived.memory) == len(clone.memory) + 1
    renamed = import_clone(data, world="w", tick=60, new_id=4242)
    assert renamed.id == 4242 and "was #1001" in renamed.lineage.history[-1].note


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
