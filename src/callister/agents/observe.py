"""What an agent's sensors show, and the vectorised sensing that turns it into `Senses`.

Two ways in, one computation:

- `ZoneView`: one zone's ships as plain arrays (the server builds it once per tick for a zone
  where agents think, from the zone's frame and vitals) plus the zone's `ZoneStatics`
  (stations, rocks, jump links; built once per zone from its layout). `sense(view, rows,
  agents)` computes the senses of many agents in one pass of k x n array operations.
- `Observation`: one ship's view as Python values (own vitals, nearby ships with distance,
  hostility and vitals, stations, rocks, wrecks, recent events). `Observation.to_view()` turns
  it into a one-zone `ZoneView`, so a single crew member and ten thousand NPCs are sensed by
  the same code and decide identically.

Stances: every ship has one. CIVILIAN (players, traders, miners), PIRATE, PATROL. Pirates
threaten everyone else; patrols threaten pirates and wanted ships (those who committed a crime
recently); anyone who attacked an agent recently, or whom it holds hostile (relationships), is a
threat to it whatever their stance.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from callister.agents import kernels

SENSOR_RANGE: Final = 8000.0  # m: ships farther than this are not seen
THREAT_RANGE: Final = 4000.0  # m: hostiles this close count towards the fight balance
ALLY_RANGE: Final = 3000.0  # m: friends this close count on our side
ATTACK_MEMORY: Final = 200  # ticks (10 s): how long "we were attacked" stays urgent
CRIME_MEMORY: Final = 1200  # ticks (60 s): how long a crime draws patrols
HOSTILE_SLOTS: Final = 4  # known-hostile actors each agent keeps in its sensing columns
NONE: Final = -1
FAR: Final = np.float32(1e9)


class Stance(IntEnum):
    CIVILIAN = 0
    PIRATE = 1
    PATROL = 2


@dataclass(frozen=True, slots=True, eq=False)
class ZoneStatics:
    """The fixed part of a zone that agents use: stations, rocks (index = the rock's index in
    the zone layout, as `Mine` wants it), asteroid field centres, jump links, system radius."""

    radius: float
    station_index: NDArray[np.int32]
    station_x: NDArray[np.float32]
    station_y: NDArray[np.float32]
    station_dock_r: NDArray[np.float32]
    station_lawful: NDArray[np.bool_]
    rock_x: NDArray[np.float32]
    rock_y: NDArray[np.float32]
    rock_r: NDArray[np.float32]
    rock_field: NDArray[np.int32]
    field_x: NDArray[np.float32]
    field_y: NDArray[np.float32]
    field_r: NDArray[np.float32]
    links: tuple[tuple[int, int], ...] = ()
    station_names: tuple[str, ...] = ()  # by slot; what clones call the stations
    link_names: tuple[str, ...] = ()  # by link; the systems they lead to

    def name_of(self, station_index: int) -> str:
        """A station's name ("the station" when none was given): speech never numbers it."""
        slot = self.station_slot(station_index)
        if 0 <= slot < len(self.station_names) and self.station_names[slot]:
            return self.station_names[slot]
        return "the station"

    def link_name(self, link: tuple[int, int]) -> str:
        """The name of the system a link leads to ("the next system" when unknown)."""
        if link in self.links:
            i = self.links.index(link)
            if i < len(self.link_names) and self.link_names[i]:
                return self.link_names[i]
        return "the next system"

    @classmethod
    def build(
        cls,
        *,
        radius: float,
        stations: Sequence[tuple[int, float, float, float]] = (),
        lawful: Sequence[bool] | None = None,
        rocks: Sequence[tuple[float, float, float, int]] = (),
        links: Sequence[tuple[int, int]] = (),
        station_names: Sequence[str] = (),
        link_names: Sequence[str] = (),
    ) -> ZoneStatics:
        """From plain tuples: stations (index, x, y, dock_radius), rocks (x, y, r, field);
        optional names of the stations (same order) and of the systems the links lead to."""
        st = np.array(stations, dtype=np.float64).reshape(-1, 4)
        rk = np.array(rocks, dtype=np.float64).reshape(-1, 4)
        fields = np.unique(rk[:, 3]).astype(np.int32) if rk.size else np.zeros(0, np.int32)
        fx, fy, fr = [], [], []
        for f in fields:
            sel = rk[rk[:, 3] == f]
            cx, cy = float(sel[:, 0].mean()), float(sel[:, 1].mean())
            fx.append(cx)
            fy.append(cy)
            fr.append(float(np.hypot(sel[:, 0] - cx, sel[:, 1] - cy).max() + sel[:, 2].max()))
        law = np.ones(len(st), bool) if lawful is None else np.array(lawful, bool)
        if law.shape != (len(st),):
            raise ValueError("lawful must have one flag per station")
        return cls(
            radius=float(radius),
            station_index=st[:, 0].astype(np.int32),
            station_x=st[:, 1].astype(np.float32),
            station_y=st[:, 2].astype(np.float32),
            station_dock_r=st[:, 3].astype(np.float32),
            station_lawful=law,
            rock_x=rk[:, 0].astype(np.float32),
            rock_y=rk[:, 1].astype(np.float32),
            rock_r=rk[:, 2].astype(np.float32),
            rock_field=rk[:, 3].astype(np.int32),
            field_x=np.array(fx, np.float32),
            field_y=np.array(fy, np.float32),
            field_r=np.array(fr, np.float32),
            links=tuple((int(a), int(b)) for a, b in links),
            station_names=tuple(str(n) for n in station_names),
            link_names=tuple(str(n) for n in link_names),
        )

    @classmethod
    def from_layout(
        cls,
        layout: Any,
        lawful: Sequence[bool] | None = None,
        *,
        station_names: Sequence[str] = (),
        link_names: Sequence[str] = (),
    ) -> ZoneStatics:
        """From a `callister.sim.ZoneLayout` (read by duck typing: radius, links,
        stations[i].index/x/y/dock_radius, rocks[j].x/y/r/field), with the stations' names
        (the generated system's `stations[i].name`) and the linked systems' names."""
        return cls.build(
            radius=float(layout.radius),
            stations=[(s.index, s.x, s.y, s.dock_radius) for s in layout.stations],
            lawful=lawful,
            rocks=[(r.x, r.y, r.r, r.field) for r in layout.rocks],
            links=layout.links,
            station_names=station_names,
            link_names=link_names,
        )

    def station_slot(self, index: int) -> int:
        """The slot (row) of station `index`, or -1."""
        hit = np.flatnonzero(self.station_index == index)
        return int(hit[0]) if hit.size else NONE


