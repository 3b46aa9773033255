"""`Economy`: every credit and item change of a world, as idempotent store transactions.

Promises (the world relies on these):
- Synchronous; call it on the server's single store-writer thread, never on the event loop.
- Every mutating method is ONE `store.ledger.commit`, committed before it returns. The only
  exception is the market drift that `quote` and `trade` apply first: its own transaction,
  idempotent too, and harmless to repeat.
- Idempotent by request id: the transaction key is "<kind>:<account>:<rid>" (kind = the
  method's receipt kind), so a client retrying a request gets the first Receipt back with
  `replay=True` and nothing happens again. Scoping by kind keeps a client's request ids from
  ever colliding with the world's system keys (a death, a mining report). System events with
  no player (expire_wreck) use deterministic keys of their own.
- A refusal raises `EconomyError` (an ErrorCode from the closed protocol set and a message for
  the player) and writes nothing. Money: double-entry ledger, integer credits, the sum of all
  balances is 0; player and bounty accounts never go negative (the store enforces it).
- Items: holdings of holders "ship:<id>", "wreck:<id>", "station:<x>:<y>:<i>"; every move is
  logged; units are created only by mining and market drift and destroyed only by market
  drift, wreck expiry and a death that leaves no wreck.

Ledger accounts: "player:<id>", "bounty:<id>" (escrow on a player's head), and the system
accounts "mint" (starting grants), "market" (trade counterparty), "services" (fuel, repair,
ammo, hulls, modules, insurance premiums; pays hull trade-ins) and "insurer" (payouts).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from callister.content import Content, Hull
from callister.economy import pricing, rules
from callister.economy.audit import audit_books
from callister.economy.vitals import hull_of, magazine, vitals, with_extra, without_vitals
from callister.protocol.errors import ErrorCode
from callister.store import (
    Character,
    InsufficientFunds,
    InsufficientItems,
    ItemMove,
    Posting,
    Store,
    Txn,
    Wreck,
)

MINT = "mint"
MARKET = "market"
SERVICES = "services"
INSURER = "insurer"
SYSTEM_ACCOUNTS: tuple[str, ...] = (MINT, MARKET, SERVICES, INSURER)
SIDES: tuple[str, ...] = ("buy", "sell")
_EPSILON = 1e-6  # vitals this close to full count as full (float noise from the zone)


def player_account(account_id: int) -> str:
    return f"player:{account_id}"


def bounty_account(account_id: int) -> str:
    return f"bounty:{account_id}"


def ship_holder(ship_id: int) -> str:
    return f"ship:{ship_id}"


def wreck_holder(wreck_id: int) -> str:
    return f"wreck:{wreck_id}"


class EconomyError(Exception):
    """A refused economic request: `code` from the protocol's closed set, `message` for the
    player. Nothing was written."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class _StationLike(Protocol):
    index: int
    faction: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class StationRef:
    """A station as the economy needs it: system (x, y), index, faction, services."""

    x: int
    y: int
    index: int
    faction: str
    services: tuple[str, ...]

    def key(self) -> str:
        """The station's holder key, "station:<x>:<y>:<index>" (also its market's name)."""
        return f"station:{self.x}:{self.y}:{self.index}"

    @classmethod
    def of(cls, x: int, y: int, station: _StationLike) -> StationRef:
        """From a universe `Station` (anything with index, faction, services) in system x, y."""
        return cls(x, y, station.index, station.faction, tuple(station.services))


