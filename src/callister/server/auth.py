"""Passwords (argon2id), session tokens, name rules and login throttling."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections import defaultdict, deque

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{2,23}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256


class AuthError(ValueError):
    """A refused registration or login; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


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

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._attempts: dict[str, deque[float]] = defaultdict(deque)

    def blocked(self, *keys: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
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
        now = time.monotonic() if now is None else now
        for key in keys:
            self._attempts[key].append(now)
        if len(self._attempts) > 100_000:  # bound memory under a spray of names
            self._attempts = defaultdict(
                deque, {k: v for k, v in self._attempts.items() if v and now - v[-1] <= 60.0}
            )
