"""PV power forecasts from the plant's own history: intraday and day-ahead.

All series share one regular grid (int64 ns UTC, NaN for gaps). Forecasts are expressed
through the clear-sky index ``k = P / P_cs`` [-], which removes the sun's daily and
seasonal course so that what is left to forecast is the weather [1]_.

- :func:`persistence` (``F(t+h) = P(t)``) and :func:`clear_sky_index_persistence`
  (``F(t+h) = k(t) P_cs(t+h)``) are the references [2]_.
- :class:`IntradayRegression` ("smart persistence"): per horizon, a least-squares blend of
  the last index, the last hour's mean index and the recent daily mean index, so the
  weight on "now" decays with horizon towards the recent climate [1]_.
- :class:`DayAhead`: tomorrow from yesterday's and the last month's indices by least
  squares, with an uncertainty band from the empirical quantiles of the training
  residuals, binned by the predicted index [3]_. Without a weather forecast feed its
  skill is bounded: it knows the season, not tomorrow's clouds.

.. [1] Bacher, Madsen & Nielsen 2009, "Online short-term solar power forecasting",
   Solar Energy 83(10):1772-1783 (clear-sky normalisation, autoregressive models).
.. [2] Solar Forecast Arbiter documentation, "Reference forecasts": persistence and
   persistence of the clear-sky index, https://solarforecastarbiter.org/.
.. [3] Lorenz et al. 2009, "Irradiance forecasting for the power prediction of
   grid-connected photovoltaic systems", IEEE JSTARS 2(1):2-10 (empirical error
   distributions for forecast uncertainty).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ironfield.apps.energy.checks import BoolArray, EnergyInputError, FloatArray

K_MAX = 1.3  # cloud enhancement rarely lifts a 15-min mean index above this [-]


def shift(a: FloatArray, steps: int) -> FloatArray:
    """``out[i] = a[i - steps]`` (NaN where that index does not exist)."""
    x = np.asarray(a, np.float64)
    out = np.full(x.shape, np.nan)
    if steps == 0:
        return x.copy()
    if steps > 0:
        out[steps:] = x[:-steps]
    else:
        out[:steps] = x[-steps:]
    return out


def ffill(a: FloatArray) -> FloatArray:
    """Carry the last finite value forward (NaN before the first one)."""
    x = np.asarray(a, np.float64)
    idx = np.where(np.isfinite(x), np.arange(len(x)), -1)
    np.maximum.accumulate(idx, out=idx)
    out = np.where(idx >= 0, x[np.maximum(idx, 0)], np.nan)
    return np.asarray(out, np.float64)


def clear_sky_index(power_w: FloatArray, clear_sky_w: FloatArray, min_clear_sky_w: float
                    ) -> FloatArray:
    """``k = P / P_cs`` [-], NaN where the clear-sky power is below ``min_clear_sky_w`` [W]
    (dawn and dusk, where the ratio is noise) or power is missing; clipped to [0, K_MAX]."""
    p = np.asarray(power_w, np.float64)
    cs = np.asarray(clear_sky_w, np.float64)
    day = cs >= min_clear_sky_w
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(day, p / np.where(day, cs, 1.0), np.nan)
    return np.asarray(np.clip(k, 0.0, K_MAX), np.float64)


def persistence(power_w: FloatArray, steps: int) -> FloatArray:
    """``F[i] = P[i - steps]`` [W]: steps = 96 on 15-min data is 24-h persistence."""
    return shift(power_w, steps)


def rolling_mean(a: FloatArray, window: int) -> FloatArray:
    """Trailing mean of the finite values in the last ``window`` samples (NaN if none)."""
    x = np.asarray(a, np.float64)
    ok = np.isfinite(x)
    c = np.concatenate([[0.0], np.cumsum(np.where(ok, x, 0.0))])
    n = np.concatenate([[0], np.cumsum(ok)])
    i = np.arange(1, len(x) + 1)
    j = np.maximum(i - window, 0)
    cnt = n[i] - n[j]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(cnt > 0, (c[i] - c[j]) / np.maximum(cnt, 1), np.nan),
                          np.float64)


def clear_sky_index_persistence(power_w: FloatArray, clear_sky_w: FloatArray, steps: int,
                                min_clear_sky_w: float, average: int = 1) -> FloatArray:
    """``F[i] = mean(k over the ``average`` samples up to i - steps) * P_cs[i]`` [W].

    Before sunrise the last known index (yesterday evening's) is carried forward.
    """
    k = ffill(rolling_mean(clear_sky_index(power_w, clear_sky_w, min_clear_sky_w), average))
    return np.asarray(shift(k, steps) * np.asarray(clear_sky_w, np.float64), np.float64)


def _features_intraday(k: FloatArray, per_day: int) -> FloatArray:
    last = ffill(k)
    hour = ffill(rolling_mean(k, max(1, per_day // 24)))
    recent = ffill(rolling_mean(k, 3 * per_day))  # the last three days' weather regime
    return np.column_stack([np.ones(len(k)), last, hour, recent])


def _fit_l1(x: FloatArray, y: FloatArray, iterations: int = 30) -> FloatArray:
    """Least absolute deviations by iteratively reweighted least squares (Schlossmacher
    1973, JASA 68(344):857-859): the fit that minimises MAE rather than RMSE."""
    b = np.linalg.lstsq(x, y, rcond=None)[0]
    for _ in range(iterations):
        w = np.sqrt(1.0 / np.maximum(np.abs(y - x @ b), 1e-3))
        b = np.linalg.lstsq(x * w[:, None], y * w, rcond=None)[0]
    return np.asarray(b, np.float64)


@dataclass
class IntradayRegression:
    """Smart persistence: per-horizon regression blend of index features [1]_.

    loss : "l2" (least squares: best RMSE) or "l1" (least absolute deviations: best MAE)
    """

    horizons: Sequence[int]  # steps ahead
    per_day: int = 96  # samples per day
    min_clear_sky_w: float = 0.0
    loss: Literal["l2", "l1"] = "l2"
    coef: dict[int, FloatArray] = field(default_factory=dict)

    def fit(self, power_w: FloatArray, clear_sky_w: FloatArray, train: BoolArray
            ) -> IntradayRegression:
        """Fit on samples (targets) where ``train`` is True."""
        k = clear_sky_index(power_w, clear_sky_w, self.min_clear_sky_w)
        x_all = _features_intraday(k, self.per_day)
        for h in self.horizons:
            x = np.column_stack([shift(x_all[:, j], h) for j in range(x_all.shape[1])])
            ok = np.asarray(train, bool) & np.isfinite(k) & np.all(np.isfinite(x), axis=1)
            if ok.sum() < x.shape[1] * 10:
                raise EnergyInputError(f"horizon {h}: only {int(ok.sum())} training samples")
            self.coef[h] = (_fit_l1(x[ok], k[ok]) if self.loss == "l1"
                            else np.linalg.lstsq(x[ok], k[ok], rcond=None)[0])
        return self

    def predict(self, power_w: FloatArray, clear_sky_w: FloatArray, horizon: int) -> FloatArray:
        """Forecast for every target sample at ``horizon`` steps ahead [W]."""
        if horizon not in self.coef:
            raise EnergyInputError(f"horizon {horizon} not fitted; fitted: {sorted(self.coef)}")
        k = clear_sky_index(power_w, clear_sky_w, self.min_clear_sky_w)
        x_all = _features_intraday(k, self.per_day)
        x = np.column_stack([shift(x_all[:, j], horizon) for j in range(x_all.shape[1])])
        khat = np.clip(x @ self.coef[horizon], 0.0, K_MAX)
        return np.asarray(khat * np.asarray(clear_sky_w, np.float64), np.float64)


def daily_index(k: FloatArray, per_day: int, first_offset: int = 0) -> FloatArray:
    """Per sample: the mean clear-sky index of the local day it belongs to [-].

    first_offset : samples from the start of the series to the first local midnight
    """
    x = np.asarray(k, np.float64)
    day = (np.arange(len(x)) - first_offset) // per_day
    day = day - day.min()
    ok = np.isfinite(x)
    s = np.bincount(day[ok], x[ok], minlength=day.max() + 1)
    n = np.bincount(day[ok], minlength=day.max() + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, s / np.maximum(n, 1), np.nan)
    return np.asarray(mean[day], np.float64)


@dataclass
class DayAhead:
    """Tomorrow's power from yesterday's and the last month's daily indices, with a band.

    Quantile ``tau`` of the forecast: ``clip(k_hat + r_tau(bin), 0, K_MAX) * P_cs`` with
    ``r_tau`` the training residuals' empirical quantile in the tercile bin of ``k_hat``.
    """

    per_day: int = 96
    min_clear_sky_w: float = 0.0
    quantiles: Sequence[float] = (0.1, 0.5, 0.9)
    first_offset: int = 0  # samples to the first local midnight
    coef: FloatArray = field(default_factory=lambda: np.zeros(0))
    bin_edges: FloatArray = field(default_factory=lambda: np.zeros(0))
    residual_q: FloatArray = field(default_factory=lambda: np.zeros(0))  # [bin, quantile]

    def _features(self, k: FloatArray) -> FloatArray:
        d = daily_index(k, self.per_day, self.first_offset)
        yday = shift(d, self.per_day)
        month = rolling_mean(yday, 30 * self.per_day)
        # The slot climatology: last 2 weeks' index at this time of day (mornings and
        # evenings differ systematically where terrain or convection do).
        ks = shift(k, self.per_day)
        acc = np.zeros(len(k))
        cnt = np.zeros(len(k))
        for lag in range(14):
            v = shift(ks, lag * self.per_day)
            ok = np.isfinite(v)
            acc += np.where(ok, v, 0.0)
            cnt += ok
        slot = np.where(cnt > 0, acc / np.maximum(cnt, 1), np.nan)
        return np.column_stack([np.ones(len(k)), yday, month, slot])

    def fit(self, power_w: FloatArray, clear_sky_w: FloatArray, train: BoolArray) -> DayAhead:
        k = clear_sky_index(power_w, clear_sky_w, self.min_clear_sky_w)
        x = self._features(k)
        ok = np.asarray(train, bool) & np.isfinite(k) & np.all(np.isfinite(x), axis=1)
        if ok.sum() < 100:
            raise EnergyInputError(f"day-ahead needs >= 100 training samples, got {ok.sum()}")
        self.coef = np.linalg.lstsq(x[ok], k[ok], rcond=None)[0]
        khat = np.clip(x[ok] @ self.coef, 0.0, K_MAX)
        resid = k[ok] - khat
        self.bin_edges = np.quantile(khat, [1 / 3, 2 / 3])
        b = np.digitize(khat, self.bin_edges)
        self.residual_q = np.array([np.quantile(resid[b == i], self.quantiles)
                                    if np.any(b == i) else np.zeros(len(self.quantiles))
                                    for i in range(3)])
        return self

    def predict(self, power_w: FloatArray, clear_sky_w: FloatArray
                ) -> tuple[FloatArray, FloatArray]:
        """(expected power [W], quantile powers [W] with one column per ``quantiles``)."""
        if len(self.coef) == 0:
            raise EnergyInputError("DayAhead.predict before fit")
        cs = np.asarray(clear_sky_w, np.float64)
        k = clear_sky_index(power_w, clear_sky_w, self.min_clear_sky_w)
        khat = np.clip(self._features(k) @ self.coef, 0.0, K_MAX)
        b = np.digitize(np.nan_to_num(khat), self.bin_edges)
        q = np.clip(khat[:, None] + self.residual_q[b], 0.0, K_MAX) * cs[:, None]
        return np.asarray(khat * cs, np.float64), np.asarray(q, np.float64)
