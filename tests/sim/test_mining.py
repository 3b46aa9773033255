"""Mining: yields, reports, stops, depletion, FieldChanged, regrowth."""

from __future__ import annotations

import pytest

from callister.protocol.errors import ErrorCode
from callister.protocol.intents import Dock, Input, Mine
from callister.sim import (
    MINING,
    FieldChanged,
    FieldSpec,
    Mined,
    MiningStopped,
    Refused,
    StationSpec,
    Zone,
    ZoneRules,
    regrow_since,
    regrown,
)
from callister.sim.rules import MINING_MAX_SPEED, MINING_RANGE, REGROW_TICKS, UNITS_PER_POINT

from ._support import OWNER, SHUTTLE, layout, of_type, rock, run

ROCK = rock(2000.0, 3000.0, 40.0, field=0)
OTHER = rock(-2000.0, 3000.0, 40.0, field=1)  # a field without ore data
NEAR = StationSpec(index=5, x=2100.0, y=2800.0, radius=30.0, dock_radius=300.0)


def mining_zone(
    richness: int = 100,
    base: int | None = None,
    rules: ZoneRules | None = None,
    tick: int | None = None,
    start_tick: int = 0,
) -> Zone:
    spec = FieldSpec(0, "iron", richness, richness if base is None else base, tick)
    return Zone(
        layout(rocks=(ROCK, OTHER), fields=(spec,), stations=(NEAR,)),
        rules=rules,
        start_tick=start_tick,
    )


def miner(z: Zone, ship: int = 1, x: float = 2000.0, **kw: object) -> int:
    """A shuttle parked 100 m from the rock's surface."""
    z.add_ship(ship, OWNER, SHUTTLE, x=x, y=3000.0 - 40.0 - 100.0, **kw)  # type: ignore[arg-type]
    return ship


def test_mining_yields_one_unit_a_second_at_full_richness() -> None:
    z = mining_zone()
    miner(z)
    z.submit(Mine(OWNER, 1, 0))
    events = run(z, 20)
    assert of_type(events, Mined) == [Mined(1, OWNER, 0, 0, "iron", 1)]
    assert z.vitals(1).mining_rock == 0 and z.store.flags[z.store.row(1)] & MINING
    assert z.vitals(1).cargo_free == SHUTTLE.cargo - 1
    mined = of_type(run(z, 20 * 4), Mined)
    assert [m.qty for m in mined] == [1, 1, 1, 1]  # at most one report a second
    assert z.vitals(1).cargo_free == SHUTTLE.cargo - 5


def test_yield_scales_with_richness_and_the_world() -> None:
    z = mining_zone(richness=50, rules=ZoneRules(yield_multiplier=4.0))
    miner(z)
    z.submit(Mine(OWNER, 1, 0))
    events = run(z, 20 * 3)
    assert sum(m.qty for m in of_type(events, Mined)) == 6  # 2 units/s


def test_mining_depletes_the_field_and_raises_field_changed() -> None:
    # richness r yields r units a tick at this multiplier: 10 ticks at 2, then 20 at 1
    z = mining_zone(richness=2, base=2, rules=ZoneRules(yield_multiplier=2000.0))
    miner(z, cargo_free=1000)
    z.submit(Mine(OWNER, 1, 0))
    events = run(z, 29)
    assert of_type(events, FieldChanged) == [FieldChanged(0, 1)]
    assert not of_type(events, MiningStopped)
    events += run(z, 1)
    changes = of_type(events, FieldChanged)
    assert changes == [FieldChanged(0, 1), FieldChanged(0, 0)]
    assert z.field_richness(0) == 0
    [stop] = of_type(events, MiningStopped)
    assert stop.reason == "depleted"
    # whole units reported, never more than the field held
    assert sum(m.qty for m in of_type(events, Mined)) == 2 * UNITS_PER_POINT
    assert not z.store.flags[z.store.row(1)] & MINING and z.vitals(1).mining_rock == -1
    z.submit(Mine(OWNER, 1, 0))
    [r] = of_type(z.step(), Refused)
    assert r.code == ErrorCode.NOT_AVAILABLE


def test_mining_stops_when_the_hold_is_full() -> None:
    z = mining_zone(rules=ZoneRules(yield_multiplier=10.0))
    miner(z, cargo_free=3)
    z.submit(Mine(OWNER, 1, 0))
    events = run(z, 20)
    assert sum(m.qty for m in of_type(events, Mined)) == 3
    assert [s.reason for s in of_type(events, MiningStopped)] == ["cargo_full"]
    assert z.vitals(1).cargo_free == 0
    z.submit(Mine(OWNER, 1, 0))
    [r] = of_type(z.step(), Refused)
    assert r.code == ErrorCode.CARGO_FULL
    z.set_vitals(1, cargo_free=0)
    miner(z, 2, x=2050.0, cargo_free=0)
    z.submit(Mine(OWNER, 2, 0))
    assert of_type(z.step(), Refused)[0].code == ErrorCode.CARGO_FULL


