"""The world runtime: zones, the fixed-rate tick loop, ships entering, leaving and jumping.

One `World` runs one universe (seed) on the asyncio loop. Zones (one per star system) are created
when a ship arrives and sleep when empty: an empty zone is not stepped and is unloaded after
`zone_unload_s`. Every tick the world steps the awake zones and publishes a `ZoneTick` per zone on
the bus; gateways turn those into snapshots. Nothing here waits for disk: store calls go through
the single writer thread, and universe generation runs ahead on its own thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import msgspec

from callister.content import Content, Hull
from callister.economy import Economy
from callister.protocol.intents import Intent
from callister.server.bus import Bus, intents_subject, tick_subject, zone_key
from callister.server.gm import FROZEN_META, GameMaster
from callister.server.metrics import Metrics, percentiles
from callister.server.missions import MissionDesk
from callister.server.notices import Notices
from callister.server.npcs import AgentRuntime
from callister.server.outcomes import Outcomes
from callister.server.party import PartyDesk
from callister.server.ports import Pilot, ZoneHandle
from callister.server.settings import Settings
from callister.server.shipshare import ShipShare
from callister.server.speech import SpeechModel
from callister.server.stations import StationDesk
from callister.server.universe_cache import UniverseCache
from callister.server.vitals import ship_kwargs, ship_motion, with_vitals
from callister.server.writer import StoreWriter
from callister.sim import (
    JumpCharging,
    JumpOut,
    ShipState,
    Zone,
    ZoneEvent,
    ZoneFrame,
    ZoneLayout,
    ZoneRules,
    warm_up,
)
from callister.sim.frame import register_hulls
from callister.sim.weapons import register_weapons
from callister.store import Character, Store
from callister.universe import (
    DEFAULT_PARAMS,
    GeneratorParams,
    StarSystem,
    apply_deltas,
    arrival_point,
)
from callister.universe.deltas import field_ticks
from callister.worlds.placement import home_systems

log = logging.getLogger(__name__)

__all__ = ["IdAllocator", "Pilot", "ShipMoved", "World", "ZoneHandle", "ZoneTick"]


@dataclass(frozen=True, slots=True)
class ZoneTick:
    """Published on `zone.<key>.tick` after every step of an awake zone."""

    key: str
    tick: int
    frame: ZoneFrame
    events: list[ZoneEvent]
    beat: int | None = None  # a frozen zone's: the world tick (its own tick stands still)

    @property
    def cadence(self) -> int:
        """The tick that paces snapshots and statuses: the zone's, or a frozen zone's beat."""
        return self.tick if self.beat is None else self.beat


@dataclass(frozen=True, slots=True)
class ShipMoved:
    """Published on `ship.<id>` when a ship changes zone (a jump) or leaves the world."""

    ship: int
    owner: int
    to_key: str | None  # None: the ship left the world (logout after the grace period)
    system: StarSystem | None


def zone_tick_hz(handle: ZoneHandle, now: float, window_s: float = 5.0) -> float:
    """Ticks a second the zone ran over the last `window_s` seconds (0 asleep)."""
    recent = [t for t in handle.stepped_at if t >= now - window_s]
    if len(recent) < 2:
        return 0.0
    return (len(recent) - 1) / max(1e-9, recent[-1] - recent[0])


def zone_health(handle: ZoneHandle, now: float) -> dict[str, Any]:
    """A zone's own clock for /healthz?zone=: its tick, rate, step times and overruns."""
    p = percentiles(handle.step_ms, 3)
    return {
        "key": handle.key,
        "tick": handle.zone.tick,
        "tick_hz": round(zone_tick_hz(handle, now), 2),
        "tick_ms": {"p50": p["p50"], "p99": p["p99"], "max": p["max"]},
        "ships": handle.zone.ship_count,
        "overruns": handle.overruns,
    }


OVERRUN_TICKS = 5  # a schedule this many ticks behind drops its backlog
STARVED_TICKS = 4  # a schedule kept waiting this long past its deadline goes first
COST_WEIGHT = 0.1  # smoothing of a schedule's step time (an exponential moving average)
CHECKPOINT_CHUNK = 100  # ships read per turn of the loop by a checkpoint


@dataclass(slots=True)
class _Clock:
    """The world clock's schedule in World._tick_loop (a zone's is on its ZoneHandle)."""

    next_at: float = 0.0
    cost_ms: float = 0.0
    overruns: int = 0


