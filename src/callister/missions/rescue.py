"""No dead ends: fuel warnings, rescue offers, the emergency recall home, the home ration, and
`progress_actions` / `dead_end`, the predicate the server (to offer a way out) and
`callister bench newplayer` (to count dead ends) share.

- **Fuel warning.** The HUD warns "low" while the fuel left is under FUEL_LOW x what reaching
  the nearest refuelling station takes (plus a jump's worth), and "critical" under
  FUEL_CRITICAL x: the point of no return, after which only coasting (or help) gets you there.
- **Rescue.** A stranded pilot's distress call gets offers: a fuel delivery (enough to reach
  the nearest refuelling station) or a tow (to the nearest station), priced from the
  responder's distance, the tow's distance and the fuel price. The pilot pays what they can;
  in lawful space the patrol fund pays the rest (up to FUND_COVERS, once an hour). Accepting
  puts the pilot's share in escrow and posts a rescue contract that patrols and traders (clones)
  and players may take; the first to reach the ship is paid.
- **Recall.** The last resort, always available: the ship is brought home, docked, with at
  least a ration of fuel. It costs RECALL_BASE + RECALL_PER_JUMP per sector from home; an
  insured pilot's policy pays it (and lapses); otherwise credits, then cargo as salvage, and
  the rest is waived. A pilot never ends in debt.
- **Ration.** A pilot docked at home who cannot buy RATION_FUEL gets it free.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from callister.content import Hull
from callister.missions import rules
from callister.missions._data import Sector
from callister.missions.board import deadline_for
from callister.missions.contracts import Contract, Giver, Goal, contract_id
from callister.missions.errors import MissionError
from callister.missions.facts import Pilot
from callister.missions.ledger import (
    INSURER,
    MISSIONS,
    SERVICES,
    FuelChange,
    LedgerRequest,
    Move,
    Posting,
    Relocate,
    escrow_account,
    pay,
    player_account,
    ship_holder,
    station_holder,
)
from callister.missions.markers import Marker
from callister.missions.travel import Place, flight_fuel, flight_seconds
from callister.protocol.errors import ErrorCode

FuelLevel = Literal["ok", "low", "critical", "dry"]


@dataclass(frozen=True, slots=True)
class FuelWarning:
    """The HUD's fuel state: `level`, a sentence, the fuel held and the fuel needed to reach
    a refuelling station (infinite when none is in reach)."""

    level: FuelLevel
    text: str
    fuel: float
    needed: float

    def to_dict(self) -> dict[str, Any]:
        needed = self.needed if math.isfinite(self.needed) else None
        return {
            "level": self.level,
            "text": self.text,
            "fuel": round(self.fuel, 1),
            "needed": needed,
        }


def fuel_warning(
    fuel: float,
    hull: Hull,
    refuel_distance: float | None,
    *,
    jump_needed: bool = False,
    fuel_multiplier: float = 1.0,
) -> FuelWarning:
    """The warning for a ship with `fuel` whose nearest refuelling station is
    `refuel_distance` m away (None: none in reach at all). `jump_needed`: that station is in
    another system (a jump's fuel is added)."""
    if fuel <= 0:
        return FuelWarning("dry", "Out of fuel: call for help or recall home", fuel, math.inf)
    if refuel_distance is None:
        return FuelWarning(
            "critical", "No refuelling station in reach: call for help", fuel, math.inf
        )
    needed = flight_fuel(refuel_distance, hull, fuel_multiplier)
    if jump_needed:
        needed += hull.jump_fuel * fuel_multiplier
    if fuel < needed * rules.FUEL_CRITICAL:
        text = "Fuel critical: head for a station now, or you will need help"
        return FuelWarning("critical", text, fuel, needed)
    if fuel < needed * rules.FUEL_LOW + hull.jump_fuel * fuel_multiplier:
        return FuelWarning("low", "Fuel low: refuel at the next station", fuel, needed)
    return FuelWarning("ok", "", fuel, needed)


# -- rescue -------------------------------------------------------------------------------------

ResponderKind = Literal["patrol", "trader", "player", "pirate", "miner"]


@dataclass(frozen=True, slots=True)
class Responder:
    """A ship that might answer a distress call: its kind, ship, owner (a player's account;
    -clone id for clones), where it is, its fuel, and whether it is a criminal now."""

    kind: ResponderKind
    ship: int
    owner: int
    place: Place
    fuel: float = 0.0
    criminal: bool = False


def may_answer(responder: Responder, stranded_owner: int, lawful_space: bool) -> bool:
    """Who may answer: patrols in lawful space, traders anywhere, players anywhere; never
    pirates or miners, never a criminal, never the stranded pilot, and only with fuel to
    spare (more than RESCUE_FUEL_MIN)."""
    if responder.owner == stranded_owner or responder.criminal:
        return False
    if responder.kind == "patrol" and not lawful_space:
        return False
    if responder.kind not in ("patrol", "trader", "player"):
        return False
    return responder.fuel > rules.RESCUE_FUEL_MIN


@dataclass(frozen=True, slots=True)
class RescueOffer:
    """One way out for a stranded ship: a "fuel" delivery of `fuel` units or a "tow" to
    station `to` (sector, index). `fee` = `pilot_pays` + `fund_pays`; `affordable` False when
    the pilot and the fund together cannot pay (then only the recall is left). `responder`
    is the nearest eligible ship (None: an open call, for whoever comes); `at` is where
    station `to` is."""

    kind: Literal["fuel", "tow"]
    fee: int
    pilot_pays: int
    fund_pays: int
    fuel: float
    to: tuple[Sector, int]
    responder: Responder | None
    eta_s: int
    at: tuple[float, float] = (0.0, 0.0)

    @property
    def affordable(self) -> bool:
        return self.pilot_pays + self.fund_pays >= self.fee

    def to_dict(self) -> dict[str, Any]:
        """The proposed `rescue_offer` entries (docs/missions.md, "Messages")."""
        return {
            "kind": self.kind,
            "fee": self.fee,
            "pilot_pays": self.pilot_pays,
            "fund_pays": self.fund_pays,
            "fuel": round(self.fuel, 1),
            "to": {
                "sector": [str(self.to[0][0]), str(self.to[0][1])],
                "station": self.to[1],
                "x": self.at[0],
                "y": self.at[1],
            },
            "responder": None
            if self.responder is None
            else {"kind": self.responder.kind, "ship": self.responder.ship},
            "eta_s": self.eta_s,
            "affordable": self.affordable,
        }


@dataclass(frozen=True, slots=True)
class Haven:
    """A station a stranded ship could reach: where, its index, whether it sells fuel, and
    its fuel price."""

    place: Place
    station: int
    refuel: bool
    fuel_price: float


def rescue_offers(
    ship: Place,
    pilot: Pilot,
    hull: Hull,
    havens: tuple[Haven, ...],
    responders: tuple[Responder, ...],
    *,
    lawful_space: bool,
    fund_available: bool,
) -> tuple[RescueOffer, ...]:
    """The rescue offers for a stranded `pilot` at `ship` (flying `hull`): a fuel delivery
    when a refuelling station is in the system, and a tow to the nearest station. Empty when
    no station is in the system (only the recall is left). Pure and deterministic."""
    near = [h for h in havens if h.place.sector == ship.sector]
    if not near:
        return ()
    eligible = sorted(
        (
            r
            for r in responders
            if r.place.sector == ship.sector and may_answer(r, pilot.account, lawful_space)
        ),
        key=lambda r: (_dist(r.place, ship), r.ship),
    )
    responder = eligible[0] if eligible else None
    km_out = 0.0 if responder is None else _dist(responder.place, ship) / 1000
    eta = 0 if responder is None else math.ceil(flight_seconds(km_out * 1000, hull))
    fund = rules.FUND_COVERS if lawful_space and fund_available else 0
    offers = []
    refuel = [h for h in near if h.refuel]
    if refuel:
        h = min(refuel, key=lambda h: (_dist(h.place, ship), h.station))
        room = max(0.0, hull.fuel - pilot.fuel)
        want = flight_fuel(_dist(h.place, ship), hull) * rules.RESCUE_FUEL_MARGIN
        fuel = min(room, max(rules.RESCUE_FUEL_MIN, want))
        fee = (
            rules.CALLOUT_BASE
            + math.ceil(rules.CALLOUT_PER_KM * km_out)
            + math.ceil(fuel * h.fuel_price * rules.FUEL_MARKUP)
        )
        offers.append(_offer("fuel", fee, pilot, fund, fuel, h, responder, eta))
    h = min(near, key=lambda h: (_dist(h.place, ship), h.station))
    km_tow = _dist(h.place, ship) / 1000
    fee = rules.CALLOUT_BASE + math.ceil(rules.CALLOUT_PER_KM * km_out + rules.TOW_PER_KM * km_tow)
    tow_eta = eta + math.ceil(flight_seconds(km_tow * 1000, hull))
    offers.append(_offer("tow", fee, pilot, fund, 0.0, h, responder, tow_eta))
    return tuple(offers)


def rescue_contract(
    offer: RescueOffer,
    pilot: Pilot,
    ship: Place,
    giver: Giver,
    call: int,
    now: int,
) -> tuple[Contract, LedgerRequest | None]:
    """The contract a taken offer posts (for boards and nearby responders) and the request
    putting the pilot's share in escrow (None when the fund pays it all). `call` numbers the
    pilot's distress calls (it makes the id unique). NOT_AVAILABLE for an unaffordable offer."""
    if not offer.affordable:
        raise MissionError(
            ErrorCode.INSUFFICIENT_FUNDS,
            f"the {offer.kind} costs {offer.fee}; you and the fund can pay "
            f"{offer.pilot_pays + offer.fund_pays}: recall home instead",
        )
    cid = contract_id("r", pilot.account, call, offer.kind)
    marker = Marker("ship", ship.sector, pilot.ship, ship.x, ship.y)
    to_sector, to_station = offer.to
    if offer.kind == "fuel":
        goals: tuple[Goal, ...] = (
            Goal(
                "rendezvous",
                marker,
                f"Bring {offer.fuel:.0f} fuel to the stranded ship",
                target=pilot.ship,
                owner=pilot.account,
                fuel=offer.fuel,
            ),
        )
    else:
        goals = (
            Goal(
                "rendezvous",
                marker,
                "Reach the stranded ship and take it in tow",
                target=pilot.ship,
                owner=pilot.account,
            ),
            Goal(
                "tow",
                Marker("station", to_sector, to_station, offer.at[0], offer.at[1]),
                "Tow it to a station and dock",
                target=pilot.ship,
                owner=pilot.account,
            ),
        )
    funding: list[tuple[str, int]] = []
    if offer.pilot_pays:
        funding.append((escrow_account(pilot.account, cid), offer.pilot_pays))
    if offer.fund_pays:
        funding.append((MISSIONS, offer.fund_pays))
    estimate = offer.eta_s + rules.HANDLING_S
    contract = Contract(
        id=cid,
        kind="rescue",
        tier=0,
        giver=giver,
        title=f"Rescue: {offer.kind} for a stranded ship",
        goals=goals,
        reward=offer.fee,
        funding=tuple(funding),
        reputation=((giver.faction, rules.MISSION_REP[0]),) if giver.faction else (),
        collateral=0,
        offered_until=now + rules.BOARD_BUCKET_S,
        duration_s=deadline_for(estimate),
        estimate_s=math.ceil(estimate),
        fail_rep=0,
    )
    hold = None
    if offer.pilot_pays:
        hold = LedgerRequest(
            f"rescue:{pilot.account}:{cid}:hold",
            "rescue_hold",
            pilot.account,
            pay(
                player_account(pilot.account), escrow_account(pilot.account, cid), offer.pilot_pays
            ),
            detail={"contract": cid, "escrow": offer.pilot_pays},
        )
    return contract, hold


def cancel_rescue(contract: Contract, pilot: Pilot) -> LedgerRequest | None:
    """Give the pilot's escrowed share back (their call expired, or they got out another way
    before anyone came). None when the fund paid it all. The server withdraws the contract."""
    account = escrow_account(pilot.account, contract.id)
    share = sum(amount for who, amount in contract.funding if who == account)
    if not share:
        return None
    return LedgerRequest(
        f"rescue:{pilot.account}:{contract.id}:cancel",
        "rescue_cancel",
        pilot.account,
        pay(account, player_account(pilot.account), share),
        detail={"contract": contract.id, "refund": share},
    )


# -- recall and ration ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecallTerms:
    """What the emergency recall costs: `fee`, paid by the insurer (`insured`, the policy
    lapses) or by `credits` and `salvage` (cargo taken, valued at SALVAGE_SHARE of its base
    price), the remainder `waived`; `fuel` is the free ration added on arrival."""

    fee: int
    insured: bool
    credits: int
    salvage: tuple[tuple[str, int], ...]
    waived: int
    fuel: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "fee": self.fee,
            "insured": self.insured,
            "credits": self.credits,
            "salvage": {item: qty for item, qty in self.salvage},
            "waived": self.waived,
            "fuel": round(self.fuel, 1),
        }


