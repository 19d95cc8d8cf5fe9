"""Electrode care: wear estimate, current stepping and tip-dress requests.

The electrode faces grow as they wear ("mushrooming"); at constant current the current
density, and with it the nugget, falls. Shops answer with a *stepper* (current raised with
the weld count since dressing, e.g. the heat stepper of Bosch Rexroth PSI 6000 timers)
and *tip dressing* at an interval. Both are usually set by count alone.

:class:`WearModel` adds the evidence of the welds themselves: the beta-peak resistance is
the resistance of the weld zone at the onset of melting, inversely proportional to the
contact area, so ``d_face ≈ d_face,new · sqrt(R_beta,new / R_beta)`` [Dickinson et al.
1980]. The model blends that drift (smoothed, EWMA) with a count-based prior, steps the
current to hold the current density ``I / d_face²`` partly constant, and asks for a dress
before the estimated face outgrows its limit, or when the stepper has run out of range.
It is per gun *and* stack-up (the resistance level depends on the stack-up), so a gun
welding several stack-ups keeps one model per spot family.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LinearStepper:
    """The conventional stepper: current raised linearly with welds since dressing."""

    increase: float = 0.06  # relative increase reached at ``over_welds``
    over_welds: int = 250

    def factor(self, welds_since_dress: int) -> float:
        return 1.0 + self.increase * min(welds_since_dress, self.over_welds) / self.over_welds


@dataclass(frozen=True, slots=True)
class ElectrodeAdvice:
    """What the wear model recommends for the next weld."""

    current_factor: float  # multiply the schedule's current by this
    dress_requested: bool
    reason: str
    face_est_mm: float
    life_used: float  # 0 fresh .. 1 at the face limit


class WearModel:
    """Per-gun wear estimate from weld count and resistance drift; stepper and dress advice.

    Parameters
    ----------
    face_new_mm:
        Face diameter after dressing.
    face_limit_mm:
        Dress before the estimated face grows beyond this.
    growth_per_weld:
        Prior: relative contact-area growth per weld (galvanised ~5e-4, uncoated ~1.5e-4).
    exponent:
        Current stepping ``I = I0 · (d/d_new)^exponent``: 2 keeps the current density,
        1 (default) is the usual compromise against expulsion with fresh-ish faces.
    max_factor:
        The stepper's ceiling; reaching it requests a dress.
    """

    def __init__(
        self,
        face_new_mm: float,
        *,
        face_limit_mm: float | None = None,
        growth_per_weld: float = 5e-4,
        exponent: float = 1.0,
        max_factor: float = 1.15,
        smoothing: float = 0.1,
        drift_weight: float = 0.5,
        max_welds: int = 400,
    ) -> None:
        self.face_new_mm = face_new_mm
        self.face_limit_mm = face_limit_mm if face_limit_mm is not None else 1.12 * face_new_mm
        self.growth_per_weld = growth_per_weld
        self.exponent = exponent
        self.max_factor = max_factor
        self.smoothing = smoothing
        self.drift_weight = drift_weight
        self.max_welds = max_welds
        self.welds = 0
        self._r_new: float | None = None
        self._r_ewma: float | None = None
        self._fresh: list[float] = []

    def dressed(self) -> None:
        """The tips were dressed: back to a new face, relearn the fresh resistance level."""
        self.welds = 0
        self._r_ewma = None
        self._fresh = []

    def record(self, r_beta_uohm: float | None) -> None:
        """One weld done; ``r_beta_uohm`` its beta-peak resistance (None/NaN: no peak)."""
        self.welds += 1
        if r_beta_uohm is None or not math.isfinite(r_beta_uohm) or r_beta_uohm <= 0:
            return
        if len(self._fresh) < 10 and self.welds <= 15:
            # The first welds after a dress set the "new face" level (median of ten).
            self._fresh.append(r_beta_uohm)
            if len(self._fresh) == 10:
                fresh = sorted(self._fresh)
                self._r_new = 0.5 * (fresh[4] + fresh[5])
        a = self.smoothing
        self._r_ewma = r_beta_uohm if self._r_ewma is None else (
            self._r_ewma + a * (r_beta_uohm - self._r_ewma)
        )

    def face_prior_mm(self) -> float:
        return self.face_new_mm * math.sqrt(1.0 + self.growth_per_weld * self.welds)

    def face_from_drift_mm(self) -> float | None:
        if self._r_new is None or self._r_ewma is None or len(self._fresh) < 10:
            return None
        return self.face_new_mm * math.sqrt(max(self._r_new / self._r_ewma, 0.5))

    def face_est_mm(self) -> float:
        prior = self.face_prior_mm()
        drift = self.face_from_drift_mm()
        if drift is None:
            return prior
        w = self.drift_weight
        return (1.0 - w) * prior + w * drift

    def advice(self) -> ElectrodeAdvice:
        face = self.face_est_mm()
        ratio = max(face / self.face_new_mm, 1.0)
        factor = ratio**self.exponent
        span = self.face_limit_mm - self.face_new_mm
        life = (face - self.face_new_mm) / span if span > 0 else 1.0
        reason = ""
        if face >= self.face_limit_mm:
            reason = f"face {face:.2f} mm >= limit {self.face_limit_mm:.2f} mm"
        elif factor >= self.max_factor:
            reason = f"stepper at its ceiling (x{self.max_factor:.2f})"
        elif self.welds >= self.max_welds:
            reason = f"{self.welds} welds since dressing (max {self.max_welds})"
        return ElectrodeAdvice(
            current_factor=min(factor, self.max_factor),
            dress_requested=bool(reason),
            reason=reason,
            face_est_mm=face,
            life_used=max(0.0, min(life, 1.0)),
        )
