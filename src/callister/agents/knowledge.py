"""What a clone knows of the world beyond its sensors: prices, dangers, who attacked whom.

Every fact carries its provenance: the tick it was observed (not when it was heard), who told
us (`source`: 0 when we saw it ourselves, else the teller's actor id) and how many mouths it
passed through (`hops`). How much a fact counts decays with its age and its hops
(`weight`), so fresh first-hand prices beat old rumours. Sizes are bounded: the oldest facts
are forgotten first.

- **Markets**: a station's buy and sell unit prices as seen on its screen (`saw_market`).
- **Dangers**: systems where ships were attacked (level 1 when we were the victim, less when we
  saw or heard of it); `danger(system, now)` decays with DANGER_HALF_LIFE.
- **Attacks**: who attacked whom, where and when; the seeds of reputations.

Gossip (`gossip.py`) moves facts between clones docked at the same station. The whole of it is
part of the clone (`Clone.knowledge`) and of its document, so it survives restarts and travels
in clone files. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from callister.agents.atlas import (
    StationId,
    SystemId,
    parse_station_key,
    parse_system_key,
    station_key,
    system_key,
)
from callister.agents.errors import AgentError

SEEN: Final = 0  # source of a fact we observed ourselves
MAX_MARKETS: Final = 48
MAX_DANGERS: Final = 24
MAX_ATTACKS: Final = 32
MAX_NAMES: Final = 96
MAX_HOPS: Final = 4  # a fact heard through this many mouths is not passed on
HOP_DISCOUNT: Final = 0.8  # what each retelling leaves of a fact's weight
PRICE_HALF_LIFE: Final = 144_000  # ticks (2 game hours): markets drift back within hours
DANGER_HALF_LIFE: Final = 432_000  # ticks (6 game hours)
ATTACK_DANGER: Final = 1.0  # danger of a system where we were attacked
WITNESS_DANGER: Final = 0.6  # ... where we saw or heard of someone else being attacked


def weight(tick: int, hops: int, now: int, half_life: int) -> float:
    """How much a fact observed at `tick`, told through `hops` mouths, counts at `now`: 1 for
    a fresh first-hand fact, halving every `half_life` ticks, x HOP_DISCOUNT per hop."""
    age = max(0, now - tick)
    return float(0.5 ** (age / half_life) * HOP_DISCOUNT**hops)


@dataclass(slots=True)
class Market:
    """One station's prices: unit `buy` (what a ship pays) and `sell` (what it gets) by item."""

    tick: int
    source: int
    hops: int
    buy: dict[str, int]
    sell: dict[str, int]


@dataclass(slots=True)
class Danger:
    """A system believed dangerous: `level` 0..1 when observed; `attacker` the actor blamed
    (0: unknown)."""

    tick: int
    source: int
    hops: int
    level: float
    attacker: int = 0


@dataclass(frozen=True, slots=True)
class Attack:
    """`attacker` attacked `victim` (actor ids) in `system` at `tick`."""

    attacker: int
    victim: int
    system: SystemId
    tick: int
    source: int = SEEN
    hops: int = 0


