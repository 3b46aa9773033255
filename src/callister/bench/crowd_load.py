"""The crowd load generator (issue 17): N protocol v2 clients on real sockets, in worker
processes of their own, each one asyncio loop holding its clients' sockets.

Written from docs/protocol.md alone (it imports nothing of the server; the workload's rules come
from `bench/crowd.py`): it registers each client over HTTP, says `hello` with `"v": 2`, and then
does only what the protocol asks of a client. It reads each binary update's 26-byte header
(tick, origin, section counts) and nothing more: the origin is its own ship's position, the
counts keep its view size; a v2 client owes no acknowledgements, so records are never decoded.
It sends the 4-byte binary controls at INPUT_HZ as the workload's random walk.

Lean by design, so it does not preempt the server it measures on a shared machine: it registers
over HTTP with aiohttp, but each WebSocket is `bench/wsclient.py`'s protocol, its frames parsed
in `data_received` straight into the client's statistics (no coroutine wake-up per frame), and
one driver per worker steps every client's walk at INPUT_HZ in staggered slices (each client at
its own phase), writing the controls to the transport (no task or timer per client).

Sequence: workers register and connect their clients and report their ship ids; the parent
calls the `place` function it was given (the server facility that puts N ships in one disc,
and one observer ship in another system: a game master's teleport, or for tests the server's
own spawn rule) and tells the workers to go; after `settle_s` every client measures for
`seconds`. Server figures come from `/healthz` (tick time, over the window) and `/metrics`
(process CPU); the observer's frames give `other_zone_tick_hz` (their header ticks over time).

Every loop is bounded by a count or a deadline, workers exit by themselves (the parent
terminates any that overstay), and only loopback addresses are accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import math
import multiprocessing as mp
import os
import random
import re
import resource
import secrets
import struct
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp

from callister.bench.crowd import INPUT_HZ, Walker, disc_radius
from callister.bench.wsclient import WsClient, open_ws

HEADER: Final = struct.Struct("<BBBBIIiiHHH")  # docs/protocol.md, Protocol v2: update frames
UPDATE_TYPE: Final = 2
RESYNC: Final = 1
CONTROLS: Final = struct.Struct("<BBBb")
BIN_MS: Final = 0.25  # update interval histogram resolution
BINS: Final = 8000  # up to 2 s; longer intervals land in the last bin
LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})
OBSERVER: Final = "obs"
SLICES: Final = 10  # the driver wakes SLICES * INPUT_HZ a second, stepping 1/SLICES of clients


@dataclass(frozen=True, slots=True)
class Placement:
    """What `place` is given: every crowd client's (name, token, ship id), the observer's
    (or None), and the disc the crowd must fill (`disc_radius(N)` metres). It returns the
    disc's centre in system metres (None: each client's starting point is its own centre)."""

    http: str
    crowd: list[tuple[str, str, int]]
    observer: tuple[str, str, int] | None
    radius: float


Place = Callable[[Placement], "tuple[float, float] | None"]


@dataclass(frozen=True, slots=True)
class LoadConfig:
    url: str  # http://127.0.0.1:port (loopback only)
    clients: int
    workers: int = 2
    seconds: float = 20.0
    settle_s: float = 2.0  # after `go`, before measuring
    connect_s: float = 120.0  # every client registered and connected within this
    observer: bool = True
    prefix: str = ""
    password: str = "crowd-load-pass"
    server_pid: int | None = None  # read the server's CPU from /proc when /metrics has none
    seed: int = 1
    # controls are held until the next (docs/protocol.md): a client need send them only when
    # they change ("changes", ~3.6 a second in this walk, as the browser does); "every" sends
    # every one of the walk's 10 a second, changed or not
    inputs: str = "changes"


def check_loopback(url: str) -> str:
    """The URL without a trailing slash; ValueError unless it is http:// on a loopback host."""
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK:
        raise ValueError(f"the load generator only talks to http:// on loopback, not {url!r}")
    return url.rstrip("/")


