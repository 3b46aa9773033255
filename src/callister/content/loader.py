"""Typed loader: the base content files, with any content packs over them, as one `Content`.

`load_content(data_dir, packs)` reads every file of `data_dir` (the base: each table complete),
then applies each pack in order: `[remove]` first, then each entry, which overrides the fields it
gives if its key exists and adds a new entry (every required field) if not. Then the merged
entries are built and checked: each field's type and bounds (`schema.py`), the rules within an
entry (a loadout fits the slots), the references between tables (a loadout names known weapons,
an NPC role known hulls), exactly one starter hull, and each table's size. Every problem found
is reported at once in one ContentError naming the pack, file, entry and field; a field's
problem is blamed on whichever file last set that field.

Merged order: base entries in file order, then each pack's new entries in its file order (a
removed entry leaves a gap). The simulation numbers hulls and weapons in this order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches
from functools import lru_cache
from pathlib import Path
from typing import Any

from callister.content.errors import ContentError
from callister.content.packs import MANIFEST, ContentPack
from callister.content.schema import (
    Commodity,
    Faction,
    Hull,
    NpcRole,
    Ore,
    Weapon,
    data_fields,
    entry_dict,
    entry_rules,
    required,
)
from callister.content.tables import TABLES, Fields, Problems, Table, parse_toml, read_entries

DATA_DIR = Path(__file__).parent / "data"

__all__ = ["DATA_DIR", "Content", "load_content"]


@dataclass(frozen=True, slots=True)
class Content:
    """Every content table, merged and validated; immutable by convention (never mutate)."""

    hulls: dict[str, Hull]
    factions: dict[str, Faction]
    commodities: dict[str, Commodity]
    ores: dict[str, Ore]
    weapons: dict[str, Weapon]
    npc_roles: dict[str, NpcRole] = field(default_factory=dict)
    packs: tuple[ContentPack, ...] = ()  # the packs applied over the base, in order

    @property
    def starter_hull(self) -> Hull:
        """The hull new and reborn players fly (the loader ensures exactly one)."""
        for hull in self.hulls.values():
            if hull.starter:
                return hull
        raise ContentError("no hull is marked starter = true", file="hulls.toml", field="starter")

    def arriving_hull(self, key: str) -> Hull:
        """The hull a ship flies when it arrives in a world with this content (a move, a fork,
        an evacuation): its own hull `key` if this content has it, else the starter hull
        (the same rule the server applies to a character whose hull is unknown)."""
        return self.hulls.get(key) or self.starter_hull

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for clients and tools: {"packs": [{name, version, digest}],
        table: [entry with every field and its key, ...] in merged order}."""
        out: dict[str, Any] = {
            "packs": [
                {"name": p.name, "version": p.version, "digest": p.digest} for p in self.packs
            ]
        }
        for table in TABLES:
            out[table.name] = [entry_dict(e) for e in getattr(self, table.name).values()]
        return out

    def canonical(self) -> bytes:
        """`to_dict` as canonical JSON (sorted keys, no spaces, ASCII; entry order kept)."""
        return json.dumps(
            self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True
        ).encode()

    def digest(self) -> str:
        """SHA-256 (hex) of `canonical()`: equal content gives an equal digest anywhere, so a
        client may cache a world's content by it."""
        return hashlib.sha256(self.canonical()).hexdigest()


Src = tuple[str, str]  # (pack name or "" for the base, file name)


@dataclass(slots=True)
class _Entry:
    values: Fields
    origin: dict[str, Src]  # field -> where it was last set
    created: Src


