"""The living universe's population targets come from a world's content NPC roles: the base
roles give the base numbers and hulls; a pack's raised target or new role changes who is born
in that world only."""

from __future__ import annotations

from collections import Counter

from callister.agents import Goal
from callister.agents.atlas import Atlas
from callister.agents.planner import HullSpec
from callister.agents.population import Regulator, born_id, need, role_targets
from callister.bench.systems import bench_systems
from callister.content import ContentPack, load_content

SEED = 7


def _atlas() -> Atlas:
    lawful = {k for k, f in load_content().factions.items() if f.lawful}
    return Atlas.from_systems(bench_systems(SEED, 60), lawful_factions=lawful)


def _pack(roles: str) -> ContentPack:
    return ContentPack.from_files(
        {"pack.toml": '[pack]\nname = "modded"\nversion = "1.0.0"\n', "npc_roles.toml": roles}
    )


def _by_role(targets: dict[tuple[tuple[int, int], str], int]) -> Counter[str]:
    out: Counter[str] = Counter()
    for (_, role), n in targets.items():
        out[role] += n
    return out


def test_base_roles_give_each_goal_its_need() -> None:
    atlas = _atlas()
    targets = role_targets(atlas)
    assert set(_by_role(targets)) == {"patrol", "trader", "hauler", "pirate", "miner"}
    for sid in atlas.systems:
        if not atlas.system(sid).stations:
            assert not any(k[0] == sid for k in targets)
            continue
        for goal in Goal:
            if goal is Goal.CREW:
                continue
            assert targets.get((sid, goal.value), 0) == need(atlas, sid, goal), (sid, goal)


def test_a_pack_that_raises_pirates_and_adds_smugglers_changes_only_its_world() -> None:
    atlas = _atlas()
    base = role_targets(atlas)
    roles = load_content(
        packs=[
            _pack(
                "[pirate]\npopulation = { lawless = [3, 3] }\nmax_per_system = 3\n"
                "[smuggler]\nname = 'Smuggler'\ngoal = 'trader'\nhulls = ['shuttle']\n"
                "population = { lawless = [2, 2] }\nmin_markets = 1\n"
            )
        ]
    ).npc_roles
    modded = role_targets(atlas, roles)
    lawless = [
        sid
        for sid in atlas.systems
        if atlas.system(sid).stations
        and not any(st.lawful for st in atlas.system(sid).stations)
        and any(st.has("market") for st in atlas.system(sid).stations)
    ]
    assert lawless
    for sid in lawless:
        assert modded[(sid, "pirate")] == 3
        assert modded[(sid, "smuggler")] == 2
    assert _by_role(modded)["pirate"] > _by_role(base)["pirate"]
    # the other roles are untouched, and the base content is still the base
    assert {k: v for k, v in modded.items() if k[1] not in ("pirate", "smuggler")} == {
        k: v for k, v in base.items() if k[1] != "pirate"
    }
    assert role_targets(atlas) == base

    # a smuggler is born a trader, named a smuggler, in its own hull, with its own ids
    content = load_content()
    hulls = {k: HullSpec.of(h, content.weapons) for k, h in content.hulls.items()}
    reg = Regulator(atlas, modded, hulls.__getitem__, roles, seed=SEED)
    made = reg.newborn(lawless[0], "smuggler", tick=5)
    assert made is not None
    clone, ship, _ = made
    assert ship.goal is Goal.TRADER and ship.role == "smuggler"
    assert ship.hull.key == "shuttle" and clone.goals.primary is Goal.TRADER
    assert clone.profile.background.startswith("A smuggler born at")
    assert clone.id == born_id(SEED, lawless[0], "smuggler", 0)
    assert clone.id != born_id(SEED, lawless[0], "trader", 0)
    assert reg.deficits([(lawless[0], "smuggler")] * 2).count((lawless[0], "smuggler")) == 0


def test_haulers_are_born_haulers_in_hauler_hulls() -> None:
    atlas = _atlas()
    content = load_content()
    targets = role_targets(atlas)
    hulls = {k: HullSpec.of(h, content.weapons) for k, h in content.hulls.items()}
    reg = Regulator(atlas, targets, hulls.__getitem__, content.npc_roles, seed=SEED)
    sid = next(k[0] for k in targets if k[1] == "hauler")
    made = reg.newborn(sid, "hauler", tick=0)
    assert made is not None
    clone, ship, station = made
    assert clone.goals.primary is Goal.HAULER and ship.hull.key == "hauler"
    assert station.has("market")
