"""`callister clone new|list|show|export|import|claim|fork|kill|key|trust|consent|host`.

Clones are kept in a directory (`--dir`, default $CALLISTER_CLONE_DIR or data/clones: one JSON
file per clone, the signing key `signing.key`, the trusted keys `trusted_keys.json`) or, with
`--db URL`, in the server's database (consent records, world keys, trusted keys, audit).
Licences and trust are described in docs/agents.md ("Licences and trust").
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import json
import os
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callister.cli.common import (
    Option,
    add_command,
    add_group,
    add_options,
    emit_json,
    json_switch,
    option,
    print_result,
    switch,
    with_default,
)

if TYPE_CHECKING:
    from callister.agents import Clone, Reply
    from callister.agents.repository import JsonDirRepository
    from callister.store import Store


def _default_dir() -> str:
    return os.environ.get("CALLISTER_CLONE_DIR", "data/clones")


def _store_options() -> tuple[Option, ...]:
    """Where the clones are kept, and --json: the options every command but `host` ends with
    (their defaults read the environment when the parser is built)."""
    return (
        option(
            "--dir",
            default=_default_dir(),
            help="clone directory (default: $CALLISTER_CLONE_DIR or data/clones)",
        ),
        option(
            "--db",
            default=os.environ.get("CALLISTER_CLONE_DB"),
            metavar="URL",
            help="work on the server's database instead of --dir (sqlite:///path.db or "
            "postgresql://...; default $CALLISTER_CLONE_DB); the signing key is the world's",
        ),
        option(
            "--key-world",
            default="infinity",
            help="with --db: whose world key signs exports (default infinity)",
        ),
        json_switch(),
    )


def register(sub: argparse._SubParsersAction) -> None:
    act = add_group(
        sub,
        "clone",
        help="clones: create, export, import, fork, host",
        description="Clones are persistent agents made from a person's profile. These commands "
        "work on a clone directory (--dir) without a running server.",
        dest="action",
        choose="what to do with clones",
    )
    store = _store_options()
    clone_id = option("id", type=int, help="clone id")
    add_command(
        act,
        "new",
        new,
        option("--profile", metavar="FILE", help="profile document (.json or .toml)"),
        option("--name", help="name (overrides the profile's)"),
        with_default(
            "--role", "pilot", "crew role", choices=["pilot", "gunner", "engineer", "miner"]
        ),
        with_default(
            "--goal",
            "crew",
            "what it does with its life",
            choices=["crew", "trader", "miner", "pirate", "patrol"],
        ),
        with_default("--world", "infinity", "world it lives in"),
        with_default("--tick", 0, "tick of its making"),
        option("--owner", type=int, help="owning account id"),
        option("--subject", type=int, help="account whose profile this is (a real person)"),
        option(
            "--consent",
            help="id of that person's consent record (needs --db: the record must exist, be "
            "theirs, cover --owner and not be revoked)",
        ),
        option("--id", type=int, dest="clone_id", help="clone id (default: a fresh random one)"),
        *store,
        help="make a clone from a profile",
        description="Make a new clone "
        "from a profile document (JSON or TOML: name, background, traits, skills) or "
        "from --name alone.",
    )

    ls = add_command(
        act,
        "list",
        list_clones,
        option("--world", help="only clones living in this world"),
        help="list clones",
        description="List the stored clones.",
    )
    state = ls.add_mutually_exclusive_group()
    state.add_argument("--alive", action="store_true", help="only living clones")
    state.add_argument("--dead", action="store_true", help="only dead clones (archives)")
    add_options(ls, store)

    add_command(
        act,
        "show",
        show,
        clone_id,
        option("--memories", type=int, default=10, help="how many memories (default 10)"),
        *store,
        help="show one clone",
        description="Show a clone and its latest memories.",
    )
    signing_key = option("--key", metavar="FILE", help="signing key (default: DIR/signing.key)")
    add_command(
        act,
        "export",
        export,
        clone_id,
        option("-o", "--output", required=True, metavar="FILE", help="clone file to write"),
        signing_key,
        option("--tick", type=int, help="export tick (default: the clone's latest memory)"),
        *store,
        help="write a signed clone file",
        description="Export a clone to a portable, versioned file signed with the world key. "
        "With --db, a clone licensed by a consent record of this server carries a licence proof "
        "signed by the world key; an owned clone carries the hash of a new claim code, printed "
        "once: give it to the owner, who claims the clone with it where it is imported.",
    )
    add_command(
        act,
        "import",
        import_,
        option("file", help="clone file to import"),
        option("--world", required=True, metavar="W", help="world the clone arrives in"),
        option(
            "--trust",
            action="append",
            metavar="KEY",
            help="also trust this key for this import only (public key file, base64, or a "
            "signing.key; `clone trust add` remembers a key); repeatable",
        ),
        switch(
            "--allow-untrusted",
            "import a file signed by an untrusted key anyway: it arrives unowned and unlicensed",
        ),
        switch("--as-new", "take a new id if the clone's is taken"),
        option("--tick", type=int, help="arrival tick (default: after its latest memory)"),
        *store,
        help="verify a clone file and bring the clone into a world",
        description="Verify a clone file (refusing tampered, truncated or newer files, and "
        "files signed by a key this world does not trust) and give the clone a place in world "
        "W; it remembers arriving. A clone from another server arrives unowned (its owner "
        "claims it with the claim code) and licensed only by a licence proof from a trusted key.",
    )

    c = add_command(
        act,
        "claim",
        claim,
        clone_id,
        option("--account", type=int, required=True, help="the account that takes it"),
        help="give an unowned imported clone to the account that proves to be its owner",
        description="An imported clone from another server arrives unowned. Its owner proves "
        "who they are with the claim code printed when it was exported (--code); an "
        "administrator may also assign an owner without one (--assign), audited with --db.",
    )
    how = c.add_mutually_exclusive_group(required=True)
    how.add_argument("--code", help="the claim code given at export")
    how.add_argument(
        "--assign", action="store_true", help="assign without a code (an administrator's call)"
    )
    add_options(c, store)

    add_command(
        act,
        "fork",
        fork,
        option("id", type=int, help="id of the clone to fork"),
        option("--at", type=int, help="share memories up to this tick (default: all)"),
        option("--name", help="the fork's name (default: the same)"),
        option("--tick", type=int, help="tick of the fork (default: its latest memory)"),
        *store,
        help="copy a clone into a new individual",
        description="Fork a clone: a new individual sharing its memories up to the fork tick.",
    )
    add_command(
        act,
        "kill",
        kill,
        clone_id,
        option(
            "--cause",
            default="killed by an administrator",
            help="cause of death, remembered in the archive (default: %(default)s)",
        ),
        option("--tick", type=int, help="tick of death (default: after its latest memory)"),
        *store,
        help="a clone dies for good",
        description="Mark a clone dead: it is kept as an archive and never acts again.",
    )
    add_command(
        act,
        "key",
        show_key,
        option("--out", metavar="FILE", help="also write the public key to FILE"),
        signing_key,
        *store,
        help="show this server's (or directory's) signing key",
        description="Print the public half of the world key (created if missing), for "
        "other servers to trust (`callister clone trust add`).",
    )
    _register_trust(act, store)
    _register_consent(act, store)
    _register_host(act)


def _register_trust(act: argparse._SubParsersAction, store: tuple[Option, ...]) -> None:
    trust = add_group(
        act,
        "trust",
        help="the keys whose clone files and licence proofs this world believes",
        description="A world believes files signed by this server's own keys and by the keys "
        "an administrator adds here (with --db: audited in world_audit). Removing a key "
        "unlicenses the clones its proofs licensed.",
        dest="trust_action",
        choose="add, list or remove trusted keys",
    )
    add_command(
        trust,
        "add",
        trust_add,
        option("key_spec", metavar="KEY", help="public key file, base64 key or signing key"),
        option("--label", default="", help="who the key belongs to (shown in lists)"),
        with_default("--world", "infinity", "the world that trusts it"),
        *store,
        help="trust a key",
        description="Trust a key: a public key file (as `clone key --out` writes it), base64, "
        "or a signing key file.",
    )
    add_command(
        trust,
        "list",
        trust_list,
        with_default("--world", "infinity", "whose trust"),
        *store,
        help="list trusted keys",
        description="This server's own keys and the added ones.",
    )
    add_command(
        trust,
        "remove",
        trust_remove,
        option("key_spec", metavar="KEY", help="fingerprint, public key file or base64 key"),
        with_default("--world", "infinity", "the world"),
        *store,
        help="stop trusting a key",
        description="Stop trusting a key (by fingerprint "
        "as `trust list` shows it, or the key itself).",
    )


def _register_consent(act: argparse._SubParsersAction, store: tuple[Option, ...]) -> None:
    consent = add_group(
        act,
        "consent",
        help="consent records of the server's database (needs --db)",
        description="A player records consent to be cloned over HTTP (POST "
        "/api/clones/consent). An administrator can list an account's consents and revoke one "
        "(on the person's request): their clones under it are unlicensed at once (audited).",
        dest="consent_action",
        choose="list or revoke consent records",
    )
    account = option("account", help="account name")
    add_command(
        consent,
        "list",
        consent_list,
        account,
        *store,
        help="an account's consents",
        description="List them.",
    )
    add_command(
        consent,
        "revoke",
        consent_revoke,
        account,
        option("consent_id", type=int, metavar="ID", help="consent id"),
        *store,
        help="revoke a consent",
        description="Revoke one of an account's consents.",
    )


def _register_host(act: argparse._SubParsersAction) -> None:
    add_command(
        act,
        "host",
        host,
        option("files", nargs="+", metavar="FILE", help="exported clone files to bring to life"),
        with_default("--name", "host", "your name in the chat"),
        option(
            "--trust",
            action="append",
            metavar="KEY",
            help="only accept files signed by this key; repeatable",
        ),
        option(
            "--llm-url",
            help="OpenAI-compatible chat endpoint (llama.cpp, Ollama, vLLM) "
            "for replies; default: the template mind",
        ),
        with_default("--llm-model", "local", "model name sent to the endpoint"),
        with_default("--llm-timeout", 10.0, "seconds per reply"),
        json_switch("one JSON object per line of chat"),
        help="chat with exported clones in the terminal",
        description="Bring exported clones back to life outside any world: type to "
        "talk to all of them, @Name to talk to one; they answer, talk to each other "
        "and remember where they came from. Reads standard input (works piped).",
    )


# --- helpers ---------------------------------------------------------------------------------


def _repo(args: argparse.Namespace) -> JsonDirRepository:
    """The clone directory, or with --db the server's database (StoreCloneRepository has the
    same methods); opened once per command."""
    from callister.agents.repository import JsonDirRepository

    repo: Any = getattr(args, "_repo", None)
    if repo is None:
        if getattr(args, "db", None):
            from callister.server.crew import StoreCloneRepository
            from callister.store import open_store

            repo = StoreCloneRepository(open_store(args.db), args.key_world)
        else:
            repo = JsonDirRepository(args.dir)
        args._repo = repo
    return repo


def _store(args: argparse.Namespace, what: str) -> Store:
    """The server's database, for what only it holds (`what`: "consent records" ...)."""
    if not getattr(args, "db", None):
        raise ValueError(
            f"{what} live in the server's database: give --db URL (or set CALLISTER_CLONE_DB)"
        )
    return _repo(args).store  # type: ignore[attr-defined]


