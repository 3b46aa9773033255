"""Systems at the edges of a tick: intents in, discrete actions (dock, undock, jump, mine,
loot) resolved.

Intents are Python objects, so checking them is one Python pass (a busy zone gets thousands a
tick); storing the accepted controls is one compiled loop, and so is resolving the Fire
intents (combat.py). The rare Dock, Undock, Jump, Mine and Loot are resolved one by one in
Python, because each needs its own answer.

Rules (identical for players and agents: there is no other path into a zone):
- an intent naming a ship the zone does not hold is refused UNKNOWN_SHIP; one whose actor does
  not own the ship is refused NOT_YOUR_SHIP (marked as evidence);
- on a shared ship (one with a station table, `Zone.set_stations`) each intent must come
  from whoever holds its station (`STATION_OF`: Input, Dock, Undock, Jump and Loot are the
  pilot's, Fire the gunner's, Mine the miner's, Power the engineer's); an empty station is
  the owner's. Anyone else is refused NOT_YOUR_STATION (not evidence: a crew mix-up);
- Power (the engineer's split) is applied at once: see `apply_power`;
- Input is clamped (thrust 0..1, turn -1..1, non-finite values count as 0) and stored as the
  ship's held controls; the last Input for a ship in a tick wins; while docked it is stored but
  has no effect until the ship undocks; one with thrust, turn or brake cancels the autopilot;
- Autopilot and Cruise are checked and applied at once, in arrival order (see autopilot.py);
- Fire is resolved by the weapons stage, right after steering (combat.py);
- Dock, Undock, Jump, Mine and Loot are resolved at the end of the tick, in arrival order,
  against the state the flight stages left (see `resolve_actions`).
"""

from __future__ import annotations

import math
import operator

import numpy as np

from callister.protocol.errors import ErrorCode
from callister.protocol.intents import (
    Autopilot,
    Cruise,
    Dock,
    Fire,
    Input,
    Jump,
    Loot,
    Mine,
    Power,
    Undock,
)
from callister.sim.autopilot import cancel_autopilot, set_cruise, start_autopilot, stop_travel
from callister.sim.entities import (
    DOCKED,
    JUMPING,
    KIND_SHIP,
    KIND_WRECK,
    NO_CONTACT,
    NO_FUEL,
    NO_STATION,
    THRUSTING,
    EntityStore,
)
from callister.sim.events import (
    Docked,
    FuelEmpty,
    JumpCancelled,
    JumpCharging,
    JumpOut,
    LootReached,
    Undocked,
)
from callister.sim.kernels import store_controls
from callister.sim.layout import StationSpec
from callister.sim.mining import start_mining
from callister.sim.rules import (
    DOCK_MAX_SPEED,
    JUMP_CHARGE_TICKS,
    LOOT_MAX_SPEED,
    LOOT_RANGE,
    UNDOCK_MARGIN,
    UNDOCK_SPEED,
)
from callister.sim.state import (
    SimState,
    refuse,
    refuse_if_too_far,
    refuse_if_too_fast,
    ship_state,
)

STATION_OF: dict[type, str] = {
    Input: "pilot",
    Dock: "pilot",
    Undock: "pilot",
    Jump: "pilot",
    Loot: "pilot",
    Fire: "gunner",
    Mine: "miner",
    Power: "engineer",
    Autopilot: "pilot",
    Cruise: "pilot",
}
"""The crew station whose holder may send each intent on a shared ship."""
POWER_MIN: float = 0.5
"""A system's factor with no power share; it grows by POWER_SPAN x its share (1/3 -> 1.0)."""
POWER_SPAN: float = 1.5


def power_factors(engines: object, weapons: object, shields: object) -> tuple[float, float, float]:
    """(engines, weapons, shields) shares -> rate factors: each share is clamped to 0..1, the
    three are normalised to sum to 1 (all zero: an even split), and a system runs at
    POWER_MIN + POWER_SPAN x share of its normal rate (0.5 .. 2.0; an even split is 1.0)."""
    shares = [_clamp(v, 0.0, 1.0) for v in (engines, weapons, shields)]
    total = sum(shares)
    if total <= 0:
        shares, total = [1.0, 1.0, 1.0], 3.0
    e, w, s = (POWER_MIN + POWER_SPAN * v / total for v in shares)
    return e, w, s


