"""GeoJSON polygons into the survey frame, hillshade, hole filling and the GeoTIFF layout."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from ironfield.apps.survey.dem import dem_from_arrays, write_geotiff
from ironfield.apps.survey.errors import PolygonError
from ironfield.apps.survey.grid import GridSpec, fill_linear, footprint, hillshade
from ironfield.apps.survey.polygon import read_polygon
from ironfield.apps.survey.units import CrsInfo, optional_pyproj

UTM = CrsInfo(32650, None, "WGS 84 / UTM zone 50N", "m", 1.0, "m", 1.0, "test")
FEET = CrsInfo(2992, None, "NAD83 / Oregon GIC Lambert (ft)", "ft", 0.3048, "ft", 0.3048,
               "test")
RING = [[500010.0, 4000010.0], [500040.0, 4000010.0], [500040.0, 4000030.0],
        [500010.0, 4000010.0]]


def _write(tmp_path: Path, obj: dict[str, object]) -> Path:
    p = tmp_path / "p.geojson"
    p.write_text(json.dumps(obj))
    return p


def test_projected_polygon_with_crs_member(tmp_path: Path) -> None:
    p = _write(tmp_path, {"type": "FeatureCollection", "crs": {
        "type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32650"}},
        "features": [{"type": "Feature", "properties": {},
                      "geometry": {"type": "Polygon", "coordinates": [RING]}}]})
    ring = read_polygon(p, UTM)
    np.testing.assert_allclose(ring, np.array(RING))


def test_polygon_in_feet_comes_out_in_metres(tmp_path: Path) -> None:
    p = _write(tmp_path, {"type": "Polygon", "coordinates": [RING]})
    ring = read_polygon(p, FEET, (0.3048 * 500000, 0.3048 * 4e6, 0.3048 * 500100,
                                  0.3048 * 4000100))
    np.testing.assert_allclose(ring, np.array(RING) * 0.3048)


def test_lonlat_polygon(tmp_path: Path) -> None:
    lonlat = [[117.0, 36.1], [117.001, 36.1], [117.001, 36.101], [117.0, 36.1]]
    p = _write(tmp_path, {"type": "Polygon", "coordinates": [lonlat]})
    if optional_pyproj() is None:
        with pytest.raises(PolygonError, match="pyproj"):
            read_polygon(p, UTM, (500000.0, 3990000.0, 501000.0, 3999000.0))
        return
    ring = read_polygon(p, UTM, (500000.0, 3990000.0, 501000.0, 3999000.0))
    # 0.001 deg of longitude at 36.1 N is about 90 m
    assert 80 < np.ptp(ring[:, 0]) < 100


def test_not_a_polygon(tmp_path: Path) -> None:
    p = _write(tmp_path, {"type": "Point", "coordinates": [1.0, 2.0]})
    with pytest.raises(PolygonError, match="Point"):
        read_polygon(p, UTM)


def test_hillshade_of_flat_ground_is_sin_of_sun_altitude() -> None:
    z = np.full((20, 20), 100.0)
    np.testing.assert_allclose(hillshade(z, 1.0, altitude=30.0), np.sin(np.radians(30.0)))


def test_hillshade_slope_facing_the_sun_is_brightest() -> None:
    y = np.arange(20, dtype=np.float64)[:, None] * np.ones((1, 20))
    # z falls towards the north (rows run south to north): the slope faces north
    north = hillshade(-y * np.tan(np.radians(45.0)), 1.0, azimuth=0.0, altitude=45.0)
    assert north[10, 10] == pytest.approx(1.0, abs=1e-9)


def test_membrane_fill_is_exact_on_a_plane() -> None:
    yy, xx = np.mgrid[0:40, 0:50].astype(np.float64)
    z = 3.0 + 0.2 * xx - 0.1 * yy
    known = np.ones(z.shape, dtype=bool)
    known[10:25, 15:35] = False  # a machine's shadow
    filled = fill_linear(np.where(known, z, np.nan), known, np.ones_like(known))
    np.testing.assert_allclose(filled, z, atol=1e-9)


def test_footprint_fills_enclosed_holes_only() -> None:
    known = np.zeros((30, 30), dtype=bool)
    known[5:25, 5:25] = True
    known[10:15, 10:15] = False
    fp = footprint(known)
    assert fp[12, 12] and not fp[1, 1]


def test_geotiff_header_and_georeference(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = 1000.0 + rng.random(5000) * 20
    y = 2000.0 + rng.random(5000) * 10
    dem = dem_from_arrays(x, y, np.full(5000, 50.0), 1.0, crs=UTM,
                          spec=GridSpec(1000.0, 2000.0, 1.0, 20, 10))
    out = tmp_path / "d.tif"
    write_geotiff(dem, out)
    raw = out.read_bytes()
    assert raw[:4] == b"II*\x00"
    ifd = struct.unpack("<I", raw[4:8])[0]
    n = struct.unpack("<H", raw[ifd : ifd + 2])[0]
    tags = {}
    for i in range(n):
        tag, typ, count, val = struct.unpack("<HHII", raw[ifd + 2 + 12 * i : ifd + 14 + 12 * i])
        tags[tag] = (typ, count, val)
    assert tags[256][2] == 20 and tags[257][2] == 10
    _, _, off = tags[33922]
    tie = struct.unpack("<6d", raw[off : off + 48])
    assert tie[3:5] == (1000.0, 2010.0)  # upper-left corner
    pix = np.frombuffer(raw[tags[273][2] : tags[273][2] + 800], dtype="<f4")
    np.testing.assert_allclose(pix, 50.0, atol=1e-4)
