"""`callister admin user create|list|set-role|delete` against the server's database."""

from __future__ import annotations

import argparse
import getpass
import sys

from callister.cli.common import emit_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "admin",
        help="administration (users, roles)",
        description="Administer accounts directly in the database.",
    )
    p.add_argument("--db", help="database URL (default: the serve setting)")
    p.add_argument("--config", help="TOML settings file")
    area = p.add_subparsers(dest="area", metavar="AREA", required=True)
    user = area.add_parser("user", help="accounts and roles")
    act = user.add_subparsers(dest="action", metavar="ACTION", required=True)

    c = act.add_parser("create", help="create an account")
    c.add_argument("name")
    c.add_argument("--role", choices=["player", "moderator", "admin"], default="player")
    c.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input (otherwise prompt)",
    )
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=create)

    ls = act.add_parser("list", help="list accounts")
    ls.add_argument("--limit", type=int, default=100)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=list_users)

    r = act.add_parser("set-role", help="change an account's role")
    r.add_argument("name")
    r.add_argument("role", choices=["player", "moderator", "admin"])
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=set_role)

    d = act.add_parser("delete", help="delete an account and its characters")
    d.add_argument("name")
    d.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    d.set_defaults(func=delete)


def _store(args: argparse.Namespace):
    from callister.server.settings import load_settings
    from callister.store import open_store

    settings = load_settings(args.config, db=args.db)
    return settings, open_store(settings.db)


def _account_json(a) -> dict:
    return {"id": a.id, "name": a.name, "role": a.role, "banned": a.banned}


def create(args: argparse.Namespace) -> int:
    from callister.server.auth import Passwords, check_name, check_password
    from callister.store import NameTaken

    check_name(args.name)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
    check_password(password)
    settings, store = _store(args)
    try:
        hashed = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib).hash(password)
        account = store.create_account(args.name, hashed, args.role)
    except NameTaken:
        raise ValueError(f"the name '{args.name}' is taken") from None
    finally:
        store.close()
    if args.json:
        emit_json(_account_json(account))
    else:
        print(f"created {account.name} (id {account.id}, role {account.role})")
    return 0


def list_users(args: argparse.Namespace) -> int:
    _, store = _store(args)
    try:
        accounts = store.list_accounts(args.limit, 0)
    finally:
        store.close()
    if args.json:
        emit_json([_account_json(a) for a in accounts])
    else:
        for a in accounts:
            print(f"{a.id:>8}  {a.name:<24} {a.role}{'  (banned)' if a.banned else ''}")
    return 0


def set_role(args: argparse.Namespace) -> int:
    from callister.store import NotFound

    _, store = _store(args)
    try:
        account = store.set_role(args.name, args.role)
    except NotFound:
        raise ValueError(f"no account named '{args.name}'") from None
    finally:
        store.close()
    if args.json:
        emit_json(_account_json(account))
    else:
        print(f"{account.name} is now {account.role}")
    return 0


def delete(args: argparse.Namespace) -> int:
    from callister.store import NotFound

    if not args.yes:
        typed = input(f"type the account name ({args.name}) to delete it: ")
        if typed != args.name:
            raise ValueError("confirmation did not match; nothing deleted")
    _, store = _store(args)
    try:
        store.delete_account(args.name)
    except NotFound:
        raise ValueError(f"no account named '{args.name}'") from None
    finally:
        store.close()
    print(f"deleted {args.name}")
    return 0
