"""Survey pipeline throughput and memory against whitebox-workflows, same clouds, same run.

    .venv/bin/python bench/survey_pipeline.py --points 4000000

Generates a synthetic pit survey pair (ironfield.apps.survey.synth: box cut, benches,
cone stockpile, machines, trees, 3 cm noise) as LAZ files with the truth in the class
field, then runs in separate child processes (so each has its own peak memory):

* ironfield: read -> SMRF ground filter -> 0.5 m DEM -> cut/fill, streaming in chunks
  (decoded once and replayed from a 13-byte-a-point cache when under 512 MB, as
  ``pipeline.build_dem`` does; read twice above that);
* whitebox-workflows: improved_ground_point_filter -> lidar_tin_gridding (0.5 m) of the
  ground class; cut/fill from its rasters with the same 0.1 m threshold (not timed).

Accuracy of both against the truth: ground-filter kappa, DEM RMSE at cell centres on the
analytic surface, and cut / fill / net error. Peak memory of the ironfield child is
``ru_maxrss``; ``--scaling`` also runs it at a quarter of the points on the same area to
show that memory follows the grid, not the point count.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import laspy
import numpy as np
from scipy import ndimage

from ironfield.apps.survey import synth
from ironfield.apps.survey.dem import Dem, dem_from_stats
from ironfield.apps.survey.grid import CellStats, GridSpec
from ironfield.apps.survey.io import PointCache, open_survey
from ironfield.apps.survey.isprs import score
from ironfield.apps.survey.pipeline import fit_ground
from ironfield.apps.survey.volume import cut_fill

CELL = 0.5
MIN_CHANGE = 0.1


def generate(path: Path, site: synth.Site, epoch: str, spacing: float) -> int:
    """Write one survey strip by strip (bounded memory); class = truth (2 ground, 1 object)."""
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.scales = np.array([0.001, 0.001, 0.001])
    header.offsets = np.array([site.x0, site.y0, site.z0 - 100.0])
    rows = synth.scan_rows(site, spacing)
    step = max(1, int(1_000_000 / (site.width / spacing)))
    n = 0
    with laspy.open(str(path), mode="w", header=header,
                    laz_backend=laspy.LazBackend.LazrsParallel) as w:
        for r0 in range(0, rows, step):
            x, y, z, c = synth.sample(site, epoch, spacing, 0.03, seed=17, rows=(r0, r0 + step))
            pts = laspy.ScaleAwarePointRecord.zeros(x.size, header=header)
            pts.x, pts.y, pts.z = x, y, z
            pts.classification = c
            w.write_points(pts)
            n += x.size
    return n


def _truth_grid(site: synth.Site, spec: GridSpec, epoch: str) -> np.ndarray:
    """Analytic ground elevation [m] averaged over each cell (4 x 4 sub-samples)."""
    xs, ys = spec.centres()
    acc = np.zeros(spec.shape)
    for ox in (-0.375, -0.125, 0.125, 0.375):
        for oy in (-0.375, -0.125, 0.125, 0.375):
            gx, gy = np.meshgrid(xs + ox * spec.cell - site.x0, ys + oy * spec.cell - site.y0)
            acc += site.ground(gx, gy, epoch)
    out: np.ndarray = acc / 16
    return out


def _site(args_seed: int) -> synth.Site:
    return synth.make_site(args_seed)


def run_ours(paths: list[str], seed: int) -> dict[str, Any]:
    """Child process: the full ironfield pipeline, timed; accuracy and peak memory."""
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    site = _site(seed)
    t0 = time.perf_counter()
    dems: list[Dem] = []
    conf = np.zeros(4)
    stages = {"ground model (read + SMRF)": 0.0, "classify + grid (read)": 0.0}
    spec = GridSpec.covering(site.x0, site.y0, site.x0 + site.width, site.y0 + site.height, CELL)
    points = 0
    for p in paths:
        s = open_survey(p)
        points += s.point_count
        t = time.perf_counter()
        cache = PointCache(s)  # as pipeline.build_dem: decode once when it fits the budget
        model = fit_ground(s, cache=cache)
        stages["ground model (read + SMRF)"] += time.perf_counter() - t
        t = time.perf_counter()
        stats = CellStats(spec, s.bounds[2])
        for ch in s.chunks(cache=cache):
            g = model.is_ground(ch.x, ch.y, ch.z)
            truth = ch.classification == 2
            conf += [np.sum(truth & g), np.sum(truth & ~g), np.sum(~truth & g),
                     np.sum(~truth & ~g)]
            stats.add(ch.x[g], ch.y[g], ch.z[g])
        dems.append(dem_from_stats(stats, "mean", "hull", s.crs))
        stages["classify + grid (read)"] += time.perf_counter() - t
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if len(dems) == 1:  # --single: one survey, memory and throughput only
        return {"points": points, "seconds": elapsed, "stages": stages, "peak_rss_mb":
                peak / 1024, "rss_after_imports_mb": rss0 / 1024, "grid_cells": spec.nx * spec.ny}
    t = time.perf_counter()
    res, _ = cut_fill(dems[0], dems[1], MIN_CHANGE)
    stages["cut/fill"] = time.perf_counter() - t
    elapsed = time.perf_counter() - t0
    a, b, c, d = conf
    truth_g = np.array([True] * int(a + b) + [False] * int(c + d))
    pred_g = np.array([True] * int(a) + [False] * int(b) + [True] * int(c) + [False] * int(d))
    rmse = [_rmse(dm.z, _truth_grid(site, spec, ep)) for dm, ep in zip(dems, ("before", "after"),
                                                                      strict=True)]
    return {"points": points, "seconds": elapsed, "stages": stages,
            "kappa": score(truth_g, pred_g).kappa, "dem_rmse_m": rmse,
            "cut_m3": res.cut_m3, "fill_m3": res.fill_m3, "net_m3": res.net_m3,
            "peak_rss_mb": peak / 1024, "rss_after_imports_mb": rss0 / 1024,
            "grid_cells": spec.nx * spec.ny}


def _rmse(z: np.ndarray, truth: np.ndarray) -> float:
    e = z - truth
    return float(np.sqrt(np.nanmean(e * e)))


def _read_wbt_raster(path: str) -> tuple[np.ndarray, float, float, float]:
    import tifffile

    with tifffile.TiffFile(path) as tf:
        page = tf.pages[0]
        assert isinstance(page, tifffile.TiffPage)
        data = page.asarray().astype(np.float64)
        scale = page.tags[33550].value
        tie = page.tags[33922].value
        nodata = float(page.tags[42113].value) if 42113 in page.tags else -32768.0
    data[data == nodata] = np.nan
    return data, float(tie[3]), float(tie[4]), float(scale[0])


def run_whitebox(paths: list[str], outdir: str, seed: int) -> dict[str, Any]:
    """Child process: whitebox-workflows ground filter + TIN gridding, timed; accuracy."""
    import whitebox_workflows as wbw

    wbe = wbw.WbEnvironment()
    site = _site(seed)
    fc = wbe.lidar.filtering_classification
    ig = wbe.lidar.interpolation_gridding
    t0 = time.perf_counter()
    stages = {"improved_ground_point_filter": 0.0, "lidar_tin_gridding": 0.0}
    outs = []
    for i, p in enumerate(paths):
        g = f"{outdir}/wb_ground_{i}.laz"
        r = f"{outdir}/wb_tin_{i}.tif"
        t = time.perf_counter()
        fc.improved_ground_point_filter(input=p, classify=True, preserve_classes=False, output=g)
        stages["improved_ground_point_filter"] += time.perf_counter() - t
        t = time.perf_counter()
        ig.lidar_tin_gridding(input=g, resolution=CELL, output=r, excluded_classes=",".join(
            str(k) for k in range(19) if k != 2))
        stages["lidar_tin_gridding"] += time.perf_counter() - t
        outs.append((g, r))
    elapsed = time.perf_counter() - t0
    # accuracy (not timed)
    conf_truth, conf_pred = [], []
    spec = GridSpec.covering(site.x0, site.y0, site.x0 + site.width, site.y0 + site.height, CELL)
    xs, ys = spec.centres()
    gx, gy = np.meshgrid(xs, ys)
    grids = []
    points = 0
    for p, (g, r) in zip(paths, outs, strict=True):
        truth = laspy.read(p).classification == 2
        pred = laspy.read(g).classification == 2
        points += truth.size
        conf_truth.append(truth)
        conf_pred.append(pred)
        data, left, top, res = _read_wbt_raster(r)
        # sample the TIN raster at our lattice's centres (bilinear between its centres)
        fr = (top - gy) / res - 0.5
        fc_ = (gx - left) / res - 0.5
        grids.append(ndimage.map_coordinates(data, [fr, fc_], order=1, mode="constant",
                                             cval=np.nan))
    sc = score(np.concatenate(conf_truth), np.concatenate(conf_pred))
    rmse = [_rmse(grids[i], _truth_grid(site, spec, ep)) for i, ep in enumerate(("before",
                                                                                  "after"))]
    dz = grids[1] - grids[0]
    sig = np.isfinite(dz) & (np.abs(np.nan_to_num(dz)) >= MIN_CHANGE)
    cut = float(-dz[sig & (dz < 0)].sum()) * CELL**2
    fill = float(dz[sig & (dz > 0)].sum()) * CELL**2
    return {"points": points, "seconds": elapsed, "stages": stages, "kappa": sc.kappa,
            "dem_rmse_m": rmse, "cut_m3": cut, "fill_m3": fill, "net_m3": fill - cut,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(fn: Any, *args: Any) -> dict[str, Any]:
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as ex:
        out: dict[str, Any] = ex.submit(fn, *args).result()
    return out


def _err(got: float, truth: float) -> str:
    return f"{got:12,.1f}  ({100 * (got - truth) / abs(truth):+.2f} %)"


def single(args: argparse.Namespace) -> None:
    site = _site(args.seed)
    spacing = float(np.sqrt(site.width * site.height / args.points))
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        p = Path(tmp) / "survey.laz"
        t = time.perf_counter()
        n = generate(p, site, "after", spacing)
        print(f"generated {n:,} points ({1 / spacing**2:.0f} pts/m2) in "
              f"{time.perf_counter() - t:.0f} s, {p.stat().st_size / 1e6:.0f} MB LAZ")
        r = _child(run_ours, [str(p)], args.seed)
        print(f"read + SMRF + 0.5 m DEM of {r['points']:,} points in {r['seconds']:.0f} s "
              f"({r['points'] / r['seconds']:,.0f} points/s); RSS after imports "
              f"{r['rss_after_imports_mb']:.0f} MB, peak {r['peak_rss_mb']:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=4_000_000, help="points per survey")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-whitebox", action="store_true")
    ap.add_argument("--scaling", action="store_true",
                    help="also run ironfield at a quarter of the points (memory scaling)")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--single", action="store_true",
                    help="one survey of --points only: read, ground filter, DEM; peak memory")
    args = ap.parse_args()
    if args.single:
        single(args)
        return

    site = _site(args.seed)
    spacing = float(np.sqrt(site.width * site.height / args.points))
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        t = time.perf_counter()
        paths = []
        for epoch in ("before", "after"):
            p = Path(tmp) / f"{epoch}.laz"
            n = generate(p, site, epoch, spacing)
            paths.append(str(p))
        print(f"generated 2 x {n:,} points ({1 / spacing**2:.0f} pts/m2, spacing "
              f"{spacing:.3f} m) on {site.width:.0f} x {site.height:.0f} m in "
              f"{time.perf_counter() - t:.0f} s")
        truth = site.truth()
        ours = _child(run_ours, paths, args.seed)
        rows = [("ironfield (SMRF + mean DEM)", ours)]
        if not args.no_whitebox:
            wb = _child(run_whitebox, paths, tmp, args.seed)
            rows.append(("whitebox-workflows (IGPF + TIN)", wb))
        print(f"\ntruth: cut {truth['cut_m3']:,.1f}  fill {truth['fill_m3']:,.1f}  "
              f"net {truth['net_m3']:,.1f} m3")
        for name, r in rows:
            print(f"\n{name}: {r['points']:,} points in {r['seconds']:.1f} s = "
                  f"{r['points'] / r['seconds']:,.0f} points/s; peak RSS {r['peak_rss_mb']:.0f} MB")
            for k, v in r["stages"].items():
                print(f"    {k:<32} {v:7.1f} s")
            print(f"    ground kappa vs truth  {r['kappa']:.2f} %")
            print(f"    DEM RMSE before/after  {r['dem_rmse_m'][0]:.3f} / "
                  f"{r['dem_rmse_m'][1]:.3f} m")
            print(f"    cut  {_err(r['cut_m3'], truth['cut_m3'])}")
            print(f"    fill {_err(r['fill_m3'], truth['fill_m3'])}")
            print(f"    net  {_err(r['net_m3'], truth['net_m3'])}")
        if len(rows) == 2:
            ratio = (ours["points"] / ours["seconds"]) / (rows[1][1]["points"] /
                                                          rows[1][1]["seconds"])
            print(f"\nthroughput ratio ironfield / whitebox: {ratio:.2f}x")
        print(f"\nironfield child: RSS after imports {ours['rss_after_imports_mb']:.0f} MB, "
              f"peak {ours['peak_rss_mb']:.0f} MB, grid {ours['grid_cells']:,} cells of "
              f"{CELL} m")
        if args.scaling:
            for epoch in ("before", "after"):
                generate(Path(tmp) / f"q_{epoch}.laz", site, epoch, spacing * 2)
            q = _child(run_ours, [str(Path(tmp) / f"q_{e}.laz") for e in ("before", "after")],
                       args.seed)
            print(f"scaling: {q['points']:,} points -> peak {q['peak_rss_mb']:.0f} MB; "
                  f"{ours['points']:,} points -> peak {ours['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
