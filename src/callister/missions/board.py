"""The mission board: contracts a station offers, drawn from a snapshot of the living universe.

`board(world, sector, station, log)` is a pure function of the world seed, the station, the
time bucket (`now // BOARD_BUCKET_S`) and the `World` snapshot the server passes as plain
data: the systems in reach (the station's and its linked ones, with deltas applied), their
markets (stock vs target), the ships known there (pirates, traders bound somewhere) and the
open distress calls. The same inputs give the same contracts, ids included, on any machine.

What a station offers (docs/missions.md, "Contracts"):
- **delivery**: for an item it runs short of (stock below (1 - SHORT_AT) x target), or a
  routine requisition (ROUTINE_ORDERS per bucket), the station asks for goods carried from the
  station in reach that holds most of them relative to its target. The source entrusts the
  goods for a collateral (their price there), refunded on delivery. A board also lists the
  deliveries whose pickup is at this station.
- **mining**: a quota of the ore of a field in reach, handed in here.
- **bounty**: a pirate (or wanted ship) of another faction in reach.
- **escort**: a trader docked here and bound for a station in reach.
- **rescue**: a stranded ship's distress contract (made by `rescue.py`) in reach.

Rewards (the formulas, and why they let a new pilot buy the hauler within an hour, are in
docs/missions.md, "The arithmetic"): a wage per estimated second of work (by tier), plus for
deliveries a share of the goods' value and an urgency bonus for real shortages, plus for
quotas the ore's price here, plus for bounties a base scaled by the pirate's hull.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from callister.content import Content, Hull
from callister.missions import rules
from callister.missions._data import Sector
from callister.missions.contracts import (
    Contract,
    ContractKind,
    Giver,
    Goal,
    MissionLog,
    contract_id,
)
from callister.missions.ledger import MISSIONS
from callister.missions.markers import Marker
from callister.missions.travel import Place, Trip, trip
from callister.sim.rules import MINING_RATE, UNITS_PER_POINT
from callister.universe import AsteroidField, StarSystem, Station
from callister.universe.hashing import Rng, hash_xy
from callister.universe.space import seed_u64


@dataclass(frozen=True, slots=True)
class Market:
    """One line of a station's market: `stock` vs `target`, and the player's prices now
    (`buy`: what buying one unit costs; `sell`: what selling one pays)."""

    item: str
    base: int
    volume: int
    stock: int
    target: int
    buy: int
    sell: int

    @property
    def shortage(self) -> float:
        """How short the station is: (target - stock) / target, 0 when at or above target."""
        return max(0.0, (self.target - self.stock) / max(self.target, 1))


@dataclass(frozen=True, slots=True)
class Sighting:
    """A ship the board may post about. `role`: "pirate", "trader", "patrol", "miner",
    "player"; `clone` its clone (0 for players); `bound_for` (sector, station) a trader's
    destination; `docked_at` a station index in `sector` or None."""

    ship: int
    role: str
    sector: Sector
    x: float
    y: float
    hull: str = ""
    name: str = ""
    clone: int = 0
    owner: int = 0
    faction: str = ""
    wanted: bool = False
    docked_at: int | None = None
    bound_for: tuple[Sector, int] | None = None


@dataclass(frozen=True)
class World:
    """The snapshot a board is drawn from. `systems`: the board's system, the linked ones and
    theirs (two jumps: a delivery picked up here for a giver next door is drawn with that
    giver's own reach, so it is the same contract on both boards), deltas and the services
    baseline applied; `markets`: (sector, station) -> lines, for the market stations among
    them; `ships`: sightings in those systems; `rescues`: open distress contracts;
    `mining_yield`: the world's yield multiplier."""

    seed: int
    now: int
    content: Content
    systems: Mapping[Sector, StarSystem]
    markets: Mapping[tuple[Sector, int], tuple[Market, ...]]
    ships: tuple[Sighting, ...] = ()
    rescues: tuple[Contract, ...] = ()
    mining_yield: float = 1.0


def bucket_of(now: int) -> int:
    """The board's time bucket at `now`."""
    return now // rules.BOARD_BUCKET_S


def board(
    world: World,
    sector: Sector,
    station: int,
    log: MissionLog | None = None,
    limit: int = rules.BOARD_SIZE,
) -> tuple[Contract, ...]:
    """What the station's board shows a pilot: its own offers, the deliveries picked up here
    and the rescues in reach, at most `limit` (keeping BOARD_TIER_SLOTS offers of each tier
    when there are that many), best paid per estimated second first; contracts in `log` (held or
    finished) are left out. Empty for a station that is unknown, destroyed or not in reach."""
    system = world.systems.get(sector)
    if system is None or _station(system, station) is None:
        return ()
    offers = list(offers_of(world, sector, station))
    for other_sector, other in _reach(world, sector):
        if (other_sector, other.index) == (sector, station):
            continue
        offers += [
            c
            for c in offers_of(world, other_sector, other.index)
            if c.goals[0].kind == "pickup"
            and (c.goals[0].marker.sector, c.goals[0].marker.index) == (sector, station)
        ]
    reach = {s for s, _ in _reach(world, sector)} | {sector}
    offers += [c for c in world.rescues if c.goals[0].marker.sector in reach]
    seen: set[str] = set()
    unique = []
    for c in offers:
        if c.id not in seen and (log is None or not log.taken(c.id)):
            seen.add(c.id)
            unique.append(c)
    return _select(unique, limit)


def offers_of(world: World, sector: Sector, station: int) -> tuple[Contract, ...]:
    """Every contract the station gives this bucket (before selection), in a stable order."""
    system = world.systems.get(sector)
    giver_station = None if system is None else _station(system, station)
    if system is None or giver_station is None:
        return ()
    bucket = bucket_of(world.now)
    rng = Rng(hash_xy(seed_u64(world.seed), sector[0], sector[1], (station << 40) ^ bucket))
    maker = _Maker(world, system, giver_station, bucket)
    out: list[Contract] = []
    if (sector, station) in world.markets:
        out += maker.deliveries(rng)
        out += maker.quotas()
    out += maker.bounties()
    out += maker.escorts()
    return tuple(out)


draw_board = board
"""`board` by a name that the package's re-export of the function does not shadow."""


def reward_round(credits: float) -> int:
    """Credits rounded up to a multiple of ROUND_TO."""
    return math.ceil(credits / rules.ROUND_TO - 1e-9) * rules.ROUND_TO


def deadline_for(estimate_s: float) -> int:
    """The time a contract allows after acceptance for an `estimate_s`-second job."""
    return max(rules.DEADLINE_MIN_S, math.ceil(estimate_s * rules.DEADLINE_FACTOR))


def estimate_hull(content: Content, tier: int) -> Hull:
    """The hull a tier's estimates fly: the starter below BIG_TIER, else the hull with the
    largest hold (slower, so bigger contracts pay for the slower ship that carries them)."""
    if tier < rules.BIG_TIER:
        return content.starter_hull
    return max(content.hulls.values(), key=lambda h: (h.cargo, h.key))


# -- inside -------------------------------------------------------------------------------------


def _station(system: StarSystem, index: int) -> Station | None:
    if not 0 <= index < len(system.stations):
        return None
    found = system.stations[index]
    return None if found.destroyed else found


def _reach(world: World, sector: Sector) -> list[tuple[Sector, Station]]:
    """Live stations in `sector` and its linked systems that the snapshot has."""
    system = world.systems.get(sector)
    if system is None:
        return []
    out = []
    for s in (sector, *system.links):
        other = world.systems.get(s)
        if other is not None:
            out += [(s, st) for st in other.stations if not st.destroyed]
    return out


def _select(offers: list[Contract], limit: int) -> tuple[Contract, ...]:
    """The best paid per estimated second, keeping BOARD_TIER_SLOTS offers of each tier when
    there are that many: a new pilot always finds work of their own tier."""

    def score(c: Contract) -> tuple[float, str]:
        return (-c.reward / max(c.estimate_s, 1), c.id)

    ranked = sorted(offers, key=score)
    chosen: list[Contract] = []
    for tier, slots in enumerate(rules.BOARD_TIER_SLOTS):
        chosen += [c for c in ranked if c.tier == tier][:slots]
    chosen += [c for c in ranked if c not in chosen]
    return tuple(sorted(chosen[:limit], key=score))


class _Maker:
    """Builds one giver's contracts for one bucket."""

    def __init__(self, world: World, system: StarSystem, giver: Station, bucket: int) -> None:
        self.world = world
        self.system = system
        self.station = giver
        self.sector = system.sector
        self.bucket = bucket
        self.giver = Giver(system.sector, giver.index, giver.faction, giver.name)
        self.here = Place(system.sector, giver.x, giver.y)
        self.until = (bucket + 1) * rules.BOARD_BUCKET_S
        self.names = {(s, st.index): st.name for s, st in _reach(world, system.sector)}

    # -- deliveries ------------------------------------------------------------------------------
    def deliveries(self, rng: Rng) -> list[Contract]:
        lines = {m.item: m for m in self.world.markets[(self.sector, self.station.index)]}
        wanted: dict[str, float] = {
            m.item: min(rules.URGENCY_MAX, m.shortage)
            for m in lines.values()
            if m.shortage >= rules.SHORT_AT
        }
        goods = sorted(self.world.content.commodities)
        for _ in range(min(rules.ROUTINE_ORDERS, len(goods))):
            wanted.setdefault(goods.pop(rng.below(len(goods))), 0.0)
        out: list[Contract] = []
        for item in sorted(wanted):
            source = self._source(item)
            if source is None:
                continue
            line = lines.get(item)
            short = 0 if line is None or not wanted[item] else line.target - line.stock
            for tier in sorted({self._small_tier(source[1]), rules.BIG_TIER}):
                made = self._delivery(item, wanted[item], short, source, tier)
                if made is not None:
                    out.append(made)
        return out

    def _source(self, item: str) -> tuple[tuple[Sector, Station], Market] | None:
        """The station in reach with most of `item` relative to its target (then nearest)."""
        best: tuple[tuple[float, float, Sector, int], tuple[Sector, Station], Market] | None = None
        for s, st in _reach(self.world, self.sector):
            if (s, st.index) == (self.sector, self.station.index):
                continue
            line = next(
                (m for m in self.world.markets.get((s, st.index), ()) if m.item == item), None
            )
            if line is None or line.stock < 1:
                continue
            leg = trip(
                self.here, Place(s, st.x, st.y), self.world.systems, self.world.content.starter_hull
            )
            if leg is None:
                continue
            key = (-line.stock / max(line.target, 1), leg.seconds, s, st.index)
            if best is None or key < best[0]:
                best = (key, (s, st), line)
        return None if best is None else (best[1], best[2])

    @staticmethod
    def _small_tier(line: Market) -> int:
        """The lowest tier whose collateral cap buys a useful load (5 units) of the item."""
        for tier, cap in enumerate(rules.TIER_COLLATERAL):
            if cap // max(line.buy, 1) >= 5:
                return min(tier, rules.BIG_TIER)
        return rules.BIG_TIER

    def _delivery(
        self,
        item: str,
        urgency: float,
        short: int,
        source: tuple[tuple[Sector, Station], Market],
        tier: int,
    ) -> Contract | None:
        (src_sector, src), line = source
        qty = min(
            rules.TIER_HOLD[tier] // line.volume,
            line.stock,
            rules.TIER_COLLATERAL[tier] // max(line.buy, 1),
        )
        if short > 0:
            qty = min(qty, short)
        if qty < 1:
            return None
        hull = estimate_hull(self.world.content, tier)
        there = Place(src_sector, src.x, src.y)
        out = trip(self.here, there, self.world.systems, hull, undock=True, dock=True)
        back = trip(there, self.here, self.world.systems, hull, undock=True, dock=True)
        if out is None or back is None:
            return None
        estimate = out.seconds + back.seconds + rules.HANDLING_S
        collateral = qty * line.buy
        reward = reward_round(
            rules.WAGE_PER_S[tier] * estimate * (1 + urgency) + rules.CARGO_SHARE * collateral
        )
        name = self._item_name(item)
        src_name = self.names.get((src_sector, src.index), src.name)
        volume = qty * line.volume
        goals = (
            Goal(
                "pickup",
                Marker("station", src_sector, src.index, src.x, src.y),
                f"Load {qty} {name} at {src_name} (collateral {collateral})",
                item,
                qty,
                volume,
            ),
            Goal(
                "deliver",
                Marker("station", self.sector, self.station.index, self.station.x, self.station.y),
                f"Deliver {qty} {name} to {self.station.name}",
                item,
                qty,
                volume,
            ),
        )
        why = "short of" if urgency > 0 else "requisitions"
        return self._contract(
            "delivery",
            tier,
            f"{self.station.name} {why} {name}: {qty} from {src_name}",
            goals,
            reward,
            collateral,
            estimate,
            (item, src_sector, src.index, qty),
        )

    # -- mining quotas ---------------------------------------------------------------------------
    def quotas(self) -> list[Contract]:
        lines = {m.item: m for m in self.world.markets[(self.sector, self.station.index)]}
        fields = []
        for s in (self.sector, *self.system.links):
            other = self.world.systems.get(s)
            if other is None:
                continue
            for f in other.fields:
                leg = trip(
                    self.here,
                    Place(s, f.x, f.y),
                    self.world.systems,
                    self.world.content.starter_hull,
                )
                if f.richness > 0 and leg is not None:
                    fields.append((leg.seconds, s, f))
        fields.sort(key=lambda t: (t[0], t[1], t[2].index))
        out: list[Contract] = []
        for _, s, f in fields[:2]:
            line = lines.get(f.ore)
            if line is None:
                continue
            for tier in (0, 1, rules.BIG_TIER):
                made = self._quota(s, f, line, tier)
                if made is not None:
                    out.append(made)
        return out

    def _quota(self, s: Sector, f: AsteroidField, line: Market, tier: int) -> Contract | None:
        qty = min(rules.MINING_QTY[tier], f.richness * UNITS_PER_POINT // 2)
        if qty < 1:
            return None
        hull = estimate_hull(self.world.content, tier)
        edge = _edge(f.x, f.y, f.radius, self.here)
        field_place = Place(s, edge[0], edge[1])
        out = trip(self.here, field_place, self.world.systems, hull, undock=True)
        back = trip(field_place, self.here, self.world.systems, hull, dock=True)
        if out is None or back is None:
            return None
        rate = MINING_RATE * f.richness / 100 * self.world.mining_yield
        estimate = out.seconds + back.seconds + qty / max(rate, 1e-6) + rules.HANDLING_S
        urgency = min(rules.URGENCY_MAX, line.shortage if line.shortage >= rules.SHORT_AT else 0.0)
        reward = reward_round(qty * line.sell + rules.WAGE_PER_S[tier] * estimate * (1 + urgency))
        name = self._item_name(f.ore)
        field_name = f"field {f.index + 1} of {self.world.systems[s].name}"
        goals = (
            Goal(
                "mine",
                Marker("field", s, f.index, f.x, f.y, float(f.radius)),
                f"Mine {qty} {name} in {field_name}",
                f.ore,
                qty,
                qty,
            ),
            Goal(
                "handin",
                Marker("station", self.sector, self.station.index, self.station.x, self.station.y),
                f"Hand in {qty} {name} at {self.station.name}",
                f.ore,
                qty,
                qty,
            ),
        )
        return self._contract(
            "mining",
            tier,
            f"{self.station.name} wants {qty} {name}",
            goals,
            reward,
            0,
            estimate,
            (f.ore, s, f.index, qty),
        )

    # -- bounties and escorts --------------------------------------------------------------------
    def bounties(self) -> list[Contract]:
        content = self.world.content
        starter = content.starter_hull
        reach = {self.sector, *self.system.links}
        out: list[Contract] = []
        for ship in sorted(self.world.ships, key=lambda s: s.ship):
            if ship.sector not in reach or not (ship.role == "pirate" or ship.wanted):
                continue
            if ship.faction and ship.faction == self.station.faction:
                continue  # nobody posts a bounty on their own
            hull = content.hulls.get(ship.hull, starter)
            tier = rules.BOUNTY_TIER + (hull.price > starter.price)
            leg = trip(
                self.here,
                Place(ship.sector, ship.x, ship.y),
                self.world.systems,
                starter,
                undock=True,
            )
            if leg is None or tier > 3:
                continue
            estimate = leg.seconds + rules.COMBAT_S + rules.HANDLING_S
            threat = math.sqrt(hull.price / max(starter.price, 1))
            reward = reward_round(rules.BOUNTY_BASE * threat + rules.WAGE_PER_S[tier] * estimate)
            who = ship.name or f"pirate #{ship.ship}"
            goal = Goal(
                "kill",
                Marker("ship", ship.sector, ship.ship, ship.x, ship.y),
                f"Destroy {who} ({hull.name})",
                target=ship.ship,
                clone=ship.clone,
            )
            out.append(
                self._contract(
                    "bounty",
                    tier,
                    f"Bounty on {who}",
                    (goal,),
                    reward,
                    0,
                    estimate,
                    (ship.ship, ship.clone),
                )
            )
        return out

    def escorts(self) -> list[Contract]:
        content = self.world.content
        out: list[Contract] = []
        for ship in sorted(self.world.ships, key=lambda s: s.ship):
            if (
                ship.role != "trader"
                or ship.bound_for is None
                or (ship.sector, ship.docked_at) != (self.sector, self.station.index)
            ):
                continue
            dest_sector, dest_index = ship.bound_for
            dest_system = self.world.systems.get(dest_sector)
            dest = None if dest_system is None else _station(dest_system, dest_index)
            hull = content.hulls.get(ship.hull, content.starter_hull)
            leg: Trip | None = None
            if dest is not None:
                leg = trip(
                    self.here,
                    Place(dest_sector, dest.x, dest.y),
                    self.world.systems,
                    hull,
                    undock=True,
                    dock=True,
                )
            if dest is None or leg is None:
                continue
            estimate = leg.seconds + rules.HANDLING_S
            reward = reward_round(
                rules.ESCORT_BASE + rules.ESCORT_FACTOR * rules.WAGE_PER_S[0] * estimate
            )
            who = ship.name or f"trader #{ship.ship}"
            goal = Goal(
                "escort",
                Marker("station", dest_sector, dest.index, dest.x, dest.y),
                f"Escort {who} to {dest.name}: stay within {rules.ESCORT_RANGE / 1000:.0f} km",
                target=ship.ship,
                clone=ship.clone,
            )
            out.append(
                self._contract(
                    "escort",
                    0,
                    f"Escort {who} to {dest.name}",
                    (goal,),
                    reward,
                    0,
                    estimate,
                    (ship.ship, dest_sector, dest_index),
                )
            )
        return out

    # -- common ----------------------------------------------------------------------------------
    def _contract(
        self,
        kind: ContractKind,
        tier: int,
        title: str,
        goals: tuple[Goal, ...],
        reward: int,
        collateral: int,
        estimate: float,
        subject: Iterable[object],
    ) -> Contract:
        rep = ((self.station.faction, rules.MISSION_REP[tier]),) if self.station.faction else ()
        return Contract(
            id=contract_id(kind[0], self.bucket, self.sector, self.station.index, tier, *subject),
            kind=kind,
            tier=tier,
            giver=self.giver,
            title=title,
            goals=goals,
            reward=reward,
            funding=((MISSIONS, reward),),
            reputation=rep,
            collateral=collateral,
            offered_until=self.until,
            duration_s=deadline_for(estimate),
            estimate_s=math.ceil(estimate),
        )

    def _item_name(self, item: str) -> str:
        content = self.world.content
        found = content.commodities.get(item) or content.ores.get(item)
        return item if found is None else found.name


def _edge(cx: float, cy: float, radius: float, toward: Place) -> tuple[float, float]:
    """The point on a field's rim nearest `toward` (where a ship starts mining)."""
    dx, dy = toward.x - cx, toward.y - cy
    d = math.hypot(dx, dy)
    if d <= radius or d == 0:
        return (toward.x, toward.y)
    return (cx + dx / d * radius, cy + dy / d * radius)
