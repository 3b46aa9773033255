"""The bench-only spawn (setting `bench_spawn`, off by default): put many players' ships in one
system for `callister bench crowd` (issue 17's canonical crowd workload).

`POST /api/bench/place` exists only when `bench_spawn` is on, and answers only requests from
this machine that no proxy forwarded (as /metrics without a token). Body:

    {"ships": [id, ...], "radius": metres, "seed": int?, "sector": [x, y]?, "observer": id?}

Every listed ship (each a connected player's own ship) is taken out of wherever it is and put,
undocked and at rest, uniformly in a disc of `radius` around a point in open space of `sector`
(default: the first home system): far enough from the star, every station and every asteroid
field that the disc touches none of them. The `observer` ship goes to another system (the next
home system), alone, so its updates show that system's own tick rate. Its sessions hear
`system` and a fresh view, as after a jump. Answer: `{"sector", "centre", "placed",
"observer_sector"}`; 400 BAD_FIELD, 404 NOT_FOUND (a ship no connected player flies), 403
FORBIDDEN (not from this machine).
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from callister.server.http import SERVICES, json_body
from callister.server.metrics import PROXY_HEADERS, scrape_refusal
from callister.server.ports import Pilot, ZoneHandle
from callister.sim import ShipState
from callister.universe import StarSystem

if TYPE_CHECKING:
    from callister.server.world import World

MAX_SHIPS = 5000  # the ids of a request fit in the 64 KiB body limit
CLEARANCE_M = 1000.0  # between the disc and any star, station or field


class BadPlacement(ValueError):
    """A request the spawn refuses; `code` and `status` say how."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def open_space(system: StarSystem, radius: float) -> tuple[float, float]:
    """A centre whose disc of `radius` clears the star, stations and fields by CLEARANCE_M and
    stays inside the system; the nearest such point to the star on rings of 24 bearings."""
    star = float(system.star.radius)
    obstacles = [(float(s.x), float(s.y), float(s.radius)) for s in system.stations]
    obstacles += [(float(f.x), float(f.y), float(f.radius)) for f in system.fields]
    limit = float(system.radius) - radius - CLEARANCE_M
    d = star + radius + CLEARANCE_M
    while d <= limit:
        for k in range(24):
            a = 2 * math.pi * k / 24
            x, y = d * math.cos(a), d * math.sin(a)
            if all(
                math.hypot(x - ox, y - oy) > radius + r + CLEARANCE_M for ox, oy, r in obstacles
            ):
                return x, y
        d += max(1000.0, radius / 2)
    raise BadPlacement(400, "BAD_FIELD", f"no open space for a disc of {radius:.0f} m there")


def _ship_ids(value: Any, what: str) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
    ):
        raise BadPlacement(400, "BAD_FIELD", f"{what} must be a list of ship ids")
    if len(value) > MAX_SHIPS or len(set(value)) != len(value):
        raise BadPlacement(400, "BAD_FIELD", f"{what}: at most {MAX_SHIPS} distinct ids")
    return list(value)


def _pilot(world: World, ship: int) -> Pilot:
    owner = world.ship_owner.get(ship)
    pilot = world.pilots.get(owner) if owner is not None else None
    if pilot is None or pilot.character.ship_id != ship or pilot.zone_key is None:
        raise BadPlacement(404, "NOT_FOUND", f"ship {ship} is not a player's ship in a system")
    return pilot


def move_ship(world: World, pilot: Pilot, handle: ZoneHandle, x: float, y: float, a: float) -> None:
    """Take the pilot's ship out of its zone (vitals kept) and put it at (x, y) in `handle`,
    undocked and at rest, heading `a`; its sessions follow it as after a jump."""
    old = world.zones.get(pilot.zone_key) if pilot.zone_key else None
    ship = pilot.character.ship_id
    if old is None or not old.zone.has_ship(ship):
        raise BadPlacement(404, "NOT_FOUND", f"ship {ship} is not in a system")
    state = old.zone.remove_ship(ship)
    state = msgspec.structs.replace(state, x=x, y=y, vx=0.0, vy=0.0, angle=a, docked_at=None)
    assert isinstance(state, ShipState)
    world.place(pilot, handle, state)


async def place(world: World, body: dict[str, Any]) -> dict[str, Any]:
    """Carry out one placement request (see the module docstring)."""
    ships = _ship_ids(body.get("ships"), "ships")
    radius = body.get("radius")
    if not isinstance(radius, int | float) or isinstance(radius, bool) or not 0 < radius < 1e5:
        raise BadPlacement(400, "BAD_FIELD", "radius must be a number of metres (0..100000)")
    seed = body.get("seed", 1)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise BadPlacement(400, "BAD_FIELD", "seed must be an integer")
    observer = body.get("observer")
    if observer is not None:
        observer = _ship_ids([observer], "observer")[0]
        if observer in ships:
            raise BadPlacement(400, "BAD_FIELD", "the observer cannot be in the crowd")
    sector = body.get("sector")
    if sector is None:
        hx, hy, _ = world.homes[0]
    else:
        try:
            hx, hy = (int(v) for v in sector)
        except (TypeError, ValueError):
            raise BadPlacement(400, "BAD_FIELD", "sector must be [x, y]") from None
    pilots = [_pilot(world, s) for s in ships]
    watcher = _pilot(world, observer) if observer is not None else None
    try:
        handle = await world.ensure_zone(hx, hy)
    except LookupError:
        raise BadPlacement(400, "BAD_FIELD", f"no star system at ({hx}, {hy})") from None
    cx, cy = open_space(handle.system, float(radius))
    rng = random.Random(seed)
    for pilot in pilots:
        r = float(radius) * math.sqrt(rng.random())
        a = rng.uniform(0.0, 2 * math.pi)
        move_ship(world, pilot, handle, cx + r * math.cos(a), cy + r * math.sin(a), a)
    observer_sector = None
    if watcher is not None:
        other = next(((x, y) for x, y, _ in world.homes if (x, y) != (hx, hy)), None)
        if other is None:
            raise BadPlacement(400, "BAD_FIELD", "the observer needs a second home system")
        quiet = await world.ensure_zone(*other)
        ox, oy = open_space(quiet.system, 100.0)
        move_ship(world, watcher, quiet, ox, oy, 0.0)
        observer_sector = [str(other[0]), str(other[1])]
    return {
        "sector": [str(hx), str(hy)],
        "centre": [cx, cy],
        "placed": len(pilots),
        "observer_sector": observer_sector,
    }


def register(app: web.Application) -> None:
    """Add POST /api/bench/place (build_app calls this only with `bench_spawn` on)."""

    async def route(request: web.Request) -> web.Response:
        if scrape_refusal(request.remote, request.headers, "") is not None or any(
            h in request.headers for h in PROXY_HEADERS
        ):
            return _answer_error(403, "FORBIDDEN", "the bench spawn answers only this machine")
        body = await json_body(request)
        try:
            return web.json_response(await place(request.app[SERVICES].world, body))
        except BadPlacement as exc:
            return _answer_error(exc.status, exc.code, str(exc))

    app.router.add_post("/api/bench/place", route)


def _answer_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)
