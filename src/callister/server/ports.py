"""What the world's parts need of the world: its records and narrow `typing.Protocol`s.

`World` (server/world.py) builds its parts (outcomes, station desks, the agent runtime and crews,
shared ships, boarding, status) and hands each the few things it uses: the writer, the economy,
the bus, the settings it reads, and the world as one of the protocols below. The parts import
this module, never server/world.py, so the import graph of `server/` has no circle (checked by
tests/test_architecture.py) and each part can be driven by a stand-in that implements only its
protocol (bench/agents.py's `BenchHost` is a `Roster` for the agent runtime).

- `Residents`: the zone registry and who is in it (what the agent runtime reads).
- `Roster`: the zone registry (loaded zones, loading one, addressing an intent to one, the
  tick, background tasks) and who is in the world (pilots, ship owners, their ships' live
  state), with the few changes the parts make to a pilot's ship (place, save, refit, respawn,
  cargo). World implements it; a test or a benchmark may implement it without a database.
- `Ids`: fresh entity ids (never reused).
- `Notify`: a message for one player on their account subject (server/notices.py).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.intents import Intent
from callister.sim import ShipState, Zone
from callister.store import Character
from callister.universe import StarSystem

if TYPE_CHECKING:
    from callister.content import Content
    from callister.economy import Economy
    from callister.server.bus import Bus
    from callister.server.metrics import Metrics
    from callister.server.settings import Settings
    from callister.server.universe_cache import UniverseCache
    from callister.server.writer import StoreWriter
    from callister.sim import ZoneRules
    from callister.store import Store


@dataclass(slots=True)
class ZoneHandle:
    """One loaded zone: its key (`<world>.<x>.<y>`), sector, generated system and simulation."""

    key: str
    sector: tuple[int, int]
    system: StarSystem
    zone: Zone
    empty_since: float | None = None
    ids_pending: bool = False  # a block of entity ids for the zone is being reserved
    # the zone's own clock (World._tick_loop): when its next tick is due (loop time; 0: not
    # started), its smoothed step time (the cheapest due zone runs first), its recent step
    # times (ms) and when they ran (monotonic s), and how often it fell so far behind that it
    # dropped its backlog
    next_at: float = 0.0
    cost_ms: float = 0.0
    step_ms: deque[float] = field(default_factory=lambda: deque(maxlen=ZONE_WINDOW))
    stepped_at: deque[float] = field(default_factory=lambda: deque(maxlen=ZONE_WINDOW))
    overruns: int = 0


ZONE_WINDOW = 1200
"""Steps kept per zone for its own step times and rate (60 s at 20 Hz, as the world's)."""


@dataclass(slots=True)
class Pilot:
    """A character in the world: who owns which ship, where it is, where home is."""

    account_id: int
    name: str
    character: Character
    zone_key: str | None = None  # None while in transit between zones
    linger: asyncio.TimerHandle | None = None
    connected: bool = True
    credits: int = 0
    cargo: dict[str, int] = field(default_factory=dict)
    dead: bool = False  # destroyed, waiting for the respawn transaction


def online_pilot(pilots: Mapping[int, Pilot], name: str) -> Pilot:
    """The connected pilot of that name (any case): whom an invitation goes to.
    ProtocolError NOT_AVAILABLE when nobody of that name is online."""
    found = next(
        (p for p in pilots.values() if p.name.casefold() == name.casefold() and p.connected),
        None,
    )
    if found is None:
        raise ProtocolError(ErrorCode.NOT_AVAILABLE, f"no player named {name!r} is online")
    return found


class Ids(Protocol):
    """64-bit entity ids reserved in blocks from the database (server/world.py IdAllocator)."""

    async def next(self) -> int: ...


class Notify(Protocol):
    """`notify(account, msg_type, **fields)`: the JSON message `{"t": msg_type, **fields}` for
    one player, published on their account subject (server/notices.py)."""

    def __call__(self, account_id: int, msg_type: str, /, **fields: Any) -> None: ...


class Zones(Protocol):
    """The zone registry: loaded zones by key, loading one, sending an intent to one."""

    @property
    def tick(self) -> int: ...
    @property
    def zones(self) -> Mapping[str, ZoneHandle]: ...
    async def ensure_zone(self, x: int, y: int) -> ZoneHandle: ...
    def submit(self, key: str, intent: Intent) -> None: ...
    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> Any: ...


class Residents(Zones, Protocol):
    """The zone registry and who is in it: what the agent runtime and crews read."""

    @property
    def pilots(self) -> Mapping[int, Pilot]: ...
    @property
    def ship_owner(self) -> dict[int, int]: ...
    @property
    def homes(self) -> list[tuple[int, int, int]]: ...
    def ship_state(self, pilot: Pilot) -> ShipState | None: ...
    @property
    def frozen(self) -> set[str]:
        """Zone keys a game master froze (server/gm.py): their clones stand still too."""
        ...

    @property
    def gm_ships(self) -> dict[int, str]:
        """Ship id -> "invisible" | "marked": game masters' ships (clones do not see the
        invisible ones)."""
        ...


class Roster(Residents, Protocol):
    """The zone registry, who is in the world, and the changes the parts make to a pilot's
    ship (see the module docstring)."""

    def display_name(self, ship: int, owner: int | None = None) -> str | None: ...
    def snapshot_character(self, pilot: Pilot) -> Character: ...
    def cargo_room(self, pilot: Pilot) -> int: ...
    def set_cargo(self, pilot: Pilot, cargo: Mapping[str, int]) -> None: ...
    def place(self, pilot: Pilot, handle: ZoneHandle, state: ShipState) -> None: ...
    def save(self, pilot: Pilot) -> None: ...
    def refit(self, pilot: Pilot, handle: ZoneHandle) -> None: ...
    async def respawn(self, pilot: Pilot, old_ship: int = 0) -> None: ...


class LivingWorld(Residents, Protocol):
    """What the living universe (server/living.py, server/captains.py) uses of a real world
    beyond `Residents`: its store and writer, economy, rules and settings. A bench host of the
    agent runtime (bench/agents.py) is only a `Residents`: it never starts the living universe.
    """

    @property
    def name(self) -> str: ...
    @property
    def seed(self) -> int: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def rules(self) -> ZoneRules: ...
    @property
    def content(self) -> Content: ...
    @property
    def store(self) -> Store: ...
    @property
    def writer(self) -> StoreWriter: ...
    @property
    def economy(self) -> Economy: ...
    @property
    def metrics(self) -> Metrics: ...
    @property
    def bus(self) -> Bus: ...
    @property
    def universe(self) -> UniverseCache: ...
