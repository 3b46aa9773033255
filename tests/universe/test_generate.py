from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from callister.universe import (
    GENERATOR_VERSION,
    MAX_NEIGHBOURHOOD,
    SECTOR_MAX,
    SECTOR_MIN,
    clear_caches,
    generate_system,
    has_system,
    neighbourhood,
    system_json,
)

from ._support import EDGE_SECTORS, systems_near

# Anchors for the determinism checks: near the origin, negative, huge, and the int64 corners.
# For each, the digest covers the first systems found around it and some empty sectors.
DIGEST_SCRIPT = r"""
import hashlib, sys
from callister.universe import generate_system, has_system, system_json, SECTOR_MIN, SECTOR_MAX

def clamp(v):
    return max(SECTOR_MIN, min(SECTOR_MAX, v))

anchors = [(0, 0), (-7, 3), (-123456789012, 987654321098), (2**62 + 17, -(2**61) - 5),
           (SECTOR_MIN, SECTOR_MIN), (SECTOR_MAX, SECTOR_MAX), (SECTOR_MIN, SECTOR_MAX)]
h = hashlib.sha256()
for seed in (1, 2**64 - 1, 0xC0FFEE):
    for ax, ay in anchors:
        found = 0
        for dx in range(-6, 7):
            for dy in range(-6, 7):
                x, y = clamp(ax + dx), clamp(ay + dy)
                if has_system(seed, x, y) and found < 3:
                    found += 1
                    h.update(system_json(generate_system(seed, x, y)))
                elif generate_system(seed, x, y) is None:
                    h.update(b"-")
print(h.hexdigest())
"""

# The digest of DIGEST_SCRIPT's output. If generation changes on purpose, bump
# GENERATOR_VERSION (stored deltas refer to the old layout) and update both.
GOLDEN_DIGEST = "00b0ad823d0b6bb75fcac5c1f2963a8a2a06c59eb9b5b101e69ab1188e2421de"
GOLDEN_VERSION = 1


def _digest_in_process() -> str:
    namespace: dict[str, object] = {}
    captured: list[str] = []
    namespace["print"] = captured.append
    exec(DIGEST_SCRIPT, namespace)
    return captured[0]


def test_generation_is_deterministic_in_process() -> None:
    for seed in (1, 99):
        systems = systems_near(seed, 3, -4, 20)
        again = [generate_system(seed, s.x, s.y) for s in systems]
        assert again == systems
        clear_caches()  # a cold cache gives the same answer
        assert [generate_system(seed, s.x, s.y) for s in systems] == systems
        assert [system_json(s) for s in again if s] == [system_json(s) for s in systems]


def test_generation_is_identical_across_processes() -> None:
    expected = _digest_in_process()
    for hash_seed in ("0", "12345", "random"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run(
            [sys.executable, "-c", DIGEST_SCRIPT],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        assert out.stdout.strip() == expected, f"PYTHONHASHSEED={hash_seed}"


def test_generation_matches_the_golden_digest() -> None:
    # also what makes "other machines" agree: the expected bytes are fixed here
    assert GENERATOR_VERSION == GOLDEN_VERSION
    assert _digest_in_process() == GOLDEN_DIGEST


def test_system_json_is_canonical_and_big_values_are_strings() -> None:
    system = systems_near(1, SECTOR_MAX, SECTOR_MIN, 1)[0]
    raw = system_json(system)
    data = json.loads(raw)
    assert json.dumps(data, sort_keys=True, separators=(",", ":")).encode() == raw
    assert data["x"] == str(system.x) and data["y"] == str(system.y)
    assert int(data["x"]) > 2**62 and int(data["y"]) < -(2**62)
    assert data["seed"] == "1" and data["key"] == f"{system.x}:{system.y}"
    assert all(isinstance(v, str) for v in data["galaxy"])
    assert all(isinstance(c, str) for link in data["links"] for c in link)

    def walk(value: object) -> None:
        # every number in the JSON is an int a double holds exactly; no floats anywhere
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        else:
            assert not isinstance(value, float)
            if isinstance(value, int) and not isinstance(value, bool):
                assert abs(value) < 2**53

    walk(data)


def test_has_system_agrees_with_generate_system() -> None:
    sectors = [(x, y) for x in range(-15, 15) for y in range(-15, 15)] + list(EDGE_SECTORS)
    for x, y in sectors:
        system = generate_system(5, x, y)
        assert has_system(5, x, y) == (system is not None)
        if system is not None:
            assert system.sector == (x, y)
            assert system.key == f"{x}:{y}"


def test_seed_is_folded_to_u64() -> None:
    assert has_system(-1, 4, 4) == has_system(2**64 - 1, 4, 4)
    system = systems_near(-1, 0, 0, 1)[0]
    assert system == generate_system(2**64 - 1, system.x, system.y)
    assert system.seed == 2**64 - 1


def test_neighbourhood_matches_a_brute_force_scan() -> None:
    found = neighbourhood(1, 10, -3, 4)
    expected = [
        (x, y) for y in range(-7, 2) for x in range(6, 15) if has_system(1, x, y)
    ]  # ordered by (y, x)
    assert [s.sector for s in found] == expected
    assert found == [generate_system(1, x, y) for x, y in expected]
    assert neighbourhood(1, 10, -3, 0) == (
        [generate_system(1, 10, -3)] if has_system(1, 10, -3) else []
    )


def test_neighbourhood_clamps_at_the_edge_and_validates_radius() -> None:
    corner = neighbourhood(3, SECTOR_MAX, SECTOR_MIN, 3)
    assert all(
        SECTOR_MAX - 3 <= s.x <= SECTOR_MAX and SECTOR_MIN <= s.y <= SECTOR_MIN + 3 for s in corner
    )
    expected = sum(
        has_system(3, x, y)
        for x in range(SECTOR_MAX - 3, SECTOR_MAX + 1)
        for y in range(SECTOR_MIN, SECTOR_MIN + 4)
    )
    assert len(corner) == expected
    with pytest.raises(ValueError):
        neighbourhood(1, 0, 0, -1)
    with pytest.raises(ValueError):
        neighbourhood(1, 0, 0, MAX_NEIGHBOURHOOD + 1)
    with pytest.raises(TypeError):
        neighbourhood(1, 0, 0, 2.0)  # type: ignore[arg-type]
