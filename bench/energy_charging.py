"""Charging schedule: the HiGHS plan against charge-when-low, same fleet, same day.

    .venv/bin/python bench/energy_charging.py

A 24-h day at the Luobei mine (from 08:00 local): PV from the demo plant's clear-sky
ModelChain output (pvlib) with a cloudy afternoon, fixed loads (crusher, conveyors,
offices), the demo tariff (valley / flat / peak) and its demand charge, 12 electric haul
trucks of which 8 must haul in the day shift and 6 at night, 4 chargers of 400 kW.
Both policies must leave the fleet with the same energy at the end of the day, so the
grid kWh are comparable. Prints each figure and the ratio plan / baseline.
"""

from __future__ import annotations

import time

import numpy as np

from ironfield.apps.energy import pvmodel
from ironfield.apps.energy.balance import tariff_minutes
from ironfield.apps.energy.charging import ChargingPlan, ChargingProblem, Truck, plan_charging
from ironfield.apps.energy.checks import to_ns
from ironfield.apps.energy.config import demo_config
from ironfield.apps.energy.policy import charge_when_low
from ironfield.core.timeutil import NS_PER_MIN


def scenario() -> ChargingProblem:
    cfg = demo_config()
    start = int(to_ns(["2026-06-15T08:00:00+08:00"])[0])
    n, dt = 96, 0.25
    ts = start + np.arange(n, dtype=np.int64) * 15 * NS_PER_MIN
    array = pvmodel.build_array(cfg.pv.arrays[0], cfg.site)
    pv_kw = pvmodel.clear_sky_ac_power(array, ts, temp_air_c=22.0) / 1000.0
    hours = 8 + np.arange(n) * dt
    pv_kw *= np.where((hours >= 14) & (hours < 17), 0.35, 1.0)  # cloudy afternoon
    base_kw = 900.0 + 300.0 + 150.0  # crusher, conveyors, offices and workshop
    price = np.array([cfg.tariff.price_at_minute(int(mn)) for mn in tariff_minutes(ts, "Asia/Shanghai")])
    rng = np.random.default_rng(42)
    trucks = [Truck(f"truck-{i + 1:02d}", capacity_kwh=420.0, soc0=float(rng.uniform(0.35, 0.9)),
                    haul_kw=140.0, tonnes_per_h=220.0) for i in range(12)]
    local_h = hours % 24
    required = [8 if 8 <= h < 20 else 6 for h in local_h]
    c = cfg.charging
    return ChargingProblem(
        start_ns=start, period_h=dt, pv_surplus_kw=pv_kw - base_kw, price_per_kwh=price,
        trucks_required=required, trucks=trucks, chargers=4, charger_kw=400.0,
        efficiency=c.charge_efficiency, soc_min=c.soc_min, soc_max=c.soc_max,
        demand_charge_per_kw=cfg.tariff.demand_charge_per_kw_month, value_per_tonne=5.0)


def cost(pb: ChargingProblem, plan: ChargingPlan) -> float:
    energy = float((plan.grid_import_kw * np.asarray(pb.price_per_kwh)).sum() * pb.period_h)
    return energy + pb.demand_charge_per_kw * plan.peak_kw()


def hauled(plan: ChargingPlan) -> float:
    return float((plan.hauling * plan.tonnes_per_h[:, None]).sum() * plan.period_h)


def main() -> None:
    pb0 = scenario()
    t0 = time.perf_counter()
    base = charge_when_low(pb0, trigger=demo_config().charging.low_soc_trigger)
    t_base = time.perf_counter() - t0
    end_kwh = float((base.soc[:, -1] * np.array([t.capacity_kwh for t in pb0.trucks])).sum())
    pb = ChargingProblem(**{**pb0.__dict__, "fleet_end_kwh": end_kwh})
    t0 = time.perf_counter()
    plan = plan_charging(pb)
    t_plan = time.perf_counter() - t0
    print("# charging schedule: HiGHS LP plan vs charge-when-low (24 h, 12 trucks, 4 x 400 kW)")
    print(f"plan status {plan.status}, feasible {plan.feasible}; baseline feasible "
          f"{base.feasible} ({len(base.problems)} periods short of required trucks)")
    rows = [
        ("grid import [kWh]", plan.grid_kwh(), base.grid_kwh()),
        ("peak import [kW]", plan.peak_kw(), base.peak_kw()),
        ("tonnes lost to charging [t]", plan.tonnes_lost(), base.tonnes_lost()),
        ("tonnes hauled [t]", hauled(plan), hauled(base)),
        ("grid import per tonne hauled [kWh/t]", plan.grid_kwh() / hauled(plan),
         base.grid_kwh() / hauled(base)),
        ("energy charged [kWh]", plan.charged_kwh(), base.charged_kwh()),
        ("grid cost incl. demand charge [CNY]", cost(pb, plan), cost(pb, base)),
        ("fleet energy at end [kWh]",
         float((plan.soc[:, -1] * 420.0).sum()), end_kwh),
        ("PV exported [kWh]", float(plan.grid_export_kw.sum() * pb.period_h),
         float(base.grid_export_kw.sum() * pb.period_h)),
        ("run time [s]", t_plan, t_base),
    ]
    print("\n| figure | plan | charge-when-low | plan / baseline |\n|---|---|---|---|")
    for name, a, b in rows:
        fmt = ",.3f" if max(abs(a), abs(b)) < 10 else ",.1f"
        ratio = f"{a / b:.3f}" if b else "-"
        print(f"| {name} | {a:{fmt}} | {b:{fmt}} | {ratio} |")
    if base.problems:
        print(f"\nbaseline shortfalls, first 3: {base.problems[:3]}")
    # The whole-period MILP on a shorter horizon, to show what integrality costs.
    short = ChargingProblem(**{**pb.__dict__, "price_per_kwh": pb.price_per_kwh[:16],
                               "pv_surplus_kw": pb.pv_surplus_kw[:16],
                               "trucks_required": pb.trucks_required[:16],
                               "fleet_end_kwh": None})
    lp4 = plan_charging(short)
    t0 = time.perf_counter()
    try:
        milp = plan_charging(short, integer=True, time_limit_s=10.0)
        print(f"\nMILP (whole 15-min periods) on the first 4 h: {milp.status} in "
              f"{time.perf_counter() - t0:.1f} s; tonnes lost {milp.tonnes_lost():.0f} vs LP "
              f"{lp4.tonnes_lost():.0f}, grid {milp.grid_kwh():.0f} vs {lp4.grid_kwh():.0f} kWh")
    except Exception as e:  # a time limit without an incumbent is a result worth printing
        print(f"\nMILP on the first 4 h: {e}")
    print("\nfirst plan rows for the dispatcher:")
    for r in plan.rows()[:4]:
        print(" ", r)


if __name__ == "__main__":
    main()
