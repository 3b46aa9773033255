"""Static colliders (star, stations, rocks) in arrays, with a precomputed raster grid.

Statics never move, so instead of querying a radius per ship we rasterise each collider once
into every cell its *reach* touches (its radius plus `margin`, which the zone sets to the
largest ship radius plus the farthest a ship moves in one tick). A ship then needs only the
colliders listed in its own cell: one array lookup per ship per tick, no per-ship radius query,
and big bodies like the star cost nothing extra per ship.

The raster is a dense (nx + 2) x (ny + 2) table with an empty border ring, so ships outside the
statics' bounding box clamp onto the border and find nothing without a separate range test.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import NDArray

from callister.sim.entities import FLOAT
from callister.sim.events import ColliderName
from callister.sim.kernels import raster_candidates
from callister.sim.kernels_combat import first_static_hits
from callister.sim.layout import ZoneLayout

# Collider kinds (the `kind` array) and their names in `Collided` events.
STAR: Final = 0
STATION: Final = 1
ROCK: Final = 2
COLLIDER_NAMES: Final[tuple[ColliderName, ...]] = ("star", "station", "rock")

LOS_CELL_SIZE: Final = 256.0
"""m: cell of the line-of-fire grid (a beam of 1.5 km crosses ~6 cells per axis)."""
_MAX_LOS_CELLS: Final = 1 << 18

STATIC_CELL_SIZE: Final = 64.0
"""m: about a rock's diameter, so few ships sit in a listed cell without being near its rock
(measured on the benchmark: 64 m lists 24 % of ships, 128 m lists 35 %)."""
_MAX_RASTER_CELLS: Final = 1 << 20  # cap (4 MB) on the raster; cells grow to respect it
# Extra reach so float32 rounding of a ship's cell can never hide a collider within reach.
_RASTER_SLACK: Final = 1.0

_EMPTY: Final = np.empty(0, dtype=np.intp)


class StaticColliders:
    """All static circles of a layout: x, y, r (float32), kind (STAR/STATION/ROCK) and index.

    `index` is the collider's number within its kind: the station's own index, the rock's
    position in `layout.rocks`, 0 for the star.

    Promise of `candidates`: every collider whose circle, grown by `margin`, contains a point is
    paired with that point (more may be paired; callers test exact distances).
    """

    def __init__(
        self, layout: ZoneLayout, *, margin: float = 0.0, cell_size: float = STATIC_CELL_SIZE
    ) -> None:
        if not (math.isfinite(margin) and margin >= 0):
            raise ValueError("margin must be a finite non-negative number")
        xs: list[float] = []
        ys: list[float] = []
        rs: list[float] = []
        kinds: list[int] = []
        indices: list[int] = []
        if layout.star_radius > 0:
            xs.append(0.0)
            ys.append(0.0)
            rs.append(layout.star_radius)
            kinds.append(STAR)
            indices.append(0)
        for s in layout.stations:
            if s.radius > 0:
                xs.append(s.x)
                ys.append(s.y)
                rs.append(s.radius)
                kinds.append(STATION)
                indices.append(s.index)
        for i, rock in enumerate(layout.rocks):
            if rock.r > 0:
                xs.append(rock.x)
                ys.append(rock.y)
                rs.append(rock.r)
                kinds.append(ROCK)
                indices.append(i)
        self.layout = layout
        self.margin = float(margin)
        self.x = np.array(xs, dtype=FLOAT)
        self.y = np.array(ys, dtype=FLOAT)
        self.r = np.array(rs, dtype=FLOAT)
        self.kind = np.array(kinds, dtype=np.uint8)
        self.index = np.array(indices, dtype=np.int32)
        self._build_raster(cell_size)
        self._build_los()

    def __len__(self) -> int:
        return int(self.x.size)

    def with_margin(self, margin: float) -> StaticColliders:
        """This set if its margin already covers `margin`, else a copy rasterised for it."""
        if margin <= self.margin:
            return self
        return StaticColliders(self.layout, margin=margin, cell_size=self._requested_cell)

    def _build_raster(self, cell_size: float) -> None:
        self._requested_cell = cell_size
        n = len(self)
        if n == 0:
            self._x0 = self._y0 = 0.0
            self._inv = 1.0 / cell_size
            self._nx = self._ny = 0
            self._width = 1
            empty_slot = np.zeros(1, dtype=np.int32)
            empty_table = np.full((1, 1), -1, dtype=np.int32)
            self._raster = (FLOAT(0), FLOAT(0), FLOAT(0), 0, 0, empty_slot, empty_table)
            return
        x = self.x.astype(np.float64)
        y = self.y.astype(np.float64)
        reach = self.r.astype(np.float64) + self.margin + _RASTER_SLACK
        x0, y0, cs, nx, ny = _grid_cover(x, y, reach, cell_size, _MAX_RASTER_CELLS)
        stride = ny + 2
        keys: list[NDArray[np.int64]] = []
        owners: list[NDArray[np.int32]] = []
        for i in range(n):
            ax = math.floor((x[i] - reach[i] - x0) / cs)
            bx = math.floor((x[i] + reach[i] - x0) / cs)
            ay = math.floor((y[i] - reach[i] - y0) / cs)
            by = math.floor((y[i] + reach[i] - y0) / cs)
            cx = np.arange(ax, bx + 1, dtype=np.int64)[:, None]
            cy = np.arange(ay, by + 1, dtype=np.int64)[None, :]
            # Keep cells whose nearest point to the centre is within reach (a disc, not a box:
            # the star's box corners would otherwise hand ships a useless candidate).
            near_x = np.clip(x[i], x0 + cx * cs, x0 + (cx + 1) * cs) - x[i]
            near_y = np.clip(y[i], y0 + cy * cs, y0 + (cy + 1) * cs) - y[i]
            inside = near_x * near_x + near_y * near_y <= reach[i] * reach[i]
            cell_keys = ((cx + 1) * stride + (cy + 1))[inside]
            keys.append(cell_keys)
            owners.append(np.full(cell_keys.size, i, dtype=np.int32))
        all_keys = np.concatenate(keys)
        all_owners = np.concatenate(owners)
        order = np.argsort(all_keys, kind="stable")  # stable: colliders ascending within a cell
        all_keys = all_keys[order]
        all_owners = all_owners[order]
        ncells = (nx + 2) * stride
        counts = np.bincount(all_keys, minlength=ncells)
        starts = np.zeros(ncells, dtype=np.int64)
        np.cumsum(counts[:-1], out=starts[1:])
        # Each occupied cell's colliders as one fixed-width row (-1 padded): expanding the
        # candidates is then a row gather and a mask instead of np.repeat over ragged ranges
        # (3x slower). The per-cell table holds only a small slot number (0 = empty), so a
        # zone's raster costs 4 bytes per cell however many colliders share a cell. int32
        # throughout: one dtype for the compiled kernels that read it (kernels.py).
        width = max(1, int(counts.max()))
        occupied = np.flatnonzero(counts)
        slot = np.zeros(ncells, dtype=np.int32)
        slot[occupied] = np.arange(1, occupied.size + 1)
        table = np.full((occupied.size + 1, width), -1, dtype=np.int32)
        table[slot[all_keys], np.arange(all_keys.size) - starts[all_keys]] = all_owners
        self._x0 = x0
        self._y0 = y0
        self._inv = 1.0 / cs
        self._nx = nx
        self._ny = ny
        # Cell of a point, shifted by one for the border ring: point * inv + offset.
        self._inv32 = FLOAT(self._inv)
        self._off_x = FLOAT(1.0 - x0 * self._inv)
        self._off_y = FLOAT(1.0 - y0 * self._inv)
        self._width = width
        self._raster = (self._inv32, self._off_x, self._off_y, nx, ny, slot, table)

    def _build_los(self) -> None:
        """The line-of-fire grid: every collider listed in each LOS_CELL_SIZE cell its
        bounding box (plus 1 m) touches, as CSR arrays (start, items)."""
        n = len(self)
        if n == 0:
            self._los = (0.0, 0.0, 1.0 / LOS_CELL_SIZE, 0, 0, np.zeros(1, np.int32),
                         np.zeros(0, np.int32))  # fmt: skip
            return
        x = self.x.astype(np.float64)
        y = self.y.astype(np.float64)
        reach = self.r.astype(np.float64) + _RASTER_SLACK
        x0, y0, cs, nx, ny = _grid_cover(x, y, reach, LOS_CELL_SIZE, _MAX_LOS_CELLS)
        keys: list[NDArray[np.int64]] = []
        owners: list[NDArray[np.int32]] = []
        for i in range(n):
            ax = math.floor((x[i] - reach[i] - x0) / cs)
            bx = min(math.floor((x[i] + reach[i] - x0) / cs), nx - 1)
            ay = math.floor((y[i] - reach[i] - y0) / cs)
            by = min(math.floor((y[i] + reach[i] - y0) / cs), ny - 1)
            cells = (
                np.arange(ax, bx + 1, dtype=np.int64)[:, None] * ny
                + np.arange(ay, by + 1, dtype=np.int64)[None, :]
            ).ravel()
            keys.append(cells)
            owners.append(np.full(cells.size, i, dtype=np.int32))
        all_keys = np.concatenate(keys)
        all_owners = np.concatenate(owners)
        order = np.argsort(all_keys, kind="stable")
        counts = np.bincount(all_keys, minlength=nx * ny)
        start = np.zeros(nx * ny + 1, dtype=np.int32)
        np.cumsum(counts, out=start[1:])
        self._los = (x0, y0, 1.0 / cs, nx, ny, start, all_owners[order].astype(np.int32))

    @property
    def los(
        self,
    ) -> tuple[float, float, float, int, int, NDArray[np.int32], NDArray[np.int32]]:
        """(x0, y0, inv, nx, ny, start, items): the line-of-fire grid as the combat kernels take
        it. Colliders of cell (cx, cy) are items[start[c]:start[c + 1]], c = cx * ny + cy."""
        return self._los

    def first_hits(
        self,
        x0: NDArray[np.float64],
        y0: NDArray[np.float64],
        x1: NDArray[np.float64],
        y1: NDArray[np.float64],
    ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """For each segment p0 -> p1: (t, collider) of the first static collider it enters
        (t in [0, 1] along it, 0 when p0 is inside one), or (inf, -1). Ties: lower collider."""
        k = np.asarray(x0).size
        out_t = np.empty(k, dtype=np.float64)
        out_j = np.empty(k, dtype=np.int64)
        arrays = tuple(np.ascontiguousarray(a, dtype=np.float64) for a in (x0, y0, x1, y1))
        args = (self.x, self.y, self.r, *self.los, *arrays, out_t, out_j)
        first_static_hits(*args)
        return out_t, out_j

    @property
    def cell_size(self) -> float:
        return 1.0 / self._inv

    def candidates(
        self, x: NDArray[np.floating], y: NDArray[np.floating]
    ) -> tuple[NDArray[np.intp], NDArray[np.int32]]:
        """(point, collider) pairs for every collider listed in each point's cell.

        Points are positions in `x`/`y`; pairs come grouped by point, ascending, and by collider
        index within a point. The same raster lookup the collision kernel does per ship.
        """
        n = x.size
        if n == 0 or len(self) == 0:
            return _EMPTY, np.empty(0, dtype=np.int32)
        xs = np.ascontiguousarray(x, dtype=FLOAT)
        ys = np.ascontiguousarray(y, dtype=FLOAT)
        pts = np.empty(n * self._width, dtype=np.int64)
        sts = np.empty(n * self._width, dtype=np.int32)
        k = raster_candidates(xs, ys, *self.raster, pts, sts)
        return pts[:k].astype(np.intp, copy=False), sts[:k]

    @property
    def raster(
        self,
    ) -> tuple[np.float32, np.float32, np.float32, int, int, NDArray[np.int32], NDArray[np.int32]]:
        """(inv, off_x, off_y, nx, ny, slot, table): the raster as the kernels take it. A point's
        cell is ``clip(p * inv + off, 0, n + 1)`` per axis (float32, border ring included)."""
        return self._raster


def _grid_cover(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    reach: NDArray[np.float64],
    min_cell: float,
    max_cells: int,
) -> tuple[float, float, float, int, int]:
    """The grid over every collider's disc of `reach`: its origin (x0, y0), its cell size
    (at least `min_cell`, larger when the area would need more than about `max_cells` cells)
    and its cell counts (nx, ny)."""
    x0 = float((x - reach).min())
    y0 = float((y - reach).min())
    width = float((x + reach).max()) - x0
    height = float((y + reach).max()) - y0
    cs = max(min_cell, math.sqrt(width * height / max_cells))
    return x0, y0, cs, math.floor(width / cs) + 1, math.floor(height / cs) + 1
