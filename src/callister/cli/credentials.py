"""Who is acting: the command line's administrators prove it as HTTP login does.

`--as NAME` with the password (asked for on the terminal, or the first line of standard input
with `--password-stdin`), or a session token from `POST /api/login` (`--token-file FILE` or
$CALLISTER_ADMIN_TOKEN). The password goes through `server.auth.check_login`, the one check HTTP
login uses (argon2, the same answer for an unknown name, the login throttle with the
`login_per_minute` setting); a token must be a live session of an account that is not banned.
The throttle's failures are kept in the store's `meta` table (`throttle.<key>`, wall-clock
times) because each command is a new process. Without a valid credential nothing is changed.
A token (--token-file, else $CALLISTER_ADMIN_TOKEN) is used when there is one; --as then only
has to name its account.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callister.server.settings import Settings
    from callister.store import Account, Store

TOKEN_ENV = "CALLISTER_ADMIN_TOKEN"
CLI_ADDRESS = "cli"  # the throttle's address for logins from this machine's command line
THROTTLE_META = "throttle."  # meta key prefix of a throttle key's failure times


def add_credential_args(p: argparse.ArgumentParser, *, password_stdin: bool = True) -> None:
    """--as, --password-stdin (unless the command has its own) and --token-file."""
    p.add_argument(
        "--as",
        dest="actor",
        metavar="ADMIN",
        help="your admin account's name; you are asked for its password (recorded in the "
        "audit log; not needed with a token)",
    )
    if password_stdin:
        p.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the --as account's password from standard input (one line)",
        )
    p.add_argument(
        "--token-file",
        metavar="FILE",
        help=f"a file holding an admin's session token from POST /api/login (or set ${TOKEN_ENV})",
    )


def authenticate(args: argparse.Namespace, store: Store, settings: Settings) -> Account:
    """The administrator the credentials on the command line prove, or ValueError (exit 2)
    naming what is wrong: no credential, a wrong name or password, throttled, an unknown or
    expired token, a token of someone other than --as, or an account that is not an admin."""
    token = _token(args)
    if token is not None:
        account = _token_account(store, token)
        if args.actor and args.actor.lower() != account.name.lower():
            raise ValueError(
                f"--as {args.actor} does not match the token's account '{account.name}'"
            )
    else:
        if not args.actor:
            raise ValueError(
                "say who is acting: --as ADMIN (you are asked for the password, or use "
                f"--password-stdin), or an admin token (--token-file FILE or ${TOKEN_ENV})"
            )
        account = _password_account(store, settings, args.actor, read_password(args))
    if account.role != "admin":
        raise ValueError(f"'{account.name}' is not an administrator (role {account.role})")
    return account


def _token(args: argparse.Namespace) -> str | None:
    path = getattr(args, "token_file", None)
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read().strip()
        except OSError as exc:
            raise ValueError(f"cannot read --token-file {path}: {exc.strerror}") from None
        if not text:
            raise ValueError(f"--token-file {path} is empty: put the token from /api/login in it")
        return text
    text = os.environ.get(TOKEN_ENV, "").strip()
    return text or None


def _token_account(store: Store, token: str) -> Account:
    from callister.server.auth import token_hash

    account_id = store.accounts.get_session(token_hash(token), time.time())
    account = store.accounts.get(account_id) if account_id is not None else None
    if account is None or account.banned:
        raise ValueError("the admin token is unknown or expired: log in again (POST /api/login)")
    return account


def read_password(args: argparse.Namespace) -> str:
    """The password of --as ACTOR: a line of standard input with --password-stdin, else
    prompted for."""
    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline()
        if not line:
            raise ValueError(f"no password for {args.actor} on standard input (--password-stdin)")
        return line.rstrip("\n")
    try:
        return getpass.getpass(f"password for {args.actor}: ")
    except EOFError:
        raise ValueError(
            f"no password for {args.actor}: use --password-stdin, --token-file or ${TOKEN_ENV}"
        ) from None


def _password_account(store: Store, settings: Settings, name: str, password: str) -> Account:
    from callister.server.auth import AuthError, Passwords, Throttle, check_login, login_keys

    throttle = Throttle(settings.login_per_minute, clock=time.time)
    keys = login_keys(CLI_ADDRESS, name)
    for key in keys:
        with contextlib.suppress(ValueError, TypeError):  # none saved, or not a list of times
            throttle.load(key, json.loads(store.meta.get(THROTTLE_META + key) or "[]"))
    passwords = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib)
    try:
        return check_login(store, passwords, throttle, name, password, CLI_ADDRESS)
    except AuthError as exc:
        if exc.code == "BAD_LOGIN":  # remembered for the next command (a new process)
            for key in keys:
                with contextlib.suppress(ValueError):  # a name no account could have
                    store.meta.set(THROTTLE_META + key, json.dumps(throttle.window(key)))
        raise ValueError(f"--as {name}: {exc}; nothing changed") from None
