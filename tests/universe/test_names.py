from __future__ import annotations

import re

from callister.universe.hashing import Rng
from callister.universe.names import planet_name, station_names, system_name, word

_VOWELS = set("aeiouy")
_ALLOWED = re.compile(r"^[A-Z][a-z]+(?:[ -][A-Z][a-z]*)*$")


def pronounceable(name: str) -> bool:
    """Letters, spaces and hyphens; words alternate consonant and vowel groups with at most
    three consonants or two vowels in a row."""
    if not _ALLOWED.match(name):
        return False
    for w in re.split(r"[ -]", name.lower()):
        groups = re.findall(r"[aeiouy]+|[^aeiouy]+", w)
        if any(len(g) > (2 if g[0] in _VOWELS else 3) for g in groups):
            return False
        if not any(g[0] in _VOWELS for g in groups):
            return False
    return True


def test_pronounceable_checker_rejects_junk() -> None:
    assert pronounceable("Veyra") and pronounceable("Okanis Prime") and pronounceable("Tal-Oris")
    for bad in ("Vqrtzk", "Aeiou", "veyra", "Ve2ra", "Ve_ra", "Strkl"):
        assert not pronounceable(bad), bad


def test_system_names_are_pronounceable_and_mostly_distinct() -> None:
    names = [system_name(Rng(i * 7919 + 1)) for i in range(3000)]
    bad = [n for n in names if not pronounceable(n)]
    assert not bad, bad[:10]
    assert len(set(names)) > 0.98 * len(names)
    assert all(4 <= len(n) <= 30 for n in names)
    # the variety the design promises: endings and hyphens appear, but rarely
    assert 0.02 < sum(" " in n for n in names) / len(names) < 0.2
    assert 0.01 < sum("-" in n for n in names) / len(names) < 0.12


def test_words_and_derived_names() -> None:
    rng = Rng(9)
    for syllables in (1, 2, 3):
        assert all(pronounceable(word(rng, syllables)) for _ in range(300))
    assert planet_name("Veyra", 2) == "Veyra III"
    for seed in range(200):
        names = station_names(Rng(seed), "Tal-Oris Prime", 3)
        assert len(set(names)) == 3
        assert all(pronounceable(n) for n in names)
