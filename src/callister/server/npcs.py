"""The world's agents: NPC ships crewed by clones, and the clones crewing players' ships.

`AgentRuntime` (one per `World`) owns the `AgentPool` and connects it to the zones:

- **Spawning.** When a zone loads, `zone_loaded` populates it from the system (a pure function of
  the world seed and sector, `npc_plan`): lawful systems get patrols and traders, lawless ones
  pirates, systems with asteroid fields miners; `npc_density` scales the counts. Each NPC is a
  clone with a deterministic id; a clone already in the database is loaded (its memories kept),
  and a dead one stays dead: that NPC never spawns again. An NPC ship's owner is `-clone id`
  (the zone treats owner <= 0 as an NPC) and its intents carry that owner as actor.
- **Thinking.** `tick` runs once per world tick before the zones step: `pool.step` with views
  built from the zone's columns (`zone_view`), only for awake zones with a player ship in them
  (a zone with only NPCs is not stepped at all, see World.step); then every decision becomes
  protocol intents (`to_intents`) submitted through `World.submit`, the same bus subject and
  zone validation as a player's. Between thoughts, movement is re-steered every other tick with
  the ship's current pose (cheap: no scoring). No language model runs here.
- **Events.** `after_step` feeds the zone's events to the clones (attacks, crimes, deaths), runs
  trader deals on `Docked` (real market transactions: `Economy.trade` with the NPC's ledger
  account `player:-<clone id>`), archives dead clones (`Clone.die`, stored), and drops the
  refusals of agents' intents (their cooldowns are not a player's evidence).
"""

from __future__ import annotations

import logging
import math
import time
import zlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from callister.agents import (
    Action,
    AgentPool,
    Clone,
    Decision,
    Goal,
    Licence,
    Pose,
    Profile,
    Role,
    SeenEvent,
    Skills,
    Stance,
    ZoneStatics,
    ZoneView,
    to_intents,
)
from callister.content import Content, NpcRole, load_content, role_counts, system_kind
from callister.economy import Economy
from callister.protocol.errors import ErrorCode, ProtocolError
from callister.server.captains import Captains
from callister.server.crew import CrewDesk, StoreCloneRepository, row_to_clone
from callister.server.living import Living
from callister.server.ports import Ids, Notify, Pilot, Residents, ZoneHandle
from callister.server.speech import SpeechModel
from callister.server.universe_cache import UniverseCache
from callister.server.writer import StoreWriter
from callister.sim import CrimeCommitted, Destroyed, Docked, Hit, JumpOut, Refused, Undocked
from callister.sim.entities import CRIMINAL, KIND_SHIP, KIND_WRECK
from callister.sim.events import AutopilotArrived, AutopilotCancelled, LootReached, Mined
from callister.sim.weapons import WEAPON_KEYS, register_weapons
from callister.store import Store

log = logging.getLogger(__name__)

NPC_ID_BASE: Final = 1 << 61
MAX_PER_KIND: Final = 3
RESTEER_EVERY: Final = 2  # ticks between re-steering a moving agent between its thoughts
CRIME_KEEP: Final = 1200  # ticks a crime stays on the patrols' sensors
HAIL_RANGE: Final = 8000.0  # m: a ship can be hailed as far as the clones' sensors reach
MOVING: Final = frozenset(
    {
        Action.TRAVEL,
        Action.DOCK,
        Action.FLEE,
        Action.DEFEND,
        Action.HUNT,
        Action.RESPOND,
        Action.PATROL,
        Action.MINE,
        Action.LOOT,
    }
)