ZONE_ID_BLOCK = 2000  # entity ids granted to a zone at a time (projectiles, missiles, wrecks)
ZONE_ID_LOW = 500  # top the zone's pool up when it holds fewer than this


class IdAllocator:
    """64-bit entity ids reserved from the database in blocks: never reused, even after a crash
    (a reserved block is burnt, not returned)."""

    def __init__(self, store: Store, writer: StoreWriter, block: int = 1000) -> None:
        self._store, self._writer, self._block = store, writer, block
        self._ids: range = range(0)
        self._pos = 0

    async def next(self) -> int:
        if self._pos >= len(self._ids):
            self._ids = await self._writer.call(self._store.characters.reserve_ids, self._block)
            self._pos = 0
        value = self._ids[self._pos]
        self._pos += 1
        return value


class World:
    """The composition root of one universe's runtime and the `ports.Roster` its parts share:
    it builds its parts (outcomes, station desks, the agent runtime, shared ships) and hands
    each the few things it uses, itself only as a `Roster`/`Residents` (server/ports.py)."""

    # a ship not in this World is not flying anywhere (one process holds the world): its stored
    # record is the game master's to change. A cluster's worker says False (server/gm.py)
    records_are_offline = True

    def __init__(
        self,
        settings: Settings,
        store: Store,
        writer: StoreWriter,
        bus: Bus,
        content: Content,
        metrics: Metrics,
        params: GeneratorParams = DEFAULT_PARAMS,
    ) -> None:
        self.settings = settings
        self.name = settings.world_name
        self.seed = settings.world_seed
        self.params = params  # the world's generator parameters (its map, with the seed)
        # number the world's hull and weapon keys in this process now: a world whose pack
        # would pass the process's limits does not start (ValueError), rather than a zone later
        register_hulls(content.hulls)
        register_weapons(content.weapons)
        self.store, self.writer, self.bus, self.content = store, writer, bus, content
        self.metrics = metrics
        self.universe = UniverseCache(self.seed, params=params)
        self.ids = IdAllocator(store, writer)
        self.zones: dict[str, ZoneHandle] = {}
        self._zone_loading: dict[str, asyncio.Future[ZoneHandle]] = {}
        self.pilots: dict[int, Pilot] = {}  # by account id
        self.ship_owner: dict[int, int] = {}
        self.homes: list[tuple[int, int, int]] = []  # (x, y, station index)
        # who may be a game master here (issue 18, worlds/policy.gm_refusal): the server's
        # public world has no owner; the world host sets both for a private world it starts
        self.owner: int | None = None
        self.public = True
        self.frozen: set[str] = set()  # zone keys a game master froze (server/gm.py)
        self.gm_ships: dict[int, str] = {}  # ship id -> "invisible" | "marked" (server/gm.py)
        self.tick = 0
        self._running = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self.dt = 1.0 / settings.tick_hz
        self.last_sim_ms = 0.0
        self.rules = ZoneRules(
            pvp=settings.pvp,
            fuel_multiplier=settings.fuel_multiplier,
            damage_multiplier=settings.damage_multiplier,
        )
        self.economy = Economy(
            store,
            content,
            self.name,
            starting_credits=settings.starting_credits,
            price_multiplier=settings.price_multiplier,
        )
        self.notices = Notices(bus)
        self.agents = AgentRuntime(  # clones: NPC ships and crews (issue 4)
            self,
            world_name=self.name,
            seed=self.seed,
            content=content,
            npc_density=settings.npc_density,
            store=store,
            writer=writer,
            economy=self.economy,
            ids=self.ids,
            notify=self.notices.notify,
            speech=SpeechModel.from_settings(settings),  # the optional language model
            universe=self.universe,
        )
        self.outcomes = Outcomes(
            self,
            world_name=self.name,
            settings=settings,
            writer=writer,
            store=store,
            economy=self.economy,
            bus=bus,
            metrics=metrics,
            ids=self.ids,
            notices=self.notices,
            keeps_wreck=self.agents.captains.keeps_wreck,
        )
        self.stations = StationDesk(
            self,
            writer=writer,
            store=store,
            economy=self.economy,
            is_flagged=self.outcomes.is_flagged,
        )
        self.shipshare = ShipShare(  # players crewing another's ship (issue 8)
            self,
            agents=self.agents,
            content=content,
            economy=self.economy,
            writer=writer,
            bus=bus,
            notify=self.notices.notify,
            world_name=self.name,
            pvp=settings.pvp,
            clones_survive_death=settings.clones_survive_death,
        )
        self.gm = GameMaster(self)  # game masters' powers (issue 18)
        self.parties = PartyDesk(  # players grouped on the maps (issue 16)
            self,
            shipshare=self.shipshare,
            store=store,
            writer=writer,
            notify=self.notices.notify,
            world_name=self.name,
            party_max=settings.party_max,
        )
        self._invited_by: dict[int, int] = {}  # new characters a friend's invite placed
        self.missions = MissionDesk(  # tutorial, boards, contracts, rescue (issue 16)
            self,
            world_name=self.name,
            seed=self.seed,
            content=content,
            writer=writer,
            store=store,
            economy=self.economy,
            universe=self.universe,
            agents=self.agents,
            metrics=metrics,
            notify=self.notices.notify,
        )
        self.stations.on_trade = self.missions.traded  # a first profit, a purchase's basis

    # ----------------------------------------------------------------- start-up / shutdown
    async def start(self) -> None:
        """Find the home systems (off the loop) and start the tick and checkpoint loops."""
        loop = asyncio.get_running_loop()
        self.homes = await loop.run_in_executor(
            None, find_home_systems, self.universe, self.settings.home_systems
        )
        # compiled kernels are loaded (or compiled once) before the first tick, never on it
        seconds = await loop.run_in_executor(None, warm_up)
        log.info("simulation kernels ready", extra={"seconds": round(seconds, 2)})
        saved = await self.writer.call(lambda: self.store.meta.get("tick", world=self.name))
        self.tick = int(saved) if saved else 0
        frozen = await self.writer.call(lambda: self.store.meta.get(FROZEN_META, world=self.name))
        self.frozen = set(json.loads(frozen)) if frozen else set()
        await self.gm.load()
        try:
            await self.agents.start()  # the living universe: stored clones, births
        except Exception:
            log.exception("the living universe failed to start")
        self._running = True
        self.spawn(self._tick_loop(), "tick loop")
        self.spawn(self._checkpoint_loop(), "checkpoint loop")
        await self.parties.load()
        self.spawn(self.parties.run(), "parties")
        self.missions.start()

    async def stop(self) -> None:
        """Stop ticking and write every ship's state; returns when it is committed."""
        self._running = False
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.checkpoint()
        await self.agents.close()
        self.universe.close()

    def spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s failed", task.get_name(), exc_info=task.exception())

    # ----------------------------------------------------------------------------- zones
    async def ensure_zone(self, x: int, y: int) -> ZoneHandle:
        """The zone for sector (x, y), created (generated, deltas applied) if needed."""
        key = zone_key(self.name, x, y)
        handle = self.zones.get(key)
        if handle is not None:
            return handle
        loading = self._zone_loading.get(key)
        if loading is None:
            loading = asyncio.get_running_loop().create_future()
            self._zone_loading[key] = loading
            try:
                handle = await self._load_zone(key, x, y)
                loading.set_result(handle)
            except BaseException as exc:
                loading.set_exception(exc)
                # the caller gets it raised; a load nobody else awaited must not be logged as
                # "Future exception was never retrieved" (a cluster worker refused a zone held
                # by another logged a traceback for each: hundreds under load)
                loading.exception()
                raise
            finally:
                del self._zone_loading[key]
            return handle
        return await asyncio.shield(loading)

    async def _load_zone(self, key: str, x: int, y: int) -> ZoneHandle:
        system = await self.universe.get(x, y)
        if system is None:
            raise LookupError(f"no star system at sector ({x}, {y})")
        base = system
        deltas = await self.writer.call(self.store.characters.get_deltas, self.name, x, y)
        if deltas:
            system = apply_deltas(system, deltas)
        system = self.missions.served(system)  # the services baseline (docs/missions.md)
        wrecks = await self.writer.call(self.store.ledger.wrecks_in_system, self.name, x, y)
        ids = await self.writer.call(self.store.characters.reserve_ids, ZONE_ID_BLOCK)
        zone = Zone(
            # mined fields regrow from their last change (the zone catches up the ticks they
            # spent unloaded and reports the result as FieldChanged)
            ZoneLayout.from_system(
                system,
                base_richness={f.index: f.richness for f in base.fields},
                field_ticks=field_ticks(deltas),
            ),
            tick_hz=self.settings.tick_hz,
            start_tick=self.tick,
            rules=self.rules,
            content=self.content,  # the world's own hulls, weapons and ores (its pack)
        )
        zone.grant_ids(ids)
        now = time.time()
        for wreck in wrecks:
            ttl = int((wreck.expires_at - now) * self.settings.tick_hz)
            if ttl > 0:
                zone.add_wreck(wreck.wreck_id, wreck.x, wreck.y, ttl_ticks=ttl)
            else:
                self.writer.submit(self.economy.events.expire_wreck, wreck.wreck_id)
        handle = ZoneHandle(key=key, sector=(x, y), system=system, zone=zone)
        self.zones[key] = handle
        self.bus.subscribe(intents_subject(key), zone.submit)
        await self.agents.zone_loaded(handle)  # NPC ships of the system
        await self.gm.zone_loaded(handle)  # and those game masters spawned there
        # run ahead of explorers: every neighbour is generated before anyone can jump there
        self.universe.prefetch(system.links)
        self.metrics.gauges["callister_zones_loaded"] = len(self.zones)
        log.info("zone loaded", extra={"zone": key, "system": system.name})
        return handle

    def submit(self, key: str, intent: Intent) -> None:
        """Address an intent to a zone through the bus (the gateway's and agents' one path).
        A frozen zone takes none: they would pile up unapplied (the commands tell players)."""
        if key in self.frozen:
            return
        self.bus.publish(intents_subject(key), intent)

    # -------------------------------------------------------------------------- the tick
    async def _tick_loop(self) -> None:
        """Every zone keeps its own time (issue 17): the world clock (agents, shared ships) and
        each zone are separate schedules of `tick_hz` deadlines. Of those due, the cheapest
        (by its recent step time) runs first, so a zone that needs a few milliseconds is never
        queued behind a crowded one: it catches up between the crowded zone's steps and keeps
        its rate. A schedule kept waiting STARVED_TICKS past its deadline goes first (earliest
        deadline first among those), so under overload the crowded zone still steps. A zone
        whose steps take longer than a tick falls behind its own schedule and, more than
        OVERRUN_TICKS behind, drops its backlog (it runs slower: time dilation, in that zone
        only). After each step the loop yields, so sockets are read between zones."""
        loop = asyncio.get_running_loop()
        clock = _Clock(next_at=loop.time())
        starved = self.dt * STARVED_TICKS
        while self._running:
            now = loop.time()
            picked: ZoneHandle | _Clock | None = None
            best = (2, 0.0)
            soonest = clock.next_at
            schedules: list[ZoneHandle | _Clock] = [clock, *self.zones.values()]
            for each in schedules:
                if each.next_at == 0.0:  # a zone just loaded starts its own clock now
                    each.next_at = now
                soonest = min(soonest, each.next_at)
                if each.next_at > now:
                    continue
                key = (0, each.next_at) if now - each.next_at > starved else (1, each.cost_ms)
                if key < best:
                    picked, best = each, key
            if picked is None:
                await asyncio.sleep(soonest - now)
                continue
            started = time.perf_counter()
            try:
                if isinstance(picked, _Clock):
                    self.advance_clock()
                else:
                    self.step_zone(picked, time.monotonic())
            except Exception:
                log.exception("tick failed")
            ms = (time.perf_counter() - started) * 1000.0
            picked.cost_ms += COST_WEIGHT * (ms - picked.cost_ms)
            picked.next_at += self.dt
            if picked.next_at < loop.time() - self.dt * OVERRUN_TICKS:  # drop the backlog
                self.metrics.inc("callister_ticks_overrun_total")
                picked.next_at = loop.time()
                picked.overruns += 1
            await asyncio.sleep(0)

    def step(self) -> None:
        """One tick of everything at once: the world clock, then every awake zone (tests and
        tools; the running server schedules them apart, see `_tick_loop`)."""
        self.advance_clock()
        now = time.monotonic()
        for handle in list(self.zones.values()):
            self.step_zone(handle, now)

    def advance_clock(self) -> None:
        """One tick of the world clock: agents think (within the pool's budget) and act, shared
        ships follow their captains."""
        self.tick += 1
        self.metrics.inc("callister_ticks_total")
        try:
            self.agents.tick(self.tick)
        except Exception:
            log.exception("agents failed this tick")
        if self.shipshare.active:
            try:
                self.shipshare.sync(self.tick)
            except Exception:
                log.exception("shared ships failed this tick")
        active = ships = 0
        for handle in self.zones.values():
            if handle.empty_since is None:
                active += 1
                ships += handle.zone.ship_count
        self.metrics.gauges["callister_zones_active"] = active
        self.metrics.gauges["callister_ships"] = ships

    def step_zone(self, handle: ZoneHandle, now: float) -> None:
        """One tick of one zone, if it is awake: step, route its events, publish its frame
        (the fan-out builds its sockets' views inside the publish, so their cost is the
        zone's). A zone with no player ship sleeps; after `zone_unload_s` it is unloaded."""
        zone = handle.zone
        if zone.ship_count <= self.agents.npc_count(handle.key):
            # no player ship (NPCs alone do not wake a zone): asleep, costs nothing
            if handle.empty_since is None:
                handle.empty_since = now
            elif now - handle.empty_since > self.settings.zone_unload_s:
                self.unload(handle)
            return
        handle.empty_since = None
        if handle.key in self.frozen:
            # a game master froze it: nothing moves, but everyone in it keeps their view
            # (snapshots are the heartbeat) and sees the system frozen (server/gm.py)
            frozen = ZoneTick(handle.key, zone.tick, zone.frame(), [], beat=self.tick)
            self.bus.publish(tick_subject(handle.key), frozen)
            return
        t0 = time.perf_counter()
        events = zone.step()
        sim_ms = (time.perf_counter() - t0) * 1000.0
        if events:
            self.shipshare.on_events(handle, events)  # before the crews hear of deaths
            events = self.agents.after_step(handle, events)
        for event in events:
            if isinstance(event, JumpOut):
                self._depart(handle, event)
            elif isinstance(event, JumpCharging):
                self.universe.prefetch([(event.to_x, event.to_y)])
        if events:
            self.outcomes.handle(handle, events)
            self.missions.on_events(handle, events)
        if zone.ids_left < ZONE_ID_LOW and not handle.ids_pending:
            handle.ids_pending = True
            self.spawn(self._top_up_ids(handle), f"ids {handle.key}")
        self.bus.publish(
            tick_subject(handle.key), ZoneTick(handle.key, zone.tick, zone.frame(), events)
        )
        ms = (time.perf_counter() - t0) * 1000.0
        self.last_sim_ms = sim_ms
        handle.step_ms.append(ms)
        handle.stepped_at.append(now)
        self.metrics.record_tick(self.tick, ms, sim_ms)

    async def _top_up_ids(self, handle: ZoneHandle) -> None:
        try:
            handle.zone.grant_ids(
                await self.writer.call(self.store.characters.reserve_ids, ZONE_ID_BLOCK)
            )
        finally:
            handle.ids_pending = False

    def unload(self, handle: ZoneHandle) -> None:
        del self.zones[handle.key]
        self.agents.zone_unloaded(handle)
        self.metrics.gauges["callister_zones_loaded"] = len(self.zones)
        log.info("zone unloaded", extra={"zone": handle.key})

    # ------------------------------------------------------------------------- jumping
    def _depart(self, source: ZoneHandle, event: JumpOut) -> None:
        owner = self.ship_owner.get(event.ship)
        pilot = self.pilots.get(owner) if owner is not None else None
        if pilot is None:
            return
        pilot.zone_key = None
        self.metrics.inc("callister_jumps_total")
        self.spawn(self._jump(pilot, source, event), f"jump {event.ship}")

    async def teleport(
        self, pilot: Pilot, to: tuple[int, int], at: tuple[float, float], docked_at: int | None
    ) -> None:
        """A game master moves the pilot's ship to `at` in system `to` (the same one or any
        other), or docks it at station `docked_at` there: taken out of its zone as a jump takes
        it and carried by the jump's own path (`_jump`), so the arrival, the crew, the zone's
        footage and, in a cluster, the zones' owners and checkpoints are handled as for a jump.
        Returns once the ship is in place (or handed to the worker that owns the target)."""
        key = pilot.zone_key
        handle = self.zones.get(key) if key else None
        ship = pilot.character.ship_id
        if handle is None or not handle.zone.has_ship(ship):
            raise LookupError(f"ship {ship} is between systems")
        state = handle.zone.remove_ship(ship)
        state = msgspec.structs.replace(
            state, x=at[0], y=at[1], vx=0.0, vy=0.0, docked_at=docked_at
        )
        pilot.zone_key = None
        await self._jump(pilot, handle, JumpOut(ship, to[0], to[1], state, at=at))

    async def _jump(self, pilot: Pilot, source: ZoneHandle, event: JumpOut) -> None:
        """The ship arrives in its target zone (loaded here); if that fails to load, it comes
        back where it left. (A cluster worker hands it to the target's owner instead.)"""
        try:
            handle = await self.ensure_zone(event.to_x, event.to_y)
        except Exception:
            log.exception("jump target failed to load; returning ship", extra={"ship": event.ship})
            handle = await self.ensure_zone(*source.sector)
        self.place(pilot, handle, arrival_state(handle, source.sector, event.state, event.at))
        self._discover(pilot.account_id, handle.sector)
        self.save(pilot)
        self.missions.arrived(pilot, source.sector, handle.sector)

    # ------------------------------------------------------------- entering and leaving
    async def enter(self, account_id: int, name: str) -> Pilot:
        """Put the account's ship into the world (or reattach to it) and return its pilot."""
        pilot = self.pilots.get(account_id)
        if pilot is not None:
            if pilot.linger is not None:
                pilot.linger.cancel()
                pilot.linger = None
            pilot.connected = True
            return pilot
        character = await self.writer.call(self.store.characters.load, account_id, self.name)
        if character is None:
            character = await self._new_character(account_id)
        credits = await self.writer.call(self.economy.events.ensure_player, account_id)
        cargo = await self.writer.call(self.economy.books.cargo, character.ship_id)
        pilot = Pilot(
            account_id=account_id, name=name, character=character, credits=credits, cargo=cargo
        )
        self.pilots[account_id] = pilot
        self.ship_owner[character.ship_id] = account_id
        try:
            handle = await self.ensure_zone(character.system_x, character.system_y)
        except LookupError:  # the system vanished (e.g. seed changed): go home
            handle = await self.ensure_zone(character.home_x, character.home_y)
            character = replace(
                character,
                system_x=character.home_x,
                system_y=character.home_y,
                docked_at=character.home_station,
            )
        pilot.character = character
        self.place(pilot, handle, self._saved_state(pilot))
        self._discover(account_id, handle.sector)
        self.metrics.gauges["callister_players"] = len(self.pilots)
        # a newcomer by a friend's invite link: the friend's party invites them (issue 16)
        self.parties.arrived(pilot, self._invited_by.pop(account_id, None))
        try:
            await self.agents.crews.board_saved(pilot)  # the ship's crew comes back aboard
        except Exception:
            log.exception("crew failed to board", extra={"account": account_id})
        return pilot

    def _saved_state(self, pilot: Pilot) -> ShipState:
        """The pilot's ship as its character record last saved it."""
        c = pilot.character
        hull = self.content.hulls.get(c.hull, self.content.starter_hull)
        return ShipState(
            id=c.ship_id,
            owner=pilot.account_id,
            hull=hull.key,
            x=c.x,
            y=c.y,
            vx=c.vx,
            vy=c.vy,
            angle=c.angle,
            docked_at=c.docked_at,
        )

    def cargo_room(self, pilot: Pilot) -> int:
        """Free cargo units in the pilot's hold (never negative)."""
        return max(0, self.economy.catalog.room(pilot.character, pilot.cargo))

    def set_cargo(self, pilot: Pilot, cargo: Mapping[str, int]) -> None:
        """The pilot's hold changed (a committed transaction): the zone learns its free room."""
        pilot.cargo = dict(cargo)
        room = self.cargo_room(pilot)
        handle = self.zones.get(pilot.zone_key) if pilot.zone_key else None
        if handle is not None and handle.zone.has_ship(pilot.character.ship_id):
            handle.zone.set_vitals(pilot.character.ship_id, cargo_free=room)

    def display_name(self, ship: int, owner: int | None = None) -> str | None:
        """A ship's name as players see it. Without `owner`: its pilot's, else the NPC ship's.
        With `owner` (as an event names it): the player's, else the clone's (an NPC's owner
        is -clone id, and its name outlives its ship), else the NPC ship's."""
        if owner is None:
            owner = self.ship_owner.get(ship)
            pilot = self.pilots.get(owner) if owner is not None else None
            return pilot.name if pilot is not None else self.agents.ship_name(ship)
        pilot = self.pilots.get(owner) if owner > 0 else None
        if pilot is not None:
            return pilot.name
        return self.agents.names.get(owner) or self.agents.ship_name(ship)

    async def respawn(self, pilot: Pilot, old_ship: int = 0) -> None:
        """Put a pilot whose ship was destroyed (`old_ship`) back in space at home, in their new
        ship."""
        c = pilot.character
        handle = await self.ensure_zone(c.home_x, c.home_y)
        pilot.character = replace(c, system_x=c.home_x, system_y=c.home_y)
        self.place(pilot, handle, self._saved_state(pilot))
        self.save(pilot)

    def refit(self, pilot: Pilot, handle: ZoneHandle) -> None:
        """The pilot's ship changed hull (bought at a shipyard): the same ship id is taken out of
        the zone and put back, docked, with the new hull's stats."""
        ship = pilot.character.ship_id
        if handle.zone.has_ship(ship):
            handle.zone.remove_ship(ship)
        self.place(pilot, handle, self._saved_state(pilot))

    async def _new_character(self, account_id: int) -> Character:
        hx, hy, station_index = self.homes[account_id % len(self.homes)]
        system = await self.universe.get(hx, hy)
        # where the player chose to start, or a friend's invite placed them (issue 16)
        start = await self.writer.call(self.store.invites.start_of, account_id, self.name)
        if start is not None:
            chosen = await self.universe.get(start.system_x, start.system_y)
            if chosen is not None and start.station < len(chosen.stations):
                hx, hy, station_index, system = (
                    start.system_x, start.system_y, start.station, chosen
                )  # fmt: skip
            if start.invited_by is not None:
                self._invited_by[account_id] = start.invited_by
        assert system is not None
        station = system.stations[station_index]
        ship_id = await self.ids.next()
        character = Character.docked(
            account_id,
            self.name,
            ship_id,
            self.content.starter_hull.key,
            (hx, hy),
            station_index,
            (station.x, station.y),
        )
        await self.writer.call(self.store.characters.save, character)
        return character

    def place(self, pilot: Pilot, handle: ZoneHandle, state: ShipState) -> None:
        hull: Hull = self.content.hulls.get(state.hull, self.content.starter_hull)
        # a readmitted ship keeps the vitals it had; fresh from the record, it takes them there
        vitals = (
            {
                "hull_hp": state.hull_hp,
                "shield": state.shield,
                "energy": state.energy,
                "fuel": state.fuel,
                "weapons": state.weapons,
                "ammo": state.ammo,
            }
            if state.hull_hp is not None
            else ship_kwargs(pilot.character)
        )
        handle.zone.add_ship(
            state.id,
            pilot.account_id,
            hull,
            **ship_motion(state),
            readmit=True,  # the same ship returning (login, jump back) keeps its id
            cargo_free=self.cargo_room(pilot),
            **vitals,
        )
        handle.empty_since = None
        pilot.zone_key = handle.key
        pilot.character = replace(
            pilot.character, system_x=handle.sector[0], system_y=handle.sector[1]
        )
        self.bus.publish(
            f"ship.{state.id}", ShipMoved(state.id, pilot.account_id, handle.key, handle.system)
        )

    def leave(self, account_id: int) -> None:
        """The player's connection dropped: keep the ship in space for the grace period."""
        pilot = self.pilots.get(account_id)
        if pilot is None:
            return
        pilot.connected = False
        self.save(pilot)
        grace = self.settings.reconnect_grace_s
        loop = asyncio.get_running_loop()
        pilot.linger = loop.call_later(grace, self._logout, account_id)

    def log_out(self, account_id: int) -> None:
        """Log the pilot out now (no reconnect grace: a world being stopped or its player
        moved): saved and out of the world, even mid-jump."""
        pilot = self.pilots.get(account_id)
        if pilot is None:
            return
        if pilot.linger is not None:
            pilot.linger.cancel()
            pilot.linger = None
        pilot.connected = False
        if pilot.zone_key is None:  # mid-jump: its arrival task re-places it; take it anyway
            self.pilots.pop(account_id, None)
            self.ship_owner.pop(pilot.character.ship_id, None)
            self.writer.submit(self.store.characters.save, self.snapshot_character(pilot))
            return
        self._logout(account_id)

    def _logout(self, account_id: int) -> None:
        pilot = self.pilots.get(account_id)
        if pilot is None or pilot.connected:
            return
        if pilot.zone_key is None:  # mid-jump: try again once it has arrived
            pilot.linger = asyncio.get_running_loop().call_later(1.0, self._logout, account_id)
            return
        self.save(pilot)
        handle = self.zones.get(pilot.zone_key)
        if handle is not None and handle.zone.has_ship(pilot.character.ship_id):
            handle.zone.remove_ship(pilot.character.ship_id)
        del self.pilots[account_id]
        self.missions.left(account_id)
        self.ship_owner.pop(pilot.character.ship_id, None)
        self.bus.publish(
            f"ship.{pilot.character.ship_id}",
            ShipMoved(pilot.character.ship_id, account_id, None, None),
        )
        self.metrics.gauges["callister_players"] = len(self.pilots)

    def ship_state(self, pilot: Pilot) -> ShipState | None:
        handle = self.zones.get(pilot.zone_key) if pilot.zone_key else None
        if handle is None or not handle.zone.has_ship(pilot.character.ship_id):
            return None
        return handle.zone.ship_state(pilot.character.ship_id)

    # --------------------------------------------------------------------- persistence
    def snapshot_character(self, pilot: Pilot) -> Character:
        """The pilot's character with the ship's live position and vitals (also kept)."""
        state = self.ship_state(pilot)
        if state is not None:
            handle = self.zones[pilot.zone_key] if pilot.zone_key else None
            character = pilot.character
            if handle is not None:
                character = with_vitals(character, handle.zone.vitals(state.id))
            pilot.character = replace(character, **ship_motion(state), updated_at=time.time())
        return pilot.character

    def save(self, pilot: Pilot) -> None:
        self.writer.submit(self.store.characters.save, self.snapshot_character(pilot))

    def _discover(self, account_id: int, sector: tuple[int, int]) -> None:
        self.writer.submit(
            self.store.characters.add_discovery,
            account_id,
            self.name,
            sector[0],
            sector[1],
            time.time(),
        )

    async def checkpoint(self) -> None:
        """Write every ship's state in one transaction, and the world clock. The ships are
        read CHECKPOINT_CHUNK at a time, letting the ticks run between (a thousand in one go
        held a tick up by tens of milliseconds)."""
        characters = []
        for n, pilot in enumerate(list(self.pilots.values()), 1):
            characters.append(self.snapshot_character(pilot))
            if n % CHECKPOINT_CHUNK == 0:
                await asyncio.sleep(0)
        if characters:
            await self.writer.call(self.store.characters.save_many, characters)
        clones = self.agents.save_all()
        if clones:
            await self.writer.call(self.agents.repo.put_many, clones)
        tick = str(self.tick)
        await self.writer.call(lambda: self.store.meta.set("tick", tick, world=self.name))

    async def _checkpoint_loop(self) -> None:
        while self._running:
            await asyncio.sleep(self.settings.checkpoint_interval_s)
            try:
                await self.checkpoint()
            except Exception:
                log.exception("checkpoint failed; will retry")