@dataclass(slots=True)
class _Merge:
    """The entries of every table while packs are applied, with where each value came from."""

    tables: dict[str, dict[str, _Entry]] = field(default_factory=dict)
    removed: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, key) -> pack
    touched: dict[str, str] = field(default_factory=dict)  # table -> last pack adding to it
    problems: list[ContentError] = field(default_factory=list)
    order: dict[str, int] = field(default_factory=lambda: {"": 0})  # pack name -> position

    def problem(self, reason: str, src: Src, entry: str = "", fld: str = "") -> None:
        self.problems.append(ContentError(reason, pack=src[0], file=src[1], entry=entry, field=fld))

    def reported(self, src: Src, entry: str, fld: str) -> bool:
        return any((p.pack, p.file, p.entry, p.field) == (*src, entry, fld) for p in self.problems)

    def apply(
        self, pack: str, remove: dict[str, tuple[str, ...]], tables: dict[str, dict[str, Fields]]
    ) -> None:
        for name, keys in remove.items():
            entries = self.tables[name]
            for key in keys:
                if key not in entries:
                    self.problem(
                        f"removes {key!r}, which the content under this pack does not have",
                        (pack, MANIFEST),
                        "remove",
                        name,
                    )
                    continue
                del entries[key]
                self.removed[(name, key)] = pack
        for name, new in tables.items():
            entries = self.tables.setdefault(name, {})
            src = (pack, f"{name}.toml")
            for key, values in new.items():
                if key in entries:
                    entries[key].values.update(values)
                    entries[key].origin.update(dict.fromkeys(values, src))
                else:
                    entries[key] = _Entry(dict(values), dict.fromkeys(values, src), src)
                    self.touched[name] = pack
                    self.removed.pop((name, key), None)

    def build(self, table: Table) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, e in self.tables.get(table.name, {}).items():
            missing = [
                f.name for f in data_fields(table.cls) if required(f) and f.name not in e.values
            ]
            for name in missing:
                if not self.reported(e.created, key, name):
                    self.problem(
                        "is missing (a new entry must give every field without a default)",
                        e.created,
                        key,
                        name,
                    )
            if missing:
                continue
            entry = table.cls(key=key, **e.values)
            for involved, reason in entry_rules(entry):
                # the entry was valid until the last of these fields was set: blame that one
                srcs = [e.origin.get(name, e.created) for name in involved]
                latest = max(range(len(involved)), key=lambda i: self.order[srcs[i][0]])
                self.problem(reason, srcs[latest], key, involved[latest])
            out[key] = entry
        if len(out) > table.max_entries:
            src = (self.touched.get(table.name, ""), table.file)
            self.problem(
                f"the content would hold {len(out)} {table.name}; at most {table.max_entries}", src
            )
        return out

    def references(self, table: str, fld: str, kind: str) -> None:
        """Every key listed in field `fld` of `table`'s entries names an entry of table
        `kind`s (entries that failed their own checks still count: one problem, one report)."""
        targets = self.tables.get(f"{kind}s", {})
        for key, e in self.tables.get(table, {}).items():
            for ref in e.values.get(fld, ()):
                if ref in targets:
                    continue
                gone = self.removed.get((f"{kind}s", ref))
                near = get_close_matches(ref, list(targets), n=1)
                if gone:
                    why = f"which pack {gone} removes (override or remove this entry in that pack)"
                elif near:
                    why = f"did you mean {near[0]!r}?"
                else:
                    why = f"known: {', '.join(targets)}"
                self.problem(f"names unknown {kind} {ref!r}; {why}", e.origin[fld], key, fld)

    def one_starter(self, hulls: dict[str, Hull]) -> None:
        starters = [h.key for h in hulls.values() if h.starter]
        if not starters and hulls:
            self.problem(
                "no hull is marked starter = true; new players need exactly one",
                (self.touched.get("hulls", ""), "hulls.toml"),
                "",
                "starter",
            )
        for key in starters[1:]:
            e = self.tables["hulls"][key]
            self.problem(
                f"{starters[0]!r} is the starter hull already; exactly one hull may be "
                f"(set starter = false on one)",
                e.origin["starter"],
                key,
                "starter",
            )


@lru_cache(maxsize=8)
def _base(data_dir: Path) -> tuple[tuple[str, dict[str, Fields]], ...]:
    """The base content files, every field typed (each table in TABLES order)."""
    problems = Problems()
    tables: list[tuple[str, dict[str, Fields]]] = []
    for table in TABLES:
        path = data_dir / table.file
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            problems.add(f"file missing from {data_dir}", file=table.file)
            continue
        except (OSError, UnicodeDecodeError) as exc:
            problems.add(f"cannot be read ({exc})", file=table.file)
            continue
        doc = parse_toml(text, table.file, problems)
        if doc is None:
            continue
        if not doc and not table.may_be_empty:
            problems.add("no entries", file=table.file)
        tables.append((table.name, read_entries(table, doc, table.file, problems)))
    problems.raise_any()
    return tuple(tables)


def load_content(data_dir: Path = DATA_DIR, packs: Sequence[ContentPack] = ()) -> Content:
    """The base content in `data_dir` with `packs` applied in order, merged and validated.

    Cached: the same arguments return the same (immutable by convention) Content. Raises
    ContentError naming the pack, file, entry and field of the first problem, with every
    problem found in `.errors`.
    """
    return _load(data_dir, tuple(packs))


@lru_cache(maxsize=32)
def _load(data_dir: Path, packs: tuple[ContentPack, ...]) -> Content:
    merge = _Merge()
    for name, entries in _base(data_dir):
        merge.tables[name] = {
            key: _Entry(dict(v), dict.fromkeys(v, ("", f"{name}.toml")), ("", f"{name}.toml"))
            for key, v in entries.items()
        }
    for pack in packs:
        if pack.name in merge.order:
            merge.problem(
                "two packs have this name; a world's packs need distinct names",
                (pack.name, MANIFEST),
                "pack",
                "name",
            )
            continue
        merge.order[pack.name] = len(merge.order)
        parsed, problems = pack.parsed_with_problems()
        merge.problems.extend(problems)
        merge.apply(pack.name, parsed.remove, parsed.tables)
    built = {table.name: merge.build(table) for table in TABLES}
    merge.references("hulls", "loadout", "weapon")
    merge.references("npc_roles", "hulls", "hull")
    merge.one_starter(built["hulls"])
    if merge.problems:
        raise ContentError.collected(merge.problems)
    return Content(**built, packs=packs)  # each table's name is its Content attribute
