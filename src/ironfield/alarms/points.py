"""Alarm points as columns, and the vectorised condition tracking that drives them.

Every alarm (a limit level, a rate, a deviation, ...) is one *point*: a row in numpy
columns of parameters (limit, deadband, delays) and tracked state (condition, since when,
delayed alarm output). A batch becomes *samples* ``(point, ts, value, decision)`` where the
decision is +1 "in alarm", -1 "clear" or 0 "inside the deadband, keep what you had". The
tracking then needs no Python loop per value:

- deadband (hysteresis) [1]_: the condition at a sample is the last non-zero decision of
  its point, seeded with the point's condition from before the batch;
- on/off delays [1]_: the alarm output changes only at a sample where the condition has
  held for at least the on-delay (off-delay); otherwise it keeps its previous output.

Both are "carry the last decisive sample forward within a group", which
``np.maximum.accumulate`` over the indices of decisive samples does in one pass. Only the
few samples where the output changes go back to Python, as transitions.

.. [1] ANSI/ISA-18.2-2016, Management of Alarm Systems for the Process Industries:
       alarm deadband and on-delay/off-delay as means against chattering alarms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Int8s = npt.NDArray[np.int8]

LIMIT, RATE, DEVIATION, STALE, STATE, EXPRESSION = range(6)
KIND_NAMES = ("limit", "rate", "deviation", "stale", "state", "expression")


@dataclass(frozen=True, slots=True)
class Samples:
    """Decisions for points, contiguous per point and time-ordered within a point."""

    point: Ints
    ts: Ints
    value: Floats
    decision: Int8s

    def __len__(self) -> int:
        return len(self.point)

    @classmethod
    def empty(cls) -> Samples:
        return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64),
                   np.empty(0, np.int8))

    @classmethod
    def concat(cls, parts: list[Samples]) -> Samples:
        parts = [s for s in parts if len(s)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(np.concatenate([s.point for s in parts]), np.concatenate([s.ts for s in parts]),
                   np.concatenate([s.value for s in parts]),
                   np.concatenate([s.decision for s in parts]))


@dataclass(frozen=True, slots=True)
class Changes:
    """Points whose alarm output changed: to ``active`` at ``ts`` with the deciding value."""

    point: Ints
    ts: Ints
    value: Floats
    active: Bools

    def __len__(self) -> int:
        return len(self.point)


def decide_analog(x: Floats, limit: Floats, deadband: Floats, direction: Int8s) -> Int8s:
    """+1 beyond the limit, -1 back inside by more than the deadband, 0 in between.

    ``direction`` +1 alarms above the limit, -1 below it, 0 on the magnitude ``|x|``
    [all in the signal's unit].
    """
    excess = np.where(direction == 0, np.abs(x) - limit, direction * (x - limit))
    out: Int8s = (excess > 0).astype(np.int8) - (excess < -deadband).astype(np.int8)
    return out


def _carry(marks: Bools) -> Ints:
    """Index of the last marked position at or before each position (position 0 is marked)."""
    idx = np.where(marks, np.arange(len(marks)), 0)
    out: Ints = np.maximum.accumulate(idx)
    return out


class Points:
    """Parameters and tracked state of every alarm point, one numpy column each."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.kind = np.zeros(n, np.int8)
        self.signal = np.full(n, -1, np.int64)
        self.limit = np.full(n, np.nan)
        self.deadband = np.zeros(n)
        self.direction = np.zeros(n, np.int8)
        self.scale = np.ones(n)  # a rate's 'per' [s]
        self.state_mask = np.zeros(n, np.uint64)
        self.on_delay = np.zeros(n, np.int64)  # [ns]
        self.off_delay = np.zeros(n, np.int64)  # [ns]
        self.cond = np.zeros(n, np.bool_)
        self.cond_since = np.zeros(n, np.int64)
        self.alarm = np.zeros(n, np.bool_)
        self.value = np.full(n, np.nan)

    def advance(self, s: Samples) -> Changes:
        """Apply samples; return where the (delayed) alarm output changed."""
        n = len(s)
        p, t = s.point, s.ts
        if n == 0:
            return Changes(p, t, s.value, np.empty(0, np.bool_))
        start = np.empty(n, np.bool_)
        start[0] = True
        np.not_equal(p[1:], p[:-1], out=start[1:])
        first = np.flatnonzero(start)
        if len(first) == n:
            return self._advance_single(s)
        pf = p[first]

        # Deadband: carry the last decisive sample; a group opens with the old condition.
        d = s.decision.copy()
        d[first] = np.where(d[first] == 0, np.where(self.cond[pf], 1, -1), d[first])
        c = d[_carry(d != 0)] > 0

        # Start of the current run of equal condition, carried over from before the batch.
        prev = np.empty(n, np.bool_)
        prev[1:] = c[:-1]
        prev[first] = self.cond[pf]
        newrun = c != prev
        rs = np.where(newrun, t, 0)
        rs[first] = np.where(newrun[first], t[first], self.cond_since[pf])
        marks = newrun
        marks[first] = True
        since = rs[_carry(marks)]

        # Delays: the output follows the condition once it has held long enough.
        delay = np.where(c, self.on_delay[p], self.off_delay[p])
        a = np.where((t - since) >= delay, np.where(c, 1, -1), 0).astype(np.int8)
        a[first] = np.where(a[first] == 0, np.where(self.alarm[pf], 1, -1), a[first])
        out = a[_carry(a != 0)] > 0

        prev[1:] = out[:-1]
        prev[first] = self.alarm[pf]
        changed = np.flatnonzero(out != prev)

        last = np.empty(len(first), np.int64)
        last[:-1] = first[1:] - 1
        last[-1] = n - 1
        self.cond[pf] = c[last]
        self.cond_since[pf] = since[last]
        self.alarm[pf] = out[last]
        self.value[pf] = s.value[last]
        return Changes(p[changed], (since + delay)[changed], s.value[changed], out[changed])

    def _advance_single(self, s: Samples) -> Changes:
        """The same rules when each point has one sample (the usual live batch): no carry."""
        p, t, d = s.point, s.ts, s.decision
        old_c, old_a = self.cond[p], self.alarm[p]
        c = np.where(d == 0, old_c, d > 0)
        since = np.where(c != old_c, t, self.cond_since[p])
        delay = np.where(c, self.on_delay[p], self.off_delay[p])
        out = np.where(t - since >= delay, c, old_a)
        changed = np.flatnonzero(out != old_a)
        self.cond[p] = c
        self.cond_since[p] = since
        self.alarm[p] = out
        self.value[p] = s.value
        return Changes(p[changed], (since + delay)[changed], s.value[changed], out[changed])

    def due(self, now: int) -> Changes:
        """Points whose condition has now held through its delay without a new sample."""
        pending = self.cond != self.alarm
        delay = np.where(self.cond, self.on_delay, self.off_delay)
        idx = np.flatnonzero(pending & (now - self.cond_since >= delay))
        self.alarm[idx] = self.cond[idx]
        return Changes(idx.astype(np.int64), self.cond_since[idx] + delay[idx],
                       self.value[idx], self.alarm[idx].copy())

    def force(self, point: int, active: bool, ts: int) -> None:
        """Set a point's tracked state outright (restore from the journal)."""
        self.cond[point] = active
        self.alarm[point] = active
        self.cond_since[point] = ts


class SignalIndex:
    """Which points read each signal (CSR layout), and expansion of samples to points."""

    def __init__(self, points: npt.ArrayLike, signals: npt.ArrayLike, n_signals: int) -> None:
        pts = np.asarray(points, np.int64)
        sig = np.asarray(signals, np.int64)
        order = np.argsort(sig, kind="stable")
        self.points = pts[order]
        self.count = np.bincount(sig, minlength=n_signals).astype(np.int64)
        self.ptr = np.zeros(n_signals + 1, np.int64)
        np.cumsum(self.count, out=self.ptr[1:])

    def expand(self, sig: Ints, first: Ints) -> tuple[Ints, Ints]:
        """For rows grouped by signal (groups open at ``first``), every (point, row) pair,
        ordered point by point and, within a point, in row order."""
        n = len(sig)
        if n == 0 or len(first) == 0:
            e = np.empty(0, np.int64)
            return e, e
        glen = np.diff(np.append(first, n))
        gs = sig[first]
        k = self.count[gs]
        tot = glen * k
        total = int(tot.sum())
        if total == 0:
            e = np.empty(0, np.int64)
            return e, e
        g = np.repeat(np.arange(len(first)), tot)
        o = np.arange(total) - (np.cumsum(tot) - tot)[g]
        gl = glen[g]
        if int(glen.max()) == 1:
            j, rows = o, first[g]
        else:
            j, r = np.divmod(o, gl)
            rows = first[g] + r
        return self.points[self.ptr[gs][g] + j], rows
