"""`WorldContentRepository`: the content pack each world carries, versioned.

Every `set` adds a row with the next version; the newest row is the world's content (a row
whose pack is None says the pack was cleared). The store holds the pack's stored JSON form as
given and checks only its shape and size; what it means (types, ranges, references) is the
content loader's, run before `set` is called (`callister.worlds.content`). Rows have a `world`
column: the kill switch deletes them with the rest of the world, a fork copies them
(`WorldRepository.fork`), and `WorldRepository.checksum` covers them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Final

from . import _check as check
from ._audit import insert_audit
from .database import Cursor, Database, Row
from .errors import NotFound

MAX_STORED_PACK: Final = 1 << 20
"""The most bytes (UTF-8) of one stored pack's JSON form: a pack's files may hold 256 KiB
(content.MAX_PACK_BYTES); JSON escaping can at most about quadruple that for plain text."""
MAX_VERSIONS: Final = 32
"""Versions kept per world: older ones are pruned when a new one is set (the audit log keeps
who set what, and the digest, for ever)."""

_COLUMNS = "world, version, pack, name, pack_version, digest, bytes, set_by, set_at"


@dataclass(frozen=True, slots=True)
class WorldContentRow:
    """One version of a world's content pack. `pack` is the stored JSON form
    (ContentPack.to_json), None when this version cleared the pack."""

    world: str
    version: int
    pack: dict[str, Any] | None
    name: str | None
    pack_version: str | None
    digest: str | None
    bytes: int
    set_by: int | None
    set_at: float

    def summary(self) -> dict[str, Any]:
        """JSON-ready, without the files: {world, version, name, pack_version, digest, bytes,
        set_by, set_at}."""
        return {
            "world": self.world,
            "version": self.version,
            "name": self.name,
            "pack_version": self.pack_version,
            "digest": self.digest,
            "bytes": self.bytes,
            "set_by": self.set_by,
            "set_at": self.set_at,
        }


def _row(r: Row) -> WorldContentRow:
    world, version, pack, name, pack_version, digest, size, set_by, set_at = r
    return WorldContentRow(
        world=world,
        version=int(version),
        pack=None if pack is None else json.loads(pack),
        name=name,
        pack_version=pack_version,
        digest=digest,
        bytes=int(size),
        set_by=None if set_by is None else int(set_by),
        set_at=float(set_at),
    )


def _pack_fields(pack: dict[str, Any]) -> tuple[str, str, str, str, int]:
    """(json text, name, version, digest, bytes) of a stored pack form; ValueError if its
    shape is wrong or it is too big."""
    if not isinstance(pack, dict):
        raise ValueError(f"pack must be a dict (the stored JSON form), not {type(pack).__name__}")
    files = pack.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        raise ValueError('pack must have "files": {file name: text}')
    name = check.text("pack name", pack.get("name"), 64)
    version = check.text("pack version", pack.get("version"), 32)
    digest = pack.get("digest")
    if not isinstance(digest, str) or not check.SHA256_HEX.fullmatch(digest):
        raise ValueError("pack digest must be 64 lowercase hex digits (SHA-256)")
    text = json.dumps(pack, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    check.clean("pack", text)
    size = len(text.encode("utf-8"))
    if size > MAX_STORED_PACK:
        raise ValueError(f"the stored pack is {size} bytes; at most {MAX_STORED_PACK}")
    return text, name, version, digest, size


class WorldContentRepository:
    """Each world's content pack, by version (see the module doc)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def set(self, world: str, pack: dict[str, Any] | None, actor: int | None) -> WorldContentRow:
        """Make `pack` (the stored JSON form, already validated by the content loader; None:
        no pack) the world's content as a new version, audited (`content_set`). NotFound if
        the world does not exist or is being deleted; ValueError for a bad shape or size."""
        world = check.world_name(world)
        if actor is not None:
            actor = check.int64("actor", actor, 1)
        fields = None if pack is None else _pack_fields(pack)

        def apply(cur: Cursor) -> WorldContentRow:
            live = cur.execute("SELECT state FROM worlds WHERE world = ?", (world,)).one()
            if live is None or live[0] != "live":
                raise NotFound(f"no live world named {world!r}")
            last = cur.execute(
                "SELECT max(version) FROM world_content WHERE world = ?", (world,)
            ).one()
            version = 1 + (int(last[0]) if last and last[0] is not None else 0)
            text, name, pack_version, digest, size = fields or (None, None, None, None, 0)
            row = (world, version, text, name, pack_version, digest, size, actor, time.time())
            cur.execute(f"INSERT INTO world_content ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", row)
            cur.execute(
                "DELETE FROM world_content WHERE world = ? AND version <= ?",
                (world, version - MAX_VERSIONS),
            )
            insert_audit(
                cur,
                actor,
                "content_set",
                world,
                {"version": version, "name": name, "pack_version": pack_version,
                 "digest": digest, "bytes": size},
            )  # fmt: skip
            return _row(row)

        return self._db.write(apply)

    def current(self, world: str) -> WorldContentRow | None:
        """The world's newest content version (None: it never had a pack)."""
        world = check.text("world", world, 64)
        return self._db.one(
            f"SELECT {_COLUMNS} FROM world_content WHERE world = ? ORDER BY version DESC LIMIT 1",
            (world,),
            map=_row,
        )

    def get(self, world: str, version: int) -> WorldContentRow | None:
        """One version of the world's content, or None if there is no such version (kept)."""
        world = check.text("world", world, 64)
        version = check.int64("version", version, 1)
        return self._db.one(
            f"SELECT {_COLUMNS} FROM world_content WHERE world = ? AND version = ?",
            (world, version),
            map=_row,
        )

    def history(self, world: str) -> list[WorldContentRow]:
        """Every kept version of the world's content, newest first (packs included)."""
        world = check.text("world", world, 64)
        return self._db.all(
            f"SELECT {_COLUMNS} FROM world_content WHERE world = ? ORDER BY version DESC",
            (world,),
            map=_row,
        )

    def versions(self) -> dict[str, int]:
        """{world: its newest content version} for every world with content rows (cheap: the
        server polls it to notice a new pack)."""
        rows = self._db.all(
            "SELECT world, max(version) FROM world_content GROUP BY world",
            map=lambda r: (str(r[0]), int(r[1])),
        )
        return dict(rows)


__all__ = ["MAX_STORED_PACK", "MAX_VERSIONS", "WorldContentRepository", "WorldContentRow"]
