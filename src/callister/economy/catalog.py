"""A world's price list: what each market item, service, hull and weapon module costs at the
world's price multiplier, what a hull is worth insured or traded in, and how much room goods
take. Pure functions of the content and the multiplier: no store, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from callister.content import Content, Hull
from callister.economy import pricing, rules
from callister.economy.accounts import StationRef
from callister.economy.vitals import cargo_volume, hull_of, item_volume, vitals
from callister.store import Character


@dataclass(frozen=True)
class Item:
    """Something a market trades: a commodity or an ore."""

    key: str
    name: str
    base_price: int
    volume: int
    category: str  # "commodity" | "ore"


class Catalog:
    """The prices of one world (see the module docstring)."""

    def __init__(self, content: Content, price_multiplier: float) -> None:
        self.content = content
        self.multiplier = price_multiplier
        items: dict[str, Item] = {}
        for ore in content.ores.values():
            items[ore.key] = Item(ore.key, ore.name, ore.base_price, rules.ORE_VOLUME, "ore")
        for c in content.commodities.values():  # a commodity wins a key clash with an ore
            items[c.key] = Item(c.key, c.name, c.base_price, c.volume, "commodity")
        self.items: Mapping[str, Item] = items
        # Market screen order: commodities, then ores, each in content order.
        self.market_order: tuple[str, ...] = tuple(content.commodities) + tuple(
            k for k in content.ores if k not in content.commodities
        )

    # ------------------------------------------------------------------ goods
    def volume(self, item: str) -> int:
        """Cargo units one unit of the item takes (1 for ores and unknown keys)."""
        return item_volume(self.content, item)

    def room(self, character: Character, cargo: Mapping[str, int]) -> int:
        """Free cargo units of the character's hull holding `cargo` (negative if overfull)."""
        return hull_of(character, self.content).cargo - cargo_volume(self.content, cargo)

    def loot_order(self, item: str) -> tuple[float, str]:
        """Sort key: the most valuable per cargo unit first (unknown items last), then by key."""
        found = self.items.get(item)
        value = 0.0 if found is None else found.base_price / found.volume
        return (-value, item)

    def target_stock(self, station: StationRef, item: str) -> int:
        """The stock of `item` the station's market drifts towards."""
        return pricing.target_stock(station.key(), item, self.items[item].base_price)

    # ------------------------------------------------------------------ services
    def fuel_price(self, station: StationRef) -> float:
        """Credits per fuel unit at the station."""
        return pricing.fuel_price(station.key(), self.multiplier)

    def repair_price(self, hull: Hull) -> float:
        """Credits per hull point repaired."""
        return hull.repair_price * self.multiplier

    def ammo_price(self, weapon: str) -> int:
        """Credits per round of the weapon's ammunition (0 for energy weapons)."""
        found = self.content.weapons.get(weapon)
        if found is None or found.ammo == 0:
            return 0
        return math.ceil(found.ammo_price * self.multiplier)

    def hull_price(self, hull: Hull) -> int:
        """What a new hull of this kind costs."""
        return math.ceil(hull.price * self.multiplier)

    def module_price(self, weapon: str) -> int:
        """What fitting the weapon costs."""
        return math.ceil(self.content.weapons[weapon].price * self.multiplier)

    def premium(self, hull: Hull) -> int | None:
        """The insurance premium for the hull; None if it cannot be insured (the starter)."""
        if hull.starter:
            return None
        return max(1, math.ceil(hull.price * rules.INSURANCE_PREMIUM * self.multiplier))

    def payout(self, hull: Hull) -> int:
        """What the insurer pays when an insured ship of this hull is destroyed."""
        if hull.starter:
            return 0
        return math.floor(hull.price * rules.INSURANCE_PAYOUT * self.multiplier)

    def trade_in(self, character: Character) -> int:
        """What scrapping the character's current hull is worth towards a new one."""
        v = vitals(character, self.content)
        if v.hull.starter or v.hull.hull <= 0:
            return 0
        fraction = v.hull_hp / v.hull.hull
        return math.floor(v.hull.price * rules.TRADE_IN * self.multiplier * fraction)
