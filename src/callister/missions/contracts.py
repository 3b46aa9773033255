"""Contracts and a pilot's mission log: accept, abandon, progress, complete, fail — pure.

A `Contract` (made by `board.py`, or by `rescue.py` for a distress call) is a list of goals
done in order: pick up entrusted cargo, deliver it, mine ore, hand it in, destroy a pirate,
escort a trader, meet a stranded ship and give it fuel or tow it. A pilot's `MissionLog` holds
at most MAX_ACTIVE accepted contracts (`Active`: the contract, its deadline, the goal reached
and the progress within it) and remembers the ids it finished, so a board never offers one
twice.

Every transition returns a `Change`: the new log, the `LedgerRequest`s to commit (in order),
the reputation changes, and `Notice`s for the client. Nothing here reads a clock: the caller
passes `now` (wall-clock seconds, as the economy uses) and the `Pilot` as it is.

Contracts are instanced: every pilot who takes one gets their own copy (the same id); a pilot
takes a given contract at most once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from callister.missions import rules
from callister.missions._data import (
    Sector,
    get_float,
    get_int,
    get_list,
    get_str,
    obj,
    sector_in,
    sector_out,
)
from callister.missions.errors import MissionDataError, MissionError
from callister.missions.facts import (
    DockedAt,
    Fact,
    Killed,
    MinedOre,
    Near,
    Pilot,
    ShipLost,
    WatchedDocked,
    WatchedLost,
)
from callister.missions.ledger import (
    MARKET,
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
from callister.missions.markers import Marker, Objective
from callister.missions.reputation import RANKS, Reputation, rank_of
from callister.protocol.errors import ErrorCode
from callister.universe.hashing import mix64
from callister.universe.space import MASK64

ContractKind = Literal["delivery", "mining", "bounty", "escort", "rescue"]
CONTRACT_KINDS: tuple[str, ...] = get_args(ContractKind)
GoalKind = Literal["pickup", "deliver", "mine", "handin", "kill", "escort", "rendezvous", "tow"]
GOAL_KINDS: tuple[str, ...] = get_args(GoalKind)
NoticeEvent = Literal["accepted", "updated", "blocked", "completed", "failed", "abandoned", "void"]


@dataclass(frozen=True, slots=True)
class Giver:
    """Who offers a contract: a station (sector, index, name) and its faction, whose
    reputation the contract changes."""

    sector: Sector
    station: int
    faction: str
    name: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "sector": sector_out(self.sector),
            "station": self.station,
            "faction": self.faction,
            "name": self.name,
        }

    @classmethod
    def from_dict(cls, value: object, path: str) -> Giver:
        d = obj(value, path)
        return cls(
            sector_in(d.get("sector"), f"{path}.sector"),
            get_int(d, "station", path),
            get_str(d, "faction", path),
            get_str(d, "name", path),
        )


@dataclass(frozen=True, slots=True)
class Goal:
    """One step of a contract.

    - pickup (marker: station): the station entrusts `qty` `item` (`volume` cargo units) for
      the contract's collateral;
    - deliver / handin (station): bring `qty` `item` there (deliver: the entrusted cargo;
      handin: ore you mined);
    - mine (field): mine `qty` units of ore `item` in the marker's field (the reward is priced
      on that field's richness; ore from elsewhere does not count);
    - kill (ship): destroy ship `target` (crewed by clone `clone`);
    - escort (station): stay near ship `target` until it docks at the marker's station;
    - rendezvous (ship): come within RESCUE_RANGE of stranded ship `target` (of account
      `owner`) and, if `fuel` > 0, hand over that much fuel;
    - tow (station): dock anywhere with the stranded ship in tow (it is docked there too).
    """

    kind: GoalKind
    marker: Marker
    text: str
    item: str = ""
    qty: int = 0
    volume: int = 0
    target: int = 0
    clone: int = 0
    owner: int = 0
    fuel: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "marker": self.marker.to_dict(),
            "text": self.text,
        }
        for key in ("item", "qty", "volume", "target", "clone", "owner", "fuel"):
            value = getattr(self, key)
            if value:
                # the wire's id rules (docs/protocol.md): a ship's id and a player's account
                # are numbers, a clone's id (and a clone's owner, -clone id) a decimal string
                if key == "clone" or (key == "owner" and value < 0):
                    value = str(value)
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, value: object, path: str) -> Goal:
        d = obj(value, path)
        kind = get_str(d, "kind", path)
        if kind not in GOAL_KINDS:
            raise MissionDataError(f"{path}.kind", f"must be one of {GOAL_KINDS}, not {kind!r}")
        return cls(
            kind=cast(GoalKind, kind),
            marker=Marker.from_dict(d.get("marker"), f"{path}.marker"),
            text=get_str(d, "text", path),
            item=get_str(d, "item", path, ""),
            qty=get_int(d, "qty", path, 0),
            volume=get_int(d, "volume", path, 0),
            target=get_int(d, "target", path, 0),
            clone=get_int(d, "clone", path, 0),
            owner=get_int(d, "owner", path, 0),
            fuel=get_float(d, "fuel", path, 0.0),
        )


@dataclass(frozen=True, slots=True)
class Contract:
    """A contract as offered. `reward` credits are paid by `funding` ((ledger account,
    credits) pairs summing to the reward: the "missions" treasury, or a stranded pilot's
    escrow and the patrol fund for a rescue); `reputation` changes on completion, `fail_rep`
    with the giver on failure. `collateral` is taken at the pickup and returned on delivery.
    Accept before `offered_until`; finish within `duration_s` of accepting. `estimate_s` is
    the time the reward was priced on."""

    id: str
    kind: ContractKind
    tier: int
    giver: Giver
    title: str
    goals: tuple[Goal, ...]
    reward: int
    funding: tuple[tuple[str, int], ...]
    reputation: tuple[tuple[str, int], ...]
    collateral: int
    offered_until: int
    duration_s: int
    estimate_s: int
    fail_rep: int = rules.FAIL_REP

    def __post_init__(self) -> None:
        if not self.goals:
            raise ValueError(f"contract {self.id} has no goals")
        if sum(amount for _, amount in self.funding) != self.reward:
            raise ValueError(f"contract {self.id}: funding {self.funding} != reward {self.reward}")

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the board message's entries and the stored log's)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "tier": self.tier,
            "giver": self.giver.to_dict(),
            "title": self.title,
            "goals": [g.to_dict() for g in self.goals],
            "reward": self.reward,
            "funding": [[account, amount] for account, amount in self.funding],
            "reputation": [[faction, delta] for faction, delta in self.reputation],
            "collateral": self.collateral,
            "offered_until": self.offered_until,
            "duration_s": self.duration_s,
            "estimate_s": self.estimate_s,
            "fail_rep": self.fail_rep,
        }

    @classmethod
    def from_dict(cls, value: object, path: str = "contract") -> Contract:
        """Read `to_dict` output back; MissionDataError names a bad field."""
        d = obj(value, path)
        kind = get_str(d, "kind", path)
        if kind not in CONTRACT_KINDS:
            raise MissionDataError(f"{path}.kind", f"must be one of {CONTRACT_KINDS}")
        goals = tuple(
            Goal.from_dict(g, f"{path}.goals[{i}]")
            for i, g in enumerate(get_list(d, "goals", path))
        )
        try:
            return cls(
                id=get_str(d, "id", path),
                kind=cast(ContractKind, kind),
                tier=get_int(d, "tier", path),
                giver=Giver.from_dict(d.get("giver"), f"{path}.giver"),
                title=get_str(d, "title", path),
                goals=goals,
                reward=get_int(d, "reward", path),
                funding=_pairs(get_list(d, "funding", path), f"{path}.funding"),
                reputation=_pairs(get_list(d, "reputation", path), f"{path}.reputation"),
                collateral=get_int(d, "collateral", path),
                offered_until=get_int(d, "offered_until", path),
                duration_s=get_int(d, "duration_s", path),
                estimate_s=get_int(d, "estimate_s", path),
                fail_rep=get_int(d, "fail_rep", path, rules.FAIL_REP),
            )
        except ValueError as e:
            if isinstance(e, MissionDataError):
                raise
            raise MissionDataError(path, str(e)) from None


def _pairs(items: list[Any], path: str) -> tuple[tuple[str, int], ...]:
    out = []
    for i, pair in enumerate(items):
        if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[0], str):
            raise MissionDataError(f"{path}[{i}]", f"must be [name, integer], not {pair!r}")
        out.append((pair[0], get_int({"v": pair[1]}, "v", f"{path}[{i}]")))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Active:
    """An accepted contract: at goal `step`, with `have` units of it done (mining), `near`
    of `seen` proximity reports within escort range (escorts), and `escrowed` collateral
    held since the pickup."""

    contract: Contract
    accepted_at: int
    deadline: int
    step: int = 0
    have: int = 0
    near: int = 0
    seen: int = 0
    escrowed: int = 0

    @property
    def goal(self) -> Goal:
        """The goal being worked on."""
        return self.contract.goals[self.step]

    def objective(self) -> Objective:
        """The HUD line for the goal being worked on."""
        goal = self.goal
        counted = goal.kind == "mine"
        return Objective(goal.text, goal.marker, self.have if counted else 0, goal.qty * counted)

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract": self.contract.to_dict(),
            "accepted_at": self.accepted_at,
            "deadline": self.deadline,
            "step": self.step,
            "have": self.have,
            "near": self.near,
            "seen": self.seen,
            "escrowed": self.escrowed,
        }

    @classmethod
    def from_dict(cls, value: object, path: str) -> Active:
        d = obj(value, path)
        contract = Contract.from_dict(d.get("contract"), f"{path}.contract")
        step = get_int(d, "step", path)
        if not 0 <= step < len(contract.goals):
            raise MissionDataError(f"{path}.step", f"must be within 0..{len(contract.goals) - 1}")
        return cls(
            contract,
            get_int(d, "accepted_at", path),
            get_int(d, "deadline", path),
            step,
            get_int(d, "have", path, 0),
            get_int(d, "near", path, 0),
            get_int(d, "seen", path, 0),
            get_int(d, "escrowed", path, 0),
        )


@dataclass(frozen=True, slots=True)
class Notice:
    """What the client hears about a contract: `event` and a sentence; `objective` is the
    next HUD line while the contract goes on."""

    event: NoticeEvent
    contract: str
    text: str
    objective: Objective | None = None
    reward: int = 0

    def message(self) -> dict[str, Any]:
        """The proposed `mission` message (docs/missions.md, "Messages")."""
        return {
            "t": "mission",
            "event": self.event,
            "contract": self.contract,
            "text": self.text,
            "objective": None if self.objective is None else self.objective.to_dict(),
            "reward": self.reward,
        }


@dataclass(frozen=True, slots=True)
class MissionLog:
    """A pilot's contracts: the `active` ones (at most MAX_ACTIVE), the ids `finished` most
    recently (at most FINISHED_KEPT), and lifetime counts."""

    active: tuple[Active, ...] = ()
    finished: tuple[str, ...] = ()
    completed: int = 0
    failed: int = 0

    def holds(self, contract_id: str) -> Active | None:
        """The active contract with this id, or None."""
        return next((a for a in self.active if a.contract.id == contract_id), None)

    def taken(self, contract_id: str) -> bool:
        """Whether this pilot holds or has finished the contract (a board hides it)."""
        return self.holds(contract_id) is not None or contract_id in self.finished

    def watched_ships(self) -> frozenset[int]:
        """Ships the server must report on (Near, WatchedDocked, WatchedLost) for this log:
        the targets of the goals being worked on."""
        return frozenset(a.goal.target for a in self.active if a.goal.target)

    def to_dict(self) -> dict[str, Any]:
        return {
            "active": [a.to_dict() for a in self.active],
            "finished": list(self.finished),
            "completed": self.completed,
            "failed": self.failed,
        }

    @classmethod
    def from_dict(cls, value: object, path: str = "missions") -> MissionLog:
        d = obj(value, path)
        active = tuple(
            Active.from_dict(a, f"{path}.active[{i}]")
            for i, a in enumerate(get_list(d, "active", path, default=True))
        )
        finished = get_list(d, "finished", path, default=True)
        if not all(isinstance(f, str) for f in finished):
            raise MissionDataError(f"{path}.finished", "must be a list of contract ids")
        return cls(
            active, tuple(finished), get_int(d, "completed", path, 0), get_int(d, "failed", path, 0)
        )


@dataclass(frozen=True, slots=True)
class Change:
    """The result of a transition: the new `log`; `requests` to commit in order; `reputation`
    changes ((faction, delta)); `notices` for the client; `earned`, the credits contracts paid
    the pilot (their profit, for the tutorial)."""

    log: MissionLog
    requests: tuple[LedgerRequest, ...] = ()
    reputation: tuple[tuple[str, int], ...] = ()
    notices: tuple[Notice, ...] = ()
    earned: int = 0


def contract_id(prefix: str, *parts: object) -> str:
    """A contract id: `prefix` and 12 hex digits of a portable hash of `parts` (their str),
    the same on every machine and process."""
    h = 0
    for byte in "\x1f".join(str(p) for p in parts).encode("utf-8"):
        h = mix64((h ^ byte) & MASK64)
    return f"{prefix}{h & 0xFFFFFFFFFFFF:012x}"


# -- transitions --------------------------------------------------------------------------------


def accept(
    log: MissionLog, contract: Contract, pilot: Pilot, reputation: Reputation, now: int
) -> Change:
    """Take `contract` (the caller checked it is on the board the pilot reads). Refused with
    MissionError when already held or finished, expired, the log is full, the pilot's rank
    with the giver is below the contract's tier, or the collateral exceeds their credits.
    A pilot docked where the first goal is (a pickup here) gets it done at once."""
    cid = contract.id
    if log.holds(cid) is not None:
        raise MissionError(ErrorCode.NOT_AVAILABLE, "you already hold this contract")
    if cid in log.finished:
        raise MissionError(ErrorCode.NOT_AVAILABLE, "you have finished this contract already")
    if now >= contract.offered_until:
        raise MissionError(ErrorCode.NOT_AVAILABLE, "this offer has expired: read the board again")
    if len(log.active) >= rules.MAX_ACTIVE:
        raise MissionError(
            ErrorCode.NOT_AVAILABLE,
            f"you hold {rules.MAX_ACTIVE} contracts, the most at once: finish or abandon one",
        )
    faction = contract.giver.faction
    rank = reputation.rank(faction)
    if rank.max_tier < contract.tier:
        need = next(r for r in RANKS if r.max_tier >= contract.tier)
        raise MissionError(
            ErrorCode.NOT_AVAILABLE,
            f"this contract needs rank {need.name} with {faction} ({need.floor}); you are "
            f"{rank.name} ({reputation.get(faction)}): finish smaller contracts for them first",
        )
    if contract.collateral > pilot.credits:
        raise MissionError(
            ErrorCode.INSUFFICIENT_FUNDS,
            f"the collateral is {contract.collateral}; you have {pilot.credits}",
        )
    active = Active(contract, now, now + contract.duration_s)
    notice = Notice("accepted", cid, f"Accepted: {contract.title}", active.objective())
    change = Change(dataclasses.replace(log, active=(*log.active, active)), notices=(notice,))
    if pilot.docked_at is not None:
        here = DockedAt(pilot.sector, pilot.docked_at)
        change = _merge(change, _progress(change.log, active, here, pilot, now))
    return change


def abandon(log: MissionLog, contract_id: str, pilot: Pilot, now: int) -> Change:
    """Give a contract up: ABANDON_REP with the giver; entrusted cargo is returned (and the
    collateral refunded) if the pilot is docked at the pickup station with it, else the
    collateral is forfeit. NOT_AVAILABLE if the pilot does not hold it."""
    active = log.holds(contract_id)
    if active is None:
        raise MissionError(ErrorCode.NOT_AVAILABLE, f"you hold no contract {contract_id!r}")
    requests: tuple[LedgerRequest, ...] = ()
    c = active.contract
    if active.escrowed:
        pickup = next(g for g in c.goals if g.kind == "pickup")
        here = (pilot.sector, pilot.docked_at) == (pickup.marker.sector, pickup.marker.index)
        if here and pilot.holds(pickup.item) >= pickup.qty:
            requests = (
                LedgerRequest(
                    _key(pilot, c, "return"),
                    "mission_return",
                    pilot.account,
                    pay(
                        escrow_account(pilot.account, c.id),
                        player_account(pilot.account),
                        active.escrowed,
                    ),
                    (
                        Move(
                            pickup.item,
                            pickup.qty,
                            ship_holder(pilot.ship),
                            station_holder(pickup.marker.sector, pickup.marker.index),
                        ),
                    ),
                    detail={"contract": c.id, "refund": active.escrowed, "volume": pickup.volume},
                ),
            )
        else:
            requests = (_forfeit(pilot, active),)
    rep = ((c.giver.faction, rules.ABANDON_REP),) if c.giver.faction else ()
    return Change(
        _finish(log, active, failed=True),
        requests,
        rep,
        (Notice("abandoned", c.id, f"Abandoned: {c.title}"),),
    )


def observe(log: MissionLog, fact: Fact, pilot: Pilot, now: int) -> Change:
    """Advance every active contract by `fact`, then fail those past their deadline.

    Checks use `pilot` as it is before the returned requests commit, updated here as each
    request would change it (two pickups at one station share the hold correctly).
    """
    change = Change(log)
    for active in log.active:
        current = change.log.holds(active.contract.id)
        if current is not None:
            step = _progress(change.log, current, fact, pilot, now)
            pilot = _after(pilot, step.requests)
            change = _merge(change, step)
    return _merge(change, expire(change.log, pilot, now))


def expire(log: MissionLog, pilot: Pilot, now: int) -> Change:
    """Fail every active contract whose deadline has passed (forfeiting collateral)."""
    change = Change(log)
    for active in log.active:
        if now >= active.deadline:
            change = _merge(change, _fail(change.log, active, pilot, "the deadline passed"))
    return change


# -- inside -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Step:
    """What a fact does to one contract: `outcome` None (progress) / completed / failed /
    void; the updated `active`; requests; a notice text (blocked: `blocked` True)."""

    active: Active
    outcome: Literal["completed", "failed", "void"] | None = None
    requests: tuple[LedgerRequest, ...] = ()
    text: str = ""
    blocked: bool = False


def _progress(log: MissionLog, active: Active, fact: Fact, pilot: Pilot, now: int) -> Change:
    """What `fact` does to one contract of the log."""
    step = _advance(active, fact, pilot)
    if step is None:
        return Change(log)
    return _apply(log, active, step, _after(pilot, step.requests), now)


def _advance(active: Active, fact: Fact, pilot: Pilot) -> _Step | None:
    """The effect of `fact` on `active` (None: nothing)."""
    goal = active.goal
    if isinstance(fact, ShipLost):
        if active.escrowed or goal.kind == "tow":
            what = "the ship in tow" if goal.kind == "tow" else "the cargo in your care"
            return _Step(active, "failed", text=f"your ship was lost with {what}")
        return None
    if isinstance(fact, WatchedLost) and fact.ship == goal.target:
        if goal.kind == "escort":
            return _Step(active, "failed", text="the ship you escorted was destroyed")
        if goal.kind in ("kill", "rendezvous", "tow"):
            return _Step(active, "void", text="the ship is gone: the contract is void")
        return None
    if isinstance(fact, DockedAt):
        at = (fact.sector, fact.station) == (goal.marker.sector, goal.marker.index)
        if goal.kind == "tow":
            return _complete(active, pilot, Relocate(goal.owner, fact.sector, fact.station))
        if not at:
            return None
        if goal.kind == "pickup":
            return _pickup(active, pilot)
        if goal.kind in ("deliver", "handin"):
            if pilot.holds(goal.item) < goal.qty:
                return _Step(
                    active,
                    text=f"you hold {pilot.holds(goal.item)} {goal.item}, the contract needs "
                    f"{goal.qty}",
                    blocked=True,
                )
            move = Move(
                goal.item,
                goal.qty,
                ship_holder(pilot.ship),
                station_holder(fact.sector, fact.station),
            )
            return _complete(active, pilot, move=move)
        return None
    if (
        isinstance(fact, MinedOre)
        and goal.kind == "mine"
        and (fact.sector, fact.field, fact.ore)
        == (goal.marker.sector, goal.marker.index, goal.item)
    ):  # the named field only: the reward is priced on its richness
        have = min(goal.qty, active.have + fact.qty)
        if have >= goal.qty:
            return _Step(_next(active), text=f"Quota mined: {goal.qty} {goal.item}")
        return _Step(dataclasses.replace(active, have=have))
    if isinstance(fact, Killed) and goal.kind == "kill":
        if fact.ship == goal.target or (goal.clone and fact.clone == goal.clone):
            return _complete(active, pilot)
        return None
    if isinstance(fact, Near) and fact.ship == goal.target:
        if goal.kind == "escort":
            close = fact.distance <= rules.ESCORT_RANGE
            return _Step(
                dataclasses.replace(active, seen=active.seen + 1, near=active.near + close)
            )
        if (
            goal.kind == "rendezvous"
            and fact.distance <= rules.RESCUE_RANGE
            and fact.speed <= rules.RESCUE_MAX_SPEED
        ):
            if goal.fuel <= 0:
                return _Step(_next(active), text="Tow attached: dock at any station")
            if pilot.fuel <= goal.fuel:
                return _Step(
                    active, text=f"you need more than {goal.fuel:.0f} fuel to give", blocked=True
                )
            fuel = (FuelChange(pilot.account, -goal.fuel), FuelChange(goal.owner, goal.fuel))
            return _complete(active, pilot, fuel=fuel)
        return None
    if isinstance(fact, WatchedDocked) and fact.ship == goal.target and goal.kind == "escort":
        if (fact.sector, fact.station) != (goal.marker.sector, goal.marker.index):
            return None
        stayed = active.seen > 0 and active.near >= rules.ESCORT_PRESENCE * active.seen
        if stayed and fact.distance <= rules.ESCORT_RANGE:
            return _complete(active, pilot)
        return _Step(active, "failed", text="the trader arrived without you alongside")
    return None


def _pickup(active: Active, pilot: Pilot) -> _Step:
    goal, c = active.goal, active.contract
    if pilot.cargo_free < goal.volume:
        return _Step(
            active,
            text=f"make room: the cargo takes {goal.volume} units, {pilot.cargo_free} are free",
            blocked=True,
        )
    if pilot.credits < c.collateral:
        return _Step(
            active,
            text=f"the collateral is {c.collateral}; you have {pilot.credits}",
            blocked=True,
        )
    request = LedgerRequest(
        _key(pilot, c, "pickup"),
        "mission_pickup",
        pilot.account,
        pay(player_account(pilot.account), escrow_account(pilot.account, c.id), c.collateral),
        (
            Move(
                goal.item,
                goal.qty,
                station_holder(goal.marker.sector, goal.marker.index),
                ship_holder(pilot.ship),
            ),
        ),
        detail={
            "contract": c.id,
            "collateral": c.collateral,
            "item": goal.item,
            "qty": goal.qty,
            "volume": goal.volume,
        },
    )
    return _Step(
        dataclasses.replace(_next(active), escrowed=c.collateral),
        requests=(request,),
        text=f"Loaded {goal.qty} {goal.item}",
    )


def _complete(
    active: Active,
    pilot: Pilot,
    relocate: Relocate | None = None,
    *,
    move: Move | None = None,
    fuel: tuple[FuelChange, ...] = (),
) -> _Step:
    """Pay the reward (and refund the collateral), with the goal's move, fuel or tow."""
    c = active.contract
    me = player_account(pilot.account)
    postings: list[Posting] = []
    for account, amount in c.funding:
        postings += pay(account, me, amount)
    if active.escrowed:
        postings += pay(escrow_account(pilot.account, c.id), me, active.escrowed)
    request = LedgerRequest(
        _key(pilot, c, "reward"),
        "mission_reward",
        pilot.account,
        tuple(postings),
        () if move is None else (move,),
        fuel,
        relocate,
        detail={
            "contract": c.id,
            "reward": c.reward,
            "refund": active.escrowed,
            "volume": active.goal.volume,
        },
    )
    return _Step(active, "completed", (request,), f"Completed: {c.title}")


