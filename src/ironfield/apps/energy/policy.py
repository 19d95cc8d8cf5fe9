"""Charge-when-low: the rule-of-thumb charging policy the optimiser is compared against.

Each period, a hauling truck whose state of charge is at or below the trigger (or would
fall below the floor by hauling one more period) leaves for the charger queue; trucks
charge first-come first-served at full charger power until they reach ``soc_max``, then
return to hauling. Nobody looks at prices, PV or the peak. This is how a fleet runs
without a plan, and what the MILP in :mod:`.charging` must beat on grid energy, peak and
ore lost.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ironfield.apps.energy.charging import ChargingPlan, ChargingProblem
from ironfield.core.timeutil import format_ns


def charge_when_low(pb: ChargingProblem, trigger: float = 0.3) -> ChargingPlan:
    """Simulate the policy over the problem's horizon; same outputs as the optimiser."""
    pb.validate()
    n_tr, n_t, dt = len(pb.trucks), pb.periods, pb.period_h
    soc = np.zeros((n_tr, n_t + 1))
    soc[:, 0] = [t.soc0 for t in pb.trucks]
    charge = np.zeros((n_tr, n_t))
    haul = np.zeros((n_tr, n_t))
    charging: set[int] = set()
    queue: deque[int] = deque()
    for t in range(n_t):
        for i, tr in enumerate(pb.trucks):
            if i in charging or i in queue:
                continue
            after = soc[i, t] - tr.haul_kw * dt / tr.capacity_kwh
            if soc[i, t] <= trigger or after < pb.soc_min:
                queue.append(i)
        while queue and len(charging) < pb.chargers:
            charging.add(queue.popleft())
        for i, tr in enumerate(pb.trucks):
            if i in charging:
                room = (pb.soc_max - soc[i, t]) * tr.capacity_kwh / (pb.efficiency * dt)
                charge[i, t] = max(0.0, min(pb.charger_kw, room))
                soc[i, t + 1] = soc[i, t] + pb.efficiency * charge[i, t] * dt / tr.capacity_kwh
            elif i in queue:
                soc[i, t + 1] = soc[i, t]
            else:
                haul[i, t] = 1.0
                soc[i, t + 1] = soc[i, t] - tr.haul_kw * dt / tr.capacity_kwh
        charging = {i for i in charging if soc[i, t + 1] < pb.soc_max - 1e-9}
    net = charge.sum(axis=0) - np.asarray(pb.pv_surplus_kw, np.float64)
    short = np.maximum(np.asarray(pb.trucks_required, np.float64) - haul.sum(axis=0), 0)
    step = round(dt * 3.6e12)
    problems = [f"period {format_ns(pb.start_ns + int(t) * step)}: {int(short[t])} trucks "
                f"short of the required {pb.trucks_required[t]}"
                for t in (int(k) for k in np.flatnonzero(short > 0))]
    return ChargingPlan(
        trucks=[t.name for t in pb.trucks], start_ns=pb.start_ns, period_h=dt,
        charge_kw=charge, hauling=haul, soc=soc, grid_import_kw=np.clip(net, 0.0, None),
        grid_export_kw=np.clip(-net, 0.0, None),
        tonnes_per_h=np.array([t.tonnes_per_h for t in pb.trucks]),
        feasible=not problems, problems=problems, status="simulated")
