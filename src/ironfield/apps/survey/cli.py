"""``ironfield survey ...``: ground filter, DEM, volumes and stockpiles from LAS/LAZ files.

A survey argument is one file or several tiles of one flight joined by commas
(``a.laz,b.laz``). Progress bars go to stderr, so ``--json`` output on stdout stays clean.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ironfield.apps.survey import synth
from ironfield.apps.survey.dem import write_geotiff
from ironfield.apps.survey.errors import SurveyError
from ironfield.apps.survey.io import open_survey, write_las
from ironfield.apps.survey.pipeline import Progress as ProgressFn
from ironfield.apps.survey.pipeline import build_dem, classify_file, survey_pair
from ironfield.apps.survey.polygon import read_polygon
from ironfield.apps.survey.render import change_png, dem_png
from ironfield.apps.survey.stockpile import stockpile_volume
from ironfield.apps.survey.volume import cut_fill

app = typer.Typer(help="Drone LiDAR surveys: ground, DEM, cut/fill volumes, stockpiles.",
                  no_args_is_help=True)
err = Console(stderr=True)
out = Console()


def _paths(arg: str) -> list[Path]:
    return [Path(p) for p in arg.split(",") if p]


@contextmanager
def _bars(quiet: bool = False) -> Iterator[ProgressFn | None]:
    if quiet:
        yield None
        return
    current: list[Any] = []  # [task id, stage] of the bar being filled
    with Progress(TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=False) as bar:
        def tick(stage: str, n: int, total: int) -> None:
            # a new bar for each stage, and again when a stage repeats (second survey)
            if not current or current[1] != stage or bar.tasks[-1].finished:
                current[:] = [bar.add_task(stage, total=total), stage]
            bar.advance(current[0], n)

        yield tick


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}")
    return typer.Exit(2)


def _emit(data: dict[str, Any], as_json: bool, title: str) -> None:
    if as_json:
        print(json.dumps(data, indent=2, default=float))
        return
    table = Table(title=title, show_header=False)
    for k, v in data.items():
        if isinstance(v, float):
            v = f"{v:,.3f}"
        table.add_row(k, str(v))
    out.print(table)


@app.command()
def ground(
    src: Annotated[Path, typer.Argument(help="input LAS/LAZ")],
    output: Annotated[Path, typer.Option("-o", "--output", help="output LAS/LAZ")],
    units: Annotated[str | None, typer.Option(help="override units: m, ft, us-ft")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Classify ground (class 2) with SMRF and write a copy of the cloud."""
    try:
        with _bars() as tick:
            n, g, model = classify_file(src, output, units, progress=tick)
    except SurveyError as exc:
        raise _fail(exc) from exc
    p = model.params
    _emit({"input": str(src), "output": str(output), "points": n, "ground_points": g,
           "ground_share": g / n, "cell_m": p.cell, "slope": p.slope, "window_m": p.window,
           "threshold_m": p.threshold, "scalar": p.scalar, "parameters": p.basis},
          as_json, "ground filter (SMRF)")


