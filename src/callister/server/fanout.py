"""Fan-out: what each socket watches, and the zone ticks turned into what it is sent.

A session watches one zone at a time: its ship's (followed across jumps, respawns and boarding
another's ship through the ship's and the account's bus subjects), or for a spectator the
camera's. Each zone tick (`zone.<key>.tick`) becomes, for the sockets watching that zone: the
events meant for their actors, effects near them, their ship status (5 Hz, only when changed)
and, at the snapshot rate, one binary snapshot each against the view they acknowledged (aoi.py)
plus the names of entities new to them. Distress calls go to every socket in the system.

It writes to sessions and nothing else: the gateway (server/gateway.py) owns the connections,
server/commands.py what messages mean.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from callister.moderation.feeds import DISTRESS, DistressCall
from callister.protocol.errors import ErrorCode
from callister.protocol.messages import encode_server, error_message
from callister.protocol.snapshot import encode_snapshot
from callister.server.aoi import SharedFrame, plan_views, share_frame, view_delta
from callister.server.bus import Bus, Subscription, tick_subject
from callister.server.commands import Camera, sector_str
from callister.server.gm import GM_FROZEN, GM_SHIP, ZoneFrozen
from callister.server.notices import Notice, account_subject
from callister.server.outcomes import Respawned
from callister.server.session import VIEW_HISTORY, Cork, Session, send_updates
from callister.server.settings import Settings
from callister.server.shipshare import ViewShip
from callister.server.status import FUEL_FIELDS, fx_for, zone_fx
from callister.server.views import ViewEngine
from callister.server.world import Pilot, ShipMoved, World, ZoneTick
from callister.sim import (
    Collided,
    Docked,
    JumpCancelled,
    JumpCharging,
    Refused,
    Undocked,
    ZoneFrame,
)
from callister.sim.entities import KIND_SHIP, KIND_WRECK
from callister.sim.marks import steady_marks

SYSTEM_CACHE = 256  # `system` messages kept encoded (the oldest goes first)
_TICK_MARK = "\x00tick\x00"  # where the tick goes in a cached `system` message
STATUS_EVERY = 4  # ticks between status messages (5 Hz at 20 Hz), sent only when changed
SLOW_STATUS_EVERY = 40  # ...but a change in fuel or energy alone waits 2 s (they creep)
_DRIFTING = frozenset(("fuel", "energy", "fuel_range_m"))
_FOREVER = 1 << 62  # a tick no zone reaches
_COMPACT = (",", ":")  # JSON separators, as encode_server's
_NO_IDS = np.zeros(0, np.uint64)
_NO_SLOTS = np.zeros(0, np.int64)


@dataclass
class _Roster:
    """A zone's sockets grouped the way its ticks read them, built once per change of who
    watches it (a crowded system has a thousand: sorting them every tick cost more than
    sending their updates' headers)."""

    status: list[list[Session]]  # by ship id % STATUS_EVERY: whose status is due this tick
    phases: list[_Phase]  # by phase_key % the snapshot period: whose update is due


class EdgeSink(Protocol):
    """Where the views of sockets held by a gateway that builds them itself go (a cluster's
    worker: cluster/edge.py). Their zone's frame is handed over once per tick per gateway."""

    def serves(self, session: Session) -> bool:
        """Whether the session's gateway builds its view (a v2 player's, no seer's)."""
        ...

    def frame(
        self, key: str, frame: ZoneFrame, due: list[Session], entry: Callable[[int], str]
    ) -> None:
        """The zone's frame for the due sessions; `entry(id)`: an entity's `ents` entry."""
        ...

    def drop(self, session: Session) -> None:
        """The session's view is no longer built there (it left the zone, turned seer...)."""
        ...

    def resync(self, session: Session) -> None:
        """The client asked for its whole view."""
        ...

    def changed(self, ship: int) -> None:
        """A ship's `ents` entry changed (moderator or game-master mark)."""
        ...


@dataclass
class _Phase:
    """The sockets of one snapshot phase: v1, v2 of the plain engine (with their ships' ids
    and view slots as arrays, for one vectorised lookup a tick), v2 seers, and v2 sockets
    whose gateway builds their views (`EdgeSink`)."""

    v1: list[Session]
    plain: list[Session]
    seers: list[Session]
    edge: list[Session] = field(default_factory=list)
    plain_ids: npt.NDArray[np.uint64] = field(default_factory=lambda: _NO_IDS)
    plain_slots: npt.NDArray[np.int64] = field(default_factory=lambda: _NO_SLOTS)

    def index(self) -> None:
        """The plain sockets' ship ids and slots (their views are centred on their ships)."""
        self.plain_ids = np.fromiter((s.ship_id for s in self.plain), np.uint64, len(self.plain))
        self.plain_slots = np.fromiter(
            (-1 if s.view_slot is None else s.view_slot for s in self.plain),
            np.int64,
            len(self.plain),
        )


class Fanout:
    """The sockets watching each zone of one world, and what each is sent."""

    def __init__(
        self,
        world: World,
        bus: Bus,
        settings: Settings,
        sessions: dict[int, Session],
        spectators: set[Session],
    ) -> None:
        self.world, self.bus, self.settings = world, bus, settings
        self.sessions = sessions  # the gateway's players, by account id (events' actors)
        self.spectators = spectators  # the gateway's spectators
        self.by_zone: dict[str, set[Session]] = {}
        self._zone_subs: dict[str, Subscription] = {}
        self.period = settings.tick_hz // settings.snapshot_hz
        self.cell = max(settings.aoi_radius / 2.0, 250.0)
        self.moderator_ships: set[int] = set()  # accounts flying a marked moderator ship
        self.engines: dict[str, ViewEngine] = {}  # zone key -> its v2 sockets' views
        # zone key -> the views of v2 sockets that see game masters' invisible ships (their
        # own ship, or staff spectating): one engine can only show one frame to all its slots
        self.seers: dict[str, ViewEngine] = {}
        self._systems: dict[str, tuple[Any, str, str]] = {}  # key -> (system, JSON halves)
        # zone key -> its sockets grouped (dropped when who watches it changes)
        self._rosters: dict[str, _Roster] = {}
        self._corks: dict[str, Cork] = {}  # zone key -> what its sockets hold during its tick
        self._ents: dict[int, str] = {}  # ship id -> its `ents` entry, for one zone tick
        self.edge: EdgeSink | None = None  # a cluster worker's gateways that build views
        # zones whose players' views their gateways build (crowded enough: `_edge_balance`),
        # and per zone how many of its sockets' gateways could build them
        self._edge_zones: set[str] = set()
        self._edge_capable: dict[str, int] = {}
        bus.subscribe(DISTRESS, self._on_distress)
        bus.subscribe(GM_FROZEN, self._on_frozen)
        bus.subscribe(GM_SHIP, self._on_gm_ship)

    def _engine(self) -> ViewEngine:
        return ViewEngine(self.settings.aoi_radius, tick_hz=self.settings.tick_hz)

    # ------------------------------------------------------------ what a session watches
    def attach(self, session: Session, pilot: Pilot) -> None:
        """A player's session follows its ship (jumps, respawns) and hears its account's
        notices (the gateway then puts it in the ship's zone, after the welcome)."""
        session.subscription = self.bus.subscribe(
            f"ship.{pilot.character.ship_id}", functools.partial(self._on_ship_moved, session)
        )
        session.account_sub = self.bus.subscribe(
            account_subject(session.account.id), functools.partial(self._on_notice, session)
        )

    def detach(self, session: Session) -> None:
        """The session watches nothing any more (its socket is closing)."""
        if session.subscription is not None:
            session.subscription.unsubscribe()
            session.subscription = None
        if session.account_sub is not None:
            session.account_sub.unsubscribe()
            session.account_sub = None
        self.leave_zone(session)

    def enter_zone(self, session: Session, key: str) -> None:
        """The session watches zone `key` from now (a fresh view: the zone's `system`
        message, then full snapshots)."""
        self.leave_zone(session)
        session.zone_key = key
        session.reset_view()
        session.introduced.clear()
        members = self.by_zone.setdefault(key, set())
        members.add(session)
        self._rosters.pop(key, None)
        cork = self._corks.get(key)
        if cork is not None:
            session.join_cork(cork)
        if self._edge_able(session):
            self._edge_capable[key] = self._edge_capable.get(key, 0) + 1
            self._edge_balance(key)
        if session.version == 2:  # a fresh slot: its first update is a RESYNC
            self._add_slot(session, key)
        if key not in self._zone_subs:
            self._zone_subs[key] = self.bus.subscribe(tick_subject(key), self._on_zone_tick)
        handle = self.world.zones.get(key)
        if handle is not None:
            session.send_json(self._system_message(handle.system, handle.zone.tick))
            if key in self.world.frozen:  # a frozen system: say so on entering it
                session.send_json(self._frozen_event(handle.sector, True))

    def _system_message(self, system: Any, tick: int) -> str:
        """The `system` message: the system and its gates encoded once per system (a crowd
        arriving together, or a busy jump gate, would encode the same tens of kilobytes for
        every ship), the tick spliced in."""
        cached = self._systems.get(system.key)
        if cached is None or cached[0] is not system:  # a changed system is a new object
            body = encode_server(
                "system",
                system=system.to_dict(),
                tick=_TICK_MARK,
                gates=[g.to_dict() for g in system.gates],
            )
            head, tail = body.split(json.dumps(_TICK_MARK), 1)
            cached = self._systems[system.key] = (system, head, tail)
            if len(self._systems) > SYSTEM_CACHE:
                self._systems.pop(next(iter(self._systems)))
        return f"{cached[1]}{int(tick)}{cached[2]}"

    def leave_zone(self, session: Session) -> None:
        """The session watches no zone (between systems, or gone)."""
        key = session.zone_key
        if key is None:
            return
        session.zone_key = None
        session.join_cork(None)
        self._drop_slot(session, key)
        members = self.by_zone.get(key)
        if members is not None:
            members.discard(session)
            self._rosters.pop(key, None)
            if self._edge_able(session):
                self._edge_capable[key] = self._edge_capable.get(key, 1) - 1
                self._edge_balance(key)
            if not members:
                del self.by_zone[key]
                self._corks.pop(key, None)
                sub = self._zone_subs.pop(key, None)
                if sub is not None:
                    sub.unsubscribe()

    def _on_notice(self, session: Session, notice: Any) -> None:
        if isinstance(notice, ViewShip):  # aboard another's ship, or back (shipshare.py)
            self._view_ship(session, notice)
            return
        assert isinstance(notice, Notice)
        session.send_json(encode_server(notice.msg_type, **notice.fields))

    def _view_ship(self, session: Session, view: ViewShip) -> None:
        """The session follows ship `view.ship` (snapshots centred on it, its status)."""
        if session.closed:
            return
        self._ride(session, view.ship)
        if view.zone_key is None:
            self.leave_zone(session)
        else:
            self.enter_zone(session, view.zone_key)
        session.send_json(encode_server("event", kind="view", ship=view.ship))

    def _ride(self, session: Session, ship: int) -> None:
        """The session's snapshots and status follow ship `ship` from now (no target yet)."""
        if session.subscription is not None:
            session.subscription.unsubscribe()
        session.ship_id = ship
        session.target = 0
        session.last_status = session.status_key = None
        if session.zone_key is not None:
            self._rosters.pop(session.zone_key, None)  # its status phase follows the ship id
        session.subscription = self.bus.subscribe(
            f"ship.{ship}", functools.partial(self._on_ship_moved, session)
        )

    def _on_ship_moved(self, session: Session, moved: Any) -> None:
        if isinstance(moved, Respawned):
            # the old ship is gone: follow the pilot into the new one
            self.leave_zone(session)
            self._ride(session, moved.new_ship)
            return
        assert isinstance(moved, ShipMoved)
        if moved.to_key is None:
            self.leave_zone(session)
            return
        self.enter_zone(session, moved.to_key)
        session.send_json(encode_server("event", kind="arrived", ship=moved.ship))

    # ---------------------------------------------------------- a spectator's camera
    def aim(self, session: Session, camera: Camera) -> None:
        """Point a spectator's camera where server/commands.py resolved it to (see
        SpectateMsg): onto an entity (followed across jumps), into a system, or at a point."""
        if camera.follow is not None:
            self._follow(session, camera.follow)
        if camera.at is not None:
            self._follow(session, 0)
            session.cam_x, session.cam_y = camera.at
        elif camera.key is not None and not camera.follow and camera.key != session.zone_key:
            session.cam_x = session.cam_y = 0.0  # a new system, nothing followed: its star
        if camera.key is not None and camera.key != session.zone_key:
            self.enter_zone(session, camera.key)
        self._tell_spectator(session)

    def _follow(self, session: Session, entity: int) -> None:
        """Follow `entity` (0: nobody). The ship's bus subject says where it jumps and which
        ship a destroyed pilot gets next, so the camera stays on the player."""
        if session.subscription is not None:
            session.subscription.unsubscribe()
            session.subscription = None
        session.follow = entity
        if entity:
            session.subscription = self.bus.subscribe(
                f"ship.{entity}", functools.partial(self._on_followed_moved, session)
            )

    def _on_followed_moved(self, session: Session, moved: Any) -> None:
        if session.closed:
            return
        if isinstance(moved, Respawned):
            self._follow(session, moved.new_ship)  # its ShipMoved brings the new zone
        elif isinstance(moved, ShipMoved) and moved.to_key is not None:
            if moved.to_key != session.zone_key:
                self.enter_zone(session, moved.to_key)
        else:
            return  # left the world: the camera stays where it last saw the ship
        self._tell_spectator(session)

    def _tell_spectator(self, session: Session) -> None:
        handle = self.world.zones.get(session.zone_key) if session.zone_key else None
        session.send_json(
            encode_server(
                "spectating",
                follow=session.follow or None,
                sector=sector_str(handle.sector) if handle is not None else None,
                at=[round(session.cam_x, 1), round(session.cam_y, 1)],
            )
        )

    def mark_moderator(self, pilot: Pilot, marked: bool) -> None:
        """Mark (or unmark) the pilot's ship as a moderator's: `ents` carry `mod: true`, and
        viewers who were already introduced to the ship hear of the change at once."""
        if marked:
            self.moderator_ships.add(pilot.account_id)
        else:
            self.moderator_ships.discard(pilot.account_id)
        ship = pilot.character.ship_id
        self._ents.pop(ship, None)  # its entry changed
        if self.edge is not None:
            self.edge.changed(ship)
        for member in self.by_zone.get(pilot.zone_key or "", ()):
            if ship in member.introduced:
                self._introduce(member, [ship])

    # ------------------------------------------------------------------ game masters
    @staticmethod
    def _frozen_event(sector: tuple[int, int], frozen: bool) -> str:
        return encode_server(
            "event", kind="frozen" if frozen else "unfrozen", sector=sector_str(sector)
        )

    def _on_frozen(self, msg: ZoneFrozen) -> None:
        """Everyone in a system a game master froze or unfroze hears it."""
        text = self._frozen_event(msg.sector, msg.frozen)
        for member in self.by_zone.get(msg.key, ()):
            member.send_json(text)

    def _on_gm_ship(self, ship: int) -> None:
        """A ship's game-master mode changed: everyone who knows it is told again (a marked
        ship's `ents` carry `gm: true`; an invisible one leaves others' views by itself)."""
        self._ents.pop(ship, None)  # its entry changed
        if self.edge is not None:
            self.edge.changed(ship)
        for key, members in self.by_zone.items():
            for member in members:
                if ship in member.introduced:
                    self._introduce(member, [ship])
                seer = self._sees_ghosts(member)
                if (
                    member.version == 2
                    and (member.view_slot is not None or member.edge)
                    and seer != member.view_seer
                ):
                    self._drop_slot(member, key)  # to the other engine: a RESYNC from it
                    self._add_slot(member, key)

    def _ghosts(self) -> list[int]:
        """Game masters' invisible ships in this world (server/gm.py)."""
        return [s for s, mode in self.world.gm_ships.items() if mode == "invisible"]

    def _sees_ghosts(self, session: Session) -> bool:
        """Whether game masters' invisible ships are in this socket's view: staff spectating,
        and whoever is aboard the invisible ship itself."""
        return session.spectator or self.world.gm_ships.get(session.ship_id) == "invisible"

    def _edge_able(self, session: Session) -> bool:
        """Whether the socket's gateway could build its view (a cluster's v2 player)."""
        return (
            self.edge is not None
            and session.version == 2
            and not session.spectator
            and self.edge.serves(session)
        )

    def _edge_balance(self, key: str) -> None:
        """Hand a zone's views to its players' gateways once it holds `edge_views_min_players`
        players whose gateways can build them, and take them back below half that (so a
        crowd at the line does not flap). A zone frame per tick per gateway pays off only
        when many views share it: a few players' views cost a gateway more than their worker
        (`bench cluster`: 200 players over 100 systems, gateways +94 %, workers -12 %). The
        players moved get a fresh view (their next update is a RESYNC)."""
        count = self._edge_capable.get(key, 0)
        if count <= 0:
            self._edge_capable.pop(key, None)
        least = self.settings.edge_views_min_players
        if key not in self._edge_zones and count >= least and count > 0:
            self._edge_zones.add(key)
        elif key in self._edge_zones and (count <= 0 or count < least // 2):
            self._edge_zones.discard(key)
        else:
            return
        for member in list(self.by_zone.get(key, ())):
            if member.version == 2 and (member.view_slot is not None or member.edge):
                self._drop_slot(member, key)
                self._add_slot(member, key)

    def _add_slot(self, session: Session, key: str) -> None:
        session.view_seer = self._sees_ghosts(session)
        if (
            not session.view_seer and key in self._edge_zones and self._edge_able(session)
        ):  # its gateway builds the view: the zone's frames go there (first: a RESYNC)
            session.edge = True
            self._rosters.pop(key, None)
            return
        engines = self.seers if session.view_seer else self.engines
        engine = engines.get(key)
        if engine is None:
            engine = engines[key] = self._engine()
        session.view_slot = engine.add_client()
        self._rosters.pop(key, None)

    def _drop_slot(self, session: Session, key: str) -> None:
        if session.edge:
            session.edge = False
            if self.edge is not None:
                self.edge.drop(session)
            self._rosters.pop(key, None)
            return
        engines = self.seers if session.view_seer else self.engines
        engine = engines.get(key)
        if engine is not None and session.view_slot is not None:
            engine.remove_client(session.view_slot)
            if not engine.clients:
                del engines[key]
        session.view_slot = None
        self._rosters.pop(key, None)

    def _without_ghosts(self, frame: ZoneFrame) -> ZoneFrame:
        """The frame without game masters' invisible ships (what every other v2 socket sees)."""
        ghosts = self._ghosts()
        if not ghosts:
            return frame
        keep = ~np.isin(frame.ids, np.array(ghosts, dtype=np.uint64))
        if keep.all():
            return frame
        return ZoneFrame(
            tick=frame.tick, ids=frame.ids[keep], owner=frame.owner[keep],
            kind=frame.kind[keep], hull=frame.hull[keep], x=frame.x[keep], y=frame.y[keep],
            vx=frame.vx[keep], vy=frame.vy[keep], angle=frame.angle[keep],
            flags=frame.flags[keep],
        )  # fmt: skip

    def _hide_ghosts(
        self,
        due: list[Session],
        shared: SharedFrame,
        views: list[tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]],
    ) -> list[tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]]:
        """Take game masters' invisible ships out of every player's view but their own (and
        their crew's: the same ship); spectating staff see them."""
        ghosts = self._ghosts()
        hidden = np.array(ghosts, dtype=np.uint64)
        if not len(hidden) or not np.isin(shared.ids, hidden).any():
            return views
        out = []
        for session, (rows, stale) in zip(due, views, strict=True):
            if session.spectator:  # staff watching see everything
                out.append((rows, stale))
                continue
            keep = ~np.isin(shared.ids[rows], hidden) | (shared.ids[rows] == session.ship_id)
            out.append((rows[keep], stale[keep]))
        return out

    def _on_distress(self, call: DistressCall) -> None:
        """Everyone in the system hears a distress call, with where to find the caller."""
        text = encode_server(
            "event",
            kind="distress",
            ship=call.ship,
            **{"from": call.caller},
            at=[round(call.x, 1), round(call.y, 1)],
        )
        for member in self.by_zone.get(call.zone, ()):
            member.send_json(text)

    # ------------------------------------------------------------------ snapshots out
    def _on_zone_tick(self, msg: Any) -> None:
        assert isinstance(msg, ZoneTick)
        members = self.by_zone.get(msg.key)
        if not members:
            return
        self._ents.clear()  # names and marks may have changed since the last tick
        cork = self._corks.get(msg.key)
        if cork is None:  # (a zone's sockets join its cork as they enter it)
            cork = self._corks[msg.key] = Cork()
            for session in members:
                session.join_cork(cork)
        cork.hold()  # everything this tick sends a socket goes out in one write
        try:
            phase = self._fan_out(msg, members)
        finally:
            cork.release()
        if phase.edge and self.edge is not None:
            # after the cork: a socket's statuses, effects and events of the tick go first
            due = [s for s in phase.edge if not s.closed]
            if due:
                key = msg.key
                self.edge.frame(
                    key, self._without_ghosts(msg.frame), due, lambda i: self._entry(key, i)
                )

    def _roster(self, key: str, members: set[Session]) -> _Roster:
        roster = self._rosters.get(key)
        if roster is None:
            status: list[list[Session]] = [[] for _ in range(STATUS_EVERY)]
            phases = [_Phase([], [], []) for _ in range(self.period)]
            for s in members:
                status[s.ship_id % STATUS_EVERY].append(s)
                p = phases[s.phase_key % self.period]
                group = (
                    p.v1
                    if s.version != 2
                    else p.edge
                    if s.edge
                    else p.seers
                    if s.view_seer
                    else p.plain
                )
                group.append(s)
            for p in phases:
                p.index()
            roster = self._rosters[key] = _Roster(status, phases)
        return roster

    def _fan_out(self, msg: ZoneTick, members: set[Session]) -> _Phase:
        for event in msg.events:
            self._route_event(event)
        roster = self._roster(msg.key, members)
        handle = self.world.zones.get(msg.key)
        if handle is not None:
            if msg.events:
                fx = zone_fx(msg.events)
                if fx:
                    self._effects(handle.zone, members, fx)
            # statuses are staggered by ship id, so a full system's spread over the ticks
            self._statuses(msg, handle.zone, roster.status[-msg.cadence % STATUS_EVERY])
        # a frozen zone's snapshots keep the beat
        phase = roster.phases[msg.cadence % self.period]
        if phase.v1 and len(msg.frame.ids):
            self._snapshots(msg, [s for s in phase.v1 if not s.closed])
        engine = self.engines.get(msg.key)
        if engine is not None:  # every tick, due clients or not: rates are measured per call
            self._plain_updates(engine, phase, self._without_ghosts(msg.frame))
        seeing = self.seers.get(msg.key)
        if seeing is not None:
            self._updates(msg, seeing, [s for s in phase.seers if not s.closed], msg.frame)
        return phase

    def _centres(
        self, frame: ZoneFrame, candidates: list[Session], x: Any, y: Any
    ) -> tuple[list[Session], npt.NDArray[np.intp], npt.NDArray[np.float64], Any]:
        """The candidates whose view centre is in the frame (a spectator's always is: its
        camera), their centres' rows, and their centres (x, y metres, a 2 x n array)."""
        ids = frame.ids
        if len(ids) == 0:
            spectators = [s for s in candidates if s.spectator]
            cams = np.array([[s.cam_x for s in spectators], [s.cam_y for s in spectators]])
            return spectators, np.zeros(0, np.intp), cams.reshape(2, -1), None
        # one vectorised lookup of every due viewer's centre row in the frame: its own ship, or
        # for a spectator the entity it follows
        wanted = np.fromiter(
            (s.centre_id for s in candidates), dtype=np.uint64, count=len(candidates)
        )
        rows_of = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
        found = ids[rows_of] == wanted
        keep = found
        if self.spectators:  # a spectator is served even when its target is out of the frame
            watching = np.fromiter((s.spectator for s in candidates), dtype=bool)
            keep = found | watching
        due = [s for s, ok in zip(candidates, keep.tolist(), strict=True) if ok]
        own = rows_of[keep]
        centres = np.array([np.asarray(x)[own], np.asarray(y)[own]], dtype=np.float64)
        if keep is not found:
            hit = found[keep]
            for i, session in enumerate(due):
                if not session.spectator:
                    continue
                if hit[i]:  # remember where the target was: the camera stays if it leaves
                    session.cam_x, session.cam_y = float(centres[0, i]), float(centres[1, i])
                else:
                    centres[0, i], centres[1, i] = session.cam_x, session.cam_y
        return due, own, centres, keep

    def _snapshots(self, msg: ZoneTick, candidates: list[Session]) -> None:
        """Protocol v1: each due socket's snapshot against the view it acknowledged."""
        shared = share_frame(msg.frame, self.cell)
        due, _, centres, _ = self._centres(msg.frame, candidates, shared.x, shared.y)
        if not due:
            return
        views = plan_views(
            shared,
            centres[0],
            centres[1],
            self.settings.aoi_radius,
            self.settings.aoi_near_radius,
            msg.cadence // self.period,
            self.settings.aoi_far_every,
        )
        if self.world.gm_ships:
            views = self._hide_ghosts(due, shared, views)
        for session, (rows, stale) in zip(due, views, strict=True):
            self._snapshot(session, shared, rows, stale)

    def _updates(
        self, msg: ZoneTick, engine: ViewEngine, candidates: list[Session], frame: ZoneFrame
    ) -> None:
        """Protocol v2: every due socket's update frame from the zone's view engine in one
        call (each entity encoded once, every view in one compiled pass); a frame that
        cannot be written now (a backed-up socket) makes that socket's next frame a RESYNC."""
        due: list[Session] = []
        centres = np.zeros((2, 0))
        if candidates:
            due, _, centres, _ = self._centres(frame, candidates, frame.x, frame.y)
        slots = [s.view_slot if s.view_slot is not None else -1 for s in due]
        batch = engine.update_frame(frame, slots, centres[0], centres[1])
        self._send_updates(engine, batch, due, slots)

    def _plain_updates(self, engine: ViewEngine, phase: _Phase, frame: ZoneFrame) -> None:
        """`_updates` for the players of the plain engine, from the phase's id and slot
        arrays: each view is centred on the player's own ship, found by one vectorised
        lookup (a socket closed since the roster was built fails its write and resyncs)."""
        ids, wanted = frame.ids, phase.plain_ids
        if not len(ids) or not len(wanted):
            engine.update_frame(frame, [], np.zeros(0), np.zeros(0))
            return
        rows = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
        found = ids[rows] == wanted
        if found.all():
            due, slots = phase.plain, phase.plain_slots
        else:  # between systems, or destroyed: no view this tick
            due = [s for s, ok in zip(phase.plain, found.tolist(), strict=True) if ok]
            slots, rows = phase.plain_slots[found], rows[found]
        x = np.asarray(frame.x, dtype=np.float64)[rows]
        y = np.asarray(frame.y, dtype=np.float64)[rows]
        self._send_updates(engine, engine.update_frame(frame, slots, x, y), due, slots)

    def _send_updates(self, engine: ViewEngine, batch: Any, due: list[Session], slots: Any) -> None:
        """Each due socket's introductions, then its frame of `batch`, in one write."""
        if not due:
            return
        # plain lists and one memoryview: the loop below runs once per socket per tick
        # introductions first (held by the cork), then every update, each with what its
        # socket's tick held: a socket still gets its frames in order
        fresh_starts, fresh_ends = batch.fresh_starts, batch.fresh_ends
        for i in np.flatnonzero(fresh_ends > fresh_starts).tolist():
            fresh = batch.fresh_ids[fresh_starts[i] : fresh_ends[i]].tolist()
            session = due[i]
            new_ids = [e for e in fresh if e not in session.introduced]
            if new_ids:
                self._introduce(session, new_ids)
        data = memoryview(batch.data)
        for i in send_updates(due, data, batch.starts.tolist(), batch.ends.tolist()):
            engine.resync(int(slots[i]))

    def resync(self, session: Session) -> None:
        """A v2 client asked for its whole view: its next update is a RESYNC."""
        if session.edge and self.edge is not None:
            self.edge.resync(session)  # its gateway builds its view
            return
        engines = self.seers if session.view_seer else self.engines
        engine = engines.get(session.zone_key) if session.zone_key else None
        if engine is not None and session.view_slot is not None:
            engine.resync(session.view_slot)

    def _snapshot(
        self,
        session: Session,
        shared: SharedFrame,
        rows: npt.NDArray[np.intp],
        stale: npt.NDArray[np.bool_],
    ) -> None:
        base = session.views.get(session.acked) if session.acked else None
        session.seq += 1
        seq = session.seq
        records, changed, removed, fresh = view_delta(shared, rows, stale, base)
        base_seq = session.acked if base is not None else 0
        if len(fresh):
            new_ids = [i for i in fresh.tolist() if i not in session.introduced]
            if new_ids:
                self._introduce(session, new_ids)
        session.views[seq] = records
        session.views.pop(seq - VIEW_HISTORY, None)  # seqs only grow: drop the one fallen out
        session.send_snapshot(encode_snapshot(shared.tick, seq, base_seq, changed, removed))

    def _effects(self, zone: Any, members: set[Session], fx: list[dict[str, Any]]) -> None:
        """The tick's effects near each viewer (its ship, or a spectator's camera)."""
        radius = self.settings.aoi_radius
        ghosts = set(self._ghosts())
        for session in members:
            if session.closed:
                continue
            if session.spectator:
                near = fx_for(fx, session.cam_x, session.cam_y, radius)
            elif session.pilot is not None and zone.has_ship(session.ship_id):
                own = zone.ship_state(session.ship_id)
                near = fx_for(fx, own.x, own.y, radius)
                if near and ghosts:  # a game master's invisible ship: its beams and hits too
                    near = [f for f in near if f["ship"] not in ghosts or f["ship"] == own.id]
            else:
                continue
            if near:
                session.send_json(encode_server("fx", fx=near))

    def _statuses(self, msg: ZoneTick, zone: Any, due: list[Session]) -> None:
        """The status of each due player whose ship's status changed (only what changed).

        A status is built only where something it shows may have moved: the ship's steady
        status mark (sim/marks.py, one vectorised pass for every due ship), credits, hold,
        hull, objective and system are compared first; a locked target (its distance moves),
        a fuel outlook due again, a berth aboard another's ship, a stranded pilot's ways out,
        or a change held back (fuel and energy creep: SLOW_STATUS_EVERY) always build it.
        Fuel and energy alone moving (a ship that just flies: most of a crowd, at every
        status turn) builds nothing until the last status is SLOW_STATUS_EVERY old: `_status`
        would hold such a change back until then anyway. Fuel gained (refuelled) builds at
        once: its warning and ways out go at once."""
        players = [s for s in due if not s.spectator and not s.closed and s.pilot is not None]
        if not players:
            return
        tick = msg.tick
        marks, drifts = steady_marks(zone.store, [s.ship_id for s in players], tick)
        aboard = self.world.shipshare.aboard
        objectives = self.world.missions.objectives()
        for session, mark, drift in zip(players, marks, drifts, strict=True):
            if not mark:  # the zone does not hold the ship (between systems)
                continue
            pilot = session.pilot
            assert pilot is not None
            key = (
                mark,
                session.target,  # (its clearing too must reach the client)
                msg.key,
                pilot.credits,
                pilot.character.hull,
                objectives.get(pilot.account_id),
            )
            last_drift = session.status_drift
            if (
                key == session.status_key
                and last_drift is not None
                and session.last_status is not None  # (reset: a full status is due)
                and not session.target
                and tick - session.outlook_tick < SLOW_STATUS_EVERY
                and pilot.cargo == session.status_cargo
                and pilot.account_id not in aboard
                and (
                    (drift == last_drift and tick < session.status_until)
                    or (  # only fuel and energy crept, and fuel did not rise
                        tick - session.last_status_tick < SLOW_STATUS_EVERY
                        and drift[1] <= last_drift[1]
                    )
                )
            ):
                continue  # the status it would build is the one the client has, or held back
            until = self._status(msg, zone, session, pilot)
            # a stranded pilot's ways out are re-planned every time
            last = session.last_status or {}
            session.status_key = key if until and last.get("ways_out") is None else None
            session.status_until = until or 0
            session.status_cargo = dict(pilot.cargo)
            session.status_drift = drift

    def _status(self, msg: ZoneTick, zone: Any, session: Session, pilot: Pilot) -> int | None:
        """Build the session's status and send it, or what changed of it. Until which tick a
        status built from the same inputs would send nothing: forever when the client now
        has this very status, the end of the wait when a creeping change (fuel, energy) is
        held back; None when that cannot be said."""
        tick = msg.tick
        own = zone.ship_state(session.ship_id)
        # the fuel outlook creeps as fuel burns: recomputed every SLOW_STATUS_EVERY ticks,
        # and at once when the ship docks, undocks, enters another system or gains fuel
        # (refuelled: its warning and ways out go at once)
        place = (msg.key, own.docked_at)
        fuel = own.fuel or 0.0
        reuse = session.outlook is not None and (
            tick - session.outlook_tick < SLOW_STATUS_EVERY
            and session.outlook_place == place
            and fuel <= session.outlook_fuel
        )
        status = self.world.shipshare.status(
            zone, pilot, own, session.target, session.outlook if reuse else None
        )
        if not reuse:
            session.outlook = {k: status[k] for k in FUEL_FIELDS}
            session.outlook_tick, session.outlook_place = tick, place
            session.outlook_fuel = fuel
        # the HUD's objective and, when dry or stranded, the ways out (issue 16)
        status.update(self.world.missions.status_fields(pilot, status))
        last = session.last_status
        if status == last:  # the common case, one compiled comparison
            return _FOREVER
        if last is None:
            session.last_status, session.last_status_tick = status, tick
            session.send_json(encode_server("status", **status))
            return _FOREVER
        changed = {k: v for k, v in status.items() if last.get(k) != v}
        if not changed:
            return None
        if tick - session.last_status_tick >= SLOW_STATUS_EVERY or not changed.keys() <= _DRIFTING:
            # only what changed; the client merges it into the last status
            session.last_status, session.last_status_tick = status, tick
            session.send_json(encode_server("status", delta=True, **changed))
            return _FOREVER
        return session.last_status_tick + SLOW_STATUS_EVERY  # held back until then

    def _introduce(self, session: Session, ship_ids: list[int]) -> None:
        """Tell the session the names of entities new to it (an `ents` message). In a crowd
        the same ship is new to dozens of viewers in one tick: its entry is built and encoded
        once per zone tick (`_ents`)."""
        entries = []
        key = session.zone_key or ""
        for ship_id in ship_ids:
            entry = self._entry(key, ship_id)
            if entry:  # (projectiles and missiles need no introduction)
                session.introduced.add(ship_id)
                entries.append(entry)
        if entries:
            session.send_json(f'{{"t":"ents","ents":[{",".join(entries)}]}}')

    def _entry(self, key: str, ship_id: int) -> str:
        """An entity's `ents` entry as JSON ("" for what needs no introduction), built once
        per zone tick (`_ents`)."""
        entry = self._ents.get(ship_id)
        if entry is None:
            handle = self.world.zones.get(key) if key else None
            ent = self._ent(handle.zone if handle is not None else None, ship_id)
            entry = self._ents[ship_id] = (
                "" if ent is None else json.dumps(ent, separators=_COMPACT)
            )
        return entry

    def _ent(self, zone: Any, ship_id: int) -> dict[str, Any] | None:
        """A ship's or wreck's `ents` entry (None for what needs no introduction)."""
        kind = zone.entity_kind(ship_id) if zone is not None else KIND_SHIP
        if kind == KIND_WRECK:
            return {"id": ship_id, "kind": "wreck", "name": "Wreck", "hull": ""}
        if kind != KIND_SHIP:
            return None
        owner = self.world.ship_owner.get(ship_id)
        pilot = self.world.pilots.get(owner) if owner is not None else None
        ent: dict[str, Any] = {
            "id": ship_id,
            "kind": "ship",
            "name": pilot.name
            if pilot
            else self.world.agents.ship_name(ship_id) or f"ship-{ship_id}",
            "hull": pilot.character.hull if pilot else "",
        }
        if owner in self.moderator_ships and pilot and pilot.character.ship_id == ship_id:
            ent["mod"] = True  # a moderator's ship: clients tag it "MOD"
        gm_mode = self.world.gm_ships.get(ship_id)
        if gm_mode is not None:  # a game master's: clients tag it "GM" (only its own
            ent["gm"] = True  # pilot ever sees an invisible one)
            if gm_mode == "invisible":
                ent["invisible"] = True
        return ent

    def _route_event(self, event: Any) -> None:
        if isinstance(event, Refused):
            if event.action == "input" and event.code == ErrorCode.UNKNOWN_SHIP:
                # held controls that reached the zone just as the ship left it (a jump landed,
                # the ship was destroyed): nothing the player can act on; the client sends
                # its held controls again, and they reach the ship where it is now
                return
            target = self.sessions.get(event.actor)
            if target is not None:
                target.send_json(error_message(event.code, event.reason, ref=event.action))
            return
        owner = self.world.ship_owner.get(getattr(event, "ship", 0))
        target = self.sessions.get(owner) if owner is not None else None
        if target is None:
            return
        # the event's own fields, after the kind and the ship every event message has
        fields: dict[str, Any]
        if isinstance(event, Docked | Undocked):
            kind = "docked" if isinstance(event, Docked) else "undocked"
            fields = {"station": event.station}
        elif isinstance(event, JumpCharging):
            kind = "jump_charging"
            fields = {"to": sector_str((event.to_x, event.to_y)), "ticks": event.ticks}
        elif isinstance(event, JumpCancelled):
            kind, fields = "jump_cancelled", {}
        elif isinstance(event, Collided):
            kind = "collided"
            fields = {"what": event.what, "speed": round(float(event.speed), 1)}
        else:
            return
        target.send_json(encode_server("event", kind=kind, ship=event.ship, **fields))
