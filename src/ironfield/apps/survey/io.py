"""LAS/LAZ reading in bounded-memory chunks; several tiles of one flight as one survey.

Coordinates come out in metres (``x * h_factor``) whatever the file's unit, so every
later step is unit-free. Decompression uses laspy's lazrs backend [1]_ with its parallel
decoder. A file that ends early or fails to decompress raises :class:`CloudReadError`
naming the file and the point index reached: nothing downstream gets a partial cloud.

.. [1] laspy 2.x documentation, "LAZ backends" (lazrs, LazrsParallel).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import laspy
import numpy as np
import numpy.typing as npt

from ironfield.apps.survey.errors import CloudReadError, UnitsError
from ironfield.apps.survey.units import CrsInfo, crs_from_header, optional_pyproj

F64 = npt.NDArray[np.float64]
CHUNK_POINTS = 2_000_000
#: decoded points kept between the two passes of a survey when they fit [bytes]
CACHE_BYTES = 512 * 2**20


@dataclass
class Chunk:
    """One slice of a survey: coordinates [m], LAS class codes, and where it came from."""

    x: F64
    y: F64
    z: F64
    classification: npt.NDArray[np.uint8]
    file: str = ""
    start: int = 0

    def __len__(self) -> int:
        return int(self.x.size)


@dataclass
class Survey:
    """A survey: one or more LAS/LAZ tiles sharing CRS and units, read chunk by chunk.

    ``bounds`` is (xmin, ymin, zmin, xmax, ymax, zmax) [m] from the headers.
    """

    paths: list[Path]
    crs: CrsInfo
    point_count: int
    bounds: tuple[float, float, float, float, float, float]
    chunk_points: int = CHUNK_POINTS
    counts: list[int] = field(default_factory=list)

    def chunks(
        self, progress: Callable[[int], None] | None = None, cache: PointCache | None = None
    ) -> Iterator[Chunk]:
        """Yield every point once, in file order; ``progress(n)`` after each chunk.

        With a ``cache``, the first full pass fills it and later passes replay it instead
        of decompressing the files again.
        """
        if cache is not None and cache.complete:
            yield from cache.replay(progress)
            return
        for path, expected in zip(self.paths, self.counts, strict=True):
            for ch in _read_file(path, expected, self.crs, self.chunk_points, progress):
                if cache is not None:
                    cache.keep(ch)
                yield ch
        if cache is not None:
            cache.complete = cache.enabled


class PointCache:
    """Decoded points kept between passes, if the survey fits ``budget`` [bytes].

    13 bytes a point: x, y, z as float32 offsets from the survey's lower corner (better
    than 0.5 mm within 4 km) and the class code. Larger surveys are simply read twice, so
    memory stays bounded either way.
    """

    def __init__(self, survey: Survey, budget: int = CACHE_BYTES) -> None:
        self.enabled = survey.point_count * 13 <= budget
        self.ref = (survey.bounds[0], survey.bounds[1], survey.bounds[2])
        self.parts: list[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32],
                               npt.NDArray[np.float32], npt.NDArray[np.uint8], str, int]] = []
        self.complete = False

    def keep(self, ch: Chunk) -> None:
        if not self.enabled or self.complete:
            return
        rx, ry, rz = self.ref
        self.parts.append(((ch.x - rx).astype(np.float32), (ch.y - ry).astype(np.float32),
                           (ch.z - rz).astype(np.float32),
                           # a copy: the chunk's class codes are a view into laspy's whole
                           # decoded record, which would otherwise stay alive with it
                           np.array(ch.classification, dtype=np.uint8, copy=True), ch.file,
                           ch.start))

    def replay(self, progress: Callable[[int], None] | None = None) -> Iterator[Chunk]:
        rx, ry, rz = self.ref
        for x, y, z, c, f, s in self.parts:
            if progress is not None:
                progress(x.size)
            yield Chunk(x.astype(np.float64) + rx, y.astype(np.float64) + ry,
                        z.astype(np.float64) + rz, c, f, s)


def _open(path: Path) -> laspy.LasReader:
    if not path.exists():
        raise CloudReadError(f"{path}: no such file")
    try:
        return laspy.open(str(path), laz_backend=laspy.LazBackend.LazrsParallel)
    except Exception as exc:  # laspy raises several types for a bad header
        raise CloudReadError(f"{path}: not a readable LAS/LAZ file ({exc})") from exc


def _point_chunks(reader: Any, path: Path, chunk_points: int, expected: int,
                  crs: CrsInfo) -> Iterator[tuple[Any, Chunk]]:
    """laspy's point records of an open file in chunks, each with its :class:`Chunk` in
    metres; a chunk laspy cannot decode is a :class:`CloudReadError` naming the file and
    how far it got."""
    done = 0
    iterator = reader.chunk_iterator(chunk_points)
    while True:
        try:
            pts = next(iterator)
        except StopIteration:
            return
        except Exception as exc:
            raise CloudReadError(
                f"{path}: corrupt or truncated point data after point {done} of "
                f"{expected} ({type(exc).__name__}: {exc})"
            ) from exc
        if len(pts) == 0:
            return
        yield pts, Chunk(
            np.asarray(pts.x, dtype=np.float64) * crs.h_factor,
            np.asarray(pts.y, dtype=np.float64) * crs.h_factor,
            np.asarray(pts.z, dtype=np.float64) * crs.v_factor,
            np.asarray(pts.classification, dtype=np.uint8),
            str(path),
            done,
        )
        done += len(pts)


def _read_file(
    path: Path,
    expected: int,
    crs: CrsInfo,
    chunk_points: int,
    progress: Callable[[int], None] | None,
) -> Iterator[Chunk]:
    done = 0
    reader = _open(path)
    try:
        for pts, ch in _point_chunks(reader, path, chunk_points, expected, crs):
            done += len(pts)
            if progress is not None:
                progress(len(pts))
            yield ch
    finally:
        reader.close()
    if done != expected:
        raise CloudReadError(
            f"{path}: header promises {expected} points but the file holds {done}: "
            "truncated file"
        )


def open_survey(
    paths: Path | str | Sequence[Path | str],
    units: str | None = None,
    chunk_points: int = CHUNK_POINTS,
) -> Survey:
    """Open one survey from one or several tiles (headers only; points are read lazily).

    Raises :class:`CloudReadError` for unreadable files and :class:`UnitsError` when the
    tiles disagree on CRS or units.
    """
    plist = [Path(paths)] if isinstance(paths, str | Path) else [Path(p) for p in paths]
    if not plist:
        raise CloudReadError("no survey files given")
    crs0: CrsInfo | None = None
    counts: list[int] = []
    lo = np.full(3, np.inf)
    hi = np.full(3, -np.inf)
    for p in plist:
        with _open(p) as reader:
            header = reader.header
            crs = crs_from_header(header, units)
            if crs0 is None:
                crs0 = crs
            elif not crs0.same_frame(crs):
                raise UnitsError(
                    f"{p}: tile is in {crs.describe()} but {plist[0]} is in "
                    f"{crs0.describe()}: tiles of one survey must share CRS and units"
                )
            counts.append(int(header.point_count))
            f = np.array([crs.h_factor, crs.h_factor, crs.v_factor])
            lo = np.minimum(lo, np.asarray(header.mins, dtype=np.float64) * f)
            hi = np.maximum(hi, np.asarray(header.maxs, dtype=np.float64) * f)
    assert crs0 is not None
    if sum(counts) == 0:
        raise CloudReadError(f"{', '.join(map(str, plist))}: no points")
    bounds = (float(lo[0]), float(lo[1]), float(lo[2]), float(hi[0]), float(hi[1]), float(hi[2]))
    return Survey(plist, crs0, sum(counts), bounds, chunk_points, counts)


def write_classified(
    survey: Survey,
    out: Path | str,
    classify: Callable[[Chunk], npt.NDArray[np.uint8]],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Copy a (one-file) survey to ``out`` with new class codes, chunk by chunk.

    Returns the number of points written. Points keep every attribute of the input.
    """
    if len(survey.paths) != 1:
        raise CloudReadError("writing a classified copy needs exactly one input file")
    src = survey.paths[0]
    try:
        done = _copy_classified(survey, src, out, classify, progress)
    except BaseException:
        Path(out).unlink(missing_ok=True)  # never leave a partial cloud behind
        raise
    if done != survey.point_count:
        Path(out).unlink(missing_ok=True)
        raise CloudReadError(f"{src}: header promises {survey.point_count} points, read {done}")
    return done


