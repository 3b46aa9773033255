"""A uniform spatial grid over 2D points: arrays in, row indices out.

Built in one vectorised pass (cell key per point, one argsort, cell start/count arrays), so it
is cheap to rebuild every tick from the position columns. The zone rebuilds one for neighbour
queries; the gateway builds one over a published frame for area of interest. It knows nothing
about entities: a "row" is just an index into the x/y arrays it was built from.

Cells are anchored at the smallest coordinate present, so negative and far-off coordinates need
no offset tricks. When the occupied bounding box holds few enough cells, lookups index dense
start/count arrays directly; otherwise (points spread over a huge area) the grid keeps only the
occupied cells and looks them up with a binary search.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

# Dense lookup tables are used while the bounding box has at most this many cells per point
# (plus a floor for small inputs); beyond it the sparse table keeps memory proportional to n.
_DENSE_CELLS_PER_POINT: Final = 8
_DENSE_MIN_CELLS: Final = 1 << 16
# Largest cell coordinate we accept; keeps keys well inside int64.
_MAX_CELL: Final = 1 << 30
# Query rectangles are widened by this fraction of a cell so rounding in the cell arithmetic
# can never drop a point that the exact float64 distance test would accept.
_PAD_CELLS: Final = 1e-6

_EMPTY: Final = np.empty(0, dtype=np.intp)


def ranges_to_indices(starts: NDArray[np.integer], counts: NDArray[np.integer]) -> NDArray[np.intp]:
    """Concatenate ``arange(s, s + c)`` for every (s, c) pair, vectorised.

    The classic trick: repeat each range's start shifted back by the running total, then add a
    global arange. Zero counts are allowed.
    """
    counts = counts.astype(np.intp, copy=False)
    total = int(counts.sum())
    if total == 0:
        return _EMPTY
    ends = np.cumsum(counts)
    shift = starts.astype(np.intp, copy=False) - (ends - counts)
    return np.repeat(shift, counts) + np.arange(total, dtype=np.intp)


class SpatialGrid:
    """Points bucketed into square cells of side `cell_size`.

    Promises:
    - `query_radius` returns exactly the rows whose point lies within distance r of the centre
      (``dx*dx + dy*dy <= r*r`` evaluated in float64), ascending;
    - `query_many` returns the same answers for many centres at once as (query, row) pairs;
    - works for any finite coordinates, negative included; ValueError for non-finite ones;
    - the grid copies nothing it does not need, but keeps its own copy of x and y, so the
      caller may keep mutating its arrays (the grid then describes the old positions).
    """

    def __init__(self, x: ArrayLike, y: ArrayLike, cell_size: float) -> None:
        if not (math.isfinite(cell_size) and cell_size > 0):
            raise ValueError(f"cell_size must be a positive finite number, not {cell_size!r}")
        xs = np.array(x, copy=True)
        ys = np.array(y, copy=True)
        if xs.ndim != 1 or xs.shape != ys.shape:
            raise ValueError("x and y must be 1-D arrays of the same length")
        if xs.dtype.kind not in "fiu":
            raise ValueError("x and y must be numeric")
        if xs.dtype != np.float32 or ys.dtype != np.float32:
            xs = xs.astype(np.float64, copy=False)
            ys = ys.astype(np.float64, copy=False)
        self.cell_size = float(cell_size)
        self._inv = 1.0 / self.cell_size
        self._x = xs
        self._y = ys
        n = xs.size
        self._n = n
        self._pad = _PAD_CELLS
        if n == 0:
            self._x0 = self._y0 = 0.0
            self._nx = self._ny = 0
            self.order = _EMPTY
            self._dense = True
            self._starts = np.zeros(1, dtype=np.intp)
            return
        x0 = float(xs.min())
        y0 = float(ys.min())
        x1 = float(xs.max())
        y1 = float(ys.max())
        if not all(map(math.isfinite, (x0, y0, x1, y1))):
            raise ValueError("coordinates must be finite")
        if max(x1 - x0, y1 - y0) * self._inv >= _MAX_CELL:
            raise ValueError("points span too many cells; use a larger cell_size")
        self._x0 = x0
        self._y0 = y0
        # Cell arithmetic in the input's own float type (float32 positions stay float32, half
        # the cost); queries widen their cell span by `_pad` cells to absorb that rounding.
        ftype = xs.dtype.type
        inv = ftype(self._inv)
        t = np.subtract(xs, ftype(x0))
        t *= inv
        kx = t.astype(np.int64)  # non-negative by construction, so truncation is floor
        np.subtract(ys, ftype(y0), out=t)
        t *= inv
        ky = t.astype(np.int64)
        self._nx = nx = int(kx.max()) + 1
        self._ny = ny = int(ky.max()) + 1
        if ftype is np.float32:
            self._pad = _PAD_CELLS + 4 * float(np.finfo(np.float32).eps) * max(nx, ny)
        key = kx
        key *= ny
        key += ky
        ncells = nx * ny
        self._dense = ncells <= max(_DENSE_MIN_CELLS, _DENSE_CELLS_PER_POINT * n)
        # Sort (cell << bits | row) instead of argsort(cell): rows are unique so the result is
        # the stable order, and numpy's SIMD sort of plain ints is ~3x faster than argsort.
        bits = max(1, (n - 1).bit_length())
        if ncells << bits < 1 << 62:
            ctype = np.int32 if ncells << bits < 1 << 31 else np.int64
            packed = key.astype(ctype)
            packed <<= bits
            packed |= np.arange(n, dtype=ctype)
            packed.sort()
            self.order = (packed & ((1 << bits) - 1)).astype(np.intp)
            sorted_keys = (packed >> bits).astype(np.int64)
        else:
            self.order = np.argsort(key, kind="stable")
            sorted_keys = key[self.order]
        if self._dense:
            counts = np.bincount(key, minlength=ncells)
            self._starts = np.zeros(ncells + 1, dtype=np.intp)
            np.cumsum(counts, out=self._starts[1:])
        else:
            first = np.flatnonzero(np.diff(sorted_keys, prepend=np.int64(-1)))
            self._cell_keys = sorted_keys[first]
            self._cell_starts = first.astype(np.intp)
            self._cell_counts = np.diff(np.append(first, n)).astype(np.intp)

    @classmethod
    def build(cls, x: ArrayLike, y: ArrayLike, cell_size: float) -> SpatialGrid:
        """Same as the constructor (reads well at call sites that rebuild every tick)."""
        return cls(x, y, cell_size)

    def __len__(self) -> int:
        return self._n

    def _lookup(self, keys: NDArray[np.int64]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Start offsets into `order` and point counts for each cell key (keys in range)."""
        if self._dense:
            starts = self._starts[keys]
            return starts, self._starts[keys + 1] - starts
        pos = np.searchsorted(self._cell_keys, keys)
        pos_c = np.minimum(pos, self._cell_keys.size - 1)
        hit = self._cell_keys[pos_c] == keys
        starts = np.where(hit, self._cell_starts[pos_c], 0)
        counts = np.where(hit, self._cell_counts[pos_c], 0)
        return starts, counts

    def _span(self, lo: float, hi: float, origin: float, cells: int) -> tuple[int, int]:
        pad = self._pad
        a = max(math.floor((lo - origin) * self._inv - pad), 0)
        b = min(math.floor((hi - origin) * self._inv + pad), cells - 1)
        return a, b

    def query_radius(self, cx: float, cy: float, r: float) -> NDArray[np.intp]:
        """Rows of the points within distance `r` of (cx, cy), ascending. r < 0 finds nothing."""
        if self._n == 0 or not r >= 0:
            return _EMPTY
        if not (math.isfinite(cx) and math.isfinite(cy) and math.isfinite(r)):
            raise ValueError("query centre and radius must be finite")
        ax, bx = self._span(cx - r, cx + r, self._x0, self._nx)
        ay, by = self._span(cy - r, cy + r, self._y0, self._ny)
        if ax > bx or ay > by:
            return _EMPTY
        if (bx - ax + 1) * (by - ay + 1) > self._n:
            # The circle covers more cells than there are points: scanning every point is
            # cheaper than visiting the cells (and bounds the cost of huge radii).
            rows = np.arange(self._n, dtype=np.intp)
        else:
            keys = (
                np.arange(ax, bx + 1, dtype=np.int64)[:, None] * self._ny
                + np.arange(ay, by + 1, dtype=np.int64)[None, :]
            ).ravel()
            starts, counts = self._lookup(keys)
            rows = self.order[ranges_to_indices(starts, counts)]
            if rows.size == 0:
                return _EMPTY
        dx = self._x[rows].astype(np.float64) - cx
        dy = self._y[rows].astype(np.float64) - cy
        rows = rows[dx * dx + dy * dy <= r * r]
        rows.sort()
        return rows

    def query_many(
        self, cx: ArrayLike, cy: ArrayLike, r: float
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """All (query index, row) pairs with the row's point within `r` of that query centre.

        Vectorised over the centres (one pass, no Python loop per query). Pairs come sorted by
        query index, then row. Memory grows with ``len(cx) * (2r / cell_size + 2) ** 2``, so
        keep r within a few cells.
        """
        qx = np.asarray(cx, dtype=np.float64).ravel()
        qy = np.asarray(cy, dtype=np.float64).ravel()
        if qx.shape != qy.shape:
            raise ValueError("cx and cy must have the same length")
        if self._n == 0 or qx.size == 0 or not r >= 0:
            return _EMPTY, _EMPTY
        if not (math.isfinite(r) and np.isfinite(qx).all() and np.isfinite(qy).all()):
            raise ValueError("query centres and radius must be finite")
        width = math.floor(2 * r * self._inv + 2 * self._pad) + 2
        if width * width > self._n:
            return self._query_many_scan(qx, qy, r)
        pad = self._pad
        lox = np.floor((qx - r - self._x0) * self._inv - pad)
        hix = np.floor((qx + r - self._x0) * self._inv + pad)
        loy = np.floor((qy - r - self._y0) * self._inv - pad)
        hiy = np.floor((qy + r - self._y0) * self._inv + pad)
        lox = np.clip(lox, 0, self._nx).astype(np.int64)
        hix = np.clip(hix, -1, self._nx - 1).astype(np.int64)
        loy = np.clip(loy, 0, self._ny).astype(np.int64)
        hiy = np.clip(hiy, -1, self._ny - 1).astype(np.int64)
        off = np.arange(width, dtype=np.int64)
        # Every query gets a width x width window of cells; cells past its own span are masked.
        ix = lox[:, None, None] + off[None, :, None]
        iy = loy[:, None, None] + off[None, None, :]
        ok = (ix <= hix[:, None, None]) & (iy <= hiy[:, None, None])
        q_of_cell = np.broadcast_to(np.arange(qx.size)[:, None, None], ok.shape)[ok]
        keys = (ix * self._ny + iy)[ok]
        starts, counts = self._lookup(keys)
        rows = self.order[ranges_to_indices(starts, counts)]
        qi = np.repeat(q_of_cell, counts)
        if rows.size == 0:
            return _EMPTY, _EMPTY
        dx = self._x[rows].astype(np.float64) - qx[qi]
        dy = self._y[rows].astype(np.float64) - qy[qi]
        keep = dx * dx + dy * dy <= r * r
        qi = qi[keep]
        rows = rows[keep]
        order = np.lexsort((rows, qi))
        return qi[order].astype(np.intp), rows[order]

    def _query_many_scan(
        self, qx: NDArray[np.float64], qy: NDArray[np.float64], r: float
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """`query_many` by testing every point, in chunks of queries to bound memory."""
        px = self._x.astype(np.float64)
        py = self._y.astype(np.float64)
        chunk = max(1, (1 << 22) // self._n)
        out_q: list[NDArray[np.intp]] = []
        out_r: list[NDArray[np.intp]] = []
        for lo in range(0, qx.size, chunk):
            dx = px[None, :] - qx[lo : lo + chunk, None]
            dy = py[None, :] - qy[lo : lo + chunk, None]
            q, rows = np.nonzero(dx * dx + dy * dy <= r * r)
            out_q.append(q.astype(np.intp) + lo)
            out_r.append(rows.astype(np.intp))
        return np.concatenate(out_q), np.concatenate(out_r)
