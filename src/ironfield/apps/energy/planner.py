"""The charging schedule the running app hands to the haulage dispatcher.

Every ``plan_every_s`` the app builds a :class:`ChargingProblem` from the trucks' state of
charge (their ``soc_pct`` signals), the PV forecast minus the site's other load, the tariff
and the charger fleet; solves it with HiGHS (:func:`plan_charging`) and, in the same run,
simulates charge-when-low (:func:`charge_when_low`) on the same problem for comparison.

The LP gives each truck a *share* of each period at a charger; McNaughton's wrap-around
rule (McNaughton 1959, Management Science 6(1):1-12) turns those shares into windows on
named chargers: within a period the shares are laid end to end over the chargers, so no
charger holds two trucks at once and, since no share exceeds one period, no truck is at
two chargers at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np

from ironfield.apps.energy.balance import tariff_minutes
from ironfield.apps.energy.charging import ChargingPlan, ChargingProblem, Truck, plan_charging
from ironfield.apps.energy.config import EnergyConfig
from ironfield.apps.energy.events import ChargingPlanPayload, ChargingWindow
from ironfield.apps.energy.policy import charge_when_low
from ironfield.apps.energy.series import FloatArray, NsArray
from ironfield.core.timeutil import NS_PER_H, NS_PER_MIN

EPS = 1e-6


def problem(cfg: EnergyConfig, start_ns: int, socs: dict[str, float], pv_kw: FloatArray,
            other_load_kw: float, existing_peak_kw: float) -> ChargingProblem:
    """``socs``: truck -> state of charge [-]; ``pv_kw``: forecast per period [kW]."""
    ch, live = cfg.charging, cfg.live
    n = len(pv_kw)
    ts = start_ns + np.arange(n, dtype=np.int64) * ch.period_min * NS_PER_MIN
    minutes = tariff_minutes(ts, cfg.site.timezone)
    price = np.array([cfg.tariff.price_at_minute(int(mi)) for mi in minutes])
    trucks = [Truck(name, live.truck_capacity_kwh, float(np.clip(s, 0.0, 1.0)), live.truck_haul_kw,
                    live.truck_tonnes_per_h) for name, s in sorted(socs.items())]
    return ChargingProblem(
        start_ns=start_ns, period_h=ch.period_min / 60.0,
        pv_surplus_kw=np.nan_to_num(pv_kw, nan=0.0) - other_load_kw, price_per_kwh=price,
        trucks_required=[min(live.trucks_required, len(trucks))] * n, trucks=trucks,
        chargers=ch.chargers, charger_kw=ch.charger_kw, efficiency=ch.charge_efficiency,
        soc_min=ch.soc_min, soc_max=ch.soc_max, export_price_per_kwh=cfg.tariff.export_price_per_kwh,
        demand_charge_per_kw=cfg.tariff.demand_charge_per_kw_month,
        existing_peak_kw=max(0.0, existing_peak_kw), value_per_tonne=live.value_per_tonne)


def windows(plan: ChargingPlan, charger_kw: float, chargers: int,
            ids: Sequence[str] = ()) -> list[ChargingWindow]:
    """Charging windows on named chargers (McNaughton wrap-around per period); charger
    ``j`` is ``ids[j]`` (the dispatcher's id) or ``charger-<j+1>``."""
    period_ns = round(plan.period_h * NS_PER_H)
    pieces: list[tuple[str, int, int, int, float]] = []  # truck, charger, start, end, kwh
    for t in range(plan.charge_kw.shape[1]):
        t0 = plan.start_ns + t * period_ns
        j, pos = 0, 0.0
        for i, name in enumerate(plan.trucks):
            share = min(1.0, float(plan.charge_kw[i, t]) / charger_kw)
            while share > EPS and j < chargers:
                take = min(share, 1.0 - pos)
                a, b = t0 + round(pos * period_ns), t0 + round((pos + take) * period_ns)
                kwh = charger_kw * take * plan.period_h  # at the charger's full power
                pieces.append((name, j, a, b, kwh))
                share -= take
                pos += take
                if pos >= 1.0 - EPS:
                    j, pos = j + 1, 0.0
    pieces.sort(key=lambda p: (p[0], p[1], p[2]))
    merged: list[list[Any]] = []
    for p in pieces:
        if merged and merged[-1][0] == p[0] and merged[-1][1] == p[1] and merged[-1][3] == p[2]:
            merged[-1][3] = p[3]
            merged[-1][4] += p[4]
        else:
            merged.append(list(p))
    merged.sort(key=lambda p: (p[2], p[1]))
    def charger_id(j: int) -> str:
        return ids[j] if j < len(ids) else f"charger-{j + 1}"

    return [ChargingWindow(truck=p[0], charger=charger_id(p[1]), start_ns=int(p[2]),
                           end_ns=int(p[3]), kwh=round(float(p[4]), 2)) for p in merged if p[3] > p[2]]


def figures(plan: ChargingPlan, price: FloatArray) -> dict[str, Any]:
    return {"grid_kwh": round(plan.grid_kwh(), 1), "peak_kw": round(plan.peak_kw(), 1),
            "tonnes_lost": round(plan.tonnes_lost(), 1), "charged_kwh": round(plan.charged_kwh(), 1),
            "energy_cost": round(float(np.sum(plan.grid_import_kw * price) * plan.period_h), 1),
            "feasible": plan.feasible, "problems": plan.problems}


def make_plan(cfg: EnergyConfig, start_ns: int, socs: dict[str, float], pv_kw: FloatArray,
              other_load_kw: float, existing_peak_kw: float) -> tuple[ChargingPlanPayload, dict[str, Any]]:
    """The optimised plan as the event payload, and the page's view (with the comparison)."""
    pb = problem(cfg, start_ns, socs, pv_kw, other_load_kw, existing_peak_kw)
    opt = plan_charging(pb)
    base = charge_when_low(pb, cfg.charging.low_soc_trigger)
    ids = cfg.live.charger_ids
    win = windows(opt, cfg.charging.charger_kw, cfg.charging.chargers, ids)
    base_win = windows(base, cfg.charging.charger_kw, cfg.charging.chargers, ids)
    payload = ChargingPlanPayload(plan_id=uuid.uuid4().hex[:12], windows=win)
    period_ns = round(pb.period_h * NS_PER_H)
    ts: NsArray = start_ns + np.arange(pb.periods, dtype=np.int64) * period_ns
    view = {
        "plan_id": payload.plan_id, "start_ns": start_ns, "period_ns": period_ns,
        "ts": ts.tolist(), "pv_surplus_kw": np.round(pb.pv_surplus_kw, 1).tolist(),
        "price": pb.price_per_kwh.tolist(), "chargers": cfg.charging.chargers,
        "charger_ids": [ids[j] if j < len(ids) else f"charger-{j + 1}" for j in range(cfg.charging.chargers)],
        "trucks": {t.name: round(t.soc0, 3) for t in pb.trucks},
        "windows": [w.model_dump() for w in win],
        "baseline_windows": [w.model_dump() for w in base_win],
        "optimised": figures(opt, pb.price_per_kwh), "charge_when_low": figures(base, pb.price_per_kwh),
        "grid_import_kw": np.round(opt.grid_import_kw, 1).tolist(),
        "baseline_grid_import_kw": np.round(base.grid_import_kw, 1).tolist(),
    }
    return payload, view
