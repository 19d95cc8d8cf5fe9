"""The app's processing inside the platform: telemetry from the bus to cycles, KPIs and
dispatch decisions sent down through write-back.

One loop: batches of truck telemetry (and ``energy.charging_plan`` events) come off the
bus; every ``kpi_period_s`` the KPIs go into the pipeline as ``<site>/haulage/...``
values. Decisions are written as ``<site>/<area>/<truck>/dispatch_to`` commands (the
node's code in that signal's states) in tasks of their own, so a slow broker never holds
up tracking. Counters continue from the historian's last values after a restart.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from typing import Any

import numpy as np

from ironfield.apps.haulage.dispatch import LiveDispatch
from ironfield.apps.haulage.ingest import SampleAssembler
from ironfield.apps.haulage.live import LiveFleet
from ironfield.apps.haulage.model import MineModel
from ironfield.apps.haulage.settings import TELEMETRY, AppSettings, split
from ironfield.apps.haulage.tracking import Sample
from ironfield.core.batch import Batch
from ironfield.core.errors import IronfieldError
from ironfield.core.events import Event
from ironfield.core.plugins import AppContext, Command
from ironfield.core.timeutil import now_ns

log = logging.getLogger("ironfield.apps.haulage")
COUNTERS = ("tonnes_total", "traction_kwh_total", "regen_kwh_total", "cycles_total")
PLAN_EVENT = "energy.charging_plan"


class Runner:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.settings, self.cfg = split(ctx.config)
        s: AppSettings = self.settings
        self.root = f"{s.site}/haulage"
        self.model = MineModel(self.cfg)
        self.fleet = LiveFleet(s, self.cfg, self.model)
        self.ingest = SampleAssembler(ctx.registry, s.site, s.area)
        self.dispatch = LiveDispatch(self.model, self.fleet, now_ns())
        self.decisions: deque[dict[str, Any]] = deque(maxlen=30)
        self.kpis: dict[str, float] = {}
        self.lagged = 0
        self._tasks: set[asyncio.Task[None]] = set()
        # loader status signals: sid -> loader (paths checked against the plant at open)
        self.loader_sids = {ctx.registry.id(sig): ld for ld, sig in s.loader_status.items()}
        self._status_ids = np.fromiter(self.loader_sids, np.int32, len(self.loader_sids))
        missing = [t.id for t in self.cfg.trucks if t.id not in self.ingest.trucks()]
        if missing:
            log.warning("haulage: trucks with no telemetry signals under %s/%s: %s",
                        s.site, s.area, missing)

    # --- main loop ---------------------------------------------------------------------
    async def run(self) -> None:
        self._restore_counters()
        self.dispatch.replan_if_needed(now_ns())
        period = self.settings.kpi_period_s
        with self.ctx.bus.subscribe(maxsize=4096, policy="lag", signals=self._signal_ids(),
                                    events=True,
                                    event_filter=lambda e: e.type == PLAN_EVENT) as sub:
            next_tick = time.monotonic()
            while True:
                wait = next_tick - time.monotonic()
                if wait <= 0:
                    if self.ingest.refresh():
                        sub.set_signals(self._signal_ids())
                    self._samples(self.ingest.ready())
                    self._handle(*self.fleet.flush_quiet(time.monotonic()))
                    await self._tick()
                    next_tick = time.monotonic() + period
                    continue
                try:
                    async with asyncio.timeout(wait):
                        item = await sub.get()
                except TimeoutError:
                    continue
                if isinstance(item, Batch):
                    if len(self._status_ids):
                        self._loader_status(item)
                    self.ingest.add(item)
                    self._samples(self.ingest.ready())
                elif isinstance(item, Event):
                    self._charging_plan(item)
                else:
                    self.lagged += item.dropped
                    log.warning("haulage fell behind the bus: %d items dropped", item.dropped)

    def _signal_ids(self) -> set[int]:
        return set(self.ingest.signal_ids) | set(self.loader_sids)

    def _loader_status(self, batch: Batch) -> None:
        """Loaders going down or back up, from their status signals (in time order; a
        value of bad quality or not a number says nothing about the loader)."""
        rows = np.flatnonzero(np.isin(batch.signal, self._status_ids))
        if not len(rows):
            return
        for i in rows[np.argsort(batch.ts[rows], kind="stable")]:
            v, q = float(batch.value[i]), int(batch.quality[i])
            if not math.isfinite(v) or (q & 0xC0) == 0:
                continue
            loader = self.loader_sids[int(batch.signal[i])]
            if self.dispatch.set_loader(loader, v >= 0.5):
                self._loader_changed(loader, v >= 0.5, int(batch.ts[i]))

    def _loader_changed(self, loader: str, up: bool, ts: int) -> None:
        now = self.fleet.clock(now_ns())
        self.dispatch.replan_if_needed(now)
        redirected: list[str] = []
        if not up and self.settings.dispatch:
            for truck in self.dispatch.bound_for(loader):
                self.dispatch.sent.pop(truck, None)
                self._decide(truck, "loader", en_route=True)
                redirected.append(truck)
        plan = self.dispatch.plan
        self.ctx.emit(Event.make(
            "haulage.loader_up" if up else "haulage.loader_down",
            f"{self.settings.site}/haulage/{loader}",
            {"loader": loader, "signal": self.settings.loader_status[loader],
             "plan_tph": round(plan.total_tph, 1) if plan is not None else 0.0,
             "loaders_down": sorted(self.dispatch.loaders_down), "redirected": redirected}, ts=ts))
        log.info("haulage: loader %s %s; plan %.0f t/h; redirected %s", loader,
                 "back up" if up else "down", plan.total_tph if plan else 0.0, redirected or "none")

    def _restore_counters(self) -> None:
        h = self.ctx.history
        if h is None:
            return
        ids = [self.ctx.registry.id(f"{self.root}/{n}") for n in COUNTERS]
        try:
            last = h.last(ids)
        except Exception as e:  # a historian that cannot answer: start from zero
            log.warning("haulage: cannot read counters back (%s); starting from 0", e)
            return
        vals = {int(s): float(v) for s, v in zip(last.signal, last.value, strict=True)}
        f = self.fleet
        for name, sid in zip(COUNTERS, ids, strict=True):
            v = vals.get(sid)
            if v is not None and math.isfinite(v):
                if name == "cycles_total":
                    f.cycles_total = int(v)
                else:
                    setattr(f, name, v)

    # --- samples and decisions ---------------------------------------------------------
    def _samples(self, samples: list[Sample]) -> None:
        wall = time.monotonic()
        for smp in samples:
            self._handle(*self.fleet.push(smp, self.ingest.latest.get(smp.truck), wall))

    def _handle(self, events: list[Event], due: list[tuple[str, str]]) -> None:
        for ev in events:
            self.ctx.emit(ev)
        for truck, what in due:
            if what == "arrived":
                self.dispatch.arrived(truck)
            elif self.settings.dispatch:
                self._decide(truck, what)

    def _decide(self, truck: str, what: str, en_route: bool = False) -> None:
        now = self.fleet.clock(now_ns())
        tr = self.fleet.tracker.trackers.get(truck)
        ts = tr.last.ts if tr is not None and tr.last is not None else now
        asset = f"{self.settings.site}/{self.settings.area}/{truck}"
        try:
            dec = self.dispatch.decide(truck, what, now, self.ingest.latest, en_route=en_route)
        except IronfieldError as e:
            self._failed(asset, truck, what, str(e), ts)
            return
        except Exception as e:  # a bug for one truck must not stop tracking the fleet
            log.exception("haulage: dispatch of %s failed", truck)
            self._failed(asset, truck, what, f"{type(e).__name__}: {e}", ts)
            return
        code = self.ingest.code_of(truck, "dest", dec.dest)
        if code is None:
            self._failed(asset, truck, what,
                         f"{asset}/{TELEMETRY['dest']} has no state for {dec.dest!r}", ts)
            return
        task = asyncio.create_task(self._send(truck, asset, dec.dest, dec.kind, dec.reason, code, ts))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _failed(self, asset: str, truck: str, what: str, reason: str, ts: int) -> None:
        ev = Event.make("haulage.dispatch_failed", asset, {"truck": truck, "for": what,
                                                          "reason": reason}, ts=ts)
        if self.fleet.let_through(ev):  # at most one a minute per truck
            self.ctx.emit(ev)

    async def _send(self, truck: str, asset: str, dest: str, kind: str, reason: str, code: int,
                    ts: int) -> None:
        signal = f"{asset}/{TELEMETRY['dest']}"
        res = await self.ctx.command(Command(signal=signal, value=float(code),
                                             user="haulage-dispatch",
                                             reason=f"{kind} {dest}: {reason}"))
        payload = {"truck": truck, "to": dest, "reason": reason, "kind": kind,
                   "status": res.status, "message": res.message}
        self.decisions.appendleft({"ts": ts, **payload})
        self.ctx.emit(Event.make("haulage.dispatch", asset, payload, ts=ts))

    def _charging_plan(self, ev: Event) -> None:
        problems = self.dispatch.charging_plan(ev.payload)
        for p in problems:
            self.ctx.emit(Event.make("haulage.charging_plan_rejected", ev.asset,
                                     {"plan_event": ev.id, "problem": p}))

    # --- KPIs --------------------------------------------------------------------------
    async def _tick(self) -> None:
        now = self.fleet.clock(now_ns())
        self.dispatch.replan_if_needed(now)
        k = self.fleet.tick(now, self.ingest.latest, self.dispatch.plan_tph, self.dispatch.loaders_down)
        self.kpis = k
        names = [n for n, v in k.items() if math.isfinite(v)]
        if not names:
            return
        ids = [self.ctx.registry.id(f"{self.root}/{n}") for n in names]
        await self.ctx.submit(Batch.build(np.asarray(ids), now, np.asarray([k[n] for n in names])))

    # --- for the pages -----------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        trucks = []
        for t in self.fleet.tracker.trackers:
            lt = self.ingest.latest.get(t)
            tr = self.fleet.tracker.trackers[t]
            sent = self.dispatch.sent.get(t)
            trucks.append({
                "id": t, "phase": self.fleet.phase_of(t), "zone": tr.zone,
                "ts": lt.ts if lt else None,
                "x": _num(lt.x) if lt else None, "y": _num(lt.y) if lt else None,
                "speed_kmh": _num(lt.speed * 3.6) if lt else None,
                "payload_t": _num(lt.payload) if lt else None,
                "soc": _num(lt.soc) if lt else None,
                "to": sent.dest if sent else (lt.dest if lt else None)})
        return {"ts": self.fleet.clock(now_ns()), "trucks": trucks,
                "decisions": list(self.decisions)[:12],
                "kpis": {k: _num(v) for k, v in self.kpis.items()},
                "plan": {f"{a}->{b}": round(v, 1) for (a, b), v in
                         (self.dispatch.plan.flows_tph.items() if self.dispatch.plan else [])
                         if v > 0.05},
                "plan_conflicts": list(self.dispatch.plan.conflicts) if self.dispatch.plan else [],
                "loaders_down": sorted(self.dispatch.loaders_down),
                "breakdown_min": {k: round(v, 2) for k, v in self.fleet.breakdown().items()},
                "cycles": list(self.fleet.recent_cycles)[:10],
                "faults_suppressed": self.fleet.suppressed,
                "incomplete_samples": self.ingest.dropped_no_position}

    def layout(self) -> dict[str, Any]:
        net = self.model.net
        return {"nodes": [{"id": n.id, "kind": n.kind.value, "x": n.x_m, "y": n.y_m, "z": n.z_m,
                           "r": n.radius_m} for n in net.nodes.values()],
                "segments": [{"a": s.a, "b": s.b, "name": s.name} for s in self.cfg.segments]}


def _num(v: float) -> float | None:
    return round(float(v), 4) if v is not None and math.isfinite(v) else None