# -- one client ------------------------------------------------------------------------------


@dataclass(slots=True)
class ClientStats:
    updates: int = 0
    bytes: int = 0
    json_bytes: int = 0
    view_sum: int = 0  # sum over updates of the view size after it
    inputs: int = 0  # controls frames sent while measuring
    first_tick: int = -1
    last_tick: int = -1
    first_at: float = 0.0
    last_at: float = 0.0


@dataclass(slots=True)
class Client:
    name: str
    ws: ClientSocket | None = None
    token: str = ""
    ship: int = 0
    tick_hz: int = 20
    view: int = 0
    x: float = 0.0  # metres, from the last update's origin
    y: float = 0.0
    vx: float = 0.0
    vy: float = 0.0
    tick: int = -1
    last_at: float = 0.0
    measuring: bool = False
    stats: ClientStats = field(default_factory=ClientStats)
    errors: dict[str, int] = field(default_factory=dict)
    closed: bool = False
    welcome: asyncio.Future[None] | None = None
    controls: bytes = b""  # the last controls sent (held until the next)


class ClientSocket(WsClient):
    """A client's WebSocket: reads each frame into its `Client` as it is parsed."""

    def __init__(self, client: Client, hist: list[int]) -> None:
        super().__init__(max_size=1 << 20)
        self.client, self.hist = client, hist

    def on_binary(self, data: memoryview) -> None:
        c = self.client
        now = time.monotonic()
        if len(data) < HEADER.size or data[0] != UPDATE_TYPE:
            c.errors["BAD_UPDATE"] = c.errors.get("BAD_UPDATE", 0) + 1
            return
        _, flags, _, _, tick, _, ox, oy, n_new, _, n_rem = HEADER.unpack_from(data)
        c.view = (0 if flags & RESYNC else c.view) + n_new - n_rem
        x, y = ox / 4.0, oy / 4.0
        if c.tick >= 0 and tick > c.tick:
            dt = (tick - c.tick) / c.tick_hz
            c.vx, c.vy = (x - c.x) / dt, (y - c.y) / dt
        c.x, c.y, c.tick = x, y, tick
        if c.measuring:
            stats = c.stats
            if stats.updates:
                gap = (now - c.last_at) * 1000.0
                self.hist[min(BINS - 1, int(gap / BIN_MS))] += 1
            else:
                stats.first_tick, stats.first_at = tick, now
            stats.updates += 1
            stats.bytes += len(data)
            stats.view_sum += c.view
            stats.last_tick, stats.last_at = tick, now
        c.last_at = now

    def on_text(self, text: str) -> None:
        c = self.client
        if c.measuring:
            c.stats.json_bytes += len(text)
        welcome = c.welcome
        if welcome is not None and not welcome.done():  # the welcome (others before it: ignored)
            self._hello_reply(c, welcome, text)
        elif text.startswith('{"t":"error"'):
            try:
                code = str(json.loads(text).get("code"))
            except ValueError:
                code = "BAD_JSON"
            c.errors[code] = c.errors.get(code, 0) + 1

    @staticmethod
    def _hello_reply(c: Client, welcome: asyncio.Future[None], text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            welcome.set_exception(
                RuntimeError(f"{c.name}: not JSON before the welcome {text!r:.80}")
            )
            return
        if not isinstance(data, dict):
            return
        if data.get("t") == "error":
            welcome.set_exception(RuntimeError(f"{c.name}: hello refused: {data.get('code')}"))
        elif data.get("t") == "welcome":
            if data.get("v") != 2:
                why = f"{c.name}: the server speaks v{data.get('v')}, not v2"
                welcome.set_exception(RuntimeError(why))
                return
            c.ship, c.tick_hz = int(data["ship"]), int(data["tick_hz"])
            welcome.set_result(None)

    def on_error(self, code: str, detail: str) -> None:
        c = self.client
        c.errors[code] = c.errors.get(code, 0) + 1

    def on_close(self) -> None:
        c = self.client
        c.closed = True
        if c.welcome is not None and not c.welcome.done():
            c.welcome.set_exception(RuntimeError(f"{c.name}: closed before the welcome"))


class Worker:
    """One process's clients: connect, report, wait for `go`, walk and measure, report."""

    def __init__(self, cfg: LoadConfig, names: list[str], conn: Connection) -> None:
        self.cfg, self.conn = cfg, conn
        self.clients = [Client(name) for name in names]
        self.hist = [0] * BINS
        self.failures: list[str] = []
        self.ws_url = cfg.url.replace("http://", "ws://", 1) + "/ws"

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
            gate = asyncio.Semaphore(32)  # registrations in flight (argon2 on the server)

            async def start(c: Client) -> None:
                async with gate:
                    await self.connect(http, c)

            started = [asyncio.create_task(start(c)) for c in self.clients]
            done, pending = await asyncio.wait(started, timeout=self.cfg.connect_s)
            for task in pending:
                task.cancel()
            for task in done:
                if task.exception() is not None:
                    self.failures.append(repr(task.exception())[:200])
            ready = [(c.name, c.token, c.ship) for c in self.clients if c.ship and not c.closed]
            self.conn.send({"ready": ready, "failures": self.failures[:5]})
            order = await asyncio.to_thread(self._wait_go)
            if order is not None:
                await self.walk(order)
            for c in self.clients:
                if c.ws is not None:
                    c.ws.close()
            await asyncio.sleep(0.05)  # let the transports flush their close frames

    def _wait_go(self) -> dict[str, Any] | None:
        if not self.conn.poll(self.cfg.connect_s + 60):
            return None
        msg = self.conn.recv()
        return msg if isinstance(msg, dict) and msg.get("go") else None

    async def connect(self, http: aiohttp.ClientSession, c: Client) -> None:
        body = {"name": c.name, "password": self.cfg.password}
        async with http.post(f"{self.cfg.url}/api/register", json=body) as resp:
            data = await resp.json()
            if resp.status == 409:  # a rerun with the same prefix: log in instead
                async with http.post(f"{self.cfg.url}/api/login", json=body) as login:
                    data = await login.json()
                    if login.status != 200:
                        raise RuntimeError(f"{c.name}: login {login.status}: {data}")
            elif resp.status != 201:
                raise RuntimeError(f"{c.name}: register {resp.status}: {data}")
        c.token = data["token"]
        c.ws = await open_ws(self.ws_url, lambda: ClientSocket(c, self.hist), timeout=30)
        # created once the socket is open: nothing can answer a hello before it is sent
        c.welcome = asyncio.get_running_loop().create_future()
        if not c.ws.send_text(json.dumps({"t": "hello", "token": c.token, "v": 2})):
            raise RuntimeError(f"{c.name}: the socket closed before the hello")
        try:
            await asyncio.wait_for(c.welcome, 30)
        except TimeoutError:
            c.ws.close()
            raise RuntimeError(f"{c.name}: no welcome within 30 s") from None
        except BaseException:
            c.ws.close()
            raise

    async def walk(self, order: dict[str, Any]) -> None:
        centre = order.get("centre")
        radius = float(order["radius"])
        rng = random.Random(order["seed"])
        start = time.monotonic()
        measure_at = start + self.cfg.settle_s
        end = measure_at + self.cfg.seconds
        # each client's walk and phase (clients are not synchronised: a random slice of the
        # INPUT_HZ period each), drawn from the seed in the clients' order
        slices: list[list[tuple[Client, Walker]]] = [[] for _ in range(SLICES)]
        for c in self.clients:
            if c.ws is None:
                continue
            walker = Walker(
                random.Random(rng.getrandbits(64)),
                (c.x, c.y) if centre is None else (centre[0], centre[1]),
                radius,
            )
            slices[min(SLICES - 1, int(rng.random() * SLICES))].append((c, walker))
        driver = asyncio.create_task(self.drive(slices, start, measure_at, end))
        await asyncio.sleep(max(0.0, measure_at - time.monotonic()))
        cpu0 = _cpu_seconds()
        await driver
        for c in self.clients:
            c.measuring = False
        cpu = _cpu_seconds() - cpu0
        self.conn.send(self.report(cpu))

    async def drive(
        self,
        slices: list[list[tuple[Client, Walker]]],
        start: float,
        measure_at: float,
        end: float,
    ) -> None:
        """Step every client's walk at INPUT_HZ: slice k's clients at start + k / (SLICES *
        INPUT_HZ) + whole periods. A late wake-up steps every slice it owes (as a per-client
        timer would have caught up), so each client still sends INPUT_HZ a second."""
        every = self.cfg.inputs == "every"
        period = 1.0 / (INPUT_HZ * SLICES)
        done = 0  # slices stepped so far
        steps = math.ceil((end - start) * INPUT_HZ * SLICES) + 1
        while done < steps:
            await asyncio.sleep(max(0.0, start + done * period - time.monotonic()))
            now = time.monotonic()
            if now >= end:
                return
            due = min(steps, int((now - start) / period) + 1)
            measuring = now >= measure_at
            while done < due:
                for c, walker in slices[done % SLICES]:
                    ws = c.ws
                    if ws is None or c.closed:
                        continue
                    if measuring:
                        c.measuring = True
                    thrust, turn, brake = walker.step(c.x, c.y, c.vx, c.vy)
                    frame = CONTROLS.pack(
                        2, 1 if brake else 0, round(thrust * 255), round(turn * 127)
                    )
                    if not every and c.controls == frame:
                        continue  # held controls: nothing to say
                    c.controls = frame
                    if ws.send_binary(frame) and c.measuring:
                        c.stats.inputs += 1
                done += 1

    def report(self, cpu_s: float) -> dict[str, Any]:
        clients = []
        errors: dict[str, int] = {}
        for c in self.clients:
            s = c.stats
            for code, n in c.errors.items():
                errors[code] = errors.get(code, 0) + n
            clients.append(
                {
                    "name": c.name,
                    "connected": bool(c.ship) and c.ws is not None and not c.closed,
                    "updates": s.updates,
                    "bytes": s.bytes,
                    "json_bytes": s.json_bytes,
                    "view_sum": s.view_sum,
                    "inputs": s.inputs,
                    "ticks": s.last_tick - s.first_tick if s.updates > 1 else 0,
                    "span_s": s.last_at - s.first_at if s.updates > 1 else 0.0,
                }
            )
        return {"clients": clients, "hist": self.hist, "cpu_s": cpu_s, "errors": errors}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (a client's cost is mostly the event loop's:
    the cheaper it is, the more clients a core drives), else asyncio's."""
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def loadgen_loop() -> str:
    """The event loop the load workers run on."""
    return "asyncio" if _loop_factory() is None else "uvloop"


def _worker_main(cfg: LoadConfig, names: list[str], conn: Connection) -> None:
    """A worker process: runs its clients to the end, bounded by a hard deadline."""
    worker = Worker(cfg, names, conn)
    limit = cfg.connect_s * 2 + cfg.settle_s + cfg.seconds + 90
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(asyncio.wait_for(worker.run(), limit))
    except Exception as exc:  # the parent reports it; nothing may hang
        conn.send({"error": repr(exc)[:300]})
    finally:
        conn.close()


# -- the parent -------------------------------------------------------------------------------


def _get(url: str, timeout: float = 60.0) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.status, resp.read().decode()


def server_cpu_seconds(url: str, pid: int | None) -> float | None:
    """The server's process CPU seconds: `callister_process_cpu_seconds_total` (or Prometheus'
    `process_cpu_seconds_total`) from /metrics, else /proc/<pid>/stat of a local server."""
    try:
        _, text = _get(f"{url}/metrics")
    except OSError:
        text = ""
    for name in ("callister_process_cpu_seconds_total", "process_cpu_seconds_total"):
        m = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.eE+-]+)$", text, re.MULTILINE)
        if m:
            return float(m.group(1))
    if pid is not None:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            return None
    return None


