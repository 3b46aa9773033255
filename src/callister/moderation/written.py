"""What the detectors last wrote, so a detection pass writes only what changed.

Every pass finds mostly the same things again (the same linked group, the same flood); writing
each of them every pass was the largest cost of a crowded server (issue 17: a fifth of all
samples at 250 clients). A finding is written when it is new, when its score or evidence
changed, or when `REFRESH_S` has passed since it was last written (so an open flag's time stays
recent, and one a moderator closed is opened again by the next pass that still finds it,
even on a process that did not see the moderator's action)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from callister.moderation.detect import Finding

REFRESH_S = 600.0
MAX_REMEMBERED = 100_000  # bound: past this, forget everything (the next pass rewrites once)


class WrittenFlags:
    def __init__(self, refresh_s: float = REFRESH_S) -> None:
        self.refresh_s = refresh_s
        # (detector, account, subject) -> (score, evidence as canonical JSON, when written)
        self._last: dict[tuple[str, int, str], tuple[float, str, float]] = {}

    def changed(self, findings: Iterable[Finding], now: float) -> list[Finding]:
        """The findings to write now (new, different or due a refresh); remembers them as
        written — call it right before writing them."""
        if len(self._last) > MAX_REMEMBERED:
            self._last.clear()
        out = []
        for f in findings:
            key = (f.detector, f.account_id, f.subject)
            body = json.dumps(f.evidence, sort_keys=True, default=str)
            last = self._last.get(key)
            same = last is not None and last[0] == f.score and last[1] == body
            if same and last is not None and now - last[2] < self.refresh_s:
                continue
            self._last[key] = (f.score, body, now)
            out.append(f)
        return out

    def forget(self) -> None:
        """A moderator changed a flag: the next pass writes what it finds again."""
        self._last.clear()
