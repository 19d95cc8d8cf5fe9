"""Live PV monitoring and site balance: one pass over the app's window per tick.

Each tick reads the inputs as 1-min means from the historian (:mod:`.series`), computes
expected PV power from measured irradiance and module temperature (pvlib, :mod:`.pvmodel`),
the performance ratio so far today (IEC 61724-1), loss events per inverter
(:mod:`.performance`) and the site balance (:mod:`.balance`), and returns the derived
values not yet written (each minute of each signal is written once, when it has settled)
and the loss events not yet emitted. Minutes without meter data produce no balance rows:
the gap stays a gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from ironfield.apps.energy import balance as bal
from ironfield.apps.energy.checks import (
    Flag,
    combine,
    flag_irradiance,
    flag_power,
    flag_temperature,
    summary,
)
from ironfield.apps.energy.config import EnergyConfig
from ironfield.apps.energy.events import PV_LOSS, PvLossPayload
from ironfield.apps.energy.performance import LossThresholds, detect_losses
from ironfield.apps.energy.pvmodel import build_plant, cell_temperature, expected_ac_power
from ironfield.apps.energy.series import (
    FloatArray,
    NsArray,
    kw_scale,
    minute_grid,
    minute_means,
    resolve,
    total,
)
from ironfield.core.batch import Batch
from ironfield.core.events import Event
from ironfield.core.quality import Quality
from ironfield.core.signals import SignalRegistry, parent
from ironfield.core.timeutil import NS_PER_H, NS_PER_MIN, NS_PER_S

SUNSPEC_FAULT = 7.0  # SunSpec inverter model St: 7 = FAULT

# derived signals: name -> (unit, description)
PER_MINUTE = {
    "pv_expected_kw": ("kW", "PV AC power expected from measured POA irradiance and module temperature (pvlib)"),
    "pv_actual_kw": ("kW", "PV AC power reported by the inverters (sum)"),
    "performance_ratio": ("1", "IEC 61724-1 performance ratio, local day so far"),
    "grid_import_kw": ("kW", "grid import (meter)"),
    "grid_export_kw": ("kW", "grid export (meter)"),
    "load_kw": ("kW", "site consumption = PV + import - export"),
}
PER_DAY = {
    "self_consumption": ("1", "share of PV used on site, local day so far"),
    "self_sufficiency": ("1", "share of consumption met by own PV, local day so far"),
    "peak_demand_kw": ("kW", "largest 15-min mean import, local day so far"),
    "pv_kwh_today": ("kWh", "PV energy, local day so far (uncertain quality: partial, a gap)"),
    "grid_import_kwh_today": ("kWh", "grid import, local day so far"),
    "grid_export_kwh_today": ("kWh", "grid export, local day so far"),
    "load_kwh_today": ("kWh", "site consumption, local day so far"),
    "truck_charging_kwh_today": ("kWh", "fleet charging (haulage charging_kw), local day so far"),
    "truck_regen_kwh_today": ("kWh", "regenerated in the trucks (stays in their batteries), local day so far"),
}


def local_midnight(ts_ns: int, tz: str) -> int:
    import datetime as dt
    d = dt.datetime.fromtimestamp(ts_ns / NS_PER_S, ZoneInfo(tz))
    return int(d.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()) * NS_PER_S


@dataclass
class Frame:
    """The window as minute grids [kW, W/m2, degC], NaN where nothing arrived."""

    ts: NsArray
    pv_kw: FloatArray
    expected_kw: FloatArray
    poa: FloatArray
    tmod: FloatArray
    imp: FloatArray
    exp: FloatArray
    load_kw: FloatArray
    charging_kw: FloatArray | None  # None: the haulage app writes no charging_kw
    fixed: dict[str, FloatArray]
    inverters: dict[str, FloatArray]
    pr: FloatArray
    day_start: int
    summary: dict[str, Any] = field(default_factory=dict)
    shifts: list[dict[str, Any]] = field(default_factory=list)
    losses: list[dict[str, Any]] = field(default_factory=list)
    flags: dict[str, int] = field(default_factory=dict)  # minutes left out, per reason


@dataclass
class TickResult:
    frame: Frame
    batches: list[Batch]
    events: list[Event]


class LiveProcessor:
    def __init__(self, cfg: EnergyConfig, registry: SignalRegistry, history: Any) -> None:
        self.cfg, self.registry, self.history = cfg, registry, history
        self.models = build_plant(list(cfg.pv.arrays), cfg.site)
        self.rated_w = sum(m.ac_rating_w for m in self.models)
        self.p_stc_w = sum(m.dc_rating_w for m in self.models)
        self.expected: dict[int, float] = {}  # minute -> expected AC [W]
        self.sent: dict[str, set[int]] = {}
        self.loss_keys: set[tuple[str, str, int]] = set()
        self.seeded = False

    def out(self, name: str) -> str:
        return f"{self.cfg.live.out}/{name}"

    # -- helpers ------------------------------------------------------------------------
    def _seed(self, start: int, end: int) -> None:
        """What an earlier run already wrote and emitted (so a restart repeats nothing)."""
        names = [self.out(n) for n in (*PER_MINUTE, *PER_DAY)]
        ids = [self.registry.id(p) for p in names if p in self.registry]
        if ids:
            b = self.history.raw(ids, start, end + NS_PER_MIN)
            for s, t in zip(b.signal, b.ts, strict=True):
                self.sent.setdefault(self.registry.path(int(s)), set()).add(int(t))
        for e in self.history.events(start - 2 * NS_PER_H, end + NS_PER_H, types=[PV_LOSS], limit=100_000):
            self.loss_keys.add((e.asset, str(e.payload.get("kind")), int(e.payload.get("start_ns", 0))))
        self.seeded = True

    def _rows(self, name: str, ts: NsArray, v: FloatArray, quality: int = Quality.GOOD) -> Batch | None:
        path = self.out(name)
        sent = self.sent.setdefault(path, set())
        keep = np.isfinite(v) & np.fromiter((int(t) not in sent for t in ts), bool, len(ts))
        if not keep.any():
            return None
        sent.update(int(t) for t in ts[keep])
        return Batch.build(self.registry.id(path), ts[keep], v[keep], quality)

    def _expected_w(self, ts: NsArray, poa: FloatArray, tmod: FloatArray) -> FloatArray:
        ok = np.isfinite(poa) & np.isfinite(tmod)
        need = np.flatnonzero(ok & np.fromiter((int(t) not in self.expected for t in ts), bool, len(ts)))
        if len(need):
            arr = self.cfg.pv.arrays[0]
            tc = cell_temperature(poa[need], module_temp_c=tmod[need], model=arr.temperature_model)
            e = np.zeros(len(need))
            for mdl in self.models:  # one POA sensor: every array assumed in its plane
                e += expected_ac_power(mdl, ts[need], poa[need], tc)
            self.expected.update(zip((int(t) for t in ts[need]), e.tolist(), strict=True))
        return np.array([self.expected.get(int(t), np.nan) for t in ts])

    # -- the tick -----------------------------------------------------------------------
    def tick(self, now: int) -> TickResult:
        live, reg = self.cfg.live, self.registry
        end = now - int(live.settle_s * NS_PER_S)
        start = end - int(live.window_h * NS_PER_H)
        ts = minute_grid(start, end)
        if not self.seeded:
            self._seed(int(ts[0]) if len(ts) else start, end)
        inv = resolve(reg, live.inverter_power)
        status = resolve(reg, live.inverter_status)
        fixed = {k: resolve(reg, g) for k, g in live.fixed_loads.items()}
        hp = live.haulage
        charging_path, regen_path = f"{hp}/charging_kw", f"{hp}/regen_kwh_total"
        paths = [*inv, *status, live.poa_irradiance, live.module_temp, live.grid_import,
                 live.grid_export, charging_path, *(p for ps in fixed.values() for p in ps)]
        m = minute_means(self.history, reg, paths, ts)
        n = len(ts)
        nan = np.full(n, np.nan)
        inv_kw = {p: m[p] * kw_scale(reg, p) for p in inv}
        pv = total(list(inv_kw.values()), n)
        poa, tmod = m.get(live.poa_irradiance, nan), m.get(live.module_temp, nan)
        imp = m.get(live.grid_import, nan) * (kw_scale(reg, live.grid_import) if live.grid_import in reg else 1)
        exp = m.get(live.grid_export, nan) * (kw_scale(reg, live.grid_export) if live.grid_export in reg else 1)
        # out of physical range: flagged with the reason and left out (a gap), never used
        flags = [*flag_irradiance(poa, name=live.poa_irradiance),
                 *flag_temperature(tmod, name=live.module_temp),
                 *flag_power(pv * 1000.0, self.rated_w, name="PV AC power (sum of the inverters)"),
                 Flag(f"{live.grid_import} or {live.grid_export} negative (the meter's flows are "
                      "non-negative)", (imp < 0) | (exp < 0))]
        bad_poa, _ = combine(flags[:2], n)
        bad_t, _ = combine(flags[2:3], n)
        bad_pv, _ = combine(flags[3:5], n)
        bad_meter = flags[5].mask
        poa, tmod = np.where(bad_poa, np.nan, poa), np.where(bad_t, np.nan, tmod)
        pv = np.where(bad_pv, np.nan, pv)
        imp, exp = np.where(bad_meter, np.nan, imp), np.where(bad_meter, np.nan, exp)
        load = pv + imp - exp
        exp_w = self._expected_w(ts, poa, tmod) if n else nan
        charging = m.get(charging_path)
        fixed_kw = {k: total([m[p] * kw_scale(reg, p) for p in ps], n) for k, ps in fixed.items() if ps}
        tz = self.cfg.site.timezone
        day_start = local_midnight(now, tz)
        pr = self._pr(ts, pv, poa, tz) if n else nan
        frame = Frame(ts, pv, exp_w / 1000.0, poa, tmod, imp, exp, load, charging, fixed_kw, inv_kw,
                      pr, day_start, flags=summary(flags))
        batches = [b for b in (
            self._rows("pv_expected_kw", ts, exp_w / 1000.0),
            self._rows("pv_actual_kw", ts, pv),
            self._rows("performance_ratio", ts, np.where(poa > 20.0, pr, np.nan)),
            self._rows("grid_import_kw", ts, imp),
            self._rows("grid_export_kw", ts, exp),
            self._rows("load_kw", ts, load),
        ) if b is not None]
        events = self._losses(ts, exp_w, tmod, inv_kw, m, status, frame)
        if n >= 2:
            batches += self._day(frame, regen_path, now)
        self._prune(int(ts[0]) if n else start)
        return TickResult(frame, batches, events)

    def _pr(self, ts: NsArray, pv: FloatArray, poa: FloatArray, tz: str) -> FloatArray:
        """Day-to-date PR at each minute: sum(P)/P_stc over sum(G)/1000 of the local day's
        intervals with both values (IEC 61724-1 sec. 10.3)."""
        ok = np.isfinite(pv) & np.isfinite(poa)
        p = np.where(ok, pv * 1000.0, 0.0)
        g = np.where(ok, np.clip(poa, 0.0, None), 0.0)
        days = np.asarray(bal.day_labels(ts, tz))
        out = np.full(len(ts), np.nan)
        for d in np.unique(days):
            sel = days == d
            cp, cg = np.cumsum(p[sel]), np.cumsum(g[sel])
            with np.errstate(invalid="ignore", divide="ignore"):
                out[sel] = np.where(cg > 0, (cp / self.p_stc_w) / (cg / 1000.0), np.nan)
        return out

    def _losses(self, ts: NsArray, exp_w: FloatArray, tmod: FloatArray, inv_kw: dict[str, FloatArray],
                m: dict[str, FloatArray], status: list[str], frame: Frame) -> list[Event]:
        if len(ts) < 2 or not inv_kw:
            return []
        share = 1.0 / len(inv_kw)
        th = LossThresholds()
        events: list[Event] = []
        for p, kw in inv_kw.items():
            asset = parent(p)
            st = next((m[s] for s in status if parent(s) == asset), None)
            for le in detect_losses(ts, kw * 1000.0, exp_w * share, self.rated_w * share, tmod, th):
                kind, reason = le.kind, le.reason
                if st is not None:
                    sel = (ts >= le.start_ns) & (ts <= le.end_ns)
                    if np.any(st[sel] == SUNSPEC_FAULT) and kind != "inverter_trip":
                        kind, reason = "inverter_trip", f"{reason}; the inverter reports FAULT (SunSpec St=7)"
                payload = PvLossPayload(kind=kind, inverter=asset, start_ns=le.start_ns, end_ns=le.end_ns,
                                        intervals=le.intervals, energy_lost_kwh=round(le.energy_lost_kwh, 3),
                                        reason=reason)
                frame.losses.append(payload.model_dump())
                key = (asset, kind, le.start_ns)
                if key not in self.loss_keys:
                    self.loss_keys.add(key)
                    events.append(Event.make(PV_LOSS, asset, payload, ts=le.start_ns))
        return events

    def _day(self, f: Frame, regen_path: str, now: int) -> list[Batch]:
        """Today's balance (local day so far): ratios, peak, energies by day and shift."""
        cfg, tz = self.cfg, self.cfg.site.timezone
        sel = f.ts >= f.day_start
        zeros = np.zeros(len(f.ts))
        charging = f.charging_kw if f.charging_kw is not None else zeros
        flows = bal.SiteFlows(
            ts_ns=f.ts, pv_kw=f.pv_kw, grid_import_kw=f.imp, grid_export_kw=f.exp,
            battery_charge_kw=zeros, battery_discharge_kw=zeros, truck_charging_kw=charging,
            truck_regen_kw=zeros, loads_kw={"site": np.clip(f.load_kw - charging, 0.0, None)})
        step_h = 1.0 / 60.0
        series = {"pv": f.pv_kw, "grid_import": f.imp, "grid_export": f.exp, "load": f.load_kw}
        if f.charging_kw is not None:
            series["truck_charging"] = f.charging_kw
        labels = bal.shift_labels(f.ts, list(cfg.shifts), tz)
        shifts: dict[str, dict[str, Any]] = {}
        for k, v in series.items():
            for pe in bal.energy_by_label(v, labels, step_h):
                row = shifts.setdefault(pe.label, {"shift": pe.label})
                row[k] = None if not np.isfinite(pe.energy_kwh) else round(pe.energy_kwh, 2)
                row[f"{k}_partial"] = round(pe.partial_kwh, 2)
                if k == "grid_import":  # the meter's coverage is the balance's
                    row["coverage"] = round(pe.coverage, 4)
        f.shifts = list(shifts.values())
        out: list[Batch] = []
        if sel.sum() < 2:
            return out
        day = bal.SiteFlows(
            ts_ns=f.ts[sel], pv_kw=flows.pv_kw[sel], grid_import_kw=flows.grid_import_kw[sel],
            grid_export_kw=flows.grid_export_kw[sel], battery_charge_kw=zeros[sel],
            battery_discharge_kw=zeros[sel], truck_charging_kw=np.asarray(charging)[sel],
            truck_regen_kw=zeros[sel], loads_kw={"site": flows.loads_kw["site"][sel]})
        s = bal.summarize(day, cfg.tariff.demand_window_min)
        last = f.ts[sel][-1:]
        f.summary = {"self_consumption": s.self_consumption, "self_sufficiency": s.self_sufficiency,
                     "peak_demand_kw": s.peak_import_kw, "peak_at_ns": s.peak_at_ns,
                     "coverage": s.coverage, "gap_minutes": s.gaps}
        for name in ("self_consumption", "self_sufficiency", "peak_demand_kw"):
            b = self._rows(name, last, np.array([f.summary[name]]))
            if b is not None:
                out.append(b)
        for k, v in series.items():
            pe = bal.energy_by_label(v[sel], ["today"] * int(sel.sum()), step_h)[0]
            full = bool(np.isfinite(pe.energy_kwh))
            f.summary[f"{k}_kwh"] = pe.energy_kwh if full else None
            f.summary[f"{k}_partial_kwh"] = pe.partial_kwh
            name = {"pv": "pv_kwh_today", "grid_import": "grid_import_kwh_today",
                    "grid_export": "grid_export_kwh_today", "load": "load_kwh_today",
                    "truck_charging": "truck_charging_kwh_today"}[k]
            b = self._rows(name, last, np.array([pe.partial_kwh]), Quality.GOOD if full else Quality.UNCERTAIN)
            if b is not None:
                out.append(b)
        regen = self._regen_today(regen_path, f.day_start, now)
        f.summary["truck_regen_kwh"] = regen
        if regen is not None:
            b = self._rows("truck_regen_kwh_today", last, np.array([regen]))
            if b is not None:
                out.append(b)
        return out

    def _regen_today(self, path: str, day_start: int, now: int) -> float | None:
        """Regeneration today from the haulage counter: last today - last before today."""
        if path not in self.registry:
            return None
        sid = self.registry.id(path)
        tab = self.history.aggregate([sid], day_start - 24 * NS_PER_H, now, NS_PER_H)
        if tab.num_rows == 0:
            return None
        bucket = tab.column("bucket").to_numpy()
        last = tab.column("last").to_numpy(zero_copy_only=False).astype(np.float64)
        before, today = last[bucket < day_start], last[bucket >= day_start]
        if not len(today):
            return None
        base = before[-1] if len(before) else float(tab.column("first").to_numpy(zero_copy_only=False)[bucket >= day_start][0])
        return float(max(0.0, today[-1] - base))

    def _prune(self, start: int) -> None:
        for s in self.sent.values():
            old = [t for t in s if t < start - NS_PER_H]
            s.difference_update(old)
        for t in [t for t in self.expected if t < start]:
            del self.expected[t]


def signal_defs(prefix: str) -> list[tuple[str, str, str]]:
    return [(f"{prefix}/{k}", u, d) for k, (u, d) in (*PER_MINUTE.items(), *PER_DAY.items())]
