"""The garbage collector and the tick: what start-up built is frozen, every pause is timed.

CPython's full (generation 2) collection walks every object the collector tracks. On a running
server most of them were built at start-up and live as long as the process: the content tables,
the generated systems, the zones' bookkeeping. Walking them took 70-160 ms a time (measured with
a `gc.callbacks` probe during `callister bench crowd` at 250 clients, docs/benchmarks.md):
three ticks of every system lost at once, the p99 of every client's update interval.
`freeze_startup` moves them into the permanent generation no collection walks (`gc.freeze`),
so a full collection only walks what the running server made since.

`time_pauses` reports the collector's pauses in /metrics (`callister_gc_collections_total`,
`callister_gc_pause_seconds_total`, `callister_gc_full_pause_ms`: docs/protocol.md, Metrics).
"""

from __future__ import annotations

import gc
import time
from typing import Any

from callister.server.metrics import Metrics


def freeze_startup() -> int:
    """Collect once, then freeze every object alive now; returns how many were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class PauseTimer:
    """A `gc.callbacks` entry that counts the collector's pauses into a metrics registry."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._started = 0.0
        for name in ("callister_gc_collections_total", "callister_gc_pause_seconds_total"):
            metrics.counters.setdefault(name, 0.0)
        metrics.gauges.setdefault("callister_gc_full_pause_ms", 0.0)

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took = time.perf_counter() - self._started
        counters = self.metrics.counters
        counters["callister_gc_collections_total"] += 1
        counters["callister_gc_pause_seconds_total"] += took
        if info.get("generation") == 2:
            self.metrics.gauges["callister_gc_full_pause_ms"] = round(took * 1000.0, 3)


def time_pauses(metrics: Metrics) -> PauseTimer:
    """Time every collection from now into `metrics` (one timer per process: the collector is
    the process's); returns the timer, which `stop_timing` removes."""
    for each in gc.callbacks:
        if isinstance(each, PauseTimer):
            return each
    timer = PauseTimer(metrics)
    gc.callbacks.append(timer)
    return timer


def stop_timing(timer: PauseTimer) -> None:
    if timer in gc.callbacks:
        gc.callbacks.remove(timer)
