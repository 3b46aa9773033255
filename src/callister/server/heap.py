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
from collections import deque
from typing import Any

from callister.server.metrics import Metrics

THRESHOLD = (50_000, 20, 100)
"""The collector's generation thresholds for a running server (CPython's default: 700, 10, 10):
the young generation's largest size (`SLACK` collects it smaller when the slack is short), and
how many collections of the next younger generation make an older one due."""
BACKSTOP = (4 * THRESHOLD[0], THRESHOLD[1], THRESHOLD[2])
"""The thresholds CPython itself applies meanwhile: it collects wherever an allocation crosses
them, only when the tick loop found no slack for a while (an overloaded server)."""
WAIT_S = (float("inf"), 10.0, 60.0)
"""An old generation's collection due this long runs at the next idle moment, slack or not:
one whose pause never fits the slack would otherwise never run (the young collections in the
slack keep CPython's BACKSTOP from ever being crossed), and cyclic garbage that reached it would
never be freed. The young one waits for slack as long as it takes: past BACKSTOP, CPython
collects it itself."""
MIN_YOUNG = 5_000
"""The young generation is not collected smaller than this (about 2 ms): a collection walks
what is alive as well as what is garbage, so many tiny ones would only promote objects that a
little more time would have let die young."""
FIT = 0.8
"""A collection runs in a slack only when its estimated pause takes at most this share of it:
the estimate is a model, and the next deadline is not."""
OFFERS = 256
"""How many recent slacks (the tick loop's idle moments) set the young generation's size."""
OVERDUE = 2
"""A young generation this many times its target size has outgrown the slacks its estimate
fits (the estimate is rough: 0.5-2 µs an object, by what the objects hold): it runs in the next
slack among the longest quarter of the recent ones, fit or not."""
LATE = 4
"""A young generation this many times its target size runs at the next idle moment, slack or
not: after a burst with no slack (a wave of logins), waiting would only let it grow to
CPython's BACKSTOP, the longest pause of all."""
RATE_MIN_WALK = 1_000
"""A collection that walked fewer objects than this does not set its generation's rate."""
PER_OBJECT_S = 0.5e-6
"""A first guess of a collection's pause per object it walks, s (measured: 0.36-0.49 µs at
1,000 clients, `callister bench crowd`); each collection measures its own generation's rate."""


