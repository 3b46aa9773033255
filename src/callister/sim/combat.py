"""Combat stages: firing, shells and missiles, the law, destruction, regeneration, wrecks.

The rules (the numbers live in rules.py and content/data/weapons.toml):

Firing (`fire_weapons`, Fire intents in arrival order, checks in this order):
- the shooter must be alive (DESTROYED) and undocked (DOCKED); the slot must hold a weapon
  (BAD_SLOT*); the slot must have cooled down (COOLDOWN*); a magazine weapon needs a round
  (NO_AMMO*); the shot's energy must be there (NO_ENERGY);
- a target, when named, must be a live, undocked ship other than the shooter (NO_TARGET; a
  missile always needs one); a player may not fire at another player's ship in a world
  without PvP (PVP_OFF; owners <= 0 are NPCs, always fair game); the target's hull must be
  within the weapon's range (OUT_OF_RANGE*) and its bearing within the weapon's arc off the
  nose (OUT_OF_RANGE*, "outside the arc"); no star, station or rock may lie between
  (NO_LINE_OF_FIRE*); a shell or missile needs an id from the zone's pool (INTERNAL).
  (* refusals are marked as evidence.)
- a laser beam lands at once: on its target, or fired straight ahead on the first ship it
  meets before a static collider within range. Its damage is full out to falloff x range,
  then falls linearly to FALLOFF_FLOOR at range. Shells fly from the gun (aimed ahead of a
  moving target, carrying the gun's velocity); missiles launch along the nose at their own
  speed and steer towards their target.

Damage (every source): shield first, then hull; the shield regenerates from SHIELD_DELAY_S
after the last hit. Hitting a ship that is not criminal inside SECURE_RADIUS of a lawful
station flags the attacker CRIMINAL for CRIME_S (CrimeCommitted when newly flagged); each
lawful station deals DEFENCE_DPS to every criminal within DEFENCE_RANGE. A ship whose hull
reaches 0 is destroyed at the end of the damage stages: Destroyed, a wreck (id from the pool),
its id retired.

Every stage here costs nothing when it has nothing to do (no fires, no shots, no criminals,
no hits, no wrecks).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from callister.protocol.errors import ErrorCode
from callister.protocol.intents import Fire
from callister.sim.entities import (
    CRIMINAL,
    DOCKED,
    KIND_MISSILE,
    KIND_PROJECTILE,
    KIND_SHIP,
    KIND_WRECK,
    STATION_WEAPON,
)
from callister.sim.events import (
    CrimeCommitted,
    Destroyed,
    Fired,
    Hit,
    WreckExpired,
)
from callister.sim.kernels_combat import (
    FIRE_BAD_SLOT,
    FIRE_COOLDOWN,
    FIRE_DESTROYED,
    FIRE_DOCKED,
    FIRE_NO_AMMO,
    FIRE_NO_ENERGY,
    FIRE_NO_IDS,
    FIRE_NO_LINE_OF_FIRE,
    FIRE_NO_TARGET,
    FIRE_OK,
    FIRE_OUT_OF_ARC,
    FIRE_OUT_OF_RANGE,
    FIRE_PVP_OFF,
    GRID_META,
    TARGET_NONE,
    TARGET_UNKNOWN,
    build_ship_grid,
    fly_shots,
    regenerate,
    resolve_fires,
    station_defence,
)
from callister.sim.rules import (
    DEFENCE_DPS,
    DEFENCE_RANGE,
    SECURE_RADIUS,
    SHOT_RADIUS,
    UNLIMITED_SPEED,
    WRECK_DAMPING,
)
from callister.sim.state import (
    SHIP_GRID_CELL,
    SHIP_GRID_MAX_CELLS,
    SimState,
    refuse,
    ship_state,
)
from callister.sim.weapons import MISSILE, STATION_WEAPON_KEY, WEAPON_KEYS

# code -> (ErrorCode, evidence?, reason)
_REFUSALS: Final[dict[int, tuple[ErrorCode, bool, str]]] = {
    FIRE_DESTROYED: (ErrorCode.DESTROYED, False, "the ship is destroyed"),
    FIRE_DOCKED: (ErrorCode.DOCKED, False, "undock before firing"),
    FIRE_BAD_SLOT: (ErrorCode.BAD_SLOT, True, "no weapon in that slot"),
    FIRE_COOLDOWN: (ErrorCode.COOLDOWN, True, "the weapon has not cooled down"),
    FIRE_NO_AMMO: (ErrorCode.NO_AMMO, True, "the magazine is empty"),
    FIRE_NO_ENERGY: (ErrorCode.NO_ENERGY, False, "not enough energy for the shot"),
    FIRE_NO_TARGET: (ErrorCode.NO_TARGET, False, "no such target here"),
    FIRE_PVP_OFF: (ErrorCode.PVP_OFF, False, "this world forbids attacking other players"),
    FIRE_OUT_OF_RANGE: (ErrorCode.OUT_OF_RANGE, True, "the target is beyond the weapon's range"),
    FIRE_OUT_OF_ARC: (ErrorCode.OUT_OF_RANGE, True, "the target is outside the weapon's arc"),
    FIRE_NO_LINE_OF_FIRE: (ErrorCode.NO_LINE_OF_FIRE, True, "something is in the way"),
    FIRE_NO_IDS: (ErrorCode.INTERNAL, False, "the zone has no ids for the shot; try again"),
}

_MAX_ID: Final = 2**64 - 1
_EMPTY_I32: Final = np.zeros(0, dtype=np.int32)
_EMPTY_F64: Final = np.zeros(0, dtype=np.float64)


def _weapon_key(index: int) -> str:
    if index == STATION_WEAPON:
        return STATION_WEAPON_KEY
    return WEAPON_KEYS[index] if 0 <= index < len(WEAPON_KEYS) else ""


def lawful_stations(
    state: SimState,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int32]]:
    """(x, y, index) of the layout's lawful stations, in index order (cached per layout)."""

    def column(field: str, dtype: type[np.generic]) -> NDArray[Any]:
        lawful = sorted((s for s in state.layout.stations if s.lawful), key=lambda s: s.index)
        return np.array([getattr(s, field) for s in lawful], dtype=dtype)

    return (
        state.memo("lawful_x", lambda: column("x", np.float64)),
        state.memo("lawful_y", lambda: column("y", np.float64)),
        state.memo("lawful_i", lambda: column("index", np.int32)),
    )


