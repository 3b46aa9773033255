"""A small hand-made map for planner and off-screen tests, and the real economy over it.

    S0 (0,0) lawful --- S1 (1,0) lawful ------------------ S3 (3,0) lawful
        \\                                                    /
         +------------ S2 (2,1) lawless --- S4 (3,1) empty --+

S0: station 0 (market, refuel, repair, rearm, lawful), station 1 (market, lawful), a field of
iron at (0, 20 km). S1: station 0 (market, refuel). S2: station 0 (market, refuel, lawless).
S3: station 0 (market, refuel, repair).
"""

from __future__ import annotations

from pathlib import Path

from callister.agents import Clone, Goal, Licence, Profile, Role, Skills
from callister.agents.atlas import Atlas, FieldInfo, StationInfo, SystemInfo
from callister.agents.model import npc_actor
from callister.agents.offscreen import OffscreenSim, Rules
from callister.agents.planner import HullSpec, Planner, Ship
from callister.content import load_content
from callister.economy import Economy
from callister.economy import rules as econ_rules
from callister.server.npc_economy import NpcEconomy
from callister.store import Store, open_store

S0, S1, S2, S3, S4 = (0, 0), (1, 0), (2, 1), (3, 0), (3, 1)
A0, B0, C1, D2, E3 = (0, 0, 0), (0, 0, 1), (1, 0, 0), (2, 1, 0), (3, 0, 0)
FULL = frozenset({"market", "refuel", "repair", "rearm"})


def _st(sid: tuple[int, int, int], name: str, x: float, y: float, services: frozenset[str],
        lawful: bool = True) -> StationInfo:  # fmt: skip
    return StationInfo(sid, name, x, y, 400.0, services, lawful, "concord" if lawful else "ashen")


def atlas() -> Atlas:
    return Atlas(
        [
            SystemInfo(
                S0,
                "Vega",
                30_000.0,
                (
                    _st(A0, "Vega Prime", 10_000.0, 0.0, FULL),
                    _st(B0, "Vega Outpost", -10_000.0, 0.0, frozenset({"market"})),
                ),
                (FieldInfo(S0, 0, 0.0, 20_000.0, 1500.0, "iron", 60, 0),),
                (S1, S2),
            ),
            SystemInfo(
                S1,
                "Tarsis",
                30_000.0,
                (_st(C1, "Tarsis Dock", 0.0, 5_000.0, frozenset({"market", "refuel"})),),
                (),
                (S0, S3),
            ),
            SystemInfo(
                S2,
                "Hollow",
                30_000.0,
                (_st(D2, "Hollow Den", 0.0, 0.0, frozenset({"market", "refuel"}), False),),
                (),
                (S0, S4),
            ),
            SystemInfo(S4, "Dust", 20_000.0, (), (), (S2, S3)),
            SystemInfo(
                S3,
                "Mira",
                30_000.0,
                (_st(E3, "Mira Yard", 0.0, 0.0, frozenset({"market", "refuel", "repair"})),),
                (),
                (S1, S4),
            ),
        ]
    )


def hull(key: str = "hauler") -> HullSpec:
    content = load_content()
    return HullSpec.of(content.hulls[key], content.weapons)


def planner(a: Atlas | None = None) -> Planner:
    content = load_content()
    bases = {k: c.base_price for k, c in content.commodities.items()}
    volumes = {k: c.volume for k, c in content.commodities.items()}
    for k, o in content.ores.items():
        bases.setdefault(k, o.base_price)
        volumes.setdefault(k, 1)
    return Planner(a or atlas(), bases=bases, volumes=volumes, fuel_price=econ_rules.FUEL_PRICE)


def npc(
    clone_id: int,
    goal: Goal,
    *,
    traits: tuple[str, ...] = ("calm",),
    name: str = "Ines Lind",
    skills: Skills | None = None,
) -> Clone:
    return Clone.create(
        clone_id,
        Profile(name=name, traits=traits, skills=skills or Skills(0.5, 0.5, 0.5, 0.5)),
        world="test",
        role=Role.PILOT,
        goal=goal,
        licence=Licence(),
        max_memories=200,
    )


def ship(
    clone: Clone,
    *,
    hull_key: str = "hauler",
    system: tuple[int, int] = S0,
    x: float = 10_000.0,
    y: float = 0.0,
    docked_at: tuple[int, int, int] | None = A0,
    fuel: float | None = None,
    credits: int = 20_000,
) -> Ship:
    h = hull(hull_key)
    return Ship(
        clone_id=clone.id,
        actor=npc_actor(clone.id),
        ship_id=clone.id % 100_000 + 10,
        goal=clone.goals.primary,
        hull=h,
        system=system,
        x=x,
        y=y,
        docked_at=docked_at,
        fuel=h.fuel if fuel is None else fuel,
        hull_hp=h.hull,
        credits=credits,
        home=system,
    )


class Ledger:
    """The real economy and ledger on a SQLite file, with a clock the test moves."""

    def __init__(self, tmp: Path, a: Atlas) -> None:
        self.store: Store = open_store(f"sqlite:///{tmp}/ledger.db?synchronous=NORMAL")
        self.seconds = 1_700_000_000.0
        self.economy = Economy(self.store, load_content(), "test", clock=lambda: self.seconds)
        self.port = NpcEconomy(self.economy, self.store, a, load_content())

    def close(self) -> None:
        self.store.db.close()


def sim(a: Atlas | None = None, *, seed: int = 1) -> OffscreenSim:
    a = a or atlas()
    return OffscreenSim(planner(a), rules=Rules(), seed=seed)
