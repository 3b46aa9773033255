"""The mission desk: the guided start, the mission boards, contracts, reputation and the ways
out of an empty tank, for the players of one world (issue 16; docs/missions.md).

The rules are the pure `callister.missions` package; this module feeds it and makes its
results so:

- **Progress** per character (tutorial, mission log, reputation) is loaded when the player
  enters (a character without one starts the tutorial), kept in memory while they play, and
  saved (`store.missions`) after every change, once the ledger requests the change carries
  are committed. The requests are idempotent under their keys, so a crash between the two
  replays a payment, never doubles it.
- **Facts** come from the zone's events (docked, undocked, mined, out of fuel, crimes, kills,
  losses: `on_events`), from the world (a jump's arrival: `arrived`), from the station desk (a
  committed trade: `traded`), and from a one-second loop (positions while the tutorial's
  marker is being flown to, distances to ships a contract watches, deadlines).
- **Requests** from the client (`missions`, `accept`, `abandon`, `tutorial`, `rescue`,
  `recall`, `ration`; docs/protocol.md, "Missions") are answered here.
- **Ledger requests** (`missions.LedgerRequest`) are committed as one ledger transaction each
  on the writer thread; their fuel changes and relocations are then applied to the zones.
- **Rescue.** A stranded pilot takes an offer (fuel or a tow): their share goes into escrow and
  a rescue contract is posted to everyone in the system (a `rescue_call`) and on the boards
  in reach. A player (or a clone: `open_rescues`) who takes it and reaches the ship is paid
  through the contract. If nobody has come when the station's tug would arrive, the
  station's tug service does it for the same fee (fuel, or a tow into dock), so a call is
  always answered.

Everything here runs on the event loop; each pilot's changes are serialised by a lock so
facts apply in the order they happened.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import callister.missions.progress as prog
import callister.missions.rescue as rx
from callister.content import Content
from callister.economy import Economy, StationRef, pricing
from callister.economy.accounts import player_account, ship_holder
from callister.economy.vitals import with_extra
from callister.missions import rules
from callister.missions.board import Market, Sighting, bucket_of, draw_board
from callister.missions.board import World as BoardWorld
from callister.missions.contracts import Contract, Giver
from callister.missions.errors import MissionDataError, MissionError
from callister.missions.facts import (
    Arrived,
    Fact,
    Near,
    Position,
    Traded,
    Victim,
    WatchedLost,
    from_zone_event,
)
from callister.missions.facts import Pilot as MPilot
from callister.missions.ledger import MISSIONS, SERVICES, FuelChange, LedgerRequest, Relocate, pay
from callister.missions.reputation import terms
from callister.missions.services import with_baseline
from callister.missions.travel import Place, flight_seconds
from callister.missions.tutorial import plan_tutorial
from callister.protocol.errors import ErrorCode, ProtocolError
from callister.server.metrics import Metrics
from callister.server.npcs import AgentRuntime
from callister.server.ports import Notify, Pilot, Roster, ZoneHandle
from callister.server.tasks import single_flight
from callister.server.universe_cache import UniverseCache
from callister.server.writer import StoreWriter
from callister.sim import (
    CrimeCommitted,
    Destroyed,
    Docked,
    FuelEmpty,
    Mined,
    ShipState,
    Undocked,
    ZoneEvent,
)
from callister.store import InsufficientFunds, InsufficientItems, ItemMove, Posting, Store
from callister.universe import StarSystem

log = logging.getLogger(__name__)

Sector = tuple[int, int]
FACT_EVENTS = (Docked, Undocked, Mined, FuelEmpty, CrimeCommitted, Destroyed)
"""The zone events that can be facts for a pilot (the rest are skipped cheaply)."""
LOOP_S = 1.0
"""How often positions and watched ships are reported, and rescues checked."""
ROUND_SLICES = 10
"""The round's players are watched in this many slices spread over LOOP_S."""
EXPIRE_EVERY = 5
"""Deadlines are checked every this many loop rounds."""
TUG_MIN_S = 20
"""A station's tug never arrives sooner than this after a call is taken: players and clones
nearby get the first chance to answer (and the pay)."""
TUG_MAX_S = 90
"""...nor later than this: a stranded pilot is never left waiting for long."""
TUG_WAIT_FOR_ANSWER_S = 120
"""Once someone has taken the rescue contract, the tug waits this long for them."""


FUEL_TEXT = {
    "ok": "",
    "low": "Fuel low: this is the last of the reserve. Refuel at the station marked",
    "stranded": "Past the point of no return: no station that sells fuel is in reach. Call "
    "for help (a tow or fuel) or recall home",
}
"""What `status.fuel_warning` means, for the HUD."""


@dataclass(slots=True)
class Rescue:
    """An open rescue call: the contract posted, who is stranded, when the station's tug
    comes (`due_at`), and who has taken the contract (accounts)."""

    contract: Contract
    account: int
    ship: int
    sector: Sector
    kind: str
    fuel: float
    to: tuple[Sector, int]
    due_at: float
    taken_by: set[int] = dataclasses.field(default_factory=set)


