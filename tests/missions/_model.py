"""A model new pilot for the balance checks (and the figures in docs/missions.md): the tutorial
along its plan, then contract after contract from the real boards of a fresh default world,
timed by the same flight model the rewards are priced on, with a human's slack on top.

This is arithmetic over the real generator, content, pricing and board — not a measurement;
`callister bench newplayer` measures a scripted player on a real server."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache

from callister.missions import rules
from callister.missions.board import board
from callister.missions.contracts import Contract, MissionLog
from callister.missions.reputation import Reputation
from callister.missions.services import with_baseline
from callister.missions.travel import flight_fuel, flight_seconds
from callister.missions.tutorial import first_profit_seconds, plan_tutorial
from callister.universe import arrival_point

from ._support import Sector, content, lawful, system, world_at

SLACK = 1.3
"""A human takes this much longer than the quickest flight the estimates assume."""
EPOCH = 1_800_000_000 // rules.BOARD_BUCKET_S * rules.BOARD_BUCKET_S
FUEL_PRICE = 3.0
HOUR = 3600


@dataclass
class Hour:
    """What the model pilot did: seconds to the first profit, the tutorial's length, credits
    at the end of the hour, when (if) they could buy each hull, and the contracts done."""

    first_profit_s: float
    tutorial_s: float
    credits: int
    rep: int
    afford_s: dict[str, float] = field(default_factory=dict)
    done: list[tuple[float, Contract]] = field(default_factory=list)


def tutorial_time(home: Sector, station: int) -> tuple[float, float, int]:
    """(seconds to the first profit, seconds of the whole tutorial, credits it leaves)."""
    hull = content().starter_hull
    found = system(*home)
    assert found is not None
    here = with_baseline(found, lawful(), (station,))
    neighbours = {s: found for s in here.links if (found := system(*s)) is not None}
    plan = plan_tutorial(here, station, hull, neighbours)
    assert plan.field is not None and plan.field.sector == home and plan.link is not None
    st = here.stations[station]
    first_profit = first_profit_seconds(st, here.fields[plan.field.index], hull) * SLACK
    # read the board, take a contract, then jump out and back and fly home
    ax, ay = arrival_point(here, plan.link[0], plan.link[1])
    back = flight_seconds(math.hypot(ax - st.x, ay - st.y), hull)
    jump = rules.HANDLING_S + rules.UNDOCK_S + 2 * rules.JUMP_S + back + rules.DOCK_S
    markets = world_at(home, EPOCH, homes={home: station}).markets[(home, station)]
    ore = next(m for m in markets if m.item == plan.ore)
    credits = 2000 + sum(rules.TUTORIAL_REWARDS.values()) + rules.TUTORIAL_MINE_UNITS * ore.sell
    credits -= math.ceil(3 * flight_fuel(20_000, hull) * FUEL_PRICE)
    return first_profit, first_profit + jump * SLACK, credits


@cache
def first_hour(home: Sector, station: int = 0) -> Hour:
    """The model pilot's first hour from `home`."""
    c = content()
    hold = c.starter_hull.cargo
    prices = {h.key: h.price for h in c.hulls.values() if not h.starter}
    first_profit, elapsed, credits = tutorial_time(home, station)
    hour = Hour(first_profit, elapsed, credits, 0)
    log, rep = MissionLog(), Reputation()
    where = (home, station)
    home_faction = world_at(home, EPOCH).systems[home].stations[station].faction
    fuel_per_contract = math.ceil(4 * flight_fuel(20_000, c.starter_hull) * FUEL_PRICE)
    while elapsed < HOUR:
        now = EPOCH + int(elapsed)
        offers = board(world_at(where[0], now, homes={home: station}), where[0], where[1], log)
        fits = [
            o
            for o in offers
            if o.kind in ("delivery", "mining")
            and rep.rank(o.giver.faction).max_tier >= o.tier
            and o.collateral <= credits
            and max(g.volume for g in o.goals) <= hold
        ]
        if not fits:  # nothing for us here now: wait for the next bucket
            elapsed = (now // rules.BOARD_BUCKET_S + 1) * rules.BOARD_BUCKET_S - EPOCH
            continue
        best = max(fits, key=lambda o: (o.reward / o.estimate_s, o.id))
        elapsed += best.estimate_s * SLACK
        if elapsed > HOUR:
            break
        credits += best.reward - fuel_per_contract
        rep = rep.adjust(best.reputation)
        log = MissionLog(finished=(*log.finished, best.id))
        last = best.goals[-1].marker
        where = (last.sector, last.index)
        hour.done.append((elapsed, best))
        factor = rep.rank(home_faction).price_factor
        for key, price in prices.items():
            if credits >= math.ceil(price * factor) and key not in hour.afford_s:
                hour.afford_s[key] = elapsed
    hour.credits = credits
    hour.rep = max((v for _, v in rep.standing), default=0)
    return hour
