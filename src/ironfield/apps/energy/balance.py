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
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

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
from ironfield.core.timeutil import NS_PER_H, NS_PER_MIN, NS_PER_S


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


def day_labels(ts_ns: NsArray, tz: str) -> list[str]:
    """Local calendar date of each sample (ISO ``YYYY-MM-DD``)."""
    z = ZoneInfo(tz)
    return [datetime.fromtimestamp(int(t) / NS_PER_S, z).date().isoformat()
            for t in np.asarray(ts_ns, np.int64)]


def shift_labels(ts_ns: NsArray, shifts: list[ShiftConfig], tz: str) -> list[str]:
    """``"<date of shift start> <shift name>"`` for each sample, in local time; a night
    shift that crosses midnight belongs to the date it started."""
    z = ZoneInfo(tz)
    out = []
    for t in np.asarray(ts_ns, np.int64):
        dt = datetime.fromtimestamp(int(t) / NS_PER_S, z)
        tod = dt.time()
        label = ""
        for sh in shifts:
            if sh.start < sh.end:
                if sh.start <= tod < sh.end:
                    label = f"{dt.date().isoformat()} {sh.name}"
            elif tod >= sh.start or tod < sh.end:
                start_date = dt.date() if tod >= sh.start else dt.date() - timedelta(days=1)
                label = f"{start_date.isoformat()} {sh.name}"
            if label:
                break
        if not label:
            raise EnergyInputError(f"no shift covers {dt.isoformat()} (shifts must cover 24 h)")
        out.append(label)
    return out


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
    win = ts // w
    best, best_t, skipped = float("nan"), 0, 0
    step = regular_step_ns(ts)
    need = max(1, w // step)
    for k in np.unique(win):
        v = p[win == k]
        if len(v) < need or not np.isfinite(v).all():
            skipped += 1
            continue
        m = float(v.mean())
        if not best >= m:  # also true while best is NaN
            best, best_t = m, int(k * w)
    return best, best_t, skipped


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
    z = ZoneInfo(tz)
    out = np.empty(len(ts_ns))
    for i, t in enumerate(np.asarray(ts_ns, np.int64)):
        lt: time = datetime.fromtimestamp(int(t) / NS_PER_S, z).time()
        out[i] = lt.hour * 60 + lt.minute
    return out