class MissionDesk:
    """The missions of one world's players (see the module docstring). Loop-only."""

    def __init__(
        self,
        roster: Roster,
        *,
        world_name: str,
        seed: int,
        content: Content,
        writer: StoreWriter,
        store: Store,
        economy: Economy,
        universe: UniverseCache,
        agents: AgentRuntime,
        metrics: Metrics,
        notify: Notify,
    ) -> None:
        self.roster = roster
        self.world_name, self.seed, self.content = world_name, seed, content
        self.writer, self.store, self.economy = writer, store, economy
        self.universe, self.agents, self.metrics, self.notify = universe, agents, metrics, notify
        self.lawful = prog.lawful_of(content)
        self.progress: dict[int, prog.Progress] = {}
        self.hud: dict[int, dict[str, Any] | None] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._leaving: set[int] = set()  # accounts whose ship goes to another worker (`settle`)
        self._snapshots: dict[tuple[Sector, int], BoardWorld] = {}
        self._snapshot_loading: dict[tuple[Sector, int], asyncio.Future[BoardWorld]] = {}
        self.rescues: dict[str, Rescue] = {}
        self._rounds = 0
        self._slices = 0
        self.base_prices = {k: i.base_price for k, i in economy.catalog.items.items()}

    # ------------------------------------------------------------------ systems
    def served(self, system: StarSystem) -> StarSystem:
        """The system as this server runs it: the services baseline on its lawful hub and on
        the home stations in it (docs/missions.md, "Stations: the baseline")."""
        homes = [s for x, y, s in self.roster.homes if (x, y) == system.sector]
        return with_baseline(system, self.lawful, homes)

    def start(self) -> None:
        self.roster.spawn(self._loop(), "missions")

    # ------------------------------------------------------------------ entering
    async def entered(self, pilot: Pilot) -> None:
        """Load (or begin) the pilot's progress, fail what expired while they were away,
        and send the HUD's whole list (`objectives`)."""
        account = pilot.account_id
        async with self._lock(account):
            progress = await self._load(pilot)
            out = prog.expire(progress, self._pilot(pilot), _now())
            await self._apply(pilot, progress, out)
        self._send(account, prog.objectives(self.progress[account], _now()))

    async def settle(self, account: int) -> None:
        """The pilot is leaving for another cluster worker, which loads their progress from
        the store: return once every change begun so far is saved (they queue on the
        account's lock, first come first served); one begun from now until `left` is refused
        (the ship is between systems), so nothing saves over what the next worker loads."""
        self._leaving.add(account)
        lock = self._locks.get(account)
        if lock is not None and lock.locked():
            async with lock:
                pass

    def left(self, account: int) -> None:
        """The pilot left the world: forget the in-memory copy (it is saved)."""
        self.progress.pop(account, None)
        self.hud.pop(account, None)
        self._locks.pop(account, None)
        self._leaving.discard(account)

    async def _load(self, pilot: Pilot) -> prog.Progress:
        account = pilot.account_id
        have = self.progress.get(account)
        if have is not None:
            return have
        doc = await self.writer.call(self.store.missions.get, account, self.world_name)
        if doc is not None:
            try:
                progress = prog.Progress.from_dict(doc)
            except MissionDataError:  # never dropped: the player keeps it when it is fixed
                log.exception("unreadable mission progress", extra={"account": account})
                raise
        else:
            progress = prog.begin(await self._plan(pilot), _now())
            await self.writer.call(
                self.store.missions.save, account, self.world_name, _doc(progress)
            )
        self.progress[account] = progress
        self.hud[account] = _hud(progress)
        return progress

    async def _plan(self, pilot: Pilot) -> Any:
        c = pilot.character
        home = await self.universe.get(c.home_x, c.home_y)
        if home is None or not 0 <= c.home_station < len(home.stations):
            return None
        neighbours = {}
        for link in home.links:
            other = await self.universe.get(*link)
            if other is not None:
                neighbours[link] = other
        hull = self.content.hulls.get(c.hull, self.content.starter_hull)
        return plan_tutorial(self.served(home), c.home_station, hull, neighbours)

    # ------------------------------------------------------------------ facts
    def on_events(self, handle: ZoneHandle, events: list[ZoneEvent]) -> None:
        """A zone step's events: the facts they are for the pilots with progress (called by
        the world after each step, on the loop)."""
        world = self.roster
        for event in events:
            if not isinstance(event, FACT_EVENTS):
                continue
            ships = [event.ship]
            if isinstance(event, Destroyed):
                ships.append(event.by)
                self._watched_lost(event)
            for ship in ships:
                owner = world.ship_owner.get(ship)
                pilot = world.pilots.get(owner) if owner is not None else None
                if pilot is None:  # an NPC's ship (a fact before the progress loaded waits for it)
                    continue
                fact = from_zone_event(handle.system, event, ship, self._victims(event))
                if fact is not None:
                    self._observe_later(pilot, fact)

    def _victims(self, event: ZoneEvent) -> dict[int, Victim]:
        if not isinstance(event, Destroyed):
            return {}
        npc = self.agents.npcs.get(event.ship)
        if npc is None:
            return {}
        role = str(npc.goal.value)
        return {event.ship: Victim(npc.clone_id, role, "", role == "pirate")}

    def _watched_lost(self, event: Destroyed) -> None:
        for account, progress in list(self.progress.items()):
            pilot = self.roster.pilots.get(account)
            if pilot is None or pilot.character.ship_id == event.by:
                continue
            if event.ship in prog.watch(progress).ships:
                self._observe_later(pilot, WatchedLost(event.ship))

    def arrived(self, pilot: Pilot, origin: Sector, sector: Sector) -> None:
        """A jump placed the pilot's ship in `sector`."""
        if origin != sector:
            self._observe_later(pilot, Arrived(sector, origin))

    def traded(self, pilot: Pilot, station: StationRef, detail: dict[str, Any]) -> None:
        """A trade was committed (the station desk's receipt detail)."""
        side = detail.get("side")
        if side not in ("buy", "sell"):
            return
        fact = Traded(
            (station.x, station.y),
            station.index,
            str(detail.get("item", "")),
            "buy" if side == "buy" else "sell",
            int(detail.get("qty", 0)),
            int(detail.get("total", 0)),
        )
        self._observe_later(pilot, fact)

    def _observe_later(self, pilot: Pilot, fact: Fact) -> None:
        """Apply `fact` under the pilot's lock, unless the rules say now that it changes
        nothing (a position short of the marker, a watched ship still far: most facts, once a
        second for every pilot): no task, lock or save for those. A change that lands
        meanwhile is seen by the next round's fact."""
        progress = self.progress.get(pilot.account_id)
        if progress is not None:
            try:
                out = prog.observe(progress, fact, self._pilot(pilot), _now(), self.lawful)
            except (MissionError, ProtocolError):
                return
            if out.progress == progress and not out.requests and not out.messages:
                return
        self.roster.spawn(self._observe(pilot, fact), f"mission fact {pilot.account_id}")

    async def _observe(self, pilot: Pilot, fact: Fact) -> None:
        try:
            await self._change(pilot, lambda p, mp: prog.observe(p, fact, mp, _now(), self.lawful))
        except (MissionError, ProtocolError):
            pass
        except Exception:
            log.exception("mission fact failed", extra={"account": pilot.account_id})

    # ------------------------------------------------------------------ the loop
    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(LOOP_S / ROUND_SLICES)
            try:
                self._round_slice()
            except Exception:
                log.exception("mission loop failed")

    def _round_slice(self) -> None:
        """One slice of the once-a-LOOP_S round: the players whose account id falls in it
        (a crowd's thousand in one go held the tick loop up for tens of milliseconds once a
        second, and a late tick is a late update for everyone)."""
        part = self._slices % ROUND_SLICES
        self._slices += 1
        if part == 0:
            self._rounds += 1
        world = self.roster
        now = _now()
        for account, progress in list(self.progress.items()):
            if account % ROUND_SLICES != part:
                continue
            pilot = world.pilots.get(account)
            if pilot is None or pilot.dead:
                continue
            watch = prog.watch(progress)
            state = world.ship_state(pilot)
            sector = (pilot.character.system_x, pilot.character.system_y)
            if watch.positions and state is not None:
                speed = math.hypot(state.vx, state.vy)
                self._observe_later(pilot, Position(sector, state.x, state.y, speed))
            for ship in watch.ships:
                self._observe_later(pilot, self._near(pilot, ship))
            if self._rounds % EXPIRE_EVERY == 0 and progress.missions.active:
                self.roster.spawn(self._expire(pilot), f"mission expiry {account}")
        for rescue_call in list(self.rescues.values()) if part == 0 else ():
            if rescue_call.due_at <= now:
                self.roster.spawn(self._tug(rescue_call), f"tug {rescue_call.contract.id}")

    def _near(self, pilot: Pilot, ship: int) -> Near:
        """Where watched `ship` is from the pilot's ship (infinitely far in another system)."""
        world = self.roster
        own = world.ship_state(pilot)
        handle = world.zones.get(pilot.zone_key) if pilot.zone_key else None
        sector = (pilot.character.system_x, pilot.character.system_y)
        if own is None or handle is None or not handle.zone.has_ship(ship):
            return Near(ship, sector, math.inf)
        other = handle.zone.ship_state(ship)
        distance = math.hypot(other.x - own.x, other.y - own.y)
        speed = math.hypot(other.vx - own.vx, other.vy - own.vy)
        return Near(ship, sector, distance, speed)

    async def _expire(self, pilot: Pilot) -> None:
        try:
            await self._change(pilot, lambda p, mp: prog.expire(p, mp, _now()))
        except Exception:
            log.exception("mission expiry failed", extra={"account": pilot.account_id})

    # ------------------------------------------------------------------ requests
    async def board(self, pilot: Pilot) -> dict[str, Any]:
        """The `missions` message: the board of the station the pilot is docked at."""
        handle, station = self._docked(pilot)
        progress = await self._progress(pilot)
        contracts = await self._board(handle, station, progress)
        st = handle.system.stations[station]
        return {
            "t": "missions",
            "station": station,
            "name": st.name,
            "contracts": [c.to_dict() for c in contracts],
            "terms": terms(progress.reputation, st.faction).to_dict(),
        }

    async def accept(self, pilot: Pilot, contract_id: str) -> None:
        """Take a contract from the board of the station the pilot is docked at, or a rescue
        call in the pilot's system."""
        called = self.rescues.get(contract_id)
        if called is not None:
            if called.account == pilot.account_id:
                raise ProtocolError(ErrorCode.NOT_AVAILABLE, "you cannot answer your own call")
            if called.sector != (pilot.character.system_x, pilot.character.system_y):
                raise ProtocolError(ErrorCode.NOT_AVAILABLE, "that ship is in another system")
            contract = called.contract
        else:
            handle, station = self._docked(pilot)
            progress = await self._progress(pilot)
            offered = await self._board(handle, station, progress)
            found = next((c for c in offered if c.id == contract_id), None)
            if found is None:
                raise ProtocolError(
                    ErrorCode.NOT_AVAILABLE,
                    "that contract is not on this station's board (taken, expired or elsewhere):"
                    " read the board again",
                )
            contract = found
        await self._change(pilot, lambda p, mp: prog.accept(p, contract, mp, _now()))
        if called is not None:
            called.taken_by.add(pilot.account_id)
            called.due_at = max(called.due_at, time.time() + TUG_WAIT_FOR_ANSWER_S)
            self._send(
                called.account,
                {"t": "rescue", "event": "answered", "contract": contract_id, "by": pilot.name},
            )

    async def abandon(self, pilot: Pilot, contract_id: str) -> None:
        await self._change(pilot, lambda p, mp: prog.abandon(p, contract_id, mp, _now()))
        called = self.rescues.get(contract_id)
        if called is not None:
            called.taken_by.discard(pilot.account_id)

    async def tutorial(self, pilot: Pilot, op: str) -> None:
        if op == "skip":
            await self._change(pilot, lambda p, mp: prog.skip_tutorial(p))
        else:
            await self._change(pilot, lambda p, mp: prog.resume_tutorial(p))

    async def rescue_offers(self, pilot: Pilot) -> dict[str, Any]:
        """The `rescue_offers` message: what would get the pilot out (a stranded pilot's
        fuel delivery and tow, priced; the recall's terms; every way out)."""
        progress = await self._progress(pilot)
        offers = self._offers(pilot, progress)
        mp = self._pilot(pilot)
        return {
            "t": "rescue_offers",
            "offers": [o.to_dict() for o in offers],
            "recall": rx.recall_terms(mp, self.base_prices).to_dict(),
            "ways_out": list(self.ways_out(pilot)),
            "open": [r.contract.id for r in self.rescues.values() if r.account == mp.account],
        }

    async def rescue(self, pilot: Pilot, op: str, kind: str) -> dict[str, Any] | None:
        """`rescue` op "offers" / "take" (kind fuel or tow) / "cancel"."""
        if op == "offers":
            return await self.rescue_offers(pilot)
        if op == "cancel":
            await self._cancel_rescue(pilot)
            return None
        mine = [r for r in self.rescues.values() if r.account == pilot.account_id]
        if mine:
            raise ProtocolError(
                ErrorCode.NOT_AVAILABLE, "your call is out already: help is coming (or cancel it)"
            )
        state = self.roster.ship_state(pilot)
        if state is None or state.docked_at is not None:
            raise ProtocolError(ErrorCode.DOCKED, "a rescue is for a ship adrift in space")
        progress = await self._progress(pilot)
        offer = next((o for o in self._offers(pilot, progress) if o.kind == kind), None)
        if offer is None:
            raise ProtocolError(
                ErrorCode.NOT_AVAILABLE,
                f"no {kind} is offered here (no station in this system): recall home instead",
            )
        sector = (pilot.character.system_x, pilot.character.system_y)
        handle = self.roster.zones[pilot.zone_key or ""]
        to_sector, to_station = offer.to
        st = handle.system.stations[to_station]
        giver = Giver(to_sector, to_station, st.faction, st.name)
        now = _now()
        contract, hold = rx.rescue_contract(
            offer, self._pilot(pilot), Place(sector, state.x, state.y), giver, now, now
        )
        # the station's tug: how long it would take to fly out (players and clones nearby have
        # until then to answer first)
        tug_from = math.hypot(st.x - state.x, st.y - state.y)
        tug_s = math.ceil(flight_seconds(tug_from, self._hull(pilot)))
        eta = min(TUG_MAX_S, max(TUG_MIN_S, tug_s))

        def take(p: prog.Progress, mp: MPilot) -> prog.Outcome:
            changed = prog.fund_used(p, now) if offer.fund_pays else p
            return prog.Outcome(changed, () if hold is None else (hold,))

        await self._change(pilot, take)
        call = Rescue(
            contract, pilot.account_id, state.id, sector, kind, offer.fuel, offer.to,
            time.time() + eta,
        )  # fmt: skip
        self.rescues[contract.id] = call
        self._tell_system(pilot, contract, state.x, state.y)
        return {
            "t": "rescue",
            "event": "posted",
            "contract": contract.id,
            "kind": kind,
            "fee": offer.fee,
            "pilot_pays": offer.pilot_pays,
            "fund_pays": offer.fund_pays,
            "tug_eta_s": eta,
        }

    async def recall(self, pilot: Pilot, rid: str, confirm: bool) -> dict[str, Any]:
        """The emergency recall home: its terms (`recall_offer`), or done."""
        mp = self._pilot(pilot)
        if mp.docked_at is not None and (mp.sector, mp.docked_at) == mp.home:
            raise ProtocolError(ErrorCode.NOT_AVAILABLE, "you are docked at home already")
        if pilot.zone_key is None:
            raise ProtocolError(ErrorCode.NOT_IN_WORLD, "your ship is between systems")
        offer = rx.recall_terms(mp, self.base_prices)
        if not confirm:
            return {"t": "recall_offer", **offer.to_dict()}
        await self._cancel_rescue(pilot, quiet=True)

        def recall(p: prog.Progress, now_pilot: MPilot) -> prog.Outcome:
            terms_now = rx.recall_terms(now_pilot, self.base_prices)
            return prog.Outcome(p, (rx.recall_request(now_pilot, terms_now, rid),))

        await self._change(pilot, recall)
        return {"t": "recalled", "rid": rid, **offer.to_dict()}

    async def ration(self, pilot: Pilot, rid: str) -> dict[str, Any]:
        handle, station = self._docked(pilot)
        price = self.economy.catalog.fuel_price(_ref(handle, station))

        def ration(p: prog.Progress, mp: MPilot) -> prog.Outcome:
            return prog.Outcome(p, (rx.ration_request(mp, price, rid),))

        await self._change(pilot, ration)
        return {"t": "rationed", "rid": rid, "fuel": self._pilot(pilot).fuel}

    # ------------------------------------------------------------------ ways out
    def objective(self, account: int) -> dict[str, Any] | None:
        """The HUD's objective of `account` (a new object whenever it changes)."""
        return self.hud.get(account)

    def objectives(self) -> Mapping[int, dict[str, Any] | None]:
        """Every account's HUD objective, by account id: `objective` for many at once. A view:
        read it, never change it."""
        return self.hud

    def status_fields(self, pilot: Pilot, status: Mapping[str, Any]) -> dict[str, Any]:
        """What `status` adds for missions: the HUD's objective (the tutorial's step or the
        first contract's goal, with its marker), what the fuel warning means, and, when the
        tank is dry or no station is in reach, the ways out (`progress_actions`: never
        empty)."""
        warning = status.get("fuel_warning", "ok")
        dry = status.get("fuel", 1) <= 0
        ways_out = list(self.ways_out(pilot)) if dry or warning == "stranded" else None
        text = FUEL_TEXT.get(str(warning), "")
        if dry:
            text = "Out of fuel: call for help (a tow or fuel), or recall home"
        return {
            "objective": self.objective(pilot.account_id),
            "fuel_text": text,
            "ways_out": ways_out,
        }

    def ways_out(self, pilot: Pilot) -> tuple[str, ...]:
        """What leads towards progress from where the pilot is (`rx.progress_actions`):
        the HUD's buttons when stranded, and what the bench counts dead ends with."""
        return rx.progress_actions(self.situation(pilot))

    def situation(self, pilot: Pilot) -> rx.Situation:
        world = self.roster
        c = pilot.character
        hull = self._hull(pilot)
        state = world.ship_state(pilot)
        handle = world.zones.get(pilot.zone_key) if pilot.zone_key else None
        fuel = _fuel(state, c.extra, hull.fuel)
        credits = pilot.credits
        cargo_used = hull.cargo - world.cargo_room(pilot)
        if state is None or handle is None:
            return rx.Situation(hull, False, fuel, credits, cargo_used)
        system = handle.system
        sector = handle.sector
        if state.docked_at is not None:
            st = system.stations[state.docked_at]
            ref = _ref(handle, state.docked_at)
            at_home = (sector, state.docked_at) == ((c.home_x, c.home_y), c.home_station)
            return rx.Situation(
                hull, True, fuel, credits, cargo_used,
                hull_frac=1.0, at_home=at_home, services=tuple(st.services),
                fuel_price=self.economy.catalog.fuel_price(ref), contracts=True,
            )  # fmt: skip
        refuel = [
            math.hypot(s.x - state.x, s.y - state.y)
            for s in system.stations
            if "refuel" in s.services and not s.destroyed
        ]
        fields = [
            max(0.0, math.hypot(f.x - state.x, f.y - state.y) - f.radius)
            for f in system.fields
            if f.richness > 0
        ]
        responders = len(self._responders(pilot, handle)) + (1 if system.stations else 0)
        return rx.Situation(
            hull, False, fuel, credits, cargo_used,
            refuel_distance=min(refuel) if refuel else None,
            field_distance=min(fields) if fields else None,
            links=bool(system.links), responders=responders,
        )  # fmt: skip

    # ------------------------------------------------------------------ inside: changes
    async def _change(
        self, pilot: Pilot, fn: Callable[[prog.Progress, MPilot], prog.Outcome]
    ) -> prog.Outcome:
        """Apply one change under the pilot's lock: read, decide (pure), commit, save, tell.
        MissionError becomes a ProtocolError with its code."""
        if pilot.account_id in self._leaving:
            raise ProtocolError(ErrorCode.NOT_IN_WORLD, "your ship is between systems")
        async with self._lock(pilot.account_id):
            if self.roster.pilots.get(pilot.account_id) is not pilot:
                # the pilot left (logged out, or its ship went to another cluster worker,
                # which has the saved progress now): a late fact must not load a copy here
                # again (stale when they come back) nor save over the one they took along
                raise ProtocolError(ErrorCode.NOT_IN_WORLD, "that pilot is not in the world")
            progress = await self._load(pilot)
            try:
                out = fn(progress, self._pilot(pilot))
            except MissionError as exc:
                raise ProtocolError(exc.code, exc.message) from None
            await self._apply(pilot, progress, out)
            return out

    async def _apply(self, pilot: Pilot, before: prog.Progress, out: prog.Outcome) -> None:
        account = pilot.account_id
        for request in out.requests:
            await self.commit(request)
        if out.progress != before or out.requests:
            await self.writer.call(
                self.store.missions.save, account, self.world_name, _doc(out.progress)
            )
        self.progress[account] = out.progress
        self.hud[account] = _hud(out.progress)
        for message in out.messages:
            self._send(account, message)

    async def commit(self, request: LedgerRequest) -> None:
        """Commit one ledger request and bring the zones in line (fuel, relocation)."""
        world = self.roster
        pilot = world.pilots.get(request.account)
        if pilot is None:
            raise ProtocolError(ErrorCode.NOT_IN_WORLD, "that pilot is not in the world")
        character = world.snapshot_character(pilot)
        fuel = self._fuel_after(pilot, request.fuel, request.account)
        if fuel is not None:
            character = with_extra(character, fuel=round(fuel, 3))
        if request.kind == "recall" and request.detail.get("insured"):
            character = with_extra(character, insured=False)  # the policy paid and lapses
        relocate = request.relocate
        if relocate is not None and relocate.account != request.account:
            relocate = None  # a tow's end: the towed ship's character is saved when it moves
        if relocate is not None:
            character = await self._docked_character(character, relocate)
        player, ship = player_account(request.account), ship_holder(pilot.character.ship_id)
        changes = fuel is not None or relocate is not None or request.kind == "recall"
        written = character if changes else None

        def write() -> Any:
            return self.store.ledger.commit(
                self.world_name,
                request.key,
                request.kind,
                account=player,
                postings=[Posting(p.account, p.amount) for p in request.postings],
                moves=[ItemMove(m.item, m.qty, m.src, m.dst) for m in request.moves],
                character=written,
                result={"detail": request.detail, "player": player, "ship": ship},
                report_accounts=(player,),
                report_holders=(ship,),
                at=time.time(),
            )

        try:
            txn = await self.writer.call(write)
        except InsufficientFunds as exc:
            raise ProtocolError(ErrorCode.INSUFFICIENT_FUNDS, str(exc)) from exc
        except InsufficientItems as exc:
            raise ProtocolError(ErrorCode.OUT_OF_STOCK, str(exc)) from exc
        if txn.replay:
            pilot.credits = await self.writer.call(self.economy.books.credits, request.account)
            pilot.cargo = await self.writer.call(self.economy.books.cargo, pilot.character.ship_id)
            return
        pilot.credits = txn.balances.get(player, pilot.credits)
        pilot.cargo = dict(txn.holdings.get(ship, {}))
        self.metrics.inc("callister_transactions_total")
        self._send(
            request.account,
            {
                "t": "receipt", "rid": _rid(request), "ok": True, "kind": request.kind,
                "txn": txn.id, "credits": pilot.credits, "cargo": pilot.cargo,
                "detail": request.detail, "replay": False,
            },
        )  # fmt: skip
        if written is not None:
            pilot.character = written
        for change in request.fuel:  # both ships of a fuel delivery: the zone's vitals
            self._set_fuel(change, save=change.account != request.account)
        if request.relocate is not None:
            await self._relocate(request.relocate)
        elif pilot.zone_key is not None:
            handle = world.zones.get(pilot.zone_key)
            if handle is not None and handle.zone.has_ship(pilot.character.ship_id):
                handle.zone.set_vitals(pilot.character.ship_id, cargo_free=world.cargo_room(pilot))
        contract = request.detail.get("contract")
        if request.kind == "mission_reward" and isinstance(contract, str):
            self._rescued(contract, by=pilot.name)

    def _fuel_after(
        self, pilot: Pilot, changes: tuple[FuelChange, ...], account: int
    ) -> float | None:
        mine = [c.delta for c in changes if c.account == account]
        if not mine:
            return None
        hull = self._hull(pilot)
        state = self.roster.ship_state(pilot)
        now = _fuel(state, pilot.character.extra, hull.fuel)
        return max(0.0, min(hull.fuel, now + sum(mine)))

    def _set_fuel(self, change: FuelChange, *, save: bool) -> None:
        world = self.roster
        pilot = world.pilots.get(change.account)
        if pilot is None or pilot.zone_key is None:
            return
        handle = world.zones.get(pilot.zone_key)
        ship = pilot.character.ship_id
        if handle is None or not handle.zone.has_ship(ship):
            return
        hull = self._hull(pilot)
        fuel = _fuel(handle.zone.ship_state(ship), pilot.character.extra, hull.fuel)
        fuel = max(0.0, min(hull.fuel, fuel + change.delta))
        handle.zone.set_vitals(ship, fuel=fuel)
        pilot.character = with_extra(pilot.character, fuel=round(fuel, 3))
        if save:  # not the request's own character (which its transaction saved)
            self.writer.submit(self.store.characters.save, world.snapshot_character(pilot))

    async def _docked_character(self, character: Any, relocate: Relocate) -> Any:
        """The character docked at the relocation's station (as the transaction saves it)."""
        system = await self._system(relocate.sector)
        if system is None or not 0 <= relocate.station < len(system.stations):
            raise ProtocolError(ErrorCode.NOT_AVAILABLE, "that station is gone")
        st = system.stations[relocate.station]
        return dataclasses.replace(
            character,
            system_x=relocate.sector[0],
            system_y=relocate.sector[1],
            x=float(st.x),
            y=float(st.y),
            vx=0.0,
            vy=0.0,
            docked_at=relocate.station,
        )

    async def _relocate(self, relocate: Relocate) -> None:
        """Put the account's ship docked at the station (a recall home, a tow's end)."""
        world = self.roster
        pilot = world.pilots.get(relocate.account)
        if pilot is None:
            return
        await self._move(pilot, relocate.sector, relocate.station)

    async def _move(self, pilot: Pilot, sector: Sector, station: int) -> None:
        """Put the pilot's ship docked at `station` of `sector`, wherever it is now (the
        recall home, a tow's end): out of its zone, into that one."""
        roster = self.roster
        handle = await roster.ensure_zone(*sector)
        st = handle.system.stations[station]
        character = roster.snapshot_character(pilot)  # its live vitals go with it
        old = roster.zones.get(pilot.zone_key) if pilot.zone_key else None
        ship = character.ship_id
        if old is not None and old.zone.has_ship(ship):
            old.zone.remove_ship(ship)
        pilot.character = dataclasses.replace(
            character, system_x=sector[0], system_y=sector[1], x=float(st.x), y=float(st.y),
            vx=0.0, vy=0.0, docked_at=station,
        )  # fmt: skip
        c = pilot.character
        hull = self.content.hulls.get(c.hull, self.content.starter_hull)
        state = ShipState(
            id=c.ship_id, owner=pilot.account_id, hull=hull.key, x=c.x, y=c.y, vx=0.0, vy=0.0,
            angle=c.angle, docked_at=station,
        )  # fmt: skip
        roster.place(pilot, handle, state)
        roster.save(pilot)

    # ------------------------------------------------------------------ inside: rescue
    def _offers(self, pilot: Pilot, progress: prog.Progress) -> tuple[rx.RescueOffer, ...]:
        world = self.roster
        state = world.ship_state(pilot)
        handle = world.zones.get(pilot.zone_key) if pilot.zone_key else None
        if state is None or handle is None or state.docked_at is not None:
            return ()
        sector = handle.sector
        havens = tuple(
            rx.Haven(
                Place(sector, s.x, s.y),
                s.index,
                "refuel" in s.services,
                self.economy.catalog.fuel_price(_ref(handle, s.index)),
            )
            for s in handle.system.stations
            if not s.destroyed
        )
        lawful = self.lawful.get(handle.system.faction, False)
        return rx.rescue_offers(
            Place(sector, state.x, state.y),
            self._pilot(pilot),
            self._hull(pilot),
            havens,
            self._responders(pilot, handle),
            lawful_space=lawful,
            fund_available=prog.fund_available(progress, _now()),
        )

    def _responders(self, pilot: Pilot, handle: ZoneHandle) -> tuple[rx.Responder, ...]:
        """Ships in the system that may answer: other players, patrols and traders."""
        world = self.roster
        out = []
        zone = handle.zone
        for other in world.pilots.values():
            if other is pilot or other.zone_key != handle.key or other.dead:
                continue
            ship = other.character.ship_id
            if not zone.has_ship(ship):
                continue
            s = zone.ship_state(ship)
            v = zone.vitals(ship)
            out.append(
                rx.Responder(
                    "player", ship, other.account_id, Place(handle.sector, s.x, s.y),
                    float(v.fuel), v.criminal_s > 0,
                )
            )  # fmt: skip
        for ship in self.agents.by_zone.get(handle.key, set()):
            npc = self.agents.npcs.get(ship)
            if npc is None or not zone.has_ship(ship):
                continue
            role = str(npc.goal.value)
            if role not in ("patrol", "trader", "hauler"):
                continue
            s = zone.ship_state(ship)
            v = zone.vitals(ship)
            out.append(
                rx.Responder(
                    "patrol" if role == "patrol" else "trader", ship, npc.owner,
                    Place(handle.sector, s.x, s.y), float(v.fuel), v.criminal_s > 0,
                )
            )  # fmt: skip
        return tuple(out)

    def open_rescues(self, sector: Sector) -> list[Contract]:
        """The rescue contracts open in a system (for clones that answer calls)."""
        return [r.contract for r in self.rescues.values() if r.sector == sector]

    def _tell_system(self, pilot: Pilot, contract: Contract, x: float, y: float) -> None:
        """Everyone else in the system hears the call and may answer it (`accept`)."""
        for other in self.roster.pilots.values():
            if other is not pilot and other.zone_key == pilot.zone_key:
                self._send(
                    other.account_id,
                    {
                        "t": "rescue_call", "contract": contract.to_dict(), "name": pilot.name,
                        "ship": pilot.character.ship_id, "x": round(x), "y": round(y),
                    },
                )  # fmt: skip

    async def _tug(self, call: Rescue) -> None:
        """Nobody came in time: the station's tug service answers the call for its fee."""
        if self.rescues.get(call.contract.id) is not call:
            return
        del self.rescues[call.contract.id]
        world = self.roster
        pilot = world.pilots.get(call.account)
        if pilot is None:
            return
        postings: tuple[Any, ...] = ()
        for account, amount in call.contract.funding:
            postings += pay(account, SERVICES, amount)
        fuel = (FuelChange(call.account, call.fuel),) if call.kind == "fuel" else ()
        relocate = Relocate(call.account, *call.to) if call.kind == "tow" else None
        request = LedgerRequest(
            f"rescue:{call.account}:{call.contract.id}:station",
            "rescue_station",
            call.account,
            postings,
            fuel=fuel,
            relocate=relocate,
            detail={"contract": call.contract.id, "kind": call.kind, "by": "station"},
        )
        try:
            async with self._lock(call.account):
                await self.commit(request)
        except Exception:
            log.exception("station tug failed", extra={"account": call.account})
            self.rescues[call.contract.id] = call  # try again next round
            call.due_at = time.time() + 5
            return
        self._void(call)
        self._send(
            call.account,
            {"t": "rescue", "event": "done", "contract": call.contract.id, "kind": call.kind,
             "by": "station"},
        )  # fmt: skip

    def _rescued(self, contract_id: str, by: str) -> None:
        """A responder completed the rescue contract: the call is closed."""
        call = self.rescues.pop(contract_id, None)
        if call is None:
            return
        self._void(call)
        self._send(
            call.account,
            {"t": "rescue", "event": "done", "contract": contract_id, "kind": call.kind, "by": by},
        )

    def _void(self, call: Rescue) -> None:
        """Others who took the call: it is over (void, no pay, no penalty)."""
        for account in call.taken_by:
            other = self.roster.pilots.get(account)
            progress = self.progress.get(account)
            if (
                other is not None
                and progress is not None
                and progress.missions.holds(call.contract.id)
            ):
                self._observe_later(other, WatchedLost(call.ship))

    async def _cancel_rescue(self, pilot: Pilot, *, quiet: bool = False) -> None:
        mine = [r for r in self.rescues.values() if r.account == pilot.account_id]
        if not mine:
            if quiet:
                return
            raise ProtocolError(ErrorCode.NOT_AVAILABLE, "you have no rescue call out")
        for call in mine:
            self.rescues.pop(call.contract.id, None)
            refund = rx.cancel_rescue(call.contract, self._pilot(pilot))
            if refund is not None:
                await self.commit(refund)
            self._void(call)
            self._send(
                pilot.account_id,
                {
                    "t": "rescue",
                    "event": "cancelled",
                    "contract": call.contract.id,
                    "kind": call.kind,
                },
            )

    # ------------------------------------------------------------------ inside: boards
    def _docked(self, pilot: Pilot) -> tuple[ZoneHandle, int]:
        world = self.roster
        handle = world.zones.get(pilot.zone_key) if pilot.zone_key else None
        state = world.ship_state(pilot)
        if handle is None or state is None or pilot.dead:
            raise ProtocolError(ErrorCode.NOT_IN_WORLD, "your ship is not in a system")
        if state.docked_at is None:
            raise ProtocolError(ErrorCode.NOT_DOCKED, "dock at a station to read its board")
        if handle.system.stations[state.docked_at].destroyed:
            raise ProtocolError(ErrorCode.NOT_AVAILABLE, "this station is a wreck")
        return handle, state.docked_at

    async def _progress(self, pilot: Pilot) -> prog.Progress:
        async with self._lock(pilot.account_id):
            return await self._load(pilot)

    async def _board(
        self, handle: ZoneHandle, station: int, progress: prog.Progress
    ) -> tuple[Contract, ...]:
        snapshot = await self._snapshot(handle.sector)
        rescues = tuple(r.contract for r in self.rescues.values())
        snapshot = dataclasses.replace(snapshot, rescues=rescues)
        return draw_board(snapshot, handle.sector, station, progress.missions)

    async def _snapshot(self, sector: Sector) -> BoardWorld:
        """The board's world for a system this bucket (built once, kept for the bucket)."""
        now = _now()
        key = (sector, bucket_of(now))
        have = self._snapshots.get(key)
        if have is not None:
            return have
        built = await single_flight(self._snapshot_loading, key, lambda: self._build(sector, now))
        self._snapshots = {k: v for k, v in self._snapshots.items() if k[1] == key[1]}
        self._snapshots[key] = built
        return built

    async def _build(self, sector: Sector, now: int) -> BoardWorld:
        systems: dict[Sector, StarSystem] = {}
        frontier = [sector]
        for _ in range(3):  # the board's system, its links, and theirs
            nxt = []
            for s in frontier:
                if s in systems:
                    continue
                got = await self._system(s)
                if got is None:
                    continue
                systems[s] = got
                nxt += list(got.links)
            frontier = nxt
        refs = [
            StationRef.of(s[0], s[1], st)
            for s, system in systems.items()
            for st in system.stations
            if "market" in st.services and not st.destroyed
        ]
        economy = self.economy

        def quote_all() -> dict[tuple[Sector, int], tuple[Market, ...]]:
            out = {}
            for ref in refs:
                lines = []
                for row in economy.markets.quote(ref):
                    base = economy.catalog.items[row["key"]].base_price
                    lines.append(
                        Market(
                            row["key"], base, int(row["volume"]), int(row["stock"]),
                            pricing.target_stock(ref.key(), row["key"], base),
                            int(row["buy"]), int(row["sell"]),
                        )
                    )  # fmt: skip
                out[((ref.x, ref.y), ref.index)] = tuple(lines)
            return out

        markets = await self.writer.call(quote_all)
        return BoardWorld(
            self.seed,
            now,
            self.content,
            systems,
            markets,
            self._sightings(systems),
        )

    async def _system(self, sector: Sector) -> StarSystem | None:
        world = self.roster
        for handle in world.zones.values():
            if handle.sector == sector:
                return handle.system
        system = await self.universe.get(*sector)
        return None if system is None else self.served(system)

    def _sightings(self, systems: dict[Sector, StarSystem]) -> tuple[Sighting, ...]:
        """NPC ships in the loaded systems among them: pirates for bounties."""
        world = self.roster
        out = []
        for handle in world.zones.values():
            if handle.sector not in systems:
                continue
            for ship in self.agents.by_zone.get(handle.key, set()):
                npc = self.agents.npcs.get(ship)
                if npc is None or not handle.zone.has_ship(ship):
                    continue
                s = handle.zone.ship_state(ship)
                role = str(npc.goal.value)
                out.append(
                    Sighting(
                        ship, role, handle.sector, s.x, s.y, npc.hull, npc.name, npc.clone_id,
                        npc.owner, "", role == "pirate", s.docked_at,
                    )
                )  # fmt: skip
        return tuple(out)

    # ------------------------------------------------------------------ inside: small
    def _lock(self, account: int) -> asyncio.Lock:
        lock = self._locks.get(account)
        if lock is None:
            lock = self._locks[account] = asyncio.Lock()
        return lock

    def _hull(self, pilot: Pilot) -> Any:
        content = self.content
        return content.hulls.get(pilot.character.hull, content.starter_hull)

    def _pilot(self, pilot: Pilot) -> MPilot:
        """The pilot as the missions rules see them, now."""
        world = self.roster
        c = pilot.character
        state = world.ship_state(pilot)
        hull = self._hull(pilot)
        return MPilot(
            account=pilot.account_id,
            ship=c.ship_id,
            sector=(c.system_x, c.system_y),
            credits=pilot.credits,
            cargo=dict(pilot.cargo),
            cargo_free=world.cargo_room(pilot),
            fuel=_fuel(state, c.extra, hull.fuel),
            docked_at=state.docked_at if state is not None else c.docked_at,
            home=((c.home_x, c.home_y), c.home_station),
            insured=c.extra.get("insured") is True,
        )

    def _send(self, account: int, message: dict[str, Any]) -> None:
        fields = dict(message)
        msg_type = str(fields.pop("t"))
        self.notify(account, msg_type, **fields)


