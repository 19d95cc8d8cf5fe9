"""Data types of the adaptive weld timer: curves, configuration, reference, result.

Standard library only (see :mod:`ironfield.apps.welding.timing` for the public API and
the method). Units: time [s], current [kA], voltage [V], resistance [µΩ], heat [J].
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal, Protocol

from ironfield.core.errors import IronfieldError


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


def to_floats(xs: FloatSeries) -> list[float]:
    tolist = getattr(xs, "tolist", None)
    if tolist is not None:
        out = tolist()
        if isinstance(out, list):
            return [float(x) for x in out]
    return [float(x) for x in xs]


def as_curve(c: CurveLike) -> WeldCurve:
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
    heat_scale_bounds: tuple[float, float] = (0.5, 2.0)
    normalise_heat: bool = True
    beta_time_exponent: float = 1.0  # heat target x (t_beta / t_beta,ref)^this; 0: off
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


def heat_scale(config: TimerConfig, r_beta_ref: float, r_beta: float, t_beta_ref: float,
               t_beta: float) -> float:
    """The factor on the reference heat after the peak for one weld (``timing``, step 4).

    ``(R_beta,ref / R_beta) · (t_beta / t_beta,ref)^k`` clamped to ``heat_scale_bounds``;
    1 when normalisation is off. Times are since the current started [s].
    """
    if not (config.normalise_heat and r_beta > 0.0):
        return 1.0
    scale = r_beta_ref / r_beta
    k = config.beta_time_exponent
    if k and t_beta_ref > 0.0 and t_beta > 0.0:
        scale *= (t_beta / t_beta_ref) ** k
    lo, hi = config.heat_scale_bounds
    return min(hi, max(lo, scale))


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
