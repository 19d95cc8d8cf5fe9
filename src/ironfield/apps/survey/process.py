"""One survey, start to finish, off the event loop: files -> DEM -> volumes -> stockpiles.

:func:`process_survey` is plain blocking code (the service runs it in a worker thread):
SMRF ground filter and DEM (:func:`.pipeline.build_dem`), cut/fill against the previous
survey's DEM (:func:`.volume.cut_fill`), the volume mined (:func:`mined_volume`), each
configured stockpile over its base
(:func:`.stockpile.stockpile_volume`), tonnes via density; it writes ``dem.tif``,
``dem.npz`` (the DEM kept for the next comparison) and the picture (``change.png`` over
the hillshade, or ``dem.png`` for a first survey) into the survey's folder. The caller
writes ``result.json`` last, so a folder without it is never a result.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.path import Path as MplPath

from ironfield.apps.survey.config import StockpileConfig, SurveyConfig
from ironfield.apps.survey.dem import Dem, write_geotiff
from ironfield.apps.survey.errors import NoOverlapError, PolygonError, UnitsError
from ironfield.apps.survey.grid import GridSpec
from ironfield.apps.survey.io import open_survey
from ironfield.apps.survey.pipeline import build_dem
from ironfield.apps.survey.polygon import read_polygon
from ironfield.apps.survey.render import change_png, dem_png
from ironfield.apps.survey.stockpile import stockpile_volume
from ironfield.apps.survey.units import CrsInfo
from ironfield.apps.survey.volume import ChangeGrid, cut_fill

#: (stage, fraction done 0..1) reported while a survey is processed
Progress = Callable[[str, float], None]


def save_dem(dem: Dem, path: Path) -> None:
    """Keep a DEM for the next survey's comparison (arrays + spec + CRS, no pickle)."""
    s = dem.spec
    meta = {"spec": [s.x0, s.y0, s.cell, s.nx, s.ny], "method": dem.method, "empty": dem.empty,
            "ground_points": dem.ground_points,
            "crs": None if dem.crs is None else asdict(dem.crs)}
    tmp = path.with_name(path.name + ".part.npz")
    np.savez_compressed(tmp, z=dem.z, sigma=dem.sigma, count=dem.count, measured=dem.measured,
                        filled=dem.filled, meta=np.array(json.dumps(meta)))
    tmp.replace(path)


def load_dem(path: Path) -> Dem:
    with np.load(path) as f:
        meta = json.loads(str(f["meta"]))
        x0, y0, cell, nx, ny = meta["spec"]
        crs = CrsInfo(**meta["crs"]) if meta["crs"] else None
        return Dem(GridSpec(float(x0), float(y0), float(cell), int(nx), int(ny)), f["z"], f["sigma"],
                   f["count"], f["measured"], f["filled"], meta["method"], meta["empty"], crs,
                   int(meta["ground_points"]))


def _ring(sp: StockpileConfig, dem: Dem, data_dir: Path) -> np.ndarray:
    if sp.ring is not None:
        return np.asarray(sp.ring, dtype=np.float64)
    assert sp.polygon is not None and dem.crs is not None
    p = Path(sp.polygon)
    e = dem.describe()["extent_m"]
    return read_polygon(p if p.is_absolute() else data_dir / p, dem.crs, (e[0], e[1], e[2], e[3]))


def _pit_ring(cfg: SurveyConfig, dem: Dem, data_dir: Path) -> np.ndarray | None:
    if cfg.pit is not None:
        return np.asarray(cfg.pit, dtype=np.float64)
    if cfg.pit_polygon is None:
        return None
    if dem.crs is None:
        raise PolygonError(f"{cfg.pit_polygon}: the survey has no CRS to place the polygon in")
    p = Path(cfg.pit_polygon)
    e = dem.describe()["extent_m"]
    return read_polygon(p if p.is_absolute() else data_dir / p, dem.crs, (e[0], e[1], e[2], e[3]))


def stockpiles(dem: Dem, cfg: SurveyConfig, data_dir: Path) -> list[dict[str, Any]]:
    """Each configured stockpile's volume and tonnes; one outside this flight is reported
    with its error (and no tonnes) instead of failing the whole survey."""
    out: list[dict[str, Any]] = []
    for sp in cfg.stockpiles:
        density = sp.density_t_m3 or cfg.stockpile_density_t_m3
        try:
            r = stockpile_volume(dem, _ring(sp, dem, data_dir), sp.base, density, sp.elevation)
        except PolygonError as e:
            out.append({"id": sp.id, "error": str(e), "tonnes": None, "complete": False})
            continue
        out.append({"id": sp.id, **r.to_dict()})
    return out


