"""Forecast metrics on hand-computed examples (Solar Forecast Arbiter definitions) and
forecast methods on series whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from ironfield.apps.energy import forecast as fc
from ironfield.apps.energy import metrics as m
from ironfield.apps.energy.checks import EnergyInputError


def test_deterministic_metrics_by_hand() -> None:
    f = np.array([1.0, 2.0, 3.0, np.nan])
    o = np.array([2.0, 2.0, 5.0, 9.0])  # the NaN pair is dropped
    assert m.mae(f, o) == pytest.approx(1.0)  # (1 + 0 + 2) / 3
    assert m.mbe(f, o) == pytest.approx(-1.0)  # (-1 + 0 - 2) / 3
    assert m.rmse(f, o) == pytest.approx(np.sqrt(5.0 / 3.0))
    assert m.nmae(f, o, norm=10.0) == pytest.approx(10.0)  # percent of capacity
    assert m.nrmse(f, o, norm=10.0) == pytest.approx(100 * np.sqrt(5.0 / 3.0) / 10)


def test_skill_by_hand() -> None:
    o = np.array([0.0, 0.0, 0.0, 0.0])
    ref = np.array([2.0, -2.0, 2.0, -2.0])  # RMSE 2
    f = np.array([1.0, -1.0, 1.0, -1.0])  # RMSE 1
    assert m.skill(f, ref, o) == pytest.approx(0.5)
    assert m.skill(ref, ref, o) == pytest.approx(0.0)
    assert m.skill(2 * ref, ref, o) == pytest.approx(-1.0)


def test_quantile_score_by_hand() -> None:
    o = np.array([10.0, 10.0])
    q = np.array([8.0, 12.0])
    # tau 0.9: under-forecast by 2 costs 0.9*2, over-forecast by 2 costs 0.1*2
    assert m.quantile_score(q, o, 0.9) == pytest.approx((1.8 + 0.2) / 2)
    assert m.quantile_score(q, o, 0.1) == pytest.approx((0.2 + 1.8) / 2)
    assert m.interval_coverage(np.array([9.0, 11.0]), np.array([11.0, 12.0]), o) == 0.5
    with pytest.raises(EnergyInputError):
        m.quantile_score(q, o, 1.0)


def test_persistence_and_index_persistence() -> None:
    p = np.array([1.0, 2.0, 3.0, 4.0])
    assert np.isnan(fc.persistence(p, 1)[0])
    assert fc.persistence(p, 1)[1:].tolist() == [1.0, 2.0, 3.0]
    cs = np.array([10.0, 20.0, 40.0, 40.0, 20.0])
    power = 0.5 * cs  # constant clear-sky index: index persistence is exact
    f = fc.clear_sky_index_persistence(power, cs, steps=2, min_clear_sky_w=1.0)
    assert f[2:].tolist() == pytest.approx(power[2:].tolist())


def test_clear_sky_index_masks_dawn_and_gaps() -> None:
    k = fc.clear_sky_index(np.array([1.0, 50.0, np.nan, 300.0]),
                           np.array([2.0, 100.0, 100.0, 200.0]), min_clear_sky_w=10.0)
    assert np.isnan(k[0]) and k[1] == 0.5 and np.isnan(k[2])
    assert k[3] == fc.K_MAX  # 1.5 clipped


def _synthetic(days: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Clear-sky bell times an AR(1) clear-sky index (mean 0.7, phi 0.95 per 15 min)."""
    rng = np.random.default_rng(seed)
    n = days * 96
    h = (np.arange(n) % 96) / 4.0
    cs = np.clip(1000.0 * np.sin(np.pi * (h - 6) / 12), 0.0, None)
    k = np.empty(n)
    k[0] = 0.7
    for i in range(1, n):
        k[i] = 0.7 + 0.95 * (k[i - 1] - 0.7) + rng.normal(0, 0.06)
    return np.clip(k, 0, 1.2) * cs, cs


def test_smart_persistence_beats_persistence_on_ar1_weather() -> None:
    p, cs = _synthetic(60)
    n = len(p)
    train = np.arange(n) < n // 2
    day = cs > 50
    for h in (4, 16):
        model = fc.IntradayRegression([h], min_clear_sky_w=50.0).fit(p, cs, train & day)
        f = model.predict(p, cs, h)
        ref = fc.clear_sky_index_persistence(p, cs, h, 50.0)
        ev = ~train & day & m.common_mask(f, ref, p)
        # the AR(1) reverts to its mean: the blend must beat plain index persistence
        assert m.skill(f[ev], ref[ev], p[ev]) > 0.0


def test_day_ahead_band_covers_about_its_nominal_share() -> None:
    p, cs = _synthetic(120, seed=5)
    n = len(p)
    train = np.arange(n) < n // 2
    day = cs > 50
    da = fc.DayAhead(min_clear_sky_w=50.0).fit(p, cs, train & day)
    mean, q = da.predict(p, cs)
    ev = ~train & day & m.common_mask(mean, p)
    cover = m.interval_coverage(q[ev, 0], q[ev, 2], p[ev])
    assert 0.7 < cover < 0.9  # nominal 10-90 % band
    assert np.all(q[ev, 0] <= q[ev, 2])


def test_l1_fit_ignores_outliers_l2_does_not() -> None:
    x = np.column_stack([np.ones(50), np.linspace(0, 1, 50)])
    y = 1.0 + 2.0 * x[:, 1]
    y[::10] += 5.0  # 10 % gross outliers (a snowy morning in the training data)
    b1 = fc._fit_l1(x, y)
    b2 = np.linalg.lstsq(x, y, rcond=None)[0]
    assert b1 == pytest.approx([1.0, 2.0], abs=0.02)
    assert abs(b2[0] - 1.0) > 0.2


def test_intraday_l1_option_fits_and_predicts() -> None:
    p, cs = _synthetic(30)
    train = np.arange(len(p)) < len(p) // 2
    model = fc.IntradayRegression([4], min_clear_sky_w=50.0, loss="l1").fit(p, cs, train)
    f = model.predict(p, cs, 4)
    assert np.isfinite(f[~train & (cs > 50)]).mean() > 0.99
