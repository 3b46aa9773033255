"""Reputation with each faction (-100..100), its ranks, and what a rank unlocks.

Reputation changes by contracts (done, failed, abandoned), crimes (`CrimeCommitted` in a
faction's secure space) and kills (a faction's ships; pirates). A rank is a band of
reputation; at a faction's stations it decides the contracts offered (the highest tier), the
prices of services, hulls and modules and the market's buy markup, and the hulls its
shipyards sell you. Everyone starts at 0 (neutral) with every faction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from callister.missions import rules
from callister.missions._data import get_int, obj
from callister.missions.errors import MissionDataError


@dataclass(frozen=True, slots=True)
class Rank:
    """A band of reputation from `floor` up. `max_tier` is the highest contract tier the
    faction offers you (-1: none); `price_factor` multiplies its services, hulls and modules;
    `buy_markup` replaces the market's +5 % (selling stays at -5 %, so a round trip still
    loses); `services` False: its stations sell you only fuel."""

    key: str
    name: str
    floor: int
    max_tier: int
    price_factor: float
    buy_markup: float
    services: bool = True


RANKS: tuple[Rank, ...] = (
    Rank("hostile", "Hostile", rules.REP_MIN, -1, 1.25, 1.15, services=False),
    Rank("distrusted", "Distrusted", -40, -1, 1.10, 1.10),
    Rank("neutral", "Neutral", -10, 0, 1.00, 1.05),
    Rank("known", "Known", 10, 1, 0.97, 1.04),
    Rank("trusted", "Trusted", 30, 2, 0.94, 1.03),
    Rank("honoured", "Honoured", 60, 3, 0.90, 1.02),
    Rank("exalted", "Exalted", 90, 3, 0.85, 1.01),
)
RANK_KEYS: tuple[str, ...] = tuple(r.key for r in RANKS)


def rank_of(value: int) -> Rank:
    """The rank a reputation value falls in."""
    found = RANKS[0]
    for rank in RANKS:
        if value >= rank.floor:
            found = rank
    return found


def rank_named(key: str) -> Rank:
    """The rank with this key (ValueError for an unknown one)."""
    for rank in RANKS:
        if rank.key == key:
            return rank
    raise ValueError(f"no rank {key!r}; ranks are {RANK_KEYS}")


def clamp(value: int) -> int:
    """A reputation value within REP_MIN..REP_MAX."""
    return max(rules.REP_MIN, min(rules.REP_MAX, value))


@dataclass(frozen=True, slots=True)
class Reputation:
    """Standing with each faction; factions not listed stand at 0. Immutable: `adjust`
    returns a new value."""

    standing: tuple[tuple[str, int], ...] = ()

    def get(self, faction: str) -> int:
        """The standing with `faction` (0 if never changed)."""
        for key, value in self.standing:
            if key == faction:
                return value
        return 0

    def rank(self, faction: str) -> Rank:
        """The rank with `faction`."""
        return rank_of(self.get(faction))

    def adjust(self, changes: Iterable[tuple[str, int]]) -> Reputation:
        """Apply (faction, delta) changes in order, each clamped to REP_MIN..REP_MAX."""
        values = dict(self.standing)
        for faction, delta in changes:
            values[faction] = clamp(values.get(faction, 0) + delta)
        return Reputation(tuple(sorted((k, v) for k, v in values.items() if v != 0)))

    def to_dict(self) -> dict[str, int]:
        """JSON form: {faction: value} (factions at 0 left out)."""
        return dict(self.standing)

    @classmethod
    def from_dict(cls, value: object, path: str = "reputation") -> Reputation:
        """Read `to_dict` output back; values outside REP_MIN..REP_MAX are refused."""
        d = obj(value, path)
        out = []
        for key in d:
            v = get_int(d, key, path)
            if v != clamp(v):
                raise MissionDataError(f"{path}.{key}", f"must be within -100..100, not {v}")
            if v:
                out.append((str(key), v))
        return cls(tuple(sorted(out)))


def crime_changes(faction: str, lawful: Mapping[str, bool]) -> tuple[tuple[str, int], ...]:
    """A crime in the secure space of a `faction` station: CRIME_REP with it, and
    CRIME_SPILL_REP with every other lawful faction (`lawful`: faction -> lawful)."""
    out = [(faction, rules.CRIME_REP)] if faction else []
    out += [(f, rules.CRIME_SPILL_REP) for f, ok in sorted(lawful.items()) if ok and f != faction]
    return tuple(out)


def kill_changes(
    role: str, faction: str, wanted: bool, lawful: Mapping[str, bool]
) -> tuple[tuple[str, int], ...]:
    """Destroying a ship: a pirate (or any wanted ship) earns KILL_PIRATE_REP with every lawful
    faction; an innocent ship of a faction costs KILL_FACTION_REP with it. A player's ship
    without a faction changes nothing here (its crime, if any, is its own `Crime` fact)."""
    if role == "pirate" or wanted:
        return tuple((f, rules.KILL_PIRATE_REP) for f, ok in sorted(lawful.items()) if ok)
    if faction:
        return ((faction, rules.KILL_FACTION_REP),)
    return ()


def hull_rank(price: int, lawful: bool) -> Rank:
    """The rank a shipyard of a lawful faction asks to sell a hull of this price (other
    factions ask nothing: the lowest rank)."""
    if not lawful:
        return RANKS[0]
    for ceiling, key in rules.HULL_RANK:
        if price <= ceiling:
            return rank_named(key)
    return rank_named("trusted")


@dataclass(frozen=True, slots=True)
class Terms:
    """What a pilot gets at a faction's station: their `rank`, the highest contract tier
    offered (-1: none), the factor on services, hulls and modules, the market's buy markup,
    and whether any service beyond fuel is sold."""

    rank: Rank
    max_tier: int
    price_factor: float
    buy_markup: float
    services: bool

    def may_buy_hull(self, price: int, lawful: bool) -> bool:
        """Whether this station's shipyard sells the pilot a hull of `price`."""
        return self.services and self.rank.floor >= hull_rank(price, lawful).floor

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the station screen."""
        return {
            "rank": self.rank.key,
            "max_tier": self.max_tier,
            "price_factor": self.price_factor,
            "buy_markup": self.buy_markup,
            "services": self.services,
        }


def terms(reputation: Reputation, faction: str) -> Terms:
    """The pilot's terms at a station of `faction`."""
    rank = reputation.rank(faction)
    return Terms(rank, rank.max_tier, rank.price_factor, rank.buy_markup, rank.services)
