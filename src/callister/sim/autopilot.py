"""The travel stage: the autopilot and the cruise drive (issue 16).

Both are intents (`Autopilot`, `Cruise`), checked like every other intent and applied in
arrival order by `actions.apply_intents`; the zone then flies the ship each tick in the
`travel` stage, right before steering, by writing its held controls. Players, crews and NPCs
use the same intents and get the same ship.

Autopilot (rules; numbers in rules.py):
- targets: a station (stop within its docking range, between its hull and its `dock_radius`),
  an asteroid field (stop AUTOPILOT_FIELD_MARGIN outside the disc of its rocks), a link (stop
  at its jump gate, `ZoneLayout.gates`), a point, or a ship (follow it ESCORT_DISTANCE from its
  hull, matching its velocity, until cancelled: `AutopilotArrived` once when first there);
- refused: DOCKED while docked; NO_TARGET for a station, field, ship or gate the zone does not
  have (a docked ship, the ship itself, a point inside the star or a station or outside the
  system); NO_SUCH_LINK for a sector that is not a link; NO_FUEL when `travel.plan_leg` says
  the fuel cannot fly the leg and keep the reserve (FUEL_RESERVE of a full tank; none for a
  trip to a station, where the ship can refuel; plus the jump's fuel for a link);
- flight: turn towards the velocity wanted and thrust (within 25 degrees of it), or brake
  when only too fast; the speed wanted is the top speed, less near the stop so the ship brakes
  in time to stop at the approach point. The star, stations and field discs in the way are
  passed by a waypoint on their tangent, AUTOPILOT_AVOID_MARGIN clear of them (single rocks
  inside a field are not avoided);
- cruise: on a leg of at least CRUISE_MIN_LEG, if the intent allows it, the fuel plan chose
  it and the ship is clear of every drop-out zone, the autopilot engages cruise; in cruise it
  routes around the drop-out zones, and drops out itself when the stop is near;
- ends: arrived (`AutopilotArrived`; the ship holds its brake), or cancelled
  (`AutopilotCancelled`): any Input with thrust, turn or brake ("manual"; an all-zero Input
  does not cancel), Autopilot "off", the followed ship gone or docked, the tank empty, the
  ship docking. A new Autopilot replaces the old one silently.

Cruise: see `kernels_travel.steer_travel` for the drop-out rules and `Cruise` for the intent.
Engaging is refused DOCKED while docked, NOT_AVAILABLE for a hull without a cruise drive,
NO_FUEL with an empty tank, CRUISE_BLOCKED within CRUISE_DROP_DISTANCE of the star, a station
or a field. While cruising the speed cap is the hull's `cruise_speed`, full thrust accelerates
by cruise_speed / CRUISE_RAMP_S, and fuel burns at `cruise_fuel` per metre flown instead of
the thrust's; a drop-out caps the speed at the hull's top speed at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from callister.protocol.errors import ErrorCode
from callister.protocol.intents import Autopilot, Cruise
from callister.sim.entities import (
    AP_FIELD,
    AP_LINK,
    AP_MAY_CRUISE,
    AP_OFF,
    AP_POINT,
    AP_SHIP,
    AP_STATION,
    CRUISE_OFF,
    CRUISE_ON,
    CRUISE_SPOOLING,
    DOCKED,
    KIND_SHIP,
)
from callister.sim.events import (
    AutopilotArrived,
    AutopilotCancelled,
    AutopilotCancelReason,
    CruiseChanged,
    ZoneEvent,
)
from callister.sim.kernels_travel import (
    DROP_MANUAL,
    DROP_REASONS,
    EV_ARRIVED,
    EV_CRUISING,
    EV_DROP,
    EV_OUT_OF_FUEL,
    EV_SPOOLING,
    ships_closing,
    steer_travel,
    travel_scan,
)
from callister.sim.layout import ZoneLayout
from callister.sim.rules import (
    AUTOPILOT_ARRIVE_SPEED,
    AUTOPILOT_AVOID_MARGIN,
    AUTOPILOT_FIELD_MARGIN,
    AUTOPILOT_TOLERANCE,
    CRUISE_COOLDOWN_S,
    CRUISE_DROP_DISTANCE,
    CRUISE_MIN_LEG,
    CRUISE_RAMP_S,
    CRUISE_SHIP_DISTANCE,
    CRUISE_SPOOL_S,
    ESCORT_DISTANCE,
)
from callister.sim.state import SimState, ensure_grid, refuse
from callister.sim.travel import Drive, plan_leg, reserve

AP_KINDS: Final = {
    "station": AP_STATION,
    "field": AP_FIELD,
    "link": AP_LINK,
    "ship": AP_SHIP,
    "point": AP_POINT,
}
AP_KIND_NAMES: Final = {code: name for name, code in AP_KINDS.items()}
CRUISE_NAMES: Final = {CRUISE_OFF: "off", CRUISE_SPOOLING: "spooling", CRUISE_ON: "on"}
OBSTACLE_NAMES: Final = ("the star", "a station", "an asteroid field")


@dataclass(frozen=True, slots=True, eq=False)
class TravelMap:
    """The static bodies the autopilot routes around and a cruise drops out near: the star,
    each station and each asteroid field's disc (the smallest circle around its rocks'
    bounding box holding every rock), as float64 arrays; `what` is 0 star, 1 station,
    2 field. `stations` and `fields` map a station's or field's index to its obstacle."""

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    r: NDArray[np.float64]
    what: NDArray[np.int8]
    stations: dict[int, int]
    fields: dict[int, int]
    radius: float

    @classmethod
    def of(cls, layout: ZoneLayout) -> TravelMap:
        """The map of `layout`."""
        bodies: list[tuple[float, float, float, int]] = []
        if layout.star_radius > 0:
            bodies.append((0.0, 0.0, layout.star_radius, 0))
        stations = {}
        for s in layout.stations:
            stations[s.index] = len(bodies)
            bodies.append((s.x, s.y, s.radius, 1))
        groups: dict[int, list[tuple[float, float, float]]] = {}
        for rock in layout.rocks:
            groups.setdefault(rock.field, []).append((rock.x, rock.y, rock.r))
        fields = {}
        for index in sorted(groups):
            rocks = groups[index]
            lo_x = min(x - r for x, _, r in rocks)
            hi_x = max(x + r for x, _, r in rocks)
            lo_y = min(y - r for _, y, r in rocks)
            hi_y = max(y + r for _, y, r in rocks)
            cx, cy = (lo_x + hi_x) / 2, (lo_y + hi_y) / 2
            disc = max(math.hypot(x - cx, y - cy) + r for x, y, r in rocks)
            fields[index] = len(bodies)
            bodies.append((cx, cy, disc, 2))
        columns = list(zip(*bodies, strict=True)) if bodies else [(), (), (), ()]
        return cls(
            x=np.array(columns[0], dtype=np.float64),
            y=np.array(columns[1], dtype=np.float64),
            r=np.array(columns[2], dtype=np.float64),
            what=np.array(columns[3], dtype=np.int8),
            stations=stations,
            fields=fields,
            radius=layout.radius,
        )

    def inside(self, x: float, y: float, margin: float, *, kinds: tuple[int, ...]) -> int:
        """The first body of one of `kinds` whose surface is within `margin` of (x, y), or -1."""
        for j in range(self.x.size):
            near = math.hypot(x - self.x[j], y - self.y[j]) < self.r[j] + margin
            if near and int(self.what[j]) in kinds:
                return j
        return -1


def travel_map(state: SimState) -> TravelMap:
    """The zone's travel map (built on first use; the layout never changes)."""
    if state.travel_map is None:
        state.travel_map = TravelMap.of(state.layout)
    assert isinstance(state.travel_map, TravelMap)
    return state.travel_map


