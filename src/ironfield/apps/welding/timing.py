"""Adaptive weld timing at the edge: when to end each spot weld, decided sample by sample.

Public API (stable; weld controllers and simulators outside ironfield may use it)::

    reference = learn_reference(curves, nugget_ok)   # from a spot's welds + QA verdicts
    timer = AdaptiveWeldTimer(reference)              # one per weld
    for t_s, current_ka, voltage_v in samples:        # 1 kHz or faster
        if timer.step(t_s, current_ka, voltage_v):    # True = stop the current now
            break
    timer.result()                                    # what happened, incl. expulsion

A *curve* is three equal-length sequences: time since the current started [s], secondary
current [kA] and electrode-tip voltage [V], e.g. a :class:`WeldCurve` or a plain
``(t_s, current_ka, voltage_v)`` tuple of lists or numpy arrays. The current is assumed to
be DC as an MFDC inverter delivers it, sampled at 1 kHz or more; for 50 Hz AC, feed one
sample per half cycle taken at the current peak.

This module needs only the standard library, so it can be copied onto a weld controller
as it is. ``step`` is plain float arithmetic with no allocation, a few microseconds per
sample in CPython (see ``bench/welding_controller_cost.py``).

How the decision is made
------------------------
1. Dynamic resistance ``R = 1000 · U / I`` [µΩ] (``U`` in V, ``I`` in kA), smoothed by a
   first-order low-pass ``R_f += a (R − R_f)`` with ``a = dt / (τ + dt)``, τ = 4 ms.
   Samples below ``min_current_ka`` (up-slope, current off) carry no resistance.
2. The *alpha* point is the minimum of ``R_f`` after the contact resistance has broken
   down; it is confirmed once ``R_f`` has risen ``alpha_rise`` (3 %) above it.
3. The *beta* peak is the following maximum of ``R_f``: heating has raised the bulk
   resistivity, and from melting on, indentation and contact growth make ``R`` fall. It
   is confirmed once ``R_f`` has fallen ``beta_drop`` (1.5 %) below it, provided it stands
   ``beta_min_rise`` above alpha and does not come before ``beta_earliest`` of the
   reference's peak time (earlier bumps, e.g. zinc melting on coated sheet, are skipped).
   [Dickinson et al. 1980; Gedeon et al. 1987; Harms & Wende IQR]
4. Heat ``Q(t) = ∫ I² R dt = ∫ U I dt`` [J] is integrated from the first sample. From the
   beta peak on, the weld stops when ``Q(t) − Q(t_beta)`` reaches the spot's reference,
   scaled by ``R_beta,ref / R_beta`` (clamped to ``heat_scale_bounds``): a lower peak
   resistance means a larger contact (worn electrode, thick zinc) with more metal to
   melt, or a shunt taking the fraction ``1 − R_beta/R_w`` of the measured power away
   from the weld; both need proportionally more measured heat.
5. The stop is clamped to ``[t_min, t_max]``: never before ``t_min``; at ``t_max``
   regardless (also when no beta peak was found, which the result reports).
6. Expulsion: liquid metal ejected makes the electrodes sink and ``R`` drop within a
   millisecond or two. A fast (1 ms) and a slow (8 ms) low-pass of ``R`` are compared;
   a fast value ``expulsion_drop`` (4 %) below the slow one after the alpha point is an
   expulsion. It is reported in :meth:`AdaptiveWeldTimer.result` and, with
   ``stop_on_expulsion``, ends the weld once ``t_min`` has passed.

A reference in ``"fixed"`` mode (too few good welds to learn from) makes the timer a
fixed-time timer at ``t_fixed_s`` that still reports alpha, beta and expulsion.

This is the family of resistance-based adaptive controls sold for robot welding:
Harms & Wende IQR (current and time adjusted from the time of the resistance maximum,
"the end of the warm-up phase and the beginning of melting"), Matuschek MASTER (a
reference weld's current and voltage are stored and later welds are controlled to it,
extending or shortening the weld time within limits, spatter reported) and Bosch Rexroth
UI regulation (PSI 6000 / BOS 6000: a reference resistance curve per program, heat
stepper and tip-dress handling). Our timer adapts only the time, at constant current;
the vendors also adapt the current.

References
----------
- D. W. Dickinson, J. E. Franklin, A. Stanya, "Characterization of spot welding behavior
  by dynamic electrical parameter monitoring", Welding Journal 59(6), 170s-176s, 1980.
- S. A. Gedeon, C. D. Sorensen, K. T. Ulrich, T. W. Eagar, "Measurement of dynamic
  electrical and mechanical properties of resistance spot welds", Welding Journal 66(12),
  378s-385s, 1987.
- Harms & Wende, "IQR - Integrated Quality Control", product documentation.
- Matuschek Meßtechnik, "Adaptive weld control for resistance spot welding (MASTER)",
  product documentation.
- Bosch Rexroth, "PSI 6xxx: commissioning the UI regulation" (UIR), product manual.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal, Protocol

from ironfield.core.errors import IronfieldError

__all__ = [
    "AdaptiveWeldTimer",
    "CurveFeatures",
    "FloatSeries",
    "ResistanceBand",
    "SpotReference",
    "SpotReferenceError",
    "StopReason",
    "TimerConfig",
    "TimerResult",
    "WeldCurve",
    "analyse_curve",
    "learn_reference",
]


class SpotReferenceError(IronfieldError, ValueError):
    """A reference that cannot be learned or read; the message says why."""


class FloatSeries(Protocol):
    """Anything with a length that iterates over numbers: a list, tuple or numpy array."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


