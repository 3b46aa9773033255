"""Zone load generated inside a worker, for `callister bench cluster` (no sockets, so bots do
not compete with the workers for the cores). Requests arrive on ``cl.bench.<worker>`` as JSON
(only from the bench role, and only to a worker started with ``--bench-spawn``);
every request gets a JSON reply:

- ``{"zone": "<world>.<x>.<y>", "ships": n}``: own and load the zone if needed (the worker's
  usual lease + fence path, so a zone held elsewhere answers ``{"ok": false, "holder": ...}``)
  and add `n` synthetic ships to it. They keep flying: a driver task changes the held controls
  of a fraction of them every tenth of a second (each about every `CHANGE_EVERY_S`) through
  the zone's intent subject, the path players' Inputs take. Ships that stray far from the star
  are steered back, so a zone's workload does not thin out over a long run. Synthetic ships
  count as ships (not NPCs), so they keep the zone awake (`World.step` skips zones whose ships
  are all NPCs) and they show in the heartbeat's load.
- ``{"clear": true}`` (optionally ``"zone": ...``): remove the synthetic ships (of that zone);
  a zone left without ships is unloaded at once (its lease released).
- ``{"mark": true}``: start a measurement window (tick number, hand-off sample count).
- ``{"stats": true}``: tick time percentiles and hand-off latencies since the last mark, with
  the worker's zones, synthetic ships and process CPU seconds.

Synthetic ships are never persisted (they are not pilots: checkpoints write only players'
ships) and their ids come from the store's id blocks like any entity's, so they cannot collide
with real ships.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import resource
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from callister.protocol.intents import Input
from callister.server.metrics import percentiles
from callister.sim import KIND_SHIP

log = logging.getLogger(__name__)

SYNTHETIC_OWNER = -(1 << 50)
"""Owner (and intent actor) of every synthetic ship: negative like NPC clones' owners, and far
below any clone id so it is nobody's."""

DRIVE_EVERY_S = 0.1  # the driver wakes this often (off the tick, like arriving intents)
CHANGE_EVERY_S = 5.0  # each ship gets new controls about this often (a pilot holding a course)
HOME_FRACTION = 0.5  # beyond this fraction of the system radius a ship is steered inwards


@dataclass
class _Fleet:
    """One zone's synthetic ships."""

    zone: str
    ships: list[int] = field(default_factory=list)


@dataclass
class _State:
    """Per worker: its synthetic fleets, the driver task and the open measurement window."""

    fleets: dict[str, _Fleet] = field(default_factory=dict)
    driver: asyncio.Task[None] | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    mark_tick: int = 0
    mark_handoffs: int = 0
    mark_stages: dict[str, int] = field(default_factory=dict)


def _state(worker: Any) -> _State:
    state = getattr(worker, "_synthetic", None)
    if not isinstance(state, _State):
        state = _State()
        worker._synthetic = state
    return state


async def handle(worker: Any, msg: Any) -> None:
    try:
        req = json.loads(msg.data or b"{}")
        if not isinstance(req, dict):
            raise ValueError("not an object")
        reply = await _dispatch(worker, req)
    except (ValueError, KeyError, TypeError) as exc:
        reply = {"ok": False, "error": f"bad bench request: {exc}"}
    except Exception as exc:  # the bench reads the reason; the worker keeps running
        log.exception("bench request failed")
        reply = {"ok": False, "error": repr(exc)}
    if msg.reply:
        with contextlib.suppress(Exception):
            await msg.respond(json.dumps(reply).encode())


async def _dispatch(worker: Any, req: dict[str, Any]) -> dict[str, Any]:
    state = _state(worker)
    if req.get("mark"):
        state.mark_tick = int(worker.world.tick)
        state.mark_handoffs = len(worker.handoff_ms)
        state.mark_stages = {k: len(v) for k, v in worker.world.handoff_stages.items()}
        return {"ok": True, "tick": state.mark_tick}
    if req.get("stats"):
        return {"ok": True, **stats(worker, state)}
    if req.get("clear"):
        zone = req.get("zone")
        removed = clear(worker, state, str(zone) if zone else None)
        return {"ok": True, "removed": removed}
    zone = str(req["zone"])
    ships = int(req.get("ships", 0))
    if ships < 0 or ships > 100_000:
        raise ValueError("ships must be in 0..100000")
    return await add(worker, state, zone, ships)