def ship_drive(state: SimState, row: int) -> Drive:
    """The drive of the ship in `row` (its thrust includes the engineer's power split)."""
    store = state.store
    return Drive(
        max_speed=store.max_speed.item(row),
        accel=store.accel.item(row),
        fuel_burn=store.fuel_burn.item(row),
        cruise_speed=store.cruise_speed.item(row),
        cruise_fuel=store.cruise_fuel.item(row),
    )


# -- intents (applied by actions.apply_intents, in arrival order) -----------------------------


def start_autopilot(state: SimState, intent: Autopilot, row: int) -> None:
    """Check an Autopilot intent (see the module docstring) and set the ship's autopilot, or
    refuse it (Refused; nothing changes)."""
    store = state.store
    if intent.kind == "off":
        if store.ap_kind.item(row) != AP_OFF:
            cancel_autopilot(state, row, "off")
        return
    if store.flags.item(row) & DOCKED:
        refuse(state, intent, ErrorCode.DOCKED, "undock before using the autopilot")
        return
    kind = AP_KINDS.get(intent.kind)
    if kind is None:
        refuse(state, intent, ErrorCode.NO_TARGET, f"the autopilot cannot fly to {intent.kind!r}")
        return
    goal = _goal(state, intent, kind, row)
    if goal is None:
        return
    gx, gy, approach, skip, vx, vy = goal
    x, y = store.x.item(row), store.y.item(row)
    distance = max(0.0, math.hypot(gx - x, gy - y) - approach)
    mult = state.rules.fuel_multiplier
    keep = 0.0 if kind == AP_STATION else reserve(store.fuel_max.item(row))
    if kind == AP_LINK:
        keep += store.jump_fuel.item(row) * mult
    drive = ship_drive(state, row)
    fuel = store.fuel.item(row)
    speed = math.hypot(store.vx.item(row), store.vy.item(row))
    may_cruise = bool(intent.cruise) and kind != AP_SHIP
    plan = plan_leg(
        drive, distance, fuel, keep=keep, speed=speed, fuel_multiplier=mult, may_cruise=may_cruise
    )
    if plan is None:
        need = plan_leg(drive, distance, math.inf, keep=0.0, speed=speed, fuel_multiplier=mult,
                        may_cruise=False)  # fmt: skip
        assert need is not None
        refuse(
            state,
            intent,
            ErrorCode.NO_FUEL,
            f"the trip needs {need.fuel:.1f} fuel"
            + (f" and {keep:.1f} kept in reserve" if keep > 0 else "")
            + f"; the tank has {fuel:.1f}: refuel at a station",
        )
        return
    store.ap_kind[row] = kind
    store.ap_flags[row] = AP_MAY_CRUISE if plan.cruise else 0
    store.ap_index[row] = intent.index if kind in (AP_STATION, AP_FIELD) else 0
    if kind == AP_LINK:
        store.ap_index[row] = state.layout.links.index((intent.to_x, intent.to_y))
    store.ap_target[row] = intent.target if kind == AP_SHIP else 0
    store.ap_x[row] = gx
    store.ap_y[row] = gy
    store.ap_vx[row] = vx
    store.ap_vy[row] = vy
    store.ap_r[row] = approach
    store.ap_skip[row] = skip


