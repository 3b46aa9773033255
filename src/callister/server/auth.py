"""Passwords (argon2id), session tokens, name rules, login throttling and the one login check
(`begin_login` → verify → `finish_login`) that HTTP login and the command line's administrators
(`check_login`) both go through.

A password hash costs a core about 0.2 s at the default argon2 cost, so a storm of logins or
registrations must cost its senders, not the players: the throttle counts an attempt *before*
anything is hashed (`Throttle.reserve`), and hashing runs on a small pool of its own threads
(`Passwords.hash_async`, `verify_async`) with a bounded queue in front of it, off the event loop
(argon2-cffi releases the GIL while it hashes).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import os
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

if TYPE_CHECKING:
    from callister.store import Account, Store

T = TypeVar("T")
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{2,23}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256


class AuthError(ValueError):
    """A refused registration or login; `status` is the HTTP status to answer with, `code` the
    error code, `retry_after` (seconds) set when trying again later will work."""

    def __init__(
        self, message: str, status: int = 400, code: str = "BAD_FIELD", retry_after: float = 0.0
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retry_after = retry_after


def check_name(name: str) -> str:
    """Names: 3-24 characters, a letter first, then letters, digits, '_' or '-'."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise AuthError("name must be 3-24 characters: a letter, then letters, digits, '_' or '-'")
    return name


def check_password(password: str) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AuthError(f"password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters")
    return password


class PasswordsBusy(Exception):
    """Too many logins and registrations are already waiting for a password hash."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"password checks are queued up; retry in {math.ceil(retry_after)} s")
        self.retry_after = retry_after


class Passwords:
    """argon2id hashing with configurable cost; verify() never raises for a wrong password.

    The async forms run the work on `threads` threads of their own (at a lower OS priority than
    the event loop where the platform allows), so at most that many cores ever hash, and they
    refuse with PasswordsBusy when `queue_max` more are already waiting.
    """

    def __init__(
        self, time_cost: int = 3, memory_kib: int = 65536, threads: int = 1, queue_max: int = 32
    ) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self.threads, self.queue_max = threads, queue_max
        self.pending = 0  # submitted and not finished (read and written on the event loop)
        self._pool: ThreadPoolExecutor | None = None
        self._dummy: str | None = None
        self._dummy_lock = threading.Lock()
        self._seconds = 0.2  # a running mean of one hash, for Retry-After

    @classmethod
    def from_settings(cls, settings: Any) -> Passwords:
        """The server's Passwords: cost, threads and queue from its settings."""
        return cls(
            settings.argon2_time_cost,
            settings.argon2_memory_kib,
            settings.password_hash_threads,
            settings.password_queue_max,
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def hash_async(self, password: str) -> str:
        """hash() on the hashing pool; PasswordsBusy when its queue is full."""
        return await self._run(self.hash, password)

    async def verify_async(self, password_hash: str | None, password: str) -> bool:
        """check() on the hashing pool; PasswordsBusy when its queue is full."""
        return await self._run(self.check, password_hash, password)

    def check(self, password_hash: str | None, password: str) -> bool:
        """verify(), or with no hash (an unknown name) a check against a dummy hash that is
        always False, so the answer takes as long as for a name that exists and the timing does
        not tell which names do."""
        if password_hash is not None:
            return self.verify(password_hash, password)
        with self._dummy_lock:
            if self._dummy is None:
                self._dummy = self._hasher.hash("not-a-real-password")
        self.verify(self._dummy, password)
        return False

    def retry_after(self) -> float:
        """Seconds until the work queued now would be done (at least 1)."""
        return max(1.0, self.pending * self._seconds / self.threads)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self.pending >= self.threads + self.queue_max:
            raise PasswordsBusy(self.retry_after())
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                self.threads, thread_name_prefix="argon2", initializer=_lower_priority
            )
        self.pending += 1
        try:
            seconds, result = await asyncio.get_running_loop().run_in_executor(
                self._pool, _timed, fn, args
            )
        finally:
            self.pending -= 1
        self._seconds += (seconds - self._seconds) * 0.2
        return result

    def close(self) -> None:
        """Stop the hashing threads (work not started is dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _timed(fn: Callable[..., T], args: tuple[Any, ...]) -> tuple[float, T]:
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def _lower_priority() -> None:
    """Make the calling (hashing) thread yield the CPU to the event loop when both want it: on
    Linux a thread has its own nice value. Elsewhere this does nothing."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICE)


