"""Content files load, validate, and refuse bad data with a message naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from callister.content import MAX_WEAPON_SLOTS, WEAPON_KINDS, load_content
from callister.content.loader import DATA_DIR, ContentError
from callister.content.loader import load_content as load_uncached


def test_shipped_content_loads() -> None:
    content = load_content()
    assert content.starter_hull.key in content.hulls
    assert {"concord", "independent"} <= set(content.factions)
    assert all(o.weight > 0 for o in content.ores.values())


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


def write_content(tmp_path: Path, hulls: str, weapons: str | None = None) -> Path:
    source = DATA_DIR
    for name in ("factions", "commodities", "ores", "weapons"):
        (tmp_path / f"{name}.toml").write_text((source / f"{name}.toml").read_text())
    (tmp_path / "hulls.toml").write_text(hulls)
    if weapons is not None:
        (tmp_path / "weapons.toml").write_text(weapons)
    return tmp_path


GOOD = """[s]\nname="S"\nthrust=1.0\nmax_speed=2.0\nturn_rate=3.0\nradius=4.0\nmass=5.0
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
    ("hulls", "message"),
    [
        (GOOD.replace("thrust=1.0\n", ""), "lacks field 'thrust'"),
        (GOOD.replace("cargo=8", 'cargo="many"'), "cargo must be int"),
        (GOOD.replace("price=10", "price=-1"), "must not be negative"),
        (GOOD + "colour=1\n", "unknown fields"),
        (GOOD.replace("starter=true", "starter=1"), "starter must be bool"),
        ("", "no entries"),
        (ARMED.replace('loadout=["laser"]', 'loadout="laser"'), r"\[s\]\.loadout must be a list"),
        (ARMED.replace('loadout=["laser"]', "loadout=[1]"), r"loadout must be a list of strings"),
        (ARMED.replace('loadout=["laser"]', 'loadout=["phaser"]'), "unknown weapon 'phaser'"),
        (
            ARMED.replace('loadout=["laser"]', 'loadout=["laser", "laser", "cannon"]'),
            r"hulls.toml: \[s\]\.loadout has 3 weapons for 2 slots",
        ),
        (ARMED.replace("slots=2", "slots=5"), r"hulls.toml: \[s\]\.slots must be at most 4"),
        (ARMED.replace("energy=50.0", "energy=-1.0"), r"\[s\]\.energy must not be negative"),
        (ARMED.replace("repair_price=3", "repair_price=2.5"), "repair_price must be int"),
        (GOOD + "cruise_speed=1.5\n", r"\[s\]\.cruise_speed must be 0 .* above max_speed"),
        (GOOD + "cruise_speed=2500.0\n", r"cruise_speed .* at most 2000 m/s"),
        (GOOD + "cruise_fuel=-0.1\n", r"\[s\]\.cruise_fuel must not be negative"),
    ],
)
def test_bad_content_is_refused(tmp_path: Path, hulls: str, message: str) -> None:
    with pytest.raises(ContentError, match=message):
        load_uncached(write_content(tmp_path, hulls))


@pytest.mark.parametrize(
    ("weapons", "message"),
    [
        (GUN.replace('kind="projectile"', 'kind="plasma"'), r"weapons.toml: \[gun\]\.kind"),
        (GUN.replace("range=900.0", "range=0.0"), r"\[gun\]\.range must be positive"),
        (GUN.replace("cooldown=0.5", "cooldown=0"), r"\[gun\]\.cooldown must be positive"),
        (GUN.replace("falloff=1.0", "falloff=1.5"), r"\[gun\]\.falloff must be within 0..1"),
        (GUN.replace("arc=20.0", "arc=200.0"), r"\[gun\]\.arc must be within 0..180"),
        (GUN.replace("speed=800.0", "speed=0.0"), r"\[gun\]\.speed must be positive"),
        (
            GUN.replace('kind="projectile"', 'kind="missile"'),
            r"\[gun\]\.turn_rate must be positive",
        ),
        (GUN.replace("ammo=10", "ammo=-3"), r"\[gun\]\.ammo must not be negative"),
        (GUN.replace("damage=5.0", "damage=nan"), r"\[gun\]\.damage must be finite"),
        (GUN.replace("price=100\n", ""), "lacks field 'price'"),
        (GUN + "colour=1\n", "unknown fields"),
        ("", "weapons.toml: no entries"),
        ("[gun\n", "weapons.toml: not valid TOML"),
    ],
)
def test_bad_weapons_are_refused(tmp_path: Path, weapons: str, message: str) -> None:
    with pytest.raises(ContentError, match=message):
        load_uncached(write_content(tmp_path, GOOD, weapons))


def test_missing_weapons_file_is_named(tmp_path: Path) -> None:
    write_content(tmp_path, GOOD)
    (tmp_path / "weapons.toml").unlink()
    with pytest.raises(ContentError, match=r"weapons\.toml: file missing"):
        load_uncached(tmp_path)


def test_good_custom_content(tmp_path: Path) -> None:
    content = load_uncached(write_content(tmp_path, GOOD))
    assert content.starter_hull.cargo == 8 and content.starter_hull.thrust == 1.0
    # combat fields default to an unarmed hull that burns nothing
    hull = content.starter_hull
    assert (hull.slots, hull.loadout, hull.energy, hull.fuel_burn) == (0, (), 0.0, 0.0)
    assert (hull.cruise_speed, hull.cruise_fuel) == (0.0, 0.0)  # no cruise drive


def test_custom_weapons_and_armed_hull(tmp_path: Path) -> None:
    content = load_uncached(
        write_content(tmp_path, ARMED.replace('["laser"]', '["gun", "gun"]'), GUN)
    )
    gun = content.weapons["gun"]
    assert (gun.kind, gun.ammo, gun.ammo_price, gun.range) == ("projectile", 10, 2, 900.0)
    hull = content.starter_hull
    assert hull.loadout == ("gun", "gun") and isinstance(hull.loadout, tuple)
    assert (hull.slots, hull.energy, hull.jump_fuel, hull.repair_price) == (2, 50.0, 5.0, 3)
