"""Area of interest: which entities each client sees, encoded once per tick and gathered per client.

Per zone and tick: quantise every entity's record once (`SharedFrame`) and build one spatial grid.
Per client: a radius query on the grid, a gather by index, and a vectorised diff against the view
the client acknowledged. Entities beyond the nearest `full_rate` update at a quarter of the rate
(their previous record is kept), which bounds bytes per client in crowded places.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from callister.protocol.snapshot import quantise
from callister.sim import SpatialGrid, ZoneFrame

FAR_RATE_DIVISOR = 4


@dataclass(slots=True)
class SharedFrame:
    tick: int
    records: npt.NDArray[np.void]  # one per entity, sorted by id
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    grid: SpatialGrid


def share_frame(frame: ZoneFrame, cell_size: float) -> SharedFrame:
    records = quantise(
        frame.ids, frame.x, frame.y, frame.vx, frame.vy, frame.angle, frame.kind, frame.flags
    )
    x = np.asarray(frame.x, dtype=np.float64)
    y = np.asarray(frame.y, dtype=np.float64)
    return SharedFrame(frame.tick, records, x, y, SpatialGrid.build(x, y, cell_size))


def visible_records(
    shared: SharedFrame,
    cx: float,
    cy: float,
    radius: float,
    full_rate: int,
    seq: int,
    base: npt.NDArray[np.void] | None,
    always: int | None = None,
) -> npt.NDArray[np.void]:
    """Records the client should hold after this snapshot, sorted by id.

    `always` is the row of the client's own ship, included whatever the radius.
    """
    rows = shared.grid.query_radius(cx, cy, radius)
    if always is not None and always >= 0:
        rows = np.union1d(rows, np.array([always], dtype=rows.dtype))
    rows = np.sort(rows)
    current = shared.records[rows]
    if base is None or len(base) == 0 or len(rows) <= full_rate:
        return current
    # the nearest `full_rate` update every snapshot; the rest on their turn (by id and seq)
    d2 = (shared.x[rows] - cx) ** 2 + (shared.y[rows] - cy) ** 2
    far = np.ones(len(rows), dtype=bool)
    far[np.argpartition(d2, full_rate - 1)[:full_rate]] = False
    not_due = far & (((current["id"] + np.uint64(seq)) % np.uint64(FAR_RATE_DIVISOR)) != 0)
    if not not_due.any():
        return current
    base_ids = base["id"]
    pos = np.minimum(np.searchsorted(base_ids, current["id"]), len(base_ids) - 1)
    keep_old = not_due & (base_ids[pos] == current["id"])
    current[keep_old] = base[pos[keep_old]]
    return current
