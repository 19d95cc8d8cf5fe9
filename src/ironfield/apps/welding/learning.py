"""Reading recorded welds and learning a spot's reference from the good ones.

:func:`analyse_curve` runs the timer's own detector over a recorded curve (so learning
and control see the same alpha, beta and heat); :func:`learn_reference` takes medians
over the good welds. Standard library only.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Literal

from ironfield.apps.welding.timer import AdaptiveWeldTimer
from ironfield.apps.welding.timing_types import (
    CurveLike,
    ResistanceBand,
    SpotReference,
    SpotReferenceError,
    TimerConfig,
    TimerResult,
    WeldCurve,
    as_curve,
    to_floats,
)


def _observer(config: TimerConfig) -> SpotReference:
    """A reference that never stops the weld: to read a recorded curve's features."""
    return SpotReference(
        heat_after_peak_j=math.inf, r_beta_uohm=1.0, t_beta_s=0.0, t_min_s=math.inf,
        t_max_s=math.inf, t_fixed_s=math.inf, config=config,
    )


CurveFeatures = TimerResult


def analyse_curve(curve: CurveLike, config: TimerConfig | None = None) -> TimerResult:
    """Alpha, beta, heat after the peak, expulsion of a recorded weld (no stop decision)."""
    c = as_curve(curve)
    timer = AdaptiveWeldTimer(_observer(config or TimerConfig()))
    step = timer.step
    for t, i, u in zip(to_floats(c.t_s), to_floats(c.current_ka), to_floats(c.voltage_v),
                       strict=True):
        step(t, i, u)
    return timer.result()


