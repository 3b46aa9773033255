"""`callister bench views`: the protocol v2 view engine alone, on the canonical crowd workload.

A real `Zone` flies N shuttles through the crowd workload (`bench/crowd.py`: a disc at constant
density, random-walk controls at 10 Hz submitted as Input intents, speed cap, kept in the disc);
every tick, every player is a due client centred on its own ship and `ViewEngine.update_frame`
builds all N update frames. Only that call is timed (views + dead reckoning + encoding; no
sockets). Reported: CPU microseconds per client per update (and wall time), bytes per update,
records per update, entities in view, and the visual error of the clients' dead reckoning (how
far what a client predicts is from where the entity really is, over every (client, entity)
pair).
"""

from __future__ import annotations

import gc
import math
import random
import time
from typing import Any, Final

import numpy as np

from callister.bench.crowd import INPUT_HZ, SENSOR_RADIUS_M, Walker, disc_radius, place_in_disc
from callister.content import load_content
from callister.protocol.intents import Input
from callister.protocol.reckoning import FINE_PER_M, predict_position
from callister.server.metrics import percentiles
from callister.server.views import ViewEngine
from callister.sim import Zone, ZoneFrame, ZoneLayout

FIRST_ID: Final = 1 << 40
SYSTEM_RADIUS: Final = 80_000.0
DISC_CENTRE: Final = (30_000.0, 0.0)  # open space, far from the star
ERROR_EVERY: Final = 10  # ticks between two visual-error samples (a full pass over all pairs)


