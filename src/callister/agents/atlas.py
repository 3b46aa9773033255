"""What clones know of the map: systems, their stations and fields, and the jump links.

The map is public (every pilot has the charts); prices, dangers and who is where are not (see
`knowledge.py`). `Atlas.from_systems` reads generated star systems by duck typing (the agents
layer does not import `universe`); the caller passes the lawful faction keys and the jump
arrival rule (`universe.arrival_point`), so the same numbers as the zones' are used.

Identifiers: a system is its sector `(x, y)`; a station is `(x, y, index)` (its economy key is
"station:x:y:index"). Routes are shortest in jumps, with a penalty per system a clone believes
dangerous (`route(..., cost=...)`), over the systems the atlas holds.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

SystemId = tuple[int, int]
StationId = tuple[int, int, int]

MAX_ROUTE_JUMPS: Final = 12


def _split_key(text: str, what: str, form: str) -> list[int]:
    """The integers of a key written as `form` ("x:y", "x:y:index"); ValueError otherwise."""
    parts = text.split(":")
    if len(parts) != form.count(":") + 1:
        raise ValueError(f"a {what} key is {form!r}, not {text!r}")
    return [int(p) for p in parts]


def station_key(station: StationId) -> str:
    """ "x:y:index": how a station is written in clone documents and knowledge."""
    return ":".join(map(str, station))


def parse_station_key(text: str) -> StationId:
    """Inverse of `station_key`; ValueError for anything else."""
    x, y, i = _split_key(text, "station", "x:y:index")
    if i < 0:
        raise ValueError(f"a station index is >= 0, not {i}")
    return (x, y, i)


def system_key(system: SystemId) -> str:
    return ":".join(map(str, system))


def parse_system_key(text: str) -> SystemId:
    x, y = _split_key(text, "system", "x:y")
    return (x, y)


@dataclass(frozen=True, slots=True)
class StationInfo:
    """A station: where it is, what it offers, whether its faction keeps the law."""

    id: StationId
    name: str
    x: float
    y: float
    dock_radius: float
    services: frozenset[str]
    lawful: bool
    faction: str = ""

    @property
    def system(self) -> SystemId:
        return (self.id[0], self.id[1])

    def has(self, service: str) -> bool:
        return service in self.services


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """An asteroid field: centre, radius, ore, generated richness (0-100) and the index of
    its first rock in the zone layout (rocks are numbered field by field)."""

    system: SystemId
    index: int
    x: float
    y: float
    radius: float
    ore: str
    richness: int
    first_rock: int


@dataclass(frozen=True, slots=True)
class SystemInfo:
    """One system as a clone's charts show it. `arrivals[source]` is where a ship jumping in
    from `source` appears."""

    id: SystemId
    name: str
    radius: float
    stations: tuple[StationInfo, ...]
    fields: tuple[FieldInfo, ...]
    links: tuple[SystemId, ...]
    arrivals: Mapping[SystemId, tuple[float, float]] = field(default_factory=dict)

    @property
    def lawful(self) -> bool:
        """Some station here keeps the law (patrols live here; pirates stay away)."""
        return any(s.lawful for s in self.stations)

    def arrival(self, source: SystemId) -> tuple[float, float]:
        """Where a ship from `source` appears (0.8 radius out if the rule was not given)."""
        found = self.arrivals.get(source)
        if found is not None:
            return found
        ang = math.atan2(source[1] - self.id[1], source[0] - self.id[0])
        r = 0.8 * self.radius
        return (r * math.cos(ang), r * math.sin(ang))


class Atlas:
    """The systems a world's clones know, by sector; routes between them."""

    def __init__(self, systems: Iterable[SystemInfo]) -> None:
        self.systems: dict[SystemId, SystemInfo] = {s.id: s for s in systems}
        self._stations: dict[StationId, StationInfo] = {
            st.id: st for s in self.systems.values() for st in s.stations
        }
        self._hops: dict[SystemId, dict[SystemId, int]] = {}
        self._routes: dict[tuple[SystemId, SystemId], tuple[SystemId, ...]] = {}

    def extend(self, systems: Iterable[SystemInfo]) -> None:
        """More systems on the charts (an endless universe is charted as it is reached);
        cached routes are forgotten."""
        for s in systems:
            self.systems[s.id] = s
            for st in s.stations:
                self._stations[st.id] = st
        self._hops.clear()
        self._routes.clear()

    def __len__(self) -> int:
        return len(self.systems)

    def __contains__(self, system: object) -> bool:
        return system in self.systems

    def system(self, system: SystemId) -> SystemInfo:
        return self.systems[system]

    def station(self, station: StationId) -> StationInfo:
        return self._stations[station]

    def stations(self) -> Iterable[StationInfo]:
        return self._stations.values()

    def links(self, system: SystemId) -> tuple[SystemId, ...]:
        """The links of `system` that lead to systems on the charts."""
        return tuple(n for n in self.systems[system].links if n in self.systems)

    def hops(self, a: SystemId, b: SystemId) -> int:
        """Jumps from a to b (a large number when unreachable); cached per source."""
        table = self._hops.get(a)
        if table is None:
            table = self._hops[a] = self._bfs(a)
        return table.get(b, 1 << 20)

    def within(self, a: SystemId, jumps: int) -> list[SystemId]:
        """Systems at most `jumps` jumps from a (a first), nearest first."""
        table = self._hops.get(a)
        if table is None:
            table = self._hops[a] = self._bfs(a)
        return [s for s, h in sorted(table.items(), key=lambda kv: (kv[1], kv[0])) if h <= jumps]

    def _bfs(self, a: SystemId) -> dict[SystemId, int]:
        out = {a: 0}
        frontier = [a]
        depth = 0
        while frontier and depth < MAX_ROUTE_JUMPS:
            depth += 1
            nxt = []
            for s in frontier:
                for n in self.links(s):
                    if n not in out:
                        out[n] = depth
                        nxt.append(n)
            frontier = nxt
        return out

    def route(
        self,
        a: SystemId,
        b: SystemId,
        cost: Callable[[SystemId], float] | None = None,
    ) -> tuple[SystemId, ...] | None:
        """The systems to jump through from a to b (excluding a, ending with b; () when
        a == b), fewest jumps plus `cost(system)` per system entered (a danger penalty), or
        None when b cannot be reached within MAX_ROUTE_JUMPS."""
        if a == b:
            return ()
        if a not in self.systems or b not in self.systems:
            return None
        hops = self.hops(a, b)
        if hops > MAX_ROUTE_JUMPS:
            return None
        if hops == 1:
            return (b,)  # no detour is shorter, whatever the danger
        if cost is None:
            key = (a, b)
            found = self._routes.get(key)
            if found is None:
                found = self._routes[key] = self._search(a, b, None) or ()
            return found
        return self._search(a, b, cost)

    def _search(
        self, a: SystemId, b: SystemId, cost: Callable[[SystemId], float] | None
    ) -> tuple[SystemId, ...] | None:
        best: dict[SystemId, float] = {a: 0.0}
        prev: dict[SystemId, SystemId] = {}
        heap: list[tuple[float, int, SystemId]] = [(0.0, 0, a)]
        while heap:
            d, n, s = heapq.heappop(heap)
            if s == b:
                break
            if d > best.get(s, math.inf) or n >= MAX_ROUTE_JUMPS:
                continue
            for t in self.links(s):
                nd = d + 1.0 + (cost(t) if cost is not None else 0.0)
                if nd < best.get(t, math.inf):
                    best[t] = nd
                    prev[t] = s
                    heapq.heappush(heap, (nd, n + 1, t))
        if b not in prev:
            return None
        path = [b]
        while path[-1] != a:
            path.append(prev[path[-1]])
        return tuple(reversed(path[:-1]))

    @classmethod
    def from_systems(
        cls,
        systems: Iterable[Any],
        *,
        lawful_factions: Iterable[str],
        arrival: Callable[[Any, int, int], tuple[int, int]] | None = None,
    ) -> Atlas:
        """From generated star systems (duck typing: x, y, name, radius, links,
        stations[i].index/name/x/y/dock_radius/services/faction[/destroyed],
        fields[i].x/y/radius/ore/richness/rocks). `arrival(system, from_x, from_y)` is the
        jump arrival rule (`universe.arrival_point`); arrivals are computed for every link."""
        lawful = frozenset(lawful_factions)
        out = []
        for s in systems:
            sid = (int(s.x), int(s.y))
            stations = tuple(
                StationInfo(
                    id=(sid[0], sid[1], int(st.index)),
                    name=str(st.name),
                    x=float(st.x),
                    y=float(st.y),
                    dock_radius=float(st.dock_radius),
                    services=frozenset(st.services),
                    lawful=bool(st.faction in lawful and not getattr(st, "destroyed", False)),
                    faction=str(st.faction),
                )
                for st in s.stations
            )
            fields = []
            first = 0
            for i, f in enumerate(s.fields):
                fields.append(
                    FieldInfo(
                        sid,
                        i,
                        float(f.x),
                        float(f.y),
                        float(f.radius),
                        str(f.ore),
                        int(f.richness),
                        first,
                    )
                )
                first += len(f.rocks)
            links = tuple((int(a), int(b)) for a, b in s.links)
            arrivals = {}
            if arrival is not None:
                for lx, ly in links:
                    ax, ay = arrival(s, lx, ly)
                    arrivals[(lx, ly)] = (float(ax), float(ay))
            out.append(
                SystemInfo(
                    sid, str(s.name), float(s.radius), stations, tuple(fields), links, arrivals
                )
            )
        return cls(out)