def _copy_classified(
    survey: Survey,
    src: Path,
    out: Path | str,
    classify: Callable[[Chunk], npt.NDArray[np.uint8]],
    progress: Callable[[int], None] | None,
) -> int:
    done = 0
    with _open(src) as reader:
        header = reader.header
        backend = laspy.LazBackend.LazrsParallel if str(out).lower().endswith(".laz") else None
        with laspy.open(str(out), mode="w", header=header, laz_backend=backend) as writer:
            for pts, ch in _point_chunks(reader, src, survey.chunk_points, survey.point_count, survey.crs):
                pts.classification = classify(ch)
                writer.write_points(pts)
                done += len(pts)
                if progress is not None:
                    progress(len(pts))
    return done


def write_las(
    path: Path | str,
    x: F64,
    y: F64,
    z: F64,
    classification: npt.NDArray[np.uint8] | None = None,
    scale: float = 0.001,
    epsg: int | None = None,
    wkt: str | None = None,
) -> None:
    """Write coordinates [m] to a LAS 1.4 / point-format 6 file (LAZ if the name ends .laz).

    ``wkt`` (or ``epsg`` via pyproj, when installed) is stored as the file's CRS.
    """
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.scales = np.array([scale, scale, scale])
    header.offsets = np.array([np.floor(x.min()), np.floor(y.min()), np.floor(z.min())])
    if wkt is not None:
        header.vlrs.append(laspy.vlrs.known.WktCoordinateSystemVlr(wkt))
    elif epsg is not None and (pyproj := optional_pyproj()) is not None:
        header.add_crs(pyproj.CRS.from_epsg(epsg))
    las = laspy.LasData(header)
    las.x, las.y, las.z = x, y, z
    if classification is not None:
        las.classification = classification
    backend = laspy.LazBackend.LazrsParallel if str(path).lower().endswith(".laz") else None
    las.write(str(path), laz_backend=backend)