def _goal(
    state: SimState, intent: Autopilot, kind: int, row: int
) -> tuple[float, float, float, int, float, float] | None:
    """(goal x, y, approach distance, obstacle to skip, goal vx, vy), or None after a
    refusal."""
    store = state.store
    tm = travel_map(state)
    radius = store.radius.item(row)
    if kind == AP_STATION:
        station = state.layout.station(intent.index)
        if station is None:
            refuse(state, intent, ErrorCode.NO_TARGET, f"no station {intent.index} here")
            return None
        # half way between touching the hull and the edge of the docking range
        approach = (station.radius + radius + station.dock_radius) / 2
        return station.x, station.y, approach, tm.stations[station.index], 0.0, 0.0
    if kind == AP_FIELD:
        obstacle = tm.fields.get(intent.index)
        if obstacle is None:
            refuse(state, intent, ErrorCode.NO_TARGET, f"no asteroid field {intent.index} here")
            return None
        approach = float(tm.r[obstacle]) + radius + AUTOPILOT_FIELD_MARGIN
        return float(tm.x[obstacle]), float(tm.y[obstacle]), approach, obstacle, 0.0, 0.0
    if kind == AP_LINK:
        to = (intent.to_x, intent.to_y)
        if to not in state.layout.links:
            refuse(state, intent, ErrorCode.NO_SUCH_LINK, f"no jump link from here to {to}")
            return None
        gate = state.layout.gate(to)
        if gate is None:
            refuse(state, intent, ErrorCode.NO_TARGET, "this system's jump gates are not mapped")
            return None
        return gate[0], gate[1], 0.0, -1, 0.0, 0.0
    if kind == AP_SHIP:
        target = store.find(intent.target) if type(intent.target) is int else None
        if target is None or store.kind.item(target) != KIND_SHIP or target == row:
            refuse(state, intent, ErrorCode.NO_TARGET, f"no other ship {intent.target} here")
            return None
        if store.flags.item(target) & DOCKED:
            refuse(state, intent, ErrorCode.NO_TARGET, f"ship {intent.target} is docked")
            return None
        approach = ESCORT_DISTANCE + radius + store.radius.item(target)
        return (
            store.x.item(target), store.y.item(target), approach, -1,
            store.vx.item(target), store.vy.item(target),
        )  # fmt: skip
    x, y = float(intent.x), float(intent.y)
    if not (math.isfinite(x) and math.isfinite(y)) or math.hypot(x, y) > state.layout.radius:
        refuse(state, intent, ErrorCode.NO_TARGET, "that point is outside the system")
        return None
    inside = tm.inside(x, y, radius, kinds=(0, 1))
    if inside >= 0:
        what = OBSTACLE_NAMES[int(tm.what[inside])]
        refuse(state, intent, ErrorCode.NO_TARGET, f"that point is inside {what}")
        return None
    return x, y, 0.0, -1, 0.0, 0.0


