"""`callister bench cluster`: the cluster (issue 7) under load, with its comparisons measured in
the same run.

Everything is real processes on this machine: a private nats-server with JetStream
(`NatsProcess`), `callister worker` and `callister gateway` processes, the real PostgreSQL (a
fresh schema per phase, dropped afterwards), and `callister bots` processes (one per gateway)
as the players, speaking protocol v1 or v2 (`protocol`, passed to every `callister bots`
process of both phases and recorded in the output). Phases:

1. **cluster**: W workers, G gateways, N bots split over the gateways, jumping every few
   seconds between systems (placement spreads the zones over the workers, so many jumps are
   hand-offs between workers). Over a window of `seconds` that starts once the bots are
   connected: the workers' tick times (pooled, and the worst worker's p99), the hand-off
   latencies (departure commit on one worker to arrival applied on another), and the CPU of
   every Callister process (workers + gateways; not the bots, not nats-server, not
   PostgreSQL) per connected player-second (the gateways' connection counts, sampled).
2. **single**: `callister serve` on its own fresh PostgreSQL schema with the same bots, the
   same window and the same settings: the single-process default's CPU per player-second,
   hence ``cost_ratio`` = cluster / single.
3. **zone scaling** (``zone_scaling=True``): no sockets. Busy zones are created inside the
   workers (`cluster/synthetic.py`: `ships_per_zone` synthetic ships per zone, flying) and the
   largest number of zones at which the worst worker's p99 tick stays within
   `p99_threshold_ms` is searched for 1 worker, then for 2 workers (zones spread evenly).

Settings for every process: `bench_env()` plus no NPCs and no PvP (nothing dies, so every ship
keeps its id and every run does the same work) and a 3 s lease TTL.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from callister.bench.net import bench_env, bots_command
from callister.bots.client import check_protocol
from callister.cluster.nats_bus import connect
from callister.cluster.procs import Cluster, NatsProcess, get_json
from callister.cluster.subjects import BENCH, bench_subject
from callister.server.bus import zone_key
from callister.server.metrics import percentiles
from callister.server.settings import Settings
from callister.server.universe_cache import UniverseCache

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
SETTLE_S = 2.0  # after the bots are connected (or zones added): let queues and JITs settle
CONNECT_TIMEOUT_S = 60.0  # beyond the ramp, how long to wait for the bots to connect
EXTRA_FLIGHT_S = 12.0  # bots fly this much longer than the window (start-up, settle)
SAMPLE_EVERY_S = 0.5  # gateway connection counts are sampled this often
HANDOFF_TARGET_MS = 100.0
COST_TARGET = 1.3
SCALING_TARGET = 1.7


def cluster_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return bench_env(
        {
            "CALLISTER_NPC_DENSITY": "0",
            "CALLISTER_PVP": "false",
            "CALLISTER_LEASE_TTL_S": "3",
            "CALLISTER_LOG_LEVEL": "warning",
            **(extra or {}),
        }
    )


Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def _stderr(text: str) -> None:
    print(f"[bench cluster {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- resources


class Schemas:
    """Fresh PostgreSQL schemas (`<url>?schema=NAME`), dropped at the end."""

    def __init__(self, pg: str) -> None:
        self.pg = pg
        self.names: list[str] = []

    def new(self, tag: str) -> str:
        name = f"bench_{tag}_{uuid.uuid4().hex[:10]}"
        self.names.append(name)
        sep = "&" if "?" in self.pg else "?"
        return f"{self.pg}{sep}schema={name}"

    def drop_all(self) -> None:
        if not self.names:
            return
        with psycopg.connect(self.pg, autocommit=True) as conn:
            for name in self.names:
                conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        self.names.clear()


# ------------------------------------------------------------------------- bots, window


@dataclass
class Window:
    """What one load phase measured between its start and its end."""

    seconds: float = 0.0
    cpu_s: float = 0.0
    player_s: float = 0.0
    connections: list[int] = field(default_factory=list)
    cpu_by_process: dict[str, float] = field(default_factory=dict)
    """Each measured process's CPU seconds in the window (where a cluster's cost goes)."""
    probe_failures: int = 0
    """/healthz probes that did not answer in time (the last count answered stood in)."""

    @property
    def cpu_ms_per_player_s(self) -> float:
        return 1000.0 * self.cpu_s / self.player_s if self.player_s > 0 else float("nan")

    def role_ms_per_player_s(self, prefix: str) -> float:
        """CPU ms per player-second of the processes named `prefix`... (w: workers, g:
        gateways: where the cost of a player goes)."""
        cpu = sum(v for k, v in self.cpu_by_process.items() if k.startswith(prefix))
        return round(1000.0 * cpu / self.player_s, 3) if self.player_s > 0 else float("nan")

    def figures(self) -> dict[str, Any]:
        """The figures a phase reports of its window."""
        return {
            "cpu_s": round(self.cpu_s, 2),
            "cpu_s_by_process": {k: round(v, 2) for k, v in self.cpu_by_process.items()},
            "player_s": round(self.player_s, 1),
            "window_s": round(self.seconds, 2),
            "probe_failures": self.probe_failures,
        }


@dataclass(frozen=True)
class BotLoad:
    """The bots both phases run: `clients` flying (and jumping every `jump_every` s) for a
    measured `seconds`, connecting over `ramp` seconds, speaking wire protocol `protocol`."""

    clients: int
    seconds: float
    jump_every: float
    ramp: float
    protocol: int = 1


@dataclass(frozen=True)
class Site:
    """Where a phase runs: a database (schema) and a log directory of its own, the processes'
    environment, and where its progress goes."""

    db: str
    workdir: Path
    env: dict[str, str]
    progress: Progress


def bots_commands(urls: list[str], load: BotLoad, seconds: float) -> list[list[str]]:
    """The `callister bots` command lines of a phase: one per URL (none for a URL left without
    a client), `load.clients` split evenly between them, flying `seconds`."""
    commands = []
    for i, url in enumerate(urls):
        count = load.clients // len(urls) + (1 if i < load.clients % len(urls) else 0)
        if count == 0:
            continue
        extra = ("--jump-every", str(load.jump_every), "--protocol", str(load.protocol))
        commands.append(bots_command(url, count, seconds, load.ramp, *extra))
    return commands


def start_bots(
    urls: list[str], load: BotLoad, seconds: float, log_dir: Path
) -> list[subprocess.Popen[str]]:
    """One `callister bots` process per URL (`bots_commands`)."""
    procs = []
    for i, cmd in enumerate(bots_commands(urls, load, seconds)):
        err = (log_dir / f"bots-{i}.log").open("w")
        procs.append(
            subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True
            )
        )
    return procs


def collect_bots(procs: list[subprocess.Popen[str]], timeout: float) -> dict[str, Any]:
    """Wait for the bots and add up their summaries."""
    total: dict[str, Any] = {"bots": 0, "connected": 0, "errors": 0, "jumps": 0, "snapshots": 0}
    failures: list[str] = []
    codes: dict[str, int] = {}
    intervals: list[float] = []
    for proc in procs:
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        if not out.strip():
            failures.append(f"bots exited {proc.returncode} without a summary")
            continue
        summary = json.loads(out)
        for key in total:
            total[key] += int(summary.get(key, 0))
        failures += summary.get("failures", [])
        for code, n in summary.get("error_codes", {}).items():
            codes[code] = codes.get(code, 0) + int(n)
        intervals.append(float(summary.get("snapshot_interval_ms", {}).get("p99", 0.0)))
    total["failures"] = failures[:5]
    total["error_codes"] = codes
    total["snapshot_interval_p99_ms"] = max(intervals, default=0.0)
    return total


def measure_window(
    cluster: Cluster,
    cpu_names: list[str],
    conn_names: list[str],
    clients: int,
    seconds: float,
    deadline: float,
    progress: Progress,
    on_start: Callable[[], object] = lambda: None,
) -> Window:
    """Wait until the bots are connected (or `deadline`), settle, then measure `seconds`: the
    CPU of `cpu_names`, and connected player-seconds from `conn_names`' /healthz
    connection counts."""

    last: dict[str, int] = {}
    failures = [0]

    def connections() -> int:
        # a process too busy to answer within the probe's timeout still holds its clients: its
        # last answer stands in (counting it as 0 made player-seconds vanish and the CPU per
        # player-second soar on a loaded machine: 488 ms for a real ~3)
        total = 0
        for name in conn_names:
            try:
                last[name] = int(cluster.health(name).get("connections", 0))
            except OSError:  # (timeouts included) a busy process answers next time
                failures[0] += 1
            total += last.get(name, 0)
        return total

    while time.monotonic() < deadline:
        if connections() >= clients:
            break
        time.sleep(0.5)
    progress(f"{connections()}/{clients} clients connected; measuring {seconds:.0f} s")
    time.sleep(SETTLE_S)
    on_start()
    window = Window()
    cpu0, t0 = {name: cluster.cpu_seconds([name]) for name in cpu_names}, time.monotonic()
    last_t, last_n = t0, connections()
    end = t0 + seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        time.sleep(min(SAMPLE_EVERY_S, end - now))
        n, now = connections(), time.monotonic()
        window.player_s += (now - last_t) * (n + last_n) / 2.0  # trapezoids
        window.connections.append(n)
        last_t, last_n = now, n
    window.cpu_by_process = {
        name: cluster.cpu_seconds([name]) - start for name, start in cpu0.items()
    }
    window.cpu_s = sum(window.cpu_by_process.values())
    window.probe_failures = failures[0]
    window.seconds = time.monotonic() - t0
    return window


def fly_bots(
    cluster: Cluster,
    load: BotLoad,
    urls: list[str],
    cpu_names: list[str],
    conn_names: list[str],
    workdir: Path,
    progress: Progress,
    on_start: Callable[[], object],
) -> tuple[Window, list[subprocess.Popen[str]]]:
    """Start the bots over `urls` and measure the window (`measure_window`); the bots are
    still flying when it returns (`land_bots`)."""
    bots = start_bots(urls, load, load.seconds + EXTRA_FLIGHT_S, workdir)
    deadline = time.monotonic() + load.ramp + CONNECT_TIMEOUT_S
    window = measure_window(
        cluster, cpu_names, conn_names, load.clients, load.seconds, deadline, progress, on_start
    )
    return window, bots


def land_bots(
    bots: list[subprocess.Popen[str]], load: BotLoad, progress: Progress
) -> dict[str, Any]:
    """Wait for the bots `fly_bots` started; their summaries added up."""
    progress("window done; waiting for the bots to finish")
    return collect_bots(bots, timeout=EXTRA_FLIGHT_S + load.ramp + 120)


# --------------------------------------------------------------------- worker requests


async def _bench_requests(
    server: NatsProcess, requests: list[tuple[str, dict[str, Any]]], timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Send `cl.bench.<worker>` requests (concurrently, as the bench role); their JSON
    replies, in order. The workers serve them only when started with --bench-spawn."""
    nc = await connect(server.url, name="bench cluster", auth=server.auth(BENCH))
    try:

        async def one(worker: str, body: dict[str, Any]) -> dict[str, Any]:
            msg = await nc.request(bench_subject(worker), json.dumps(body).encode(), timeout)
            reply = json.loads(msg.data)
            return reply if isinstance(reply, dict) else {"ok": False}

        return list(await asyncio.gather(*(one(w, b) for w, b in requests)))
    finally:
        await nc.close()


