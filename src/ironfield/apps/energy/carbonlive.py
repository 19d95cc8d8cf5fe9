"""Carbon month to date (and any past month, for the report) from the historian.

Per local day: grid import/export, PV, fleet charging [kWh] as sums over the 1-min means
present (a gap lowers ``coverage``, it is not filled), regeneration from the haulage
counter; ore from the haulage app's ``tonnes_total`` counter (last in the period minus last
before it); the diesel baseline from its ``haulage.cycle`` events with the cycle geometry
of the plant file. Without a tonnes counter the per-tonne intensities are absent, not 0.
Completed days are computed once and cached.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from ironfield.apps.energy.carbon import (
    HaulCycles,
    MonthInputs,
    MonthlyCarbon,
    grid_share_of,
    monthly_account,
)
from ironfield.apps.energy.config import EnergyConfig
from ironfield.apps.energy.series import kw_scale, minute_grid, minute_means, resolve, total
from ironfield.core.signals import SignalRegistry
from ironfield.core.timeutil import NS_PER_H, NS_PER_S

CYCLE = "haulage.cycle"


@dataclass(frozen=True)
class DayTotals:
    day: str
    start_ns: int
    grid_import_kwh: float
    grid_export_kwh: float
    pv_kwh: float
    charging_kwh: float
    charging_grid_kwh: float  # the part of charging met by the grid (pro rata)
    coverage: float  # share of minutes with meter and PV data [-]


def month_bounds(month: str, tz: str) -> tuple[int, int]:
    """Local month ``YYYY-MM`` as [start, end) in ns."""
    try:
        y, m = (int(x) for x in month.split("-"))
        a = dt.datetime(y, m, 1, tzinfo=ZoneInfo(tz))
    except ValueError as e:
        raise ValueError(f"month must be YYYY-MM, got {month!r}") from e
    b = dt.datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=ZoneInfo(tz))
    return int(a.timestamp()) * NS_PER_S, int(b.timestamp()) * NS_PER_S


def month_of(ts_ns: int, tz: str) -> str:
    return dt.datetime.fromtimestamp(ts_ns / NS_PER_S, ZoneInfo(tz)).strftime("%Y-%m")


class CarbonTracker:
    def __init__(self, cfg: EnergyConfig, registry: SignalRegistry, history: Any) -> None:
        self.cfg, self.registry, self.history = cfg, registry, history
        self.days: dict[str, DayTotals] = {}

    def _days(self, a: int, b: int) -> list[tuple[str, int, int]]:
        tz = ZoneInfo(self.cfg.site.timezone)
        d = dt.datetime.fromtimestamp(a / NS_PER_S, tz).date()
        out: list[tuple[str, int, int]] = []
        while True:
            s = int(dt.datetime(d.year, d.month, d.day, tzinfo=tz).timestamp()) * NS_PER_S
            if s >= b:
                return out
            nd = d + dt.timedelta(days=1)
            e = int(dt.datetime(nd.year, nd.month, nd.day, tzinfo=tz).timestamp()) * NS_PER_S
            out.append((d.isoformat(), s, min(e, b)))
            d = nd

    def day_totals(self, day: str, a: int, b: int) -> DayTotals:
        live, reg = self.cfg.live, self.registry
        ts = minute_grid(a, b)
        inv = resolve(reg, live.inverter_power)
        charging = f"{live.haulage}/charging_kw"
        m = minute_means(self.history, reg, [*inv, live.grid_import, live.grid_export, charging], ts)
        n = len(ts)
        nan = np.full(n, np.nan)
        pv = total([m[p] * kw_scale(reg, p) for p in inv], n)
        imp = m.get(live.grid_import, nan)
        exp = m.get(live.grid_export, nan)
        ch = m.get(charging, np.zeros(n))
        cons = pv + imp - exp
        h = 1.0 / 60.0
        share = grid_share_of(ch, imp, cons)
        ch_kwh = float(np.nansum(ch) * h)
        ok = np.isfinite(cons)
        return DayTotals(day, a, float(np.nansum(imp) * h), float(np.nansum(exp) * h), float(np.nansum(pv) * h),
                         ch_kwh, ch_kwh * share, float(ok.mean()) if n else 0.0)

    def _counter_delta(self, path: str, a: int, b: int) -> float | None:
        """Increase of a counter over [a, b): last in it - last before it (or first in it)."""
        if path not in self.registry:
            return None
        sid = self.registry.id(path)
        tab = self.history.aggregate([sid], a - 7 * 24 * NS_PER_H, b, NS_PER_H)
        if tab.num_rows == 0:
            return None
        bucket = tab.column("bucket").to_numpy()
        last = tab.column("last").to_numpy(zero_copy_only=False).astype(np.float64)
        first = tab.column("first").to_numpy(zero_copy_only=False).astype(np.float64)
        inside = (bucket >= a) & (bucket < b)
        if not inside.any():
            return None
        before = last[bucket < a]
        base = float(before[-1]) if len(before) else float(first[inside][0])
        return max(0.0, float(last[inside][-1]) - base)

    def account(self, month: str, now: int) -> tuple[MonthlyCarbon, list[dict[str, Any]], bool]:
        """The month's account (to ``now`` for the current month), its days, and whether
        ore was known (per-tonne figures are NaN otherwise)."""
        cfg, live = self.cfg, self.cfg.live
        a, b = month_bounds(month, cfg.site.timezone)
        b = min(b, now)
        days: list[DayTotals] = []
        for day, s, e in self._days(a, b):
            full = e - s >= 23 * NS_PER_H and e <= now - NS_PER_H
            if full and day in self.days:
                days.append(self.days[day])
                continue
            t = self.day_totals(day, s, e)
            if full:
                self.days[day] = t
            days.append(t)
        tonnes = f"{live.haulage}/tonnes_total"
        regen = self._counter_delta(f"{live.haulage}/regen_kwh_total", a, b)
        ore = self._counter_delta(tonnes, a, b)
        cycles = self.history.events(a, b, types=[CYCLE], limit=1_000_000) if b > a else []
        pay = np.array([float(e.payload.get("tonnes", 0.0)) for e in cycles])
        hours = np.array([(int(e.payload.get("end_ts", e.ts)) - int(e.payload.get("start_ts", e.ts))) / NS_PER_H
                          for e in cycles])
        n = len(cycles)
        hc = HaulCycles(pay, np.full(n, live.empty_mass_t), np.full(n, live.loaded_km), np.full(n, live.empty_km),
                        np.full(n, live.loaded_rise_m), np.full(n, live.empty_rise_m), np.clip(hours, 0.0, None))
        charging = sum(d.charging_kwh for d in days)
        grid_ch = sum(d.charging_grid_kwh for d in days)
        minutes = sum(d.coverage * (min(b, d.start_ns + 24 * NS_PER_H) - d.start_ns) for d in days)
        span = sum(min(b, d.start_ns + 24 * NS_PER_H) - d.start_ns for d in days)
        mi = MonthInputs(
            month=month, ore_t=ore or 0.0, diesel_l=live.diesel_l_per_day * len(days),
            grid_import_kwh=sum(d.grid_import_kwh for d in days),
            grid_export_kwh=sum(d.grid_export_kwh for d in days), pv_kwh=sum(d.pv_kwh for d in days),
            certificates_kwh=0.0, truck_charging_kwh=charging, truck_regen_kwh=regen or 0.0,
            truck_grid_share=grid_ch / charging if charging > 0 else 0.0,
            diesel_baseline_l=hc.diesel_baseline_l() if n else 0.0,
            coverage=minutes / span if span else 0.0)
        mc = monthly_account(mi, cfg.carbon)
        loc, mkt = cfg.carbon.location_factor(), cfg.carbon.market_factor()
        trend = []
        for d in days:
            ore_d = self._counter_delta(tonnes, d.start_ns, min(b, d.start_ns + 24 * NS_PER_H))
            s2 = d.grid_import_kwh * loc / 1000.0
            trend.append({"day": d.day, "start_ns": d.start_ns, "grid_import_kwh": round(d.grid_import_kwh, 2),
                          "pv_kwh": round(d.pv_kwh, 2), "scope2_location_t": round(s2, 4),
                          "scope2_market_t": round(d.grid_import_kwh * mkt / 1000.0, 4),
                          "ore_t": ore_d, "coverage": round(d.coverage, 4),
                          "kg_per_t": round(s2 * 1000.0 / ore_d, 4) if ore_d else None})
        return mc, trend, ore is not None and ore > 0
