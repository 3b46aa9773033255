"""What happened to one pilot, as the missions package hears it: facts, and the pilot's state.

The server turns what the zone and the economy report into these plain values, per pilot
(`from_zone_event` does it for the zone's events), and feeds them to `progress.observe`. Facts
carry the sector because the zone's events do not (a zone is one sector).

Who sends what (docs/missions.md, "Server integration"):
- from zone events of the pilot's own ship: DockedAt, UndockedFrom, MinedOre, Crime, ShipLost,
  Killed (the pilot's ship destroyed it), FuelOut;
- from the world: Arrived (a jump's hand-off placed the ship), Position (about once a second
  while `Watch.positions`), Near / WatchedDocked / WatchedLost for the ships in `Watch.ships`;
- from the economy: Traded (each committed trade receipt).

`Pilot` is the pilot's state when a fact is applied (read on the store-writer thread right
before the resulting ledger requests are committed, so the checks and the commit agree).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from callister.missions._data import Sector
from callister.sim import events as sim
from callister.universe import StarSystem


@dataclass(frozen=True, slots=True)
class DockedAt:
    sector: Sector
    station: int


@dataclass(frozen=True, slots=True)
class UndockedFrom:
    sector: Sector
    station: int


@dataclass(frozen=True, slots=True)
class Position:
    """The pilot's ship is at (x, y) in `sector`, moving at `speed` m/s."""

    sector: Sector
    x: float
    y: float
    speed: float = 0.0


@dataclass(frozen=True, slots=True)
class Traded:
    """A committed trade: `total` credits paid ("buy") or received ("sell") for `qty` units."""

    sector: Sector
    station: int
    item: str
    side: Literal["buy", "sell"]
    qty: int
    total: int


@dataclass(frozen=True, slots=True)
class MinedOre:
    sector: Sector
    field: int
    ore: str
    qty: int


@dataclass(frozen=True, slots=True)
class Arrived:
    """The pilot's ship arrived in `sector` by a jump from `origin`."""

    sector: Sector
    origin: Sector


@dataclass(frozen=True, slots=True)
class Killed:
    """The pilot destroyed ship `ship` (crewed by clone `clone`, 0 for a player's ship) of
    role `role` ("pirate", "trader", "patrol", "miner", "player") and faction `faction`
    ("" when it has none); `wanted` if it was a criminal or a pirate."""

    sector: Sector
    ship: int
    clone: int = 0
    role: str = "player"
    faction: str = ""
    wanted: bool = False


@dataclass(frozen=True, slots=True)
class Crime:
    """The pilot committed a crime in the secure space of `station`, a `faction` station."""

    sector: Sector
    station: int
    faction: str


@dataclass(frozen=True, slots=True)
class ShipLost:
    """The pilot's ship was destroyed."""

    sector: Sector


@dataclass(frozen=True, slots=True)
class FuelOut:
    """The pilot's tank ran dry."""

    sector: Sector


@dataclass(frozen=True, slots=True)
class Near:
    """Watched ship `ship` is `distance` m from the pilot's, at `speed` m/s relative. Sent about
    once a second for each watched ship, also while it is in another sector (`distance`
    infinite then): an escort's presence is the share of these reports within range."""

    ship: int
    sector: Sector
    distance: float
    speed: float = 0.0


@dataclass(frozen=True, slots=True)
class WatchedDocked:
    """Watched ship `ship` docked at `station`, `distance` m from the pilot's ship (infinite
    when in another sector)."""

    ship: int
    sector: Sector
    station: int
    distance: float


@dataclass(frozen=True, slots=True)
class WatchedLost:
    """Watched ship `ship` was destroyed, by someone other than the pilot."""

    ship: int


Fact = (
    DockedAt
    | UndockedFrom
    | Position
    | Traded
    | MinedOre
    | Arrived
    | Killed
    | Crime
    | ShipLost
    | FuelOut
    | Near
    | WatchedDocked
    | WatchedLost
)


@dataclass(frozen=True, slots=True)
class Victim:
    """What the server knows of a ship beyond the zone's columns: its clone, role, faction."""

    clone: int = 0
    role: str = "player"
    faction: str = ""
    wanted: bool = False


@dataclass(frozen=True, slots=True)
class Pilot:
    """The pilot a fact happens to. `cargo` maps item to units held; `cargo_free` is in cargo
    units; `docked_at` a station index in `sector` or None; `home` (sector, station)."""

    account: int
    ship: int
    sector: Sector
    credits: int = 0
    cargo: Mapping[str, int] = field(default_factory=dict)
    cargo_free: int = 0
    fuel: float = 0.0
    docked_at: int | None = None
    home: tuple[Sector, int] = ((0, 0), 0)
    insured: bool = False

    def holds(self, item: str) -> int:
        """Units of `item` in the hold."""
        return self.cargo.get(item, 0)


def from_zone_event(
    system: StarSystem,
    event: sim.ZoneEvent,
    ship: int,
    victims: Mapping[int, Victim] | None = None,
) -> Fact | None:
    """The fact `event` (from the zone of `system`) is for the pilot flying `ship`, or None
    when it is not about them.

    `victims` describes the ships the pilot may destroy (NPCs: clone, role, faction); an
    unknown victim is a player's ship. Pure; call it for each event and each pilot in the
    zone (the server's outcomes already walk the events once per tick).
    """
    sector = system.sector
    if isinstance(event, sim.Docked) and event.ship == ship:
        return DockedAt(sector, event.station)
    if isinstance(event, sim.Undocked) and event.ship == ship:
        return UndockedFrom(sector, event.station)
    if isinstance(event, sim.Mined) and event.ship == ship:
        return MinedOre(sector, event.field, event.ore, event.qty)
    if isinstance(event, sim.FuelEmpty) and event.ship == ship:
        return FuelOut(sector)
    if isinstance(event, sim.CrimeCommitted) and event.ship == ship:
        station = next((s for s in system.stations if s.index == event.station), None)
        return Crime(sector, event.station, "" if station is None else station.faction)
    if isinstance(event, sim.Destroyed):
        if event.ship == ship:
            return ShipLost(sector)
        if event.by == ship:
            who = (victims or {}).get(event.ship, Victim())
            return Killed(sector, event.ship, who.clone, who.role, who.faction, who.wanted)
    return None
