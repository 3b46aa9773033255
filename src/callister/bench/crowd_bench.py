"""`callister bench crowd`: issue 17's canonical crowd workload against a real server.

Starts `callister serve` (a fresh temporary SQLite database, cheap password hashing, protocol v2
updates at 20 Hz: `snapshot_hz` 20, sensor radius 1,500 m, no NPCs, the bench-only spawn on)
and runs the load generator (`bench/crowd_load.py`) in worker processes of its own. Every client
registers, says hello with v 2 and is placed by the server's bench-only spawn
(`server/bench_spawn.py`, `POST /api/bench/place`): N ships in one disc of radius
5,000 m * sqrt(N / 1000) in open space of one system, and one observer ship alone in another
system. Then every client walks at 10 Hz and reads its updates.

The report is the load generator's (clients, connected, updates_per_client_per_s,
update_interval_ms, bytes_per_update, visible_per_client, server_cpu_ms_per_client_s,
loadgen_cpu_percent, other_zone_tick_hz, ...) with `tick_ms` the crowded system's own step time
(simulation and every view of it) over the run, and `zones`: both systems' own clocks as the
server reports them (/healthz?zone=).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from callister.bench.crowd import SENSOR_RADIUS_M, UPDATE_HZ
from callister.bench.crowd_load import LoadConfig, Placement, run_crowd_load
from callister.bench.net import bench_env, free_port


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def crowd_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment for the crowd workload."""
    return bench_env(
        {
            "CALLISTER_SNAPSHOT_HZ": str(UPDATE_HZ),
            "CALLISTER_AOI_RADIUS": str(SENSOR_RADIUS_M),
            "CALLISTER_NPC_DENSITY": "0",
            "CALLISTER_HOME_SYSTEMS": "2",
            "CALLISTER_BENCH_SPAWN": "true",
            "CALLISTER_MAX_CLIENTS": "20000",
            "CALLISTER_RECONNECT_GRACE_S": "0",
            # every client registers at the start: let the hashing queue hold all of them
            "CALLISTER_PASSWORD_QUEUE_MAX": "100000",
            **(extra or {}),
        }
    )


def _post(url: str, body: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
    req = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return dict(json.loads(resp.read()))


def _get(url: str, timeout: float = 10.0) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return dict(json.loads(resp.read()))


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
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {log_path}")
        try:
            _get(f"http://127.0.0.1:{port}/healthz", 1.0)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not become healthy in 120 s; see {log_path}")


def _spy(pid: int, out: str, settle_s: float, seconds: float) -> subprocess.Popen[bytes]:
    """py-spy over the measured window (it starts after the settling time)."""
    if shutil.which("py-spy") is None:
        raise RuntimeError("--profile needs py-spy on PATH (pip install py-spy)")
    cmd = (
        f"sleep {settle_s:.1f} && exec py-spy record --pid {pid} --duration {int(seconds)} "
        f"--rate 100 --format raw --threads --nonblocking -o {shlex.quote(out)}"
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
    say = _stderr if progress else (lambda _: None)
    load_average = round(os.getloadavg()[0], 2)
    tmp = Path(tempfile.mkdtemp(prefix="callister-crowd-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    say(f"crowd: starting a server on {url} (log {tmp / 'server.log'})")
    server_env = crowd_env(env)
    server = start_crowd_server(port, f"sqlite:///{tmp}/crowd.db", server_env, tmp / "server.log")
    sectors: dict[str, Any] = {}
    samples: dict[str, list[tuple[float, dict[str, Any]]]] = {"crowd": [], "other": []}
    sent: list[tuple[float, float]] = []  # (when, the server's binary frames written so far)
    stop = threading.Event()

    def sample() -> None:  # both systems' own clocks, every second while the crowd is there
        while not stop.wait(1.0):
            with contextlib.suppress(OSError, ValueError):
                text = urllib.request.urlopen(f"{url}/metrics", timeout=10).read().decode()
                m = re.search(r"^callister_snapshots_sent_total ([0-9.eE+]+)$", text, re.M)
                if m:
                    sent.append((time.monotonic(), float(m.group(1))))
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
        body: dict[str, Any] = {
            "ships": [ship for _, _, ship in p.crowd],
            "radius": p.radius,
            "seed": seed,
            "observer": p.observer[2] if p.observer else None,
        }
        placed = _post(f"{p.http}/api/bench/place", body)
        sectors.update(placed)
        sampler.start()
        if profile:
            spies.append(_spy(server.pid, profile, settle_s, seconds))
        say(f"crowd: placed {placed['placed']} in {placed['sector']}; measuring {seconds:g} s")
        centre = placed["centre"]
        return float(centre[0]), float(centre[1])

    try:
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
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    zones = {name: _zone_summary(seen, settle_s) for name, seen in samples.items() if seen}
    # what the server wrote (the clients' figures say what arrived): updates per client-second
    # over the measured part of the run
    window = [x for x in sent if sent and x[0] >= sent[0][0] + settle_s] or sent
    if len(window) >= 2 and report.get("connected"):
        (t0, n0), (t1, n1) = window[0], window[-1]
        report["server_updates_per_client_per_s"] = round(
            (n1 - n0) / (t1 - t0) / (report["connected"] + 1), 2
        )
    report["server_tick_ms"] = report.get("tick_ms")  # every zone step of the run, pooled
    if "crowd" in zones:
        report["tick_ms"] = {k: zones["crowd"]["tick_ms"][k] for k in ("p50", "p99")}
    report["zones"] = zones
    report["event_loop"] = server_env.get("CALLISTER_EVENT_LOOP", "asyncio")
    report["cores"] = os.cpu_count()
    report["load_average"] = load_average  # when it started (other jobs share the cores)
    return report
