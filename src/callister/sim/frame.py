"""`ZoneFrame`: a tick's public entity columns, copied out for the gateway.

The gateway encodes one shared record array per tick from these columns and gathers each
client's visible rows by index, so the frame is plain arrays (no Python object per entity) and
its rows are sorted by entity id, which makes frames of consecutive ticks cheap to diff.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from callister.content import load_content
from callister.sim.entities import MAX_ID

HULL_KEYS: Final[tuple[str, ...]] = tuple(load_content().hulls)
"""Hull keys in content-file order; a frame's `hull` column indexes this tuple.

File order (not sorted order) so that appending a hull to hulls.toml keeps every existing
index, and with it every client that cached the table.
"""

_HULL_INDEX: Final = {key: i for i, key in enumerate(HULL_KEYS)}


def hull_index(key: str) -> int:
    """The index of hull `key` in HULL_KEYS; ValueError for a hull the content does not define."""
    try:
        return _HULL_INDEX[key]
    except KeyError:
        raise ValueError(f"unknown hull {key!r}; known hulls are {list(HULL_KEYS)}") from None


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
