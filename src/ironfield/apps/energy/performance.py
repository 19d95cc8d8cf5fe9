"""Performance ratio and loss events: is the plant making what the weather allows?

Performance ratio follows IEC 61724-1:2017 [1]_:

- final yield ``Y_f = E_out / P_0`` [kWh/kWp], with ``P_0`` the DC rating at STC;
- reference yield ``Y_r = H_i / G_i,ref`` [h], ``H_i`` the in-plane irradiation and
  ``G_i,ref = 1 kW/m2``;
- ``PR = Y_f / Y_r`` (sec. 10.3), and the temperature-corrected variant ``PR_STC`` that
  divides each interval's reference by ``C_k = 1 + gamma (T_mod,k - 25 degC)`` (sec. 10.3.3,
  eq. 19) so seasonal temperature swings do not read as degradation.

Loss events compare measured with expected AC power (from :mod:`pvmodel`) interval by
interval and name the cause when the signature says it:

- **inverter trip**: output at or near zero while the model expects real power and the
  irradiance sensor sees sun, and the module is warm enough not to hold snow;
- **snow**: output far below expected while the module temperature is near or below
  freezing (snow slides off above ~0 degC; Marion et al. 2013 [2]_ model sliding only once
  the module is above freezing or in sun);
- **underperformance**: a sustained shortfall beyond the tolerance that fits neither;
- **soiling**: a slow decline of the daily performance index (measured / expected
  energy) over several days without a step, the signature used by the stochastic rate
  and recovery method of Deceglie et al. 2018 [3]_.

.. [1] IEC 61724-1:2017, Photovoltaic system performance - Part 1: Monitoring.
.. [2] Marion, Schaefer, Caine & Sanchez 2013, "Measured and modeled photovoltaic system
   energy losses from snow for Colorado and Wisconsin locations", Solar Energy 97:112-121.
.. [3] Deceglie, Micheli & Muller 2018, "Quantifying soiling loss directly from PV yield",
   IEEE J. Photovoltaics 8(2):547-551.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ironfield.apps.energy.checks import BoolArray, EnergyInputError, FloatArray, NsArray
from ironfield.core.timeutil import NS_PER_DAY, NS_PER_H

LossKind = Literal["inverter_trip", "snow", "underperformance", "soiling"]


def performance_ratio(ac_power_w: FloatArray, poa_wm2: FloatArray, p_stc_w: float) -> float:
    """IEC 61724-1 PR [-] over equal-length intervals [1]_ (sec. 10.3).

    ac_power_w : AC output per interval [W]
    poa_wm2 : in-plane irradiance per interval [W/m2]
    p_stc_w : array DC rating at STC [W]

    Intervals with either value missing are left out of both sums (the standard requires
    the same intervals in numerator and denominator).
    """
    p = np.asarray(ac_power_w, np.float64)
    g = np.asarray(poa_wm2, np.float64)
    ok = np.isfinite(p) & np.isfinite(g)
    h = float(np.sum(np.clip(g[ok], 0.0, None)))
    if h <= 0.0:
        return float("nan")
    # Y_f / Y_r with a common interval length tau, which cancels.
    return float(np.sum(p[ok]) / p_stc_w) / (h / 1000.0)


def performance_ratio_stc(ac_power_w: FloatArray, poa_wm2: FloatArray, module_temp_c: FloatArray,
                          p_stc_w: float, gamma_per_k: float) -> float:
    """Temperature-corrected PR [-] (IEC 61724-1:2017 sec. 10.3.3, eq. 19) [1]_.

    module_temp_c : module (back-surface) temperature [degC]
    gamma_per_k : relative power temperature coefficient [1/K] (negative)
    """
    p = np.asarray(ac_power_w, np.float64)
    g = np.asarray(poa_wm2, np.float64)
    t = np.asarray(module_temp_c, np.float64)
    ok = np.isfinite(p) & np.isfinite(g) & np.isfinite(t)
    ck = 1.0 + gamma_per_k * (t[ok] - 25.0)
    ref = float(np.sum(ck * np.clip(g[ok], 0.0, None) / 1000.0))
    if ref <= 0.0:
        return float("nan")
    return float(np.sum(p[ok]) / p_stc_w) / ref


@dataclass(frozen=True, slots=True)
class LossEvent:
    kind: LossKind
    start_ns: int
    end_ns: int  # end of the last flagged interval
    intervals: int
    energy_lost_kwh: float
    reason: str


@dataclass(frozen=True, slots=True)
class LossThresholds:
    """Tuning of :func:`detect_losses`; defaults suit 5-15 min data."""

    min_expected_fraction: float = 0.05  # ignore intervals expecting < 5 % of rating [-]
    trip_fraction: float = 0.02  # output below 2 % of expected = tripped [-]
    snow_temp_c: float = 2.0  # module at or below this may hold snow [degC]
    snow_ratio: float = 0.5  # measured/expected below this with cold module = snow [-]
    under_ratio: float = 0.85  # measured/expected below this = underperforming [-]
    min_intervals: int = 2  # a loss must last at least this many intervals
    soiling_days: int = 5  # declining daily index over at least this many days
    soiling_drop: float = 0.03  # and by at least this much in total [-]


def classify_intervals(measured_w: FloatArray, expected_w: FloatArray, rated_w: float,
                       module_temp_c: FloatArray | None = None,
                       th: LossThresholds | None = None) -> list[str]:
    """Per-interval label: '', 'inverter_trip', 'snow' or 'underperformance'.

    measured_w, expected_w : AC power measured and modelled [W]
    rated_w : plant AC rating [W]
    module_temp_c : module temperature [degC]; without it snow cannot be told from a trip
    """
    t = th or LossThresholds()
    m = np.asarray(measured_w, np.float64)
    e = np.asarray(expected_w, np.float64)
    temp = (np.full(m.shape, np.nan) if module_temp_c is None
            else np.asarray(module_temp_c, np.float64))
    ok = np.isfinite(m) & np.isfinite(e) & (e >= t.min_expected_fraction * rated_w)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(ok, m / np.where(e > 0, e, np.nan), np.nan)
    cold = np.isfinite(temp) & (temp <= t.snow_temp_c)
    labels = np.full(m.shape, "", dtype=object)
    labels[ok & (ratio < t.under_ratio)] = "underperformance"
    labels[ok & cold & (ratio < t.snow_ratio)] = "snow"
    labels[ok & ~cold & (ratio < t.trip_fraction)] = "inverter_trip"
    return [str(x) for x in labels]


def detect_losses(ts_ns: NsArray, measured_w: FloatArray, expected_w: FloatArray, rated_w: float,
                  module_temp_c: FloatArray | None = None,
                  th: LossThresholds | None = None) -> list[LossEvent]:
    """Loss events (runs of equally-labelled intervals) plus soiling episodes.

    A snow run may span the night without being split (snow that covers the array at dusk
    still covers it at dawn); other runs end at night. A gap neither extends nor ends one.
    """
    t = th or LossThresholds()
    ts = np.asarray(ts_ns, np.int64)
    if len(ts) < 2:
        return []
    step = int(np.median(np.diff(ts)))
    labels = classify_intervals(measured_w, expected_w, rated_w, module_temp_c, t)
    m = np.asarray(measured_w, np.float64)
    e = np.asarray(expected_w, np.float64)
    active = e >= t.min_expected_fraction * rated_w
    events: list[LossEvent] = []
    current: str = ""
    members: list[int] = []

    def close() -> None:
        if current and len(members) >= t.min_intervals:
            idx = np.array(members)
            lost = float(np.nansum(e[idx] - m[idx])) * step / NS_PER_H / 1000.0
            ratio = float(np.nansum(m[idx]) / max(float(np.nansum(e[idx])), 1e-9))
            events.append(LossEvent(
                kind=current,  # type: ignore[arg-type]
                start_ns=int(ts[idx[0]]), end_ns=int(ts[idx[-1]] + step), intervals=len(idx),
                energy_lost_kwh=lost,
                reason=f"{len(idx)} intervals at {ratio:.0%} of expected output",
            ))

    for i, lab in enumerate(labels):
        if not active[i] and current and current != "snow":
            close()  # night ends a trip or an underperformance run; snow lies overnight
            current, members = "", []
        if not active[i] or not np.isfinite(m[i]):
            continue  # gap (or night in a snow run): neither extends nor breaks it
        if lab != current:
            close()
            current, members = lab, []
        if lab:
            members.append(i)
    close()
    events.extend(detect_soiling(ts, m, e, t))
    return sorted(events, key=lambda ev: ev.start_ns)


def daily_performance_index(ts_ns: NsArray, measured_w: FloatArray, expected_w: FloatArray,
                            day_offset_ns: int = 0) -> tuple[NsArray, FloatArray]:
    """Per day: measured / expected energy [-], over intervals where both are known.

    day_offset_ns : added to UTC before cutting days (e.g. +8 h for Asia/Shanghai)
    """
    ts = np.asarray(ts_ns, np.int64)
    m = np.asarray(measured_w, np.float64)
    e = np.asarray(expected_w, np.float64)
    day = (ts + day_offset_ns) // NS_PER_DAY
    ok = np.isfinite(m) & np.isfinite(e)
    days, k = np.unique(day, return_inverse=True)
    meas = np.bincount(k, np.where(ok, m, 0.0), minlength=len(days))
    exp = np.bincount(k, np.where(ok, e, 0.0), minlength=len(days))
    with np.errstate(invalid="ignore", divide="ignore"):
        pi = np.where(exp > 0, meas / np.where(exp > 0, exp, 1.0), np.nan)
    return (days * NS_PER_DAY - day_offset_ns).astype(np.int64), np.asarray(pi, np.float64)


def detect_soiling(ts_ns: NsArray, measured_w: FloatArray, expected_w: FloatArray,
                   th: LossThresholds | None = None) -> list[LossEvent]:
    """Soiling: runs of days whose performance index falls day after day (a smooth ramp,
    no single step larger than half the total drop) by at least ``soiling_drop`` [3]_."""
    t = th or LossThresholds()
    day_ts, pi = daily_performance_index(ts_ns, measured_w, expected_w)
    good = np.isfinite(pi)
    day_ts, pi = day_ts[good], pi[good]
    events: list[LossEvent] = []
    start = 0
    for i in range(1, len(pi) + 1):
        falling = i < len(pi) and pi[i] <= pi[i - 1] + 0.002
        if falling:
            continue
        run = pi[start:i]
        if len(run) >= t.soiling_days:
            drop = float(run[0] - run[-1])
            steps = -np.diff(run)
            if drop >= t.soiling_drop and float(steps.max()) <= 0.5 * drop:
                events.append(LossEvent(
                    kind="soiling", start_ns=int(day_ts[start]), end_ns=int(day_ts[i - 1]
                    + NS_PER_DAY), intervals=len(run), energy_lost_kwh=float("nan"),
                    reason=(f"daily performance index fell {drop:.1%} over {len(run)} days "
                            f"({run[0]:.3f} -> {run[-1]:.3f}) without a step: clean the array"),
                ))
        start = i
    return events


def require_same_length(*arrays: FloatArray | BoolArray) -> int:
    n = {len(a) for a in arrays}
    if len(n) != 1:
        raise EnergyInputError(f"arrays differ in length: {sorted(n)}")
    return n.pop()
