"""Content packs: a world's own data files over the base content.

A pack is data only: a manifest `pack.toml` and any of the content files (`hulls.toml`,
`weapons.toml`, `commodities.toml`, `ores.toml`, `factions.toml`, `npc_roles.toml`) in the same
schema as `content/data`. An entry whose key the content already has overrides the fields it
gives; a new key adds an entry (all required fields); `[remove]` in the manifest removes
entries of the removable tables. Nothing in a pack is ever run: files are parsed with tomllib.

The manifest:

    [pack]
    name = "frontier"          # 2-32 of a-z 0-9 _ -, starting with a letter
    version = "1.2.0"          # MAJOR.MINOR.PATCH
    format = 1                 # the pack format this server reads (PACK_FORMAT)
    description = "..."        # optional, at most 1000 characters

    [remove]                   # optional
    hulls = ["interceptor"]

`ContentPack` holds the files' text (what an operator wrote, comments and all: that is what is
stored and shown); `canonical()` is its meaning as canonical JSON (parsed, typed values; entry
order kept because it decides the simulation's hull and weapon indices) and `digest` the
SHA-256 of that, which identifies a pack whatever its comments or spacing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from difflib import get_close_matches
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from callister.content.errors import ContentError
from callister.content.schema import KEY_PATTERN, KEY_RULE, show, to_json_value
from callister.content.tables import (
    NESTED,
    TABLE_BY_FILE,
    TABLE_BY_NAME,
    TABLES,
    Fields,
    Problems,
    parse_toml,
    read_entries,
)

PACK_FORMAT: Final = 1
"""The pack format this code reads; `[pack] format` must equal it."""

MANIFEST: Final = "pack.toml"
MAX_PACK_BYTES: Final = 256 * 1024
"""The most bytes (UTF-8) all of a pack's files may hold together."""
MAX_PACK_ENTRIES: Final = 64
"""The most entries one file of a pack may hold."""
MAX_DESCRIPTION: Final = 1000

PACK_NAME: Final = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")
PACK_NAME_RULE: Final = "2-32 of a-z 0-9 _ -, starting with a letter"
VERSION: Final = re.compile(r"^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$")
PACK_FILES: Final = (MANIFEST, *TABLE_BY_FILE)


@dataclass(frozen=True, slots=True)
class ParsedPack:
    """A pack's files read and every field typed (no cross-checks: those need the content it
    goes over). `tables` maps table name -> {key: {field: value}} in file order."""

    name: str
    version: str
    description: str
    remove: dict[str, tuple[str, ...]]
    tables: dict[str, dict[str, Fields]]


