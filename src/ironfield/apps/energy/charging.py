"""Truck charging schedule: a mixed-integer programme solved with HiGHS [1]_.

Per truck ``i`` and period ``t`` (length ``dt`` [h]) the plan decides whether the truck
hauls (``h``), stands at a charger (``x``) or is parked, and the charge power ``c`` [kW]:

- state of charge ``s[i,t+1] = s[i,t] + eta c[i,t] dt - d_i h[i,t] dt`` with ``d_i`` the
  truck's net battery drain while hauling [kW] (downhill regeneration already netted in:
  it never leaves the truck), ``soc_min E_i <= s <= soc_max E_i``, ``s[i,T] >= end target``;
- ``c <= P_charger x``, ``x + h <= 1``, ``sum_i x[i,t] <= chargers``;
- ``sum_i h[i,t] >= trucks required in t``;
- site: ``import - export = sum_i c[i,t] - PV surplus[t]``, ``peak >= import``.

Objective: grid energy cost minus export revenue, plus the demand charge on any new peak,
minus the value of ore hauled [currency]. Every hard requirement has an elastic slack with
a large penalty, so an infeasible problem still solves and the slacks say exactly what
cannot be met (which period is short of trucks, which truck would run flat and by how
much) rather than a bare "infeasible" [2]_.

The comparison policy, :func:`.policy.charge_when_low`, sends a truck to the next free charger
when its charge falls below a trigger and brings it back full.

.. [1] Huangfu & Hall 2018, "Parallelizing the dual revised simplex method", Math. Prog.
   Comp. 10:119-142 (HiGHS).
.. [2] Chinneck 2008, "Feasibility and Infeasibility in Optimization", Springer, ch. 6
   (elastic programming to locate infeasibility).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

from ironfield.apps.energy.checks import EnergyInputError, FloatArray
from ironfield.core.errors import IronfieldError
from ironfield.core.timeutil import format_ns

_PENALTY = 1.0e4  # currency per unit of slack: far above any energy or ore value


class InfeasibleChargingError(IronfieldError):
    """The fleet's requirements cannot all be met; ``problems`` says which and by how much."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("charging plan cannot meet:\n  " + "\n  ".join(problems))


@dataclass(frozen=True, slots=True)
class Truck:
    name: str
    capacity_kwh: float  # usable battery [kWh]
    soc0: float  # state of charge now [-]
    haul_kw: float  # net battery drain while hauling, regeneration netted [kW]
    tonnes_per_h: float  # ore hauled per hour of hauling [t/h]


@dataclass(frozen=True)
class ChargingProblem:
    start_ns: int
    period_h: float
    pv_surplus_kw: FloatArray  # forecast PV minus fixed site load, may be negative [kW]
    price_per_kwh: FloatArray  # grid energy price per period [currency/kWh]
    trucks_required: Sequence[int]  # trucks that must be hauling per period
    trucks: Sequence[Truck]
    chargers: int
    charger_kw: float
    efficiency: float = 0.95  # grid to battery [-]
    soc_min: float = 0.2
    soc_max: float = 0.9
    soc_end: float | None = None  # every truck ends at or above this [-]; None = soc_min
    fleet_end_kwh: float | None = None  # and the fleet holds at least this in total [kWh]
    export_price_per_kwh: float = 0.0
    demand_charge_per_kw: float = 0.0  # for a new peak within this horizon [currency/kW]
    existing_peak_kw: float = 0.0  # peak already billed this month [kW]
    value_per_tonne: float = 5.0  # worth of one tonne hauled [currency/t]

    @property
    def periods(self) -> int:
        return len(self.price_per_kwh)

    def validate(self) -> None:
        t = self.periods
        for name, arr in (("pv_surplus_kw", self.pv_surplus_kw),
                          ("trucks_required", self.trucks_required)):
            if len(arr) != t:
                raise EnergyInputError(f"{name} has {len(arr)} periods, prices have {t}")
        if not np.all(np.isfinite(self.pv_surplus_kw)):
            raise EnergyInputError("pv_surplus_kw has gaps: fill the forecast, not the plan")
        if not 0 <= self.soc_min < self.soc_max <= 1:
            raise EnergyInputError(f"need 0 <= soc_min < soc_max <= 1, got "
                                   f"{self.soc_min}, {self.soc_max}")
        for tr in self.trucks:
            if tr.capacity_kwh <= 0 or tr.haul_kw < 0:
                raise EnergyInputError(f"truck {tr.name}: capacity and drain must be positive")
            if not 0.0 <= tr.soc0 <= 1.0:
                raise EnergyInputError(f"truck {tr.name}: state of charge {tr.soc0} not in [0, 1]")


