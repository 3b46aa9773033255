"""`callister bench moonshot`: one star system holding more players than EVE Online's record
(6,557, with time dilation), on paper and by measurement (issue 17).

The design measured: the zone's worker simulates the system and publishes its state **once per
tick** (every ship's public columns, packed: `pack_frame`) on NATS; gateway processes on other
cores (or machines) receive that one frame and build their own clients' views from it with the
protocol v2 view engine (`server/views.ViewEngine`), so the per-client work scales out across
gateways while the system itself stays in one process.

Two real processes and a real NATS server:
- **worker**: the canonical crowd workload (`bench/crowd.py`, `CrowdRun`: N ships in one disc at
  the crowd density, random-walk controls at 10 Hz as real `Input` intents) stepped at 20 Hz on
  the real `Zone`; each tick's frame packed and published. Measured: sim ms per tick, pack ms,
  publish ms, frame bytes, the tick rate it held, its CPU.
- **gateway**: subscribes to the frames and, for each, updates `--clients` viewers (players
  spread through the crowd) with `ViewEngine.update_frame`. Measured: CPU µs per client-update
  (view + dead reckoning + encode, plus the frame's unpacking shared by its clients), bytes per
  update, ships in view, frames it kept up with.

The cluster size follows: one worker core if the tick fits in 50 ms, and gateway cores for
N players at 20 updates a second, each update costing the measured view CPU plus the socket
write measured by `callister bench stack` (`--socket-us`), at `TARGET_UTILISATION` of a core.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing as mp
import os
import time
from typing import Any, Final

import numpy as np

from callister.bench.crowd import SENSOR_RADIUS_M, UPDATE_HZ
from callister.bench.views import FIRST_ID, CrowdRun
from callister.server import heap
from callister.server.metrics import percentiles
from callister.server.views import ViewEngine
from callister.sim.framepack import pack_frame, unpack_frame

EVE_RECORD: Final = 6557  # players in one system (Asakai, 2013), under time dilation
TARGET_UTILISATION: Final = 0.7  # plan gateway cores to run at most this busy
SOCKET_US: Final = 12.1  # µs CPU per frame written (bench stack, aiohttp direct write)
SUBJECT: Final = "bench.moonshot.frame"  # + a unique suffix per run: runs may share a NATS


def _worker(ships: int, seconds: float, url: str, subject: str, out: Any, go: Any) -> None:
    async def main() -> dict[str, Any]:
        import nats

        nc = await nats.connect(url, max_reconnect_attempts=0)
        run = CrowdRun(ships, seed=7)
        for _ in range(20):  # let the crowd start moving before measuring
            run.step()
        # the collector as a serving worker runs it (server/heap.py): what start-up built is
        # frozen, and collections run in the tick's slack, not inside a step
        heap.freeze_startup()
        go.wait()
        sim, sim_cpu, pack, publish, lateness, sizes = [], [], [], [], [], []
        period = 1.0 / run.zone.tick_hz
        ticks = int(seconds * run.zone.tick_hz)
        cpu0, start = time.process_time(), time.perf_counter()
        due = start
        for _ in range(ticks):
            t0, c0 = time.perf_counter(), time.thread_time()
            frame, _rows = run.step()
            t1, c1 = time.perf_counter(), time.thread_time()
            data = pack_frame(frame)
            t2 = time.perf_counter()
            await nc.publish(subject, data)
            await nc.flush()
            t3 = time.perf_counter()
            sim.append((t1 - t0) * 1000)
            sim_cpu.append((c1 - c0) * 1000)
            pack.append((t2 - t1) * 1000)
            publish.append((t3 - t2) * 1000)
            sizes.append(len(data))
            due += period
            delay = due - time.perf_counter()
            lateness.append(max(0.0, -delay) * 1000)
            while delay > 0 and heap.SLACK.collect(delay):  # (as World._tick_loop's idle)
                delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
        await nc.publish(subject, b"")  # the end
        await nc.flush()
        await nc.close()
        return {
            "ships": ships,
            "ticks": ticks,
            "tick_hz": round(ticks / wall, 2),
            "sim_ms": percentiles(sim, 2),  # wall: inflated when other jobs share the cores
            "sim_cpu_ms": percentiles(sim_cpu, 2),  # what the tick costs the worker's core
            "pack_ms": percentiles(pack, 3),
            "publish_ms": percentiles(publish, 3),
            "frame_bytes": int(np.mean(sizes)),
            "publish_mib_per_s": round(float(np.mean(sizes)) * ticks / wall / 2**20, 2),
            "cpu_percent": round(100 * cpu / wall, 1),
        }

    out.put(("worker", asyncio.run(main())))


def _gateway(ships: int, clients: int, url: str, subject: str, out: Any, ready: Any) -> None:
    async def main() -> dict[str, Any]:
        import nats

        nc = await nats.connect(url, max_reconnect_attempts=0, pending_size=256 * 2**20)
        engine = ViewEngine(SENSOR_RADIUS_M, tick_hz=UPDATE_HZ)
        slots = np.array([engine.add_client() for _ in range(clients)], dtype=np.int64)
        step = max(1, ships // clients)  # viewers spread through the crowd
        viewers = np.arange(FIRST_ID, FIRST_ID + ships, step, dtype=np.uint64)[:clients]
        done = asyncio.get_running_loop().create_future()
        cpu_us: list[float] = []
        unpack_us: list[float] = []
        sizes: list[float] = []
        visible: list[float] = []
        frames = [0]
        last_tick = [-1]
        skipped = [0]

        async def on_frame(msg: Any) -> None:
            if not msg.data:
                if not done.done():
                    done.set_result(None)
                return
            c0 = time.thread_time()
            frame = unpack_frame(msg.data)
            c1 = time.thread_time()
            rows = np.searchsorted(frame.ids, viewers)
            batch = engine.update_frame(frame, slots, frame.x[rows], frame.y[rows])
            c2 = time.thread_time()
            if last_tick[0] >= 0:
                skipped[0] += max(0, frame.tick - last_tick[0] - 1)
            last_tick[0] = frame.tick
            frames[0] += 1
            if frames[0] > 20:  # the views' first, full frames are a warm-up
                unpack_us.append((c1 - c0) * 1e6)
                cpu_us.append((c2 - c0) * 1e6 / clients)
                sizes.append(float(np.mean(batch.ends - batch.starts)))
                visible.append(engine.pairs / clients)

        await nc.subscribe(subject, cb=on_frame)
        await nc.flush()
        ready.set()
        cpu0, start = time.process_time(), time.perf_counter()
        await done
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
        await nc.close()
        return {
            "clients": clients,
            "frames": frames[0],
            "ticks_missed": skipped[0],
            "us_per_client_update": percentiles(cpu_us, 3),
            "unpack_us_per_frame": percentiles(unpack_us, 1),
            "bytes_per_update": round(float(np.mean(sizes)), 1) if sizes else 0.0,
            "visible_per_client": round(float(np.mean(visible)), 1) if visible else 0.0,
            "cpu_percent": round(100 * cpu / wall, 1),
        }

    out.put(("gateway", asyncio.run(main())))


def cluster_size(
    players: int, sim_ms_p99: float, us_per_client_update: float, socket_us: float = SOCKET_US
) -> dict[str, Any]:
    """The machines one system of `players` needs at 20 updates a second, from the measured
    costs: worker cores (1 while the p99 tick's CPU fits in the 50 ms budget, else the factor
    over: the zone would have to be split or its tick made cheaper),
    gateway cores at TARGET_UTILISATION each."""
    per_update = us_per_client_update + socket_us
    gateway_core_s = players * UPDATE_HZ * per_update / 1e6
    gateways = max(1, math.ceil(gateway_core_s / TARGET_UTILISATION))
    return {
        "players": players,
        "us_per_client_update_with_socket": round(per_update, 2),
        "gateway_cores": gateways,
        "players_per_gateway_core": int(TARGET_UTILISATION * 1e6 / (UPDATE_HZ * per_update)),
        "worker_cores": max(1, math.ceil(sim_ms_p99 / (1000 / UPDATE_HZ))),
        "worker_tick_fits": sim_ms_p99 <= 1000 / UPDATE_HZ,
    }


def run_moonshot_bench(
    ships: int = 7000,
    clients: int = 1000,
    seconds: float = 20.0,
    url: str = "nats://127.0.0.1:4222",
    socket_us: float = SOCKET_US,
) -> dict[str, Any]:
    """Run the worker and the gateway as two processes against the NATS at `url`; return
    {"worker": …, "gateway": …, "cluster": cluster_size(…), "machine": …}. ValueError for
    sizes out of range; RuntimeError when a process fails or NATS cannot be reached."""
    if ships < 2 or not 1 <= clients <= ships or seconds <= 0 or socket_us < 0:
        raise ValueError("need ships >= 2, 1 <= clients <= ships, seconds > 0, socket_us >= 0")
    ctx = mp.get_context("spawn")
    subject = f"{SUBJECT}.{os.getpid()}.{time.monotonic_ns()}"
    out, ready, go = ctx.Queue(), ctx.Event(), ctx.Event()
    gateway = ctx.Process(
        target=_gateway, args=(ships, clients, url, subject, out, ready), daemon=True
    )
    worker = ctx.Process(target=_worker, args=(ships, seconds, url, subject, out, go), daemon=True)
    gateway.start()
    if not ready.wait(60):
        gateway.kill()
        raise RuntimeError(f"the gateway process could not subscribe at {url}: is NATS running?")
    worker.start()
    go.set()
    results: dict[str, Any] = {}
    deadline = time.monotonic() + seconds * 20 + 120
    while len(results) < 2:
        try:
            role, value = out.get(timeout=max(1.0, deadline - time.monotonic()))
        except Exception as exc:  # queue.Empty: a process died or hung
            for p in (worker, gateway):
                p.kill()
            raise RuntimeError(f"moonshot bench got only {sorted(results)}") from exc
        results[role] = value
    for p in (worker, gateway):
        p.join(10)
    w, g = results["worker"], results["gateway"]
    return {
        "worker": w,
        "gateway": g,
        "cluster": cluster_size(
            ships, w["sim_cpu_ms"]["p99"], g["us_per_client_update"]["p50"], socket_us
        ),
        "eve_record": EVE_RECORD,
        "machine": {"cpus": os.cpu_count(), "load_average": round(os.getloadavg()[0], 2)},
    }
