"""Station services as one table: refuel, repair, rearm, a new hull, a weapon module and
insurance. A row names the service's transaction kind, the station services that sell it, the
choice a buyer makes (fuel amount, hull, slot and weapon) and how it is priced; ONE template
runs every purchase:

    rid → replay → character → docked → offered → price (the row) → afford → commit

Promises: a purchase is ONE ledger transaction that pays `services` (a hull's trade-in is paid
back in it) and saves the changed character; refuel and repair sell as much as the credits
cover, rearm fills magazines in slot order as far as they go; every refusal writes nothing.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from callister.economy import checks, pricing
from callister.economy.accounts import SERVICES, StationRef, player_account, transfer
from callister.economy.books import Books, Plan, Receipt
from callister.economy.catalog import Catalog
from callister.economy.checks import CHECK, EconomyError
from callister.economy.vitals import (
    Vitals,
    cargo_volume,
    magazine,
    vitals,
    with_extra,
    without_vitals,
)
from callister.protocol.errors import ErrorCode
from callister.store import Character

_EPSILON = 1e-6  # vitals this close to full count as full (float noise from the zone)


@dataclass(frozen=True)
class Sale:
    """What a row prices: the buyer, their ship and credits, the station."""

    books: Books
    catalog: Catalog
    character: Character
    station: StationRef
    ship: Vitals
    credits: int


@dataclass(frozen=True)
class Bill:
    """A row's answer: what the player pays `services` (`cost`), what it pays back (`refund`),
    the character after the purchase and the receipt's detail."""

    detail: dict[str, Any]
    cost: int
    character: Character
    refund: int = 0


def _as_given(*choice: object) -> tuple[object, ...]:
    """A choice the row checks itself, after the replay (a hull key: NOT_FOR_SALE)."""
    return choice


@dataclass(frozen=True)
class Service:
    """One row of the table: see the module docstring."""

    kind: str  # the transaction (and receipt) kind, and the key buyers name it by
    sold_by: tuple[str, ...]  # station services any one of which sells it
    price: Callable[..., Bill]  # (sale, *choice) -> Bill, or EconomyError
    choices: tuple[str, ...] = ()  # what the buyer chooses; a missing choice is None
    check: Callable[..., tuple[object, ...]] = _as_given  # (*choice) -> checked choice
    missing: str = ""  # the refusal where none of `sold_by` is offered ("" : the usual)


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


def _amount(amount: object) -> tuple[object, ...]:
    return (None if amount is None else CHECK.positive("amount", amount),)


def _refuel(sale: Sale, amount: float | None) -> Bill:
    """`amount` fuel units (clipped to the tank's room), or with None as much as fills the
    tank or the credits allow. NOT_AVAILABLE if the tank is full; INSUFFICIENT_FUNDS if not
    even one unit (or, for an explicit amount, not all of it) is affordable."""
    v, credits = sale.ship, sale.credits
    room = v.hull.fuel - v.fuel
    if room <= _EPSILON:
        raise EconomyError(ErrorCode.NOT_AVAILABLE, "the tank is full")
    price = sale.catalog.fuel_price(sale.station)
    want = room if amount is None else min(amount, room)
    if amount is not None and pricing.whole_cost(want, price) > credits:
        raise EconomyError(
            ErrorCode.INSUFFICIENT_FUNDS,
            f"{want:.2f} fuel costs {pricing.whole_cost(want, price)}; you have {credits}",
        )
    want, cost = _as_far_as_credits_go(want, price, credits, "fuel costs", "unit")
    fuel = min(v.hull.fuel, v.fuel + want)
    detail = {"fuel": want, "cost": cost, "price": price, "level": fuel}
    return Bill(detail, cost, with_extra(sale.character, fuel=fuel))


def _repair(sale: Sale) -> Bill:
    """The hull at its repair_price per point: fully, or as many whole points as the credits
    allow. NOT_AVAILABLE with nothing to repair."""
    v = sale.ship
    missing = v.hull.hull - v.hull_hp
    if missing <= _EPSILON:
        raise EconomyError(ErrorCode.NOT_AVAILABLE, "the hull needs no repair")
    price = sale.catalog.repair_price(v.hull)
    points, cost = _as_far_as_credits_go(missing, price, sale.credits, "repairs cost", "point")
    hull_hp = min(v.hull.hull, v.hull_hp + points)
    detail = {"points": points, "cost": cost, "price": price, "level": hull_hp}
    return Bill(detail, cost, with_extra(sale.character, hull_hp=hull_hp))


def _rearm(sale: Sale) -> Bill:
    """Every magazine (slot order) at each weapon's ammo_price per round, as far as the credits
    go. NOT_AVAILABLE with full magazines."""
    v, credits, content = sale.ship, sale.credits, sale.catalog.content
    ammo = list(v.ammo)
    cost, rounds = 0, 0
    short = False
    for slot, weapon in enumerate(v.weapons):
        missing = magazine(content, weapon) - ammo[slot]
        if missing <= 0:
            continue
        price = sale.catalog.ammo_price(weapon)
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
    return Bill(detail, cost, with_extra(sale.character, weapons=list(v.weapons), ammo=ammo))


