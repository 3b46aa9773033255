"""`callister bench loginstorm`: what a storm of logins and registrations costs the players.

A real server process runs with the production argon2 cost and the default login throttle (or
`--url`: a server you started). `bystanders` players register, connect and receive snapshots in
this process. Their snapshot intervals (the time between two snapshots arriving, 100 ms when
nothing is late) are measured over a quiet baseline window, then

1. during `storm` concurrent wrong-password logins on one account name, from one address: the
   throttle lets `login_per_minute` of them be checked and refuses the rest before hashing;
2. during `storm` concurrent registrations, the registration throttle raised so every one of
   them is hashed (the worst case: registrations from many addresses).

Each storm's window runs from its first request to its last answer. `p99_ratio` is the storm's
p99 interval over the baseline's: 1.0 means the players did not notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from callister.bench.net import bench_env, free_port, start_server, stop_server
from callister.bots.client import Bot
from callister.server.metrics import percentiles
from callister.server.settings import Settings

PASSWORD = "bystander-pass"
STORM_TIMEOUT_S = 600.0  # a request of a storm not answered by then fails the run


class Watch:
    """Marks in every bystander's list of snapshot intervals, to cut it into windows."""

    def __init__(self, bots: list[Bot]) -> None:
        self.bots = bots

    def mark(self) -> list[int]:
        return [len(b.stats.intervals_ms) for b in self.bots]

    def between(self, start: list[int], end: list[int]) -> list[float]:
        out: list[float] = []
        for bot, a, b in zip(self.bots, start, end, strict=True):
            out += bot.stats.intervals_ms[a:b]
        return out


def _summary(intervals: list[float], seconds: float) -> dict[str, Any]:
    return {
        "seconds": round(seconds, 2),
        "samples": len(intervals),
        "snapshot_interval_ms": {k: round(v, 1) for k, v in percentiles(intervals).items()},
    }


async def _counter(http: aiohttp.ClientSession, url: str, name: str) -> float | None:
    async with http.get(f"{url}/metrics") as r:
        text = await r.text()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None  # a server without the counter (an older version)


async def _storm(
    http: aiohttp.ClientSession, url: str, path: str, bodies: list[dict[str, str]]
) -> tuple[dict[str, int], float]:
    timeout = aiohttp.ClientTimeout(total=STORM_TIMEOUT_S)

    async def one(body: dict[str, str]) -> int:
        async with http.post(f"{url}{path}", json=body, timeout=timeout) as r:
            await r.read()
            return r.status

    start = time.monotonic()
    statuses = await asyncio.gather(*(one(b) for b in bodies))
    counts: dict[str, int] = {}
    for status in statuses:
        counts[str(status)] = counts.get(str(status), 0) + 1
    return counts, time.monotonic() - start


async def _phase(
    http: aiohttp.ClientSession,
    url: str,
    watch: Watch,
    path: str,
    bodies: list[dict[str, str]],
    work: str,
) -> dict[str, Any]:
    """One storm: its answers, its window's snapshot intervals, and how many passwords the
    server checked or hashed meanwhile (`callister_password_<work>_total`)."""
    counter = f"callister_password_{work}_total"
    before, start = await _counter(http, url, counter), watch.mark()
    statuses, seconds = await _storm(http, url, path, bodies)
    out: dict[str, Any] = {"requests": len(bodies), "statuses": statuses}
    out |= _summary(watch.between(start, watch.mark()), seconds)
    after = await _counter(http, url, counter)
    if before is not None and after is not None:
        out[f"password_{work}"] = int(after - before)
    return out


