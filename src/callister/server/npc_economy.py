"""The one adapter between the clones' requests and the economy and ledger.

`NpcEconomy.execute(request)` carries out an `agents.offscreen` request through the real
`Economy` and `Store` of a world and answers with a `Done`. Everything economic an NPC does
passes here, so when the economy or the store change shape (markets/services/events,
repositories) this is the one file to follow.

- **Accounts**: an NPC's credits are the ledger account `player:<actor>` with actor = -clone
  id (NPC ships' owners are negative, never an account), opened when the clone is born with
  its grant from `mint` (`population.BIRTH_GRANT`; the source of NPC money, like a player's
  starting grant). When it dies its estate goes back to `mint` (the sink): dead clones hold
  no credits, so credits in circulation are the living's.
- **Markets**: quotes, buying and selling, mining and looting are `Economy.quote`, `trade`,
  `mine` and `loot` with a transient `Character` (ship, hull, docked station) for the NPC:
  the same prices, stock moves and ledger transactions as a player's.
- **Services**: fuel, repairs and ammunition cost what `Economy` charges a player (its
  `fuel_price`, `repair_price`, `ammo_price` and `pricing.whole_cost`), paid to `services`
  in one ledger transaction each. They are posted here rather than through
  `Economy.refuel/repair/rearm` because those save the player's `Character` row (vitals), and
  an NPC has no account row to hang one on: its vitals live with the clone.
- **Wrecks**: a ship that loses cargo (a pirate's victim) or its life moves it to a new
  holder `wreck:<id>` (one transaction; a Wreck row too); `expire(now)` destroys what is
  left after `WRECK_TTL_S` (`Economy.expire_wreck`, the usual sink). A live NPC destroyed in
  a zone names the zone's wreck (`Wrecked.wreck_id`), which anyone there can loot and which
  expires with the zone's `WreckExpired`.
- **Rescues**: a stranded clone pays its rescuer (`player:` to `player:`) or the station's
  tug (`services`), as far as its credits go.

Idempotency keys are made from a per-adapter serial, so a replay of the same world run is
the same ledger. Synchronous: call it from one thread (the store writer's, on a server).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

from callister.agents.atlas import Atlas, StationId
from callister.agents.offscreen import (
    Born,
    Died,
    Distress,
    Done,
    Looted,
    Mined,
    Quote,
    Rearm,
    Refuel,
    Repair,
    Request,
    Rescue,
    Trade,
    Wrecked,
)
from callister.agents.planner import MarketView, Ship
from callister.content import Content
from callister.economy import Economy, EconomyError, StationRef, pricing
from callister.economy.accounts import MINT, SERVICES, player_account, ship_holder, wreck_holder
from callister.store import Character, InsufficientFunds, ItemMove, Posting, Store, Wreck

WRECK_TTL_S: Final = 300.0  # seconds a wreck lasts (the zones' WRECK_TTL_TICKS at 20 Hz)


class NpcEconomy:
    """Executes clones' requests against `economy` (see the module docstring). `clock()` is
    the world's time in seconds (the economy's own clock: market drift follows it)."""

    def __init__(
        self,
        economy: Economy,
        store: Store,
        atlas: Atlas,
        content: Content,
        *,
        first_wreck: int = 1 << 40,
    ) -> None:
        self.economy = economy
        self.store = store
        self.world = economy.world
        self.atlas = atlas
        self.content = content
        self._serial = 0
        self._next_wreck = first_wreck
        self._wrecks: list[tuple[float, int]] = []
        self._refs: dict[StationId, StationRef] = {}
        self.distress_calls: list[Distress] = []
        self.transactions = 0

    # --- the one entry point -------------------------------------------------------------------

    def execute(self, request: Request) -> Done:
        """Carry out one request; refusals come back as Done(ok=False, why=<error code>)."""
        try:
            return self._dispatch(request)
        except EconomyError as exc:
            return Done(False, why=str(exc.code))
        except InsufficientFunds:
            return Done(False, why="INSUFFICIENT_FUNDS")

    def _dispatch(self, r: Request) -> Done:
        if isinstance(r, Quote):
            return self._quote(r)
        if isinstance(r, Trade):
            return self._trade(r)
        if isinstance(r, Refuel):
            price = self.economy.catalog.fuel_price(self._ref(r.station))
            return self._service(r.ship, "refuel", r.units, price)
        if isinstance(r, Repair):
            hull = self.content.hulls[r.ship.hull.key]
            return self._service(
                r.ship, "repair", r.points, self.economy.catalog.repair_price(hull)
            )
        if isinstance(r, Rearm):
            return self._rearm(r)
        if isinstance(r, Mined):
            receipt = self.economy.events.mine(
                self._rid("mine"), r.ship.actor, self._character(r.ship, None), r.ore, r.qty
            )
            self.transactions += 1
            return Done(True, cargo=receipt.cargo, qty=receipt.detail["qty"])
        if isinstance(r, Wrecked):
            return self._wreck(r)
        if isinstance(r, Looted):
            receipt = self.economy.events.loot(
                self._rid("loot"), r.ship.actor, self._character(r.ship, None), r.wreck
            )
            self.transactions += 1
            return Done(True, cargo=receipt.cargo, qty=sum(receipt.detail["items"].values()))
        if isinstance(r, Distress):
            self.distress_calls.append(r)
            return Done(True)
        if isinstance(r, Rescue):
            return self._rescue(r)
        if isinstance(r, Born):
            return self._birth(r)
        if isinstance(r, Died):
            return self._estate(r.ship)
        raise TypeError(f"not an NPC request: {r!r}")

    # --- markets -------------------------------------------------------------------------------

    def _ref(self, station: StationId) -> StationRef:
        ref = self._refs.get(station)
        if ref is None:
            st = self.atlas.station(station)
            ref = self._refs[station] = StationRef(
                station[0], station[1], station[2], st.faction, tuple(sorted(st.services))
            )
        return ref

    def market(self, station: StationId) -> MarketView:
        """The station's screen now, as the planner reads it."""
        return market_view(station, self.economy.screen(self._ref(station)))

    def _quote(self, r: Quote) -> Done:
        return Done(True, market=self.market(r.station))

    def _trade(self, r: Trade) -> Done:
        side: Literal["buy", "sell"] = "buy" if r.side == "buy" else "sell"
        receipt = self.economy.markets.trade(
            self._rid(side),
            r.ship.actor,
            self._character(r.ship, r.station),
            self._ref(r.station),
            r.item,
            r.qty,
            side,
        )
        self.transactions += 1
        return Done(
            True,
            credits=receipt.credits,
            cargo=receipt.cargo,
            qty=r.qty,
            total=int(receipt.detail["total"]),
            prices=(int(receipt.detail["buy"]), int(receipt.detail["sell"])),
        )

    def _character(self, ship: Ship, station: StationId | None) -> Character:
        """The NPC as the economy sees a player: never saved (no account row)."""
        x, y = ship.system
        return Character(
            account_id=ship.actor,
            world=self.world,
            ship_id=ship.ship_id,
            hull=ship.hull.key,
            system_x=x,
            system_y=y,
            x=float(ship.x),
            y=float(ship.y),
            vx=0.0,
            vy=0.0,
            angle=0.0,
            docked_at=None if station is None else station[2],
            home_x=x,
            home_y=y,
            home_station=0,
            extra={},
        )

    # --- services ------------------------------------------------------------------------------

    def _service(self, ship: Ship, kind: str, units: float, price: float) -> Done:
        """Buy `units` of fuel or hull points at `price` each, as far as the credits go (the
        rule players' refuel and repair follow); one ledger transaction to `services`."""
        credits = self.economy.books.credits(ship.actor)
        units = max(0.0, units)
        cost = pricing.whole_cost(units, price)
        if cost > credits:
            units = float(min(pricing.affordable(credits, price), int(units)))
            cost = pricing.whole_cost(units, price)
        if units <= 0:
            return Done(False, why="INSUFFICIENT_FUNDS")
        self._pay(ship.actor, SERVICES, cost, kind, {"units": units, "price": price})
        return Done(True, credits=credits - cost, qty=units, total=cost)

    def _rearm(self, r: Rearm) -> Done:
        ship = r.ship
        hull = self.content.hulls[ship.hull.key]
        missing = 1.0 - ship.ammo
        rounds = {
            w: int(self.content.weapons[w].ammo * missing)
            for w in hull.loadout
            if self.content.weapons[w].ammo > 0
        }
        cost = sum(n * self.economy.catalog.ammo_price(w) for w, n in rounds.items())
        credits = self.economy.books.credits(ship.actor)
        if cost <= 0:
            return Done(False, why="NOT_AVAILABLE")
        share = 1.0 if cost <= credits else credits / cost
        cost = int(cost * share)
        if cost <= 0:
            return Done(False, why="INSUFFICIENT_FUNDS")
        self._pay(ship.actor, SERVICES, cost, "rearm", {"rounds": rounds, "share": share})
        return Done(True, credits=credits - cost, qty=missing * share, total=cost)

    def _pay(
        self, actor: int, to: str, amount: int, kind: str, detail: Mapping[str, object]
    ) -> None:
        if amount <= 0:
            return
        payer = player_account(actor)
        self.store.ledger.commit(
            self.world,
            f"npc-{kind}:{actor}:{self._rid(kind)}",
            f"npc_{kind}",
            account=payer,
            postings=[Posting(payer, -amount), Posting(to, amount)],
            result={"detail": dict(detail), "amount": amount},
            at=self.economy.books.clock(),
        )
        self.transactions += 1

    # --- wrecks, rescues, deaths ---------------------------------------------------------------

    def _wreck(self, r: Wrecked) -> Done:
        ship = r.ship
        holder = ship_holder(ship.ship_id)
        held = self.store.ledger.holdings(self.world, holder)
        wreck_id = r.wreck_id if r.wreck_id > 0 else self._next_wreck
        moves = [
            ItemMove(item, min(qty, held.get(item, 0)), holder, wreck_holder(wreck_id))
            for item, qty in r.items
            if min(qty, held.get(item, 0)) > 0
        ]
        if not moves:
            return Done(True, cargo=held, qty=0)
        if r.wreck_id <= 0:
            self._next_wreck += 1
        now = self.economy.books.clock()
        x, y = ship.system
        txn = self.store.ledger.commit(
            self.world,
            f"npc-wreck:{wreck_id}",
            "npc_wreck",
            account=player_account(ship.actor),
            moves=moves,
            save_wreck=Wreck(self.world, wreck_id, x, y, ship.x, ship.y, now + WRECK_TTL_S, None),
            result={"killer": r.killer, "destroyed": r.destroyed},
            report_holders=(holder,),
            at=now,
        )
        self.transactions += 1
        if r.wreck_id <= 0:  # a zone's wreck expires with the zone's own WreckExpired
            self._wrecks.append((now + WRECK_TTL_S, wreck_id))
        return Done(True, cargo=txn.holdings.get(holder, {}), qty=wreck_id)

    def expire(self) -> int:
        """Expire the wrecks whose time is up (their leftovers are destroyed). Returns how
        many."""
        now = self.economy.books.clock()
        due = [w for t, w in self._wrecks if t <= now]
        self._wrecks = [(t, w) for t, w in self._wrecks if t > now]
        for wreck_id in due:
            self.economy.events.expire_wreck(wreck_id)
        return len(due)

    def _rescue(self, r: Rescue) -> Done:
        stranded = r.stranded
        credits = self.economy.books.credits(stranded.actor)
        fee = min(max(0, r.fee), credits)
        to = SERVICES if r.helper is None else player_account(r.helper.actor)
        self._pay(stranded.actor, to, fee, "rescue", {"fuel": r.fuel})
        return Done(True, credits=credits - fee, qty=r.fuel, total=fee)

    def _birth(self, r: Born) -> Done:
        """The newborn's account, opened with its grant from `mint` (once per clone)."""
        account = player_account(r.ship.actor)
        if r.grant > 0:
            txn = self.store.ledger.commit(
                self.world,
                f"npc-birth:{r.ship.actor}",
                "npc_birth",
                account=account,
                postings=[Posting(MINT, -r.grant), Posting(account, r.grant)],
                result={"grant": r.grant, "station": list(r.station)},
                report_accounts=(account,),
                at=self.economy.books.clock(),
            )
            self.transactions += 1
            return Done(True, credits=txn.balances.get(account, 0))
        return Done(True, credits=self.economy.books.credits(r.ship.actor))

    def _estate(self, ship: Ship) -> Done:
        credits = self.economy.books.credits(ship.actor)
        if credits > 0:
            payer = player_account(ship.actor)
            self.store.ledger.commit(
                self.world,
                f"npc-estate:{ship.actor}",
                "npc_estate",
                account=payer,
                postings=[Posting(payer, -credits), Posting(MINT, credits)],
                result={"estate": credits},
                at=self.economy.books.clock(),
            )
            self.transactions += 1
        return Done(True, credits=0)

    def _rid(self, kind: str) -> str:
        self._serial += 1
        return f"npc-{kind}-{self._serial}"

    def circulation(self) -> int:
        """Credits held by every `player:` account of the world (here: the NPCs')."""
        return sum(
            v for k, v in self.store.ledger.balances(self.world).items() if k.startswith("player:")
        )


def market_view(station: StationId, quote: Mapping[str, object]) -> MarketView:
    """A planner's `MarketView` from `Economy.quote`'s screen."""
    items = quote.get("items", [])
    assert isinstance(items, list)
    fuel = quote.get("fuel_price")
    services = quote.get("services", [])
    assert isinstance(services, list)
    return MarketView(
        station=station,
        buy={i["key"]: int(i["buy"]) for i in items if i["stock"] > 0},
        sell={i["key"]: int(i["sell"]) for i in items},
        stock={i["key"]: int(i["stock"]) for i in items},
        fuel_price=float(fuel) if isinstance(fuel, int | float) else None,
        services=frozenset(str(s) for s in services),
    )


__all__ = ["WRECK_TTL_S", "NpcEconomy", "market_view"]
