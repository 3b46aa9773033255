"""Content files load, validate, and refuse bad data with errors naming file, entry and field."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import pytest

from callister.agents import Goal
from callister.content import (
    MAX_WEAPON_SLOTS,
    NPC_GOALS,
    WEAPON_KINDS,
    ContentError,
    load_content,
)
from callister.content.loader import DATA_DIR
from callister.content.schema import Bad, outline, parser_of


def test_shipped_content_loads() -> None:
    content = load_content()
    assert content.starter_hull.key in content.hulls
    assert {"concord", "independent"} <= set(content.factions)
    assert all(o.weight > 0 for o in content.ores.values())
    assert load_content() is content  # cached: one Content per (data_dir, packs)


def test_shipped_weapons_and_loadouts() -> None:
    content = load_content()
    kinds = {w.kind for w in content.weapons.values()}
    assert kinds == set(WEAPON_KINDS)  # a laser, a cannon and a missile at least
    assert {"laser", "cannon", "missile"} <= set(content.weapons)
    for w in content.weapons.values():
        assert w.range > 0 and w.cooldown > 0 and 0 <= w.falloff <= 1 and 0 <= w.arc <= 180
        if w.kind != "hitscan":
            assert w.speed > 0
    for h in content.hulls.values():
        assert 0 < h.slots <= MAX_WEAPON_SLOTS and len(h.loadout) <= h.slots
        assert all(key in content.weapons for key in h.loadout)
        assert h.energy > 0 and h.fuel_burn > 0 and h.jump_fuel > 0 and h.repair_price > 0
    # the starter can both shoot a beam and fire shells (the first fights need both)
    starter = {content.weapons[k].kind for k in content.starter_hull.loadout}
    assert {"hitscan", "projectile"} <= starter


def test_every_shipped_hull_has_a_silhouette() -> None:
    for hull in load_content().hulls.values():
        assert 3 <= len(hull.silhouette) <= 32, hull.key
        assert all(x * x + y * y <= 1.0 for x, y in hull.silhouette)
        assert max(x for x, _ in hull.silhouette) > 0.8, "the nose points along +x"


def test_shipped_npc_roles_match_the_agents() -> None:
    content = load_content()
    assert list(content.npc_roles) == ["patrol", "trader", "pirate", "miner", "hauler"]
    assert set(NPC_GOALS) <= {g.value for g in Goal}, "every content goal is one clones pursue"
    for role in content.npc_roles.values():
        assert all(h in content.hulls for h in role.hulls)


def write_content(
    tmp_path: Path, hulls: str, weapons: str | None = None, npc_roles: str = ""
) -> Path:
    for name in ("factions", "commodities", "ores", "weapons"):
        (tmp_path / f"{name}.toml").write_text((DATA_DIR / f"{name}.toml").read_text())
    (tmp_path / "hulls.toml").write_text(hulls)
    (tmp_path / "npc_roles.toml").write_text(npc_roles)  # empty: a world without NPCs
    if weapons is not None:
        (tmp_path / "weapons.toml").write_text(weapons)
    return tmp_path


GOOD = """[s]\nname="S"\nthrust=1.0\nmax_speed=20.0\nturn_rate=3.0\nradius=4.0\nmass=5.0
hull=6.0\nshield=7.0\ncargo=8\nfuel=9.0\nprice=10\nstarter=true\n"""

ARMED = (
    GOOD
    + """slots=2\nloadout=["laser"]\nenergy=50.0\nenergy_regen=5.0