def _percentile(hist: list[int], q: float) -> float:
    total = sum(hist)
    if total == 0:
        return 0.0
    want = q * total
    seen = 0
    for i, n in enumerate(hist):
        seen += n
        if seen >= want:
            return round((i + 0.5) * BIN_MS, 2)
    return round(BINS * BIN_MS, 2)


def run_crowd_load(cfg: LoadConfig, place: Place | None = None) -> dict[str, Any]:
    """Run the load; returns the report (fields in the module docstring of bench/crowd.py and
    issue 17: clients, connected, updates_per_client_per_s, update_interval_ms, bytes_per_update,
    visible_per_client, server_cpu_ms_per_client_s, loadgen_cpu_percent, tick_ms,
    other_zone_tick_hz, and what they were measured over). RuntimeError when the workers fail
    to connect anyone; ValueError for a bad configuration."""
    url = check_loopback(cfg.url)
    if cfg.clients < 1 or cfg.workers < 1 or cfg.seconds <= 0 or cfg.settle_s < 0:
        raise ValueError("clients, workers and seconds must be positive")
    if cfg.inputs not in ("changes", "every"):
        raise ValueError("inputs must be 'changes' or 'every'")
    prefix = cfg.prefix or f"c{secrets.token_hex(3)}"
    names = [f"{prefix}-{i}" for i in range(cfg.clients)]
    if cfg.observer:
        names.append(f"{prefix}-{OBSERVER}")
    workers = min(cfg.workers, len(names))
    ctx = mp.get_context("spawn")
    procs, conns = [], []
    for w in range(workers):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker_main, args=(cfg, names[w::workers], child), daemon=True)
        proc.start()
        child.close()
        procs.append(proc)
        conns.append(parent)
    try:
        return _drive(cfg, url, prefix, conns, place)
    finally:
        for conn in conns:  # a worker still waiting for `go` stops at once
            with contextlib.suppress(OSError):
                conn.send({"go": False})
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=10)


