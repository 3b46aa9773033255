from __future__ import annotations

import math

import pytest

from callister.missions import rules
from callister.missions.travel import Place, flight_fuel, flight_seconds, trip
from callister.universe import arrival_point

from ._support import content, system


def _integrate(distance: float, thrust: float, vmax: float, burn: float) -> tuple[float, float]:
    """Fly `distance` by small time steps: full thrust until braking must start (or the speed
    cap), coast, brake to rest at the end. (seconds, fuel)."""
    dt, x, v, t, fuel = 0.001, 0.0, 0.0, 0.0, 0.0
    while x < distance - 1e-6:
        if v * v / (2 * thrust) >= distance - x:  # brake now
            v = max(0.0, v - thrust * dt)
            fuel += burn * dt
            if v == 0.0:
                break
        elif v < vmax:
            v = min(vmax, v + thrust * dt)
            fuel += burn * dt
        x += v * dt
        t += dt
    return t, fuel


@pytest.mark.parametrize("distance", [50.0, 500.0, 1126.0, 5000.0, 30_000.0])
def test_flight_model_matches_a_step_by_step_flight(distance: float) -> None:
    hull = content().starter_hull
    seconds, fuel = _integrate(distance, hull.thrust, hull.max_speed, hull.fuel_burn)
    assert flight_seconds(distance, hull) == pytest.approx(seconds, rel=0.01, abs=0.05)
    assert flight_fuel(distance, hull) - rules.FUEL_SPARE == pytest.approx(fuel, rel=0.01, abs=0.05)


def test_no_distance_no_time_and_coasting_is_free() -> None:
    hull = content().starter_hull
    assert flight_seconds(0.0, hull) == 0.0
    assert flight_fuel(0.0, hull) == rules.FUEL_SPARE
    # past the distance where full speed is reached, longer trips burn no more fuel
    assert flight_fuel(10_000, hull) == flight_fuel(40_000, hull)


def test_trip_in_one_system_and_across_a_link() -> None:
    hull = content().starter_hull
    home = system(-1, 1)
    assert home is not None
    st = home.stations[0]
    a = Place(home.sector, st.x, st.y)
    same = trip(a, Place(home.sector, 0.0, 0.0), {home.sector: home}, hull, undock=True, dock=True)
    assert same is not None and same.jumps == 0
    d = math.hypot(st.x, st.y)
    assert same.seconds == pytest.approx(flight_seconds(d, hull) + rules.UNDOCK_S + rules.DOCK_S)
    link = home.links[0]
    other = system(*link)
    assert other is not None
    b = (
        Place(link, other.stations[0].x, other.stations[0].y)
        if other.stations
        else Place(link, 0, 0)
    )
    systems = {home.sector: home, link: other}
    across = trip(a, b, systems, hull)
    assert across is not None and across.jumps == 1
    ax, ay = arrival_point(other, home.x, home.y)
    assert across.metres == pytest.approx(math.hypot(b.x - ax, b.y - ay))
    assert across.fuel == pytest.approx(flight_fuel(across.metres, hull) + hull.jump_fuel)


def test_no_trip_beyond_one_link_or_to_an_unknown_system() -> None:
    hull = content().starter_hull
    home = system(-1, 1)
    assert home is not None
    far = Place((40, 40), 0.0, 0.0)
    assert trip(Place(home.sector, 0, 0), far, {home.sector: home}, hull) is None
    link = home.links[0]
    assert trip(Place(home.sector, 0, 0), Place(link, 0, 0), {home.sector: home}, hull) is None