@dataclass
class ChargingPlan:
    """Per truck per period: action and charge power [kW]; fleet and site figures."""

    trucks: list[str]
    start_ns: int
    period_h: float
    charge_kw: FloatArray  # [truck, period], grid side
    hauling: FloatArray  # [truck, period] share of the period spent hauling [-]
    soc: FloatArray  # [truck, period + 1] [-]
    grid_import_kw: FloatArray
    grid_export_kw: FloatArray
    tonnes_per_h: FloatArray  # per truck
    feasible: bool = True
    problems: list[str] = field(default_factory=list)
    status: str = ""

    def action(self, i: int, t: int) -> str:
        if self.charge_kw[i, t] > 1e-6:
            return "charge"
        return "haul" if self.hauling[i, t] > 0.5 else "park"

    def rows(self) -> list[dict[str, object]]:
        """The plan as dispatcher rows: truck, period start, action, charge kW, SoC after."""
        step = round(self.period_h * 3.6e12)
        return [{"truck": name, "start": format_ns(self.start_ns + t * step),
                 "action": self.action(i, t), "charge_kw": round(float(self.charge_kw[i, t]), 1),
                 "haul_share": round(float(self.hauling[i, t]), 3),
                 "soc_after": round(float(self.soc[i, t + 1]), 3)}
                for i, name in enumerate(self.trucks) for t in range(self.charge_kw.shape[1])]

    def grid_kwh(self) -> float:
        return float(self.grid_import_kw.sum() * self.period_h)

    def peak_kw(self) -> float:
        return float(self.grid_import_kw.max()) if len(self.grid_import_kw) else 0.0

    def tonnes_lost(self) -> float:
        """Ore not hauled because trucks were charging, queueing or parked [t]."""
        idle = 1.0 - self.hauling
        return float((idle * self.tonnes_per_h[:, None]).sum() * self.period_h)

    def charged_kwh(self) -> float:
        return float(self.charge_kw.sum() * self.period_h)


class _Cols:
    def __init__(self) -> None:
        self.n = 0
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.cost: list[float] = []
        self.integer: list[bool] = []

    def add(self, count: int, lo: float, hi: float, cost: float | FloatArray,
            integer: bool = False) -> np.ndarray:
        idx = np.arange(self.n, self.n + count)
        self.n += count
        self.lo += [lo] * count
        self.hi += [hi] * count
        self.cost += list(np.broadcast_to(np.asarray(cost, np.float64), (count,)))
        self.integer += [integer] * count
        return idx


