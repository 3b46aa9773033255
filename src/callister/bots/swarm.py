"""Run many bots at once and summarise what they saw (JSON for `callister bots`)."""

from __future__ import annotations

import asyncio
import random
import secrets
import sys
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from callister.bots.client import Bot, BotStats, check_protocol
from callister.server.metrics import percentiles


def http_url_for(ws_url: str) -> str:
    """ws://host:port/ws -> http://host:port"""
    parts = urlsplit(ws_url)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(f"--url must be a ws:// or wss:// URL, got {ws_url!r}")
    scheme = "https" if parts.scheme == "wss" else "http"
    return urlunsplit((scheme, parts.netloc, "", "", ""))


def summarise(stats: list[BotStats], seconds: float) -> dict[str, Any]:
    connected = [s for s in stats if s.connected]
    intervals = [i for s in connected for i in s.intervals_ms]
    total_bytes = sum(s.bytes_received for s in connected)
    codes: dict[str, int] = {}
    for s in stats:
        for code, n in s.error_codes.items():
            codes[code] = codes.get(code, 0) + n
    failures = [s.failure for s in stats if s.failure]
    interval = percentiles(intervals, 2)
    return {
        "bots": len(stats),
        "connected": len(connected),
        "errors": sum(s.errors for s in stats),
        "error_codes": codes,
        "failures": failures[:5],
        "snapshots": sum(s.snapshots for s in stats),
        # each bot's bytes over its own connected time, so late starters do not dilute the rate
        "bytes_per_client_per_s": round(
            total_bytes / max(1e-9, sum(s.seconds for s in connected)), 1
        ),
        "json_bytes_per_client_per_s": round(
            sum(s.json_bytes for s in connected) / max(1e-9, sum(s.seconds for s in connected)), 1
        ),
        "snapshot_interval_ms": {"p50": interval["p50"], "p99": interval["p99"]},
        "jumps": sum(s.jumps for s in stats),
        "seconds": round(seconds, 2),
    }


async def run_swarm(
    url: str,
    count: int,
    seconds: float,
    *,
    prefix: str | None = None,
    jump_every_s: float = 30.0,
    ramp_s: float | None = None,
    ack_every: int = 2,
    progress: bool = False,
    protocol: int = 1,
) -> dict[str, Any]:
    """Start `count` bots against `url` (ramped over `ramp_s`), fly for `seconds`, summarise.
    `protocol`: the wire protocol's version the bots speak (1, or 2: no acks, so `ack_every`
    does not apply; `snapshots` then counts v2 updates)."""
    check_protocol(protocol)
    http = http_url_for(url)
    prefix = prefix or f"bot{secrets.token_hex(3)}"
    ramp = ramp_s if ramp_s is not None else min(10.0, count / 50.0)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        bots = [
            Bot(
                http,
                url,
                f"{prefix}-{i}",
                session=session,
                jump_every_s=jump_every_s,
                ack_every=ack_every,
                rng=random.Random(f"{prefix}-{i}"),
                protocol=protocol,
            )
            for i in range(count)
        ]

        async def start(i: int, bot: Bot) -> BotStats:
            await asyncio.sleep(ramp * i / max(1, count))
            # every bot flies until the same end time, so the measured window is shared
            return await bot.run(max(1.0, end - time.monotonic()))

        end = time.monotonic() + ramp + seconds
        tasks = [asyncio.ensure_future(start(i, b)) for i, b in enumerate(bots)]
        reporter = asyncio.ensure_future(_report(bots, end)) if progress else None
        stats = await asyncio.gather(*tasks)
        if reporter is not None:
            reporter.cancel()
    return summarise(list(stats), seconds + ramp)


async def _report(bots: list[Bot], end: float) -> None:
    from tqdm import tqdm

    with tqdm(total=len(bots), desc="bots connected", file=sys.stderr) as bar:
        while time.monotonic() < end:
            bar.n = sum(1 for b in bots if b.stats.connected)
            bar.refresh()
            await asyncio.sleep(0.5)