def recall_terms(pilot: Pilot, base_prices: Mapping[str, int]) -> RecallTerms:
    """The recall's price for `pilot` as they are. Salvage takes the cheapest goods (by base
    price per unit) first, whole units, until the shortfall is covered."""
    home, _ = pilot.home
    jumps = max(abs(pilot.sector[0] - home[0]), abs(pilot.sector[1] - home[1]))
    fee = rules.RECALL_BASE + rules.RECALL_PER_JUMP * jumps
    ration = max(0.0, rules.RATION_FUEL - pilot.fuel)
    if pilot.insured:
        return RecallTerms(fee, True, 0, (), 0, ration)
    paid = min(pilot.credits, fee)
    short = fee - paid
    salvage = []
    for item in sorted(pilot.cargo, key=lambda i: (base_prices.get(i, 1), i)):
        if short <= 0:
            break
        unit = max(1, math.floor(base_prices.get(item, 1) * rules.SALVAGE_SHARE))
        qty = min(pilot.cargo[item], math.ceil(short / unit))
        if qty > 0:
            salvage.append((item, qty))
            short -= qty * unit
    return RecallTerms(fee, False, paid, tuple(salvage), max(0, short), ration)


def recall_request(pilot: Pilot, terms: RecallTerms, rid: str) -> LedgerRequest:
    """The recall as one transaction (key "recall:<account>:<rid>"): the fee to "services"
    (from the insurer or the pilot), salvage from the hold to the home station's stock, the
    ration of fuel, and the ship docked at home."""
    home, station = pilot.home
    postings: tuple[Posting, ...] = ()
    if terms.insured:
        postings = pay(INSURER, SERVICES, terms.fee)
    elif terms.credits:
        postings = pay(player_account(pilot.account), SERVICES, terms.credits)
    moves = tuple(
        Move(item, qty, ship_holder(pilot.ship), station_holder(home, station))
        for item, qty in terms.salvage
    )
    fuel = (FuelChange(pilot.account, terms.fuel),) if terms.fuel > 0 else ()
    return LedgerRequest(
        f"recall:{pilot.account}:{rid}",
        "recall",
        pilot.account,
        postings,
        moves,
        fuel,
        Relocate(pilot.account, home, station),
        detail=terms.to_dict(),
    )


