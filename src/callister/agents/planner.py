"""Route and resource planning for NPC captains: the strategic layer above `decide.py`.

`decide.py` chooses, about once a second, what a ship does *now* (fly on, flee, fight, dock).
The planner chooses *where to go next and why*, each time a clone is free to choose (it
docked, finished mining, finished a patrol beat): a `Plan` of legs (fly within a system, jump
to the next system of a route) with a purpose, and at a station a `Visit` (what to sell, how
much fuel, repairs and ammunition to buy) and then what to buy. The same code runs for a
clone in a system players watch (the server turns the plan into `AgentPool.set_plan`) and
for one simulated off-screen (`offscreen.py`).

Rules it keeps:

- **Never a leg it cannot finish plus a reserve.** Every plan's fuel (`fuel_cost`, by default
  `leg_fuel`: accelerate, coast, brake with a steering margin; per jump the hull's
  `jump_fuel`) is checked against the tank minus RESERVE of its capacity. A plan that does not
  fit becomes a trip to the nearest station that sells fuel; if even that does not fit (it
  counts the reserve too, so only a surprise such as a chase drains a tank), the plan is
  `distress`: the clone calls for help like a player.
- **Upkeep with its own credits**: refuel below REFUEL_BELOW, repair below REPAIR_BELOW and
  rearm below REARM_BELOW when docked where it is sold; go for repairs below MUST_REPAIR.
- **Prices from memory, not an oracle**: a trader (or hauler) estimates what an item sells for
  at another station from what it saw or heard there (`Knowledge.markets`), trusting it less
  as it ages and passes from mouth to mouth (a stale price regresses to the base price), and
  buys where the expected margin covers the spread (and the price each unit bought or sold
  moves), the fuel and the danger of the route; a market it knows nothing of counts at what
  goods usually fetch in its experience, less a discount (carrying goods there is how it
  explores with a purpose). With nothing worth buying it flies to a known bargain when the
  margin pays for both trips, explores a market near by it knows nothing about, or waits
  for news. Haulers add a bonus for bringing goods to stations short of them (a price
  well above base, seen or heard), more so the more agreeable they are.
- **Miners** mine a field until the hold is full, then sell the ore where it is best known to
  pay. **Pirates** prowl lawless systems (`hunt`) and fence loot at lawless markets; whom they
  attack is decided by `decide.py` when they meet (weaker prey only). **Patrols** fly a beat
  near a lawful station; the world assigns them to distress calls and crimes (`respond`).
- **Beliefs steer routes**: every system on a route costs `danger x (1 + 3 N)` extra jumps
  (Big Five neuroticism N; `Knowledge.danger`), so clones avoid systems they believe
  dangerous, the nervous ones more.

Pure: no I/O, no clocks; the fuel model, mining rate and prices come in as data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from callister.agents.atlas import Atlas, FieldInfo, StationId, StationInfo, SystemId
from callister.agents.knowledge import Knowledge
from callister.agents.model import Clone, Goal

RESERVE: Final = 0.12  # fraction of the tank never planned away
REFUEL_BELOW: Final = 0.35  # refuel when docked where fuel is sold and the tank is below this
REPAIR_BELOW: Final = 0.9
MUST_REPAIR: Final = 0.5  # below this hull fraction, go for repairs before anything else
REARM_BELOW: Final = 0.6
STEER_MARGIN: Final = 1.3  # fuel burnt steering and correcting, over the ideal profile
TURN_S: Final = 2.0  # seconds of full burn per leg for turning and docking manoeuvres
LEG_OVERHEAD_S: Final = 25.0  # undock, turn, approach and dock
JUMP_S: Final = 4.0  # charging (2 s) and getting under way
MAX_TRADE_JUMPS: Final = 2
EXPLORE_JUMPS: Final = 1
MIN_MARGIN: Final = 0.03  # a trade must promise this fraction over its cost
MINER_LOAD_S: Final = 3600.0  # a miner's next load, what its time away is weighed against:
# miners sell near their fields (local gluts: the traders' business is to carry ore on)
MINER_FLOOR: Final = 0.55  # miners sell ore down to this x base (traders and the rest FLOOR)
TRADE_SHARE: Final = 0.2  # the most of a station's stock one trader buys at once
FLOOR: Final = 0.6  # nobody sells a good down below this x its base price, nor ...
CEILING: Final = 1.7  # ... buys it up above this: prices stay within the 0.5-2x band
UNKNOWN_DISCOUNT: Final = 0.9  # a market nobody told it about: its usual price, less this
RESTLESS_S: Final = 45 * 72_000 // 60  # ticks without a deal before a trader runs a small lot
SELL_BELOW_PAID: Final = 0.75  # keep goods rather than sell below this fraction of their price
MINE_REACH: Final = 150.0
PROWL_S: Final = 1800.0  # a pirate's prowl or a patrol's beat in one place


FuelCost = Callable[["HullSpec", float], float]


@dataclass(frozen=True, slots=True)
class HullSpec:
    """What the planner needs of a hull (content `hulls.toml`): tank and burn, jump fuel,
    thrust and top speed, hold, hull and shield points, whether it is armed and whether its
    weapons use ammunition, and its combat strength (the server's measure:
    (hull + shield) / 100 x weapons)."""

    key: str
    fuel: float
    fuel_burn: float
    jump_fuel: float
    thrust: float
    max_speed: float
    cargo: int
    hull: float
    shield: float
    weapons: int = 0
    ammo: bool = False

    @property
    def strength(self) -> float:
        return (self.hull + self.shield) / 100.0 * max(self.weapons, 1)

    @classmethod
    def of(cls, hull: Any, weapons: Mapping[str, Any] | None = None) -> HullSpec:
        """From a content `Hull` (duck typing); `weapons` (content weapons by key) tells
        which loadout weapons use ammunition."""
        loadout = tuple(getattr(hull, "loadout", ()))
        uses_ammo = any(
            getattr(weapons.get(w), "ammo", 0) > 0 for w in loadout if weapons is not None
        )
        return cls(
            key=str(hull.key),
            fuel=float(hull.fuel),
            fuel_burn=float(hull.fuel_burn),
            jump_fuel=float(hull.jump_fuel),
            thrust=float(hull.thrust),
            max_speed=float(hull.max_speed),
            cargo=int(hull.cargo),
            hull=float(hull.hull),
            shield=float(hull.shield),
            weapons=len(loadout),
            ammo=uses_ammo,
        )


def leg_fuel(hull: HullSpec, distance: float) -> float:
    """Fuel for an in-system leg of `distance` metres: full thrust up to speed (or half way),
    coast, brake (braking burns like thrust), times STEER_MARGIN, plus TURN_S of burn."""
    if distance <= 0 or hull.fuel_burn <= 0:
        return 0.0
    a = max(hull.thrust, 1e-3)
    burn_s = 2.0 * min(hull.max_speed / a, math.sqrt(distance / a))
    return (burn_s * STEER_MARGIN + TURN_S) * hull.fuel_burn


def leg_seconds(hull: HullSpec, distance: float) -> float:
    """Seconds for an in-system leg: accelerate, coast at top speed, brake, plus the
    manoeuvres at both ends (LEG_OVERHEAD_S)."""
    if distance <= 0:
        return LEG_OVERHEAD_S
    a, v = max(hull.thrust, 1e-3), max(hull.max_speed, 1e-3)
    cruise = distance >= v * v / a  # reaches top speed before half way
    t = distance / v + v / a if cruise else 2.0 * math.sqrt(distance / a)
    return t + LEG_OVERHEAD_S


@dataclass(slots=True)
class Ship:
    """An NPC's ship and purse as its captain knows them (the ledger holds the truth of
    credits and cargo; the world updates these from every receipt).

    `docked_at` a station or None; `fuel`, `hull_hp` absolute; `ammo` 0..1 of the magazines;
    `cargo` item -> units; `paid` item -> the unit price paid (what a sale must beat);
    `sell_at` the station the goods aboard are meant for."""

    clone_id: int
    actor: int
    ship_id: int
    goal: Goal
    hull: HullSpec
    system: SystemId
    x: float
    y: float
    docked_at: StationId | None = None
    fuel: float = 0.0
    hull_hp: float = 0.0
    ammo: float = 1.0
    cargo: dict[str, int] = field(default_factory=dict)
    paid: dict[str, float] = field(default_factory=dict)
    credits: int = 0
    sell_at: StationId | None = None
    home: SystemId | None = None
    last_trade: int | None = None  # tick of its last market deal
    role: str = ""  # the NPC role it was born to (content npc_roles key; "" = its goal's)

    def cargo_used(self, volumes: Mapping[str, int]) -> int:
        return sum(q * volumes.get(i, 1) for i, q in self.cargo.items())


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg: `fly` within `system` from (x0, y0) to (x1, y1), or `jump` from `origin` to
    `system` (arriving at (x1, y1)). `fuel` and `seconds` as planned."""

    kind: str
    system: SystemId
    x0: float
    y0: float
    x1: float
    y1: float
    fuel: float
    seconds: float
    origin: SystemId | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """What a clone does next and why. `purpose`: trade (carry goods to `station`), buy (fly
    to `station` to buy), explore (learn `station`'s prices), sell (ore), refuel, repair,
    mine (`field`), hunt (prowl a system), fence (sell loot), patrol, respond (go to `x, y`),
    rescue, home, distress (stranded: call for help), wait (stay docked `seconds`).
    `legs` to get there; `seconds` to spend there (mining, prowling, a patrol beat)."""

    purpose: str
    legs: tuple[Leg, ...] = ()
    station: StationId | None = None
    field: FieldInfo | None = None
    seconds: float = 0.0
    target: int = 0
    note: str = ""

    @property
    def fuel(self) -> float:
        return sum(leg.fuel for leg in self.legs)

    @property
    def travel_seconds(self) -> float:
        return sum(leg.seconds for leg in self.legs)

    @property
    def system(self) -> SystemId | None:
        return self.legs[-1].system if self.legs else None


