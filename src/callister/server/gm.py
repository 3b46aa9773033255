"""Game-master powers inside a world (issue 18): one desk per `World`, the one path for the
WebSocket's `gm` messages (server/commands.py), the HTTP admin API
(`POST /api/worlds/{name}/gm`, server/gm_routes.py) and so the command line
(`callister admin gm ...`, which calls that API).

Who: `worlds.policy.gm_refusal` — administrators everywhere, a private world's owner in that
world; anyone else is refused FORBIDDEN. The acting account is read back from the database at
each command (a token or session issued before a demotion proves nothing more).

What (`protocol/gm.py` lists the ops and their fields): teleport a ship anywhere in the world,
carried by the jump's own path (`World.teleport`); the rest as the module grows. Every command
that changes something is written to the world's moderation audit log (`mod_audit`: the
actor's account id, `gm_<op>`, the ship's owner, the reason, what was asked and what was done).
Refusals raise `ProtocolError` with a code from the closed set; nothing is changed or audited.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.gm import GmMsg
from callister.store import Account, AuditEntry
from callister.universe import StarSystem
from callister.worlds import gm_refusal

if TYPE_CHECKING:
    from callister.server.world import Pilot, World

log = logging.getLogger(__name__)

CLEARANCE = 60.0
"""m: a teleport or spawn point keeps this far from the star's and each station's surface."""

HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.UNKNOWN_SHIP: 404,
    ErrorCode.NO_SYSTEM: 404,
    ErrorCode.NO_TARGET: 404,
    ErrorCode.NOT_IN_WORLD: 409,
    ErrorCode.DESTROYED: 409,
    ErrorCode.NOT_AVAILABLE: 409,
    ErrorCode.INTERNAL: 500,
}
"""The HTTP status of a refused game-master command (400 for any other code)."""


def sector_str(xy: tuple[int, int]) -> list[str]:
    return [str(xy[0]), str(xy[1])]


class GameMaster:
    """The game-master desk of one world (loop-only, like the World)."""

    def __init__(self, world: World) -> None:
        self.world = world

    # ------------------------------------------------------------------ who
    async def actor(self, account_id: int) -> Account:
        """The acting account as the database has it now, if it may be a game master here;
        ProtocolError FORBIDDEN otherwise (an unknown or banned account too)."""
        world = self.world
        account = await world.writer.call(world.store.accounts.get, account_id)
        if account is None or account.banned:
            raise ProtocolError(ErrorCode.FORBIDDEN, "no such account may act here")
        refusal = gm_refusal(account.id, account.role, world.owner, world.public)
        if refusal is not None:
            raise ProtocolError(ErrorCode.FORBIDDEN, f"{refusal} (world {world.name})")
        return account

    # ------------------------------------------------------------------ one command
    async def run(self, account_id: int, msg: GmMsg) -> dict[str, Any]:
        """Carry out `msg` for `account_id`: what was done (JSON-ready), written to the audit
        log; ProtocolError for a refusal (nothing done, nothing audited)."""
        actor = await self.actor(account_id)
        handler = getattr(self, f"_op_{msg.op}", None)
        if handler is None:  # pragma: no cover - GM_OPS and the handlers are one list
            raise ProtocolError(ErrorCode.BAD_FIELD, f"unknown gm op {msg.op!r}")
        done: dict[str, Any] = await handler(msg)
        target = done.pop("_target_account", None)
        entry = AuditEntry(
            world=self.world.name,
            moderator_id=actor.id,
            action=f"gm_{msg.op}",
            target_account=target,
            reason=msg.reason,
            at=time.time(),
            detail={"asked": msg.fields(), "done": done, "actor": actor.name},
        )
        done["audit"] = await self.world.writer.call(self.world.store.moderation.add_audit, entry)
        log.info("game master", extra={"world": self.world.name, "actor": actor.id, "op": msg.op})
        return done

    # ------------------------------------------------------------------ places
    async def system(self, sector: tuple[int, int]) -> StarSystem:
        """The system at `sector` as it is now (a loaded zone's, with its deltas), or
        NO_SYSTEM for empty space."""
        world = self.world
        for handle in world.zones.values():
            if handle.sector == sector:
                return handle.system
        try:
            system = await world.universe.get(*sector)
        except ValueError as exc:
            raise ProtocolError(ErrorCode.NO_SYSTEM, str(exc)) from None
        if system is None:
            raise ProtocolError(
                ErrorCode.NO_SYSTEM, f"sector {list(sector)} is empty space: no star system there"
            )
        return system

    @staticmethod
    def check_point(system: StarSystem, x: float, y: float) -> None:
        """OUT_OF_BOUNDS unless (x, y) is inside the system's radius and clear of its star and
        stations (a ship placed inside a collider would be thrown out of it)."""
        r = math.hypot(x, y)
        if r > system.radius:
            raise ProtocolError(
                ErrorCode.OUT_OF_BOUNDS,
                f"({x:.0f}, {y:.0f}) is outside system {system.name}: it is {system.radius} m "
                f"in radius, and that point is {r:.0f} m from its star",
            )
        if r < system.star.radius + CLEARANCE:
            raise ProtocolError(
                ErrorCode.OUT_OF_BOUNDS,
                f"({x:.0f}, {y:.0f}) is inside the star of {system.name} (radius "
                f"{system.star.radius} m; keep {CLEARANCE:.0f} m clear)",
            )
        for station in system.stations:
            if math.hypot(x - station.x, y - station.y) < station.radius + CLEARANCE:
                raise ProtocolError(
                    ErrorCode.OUT_OF_BOUNDS,
                    f"({x:.0f}, {y:.0f}) is inside station {station.index} ({station.name}); "
                    f"use 'station' to dock there",
                )

    @staticmethod
    def check_station(system: StarSystem, index: int) -> tuple[float, float]:
        station = next((s for s in system.stations if s.index == index), None)
        if station is None or station.destroyed:
            raise ProtocolError(
                ErrorCode.NO_TARGET,
                f"system {system.name} has no station {index} to dock at "
                f"({len(system.stations)} stations)",
            )
        return float(station.x), float(station.y)

    def pilot_of(self, ship: int) -> Pilot | None:
        """The pilot whose own ship is `ship`, in the world now (connected or lingering)."""
        owner = self.world.ship_owner.get(ship)
        pilot = self.world.pilots.get(owner) if owner is not None else None
        return pilot if pilot is not None and pilot.character.ship_id == ship else None

    # ------------------------------------------------------------------ teleport
    async def _op_teleport(self, msg: GmMsg) -> dict[str, Any]:
        world = self.world
        pilot = self.pilot_of(msg.ship)
        if pilot is not None:
            return await self._teleport_pilot(pilot, msg)
        character = await world.writer.call(world.store.characters.by_ship, world.name, msg.ship)
        if character is None:
            raise ProtocolError(
                ErrorCode.UNKNOWN_SHIP, f"no player's ship {msg.ship} in world {world.name}"
            )
        # not in the world now: its record is moved, and the player's next login puts it there
        origin = (character.system_x, character.system_y)
        to = msg.sector if msg.sector is not None else origin
        system = await self.system(to)
        at, docked = self._target(system, msg)
        moved = replace(
            character,
            system_x=to[0],
            system_y=to[1],
            x=at[0],
            y=at[1],
            vx=0.0,
            vy=0.0,
            angle=math.atan2(-at[1], -at[0]),
            docked_at=docked,
        )
        await world.writer.call(world.store.characters.save, moved)
        return self._teleported(msg.ship, character.account_id, origin, to, at, docked, False)

    async def _teleport_pilot(self, pilot: Pilot, msg: GmMsg) -> dict[str, Any]:
        world = self.world
        if pilot.dead:
            raise ProtocolError(ErrorCode.DESTROYED, f"ship {msg.ship} was destroyed")
        if world.shipshare.berth(pilot.account_id) is not None:
            raise ProtocolError(
                ErrorCode.NOT_AVAILABLE,
                f"the pilot of ship {msg.ship} is aboard another's ship: teleport that ship",
            )
        key = pilot.zone_key
        handle = world.zones.get(key) if key else None
        if handle is None or not handle.zone.has_ship(msg.ship):
            raise ProtocolError(ErrorCode.NOT_IN_WORLD, f"ship {msg.ship} is between systems")
        origin = handle.sector
        to = msg.sector if msg.sector is not None else origin
        system = await self.system(to)
        at, docked = self._target(system, msg)
        if pilot.zone_key != key or not handle.zone.has_ship(msg.ship):  # it jumped meanwhile
            raise ProtocolError(ErrorCode.NOT_IN_WORLD, f"ship {msg.ship} is between systems")
        try:
            await world.teleport(pilot, to, at, docked)
        except LookupError as exc:
            raise ProtocolError(ErrorCode.NOT_IN_WORLD, str(exc)) from None
        return self._teleported(msg.ship, pilot.account_id, origin, to, at, docked, True)

    def _target(self, system: StarSystem, msg: GmMsg) -> tuple[tuple[float, float], int | None]:
        if msg.station is not None:
            return self.check_station(system, msg.station), msg.station
        assert msg.x is not None and msg.y is not None
        self.check_point(system, msg.x, msg.y)
        return (msg.x, msg.y), None

    @staticmethod
    def _teleported(
        ship: int,
        account: int,
        origin: tuple[int, int],
        to: tuple[int, int],
        at: tuple[float, float],
        docked: int | None,
        live: bool,
    ) -> dict[str, Any]:
        return {
            "op": "teleport",
            "ship": ship,
            "from": sector_str(origin),
            "to": sector_str(to),
            "x": at[0],
            "y": at[1],
            "docked_at": docked,
            "live": live,  # false: the player is not in the world; their record was moved
            "_target_account": account,
        }