def _recv(conn: Connection, timeout: float) -> dict[str, Any]:
    if not conn.poll(timeout):
        raise RuntimeError(f"a load worker said nothing for {timeout:.0f} s")
    try:
        msg = conn.recv()
    except EOFError:
        raise RuntimeError("a load worker exited without reporting (see its stderr)") from None
    if "error" in msg:
        raise RuntimeError(f"a load worker failed: {msg['error']}")
    return dict(msg)


def _drive(
    cfg: LoadConfig, url: str, prefix: str, conns: list[Connection], place: Place | None
) -> dict[str, Any]:
    ready: list[tuple[str, str, int]] = []
    failures: list[str] = []
    for conn in conns:
        msg = _recv(conn, cfg.connect_s + 60)
        ready.extend((str(n), str(t), int(s)) for n, t, s in msg["ready"])
        failures.extend(msg["failures"])
    observer_name = f"{prefix}-{OBSERVER}"
    crowd = [r for r in ready if r[0] != observer_name]
    observer = next((r for r in ready if r[0] == observer_name), None)
    if not crowd:
        raise RuntimeError(f"no client connected: {failures[:3]}")
    radius = disc_radius(cfg.clients)
    centre = place(Placement(url, crowd, observer, radius)) if place is not None else None
    _, health = _get(f"{url}/healthz")
    start_tick = int(json.loads(health)["tick"])
    go = {"go": True, "centre": centre, "radius": radius, "seed": cfg.seed}
    for conn in conns:
        conn.send(go)
    time.sleep(cfg.settle_s)
    cpu0, t0 = server_cpu_seconds(url, cfg.server_pid), time.monotonic()
    tick0 = int(json.loads(_get(f"{url}/healthz")[1])["tick"])
    reports = [_recv(conn, cfg.seconds + cfg.settle_s + 120) for conn in conns]
    cpu1, t1 = server_cpu_seconds(url, cfg.server_pid), time.monotonic()
    _, health = _get(f"{url}/healthz?since_tick={max(tick0, start_tick)}")
    tick_ms = json.loads(health).get("tick_ms", {})
    return summarise(cfg, reports, failures, crowd, observer_name, tick_ms,
                     cpu0, cpu1, t1 - t0, centre)  # fmt: skip


