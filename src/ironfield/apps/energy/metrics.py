"""Forecast error metrics, as the Solar Forecast Arbiter defines them [1]_.

With forecasts ``F``, observations ``O`` over ``n`` paired samples:

- MAE  = 1/n sum |F - O|
- MBE  = 1/n sum (F - O)
- RMSE = sqrt(1/n sum (F - O)^2)
- nMAE = 100 / norm * MAE [%], nRMSE likewise; for power ``norm`` is the plant capacity
- forecast skill ``s = 1 - RMSE_f / RMSE_ref`` against a reference forecast (persistence)
- quantile score ``QS = 1/n sum (1{O <= Q} - tau) (Q - O)`` (the pinball loss) for a
  quantile forecast ``Q`` at probability ``tau``

Pairs where either side is missing are dropped from every metric (the Arbiter aligns
forecasts and observations and discards missing values before computing).

.. [1] Solar Forecast Arbiter documentation, "Metrics",
   https://solarforecastarbiter.org/metrics/ (deterministic: MAE, MBE, RMSE, normalized
   variants, forecast skill; probabilistic: quantile score); Hansen et al. 2019,
   "Solar Forecast Arbiter: An open source evaluation framework for solar forecasting",
   IEEE PVSC 46.
"""

from __future__ import annotations

import numpy as np

from ironfield.apps.energy.checks import BoolArray, EnergyInputError, FloatArray


def _pair(forecast: FloatArray, observed: FloatArray) -> tuple[FloatArray, FloatArray]:
    f = np.asarray(forecast, np.float64)
    o = np.asarray(observed, np.float64)
    if f.shape != o.shape:
        raise EnergyInputError(f"forecast {f.shape} and observation {o.shape} differ in shape")
    ok = np.isfinite(f) & np.isfinite(o)
    if not ok.any():
        raise EnergyInputError("no sample has both a forecast and an observation")
    return f[ok], o[ok]


def mae(forecast: FloatArray, observed: FloatArray) -> float:
    """Mean absolute error [unit of the data]."""
    f, o = _pair(forecast, observed)
    return float(np.mean(np.abs(f - o)))


def mbe(forecast: FloatArray, observed: FloatArray) -> float:
    """Mean bias error (positive = over-forecast) [unit of the data]."""
    f, o = _pair(forecast, observed)
    return float(np.mean(f - o))


def rmse(forecast: FloatArray, observed: FloatArray) -> float:
    """Root mean square error [unit of the data]."""
    f, o = _pair(forecast, observed)
    return float(np.sqrt(np.mean((f - o) ** 2)))


def nmae(forecast: FloatArray, observed: FloatArray, norm: float) -> float:
    """MAE normalised by ``norm`` (capacity for power) [%]."""
    if norm <= 0:
        raise EnergyInputError(f"normalisation must be positive, got {norm}")
    return 100.0 * mae(forecast, observed) / norm


def nrmse(forecast: FloatArray, observed: FloatArray, norm: float) -> float:
    """RMSE normalised by ``norm`` [%]."""
    if norm <= 0:
        raise EnergyInputError(f"normalisation must be positive, got {norm}")
    return 100.0 * rmse(forecast, observed) / norm


def skill(forecast: FloatArray, reference: FloatArray, observed: FloatArray) -> float:
    """Forecast skill ``1 - RMSE_f / RMSE_ref`` [-] on the samples all three share.

    1 is perfect, 0 is no better than the reference, negative is worse.
    """
    f = np.asarray(forecast, np.float64)
    r = np.asarray(reference, np.float64)
    o = np.asarray(observed, np.float64)
    ok = np.isfinite(f) & np.isfinite(r) & np.isfinite(o)
    ref = rmse(r[ok], o[ok])
    if ref == 0.0:
        raise EnergyInputError("reference forecast is perfect: skill undefined")
    return 1.0 - rmse(f[ok], o[ok]) / ref


def quantile_score(quantile_forecast: FloatArray, observed: FloatArray, tau: float) -> float:
    """Pinball loss of a quantile forecast at probability ``tau`` in (0, 1) [unit of data]."""
    if not 0.0 < tau < 1.0:
        raise EnergyInputError(f"tau must be in (0, 1), got {tau}")
    q, o = _pair(quantile_forecast, observed)
    below = (o <= q).astype(np.float64)
    return float(np.mean((below - tau) * (q - o)))


def interval_coverage(lower: FloatArray, upper: FloatArray, observed: FloatArray) -> float:
    """Share of observations inside ``[lower, upper]`` [-] (a 10-90 % band should hold
    about 0.8)."""
    lo = np.asarray(lower, np.float64)
    hi = np.asarray(upper, np.float64)
    o = np.asarray(observed, np.float64)
    ok = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(o)
    if not ok.any():
        raise EnergyInputError("no sample has a band and an observation")
    return float(np.mean((o[ok] >= lo[ok]) & (o[ok] <= hi[ok])))


def common_mask(*arrays: FloatArray) -> BoolArray:
    """Samples where every array is finite: evaluate competing forecasts on these only."""
    ok = np.ones(len(arrays[0]), dtype=bool)
    for a in arrays:
        ok &= np.isfinite(np.asarray(a, np.float64))
    return ok