@dataclass(slots=True)
class Knowledge:
    """A clone's facts about the world (see the module docstring)."""

    markets: dict[StationId, Market] = field(default_factory=dict)
    dangers: dict[SystemId, Danger] = field(default_factory=dict)
    attacks: list[Attack] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)

    # --- learning first hand ----------------------------------------------------------------

    def saw_market(
        self, station: StationId, tick: int, buy: Mapping[str, int], sell: Mapping[str, int]
    ) -> None:
        """We read the station's screen at `tick`."""
        self.markets[station] = Market(tick, SEEN, 0, dict(buy), dict(sell))
        self._bound_markets()

    def saw_price(self, station: StationId, tick: int, item: str, buy: int, sell: int) -> None:
        """One item's prices at `station`, read off a receipt: merged into what we know of
        the market (a new entry if we knew nothing of it)."""
        m = self.markets.get(station)
        if m is None:
            self.markets[station] = Market(tick, SEEN, 0, {item: buy}, {item: sell})
            self._bound_markets()
        else:
            m.buy[item] = buy
            m.sell[item] = sell

    def saw_attack(
        self,
        attacker: int,
        victim: int,
        system: SystemId,
        tick: int,
        *,
        on_us: bool,
        names: Mapping[int, str] | None = None,
    ) -> Attack | None:
        """We were attacked (`on_us`) or saw an attack: remember it and that the system is
        dangerous. Returns the new fact, or None if we knew it already."""
        self._name(attacker, victim, names)
        level = ATTACK_DANGER if on_us else WITNESS_DANGER
        self._danger(system, Danger(tick, SEEN, 0, level, attacker))
        return self._attack(Attack(attacker, victim, system, tick))

    # --- what counts now --------------------------------------------------------------------

    def danger(self, system: SystemId, now: int) -> float:
        """How dangerous we believe `system` is now, 0..1."""
        d = self.dangers.get(system)
        if d is None:
            return 0.0
        return d.level * weight(d.tick, d.hops, now, DANGER_HALF_LIFE)

    def price_weight(self, station: StationId, now: int) -> float:
        """How much the prices we know of `station` count now (0 when unknown)."""
        m = self.markets.get(station)
        return 0.0 if m is None else weight(m.tick, m.hops, now, PRICE_HALF_LIFE)

    def attacks_by(self, attacker: int) -> list[Attack]:
        return [a for a in self.attacks if a.attacker == attacker]

    def name(self, actor: int) -> str | None:
        return self.names.get(actor)

    # --- gossip -------------------------------------------------------------------------------

    def tell(self, now: int, *, markets: int = 6, dangers: int = 3, attacks: int = 4) -> Gossip:
        """What we would tell another clone: our freshest facts, a few of each kind, none
        retold more than MAX_HOPS times."""
        ms = sorted(
            ((s, m) for s, m in self.markets.items() if m.hops < MAX_HOPS),
            key=lambda sm: (-sm[1].tick, sm[0]),
        )[:markets]
        ds = sorted(
            ((s, d) for s, d in self.dangers.items() if d.hops < MAX_HOPS),
            key=lambda sd: (
                -sd[1].level * weight(sd[1].tick, sd[1].hops, now, DANGER_HALF_LIFE),
                sd[0],
            ),
        )[:dangers]
        at = sorted(
            (a for a in self.attacks if a.hops < MAX_HOPS), key=lambda a: (-a.tick, a.attacker)
        )[:attacks]
        names = {}
        for a in at:
            for actor in (a.attacker, a.victim):
                if actor in self.names:
                    names[actor] = self.names[actor]
        return Gossip(tuple(ms), tuple(ds), tuple(at), names)

    def hear(self, gossip: Gossip, teller: int) -> Heard:
        """Take in what `teller` told us: a fact is kept when it is newer than ours. Returns
        what was new (for memories and speech)."""
        prices = 0
        for station, m in gossip.markets:
            mine = self.markets.get(station)
            if mine is None or m.tick > mine.tick:
                self.markets[station] = Market(
                    m.tick, teller, m.hops + 1, dict(m.buy), dict(m.sell)
                )
                prices += 1
        self._bound_markets()
        dangers = []
        for system, d in gossip.dangers:
            mine_d = self.dangers.get(system)
            if mine_d is None or d.tick > mine_d.tick:
                self._danger(system, Danger(d.tick, teller, d.hops + 1, d.level, d.attacker))
                dangers.append(system)
        for actor, name in gossip.names.items():
            self._name(actor, None, {actor: name})
        attacks = []
        for a in gossip.attacks:
            new = self._attack(Attack(a.attacker, a.victim, a.system, a.tick, teller, a.hops + 1))
            if new is not None:
                attacks.append(new)
                self._danger(
                    a.system,
                    Danger(a.tick, teller, a.hops + 1, WITNESS_DANGER, a.attacker),
                    only_if_newer=True,
                )
        return Heard(prices, tuple(dangers), tuple(attacks))

    # --- bounded storage ----------------------------------------------------------------------

    def _danger(self, system: SystemId, d: Danger, *, only_if_newer: bool = False) -> None:
        mine = self.dangers.get(system)
        if mine is not None and (d.tick < mine.tick or (only_if_newer and d.tick == mine.tick)):
            return
        if mine is not None and mine.tick == d.tick:
            d.level = max(d.level, mine.level)
        self.dangers[system] = d
        if len(self.dangers) > MAX_DANGERS:
            oldest = min(self.dangers, key=lambda s: (self.dangers[s].tick, s))
            del self.dangers[oldest]

    def _attack(self, a: Attack) -> Attack | None:
        for b in self.attacks:
            if (b.attacker, b.victim, b.tick) == (a.attacker, a.victim, a.tick):
                return None
        self.attacks.append(a)
        if len(self.attacks) > MAX_ATTACKS:
            self.attacks.sort(key=lambda x: (x.tick, x.attacker, x.victim))
            del self.attacks[: len(self.attacks) - MAX_ATTACKS]
        return a

    def _bound_markets(self) -> None:
        while len(self.markets) > MAX_MARKETS:
            oldest = min(self.markets, key=lambda s: (self.markets[s].tick, s))
            del self.markets[oldest]

    def _name(self, a: int, b: int | None, names: Mapping[int, str] | None) -> None:
        if not names:
            return
        for actor in (a, b):
            name = names.get(actor) if actor is not None else None
            if actor is not None and name:
                self.names.pop(actor, None)  # re-inserted: the newest names are kept longest
                self.names[actor] = str(name)[:64]
        while len(self.names) > MAX_NAMES:
            del self.names[next(iter(self.names))]

    # --- documents ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "markets": [
                {
                    "station": station_key(s),
                    "tick": m.tick,
                    "source": m.source,
                    "hops": m.hops,
                    "buy": dict(sorted(m.buy.items())),
                    "sell": dict(sorted(m.sell.items())),
                }
                for s, m in sorted(self.markets.items())
            ],
            "dangers": [
                {
                    "system": system_key(s),
                    "tick": d.tick,
                    "source": d.source,
                    "hops": d.hops,
                    "level": d.level,
                    "attacker": d.attacker,
                }
                for s, d in sorted(self.dangers.items())
            ],
            "attacks": [
                {
                    "attacker": a.attacker,
                    "victim": a.victim,
                    "system": system_key(a.system),
                    "tick": a.tick,
                    "source": a.source,
                    "hops": a.hops,
                }
                for a in self.attacks
            ],
            "names": {str(k): v for k, v in self.names.items()},
        }

    @classmethod
    def from_dict(cls, raw: Any) -> Knowledge:
        """From `to_dict` output; AgentError names the first bad field."""
        if not isinstance(raw, Mapping):
            raise AgentError("knowledge must be an object")
        unknown = set(raw) - {"markets", "dangers", "attacks", "names"}
        if unknown:
            raise AgentError(f"knowledge has unknown fields {sorted(unknown)}")
        k = cls()
        for i, m in enumerate(_list(raw, "markets")):
            where = f"knowledge.markets[{i}]"
            station = _key(where, m, "station", parse_station_key)
            k.markets[station] = Market(
                _int(where, m, "tick"),
                _int(where, m, "source"),
                _hops(where, m),
                _prices(where, m, "buy"),
                _prices(where, m, "sell"),
            )
        for i, d in enumerate(_list(raw, "dangers")):
            where = f"knowledge.dangers[{i}]"
            level = d.get("level") if isinstance(d, Mapping) else None
            if (
                isinstance(level, bool)
                or not isinstance(level, int | float)
                or not (0.0 <= level <= 1.0)
            ):
                raise AgentError(f"{where}.level must be a number within 0..1")
            k.dangers[_key(where, d, "system", parse_system_key)] = Danger(
                _int(where, d, "tick"),
                _int(where, d, "source"),
                _hops(where, d),
                float(level),
                _int(where, d, "attacker"),
            )
        for i, a in enumerate(_list(raw, "attacks")):
            where = f"knowledge.attacks[{i}]"
            k.attacks.append(
                Attack(
                    _int(where, a, "attacker"),
                    _int(where, a, "victim"),
                    _key(where, a, "system", parse_system_key),
                    _int(where, a, "tick"),
                    _int(where, a, "source"),
                    _hops(where, a),
                )
            )
        names = raw.get("names", {})
        if not isinstance(names, Mapping):
            raise AgentError("knowledge.names must map actor ids to names")
        for key, name in names.items():
            try:
                k.names[int(key)] = str(name)[:64]
            except ValueError:
                raise AgentError(f"knowledge.names: {key!r} is not an actor id") from None
        if (
            len(k.markets) > MAX_MARKETS
            or len(k.dangers) > MAX_DANGERS
            or len(k.attacks) > MAX_ATTACKS
        ):
            raise AgentError(
                f"knowledge holds more than {MAX_MARKETS} markets, {MAX_DANGERS} dangers or "
                f"{MAX_ATTACKS} attacks"
            )
        return k