shield_regen=2.0\nfuel_burn=1.0\njump_fuel=5.0\nrepair_price=3\n"""
)

GUN = """[gun]\nname="Gun"\nkind="projectile"\ndamage=5.0\nrange=900.0\ncooldown=0.5
energy=0.0\nammo=10\nspeed=800.0\nturn_rate=0.0\narc=20.0\nfalloff=1.0\nprice=100
ammo_price=2\n"""


@pytest.mark.parametrize(
    ("hulls", "field", "reason"),
    [
        (GOOD.replace("thrust=1.0\n", ""), "thrust", "is missing"),
        (GOOD.replace("cargo=8", 'cargo="many"'), "cargo", 'whole number in 0..100000, got "many"'),
        (GOOD.replace("price=10", "price=-1"), "price", "got -1"),
        (GOOD.replace("cargo=8", "cargo=8.0"), "cargo", "whole number"),
        (GOOD.replace("thrust=1.0", 'thrust="fast"'), "thrust", 'number in 1..1000, got "fast"'),
        (GOOD.replace("radius=4.0", "radius=1e6"), "radius", "in 2..100"),
        (GOOD.replace("thrust=1.0", "thrust=inf"), "thrust", "got Infinity"),
        (GOOD + "colour=1\n", "colour", "unknown field"),
        (GOOD + "thrsut=1\n", "thrsut", "did you mean 'thrust'?"),
        (GOOD.replace("starter=true", "starter=1"), "starter", "must be true or false"),
        (GOOD.replace('name="S"', 'name="S\\tX"'), "name", "printable"),
        (GOOD.replace('name="S"', f'name="{"x" * 49}"'), "name", "at most 48 characters"),
        (ARMED.replace('loadout=["laser"]', 'loadout="laser"'), "loadout", "must be a list"),
        (ARMED.replace('loadout=["laser"]', "loadout=[1]"), "loadout", "must be a list of keys"),
        (
            ARMED.replace('loadout=["laser"]', 'loadout=["phaser"]'),
            "loadout",
            "unknown weapon 'phaser'",
        ),
        (
            ARMED.replace('loadout=["laser"]', 'loadout=["laser", "laser", "cannon"]'),
            "loadout",
            "the loadout has 3 weapons for 2 slots",
        ),
        (ARMED.replace("slots=2", "slots=5"), "slots", "in 0..4"),
        (ARMED.replace("energy=50.0", "energy=-1.0"), "energy", "got -1.0"),
        (ARMED.replace("repair_price=3", "repair_price=2.5"), "repair_price", "whole number"),
        (GOOD + "silhouette=[[0, 0], [1, 0]]\n", "silhouette", "3..32 [x, y] points"),
        (GOOD + "silhouette=[[0, 0], [2, 0], [0, 1]]\n", "silhouette", "outside the hull's radius"),
        (GOOD + "silhouette=[[0, 0], [0.5, 0], [1, 0]]\n", "silhouette", "encloses 0.000"),
        (GOOD + 'silhouette=[[0, 0], ["a", 0], [0, 1]]\n', "silhouette", "point 1 must be [x, y]"),
        (
            GOOD + "cruise_speed=1.5\n",
            "cruise_speed",
            "must be 0 (no cruise drive) or above max_speed",
        ),
        (GOOD + "cruise_speed=2500.0\n", "cruise_speed", "in 0..2000"),
        (GOOD + "cruise_fuel=-0.1\n", "cruise_fuel", "got -0.1"),
    ],
)
def test_bad_hulls_are_refused(tmp_path: Path, hulls: str, field: str, reason: str) -> None:
    with pytest.raises(ContentError) as caught:
        load_content(write_content(tmp_path, hulls))
    err = caught.value
    assert (err.pack, err.file, err.entry, err.field) == ("", "hulls.toml", "s", field)
    assert reason in err.reason
    assert str(err).startswith(f"hulls.toml [s] {field}: ")


@pytest.mark.parametrize(
    ("weapons", "field", "reason"),
    [
        (
            GUN.replace('kind="projectile"', 'kind="plasma"'),
            "kind",
            "one of hitscan, projectile, missile",
        ),
        (GUN.replace("range=900.0", "range=0.0"), "range", "in 10..20000"),
        (GUN.replace("cooldown=0.5", "cooldown=0"), "cooldown", "in 0.05..600"),
        (GUN.replace("falloff=1.0", "falloff=1.5"), "falloff", "in 0..1"),
        (GUN.replace("arc=20.0", "arc=200.0"), "arc", "in 0..180"),
        (GUN.replace("speed=800.0", "speed=0.0"), "speed", "more than 0 for a projectile"),
        (
            GUN.replace('kind="projectile"', 'kind="missile"'),
            "turn_rate",
            "more than 0 for a missile",
        ),
        (GUN.replace("ammo=10", "ammo=-3"), "ammo", "whole number in 0..10000"),
        (GUN.replace("damage=5.0", "damage=nan"), "damage", "got NaN"),
        (GUN.replace("damage=5.0", "damage=0"), "damage", "> 0"),
        (GUN.replace("price=100\n", ""), "price", "is missing"),
        (GUN + "colour=1\n", "colour", "unknown field"),
    ],
)
def test_bad_weapons_are_refused(tmp_path: Path, weapons: str, field: str, reason: str) -> None:
    with pytest.raises(ContentError) as caught:
        load_content(write_content(tmp_path, GOOD, weapons))
    err = caught.value
    assert (err.file, err.entry, err.field) == ("weapons.toml", "gun", field)
    assert reason in err.reason


@pytest.mark.parametrize(
    ("weapons", "reason"),
    [("", "no entries"), ("[gun\n", "not valid TOML"), ('gun = "laser"\n', "must be a table")],
)
def test_bad_weapon_files_are_refused(tmp_path: Path, weapons: str, reason: str) -> None:
    with pytest.raises(ContentError, match=r"^weapons\.toml") as caught:
        load_content(write_content(tmp_path, GOOD, weapons))
    assert reason in caught.value.reason


def test_bad_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ContentError) as caught:
        load_content(write_content(tmp_path, GOOD.replace("[s]", "[Big-Ship]")))
    assert caught.value.entry == "Big-Ship"
    assert "is not a content key" in caught.value.reason


def test_missing_file_is_named(tmp_path: Path) -> None:
    write_content(tmp_path, GOOD)
    (tmp_path / "weapons.toml").unlink()
    with pytest.raises(ContentError, match=r"^weapons\.toml: file missing"):
        load_content(tmp_path)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    bad = GOOD.replace("thrust=1.0", 'thrust="x"').replace("cargo=8", "cargo=-1") + "wat=1\n"
    with pytest.raises(ContentError) as caught:
        load_content(write_content(tmp_path, bad))
    assert [e.field for e in caught.value.errors] == ["thrust", "cargo", "wat"]
    assert caught.value.errors[0] is not None and caught.value.field == "thrust"
    # a field that was refused is not reported missing as well
    assert not any("is missing" in e.reason for e in caught.value.errors)


def test_exactly_one_starter(tmp_path: Path) -> None:
    (tmp_path / "two").mkdir()
    (tmp_path / "none").mkdir()
    two = GOOD + GOOD.replace("[s]", "[t]")
    with pytest.raises(ContentError) as caught:
        load_content(write_content(tmp_path / "two", two))
    assert (caught.value.entry, caught.value.field) == ("t", "starter")
    assert "exactly one" in caught.value.reason
    none = GOOD.replace("starter=true", "starter=false")
    with pytest.raises(ContentError, match="no hull is marked starter"):
        load_content(write_content(tmp_path / "none", none))


def test_npc_roles_refer_to_known_hulls(tmp_path: Path) -> None:
    role = '[p]\nname="P"\ngoal="patrol"\nhulls=["s", "barge"]\npopulation={ lawful = [1, 2] }\n'
    with pytest.raises(ContentError) as caught:
        load_content(write_content(tmp_path, GOOD, npc_roles=role))
    err = caught.value
    assert (err.file, err.entry, err.field) == ("npc_roles.toml", "p", "hulls")
    assert "unknown hull 'barge'" in err.reason


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        (
            ('goal="patrol"', 'goal="smuggler"'),
            "goal",
            "one of trader, hauler, miner, pirate, patrol",
        ),
        (("lawful = [1, 2]", "lawful = [2, 1]"), "population", "least <= most"),
        (("lawful = [1, 2]", "lawful = [0, 17]"), "population", "<= 16"),
        (("lawful = [1, 2]", "capital = [1, 2]"), "population", "unknown system kinds"),
        (('hulls=["s"]', "hulls=[]"), "hulls", "1..8 keys"),
        (('hulls=["s"]', 'hulls=["s", "s"]'), "hulls", "names a hull twice"),
    ],
)
def test_bad_npc_roles_are_refused(
    tmp_path: Path, change: tuple[str, str], field: str, reason: str
) -> None:
    role = '[p]\nname="P"\ngoal="patrol"\nhulls=["s"]\npopulation={ lawful = [1, 2] }\n'
    with pytest.raises(ContentError) as caught:
        load_content(write_content(tmp_path, GOOD, npc_roles=role.replace(*change)))
    assert (caught.value.entry, caught.value.field) == ("p", field)
    assert reason in caught.value.reason


def test_good_custom_content(tmp_path: Path) -> None:
    content = load_content(write_content(tmp_path, GOOD))
    assert content.starter_hull.cargo == 8 and content.starter_hull.thrust == 1.0
    # combat fields default to an unarmed hull that burns nothing; no silhouette, no NPCs
    hull = content.starter_hull
    assert (hull.slots, hull.loadout, hull.energy, hull.fuel_burn) == (0, (), 0.0, 0.0)
    assert hull.silhouette == () and content.npc_roles == {}
    assert isinstance(hull.thrust, float)  # thrust=1 would be coerced as well
    assert (hull.cruise_speed, hull.cruise_fuel) == (0.0, 0.0)  # no cruise drive


def test_custom_weapons_and_armed_hull(tmp_path: Path) -> None:
    content = load_content(
        write_content(tmp_path, ARMED.replace('["laser"]', '["gun", "gun"]'), GUN)
    )
    gun = content.weapons["gun"]
    assert (gun.kind, gun.ammo, gun.ammo_price, gun.range) == ("projectile", 10, 2, 900.0)
    hull = content.starter_hull
    assert hull.loadout == ("gun", "gun") and isinstance(hull.loadout, tuple)
    assert (hull.slots, hull.energy, hull.jump_fuel, hull.repair_price) == (2, 50.0, 5.0, 3)


def test_a_field_without_a_spec_keeps_the_old_rule() -> None:
    # A field added to an entry class without spec() (as another branch may add to Hull)
    # still loads: the right type, finite, not negative.
    @dataclass(frozen=True)
    class Probe:
        key: str
        cruise_speed: float = 0.0
        hops: int = 0

    speed, hops = (parser_of(f) for f in fields(Probe) if f.name != "key")
    assert speed(2) == 2.0 and isinstance(speed(2), float)
    assert hops(3) == 3
    for parse, value, reason in (
        (speed, "fast", "must be float"),
        (speed, float("inf"), "must be finite"),
        (hops, -1, "must not be negative"),
        (hops, True, "must be int"),
    ):
        with pytest.raises(Bad, match=reason):
            parse(value)


def test_silhouette_orientation_does_not_matter() -> None:
    square = [[0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]]
    assert outline(square) == outline(square)  # counter-clockwise
    assert len(outline(square[::-1])) == 4  # clockwise is as good
