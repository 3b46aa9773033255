"""The benchmark workload written as idiomatic esper processors, for comparison.

Same rules as `callister.sim` (steering, swept collisions with statics, restitution, contact
tracking, soft boundary, a neighbour grid rebuilt every tick), written the way an esper game
would: one small slotted dataclass per component, one processor per system, per-entity Python
loops over ``esper.get_components``, and a dict-of-lists grid for the statics. The benchmark
test checks the two implementations produce the same trajectories, so the comparison is of
the same work.

It runs in its own esper world (esper 3 keeps worlds in module state) and deletes it on exit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib.metadata import version
from types import TracebackType
from typing import TYPE_CHECKING, Final

import esper

from callister.sim.rules import (
    BOUNDARY_ACCEL,
    BOUNDARY_DAMPING,
    BOUNDARY_FACTOR,
    CONTACT_SLOP,
    GRID_CELL_SIZE,
    PUSH_OUT_EPSILON,
    RESTING_SPEED,
    RESTITUTION,
)
from callister.sim.statics import STATIC_CELL_SIZE, StaticColliders

if TYPE_CHECKING:
    from callister.bench.workload import Control, ShipSpec
    from callister.sim import ZoneLayout

ESPER_VERSION: Final = version("esper")
_WORLD: Final = "callister-bench-sim"
_TWO_PI: Final = 2 * math.pi


@dataclass(slots=True)
class Position:
    x: float
    y: float


@dataclass(slots=True)
class Velocity:
    x: float
    y: float


@dataclass(slots=True)
class Heading:
    angle: float


@dataclass(slots=True)
class Controls:
    thrust: float = 0.0
    turn: float = 0.0
    brake: bool = False


@dataclass(slots=True)
class HullStats:
    max_speed: float
    accel: float
    turn_rate: float  # rad/s
    radius: float


@dataclass(slots=True)
class Contact:
    static: int = -1


@dataclass(slots=True)
class ShipId:
    id: int


class InputProcessor(esper.Processor):
    """Applies this tick's control changes (the equivalent of Input intents)."""

    def __init__(self, entity_of: dict[int, int]) -> None:
        self.entity_of = entity_of
        self.pending: list[Control] = []

    def process(self) -> None:
        for ship, thrust, turn, brake in self.pending:
            c = esper.component_for_entity(self.entity_of[ship], Controls)
            c.thrust = thrust
            c.turn = turn
            c.brake = brake
        self.pending = []


class SteeringProcessor(esper.Processor):
    def __init__(self, dt: float) -> None:
        self.dt = dt

    def process(self) -> None:
        dt = self.dt
        for _, (c, v, h, s) in esper.get_components(Controls, Velocity, Heading, HullStats):
            a = h.angle + c.turn * s.turn_rate * dt
            if a > math.pi:
                a -= _TWO_PI
            elif a < -math.pi:
                a += _TWO_PI
            h.angle = a
            if c.brake:
                speed = math.hypot(v.x, v.y)
                slow = s.accel * dt
                keep = (speed - slow) / speed if speed > slow else 0.0
                v.x *= keep
                v.y *= keep
            elif c.thrust > 0.0:
                push = c.thrust * s.accel * dt
                v.x += math.cos(a) * push
                v.y += math.sin(a) * push
            s2 = v.x * v.x + v.y * v.y
            if s2 > s.max_speed * s.max_speed:
                k = s.max_speed / math.sqrt(s2)
                v.x *= k
                v.y *= k


class IntegrateProcessor(esper.Processor):
    def __init__(self, dt: float) -> None:
        self.dt = dt

    def process(self) -> None:
        dt = self.dt
        for _, (p, v) in esper.get_components(Position, Velocity):
            p.x += v.x * dt
            p.y += v.y * dt


