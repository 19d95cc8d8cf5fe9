"""OEE as pure functions, checked against the published worked example and by hand."""

from __future__ import annotations

import numpy as np
import pytest

from ironfield.core.timeutil import NS_PER_H, NS_PER_MIN, NS_PER_S
from ironfield.server.oee import counter_increase, oee_factors, shift_windows, state_times

DAY = 1_700_006_400 * NS_PER_S  # 2023-11-15 00:00 UTC


def test_vorne_worked_example() -> None:
    # Vorne "OEE calculation" example: 8 h shift, 2 x 15 min breaks and a 30 min meal
    # (planned stops) -> 420 min planned; 47 min down -> 373 min run; ideal cycle 1.0 s;
    # 19,271 parts, 423 rejects. Published: A 88.81 %, P 86.11 %, Q 97.80 %, OEE 74.79 %.
    f = oee_factors(420 * 60, 373 * 60, 19_271, 19_271 - 423, 1.0)
    assert f.availability == pytest.approx(0.8881, abs=5e-5)
    assert f.performance == pytest.approx(0.8611, abs=5e-5)
    assert f.quality == pytest.approx(0.9780, abs=5e-5)
    assert f.oee == pytest.approx(0.7479, abs=5e-5)


def test_vorne_example_from_a_state_signal_and_counters() -> None:
    # The same shift as a state signal: running=1, break=9 (planned stop), down=2.
    m = NS_PER_MIN
    start = DAY + 6 * NS_PER_H
    plan = [(0, 1), (120, 9), (135, 1), (200, 2), (247, 1), (240 + 7 + 0, 1), (255, 9),
            (285, 1), (400, 9), (415, 1)]
    # 0-120 run, 120-135 break, 135-200 run, 200-247 down (47 min), 247-255 run,
    # 255-285 meal, 285-400 run, 400-415 break, 415-480 run.
    ts = np.array([start + a * m for a, _ in plan], np.int64)
    code = np.array([c for _, c in plan], np.float64)
    planned, run = state_times(ts, code, start, start + 480 * m, running={1}, planned_stop={9})
    assert planned == 420 * 60 and run == 373 * 60
    # Cumulative counters: 19,271 parts over the shift, with one reset in the middle.
    cts = np.array([start - m, start + 100 * m, start + 200 * m, start + 201 * m, start + 479 * m])
    total = np.array([5000.0, 9000.0, 14_000.0, 0.0, 10_271.0])
    assert counter_increase(cts, total, start, start + 480 * m) == 9000 - 5000 + 5000 + 10_271
    f = oee_factors(planned, run, 19_271, 18_848, 1.0)
    assert f.oee == pytest.approx(0.7479, abs=5e-5)


def test_state_held_from_before_the_window_and_unknown_before_first_sample() -> None:
    ts = np.array([DAY - NS_PER_H, DAY + 2 * NS_PER_H], np.int64)
    code = np.array([1.0, 0.0])
    planned, run = state_times(ts, code, DAY, DAY + 4 * NS_PER_H, {1}, set())
    assert (planned, run) == (4 * 3600, 2 * 3600)
    planned, run = state_times(ts[1:], code[1:], DAY, DAY + 4 * NS_PER_H, {1}, set())
    assert (planned, run) == (2 * 3600, 0)  # the first 2 h are unknown, not counted


def test_missing_inputs_give_none_not_zero() -> None:
    f = oee_factors(3600, 1800, None, None, None)
    assert f.availability == 0.5 and f.performance is None and f.quality is None and f.oee is None
    assert oee_factors(0, 0, 0, 0, 1.0).availability is None
    assert counter_increase(np.array([DAY]), np.array([5.0]), DAY + 1, DAY + 2) is None


def test_shift_windows_local_time() -> None:
    w = shift_windows(DAY, DAY + 24 * NS_PER_H, "Asia/Shanghai")  # UTC+8
    # UTC midnight is 08:00 local, inside shift A (local 06:00-14:00 = 22:00-06:00 UTC);
    # B and C follow, and the next local day's A starts at 22:00 UTC.
    assert [(n, (a - DAY) // NS_PER_H, (b - DAY) // NS_PER_H) for n, a, b in w] == [
        ("2023-11-15 A", 0, 6), ("2023-11-15 B", 6, 14), ("2023-11-15 C", 14, 22),
        ("2023-11-16 A", 22, 24)]
    assert sum(b - a for _, a, b in w) == 24 * NS_PER_H
