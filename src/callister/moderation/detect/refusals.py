"""Refused actions piling up: the server's checks (rate, range, ownership, cooldown) refused
an account's actions, each written to the evidence table; many in a short time is a flag."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from callister.moderation.detect import Finding
from callister.store import Evidence

WINDOW_S = 600.0
THRESHOLD = 20  # refusals in the window that score 1.0
WEIGHTS = {"NOT_YOUR_SHIP": 3.0}  # asking to fly someone else's ship is never an accident


def refusals(evidence: Iterable[Evidence], now: float, window_s: float = WINDOW_S) -> list[Finding]:
    by_account: dict[int, list[Evidence]] = defaultdict(list)
    for e in evidence:
        if e.at >= now - window_s and e.code != "FLOOD":
            by_account[e.account_id].append(e)
    out = []
    for account, rows in by_account.items():
        weight = sum(WEIGHTS.get(e.code, 1.0) for e in rows)
        score = min(1.0, weight / THRESHOLD)
        if score >= 0.25:
            codes = Counter(e.code for e in rows)
            out.append(
                Finding(
                    "refusals",
                    account,
                    round(score, 3),
                    {
                        "count": len(rows),
                        "codes": dict(codes),
                        "window_s": window_s,
                        "evidence_ids": [e.id for e in rows[:20]],
                    },
                )
            )
    return out


def floods(evidence: Iterable[Evidence], now: float, window_s: float = 3600.0) -> list[Finding]:
    """Connections closed for flooding (the gateway writes code FLOOD on each 4429 close)."""
    counts: Counter[int] = Counter(
        e.account_id for e in evidence if e.code == "FLOOD" and e.at >= now - window_s
    )
    return [
        Finding(
            "flood", account, min(1.0, 0.5 + 0.25 * (n - 1)), {"closes": n, "window_s": window_s}
        )
        for account, n in counts.items()
    ]
