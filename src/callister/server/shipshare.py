"""Shared ships: players crewing another player's ship, side by side with its clone crew.

Rules (docs/crews.md is the player's version):

- A captain (the ship's owner) invites a player by name (`invite_aboard`); the invited player
  accepts with `board` {the captain's ship} when their own ship is either docked at a station in
  the captain's system (it waits there) or in space within CARRY_RANGE (200 m) of the captain's
  ship and slower than CARRY_MAX_SPEED (10 m/s) relative to it (it docks with the captain's
  ship: taken out of space, its state kept in the character record, and carried along).
- A member takes a crew station: gunner, engineer or miner — the first free one (a station
  holds one member, human or clone; clones hold the station of their role), or rides as a
  passenger (holding nothing) when those are taken. **Never the pilot's**: the captain keeps
  the helm until they hand it over (issue 16: a guest used to take it on boarding and lock the
  captain out of their own ship). The captain holds every empty station. The captain
  reassigns a human member with `assign`, the pilot's station included (a station held by
  another human is swapped; one held by a clone is refused NOT_AVAILABLE).
- Controls are split by station and checked by the zone (`Zone.set_stations`): Input, Dock,
  Undock, Jump and Loot only from the pilot, Fire only from the gunner, Mine from the miner,
  Power from the engineer, each station's holder being the owner when it is empty; anyone
  else gets NOT_YOUR_STATION. A member's session views the captain's ship (snapshots centred on
  it, its status with the member's own credits) through a `ViewShip` notice.
- Ship chat: everything said on the captain's chat (the captain, the clones, members) reaches
  every human aboard; a member's `crew_chat` is heard by all and answered by the clones.
- `leave_ship` (or the captain leaving the world) returns a member to their own ship: a carried
  ship undocks beside the captain's ship (or docked at the station the captain's ship is docked
  at); a ship that waited at a station is where it was.
- The captain's ship destroyed: human members lose their seat and nothing else; they wake at
  home aboard their own ship (a carried ship is put docked at their home station; one waiting
  at a station stays there). Clones aboard die with the ship unless the world's setting
  `clones_survive_death` sets them ashore alive.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import Any

import msgspec

from callister.content import Content
from callister.economy import Economy
from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.messages import (
    CREW_STATIONS,
    AssignMsg,
    BoardAttackMsg,
    BoardMsg,
    CrewChatMsg,
    CrewMessage,
    InviteAboardMsg,
    LeaveShipMsg,
    MarketMsg,
    StationMessage,
)
from callister.server.boarding import board_attack
from callister.server.bus import Bus, Subscription
from callister.server.notices import Notice, account_subject
from callister.server.npcs import AgentRuntime
from callister.server.outcomes import killer_of
from callister.server.ports import Notify, Pilot, Roster, ZoneHandle, online_pilot
from callister.server.status import status_message
from callister.server.writer import StoreWriter
from callister.sim import Destroyed, ShipState, Zone, ZoneEvent

log = logging.getLogger(__name__)

CARRY_RANGE = 200.0  # m: an own ship in space this close to the captain's can dock with it
CARRY_MAX_SPEED = 10.0  # m/s relative
BESIDE = 40.0  # m: where a carried ship undocks, beside the captain's ship
# the stations a guest may take on boarding, in order: the helm is never among them (the
# captain hands it over with `assign`)
GUEST_STATIONS = tuple(s for s in CREW_STATIONS if s != "pilot")
PASSENGER = "passenger"  # a member holding no station (every guest station was taken)


@dataclass(frozen=True, slots=True)
class ViewShip:
    """Published on `account.<id>`: the session now views ship `ship` in zone `zone_key`
    (None: between zones). The gateway follows it (gateway._on_notice)."""

    ship: int
    zone_key: str | None


@dataclass(slots=True)
class Berth:
    account: int
    ship: int  # the captain's ship
    station: str
    parked: ShipState | None  # the own ship carried aboard; None: it waits at a station


@dataclass(slots=True)
class SharedShip:
    ship: int
    captain: int
    members: dict[int, Berth] = field(default_factory=dict)  # human members by account
    chat: Subscription | None = None
    zone_key: str | None = None  # where the stations were last registered


class ShipShare:
    """Players aboard other players' ships (see the module docstring)."""

    def __init__(
        self,
        roster: Roster,
        *,
        agents: AgentRuntime,
        content: Content,
        economy: Economy,
        writer: StoreWriter,
        bus: Bus,
        notify: Notify,
        world_name: str,
        pvp: bool,
        clones_survive_death: bool,
    ) -> None:
        self.roster, self.agents, self.content, self.economy = roster, agents, content, economy
        self.writer, self.bus, self.notify, self.world_name = writer, bus, notify, world_name
        self.pvp, self.clones_survive_death = pvp, clones_survive_death
        self.last_boarding: dict[tuple[str, int, int], float] = {}  # boarding's cooldown
        self.ships: dict[int, SharedShip] = {}
        self.aboard: dict[int, Berth] = {}  # account -> berth
        self.invites: dict[int, set[int]] = {}  # captain's ship -> invited accounts

    @property
    def active(self) -> bool:
        return bool(self.ships)

    # ------------------------------------------------------------------ lookups
    def berth(self, account: int) -> Berth | None:
        return self.aboard.get(account)

    def is_aboard(self, account: int) -> bool:
        """Whether the player is aboard another's ship."""
        return account in self.aboard

    def humans_aboard(self, ship: int) -> list[int]:
        """The players aboard `ship` besides its captain, by account id."""
        shared = self.ships.get(ship)
        return sorted(shared.members) if shared is not None else []

    def zone_for(self, pilot: Pilot) -> str | None:
        """The zone a player acts in: the captain's ship's while aboard, else their own."""
        berth = self.aboard.get(pilot.account_id)
        if berth is None:
            return pilot.zone_key
        captain = self._captain(berth.ship)
        return captain.zone_key if captain is not None else None

    def _captain(self, ship: int) -> Pilot | None:
        owner = self.roster.ship_owner.get(ship)
        return self.roster.pilots.get(owner) if owner is not None else None

    def _clones(self, ship: int) -> dict[str, int]:
        """station -> clone id of the ship's clone crew (their role is their station)."""
        crews = self.agents.crews
        pool = self.agents.pool
        out: dict[str, int] = {}
        for clone_id in crews.by_ship.get(ship, ()):
            if clone_id in pool:
                out[pool.clone(clone_id).role.value] = clone_id
        return out

    def stations(self, ship: int) -> dict[str, int]:
        """The ship's station table: station -> holder (humans and clones)."""
        table = self._clones(ship)
        shared = self.ships.get(ship)
        if shared is not None:
            for berth in shared.members.values():
                if berth.station != PASSENGER:
                    table[berth.station] = berth.account
        return table

    # ------------------------------------------------------------------ messages
    def handle(self, pilot: Pilot, message: Any) -> Any:
        """A shared-ship message; returns a coroutine for the gateway to run, or None."""
        if isinstance(message, InviteAboardMsg):
            self.invite(pilot, message.ship, message.name)
            return None
        if isinstance(message, BoardMsg):
            self.board(pilot, message.ship)
            return None
        if isinstance(message, AssignMsg):
            self.assign(pilot, message.ship, message.member, message.station)
            return None
        if isinstance(message, LeaveShipMsg):
            berth = self.aboard.get(pilot.account_id)
            if berth is None or berth.ship != message.ship:
                raise ProtocolError(ErrorCode.NOT_AVAILABLE, "you are not aboard that ship")
            return self.leave(pilot.account_id, why="left the ship")
        if isinstance(message, BoardAttackMsg):
            return board_attack(self, pilot, message.ship, message.target)
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, "not a shared-ship message")

    def check_member(self, pilot: Pilot, message: Any) -> None:
        """What a member aboard another's ship may not do there: trade, station services and
        the captain's crew commands (hire, dismiss, orders)."""
        if pilot.account_id not in self.aboard:
            return
        if isinstance(message, StationMessage | MarketMsg):
            raise ProtocolError(
                ErrorCode.NOT_AVAILABLE, "you are aboard another's ship; leave it to trade"
            )
        if isinstance(message, CrewMessage) and not isinstance(message, CrewChatMsg):
            raise ProtocolError(ErrorCode.NOT_YOUR_SHIP, "only the captain commands the crew")

    def _own_ship(self, pilot: Pilot, ship: int) -> SharedShip | None:
        if pilot.account_id in self.aboard:
            raise ProtocolError(ErrorCode.NOT_AVAILABLE, "you are aboard another's ship")
        if ship != pilot.character.ship_id:
            raise ProtocolError(ErrorCode.NOT_YOUR_SHIP, f"ship {ship} is not yours")
        return self.ships.get(ship)

    def invite(self, captain: Pilot, ship: int, name: str) -> None:
        self._own_ship(captain, ship)
        guest = online_pilot(self.roster.pilots, name)
        if guest.account_id == captain.account_id:
            raise ProtocolError(ErrorCode.BAD_FIELD, "you are already aboard your own ship")
        if guest.account_id in self.aboard:
            raise ProtocolError(ErrorCode.NOT_AVAILABLE, f"{guest.name} is aboard another ship")
        self.invites.setdefault(ship, set()).add(guest.account_id)
        notify = self.notify
        notify(guest.account_id, "invite", ship=ship, captain=captain.name)
        notify(
            captain.account_id,
            "chat",
            **{"from": captain.name},
            clone=None,
            text=f"Invited {guest.name} aboard.",
            kind="invite",
        )

    def board(self, pilot: Pilot, ship: int) -> None:
        """Accept an invitation: park the own ship and take the first free station."""
        if pilot.account_id in self.aboard:
            raise ProtocolError(ErrorCode.NOT_AVAILABLE, "you are already aboard a ship")
        if pilot.account_id not in self.invites.get(ship, set()):
            raise ProtocolError(ErrorCode.NOT_AVAILABLE, f"nobody invited you aboard ship {ship}")
        own_shared = self.ships.get(pilot.character.ship_id)
        if own_shared is not None and own_shared.members:
            raise ProtocolError(ErrorCode.NOT_AVAILABLE, "your own ship has players aboard")
        if pilot.dead:
            raise ProtocolError(ErrorCode.DESTROYED, "your ship was destroyed; respawning")
        captain = self._captain(ship)
        if captain is None or captain.zone_key is None or pilot.zone_key is None:
            raise ProtocolError(ErrorCode.NOT_IN_WORLD, "that ship is between systems")
        handle = self.roster.zones.get(captain.zone_key)
        own = self.roster.ship_state(pilot)
        if handle is None or own is None or not handle.zone.has_ship(ship):
            raise ProtocolError(ErrorCode.NOT_IN_WORLD, "that ship is between systems")
        if pilot.zone_key != captain.zone_key:
            raise ProtocolError(ErrorCode.TOO_FAR, "the captain's ship is in another system")
        theirs = handle.zone.ship_state(ship)
        parked: ShipState | None = None
        if own.docked_at is None:
            dist = ((own.x - theirs.x) ** 2 + (own.y - theirs.y) ** 2) ** 0.5
            rel = ((own.vx - theirs.vx) ** 2 + (own.vy - theirs.vy) ** 2) ** 0.5
            if dist > CARRY_RANGE or rel >= CARRY_MAX_SPEED:
                raise ProtocolError(
                    ErrorCode.TOO_FAR,
                    f"dock at a station here, or come within {CARRY_RANGE:.0f} m of the "
                    f"captain's ship under {CARRY_MAX_SPEED:.0f} m/s (now {dist:.0f} m, "
                    f"{rel:.1f} m/s)",
                )
        taken = self.stations(ship)
        free = next((s for s in GUEST_STATIONS if s not in taken), PASSENGER)
        aboard = self.ships[ship].members if ship in self.ships else {}
        if len(aboard) >= len(CREW_STATIONS):  # as many humans as stations: no room
            raise ProtocolError(ErrorCode.NOT_AVAILABLE, "every berth aboard is taken")
        if own.docked_at is None:  # the own ship docks with the captain's: out of space
            self.roster.save(pilot)  # the record keeps its position and vitals
            parked = handle.zone.remove_ship(pilot.character.ship_id)
        self.invites[ship].discard(pilot.account_id)
        shared = self.ships.get(ship)
        if shared is None:
            shared = self.ships[ship] = SharedShip(ship, captain.account_id)
            shared.chat = self.bus.subscribe(
                account_subject(captain.account_id),
                functools.partial(self._forward_chat, shared),
            )
        berth = Berth(pilot.account_id, ship, free, parked)
        shared.members[pilot.account_id] = berth
        self.aboard[pilot.account_id] = berth
        self._register(shared, handle)
        self.bus.publish(account_subject(pilot.account_id), ViewShip(ship, captain.zone_key))
        self._say(
            shared,
            f"{pilot.name} came aboard as a passenger."
            if free == PASSENGER
            else f"{pilot.name} came aboard as {free}; the captain keeps the helm.",
        )
        self.broadcast(shared)

    def assign(self, captain: Pilot, ship: int, member: int, station: str) -> None:
        shared = self._own_ship(captain, ship)
        if shared is None or member not in shared.members:
            if member in self.agents.crews.members:
                raise ProtocolError(
                    ErrorCode.NOT_AVAILABLE, "clones keep the station they were hired for"
                )
            raise ProtocolError(ErrorCode.BAD_FIELD, f"{member} is not aboard your ship")
        berth = shared.members[member]
        holder = self.stations(ship).get(station)
        if holder is not None and holder != member:
            other = shared.members.get(holder)
            if other is None:
                raise ProtocolError(ErrorCode.NOT_AVAILABLE, f"a clone holds the {station}")
            other.station = berth.station  # two humans swap (a passenger's: no station)
        berth.station = station
        handle = self.roster.zones.get(shared.zone_key) if shared.zone_key else None
        if handle is not None:
            self._register(shared, handle)
        name = self.roster.pilots[member].name if member in self.roster.pilots else str(member)
        self._say(shared, f"{name} takes the {station}'s station.")
        self.broadcast(shared)

    async def leave(self, account: int, *, why: str, home: bool = False) -> None:
        """Return a member to their own ship (see the module docstring)."""
        berth = self.aboard.pop(account, None)
        if berth is None:
            return
        roster = self.roster
        shared = self.ships.get(berth.ship)
        if shared is not None:
            shared.members.pop(account, None)
        for h in roster.zones.values():
            h.zone.set_crew(account, None)
        pilot = roster.pilots.get(account)
        if shared is not None:
            name = pilot.name if pilot is not None else str(account)
            self._say(shared, f"{name} {why}.")
            if shared.members:
                handle = roster.zones.get(shared.zone_key) if shared.zone_key else None
                if handle is not None:
                    self._register(shared, handle)
                self.broadcast(shared)
            else:
                self._dissolve(shared)
        if pilot is None:
            return
        self.bus.publish(account_subject(account), ViewShip(pilot.character.ship_id, None))
        if berth.parked is not None:
            await self._unpark(pilot, berth.parked, berth.ship, home=home)
        self.bus.publish(
            account_subject(account), ViewShip(pilot.character.ship_id, pilot.zone_key)
        )
        self.notify(account, "aboard", ship=None, captain=None, members=[], station=None)

    async def _unpark(self, pilot: Pilot, parked: ShipState, ship: int, *, home: bool) -> None:
        roster = self.roster
        captain = self._captain(ship)
        handle = roster.zones.get(captain.zone_key) if captain and captain.zone_key else None
        if home or handle is None or not handle.zone.has_ship(ship):
            c = pilot.character
            handle = await roster.ensure_zone(c.home_x, c.home_y)
            state = msgspec.structs.replace(parked, docked_at=c.home_station, vx=0.0, vy=0.0)
        else:
            theirs = handle.zone.ship_state(ship)
            if theirs.docked_at is not None:
                state = msgspec.structs.replace(parked, docked_at=theirs.docked_at, vx=0.0, vy=0.0)
            else:
                state = msgspec.structs.replace(
                    parked,
                    x=theirs.x + BESIDE,
                    y=theirs.y + BESIDE,
                    vx=theirs.vx,
                    vy=theirs.vy,
                    angle=theirs.angle,
                    docked_at=None,
                )
        roster.place(pilot, handle, state)
        roster.save(pilot)

    def _dissolve(self, shared: SharedShip) -> None:
        self.ships.pop(shared.ship, None)
        if shared.chat is not None:
            shared.chat.unsubscribe()
            shared.chat = None
        for h in self.roster.zones.values():
            if h.zone.has_ship(shared.ship):
                h.zone.set_stations(shared.ship, None)
        self.notify(
            shared.captain, "aboard", ship=shared.ship, captain=None, members=[], station=None
        )

    # ------------------------------------------------------------------ the zone side
    def _register(self, shared: SharedShip, handle: ZoneHandle) -> None:
        zone: Zone = handle.zone
        if shared.zone_key is not None and shared.zone_key != handle.key:
            old = self.roster.zones.get(shared.zone_key)
            for account in shared.members:
                if old is not None:
                    old.zone.set_crew(account, None)
        for account in shared.members:
            zone.set_crew(account, shared.ship)
        zone.set_stations(shared.ship, tuple(sorted(self.stations(shared.ship).items())))
        shared.zone_key = handle.key

    def sync(self, tick: int) -> None:
        """Once per tick: stations follow the captain's ship (jumps, new clones); members
        whose captain or own character left the world are returned."""
        for shared in list(self.ships.values()):
            captain = self._captain(shared.ship)
            gone = [a for a in shared.members if a not in self.roster.pilots]
            if captain is None or captain.account_id != shared.captain:
                gone = list(shared.members)
            for account in gone:
                self.roster.spawn(
                    self.leave(account, why="was put ashore"), f"leave ship {account}"
                )
            if captain is None or captain.zone_key is None or not shared.members:
                continue
            handle = self.roster.zones.get(captain.zone_key)
            if handle is None or not handle.zone.has_ship(shared.ship):
                continue
            if shared.zone_key != handle.key or tick % 10 == 0:
                # (members' views follow a jump by themselves: they watch ship.<id>)
                self._register(shared, handle)

    def on_events(self, handle: ZoneHandle, events: list[ZoneEvent]) -> None:
        """Before the crews see a step's events: a destroyed shared ship's members return
        home, and with `clones_survive_death` its clones are set ashore alive."""
        for event in events:
            if not isinstance(event, Destroyed):
                continue
            if self.clones_survive_death:
                self._clones_escape(event.ship)
            shared = self.ships.get(event.ship)
            if shared is None:
                continue
            for account in list(shared.members):
                own = self.roster.pilots.get(account)
                if own is not None:  # stop following the wreck before its owner respawns
                    self.bus.publish(
                        account_subject(account), ViewShip(own.character.ship_id, None)
                    )
                self.notify(
                    account,
                    "event",
                    kind="destroyed",
                    ship=event.ship,
                    **killer_of(self.roster, event),
                    aboard=True,
                )
                self.roster.spawn(
                    self.leave(account, why="escaped as the ship blew up", home=True),
                    f"aboard lost {account}",
                )

    def _clones_escape(self, ship: int) -> None:
        crews = self.agents.crews
        runtime = self.agents
        tick = self.roster.tick
        for clone_id in list(crews.by_ship.get(ship, ())):
            member = crews.release(clone_id, ship)
            runtime.last.pop(clone_id, None)
            if clone_id not in runtime.pool:
                continue
            clone = runtime.pool.remove(clone_id)
            clone.memory.add(
                tick, "Our ship was destroyed; I escaped in a pod.", importance=8,
                event="escaped",
            )  # fmt: skip
            self.writer.submit(runtime.repo.put, clone, None)
            if member is not None:
                crews.say(member.captain, clone_id, f"{clone.name} escaped in a pod.", kind="death")

    # ------------------------------------------------------------------ chat and views
    def _forward_chat(self, shared: SharedShip, notice: Any) -> None:
        """The captain's ship chat reaches every human member too."""
        if not isinstance(notice, Notice) or notice.msg_type != "chat":
            return
        for account in list(shared.members):
            self.bus.publish(account_subject(account), notice)

    def _say(self, shared: SharedShip, text: str) -> None:
        self.notify(
            shared.captain, "chat", **{"from": "ship"}, clone=None, text=text, kind="aboard"
        )

    def chat(self, pilot: Pilot, crew: int, text: str) -> bool:
        """Ship chat on a shared ship (False: not a shared ship, the crew desk handles it)."""
        berth = self.aboard.get(pilot.account_id)
        ship = berth.ship if berth is not None else pilot.character.ship_id
        shared = self.ships.get(ship)
        if shared is None:
            return False
        crews = self.agents.crews
        clones = [c for c in crews.by_ship.get(ship, ()) if crew in (0, c)]
        if berth is None and clones:
            crews.chat(pilot, crew, text)  # the captain: the crew desk (forwarded to all)
            return True
        self.notify(
            shared.captain,
            "chat",
            **{"from": pilot.name},
            clone=None,
            text=text,
            kind="captain" if berth is None else "member",
        )
        pool = self.agents.pool
        for clone_id in clones:
            if clone_id in pool:  # a member is heard, but gives no orders
                crews.answer(clone_id, text, pilot, captain=shared.captain, orders=berth is None)
        return True

    def describe(self, ship: int) -> dict[str, Any]:
        """The `aboard` message: who is aboard and at which station."""
        roster = self.roster
        shared = self.ships.get(ship)
        captain = self._captain(ship)
        members = []
        if captain is not None:
            members.append(
                {"id": captain.account_id, "name": captain.name, "kind": "captain",
                 "station": None}
            )  # fmt: skip
        pool = self.agents.pool
        for station, clone_id in sorted(self._clones(ship).items()):
            members.append(
                {"id": str(clone_id), "name": pool.clone(clone_id).name, "kind": "clone",
                 "station": station}
            )  # fmt: skip
        if shared is not None:
            for berth in shared.members.values():
                p = roster.pilots.get(berth.account)
                members.append(
                    {"id": berth.account, "name": p.name if p else str(berth.account),
                     "kind": "human", "station": berth.station}
                )  # fmt: skip
        return {
            "ship": ship,
            "captain": captain.name if captain else None,
            "members": members,
        }

    def broadcast_ship(self, ship: int) -> None:
        """Tell everyone aboard `ship` who is aboard (if players share it)."""
        shared = self.ships.get(ship)
        if shared is not None:
            self.broadcast(shared)

    def broadcast(self, shared: SharedShip) -> None:
        info = self.describe(shared.ship)
        notify = self.notify
        notify(shared.captain, "aboard", **info, station=None)
        for berth in shared.members.values():
            notify(berth.account, "aboard", **info, station=berth.station)

    def status(
        self,
        zone: Zone,
        pilot: Pilot,
        own: ShipState,
        target: int,
        outlook: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The status a session sees: a member sees the captain's ship with their own
        credits and station. `outlook`: a recent status's fuel outlook to reuse
        (`status_message`)."""
        berth = self.aboard.get(pilot.account_id)
        captain = self._captain(berth.ship) if berth is not None else None
        if berth is None or captain is None:
            return status_message(self.roster, self.content, zone, pilot, own, target, outlook)
        status = status_message(self.roster, self.content, zone, captain, own, target, outlook)
        status["credits"] = pilot.credits
        status["station"] = berth.station
        return status
