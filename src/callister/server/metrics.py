"""A small Prometheus text-format registry: counters, gauges and a rolling tick-time window."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection

import numpy as np


class Metrics:
    """Process metrics exposed at /metrics. Updated on the loop; reading is cheap."""

    def __init__(self, window: int = 1200) -> None:
        self.counters: dict[str, float] = {
            "callister_bytes_sent_total": 0.0,
            "callister_messages_received_total": 0.0,
            "callister_snapshots_sent_total": 0.0,
            "callister_protocol_errors_total": 0.0,
            "callister_ticks_total": 0.0,
            "callister_ticks_overrun_total": 0.0,
            "callister_logins_total": 0.0,
            "callister_jumps_total": 0.0,
        }
        self.gauges: dict[str, float] = {
            "callister_players": 0.0,
            "callister_connections": 0.0,
            "callister_zones_active": 0.0,
            "callister_zones_loaded": 0.0,
            "callister_ships": 0.0,
        }
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

    def render(self) -> str:
        lines: list[str] = []
        for name, value in sorted(self.counters.items()):
            lines += [f"# TYPE {name} counter", f"{name} {value:g}"]
        for name, value in sorted(self.gauges.items()):
            lines += [f"# TYPE {name} gauge", f"{name} {value:g}"]
        for series, window in (
            ("callister_tick_ms", self.tick_ms),
            ("callister_sim_ms", self.sim_ms),
        ):
            lines.append(f"# TYPE {series} summary")
            for q, value in percentiles(window).items():
                if q.startswith("p"):
                    quantile = int(q[1:]) / 100
                    lines.append(f'{series}{{quantile="{quantile:g}"}} {value:.4f}')
            lines.append(f"{series}_count {len(window)}")
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