def _quantile(sorted_xs: Sequence[float], q: float) -> float:
    n = len(sorted_xs)
    if n == 1:
        return sorted_xs[0]
    pos = q * (n - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, n - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def _band(curves: Sequence[WeldCurve], t_end: float, config: TimerConfig,
          points: int = 48) -> ResistanceBand | None:
    grid = [t_end * (k + 1) / points for k in range(points)]
    per_curve: list[list[float]] = []
    for c in curves:
        ts = to_floats(c.t_s)
        rs: list[float] = []
        rf = math.nan
        t_prev = None
        for t, i, u in zip(ts, to_floats(c.current_ka), to_floats(c.voltage_v), strict=True):
            if i > config.min_current_ka and u == u:
                r = 1000.0 * u / i
                if rf != rf or t_prev is None:
                    rf = r
                else:
                    dt = max(t - t_prev, 0.0)
                    rf += dt / (config.filter_tau_s + dt) * (r - rf)
            rs.append(rf)
            t_prev = t
        row: list[float] = []
        j = 0
        for g in grid:
            while j + 1 < len(ts) and ts[j + 1] <= g:
                j += 1
            row.append(rs[j] if ts and ts[j] <= g + 1e-9 and g <= ts[-1] + 1e-9 else math.nan)
        per_curve.append(row)
    lo: list[float] = []
    mid: list[float] = []
    hi: list[float] = []
    for k in range(points):
        col = sorted(r[k] for r in per_curve if r[k] == r[k])
        if not col:
            lo.append(math.nan)
            mid.append(math.nan)
            hi.append(math.nan)
            continue
        lo.append(_quantile(col, 0.1))
        mid.append(_quantile(col, 0.5))
        hi.append(_quantile(col, 0.9))
    if all(m != m for m in mid):
        return None
    return ResistanceBand(tuple(grid), tuple(lo), tuple(mid), tuple(hi))


def learn_reference(
    curves: Iterable[CurveLike],
    nugget_ok: Iterable[bool],
    *,
    spot_id: str | None = None,
    t_min_s: float | None = None,
    t_max_s: float | None = None,
    min_good: int = 5,
    config: TimerConfig | None = None,
    nugget_mm: Iterable[float] | None = None,
    target_nugget_mm: float | None = None,
) -> SpotReference:
    """Learn a spot's reference from its welds and their QA verdicts.

    ``curves`` are the spot's recorded welds (see :class:`WeldCurve`), ``nugget_ok`` the
    matching verdicts (True: nugget of full size and no expulsion, as chisel or ultrasonic
    testing found it). Only good welds are learned from. The reference takes medians:
    heat after the beta peak, peak resistance and time, total energy and current; the
    fixed-time fallback ``t_fixed_s`` is the median duration of the good welds.
    ``t_min_s``/``t_max_s`` default to 1/3 and 1.5x that time. The lower clamp is only a
    guard against a broken measurement (the stop needs a confirmed beta peak and the
    heat after it): a weld that heats fast, e.g. over a sheet gap, reaches its beta peak
    at 0.6-0.7x the reference time and its nugget well before half the schedule, and a
    floor at 0.5x forced such welds on into expulsion on the simulator
    (``docs/bench/welding.md``).

    If the QA measured the nuggets (``nugget_mm``, one per curve) and a
    ``target_nugget_mm`` is given (e.g. 5·√t), the heat target is scaled from the good
    welds' median nugget ``d`` to the target: ``Q · (target / d)²`` (the molten lens of
    fixed height grows with ``d²``), bounded to [0.5, 2]. Without it the timer
    reproduces the good welds' nugget, however large.

    With fewer than ``min_good`` good welds showing a beta peak, the reference is in
    ``"fixed"`` mode (the timer then welds ``t_fixed_s``); with no good weld at all it
    cannot be learned and :class:`SpotReferenceError` says so.
    """
    cfg = config or TimerConfig()
    cs = [as_curve(c) for c in curves]
    oks = [bool(x) for x in nugget_ok]
    if len(cs) != len(oks):
        raise SpotReferenceError(f"{len(cs)} curves but {len(oks)} QA verdicts: one each")
    diam = None if nugget_mm is None else [float(x) for x in nugget_mm]
    if diam is not None and len(diam) != len(cs):
        raise SpotReferenceError(f"{len(cs)} curves but {len(diam)} nugget diameters")
    good = [c for c, ok in zip(cs, oks, strict=True) if ok and len(c) > 0]
    if not good:
        raise SpotReferenceError(
            f"no good weld among {len(cs)} to learn from"
            + (f" for spot {spot_id!r}" if spot_id else "")
        )
    feats = [analyse_curve(c, cfg) for c in good]
    durations = [to_floats(c.t_s)[-1] for c in good]
    t_fixed = statistics.median(durations)
    lo = t_min_s if t_min_s is not None else t_fixed / 3.0
    hi = t_max_s if t_max_s is not None else 1.5 * t_fixed
    if not lo <= t_fixed <= hi:
        raise SpotReferenceError(
            f"good welds last {t_fixed:.3f} s (median), outside [{lo}, {hi}] s"
        )
    peaked = [f for f in feats if f.beta_found and not f.expulsion]
    notes: list[str] = []

    def med(xs: Iterable[float]) -> float:
        vals = [x for x in xs if x == x]
        return statistics.median(vals) if vals else math.nan

    mode: Literal["adaptive", "fixed"] = "adaptive"
    if len(peaked) < min_good:
        mode = "fixed"
        notes.append(
            f"only {len(peaked)} of {len(good)} good welds show a beta peak "
            f"(need {min_good}): fixed time {t_fixed:.3f} s"
        )
    heat = med(f.heat_after_peak_j for f in peaked)
    r_beta = med(f.r_beta_uohm for f in peaked)
    if diam is not None and target_nugget_mm is not None and heat == heat:
        d_good = med(d for d, ok in zip(diam, oks, strict=True) if ok and d > 0)
        if d_good == d_good:
            k = min(2.0, max(0.5, (target_nugget_mm / d_good) ** 2))
            heat *= k
            notes.append(
                f"heat scaled x{k:.2f} from the good welds' {d_good:.2f} mm nugget "
                f"to {target_nugget_mm:.2f} mm"
            )
    if mode == "adaptive" and not (heat > 0 and r_beta > 0):
        mode = "fixed"
        notes.append("no heat after the beta peak in good welds: fixed time")
    current = med(
        statistics.fmean(to_floats(c.current_ka)[len(c) // 2:]) for c in good if len(c) > 1
    )
    return SpotReference(
        heat_after_peak_j=heat if heat == heat else 0.0,
        r_beta_uohm=r_beta if r_beta == r_beta else 0.0,
        t_beta_s=med(f.t_beta_s for f in peaked),
        t_min_s=lo,
        t_max_s=hi,
        t_fixed_s=t_fixed,
        mode=mode,
        r_alpha_uohm=med(f.r_alpha_uohm for f in peaked),
        energy_j=med(f.energy_j for f in feats),
        current_ka=current,
        n_welds=len(peaked) if mode == "adaptive" else len(good),
        spot_id=spot_id,
        notes=tuple(notes),
        config=cfg,
        band=_band(good, t_fixed, cfg),
    )
