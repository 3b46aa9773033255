"""Benchmark of one busy zone: N ships flying among asteroid fields, colliding with rocks.

The workload (seeded, identical for every implementation):
- a 20 km system: a 1.5 km star, 3 stations, 6 asteroid fields of 50 rocks each (300 rocks);
- N ships of the three content hulls, 70 % of them spawned inside the fields, all given random
  held controls at the start;
- every tick 1 % of the ships (at least one) get new random controls through `Zone.submit`,
  exactly as players' Input intents arrive.

With ``autopilot`` > 0 that fraction of the ships flies on autopilot instead (issue 16): to a
station, a field, a point or another ship, picked by a seeded stream, a new target each time
one arrives; long legs engage cruise. Those ships take no random controls (an Input would
cancel their autopilot), so the same number of intents reaches the rest.

Only `Zone.step()` and the update of the zone's neighbour grid are timed (building the Input
objects is the gateway's work, not the tick's; the grid is timed because the esper peer
rebuilds one every tick, while a zone does so only when queried).
With ``peer="esper"`` the same workload runs as idiomatic esper processors
(`callister.bench.esper_peer`) for comparison, for as many ticks as ours; esper is slow at
large N (~0.2 s a tick at 100k), so its run is time-boxed (`peer_seconds`): it stops after the
tick that crosses the box, and reports how many ticks it ran (``peer_ticks``). A p99 needs at
least MIN_P99_SAMPLES ticks: with fewer, the peer's p99 is null (its max is still given).
"""

from __future__ import annotations

import gc
import math
import platform
import sys
import time
from collections.abc import Iterator
from typing import Any, Final

import numpy as np

from callister.bench.workload import Control, ShipSpec
from callister.content import load_content
from callister.protocol.intents import Autopilot, Input
from callister.server.metrics import percentiles
from callister.sim import (
    AutopilotArrived,
    AutopilotCancelled,
    Refused,
    RockSpec,
    StationSpec,
    Zone,
    ZoneLayout,
)

WARMUP_TICKS: Final = 5
PEER_WARMUP_TICKS: Final = 2
PEER_SECONDS: Final = 120.0  # default time box of the peer's measured ticks
MIN_P99_SAMPLES: Final = 100
FIELDS: Final = 6
ROCKS_PER_FIELD: Final = 50
SYSTEM_RADIUS: Final = 20_000.0
FIELD_RADIUS: Final = 1_500.0
CHANGERS_PER_TICK: Final = 0.01  # fraction of ships that get new controls each tick
FIRST_ID: Final = 1 << 40  # ids as the server allocates them: large, not starting at 0


def bench_layout(seed: int) -> ZoneLayout:
    """The benchmark system: star, 3 stations, FIELDS asteroid fields (seeded)."""
    rng = np.random.default_rng([seed, 1])
    stations = tuple(
        StationSpec(
            index=i,
            x=8000.0 * math.cos(2 * math.pi * i / 3),
            y=8000.0 * math.sin(2 * math.pi * i / 3),
            radius=150.0,
            dock_radius=400.0,
        )
        for i in range(3)
    )
    rocks: list[RockSpec] = []
    for f in range(FIELDS):
        a = 2 * math.pi * (f + 0.5) / FIELDS
        d = 4000.0 + 10_000.0 * f / (FIELDS - 1)
        cx, cy = d * math.cos(a), d * math.sin(a)
        for _ in range(ROCKS_PER_FIELD):
            rr = FIELD_RADIUS * math.sqrt(rng.random())
            ra = rng.uniform(0, 2 * math.pi)
            rocks.append(
                RockSpec(
                    x=round(cx + rr * math.cos(ra)),
                    y=round(cy + rr * math.sin(ra)),
                    r=float(rng.integers(15, 91)),
                    field=f,
                )
            )
    return ZoneLayout(
        radius=SYSTEM_RADIUS,
        sector=(0, 0),
        links=((1, 0), (0, 1)),
        star_radius=1500.0,
        stations=stations,
        rocks=tuple(rocks),
    )


