from __future__ import annotations

import msgspec

from callister.missions import rules
from callister.missions.services import (
    BASELINE,
    baseline_services,
    home_problems,
    lawful_hub,
    missing,
    offers_insurance,
    with_baseline,
)
from callister.universe import SERVICES

from ._support import content, good_homes, lawful, ring, system


def server_homes(count: int = 16) -> list[tuple[tuple[int, int], int]]:
    """What server/world.py's find_home_systems picks today: the first systems with a station
    and a link, spiralling out from (0, 0), station 0 of each."""
    out: list[tuple[tuple[int, int], int]] = []
    r = 0
    while len(out) < count:
        for x, y in ring(r):
            s = system(x, y)
            if s is not None and s.stations and s.links and len(out) < count:
                out.append(((x, y), 0))
        r += 1
    return out


def test_todays_homes_lack_services_and_the_baseline_gives_them_all() -> None:
    homes = server_homes()
    lacking = [h for h in homes if missing(system(*h[0]).stations[h[1]])]  # type: ignore[union-attr]
    assert len(lacking) == len(homes)  # issue 16: "home stations included"
    for sector, index in homes:
        s = system(*sector)
        assert s is not None
        fixed = with_baseline(s, lawful(), (index,))
        st = fixed.stations[index]
        assert missing(st) == () and offers_insurance(st.services)
        assert tuple(x for x in SERVICES if x in st.services) == st.services  # SERVICES order
        others = [
            o for o in fixed.stations if o.index != index and o.index != lawful_hub(s, lawful())
        ]
        assert all(o == s.stations[o.index] for o in others)  # nothing else changes


def test_a_lawful_system_gets_one_hub_with_the_baseline() -> None:
    s = system(-15, -13)  # ruled by Concord; its Concord station sells only market and rearm
    assert s is not None and s.faction == "concord"
    hub = lawful_hub(s, lawful())
    assert hub == 1 and s.stations[1].faction == "concord" and missing(s.stations[1])
    fixed = with_baseline(s, lawful())
    assert missing(fixed.stations[1]) == ()
    assert fixed.stations[0] == s.stations[0]  # the independent station keeps its own
    # an outlaw or independent system has no hub; nothing changes without homes
    plain = system(-1, 1)
    assert plain is not None and lawful_hub(plain, lawful()) is None
    assert with_baseline(plain, lawful()) is plain
    # a destroyed hub is skipped; a destroyed station never gets services
    ruined = msgspec.structs.replace(
        s,
        stations=tuple(
            msgspec.structs.replace(st, destroyed=True, services=()) for st in s.stations
        ),
    )
    assert lawful_hub(ruined, lawful()) is None
    assert with_baseline(ruined, lawful(), (0,)).stations[0].services == ()


def test_baseline_services_keep_what_a_station_had() -> None:
    s = system(-1, 1)
    assert s is not None
    st = msgspec.structs.replace(s.stations[0], services=("repair",))
    assert baseline_services(st) == BASELINE
    assert offers_insurance(("repair",)) and offers_insurance(("shipyard",))
    assert not offers_insurance(("market", "refuel"))


def test_home_problems_flag_systems_a_new_pilot_should_not_start_in() -> None:
    hull = content().starter_hull
    problems = {h: home_problems(system(*h[0]), h[1], hull) for h in server_homes()}  # type: ignore[arg-type]
    rejected = [h for h, p in problems.items() if p]
    assert len(rejected) == 8  # docs/missions.md: 3 without a field, 5 with one too far or poor
    assert sum("no asteroid field" in " ".join(p) for p in problems.values()) == 3
    assert sum("too far or too poor" in " ".join(p) for p in problems.values()) == 5
    s = system(0, 2)
    assert s is not None and "no asteroid field with ore" in home_problems(s, 0, hull)
    assert home_problems(s, 9, hull) == ("station 9 does not exist or is destroyed",)
    lonely = msgspec.structs.replace(s, links=())
    assert "no jump links" in home_problems(lonely, 0, hull)
    for sector, index in good_homes():
        here = system(*sector)
        assert here is not None and home_problems(here, index, hull) == ()
    assert rules.FIRST_PROFIT_S * 1.3 <= 300  # a human's slack still inside the goal
