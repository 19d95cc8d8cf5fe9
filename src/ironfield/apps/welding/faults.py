"""Fault detection on finished welds, and how to score it.

Bad welds are rare (the issue quotes about 4 % in published production data), so a
detector that calls every weld good is ~96 % "accurate" and worthless. Detectors here are
scored by precision (of the welds flagged, how many were bad) and recall (of the bad
welds, how many were flagged), with Wilson intervals, never by accuracy.

:class:`FaultDetector` is a transparent rule set over what the adaptive timer measured
(:class:`~ironfield.apps.welding.timing.TimerResult`) against the spot's reference:

- an expulsion was detected (sharp resistance drop);
- no beta peak: the weld may never have melted;
- less heat after the beta peak than the spot needed (e.g. a weld stopped at its
  maximum time, or a fixed-time weld that melted late);
- the beta-peak resistance far below the reference (heavy shunt or worn faces: the
  heat normalisation is then at its bound and cannot make up for it);
- the total energy far below the reference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ironfield.apps.welding.stats import wilson_interval
from ironfield.apps.welding.timing import SpotReference, TimerResult
from ironfield.apps.welding.timing_types import heat_scale


@dataclass(frozen=True, slots=True)
class FaultVerdict:
    suspect: bool
    reasons: tuple[str, ...]


class FaultDetector:
    def __init__(
        self,
        reference: SpotReference,
        *,
        heat_shortfall: float = 0.9,
        r_beta_low: float = 0.7,
        energy_low: float = 0.7,
        heat_scale_bounds: tuple[float, float] = (0.75, 1.6),
    ) -> None:
        self.reference = reference
        self.heat_scale_bounds = heat_scale_bounds
        self.heat_shortfall = heat_shortfall
        self.r_beta_low = r_beta_low
        self.energy_low = energy_low

    def expected_heat_j(self, result: TimerResult) -> float:
        """The heat after the peak this weld needed: the reference scaled by R_beta,ref/R_beta
        within the detector's own ``heat_scale_bounds`` (the resistance part of the timer's
        rule; ``check`` also never expects more than the timer's own target)."""
        ref = self.reference
        cfg = replace(ref.config, heat_scale_bounds=self.heat_scale_bounds,
                      beta_time_exponent=0.0)
        scale = heat_scale(cfg, ref.r_beta_uohm, result.r_beta_uohm, ref.t_beta_s,
                           result.t_beta_s)
        return ref.heat_after_peak_j * scale

    def check(self, result: TimerResult) -> FaultVerdict:
        ref = self.reference
        reasons: list[str] = []
        if result.expulsion:
            reasons.append(f"expulsion at {result.t_expulsion_s * 1000:.0f} ms")
        if not result.beta_found:
            reasons.append("no beta peak: nugget may not have formed")
        elif ref.mode == "adaptive":
            target = self.expected_heat_j(result)
            if result.heat_target_j == result.heat_target_j:
                # The timer's own target already allows for an early beta peak (a hot weld
                # ended early on purpose); never expect more than it asked for.
                target = min(target, result.heat_target_j)
            if result.heat_after_peak_j < self.heat_shortfall * target:
                reasons.append(
                    f"{result.heat_after_peak_j:.0f} J after the beta peak, "
                    f"{target:.0f} J expected"
                )
        if (
            result.beta_found
            and ref.r_beta_uohm > 0
            and result.r_beta_uohm < self.r_beta_low * ref.r_beta_uohm
        ):
            reasons.append(
                f"beta resistance {result.r_beta_uohm:.0f} µΩ << reference "
                f"{ref.r_beta_uohm:.0f} µΩ (shunt or worn faces)"
            )
        # A weld the timer ended early on purpose (early beta peak: a hot, fast weld) needs
        # less energy: expect the reference's energy times the timer's heat scale (<= 1).
        e_ref = ref.energy_j * min(1.0, result.heat_scale if result.beta_found else 1.0)
        if math.isfinite(e_ref) and result.energy_j < self.energy_low * e_ref:
            reasons.append(f"energy {result.energy_j:.0f} J << expected {e_ref:.0f} J")
        return FaultVerdict(bool(reasons), tuple(reasons))


@dataclass(frozen=True, slots=True)
class DetectionScore:
    tp: int
    fp: int
    fn: int
    tn: int
    precision: float
    recall: float
    f1: float
    precision_ci: tuple[float, float]
    recall_ci: tuple[float, float]
    prevalence: float

    def summary(self) -> str:
        return (
            f"precision {self.precision:.2f} [{self.precision_ci[0]:.2f}, "
            f"{self.precision_ci[1]:.2f}], recall {self.recall:.2f} [{self.recall_ci[0]:.2f}, "
            f"{self.recall_ci[1]:.2f}], F1 {self.f1:.2f}; prevalence {self.prevalence:.1%} "
            f"(tp {self.tp}, fp {self.fp}, fn {self.fn}, tn {self.tn})"
        )


def score_detection(predicted: Sequence[bool], actual: Sequence[bool]) -> DetectionScore:
    """Precision/recall of fault predictions against the truth (True = faulty weld)."""
    if len(predicted) != len(actual):
        raise ValueError(f"{len(predicted)} predictions but {len(actual)} truths")
    tp = fp = fn = tn = 0
    for p, a in zip(predicted, actual, strict=True):
        if p and a:
            tp += 1
        elif p:
            fp += 1
        elif a:
            fn += 1
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else math.nan
    recall = tp / (tp + fn) if tp + fn else math.nan
    f1 = (
        2 * precision * recall / (precision + recall)
        if tp and math.isfinite(precision) and math.isfinite(recall)
        else 0.0
    )
    n = len(actual)
    return DetectionScore(
        tp=tp, fp=fp, fn=fn, tn=tn, precision=precision, recall=recall, f1=f1,
        precision_ci=wilson_interval(tp, tp + fp), recall_ci=wilson_interval(tp, tp + fn),
        prevalence=(tp + fn) / n if n else math.nan,
    )
