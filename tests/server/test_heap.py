"""server/heap.py: start-up's objects frozen out of the collector's walks, pauses timed."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from callister.server import heap
from callister.server.metrics import Metrics


@pytest.fixture
def unfrozen() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    heap.SLACK.stop()
    gc.unfreeze()  # the rest of the test run collects as usual
    gc.set_threshold(*threshold)


def _allocate_past(threshold: int) -> list[list[int]]:
    """Keep enough new container objects alive to cross a young-generation threshold."""
    gc.collect(0)
    # a margin: the young count also falls when any tracked object is freed meanwhile (other
    # threads' too: the suite's earlier servers); 10 was once 3 short
    return [[i] for i in range(threshold + 2000)]


def test_freeze_startup_takes_what_is_alive_out_of_the_collections(unfrozen: None) -> None:
    kept = [[i] for i in range(1000)]  # container objects the collector tracks
    frozen = heap.freeze_startup()
    assert frozen >= len(kept)  # (the count can fall at once: a frozen object freed)
    # CPython collects only past the backstop; the tick loop's slack collects at THRESHOLD
    assert gc.get_threshold() == heap.BACKSTOP and heap.SLACK.active
    # no generation holds them any more: a full collection walks only what came after
    first = kept[0]
    assert not any(o is first for g in (0, 1, 2) for o in gc.get_objects(g))


def test_every_collection_is_counted_and_a_full_ones_pause_kept() -> None:
    metrics = Metrics()
    timer = heap.time_pauses(metrics)
    try:
        assert heap.time_pauses(metrics) is timer  # one timer per process
        before = metrics.counters["callister_gc_collections_total"]
        gc.collect(0)
        gc.collect(2)
        assert metrics.counters["callister_gc_collections_total"] >= before + 2
        assert metrics.counters["callister_gc_pause_seconds_total"] > 0.0
        assert metrics.gauges["callister_gc_full_pause_ms"] > 0.0
        text = metrics.render()
        for name in (
            "callister_gc_collections_total",
            "callister_gc_pause_seconds_total",
            "callister_gc_full_pause_ms",
        ):
            assert name in text
    finally:
        heap.stop_timing(timer)
    assert timer not in gc.callbacks


def test_the_slack_collects_a_due_young_generation_only_when_its_pause_fits(
    unfrozen: None,
) -> None:
    slack = heap.SlackCollector()
    assert not slack.collect(1.0)  # not started: CPython collects as usual
    slack.start()
    try:
        assert gc.get_threshold() == heap.BACKSTOP
        kept = _allocate_past(heap.THRESHOLD[0])
        young = gc.get_count()[0]
        assert young >= heap.THRESHOLD[0]
        slack.per_object[0] = 0.010 / young  # this young generation would pause 10 ms
        slack.offers.extend([0.050] * heap.OFFERS)  # and the slacks have been long: its target
        assert slack.estimate(0, young) == pytest.approx(0.010)
        assert not slack.collect(0.005)  # 5 ms to the next deadline: it waits
        assert gc.get_count()[0] >= heap.THRESHOLD[0]
        assert slack.collect(0.050)  # 50 ms: it runs now
        assert gc.get_count()[0] < heap.MIN_YOUNG
        assert not slack.collect(0.050)  # nothing due any more
        # what it left alive is counted into the middle generation, and its rate measured
        assert slack.older[0] >= len(kept)
        assert slack.per_object[0] != pytest.approx(0.010 / young)
        del kept
    finally:
        slack.stop()
    assert gc.get_threshold() == heap.THRESHOLD
    assert slack._observe not in gc.callbacks


def test_the_young_generation_is_collected_at_the_size_the_slacks_allow(
    unfrozen: None,
) -> None:
    """Short slacks (several systems' deadlines interleaved) make it collect the young
    generation smaller and sooner: left to grow to THRESHOLD[0] it would fit none of them
    and end at CPython's backstop, the longest pause (97 ms at 1,000 clients, measured)."""
    slack = heap.SlackCollector()
    slack.start()
    try:
        slack.per_object[0] = 1e-6  # 1 µs an object: 10,000 objects pause 10 ms
        for _ in range(heap.OFFERS):
            slack.offers.append(0.015)  # every idle moment lasts 15 ms
        assert slack.young_target() == 12_000  # 0.8 x 15 ms at 1 µs an object
        kept = _allocate_past(14_000)
        assert gc.get_count()[0] < heap.THRESHOLD[0]  # not due by the old fixed threshold
        assert not slack.collect(0.010)  # 16,000 objects, 16 ms: not in this 10 ms
        assert slack.collect(0.025)  # but in a longer one
        assert gc.get_count()[0] < heap.MIN_YOUNG
        # outgrown the slacks its estimate fits: in one of the longest quarter of them
        slack.per_object[0] = 1e-6  # (the collection above measured its own rate)
        slack.offers.extend([0.015] * heap.OFFERS)
        more = _allocate_past(heap.OVERDUE * 12_000)  # 26,000 objects: 26 ms, fits no slack
        assert not slack.collect(0.010)  # a short slack: it still waits
        assert slack.collect(0.015)  # one of the longest: it runs, fit or not
        assert gc.get_count()[0] < heap.MIN_YOUNG
        # grown further still (a burst with no slack at all): at the next idle moment
        slack.per_object[0] = 1e-6
        slack.offers.extend([0.015] * heap.OFFERS)
        late = _allocate_past(heap.LATE * 12_000)
        assert slack.collect(0.0)
        assert gc.get_count()[0] < heap.MIN_YOUNG
        del late
        del kept, more
        # no slack seen (an overloaded server): the fixed threshold, never below MIN_YOUNG
        slack.offers.clear()
        assert slack.young_target() == heap.THRESHOLD[0]
        slack.offers.append(0.0)
        assert slack.young_target() == heap.MIN_YOUNG
    finally:
        slack.stop()


def test_an_older_generations_estimate_grows_with_what_was_promoted_into_it(
    unfrozen: None,
) -> None:
    """After a burst of logins, the middle generation holds every session's objects: its next
    collection's estimate counts them (a fixed guess from its last, small, pause started one
    of 56-147 ms inside a 50 ms tick)."""
    slack = heap.SlackCollector()
    slack.start()
    try:
        before = slack.estimate(1, 0)
        kept = _allocate_past(20_000)
        gc.collect(0)  # the young collection promotes them
        assert slack.older[0] >= len(kept)
        assert slack.estimate(1, 0) >= before + len(kept) * slack.per_object[1]
        gc.collect(1)  # a middle collection moves them on to the oldest generation
        assert slack.older[0] == 0 and slack.older[1] >= len(kept)
        gc.collect(2)  # a full one keeps what is still alive there
        assert slack.older[0] == 0 and slack.older[1] >= len(kept)
        with_them = slack.older[1]
        del kept  # freed by their reference count: no collection sees them go
        gc.collect(2)
        assert slack.older[1] <= with_them - 20_000  # but a full collection counts what is left
    finally:
        slack.stop()


def test_an_old_generation_waits_for_slack_and_not_longer_than_its_limit(
    unfrozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack = heap.SlackCollector()
    slack.start()
    try:
        slack.per_object = [1.0, 1.0, 1.0]  # nothing fits any slack
        kept = _allocate_past(heap.THRESHOLD[0])
        full = [-1]  # the generation collected last
        real = gc.collect
        # (a young generation at its smallest: not overdue, which would run it at once)
        monkeypatch.setattr(gc, "get_count", lambda: (heap.MIN_YOUNG, 0, heap.THRESHOLD[2]))
        monkeypatch.setattr(gc, "collect", lambda g=2: full.__setitem__(0, g) or real(g))
        # (the collector's counts and clock are set by hand: reaching a full collection's
        # counts for real takes minutes of allocation)
        now = [1000.0]
        monkeypatch.setattr(heap.time, "monotonic", lambda: now[0])
        assert not slack.collect(0.05)  # nothing fits: they wait (their clocks start)
        now[0] += heap.WAIT_S[1] / 2
        assert not slack.collect(0.05)
        now[0] += heap.WAIT_S[1] / 2
        assert slack.collect(0.05) and full == [1]  # the middle one waited long enough
        now[0] += heap.WAIT_S[2]
        assert slack.collect(0.05) and full == [2]  # and then the oldest
        del kept
    finally:
        slack.stop()
