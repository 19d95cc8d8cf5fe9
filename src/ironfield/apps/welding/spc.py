"""Statistical process control per spot: X-bar/R charts and process capability.

Control-chart constants are those tabulated by D. C. Montgomery, *Introduction to
Statistical Quality Control*, Appendix VI "Factors for constructing variables control
charts" (they follow from the distribution of the range of n normal samples:
``A2 = 3 / (d2 √n)``, ``D3 = max(0, 1 − 3 d3/d2)``, ``D4 = 1 + 3 d3/d2``).

Limits (phase I, from m subgroups of size n; Montgomery recommends 20-25 subgroups)::

    X-bar chart: CL = x̿,  UCL/LCL = x̿ ± A2 R̄
    R chart:     CL = R̄,  UCL = D4 R̄, LCL = D3 R̄
    σ̂ = R̄ / d2
    Cp  = (USL − LSL) / 6σ̂,  Cpk = min(USL − μ, μ − LSL) / 3σ̂

Out-of-control rules (Western Electric): 1 - a point beyond a control limit;
4 - eight consecutive subgroup means on one side of the centre line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class ChartConstants:
    n: int
    A2: float
    D3: float
    D4: float
    d2: float
    d3: float


# Montgomery, Introduction to Statistical Quality Control, Appendix VI.
MONTGOMERY: dict[int, ChartConstants] = {
    c.n: c
    for c in (
        ChartConstants(2, 1.880, 0.000, 3.267, 1.128, 0.853),
        ChartConstants(3, 1.023, 0.000, 2.574, 1.693, 0.888),
        ChartConstants(4, 0.729, 0.000, 2.282, 2.059, 0.880),
        ChartConstants(5, 0.577, 0.000, 2.114, 2.326, 0.864),
        ChartConstants(6, 0.483, 0.000, 2.004, 2.534, 0.848),
        ChartConstants(7, 0.419, 0.076, 1.924, 2.704, 0.833),
        ChartConstants(8, 0.373, 0.136, 1.864, 2.847, 0.820),
        ChartConstants(9, 0.337, 0.184, 1.816, 2.970, 0.808),
        ChartConstants(10, 0.308, 0.223, 1.777, 3.078, 0.797),
    )
}


def constants(n: int) -> ChartConstants:
    try:
        return MONTGOMERY[n]
    except KeyError:
        raise ValueError(f"subgroup size {n}: X-bar/R constants tabulated for 2..10") from None


@dataclass(frozen=True, slots=True)
class XbarRLimits:
    n: int
    subgroups: int
    center_x: float
    ucl_x: float
    lcl_x: float
    center_r: float
    ucl_r: float
    lcl_r: float
    sigma: float  # R̄ / d2


def xbar_r_limits(subgroups: Sequence[Sequence[float]]) -> XbarRLimits:
    """Phase-I limits from equal-size subgroups."""
    if not subgroups:
        raise ValueError("no subgroups")
    arr = np.asarray(subgroups, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError("subgroups must all have the same size")
    m, n = arr.shape
    c = constants(n)
    xbar = arr.mean(axis=1)
    r = arr.max(axis=1) - arr.min(axis=1)
    xbb = float(xbar.mean())
    rbar = float(r.mean())
    return XbarRLimits(
        n=n, subgroups=m, center_x=xbb, ucl_x=xbb + c.A2 * rbar, lcl_x=xbb - c.A2 * rbar,
        center_r=rbar, ucl_r=c.D4 * rbar, lcl_r=c.D3 * rbar, sigma=rbar / c.d2,
    )


@dataclass(frozen=True, slots=True)
class Capability:
    mean: float
    sigma: float
    cp: float
    cpk: float


def capability(mean: float, sigma: float, lsl: float | None, usl: float | None) -> Capability:
    """Cp and Cpk; a one-sided specification gives Cp = nan and Cpk from its side."""
    if sigma <= 0:
        raise ValueError("sigma must be positive")
    cp = (usl - lsl) / (6 * sigma) if lsl is not None and usl is not None else math.nan
    sides = []
    if usl is not None:
        sides.append((usl - mean) / (3 * sigma))
    if lsl is not None:
        sides.append((mean - lsl) / (3 * sigma))
    if not sides:
        raise ValueError("need at least one specification limit")
    return Capability(mean=mean, sigma=sigma, cp=cp, cpk=min(sides))


@dataclass(frozen=True, slots=True)
class Violation:
    subgroup: int  # index of the subgroup since limits were set
    rule: str
    value: float


class SpotChart:
    """An X-bar/R chart for one quantity of one spot, fed weld by weld.

    The first ``phase1`` subgroups set the limits; later subgroups are checked.
    """

    def __init__(self, n: int = 5, phase1: int = 20) -> None:
        constants(n)
        self.n = n
        self.phase1 = phase1
        self.limits: XbarRLimits | None = None
        self._current: list[float] = []
        self._history: list[list[float]] = []
        self._checked = 0
        self._side_run = 0
        self._last_side = 0

    @property
    def subgroups(self) -> list[list[float]]:
        return [list(g) for g in self._history]

    def add(self, value: float) -> list[Violation]:
        """One observation; returns the violations of the subgroup it completed, if any."""
        if not math.isfinite(value):
            return []
        self._current.append(value)
        if len(self._current) < self.n:
            return []
        group, self._current = self._current, []
        self._history.append(group)
        if self.limits is None:
            if len(self._history) >= self.phase1:
                self.limits = xbar_r_limits(self._history[-self.phase1:])
            return []
        return self._check(group)

    def _check(self, group: list[float]) -> list[Violation]:
        lim = self.limits
        assert lim is not None
        idx = self._checked
        self._checked += 1
        xbar = sum(group) / len(group)
        r = max(group) - min(group)
        out: list[Violation] = []
        if xbar > lim.ucl_x or xbar < lim.lcl_x:
            out.append(Violation(idx, "x-bar beyond control limit", xbar))
        if r > lim.ucl_r or r < lim.lcl_r:
            out.append(Violation(idx, "range beyond control limit", r))
        side = 1 if xbar > lim.center_x else -1 if xbar < lim.center_x else 0
        self._side_run = self._side_run + 1 if side == self._last_side and side else (
            1 if side else 0
        )
        self._last_side = side
        if self._side_run == 8:
            out.append(Violation(idx, "eight subgroup means on one side of the centre", xbar))
        return out

    def capability(self, lsl: float | None, usl: float | None) -> Capability | None:
        if self.limits is None:
            return None
        return capability(self.limits.center_x, self.limits.sigma, lsl, usl)
