"""`callister admin world content validate`: check content packs without a server or database.

It sits under `admin world content` beside the `set` and `show` actions that will store a pack
with a world (those need the database and an administrator; validate needs neither, so an
operator can check a pack on any machine before uploading it).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from callister.cli.common import emit_json


def register(world_actions: argparse._SubParsersAction) -> None:
    """Add `content validate` under `callister admin world`."""
    p = world_actions.add_parser(
        "content",
        help="a world's content pack: validate (no server or database needed)",
        description="Content packs: a world's own hulls, weapons, commodities, ores, factions "
        "and NPC roles over the base content (docs/worlds.md, 'Content packs').",
    )
    act = p.add_subparsers(
        dest="content_action", metavar="ACTION", required=True, help="what to do with content packs"
    )
    v = act.add_parser(
        "validate",
        help="check content packs as the server would load them",
        description="Load the base content with each pack over it, in the order given, and "
        "report every problem with its file, entry and field. Reads files only: no server, "
        "no database. A PATH is a pack directory, its pack.toml, or a pack's stored .json "
        "form. Exit status 0 if every pack is valid, 1 otherwise.",
    )
    v.add_argument("paths", nargs="+", metavar="PATH", help="a content pack (applied in order)")
    v.add_argument(
        "--json",
        action="store_true",
        help="print {valid, packs: [{name, version, digest, changes}], "
        "content_digest} or {valid: false, errors: [...]}",
    )
    v.set_defaults(func=validate)


def changes(pack: Any, under: Any) -> dict[str, dict[str, Any]]:
    """What `pack` does to the content `under` it, per table: {"added": [keys], "changed":
    {key: [fields]}, "removed": [keys]} (tables it leaves alone are omitted)."""
    parsed = pack.parsed()
    out: dict[str, dict[str, Any]] = {}
    for table in {**parsed.remove, **parsed.tables}:
        existing = getattr(under, table)
        entries = parsed.tables.get(table, {})
        summary: dict[str, Any] = {
            "added": [k for k in entries if k not in existing],
            "changed": {k: list(v) for k, v in entries.items() if k in existing},
            "removed": list(parsed.remove.get(table, ())),
        }
        out[table] = summary
    return out


def _describe(summary: dict[str, Any]) -> str:
    parts = []
    if summary["added"]:
        parts.append("adds " + ", ".join(summary["added"]))
    if summary["changed"]:
        parts.append(
            "changes " + ", ".join(f"{k} ({', '.join(f)})" for k, f in summary["changed"].items())
        )
    if summary["removed"]:
        parts.append("removes " + ", ".join(summary["removed"]))
    return "; ".join(parts)


def validate(args: argparse.Namespace) -> int:
    from callister.content import ContentError, ContentPack, load_content

    packs: list[ContentPack] = []
    try:
        for path in args.paths:
            packs.append(ContentPack.from_path(path))
        content = load_content(packs=packs)
    except ContentError as exc:
        if args.json:
            emit_json({"valid": False, "errors": [e.to_dict() for e in exc.errors]})
        else:
            for e in exc.errors:
                print(e, file=sys.stderr)
            where = (
                args.paths[len(packs)]
                if len(packs) < len(args.paths)
                else ", ".join(f"{p.name} {p.version}" for p in packs)
            )
            n = len(exc.errors)
            print(f"{where}: {n} problem{'s' * (n != 1)}; not valid", file=sys.stderr)
        return 1
    report: list[dict[str, Any]] = []
    for i, pack in enumerate(packs):
        under = load_content(packs=packs[:i])
        report.append(
            {
                "name": pack.name,
                "version": pack.version,
                "digest": pack.digest,
                "changes": changes(pack, under),
            }
        )
    if args.json:
        emit_json({"valid": True, "packs": report, "content_digest": content.digest()})
        return 0
    for item in report:
        print(f"{item['name']} {item['version']}: valid (digest {item['digest']})")
        for table, summary in item["changes"].items():
            print(f"  {table}: {_describe(summary)}")
    return 0
