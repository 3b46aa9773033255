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
"""The collector's generation thresholds for a running server (CPython's default: 700, 10, 10):
when `SLACK` collects in the tick loop's idle time."""
BACKSTOP = (4 * THRESHOLD[0], THRESHOLD[1], THRESHOLD[2])
"""The thresholds CPython itself applies meanwhile: it collects wherever an allocation crosses
them, only when the tick loop found no slack for a while (an overloaded server)."""
WAIT_S = (float("inf"), 10.0, 60.0)
"""An old generation's collection due this long runs at the next idle moment, slack or not:
one whose pause never fits the slack would otherwise never run (the young collections in the
slack keep CPython's BACKSTOP from ever being crossed), and cyclic garbage that reached it would
never be freed. The young one waits for slack as long as it takes: past BACKSTOP, CPython
collects it itself."""


def freeze_startup() -> int:
    """Collect once, freeze every object alive now, and hand the collections to `SLACK`
    (CPython's own at BACKSTOP); returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    SLACK.start()
    return gc.get_freeze_count()


class SlackCollector:
    """Garbage collections in the tick loop's idle time, not wherever an allocation happens to
    cross a threshold.

    A young collection walks tens of thousands of objects: a few to tens of milliseconds.
    CPython runs it inside whatever code allocated the object that crossed the threshold,
    often in the middle of a crowded system's fan-out, and that tick's updates go out late
    for everyone (the p99 of the clients' update interval). The tick loop calls `collect` when
    it is about to sleep until the next deadline: a due collection runs there if its last
    pause fits the slack, the oldest due generation that fits."""

    def __init__(self) -> None:
        self.active = False
        self.took = [0.002, 0.02, 0.2]  # the last pause of each generation, s (first guesses)
        self._due_since: list[float | None] = [None, None, None]  # when each fell due

    def start(self) -> None:
        self.active = True
        gc.set_threshold(*BACKSTOP)

    def stop(self) -> None:
        """CPython collects by THRESHOLD again (the tick loop is gone)."""
        if self.active:
            self.active = False
            gc.set_threshold(*THRESHOLD)

    def collect(self, slack_s: float) -> bool:
        """Run a due collection that fits in `slack_s` seconds; whether one ran."""
        if not self.active:
            return False
        count0, count1, count2 = gc.get_count()
        if count0 < THRESHOLD[0]:
            return False
        due = 2 if count2 >= THRESHOLD[2] else 1 if count1 >= THRESHOLD[1] else 0
        now = time.monotonic()
        for generation in range(due, -1, -1):
            since = self._due_since[generation]
            if since is None:
                since = self._due_since[generation] = now
            waited = now - since >= WAIT_S[generation]  # now, slack or not
            if waited or self.took[generation] <= slack_s * 0.8:
                started = time.perf_counter()
                gc.collect(generation)
                self.took[generation] = time.perf_counter() - started
                for younger in range(generation + 1):  # (a collection takes the younger too)
                    self._due_since[younger] = None
                return True
        return False


SLACK = SlackCollector()
"""The serving process's collector of the tick loop's slack (`freeze_startup` starts it)."""


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
