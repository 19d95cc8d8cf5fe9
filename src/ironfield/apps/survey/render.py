"""PNG pictures: the change heatmap over the hillshade, and a hillshaded DEM (matplotlib Agg).

Colours: cut in red, fill in blue (a diverging map centred on zero, symmetric about it so a
colour means the same depth either way); cells below the threshold are not coloured.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from ironfield.apps.survey.dem import Dem
from ironfield.apps.survey.grid import hillshade
from ironfield.apps.survey.volume import ChangeGrid, VolumeResult


def change_png(
    change: ChangeGrid, after: Dem, result: VolumeResult, path: Path | str, dpi: int = 110
) -> None:
    """Write the change heatmap [m] over the after-survey hillshade to ``path``."""
    ox = round((change.x0 - after.spec.x0) / after.spec.cell)
    oy = round((change.y0 - after.spec.y0) / after.spec.cell)
    ny, nx = change.dz.shape
    base = after.z[oy : oy + ny, ox : ox + nx]
    shade = hillshade(base, change.cell)
    dz = np.where(change.significant, change.dz, np.nan)
    lim = float(np.nanpercentile(np.abs(dz), 99)) if np.isfinite(dz).any() else 1.0
    lim = max(lim, result.min_change_m * 2)
    extent = (change.x0, change.x0 + nx * change.cell, change.y0, change.y0 + ny * change.cell)
    fig = Figure(figsize=(8, 8 * ny / max(nx, 1) + 0.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(shade, cmap="gray", origin="lower", extent=extent, vmin=0, vmax=1)
    im = ax.imshow(dz, cmap="RdBu", origin="lower", extent=extent, alpha=0.85,
                   norm=TwoSlopeNorm(vcenter=0.0, vmin=-lim, vmax=lim))
    fig.colorbar(im, ax=ax, label="change after - before [m]", shrink=0.8)
    ax.set_title(
        f"cut {result.cut_m3:,.0f} m³  fill {result.fill_m3:,.0f} m³  net {result.net_m3:+,.0f} m³"
        f"\ncell {result.cell_m:g} m, min change {result.min_change_m:g} m, "
        f"coverage {100 * result.coverage:.1f} %",
        fontsize=10,
    )
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    ax.ticklabel_format(useOffset=False, style="plain")
    fig.tight_layout()
    fig.savefig(str(path), dpi=dpi)


def dem_png(dem: Dem, path: Path | str, dpi: int = 110) -> None:
    """Write a hillshade of ``dem`` tinted by elevation [m] to ``path``."""
    shade = hillshade(dem.z, dem.spec.cell)
    s = dem.spec
    extent = (s.x0, s.x0 + s.nx * s.cell, s.y0, s.y0 + s.ny * s.cell)
    fig = Figure(figsize=(8, 8 * s.ny / max(s.nx, 1) + 0.6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(shade, cmap="gray", origin="lower", extent=extent, vmin=0, vmax=1)
    im = ax.imshow(dem.z, cmap="terrain", origin="lower", extent=extent, alpha=0.45)
    fig.colorbar(im, ax=ax, label="elevation [m]", shrink=0.8)
    ax.set_title(f"DEM {s.cell:g} m, {dem.method}, {dem.describe()['empty_cells']}", fontsize=9)
    ax.ticklabel_format(useOffset=False, style="plain")
    fig.tight_layout()
    fig.savefig(str(path), dpi=dpi)