EMPTY_STATICS: Final = ZoneStatics.build(radius=20_000.0)


def _f32(a: Any, n: int, default: float) -> NDArray[np.float32]:
    if a is None:
        return np.full(n, default, np.float32)
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32).reshape(n))


def _c(a: Any, dtype: Any, n: int) -> NDArray[Any]:
    return np.ascontiguousarray(np.asarray(a, dtype=dtype).reshape(n))


@dataclass(slots=True, eq=False)  # read-only by convention (frozen costs ~10 us per build)
class ZoneView:
    """One zone's ships at tick `tick`, as arrays of equal length n (any row order).

    ids: ship entity ids; owner: the actor flying it (account or clone id); x, y, vx, vy,
    angle: from the frame; hull, shield, energy: fractions 0..1; cargo: hold fill 0..1;
    strength: combat strength in any consistent unit (say hull + shield points x weapon
    damage); weapon_range m; ready: a weapon can fire now; stance: `Stance`; wanted: committed
    a crime recently; docked_at: station index or -1. Then the recent crimes (position, tick,
    criminal actor), wrecks (id, position), and the positions of player-flown ships (which
    decide how often agents here think)."""

    key: Hashable
    tick: int
    statics: ZoneStatics
    ids: NDArray[np.int64]
    owner: NDArray[np.int64]
    x: NDArray[np.float32]
    y: NDArray[np.float32]
    vx: NDArray[np.float32]
    vy: NDArray[np.float32]
    angle: NDArray[np.float32]
    hull: NDArray[np.float32]
    shield: NDArray[np.float32]
    energy: NDArray[np.float32]
    cargo: NDArray[np.float32]
    strength: NDArray[np.float32]
    weapon_range: NDArray[np.float32]
    ready: NDArray[np.bool_]
    stance: NDArray[np.int8]
    wanted: NDArray[np.bool_]
    docked_at: NDArray[np.int32]
    crime_x: NDArray[np.float32]
    crime_y: NDArray[np.float32]
    crime_tick: NDArray[np.int64]
    crime_actor: NDArray[np.int64]
    wreck_ids: NDArray[np.int64]
    wreck_x: NDArray[np.float32]
    wreck_y: NDArray[np.float32]
    player_x: NDArray[np.float32]
    player_y: NDArray[np.float32]
    _order: NDArray[np.intp] = field(repr=False, default_factory=lambda: np.zeros(0, np.intp))

    @classmethod
    def build(
        cls,
        key: Hashable,
        tick: int,
        statics: ZoneStatics,
        *,
        ids: Any,
        owner: Any,
        x: Any,
        y: Any,
        vx: Any = None,
        vy: Any = None,
        angle: Any = None,
        hull: Any = None,
        shield: Any = None,
        energy: Any = None,
        cargo: Any = None,
        strength: Any = None,
        weapon_range: Any = None,
        ready: Any = None,
        stance: Any = None,
        wanted: Any = None,
        docked_at: Any = None,
        crimes: Sequence[tuple[float, float, int, int]] = (),
        wrecks: Sequence[tuple[int, float, float]] = (),
        players: Sequence[tuple[float, float]] | None = None,
    ) -> ZoneView:
        """Missing columns default to: at rest, full vitals, empty hold, strength 1, range
        1000 m, weapons ready, civilian, not wanted, undocked. `players` defaults to none."""
        ids_a = np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))
        n = ids_a.size
        cr = np.array(crimes, dtype=np.float64).reshape(-1, 4)
        wr = np.array(wrecks, dtype=np.float64).reshape(-1, 3)
        pl = np.array(players if players is not None else (), dtype=np.float32).reshape(-1, 2)
        return cls(
            key=key,
            tick=int(tick),
            statics=statics,
            ids=ids_a,
            owner=np.ascontiguousarray(np.asarray(owner, dtype=np.int64).reshape(n)),
            x=_f32(x, n, 0.0),
            y=_f32(y, n, 0.0),
            vx=_f32(vx, n, 0.0),
            vy=_f32(vy, n, 0.0),
            angle=_f32(angle, n, 0.0),
            hull=_f32(hull, n, 1.0),
            shield=_f32(shield, n, 1.0),
            energy=_f32(energy, n, 1.0),
            cargo=_f32(cargo, n, 0.0),
            strength=_f32(strength, n, 1.0),
            weapon_range=_f32(weapon_range, n, 1000.0),
            ready=np.ones(n, bool) if ready is None else _c(ready, np.bool_, n),
            stance=np.zeros(n, np.int8) if stance is None else _c(stance, np.int8, n),
            wanted=np.zeros(n, bool) if wanted is None else _c(wanted, np.bool_, n),
            docked_at=np.full(n, NONE, np.int32)
            if docked_at is None
            else _c(docked_at, np.int32, n),
            crime_x=np.ascontiguousarray(cr[:, 0], dtype=np.float32),
            crime_y=np.ascontiguousarray(cr[:, 1], dtype=np.float32),
            crime_tick=cr[:, 2].astype(np.int64),
            crime_actor=cr[:, 3].astype(np.int64),
            wreck_ids=wr[:, 0].astype(np.int64),
            wreck_x=np.ascontiguousarray(wr[:, 1], dtype=np.float32),
            wreck_y=np.ascontiguousarray(wr[:, 2], dtype=np.float32),
            player_x=pl[:, 0].copy(),
            player_y=pl[:, 1].copy(),
            _order=np.argsort(ids_a, kind="stable"),
        )

    def __len__(self) -> int:
        return int(self.ids.size)

    def rows_of(self, ship_ids: NDArray[np.int64]) -> NDArray[np.intp]:
        """Rows of these ship ids in the view (-1 where absent)."""
        order = self._order
        sorted_ids = self.ids[order]
        pos = np.searchsorted(sorted_ids, ship_ids)
        pos = np.minimum(pos, max(0, sorted_ids.size - 1))
        if sorted_ids.size == 0:
            return np.full(len(ship_ids), NONE, np.intp)
        found = sorted_ids[pos] == ship_ids
        return np.where(found, order[pos], NONE).astype(np.intp)

    @property
    def has_players(self) -> bool:
        return self.player_x.size > 0


