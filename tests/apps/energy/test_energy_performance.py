"""IEC 61724-1 performance ratio on analytic plants; loss events on constructed faults."""

from __future__ import annotations

import numpy as np
import pytest

from ironfield.apps.energy import performance as perf
from ironfield.core.timeutil import NS_PER_DAY, NS_PER_MIN

STEP = 15 * NS_PER_MIN


def _bell(n_days: int, peak: float = 900.0) -> tuple[np.ndarray, np.ndarray]:
    per_day = 96
    ts = np.arange(n_days * per_day, dtype=np.int64) * STEP
    h = (np.arange(n_days * per_day) % per_day) / 4.0
    g = np.clip(peak * np.sin(np.pi * (h - 6) / 12), 0.0, None)
    return ts, g


def test_pr_of_a_perfect_plant_is_one() -> None:
    _, g = _bell(2)
    p0 = 100_000.0
    p = p0 * g / 1000.0  # output exactly proportional to irradiance at STC efficiency
    assert perf.performance_ratio(p, g, p0) == pytest.approx(1.0)
    assert perf.performance_ratio(0.85 * p, g, p0) == pytest.approx(0.85)


def test_pr_ignores_unpaired_intervals() -> None:
    _, g = _bell(1)
    p = 50_000.0 * g / 1000.0
    p[40] = np.nan  # a gap: the same interval must leave the irradiance sum too
    assert perf.performance_ratio(p, g, 50_000.0) == pytest.approx(1.0)


def test_temperature_corrected_pr() -> None:
    _, g = _bell(1)
    t = 25.0 + 0.03 * g  # hot at noon
    gamma = -0.004
    p = 10_000.0 * g / 1000.0 * (1 + gamma * (t - 25.0))
    assert perf.performance_ratio_stc(p, g, t, 10_000.0, gamma) == pytest.approx(1.0)
    # the plain PR reads the heat as a loss
    assert perf.performance_ratio(p, g, 10_000.0) < 0.95


def test_inverter_trip_event() -> None:
    ts, g = _bell(1)
    expected = 1000.0 * g
    measured = expected.copy()
    measured[44:52] = 0.0  # 11:00-13:00 tripped, warm module
    events = perf.detect_losses(ts, measured, expected, rated_w=900_000.0,
                                module_temp_c=np.full(len(ts), 30.0))
    assert [e.kind for e in events] == ["inverter_trip"]
    ev = events[0]
    assert ev.start_ns == ts[44] and ev.end_ns == ts[51] + STEP and ev.intervals == 8
    assert ev.energy_lost_kwh == pytest.approx(expected[44:52].sum() * 0.25 / 1000.0)


def test_snow_event_spans_the_night() -> None:
    ts, g = _bell(2)
    expected = 1000.0 * g
    measured = expected.copy()
    cover = (ts >= ts[60]) & (ts < ts[96 + 40])  # afternoon until next morning
    measured[cover] *= 0.05
    temp = np.where(cover, -8.0, 5.0)
    events = perf.detect_losses(ts, measured, expected, 900_000.0, temp)
    assert [e.kind for e in events] == ["snow"]
    assert events[0].start_ns == ts[60]


def test_underperformance_and_noise_tolerance() -> None:
    ts, g = _bell(1)
    expected = 1000.0 * g
    rng = np.random.default_rng(0)
    measured = expected * (1 + rng.normal(0, 0.02, len(ts)))  # meter noise: no event
    assert perf.detect_losses(ts, measured, expected, 900_000.0) == []
    measured[40:50] = 0.7 * expected[40:50]
    kinds = [e.kind for e in perf.detect_losses(ts, measured, expected, 900_000.0)]
    assert kinds == ["underperformance"]


def test_soiling_is_a_slow_ramp_not_a_step() -> None:
    days = 12
    ts, g = _bell(days)
    expected = 1000.0 * g
    day = ts // NS_PER_DAY
    ramp = 1.0 - 0.006 * np.clip(day - 2, 0, None)  # -0.6 %/day from day 2
    events = perf.detect_soiling(ts, expected * ramp, expected)
    assert len(events) == 1 and events[0].kind == "soiling"
    assert "clean" in events[0].reason
    step = np.where(day >= 6, 0.9, 1.0)  # a step (e.g. a string fuse) is not soiling
    assert perf.detect_soiling(ts, expected * step, expected) == []