def bench_requests(
    server: NatsProcess, requests: list[tuple[str, dict[str, Any]]], timeout: float = 30.0
) -> list[dict[str, Any]]:
    return asyncio.run(_bench_requests(server, requests, timeout))


# --------------------------------------------------------------------------- phase 1


def run_cluster_phase(
    *,
    workers: int,
    gateways: int,
    load: BotLoad,
    site: Site,
) -> dict[str, Any]:
    workdir, progress = site.workdir, site.progress
    nats_proc = NatsProcess(workdir / "nats")
    nats_proc.start()
    cluster = Cluster(site.db, nats_proc.url, workdir, site.env, nats_proc.keys)
    try:
        worker_names = [f"w{i + 1}" for i in range(workers)]
        gateway_names = [f"g{i + 1}" for i in range(gateways)]
        for name in worker_names:
            cluster.start("worker", name, args=("--bench-spawn",))
        for name in worker_names:
            cluster.wait_healthy(name)
        for name in gateway_names:
            cluster.start("gateway", name)
        for name in gateway_names:
            cluster.wait_healthy(name)
            cluster.wait_workers(name, workers)
        progress(
            f"cluster up: {workers} workers, {gateways} gateways; starting {load.clients} bots"
        )
        window, bots = fly_bots(
            cluster,
            load,
            [cluster.procs[g].ws for g in gateway_names],
            worker_names + gateway_names,
            gateway_names,
            workdir,
            progress,
            on_start=lambda: bench_requests(nats_proc, [(w, {"mark": True}) for w in worker_names]),
        )
        stats = bench_requests(nats_proc, [(w, {"stats": True}) for w in worker_names])
        zones = sorted({z for s in stats for z in s.get("zones", {})})
        seen = land_bots(bots, load, progress)
    finally:
        cluster.stop_all()
        nats_proc.stop()
    ticks = [ms for s in stats for ms in s.get("tick_samples_ms", [])]
    handoffs = [ms for s in stats for ms in s.get("handoff_samples_ms", [])]
    stages: dict[str, list[float]] = {}
    for s in stats:
        for name, samples in s.get("handoff_stage_samples_ms", {}).items():
            stages.setdefault(name, []).extend(samples)
    worst = max(stats, key=lambda s: float(s["tick_ms"]["p99"]))
    return {
        "window": window,
        "zones": len(zones),
        "zones_per_worker": {s["worker"]: len(s.get("zones", {})) for s in stats},
        "tick_ms": {
            **percentiles(ticks, 3),
            "worst_worker": {
                "name": worst["worker"],
                "p99": round(float(worst["tick_ms"]["p99"]), 3),
            },
            "per_worker": {
                s["worker"]: {k: round(float(v), 3) for k, v in s["tick_ms"].items()} for s in stats
            },
        },
        "handoff_ms": {
            **percentiles(handoffs, 3),
            "count": len(handoffs),
            # where the time goes (cluster/world.py: depart, publish, transit, arrive, land)
            "stages": {name: percentiles(v, 3) for name, v in sorted(stages.items())},
        },
        "bots": seen,
    }