@dataclass(slots=True, eq=False)
class AgentColumns:
    """The per-agent inputs of sensing besides the view (arrays of length k): own stance, the
    actor who attacked us last and when, up to HOSTILE_SLOTS actors held hostile, the trader's
    destination station slot (-1: pick one) and the clone id (seeds choices)."""

    stance: NDArray[np.int8]
    last_attacker: NDArray[np.int64]
    attacked_tick: NDArray[np.int64]
    hostile: NDArray[np.int64]  # (k, HOSTILE_SLOTS), -1 padded
    dest: NDArray[np.int32]
    clone_id: NDArray[np.int64]


@dataclass(slots=True, eq=False)
class Senses:
    """What k agents perceive (arrays of length k). Distances in metres (FAR when nothing);
    `*_row` are rows in the view, `*_slot` rows in the statics or crime/wreck lists (-1 none)."""

    tick: int
    row: NDArray[np.intp]
    x: NDArray[np.float32]
    y: NDArray[np.float32]
    hull: NDArray[np.float32]
    shield: NDArray[np.float32]
    energy: NDArray[np.float32]
    cargo: NDArray[np.float32]
    docked: NDArray[np.bool_]
    docked_slot: NDArray[np.intp]
    weapon_range: NDArray[np.float32]
    ready: NDArray[np.bool_]
    threat_row: NDArray[np.intp]
    threat_dist: NDArray[np.float32]
    threat_ratio: NDArray[np.float32]
    attacked: NDArray[np.float32]
    attacker_row: NDArray[np.intp]
    attacker_dist: NDArray[np.float32]
    prey_row: NDArray[np.intp]
    prey_dist: NDArray[np.float32]
    prey_weakness: NDArray[np.float32]
    criminal_row: NDArray[np.intp]
    criminal_dist: NDArray[np.float32]
    held_row: NDArray[np.intp]
    held_dist: NDArray[np.float32]
    crime_slot: NDArray[np.intp]
    crime_dist: NDArray[np.float32]
    station_slot: NDArray[np.intp]
    station_dist: NDArray[np.float32]
    dest_slot: NDArray[np.intp]
    dest_dist: NDArray[np.float32]
    field_slot: NDArray[np.intp]
    field_dist: NDArray[np.float32]
    wreck_slot: NDArray[np.intp]
    wreck_dist: NDArray[np.float32]
    rock_slot: NDArray[np.intp]
    has_link: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.row.size)


