"""Benchmark of the agents: N NPC clones deciding in a world, and memory retrieval.

The agents run on the server's own code: `server.npcs.AgentRuntime` (the world's NPC runtime)
over real `Zone`s of generated star systems, with NPC clones made by `make_npc` and put in the
zones by `AgentRuntime.spawn_npc`, and intents going through an in-process bus to the zones as
`World.submit` sends them. Only the `World` around it is a small stand-in (`BenchHost`, a
`server.ports.Residents`, what the runtime reads of its world): no
database (the clones a server would store when they die or leave are counted, not written) and
no trading coroutines (a trader docking would start one off the tick; they are not run).

The workload (seeded):
- the first ceil(N / per_zone) star systems around sector (0, 0) of world `seed`, each a zone
  holding `per_zone` NPC clones (40 % traders, 30 % miners, 15 % pirates, 15 % patrols) in the
  hulls the server gives them, spread over the system;
- `occupied` of the zones have 2 player ships drifting in them; as on a server, only those zones
  are stepped (NPCs alone do not wake a zone) and only their agents think; a destroyed player
  ship is replaced (the player respawned);
- each tick, timed end to end, what the server's tick does for its agents: `AgentRuntime.tick`
  (the schedule, the views of the zones due built from the zones' columns by
  `AgentRuntime.zone_view`, sensing, scoring, deciding, `to_intents`, the intents published to
  the zones, re-steering between thoughts) and `AgentRuntime.after_step` for every stepped zone
  (hits, deaths and crimes fed to the clones). The zones' own steps are not timed (that is the
  simulation's budget: `callister bench sim`).

`ms_per_tick` is that cost per 20 Hz tick (wall clock), amortised over the cadence (most agents
think once a second or less); `cpu_ms_per_tick` is the same work in this thread's CPU time,
which other processes on a shared machine disturb less; `view_ms_per_tick` is the part spent
building views. `retrieval_ms` is one `MemoryStream.retrieve` (query embedding included) over
10,000 memories.
"""

from __future__ import annotations

import gc
import math
import platform
import sys
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Final, cast

import numpy as np

from callister.agents import Goal, MemoryStream, ZoneView
from callister.bench.systems import bench_systems
from callister.content import Content, load_content
from callister.server.bus import InProcessBus, intents_subject, zone_key
from callister.server.metrics import percentiles
from callister.server.npcs import HULL_FOR, AgentRuntime, NpcSpec, make_npc
from callister.server.ports import Pilot, ZoneHandle
from callister.sim import Destroyed, Hit, ShipState, Zone, ZoneLayout

if TYPE_CHECKING:
    from callister.economy import Economy
    from callister.server.writer import StoreWriter
    from callister.store import Store

WARMUP_TICKS: Final = 20
GOALS: Final = ((Goal.TRADER, 0.40), (Goal.MINER, 0.30), (Goal.PIRATE, 0.15), (Goal.PATROL, 0.15))
WORLD: Final = "bench"
FIRST_SHIP: Final = 1 << 40
PLAYER_ACCOUNT: Final = 1_000
PLAYER_HULL: Final = "shuttle"
ZONE_IDS: Final = 1 << 20  # projectile and wreck ids granted to each zone


class _Writes:
    """The store writer's place: counts what a server would write off the tick."""

    def __init__(self) -> None:
        self.queued = 0

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.queued += 1


class _NoDatabase:
    dialect = "bench (no)"  # the clone repository names its database in messages


class _NoStore:
    db = _NoDatabase()


