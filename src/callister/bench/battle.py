"""Benchmark of one zone at war: N armed ships in two teams fighting in a real generated system.

The workload (seeded, deterministic):
- the first generated system (world seed `world_seed`, searched outwards from sector (0, 0))
  with a station and at least two asteroid fields, turned into a zone with
  `ZoneLayout.from_system` (stars, stations and rocks block fire; lawful stations police it);
- N ships of the content hulls with their loadouts (lasers, cannons, missiles), half in each
  team, owned by distinct players (PvP on), spawned in two groups facing each other across the
  richest asteroid field, the zone granted plenty of ids for shells, missiles and wrecks;
- a cheap vectorised AI (numpy, no Python loop per ship for the decisions): every ship targets
  the nearest enemy, turns towards it, closes to a preferred range and fires each weapon whose
  cooldown, ammunition, energy, range and arc allow, through real `Fire` and `Input` intents
  submitted with `zone.submit` (a quarter of the ships steer each tick, like players who send
  a few inputs a second).

Timed: `Zone.step()` (``ms_per_tick``, with per-stage means in ``systems_ms``); the AI's
decisions and intent building are timed separately (``ai_ms``): they are the clients' work,
not the server's.
"""

from __future__ import annotations

import gc
import math
import platform
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from callister.content import load_content
from callister.protocol.intents import Fire, Input, Intent
from callister.server.metrics import percentiles
from callister.sim import KIND_SHIP, WEAPON_KEYS, Zone, ZoneLayout
from callister.sim.entities import NO_WEAPON
from callister.sim.events import CrimeCommitted, Destroyed, Fired, Hit, Refused
from callister.sim.weapons import WeaponTable
from callister.universe import StarSystem, generate_system

WARMUP_TICKS: Final = 5
FIRST_ID: Final = 1 << 40
ID_GRANT: Final = 10_000_000
TEAM_GAP: Final = 1800.0  # m between the two groups' centres at the start
GROUP_RADIUS: Final = 700.0  # m: each group's spawn disc
PREFERRED_RANGE: Final = 600.0  # m: the AI closes to this distance, then circles
SEARCH_RADIUS: Final = 30  # sectors searched around (0, 0) for a suitable system
STEER_EVERY: Final = 4  # each ship sends an Input every this many ticks


@dataclass(frozen=True, slots=True)
class Battlefield:
    system: StarSystem
    layout: ZoneLayout
    centre: tuple[float, float]


def find_battlefield(world_seed: int) -> Battlefield:
    """The first system (ring by ring around sector (0, 0), then by y, x) with a lawful station
    and two or more asteroid fields; the battle is centred on its field with the most rocks."""
    for ring in range(SEARCH_RADIUS + 1):
        for y in range(-ring, ring + 1):
            for x in range(-ring, ring + 1):
                if max(abs(x), abs(y)) != ring:
                    continue
                system = generate_system(world_seed, x, y)
                if system is None or len(system.fields) < 2:
                    continue
                layout = ZoneLayout.from_system(system)
                if not any(s.lawful for s in layout.stations):
                    continue
                field = max(system.fields, key=lambda f: (len(f.rocks), -f.index))
                return Battlefield(system, layout, (float(field.x), float(field.y)))
    raise LookupError(f"no system with a lawful station and two fields near (0, 0): {world_seed}")


def _clear(layout: ZoneLayout, x: float, y: float, margin: float) -> bool:
    """True if (x, y) is at least `margin` from every static body and inside the system."""
    if math.hypot(x, y) < layout.star_radius + margin or math.hypot(x, y) > layout.radius:
        return False
    if any(math.hypot(x - s.x, y - s.y) < s.radius + margin for s in layout.stations):
        return False
    return all(math.hypot(x - r.x, y - r.y) >= r.r + margin for r in layout.rocks)