def bench_ships(layout: ZoneLayout, n: int, seed: int) -> list[ShipSpec]:
    """N ships: 70 % inside the asteroid fields, the rest anywhere in the system (seeded)."""
    rng = np.random.default_rng([seed, 2])
    hulls = list(load_content().hulls.values())
    field_centres = [
        (
            float(np.mean([r.x for r in layout.rocks if r.field == f])),
            float(np.mean([r.y for r in layout.rocks if r.field == f])),
        )
        for f in range(FIELDS)
    ]
    ships: list[ShipSpec] = []
    for i in range(n):
        if rng.random() < 0.7:
            cx, cy = field_centres[int(rng.integers(FIELDS))]
            rr = FIELD_RADIUS * math.sqrt(rng.random())
        else:
            cx, cy = 0.0, 0.0
            rr = 2500.0 + (SYSTEM_RADIUS - 2500.0) * math.sqrt(rng.random())
        a = rng.uniform(0, 2 * math.pi)
        speed = rng.uniform(0, 100)
        heading = rng.uniform(-math.pi, math.pi)
        ships.append(
            ShipSpec(
                id=FIRST_ID + i,
                owner=1000 + i,
                hull=hulls[int(rng.integers(len(hulls)))],
                x=cx + rr * math.cos(a),
                y=cy + rr * math.sin(a),
                vx=speed * math.cos(heading),
                vy=speed * math.sin(heading),
                angle=heading,
            )
        )
    return ships


def control_stream(ships: list[ShipSpec], seed: int) -> Iterator[list[Control]]:
    """Per tick, the controls that change: everyone on the first tick, then 1 % a tick."""
    rng = np.random.default_rng([seed, 3])
    ids = np.array([s.id for s in ships], dtype=np.int64)

    def draw(chosen: np.ndarray) -> list[Control]:
        k = chosen.size
        thrust = np.where(rng.random(k) < 0.2, 0.0, rng.uniform(0.3, 1.0, k))
        turn = np.where(rng.random(k) < 0.4, 0.0, rng.uniform(-1.0, 1.0, k))
        brake = rng.random(k) < 0.05
        return list(
            zip(chosen.tolist(), thrust.tolist(), turn.tolist(), brake.tolist(), strict=True)
        )

    yield draw(ids)
    per_tick = max(1, round(len(ships) * CHANGERS_PER_TICK))
    while True:
        yield draw(rng.choice(ids, size=min(per_tick, ids.size), replace=False))


def build_zone(layout: ZoneLayout, ships: list[ShipSpec]) -> Zone:
    """A Zone holding the workload's ships."""
    zone = Zone(layout)
    for s in ships:
        zone.add_ship(s.id, s.owner, s.hull, x=s.x, y=s.y, vx=s.vx, vy=s.vy, angle=s.angle)
    return zone


def submit_controls(zone: Zone, ships_owner: dict[int, int], controls: list[Control]) -> None:
    for ship, thrust, turn, brake in controls:
        zone.submit(Input(ships_owner[ship], ship, thrust, turn, brake))


def autopilot_targets(
    layout: ZoneLayout, ships: list[ShipSpec], seed: int
) -> Iterator[tuple[str, int, int, float, float]]:
    """Endless seeded autopilot targets (kind, index, ship, x, y) over the benchmark system."""
    rng = np.random.default_rng([seed, 5])
    while True:
        kind = ("station", "field", "point", "ship")[int(rng.integers(4))]
        a = rng.uniform(0, 2 * math.pi)
        r = rng.uniform(3000.0, SYSTEM_RADIUS * 0.9)
        yield (
            kind,
            int(rng.integers(len(layout.stations) if kind == "station" else FIELDS)),
            ships[int(rng.integers(len(ships)))].id,
            r * math.cos(a),
            r * math.sin(a),
        )


def _autopilot(
    zone: Zone, owner: int, ship: int, target: tuple[str, int, int, float, float]
) -> None:
    kind, index, other, x, y = target
    zone.submit(Autopilot(owner, ship, kind, index=index, target=other, x=x, y=y))


