"""A busy zone for footage tests: fights, mining, deaths, jumps and world edges."""

from __future__ import annotations

import math

import numpy as np

from callister.content import load_content
from callister.protocol.intents import Fire, Input, Jump, Mine
from callister.sim import FieldSpec, RockSpec, StationSpec, Zone, ZoneLayout, ZoneRules

HULLS = load_content().hulls
ROCKS = tuple(
    RockSpec(1500.0 + 130.0 * (i % 6), 2500.0 + 140.0 * (i // 6), 20.0 + 7 * (i % 3), i % 2)
    for i in range(24)
)
LAYOUT = ZoneLayout(
    radius=10_000.0,
    sector=(0, 0),
    links=((1, 0), (0, -1)),
    star_radius=500.0,
    stations=(
        StationSpec(0, 5000.0, 0.0, 100.0, 300.0),
        StationSpec(1, 2600.0, 5500.0, 80.0, 300.0, lawful=True),
    ),
    rocks=ROCKS,
    fields=(FieldSpec(0, "iron", 40, 60), FieldSpec(1, "ice", 3, 10)),
)


class Scenario:
    """`step()` drives a zone like a busy server would: intents, adds, removes, vitals."""

    def __init__(self, n: int = 40, seed: int = 5) -> None:
        self.zone = Zone(LAYOUT, rules=ZoneRules(damage_multiplier=3.0))
        self.zone.grant_ids(range(10**9, 10**9 + 2000))
        self.rng = np.random.default_rng(seed)
        self.next_id = 100
        self.ships: list[int] = []
        for _ in range(n):
            self.add()
        self.miners = []
        for k in range(3):  # parked next to rocks of field 0 (iron), mining from the start
            rock = ROCKS[2 * k]
            self.zone.add_ship(50 + k, 50 + k, HULLS["hauler"], x=rock.x, y=rock.y - rock.r - 30)
            self.zone.submit(Mine(50 + k, 50 + k, 2 * k))
            self.miners.append(50 + k)

    def add(self) -> None:
        rng = self.rng
        i = self.next_id
        self.next_id += 1
        hull = [HULLS["shuttle"], HULLS["hauler"], HULLS["interceptor"]][i % 3]
        side = i % 2
        x = float(rng.uniform(1200, 2400)) + (-900.0 if side == 0 else 900.0)
        self.zone.add_ship(
            i, i % 6 + 1, hull, x=x, y=float(rng.uniform(2000, 3500)),
            angle=0.0 if side else math.pi, fuel=float(rng.uniform(5, 100)),
        )  # fmt: skip
        self.ships.append(i)

    def step(self) -> list[object]:
        z, rng = self.zone, self.rng
        alive = [s for s in self.ships if z.has_ship(s)]
        for s in alive:
            owner = z.store.owner[z.store.row(s)].item()
            r = rng.random()
            if r < 0.08:
                z.submit(Input(owner, s, float(rng.random()), float(rng.uniform(-1, 1))))
            elif r < 0.14:
                target = int(rng.choice(alive))
                z.submit(Fire(owner, s, int(rng.integers(0, 2)), target))
            elif r < 0.15:
                z.submit(Mine(owner, s, int(rng.integers(0, len(ROCKS)))))
            elif r < 0.152:
                z.submit(Jump(owner, s, 1, 0))
            elif r < 0.153:
                z.submit(Fire(owner + 1, s, 0, 0))  # not theirs: refused, evidence
        tick = z.tick
        if tick % 37 == 5:
            self.add()
        if tick % 53 == 7 and alive:
            z.set_vitals(alive[0], fuel=50.0, shield=10.0)
        if tick % 97 == 11 and len(alive) > 3:
            z.remove_ship(alive[1])
        if tick % 150 == 0:
            z.grant_ids(range(10**9 + 2000 * (tick // 150 + 1), 10**9 + 2000 * (tick // 150 + 2)))
        return list(z.step())