class BenchHost:
    """What `AgentRuntime` reads of its `World` (`server.ports.Residents`), for a world of
    bench zones: the zones, pilots (none: players here have no sessions), the bus to the
    zones; and what the runtime is given besides (name, seed, content, a counting writer)."""

    def __init__(self, seed: int, content: Content) -> None:
        self.name = WORLD
        self.seed = seed
        self.content = content
        self.tick = 0
        self.zones: dict[str, ZoneHandle] = {}
        self.pilots: dict[int, Pilot] = {}
        self.ship_owner: dict[int, int] = {}
        self.homes: list[tuple[int, int, int]] = []
        self.frozen: set[str] = set()  # no game masters in a bench world
        self.gm_ships: dict[int, str] = {}
        self.bus = InProcessBus()
        self.store = _NoStore()
        self.writer = _Writes()
        self.tasks_skipped = 0

    def runtime(self) -> AgentRuntime:
        """The server's agent runtime over these zones. No database and no economy: what it
        would write is counted by `_Writes`, and trades (coroutines) are never run here."""
        return AgentRuntime(
            self,
            world_name=self.name,
            seed=self.seed,
            content=self.content,
            npc_density=1.0,
            store=cast("Store", self.store),
            writer=cast("StoreWriter", self.writer),
            economy=cast("Economy", None),
            ids=self,
            notify=self.notify,
        )

    async def next(self) -> int:
        """`ports.Ids`: the bench places its NPCs itself (`spawn_npc` with chosen ids)."""
        raise LookupError("the bench chooses its entity ids")

    def notify(self, account_id: int, msg_type: str, /, **fields: Any) -> None:
        """`ports.Notify`: nobody listens (no sockets)."""

    async def ensure_zone(self, x: int, y: int) -> ZoneHandle:
        """`World.ensure_zone`: every bench zone is loaded up front."""
        handle = self.zones.get(zone_key(self.name, x, y))
        if handle is None:
            raise LookupError(f"no bench zone at sector ({x}, {y})")
        return handle

    def ship_state(self, pilot: Pilot) -> ShipState | None:
        """`World.ship_state`: players here have no pilots."""
        return None

    def submit(self, key: str, intent: Any) -> None:
        """`World.submit`: an intent to a zone through the bus."""
        self.bus.publish(intents_subject(key), intent)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """`World.spawn` (trades after docking): not run here."""
        coro.close()
        self.tasks_skipped += 1


