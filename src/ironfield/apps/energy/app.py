"""The energy app in the running platform: live PV monitoring, site balance, intraday and
day-ahead forecasts, charging plan for the haulage dispatcher and carbon per tonne.

``run`` works in ticks (``live.tick_s``): the heavy parts (historian reads, pvlib, HiGHS)
run in a worker thread; derived values go into the pipeline and events onto the bus.
The pages read the latest :class:`Snapshot`; ``simulate`` is the demo's PV plant.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from pydantic import ValidationError

from ironfield.apps.energy.carbonlive import CarbonTracker, month_of
from ironfield.apps.energy.config import EnergyConfig
from ironfield.apps.energy.dayahead import DayAheadRunner
from ironfield.apps.energy.events import CHARGING_PLAN
from ironfield.apps.energy.intraday import STEP_NS, forecast
from ironfield.apps.energy.live import Frame, LiveProcessor, signal_defs
from ironfield.apps.energy.planner import make_plan
from ironfield.apps.energy.series import FloatArray, last_values, resolve
from ironfield.core.batch import Batch
from ironfield.core.errors import IronfieldError
from ironfield.core.events import Event
from ironfield.core.plant import PlantSpec
from ironfield.core.plugins import AppContext, SimulationContext
from ironfield.core.signals import SignalDef
from ironfield.core.timeutil import NS_PER_MIN, NS_PER_S, now_ns

T = TypeVar("T")
log = logging.getLogger("ironfield.apps.energy")

CARBON = {
    "scope1_t": ("t", "scope 1 (site diesel), month to date"),
    "scope2_location_t": ("t", "scope 2 location-based (grid factor), month to date"),
    "scope2_market_t": ("t", "scope 2 market-based, month to date"),
    "co2_avoided_t": ("t", "avoided vs a diesel fleet on the same haul cycles (location-based), month to date"),
    "ore_t_month": ("t", "ore delivered (haulage tonnes_total), month to date"),
    "co2_location_kg_per_t": ("kg/t", "scope 1 + 2 location-based per tonne of ore, month to date"),
    "co2_market_kg_per_t": ("kg/t", "scope 1 + 2 market-based per tonne of ore, month to date"),
}


def parse_config(section: Mapping[str, Any]) -> EnergyConfig:
    """The plant file's ``apps: {energy: ...}``; errors name each field as a path."""
    try:
        return EnergyConfig.model_validate(dict(section))
    except ValidationError as e:
        msgs = "; ".join(f"apps.energy.{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors())
        raise IronfieldError(msgs) from None


@dataclass
class Snapshot:
    """What the pages show; replaced as a whole after each tick."""

    at_ns: int = 0
    frame: Frame | None = None
    forecast: dict[str, Any] | None = None
    dayahead: dict[str, Any] | None = None
    plan: dict[str, Any] | None = None
    carbon: dict[str, Any] | None = None
    errors: int = 0
    last_error: str = ""
    cpu_s: float = 0.0  # processing CPU time since start [s] (thread time of the ticks)


def plan_pv(cfg: EnergyConfig, start: int, fc: dict[str, Any], da: dict[str, Any] | None) -> tuple[FloatArray, int]:
    """PV per planning period (mid-period) [kW] from ``start``: the intraday p50 for the
    periods within the intraday horizon, then the day-ahead mean up to ``plan_horizon_h``
    while it has a value. Without a day-ahead forecast the plan ends with the intraday
    horizon. Returns (pv, number of intraday periods)."""
    live, period_ns = cfg.live, cfg.charging.period_min * NS_PER_MIN
    n_intra = max(1, int(min(live.forecast_horizon_h, live.plan_horizon_h) * 60 // cfg.charging.period_min))
    n = max(n_intra, int(live.plan_horizon_h * 60 // cfg.charging.period_min))
    mid = start + np.arange(n, dtype=np.int64) * period_ns + period_ns // 2
    fts = np.asarray(fc["ts"], np.int64)
    p50 = np.nan_to_num(np.asarray(fc["p50_kw"], np.float64), nan=0.0)
    pv = np.interp(mid[:n_intra], fts + STEP_NS // 2, p50, left=0.0, right=0.0)
    if n > n_intra and da is not None and da.get("available"):
        dts = np.asarray(da["ts"], np.int64)
        mean = np.asarray(da["mean_kw"], np.float64)
        later = np.interp(mid[n_intra:], dts + STEP_NS // 2, mean, left=np.nan, right=np.nan)
        ok = np.isfinite(later)
        stop = int(np.argmin(ok)) if not ok.all() else len(later)  # up to the first period without a value
        pv = np.concatenate([pv, later[:stop]])
    return pv, n_intra


class EnergyApp:
    name = "energy"

    def __init__(self) -> None:
        self.state = Snapshot()
        self.cfg: EnergyConfig | None = None
        self.carbon: CarbonTracker | None = None
        self._carbon_sent: dict[str, tuple[int, float]] = {}
        self.rated_kw = 0.0
        self.cpu_s = 0.0

    def signals(self, config: Mapping[str, Any], plant: PlantSpec) -> list[SignalDef]:
        cfg = parse_config(config)
        out = cfg.live.out
        defs = [SignalDef(p, unit=u, description=d) for p, u, d in signal_defs(out)]
        defs += [SignalDef(f"{out}/{k}", unit=u, description=d) for k, (u, d) in CARBON.items()]
        return defs

    # -- processing ---------------------------------------------------------------------
    async def run(self, ctx: AppContext) -> None:
        cfg = self.cfg = parse_config(ctx.config)
        proc = LiveProcessor(cfg, ctx.registry, ctx.history)
        da = DayAheadRunner(cfg, ctx.registry, ctx.history, proc.models)
        self.carbon = CarbonTracker(cfg, ctx.registry, ctx.history)
        self.rated_kw = proc.rated_w / 1000.0
        live = cfg.live
        next_fc = next_plan = next_da = 0
        while True:
            now = now_ns()
            snap = Snapshot(at_ns=now, forecast=self.state.forecast, dayahead=self.state.dayahead, plan=self.state.plan,
                            carbon=self.state.carbon, errors=self.state.errors, last_error=self.state.last_error)
            try:
                res = await asyncio.to_thread(self._timed, proc.tick, now)
                for b in res.batches:
                    await ctx.submit(b)
                for e in res.events:
                    ctx.emit(e)
                snap.frame = res.frame
                if now >= next_fc:
                    f = res.frame
                    snap.forecast = await asyncio.to_thread(self._timed, forecast, proc.models, f.ts, f.pv_kw,
                                                            now, live.forecast_horizon_h)
                    next_fc = now + int(live.forecast_every_s * NS_PER_S)
                if now >= next_da:
                    next_da = now + int(live.dayahead_every_s * NS_PER_S)
                    snap.dayahead = await asyncio.to_thread(self._timed, da.run, now)
                if now >= next_plan and snap.forecast is not None:
                    ev, view = await asyncio.to_thread(self._timed, self._plan, ctx, res.frame, snap.forecast,
                                                       snap.dayahead, now)
                    snap.plan = view
                    if ev is not None:
                        ctx.emit(ev)
                        next_plan = now + int(live.plan_every_s * NS_PER_S)
                    else:  # nothing to plan for yet: try again soon
                        next_plan = now + int(min(60.0, live.plan_every_s) * NS_PER_S)
                carbon, batches = await asyncio.to_thread(self._timed, self._carbon, ctx, res.frame, now)
                snap.carbon = carbon
                for b in batches:
                    await ctx.submit(b)
            except (IronfieldError, ValueError, ArithmeticError, KeyError) as e:
                snap.errors += 1
                snap.last_error = f"{type(e).__name__}: {e}"
                log.warning("energy tick failed: %s", snap.last_error)
            snap.cpu_s = self.cpu_s
            self.state = snap
            await asyncio.sleep(live.tick_s)

    def _timed(self, fn: Callable[..., T], *args: Any) -> T:
        t0 = time.thread_time()
        try:
            return fn(*args)
        finally:
            self.cpu_s += time.thread_time() - t0

    def _plan(self, ctx: AppContext, f: Frame, fc: dict[str, Any], da: dict[str, Any] | None,
              now: int) -> tuple[Event | None, dict[str, Any]]:
        cfg = self.cfg
        assert cfg is not None
        trucks = resolve(ctx.registry, cfg.live.truck_soc)
        lv = last_values(ctx.history, ctx.registry, trucks)
        socs = {p.split("/")[-2]: v / 100.0 for p, (_, v) in lv.items() if math.isfinite(v)}
        if not socs:
            return None, {"problem": f"no truck state of charge yet ({cfg.live.truck_soc})"}
        period_ns = cfg.charging.period_min * NS_PER_MIN
        start = -(-now // period_ns) * period_ns
        pv, intraday_n = plan_pv(cfg, start, fc, da)
        charging = f.charging_kw if f.charging_kw is not None else np.zeros(len(f.ts))
        other = f.load_kw - charging
        recent = other[-60:][np.isfinite(other[-60:])]
        other_kw = float(recent.mean()) if len(recent) else 0.0
        peak = float(f.summary.get("peak_demand_kw") or 0.0)
        payload, view = make_plan(cfg, start, socs, pv, max(0.0, other_kw), peak if math.isfinite(peak) else 0.0)
        view["other_load_kw"] = round(other_kw, 1)
        view["pv_source"] = {"intraday_periods": intraday_n, "dayahead_periods": len(pv) - intraday_n}
        view["made_ns"] = now
        return Event.make(CHARGING_PLAN, cfg.live.out, payload, ts=now), view

    def _carbon(self, ctx: AppContext, f: Frame, now: int) -> tuple[dict[str, Any], list[Batch]]:
        cfg, tracker = self.cfg, self.carbon
        assert cfg is not None and tracker is not None
        month = month_of(now, cfg.site.timezone)
        mc, trend, ore_known = tracker.account(month, now - int(cfg.live.settle_s * NS_PER_S))
        values = {"scope1_t": mc.scope1_t, "scope2_location_t": mc.scope2_location_t,
                  "scope2_market_t": mc.scope2_market_t, "co2_avoided_t": mc.avoided_location_t}
        if ore_known:
            values |= {"ore_t_month": mc.ore_t, "co2_location_kg_per_t": mc.intensity_location_kg_per_t,
                       "co2_market_kg_per_t": mc.intensity_market_kg_per_t}
        batches: list[Batch] = []
        for k, v in values.items():
            # written when it changes, and at least once a minute (stamped now: the account
            # covers everything up to now)
            path = f"{cfg.live.out}/{k}"
            last_ts, last_v = self._carbon_sent.get(path, (0, math.nan))
            if math.isfinite(v) and (v != last_v or now - last_ts >= NS_PER_MIN):
                self._carbon_sent[path] = (now, v)
                batches.append(Batch.build(ctx.registry.id(path), now, v))
        view: dict[str, Any] = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in mc.as_dict().items()}
        view |= {"ore_known": ore_known, "trend": trend, "month": month}
        return view, batches

    # -- web and demo -------------------------------------------------------------------
    def web(self) -> Any:
        from ironfield.apps.energy.web import make_web
        return make_web(self)

    async def simulate(self, ctx: SimulationContext) -> None:
        from ironfield.apps.energy.demo import PvPlantSim
        await PvPlantSim(ctx).run()

