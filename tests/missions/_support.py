"""Real inputs for missions tests: generated systems, markets priced by the economy's own
pricing functions, the default content, and the home systems the server would choose."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from callister.content import Content, load_content
from callister.economy import pricing
from callister.missions.board import Market, Sighting, World
from callister.missions.contracts import Contract
from callister.missions.facts import Pilot
from callister.missions.services import home_problems, with_baseline
from callister.universe import StarSystem, generate_system

Sector = tuple[int, int]
SEED = 1  # the default world seed (server settings: world_seed)


@cache
def content() -> Content:
    return load_content()


def lawful() -> dict[str, bool]:
    return {k: f.lawful for k, f in content().factions.items()}


@cache
def system(x: int, y: int, seed: int = SEED) -> StarSystem | None:
    return generate_system(seed, x, y)


def market(
    sector: Sector, station: int, stocks: Mapping[str, int] | None = None
) -> tuple[Market, ...]:
    """The station's market as the economy prices it (stock at target unless given)."""
    key = f"station:{sector[0]}:{sector[1]}:{station}"
    c = content()
    items = [(k, v.base_price, v.volume) for k, v in c.commodities.items()]
    items += [(k, v.base_price, 1) for k, v in c.ores.items()]
    out = []
    for item, base, volume in items:
        target = pricing.target_stock(key, item, base)
        stock = (stocks or {}).get(item, target)
        out.append(
            Market(
                item,
                base,
                volume,
                stock,
                target,
                pricing.buy_unit_price(base, target, stock),
                pricing.sell_unit_price(base, target, stock),
            )
        )
    return tuple(out)


def _market(sector: Sector, station: int, stocks: Mapping[str, int] | None) -> tuple[Market, ...]:
    return _target_market(sector, station) if stocks is None else market(sector, station, stocks)


@cache
def _target_market(sector: Sector, station: int) -> tuple[Market, ...]:
    return market(sector, station)


def world_at(
    sector: Sector,
    now: int,
    *,
    seed: int = SEED,
    stocks: Mapping[tuple[Sector, int], Mapping[str, int]] | None = None,
    ships: tuple[Sighting, ...] = (),
    rescues: tuple[Contract, ...] = (),
    homes: Mapping[Sector, int] | None = None,
) -> World:
    """The snapshot a server would pass for a board in `sector`: that system, the linked ones
    and theirs (the baseline applied to hubs and `homes`), every market at its target stock
    unless `stocks` says otherwise."""
    here = system(*sector, seed=seed)
    assert here is not None
    reach = {sector, *here.links}
    for s in list(reach):
        found = system(*s, seed=seed)
        reach |= set(found.links) if found is not None else set()
    systems: dict[Sector, StarSystem] = {}
    for s in sorted(reach):
        found = system(*s, seed=seed)
        if found is not None:
            home = (homes or {}).get(s)
            systems[s] = with_baseline(found, lawful(), () if home is None else (home,))
    markets = {
        (s, st.index): _market(s, st.index, (stocks or {}).get((s, st.index)))
        for s, sys_ in systems.items()
        for st in sys_.stations
        if "market" in st.services and not st.destroyed
    }
    return World(seed, now, content(), systems, markets, ships, rescues)


def ring(r: int) -> list[Sector]:
    if r == 0:
        return [(0, 0)]
    cells = [(x, -r) for x in range(-r, r + 1)] + [(x, r) for x in range(-r, r + 1)]
    cells += [(-r, y) for y in range(-r + 1, r)] + [(r, y) for y in range(-r + 1, r)]
    return cells


@cache
def good_homes(count: int = 16, seed: int = SEED) -> tuple[tuple[Sector, int], ...]:
    """The first `count` homes spiralling out from (0, 0) that `home_problems` accepts (what
    the server's find_home_systems should pick)."""
    out: list[tuple[Sector, int]] = []
    r = 0
    while len(out) < count:
        for x, y in ring(r):
            s = system(x, y, seed=seed)
            if s is not None and s.stations and not home_problems(s, 0, content().starter_hull):
                out.append(((x, y), 0))
                if len(out) == count:
                    break
        r += 1
    return tuple(out)


def pilot_at(
    sector: Sector,
    station: int | None,
    *,
    account: int = 7,
    ship: int = 1001,
    credits: int = 2000,
    cargo: Mapping[str, int] | None = None,
    cargo_free: int = 20,
    fuel: float = 100.0,
    home: tuple[Sector, int] | None = None,
    insured: bool = False,
) -> Pilot:
    return Pilot(
        account,
        ship,
        sector,
        credits,
        dict(cargo or {}),
        cargo_free,
        fuel,
        station,
        home or (sector, 0),
        insured,
    )


class Books:
    """A miniature of the store's rules for checking ledger requests: balances per account
    (owned accounts, keys with ':', may never go negative; the whole request is refused),
    holdings per holder (never negative), idempotency by key, fuel per account."""

    def __init__(self) -> None:
        self.balances: dict[str, int] = {}
        self.holdings: dict[tuple[str, str], int] = {}
        self.fuel: dict[int, float] = {}
        self.keys: set[str] = set()
        self.relocated: dict[int, tuple[Sector, int]] = {}

    def commit(self, *requests: object) -> None:
        from callister.missions.ledger import LedgerRequest

        for r in requests:
            assert isinstance(r, LedgerRequest)
            if r.key in self.keys:
                continue
            balances = dict(self.balances)
            for p in r.postings:
                balances[p.account] = balances.get(p.account, 0) + p.amount
                if ":" in p.account and balances[p.account] < 0:
                    raise AssertionError(f"{r.key}: {p.account} would go negative")
            holdings = dict(self.holdings)
            for m in r.moves:
                holdings[(m.src, m.item)] = holdings.get((m.src, m.item), 0) - m.qty
                holdings[(m.dst, m.item)] = holdings.get((m.dst, m.item), 0) + m.qty
                if holdings[(m.src, m.item)] < 0:
                    raise AssertionError(f"{r.key}: {m.src} holds too few {m.item}")
            self.balances, self.holdings = balances, holdings
            for f in r.fuel:
                self.fuel[f.account] = self.fuel.get(f.account, 0.0) + f.delta
            if r.relocate is not None:
                self.relocated[r.relocate.account] = (r.relocate.sector, r.relocate.station)
            self.keys.add(r.key)

    def balance(self, account: str) -> int:
        return self.balances.get(account, 0)

    def held(self, holder: str, item: str) -> int:
        return self.holdings.get((holder, item), 0)

    def total(self) -> int:
        return sum(self.balances.values())
