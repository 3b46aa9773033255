"""A uniform spatial grid over 2D points: arrays in, row indices out.

Built in one vectorised pass (cell key per point, one sort, cell start/count arrays), so it
is cheap to rebuild every tick from the position columns. The zone rebuilds one for neighbour
queries; the gateway builds one over a published frame for area of interest. It knows nothing
about entities: a "row" is just an index into the x/y arrays it was built from.

Cells are anchored at the smallest coordinate present (or at fixed `bounds`, which also allows
incremental `update`), so negative and far-off coordinates need no offset tricks. When the
bounding box holds few enough cells, lookups index dense start/count arrays directly; otherwise
(points spread over a huge area) the grid keeps only the occupied cells and looks them up with
a binary search.
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
    - keeps its own copy of x and y, so the caller may keep mutating its arrays (the grid then
      describes the old positions until `update`).

    With ``bounds=(xmin, ymin, xmax, ymax)`` the cells are fixed to that rectangle (points
    outside it share the edge cells, still answered exactly) and `update` re-sorts only the
    points that changed cell: the zone's case, where a tick moves a few % of ships across a
    cell border.
    """

    order: NDArray[np.integer]
    """Row indices sorted by cell (rows ascending within a cell); int32 or int64."""
    _x: NDArray[np.floating]
    _y: NDArray[np.floating]
    _n: int
    _x0: float
    _y0: float
    _nx: int
    _ny: int
    _pad: float
    _dense: bool
    _bits: int
    _key: NDArray[np.integer]
    _packed: NDArray[np.unsignedinteger]
    _counts: NDArray[np.int64]
    _starts: NDArray[np.intp]
    _cell_keys: NDArray[np.int64]
    _cell_starts: NDArray[np.intp]
    _cell_counts: NDArray[np.intp]

    def __init__(
        self,
        x: ArrayLike,
        y: ArrayLike,
        cell_size: float,
        *,
        bounds: tuple[float, float, float, float] | None = None,
    ) -> None:
        if not (math.isfinite(cell_size) and cell_size > 0):
            raise ValueError(f"cell_size must be a positive finite number, not {cell_size!r}")
        self.cell_size = float(cell_size)
        self._inv = 1.0 / self.cell_size
        if bounds is not None:
            xmin, ymin, xmax, ymax = (float(b) for b in bounds)
            if not (all(map(math.isfinite, bounds)) and xmax > xmin and ymax > ymin):
                raise ValueError(f"bounds must be finite with max > min, not {bounds!r}")
            if max(xmax - xmin, ymax - ymin) * self._inv >= _MAX_CELL:
                raise ValueError("bounds span too many cells; use a larger cell_size")
            bounds = (xmin, ymin, xmax, ymax)
        self._bounds = bounds
        self._build(*self._coerce(x, y))

    @classmethod
    def build(
        cls,
        x: ArrayLike,
        y: ArrayLike,
        cell_size: float,
        *,
        bounds: tuple[float, float, float, float] | None = None,
    ) -> SpatialGrid:
        """Same as the constructor (reads well at call sites that rebuild every tick)."""
        return cls(x, y, cell_size, bounds=bounds)

    def update(self, x: ArrayLike, y: ArrayLike) -> None:
        """Re-bucket for new positions; afterwards the grid is exactly as if built anew.

        Incremental when the grid has `bounds` and the number of points is unchanged (rows
        keep their meaning as indices; which entity a row holds does not matter here).
        """
        xs, ys = self._coerce(x, y)
        if self._bounds is None or xs.size != self._n or self._n == 0:
            self._build(xs, ys)
            return
        key = self._keys(xs, ys)
        self._x = xs
        self._y = ys
        changed = np.flatnonzero(key != self._key)
        if changed.size == 0:
            return
        if changed.size > self._n // 8:  # a bulk move: sorting from scratch is cheaper
            self._sort(key)
            return
        # Move each changed row's packed entry from its old cell to its new one: two sorted
        # batches, located by binary search, removed and inserted in O(n) copies.
        ptype = self._packed.dtype.type
        bits = self._bits
        rows = changed.astype(ptype)
        old = (self._key[changed].astype(ptype) << bits) | rows
        new = (key[changed].astype(ptype) << bits) | rows
        old.sort()
        new.sort()
        packed = np.delete(self._packed, np.searchsorted(self._packed, old))
        packed = np.insert(packed, np.searchsorted(packed, new), new)
        ncells = self._nx * self._ny
        self._counts += np.bincount(key[changed], minlength=ncells)
        self._counts -= np.bincount(self._key[changed], minlength=ncells)
        np.cumsum(self._counts, out=self._starts[1:])
        self._packed = packed
        self._key = key
        self.order = packed & ((1 << bits) - 1)

    # -- building -----------------------------------------------------------------------------

    @staticmethod
    def _coerce(x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
        xs = np.array(x, copy=True)
        ys = np.array(y, copy=True)
        if xs.ndim != 1 or xs.shape != ys.shape:
            raise ValueError("x and y must be 1-D arrays of the same length")
        if xs.dtype.kind not in "fiu" or ys.dtype.kind not in "fiu":
            raise ValueError("x and y must be numeric")
        if xs.dtype != np.float32 or ys.dtype != np.float32:
            xs = xs.astype(np.float64, copy=False)
            ys = ys.astype(np.float64, copy=False)
        if xs.size and not (
            math.isfinite(xs.min() + xs.max()) and math.isfinite(ys.min() + ys.max())
        ):
            raise ValueError("coordinates must be finite")
        return xs, ys

    def _build(self, xs: NDArray[np.floating], ys: NDArray[np.floating]) -> None:
        self._x = xs
        self._y = ys
        n = xs.size
        self._n = n
        self._pad = _PAD_CELLS
        self._dense = True
        if self._bounds is not None:
            xmin, ymin, xmax, ymax = self._bounds
            self._x0 = xmin
            self._y0 = ymin
            self._nx = max(1, math.ceil((xmax - xmin) * self._inv))
            self._ny = max(1, math.ceil((ymax - ymin) * self._inv))
        elif n == 0:
            self._x0 = self._y0 = 0.0
            self._nx = self._ny = 0
        else:
            x0 = float(xs.min())
            y0 = float(ys.min())
            if max(float(xs.max()) - x0, float(ys.max()) - y0) * self._inv >= _MAX_CELL:
                raise ValueError("points span too many cells; use a larger cell_size")
            self._x0 = x0
            self._y0 = y0
            self._nx = self._ny = 0  # set from the keys
        if n == 0:
            self.order = _EMPTY
            self._key = np.empty(0, dtype=np.int32)
            self._counts = np.zeros(self._nx * self._ny, dtype=np.int64)
            self._starts = np.zeros(self._nx * self._ny + 1, dtype=np.intp)
            return
        self._sort(self._keys(xs, ys))

    def _keys(self, xs: NDArray[np.floating], ys: NDArray[np.floating]) -> NDArray[np.integer]:
        """Cell key (column * ny + row) of every point; sets nx, ny when not bounded."""
        # Cell arithmetic in the input's own float type (float32 positions stay float32, half
        # the cost); queries widen their cell span by `_pad` cells to absorb that rounding.
        ftype = xs.dtype.type
        inv = ftype(self._inv)
        bounded = self._bounds is not None
        t = np.subtract(xs, ftype(self._x0))
        t *= inv
        if bounded:  # points beyond the bounds share the edge cells
            np.clip(t, 0, self._nx - 1, out=t)
        # Non-negative, so truncation is floor. int32 when the cell count allows: 4x cheaper.
        itype = np.int32 if bounded and self._nx * self._ny < 1 << 31 else np.int64
        kx = t.astype(itype)
        np.subtract(ys, ftype(self._y0), out=t)
        t *= inv
        if bounded:
            np.clip(t, 0, self._ny - 1, out=t)
        ky = t.astype(itype)
        if not bounded:
            self._nx = int(kx.max()) + 1
            self._ny = int(ky.max()) + 1
        if ftype is np.float32:
            self._pad = _PAD_CELLS + 4 * float(np.finfo(np.float32).eps) * max(self._nx, self._ny)
        kx *= self._ny
        kx += ky
        return kx

    def _sort(self, key: NDArray[np.integer]) -> None:
        n = key.size
        ncells = self._nx * self._ny
        self._key = key
        if self._bounds is None:
            self._dense = ncells <= max(_DENSE_MIN_CELLS, _DENSE_CELLS_PER_POINT * n)
        # Sort (cell << bits | row) instead of argsort(cell): rows are unique, so this is the
        # stable order, and numpy's SIMD sort of plain ints is ~3x faster than an argsort.
        bits = max(1, (n - 1).bit_length())
        self._bits = bits
        if ncells << bits <= 1 << 64:
            ptype = np.uint32 if ncells << bits <= 1 << 32 else np.uint64
            packed: NDArray[np.unsignedinteger] = key.astype(ptype)
            packed <<= bits
            packed |= np.arange(n).astype(ptype)
            packed.sort()
            self._packed = packed
            self.order = packed & ((1 << bits) - 1)
            sorted_keys: NDArray[np.int64] = (packed >> bits).astype(np.int64)
        else:  # astronomically many cells: no room to pack, argsort instead
            self.order = np.argsort(key, kind="stable")
            sorted_keys = key[self.order].astype(np.int64)
        if self._dense:
            self._counts = np.bincount(key, minlength=ncells)
            self._starts = np.zeros(ncells + 1, dtype=np.intp)
            np.cumsum(self._counts, out=self._starts[1:])
        else:
            first = np.flatnonzero(np.diff(sorted_keys, prepend=np.int64(-1)))
            self._cell_keys = sorted_keys[first]
            self._cell_starts = first.astype(np.intp)
            self._cell_counts = np.diff(np.append(first, n)).astype(np.intp)

    # -- queries ------------------------------------------------------------------------------

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
        a = math.floor((lo - origin) * self._inv - pad)
        b = math.floor((hi - origin) * self._inv + pad)
        if self._bounds is not None:  # points outside the bounds live in the edge cells
            return min(max(a, 0), cells - 1), max(min(b, cells - 1), 0)
        return max(a, 0), min(b, cells - 1)

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
            rows = self.order[ranges_to_indices(starts, counts)].astype(np.intp)
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
        if self._bounds is not None:  # points outside the bounds live in the edge cells
            lox = np.clip(lox, 0, self._nx - 1).astype(np.int64)
            hix = np.clip(hix, 0, self._nx - 1).astype(np.int64)
            loy = np.clip(loy, 0, self._ny - 1).astype(np.int64)
            hiy = np.clip(hiy, 0, self._ny - 1).astype(np.int64)
        else:
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
        rows = self.order[ranges_to_indices(starts, counts)].astype(np.intp)
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
