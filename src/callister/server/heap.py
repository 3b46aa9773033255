"""The garbage collector and the tick: what start-up built is frozen, every pause is timed.

CPython's full (generation 2) collection walks every object the collector tracks. On a running
server most of them were built at start-up and live as long as the process: the content tables,
the generated systems, the zones' bookkeeping. Walking them took 70-160 ms a time (measured with
a `gc.callbacks` probe during `callister bench crowd` at 250 clients, docs/benchmarks.md):
three ticks of every system lost at once, the p99 of every client's update interval.
`freeze_startup` moves them into the permanent generation no collection walks (`gc.freeze`),
so a full collection only walks what the running server made since.

Freezing alone was not enough at a thousand clients: every object that outlives two young
collections is promoted towards the oldest generation (a request's futures, a socket's last
message, a status dict kept until the next one), and once those promotions reach a quarter of
the old generation, a full collection runs: every 2-3 s, 100-150 ms each, collecting almost
nothing (`collected=0-16`), and the p99 of the clients' update interval was 166-190 ms. A young
generation of THRESHOLD[0] objects instead of 700 lets such objects die young (their refcount
frees them before a collection sees them): two full collections in a 20 s run instead of eight,
p99 89-96 ms, the crowded system's tick p99 50-57 ms instead of 122-148 ms (`callister bench
crowd --clients 1000`, docs/benchmarks.md). A young collection then walks up to 50,000 objects,
a few milliseconds, a few times a second.

`time_pauses` reports the collector's pauses in /metrics (`callister_gc_collections_total`,
`callister_gc_pause_seconds_total`, `callister_gc_full_pause_ms`: docs/protocol.md, Metrics).
"""

from __future__ import annotations

import gc
import time
from typing import Any

from callister.server.metrics import Metrics

THRESHOLD = (50_000, 20, 100)
"""The collector's generation thresholds for a running server (CPython's default: 700, 10, 10)."""


def freeze_startup() -> int:
    """Collect once, freeze every object alive now, and set the server's THRESHOLD; returns
    how many objects were frozen."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLD)
    return gc.get_freeze_count()


class PauseTimer:
    """A `gc.callbacks` entry that counts the collector's pauses into a metrics registry."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._started = 0.0
        for name in (
            "callister_gc_collections_total",
            "callister_gc_full_collections_total",
            "callister_gc_pause_seconds_total",
        ):
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
            counters["callister_gc_full_collections_total"] += 1
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
