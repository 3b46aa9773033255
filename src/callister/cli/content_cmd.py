"""`callister admin world content validate|set|show` and `callister admin world params`.

`validate` checks content packs without a server or database (so an operator can check a pack
on any machine before uploading it); `set` loads the pack over the base exactly as the server
will and stores it as the world's next content version (an administrator's credentials);
`show` prints a world's current pack and its versions. `params show` prints a world's
generator parameters; `params set` is refused with the reason (a world's map never changes
under its players: new parameters apply to a fork, `world fork --params`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from callister.cli.common import emit_json


def register(
    world_actions: argparse._SubParsersAction,
    action: Callable[..., argparse.ArgumentParser] | None = None,
    admin_arg: Callable[[argparse.ArgumentParser], None] | None = None,
    world_store: Callable[[argparse.Namespace], Any] | None = None,
) -> None:
    """Add `content validate|set|show` and `params show|set` under `callister admin world`
    (`action` makes a leaf command with --db/--config, `admin_arg` adds the credentials,
    `world_store(args)` opens the settings, the store and the acting administrator)."""
    p = world_actions.add_parser(
        "content",
        help="a world's content pack: validate, set, show",
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
    if action is None or admin_arg is None or world_store is None:
        return
    st = action(
        act,
        "set",
        "store a content pack as a world's next version",
        "Load the base content with the pack over it exactly as the server will (every "
        "problem named by file, entry and field; exit status 1 and nothing stored if any), "
        "then store it with the world as its next content version, audited. A running world "
        "restarts into the new content within seconds (its players reconnect). PATH is a "
        "pack directory, its pack.toml or a stored .json form; --clear removes the pack.",
    )
    st.add_argument("name", help="the world")
    st.add_argument("path", nargs="?", metavar="PATH", help="the content pack")
    st.add_argument("--clear", action="store_true", help="store 'no pack' (the base content)")
    st.add_argument("--json", action="store_true", help="print the stored version as JSON")
    admin_arg(st)
    st.set_defaults(func=content_set, world_store=world_store)
    sh = action(
        act,
        "show",
        "a world's content pack and its versions",
        "Print the world's current content pack (name, version, digest, what it changes, "
        "and with --files its files verbatim) and the kept versions, newest first.",
    )
    sh.add_argument("name", help="the world")
    sh.add_argument("--files", action="store_true", help="print the pack's files too")
    sh.add_argument(
        "--json",
        action="store_true",
        help="print {world, version, pack: {name, version, digest, files}, history: [...]}",
    )
    sh.set_defaults(func=content_show, world_store=world_store)

    pp = world_actions.add_parser(
        "params",
        help="a world's generator parameters: show (fixed once created)",
        description="Generator parameters (docs/worlds.md, 'Generator parameters'): with the "
        "seed, a world's map. Given when a world is created or forked (--params FILE); never "
        "changed afterwards.",
    )
    pact = pp.add_subparsers(
        dest="params_action", metavar="ACTION", required=True, help="show (or set: refused)"
    )
    ps = action(pact, "show", "a world's generator parameters", "Print them (TOML-like or --json).")
    ps.add_argument("name", help="the world")
    ps.add_argument("--json", action="store_true", help="print them as JSON")
    ps.set_defaults(func=params_show, world_store=world_store)
    pz = action(
        pact,
        "set",
        "refused: a world's parameters are part of its identity",
        "Refused with the reason, always: a world's generator parameters never change under "
        "its players. Fork it with the new parameters instead "
        "(callister admin world fork NAME NEW --params FILE).",
    )
    pz.add_argument("name", help="the world")
    pz.add_argument("file", metavar="FILE", help="generator parameters (TOML)")
    admin_arg(pz)
    pz.set_defaults(func=params_set, world_store=world_store)


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


def _problems(exc: Any, as_json: bool, where: str) -> int:
    if as_json:
        emit_json({"valid": False, "errors": [e.to_dict() for e in exc.errors]})
    else:
        for e in exc.errors:
            print(e, file=sys.stderr)
        n = len(exc.errors)
        print(f"{where}: {n} problem{'s' * (n != 1)}; not valid, nothing stored", file=sys.stderr)
    return 1


def content_set(args: argparse.Namespace) -> int:
    from callister.content import ContentError, ContentPack, load_content
    from callister.worlds.content import set_pack

    if args.clear == (args.path is not None):
        raise ValueError("give a pack PATH or --clear (not both)")
    try:
        pack = None if args.clear else ContentPack.from_path(args.path)
    except ContentError as exc:
        return _problems(exc, args.json, args.path)
    with args.world_store(args) as (_, store, actor):
        assert actor is not None
        if store.worlds.get(args.name) is None:
            raise ValueError(f"no world named '{args.name}'")
        try:
            row = set_pack(store, args.name, pack, actor.id)
        except ContentError as exc:
            return _problems(exc, args.json, args.path)
    if args.json:
        emit_json(row.summary())
    elif pack is None:
        print(f"{args.name}: content version {row.version}: no pack (the base content)")
    else:
        print(
            f"{args.name}: content version {row.version}: {pack.name} {pack.version} "
            f"(digest {pack.digest}, {row.bytes} bytes)"
        )
        for table, summary in changes(pack, load_content()).items():
            print(f"  {table}: {_describe(summary)}")
    return 0


def content_show(args: argparse.Namespace) -> int:
    from callister.content import load_content
    from callister.worlds.content import content_report, stored_pack

    with args.world_store(args) as (_, store, _actor):
        if store.worlds.get(args.name) is None:
            raise ValueError(f"no world named '{args.name}'")
        history = store.content.history(args.name)
    current = history[0] if history else None
    pack = stored_pack(current)
    if args.json:
        report = content_report(args.name, history)  # as the admin API reports it, plus:
        if pack is not None:
            report["pack"]["changes"] = changes(pack, load_content())
        emit_json(report)
        return 0
    if pack is None:
        print(f"{args.name}: no content pack (the base content)")
    else:
        assert current is not None
        print(f"{args.name}: content version {current.version}: {pack.name} {pack.version}")
        print(f"  digest {pack.digest}, {current.bytes} bytes")
        for table, summary in changes(pack, load_content()).items():
            print(f"  {table}: {_describe(summary)}")
        if args.files:
            for name, text in pack.files:
                print(f"--- {name}")
                print(text.rstrip("\n"))
    for r in history:
        what = "no pack" if r.name is None else f"{r.name} {r.pack_version} ({r.digest})"
        print(f"  version {r.version}: {what}, set by {r.set_by} at {r.set_at:.0f}")
    return 0


def params_show(args: argparse.Namespace) -> int:
    from callister.worlds.content import world_params

    with args.world_store(args) as (_, store, _actor):
        record = store.worlds.get(args.name)
        if record is None:
            raise ValueError(f"no world named '{args.name}'")
    params = world_params(record)
    if args.json:
        emit_json({"world": record.name, "seed": str(record.seed), "digest": params.digest,
                   "params": params.to_dict()})  # fmt: skip
        return 0
    print(f"{record.name}: seed {record.seed}, generator parameters (digest {params.digest})")
    for key, value in params.to_dict().items():
        print(f"  {key} = {value}")
    return 0


def params_set(args: argparse.Namespace) -> int:
    from pathlib import Path

    from callister.universe import GeneratorParams
    from callister.worlds.content import refuse_params_change

    params = GeneratorParams.from_toml(Path(args.file).read_text(encoding="utf-8"))
    with args.world_store(args) as (_, store, _actor):
        record = store.worlds.get(args.name)
        if record is None:
            raise ValueError(f"no world named '{args.name}'")
        refuse_params_change(record, params)  # always raises ParamsFixed (a ValueError)
    return 2
