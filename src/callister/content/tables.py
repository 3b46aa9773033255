"""The content tables and how one TOML file of entries is read into typed field values.

A content file is a TOML table of entries keyed by their content key (`[laser]`, `[shuttle]`);
each entry is a table of fields. `read_entries` checks the key syntax, refuses unknown fields
(with a suggestion for a typo) and parses every field with its spec (`schema.py`), so each
problem is reported with the file, the entry and the field. It does not require any field:
whether an entry is complete depends on whether it is new or overrides one (the loader's job).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, Final

from callister.content.errors import ContentError
from callister.content.schema import (
    KEY_PATTERN,
    KEY_RULE,
    Bad,
    Commodity,
    Faction,
    Hull,
    NpcRole,
    Ore,
    Weapon,
    data_fields,
    parser_of,
)


@dataclass(frozen=True, slots=True)
class Table:
    """One kind of content: its file, its entry class and its limits."""

    name: str  # also the Content attribute and the file stem
    cls: type
    max_entries: int  # in the merged content (the simulation's columns bound some)
    removable: bool  # whether a pack may remove entries (`[remove]` in pack.toml)
    may_be_empty: bool = False
    why_kept: str = ""  # why a pack may not remove entries of this table

    @property
    def file(self) -> str:
        """The file holding this table: "<name>.toml"."""
        return f"{self.name}.toml"


TABLES: Final[tuple[Table, ...]] = (
    # hull and weapon indices travel in uint8 / int16 simulation columns
    Table("weapons", Weapon, 128, True),
    Table("hulls", Hull, 128, True),
    Table("factions", Faction, 64, False, why_kept="the generated map places their stations"),
    Table("commodities", Commodity, 128, False, why_kept="station stocks and cargo hold them"),
    Table("ores", Ore, 64, False, why_kept="the generated map places their fields"),
    # npc_roles: a role's index picks its bits of the system hash (population.py)
    Table("npc_roles", NpcRole, 16, True, may_be_empty=True),
)
TABLE_BY_FILE: Final = {t.file: t for t in TABLES}
TABLE_BY_NAME: Final = {t.name: t for t in TABLES}

Fields = dict[str, Any]
NESTED: Final = "arrays or tables are nested too deeply (content needs at most 3 levels)"


class Problems:
    """Collects located problems so a whole file (or pack) is reported at once."""

    def __init__(self, pack: str = "") -> None:
        self.pack = pack
        self.found: list[ContentError] = []

    def add(self, reason: str, *, file: str = "", entry: str = "", field: str = "") -> None:
        """Record one problem at (file, entry, field)."""
        self.found.append(ContentError(reason, file=file, entry=entry, field=field, pack=self.pack))

    def raise_any(self) -> None:
        """Raise one ContentError carrying every problem recorded, if there is any."""
        if self.found:
            raise ContentError.collected(self.found)


def parse_toml(text: str, file: str, problems: Problems) -> dict[str, Any] | None:
    """The TOML document in `text`, or None (and a problem naming the line) if it is not TOML.

    Data only: tomllib builds dicts, lists, strings, numbers and dates; nothing is evaluated.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.add(f"not valid TOML ({exc})", file=file)
    except RecursionError:  # tomllib recurses once per level of [ or {
        problems.add(NESTED, file=file)
    return None


def read_entries(
    table: Table, doc: dict[str, Any], file: str, problems: Problems
) -> dict[str, Fields]:
    """{key: {field: parsed value}} for every entry of `doc` (a parsed content file), in file
    order; a bad key, a non-table entry, an unknown field or a bad value is recorded in
    `problems` (and left out)."""
    known = {f.name: f for f in data_fields(table.cls)}
    out: dict[str, Fields] = {}
    for key, raw in doc.items():
        if not KEY_PATTERN.fullmatch(key):
            problems.add(f"{key!r} is not a content key ({KEY_RULE})", file=file, entry=key)
            continue
        if not isinstance(raw, dict):
            problems.add(
                f"must be a table of fields ([{key}] followed by lines name = value)",
                file=file,
                entry=key,
            )
            continue
        values: Fields = {}
        for name, value in raw.items():
            f = known.get(name)
            if f is None:
                near = get_close_matches(name, list(known), n=1)
                hint = f"did you mean {near[0]!r}? " if near else ""
                problems.add(
                    f"unknown field; {hint}{table.name} have: {', '.join(known)}",
                    file=file,
                    entry=key,
                    field=name,
                )
                continue
            try:
                values[name] = parser_of(f)(value)
            except Bad as bad:
                problems.add(bad.reason, file=file, entry=key, field=name)
        out[key] = values
    return out
