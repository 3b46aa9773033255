"""Placement: properties of the pure assignment function and the live-move state machine."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callister.cluster.placement import (
    InvalidTransition,
    Move,
    MoveEvent,
    MoveState,
    place,
    plan_move,
)

ZONE_LOADS = st.dictionaries(
    st.integers(0, 60).map(lambda i: f"w.{i % 8}.{i // 8}"),
    st.floats(0, 100, allow_nan=False),
    max_size=30,
)
WORKERS = st.lists(
    st.sampled_from([f"worker-{i}" for i in range(6)]), min_size=1, max_size=6, unique=True
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[str, float], list[str], dict[str, str]]:
    loads = draw(ZONE_LOADS)
    workers = draw(WORKERS)
    everyone = [*workers, "dead-1", "dead-2"]
    current = {z: draw(st.sampled_from(everyone)) for z in loads if draw(st.booleans())}
    return loads, workers, current


@given(scenarios(), st.floats(0, 1), st.integers(0, 4))
@settings(max_examples=150, deadline=None)
def test_every_zone_gets_a_live_worker_and_moves_are_bounded(
    scenario: tuple[dict[str, float], list[str], dict[str, str]], hysteresis: float, max_moves: int
) -> None:
    loads, workers, current = scenario
    plan = place(loads, workers, current, hysteresis=hysteresis, max_moves=max_moves)
    assert set(plan.assignment) == set(loads)
    assert set(plan.assignment.values()) <= set(workers)
    assert len(plan.moves) <= max_moves
    for zone in loads:  # a zone on a live worker moves only by a listed move
        was = current.get(zone)
        if was in workers and plan.assignment[zone] != was:
            assert any(m.zone == zone and m.source == was for m in plan.moves)
    orphaned = {z for z in loads if current.get(z) not in workers}
    assert set(plan.orphans) == orphaned
    assert not {m.zone for m in plan.moves} & orphaned  # orphans are placed, not moved
    assert place(loads, workers, current, hysteresis=hysteresis, max_moves=max_moves) == plan


def spread(loads: dict[str, float], assignment: dict[str, str], workers: list[str]) -> float:
    totals = dict.fromkeys(workers, 0.0)
    for zone, worker in assignment.items():
        totals[worker] += loads[zone]
    return sum(v * v for v in totals.values())


@given(scenarios(), st.floats(0, 1))
@settings(max_examples=100, deadline=None)
def test_rebalancing_converges_and_each_move_helps(
    scenario: tuple[dict[str, float], list[str], dict[str, str]], hysteresis: float
) -> None:
    loads, workers, current = scenario
    assignment = place(loads, workers, current, max_moves=0).assignment
    for _ in range(len(loads) + 2):
        before = spread(loads, assignment, workers)
        plan = place(loads, workers, assignment, hysteresis=hysteresis, max_moves=1)
        if not plan.moves:
            break
        assert spread(loads, plan.assignment, workers) < before  # strictly better
        assignment = plan.assignment
    else:
        pytest.fail("placement kept moving zones")
    # settled: nobody is above the band unless no single move could help
    settled = place(loads, workers, assignment, hysteresis=hysteresis, max_moves=5)
    assert settled.moves == []


def test_hysteresis_ignores_small_imbalances() -> None:
    loads = {"z1": 10.0, "z2": 10.0, "z3": 11.0, "z4": 9.0}
    current = {"z1": "a", "z2": "a", "z3": "b", "z4": "b"}
    loads_now = dict(loads, z1=12.0)  # a is now 22 vs b 20: within 25 % of the mean
    assert place(loads_now, ["a", "b"], current).moves == []
    loads_hot = dict(loads, z1=40.0)  # a 50 vs b 20: move one zone
    plan = place(loads_hot, ["a", "b"], current)
    assert plan.moves == [Move("z2", "a", "b", 10.0)]


def test_orphans_of_a_dead_worker_go_to_the_least_loaded() -> None:
    loads = {"z1": 5.0, "z2": 1.0, "z3": 4.0, "z4": 3.0}
    current = {"z1": "dead", "z2": "a", "z3": "dead", "z4": "b"}
    plan = place(loads, ["a", "b"], current)
    assert plan.orphans == ["z1", "z3"]  # heaviest first
    assert plan.assignment == {"z1": "a", "z2": "a", "z3": "b", "z4": "b"}
    assert plan.moves == []


def test_capacity_weights_workers() -> None:
    loads = {f"z{i}": 1.0 for i in range(12)}
    plan = place(loads, {"big": 2.0, "small": 1.0}, {})
    on_big = sum(1 for w in plan.assignment.values() if w == "big")
    assert on_big == 8


def test_no_workers() -> None:
    assert place({}, [], {}).assignment == {}
    with pytest.raises(ValueError):
        place({"z": 1.0}, [], {})


def test_a_live_move_runs_through_its_states() -> None:
    plan = plan_move(Move("w.1.1", "a", "b", 3.0))
    assert plan.state is MoveState.PLANNED and plan.source_simulates
    plan = plan.advance(MoveEvent.START)
    assert plan.actor == "target" and plan.source_simulates and not plan.target_simulates
    plan = plan.advance(MoveEvent.TARGET_READY)
    assert plan.actor == "source" and not plan.source_simulates  # draining: nobody steps
    with pytest.raises(InvalidTransition):
        plan.advance(MoveEvent.DRAINED)  # needs the last tick
    plan = plan.advance(MoveEvent.DRAINED, tick=1200)
    assert plan.state is MoveState.HANDING_OFF and plan.tick == 1200
    plan = plan.advance(MoveEvent.ACQUIRED, token=77)
    assert plan.target_simulates and plan.token == 77
    plan = plan.advance(MoveEvent.RESUMED)
    assert plan.done and plan.state is MoveState.DONE and plan.actor is None
    assert plan.history == (
        MoveState.PLANNED,
        MoveState.PREPARING,
        MoveState.DRAINING,
        MoveState.HANDING_OFF,
        MoveState.RESUMING,
    )
    with pytest.raises(InvalidTransition):
        plan.advance(MoveEvent.FAILED)


@pytest.mark.parametrize(
    ("events", "end"),
    [
        ([MoveEvent.START], MoveState.ABORTED),
        ([MoveEvent.START, MoveEvent.TARGET_READY], MoveState.ABORTED),
        ([MoveEvent.START, MoveEvent.TARGET_READY, MoveEvent.DRAINED], MoveState.ORPHANED),
    ],
)
def test_failures_before_the_release_abort_and_after_it_orphan(
    events: list[MoveEvent], end: MoveState
) -> None:
    plan = plan_move(Move("w.1.1", "a", "b", 3.0))
    for event in events:
        plan = plan.advance(event, tick=5 if event is MoveEvent.DRAINED else None)
    failed = plan.advance(MoveEvent.FAILED, reason="target died")
    assert failed.state is end and failed.reason == "target died" and failed.done
    # after an abort the source simulates again; an orphan is nobody's until placement runs
    assert failed.source_simulates == (end is MoveState.ABORTED)
    assert not failed.target_simulates
