"""`Zone`: one star system's simulation, advanced one fixed tick at a time.

The zone is the only way in and out of the simulation: ships are added and removed at the
edges, intents are queued with `submit` and applied at the start of the next `step`, and each
step returns the tick's events. `frame()` copies the public columns for the gateway;
`state_hash()` fingerprints the full state for replays. No I/O, no clocks except the
per-stage timings, no asyncio: the server's tick loop calls `step()` 20 times a second.
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Final

import numpy as np
from numpy.typing import NDArray

from callister.content import Hull, load_content
from callister.protocol.intents import Dock, Input, Intent, Jump, Undock
from callister.sim.entities import DOCKED, KIND_SHIP, SCHEMA, EntityStore, check_id
from callister.sim.events import ShipState, ZoneEvent
from callister.sim.frame import ZoneFrame, hull_index
from callister.sim.grid import SpatialGrid
from callister.sim.layout import ZoneLayout
from callister.sim.rules import CONTACT_SLOP
from callister.sim.schedule import LAZY_GRID, STAGE_NAMES, ensure_grid, run_schedule, zone_grid
from callister.sim.state import SimState, ship_state
from callister.sim.statics import StaticColliders

_INTENT_TYPES: Final = (Input, Dock, Undock, Jump)
_FLOAT32_SAFE: Final = 1e30


def _static_margin(radius: float, max_speed: float, dt: float) -> float:
    # The static raster must list a collider for every ship that could reach it this tick:
    # ship radius + one tick of travel at full speed + the contact slop, rounded up generously
    # so adding a slightly bigger hull later rarely forces a re-raster.
    return math.ceil((radius + max_speed * dt + CONTACT_SLOP) * 1.25)


class Zone:
    """One star system's ships, advanced by `step()` at a fixed `tick_hz`.

    Promises:
    - `step()` advances exactly one tick and runs the systems in `schedule.SCHEDULE` order;
    - intents are applied at the start of the next step, in arrival order, by the same rules
      for every actor (see `actions`); a bad intent becomes a `Refused` event, never an
      exception;
    - the same layout, ships and intents give the same `state_hash()` and events (same build
      and CPU: float32 numpy arithmetic, no randomness, no dependence on row order);
    - entity ids are never reused within a zone: `add_ship` raises ValueError for an id that
      is present or was removed before, unless the caller passes ``readmit=True`` to say the
      same ship is coming back (a return jump, a re-login).
    """

    def __init__(self, layout: ZoneLayout, *, tick_hz: int = 20, start_tick: int = 0) -> None:
        if isinstance(tick_hz, bool) or not isinstance(tick_hz, int) or tick_hz <= 0:
            raise ValueError(f"tick_hz must be a positive integer, not {tick_hz!r}")
        if isinstance(start_tick, bool) or not isinstance(start_tick, int) or start_tick < 0:
            raise ValueError(f"start_tick must be a non-negative integer, not {start_tick!r}")
        self.layout = layout
        self.tick_hz = tick_hz
        self.dt = 1.0 / tick_hz
        margin = max(
            (_static_margin(h.radius, h.max_speed, self.dt) for h in load_content().hulls.values()),
            default=0.0,
        )
        self._state = SimState(
            layout=layout,
            dt=self.dt,
            store=EntityStore(),
            statics=StaticColliders(layout, margin=margin),
            grid=zone_grid(layout),
            tick=start_tick,
        )
        self.timings_ms: dict[str, float] = dict.fromkeys(STAGE_NAMES, 0.0)
        """Milliseconds per stage of the last tick."""
        self.timings_total_ms: dict[str, float] = dict.fromkeys(STAGE_NAMES, 0.0)
        """Milliseconds per stage summed over every tick of this zone."""

    # -- read-only views ----------------------------------------------------------------------

    @property
    def tick(self) -> int:
        """The number of the last completed tick (start_tick before the first step)."""
        return self._state.tick

    @property
    def ship_count(self) -> int:
        return self._state.store.count

    @property
    def store(self) -> EntityStore:
        """The entity columns. Read-only for everyone but the zone's systems."""
        return self._state.store

    @property
    def statics(self) -> StaticColliders:
        return self._state.statics

    def has_ship(self, ship_id: int) -> bool:
        return ship_id in self._state.store

    def ship_state(self, ship_id: int) -> ShipState:
        """The ship as plain values; KeyError if the zone does not hold it."""
        return ship_state(self._state.store, ship_id)

    def ships_within(self, x: float, y: float, r: float) -> NDArray[np.uint64]:
        """Ids of the ships whose centre is within `r` of (x, y), ascending.

        Uses the neighbour grid over the current positions (see `neighbour_grid`).
        """
        state = self._state
        rows = self.neighbour_grid().query_radius(x, y, r)
        return np.sort(state.store.ids[rows])

    def neighbour_grid(self) -> SpatialGrid:
        """The dynamic grid over the current positions; its rows are `store` rows.

        Brought up to date on the first call after a step, add or remove (the "grid" stage of
        `timings_ms`), so zones nobody queries never pay for it. Valid until the next step,
        add or remove; do not keep it across them.
        """
        state = self._state
        start = time.perf_counter()
        if ensure_grid(state):
            elapsed = (time.perf_counter() - start) * 1000.0
            self.timings_ms[LAZY_GRID] += elapsed
            self.timings_total_ms[LAZY_GRID] += elapsed
        return state.grid

    # -- edges --------------------------------------------------------------------------------

    def add_ship(
        self,
        ship_id: int,
        owner: int,
        hull: Hull,
        *,
        x: float,
        y: float,
        vx: float = 0.0,
        vy: float = 0.0,
        angle: float = 0.0,
        docked_at: int | None = None,
        readmit: bool = False,
    ) -> None:
        """Put a ship into the zone, flying at (x, y) or docked at station `docked_at`.

        A docked ship sits at the station's centre at rest (x, y, vx, vy are ignored).
        Raises ValueError for a live id, an id this zone removed before (unless `readmit`: the
        caller asserts the same ship is coming back, e.g. a return jump or a re-login), an
        unknown hull key, a non-finite number or an unknown station. A refused add changes
        nothing.
        """
        state = self._state
        ship_id = check_id(ship_id)
        if ship_id in state.store or (state.store.was_removed(ship_id) and not readmit):
            state.store.add(ship_id)  # raises the store's ValueError before anything changes
        for name, value in (("x", x), ("y", y), ("vx", vx), ("vy", vy), ("angle", angle)):
            if not (math.isfinite(value) and abs(value) < _FLOAT32_SAFE):
                raise ValueError(f"{name} must be a finite float32-sized number, not {value!r}")
        if isinstance(owner, bool) or not -(2**63) <= int(owner) < 2**63:
            raise ValueError(f"owner must be a signed 64-bit integer, not {owner!r}")
        flags = 0
        station_index = -1
        if docked_at is not None:
            station = self.layout.station(docked_at)
            if station is None:
                raise ValueError(f"no station {docked_at} in this zone")
            x, y, vx, vy = station.x, station.y, 0.0, 0.0
            flags = DOCKED
            station_index = station.index
        hull_number = hull_index(hull.key)
        need = _static_margin(hull.radius, hull.max_speed, self.dt)
        state.statics = state.statics.with_margin(need)
        state.store.add(
            ship_id,
            readmit=readmit,
            owner=int(owner),
            kind=KIND_SHIP,
            hull=hull_number,
            x=x,
            y=y,
            vx=vx,
            vy=vy,
            angle=math.remainder(angle, 2 * math.pi),
            flags=flags,
            docked_at=station_index,
            max_speed=hull.max_speed,
            accel=hull.thrust,
            turn_rate=math.radians(hull.turn_rate),
            radius=hull.radius,
            mass=hull.mass,
        )

    def remove_ship(self, ship_id: int) -> ShipState:
        """Take a ship out of the zone and return its last state; KeyError if not present.

        The id is retired: adding it to this zone again raises ValueError. Intents still queued
        for it are refused UNKNOWN_SHIP when they are applied.
        """
        snapshot = ship_state(self._state.store, ship_id)
        self._state.store.remove(ship_id)
        self._state.jumping.discard(ship_id)
        return snapshot

    def submit(self, intent: Intent) -> None:
        """Queue an intent for the next step (TypeError if it is not an intent type)."""
        if not isinstance(intent, _INTENT_TYPES):
            raise TypeError(f"not an intent: {intent!r}")
        self._state.intents.append(intent)

    # -- the tick -----------------------------------------------------------------------------

    def step(self) -> list[ZoneEvent]:
        """Advance exactly one tick; return its events in the order they happened."""
        state = self._state
        state.tick += 1
        run_schedule(state, self.timings_ms, self.timings_total_ms)
        events = state.events
        state.events = []
        return events

    def frame(self) -> ZoneFrame:
        """Copies of the public columns, rows sorted by id (array copies only, read-only)."""
        s = self._state.store
        o = s.id_order()
        # Spelled out column by column with plain fancy indexing: the server frames every
        # zone every tick, most hold a handful of ships, and this is ~2x cheaper than a loop
        # of np.take calls over the column names (same cost at 100k rows).
        columns = (
            s.ids[o], s.owner[o], s.kind[o], s.hull[o], s.x[o], s.y[o], s.vx[o], s.vy[o],
            s.angle[o], s.flags[o],
        )  # fmt: skip
        for column in columns:
            column.setflags(write=False)
        return ZoneFrame(self._state.tick, *columns)

    def state_hash(self) -> str:
        """SHA-256 (hex) of the tick and every entity column in id order.

        Independent of row layout: two zones holding the same ships in the same state hash the
        same, whatever order the ships were added or removed in.
        """
        store = self._state.store
        n = store.count
        order = store.id_order()
        digest = hashlib.sha256()
        digest.update(np.array([self._state.tick, n], dtype="<i8").tobytes())
        for name, _, _ in SCHEMA:
            column = np.take(getattr(store, name)[:n], order)
            digest.update(name.encode())
            digest.update(column.astype(column.dtype.newbyteorder("<"), copy=False).tobytes())
        return digest.hexdigest()
