"""Discrete-event simulation of the mine's electric haul fleet (SimPy).

Loaders, dumps and the crusher, chargers and trucks, on the declared road network; trucks
(and, when asked, loaders) break down and are repaired, loading and travel times are
random, batteries drain and
regenerate leg by leg through :mod:`~ironfield.apps.haulage.energy`. Assignments come from
the same :class:`~ironfield.apps.haulage.assign.Dispatcher` the live app uses (or from an
``assign`` hook, e.g. decisions coming back over write-back). Telemetry leaves through
``on_telemetry`` as :class:`~ironfield.apps.haulage.tracking.Sample` — the plug-in routes it
to MQTT, so tracking and KPIs run on the same code as for a real fleet.

Simulation time is minutes; telemetry timestamps are ``t0_ns`` plus that.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import simpy

from ironfield.apps.haulage.assign import (
    ChargerState,
    Decision,
    Dispatcher,
    DumpState,
    Inbound,
    LoaderState,
    SiteState,
    TruckView,
)
from ironfield.apps.haulage.config import HaulageConfig, NodeKind, TruckModelConfig
from ironfield.apps.haulage.energy import legs_energy
from ironfield.apps.haulage.lp import FlowPlan
from ironfield.apps.haulage.model import MineModel
from ironfield.apps.haulage.network import Leg
from ironfield.apps.haulage.tracking import Phase, Sample
from ironfield.core.timeutil import NS_PER_MIN

AssignHook = Callable[[str, str, float], str | None]  # (truck, "load"|"dump", now) -> node
RedirectHook = Callable[[str], str | None]  # (truck) -> a new loading site or charger, if sent one
LoaderHook = Callable[[str, bool, float], None]  # (loader, up, now [min])


@dataclass(frozen=True, slots=True)
class SimSettings:
    """duration_min : simulated time [min]; cv_* : coefficients of variation [-];
    mtbf_h / mttr_h : truck mean operating time between failures / mean repair [h];
    loader_mtbf_h / loader_mttr_h : the same for each loader (0: loaders never fail); a
    failure waits for the truck under the loader, then holds the loader for the repair;
    telemetry_s : sample period [s] (0: no telemetry); soc0 : starting SoC [-];
    charge_to : SoC a charge stops at [-]."""

    seed: int = 0
    duration_min: float = 8 * 60.0
    cv_load: float = 0.15
    cv_travel: float = 0.08
    mtbf_h: float = 40.0
    mttr_h: float = 1.5
    telemetry_s: float = 0.0
    soc0: float = 0.9
    charge_to: float = 0.9
    t0_ns: int = 0
    loader_mtbf_h: float = 0.0  # loader operating time between failures [h]; 0: never
    loader_mttr_h: float = 1.0  # mean loader repair [h]


@dataclass(slots=True)
class SimResult:
    tonnes: float = 0.0
    loads: int = 0
    tonnes_by_dest: dict[str, float] = field(default_factory=dict)
    loader_busy_min: dict[str, float] = field(default_factory=dict)
    truck_state_min: dict[str, dict[str, float]] = field(default_factory=dict)
    net_kwh: float = 0.0
    regen_kwh: float = 0.0
    charged_kwh: float = 0.0
    decisions: list[Decision] = field(default_factory=list)
    breakdowns: int = 0
    loader_breakdowns: int = 0
    redirects: int = 0


class _Truck:
    def __init__(self, tid: str, model: TruckModelConfig, node: str, soc: float) -> None:
        self.id, self.model, self.node = tid, model, node
        self.soc_kwh = soc * model.battery_kwh
        self.payload = 0.0
        self.phase = Phase.IDLE
        self.dest: str | None = None
        self.eta = 0.0
        # the leg in progress, for telemetry: (leg, t_start, t_end, soc_start, soc_end)
        self.leg: tuple[Leg, float, float, float, float] | None = None
        self.op_min = 0.0
        self.ttf_min = 0.0
        self.aux_t = 0.0  # auxiliaries are booked up to this time [min]


def _lognorm(rng: random.Random, mean: float, cv: float) -> float:
    if mean <= 0 or cv <= 0:
        return max(mean, 0.0)
    s2 = math.log(1 + cv * cv)
    return rng.lognormvariate(math.log(mean) - s2 / 2, math.sqrt(s2))


class MineSim:
    """One simulated shift. Build, then :meth:`run`."""

    def __init__(self, cfg: HaulageConfig, settings: SimSettings | None = None,
                 dispatcher: Dispatcher | None = None,
                 on_telemetry: Callable[[Sample], None] | None = None,
                 assign: AssignHook | None = None, redirect: RedirectHook | None = None,
                 on_loader: LoaderHook | None = None) -> None:
        self.cfg, self.s = cfg, settings or SimSettings()
        self.net = cfg.network()
        self.rng = random.Random(self.s.seed)
        # loader failures draw from their own stream: turning them on leaves the trucks'
        # random times as they were
        self.loader_rng = random.Random(self.s.seed + 7919)
        self.env = simpy.Environment()
        self.on_telemetry, self.assign_hook = on_telemetry, assign
        self.redirect_hook, self.on_loader = redirect, on_loader
        n = self.net.nodes
        # a failure queues ahead of the trucks (priority -1) without preempting the load
        self.loaders = {i: simpy.PriorityResource(self.env, 1) for i in self.net.loaders}
        self.loader_down: set[str] = set()
        self.busy_until = {i: 0.0 for i in self.net.loaders}
        self.queued: dict[str, list[float]] = {i: [] for i in self.net.loaders}
        self.dumps = {i: simpy.Resource(self.env, n[i].spots) for i in self.net.destinations}
        self.dump_busy: dict[str, list[float]] = {i: [0.0] * n[i].spots for i in self.dumps}
        self.chargers = {i: simpy.Resource(self.env, n[i].spots) for i in self.net.chargers}
        self.charger_busy: dict[str, list[float]] = {i: [0.0] * n[i].spots for i in self.chargers}
        self.res = SimResult(loader_busy_min={i: 0.0 for i in self.loaders})
        start = (self.net.of_kind(NodeKind.PARKING) or self.net.chargers or self.net.loaders)[0]
        self.trucks: list[_Truck] = []
        for t in cfg.trucks:
            tr = _Truck(t.id, cfg.truck_model(t.id), t.home or start, self.s.soc0)
            tr.ttf_min = self.rng.expovariate(1.0 / (self.s.mtbf_h * 60.0))
            self.trucks.append(tr)
            self.res.truck_state_min[t.id] = {}
        self.model = MineModel(cfg)
        self.plan = self._plan()
        self.dispatcher = dispatcher or Dispatcher(self.travel_min)
        self.dispatcher.set_plan(self.plan, 0.0)

    # --- model helpers (the live dispatcher's MineModel: both judge alike) ---------------
    def travel_min(self, a: str, b: str, loaded: bool) -> float:
        return self.model.travel_min(a, b, loaded)

    def load_min(self, loader: str, payload_t: float) -> float:
        return self.model.load_min(loader, payload_t)

    def dump_min(self, dest: str, payload_t: float) -> float:
        return self.model.dump_min(dest, payload_t)

    def _plan(self) -> FlowPlan:
        return self.model.plan(len(self.trucks) * self.cfg.plan.truck_availability)

    def _cycle_kwh(self, tr: _Truck, site: str) -> float:
        """Energy [kWh] to reach ``site``, haul to the best dump and reach a charger."""
        return self.model.cycle_kwh(tr.model, tr.node, site)

    # --- snapshots for the dispatcher ---------------------------------------------------
    def _sites(self) -> list[SiteState]:
        now = self.env.now
        return [SiteState(i, [LoaderState(i, (self.net.nodes[i].rate_tph or 1.0) / 60.0,
                                          max(now, self.busy_until[i]), list(self.queued[i]),
                                          self.cfg.plan.spot_time_s / 60.0,
                                          available=i not in self.loader_down)])
                for i in self.loaders]

    def _inbound(self, me: _Truck, kind: NodeKind | None) -> list[Inbound]:
        out = []
        for t in self.trucks:
            if t is me or t.dest is None:
                continue
            k = self.net.nodes[t.dest].kind
            if (kind == NodeKind.LOADER and k == NodeKind.LOADER) or (
                    kind is None and k in (NodeKind.DUMP, NodeKind.CRUSHER)):
                out.append(Inbound(t.dest, max(t.eta, self.env.now), t.model.payload_t))
        return out

    def _view(self, tr: _Truck) -> TruckView:
        return TruckView(tr.id, tr.model.payload_t, tr.soc_kwh,
                         tr.model.soc_reserve * tr.model.battery_kwh, tr.model.battery_kwh)

    def _decide_load(self, tr: _Truck) -> Decision:
        now = self.env.now
        d = self.dispatcher.choose_loader(
            now, self._view(tr), tr.node, self._sites(), self._inbound(tr, NodeKind.LOADER),
            [ChargerState(c, [max(now, b) for b in self.charger_busy[c]],
                          self.net.nodes[c].power_kw or 1.0) for c in self.chargers],
            cycle_kwh=lambda site: self._cycle_kwh(tr, site))
        if self.assign_hook is not None and d.kind == "load":  # never overrule a charge
            dest = self.assign_hook(tr.id, "load", now)
            if dest is not None and (dest in self.loaders or dest in self.chargers):
                kind = "load" if dest in self.loaders else "charge"
                d = Decision(tr.id, kind, dest, now + self.travel_min(tr.node, dest, False),
                             0.0, 0.0, 0.0, "assigned externally")
        return d

    def _decide_dump(self, tr: _Truck) -> Decision:
        now = self.env.now
        dumps = [DumpState(i, [max(now, b) for b in self.dump_busy[i]],
                           len(self.dumps[i].queue), self.dump_min(i, tr.model.payload_t))
                 for i in self.dumps]
        d = self.dispatcher.choose_dump(now, self._view(tr), tr.node, dumps,
                                        self._inbound(tr, None), self._sites())
        if self.assign_hook is not None:
            dest = self.assign_hook(tr.id, "dump", now)
            if dest is not None and dest in self.dumps:
                d = Decision(tr.id, "dump", dest, now + self.travel_min(tr.node, dest, True),
                             0.0, 0.0, 0.0, "assigned externally")
        return d

    # --- processes ----------------------------------------------------------------------
    def _book(self, tr: _Truck, phase: Phase, minutes: float) -> None:
        st = self.res.truck_state_min[tr.id]
        st[phase.value] = st.get(phase.value, 0.0) + minutes

    def _drive(self, tr: _Truck, dest: str, loaded: bool, phase: Phase
               ) -> simpy.events.ProcessGenerator:
        route = self.net.route(tr.node, dest, loaded)
        self._standing_aux(tr)  # a leg's energy includes its own auxiliaries
        tr.phase = phase
        energies = legs_energy(tr.model, route.legs, tr.payload)
        noise = _lognorm(self.rng, 1.0, self.s.cv_travel)
        for leg, e in zip(route.legs, energies, strict=True):
            dt = leg.time_s(loaded) / 60.0 * noise
            soc0 = tr.soc_kwh
            soc1 = min(tr.model.battery_kwh, max(0.0, soc0 - e.net_kwh))
            tr.leg = (leg, self.env.now, self.env.now + dt, soc0, soc1)
            yield self.env.timeout(dt)
            tr.soc_kwh = soc1
            tr.op_min += dt
            self.res.net_kwh += e.net_kwh
            self.res.regen_kwh += e.regen_kwh
            self._book(tr, phase, dt)
        tr.leg = None
        tr.node = dest
        tr.aux_t = self.env.now

    def _wait(self, tr: _Truck, phase: Phase, minutes: float) -> simpy.events.ProcessGenerator:
        tr.phase = phase
        self._book(tr, phase, minutes)
        yield self.env.timeout(minutes)
        self._standing_aux(tr)

    def _standing_aux(self, tr: _Truck) -> None:
        """Book the auxiliaries' draw [kWh] while the truck stood (queue, spot, load,
        tip, repair) since the last booking; telemetry interpolates it in between."""
        kwh = tr.model.aux_kw * max(0.0, self.env.now - tr.aux_t) / 60.0
        tr.soc_kwh = max(0.0, tr.soc_kwh - kwh)
        self.res.net_kwh += kwh
        tr.aux_t = self.env.now

    def _truck(self, tr: _Truck) -> simpy.events.ProcessGenerator:
        while True:
            if tr.op_min >= tr.ttf_min:  # breakdown, repaired where it stands
                self.res.breakdowns += 1
                yield from self._wait(tr, Phase.IDLE, _lognorm(self.rng, self.s.mttr_h * 60, 0.5))
                tr.op_min, tr.ttf_min = 0.0, self.rng.expovariate(1.0 / (self.s.mtbf_h * 60.0))
            dec = self._decide_load(tr)
            self.res.decisions.append(dec)
            tr.dest, tr.eta = dec.dest, dec.eta
            if dec.kind != "charge":
                self.dispatcher.record(tr.node, dec, tr.model.payload_t)
            site: str | None = dec.dest
            while site is not None and site in self.loaders:
                yield from self._drive(tr, site, False, Phase.RETURN)
                tr.dest = None
                site = yield from self._load(tr, site)  # a redirect while queued: go there
                if site is not None:
                    self.res.redirects += 1
                    tr.dest, tr.eta = site, self.env.now + self.travel_min(tr.node, site, False)
            if site is not None:  # sent to charge, or redirected to a charger
                yield from self._drive(tr, site, False, Phase.RETURN)
                tr.dest = None
                yield from self._charge(tr, site)
                continue
            origin = tr.node
            dd = self._decide_dump(tr)
            self.res.decisions.append(dd)
            self.dispatcher.record(origin, dd, tr.payload)
            tr.dest, tr.eta = dd.dest, dd.eta
            yield from self._drive(tr, dd.dest, True, Phase.HAUL)
            tr.dest = None
            yield from self._dump(tr, dd.dest)

    def _load(self, tr: _Truck, loader: str) -> Generator[simpy.Event, object, str | None]:
        """Queue at ``loader`` and load; returns None, or where the truck was sent instead
        while it queued (a redirect, checked every half minute of waiting)."""
        res = self.loaders[loader]
        self.queued[loader].append(tr.model.payload_t)
        t_q = self.env.now
        tr.phase = Phase.QUEUE_LOAD
        with res.request(priority=0) as req:
            while True:
                got = yield req | self.env.timeout(0.5)
                if req in got:  # type: ignore[operator]
                    break
                if loader not in self.loader_down or self.redirect_hook is None:
                    continue  # only a loader that is down sends its queue elsewhere
                new = self.redirect_hook(tr.id)
                if new is not None and new != loader and (new in self.loaders or new in self.chargers):
                    self.queued[loader].remove(tr.model.payload_t)
                    self._book(tr, Phase.QUEUE_LOAD, self.env.now - t_q)
                    return new
            self.queued[loader].remove(tr.model.payload_t)
            self._book(tr, Phase.QUEUE_LOAD, self.env.now - t_q)
            spot = self.cfg.plan.spot_time_s / 60.0
            dt = _lognorm(self.rng, self.load_min(loader, tr.model.payload_t) - spot,
                          self.s.cv_load)
            self.busy_until[loader] = self.env.now + spot + dt
            yield from self._wait(tr, Phase.SPOT, spot)
            tr.phase = Phase.LOAD
            t0 = self.env.now
            steps = max(1, int(dt))
            for _ in range(steps):  # payload rises bucket by bucket, for telemetry
                yield self.env.timeout(dt / steps)
                tr.payload = min(tr.model.payload_t, tr.payload + tr.model.payload_t / steps)
            tr.payload = tr.model.payload_t * _lognorm(self.rng, 1.0, 0.03)
            self._book(tr, Phase.LOAD, self.env.now - t0)
            self.res.loader_busy_min[loader] += spot + dt
            self.res.loads += 1
        return None

    def _loader_failures(self, loader: str) -> simpy.events.ProcessGenerator:
        """Operating time to failure, then the repair; the loader serves no truck meanwhile
        (the one under it is finished first)."""
        mtbf, mttr = self.s.loader_mtbf_h * 60.0, self.s.loader_mttr_h * 60.0
        while True:
            yield self.env.timeout(self.loader_rng.expovariate(1.0 / mtbf))
            with self.loaders[loader].request(priority=-1) as req:
                yield req
                self.loader_down.add(loader)
                self.res.loader_breakdowns += 1
                if self.on_loader is not None:
                    self.on_loader(loader, False, self.env.now)
                yield self.env.timeout(_lognorm(self.loader_rng, mttr, 0.5))
                self.loader_down.discard(loader)
                if self.on_loader is not None:
                    self.on_loader(loader, True, self.env.now)

    def _dump(self, tr: _Truck, dest: str) -> simpy.events.ProcessGenerator:
        res = self.dumps[dest]
        t_q = self.env.now
        tr.phase = Phase.QUEUE_DUMP
        with res.request() as req:
            yield req
            self._book(tr, Phase.QUEUE_DUMP, self.env.now - t_q)
            dt = self.dump_min(dest, tr.payload)
            slot = min(range(len(self.dump_busy[dest])), key=lambda j: self.dump_busy[dest][j])
            self.dump_busy[dest][slot] = self.env.now + dt
            tr.phase = Phase.DUMP
            yield self.env.timeout(dt / 2)
            half = tr.payload / 2
            tr.payload -= half
            yield self.env.timeout(dt / 2)
            self._book(tr, Phase.DUMP, dt)
            self.res.tonnes += tr.payload + half
            self.res.tonnes_by_dest[dest] = self.res.tonnes_by_dest.get(dest, 0.0) + tr.payload + half
            tr.payload = 0.0

    def _charge(self, tr: _Truck, charger: str) -> simpy.events.ProcessGenerator:
        res = self.chargers[charger]
        power = self.net.nodes[charger].power_kw or 1.0
        if tr.model.charge_kw:
            power = min(power, tr.model.charge_kw)
        t_q = self.env.now
        tr.phase = Phase.CHARGE
        with res.request() as req:
            yield req
            self._standing_aux(tr)  # while waiting for a bay; the charger supplies them after
            self._book(tr, Phase.CHARGE, self.env.now - t_q)
            need = max(0.0, self.s.charge_to * tr.model.battery_kwh - tr.soc_kwh)
            dt = need / power * 60.0
            slot = min(range(len(self.charger_busy[charger])),
                       key=lambda j: self.charger_busy[charger][j])
            self.charger_busy[charger][slot] = self.env.now + dt
            steps = max(1, int(dt))
            for _ in range(steps):
                yield self.env.timeout(dt / steps)
                tr.soc_kwh += need / steps
            self.res.charged_kwh += need
            self._book(tr, Phase.CHARGE, dt)
            tr.aux_t = self.env.now

    def _telemetry(self, tr: _Truck) -> simpy.events.ProcessGenerator:
        period = self.s.telemetry_s / 60.0
        assert self.on_telemetry is not None
        while True:
            x, y, v, soc = self._where(tr)
            self.on_telemetry(Sample(tr.id, self.s.t0_ns + int(self.env.now * NS_PER_MIN), x, y,
                                     v, tr.payload, soc / tr.model.battery_kwh, tr.phase.value))
            yield self.env.timeout(period)

    def _where(self, tr: _Truck) -> tuple[float, float, float, float]:
        """Position [m], speed [m/s] and SoC [kWh] now, interpolated along the leg."""
        if tr.leg is None:
            n = self.net.nodes[tr.node]
            soc = tr.soc_kwh
            if tr.phase != Phase.CHARGE:  # the auxiliaries draw while it stands
                soc = max(0.0, soc - tr.model.aux_kw * max(0.0, self.env.now - tr.aux_t) / 60.0)
            return n.x_m, n.y_m, 0.0, soc
        leg, t0, t1, s0, s1 = tr.leg
        f = 0.0 if t1 <= t0 else min(1.0, (self.env.now - t0) / (t1 - t0))
        a, b = self.net.nodes[leg.start], self.net.nodes[leg.end]
        v = leg.length_m / max(1e-9, (t1 - t0) * 60.0)
        return a.x_m + f * (b.x_m - a.x_m), a.y_m + f * (b.y_m - a.y_m), v, s0 + f * (s1 - s0)

    def start(self) -> None:
        """Start the trucks' processes; then step with ``env.run(until=...)`` (a real-time
        driver) or call :meth:`run`."""
        for tr in self.trucks:
            self.env.process(self._truck(tr))
            if self.on_telemetry is not None and self.s.telemetry_s > 0:
                self.env.process(self._telemetry(tr))
        if self.s.loader_mtbf_h > 0:
            for ld in self.loaders:
                self.env.process(self._loader_failures(ld))

    def run(self) -> SimResult:
        self.start()
        self.env.run(until=self.s.duration_min)
        return self.res
