"""Cut and fill between two DEMs, with a minimum change and a level of detection.

A cell counts as changed only if ``|dz| >= max(min_change, k * sqrt(s1^2 + s2^2))``, the
second term being the level of detection of two independent cell uncertainties at
``k`` = 1.96 (95 %) [1]_. Volumes are sums of ``dz * cell^2`` over changed cells, the 2.5D
method of CloudCompare's "Compute 2.5D volume" [2]_, but on cell means rather than single
points, so the noise is averaged out before the threshold is applied.

.. [1] Brasington, Langham & Rumsby 2003, Methodological sensitivity of morphometric
   estimates of coarse fluvial sediment transport, Geomorphology 53:299-316 (LoD = t *
   sqrt(s1^2 + s2^2)); Wheaton et al. 2010, Earth Surf. Process. Landforms 35:136-156.
.. [2] CloudCompare 2.12 user manual, "Compute 2.5D Volume".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ironfield.apps.survey.dem import Dem
from ironfield.apps.survey.errors import NoOverlapError, UnitsError

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


@dataclass
class VolumeResult:
    """Cut, fill and net [m3] (net = fill - cut; negative when material was removed).

    Volumes cover ``area_m2``, where both surveys have ground. ``coverage`` is the share of
    it backed by measured points in both (the rest is interpolated under machines and
    gaps); ``overlap`` is that area over the two surveys' combined area.
    """

    cut_m3: float
    fill_m3: float
    net_m3: float
    area_m2: float
    changed_area_m2: float
    coverage: float
    cell_m: float
    min_change_m: float
    lod_k: float
    median_lod_m: float
    overlap: float
    empty_cells: str
    crs: str
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ChangeGrid:
    """Per-cell change after - before [m] on the common window, NaN outside; which cells
    passed the threshold; the window's origin [m] and cell [m]."""

    dz: F64
    significant: B
    x0: float
    y0: float
    cell: float


def _check_frames(a: Dem, b: Dem) -> None:
    if a.crs is not None and b.crs is not None and not a.crs.same_frame(b.crs):
        raise UnitsError(
            f"surveys are in different frames: before {a.crs.describe()}, after "
            f"{b.crs.describe()}; reproject one or pass the same units"
        )
    if not np.isclose(a.spec.cell, b.spec.cell):
        raise ValueError(f"cell sizes differ: {a.spec.cell} m vs {b.spec.cell} m")


def common_window(a: Dem, b: Dem) -> tuple[tuple[slice, slice], tuple[slice, slice], float, float]:
    """Index windows of the overlap of two lattice-aligned DEMs, and its origin [m]."""
    c = a.spec.cell
    ox = round((b.spec.x0 - a.spec.x0) / c)
    oy = round((b.spec.y0 - a.spec.y0) / c)
    ax0, ay0 = max(0, ox), max(0, oy)
    ax1, ay1 = min(a.spec.nx, ox + b.spec.nx), min(a.spec.ny, oy + b.spec.ny)
    if ax1 <= ax0 or ay1 <= ay0:
        ea = a.describe()["extent_m"]
        eb = b.describe()["extent_m"]
        raise NoOverlapError(
            f"surveys do not overlap: before covers {_fmt(ea)}, after covers {_fmt(eb)} [m]"
        )
    wa = (slice(ay0, ay1), slice(ax0, ax1))
    wb = (slice(ay0 - oy, ay1 - oy), slice(ax0 - ox, ax1 - ox))
    return wa, wb, a.spec.x0 + ax0 * c, a.spec.y0 + ay0 * c


def _fmt(e: list[float]) -> str:
    return f"x {e[0]:.1f}..{e[2]:.1f}, y {e[1]:.1f}..{e[3]:.1f}"


def cut_fill(
    before: Dem, after: Dem, min_change: float = 0.1, lod_k: float = 1.96
) -> tuple[VolumeResult, ChangeGrid]:
    """Cut, fill and net volume [m3] between two DEMs of the same cell size.

    ``min_change`` [m] and ``lod_k`` [-] (0 disables the level of detection) set which
    cells count as changed. Raises :class:`NoOverlapError` when the surveys share no
    valid cell and :class:`UnitsError` when their CRS or units differ.
    """
    _check_frames(before, after)
    wa, wb, x0, y0 = common_window(before, after)
    za, zb = before.z[wa], after.z[wb]
    both = np.isfinite(za) & np.isfinite(zb)
    if not both.any():
        raise NoOverlapError(
            "surveys share no cell with ground data (their extents overlap only where one "
            "of them has none)"
        )
    dz = np.where(both, zb - za, np.nan)
    lod = lod_k * np.sqrt(before.sigma[wa] ** 2 + after.sigma[wb] ** 2)
    thresh = np.maximum(min_change, np.where(both, lod, np.inf))
    sig = both & (np.abs(np.nan_to_num(dz)) >= thresh)
    area = before.spec.cell**2
    cut = float(-np.sum(dz[sig & (dz < 0)]) * area)
    fill = float(np.sum(dz[sig & (dz > 0)]) * area)
    meas = before.measured[wa] & after.measured[wb]
    n_both = int(both.sum())
    coverage = float((meas & both).sum()) / n_both
    warnings = []
    union = int(before.valid.sum()) + int(after.valid.sum()) - n_both
    overlap = n_both / max(union, 1)
    if overlap < 0.9:
        warnings.append(
            f"the surveys share {100 * overlap:.0f} % of their combined area; volumes cover "
            f"the shared {n_both * area:.0f} m2 only"
        )
    res = VolumeResult(
        cut_m3=cut,
        fill_m3=fill,
        net_m3=fill - cut,
        area_m2=n_both * area,
        changed_area_m2=float(sig.sum()) * area,
        coverage=coverage,
        cell_m=before.spec.cell,
        min_change_m=min_change,
        lod_k=lod_k,
        median_lod_m=float(np.nanmedian(np.where(both, lod, np.nan))),
        overlap=overlap,
        empty_cells=before.describe()["empty_cells"],
        crs=before.crs.describe() if before.crs else "unknown",
        warnings=warnings,
    )
    return res, ChangeGrid(dz, sig, x0, y0, before.spec.cell)
