"""Builders shared by the agents tests: clones, observations and zone views."""

from __future__ import annotations

from collections.abc import Sequence

from callister.agents import (
    Clone,
    Contact,
    Goal,
    Licence,
    Observation,
    Pose,
    Profile,
    Role,
    SeenEvent,
    Skills,
    Stance,
    Vitals,
    ZoneStatics,
)

STATIONS = ((0, 3000.0, 0.0, 400.0), (1, -6000.0, 2000.0, 400.0))
ROCKS = ((0.0, 9000.0, 40.0, 0), (200.0, 9100.0, 30.0, 0), (-150.0, 8900.0, 50.0, 0))


def make_clone(
    clone_id: int = 1001,
    *,
    name: str = "Vega",
    traits: Sequence[str] = ("brave", "loyal"),
    role: Role | str = Role.PILOT,
    goal: Goal | str = Goal.CREW,
    world: str = "infinity",
    licence: Licence | None = None,
    max_memories: int = 1000,
) -> Clone:
    profile = Profile(
        name=name,
        background="Grew up on an ice mine; flew ore haulers for a decade.",
        traits=tuple(traits),
        skills=Skills(pilot=0.7, gunner=0.6, engineer=0.5, miner=0.4),
    )
    return Clone.create(
        clone_id,
        profile,
        world=world,
        tick=0,
        role=role,
        goal=goal,
        licence=licence,
        max_memories=max_memories,
    )


def observe(
    *,
    tick: int = 100,
    hull: float = 1.0,
    strength: float = 1.0,
    contacts: Sequence[Contact] = (),
    events: Sequence[SeenEvent] = (),
    stance: Stance = Stance.CIVILIAN,
    x: float = 0.0,
    y: float = 0.0,
    cargo: float = 0.0,
    docked_at: int | None = None,
    wrecks: Sequence[tuple[int, float, float]] = (),
    links: Sequence[tuple[int, int]] = (),
    player_near: bool = True,
) -> Observation:
    return Observation(
        tick=tick,
        ship=5,
        owner=77,
        pose=Pose(x=x, y=y),
        vitals=Vitals(hull=hull, shield=hull, strength=strength, cargo=cargo),
        stance=stance,
        docked_at=docked_at,
        contacts=tuple(contacts),
        stations=STATIONS,
        rocks=ROCKS,
        wrecks=tuple(wrecks),
        links=tuple(links),
        events=tuple(events),
        player_near=player_near,
    )


def pirate(ship: int = 6, owner: int = 99, x: float = 600.0, strength: float = 1.0) -> Contact:
    return Contact(ship=ship, owner=owner, x=x, y=0.0, stance=Stance.PIRATE, strength=strength)


def attack(tick: int = 95, actor: int = 99, target: int = 5) -> SeenEvent:
    return SeenEvent("attacked", tick, actor=actor, target=target)


def statics() -> ZoneStatics:
    return ZoneStatics.build(radius=20_000.0, stations=STATIONS, rocks=ROCKS, links=((1, 0),))