@dataclass(frozen=True, slots=True)
class WeldCurve:
    """One weld's sampled curves: time since current start [s], current [kA], voltage [V].

    Any sequences of numbers do (lists, tuples, numpy arrays); they must be equally long.
    """

    t_s: FloatSeries
    current_ka: FloatSeries
    voltage_v: FloatSeries

    def __post_init__(self) -> None:
        n = len(self.t_s)
        if len(self.current_ka) != n or len(self.voltage_v) != n:
            raise SpotReferenceError(
                f"curve channels differ in length: t {n}, current {len(self.current_ka)}, "
                f"voltage {len(self.voltage_v)}"
            )

    def __len__(self) -> int:
        return len(self.t_s)


CurveLike = WeldCurve | tuple[FloatSeries, FloatSeries, FloatSeries]


def _floats(xs: FloatSeries) -> list[float]:
    tolist = getattr(xs, "tolist", None)
    if tolist is not None:
        out = tolist()
        if isinstance(out, list):
            return [float(x) for x in out]
    return [float(x) for x in xs]


def _as_curve(c: CurveLike) -> WeldCurve:
    if isinstance(c, WeldCurve):
        return c
    try:
        t, i, u = c
    except (TypeError, ValueError) as e:
        raise SpotReferenceError(
            "a curve is a WeldCurve or a (t_s, current_ka, voltage_v) triple"
        ) from e
    return WeldCurve(t, i, u)


class StopReason(StrEnum):
    RUNNING = "running"  # not stopped yet
    HEAT = "heat"  # heat after the beta peak reached the reference
    MAX_TIME = "max_time"  # clamped at t_max (or no beta peak found)
    FIXED_TIME = "fixed_time"  # the reference is in fixed mode
    EXPULSION = "expulsion"  # stop_on_expulsion and an expulsion was seen


@dataclass(frozen=True, slots=True)
class TimerConfig:
    """Thresholds of the streaming detector; defaults suit 1-2 mm steel at 1 kHz."""

    filter_tau_s: float = 0.004
    settle_s: float = 0.003  # features ignored during the current up-slope
    min_current_ka: float = 1.0
    alpha_rise: float = 0.03
    beta_drop: float = 0.015
    beta_min_rise: float = 0.08
    beta_earliest: float = 0.4  # share of the reference t_beta before which no peak counts
    heat_scale_bounds: tuple[float, float] = (0.75, 1.6)
    normalise_heat: bool = True
    expulsion_fast_tau_s: float = 0.001
    expulsion_slow_tau_s: float = 0.008
    expulsion_drop: float = 0.04
    stop_on_expulsion: bool = False

    def __post_init__(self) -> None:
        lo, hi = self.heat_scale_bounds
        if not 0.0 < lo <= 1.0 <= hi:
            raise SpotReferenceError(f"heat_scale_bounds {self.heat_scale_bounds}: need 0 < lo <= 1 <= hi")
        if min(self.filter_tau_s, self.expulsion_fast_tau_s, self.expulsion_slow_tau_s) <= 0:
            raise SpotReferenceError("filter time constants must be positive")
        if self.expulsion_fast_tau_s >= self.expulsion_slow_tau_s:
            raise SpotReferenceError("the fast expulsion filter must be faster than the slow one")