def _put_keeping_ship(repo: JsonDirRepository, clone: Clone) -> None:
    """Store `clone` again without moving it off the ship it is aboard (database only)."""
    row = getattr(repo, "get_row", None)
    if row is None:
        repo.put(clone)
        return
    stored = row(clone.id)
    repo.put(clone, None if stored is None else stored.ship_id)  # type: ignore[call-arg]


def _guard(fn: Any) -> Any:
    """CloneDead and agent errors become the CLI's clear error (exit 2)."""

    def run(args: argparse.Namespace) -> int:
        from callister.agents.errors import CloneDead

        try:
            return int(fn(args) or 0)
        except CloneDead as exc:
            raise ValueError(str(exc)) from None

    run.__doc__ = fn.__doc__
    return run


def _summary(clone: Clone) -> dict[str, Any]:
    from callister.agents.repository import CloneSummary

    s = CloneSummary.of(clone)
    return {
        "id": s.id,
        "name": s.name,
        "world": s.world,
        "role": s.role,
        "goal": s.goal,
        "alive": s.alive,
        "licence": s.licence,
        "licensed": clone.licence.is_licensed,
        "memories": s.memories,
        "parent": s.parent,
        "generation": s.generation,
    }


def _summary_line(d: dict[str, Any]) -> str:
    state = "alive" if d["alive"] else "DEAD (archive)"
    lic = "" if d["licensed"] else "  [UNLICENSED]"
    return (
        f"{d['id']}  {d['name']}  world={d['world']}  {d['role']}/{d['goal']}  {state}  "
        f"licence={d['licence']}  memories={d['memories']}{lic}"
    )


