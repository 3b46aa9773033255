"""`ClusterWorld`: the single-process `World`, owning only the zones whose lease it holds.

Everything a zone does (the tick, combat, economy, NPCs, crews) is the unchanged `World` code.
What changes in a worker:

- **Loading a zone** first acquires its lease and raises the database fence to the lease's token
  (`Node.own`); a zone held by another worker raises `ZoneElsewhere`.
- **Stepping** skips a zone the moment its lease is no longer valid (paused: not stepped, no
  frame, nothing committed; its players just see it stand still) and goes on if a renewal
  confirms; a zone whose lease is lost is dropped: its sessions are told to re-attach (the
  gateway finds the new owner) and its pilots leave memory unsaved.
- **Saving** (checkpoints, logouts) writes the players' characters and the zone's ship rows in
  one fenced transaction: a worker that lost the zone cannot overwrite the new owner's state.
- **Jumping** to a zone this worker does not own is a hand-off through the outbox
  (cluster/outbox.py): the departure and the character's new system commit together, the
  destination's owner makes the ship resident exactly once, and the session moves there. The
  jump counts for the pilot's missions there, once (`Arrived`, as in one process); their
  progress goes through the store, saved by the source before the ship departs.
- **Entering** finds the ship where the cluster says it is (`cluster_ships`): resident here,
  in transit here (wait for the hand-off), or elsewhere (`ZoneElsewhere`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

import msgspec

from callister.cluster import codec, fencing, outbox
from callister.cluster.outbox import Handoff
from callister.server.bus import zone_key
from callister.server.vitals import ship_motion, with_vitals
from callister.server.world import Pilot, World, ZoneHandle, arrival_state
from callister.sim import JumpOut, ShipState
from callister.store import Character, Fenced, NotResident
from callister.store.cluster import ClusterRepository

log = logging.getLogger(__name__)
codec.register(Character)  # hand-offs carry the player's character (Handoff.pilot)

ARRIVAL_WAIT_S = 10.0  # how long an attach waits for its ship's hand-off to land here
FOLLOW_WAIT_S = 3.0
"""How long a session that follows its jumping ship (`expect`) waits for the hand-off before
looking in the store: the hand-off is published right after the session is sent, so it
normally lands within tens of ms; one that does not (refused, lost) takes the usual path."""
UNSEEN_ARRIVAL_S = 10.0
"""A ship landed by a hand-off counts as arrived for its missions when its session attaches
(so the client hears what the arrival completes), or after this long if none has by then
(within half the reconnect grace: while the ship still waits for its player)."""


class ZoneElsewhere(Exception):
    """The zone (or the ship) is not this worker's: the session belongs on `zone`'s owner."""

    def __init__(self, zone: str, holder: str | None = None) -> None:
        super().__init__(f"zone {zone} is owned by {holder or 'another worker'}")
        self.zone, self.holder = zone, holder


class Node(Protocol):
    """What the world needs of its worker process (cluster/worker.py)."""

    name: str
    cluster: ClusterRepository  # on the worker's fence connection, used through `db`
    arrival_cluster: ClusterRepository  # on its arrival connection, used through `arrival_db`

    async def own(self, zone: str) -> None: ...
    def valid(self, zone: str) -> bool: ...
    def holds(self, zone: str) -> bool:
        """The lease is held, valid or paused (`valid` says whether it may be simulated)."""

    def token(self, zone: str) -> int: ...
    async def db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any: ...
    async def handoff_db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`fn(cluster, *args, **kwargs)` with a hand-off connection, on its thread."""

    async def arrival_db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any: ...
    async def place(self, zone: str) -> str | None: ...
    async def publish_handoff(self, handoff: Handoff) -> None: ...
    def released(self, zone: str) -> None: ...
    def session_moved(self, account_id: int, zone: str, *, jumped: bool = False) -> None:
        """Send the account's session to `zone`'s owner; `jumped`: its ship is handed there."""


def sector_of(zone: str) -> tuple[int, int]:
    _, x, y = zone.rsplit(".", 2)
    return int(x), int(y)