@dataclass(frozen=True, slots=True)
class MarketView:
    """A station's screen as the planner reads it: unit prices to buy and sell, stock and
    volume per item, the fuel price (None: no fuel sold) and the services."""

    station: StationId
    buy: Mapping[str, int]
    sell: Mapping[str, int]
    stock: Mapping[str, int]
    fuel_price: float | None
    services: frozenset[str]


@dataclass(frozen=True, slots=True)
class Visit:
    """What to do at a station before choosing purchases: sell these (item, units), buy this
    much fuel, repair, rearm."""

    sell: tuple[tuple[str, int], ...] = ()
    refuel: float = 0.0
    repair: bool = False
    rearm: bool = False


@dataclass(frozen=True, slots=True)
class Purchase:
    """What to buy here (item, units, the station they are for) and the expected margin."""

    item: str
    qty: int
    sell_at: StationId
    margin: float


class Planner:
    """Plans for the NPCs of one world (see the module docstring). `bases` and `volumes`:
    every tradeable item's base price and cargo volume; `mining_rate` units per second at
    richness 100 (the sim's MINING_RATE); `fuel_cost(hull, metres)` the fuel of an in-system
    leg (the simulation's own function when there is one); `fuel_price` the usual price of
    a unit of fuel; `stock_value` what a typical market keeps of each good, in credits (the
    economy's STOCK_VALUE: how deep a market it has not seen is)."""

    def __init__(
        self,
        atlas: Atlas,
        *,
        bases: Mapping[str, int],
        volumes: Mapping[str, int],
        ores: Mapping[str, int] | None = None,
        mining_rate: float = 1.0,
        fuel_cost: FuelCost = leg_fuel,
        fuel_price: float = 3.0,
        stock_value: float = 20_000.0,
    ) -> None:
        self.atlas = atlas
        self.bases = dict(bases)
        self.volumes = dict(volumes)
        self.ores = dict(ores or {})
        self.mining_rate = float(mining_rate)
        self.fuel_cost = fuel_cost
        self.fuel_price = float(fuel_price)
        self.stock_value = float(stock_value)
        self._markets: frozenset[StationId] | None = None
        self._near: dict[SystemId, tuple[StationId, ...]] = {}

    # --- routes and fuel --------------------------------------------------------------------

    def reserve(self, ship: Ship) -> float:
        return RESERVE * ship.hull.fuel

    def legs_to(
        self,
        ship: Ship,
        system: SystemId,
        x: float,
        y: float,
        *,
        knowledge: Knowledge | None = None,
        now: int = 0,
        nerves: float = 0.5,
    ) -> tuple[Leg, ...] | None:
        """Legs from where the ship is to (x, y) in `system`: jumps along the route (dangerous
        systems avoided per `knowledge`), then one flight. None when unreachable."""
        cost = None
        if knowledge is not None and knowledge.dangers:

            def cost(s: SystemId) -> float:
                return knowledge.danger(s, now) * (1.0 + 3.0 * nerves)

        route = self.atlas.route(ship.system, system, cost)
        if route is None:
            return None
        legs: list[Leg] = []
        here, px, py = ship.system, ship.x, ship.y
        h = ship.hull
        for hop in route:
            ax, ay = self.atlas.system(hop).arrival(here)
            legs.append(Leg("jump", hop, px, py, ax, ay, h.jump_fuel, JUMP_S, origin=here))
            here, px, py = hop, ax, ay
        d = math.hypot(x - px, y - py)
        legs.append(Leg("fly", system, px, py, x, y, self.fuel_cost(h, d), leg_seconds(h, d)))
        return tuple(legs)

    def fits(self, ship: Ship, legs: tuple[Leg, ...], *, reserve: bool = True) -> bool:
        """The tank holds the legs' fuel plus the reserve (or without it, in an emergency)."""
        need = sum(leg.fuel for leg in legs) + (self.reserve(ship) if reserve else 0.0)
        return ship.fuel >= need - 1e-6

    def nearest_service(
        self, ship: Ship, service: str, *, reserve: bool = True, jumps: int = 3
    ) -> tuple[StationInfo, tuple[Leg, ...]] | None:
        """The nearest station offering `service` whose trip fits the tank (with or without
        the reserve), by fuel then distance; None if there is none in reach."""
        best: tuple[float, StationId, StationInfo, tuple[Leg, ...]] | None = None
        for system in self.atlas.within(ship.system, jumps):
            for st in self.atlas.system(system).stations:
                if not st.has(service) or st.id == ship.docked_at:
                    continue
                legs = self.legs_to(ship, system, st.x, st.y)
                if legs is None or not self.fits(ship, legs, reserve=reserve):
                    continue
                key = (sum(leg.fuel for leg in legs), st.id)
                if best is None or key < best[:2]:
                    best = (key[0], key[1], st, legs)
            if best is not None and system != ship.system:
                break  # nothing nearer lies farther out
        return None if best is None else (best[2], best[3])

    # --- at a station -------------------------------------------------------------------------

    def visit(
        self,
        ship: Ship,
        clone: Clone,
        station: StationInfo,
        market: MarketView | None,
        *,
        refuel: bool = False,
    ) -> Visit:
        """What to sell and which upkeep to buy on docking at `station` (before purchases).
        `market` is its screen as the clone read it: it sells what is worth selling here
        (planned here, or not much below what it paid, or no better market known), but no
        more than the market takes before a unit's value falls below FLOOR of its base
        (`absorbs`): the rest goes on to another market. `refuel`: fill the tank whatever its
        level (the next plan needs it)."""
        services = station.services
        sell: list[tuple[str, int]] = []
        if market is not None and ship.cargo:
            for item, qty in sorted(ship.cargo.items()):
                price = market.sell.get(item, 0)
                if qty <= 0 or price <= 0:
                    continue
                paid = ship.paid.get(item, 0.0)
                planned_here = ship.sell_at == market.station
                worth_it = planned_here or not paid or price >= SELL_BELOW_PAID * paid
                if worth_it or not self._better_market(ship, clone, item, price):
                    floor = MINER_FLOOR if ship.goal is Goal.MINER else FLOOR
                    n = min(qty, self.absorbs(market, item, floor))
                    if n > 0:
                        sell.append((item, n))
        h = ship.hull
        fuel = 0.0
        if "refuel" in services and (refuel or ship.fuel < REFUEL_BELOW * h.fuel):
            fuel = h.fuel - ship.fuel
        repair = "repair" in services and ship.hull_hp < REPAIR_BELOW * h.hull
        rearm = "rearm" in services and h.ammo and ship.ammo < REARM_BELOW
        return Visit(tuple(sell), fuel, repair, rearm)

    def absorbs(self, market: MarketView, item: str, floor: float = FLOOR) -> int:
        """How many units of `item` the market takes before a unit's value falls below
        `floor` x its base price. A unit's value is base x sqrt(target / stock), so the
        screen's sell price and stock give the target (target = stock x (value / base)^2)."""
        base = self.bases.get(item, 0)
        sell = market.sell.get(item, 0)
        stock = market.stock.get(item, 0)
        if base <= 0 or sell <= 0:
            return 0
        value = sell / 0.95  # the screen's sell price is the unit's value less the spread
        target = max(stock, 1) * (value / base) ** 2
        return max(0, int(target / (floor * floor)) - stock)

    def buys(self, market: MarketView, item: str, ceiling: float = CEILING) -> int:
        """How many units of `item` can be bought before a unit's value rises above
        `ceiling` x its base price (the mirror of `absorbs`)."""
        base = self.bases.get(item, 0)
        buy = market.buy.get(item, 0)
        stock = market.stock.get(item, 0)
        if base <= 0 or buy <= 0 or stock <= 0:
            return 0
        target = stock * (buy / 1.05 / base) ** 2
        return max(0, stock - math.ceil(target / (ceiling * ceiling)))

    def _better_market(self, ship: Ship, clone: Clone, item: str, here: int) -> bool:
        k = clone.knowledge
        for station in k.markets:
            if station == ship.docked_at:
                continue
            if self.atlas.hops(ship.system, station[:2]) > MAX_TRADE_JUMPS:
                continue
            if self._expected_sell(k, station, item, 0) > 1.15 * here:
                return True
        return False

    def _expected_sell(self, k: Knowledge, station: StationId, item: str, now: int) -> float:
        """What a unit of `item` is expected to fetch at `station`: the price we know,
        trusted by its weight, the rest from the base price (less the market's spread)."""
        base = self.bases.get(item, 0) * 0.95
        m = k.markets.get(station)
        if m is None or item not in m.sell:
            return base
        w = k.price_weight(station, now) if now else 1.0
        return w * m.sell[item] + (1.0 - w) * base

    def purchase(self, ship: Ship, clone: Clone, market: MarketView, now: int) -> Purchase | None:
        """What a trader or hauler buys here to sell elsewhere, from the prices it knows
        (seen or heard: `Knowledge.markets`, trusted by age and hops); None when nothing
        promises a margin over the spread, the fuel and the route's danger (then
        `next_plan` explores). Ranked by gain per jump."""
        if ship.goal not in (Goal.TRADER, Goal.HAULER):
            return None
        room = ship.hull.cargo - ship.cargo_used(self.volumes)
        budget = ship.credits - self._upkeep_budget(ship)
        if room <= 0 or budget <= 0:
            return None
        k = clone.knowledge
        nerves = clone.personality.neuroticism
        kindness = clone.personality.agreeableness if ship.goal is Goal.HAULER else 0.0
        near = self.markets_near(ship.system)
        # per market in reach: (station, its known sell prices, how much they count, trip
        # cost, jumps); a market it knows nothing of is expected to pay what goods usually
        # fetch in its experience (`_typical`), less UNKNOWN_DISCOUNT for the uncertainty
        outlets = []
        empty: dict[str, int] = {}
        for station in near:
            if station == market.station:
                continue
            m = k.markets.get(station)
            w = k.price_weight(station, now) if m is not None else 0.0
            hops = self.atlas.hops(ship.system, station[:2])
            trip = self._trip_cost(ship, station, k, now, nerves, 0.0)
            outlets.append((station, m.sell if m is not None else empty, w, trip, hops))
        typical = self._typical(k, now)
        best: tuple[float, str, StationId, int, float] | None = None
        for item, price in sorted(market.buy.items()):
            stock = market.stock.get(item, 0)
            if price <= 0 or stock <= 0:
                continue
            most = min(
                room // max(1, self.volumes.get(item, 1)),
                budget // price,
                int(stock * TRADE_SHARE),
                self.buys(market, item),
            )
            if most <= 0:
                continue
            base = self.bases.get(item, price)
            prior = typical.get(item, 0.95 * base)
            for station, sells, w, trip, hops in outlets:
                seen = sells.get(item)
                sell = prior * UNKNOWN_DISCOUNT if seen is None else w * seen + (1.0 - w) * prior
                if sell - price < MIN_MARGIN * price:
                    continue  # not even the first unit pays
                short = 0.0
                if kindness and seen is not None and seen > 1.2 * base:
                    short = (seen / base - 1.0) * base * 0.5 * (0.5 + kindness)
                # every unit bought raises the price here and every unit sold lowers it
                # there: try a few lot sizes, keep the best
                for qty in {most, max(1, most // 2), max(1, most // 4)}:
                    cost = self._avg_buy(market, item, qty) * qty
                    income = (self._avg_sell(item, sell, qty) + short) * qty
                    if income < (1.0 + MIN_MARGIN) * cost:
                        continue
                    gain = income - cost - trip - self._risk(k, station, now, nerves, cost)
                    if gain <= 0:
                        continue
                    per_jump = gain / (1.0 + hops)
                    if best is None or (per_jump, item, station) > (best[0], best[1], best[2]):
                        best = (per_jump, item, station, qty, sell - price)
        if best is None:
            return None
        return Purchase(best[1], best[3], best[2], best[4])

    def _typical(self, k: Knowledge, now: int) -> dict[str, float]:
        """What each good usually sells for in the clone's experience: the mean of the sell
        prices it knows, weighted by how much each counts (none known: 0.95 of the base)."""
        total: dict[str, float] = {}
        weight: dict[str, float] = {}
        for station, m in k.markets.items():
            w = k.price_weight(station, now)
            for item, sell in m.sell.items():
                total[item] = total.get(item, 0.0) + w * sell
                weight[item] = weight.get(item, 0.0) + w
        out = {}
        for item, base in self.bases.items():
            w = weight.get(item, 0.0)
            prior = 0.95 * base
            out[item] = (total[item] + prior) / (w + 1.0) if w > 0 else prior
        return out

    def _avg_buy(self, market: MarketView, item: str, qty: int) -> float:
        """The mean unit price of buying `qty` here: the screen gives the stock and the
        price, hence the market's target (value = base x sqrt(target / stock)); buying takes
        units off the top, each dearer (the integral of the price over the units)."""
        base = self.bases.get(item, 0)
        price = market.buy.get(item, 0)
        s = market.stock.get(item, 0)
        if base <= 0 or s <= 0 or qty <= 0:
            return float(price)
        target = s * (price / 1.05 / base) ** 2
        left = max(s - qty, 0.5)
        mean = 2.0 * (math.sqrt(s) - math.sqrt(left)) / max(s - left, 1e-9)
        return 1.05 * base * min(4.0, math.sqrt(target) * mean)

    def _avg_sell(self, item: str, unit: float, qty: int) -> float:
        """The mean unit proceeds of selling `qty` where the first unit fetches `unit`: the
        market's stock is unknown there, so its target is taken as the typical one
        (`stock_value` / base) and its stock follows from the price."""
        base = self.bases.get(item, 0)
        if base <= 0 or unit <= 0 or qty <= 0:
            return unit
        target = self.stock_value / base
        factor = max(unit / 0.95 / base, 0.25)
        s = target / (factor * factor)
        mean = 2.0 * (math.sqrt(s + qty) - math.sqrt(s)) / qty
        return 0.95 * base * max(0.25, math.sqrt(target) * mean)

    def small_lot(self, ship: Ship, clone: Clone, market: MarketView, now: int) -> Purchase | None:
        """A trader without a deal for RESTLESS_S buys a small lot (an eighth of its hold)
        of what it expects to sell best at the nearest other market, for that market: a
        short run that keeps it trading (and learning prices) at a small cost, rather than
        idling."""
        idle = now - ship.last_trade if ship.last_trade is not None else RESTLESS_S
        if idle < RESTLESS_S or ship.goal not in (Goal.TRADER, Goal.HAULER):
            return None
        others = [s for s in self.markets_near(ship.system) if s != market.station]
        if not others:
            return None
        to = min(others, key=lambda s: (self._trip_seconds(ship, s), s))
        room = (ship.hull.cargo - ship.cargo_used(self.volumes)) // 8
        budget = (ship.credits - self._upkeep_budget(ship)) // 4
        k = clone.knowledge
        there = k.markets.get(to)
        typical = self._typical(k, now)
        w = k.price_weight(to, now) if there is not None else 0.0
        best: tuple[float, str, int] | None = None
        for item, price in sorted(market.buy.items()):
            if price <= 0 or market.stock.get(item, 0) <= 0 or item not in typical:
                continue
            qty = min(
                room // max(1, self.volumes.get(item, 1)),
                budget // price,
                self.buys(market, item),
                int(market.stock.get(item, 0) * TRADE_SHARE),
            )
            if qty <= 0:
                continue
            seen = there.sell.get(item) if there is not None else None
            sell = typical[item] if seen is None else w * seen + (1.0 - w) * typical[item]
            gain = (sell - price) * qty  # the most it expects to make, or the least it risks
            if best is None or (gain, item) > (best[0], best[1]):
                best = (gain, item, qty)
        if best is None:
            return None
        return Purchase(best[1], best[2], to, 0.0)

    def _upkeep_budget(self, ship: Ship) -> int:
        """Credits a captain keeps back for fuel and repairs (a full tank at twice the usual
        fuel price)."""
        return int(ship.hull.fuel * self.fuel_price * 2)

    def _trip_cost(
        self, ship: Ship, station: StationId, k: Knowledge, now: int, nerves: float, value: float
    ) -> float:
        """The fuel (in credits) of getting to `station`, plus the danger of the way for
        cargo worth `value` (`_risk`)."""
        st = self.atlas.station(station)
        hops = self.atlas.hops(ship.system, st.system)
        if hops == 0:
            d = math.hypot(st.x - ship.x, st.y - ship.y)
        else:
            d = 0.8 * self.atlas.system(st.system).radius
        fuel = self.fuel_cost(ship.hull, d) + hops * ship.hull.jump_fuel
        return fuel * self.fuel_price + (self._risk(k, station, now, nerves, value) if value else 0)

    def _risk(
        self, k: Knowledge, station: StationId, now: int, nerves: float, value: float
    ) -> float:
        """What a captain fears to lose carrying `value` to `station`: the danger it believes
        of the system there, the more so the more neurotic."""
        if not k.dangers:
            return 0.0
        return k.danger(station[:2], now) * value * (0.3 + nerves)

    def _stations_with_market(self) -> frozenset[StationId]:
        if self._markets is None:
            self._markets = frozenset(s.id for s in self.atlas.stations() if s.has("market"))
        return self._markets

    def charted(self) -> None:
        """The atlas grew (`Atlas.extend`): forget what was cached about it."""
        self._markets = None
        self._near.clear()

    def markets_near(self, system: SystemId) -> tuple[StationId, ...]:
        """Market stations within MAX_TRADE_JUMPS of `system` (cached per system)."""
        found = self._near.get(system)
        if found is None:
            found = self._near[system] = tuple(
                st.id
                for s in self.atlas.within(system, MAX_TRADE_JUMPS)
                for st in self.atlas.system(s).stations
                if st.has("market")
            )
        return found

    # --- what next ------------------------------------------------------------------------------

    def next_plan(self, ship: Ship, clone: Clone, now: int) -> Plan:
        """What the clone does next from where it is (docked or in space). Upkeep first
        (fuel, repairs), then its goal; every plan fits the tank plus the reserve, or the
        plan is a trip to fuel, or `distress`."""
        p = clone.personality
        k = clone.knowledge
        h = ship.hull
        if ship.hull_hp < MUST_REPAIR * h.hull and (
            ship.docked_at is None or not self.atlas.station(ship.docked_at).has("repair")
        ):
            found = self.nearest_service(ship, "repair")
            if found is not None:
                return Plan("repair", found[1], station=found[0].id, note=found[0].name)
        plan = self._goal_plan(ship, clone, now, p.neuroticism, k)
        if plan.purpose == "wait" and ship.docked_at is None:
            plan = self._home_port(ship)  # nothing to do out here: go and dock somewhere
        if plan.purpose in ("distress", "wait"):
            return plan
        if self.fits(ship, plan.legs + self._onward(ship, plan)):
            return plan
        here = self.atlas.station(ship.docked_at) if ship.docked_at is not None else None
        if here is not None and here.has("refuel") and ship.fuel < ship.hull.fuel - 1.0:
            return Plan("refuel", station=here.id, note=here.name)  # fill up here first
        fuel = self.nearest_service(ship, "refuel")
        if fuel is None:  # the reserve is for exactly this: getting to fuel
            fuel = self.nearest_service(ship, "refuel", reserve=False)
        if fuel is not None:
            return Plan("refuel", fuel[1], station=fuel[0].id, note=fuel[0].name)
        if here is not None and here.has("refuel"):
            return Plan("wait", station=here.id, seconds=900.0, note="no credits for fuel")
        return Plan("distress", note="out of fuel")

    def _home_port(self, ship: Ship) -> Plan:
        """The nearest station in reach (fuel sold there first), for a clone in space with
        nothing to do; a refuel trip, and if even that is out of reach, distress."""
        found = self.nearest_service(ship, "refuel")
        if found is not None:
            return Plan("refuel", found[1], station=found[0].id, note=found[0].name)
        here = self.atlas.system(ship.system).stations
        if here:
            st = min(here, key=lambda s: (math.hypot(s.x - ship.x, s.y - ship.y), s.id))
            legs = self.legs_to(ship, st.system, st.x, st.y)
            if legs is not None and self.fits(ship, legs):
                return Plan("wait", legs, station=st.id, note=st.name)
        emergency = self.nearest_service(ship, "refuel", reserve=False)
        if emergency is not None:
            return Plan("refuel", emergency[1], station=emergency[0].id, note=emergency[0].name)
        return Plan("distress", note="out of fuel")

    def _onward(self, ship: Ship, plan: Plan) -> tuple[Leg, ...]:
        """Where a plan ends, the fuel to get on to fuel must be in the tank too: a plan that
        ends in space (mining, prowling, a beat) or at a station that sells no fuel adds the
        leg to the nearest station that does (in that system, else one jump on). Patrols and
        pirates move about while there: their beat counts three such legs."""
        if not plan.legs:
            return ()
        if plan.station is not None and self.atlas.station(plan.station).has("refuel"):
            return ()
        last = plan.legs[-1]
        fuel = self._to_fuel(ship, last.system, last.x1, last.y1)
        if plan.purpose in ("patrol", "hunt"):
            fuel *= 3
        return (Leg("fly", last.system, last.x1, last.y1, last.x1, last.y1, fuel, 0.0),)

    def to_fuel(self, ship: Ship, system: SystemId, x: float, y: float) -> float:
        """Fuel from (x, y) in `system` to the nearest fuel (see `_to_fuel`)."""
        return self._to_fuel(ship, system, x, y)

    def _to_fuel(self, ship: Ship, system: SystemId, x: float, y: float) -> float:
        """Fuel from (x, y) in `system` to its nearest station selling fuel (or, if it has
        none, to one a jump away); a full tank when there is none in reach."""
        h = ship.hull
        best = math.inf
        for st in self.atlas.system(system).stations:
            if st.has("refuel"):
                best = min(best, self.fuel_cost(h, math.hypot(st.x - x, st.y - y)))
        if best < math.inf:
            return best
        for n in self.atlas.links(system):
            info = self.atlas.system(n)
            ax, ay = info.arrival(system)
            for st in info.stations:
                if st.has("refuel"):
                    d = math.hypot(st.x - ax, st.y - ay)
                    best = min(best, h.jump_fuel + self.fuel_cost(h, d))
        return best if best < math.inf else h.fuel

    def _goal_plan(self, ship: Ship, clone: Clone, now: int, nerves: float, k: Knowledge) -> Plan:
        goal = ship.goal
        if goal in (Goal.TRADER, Goal.HAULER):
            return self._trader_plan(ship, clone, now, nerves, k)
        if goal is Goal.MINER:
            return self._miner_plan(ship, clone, now, nerves, k)
        if goal is Goal.PIRATE:
            return self._pirate_plan(ship, clone, now, k)
        if goal is Goal.PATROL:
            return self._patrol_plan(ship, clone, now)
        return Plan("wait", station=ship.docked_at, seconds=600.0)

    def _to_station(
        self, ship: Ship, station: StationId, purpose: str, k: Knowledge, now: int, nerves: float
    ) -> Plan | None:
        st = self.atlas.station(station)
        legs = self.legs_to(ship, st.system, st.x, st.y, knowledge=k, now=now, nerves=nerves)
        if legs is None:
            return None
        return Plan(purpose, legs, station=station, note=st.name)

    def _trader_plan(self, ship: Ship, clone: Clone, now: int, nerves: float, k: Knowledge) -> Plan:
        if ship.cargo and ship.sell_at is not None and ship.sell_at != ship.docked_at:
            plan = self._to_station(ship, ship.sell_at, "trade", k, now, nerves)
            if plan is not None:
                return plan
        if ship.cargo:
            best = self._best_outlet(ship, k, now, set(ship.cargo))
            if best is not None:
                plan = self._to_station(ship, best, "trade", k, now, nerves)
                if plan is not None:
                    return plan
        target = self._where_to_buy(ship, clone, k, now)
        if target is not None:
            plan = self._to_station(ship, target, "buy", k, now, nerves)
            if plan is not None:
                return plan
        unknown = self._explore_target(ship, clone, k, now)
        if unknown is not None:
            plan = self._to_station(ship, unknown, "explore", k, now, nerves)
            if plan is not None:
                return plan
        return Plan("wait", station=ship.docked_at, seconds=300.0, note="no trade in reach")

    def _best_outlet(
        self, ship: Ship, k: Knowledge, now: int, items: set[str], *, hourly: float = 0.0
    ) -> StationId | None:
        """Where the goods aboard are expected to sell best (not here), net of the trip's
        fuel and risk; with `hourly` (the seconds of the clone's next round of work, e.g. a
        miner's next load) per second of the trip and that work: busy miners sell near by."""
        best: tuple[float, StationId] | None = None
        for station in self.markets_near(ship.system):
            if station == ship.docked_at:
                continue
            value = sum(
                self._expected_sell(k, station, item, now) * ship.cargo.get(item, 0)
                for item in items
            )
            value -= self._trip_cost(ship, station, k, now, 0.5, value)
            if hourly:
                value /= self._trip_seconds(ship, station) + hourly
            if best is None or (value, station) > best:
                best = (value, station)
        return None if best is None else best[1]

    def _trip_seconds(self, ship: Ship, station: StationId) -> float:
        st = self.atlas.station(station)
        hops = self.atlas.hops(ship.system, st.system)
        if hops == 0:
            return leg_seconds(ship.hull, math.hypot(st.x - ship.x, st.y - ship.y))
        r = self.atlas.system(st.system).radius
        return hops * JUMP_S + leg_seconds(ship.hull, 0.8 * r)

    def _where_to_buy(self, ship: Ship, clone: Clone, k: Knowledge, now: int) -> StationId | None:
        """An empty trader: the known market where a known margin pays for both trips (there,
        and on to the best known outlet for the goods), or None (then it explores near by or
        waits for news)."""
        room = ship.hull.cargo - ship.cargo_used(self.volumes)
        near = set(self.markets_near(ship.system))
        # the best and second best known outlet per item (estimated unit proceeds)
        outlets: dict[str, list[tuple[float, StationId]]] = {}
        for station, m in k.markets.items():
            if station not in near:
                continue
            w = k.price_weight(station, now)
            for item, unit_sell in m.sell.items():
                est = w * unit_sell + (1.0 - w) * 0.95 * self.bases.get(item, unit_sell)
                top = outlets.setdefault(item, [])
                top.append((est, station))
                top.sort(reverse=True)
                del top[2:]
        best: tuple[float, StationId] | None = None
        for station, m in k.markets.items():
            if station == ship.docked_at or station not in near:
                continue
            w = k.price_weight(station, now)
            trip = self._trip_cost(ship, station, k, now, 0.5, 0.0)
            for item, unit in m.buy.items():
                base = self.bases.get(item, 0)
                if base <= 0 or unit <= 0 or item not in outlets:
                    continue
                paid = w * unit + (1.0 - w) * 1.05 * base  # it may have moved since
                sell = next((e for e, s in outlets[item] if s != station), 0.0)
                lot = room // max(1, self.volumes.get(item, 1)) // 2
                gain = (sell - paid) * lot - 2 * trip
                if (
                    sell > (1.0 + MIN_MARGIN) * paid
                    and gain > 0
                    and (best is None or (gain, station) > best)
                ):
                    best = (gain, station)
        return None if best is None else best[1]

    def _explore_target(self, ship: Ship, clone: Clone, k: Knowledge, now: int) -> StationId | None:
        """A market whose prices we do not know (nearest first), else the one we know least
        recently: exploring is how a trader without gossip finds its trades."""
        unknown: list[tuple[int, float, StationId]] = []
        stale: list[tuple[float, StationId]] = []
        for station in self.markets_near(ship.system):
            if station == ship.docked_at:
                continue
            hops = self.atlas.hops(ship.system, station[:2])
            if hops > EXPLORE_JUMPS:
                continue  # farther markets it learns of by gossip, not by burning fuel
            if station not in k.markets:
                st = self.atlas.station(station)
                d = math.hypot(st.x - ship.x, st.y - ship.y) if hops == 0 else 1e7
                # spread explorers over the unknown markets: a stable per-clone jitter
                jitter = ((clone.id * 2654435761 + hash_station(station)) % 1000) * 30.0
                unknown.append((hops, d + jitter, station))
            else:
                stale.append((k.markets[station].tick, station))
        if unknown:
            return min(unknown)[2]
        if stale:
            return min(stale)[1]
        return None

    def _miner_plan(self, ship: Ship, clone: Clone, now: int, nerves: float, k: Knowledge) -> Plan:
        used = ship.cargo_used(self.volumes)
        if used >= 0.9 * ship.hull.cargo or (used > 0 and ship.docked_at is None):
            outlet = self._best_outlet(ship, k, now, set(ship.cargo), hourly=MINER_LOAD_S)
            if outlet is not None:
                plan = self._to_station(ship, outlet, "sell", k, now, nerves)
                if plan is not None:
                    return plan
        fields: list[tuple[float, FieldInfo]] = []
        for system in self.atlas.within(ship.system, 1):
            for f in self.atlas.system(system).fields:
                if f.richness <= 0:
                    continue
                danger = k.danger(system, now) if k.dangers else 0.0
                hops = self.atlas.hops(ship.system, system)
                d = math.hypot(f.x - ship.x, f.y - ship.y) if hops == 0 else 3e4
                score = d + hops * 3e4 + danger * (1 + 3 * nerves) * 1e5 - f.richness * 200
                fields.append((score, f))
        if not fields:
            return Plan("wait", station=ship.docked_at, seconds=600.0, note="no field in reach")
        f = min(fields, key=lambda sf: (sf[0], sf[1].system, sf[1].index))[1]
        # approach the field's edge on the side we come from
        ang = math.atan2(ship.y - f.y, ship.x - f.x) if f.system == ship.system else 0.0
        x, y = f.x + f.radius * 0.9 * math.cos(ang), f.y + f.radius * 0.9 * math.sin(ang)
        legs = self.legs_to(ship, f.system, x, y, knowledge=k, now=now, nerves=nerves)
        if legs is None:
            return Plan("wait", station=ship.docked_at, seconds=600.0)
        room = ship.hull.cargo - used
        rate = max(1e-3, self.mining_rate * max(f.richness, 1) / 100.0)
        return Plan("mine", legs, field=f, seconds=room / rate, note=f.ore)

    def _pirate_plan(self, ship: Ship, clone: Clone, now: int, k: Knowledge) -> Plan:
        if ship.cargo:
            outlets = [
                s for s in self.markets_near(ship.system) if not self.atlas.station(s).lawful
            ]
            if outlets:
                fence = min(outlets, key=lambda s: (self.atlas.hops(ship.system, s[:2]), s))
                plan = self._to_station(ship, fence, "fence", k, now, 0.0)
                if plan is not None:
                    return plan
        # prowl: a lawless system near home with stations (traffic), rotating by the hour
        candidates = [
            s
            for s in self.atlas.within(ship.home or ship.system, 1)
            if not self.atlas.system(s).lawful and self.atlas.system(s).stations
        ] or [ship.system]
        system = candidates[(clone.id + now // 72_000) % len(candidates)]
        info = self.atlas.system(system)
        st = (
            info.stations[(clone.id // 7 + now // 12_000) % len(info.stations)]
            if (info.stations)
            else None
        )
        x, y = (st.x * 0.7, st.y * 0.7) if st is not None else (0.3 * info.radius, 0.0)
        legs = self.legs_to(ship, system, x, y)
        if legs is None:
            return Plan("wait", station=ship.docked_at, seconds=600.0)
        return Plan("hunt", legs, seconds=PROWL_S, note=info.name)

    def _patrol_plan(self, ship: Ship, clone: Clone, now: int) -> Plan:
        home = ship.home or ship.system
        lawful = (
            [s for s in self.atlas.system(home).stations if s.lawful]
            or [s for s in self.atlas.system(ship.system).stations if s.lawful]
            or list(self.atlas.system(home).stations)  # a station's own guard (home systems)
        )
        if not lawful:
            return Plan("wait", station=ship.docked_at, seconds=600.0)
        st = lawful[(clone.id + now // 36_000) % len(lawful)]
        ang = ((clone.id % 1009) + now // 6000) * 1.3
        x, y = st.x + 1500.0 * math.cos(ang), st.y + 1500.0 * math.sin(ang)
        legs = self.legs_to(ship, st.system, x, y)
        if legs is None:
            return Plan("wait", station=ship.docked_at, seconds=600.0)
        return Plan("patrol", legs, station=None, seconds=PROWL_S, note=st.name)

    def respond(self, ship: Ship, system: SystemId, x: float, y: float, why: str) -> Plan | None:
        """Fly to (x, y) in `system` to answer a distress call or a crime, if the tank allows
        (the way back to a station included)."""
        legs = self.legs_to(ship, system, x, y)
        if legs is None:
            return None
        plan = Plan(why, legs, seconds=60.0)
        return plan if self.fits(ship, legs + self._onward(ship, plan)) else None


def hash_station(station: StationId) -> int:
    """A stable small hash of a station id (never Python's salted hash())."""
    x, y, i = station
    return ((x * 73856093) ^ (y * 19349663) ^ (i * 83492791)) & 0xFFFFFFFF