def _print_clone(args: argparse.Namespace, out: dict[str, Any], *lines: str) -> int:
    """What a command did to a clone: `out` as JSON with --json, else the clone's summary line
    and then `lines`."""
    return print_result(args.json, out, _summary_line(out), *lines)


def _latest_tick(clone: Clone) -> int:
    return max((m.tick for m in clone.memory), default=0)


def _load_profile(path: str) -> dict[str, Any]:
    raw = Path(path).read_bytes()
    try:
        if path.endswith(".toml"):
            return tomllib.loads(raw.decode())
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a valid profile document ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a profile must be an object")
    return data


def _public_key(spec: str) -> bytes:
    """A public key from a file holding base64 or a PEM private key, or from base64 text."""
    from callister.agents.clonefile import SigningKey

    path = Path(spec)
    raw = path.read_bytes().strip() if path.is_file() else spec.encode()
    if raw.startswith(b"-----BEGIN"):
        return SigningKey.from_bytes(raw).public_bytes
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            f"{spec}: not a public key (base64, as `clone key` prints it), a file holding one, "
            "or a signing key file"
        ) from None
    if len(key) != 32:
        raise ValueError(f"{spec}: an Ed25519 public key is 32 bytes, not {len(key)}")
    return key


def _trusted(specs: list[str] | None) -> list[bytes] | None:
    """Public keys from --trust values (see `_public_key`); None when there are none."""
    return [_public_key(spec) for spec in specs] if specs else None


