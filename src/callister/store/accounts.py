"""`AccountRepository`: accounts, their roles and bans, and login sessions.

Every method is one transaction (see `Store` for the contract every repository keeps).
"""

from __future__ import annotations

import time
from typing import Any

from . import _check as check
from .database import ConstraintViolation, Database, Row
from .errors import NameTaken, NotFound, StoreError
from .records import Account

_COLUMNS = "id, name, password_hash, role, created_at, banned"


def _account(row: Row) -> Account:
    id_, name, password_hash, role, created_at, banned = row
    return Account(int(id_), name, password_hash, role, float(created_at), bool(banned))


class AccountRepository:
    """Accounts (names unique ignoring case), roles, bans and sessions."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, name: str, password_hash: str, role: str = "player") -> Account:
        """Create an account with a fresh id (never reused, even after deletion).

        Raises NameTaken if the name equals an existing one ignoring case (Unicode case folding
        after NFKC normalisation, so "ｆｏｏ" and "FOO" collide with "foo").
        """
        name = check.text("name", name)
        password_hash = check.text("password_hash", password_hash)
        role = check.role(role)
        try:
            row = self._db.one(
                "INSERT INTO accounts (name, name_key, password_hash, role, banned, created_at) "
                f"VALUES (?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
                (name, check.name_key(name), password_hash, role, False, time.time()),
                map=_account,
                write=True,
            )
        except ConstraintViolation as exc:
            if exc.kind == "unique":
                raise NameTaken(f"the name {name!r} is taken") from exc
            raise
        assert row is not None  # INSERT ... RETURNING always yields the row
        return row

    def get(self, account_id: int) -> Account | None:
        """The account with that id, or None."""
        account_id = check.int64("account_id", account_id)
        return self._db.one(
            f"SELECT {_COLUMNS} FROM accounts WHERE id = ?", (account_id,), map=_account
        )

    def by_name(self, name: str) -> Account | None:
        """The account whose name matches ignoring case, or None."""
        key = check.name_key(check.text("name", name))
        return self._db.one(
            f"SELECT {_COLUMNS} FROM accounts WHERE name_key = ?", (key,), map=_account
        )

    def set_role(self, name: str, role: str) -> Account:
        """Give the named account a role from ROLES and return it updated.

        Raises ValueError for an unknown role, NotFound for an unknown name.
        """
        role = check.role(role)
        return self._update_by_name(name, "role = ?", role)

    def set_banned(self, name: str, banned: bool) -> Account:
        """Ban or unban the named account and return it updated; NotFound for an unknown name.

        Banning does not end sessions by itself: the caller decides that.
        """
        if not isinstance(banned, bool):
            raise ValueError(f"banned must be a bool, not {type(banned).__name__}")
        return self._update_by_name(name, "banned = ?", banned)

    def _update_by_name(self, name: str, assignment: str, value: object) -> Account:
        key = check.name_key(check.text("name", name))
        row = self._db.one(
            f"UPDATE accounts SET {assignment} WHERE name_key = ? RETURNING {_COLUMNS}",
            (value, key),
            map=_account,
            write=True,
        )
        if row is None:
            raise NotFound(f"no account named {name!r}")
        return row

    def set_password_hash(self, account_id: int, password_hash: str) -> None:
        """Replace the account's password hash; NotFound for an unknown id."""
        account_id = check.int64("account_id", account_id)
        password_hash = check.text("password_hash", password_hash)
        updated = self._db.execute(
            "UPDATE accounts SET password_hash = ? WHERE id = ?", (password_hash, account_id)
        )
        if updated == 0:
            raise NotFound(f"no account with id {account_id}")

    def all(self, limit: int = 100, offset: int = 0) -> list[Account]:
        """Accounts in id (creation) order, `limit` of them after skipping `offset`."""
        limit = check.count("limit", limit, 0, 100_000)
        offset = check.count("offset", offset, 0, check.INT64_MAX)
        return self._db.all(
            f"SELECT {_COLUMNS} FROM accounts ORDER BY id LIMIT ? OFFSET ?",
            (limit, offset),
            map=_account,
        )

    def delete(self, name: str) -> None:
        """Delete the named account with its sessions, characters and discoveries.

        Raises NotFound for an unknown name. Destructive: callers gate it behind admin rights.
        """
        key = check.name_key(check.text("name", name))
        # Sessions, characters and discoveries go with it through ON DELETE CASCADE, inside this
        # same transaction, so there is never an orphan to clean up.
        if self._db.execute("DELETE FROM accounts WHERE name_key = ?", (key,)) == 0:
            raise NotFound(f"no account named {name!r}")

    # -- sessions ---------------------------------------------------------------------------

    def create_session(self, account_id: int, token_hash: str, expires_at: float) -> None:
        """Record a session. `token_hash` must be the SHA-256 hex digest of the token (the raw
        token is never stored). NotFound for an unknown account; StoreError if the hash exists.
        """
        account_id = check.int64("account_id", account_id)
        token_hash = check.token_hash(token_hash)
        expires_at = check.finite("expires_at", expires_at)
        try:
            self._db.execute(
                "INSERT INTO sessions (token_hash, account_id, created_at, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (token_hash, account_id, time.time(), expires_at),
            )
        except ConstraintViolation as exc:
            if exc.kind == "foreign_key":
                raise NotFound(f"no account with id {account_id}") from exc
            if exc.kind == "unique":
                raise StoreError("a session with this token hash already exists") from exc
            raise

    def get_session(self, token_hash: str, now: float) -> int | None:
        """The account id of the session, or None if absent or expired (expires_at <= now)."""
        token_hash = check.token_hash(token_hash)
        now = check.finite("now", now)
        found: Any = self._db.scalar(
            "SELECT account_id FROM sessions WHERE token_hash = ? AND expires_at > ?",
            (token_hash, now),
        )
        return None if found is None else int(found)

    def delete_session(self, token_hash: str) -> None:
        """Forget a session (logout). Deleting an absent session is not an error."""
        token_hash = check.token_hash(token_hash)
        self._db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    def purge_sessions(self, now: float) -> int:
        """Delete every expired session (expires_at <= now); return how many."""
        now = check.finite("now", now)
        return self._db.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))
