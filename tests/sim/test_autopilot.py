"""The autopilot (sim/autopilot.py): flying to stations, fields, gates, points and ships."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from callister.content import Hull
from callister.protocol.errors import ErrorCode
from callister.protocol.intents import Autopilot, Dock, Input, Jump, Undock
from callister.sim import (
    AutopilotArrived,
    AutopilotCancelled,
    Collided,
    CruiseChanged,
    Docked,
    JumpCharging,
    Refused,
    StationSpec,
    Zone,
    ZoneLayout,
    checkpoint,
)
from callister.sim.entities import SLOTS, WIDE_COLUMNS
from callister.sim.rules import (
    AUTOPILOT_TOLERANCE,
    ESCORT_DISTANCE,
    FUEL_RESERVE,
)
from callister.sim.travel import Drive, leg

from ._support import HAULER, INTERCEPTOR, OWNER, SHUTTLE, rock

HZ = 20
STAR_R = 1500.0
HOME = StationSpec(index=0, x=15_000.0, y=0.0, radius=150.0, dock_radius=300.0)
OTHER = StationSpec(index=1, x=-15_000.0, y=2_000.0, radius=120.0, dock_radius=270.0)
FIELD_ROCKS = tuple(rock(9_000.0 + 180.0 * (i % 4), 12_000.0 + 190.0 * (i // 4), 40.0)
                    for i in range(16))  # fmt: skip
LINKS = ((1, 0), (0, -1))
GATES = ((12_000.0, -6_000.0), (-3_000.0, -20_000.0))


def travel_layout() -> ZoneLayout:
    """A 40 km system: a star of 1.5 km, two stations 30 km apart on either side of it, an
    asteroid field and two links with gates."""
    return ZoneLayout(
        radius=40_000.0,
        star_radius=STAR_R,
        stations=(HOME, OTHER),
        rocks=FIELD_ROCKS,
        links=LINKS,
        gates=GATES,
    )


def fly(z: Zone, seconds: float, until: type | None = None) -> list[object]:
    """Step up to `seconds` of game time (stopping after the tick that raised an `until`)."""
    events: list[object] = []
    for _ in range(round(seconds * HZ)):
        tick = z.step()
        events.extend(tick)
        if until is not None and any(isinstance(e, until) for e in tick):
            break
    return events


def of(events: list[object], kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, kind)]


def refused(z: Zone, intent: Autopilot) -> Refused:
    z.submit(intent)
    events = z.step()
    assert len(events) == 1 and isinstance(events[0], Refused), events
    assert events[0].action == "autopilot"
    return events[0]


@pytest.mark.parametrize("hull", [SHUTTLE, HAULER, INTERCEPTOR], ids=lambda h: h.key)
def test_reaches_a_station_30_km_away_round_the_star_and_stops_in_docking_range(
    hull: Hull,
) -> None:
    z = Zone(travel_layout())
    z.add_ship(1, OWNER, hull, x=-15_000.0, y=50.0)  # the star lies straight between
    z.submit(Autopilot(OWNER, 1, "station", index=0))
    events: list[object] = []
    closest = math.inf
    for _ in range(60 * HZ):
        tick = z.step()
        events.extend(tick)
        s = z.ship_state(1)
        closest = min(closest, math.hypot(s.x, s.y))
        if of(tick, AutopilotArrived):
            break
    assert of(events, AutopilotArrived) == [AutopilotArrived(1, OWNER, "station", 0)]
    assert z.tick < 60 * HZ  # under a minute of game time
    assert not of(events, Collided)
    assert closest > STAR_R + hull.radius + 200  # routed round the star
    cruise = [(e.state, e.reason) for e in of(events, CruiseChanged)]
    assert cruise == [("spooling", ""), ("on", ""), ("off", "arrival")]  # never dropped early
    s = z.ship_state(1)
    gap = math.hypot(s.x - HOME.x, s.y - HOME.y)
    assert HOME.radius + hull.radius < gap <= HOME.dock_radius
    z.step()  # the brake it holds stops the last metres per second
    assert math.hypot(z.ship_state(1).vx, z.ship_state(1).vy) == 0.0
    assert z.travel(1).autopilot is None
    z.submit(Dock(OWNER, 1, 0))
    assert z.step() == [Docked(1, 0)]


def test_the_trip_uses_about_the_fuel_the_plan_said() -> None:
    z = Zone(travel_layout())
    z.add_ship(1, OWNER, SHUTTLE, x=-15_000.0, y=50.0)
    z.submit(Autopilot(OWNER, 1, "station", index=0))
    fly(z, 60, until=AutopilotArrived)
    used = SHUTTLE.fuel - z.ship_state(1).fuel  # type: ignore[operator]
    planned = leg(Drive.of_hull(SHUTTLE), 30_000.0, cruise=True).fuel
    assert 0.5 * planned < used < planned + FUEL_RESERVE * SHUTTLE.fuel


def test_stops_at_the_edge_of_a_field_without_touching_a_rock() -> None:
    z = Zone(travel_layout())
    z.add_ship(1, OWNER, SHUTTLE, x=-2_000.0, y=-10_000.0)
    z.submit(Autopilot(OWNER, 1, "field", index=0))
    events = fly(z, 60, until=AutopilotArrived)
    assert of(events, AutopilotArrived) == [AutopilotArrived(1, OWNER, "field", 0)]
    assert not of(events, Collided)
    s = z.ship_state(1)
    gap = min(math.hypot(s.x - r.x, s.y - r.y) - r.r - SHUTTLE.radius for r in FIELD_ROCKS)
    assert 0 < gap < 400  # at the edge, clear of the rocks


def test_flies_to_a_link_gate_and_can_jump_from_there() -> None:
    z = Zone(travel_layout())
    z.add_ship(1, OWNER, SHUTTLE, x=14_000.0, y=3_000.0)
    z.submit(Autopilot(OWNER, 1, "link", to_x=1, to_y=0))
    events = fly(z, 60, until=AutopilotArrived)
    assert of(events, AutopilotArrived) == [AutopilotArrived(1, OWNER, "link", 0)]
    s = z.ship_state(1)
    assert math.hypot(s.x - GATES[0][0], s.y - GATES[0][1]) <= AUTOPILOT_TOLERANCE
    z.submit(Jump(OWNER, 1, 1, 0))
    assert of(z.step(), JumpCharging)


def test_flies_to_a_point_and_holds_still_there() -> None:
    z = Zone(travel_layout())
    z.add_ship(1, OWNER, INTERCEPTOR, x=0.0, y=5_000.0, vx=-200.0)  # moving away at first
    z.submit(Autopilot(OWNER, 1, "point", x=3_000.0, y=8_000.0))
    events = fly(z, 60, until=AutopilotArrived)
    assert of(events, AutopilotArrived) == [AutopilotArrived(1, OWNER, "point", 0)]
    fly(z, 2)
    s = z.ship_state(1)
    assert math.hypot(s.x - 3_000.0, s.y - 8_000.0) <= AUTOPILOT_TOLERANCE
    assert (s.vx, s.vy) == (0.0, 0.0)


def test_follows_a_moving_ship_at_escort_distance_until_it_leaves() -> None:
    z = Zone(travel_layout())
    z.add_ship(2, 99, SHUTTLE, x=0.0, y=8_000.0, vx=120.0, vy=40.0)  # coasting
    z.add_ship(1, OWNER, SHUTTLE, x=-3_000.0, y=5_000.0)
    z.submit(Autopilot(OWNER, 1, "ship", target=2))
    events = fly(z, 60, until=AutopilotArrived)
    assert of(events, AutopilotArrived) == [AutopilotArrived(1, OWNER, "ship", 2)]
    escort = ESCORT_DISTANCE + 2 * SHUTTLE.radius
    for _ in range(10 * HZ):  # it keeps following, not arriving again
        assert not of(z.step(), AutopilotArrived)
        me, it = z.ship_state(1), z.ship_state(2)
        assert abs(math.hypot(me.x - it.x, me.y - it.y) - escort) < 60
        assert math.hypot(me.vx - it.vx, me.vy - it.vy) < 10
    assert not of(events, CruiseChanged)  # no cruising after a ship
    assert z.travel(1).autopilot == "ship" and z.travel(1).target == 2
    z.remove_ship(2)
    assert z.step() == [AutopilotCancelled(1, OWNER, "target_gone")]
    assert z.travel(1).autopilot is None


def test_stops_following_a_ship_that_docks() -> None:
    z = Zone(travel_layout())
    z.add_ship(2, 99, SHUTTLE, x=HOME.x - 250.0, y=0.0)
    z.add_ship(1, OWNER, SHUTTLE, x=HOME.x - 3_000.0, y=0.0)
    z.submit(Autopilot(OWNER, 1, "ship", target=2))
    z.step()
    z.submit(Dock(99, 2))
    assert z.step() == [Docked(2, 0)]
    assert z.step() == [AutopilotCancelled(1, OWNER, "target_docked")]


def test_any_steering_input_cancels_it_but_letting_go_of_the_keys_does_not() -> None:
    z = Zone(travel_layout())
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=-8_000.0)
    z.submit(Autopilot(OWNER, 1, "station", index=0))
    z.step()
    z.submit(Input(OWNER, 1, 0.0, 0.0, False))  # a client releasing its keys
    fly(z, 1)
    assert z.travel(1).autopilot == "station"
    for manual in (
        Input(OWNER, 1, 0.3, 0.0),
        Input(OWNER, 1, 0.0, -1.0),
        Input(OWNER, 1, 0, 0, True),
    ):
        z.submit(Autopilot(OWNER, 1, "station", index=0))
        z.step()
        z.submit(manual)
        assert of(z.step(), AutopilotCancelled) == [AutopilotCancelled(1, OWNER, "manual")]
        s = z.store.get(1)
        assert (s["thrust"], s["turn"], s["brake"]) == pytest.approx(
            (manual.thrust, manual.turn, manual.brake)
        )  # the pilot's controls hold from this tick
    z.submit(Autopilot(OWNER, 1, "station", index=0))
    z.step()
    z.submit(Autopilot(OWNER, 1, "off"))
    assert of(z.step(), AutopilotCancelled) == [AutopilotCancelled(1, OWNER, "off")]
    assert z.store.get(1)["thrust"] == 0.0  # it coasts
    z.submit(Autopilot(OWNER, 1, "off"))  # off when off: nothing happens
    assert z.step() == []


def test_docking_ends_it() -> None:
    z = Zone(travel_layout())
    z.add_ship(1, OWNER, SHUTTLE, x=HOME.x - 250.0, y=0.0)
    z.submit(Autopilot(OWNER, 1, "station", index=1))
    z.submit(Dock(OWNER, 1))
    assert z.step() == [AutopilotCancelled(1, OWNER, "docked"), Docked(1, 0)]
    assert z.travel(1).autopilot is None


def test_refusals_say_what_is_wrong() -> None:
    z = Zone(travel_layout())
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=-8_000.0)
    z.add_ship(3, OWNER, SHUTTLE, x=0.0, y=0.0, docked_at=0)
    cases = [
        (Autopilot(OWNER, 3, "station", index=1), ErrorCode.DOCKED, "undock"),
        (Autopilot(OWNER, 1, "station", index=7), ErrorCode.NO_TARGET, "no station 7"),
        (Autopilot(OWNER, 1, "field", index=4), ErrorCode.NO_TARGET, "no asteroid field 4"),
        (Autopilot(OWNER, 1, "link", to_x=5, to_y=5), ErrorCode.NO_SUCH_LINK, "(5, 5)"),
        (Autopilot(OWNER, 1, "ship", target=1), ErrorCode.NO_TARGET, "no other ship 1"),
        (Autopilot(OWNER, 1, "ship", target=404), ErrorCode.NO_TARGET, "no other ship 404"),
        (Autopilot(OWNER, 1, "ship", target=3), ErrorCode.NO_TARGET, "docked"),
        (Autopilot(OWNER, 1, "point", x=100.0, y=0.0), ErrorCode.NO_TARGET, "the star"),
        (Autopilot(OWNER, 1, "point", x=HOME.x, y=50.0), ErrorCode.NO_TARGET, "a station"),
        (Autopilot(OWNER, 1, "point", x=0.0, y=41_000.0), ErrorCode.NO_TARGET, "outside"),
        (Autopilot(OWNER, 1, "orbit"), ErrorCode.NO_TARGET, "cannot fly to"),
        (Autopilot(99, 1, "station", index=0), ErrorCode.NOT_YOUR_SHIP, "not yours"),
    ]
    for intent, code, words in cases:
        r = refused(z, intent)
        assert (r.code, r.ship) == (code, intent.ship) and words in r.reason, r
    assert z.travel(1).autopilot is None


def test_refuses_a_trip_the_fuel_cannot_fly_with_the_reserve_kept() -> None:
    z = Zone(travel_layout())
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=-8_000.0)
    need = leg(Drive.of_hull(SHUTTLE), 10_000.0, cruise=False).fuel
    z.set_vitals(1, fuel=need + 1.0)  # enough to get there, not to keep 10 % in reserve
    r = refused(z, Autopilot(OWNER, 1, "point", x=0.0, y=2_000.0))
    assert r.code == ErrorCode.NO_FUEL
    assert "reserve" in r.reason and "refuel" in r.reason
    # a station is where the ship refuels: no reserve needed to go there
    z.submit(Autopilot(OWNER, 1, "station", index=0))
    assert not of(z.step(), Refused)
    assert z.travel(1).autopilot == "station"
    # a link needs the jump's fuel on top
    z.set_vitals(1, fuel=SHUTTLE.fuel * FUEL_RESERVE + need + 1.0)
    assert refused(z, Autopilot(OWNER, 1, "link", to_x=0, to_y=-1)).code == ErrorCode.NO_FUEL


def test_an_empty_tank_ends_the_trip() -> None:
    z = Zone(travel_layout())
    z.add_ship(1, OWNER, SHUTTLE, x=0.0, y=-8_000.0)
    z.submit(Autopilot(OWNER, 1, "station", index=0, cruise=False))
    fly(z, 1)
    z.set_vitals(1, fuel=0.0)
    assert of(z.step(), AutopilotCancelled) == [AutopilotCancelled(1, OWNER, "fuel")]


def test_the_autopilot_is_deterministic_and_survives_a_checkpoint() -> None:
    def fleet() -> Zone:
        z = Zone(travel_layout())
        for i in range(12):
            a = 2 * math.pi * i / 12
            z.add_ship(10 + i, OWNER, (SHUTTLE, HAULER, INTERCEPTOR)[i % 3],
                       x=25_000.0 * math.cos(a), y=25_000.0 * math.sin(a))  # fmt: skip
        for i in range(12):
            kind = ("station", "field", "link", "ship", "point")[i % 5]
            z.submit(
                Autopilot(
                    OWNER,
                    10 + i,
                    kind,
                    index=i % 2,
                    target=10 + (i + 1) % 12,
                    x=-5_000.0,
                    y=9_000.0,
                    to_x=LINKS[i % 2][0],
                    to_y=LINKS[i % 2][1],
                )
            )
        return z

    a, b = fleet(), fleet()
    ea, eb = fly(a, 20), fly(b, 10)
    saved = b.checkpoint()
    c = Zone.from_checkpoint(travel_layout(), saved)
    eb += fly(b, 10)
    ec = fly(c, 10)
    assert a.state_hash() == b.state_hash() == c.state_hash()
    assert ea == eb and ea[len(ea) - len(ec) :] == ec
    assert of(ea, AutopilotArrived) and of(ea, CruiseChanged)


@pytest.mark.parametrize("hull", [SHUTTLE, HAULER, INTERCEPTOR], ids=lambda h: h.key)
def test_undocking_and_thrusting_at_once_never_hits_the_station(hull: Hull) -> None:
    # Full thrust for 3 s towards each of 16 headings (turning there at full rate), from
    # stations on every side of the star.
    for k in range(8):
        a = 2 * math.pi * k / 8
        station = StationSpec(0, 6_000.0 * math.cos(a), 6_000.0 * math.sin(a), 150.0, 300.0)
        for h in range(16):
            z = Zone(ZoneLayout(radius=20_000.0, star_radius=500.0, stations=(station,)))
            z.add_ship(1, OWNER, hull, x=0.0, y=0.0, docked_at=0)
            z.submit(Undock(OWNER, 1))
            z.step()
            heading = a + 2 * math.pi * h / 16
            rate = math.radians(hull.turn_rate) / HZ
            for _ in range(3 * HZ):
                error = math.remainder(heading - z.ship_state(1).angle, 2 * math.pi)
                z.submit(Input(OWNER, 1, 1.0, max(-1.0, min(1.0, error / rate))))
                assert not of(z.step(), Collided), (k, h)


def test_a_checkpoint_from_before_the_travel_columns_still_restores() -> None:
    # saved footage outlives builds: a checkpoint without the columns appended for travel
    # restores with them at their defaults (no autopilot, no cruise drive)
    z = Zone(travel_layout())
    z.add_ship(1, OWNER, SHUTTLE, x=100.0, y=-9_000.0, vx=30.0)
    z.step()
    data = z.checkpoint()
    _, _, head_len = checkpoint._HEAD.unpack_from(data)
    header = json.loads(data[checkpoint._HEAD.size : checkpoint._HEAD.size + head_len])
    offset, blobs = checkpoint._HEAD.size + head_len, []
    for name, dtype in header["columns"]:
        size = header["count"] * np.dtype(dtype).itemsize * (SLOTS if name in WIDE_COLUMNS else 1)
        blobs.append((name, data[offset : offset + size]))
        offset += size
    old = [(name, blob) for name, blob in blobs if not name.startswith(("ap_", "cruise"))]
    assert len(old) == len(blobs) - 14
    header["columns"] = [c for c in header["columns"] if c[0] in dict(old)]
    head = json.dumps(header).encode()
    older = b"".join(
        [checkpoint._HEAD.pack(checkpoint.MAGIC, checkpoint.VERSION, len(head)), head]
        + [blob for _, blob in old]
        + [data[offset:]]
    )
    restored = Zone.from_checkpoint(travel_layout(), older)
    assert restored.ship_state(1) == z.ship_state(1)
    assert restored.travel(1) == z.travel(1)
    with pytest.raises(checkpoint.CheckpointError):  # but not a checkpoint of other columns
        header["columns"][3][0] = "nonsense"
        head = json.dumps(header).encode()
        Zone.from_checkpoint(
            travel_layout(),
            checkpoint._HEAD.pack(checkpoint.MAGIC, checkpoint.VERSION, len(head)) + head,
        )