# --------------------------------------------------------------------------- phase 2


def run_single_phase(
    *,
    load: BotLoad,
    bot_processes: int,
    site: Site,
) -> dict[str, Any]:
    workdir, progress = site.workdir, site.progress
    cluster = Cluster(site.db, "", workdir, site.env)
    try:
        cluster.start("serve", "serve")
        start_tick = int(cluster.wait_healthy("serve").get("tick", 0))
        progress(f"single process up; starting {load.clients} bots")
        marks: dict[str, int] = {}

        def mark() -> None:
            marks["tick"] = int(cluster.health("serve").get("tick", start_tick))

        urls = [cluster.procs["serve"].ws] * bot_processes
        window, bots = fly_bots(
            cluster, load, urls, ["serve"], ["serve"], workdir, progress, on_start=mark
        )
        health = get_json(f"{cluster.procs['serve'].url}/healthz?since_tick={marks['tick']}")
        seen = land_bots(bots, load, progress)
    finally:
        cluster.stop_all()
    return {
        "window": window,
        "zones": int(health.get("zones_loaded", 0)),
        "tick_ms": {k: round(float(v), 3) for k, v in health.get("tick_ms", {}).items()},
        "bots": seen,
    }


# --------------------------------------------------------------------------- phase 3


def busy_sectors(seed: int, count: int) -> Iterator[tuple[int, int]]:
    """Sectors that hold a star system, in rings around the origin."""
    universe = UniverseCache(seed)
    found = 0
    r = 0
    try:
        while found < count:
            ring = (
                [(0, 0)]
                if r == 0
                else [(x, y) for x in range(-r, r + 1) for y in (-r, r)]
                + [(x, y) for x in (-r, r) for y in range(-r + 1, r)]
            )
            for x, y in ring:
                if found < count and universe.get_blocking(x, y) is not None:
                    found += 1
                    yield x, y
            r += 1
    finally:
        universe.close()


class ZoneLoad:
    """Busy synthetic zones spread evenly (round robin) over a set of workers."""

    def __init__(
        self, server: NatsProcess, workers: list[str], zones: list[str], ships: int
    ) -> None:
        self.server, self.workers, self.all_zones, self.ships = server, workers, zones, ships
        self.loaded: list[tuple[str, str]] = []  # (zone, worker), in order

    def set_count(self, n: int) -> int:
        """Load (or clear) zones until `n` are busy; returns how many were added."""
        if n > len(self.all_zones):
            raise ValueError(f"only {len(self.all_zones)} zones prepared")
        requests: list[tuple[str, dict[str, Any]]] = []
        while len(self.loaded) > n:
            zone, worker = self.loaded.pop()
            requests.append((worker, {"clear": True, "zone": zone}))
        while len(self.loaded) < n:
            zone = self.all_zones[len(self.loaded)]
            worker = self.workers[len(self.loaded) % len(self.workers)]
            self.loaded.append((zone, worker))
            requests.append((worker, {"zone": zone, "ships": self.ships}))
        for reply in bench_requests(self.server, requests, timeout=120.0):
            if not reply.get("ok"):
                raise RuntimeError(f"zone load request failed: {reply}")
        return sum(1 for _, body in requests if "ships" in body)

    def measure(self, window_s: float, added: int = 0) -> dict[str, Any]:
        # a loaded zone has its neighbours generated in a thread for a while (prefetch), which
        # competes for the GIL with the tick: let that finish before measuring
        time.sleep(SETTLE_S + min(10.0, 0.04 * added))
        bench_requests(self.server, [(w, {"mark": True}) for w in self.workers])
        time.sleep(window_s)
        stats = bench_requests(self.server, [(w, {"stats": True}) for w in self.workers])
        worst = max(stats, key=lambda s: float(s["tick_ms"]["p99"]))
        return {
            "zones": len(self.loaded),
            "worst_worker": worst["worker"],
            "worst_p99": round(float(worst["tick_ms"]["p99"]), 3),
            "p50": round(max(float(s["tick_ms"]["p50"]) for s in stats), 3),
            "per_worker": {
                s["worker"]: {
                    "zones": sum(1 for v in s["zones"].values() if v),
                    "p50": round(float(s["tick_ms"]["p50"]), 3),
                    "p99": round(float(s["tick_ms"]["p99"]), 3),
                }
                for s in stats
            },
        }


