"""Site energy balance: where the mine's power came from and where it went.

Power flows are kW on one regular grid (int64 ns UTC). A missing meter sample is NaN and
stays NaN: an interval or a shift touched by a gap reports NaN energy plus the gap, never
an interpolated figure. The trucks' regenerated braking energy stays in their batteries:
it is reported on its own line and is *not* part of the site balance (no site meter sees
it) [3]_.

Ratios follow Luthander et al. 2015 [1]_: self-consumption = PV used on site / PV
produced; self-sufficiency = PV used on site / site consumption. PV stored in the site
battery counts as used on site. Peak demand is the largest mean import over fixed,
clock-aligned windows, which is how a demand meter bills the capacity part of China's
two-part industrial tariff [2]_; the window (15 min by default) is configurable.

.. [1] Luthander, Widen, Nilsson & Palm 2015, "Photovoltaic self-consumption in buildings:
   a review", Applied Energy 142:80-94, eqs. 1-2.
.. [2] NDRC 2023, "关于第三监管周期省级电网输配电价及有关事项的通知" (Fagai Jiage [2023]
   526): two-part tariff with a capacity charge on maximum demand.
.. [3] GHG Protocol Scope 2 Guidance 2015, ch. 5: only energy crossing the reporting
   boundary from the grid is scope 2; energy recovered inside a vehicle is neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from ironfield.apps.energy.checks import (
    BoolArray,
    EnergyInputError,
    Flag,
    FloatArray,
    NsArray,
    flag_missing,
    regular_step_ns,
)
from ironfield.apps.energy.config import ShiftConfig
from ironfield.core.timeutil import NS_PER_DAY, NS_PER_H, NS_PER_MIN


@dataclass(frozen=True)
class SiteFlows:
    """Metered power flows [kW], all on ``ts_ns``; NaN marks a gap. Non-negative values
    (use :func:`split_signed` for a signed meter)."""

    ts_ns: NsArray
    pv_kw: FloatArray
    grid_import_kw: FloatArray
    grid_export_kw: FloatArray
    battery_charge_kw: FloatArray
    battery_discharge_kw: FloatArray
    truck_charging_kw: FloatArray
    truck_regen_kw: FloatArray
    loads_kw: Mapping[str, FloatArray] = field(default_factory=dict)

    def series(self) -> dict[str, FloatArray]:
        out = {
            "pv": self.pv_kw, "grid_import": self.grid_import_kw,
            "grid_export": self.grid_export_kw, "battery_charge": self.battery_charge_kw,
            "battery_discharge": self.battery_discharge_kw,
            "truck_charging": self.truck_charging_kw, "truck_regen": self.truck_regen_kw,
        }
        out.update({f"load:{k}": v for k, v in self.loads_kw.items()})
        return {k: np.asarray(v, np.float64) for k, v in out.items()}

    @property
    def step_h(self) -> float:
        return regular_step_ns(self.ts_ns) / NS_PER_H


def split_signed(power_kw: FloatArray) -> tuple[FloatArray, FloatArray]:
    """A signed meter (positive = into the site / into the battery) as (positive part,
    negative part as positive numbers); NaN stays NaN in both."""
    p = np.asarray(power_kw, np.float64)
    return np.where(p > 0, p, np.where(np.isnan(p), np.nan, 0.0)), np.where(
        p < 0, -p, np.where(np.isnan(p), np.nan, 0.0))


def check_flows(flows: SiteFlows, pv_rating_kw: float | None = None) -> list[Flag]:
    """Gaps, negative readings and PV above its rating, each with its reason."""
    regular_step_ns(flows.ts_ns)
    flags: list[Flag] = []
    n = len(flows.ts_ns)
    for name, s in flows.series().items():
        if len(s) != n:
            raise EnergyInputError(f"{name}: {len(s)} samples, timestamps: {n}")
        flags.append(flag_missing(s, name=name))
        # Meters drift a little around zero; -1 % of the largest reading is noise.
        tol = 0.01 * float(np.nanmax(np.abs(s))) if np.isfinite(s).any() else 0.0
        flags.append(Flag(f"{name} negative (meter sign or wiring fault)", s < -tol))
    if pv_rating_kw is not None:
        flags.append(Flag(f"pv above 120% of rating {pv_rating_kw:g} kW",
                          np.asarray(flows.pv_kw, np.float64) > 1.2 * pv_rating_kw))
    return flags


@dataclass(frozen=True, slots=True)
class IntervalBalance:
    """Per interval [kW]: consumption, PV used on site, and the unmetered residual
    (supply - demand: losses, unmetered loads or a meter fault). NaN where any input is
    missing."""

    consumption_kw: FloatArray
    pv_on_site_kw: FloatArray
    residual_kw: FloatArray
    gap: BoolArray


def interval_balance(flows: SiteFlows) -> IntervalBalance:
    s = flows.series()
    loads = sum((v for k, v in s.items() if k.startswith("load:")), np.zeros(len(flows.ts_ns)))
    consumption = loads + s["truck_charging"]
    supply = s["pv"] + s["grid_import"] + s["battery_discharge"]
    demand = consumption + s["grid_export"] + s["battery_charge"]
    pv_on_site = np.clip(s["pv"] - s["grid_export"], 0.0, None)
    gap = np.zeros(len(flows.ts_ns), dtype=bool)
    for k, v in s.items():
        if k != "truck_regen":
            gap |= ~np.isfinite(v)
    pv_on_site = np.where(gap, np.nan, pv_on_site)
    return IntervalBalance(np.asarray(consumption, np.float64), pv_on_site,
                           np.asarray(supply - demand, np.float64), gap)


def _local(ts_ns: NsArray, tz: str) -> pd.DatetimeIndex:
    ZoneInfo(tz)  # unknown zones fail here with a clear message
    return pd.DatetimeIndex(pd.to_datetime(np.asarray(ts_ns, np.int64), unit="ns", utc=True)
                            ).tz_convert(tz)


def day_labels(ts_ns: NsArray, tz: str) -> list[str]:
    """Local calendar date of each sample (ISO ``YYYY-MM-DD``)."""
    return [str(d) for d in _local(ts_ns, tz).strftime("%Y-%m-%d")]


def shift_labels(ts_ns: NsArray, shifts: list[ShiftConfig], tz: str) -> list[str]:
    """``"<date of shift start> <shift name>"`` for each sample, in local time; a night
    shift that crosses midnight belongs to the date it started."""
    loc = _local(ts_ns, tz)
    minute = np.asarray(loc.hour * 60 + loc.minute, np.int64)
    day = np.asarray(loc.normalize().tz_localize(None).asi8 // NS_PER_DAY, np.int64)
    name = np.full(len(minute), "", dtype=object)
    start_day = day.copy()
    for sh in reversed(shifts):  # the first listed shift wins where shifts overlap
        a = sh.start.hour * 60 + sh.start.minute
        b = sh.end.hour * 60 + sh.end.minute
        if a < b:
            inside = (minute >= a) & (minute < b)
            start_day = np.where(inside, day, start_day)
        else:
            inside = (minute >= a) | (minute < b)
            start_day = np.where(inside, np.where(minute >= a, day, day - 1), start_day)
        name[inside] = sh.name
    if np.any(name == ""):
        i = int(np.flatnonzero(name == "")[0])
        raise EnergyInputError(f"no shift covers {loc[i].isoformat()} (shifts must cover 24 h)")
    dates = pd.to_datetime(start_day * NS_PER_DAY, unit="ns").strftime("%Y-%m-%d")
    return [f"{d} {n}" for d, n in zip(dates, name, strict=True)]


@dataclass(frozen=True, slots=True)
class PeriodEnergy:
    """Energy of one series over one period [kWh]; NaN when a gap touches the period."""

    label: str
    energy_kwh: float
    coverage: float  # share of samples present [-]
    partial_kwh: float  # sum over the samples present: a lower bound, labelled as such


def energy_by_label(power_kw: FloatArray, labels: list[str], step_h: float) -> list[PeriodEnergy]:
    """Energy per label (day, shift) of a power series [kW] sampled every ``step_h`` [h]."""
    p = np.asarray(power_kw, np.float64)
    if len(p) != len(labels):
        raise EnergyInputError(f"{len(p)} samples but {len(labels)} labels")
    out: list[PeriodEnergy] = []
    keys = list(dict.fromkeys(labels))
    lab = np.array(labels, dtype=object)
    for k in keys:
        v = p[lab == k]
        ok = np.isfinite(v)
        part = float(v[ok].sum() * step_h)
        out.append(PeriodEnergy(k, part if ok.all() else float("nan"), float(ok.mean()), part))
    return out


def peak_demand(ts_ns: NsArray, import_kw: FloatArray, window_min: int = 15
                ) -> tuple[float, int, int]:
    """(peak [kW], start of the peak window [ns], windows skipped for gaps).

    Windows are aligned to the clock (00:00, 00:15, ...), as a demand meter integrates;
    a window with any missing sample is skipped and counted rather than guessed.
    """
    ts = np.asarray(ts_ns, np.int64)
    p = np.asarray(import_kw, np.float64)
    w = window_min * NS_PER_MIN
    need = max(1, w // regular_step_ns(ts))
    win = ts // w
    first = int(win[0])
    k = win - first
    ok = np.isfinite(p)
    total = np.bincount(k, np.where(ok, p, 0.0))
    count = np.bincount(k)
    good = np.bincount(k, ok.astype(np.float64))
    full = (count >= need) & (good == count) & (count > 0)
    skipped = int(np.sum((count > 0) & ~full))
    if not full.any():
        return float("nan"), 0, skipped
    mean = np.where(full, total / np.maximum(count, 1), -np.inf)
    best = int(np.argmax(mean))
    return float(mean[best]), int((best + first) * w), skipped


@dataclass(frozen=True, slots=True)
class BalanceSummary:
    """Totals over a period [kWh], ratios [-] and peak [kW]. Ratios and peak use only the
    gap-free intervals; ``coverage`` says how many that was."""

    energy_kwh: dict[str, float]
    truck_regen_kwh: float  # inside the trucks: not a site flow, reported separately
    self_consumption: float
    self_sufficiency: float
    peak_import_kw: float
    peak_at_ns: int
    coverage: float
    gaps: int


def summarize(flows: SiteFlows, demand_window_min: int = 15) -> BalanceSummary:
    ib = interval_balance(flows)
    dt = flows.step_h
    ok = ~ib.gap
    energy: dict[str, float] = {}
    for k, v in flows.series().items():
        if k == "truck_regen":
            continue
        energy[k] = float(v.sum() * dt) if np.isfinite(v).all() else float("nan")
    pv = float(np.asarray(flows.pv_kw)[ok].sum() * dt)
    used = float(ib.pv_on_site_kw[ok].sum() * dt)
    cons = float(ib.consumption_kw[ok].sum() * dt)
    regen = np.asarray(flows.truck_regen_kw, np.float64)
    peak, at, _ = peak_demand(flows.ts_ns, flows.grid_import_kw, demand_window_min)
    return BalanceSummary(
        energy_kwh=energy,
        truck_regen_kwh=float(regen.sum() * dt) if np.isfinite(regen).all() else float("nan"),
        self_consumption=used / pv if pv > 0 else float("nan"),
        self_sufficiency=used / cons if cons > 0 else float("nan"),
        peak_import_kw=peak, peak_at_ns=at,
        coverage=float(ok.mean()), gaps=int(ib.gap.sum()),
    )


def tariff_minutes(ts_ns: NsArray, tz: str) -> FloatArray:
    """Local minute of the day of each sample (for :meth:`TariffConfig.price_at_minute`)."""
    loc = _local(ts_ns, tz)
    return np.asarray(loc.hour * 60 + loc.minute, np.float64)
