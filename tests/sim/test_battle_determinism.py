"""Combat is deterministic and never breaks the zone's invariants, whatever the intents."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callister.protocol.intents import Dock, Fire, Input, Intent, Jump, Loot, Mine, Undock
from callister.sim import (
    KIND_SHIP,
    CrimeCommitted,
    Destroyed,
    FieldSpec,
    Fired,
    Hit,
    StationSpec,
    Zone,
    ZoneRules,
)

from ._support import HAULER, INTERCEPTOR, SHUTTLE, layout, rock

ROCKS = tuple(
    rock(1500.0 + 130.0 * (i % 6), 2500.0 + 140.0 * (i // 6), 20.0 + 7 * (i % 3), field=i % 2)
    for i in range(24)
)
LAWFUL = StationSpec(index=1, x=2600.0, y=5500.0, radius=80.0, dock_radius=300.0, lawful=True)
FIELDS = (FieldSpec(0, "iron", 40, 60), FieldSpec(1, "ice", 3, 10))


def battle_zone(n: int = 60, order: list[int] | None = None, pvp: bool = True) -> Zone:
    z = Zone(
        layout(rocks=ROCKS, fields=FIELDS, stations=(*layout().stations, LAWFUL)),
        rules=ZoneRules(pvp=pvp, damage_multiplier=3.0),
    )
    z.grant_ids(range(10**9, 10**9 + 10**6))
    rng = np.random.default_rng(11)
    hulls = [SHUTTLE, HAULER, INTERCEPTOR]
    specs = []
    for i in range(n):
        side = i % 2
        x = float(rng.uniform(1200, 2400)) + (-900.0 if side == 0 else 900.0)
        y = float(rng.uniform(2000, 3500))
        specs.append((100 + i, i % 5 if i % 7 else 0, hulls[i % 3], x, y, 0.0 if side else math.pi))
    for i in order if order is not None else range(n):
        ship, owner, hull, x, y, a = specs[i]
        z.add_ship(ship, owner, hull, x=x, y=y, angle=a)
    return z


def fight(z: Zone, seed: int, ticks: int) -> list[object]:
    """Every ship fires each slot at a random ship about every half second, steers randomly."""
    rng = np.random.default_rng(seed)
    events: list[object] = []
    ids = list(range(100, 160))
    for _ in range(ticks):
        for ship in ids:
            if not z.has_ship(ship) or rng.random() > 0.1:
                continue
            owner = z.ship_state(ship).owner
            slot = int(rng.integers(3))
            target = int(rng.choice(ids)) if rng.random() < 0.9 else 0
            z.submit(Fire(owner, ship, slot, target))
            if rng.random() < 0.3:
                z.submit(Input(owner, ship, float(rng.random()), float(rng.uniform(-1, 1))))
        events.extend(z.step())
    return events


def test_combat_is_deterministic_over_many_ticks() -> None:
    a = battle_zone()
    b = battle_zone()
    ea = fight(a, seed=3, ticks=300)
    eb = fight(b, seed=3, ticks=300)
    assert a.state_hash() == b.state_hash()
    assert ea == eb
    kinds = {type(e) for e in ea}
    assert {Fired, Hit, Destroyed, CrimeCommitted} <= kinds, "not a real fight"
    c = battle_zone()
    fight(c, seed=4, ticks=300)
    assert c.state_hash() != a.state_hash()


def test_combat_does_not_depend_on_row_layout() -> None:
    a = battle_zone()
    b = battle_zone(order=list(reversed(range(60))))
    assert a.store.ids[0] != b.store.ids[0]
    ea = fight(a, seed=5, ticks=150)
    eb = fight(b, seed=5, ticks=150)
    assert a.state_hash() == b.state_hash()
    assert ea == eb


# -- property test: random intents never raise and keep the invariants ------------------------

SHIPS = (1, 2, 3, 4, 5)
OWNERS = {1: 1, 2: 2, 3: 3, 4: 0, 5: -4}

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
)
ids = st.one_of(st.sampled_from((*SHIPS, 0, 99, 10**9)), st.integers(-(2**65), 2**65))


@st.composite
def intents(draw: st.DrawFn) -> Intent:
    ship = draw(st.sampled_from((*SHIPS, 77)))
    actor = draw(st.sampled_from((OWNERS.get(ship, 1), OWNERS.get(ship, 1), 12345)))
    kind = draw(st.sampled_from(("input", "fire", "fire", "fire", "mine", "loot", "other")))
    if kind == "input":
        return Input(actor, ship, draw(numbers), draw(numbers), draw(st.booleans()))
    if kind == "fire":
        return Fire(actor, ship, draw(st.integers(-3, 6)), draw(ids))
    if kind == "mine":
        return Mine(actor, ship, draw(st.integers(-2, len(ROCKS) + 1)))
    if kind == "loot":
        return Loot(actor, ship, draw(ids))
    return draw(
        st.sampled_from(
            (Dock(actor, ship), Undock(actor, ship), Jump(actor, ship, 1, 0), Dock(actor, ship, 1))
        )
    )


def small_zone(pvp: bool) -> Zone:
    z = Zone(
        layout(rocks=ROCKS, fields=FIELDS, stations=(*layout().stations, LAWFUL)),
        rules=ZoneRules(pvp=pvp, damage_multiplier=5.0),
    )
    z.grant_ids(range(10**9, 10**9 + 50))  # small: the pool runs dry in long fights
    hulls = [SHUTTLE, INTERCEPTOR, HAULER, INTERCEPTOR, SHUTTLE]
    for k, ship in enumerate(SHIPS):
        z.add_ship(
            ship, OWNERS[ship], hulls[k], x=1700.0 + 150.0 * k, y=2300.0 + 60.0 * (k % 2),
            angle=0.7 * k, fuel=[100.0, 2.0, 0.5, 80.0, 1.0][k],
        )  # fmt: skip
    return z


def check_invariants(z: Zone) -> None:
    s = z.store
    n = s.count
    assert np.isfinite(s.x[:n]).all() and np.isfinite(s.y[:n]).all()
    assert np.isfinite(s.vx[:n]).all() and np.isfinite(s.vy[:n]).all()
    ships = s.kind[:n] == KIND_SHIP
    assert (s.hull_hp[:n][ships] > 0).all()  # the destroyed are gone at the end of a tick
    assert (s.hull_hp[:n] <= s.hull_max[:n]).all()
    assert (s.shield[:n] >= 0).all() and (s.shield[:n] <= s.shield_max[:n]).all()
    assert (s.energy[:n] >= 0).all() and (s.energy[:n] <= s.energy_max[:n]).all()
    assert (s.fuel[:n] >= 0).all() and (s.fuel[:n] <= s.fuel_max[:n]).all()
    assert (s.ammo[:n] >= 0).all() and (s.cargo_free[:n] >= 0).all()
    for ship in SHIPS:
        if z.has_ship(ship):
            v = z.vitals(ship)
            assert all(c >= 0 for c in v.cooldowns) and v.criminal_s >= 0
    for f in (0, 1):
        assert 0 <= z.field_richness(f) <= 100


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    batches=st.lists(st.lists(intents(), max_size=8), min_size=1, max_size=25),
    pvp=st.booleans(),
)
def test_random_intents_never_raise_and_keep_invariants(
    batches: list[list[Intent]], pvp: bool
) -> None:
    z = small_zone(pvp)
    for batch in batches:
        for intent in batch:
            z.submit(intent)
        for _ in range(3):
            z.step()
            check_invariants(z)