@dataclass(frozen=True, slots=True)
class ContentPack:
    """One content pack: its files as {file name: TOML text}, sorted by name.

    Build it with `from_files`, `from_dir`, `from_path` or `from_json`; the constructor checks
    the file names, the total size and the manifest (raising ContentError), so a ContentPack
    always has a valid `name` and `version`. Hashable and immutable: usable as a cache key.
    """

    files: tuple[tuple[str, str], ...]
    name: str = field(init=False, compare=False)
    version: str = field(init=False, compare=False)
    description: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        problems = Problems()
        names = [n for n, _ in self.files]
        if len(names) > len(PACK_FILES):
            raise ContentError(
                f"a pack holds at most {len(PACK_FILES)} files: {', '.join(PACK_FILES)}"
            )
        if names != sorted(set(names)):
            raise ContentError("files must be given once each, sorted by name (use from_files)")
        for name, text in self.files:
            if name not in PACK_FILES:
                near = get_close_matches(name, PACK_FILES, n=1)
                hint = f" (did you mean {near[0]}?)" if near else ""
                problems.add(
                    f"is not a pack file{hint}; a pack holds {', '.join(PACK_FILES)}", file=name
                )
            if not isinstance(text, str):
                raise ContentError("file contents must be text", file=name)
        size = sum(len(text.encode("utf-8", "surrogatepass")) for _, text in self.files)
        if size > MAX_PACK_BYTES:
            problems.add(f"the pack's files hold {size} bytes; at most {MAX_PACK_BYTES} allowed")
        if MANIFEST not in names:
            problems.add(f"a pack needs a manifest ({MANIFEST} with [pack] name and version)")
        problems.raise_any()
        name, version, description = _manifest_head(dict(self.files)[MANIFEST])
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "version", version)
        object.__setattr__(self, "description", description)

    def __repr__(self) -> str:
        return f"ContentPack({self.name!r}, {self.version!r}, files={[n for n, _ in self.files]})"

    @classmethod
    def from_files(cls, files: Mapping[str, str]) -> ContentPack:
        """A pack from {file name: TOML text}. Raises ContentError (see the class)."""
        return cls(tuple(sorted(files.items())))

    @classmethod
    def from_dir(cls, path: str | Path) -> ContentPack:
        """The pack in directory `path`: its `*.toml` files (other files, such as a README,
        are ignored; a misspelt .toml name is an error). Refuses more than MAX_PACK_BYTES
        before reading, and files that are not UTF-8."""
        root = Path(path)
        if not root.is_dir():
            raise ContentError(f"{root} is not a directory")
        paths = sorted(p for p in root.iterdir() if p.suffix == ".toml" and p.is_file())
        size = sum(p.stat().st_size for p in paths)
        if size > MAX_PACK_BYTES:
            raise ContentError(f"the pack's files hold {size} bytes; at most {MAX_PACK_BYTES}")
        files = {}
        for p in paths:
            try:
                files[p.name] = p.read_bytes().decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ContentError(
                    f"is not UTF-8 text ({exc.reason} at byte {exc.start})", file=p.name
                ) from None
        return cls.from_files(files)

    @classmethod
    def from_path(cls, path: str | Path) -> ContentPack:
        """A pack from a directory, a `pack.toml` (its directory is the pack) or a JSON file
        in the stored form (`to_json`)."""
        p = Path(path)
        if p.is_dir():
            return cls.from_dir(p)
        if p.name == MANIFEST:
            return cls.from_dir(p.parent)
        if p.suffix == ".json" and p.is_file():
            if p.stat().st_size > 2 * MAX_PACK_BYTES:
                raise ContentError(f"{p} is larger than any pack's stored form")
            try:
                data = json.loads(p.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ContentError(f"{p.name} is not JSON text ({exc})") from None
            except RecursionError:
                raise ContentError(NESTED, file=p.name) from None
            return cls.from_json(data)
        if not p.exists():
            raise ContentError(f"{p} does not exist")
        raise ContentError(
            f"{p} is not a pack: give its directory, its {MANIFEST} or a stored .json form"
        )

    def to_json(self) -> dict[str, Any]:
        """The stored form: {"format", "name", "version", "digest", "files": {name: text}}.
        The files' text is kept verbatim (comments are the operator's documentation)."""
        return {
            "format": PACK_FORMAT,
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "files": dict(self.files),
        }

    @classmethod
    def from_json(cls, data: Any) -> ContentPack:
        """A pack from its stored form (`to_json`). A "digest" that does not match the files
        is refused: the stored pack was changed or damaged."""
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
            raise ContentError('a stored pack is a JSON object with "files": {name: text}')
        files = data["files"]
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
            raise ContentError('a stored pack\'s "files" maps file names to text')
        pack = cls.from_files(files)
        stored = data.get("digest")
        if stored is not None and stored != pack.digest:
            raise ContentError(
                f"the stored digest {show(stored)} does not match the files' {pack.digest}: "
                "the pack was changed or damaged"
            )
        return pack

    def parsed(self) -> ParsedPack:
        """Every file read and every field typed. Raises ContentError listing each problem
        (file, entry, field); cross-checks need the base and are the loader's."""
        parsed, problems = _parse(self)
        if problems:
            raise ContentError.collected(list(problems))
        return parsed

    def parsed_with_problems(self) -> tuple[ParsedPack, tuple[ContentError, ...]]:
        """Like `parsed`, but returns the problems with what did parse (bad values left
        out), so the loader can go on and report later problems too."""
        return _parse(self)

    def canonical(self) -> bytes:
        """The pack's meaning as canonical JSON (ASCII, sorted keys, no spaces; entries in
        file order): equal for packs that differ only in comments, spacing or 1 vs 1.0."""
        p = self.parsed()
        doc = {
            "format": PACK_FORMAT,
            "pack": {"name": p.name, "version": p.version, "description": p.description},
            "remove": {t: list(keys) for t, keys in p.remove.items() if keys},
            "tables": {
                t: [[k, {f: to_json_value(v) for f, v in e.items()}] for k, e in entries.items()]
                for t, entries in p.tables.items()
                if entries
            },
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()

    @property
    def digest(self) -> str:
        """SHA-256 (hex) of `canonical()`: the pack's identity. Raises like `parsed`."""
        return _digest(self)


def _manifest_head(text: str) -> tuple[str, str, str]:
    """(name, version, description) from the manifest; ContentError listing what is wrong."""
    problems = Problems()
    doc = parse_toml(text, MANIFEST, problems)
    problems.raise_any()
    assert doc is not None
    head = doc.get("pack")
    if not isinstance(head, dict):
        raise ContentError("needs a [pack] table with name and version", file=MANIFEST)
    name = head.get("name")
    good_name = isinstance(name, str) and bool(PACK_NAME.fullmatch(name))
    problems = Problems(str(name) if good_name else "")

    def bad(reason: str, field: str, entry: str = "pack") -> None:
        problems.add(reason, file=MANIFEST, entry=entry, field=field)

    for extra in sorted(set(doc) - {"pack", "remove"}):
        tables = ", ".join(TABLE_BY_FILE)
        bad(
            f"unknown table; pack.toml holds [pack] and [remove] (entries go in {tables})",
            "",
            extra,
        )
    for extra in sorted(set(head) - {"name", "version", "format", "description"}):
        bad("unknown field; [pack] has name, version, format, description", extra)
    if not good_name:
        bad(f"must be {PACK_NAME_RULE}, got {show(name)}", "name")
    version = head.get("version")
    if not isinstance(version, str) or not VERSION.fullmatch(version):
        bad(f'must be "MAJOR.MINOR.PATCH" like "1.0.0", got {show(version)}', "version")
    fmt = head.get("format", PACK_FORMAT)
    if isinstance(fmt, bool) or fmt != PACK_FORMAT:
        bad(f"this server reads pack format {PACK_FORMAT}, got {show(fmt)}", "format")
    description = head.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        bad(f"must be text of at most {MAX_DESCRIPTION} characters", "description")
    problems.raise_any()
    return str(name), str(version), str(description)


def _removals(doc: dict[str, Any], problems: Problems) -> dict[str, tuple[str, ...]]:
    raw = doc.get("remove", {})
    if not isinstance(raw, dict):
        problems.add('must be a table like hulls = ["interceptor"]', file=MANIFEST, entry="remove")
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for name, keys in raw.items():
        table = TABLE_BY_NAME.get(name)
        if table is None:
            problems.add(
                f"unknown table; removable: {', '.join(t.name for t in TABLES if t.removable)}",
                file=MANIFEST,
                entry="remove",
                field=name,
            )
            continue
        if not table.removable:
            problems.add(
                f"{name} cannot be removed ({table.why_kept}); override their fields instead",
                file=MANIFEST,
                entry="remove",
                field=name,
            )
            continue
        if (
            not isinstance(keys, list)
            or not all(isinstance(k, str) and KEY_PATTERN.fullmatch(k) for k in keys)
            or len(keys) > MAX_PACK_ENTRIES
        ):
            problems.add(
                f"must be a list of at most {MAX_PACK_ENTRIES} keys ({KEY_RULE}), got {show(keys)}",
                file=MANIFEST,
                entry="remove",
                field=name,
            )
            continue
        out[name] = tuple(dict.fromkeys(keys))
    return out


@lru_cache(maxsize=64)
def _parse(pack: ContentPack) -> tuple[ParsedPack, tuple[ContentError, ...]]:
    problems = Problems(pack.name)
    files = dict(pack.files)
    manifest = parse_toml(files[MANIFEST], MANIFEST, problems)
    remove = _removals(manifest or {}, problems)
    tables: dict[str, dict[str, Fields]] = {}
    for table in TABLES:
        text = files.get(table.file)
        if text is None:
            continue
        doc = parse_toml(text, table.file, problems)
        if doc is None:
            continue
        if len(doc) > MAX_PACK_ENTRIES:
            problems.add(
                f"holds {len(doc)} entries; a pack file may hold {MAX_PACK_ENTRIES}",
                file=table.file,
            )
            continue
        entries = read_entries(table, doc, table.file, problems)
        for key in entries:
            if key in remove.get(table.name, ()):
                problems.add(
                    f"is both removed (pack.toml [remove] {table.name}) and defined here; do one",
                    file=table.file,
                    entry=key,
                )
        tables[table.name] = entries
    parsed = ParsedPack(pack.name, pack.version, pack.description, remove, tables)
    return parsed, tuple(problems.found)


@lru_cache(maxsize=64)
def _digest(pack: ContentPack) -> str:
    return hashlib.sha256(pack.canonical()).hexdigest()
