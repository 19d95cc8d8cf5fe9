"""Input checks: flag what is physically impossible or ambiguous, with the reason.

Nothing here repairs data. Each check returns a boolean mask of bad samples plus a reason
string; :func:`combine` collects them so a caller (or a page) can say *why* a value was
dropped. A timestamp without a zone is refused outright, because local plant time without
a zone is ambiguous twice a year (where DST applies) and silently shifts every PV profile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from ironfield.core.errors import IronfieldError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
NsArray = npt.NDArray[np.int64]

# Upper bound for plane-of-array irradiance: the extraterrestrial constant (1361 W/m2,
# Kopp & Lean 2011, GRL 38 L01706) plus cloud-edge enhancement, which is observed up to
# ~1.5x clear sky at 1-min resolution (Gueymard 2017, Solar Energy 153:755-765). 1600 W/m2
# keeps real enhancement events and rejects sensor faults.
POA_MAX_WM2 = 1600.0
# A pyranometer at night reads slightly negative (thermal offset, ISO 9060:2018 "zero
# offset a" of up to -7 W/m2 for a class A instrument); far below that is a fault.
IRRADIANCE_MIN_WM2 = -10.0


class EnergyInputError(IronfieldError, ValueError):
    """Input the energy app refuses to interpret (e.g. timestamps without a zone)."""


@dataclass(frozen=True, slots=True)
class Flag:
    """One check's verdict: ``mask[i]`` is True where sample i is bad, and why."""

    reason: str
    mask: BoolArray

    @property
    def count(self) -> int:
        return int(self.mask.sum())


def flag_irradiance(poa_wm2: FloatArray, *, name: str = "irradiance") -> list[Flag]:
    """Irradiance out of physical range.

    poa_wm2 : array — irradiance [W/m2]
    """
    g = np.asarray(poa_wm2, dtype=np.float64)
    return [
        Flag(f"{name} below {IRRADIANCE_MIN_WM2:g} W/m2 (sensor fault)", g < IRRADIANCE_MIN_WM2),
        Flag(f"{name} above {POA_MAX_WM2:g} W/m2 (above enhanced extraterrestrial)",
             g > POA_MAX_WM2),
    ]


def flag_power(power_w: FloatArray, rated_w: float, *, name: str = "power",
               overload: float = 1.2, night_draw_fraction: float = 0.02) -> list[Flag]:
    """Power out of physical range for equipment of a given rating.

    power_w : array — measured output [W]
    rated_w : float — nameplate [W]
    overload : float — tolerated ratio above nameplate [-] (meter error, inverter overload)
    night_draw_fraction : float — tolerated negative reading, fraction of rating [-]
        (inverters draw a little at night)
    """
    p = np.asarray(power_w, dtype=np.float64)
    return [
        Flag(f"{name} below -{night_draw_fraction:.0%} of rating {rated_w:g} W",
             p < -night_draw_fraction * rated_w),
        Flag(f"{name} above {overload:.0%} of rating {rated_w:g} W", p > overload * rated_w),
    ]


def flag_temperature(temp_c: FloatArray, *, name: str = "temperature",
                     low_c: float = -60.0, high_c: float = 100.0) -> list[Flag]:
    """Temperatures a module or the air cannot have [degC]."""
    t = np.asarray(temp_c, dtype=np.float64)
    return [Flag(f"{name} outside [{low_c:g}, {high_c:g}] degC", (t < low_c) | (t > high_c))]


def flag_missing(values: FloatArray, *, name: str = "value") -> Flag:
    """Missing samples (NaN): a gap, to be shown as a gap."""
    return Flag(f"{name} missing (gap in data)", ~np.isfinite(np.asarray(values, np.float64)))


def combine(flags: Sequence[Flag], n: int) -> tuple[BoolArray, list[str]]:
    """Union of masks, and per sample the reasons joined by '; ' ('' when good)."""
    bad = np.zeros(n, dtype=bool)
    reasons: list[list[str]] = [[] for _ in range(n)]
    for f in flags:
        if len(f.mask) != n:
            raise EnergyInputError(f"flag {f.reason!r} has {len(f.mask)} samples, expected {n}")
        bad |= f.mask
        for i in np.flatnonzero(f.mask):
            reasons[i].append(f.reason)
    return bad, ["; ".join(r) for r in reasons]


def summary(flags: Sequence[Flag]) -> dict[str, int]:
    """Count of bad samples per reason (reasons with zero hits left out)."""
    return {f.reason: f.count for f in flags if f.count}


def to_ns(index: pd.DatetimeIndex | Sequence[str] | npt.NDArray[np.int64]) -> NsArray:
    """Timestamps as int64 ns since epoch UTC; refuses anything without a zone.

    Accepts a tz-aware :class:`pandas.DatetimeIndex`, ISO 8601 strings with a zone or an
    int64 array (already ns UTC).
    """
    if isinstance(index, np.ndarray) and index.dtype.kind in "iu":
        return index.astype(np.int64)
    if not isinstance(index, pd.DatetimeIndex):
        strings = [str(s) for s in index]
        try:
            index = pd.DatetimeIndex(pd.to_datetime(strings, format="ISO8601"))
        except (ValueError, TypeError) as e:
            raise EnergyInputError(f"timestamps not ISO 8601: {e}") from e
    if index.tz is None:
        raise EnergyInputError(
            "timestamps have no zone: local plant time without a zone is ambiguous at DST "
            "changes and shifts PV profiles; add 'Z' or an offset such as +08:00")
    return np.asarray(index.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)


def to_index(ts_ns: NsArray) -> pd.DatetimeIndex:
    """int64 ns UTC as a tz-aware (UTC) DatetimeIndex, for pvlib."""
    return pd.DatetimeIndex(pd.to_datetime(np.asarray(ts_ns, np.int64), unit="ns", utc=True))


def regular_step_ns(ts_ns: NsArray) -> int:
    """The sampling step of a regular series [ns]; raises if steps differ or go back."""
    ts = np.asarray(ts_ns, np.int64)
    if len(ts) < 2:
        raise EnergyInputError("need at least two timestamps to know the step")
    d = np.diff(ts)
    if np.any(d <= 0):
        i = int(np.flatnonzero(d <= 0)[0])
        raise EnergyInputError(f"timestamps not strictly increasing at index {i + 1}")
    if np.any(d != d[0]):
        i = int(np.flatnonzero(d != d[0])[0])
        raise EnergyInputError(
            f"irregular step at index {i + 1} ({d[i]} ns vs {d[0]} ns): reindex to a regular "
            "grid with NaN for missing samples so gaps stay visible")
    return int(d[0])
