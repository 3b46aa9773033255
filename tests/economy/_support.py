"""Shared helpers of the economy tests (constants, a settable clock, characters)."""

from __future__ import annotations

import dataclasses
from typing import Any

from callister.economy import StationRef
from callister.store import Character

WORLD = "main"
ALL_SERVICES = ("market", "refuel", "repair", "rearm", "shipyard")
HOME = StationRef(3, -4, 0, "concord", ALL_SERVICES)
BARE = StationRef(3, -4, 1, "independent", ())
OTHER = StationRef(3, -4, 2, "ashen", ("market", "refuel"))


class Clock:
    """A settable wall clock (seconds)."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_character(
    account_id: int,
    *,
    ship_id: int = 100,
    hull: str = "shuttle",
    station: StationRef | None = HOME,
    world: str = WORLD,
    **extra: Any,
) -> Character:
    """A character docked at `station` (None: in space in HOME's system)."""
    return Character(
        account_id=account_id,
        world=world,
        ship_id=ship_id,
        hull=hull,
        system_x=HOME.x,
        system_y=HOME.y,
        x=10.0,
        y=20.0,
        vx=0.0,
        vy=0.0,
        angle=0.0,
        docked_at=None if station is None else station.index,
        home_x=HOME.x,
        home_y=HOME.y,
        home_station=HOME.index,
        extra=dict(extra),
    )


def undock(c: Character) -> Character:
    return dataclasses.replace(c, docked_at=None)