def mined_volume(change: ChangeGrid, pit: np.ndarray | None,
                 exclude: Sequence[np.ndarray]) -> tuple[float, str]:
    """Material removed [m3] = cut - fill over the significant cells inside ``pit`` (or
    everywhere) and outside the ``exclude`` rings (stockpiles), with how it was bounded.

    Net rather than gross cut: the speckle of two scans of a steep face is cut and fill
    in equal parts, and a pit's depletion is what the trucks carried away.
    """
    ny, nx = change.dz.shape
    xs = change.x0 + (np.arange(nx) + 0.5) * change.cell
    ys = change.y0 + (np.arange(ny) + 0.5) * change.cell
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    keep = np.ones(pts.shape[0], dtype=bool)
    if pit is not None:
        keep &= MplPath(pit).contains_points(pts)
    for ring in exclude:
        keep &= ~MplPath(ring).contains_points(pts)
    dz = np.where(change.significant & keep.reshape(ny, nx), np.nan_to_num(change.dz), 0.0)
    basis = "inside the pit polygon" if pit is not None else "the compared area"
    if exclude:
        basis += f" outside {len(exclude)} stockpile polygon(s)"
    return -float(dz.sum()) * change.cell**2, basis


def process_survey(
    paths: Sequence[Path], out_dir: Path, cfg: SurveyConfig, data_dir: Path,
    previous: Dem | None, progress: Progress | None = None,
) -> tuple[dict[str, Any], Dem]:
    """Process one survey (one or several tiles) into ``out_dir``; returns (figures, DEM).

    Raises the survey app's errors (:class:`CloudReadError`, :class:`EmptyGroundError`,
    ...) for a survey that cannot be processed; nothing it wrote is then a result.
    """
    survey = open_survey(list(paths))
    total = max(survey.point_count, 1)
    stages = {"ground model": 0, "grid": 1}
    done = {"ground model": 0, "grid": 0}

    def tick(stage: str, n: int, _total: int) -> None:
        done[stage] = done.get(stage, 0) + n
        if progress is not None:
            progress(stage, (stages.get(stage, 0) * total + done[stage]) / (2 * total) * 0.9)

    dem = build_dem(list(paths), cfg.cell_m, progress=tick)
    if progress is not None:
        progress("volumes", 0.9)
    warnings: list[str] = []
    volume: dict[str, Any] | None = None
    mined_m3: float | None = None
    change = None
    basis = ""
    if previous is not None:
        try:
            res, change = cut_fill(previous, dem, cfg.min_change_m, cfg.lod_k)
            volume = res.to_dict()
            warnings += res.warnings
        except (NoOverlapError, UnitsError, ValueError) as e:
            warnings.append(f"not compared with the previous survey: {e}")
    if change is not None:
        rings = []
        for sp in cfg.stockpiles:
            try:
                rings.append(_ring(sp, dem, data_dir))
            except PolygonError:
                continue  # reported in the stockpile's own row
        try:
            pit = _pit_ring(cfg, dem, data_dir)
        except PolygonError as e:
            # no figure rather than one over the wrong area
            warnings.append(f"mined volume not computed: pit_polygon {e}")
        else:
            mined_m3, basis = mined_volume(change, pit, rings)
    piles = stockpiles(dem, cfg, data_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_geotiff(dem, out_dir / "dem.tif")
    save_dem(dem, out_dir / "dem.npz")
    if change is not None and volume is not None:
        change_png(change, dem, res, out_dir / "change.png", dpi=80)
        image = "change.png"
    else:
        dem_png(dem, out_dir / "dem.png", dpi=80)
        image = "dem.png"
    d = dem.describe()
    coverage = volume["coverage"] if volume is not None else d["coverage"]
    result = {
        "files": [p.name for p in survey.paths],
        "points": survey.point_count,
        "dem": d,
        "volume": volume,
        "mined_m3": mined_m3,
        "mined_basis": basis,
        "mined_t": None if mined_m3 is None else mined_m3 * cfg.density_t_m3,
        "density_t_m3": cfg.density_t_m3,
        "coverage": coverage,
        "stockpiles": piles,
        "image": image,
        "warnings": warnings,
    }
    return result, dem