def cancel_autopilot(state: SimState, row: int, reason: AutopilotCancelReason) -> None:
    """Turn the ship's autopilot off (AutopilotCancelled). Its controls are zeroed (it
    coasts) unless the cancel is "manual": then the Input's controls are about to be held."""
    store = state.store
    store.ap_kind[row] = AP_OFF
    store.ap_flags[row] = 0
    if reason != "manual":
        store.thrust[row] = 0.0
        store.turn[row] = 0.0
        store.brake[row] = False
    ship = int(store.ids[row])
    state.events.append(AutopilotCancelled(ship, store.owner.item(row), reason))


def drop_cruise(state: SimState, row: int, reason: str) -> None:
    """End the ship's cruise or spool-up now (CruiseChanged "off"): the speed is capped at its
    top speed and the cool-down starts."""
    store = state.store
    if store.cruise.item(row) == CRUISE_OFF:
        return
    store.cruise[row] = CRUISE_OFF
    store.cruise_ticks[row] = state.seconds(CRUISE_COOLDOWN_S)
    vx, vy = store.vx.item(row), store.vy.item(row)
    speed, cap = math.hypot(vx, vy), store.max_speed.item(row)
    if speed > cap:
        store.vx[row] = vx * cap / speed
        store.vy[row] = vy * cap / speed
    state.events.append(CruiseChanged(int(store.ids[row]), store.owner.item(row), "off", reason))


def stop_travel(state: SimState, row: int) -> None:
    """The ship docked: its autopilot and cruise end ("docked")."""
    if state.store.ap_kind.item(row) != AP_OFF:
        cancel_autopilot(state, row, "docked")
    drop_cruise(state, row, "docked")


def set_cruise(state: SimState, intent: Cruise, row: int) -> None:
    """Engage (spool up) or leave the cruise drive (see the module docstring); turning it off
    also keeps the autopilot from engaging it, turning it on lets it."""
    store = state.store
    if not intent.on:
        store.ap_flags[row] = store.ap_flags.item(row) & ~AP_MAY_CRUISE
        drop_cruise(state, row, DROP_REASONS[DROP_MANUAL])
        return
    if store.flags.item(row) & DOCKED:
        refuse(state, intent, ErrorCode.DOCKED, "undock before engaging cruise")
        return
    if store.cruise_speed.item(row) <= store.max_speed.item(row):
        refuse(state, intent, ErrorCode.NOT_AVAILABLE, "this hull has no cruise drive")
        return
    if store.fuel.item(row) <= 0:
        refuse(state, intent, ErrorCode.NO_FUEL, "the tank is empty")
        return
    if store.ap_kind.item(row) not in (AP_OFF, AP_SHIP):
        store.ap_flags[row] = store.ap_flags.item(row) | AP_MAY_CRUISE
    if store.cruise.item(row) != CRUISE_OFF:
        return
    tm = travel_map(state)
    x, y = store.x.item(row), store.y.item(row)
    near = tm.inside(x, y, store.radius.item(row) + CRUISE_DROP_DISTANCE, kinds=(0, 1, 2))
    if near >= 0:
        what = OBSTACLE_NAMES[int(tm.what[near])]
        refuse(
            state,
            intent,
            ErrorCode.CRUISE_BLOCKED,
            f"within {CRUISE_DROP_DISTANCE:.0f} m of {what}: fly clear of it first",
        )
        return
    store.cruise[row] = CRUISE_SPOOLING
    store.cruise_ticks[row] = state.seconds(CRUISE_SPOOL_S)
    state.events.append(CruiseChanged(int(store.ids[row]), store.owner.item(row), "spooling"))


