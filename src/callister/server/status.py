"""What each player is told besides snapshots: their ship's status and the effects near them.

`status` (hull, shield, energy, fuel, weapons, cargo, credits, target) goes out every few
ticks and only when it changed; `fx` lists the beams, hits and explosions of a tick within the
viewer's sensor range, so everyone nearby sees a fight and nobody far away pays for it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from callister.economy import cargo_volume
from callister.sim import Destroyed, Fired, Hit, ShipState, Zone, ZoneEvent
from callister.sim.entities import KIND_SHIP

if TYPE_CHECKING:
    from callister.server.world import Pilot, World


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


def status_message(
    world: World, zone: Zone, pilot: Pilot, own: ShipState, target: int
) -> dict[str, Any]:
    """The player's status: vitals, weapons, hold, credits and the locked target."""
    v = zone.vitals(own.id)
    content = world.content
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
        "target": _target(world, zone, own, target),
    }
    return status


def _target(world: World, zone: Zone, own: ShipState, target: int) -> dict[str, Any] | None:
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
        owner = world.ship_owner.get(target)
        pilot = world.pilots.get(owner) if owner is not None else None
        info["name"] = pilot.name if pilot else world.agents.ship_name(target) or f"ship-{target}"
        info["hull"] = round(tv.hull_hp / tv.hull_max, 3) if tv.hull_max else 0.0
        info["shield"] = round(tv.shield / tv.shield_max, 3) if tv.shield_max else 0.0
        info["criminal"] = tv.criminal_s > 0
    else:
        info["name"] = "Wreck"
    return info