def apply_power(state: SimState, intent: Power, row: int) -> None:
    """The engineer's split: thrust (accel) x engines, energy regeneration x weapons, shield
    regeneration x shields, each relative to the factors in force before (factors are never
    0, so rescaling is exact up to float32 rounding). `Zone.tune_ship` keeps the shields
    factor when the crew's skills retune the shield regeneration."""
    store = state.store
    new = power_factors(intent.engines, intent.weapons, intent.shields)
    old = state.power.get(intent.ship, (1.0, 1.0, 1.0))
    store.accel[row] = store.accel.item(row) * new[0] / old[0]
    store.energy_regen[row] = store.energy_regen.item(row) * new[1] / old[1]
    store.shield_regen[row] = store.shield_regen.item(row) * new[2] / old[2]
    state.power[intent.ship] = new


def _clamp(value: object, lo: float, hi: float) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    if not math.isfinite(v):
        return 0.0
    return min(max(v, lo), hi)


def apply_intents(state: SimState) -> None:
    """Check ownership of every queued intent; store Inputs; queue the rest for `resolve_actions`.

    One Python pass in arrival order does the checks (refusals become events, Dock/Undock/Jump
    are queued, the last Input per ship is kept); the accepted controls are then clamped and
    stored by one compiled loop, so a tick with one Input costs a few microseconds and one with
    thousands stays a single pass.
    """
    intents = state.intents
    if not intents:
        return
    state.intents = []
    store = state.store
    row_of = store.row_map.get
    owner_of = store.owner.item
    kind_of = store.kind.item
    ap_kind_of = store.ap_kind.item
    latest: dict[int, Input] = {}  # row -> its last Input this tick
    fires = state.fires
    for intent in intents:
        row = row_of(intent.ship)
        actor = intent.actor
        if row is None or kind_of(row) != KIND_SHIP:
            refuse(state, intent, ErrorCode.UNKNOWN_SHIP, f"no ship {intent.ship} in this zone")
        elif (
            not (owner_of(row) == actor if type(actor) is int else _is_owner(row, store, actor))
            and state.crew.get(actor) != intent.ship
        ):  # crew act for their ship (Zone.set_crew)
            refuse(
                state,
                intent,
                ErrorCode.NOT_YOUR_SHIP,
                f"ship {intent.ship} is not yours",
                evidence=True,
            )
        elif state.stations and not _at_station(state, intent, row, actor):
            refuse(
                state,
                intent,
                ErrorCode.NOT_YOUR_STATION,
                f"the {STATION_OF[type(intent)]} of ship {intent.ship} is someone else",
            )
        elif type(intent) is Input:
            latest[row] = intent
            if ap_kind_of(row) and _steers(intent):
                cancel_autopilot(state, row, "manual")
        elif type(intent) is Autopilot:
            start_autopilot(state, intent, row)
        elif type(intent) is Cruise:
            set_cruise(state, intent, row)
        elif type(intent) is Power:
            apply_power(state, intent, row)
        elif isinstance(intent, Fire):
            fires.append((intent, row))
        else:
            state.actions.append(intent)  # type: ignore[arg-type]
    state.fires_version = store.version
    if not latest:
        return
    inputs = latest.values()
    rows = np.fromiter(latest, dtype=np.int64, count=len(latest))
    try:
        controls = np.array([(i.thrust, i.turn) for i in inputs], dtype=np.float64)
    except (TypeError, ValueError, OverflowError):  # garbage from a client: per value
        controls = np.array(
            [(_clamp(i.thrust, 0.0, 1.0), _clamp(i.turn, -1.0, 1.0)) for i in inputs],
            dtype=np.float64,
        )
    brake = np.array([bool(i.brake) for i in inputs], dtype=np.bool_)
    store_controls(rows, controls, brake, store.thrust, store.turn, store.brake)


def _steers(intent: Input) -> bool:
    """Whether an Input asks for thrust, turn or brake (which cancels the autopilot; an
    all-zero Input, a client letting go of its keys, does not)."""
    return (
        bool(intent.brake)
        or _clamp(intent.thrust, 0.0, 1.0) > 0
        or _clamp(intent.turn, -1.0, 1.0) != 0
    )


def _at_station(state: SimState, intent: object, row: int, actor: object) -> bool:
    """Whether `actor` holds the station `intent` needs on its ship (always, for a ship with
    no station table; an empty station is the owner's)."""
    table = state.stations.get(intent.ship)  # type: ignore[attr-defined]
    if table is None:
        return True
    holder = table.get(STATION_OF[type(intent)], 0)
    if not holder:
        holder = state.store.owner.item(row)
    return bool(holder == actor)


def _is_owner(row: int, store: EntityStore, actor: object) -> bool:
    """The ownership check for an actor that is not a plain int (rare: numpy ints, garbage).
    Owners are int64, so an actor that is not an integer owns nothing here."""
    try:
        return bool(store.owner.item(row) == operator.index(actor))  # type: ignore[arg-type]
    except TypeError:
        return False


