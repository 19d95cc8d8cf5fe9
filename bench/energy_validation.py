"""Validate the energy app's PV model and forecasts on measured data shipped by pvanalytics.

    .venv/bin/python bench/energy_validation.py

1. ``nrel_RSF_II.csv`` (NREL Research Support Facility, Golden CO, 2-6 Jan 2022, 15 min):
   calibrate PVWatts parameters on part of the days, run the calibrated plant through
   pvlib's ModelChain on the rest, report modelled-vs-measured AC power nMAE; detect loss
   events (the last day is snow-covered) and the IEC 61724-1 PR per day.
2. ``system_50_ac_power_2_full_DST.parquet`` (PVDAQ system 50, Golden CO, 2.7 years of
   15-min AC power): intraday and day-ahead forecasts trained on the first year, scored
   on the rest against persistence (nMAE, RMSE skill; Solar Forecast Arbiter definitions).

Every figure compares against a baseline computed in the same run. No download.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ironfield.apps.energy import calibrate, checks, performance, pvmodel
from ironfield.apps.energy import forecast as fc
from ironfield.apps.energy import metrics as m
from ironfield.apps.energy.config import SiteConfig

try:
    import pvanalytics
except ImportError:  # pragma: no cover
    sys.exit("pvanalytics is not installed (pip install pvanalytics==0.2.2): nothing to do")

DATA = Path(pvanalytics.__file__).parent / "data"
# PVDAQ metadata for system 50 (as used in pvanalytics' own examples), and the RSF.
S50_LAT, S50_LON = 39.7406, -105.1775
RSF_SITE = SiteConfig(name="nrel-rsf", latitude=39.7407, longitude=-105.1686,
                      altitude_m=1800.0, timezone="America/Denver")


def _pct(x: float) -> str:
    return f"{x:6.1f} %"


# --------------------------------------------------------------------------- RSF II

def rsf_data() -> pd.DataFrame:
    df = pd.read_csv(DATA / "nrel_RSF_II.csv", index_col=0)
    naive = pd.DatetimeIndex(pd.to_datetime(df.index, format="%m/%d/%Y %H:%M"))
    try:
        checks.to_ns(naive)
    except checks.EnergyInputError as e:
        print(f"  (as the file stands: {e.__class__.__name__}: {str(e)[:60]}...)")
    # The logger writes local standard time (MST, no DST in January); said explicitly
    # here rather than guessed by the library. The model runs from measured POA, so the
    # zone does not move any figure below.
    df.index = naive.tz_localize("Etc/GMT+7")
    return df


def rsf_validation() -> dict[str, float]:
    print("\n## 1. Modelled vs measured AC power: NREL RSF II, 2-6 Jan 2022\n")
    df = rsf_data()
    ts = checks.to_ns(pd.DatetimeIndex(df.index))
    poa = df["poa_irradiance__1055"].to_numpy(np.float64)
    tmod = df["module_temp__1056"].to_numpy(np.float64)
    p = df["ac_power_kw_1137"].to_numpy(np.float64) * 1000.0
    flags = checks.flag_irradiance(poa, name="poa") + checks.flag_temperature(tmod)
    flags += checks.flag_power(p, rated_w=float(np.nanmax(p)) / 0.6, name="ac_power")
    print(f"  input checks: {checks.summary(flags) or 'no sample out of range'}")
    tc = pvmodel.cell_temperature(poa, module_temp_c=tmod)
    day = pd.DatetimeIndex(df.index).normalize()
    days = list(day.unique())
    cal = day < days[2]
    c = calibrate.calibrate_pvwatts(poa[cal], tc[cal], p[cal])
    print(f"  calibration on {days[0].date()}..{days[1].date()} ({c.samples} samples): "
          f"pdc0 {c.pdc0_w / 1000:.1f} kW, gamma {c.gamma_pdc_per_k:.4f} 1/K "
          f"(2 cold days cannot identify it), pac0 {c.pac0_w / 1000:.1f} kW "
          f"(clipping seen: {c.clipping_seen}), fit nMAE {c.nmae_pct:.2f} %")
    model = pvmodel.build_array(c.array_config("rsf-ii"), RSF_SITE)
    t0 = time.perf_counter()
    exp = pvmodel.expected_ac_power(model, ts, poa, tc)
    t_model = time.perf_counter() - t0
    events = performance.detect_losses(ts, p, exp, rated_w=c.pac0_w, module_temp_c=tmod)
    lossy = np.zeros(len(ts), dtype=bool)
    for ev in events:
        lossy |= (ts >= ev.start_ns) & (ts < ev.end_ns)
        a, b = checks.to_index(np.array([ev.start_ns, ev.end_ns])).tz_convert("Etc/GMT+7")
        print(f"  loss event: {ev.kind:16s} {a:%m-%d %H:%M} .. {b:%m-%d %H:%M} MST "
              f"{ev.energy_lost_kwh:7.1f} kWh  {ev.reason}")
    test = ~cal & (poa > 0) & np.isfinite(p)
    out = {
        "rsf_nmae_test_all": m.nmae(exp[test], p[test], c.pdc0_w),
        "rsf_nmae_test_no_events": m.nmae(exp[test & ~lossy], p[test & ~lossy], c.pdc0_w),
        "rsf_mbe_test_no_events": 100 * m.mbe(exp[test & ~lossy], p[test & ~lossy]) / c.pdc0_w,
    }
    print(f"  test days {days[2].date()}..{days[-1].date()}, daytime, nMAE of capacity pdc0:")
    print(f"    all samples            {_pct(out['rsf_nmae_test_all'])}")
    print(f"    outside loss events    {_pct(out['rsf_nmae_test_no_events'])}  "
          f"(bias {out['rsf_mbe_test_no_events']:+.1f} %)")
    print(f"  ModelChain run: {len(ts)} samples in {t_model * 1000:.0f} ms")
    print("\n  leave-one-day-out (calibrate on the other snow-free days, test on this one;"
          " PR with the calibrated pdc0 as P0):")
    print("  | day | PR (IEC 61724-1) | PR_STC | nMAE |\n  |---|---|---|---|")
    snowy = np.zeros(len(ts), dtype=bool)
    for ev in events:
        if ev.kind == "snow":
            snowy |= (ts >= ev.start_ns) & (ts < ev.end_ns)
    clean = [d for d in days if not (snowy & (day == d)).any()]
    for d in clean:
        train = (day != d) & np.asarray(day.isin(clean))
        cd = calibrate.calibrate_pvwatts(poa[train], tc[train], p[train])
        md = pvmodel.build_array(cd.array_config("rsf-ii"), RSF_SITE)
        ed = pvmodel.expected_ac_power(md, ts, poa, tc)
        s = (day == d) & (poa > 0)
        pr = performance.performance_ratio(p[s], poa[s], cd.pdc0_w)
        prs = performance.performance_ratio_stc(p[s], poa[s], tmod[s], cd.pdc0_w, -0.0037)
        nm = m.nmae(ed[s], p[s], cd.pdc0_w)
        out[f"rsf_lodo_{d.date()}"] = nm
        print(f"  | {d.date()} | {pr:.3f} | {prs:.3f} | {nm:.1f} % |")
    return out


# --------------------------------------------------------------------------- system 50

def s50_series() -> pd.Series:
    raw = pd.read_parquet(DATA / "system_50_ac_power_2_full_DST.parquet")
    s = raw.set_index("measured_on")["ac_power_2"].astype(np.float64)
    idx = pd.DatetimeIndex(s.index)
    # The stamps say -07:00 all year but are wall-clock time with DST (the file name
    # says so; the power-weighted hour of day jumps by ~0.7 h at each DST change).
    # Re-read them as America/Denver; the repeated/missing hour at the changes is dropped.
    wall = idx.tz_localize(None).tz_localize("America/Denver", ambiguous="NaT",
                                             nonexistent="NaT")
    s.index = wall
    s = s[s.index.notna()]
    s = s[~s.index.duplicated()]
    s.index = pd.DatetimeIndex(s.index).tz_convert("UTC")
    grid = pd.date_range(s.index[0], s.index[-1], freq="15min")
    return s.reindex(grid)  # gaps stay NaN


def s50_clear_sky(s: pd.Series, train: np.ndarray) -> tuple[np.ndarray, str]:
    """Clear-sky AC power: orientation fitted by pvanalytics on clear training days."""
    import pvlib
    from pvanalytics.system import infer_orientation_fit_pvwatts

    idx = pd.DatetimeIndex(s.index)
    mid = idx + pd.Timedelta("7.5min")  # interval-average data: sun at mid-interval
    loc = pvlib.location.Location(S50_LAT, S50_LON, altitude=1800)
    sp = loc.get_solarposition(mid)
    cs = loc.get_clearsky(mid, solar_position=sp)
    sp.index = idx
    cs.index = idx
    daily = s.resample("D").sum(min_count=80)
    best = daily.rolling(31, center=True, min_periods=10).max()
    rough = s.diff().abs().resample("D").sum() / daily
    calm = rough < rough.rolling(31, center=True, min_periods=10).quantile(0.3)
    clear_days = daily.index[(daily > 0.9 * best) & calm]
    mask = (pd.Series(idx.floor("D").isin(clear_days), index=idx) & train
            & (sp["zenith"] < 75) & s.notna())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 deprecations inside pvanalytics/pvlib
        tilt, az, r2 = infer_orientation_fit_pvwatts(
            s[mask], cs["ghi"][mask], cs["dhi"][mask], cs["dni"][mask],
            sp["zenith"][mask], sp["azimuth"][mask])
        poa = pvlib.irradiance.get_total_irradiance(
            tilt, az, sp["zenith"], sp["azimuth"], cs["dni"], cs["ghi"], cs["dhi"])["poa_global"]
    scale = float(np.nanmedian(s[mask] / poa[mask]))
    pcs = np.clip(poa.to_numpy(np.float64) * scale, 0.0, None)
    return pcs, (f"tilt {tilt:.1f} deg, azimuth {az:.1f} deg (r2 {r2:.3f}) from "
                 f"{int(mask.sum())} samples on {len(clear_days)} clear days")


def s50_validation() -> dict[str, float]:
    print("\n## 2. Forecasts: PVDAQ system 50, 2011-04 .. 2013-12, 15 min\n")
    s = s50_series()
    idx = pd.DatetimeIndex(s.index)
    p = s.to_numpy(np.float64)
    train = np.asarray(idx < idx[0] + pd.Timedelta("365D"))
    pcs, how = s50_clear_sky(s, train)
    cap = float(np.nanmax(p[train]))
    min_cs = 0.05 * cap
    day = pcs >= min_cs
    test = ~train & day & np.isfinite(p)
    print(f"  {len(p)} samples, {int(np.isnan(p).sum())} missing (kept as gaps); train "
          f"{idx[0].date()}..{idx[train][-1].date()}, test to {idx[-1].date()}")
    print(f"  clear-sky power: {how}")
    print(f"  nMAE normalised by capacity = max training power {cap:.0f} W; daytime = "
          f"clear-sky power >= 5 % of capacity\n")
    out: dict[str, float] = {}
    print("  Intraday (issue every 15 min):\n")
    print("  | horizon | persistence nMAE | k-persistence nMAE | smart L2 nMAE | smart L1 nMAE |"
          " skill L2 vs persistence | skill L2 vs k-persistence | skill L1 vs k-persistence |")
    print("  |---|---|---|---|---|---|---|---|")
    for h in (1, 4, 8, 16):
        per = fc.persistence(p, h)
        kp = fc.clear_sky_index_persistence(p, pcs, h, min_cs)
        sm = fc.IntradayRegression([h], min_clear_sky_w=min_cs).fit(p, pcs, train & day)
        f = sm.predict(p, pcs, h)
        s1 = fc.IntradayRegression([h], min_clear_sky_w=min_cs, loss="l1")
        f1 = s1.fit(p, pcs, train & day).predict(p, pcs, h)
        ev = test & m.common_mask(per, kp, f, f1)
        row = (m.nmae(per[ev], p[ev], cap), m.nmae(kp[ev], p[ev], cap),
               m.nmae(f[ev], p[ev], cap), m.nmae(f1[ev], p[ev], cap),
               m.skill(f[ev], per[ev], p[ev]), m.skill(f[ev], kp[ev], p[ev]),
               m.skill(f1[ev], kp[ev], p[ev]))
        out[f"s50_intraday_{h * 15}min_skill_vs_persistence"] = row[4]
        out[f"s50_intraday_{h * 15}min_nmae_smart_l1"] = row[3]
        print(f"  | {h * 15} min | {row[0]:.2f} % | {row[1]:.2f} % | {row[2]:.2f} % | "
              f"{row[3]:.2f} % | {row[4]:+.3f} | {row[5]:+.3f} | {row[6]:+.3f} |")
    local = idx.tz_convert("Etc/GMT+7")
    first_midnight = int((local[0].normalize() + pd.Timedelta("1D") - local[0])
                          / pd.Timedelta("15min")) % 96
    da = fc.DayAhead(min_clear_sky_w=min_cs, first_offset=first_midnight)
    da.fit(p, pcs, train & day)
    mean, q = da.predict(p, pcs)
    per24 = fc.persistence(p, 96)
    # Climatology: the last 30 days' mean clear-sky index times tomorrow's clear sky.
    kd = fc.daily_index(fc.clear_sky_index(p, pcs, min_cs), 96, first_midnight)
    clim = fc.rolling_mean(fc.shift(kd, 96), 30 * 96) * pcs
    ev = test & m.common_mask(per24, mean, q[:, 0], clim)
    out |= {
        "s50_da_nmae_persistence24": m.nmae(per24[ev], p[ev], cap),
        "s50_da_nmae_clearsky": m.nmae(pcs[ev], p[ev], cap),
        "s50_da_nmae_model": m.nmae(mean[ev], p[ev], cap),
        "s50_da_nmae_median": m.nmae(q[ev, 1], p[ev], cap),
        "s50_da_skill_vs_persistence24": m.skill(mean[ev], per24[ev], p[ev]),
        "s50_da_skill_vs_clearsky": m.skill(mean[ev], pcs[ev], p[ev]),
        "s50_da_skill_clearsky_vs_persistence24": m.skill(pcs[ev], per24[ev], p[ev]),
        "s50_da_nmae_climatology": m.nmae(clim[ev], p[ev], cap),
        "s50_da_skill_climatology_vs_persistence24": m.skill(clim[ev], per24[ev], p[ev]),
        "s50_da_skill_vs_climatology": m.skill(mean[ev], clim[ev], p[ev]),
        "s50_da_coverage_10_90": m.interval_coverage(q[ev, 0], q[ev, 2], p[ev]),
    }
    qs = [m.quantile_score(q[ev, j], p[ev], t) / cap * 100 for j, t in enumerate(da.quantiles)]
    print("\n  Day-ahead (whole next local day, from data up to midnight; no weather feed):\n")
    print("  | forecast | nMAE | RMSE skill vs 24-h persistence |\n  |---|---|---|")
    print(f"  | 24-h persistence | {out['s50_da_nmae_persistence24']:.1f} % | 0 |")
    print(f"  | clear-sky power only | {out['s50_da_nmae_clearsky']:.1f} % | "
          f"{out['s50_da_skill_clearsky_vs_persistence24']:+.3f} |")
    print(f"  | 30-day climatological index x clear sky | "
          f"{out['s50_da_nmae_climatology']:.1f} % | "
          f"{out['s50_da_skill_climatology_vs_persistence24']:+.3f} |")
    print(f"  | regression on yesterday/month index (mean) | {out['s50_da_nmae_model']:.1f} % | "
          f"{out['s50_da_skill_vs_persistence24']:+.3f} |")
    print(f"  | same, median (q50) | {out['s50_da_nmae_median']:.1f} % | |")
    print(f"\n  day-ahead model RMSE skill vs clear-sky-only {out['s50_da_skill_vs_clearsky']:+.3f},"
          f" vs climatology {out['s50_da_skill_vs_climatology']:+.3f} (no weather feed: it"
          " knows the season, not tomorrow's clouds)")
    print(f"  10-90 % band coverage {out['s50_da_coverage_10_90']:.3f} (nominal 0.800); "
          f"quantile scores q10/q50/q90 {qs[0]:.2f} / {qs[1]:.2f} / {qs[2]:.2f} % of capacity")
    return out


def main() -> None:
    t0 = time.perf_counter()
    print("# energy validation (pvanalytics", pvanalytics.__version__, "data)")
    rsf_validation()
    s50_validation()
    print(f"\ntotal {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
