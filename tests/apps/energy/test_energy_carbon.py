"""Carbon arithmetic with the published factors; diesel baseline by hand; report export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ironfield.apps.energy import carbon, report
from ironfield.apps.energy.balance import SiteFlows
from ironfield.apps.energy.config import CarbonConfig


def test_scopes_with_published_factors() -> None:
    assert carbon.scope1_t(1000.0) == pytest.approx(2.70)  # 1000 L x 2.70 kg/L
    assert carbon.scope2_location_t(1_000_000.0, 0.5564) == pytest.approx(556.4)
    assert carbon.scope2_location_t(1_000_000.0, 0.5366) == pytest.approx(536.6)
    # 400 MWh of certificates cover 400 of 1000 MWh
    assert carbon.scope2_market_t(1_000_000.0, 400_000.0, 0.5564) == pytest.approx(0.6 * 556.4)
    assert carbon.scope2_market_t(1_000.0, 5_000.0, 0.5564) == 0.0  # no negative scope 2


def test_diesel_model_by_hand() -> None:
    # 100 t loaded over 1 km flat at 2 % rolling resistance:
    # W = 100e3 kg * 9.80665 * 0.02 * 1000 m = 19.6133 MJ = 5.448 kWh at the wheels
    litres = carbon.diesel_litres_per_cycle(
        np.array([60.0]), np.array([40.0]), np.array([1.0]), np.array([0.0]),
        np.array([0.0]), np.array([0.0]))
    wheel_kwh = 100e3 * 9.80665 * 0.02 * 1000 / 3.6e6
    assert litres[0] == pytest.approx(wheel_kwh / 0.85 * 215 / 835)


def test_diesel_model_descent_is_free_climb_is_not() -> None:
    down = carbon.diesel_litres_per_cycle(
        np.array([60.0]), np.array([40.0]), np.array([2.0]), np.array([2.0]),
        np.array([-200.0]), np.array([200.0]))
    # loaded leg: 100 t (0.02*2000 - 200) < 0 -> no fuel; empty leg: 40 t (40 + 200) m
    want = 40e3 * 9.80665 * (0.02 * 2000 + 200) / 3.6e6 / 0.85 * 215 / 835
    assert down[0] == pytest.approx(want)
    idle = carbon.diesel_litres_per_cycle(
        np.array([60.0]), np.array([40.0]), np.array([2.0]), np.array([2.0]),
        np.array([-200.0]), np.array([200.0]), np.array([0.5]), idle_l_per_h=12.0)
    assert idle[0] == pytest.approx(want + 6.0)


def test_grid_share_pro_rata() -> None:
    # interval 1: half the consumption imported; interval 2: none
    share = carbon.grid_share_of(np.array([100.0, 100.0]), np.array([50.0, 0.0]),
                                 np.array([100.0, 200.0]))
    assert share == pytest.approx(0.25)


def _month() -> carbon.MonthInputs:
    return carbon.MonthInputs(
        month="2026-07", ore_t=500_000.0, diesel_l=20_000.0, grid_import_kwh=1_000_000.0,
        grid_export_kwh=50_000.0, pv_kwh=350_000.0, certificates_kwh=200_000.0,
        truck_charging_kwh=400_000.0, truck_regen_kwh=120_000.0, truck_grid_share=0.6,
        diesel_baseline_l=150_000.0)


def test_monthly_account() -> None:
    m = carbon.monthly_account(_month(), CarbonConfig())
    assert m.scope1_t == pytest.approx(54.0)
    assert m.scope2_location_t == pytest.approx(556.4)
    assert m.scope2_market_t == pytest.approx(800_000 * 0.5564 / 1000)
    assert m.intensity_location_kg_per_t == pytest.approx((54.0 + 556.4) * 1000 / 500_000)
    assert m.pv_on_site_kwh == pytest.approx(300_000.0)
    assert m.electricity_kwh_per_t == pytest.approx(1_300_000 / 500_000)
    assert m.diesel_baseline_t == pytest.approx(405.0)
    # trucks took 400 MWh, 60 % from the grid
    assert m.avoided_location_t == pytest.approx(405.0 - 240_000 * 0.5564 / 1000)
    assert m.avoided_market_t == pytest.approx(405.0 - 240_000 * 0.8 * 0.5564 / 1000)
    national = carbon.monthly_account(_month(), CarbonConfig(grid_factor="national_2022"))
    assert national.scope2_location_t == pytest.approx(536.6)


def test_report_exports(tmp_path: Path) -> None:
    months = [carbon.monthly_account(_month(), CarbonConfig())]
    text = report.to_csv(months, tmp_path / "r.csv")
    lines = text.strip().split("\n")
    assert lines[0].startswith("month,ore_t,")
    assert lines[1].startswith("2026-07,500000.0,")
    assert (tmp_path / "r.csv").read_text(encoding="utf-8") == text
    page = report.to_html(months)
    assert "<table>" in page and "556.4" in page and "http" not in page
    report.to_pdf(months, tmp_path / "r.pdf")
    assert (tmp_path / "r.pdf").read_bytes()[:4] == b"%PDF"


def test_month_inputs_from_flows_and_cycles() -> None:
    n = 4
    ts = np.arange(n, dtype=np.int64) * 3_600 * 10**9  # hourly
    flows = SiteFlows(
        ts_ns=ts, pv_kw=np.array([0.0, 100.0, 100.0, 0.0]),
        grid_import_kw=np.array([200.0, 100.0, 100.0, np.nan]),  # one gap
        grid_export_kw=np.zeros(n), battery_charge_kw=np.zeros(n),
        battery_discharge_kw=np.zeros(n), truck_charging_kw=np.array([100.0, 100.0, 0.0, 0.0]),
        truck_regen_kw=np.full(n, 10.0), loads_kw={"crusher": np.array([100.0, 100.0, 200.0,
                                                                        100.0])})
    cycles = carbon.HaulCycles(
        payload_t=np.array([60.0, 60.0]), empty_mass_t=np.array([40.0, 40.0]),
        loaded_km=np.array([1.0, 1.0]), empty_km=np.zeros(2), loaded_rise_m=np.zeros(2),
        empty_rise_m=np.zeros(2), cycle_h=np.array([0.5, 0.5]))
    mi = carbon.month_inputs("2026-07", flows, cycles, diesel_l=10.0)
    assert mi.ore_t == 120.0
    assert mi.grid_import_kwh == pytest.approx(400.0)  # the gap is not filled...
    assert mi.coverage == pytest.approx(0.75)  # ...and says so
    assert mi.truck_regen_kwh == pytest.approx(40.0)
    # hour 1: trucks 100 of 200 consumed, all imported; hour 2: half imported
    assert mi.truck_grid_share == pytest.approx((100 * 1.0 + 100 * 0.5) / 200)
    one = carbon.diesel_litres_per_cycle(np.array([60.0]), np.array([40.0]), np.array([1.0]),
                                         np.zeros(1), np.zeros(1), np.zeros(1))
    assert mi.diesel_baseline_l == pytest.approx(2 * one[0])
    assert carbon.monthly_account(mi, CarbonConfig()).coverage == pytest.approx(0.75)
