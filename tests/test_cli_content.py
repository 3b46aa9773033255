"""`callister admin world content validate` and `universe ... --params`: no server, no
database; and docs/worlds.md shows the example pack and the command's output as they are."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.command_line import run_callister
from tests.examples import FRONTIER_PACK

ROOT = Path(__file__).parents[1]
DOC = ROOT / "docs" / "worlds.md"


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return run_callister(*args, cwd=cwd)


def broken(tmp_path: Path) -> Path:
    """The example pack with the two mistakes docs/worlds.md describes."""
    pack = tmp_path / "frontier-broken"
    shutil.copytree(FRONTIER_PACK, pack)
    hulls = pack / "hulls.toml"
    text = hulls.read_text().replace("thrust = 75.0", 'thrust = "fast"')
    hulls.write_text(text.replace('loadout = ["flak"', 'loadout = ["flack"'))
    return pack


def console(command: str) -> str:
    """The output docs/worlds.md shows under `$ <command>` in a console block."""
    m = re.search(rf"```console\n\$ {re.escape(command)}\n(.*?)```", DOC.read_text(), re.S)
    assert m, f"docs/worlds.md shows no `$ {command}`"
    return m.group(1)


@pytest.mark.parametrize(
    "cmd", [["admin", "world", "content"], ["admin", "world", "content", "validate"]]
)
def test_help(cmd: list[str]) -> None:
    out = cli(*cmd, "--help")
    assert out.returncode == 0 and "usage:" in out.stdout


def test_validate_the_example_as_the_doc_shows() -> None:
    out = cli("admin", "world", "content", "validate", "docs/examples/frontier")
    assert out.returncode == 0, out.stderr
    assert out.stdout == console("callister admin world content validate docs/examples/frontier")


def test_a_malformed_pack_as_the_doc_shows(tmp_path: Path) -> None:
    broken(tmp_path)
    out = cli("admin", "world", "content", "validate", "frontier-broken", cwd=tmp_path)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr == console("callister admin world content validate frontier-broken")


def test_the_doc_shows_every_example_file() -> None:
    doc = DOC.read_text()
    for path in sorted(FRONTIER_PACK.glob("*.toml")):
        assert f"`{path.name}`:\n\n```toml\n{path.read_text()}```" in doc, path.name


def test_validate_json(tmp_path: Path) -> None:
    out = cli("admin", "world", "content", "validate", str(FRONTIER_PACK), "--json")
    data = json.loads(out.stdout)
    assert out.returncode == 0 and data["valid"] is True
    [pack] = data["packs"]
    assert (pack["name"], pack["version"], len(pack["digest"])) == ("frontier", "1.0.0", 64)
    assert pack["changes"]["hulls"] == {
        "added": ["corsair"],
        "changed": {"hauler": ["cargo", "price"]},
        "removed": [],
    }
    assert len(data["content_digest"]) == 64
    out = cli("admin", "world", "content", "validate", str(broken(tmp_path)), "--json")
    data = json.loads(out.stdout)
    assert out.returncode == 1 and data["valid"] is False
    assert [(e["file"], e["entry"], e["field"]) for e in data["errors"]] == [
        ("hulls.toml", "corsair", "thrust"),
        ("hulls.toml", "corsair", "loadout"),
    ]


def test_validate_stacked_packs_and_stored_form(tmp_path: Path) -> None:
    second = tmp_path / "second"
    second.mkdir()
    (second / "pack.toml").write_text('[pack]\nname = "second"\nversion = "2.0.0"\n')
    (second / "hulls.toml").write_text("[corsair]\nprice = 1\n")  # the first pack's hull
    out = cli("admin", "world", "content", "validate", str(FRONTIER_PACK), str(second))
    assert out.returncode == 0, out.stderr
    assert "second 2.0.0: valid" in out.stdout and "hulls: changes corsair (price)" in out.stdout
    # alone, the second pack changes a hull that does not exist: a new entry, incomplete
    out = cli("admin", "world", "content", "validate", str(second))
    assert (
        out.returncode == 1 and "pack second: hulls.toml [corsair] name: is missing" in out.stderr
    )
    stored = tmp_path / "frontier.json"
    dump = "from callister.content import ContentPack; import json, sys; "
    dump += f"print(json.dumps(ContentPack.from_dir({str(FRONTIER_PACK)!r}).to_json()))"
    stored.write_text(
        subprocess.run(
            [sys.executable, "-c", dump], capture_output=True, text=True, check=True
        ).stdout
    )
    out = cli("admin", "world", "content", "validate", str(stored))
    assert out.returncode == 0 and "frontier 1.0.0: valid" in out.stdout


def test_validate_names_a_bad_path(tmp_path: Path) -> None:
    out = cli("admin", "world", "content", "validate", str(tmp_path / "nowhere"))
    assert out.returncode == 1 and "does not exist" in out.stderr
    (tmp_path / "hull.toml").write_text("")
    (tmp_path / "pack.toml").write_text('[pack]\nname = "x1"\nversion = "1.0.0"\n')
    out = cli("admin", "world", "content", "validate", str(tmp_path))
    assert out.returncode == 1
    assert "hull.toml: is not a pack file (did you mean hulls.toml?)" in out.stderr


def test_universe_with_params(tmp_path: Path) -> None:
    params = tmp_path / "params.toml"
    params.write_text(
        'density = 60\n[[regions]]\nname = "Core"\nrect = [-8, -8, 7, 7]\nfaction = "ashen"\n'
    )
    out = cli(
        "universe",
        "map",
        "--seed",
        "1",
        "--around",
        "0,0",
        "--radius",
        "3",
        "--json",
        "--params",
        str(params),
    )
    systems = json.loads(out.stdout)
    assert out.returncode == 0 and systems and all(s["region"] == "Core" for s in systems)
    x, y = systems[0]["x"], systems[0]["y"]
    shown = json.loads(
        cli(
            "universe", "show", "--seed", "1", f"--at={x},{y}", "--json", "--params", str(params)
        ).stdout
    )
    assert (shown["region"], shown["faction"]) == ("Core", "ashen")
    as_json = tmp_path / "params.json"
    as_json.write_text(json.dumps({"density": 250}))
    out = cli("universe", "map", "--around", "0,0", "--params", str(as_json))
    assert out.returncode == 2
    assert out.stderr.strip() == "callister: density: must be a whole number in 50..200, got 250"
