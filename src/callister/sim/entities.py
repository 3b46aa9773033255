"""Columnar storage for a zone's dynamic entities: ships, shells, missiles and wrecks.

One numpy array per component field, all indexed by *row*. Rows are dense: removing an entity
moves the last row into the hole (swap-remove), so every system works on ``column[:count]``
without masks for dead slots. Because rows move, nothing outside this module may hold a row
across an add or remove; hold the 64-bit entity id and ask `row()` again.

Entity ids are allocated outside the simulation (the server reserves blocks from the database),
so the store never invents one. It refuses an id that is live, and an id it has removed before:
like bevy's generational ids, a stale handle must fail loudly instead of silently addressing a
newcomer that happens to reuse the number.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Mapping
from typing import Any, Final

import numpy as np
from numpy.typing import DTypeLike, NDArray

from callister.content import MAX_WEAPON_SLOTS

# Kinematics are float32: half the memory traffic of float64, and numpy's float32 sin/cos are
# ~25x faster than float64 on AVX-512 (measured 0.06 ms vs 1.8 ms for 100k). The resolution
# of float32 is 1/128 m out to 131 km from the star, which covers any system the boundary
# stage lets a ship reach; a universe with far larger systems would change this one constant.
FLOAT: Final = np.float32

# Entity kinds (the `kind` column). 0 is never used so a zeroed row is recognisably invalid.
KIND_SHIP: Final = 1
KIND_PROJECTILE: Final = 2  # a cannon shell
KIND_MISSILE: Final = 3
KIND_WRECK: Final = 4

# Bits of the `flags` column.
DOCKED: Final = 1
THRUSTING: Final = 2
JUMPING: Final = 4
CRIMINAL: Final = 8  # flagged by the law (see combat.py); station defences fire on it
SHIELD_HIT: Final = 16  # hit this tick
MINING: Final = 32
NO_FUEL: Final = 64  # the tank is empty: thrust and brake do nothing
FIRING: Final = 128  # fired this tick

# `ap_kind`: what the autopilot flies to (0: the autopilot is off).
AP_OFF: Final = 0
AP_STATION: Final = 1
AP_FIELD: Final = 2
AP_LINK: Final = 3
AP_SHIP: Final = 4
AP_POINT: Final = 5

# Bits of `ap_flags`.
AP_MAY_CRUISE: Final = 1  # the autopilot may engage cruise on long legs
AP_REACHED: Final = 2  # following a ship: `AutopilotArrived` was raised

# `cruise`: the cruise drive's state.
CRUISE_OFF: Final = 0
CRUISE_SPOOLING: Final = 1
CRUISE_ON: Final = 2

NO_STATION: Final = -1  # `docked_at` when undocked
NO_CONTACT: Final = -1  # `contact` when not touching a static collider
NO_WEAPON: Final = -1  # `weapon` of an empty slot; `shot_weapon` of a non-shot
NO_ROCK: Final = -1  # `mine_rock` when not mining
STATION_WEAPON: Final = -2  # `last_weapon` when a station's defences hit last

SLOTS: Final = MAX_WEAPON_SLOTS
"""Weapon slots per row: `weapon`, `ready` and `ammo` are (capacity, SLOTS) columns."""

MAX_ID: Final = 2**64 - 1

# (name, dtype, default). The order is the order `state_hash` reads them in, so append new
# columns at the end to keep old replays comparable.
SCHEMA: Final[tuple[tuple[str, DTypeLike, int | float | bool], ...]] = (
    ("ids", np.uint64, 0),
    ("owner", np.int64, 0),
    ("kind", np.uint8, 0),
    ("hull", np.uint8, 0),  # index into callister.sim.frame.HULL_KEYS
    ("x", FLOAT, 0.0),  # metres, system frame (star at the origin)
    ("y", FLOAT, 0.0),
    ("vx", FLOAT, 0.0),  # m/s
    ("vy", FLOAT, 0.0),
    ("angle", FLOAT, 0.0),  # heading, radians in [-pi, pi], 0 = +x, counter-clockwise
    ("thrust", FLOAT, 0.0),  # held controls: thrust 0..1, turn -1..1, brake
    ("turn", FLOAT, 0.0),
    ("brake", np.bool_, False),
    ("flags", np.uint8, 0),
    ("docked_at", np.int16, NO_STATION),  # station index while DOCKED
    ("jump_ticks", np.int16, 0),  # ticks of jump charge left while JUMPING
    ("jump_x", np.int64, 0),  # target sector of the charging jump
    ("jump_y", np.int64, 0),
    ("contact", np.int32, NO_CONTACT),  # static collider touched last tick (for new-hit events)
    # Per-hull stats gathered at add time so systems never touch Python objects.
    ("max_speed", FLOAT, 0.0),  # m/s
    ("accel", FLOAT, 0.0),  # m/s^2 at full thrust
    ("turn_rate", FLOAT, 0.0),  # rad/s at full turn
    ("radius", FLOAT, 0.0),  # m
    ("mass", FLOAT, 0.0),  # t
    # -- combat, upkeep, law, mining (ships) ---------------------------------------------------
    ("slots", np.uint8, 0),  # weapon slots of the hull
    ("hull_hp", FLOAT, 0.0),  # hit points left; <= 0 destroys the ship at the end of the tick
    ("hull_max", FLOAT, 0.0),
    ("shield", FLOAT, 0.0),
    ("shield_max", FLOAT, 0.0),
    ("shield_regen", FLOAT, 0.0),  # points/s, each costing one energy
    ("shield_at", np.int64, 0),  # tick from which the shield regenerates (last hit + delay)
    ("energy", FLOAT, 0.0),
    ("energy_max", FLOAT, 0.0),
    ("energy_regen", FLOAT, 0.0),  # /s
    ("fuel", FLOAT, 0.0),
    ("fuel_max", FLOAT, 0.0),
    ("fuel_burn", FLOAT, 0.0),  # /s at full thrust (and while braking), before the multiplier
    ("jump_fuel", FLOAT, 0.0),
    ("weapon", np.int16, NO_WEAPON),  # (SLOTS,): index into weapons.WEAPON_KEYS, -1 empty
    ("ready", np.int64, 0),  # (SLOTS,): tick from which the slot may fire again
    ("ammo", np.int32, 0),  # (SLOTS,): rounds left in the magazine
    ("cargo_free", np.int32, 0),  # units of free cargo space (set by the world)
    ("criminal_until", np.int64, 0),  # tick the CRIMINAL flag ends
    ("mine_rock", np.int32, NO_ROCK),  # rock being mined (layout index)
    ("mine_acc", np.float64, 0.0),  # ore units mined and not yet reported
    ("mine_report", np.int64, 0),  # tick of the next possible Mined report
    ("last_by", np.uint64, 0),  # who hit this ship last (0: a station), for Destroyed
    ("last_by_owner", np.int64, 0),
    ("last_weapon", np.int16, NO_WEAPON),  # weapon index, or STATION_WEAPON
    # -- shells, missiles, wrecks ----------------------------------------------------------------
    ("source", np.uint64, 0),  # the ship that fired a shell or missile
    ("target", np.uint64, 0),  # a missile's target
    ("shot_weapon", np.int16, NO_WEAPON),  # the weapon that fired a shell or missile
    ("damage", FLOAT, 0.0),  # damage a shell or missile does on hit
    ("expires", np.int64, 0),  # tick at which a shell, missile or wreck disappears
    # -- crews (issue 4) --------------------------------------------------------------------------
    ("mining_mult", FLOAT, 1.0),  # the miner's skill: x mining yield of this ship
    # -- travel: autopilot and cruise (issue 16; sim/autopilot.py) -------------------------------
    ("ap_kind", np.uint8, AP_OFF),  # AP_*: what the autopilot flies to
    ("ap_flags", np.uint8, 0),  # AP_MAY_CRUISE | AP_REACHED
    ("ap_index", np.int32, 0),  # the target station, field or link (its index)
    ("ap_target", np.uint64, 0),  # a followed ship
    ("ap_x", np.float64, 0.0),  # the goal's centre (a followed ship's position, each tick)
    ("ap_y", np.float64, 0.0),
    ("ap_vx", FLOAT, 0.0),  # the goal's velocity (a followed ship's)
    ("ap_vy", FLOAT, 0.0),
    ("ap_r", FLOAT, 0.0),  # stop this far from the goal's centre, on the ship's side
    ("ap_skip", np.int16, -1),  # the route obstacle the goal is (not avoided), or -1
    ("cruise", np.uint8, CRUISE_OFF),  # CRUISE_*
    ("cruise_ticks", np.int32, 0),  # spooling: ticks left; off: ticks of cool-down left
    ("cruise_speed", FLOAT, 0.0),  # m/s, the hull's (0: no cruise drive)
    ("cruise_fuel", FLOAT, 0.0),  # fuel per metre flown in cruise
)
COLUMN_NAMES: Final = tuple(name for name, _, _ in SCHEMA)
WIDE_COLUMNS: Final = frozenset({"weapon", "ready", "ammo"})
"""Columns with one value per weapon slot: shape (capacity, SLOTS)."""


def _column(name: str, dtype: DTypeLike, default: object, capacity: int) -> NDArray[Any]:
    shape = (capacity, SLOTS) if name in WIDE_COLUMNS else (capacity,)
    return np.full(shape, default, dtype=dtype)


# Recently removed ids sit in a set; past this many they are merged into a sorted uint64 array
# (8 bytes per id instead of ~70) so a long-lived zone's memory of retired ids stays small.
_RETIRED_MERGE_AT: Final = 4096


def check_id(entity_id: int) -> int:
    """Return `entity_id` as a Python int, or raise ValueError unless it is in 0..2**64-1."""
    if isinstance(entity_id, bool):
        raise ValueError(f"entity id must be an integer, not {entity_id!r}")
    try:
        value = operator.index(entity_id)
    except TypeError:
        raise ValueError(f"entity id must be an integer, not {entity_id!r}") from None
    if not 0 <= value <= MAX_ID:
        raise ValueError(f"entity id {value} is outside the 64-bit unsigned range")
    return value


class EntityStore:
    """Dense numpy columns for dynamic entities, addressed by never-reused 64-bit ids.

    Promises:
    - every column has the same length (capacity); rows ``0..count-1`` are live and dense;
    - ``row(id)`` is the current row of a live id, kept exact under swap-remove;
    - `add` refuses (ValueError) an id that is live or was removed before by this store;
    - capacity doubles when full, which reallocates the arrays: re-read ``store.x`` etc. after
      an add rather than keeping a reference;
    - `version` changes on every add and remove (for caches keyed on row layout).
    """

    ids: NDArray[np.uint64]
    owner: NDArray[np.int64]
    kind: NDArray[np.uint8]
    hull: NDArray[np.uint8]
    x: NDArray[np.float32]
    y: NDArray[np.float32]
    vx: NDArray[np.float32]
    vy: NDArray[np.float32]
    angle: NDArray[np.float32]
    thrust: NDArray[np.float32]
    turn: NDArray[np.float32]
    brake: NDArray[np.bool_]
    flags: NDArray[np.uint8]
    docked_at: NDArray[np.int16]
    jump_ticks: NDArray[np.int16]
    jump_x: NDArray[np.int64]
    jump_y: NDArray[np.int64]
    contact: NDArray[np.int32]
    max_speed: NDArray[np.float32]
    accel: NDArray[np.float32]
    turn_rate: NDArray[np.float32]
    radius: NDArray[np.float32]
    mass: NDArray[np.float32]
    slots: NDArray[np.uint8]
    hull_hp: NDArray[np.float32]
    hull_max: NDArray[np.float32]
    shield: NDArray[np.float32]
    shield_max: NDArray[np.float32]
    shield_regen: NDArray[np.float32]
    shield_at: NDArray[np.int64]
    energy: NDArray[np.float32]
    energy_max: NDArray[np.float32]
    energy_regen: NDArray[np.float32]
    fuel: NDArray[np.float32]
    fuel_max: NDArray[np.float32]
    fuel_burn: NDArray[np.float32]
    jump_fuel: NDArray[np.float32]
    weapon: NDArray[np.int16]
    ready: NDArray[np.int64]
    ammo: NDArray[np.int32]
    cargo_free: NDArray[np.int32]
    criminal_until: NDArray[np.int64]
    mine_rock: NDArray[np.int32]
    mine_acc: NDArray[np.float64]
    mine_report: NDArray[np.int64]
    last_by: NDArray[np.uint64]
    last_by_owner: NDArray[np.int64]
    last_weapon: NDArray[np.int16]
    source: NDArray[np.uint64]
    target: NDArray[np.uint64]
    shot_weapon: NDArray[np.int16]
    damage: NDArray[np.float32]
    expires: NDArray[np.int64]
    mining_mult: NDArray[np.float32]
    ap_kind: NDArray[np.uint8]
    ap_flags: NDArray[np.uint8]
    ap_index: NDArray[np.int32]
    ap_target: NDArray[np.uint64]
    ap_x: NDArray[np.float64]
    ap_y: NDArray[np.float64]
    ap_vx: NDArray[np.float32]
    ap_vy: NDArray[np.float32]
    ap_r: NDArray[np.float32]
    ap_skip: NDArray[np.int16]
    cruise: NDArray[np.uint8]
    cruise_ticks: NDArray[np.int32]
    cruise_speed: NDArray[np.float32]
    cruise_fuel: NDArray[np.float32]

    def __init__(self, capacity: int = 256) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._count = 0
        self._rows: dict[int, int] = {}
        self._retired_recent: set[int] = set()
        self._retired_sorted: NDArray[np.uint64] = np.empty(0, dtype=np.uint64)
        self._id_order: NDArray[np.intp] | None = None
        self._kind_counts = [0] * 256
        self.version = 0
        for name, dtype, default in SCHEMA:
            setattr(self, name, _column(name, dtype, default, capacity))

    # -- size ---------------------------------------------------------------------------------

    @property
    def count(self) -> int:
        """Number of live entities (rows ``0..count-1``)."""
        return self._count

    @property
    def capacity(self) -> int:
        return self._capacity

    def __len__(self) -> int:
        return self._count

    def __contains__(self, entity_id: object) -> bool:
        return entity_id in self._rows

    def count_of(self, kind: int) -> int:
        """Number of live entities of `kind` (kept exact by add, remove and their batch forms)."""
        return self._kind_counts[kind]

    def __iter__(self) -> Iterator[int]:
        """Live ids in row order (a snapshot: safe to remove while iterating)."""
        return iter(list(self._rows))

    # -- lookup -------------------------------------------------------------------------------

    def row(self, entity_id: int) -> int:
        """The current row of a live entity; KeyError if it is not live."""
        try:
            return self._rows[entity_id]
        except KeyError:
            raise KeyError(f"no live entity {entity_id}") from None

    @property
    def row_map(self) -> Mapping[int, int]:
        """Live id -> row, kept exact under swap-remove. A view: read it, never mutate it."""
        return self._rows

    def find(self, entity_id: int, default: int | None = None) -> int | None:
        """The current row of `entity_id`, or `default` if it is not live."""
        return self._rows.get(entity_id, default)

    def get(self, entity_id: int) -> dict[str, Any]:
        """All column values of a live entity as Python scalars (KeyError if not live); the
        per-slot columns as lists."""
        row = self.row(entity_id)
        return {name: getattr(self, name)[row].tolist() for name in COLUMN_NAMES}

    def was_removed(self, entity_id: int) -> bool:
        """True if this store removed `entity_id` before (such ids are refused by `add`)."""
        if entity_id in self._retired_recent:
            return True
        retired = self._retired_sorted
        if retired.size == 0 or not 0 <= entity_id <= MAX_ID:
            return False
        pos = int(np.searchsorted(retired, np.uint64(entity_id)))
        return pos < retired.size and int(retired[pos]) == entity_id

    def id_order(self) -> NDArray[np.intp]:
        """Rows sorted by entity id (cached until the next add or remove; do not mutate)."""
        if self._id_order is None:
            order = np.argsort(self.ids[: self._count])
            order.setflags(write=False)
            self._id_order = order
        return self._id_order

    # -- mutation -----------------------------------------------------------------------------

    def add(self, entity_id: int, *, readmit: bool = False, **values: Any) -> int:
        """Insert a live entity with the given column values (others take defaults).

        Returns its row. Raises ValueError for an id that is live or was removed before, for an
        id outside 0..2**64-1, and for an unknown column name.

        `readmit=True` accepts a removed id: the caller asserts it is the *same* entity coming
        back (a ship returning to a system it left), not a new one reusing the number.
        """
        entity_id = check_id(entity_id)
        if entity_id in self._rows:
            raise ValueError(f"entity id {entity_id} is already live in this store")
        if self.was_removed(entity_id) and not readmit:
            raise ValueError(
                f"entity id {entity_id} was removed from this store before; ids are never reused"
                " (pass readmit=True if the same entity is returning)"
            )
        unknown = set(values) - set(COLUMN_NAMES)
        if unknown:
            raise ValueError(f"unknown entity columns {sorted(unknown)}")
        if "ids" in values:
            raise ValueError("pass the id as entity_id, not as a column value")
        if readmit:
            self._unretire(entity_id)
        if self._count == self._capacity:
            self._grow()
        row = self._count
        for name, _, default in SCHEMA:
            getattr(self, name)[row] = values.get(name, default)
        self.ids[row] = entity_id
        self._rows[entity_id] = row
        self._count = row + 1
        self._kind_counts[self.kind.item(row)] += 1
        self._changed()
        return row

    def add_many(self, entity_ids: list[int], **columns: Any) -> None:
        """Insert several new entities at once: `columns` maps column names to arrays (or
        scalars) of len(entity_ids) values; other columns take defaults.

        For the zone's own spawns (shells, missiles, wrecks), whose ids come from its id pool:
        ValueError if any id is live, removed before, repeated or out of range (nothing is
        added then), or for an unknown column.
        """
        k = len(entity_ids)
        if k == 0:
            return
        ids = [check_id(i) for i in entity_ids]
        if len(set(ids)) != k or any(i in self._rows or self.was_removed(i) for i in ids):
            raise ValueError("add_many needs new, distinct entity ids")
        unknown = set(columns) - set(COLUMN_NAMES)
        if unknown or "ids" in columns:
            raise ValueError(f"unknown or forbidden entity columns {sorted(unknown | {'ids'})}")
        while self._count + k > self._capacity:
            self._grow()
        lo = self._count
        hi = lo + k
        for name, _, default in SCHEMA:
            getattr(self, name)[lo:hi] = columns.get(name, default)
        self.ids[lo:hi] = np.array(ids, dtype=np.uint64)
        for offset, entity_id in enumerate(ids):
            self._rows[entity_id] = lo + offset
        for kind, n in zip(*np.unique(self.kind[lo:hi], return_counts=True), strict=True):
            self._kind_counts[int(kind)] += int(n)
        self._count = hi
        self._changed()

    def remove(self, entity_id: int) -> None:
        """Remove a live entity (KeyError if not live); the last row moves into its place."""
        row = self.row(entity_id)
        self._kind_counts[self.kind.item(row)] -= 1
        last = self._count - 1
        if row != last:
            for name in COLUMN_NAMES:
                column = getattr(self, name)
                column[row] = column[last]
            self._rows[int(self.ids[row])] = row
        del self._rows[entity_id]
        self._count = last
        self._retire(entity_id)
        self._changed()

    def remove_many(self, entity_ids: list[int]) -> None:
        """Remove several live entities at once (KeyError, removing nothing, if any is not
        live; duplicates count once). Surviving rows past the new end move into the holes,
        one vectorised copy per column."""
        rows = sorted({self.row(i) for i in entity_ids})
        if not rows:
            return
        if len(rows) == 1:
            self.remove(int(self.ids[rows[0]]))
            return
        n = self._count
        new_count = n - len(rows)
        gone = np.array(rows, dtype=np.intp)
        holes = gone[gone < new_count]
        keep_tail = np.ones(n - new_count, dtype=np.bool_)
        keep_tail[gone[gone >= new_count] - new_count] = False
        movers = np.flatnonzero(keep_tail) + new_count
        removed_ids = self.ids[gone].tolist()
        for kind, count in zip(*np.unique(self.kind[gone], return_counts=True), strict=True):
            self._kind_counts[int(kind)] -= int(count)
        if holes.size:
            for name in COLUMN_NAMES:
                column = getattr(self, name)
                column[holes] = column[movers]
            for row, entity_id in zip(holes.tolist(), self.ids[holes].tolist(), strict=True):
                self._rows[entity_id] = row
        for entity_id in removed_ids:
            del self._rows[entity_id]
            self._retire(entity_id)
        self._count = new_count
        self._changed()

    # -- internals ----------------------------------------------------------------------------

    def _grow(self) -> None:
        new_capacity = self._capacity * 2
        for name, dtype, default in SCHEMA:
            old = getattr(self, name)
            new = _column(name, dtype, default, new_capacity)
            new[: self._capacity] = old
            setattr(self, name, new)
        self._capacity = new_capacity

    def _retire(self, entity_id: int) -> None:
        self._retired_recent.add(entity_id)
        if len(self._retired_recent) >= _RETIRED_MERGE_AT:
            recent = np.fromiter(self._retired_recent, dtype=np.uint64)
            self._retired_sorted = np.union1d(self._retired_sorted, recent)
            self._retired_recent.clear()

    def _unretire(self, entity_id: int) -> None:
        self._retired_recent.discard(entity_id)
        retired = self._retired_sorted
        if retired.size:
            pos = int(np.searchsorted(retired, np.uint64(entity_id)))
            if pos < retired.size and int(retired[pos]) == entity_id:
                self._retired_sorted = np.delete(retired, pos)

    def retired(self) -> NDArray[np.uint64]:
        """Every id this store retired (never to be reused), sorted: what a checkpoint keeps."""
        recent = np.fromiter(self._retired_recent, dtype=np.uint64, count=len(self._retired_recent))
        return np.union1d(self._retired_sorted, recent).astype(np.uint64)

    def restore(self, n: int, retired: NDArray[np.uint64]) -> None:
        """After a checkpoint wrote rows ``0..n-1`` of every column: rebuild the id index, the
        counts and the retired ids from them. ValueError if two rows hold the same id."""
        ids = self.ids[:n].tolist()
        if len(set(ids)) != n:
            raise ValueError("duplicate entity ids")
        self._rows = {int(i): row for row, i in enumerate(ids)}
        self._count = n
        self._retired_sorted = np.sort(retired)
        self._retired_recent = set()
        self._kind_counts = [int(c) for c in np.bincount(self.kind[:n], minlength=256)]
        self._changed()

    def _changed(self) -> None:
        self._id_order = None
        self.version += 1