def ration_request(pilot: Pilot, fuel_price: float, rid: str) -> LedgerRequest:
    """The home station's free ration: fuel up to RATION_FUEL, for a pilot docked at home who
    cannot buy that much. NOT_AVAILABLE otherwise (not home, enough fuel, or able to pay)."""
    home, station = pilot.home
    if (pilot.sector, pilot.docked_at) != (home, station):
        raise MissionError(ErrorCode.NOT_AVAILABLE, "the ration is given at your home station")
    want = rules.RATION_FUEL - pilot.fuel
    if want <= 0:
        raise MissionError(ErrorCode.NOT_AVAILABLE, "you have fuel enough to fly")
    if pilot.credits >= math.ceil(want * fuel_price):
        raise MissionError(ErrorCode.NOT_AVAILABLE, "you can afford fuel: refuel at the station")
    return LedgerRequest(
        f"ration:{pilot.account}:{rid}",
        "ration",
        pilot.account,
        fuel=(FuelChange(pilot.account, want),),
        detail={"fuel": round(want, 2)},
    )


# -- dead ends --------------------------------------------------------------------------------

Action = Literal[
    "sell_cargo",
    "refuel",
    "ration",
    "repair",
    "take_contract",
    "undock",
    "fly_to_station",
    "mine",
    "jump",
    "call_rescue",
    "recall_home",
]


