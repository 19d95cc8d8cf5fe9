"""Central optimisation of a spot's reference: learn from passing welds and QA results.

A :class:`SpotLearner` keeps one spot's :class:`~ironfield.apps.welding.timing.SpotReference`
up to date and records every change as a :class:`ReferenceUpdate` (the audit trail the
write-back of updated schedules carries):

* **QA results** (chisel or ultrasonic nugget diameter of a weld it has seen) correct the
  heat target. The molten volume of a lens of fixed height grows with ``d²`` and, past
  the beta peak, roughly in proportion to the heat delivered, so the heat this weld
  *should* have had for the nominal nugget is ``h · (d_nominal/d)²`` (bounded to ±25 %),
  where ``h = heat_after_peak / heat_scale`` is the weld's heat in reference terms.
  An expelled weld suggests 10 % less. The reference moves a share ``gain`` of the way.
* **Passing welds** (no fault suspected) refresh the fixed-time fallback: the median
  duration of recent passing welds, so that switching a spot to fixed time reproduces
  what has recently worked, and the expected beta time.

The resistance level of the reference (``r_beta_uohm``) is *not* tracked: the heat
normalisation compares each weld against the level the heat target was learned at.
"""

from __future__ import annotations

import statistics
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ironfield.apps.welding.timing import SpotReference, TimerResult
from ironfield.core.errors import IronfieldError


class UnknownWeldError(IronfieldError, KeyError):
    """A QA result for a weld this spot has not seen (or no longer remembers)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown weld"


@dataclass(frozen=True, slots=True)
class ReferenceUpdate:
    spot_id: str
    ts_ns: int
    reason: str
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Seen:
    heat_ref_terms: float  # heat after peak / heat scale (nan if no peak)
    duration_s: float
    t_beta_s: float
    passed: bool


_TRACKED = ("heat_after_peak_j", "t_fixed_s", "t_beta_s", "mode", "n_welds")


class SpotLearner:
    def __init__(
        self,
        spot_id: str,
        reference: SpotReference,
        *,
        window: int = 500,
        gain: float = 0.3,
        refresh_every: int = 50,
        min_passing: int = 20,
        heat_bounds: tuple[float, float] = (0.6, 1.6),
    ) -> None:
        self.spot_id = spot_id
        self.reference = reference
        self.initial_heat = reference.heat_after_peak_j
        self.window = window
        self.gain = gain
        self.refresh_every = refresh_every
        self.min_passing = min_passing
        self.heat_bounds = heat_bounds
        self.history: list[ReferenceUpdate] = []
        self._seen: OrderedDict[str, _Seen] = OrderedDict()
        self._since_refresh = 0

    def _snapshot(self) -> dict[str, Any]:
        d = self.reference.to_dict()
        return {k: d[k] for k in _TRACKED}

    def _commit(self, new: SpotReference, reason: str, ts_ns: int) -> ReferenceUpdate | None:
        before = self._snapshot()
        self.reference = new
        after = self._snapshot()
        if before == after:
            return None
        upd = ReferenceUpdate(self.spot_id, ts_ns, reason, before, after)
        self.history.append(upd)
        return upd

    def observe(
        self, weld_id: str, result: TimerResult, *, passed: bool, ts_ns: int
    ) -> ReferenceUpdate | None:
        """A finished weld of this spot; ``passed``: no fault suspected on it."""
        heat = (
            result.heat_after_peak_j / result.heat_scale
            if result.beta_found and result.heat_scale > 0
            else float("nan")
        )
        self._seen[weld_id] = _Seen(heat, result.t_stop_s, result.t_beta_s, passed)
        self._seen.move_to_end(weld_id)
        while len(self._seen) > self.window:
            self._seen.popitem(last=False)
        self._since_refresh += 1
        if self._since_refresh >= self.refresh_every:
            self._since_refresh = 0
            return self.refresh(ts_ns)
        return None

    def refresh(self, ts_ns: int) -> ReferenceUpdate | None:
        """Re-derive the fixed-time fallback and beta time from recent passing welds."""
        passing = [s for s in self._seen.values() if s.passed]
        if len(passing) < self.min_passing:
            return None
        ref = self.reference
        t_fixed = statistics.median(s.duration_s for s in passing)
        t_fixed = min(max(t_fixed, ref.t_min_s), ref.t_max_s)
        betas = [s.t_beta_s for s in passing if s.t_beta_s == s.t_beta_s]
        t_beta = round(statistics.median(betas), 4) if betas else ref.t_beta_s
        new = ref.with_updates(t_fixed_s=round(t_fixed, 4), t_beta_s=t_beta)
        return self._commit(new, f"refresh from {len(passing)} passing welds", ts_ns)

    def qa(
        self,
        weld_id: str,
        *,
        nugget_mm: float,
        d_nominal_mm: float,
        expelled: bool = False,
        ts_ns: int,
    ) -> ReferenceUpdate | None:
        """A chisel or ultrasonic result for one of this spot's welds."""
        seen = self._seen.get(weld_id)
        if seen is None:
            raise UnknownWeldError(
                f"QA result for weld {weld_id!r}: spot {self.spot_id!r} has no such weld "
                f"(last {len(self._seen)} kept)"
            )
        ref = self.reference
        if ref.mode != "adaptive" or seen.heat_ref_terms != seen.heat_ref_terms:
            return None
        if expelled:
            ratio = 0.9
            why = "expelled"
        elif nugget_mm <= 0:
            ratio = 1.25
            why = "no nugget"
        else:
            ratio = min(1.25, max(0.8, (d_nominal_mm / nugget_mm) ** 2))
            why = f"nugget {nugget_mm:.2f} mm vs nominal {d_nominal_mm:.2f} mm"
        suggested = seen.heat_ref_terms * ratio
        heat = ref.heat_after_peak_j + self.gain * (suggested - ref.heat_after_peak_j)
        lo, hi = self.heat_bounds
        heat = min(max(heat, lo * self.initial_heat), hi * self.initial_heat)
        new = ref.with_updates(heat_after_peak_j=round(heat, 2))
        return self._commit(new, f"QA of {weld_id}: {why}", ts_ns)