@app.command()
def dem(
    src: Annotated[str, typer.Argument(help="LAS/LAZ file, or tiles joined by commas")],
    output: Annotated[Path, typer.Option("-o", "--output", help="GeoTIFF to write")],
    cell: Annotated[float, typer.Option(help="cell size [m]")] = 0.5,
    method: Annotated[str, typer.Option(help="mean, min or max")] = "mean",
    empty: Annotated[str, typer.Option(help="empty cells: hull (interpolate) or leave")] = "hull",
    ground_source: Annotated[str, typer.Option("--ground", help="smrf, classified or all")] = (
        "smrf"),
    units: Annotated[str | None, typer.Option(help="override units: m, ft, us-ft")] = None,
    png: Annotated[Path | None, typer.Option(help="also write a hillshade PNG")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Grid ground points into a DEM (GeoTIFF; plus -uncertainty and -count bands)."""
    try:
        with _bars() as tick:
            d = build_dem(_paths(src), cell, method, empty, ground_source, units, progress=tick)
    except (SurveyError, ValueError) as exc:
        raise _fail(exc) from exc
    write_geotiff(d, output, "z")
    stem = output.with_suffix("")
    write_geotiff(d, f"{stem}-uncertainty.tif", "sigma")
    write_geotiff(d, f"{stem}-count.tif", "count")
    if png is not None:
        dem_png(d, png)
    info = d.describe()
    info.update({"output": str(output), "png": str(png) if png else None})
    _emit(info, as_json, "DEM")


@app.command()
def volume(
    before: Annotated[str, typer.Argument(help="earlier survey (file or tiles a,b)")],
    after: Annotated[str, typer.Argument(help="later survey (file or tiles a,b)")],
    cell: Annotated[float, typer.Option(help="cell size [m]")] = 0.5,
    min_change: Annotated[float, typer.Option(help="smallest change counted [m]")] = 0.1,
    lod_k: Annotated[float, typer.Option(help="level of detection factor (0: off)")] = 1.96,
    heatmap: Annotated[Path | None, typer.Option(
        help="change heatmap PNG [default: ./AFTER-change.png]")] = None,
    ground_source: Annotated[str, typer.Option("--ground", help="smrf, classified or all")] = (
        "smrf"),
    units: Annotated[str | None, typer.Option(help="override units: m, ft, us-ft")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Cut, fill and net volume between two surveys, and a change heatmap PNG."""
    try:
        with _bars() as tick:
            da, db = survey_pair(_paths(before), _paths(after), cell, units, ground_source, tick)
        res, change = cut_fill(da, db, min_change, lod_k)
    except (SurveyError, ValueError) as exc:
        raise _fail(exc) from exc
    png = heatmap or Path(f"{_paths(after)[0].stem}-change.png")
    change_png(change, db, res, png)
    data = res.to_dict()
    data["heatmap"] = str(png)
    _emit(data, as_json, "volume change")


def _parse_base(base: str) -> tuple[str, float | None, str | None]:
    if base.startswith("elevation:"):
        try:
            return "elevation", float(base.split(":", 1)[1]), None
        except ValueError as exc:
            raise typer.BadParameter(f"elevation:Z needs a number, got {base!r}") from exc
    if base.startswith("previous:"):
        return "surface", None, base.split(":", 1)[1]
    if base in ("lowest", "plane", "triangulated"):
        return base, None, None
    raise typer.BadParameter("base is lowest, plane, triangulated, elevation:Z or previous:FILE")


@app.command()
def stockpile(
    cloud: Annotated[str, typer.Argument(help="survey (file or tiles a,b)")],
    polygon: Annotated[Path, typer.Option(help="GeoJSON polygon of the pile's toe")],
    base: Annotated[str, typer.Option(
        help="lowest, plane, triangulated, elevation:Z [m] or previous:FILE")] = "lowest",
    density: Annotated[float | None, typer.Option(help="bulk density [t/m3]")] = None,
    cell: Annotated[float, typer.Option(help="cell size [m]")] = 0.5,
    ground_source: Annotated[str, typer.Option("--ground", help="smrf, classified or all")] = (
        "smrf"),
    units: Annotated[str | None, typer.Option(help="override units: m, ft, us-ft")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Stockpile volume above a base inside a polygon, and tonnes from density."""
    kind, level, prev = _parse_base(base)
    try:
        survey = open_survey(_paths(cloud), units)
        b = survey.bounds
        ring = read_polygon(polygon, survey.crs, (b[0], b[1], b[3], b[4]))
        with _bars() as tick:
            d = build_dem(_paths(cloud), cell, ground=ground_source, units=units, progress=tick)
            surface = None
            if prev is not None:
                surface = build_dem(_paths(prev), cell, ground=ground_source, units=units,
                                    progress=tick)
        res = stockpile_volume(d, ring, kind, density, level, surface)
    except (SurveyError, ValueError) as exc:
        raise _fail(exc) from exc
    _emit(res.to_dict(), as_json, "stockpile")


@app.command()
def isprs(
    samples: Annotated[list[Path], typer.Argument(help="ISPRS sample files (x y z label)")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Score the ground filter on ISPRS reference samples (Type I/II, total, kappa)."""
    from ironfield.apps.survey.isprs import SMRF_PUBLISHED_MEAN_KAPPA, evaluate

    rows: list[dict[str, Any]] = []
    try:
        for s in samples:
            sc, p = evaluate(s)
            rows.append({"sample": s.stem, "points": sc.n_points, "type1_pct": sc.type1,
                         "type2_pct": sc.type2, "total_pct": sc.total, "kappa_pct": sc.kappa,
                         "cell_m": p.cell, "slope": p.slope})
    except SurveyError as exc:
        raise _fail(exc) from exc
    mean_kappa = sum(r["kappa_pct"] for r in rows) / max(len(rows), 1)
    if as_json:
        print(json.dumps({"samples": rows, "mean_kappa_pct": mean_kappa,
                          "smrf_published_mean_kappa_pct": SMRF_PUBLISHED_MEAN_KAPPA}, indent=2))
        return
    t = Table(title="SMRF (automatic parameters) on ISPRS samples")
    for col in ("sample", "points", "Type I %", "Type II %", "total %", "kappa %", "cell m",
                "slope"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["sample"], str(r["points"]), f"{r['type1_pct']:.2f}",
                  f"{r['type2_pct']:.2f}", f"{r['total_pct']:.2f}", f"{r['kappa_pct']:.2f}",
                  f"{r['cell_m']:.2f}", f"{r['slope']:.3f}")
    out.print(t)
    out.print(f"mean kappa {mean_kappa:.2f} % (SMRF published: {SMRF_PUBLISHED_MEAN_KAPPA} %)")


@app.command()
def synthetic(
    outdir: Annotated[Path, typer.Argument(help="folder for before.laz, after.laz, pile.geojson")],
    spacing: Annotated[float, typer.Option(help="point spacing [m]")] = 0.35,
    noise: Annotated[float, typer.Option(help="elevation noise [m]")] = 0.03,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Write a synthetic pit survey pair with analytic volumes (and the truth as JSON)."""
    outdir.mkdir(parents=True, exist_ok=True)
    site = synth.make_site(seed)
    for epoch in ("before", "after"):
        x, y, z, _ = synth.sample(site, epoch, spacing, noise, seed + 1)
        write_las(outdir / f"{epoch}.laz", x, y, z)
    cx, cy, r, _ = site.cone
    ring = synth.circle(site.x0 + cx, site.y0 + cy, r + 3.0)
    (outdir / "pile.geojson").write_text(json.dumps(synth.polygon_geojson(ring)))
    truth = site.truth() | {"pile_m3": site.cone_volume()}
    (outdir / "truth.json").write_text(json.dumps(truth, indent=2))
    _emit(truth, False, f"synthetic pit in {outdir}")
