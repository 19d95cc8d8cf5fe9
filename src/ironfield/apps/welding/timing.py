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
   beta peak on, the weld stops when ``Q(t) − Q(t_beta)`` reaches the spot's reference
   times ``s = (R_beta,ref / R_beta) · (t_beta / t_beta,ref)^k`` (``k =
   beta_time_exponent``, 1; ``s`` clamped to ``heat_scale_bounds``, 0.5-2):

   - ``R_beta,ref / R_beta``: a lower peak resistance means a larger contact (worn
     electrode, thick zinc) with more metal to melt, or a shunt taking the fraction
     ``1 − R_beta/R_w`` of the measured power away from the weld; both need
     proportionally more measured heat.
   - ``t_beta / t_beta,ref``: the time to the resistance maximum measures the heat
     balance of the weld up to melting, i.e. current density against the mass to heat
     and the losses. A late peak (shunt, worn face, thick zinc: less current density)
     means the nugget also grows more slowly and loses more heat to the electrodes, so
     it needs more measured heat; an early peak (higher current density: poor fit-up /
     sheet gap, which presses a smaller contact and weakens the corona bond that holds
     the liquid [Zhang & Senkara, ch. 5 and 8]) means the nugget grows fast towards the
     expulsion limit, so the weld is ended with proportionally less heat. This is the
     principle of Harms & Wende IQR, which judges each weld by the time of its
     resistance maximum against the reference and corrects time and current from it
     (``k = 1``, proportional, is the un-tuned choice; ``docs/bench/welding.md`` shows
     what each part does on the simulator).
5. The stop is clamped to ``[t_min, t_max]``: never before ``t_min``; at ``t_max``
   regardless (also when no beta peak was found, which the result reports). ``t_min``
   is only a guard (``learn_reference`` puts it at 1/3 of the fixed time): a fast weld
   over a gap needs to stop well before half the schedule.
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
- H. Zhang, J. Senkara, "Resistance Welding: Fundamentals and Applications", 2nd ed.,
  CRC Press, 2011 (ch. 5 expulsion, ch. 8 fit-up / part gap and shunting).
"""

from ironfield.apps.welding.learning import CurveFeatures, analyse_curve, learn_reference
from ironfield.apps.welding.timer import AdaptiveWeldTimer
from ironfield.apps.welding.timing_types import (
    CurveLike,
    FloatSeries,
    ResistanceBand,
    SpotReference,
    SpotReferenceError,
    StopReason,
    TimerConfig,
    TimerResult,
    WeldCurve,
)

__all__ = [
    "AdaptiveWeldTimer",
    "CurveFeatures",
    "CurveLike",
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
