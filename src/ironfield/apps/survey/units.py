"""Coordinate reference system and length units of a LAS/LAZ header.

A LAS file says its CRS in one of two ways: GeoTIFF keys (LAS 1.0-1.3, and 1.4 with
point formats 0-5) or an OGC WKT string (mandatory for LAS 1.4 formats 6-10) [1]_. Feet
occur in both: the GeoTIFF ``ProjLinearUnitsGeoKey`` (3076) and ``VerticalUnitsGeoKey``
(4099) carry EPSG unit codes [2]_; WKT carries ``UNIT["foot",0.3048]`` [3]_. When only an
EPSG code of a projected CRS is given, pyproj (if installed) names its unit; otherwise the
unit stays *unknown* and the caller must say it (``units="m"`` or ``"ft"``...).

.. [1] ASPRS 2019, LAS Specification 1.4 R15, sec. 2.5 "Coordinate Reference System".
.. [2] OGC 19-008r4 2019, GeoTIFF 1.1, sec. 7.4 "Key values", units codes 9001-9003.
.. [3] OGC 12-063r5 2015, Well-known text representation of CRS, sec. 7.4 "Unit".
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

from ironfield.apps.survey.errors import UnitsError

#: metres per unit, by EPSG unit-of-measure code [2]_
EPSG_UNITS: dict[int, tuple[str, float]] = {
    9001: ("m", 1.0),
    9002: ("ft", 0.3048),
    9003: ("us-ft", 1200.0 / 3937.0),
    9030: ("nmi", 1852.0),
    9036: ("km", 1000.0),
}

#: names accepted for an explicit ``units=`` option [metres per unit]
UNIT_NAMES: dict[str, tuple[str, float]] = {
    "m": ("m", 1.0),
    "metre": ("m", 1.0),
    "meter": ("m", 1.0),
    "ft": ("ft", 0.3048),
    "foot": ("ft", 0.3048),
    "feet": ("ft", 0.3048),
    "us-ft": ("us-ft", 1200.0 / 3937.0),
    "usft": ("us-ft", 1200.0 / 3937.0),
    "us_survey_foot": ("us-ft", 1200.0 / 3937.0),
}

_PROJ_KEY, _HUNITS_KEY, _VUNITS_KEY, _GEOG_KEY = 3072, 3076, 4099, 2048
_USER_DEFINED = 32767


@dataclass(frozen=True)
class CrsInfo:
    """What a header says about where and in which units its coordinates are.

    ``h_factor`` / ``v_factor`` [m per unit] turn header coordinates into metres;
    ``source`` says where the units were read (``geokeys``, ``wkt``, ``epsg``, ``option``).
    """

    epsg: int | None
    wkt: str | None
    name: str
    h_unit: str
    h_factor: float
    v_unit: str
    v_factor: float
    source: str

    def same_frame(self, other: CrsInfo) -> bool:
        """True when both describe the same CRS (by EPSG code, else by name) and units."""
        if (self.h_unit, self.v_unit) != (other.h_unit, other.v_unit):
            return False
        if self.epsg is not None and other.epsg is not None:
            return self.epsg == other.epsg
        return self.name == other.name

    def describe(self) -> str:
        code = f"EPSG:{self.epsg}" if self.epsg else (self.name or "no CRS")
        return f"{code}, horizontal {self.h_unit}, vertical {self.v_unit} (from {self.source})"


def parse_units(name: str) -> tuple[str, float]:
    """An explicit unit name -> (canonical name, metres per unit)."""
    key = name.strip().lower()
    if key not in UNIT_NAMES:
        raise UnitsError(f"unknown unit {name!r}; use one of {sorted(set(UNIT_NAMES))}")
    return UNIT_NAMES[key]


def _wkt_units(wkt: str) -> tuple[str, float] | None:
    # The last UNIT[...] of a PROJCS is the projected axis unit; of a GEOGCS it is angular.
    if not wkt.lstrip().upper().startswith(("PROJCS", "PROJCRS", "COMPD_CS", "COMPOUNDCRS")):
        return None
    proj = re.split(r"VERT_CS|VERTCRS", wkt, maxsplit=1, flags=re.IGNORECASE)[0]
    units = re.findall(r'UNIT\[\s*"([^"]+)"\s*,\s*([0-9.eE+-]+)', proj)
    if not units:
        return None
    uname, factor = units[-1][0], float(units[-1][1])
    low = uname.lower()
    if "us" in low and "foot" in low:
        return ("us-ft", factor)
    if "foot" in low or "feet" in low:
        return ("ft", factor)
    if low.startswith(("metre", "meter")):
        return ("m", factor)
    return (low, factor)


def _wkt_epsg(wkt: str) -> int | None:
    # Only an AUTHORITY/ID that is a direct child of the root names the CRS itself; the
    # ones deeper down name its datum, units and so on.
    for m in re.finditer(r'(?:AUTHORITY|ID)\[\s*"EPSG"\s*,\s*"?(\d+)"?\s*\]', wkt):
        before = wkt[: m.start()]
        if before.count("[") - before.count("]") == 1:
            return int(m.group(1))
    return None


def _wkt_name(wkt: str) -> str:
    m = re.match(r'\s*\w+\[\s*"([^"]*)"', wkt)
    return m.group(1) if m else ""


def optional_pyproj() -> Any:
    """The pyproj module if installed (it is optional for ironfield), else None."""
    try:
        return importlib.import_module("pyproj")
    except ImportError:
        return None


def _pyproj_units(epsg: int) -> tuple[str, float] | None:
    pyproj = optional_pyproj()
    if pyproj is None:
        return None
    try:
        crs = pyproj.CRS.from_epsg(epsg)
    except pyproj.exceptions.CRSError:
        return None
    axis = crs.axis_info[0] if crs.axis_info else None
    if axis is None or axis.unit_conversion_factor is None:
        return None
    name = axis.unit_name.lower()
    unit = "us-ft" if "us survey" in name else "ft" if "foot" in name else "m"
    return (unit, float(axis.unit_conversion_factor))


def crs_from_header(header: Any, units: str | None = None) -> CrsInfo:
    """Read CRS and units from a laspy header; ``units`` overrides both axes' units.

    Raises :class:`UnitsError` when the header names a unit that is not a length.
    """
    epsg: int | None = None
    wkt: str | None = None
    h: tuple[str, float] | None = None
    v: tuple[str, float] | None = None
    source = "default"
    for vlr in list(header.vlrs) + list(getattr(header, "evlrs", None) or []):
        keys = getattr(vlr, "geo_keys", None)
        if keys is not None:
            for key in keys:
                if key.id == _PROJ_KEY and key.value_offset != _USER_DEFINED:
                    epsg = int(key.value_offset)
                elif key.id == _HUNITS_KEY and key.value_offset in EPSG_UNITS:
                    h = EPSG_UNITS[int(key.value_offset)]
                    source = "geokeys"
                elif key.id == _VUNITS_KEY and key.value_offset in EPSG_UNITS:
                    v = EPSG_UNITS[int(key.value_offset)]
        text = getattr(vlr, "string", None)
        if isinstance(text, str) and text.strip():
            wkt = text.strip().rstrip("\x00")
    if wkt is not None:
        w_units = _wkt_units(wkt)
        epsg = epsg or _wkt_epsg(wkt)
        if w_units is not None and h is None:
            h, source = w_units, "wkt"
    if h is None and epsg is not None:
        p = _pyproj_units(epsg)
        if p is not None:
            h, source = p, "epsg"
    if units is not None:
        h = v = parse_units(units)
        source = "option"
    if h is None:
        # LAS coordinates of a projected survey without any unit statement: assume metres,
        # and say so in `source` so every result can state the assumption.
        h, source = ("m", 1.0), "assumed (header states no unit)"
    if v is None:
        v = h  # LAS practice: Z in the horizontal unit unless VerticalUnitsGeoKey says
    for label, (_, factor) in (("horizontal", h), ("vertical", v)):
        if not 0.0 < factor < 1e4:
            raise UnitsError(f"{label} unit factor {factor} is not a length unit")
    name = _wkt_name(wkt) if wkt else (f"EPSG:{epsg}" if epsg else "")
    return CrsInfo(epsg, wkt, name, h[0], h[1], v[0], v[1], source)