def ship_grid(state: SimState) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.float64]]:
    """Build the ship grid over the live, undocked ships' current positions: (start, rows,
    meta) for the kernels (see `kernels_combat.build_ship_grid`)."""
    store = state.store
    n = store.count
    # A few cells per entity at most (cells grow to fit): a small zone's grid stays small.
    max_cells = min(SHIP_GRID_MAX_CELLS, 4 * n + 64)
    start = state.scratch("sg_start", np.int32, max_cells + 1)
    rows = state.scratch("sg_rows", np.int32)
    cell_of = state.scratch("sg_cell_of", np.int32)
    meta = state.scratch("sg_meta", np.float64, GRID_META)
    build_ship_grid(
        n, store.kind, store.flags, store.hull_hp, store.x, store.y, store.vx, store.vy,
        store.radius, SHIP_GRID_CELL, max_cells, cell_of, start, rows, meta,
    )  # fmt: skip
    return start, rows, meta


def _empty_grid(
    state: SimState,
) -> tuple[NDArray[np.int32], NDArray[np.int32], NDArray[np.float64]]:
    meta = state.scratch("sg_empty_meta", np.float64, GRID_META)
    meta[:] = 0.0
    meta[2] = 1.0
    return np.zeros(1, dtype=np.int32), _EMPTY_I32, meta


def _slot_of(value: object) -> int:
    if type(value) is int:
        return value if -(2**62) < value < 2**62 else -1
    return -1


def _target_of(value: object) -> int:
    """The target id as an int in 0..2**64-1, or -1 for garbage."""
    if type(value) is int and 0 <= value <= _MAX_ID:
        return value
    return -1