def _rid(request: LedgerRequest) -> str:
    """The receipt's `rid`: the client's for its own requests (the recall, the ration), else
    the ledger key of what the world did (a reward, a pickup, a tug)."""
    if request.kind in ("recall", "ration"):
        return request.key.split(":", 2)[2]
    return request.key


def _now() -> int:
    return int(time.time())


def _doc(progress: prog.Progress) -> dict[str, Any]:
    """The progress as a plain JSON object (tuples become lists, as they load back)."""
    value: dict[str, Any] = json.loads(json.dumps(progress.to_dict()))
    return value


def _hud(progress: prog.Progress) -> dict[str, Any] | None:
    """The HUD's current objective: the tutorial's step, else the first contract's goal."""
    t = progress.tutorial
    if t is not None:
        objective = t.objective()
        if objective is not None:
            return {"source": "tutorial", "step": t.current, **objective.to_dict()}
    for active in progress.missions.active:
        return {
            "source": "contract",
            "contract": active.contract.id,
            "title": active.contract.title,
            "deadline": active.deadline,
            **active.objective().to_dict(),
        }
    return None


def _fuel(state: Any, extra: dict[str, Any], full: float) -> float:
    if state is not None and state.fuel is not None:
        return float(state.fuel)
    value = extra.get("fuel")
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return float(full)


def _ref(handle: ZoneHandle, index: int) -> StationRef:
    return StationRef.of(handle.sector[0], handle.sector[1], handle.system.stations[index])


__all__ = ["MISSIONS", "MissionDesk", "Rescue", "rules"]
