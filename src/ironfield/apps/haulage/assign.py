"""Lower stage of dispatch: send each truck, as it becomes free, where it loses fewest tonnes.

Following the DISPATCH structure of White & Olson [1]_: the truck that has just dumped
(or just loaded) is assigned now, on a snapshot of the mine with *projected* queues: every
truck already sent somewhere is replayed into the loader (or dump) it will reach, in order
of arrival, with the site's own loader-selection rule. For each candidate the projection
gives the truck's arrival, wait, loading start and finish, and the idle gap the chosen
loader would have before the truck arrives. Lost tonnes [1]_ [2]_:

    lost = r_T (travel + wait + load) + w_idle r_L idle_gap - w_need r_T need

with r_T the truck's productive rate and r_L the loader's digging rate [t/min]. ``need``
[min] follows the upper-stage LP (:mod:`~ironfield.apps.haulage.lp`): a path whose
dispatched tonnes lag its target flow is "needy" (the needy-path rule of DISPATCH [1]_),
and its lag, in minutes of that path's target flow, is credited.

Energy: before sending an empty truck to load, its battery must cover the next cycle
(to the loader, the haul, back towards the nearest charger) plus the reserve; otherwise it
is sent to the charger that costs least production (travel + bay wait + charge time).

Times are minutes on the caller's clock; nothing here reads a wall clock except the
latency meter.

.. [1] White & Olson 1986, "Computer-based dispatching in mines with concurrent operating
   objectives", Mining Engineering 38(11):1045-1054.
.. [2] Munirathinam & Yingling 1994, "A review of computer-based truck dispatching
   strategies for surface mining operations", Int. J. Surf. Min. Reclam. Env. 8(1):1-15.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ironfield.apps.haulage.lp import FlowPlan
from ironfield.apps.haulage.queues import (
    ChargerState,
    Decision,
    DumpState,
    Inbound,
    LoaderState,
    NoDestinationError,
    Rule,
    SiteState,
    TruckView,
    marginal_site,
    project_dump,
    project_site,
)
from ironfield.core.errors import IronfieldError

__all__ = [
    "ChargerState", "Decision", "Dispatcher", "DumpState", "Inbound", "LoaderState",
    "NoDestinationError", "Rule", "SiteState", "TruckView", "Weights", "marginal_site",
    "project_dump", "project_site",
]


@dataclass(frozen=True, slots=True)
class Weights:
    """Weights of the lost-tonnes terms.

    w_idle : explicit loader idle-gap tonnes. The loader side is already carried by
        ``w_others`` (delay our truck causes the trucks sent before it) and by the LP lag
        (a starving loader's lag grows), so the default is 0: on OpenMines tuning seeds
        100-105 a positive weight lost ~2 % (docs/bench/haulage.md).
    w_need : credit per minute of LP lag (needy-path rule).
    w_others : weight of the delay inflicted on trucks already sent to the same site.
    lookahead : weight of the empty return leg when choosing a dump.
    eta_spread_min : judge each site at ETA and ETA +- this [min].
    """

    w_idle: float = 0.0
    w_need: float = 1.0
    w_others: float = 1.0
    lookahead: float = 1.0
    eta_spread_min: float = 2.0
    need_cap_min: float = 30.0


class Dispatcher:
    """Lower-stage dispatcher; one per mine. Snapshots come from the caller.

    travel_min(a, b, loaded) : travel time [min] between two named places.
    energy_kwh(truck, a, b, loaded) : battery energy of a trip [kWh] (optional).
    """

    def __init__(self, travel_min: Callable[[str, str, bool], float],
                 energy_kwh: Callable[[str, str, str, bool], float] | None = None,
                 weights: Weights | None = None) -> None:
        self.travel_min = travel_min
        self.energy_kwh = energy_kwh
        self.w = weights or Weights()
        self.plan: FlowPlan | None = None
        self.plan_t0 = 0.0
        self.sent_path: dict[tuple[str, str], float] = {}
        self.sent_load: dict[str, float] = {}
        self.latency_ns: list[int] = []  # wall clock per decision
        self.cpu_ns: list[int] = []  # this thread's CPU time per decision

    # --- upper stage ---------------------------------------------------------------------
    def set_plan(self, plan: FlowPlan, now: float) -> None:
        """Follow a new LP plan from ``now``; the lag bookkeeping restarts."""
        self.plan, self.plan_t0 = plan, now
        self.sent_path, self.sent_load = {}, {}

    def _need_min(self, key: tuple[str, str] | str, now: float) -> float:
        """Lag of a path (or of all paths from a loader) behind its target [min of flow]."""
        if self.plan is None:
            return 0.0
        if isinstance(key, tuple):
            tph = self.plan.flows_tph.get(key, 0.0)
            sent = self.sent_path.get(key, 0.0)
        else:
            tph = self.plan.loader_tph(key)
            sent = self.sent_load.get(key, 0.0)
        if tph <= 0:
            return -self.w.need_cap_min
        lag_t = tph / 60.0 * (now - self.plan_t0) - sent
        cap = self.w.need_cap_min
        return max(-cap, min(cap, lag_t / (tph / 60.0)))

    # --- decisions -----------------------------------------------------------------------
    def choose_loader(self, now: float, truck: TruckView, origin: str,
                      sites: Sequence[SiteState], inbound: Sequence[Inbound],
                      chargers: Sequence[ChargerState] = (),
                      cycle_kwh: Callable[[str], float] | None = None) -> Decision:
        """Where an empty truck at ``origin`` should go: a loading site, or a charger.

        cycle_kwh(site) : battery energy [kWh] of the next cycle via that site, ending at
        the nearest charger; with ``truck.soc_kwh`` it decides whether to charge first.
        """
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        try:
            return self._choose_loader(now, truck, origin, sites, inbound, chargers, cycle_kwh)
        finally:
            self._timed(t0, c0)

    def _choose_loader(self, now: float, truck: TruckView, origin: str,
                       sites: Sequence[SiteState], inbound: Sequence[Inbound],
                       chargers: Sequence[ChargerState],
                       cycle_kwh: Callable[[str], float] | None) -> Decision:
        best: Decision | None = None
        r_t = truck.payload_t / 60.0  # nominal productive rate: a load an hour [t/min]
        for site in sites:
            if not any(ld.available for ld in site.loaders):
                continue
            if truck.soc_kwh is not None and cycle_kwh is not None:
                if truck.soc_kwh - cycle_kwh(site.id) < truck.reserve_kwh:
                    continue
            try:
                travel = self.travel_min(origin, site.id, False)
            except IronfieldError:
                continue
            eta = now + truck.delay_min + travel
            ld, start, finish, gap, extra = marginal_site(site, inbound, eta, truck.payload_t,
                                                          now)
            if self.w.eta_spread_min > 0:
                # arriving a little early or late can change the loader a site gives the
                # truck; judge the site on the mean outcome, not on a knife edge
                for dt in (-self.w.eta_spread_min, self.w.eta_spread_min):
                    f2 = project_site(site, inbound, eta + dt, truck.payload_t, now)[2]
                    finish += f2 - dt
                finish /= 3.0
            need = self._need_min(site.id, now)
            lost = (r_t * (finish - now) + self.w.w_idle * ld.rate_tpm * gap
                    + self.w.w_others * extra / 60.0 - self.w.w_need * r_t * need)
            if best is None or lost < best.lost_t:
                best = Decision(truck.id, "load", site.id, eta, start, finish, lost,
                                f"loader {ld.id}: travel {travel:.1f} wait {start - eta:.1f} "
                                f"load {finish - start:.1f} idle {gap:.1f} need {need:.1f} min")
        if best is None and truck.soc_kwh is not None and chargers:
            return self._choose_charger(now, truck, origin, chargers, sites, inbound,
                                        reason="state of charge would not cover the next "
                                               "cycle plus reserve")
        if best is None:
            raise NoDestinationError(f"truck {truck.id!r} at {origin!r}: no loader can take it")
        return best

    def _choose_charger(self, now: float, truck: TruckView, origin: str,
                        chargers: Sequence[ChargerState], sites: Sequence[SiteState],
                        inbound: Sequence[Inbound], reason: str) -> Decision:
        best: Decision | None = None
        r_t = truck.payload_t / 60.0
        full = truck.soc_kwh or 0.0
        for c in chargers:
            try:
                travel = self.travel_min(origin, c.id, False)
            except IronfieldError:
                continue
            eta = now + truck.delay_min + travel
            start = max(eta, min(max(b, now) for b in c.busy_until) + c.queue_min)
            need_kwh = max(0.0, truck.battery_kwh - full)  # charge to full
            finish = start + need_kwh / c.power_kw * 60.0
            back = min((self.travel_min(c.id, s.id, False) for s in sites), default=0.0)
            lost = r_t * (finish - now + back)
            if best is None or lost < best.lost_t:
                best = Decision(truck.id, "charge", c.id, eta, start, finish, lost,
                                f"{reason}; charger {c.id}: travel {travel:.1f} "
                                f"wait {start - eta:.1f} charge {finish - start:.1f} min")
        if best is None:
            raise NoDestinationError(f"truck {truck.id!r} must charge but no charger is reachable")
        return best

    def choose_charger(self, now: float, truck: TruckView, origin: str,
                       chargers: Sequence[ChargerState], sites: Sequence[SiteState] = (),
                       inbound: Sequence[Inbound] = ()) -> Decision:
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        try:
            return self._choose_charger(now, truck, origin, chargers, sites, inbound,
                                        reason="sent to charge")
        finally:
            self._timed(t0, c0)

    def choose_dump(self, now: float, truck: TruckView, origin: str,
                    dumps: Sequence[DumpState], inbound_dumps: Sequence[Inbound],
                    sites: Sequence[SiteState] = ()) -> Decision:
        """Where a loaded truck at loader ``origin`` should tip, looking one leg ahead."""
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        try:
            best: Decision | None = None
            r_t = truck.payload_t / 60.0
            for d in dumps:
                if not d.available:
                    continue
                try:
                    travel = self.travel_min(origin, d.id, True)
                except IronfieldError:
                    continue
                eta = now + truck.delay_min + travel
                start = project_dump(d, inbound_dumps, eta, now)
                finish = start + d.service_min
                ahead = 0.0
                if sites and self.w.lookahead > 0:
                    ahead = self._best_return(d.id, sites)
                need = self._need_min((origin, d.id), now)
                lost = r_t * (finish - now + self.w.lookahead * ahead) - self.w.w_need * r_t * need
                if best is None or lost < best.lost_t:
                    best = Decision(truck.id, "dump", d.id, eta, start, finish, lost,
                                    f"travel {travel:.1f} wait {start - eta:.1f} "
                                    f"return {ahead:.1f} need {need:.1f} min")
            if best is None:
                raise NoDestinationError(f"truck {truck.id!r} at {origin!r}: no dump can take it")
            return best
        finally:
            self._timed(t0, c0)

    def _best_return(self, origin: str, sites: Sequence[SiteState]) -> float:
        """Empty travel [min] from ``origin`` to the nearest site with a working loader."""
        best = math.inf
        for s in sites:
            if any(ld.available for ld in s.loaders):
                try:
                    best = min(best, self.travel_min(origin, s.id, False))
                except IronfieldError:
                    continue
        return 0.0 if best == math.inf else best

    def record(self, origin: str, decision: Decision, tonnes: float) -> None:
        """Book ``tonnes`` dispatched on (loader, dump) for the needy-path lag."""
        if decision.kind == "dump":
            key = (origin, decision.dest)
            self.sent_path[key] = self.sent_path.get(key, 0.0) + tonnes
        elif decision.kind == "load":
            self.sent_load[decision.dest] = self.sent_load.get(decision.dest, 0.0) + tonnes

    def _timed(self, t0: int, c0: int) -> None:
        self.latency_ns.append(time.perf_counter_ns() - t0)
        self.cpu_ns.append(time.thread_time_ns() - c0)

    def latency_p99_ms(self, cpu: bool = False) -> float:
        """99th percentile decision time [ms]: wall clock, or CPU time of this thread
        (which leaves out time the OS gave to other processes on a shared machine)."""
        xs = self.cpu_ns if cpu else self.latency_ns
        if not xs:
            return 0.0
        return float(np.percentile(np.asarray(xs), 99)) / 1e6