def sense(view: ZoneView, rows: NDArray[np.intp], agents: AgentColumns) -> Senses:
    """Senses of the agents flying the ships at `rows` of `view` (one row per agent; several
    agents may share a ship). One compiled pass over the zone's ships per agent (O(k x n)
    time, O(k) memory; `kernels.sense_ships`), one over the zone's few stations, fields,
    wrecks and crimes (`kernels.sense_places`)."""
    tick = view.tick
    st = view.statics
    k = int(rows.size)
    rows64 = np.ascontiguousarray(rows, dtype=np.int64)
    my_x, my_y = view.x[rows64], view.y[rows64]
    ints = np.empty((12, k), np.int64)
    floats = np.empty((16, k), np.float32)
    kernels.sense_ships(
        view.ids,
        view.owner,
        view.x,
        view.y,
        view.docked_at,
        view.stance,
        view.wanted,
        view.strength,
        rows64,
        np.ascontiguousarray(agents.stance, dtype=np.int8),
        np.ascontiguousarray(agents.last_attacker, dtype=np.int64),
        np.ascontiguousarray(agents.attacked_tick, dtype=np.int64),
        tick,
        ATTACK_MEMORY,
        np.ascontiguousarray(agents.hostile, dtype=np.int64),
        SENSOR_RANGE,
        THREAT_RANGE,
        ALLY_RANGE,
        ints[0],
        floats[0],
        floats[1],
        floats[2],
        ints[1],
        floats[3],
        ints[2],
        floats[4],
        floats[5],
        ints[3],
        floats[6],
        ints[4],
        floats[7],
    )
    docked_at = view.docked_at[rows64]
    kernels.sense_places(
        my_x,
        my_y,
        docked_at,
        np.ascontiguousarray(agents.dest, dtype=np.int32),
        np.ascontiguousarray(agents.clone_id, dtype=np.int64),
        tick,
        st.station_index,
        st.station_x,
        st.station_y,
        st.field_x,
        st.field_y,
        st.field_r,
        view.wreck_x,
        view.wreck_y,
        view.crime_x,
        view.crime_y,
        view.crime_tick,
        CRIME_MEMORY,
        st.rock_x,
        st.rock_y,
        st.rock_r,
        ints[5],
        floats[8],
        ints[6],
        ints[7],
        floats[9],
        ints[8],
        floats[10],
        ints[9],
        floats[11],
        ints[10],
        floats[12],
        ints[11],
    )
    return Senses(
        tick=tick,
        row=rows64,
        x=my_x,
        y=my_y,
        hull=view.hull[rows64],
        shield=view.shield[rows64],
        energy=view.energy[rows64],
        cargo=view.cargo[rows64],
        docked=docked_at >= 0,
        docked_slot=ints[6],
        weapon_range=view.weapon_range[rows64],
        ready=view.ready[rows64],
        threat_row=ints[0],
        threat_dist=floats[0],
        threat_ratio=floats[1],
        attacked=floats[2],
        attacker_row=ints[1],
        attacker_dist=floats[3],
        prey_row=ints[2],
        prey_dist=floats[4],
        prey_weakness=floats[5],
        criminal_row=ints[3],
        criminal_dist=floats[6],
        held_row=ints[4],
        held_dist=floats[7],
        crime_slot=ints[10],
        crime_dist=floats[12],
        station_slot=ints[5],
        station_dist=floats[8],
        dest_slot=ints[7],
        dest_dist=floats[9],
        field_slot=ints[8],
        field_dist=floats[10],
        wreck_slot=ints[9],
        wreck_dist=floats[11],
        rock_slot=ints[11],
        has_link=np.full(k, bool(st.links), bool),
    )


