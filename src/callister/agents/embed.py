"""A cheap, deterministic text embedding: hashed words and character trigrams.

No model, no network: each lowercase word (minus a few stop words) and each character trigram
of it is hashed with CRC-32 (the same on every machine and process, unlike `hash()`) into one of
DIM buckets with a hashed sign, and the vector is scaled to unit length. Cosine similarity of
two such vectors is a bag-of-words overlap that tolerates inflections ("attack" ~ "attacked").
Entity references written `#123` become whole-word tokens, so a memory about ship #123 is
relevant to a question about #123.
"""

from __future__ import annotations

import re
import zlib
from functools import lru_cache
from typing import Final

import numpy as np
from numpy.typing import NDArray

DIM: Final = 256
WORD_WEIGHT: Final = 1.0
TRIGRAM_WEIGHT: Final = 0.35
_WORD_RE: Final = re.compile(r"#?\d+|[a-z][a-z']*")
_STOP: Final = (
    "a an the and or of to in on at by for with is are was were be been it its this that "
    "i me my we us our you your he she they them their there here do did does so as from "
    "what who how not no"
)
STOP_WORDS: Final = frozenset(_STOP.split())


def tokens(text: str) -> list[str]:
    """The words an embedding is made of (lowercase, stop words dropped)."""
    return [w for w in _WORD_RE.findall(text.lower()) if w not in STOP_WORDS]


def embed(text: str) -> NDArray[np.float32]:
    """A unit float32 vector of length DIM (all zeros for text with no words). Read-only:
    repeated texts ("We docked at station 2.") come from a cache."""
    return _embed_cached(text) if len(text) <= 200 else _embed(text)


@lru_cache(maxsize=4096)
def _embed_cached(text: str) -> NDArray[np.float32]:
    return _embed(text)


def _embed(text: str) -> NDArray[np.float32]:
    idx: list[int] = []
    weights: list[float] = []
    for word in tokens(text):
        h = zlib.crc32(word.encode())
        idx.append(h % DIM)
        weights.append(WORD_WEIGHT if h & 0x80000000 else -WORD_WEIGHT)
        if word[0] == "#" or len(word) < 4:
            continue
        padded = f" {word} "
        for i in range(len(padded) - 2):
            g = zlib.crc32(padded[i : i + 3].encode(), 0x5EED)
            idx.append(g % DIM)
            weights.append(TRIGRAM_WEIGHT if g & 0x80000000 else -TRIGRAM_WEIGHT)
    vec = np.bincount(np.asarray(idx, dtype=np.intp), weights=weights, minlength=DIM)
    out = vec.astype(np.float32)
    norm = float(np.linalg.norm(out))
    if norm > 0:
        out /= norm
    out.flags.writeable = False
    return out


def normalise(vec: NDArray[np.float32]) -> NDArray[np.float32]:
    """`vec` scaled to unit length (unchanged if zero)."""
    out = np.asarray(vec, dtype=np.float32).copy()
    norm = float(np.linalg.norm(out))
    if norm > 0:
        out /= norm
    return out