def arrival_state(
    handle: ZoneHandle,
    origin: tuple[int, int],
    state: ShipState,
    at: tuple[float, float] | None = None,
) -> ShipState:
    """A jumping ship as it appears in `handle`'s system coming from sector `origin`: at the
    arrival point of the link back (where it was, if it came back to its own system), at rest,
    facing the star, undocked. A game master's teleport gives `at` instead: the ship appears
    there, docked if `state` says so (World.teleport)."""
    x, y = state.x, state.y
    if at is not None:
        x, y = at
    elif origin != handle.sector:
        ax, ay = arrival_point(handle.system, origin[0], origin[1])
        x, y = float(ax), float(ay)
    angle = math.atan2(-y, -x)
    docked = state.docked_at if at is not None else None
    return msgspec.structs.replace(
        state, x=float(x), y=float(y), vx=0.0, vy=0.0, angle=angle, docked_at=docked
    )


def find_home_systems(universe: UniverseCache, count: int) -> list[tuple[int, int, int]]:
    """The first `count` systems with a station and jump links, spiralling out from sector
    (0, 0): (x, y, station index). The same choice as a character moved into the world
    (worlds/placement.py, which computes it). They are kept in `universe`: every new player
    starts in one."""
    homes = [(x, y, station) for x, y, station, _, _ in home_systems(universe.seed, count)]
    for x, y, _ in homes:
        universe.get_blocking(x, y)
    return homes
