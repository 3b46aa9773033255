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
    gc.unfreeze()  # the rest of the test run collects as usual
    gc.set_threshold(*threshold)


def test_freeze_startup_takes_what_is_alive_out_of_the_collections(unfrozen: None) -> None:
    kept = [[i] for i in range(1000)]  # container objects the collector tracks
    frozen = heap.freeze_startup()
    assert frozen >= len(kept)  # (the count can fall at once: a frozen object freed)
    assert gc.get_threshold() == heap.THRESHOLD  # a young generation objects can die in
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