def _next(active: Active) -> Active:
    return dataclasses.replace(active, step=active.step + 1, have=0)


def _apply(log: MissionLog, before: Active, step: _Step, pilot: Pilot, now: int) -> Change:
    """Turn one contract's `_Step` into a Change of the log."""
    c = before.contract
    if step.outcome == "completed":
        notice = Notice("completed", c.id, step.text, reward=c.reward)
        return Change(
            _finish(log, before, failed=False), step.requests, c.reputation, (notice,), c.reward
        )
    if step.outcome == "failed":
        return _fail(log, before, pilot, step.text)
    if step.outcome == "void":
        requests = () if not before.escrowed else (_refund(pilot, before),)
        return Change(
            _finish(log, before, failed=False),
            requests,
            notices=(Notice("void", c.id, step.text),),
        )
    active = step.active
    log = dataclasses.replace(
        log, active=tuple(active if a.contract.id == c.id else a for a in log.active)
    )
    notices: tuple[Notice, ...] = ()
    if step.text or active.step != before.step or active.have != before.have:
        event: NoticeEvent = "blocked" if step.blocked else "updated"
        notices = (Notice(event, c.id, step.text or c.title, active.objective()),)
    change = Change(log, step.requests, notices=notices)
    if active.step != before.step and pilot.docked_at is not None:
        # the next goal may be right where the pilot is docked
        here = DockedAt(pilot.sector, pilot.docked_at)
        change = _merge(change, _progress(change.log, active, here, pilot, now))
    return change