def charge_jumps(state: SimState) -> None:
    """Count down charging jumps; a ship whose charge reaches 0 leaves the zone (JumpOut).

    Ships are visited in id order so events are deterministic whatever the row layout. A ship
    destroyed this tick (hull at 0) does not get away: it waits for the destruction stage.
    """
    if not state.jumping:
        return
    store = state.store
    leaving: list[int] = []
    for ship in sorted(state.jumping):
        row = store.row(ship)
        left = store.jump_ticks.item(row) - 1
        store.jump_ticks[row] = left
        if left <= 0 and store.hull_hp.item(row) > 0:
            leaving.append(ship)
    for ship in leaving:
        row = store.row(ship)
        to_x = store.jump_x.item(row)
        to_y = store.jump_y.item(row)
        snapshot = ship_state(store, ship)
        store.remove(ship)
        state.jumping.discard(ship)
        state.miners.discard(ship)
        state.events.append(JumpOut(ship=ship, to_x=to_x, to_y=to_y, state=snapshot))


def resolve_actions(state: SimState) -> None:
    """Resolve queued Dock, Undock, Jump, Mine and Loot requests in arrival order.

    - Dock: refused DOCKED if already docked; NO_STATION_IN_RANGE unless the named station (or,
      with no station named, the nearest one) has the ship's centre within its dock_radius;
      TOO_FAST above DOCK_MAX_SPEED. Docking stops the ship at the station's centre, cancels
      a charging jump (JumpCancelled), the autopilot and a cruise spool-up.
    - Undock: refused NOT_DOCKED unless docked. The ship appears facing away from the star,
      UNDOCK_MARGIN clear of the station's hull (the undock lane), moving out along the lane
      at UNDOCK_SPEED: undocking and thrusting at once cannot hit the station.
    - Jump: refused NO_SUCH_LINK unless the target sector is a link of this system, DOCKED if
      docked, JUMPING if already charging, NO_FUEL without jump_fuel x the world's fuel
      multiplier in the tank (taken when the charge starts; not refunded). Charging takes
      JUMP_CHARGE_TICKS ticks counted from the next tick, during which the ship flies normally.
    - Mine: see mining.py.
    - Loot: refused NO_TARGET unless the wreck is here, DOCKED if docked, TOO_FAR (evidence)
      unless the ship's centre is within LOOT_RANGE of the wreck's hull and it moves at most
      LOOT_MAX_SPEED; accepted, it raises `LootReached` and the world moves the items.
    A ship that left the zone earlier in the tick (a finished jump, destroyed) is refused
    UNKNOWN_SHIP.
    """
    store = state.store
    for intent in state.actions:
        if intent.ship not in store:
            refuse(state, intent, ErrorCode.UNKNOWN_SHIP, f"ship {intent.ship} left this zone")
        elif isinstance(intent, Dock):
            _dock(state, intent)
        elif isinstance(intent, Undock):
            _undock(state, intent)
        elif isinstance(intent, Jump):
            _start_jump(state, intent)
        elif isinstance(intent, Mine):
            start_mining(state, intent)
        elif isinstance(intent, Loot):
            _loot(state, intent)
    state.actions.clear()


def _dock(state: SimState, intent: Dock) -> None:
    store = state.store
    row = store.row(intent.ship)
    if store.flags.item(row) & DOCKED:
        refuse(state, intent, ErrorCode.DOCKED, "already docked")
        return
    x = store.x.item(row)
    y = store.y.item(row)
    station: StationSpec | None = None
    if intent.station is None:
        best = math.inf
        for s in state.layout.stations:
            d = math.hypot(x - s.x, y - s.y)
            if d <= s.dock_radius and d < best:
                best = d
                station = s
        if station is None:
            refuse(state, intent, ErrorCode.NO_STATION_IN_RANGE, "no station in docking range")
            return
    else:
        station = state.layout.station(intent.station)
        if station is None:
            refuse(state, intent, ErrorCode.NO_STATION_IN_RANGE, f"no station {intent.station}")
            return
        d = math.hypot(x - station.x, y - station.y)
        if d > station.dock_radius:
            refuse(
                state,
                intent,
                ErrorCode.NO_STATION_IN_RANGE,
                f"station {station.index} is {d:.0f} m away; dock within {station.dock_radius:.0f}",
            )
            return
    if refuse_if_too_fast(state, intent, row, DOCK_MAX_SPEED, ErrorCode.TOO_FAST):
        return
    if intent.ship in state.jumping:
        _cancel_jump(state, intent.ship, row)
    stop_travel(state, row)
    store.x[row] = station.x
    store.y[row] = station.y
    store.vx[row] = 0.0
    store.vy[row] = 0.0
    store.flags[row] = (store.flags.item(row) | DOCKED) & ~THRUSTING
    store.docked_at[row] = station.index
    store.contact[row] = NO_CONTACT
    state.events.append(Docked(ship=intent.ship, station=station.index))