class ClusterWorld(World):
    node: Node

    records_are_offline = False  # another worker may fly the ship (server/gm.py)

    def bind(self, node: Node) -> None:
        self.node = node
        self._arrivals: dict[int, asyncio.Event] = {}  # ship id -> set when its hand-off lands
        # entering and a hand-off landing for the same account must not interleave (both
        # load the character and place the ship across awaits)
        self._account_locks: dict[int, asyncio.Lock] = {}
        self._landed: set[int] = set()  # accounts whose ship came by hand-off, not attached yet
        # accounts whose session follows its ship here (`expect`) -> set when the ship lands
        self._expected: dict[int, asyncio.Event] = {}
        # accounts whose ship landed by hand-off -> (origin, sector, its timer): the jump's
        # `Arrived` fact for their missions, counted once their session is here to hear it
        self._unseen: dict[int, tuple[tuple[int, int], tuple[int, int], asyncio.TimerHandle]] = {}
        # where hand-off time goes, per stage (ms; `bench cluster` reports percentiles):
        # depart (the departure transaction, its thread's queue included), publish (until
        # JetStream acked), transit (departure start to the destination receiving it), arrive
        # (the arrival transaction), land (placing the ship)
        self.handoff_stages: dict[str, list[float]] = {}

    def _stage(self, name: str, ms: float) -> None:
        samples = self.handoff_stages.setdefault(name, [])
        samples.append(ms)
        del samples[:-5000]

    def _lock(self, account_id: int) -> asyncio.Lock:
        lock = self._account_locks.get(account_id)
        if lock is None:
            lock = self._account_locks[account_id] = asyncio.Lock()
        return lock

    # --------------------------------------------------------------------------- zones
    async def _load_zone(self, key: str, x: int, y: int) -> ZoneHandle:
        await self.node.own(key)  # lease + fence before anything is read
        return await super()._load_zone(key, x, y)

    def advance_clock(self) -> None:
        for key in [k for k in self.zones if not self.node.holds(k)]:
            self.lose_zone(key, "lease no longer held")
        super().advance_clock()

    def step_zone(self, handle: ZoneHandle, now: float) -> None:
        """A zone whose lease is not valid now is paused: not stepped (no frame, no events, no
        unloading), until its renewal confirms or the lease is lost (then it is dropped)."""
        if self.node.valid(handle.key):
            super().step_zone(handle, now)

    def unload(self, handle: ZoneHandle) -> None:
        super().unload(handle)
        self.node.released(handle.key)

    def lose_zone(self, key: str, why: str, *, notify: bool = True) -> None:
        """Stop simulating `key` now (lease lost or zone handed away): its pilots leave memory
        without saving (the next owner has the last checkpoint) and their sessions re-attach."""
        handle = self.zones.pop(key, None)
        if handle is None:
            return
        log.warning("zone dropped", extra={"zone": key, "why": why})
        self.agents.zone_unloaded(handle)
        for pilot in [p for p in self.pilots.values() if p.zone_key == key]:
            self._evict(pilot)
            if notify:
                self.node.session_moved(pilot.account_id, key)
        self.metrics.gauges["callister_zones_loaded"] = len(self.zones)

    def _evict(self, pilot: Pilot) -> None:
        """The pilot leaves this worker's memory (its ship lives on elsewhere)."""
        if pilot.linger is not None:
            pilot.linger.cancel()
            pilot.linger = None
        ship = pilot.character.ship_id
        handle = self.zones.get(pilot.zone_key) if pilot.zone_key else None
        if handle is not None and handle.zone.has_ship(ship):
            handle.zone.remove_ship(ship)
        self.pilots.pop(pilot.account_id, None)
        self._forget_landing(pilot.account_id)
        # its missions' progress is saved as it changes; the copy here would be stale the
        # next time the pilot comes back to this worker (as at a logout, World._logout)
        self.missions.left(pilot.account_id)
        self.ship_owner.pop(ship, None)
        self.metrics.gauges["callister_players"] = len(self.pilots)

    def _logout(self, account_id: int) -> None:
        super()._logout(account_id)
        if account_id not in self.pilots:  # (not deferred: reattached, or still mid-jump)
            self._forget_landing(account_id)

    def _forget_landing(self, account_id: int) -> None:
        """The pilot left this worker: a landing its session never came for is over (its
        next login here is a fresh one, told nothing of it)."""
        self._landed.discard(account_id)
        unseen = self._unseen.pop(account_id, None)
        if unseen is not None:
            unseen[2].cancel()

    # ------------------------------------------------------------------------ entering
    def expect(self, account_id: int) -> None:
        """The account's session is on its way here after its ship, which jumped from another
        worker (the gateway says so: `follow` in its attach): `enter` waits for the hand-off
        instead of reading where the ship is from the store."""
        if account_id not in self.pilots:
            self._expected.setdefault(account_id, asyncio.Event())

    async def enter(self, account_id: int, name: str) -> Pilot:
        expected = self._expected.get(account_id)
        if expected is not None and account_id not in self.pilots:
            # no store read and no lock held meanwhile: the landing is never kept waiting
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(expected.wait(), FOLLOW_WAIT_S)
        if self._expected.get(account_id) is expected:
            self._expected.pop(account_id, None)
        if account_id not in self.pilots:
            # where the ship is, read without the account's lock: a hand-off landing for it
            # meanwhile takes the lock and must not wait behind these store round trips (on
            # the fence thread, queued behind checkpoints: the `land` stage's tail)
            await self._find_ship(account_id)
        async with self._lock(account_id):
            fresh = account_id not in self.pilots  # World.enter reads it from the store
            pilot = await super().enter(account_id, name)
            if fresh:
                await self._register_ship(pilot)
        if account_id in self._landed:
            self._landed.discard(account_id)
            self._tell_arrived(account_id, pilot.character.ship_id)
        if account_id in self._unseen:  # after `_tell_arrived`'s, as World._jump's order
            asyncio.get_running_loop().call_soon(self._count_arrival, account_id)
        return pilot

    def _tell_arrived(self, account_id: int, ship: int) -> None:
        """The session followed its ship here: tell the client it arrived, as a jump within one
        process does (after the `system` message, which `enter`'s caller sends before it
        yields; and no welcome, `Gateway.serve(followed=True)`)."""
        notice = functools.partial(
            self.notices.notify, account_id, "event", kind="arrived", ship=ship
        )
        asyncio.get_running_loop().call_soon(notice)

    def _count_arrival(self, account_id: int) -> None:
        """The jump that landed the account's ship here counts for its missions (once)."""
        unseen = self._unseen.pop(account_id, None)
        pilot = self.pilots.get(account_id)
        if unseen is None or pilot is None:
            return
        origin, sector, timer = unseen
        timer.cancel()
        self.missions.arrived(pilot, origin, sector)  # as World._jump (a teleport's too)

    async def _find_ship(self, account_id: int) -> None:
        """Return once the account's ship is here to be entered (resident in one of our zones,
        or landed by its hand-off meanwhile); ZoneElsewhere if it is another worker's."""
        character = await self.writer.call(self.store.characters.load, account_id, self.name)
        if character is None:
            return  # a new character: `World.enter` creates it (its start zone is loaded here)
        if account_id in self.pilots:
            return
        where = await self.node.db(self.node_cluster.ship_location, character.ship_id)
        if account_id in self.pilots:
            return  # its hand-off landed while we looked
        if where is None:
            home = zone_key(self.name, character.system_x, character.system_y)
            if home not in self.zones:
                raise ZoneElsewhere(home)
            return
        zone, seq, arrived = where
        if zone not in self.zones:
            raise ZoneElsewhere(zone)
        if arrived < seq:  # in transit to this zone: the hand-off brings it
            event = self._arrivals.setdefault(character.ship_id, asyncio.Event())
            try:
                await asyncio.wait_for(event.wait(), ARRIVAL_WAIT_S)
            except TimeoutError:
                raise ZoneElsewhere(zone) from None  # try again (the relay resends)

    async def _register_ship(self, pilot: Pilot) -> None:
        """A ship the cluster does not know yet (a new character) gets its row, in its zone."""
        state = self.ship_state(pilot)
        if state is None or pilot.zone_key is None:
            return
        where = await self.node.db(self.node_cluster.ship_location, state.id)
        if where is None:
            zone, node = pilot.zone_key, self.node
            await node.db(
                fencing.add_ship, self.node_cluster, zone, node.token(zone), node.name, state
            )

    @property
    def node_cluster(self) -> ClusterRepository:
        """The worker's fenced connection (its fence thread: `node.db`)."""
        return self.node.cluster

    # ------------------------------------------------------------------------- jumping
    async def _jump(self, pilot: Pilot, source: ZoneHandle, event: JumpOut) -> None:
        target = zone_key(self.name, event.to_x, event.to_y)
        try:
            where = target if target in self.zones else await self.node.place(target)
        except Exception:
            log.exception("placing the jump target failed; handing off anyway")
            where = None
        if where == self.node.name or target in self.zones:
            await self._jump_here(pilot, source, event, target)
        else:
            await self._hand_off(pilot, source, event, target)

    async def _jump_here(
        self, pilot: Pilot, source: ZoneHandle, event: JumpOut, target: str
    ) -> None:
        """Both zones are ours: the same departure and arrival rows, no message."""
        try:
            handle = await self.ensure_zone(event.to_x, event.to_y)
        except ZoneElsewhere:
            await self._hand_off(pilot, source, event, target)
            return
        state = arrival_state(handle, source.sector, event.state, event.at)
        character = self._character_at(pilot, state, handle.sector)
        node = self.node

        def move(cluster: ClusterRepository) -> None:
            handoff = outbox.depart(
                cluster,
                from_zone=source.key,
                to_zone=target,
                token=node.token(source.key),
                owner=node.name,
                state=event.state,
            )
            outbox.arrive(
                cluster,
                handoff,
                token=node.token(target),
                owner=node.name,
                state=state,
                characters=[character],
            )

        try:
            await node.handoff_db(move)
        except (Fenced, KeyError, NotResident) as exc:
            log.warning("local jump not recorded", extra={"ship": event.ship, "err": repr(exc)})
        pilot.character = character
        self.place(pilot, handle, state)
        self._discover(pilot.account_id, handle.sector)
        self.missions.arrived(pilot, source.sector, handle.sector)  # as World._jump

    async def _hand_off(
        self, pilot: Pilot, source: ZoneHandle, event: JumpOut, target: str
    ) -> None:
        """The ship goes to another worker: commit the departure with the outbox row, publish,
        and send the session after it."""
        # its missions' progress changes begun here are saved (and their credits, cargo and
        # character taken along) before the destination can load it; later ones are refused
        # (`_evict` forgets the copy here: MissionDesk.settle)
        await self.missions.settle(pilot.account_id)
        tx, ty = event.to_x, event.to_y
        character = self._character_at(pilot, event.state, (tx, ty))
        # the crew is stored aboard the ship before it departs, so the destination finds them
        # when the ship lands there (boarding reads the clones of the ship from the store)
        crew = self.agents.crews.disembark(event.ship)
        if crew:
            await self.writer.call(self.agents.repo.put_many, crew)
        pilot_data = {
            "character": character,
            "name": pilot.name,
            "credits": pilot.credits,
            "cargo": dict(pilot.cargo),
            "crew": len(crew),
        }
        if event.at is not None:  # a teleport: the destination places it there, not at a gate
            pilot_data["at"] = [event.at[0], event.at[1]]
            pilot_data["docked_at"] = event.state.docked_at
        started = time.perf_counter()
        try:
            handoff = await self.node.handoff_db(
                outbox.depart,
                from_zone=source.key,
                to_zone=target,
                token=self.node.token(source.key),
                owner=self.node.name,
                state=event.state,
                characters=[character],
                pilot=pilot_data,
            )
        except (Fenced, KeyError) as exc:
            # the source zone is no longer ours: its new owner has the ship from its checkpoint
            log.warning("hand-off refused: zone lost", extra={"ship": event.ship, "err": repr(exc)})
            self._evict(pilot)
            self.node.session_moved(pilot.account_id, source.key)
            return
        except NotResident:
            log.error("hand-off of a ship not resident here", extra={"ship": event.ship})
            self.missions.left(pilot.account_id)  # (not leaving: its progress reloads)
            return
        departed = time.perf_counter()
        self._stage("depart", (departed - started) * 1000.0)
        pilot.character = character
        self._evict(pilot)
        self.node.session_moved(pilot.account_id, target, jumped=True)
        try:
            await self.node.publish_handoff(handoff)
        except Exception as exc:  # the outbox relay republishes it
            log.info("hand-off publish failed; the relay resends", extra={"err": repr(exc)})
        self._stage("publish", (time.perf_counter() - departed) * 1000.0)

    async def apply_handoff(self, handoff: Handoff) -> bool:
        """A ship arrives from another worker (HandoffReceiver's `apply`): commit, then place."""
        if handoff.departed_at:
            self._stage("transit", (time.time() - handoff.departed_at) * 1000.0)
        tx, ty = sector_of(handoff.to_zone)
        handle = await self.ensure_zone(tx, ty)
        await self._unpaused(handoff.to_zone)
        owner = handoff.state.owner
        carried = handoff.pilot or {}
        at = carried.get("at")
        state = handoff.state
        if at is not None:  # a game master's teleport (World.teleport)
            docked = carried.get("docked_at")
            state = msgspec.structs.replace(
                state, docked_at=docked if isinstance(docked, int) else None
            )
        origin = sector_of(handoff.from_zone)
        state = arrival_state(handle, origin, state, None if at is None else (at[0], at[1]))
        character = carried.get("character")
        name = carried.get("name")
        if not isinstance(character, Character) or not isinstance(name, str):
            # a hand-off from an older worker: read the player back from the store
            character = await self.writer.call(self.store.characters.load, owner, self.name)
            account = await self.writer.call(self.store.accounts.get, owner)
            if character is None or account is None:
                log.error("hand-off of an unknown character dropped", extra={"ship": handoff.ship})
                return False
            name = account.name
        character = replace(
            character, ship_id=handoff.ship, system_x=tx, system_y=ty, **ship_motion(state)
        )
        started = time.perf_counter()
        applied = await self.node.arrival_db(
            outbox.arrive,
            self.node.arrival_cluster,
            handoff,
            token=self.node.token(handoff.to_zone),
            owner=self.node.name,
            state=state,
            characters=[character],
        )
        landing = time.perf_counter()
        self._stage("arrive", (landing - started) * 1000.0)
        if not applied:
            return False
        async with self._lock(owner):
            if owner in self.pilots:
                # the player's attach won the race (it came after this transaction committed,
                # so it found the ship arrived) and placed the ship from the character this
                # very transaction wrote: it is here, once, and its client hears so from here
                self._arrived(handoff.ship)
                self._tell_arrived(owner, handoff.ship)
                pilot = self.pilots[owner]
                # the jump counts for its missions, as in one process (World._jump)
                asyncio.get_running_loop().call_soon(
                    self.missions.arrived, pilot, origin, handle.sector
                )
                expected = self._expected.get(owner)
                if expected is not None:
                    expected.set()
            else:
                await self._land(handoff, handle, character, state, name)
        self._stage("land", (time.perf_counter() - landing) * 1000.0)
        return True

    async def _unpaused(self, zone: str) -> None:
        """Wait while `zone` is paused (its lease renewal late): nothing of a paused zone is
        committed. ZoneElsewhere if it is lost meanwhile: the hand-off is refused, and the
        stream delivers it again, to the next owner."""
        while self.node.holds(zone) and not self.node.valid(zone):
            await asyncio.sleep(0.02)
        if not self.node.valid(zone):
            raise ZoneElsewhere(zone)

    def _arrived(self, ship: int) -> None:
        event = self._arrivals.pop(ship, None)
        if event is not None:
            event.set()

    async def _land(
        self,
        handoff: Handoff,
        handle: ZoneHandle,
        character: Character,
        state: ShipState,
        name: str,
    ) -> None:
        owner = handoff.state.owner
        carried = handoff.pilot or {}
        credits: int
        cargo: dict[str, int]
        if isinstance(carried.get("credits"), int) and isinstance(carried.get("cargo"), dict):
            credits, cargo = carried["credits"], dict(carried["cargo"])
        else:
            credits = await self.writer.call(self.economy.events.ensure_player, owner)
            cargo = await self.writer.call(self.economy.books.cargo, handoff.ship)
        pilot = Pilot(
            account_id=owner,
            name=name,
            character=character,
            credits=credits,
            cargo=cargo,
            connected=False,
        )
        self.pilots[owner] = pilot
        self.ship_owner[handoff.ship] = owner
        self.place(pilot, handle, state)
        self._discover(owner, handle.sector)
        # nobody attached yet: the usual reconnect grace applies (the session is on its way)
        pilot.linger = asyncio.get_running_loop().call_later(
            self.settings.reconnect_grace_s, self._logout, owner
        )
        self.metrics.gauges["callister_players"] = len(self.pilots)
        self._forget_landing(owner)  # (an earlier one's, were there any)
        self._landed.add(owner)
        # the jump counts for its missions once the session is here to hear what it completes
        # (`enter`), as a jump in one process tells its player (World._jump)
        origin = sector_of(handoff.from_zone)
        wait = min(UNSEEN_ARRIVAL_S, self.settings.reconnect_grace_s / 2)
        timer = asyncio.get_running_loop().call_later(wait, self._count_arrival, owner)
        self._unseen[owner] = (origin, handle.sector, timer)
        self._arrived(handoff.ship)  # the ship is here: an attach waiting for it goes on
        expected = self._expected.get(owner)
        if expected is not None:
            expected.set()
        if carried.get("crew", 1):  # (unknown: look; none aboard: no need to ask the store)
            try:
                await self.agents.crews.board_saved(pilot)  # the crew came along
            except Exception:
                log.exception("crew failed to board after a hand-off", extra={"ship": handoff.ship})

    def _character_at(self, pilot: Pilot, state: ShipState, sector: tuple[int, int]) -> Character:
        character = replace(
            pilot.character, system_x=sector[0], system_y=sector[1], **ship_motion(state)
        )
        if state.hull_hp is not None:  # the zone filled the vitals in
            character = with_vitals(character, state)
        return character

    async def respawn(self, pilot: Pilot, old_ship: int = 0) -> None:
        if old_ship:  # the destroyed ship leaves the cluster's map of ships
            await self._forget_ship(old_ship)
        c = pilot.character
        home = zone_key(self.name, c.home_x, c.home_y)
        if home not in self.zones:
            try:
                where = await self.node.place(home)
            except Exception:
                where = None
            if where != self.node.name:
                # home is another worker's: the character record sends the player there (and
                # the missions' changes begun here are saved before that worker loads them)
                await self.missions.settle(pilot.account_id)
                pilot.character = replace(c, system_x=c.home_x, system_y=c.home_y)
                await self.writer.call(self.store.characters.save, pilot.character)
                self._evict(pilot)
                self.node.session_moved(pilot.account_id, home)
                return
        await super().respawn(pilot, old_ship)
        await self._register_ship(pilot)  # the new ship, in the home zone

    async def _forget_ship(self, ship: int) -> None:
        where = await self.node.db(self.node_cluster.ship_location, ship)
        if where is None or where[0] not in self.zones or not self.node.valid(where[0]):
            return
        zone = where[0]
        try:
            await self.node.db(
                self.node_cluster.remove_ship, zone, self.node.token(zone), self.node.name, ship
            )
        except (Fenced, KeyError):
            self.lose_zone(zone, "fenced: another worker owns it")

    # --------------------------------------------------------------------- persistence
    def save(self, pilot: Pilot) -> None:
        zone = pilot.zone_key
        if zone is None or zone not in self.zones or not self.node.valid(zone):
            return  # not ours to write (in transit, or the zone was lost)
        character = self.snapshot_character(pilot)
        state = self.ship_state(pilot)
        self.spawn(self._write_zone(zone, [character], [state] if state else []), "save")

    async def _write_zone(
        self, zone: str, characters: list[Character], ships: list[ShipState]
    ) -> None:
        try:
            await self.node.db(
                fencing.checkpoint,
                self.node_cluster,
                zone,
                self.node.token(zone),
                self.node.name,
                tick=self.tick,
                ships=ships,
                characters=characters,
            )
        except (Fenced, KeyError):
            self.lose_zone(zone, "fenced: another worker owns it")

    async def checkpoint(self) -> None:
        """Per owned zone, one fenced transaction: the zone's tick, its ships, its characters."""
        by_zone: dict[str, tuple[list[Character], list[ShipState]]] = {}
        for pilot in list(self.pilots.values()):
            zone = pilot.zone_key
            if zone is None or zone not in self.zones:
                continue
            state = self.ship_state(pilot)
            characters, ships = by_zone.setdefault(zone, ([], []))
            characters.append(self.snapshot_character(pilot))
            if state is not None:
                ships.append(state)
        for zone in list(self.zones):
            if not self.node.valid(zone):
                continue
            characters, ships = by_zone.get(zone, ([], []))
            await self._write_zone(zone, characters, ships)
        clones = self.agents.save_all()
        if clones:
            await self.writer.call(self.agents.repo.put_many, clones)


__all__ = ["ClusterWorld", "ZoneElsewhere", "sector_of"]
