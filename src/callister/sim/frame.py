"""`ZoneFrame`: a tick's public entity columns, copied out for the gateway.

The gateway encodes one shared record array per tick from these columns and gathers each
client's visible rows by index, so the frame is plain arrays (no Python object per entity) and
its rows are sorted by entity id, which makes frames of consecutive ticks cheap to diff.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from callister.content import load_content
from callister.sim.entities import MAX_ID
from callister.sim.keys import KeyIndex

MAX_HULL_KEYS: Final = 256  # the `hull` column is uint8
_HULLS: Final = KeyIndex("hull", load_content().hulls, MAX_HULL_KEYS)

HULL_KEYS: Final[list[str]] = _HULLS.keys
"""Every hull key this process knows: the base content's in file order, then each world's
pack's new keys as its world registers them (`register_hulls`); a frame's `hull` column
indexes this list.

File order (not sorted order) so that appending a hull to hulls.toml keeps every existing
index. Append-only, so an index never changes meaning while the process runs. Clients never
see these numbers: they learn hulls by key (`ents`) and their looks from the world's content.
"""


def register_hulls(keys: Iterable[str]) -> None:
    """Give every key of `keys` an index (new keys appended; known keys keep theirs). A world
    registers its content's hulls before its zones use them. ValueError past the limit."""
    _HULLS.register(keys)


def hull_index(key: str) -> int:
    """The index of hull `key` in HULL_KEYS; ValueError for a hull no content registered."""
    return _HULLS.index(key)


@dataclass(frozen=True, slots=True, eq=False)
class ZoneFrame:
    """Copies of the dynamic entities' public columns at the end of tick `tick`.

    All arrays have the same length and are read-only; rows are sorted by id. Positions and
    velocities are float32 metres and m/s in the system frame (star at the origin); `angle` is
    float32 radians; `hull` indexes HULL_KEYS; `flags` holds the DOCKED/THRUSTING/JUMPING bits.
    """

    tick: int
    ids: NDArray[np.uint64]
    owner: NDArray[np.int64]
    kind: NDArray[np.uint8]
    hull: NDArray[np.uint8]
    x: NDArray[np.float32]
    y: NDArray[np.float32]
    vx: NDArray[np.float32]
    vy: NDArray[np.float32]
    angle: NDArray[np.float32]
    flags: NDArray[np.uint8]

    def __len__(self) -> int:
        return int(self.ids.size)

    def row_of(self, entity_id: int) -> int | None:
        """The row of `entity_id` in this frame (binary search over the sorted ids), or None."""
        if not 0 <= entity_id <= MAX_ID:
            return None
        pos = int(np.searchsorted(self.ids, np.uint64(entity_id)))
        if pos < self.ids.size and int(self.ids[pos]) == entity_id:
            return pos
        return None
