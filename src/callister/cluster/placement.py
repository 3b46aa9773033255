"""Placement: which worker should own which zone, and the steps of moving a zone live.

`place()` is a pure function: zone loads, live workers and the current assignment in; the next
assignment and the moves it implies out. Ownership itself is still decided by leases
(leases.py): placement only says who *should* acquire what, and a planned move is carried out
with the explicit state machine `MovePlan` (drain -> hand off -> resume).

Rules of `place()`:

- a zone whose worker is alive stays there, unless rebalancing moves it;
- orphans (new zones, or zones of a worker that died) go, heaviest first, to the worker with the
  lowest load relative to its capacity (ties by name, so every process computes the same plan);
- rebalancing moves at most `max_moves` zones per call, and only while the most loaded worker is
  more than `hysteresis` (a fraction of the mean load) above the mean; each move takes a zone
  from the most to the least loaded worker and must leave the receiver below what the giver
  had and strictly lower sum(load^2 / capacity), so repeated calls settle (no ping-pong).
  Small load changes inside the hysteresis band move nothing: a move costs a pause.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace


@dataclass(frozen=True, slots=True)
class Move:
    zone: str
    source: str
    target: str
    load: float


@dataclass(frozen=True, slots=True)
class Placement:
    assignment: dict[str, str]
    """zone -> worker, for every zone given."""
    moves: list[Move]
    """Zones to move live from one live worker to another (rebalancing)."""
    orphans: list[str]
    """Zones that had no live worker and were assigned (to be acquired, no hand-off)."""
    loads: dict[str, float] = field(default_factory=dict)
    """worker -> load after the plan (relative to capacity)."""


def place(
    zone_loads: Mapping[str, float],
    workers: Sequence[str] | Mapping[str, float],
    current: Mapping[str, str],
    *,
    hysteresis: float = 0.25,
    max_moves: int = 1,
) -> Placement:
    """The next assignment of zones to workers.

    `zone_loads`: zone -> load (any non-negative unit, e.g. ms of tick per second, or ships).
    `workers`: the live workers, or worker -> capacity (relative; default 1.0 each).
    `current`: zone -> worker as it is now (entries for dead workers or unknown zones are
    ignored). Raises ValueError when there are zones and no workers.
    """
    capacity = (
        {w: float(c) for w, c in workers.items()}
        if isinstance(workers, Mapping)
        else dict.fromkeys(workers, 1.0)
    )
    if any(c <= 0 for c in capacity.values()):
        raise ValueError("worker capacities must be positive")
    if any(load < 0 for load in zone_loads.values()):
        raise ValueError("zone loads must be non-negative")
    if zone_loads and not capacity:
        raise ValueError("no live workers to place zones on")

    assignment: dict[str, str] = {}
    raw: dict[str, float] = dict.fromkeys(capacity, 0.0)
    for zone in sorted(zone_loads):
        worker = current.get(zone)
        if worker in capacity:
            assignment[zone] = worker
            raw[worker] += zone_loads[zone]

    def rel(worker: str) -> float:
        return raw[worker] / capacity[worker]

    orphans = sorted(
        (z for z in zone_loads if z not in assignment), key=lambda z: (-zone_loads[z], z)
    )
    for zone in orphans:
        worker = min(capacity, key=lambda w: (rel(w), w))
        assignment[zone] = worker
        raw[worker] += zone_loads[zone]

    orphan_set = set(orphans)
    moves: list[Move] = []
    total_capacity = sum(capacity.values())
    mean = sum(zone_loads.values()) / total_capacity if total_capacity else 0.0
    while len(moves) < max_moves and len(capacity) > 1 and mean > 0:
        hot = max(capacity, key=lambda w: (rel(w), w))
        cold = min(capacity, key=lambda w: (rel(w), w))
        if rel(hot) <= mean * (1.0 + hysteresis):
            break
        best: tuple[float, str] | None = None
        for zone, worker in assignment.items():
            if worker != hot or zone in orphan_set:  # an orphan was just placed: no move
                continue
            load = zone_loads[zone]
            if load <= 0:
                continue
            after_hot = (raw[hot] - load) / capacity[hot]
            after_cold = (raw[cold] + load) / capacity[cold]
            # the potential sum(load^2 / capacity) must strictly fall: no ping-pong, and
            # (equal capacities) the receiver ends below what the giver had
            delta = ((raw[hot] - load) ** 2 - raw[hot] ** 2) / capacity[hot] + (
                (raw[cold] + load) ** 2 - raw[cold] ** 2
            ) / capacity[cold]
            if delta >= -1e-9 * max(1.0, mean * mean) or after_cold >= rel(hot):
                continue
            score = max(after_hot, after_cold)
            if best is None or (score, zone) < best:
                best = (score, zone)
        if best is None:
            break
        zone = best[1]
        load = zone_loads[zone]
        moves.append(Move(zone, hot, cold, load))
        assignment[zone] = cold
        raw[hot] -= load
        raw[cold] += load
    return Placement(
        assignment=assignment,
        moves=moves,
        orphans=orphans,
        loads={w: rel(w) for w in sorted(capacity)},
    )


# ----------------------------------------------------------------------------- live moves


class MoveState(enum.StrEnum):
    PLANNED = "planned"
    PREPARING = "preparing"
    """The target loads the zone's static data (layout, generation) and subscribes to its
    intents subject, buffering them; the source keeps simulating."""
    DRAINING = "draining"
    """The source stops stepping the zone after tick T, writes its final checkpoint (fenced),
    stops its hand-off receiver and releases the lease."""
    HANDING_OFF = "handing_off"
    """The lease is free: the target acquires it (new token), claims the fence and loads the
    checkpoint of tick T and the resident ships."""
    RESUMING = "resuming"
    """The target steps from tick T+1 (applying the buffered intents), starts the zone's
    hand-off receiver and publishes ticks; gateways see a pause of a few ticks, no gap."""
    DONE = "done"
    ABORTED = "aborted"
    """Gave up before the source released the lease: the source resumes the zone."""
    ORPHANED = "orphaned"
    """Failed after the source released the lease: the zone is handled like a failed worker's
    (placement assigns it; whoever acquires it resumes from the last checkpoint)."""


class MoveEvent(enum.StrEnum):
    START = "start"
    TARGET_READY = "target_ready"
    DRAINED = "drained"  # carries the last tick the source simulated
    ACQUIRED = "acquired"  # carries the target's new fencing token
    RESUMED = "resumed"
    FAILED = "failed"  # carries a reason; also used for timeouts


class InvalidTransition(ValueError):
    pass


TERMINAL = frozenset({MoveState.DONE, MoveState.ABORTED, MoveState.ORPHANED})

_NEXT: dict[tuple[MoveState, MoveEvent], MoveState] = {
    (MoveState.PLANNED, MoveEvent.START): MoveState.PREPARING,
    (MoveState.PREPARING, MoveEvent.TARGET_READY): MoveState.DRAINING,
    (MoveState.DRAINING, MoveEvent.DRAINED): MoveState.HANDING_OFF,
    (MoveState.HANDING_OFF, MoveEvent.ACQUIRED): MoveState.RESUMING,
    (MoveState.RESUMING, MoveEvent.RESUMED): MoveState.DONE,
    (MoveState.PLANNED, MoveEvent.FAILED): MoveState.ABORTED,
    (MoveState.PREPARING, MoveEvent.FAILED): MoveState.ABORTED,
    (MoveState.DRAINING, MoveEvent.FAILED): MoveState.ABORTED,
    (MoveState.HANDING_OFF, MoveEvent.FAILED): MoveState.ORPHANED,
    (MoveState.RESUMING, MoveEvent.FAILED): MoveState.ORPHANED,
}

# Who must act in each state, and how long it may take before the coordinator sends FAILED.
ACTOR: dict[MoveState, str] = {
    MoveState.PLANNED: "coordinator",
    MoveState.PREPARING: "target",
    MoveState.DRAINING: "source",
    MoveState.HANDING_OFF: "target",
    MoveState.RESUMING: "target",
}
DEADLINE_S: dict[MoveState, float] = {
    MoveState.PREPARING: 10.0,
    MoveState.DRAINING: 2.0,
    MoveState.HANDING_OFF: 2.0,
    MoveState.RESUMING: 2.0,
}


@dataclass(frozen=True, slots=True)
class MovePlan:
    """One live move of a zone, as a value: `advance()` returns the next plan or raises
    `InvalidTransition`. The coordinator (admin CLI or placement loop) persists it (e.g. in a
    KV bucket) and tells the actor of the current state what to do."""

    zone: str
    source: str
    target: str
    state: MoveState = MoveState.PLANNED
    tick: int | None = None
    """The last tick the source simulated (set by DRAINED)."""
    token: int | None = None
    """The target's fencing token (set by ACQUIRED)."""
    reason: str = ""
    history: tuple[MoveState, ...] = ()

    @property
    def done(self) -> bool:
        return self.state in TERMINAL

    @property
    def actor(self) -> str | None:
        """'source', 'target' or 'coordinator': who acts next (None when finished)."""
        return ACTOR.get(self.state)

    @property
    def source_simulates(self) -> bool:
        """Whether the source may step the zone in this state."""
        return self.state in (MoveState.PLANNED, MoveState.PREPARING, MoveState.ABORTED)

    @property
    def target_simulates(self) -> bool:
        return self.state in (MoveState.RESUMING, MoveState.DONE)

    def advance(
        self,
        event: MoveEvent,
        *,
        tick: int | None = None,
        token: int | None = None,
        reason: str = "",
    ) -> MovePlan:
        nxt = _NEXT.get((self.state, event))
        if nxt is None:
            raise InvalidTransition(f"{event.value} is not valid in state {self.state.value}")
        if event is MoveEvent.DRAINED and tick is None:
            raise InvalidTransition("drained needs the last simulated tick")
        if event is MoveEvent.ACQUIRED and token is None:
            raise InvalidTransition("acquired needs the new fencing token")
        return replace(
            self,
            state=nxt,
            tick=tick if tick is not None else self.tick,
            token=token if token is not None else self.token,
            reason=reason or self.reason,
            history=(*self.history, self.state),
        )


def plan_move(move: Move) -> MovePlan:
    if move.source == move.target:
        raise ValueError("a move needs two different workers")
    return MovePlan(zone=move.zone, source=move.source, target=move.target)