_FIRST = (
    "Ada",
    "Bram",
    "Cass",
    "Dov",
    "Esme",
    "Fenn",
    "Gia",
    "Hale",
    "Ines",
    "Jory",
    "Kato",
    "Lark",
    "Mira",
    "Nils",
    "Oona",
    "Pax",
    "Quin",
    "Rhea",
    "Sol",
    "Tove",
    "Uma",
    "Vik",
    "Wren",
    "Yara",
    "Zed",
)
_LAST = (
    "Okafor",
    "Lind",
    "Varga",
    "Moreau",
    "Tanaka",
    "Reyes",
    "Novak",
    "Quill",
    "Haas",
    "Sato",
    "Brandt",
    "Ilves",
    "Coelho",
    "Marsh",
    "Duarte",
)
_TRAITS = (
    "brave",
    "cautious",
    "greedy",
    "loyal",
    "curious",
    "calm",
    "nervous",
    "stubborn",
    "cheerful",
    "grim",
    "kind",
    "ruthless",
    "careful",
    "bold",
)
HULL_FOR: Final = {  # the hull each kind of NPC flies
    Goal.TRADER: "hauler",
    Goal.MINER: "shuttle",
    Goal.PIRATE: "shuttle",
    Goal.PATROL: "shuttle",
}


def _h(*parts: int) -> int:
    """A stable 64-bit hash of integers (never Python's hash())."""
    data = b"".join(int(p).to_bytes(16, "little", signed=True) for p in parts)
    return zlib.crc32(data) | (zlib.crc32(data[::-1]) << 32)


def person(seed: int, *parts: int) -> tuple[str, tuple[str, ...], Skills]:
    """A generated person (name, traits, skills) from the seed and `parts`, deterministic."""
    h = _h(seed, *parts)
    name = f"{_FIRST[h % len(_FIRST)]} {_LAST[(h >> 8) % len(_LAST)]}"
    traits = (_TRAITS[(h >> 16) % len(_TRAITS)], _TRAITS[(h >> 24) % len(_TRAITS)])
    s = [((h >> (32 + 8 * i)) & 0xFF) / 255.0 for i in range(4)]
    skills = Skills(*(round(0.2 + 0.7 * v, 2) for v in s))
    return name, tuple(dict.fromkeys(traits)), skills


@dataclass(frozen=True, slots=True)
class NpcSpec:
    index: int
    goal: Goal
    hull: str
    station: int | None  # spawn docked here (traders), or near it (patrols)
    x: float
    y: float


def npc_plan(
    seed: int,
    system: Any,
    layout: Any,
    density: float,
    home: bool,
    roles: Mapping[str, NpcRole] | None = None,
) -> list[NpcSpec]:
    """Which NPCs live in a system: a pure function of (seed, sector, system) and the world's
    content's NPC roles (`roles`; None: the base content's). Each role's population for the
    system's kind (`content.role_counts`: lawful, home or lawless) scaled by `density`; an NPC
    flies one of its role's hulls (chosen by hash when the role lists several)."""
    if density <= 0:
        return []
    if roles is None:
        roles = load_content().npc_roles
    x, y = system.x, system.y
    h = _h(seed, x, y, 7)
    lawful = [s for s in layout.stations if s.lawful]
    markets = [s for s in system.stations if "market" in s.services]
    counts = role_counts(
        roles,
        system_kind(bool(lawful), home),
        markets=len(markets),
        fields=len(system.fields),
        roll=h,
        density=density,
    )
    out: list[NpcSpec] = []
    for role, n in counts:
        goal = Goal(role.goal)
        for _ in range(n):
            i = len(out)
            u = _h(seed, x, y, i, 11)
            ang = (u % 3600) / 3600 * 2 * math.pi
            station = None
            if goal is Goal.TRADER and markets:
                st = markets[(u >> 12) % len(markets)]
                station, px, py = st.index, float(st.x), float(st.y)
            elif goal is Goal.PATROL and lawful:
                st = lawful[(u >> 12) % len(lawful)]
                px, py = st.x + 1500 * math.cos(ang), st.y + 1500 * math.sin(ang)
            elif goal is Goal.MINER and system.fields:
                f = system.fields[(u >> 12) % len(system.fields)]
                px, py = (
                    f.x + (f.radius + 300) * math.cos(ang),
                    f.y + (f.radius + 300) * math.sin(ang),
                )
            else:
                r = 0.5 * float(system.radius)
                px, py = r * math.cos(ang), r * math.sin(ang)
            hulls = role.hulls
            hull = hulls[0] if len(hulls) == 1 else hulls[_h(seed, x, y, i, 13) % len(hulls)]
            out.append(NpcSpec(i, goal, hull, station, float(px), float(py)))
    return out