class CollisionProcessor(esper.Processor):
    """Swept circle tests against statics found through a dict grid, per entity."""

    def __init__(self, layout: ZoneLayout, dt: float, margin: float) -> None:
        self.dt = dt
        statics = StaticColliders(layout)
        self.sx = statics.x.tolist()
        self.sy = statics.y.tolist()
        self.sr = statics.r.tolist()
        self.cell = STATIC_CELL_SIZE
        self.grid: dict[tuple[int, int], list[int]] = {}
        for j, (x, y, r) in enumerate(zip(self.sx, self.sy, self.sr, strict=True)):
            reach = r + margin
            for cx in range(
                math.floor((x - reach) / self.cell), math.floor((x + reach) / self.cell) + 1
            ):
                for cy in range(
                    math.floor((y - reach) / self.cell), math.floor((y + reach) / self.cell) + 1
                ):
                    self.grid.setdefault((cx, cy), []).append(j)
        self.hits = 0

    def process(self) -> None:
        dt = self.dt
        cell = self.cell
        grid = self.grid
        sx, sy, sr = self.sx, self.sy, self.sr
        for _, (p, v, s, contact) in esper.get_components(Position, Velocity, HullStats, Contact):
            previous = contact.static
            candidates = grid.get((math.floor(p.x / cell), math.floor(p.y / cell)))
            best = -1
            best_t = math.inf
            inside = False
            if candidates:
                dx = v.x * dt
                dy = v.y * dt
                for j in candidates:
                    reach = s.radius + sr[j]
                    fx = p.x - dx - sx[j]
                    fy = p.y - dy - sy[j]
                    c = fx * fx + fy * fy - reach * reach
                    if c < 0.0:
                        t = 0.0
                    else:
                        a = dx * dx + dy * dy
                        b = fx * dx + fy * dy
                        if a <= 0.0 or b >= 0.0:
                            continue
                        disc = b * b - a * c
                        if disc < 0.0:
                            continue
                        t = (-b - math.sqrt(disc)) / a
                        if t > 1.0:
                            continue
                    if t < best_t:
                        best_t = t
                        best = j
                        inside = c < 0.0
            if best < 0:
                if previous >= 0:
                    reach = s.radius + sr[previous] + CONTACT_SLOP
                    if math.hypot(p.x - sx[previous], p.y - sy[previous]) > reach:
                        contact.static = -1
                continue
            # Where the centre touched the surface: where it is, if it started inside.
            qx = p.x if inside else p.x - dx * (1.0 - best_t)
            qy = p.y if inside else p.y - dy * (1.0 - best_t)
            ox, oy = self._resolve(qx, qy, best, s.radius, v)
            # Second, discrete pass: out of any other collider the push-out left us in.
            deepest = -1
            depth = 0.0
            for j in candidates or ():
                d = s.radius + sr[j] - math.hypot(ox - sx[j], oy - sy[j])
                if d > depth:
                    depth = d
                    deepest = j
            if deepest >= 0:
                ox, oy = self._resolve(ox, oy, deepest, s.radius, v)
            p.x = ox
            p.y = oy
            if previous != best:
                self.hits += 1
            contact.static = best

    def _resolve(
        self, qx: float, qy: float, j: int, radius: float, v: Velocity
    ) -> tuple[float, float]:
        nx = qx - self.sx[j]
        ny = qy - self.sy[j]
        length = math.hypot(nx, ny)
        if length < 1e-9:
            nx, ny = -v.x, -v.y
            length = math.hypot(nx, ny)
            if length < 1e-9:
                nx, ny, length = 1.0, 0.0, 1.0
        nx /= length
        ny /= length
        vn = min(v.x * nx + v.y * ny, 0.0)
        bounce = 1.0 + (RESTITUTION if vn < -RESTING_SPEED else 0.0)
        v.x -= bounce * vn * nx
        v.y -= bounce * vn * ny
        out = radius + self.sr[j] + PUSH_OUT_EPSILON
        return self.sx[j] + nx * out, self.sy[j] + ny * out


class BoundaryProcessor(esper.Processor):
    def __init__(self, radius: float, dt: float) -> None:
        self.limit = BOUNDARY_FACTOR * radius
        self.dt = dt

    def process(self) -> None:
        limit2 = self.limit * self.limit
        for _, (p, v) in esper.get_components(Position, Velocity):
            r2 = p.x * p.x + p.y * p.y
            if r2 > limit2:
                r = math.sqrt(r2)
                nx, ny = p.x / r, p.y / r
                push = max(v.x * nx + v.y * ny, 0.0) * BOUNDARY_DAMPING + BOUNDARY_ACCEL * self.dt
                v.x -= nx * push
                v.y -= ny * push


class GridProcessor(esper.Processor):
    """Rebuilds the neighbour grid (cell -> entities) every tick, as the zone does."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], list[int]] = {}

    def process(self) -> None:
        cells: dict[tuple[int, int], list[int]] = {}
        size = GRID_CELL_SIZE
        for ent, p in esper.get_component(Position):
            key = (math.floor(p.x / size), math.floor(p.y / size))
            bucket = cells.get(key)
            if bucket is None:
                cells[key] = [ent]
            else:
                bucket.append(ent)
        self.cells = cells


class EsperPeer:
    """The workload in an esper world. Use as a context manager; `step(controls)` is a tick."""

    def __init__(self, layout: ZoneLayout, ships: list[ShipSpec], *, tick_hz: int = 20) -> None:
        dt = 1.0 / tick_hz
        self._previous_world = esper.current_world
        esper.switch_world(_WORLD)
        esper.clear_database()
        entity_of: dict[int, int] = {}
        margin = 0.0
        for s in ships:
            hull = s.hull
            margin = max(margin, hull.radius + hull.max_speed * dt + CONTACT_SLOP)
            entity_of[s.id] = esper.create_entity(
                ShipId(s.id),
                Position(s.x, s.y),
                Velocity(s.vx, s.vy),
                Heading(math.remainder(s.angle, _TWO_PI)),
                Controls(),
                HullStats(hull.max_speed, hull.thrust, math.radians(hull.turn_rate), hull.radius),
                Contact(),
            )
        self.entity_of = entity_of
        self.inputs = InputProcessor(entity_of)
        self.collisions = CollisionProcessor(layout, dt, margin)
        for processor in (
            self.inputs,
            SteeringProcessor(dt),
            IntegrateProcessor(dt),
            self.collisions,
            BoundaryProcessor(layout.radius, dt),
            GridProcessor(),
        ):
            esper.add_processor(processor)

    def step(self, controls: list[Control]) -> None:
        """One tick: queue the control changes, then run every processor once."""
        self.inputs.pending = controls
        esper.process()

    def ships(self) -> dict[int, tuple[float, float, float, float]]:
        """ship id -> (x, y, vx, vy)."""
        out: dict[int, tuple[float, float, float, float]] = {}
        for _, (sid, p, v) in esper.get_components(ShipId, Position, Velocity):
            out[sid.id] = (p.x, p.y, v.x, v.y)
        return out

    def close(self) -> None:
        """Leave and delete the benchmark's esper world."""
        if esper.current_world == _WORLD:
            esper.switch_world(
                self._previous_world if self._previous_world != _WORLD else "default"
            )
        if _WORLD in esper.list_worlds():
            esper.delete_world(_WORLD)

    def __enter__(self) -> EsperPeer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
