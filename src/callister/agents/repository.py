"""Where clones are kept between sessions: the `CloneRepository` protocol and a JSON-file
directory implementation (the database tables are to come; see docs/agents.md for the SQL).

This module does file I/O (the agents layer is otherwise I/O-free): the server calls it off the
tick, through its writer thread, like every other store call.

`JsonDirRepository(root)` keeps one file per clone, `root/clones/<id>.json` (the same JSON as
`Clone.to_dict()`), written atomically (temporary file, fsync, rename), the directory's signing
key in `root/signing.key` (PEM, mode 0600), created on first use, and the keys an administrator
trusts in `root/trusted_keys.json`. A directory holds no consent records, so a clone of a real
person is licensed there only by a proof from a trusted key (docs/agents.md).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from callister.agents.clonefile import SigningKey, licence_proven
from callister.agents.errors import AgentError
from callister.agents.model import Clone

CLONE_ID_BASE = 1 << 61  # clone ids live above account ids and entity ids


class CloneNotFound(LookupError):
    """No clone with that id is stored here."""


@dataclass(frozen=True, slots=True)
class CloneSummary:
    id: int
    name: str
    world: str
    role: str
    goal: str
    alive: bool
    licence: str  # "generated", "licensed" or "unlicensed"
    memories: int
    parent: int | None
    generation: int

    @classmethod
    def of(cls, clone: Clone) -> CloneSummary:
        return cls(
            id=clone.id,
            name=clone.name,
            world=clone.world,
            role=clone.role.value,
            goal=clone.goals.primary.value,
            alive=clone.alive,
            licence=clone.licence.status,
            memories=len(clone.memory),
            parent=clone.lineage.parent,
            generation=clone.lineage.generation,
        )


@dataclass(frozen=True, slots=True)
class TrustEntry:
    """A public key an administrator trusts for clone files arriving in `world`."""

    world: str
    public_key: bytes  # 32 bytes, Ed25519
    label: str
    added_at: float


TrustList = list[TrustEntry]  # (a class with a `list` method cannot say list[...] inside)
KeyList = list[bytes]


class CloneRepository(Protocol):
    """Durable clones. Each call is one atomic change; `put` is an upsert. Dead clones are
    kept (archives): there is no delete in the game, only `purge` for moderation."""

    def get(self, clone_id: int) -> Clone: ...  # CloneNotFound if absent

    def put(self, clone: Clone) -> None: ...

    def exists(self, clone_id: int) -> bool: ...

    def list(
        self, *, world: str | None = None, alive: bool | None = None
    ) -> list[CloneSummary]: ...

    def new_id(self) -> int:
        """A fresh clone id that no clone here has (repositories subclassing this protocol
        inherit it)."""
        while True:
            clone_id = new_clone_id()
            if not self.exists(clone_id):
                return clone_id

    def purge(self, clone_id: int) -> None: ...


def new_clone_id() -> int:
    """A fresh random clone id in [2^61, 2^62): unique across worlds in practice, so clones
    exported from one world rarely collide with another's."""
    return CLONE_ID_BASE | secrets.randbits(61)


class JsonDirRepository(CloneRepository):
    """Clones as JSON files under `root/clones/`."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.dir = self.root / "clones"

    def _path(self, clone_id: int) -> Path:
        if isinstance(clone_id, bool) or not isinstance(clone_id, int) or clone_id < 1:
            raise AgentError(f"bad clone id {clone_id!r}")
        return self.dir / f"{clone_id}.json"

    def get(self, clone_id: int) -> Clone:
        path = self._path(clone_id)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CloneNotFound(f"no clone {clone_id} in {self.dir}") from None
        except ValueError as exc:
            raise AgentError(f"{path} is damaged: {exc}") from None
        clone = Clone.from_dict(raw)
        licence = clone.licence
        if licence.subject is not None:  # proven only by a proof from a key trusted now
            keys = [t.public_key for t in self.trusted_keys(clone.world)]
            clone.licence = replace(licence, proven=licence_proven(licence, keys))
        return clone

    def put(self, clone: Clone) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self._path(clone.id)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(clone.to_dict(), fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def exists(self, clone_id: int) -> bool:
        return self._path(clone_id).is_file()

    def _all(self) -> Iterator[Clone]:
        if not self.dir.is_dir():
            return
        for path in sorted(self.dir.glob("*.json")):
            yield self.get(int(path.stem))

    def list(self, *, world: str | None = None, alive: bool | None = None) -> list[CloneSummary]:
        out = []
        for clone in self._all():
            if world is not None and clone.world != world:
                continue
            if alive is not None and clone.alive != alive:
                continue
            out.append(CloneSummary.of(clone))
        return out

    def purge(self, clone_id: int) -> None:
        try:
            self._path(clone_id).unlink()
        except FileNotFoundError:
            raise CloneNotFound(f"no clone {clone_id} in {self.dir}") from None

    def signing_key(self) -> SigningKey:
        """This directory's world key (created, mode 0600, on first use)."""
        return load_or_create_key(self.root / "signing.key")

    # -- trust ------------------------------------------------------------------------------

    def own_keys(self) -> KeyList:
        """The public keys whose files are this directory's own (its account numbers)."""
        return [self.signing_key().public_bytes]

    def _trust_file(self) -> Path:
        return self.root / "trusted_keys.json"

    def _read_trust(self) -> TrustList:
        path = self._trust_file()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return [
                TrustEntry(
                    str(e["world"]),
                    base64.b64decode(e["public_key"], validate=True),
                    str(e["label"]),
                    float(e["added_at"]),
                )
                for e in raw
            ]
        except FileNotFoundError:
            return []
        except (ValueError, TypeError, KeyError, binascii.Error) as exc:
            raise AgentError(f"{path} is damaged ({exc}); fix or remove it") from None

    def _write_trust(self, entries: TrustList) -> None:
        rows = [
            {
                "world": e.world,
                "public_key": base64.b64encode(e.public_key).decode("ascii"),
                "label": e.label,
                "added_at": e.added_at,
            }
            for e in entries
        ]
        self.root.mkdir(parents=True, exist_ok=True)
        path = self._trust_file()
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    def trusted_keys(self, world: str) -> TrustList:
        """The keys an administrator trusts for `world`, oldest first."""
        return [e for e in self._read_trust() if e.world == world]

    def trust(self, world: str, public_key: bytes, label: str) -> None:
        """Trust `public_key` for files arriving in `world` (again: a new label)."""
        entries = [e for e in self._read_trust() if (e.world, e.public_key) != (world, public_key)]
        self._write_trust([*entries, TrustEntry(world, public_key, label, time.time())])

    def untrust(self, world: str, public_key: bytes) -> bool:
        """Stop trusting `public_key` in `world`; False if it was not trusted."""
        entries = self._read_trust()
        kept = [e for e in entries if (e.world, e.public_key) != (world, public_key)]
        if len(kept) == len(entries):
            return False
        self._write_trust(kept)
        return True


def load_or_create_key(path: str | Path) -> SigningKey:
    path = Path(path)
    if path.is_file():
        return SigningKey.from_bytes(path.read_bytes())
    key = SigningKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.to_pem())
    return key