def _fail(log: MissionLog, active: Active, pilot: Pilot, why: str) -> Change:
    c = active.contract
    requests = (_forfeit(pilot, active),) if active.escrowed else ()
    rep = ((c.giver.faction, c.fail_rep),) if c.giver.faction and c.fail_rep else ()
    notice = Notice("failed", c.id, f"Failed: {c.title}: {why}")
    return Change(_finish(log, active, failed=True), requests, rep, (notice,))


def _forfeit(pilot: Pilot, active: Active) -> LedgerRequest:
    """The collateral goes to the market: the pilot has bought the entrusted goods."""
    c = active.contract
    return LedgerRequest(
        _key(pilot, c, "forfeit"),
        "mission_forfeit",
        pilot.account,
        pay(escrow_account(pilot.account, c.id), MARKET, active.escrowed),
        detail={"contract": c.id, "forfeit": active.escrowed},
    )


def _refund(pilot: Pilot, active: Active) -> LedgerRequest:
    c = active.contract
    return LedgerRequest(
        _key(pilot, c, "refund"),
        "mission_refund",
        pilot.account,
        pay(escrow_account(pilot.account, c.id), player_account(pilot.account), active.escrowed),
        detail={"contract": c.id, "refund": active.escrowed},
    )


def _finish(log: MissionLog, active: Active, *, failed: bool) -> MissionLog:
    cid = active.contract.id
    finished = (*tuple(f for f in log.finished if f != cid), cid)[-rules.FINISHED_KEPT :]
    return MissionLog(
        tuple(a for a in log.active if a.contract.id != cid),
        finished,
        log.completed + (not failed),
        log.failed + failed,
    )


