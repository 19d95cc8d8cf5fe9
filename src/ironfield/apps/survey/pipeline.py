"""File-to-result steps, streaming the points so memory stays one raster plus one chunk.

* ground: pass 1 builds SMRF's minimum surface, pass 2 classifies each chunk and writes it;
* DEM: pass 1 fits SMRF (unless the file's own class 2 is used), pass 2 accumulates the
  ground points of each chunk into per-cell statistics; a survey whose decoded points fit
  :data:`~ironfield.apps.survey.io.CACHE_BYTES` is decompressed once, not twice;
* volume and stockpile: DEMs on one lattice, then :mod:`.volume` / :mod:`.stockpile`.

``progress(stage, n_points_done_in_chunk, total_points)`` lets a CLI draw bars.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ironfield.apps.survey.dem import Dem, dem_from_stats
from ironfield.apps.survey.errors import EmptyGroundError, UnitsError
from ironfield.apps.survey.grid import CellStats, GridSpec
from ironfield.apps.survey.ground import (
    LAS_GROUND,
    LAS_UNCLASSIFIED,
    GroundModel,
    SmrfParams,
    smrf_from_chunks,
)
from ironfield.apps.survey.io import Chunk, PointCache, Survey, open_survey, write_classified

F64 = npt.NDArray[np.float64]
Progress = Callable[[str, int, int], None]
Paths = Path | str | Sequence[Path | str]


def _tick(progress: Progress | None, stage: str, total: int) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda n: progress(stage, n, total)


def fit_ground(
    survey: Survey, params: SmrfParams | None = None, progress: Progress | None = None,
    cache: PointCache | None = None,
) -> GroundModel:
    """SMRF fitted on a survey in one streaming pass (filling ``cache`` if given)."""
    b = survey.bounds

    def chunks() -> Iterator[tuple[F64, F64, F64]]:
        for ch in survey.chunks(_tick(progress, "ground model", survey.point_count), cache):
            yield ch.x, ch.y, ch.z

    return smrf_from_chunks(chunks, (b[0], b[1], b[3], b[4]), params,
                            point_count=survey.point_count)


def classify_file(
    src: Path | str, out: Path | str, units: str | None = None,
    params: SmrfParams | None = None, progress: Progress | None = None,
) -> tuple[int, int, GroundModel]:
    """Write ``src`` to ``out`` with ground as class 2 (others: 1 unless already > 2).

    Returns (points, ground points, model).
    """
    survey = open_survey(src, units)
    model = fit_ground(survey, params, progress)
    counter = [0]

    def classify(ch: Chunk) -> npt.NDArray[np.uint8]:
        g = model.is_ground(ch.x, ch.y, ch.z)
        counter[0] += int(g.sum())
        cls = ch.classification.copy()
        # keep special classes (water, noise...) of non-ground points; reset old ground
        cls[(cls == LAS_GROUND) | (cls == 0)] = LAS_UNCLASSIFIED
        cls[g] = LAS_GROUND
        return cls

    n = write_classified(survey, out, classify, _tick(progress, "classify", survey.point_count))
    if counter[0] == 0:
        Path(out).unlink(missing_ok=True)
        raise EmptyGroundError(f"{src}: the ground filter found no ground point")
    return n, counter[0], model


def build_dem(
    paths: Paths, cell: float = 0.5, method: str = "mean", empty: str = "hull",
    ground: str = "smrf", units: str | None = None, params: SmrfParams | None = None,
    spec: GridSpec | None = None, progress: Progress | None = None,
) -> Dem:
    """DEM [m] of one survey (one or more tiles) at ``cell`` [m].

    ``ground``: ``smrf`` (filter here), ``classified`` (the files' class 2) or ``all``.
    Raises :class:`EmptyGroundError` naming the files when no ground point is found.
    """
    if ground not in ("smrf", "classified", "all"):
        raise ValueError(f"ground must be smrf, classified or all, got {ground!r}")
    survey = open_survey(paths, units)
    b = survey.bounds
    if spec is None:
        spec = GridSpec.covering(b[0], b[1], b[3], b[4], cell)
    cache = PointCache(survey) if ground == "smrf" else None
    model = fit_ground(survey, params, progress, cache) if ground == "smrf" else None
    stats = CellStats(spec, b[2])
    for ch in survey.chunks(_tick(progress, "grid", survey.point_count), cache):
        if model is not None:
            keep = model.is_ground(ch.x, ch.y, ch.z)
        elif ground == "classified":
            keep = ch.classification == LAS_GROUND
        else:
            keep = np.ones(len(ch), dtype=bool)
        stats.add(ch.x[keep], ch.y[keep], ch.z[keep])
    if stats.n.sum() == 0:
        names = ", ".join(str(p) for p in survey.paths)
        what = "class 2 (ground) is empty" if ground == "classified" else "no ground point"
        raise EmptyGroundError(f"{names}: {what}; cannot build a ground model")
    return dem_from_stats(stats, method, empty, survey.crs)


def survey_pair(
    before: Paths, after: Paths, cell: float = 0.5, units: str | None = None,
    ground: str = "smrf", progress: Progress | None = None,
) -> tuple[Dem, Dem]:
    """DEMs of two surveys on one lattice; raises :class:`UnitsError` if their frames differ."""
    sa = open_survey(before, units)
    sb = open_survey(after, units)
    if not sa.crs.same_frame(sb.crs):
        raise UnitsError(
            f"before ({', '.join(map(str, sa.paths))}) is in {sa.crs.describe()}, after "
            f"({', '.join(map(str, sb.paths))}) in {sb.crs.describe()}"
        )
    da = build_dem(before, cell, units=units, ground=ground, progress=progress)
    db = build_dem(after, cell, units=units, ground=ground, progress=progress)
    return da, db
