"""Stockpile polygons from GeoJSON, brought into the survey's frame [m].

Two conventions occur: RFC 7946 GeoJSON is longitude/latitude on WGS 84 [1]_ and must be
projected (pyproj, optional); survey software writes the cloud's projected coordinates with
a legacy ``crs`` member naming the CRS [2]_. Without a ``crs`` member, coordinates that fit
in [-180, 180] x [-90, 90] while the survey does not are taken as longitude/latitude.

.. [1] IETF RFC 7946 2016, The GeoJSON Format, sec. 4 "Coordinate Reference System".
.. [2] GeoJSON 2008 specification (geojson.org/geojson-spec), sec. 3 "Coordinate Reference
   System Objects" (``{"type": "name", "properties": {"name": "EPSG:32650"}}``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ironfield.apps.survey.errors import PolygonError
from ironfield.apps.survey.units import CrsInfo, optional_pyproj

F64 = npt.NDArray[np.float64]

_LONLAT = {4326, 4979, 4269}


def _outer_ring(obj: dict[str, Any], path: str) -> list[list[float]]:
    kind = obj.get("type")
    if kind == "FeatureCollection":
        feats = obj.get("features") or []
        if not feats:
            raise PolygonError(f"{path}: FeatureCollection has no features")
        return _outer_ring(feats[0], path)
    if kind == "Feature":
        geom = obj.get("geometry")
        if not isinstance(geom, dict):
            raise PolygonError(f"{path}: feature has no geometry")
        return _outer_ring(geom, path)
    if kind == "Polygon":
        rings = obj.get("coordinates") or []
        if not rings:
            raise PolygonError(f"{path}: Polygon has no coordinates")
        return list(rings[0])
    if kind == "MultiPolygon":
        polys = obj.get("coordinates") or []
        if not polys or not polys[0]:
            raise PolygonError(f"{path}: MultiPolygon has no coordinates")
        return list(polys[0][0])
    raise PolygonError(f"{path}: expected a Polygon, Feature or FeatureCollection, got {kind!r}")


def _crs_code(obj: dict[str, Any]) -> int | None:
    crs = obj.get("crs")
    if not isinstance(crs, dict):
        return None
    name = str((crs.get("properties") or {}).get("name", ""))
    if "CRS84" in name.upper():
        return 4326
    m = re.search(r"EPSG:+(\d+)", name, flags=re.IGNORECASE)
    if not m:
        raise PolygonError(f"unrecognised crs member {name!r}; use 'EPSG:<code>'")
    return int(m.group(1))


def read_polygon(
    path: Path | str,
    crs: CrsInfo,
    bounds_m: tuple[float, float, float, float] | None = None,
) -> F64:
    """The outer ring of the first polygon in ``path``, as an (N, 2) array [m] in the
    survey's frame. ``bounds_m`` (xmin, ymin, xmax, ymax) [m] helps tell lon/lat apart.
    """
    try:
        obj = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise PolygonError(f"{path}: not a readable GeoJSON file ({exc})") from exc
    ring = np.asarray(_outer_ring(obj, str(path)), dtype=np.float64)
    if ring.ndim != 2 or ring.shape[0] < 3 or ring.shape[1] < 2:
        raise PolygonError(f"{path}: polygon needs at least 3 vertices")
    ring = ring[:, :2]
    code = _crs_code(obj)
    looks_lonlat = bool(
        np.all(np.abs(ring[:, 0]) <= 180) and np.all(np.abs(ring[:, 1]) <= 90)
    )
    data_lonlat = bounds_m is not None and max(abs(b) for b in bounds_m) <= 180 * crs.h_factor
    if code is None and looks_lonlat and not data_lonlat:
        code = 4326
    if code is None or (crs.epsg is not None and code == crs.epsg):
        return ring * crs.h_factor
    if code not in _LONLAT and crs.epsg is None:
        raise PolygonError(
            f"{path}: polygon is in EPSG:{code} but the survey's CRS has no EPSG code; "
            "write the polygon in the survey's coordinates"
        )
    return _transform(ring, code, crs, str(path)) * crs.h_factor


def _transform(ring: F64, code: int, crs: CrsInfo, path: str) -> F64:
    pyproj = optional_pyproj()
    if pyproj is None:
        raise PolygonError(
            f"{path}: polygon is in EPSG:{code}, the survey in {crs.describe()}; "
            "transforming needs pyproj (pip install pyproj)"
        )
    target: Any
    if crs.epsg is not None:
        target = pyproj.CRS.from_epsg(crs.epsg)
    elif crs.wkt:
        target = pyproj.CRS.from_wkt(crs.wkt)
    else:
        raise PolygonError(f"{path}: the survey has no CRS to transform the polygon into")
    tr = pyproj.Transformer.from_crs(pyproj.CRS.from_epsg(code), target, always_xy=True)
    x, y = tr.transform(ring[:, 0], ring[:, 1])
    return np.column_stack([np.asarray(x), np.asarray(y)])