def concat_senses(parts: Sequence[Senses]) -> Senses:
    """One Senses for several zones' agents (rows and slots stay relative to each zone)."""
    names = [f for f in Senses.__slots__ if f != "tick"]
    return Senses(parts[0].tick, *(np.concatenate([getattr(p, f) for p in parts]) for f in names))


# --- one ship's observation as Python values ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Vitals:
    """Own ship: hull, shield, energy as fractions 0..1; cargo hold fill 0..1; strength (same
    unit as contacts'); weapon range in m; ready: a weapon can fire now; slots: weapon slots."""

    hull: float = 1.0
    shield: float = 1.0
    energy: float = 1.0
    cargo: float = 0.0
    strength: float = 1.0
    weapon_range: float = 1000.0
    ready: bool = True
    slots: tuple[int, ...] = (0,)


@dataclass(frozen=True, slots=True)
class Pose:
    """Own ship's kinematics: position m, velocity m/s, heading radians; accel m/s^2 at full
    thrust (for arrival braking)."""

    x: float = 0.0
    y: float = 0.0
    vx: float = 0.0
    vy: float = 0.0
    angle: float = 0.0
    accel: float = 60.0


@dataclass(frozen=True, slots=True)
class Contact:
    """Another ship on the sensors."""

    ship: int
    owner: int
    x: float
    y: float
    vx: float = 0.0
    vy: float = 0.0
    hull: float = 1.0
    shield: float = 1.0
    strength: float = 1.0
    stance: Stance = Stance.CIVILIAN
    wanted: bool = False
    docked: bool = False
    name: str = ""


