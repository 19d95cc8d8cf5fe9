"""Live dispatch: the upper-stage plan and lower-stage decisions on the tracked fleet.

Snapshots for :class:`~ironfield.apps.haulage.assign.Dispatcher` are built from what
tracking knows (who is under or queued at each loader, who charges where) and from the
decisions already sent (inbound trucks and their ETAs). Times are minutes since the
dispatcher started, on the data clock. The LP is solved at start and again whenever the
number of trucks available or the set of loaders down changes; a loader that goes down
gets no truck, and the trucks heading or queued there are sent elsewhere. Charging windows from ``energy.charging_plan`` events
are honoured: an empty truck whose window is open (or opens before it could finish
another cycle) is sent to that charger.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
from ironfield.apps.haulage.ingest import Latest
from ironfield.apps.haulage.live import NS_PER_MIN, LiveFleet
from ironfield.apps.haulage.lp import FlowPlan
from ironfield.apps.haulage.model import MineModel
from ironfield.apps.haulage.tracking import Phase
from ironfield.core.errors import IronfieldError


@dataclass(frozen=True, slots=True)
class Window:
    plan_id: str
    truck: str
    charger: str
    start_ns: int
    end_ns: int
    kwh: float


class LiveDispatch:
    def __init__(self, model: MineModel, fleet: LiveFleet, t0_ns: int) -> None:
        self.model, self.fleet, self.t0 = model, fleet, t0_ns
        self.dispatcher = Dispatcher(model.travel_min)
        self.plan: FlowPlan | None = None
        self.sent: dict[str, Decision] = {}  # truck -> last decision not yet reached
        self.windows: list[Window] = []
        self.plan_id: str | None = None
        self.loaders_down: set[str] = set()
        self._planned_for: tuple[int, frozenset[str]] | None = None

    def minutes(self, ts: int) -> float:
        return (ts - self.t0) / NS_PER_MIN

    # --- upper stage -------------------------------------------------------------------
    def replan_if_needed(self, now: int) -> bool:
        """Re-solve the LP when the trucks available or the loaders down have changed."""
        avail = len(self.fleet.tracker.trackers) - len(self.fleet.down)
        key = (avail, frozenset(self.loaders_down))
        if key == self._planned_for and self.plan is not None:
            return False
        self._planned_for = key
        n = len(self.fleet.tracker.trackers)
        # the plan's availability covers breakdowns to come; trucks seen down are known
        self.plan = self.model.plan(min(n * self.model.cfg.plan.truck_availability, avail),
                                    self.loaders_down)
        self.dispatcher.set_plan(self.plan, self.minutes(now))
        return True

    def set_loader(self, loader: str, up: bool) -> bool:
        """A loader's status; returns whether it changed."""
        if up == (loader not in self.loaders_down):
            return False
        if up:
            self.loaders_down.discard(loader)
        else:
            self.loaders_down.add(loader)
        return True

    def bound_for(self, loader: str) -> list[str]:
        """Trucks sent to ``loader`` and not there yet, or waiting in its queue: the ones to
        send elsewhere when it goes down (a truck already under it stays)."""
        out = [t for t, d in self.sent.items() if d.kind == "load" and d.dest == loader]
        for t, tr in self.fleet.tracker.trackers.items():
            if tr.zone == loader and tr.phase == Phase.QUEUE_LOAD and t not in out:
                out.append(t)
        return sorted(out)

    @property
    def plan_tph(self) -> float:
        """Planned t/h: the plan's target, or what the LP can reach when that is less."""
        if self.plan is None:
            return math.nan
        target = self.model.cfg.plan.target_tph
        return min(self.plan.total_tph, target) if target else self.plan.total_tph

    # --- charging plans ----------------------------------------------------------------
    def charging_plan(self, payload: Mapping[str, Any]) -> list[str]:
        """Take an ``energy.charging_plan``; returns the problems found (unknown truck or
        charger, bad times), the valid windows are kept."""
        problems: list[str] = []
        windows: list[Window] = []
        plan_id = str(payload.get("plan_id", "?"))
        raw = payload.get("windows")
        if not isinstance(raw, list):
            return [f"charging plan {plan_id!r}: 'windows' is not a list"]
        for i, w in enumerate(raw):
            try:
                win = Window(plan_id, str(w["truck"]), str(w["charger"]), int(w["start_ns"]),
                             int(w["end_ns"]), float(w.get("kwh", 0.0)))
            except (KeyError, TypeError, ValueError) as e:
                problems.append(f"charging plan {plan_id!r} window {i}: {type(e).__name__} {e}")
                continue
            if win.truck not in self.fleet.tracker.trackers:
                problems.append(f"charging plan {plan_id!r} window {i}: unknown truck {win.truck!r}")
            elif win.charger not in self.model.net.chargers:
                problems.append(f"charging plan {plan_id!r} window {i}: {win.charger!r} is not a charger")
            elif win.end_ns <= win.start_ns:
                problems.append(f"charging plan {plan_id!r} window {i}: ends before it starts")
            else:
                windows.append(win)
        self.windows, self.plan_id = windows, plan_id
        return problems

    def _window_for(self, truck: str, now: int, horizon_ns: int) -> Window | None:
        for w in self.windows:
            if w.truck == truck and w.end_ns > now and w.start_ns <= now + horizon_ns:
                return w
        return None

    # --- snapshots ---------------------------------------------------------------------
    def _sites(self, now_min: float) -> list[SiteState]:
        out = []
        trackers = self.fleet.tracker.trackers
        for ld in self.model.net.loaders:
            rate = (self.model.net.nodes[ld].rate_tph or 1.0) / 60.0
            busy, queue = now_min, []
            for t, tr in trackers.items():
                if tr.zone != ld or t in self.fleet.down:
                    continue
                payload = self.model.cfg.truck_model(t).payload_t
                if tr.phase in (Phase.SPOT, Phase.LOAD) and tr.phase_since is not None:
                    busy = max(busy, self.minutes(tr.phase_since) + self.model.load_min(ld, payload))
                elif tr.phase == Phase.QUEUE_LOAD:
                    queue.append(payload)
            out.append(SiteState(ld, [LoaderState(ld, rate, busy, queue,
                                                  self.model.cfg.plan.spot_time_s / 60.0,
                                                  available=ld not in self.loaders_down)]))
        return out

    def _inbound(self, me: str, loaders: bool) -> list[Inbound]:
        out = []
        for t, d in self.sent.items():
            if t == me:
                continue
            if (d.kind == "load") == loaders and d.kind != "charge":
                out.append(Inbound(d.dest, d.eta, self.model.cfg.truck_model(t).payload_t))
        return out

    def _chargers(self, now_min: float, latest: Mapping[str, Latest]) -> list[ChargerState]:
        out = []
        for c in self.model.net.chargers:
            n = self.model.net.nodes[c]
            busy = [now_min] * n.spots
            k = 0
            for t, tr in self.fleet.tracker.trackers.items():
                if tr.zone == c and tr.phase == Phase.CHARGE and k < n.spots:
                    m = self.model.cfg.truck_model(t)
                    lt = latest.get(t)
                    soc = lt.soc if lt is not None and not math.isnan(lt.soc) else 0.5
                    busy[k] = now_min + max(0.0, 0.9 - soc) * m.battery_kwh / (n.power_kw or 1.0) * 60
                    k += 1
            out.append(ChargerState(c, busy, n.power_kw or 1.0))
        return out

    def _view(self, truck: str, latest: Mapping[str, Latest]) -> TruckView:
        m = self.model.cfg.truck_model(truck)
        lt = latest.get(truck)
        soc = None if lt is None or math.isnan(lt.soc) else lt.soc * m.battery_kwh
        return TruckView(truck, m.payload_t, soc, m.soc_reserve * m.battery_kwh, m.battery_kwh)

    # --- decisions ---------------------------------------------------------------------
    def decide(self, truck: str, what: str, now: int, latest: Mapping[str, Latest],
               en_route: bool = False) -> Decision:
        """Next destination of ``truck``: ``what`` is "loader" (it is dumping) or "dump"
        (it is loading). ``en_route``: it may be between places (a redirect). Raises
        :class:`IronfieldError` when nothing can take it."""
        tr = self.fleet.tracker.trackers.get(truck)
        if tr is None:
            raise IronfieldError(f"truck {truck!r} is not in the fleet")
        origin = tr.zone
        if origin is None and en_route and tr.last is not None:
            # redirected on the road: plan from the nearest place on the network
            origin, _ = self.model.net.nearest_node(tr.last.x_m, tr.last.y_m)
        if origin is None:
            raise IronfieldError(f"truck {truck!r} is at no known place (last fix outside every zone)")
        self.replan_if_needed(now)
        now_min = self.minutes(now)
        view = self._view(truck, latest)
        sites = self._sites(now_min)
        if what == "dump":
            dumps = [DumpState(d, [now_min] * self.model.net.nodes[d].spots,
                               sum(1 for t2, x in self.fleet.tracker.trackers.items()
                                   if x.zone == d and x.phase == Phase.QUEUE_DUMP and t2 != truck),
                               self.model.dump_min(d, view.payload_t))
                     for d in self.model.net.destinations]
            dec = self.dispatcher.choose_dump(now_min, view, origin, dumps,
                                              self._inbound(truck, False), sites)
            self.dispatcher.record(origin, dec, view.payload_t)
        else:
            _, cyc = self.model.nominal_cycle_min()
            win = self._window_for(truck, now, int(cyc * NS_PER_MIN))
            if win is not None:
                eta = now_min + self.model.travel_min(origin, win.charger, False)
                dec = Decision(truck, "charge", win.charger, eta, eta, eta, 0.0,
                               f"energy.charging_plan {win.plan_id}: window "
                               f"{self.minutes(win.start_ns) - now_min:+.0f}..{self.minutes(win.end_ns) - now_min:+.0f} min")
            else:
                m = self.model.cfg.truck_model(truck)
                dec = self.dispatcher.choose_loader(
                    now_min, view, origin, sites, self._inbound(truck, True),
                    self._chargers(now_min, latest),
                    cycle_kwh=lambda site: self.model.cycle_kwh(m, origin, site))
                if dec.kind == "load":
                    self.dispatcher.record(origin, dec, view.payload_t)
        self.sent[truck] = dec
        return dec

    def arrived(self, truck: str) -> None:
        """The truck reached a loading site or dump: it is no longer inbound."""
        self.sent.pop(truck, None)
