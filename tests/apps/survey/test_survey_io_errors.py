"""Reading LAS/LAZ (units, tiles) and the bad-input errors: each says what and where."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from ironfield.apps.survey import synth
from ironfield.apps.survey.dem import dem_from_arrays
from ironfield.apps.survey.errors import (
    CloudReadError,
    EmptyGroundError,
    NoOverlapError,
    UnitsError,
)
from ironfield.apps.survey.io import open_survey, write_las
from ironfield.apps.survey.pipeline import build_dem, survey_pair
from ironfield.apps.survey.units import parse_units
from ironfield.apps.survey.volume import cut_fill

FT = 0.3048
WKT_FT = (
    'PROJCS["NAD83 / Oregon GIC Lambert (ft)",GEOGCS["NAD83",DATUM["North_American_Datum_1983",'
    'SPHEROID["GRS 1980",6378137,298.257222101]],PRIMEM["Greenwich",0],'
    'UNIT["degree",0.0174532925199433]],PROJECTION["Lambert_Conformal_Conic_2SP"],'
    'UNIT["foot",0.3048,AUTHORITY["EPSG","9002"]],AUTHORITY["EPSG","2992"]]'
)
WKT_M = (
    'PROJCS["WGS 84 / UTM zone 50N",GEOGCS["WGS 84",DATUM["WGS_1984",'
    'SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],'
    'UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'UNIT["metre",1,AUTHORITY["EPSG","9001"]],AUTHORITY["EPSG","32650"]]'
)


F64 = npt.NDArray[np.float64]


def _flat(n: int = 20_000, x0: float = 0.0, seed: int = 0) -> tuple[F64, F64, F64]:
    rng = np.random.default_rng(seed)
    x = x0 + rng.random(n) * 50.0
    y = rng.random(n) * 50.0
    z = 100.0 + 0.1 * x + rng.normal(0, 0.02, n)
    return x, y, z


def test_feet_are_converted_to_metres(tmp_path: Path) -> None:
    x, y, z = _flat()
    write_las(tmp_path / "ft.laz", x / FT, y / FT, z / FT, wkt=WKT_FT)
    s = open_survey(tmp_path / "ft.laz")
    assert s.crs.h_unit == "ft" and s.crs.epsg == 2992
    got = np.concatenate([c.z for c in s.chunks()])
    np.testing.assert_allclose(np.sort(got), np.sort(z), atol=0.002)
    assert s.bounds[3] == pytest.approx(x.max(), abs=0.002)


def test_explicit_units_override_header(tmp_path: Path) -> None:
    x, y, z = _flat()
    write_las(tmp_path / "plain.las", x / FT, y / FT, z / FT)
    s = open_survey(tmp_path / "plain.las", units="ft")
    assert s.crs.source == "option"
    assert s.bounds[5] == pytest.approx(z.max(), abs=0.002)
    with pytest.raises(UnitsError):
        parse_units("furlong")


def test_tiles_read_as_one_survey_in_chunks(tmp_path: Path) -> None:
    a = _flat(seed=1)
    b = _flat(x0=50.0, seed=2)
    write_las(tmp_path / "a.laz", *a, wkt=WKT_M)
    write_las(tmp_path / "b.laz", *b, wkt=WKT_M)
    s = open_survey([tmp_path / "a.laz", tmp_path / "b.laz"], chunk_points=7_000)
    chunks = list(s.chunks())
    assert s.point_count == 40_000 and sum(len(c) for c in chunks) == 40_000
    assert max(len(c) for c in chunks) <= 7_000
    assert s.bounds[0] < 1.0 and s.bounds[3] > 99.0


def test_tiles_in_different_units_are_refused(tmp_path: Path) -> None:
    x, y, z = _flat()
    write_las(tmp_path / "m.laz", x, y, z, wkt=WKT_M)
    write_las(tmp_path / "ft.laz", x / FT, y / FT, z / FT, wkt=WKT_FT)
    with pytest.raises(UnitsError, match="ft.laz"):
        open_survey([tmp_path / "m.laz", tmp_path / "ft.laz"])
    with pytest.raises(UnitsError, match="before"):
        survey_pair(tmp_path / "m.laz", tmp_path / "ft.laz", ground="all")


@pytest.mark.parametrize("damage", ["truncate", "garble"])
def test_damaged_laz_says_which_file(tmp_path: Path, damage: str) -> None:
    x, y, z = _flat(200_000)
    good = tmp_path / "good.laz"
    write_las(good, x, y, z)
    data = bytearray(good.read_bytes())
    bad = tmp_path / "bad.laz"
    if damage == "truncate":
        bad.write_bytes(bytes(data[: len(data) * 2 // 3]))
    else:
        mid = len(data) // 2
        data[mid : mid + 20_000] = bytes(range(256)) * 78 + bytes(32)
        bad.write_bytes(bytes(data))
    with pytest.raises(CloudReadError, match="bad.laz"):
        build_dem(bad, 1.0, ground="all")


def test_not_a_las_file(tmp_path: Path) -> None:
    p = tmp_path / "x.laz"
    p.write_text("hello")
    with pytest.raises(CloudReadError, match="x.laz"):
        open_survey(p)


def test_empty_ground_class_is_an_error(tmp_path: Path) -> None:
    x, y, z = _flat()
    write_las(tmp_path / "c.laz", x, y, z, classification=np.ones(x.size, dtype=np.uint8))
    with pytest.raises(EmptyGroundError, match=r"c\.laz.*class 2"):
        build_dem(tmp_path / "c.laz", 1.0, ground="classified")


def test_surveys_that_do_not_overlap() -> None:
    a = _flat()
    b = _flat(x0=1000.0)
    da = dem_from_arrays(*a, 0.5)
    db = dem_from_arrays(*b, 0.5)
    with pytest.raises(NoOverlapError, match="do not overlap"):
        cut_fill(da, db)


def test_classified_copy_keeps_every_point(tmp_path: Path) -> None:
    from ironfield.apps.survey.pipeline import classify_file

    site = synth.make_yard(seed=1)
    x, y, z, truth = synth.sample(site, "after", spacing=0.6, seed=2)
    write_las(tmp_path / "in.laz", x, y, z, wkt=WKT_M)
    n, g, _ = classify_file(tmp_path / "in.laz", tmp_path / "out.laz")
    assert n == x.size and 0 < g < n
    s = open_survey(tmp_path / "out.laz")
    cls = np.concatenate([c.classification for c in s.chunks()])
    agree = np.mean((cls == 2) == (truth == 2))
    assert agree > 0.98


def test_point_cache_replays_what_was_read(tmp_path: Path) -> None:
    from ironfield.apps.survey.io import PointCache

    x, y, z = _flat(50_000)
    write_las(tmp_path / "c.laz", x + 500_000.0, y + 4e6, z, wkt=WKT_M)
    s = open_survey(tmp_path / "c.laz", chunk_points=20_000)
    cache = PointCache(s)
    first = [(c.x.copy(), c.z.copy()) for c in s.chunks(cache=cache)]
    assert cache.complete
    again = list(s.chunks(cache=cache))
    assert [len(c) for c in again] == [len(a[0]) for a in first]
    for (fx, fz), c in zip(first, again, strict=True):
        np.testing.assert_allclose(c.x, fx, atol=5e-4)
        np.testing.assert_allclose(c.z, fz, atol=5e-4)
    small = PointCache(s, budget=1000)
    list(s.chunks(cache=small))
    assert not small.complete and not small.parts
