"""Digital elevation models from ground points: value, count and uncertainty per cell.

A cell's elevation is the mean (or min / max) of the ground points in it. The mean of
points spread evenly over a cell estimates the cell's area-average elevation, which is what
a volume needs, and it does not depend on how many points there are [1]_. With few points
per cell on a slope, where the points happen to lie moves the mean by up to slope * cell / 2;
the mean is therefore read at the cell centre on the local plane (slope from the neighbouring
cells, mean point offset from the centre), which removes that sampling noise. Empty cells are
either left empty or, inside the data's footprint, filled by a harmonic membrane (exact on
planes, see :func:`~ironfield.apps.survey.grid.fill_linear`); every DEM says which.

Uncertainty of a cell [m]: the standard error of its mean, sigma_r / sqrt(n), where sigma_r
is the spread of the points about the cell's local plane: the raw spread less the part a
slope g explains, g^2 c^2 / 12 for points uniform over a cell of side c [2]_. Cells with
fewer than three points, and filled cells, take the survey's median sigma_r.

.. [1] Wheaton et al. 2010, Accounting for uncertainty in DEMs from repeat topographic
   surveys, Earth Surf. Process. Landforms 35:136-156, sec. "DEM construction".
.. [2] Johnson, Kotz & Balakrishnan 1995, Continuous Univariate Distributions, vol. 2,
   2nd ed., ch. 26 (the uniform distribution: variance L^2 / 12).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ironfield.apps.survey.errors import EmptyGroundError
from ironfield.apps.survey.grid import CellStats, GridSpec, fill_linear, footprint
from ironfield.apps.survey.units import CrsInfo

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

METHODS = ("mean", "min", "max")
EMPTY = ("leave", "hull")


@dataclass
class Dem:
    """A gridded ground model. ``z`` and ``sigma`` [m] are NaN where there is no value."""

    spec: GridSpec
    z: F64
    sigma: F64
    count: npt.NDArray[np.int64]
    measured: B
    filled: B
    method: str
    empty: str
    crs: CrsInfo | None
    ground_points: int

    @property
    def valid(self) -> B:
        out: B = np.isfinite(self.z)
        return out

    def describe(self) -> dict[str, Any]:
        """Facts every result states: method, empty-cell policy, coverage, units."""
        n_valid = int(self.valid.sum())
        return {
            "cell_m": self.spec.cell,
            "method": self.method,
            "empty_cells": (
                "left empty" if self.empty == "leave"
                else "interpolated inside the data footprint (harmonic membrane)"
            ),
            "cells": self.spec.nx * self.spec.ny,
            "cells_measured": int(self.measured.sum()),
            "cells_interpolated": int(self.filled.sum()),
            "coverage": float(self.measured.sum()) / max(n_valid, 1),
            "ground_points": self.ground_points,
            "crs": self.crs.describe() if self.crs else "unknown",
            "extent_m": [
                self.spec.x0, self.spec.y0,
                self.spec.x0 + self.spec.nx * self.spec.cell,
                self.spec.y0 + self.spec.ny * self.spec.cell,
            ],
        }


def dem_from_stats(
    stats: CellStats, method: str = "mean", empty: str = "hull", crs: CrsInfo | None = None
) -> Dem:
    """Turn streamed per-cell statistics of ground points into a :class:`Dem`."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if empty not in EMPTY:
        raise ValueError(f"empty must be one of {EMPTY}, got {empty!r}")
    n, mean, std, zmin, zmax = stats.grids()
    measured = n > 0
    if not measured.any():
        raise EmptyGroundError("no ground points fall inside the grid")
    cell = stats.spec.cell
    zf = fill_linear(mean, measured, np.ones_like(measured), cell)
    gy, gx = np.gradient(zf, cell)
    if method == "mean":
        # centroid correction: the plane through the cell's mean point, read at the centre
        mx, my = stats.centroid_offsets()
        mean = mean - np.clip(gx * mx + gy * my, -cell, cell)
    z = {"mean": mean, "min": zmin, "max": zmax}[method]
    if empty == "hull":
        target = footprint(measured)
        z = fill_linear(z, measured, target, cell)
        z[~target] = np.nan
    filled = np.isfinite(z) & ~measured
    # spread about the local plane: remove the slope's share g^2 c^2 / 12
    var_res = np.maximum(std**2 - (gx**2 + gy**2) * cell * cell / 12.0, 0.0)
    sig_r = np.sqrt(var_res)
    good = measured & (n >= 3)
    typical = float(np.median(sig_r[good])) if good.any() else float(np.nanmedian(std))
    if not np.isfinite(typical):
        typical = 0.0
    sig_r = np.where(good, sig_r, typical)
    sigma = np.where(measured, sig_r / np.sqrt(np.maximum(n, 1)), typical)
    sigma[~np.isfinite(z)] = np.nan
    return Dem(stats.spec, z, sigma, n, measured, filled, method, empty, crs, int(n.sum()))