async def _measure(
    http_url: str, bystanders: int, storm: int, baseline_s: float, progress: bool
) -> dict[str, Any]:
    ws_url = http_url.replace("http", "ws", 1) + "/ws"
    say = (lambda m: print(m, file=sys.stderr)) if progress else (lambda m: None)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        tag = f"{int(time.time()) % 100000:05d}"
        bots = [
            Bot(http_url, ws_url, f"by{tag}x{i}", PASSWORD, session=http, jump_every_s=0)
            for i in range(bystanders)
        ]
        say(f"registering {bystanders} bystanders (production argon2 cost)...")
        for bot in bots:
            await bot.register()
        connected = await asyncio.gather(*(bot.connect() for bot in bots), return_exceptions=True)
        failed = [e for e in connected if isinstance(e, BaseException)]
        if failed:
            raise RuntimeError(f"{len(failed)} bystanders could not connect: {failed[0]!r}")
        pumps = [asyncio.ensure_future(bot.pump(3600.0)) for bot in bots]
        try:
            watch = Watch(bots)
            await asyncio.sleep(2.0)  # everyone is in and receiving
            say(f"baseline {baseline_s:g} s...")
            a, t0 = watch.mark(), time.monotonic()
            await asyncio.sleep(baseline_s)
            b, t1 = watch.mark(), time.monotonic()
            baseline = _summary(watch.between(a, b), t1 - t0)

            say(f"{storm} concurrent wrong-password logins...")
            guesses = [{"name": bots[0].name, "password": f"wrong-{i}"} for i in range(storm)]
            logins = await _phase(http, http_url, watch, "/api/login", guesses, "checks")
            await asyncio.sleep(2.0)
            say(f"{storm} concurrent registrations...")
            names = [{"name": f"st{tag}x{i}", "password": PASSWORD} for i in range(storm)]
            registrations = await _phase(http, http_url, watch, "/api/register", names, "hashes")
        finally:
            for task in pumps:
                task.cancel()
            for task in pumps:
                with contextlib.suppress(asyncio.CancelledError, ConnectionError, Exception):
                    await task
            for bot in bots:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(bot.close(), 5.0)
    base_p99 = baseline["snapshot_interval_ms"]["p99"] or 1.0
    for storm_result in (logins, registrations):
        p99 = storm_result["snapshot_interval_ms"]["p99"]
        storm_result["p99_ratio"] = round(p99 / base_p99, 3)
    return {
        "bystanders": bystanders,
        "baseline": baseline,
        "login_storm": logins,
        "register_storm": registrations,
    }


def run_loginstorm_bench(
    bystanders: int = 20,
    storm: int = 50,
    baseline_s: float = 10.0,
    url: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Run the measurement (module docstring) and return its figures."""
    defaults = Settings()
    cost = {"time_cost": defaults.argon2_time_cost, "memory_kib": defaults.argon2_memory_kib}
    if url is not None:
        result = asyncio.run(_measure(url.rstrip("/"), bystanders, storm, baseline_s, progress))
        return {"server": url, **result}
    tmp = Path(tempfile.mkdtemp(prefix="callister-loginstorm-"))
    port = free_port()
    env = bench_env(
        {
            "CALLISTER_ARGON2_TIME_COST": str(cost["time_cost"]),
            "CALLISTER_ARGON2_MEMORY_KIB": str(cost["memory_kib"]),
        }
    )  # bench_env raises the registration limit: every registration of the storm is hashed
    server = start_server(port, f"sqlite:///{tmp}/bench.db", env, tmp / "server.log")
    try:
        result = asyncio.run(
            _measure(f"http://127.0.0.1:{port}", bystanders, storm, baseline_s, progress)
        )
    finally:
        stop_server(server)
    return {
        "argon2": cost,
        "login_per_minute": defaults.login_per_minute,
        "password_hash_threads": defaults.password_hash_threads,
        **result,
    }


def run_cli(args: Any) -> dict[str, Any]:
    """`callister bench loginstorm` (registered in cli/bench_cmd.py, which prints the result)."""
    if args.bystanders < 1 or args.storm < 1 or args.baseline <= 0:
        raise ValueError("--bystanders and --storm must be >= 1 and --baseline > 0")
    result = run_loginstorm_bench(
        args.bystanders, args.storm, args.baseline, url=args.url, progress=not args.json
    )
    return result
