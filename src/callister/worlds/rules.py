"""A world's rules: validated from JSON, turned into the simulation's ZoneRules and the
economy's arguments (the server enforces them; the client is only told)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from callister.sim import ZoneRules

DEATH_PENALTIES = ("cargo",)
_MULTIPLIERS = (
    "damage_multiplier",
    "fuel_multiplier",
    "price_multiplier",
    "yield_multiplier",
)


@dataclass(frozen=True)
class WorldRules:
    pvp: bool = True  # False: weapons do other players' ships no harm (PVP_OFF)
    damage_multiplier: float = 1.0  # scales weapon damage
    fuel_multiplier: float = 1.0  # scales fuel burnt by thrust and jumps
    price_multiplier: float = 1.0  # scales market and service prices
    yield_multiplier: float = 1.0  # scales mining yields (resources)
    starting_credits: int = 2000  # a new character's grant in this world
    death_penalty: str = "cargo"  # what a destroyed ship loses: its cargo goes into the wreck

    def __post_init__(self) -> None:
        if not isinstance(self.pvp, bool):
            raise ValueError("rules.pvp must be true or false")
        for name in _MULTIPLIERS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"rules.{name} must be a number")
            lo = 0.01 if name == "price_multiplier" else 0.0
            if not (math.isfinite(value) and lo <= value <= 100):
                raise ValueError(f"rules.{name} must be within {lo}..100, not {value!r}")
        credits = self.starting_credits
        if isinstance(credits, bool) or not isinstance(credits, int) or not 0 <= credits <= 10**9:
            raise ValueError("rules.starting_credits must be an integer within 0..1e9")
        if self.death_penalty not in DEATH_PENALTIES:
            raise ValueError(f"rules.death_penalty must be one of {DEATH_PENALTIES}")

    @classmethod
    def from_dict(cls, data: Any) -> WorldRules:
        """Rules from a JSON object; unknown keys and bad values are refused (ValueError)."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise ValueError("rules must be a JSON object")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown rules {unknown}; known: {sorted(known)}")
        values = dict(data)
        for name in _MULTIPLIERS:
            if isinstance(values.get(name), int) and not isinstance(values.get(name), bool):
                values[name] = float(values[name])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def zone_rules(self) -> ZoneRules:
        return ZoneRules(
            pvp=self.pvp,
            fuel_multiplier=self.fuel_multiplier,
            damage_multiplier=self.damage_multiplier,
            yield_multiplier=self.yield_multiplier,
        )