HASH_NICE = 10  # the hashing threads' nice value: the loop (0) gets ~10x their CPU share


def new_token() -> str:
    """A fresh session token (256 bits). Only its hash is stored."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Attempt:
    """An attempt `Throttle.reserve` counted, or refused (then `retry_after` > 0 seconds)."""

    keys: tuple[str, ...]
    at: float
    retry_after: float = 0.0

    @property
    def refused(self) -> bool:
        return self.retry_after > 0.0


class Throttle:
    """At most `per_minute` counted attempts per key in any 60 s window.

    An attempt is counted when it starts (`reserve`), before the work it guards, so concurrent
    attempts beyond the limit are refused without doing that work. Logins un-count a success
    (`forget`: a player who types the right password is never slowed down); registrations
    count every attempt per address.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock  # wall time (time.time) when windows are persisted between processes
        self._attempts: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()  # the command line checks on another thread than the loop

    def reserve(self, *keys: str, now: float | None = None) -> Attempt:
        """Count one attempt against every key, unless one of them is at its limit: then count
        nothing and say how long until that key's oldest attempt leaves the window."""
        now = self.clock() if now is None else now
        with self._lock:
            return self._reserve(keys, now)

    def _reserve(self, keys: tuple[str, ...], now: float) -> Attempt:
        wait = 0.0
        for key in keys:
            window = self._attempts.get(key)
            if window is None:
                continue
            while window and now - window[0] > 60.0:
                window.popleft()
            if len(window) >= self.per_minute:
                wait = max(wait, 60.0 - (now - window[0]), 0.001)
        if wait:
            return Attempt(keys, now, wait)
        for key in keys:
            self._attempts[key].append(now)
        if len(self._attempts) > 100_000:  # bound memory under a spray of names
            self._attempts = defaultdict(
                deque, {k: v for k, v in self._attempts.items() if v and now - v[-1] <= 60.0}
            )
        return Attempt(keys, now)

    def forget(self, attempt: Attempt) -> None:
        """Un-count an attempt `reserve` counted (a refused one was never counted)."""
        if attempt.refused:
            return
        with self._lock:
            for key in attempt.keys:
                window = self._attempts.get(key)
                if window is not None:
                    with contextlib.suppress(ValueError):
                        window.remove(attempt.at)

    def window(self, key: str) -> list[float]:
        """The attempt times counted for `key` in the last minute (to persist them)."""
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


def begin_login(throttle: Throttle, address: str, name: str) -> Attempt:
    """Count a login attempt (per address and per name) before its password is checked, so a
    storm of concurrent wrong guesses gets at most the limit's worth of argon2 work; AuthError
    429 THROTTLED (with retry_after) once either key has had too many failures."""
    attempt = throttle.reserve(*login_keys(address, name))
    if attempt.refused:
        raise AuthError(
            "too many failed logins for this name or address; retry in "
            f"{math.ceil(attempt.retry_after)} s",
            429,
            "THROTTLED",
            attempt.retry_after,
        )
    return attempt


def finish_login(
    throttle: Throttle, attempt: Attempt, account: Account | None, password_ok: bool
) -> Account:
    """The outcome of a checked login: the account, or AuthError 401 BAD_LOGIN (the same answer
    for an unknown name and a wrong password; the attempt stays counted) or 403 BANNED. A right
    password is not a failure: its attempt is un-counted."""
    if account is None or not password_ok:
        raise AuthError("wrong name or password", 401, "BAD_LOGIN")
    throttle.forget(attempt)
    if account.banned:
        raise AuthError("this account is banned", 403, "BANNED")
    return account


def check_login(
    store: Store,
    passwords: Passwords,
    throttle: Throttle,
    name: str,
    password: str,
    address: str,
) -> Account:
    """begin_login → the stored hash → Passwords.check → finish_login, synchronously (the
    command line's administrators; HTTP login runs the same steps with the check on the
    hashing pool)."""
    attempt = begin_login(throttle, address, name)
    account = store.accounts.by_name(name)
    ok = passwords.check(account.password_hash if account else None, password[:512])
    return finish_login(throttle, attempt, account, ok)
