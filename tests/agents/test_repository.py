from __future__ import annotations

import stat
from pathlib import Path

import pytest

from callister.agents.repository import (
    CLONE_ID_BASE,
    CloneNotFound,
    CloneRepository,
    JsonDirRepository,
)

from ._support import make_clone


def test_json_directory_repository(tmp_path: Path) -> None:
    repo: CloneRepository = JsonDirRepository(tmp_path)
    clone = make_clone(1001)
    repo.put(clone)
    assert repo.exists(1001) and not repo.exists(1002)
    assert repo.get(1001).to_dict() == clone.to_dict()
    other = make_clone(1002, world="elsewhere")
    other.die(5, "x")
    repo.put(other)
    assert [s.id for s in repo.list()] == [1001, 1002]
    assert [s.id for s in repo.list(world="elsewhere")] == [1002]
    assert [s.id for s in repo.list(alive=True)] == [1001]
    new = repo.new_id()
    assert new >= CLONE_ID_BASE and not repo.exists(new)
    with pytest.raises(CloneNotFound):
        repo.get(9)
    repo.purge(1002)
    assert not repo.exists(1002)
    assert not list((tmp_path / "clones").glob("*.tmp*"))


def test_signing_key_is_created_once_and_private(tmp_path: Path) -> None:
    repo = JsonDirRepository(tmp_path)
    key = repo.signing_key()
    assert repo.signing_key().public_bytes == key.public_bytes
    mode = stat.S_IMODE((tmp_path / "signing.key").stat().st_mode)
    assert mode == 0o600
