"""The live fleet: tracking, cycles and production KPIs over a rolling window.

Samples go to the :class:`~ironfield.apps.haulage.tracking.FleetTracker`; completed cycles
are kept for the window (a truck's first cycle is dropped when the truck was first seen
already at a loader: its arrival, queue and part of its loading were never seen); ore counts as delivered when a truck finishes tipping (the median
of its payload readings on the road), which is what ``tonnes_total`` and ``tph`` count;
every tick the fleet's time in each state is booked, so
availability, utilisation and loader hang time are time-weighted. Data-fault events are
passed on at most once a minute per truck and kind (the rest are counted).
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Collection
from dataclasses import replace

from ironfield.apps.haulage import kpi
from ironfield.apps.haulage.config import HaulageConfig, NodeKind
from ironfield.apps.haulage.ingest import Latest
from ironfield.apps.haulage.model import MineModel
from ironfield.apps.haulage.settings import DOWN, STATE_NAMES, AppSettings
from ironfield.apps.haulage.tracking import Cycle, FleetTracker, Phase, Sample, TrackerSettings
from ironfield.core.events import Event
from ironfield.core.timeutil import NS_PER_S, now_ns

NS_PER_MIN = 60 * NS_PER_S
MIN_SPAN_NS = 15 * NS_PER_MIN
#: phases that count as productive truck time (utilisation)
PRODUCTIVE = {Phase.SPOT, Phase.LOAD, Phase.HAUL, Phase.DUMP, Phase.RETURN}
#: a truck becomes free for a decision when it enters these phases
FREE_FOR_LOADER = {Phase.DUMP}
FREE_FOR_DUMP = {Phase.LOAD}
#: the truck has reached the place it was sent to
ARRIVED = {Phase.QUEUE_LOAD, Phase.SPOT, Phase.QUEUE_DUMP, Phase.CHARGE}


class LiveFleet:
    def __init__(self, settings: AppSettings, cfg: HaulageConfig, model: MineModel) -> None:
        self.s, self.cfg, self.model = settings, cfg, model
        self.tracker = FleetTracker(cfg)
        self.area = f"{settings.site}/{settings.area}"
        self.window_ns = int(settings.window_min * NS_PER_MIN)
        self.cycles: deque[tuple[str, Cycle]] = deque()
        self.recent_cycles: deque[dict[str, object]] = deque(maxlen=20)
        self.tonnes_total = 0.0
        self.traction_kwh_total = 0.0
        self.regen_kwh_total = 0.0
        self.cycles_total = 0
        self.state_s: dict[str, float] = {}  # fleet seconds per state since start
        self.hang_s = 0.0
        self.tick_ns: int | None = None
        self.newest_ts = 0
        self.down: set[str] = set()
        self._muted: dict[tuple[str, str], int] = {}
        self.deliveries: deque[tuple[int, float]] = deque()  # (ts, tonnes) tipped
        self._carried: dict[str, dict[int, float]] = {}  # truck -> payload readings on the road
        self.first_ts: int | None = None
        self.heard: dict[str, float] = {}  # truck -> wall time [s] of its last sample
        # trucks first seen at a loader: their first cycle began before tracking did
        self._seen: set[str] = set()
        self._partial: set[str] = set()
        self.partial_cycles = 0
        self.last_heard: dict[str, float] = {}
        self.stale: set[str] = set()
        self.tracker_gap_s = TrackerSettings().max_gap_ns / NS_PER_S
        self.suppressed = 0

    def clock(self, wall_ns: int) -> int:
        """Now on the data's clock: the wall clock, or the newest sample when that is ahead
        (a simulation running faster than real time)."""
        return max(wall_ns, self.newest_ts)

    # --- samples -----------------------------------------------------------------------
    def push(self, sample: Sample, latest: Latest | None, wall: float = 0.0
             ) -> tuple[list[Event], list[tuple[str, str]]]:
        """Events to emit and (truck, "loader"|"dump"|"arrived") decisions now due."""
        self.newest_ts = max(self.newest_ts, sample.ts)
        if self.first_ts is None or sample.ts < self.first_ts:
            self.first_ts = sample.ts
        self.heard[sample.truck] = wall
        self.last_heard[sample.truck] = wall
        self.stale.discard(sample.truck)
        if latest is not None:
            if latest.state == DOWN:
                self.down.add(sample.truck)
            else:
                self.down.discard(sample.truck)
        out = self._handle(self.tracker.push(sample))
        tr = self.tracker.trackers.get(sample.truck)
        if (tr is not None and tr.last is not None and tr.settled
                and tr.phase in (Phase.HAUL, Phase.QUEUE_DUMP)):
            self._carried.setdefault(sample.truck, {})[tr.last.ts] = tr.last.payload_t
        return out

    def flush_quiet(self, wall: float) -> tuple[list[Event], list[tuple[str, str]]]:
        """Release the reorder buffer of trucks that sent nothing for ``quiet_s`` of wall
        time (a truck that went silent must not keep its last samples forever)."""
        events: list[Event] = []
        stale_s = self.tracker_gap_s
        for truck, t in self.last_heard.items():
            if wall - t >= stale_s and truck not in self.stale:
                self.stale.add(truck)
                tr = self.tracker.trackers.get(truck)
                last = tr.last.ts if tr is not None and tr.last is not None else None
                events.append(Event.make("haulage.telemetry_stale", truck, {
                    "silent_s": round(wall - t, 1), "last_ts": last,
                    "problem": f"no telemetry for {wall - t:.0f} s"}, ts=self.clock(now_ns())))
        for truck, t in list(self.heard.items()):
            if wall - t >= self.s.quiet_s:
                tr = self.tracker.trackers.get(truck)
                if tr is not None:
                    events += tr.flush()
                del self.heard[truck]
        return self._handle(events)

    def _handle(self, events: list[Event]) -> tuple[list[Event], list[tuple[str, str]]]:
        out: list[Event] = []
        due: list[tuple[str, str]] = []
        for ev in events:
            asset = f"{self.area}/{ev.asset}"
            if ev.type == "haulage.cycle":
                if ev.asset in self._partial:  # began before we saw the truck arrive
                    self._partial.discard(ev.asset)
                    self.partial_cycles += 1
                    continue
                self._cycle(ev)
                out.append(replace(ev, asset=asset))
            elif ev.type == "haulage.phase":
                ph = Phase(str(ev.payload["phase"]))
                if ev.asset not in self._seen:
                    self._seen.add(ev.asset)
                    if ph in (Phase.QUEUE_LOAD, Phase.SPOT, Phase.LOAD):
                        self._partial.add(ev.asset)
                if ev.payload["from"] == Phase.DUMP.value:
                    self._deliver(ev.asset, ev.ts)
                elif ph in (Phase.QUEUE_LOAD, Phase.SPOT, Phase.LOAD):
                    self._carried.pop(ev.asset, None)
                if ph in FREE_FOR_LOADER:
                    due.append((ev.asset, "loader"))
                elif ph in FREE_FOR_DUMP:
                    due.append((ev.asset, "dump"))
                elif ph in ARRIVED:
                    due.append((ev.asset, "arrived"))
            elif self.let_through(ev):
                out.append(replace(ev, asset=asset))
        return out, due

    def let_through(self, ev: Event) -> bool:
        key = (ev.asset, ev.type)
        last = self._muted.get(key)
        if last is not None and abs(ev.ts - last) < NS_PER_MIN:
            self.suppressed += 1
            return False
        self._muted[key] = ev.ts
        return True

    def _deliver(self, truck: str, ts: int) -> None:
        """The truck finished tipping: book the median payload it hauled [t] as delivered
        (a bouncing payload sensor reads high and low on the road)."""
        carried = self._carried.pop(truck, {})
        if not carried:
            return  # first seen while tipping: its load is unknown
        t = statistics.median(carried.values())
        self.tonnes_total += t
        self.deliveries.append((ts, t))

    def _cycle(self, ev: Event) -> None:
        tr = self.tracker.trackers[ev.asset]
        c = tr.cycles[-1]
        self.cycles.append((ev.asset, c))
        self.cycles_total += 1
        self.traction_kwh_total += max(0.0, c.net_kwh + c.regen_kwh)
        self.regen_kwh_total += c.regen_kwh
        self.recent_cycles.appendleft({"truck": ev.asset, **c.payload()})

    # --- KPIs --------------------------------------------------------------------------
    def phase_of(self, truck: str) -> str:
        if truck in self.down:
            return DOWN
        tr = self.tracker.trackers.get(truck)
        return tr.phase.value if tr is not None else Phase.IDLE.value

    def tick(self, now: int, latest: dict[str, Latest], plan_tph: float,
             loaders_down: Collection[str] = ()) -> dict[str, float]:
        """Book the time since the last tick and return the KPI values [signal name -> value].
        A loader that is down is not hanging (waiting for trucks): it is not counted."""
        dt = 0.0 if self.tick_ns is None else max(0.0, (now - self.tick_ns) / NS_PER_S)
        self.tick_ns = now
        phases = {t: self.phase_of(t) for t in self.tracker.trackers}
        for p in phases.values():
            self.state_s[p] = self.state_s.get(p, 0.0) + dt
        busy_loaders = {tr.zone for t, tr in self.tracker.trackers.items()
                        if tr.phase in (Phase.SPOT, Phase.LOAD) and t not in self.down}
        self.hang_s += dt * sum(1 for ld in self.model.net.loaders
                                if ld not in busy_loaders and ld not in loaders_down)
        while self.cycles and self.cycles[0][1].end_ts < now - self.window_ns:
            self.cycles.popleft()
        win = [c for _, c in self.cycles]
        while self.deliveries and self.deliveries[0][0] < now - self.window_ns:
            self.deliveries.popleft()
        # t/h over the window; while tracking is younger than that, over the time since
        # the first sample (at least MIN_SPAN), so the figure is right from the start
        span = self.window_ns if self.first_ts is None else max(
            MIN_SPAN_NS, min(self.window_ns, now - self.first_ts))
        out: dict[str, float] = {
            "tonnes_total": self.tonnes_total,
            "tph": sum(t for _, t in self.deliveries) / (span / 3.6e12),
            "plan_tph": plan_tph, "traction_kwh_total": self.traction_kwh_total,
            "regen_kwh_total": self.regen_kwh_total, "cycles_total": float(self.cycles_total),
            "charging_kw": self._charging_kw(latest, phases),
            "hang_min": self.hang_s / 60.0,
            "loaders_down": float(len(loaders_down)),
        }
        ek = kpi.energy_kpis(win)
        out["kwh_per_t"] = ek["kwh_per_t"]
        out["regen_share"] = ek["regen_share"]
        qh = kpi.queue_and_hang(win, {})
        out["queue_min_per_cycle"] = qh["queue_min_per_cycle"] if win else math.nan
        out["cycle_min"] = (sum((c.end_ts - c.start_ts) for c in win) / len(win) / NS_PER_MIN
                            if win else math.nan)
        out["match_factor"] = self._match_factor(win)
        total = sum(self.state_s.values())
        down = self.state_s.get(DOWN, 0.0)
        out["availability"] = kpi.availability(total, down) if total > 0 else math.nan
        productive = sum(v for k, v in self.state_s.items() if k in {p.value for p in PRODUCTIVE})
        out["utilisation"] = kpi.utilisation(total - down, productive) if total > 0 else math.nan
        counts = kpi.trucks_by_state(phases)
        for st in STATE_NAMES:
            out[f"trucks_{st}"] = float(counts.get(st, 0))
        return out

    def _charging_kw(self, latest: dict[str, Latest], phases: dict[str, str]) -> float:
        """Fleet charging power [kW] from each charging truck's SoC rise."""
        kw = 0.0
        for t, p in phases.items():
            lt = latest.get(t)
            if p != Phase.CHARGE.value or lt is None or lt.prev_soc is None:
                continue
            ts0, soc0 = lt.prev_soc
            h = (lt.ts - ts0) / 3.6e12
            if h > 0 and not math.isnan(lt.soc):
                kw += max(0.0, (lt.soc - soc0) * self.cfg.truck_model(t).battery_kwh / h)
        return kw

    def _match_factor(self, win: list[Cycle]) -> float:
        """Douglas: trucks available x loading time / (loaders x cycle time without
        waiting), from the window's cycles or, before any, from the road network."""
        n_t = len(self.tracker.trackers) - len(self.down)
        n_l = len(self.model.net.of_kind(NodeKind.LOADER))
        if win:
            load = sum(c.durations_s.get("spot", 0.0) + c.durations_s.get("load", 0.0)
                       for c in win) / len(win) / 60.0
            waits = ("queue_load", "queue_dump", "charge", "idle")
            cyc = sum(sum(v for k, v in c.durations_s.items() if k not in waits)
                      for c in win) / len(win) / 60.0
        else:
            load, cyc = self.model.nominal_cycle_min()
        if n_l == 0 or cyc <= 0:
            return math.nan
        return kpi.match_factor(n_t, n_l, load, cyc)

    def breakdown(self) -> dict[str, float]:
        return kpi.cycle_breakdown(c for _, c in self.cycles)