def _cancel_jump(state: SimState, ship: int, row: int) -> None:
    store = state.store
    store.flags[row] = store.flags.item(row) & ~JUMPING
    store.jump_ticks[row] = 0
    state.jumping.discard(ship)
    state.events.append(
        JumpCancelled(ship=ship, to_x=store.jump_x.item(row), to_y=store.jump_y.item(row))
    )


def undock_position(station: StationSpec, ship_radius: float) -> tuple[float, float, float]:
    """(x, y, angle) where a ship of `ship_radius` appears when it undocks from `station`.

    On the side away from the star (the origin), UNDOCK_MARGIN clear of the station's hull
    (the undock lane), so a ship never undocks facing into it; a station at the origin itself
    sends ships out along +x. The ship leaves along the lane at UNDOCK_SPEED.
    """
    dist = math.hypot(station.x, station.y)
    if dist > 0:
        ux, uy = station.x / dist, station.y / dist
    else:
        ux, uy = 1.0, 0.0
    out = station.radius + ship_radius + UNDOCK_MARGIN
    return station.x + ux * out, station.y + uy * out, math.atan2(uy, ux)


def _undock(state: SimState, intent: Undock) -> None:
    store = state.store
    row = store.row(intent.ship)
    station = state.layout.station(store.docked_at.item(row))
    if not store.flags.item(row) & DOCKED or station is None:
        refuse(state, intent, ErrorCode.NOT_DOCKED, "not docked")
        return
    x, y, angle = undock_position(station, store.radius.item(row))
    store.x[row] = x
    store.y[row] = y
    store.vx[row] = UNDOCK_SPEED * math.cos(angle)
    store.vy[row] = UNDOCK_SPEED * math.sin(angle)
    store.angle[row] = angle
    store.flags[row] = store.flags.item(row) & ~DOCKED
    store.docked_at[row] = NO_STATION
    store.contact[row] = NO_CONTACT
    state.events.append(Undocked(ship=intent.ship, station=station.index))


def _start_jump(state: SimState, intent: Jump) -> None:
    store = state.store
    row = store.row(intent.ship)
    target = (intent.to_x, intent.to_y)
    if target not in state.layout.links:
        refuse(state, intent, ErrorCode.NO_SUCH_LINK, f"no jump link from here to sector {target}")
        return
    flags = store.flags.item(row)
    if flags & DOCKED:
        refuse(state, intent, ErrorCode.DOCKED, "undock before jumping")
        return
    if flags & JUMPING:
        refuse(state, intent, ErrorCode.JUMPING, "a jump is already charging")
        return
    fuel = store.fuel.item(row)
    need = store.jump_fuel.item(row) * state.rules.fuel_multiplier
    if fuel < need or fuel <= 0:
        refuse(
            state,
            intent,
            ErrorCode.NO_FUEL,
            f"a jump needs {need:.1f} fuel; the tank has {fuel:.1f}",
        )
        return
    left = max(0.0, fuel - need)
    store.fuel[row] = left
    if need > 0 and left <= 0:
        flags |= NO_FUEL
        state.events.append(FuelEmpty(intent.ship, store.owner.item(row)))
    store.flags[row] = flags | JUMPING
    store.jump_ticks[row] = JUMP_CHARGE_TICKS
    store.jump_x[row] = intent.to_x
    store.jump_y[row] = intent.to_y
    state.jumping.add(intent.ship)
    state.events.append(
        JumpCharging(ship=intent.ship, to_x=intent.to_x, to_y=intent.to_y, ticks=JUMP_CHARGE_TICKS)
    )


def _loot(state: SimState, intent: Loot) -> None:
    store = state.store
    row = store.row(intent.ship)
    wreck = store.find(intent.wreck) if type(intent.wreck) is int else None
    if wreck is None or store.kind.item(wreck) != KIND_WRECK:
        refuse(state, intent, ErrorCode.NO_TARGET, f"no wreck {intent.wreck} here")
        return
    if store.flags.item(row) & DOCKED:
        refuse(state, intent, ErrorCode.DOCKED, "undock before looting")
        return
    gap = math.hypot(
        store.x.item(row) - store.x.item(wreck), store.y.item(row) - store.y.item(wreck)
    ) - store.radius.item(wreck)
    if refuse_if_too_far(state, intent, "the wreck", gap, LOOT_RANGE):
        return
    if refuse_if_too_fast(state, intent, row, LOOT_MAX_SPEED, ErrorCode.TOO_FAR, evidence=True):
        return
    state.events.append(LootReached(intent.ship, store.owner.item(row), intent.wreck))