# -- the stage --------------------------------------------------------------------------------


def travel(state: SimState) -> None:
    """Fly every ship on autopilot and run every cruise drive for one tick (see the module
    docstring and `kernels_travel.steer_travel`). Costs one compiled pass over the rows when
    no ship travels."""
    store = state.store
    n = store.count
    if n == 0:
        return
    followers = state.scratch("travel_followers", np.int64)
    cruisers = state.scratch("travel_cruisers", np.int64)
    nf, nc, busy = travel_scan(n, store.ap_kind, store.cruise, store.cruise_ticks, followers,
                               cruisers)  # fmt: skip
    if busy == 0:
        return
    tm = travel_map(state)
    if nf:
        _follow(state, followers[:nf])
    near = state.scratch("travel_near", np.bool_)
    if nc:
        _ships_closing(state, cruisers[:nc], near)
    out_rows = state.scratch("travel_rows", np.int64, 2 * store.capacity)
    out_codes = state.scratch("travel_codes", np.int8, 2 * store.capacity)
    params = np.array(
        [
            CRUISE_DROP_DISTANCE,
            AUTOPILOT_AVOID_MARGIN,
            CRUISE_MIN_LEG,
            AUTOPILOT_TOLERANCE,
            AUTOPILOT_ARRIVE_SPEED,
            1.0 / CRUISE_RAMP_S,
        ],
        dtype=np.float64,
    )
    k = steer_travel(
        n, state.dt, store.flags, store.x, store.y, store.vx, store.vy, store.angle,
        store.accel, store.max_speed, store.turn_rate, store.radius, store.fuel,
        store.thrust, store.turn, store.brake, store.ap_kind, store.ap_flags, store.ap_x,
        store.ap_y, store.ap_vx, store.ap_vy, store.ap_r, store.ap_skip, store.cruise,
        store.cruise_ticks, store.cruise_speed, near, tm.x, tm.y, tm.r, tm.what,
        tm.radius, state.seconds(CRUISE_SPOOL_S), state.seconds(CRUISE_COOLDOWN_S), params,
        out_rows, out_codes,
    )  # fmt: skip
    if k:
        _raise(state, out_rows[:k], out_codes[:k])


def _follow(state: SimState, rows: NDArray[np.int64]) -> None:
    """Update each follower's goal to its target ship's position and velocity; cancel those
    whose target left the zone or docked (in ship id order)."""
    store = state.store
    targets = state.rows_of(store.ap_target[rows])
    live = targets >= 0
    live[live] = store.kind[targets[live]] == KIND_SHIP
    ok = live.copy()
    ok[live] = (store.flags[targets[live]] & DOCKED) == 0
    good, where = rows[ok], targets[ok]
    store.ap_x[good] = store.x[where]
    store.ap_y[good] = store.y[where]
    store.ap_vx[good] = store.vx[where]
    store.ap_vy[good] = store.vy[where]
    if ok.all():
        return
    bad = rows[~ok]
    gone = ~live[~ok]
    for i in np.argsort(store.ids[bad], kind="stable").tolist():
        cancel_autopilot(state, int(bad[i]), "target_gone" if gone[i] else "target_docked")


_BRUTE_PAIRS: Final = 1_000_000
"""Cruisers x ships up to which the closing-ship check compares every pair (cheaper than
bringing the neighbour grid up to date, which a busy zone's every cruiser would need)."""