def build_battle(ships: int, seed: int, world_seed: int) -> tuple[Zone, Battlefield, NDArray[Any]]:
    """The zone with its fleet; returns (zone, battlefield, team of each ship id - FIRST_ID)."""
    field = find_battlefield(world_seed)
    zone = Zone(field.layout)
    zone.grant_ids(range(FIRST_ID + ships, FIRST_ID + ships + ID_GRANT))
    rng = np.random.default_rng([seed, 7])
    hulls = list(load_content().hulls.values())
    cx, cy = field.centre
    # the two groups face each other along a line through the centre, away from the star
    axis = math.atan2(cy, cx) + math.pi / 2
    ux, uy = math.cos(axis), math.sin(axis)
    team = np.zeros(ships, dtype=np.int8)
    for i in range(ships):
        side = i % 2
        team[i] = side
        sign = -1.0 if side == 0 else 1.0
        gx = cx + sign * ux * TEAM_GAP / 2
        gy = cy + sign * uy * TEAM_GAP / 2
        for _ in range(1000):
            rr = GROUP_RADIUS * math.sqrt(rng.random())
            a = rng.uniform(0, 2 * math.pi)
            x, y = gx + rr * math.cos(a), gy + rr * math.sin(a)
            if _clear(field.layout, x, y, 40.0):
                break
        facing = math.atan2(-sign * uy, -sign * ux)
        zone.add_ship(
            FIRST_ID + i,
            1000 + i,
            hulls[int(rng.integers(len(hulls)))],
            x=x,
            y=y,
            angle=facing + float(rng.uniform(-0.3, 0.3)),
        )
    return zone, field, team


class BattleAI:
    """Vectorised decisions for every ship: nearest enemy, steering, and which slots fire."""

    def __init__(self, zone: Zone, team: NDArray[np.int8]) -> None:
        self.zone = zone
        self.team_of_id = team
        w = WeaponTable.build(zone.tick_hz)
        self.w_range = w.range
        self.w_energy = w.energy
        self.w_mag = w.magazine
        self.w_arc = w.arc_cos

    def decide(self, tick: int) -> list[Intent]:
        """The intents for the next tick (`tick` is the tick about to run)."""
        s = self.zone.store
        n = s.count
        rows = np.flatnonzero(s.kind[:n] == KIND_SHIP)
        if rows.size < 2:
            return []
        ids = s.ids[rows]
        team = self.team_of_id[(ids - np.uint64(FIRST_ID)).astype(np.int64)]
        x = s.x[rows].astype(np.float64)
        y = s.y[rows].astype(np.float64)
        a_side = np.flatnonzero(team == 0)
        b_side = np.flatnonzero(team == 1)
        if a_side.size == 0 or b_side.size == 0:
            return []
        # nearest enemy: one distance matrix per side (cheap at a few thousand ships)
        target = np.empty(rows.size, dtype=np.int64)
        for mine, theirs in ((a_side, b_side), (b_side, a_side)):
            dx = x[theirs][None, :] - x[mine][:, None]
            dy = y[theirs][None, :] - y[mine][:, None]
            target[mine] = theirs[np.argmin(dx * dx + dy * dy, axis=1)]
        dx = x[target] - x
        dy = y[target] - y
        dist = np.hypot(dx, dy)
        angle = s.angle[rows].astype(np.float64)
        bearing = np.arctan2(dy, dx)
        off = (bearing - angle + np.pi) % (2 * np.pi) - np.pi
        cos_off = np.cos(off)
        reach = dist - s.radius[rows][target]
        intents: list[Intent] = []
        # line of fire, as a careful client checks it against the system's map
        blocked, _ = self.zone.statics.first_hits(x, y, x[target], y[target])
        clear = ~np.isfinite(blocked)
        # fire: every slot whose weapon is ready, loaded, powered, in range and in arc
        energy = s.energy[rows].astype(np.float64)
        owner = s.owner[rows]
        target_ids = ids[target]
        weapon = s.weapon[rows]
        ready = s.ready[rows]
        ammo = s.ammo[rows]
        for slot in range(weapon.shape[1]):
            w = weapon[:, slot]
            armed = w != NO_WEAPON
            wi = np.where(armed, w, 0)
            ok = (
                armed
                & clear
                & (ready[:, slot] <= tick)
                & ((self.w_mag[wi] == 0) | (ammo[:, slot] > 0))
                & (energy >= self.w_energy[wi])
                & (reach <= self.w_range[wi] * 0.95)
                & (cos_off >= self.w_arc[wi] + 0.02)
            )
            energy = energy - np.where(ok, self.w_energy[wi], 0.0)
            for k in np.flatnonzero(ok).tolist():
                intents.append(Fire(int(owner[k]), int(ids[k]), slot, int(target_ids[k])))
        # steer: a quarter of the ships each tick
        steer = np.flatnonzero((ids % np.uint64(STEER_EVERY)) == np.uint64(tick % STEER_EVERY))
        if steer.size:
            turn = np.clip(off[steer] * 3.0, -1.0, 1.0)
            far = dist[steer] > PREFERRED_RANGE
            thrust = np.where(far, 1.0, 0.25)
            brake = dist[steer] < PREFERRED_RANGE * 0.4
            intents.extend(
                Input(o, i, t, u, b)
                for o, i, t, u, b in zip(
                    owner[steer].tolist(),
                    ids[steer].tolist(),
                    thrust.tolist(),
                    turn.tolist(),
                    brake.tolist(),
                    strict=True,
                )
            )
        return intents