def freeze_startup() -> int:
    """Collect once, freeze every object alive now, and hand the collections to `SLACK`
    (CPython's own at BACKSTOP); returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    SLACK.start()
    return gc.get_freeze_count()


class SlackCollector:
    """Garbage collections in the tick loop's idle time, sized to fit it.

    A collection's pause grows with the objects it walks: 18 ms for a young generation of
    50,000 objects and 97 ms for one of 200,000 at 1,000 clients. CPython runs it inside
    whatever code allocated the object that crossed the threshold, often in the middle of a
    crowded system's fan-out, and that tick's updates go out late for everyone (the p99 of
    the clients' update interval). The tick loop calls `collect` when it is about to sleep
    until the next deadline; a due collection runs there when its estimated pause fits.

    The estimate is the objects the collection would walk times the seconds per object its
    generation's last collection took. The young generation's size is `gc.get_count()[0]`;
    the older ones' are added up from what each collection left alive (an upper bound:
    objects freed by their reference count are not seen), and the oldest one's is counted
    after each full collection, so the error never outlives one.
    The young generation is collected at the size that fits the median recent slack (never
    below MIN_YOUNG nor above THRESHOLD[0]): with several systems' deadlines interleaved, the
    slacks are short, and a young generation left to grow to a fixed threshold would never
    fit one and would end at CPython's BACKSTOP, the longest pause of all.

    Every collection is observed (`gc.callbacks`), CPython's own and explicit ones too, so the
    model stays true whoever collects."""

    def __init__(self) -> None:
        self.active = False
        self.per_object = [PER_OBJECT_S] * 3  # s per walked object, per generation (measured)
        self.older = [0, 0]  # objects in the middle and the oldest generation (estimated)
        self.offers: deque[float] = deque(maxlen=OFFERS)  # the recent slacks, s
        self._due_since: list[float | None] = [None, None, None]  # when each fell due
        self._walking = (0, 0, 0.0)  # the running collection: generation, walked, its start

    def start(self) -> None:
        self.active = True
        self.older = [0, 0]  # (`freeze_startup` has just collected and frozen everything)
        gc.set_threshold(*BACKSTOP)
        if self._observe not in gc.callbacks:
            gc.callbacks.append(self._observe)

    def stop(self) -> None:
        """CPython collects by THRESHOLD again (the tick loop is gone)."""
        if self.active:
            self.active = False
            gc.set_threshold(*THRESHOLD)
        if self._observe in gc.callbacks:
            gc.callbacks.remove(self._observe)

    def walks(self, generation: int, young: int) -> int:
        """The objects a collection of `generation` would walk with `young` in generation 0:
        the generation and every younger one."""
        return young + sum(self.older[:generation])

    def estimate(self, generation: int, young: int) -> float:
        """The pause, s, of collecting `generation` now."""
        return self.walks(generation, young) * self.per_object[generation]

    def young_target(self) -> int:
        """The young generation's size to collect at: what fits the median recent slack."""
        if not self.offers:
            return THRESHOLD[0]
        fits = int(FIT * self._offered(0.5) / self.per_object[0])
        return max(MIN_YOUNG, min(THRESHOLD[0], fits))

    def _offered(self, share: float) -> float:
        """The recent slack that `share` of the recent slacks are shorter than, s."""
        offers = sorted(self.offers)
        return offers[min(len(offers) - 1, int(share * len(offers)))]

    def collect(self, slack_s: float) -> bool:
        """Run a due collection that fits in `slack_s` seconds; whether one ran."""
        if not self.active:
            return False
        self.offers.append(slack_s)
        young, count1, count2 = gc.get_count()
        if young < MIN_YOUNG:
            return False
        due = 2 if count2 >= THRESHOLD[2] else 1 if count1 >= THRESHOLD[1] else 0
        target = self.young_target()
        if due == 0 and young < target:
            return False
        now = time.monotonic()
        for generation in range(due, -1, -1):
            since = self._due_since[generation]
            if since is None:
                since = self._due_since[generation] = now
            waited = now - since >= WAIT_S[generation]  # now, slack or not
            if generation == 0:
                waited = young >= LATE * target or (
                    young >= OVERDUE * target and slack_s >= self._offered(0.75)
                )
            if waited or self.estimate(generation, young) <= slack_s * FIT:
                gc.collect(generation)  # (`_observe` measures it and keeps the model)
                return True
        return False

    def _observe(self, phase: str, info: dict[str, Any]) -> None:
        """A `gc.callbacks` entry: each collection's rate per object and what it left alive."""
        generation = int(info.get("generation", 0))
        if phase == "start":
            walked = self.walks(generation, gc.get_count()[0])
            self._walking = (generation, walked, time.perf_counter())
            return
        started_generation, walked, started = self._walking
        if started_generation != generation:
            return
        if walked >= RATE_MIN_WALK:  # (a tiny collection's rate is mostly its fixed cost)
            self.per_object[generation] = (time.perf_counter() - started) / walked
        alive = max(0, walked - int(info.get("collected", 0)))
        if generation == 0:
            self.older[0] += alive
        elif generation == 1:
            self.older = [0, self.older[1] + alive]
        else:  # counted, not estimated: the estimate's drift ends here (about 17 ns an object)
            self.older = [0, len(gc.get_objects(2))]
        for younger in range(generation + 1):  # (a collection takes the younger ones too)
            self._due_since[younger] = None


SLACK = SlackCollector()
"""The serving process's collector of the tick loop's slack (`freeze_startup` starts it)."""


_LAST_PAUSE = {
    0: "callister_gc_young_pause_ms",
    1: "callister_gc_middle_pause_ms",
    2: "callister_gc_full_pause_ms",
}
"""The gauge holding the last pause of each generation."""


class PauseTimer:
    """A `gc.callbacks` entry that counts the collector's pauses into a metrics registry."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._started = 0.0
        for name in (
            "callister_gc_collections_total",
            "callister_gc_middle_collections_total",
            "callister_gc_full_collections_total",
            "callister_gc_pause_seconds_total",
        ):
            metrics.counters.setdefault(name, 0.0)
        for name in _LAST_PAUSE.values():
            metrics.gauges.setdefault(name, 0.0)

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        took = time.perf_counter() - self._started
        counters = self.metrics.counters
        counters["callister_gc_collections_total"] += 1
        counters["callister_gc_pause_seconds_total"] += took
        generation = info.get("generation", 0)
        if generation == 1:
            counters["callister_gc_middle_collections_total"] += 1
        elif generation == 2:
            counters["callister_gc_full_collections_total"] += 1
        self.metrics.gauges[_LAST_PAUSE.get(generation, _LAST_PAUSE[0])] = round(took * 1e3, 3)


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