async def add(worker: Any, state: _State, zone: str, n: int) -> dict[str, Any]:
    from callister.cluster.world import ZoneElsewhere, sector_of

    world = worker.world
    x, y = sector_of(zone)
    if zone.rsplit(".", 2)[0] != world.name:
        return {"ok": False, "error": f"this worker runs {world.name}"}
    try:
        handle = await world.ensure_zone(x, y)
    except ZoneElsewhere as exc:
        return {"ok": False, "holder": exc.holder, "error": str(exc)}
    except LookupError as exc:
        return {"ok": False, "error": str(exc)}
    fleet = state.fleets.setdefault(zone, _Fleet(zone))
    if n:
        ids = await world.writer.call(world.store.characters.reserve_ids, n)
        hulls = list(world.content.hulls.values())
        rng = state.rng
        layout = handle.zone.layout
        inner = max(layout.star_radius * 1.5, 500.0)
        outer = max(inner + 1000.0, layout.radius * HOME_FRACTION)
        for ship in ids:
            r = rng.uniform(inner, outer)
            a = rng.uniform(0.0, 2 * math.pi)
            handle.zone.add_ship(
                int(ship),
                SYNTHETIC_OWNER,
                rng.choice(hulls),
                x=r * math.cos(a),
                y=r * math.sin(a),
                angle=rng.uniform(-math.pi, math.pi),
            )
            fleet.ships.append(int(ship))
        handle.empty_since = None
    if state.driver is None or state.driver.done():
        state.driver = asyncio.get_running_loop().create_task(
            _drive(worker, state), name="synthetic ships"
        )
    return {"ok": True, "zone": zone, "ships": len(fleet.ships), "worker": worker.name}


def clear(worker: Any, state: _State, zone: str | None) -> int:
    removed = 0
    for key in [zone] if zone else list(state.fleets):
        fleet = state.fleets.pop(key, None) if key else None
        handle = worker.world.zones.get(key) if key else None
        if fleet is None or handle is None:
            continue
        for ship in fleet.ships:
            if handle.zone.has_ship(ship):
                handle.zone.remove_ship(ship)
                removed += 1
        if handle.zone.ship_count == 0:
            # unloaded (and its lease released) now rather than after zone_unload_s, so a
            # measurement after a clear does not include a wave of unloads
            worker.world.unload(handle)
    if not state.fleets and state.driver is not None:
        state.driver.cancel()
        state.driver = None
    return removed


async def _drive(worker: Any, state: _State) -> None:
    """Every DRIVE_EVERY_S, new held controls for a random fraction of every fleet.

    Positions are read from the zone's columns in one vectorised pass (a per-ship
    `Zone.ship_state` costs more than the zone's whole tick at a few hundred ships); only the
    chosen ships become Input objects."""
    fraction = DRIVE_EVERY_S / CHANGE_EVERY_S
    rng = np.random.default_rng(state.rng.randrange(1 << 30))
    while True:
        await asyncio.sleep(DRIVE_EVERY_S)
        world = worker.world
        for fleet in list(state.fleets.values()):
            handle = world.zones.get(fleet.zone)
            if handle is None:  # the zone was lost (lease) or unloaded: its fleet is gone
                state.fleets.pop(fleet.zone, None)
                continue
            store = handle.zone.store
            n = store.count
            rows = np.flatnonzero(
                (store.owner[:n] == SYNTHETIC_OWNER) & (store.kind[:n] == KIND_SHIP)
            )
            rows = rows[rng.random(len(rows)) < fraction]
            if not len(rows):
                continue
            x, y = store.x[rows].astype(np.float64), store.y[rows].astype(np.float64)
            angle = store.angle[rows].astype(np.float64)
            thrust = rng.uniform(0.2, 1.0, len(rows))
            turn = rng.uniform(-1.0, 1.0, len(rows))
            # beyond HOME_FRACTION of the radius: turn towards the star (stay in the system)
            away = np.hypot(x, y) > handle.zone.layout.radius * HOME_FRACTION
            diff = (np.arctan2(-y, -x) - angle + math.pi) % (2 * math.pi) - math.pi
            turn = np.where(away, np.clip(diff * 2.0, -1.0, 1.0), turn)
            for ship, t, r in zip(
                store.ids[rows].tolist(),
                np.round(thrust, 3).tolist(),
                np.round(turn, 3).tolist(),
                strict=True,
            ):
                world.submit(fleet.zone, Input(actor=SYNTHETIC_OWNER, ship=ship, thrust=t, turn=r))


def stats(worker: Any, state: _State) -> dict[str, Any]:
    metrics = worker.metrics
    ticks = [
        ms for t, ms in zip(metrics.tick_ids, metrics.tick_ms, strict=True) if t > state.mark_tick
    ]
    handoffs = list(worker.handoff_ms[state.mark_handoffs :])
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "worker": worker.name,
        "tick_ms": percentiles(ticks),
        "ticks": len(ticks),
        "tick_samples_ms": [round(v, 3) for v in ticks],
        "handoff_samples_ms": [round(v, 3) for v in handoffs],
        "handoff_stage_samples_ms": {
            name: [round(v, 3) for v in samples[state.mark_stages.get(name, 0) :]]
            for name, samples in worker.world.handoff_stages.items()
        },
        "zones": {key: int(h.zone.ship_count) for key, h in worker.world.zones.items()},
        "synthetic_ships": sum(len(f.ships) for f in state.fleets.values()),
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }
