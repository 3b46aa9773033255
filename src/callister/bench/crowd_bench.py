"""`callister bench crowd`: issue 17's canonical crowd workload against a real server.

Starts `callister serve` (a fresh temporary SQLite database, cheap password hashing, protocol v2
updates at 20 Hz: `snapshot_hz` 20, sensor radius 1,500 m, no NPCs) and runs the load generator
(`bench/crowd_load.py`) in worker processes of its own. Every client registers and says hello
with v 2; then a game master (an administrator the bench creates with `callister admin user
create`) teleports them with the server's own GM command (`POST /api/worlds/<world>/gm`, op
`teleport`, docs/protocol.md "Game masters"): N ships into one disc of radius
5,000 m * sqrt(N / 1000) in open space of one system, and one observer ship alone into another
system. Then every client walks at 10 Hz and reads its updates.

The report is the load generator's (clients, connected, updates_per_client_per_s,
update_interval_ms, bytes_per_update, visible_per_client, server_cpu_ms_per_client_s,
loadgen_cpu_percent, other_zone_tick_hz, ...) with `tick_ms` the crowded system's own step time
(simulation and every view of it) over the run, and `zones`: both systems' own clocks as the
server reports them (/healthz?zone=).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from callister.bench.crowd import SENSOR_RADIUS_M, UPDATE_HZ, open_space
from callister.bench.crowd_load import LoadConfig, Placement, run_crowd_load
from callister.bench.net import bench_env, free_port, stop_server, wait_healthy


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


_GC_METRIC = re.compile(r"^(callister_gc_\w+) ([0-9.eE+-]+)$", re.M)


def _collector(heap: list[tuple[float, dict[str, str]]], settle_s: float) -> dict[str, Any]:
    """The server's garbage collections over the measured window (server/heap.py's metrics):
    how many, how many middle and full, the seconds paused, and the longest middle and full
    pauses seen (each generation's last pause, read once a second: a pause shows when its
    generation's count grew)."""
    window = [x for x in heap if heap and x[0] >= heap[0][0] + settle_s] or heap
    if len(window) < 2:
        return {}
    first, last = window[0][1], window[-1][1]

    def grew(name: str) -> float:
        return float(last.get(name, 0)) - float(first.get(name, 0))

    def longest(generation: str) -> float:
        count, pause = (
            f"callister_gc_{generation}_collections_total",
            f"callister_gc_{generation}_pause_ms",
        )
        seen = [
            float(now.get(pause, 0))
            for (_, before), (_, now) in itertools.pairwise(window)
            if float(now.get(count, 0)) > float(before.get(count, 0))
        ]
        return max(seen, default=0.0)

    return {
        "collections": int(grew("callister_gc_collections_total")),
        "middle_collections": int(grew("callister_gc_middle_collections_total")),
        "full_collections": int(grew("callister_gc_full_collections_total")),
        "paused_ms": round(grew("callister_gc_pause_seconds_total") * 1000.0, 1),
        "middle_pause_ms_max": longest("middle"),
        "full_pause_ms_max": longest("full"),
    }


def crowd_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment for the crowd workload."""
    return bench_env(
        {
            "CALLISTER_SNAPSHOT_HZ": str(UPDATE_HZ),
            "CALLISTER_AOI_RADIUS": str(SENSOR_RADIUS_M),
            "CALLISTER_NPC_DENSITY": "0",
            "CALLISTER_HOME_SYSTEMS": "2",
            "CALLISTER_MAX_CLIENTS": "20000",
            "CALLISTER_RECONNECT_GRACE_S": "0",
            # every client registers at the start: let the hashing queue hold all of them
            "CALLISTER_PASSWORD_QUEUE_MAX": "100000",
            **(extra or {}),
        }
    )


def _post(
    url: str, body: dict[str, Any], timeout: float = 120.0, token: str | None = None
) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return dict(json.loads(resp.read()))


def _get(url: str, timeout: float = 10.0, token: str | None = None) -> dict[str, Any]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return dict(json.loads(resp.read()))


GM_NAME = "crowd-gm"
GM_PASSWORD = "crowd-gm-password"


def game_master(url: str, db: str, python: str = sys.executable) -> str:
    """Create the bench's administrator in the server's database (`callister admin user
    create`, the first administrator needs no credentials) and log it in: its token."""
    subprocess.run(
        [python, "-m", "callister", "admin", "--db", db, "user", "create", GM_NAME, "--role",
         "admin", "--password-stdin"],
        input=GM_PASSWORD + "\n", text=True, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return str(_post(f"{url}/api/login", {"name": GM_NAME, "password": GM_PASSWORD})["token"])


def _sector(url: str, token: str) -> tuple[str, str]:
    """The system a client's ship is in (GET /api/me)."""
    x, y = _get(f"{url}/api/me", token=token)["ship"]["system"]
    return str(x), str(y)


def teleport_crowd(url: str, gm: str, p: Placement, seed: int) -> dict[str, Any]:
    """Teleport the crowd into one disc of open space of the first client's system, and the
    observer alone into another system (a game master's `teleport`, one request per ship, a
    few at a time). Returns the crowd's sector, the disc's centre and the observer's sector."""
    world = str(_get(f"{url}/healthz")["world"])
    gm_url = f"{url}/api/worlds/{world}/gm"
    sector = _sector(url, p.crowd[0][1])
    system = _get(f"{url}/api/universe/system?x={sector[0]}&y={sector[1]}")
    cx, cy = open_space(system, p.radius)
    rng = random.Random(seed)
    moves = []
    for _, _, ship in p.crowd:
        r, a = p.radius * math.sqrt(rng.random()), rng.uniform(0.0, 2 * math.pi)
        moves.append({"op": "teleport", "ship": ship, "sector": list(sector),
                      "x": round(cx + r * math.cos(a), 1), "y": round(cy + r * math.sin(a), 1),
                      "reason": "bench crowd"})  # fmt: skip
    observer_sector = None
    if p.observer is not None:  # alone in another system: the first other one a client is in
        other = next(
            (s for s in (_sector(url, t) for _, t, _ in [p.observer, *p.crowd]) if s != sector),
            None,
        )
        if other is None:
            raise RuntimeError("every client is in the crowd's system: no quiet system to watch")
        quiet = _get(f"{url}/api/universe/system?x={other[0]}&y={other[1]}")
        ox, oy = open_space(quiet, 100.0)
        moves.append({"op": "teleport", "ship": p.observer[2], "sector": list(other),
                      "x": round(ox, 1), "y": round(oy, 1), "reason": "observer"})  # fmt: skip
        observer_sector = list(other)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda body: _post(gm_url, body, token=gm), moves))
    return {"sector": list(sector), "centre": [cx, cy], "placed": len(p.crowd),
            "observer_sector": observer_sector}  # fmt: skip


