"""Automation: bots recognised from input timing and reaction patterns.

A session is the list of (time s, thrust, turn) inputs the gateway received from one socket
(`InputLog`). People press and release keys: bursts of inputs a few tens of milliseconds apart,
long idle stretches, discrete control values and irregular rhythm. A scripted client polls on a
timer: it never sends two inputs closer than its loop period, its gaps cluster in a narrow band,
and its controls are continuous values from a steering law. Three features, combined by a
logistic score (weights fitted by hand on `synth` sessions; precision/recall in
docs/moderation.md):

- `burst`: fraction of gaps under 0.25 s (people: many; the project's bots: none);
- `spread`: standard deviation of log(gap) (people: wide; polling loops: narrow);
- `analog`: fraction of inputs whose thrust or turn is not -1, 0 or 1 (keys are discrete).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

import numpy as np

from callister.moderation.detect import Finding

MIN_INPUTS = 20
THRESHOLD = 0.5


def features(inputs: Sequence[tuple[float, float, float]]) -> dict[str, float]:
    times = np.array([t for t, _, _ in inputs], dtype=np.float64)
    gaps = np.diff(np.sort(times))
    gaps = gaps[gaps > 0]
    if gaps.size < 2:
        return {"burst": 0.0, "spread": 0.0, "analog": 0.0, "n": float(len(inputs))}
    analog = sum(
        1 for _, thrust, turn in inputs if thrust not in (0.0, 1.0) or turn not in (-1.0, 0.0, 1.0)
    )
    return {
        "burst": float(np.mean(gaps < 0.25)),
        "spread": float(np.std(np.log(gaps))),
        "analog": analog / len(inputs),
        "n": float(len(inputs)),
    }


def score(f: dict[str, float]) -> float:
    """Probability-like score that the session is automated (0..1)."""
    z = 2.0 - 14.0 * f["burst"] - 3.5 * f["spread"] + 2.5 * f["analog"]
    return 1.0 / (1.0 + math.exp(-z))


def detect(account_id: int, inputs: Sequence[tuple[float, float, float]]) -> Finding | None:
    if len(inputs) < MIN_INPUTS:
        return None
    f = features(inputs)
    s = score(f)
    if s < THRESHOLD:
        return None
    return Finding("bot", account_id, round(s, 3), {k: round(v, 4) for k, v in f.items()})


class InputLog:
    """The last `size` inputs of each account (time, thrust, turn), kept by the gateway."""

    def __init__(self, size: int = 400) -> None:
        self.size = size
        self.by_account: dict[int, deque[tuple[float, float, float]]] = {}

    def record(self, account_id: int, at: float, thrust: float, turn: float) -> None:
        log = self.by_account.get(account_id)
        if log is None:
            log = self.by_account[account_id] = deque(maxlen=self.size)
        log.append((at, thrust, turn))

    def sessions(self) -> list[tuple[int, list[tuple[float, float, float]]]]:
        return [(a, list(d)) for a, d in self.by_account.items()]
