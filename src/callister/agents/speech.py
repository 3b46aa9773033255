"""Not saying the same thing over and over: what each speaker said to each listener lately.

A person who must say something again says it differently, and does not announce the same
news twice in a row. `SpeechLog` keeps, per (speaker, listener), the lines said lately with
their key (what kind of line: "FLEE/hurt", an order's acknowledgement ...) and tick:

- the same *text* (its `gist`: numbers and times aside) is never said to the same listener
  within `text_cooldown` (10 minutes of game time): the speaker takes the next way of saying
  it, or says nothing;
- the same *key* (the same news, however worded) is said at most once per `key_cooldown`
  (2 minutes): a pilot who breaks off, turns back and breaks off again does not narrate each
  turn.

Dialogue (answers to what someone says) keeps its history in the clone's own memory stream
instead (`dialogue.exchanges`), so it survives restarts and travels with the clone.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from typing import Final

TICK_HZ: Final = 20
TEXT_COOLDOWN: Final = 10 * 60 * TICK_HZ  # the same words to the same listener: not within 10 min
KEY_COOLDOWN: Final = 2 * 60 * TICK_HZ  # the same news to the same listener: once per 2 minutes
KEEP: Final = 32  # lines kept per (speaker, listener)


_NUMBERS: Final = re.compile(
    r"\d+(\.\d+)?|\b(just now|about|an|a few|minutes?|hours?|days?|ago)\b|[^\w]+"
)


def gist(text: str) -> str:
    """What a line says, without its numbers and times: "Hull at 20%" and "Hull at 19%" are
    the same line, and so are "made 2 minutes ago" and "made just now"."""
    return " ".join(_NUMBERS.sub(" ", text.lower()).split())


class SpeechLog:
    """Recent lines per (speaker, listener); see the module docstring. Not thread-safe (the
    pool's and the server loop's)."""

    def __init__(
        self, *, text_cooldown: int = TEXT_COOLDOWN, key_cooldown: int = KEY_COOLDOWN
    ) -> None:
        self.text_cooldown = text_cooldown
        self.key_cooldown = key_cooldown
        self._said: dict[int, dict[int, deque[tuple[int, str, str]]]] = {}  # speaker, listener

    def recent(self, speaker: int, listener: int, now: int) -> list[tuple[int, str, str]]:
        """(tick, key, gist of the text) said by `speaker` to `listener` within the text
        cool-down."""
        q = self._said.get(speaker, {}).get(listener)
        if not q:
            return []
        return [e for e in q if now - e[0] < self.text_cooldown]

    def pick(
        self, speaker: int, listener: int, key: str, options: Iterable[str], now: int
    ) -> str | None:
        """The first of `options` that `speaker` may say to `listener` now (and note it as
        said), or None: the same news was given within the key cool-down, or every wording
        was used within the text cool-down."""
        recent = self.recent(speaker, listener, now)
        if key and any(k == key and now - t < self.key_cooldown for t, k, _ in recent):
            return None
        used = {g for _, _, g in recent}
        for text in options:
            g = gist(text)
            if g not in used:
                self._log(speaker, listener).append((now, key, g))
                return text
        return None

    def _log(self, speaker: int, listener: int) -> deque[tuple[int, str, str]]:
        return self._said.setdefault(speaker, {}).setdefault(listener, deque(maxlen=KEEP))

    def note(self, speaker: int, listener: int, key: str, text: str, now: int) -> None:
        """Remember that `speaker` said `text` (a line of kind `key`) to `listener` at `now`."""
        self._log(speaker, listener).append((now, key, gist(text)))

    def forget(self, speaker: int) -> None:
        """Drop everything `speaker` said (it left the world)."""
        self._said.pop(speaker, None)
