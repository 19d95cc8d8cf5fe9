"""Bad input is flagged with its reason; zone-less timestamps are refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ironfield.apps.energy.checks import (
    EnergyInputError,
    combine,
    flag_irradiance,
    flag_power,
    regular_step_ns,
    summary,
    to_ns,
)


def test_irradiance_out_of_range_flagged_with_reason() -> None:
    g = np.array([0.0, -3.0, -50.0, 800.0, 2500.0])
    flags = flag_irradiance(g, name="poa")
    bad, reasons = combine(flags, len(g))
    assert bad.tolist() == [False, False, True, False, True]
    assert "below" in reasons[2] and "above" in reasons[4]
    assert reasons[0] == ""
    assert sum(summary(flags).values()) == 2


def test_power_out_of_range() -> None:
    p = np.array([0.0, -500.0, 1000.0, 1300.0])
    bad, reasons = combine(flag_power(p, rated_w=1000.0), 4)
    assert bad.tolist() == [False, True, False, True]
    assert "120%" in reasons[3]


def test_naive_timestamps_refused() -> None:
    naive = pd.date_range("2026-01-01", periods=3, freq="15min")
    with pytest.raises(EnergyInputError, match="no zone"):
        to_ns(naive)
    with pytest.raises(EnergyInputError, match="no zone"):
        to_ns(["2026-01-01T08:00:00", "2026-01-01T08:15:00"])


def test_zoned_timestamps_become_utc_ns() -> None:
    ts = to_ns(["2026-01-01T08:00:00+08:00"])
    assert ts[0] == to_ns(["2026-01-01T00:00:00Z"])[0]
    assert ts[0] == 1767225600 * 10**9


def test_irregular_step_refused() -> None:
    assert regular_step_ns(np.array([0, 10, 20])) == 10
    with pytest.raises(EnergyInputError, match="irregular"):
        regular_step_ns(np.array([0, 10, 30]))
    with pytest.raises(EnergyInputError, match="increasing"):
        regular_step_ns(np.array([0, 10, 10]))
