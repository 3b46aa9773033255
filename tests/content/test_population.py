"""NPC population from content: the base roles give exactly what the server's hard-coded
`npc_plan` gives today, so the server can switch to the data without changing a world."""

from __future__ import annotations

from collections import Counter

import pytest

from callister.content import ContentPack, load_content, role_counts, system_kind
from callister.server.npcs import _h, npc_plan
from callister.sim.layout import ZoneLayout
from callister.universe import generate_system

from ..universe._support import random_sectors


def _from_content(
    seed: int, system: object, layout: ZoneLayout, density: float, home: bool
) -> Counter[str]:
    lawful = any(s.lawful for s in layout.stations)
    markets = sum("market" in s.services for s in system.stations)  # type: ignore[attr-defined]
    counts = role_counts(
        load_content().npc_roles,
        system_kind(lawful, home),
        markets=markets,
        fields=len(system.fields),  # type: ignore[attr-defined]
        roll=_h(seed, system.x, system.y, 7),  # type: ignore[attr-defined]
        density=density,
    )
    return Counter({role.goal: n for role, n in counts})


@pytest.mark.parametrize("density", [1.0, 0.5, 2.0, 0.0])
def test_base_roles_reproduce_npc_plan(density: float) -> None:
    seed = 0xC0FFEE
    roles = load_content().npc_roles
    checked = 0
    for x, y in random_sectors(7, 4000, span=10_000):
        system = generate_system(seed, x, y)
        if system is None:
            continue
        layout = ZoneLayout.from_system(system)
        for home in (False, True):
            plan = npc_plan(seed, system, layout, density, home)
            want = Counter(spec.goal.value for spec in plan)
            assert _from_content(seed, system, layout, density, home) == want, (x, y, home)
            # the hull each goal flies today is the role's (only) hull
            for spec in plan:
                assert roles[spec.goal.value].hull_for(0) == spec.hull
        checked += 1
    assert checked > 500


def test_a_pack_role_adds_population() -> None:
    smugglers = ContentPack.from_files(
        {
            "pack.toml": '[pack]\nname = "smugglers"\nversion = "1.0.0"\n',
            "npc_roles.toml": "[smuggler]\nname = 'Smuggler'\ngoal = 'trader'\n"
            "hulls = ['hauler', 'shuttle']\npopulation = { lawless = [2, 2] }\n",
        }
    )
    roles = load_content(packs=[smugglers]).npc_roles
    counts = dict((r.key, n) for r, n in role_counts(roles, "lawless", markets=0, fields=0, roll=0))
    assert counts == {"smuggler": 2}  # traders and pirates need a market, miners a field
    assert role_counts(roles, "lawful", markets=0, fields=0, roll=1)[0][0].key == "patrol"
    assert {roles["smuggler"].hull_for(u) for u in range(4)} == {"hauler", "shuttle"}


def test_unknown_system_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="system kind must be one of"):
        role_counts(load_content().npc_roles, "capital", markets=0, fields=0, roll=0)
