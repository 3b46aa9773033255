"""`Zone`: one star system's simulation, advanced one fixed tick at a time.

The zone is the only way in and out of the simulation: ships (and restored wrecks) are added
and removed at the edges, intents are queued with `submit` and applied at the start of the
next `step`, and each step returns the tick's events. `frame()` copies the public columns for
the gateway; `state_hash()` fingerprints the full state for replays. No I/O, no clocks except
the per-stage timings, no asyncio: the server's tick loop calls `step()` 20 times a second.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Concatenate, Final, ParamSpec, TypedDict, TypeVar, Unpack

import numpy as np
from numpy.typing import NDArray

from callister.content import Content, Hull, load_content
from callister.protocol.intents import INTENT_CLASSES, Intent
from callister.sim import checkpoint as _checkpoint
from callister.sim.autopilot import TravelMap, TravelState, ship_drive, travel_map, travel_state
from callister.sim.entities import (
    CRIMINAL,
    DOCKED,
    KIND_SHIP,
    KIND_WRECK,
    NO_FUEL,
    NO_ROCK,
    NO_WEAPON,
    SCHEMA,
    SLOTS,
    EntityStore,
    check_id,
)
from callister.sim.events import ShipState, ShipVitals, ZoneEvent
from callister.sim.frame import ZoneFrame, hull_index, register_hulls
from callister.sim.grid import SpatialGrid
from callister.sim.layout import ZoneLayout
from callister.sim.rules import CONTACT_SLOP, UNLIMITED_SPEED, ZoneRules
from callister.sim.schedule import LAZY_GRID, STAGE_NAMES, ensure_grid, run_schedule, zone_grid
from callister.sim.state import FieldState, SimState, ship_state, slot_weapons
from callister.sim.statics import StaticColliders
from callister.sim.travel import Drive
from callister.sim.weapons import WeaponTable, weapon_index

_FLOAT32_SAFE: Final = 1e30
WRECK_RADIUS: Final = 15.0
"""m: the radius of a wreck restored with `add_wreck` (a spawned wreck keeps its ship's)."""


_P = ParamSpec("_P")
_R = TypeVar("_R")
Tap = Callable[[str, tuple[Any, ...], dict[str, Any]], None]
"""A footage hook: (method name, positional args, keyword args) of each call that changed the
zone from outside, and of each `step`, called after the call succeeded."""


def _tapped(method: Callable[Concatenate[Zone, _P], _R]) -> Callable[Concatenate[Zone, _P], _R]:
    """Report a successful call of a zone edge method to the zone's `tap` (footage)."""
    name = method.__name__

    @functools.wraps(method)
    def wrapper(self: Zone, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        result = method(self, *args, **kwargs)
        if self.tap is not None:
            self.tap(name, args, kwargs)
        return result

    return wrapper


def _static_margin(radius: float, max_speed: float, dt: float) -> float:
    # The static raster must list a collider for every ship that could reach it this tick:
    # ship radius + one tick of travel at full speed + the contact slop, rounded up generously
    # so adding a slightly bigger hull later rarely forces a re-raster.
    return math.ceil((radius + max_speed * dt + CONTACT_SLOP) * 1.25)


def _number(name: str, value: object, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, not {value!r}")
    v = float(value)
    if not (math.isfinite(v) and abs(v) < _FLOAT32_SAFE) or v < 0 or (positive and v <= 0):
        kind = "positive" if positive else "non-negative"
        raise ValueError(f"{name} must be a finite {kind} number, not {value!r}")
    return v


def _count(name: str, value: object) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or not (0 <= int(value) < 2**31)
    ):
        raise ValueError(f"{name} must be a non-negative 32-bit integer, not {value!r}")
    return int(value)


class VitalsUpdate(TypedDict, total=False):
    """The vitals `Zone.add_ship` and `Zone.set_vitals` take, by keyword: hit points, shield,
    energy and fuel (clamped to the ship's maxima), one weapon key per slot ("" for an empty
    slot), rounds per slot and free cargo units. One left out (or None) is full for a new ship
    and unchanged for `set_vitals`."""

    hull_hp: float | None
    shield: float | None
    energy: float | None
    fuel: float | None
    weapons: Sequence[str] | None
    ammo: Sequence[int] | None
    cargo_free: int | None


def _check_vital_names(vitals: Mapping[str, object]) -> None:
    # **vitals would silently take a misspelt keyword that a plain signature refuses
    unknown = vitals.keys() - VitalsUpdate.__optional_keys__
    if unknown:
        raise TypeError(f"unexpected keyword arguments {sorted(unknown)}")


def _given_vitals(vitals: VitalsUpdate, maxima: Mapping[str, float]) -> dict[str, Any]:
    """The scalar vitals given (not None), checked and clamped to `maxima` (free cargo is a
    count, not clamped). ValueError for a bad value, in the order of `VitalsUpdate`."""
    given: dict[str, Any] = {}
    for name in ("hull_hp", "shield", "energy", "fuel"):
        value = vitals.get(name)
        if value is not None:
            given[name] = min(_number(name, value, positive=name == "hull_hp"), maxima[name])
    cargo_free = vitals.get("cargo_free")
    if cargo_free is not None:
        given["cargo_free"] = _count("cargo_free", cargo_free)
    return given


def _check_coordinates(**values: float) -> None:
    """ValueError unless each named position, velocity or angle fits a float32 column."""
    for name, value in values.items():
        if not (math.isfinite(value) and abs(value) < _FLOAT32_SAFE):
            raise ValueError(f"{name} must be a finite float32-sized number, not {value!r}")


def _check_owner(owner: int) -> None:
    if isinstance(owner, bool) or not -(2**63) <= int(owner) < 2**63:
        raise ValueError(f"owner must be a signed 64-bit integer, not {owner!r}")


class Zone:
    """One star system's ships, shells, missiles and wrecks, advanced by `step()` at `tick_hz`.

    Promises:
    - `step()` advances exactly one tick and runs the systems in `schedule.SCHEDULE` order;
    - intents are applied at the start of the next step, in arrival order, by the same rules
      for every actor (see `actions`, `combat`, `mining`); a bad intent becomes a `Refused`
      event, never an exception;
    - the same layout, rules, ships, id grants and intents give the same `state_hash()` and
      events (same build and CPU: float32 columns, no randomness, no dependence on row order);
    - entity ids are never reused within a zone: `add_ship` raises ValueError for an id that
      is present or was removed before, unless the caller passes ``readmit=True`` to say the
      same ship is coming back (a return jump, a re-login). Shells, missiles and wrecks take
      their ids from the pool the world grants (`grant_ids`).
    """

    def __init__(
        self,
        layout: ZoneLayout,
        *,
        tick_hz: int = 20,
        start_tick: int = 0,
        rules: ZoneRules | None = None,
        content: Content | None = None,
    ) -> None:
        if isinstance(tick_hz, bool) or not isinstance(tick_hz, int) or tick_hz <= 0:
            raise ValueError(f"tick_hz must be a positive integer, not {tick_hz!r}")
        if isinstance(start_tick, bool) or not isinstance(start_tick, int) or start_tick < 0:
            raise ValueError(f"start_tick must be a non-negative integer, not {start_tick!r}")
        if rules is None:
            rules = ZoneRules()
        if not isinstance(rules, ZoneRules):
            raise TypeError(f"rules must be a ZoneRules, not {rules!r}")
        self.layout = layout
        self.tick_hz = tick_hz
        self.dt = 1.0 / tick_hz
        self.rules = rules
        # the world's content (its pack over the base): the hulls, weapons and ores it runs
        self.content = load_content() if content is None else content
        register_hulls(self.content.hulls)
        margin = max(
            (_static_margin(h.radius, h.max_speed, self.dt) for h in self.content.hulls.values()),
            default=0.0,
        )
        self._state = SimState(
            layout=layout,
            dt=self.dt,
            store=EntityStore(),
            statics=StaticColliders(layout, margin=margin),
            grid=zone_grid(layout),
            tick=start_tick,
            rules=rules,
            tick_hz=tick_hz,
            weapons=WeaponTable.build(tick_hz, self.content.weapons.values()),
        )
        ores = self.content.ores
        for f in layout.fields:
            if f.ore not in ores:
                raise ValueError(f"field {f.index} has unknown ore {f.ore!r}")
            tick = start_tick if f.tick is None else min(f.tick, start_tick)
            self._state.fields[f.index] = FieldState.make(f.index, f.ore, f.richness, f.base, tick)
        self._state.update_next_regrow()
        self.timings_ms: dict[str, float] = dict.fromkeys(STAGE_NAMES, 0.0)
        """Milliseconds per stage of the last tick."""
        self.timings_total_ms: dict[str, float] = dict.fromkeys(STAGE_NAMES, 0.0)
        """Milliseconds per stage summed over every tick of this zone."""
        self.tap: Tap | None = None
        """Footage hook (moderation): sees every edge call and step; None records nothing."""

    # -- read-only views ----------------------------------------------------------------------

    @property
    def tick(self) -> int:
        """The number of the last completed tick (start_tick before the first step)."""
        return self._state.tick

    @property
    def ship_count(self) -> int:
        """Ships in the zone (shells, missiles and wrecks not counted)."""
        return self._state.store.count_of(KIND_SHIP)

    @property
    def entity_count(self) -> int:
        """Every entity in the zone: ships, shells, missiles, wrecks."""
        return self._state.store.count

    @property
    def store(self) -> EntityStore:
        """The entity columns. Read-only for everyone but the zone's systems."""
        return self._state.store

    @property
    def statics(self) -> StaticColliders:
        return self._state.statics

    def has_ship(self, ship_id: int) -> bool:
        row = self._state.store.find(ship_id)
        return row is not None and self._state.store.kind.item(row) == KIND_SHIP

    def entity_kind(self, entity_id: int) -> int | None:
        """The KIND_* of a live entity, or None if the zone does not hold it."""
        row = self._state.store.find(entity_id)
        return None if row is None else self._state.store.kind.item(row)

    def ship_state(self, ship_id: int) -> ShipState:
        """The ship as plain values (vitals included); KeyError if the zone does not hold it."""
        return ship_state(self._state.store, ship_id)

    def vitals(self, ship_id: int) -> ShipVitals:
        """The ship's combat and upkeep state; KeyError if the zone does not hold the ship."""
        store = self._state.store
        row = self._ship_row(ship_id)
        slots = store.slots.item(row)
        tick = self._state.tick
        return ShipVitals(
            hull_hp=max(0.0, store.hull_hp.item(row)),
            hull_max=store.hull_max.item(row),
            shield=store.shield.item(row),
            shield_max=store.shield_max.item(row),
            energy=store.energy.item(row),
            energy_max=store.energy_max.item(row),
            fuel=store.fuel.item(row),
            fuel_max=store.fuel_max.item(row),
            weapons=slot_weapons(store, row),
            ammo=tuple(store.ammo[row, :slots].tolist()),
            cooldowns=tuple(max(0, r - tick) * self.dt for r in store.ready[row, :slots].tolist()),
            cargo_free=store.cargo_free.item(row),
            criminal_s=max(0, store.criminal_until.item(row) - tick) * self.dt
            if store.flags.item(row) & CRIMINAL
            else 0.0,
            mining_rock=store.mine_rock.item(row),
        )

    def field_richness(self, index: int) -> int:
        """The richness (0-100) of asteroid field `index` now; KeyError for an unknown field."""
        return self._state.fields[index].richness

    def field_tick(self, index: int) -> int:
        """The tick of field `index`'s last richness change (the ``field.<i>.tick`` delta)."""
        return self._state.fields[index].tick

    def travel(self, ship_id: int) -> TravelState:
        """The ship's autopilot and cruise state (KeyError if the zone does not hold it)."""
        return travel_state(self._state, self._ship_row(ship_id))

    def drive(self, ship_id: int) -> Drive:
        """The ship's drive as trip planning needs it (`sim.travel`); KeyError if absent."""
        return ship_drive(self._state, self._ship_row(ship_id))

    @property
    def travel_map(self) -> TravelMap:
        """The bodies the autopilot routes around and cruise drops out near (the star,
        stations, field discs): the field discs' centres and radii are where it stops."""
        return travel_map(self._state)

    @property
    def ids_left(self) -> int:
        """Ids left in the pool for shells, missiles and wrecks."""
        return len(self._state.pool)

    def ships_within(self, x: float, y: float, r: float) -> NDArray[np.uint64]:
        """Ids of the ships whose centre is within `r` of (x, y), ascending.

        Uses the neighbour grid over the current positions (see `neighbour_grid`).
        """
        state = self._state
        rows = self.neighbour_grid().query_radius(x, y, r)
        rows = rows[state.store.kind[rows] == KIND_SHIP]
        return np.sort(state.store.ids[rows])

    def neighbour_grid(self) -> SpatialGrid:
        """The dynamic grid over the current positions of every entity; its rows are `store`
        rows.

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

    @_tapped
    def grant_ids(self, ids: range) -> None:
        """Add fresh entity ids (an ascending range the world reserved) to the zone's pool.
        With an empty pool, shells and missiles are refused INTERNAL and the destroyed leave
        no wreck."""
        self._state.pool.grant(ids)

    @_tapped
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
        **vitals: Unpack[VitalsUpdate],
    ) -> None:
        """Put a ship into the zone, flying at (x, y) or docked at station `docked_at`.

        A docked ship sits at the station's centre at rest (x, y, vx, vy are ignored).
        Vitals: None means full (hull_hp, shield, energy, fuel), the hull's loadout
        (`weapons`, one key per slot, "" for an empty slot), full magazines (`ammo`) and the
        hull's whole cargo capacity (`cargo_free`); given values are clamped to the maxima.
        Raises ValueError for a live id, an id this zone removed before (unless `readmit`:
        the caller asserts the same ship is coming back, e.g. a return jump or a re-login), an
        unknown hull key, a non-finite number, a hull_hp <= 0, more weapons than slots, an
        unknown weapon or an unknown station. A refused add changes nothing.
        """
        _check_vital_names(vitals)
        state = self._state
        ship_id = check_id(ship_id)
        if ship_id in state.store or (state.store.was_removed(ship_id) and not readmit):
            state.store.add(ship_id)  # raises the store's ValueError before anything changes
        _check_coordinates(x=x, y=y, vx=vx, vy=vy, angle=angle)
        _check_owner(owner)
        flags = 0
        station_index = -1
        if docked_at is not None:
            station = self.layout.station(docked_at)
            if station is None:
                raise ValueError(f"no station {docked_at} in this zone")
            x, y, vx, vy = station.x, station.y, 0.0, 0.0
            flags = DOCKED
            station_index = station.index
        if hull.key not in self.content.hulls:
            raise ValueError(
                f"unknown hull {hull.key!r}; this world's hulls are {list(self.content.hulls)}"
            )
        hull_number = hull_index(hull.key)
        if hull.slots > SLOTS:
            raise ValueError(f"hull {hull.key!r} has {hull.slots} slots; at most {SLOTS}")
        weapons = vitals.get("weapons")
        loadout = self._weapons(hull, hull.loadout if weapons is None else weapons)
        magazines = self._ammo(loadout, vitals.get("ammo"))
        full = {
            "hull_hp": hull.hull,
            "shield": hull.shield,
            "energy": hull.energy,
            "fuel": hull.fuel,
            "cargo_free": hull.cargo,
        }
        values: dict[str, Any] = full | _given_vitals(vitals, full)
        if values["fuel"] <= 0:
            flags |= NO_FUEL
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
            slots=hull.slots,
            hull_max=hull.hull,
            shield_max=hull.shield,
            shield_regen=hull.shield_regen,
            energy_max=hull.energy,
            energy_regen=hull.energy_regen,
            fuel_max=hull.fuel,
            fuel_burn=hull.fuel_burn,
            jump_fuel=hull.jump_fuel,
            cruise_speed=hull.cruise_speed,
            cruise_fuel=hull.cruise_fuel / 1000.0,
            weapon=np.array(loadout, dtype=np.int16),
            ammo=np.array(magazines, dtype=np.int32),
            shield_at=state.tick,
            **values,
        )

    def _weapons(self, hull: Hull, keys: Sequence[str]) -> list[int]:
        """Weapon indices for a hull's slots (padded with NO_WEAPON to SLOTS)."""
        if isinstance(keys, str) or len(keys) > hull.slots:
            raise ValueError(f"hull {hull.key!r} has {hull.slots} weapon slots, not {keys!r}")
        out = [NO_WEAPON if key == "" else self._weapon_index(key) for key in keys]
        return out + [NO_WEAPON] * (SLOTS - len(out))

    def _weapon_index(self, key: str) -> int:
        """The weapon's index; ValueError for a weapon this zone's content does not have."""
        if key not in self.content.weapons:
            raise ValueError(
                f"unknown weapon {key!r}; this world's weapons are {list(self.content.weapons)}"
            )
        return weapon_index(key)

    def _ammo(self, loadout: list[int], ammo: Sequence[int] | None) -> list[int]:
        """Rounds per slot: given values clamped to each magazine, full where not given."""
        w = self._state.weapons
        assert w is not None
        full = [0 if i == NO_WEAPON else int(w.magazine[i]) for i in loadout]
        if ammo is None:
            return full
        if isinstance(ammo, str) or len(ammo) > SLOTS:
            raise ValueError(f"ammo must be a sequence of at most {SLOTS} counts, not {ammo!r}")
        given = [_count("ammo", a) for a in ammo]
        return [min(given[s], full[s]) if s < len(given) else full[s] for s in range(SLOTS)]

    @_tapped
    def set_vitals(
        self,
        ship_id: int,
        **vitals: Unpack[VitalsUpdate],
    ) -> None:
        """Set the given vitals of a ship (None leaves one as it is), clamped to the maxima.

        `weapons` re-equips the slots (a slot whose weapon changes gets a full magazine and no
        cooldown, unless `ammo` says otherwise); `ammo` sets rounds per slot. KeyError if the
        zone does not hold the ship; ValueError (changing nothing) for bad values as in
        `add_ship`.
        """
        _check_vital_names(vitals)
        store = self._state.store
        row = self._ship_row(ship_id)
        slots = store.slots.item(row)
        maxima = {
            "hull_hp": store.hull_max.item(row),
            "shield": store.shield_max.item(row),
            "energy": store.energy_max.item(row),
            "fuel": store.fuel_max.item(row),
        }
        updates = _given_vitals(vitals, maxima)
        old = store.weapon[row].tolist()
        new = old
        weapons = vitals.get("weapons")
        if weapons is not None:
            if isinstance(weapons, str) or len(weapons) > slots:
                raise ValueError(f"the ship has {slots} weapon slots, not {weapons!r}")
            new = [NO_WEAPON if k == "" else self._weapon_index(k) for k in weapons]
            new = new + old[len(new) : slots] + [NO_WEAPON] * (SLOTS - slots)
        w = self._state.weapons
        assert w is not None
        full = [0 if i == NO_WEAPON else int(w.magazine[i]) for i in new]
        rounds = [
            min(store.ammo.item(row, s), full[s]) if new[s] == old[s] else full[s]
            for s in range(SLOTS)
        ]
        ammo = vitals.get("ammo")
        if ammo is not None:
            if isinstance(ammo, str) or len(ammo) > slots:
                raise ValueError(f"the ship has {slots} weapon slots, not {ammo!r}")
            for s, a in enumerate(ammo):
                rounds[s] = min(_count("ammo", a), full[s])
        for name, value in updates.items():
            getattr(store, name)[row] = value
        for s in range(SLOTS):
            if new[s] != old[s]:
                store.ready[row, s] = 0
        store.weapon[row] = new
        store.ammo[row] = rounds
        if "fuel" in updates:
            flags = store.flags.item(row)
            store.flags[row] = flags | NO_FUEL if updates["fuel"] <= 0 else flags & ~NO_FUEL

    @_tapped
    def add_wreck(
        self,
        wreck_id: int,
        x: float,
        y: float,
        *,
        vx: float = 0.0,
        vy: float = 0.0,
        ttl_ticks: int,
        owner: int = 0,
    ) -> None:
        """Restore a persisted wreck (lootable until it expires `ttl_ticks` from now).

        ValueError for a live or retired id, non-finite numbers or a negative ttl.
        """
        wreck_id = check_id(wreck_id)
        _check_coordinates(x=x, y=y, vx=vx, vy=vy)
        if isinstance(ttl_ticks, bool) or not isinstance(ttl_ticks, int) or ttl_ticks < 0:
            raise ValueError(f"ttl_ticks must be a non-negative integer, not {ttl_ticks!r}")
        _check_owner(owner)
        self._state.store.add(
            wreck_id,
            owner=int(owner),
            kind=KIND_WRECK,
            x=x,
            y=y,
            vx=vx,
            vy=vy,
            radius=WRECK_RADIUS,
            max_speed=UNLIMITED_SPEED,
            expires=self._state.tick + ttl_ticks,
        )

    @_tapped
    def remove_ship(self, ship_id: int) -> ShipState:
        """Take a ship out of the zone and return its last state; KeyError if not present.

        The id is retired: adding it to this zone again raises ValueError. Intents still queued
        for it are refused UNKNOWN_SHIP when they are applied.
        """
        snapshot = ship_state(self._state.store, ship_id)
        self._forget(ship_id)
        self._state.store.remove(ship_id)
        return snapshot

    @_tapped
    def remove_entity(self, entity_id: int) -> None:
        """Take any entity out of the zone (e.g. a wreck looted empty); KeyError if absent. The
        id is retired."""
        self._state.store.row(entity_id)
        self._forget(entity_id)
        self._state.store.remove(entity_id)

    def _forget(self, entity_id: int) -> None:
        state = self._state
        state.jumping.discard(entity_id)
        state.power.pop(entity_id, None)
        state.stations.pop(entity_id, None)
        if entity_id in state.miners:
            state.miners.discard(entity_id)
            row = state.store.row(entity_id)
            state.store.mine_rock[row] = NO_ROCK

    def _ship_row(self, ship_id: int) -> int:
        store = self._state.store
        row = store.row(ship_id)
        if store.kind.item(row) != KIND_SHIP:
            raise KeyError(f"entity {ship_id} is not a ship")
        return row

    @_tapped
    def set_crew(self, actor: int, ship_id: int | None) -> None:
        """Let `actor` (a crew member) send intents for `ship_id` as if it owned it, or (None)
        withdraw that. The same checks apply to its intents as to the owner's."""
        if ship_id is None:
            self._state.crew.pop(actor, None)
        else:
            self._state.crew[actor] = int(ship_id)

    @_tapped
    def set_stations(self, ship_id: int, stations: Sequence[Sequence[Any]] | None) -> None:
        """Make `ship_id` a shared ship whose intents are each taken only from the holder of
        their station (`actions.STATION_OF`; (station, actor) pairs, a missing or 0 holder
        meaning the owner), or (None) an ordinary ship again. Holders other than the owner must
        also be its crew (`set_crew`) to pass the ownership check. (Pairs, not a dict, so the
        footage tap can record the call.)"""
        if stations is None:
            self._state.stations.pop(int(ship_id), None)
        else:
            self._state.stations[int(ship_id)] = {str(k): int(v) for k, v in stations}

    def stations_of(self, ship_id: int) -> dict[str, int] | None:
        """The shared ship's station table (None: an ordinary ship)."""
        table = self._state.stations.get(ship_id)
        return None if table is None else dict(table)

    def power_of(self, ship_id: int) -> tuple[float, float, float]:
        """The ship's (engines, weapons, shields) power factors (1, 1, 1 unless an engineer
        moved power)."""
        return self._state.power.get(ship_id, (1.0, 1.0, 1.0))

    @_tapped
    def tune_ship(
        self,
        ship_id: int,
        *,
        shield_regen: float | None = None,
        turn_rate: float | None = None,
        mining_mult: float | None = None,
    ) -> None:
        """Set a ship's per-ship performance (its crew's effect): shield regeneration in
        points/s, turn rate in rad/s, and the mining yield multiplier. KeyError if absent;
        ValueError for a negative or non-finite value (nothing changes)."""
        row = self._ship_row(ship_id)
        store = self._state.store
        values = {
            name: _number(name, value)
            for name, value in (
                ("shield_regen", shield_regen),
                ("turn_rate", turn_rate),
                ("mining_mult", mining_mult),
            )
            if value is not None
        }
        if "shield_regen" in values:  # the engineer's power to shields stays applied
            values["shield_regen"] *= self._state.power.get(ship_id, (1.0, 1.0, 1.0))[2]
        for name, value in values.items():
            getattr(store, name)[row] = value

    @_tapped
    def submit(self, intent: Intent) -> None:
        """Queue an intent for the next step (TypeError if it is not an intent type)."""
        if not isinstance(intent, INTENT_CLASSES):
            raise TypeError(f"not an intent: {intent!r}")
        self._state.intents.append(intent)

    # -- the tick -----------------------------------------------------------------------------

    @_tapped
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

    def checkpoint(self) -> bytes:
        """The zone's FULL state as bytes (see `sim.checkpoint`): every entity column, retired
        ids, pending intents and actions, jumping and mining sets, id pool, fields, rules and
        tick. `restore` / `from_checkpoint` bring it back; the layout is not included."""
        return _checkpoint.dump(self._state)

    def restore(self, data: bytes) -> None:
        """Replace this zone's state with a checkpoint's (taken from a zone with the same
        layout). CheckpointError (a ValueError) for bytes that are not one; nothing changes
        then."""
        header, store = _checkpoint.load(data)
        if int(header.get("tick_hz", 0)) != self.tick_hz:
            raise _checkpoint.CheckpointError(
                f"checkpoint of a {header.get('tick_hz')} Hz zone, this one runs {self.tick_hz}"
            )
        _checkpoint.apply(self._state, header, store)
        self.rules = self._state.rules

    @classmethod
    def from_checkpoint(
        cls, layout: ZoneLayout, data: bytes, content: Content | None = None
    ) -> Zone:
        """A new zone over `layout` in the state `data` (a `checkpoint()`) holds, running
        `content` (None: the base content)."""
        header, _ = _checkpoint.load(data)
        zone = cls(layout, tick_hz=int(header["tick_hz"]), content=content)
        zone.restore(data)
        return zone

    def state_hash(self) -> str:
        """SHA-256 (hex) of the tick, every entity column in id order and the fields' ore.

        Independent of row layout: two zones holding the same entities in the same state hash
        the same, whatever order they were added or removed in.
        """
        state = self._state
        store = state.store
        n = store.count
        order = store.id_order()
        digest = hashlib.sha256()
        digest.update(np.array([state.tick, n], dtype="<i8").tobytes())
        for name, _, _ in SCHEMA:
            column = np.take(getattr(store, name)[:n], order, axis=0)
            digest.update(name.encode())
            digest.update(column.astype(column.dtype.newbyteorder("<"), copy=False).tobytes())
        for index in sorted(state.fields):
            f = state.fields[index]
            digest.update(
                np.array([index, f.richness, f.base, f.tick], dtype="<i8").tobytes()
                + np.array([f.units], dtype="<f8").tobytes()
            )
        return digest.hexdigest()
