"""NPC captains in a zone players watch: plans flown with the players' autopilot.

A clone handed to a zone (`living.py`) is flown by a `Captain`: the route planner's plan
(`agents/planner.py`, the same planner as off-screen) becomes the intents a player's client
sends: `Autopilot` to a station, an asteroid field, a jump gate or a point (the zone's
autopilot flies it, avoiding the star, stations and fields), then `Dock`, `Jump`, or work at
the field or on the beat. What the ship does *now* under threat stays the agent pool's
(`decide.py`): FLEE, DEFEND, HUNT, RESPOND, LOOT and FIRE decisions go to the zone as before
(their `Input` cancels the autopilot), and once the danger is past the captain puts the ship
back on its plan. At a field (miners) or on a beat or prowl (patrols, pirates), the pool's
MINE and PATROL decisions fly the ship until the work is done, the hold is full or the fuel
left only covers the way to fuel plus the reserve.

- **Stations**: on `Docked` the clone's visit runs on the writer thread (`dock_live`: gossip,
  the screen, sales, refuel, repairs, ammunition, purchases, all through the ledger with its
  own account); the ship's fuel, hull, magazines and hold in the zone are set from the
  receipts; clones docked at the same station gossip. After its stay it plans again.
- **Mining and loot**: a live NPC's `Mined` and `LootReached` go through the same economy
  calls as a player's (`Mined`, `Looted` requests), so its ore is ledger items it sells.
- **Distress**: a captain whose tank is empty in space calls for help like a player (the
  `distress` bus message players hear). A patrol or a willing trader or miner of the zone
  (never a pirate, nor anyone holding the caller hostile) whose tank can spare the fuel flies
  to it (autopilot following the ship) and hands fuel over, paid through the ledger (less for
  a friend); if nobody comes within `Rules.tug_after` ticks the nearest station's tug does.
  The rescued remembers who helped.
- **Leaving**: a jump takes the clone off-screen in the next system (`OffscreenSim.adopt`);
  a zone falling asleep hands all of its clones back; a destroyed ship's clone dies for good,
  its cargo in the zone's wreck (lootable like any other) and its estate back to the mint.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, cast

from callister.agents import Action, Decision, SeenEvent
from callister.agents.gossip import gossip
from callister.agents.model import Goal
from callister.agents.offscreen import (
    MIN_RESCUE_WILL,
    Agent,
    Done,
    Handoff,
    Looted,
    Mined,
    Rescue,
    Wrecked,
    rescue_will,
)
from callister.agents.planner import Plan, Ship
from callister.moderation.feeds import DISTRESS, DistressCall
from callister.protocol.intents import Autopilot, Dock, Jump, Undock
from callister.server.ports import LivingWorld, ZoneHandle


class CaptainsRuntime(Protocol):
    """What captains use of the agent runtime (server/npcs.py `AgentRuntime`): a protocol, so
    this module imports neither the runtime nor the world (tests/test_architecture.py)."""

    world: Any  # the World, as server/ports.py's LivingWorld
    pool: Any  # agents.AgentPool
    statics: dict[str, Any]
    npcs: dict[int, Any]
    by_zone: dict[str, set[int]]
    npc_of_clone: dict[int, int]
    last: dict[int, Any]

    def spawn_npc(self, handle: ZoneHandle, clone: Any, ship: int, hull_key: str,
                  x: float, y: float, **kw: Any) -> Any: ...  # fmt: skip


class LivingParts(Protocol):
    """What captains use of the living universe (server/living.py `Living`)."""

    planner: Any  # agents.planner.Planner | None
    atlas: Any  # agents.atlas.Atlas
    sim: Any  # agents.offscreen.OffscreenSim
    port: Any  # server/npc_economy.NpcEconomy
    stay_factor: float

    def system_name(self, sector: Any) -> str: ...

    def adopt(self, state: Any, cargo: dict[str, int], now: int) -> Any: ...


log = logging.getLogger(__name__)

TACTICAL: Final = frozenset(
    {Action.FLEE, Action.DEFEND, Action.HUNT, Action.RESPOND, Action.FIRE, Action.LOOT}
)
AT_WORK: Final = frozenset({Action.MINE, Action.PATROL, Action.HUNT, Action.LOOT})
CALM_TICKS: Final = 60  # after the last tactical decision, wait this long before the autopilot
EMPTY: Final = 0.5  # fuel units: a tank this low is empty
RETRY_TICKS: Final = 100  # a refused or lost step is tried again after this long
HANDOVER_M: Final = 600.0  # a rescuer this close hands the fuel over
MAX_WORK_S: Final = 1800.0
UPDATE_EVERY: Final = 20  # ticks between a captain's updates (1 s at 20 Hz)
PLAN_STALL_TICKS: Final = 400  # a plan step not done in this long (no arrival): plan again


@dataclass(slots=True, eq=False)
class Captain:
    """One live NPC: its off-screen agent (mind and ship as the planner knows them), its
    plan and where it is in it."""

    agent: Agent
    key: str
    phase: str = "docked"  # docked | planning | leg | docking | work | stranded | rescue
    plan: Plan | None = None
    leg: int = 0
    until: int = 0  # docked: leave at; work: stop at
    ap_on: bool = False  # our autopilot is flying the ship
    ap_tick: int = 0  # when the last autopilot (or dock/jump) was sent
    calm_at: int = 0  # the pool's last tactical decision ends at this tick
    stranded_at: int | None = None
    rescuer: int | None = None  # clone id of the captain coming with fuel
    target: int | None = None  # rescue: the stranded clone id
    helped: list[str] = field(default_factory=list)

    @property
    def clone_id(self) -> int:
        return self.agent.id

    @property
    def ship(self) -> Ship:
        return self.agent.ship


class Captains:
    """Every live NPC's captain (module docstring). Loop thread; simulation work on the
    writer thread through `Living`."""

    def __init__(self, runtime: CaptainsRuntime, living: LivingParts) -> None:
        self.runtime = runtime
        self.living = living
        # a real World: the living universe starts only in one (server/ports.py LivingWorld)
        self.world = cast(LivingWorld, runtime.world)
        self.by_clone: dict[int, Captain] = {}
        self.by_ship: dict[int, Captain] = {}
        self.rescues = 0
        self.tugs = 0
        self.distress_calls = 0
        self._kept_wrecks: set[int] = set()  # zones' wrecks holding a dead NPC's cargo

    def __len__(self) -> int:
        return len(self.by_clone)

    def of_ship(self, ship: int) -> Captain | None:
        return self.by_ship.get(ship)

    # ------------------------------------------------------------------ arriving, leaving
    def spawn(self, handle: ZoneHandle, agent: Agent, h: Handoff) -> Captain:
        """Put a handed-off clone into the zone exactly as it was off-screen."""
        ship = agent.ship
        hull = self.world.content.hulls[ship.hull.key]
        docked = h.docked_at[2] if h.docked_at is not None else None
        weapons = [self.world.content.weapons[w] for w in hull.loadout]
        ammo = [int(w.ammo * h.ammo) for w in weapons]
        used = ship.cargo_used(self.living.planner.volumes) if self.living.planner else 0
        self.runtime.spawn_npc(
            handle,
            agent.clone,
            ship.ship_id,
            ship.hull.key,
            h.x,
            h.y,
            docked_at=docked,
            angle=h.angle,
            vx=h.vx,
            vy=h.vy,
            readmit=True,
            fuel=max(0.0, h.fuel),
            hull_hp=max(1.0, h.hull_hp),
            ammo=ammo,
            cargo_free=max(0, hull.cargo - used),
        )
        now = self.world.tick
        cap = Captain(agent, handle.key, plan=agent.plan)
        if h.phase == "docked" or docked is not None:
            cap.phase = "docked"
            cap.until = h.until if h.until > now else now + 20 * 10
        elif h.phase == "flying" and agent.plan is not None and 0 <= h.leg < len(agent.plan.legs):
            cap.phase, cap.leg = "leg", h.leg
            leg = agent.plan.legs[h.leg]
            if leg.system != handle.sector:  # mid-jump elsewhere: plan afresh
                cap.phase = "planning"
            elif leg.kind == "jump":  # it has just jumped in: on with the next leg
                cap.leg += 1
                if cap.leg >= len(agent.plan.legs):
                    cap.phase = "planning"
        elif h.phase == "working" and agent.plan is not None:
            cap.phase, cap.until = "work", max(h.until, now + 200)
        elif h.phase == "stranded":
            cap.phase = "stranded"
        else:
            cap.phase = "planning"
        self.by_clone[agent.id] = cap
        self.by_ship[ship.ship_id] = cap
        if cap.phase == "planning":
            cap.phase = "docked"
            cap.until = now  # plans on the next update
        self._set_dest(cap)
        return cap

    def leave_zone(
        self, key: str, tick: int, handle: ZoneHandle | None = None
    ) -> list[tuple[Handoff, dict[str, int] | None]]:
        """The zone sleeps: every captain of it leaves with its ship's state (for adopt): the
        zone's, or the planner's last view of the ship when the zone no longer holds it."""
        out: list[tuple[Handoff, dict[str, int] | None]] = []
        handle = handle or self.world.zones.get(key)
        for cap in [c for c in self.by_clone.values() if c.key == key]:
            state = self._state(handle, cap, tick) if handle is not None else None
            if state is None:
                state = self._last_known(cap, tick)
            self._drop(cap)
            if handle is not None and handle.zone.has_ship(cap.ship.ship_id):
                handle.zone.remove_entity(cap.ship.ship_id)
            out.append((state, dict(cap.ship.cargo)))
        return out

    def _last_known(self, cap: Captain, tick: int) -> Handoff:
        s = cap.ship
        return Handoff(
            clone_id=cap.clone_id,
            ship_id=s.ship_id,
            system=s.system,
            tick=tick,
            x=s.x,
            y=s.y,
            vx=0.0,
            vy=0.0,
            angle=0.0,
            docked_at=s.docked_at,
            action="docked" if s.docked_at else "hold",
            station=s.docked_at,
            target_x=s.x,
            target_y=s.y,
            fuel=s.fuel,
            hull_hp=s.hull_hp,
            ammo=s.ammo,
            cargo=dict(s.cargo),
            purpose="",
        )

    def _state(self, handle: ZoneHandle, cap: Captain, tick: int) -> Handoff | None:
        """The ship as the zone left it, in the off-screen world's terms."""
        zone = handle.zone
        sid = cap.ship.ship_id
        if not zone.has_ship(sid):
            return None
        st = zone.ship_state(sid)
        v = zone.vitals(sid)
        self._sync(cap, handle)
        docked = (
            (handle.sector[0], handle.sector[1], st.docked_at) if st.docked_at is not None else None
        )
        return Handoff(
            clone_id=cap.clone_id,
            ship_id=sid,
            system=handle.sector,
            tick=tick,
            x=st.x,
            y=st.y,
            vx=st.vx,
            vy=st.vy,
            angle=st.angle,
            docked_at=docked,
            action="docked" if docked else "hold",
            station=docked,
            target_x=st.x,
            target_y=st.y,
            fuel=v.fuel,
            hull_hp=v.hull_hp,
            ammo=cap.ship.ammo,
            cargo=dict(cap.ship.cargo),
            purpose="",
        )

    def _drop(self, cap: Captain) -> None:
        rt = self.runtime
        self.by_clone.pop(cap.clone_id, None)
        self.by_ship.pop(cap.ship.ship_id, None)
        ship = cap.ship.ship_id
        npc = rt.npcs.pop(ship, None)
        if npc is not None:
            rt.by_zone.get(npc.key, set()).discard(ship)
        rt.npc_of_clone.pop(cap.clone_id, None)
        rt.last.pop(cap.clone_id, None)
        if cap.clone_id in rt.pool:
            rt.pool.remove(cap.clone_id)

    def jumped(self, ship: int, to: tuple[int, int], fuel: float, hull_hp: float) -> None:
        """The NPC jumped out of a watched zone: off-screen in the next system."""
        cap = self.by_ship.get(ship)
        if cap is None:
            return
        self._drop(cap)
        atlas = self.living.atlas
        origin = cap.ship.system
        if atlas is None or to not in atlas:  # nowhere charted: it turns back
            to, (ax, ay) = origin, (cap.ship.x, cap.ship.y)
        else:
            ax, ay = atlas.system(to).arrival(origin)
        now = self.world.tick
        state = Handoff(
            clone_id=cap.clone_id,
            ship_id=ship,
            system=to,
            tick=now,
            x=ax,
            y=ay,
            vx=0.0,
            vy=0.0,
            angle=0.0,
            docked_at=None,
            action="hold",
            station=None,
            target_x=ax,
            target_y=ay,
            fuel=fuel,
            hull_hp=hull_hp,
            ammo=cap.ship.ammo,
            cargo=dict(cap.ship.cargo),
            purpose="",
        )
        self.living.adopt(state, dict(cap.ship.cargo), now)

    def keeps_wreck(self, wreck: int) -> bool:
        """Whether `wreck` holds a dead NPC's cargo (asked once, by the death's outcome)."""
        if wreck in self._kept_wrecks:
            self._kept_wrecks.discard(wreck)
            return True
        return False

    def destroyed(
        self,
        ship: int,
        cause: str,
        *,
        killer: int = 0,
        wreck: int = 0,
        x: float = 0.0,
        y: float = 0.0,
    ) -> None:
        """The ship is gone and its clone dead (the pool archived it): its cargo goes into
        the zone's wreck (`wreck`, lootable by anyone there) and its estate back to the mint."""
        cap = self.by_ship.get(ship)
        if cap is None:
            return
        self._drop(cap)
        sim, port = self.living.sim, self.living.port
        if sim is None or port is None:
            return
        now = self.world.tick
        cap.ship.x, cap.ship.y = x, y
        items = tuple(sorted((i, q) for i, q in cap.ship.cargo.items() if q > 0))
        if items and wreck > 0:
            self._kept_wrecks.add(wreck)

        def settle() -> None:
            if items and wreck > 0:
                port.execute(Wrecked(cap.ship, killer, items, True, wreck_id=wreck))
            sim.died(cap.clone_id, now, cause, port.execute)

        self.world.writer.submit(settle)

    # ------------------------------------------------------------------ decisions
    def decided(self, d: Decision, tick: int) -> bool:
        """Whether the pool's decision flies the ship now (else the captain's plan does)."""
        cap = self.by_clone.get(d.clone)
        if cap is None:
            return True
        if cap.phase in ("docked", "planning", "docking"):
            return False
        if d.action in TACTICAL:
            cap.calm_at = tick + CALM_TICKS
            cap.ap_on = False  # its Input takes the stick
            return True
        return cap.phase == "work" and d.action in AT_WORK

    # ------------------------------------------------------------------ once a second
    def update(self, tick: int) -> None:
        """Each captain once a second, a twentieth of them each tick (by clone id): the work
        is spread evenly over the ticks instead of landing on one."""
        slot = tick % UPDATE_EVERY
        for cap in [c for c in self.by_clone.values() if c.clone_id % UPDATE_EVERY == slot]:
            handle = self.world.zones.get(cap.key)
            if handle is None or not handle.zone.has_ship(cap.ship.ship_id):
                continue
            try:
                self._update(cap, handle, tick)
            except Exception:
                log.exception("captain failed", extra={"clone": cap.clone_id})

    def _sync(self, cap: Captain, handle: ZoneHandle) -> None:
        """The planner's view of the ship from the zone: where it is, fuel, hull, ammo."""
        zone = handle.zone
        sid = cap.ship.ship_id
        st = zone.ship_state(sid)
        v = zone.vitals(sid)
        ship = cap.ship
        ship.system = handle.sector
        ship.x, ship.y = st.x, st.y
        ship.fuel, ship.hull_hp = v.fuel, v.hull_hp
        ship.docked_at = (
            (handle.sector[0], handle.sector[1], st.docked_at) if st.docked_at is not None else None
        )
        weapons = self.world.content.weapons
        full = sum(weapons[w].ammo for w in v.weapons if w and weapons[w].ammo > 0)
        if full > 0:
            have = sum(
                n for w, n in zip(v.weapons, v.ammo, strict=False) if w and weapons[w].ammo > 0
            )
            ship.ammo = min(1.0, have / full)

    def _update(self, cap: Captain, handle: ZoneHandle, tick: int) -> None:
        self._sync(cap, handle)
        ship = cap.ship
        phase = cap.phase
        if phase == "planning":
            return
        if phase == "docked":
            if ship.docked_at is None or tick >= cap.until:  # its stay is over (or undocked)
                self._plan(cap, tick)
            return
        if phase == "stranded":
            self._stranded(cap, handle, tick)
            return
        if ship.docked_at is not None:  # docked on its own (the pool's flight to safety)
            cap.phase = "planning"
            self.world.spawn(self._docked(cap, handle, ship.docked_at[2]), "npc docked")
            return
        if ship.fuel <= EMPTY:
            self._strand(cap, handle, tick)
            return
        if phase == "rescue":
            self._rescuing(cap, handle, tick)
            return
        if phase == "work":
            if tick >= cap.until or self._low_fuel(cap) or self._hold_full(cap):
                self._plan(cap, tick)
            return
        if phase in ("leg", "docking"):
            if tick < cap.calm_at:
                return  # the pool is fighting or fleeing
            if phase == "docking" and tick - cap.ap_tick > RETRY_TICKS:
                cap.phase = "leg"  # the dock was refused (too fast, too far): approach again
                cap.ap_on = False
            if not cap.ap_on or tick - cap.ap_tick > PLAN_STALL_TICKS * 20:
                self._fly(cap, handle, tick)

    def _low_fuel(self, cap: Captain) -> bool:
        planner = self.living.planner
        if planner is None:
            return False
        ship = cap.ship
        need = planner.to_fuel(ship, ship.system, ship.x, ship.y) + planner.reserve(ship) * 0.5
        return ship.fuel < need

    def _hold_full(self, cap: Captain) -> bool:
        planner = self.living.planner
        ship = cap.ship
        if ship.goal is not Goal.MINER or planner is None:
            return False
        return ship.cargo_used(planner.volumes) >= 0.9 * ship.hull.cargo

    # ------------------------------------------------------------------ plans
    def _plan(self, cap: Captain, tick: int) -> None:
        cap.phase = "planning"
        self.world.spawn(self._plan_async(cap, tick), "npc plan")

    async def _plan_async(self, cap: Captain, tick: int) -> None:
        living = self.living
        planner = living.planner
        assert planner is not None
        try:
            plan = await self.world.writer.call(planner.next_plan, cap.ship, cap.agent.clone, tick)
        except Exception:
            log.exception("npc planning failed", extra={"clone": cap.clone_id})
            plan = Plan("wait", seconds=60.0)
        if self.by_clone.get(cap.clone_id) is not cap:
            return  # gone meanwhile
        self._start(cap, plan, self.world.tick)

    def _start(self, cap: Captain, plan: Plan, now: int) -> None:
        handle = self.world.zones.get(cap.key)
        if handle is None:
            return
        ship = cap.ship
        cap.plan = plan
        cap.agent.plan = plan
        cap.leg = 0
        hz = self.world.settings.tick_hz
        if plan.purpose == "distress":
            self._strand(cap, handle, now)
            return
        if not plan.legs:
            if ship.docked_at is not None:
                if plan.purpose == "refuel":  # fill up here
                    cap.phase = "planning"
                    self.world.spawn(self._docked(cap, handle, ship.docked_at[2]), "npc refuel")
                    return
                cap.phase, cap.until = "docked", now + int(max(plan.seconds, 60.0) * hz)
            else:
                cap.phase, cap.until = "work", now + int(max(plan.seconds, 30.0) * hz)
            return
        if ship.docked_at is not None:
            self.world.submit(cap.key, Undock(actor=ship.actor, ship=ship.ship_id))
        cap.phase = "leg"
        cap.ap_on = False
        cap.ap_tick = now
        self._set_dest(cap)

    def _set_dest(self, cap: Captain) -> None:
        """Tell the pool where the plan goes (its sentences and travel sense)."""
        plan = cap.plan
        statics = self.runtime.statics.get(cap.key)
        if plan is None or statics is None or cap.clone_id not in self.runtime.pool:
            return
        dest = -1
        if plan.station is not None and plan.station[:2] == cap.ship.system:
            dest = statics.station_slot(plan.station[2])
        wary = cap.agent.clone.knowledge.danger(cap.ship.system, self.world.tick)
        self.runtime.pool.set_plan(cap.clone_id, dest=dest, hop=-1, wary=wary)

    def _fly(self, cap: Captain, handle: ZoneHandle, tick: int) -> None:
        """Send the autopilot for the current leg."""
        plan = cap.plan
        ship = cap.ship
        if plan is None or cap.leg >= len(plan.legs):
            self._plan(cap, tick)
            return
        leg = plan.legs[cap.leg]
        actor, sid = ship.actor, ship.ship_id
        if leg.kind == "jump":
            ap = Autopilot(
                actor=actor, ship=sid, kind="link", to_x=leg.system[0], to_y=leg.system[1],
                cruise=False,
            )  # fmt: skip
        elif cap.leg == len(plan.legs) - 1 and plan.station is not None:
            ap = Autopilot(
                actor=actor, ship=sid, kind="station", index=plan.station[2], cruise=False
            )
        elif cap.leg == len(plan.legs) - 1 and plan.field is not None:
            ap = Autopilot(
                actor=actor, ship=sid, kind="field", index=plan.field.index, cruise=False
            )
        else:
            ap = Autopilot(actor=actor, ship=sid, kind="point", x=leg.x1, y=leg.y1, cruise=False)
        self.world.submit(cap.key, ap)
        cap.phase = "leg"
        cap.ap_on = True
        cap.ap_tick = tick

    def arrived(self, ship: int, tick: int) -> None:
        """AutopilotArrived: the end of the current leg."""
        cap = self.by_ship.get(ship)
        if cap is None or cap.phase not in ("leg", "rescue"):
            return
        cap.ap_on = False
        plan = cap.plan
        handle = self.world.zones.get(cap.key)
        if handle is None:
            return
        if cap.phase == "rescue":
            self._rescuing(cap, handle, tick)
            return
        if plan is None or cap.leg >= len(plan.legs):
            self._plan(cap, tick)
            return
        leg = plan.legs[cap.leg]
        s = cap.ship
        if leg.kind == "jump":
            self.world.submit(
                cap.key, Jump(actor=s.actor, ship=s.ship_id, to_x=leg.system[0], to_y=leg.system[1])
            )
            cap.ap_tick = tick
            return
        cap.leg += 1
        if cap.leg < len(plan.legs):
            self._fly(cap, handle, tick)
            return
        hz = self.world.settings.tick_hz
        if plan.station is not None:
            self.world.submit(cap.key, Dock(actor=s.actor, ship=s.ship_id, station=plan.station[2]))
            cap.phase = "docking"
            cap.ap_tick = tick
        elif plan.purpose in ("mine", "patrol", "hunt", "respond"):
            cap.phase = "work"
            cap.until = tick + int(min(max(plan.seconds, 30.0), MAX_WORK_S) * hz)
        else:
            self._plan(cap, tick)

    def cancelled(self, ship: int) -> None:
        cap = self.by_ship.get(ship)
        if cap is not None:
            cap.ap_on = False

    def refused(self, ship: int, action: str, tick: int) -> None:
        """An autopilot, dock or jump of ours was refused: plan again a little later."""
        cap = self.by_ship.get(ship)
        if cap is None or action not in ("autopilot", "dock", "jump", "undock"):
            return
        if cap.phase in ("leg", "docking"):
            cap.phase = "work"  # hold where it is, then think again
            cap.until = tick + RETRY_TICKS

    # ------------------------------------------------------------------ stations
    def on_docked(self, handle: ZoneHandle, ship: int, station: int) -> None:
        cap = self.by_ship.get(ship)
        if cap is None or cap.phase == "planning":
            return
        cap.phase = "planning"
        self.world.spawn(self._docked(cap, handle, station), f"npc docked {ship}")

    async def _docked(self, cap: Captain, handle: ZoneHandle, station: int) -> None:
        """The visit (writer thread: gossip, screen, sales, upkeep, purchases through the
        ledger), then the zone's ship is made to match the receipts and it stays a while."""
        living = self.living
        sim, port = living.sim, living.port
        assert sim is not None and port is not None
        sid = (handle.sector[0], handle.sector[1], station)
        try:
            self._sync(cap, handle)
            plan = await self.world.writer.call(
                sim.dock_live, cap.clone_id, sid, self.world.tick, port.execute
            )
        except Exception:
            log.exception("npc visit failed", extra={"clone": cap.clone_id})
            plan = Plan("wait", station=sid, seconds=300.0)
        if self.by_clone.get(cap.clone_id) is not cap:
            return
        self._match_zone(cap, handle)
        self._gossip_docked(cap, sid)
        now = self.world.tick
        hz = self.world.settings.tick_hz
        rules = sim.rules
        trader = cap.ship.goal in (Goal.TRADER, Goal.HAULER)
        stay = (
            plan.seconds
            if plan.purpose == "wait"
            else (rules.dwell_s if trader else rules.dwell_short_s)
        )
        jitter = 0.7 + 0.6 * ((cap.clone_id * 2654435761 + now) % 1000) / 1000.0
        cap.plan = plan
        cap.phase = "docked"
        cap.until = now + int(stay * jitter * hz * self.living.stay_factor)

    def _match_zone(self, cap: Captain, handle: ZoneHandle) -> None:
        """The zone's ship after a visit: fuel, hull, magazines and hold as the ledger says."""
        ship = cap.ship
        zone = handle.zone
        sid = ship.ship_id
        if not zone.has_ship(sid):
            return
        hull = self.world.content.hulls[ship.hull.key]
        weapons = [self.world.content.weapons[w] for w in hull.loadout]
        planner = self.living.planner
        used = ship.cargo_used(planner.volumes) if planner is not None else 0
        zone.set_vitals(
            sid,
            fuel=max(0.0, ship.fuel),
            hull_hp=max(1.0, ship.hull_hp),
            ammo=[int(w.ammo * ship.ammo) for w in weapons],
            cargo_free=max(0, hull.cargo - used),
        )

    def _gossip_docked(self, cap: Captain, station: tuple[int, int, int]) -> None:
        """Live clones docked at the same station talk (off-screen ones already did)."""
        now = self.world.tick
        for other in self.by_clone.values():
            if other is cap or other.phase not in ("docked", "planning"):
                continue
            if other.ship.docked_at == station:
                gossip(cap.agent.clone, other.agent.clone, now, place=self.living.system_name)
                break

    # ------------------------------------------------------------------ mining, loot
    async def mined(self, handle: ZoneHandle, ship: int, ore: str, qty: int) -> None:
        cap = self.by_ship.get(ship)
        port = self.living.port
        if cap is None or port is None:
            return
        done = await self.world.writer.call(port.execute, Mined(cap.ship, ore, qty))
        self._apply(cap, handle, done, ore)

    async def looted(self, handle: ZoneHandle, ship: int, wreck: int) -> None:
        cap = self.by_ship.get(ship)
        port = self.living.port
        if cap is None or port is None:
            return
        done = await self.world.writer.call(port.execute, Looted(cap.ship, wreck))
        self._apply(cap, handle, done, None)
        if done.ok and done.cargo is not None:
            for item in done.cargo:
                cap.ship.paid.setdefault(item, 0.0)
            self.runtime.pool.notice(cap.clone_id, SeenEvent("looted", self.world.tick))

    def _apply(self, cap: Captain, handle: ZoneHandle, done: Done, ore: str | None) -> None:
        if not done.ok or done.cargo is None:
            return
        cap.ship.cargo = dict(done.cargo)
        if ore is not None:
            cap.ship.paid.setdefault(ore, 0.0)
        self._match_zone(cap, handle)

    # ------------------------------------------------------------------ distress and rescue
    def _strand(self, cap: Captain, handle: ZoneHandle, tick: int) -> None:
        """An empty tank in space: the call a player would make; someone comes."""
        cap.phase = "stranded"
        cap.stranded_at = tick
        cap.rescuer = None
        s = handle.zone.ship_state(cap.ship.ship_id)
        self.distress_calls += 1
        self.world.metrics.inc("callister_npc_distress_total")
        self.world.bus.publish(
            DISTRESS, DistressCall(cap.key, cap.ship.ship_id, cap.agent.clone.name, s.x, s.y)
        )
        cap.agent.clone.memory.add(
            tick, "We ran out of fuel and called for help.", importance=5.0, event="stranded"
        )

    def _stranded(self, cap: Captain, handle: ZoneHandle, tick: int) -> None:
        ship = cap.ship
        if ship.fuel > EMPTY + 1.0:  # fuel came (a rescue, or a player's help)
            cap.phase, cap.stranded_at = "docked", None
            cap.until = tick
            return
        if cap.stranded_at is None:
            cap.stranded_at = tick
        sim = self.living.sim
        tug_after = sim.rules.tug_after if sim is not None else 2400
        if cap.rescuer is not None and cap.rescuer not in self.by_clone:
            cap.rescuer = None
        if tick - cap.stranded_at >= tug_after:
            self._give(None, cap, handle, tick)
            return
        if cap.rescuer is None:
            helper = self._volunteer(cap)
            if helper is not None:
                cap.rescuer = helper.clone_id
                helper.phase = "rescue"
                helper.target = cap.clone_id
                helper.ap_on = True
                helper.ap_tick = tick
                self.world.submit(
                    helper.key,
                    Autopilot(
                        actor=helper.ship.actor, ship=helper.ship.ship_id, kind="ship",
                        target=ship.ship_id, cruise=False,
                    ),
                )  # fmt: skip

    def _need(self, cap: Captain) -> float:
        """Fuel that takes the stranded ship to fuel, plus half the reserve."""
        planner = self.living.planner
        ship = cap.ship
        if planner is None:
            return 0.3 * ship.hull.fuel
        need = planner.to_fuel(ship, ship.system, ship.x, ship.y) + planner.reserve(ship) * 0.5
        return min(ship.hull.fuel - ship.fuel, need)

    def _volunteer(self, stranded: Captain) -> Captain | None:
        """The most willing captain of the zone that can spare the fuel (patrols first)."""
        need = self._need(stranded)
        planner = self.living.planner
        best: tuple[float, int, Captain] | None = None
        for c in self.by_clone.values():
            if c is stranded or c.key != stranded.key or c.ship.goal is Goal.PIRATE:
                continue
            if c.phase in ("stranded", "rescue", "planning") or c.ship.docked_at is not None:
                continue
            # the same willingness as off-screen (hostile captains score 0 and never come)
            will = rescue_will(c.agent.clone, c.ship.goal, stranded.ship.actor)
            if will < MIN_RESCUE_WILL:
                continue
            spare = c.ship.fuel - need
            if planner is not None:
                keep = planner.to_fuel(c.ship, c.ship.system, stranded.ship.x, stranded.ship.y)
                if spare < keep + planner.reserve(c.ship):
                    continue
            key = (-will, c.clone_id)
            if best is None or key < best[:2]:
                best = (key[0], key[1], c)
        return None if best is None else best[2]

    def _rescuing(self, helper: Captain, handle: ZoneHandle, tick: int) -> None:
        stranded = self.by_clone.get(helper.target or 0)
        if stranded is None or stranded.phase != "stranded":
            helper.phase, helper.target = "docked", None
            helper.until = tick  # back to its own plans
            return
        a, b = helper.ship, stranded.ship
        if math.hypot(a.x - b.x, a.y - b.y) <= HANDOVER_M:
            self._give(helper, stranded, handle, tick)
            helper.phase, helper.target = "docked", None
            helper.until = tick
        elif tick - helper.ap_tick > PLAN_STALL_TICKS * 10:
            stranded.rescuer = None  # it never got there: someone else (or the tug)
            helper.phase, helper.target = "docked", None
            helper.until = tick

    def _give(
        self, helper: Captain | None, stranded: Captain, handle: ZoneHandle, tick: int
    ) -> None:
        """Fuel changes hands (or the tug brings it), paid through the ledger."""
        port, planner = self.living.port, self.living.planner
        if port is None or planner is None:
            return
        fuel = max(1.0, self._need(stranded))
        ship = stranded.ship
        if helper is not None:
            rel = stranded.agent.clone.relationships.get(helper.ship.actor)
            friendly = max(0.0, rel.affinity) if rel is not None else 0.0
            fee = int(fuel * planner.fuel_price * (1.0 - 0.5 * friendly))
            station = None
        else:
            atlas = self.living.atlas
            here = atlas.system(ship.system).stations if atlas and ship.system in atlas else ()
            st = min(here, key=lambda s: math.hypot(s.x - ship.x, s.y - ship.y), default=None)
            station = st.id if st is not None else None
            fee = int(fuel * planner.fuel_price) + (
                self.living.sim.rules.tug_fee if self.living.sim else 0
            )
        request = Rescue(
            helper.ship if helper is not None else None, ship, fuel, max(0, fee), station=station
        )
        self.world.spawn(self._pay_rescue(request, helper, stranded), "npc rescue")
        zone = handle.zone
        zone.set_vitals(ship.ship_id, fuel=ship.fuel + fuel)
        ship.fuel += fuel
        if helper is not None and zone.has_ship(helper.ship.ship_id):
            helper.ship.fuel = max(0.0, helper.ship.fuel - fuel)
            zone.set_vitals(helper.ship.ship_id, fuel=helper.ship.fuel)
            self.rescues += 1
            self.world.metrics.inc("callister_npc_rescues_total")
            self.runtime.pool.notice(
                stranded.clone_id,
                SeenEvent("helped", tick, actor=helper.ship.actor, target=ship.actor),
            )
            stranded.helped.append(helper.agent.clone.name)
        else:
            self.tugs += 1
            self.world.metrics.inc("callister_npc_rescues_total")
            name = "the station's tug"
            if station is not None and self.living.atlas is not None:
                name = f"the tug of {self.living.atlas.station(station).name}"
            stranded.agent.clone.memory.add(
                tick, f"{name} brought us fuel when we were stranded.", importance=5.0,
                event="rescued",
            )  # fmt: skip
            stranded.helped.append(name)
        stranded.phase, stranded.stranded_at, stranded.rescuer = "docked", None, None
        stranded.until = tick  # plans (to fuel) at once

    async def _pay_rescue(self, request: Rescue, helper: Captain | None, stranded: Captain) -> None:
        port = self.living.port
        assert port is not None
        done = await self.world.writer.call(port.execute, request)
        if done.ok and done.credits is not None:
            stranded.ship.credits = done.credits
            if helper is not None:
                helper.ship.credits += done.total


__all__ = ["Captain", "Captains"]
