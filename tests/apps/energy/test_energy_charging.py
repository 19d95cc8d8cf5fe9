"""Charging LP/MILP on small cases with a known optimum; infeasibility explained."""

from __future__ import annotations

import numpy as np
import pytest

from ironfield.apps.energy.charging import (
    ChargingProblem,
    InfeasibleChargingError,
    Truck,
    plan_charging,
    require_feasible,
)
from ironfield.apps.energy.checks import EnergyInputError
from ironfield.apps.energy.policy import charge_when_low


def _parked(name: str, soc0: float = 0.5) -> Truck:
    # no drain, no ore value: only the energy cost matters
    return Truck(name, capacity_kwh=100.0, soc0=soc0, haul_kw=0.0, tonnes_per_h=0.0)


def _pb(**kw: object) -> ChargingProblem:
    base: dict[str, object] = dict(
        start_ns=0, period_h=1.0, pv_surplus_kw=np.zeros(2), price_per_kwh=np.array([1.0, 0.2]),
        trucks_required=[0, 0], trucks=[_parked("T1")], chargers=1, charger_kw=100.0,
        efficiency=1.0, soc_min=0.2, soc_max=0.9, soc_end=0.9, value_per_tonne=0.0)
    base.update(kw)
    return ChargingProblem(**base)  # type: ignore[arg-type]


def test_charges_in_the_cheap_period() -> None:
    plan = plan_charging(_pb())
    assert plan.feasible and plan.status == "Optimal"
    assert plan.charge_kw[0].tolist() == pytest.approx([0.0, 40.0])  # 0.5 -> 0.9 of 100 kWh
    assert plan.grid_kwh() == pytest.approx(40.0)
    assert plan.soc[0, -1] == pytest.approx(0.9)


def test_charging_losses_are_paid_for() -> None:
    plan = plan_charging(_pb(efficiency=0.8))
    assert plan.charge_kw[0, 1] == pytest.approx(40.0 / 0.8)


def test_uses_pv_surplus_first() -> None:
    # expensive grid in period 1: take all 30 kWh of free PV then, the rest in period 2
    plan = plan_charging(_pb(pv_surplus_kw=np.array([30.0, 0.0]),
                             price_per_kwh=np.array([2.0, 1.0])))
    assert plan.charge_kw[0].tolist() == pytest.approx([30.0, 10.0])
    assert plan.grid_import_kw.tolist() == pytest.approx([0.0, 10.0])
    assert plan.grid_export_kw.tolist() == pytest.approx([0.0, 0.0])
    # equal prices: any split works but never more than 10 kWh from the grid
    plan = plan_charging(_pb(pv_surplus_kw=np.array([30.0, 0.0]),
                             price_per_kwh=np.array([1.0, 1.0])))
    assert plan.grid_kwh() == pytest.approx(10.0)


def test_demand_charge_flattens_the_peak() -> None:
    plan = plan_charging(_pb(price_per_kwh=np.array([0.5, 0.5]), demand_charge_per_kw=10.0))
    assert plan.grid_import_kw.tolist() == pytest.approx([20.0, 20.0])
    assert plan.peak_kw() == pytest.approx(20.0)


def test_hauling_truck_is_kept_above_its_floor() -> None:
    t = Truck("H1", capacity_kwh=100.0, soc0=0.9, haul_kw=20.0, tonnes_per_h=100.0)
    pb = _pb(period_h=1.0, pv_surplus_kw=np.zeros(6), price_per_kwh=np.full(6, 0.5),
             trucks_required=[1, 1, 1, 0, 0, 0], trucks=[t], soc_end=0.2, value_per_tonne=1.0)
    plan = require_feasible(plan_charging(pb))
    assert plan.soc.min() >= 0.2 - 1e-9
    assert plan.hauling[0, :3].tolist() == pytest.approx([1.0] * 3)
    # Hauling H h and charging X h: 20 H <= 70 + 100 X and H + X <= 6, so the most ore
    # comes from X = 50/120 h: 41.7 kWh charged, 41.7 t not hauled.
    assert plan.charged_kwh() == pytest.approx(50.0 / 1.2, rel=1e-6)
    assert plan.tonnes_lost() == pytest.approx(50.0 / 1.2, rel=1e-6)


def test_more_trucks_required_than_fleet_is_explained() -> None:
    pb = _pb(trucks_required=[3, 0], trucks=[_parked("T1"), _parked("T2")], soc_end=0.5)
    plan = plan_charging(pb)
    assert not plan.feasible
    assert any("3 trucks required hauling, only 2.0 can be" in p for p in plan.problems)
    with pytest.raises(InfeasibleChargingError, match="3 trucks required"):
        require_feasible(plan)


def test_too_little_charger_power_is_explained() -> None:
    pb = _pb(period_h=1.0, pv_surplus_kw=np.zeros(1), price_per_kwh=np.ones(1),
             trucks_required=[0], trucks=[_parked("T1"), _parked("T2")], charger_kw=50.0)
    plan = plan_charging(pb)
    assert not plan.feasible
    # one 50 kW charger for one hour: 50 of the 80 kWh needed; 30 kWh = 30 % short overall
    shortfall = sum(float(p.split("ends ")[1].split("%")[0]) for p in plan.problems)
    assert shortfall == pytest.approx(30.0, abs=0.1)
    assert all("end-of-horizon SoC target" in p for p in plan.problems)


def test_milp_assigns_whole_periods() -> None:
    pb = _pb(trucks=[_parked("A"), _parked("B")], price_per_kwh=np.array([0.5, 0.5]),
             charger_kw=50.0)
    lp = plan_charging(pb)
    milp = plan_charging(pb, integer=True, time_limit_s=10.0)
    assert milp.feasible and lp.feasible
    # one charger: each truck gets the charger for one whole period and takes 40 kWh
    per_period = (milp.charge_kw > 0).sum(axis=0)
    assert per_period.tolist() == [1, 1]
    assert sorted(milp.charge_kw.sum(axis=1).tolist()) == pytest.approx([40.0, 40.0])
    rows = milp.rows()
    assert {r["action"] for r in rows} <= {"charge", "haul", "park"}
    assert len(rows) == 4


def test_charge_when_low_baseline() -> None:
    t = Truck("H1", capacity_kwh=100.0, soc0=0.35, haul_kw=10.0, tonnes_per_h=100.0)
    pb = _pb(period_h=1.0, pv_surplus_kw=np.zeros(4), price_per_kwh=np.full(4, 0.5),
             trucks_required=[0] * 4, trucks=[t], soc_end=0.2, efficiency=1.0, charger_kw=40.0)
    b = charge_when_low(pb, trigger=0.3)
    # hauls 0.35 -> 0.25, drops below the trigger, charges 40 kWh then 25 kWh to 0.9
    assert b.hauling[0].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert b.charge_kw[0].tolist() == pytest.approx([0.0, 40.0, 25.0, 0.0])
    assert b.tonnes_lost() == pytest.approx(200.0)


def test_truck_fuller_than_soc_max_is_not_an_error() -> None:
    plan = plan_charging(_pb(trucks=[_parked("F", soc0=0.95)], soc_end=0.5))
    assert plan.feasible and plan.charged_kwh() == pytest.approx(0.0)


def test_bad_soc_refused() -> None:
    with pytest.raises(EnergyInputError, match="not in"):
        plan_charging(_pb(trucks=[_parked("X", soc0=1.5)]))