def run_sim_bench(
    entities: int,
    ticks: int,
    peer: str | None = None,
    seed: int = 1,
    progress: bool = False,
    peer_seconds: float = PEER_SECONDS,
    autopilot: float = 0.0,
) -> dict[str, Any]:
    """Time `Zone.step()` on the busy-zone workload; optionally the same workload in a peer.

    Returns a JSON-ready dict: entities, ticks, warmup_ticks, ms_per_tick {p50, p99, max,
    mean}, systems_ms {stage: mean ms, every stage of the tick schedule and "grid"},
    collisions_per_tick, intents_per_tick, autopilot (ships on autopilot) and versions, with
    autopilot_arrivals and cruising (ships cruising at the end) when `autopilot` > 0; with
    ``peer="esper"`` also ``peer`` {name, version, ticks, time_boxed, ms_per_tick},
    ``peer_ticks`` and ``ratio`` (peer p50 / ours p50). ValueError for an unknown peer,
    non-positive sizes, or an autopilot fraction outside 0..1 (or with a peer).
    """
    if entities < 1 or ticks < 1 or peer_seconds <= 0:
        raise ValueError("entities, ticks and peer_seconds must be positive")
    if peer not in (None, "esper"):
        raise ValueError(f"unknown peer {peer!r}; the only peer is 'esper'")
    if not 0.0 <= autopilot <= 1.0 or (autopilot and peer):
        raise ValueError("autopilot is a fraction 0..1, and the peer has no autopilot")
    from tqdm import tqdm

    layout = bench_layout(seed)
    ships = bench_ships(layout, entities, seed)
    owners = {s.id: s.owner for s in ships}
    total = WARMUP_TICKS + ticks + (PEER_WARMUP_TICKS + ticks if peer else 0)
    bar = tqdm(total=total, desc="bench sim", unit="tick", file=sys.stderr, disable=not progress)

    zone = build_zone(layout, ships)
    pilots = round(entities * autopilot)
    stream = control_stream(ships[pilots:] or ships[:1], seed)
    targets = autopilot_targets(layout, ships, seed)
    for s in ships[:pilots]:
        _autopilot(zone, s.owner, s.id, next(targets))
    # The workload's own 100k setup objects would otherwise be walked by every full GC pass
    # (a 250 ms pause measured mid-run); a server freezes its startup heap the same way.
    gc.collect()
    gc.freeze()
    try:
        result: dict[str, Any] = {
            "entities": entities,
            "ticks": ticks,
            "warmup_ticks": WARMUP_TICKS,
            "seed": seed,
            "rocks": len(layout.rocks),
            "stations": len(layout.stations),
            "autopilot": pilots,
        }
        result.update(_time_zone(zone, owners, stream, ticks, bar, targets if pilots else None))
        result.update(gc="frozen after setup", python=platform.python_version())
        result["numpy"] = np.__version__
        if peer == "esper":
            result.update(_time_esper(layout, ships, seed, ticks, peer_seconds, bar))
            ours = result["ms_per_tick"]["p50"]
            peer_p50 = result["peer"]["ms_per_tick"]["p50"]
            result["ratio"] = round(peer_p50 / ours, 2) if ours > 0 else None
    finally:
        gc.unfreeze()
        bar.close()
    return result


def _time_zone(
    zone: Zone,
    owners: dict[int, int],
    stream: Iterator[list[Control]],
    ticks: int,
    bar: Any,
    targets: Iterator[tuple[str, int, int, float, float]] | None = None,
) -> dict[str, Any]:
    samples: list[float] = []
    stage_sums = dict.fromkeys(zone.timings_ms, 0.0)
    collisions = 0
    intents = 0
    arrived = 0
    events: list[Any] = []
    for i in range(WARMUP_TICKS + ticks):
        controls = next(stream)
        submit_controls(zone, owners, controls)
        if targets is not None:  # arrived, cancelled or refused: off to a new target
            for e in events:
                done = isinstance(e, AutopilotArrived | AutopilotCancelled) or (
                    isinstance(e, Refused) and e.action == "autopilot"
                )
                if done and zone.has_ship(e.ship):
                    arrived += isinstance(e, AutopilotArrived) and i > WARMUP_TICKS
                    _autopilot(zone, owners[e.ship], e.ship, next(targets))
        start = time.perf_counter()
        events = zone.step()
        # The zone updates its neighbour grid lazily, on the first query after a tick; the
        # peer rebuilds its grid every tick, so force ours here to time the same work.
        zone.neighbour_grid()
        elapsed = (time.perf_counter() - start) * 1000.0
        if i >= WARMUP_TICKS:
            samples.append(elapsed)
            intents += len(controls)
            collisions += sum(type(e).__name__ == "Collided" for e in events)
            for name, ms in zone.timings_ms.items():
                stage_sums[name] += ms
        bar.update()

    timing = {
        "ms_per_tick": percentiles(samples, 3, mean=True),
        "systems_ms": {name: round(total / ticks, 3) for name, total in stage_sums.items()},
        "collisions_per_tick": round(collisions / ticks, 1),
        "intents_per_tick": round(intents / ticks, 1),
    }
    if targets is not None:
        timing["autopilot_arrivals"] = arrived
        timing["cruising"] = int((zone.store.cruise[: zone.store.count] != 0).sum())
    return timing


