"""Regular grids over a survey: cell lattice, streaming per-cell statistics, hole filling.

Every grid's origin is a multiple of its cell size, so two surveys gridded at the same
cell size share one lattice and compare cell by cell with no resampling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage, sparse
from scipy.sparse.linalg import cg, spsolve

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

MAX_CELLS = 400_000_000


@dataclass(frozen=True)
class GridSpec:
    """A cell lattice: lower-left corner (``x0``, ``y0``) [m], ``cell`` [m], ``nx`` x ``ny``.

    Row ``iy`` runs south to north, column ``ix`` west to east.
    """

    x0: float
    y0: float
    cell: float
    nx: int
    ny: int

    @classmethod
    def covering(cls, xmin: float, ymin: float, xmax: float, ymax: float, cell: float) -> GridSpec:
        """The smallest lattice-aligned grid holding the box [m]."""
        if cell <= 0:
            raise ValueError(f"cell size must be positive, got {cell}")
        x0 = np.floor(xmin / cell) * cell
        y0 = np.floor(ymin / cell) * cell
        nx = int(np.floor((xmax - x0) / cell)) + 1
        ny = int(np.floor((ymax - y0) / cell)) + 1
        if nx * ny > MAX_CELLS:
            raise ValueError(f"{nx} x {ny} cells of {cell} m is too many; use a larger cell")
        return cls(float(x0), float(y0), float(cell), nx, ny)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.ny, self.nx)

    def flat_index(self, x: F64, y: F64) -> tuple[I64, B]:
        """Flat cell index of each point and whether it falls inside the grid."""
        ix = np.floor((x - self.x0) / self.cell).astype(np.int64)
        iy = np.floor((y - self.y0) / self.cell).astype(np.int64)
        ok = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        return iy * self.nx + ix, ok

    def centres(self) -> tuple[F64, F64]:
        """Cell-centre coordinates [m] as 1-D arrays (x along columns, y along rows)."""
        xs: F64 = self.x0 + (np.arange(self.nx, dtype=np.float64) + 0.5) * self.cell
        ys: F64 = self.y0 + (np.arange(self.ny, dtype=np.float64) + 0.5) * self.cell
        return xs, ys

    def coarsen(self, k: int) -> GridSpec:
        return GridSpec(self.x0, self.y0, self.cell * k, -(-self.nx // k), -(-self.ny // k))


class CellStats:
    """Streaming per-cell count, mean, variance, minimum and maximum of z.

    Sums are kept relative to ``zref`` in float64, so the variance of a few centimetres
    survives elevations of thousands of metres.
    """

    def __init__(self, spec: GridSpec, zref: float = 0.0) -> None:
        self.spec = spec
        self.zref = zref
        size = spec.nx * spec.ny
        self.n = np.zeros(size, dtype=np.int64)
        self.s = np.zeros(size, dtype=np.float64)
        self.ss = np.zeros(size, dtype=np.float64)
        self.zmin = np.full(size, np.inf, dtype=np.float32)
        self.zmax = np.full(size, -np.inf, dtype=np.float32)
        # point offsets from their cell centre, for the centroid (slope) correction
        self.sx = np.zeros(size, dtype=np.float64)
        self.sy = np.zeros(size, dtype=np.float64)

    def add(self, x: F64, y: F64, z: F64) -> None:
        idx, ok = self.spec.flat_index(x, y)
        if not ok.all():
            idx, x, y, z = idx[ok], x[ok], y[ok], z[ok]
        if idx.size == 0:
            return
        c = self.spec.cell
        ox = (x - self.spec.x0) - (idx % self.spec.nx + 0.5) * c
        oy = (y - self.spec.y0) - (idx // self.spec.nx + 0.5) * c
        d = z - self.zref
        size = self.n.size
        self.n += np.bincount(idx, minlength=size)
        self.s += np.bincount(idx, weights=d, minlength=size)
        self.ss += np.bincount(idx, weights=d * d, minlength=size)
        self.sx += np.bincount(idx, weights=ox, minlength=size)
        self.sy += np.bincount(idx, weights=oy, minlength=size)
        zf = d.astype(np.float32)
        np.minimum.at(self.zmin, idx, zf)
        np.maximum.at(self.zmax, idx, zf)

    def centroid_offsets(self) -> tuple[F64, F64]:
        """Mean offset [m] of each cell's points from the cell centre (x, y); 0 if empty."""
        with np.errstate(invalid="ignore", divide="ignore"):
            mx = np.where(self.n > 0, self.sx / self.n, 0.0)
            my = np.where(self.n > 0, self.sy / self.n, 0.0)
        return mx.reshape(self.spec.shape), my.reshape(self.spec.shape)

    def grids(self) -> tuple[npt.NDArray[np.int64], F64, F64, F64, F64]:
        """(count, mean, std, min, max) as 2-D arrays [m]; NaN where a cell is empty."""
        shape = self.spec.shape
        n = self.n.reshape(shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = self.s / self.n
            var = np.maximum(self.ss / self.n - mean * mean, 0.0)
        empty = self.n == 0
        mean[empty] = np.nan
        var[empty] = np.nan
        zmin = self.zmin.astype(np.float64)
        zmax = self.zmax.astype(np.float64)
        zmin[empty] = np.nan
        zmax[empty] = np.nan
        return (
            n,
            (mean + self.zref).reshape(shape),
            np.sqrt(var).reshape(shape),
            (zmin + self.zref).reshape(shape),
            (zmax + self.zref).reshape(shape),
        )


def min_grid(spec: GridSpec, x: F64, y: F64, z: F64, out: F64 | None = None) -> F64:
    """Per-cell minimum z [m] (``inf`` where empty), accumulating into ``out`` if given."""
    g = np.full(spec.nx * spec.ny, np.inf) if out is None else out.reshape(-1)
    idx, ok = spec.flat_index(x, y)
    np.minimum.at(g, idx[ok], z[ok])
    return g.reshape(spec.shape)


def footprint(known: B, close_cells: int = 2) -> B:
    """Cells inside the data's footprint: known cells, gaps up to ``2*close_cells`` wide,
    and every hole the data encloses (not connected to the grid's edge)."""
    if close_cells > 0:
        st = ndimage.generate_binary_structure(2, 1)
        padded = np.pad(known, close_cells + 1)
        closed = ndimage.binary_closing(padded, st, iterations=close_cells)
        closed = closed[close_cells + 1 : -close_cells - 1, close_cells + 1 : -close_cells - 1]
    else:
        closed = known
    out: B = ndimage.binary_fill_holes(closed | known)
    return out


def fill_linear(z: F64, known: B, target: B, cell: float = 1.0) -> F64:
    """Fill ``target`` cells of ``z`` that are not ``known`` with a harmonic (membrane)
    interpolation of the known cells [1]_; returns a new array.

    The membrane solves Laplace's equation with the known cells as fixed boundary, the
    raster form of Pingel et al.'s "springs" inpainting [2]_: it reproduces any plane
    exactly (a plane is harmonic), never overshoots the surrounding data (maximum principle),
    and costs one sparse solve over the unknown cells only. Unknown cells with no known cell
    in their connected region take the nearest known value. ``cell`` is unused (the
    solution does not depend on it) and kept for a uniform signature.

    .. [1] Evans 2010, Partial Differential Equations, 2nd ed., sec. 2.2 (Laplace's equation,
       maximum principle).
    .. [2] D'Errico 2004, inpaint_nans (MATLAB Central 4551), method 4 "springs", as used
       by Pingel et al. 2013.
    """
    del cell
    out = z.copy()
    todo = target & ~known
    if not todo.any():
        return out
    if not known.any():
        raise ValueError("no known cells to interpolate from")
    ny, nx = z.shape
    m = int(todo.sum())
    idx = np.full(z.shape, -1, dtype=np.int64)
    idx[todo] = np.arange(m)
    diag = np.zeros(m)
    rhs = np.zeros(m)
    rows: list[I64] = []
    cols: list[I64] = []
    zk = np.where(known, z, 0.0)
    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        # neighbour (iy+dy, ix+dx) of every unknown cell that has one inside the grid
        sy = slice(max(0, -dy), ny - max(0, dy))
        sx = slice(max(0, -dx), nx - max(0, dx))
        ty = slice(max(0, dy), ny - max(0, -dy))
        tx = slice(max(0, dx), nx - max(0, -dx))
        me = idx[sy, sx]
        nb_idx = idx[ty, tx]
        nb_known = known[ty, tx]
        sel = me >= 0
        ii = me[sel]
        nbk = nb_known[sel]
        nbi = nb_idx[sel]
        use = nbk | (nbi >= 0)
        np.add.at(diag, ii[use], 1.0)
        np.add.at(rhs, ii[nbk], zk[ty, tx][sel][nbk])
        link = nbi >= 0
        rows.append(ii[link])
        cols.append(nbi[link])
    anchored = _anchored(todo, known)
    if not anchored.all():
        # regions that touch no known cell: nearest value, then fixed
        _, (iy, ix) = ndimage.distance_transform_edt(~known, return_indices=True)
        lone = todo & ~anchored
        out[lone] = z[iy[lone], ix[lone]]
        fix = np.zeros(m, dtype=bool)
        fix[idx[lone]] = True
        diag[fix] = 1.0
        rhs[fix] = out[lone][np.argsort(idx[lone])]
        r = np.concatenate(rows)
        c = np.concatenate(cols)
        keep = ~fix[r]
        rows, cols = [r[keep]], [c[keep]]
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    a = sparse.csr_matrix(
        (np.concatenate([diag, -np.ones(r.size)]), (np.concatenate([np.arange(m), r]),
                                                     np.concatenate([np.arange(m), c]))),
        shape=(m, m),
    )
    if m <= 300_000:
        sol = spsolve(a.tocsc(), rhs)
    else:
        _, (iy, ix) = ndimage.distance_transform_edt(~known, return_indices=True)
        x0 = z[iy, ix][todo]
        sol, _info = cg(a, rhs, x0=x0, rtol=1e-8, maxiter=2000)
    out[todo] = sol
    return out


def _anchored(todo: B, known: B) -> B:
    """Cells of ``todo`` whose 4-connected region touches a known cell."""
    lab, n = ndimage.label(todo)
    if n == 0:
        return todo
    touch = ndimage.binary_dilation(known) & todo
    good = np.zeros(n + 1, dtype=bool)
    good[np.unique(lab[touch])] = True
    good[0] = False
    out: B = good[lab]
    return out


def hillshade(z: F64, cell: float, azimuth: float = 315.0, altitude: float = 45.0) -> F64:
    """Hillshade in [0, 1] by Horn's slope and aspect [1]_ [2]_; NaN stays NaN.

    ``azimuth`` [deg clockwise from north], ``altitude`` [deg above the horizon].

    .. [1] Horn 1981, Hill shading and the reflectance map, Proc. IEEE 69(1):14-47.
    .. [2] Burrough & McDonnell 1998, Principles of GIS, sec. 8.3 (hillshade formula).
    """
    filled = np.where(np.isfinite(z), z, np.nanmean(z) if np.isfinite(z).any() else 0.0)
    # rows run south->north, so +row is +y (north)
    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64) / (8 * cell)
    dzdx = ndimage.correlate(filled, kx, mode="nearest")
    dzdy = ndimage.correlate(filled, kx.T, mode="nearest")
    slope = np.arctan(np.hypot(dzdx, dzdy))
    aspect = np.arctan2(-dzdx, -dzdy)  # direction the slope faces, clockwise from north
    zen = np.radians(90.0 - altitude)
    az = np.radians(azimuth)
    shade = np.cos(zen) * np.cos(slope) + np.sin(zen) * np.sin(slope) * np.cos(az - aspect)
    out: F64 = np.clip(shade, 0.0, 1.0)
    out[~np.isfinite(z)] = np.nan
    return out
