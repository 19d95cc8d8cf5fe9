"""Upper stage of dispatch: target material flow on each haul path, by linear programming.

The two-stage structure of White & Olson [1]_: an LP fixes how many tonnes per hour should
flow on each path (loader -> dump/crusher) given loader digging rates, dump and crusher
acceptance, the truck hours available and blend (grade) targets; the lower stage
(:mod:`ironfield.apps.haulage.assign`) sends each free truck so that the real flow follows.

Variables x_p [t/h] per path p. Hard rows (physics): loader rate, dump capacity, truck
hours (sum_p x_p * cycle_h_p / payload_t <= trucks available). Soft rows (plan): crusher
minimum feed, blend window, loader minimum rate, total target. Objective: maximise tonnes
less a small charge per truck hour (prefers short paths among equal-tonnage plans).

When the soft rows cannot all hold, an elastic LP [2]_ (a slack per soft row, minimise the
scaled slack) finds the least violation; the plan then names the targets it had to miss
and the hard limits that bind them. The dispatcher keeps running on that elastic plan.

.. [1] White & Olson 1986, "Computer-based dispatching in mines with concurrent operating
   objectives", Mining Engineering 38(11):1045-1054.
.. [2] Chinneck 2008, Feasibility and Infeasibility in Optimization, ch. 6 (elastic
   programming).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np

from ironfield.core.errors import IronfieldError

INF = highspy.kHighsInf


@dataclass(frozen=True, slots=True)
class LoaderSpec:
    """rate_tph : digging rate [t/h]; grade_pct : material grade [%]; min_tph : plan [t/h]."""

    id: str
    rate_tph: float
    grade_pct: float | None = None
    min_tph: float = 0.0


@dataclass(frozen=True, slots=True)
class DumpSpec:
    """capacity_tph : acceptance [t/h]; min_feed_tph : plan [t/h]; blend window [%]."""

    id: str
    capacity_tph: float
    min_feed_tph: float = 0.0
    blend_min_pct: float | None = None
    blend_max_pct: float | None = None


@dataclass(frozen=True, slots=True)
class PathSpec:
    """cycle_h : truck hours per trip on this path (haul+return+spot+load+dump) [h];
    payload_t : mean payload per trip [t]."""

    loader: str
    dump: str
    cycle_h: float
    payload_t: float


class InfeasiblePlanError(IronfieldError):
    """The production plan cannot be met; ``conflicts`` names why."""

    def __init__(self, conflicts: list[str]) -> None:
        self.conflicts = conflicts
        super().__init__("infeasible haulage plan: " + "; ".join(conflicts))


@dataclass(slots=True)
class FlowPlan:
    flows_tph: dict[tuple[str, str], float]
    feasible: bool
    binding: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    truck_hours_per_h: float = 0.0

    @property
    def total_tph(self) -> float:
        return sum(self.flows_tph.values())

    def loader_tph(self, loader: str) -> float:
        return sum(v for (ld, _), v in self.flows_tph.items() if ld == loader)

    def dump_tph(self, dump: str) -> float:
        return sum(v for (_, d), v in self.flows_tph.items() if d == dump)

    def raise_if_infeasible(self) -> None:
        if not self.feasible:
            raise InfeasiblePlanError(self.conflicts)


@dataclass(slots=True)
class _Row:
    name: str
    lb: float
    ub: float
    idx: list[int]
    val: list[float]
    soft: bool
    text: str  # what the row says, for explanations
    scale: float = 1.0


def _solve(cost: np.ndarray, ub: np.ndarray, rows: list[_Row], maximize: bool
           ) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray]:
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    n = len(cost)
    for j in range(n):
        h.addCol(float(cost[j]), 0.0, float(ub[j]), 0, np.array([], dtype=np.int32),
                 np.array([], dtype=np.float64))
    for r in rows:
        h.addRow(r.lb, r.ub, len(r.idx), np.array(r.idx, dtype=np.int32),
                 np.array(r.val, dtype=np.float64))
    h.changeObjectiveSense(highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize)
    h.run()
    ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    sol = h.getSolution()
    return (ok, np.asarray(sol.col_value, dtype=np.float64),
            np.asarray(sol.row_dual, dtype=np.float64), np.asarray(sol.row_value, dtype=np.float64))


def plan_flows(loaders: Sequence[LoaderSpec], dumps: Sequence[DumpSpec],
               paths: Sequence[PathSpec], trucks_available: float,
               target_tph: float | None = None, truck_hour_cost_t: float = 1e-3) -> FlowPlan:
    """Solve the upper-stage LP. See the module docstring.

    trucks_available : trucks in service on average over the horizon [-].
    target_tph : planned total [t/h], a soft row.
    truck_hour_cost_t : tonnes given up per truck hour, a tie-breaker [t/h].
    """
    lids = {ld.id for ld in loaders}
    dids = {d.id for d in dumps}
    paths = [p for p in paths if p.loader in lids and p.dump in dids]
    n = len(paths)
    rows: list[_Row] = []
    for ld in loaders:
        idx = [j for j, p in enumerate(paths) if p.loader == ld.id]
        rows.append(_Row(f"loader:{ld.id}", -INF, ld.rate_tph, idx, [1.0] * len(idx), False,
                         f"loader {ld.id!r} digs at most {ld.rate_tph:g} t/h"))
        if ld.min_tph > 0:
            rows.append(_Row(f"loader_min:{ld.id}", ld.min_tph, INF, idx, [1.0] * len(idx), True,
                             f"loader {ld.id!r} planned at >= {ld.min_tph:g} t/h", ld.min_tph))
    grade = {ld.id: ld.grade_pct for ld in loaders}
    for d in dumps:
        idx = [j for j, p in enumerate(paths) if p.dump == d.id]
        rows.append(_Row(f"dump:{d.id}", -INF, d.capacity_tph, idx, [1.0] * len(idx), False,
                         f"{d.id!r} accepts at most {d.capacity_tph:g} t/h"))
        if d.min_feed_tph > 0:
            rows.append(_Row(f"feed:{d.id}", d.min_feed_tph, INF, idx, [1.0] * len(idx), True,
                             f"{d.id!r} needs >= {d.min_feed_tph:g} t/h feed", d.min_feed_tph))
        for bound, lo in ((d.blend_min_pct, True), (d.blend_max_pct, False)):
            if bound is None:
                continue
            missing = [paths[j].loader for j in idx if grade[paths[j].loader] is None]
            if missing:
                raise IronfieldError(f"blend target on {d.id!r} but loader {missing[0]!r} "
                                     "has no grade_pct")
            vals = [float(grade[paths[j].loader] or 0.0) - bound for j in idx]
            rows.append(_Row(f"blend_{'min' if lo else 'max'}:{d.id}", 0.0 if lo else -INF,
                             INF if lo else 0.0, idx, vals, True,
                             f"{d.id!r} blend {'>=' if lo else '<='} {bound:g} %",
                             max(1.0, d.min_feed_tph or d.capacity_tph)))
    th = [p.cycle_h / p.payload_t for p in paths]
    rows.append(_Row("trucks", -INF, trucks_available, list(range(n)), th, False,
                     f"{trucks_available:g} trucks available"))
    if target_tph is not None:
        rows.append(_Row("target", target_tph, INF, list(range(n)), [1.0] * n, True,
                         f"plan target {target_tph:g} t/h", target_tph))

    cost = np.array([1.0 - truck_hour_cost_t * t for t in th])
    ub = np.full(n, INF)
    ok, x, dual, act = _solve(cost, ub, rows, maximize=True)
    if ok:
        binding = [r.text for r, y in zip(rows, dual, strict=True) if abs(y) > 1e-9]
        return FlowPlan({(p.loader, p.dump): float(v) for p, v in zip(paths, x, strict=True)},
                        True, binding, [], float(np.dot(th, x)))
    return _elastic(paths, rows, th)


def _elastic(paths: Sequence[PathSpec], rows: list[_Row], th: list[float]) -> FlowPlan:
    """Least scaled violation of the soft rows; explains which targets conflict."""
    n = len(paths)
    soft = [i for i, r in enumerate(rows) if r.soft]
    erows: list[_Row] = []
    for i, r in enumerate(rows):
        idx, val = list(r.idx), list(r.val)
        if r.soft:
            k = n + soft.index(i)
            idx.append(k)
            # slack pushes the row towards feasibility: >= rows get +s, <= rows get -s
            val.append(1.0 if r.lb > -INF else -1.0)
        erows.append(_Row(r.name, r.lb, r.ub, idx, val, r.soft, r.text, r.scale))
    cost = np.concatenate([np.full(n, -1e-6), [1.0 / rows[i].scale for i in soft]])
    ub = np.full(n + len(soft), INF)
    ok, x, dual, act = _solve(cost, ub, erows, maximize=False)
    if not ok:
        raise InfeasiblePlanError(["hard limits alone are inconsistent (check for negative "
                                   "rates or zero trucks)"])
    conflicts: list[str] = []
    for k, i in enumerate(soft):
        s = float(x[n + k])
        if s > 1e-6:
            conflicts.append(f"{rows[i].text} cannot hold: short by {s:.4g}"
                             f"{' t/h' if not rows[i].name.startswith('blend') else ' (t/h x %)'}")
    binding = [r.text for r, y in zip(erows, dual, strict=True) if not r.soft and abs(y) > 1e-9]
    if binding:
        conflicts.append("limited by: " + ", ".join(binding))
    flows = {(p.loader, p.dump): float(v) for p, v in zip(paths, x[:n], strict=True)}
    return FlowPlan(flows, False, binding, conflicts, float(np.dot(th, x[:n])))
