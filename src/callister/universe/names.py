"""Pronounceable names from syllables, driven by the portable `Rng`.

A word is 2-3 syllables of (onset, nucleus, coda). Syllables after the first always start with
a consonant, and a syllable after a coda starts with a single consonant, so a word never holds
more than three consonants or two vowels in a row ("Veyra", "Okanis", "Thalmir"). Names use
only ASCII letters, spaces and hyphens, so they are safe in every client and log.
"""

from __future__ import annotations

from callister.universe.hashing import Rng

# weighted by repetition: plain single letters are the most common so names stay easy to say
_FIRST_ONSETS: tuple[str, ...] = (
    "", "", "", "b", "d", "f", "g", "h", "k", "k", "l", "m", "n", "p", "r", "s", "s", "t",
    "v", "v", "z", "th", "sh", "kr", "tr", "dr", "br", "st", "vr", "ph", "gr", "q",
)  # fmt: skip
_ONSETS: tuple[str, ...] = (
    "b", "d", "f", "g", "k", "l", "l", "m", "n", "n", "p", "r", "r", "s", "t", "v", "z",
    "th", "sh", "dr", "tr", "kr",
)  # fmt: skip
_AFTER_CODA: tuple[str, ...] = ("b", "d", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z")
_NUCLEI: tuple[str, ...] = (
    "a", "a", "a", "a", "e", "e", "e", "i", "i", "i", "o", "o", "o", "u", "u", "y",
    "ae", "ai", "ei", "ey", "ia", "io", "ou",
)  # fmt: skip
# codas inside a word are soft (liquids, nasals, s) so clusters across syllables stay sayable;
# a word's last syllable may also end harder ("-th", "-x", "-nd")
_INNER_CODAS: tuple[str, ...] = ("", "", "", "", "", "", "n", "r", "l", "s", "m")
_FINAL_CODAS: tuple[str, ...] = (
    "", "", "", "", "", "n", "n", "r", "r", "s", "s", "l", "m", "th", "x", "k", "nd",
)  # fmt: skip
_ENDINGS: tuple[str, ...] = (" Prime", " Major", " Minor", " Reach", " Gate", " Haven", " Deep")
STATION_KINDS: tuple[str, ...] = (
    "Station", "Hub", "Depot", "Outpost", "Port", "Anchorage", "Exchange", "Dock",
)  # fmt: skip
ROMAN: tuple[str, ...] = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


def word(rng: Rng, syllables: int) -> str:
    """A capitalised pronounceable word of `syllables` (>= 1) syllables."""
    parts: list[str] = []
    coda = ""
    for i in range(syllables):
        # one 64-bit draw per syllable: three 16-bit fields pick onset, nucleus and coda
        z = rng.next()
        if i == 0:
            # a word may open with a vowel ("Okanis"), unless it is a lone syllable ("I")
            onsets = _FIRST_ONSETS if syllables > 1 else _ONSETS
        elif coda:
            onsets = _AFTER_CODA
        else:
            onsets = _ONSETS
        onset = onsets[((z & 0xFFFF) * len(onsets)) >> 16]
        nucleus = _NUCLEI[(((z >> 16) & 0xFFFF) * len(_NUCLEI)) >> 16]
        if onset == "q":  # "q" only reads well as "qu"
            onset, nucleus = "qu", nucleus[0] if nucleus[0] != "u" else "a"
        codas = _FINAL_CODAS if i == syllables - 1 else _INNER_CODAS
        coda = codas[(((z >> 32) & 0xFFFF) * len(codas)) >> 16]
        parts.append(onset + nucleus + coda)
    return "".join(parts).capitalize()


def system_name(rng: Rng) -> str:
    """A star system's name: one word, sometimes hyphenated or with an ending ("Okanis Prime")."""
    z = rng.next()  # one draw for the shape: 16-bit fields, each a roll out of 65536
    roll = z & 0xFFFF
    if roll < 3932:  # 6%: "Tal-Oris"
        return f"{word(rng, 1 + ((z >> 16) & 1))}-{word(rng, 2)}"
    name = word(rng, 3 if (z >> 16) & 0xFFFF < 22938 else 2)  # 35% three syllables
    if len(name) < 4:
        name = word(rng, 3)
    if roll >= 58982:  # 10%: "Okanis Prime"
        name += _ENDINGS[(((z >> 32) & 0xFFFF) * len(_ENDINGS)) >> 16]
    return name


def station_names(rng: Rng, system: str, count: int) -> list[str]:
    """`count` distinct station names: the system's or an own word, plus a kind ("Veyra Hub")
    that differs per station."""
    z = rng.next()
    offset = ((z & 0xFFFF) * len(STATION_KINDS)) >> 16
    own = system.split(" ")[0].split("-")[0]
    names = []
    for i in range(count):
        base = own if (z >> (16 + i)) & 1 else word(rng, 2)
        names.append(f"{base} {STATION_KINDS[(offset + i) % len(STATION_KINDS)]}")
    return names


def planet_name(system: str, index: int) -> str:
    """A planet's name: the system's name and its orbit's roman numeral ("Veyra III")."""
    return f"{system} {ROMAN[index]}"