@dataclass(frozen=True, slots=True)
class Situation:
    """A pilot's situation, as plain values, for `progress_actions`.

    Docked: `services` of the station, `at_home`, its `fuel_price`. Undocked:
    `refuel_distance` to the nearest refuelling station in the system (None: none),
    `field_distance` to the nearest field with ore (None: none), `links` (the system has
    jump links), `responders` eligible to answer a distress call. Both: `contracts` (a board
    in reach offers any), `repair_price` per hull point, and the switches for the three
    no-dead-end features (a world may turn them off; the bench checks they matter)."""

    hull: Hull
    docked: bool
    fuel: float
    credits: int
    cargo_used: int = 0
    hull_frac: float = 1.0
    at_home: bool = False
    services: tuple[str, ...] = ()
    fuel_price: float = 3.0
    repair_price: float = 5.0
    refuel_distance: float | None = None
    field_distance: float | None = None
    links: bool = False
    responders: int = 0
    contracts: bool = False
    rescue: bool = True
    recall: bool = True
    ration: bool = True


def progress_actions(s: Situation) -> tuple[Action, ...]:
    """Every action that moves the pilot towards progress from `s`, best first (the recall,
    the last resort, last). Each listed action can actually be taken: a refuel is listed only
    when one unit is affordable, a flight only with the fuel for it."""
    out: list[Action] = []
    hull = s.hull
    can_fly = s.fuel >= flight_fuel(1000.0, hull)
    if s.docked:
        if "market" in s.services and s.cargo_used > 0:
            out.append("sell_cargo")
        if "refuel" in s.services and s.fuel < hull.fuel and s.credits >= math.ceil(s.fuel_price):
            out.append("refuel")
        if (
            s.ration
            and s.at_home
            and s.fuel < rules.RATION_FUEL
            and s.credits < math.ceil((rules.RATION_FUEL - s.fuel) * s.fuel_price)
        ):
            out.append("ration")
        if "repair" in s.services and s.hull_frac < 1 and s.credits >= math.ceil(s.repair_price):
            out.append("repair")
        if s.contracts and can_fly:
            out.append("take_contract")
        if can_fly:
            out.append("undock")
        if s.recall and not s.at_home:
            out.append("recall_home")
        return tuple(out)
    if s.refuel_distance is not None and s.fuel >= flight_fuel(s.refuel_distance, hull):
        out.append("fly_to_station")
    field = s.field_distance
    if field is not None and s.cargo_used < hull.cargo and s.fuel >= flight_fuel(field, hull):
        out.append("mine")
    if s.links and s.fuel >= hull.jump_fuel:
        out.append("jump")
    if s.rescue and s.responders > 0:
        out.append("call_rescue")
    if s.recall:
        out.append("recall_home")
    return tuple(out)


def dead_end(s: Situation) -> bool:
    """True when no action leads towards progress from `s` (what the bench counts)."""
    return not progress_actions(s)


# -- inside -------------------------------------------------------------------------------------


def _dist(a: Place, b: Place) -> float:
    return math.hypot(a.x - b.x, a.y - b.y)


def _offer(
    kind: Literal["fuel", "tow"],
    fee: int,
    pilot: Pilot,
    fund: int,
    fuel: float,
    to: Haven,
    responder: Responder | None,
    eta: int,
) -> RescueOffer:
    pilot_pays = min(fee, max(0, pilot.credits))
    fund_pays = min(fund, fee - pilot_pays)
    return RescueOffer(
        kind,
        fee,
        pilot_pays,
        fund_pays,
        fuel,
        (to.place.sector, to.station),
        responder,
        eta,
        (to.place.x, to.place.y),
    )
