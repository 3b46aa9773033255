"""`SimState`: everything the systems of one zone read and write during a tick.

`Zone` owns one and hands it to each stage of the schedule. Systems are plain functions of it,
so a test can run a single system on a hand-made state.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from callister.protocol.errors import ErrorCode
from callister.protocol.intents import INTENT_NAMES, Dock, Fire, Intent, Jump, Loot, Mine, Undock
from callister.sim.entities import DOCKED, KIND_SHIP, NO_STATION, NO_WEAPON, EntityStore
from callister.sim.events import Refused, ShipState, ZoneEvent
from callister.sim.frame import HULL_KEYS
from callister.sim.grid import SpatialGrid
from callister.sim.layout import ZoneLayout
from callister.sim.rules import (
    CRIME_S,
    MINING_REPORT_S,
    REGROW_TICKS,
    SHIELD_DELAY_S,
    UNITS_PER_POINT,
    WRECK_TTL_TICKS,
    ZoneRules,
)
from callister.sim.statics import StaticColliders
from callister.sim.weapons import WEAPON_KEYS, WeaponTable

SHIP_GRID_CELL: float = 250.0
"""m: cell of the ship grid the combat stages build (beams and shells query a few cells)."""
SHIP_GRID_MAX_CELLS: int = 1 << 16


class IdPool:
    """Entity ids the world granted the zone for its own spawns (shells, missiles, wrecks).

    Ranges are used in the order granted, each from its start; `take` never hands out an id
    twice.
    """

    def __init__(self) -> None:
        self._ranges: deque[range] = deque()
        self._left = 0

    def grant(self, ids: range) -> None:
        if not isinstance(ids, range):
            raise TypeError(f"grant_ids takes a range, not {ids!r}")
        if len(ids) == 0:
            return
        if ids.step <= 0 or ids.start < 1 or ids[-1] > 2**64 - 1:
            raise ValueError(f"ids must be an ascending range within 1..2**64-1, not {ids!r}")
        self._ranges.append(ids)
        self._left += len(ids)

    def __len__(self) -> int:
        return self._left

    def ranges(self) -> list[range]:
        """The ids left, as the ranges they will be taken from (in order)."""
        return list(self._ranges)

    def take(self, k: int) -> list[int]:
        """The next `k` ids (ValueError if fewer are left; nothing is taken then)."""
        if k > self._left:
            raise ValueError(f"{k} ids wanted, {self._left} left")
        out: list[int] = []
        while len(out) < k:
            head = self._ranges[0]
            need = k - len(out)
            out.extend(head[:need])
            rest = head[need:]
            if len(rest) == 0:
                self._ranges.popleft()
            else:
                self._ranges[0] = rest
        self._left -= k
        return out


@dataclass(eq=False)
class FieldState:
    """An asteroid field's ore during the zone's life. `units` is what is left to mine;
    `richness` = ceil(units / UNITS_PER_POINT); `tick` the last change of richness."""

    index: int
    ore: str
    richness: int
    base: int
    units: float
    tick: int

    @classmethod
    def make(cls, index: int, ore: str, richness: int, base: int, tick: int) -> FieldState:
        return cls(index, ore, richness, base, float(richness * UNITS_PER_POINT), tick)


@dataclass(eq=False)
class SimState:
    """Mutable state of one zone. Only the schedule's systems and `Zone` mutate it."""

    layout: ZoneLayout
    dt: float
    store: EntityStore
    statics: StaticColliders
    grid: SpatialGrid
    tick: int = 0
    rules: ZoneRules = field(default_factory=ZoneRules)
    intents: list[Intent] = field(default_factory=list)
    """Submitted since the last step, in arrival order."""
    actions: list[Dock | Undock | Jump | Mine | Loot] = field(default_factory=list)
    """Dock/Undock/Jump/Mine/Loot that passed the ownership check, for the docking stage."""
    fires: list[tuple[Fire, int]] = field(default_factory=list)
    """Fire intents that passed the ownership check with their shooter's row, in arrival
    order, for the weapons stage (no add or remove happens between the two stages)."""
    fires_version: int = -1
    """`store.version` when `fires` rows were read."""
    events: list[ZoneEvent] = field(default_factory=list)
    grid_built: tuple[int, int] = (-1, -1)
    """(`store.version`, `tick`) when `grid` was last brought up to date: it is stale after
    every step (ships moved) and every add or remove (rows changed)."""
    jumping: set[int] = field(default_factory=set)
    """Ids of ships with a charging jump (few, so the charge stage skips a column scan)."""
    miners: set[int] = field(default_factory=set)
    crew: dict[int, int] = field(default_factory=dict)
    """Actor id -> the ship it crews: its intents for that ship pass the ownership check."""
    stations: dict[int, dict[str, int]] = field(default_factory=dict)
    """Shared ships (Zone.set_stations): ship id -> station -> the actor holding it. A ship
    listed here takes each intent only from the holder of its station (actions.STATION_OF);
    an empty station is the owner's."""
    power: dict[int, tuple[float, float, float]] = field(default_factory=dict)
    """Ship id -> the engineer's (engines, weapons, shields) factors (absent: 1, 1, 1)."""
    """Ids of ships that are mining."""
    damaged: bool = False
    """A hit landed since the destruction stage last looked (it scans hulls only then)."""
    criminals: int = 0
    """Ships flagged CRIMINAL (as of the last regeneration stage, plus crimes since)."""
    pool: IdPool = field(default_factory=IdPool)
    weapons: WeaponTable | None = None
    fields: dict[int, FieldState] = field(default_factory=dict)
    next_regrow: int = 2**62
    """Earliest tick at which some field regrows a point (2**62: none will)."""
    tick_hz: int = 20
    travel_map: object | None = None
    """The autopilot's map of the layout's bodies (`autopilot.travel_map`), built on first use."""
    _scratch: dict[str, NDArray[Any]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.weapons is None:
            self.weapons = WeaponTable.build(self.tick_hz)

    # -- per-zone durations in ticks ------------------------------------------------------------

    def seconds(self, s: float) -> int:
        """`s` seconds in whole ticks of this zone (at least 1)."""
        return max(1, round(s * self.tick_hz))

    @property
    def shield_delay(self) -> int:
        return self.seconds(SHIELD_DELAY_S)

    @property
    def crime_ticks(self) -> int:
        return self.seconds(CRIME_S)

    @property
    def report_ticks(self) -> int:
        return self.seconds(MINING_REPORT_S)

    @property
    def wreck_ttl(self) -> int:
        return self.seconds(WRECK_TTL_TICKS / 20.0)

    # -- scratch ------------------------------------------------------------------------------

    def scratch_trig(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Two float32 work arrays of the store's capacity (headings' cos and sin)."""
        return self._work("cos", np.float32), self._work("sin", np.float32)

    def scratch_hits(
        self,
    ) -> tuple[
        NDArray[np.int64],
        NDArray[np.int32],
        NDArray[np.int64],
        NDArray[np.int32],
        NDArray[np.float64],
        NDArray[np.bool_],
    ]:
        """Work arrays of the store's capacity for a tick's collisions: ships near a collider
        (row, raster slot), then the hits (row, collider, impact speed, new contact?)."""
        return (
            self._work("near", np.int64),
            self._work("near_slot", np.int32),
            self._work("hit_rows", np.int64),
            self._work("hit_static", np.int32),
            self._work("hit_speed", np.float64),
            self._work("hit_new", np.bool_),
        )

    def scratch(self, name: str, dtype: type[np.generic], size: int | None = None) -> NDArray[Any]:
        """A reusable work array of at least `size` (default: the store's capacity) entries."""
        return self._work(name, dtype, size)

    def memo(self, name: str, build: Callable[[], NDArray[Any]]) -> NDArray[Any]:
        """An array computed once from the zone's fixed parts (the layout) and kept with the
        work arrays (dropped with them when a checkpoint replaces the state)."""
        array = self._scratch.get(name)
        if array is None:
            array = self._scratch[name] = build()
        return array

    def drop_scratch(self) -> None:
        """Forget the work arrays and memos (the state was replaced: sizes and layout may
        differ)."""
        self._scratch.clear()

    def _work(self, name: str, dtype: type[np.generic], size: int | None = None) -> NDArray[Any]:
        # Reused across ticks: allocating a handful of arrays per stage is a measurable part
        # of a small zone's tick. Regrown with the store.
        need = self.store.capacity if size is None else size
        array = self._scratch.get(name)
        if array is None or array.size < need:
            array = np.empty(max(need, 1), dtype=dtype)
            self._scratch[name] = array
        return array

    # -- id lookups -----------------------------------------------------------------------------

    def rows_of(self, ids: NDArray[np.uint64]) -> NDArray[np.int64]:
        """The row of each id (-1 for ids not in the store), vectorised over the sorted ids."""
        store = self.store
        n = store.count
        if n == 0 or ids.size == 0:
            return np.full(ids.size, -1, dtype=np.int64)
        order = store.id_order()
        sorted_ids = store.ids[:n][order]
        pos = np.searchsorted(sorted_ids, ids)
        np.minimum(pos, n - 1, out=pos)
        found = sorted_ids[pos] == ids
        return np.where(found, order[pos], -1).astype(np.int64)

    def update_next_regrow(self) -> None:
        """Recompute `next_regrow` after a field's richness changed."""
        due = [f.tick + REGROW_TICKS for f in self.fields.values() if f.richness < f.base]
        self.next_regrow = min(due, default=2**62)


def ensure_grid(state: SimState) -> bool:
    """Bring `state.grid` up to the live positions (rows are store rows) unless it already is;
    True if it had to be updated.

    Incremental: a tick moves only a few % of ships across a cell border, and only those are
    re-sorted (a full sort happens when ships were added or removed).
    """
    built = (state.store.version, state.tick)
    if state.grid_built == built:
        return False
    n = state.store.count
    state.grid.update(state.store.x[:n], state.store.y[:n])
    state.grid_built = built
    return True


def slot_weapons(store: EntityStore, row: int) -> tuple[str, ...]:
    """The weapon keys of a ship's slots ("" for an empty slot), one per hull slot."""
    slots = store.slots.item(row)
    return tuple(
        "" if w == NO_WEAPON else WEAPON_KEYS[w] for w in store.weapon[row, :slots].tolist()
    )


def ship_state(store: EntityStore, entity_id: int) -> ShipState:
    """The ship `entity_id` as plain values, vitals included (KeyError if it is not a live
    ship)."""
    row = store.row(entity_id)
    if store.kind.item(row) != KIND_SHIP:
        raise KeyError(f"entity {entity_id} is not a ship")
    docked = bool(store.flags.item(row) & DOCKED)
    station = store.docked_at.item(row)
    slots = store.slots.item(row)
    return ShipState(
        id=entity_id,
        owner=store.owner.item(row),
        hull=HULL_KEYS[store.hull.item(row)],
        x=store.x.item(row),
        y=store.y.item(row),
        vx=store.vx.item(row),
        vy=store.vy.item(row),
        angle=store.angle.item(row),
        docked_at=station if docked and station != NO_STATION else None,
        hull_hp=max(0.0, store.hull_hp.item(row)),
        shield=store.shield.item(row),
        energy=store.energy.item(row),
        fuel=store.fuel.item(row),
        weapons=slot_weapons(store, row),
        ammo=tuple(store.ammo[row, :slots].tolist()),
    )


def refuse(
    state: SimState, intent: Intent, code: ErrorCode, reason: str, *, evidence: bool = False
) -> None:
    """Record that the zone would not carry out `intent` (a `Refused` event named after the
    intent's type); `evidence` marks what an honest client should not cause."""
    state.events.append(
        Refused(intent.actor, intent.ship, INTENT_NAMES[type(intent)], code, reason, evidence)
    )


def refuse_if_too_fast(
    state: SimState,
    intent: Intent,
    row: int,
    max_speed: float,
    code: ErrorCode,
    *,
    evidence: bool = False,
) -> bool:
    """Refuse `intent` when its ship (at `row`) moves faster than `max_speed` m/s; True if it
    was refused. The reason names the intent: "moving at 40 m/s; dock at 20 m/s or less"."""
    speed = math.hypot(state.store.vx.item(row), state.store.vy.item(row))
    if speed > max_speed:
        verb = INTENT_NAMES[type(intent)]
        reason = f"moving at {speed:.0f} m/s; {verb} at {max_speed:.0f} m/s or less"
        refuse(state, intent, code, reason, evidence=evidence)
        return True
    return False


def refuse_if_too_far(
    state: SimState, intent: Intent, target: str, gap: float, reach: float
) -> bool:
    """Refuse `intent` TOO_FAR (as evidence) when its ship is more than `reach` m from
    `target` ("the rock", "the wreck"), `gap` m away; True if it was refused."""
    if gap > reach:
        verb = INTENT_NAMES[type(intent)]
        reason = f"{target} is {gap:.0f} m away; {verb} within {reach:.0f} m"
        refuse(state, intent, ErrorCode.TOO_FAR, reason, evidence=True)
        return True
    return False