def start_crowd_server(
    port: int, db: str, env: dict[str, str], log_path: Path, python: str = sys.executable
) -> subprocess.Popen[bytes]:
    """`callister serve` for the workload; returns once /healthz answers (120 s at most)."""
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [python, "-m", "callister", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--db", db],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    wait_healthy(proc, port, log_path, 120)
    return proc


def _py_spy() -> str:
    """py-spy's path: on PATH or beside this Python (a venv's bin, not activated)."""
    found = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if found is None:
        raise ValueError("--profile needs py-spy (pip install py-spy)")
    return found


def _spy(pid: int, out: str, settle_s: float, seconds: float) -> subprocess.Popen[bytes]:
    """py-spy over the measured window (it starts after the settling time)."""
    cmd = (
        f"sleep {settle_s:.1f} && exec {shlex.quote(_py_spy())} record --pid {pid} "
        f"--duration {int(seconds)} --rate 100 --format raw --threads --nonblocking "
        f"-o {shlex.quote(out)}"
    )
    return subprocess.Popen(["sh", "-c", cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _zone_summary(seen: list[tuple[float, dict[str, Any]]], settle_s: float) -> dict[str, Any]:
    """One system's clock over the run, from the server's samples: its last report (step times
    over its last 1200 steps), and its tick rate from its own tick between the first sample
    after the settling time and the last."""
    most = max(zone["ships"] for _, zone in seen)  # not the samples taken while leaving
    full = [s for s in seen if s[1]["ships"] == most]
    start = full[0][0] + settle_s
    window = [s for s in full if s[0] >= start] or full
    (t0, first), (t1, last) = window[0], window[-1]
    rate = (last["tick"] - first["tick"]) / (t1 - t0) if t1 > t0 else last["tick_hz"]
    return {**last, "tick_hz_over_run": round(rate, 2)}


def run_crowd_bench(
    clients: int,
    seconds: float,
    *,
    workers: int = 2,
    settle_s: float = 3.0,
    seed: int = 1,
    progress: bool = True,
    env: dict[str, str] | None = None,
    profile: str | None = None,
    inputs: str = "changes",
) -> dict[str, Any]:
    """Run the workload once; the report described in the module docstring. `profile`: write
    a py-spy profile of the server over the measured seconds there (collapsed stacks, every
    thread; needs `py-spy` on PATH)."""
    if clients < 1 or seconds <= 0 or workers < 1:
        raise ValueError("--clients and --workers must be >= 1, --seconds > 0")
    if inputs not in ("changes", "every"):
        raise ValueError("--inputs must be 'changes' or 'every'")
    if profile:
        _py_spy()  # before minutes of connecting and placing, not after
    say = _stderr if progress else (lambda _: None)
    load_average = round(os.getloadavg()[0], 2)
    tmp = Path(tempfile.mkdtemp(prefix="callister-crowd-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    say(f"crowd: starting a server on {url} (log {tmp / 'server.log'})")
    server_env = crowd_env(env)
    db = f"sqlite:///{tmp}/crowd.db"
    server = start_crowd_server(port, db, server_env, tmp / "server.log")
    sectors: dict[str, Any] = {}
    samples: dict[str, list[tuple[float, dict[str, Any]]]] = {"crowd": [], "other": []}
    sent: list[tuple[float, float]] = []  # (when, the server's binary frames written so far)
    heap: list[tuple[float, dict[str, str]]] = []  # (when, the collector's metrics then)
    stop = threading.Event()

    def sample() -> None:  # both systems' own clocks, every second while the crowd is there
        while not stop.wait(1.0):
            with contextlib.suppress(OSError, ValueError):
                text = urllib.request.urlopen(f"{url}/metrics", timeout=10).read().decode()
                m = re.search(r"^callister_snapshots_sent_total ([0-9.eE+]+)$", text, re.M)
                if m:
                    sent.append((time.monotonic(), float(m.group(1))))
                heap.append((time.monotonic(), dict(_GC_METRIC.findall(text))))
            for name, key in (("crowd", "sector"), ("other", "observer_sector")):
                sector = sectors.get(key)
                if not sector:
                    continue
                with contextlib.suppress(OSError, ValueError):
                    zone = _get(f"{url}/healthz?zone={sector[0]}:{sector[1]}").get("zone")
                    if zone and zone["ships"]:
                        samples[name].append((time.monotonic(), zone))

    sampler = threading.Thread(target=sample, daemon=True)
    spies: list[subprocess.Popen[bytes]] = []

    def place(p: Placement) -> tuple[float, float]:
        say(f"crowd: {len(p.crowd)} clients connected; placing them in a {p.radius:.0f} m disc")
        placed = teleport_crowd(p.http, gm, p, seed)
        sectors.update(placed)
        sampler.start()
        if profile:
            spies.append(_spy(server.pid, profile, settle_s, seconds))
        say(f"crowd: placed {placed['placed']} in {placed['sector']}; measuring {seconds:g} s")
        centre = placed["centre"]
        return float(centre[0]), float(centre[1])

    try:
        gm = game_master(url, db)
        cfg = LoadConfig(
            url=url, clients=clients, workers=workers, seconds=seconds, settle_s=settle_s,
            connect_s=max(120.0, clients / 5.0), server_pid=server.pid, seed=seed, inputs=inputs,
        )  # fmt: skip
        say(f"crowd: {clients} clients in {workers} load processes are connecting")
        report = run_crowd_load(cfg, place)
    finally:
        stop.set()
        for spy in spies:
            try:
                spy.wait(seconds + settle_s + 60)
            except subprocess.TimeoutExpired:
                spy.kill()
        stop_server(server, 30)
    zones = {name: _zone_summary(seen, settle_s) for name, seen in samples.items() if seen}
    # what the server wrote (the clients' figures say what arrived): updates per client-second
    # over the measured part of the run
    window = [x for x in sent if sent and x[0] >= sent[0][0] + settle_s] or sent
    if len(window) >= 2 and report.get("connected"):
        (t0, n0), (t1, n1) = window[0], window[-1]
        report["server_updates_per_client_per_s"] = round(
            (n1 - n0) / (t1 - t0) / (report["connected"] + 1), 2
        )
    report["gc"] = _collector(heap, settle_s)
    report["server_tick_ms"] = report.get("tick_ms")  # every zone step of the run, pooled
    if "crowd" in zones:
        report["tick_ms"] = {k: zones["crowd"]["tick_ms"][k] for k in ("p50", "p99")}
    report["zones"] = zones
    report["event_loop"] = server_env.get("CALLISTER_EVENT_LOOP", "asyncio")
    report["cores"] = os.cpu_count()
    report["load_average"] = load_average  # when it started (other jobs share the cores)
    return report