def fire_weapons(state: SimState) -> None:
    """Resolve this tick's Fire intents in arrival order (rules in the module docstring).

    Events per fire, in arrival order: a `Refused` (evidence-marked where the module docstring
    says so), or `Fired` followed, for a beam that hit, by `Hit` and possibly `CrimeCommitted`.
    Shells and missiles join the zone with ids from the pool, in arrival order.
    """
    fires = state.fires
    if not fires:
        return
    state.fires = []
    store = state.store
    k = len(fires)
    if state.fires_version != store.version:  # rows moved since apply_intents: look again
        fires = [(f, store.row_map.get(f.ship, -1)) for f, _ in fires]
        missing = [f for f, row in fires if row < 0]
        for f in missing:
            refuse(state, f, ErrorCode.UNKNOWN_SHIP, f"ship {f.ship} left this zone")
        fires = [(f, row) for f, row in fires if row >= 0]
        k = len(fires)
        if k == 0:
            return
    rows = np.fromiter((row for _, row in fires), dtype=np.int64, count=k)
    slots = np.fromiter((_slot_of(f.slot) for f, _ in fires), dtype=np.int64, count=k)
    targets = [_target_of(f.target) for f, _ in fires]
    target_ids = np.array([max(t, 0) for t in targets], dtype=np.uint64)
    trow = state.rows_of(target_ids)
    trow[trow < 0] = TARGET_UNKNOWN
    trow[target_ids == 0] = TARGET_NONE
    bad = [j for j, t in enumerate(targets) if t < 0]
    if bad:
        trow[bad] = TARGET_UNKNOWN
    if bool((trow == TARGET_NONE).any()):
        grid_start, grid_rows, grid_meta = ship_grid(state)
    else:
        grid_start, grid_rows, grid_meta = _empty_grid(state)
    code = np.empty(k, dtype=np.int8)
    victim = np.empty(k, dtype=np.int64)
    tx = np.zeros(k, dtype=np.float64)
    ty = np.zeros(k, dtype=np.float64)
    shield_dmg = np.zeros(k, dtype=np.float64)
    hull_dmg = np.zeros(k, dtype=np.float64)
    crime = np.empty(k, dtype=np.int32)
    sp = np.zeros((7, k), dtype=np.float64)  # x, y, vx, vy, angle, damage, (spare)
    sp_weapon = np.empty(k, dtype=np.int64)
    w = state.weapons
    assert w is not None
    lx, ly, lidx = lawful_stations(state)
    rules = state.rules
    spawned = resolve_fires(
        rows, slots, trow,
        store.ids, store.owner, store.kind, store.flags, store.x, store.y, store.vx, store.vy,
        store.angle, store.radius, store.hull_hp, store.shield, store.energy, store.slots,
        store.weapon, store.ready, store.ammo, store.shield_at, store.criminal_until,
        store.last_by, store.last_by_owner, store.last_weapon,
        w.kind, w.damage, w.range, w.cooldown, w.energy, w.magazine, w.speed, w.turn,
        w.arc_cos, w.falloff,
        state.statics.x, state.statics.y, state.statics.r, *state.statics.los,
        grid_start, grid_rows, grid_meta,
        lx, ly, lidx,
        state.tick, bool(rules.pvp), float(rules.damage_multiplier), state.shield_delay,
        state.crime_ticks, SECURE_RADIUS * SECURE_RADIUS, len(state.pool),
        code, victim, tx, ty, shield_dmg, hull_dmg, crime, sp[0], sp[1], sp[2], sp[3], sp[4],
        sp_weapon, sp[5],
    )  # fmt: skip
    shot_ids: dict[int, int] = {}
    if spawned:
        spawn = np.flatnonzero(sp_weapon >= 0)
        new_ids = state.pool.take(int(spawn.size))
        shot_ids = dict(zip(spawn.tolist(), new_ids, strict=True))
        _spawn_shots(state, spawn, new_ids, rows, sp, sp_weapon, trow, target_ids)
    _fire_events(state, fires, rows, slots, code, victim, tx, ty, shield_dmg, hull_dmg, crime,
                 target_ids, shot_ids)  # fmt: skip