def capacity(
    load: ZoneLoad, threshold_ms: float, window_s: float, start: int, progress: Progress
) -> tuple[int, list[dict[str, Any]]]:
    """The most zones whose worst-worker p99 tick is within `threshold_ms`: doubling from
    `start` until a count fails, then bisection between the last pass and the first fail."""
    trace: list[dict[str, Any]] = []
    limit = len(load.all_zones)

    def ok(n: int) -> bool:
        added = load.set_count(n)
        # a miss is measured again: one spike from a neighbour on the machine is not a
        # verdict (the same rule for 1 and 2 workers)
        for attempt in range(2):
            m = load.measure(window_s, added if attempt == 0 else 0)
            m["attempt"] = attempt + 1
            trace.append(m)
            progress(
                f"  {n} zones on {len(load.workers)} worker(s): worst p99 {m['worst_p99']} ms"
                f" (p50 {m['p50']} ms)"
            )
            if m["worst_p99"] <= threshold_ms:
                return True
        return False

    good, bad = 0, None
    n = min(max(1, start), limit)
    while True:
        if ok(n):
            good = n
            if n == limit:
                break
            n = min(n * 2, limit)
        else:
            bad = n
            break
    if bad is None:
        return good, trace  # never failed within the prepared zones
    while bad - good > max(1, good // 20):  # to within 5 %
        mid = (good + bad) // 2
        if ok(mid):
            good = mid
        else:
            bad = mid
    return good, trace


def run_zone_scaling(
    *,
    ships_per_zone: int,
    threshold_ms: float,
    window_s: float,
    max_zones: int,
    start_zones: int,
    schemas: Schemas,
    workdir: Path,
    env: dict[str, str],
    progress: Progress,
) -> dict[str, Any]:
    seed = Settings().world_seed
    world = env.get("CALLISTER_WORLD_NAME", Settings().world_name)
    seed = int(env.get("CALLISTER_WORLD_SEED", seed))
    zones = [zone_key(world, x, y) for x, y in busy_sectors(seed, max_zones)]
    results: dict[int, dict[str, Any]] = {}
    for count in (1, 2):
        tag = f"zones{count}"
        nats_proc = NatsProcess(workdir / f"{tag}-nats")
        nats_proc.start()
        cluster = Cluster(schemas.new(tag), nats_proc.url, workdir / tag, env, nats_proc.keys)
        try:
            names = [f"z{i + 1}" for i in range(count)]
            for name in names:
                cluster.start("worker", name, args=("--bench-spawn",))
            for name in names:
                cluster.wait_healthy(name)
            progress(f"zone scaling: {count} worker(s), {ships_per_zone} ships per zone")
            load = ZoneLoad(nats_proc, names, zones, ships_per_zone)
            best, trace = capacity(load, threshold_ms, window_s, start_zones * count, progress)
            results[count] = {"zones": best, "trace": trace}
        finally:
            cluster.stop_all()
            nats_proc.stop()
    one, two = results[1]["zones"], results[2]["zones"]
    return {
        "one_worker_zones": one,
        "two_worker_zones": two,
        "ratio": round(two / one, 3) if one else None,
        "p99_threshold_ms": threshold_ms,
        "ships_per_zone": ships_per_zone,
        "window_s": window_s,
        "target_ratio": SCALING_TARGET,
        "met": bool(one and two / one >= SCALING_TARGET),
        "trace": {"one_worker": results[1]["trace"], "two_workers": results[2]["trace"]},
        "capped": two >= max_zones or one >= max_zones,
    }


# --------------------------------------------------------------------------- the bench


def run_cluster_bench(
    workers: int,
    gateways: int,
    clients: int,
    seconds: float = 30.0,
    *,
    jump_every: float = 5.0,
    protocol: int = 1,
    single: bool = True,
    players: bool = True,
    zone_scaling: bool = False,
    ships_per_zone: int = 200,
    p99_threshold_ms: float = 25.0,
    scaling_window_s: float = 10.0,
    max_zones: int = 600,
    start_zones: int = 8,
    pg: str = DEFAULT_PG,
    workdir: Path | None = None,
    keep: bool = False,
    progress: bool = False,
    edge_views: bool = True,
    edge_min_players: int = Settings.edge_views_min_players,
) -> dict[str, Any]:
    """`edge_views`: the gateways build their v2 players' views (cluster/edge.py), in zones
    with at least `edge_min_players` such players."""
    if workers < 1 or gateways < 1 or clients < 1 or seconds <= 0:
        raise ValueError("--workers, --gateways and --clients must be >= 1 and --seconds > 0")
    if edge_min_players < 0:
        raise ValueError("--edge-min-players must be >= 0")
    check_protocol(protocol)
    say: Progress = _stderr if progress else _quiet
    root = Path(tempfile.mkdtemp(prefix="callister-cluster-bench-", dir=workdir))
    schemas = Schemas(pg)
    env = cluster_env()
    env["CALLISTER_EDGE_VIEWS"] = "true" if edge_views else "false"
    env["CALLISTER_EDGE_VIEWS_MIN_PLAYERS"] = str(edge_min_players)
    ramp = min(20.0, max(1.0, clients / 25.0))
    load = BotLoad(clients, seconds, jump_every, ramp, protocol)
    result: dict[str, Any] = {
        "workers": workers,
        "gateways": gateways,
        "clients": clients,
        "seconds": seconds,
        "jump_every_s": jump_every,
        "protocol": protocol,  # the wire protocol the bots spoke, in both phases
        "edge_views": edge_views,  # the gateways built v2 views (with protocol 2 only)
        "edge_views_min_players": edge_min_players,  # ... in zones with this many players
        "db": "postgresql",
    }
    ok = False

    def site(phase: str) -> Site:
        return Site(schemas.new(phase), root / phase, env, say)

    try:
        if players:
            c = run_cluster_phase(
                workers=workers, gateways=gateways, load=load, site=site("cluster")
            )
            w: Window = c["window"]
            result.update(
                zones=c["zones"],
                zones_per_worker=c["zones_per_worker"],
                connected=c["bots"]["connected"],
                tick_ms=c["tick_ms"],
                handoff_ms=c["handoff_ms"],
                cpu_ms_per_player_s=round(w.cpu_ms_per_player_s, 3),
                workers_cpu_ms_per_player_s=w.role_ms_per_player_s("w"),
                gateways_cpu_ms_per_player_s=w.role_ms_per_player_s("g"),
                **w.figures(),
                bots=c["bots"],
            )
            result["handoff_p99_target_ms"] = HANDOFF_TARGET_MS
            result["handoff_met"] = bool(
                c["handoff_ms"]["count"] > 0 and c["handoff_ms"]["p99"] <= HANDOFF_TARGET_MS
            )
            if single:
                s = run_single_phase(load=load, bot_processes=gateways, site=site("single"))
                sw: Window = s["window"]
                result["single"] = {
                    "connected": s["bots"]["connected"],
                    "zones": s["zones"],
                    "tick_ms": s["tick_ms"],
                    **sw.figures(),
                    "bots": s["bots"],
                }
                result["single_cpu_ms_per_player_s"] = round(sw.cpu_ms_per_player_s, 3)
                result["cost_ratio"] = round(w.cpu_ms_per_player_s / sw.cpu_ms_per_player_s, 3)
                result["cost_ratio_target"] = COST_TARGET
                result["cost_met"] = bool(result["cost_ratio"] <= COST_TARGET)
        if zone_scaling:
            result["zone_scaling"] = run_zone_scaling(
                ships_per_zone=ships_per_zone,
                threshold_ms=p99_threshold_ms,
                window_s=scaling_window_s,
                max_zones=max_zones,
                start_zones=start_zones,
                schemas=schemas,
                workdir=root,
                env=env,
                progress=say,
            )
        ok = True
    finally:
        schemas.drop_all()
        if ok and not keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            say(f"process logs kept in {root}")
    return result
