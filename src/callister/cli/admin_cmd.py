"""`callister admin user create|list|set-role|delete` against the server's database."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from callister.cli.common import emit_json

if TYPE_CHECKING:
    from callister.server.settings import Settings
    from callister.store import Account, Store


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


@contextmanager
def _opened(args: argparse.Namespace) -> Iterator[tuple[Settings, Store]]:
    """The settings and an open store; store errors become messages naming the account."""
    from callister.server.settings import load_settings
    from callister.store import NameTaken, NotFound, open_store

    settings = load_settings(args.config, db=args.db)
    store = open_store(settings.db)
    try:
        yield settings, store
    except NameTaken:
        raise ValueError(f"the name '{args.name}' is taken") from None
    except NotFound:
        raise ValueError(f"no account named '{args.name}'") from None
    finally:
        store.close()


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
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
    check_password(password)
    with _opened(args) as (settings, store):
        hashed = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib).hash(password)
        account = store.create_account(args.name, hashed, args.role)
    return _show(args, account, f"created {account.name} (id {account.id}, role {account.role})")


def list_users(args: argparse.Namespace) -> int:
    with _opened(args) as (_, store):
        accounts = store.list_accounts(args.limit, 0)
    if args.json:
        emit_json([_account_json(a) for a in accounts])
    else:
        for a in accounts:
            print(f"{a.id:>8}  {a.name:<24} {a.role}{'  (banned)' if a.banned else ''}")
    return 0


def set_role(args: argparse.Namespace) -> int:
    with _opened(args) as (_, store):
        account = store.set_role(args.name, args.role)
    return _show(args, account, f"{account.name} is now {account.role}")


def delete(args: argparse.Namespace) -> int:
    if not args.yes:
        typed = input(f"type the account name ({args.name}) to delete it: ")
        if typed != args.name:
            raise ValueError("confirmation did not match; nothing deleted")
    with _opened(args) as (_, store):
        store.delete_account(args.name)
    print(f"deleted {args.name}")
    return 0
