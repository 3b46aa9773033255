"""Benchmark of the agents: N NPC clones deciding in a world, and memory retrieval.

The workload (seeded):
- N NPC clones (40 % traders, 30 % miners, 15 % pirates, 15 % patrols, personalities drawn
  from trait words) spread over zones of `per_zone` ships each; every zone is a 20 km system
  with 3 stations, 3 asteroid fields of 40 rocks, 2 jump links and a few wrecks;
- `occupied` of the zones have 2 player ships in them (the rest have none, so their agents do
  not think at all); ships drift with their velocities every tick, hulls vary, and every tick
  a few agents are attacked (an event: memory, mood, an immediate thought);
- each tick the server's side of the work is timed end to end: `AgentPool.step` (schedule,
  build the views of the zones due, sense, score, decide, explain), routing the attack events
  (`notice_ship`), and turning every decision into protocol intents (`to_intents`).

`ms_per_tick` is that cost per 20 Hz tick (wall clock), amortised over the cadence (most agents
think once a second or less); `cpu_ms_per_tick` is the same work in this thread's CPU time,
which other processes on a shared machine disturb less. `retrieval_ms` is one
`MemoryStream.retrieve` (query embedding included) over 10,000 memories.
"""

from __future__ import annotations

import gc
import math
import platform
import sys
import time
from functools import partial
from typing import Any, Final

import numpy as np

from callister.agents import (
    AgentPool,
    Clone,
    Goal,
    MemoryStream,
    Pose,
    Profile,
    SeenEvent,
    Skills,
    Stance,
    ZoneStatics,
    ZoneView,
    stance_for,
    to_intents,
)

WARMUP_TICKS: Final = 20
_TRAITS: Final = (
    "brave calm nervous anxious greedy kind friendly ruthless aggressive careful cautious "
    "reckless disciplined curious quiet talkative loyal stubborn"
)
TRAIT_POOL: Final = _TRAITS.split()
GOALS: Final = ((Goal.TRADER, 0.40), (Goal.MINER, 0.30), (Goal.PIRATE, 0.15), (Goal.PATROL, 0.15))
STRENGTH: Final = {Goal.TRADER: 0.8, Goal.MINER: 0.6, Goal.PIRATE: 1.5, Goal.PATROL: 2.0}
FIRST_SHIP: Final = 1 << 40
FIRST_CLONE: Final = 1 << 50
PLAYER_ACCOUNT: Final = 1_000


def summarise(samples_ms: list[float]) -> dict[str, float]:
    a = np.asarray(samples_ms, dtype=np.float64)
    return {
        "p50": round(float(np.percentile(a, 50)), 4),
        "p99": round(float(np.percentile(a, 99)), 4),
        "mean": round(float(a.mean()), 4),
        "max": round(float(a.max()), 4),
    }


def bench_statics(rng: np.random.Generator) -> ZoneStatics:
    stations = [
        (i, 8000.0 * math.cos(2 * math.pi * i / 3), 8000.0 * math.sin(2 * math.pi * i / 3), 400.0)
        for i in range(3)
    ]
    rocks = []
    for f in range(3):
        a = 2 * math.pi * (f + 0.5) / 3
        cx, cy = 12_000 * math.cos(a), 12_000 * math.sin(a)
        for _ in range(40):
            rr, ra = 1500 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
            rocks.append(
                (cx + rr * math.cos(ra), cy + rr * math.sin(ra), float(rng.integers(15, 90)), f)
            )
    return ZoneStatics.build(
        radius=20_000.0, stations=stations, rocks=rocks, links=((1, 0), (0, 1))
    )


