"""A small Prometheus text-format registry: counters, gauges and a rolling tick-time window,
and who may read it (`scrape_refusal`).

Every metric name and its meaning is listed in docs/protocol.md ("Metrics"); a test holds the
code to that list."""

from __future__ import annotations

import hmac
import ipaddress
from collections import deque
from collections.abc import Collection, Mapping, Sequence

import numpy as np
from aiohttp import web

PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")

TICK_WINDOW = 1200
"""Ticks kept for the tick-time percentiles: 60 s at the default 20 Hz (docs/protocol.md)."""

COUNTERS = (
    "callister_bytes_sent_total",
    "callister_messages_received_total",
    "callister_snapshots_sent_total",
    "callister_protocol_errors_total",
    "callister_ticks_total",
    "callister_ticks_overrun_total",
    "callister_logins_total",
    "callister_jumps_total",
)
"""Counters present from the start (others appear at their first increment)."""

GAUGES = (
    "callister_players",
    "callister_connections",
    "callister_zones_active",
    "callister_zones_loaded",
    "callister_ships",
)


class Metrics:
    """Metrics exposed at /metrics. Updated on the loop; reading is cheap.

    One registry per running world: its gauges and tick times are its own. The worlds of one
    process pass the first registry's `counters` to the others, so they count into one dict and
    a process total never goes back when a world stops. `render` adds up the registries."""

    def __init__(self, window: int = TICK_WINDOW, counters: dict[str, float] | None = None) -> None:
        self.counters: dict[str, float] = (
            counters if counters is not None else dict.fromkeys(COUNTERS, 0.0)
        )
        self.gauges: dict[str, float] = dict.fromkeys(GAUGES, 0.0)
        self.tick_ms: deque[float] = deque(maxlen=window)
        self.tick_ids: deque[int] = deque(maxlen=window)
        self.sim_ms: deque[float] = deque(maxlen=window)

    def inc(self, name: str, value: float = 1.0) -> None:
        self.counters[name] = self.counters.get(name, 0.0) + value

    def record_tick(self, tick: int, ms: float, sim_ms: float) -> None:
        self.tick_ids.append(tick)
        self.tick_ms.append(ms)
        self.sim_ms.append(sim_ms)

    def tick_percentiles(self, since_tick: int = 0) -> dict[str, float]:
        """p50/p99/max of the recent full tick time (simulation + snapshot encoding), ms,
        over the ticks after `since_tick` still in the window."""
        if since_tick <= 0:
            return percentiles(self.tick_ms)
        picked = deque(
            ms for t, ms in zip(self.tick_ids, self.tick_ms, strict=True) if t > since_tick
        )
        return percentiles(picked)

    def render(self, others: Sequence[Metrics] = ()) -> str:
        """The Prometheus text of this registry added to `others` (the process's other
        worlds): counters summed over distinct dicts, gauges summed, tick times pooled."""
        registries = [self, *others]
        counters: dict[str, float] = {}
        seen: set[int] = set()
        for registry in registries:
            if id(registry.counters) in seen:
                continue
            seen.add(id(registry.counters))
            for name, value in registry.counters.items():
                counters[name] = counters.get(name, 0.0) + value
        gauges: dict[str, float] = {}
        for registry in registries:
            for name, value in registry.gauges.items():
                gauges[name] = gauges.get(name, 0.0) + value
        lines: list[str] = []
        for name, value in sorted(counters.items()):
            lines += [f"# TYPE {name} counter", f"{name} {value:g}"]
        for name, value in sorted(gauges.items()):
            lines += [f"# TYPE {name} gauge", f"{name} {value:g}"]
        for series, windows in (
            ("callister_tick_ms", [r.tick_ms for r in registries]),
            ("callister_sim_ms", [r.sim_ms for r in registries]),
        ):
            pooled = [ms for window in windows for ms in window]
            lines.append(f"# TYPE {series} summary")
            for q, value in percentiles(pooled).items():
                if q.startswith("p"):
                    quantile = int(q[1:]) / 100
                    lines.append(f'{series}{{quantile="{quantile:g}"}} {value:.4f}')
            lines.append(f"{series}_count {len(pooled)}")
        return "\n".join(lines) + "\n"


def percentiles(
    window: Collection[float], digits: int | None = None, *, mean: bool = False
) -> dict[str, float]:
    """p50, p99 and max of a window of samples, and their mean with `mean` (all 0.0 when it is
    empty), rounded to `digits` decimals when given. The one percentile helper: the server's
    metrics, the cluster's heartbeats, the bots' and every benchmark's figures."""
    arr = np.fromiter(window, dtype=np.float64, count=len(window))
    out = dict.fromkeys(("p50", "p99", "max"), 0.0)
    if arr.size:
        p50, p99 = np.percentile(arr, [50, 99])
        out.update(p50=float(p50), p99=float(p99), max=float(arr.max()))
    if mean:
        out["mean"] = float(arr.mean()) if arr.size else 0.0
    if digits is not None:
        out = {k: round(v, digits) for k, v in out.items()}
    return out


def scrape_refusal(
    remote: str | None, headers: Mapping[str, str], token: str
) -> tuple[int, str] | None:
    """Whether a request may read /metrics: None if so, else (HTTP status, why).

    With `metrics_token` set, only a request carrying `Authorization: Bearer <token>` may
    (from anywhere: a Prometheus on another machine). Without one, only a peer on this machine
    (a loopback address) whose request no reverse proxy forwarded (none of PROXY_HEADERS):
    the metrics name players, connections and load, so they are not public by default."""
    if token:
        header = headers.get("Authorization", "")
        given = header[7:] if header.startswith("Bearer ") else ""
        if given and hmac.compare_digest(given.encode(), token.encode()):
            return None
        return 401, "/metrics needs Authorization: Bearer <metrics_token>"
    if _loopback(remote) and not any(h in headers for h in PROXY_HEADERS):
        return None
    return 403, (
        "/metrics answers only this machine; set metrics_token (CALLISTER_METRICS_TOKEN) and "
        "scrape with Authorization: Bearer <token> to read it from elsewhere"
    )


def _loopback(remote: str | None) -> bool:
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def refuse_scrape(request: web.Request, token: str) -> web.Response | None:
    """The answer refusing this request to /metrics (JSON, `METRICS_REFUSED`), or None to serve
    it: every process's /metrics handler asks this first (`scrape_refusal`)."""
    denied = scrape_refusal(request.remote, request.headers, token)
    if denied is None:
        return None
    status, message = denied
    return web.json_response(
        {"error": {"code": "METRICS_REFUSED", "message": message}}, status=status
    )