def _ships_closing(state: SimState, rows: NDArray[np.int64], near: NDArray[np.bool_]) -> None:
    """near[row] = whether another undocked ship within CRUISE_SHIP_DISTANCE of the cruising
    ship in `row` is closing on it (the range between them shrinking)."""
    store = state.store
    n = store.count
    if rows.size * n <= _BRUTE_PAIRS:
        ships_closing(n, rows, store.kind, store.flags, store.x, store.y, store.vx, store.vy,
                      CRUISE_SHIP_DISTANCE, near)  # fmt: skip
        return
    near[rows] = False
    ensure_grid(state)
    state.grid_built = (-1, -1)  # positions move this tick: the lazy grid must update after
    qx = store.x[rows].astype(np.float64)
    qy = store.y[rows].astype(np.float64)
    qi, other = state.grid.query_many(qx, qy, CRUISE_SHIP_DISTANCE)
    if other.size == 0:
        return
    me = rows[qi]
    keep = (other != me) & (store.kind[other] == KIND_SHIP) & ((store.flags[other] & DOCKED) == 0)
    me, other = me[keep], other[keep]
    dx = store.x[other].astype(np.float64) - store.x[me]
    dy = store.y[other].astype(np.float64) - store.y[me]
    dvx = store.vx[other].astype(np.float64) - store.vx[me]
    dvy = store.vy[other].astype(np.float64) - store.vy[me]
    near[me[dx * dvx + dy * dvy < 0]] = True


def _raise(state: SimState, rows: NDArray[np.int64], codes: NDArray[np.int8]) -> None:
    """The kernel's (row, code) events as event objects, in ship id order (a ship's own events
    in the order the kernel wrote them); turns off the autopilots that arrived or ran dry."""
    store = state.store
    order = np.argsort(store.ids[rows], kind="stable")
    events: list[ZoneEvent] = []
    for row, code in zip(rows[order].tolist(), codes[order].tolist(), strict=True):
        ship = int(store.ids[row])
        owner = store.owner.item(row)
        if code == EV_ARRIVED:
            kind = store.ap_kind.item(row)
            target = _target(state, row)
            if kind != AP_SHIP:
                store.ap_kind[row] = AP_OFF
                store.ap_flags[row] = 0
            events.append(AutopilotArrived(ship, owner, AP_KIND_NAMES[kind], target))
        elif code == EV_OUT_OF_FUEL:
            store.ap_kind[row] = AP_OFF
            store.ap_flags[row] = 0
            events.append(AutopilotCancelled(ship, owner, "fuel"))
        elif code == EV_SPOOLING:
            events.append(CruiseChanged(ship, owner, "spooling"))
        elif code == EV_CRUISING:
            events.append(CruiseChanged(ship, owner, "on"))
        else:
            events.append(CruiseChanged(ship, owner, "off", DROP_REASONS[code - EV_DROP]))
    state.events.extend(events)


@dataclass(frozen=True, slots=True)
class TravelState:
    """A ship's autopilot and cruise, for its status: `autopilot` is the target kind (None:
    off), `target` its station, field or link index or ship id (0 for a point), `goal` the
    point it flies to (the approach point is `approach` m from it); `cruise` "off",
    "spooling" or "on"."""

    autopilot: str | None
    target: int
    goal: tuple[float, float] | None
    approach: float
    cruise: str


def travel_state(state: SimState, row: int) -> TravelState:
    """The travel state of the ship in `row`."""
    store = state.store
    kind = store.ap_kind.item(row)
    cruise = CRUISE_NAMES.get(store.cruise.item(row), "off")
    if kind == AP_OFF:
        return TravelState(None, 0, None, 0.0, cruise)
    goal = (store.ap_x.item(row), store.ap_y.item(row))
    return TravelState(AP_KIND_NAMES[kind], _target(state, row), goal, store.ap_r.item(row), cruise)


def _target(state: SimState, row: int) -> int:
    """What the ship's autopilot flies to: the followed ship's id, the station, field or link
    index, or 0 for a point."""
    store = state.store
    kind = store.ap_kind.item(row)
    if kind == AP_SHIP:
        return int(store.ap_target[row])
    return 0 if kind == AP_POINT else store.ap_index.item(row)
