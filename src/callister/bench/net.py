"""`callister bench net`: a real server process under N bot clients in another process.

The server runs on a fresh temporary SQLite database (or --db), with cheap password hashing and
registration limits raised, since every bot registers. Reports the server's own tick time over
the measured window (after the bots have connected), and what the bots saw.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get_json(url: str, timeout: float = 5.0) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def bench_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Server environment for benchmarks and tests: fast hashing, no registration limit."""
    env = dict(os.environ)
    env.update(
        {
            "CALLISTER_ARGON2_TIME_COST": "1",
            "CALLISTER_ARGON2_MEMORY_KIB": "8192",
            "CALLISTER_REGISTER_PER_MINUTE": "1000000",
            "CALLISTER_LOG_LEVEL": "warning",
        }
    )
    env.update(extra or {})
    return env


def bots_command(url: str, count: int, seconds: float, ramp: float, *extra: str) -> list[str]:
    """`callister bots` as a command line (a process of its own: the bots must not share the
    server's cores' interpreter)."""
    return [
        sys.executable, "-m", "callister", "bots", "--url", url, "--count", str(count),
        "--seconds", str(seconds), "--ramp", str(ramp), *extra, "--json",
    ]  # fmt: skip


def start_server(
    port: int, db: str, env: dict[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    """Start `callister serve` and wait until /healthz answers (60 s at most)."""
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "callister",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--db",
            db,
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_healthy(proc, port, log_path, 60)
    return proc


def wait_healthy(proc: subprocess.Popen[bytes], port: int, log_path: Path, within_s: float) -> None:
    """Wait until the server `proc` started on `port` answers /healthz; RuntimeError (naming
    its log) if it exits first or does not answer within `within_s` (then it is killed)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {log_path}")
        try:
            _get_json(f"http://127.0.0.1:{port}/healthz", 1.0)
            return
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not become healthy in {within_s:.0f} s; see {log_path}")


def stop_server(proc: subprocess.Popen[bytes], grace_s: float = 15.0) -> None:
    """SIGTERM (the server checkpoints and exits); killed if still running after `grace_s`."""
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()


def run_net_bench(
    clients: int, seconds: float, db: str | None = None, progress: bool = False
) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="callister-bench-"))
    port = free_port()
    db = db or f"sqlite:///{tmp}/bench.db"
    server = start_server(port, db, bench_env(), tmp / "server.log")
    try:
        ramp = min(20.0, max(1.0, clients / 50.0))
        start_tick = int(_get_json(f"http://127.0.0.1:{port}/healthz")["tick"])
        cmd = bots_command(f"ws://127.0.0.1:{port}/ws", clients, seconds, ramp)
        bots = subprocess.run(
            cmd,
            stdout=subprocess.PIPE,
            text=True,
            timeout=seconds + ramp + 120,
            check=False,
            stdin=subprocess.DEVNULL,
            stderr=None if progress else subprocess.PIPE,
        )
        if not bots.stdout.strip():
            raise RuntimeError(
                f"bots printed nothing (exit {bots.returncode}): {(bots.stderr or '')[-2000:]}"
            )
        seen = json.loads(bots.stdout)
        # the measured window starts once every bot has had the chance to connect
        since = start_tick + int(ramp * 20)
        health = _get_json(f"http://127.0.0.1:{port}/healthz?since_tick={since}")
    finally:
        stop_server(server)
    return {
        "clients": clients,
        "seconds": seconds,
        "connected": seen["connected"],
        "errors": seen["errors"],
        "error_codes": seen.get("error_codes", {}),
        "tick_ms": {k: round(v, 3) for k, v in health["tick_ms"].items()},
        "bytes_per_client_per_s": seen["bytes_per_client_per_s"],
        "json_bytes_per_client_per_s": seen.get("json_bytes_per_client_per_s"),
        "snapshot_interval_ms": seen["snapshot_interval_ms"],
        "snapshots": seen["snapshots"],
        "jumps": seen["jumps"],
        "server_exit": server.returncode,
        "db": db.split("://")[0],
    }
