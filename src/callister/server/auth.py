"""Passwords (argon2id), session tokens, name rules, login throttling and the one password
check (`check_login`) that HTTP login and the command line's administrators both go through."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

if TYPE_CHECKING:
    from callister.store import Account, Store

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{2,23}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256


class AuthError(ValueError):
    """A refused registration or login; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400, code: str = "BAD_FIELD") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def check_name(name: str) -> str:
    """Names: 3-24 characters, a letter first, then letters, digits, '_' or '-'."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise AuthError("name must be 3-24 characters: a letter, then letters, digits, '_' or '-'")
    return name


def check_password(password: str) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AuthError(f"password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters")
    return password


class Passwords:
    """argon2id hashing with configurable cost; verify() never raises for a wrong password."""

    def __init__(self, time_cost: int = 3, memory_kib: int = 65536) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self._dummy: str | None = None

    def dummy_hash(self) -> str:
        """A hash to verify against when the name is unknown, so the time a login takes does
        not reveal which names exist (made once, on first use)."""
        if self._dummy is None:
            self._dummy = self.hash("not-a-real-password")
        return self._dummy

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def new_token() -> str:
    """A fresh session token (256 bits). Only its hash is stored."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Throttle:
    """At most `per_minute` recorded attempts per key in any 60 s window.

    Logins record only failures (a player who types the right password is never slowed down);
    registrations record every attempt per address.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock  # wall time (time.time) when windows are persisted between processes
        self._attempts: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()  # check_login runs on executor threads

    def blocked(self, *keys: str, now: float | None = None) -> bool:
        now = self.clock() if now is None else now
        with self._lock:
            for key in keys:
                window = self._attempts.get(key)
                if window is None:
                    continue
                while window and now - window[0] > 60.0:
                    window.popleft()
                if len(window) >= self.per_minute:
                    return True
        return False

    def record(self, *keys: str, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        with self._lock:
            for key in keys:
                self._attempts[key].append(now)
            if len(self._attempts) > 100_000:  # bound memory under a spray of names
                self._attempts = defaultdict(
                    deque, {k: v for k, v in self._attempts.items() if v and now - v[-1] <= 60.0}
                )

    def window(self, key: str) -> list[float]:
        """The attempt times recorded for `key` in the last minute (to persist them)."""
        now = self.clock()
        with self._lock:
            return [t for t in self._attempts.get(key, ()) if now - t <= 60.0]

    def load(self, key: str, times: Iterable[float]) -> None:
        """Restore attempt times saved by window() (another process's failures)."""
        with self._lock:
            self._attempts[key] = deque(sorted(float(t) for t in times))


def login_keys(address: str, name: str) -> tuple[str, str]:
    """The throttle's keys for a login attempt: the address and the (case-folded) name."""
    return f"addr:{address}", f"name:{name.lower()[:64]}"


def check_login(
    store: Store,
    passwords: Passwords,
    throttle: Throttle,
    name: str,
    password: str,
    address: str,
) -> Account:
    """The account whose name and password these are, or AuthError: 429 THROTTLED after too
    many failures (per address and per name), 401 BAD_LOGIN for a wrong name or password (the
    same answer for both, and an argon2 verify either way), 403 BANNED. Only failures count
    against the throttle. Synchronous (store call and argon2): run it off the event loop."""
    keys = login_keys(address, name)
    if throttle.blocked(*keys):
        raise AuthError("too many failed logins; wait a minute", 429, "THROTTLED")
    account = store.get_account_by_name(name)
    stored = account.password_hash if account is not None else passwords.dummy_hash()
    ok = passwords.verify(stored, password[:512])  # verified even for an unknown name
    if account is None or not ok:
        throttle.record(*keys)
        raise AuthError("wrong name or password", 401, "BAD_LOGIN")
    if account.banned:
        raise AuthError("this account is banned", 403, "BANNED")
    return account