def _key(args: argparse.Namespace) -> Any:
    from callister.agents.repository import load_or_create_key

    return load_or_create_key(args.key) if args.key else _repo(args).signing_key()


# --- commands --------------------------------------------------------------------------------


@_guard
def new(args: argparse.Namespace) -> int:
    from callister.agents import Clone, Licence, Profile

    raw = _load_profile(args.profile) if args.profile else {}
    if args.name:
        raw["name"] = args.name
    if "name" not in raw:
        raise ValueError("give --name or a --profile with a name")
    profile = Profile.from_dict(raw)
    if args.consent is not None:
        if args.subject is None:
            raise ValueError("--consent needs --subject: whose consent record it is")
        _store(args, "consent records")
        if _repo(args).consent_record(args.subject, args.consent, args.owner) is None:  # type: ignore[attr-defined]
            raise ValueError(
                f"consent {args.consent!r} is not an active consent record of account "
                f"{args.subject} covering owner {args.owner}: see `callister clone consent list "
                "NAME --db URL`; the person records consent with POST /api/clones/consent"
            )
    repo = _repo(args)
    clone_id = args.clone_id if args.clone_id is not None else repo.new_id()
    if repo.exists(clone_id):
        raise ValueError(f"clone {clone_id} already exists in {repo.dir}")
    clone = Clone.create(
        clone_id,
        profile,
        world=args.world,
        tick=args.tick,
        role=args.role,
        goal=args.goal,
        licence=Licence(owner=args.owner, subject=args.subject, consent=args.consent),
    )
    repo.put(clone)
    # the licence as the repository judges it
    return _print_clone(args, _summary(repo.get(clone.id)))