def _merge(a: Change, b: Change) -> Change:
    """`b` happened after `a` (b.log already includes a's)."""
    return Change(
        b.log,
        a.requests + b.requests,
        a.reputation + b.reputation,
        a.notices + b.notices,
        a.earned + b.earned,
    )


def _after(pilot: Pilot, requests: tuple[LedgerRequest, ...]) -> Pilot:
    """The pilot as `requests` would leave them: credits, hold (items and free cargo units,
    from each request's `detail["volume"]`) and fuel."""
    me, ship = player_account(pilot.account), ship_holder(pilot.ship)
    cargo: dict[str, int] = dict(pilot.cargo)
    free = pilot.cargo_free
    for r in requests:
        for m in r.moves:
            sign = (m.dst == ship) - (m.src == ship)
            cargo[m.item] = cargo.get(m.item, 0) + sign * m.qty
            free -= sign * int(r.detail.get("volume", m.qty))
    return dataclasses.replace(
        pilot,
        credits=pilot.credits + sum(r.credits_to(me) for r in requests),
        cargo={k: v for k, v in cargo.items() if v},
        cargo_free=free,
        fuel=pilot.fuel
        + sum(f.delta for r in requests for f in r.fuel if f.account == pilot.account),
    )


def _key(pilot: Pilot, contract: Contract, what: str) -> str:
    return f"mission:{pilot.account}:{contract.id}:{what}"


def standing_notice(reputation: Reputation, faction: str) -> dict[str, Any]:
    """The proposed `standing` message for one faction after a change."""
    value = reputation.get(faction)
    return {"t": "standing", "faction": faction, "value": value, "rank": rank_of(value).key}
