"""Mining and the ore fields: who mines what, how fast, and how fields deplete and regrow.

Rules:
- `Mine(rock)` starts mining when the ship is undocked (DOCKED), the rock exists (NO_TARGET)
  and belongs to a field with ore left (NOT_AVAILABLE), the ship's centre is within
  MINING_RANGE of the rock's surface and it moves at most MINING_MAX_SPEED (TOO_FAR*, evidence),
  and its hold has room (CARGO_FULL). `Mine(-1)` stops (no event).
- Each tick a miner gains MINING_RATE x dt x richness / 100 x the world's yield multiplier
  units of the field's ore, never more than the field holds nor than its free cargo; the
  field loses as much. A field of richness r holds r x UNITS_PER_POINT units; its richness is
  the units left / UNITS_PER_POINT rounded up, and each change raises `FieldChanged`.
- Whole units are reported in a `Mined` event at most once per MINING_REPORT_S (the fraction
  carries over), and once more when mining stops, so no whole unit is lost; each report lowers
  the ship's `cargo_free` by its quantity (the world sets the true value with `set_vitals`).
- Mining stops (`MiningStopped`) when the ship docked ("docked"), drifted out of range
  ("range"), sped up ("speed"), filled its hold ("cargo_full") or emptied the field
  ("depleted").
- A field below its generated base regrows one point per REGROW_TICKS world ticks counted from
  its last richness change (`FieldChanged` again); `regrown` gives the same answer for a field
  that was not loaded meanwhile.
Miners are visited in id order, so events and depletion are deterministic.
"""

from __future__ import annotations

import math

from callister.protocol.errors import ErrorCode
from callister.protocol.intents import Mine
from callister.sim.entities import DOCKED, MINING, NO_ROCK
from callister.sim.events import FieldChanged, Mined, MiningStopped, MiningStopReason
from callister.sim.rules import (
    MINING_MAX_SPEED,
    MINING_RANGE,
    MINING_RATE,
    REGROW_TICKS,
    UNITS_PER_POINT,
)
from callister.sim.state import (
    FieldState,
    SimState,
    refuse,
    refuse_if_too_far,
    refuse_if_too_fast,
)

_EPS = 1e-9