def _hull(sale: Sale, hull: object) -> Bill:
    """Replace the ship's hull (same ship id and hold): price minus the old hull's trade-in;
    the new hull comes full, with its loadout, uninsured. NOT_AVAILABLE for the hull you fly;
    NOT_FOR_SALE for an unknown hull; CARGO_FULL if the hold does not fit the new hull."""
    content = sale.catalog.content
    new = content.hulls.get(hull) if isinstance(hull, str) else None
    if new is None:
        raise EconomyError(ErrorCode.NOT_FOR_SALE, f"no hull {hull!r} is for sale")
    old = sale.ship
    if new.key == old.hull.key:
        raise EconomyError(ErrorCode.NOT_AVAILABLE, f"you already fly a {new.name}")
    used = cargo_volume(content, sale.books.cargo(sale.character.ship_id))
    if used > new.cargo:
        raise EconomyError(
            ErrorCode.CARGO_FULL, f"your hold uses {used} units; a {new.name} holds {new.cargo}"
        )
    price, credit = sale.catalog.hull_price(new), sale.catalog.trade_in(sale.character)
    detail = {
        "hull": new.key,
        "old_hull": old.hull.key,
        "price": price,
        "trade_in": credit,
        "cost": price - credit,
        "insurance_lapsed": old.insured,
    }
    fresh = dataclasses.replace(without_vitals(sale.character), hull=new.key)
    return Bill(detail, price, fresh, refund=credit)


def _slot(slot: object, weapon: object) -> tuple[object, ...]:
    return (CHECK.integer("slot", slot), weapon)


def _module(sale: Sale, slot: int, weapon: object) -> Bill:
    """Fit `weapon` into `slot` (replacing what is there, or the next free slot), loaded.
    BAD_SLOT for a slot the hull lacks or past the next free one; NOT_FOR_SALE for an unknown
    weapon; NOT_AVAILABLE if that weapon is already there."""
    found = sale.catalog.content.weapons.get(weapon) if isinstance(weapon, str) else None
    if found is None:
        raise EconomyError(ErrorCode.NOT_FOR_SALE, f"no weapon {weapon!r} is for sale")
    v = sale.ship
    weapons, ammo = list(v.weapons), list(v.ammo)
    if not 0 <= slot < v.hull.slots or slot > len(weapons):
        raise EconomyError(
            ErrorCode.BAD_SLOT,
            f"a {v.hull.name} can fit slot 0..{min(v.hull.slots, len(weapons) + 1) - 1}",
        )
    replaced = weapons[slot] if slot < len(weapons) else None
    if replaced == found.key:
        raise EconomyError(ErrorCode.NOT_AVAILABLE, f"slot {slot} already has a {found.name}")
    price = sale.catalog.module_price(found.key)
    if replaced is None:
        weapons.append(found.key)
        ammo.append(found.ammo)
    else:
        weapons[slot], ammo[slot] = found.key, found.ammo
    detail = {"slot": slot, "weapon": found.key, "price": price, "replaced": replaced}
    return Bill(detail, price, with_extra(sale.character, weapons=weapons, ammo=ammo))


def _insure(sale: Sale) -> Bill:
    """The ship's hull for one loss (premium = INSURANCE_PREMIUM x hull price; the payout on
    destruction is INSURANCE_PAYOUT x price). NOT_AVAILABLE: already insured, or the starter
    hull."""
    v = sale.ship
    premium = sale.catalog.premium(v.hull)
    if premium is None:
        raise EconomyError(
            ErrorCode.NOT_AVAILABLE, f"a {v.hull.name} is replaced free; no policy needed"
        )
    if v.insured:
        raise EconomyError(ErrorCode.NOT_AVAILABLE, "the ship is already insured")
    detail = {"hull": v.hull.key, "premium": premium, "payout": sale.catalog.payout(v.hull)}
    return Bill(detail, premium, with_extra(sale.character, insured=True))


INSURANCE_SOLD_BY = ("repair", "shipyard")
TABLE: dict[str, Service] = {
    s.kind: s
    for s in (
        Service("refuel", ("refuel",), _refuel, ("amount",), _amount),
        Service("repair", ("repair",), _repair),
        Service("rearm", ("rearm",), _rearm),
        Service("hull", ("shipyard",), _hull, ("hull",)),
        Service("module", ("shipyard",), _module, ("slot", "weapon"), _slot),
        Service("insure", INSURANCE_SOLD_BY, _insure, missing="this station sells no insurance"),
    )
}
"""Every station service by its kind; the wire's `service` ops are refuel, repair, rearm and
insure, `buy_hull` is "hull" and `buy_module` is "module"."""
KINDS: tuple[str, ...] = tuple(TABLE)
"""The transaction kinds of station services."""