def list_clones(args: argparse.Namespace) -> int:
    alive = True if args.alive else False if args.dead else None
    rows = _repo(args).list(world=args.world, alive=alive)
    if args.json:
        emit_json(
            [
                {
                    "id": r.id,
                    "name": r.name,
                    "world": r.world,
                    "role": r.role,
                    "goal": r.goal,
                    "alive": r.alive,
                    "licence": r.licence,
                    "memories": r.memories,
                    "parent": r.parent,
                    "generation": r.generation,
                }
                for r in rows
            ]
        )
        return 0
    for r in rows:
        state = "alive" if r.alive else "DEAD"
        flag = "  [UNLICENSED]" if r.licence == "unlicensed" else ""
        print(
            f"{r.id}  {r.name}  world={r.world}  {r.role}/{r.goal}  {state}  "
            f"memories={r.memories}{flag}"
        )
    if not rows:
        print("no clones", file=sys.stderr)
    return 0


def show(args: argparse.Namespace) -> int:
    clone = _repo(args).get(args.id)
    out = _summary(clone)
    out["profile"] = clone.profile.to_dict()
    out["personality"] = clone.personality.to_dict()
    out["mood"] = clone.mood.to_dict() | {"label": clone.mood.label}
    out["lineage"] = clone.lineage.to_dict()
    out["licence_record"] = clone.licence.to_dict()
    out["relationships"] = clone.relationships.to_list()
    out["recent_memories"] = [
        {"tick": m.tick, "kind": m.kind.name.lower(), "importance": m.importance, "text": m.text}
        for m in clone.memory.recent(max(0, args.memories))
    ]
    if args.json:
        emit_json(out)
        return 0
    print(_summary_line(out))
    lin = clone.lineage
    print(
        f"  origin: world {lin.origin_world}, born tick {lin.born_tick}, generation "
        f"{lin.generation}"
        + (f", forked from {lin.parent} at tick {lin.fork_tick}" if lin.parent else "")
    )
    print(f"  traits: {', '.join(clone.profile.traits) or '-'}; mood: {clone.mood.label}")
    for m in out["recent_memories"]:
        print(f"  @{m['tick']} [{m['kind']} {m['importance']:g}] {m['text']}")
    return 0


@_guard
def export(args: argparse.Namespace) -> int:
    from callister.agents.clonefile import export_clone, new_claim_code

    repo = _repo(args)
    clone = repo.get(args.id)
    key = _key(args)
    tick = args.tick if args.tick is not None else _latest_tick(clone)
    licence = clone.licence
    # only the server's database holds consent records, so only it issues licence proofs
    proof = repo.licence_proof(clone, key) if args.db else None  # type: ignore[attr-defined]
    code = new_claim_code() if licence.owner is not None else None
    data = export_clone(clone, key, world=clone.world, tick=tick, proof=proof, claim_code=code)
    out = Path(args.output)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    result = {
        "id": clone.id,
        "name": clone.name,
        "file": str(out),
        "bytes": len(data),
        "signer": key.fingerprint,
        "tick": tick,
        "memories": len(clone.memory),
        "licence": licence.status,
        "licence_proof": proof is not None,
        "owner": licence.owner,
        "claim_code": code,
    }
    exported = (
        f"exported {clone.name} ({clone.id}) to {out}: {len(data)} bytes, "
        f"{len(clone.memory)} memories, signed by {key.fingerprint}, licence "
        f"{licence.status}{' with proof' if proof else ''}"
    )
    claim_note = (
        f"claim code for its owner (account {licence.owner}), shown only now: {code}\n"
        "  where the file is imported, the owner claims the clone with it"
    )
    return print_result(args.json, result, exported, *([claim_note] if code is not None else []))