def regrown(richness: int, base: int, ticks_elapsed: int) -> int:
    """A field's richness after `ticks_elapsed` world ticks of regrowth from `richness`: one
    point per REGROW_TICKS, up to `base` (a field above its base stays as it is). Pure."""
    if ticks_elapsed < 0:
        raise ValueError("ticks_elapsed must not be negative")
    if richness >= base:
        return richness
    return min(base, richness + ticks_elapsed // REGROW_TICKS)


def regrow_since(richness: int, base: int, last_tick: int, now: int) -> tuple[int, int]:
    """(richness, tick of its last change) at world tick `now` for a field that had `richness`
    since `last_tick`: what a world stores back after loading a field (the regrowth keeps its
    phase, so a zone continues it exactly). Pure."""
    grown = regrown(richness, base, max(0, now - last_tick))
    return grown, last_tick + (grown - richness) * REGROW_TICKS if grown > richness else last_tick


def richness_of(units: float) -> int:
    """Integer richness of a field holding `units` units (rounded up; 0 only when empty)."""
    if units <= _EPS:
        return 0
    return math.ceil(units / UNITS_PER_POINT - _EPS)


def start_mining(state: SimState, intent: Mine) -> None:
    """Resolve a Mine intent (rules in the module docstring)."""
    store = state.store
    row = store.row(intent.ship)
    rock = intent.rock if type(intent.rock) is int else -(2**62)
    if rock == NO_ROCK:
        if intent.ship in state.miners:
            stop_mining(state, intent.ship, None)
        return
    if store.flags.item(row) & DOCKED:
        refuse(state, intent, ErrorCode.DOCKED, "undock before mining")
        return
    rocks = state.layout.rocks
    if not 0 <= rock < len(rocks):
        refuse(state, intent, ErrorCode.NO_TARGET, f"no rock {intent.rock} here")
        return
    spec = rocks[rock]
    field = state.fields.get(spec.field)
    if field is None or field.units <= _EPS:
        refuse(state, intent, ErrorCode.NOT_AVAILABLE, "this rock holds no ore")
        return
    gap = math.hypot(store.x.item(row) - spec.x, store.y.item(row) - spec.y) - spec.r
    if refuse_if_too_far(state, intent, "the rock", gap, MINING_RANGE):
        return
    if refuse_if_too_fast(state, intent, row, MINING_MAX_SPEED, ErrorCode.TOO_FAR, evidence=True):
        return
    if store.cargo_free.item(row) - store.mine_acc.item(row) <= _EPS:
        refuse(state, intent, ErrorCode.CARGO_FULL, "the hold is full")
        return
    if intent.ship not in state.miners:
        # the first report comes after a full MINING_REPORT_S of mining (this tick included)
        store.mine_report[row] = state.tick + state.report_ticks - 1
    store.mine_rock[row] = rock
    store.flags[row] = store.flags.item(row) | MINING
    state.miners.add(intent.ship)


def _report(state: SimState, row: int, rock: int) -> None:
    """Report the whole units mined so far (if any) in one `Mined`."""
    store = state.store
    acc = store.mine_acc.item(row)
    qty = math.floor(acc + _EPS)
    if qty < 1:
        return
    spec = state.layout.rocks[rock]
    field = state.fields[spec.field]
    store.mine_acc[row] = max(0.0, acc - qty)
    store.cargo_free[row] = max(0, store.cargo_free.item(row) - qty)
    state.events.append(
        Mined(store.ids.item(row), store.owner.item(row), field.index, rock, field.ore, qty)
    )


def stop_mining(state: SimState, ship: int, reason: MiningStopReason | None) -> None:
    """End a ship's mining: report its whole units, clear MINING, and raise `MiningStopped`
    unless the player asked (`reason` None)."""
    store = state.store
    row = store.row(ship)
    rock = store.mine_rock.item(row)
    if rock != NO_ROCK and 0 <= rock < len(state.layout.rocks):
        _report(state, row, rock)
    store.mine_rock[row] = NO_ROCK
    store.flags[row] = store.flags.item(row) & ~MINING
    state.miners.discard(ship)
    if reason is not None:
        state.events.append(MiningStopped(ship, store.owner.item(row), reason))


def _set_richness(state: SimState, field: FieldState, richness: int) -> None:
    if richness != field.richness:
        field.richness = richness
        field.tick = state.tick
        state.events.append(FieldChanged(field.index, richness))
        state.update_next_regrow()


def mine(state: SimState) -> None:
    """One tick of every miner (in id order), then field regrowth."""
    if state.miners:
        _mine_all(state)
    if state.tick >= state.next_regrow:
        _regrow(state)


def _mine_all(state: SimState) -> None:
    store = state.store
    rocks = state.layout.rocks
    rate = MINING_RATE * state.dt * state.rules.yield_multiplier
    for ship in sorted(state.miners):
        row = store.row(ship)
        rock = store.mine_rock.item(row)
        spec = rocks[rock]
        field = state.fields[spec.field]
        reason: MiningStopReason | None = None
        if store.flags.item(row) & DOCKED:
            reason = "docked"
        elif math.hypot(store.x.item(row) - spec.x, store.y.item(row) - spec.y) - spec.r > (
            MINING_RANGE
        ):
            reason = "range"
        elif math.hypot(store.vx.item(row), store.vy.item(row)) > MINING_MAX_SPEED:
            reason = "speed"
        elif field.units <= _EPS:
            reason = "depleted"
        elif store.cargo_free.item(row) - store.mine_acc.item(row) <= _EPS:
            reason = "cargo_full"
        if reason is not None:
            stop_mining(state, ship, reason)
            continue
        room = store.cargo_free.item(row) - store.mine_acc.item(row)
        amount = min(rate * field.richness / 100.0 * store.mining_mult.item(row), field.units, room)
        store.mine_acc[row] = store.mine_acc.item(row) + amount
        field.units = max(0.0, field.units - amount)
        _set_richness(state, field, richness_of(field.units))
        if state.tick >= store.mine_report.item(row):
            _report(state, row, rock)
            store.mine_report[row] = state.tick + state.report_ticks
        if field.units <= _EPS:
            stop_mining(state, ship, "depleted")
        elif store.cargo_free.item(row) - store.mine_acc.item(row) <= _EPS:
            stop_mining(state, ship, "cargo_full")


def _regrow(state: SimState) -> None:
    for index in sorted(state.fields):
        field = state.fields[index]
        if field.richness >= field.base:
            continue
        richness, tick = regrow_since(field.richness, field.base, field.tick, state.tick)
        if richness != field.richness:
            field.richness = richness
            field.tick = tick
            field.units = float(richness * UNITS_PER_POINT)
            state.events.append(FieldChanged(field.index, richness))
    state.update_next_regrow()