def npc_clone_id(seed: int, x: int, y: int, index: int) -> int:
    """The clone id of NPC `index` of system (x, y): in [2^61, 2^62), deterministic."""
    return NPC_ID_BASE | (_h(seed, x, y, index, 3) & ((1 << 61) - 1))


def make_npc(seed: int, world: str, x: int, y: int, spec: NpcSpec, tick: int) -> Clone:
    name, traits, skills = person(seed, x, y, spec.index)
    clone = Clone.create(
        npc_clone_id(seed, x, y, spec.index),
        Profile(
            name=name,
            background=f"A {spec.goal.value} who has always worked this system.",
            traits=traits,
            skills=skills,
        ),
        world=world,
        tick=tick,
        role=Role.PILOT,
        goal=spec.goal,
        licence=Licence(),
        home_station=spec.station,
        max_memories=200,
    )
    return clone


@dataclass(slots=True)
class NpcShip:
    clone_id: int
    ship: int
    owner: int  # -clone id
    key: str
    goal: Goal
    hull: str
    stance: int
    name: str


class AgentRuntime:
    """The world's clones at work (see the module docstring). Loop-only, not thread-safe."""

    def __init__(
        self,
        world: Residents,
        *,
        world_name: str,
        seed: int,
        content: Content,
        npc_density: float,
        store: Store,
        writer: StoreWriter,
        economy: Economy,
        ids: Ids,
        notify: Notify,
        speech: SpeechModel | None = None,
        universe: UniverseCache | None = None,
    ) -> None:
        self.world = world  # the zone registry and who is in it (server/ports.py)
        self.world_name, self.seed, self.content = world_name, seed, content
        self.npc_density = npc_density
        self.store, self.writer, self.economy, self.ids = store, writer, economy, ids
        self.names: dict[int, str] = {}
        self.pool = AgentPool(names=self.names)
        self.repo = StoreCloneRepository(store, world_name)
        self.npcs: dict[int, NpcShip] = {}  # by ship id
        self.npc_of_clone: dict[int, int] = {}  # clone id -> ship id
        self.by_zone: dict[str, set[int]] = {}
        self.statics: dict[str, ZoneStatics] = {}
        self.crimes: dict[str, list[tuple[float, float, int, int]]] = {}
        self.last: dict[int, Decision] = {}  # clone id -> its latest decision
        # per registered weapon index (this world's weapons registered first; a key another
        # world's pack added is never on this world's ships: range 0); [-1] is an empty slot
        register_weapons(content.weapons)
        self.ranges = np.array(
            [content.weapons[k].range if k in content.weapons else 0.0 for k in WEAPON_KEYS] + [0.0]
        )
        self.notify = notify
        self.crews: CrewDesk = CrewDesk(
            world,
            self,
            world_name=world_name,
            seed=seed,
            content=content,
            store=store,
            writer=writer,
            notify=notify,
            person=person,
        )
        # the optional language model (none: templates), and the universe for system names
        self.speech = speech if speech is not None else SpeechModel()
        self.universe = universe
        self.thought = 0  # decisions made (metrics/tests)
        self.living = Living(self)  # the clones' universe beyond the screen (issue 15)
        self.tick_ms: deque[float] = deque(maxlen=12_000)  # this runtime's share of each tick
        self.tick_cpu_ms: deque[float] = deque(maxlen=12_000)  # the same in this thread's CPU
        self.captains = Captains(self, self.living)  # live NPCs flying their plans

    async def start(self) -> None:
        """The living universe: the map, stored clones back, births up to the targets."""
        await self.living.start()

    async def close(self) -> None:
        """The world stops: let go of the language model (its connections, its memory)."""
        await self.speech.close()

    # ------------------------------------------------------------------ zones
    def npc_count(self, key: str) -> int:
        return len(self.by_zone.get(key, ()))

    def ship_name(self, ship: int) -> str | None:
        npc = self.npcs.get(ship)
        return None if npc is None else f"{npc.name} ({npc.goal.value})"

    def add_statics(self, handle: ZoneHandle) -> None:
        """What the agents of this zone know of its fixed parts (stations, rocks, links), with
        the names they call them by: the stations' and the linked systems' (those the
        universe cache holds; "the next system" otherwise)."""
        layout = handle.zone.layout
        system = getattr(handle, "system", None)
        names = {s.index: s.name for s in system.stations} if system is not None else {}
        universe = self.universe  # None on a bench host: "the next system"
        links = []
        for lx, ly in layout.links:
            other = universe.peek(lx, ly) if universe is not None else None
            links.append(other.name if other is not None else "")
        self.statics[handle.key] = ZoneStatics.from_layout(
            layout,
            lawful=[s.lawful for s in layout.stations],
            station_names=[names.get(s.index, "") for s in layout.stations],
            link_names=links,
        )

    async def zone_loaded(self, handle: ZoneHandle) -> None:
        """The zone's fixed parts for its agents. Its NPCs are the living universe's: they
        arrive when a player does (`Living`: the system's clones are handed off)."""
        layout = handle.zone.layout
        self.add_statics(handle)
        universe = self.universe
        links = list(layout.links)
        if universe is not None and not all(universe.cached(*xy) for xy in links):
            # the neighbours' names, for speech ("jumping to Tarsis"), once generated: never
            # awaited here, since an arriving jump waits for this zone to load
            async def names() -> None:
                await universe.ready(links)
                if self.world.zones.get(handle.key) is handle:
                    self.add_statics(handle)

            self.world.spawn(names(), f"link names {handle.key}")

    async def _spawn(self, handle: ZoneHandle, spec: NpcSpec) -> None:
        world = self.world
        x, y = handle.sector
        clone_id = npc_clone_id(self.seed, x, y, spec.index)
        if clone_id in self.pool:
            return
        row = await self.writer.call(self.store.clones.get, clone_id)
        if row is not None and not row.alive:
            return  # died for good: an archive, never respawned
        if row is not None:
            clone = row_to_clone(row)
        else:
            clone = make_npc(self.seed, self.world_name, x, y, spec, world.tick)
        ship = await self.ids.next()
        self.spawn_npc(handle, clone, ship, spec.hull, spec.x, spec.y, docked_at=spec.station)
        if row is None:
            self.writer.submit(self.repo.put, clone, ship)

    def spawn_npc(
        self,
        handle: ZoneHandle,
        clone: Clone,
        ship: int,
        hull_key: str,
        x: float,
        y: float,
        *,
        docked_at: int | None = None,
        angle: float = 0.0,
        **vitals: Any,
    ) -> NpcShip:
        """Put `clone` in the zone flying a new NPC ship (owner -clone id) and into the pool.
        `vitals`: `Zone.add_ship`'s keywords (vx, vy, readmit, fuel, hull_hp, ammo, ...)."""
        clone.require_alive()
        hull = self.content.hulls[hull_key]
        owner = -clone.id
        handle.zone.add_ship(
            ship, owner, hull, x=x, y=y, angle=angle, docked_at=docked_at, **vitals
        )
        stance = {Goal.PIRATE: Stance.PIRATE, Goal.PATROL: Stance.PATROL}.get(
            clone.goals.primary, Stance.CIVILIAN
        )
        npc = NpcShip(
            clone.id,
            ship,
            owner,
            handle.key,
            clone.goals.primary,
            hull_key,
            int(stance),
            clone.name,
        )
        self.npcs[ship] = npc
        self.npc_of_clone[clone.id] = ship
        self.by_zone.setdefault(handle.key, set()).add(ship)
        self.names[owner] = clone.name
        self.names[clone.id] = clone.name
        self.pool.add(clone, ship=ship, zone=handle.key)
        return npc

    def move_npc(
        self, ship: int, target: ZoneHandle, x: float, y: float, docked_at: int | None
    ) -> None:
        """A game master's teleport of an NPC ship (server/gm.py): out of its zone and into
        `target` (the same zone or another) at (x, y), or docked at `docked_at`, keeping its
        vitals, its clone and its mind."""
        npc = self.npcs[ship]
        source = self.world.zones[npc.key]
        state = source.zone.remove_ship(ship)
        angle = math.atan2(-y, -x)
        if target is source:
            target.zone.add_ship(
                ship, npc.owner, self.content.hulls[npc.hull], x=x, y=y, angle=angle,
                docked_at=docked_at, readmit=True, hull_hp=state.hull_hp, shield=state.shield,
                energy=state.energy, fuel=state.fuel, weapons=state.weapons, ammo=state.ammo,
            )  # fmt: skip
            return
        self.by_zone.get(npc.key, set()).discard(ship)
        del self.npcs[ship]
        self.npc_of_clone.pop(npc.clone_id, None)
        self.last.pop(npc.clone_id, None)
        clone = self.pool.remove(npc.clone_id)
        self.spawn_npc(
            target, clone, ship, npc.hull, x, y, docked_at=docked_at, angle=angle, readmit=True
        )  # (readmit: the ship may come back to a system it was teleported out of)
        target.zone.set_vitals(
            ship, hull_hp=state.hull_hp, shield=state.shield, energy=state.energy, fuel=state.fuel
        )

    def zone_unloaded(self, handle: ZoneHandle) -> None:
        """Its NPCs leave memory; their clones (alive) are stored with what they lived."""
        if handle.key in self.living.awake or any(
            c.key == handle.key for c in self.captains.by_clone.values()
        ):
            self.living.sleep(handle.key, self.world.tick, handle)
        keep = []
        for ship in self.by_zone.pop(handle.key, set()):
            npc = self.npcs.pop(ship)
            self.npc_of_clone.pop(npc.clone_id, None)
            self.last.pop(npc.clone_id, None)
            if npc.clone_id in self.pool:
                keep.append((self.pool.remove(npc.clone_id), None))
        self.statics.pop(handle.key, None)
        self.crimes.pop(handle.key, None)
        if keep:
            self.writer.submit(self.repo.put_many, keep)

    def save_all(self) -> list[tuple[Clone, int | None]]:
        """Every living clone with its ship (for checkpoints)."""
        out: list[tuple[Clone, int | None]] = []
        for clone in self.pool.clones():
            ship = self.npc_of_clone.get(clone.id)
            if ship is None:
                ship = self.crews.ship_of(clone.id)
            out.append((clone, ship))
        if self.living.enabled:
            self.writer.submit(self.living.save)  # the off-screen clones and all ships
        return out

    # ------------------------------------------------------------------ views
    def zone_view(self, handle: ZoneHandle, tick: int) -> ZoneView | None:
        zone = handle.zone
        s = zone.store
        n = s.count
        kinds = s.kind[:n]
        rows = np.flatnonzero(kinds == KIND_SHIP)
        hidden = self.world.gm_ships
        if hidden:  # a game master's invisible ship: clones do not see it either
            ghosts = [ship for ship, mode in hidden.items() if mode == "invisible"]
            rows = rows[~np.isin(s.ids[rows], np.array(ghosts, dtype=np.uint64))]
        owner = s.owner[rows]
        players = owner > 0
        if not players.any():
            return None
        x, y = s.x[rows], s.y[rows]
        ids = s.ids[rows].astype(np.int64)
        stance = np.zeros(rows.size, np.int8)
        for i in np.flatnonzero(~players).tolist():
            npc = self.npcs.get(int(ids[i]))
            if npc is not None:
                stance[i] = npc.stance
        w0 = s.weapon[rows, 0].astype(np.intp)
        hull_max = np.maximum(s.hull_max[rows], 1.0)
        shield_max = np.maximum(s.shield_max[rows], 1.0)
        armed = (s.weapon[rows] >= 0).sum(axis=1)
        crimes = self.crimes.get(handle.key, [])
        if crimes:
            crimes[:] = [c for c in crimes if tick - c[2] <= CRIME_KEEP]
        wrecks = np.flatnonzero(kinds == KIND_WRECK)
        return ZoneView.build(
            handle.key,
            tick,
            self.statics[handle.key],
            ids=ids,
            owner=owner,
            x=x,
            y=y,
            vx=s.vx[rows],
            vy=s.vy[rows],
            angle=s.angle[rows],
            hull=s.hull_hp[rows] / hull_max,
            shield=s.shield[rows] / shield_max,
            energy=s.energy[rows] / np.maximum(s.energy_max[rows], 1.0),
            strength=(s.hull_hp[rows] + s.shield[rows]) / 100.0 * np.maximum(armed, 1),
            weapon_range=self.ranges[w0],
            ready=s.ready[rows, 0] <= tick,
            stance=stance,
            wanted=(s.flags[rows] & CRIMINAL) != 0,
            docked_at=s.docked_at[rows],
            crimes=crimes,
            wrecks=[(int(s.ids[r]), float(s.x[r]), float(s.y[r])) for r in wrecks.tolist()],
            players=np.stack([x[players], y[players]], axis=1),  # type: ignore[arg-type]
        )

    def _pose(self, handle: ZoneHandle, ship: int) -> Pose | None:
        s = handle.zone.store
        row = s.find(ship)
        if row is None:
            return None
        return Pose(
            x=s.x.item(row),
            y=s.y.item(row),
            vx=s.vx.item(row),
            vy=s.vy.item(row),
            angle=s.angle.item(row),
            accel=s.accel.item(row),
        )

    def _target_xy(self, handle: ZoneHandle, d: Decision) -> tuple[float, float] | None:
        if d.action in (Action.DEFEND, Action.HUNT, Action.RESPOND, Action.FIRE) and d.target > 0:
            s = handle.zone.store
            row = s.find(d.target)
            if row is not None:
                return s.x.item(row), s.y.item(row)
        return None

    # ------------------------------------------------------------------ the tick
    def tick(self, tick: int) -> None:
        """Once per world tick, before the zones step: agents think and act (timed:
        `tick_ms`, what `callister bench living` reports)."""
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            self._tick(tick)
        finally:
            self.tick_ms.append((time.perf_counter() - t0) * 1000.0)
            self.tick_cpu_ms.append((time.thread_time() - c0) * 1000.0)

    def _tick(self, tick: int) -> None:
        self.living.tick(tick)
        if self.captains:
            self.captains.update(tick)  # each captain once a second, spread over the ticks
        if len(self.pool) == 0:
            return
        zones = self.world.zones
        self.crews.sync(tick)

        frozen = self.world.frozen

        def view_for(key: Any) -> ZoneView | None:
            handle = zones.get(key)
            if handle is None or key in frozen:  # a frozen system's clones do not think
                return None
            return self.zone_view(handle, tick)

        for d in self.pool.step(tick, view_for):
            self.thought += 1
            if not self.captains.decided(d, tick):
                self.last.pop(d.clone, None)  # the captain's plan flies the ship
                continue
            self.last[d.clone] = d
            self._act(d, tick, fresh=True)
        if tick % RESTEER_EVERY == 0:
            for d in list(self.last.values()):
                if d.action in MOVING and tick > d.tick:
                    self._act(d, tick, fresh=False)

    def _act(self, d: Decision, tick: int, *, fresh: bool) -> None:
        npc = self.npcs.get(d.ship)
        if npc is not None:
            handle = self.world.zones.get(npc.key)
            actor = npc.owner
        else:
            key = self.crews.zone_of(d.ship)
            handle = self.world.zones.get(key) if key else None
            actor = d.clone
            if fresh:
                self.crews.decided(d, tick)
            if not self.crews.may_act(d):
                return
        if handle is None:
            return
        pose = self._pose(handle, d.ship)
        if pose is None:
            return
        intents = to_intents(d, pose, actor=actor, target_xy=self._target_xy(handle, d))
        if not fresh:  # re-steering: movement only, fire is decided afresh at each thought
            intents = tuple(i for i in intents if type(i).__name__ == "Input")
        for intent in intents:
            self.world.submit(handle.key, intent)

    # ------------------------------------------------------------------ events
    def after_step(self, handle: ZoneHandle, events: list[Any]) -> list[Any]:
        """Feed a zone's events to its clones; return the events without agents' refusals."""
        for e in events:  # the station's crew candidates come and go, NPCs or not
            if isinstance(e, Docked | Undocked) and e.ship in self.world.ship_owner:
                self.crews.docking_changed(e.ship)
        if not self.npcs and not self.crews.active:
            return events
        out = []
        tick = handle.zone.tick
        caps = self.captains
        for e in events:
            if isinstance(e, Refused):
                if e.actor < 0 or e.actor in self.pool:
                    caps.refused(e.ship, e.action, tick)
                    continue  # an agent's refused intent: not a player's evidence
            elif isinstance(e, AutopilotArrived) and e.owner < 0:
                caps.arrived(e.ship, tick)
                continue  # to nobody's socket
            elif isinstance(e, AutopilotCancelled) and e.owner < 0:
                caps.cancelled(e.ship)
                continue
            elif isinstance(e, Mined) and e.owner < 0:
                self.world.spawn(caps.mined(handle, e.ship, e.ore, e.qty), f"npc mined {e.ship}")
            elif isinstance(e, LootReached) and e.owner < 0:
                self.world.spawn(caps.looted(handle, e.ship, e.wreck), f"npc loot {e.ship}")
            elif isinstance(e, Hit):
                self._attacked(e.ship, e.by, e.by_owner, tick, "attacked", e.x, e.y, handle.sector)
                if e.by and self.pool.aboard(e.by):  # we fired on them: who started it
                    self.pool.struck(e.by, e.owner, tick)
            elif isinstance(e, Destroyed):
                self._attacked(e.ship, e.by, e.by_owner, tick, "destroyed", e.x, e.y, handle.sector)
                self._destroyed(e.ship, tick, e.by_owner, e.wreck, e.x, e.y)
            elif isinstance(e, CrimeCommitted):
                row = handle.zone.store.find(e.ship)
                if row is not None:
                    s = handle.zone.store
                    self.crimes.setdefault(handle.key, []).append(
                        (s.x.item(row), s.y.item(row), tick, e.owner)
                    )
            elif isinstance(e, JumpOut) and caps.of_ship(e.ship) is not None:
                st = e.state
                caps.jumped(e.ship, (e.to_x, e.to_y), st.fuel or 0.0, st.hull_hp or 1.0)
            elif isinstance(e, JumpOut) and e.ship in self.npcs:
                self._left(e.ship)  # gone to another system: stored alive, not followed
            elif isinstance(e, Docked | Undocked) and e.ship in self.world.ship_owner:
                pilot = self.world.pilots.get(self.world.ship_owner[e.ship])
                if pilot is not None:  # the station's crew candidates come and go
                    self.world.spawn(self.crews.send_crew(pilot), f"crew {e.ship}")
            if isinstance(e, Docked) and caps.of_ship(e.ship) is not None:
                caps.on_docked(handle, e.ship, e.station)
            out.append(e)
        return out

    def _attacked(
        self,
        ship: int,
        by: int,
        by_owner: int,
        tick: int,
        kind: str,
        x: float,
        y: float,
        system: tuple[int, int] | None = None,
    ) -> None:
        if by_owner > 0 and by_owner not in self.names:
            pilot = self.world.pilots.get(by_owner)
            if pilot is not None:
                self.names[by_owner] = pilot.name
        me = self.crews.captain_of(ship)
        event = SeenEvent(
            kind, tick, actor=by_owner, target=ship, ship=by, x=x, y=y, system=system
        )  # the system: where knowledge learns the danger and the attack
        self.pool.notice_ship(ship, event, me=me)

    def _left(self, ship: int) -> None:
        npc = self.npcs.pop(ship)
        self.by_zone.get(npc.key, set()).discard(ship)
        self.npc_of_clone.pop(npc.clone_id, None)
        self.last.pop(npc.clone_id, None)
        if npc.clone_id in self.pool:
            self.writer.submit(self.repo.put, self.pool.remove(npc.clone_id), None)

    def _destroyed(
        self, ship: int, tick: int, by_owner: int, wreck: int = 0, x: float = 0.0, y: float = 0.0
    ) -> None:
        killer = self.names.get(by_owner, "station defences" if by_owner == 0 else "someone")
        npc = self.npcs.pop(ship, None)
        dead: list[tuple[Clone, int | None]] = []
        if npc is not None:
            self.by_zone.get(npc.key, set()).discard(ship)
            self.npc_of_clone.pop(npc.clone_id, None)
            self.last.pop(npc.clone_id, None)
            if npc.clone_id in self.pool:
                dead.append(
                    (self.pool.kill(npc.clone_id, tick, f"ship destroyed by {killer}"), None)
                )
        self.captains.destroyed(  # its cargo into the wreck, off the sim's books
            ship, f"ship destroyed by {killer}", killer=by_owner, wreck=wreck, x=x, y=y
        )
        dead += self.crews.ship_lost(ship, tick, killer)
        if dead:
            self.writer.submit(self.repo.put_many, dead)

    # ------------------------------------------------------------------ hails
    def hail(self, pilot: Pilot, zone_key: str, ship: int, target: int, text: str) -> None:
        """`pilot` (aboard `ship`) hails the NPC ship `target`: the clone flying it answers in
        the pilot's `chat` (kind "hail"), from its memories and beliefs (it remembers the
        exchange and who spoke), through the language model when one is set (off the tick;
        templates otherwise and on failure). It takes no orders from strangers."""
        npc = self.npcs.get(target)
        if npc is None or npc.key != zone_key or npc.clone_id not in self.pool:
            raise ProtocolError(ErrorCode.NO_TARGET, "nobody to hail: not an NPC ship here")
        store = self.world.zones[zone_key].zone.store
        me, it = store.find(ship), store.find(target)
        if me is None or it is None:
            raise ProtocolError(ErrorCode.NO_TARGET, "nobody to hail: not an NPC ship here")
        dist = math.hypot(store.x.item(it) - store.x.item(me), store.y.item(it) - store.y.item(me))
        if dist > HAIL_RANGE:
            raise ProtocolError(
                ErrorCode.TOO_FAR,
                f"{npc.name} is {dist / 1000:.1f} km away: hail within {HAIL_RANGE / 1000:.0f} km",
            )
        account, tick, clone_id = pilot.account_id, self.world.tick, npc.clone_id
        self.names.setdefault(account, pilot.name)
        notify = self.notify
        notify(account, "chat", **{"from": pilot.name}, clone=None, text=text, kind="hail_sent",
               ship=target)  # fmt: skip

        def answer(reply: Any) -> None:
            notify(account, "chat", **{"from": npc.name}, clone=str(clone_id), text=reply.text,
                   kind="hail", ship=target, source=reply.source)  # fmt: skip

        speech = self.speech
        if not speech.enabled:
            answer(self.pool.chat(clone_id, text, speaker=account, speaker_name=pilot.name,
                                  tick=tick, captain=False))  # fmt: skip
            return

        async def ask() -> None:
            clone = self.pool.clone(clone_id)
            reply = await speech.reply(
                clone, text, speaker=account, speaker_name=pilot.name, tick=tick,
                allow_orders=False,
            )  # fmt: skip
            if clone_id in self.pool and clone.alive:
                self.pool.apply_reply(clone_id, reply)
                answer(reply)

        self.world.spawn(ask(), f"hail {clone_id}")
