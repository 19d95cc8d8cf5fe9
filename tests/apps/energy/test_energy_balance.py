"""Site energy balance: closure, ratios by hand, gaps shown as gaps, shifts, peak demand."""

from __future__ import annotations

from datetime import time

import numpy as np
import pytest

from ironfield.apps.energy import balance as bal
from ironfield.apps.energy.checks import to_ns
from ironfield.apps.energy.config import ShiftConfig
from ironfield.core.timeutil import NS_PER_MIN

TZ = "Asia/Shanghai"


def _flows(n: int = 8, **over: np.ndarray) -> bal.SiteFlows:
    ts = to_ns(["2026-03-01T08:00:00+08:00"])[0] + np.arange(n, dtype=np.int64) * 15 * NS_PER_MIN
    pv = np.array([0, 400, 800, 1000, 1000, 800, 400, 0], float)[:n]
    load = np.full(n, 500.0)
    trucks = np.full(n, 200.0)
    net = load + trucks - pv  # import if positive, export if negative (no battery)
    imp, exp = np.clip(net, 0, None), np.clip(-net, 0, None)
    kw = dict(ts_ns=ts, pv_kw=pv, grid_import_kw=imp, grid_export_kw=exp,
              battery_charge_kw=np.zeros(n), battery_discharge_kw=np.zeros(n),
              truck_charging_kw=trucks, truck_regen_kw=np.full(n, 50.0),
              loads_kw={"crusher": load})
    kw.update(over)
    return bal.SiteFlows(**kw)


def test_balance_closes_and_ratios_by_hand() -> None:
    f = _flows()
    ib = bal.interval_balance(f)
    assert np.allclose(ib.residual_kw, 0.0)
    s = bal.summarize(f)
    dt = 0.25
    pv = 4400 * dt
    exported = (100 + 300 + 300 + 100) * dt  # PV above the 700 kW of consumption
    consumption = 8 * 700 * dt
    assert s.energy_kwh["pv"] == pytest.approx(pv)
    assert s.self_consumption == pytest.approx((pv - exported) / pv)
    assert s.self_sufficiency == pytest.approx((pv - exported) / consumption)
    assert s.truck_regen_kwh == pytest.approx(8 * 50 * dt)  # reported, not in the balance
    assert "truck_regen" not in s.energy_kwh
    assert s.coverage == 1.0 and s.gaps == 0


def test_gap_is_shown_not_filled() -> None:
    imp = _flows().grid_import_kw.copy()
    imp[3] = np.nan
    f = _flows(grid_import_kw=imp)
    s = bal.summarize(f)
    assert np.isnan(s.energy_kwh["grid_import"])  # never an interpolated total
    assert s.gaps == 1 and s.coverage == pytest.approx(7 / 8)
    ib = bal.interval_balance(f)
    assert ib.gap[3] and np.isnan(ib.residual_kw[3]) and np.isnan(ib.pv_on_site_kw[3])
    flags = bal.check_flows(f)
    assert any("grid_import missing" in fl.reason and fl.count == 1 for fl in flags)
    days = bal.energy_by_label(f.grid_import_kw, bal.day_labels(f.ts_ns, TZ), 0.25)
    assert len(days) == 1 and np.isnan(days[0].energy_kwh)
    assert days[0].coverage == pytest.approx(7 / 8)
    assert days[0].partial_kwh == pytest.approx(np.nansum(imp) * 0.25)


def test_negative_meter_reading_flagged() -> None:
    pv = _flows().pv_kw.copy()
    pv[2] = -300.0
    flags = bal.check_flows(_flows(pv_kw=pv), pv_rating_kw=900.0)
    reasons = {fl.reason: fl.count for fl in flags if fl.count}
    assert reasons["pv negative (meter sign or wiring fault)"] == 1
    assert "pv above 120% of rating 900 kW" not in reasons  # 1000 kW is within 120 %


def test_split_signed() -> None:
    pos, neg = bal.split_signed(np.array([5.0, -3.0, 0.0, np.nan]))
    assert pos[:3].tolist() == [5.0, 0.0, 0.0] and neg[:3].tolist() == [0.0, 3.0, 0.0]
    assert np.isnan(pos[3]) and np.isnan(neg[3])


def test_night_shift_belongs_to_its_start_date() -> None:
    shifts = [ShiftConfig(name="day", start=time(8), end=time(20)),
              ShiftConfig(name="night", start=time(20), end=time(8))]
    ts = to_ns(["2026-03-01T19:45:00+08:00", "2026-03-01T23:00:00+08:00",
                "2026-03-02T07:45:00+08:00", "2026-03-02T08:00:00+08:00"])
    assert bal.shift_labels(ts, shifts, TZ) == [
        "2026-03-01 day", "2026-03-01 night", "2026-03-01 night", "2026-03-02 day"]


def test_energy_by_shift() -> None:
    ts = to_ns(["2026-03-01T19:30:00+08:00"])[0] + np.arange(4) * 15 * NS_PER_MIN
    p = np.array([100.0, 100.0, 300.0, 300.0])
    shifts = [ShiftConfig(name="day", start=time(8), end=time(20)),
              ShiftConfig(name="night", start=time(20), end=time(8))]
    out = bal.energy_by_label(p, bal.shift_labels(ts, shifts, TZ), 0.25)
    assert [(e.label, e.energy_kwh) for e in out] == [
        ("2026-03-01 day", 50.0), ("2026-03-01 night", 150.0)]


def test_peak_demand_uses_clock_windows_and_skips_gaps() -> None:
    ts = np.arange(12, dtype=np.int64) * 5 * NS_PER_MIN  # 5-min data, 15-min windows
    imp = np.array([100, 100, 100, 400, 400, 100, 900, np.nan, 900, 50, 50, 50], float)
    peak, at, skipped = bal.peak_demand(ts, imp, 15)
    assert peak == pytest.approx(300.0)  # (400 + 400 + 100) / 3; the 900s window has a gap
    assert at == 15 * NS_PER_MIN and skipped == 1
