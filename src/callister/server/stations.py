"""Station desks: the market screen, trades, services and the shipyard for docked players.

Every request that moves credits or items is one economy transaction on the writer thread,
committed before the player gets the receipt. Requests carry the client's id (`rid`), so a
retried request (a reconnect, a double click) is answered with the first receipt and never
charged twice. The zone is updated only after the commit (fuel, hull, ammunition, hull type).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from callister.economy import Economy, Receipt, StationRef
from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.messages import (
    BountyMsg,
    BuyHullMsg,
    BuyModuleMsg,
    ServiceMsg,
    StationMessage,
    TradeMsg,
)
from callister.server.ports import Pilot, Roster, ZoneHandle
from callister.server.vitals import ship_kwargs
from callister.server.writer import StoreWriter
from callister.store import Store


def station_ref(handle: ZoneHandle, index: int) -> StationRef:
    """The economy's view of station `index` of the zone's system."""
    return StationRef.of(handle.sector[0], handle.sector[1], handle.system.stations[index])


def _service_order(msg: ServiceMsg | BuyHullMsg | BuyModuleMsg) -> tuple[str, tuple[Any, ...]]:
    """The station service a message buys (a key of economy.services.TABLE) and its choice."""
    if isinstance(msg, BuyHullMsg):
        return "hull", (msg.hull,)
    if isinstance(msg, BuyModuleMsg):
        return "module", (msg.slot, msg.weapon)
    return msg.op, ()


class StationDesk:
    """A docked player's requests, each an economy transaction on the writer thread."""

    def __init__(
        self,
        roster: Roster,
        *,
        writer: StoreWriter,
        store: Store,
        economy: Economy,
        is_flagged: Callable[[int], bool],
    ) -> None:
        self.roster, self.writer, self.store, self.economy = roster, writer, store, economy
        self.is_flagged = is_flagged  # Outcomes.is_flagged: bounties only on recent criminals
        # told of each committed trade (the mission desk: a first profit, a purchase's basis)
        self.on_trade: Callable[[Pilot, StationRef, dict[str, Any]], None] | None = None

    def _docked(self, pilot: Pilot) -> tuple[ZoneHandle, StationRef]:
        """The zone and station the pilot is docked at, or ProtocolError NOT_DOCKED."""
        handle = self.roster.zones.get(pilot.zone_key) if pilot.zone_key else None
        if handle is None or pilot.dead:
            raise ProtocolError(ErrorCode.NOT_IN_WORLD, "your ship is not in a system")
        state = handle.zone.ship_state(pilot.character.ship_id)
        if state.docked_at is None:
            raise ProtocolError(ErrorCode.NOT_DOCKED, "dock at a station first")
        station = handle.system.stations[state.docked_at]
        if station.destroyed:
            raise ProtocolError(ErrorCode.NOT_AVAILABLE, "this station is a wreck")
        return handle, station_ref(handle, state.docked_at)

    async def market(self, pilot: Pilot) -> dict[str, Any]:
        """The station screen: prices, stock, services, and the player's credits and cargo."""
        _, ref = self._docked(pilot)
        screen = await self.writer.call(self.economy.screen, ref)
        return {**screen, "credits": pilot.credits, "cargo": dict(pilot.cargo)}

    async def request(self, pilot: Pilot, msg: StationMessage) -> Receipt:
        """Carry out one trade/service/purchase; EconomyError or ProtocolError if refused."""
        handle, ref = self._docked(pilot)
        character = self.roster.snapshot_character(pilot)
        economy = self.economy
        account = pilot.account_id
        if isinstance(msg, TradeMsg):
            receipt = await self.writer.call(
                economy.markets.trade, msg.rid, account, character, ref, msg.item, msg.qty, msg.side
            )
        else:
            kind, choice = _service_order(msg)
            receipt = await self.writer.call(
                economy.services.buy, kind, msg.rid, account, character, ref, *choice
            )
        if receipt.replay:
            # answered from the ledger: the receipt is what was true then, so the pilot's
            # credits and hold are read afresh and nothing is applied to the ship again
            pilot.credits = await self.writer.call(economy.books.credits, account)
            pilot.cargo = await self.writer.call(economy.books.cargo, pilot.character.ship_id)
            return receipt
        self._apply(pilot, handle, receipt)
        if isinstance(msg, TradeMsg) and self.on_trade is not None:
            self.on_trade(pilot, ref, receipt.detail)
        return receipt

    async def bounty(self, pilot: Pilot, msg: BountyMsg) -> Receipt:
        target = await self.writer.call(self.store.accounts.by_name, msg.target)
        if target is None:
            raise ProtocolError(ErrorCode.BAD_FIELD, f"no player named {msg.target!r}")
        if target.id == pilot.account_id:
            raise ProtocolError(ErrorCode.BAD_FIELD, "you cannot put a bounty on yourself")
        if not self.is_flagged(target.id):
            raise ProtocolError(
                ErrorCode.NOT_AVAILABLE,
                f"{target.name} is not flagged: bounties are only for players who committed a"
                " crime in the last hour",
            )
        receipt = await self.writer.call(
            self.economy.events.place_bounty, msg.rid, pilot.account_id, target.id, msg.amount
        )
        pilot.credits = await self.writer.call(self.economy.books.credits, pilot.account_id)
        return receipt

    def _apply(self, pilot: Pilot, handle: ZoneHandle, receipt: Receipt) -> None:
        """Bring the pilot and the zone in line with a committed receipt."""
        pilot.credits = receipt.credits
        pilot.cargo = dict(receipt.cargo)
        ship = pilot.character.ship_id
        if receipt.character is not None:
            old_hull = pilot.character.hull
            pilot.character = replace(
                receipt.character,
                system_x=pilot.character.system_x,
                system_y=pilot.character.system_y,
            )
            if receipt.character.hull != old_hull:
                self.roster.refit(pilot, handle)
                return
            vitals = ship_kwargs(receipt.character)
            if handle.zone.has_ship(ship):
                handle.zone.set_vitals(ship, **vitals, cargo_free=self.roster.cargo_room(pilot))
        elif handle.zone.has_ship(ship):
            handle.zone.set_vitals(ship, cargo_free=self.roster.cargo_room(pilot))