class BenchWorld:
    """The zones, their NPCs and players, and the server's agent runtime over them."""

    def __init__(self, agents: int, per_zone: int, occupied: float, seed: int) -> None:
        rng = np.random.default_rng([seed, 7])
        self.rng = rng
        content = load_content()
        self.host = BenchHost(seed, content)
        self.runtime = self.host.runtime()
        self.zones = max(1, math.ceil(agents / per_zone))
        self.handles: list[ZoneHandle] = []
        for z, system in enumerate(bench_systems(seed, self.zones)):
            layout = ZoneLayout.from_system(system)
            zone = Zone(layout)
            zone.grant_ids(range(FIRST_SHIP + (z + 1) * ZONE_IDS, FIRST_SHIP + (z + 2) * ZONE_IDS))
            key = zone_key(WORLD, system.x, system.y)
            handle = ZoneHandle(key=key, sector=(system.x, system.y), system=system, zone=zone)
            self.host.zones[key] = handle
            self.host.bus.subscribe(intents_subject(key), zone.submit)
            self.runtime.add_statics(handle)
            self.handles.append(handle)
        goals = rng.choice(len(GOALS), size=agents, p=[p for _, p in GOALS])
        for i in range(agents):
            handle = self.handles[min(i // per_zone, self.zones - 1)]
            x, y = self._somewhere(handle.zone.layout)
            goal = GOALS[int(goals[i])][0]
            spec = NpcSpec(i % per_zone, goal, HULL_FOR[goal], None, x, y)
            clone = make_npc(seed, WORLD, handle.sector[0], handle.sector[1], spec, 0)
            angle = float(rng.uniform(-math.pi, math.pi))
            self.runtime.spawn_npc(handle, clone, FIRST_SHIP + i, spec.hull, x, y, angle=angle)
        occupied_n = max(1, round(self.zones * occupied)) if occupied > 0 else 0
        picked = rng.choice(self.zones, size=occupied_n, replace=False).tolist()
        self.occupied = [self.handles[z] for z in sorted(picked)]
        self.players: dict[str, list[int]] = {h.key: [] for h in self.occupied}
        self.next_player = FIRST_SHIP - (1 << 30)
        for handle in self.occupied:
            for _ in range(2):
                self.add_player(handle)

    def _somewhere(self, layout: ZoneLayout) -> tuple[float, float]:
        r = self.rng.uniform(layout.star_radius + 1500.0, 0.8 * layout.radius)
        a = self.rng.uniform(0, 2 * math.pi)
        return float(r * math.cos(a)), float(r * math.sin(a))

    def add_player(self, handle: ZoneHandle) -> None:
        """A player's ship drifting through the zone (what wakes a zone and its agents)."""
        x, y = self._somewhere(handle.zone.layout)
        ship = self.next_player
        self.next_player += 1
        owner = PLAYER_ACCOUNT + len(self.players[handle.key])
        vx, vy = (float(v) for v in self.rng.normal(0, 40, 2))
        hull = self.host.content.hulls[PLAYER_HULL]
        handle.zone.add_ship(ship, owner, hull, x=x, y=y, vx=vx, vy=vy)
        self.players[handle.key].append(ship)

    def respawn_players(self) -> None:
        """Replace the player ships destroyed this tick (the players came back)."""
        for handle in self.occupied:
            ships = self.players[handle.key]
            alive = [s for s in ships if handle.zone.has_ship(s)]
            lost = len(ships) - len(alive)
            self.players[handle.key] = alive
            for _ in range(lost):
                self.add_player(handle)


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
    return {
        "memories": memories,
        "k": 5,
        "rounds": rounds,
        "retrieval_ms": percentiles(samples, 4, mean=True),
    }


def run_agents_bench(
    agents: int,
    ticks: int = 200,
    *,
    per_zone: int = 100,
    occupied: float = 0.5,
    memories: int = 10_000,
    retrievals: int = 200,
    seed: int = 1,
    progress: bool = False,
) -> dict[str, Any]:
    """Run the workload (module docstring) and return a JSON-ready dict: agents, zones,
    occupied_zones, ticks, ms_per_tick and cpu_ms_per_tick {p50, p99, max, mean},
    view_ms_per_tick (the same for building views), views_per_tick, thinks_per_tick,
    us_per_think, intents_per_tick, hits_per_tick, actions (counts), npcs_alive_end,
    store_writes_skipped, retrieval_ms {p50, p99, max, mean} and versions. ValueError for
    non-positive sizes or `occupied` outside 0..1."""
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
    runtime, bus = world.runtime, world.host.bus
    view_ms = [0.0]
    views = [0]
    build_view = runtime.zone_view

    def timed_view(handle: ZoneHandle, tick: int) -> ZoneView | None:
        t0 = time.perf_counter()
        view = build_view(handle, tick)
        view_ms[0] += (time.perf_counter() - t0) * 1e3
        views[0] += view is not None
        return view

    runtime.zone_view = timed_view  # type: ignore[method-assign]
    gc.collect()
    gc.freeze()
    samples: list[float] = []
    cpu: list[float] = []
    view_samples: list[float] = []
    thinks: list[int] = []
    view_counts: list[int] = []
    intents = hits = 0
    actions: dict[str, int] = {}
    try:
        for tick in range(1, WARMUP_TICKS + ticks + 1):
            thought, published = runtime.thought, bus.published
            view_ms[0], views[0] = 0.0, 0
            elapsed = used = 0.0
            t0, c0 = time.perf_counter(), time.thread_time()
            runtime.tick(tick)
            elapsed += time.perf_counter() - t0
            used += time.thread_time() - c0
            stepped_hits = 0
            for handle in world.occupied:
                events = handle.zone.step()  # the simulation: not the agents' budget
                stepped_hits += sum(isinstance(e, Hit | Destroyed) for e in events)
                t0, c0 = time.perf_counter(), time.thread_time()
                runtime.after_step(handle, events)
                elapsed += time.perf_counter() - t0
                used += time.thread_time() - c0
            world.respawn_players()
            if tick > WARMUP_TICKS:
                samples.append(elapsed * 1e3)
                cpu.append(used * 1e3)
                view_samples.append(view_ms[0])
                view_counts.append(views[0])
                thinks.append(runtime.thought - thought)
                intents += bus.published - published
                hits += stepped_hits
                for d in runtime.last.values():
                    if d.tick == tick:
                        actions[d.action.name] = actions.get(d.action.name, 0) + 1
            bar.update()
    finally:
        gc.unfreeze()
        bar.close()
        runtime.zone_view = build_view  # type: ignore[method-assign]
    total_thinks = max(1, sum(thinks))
    result: dict[str, Any] = {
        "agents": agents,
        "zones": world.zones,
        "occupied_zones": len(world.occupied),
        "per_zone": per_zone,
        "ticks": ticks,
        "warmup_ticks": WARMUP_TICKS,
        "seed": seed,
        "ms_per_tick": percentiles(samples, 4, mean=True),
        "cpu_ms_per_tick": percentiles(cpu, 4, mean=True),
        "view_ms_per_tick": percentiles(view_samples, 4, mean=True),
        "views_per_tick": round(float(np.mean(view_counts)), 2),
        "thinks_per_tick": round(float(np.mean(thinks)), 2),
        "us_per_think": round(1e3 * sum(samples) / total_thinks, 2),
        "intents_per_tick": round(intents / ticks, 2),
        "hits_per_tick": round(hits / ticks, 2),
        "actions": dict(sorted(actions.items(), key=lambda kv: -kv[1])),
        "npcs_alive_end": len(runtime.npcs),
        "store_writes_skipped": world.host.writer.queued,
    }
    result.update(time_retrieval(memories, retrievals, seed))
    result.update(python=platform.python_version(), numpy=np.__version__, gc="frozen after setup")
    return result