@dataclass(frozen=True, slots=True)
class Gossip:
    """What one clone tells another (`Knowledge.tell`)."""

    markets: tuple[tuple[StationId, Market], ...]
    dangers: tuple[tuple[SystemId, Danger], ...]
    attacks: tuple[Attack, ...]
    names: Mapping[int, str]


@dataclass(frozen=True, slots=True)
class Heard:
    """What was new to the listener: price lists taken, systems newly feared, attacks."""

    prices: int
    dangers: tuple[SystemId, ...]
    attacks: tuple[Attack, ...]


def _list(raw: Mapping[str, Any], name: str) -> list[Any]:
    value = raw.get(name, [])
    if not isinstance(value, list):
        raise AgentError(f"knowledge.{name} must be a list")
    return value


def _int(where: str, raw: Any, name: str) -> int:
    if not isinstance(raw, Mapping):
        raise AgentError(f"{where} must be an object")
    value = raw.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise AgentError(f"{where}.{name} must be an integer, not {value!r}")
    return value


def _hops(where: str, raw: Any) -> int:
    hops = _int(where, raw, "hops")
    if hops < 0:
        raise AgentError(f"{where}.hops must be >= 0")
    return hops


def _key(where: str, raw: Any, name: str, parse: Any) -> Any:
    if not isinstance(raw, Mapping) or not isinstance(raw.get(name), str):
        raise AgentError(f"{where}.{name} must be a string")
    try:
        return parse(raw[name])
    except ValueError as exc:
        raise AgentError(f"{where}.{name}: {exc}") from None


def _prices(where: str, raw: Mapping[str, Any], name: str) -> dict[str, int]:
    value = raw.get(name)
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
        for k, v in value.items()
    ):
        raise AgentError(f"{where}.{name} must map item keys to non-negative integer prices")
    return dict(value)