def _time_esper(
    layout: ZoneLayout,
    ships: list[ShipSpec],
    seed: int,
    ticks: int,
    seconds: float,
    bar: Any,
) -> dict[str, Any]:
    from callister.bench.esper_peer import ESPER_VERSION, EsperPeer

    samples: list[float] = []
    stream = control_stream(ships, seed)
    with EsperPeer(layout, ships) as world:
        gc.collect()
        gc.freeze()  # the same GC treatment as the zone got: its 700k components are setup
        for _ in range(PEER_WARMUP_TICKS):
            world.step(next(stream))
            bar.update()
        box_ends = time.perf_counter() + seconds
        while len(samples) < ticks and (not samples or time.perf_counter() < box_ends):
            controls = next(stream)
            start = time.perf_counter()
            world.step(controls)
            samples.append((time.perf_counter() - start) * 1000.0)
            bar.update()
    timing: dict[str, float | None] = {**percentiles(samples, 3, mean=True)}
    if len(samples) < MIN_P99_SAMPLES:
        timing["p99"] = None  # too few ticks for a 99th percentile: see max
    return {
        "peer": {
            "name": "esper",
            "version": ESPER_VERSION,
            "ticks": len(samples),
            "time_boxed": len(samples) < ticks,
            "ms_per_tick": timing,
        },
        "peer_ticks": len(samples),
    }


def run_small_zones_bench(
    zones: int = 40, ships: int = 5, ticks: int = 200, seed: int = 1
) -> dict[str, Any]:
    """Time `Zone.step()` and `Zone.frame()` per zone in many small zones, as a server runs them.

    Each zone is the benchmark system holding `ships` ships (70 % in the asteroid fields);
    every tick each ship gets new controls with probability 0.1 (players steer a few times a
    second, not every tick). Steps and frames are timed one zone at a time, round-robin, so
    each zone's arrays are as cold as on a server stepping 40 zones in turn. Returns a
    JSON-ready dict with step_us and frame_us {p50, p99, mean, max} (microseconds per zone).
    """
    if zones < 1 or ships < 1 or ticks < 1:
        raise ValueError("zones, ships and ticks must be at least 1")
    layout = bench_layout(seed)
    rng = np.random.default_rng([seed, 4])
    fleet = [bench_ships(layout, ships, seed * 1000 + z) for z in range(zones)]
    built = [build_zone(layout, specs) for specs in fleet]
    step_us: list[float] = []
    frame_us: list[float] = []
    clock = time.perf_counter
    for tick in range(WARMUP_TICKS + ticks):
        for zone, specs in zip(built, fleet, strict=True):
            for s in specs:
                if rng.random() < 0.1:
                    thrust = float(rng.uniform(0.0, 1.0))
                    zone.submit(Input(s.owner, s.id, thrust, float(rng.uniform(-1, 1))))
            start = clock()
            zone.step()
            middle = clock()
            zone.frame()
            end = clock()
            if tick >= WARMUP_TICKS:
                step_us.append((middle - start) * 1e6)
                frame_us.append((end - middle) * 1e6)
    step = percentiles(step_us, 3, mean=True)
    frame = percentiles(frame_us, 3, mean=True)
    return {
        "zones": zones,
        "ships": ships,
        "ticks": ticks,
        "warmup_ticks": WARMUP_TICKS,
        "seed": seed,
        # rounded to 3 decimals of their unit: microseconds here
        "step_us": step,
        "frame_us": frame,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
