"""Station markets: the stock each station holds, its prices, trades, and the drift of stock
back towards its targets (see `pricing` for the price and drift formulas).

Promises: a trade is ONE ledger transaction (credits and goods together), priced on the
market's drifted stock; the drift it needs is committed just before it, and only once the trade
has passed every check, so a refused trade writes nothing. Drift is a transaction of its own,
keyed "drift:<station>:<previous drift txn id>", so each step happens once however often it is
planned. Items are created by the first drift (a new market opens at its targets) and created
or destroyed by later drifts (a source and a sink).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from callister.economy import checks, pricing
from callister.economy.accounts import MARKET, StationRef, player_account, ship_holder, transfer
from callister.economy.books import Books, Plan, Receipt
from callister.economy.catalog import Catalog
from callister.economy.checks import CHECK, EconomyError
from callister.protocol.errors import ErrorCode
from callister.protocol.messages import SIDES
from callister.store import Character, ItemMove


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


class Markets:
    """The world's station markets over its books; see the module docstring."""

    def __init__(self, books: Books, catalog: Catalog) -> None:
        self.books = books
        self.catalog = catalog

    def quote(self, station: StationRef) -> list[dict[str, Any]]:
        """The market's rows after its pending drift: [{"key", "name", "kind", "volume",
        "buy", "sell", "stock"}] in screen order; [] where the station has no market."""
        station = checks.station(station)
        if "market" not in station.services:
            return []
        stock = self._commit_drift(self._plan_drift(station, restart=False))
        mult = self.catalog.multiplier
        rows = []
        for key in self.catalog.market_order:
            item = self.catalog.items[key]
            target = pricing.target_stock(station.key(), key, item.base_price)
            have = stock.get(key, 0)
            rows.append(
                {
                    "key": key,
                    "name": item.name,
                    "kind": item.category,
                    "volume": item.volume,
                    "buy": pricing.buy_unit_price(item.base_price, target, have, mult),
                    "sell": pricing.sell_unit_price(item.base_price, target, have, mult),
                    "stock": have,
                }
            )
        return rows

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
        rid, account_id = CHECK.rid(rid), CHECK.integer("account_id", account_id)
        qty = checks.quantity("qty", qty)
        CHECK.choice("side", side, SIDES)
        books = self.books
        if (done := books.replay("trade", account_id, rid)) is not None:
            return done
        character = checks.character(character, books.world, account_id)
        station = checks.docked(character, station)
        checks.offers(station, "market")
        found = self.catalog.items.get(item) if isinstance(item, str) else None
        if found is None:
            raise EconomyError(ErrorCode.NOT_FOR_SALE, f"this market does not trade {item!r}")
        # Priced on the drifted stock; the drift is committed only once the trade is valid,
        # so a refused trade writes nothing.
        drift = self._plan_drift(station, restart=True)
        stock = drift.after.get(found.key, 0)
        target = pricing.target_stock(station.key(), found.key, found.base_price)
        base, mult = found.base_price, self.catalog.multiplier
        player, ship = player_account(account_id), ship_holder(character.ship_id)
        market = station.key()
        cargo = books.store.ledger.holdings(books.world, ship)
        if side == "buy":
            if stock < qty:
                raise EconomyError(
                    ErrorCode.OUT_OF_STOCK, f"the station has {stock} {found.name}, not {qty}"
                )
            room = self.catalog.room(character, cargo)
            if qty * found.volume > room:
                raise EconomyError(
                    ErrorCode.CARGO_FULL,
                    f"{qty} {found.name} take {qty * found.volume} cargo units; {room} free",
                )
            total = pricing.buy_cost(base, target, stock, qty, mult)
            checks.afford(total, books.credits(account_id))
            postings = transfer(player, MARKET, total)
            moves = [ItemMove(found.key, qty, market, ship)]
            after = stock - qty
        else:
            held = cargo.get(found.key, 0)
            if held < qty:
                raise EconomyError(
                    ErrorCode.OUT_OF_STOCK, f"your hold has {held} {found.name}, not {qty}"
                )
            total = pricing.sell_proceeds(base, target, stock, qty, mult)
            postings = transfer(MARKET, player, total)
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
        return books.commit(
            Plan("trade", account_id, rid, character.ship_id, detail, postings, moves)
        )

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
        books = self.books
        market = station.key()
        now = books.clock()
        stock = books.store.ledger.holdings(books.world, market)
        last = books.store.ledger.latest_txn(books.world, market, "drift")
        targets = {
            key: pricing.target_stock(market, key, self.catalog.items[key].base_price)
            for key in self.catalog.market_order
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
        """Commit a planned drift (if there is one to commit); the market's stock after it."""
        if drift.idem is None:
            return drift.after
        moves = []
        for key in sorted(set(drift.before) | set(drift.after)):
            change = drift.after.get(key, 0) - drift.before.get(key, 0)
            if change > 0:
                moves.append(ItemMove(key, change, None, drift.market))
            elif change < 0:
                moves.append(ItemMove(key, -change, drift.market, None))
        books = self.books
        txn = books.store.ledger.commit(
            books.world,
            drift.idem,
            "drift",
            account=drift.market,
            moves=moves,
            result={"at": drift.at, "carry": drift.carry},
            report_holders=(drift.market,),
            at=drift.at,
        )
        return txn.holdings.get(drift.market, {})