def _spawn_shots(
    state: SimState,
    spawn: NDArray[np.intp],
    new_ids: list[int],
    rows: NDArray[np.int64],
    sp: NDArray[np.float64],
    sp_weapon: NDArray[np.int64],
    trow: NDArray[np.int64],
    target_ids: NDArray[np.uint64],
) -> None:
    store = state.store
    w = state.weapons
    assert w is not None
    weapons = sp_weapon[spawn]
    missile = w.kind[weapons] == MISSILE
    shooters = rows[spawn]
    speed = w.speed[weapons]
    store.add_many(
        new_ids,
        owner=store.owner[shooters],
        kind=np.where(missile, KIND_MISSILE, KIND_PROJECTILE).astype(np.uint8),
        x=sp[0, spawn],
        y=sp[1, spawn],
        vx=sp[2, spawn],
        vy=sp[3, spawn],
        angle=sp[4, spawn],
        max_speed=np.where(missile, speed, UNLIMITED_SPEED),
        turn_rate=np.where(missile, w.turn[weapons] * state.tick_hz, 0.0),
        radius=SHOT_RADIUS,
        source=store.ids[shooters],
        target=np.where(missile & (trow[spawn] >= 0), target_ids[spawn], 0).astype(np.uint64),
        shot_weapon=weapons.astype(np.int16),
        damage=sp[5, spawn],
        expires=state.tick + w.life[weapons],
    )


def _fire_events(
    state: SimState,
    fires: list[tuple[Fire, int]],
    rows: NDArray[np.int64],
    slots: NDArray[np.int64],
    code: NDArray[np.int8],
    victim: NDArray[np.int64],
    tx: NDArray[np.float64],
    ty: NDArray[np.float64],
    shield_dmg: NDArray[np.float64],
    hull_dmg: NDArray[np.float64],
    crime: NDArray[np.int32],
    target_ids: NDArray[np.uint64],
    shot_ids: dict[int, int],
) -> None:
    # Gather every column once (a few numpy calls) rather than item by item per fire.
    store = state.store
    events = state.events
    codes = code.tolist()
    ok = code == FIRE_OK
    shooters = store.ids[rows].tolist()
    owners = store.owner[rows].tolist()
    xs = store.x[rows].tolist()
    ys = store.y[rows].tolist()
    weapons = store.weapon[rows, np.where(ok, slots, 0)].tolist()
    hit_rows = np.maximum(victim, 0)
    victims = victim.tolist()
    victim_ids = store.ids[hit_rows].tolist()
    victim_owners = store.owner[hit_rows].tolist()
    victim_xs = store.x[hit_rows].tolist()
    victim_ys = store.y[hit_rows].tolist()
    txs = tx.tolist()
    tys = ty.tolist()
    sds = shield_dmg.tolist()
    hds = hull_dmg.tolist()
    crimes = crime.tolist()
    targets = target_ids.tolist()
    keys = WEAPON_KEYS
    for j, (intent, _row) in enumerate(fires):
        c = codes[j]
        if c != FIRE_OK:
            err, evidence, reason = _REFUSALS[c]
            refuse(state, intent, err, reason, evidence=evidence)
            continue
        weapon = keys[weapons[j]]
        shooter = shooters[j]
        owner = owners[j]
        hit = victims[j] >= 0
        events.append(
            Fired(
                shooter, owner, intent.slot, weapon, targets[j], xs[j], ys[j], txs[j], tys[j],
                hit, shot_ids.get(j, 0),
            )
        )  # fmt: skip
        if hit:
            state.damaged = True
            events.append(
                Hit(
                    victim_ids[j], victim_owners[j], shooter, owner, weapon, sds[j], hds[j],
                    victim_xs[j], victim_ys[j],
                )
            )  # fmt: skip
            station = crimes[j]
            if station >= 0:
                state.criminals += 1
                events.append(
                    CrimeCommitted(shooter, owner, victim_ids[j], victim_owners[j], station)
                )


