"""The streaming stop decision: :class:`AdaptiveWeldTimer` (method in ``timing``'s docstring).

Per sample it is plain float arithmetic on ``__slots__`` attributes, no allocation: a
few microseconds in CPython (``bench/welding_controller_cost.py``). Standard library only.
"""

from __future__ import annotations

import math

from ironfield.apps.welding.timing_types import SpotReference, StopReason, TimerResult

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
        "_bt_exp",
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
        "_t_beta_ref",
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
        self._t_beta_ref = t_beta_ref
        self._bt_exp = cfg.beta_time_exponent
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
            # Same formula as timing_types.heat_scale, inlined: see timing, step 4.
            scale = self._r_ref / self._r_max
            t_beta = self._t_beta - self._t0
            if self._bt_exp and self._t_beta_ref > 0.0 and t_beta > 0.0:
                scale *= (t_beta / self._t_beta_ref) ** self._bt_exp
            scale = min(self._scale_hi, max(self._scale_lo, scale))
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
