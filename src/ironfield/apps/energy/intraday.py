"""Intraday PV forecast with a band, refreshed by the running app.

No weather feed: the forecast is the plant's clear-sky power (pvlib, :mod:`.pvmodel`) times
a clear-sky index that starts at the index of the last half hour (clear-sky index
persistence, the reference of the Solar Forecast Arbiter) and relaxes with horizon towards
the window's median index; the band relaxes from the same start towards the window's 10th
and 90th percentile index and widens with sqrt(horizon). At night or without measurements
the window's indices (or clear sky, with a wide band) are used and the method says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ironfield.apps.energy.forecast import K_MAX
from ironfield.apps.energy.pvmodel import ArrayModel, plant_clear_sky_ac_power
from ironfield.apps.energy.series import FloatArray, NsArray
from ironfield.core.timeutil import NS_PER_MIN

STEP_NS = 15 * NS_PER_MIN
RELAX_STEPS = 6.0  # e-folding of persistence into the window's distribution [15-min steps]


def to_step(ts_min: NsArray, v: FloatArray, grid: NsArray, min_count: int = 8) -> FloatArray:
    """15-min means of a minute series on ``grid``; NaN with fewer than ``min_count`` minutes."""
    out = np.full(len(grid), np.nan)
    if not len(ts_min) or not len(grid):
        return out
    k = (ts_min - grid[0]) // STEP_NS
    ok = np.isfinite(v) & (k >= 0) & (k < len(grid))
    s = np.bincount(k[ok].astype(np.intp), v[ok], len(grid))
    c = np.bincount(k[ok].astype(np.intp), None, len(grid))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c >= min_count, s / c, np.nan)


def forecast(models: list[ArrayModel], ts_min: NsArray, actual_kw: FloatArray, now: int,
             horizon_h: float) -> dict[str, Any]:
    rated = sum(m.ac_rating_w for m in models)
    first = int(ts_min[0]) // STEP_NS * STEP_NS if len(ts_min) else now // STEP_NS * STEP_NS
    nxt = -(-now // STEP_NS) * STEP_NS
    grid = np.arange(first, nxt + int(horizon_h * 4) * STEP_NS + 1, STEP_NS, dtype=np.int64)
    cs = plant_clear_sky_ac_power(models, grid + STEP_NS // 2) / 1000.0  # mid-interval [kW]
    act = to_step(ts_min, actual_kw, grid)
    past = grid < nxt - STEP_NS
    lit = cs > 0.05 * rated / 1000.0
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(lit & past & np.isfinite(act), act / cs, np.nan)
    kv = k[np.isfinite(k)]
    recent = kv[-2:] if len(kv) else kv
    recent_ok = bool(len(recent)) and bool(np.isfinite(k[past][-4:]).any())
    if len(kv) >= 4:
        k10, k50, k90 = (float(x) for x in np.quantile(kv, [0.1, 0.5, 0.9]))
        method = "clear-sky index persistence relaxed to the window's index distribution"
    else:
        k10, k50, k90 = 0.2, 0.75, 1.0
        method = "clear sky with a wide band (too few daylight measurements in the window)"
    k0 = float(np.mean(recent)) if recent_ok else k50
    fut = grid >= nxt
    j = np.cumsum(fut).astype(np.float64)
    w = 1.0 - np.exp(-j / RELAX_STEPS)
    widen = 0.04 * np.sqrt(j)
    p50 = np.clip(((1 - w) * k0 + w * k50) * cs, 0, rated / 1000.0)
    lo = np.clip(((1 - w) * k0 + w * k10 - widen) * cs, 0, rated / 1000.0)
    hi = np.clip(np.minimum((1 - w) * k0 + w * k90 + widen, K_MAX) * cs, 0, rated / 1000.0)
    lo, hi = np.minimum(lo, p50), np.maximum(hi, p50)
    nan = np.full(len(grid), np.nan)
    return {
        "ts": grid, "clear_sky_kw": cs, "actual_kw": act, "k": k,
        "p50_kw": np.where(fut, p50, nan), "q10_kw": np.where(fut, lo, nan),
        "q90_kw": np.where(fut, hi, nan), "k_now": k0, "made_ns": now, "method": method,
    }