@_guard
def import_(args: argparse.Namespace) -> int:
    from callister.agents.clonefile import import_clone, read_clone_file, require_trusted

    data = Path(args.file).read_bytes()
    repo = _repo(args)
    own = repo.own_keys()
    trusted = [t.public_key for t in repo.trusted_keys(args.world)] + (_trusted(args.trust) or [])
    package = read_clone_file(data)  # verify before touching the directory or database
    require_trusted(package, own=own, trusted=trusted, allow_untrusted=args.allow_untrusted)
    new_id = None
    if repo.exists(package.clone.id):
        if not args.as_new:
            raise ValueError(
                f"clone {package.clone.id} already exists in {repo.dir}; "
                "use --as-new to import it under a new id"
            )
        new_id = repo.new_id()
    tick = args.tick if args.tick is not None else _latest_tick(package.clone) + 1
    arrival = import_clone(
        data,
        world=args.world,
        tick=tick,
        own=own,
        trusted=trusted,
        allow_untrusted=args.allow_untrusted,
        new_id=new_id,
    )
    repo.put(arrival.clone)
    clone = repo.get(arrival.clone.id)  # the licence as this server judges it
    out = _summary(clone) | {
        "owner": clone.licence.owner,
        "signer": package.signer,
        "trusted": arrival.trusted,
        "from_this_server": arrival.home,
        "from_world": package.world,
        "format_version": package.version,
        "exported_tick": package.tick,
        "arrival_tick": tick,
        "notes": list(arrival.notes),
    }
    _print_clone(
        args,
        out,
        f"  verified: signed by {package.signer}, exported from world {package.world} at "
        f"tick {package.tick}; arrived in {args.world} at tick {tick}",
    )
    for note in arrival.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


