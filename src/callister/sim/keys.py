"""`KeyIndex`: the process-wide, append-only key -> index table of a content kind.

Columns store a hull or a weapon as a small integer, not its key. The index of a key must not
change while the process runs (stored rows, footage and checkpoints hold the numbers), so keys
are only ever appended: first the base content's in file order, then each world's pack's new
keys as its world registers them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable


class KeyIndex:
    """Keys of one kind (`what`: "hull", "weapon") and their indices; at most `limit` keys
    (what the column's integer type can hold). `keys` is the list the indices point into."""

    def __init__(self, what: str, keys: Iterable[str], limit: int) -> None:
        self.what = what
        self.limit = limit
        self.keys: list[str] = list(keys)
        self._index = {key: i for i, key in enumerate(self.keys)}
        self._lock = threading.Lock()

    def register(self, keys: Iterable[str]) -> None:
        """Give every key of `keys` an index (new keys appended; known keys keep theirs).
        ValueError past the limit."""
        with self._lock:
            for key in keys:
                if key not in self._index:
                    if len(self.keys) >= self.limit:
                        raise ValueError(f"more than {self.limit} {self.what} keys in one process")
                    self._index[key] = len(self.keys)
                    self.keys.append(key)

    def index(self, key: str) -> int:
        """The index of `key`; ValueError for a key no content registered."""
        try:
            return self._index[key]
        except KeyError:
            known = f"known {self.what}s are {list(self.keys)}"
            raise ValueError(f"unknown {self.what} {key!r}; {known}") from None