class BenchWorld:
    """The zones' ship columns (one block of rows per zone) and the agent pool."""

    def __init__(self, agents: int, per_zone: int, occupied: float, seed: int) -> None:
        rng = np.random.default_rng([seed, 7])
        self.rng = rng
        self.zones = max(1, math.ceil(agents / per_zone))
        self.statics = [bench_statics(rng) for _ in range(min(self.zones, 8))]
        self.pool = AgentPool()
        n = agents
        self.zone_of = np.minimum(np.arange(n) // per_zone, self.zones - 1)
        self.ship = FIRST_SHIP + np.arange(n, dtype=np.int64)
        self.clone_ids = FIRST_CLONE + np.arange(n, dtype=np.int64)
        r = 18_000 * np.sqrt(rng.random(n))
        a = rng.uniform(0, 2 * math.pi, n)
        self.x = (r * np.cos(a)).astype(np.float32)
        self.y = (r * np.sin(a)).astype(np.float32)
        self.vx = rng.normal(0, 40, n).astype(np.float32)
        self.vy = rng.normal(0, 40, n).astype(np.float32)
        self.angle = rng.uniform(-math.pi, math.pi, n).astype(np.float32)
        self.hull = rng.uniform(0.3, 1.0, n).astype(np.float32)
        self.cargo = rng.uniform(0.0, 1.0, n).astype(np.float32)
        goals = rng.choice(len(GOALS), size=n, p=[p for _, p in GOALS])
        self.stance = np.zeros(n, np.int8)
        self.strength = np.zeros(n, np.float32)
        for i in range(n):
            goal = GOALS[int(goals[i])][0]
            traits = tuple(sorted(set(rng.choice(TRAIT_POOL, size=3).tolist())))
            profile = Profile(
                name=f"NPC {i}",
                traits=traits,
                skills=Skills(*(round(float(s), 3) for s in rng.uniform(0.1, 0.9, 4))),
            )
            clone = Clone.create(
                int(self.clone_ids[i]), profile, world="bench", goal=goal, max_memories=64
            )
            self.stance[i] = int(stance_for(clone))
            self.strength[i] = STRENGTH[goal] * float(rng.uniform(0.7, 1.3))
            self.pool.add(clone, ship=int(self.ship[i]), zone=int(self.zone_of[i]))
        occupied_n = max(1, round(self.zones * occupied)) if occupied > 0 else 0
        self.occupied = set(rng.choice(self.zones, size=occupied_n, replace=False).tolist())
        self.players = {
            z: [
                (float(rng.uniform(-15e3, 15e3)), float(rng.uniform(-15e3, 15e3))) for _ in range(2)
            ]
            for z in self.occupied
        }
        starts = np.searchsorted(self.zone_of, np.arange(self.zones + 1))
        self.slices = [slice(int(starts[z]), int(starts[z + 1])) for z in range(self.zones)]
        self.views_built = 0

    def drift(self) -> None:
        dt = np.float32(0.05)
        self.x += self.vx * dt
        self.y += self.vy * dt
        out = np.hypot(self.x, self.y) > 19_000
        self.vx[out] *= -1
        self.vy[out] *= -1

    def view_for(self, tick: int, zone: Any) -> ZoneView | None:
        if zone not in self.occupied:
            return None
        self.views_built += 1
        s = self.slices[zone]
        return ZoneView.build(
            zone,
            tick,
            self.statics[zone % len(self.statics)],
            ids=self.ship[s],
            owner=self.clone_ids[s],
            x=self.x[s],
            y=self.y[s],
            vx=self.vx[s],
            vy=self.vy[s],
            angle=self.angle[s],
            hull=self.hull[s],
            cargo=self.cargo[s],
            strength=self.strength[s],
            stance=self.stance[s],
            wrecks=((zone * 10 + 1, 500.0, -700.0),),
            players=self.players[zone],
        )

    def attacks(self, tick: int, per_tick: int) -> list[tuple[int, SeenEvent]]:
        victims = self.rng.integers(0, self.ship.size, per_tick)
        out = []
        for v in victims:
            attacker = int(self.rng.integers(0, self.ship.size))
            ev = SeenEvent(
                "attacked", tick, actor=int(self.clone_ids[attacker]), target=int(self.ship[v])
            )
            out.append((int(self.ship[v]), ev))
        return out


_WORDS: Final = (
    "pirate trader miner station attacked docked mined ore fled patrol crime wreck loot "
    "jump hull shield credits cargo sold bought engine asteroid field danger friend enemy"
)


def bench_memories(n: int, seed: int) -> MemoryStream:
    rng = np.random.default_rng([seed, 9])
    words = _WORDS.split()
    stream = MemoryStream(max_memories=max(16, n))
    for i in range(n):
        text = " ".join(rng.choice(words, 7)) + f" #{int(rng.integers(200))}"
        stream.add(
            i * 10,
            text,
            importance=float(rng.integers(1, 11)),
            entities=(int(rng.integers(200)),),
            event=str(rng.choice(words)),
            compact=False,
        )
    return stream


def time_retrieval(memories: int, rounds: int, seed: int) -> dict[str, Any]:
    stream = bench_memories(memories, seed)
    queries = ["who attacked us near the station?", "where is good ore", "pirate #42", "credits"]
    now = memories * 10
    for q in queries:
        stream.retrieve(q, now, 5)
    samples = []
    for i in range(rounds):
        t0 = time.perf_counter()
        stream.retrieve(queries[i % len(queries)], now + i, 5)
        samples.append((time.perf_counter() - t0) * 1e3)
    return {"memories": memories, "k": 5, "rounds": rounds, "retrieval_ms": summarise(samples)}


def run_agents_bench(
    agents: int,
    ticks: int = 200,
    *,
    per_zone: int = 100,
    occupied: float = 0.5,
    attacks_per_tick: int = 2,
    memories: int = 10_000,
    retrievals: int = 200,
    seed: int = 1,
    progress: bool = False,
) -> dict[str, Any]:
    """Run the workload (module docstring) and return a JSON-ready dict: agents, zones,
    occupied_zones, ticks, ms_per_tick {p50, p99, mean, max}, thinks_per_tick, us_per_think,
    actions (counts), retrieval_ms {p50, p99, mean, max} and versions."""
    if agents < 1 or ticks < 1 or per_zone < 1 or memories < 1 or retrievals < 1:
        raise ValueError("agents, ticks, per_zone, memories and retrievals must be >= 1")
    if not 0.0 <= occupied <= 1.0:
        raise ValueError("occupied must be within 0..1")
    from tqdm import tqdm

    bar = tqdm(
        total=ticks + WARMUP_TICKS,
        desc="bench agents",
        unit="tick",
        file=sys.stderr,
        disable=not progress,
    )
    world = BenchWorld(agents, per_zone, occupied, seed)
    pool = world.pool
    gc.collect()
    gc.freeze()
    samples: list[float] = []
    cpu: list[float] = []
    thinks: list[int] = []
    intents = 0
    actions: dict[str, int] = {}
    try:
        for tick in range(1, WARMUP_TICKS + ticks + 1):
            world.drift()
            events = world.attacks(tick, attacks_per_tick)
            t0 = time.perf_counter()
            c0 = time.thread_time()
            for ship, ev in events:
                pool.notice_ship(ship, ev)
            decisions = pool.step(tick, partial(world.view_for, tick))
            for d in decisions:
                i = d.ship - FIRST_SHIP
                pose = Pose(
                    float(world.x[i]),
                    float(world.y[i]),
                    float(world.vx[i]),
                    float(world.vy[i]),
                    float(world.angle[i]),
                )
                intents += len(to_intents(d, pose))
            elapsed = (time.perf_counter() - t0) * 1e3
            used = (time.thread_time() - c0) * 1e3
            if tick > WARMUP_TICKS:
                samples.append(elapsed)
                cpu.append(used)
                thinks.append(len(decisions))
                for d in decisions:
                    actions[d.action.name] = actions.get(d.action.name, 0) + 1
            bar.update()
    finally:
        gc.unfreeze()
        bar.close()
    total_thinks = max(1, sum(thinks))
    result: dict[str, Any] = {
        "agents": agents,
        "zones": world.zones,
        "occupied_zones": len(world.occupied),
        "per_zone": per_zone,
        "ticks": ticks,
        "warmup_ticks": WARMUP_TICKS,
        "seed": seed,
        "ms_per_tick": summarise(samples),
        "cpu_ms_per_tick": summarise(cpu),
        "thinks_per_tick": round(float(np.mean(thinks)), 2),
        "us_per_think": round(1e3 * sum(samples) / total_thinks, 2),
        "intents_per_tick": round(intents / (ticks + WARMUP_TICKS), 2),
        "attacks_per_tick": attacks_per_tick,
        "actions": dict(sorted(actions.items(), key=lambda kv: -kv[1])),
    }
    result.update(time_retrieval(memories, retrievals, seed))
    result.update(python=platform.python_version(), numpy=np.__version__, gc="frozen after setup")
    return result


__all__ = ["Stance", "run_agents_bench", "run_cli"]


def run_cli(args: Any) -> int:
    """`callister bench agents` (registered in cli/bench_cmd.py)."""
    from callister.cli.common import emit_json

    result = run_agents_bench(
        args.agents, args.ticks, occupied=args.occupied, seed=args.seed, progress=not args.json
    )
    emit_json(result)
    if not args.json:
        print("(record this in docs/benchmarks.md with the command line)", file=sys.stderr)
    return 0