class CrowdRun:
    """The crowd workload in a real Zone: `step()` submits the inputs of the walkers due this
    tick (each every tick_hz / INPUT_HZ ticks, at its own phase), steps the zone and returns
    its frame and the rows of the players' ships in it (ship i is FIRST_ID + i, owned by
    account 1 + i)."""

    def __init__(self, players: int, seed: int) -> None:
        rng = random.Random(seed)
        self.zone = Zone(ZoneLayout(radius=SYSTEM_RADIUS, star_radius=1000.0))
        hull = load_content().hulls["shuttle"]
        self.walkers = []
        radius = disc_radius(players)
        for i, (x, y) in enumerate(place_in_disc(players, rng, DISC_CENTRE)):
            heading = rng.uniform(-math.pi, math.pi)
            self.zone.add_ship(FIRST_ID + i, 1 + i, hull, x=x, y=y, angle=heading)
            self.walkers.append(Walker(random.Random(rng.getrandbits(64)), DISC_CENTRE, radius))
        self.ships = np.arange(FIRST_ID, FIRST_ID + players, dtype=np.uint64)
        self.every = max(1, self.zone.tick_hz // INPUT_HZ)
        self.steps = 0

    def step(self) -> tuple[ZoneFrame, np.ndarray]:
        # players are not synchronised: player i sends on the ticks where (tick + i) % every
        # is 0, so each tick 1/every of them change their controls
        frame = self.zone.frame()
        first = (-self.steps) % self.every
        rows = np.searchsorted(frame.ids, self.ships[first :: self.every])
        x, y = frame.x[rows].tolist(), frame.y[rows].tolist()
        vx, vy = frame.vx[rows].tolist(), frame.vy[rows].tolist()
        for k, i in enumerate(range(first, len(self.walkers), self.every)):
            thrust, turn, brake = self.walkers[i].step(x[k], y[k], vx[k], vy[k])
            self.zone.submit(Input(1 + i, FIRST_ID + i, thrust, turn, brake))
        self.steps += 1
        self.zone.step()
        frame = self.zone.frame()
        return frame, np.searchsorted(frame.ids, self.ships)


def _header_counts(data: bytes, starts: np.ndarray) -> np.ndarray:
    """(n_new, n_updated, n_removed) of every frame, read from the headers (offsets 20-25)."""
    raw = np.frombuffer(data, dtype=np.uint8)
    at = starts[:, None] + np.array([20, 22, 24])
    return raw[at].astype(np.int64) | (raw[at + 1].astype(np.int64) << 8)


def _errors_m(engine: ViewEngine, frame: ZoneFrame) -> np.ndarray:
    """Distance (m) between each client's prediction of each entity it holds and the entity's
    true position, at the frame's tick."""
    _, ids, ref = engine.pair_table()
    rows = np.searchsorted(frame.ids, ids)
    tau = frame.tick - ref[:, 0]
    px = predict_position(ref[:, 1], ref[:, 3], ref[:, 5], tau)
    py = predict_position(ref[:, 2], ref[:, 4], ref[:, 6], tau)
    tx = frame.x[rows].astype(np.float64) * FINE_PER_M
    ty = frame.y[rows].astype(np.float64) * FINE_PER_M
    return np.hypot(tx - px, ty - py) / FINE_PER_M


def run_views_bench(
    clients: int = 1000,
    ticks: int = 200,
    *,
    seed: int = 1,
    radius: float = SENSOR_RADIUS_M,
    threshold_m: float = 1.0,
    threshold_per_km: float = 0.0,
    angle_deg: float = 3.0,
    refresh_ticks: int = 40,
    warmup_ticks: int = 60,
) -> dict[str, Any]:
    """Run the crowd workload for warmup + `ticks` ticks with every client due every tick;
    return a JSON-ready dict (see the module docstring). ValueError for non-positive sizes."""
    if clients < 1 or ticks < 1 or warmup_ticks < 0:
        raise ValueError("clients and ticks must be positive, warmup_ticks >= 0")
    run = CrowdRun(clients, seed)
    engine = ViewEngine(
        radius,
        tick_hz=run.zone.tick_hz,
        threshold_m=threshold_m,
        threshold_per_km=threshold_per_km,
        angle_threshold_deg=angle_deg,
        refresh_ticks=refresh_ticks,
    )
    slots = np.array([engine.add_client() for _ in range(clients)], dtype=np.int64)
    call_us: list[float] = []
    cpu_us: list[float] = []
    frame_bytes: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    visible: list[float] = []
    errors: list[np.ndarray] = []
    gc.collect()
    for t in range(warmup_ticks + ticks):
        frame, rows = run.step()
        cx, cy = frame.x[rows], frame.y[rows]
        start, cpu = time.perf_counter(), time.thread_time()
        batch = engine.update_frame(frame, slots, cx, cy)
        elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu
        if t < warmup_ticks:
            continue
        call_us.append(elapsed * 1e6)
        cpu_us.append(cpu * 1e6)
        frame_bytes.append(batch.ends - batch.starts)
        counts.append(_header_counts(batch.data, batch.starts))
        visible.append(engine.pairs / clients)
        if t % ERROR_EVERY == 0:
            errors.append(_errors_m(engine, frame))
    sizes = np.concatenate(frame_bytes)
    records = np.concatenate(counts)
    err = np.concatenate(errors) if errors else np.zeros(1)
    return {
        "clients": clients,
        "ticks": ticks,
        "radius_m": radius,
        "threshold_m": threshold_m,
        "threshold_per_km": threshold_per_km,
        "angle_deg": angle_deg,
        "refresh_ticks": refresh_ticks,
        # CPU time of the update call (the machine may be shared: wall time is given too)
        "us_per_client_update": percentiles([us / clients for us in cpu_us], 3),
        "wall_us_per_client_update": percentiles([us / clients for us in call_us], 3),
        "bytes_per_update": {
            "mean": round(float(sizes.mean()), 1),
            "p99": float(np.percentile(sizes, 99)),
            "max": int(sizes.max()),
        },
        "records_per_update": {
            "new": round(float(records[:, 0].mean()), 2),
            "updated": round(float(records[:, 1].mean()), 2),
            "removed": round(float(records[:, 2].mean()), 2),
        },
        "visible_per_client": round(float(np.mean(visible)), 1),
        "error_m": {
            "mean": round(float(err.mean()), 3),
            "p99": round(float(np.percentile(err, 99)), 3),
            "max": round(float(err.max()), 3),
        },
        "pairs": engine.pairs,
        "engine_mib": round(engine.memory_bytes() / 2**20, 2),
    }