def sells(station: StationRef, service: Service) -> bool:
    """Whether the station sells the service."""
    return any(s in station.services for s in service.sold_by)


class StationServices:
    """Every station service through one template; see the module docstring."""

    def __init__(self, books: Books, catalog: Catalog) -> None:
        self.books = books
        self.catalog = catalog

    def buy(
        self,
        kind: str,
        rid: str,
        account_id: int,
        character: Character,
        station: StationRef,
        *choice: object,
    ) -> Receipt:
        """Buy the service `kind` (a TABLE key) with the row's `choice` (refuel: an amount or
        None for all that fits; hull: the hull key; module: the slot and the weapon key).

        Refusals: BAD_FIELD (unknown kind, a bad choice), NOT_DOCKED (not docked at that
        station), NOT_AVAILABLE (the station does not sell it, or nothing to do: see each
        row), INSUFFICIENT_FUNDS, and each row's own (NOT_FOR_SALE, CARGO_FULL, BAD_SLOT).
        """
        service = TABLE[CHECK.choice("service", kind, KINDS)]
        rid, account_id = CHECK.rid(rid), CHECK.integer("account_id", account_id)
        if len(choice) > len(service.choices):
            wanted = ", ".join(service.choices) or "nothing"
            raise EconomyError(ErrorCode.BAD_FIELD, f"{service.kind} takes {wanted}")
        padding = (None,) * (len(service.choices) - len(choice))
        chosen = service.check(*choice, *padding)
        books = self.books
        if (done := books.replay(service.kind, account_id, rid)) is not None:
            return done
        character = checks.character(character, books.world, account_id)
        station = checks.docked(character, station)
        if not sells(station, service):
            missing = service.missing or f"this station has no {service.sold_by[0]} service"
            raise EconomyError(ErrorCode.NOT_AVAILABLE, missing)
        sale = Sale(
            books,
            self.catalog,
            character,
            station,
            vitals(character, self.catalog.content),
            books.credits(account_id),
        )
        bill = service.price(sale, *chosen)
        checks.afford(bill.cost - bill.refund, sale.credits)
        player = player_account(account_id)
        postings = transfer(player, SERVICES, bill.cost) + transfer(SERVICES, player, bill.refund)
        return books.commit(
            Plan(
                service.kind,
                account_id,
                rid,
                character.ship_id,
                bill.detail,
                postings,
                character=bill.character,
            )
        )

    def prices(self, station: StationRef) -> dict[str, Any]:
        """The station screen's service sections, JSON-ready: {"fuel_price": float | None,
        "repair_price": {hull: per point}, "ammo": {weapon: per round}, "hulls": [{"key",
        "name", "price"}], "modules": [{"key", "name", "price"}], "insurance": {hull:
        premium}}; a section the station does not sell is empty (fuel_price None)."""
        catalog, content = self.catalog, self.catalog.content
        offered = set(station.services)
        hulls = content.hulls.values()
        shipyard = "shipyard" in offered
        return {
            "fuel_price": catalog.fuel_price(station) if "refuel" in offered else None,
            "repair_price": (
                {h.key: catalog.repair_price(h) for h in hulls} if "repair" in offered else {}
            ),
            "ammo": (
                {k: catalog.ammo_price(k) for k, w in content.weapons.items() if w.ammo > 0}
                if "rearm" in offered
                else {}
            ),
            "hulls": (
                [{"key": h.key, "name": h.name, "price": catalog.hull_price(h)} for h in hulls]
                if shipyard
                else []
            ),
            "modules": (
                [
                    {"key": k, "name": w.name, "price": catalog.module_price(k)}
                    for k, w in content.weapons.items()
                ]
                if shipyard
                else []
            ),
            "insurance": (
                {h.key: p for h in hulls if (p := catalog.premium(h)) is not None}
                if sells(station, TABLE["insure"])
                else {}
            ),
        }

    def ship_costs(self, station: StationRef, character: Character) -> dict[str, Any]:
        """What the station's services would cost this ship: {"hull", "refuel", "repair",
        "rearm", "insured", "premium", "trade_in"}; None where the station does not sell it."""
        catalog = self.catalog
        v = vitals(character, catalog.content)
        offered = set(station.services)
        rearm = sum(
            (magazine(catalog.content, w) - v.ammo[i]) * catalog.ammo_price(w)
            for i, w in enumerate(v.weapons)
        )
        return {
            "hull": v.hull.key,
            "refuel": (
                pricing.whole_cost(v.hull.fuel - v.fuel, catalog.fuel_price(station))
                if "refuel" in offered
                else None
            ),
            "repair": (
                pricing.whole_cost(v.hull.hull - v.hull_hp, catalog.repair_price(v.hull))
                if "repair" in offered
                else None
            ),
            "rearm": rearm if "rearm" in offered else None,
            "insured": v.insured,
            "premium": catalog.premium(v.hull) if sells(station, TABLE["insure"]) else None,
            "trade_in": catalog.trade_in(character) if "shipyard" in offered else None,
        }
