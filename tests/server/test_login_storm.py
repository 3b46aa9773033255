"""Login and registration storms on a real server with the production argon2 cost: the throttle
counts an attempt before the password is hashed, so attempts beyond its limit are refused
without hashing, and hashing runs on a bounded pool off the event loop (issue 13, M4).

How much a storm moves bystanders' snapshot intervals is a timing figure, measured by
`callister bench loginstorm` (docs/benchmarks.md), not asserted here."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from tests.conftest import LiveServer, live_server, make_settings, running

from callister.server.settings import Settings

from .wsclient import player

PRODUCTION = Settings()  # the defaults: argon2 cost, throttles, hashing threads


class InFlight:
    """Counts password hashes running at once by wrapping the real (synchronous) `hash` and
    `verify` of the server's Passwords; the real argon2 work still runs."""

    def __init__(self, passwords: Any) -> None:
        self.lock = threading.Lock()
        self.now = self.peak = self.calls = 0
        for name in ("hash", "verify"):
            setattr(passwords, name, self._wrap(getattr(passwords, name)))

    def _wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any) -> Any:
            with self.lock:
                self.now += 1
                self.calls += 1
                self.peak = max(self.peak, self.now)
            try:
                return fn(*args)
            finally:
                with self.lock:
                    self.now -= 1

        return counted


# the server of these tests hashes passwords and throttles registrations as production does
live = live_server(
    argon2_time_cost=PRODUCTION.argon2_time_cost,
    argon2_memory_kib=PRODUCTION.argon2_memory_kib,
    register_per_minute=PRODUCTION.register_per_minute,
)


async def _post_all(
    http: aiohttp.ClientSession, url: str, bodies: list[dict[str, str]]
) -> list[tuple[int, dict[str, Any], str | None]]:
    async def one(body: dict[str, str]) -> tuple[int, dict[str, Any], str | None]:
        async with http.post(url, json=body) as r:
            return r.status, await r.json(), r.headers.get("Retry-After")

    return list(await asyncio.gather(*(one(b) for b in bodies)))


def _checks(live: LiveServer) -> float:
    return live.services.metrics.counters.get("callister_password_checks_total", 0.0)


async def test_fifty_concurrent_bad_logins_hash_at_most_the_throttle_limit(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    watchers = [await player(live, http, f"watcher{i}") for i in range(3)]
    async with http.post(
        f"{live.http}/api/register", json={"name": "Victim", "password": "the-right-one"}
    ) as r:
        assert r.status == 201
    spy = InFlight(live.services.passwords)
    checks_before = _checks(live)
    bodies = [{"name": "Victim", "password": f"guess-{i:04d}"} for i in range(50)]
    before = [w.stats.snapshots for w in watchers]
    storm = asyncio.ensure_future(_post_all(http, f"{live.http}/api/login", bodies))
    while not storm.done():  # the players keep receiving while the storm is answered
        await asyncio.gather(*(w.pump(0.05) for w in watchers))
    answers = storm.result()
    assert all(w.stats.snapshots > n for w, n in zip(watchers, before, strict=True))
    limit = PRODUCTION.login_per_minute
    checked = [a for a in answers if a[0] == 401]
    refused = [a for a in answers if a[0] == 429]
    assert len(checked) == limit and len(refused) == 50 - limit, [a[0] for a in answers]
    for _, body, retry_after in refused:
        assert body["error"]["code"] == "THROTTLED" and "retry" in body["error"]["message"]
        assert retry_after is not None and 1 <= int(retry_after) <= 60
    # only the attempts the throttle let through were hashed, one at a time
    assert spy.calls == limit
    assert _checks(live) - checks_before == limit
    assert spy.peak <= PRODUCTION.password_hash_threads
    for w in watchers:
        await w.close()


async def test_fifty_concurrent_registrations_hash_one_at_a_time(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    spy = InFlight(live.services.passwords)
    bodies = [{"name": f"Storm{i:03d}", "password": "storm-password"} for i in range(50)]
    answers = await _post_all(http, f"{live.http}/api/register", bodies)
    limit = PRODUCTION.register_per_minute
    made = [a for a in answers if a[0] == 201]
    refused = [a for a in answers if a[0] == 429]
    assert len(made) == limit and len(refused) == 50 - limit, [a[0] for a in answers]
    for _, body, retry_after in refused:
        assert body["error"]["code"] == "THROTTLED"
        assert retry_after is not None and int(retry_after) >= 1
    assert spy.calls == limit
    assert spy.peak <= PRODUCTION.password_hash_threads
    counters = live.services.metrics.counters
    assert counters.get("callister_password_hashes_total") == limit


async def test_a_full_hashing_queue_refuses_with_busy(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """Many names from many addresses pass the per-key throttle; the bounded queue of work for
    the hashing thread is what protects the server then: the rest get 503 BUSY at once."""
    async with running(
        make_settings(
            tmp_path,
            argon2_time_cost=8,  # ~0.6 s a hash: the storm arrives long before the queue drains
            argon2_memory_kib=PRODUCTION.argon2_memory_kib,
            login_per_minute=1000,  # stands for many addresses: loopback is one address
            password_queue_max=2,
        )
    ) as live:
        spy = InFlight(live.services.passwords)
        bodies = [{"name": f"Nobody{i:03d}", "password": "whatever-pw"} for i in range(50)]
        answers = await _post_all(http, f"{live.http}/api/login", bodies)
        statuses = [a[0] for a in answers]
        busy = [a for a in answers if a[0] == 503]
        assert statuses.count(401) + len(busy) == 50
        assert busy, statuses
        for _, body, retry_after in busy:
            assert body["error"]["code"] == "BUSY"
            assert retry_after is not None and int(retry_after) >= 1
        assert spy.calls == statuses.count(401) and spy.peak == 1
        # the storm is over: a real player gets in
        body = {"name": "Latecomer", "password": "latecomer-pw"}
        async with http.post(f"{live.http}/api/register", json=body) as r:
            assert r.status == 201
        async with http.post(f"{live.http}/api/login", json=body) as r:
            assert r.status == 200
