"""`callister admin user create|list|set-role|delete`, `callister admin world ...` and
`callister admin ledger audit` against the server's database. Store errors (unknown names,
taken names, a bad database URL) become ValueError, which main() prints as
`callister: <message>` with exit status 2.

Commands that change something name the acting administrator and prove it (cli/credentials.py:
`--as NAME` with the password, or an admin token); the audit log records that account. The one
exception: while the database has no administrator, accounts may be created and promoted
without one (how the first administrator comes to exist).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from callister.cli import content_cmd, gm_cmd
from callister.cli.common import emit_json
from callister.cli.credentials import TOKEN_ENV, add_credential_args, authenticate

if TYPE_CHECKING:
    from callister.server.settings import Settings
    from callister.store import Account, Store


ROLES = ["player", "moderator", "admin"]
VISIBILITY_HELP = "who may join: public, private or invite (default %(default)s)"


def _db_args(p: argparse.ArgumentParser, *, leaf: bool) -> None:
    """--db and --config, accepted both after `admin` and after the action (leaf=True: no
    default, so a value given after `admin` is not overwritten)."""
    extra: dict[str, Any] = {"default": argparse.SUPPRESS} if leaf else {}
    p.add_argument(
        "--db",
        metavar="URL",
        help="database URL, sqlite:///path.db or postgresql://... (default: the db setting, "
        "$CALLISTER_DB or sqlite:///data/callister.db)",
        **extra,
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help="TOML settings file (default: $CALLISTER_CONFIG, if set)",
        **extra,
    )


def _action(
    act: argparse._SubParsersAction, name: str, help: str, description: str | None = None
) -> argparse.ArgumentParser:
    """One leaf command, with --db/--config accepted after it too."""
    p: argparse.ArgumentParser = act.add_parser(name, help=help, description=description or help)
    _db_args(p, leaf=True)
    return p


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "admin",
        help="administration (users, roles, worlds, the kill switch, the ledger audit)",
        description="Administer accounts and worlds directly in the database (the server may "
        "be running). --db and --config go after `admin` or after the action. Changes need "
        "an administrator's credentials: --as NAME and the password (prompted, or "
        f"--password-stdin), or a token from POST /api/login (--token-file FILE or "
        f"${TOKEN_ENV}).",
    )
    _db_args(p, leaf=False)
    area = p.add_subparsers(dest="area", metavar="AREA", required=True, help="what to administer")
    user = area.add_parser(
        "user",
        help="accounts and roles",
        description="Create, list, change the role of and delete accounts.",
    )
    act = user.add_subparsers(
        dest="action", metavar="ACTION", required=True, help="what to do with accounts"
    )

    c = _action(
        act,
        "create",
        "create an account",
        "Create an account. The password is prompted for, or read from standard input with "
        "--password-stdin (one line). Once an administrator exists, this needs one's "
        "credentials: with --as and --password-stdin, standard input holds two lines, the "
        "administrator's password first, then the new account's.",
    )
    c.add_argument("name", help="the account's name (also its login)")
    c.add_argument("--role", choices=ROLES, default="player", help="role (default %(default)s)")
    c.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password(s) from standard input (otherwise prompt)",
    )
    add_credential_args(c, password_stdin=False)
    c.add_argument("--json", action="store_true", help="print the account as JSON")
    c.set_defaults(func=create)

    ls = _action(act, "list", "list accounts", "List accounts: id, name, role, banned.")
    ls.add_argument(
        "--limit", type=int, default=100, help="most accounts listed (default %(default)s)"
    )
    ls.add_argument("--json", action="store_true", help="print a JSON array")
    ls.set_defaults(func=list_users)

    r = _action(
        act,
        "set-role",
        "change an account's role",
        "Make an account a player, a moderator or an administrator.",
    )
    r.add_argument("name", help="the account's name")
    r.add_argument("role", choices=ROLES, help="the new role: player, moderator or admin")
    add_credential_args(r)
    r.add_argument("--json", action="store_true", help="print the account as JSON")
    r.set_defaults(func=set_role)

    d = _action(
        act,
        "delete",
        "delete an account and its characters",
        "Delete an account and its characters in every world. Asks you to type the name "
        "unless --yes.",
    )
    d.add_argument("name", help="the account's name")
    d.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_credential_args(d)
    d.set_defaults(func=delete)
    _register_world(area)
    _register_ledger(area)
    gm_cmd.register(area)


def _register_world(area: argparse._SubParsersAction) -> None:
    """`callister admin world list|create|invite|fork|move|delete|approve|cancel|audit`."""
    world = area.add_parser(
        "world",
        help="worlds: create, fork, move, the kill switch",
        description="Worlds: list, create, invite, fork, move characters between them, and "
        "delete them (the kill switch). Changes need an administrator's credentials (--as "
        f"ADMIN and the password, or a token: --token-file / ${TOKEN_ENV}) and are written "
        "to the world audit log with that account.",
    )
    act = world.add_subparsers(
        dest="action", metavar="ACTION", required=True, help="what to do with worlds"
    )

    def admin_arg(p: argparse.ArgumentParser) -> None:
        add_credential_args(p)
        p.set_defaults(needs_admin=True)

    ls = _action(
        act,
        "list",
        "worlds with population and size",
        "List the worlds: visibility, characters, rows, and any pending deletion.",
    )
    ls.add_argument("--json", action="store_true", help="print a JSON array (rules, stats, job)")
    ls.set_defaults(func=world_list)

    c = _action(
        act,
        "create",
        "create a world",
        "Register a new world with its own universe seed, visibility, player limit and rules.",
    )
    c.add_argument("name", help="the new world's name: 2-32 of a-z 0-9 _ -, starting with a letter")
    admin_arg(c)
    c.add_argument("--seed", type=int, default=None, help="universe seed (default: random)")
    c.add_argument(
        "--visibility",
        choices=["public", "private", "invite"],
        default="private",
        help=VISIBILITY_HELP,
    )
    c.add_argument("--limit", type=int, default=0, help="player limit (default 0: none)")
    c.add_argument("--no-pvp", action="store_true", help="weapons do players no harm")
    c.add_argument(
        "--rules",
        default="{}",
        help='more rules as a JSON object, e.g. {"fuel_multiplier": 2} (default: none)',
    )
    c.set_defaults(func=world_create)

    i = _action(
        act,
        "invite",
        "invite an account into a world",
        "Invite an account into a world (needed to join an invite-only world).",
    )
    i.add_argument("name", help="the world's name")
    i.add_argument("account", help="the invited account's name")
    admin_arg(i)
    i.set_defaults(func=world_invite)

    f = _action(
        act,
        "fork",
        "a new world from another's persisted state (progress bar)",
        "Create a new world from another world's persisted state. With the same seed, "
        "everything spatial is copied; with a new seed, characters start at new homes with "
        "their ships, cargo and credits.",
    )
    f.add_argument("source", help="the world to copy")
    f.add_argument("name", help="the new world's name")
    admin_arg(f)
    f.add_argument("--seed", type=int, default=None, help="new seed (default: the source's)")
    f.add_argument(
        "--visibility",
        choices=["public", "private", "invite"],
        default="private",
        help=VISIBILITY_HELP,
    )
    f.set_defaults(func=world_fork)

    m = _action(
        act,
        "move",
        "move a character with ship, cargo, credits, crew",
        "Move an account's character from one world to another in one transaction, with its "
        "ship, cargo, credits and the crew aboard; it arrives at a home in the new universe.",
    )
    m.add_argument("account", help="the name of the account whose character moves")
    m.add_argument("--from", dest="source", required=True, help="the world it is in now")
    m.add_argument("--to", dest="destination", required=True, help="the world it moves to")
    admin_arg(m)
    m.set_defaults(func=world_move)

    d = _action(
        act,
        "delete",
        "the kill switch: delete a world (type its name)",
        "Delete a world and every row keyed to it; its characters are moved to their home "
        "worlds first. Asks you to type the name unless --confirm NAME. A world with players "
        "or data waits for a second administrator's approval (the two-person rule; setting "
        "kill_switch_two_person). Without --now the running server deletes it after a "
        "countdown; with --now (once approved, if needed) this process deletes it.",
    )
    d.add_argument("name", help="the world to delete")
    admin_arg(d)
    d.add_argument(
        "--confirm", metavar="NAME", help="the world's name again (otherwise you are asked)"
    )
    d.add_argument("--override", action="store_true", help="allow deleting the public world")
    d.add_argument(
        "--now",
        action="store_true",
        help="run the deletion in this process (no server running); else the server does it",
    )
    d.set_defaults(func=world_delete)

    a = _action(
        act,
        "approve",
        "second administrator: approve a pending deletion",
        "Approve a world deletion another administrator requested (the two-person rule, "
        "setting kill_switch_two_person); its countdown then starts. The requester cannot "
        "approve their own request.",
    )
    a.add_argument("name", help="the world whose deletion waits for approval")
    admin_arg(a)
    a.set_defaults(func=world_approve)

    x = _action(
        act,
        "cancel",
        "cancel a deletion that has not started deleting",
        "Cancel a world deletion that is waiting for approval or counting down.",
    )
    x.add_argument("name", help="the world whose deletion to cancel")
    admin_arg(x)
    x.set_defaults(func=world_cancel)

    au = _action(
        act,
        "audit",
        "the world audit log (survives deleted worlds)",
        "Print the world audit log, newest first (at most 200 records): who created, invited, "
        "forked, moved and deleted what. Records outlive the worlds they are about.",
    )
    au.add_argument("name", nargs="?", help="only this world's records (default: all worlds)")
    au.add_argument("--json", action="store_true", help="print a JSON array")
    au.set_defaults(func=world_audit)

    content_cmd.register(act)


@contextmanager
def _opened(args: argparse.Namespace) -> Iterator[tuple[Settings, Store]]:
    """The settings and an open store; store errors become messages naming the account."""
    from callister.server.settings import load_settings
    from callister.store import NameTaken, NotFound, StoreError

    settings = load_settings(args.config, db=args.db)
    store = _open(settings.db)
    try:
        yield settings, store
    except NameTaken:
        raise ValueError(f"the name '{args.name}' is taken") from None
    except NotFound:
        raise ValueError(f"no account named '{args.name}'") from None
    except StoreError as exc:
        raise ValueError(str(exc)) from None
    finally:
        store.db.close()


def _acting(args: argparse.Namespace, store: Store, settings: Settings) -> Account | None:
    """The authenticated administrator behind an account change; None while the database has
    no administrator at all (creating the first one needs no credentials)."""
    if not _has_admin(store):
        if args.actor or args.token_file:  # stdin would be read differently than meant
            raise ValueError("there is no administrator yet: create the first without --as")
        return None
    return authenticate(args, store, settings)


def _has_admin(store: Store) -> bool:
    page, offset = 1000, 0
    while True:
        accounts = store.accounts.all(page, offset)
        if any(a.role == "admin" for a in accounts):
            return True
        if len(accounts) < page:
            return False
        offset += page


def _open(url: str) -> Store:
    from callister.store import StoreError, open_store

    try:
        return open_store(url)
    except StoreError as exc:
        raise ValueError(str(exc)) from None


def _ask(prompt: str, instead: str, *, secret: bool = False) -> str:
    """Prompt on the terminal; closed standard input is a clear error naming the flag to use."""
    try:
        return getpass.getpass(prompt) if secret else input(prompt)
    except EOFError:
        raise ValueError(f"no answer on standard input: use {instead}") from None


def _account_json(a: Account) -> dict[str, Any]:
    return {"id": a.id, "name": a.name, "role": a.role, "banned": a.banned}


def _show(args: argparse.Namespace, account: Account, text: str) -> int:
    if args.json:
        emit_json(_account_json(account))
    else:
        print(text)
    return 0


def create(args: argparse.Namespace) -> int:
    from callister.server.auth import Passwords, check_name, check_password

    check_name(args.name)
    with _opened(args) as (settings, store):
        _acting(args, store, settings)  # the administrator's password comes first on stdin
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = _ask(f"password for {args.name}: ", "--password-stdin", secret=True)
        check_password(password)
        hashed = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib).hash(password)
        account = store.accounts.create(args.name, hashed, args.role)
    return _show(args, account, f"created {account.name} (id {account.id}, role {account.role})")


def list_users(args: argparse.Namespace) -> int:
    with _opened(args) as (_, store):
        accounts = store.accounts.all(args.limit, 0)
    if args.json:
        emit_json([_account_json(a) for a in accounts])
    else:
        for a in accounts:
            print(f"{a.id:>8}  {a.name:<24} {a.role}{'  (banned)' if a.banned else ''}")
    return 0


def set_role(args: argparse.Namespace) -> int:
    with _opened(args) as (settings, store):
        _acting(args, store, settings)
        account = store.accounts.set_role(args.name, args.role)
    return _show(args, account, f"{account.name} is now {account.role}")


def delete(args: argparse.Namespace) -> int:
    if not args.yes:
        typed = _ask(f"type the account name ({args.name}) to delete it: ", "--yes")
        if typed != args.name:
            raise ValueError("confirmation did not match; nothing deleted")
    with _opened(args) as (settings, store):
        _acting(args, store, settings)
        store.accounts.delete(args.name)
    print(f"deleted {args.name}")
    return 0


# ------------------------------------------------------------------------------- worlds
@contextmanager
def _world_store(args: argparse.Namespace) -> Iterator[tuple[Settings, Store, Account | None]]:
    """Settings, an open store and the authenticated acting admin (for commands that change
    something; refused unless the credentials prove an account with role admin)."""
    from callister.server.settings import load_settings
    from callister.store import StoreError, WorldRecord

    settings = load_settings(args.config, db=args.db)
    store = _open(settings.db)
    try:
        from callister.worlds import WorldRules

        store.worlds.ensure(
            WorldRecord(
                name=settings.world_name,
                seed=settings.world_seed,
                owner=None,
                visibility="public",
                player_limit=0,
                rules=WorldRules(pvp=settings.pvp).to_dict(),
            )
        )
        actor = authenticate(args, store, settings) if getattr(args, "needs_admin", False) else None
        yield settings, store, actor
    except StoreError as exc:  # NotFound, NameTaken: the store's message names what is wrong
        raise ValueError(str(exc)) from None
    finally:
        store.db.close()


def world_list(args: argparse.Namespace) -> int:
    with _world_store(args) as (_, store, _actor):
        rows = []
        jobs = {j.world: j for j in store.deletions.all()}
        for w in store.worlds.all():
            stats = store.worlds.stats(w.name)
            job = jobs.get(w.name)
            rows.append(
                {
                    "name": w.name,
                    "seed": str(w.seed),
                    "visibility": w.visibility,
                    "state": w.state,
                    "owner": w.owner,
                    "rules": w.rules,
                    **stats,
                    "job": None if job is None else job.state,
                }
            )
    if args.json:
        emit_json(rows)
    else:
        for r in rows:
            tag = f"  [{r['job']}]" if r["job"] else ""
            print(f"{r['name']:<24} {r['visibility']:<8} characters {r['characters']:>6}  "
                  f"rows {r['rows']:>9}{tag}")  # fmt: skip
    return 0


def world_create(args: argparse.Namespace) -> int:
    import json
    import secrets

    from callister.store import WorldRecord
    from callister.worlds import WorldRules

    try:
        extra = json.loads(args.rules)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--rules is not JSON: {exc}") from None
    if not isinstance(extra, dict):
        raise ValueError("--rules must be a JSON object")
    if args.no_pvp:
        extra["pvp"] = False
    rules = WorldRules.from_dict(extra)
    with _world_store(args) as (_, store, actor):
        assert actor is not None
        record = store.worlds.create(
            WorldRecord(
                name=args.name,
                seed=secrets.randbits(63) if args.seed is None else args.seed,
                owner=None,
                visibility=args.visibility,
                player_limit=args.limit,
                rules=rules.to_dict(),
            ),
            actor.id,
        )
    print(f"created world {record.name} (seed {record.seed}, {record.visibility})")
    return 0


def world_invite(args: argparse.Namespace) -> int:
    with _world_store(args) as (_, store, actor):
        assert actor is not None
        guest = store.accounts.by_name(args.account)
        if guest is None:
            raise ValueError(f"no account named '{args.account}'")
        store.worlds.set_member(args.name, guest.id, "invited", actor.id)
    print(f"invited {guest.name} into {args.name}")
    return 0


def world_fork(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from tqdm import tqdm

    from callister.worlds import home_placement

    with _world_store(args) as (settings, store, actor):
        assert actor is not None
        source = store.worlds.get(args.source)
        if source is None:
            raise ValueError(f"no world named '{args.source}'")
        seed = source.seed if args.seed is None else args.seed
        record = replace(source, name=args.name, seed=seed, visibility=args.visibility,
                         owner=None, state="live")  # fmt: skip
        homes = settings.home_systems
        with tqdm(total=0, unit="row", desc=f"fork {args.source} -> {args.name}") as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            result = store.worlds.fork(
                args.source,
                record,
                actor=actor.id,
                spatial=seed == source.seed,
                placement=lambda a: home_placement(seed, homes, a),
                progress=progress,
            )
    print(f"forked {args.source} into {args.name}: {result['rows']}")
    if result["skipped"]:
        print(f"not copied (not part of a fork): {', '.join(result['skipped'])}")
    return 0


def world_move(args: argparse.Namespace) -> int:
    from callister.worlds import home_placement

    with _world_store(args) as (settings, store, actor):
        assert actor is not None
        who = store.accounts.by_name(args.account)
        if who is None:
            raise ValueError(f"no account named '{args.account}'")
        dest = store.worlds.get(args.destination)
        if dest is None:
            raise ValueError(f"no world named '{args.destination}'")
        placement = home_placement(dest.seed, settings.home_systems, who.id)
        result = store.worlds.move_character(
            who.id, args.source, args.destination, placement=placement, actor=actor.id
        )
    print(
        f"moved {who.name} from {args.source} to {args.destination}: ship {result.ship_id}, "
        f"{result.credits} credits, cargo {result.cargo}, aboard {result.moved_rows}"
    )
    return 0


def world_delete(args: argparse.Namespace) -> int:
    import time

    from tqdm import tqdm

    from callister.worlds import KillSwitch, request_deletion, run_deletion

    typed = args.confirm
    if typed is None:
        typed = _ask(
            f"type the world's name ({args.name}) to delete it and everything in it: ",
            f"--confirm {args.name}",
        )
    if typed != args.name:
        raise ValueError("confirmation did not match; nothing deleted")
    with _world_store(args) as (settings, store, actor):
        assert actor is not None
        job = request_deletion(store, args.name, actor, confirm=typed, override=args.override,
                               rules=KillSwitch.of(settings), now=time.time(),
                               countdown_s=0 if args.now else None, resume=True)  # fmt: skip
        if job.state == "approval":
            window = settings.world_delete_approval_s
            print(
                f"deletion of {args.name} requested; the world holds players or data, so a "
                f"second administrator must approve it within {window:.0f} s "
                f"(callister admin world approve {args.name} --as NAME)"
            )
            return 0
        if not args.now:
            print(
                f"deletion of {args.name} scheduled: players get a {job.countdown_s} s "
                "countdown, then the server deletes it (a restart resumes it)"
            )
            return 0
        store.deletions.begin(args.name)
        with tqdm(unit="row", desc=f"delete {args.name}") as bar:
            audit_id = run_deletion(
                store,
                args.name,
                public=settings.world_name,
                home_count=settings.home_systems,
                batch=settings.world_delete_batch,
                progress=lambda table, n: bar.update(n),
            )
    print(f"deleted world {args.name}; audit record {audit_id}")
    return 0


def world_approve(args: argparse.Namespace) -> int:
    import time

    from callister.worlds import approve_deletion

    with _world_store(args) as (_, store, actor):
        assert actor is not None
        job = approve_deletion(store, args.name, actor, time.time())
    print(f"approved: {args.name} is deleted after a {job.countdown_s} s countdown")
    return 0


def world_cancel(args: argparse.Namespace) -> int:
    with _world_store(args) as (_, store, actor):
        assert actor is not None
        if not store.deletions.cancel(args.name, actor.id, "cancelled from the command line"):
            raise ValueError(f"no deletion of '{args.name}' can be cancelled")
    print(f"cancelled the deletion of {args.name}")
    return 0


def world_audit(args: argparse.Namespace) -> int:
    import time

    with _world_store(args) as (_, store, _actor):
        records = store.worlds.list_audit(args.name, 200)
    if args.json:
        emit_json([{"id": r.id, "at": r.at, "actor": r.actor, "action": r.action,
                    "subject": r.subject, "detail": r.detail} for r in records])  # fmt: skip
    else:
        for r in records:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(r.at))
            print(f"{r.id:>6} {when} actor {r.actor} {r.action:<18} {r.subject}")
    return 0


# ------------------------------------------------------------------------------- the ledger
def _register_ledger(area: argparse._SubParsersAction) -> None:
    """`callister admin ledger audit [WORLD] [--json]`."""
    ledger = area.add_parser(
        "ledger",
        help="the books: credits and items",
        description="Check the books of the worlds (read only; the server may be running).",
    )
    act = ledger.add_subparsers(
        dest="action", metavar="ACTION", required=True, help="what to do with the books"
    )
    au = _action(
        act,
        "audit",
        "check every world's ledger and items (exit status 1 if unbalanced)",
        "Per world: the ledger is balanced (every transaction's postings and all balances sum "
        "to 0), each account's balance equals its entries, owned accounts (player:, bounty:) "
        "are not negative, every item is conserved (held = created - destroyed) and every "
        "holder's holding equals its logged moves. Exit status 0 if every world passes, 1 if "
        "any does not, 2 on bad input. A full scan: a progress bar on a terminal.",
    )
    au.add_argument("world", nargs="?", help="only this world (default: every world)")
    au.add_argument("--json", action="store_true", help="print a JSON array, one object a world")
    au.set_defaults(func=ledger_audit)


def ledger_audit(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from callister.economy.audit import STAGES, audit_books

    with _world_store(args) as (_, store, _actor):
        names = [w.name for w in store.worlds.all()]
        if args.world is not None:
            if args.world not in names:
                raise ValueError(f"no world named '{args.world}'")
            names = [args.world]
        results = []
        with tqdm(total=len(names) * len(STAGES), unit="scan", desc="ledger audit",
                  disable=None, file=sys.stderr) as bar:  # fmt: skip
            for name in names:
                bar.set_postfix_str(name)
                results.append(audit_books(store, name, progress=lambda _stage: bar.update(1)))
    if args.json:
        emit_json(results)
    else:
        _print_audit(results)
    return 0 if all(r["balanced"] for r in results) else 1


def _print_audit(results: list[dict[str, Any]]) -> None:
    def mark(ok: bool) -> str:
        return "ok" if ok else "FAIL"

    print(f"{'world':<24} {'accounts':>8} {'txns':>9} {'credits':>8}  ledger   accounts "
          "owned>=0 items    holders")  # fmt: skip
    for r in results:
        c = r["checks"]
        print(f"{r['world']:<24} {r['accounts']:>8} {r['transactions']:>9} "
              f"{r['credits_total']:>8}  {mark(c['ledger_balanced']):<8} "
              f"{mark(c['accounts_consistent']):<8} {mark(c['owned_non_negative']):<8} "
              f"{mark(c['items_conserved']):<8} {mark(c['holders_consistent'])}")  # fmt: skip
    for r in results:
        for problem in r["problems"]:
            print(f"{r['world']}: {problem}")
    bad = [r["world"] for r in results if not r["balanced"]]
    print(f"unbalanced: {', '.join(bad)}" if bad else "every world's books balance")