@dataclass(frozen=True)
class Receipt:
    """What a committed (or replayed) economic request did.

    `credits` is the player's balance and `cargo` their ship's hold right after the
    transaction (for wreck_ship: the new ship's, empty). `character` is the updated character,
    already saved, when the request changed the ship or its vitals; else None. A replay
    (`replay=True`) returns all of these as they were after the *first* commit: answer the
    client with it, but do not apply its character or vitals to the zone again.
    """

    txn: int
    rid: str
    kind: str
    credits: int
    cargo: dict[str, int]
    character: Character | None
    detail: dict[str, Any]
    replay: bool

    def message(self) -> dict[str, Any]:
        """The protocol's `receipt` message for the client."""
        return {
            "t": "receipt",
            "rid": self.rid,
            "ok": True,
            "kind": self.kind,
            "credits": self.credits,
            "cargo": dict(self.cargo),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class _Item:
    key: str
    name: str
    base_price: int
    volume: int
    category: str  # "commodity" | "ore"


@dataclass(frozen=True)
class _Plan:
    """One transaction to commit: what Economy._commit sends to the store."""

    kind: str
    account_id: int
    rid: str
    ship_id: int
    detail: dict[str, Any]
    postings: list[Posting] = dataclasses.field(default_factory=list)
    moves: list[ItemMove] = dataclasses.field(default_factory=list)
    character: Character | None = None
    save_wreck: Wreck | None = None
    delete_wreck: int | None = None
    # (detail key, ledger account): the receipt's detail[key] is the account's balance right
    # after the transaction, as the store read it inside it (and stored it for replays)
    totals: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class _Drift:
    """A planned market drift: the stock before and after, and the key to commit it under
    (None: nothing to commit)."""

    market: str
    before: dict[str, int]
    after: dict[str, int]
    idem: str | None
    at: float
    carry: dict[str, float]


class Economy:
    """The world's economy over a Store; see the module docstring for its promises."""

    def __init__(
        self,
        store: Store,
        content: Content,
        world: str,
        *,
        starting_credits: int = rules.STARTING_CREDITS,
        clock: Callable[[], float] = time.time,
        price_multiplier: float = 1.0,
    ) -> None:
        if not isinstance(world, str) or not world:
            raise ValueError(f"world must be a non-empty str, not {world!r}")
        if (
            isinstance(starting_credits, bool)
            or not isinstance(starting_credits, int)
            or not 0 <= starting_credits <= 10**12
        ):
            raise ValueError(f"starting_credits must be an int in [0, 1e12]: {starting_credits!r}")
        if (
            isinstance(price_multiplier, bool)
            or not isinstance(price_multiplier, int | float)
            or not math.isfinite(price_multiplier)
            or not 0 < price_multiplier <= 1000
        ):
            raise ValueError(f"price_multiplier must be in (0, 1000]: {price_multiplier!r}")
        self.store = store
        self.content = content
        self.world = world
        self.starting_credits = starting_credits
        self.clock = clock
        self.price_multiplier = float(price_multiplier)
        items: dict[str, _Item] = {}
        for ore in content.ores.values():
            items[ore.key] = _Item(ore.key, ore.name, ore.base_price, rules.ORE_VOLUME, "ore")
        for c in content.commodities.values():  # a commodity wins a key clash with an ore
            items[c.key] = _Item(c.key, c.name, c.base_price, c.volume, "commodity")
        self._items = items
        # Market screen order: commodities, then ores, each in content order.
        self._market_order = tuple(content.commodities) + tuple(
            k for k in content.ores if k not in content.commodities
        )

    # ------------------------------------------------------------------ reading
    def credits(self, account_id: int) -> int:
        """The player's balance (0 before ensure_player)."""
        return self.store.ledger.balance(
            self.world, player_account(self._int("account_id", account_id))
        )

    def bounty(self, account_id: int) -> int:
        """Credits in escrow on the player's head."""
        return self.store.ledger.balance(
            self.world, bounty_account(self._int("account_id", account_id))
        )

    def cargo(self, ship_id: int) -> dict[str, int]:
        """The ship's hold: {item: qty}."""
        return self.store.ledger.holdings(self.world, ship_holder(self._int("ship_id", ship_id)))

    def cargo_used(self, ship_id: int) -> int:
        """Cargo units the ship's hold uses (qty x item volume)."""
        return self._volume(self.cargo(ship_id))

    def cargo_max(self, character: Character) -> int:
        """The character's hold size (its hull's cargo)."""
        return hull_of(character, self.content).cargo

    def volume(self, item: str) -> int:
        """Cargo units one unit of the item takes (1 for ores and unknown keys)."""
        found = self._items.get(item)
        return rules.ORE_VOLUME if found is None else found.volume

    def fuel_price(self, station: StationRef) -> float:
        return pricing.fuel_price(station.key(), self.price_multiplier)

    def repair_price(self, hull: Hull) -> float:
        """Credits per hull point repaired."""
        return hull.repair_price * self.price_multiplier

    def ammo_price(self, weapon: str) -> int:
        """Credits per round of the weapon's ammunition (0 for energy weapons)."""
        found = self.content.weapons.get(weapon)
        if found is None or found.ammo == 0:
            return 0
        return math.ceil(found.ammo_price * self.price_multiplier)

    def hull_price(self, hull: Hull) -> int:
        return math.ceil(hull.price * self.price_multiplier)

    def module_price(self, weapon: str) -> int:
        return math.ceil(self.content.weapons[weapon].price * self.price_multiplier)

    def premium(self, hull: Hull) -> int | None:
        """The insurance premium for the hull; None if it cannot be insured (the starter)."""
        if hull.starter:
            return None
        return max(1, math.ceil(hull.price * rules.INSURANCE_PREMIUM * self.price_multiplier))

    def payout(self, hull: Hull) -> int:
        """What the insurer pays when an insured ship of this hull is destroyed."""
        if hull.starter:
            return 0
        return math.floor(hull.price * rules.INSURANCE_PAYOUT * self.price_multiplier)

    def trade_in(self, character: Character) -> int:
        """What scrapping the character's current hull is worth towards a new one."""
        v = vitals(character, self.content)
        if v.hull.starter or v.hull.hull <= 0:
            return 0
        fraction = v.hull_hp / v.hull.hull
        return math.floor(v.hull.price * rules.TRADE_IN * self.price_multiplier * fraction)

    def target_stock(self, station: StationRef, item: str) -> int:
        found = self._items[item]
        return pricing.target_stock(station.key(), item, found.base_price)

    # ------------------------------------------------------------------ players
    def ensure_player(self, account_id: int) -> int:
        """Open the player's ledger account with the starting grant (once ever); return the
        current balance. Call it whenever a character enters the world."""
        account_id = self._int("account_id", account_id)
        player = player_account(account_id)
        key = f"open:{account_id}"
        if self.store.ledger.get_txn(self.world, key) is None:
            grant = self.starting_credits
            postings = [Posting(MINT, -grant), Posting(player, grant)] if grant > 0 else []
            self.store.ledger.commit(
                self.world,
                key,
                "open",
                account=player,
                postings=postings,
                result={"granted": grant},
                at=self.clock(),
            )
        return self.store.ledger.balance(self.world, player)

    # ------------------------------------------------------------------ markets
    def quote(self, station: StationRef, character: Character | None = None) -> dict[str, Any]:
        """The station's screen, JSON-ready (applies the market's pending drift first).

        {"station": key, "items": [{"key", "name", "kind", "volume", "buy", "sell", "stock"}],
         "fuel_price": float | None, "repair_price": {hull: per point}, "ammo": {weapon: per
         round}, "hulls": [{"key", "name", "price"}], "modules": [{"key", "name", "price"}],
         "insurance": {hull: premium}, "services": [...]}; sections of services the station
        lacks are empty (fuel_price None). With `character`, also "ship": what its services
        would cost this ship: {"hull", "refuel", "repair", "rearm", "insured", "premium",
        "trade_in"}.
        """
        station = self._station(station)
        services = station.services
        items = []
        if "market" in services:
            stock = self._drift(station)
            for key in self._market_order:
                item = self._items[key]
                target = pricing.target_stock(station.key(), key, item.base_price)
                have = stock.get(key, 0)
                items.append(
                    {
                        "key": key,
                        "name": item.name,
                        "kind": item.category,
                        "volume": item.volume,
                        "buy": pricing.buy_unit_price(
                            item.base_price, target, have, self.price_multiplier
                        ),
                        "sell": pricing.sell_unit_price(
                            item.base_price, target, have, self.price_multiplier
                        ),
                        "stock": have,
                    }
                )
        hulls = self.content.hulls.values()
        shipyard = "shipyard" in services
        screen: dict[str, Any] = {
            "station": station.key(),
            "items": items,
            "fuel_price": self.fuel_price(station) if "refuel" in services else None,
            "repair_price": (
                {h.key: self.repair_price(h) for h in hulls} if "repair" in services else {}
            ),
            "ammo": (
                {k: self.ammo_price(k) for k, w in self.content.weapons.items() if w.ammo > 0}
                if "rearm" in services
                else {}
            ),
            "hulls": (
                [{"key": h.key, "name": h.name, "price": self.hull_price(h)} for h in hulls]
                if shipyard
                else []
            ),
            "modules": (
                [
                    {"key": k, "name": w.name, "price": self.module_price(k)}
                    for k, w in self.content.weapons.items()
                ]
                if shipyard
                else []
            ),
            "insurance": (
                {h.key: p for h in hulls if (p := self.premium(h)) is not None}
                if self._sells_insurance(station)
                else {}
            ),
            "services": list(services),
        }
        if character is not None:
            screen["ship"] = self._ship_costs(station, self._character(character, None))
        return screen

    def trade(
        self,
        rid: str,
        account_id: int,
        character: Character,
        station: StationRef,
        item: str,
        qty: int,
        side: Literal["buy", "sell"],
    ) -> Receipt:
        """Buy from or sell to the station's market at its stock-based price.

        Refusals: NOT_DOCKED (not docked at that station), NOT_AVAILABLE (no market),
        NOT_FOR_SALE (unknown item), OUT_OF_STOCK (the station, or your hold when selling,
        has fewer than qty), CARGO_FULL, INSUFFICIENT_FUNDS, BAD_FIELD (qty < 1, bad side).
        """
        rid, account_id = self._rid(rid), self._int("account_id", account_id)
        qty = self._qty("qty", qty)
        if side not in SIDES:
            raise EconomyError(ErrorCode.BAD_FIELD, f"side must be 'buy' or 'sell', not {side!r}")
        if (done := self._replay("trade", account_id, rid)) is not None:
            return done
        character = self._character(character, account_id)
        station = self._docked(character, station)
        self._needs(station, "market")
        found = self._items.get(item) if isinstance(item, str) else None
        if found is None:
            raise EconomyError(ErrorCode.NOT_FOR_SALE, f"this market does not trade {item!r}")
        # Priced on the drifted stock; the drift is committed only once the trade is valid,
        # so a refused trade writes nothing.
        drift = self._plan_drift(station, restart=True)
        stock = drift.after.get(found.key, 0)
        target = pricing.target_stock(station.key(), found.key, found.base_price)
        base, mult = found.base_price, self.price_multiplier
        player, ship = player_account(account_id), ship_holder(character.ship_id)
        market = station.key()
        cargo = self.store.ledger.holdings(self.world, ship)
        if side == "buy":
            if stock < qty:
                raise EconomyError(
                    ErrorCode.OUT_OF_STOCK, f"the station has {stock} {found.name}, not {qty}"
                )
            room = self.cargo_max(character) - self._volume(cargo)
            if qty * found.volume > room:
                raise EconomyError(
                    ErrorCode.CARGO_FULL,
                    f"{qty} {found.name} take {qty * found.volume} cargo units; {room} free",
                )
            total = pricing.buy_cost(base, target, stock, qty, mult)
            self._afford(account_id, total)
            postings = [Posting(player, -total), Posting(MARKET, total)]
            moves = [ItemMove(found.key, qty, market, ship)]
            after = stock - qty
        else:
            held = cargo.get(found.key, 0)
            if held < qty:
                raise EconomyError(
                    ErrorCode.OUT_OF_STOCK, f"your hold has {held} {found.name}, not {qty}"
                )
            total = pricing.sell_proceeds(base, target, stock, qty, mult)
            postings = [Posting(MARKET, -total), Posting(player, total)] if total > 0 else []
            moves = [ItemMove(found.key, qty, ship, market)]
            after = stock + qty
        detail = {
            "item": found.key,
            "side": side,
            "qty": qty,
            "total": total,
            "station": market,
            "stock": after,
            "buy": pricing.buy_unit_price(base, target, after, mult),
            "sell": pricing.sell_unit_price(base, target, after, mult),
        }
        self._commit_drift(drift)
        return self._commit(
            _Plan("trade", account_id, rid, character.ship_id, detail, postings, moves)
        )

    # ------------------------------------------------------------------ station services
    def refuel(
        self,
        rid: str,
        account_id: int,
        character: Character,
        station: StationRef,
        amount: float | None = None,
    ) -> Receipt:
        """Buy fuel at the station's price: `amount` units (clipped to the tank's room), or
        with None as much as fills the tank or the credits allow. NOT_AVAILABLE if the
        station has no refuel service or the tank is full; INSUFFICIENT_FUNDS if not even
        one unit (or, for an explicit amount, not all of it) is affordable."""
        rid, account_id = self._rid(rid), self._int("account_id", account_id)
        if amount is not None:
            amount = self._positive("amount", amount)
        if (done := self._replay("refuel", account_id, rid)) is not None:
            return done
        character = self._character(character, account_id)
        station = self._docked(character, station)
        self._needs(station, "refuel")
        v = vitals(character, self.content)
        room = v.hull.fuel - v.fuel
        if room <= _EPSILON:
            raise EconomyError(ErrorCode.NOT_AVAILABLE, "the tank is full")
        price = self.fuel_price(station)
        credits = self.credits(account_id)
        want = room if amount is None else min(amount, room)
        if amount is not None and pricing.whole_cost(want, price) > credits:
            raise EconomyError(
                ErrorCode.INSUFFICIENT_FUNDS,
                f"{want:.2f} fuel costs {pricing.whole_cost(want, price)}; you have {credits}",
            )
        want, cost = _as_far_as_credits_go(want, price, credits, "fuel costs", "unit")
        fuel = min(v.hull.fuel, v.fuel + want)
        detail = {"fuel": want, "cost": cost, "price": price, "level": fuel}
        return self._commit(
            _Plan(
                "refuel",
                account_id,
                rid,
                character.ship_id,
                detail,
                self._pay(account_id, SERVICES, cost),
                character=with_extra(character, fuel=fuel),
            )
        )

    def repair(
        self, rid: str, account_id: int, character: Character, station: StationRef
    ) -> Receipt:
        """Repair the hull at its repair_price per point: fully, or as many whole points as
        the credits allow. NOT_AVAILABLE without a repair service or with nothing to repair."""
        rid, account_id = self._rid(rid), self._int("account_id", account_id)
        if (done := self._replay("repair", account_id, rid)) is not None:
            return done
        character = self._character(character, account_id)
        station = self._docked(character, station)
        self._needs(station, "repair")
        v = vitals(character, self.content)
        missing = v.hull.hull - v.hull_hp
        if missing <= _EPSILON:
            raise EconomyError(ErrorCode.NOT_AVAILABLE, "the hull needs no repair")
        price = self.repair_price(v.hull)
        credits = self.credits(account_id)
        points, cost = _as_far_as_credits_go(missing, price, credits, "repairs cost", "point")
        hull_hp = min(v.hull.hull, v.hull_hp + points)
        detail = {"points": points, "cost": cost, "price": price, "level": hull_hp}
        return self._commit(
            _Plan(
                "repair",
                account_id,
                rid,
                character.ship_id,
                detail,
                self._pay(account_id, SERVICES, cost),
                character=with_extra(character, hull_hp=hull_hp),
            )
        )

    def rearm(
        self, rid: str, account_id: int, character: Character, station: StationRef
    ) -> Receipt:
        """Refill every magazine (slot order) at each weapon's ammo_price per round, as far as
        the credits go. NOT_AVAILABLE without a rearm service or with full magazines."""
        rid, account_id = self._rid(rid), self._int("account_id", account_id)
        if (done := self._replay("rearm", account_id, rid)) is not None:
            return done
        character = self._character(character, account_id)
        station = self._docked(character, station)
        self._needs(station, "rearm")
        v = vitals(character, self.content)
        credits = self.credits(account_id)
        ammo = list(v.ammo)
        cost, rounds = 0, 0
        short = False
        for slot, weapon in enumerate(v.weapons):
            missing = magazine(self.content, weapon) - ammo[slot]
            if missing <= 0:
                continue
            price = self.ammo_price(weapon)
            n = missing if price == 0 else min(missing, (credits - cost) // price)
            short = short or n < missing
            ammo[slot] += n
            cost += n * price
            rounds += n
        if rounds == 0:
            if short:
                raise EconomyError(ErrorCode.INSUFFICIENT_FUNDS, f"you have {credits} credits")
            raise EconomyError(ErrorCode.NOT_AVAILABLE, "every magazine is full")
        detail = {"rounds": rounds, "cost": cost, "ammo": ammo, "partial": short}
        return self._commit(
            _Plan(
                "rearm",
                account_id,
                rid,
                character.ship_id,
                detail,
                self._pay(account_id, SERVICES, cost),
                character=with_extra(character, weapons=list(v.weapons), ammo=ammo),
            )
        )

    def buy_hull(
        self, rid: str, account_id: int, character: Character, station: StationRef, hull: str
    ) -> Receipt:
        """Replace the ship's hull (same ship id and hold): price minus the old hull's
        trade-in; the new hull comes full, with its loadout, uninsured. NOT_AVAILABLE without a
        shipyard or for the hull you fly; NOT_FOR_SALE for an unknown hull; CARGO_FULL if the
        hold's contents do not fit the new hull."""
        rid, account_id = self._rid(rid), self._int("account_id", account_id)
        if (done := self._replay("hull", account_id, rid)) is not None:
            return done
        character = self._character(character, account_id)
        station = self._docked(character, station)
        self._needs(station, "shipyard")
        new = self.content.hulls.get(hull) if isinstance(hull, str) else None
        if new is None:
            raise EconomyError(ErrorCode.NOT_FOR_SALE, f"no hull {hull!r} is for sale")
        old = vitals(character, self.content)
        if new.key == old.hull.key:
            raise EconomyError(ErrorCode.NOT_AVAILABLE, f"you already fly a {new.name}")
        used = self.cargo_used(character.ship_id)
        if used > new.cargo:
            raise EconomyError(
                ErrorCode.CARGO_FULL, f"your hold uses {used} units; a {new.name} holds {new.cargo}"
            )
        price, credit = self.hull_price(new), self.trade_in(character)
        self._afford(account_id, price - credit)
        player = player_account(account_id)
        postings = self._pay(account_id, SERVICES, price)
        if credit > 0:
            postings += [Posting(SERVICES, -credit), Posting(player, credit)]
        fresh = dataclasses.replace(without_vitals(character), hull=new.key)
        detail = {
            "hull": new.key,
            "old_hull": old.hull.key,
            "price": price,
            "trade_in": credit,
            "cost": price - credit,
            "insurance_lapsed": old.insured,
        }
        return self._commit(
            _Plan("hull", account_id, rid, character.ship_id, detail, postings, character=fresh)
        )

    def buy_module(
        self,
        rid: str,
        account_id: int,
        character: Character,
        station: StationRef,
        slot: int,
        weapon: str,
    ) -> Receipt:
        """Fit `weapon` into `slot` (replacing what is there, or the next free slot), loaded.
        BAD_SLOT for a slot the hull lacks or past the next free one; NOT_FOR_SALE for an
        unknown weapon; NOT_AVAILABLE without a shipyard or if that weapon is already there."""
        rid, account_id = self._rid(rid), self._int("account_id", account_id)
        slot = self._int("slot", slot)
        if (done := self._replay("module", account_id, rid)) is not None:
            return done
        character = self._character(character, account_id)
        station = self._docked(character, station)
        self._needs(station, "shipyard")
        found = self.content.weapons.get(weapon) if isinstance(weapon, str) else None
        if found is None:
            raise EconomyError(ErrorCode.NOT_FOR_SALE, f"no weapon {weapon!r} is for sale")
        v = vitals(character, self.content)
        weapons, ammo = list(v.weapons), list(v.ammo)
        if not 0 <= slot < v.hull.slots or slot > len(weapons):
            raise EconomyError(
                ErrorCode.BAD_SLOT,
                f"a {v.hull.name} can fit slot 0..{min(v.hull.slots, len(weapons) + 1) - 1}",
            )
        replaced = weapons[slot] if slot < len(weapons) else None
        if replaced == found.key:
            raise EconomyError(ErrorCode.NOT_AVAILABLE, f"slot {slot} already has a {found.name}")
        price = self.module_price(found.key)
        self._afford(account_id, price)
        if replaced is None:
            weapons.append(found.key)
            ammo.append(found.ammo)
        else:
            weapons[slot], ammo[slot] = found.key, found.ammo
        detail = {"slot": slot, "weapon": found.key, "price": price, "replaced": replaced}
        return self._commit(
            _Plan(
                "module",
                account_id,
                rid,
                character.ship_id,
                detail,
                self._pay(account_id, SERVICES, price),
                character=with_extra(character, weapons=weapons, ammo=ammo),
            )
        )

    def insure(
        self, rid: str, account_id: int, character: Character, station: StationRef
    ) -> Receipt:
        """Insure the ship's hull for one loss (premium = INSURANCE_PREMIUM x hull price; the
        payout on destruction is INSURANCE_PAYOUT x price). Sold where there is a repair or
        shipyard service. NOT_AVAILABLE: no such service, already insured, or the starter hull.
        """
        rid, account_id = self._rid(rid), self._int("account_id", account_id)
        if (done := self._replay("insure", account_id, rid)) is not None:
            return done
        character = self._character(character, account_id)
        station = self._docked(character, station)
        if not self._sells_insurance(station):
            raise EconomyError(ErrorCode.NOT_AVAILABLE, "this station sells no insurance")
        v = vitals(character, self.content)
        premium = self.premium(v.hull)
        if premium is None:
            raise EconomyError(
                ErrorCode.NOT_AVAILABLE, f"a {v.hull.name} is replaced free; no policy needed"
            )
        if v.insured:
            raise EconomyError(ErrorCode.NOT_AVAILABLE, "the ship is already insured")
        self._afford(account_id, premium)
        detail = {"hull": v.hull.key, "premium": premium, "payout": self.payout(v.hull)}
        return self._commit(
            _Plan(
                "insure",
                account_id,
                rid,
                character.ship_id,
                detail,
                self._pay(account_id, SERVICES, premium),
                character=with_extra(character, insured=True),
            )
        )

    # ------------------------------------------------------------------ world events
    def mine(self, rid: str, account_id: int, character: Character, ore: str, qty: int) -> Receipt:
        """Create `qty` units of `ore` in the ship's hold (a source), clipped to the free
        room; CARGO_FULL if none fits, BAD_FIELD for an unknown ore. detail["qty"] is what
        was stored, detail["requested"] what was mined."""
        rid, account_id = self._rid(rid), self._int("account_id", account_id)
        qty = self._qty("qty", qty)
        if not isinstance(ore, str) or ore not in self.content.ores:
            raise EconomyError(ErrorCode.BAD_FIELD, f"no ore {ore!r}")
        if (done := self._replay("mine", account_id, rid)) is not None:
            return done
        character = self._character(character, account_id)
        room = self.cargo_max(character) - self.cargo_used(character.ship_id)
        stored = min(qty, room // self.volume(ore))
        if stored <= 0:
            raise EconomyError(ErrorCode.CARGO_FULL, "the hold is full")
        detail = {"ore": ore, "qty": stored, "requested": qty}
        moves = [ItemMove(ore, stored, None, ship_holder(character.ship_id))]
        return self._commit(_Plan("mine", account_id, rid, character.ship_id, detail, moves=moves))

    def wreck_ship(
        self,
        rid: str,
        account_id: int,
        character: Character,
        wreck_id: int,
        new_ship_id: int,
        wreck_at: tuple[int, int, float, float],
        wreck_expires_at: float,
        killer_account: int | None,
    ) -> Receipt:
        """The character's ship was destroyed: ONE transaction that

        - moves its whole hold to holder "wreck:<wreck_id>" and saves the wreck row at
          `wreck_at` = (system_x, system_y, x, y) until `wreck_expires_at`; with wreck_id 0
          (the zone could not spawn one) the cargo is destroyed instead;
        - pays INSURANCE_PAYOUT x the hull's price from the insurer if it was insured;
        - pays the whole bounty on the victim to `killer_account` (not for a suicide, nor
          when the killer is None: an NPC or a station);
        - turns the character into a fresh starter ship `new_ship_id`, docked at its home
          station (x, y, v, angle 0: the zone puts a docked ship at the station's centre),
          vitals full, uninsured.

        `rid` must be deterministic for the death (e.g. the destroyed ship id), so the world can
        retry it safely. Receipt.character is the new character.
        """
        rid, account_id = self._rid(rid), self._int("account_id", account_id)
        wreck_id = self._int("wreck_id", wreck_id, minimum=0)
        new_ship_id = self._int("new_ship_id", new_ship_id, minimum=1)
        if not isinstance(wreck_at, tuple | list) or len(wreck_at) != 4:
            raise EconomyError(ErrorCode.BAD_FIELD, "wreck_at must be (system_x, system_y, x, y)")
        sx, sy = self._int("system_x", wreck_at[0]), self._int("system_y", wreck_at[1])
        wx, wy = self._finite("x", wreck_at[2]), self._finite("y", wreck_at[3])
        expires = self._finite("wreck_expires_at", wreck_expires_at)
        killer = None if killer_account is None else self._int("killer_account", killer_account)
        if (done := self._replay("death", account_id, rid)) is not None:
            return done
        character = self._character(character, account_id)
        if new_ship_id == character.ship_id:
            raise EconomyError(ErrorCode.BAD_FIELD, "the new ship needs a new id")
        v = vitals(character, self.content)
        old_ship = ship_holder(character.ship_id)
        lost = self.store.ledger.holdings(self.world, old_ship)
        destination = wreck_holder(wreck_id) if wreck_id > 0 else None
        moves = [ItemMove(item, qty, old_ship, destination) for item, qty in sorted(lost.items())]
        wreck = None
        if wreck_id > 0:
            wreck = Wreck(self.world, wreck_id, sx, sy, wx, wy, expires, account_id)
        player = player_account(account_id)
        postings: list[Posting] = []
        payout = self.payout(v.hull) if v.insured else 0
        if payout > 0:
            postings += [Posting(INSURER, -payout), Posting(player, payout)]
        bounty = self.bounty(account_id)
        claimed = killer is not None and killer != account_id and bounty > 0
        if claimed:
            assert killer is not None
            postings += [Posting(bounty_account(account_id), -bounty)]
            postings += [Posting(player_account(killer), bounty)]
        starter = self.content.starter_hull
        reborn = dataclasses.replace(
            without_vitals(character),
            ship_id=new_ship_id,
            hull=starter.key,
            system_x=character.home_x,
            system_y=character.home_y,
            x=0.0,
            y=0.0,
            vx=0.0,
            vy=0.0,
            angle=0.0,
            docked_at=character.home_station,
        )
        detail = {
            "ship": character.ship_id,
            "hull": v.hull.key,
            "wreck": wreck_id,
            "lost": lost,
            "insurance": payout,
            "bounty": bounty if claimed else 0,
            "killer": killer,
            "new_ship": new_ship_id,
        }
        return self._commit(
            _Plan(
                "death",
                account_id,
                rid,
                new_ship_id,
                detail,
                postings,
                moves,
                character=reborn,
                save_wreck=wreck,
            )
        )

    def loot(self, rid: str, account_id: int, character: Character, wreck_id: int) -> Receipt:
        """Move as much of the wreck's contents into the ship's hold as fits, most valuable
        per cargo unit first. detail: {"wreck", "items": taken, "empty": bool}; when the wreck
        is left empty its row is deleted in the same transaction (the world then removes the
        entity). NOT_AVAILABLE for an unknown wreck, CARGO_FULL if nothing fits."""
        rid, account_id = self._rid(rid), self._int("account_id", account_id)
        wreck_id = self._int("wreck_id", wreck_id, minimum=1)
        if (done := self._replay("loot", account_id, rid)) is not None:
            return done
        character = self._character(character, account_id)
        holder = wreck_holder(wreck_id)
        contents = self.store.ledger.holdings(self.world, holder)
        if not contents and self.store.ledger.get_wreck(self.world, wreck_id) is None:
            raise EconomyError(ErrorCode.NOT_AVAILABLE, f"there is no wreck {wreck_id}")
        room = self.cargo_max(character) - self.cargo_used(character.ship_id)
        taken: dict[str, int] = {}
        for item in sorted(contents, key=self._loot_order):
            n = min(contents[item], max(0, room) // self.volume(item))
            if n > 0:
                taken[item] = n
                room -= n * self.volume(item)
        if contents and not taken:
            raise EconomyError(ErrorCode.CARGO_FULL, "nothing in the wreck fits your hold")
        empty = all(taken.get(item, 0) == qty for item, qty in contents.items())
        ship = ship_holder(character.ship_id)
        moves = [ItemMove(item, qty, holder, ship) for item, qty in taken.items()]
        detail = {"wreck": wreck_id, "items": taken, "empty": empty}
        return self._commit(
            _Plan(
                "loot",
                account_id,
                rid,
                character.ship_id,
                detail,
                moves=moves,
                delete_wreck=wreck_id if empty else None,
            )
        )

    def expire_wreck(self, wreck_id: int) -> None:
        """The wreck's time is up: destroy its contents (a sink) and delete its row, once.
        A wreck that is already gone is not an error."""
        wreck_id = self._int("wreck_id", wreck_id, minimum=1)
        key = f"expire:{wreck_id}"
        if self.store.ledger.get_txn(self.world, key) is not None:
            return
        holder = wreck_holder(wreck_id)
        contents = self.store.ledger.holdings(self.world, holder)
        if not contents and self.store.ledger.get_wreck(self.world, wreck_id) is None:
            return
        self.store.ledger.commit(
            self.world,
            key,
            "expire",
            account=holder,
            moves=[ItemMove(item, qty, holder, None) for item, qty in sorted(contents.items())],
            delete_wreck=wreck_id,
            result={"destroyed": contents},
            at=self.clock(),
        )

    def place_bounty(self, rid: str, account_id: int, target_account: int, amount: int) -> Receipt:
        """Put `amount` credits in escrow on another player's head; whoever destroys them
        collects it all. BAD_FIELD for yourself or an amount outside [MIN_BOUNTY, MAX_BOUNTY];
        NOT_AVAILABLE for an unknown account. detail["total"] is the bounty now."""
        rid, account_id = self._rid(rid), self._int("account_id", account_id)
        target = self._int("target_account", target_account)
        amount = self._int("amount", amount)
        if not rules.MIN_BOUNTY <= amount <= rules.MAX_BOUNTY:
            raise EconomyError(
                ErrorCode.BAD_FIELD,
                f"a bounty is {rules.MIN_BOUNTY}..{rules.MAX_BOUNTY} credits, not {amount}",
            )
        if target == account_id:
            raise EconomyError(ErrorCode.BAD_FIELD, "you cannot put a bounty on yourself")
        if (done := self._replay("bounty", account_id, rid)) is not None:
            return done
        if self.store.accounts.get(target) is None:
            raise EconomyError(ErrorCode.NOT_AVAILABLE, f"there is no player {target}")
        self._afford(account_id, amount)
        escrow = bounty_account(target)
        detail = {"target": target, "amount": amount}
        return self._commit(
            _Plan(
                "bounty",
                account_id,
                rid,
                0,
                detail,
                [Posting(player_account(account_id), -amount), Posting(escrow, amount)],
                totals=(("total", escrow),),
            )
        )

    # ------------------------------------------------------------------ audit
    def audit(self) -> dict[str, Any]:
        """Check the whole world's books (a full scan; for admins and tests): see
        `callister.economy.audit.audit_books` for what is checked and returned."""
        return audit_books(self.store, self.world)

    # ------------------------------------------------------------------ internals
    def _commit(self, plan: _Plan) -> Receipt:
        player = player_account(plan.account_id)
        ship = ship_holder(plan.ship_id)
        now = self.clock()
        character = plan.character
        if character is not None:  # the store stamps the saved row with the txn time too
            character = dataclasses.replace(character, updated_at=now)
        result = {
            "rid": plan.rid,
            "player": player,
            "ship": ship,
            "detail": plan.detail,
            "character": None if character is None else dataclasses.asdict(character),
            "totals": dict(plan.totals),
        }
        try:
            txn = self.store.ledger.commit(
                self.world,
                _key(plan.kind, plan.account_id, plan.rid),
                plan.kind,
                account=player,
                postings=plan.postings,
                moves=plan.moves,
                character=character,
                save_wreck=plan.save_wreck,
                delete_wreck=plan.delete_wreck,
                result=result,
                report_accounts=(player, *(account for _, account in plan.totals)),
                report_holders=(ship,),
                at=now,
            )
        except InsufficientFunds as exc:  # raced with another change: the store caught it
            raise EconomyError(ErrorCode.INSUFFICIENT_FUNDS, str(exc)) from exc
        except InsufficientItems as exc:
            raise EconomyError(ErrorCode.OUT_OF_STOCK, str(exc)) from exc
        return _receipt(txn)

    def _replay(self, kind: str, account_id: int, rid: str) -> Receipt | None:
        txn = self.store.ledger.get_txn(self.world, _key(kind, account_id, rid))
        return None if txn is None else _receipt(txn)

    def _drift(self, station: StationRef) -> dict[str, int]:
        """Apply the market's pending drift (see _plan_drift); return its stock."""
        return self._commit_drift(self._plan_drift(station, restart=False))

    def _plan_drift(self, station: StationRef, *, restart: bool) -> _Drift:
        """The market's drift towards its targets since the last one, not yet committed.

        The first drift stocks the market at its targets (items created: a source). Later
        ones move each item's stock x to target + (x - target) exp(-dt / tau) in whole units,
        carrying the fraction to the next drift. A quote commits nothing until some item moves
        by a whole unit (the clock keeps running); a trade plans with `restart=True`, which
        always commits, so the drift clock restarts at the trade: the stock is then constant
        between drift commits and one exponential per interval is exact. The key
        "drift:<station>:<previous drift txn id>" makes each step happen once.
        """
        market = station.key()
        now = self.clock()
        stock = self.store.ledger.holdings(self.world, market)
        last = self.store.ledger.latest_txn(self.world, market, "drift")
        targets = {
            key: pricing.target_stock(market, key, self._items[key].base_price)
            for key in self._market_order
        }
        after = dict(stock)
        carry: dict[str, float] = {}
        if last is None:
            for key, target in targets.items():
                after[key] = max(target, stock.get(key, 0))
            previous_id = 0
        else:
            elapsed = now - float(last.result.get("at", last.created_at))
            if elapsed <= 0:
                return _Drift(market, stock, stock, None, now, {})
            previous = last.result.get("carry", {})
            for key, target in targets.items():
                have = stock.get(key, 0)
                fraction = previous.get(key, 0.0) if isinstance(previous, Mapping) else 0.0
                exact = pricing.drifted(have + float(fraction), target, elapsed)
                after[key] = max(0, math.floor(exact + 0.5))
                carry[key] = round(exact - after[key], 9)
            previous_id = last.id
        after = {key: qty for key, qty in after.items() if qty > 0}
        if after == stock and not restart and last is not None:
            return _Drift(market, stock, stock, None, now, {})
        return _Drift(market, stock, after, f"drift:{market}:{previous_id}", now, carry)

    def _commit_drift(self, drift: _Drift) -> dict[str, int]:
        if drift.idem is None:
            return drift.after
        moves = []
        for key in sorted(set(drift.before) | set(drift.after)):
            change = drift.after.get(key, 0) - drift.before.get(key, 0)
            if change > 0:
                moves.append(ItemMove(key, change, None, drift.market))
            elif change < 0:
                moves.append(ItemMove(key, -change, drift.market, None))
        txn = self.store.ledger.commit(
            self.world,
            drift.idem,
            "drift",
            account=drift.market,
            moves=moves,
            result={"at": drift.at, "carry": drift.carry},
            report_holders=(drift.market,),
            at=drift.at,
        )
        return txn.holdings.get(drift.market, {})

    def _ship_costs(self, station: StationRef, character: Character) -> dict[str, Any]:
        v = vitals(character, self.content)
        services = station.services
        rearm = sum(
            (magazine(self.content, w) - v.ammo[i]) * self.ammo_price(w)
            for i, w in enumerate(v.weapons)
        )
        return {
            "hull": v.hull.key,
            "refuel": (
                pricing.whole_cost(v.hull.fuel - v.fuel, self.fuel_price(station))
                if "refuel" in services
                else None
            ),
            "repair": (
                pricing.whole_cost(v.hull.hull - v.hull_hp, self.repair_price(v.hull))
                if "repair" in services
                else None
            ),
            "rearm": rearm if "rearm" in services else None,
            "insured": v.insured,
            "premium": self.premium(v.hull) if self._sells_insurance(station) else None,
            "trade_in": self.trade_in(character) if "shipyard" in services else None,
        }

    def _loot_order(self, item: str) -> tuple[float, str]:
        found = self._items.get(item)
        value = 0.0 if found is None else found.base_price / found.volume
        return (-value, item)

    def _volume(self, cargo: Mapping[str, int]) -> int:
        return sum(qty * self.volume(item) for item, qty in cargo.items())

    def _pay(self, account_id: int, to: str, amount: int) -> list[Posting]:
        if amount <= 0:
            return []
        return [Posting(player_account(account_id), -amount), Posting(to, amount)]

    def _afford(self, account_id: int, amount: int) -> None:
        credits = self.credits(account_id)
        if amount > credits:
            raise EconomyError(
                ErrorCode.INSUFFICIENT_FUNDS, f"that costs {amount}; you have {credits}"
            )

    @staticmethod
    def _sells_insurance(station: StationRef) -> bool:
        return "repair" in station.services or "shipyard" in station.services

    @staticmethod
    def _needs(station: StationRef, service: str) -> None:
        if service not in station.services:
            raise EconomyError(ErrorCode.NOT_AVAILABLE, f"this station has no {service} service")

    def _docked(self, character: Character, station: StationRef) -> StationRef:
        station = self._station(station)
        here = (character.system_x, character.system_y, character.docked_at)
        if here != (station.x, station.y, station.index):
            raise EconomyError(ErrorCode.NOT_DOCKED, "dock at the station first")
        return station

    @staticmethod
    def _station(station: StationRef) -> StationRef:
        if not isinstance(station, StationRef):
            raise EconomyError(ErrorCode.BAD_FIELD, "station must be a StationRef")
        return station

    def _character(self, character: Character, account_id: int | None) -> Character:
        if not isinstance(character, Character):
            raise EconomyError(ErrorCode.BAD_FIELD, "character must be a Character")
        if account_id is not None and character.account_id != account_id:
            raise EconomyError(ErrorCode.BAD_FIELD, "the character belongs to another account")
        if character.world != self.world:
            raise EconomyError(ErrorCode.BAD_FIELD, f"the character is not in {self.world!r}")
        return character

    @staticmethod
    def _rid(rid: str) -> str:
        if not isinstance(rid, str) or not 1 <= len(rid) <= rules.MAX_RID:
            raise EconomyError(
                ErrorCode.BAD_FIELD, f"rid must be a string of 1..{rules.MAX_RID} characters"
            )
        if not rid.isprintable():
            raise EconomyError(ErrorCode.BAD_FIELD, "rid must be printable text")
        try:
            rid.encode("utf-8")
        except UnicodeEncodeError:
            raise EconomyError(ErrorCode.BAD_FIELD, "rid is not valid Unicode") from None
        return rid

    @staticmethod
    def _int(field: str, value: object, minimum: int = -(2**63)) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise EconomyError(ErrorCode.BAD_FIELD, f"{field} must be an integer")
        result = int(value)
        if not minimum <= result < 2**63:
            raise EconomyError(ErrorCode.BAD_FIELD, f"{field}={result} is out of range")
        return result

    def _qty(self, field: str, value: object) -> int:
        result = self._int(field, value)
        if not 1 <= result <= rules.MAX_QTY:
            raise EconomyError(ErrorCode.BAD_FIELD, f"{field} must be 1..{rules.MAX_QTY}")
        return result

    @staticmethod
    def _finite(field: str, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise EconomyError(ErrorCode.BAD_FIELD, f"{field} must be a number")
        result = float(value)
        if not math.isfinite(result):
            raise EconomyError(ErrorCode.BAD_FIELD, f"{field} must be finite")
        return result

    def _positive(self, field: str, value: object) -> float:
        result = self._finite(field, value)
        if result <= 0:
            raise EconomyError(ErrorCode.BAD_FIELD, f"{field} must be positive")
        return result


def _as_far_as_credits_go(
    want: float, price: float, credits: int, costs: str, unit: str
) -> tuple[float, int]:
    """(units, cost) of buying `want` units at `price`: all of them if the credits cover it,
    else the whole units they do cover; INSUFFICIENT_FUNDS if not even one. The one rule behind
    "refuel/repair as far as you can afford"."""
    cost = pricing.whole_cost(want, price) if price > 0 else 0
    if cost <= credits:
        return want, cost
    units = float(min(pricing.affordable(credits, price), math.floor(want)))
    if units <= 0:
        raise EconomyError(
            ErrorCode.INSUFFICIENT_FUNDS, f"{costs} {price} a {unit}; you have {credits}"
        )
    return units, pricing.whole_cost(units, price)


def _key(kind: str, account_id: int, rid: str) -> str:
    return f"{kind}:{account_id}:{rid}"


def _receipt(txn: Txn) -> Receipt:
    result = txn.result
    character = result.get("character")
    detail = dict(result.get("detail", {}))
    for name, account in result.get("totals", {}).items():
        detail[name] = txn.balances.get(account, 0)
    return Receipt(
        txn=txn.id,
        rid=str(result.get("rid", "")),
        kind=txn.kind,
        credits=txn.balances.get(str(result.get("player")), 0),
        cargo=dict(txn.holdings.get(str(result.get("ship")), {})),
        character=None if character is None else Character(**character),
        detail=detail,
        replay=txn.replay,
    )


__all__ = [
    "INSURER",
    "MARKET",
    "MINT",
    "SERVICES",
    "Economy",
    "EconomyError",
    "Receipt",
    "StationRef",
    "bounty_account",
    "player_account",
    "ship_holder",
    "wreck_holder",
]
