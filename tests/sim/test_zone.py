from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from callister.protocol.intents import Autopilot, Cruise, Dock, Input, Intent, Jump, Undock
from callister.sim import HULL_KEYS, KIND_SHIP, STAGE_NAMES, ShipState, Zone

from ._support import HAULER, INTERCEPTOR, OWNER, SHUTTLE, layout, rock, zone

ROCKS = tuple(
    rock(2000.0 + 90.0 * i, 1500.0 + 70.0 * (i % 5), 25.0 + i % 3 * 10) for i in range(20)
)


def busy_zone(seed: int, n: int = 120, order: list[int] | None = None) -> tuple[Zone, list[int]]:
    rng = np.random.default_rng(seed)
    z = Zone(layout(rocks=ROCKS))
    hulls = [SHUTTLE, HAULER, INTERCEPTOR]
    specs = [
        (
            1000 + 7 * i,
            hulls[i % 3],
            float(rng.uniform(1000, 4500)),
            float(rng.uniform(500, 3000)),
            float(rng.uniform(-3, 3)),
        )
        for i in range(n)
    ]
    for i in order if order is not None else range(n):
        ship, hull, x, y, a = specs[i]
        if i % 13 == 6:  # in docking range of station 0 (undocked ships leave it)
            x, y = 4800.0, y / 20
        z.add_ship(
            ship, OWNER + i % 4, hull, x=x, y=y, angle=a, docked_at=0 if i % 17 == 0 else None
        )
    return z, [s[0] for s in specs]


def random_intents(rng: np.random.Generator, ids: list[int], n: int) -> list[Intent]:
    intents: list[Intent] = []
    for _ in range(n):
        i = int(rng.integers(len(ids)))
        actor = OWNER + i % 4 if rng.random() > 0.05 else 12345  # some foreign commands
        roll = rng.random()
        if roll < 0.85:
            intents.append(
                Input(
                    actor,
                    ids[i],
                    float(rng.uniform(0, 1)),
                    float(rng.uniform(-1, 1)),
                    rng.random() < 0.1,
                )
            )
        elif roll < 0.90:
            intents.append(Dock(actor, ids[i]))
        elif roll < 0.93:
            intents.append(Undock(actor, ids[i]))
        elif roll < 0.95:
            intents.append(Jump(actor, ids[i], 1, 0))
        elif roll < 0.98:  # the autopilot to a station, a point or another ship
            kind = ("station", "point", "ship")[int(rng.integers(3))]
            other = ids[int(rng.integers(len(ids)))]
            x, y = float(rng.uniform(-9000, 9000)), float(rng.uniform(-9000, 9000))
            intents.append(Autopilot(actor, ids[i], kind, index=3 * int(rng.integers(2)),
                                     target=other, x=x, y=y))  # fmt: skip
        else:
            intents.append(Cruise(actor, ids[i], bool(rng.random() < 0.7)))
    return intents


def drive(z: Zone, ids: list[int], seed: int, ticks: int) -> list[object]:
    rng = np.random.default_rng(seed)
    events: list[object] = []
    for _ in range(ticks):
        for intent in random_intents(rng, ids, 6):
            z.submit(intent)
        events.extend(z.step())
    return events


def test_same_inputs_give_the_same_state_hash_and_events() -> None:
    a, ids = busy_zone(1)
    b, _ = busy_zone(1)
    ea = drive(a, ids, seed=2, ticks=200)
    eb = drive(b, ids, seed=2, ticks=200)
    assert a.tick == b.tick == 200
    assert a.state_hash() == b.state_hash()
    assert ea == eb
    kinds = {type(e).__name__ for e in ea}
    assert {"Collided", "Docked", "Refused", "JumpCharging", "JumpOut"} <= kinds  # a real workout
    assert "AutopilotCancelled" in kinds  # the travel stage took part
    assert {"autopilot", "cruise"} <= {e.action for e in ea if type(e).__name__ == "Refused"}
    c, _ = busy_zone(1)
    drive(c, ids, seed=3, ticks=200)
    assert c.state_hash() != a.state_hash()


def test_state_hash_ignores_row_layout() -> None:
    # Same ships added in a different order occupy different rows; the state is the same.
    a, ids = busy_zone(5, n=60)
    b, _ = busy_zone(5, n=60, order=list(reversed(range(60))))
    assert a.store.ids[0] != b.store.ids[0]
    drive(a, ids, seed=9, ticks=50)
    drive(b, ids, seed=9, ticks=50)
    assert a.state_hash() == b.state_hash()


def test_state_hash_sees_every_change() -> None:
    z, _ = busy_zone(1, n=10)
    h = z.state_hash()
    z.submit(Input(OWNER, 1000, 0.0, 0.5))  # only a held control changes
    z.step()
    h2 = z.state_hash()
    y, _ = busy_zone(1, n=10)
    y.step()
    assert h != h2 != y.state_hash()