def move_shots(state: SimState) -> None:
    """Shells and missiles after this tick's move: hits, static colliders, expiry, homing.

    Shots are resolved in id order (`kernels_combat.fly_shots` has the rules); each hit raises
    `Hit` (and `CrimeCommitted` when it flags its shooter), and spent shots leave the zone.
    """
    store = state.store
    if store.count_of(KIND_PROJECTILE) + store.count_of(KIND_MISSILE) == 0:
        return
    n = store.count
    kind = store.kind[:n]
    shot_rows = np.flatnonzero((kind == KIND_PROJECTILE) | (kind == KIND_MISSILE))
    shot_rows = shot_rows[np.argsort(store.ids[shot_rows])].astype(np.int64)
    src_rows = state.rows_of(store.source[shot_rows])
    tgt_rows = state.rows_of(store.target[shot_rows])
    if store.count_of(KIND_PROJECTILE):
        grid_start, grid_rows, grid_meta = ship_grid(state)
    else:
        grid_start, grid_rows, grid_meta = _empty_grid(state)
    m = shot_rows.size
    gone = np.empty(m, dtype=np.bool_)
    hit_shot = np.empty(m, dtype=np.int64)
    hit_victim = np.empty(m, dtype=np.int64)
    hit_sd = np.empty(m, dtype=np.float64)
    hit_hd = np.empty(m, dtype=np.float64)
    hit_crime = np.empty(m, dtype=np.int32)
    lx, ly, lidx = lawful_stations(state)
    rules = state.rules
    hits = fly_shots(
        state.dt, state.tick, bool(rules.pvp), state.shield_delay, state.crime_ticks,
        SECURE_RADIUS * SECURE_RADIUS,
        shot_rows, src_rows, tgt_rows,
        store.ids, store.owner, store.kind, store.flags, store.x, store.y, store.vx, store.vy,
        store.angle, store.radius, store.hull_hp, store.shield, store.max_speed,
        store.turn_rate, store.shield_at, store.criminal_until, store.last_by,
        store.last_by_owner, store.last_weapon, store.source, store.shot_weapon, store.damage,
        store.expires,
        state.statics.x, state.statics.y, state.statics.r, *state.statics.los,
        grid_start, grid_rows, grid_meta,
        lx, ly, lidx,
        gone, hit_shot, hit_victim, hit_sd, hit_hd, hit_crime,
    )  # fmt: skip
    events = state.events
    for h in range(hits):
        p = int(hit_shot[h])
        v = int(hit_victim[h])
        by = store.source.item(p)
        by_owner = store.owner.item(p)
        weapon = _weapon_key(store.shot_weapon.item(p))
        victim_id = store.ids.item(v)
        victim_owner = store.owner.item(v)
        events.append(
            Hit(
                victim_id, victim_owner, by, by_owner, weapon, float(hit_sd[h]),
                float(hit_hd[h]), store.x.item(v), store.y.item(v),
            )
        )  # fmt: skip
        station = int(hit_crime[h])
        if station >= 0:
            state.criminals += 1
            events.append(CrimeCommitted(by, by_owner, victim_id, victim_owner, station))
    if hits:
        state.damaged = True
    spent = shot_rows[gone]
    if spent.size:
        store.remove_many(store.ids[spent].tolist())


def station_defences(state: SimState) -> None:
    """Each lawful station fires on the criminal ships within DEFENCE_RANGE (DEFENCE_DPS; ships
    in id order, stations in index order): a `Hit` with by=0 and weapon "station" per pair."""
    if state.criminals <= 0:
        return
    lx, ly, lidx = lawful_stations(state)
    if lx.size == 0:
        return
    store = state.store
    n = store.count
    rows = np.flatnonzero((store.flags[:n] & (CRIMINAL | DOCKED)) == CRIMINAL).astype(np.int64)
    if rows.size == 0:
        return
    rows = rows[np.argsort(store.ids[rows])]
    cap = rows.size * lx.size
    out_row = np.empty(cap, dtype=np.int64)
    out_station = np.empty(cap, dtype=np.int32)
    out_sd = np.empty(cap, dtype=np.float64)
    out_hd = np.empty(cap, dtype=np.float64)
    hits = station_defence(
        state.tick, state.shield_delay, rows, lx, ly, lidx, DEFENCE_RANGE * DEFENCE_RANGE,
        DEFENCE_DPS * state.dt, store.flags, store.x, store.y, store.hull_hp, store.shield,
        store.shield_at, store.last_by, store.last_by_owner, store.last_weapon,
        out_row, out_station, out_sd, out_hd,
    )  # fmt: skip
    if hits:
        state.damaged = True
    for h in range(hits):
        v = int(out_row[h])
        state.events.append(
            Hit(
                store.ids.item(v), store.owner.item(v), 0, 0, STATION_WEAPON_KEY,
                float(out_sd[h]), float(out_hd[h]), store.x.item(v), store.y.item(v),
            )
        )  # fmt: skip


