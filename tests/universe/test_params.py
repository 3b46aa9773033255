"""Generator parameters: defaults reproduce the original generator byte for byte; other params
are deterministic across processes, validated within safe ranges, change the map, and named
regions apply where they say."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest

from callister.universe import (
    DEFAULT_PARAMS,
    GENERATOR_VERSION,
    GeneratorParams,
    GeneratorParamsError,
    Region,
    generate_system,
    has_system,
    jump_bearing,
    neighbourhood,
    region_faction,
    system_json,
)
from callister.universe.params import MAX_REGIONS, RANGES

DIGEST_SCRIPT = r"""
import hashlib, json, sys
from callister.universe import GeneratorParams, generate_system, system_json

def digest(params, half=30):
    h = hashlib.sha256()
    for seed in (1, 0xC0FFEE):
        for ax, ay in ((0, 0), (-5_000_003, 77_777_777_777)):
            for y in range(ay - half, ay + half):
                for x in range(ax - half, ax + half):
                    s = generate_system(seed, x, y, params)
                    h.update(b"-" if s is None else system_json(s))
    return h.hexdigest()

if __name__ == "__main__":
    print(digest(GeneratorParams.from_dict(json.loads(sys.argv[1])), int(sys.argv[2])))
"""

# sha256 of DIGEST_SCRIPT's walk over 4 x 3600 sectors (3693 systems) with the generator as
# it was before parameters existed (recorded from commit cd57ea1): default parameters must
# keep every world's map byte-identical.
ORIGINAL_DIGEST = "a585778484e45080c6e688405cc62f89c5180e72131d8024cfe89f6e5fa99a30"

REGIONAL: dict[str, Any] = {
    "density": 60,
    "station_fraction": 60,
    "field_richness": 180,
    "max_link_length": 4200,
    "regions": [
        {"name": "The Shallows", "rect": [-12, -12, 11, 11], "density": 200, "faction": "concord"},
        {"name": "Ashfall", "circle": [-5_000_003, 77_777_777_777, 20], "station_fraction": 15},
    ],
}


def _digest(params: GeneratorParams, half: int = 30) -> str:
    namespace: dict[str, Any] = {"__name__": "digest"}
    exec(DIGEST_SCRIPT, namespace)
    return str(namespace["digest"](params, half))


def _digest_in_subprocess(params: dict[str, Any], half: int, hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    out = subprocess.run(
        [sys.executable, "-c", DIGEST_SCRIPT, json.dumps(params), str(half)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return out.stdout.strip()


def test_default_params_reproduce_the_original_generator() -> None:
    assert _digest(DEFAULT_PARAMS) == ORIGINAL_DIGEST
    # an equal but distinct object, and the parsed empty document, are the same params
    assert _digest(GeneratorParams.from_dict({"density": 100})) == ORIGINAL_DIGEST
    assert GeneratorParams() == DEFAULT_PARAMS and GeneratorParams.from_toml("").is_default


def test_other_params_are_deterministic_across_processes() -> None:
    params = GeneratorParams.from_dict(REGIONAL)
    here = _digest(params, half=12)
    assert here != _digest(DEFAULT_PARAMS, half=12)
    # other processes, with differently salted str/bytes hashes, generate the same bytes
    for hash_seed in ("1", "4242"):
        assert _digest_in_subprocess(REGIONAL, 12, hash_seed) == here


def _window(params: GeneratorParams, seed: int = 9, half: int = 40) -> list[Any]:
    out = []
    for y in range(-half, half):
        for x in range(-half, half):
            system = generate_system(seed, x, y, params)
            if system is not None:
                out.append(system)
    return out


def test_density_changes_how_many_systems_there_are() -> None:
    counts = {d: len(_window(GeneratorParams(density=d))) for d in (50, 100, 200)}
    assert counts[50] < 0.65 * counts[100] and counts[200] > 1.6 * counts[100]
    # has_system agrees with generate_system under params
    params = GeneratorParams(density=170)
    for x in range(-20, 20):
        assert has_system(9, x, 3, params) == (generate_system(9, x, 3, params) is not None)


def test_station_fraction() -> None:
    every = _window(GeneratorParams(station_fraction=100), half=25)
    assert every and all(s.stations for s in every)
    few = _window(GeneratorParams(station_fraction=10), half=25)
    share = sum(bool(s.stations) for s in few) / len(few)
    assert 0.04 < share < 0.17
    default = _window(DEFAULT_PARAMS, half=25)
    assert 0.7 < sum(bool(s.stations) for s in default) / len(default) < 0.86


def test_field_richness() -> None:
    def richness(params: GeneratorParams) -> list[int]:
        return [f.richness for s in _window(params, half=25) for f in s.fields]

    base, rich, poor = (richness(GeneratorParams(field_richness=r)) for r in (100, 400, 25))
    assert len(base) == len(rich) == len(poor) > 100  # the same fields, other richness
    assert all(1 <= r <= 100 for r in rich + poor)
    assert sum(rich) > 1.6 * sum(base) and sum(poor) < 0.3 * sum(base)  # rich: capped at 100


@pytest.mark.parametrize("length", [2000, 6000])
def test_max_link_length(length: int) -> None:
    params = GeneratorParams(max_link_length=length)
    systems = {s.sector: s for s in _window(params, half=15)}
    degrees = []
    for s in systems.values():
        for lx, ly in s.links:
            other = generate_system(9, lx, ly, params)
            assert other is not None and s.sector in other.links  # symmetric
            assert (other.gx - s.gx) ** 2 + (other.gy - s.gy) ** 2 <= length * length
        degrees.append(len(s.links))
    default = [len(s.links) for s in _window(DEFAULT_PARAMS, half=15)]
    mean, base = sum(degrees) / len(degrees), sum(default) / len(default)
    assert (mean > base) if length > 3500 else (mean < base)


def test_named_regions_apply() -> None:
    params = GeneratorParams.from_dict(REGIONAL)
    inside = [s for s in _window(params, seed=1, half=10)]
    assert inside and all(s.region == "The Shallows" for s in inside)
    assert all(s.faction == "concord" for s in inside)
    assert all(region_faction(1, x, y, params) == "concord" for x in (-8, 0, 7) for y in (-8, 7))
    assert all(json.loads(system_json(s))["region"] == "The Shallows" for s in inside)
    # denser than the rest of the world (60%) inside the rectangle (200%)
    plain = GeneratorParams(density=60)
    assert len(inside) > 1.5 * len(_window(plain, seed=1, half=10))
    # outside every region: the world's own settings, no "region" in the JSON
    far = [s for s in neighbourhood(1, 200, 200, 6, params)]
    assert far and all(s.region == "" and "region" not in s.to_dict() for s in far)
    # the circle: few stations around its centre sector
    cx, cy = -5_000_003, 77_777_777_777
    ash = [s for s in neighbourhood(1, cx, cy, 12, params) if s.region == "Ashfall"]
    assert len(ash) > 30 and sum(bool(s.stations) for s in ash) / len(ash) < 0.35
    assert all((s.x - cx) ** 2 + (s.y - cy) ** 2 <= 24**2 for s in ash)


def test_regions_are_decided_per_block_and_first_wins() -> None:
    a = Region("A", rect=(0, 0, 7, 7))
    assert [a.contains_block(bx, 0) for bx in (-1, 0, 1, 2)] == [False, True, True, False]
    c = Region("C", circle=(0, 0, 4))
    assert c.contains_block(0, 0) and c.contains_block(-1, -1) and not c.contains_block(2, 0)
    first = Region("First", rect=(0, 0, 15, 15), faction="ashen")
    second = Region("Second", rect=(0, 0, 31, 31), faction="concord")
    params = GeneratorParams(regions=(first, second))
    assert region_faction(5, 3, 3, params) == "ashen"
    assert region_faction(5, 20, 20, params) == "concord"


def test_jumps_use_the_worlds_params() -> None:
    params = GeneratorParams(density=180, max_link_length=5000)
    system = next(s for s in _window(params, half=6) if s.links)
    assert system.params == params
    lx, ly = system.links[0]
    other = generate_system(9, lx, ly, params)
    assert other is not None
    bx, by = jump_bearing(system, lx, ly)
    dx, dy = other.gx - system.gx, other.gy - system.gy
    # the bearing points at the linked system of these params (cross product ~ 0)
    assert abs(bx * dy - by * dx) <= 4 * (abs(dx) + abs(dy)) and bx * dx + by * dy > 0


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        *[({name: lo - 1}, name, f"in {lo}..{hi}") for name, (lo, hi, _, _) in RANGES.items()],
        *[({name: hi + 1}, name, f"in {lo}..{hi}") for name, (lo, hi, _, _) in RANGES.items()],
        ({"density": 1.5}, "density", "whole number"),
        ({"density": True}, "density", "whole number"),
        ({"density": "dense"}, "density", "whole number"),
        ({"desnity": 120}, "desnity", "unknown parameter"),
        ({"generator": 2}, "generator", "generator version 2"),
        ({"regions": {}}, "regions", "list of region tables"),
        ({"regions": [{"rect": [0, 0, 9, 9]}]}, "regions[0].name", "is missing"),
        ({"regions": [{"name": "", "rect": [0, 0, 9, 9]}]}, "regions[0].name", "non-empty"),
        ({"regions": [{"name": "x" * 49, "rect": [0, 0, 9, 9]}]}, "regions[0].name", "at most 48"),
        ({"regions": [{"name": "R"}]}, "regions[0]", "exactly one shape"),
        ({"regions": [{"name": "R", "rect": [0, 0, 9, 9], "circle": [0, 0, 9]}]}, "regions[0]",
         "exactly one shape"),
        ({"regions": [{"name": "R", "rect": [0, 0, 2, 9]}]}, "regions[0].rect", "at least 4"),
        ({"regions": [{"name": "R", "rect": [9, 0, 0, 9]}]}, "regions[0].rect", "at least 4"),
        ({"regions": [{"name": "R", "rect": [0, 0, 9]}]}, "regions[0].rect", "[x0, y0, x1, y1]"),
        ({"regions": [{"name": "R", "rect": [0, 0, 9, 2**63]}]}, "regions[0].rect", "64-bit"),
        ({"regions": [{"name": "R", "rect": "north"}]}, "regions[0].rect", "list of sectors"),
        ({"regions": [{"name": "R", "circle": [0, 0, 3]}]}, "regions[0].circle", "in 4.."),
        ({"regions": [{"name": "R", "circle": [0, 0, 9], "density": 300}]}, "regions[0].density",
         "in 50..200"),
        ({"regions": [{"name": "R", "circle": [0, 0, 9], "faction": "pirates"}]},
         "regions[0].faction", "must be one of"),
        ({"regions": [{"name": "R", "circle": [0, 0, 9], "colour": "red"}]}, "regions[0].colour",
         "unknown field"),
        ({"regions": [{"name": "R", "circle": [0, 0, 9]}, {"name": "R", "circle": [9, 9, 9]}]},
         "regions[1].name", "is taken"),
        ({"regions": [{"name": f"R{i}", "circle": [0, 0, 9]} for i in range(MAX_REGIONS + 1)]},
         "regions", f"at most {MAX_REGIONS}"),
    ],
)  # fmt: skip
def test_ranges_are_enforced(data: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(GeneratorParamsError) as caught:
        GeneratorParams.from_dict(data)
    assert caught.value.field == field
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"{field}: ")


def test_bad_documents_are_refused() -> None:
    with pytest.raises(GeneratorParamsError, match="not valid TOML"):
        GeneratorParams.from_toml("density = \n")
    with pytest.raises(GeneratorParamsError, match="must be a table"):
        GeneratorParams.from_dict([1, 2])
    with pytest.raises(GeneratorParamsError) as caught:
        GeneratorParams(density=10)  # the constructor validates too
    assert caught.value.field == "density"


def test_canonical_form_and_digest() -> None:
    params = GeneratorParams.from_dict(REGIONAL)
    again = GeneratorParams.from_dict(json.loads(params.canonical()))
    assert again == params and hash(again) == hash(params) and again.digest == params.digest
    assert json.loads(params.canonical())["generator"] == GENERATOR_VERSION
    toml = """
density = 60
station_fraction = 60
field_richness = 180
max_link_length = 4200

[[regions]]
name = "The Shallows"
rect = [-12, -12, 11, 11]
density = 200
faction = "concord"

[[regions]]
name = "Ashfall"
circle = [-5_000_003, 77_777_777_777, 20]
station_fraction = 15
"""
    assert GeneratorParams.from_toml(toml) == params
    digests = Counter(
        GeneratorParams(**{name: value}).digest  # type: ignore[arg-type]
        for name, value in (("density", 101), ("station_fraction", 77), ("field_richness", 99),
                            ("max_link_length", 3501), ("density", 100))
    )  # fmt: skip
    assert len(digests) == 5 and DEFAULT_PARAMS.digest in digests


def test_deep_nesting_is_refused_not_a_crash() -> None:
    with pytest.raises(GeneratorParamsError, match="nested too deeply"):
        GeneratorParams.from_toml("regions = " + "[" * 5000 + "]" * 5000)


def test_params_survive_pickling() -> None:
    params = GeneratorParams.from_dict(REGIONAL)
    copy = pickle.loads(pickle.dumps(params))
    assert copy == params and hash(copy) == hash(params)
    assert generate_system(1, 0, 0, copy) == generate_system(1, 0, 0, params)