@_guard
def claim(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from callister.agents.clonefile import claim_matches

    repo = _repo(args)
    clone = repo.get(args.id)
    licence = clone.licence
    if licence.owner is not None:
        raise ValueError(
            f"clone {clone.id} already belongs to account {licence.owner}: only an unowned "
            "(imported, unclaimed) clone can be claimed"
        )
    if args.code is not None and not claim_matches(licence, args.code):
        raise ValueError(
            f"that is not clone {clone.id}'s claim code"
            + (
                ": it carries none (an older or unowned export); an administrator can --assign"
                if licence.claim is None
                else " (the code is printed once by `clone export` where it was exported)"
            )
        )
    if args.db and repo.store.accounts.get(args.account) is None:  # type: ignore[attr-defined]
        raise ValueError(f"no account {args.account} on this server")
    clone.licence = replace(licence, owner=args.account, claim=None)
    _put_keeping_ship(repo, clone)
    how = "assigned" if args.assign else "claim code"
    if args.db:
        repo.store.worlds.add_audit(  # type: ignore[attr-defined]
            None,
            "clone_claimed",
            str(clone.id),
            {"account": args.account, "how": how, "world": clone.world},
        )
    out = _summary(repo.get(clone.id)) | {"owner": args.account, "how": how}
    return _print_clone(args, out, f"  now owned by account {args.account} ({how})")


@_guard
def fork(args: argparse.Namespace) -> int:
    from callister.agents.clonefile import fork_clone

    repo = _repo(args)
    clone = repo.get(args.id)
    tick = args.tick if args.tick is not None else _latest_tick(clone) + 1
    twin = fork_clone(clone, new_id=repo.new_id(), tick=tick, at_tick=args.at, name=args.name)
    repo.put(twin)
    out = _summary(repo.get(twin.id)) | {"fork_tick": twin.lineage.fork_tick}
    return _print_clone(
        args, out, f"  forked from {clone.id} sharing memories up to tick {twin.lineage.fork_tick}"
    )


@_guard
def kill(args: argparse.Namespace) -> int:
    repo = _repo(args)
    clone = repo.get(args.id)
    tick = args.tick if args.tick is not None else _latest_tick(clone) + 1
    clone.die(tick, args.cause)
    repo.put(clone)
    return _print_clone(
        args, _summary(repo.get(clone.id)) | {"died_tick": tick, "cause": args.cause}
    )


def show_key(args: argparse.Namespace) -> int:
    key = _key(args)
    public = base64.b64encode(key.public_bytes).decode("ascii")
    if args.out:
        Path(args.out).write_text(public + "\n")
    out = {"public_key": public, "fingerprint": key.fingerprint}
    return print_result(args.json, out, f"{public}  (fingerprint {key.fingerprint})")


def _trust_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    from callister.agents.clonefile import fingerprint

    repo = _repo(args)
    rows: list[dict[str, Any]] = [
        {
            "fingerprint": fingerprint(k),
            "public_key": base64.b64encode(k).decode("ascii"),
            "label": "this server",
            "source": "own",
            "added_at": None,
        }
        for k in repo.own_keys()
    ]
    rows += [
        {
            "fingerprint": fingerprint(t.public_key),
            "public_key": base64.b64encode(t.public_key).decode("ascii"),
            "label": t.label,
            "source": "added",
            "added_at": t.added_at,
        }
        for t in repo.trusted_keys(args.world)
    ]
    return rows


@_guard
def trust_add(args: argparse.Namespace) -> int:
    from callister.agents.clonefile import fingerprint

    key = _public_key(args.key_spec)
    repo = _repo(args)
    if key in repo.own_keys():
        raise ValueError(f"key {fingerprint(key)} is this server's own: it is trusted already")
    repo.trust(args.world, key, args.label or fingerprint(key))
    out = {"world": args.world, "fingerprint": fingerprint(key), "label": args.label, "added": True}
    return print_result(
        args.json,
        out,
        f"world {args.world} now trusts key {fingerprint(key)} ({args.label or 'no label'})",
    )


def trust_list(args: argparse.Namespace) -> int:
    rows = _trust_rows(args)
    if args.json:
        emit_json({"world": args.world, "keys": rows})
        return 0
    for r in rows:
        print(f"{r['fingerprint']}  {r['source']:5}  {r['label']}  {r['public_key']}")
    return 0


@_guard
def trust_remove(args: argparse.Namespace) -> int:
    spec = args.key_spec.strip().lower()
    rows = [r for r in _trust_rows(args) if r["fingerprint"] == spec]
    if rows:
        key = base64.b64decode(rows[0]["public_key"])
    else:
        try:
            key = _public_key(args.key_spec)
        except ValueError:
            raise ValueError(
                f"{args.key_spec!r} is neither a trusted key's fingerprint (see `clone trust "
                "list`) nor a public key"
            ) from None
    from callister.agents.clonefile import fingerprint

    repo = _repo(args)
    if key in repo.own_keys():
        raise ValueError(
            f"key {fingerprint(key)} is this server's own signing key; it cannot be untrusted"
        )
    if not repo.untrust(args.world, key):
        raise ValueError(f"world {args.world} does not trust key {fingerprint(key)}")
    out = {"world": args.world, "fingerprint": fingerprint(key), "removed": True}
    return print_result(
        args.json, out, f"world {args.world} no longer trusts key {fingerprint(key)}"
    )


def _account(store: Store, name: str) -> Any:
    found = store.accounts.by_name(name)
    if found is None:
        raise ValueError(f"no account named {name!r}")
    return found


def consent_list(args: argparse.Namespace) -> int:
    store = _store(args, "consent records")
    account = _account(store, args.account)
    rows = [
        {
            "id": c.id,
            "subject": account.id,
            "grantee": c.grantee_id,
            "granted_at": c.granted_at,
            "revoked_at": c.revoked_at,
            "active": c.active,
        }
        for c in store.clones.list_consents(account.id)
    ]
    if args.json:
        emit_json({"account": account.name, "consents": rows})
        return 0
    for r in rows:
        who = "anyone" if r["grantee"] is None else f"account {r['grantee']}"
        state = "active" if r["active"] else "REVOKED"
        print(f"{r['id']}  {account.name} allows clones by {who}  {state}")
    if not rows:
        print(f"{account.name} has recorded no consent", file=sys.stderr)
    return 0


def consent_revoke(args: argparse.Namespace) -> int:
    store = _store(args, "consent records")
    account = _account(store, args.account)
    if not store.clones.revoke_consent(account.id, args.consent_id):
        raise ValueError(
            f"{account.name} has no active consent {args.consent_id} (see `clone consent list`)"
        )
    out = {"account": account.name, "consent": args.consent_id, "revoked": True}
    return print_result(
        args.json,
        out,
        f"revoked consent {args.consent_id} of {account.name}: their clones under it are "
        "unlicensed now",
    )


def host(args: argparse.Namespace) -> int:
    from dataclasses import replace as dc_replace

    from callister.agents.clonefile import licence_proven, read_clone_file
    from callister.agents.dialogue import template_reply
    from callister.agents.host import HOST_ID, HostSession, Line

    trusted = _trusted(args.trust)
    packages = [read_clone_file(Path(f).read_bytes(), trusted=trusted) for f in args.files]
    for p in packages:  # a licence shows as such only with a proof from a --trust key
        licence = p.clone.licence
        if licence.subject is not None:
            home = licence.home or p.signer
            judged = dc_replace(licence, home=home)
            p.clone.licence = dc_replace(licence, proven=licence_proven(judged, trusted or []))
    loop = asyncio.new_event_loop()
    llm_mind = None
    if args.llm_url:
        from callister.agents.llm import LLMMind, OpenAIChatBackend

        backend = OpenAIChatBackend(args.llm_url, model=args.llm_model, timeout=args.llm_timeout)
        llm_mind = LLMMind(backend, timeout=args.llm_timeout)

    def reply(clone: Clone, text: str, speaker: int, name: str, tick: int) -> Reply:
        orders = speaker == HOST_ID  # the host may give orders; the clones may not
        if llm_mind is not None:
            return loop.run_until_complete(
                llm_mind.reply(
                    clone, text, speaker=speaker, speaker_name=name, tick=tick, allow_orders=orders
                )
            )
        return template_reply(
            clone, text, speaker=speaker, speaker_name=name, tick=tick, allow_orders=orders
        )

    def emit(lines: list[Line]) -> None:
        for line in lines:
            if args.json:
                print(json.dumps(line.to_dict(), ensure_ascii=False), flush=True)
            else:
                to = f" (to {line.to})" if line.to and line.to != args.name else ""
                print(f"{line.speaker}{to}: {line.text}", flush=True)

    session = HostSession(packages, reply, host_name=args.name)
    interactive = sys.stdin.isatty()
    try:
        emit(session.start())
        if interactive and not args.json:
            print("(type to talk; @Name to address one; /who, /memories NAME, /quit)", flush=True)
        while not session.finished:
            if interactive:
                print("> ", end="", flush=True)
            line = sys.stdin.readline()
            if not line:
                break
            emit(session.say(line))
    finally:
        if llm_mind is not None:
            loop.run_until_complete(llm_mind.backend.close())
        loop.close()
    return 0