def plan_charging(pb: ChargingProblem, *, integer: bool = False, time_limit_s: float = 20.0,
                  mip_gap: float = 0.01) -> ChargingPlan:
    """Optimal charging plan; ``feasible`` False with ``problems`` when a requirement had
    to be relaxed.

    integer : False (default) solves the LP in which ``x`` and ``h`` are the *shares* of
        each period a truck spends at a charger or hauling (a 15-min period can hold a
        7-min top-up); True makes them binary (whole periods), a MILP that HiGHS solves to
        ``mip_gap`` within ``time_limit_s`` [s] for small fleets but not reliably for a
        dozen trucks over 12 h.
    """
    pb.validate()
    n_tr, n_t, dt = len(pb.trucks), pb.periods, pb.period_h
    cap = np.array([t.capacity_kwh for t in pb.trucks])
    drain = np.array([t.haul_kw for t in pb.trucks])
    tph = np.array([t.tonnes_per_h for t in pb.trucks])
    price = np.asarray(pb.price_per_kwh, np.float64)
    end = pb.soc_min if pb.soc_end is None else pb.soc_end
    cols = _Cols()
    c = cols.add(n_tr * n_t, 0.0, pb.charger_kw, 0.0).reshape(n_tr, n_t)
    x = cols.add(n_tr * n_t, 0.0, 1.0, 0.0, integer=integer).reshape(n_tr, n_t)
    hv = cols.add(n_tr * n_t, 0.0, 1.0, np.repeat(-pb.value_per_tonne * tph * dt, n_t),
                  integer=integer).reshape(n_tr, n_t)
    s = cols.add(n_tr * n_t, 0.0, float(pb.soc_max), 0.0).reshape(n_tr, n_t)  # SoC after t
    for i, tr in enumerate(pb.trucks):
        # A truck that arrives fuller than soc_max may stay there; it just cannot charge.
        for j in s[i]:
            cols.hi[int(j)] = max(pb.soc_max, tr.soc0)
    # SoC slacks are fractions of a battery: 1 % below the floor costs as much as a missing
    # truck for 10 periods.
    v = cols.add(n_tr * n_t, 0.0, highspy.kHighsInf, _PENALTY * 1000.0).reshape(n_tr, n_t)
    w = cols.add(n_tr, 0.0, highspy.kHighsInf, _PENALTY * 1000.0)
    wf = cols.add(1, 0.0, highspy.kHighsInf, _PENALTY)  # fleet end energy short [kWh]
    g = cols.add(n_t, 0.0, highspy.kHighsInf, price * dt)
    e = cols.add(n_t, 0.0, highspy.kHighsInf, -pb.export_price_per_kwh * dt)
    u = cols.add(n_t, 0.0, highspy.kHighsInf, _PENALTY)
    peak = cols.add(1, pb.existing_peak_kw, highspy.kHighsInf, pb.demand_charge_per_kw)
    rows: list[tuple[list[int], list[float], float, float]] = []
    inf = highspy.kHighsInf
    for i in range(n_tr):
        for t in range(n_t):
            # SoC as a fraction: s_t - s_{t-1} - eta c dt / E + d h dt / E = 0
            idx = [int(s[i, t]), int(c[i, t]), int(hv[i, t])]
            val = [1.0, -pb.efficiency * dt / cap[i], drain[i] * dt / cap[i]]
            rhs = 0.0
            if t == 0:
                rhs = pb.trucks[i].soc0
            else:
                idx.append(int(s[i, t - 1]))
                val.append(-1.0)
            rows.append((idx, val, rhs, rhs))
            rows.append(([int(s[i, t]), int(v[i, t])], [1.0, 1.0], pb.soc_min, inf))
            rows.append(([int(c[i, t]), int(x[i, t])], [1.0, -pb.charger_kw], -inf, 0.0))
            rows.append(([int(x[i, t]), int(hv[i, t])], [1.0, 1.0], -inf, 1.0))
        rows.append(([int(s[i, n_t - 1]), int(w[i])], [1.0, 1.0], end, inf))
    if pb.fleet_end_kwh is not None:
        rows.append(([int(j) for j in s[:, n_t - 1]] + [int(wf[0])], [*cap.tolist(), 1.0],
                     float(pb.fleet_end_kwh), inf))
    for t in range(n_t):
        rows.append(([int(j) for j in x[:, t]], [1.0] * n_tr, -inf, float(pb.chargers)))
        rows.append(([int(j) for j in hv[:, t]] + [int(u[t])], [1.0] * (n_tr + 1),
                     float(pb.trucks_required[t]), inf))
        rows.append(([int(g[t]), int(e[t])] + [int(j) for j in c[:, t]],
                     [1.0, -1.0] + [-1.0] * n_tr, -float(pb.pv_surplus_kw[t]),
                     -float(pb.pv_surplus_kw[t])))
        rows.append(([int(peak[0]), int(g[t])], [1.0, -1.0], 0.0, inf))
    sol, status = _solve(cols, rows, time_limit_s, mip_gap)
    charge = sol[c]
    haul = np.clip(sol[hv], 0.0, 1.0)
    soc = np.column_stack([[t.soc0 for t in pb.trucks], sol[s]])
    problems = _explain(pb, sol[u], sol[v], sol[w])
    if sol[wf[0]] > 1e-6:
        problems.append(f"fleet ends {sol[wf[0]]:.0f} kWh short of the {pb.fleet_end_kwh:.0f} "
                        "kWh end-of-horizon target")
    return ChargingPlan(
        trucks=[t.name for t in pb.trucks], start_ns=pb.start_ns, period_h=dt,
        charge_kw=np.where(charge > 1e-6, charge, 0.0), hauling=haul, soc=soc,
        grid_import_kw=sol[g], grid_export_kw=sol[e], tonnes_per_h=tph,
        feasible=not problems, problems=problems, status=status)


