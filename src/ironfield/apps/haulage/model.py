"""The mine as the live dispatcher sees it: travel, loading and dumping times, trip energy
and the upper-stage plan, from the plant file's road network and fleet.

The same formulas as :class:`~ironfield.apps.haulage.sim.MineSim` uses (loading = spot +
payload / digging rate; a crusher pocket takes a load no faster than its share of the
crusher rate), so the simulated and the live dispatcher judge alike.
"""

from __future__ import annotations

import math
from collections.abc import Collection

from ironfield.apps.haulage.config import HaulageConfig, TruckModelConfig
from ironfield.apps.haulage.energy import legs_energy
from ironfield.apps.haulage.lp import DumpSpec, FlowPlan, LoaderSpec, PathSpec, plan_flows


class MineModel:
    def __init__(self, cfg: HaulageConfig) -> None:
        self.cfg = cfg
        self.net = cfg.network()
        self._kwh: dict[tuple[str, str, str, bool], float] = {}

    def travel_min(self, a: str, b: str, loaded: bool) -> float:
        """Travel time [min] on the fastest route."""
        return self.net.route(a, b, loaded).time_s(loaded) / 60.0

    def load_min(self, loader: str, payload_t: float) -> float:
        """Spot + loading time [min]."""
        rate = self.net.nodes[loader].rate_tph or 1.0
        return self.cfg.plan.spot_time_s / 60.0 + payload_t / rate * 60.0

    def dump_min(self, dest: str, payload_t: float) -> float:
        """Tipping time [min]."""
        n = self.net.nodes[dest]
        per_spot = (n.rate_tph or math.inf) / n.spots
        return max(self.cfg.plan.dump_time_s / 60.0, payload_t / per_spot * 60.0)

    def mean_payload(self) -> float:
        ms = [self.cfg.truck_model(t.id).payload_t for t in self.cfg.trucks]
        return sum(ms) / max(1, len(ms))

    def plan(self, trucks_available: float, loaders_down: Collection[str] = ()) -> FlowPlan:
        """Upper-stage LP for ``trucks_available`` trucks [-] with the loaders that are
        not in ``loaders_down`` (the plan's availability factor covers breakdowns to
        come; a loader known to be down digs nothing)."""
        n = self.net.nodes
        payload = self.mean_payload()
        loaders = [LoaderSpec(i, (n[i].rate_tph or 0.0) * self.cfg.plan.loader_availability,
                              n[i].grade_pct) for i in self.net.loaders if i not in loaders_down]
        if not loaders:
            return FlowPlan({}, feasible=False, conflicts=["every loader is down"])
        dumps = [DumpSpec(i, n[i].rate_tph or 0.0, n[i].min_feed_tph or 0.0,
                          n[i].blend_min_pct, n[i].blend_max_pct) for i in self.net.destinations]
        paths = []
        for ld in self.net.loaders:
            for d in self.net.destinations:
                if self.net.has_route(ld, d, True) and self.net.has_route(d, ld, False):
                    cyc = (self.travel_min(ld, d, True) + self.travel_min(d, ld, False)
                           + self.load_min(ld, payload) + self.dump_min(d, payload))
                    paths.append(PathSpec(ld, d, cyc / 60.0, payload))
        return plan_flows(loaders, dumps, paths, max(0.0, trucks_available),
                          self.cfg.plan.target_tph)

    def nominal_cycle_min(self) -> tuple[float, float]:
        """(loading, cycle without waiting) [min], averaged over loader -> nearest dump."""
        payload = self.mean_payload()
        loads, cycles = [], []
        for ld in self.net.loaders:
            best = math.inf
            for d in self.net.destinations:
                if self.net.has_route(ld, d, True) and self.net.has_route(d, ld, False):
                    best = min(best, self.travel_min(ld, d, True) + self.travel_min(d, ld, False)
                               + self.dump_min(d, payload))
            if best < math.inf:
                loads.append(self.load_min(ld, payload))
                cycles.append(best + self.load_min(ld, payload))
        if not loads:
            return 0.0, 0.0
        return sum(loads) / len(loads), sum(cycles) / len(cycles)

    def trip_kwh(self, model: TruckModelConfig, a: str, b: str, payload_t: float) -> float:
        """Net battery energy [kWh] of a trip (negative: it charged the battery)."""
        key = (model.name, a, b, payload_t > 0)
        if key not in self._kwh:
            route = self.net.route(a, b, payload_t > 0)
            self._kwh[key] = sum(x.net_kwh for x in legs_energy(model, route.legs, payload_t))
        return self._kwh[key]

    def cycle_kwh(self, model: TruckModelConfig, origin: str, site: str) -> float:
        """Energy [kWh] to reach ``site`` from ``origin``, load, haul to the best dump and
        reach a charger (the simulator uses this one too)."""
        best = math.inf
        for d in self.net.destinations:
            if not self.net.has_route(site, d, True):
                continue
            back = min((self.trip_kwh(model, d, c, 0.0) for c in self.net.chargers
                        if self.net.has_route(d, c, False)), default=0.0)
            best = min(best, self.trip_kwh(model, site, d, model.payload_t) + back)
        aux = model.aux_kw * self.load_min(site, model.payload_t) / 60.0
        first = self.trip_kwh(model, origin, site, 0.0) if self.net.has_route(origin, site, False) else 0.0
        return first + (0.0 if best == math.inf else best) + aux
