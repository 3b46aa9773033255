"""Detectors: pure functions from what the server recorded to flags (score 0..1 + evidence).

Each module holds one detector; `callister.moderation.service` runs them off the tick (a
periodic task) and writes their results to the flags table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Finding:
    """One detector result about one account (and optionally a subject: a clone, a rid)."""

    detector: str
    account_id: int
    score: float  # 0..1
    evidence: dict[str, Any] = field(default_factory=dict)
    subject: str = ""