@pytest.mark.parametrize("how", ["range", "speed", "docked"])
def test_mining_stops_when_it_cannot_go_on(how: str) -> None:
    z = mining_zone()
    miner(z)
    z.submit(Mine(OWNER, 1, 0))
    run(z, 30)  # 1.5 units mined, one reported
    row = z.store.row(1)
    if how == "range":
        z.store.y[row] -= 200.0
    events: list[object] = []
    if how == "speed":
        z.submit(Input(OWNER, 1, 1.0, 0.0))
        events += run(z, 15)
    elif how == "docked":
        z.submit(Dock(OWNER, 1, 5))
    events += run(z, 2)
    [stop] = of_type(events, MiningStopped)
    assert stop == MiningStopped(1, OWNER, how)  # type: ignore[arg-type]
    assert z.vitals(1).mining_rock == -1


def test_mine_refusals() -> None:
    z = mining_zone()
    miner(z)
    z.add_ship(2, OWNER, SHUTTLE, x=2000.0, y=3000.0 - 40.0 - MINING_RANGE - 10.0)
    z.add_ship(3, OWNER, SHUTTLE, x=1980.0, y=2880.0, vx=MINING_MAX_SPEED + 5.0)
    z.add_ship(4, OWNER, SHUTTLE, x=0.0, y=0.0, docked_at=5)
    z.add_ship(5, OWNER, SHUTTLE, x=-2000.0, y=2860.0)
    for intent in (
        Mine(OWNER, 2, 0),  # too far
        Mine(OWNER, 3, 0),  # too fast
        Mine(OWNER, 4, 0),  # docked
        Mine(OWNER, 1, 7),  # no such rock
        Mine(OWNER, 5, 1),  # a rock without ore
        Mine(OWNER + 1, 1, 0),  # not yours
    ):
        z.submit(intent)
    got = [(r.code, r.evidence) for r in of_type(z.step(), Refused)]
    assert got == [
        (ErrorCode.NOT_YOUR_SHIP, True),
        (ErrorCode.TOO_FAR, True),
        (ErrorCode.TOO_FAR, True),
        (ErrorCode.DOCKED, False),
        (ErrorCode.NO_TARGET, False),
        (ErrorCode.NOT_AVAILABLE, False),
    ]


def test_stop_reports_the_whole_units_and_raises_nothing() -> None:
    z = mining_zone(rules=ZoneRules(yield_multiplier=3.0))
    miner(z)
    z.submit(Mine(OWNER, 1, 0))
    run(z, 10)  # 1.5 units, not reported yet
    z.submit(Mine(OWNER, 1, -1))
    events = z.step()
    assert of_type(events, Mined) == [Mined(1, OWNER, 0, 0, "iron", 1)]
    assert not of_type(events, MiningStopped)
    assert z.vitals(1).mining_rock == -1


def test_regrown_is_pure_and_capped() -> None:
    assert regrown(2, 5, 0) == 2
    assert regrown(2, 5, REGROW_TICKS - 1) == 2
    assert regrown(2, 5, REGROW_TICKS) == 3
    assert regrown(2, 5, 10**9) == 5
    assert regrown(7, 5, 10**9) == 7
    assert regrown(0, 100, 3 * REGROW_TICKS + 1) == 3
    with pytest.raises(ValueError):
        regrown(1, 5, -1)
    assert regrow_since(2, 5, 100, 100 + 2 * REGROW_TICKS + 7) == (4, 100 + 2 * REGROW_TICKS)
    assert regrow_since(2, 5, 100, 100 + 9 * REGROW_TICKS) == (5, 100 + 3 * REGROW_TICKS)
    assert regrow_since(5, 5, 100, 10**9) == (5, 100)


def test_fields_regrow_while_loaded_and_catch_up_when_loaded() -> None:
    # richness 2 since tick 0; the zone starts 2.5 regrowth periods later
    z = mining_zone(richness=2, base=5, tick=0, start_tick=2 * REGROW_TICKS + REGROW_TICKS // 2)
    assert z.field_richness(0) == 2
    assert of_type(z.step(), FieldChanged) == [FieldChanged(0, 4)]
    assert z.field_tick(0) == 2 * REGROW_TICKS
    assert not of_type(run(z, REGROW_TICKS // 2 - 2), FieldChanged)
    assert of_type(run(z, 1), FieldChanged) == [FieldChanged(0, 5)]
    assert z.field_richness(0) == 5
    assert not of_type(run(z, 10), FieldChanged)
    # mining restarts the clock
    z2 = mining_zone(richness=3, base=5, rules=ZoneRules(yield_multiplier=2000.0))
    miner(z2, cargo_free=1000)
    z2.submit(Mine(OWNER, 1, 0))
    events = run(z2, 7)  # 3 units a tick: 21 of 60
    assert of_type(events, FieldChanged) == [FieldChanged(0, 2)]
    assert z2.field_tick(0) == 7


def test_the_state_hash_covers_the_fields() -> None:
    a = mining_zone(richness=3)
    b = mining_zone(richness=4)
    assert a.state_hash() != b.state_hash()