@dataclass(frozen=True, slots=True)
class SeenEvent:
    """Something that happened: kind is one of EVENT_KINDS; `actor` did it to `target`
    (actor ids: accounts or clones; `ship` the actor's ship if any), at (x, y) in `system`.
    `text` is what was said, or names the place (docked: the station's name)."""

    kind: str
    tick: int
    actor: int = 0
    target: int = 0
    ship: int = 0
    x: float = 0.0
    y: float = 0.0
    text: str = ""
    system: tuple[int, int] | None = None  # where it happened (attacks feed `Knowledge`)


EVENT_KINDS: Final = frozenset(
    {
        "attacked",  # actor attacked target (us, when target is our actor id)
        "crime",  # actor committed a crime at (x, y)
        "destroyed",  # actor destroyed target's ship
        "helped",  # actor helped target
        "traded",  # actor traded with target
        "docked",
        "undocked",
        "mined",
        "looted",
        "jumped",
        "saw",  # first sighting of actor
        "said",  # actor said `text` to target
        "order",  # actor (the captain) gave target an order: text
    }
)


@dataclass(frozen=True, slots=True)
class Observation:
    """What one ship's sensors show at `tick`: the agent's view of the world.

    `ship`/`owner`: own ship id and the actor flying it; `stance`: own stance; `docked_at`:
    station index or None; `stations`: (index, x, y, dock_radius); `rocks`: (x, y, r, field)
    with the zone layout's rock order (pass all rocks, or use `statics` to share them);
    `wrecks`: (id, x, y); `events`: recent things seen (attacks on us, crimes)."""

    tick: int
    ship: int
    owner: int
    pose: Pose = field(default_factory=Pose)
    vitals: Vitals = field(default_factory=Vitals)
    stance: Stance = Stance.CIVILIAN
    wanted: bool = False
    docked_at: int | None = None
    contacts: tuple[Contact, ...] = ()
    stations: tuple[tuple[int, float, float, float], ...] = ()
    rocks: tuple[tuple[float, float, float, int], ...] = ()
    wrecks: tuple[tuple[int, float, float], ...] = ()
    links: tuple[tuple[int, int], ...] = ()
    events: tuple[SeenEvent, ...] = ()
    player_near: bool = True
    system_radius: float = 20_000.0
    statics: ZoneStatics | None = None

    def to_view(self, key: Hashable = "observation") -> ZoneView:
        """A one-zone view: own ship in row 0, contacts after it."""
        st = self.statics or ZoneStatics.build(
            radius=self.system_radius, stations=self.stations, rocks=self.rocks, links=self.links
        )
        c = self.contacts
        v, p = self.vitals, self.pose
        crimes = [(e.x, e.y, e.tick, e.actor) for e in self.events if e.kind == "crime"]
        return ZoneView.build(
            key,
            self.tick,
            st,
            ids=[self.ship, *(x.ship for x in c)],
            owner=[self.owner, *(x.owner for x in c)],
            x=[p.x, *(x.x for x in c)],
            y=[p.y, *(x.y for x in c)],
            vx=[p.vx, *(x.vx for x in c)],
            vy=[p.vy, *(x.vy for x in c)],
            angle=[p.angle, *(0.0 for _ in c)],
            hull=[v.hull, *(x.hull for x in c)],
            shield=[v.shield, *(x.shield for x in c)],
            energy=[v.energy, *(1.0 for _ in c)],
            cargo=[v.cargo, *(0.0 for _ in c)],
            strength=[v.strength, *(x.strength for x in c)],
            weapon_range=[v.weapon_range, *(1000.0 for _ in c)],
            ready=[v.ready, *(True for _ in c)],
            stance=[int(self.stance), *(int(x.stance) for x in c)],
            wanted=[self.wanted, *(x.wanted for x in c)],
            docked_at=[
                NONE if self.docked_at is None else self.docked_at,
                *(0 if x.docked else NONE for x in c),
            ],
            crimes=crimes,
            wrecks=self.wrecks,
            players=[(p.x, p.y)] if self.player_near else [],
        )

    def last_attack(self) -> SeenEvent | None:
        """The latest event in which someone attacked us (our actor or our ship)."""
        best: SeenEvent | None = None
        for e in self.events:
            if (
                e.kind in ("attacked", "destroyed")
                and e.target in (self.owner, self.ship)
                and (best is None or e.tick >= best.tick)
            ):
                best = e
        return best
