"""`Economy`: one world's economy, as the parts the server calls.

- `books` (books.py): balances and holds; a Plan → one transaction → a Receipt; replays.
- `catalog` (catalog.py): the world's prices and cargo volumes.
- `markets` (markets.py): market quotes, trades and the drift of stock.
- `services` (services.py): refuel, repair, rearm, hulls, modules and insurance, one table.
- `events` (events.py): the starting grant, mining, deaths, loot, boarding, wreck expiry,
  bounties.
- `screen(station, character)`: a station's whole screen; `audit()`: the books check.

Promises every part keeps: synchronous, to be called on the server's single store-writer
thread, never on the event loop; every mutating call is ONE `store.ledger.commit`, committed
before it returns (a market's drift is one more, idempotent and harmless to repeat);
idempotent by key (see books.py and events.py); a refusal raises `EconomyError` (a code from
the protocol's closed set and a message for the player) and writes nothing. Money is a
double-entry ledger of integer credits whose balances sum to 0 (accounts.py names them);
items are holdings whose every move is logged. Imports content, store and protocol only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from callister.content import Content
from callister.economy import checks, rules
from callister.economy.accounts import StationRef
from callister.economy.audit import audit_books
from callister.economy.books import Books
from callister.economy.catalog import Catalog
from callister.economy.events import WorldEvents
from callister.economy.markets import Markets
from callister.economy.services import StationServices
from callister.protocol.limits import MAX_CREDITS
from callister.store import Character, Store


class Economy:
    """One world's economy over a Store; see the module docstring for its parts and promises."""

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
            or not 0 <= starting_credits <= MAX_CREDITS
        ):
            raise ValueError(
                f"starting_credits must be an int in [0, {MAX_CREDITS}]: {starting_credits!r}"
            )
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
        self.books = Books(store, world, clock)
        self.catalog = Catalog(content, float(price_multiplier))
        self.markets = Markets(self.books, self.catalog)
        self.services = StationServices(self.books, self.catalog)
        self.events = WorldEvents(self.books, self.catalog, starting_credits)

    def screen(self, station: StationRef, character: Character | None = None) -> dict[str, Any]:
        """The station's screen, JSON-ready (applies the market's pending drift first).

        {"station": key, "items": the market's rows (Markets.quote), the service sections
        (StationServices.prices: "fuel_price", "repair_price", "ammo", "hulls", "modules",
        "insurance"), "services": [...]}. With `character`, also "ship": what the station's
        services would cost that ship (StationServices.ship_costs).
        """
        station = checks.station(station)
        screen: dict[str, Any] = {
            "station": station.key(),
            "items": self.markets.quote(station),
            **self.services.prices(station),
            "services": list(station.services),
        }
        if character is not None:
            character = checks.character(character, self.world, None)
            screen["ship"] = self.services.ship_costs(station, character)
        return screen

    def audit(self) -> dict[str, Any]:
        """Check the whole world's books (a full scan; for admins and tests): see
        `callister.economy.audit.audit_books` for what is checked and returned."""
        return audit_books(self.store, self.world)
