"""What each player is told besides snapshots: their ship's status and the effects near them.

`status` (hull, shield, energy, fuel, weapons, cargo, credits, target) goes out every few
ticks and only when it changed; `fx` lists the beams, hits and explosions of a tick within the
viewer's sensor range, so everyone nearby sees a fight and nobody far away pays for it.
"""

from __future__ import annotations

import math
from typing import Any

from callister.content import Content
from callister.economy import cargo_volume
from callister.server.ports import Pilot, Roster
from callister.sim import Destroyed, Fired, Hit, ShipState, ShipVitals, Zone, ZoneEvent
from callister.sim.entities import KIND_SHIP
from callister.sim.travel import fuel_outlook


def _r(value: float, digits: int = 1) -> float:
    return round(float(value), digits)


def zone_fx(events: list[ZoneEvent]) -> list[dict[str, Any]]:
    """The visible effects among a tick's events, with positions (metres, system frame)."""
    fx: list[dict[str, Any]] = []
    for e in events:
        if isinstance(e, Fired):
            fx.append(
                {
                    "k": "beam" if e.shot == 0 else "shot",
                    "weapon": e.weapon,
                    "ship": e.ship,
                    "from": [_r(e.x), _r(e.y)],
                    "to": [_r(e.tx), _r(e.ty)],
                    "hit": bool(e.hit),
                }
            )
        elif isinstance(e, Hit):
            fx.append(
                {
                    "k": "hit",
                    "ship": e.ship,
                    "at": [_r(e.x), _r(e.y)],
                    "shield": e.hull_damage <= 0,
                    "damage": _r(e.shield_damage + e.hull_damage),
                }
            )
        elif isinstance(e, Destroyed):
            fx.append({"k": "boom", "ship": e.ship, "at": [_r(e.x), _r(e.y)]})
    return fx


def fx_for(fx: list[dict[str, Any]], x: float, y: float, radius: float) -> list[dict[str, Any]]:
    """The effects that start or end within `radius` of (x, y)."""
    r2 = radius * radius
    near = []
    for item in fx:
        for point in (item.get("at"), item.get("from"), item.get("to")):
            if point is not None and (point[0] - x) ** 2 + (point[1] - y) ** 2 <= r2:
                near.append(item)
                break
    return near


FUEL_FIELDS = ("fuel_warning", "fuel_station", "fuel_range_m")  # the fuel outlook's part


def status_message(
    roster: Roster,
    content: Content,
    zone: Zone,
    pilot: Pilot,
    own: ShipState,
    target: int,
    outlook: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The player's status: vitals, weapons, hold, credits and the locked target. `outlook`:
    the FUEL_FIELDS of a recent status to reuse (the fuel outlook plans a trip to every
    refuelling station; fuel creeps, so the fan-out recomputes it every couple of seconds)."""
    v = zone.vitals(own.id)
    hull = content.hulls.get(pilot.character.hull, content.starter_hull)
    weapons = []
    for slot, key in enumerate(v.weapons):
        w = content.weapons.get(key)
        weapons.append(
            {
                "slot": slot,
                "key": key,
                "name": w.name if w else key,
                "kind": w.kind if w else "",
                "range": w.range if w else 0,
                "ammo": (int(v.ammo[slot]) if w and w.ammo > 0 else None),
                "ammo_max": (w.ammo if w and w.ammo > 0 else None),
                "cooldown": _r(v.cooldowns[slot], 1),
            }
        )
    status: dict[str, Any] = {
        "ship": own.id,
        # whole units: the bars cannot show less, and a status is only resent when it changed
        "hull": _r(v.hull_hp, 0),
        "hull_max": _r(v.hull_max, 0),
        "shield": _r(v.shield, 0),
        "shield_max": _r(v.shield_max, 0),
        "energy": _r(v.energy, 0),
        "energy_max": _r(v.energy_max, 0),
        "fuel": _r(v.fuel, 0),
        "fuel_max": _r(v.fuel_max, 0),
        "weapons": weapons,
        "cargo": dict(pilot.cargo),
        "cargo_used": cargo_volume(content, pilot.cargo),
        "cargo_max": hull.cargo,
        "criminal": _r(v.criminal_s, 0),
        "mining": v.mining_rock if v.mining_rock >= 0 else None,
        "credits": pilot.credits,
        "target": _target(roster, zone, own, target),
    }
    status.update(_travel(zone, own))
    status.update(outlook if outlook is not None else _fuel_outlook(roster, zone, pilot, own, v))
    return status


def _travel(zone: Zone, own: ShipState) -> dict[str, Any]:
    """The ship's autopilot and cruise."""
    travel = zone.travel(own.id)
    autopilot: dict[str, Any] | None = None
    if travel.autopilot is not None:
        autopilot = {"to": travel.autopilot}
        if travel.autopilot == "ship":
            autopilot["id"] = travel.target
        elif travel.autopilot == "link":
            x, y = zone.layout.links[travel.target]
            autopilot["sector"] = [str(x), str(y)]
        elif travel.autopilot == "point" and travel.goal is not None:
            autopilot["x"], autopilot["y"] = _r(travel.goal[0], 0), _r(travel.goal[1], 0)
        else:
            autopilot["index"] = travel.target
    return {"autopilot": autopilot, "cruise": travel.cruise}


def _fuel_outlook(
    roster: Roster, zone: Zone, pilot: Pilot, own: ShipState, v: ShipVitals
) -> dict[str, Any]:
    """Whether the ship's fuel still reaches a station where it can refuel (the
    point-of-no-return warning, `sim.travel.fuel_outlook`): the FUEL_FIELDS."""
    handle = roster.zones.get(pilot.zone_key) if pilot.zone_key else None
    refuel = (
        {s.index for s in handle.system.stations if "refuel" in s.services}
        if handle is not None and handle.zone is zone
        else {s.index for s in zone.layout.stations}
    )
    stations = [(s.index, s.x, s.y) for s in zone.layout.stations if s.index in refuel]
    docked = own.docked_at is not None
    reach = fuel_outlook(
        zone.drive(own.id),
        own.fuel if own.fuel is not None else 0.0,
        v.fuel_max,
        own.x,
        own.y,
        math.hypot(own.vx, own.vy),
        () if docked else stations,
        fuel_multiplier=zone.rules.fuel_multiplier,
    )
    warning, station = ("ok", own.docked_at) if docked else (reach.state, reach.station)
    range_m = reach.cruise_range_m
    return {
        "fuel_warning": warning,
        "fuel_station": station,
        "fuel_range_m": None if math.isinf(range_m) else int(round(range_m, -2)),
    }


def _target(roster: Roster, zone: Zone, own: ShipState, target: int) -> dict[str, Any] | None:
    if not target:
        return None
    kind = zone.entity_kind(target)
    if kind is None:
        return {"id": target, "gone": True}
    row = zone.store.row(target)
    tx, ty = float(zone.store.x[row]), float(zone.store.y[row])
    info: dict[str, Any] = {
        "id": target,
        "kind": "ship" if kind == KIND_SHIP else "wreck",
        "dist": round(math.hypot(tx - own.x, ty - own.y)),
    }
    if kind == KIND_SHIP:
        tv = zone.vitals(target)
        info["name"] = roster.display_name(target) or f"ship-{target}"
        info["hull"] = round(tv.hull_hp / tv.hull_max, 3) if tv.hull_max else 0.0
        info["shield"] = round(tv.shield / tv.shield_max, 3) if tv.shield_max else 0.0
        info["criminal"] = tv.criminal_s > 0
    else:
        info["name"] = "Wreck"
    return info