def test_frame_is_sorted_typed_read_only_and_matches_ship_state() -> None:
    z = zone()
    z.add_ship(30, 1, HAULER, x=100.0, y=2000.0, vx=5.0, angle=1.0)
    z.add_ship(2**63 + 5, 2, INTERCEPTOR, x=-100.0, y=-2000.0, vy=-7.0)
    z.add_ship(10, 3, SHUTTLE, x=0.0, y=0.0, docked_at=0)
    z.step()
    f = z.frame()
    assert f.tick == z.tick == 1 and len(f) == 3
    assert f.ids.tolist() == [10, 30, 2**63 + 5]
    assert f.ids.dtype == np.uint64 and f.owner.dtype == np.int64
    assert f.kind.dtype == np.uint8 and f.hull.dtype == np.uint8 and f.flags.dtype == np.uint8
    assert f.angle.dtype == np.float32 and f.x.dtype == np.float32
    assert f.kind.tolist() == [KIND_SHIP] * 3
    assert [HULL_KEYS[h] for h in f.hull] == ["shuttle", "hauler", "interceptor"]
    for row, ship in enumerate(f.ids.tolist()):
        s = z.ship_state(ship)
        assert (f.owner[row], f.x[row], f.y[row]) == (s.owner, s.x, s.y)
        assert (f.vx[row], f.vy[row], f.angle[row]) == (s.vx, s.vy, np.float32(s.angle))
    assert f.row_of(30) == 1 and f.row_of(11) is None and f.row_of(-1) is None
    with pytest.raises(ValueError):
        f.x[0] = 1.0
    # A copy: stepping on does not change an old frame.
    z.submit(Input(1, 30, 1.0, 0.0))
    z.step()
    assert f.x[1] == np.float32(100.0 + 5.0 / 20)


def test_add_ship_validation_leaves_the_zone_unchanged() -> None:
    z = zone()
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=2000.0)
    before = z.state_hash()
    bad = [
        dict(ship_id=1),  # live
        dict(ship_id=-4),
        dict(hull=replace(SHUTTLE, key="battleship")),
        dict(x=math.nan),
        dict(vy=math.inf),
        dict(docked_at=77),
        dict(owner=2**64),
    ]
    for overrides in bad:
        kwargs: dict[str, object] = dict(ship_id=2, owner=OWNER, hull=SHUTTLE, x=0.0, y=2100.0)
        kwargs.update(overrides)
        with pytest.raises(ValueError):
            z.add_ship(**kwargs)  # type: ignore[arg-type]
    assert z.state_hash() == before and z.ship_count == 1


def test_removed_ids_need_readmit_to_come_back() -> None:
    z = zone()
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=2000.0, vx=3.0)
    state = z.remove_ship(1)
    assert state == ShipState(
        1, OWNER, "shuttle", 0.0, 2000.0, 3.0, 0.0, 0.0, None,
        hull_hp=SHUTTLE.hull, shield=SHUTTLE.shield, energy=SHUTTLE.energy, fuel=SHUTTLE.fuel,
        weapons=SHUTTLE.loadout, ammo=(0, 80),
    )  # fmt: skip
    assert not z.has_ship(1)
    with pytest.raises(KeyError):
        z.remove_ship(1)
    with pytest.raises(ValueError, match="never reused"):
        z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=2000.0)
    z.add_ship(1, OWNER, SHUTTLE, x=state.x, y=state.y, readmit=True)
    assert z.has_ship(1)


def test_custom_hull_stats_are_used() -> None:
    z = zone()
    slow = replace(SHUTTLE, max_speed=10.0)
    z.add_ship(1, OWNER, slow, x=0.0, y=2000.0)
    z.submit(Input(OWNER, 1, 1.0, 0.0))
    for _ in range(40):
        z.step()
    assert math.hypot(z.ship_state(1).vx, z.ship_state(1).vy) == pytest.approx(10.0)


def test_timings_cover_every_stage_and_accumulate() -> None:
    z, ids = busy_zone(1, n=20)
    drive(z, ids, seed=1, ticks=3)
    assert list(z.timings_ms) == list(STAGE_NAMES)
    assert all(v >= 0 for v in z.timings_ms.values())
    assert sum(z.timings_total_ms.values()) >= sum(z.timings_ms.values()) > 0


def test_start_tick_and_tick_hz() -> None:
    z = Zone(layout(), tick_hz=10, start_tick=500)
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=2000.0, vx=100.0)
    z.step()
    assert z.tick == 501 and z.frame().tick == 501
    assert z.ship_state(1).x == pytest.approx(10.0)  # dt = 0.1 s
    with pytest.raises(ValueError):
        Zone(layout(), tick_hz=0)
    with pytest.raises(ValueError):
        Zone(layout(), start_tick=-1)


def test_ships_within_uses_the_tick_grid_and_follows_adds() -> None:
    z = zone()
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=2000.0)
    z.add_ship(2, OWNER, SHUTTLE, x=300.0, y=2000.0)
    z.add_ship(3, OWNER, SHUTTLE, x=3000.0, y=-2000.0)
    z.step()
    assert z.ships_within(0.0, 2000.0, 350.0).tolist() == [1, 2]
    z.remove_ship(1)
    z.add_ship(4, OWNER, SHUTTLE, x=10.0, y=2000.0)
    assert z.ships_within(0.0, 2000.0, 350.0).tolist() == [2, 4]