def summarise(
    cfg: LoadConfig,
    reports: list[dict[str, Any]],
    failures: list[str],
    crowd: list[tuple[str, str, int]],
    observer_name: str,
    tick_ms: dict[str, float],
    cpu0: float | None,
    cpu1: float | None,
    window_s: float,
    centre: tuple[float, float] | None,
) -> dict[str, Any]:
    """The report from the workers' statistics and the server's figures."""
    hist = [sum(col) for col in zip(*(r["hist"] for r in reports), strict=True)]
    clients = [c for r in reports for c in r["clients"] if c["name"] != observer_name]
    observer = [c for r in reports for c in r["clients"] if c["name"] == observer_name]
    connected = sum(1 for c in clients if c["connected"])
    updates = sum(c["updates"] for c in clients)
    errors: dict[str, int] = {}
    for r in reports:
        for code, n in r["errors"].items():
            errors[code] = errors.get(code, 0) + n
    crowd_rates = [c["ticks"] / c["span_s"] for c in clients if c["span_s"] > 0]
    obs = observer[0] if observer else None
    other_hz = round(obs["ticks"] / obs["span_s"], 2) if obs and obs["span_s"] > 0 else None
    cpu_ms = None
    if cpu0 is not None and cpu1 is not None and connected:
        cpu_ms = round((cpu1 - cpu0) * 1000.0 / (connected * window_s), 4)
    loadgen_cpu = sum(r["cpu_s"] for r in reports)
    return {
        "clients": cfg.clients,
        "connected": connected,
        "seconds": cfg.seconds,
        "workers": len(reports),
        "updates_per_client_per_s": round(updates / max(1, len(clients)) / cfg.seconds, 2),
        "update_interval_ms": {"p50": _percentile(hist, 0.5), "p99": _percentile(hist, 0.99)},
        "bytes_per_update": round(sum(c["bytes"] for c in clients) / max(1, updates), 1),
        "json_bytes_per_client_per_s": round(
            sum(c["json_bytes"] for c in clients) / max(1, len(clients)) / cfg.seconds, 1
        ),
        "visible_per_client": round(sum(c["view_sum"] for c in clients) / max(1, updates), 1),
        "inputs": cfg.inputs,
        "inputs_per_client_per_s": round(
            sum(c["inputs"] for c in clients) / max(1, len(clients)) / cfg.seconds, 2
        ),
        "server_cpu_ms_per_client_s": cpu_ms,
        "loadgen_cpu_percent": round(100.0 * loadgen_cpu / cfg.seconds, 1),
        "tick_ms": {"p50": tick_ms.get("p50"), "p99": tick_ms.get("p99")},
        "crowd_zone_tick_hz": round(sorted(crowd_rates)[len(crowd_rates) // 2], 2)
        if crowd_rates
        else None,
        "other_zone_tick_hz": other_hz,
        "placement": "none" if centre is None else "disc",
        "crowd_ships": len(crowd),
        "errors": errors,
        "failures": failures[:5],
        "loadgen_loop": loadgen_loop(),
    }
