"""Content files load, validate, and refuse bad data with a message naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from callister.content import load_content
from callister.content.loader import DATA_DIR, ContentError
from callister.content.loader import load_content as load_uncached


def test_shipped_content_loads() -> None:
    content = load_content()
    assert content.starter_hull.key in content.hulls
    assert {"concord", "independent"} <= set(content.factions)
    assert all(o.weight > 0 for o in content.ores.values())


def write_content(tmp_path: Path, hulls: str) -> Path:
    source = DATA_DIR
    for name in ("factions", "commodities", "ores"):
        (tmp_path / f"{name}.toml").write_text((source / f"{name}.toml").read_text())
    (tmp_path / "hulls.toml").write_text(hulls)
    return tmp_path


GOOD = """[s]\nname="S"\nthrust=1.0\nmax_speed=2.0\nturn_rate=3.0\nradius=4.0\nmass=5.0
hull=6.0\nshield=7.0\ncargo=8\nfuel=9.0\nprice=10\nstarter=true\n"""


@pytest.mark.parametrize(
    ("hulls", "message"),
    [
        (GOOD.replace("thrust=1.0\n", ""), "lacks field 'thrust'"),
        (GOOD.replace("cargo=8", 'cargo="many"'), "cargo must be int"),
        (GOOD.replace("price=10", "price=-1"), "must not be negative"),
        (GOOD + "colour=1\n", "unknown fields"),
        (GOOD.replace("starter=true", "starter=1"), "starter must be bool"),
        ("", "no entries"),
    ],
)
def test_bad_content_is_refused(tmp_path: Path, hulls: str, message: str) -> None:
    with pytest.raises(ContentError, match=message):
        load_uncached(write_content(tmp_path, hulls))


def test_good_custom_content(tmp_path: Path) -> None:
    content = load_uncached(write_content(tmp_path, GOOD))
    assert content.starter_hull.cargo == 8 and content.starter_hull.thrust == 1.0
