"""Game-master powers inside a world (issue 18): one desk per `World`, the one path for the
WebSocket's `gm` messages (server/commands.py), the HTTP admin API
(`POST /api/worlds/{name}/gm`, server/gm_routes.py) and so the command line
(`callister admin gm ...`, which calls that API).

Who: `worlds.policy.gm_refusal` — administrators everywhere, a private world's owner in that
world; anyone else is refused FORBIDDEN. The acting account is read back from the database at
each command (a token or session issued before a demotion proves nothing more).

What (`protocol/gm.py` lists the ops and their fields):

- teleport a ship anywhere in the world, carried by the jump's own path (`World.teleport`);
- set a ship's hull (a refit), hull points, shield or fuel (`Zone.set_vitals`, then saved);
- spawn an NPC clone flying a ship (the NPC machinery of server/npcs.py: a clone with a goal,
  thinking and acting through the same intents as every ship), remove an NPC ship or a wreck;
- spawn a wreck holding items, give a ship cargo or its owner credits: each ONE ledger
  transaction of kind `gm` for the world's game-master account `gm` (credits are
  posted from it, items created on its behalf), so `callister admin ledger audit` stays
  balanced;
- freeze and unfreeze a system (the world stops stepping its zone; its players are told and
  their ship commands are refused FROZEN);
- fly an invisible (in no other client's snapshots) or marked (`ents` `gm: true`) ship.

Every command that changes something is written to the world's moderation audit log
(`mod_audit`: the actor's account id, `gm_<op>`, the ship's owner, the reason, what was asked
and what was done). Refusals raise `ProtocolError` with a code from the closed set; nothing is
changed or audited.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from callister.agents import Goal
from callister.economy.accounts import player_account, ship_holder, transfer, wreck_holder
from callister.moderation.feeds import EVIDENCE, Suspicion
from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.gm import GmMsg
from callister.server.bus import zone_key
from callister.server.ports import Ids, Pilot, Roster, ZoneHandle
from callister.server.vitals import VITAL_KEYS, ship_motion
from callister.sim import ShipState
from callister.sim.entities import KIND_WRECK
from callister.sim.rules import WRECK_TTL_TICKS
from callister.store import Account, AuditEntry, Character, ItemMove, Wreck
from callister.universe import StarSystem
from callister.worlds import gm_refusal

if TYPE_CHECKING:
    from callister.content import Content
    from callister.economy import Economy
    from callister.server.bus import Bus
    from callister.server.npcs import AgentRuntime
    from callister.server.settings import Settings
    from callister.server.shipshare import ShipShare
    from callister.server.universe_cache import UniverseCache
    from callister.server.writer import StoreWriter
    from callister.store import Store

FROZEN_META = "gm.frozen"  # meta key (per world): the zone keys a game master froze, JSON

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


GM_FROZEN = "gm.frozen"
"""Bus subject: a `ZoneFrozen` when a game master freezes or unfreezes a system (the fan-out
tells everyone in it)."""
GM_ACCOUNT = "gm"
"""The game-master ledger account in each world's books, where spawned credits come from
(every world keeps its own ledger, so it is that world's). A system account like "mint": it
may go negative (a ':' would make it an owned account, which may not)."""
GM_NPCS_META = "gm.npcs"  # meta key (per world): the NPCs game masters spawned, JSON
GM_NPC_INDEX = 1 << 40
"""NPC index base of game-master spawns (server/npcs.npc_clone_id): far above a system's own
NPCs, so a spawned clone never takes the id of one the system generates."""


GM_SHIP = "gm.ship"
"""Bus subject: a ship id whose game-master mode (World.gm_ships) changed."""


@dataclass(frozen=True, slots=True)
class ZoneFrozen:
    key: str
    sector: tuple[int, int]
    frozen: bool


def _fresh_hull(extra: dict[str, Any]) -> dict[str, Any]:
    """A character's `extra` for a new hull: full vitals and the hull's loadout (the old
    hull's are gone)."""
    return {k: v for k, v in extra.items() if k not in (*VITAL_KEYS, "weapons", "ammo")}


def sector_str(xy: tuple[int, int]) -> list[str]:
    return [str(xy[0]), str(xy[1])]


class GmWorld(Roster, Protocol):
    """What the game-master desk uses of its world (server/world.py's World implements it;
    a protocol so this module does not import the world: tests/test_architecture.py)."""

    @property
    def name(self) -> str: ...
    @property
    def seed(self) -> int: ...
    @property
    def owner(self) -> int | None: ...
    @property
    def public(self) -> bool: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def content(self) -> Content: ...
    @property
    def writer(self) -> StoreWriter: ...
    @property
    def store(self) -> Store: ...
    @property
    def bus(self) -> Bus: ...
    @property
    def ids(self) -> Ids: ...
    @property
    def universe(self) -> UniverseCache: ...
    @property
    def economy(self) -> Economy: ...
    @property
    def agents(self) -> AgentRuntime: ...
    @property
    def shipshare(self) -> ShipShare: ...
    @property
    def frozen(self) -> set[str]: ...
    @property
    def gm_ships(self) -> dict[int, str]: ...
    @property
    def records_are_offline(self) -> bool: ...
    async def teleport(
        self, pilot: Pilot, to: tuple[int, int], at: tuple[float, float], docked_at: int | None
    ) -> None: ...


class GameMaster:
    """The game-master desk of one world (loop-only, like the World)."""

    def __init__(self, world: GmWorld) -> None:
        self.world = world
        # the NPCs game masters spawned, by zone key: clone id -> (hull, x, y), kept in the
        # world's meta (GM_NPCS_META) so a system that unloads and loads again has them back
        # (a system's own NPCs come from its seed; these from here)
        self.npcs: dict[str, dict[int, tuple[str, float, float]]] = {}

    # ------------------------------------------------------------------ spawned NPCs
    async def load(self, key: str | None = None) -> None:
        """Read the spawned NPCs' registry (World.start), or only zone `key`'s entry and
        whether it is frozen (a zone loading: in a cluster another worker may have changed
        them since this one started)."""
        world = self.world

        def read() -> tuple[str | None, str | None]:
            meta = world.store.meta
            return meta.get(GM_NPCS_META, world=world.name), meta.get(FROZEN_META, world=world.name)

        raw, frozen = await world.writer.call(read)
        found: dict[str, dict[int, tuple[str, float, float]]] = {}
        try:
            for zone, npcs in (json.loads(raw) if raw else {}).items():
                found[zone] = {
                    int(c): (str(h), float(x), float(y)) for c, (h, x, y) in npcs.items()
                }
        except (ValueError, TypeError, AttributeError):
            log.error("gm.npcs meta unreadable; spawned NPCs are not restored")
        if key is None:
            self.npcs = found
            return
        self.npcs[key] = found.get(key, {})
        try:
            frozen_now = key in set(json.loads(frozen)) if frozen else False
        except (ValueError, TypeError):
            return
        if frozen_now:
            world.frozen.add(key)
        else:
            world.frozen.discard(key)

    async def _save_npcs(self) -> None:
        world = self.world
        value = json.dumps(
            {k: {str(c): list(v) for c, v in n.items()} for k, n in self.npcs.items() if n}
        )
        await world.writer.call(lambda: world.store.meta.set(GM_NPCS_META, value, world=world.name))

    def _forget_npc(self, clone_id: int) -> bool:
        found = False
        for npcs in self.npcs.values():
            found = npcs.pop(clone_id, None) is not None or found
        return found

    async def zone_loaded(self, handle: ZoneHandle) -> None:
        """Put back the NPCs game masters spawned in this system (alive ones; a dead clone is
        dropped from the registry)."""
        from callister.server.crew import row_to_clone

        world = self.world
        await self.load(handle.key)
        spawned = self.npcs.get(handle.key)
        if not spawned:
            return
        dead = []
        for clone_id, (hull, x, y) in list(spawned.items()):
            if clone_id in world.agents.pool:
                continue
            row = await world.writer.call(world.store.clones.get, clone_id)
            if row is None or not row.alive or hull not in world.content.hulls:
                dead.append(clone_id)
                continue
            try:
                ship = await world.ids.next()
                world.agents.spawn_npc(
                    handle, row_to_clone(row), ship, hull, x, y, angle=math.atan2(-y, -x)
                )
            except Exception:
                log.exception("spawned NPC failed to return", extra={"zone": handle.key})
        for clone_id in dead:
            spawned.pop(clone_id, None)
        if dead:
            await self._save_npcs()

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
            # an honest client sends no `gm` unless it is one: evidence for the moderators
            world.bus.publish(
                EVIDENCE,
                Suspicion(account.id, str(ErrorCode.FORBIDDEN), "gm", {"role": account.role}),
            )
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
        done: dict[str, Any] = (
            await handler(msg, actor) if msg.op == "gm_ship" else await handler(msg)
        )
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

    async def offline_record(self, ship: int) -> Character:
        """The stored character of a player's ship that is not in this world now: UNKNOWN_SHIP
        if there is none; NOT_AVAILABLE in a cluster, where another worker may be flying it
        (its next checkpoint would undo the change)."""
        world = self.world
        record = await world.writer.call(world.store.characters.by_ship, world.name, ship)
        if record is None:
            raise ProtocolError(ErrorCode.UNKNOWN_SHIP, f"no ship {ship} in world {world.name}")
        if not world.records_are_offline:
            raise ProtocolError(
                ErrorCode.NOT_AVAILABLE,
                f"ship {ship} is not on this worker: in a cluster a game master acts on the "
                "ships of the systems their own session's worker runs (go to its system)",
            )
        return record

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
        if self._npc_handle(msg.ship) is not None:
            return await self._teleport_npc(msg)
        character = await self.offline_record(msg.ship)
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

    async def _teleport_npc(self, msg: GmMsg) -> dict[str, Any]:
        world = self.world
        handle = self._npc_handle(msg.ship)
        assert handle is not None
        origin = handle.sector
        to = msg.sector if msg.sector is not None else origin
        system = await self.system(to)
        at, docked = self._target(system, msg)
        target = await world.ensure_zone(*to)
        if self._npc_handle(msg.ship) is not handle:  # destroyed or removed meanwhile
            raise ProtocolError(ErrorCode.UNKNOWN_SHIP, f"NPC ship {msg.ship} is gone")
        clone_id = world.agents.npcs[msg.ship].clone_id
        world.agents.move_npc(msg.ship, target, at[0], at[1], docked)
        entry = next((n[clone_id] for n in self.npcs.values() if clone_id in n), None)
        if entry is not None:  # a spawned one comes back with its new system, at its new place
            self._forget_npc(clone_id)
            self.npcs.setdefault(target.key, {})[clone_id] = (entry[0], at[0], at[1])
            await self._save_npcs()
        done = self._teleported(msg.ship, world.agents.npcs[msg.ship].owner, origin, to, at,
                                docked, True)  # fmt: skip
        done["_target_account"] = None
        return done

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

    # ------------------------------------------------------------------ ships, wherever
    def _npc_handle(self, ship: int) -> ZoneHandle | None:
        npc = self.world.agents.npcs.get(ship)
        if npc is None:
            return None
        handle = self.world.zones.get(npc.key)
        return handle if handle is not None and handle.zone.has_ship(ship) else None

    def _live_pilot(self, pilot: Pilot, ship: int) -> ZoneHandle:
        if pilot.dead:
            raise ProtocolError(ErrorCode.DESTROYED, f"ship {ship} was destroyed")
        handle = self.world.zones.get(pilot.zone_key) if pilot.zone_key else None
        if handle is None or not handle.zone.has_ship(ship):
            raise ProtocolError(ErrorCode.NOT_IN_WORLD, f"ship {ship} is between systems")
        return handle

    def _hull(self, key: str) -> Any:
        hull = self.world.content.hulls.get(key)
        if hull is None:
            known = ", ".join(sorted(self.world.content.hulls))
            raise ProtocolError(
                ErrorCode.BAD_FIELD, f"no hull '{key}' in world {self.world.name} (hulls: {known})"
            )
        return hull

    # ------------------------------------------------------------------ set
    async def _op_set(self, msg: GmMsg) -> dict[str, Any]:
        world = self.world
        hull = self._hull(msg.hull) if msg.hull is not None else None
        vitals = {"hull_hp": msg.hull_hp, "shield": msg.shield, "fuel": msg.fuel}
        pilot = self.pilot_of(msg.ship)
        if pilot is not None:
            handle = self._live_pilot(pilot, msg.ship)
            if hull is not None and hull.key != pilot.character.hull:
                character = replace(world.snapshot_character(pilot), hull=hull.key)
                room = world.economy.catalog.room(character, pilot.cargo)
                if room < 0:
                    raise ProtocolError(
                        ErrorCode.NOT_AVAILABLE,
                        f"ship {msg.ship}'s cargo does not fit a {hull.key}'s hold "
                        f"({hull.cargo} units): {-room} too many",
                    )
                # a new hull comes full, with its own loadout (the old one's vitals are gone)
                state = handle.zone.remove_ship(msg.ship)
                pilot.character = replace(character, extra=_fresh_hull(character.extra))
                world.place(
                    pilot,
                    handle,
                    ShipState(id=state.id, owner=state.owner, hull=hull.key, **ship_motion(state)),
                )
            self._set_vitals(handle, msg.ship, vitals)
            world.save(pilot)
            return self._vitals_done(handle, msg.ship, pilot.account_id, live=True)
        npc_handle = self._npc_handle(msg.ship)
        if npc_handle is not None:
            handle = npc_handle
            npc = world.agents.npcs[msg.ship]
            if hull is not None and hull.key != npc.hull:
                state = handle.zone.remove_ship(msg.ship)
                handle.zone.add_ship(
                    msg.ship, state.owner, hull, **ship_motion(state), readmit=True
                )
                npc.hull = hull.key
            self._set_vitals(handle, msg.ship, vitals)
            return self._vitals_done(handle, msg.ship, npc.owner, live=True)
        return await self._set_offline(await self.offline_record(msg.ship), hull, vitals)

    def _set_vitals(self, handle: ZoneHandle, ship: int, vitals: dict[str, float | None]) -> None:
        if any(v is not None for v in vitals.values()):  # clamped to the hull's maxima
            handle.zone.set_vitals(
                ship, hull_hp=vitals["hull_hp"], shield=vitals["shield"], fuel=vitals["fuel"]
            )

    def _vitals_done(
        self, handle: ZoneHandle, ship: int, account: int, *, live: bool
    ) -> dict[str, Any]:
        v = handle.zone.vitals(ship)
        state = handle.zone.ship_state(ship)
        return {
            "op": "set",
            "ship": ship,
            "hull": state.hull,
            "hull_hp": round(v.hull_hp, 3),
            "shield": round(v.shield, 3),
            "fuel": round(v.fuel, 3),
            "live": live,
            "_target_account": account,
        }

    async def _set_offline(
        self, character: Character, hull: Any, vitals: dict[str, float | None]
    ) -> dict[str, Any]:
        """A player not in the world: the record changes; the next login takes it."""
        world = self.world
        if hull is not None and hull.key != character.hull:
            cargo = await world.writer.call(world.economy.books.cargo, character.ship_id)
            room = world.economy.catalog.room(replace(character, hull=hull.key), cargo)
            if room < 0:
                raise ProtocolError(
                    ErrorCode.NOT_AVAILABLE,
                    f"ship {character.ship_id}'s cargo does not fit a {hull.key}'s hold",
                )
            character = replace(character, hull=hull.key, extra=_fresh_hull(character.extra))
        current = world.content.hulls.get(character.hull, world.content.starter_hull)
        limits = {"hull_hp": current.hull, "shield": current.shield, "fuel": current.fuel}
        extra = dict(character.extra)
        for key, value in vitals.items():
            if value is not None:
                extra[key] = round(min(value, limits[key]), 3)
        character = replace(character, extra=extra)
        await world.writer.call(world.store.characters.save, character)
        return {
            "op": "set",
            "ship": character.ship_id,
            "hull": character.hull,
            **{k: extra.get(k, limits[k]) for k in limits},
            "live": False,
            "_target_account": character.account_id,
        }

    # ------------------------------------------------------------------ NPCs and wrecks
    async def _zone_at(self, msg: GmMsg) -> tuple[ZoneHandle, float, float]:
        """The loaded zone of `msg.sector` and a checked point in it."""
        assert msg.sector is not None and msg.x is not None and msg.y is not None
        system = await self.system(msg.sector)
        self.check_point(system, msg.x, msg.y)
        try:
            handle = await self.world.ensure_zone(*msg.sector)
        except LookupError as exc:  # pragma: no cover - system() found it
            raise ProtocolError(ErrorCode.NO_SYSTEM, str(exc)) from None
        return handle, msg.x, msg.y

    async def _op_spawn_npc(self, msg: GmMsg) -> dict[str, Any]:
        from callister.server.npcs import HULL_FOR, NpcSpec, make_npc

        world = self.world
        assert msg.role is not None
        goal = Goal(msg.role)
        hull = self._hull(msg.hull if msg.hull is not None else HULL_FOR[goal])
        handle, x, y = await self._zone_at(msg)
        ship = await world.ids.next()
        spec = NpcSpec(GM_NPC_INDEX + ship, goal, hull.key, None, x, y)
        sx, sy = handle.sector
        clone = make_npc(world.seed, world.name, sx, sy, spec, world.tick)
        npc = world.agents.spawn_npc(handle, clone, ship, hull.key, x, y, angle=math.atan2(-y, -x))
        world.writer.submit(world.agents.repo.put, clone, ship)
        self.npcs.setdefault(handle.key, {})[clone.id] = (hull.key, x, y)
        await self._save_npcs()
        return {
            "op": "spawn_npc",
            "ship": ship,
            "clone": str(clone.id),
            "name": npc.name,
            "role": goal.value,
            "hull": hull.key,
            "sector": sector_str(handle.sector),
            "x": x,
            "y": y,
            "_target_account": None,
        }

    def _check_items(self, items: tuple[tuple[str, int], ...]) -> dict[str, int]:
        known = self.world.economy.catalog.items
        for key, _ in items:
            if key not in known:
                raise ProtocolError(
                    ErrorCode.BAD_FIELD, f"no item '{key}' in world {self.world.name}"
                )
        return dict(items)

    def _ledger_key(self, op: str) -> str:
        return f"gm:{op}:{secrets.token_hex(8)}"  # one transaction, never replayed

    async def _op_spawn_wreck(self, msg: GmMsg) -> dict[str, Any]:
        world = self.world
        items = self._check_items(msg.items)
        handle, x, y = await self._zone_at(msg)
        wreck = await world.ids.next()
        ttl_s = WRECK_TTL_TICKS / world.settings.tick_hz
        sx, sy = handle.sector
        source = GM_ACCOUNT
        holder = wreck_holder(wreck)

        def commit() -> int:
            return world.store.ledger.commit(
                world.name,
                self._ledger_key("wreck"),
                "gm",
                account=source,
                moves=[ItemMove(k, q, None, holder) for k, q in sorted(items.items())],
                save_wreck=Wreck(world.name, wreck, sx, sy, x, y, time.time() + ttl_s, None),
                result={"wreck": wreck, "items": items, "source": source},
            ).id

        txn = await world.writer.call(commit)
        handle.zone.add_wreck(wreck, x, y, ttl_ticks=WRECK_TTL_TICKS)
        return {
            "op": "spawn_wreck",
            "wreck": wreck,
            "items": items,
            "sector": sector_str(handle.sector),
            "x": x,
            "y": y,
            "txn": txn,
            "source": source,
            "_target_account": None,
        }

    async def _op_give(self, msg: GmMsg) -> dict[str, Any]:
        world = self.world
        items = self._check_items(msg.items)
        pilot = self.pilot_of(msg.ship)
        npc = world.agents.npcs.get(msg.ship)
        if pilot is not None:
            self._live_pilot(pilot, msg.ship)
            character: Character | None = world.snapshot_character(pilot)
            account = pilot.account_id
        elif npc is not None:
            if items:  # an NPC's hold is not in the books; its credits are
                raise ProtocolError(
                    ErrorCode.NOT_AVAILABLE, "an NPC's hold is not kept: give it credits only"
                )
            character, account = None, npc.owner
        else:
            character = await self.offline_record(msg.ship)
            account = character.account_id
        source = GM_ACCOUNT
        books = world.economy.books
        player = player_account(account)

        def commit() -> tuple[int, int, dict[str, int]]:
            if items:
                assert character is not None
                cargo = books.cargo(msg.ship)
                room = world.economy.catalog.room(
                    character, {k: cargo.get(k, 0) + items.get(k, 0) for k in {*cargo, *items}}
                )
                if room < 0:
                    raise ProtocolError(
                        ErrorCode.CARGO_FULL,
                        f"ship {msg.ship}'s hold has no room for that ({-room} units too many)",
                    )
            txn = world.store.ledger.commit(
                world.name,
                self._ledger_key("give"),
                "gm",
                account=source,
                postings=transfer(source, player, msg.credits) if msg.credits else (),
                moves=[
                    ItemMove(k, q, None, ship_holder(msg.ship)) for k, q in sorted(items.items())
                ],
                result={"ship": msg.ship, "credits": msg.credits, "items": items},
            )
            return txn.id, books.credits(account), books.cargo(msg.ship)

        txn, credits, cargo = await world.writer.call(commit)
        if pilot is not None:  # the pilot's view of its books, and the zone's free room
            pilot.credits, pilot.cargo = credits, dict(cargo)
            handle = world.zones.get(pilot.zone_key) if pilot.zone_key else None
            if handle is not None and handle.zone.has_ship(msg.ship):
                handle.zone.set_vitals(msg.ship, cargo_free=world.cargo_room(pilot))
        return {
            "op": "give",
            "ship": msg.ship,
            "items": items,
            "credits": msg.credits,
            "balance": credits,
            "cargo": cargo,
            "txn": txn,
            "source": source,
            "_target_account": account,
        }

    async def _op_remove(self, msg: GmMsg) -> dict[str, Any]:
        world = self.world
        entity = msg.entity
        handle = self._npc_handle(entity)
        if handle is not None:
            npc = world.agents.npcs[entity]
            handle.zone.remove_ship(entity)
            world.agents._left(entity)  # its clone is stored alive, in no ship
            if self._forget_npc(npc.clone_id):  # not to come back with its system
                await self._save_npcs()
            return {
                "op": "remove",
                "entity": entity,
                "kind": "npc",
                "clone": str(npc.clone_id),
                "sector": sector_str(handle.sector),
                "_target_account": None,
            }
        if self.pilot_of(entity) is not None:
            raise ProtocolError(
                ErrorCode.NOT_AVAILABLE,
                f"ship {entity} is a player's: teleport it, or a moderator kicks the player",
            )
        for handle in world.zones.values():
            if handle.zone.entity_kind(entity) == KIND_WRECK:
                # its contents are destroyed in the books (as at expiry), then it goes
                await world.writer.call(world.economy.events.expire_wreck, entity)
                if handle.zone.entity_kind(entity) == KIND_WRECK:
                    handle.zone.remove_entity(entity)
                return {
                    "op": "remove",
                    "entity": entity,
                    "kind": "wreck",
                    "sector": sector_str(handle.sector),
                    "_target_account": None,
                }
        raise ProtocolError(
            ErrorCode.UNKNOWN_SHIP,
            f"no NPC ship or wreck {entity} in a loaded system of world {world.name}",
        )

    # ------------------------------------------------------------------ freeze
    async def _op_freeze(self, msg: GmMsg) -> dict[str, Any]:
        return await self._freeze(msg, True)

    async def _op_unfreeze(self, msg: GmMsg) -> dict[str, Any]:
        return await self._freeze(msg, False)

    async def _freeze(self, msg: GmMsg, frozen: bool) -> dict[str, Any]:
        world = self.world
        assert msg.sector is not None
        await self.system(msg.sector)  # NO_SYSTEM for empty space
        key = zone_key(world.name, *msg.sector)
        changed = (key in world.frozen) != frozen
        if frozen:
            world.frozen.add(key)
        else:
            world.frozen.discard(key)
        value = json.dumps(sorted(world.frozen))
        await world.writer.call(lambda: world.store.meta.set(FROZEN_META, value, world=world.name))
        if changed:
            world.bus.publish(GM_FROZEN, ZoneFrozen(key, msg.sector, frozen))
        return {
            "op": msg.op,
            "sector": sector_str(msg.sector),
            "frozen": frozen,
            "changed": changed,
            "_target_account": None,
        }

    # ------------------------------------------------------------------ the GM's own ship
    async def _op_gm_ship(self, msg: GmMsg, actor: Account) -> dict[str, Any]:
        world = self.world
        pilot = world.pilots.get(actor.id)
        if pilot is not None:
            ship = pilot.character.ship_id
        else:
            character = await world.writer.call(world.store.characters.load, actor.id, world.name)
            if character is None:
                raise ProtocolError(
                    ErrorCode.NOT_AVAILABLE,
                    f"you have no ship in world {world.name}: enter it once first",
                )
            ship = character.ship_id
        before = world.gm_ships.get(ship, "off")
        if msg.mode == "off":
            world.gm_ships.pop(ship, None)
        else:
            assert msg.mode is not None
            world.gm_ships[ship] = msg.mode
        if before != msg.mode:
            world.bus.publish(GM_SHIP, ship)  # the fan-out introduces it afresh to everyone
        return {
            "op": "gm_ship",
            "ship": ship,
            "mode": msg.mode,
            "was": before,
            "_target_account": actor.id,
        }