def destroy_ships(state: SimState) -> None:
    """Ships whose hull reached 0 this tick leave the zone, in id order: each raises
    `Destroyed` (killer = the last to hit it) and leaves a wreck with an id from the pool
    (none when the pool is empty) at its position, drifting at half its velocity, expiring
    after WRECK_TTL_TICKS (5 min)."""
    if not state.damaged:
        return
    state.damaged = False
    store = state.store
    n = store.count
    dead = np.flatnonzero((store.kind[:n] == KIND_SHIP) & (store.hull_hp[:n] <= 0))
    if dead.size == 0:
        return
    dead = dead[np.argsort(store.ids[dead])]
    wreck_ids = state.pool.take(min(int(dead.size), len(state.pool)))
    wrecks: list[int] = []
    events: list[Destroyed] = []
    for k, row in enumerate(dead.tolist()):
        ship = store.ids.item(row)
        wreck = wreck_ids[k] if k < len(wreck_ids) else 0
        if wreck:
            wrecks.append(row)
        events.append(
            Destroyed(
                ship, store.owner.item(row), store.last_by.item(row),
                store.last_by_owner.item(row), _weapon_key(store.last_weapon.item(row)),
                store.x.item(row), store.y.item(row), wreck, ship_state(store, ship),
            )
        )  # fmt: skip
    if wrecks:
        w = np.array(wrecks, dtype=np.int64)
        columns = {
            "owner": store.owner[w],
            "kind": KIND_WRECK,
            "x": store.x[w],
            "y": store.y[w],
            "vx": store.vx[w] * np.float32(0.5),
            "vy": store.vy[w] * np.float32(0.5),
            "angle": store.angle[w],
            "radius": store.radius[w],
            "max_speed": UNLIMITED_SPEED,
            "source": store.ids[w],
            "expires": state.tick + state.wreck_ttl,
        }
    dead_ids = [e.ship for e in events]
    for ship in dead_ids:
        state.jumping.discard(ship)
        state.miners.discard(ship)
    store.remove_many(dead_ids)
    if wrecks:
        store.add_many(wreck_ids[: len(wrecks)], **columns)
    state.events.extend(events)


def regenerate_vitals(state: SimState) -> None:
    """Energy regenerates; shields regenerate from SHIELD_DELAY_S after the last hit, paying
    energy; expired criminal flags are cleared (see `kernels_combat.regenerate`)."""
    store = state.store
    n = store.count
    if n == 0:
        state.criminals = 0
        return
    state.criminals = regenerate(
        n, np.float32(state.dt), state.tick, store.flags, store.energy,
        store.energy_max, store.energy_regen, store.shield, store.shield_max,
        store.shield_regen, store.shield_at, store.criminal_until,
    )  # fmt: skip


def expire_wrecks(state: SimState) -> None:
    """Wrecks drift to rest (WRECK_DAMPING per tick) and leave when their time is up
    (`WreckExpired`, in id order)."""
    store = state.store
    if store.count_of(KIND_WRECK) == 0:
        return
    n = store.count
    rows = np.flatnonzero(store.kind[:n] == KIND_WRECK)
    damping = np.float32(WRECK_DAMPING)
    store.vx[rows] *= damping
    store.vy[rows] *= damping
    due = rows[store.expires[rows] <= state.tick]
    if due.size == 0:
        return
    ids = np.sort(store.ids[due]).tolist()
    store.remove_many(ids)
    state.events.extend(WreckExpired(w) for w in ids)