@dataclass(frozen=True, slots=True)
class ResistanceBand:
    """The spot's good-weld resistance curve: 10/50/90 % quantiles on a time grid."""

    t_s: tuple[float, ...]
    p10_uohm: tuple[float, ...]
    p50_uohm: tuple[float, ...]
    p90_uohm: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class SpotReference:
    """What the timer needs to know about a spot, learned from its good welds."""

    heat_after_peak_j: float  # heat from the beta peak to the stop in good welds (median)
    r_beta_uohm: float  # beta-peak resistance of good welds (median)
    t_beta_s: float  # time of the beta peak (median)
    t_min_s: float
    t_max_s: float
    t_fixed_s: float  # fixed-time fallback: median duration of the good welds
    mode: Literal["adaptive", "fixed"] = "adaptive"
    r_alpha_uohm: float = math.nan
    energy_j: float = math.nan  # total energy of good welds (median)
    current_ka: float = math.nan
    n_welds: int = 0  # good welds the reference was learned from
    spot_id: str | None = None
    notes: tuple[str, ...] = ()
    config: TimerConfig = field(default_factory=TimerConfig)
    band: ResistanceBand | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.t_min_s <= self.t_fixed_s <= self.t_max_s:
            raise SpotReferenceError(
                f"need 0 < t_min ({self.t_min_s}) <= t_fixed ({self.t_fixed_s}) "
                f"<= t_max ({self.t_max_s})"
            )
        if self.mode == "adaptive" and not (
            self.heat_after_peak_j > 0.0 and self.r_beta_uohm > 0.0
        ):
            raise SpotReferenceError("an adaptive reference needs positive heat and beta resistance")

    def with_updates(self, **changes: Any) -> SpotReference:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (NaN becomes None), for write-back and the audit trail."""
        d = asdict(self)

        def clean(v: Any) -> Any:
            if isinstance(v, float) and math.isnan(v):
                return None
            if isinstance(v, tuple | list):
                return [clean(x) for x in v]
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            return v

        out: dict[str, Any] = clean(d)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpotReference:
        d = dict(data)
        try:
            cfg = d.pop("config", None) or {}
            if "heat_scale_bounds" in cfg:
                cfg = {**cfg, "heat_scale_bounds": tuple(cfg["heat_scale_bounds"])}
            band = d.pop("band", None)
            for k in ("r_alpha_uohm", "energy_j", "current_ka"):
                if d.get(k) is None:
                    d[k] = math.nan
            d["notes"] = tuple(d.get("notes") or ())
            return cls(
                **d,
                config=TimerConfig(**cfg),
                band=None if band is None else ResistanceBand(
                    **{k: tuple(math.nan if x is None else float(x) for x in v)
                       for k, v in band.items()}
                ),
            )
        except TypeError as e:
            raise SpotReferenceError(f"not a spot reference: {e}") from e


@dataclass(frozen=True, slots=True)
class TimerResult:
    """Everything the timer saw in one weld."""

    stop_reason: StopReason
    t_stop_s: float
    samples: int
    bad_samples: int  # NaN values or non-increasing time, skipped
    energy_j: float
    heat_after_peak_j: float  # measured heat from the beta peak to the stop (0 if none)
    heat_target_j: float  # the scaled reference this weld was stopped against (nan: none)
    heat_scale: float  # R_beta,ref / R_beta, clamped (1 when not normalised)
    t_alpha_s: float
    r_alpha_uohm: float
    beta_found: bool
    t_beta_s: float
    r_beta_uohm: float
    r_end_uohm: float
    expulsion: bool
    t_expulsion_s: float
    expulsions: int

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


_NAN = math.nan


class AdaptiveWeldTimer:
    """Streaming stop decision for one weld; create one per weld (or call :meth:`reset`)."""

    __slots__ = (
        "_a",
        "_af",
        "_alpha_rise",
        "_as",
        "_bad",
        "_beta_drop",
        "_beta_earliest",
        "_beta_min_rise",
        "_dt_last",
        "_ef",
        "_es",
        "_exp_count",
        "_exp_drop",
        "_exp_on",
        "_exp_rearm",
        "_fixed",
        "_have_r",
        "_i_min",
        "_n",
        "_norm",
        "_phase",
        "_q",
        "_q_beta",
        "_q_ref",
        "_q_stop",
        "_r_alpha",
        "_r_max",
        "_r_min",
        "_r_ref",
        "_reason",
        "_ref",
        "_rf",
        "_scale",
        "_scale_hi",
        "_scale_lo",
        "_settle",
        "_stop_on_exp",
        "_stopped",
        "_t",
        "_t0",
        "_t_alpha",
        "_t_beta",
        "_t_exp",
        "_t_fixed",
        "_t_max",
        "_t_min",
        "_target",
        "_tau",
        "_tau_f",
        "_tau_s",
    )

    def __init__(self, reference: SpotReference) -> None:
        self._ref = reference
        cfg = reference.config
        self._tau = cfg.filter_tau_s
        self._tau_f = cfg.expulsion_fast_tau_s
        self._tau_s = cfg.expulsion_slow_tau_s
        self._i_min = cfg.min_current_ka
        self._settle = cfg.settle_s
        self._alpha_rise = 1.0 + cfg.alpha_rise
        self._beta_drop = 1.0 - cfg.beta_drop
        self._beta_min_rise = 1.0 + cfg.beta_min_rise
        t_beta_ref = reference.t_beta_s if math.isfinite(reference.t_beta_s) else 0.0
        self._beta_earliest = cfg.beta_earliest * t_beta_ref
        self._exp_drop = 1.0 - cfg.expulsion_drop
        self._exp_rearm = 1.0 - 0.5 * cfg.expulsion_drop
        self._stop_on_exp = cfg.stop_on_expulsion
        self._norm = cfg.normalise_heat
        self._scale_lo, self._scale_hi = cfg.heat_scale_bounds
        self._fixed = reference.mode == "fixed"
        self._t_fixed = reference.t_fixed_s - 1e-9
        self._t_min = reference.t_min_s - 1e-9
        self._t_max = reference.t_max_s - 1e-9
        self._r_ref = reference.r_beta_uohm
        self._q_ref = reference.heat_after_peak_j
        self.reset()

    def reset(self) -> None:
        """Ready for the next weld with the same reference."""
        self._n = 0
        self._bad = 0
        self._t = 0.0
        self._t0 = 0.0
        self._dt_last = -1.0
        self._a = self._af = self._as = 0.0
        self._q = 0.0
        self._have_r = False
        self._rf = self._ef = self._es = 0.0
        self._phase = 0
        self._r_min = math.inf
        self._t_alpha = _NAN
        self._r_alpha = _NAN
        self._r_max = -math.inf
        self._t_beta = _NAN
        self._q_beta = 0.0
        self._q_stop = math.inf
        self._target = _NAN
        self._scale = 1.0
        self._exp_on = False
        self._exp_count = 0
        self._t_exp = _NAN
        self._stopped = False
        self._reason = StopReason.RUNNING

    @property
    def reference(self) -> SpotReference:
        return self._ref

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def expulsion(self) -> bool:
        return self._exp_count > 0

    def step(self, t_s: float, current_ka: float, voltage_v: float) -> bool:
        """Feed one sample; True means: stop the weld current now (and on every later call)."""
        if self._stopped:
            return True
        if self._n:
            dt = t_s - self._t
            if not dt > 0.0:  # duplicate, out of order or NaN time: skip the sample
                self._bad += 1
                return False
        else:
            # The first sample covers the time since the current started, if it says so.
            dt = t_s if 0.0 < t_s < 0.01 else 0.0
            self._t0 = t_s - dt
        p = current_ka * voltage_v
        if p != p:  # NaN in either channel: skip, the next sample's dt covers the gap
            self._bad += 1
            return False
        self._t = t_s
        self._n += 1
        q = self._q + 1000.0 * p * dt  # kA * V = kW
        self._q = q

        if current_ka > self._i_min:
            r = 1000.0 * voltage_v / current_ka
            if not self._have_r:
                self._have_r = True
                self._rf = self._ef = self._es = r
            else:
                if dt != self._dt_last:
                    self._dt_last = dt
                    self._a = dt / (self._tau + dt)
                    self._af = dt / (self._tau_f + dt)
                    self._as = dt / (self._tau_s + dt)
                rf = self._rf + self._a * (r - self._rf)
                self._rf = rf
                ef = self._ef + self._af * (r - self._ef)
                es = self._es + self._as * (r - self._es)
                self._ef = ef
                self._es = es
                if t_s - self._t0 >= self._settle:
                    phase = self._phase
                    if phase == 0:
                        if rf < self._r_min:
                            self._r_min = rf
                            self._t_alpha = t_s
                        elif rf > self._r_min * self._alpha_rise:
                            self._phase = 1
                            self._r_alpha = self._r_min
                            self._r_max = rf
                            self._t_beta = t_s
                            self._q_beta = q
                    else:
                        if phase == 1:
                            if rf > self._r_max:
                                self._r_max = rf
                                self._t_beta = t_s
                                self._q_beta = q
                            elif rf < self._r_max * self._beta_drop:
                                if (
                                    self._t_beta >= self._beta_earliest
                                    and self._r_max > self._r_alpha * self._beta_min_rise
                                ):
                                    self._confirm_beta()
                                else:  # an early bump, not the beta peak: look again
                                    self._r_max = rf
                                    self._t_beta = t_s
                                    self._q_beta = q
                        if ef < es * self._exp_drop:
                            if not self._exp_on:
                                self._exp_on = True
                                self._exp_count += 1
                                if self._exp_count == 1:
                                    self._t_exp = t_s
                        elif self._exp_on and ef > es * self._exp_rearm:
                            self._exp_on = False

        if self._fixed:
            if t_s >= self._t_fixed:
                return self._stop(StopReason.FIXED_TIME)
            return False
        if t_s >= self._t_max:
            return self._stop(StopReason.MAX_TIME)
        if t_s >= self._t_min:
            if q >= self._q_stop:
                return self._stop(StopReason.HEAT)
            if self._stop_on_exp and self._exp_count:
                return self._stop(StopReason.EXPULSION)
        return False

    def _confirm_beta(self) -> None:
        self._phase = 2
        scale = 1.0
        if self._norm and self._r_max > 0.0:
            scale = min(self._scale_hi, max(self._scale_lo, self._r_ref / self._r_max))
        self._scale = scale
        self._target = self._q_ref * scale
        self._q_stop = self._q_beta + self._target

    def _stop(self, reason: StopReason) -> bool:
        self._stopped = True
        self._reason = reason
        return True

    def result(self) -> TimerResult:
        """The weld as the timer saw it (valid at any time; final once stopped)."""
        beta = self._phase == 2
        return TimerResult(
            stop_reason=self._reason,
            t_stop_s=self._t if self._n else _NAN,
            samples=self._n,
            bad_samples=self._bad,
            energy_j=self._q,
            heat_after_peak_j=(self._q - self._q_beta) if beta else 0.0,
            heat_target_j=self._target,
            heat_scale=self._scale,
            t_alpha_s=self._t_alpha if self._phase else _NAN,
            r_alpha_uohm=self._r_alpha if self._phase else _NAN,
            beta_found=beta,
            t_beta_s=self._t_beta if beta else _NAN,
            r_beta_uohm=self._r_max if beta else _NAN,
            r_end_uohm=self._rf if self._have_r else _NAN,
            expulsion=self._exp_count > 0,
            t_expulsion_s=self._t_exp,
            expulsions=self._exp_count,
        )


# -- learning -------------------------------------------------------------------------


def _observer(config: TimerConfig) -> SpotReference:
    """A reference that never stops the weld: to read a recorded curve's features."""
    return SpotReference(
        heat_after_peak_j=math.inf, r_beta_uohm=1.0, t_beta_s=0.0, t_min_s=math.inf,
        t_max_s=math.inf, t_fixed_s=math.inf, config=config,
    )


CurveFeatures = TimerResult


def analyse_curve(curve: CurveLike, config: TimerConfig | None = None) -> TimerResult:
    """Alpha, beta, heat after the peak, expulsion of a recorded weld (no stop decision)."""
    c = _as_curve(curve)
    timer = AdaptiveWeldTimer(_observer(config or TimerConfig()))
    step = timer.step
    for t, i, u in zip(_floats(c.t_s), _floats(c.current_ka), _floats(c.voltage_v),
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
        ts = _floats(c.t_s)
        rs: list[float] = []
        rf = math.nan
        t_prev = None
        for t, i, u in zip(ts, _floats(c.current_ka), _floats(c.voltage_v), strict=True):
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
    ``t_min_s``/``t_max_s`` default to 0.5x and 1.5x that time.

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
    cs = [_as_curve(c) for c in curves]
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
    durations = [_floats(c.t_s)[-1] for c in good]
    t_fixed = statistics.median(durations)
    lo = t_min_s if t_min_s is not None else 0.5 * t_fixed
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
        statistics.fmean(_floats(c.current_ka)[len(c) // 2:]) for c in good if len(c) > 1
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
