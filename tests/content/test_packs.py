"""Content packs: override, add and remove over the base; malformed packs are refused with
the pack, file, entry and field; limits; canonical form, digest and the stored form."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.examples import FRONTIER_PACK

from callister.content import (
    MAX_PACK_BYTES,
    MAX_PACK_ENTRIES,
    ContentError,
    ContentPack,
    load_content,
)

MANIFEST = '[pack]\nname = "test"\nversion = "0.1.0"\n'

CORSAIR = """[corsair]
name = "Corsair"
thrust = 75.0
max_speed = 300.0
turn_rate = 170.0
radius = 16.0
mass = 45.0
hull = 220.0
shield = 140.0
cargo = 40
fuel = 140.0
price = 90000
slots = 1
loadout = ["laser"]
"""


def pack(**files: str) -> ContentPack:
    """A pack from keyword files: hulls="..." is hulls.toml; the manifest is MANIFEST
    unless pack=... is given."""
    named = {f"{k}.toml": v for k, v in files.items()}
    named.setdefault("pack.toml", MANIFEST)
    return ContentPack.from_files(named)


def refused(*packs: ContentPack) -> ContentError:
    with pytest.raises(ContentError) as caught:
        load_content(packs=packs)
    return caught.value


def where(err: ContentError) -> tuple[str, str, str, str]:
    return (err.pack, err.file, err.entry, err.field)


def test_the_worked_example_pack() -> None:
    frontier = ContentPack.from_dir(FRONTIER_PACK)
    assert (frontier.name, frontier.version) == ("frontier", "1.0.0")
    base = load_content()
    content = load_content(packs=[frontier])
    # new entries follow the base ones (the simulation numbers hulls in this order)
    assert list(content.hulls) == [*base.hulls, "corsair"]
    corsair = content.hulls["corsair"]
    assert corsair.loadout == ("flak", "heavy_laser", "missile") and len(corsair.silhouette) == 10
    assert content.weapons["flak"].kind == "projectile"
    assert content.commodities["contraband"].base_price == 900
    assert content.npc_roles["smuggler"].hulls == ("corsair", "hauler")
    # the override changed two fields of the hauler and kept the rest
    hauler, old = content.hulls["hauler"], base.hulls["hauler"]
    assert (hauler.cargo, hauler.price) == (240, 65000)
    assert (hauler.thrust, hauler.loadout, hauler.silhouette) == (
        old.thrust,
        old.loadout,
        old.silhouette,
    )
    # the base content is untouched, and the packs are recorded
    assert base.hulls["hauler"].cargo == 200 and "corsair" not in base.hulls
    assert content.packs == (frontier,) and base.packs == ()
    assert content.digest() != base.digest()
    assert [p["name"] for p in content.to_dict()["packs"]] == ["frontier"]


def test_packs_apply_in_order() -> None:
    first = pack(hulls="[hauler]\ncargo = 300\nprice = 1\n")
    second = ContentPack.from_files(
        {"pack.toml": MANIFEST.replace("test", "second"), "hulls.toml": "[hauler]\ncargo = 400\n"}
    )
    content = load_content(packs=[first, second])
    assert (content.hulls["hauler"].cargo, content.hulls["hauler"].price) == (400, 1)
    err = refused(first, pack(hulls="[hauler]\ncargo = 5\n"))
    assert where(err) == ("test", "pack.toml", "pack", "name") and "distinct names" in err.reason


def test_a_pack_removes_entries() -> None:
    manifest = MANIFEST + '[remove]\nhulls = ["interceptor"]\nweapons = ["heavy_laser"]\n'
    # the base patrols and pirates fly interceptors: the pack gives them another hull
    roles = "[patrol]\nhulls = ['shuttle']\n[pirate]\nhulls = ['shuttle']\n"
    content = load_content(packs=[pack(pack=manifest, npc_roles=roles)])
    assert content.npc_roles["pirate"].hulls == ("shuttle",)
    assert "interceptor" not in content.hulls and "heavy_laser" not in content.weapons
    # a ship whose hull the world does not have flies the starter there
    assert content.arriving_hull("interceptor") is content.starter_hull
    assert content.arriving_hull("hauler") is content.hulls["hauler"]


@pytest.mark.parametrize(
    ("files", "location", "reason"),
    [
        # the brief's example: a typed field with a bad value
        (
            {"hulls": CORSAIR.replace("thrust = 75.0", 'thrust = "fast"')},
            ("test", "hulls.toml", "corsair", "thrust"),
            'must be a number in 1..1000, got "fast"',
        ),
        (
            {"hulls": CORSAIR.replace("thrust", "thrsut")},
            ("test", "hulls.toml", "corsair", "thrsut"),
            "unknown field; did you mean 'thrust'?",
        ),
        (
            {"hulls": CORSAIR.replace("fuel = 140.0\n", "")},
            ("test", "hulls.toml", "corsair", "fuel"),
            "is missing",
        ),
        (
            {"hulls": CORSAIR.replace('["laser"]', '["phaser"]')},
            ("test", "hulls.toml", "corsair", "loadout"),
            "names unknown weapon 'phaser'",
        ),
        (
            {"hulls": CORSAIR + "silhouette = [[1.0, 0.0], [0.0, 1.5], [-1.0, 0.0]]\n"},
            ("test", "hulls.toml", "corsair", "silhouette"),
            "point 1 [0.0, 1.5] lies outside the hull's radius",
        ),
        (
            {"hulls": CORSAIR + "starter = true\n"},
            ("test", "hulls.toml", "corsair", "starter"),
            "'shuttle' is the starter hull already",
        ),
        (
            {"hulls": "[hauler]\nthrust = -5.0\n"},  # an override is checked like a new entry
            ("test", "hulls.toml", "hauler", "thrust"),
            "must be a number in 1..1000, got -5.0",
        ),
        (
            {"hulls": "[hauler]\nslots = 0\n"},  # the base loadout no longer fits
            ("test", "hulls.toml", "hauler", "slots"),
            "the loadout has 1 weapons for 0 slots",
        ),
        (
            {"hulls": "[Corsair]\nname = 'x'\n"},
            ("test", "hulls.toml", "Corsair", ""),
            "is not a content key",
        ),
        (
            {"weapons": "[flak]\nname = 'Flak'\nkind = 'flak'\n"},
            ("test", "weapons.toml", "flak", "kind"),
            "must be one of hitscan, projectile, missile",
        ),
        (
            {"npc_roles": "[smuggler]\nname = 'S'\ngoal = 'trader'\nhulls = ['corsair']\n"
                          "population = { lawless = [1, 2] }\n"},
            ("test", "npc_roles.toml", "smuggler", "hulls"),
            "names unknown hull 'corsair'",
        ),
        (
            {"commodities": "[spice]\nname = 'Spice'\nbase_price = 0\nvolume = 1\n"},
            ("test", "commodities.toml", "spice", "base_price"),
            "whole number in 1..10000000, got 0",
        ),
        (
            {"factions": "[concord]\ncolor = 'blue'\n"},
            ("test", "factions.toml", "concord", "color"),
            'must be a colour "#rrggbb"',
        ),
        (
            {"ores": "[iron]\nweight = 1e400\n"},
            ("test", "ores.toml", "iron", "weight"),
            "whole number",
        ),
        (
            {"hulls": "[corsair\n"},
            ("test", "hulls.toml", "", ""),
            "not valid TOML",
        ),
        (
            {"pack": MANIFEST + '[remove]\nfactions = ["ashen"]\n'},
            ("test", "pack.toml", "remove", "factions"),
            "factions cannot be removed (the generated map places their stations)",
        ),
        (
            {"pack": MANIFEST + '[remove]\nhulls = ["galleon"]\n'},
            ("test", "pack.toml", "remove", "hulls"),
            "removes 'galleon', which the content under this pack does not have",
        ),
        (
            # the base trader role flies haulers: removing them breaks it
            {"pack": MANIFEST + '[remove]\nhulls = ["hauler"]\n'},
            ("", "npc_roles.toml", "trader", "hulls"),
            "names unknown hull 'hauler'; which pack test removes",
        ),
        (
            {"pack": MANIFEST + '[remove]\nhulls = ["hauler"]\n', "hulls": "[hauler]\ncargo = 1\n"},
            ("test", "hulls.toml", "hauler", ""),
            "is both removed",
        ),
    ],
)  # fmt: skip
def test_malformed_packs_are_refused(
    files: dict[str, str], location: tuple[str, str, str, str], reason: str
) -> None:
    err = refused(pack(**files))
    assert where(err) == location, str(err)
    assert reason in err.reason
    prefix = f"pack {location[0]}: " if location[0] else ""
    assert str(err).startswith(prefix + location[1])


@pytest.mark.parametrize(
    ("manifest", "field", "reason"),
    [
        (MANIFEST.replace('"test"', '"Test Pack"'), "name", "2-32 of a-z 0-9 _ -"),
        (MANIFEST.replace('"0.1.0"', '"1.0"'), "version", 'MAJOR.MINOR.PATCH'),
        (MANIFEST.replace('"0.1.0"', "1"), "version", 'MAJOR.MINOR.PATCH'),
        (MANIFEST + "format = 2\n", "format", "this server reads pack format 1, got 2"),
        (MANIFEST + "author = 'me'\n", "author", "unknown field"),
        (MANIFEST + f"description = '{'x' * 1001}'\n", "description", "at most 1000"),
    ],
)  # fmt: skip
def test_bad_manifests_are_refused(manifest: str, field: str, reason: str) -> None:
    with pytest.raises(ContentError) as caught:
        pack(pack=manifest)
    assert (caught.value.file, caught.value.entry, caught.value.field) == (
        "pack.toml",
        "pack",
        field,
    )
    assert reason in caught.value.reason


def test_pack_structure_is_checked() -> None:
    with pytest.raises(ContentError, match="a pack needs a manifest"):
        ContentPack.from_files({"hulls.toml": CORSAIR})
    with pytest.raises(ContentError) as caught:
        ContentPack.from_files({"pack.toml": MANIFEST, "hull.toml": CORSAIR})
    assert caught.value.file == "hull.toml" and "did you mean hulls.toml?" in caught.value.reason
    with pytest.raises(ContentError, match=r"needs a \[pack\] table"):
        ContentPack.from_files({"pack.toml": "[remove]\n"})
    with pytest.raises(ContentError, match=r"^pack\.toml: not valid TOML"):
        ContentPack.from_files({"pack.toml": "[pack\n"})
    with pytest.raises(ContentError) as caught:
        ContentPack.from_files({"pack.toml": MANIFEST + "[hulls.corsair]\nname = 'x'\n"})
    assert caught.value.entry == "hulls" and caught.value.reason.startswith("unknown table")


def test_size_limits() -> None:
    padding = "# " + "x" * 1000 + "\n"
    big = CORSAIR + padding * (MAX_PACK_BYTES // len(padding) + 1)
    with pytest.raises(ContentError, match=f"at most {MAX_PACK_BYTES} allowed"):
        pack(hulls=big)
    many = "".join(
        f"[c{i}]\nname = 'C{i}'\nbase_price = 1\nvolume = 1\n" for i in range(MAX_PACK_ENTRIES + 1)
    )
    err = refused(pack(commodities=many))
    assert err.file == "commodities.toml"
    assert f"holds {MAX_PACK_ENTRIES + 1} entries" in err.reason
    # within a pack's limits, but past what the simulation's columns hold once merged
    roles = "".join(
        f"[r{i}]\nname = 'R'\ngoal = 'miner'\nhulls = ['shuttle']\npopulation = {{}}\n"
        for i in range(12)
    )
    err = refused(pack(npc_roles=roles))
    assert (err.file, err.reason) == (
        "npc_roles.toml",
        "the content would hold 17 npc_roles; at most 16",
    )


def test_every_problem_of_a_pack_is_reported() -> None:
    bad_hull = CORSAIR.replace("thrust = 75.0", 'thrust = "fast"').replace('"laser"', '"lazer"')
    bad_role = "[s]\nname = 'S'\ngoal = 'smuggle'\nhulls = ['corsair']\npopulation = {}\n"
    err = refused(pack(hulls=bad_hull, npc_roles=bad_role))
    assert [where(e)[1:] for e in err.errors] == [
        ("hulls.toml", "corsair", "thrust"),
        ("npc_roles.toml", "s", "goal"),
        ("hulls.toml", "corsair", "loadout"),
    ]
    # the role's hull exists (the corsair), even though the corsair itself is refused


def test_from_dir_reads_toml_files_only(tmp_path: Path) -> None:
    (tmp_path / "pack.toml").write_text(MANIFEST)
    (tmp_path / "hulls.toml").write_text(CORSAIR)
    (tmp_path / "README.md").write_text("notes for the operator")
    p = ContentPack.from_dir(tmp_path)
    assert [name for name, _ in p.files] == ["hulls.toml", "pack.toml"]
    assert ContentPack.from_path(tmp_path / "pack.toml") == p
    (tmp_path / "weapons.toml").write_bytes(b"[x]\nname = '\xff'\n")
    with pytest.raises(ContentError) as caught:
        ContentPack.from_dir(tmp_path)
    assert caught.value.file == "weapons.toml" and "not UTF-8" in caught.value.reason
    with pytest.raises(ContentError, match="does not exist"):
        ContentPack.from_path(tmp_path / "nowhere")
    with pytest.raises(ContentError, match="is not a directory"):
        ContentPack.from_dir(tmp_path / "README.md")


def test_canonical_form_and_digest() -> None:
    a = pack(hulls=CORSAIR)
    # comments, spacing, key order within an entry and 75 vs 75.0 do not change the meaning
    reworded = (
        CORSAIR.replace("thrust = 75.0", "# fast\nthrust=75")
        .replace('name = "Corsair"\n', "")
        .replace("[corsair]\n", '[corsair]\nname = "Corsair"  # the name\n')
    )
    b = pack(hulls=reworded)
    assert a.files != b.files and a == a and a != b
    assert a.canonical() == b.canonical() and a.digest == b.digest
    assert len(a.digest) == 64 and json.loads(a.canonical())["tables"]["hulls"][0][0] == "corsair"
    # any change of value, of name or version, or of entry order is a different pack
    assert pack(hulls=CORSAIR.replace("75.0", "76.0")).digest != a.digest
    assert (
        ContentPack.from_files(
            {"pack.toml": MANIFEST.replace("0.1.0", "0.2.0"), "hulls.toml": CORSAIR}
        ).digest
        != a.digest
    )
    entry = "[{0}]\nname = '{0}'\nbase_price = 1\nvolume = 1\n"
    a_b, b_a = entry.format("a") + entry.format("b"), entry.format("b") + entry.format("a")
    assert pack(commodities=a_b).digest != pack(commodities=b_a).digest


def test_stored_form_round_trips() -> None:
    frontier = ContentPack.from_dir(FRONTIER_PACK)
    stored = json.loads(json.dumps(frontier.to_json()))
    assert stored["name"] == "frontier" and stored["digest"] == frontier.digest
    again = ContentPack.from_json(stored)
    assert again == frontier and again.files == frontier.files  # comments kept verbatim
    stored["files"]["hulls.toml"] = stored["files"]["hulls.toml"].replace("240", "241")
    with pytest.raises(ContentError, match="does not match the files"):
        ContentPack.from_json(stored)
    for bad in (None, [], {"files": []}, {"files": {"pack.toml": 1}}):
        with pytest.raises(ContentError, match="stored pack"):
            ContentPack.from_json(bad)


def test_stored_form_is_read_from_a_file(tmp_path: Path) -> None:
    frontier = ContentPack.from_dir(FRONTIER_PACK)
    (tmp_path / "frontier.json").write_text(json.dumps(frontier.to_json()))
    assert ContentPack.from_path(tmp_path / "frontier.json") == frontier
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ContentError, match="not JSON"):
        ContentPack.from_path(tmp_path / "bad.json")


def test_packs_are_data_only() -> None:
    # TOML is parsed, never evaluated: code in a pack is just text in a string field
    sneaky = CORSAIR.replace('name = "Corsair"', "name = \"__import__('os').system('x')\"")
    content = load_content(packs=[pack(hulls=sneaky)])
    assert content.hulls["corsair"].name.startswith("__import__")


@pytest.mark.parametrize("nest", ["[" * 2000 + "]" * 2000, "{a=" * 2000 + "1" + "}" * 2000])
def test_deep_nesting_is_refused_not_a_crash(nest: str, tmp_path: Path) -> None:
    # tomllib and json recurse per level: without a guard this is a RecursionError
    with pytest.raises(ContentError) as caught:
        load_content(packs=[pack(hulls=f"[corsair]\nsilhouette = {nest}\n")])
    assert caught.value.file == "hulls.toml" and "nested too deeply" in caught.value.reason
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ContentError, match="nested too deeply"):
        ContentPack.from_path(tmp_path / "deep.json")


@pytest.mark.parametrize(
    ("files", "entry", "field"),
    [
        ({"hulls": '["corsair\\n"]\nprice = 1\n'}, "corsair\n", ""),
        ({"hulls": CORSAIR.replace('["laser"]', '["laser\\n"]')}, "corsair", "loadout"),
        ({"factions": '[concord]\ncolor = "#5fa8ff\\n"\n'}, "concord", "color"),
    ],
)
def test_a_trailing_newline_is_not_a_key(files: dict[str, str], entry: str, field: str) -> None:
    # a regular expression's $ also matches before a final newline; keys must not
    err = refused(pack(**files))
    assert (err.entry, err.field) == (entry, field)


@pytest.mark.parametrize("field", ["name", "version"])
def test_a_trailing_newline_is_not_a_pack_name_or_version(field: str) -> None:
    manifest = MANIFEST.replace('"test"', '"test\\n"' if field == "name" else '"test"')
    manifest = manifest.replace('"0.1.0"', '"0.1.0\\n"' if field == "version" else '"0.1.0"')
    with pytest.raises(ContentError) as caught:
        pack(pack=manifest)
    assert caught.value.field == field


def test_too_many_files_are_refused() -> None:
    files = {f"x{i}.toml": "" for i in range(1000)} | {"pack.toml": MANIFEST}
    with pytest.raises(ContentError, match="a pack holds at most 7 files"):
        ContentPack.from_files(files)
