"""What a zone tells the world after a tick: frozen event values, plus `ShipState`.

Events are returned by `Zone.step()` in the order they happened within the tick (stage order,
then arrival order of intents, then entity id). They are plain values so the server can encode
them, agents can read them and replays can compare them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from callister.protocol.errors import ErrorCode


@dataclass(frozen=True, slots=True)
class ShipState:
    """One ship as plain Python values (for hand-offs, persistence and tests).

    `hull` is the hull key; `angle` is radians in [-pi, pi]; `docked_at` is a station index or
    None.
    """

    id: int
    owner: int
    hull: str
    x: float
    y: float
    vx: float
    vy: float
    angle: float
    docked_at: int | None


@dataclass(frozen=True, slots=True)
class Refused:
    """An intent the zone would not carry out. `action` is "input", "dock", "undock" or "jump"."""

    actor: int
    ship: int
    action: str
    code: ErrorCode
    reason: str


@dataclass(frozen=True, slots=True)
class Docked:
    ship: int
    station: int


@dataclass(frozen=True, slots=True)
class Undocked:
    ship: int
    station: int


@dataclass(frozen=True, slots=True)
class JumpCharging:
    """A jump started charging; `JumpOut` follows `ticks` ticks later unless cancelled."""

    ship: int
    to_x: int
    to_y: int
    ticks: int


@dataclass(frozen=True, slots=True)
class JumpCancelled:
    """A charging jump was cancelled (docking cancels a charge)."""

    ship: int
    to_x: int
    to_y: int


@dataclass(frozen=True, slots=True)
class JumpOut:
    """The ship left through the link to sector (to_x, to_y); it is no longer in the zone.

    `state` is the ship as it left, for the hand-off to the destination zone.
    """

    ship: int
    to_x: int
    to_y: int
    state: ShipState


ColliderName = Literal["rock", "station", "star"]


@dataclass(frozen=True, slots=True)
class Collided:
    """A ship newly hit a static collider (not repeated while it stays in contact).

    `index` is the station index, the rock's index in `ZoneLayout.rocks`, or 0 for the star.
    `speed` is the closing speed along the contact normal at impact, m/s.
    """

    ship: int
    what: ColliderName
    index: int
    speed: float


ZoneEvent = Refused | Docked | Undocked | JumpCharging | JumpCancelled | JumpOut | Collided