def dem_from_arrays(
    x: F64, y: F64, z: F64, cell: float, method: str = "mean", empty: str = "hull",
    crs: CrsInfo | None = None, spec: GridSpec | None = None,
) -> Dem:
    """DEM of in-memory ground points [m] (see :func:`dem_from_stats`)."""
    if x.size == 0:
        raise EmptyGroundError("no ground points")
    if spec is None:
        spec = GridSpec.covering(float(x.min()), float(y.min()), float(x.max()),
                                 float(y.max()), cell)
    stats = CellStats(spec, float(np.min(z)))
    stats.add(x, y, z)
    return dem_from_stats(stats, method, empty, crs)


# ---- GeoTIFF --------------------------------------------------------------------------

_TYPES = {"H": 3, "I": 4, "d": 12, "s": 2}


def write_geotiff(dem: Dem, path: Path | str, band: str = "z") -> None:
    """Write one band (``z``, ``sigma`` or ``count``) as a float32 GeoTIFF [1]_.

    Georeferencing is in the survey CRS's own unit (feet stay feet), elevations in metres
    (``VerticalUnitsGeoKey`` 9001); empty cells are NaN, declared as ``GDAL_NODATA``.

    .. [1] OGC 19-008r4 2019, GeoTIFF 1.1, sec. 7 (ModelPixelScale, ModelTiepoint, GeoKeys).
    """
    data = {"z": dem.z, "sigma": dem.sigma, "count": dem.count.astype(np.float64)}[band]
    img = np.ascontiguousarray(data[::-1].astype("<f4"))  # north-up rows
    ny, nx = img.shape
    f = dem.crs.h_factor if dem.crs else 1.0
    cell_u = dem.spec.cell / f
    x_left = dem.spec.x0 / f
    y_top = (dem.spec.y0 + ny * dem.spec.cell) / f
    unit_code = {"m": 9001, "ft": 9002, "us-ft": 9003}.get(dem.crs.h_unit if dem.crs else "m", 9001)
    keys = [(1024, 0, 1, 1), (1025, 0, 1, 1)]
    if dem.crs and dem.crs.epsg:
        keys.append((3072, 0, 1, dem.crs.epsg))
    keys += [(3076, 0, 1, unit_code), (4099, 0, 1, 9001)]
    geokeys = [1, 1, 0, len(keys)] + [v for k in keys for v in k]
    tags: list[tuple[int, str, list[Any] | bytes]] = [
        (256, "I", [nx]), (257, "I", [ny]), (258, "H", [32]), (259, "H", [1]),
        (262, "H", [1]), (273, "I", [0]), (277, "H", [1]), (278, "I", [ny]),
        (279, "I", [img.nbytes]), (284, "H", [1]), (339, "H", [3]),
        (33550, "d", [cell_u, cell_u, 0.0]),
        (33922, "d", [0.0, 0.0, 0.0, x_left, y_top, 0.0]),
        (34735, "H", geokeys),
        (42113, "s", b"nan\x00"),
    ]
    n_tags = len(tags)
    ifd_size = 2 + 12 * n_tags + 4
    extra_at = 8 + ifd_size
    extra = b""
    entries = b""
    pixel_at = 0
    for tag, typ, vals in tags:
        payload = vals if isinstance(vals, bytes) else struct.pack(f"<{len(vals)}{typ}", *vals)
        count = len(vals)
        if tag == 273:
            entries += struct.pack("<HHI", tag, _TYPES[typ], 1) + b"\0\0\0\0"
            continue
        if len(payload) <= 4:
            entries += struct.pack("<HHI", tag, _TYPES[typ], count) + payload.ljust(4, b"\0")
        else:
            entries += struct.pack("<HHII", tag, _TYPES[typ], count, extra_at + len(extra))
            extra += payload + (b"\0" if len(payload) % 2 else b"")
    pixel_at = extra_at + len(extra)
    # patch StripOffsets now that the pixel position is known
    idx = [t for t, _, _ in tags].index(273)
    off = 2 + 12 * idx + 8
    ifd = bytearray(struct.pack("<H", n_tags) + entries + b"\0\0\0\0")
    ifd[off : off + 4] = struct.pack("<I", pixel_at)
    with open(path, "wb") as fh:
        fh.write(b"II*\0" + struct.pack("<I", 8))
        fh.write(bytes(ifd))
        fh.write(extra)
        fh.write(img.tobytes())