def _solve(cols: _Cols, rows: list[tuple[list[int], list[float], float, float]],
           time_limit_s: float, mip_gap: float) -> tuple[FloatArray, str]:
    ri, ci, vals = [], [], []
    for r, (idx, val, _, _) in enumerate(rows):
        ri += [r] * len(idx)
        ci += idx
        vals += val
    a = sp.csc_matrix((vals, (ri, ci)), shape=(len(rows), cols.n))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = cols.n, len(rows)
    lp.col_cost_ = np.array(cols.cost)
    lp.col_lower_, lp.col_upper_ = np.array(cols.lo), np.array(cols.hi)
    lp.row_lower_ = np.array([r[2] for r in rows])
    lp.row_upper_ = np.array([r[3] for r in rows])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(np.float64)
    lp.integrality_ = [highspy.HighsVarType.kInteger if k else highspy.HighsVarType.kContinuous
                       for k in cols.integer]
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    h.setOptionValue("threads", 1)
    h.passModel(lp)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    sol = np.asarray(h.getSolution().col_value, np.float64)
    # A time limit can stop HiGHS before any feasible point: then there is no plan at all
    # (the elastic slacks make every instance feasible, so this is a time problem).
    has_point = int(h.getInfo().primal_solution_status) == 2
    if not has_point or len(sol) != cols.n or not np.all(np.isfinite(sol)):
        raise IronfieldError(f"HiGHS found no charging plan (status: {status})")
    return sol, status


def _explain(pb: ChargingProblem, short: FloatArray, below: FloatArray, end_short: FloatArray
             ) -> list[str]:
    step = round(pb.period_h * 3.6e12)
    out: list[str] = []
    for t in (int(k) for k in np.flatnonzero(short > 1e-6)):
        out.append(f"period {format_ns(pb.start_ns + int(t) * step)}: "
                   f"{pb.trucks_required[t]} trucks required hauling, only "
                   f"{pb.trucks_required[t] - short[t]:.1f} can be (chargers "
                   f"{pb.chargers} x {pb.charger_kw:g} kW, fleet {len(pb.trucks)})")
    for i, tr in enumerate(pb.trucks):
        worst = int(np.argmax(below[i]))
        if below[i, worst] > 1e-6:
            out.append(f"truck {tr.name}: would fall {below[i, worst]:.1%} "
                       f"({below[i, worst] * tr.capacity_kwh:.0f} kWh) below the "
                       f"{pb.soc_min:.0%} SoC floor by "
                       f"{format_ns(pb.start_ns + (worst + 1) * step)}")
        if end_short[i] > 1e-6:
            end = pb.soc_min if pb.soc_end is None else pb.soc_end
            out.append(f"truck {tr.name}: ends {end_short[i]:.1%} short of the {end:.0%} "
                       "end-of-horizon SoC target")
    return out


def require_feasible(plan: ChargingPlan) -> ChargingPlan:
    """The plan, or :class:`InfeasibleChargingError` listing what cannot be met."""
    if not plan.feasible:
        raise InfeasibleChargingError(plan.problems)
    return plan