def run_battle_bench(
    ships: int,
    ticks: int = 200,
    *,
    seed: int = 1,
    world_seed: int = 1,
    progress: bool = False,
) -> dict[str, Any]:
    """Time `Zone.step()` while `ships` armed ships fight (module docstring has the workload).

    Returns a JSON-ready dict: ships, ticks, warmup_ticks, system {key, name, stations, rocks,
    lawful_stations}, ms_per_tick {p50, p99, mean, max} (the zone's step, wall clock),
    cpu_ms_per_tick (the same step in this thread's CPU time, which other processes on a busy
    machine do not inflate), systems_ms {stage:
    mean ms}, ai_ms {p50, p99, mean, max} (decisions and intent building, not in the step),
    intents_per_tick, shots, hits, destroyed, crimes, refused {code: count}, ships_left,
    entities_end and versions. ValueError for ships < 2 or ticks < 1.
    """
    if ships < 2 or ticks < 1:
        raise ValueError("ships must be at least 2 and ticks at least 1")
    from tqdm import tqdm

    zone, field, team = build_battle(ships, seed, world_seed)
    ai = BattleAI(zone, team)
    bar = tqdm(
        total=WARMUP_TICKS + ticks,
        desc="bench battle",
        unit="tick",
        file=sys.stderr,
        disable=not progress,
    )
    step_ms: list[float] = []
    ai_ms: list[float] = []
    cpu_ms: list[float] = []
    stage_sums = dict.fromkeys(zone.timings_ms, 0.0)
    counts: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    intents = 0
    gc.collect()
    gc.freeze()
    clock = time.perf_counter
    cpu_clock = time.thread_time  # CPU time of this thread: unaffected by other processes
    try:
        for i in range(WARMUP_TICKS + ticks):
            start = clock()
            batch = ai.decide(zone.tick + 1)
            for intent in batch:
                zone.submit(intent)
            middle = clock()
            cpu = cpu_clock()
            events = zone.step()
            cpu = cpu_clock() - cpu
            end = clock()
            bar.update()
            if i < WARMUP_TICKS:
                continue
            ai_ms.append((middle - start) * 1000.0)
            step_ms.append((end - middle) * 1000.0)
            cpu_ms.append(cpu * 1000.0)
            intents += len(batch)
            for name, ms in zone.timings_ms.items():
                stage_sums[name] += ms
            for e in events:
                t = type(e)
                if t is Fired:
                    counts["shots"] += 1
                elif t is Hit:
                    counts["hits"] += 1
                elif t is Destroyed:
                    counts["destroyed"] += 1
                elif t is CrimeCommitted:
                    counts["crimes"] += 1
                elif t is Refused:
                    refused[str(e.code)] += 1  # type: ignore[union-attr]
    finally:
        gc.unfreeze()
        bar.close()
    layout = field.layout
    return {
        "ships": ships,
        "ticks": ticks,
        "warmup_ticks": WARMUP_TICKS,
        "seed": seed,
        "world_seed": world_seed,
        "system": {
            "key": field.system.key,
            "name": field.system.name,
            "stations": len(layout.stations),
            "lawful_stations": sum(s.lawful for s in layout.stations),
            "rocks": len(layout.rocks),
        },
        "ms_per_tick": percentiles(step_ms, 3, mean=True),
        "cpu_ms_per_tick": percentiles(cpu_ms, 3, mean=True),
        "systems_ms": {name: round(total / ticks, 3) for name, total in stage_sums.items()},
        "ai_ms": percentiles(ai_ms, 3, mean=True),
        "intents_per_tick": round(intents / ticks, 1),
        "shots": counts["shots"],
        "hits": counts["hits"],
        "destroyed": counts["destroyed"],
        "crimes": counts["crimes"],
        "refused": dict(sorted(refused.items())),
        "ships_left": zone.ship_count,
        "entities_end": zone.entity_count,
        "weapons": list(WEAPON_KEYS),
        "gc": "frozen after setup",
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
