"""The alarm engine: rules evaluated on the live stream of batches, ISA-18.2 lifecycle.

``process(batch)`` turns a batch into per-point decisions with numpy (limits, rates and
discrete states per value; deviations, expressions and designed suppression once per batch
on the newest values), tracks deadband and delays column-wise (:mod:`.points`) and sends
only the resulting transitions through the lifecycle (:mod:`.lifecycle`). Each transition
is handed to ``emit`` as an ``"alarm"`` event for the journal and the live feed.

``tick(now_ns)`` is the clock: stale-data checks, on/off delays that elapse without a new
sample, and shelving expiry. The runtime calls it about once a second.

The engine is not thread-safe: call it from one task (the runtime's alarm consumer).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ironfield.alarms import journal, lifecycle
from ironfield.alarms.build import Compiled, ExprGroup, compile_rules
from ironfield.alarms.errors import UnknownAlarmError
from ironfield.alarms.expr_eval import truthy
from ironfield.alarms.lifecycle import ANNOUNCED, AlarmRecord, AlarmState, Transition
from ironfield.alarms.points import STATE, Changes, Samples, decide_analog
from ironfield.alarms.rules import PRIORITIES, Rule, parse_rules_located
from ironfield.core.batch import Batch
from ironfield.core.events import Event
from ironfield.core.quality import is_bad
from ironfield.core.signals import SignalRegistry, in_subtree
from ironfield.core.timeutil import now_ns

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Emit = Callable[[Event], None]


def _firsts(sig: Ints) -> Ints:
    if len(sig) == 0:
        return np.empty(0, np.int64)
    start = np.empty(len(sig), np.bool_)
    start[0] = True
    np.not_equal(sig[1:], sig[:-1], out=start[1:])
    return np.flatnonzero(start)


def _lasts(first: Ints, n: int) -> Ints:
    last = np.empty(len(first), np.int64)
    last[:-1] = first[1:] - 1
    if len(first):
        last[-1] = n - 1
    return last


def _suppress_step(rec: AlarmRecord, on: bool, ts: int) -> Transition | None:
    return lifecycle.set_suppressed(rec, on, ts, "system", "designed suppression")


class AlarmEngine:
    """Evaluate alarm rules on batches and keep every alarm's ISA-18.2 state."""

    def __init__(self, rules: Sequence[Rule | dict[str, Any]], registry: SignalRegistry,
                 emit: Emit | None = None) -> None:
        """``rules``: the plant file's ``alarms`` dicts (errors then name ``alarms[i]``) or
        rule models; ``emit`` receives every alarm event."""
        raw = [r for r in rules if isinstance(r, dict)]
        located = parse_rules_located(raw) if raw else []
        models = [(f"rules[{i}]", r) for i, r in enumerate(rules) if not isinstance(r, dict)]
        self.rules: list[Rule] = [r for _, r in located + models]
        self.registry = registry
        self._emit = emit or (lambda e: None)
        self.c: Compiled = compile_rules(self.rules, registry, [w for w, _ in located + models])
        ns = self.c.n_signals
        self._last_v = self.c.last_value  # the array expression readers look at
        self._last_t = np.full(ns, -1, np.int64)
        self._good_t = np.full(ns, -1, np.int64)  # last good sample: what 'stale' watches
        self._prev_v = np.full(ns, np.nan)  # last good sample, for rates
        self._prev_t = np.full(ns, -1, np.int64)
        self._t0: int | None = None  # first tick: the reference for never-seen stale signals
        self._oos: dict[str, bool] = {}
        self._shelved: set[int] = set()  # points with a shelving expiry to watch
        self._ids = journal.EventIds()
        e = np.empty(0, np.int64)
        self._layout_cache: tuple[npt.NDArray[np.int32], Ints, Ints] = (e.astype(np.int32), e, e)
        self.evaluations = 0  # (value, rule) pairs decided, for the benchmark

    # --- the stream --------------------------------------------------------------------

    def process(self, batch: Batch) -> list[Event]:
        """Evaluate one batch; return (and emit) the alarm events it caused."""
        if len(batch) == 0:
            return []
        ns = self.c.n_signals
        idx, s = self._layout(batch)
        if len(idx) == 0:
            return []
        t, v, q = batch.ts[idx], batch.value[idx], batch.quality[idx]
        good = ~is_bad(q) & np.isfinite(v)
        first = _firsts(s)
        last = _lasts(first, len(s))
        self._update_latest(s[last], t[last], np.where(good[last], v[last], np.nan))
        touched = np.zeros(ns, np.bool_)
        touched[s[first]] = True

        events = self._suppress(touched)
        if not good.all():
            s, t, v = s[good], t[good], v[good]
            first = _firsts(s)
        fresh = np.zeros(ns, np.bool_)
        if len(s):
            gl = _lasts(first, len(s))
            sg = s[gl]
            self._good_t[sg] = np.maximum(self._good_t[sg], t[gl])
            fresh[sg] = True
        parts = [self._values(s, t, v, first), self._rates(s, t, v, first),
                 self._stale_clear(fresh), self._deviations(touched), self._exprs(touched)]
        events += self._changes(self.c.points.advance(Samples.concat(parts)))
        return events

    def _layout(self, batch: Batch) -> tuple[Ints, Ints]:
        """Which rows any rule reads, grouped by signal and time-ordered within a signal:
        (row indexes into the batch, their signals)."""
        sig = batch.signal
        # A connector walks its devices in the same order every cycle: reuse the layout.
        key, idx, s = self._layout_cache
        if len(key) == len(sig) and np.array_equal(key, sig):
            return idx, s
        ns = self.c.n_signals
        inr = (sig >= 0) & (sig < ns)
        idx = np.flatnonzero(self.c.relevant[np.where(inr, sig, 0)] & inr)
        s = sig[idx].astype(np.int64)
        if len(s) > 1 and not bool(np.all(s[1:] > s[:-1])):
            order = np.argsort(s, kind="stable")
            same = s[order][1:] == s[order][:-1]
            if same.any():
                t = batch.ts[idx][order]
                if bool((t[1:] < t[:-1])[same].any()):  # repeats out of time order
                    order = np.lexsort((batch.ts[idx], s))
                idx, s = idx[order], s[order]
                return idx, s  # the layout depends on the times: not reusable
            idx, s = idx[order], s[order]
        self._layout_cache = (sig.copy(), idx, s)
        return idx, s

    def _update_latest(self, s: Ints, t: Ints, v: npt.NDArray[np.float64]) -> None:
        newer = t >= self._last_t[s]
        self._last_t[s[newer]] = t[newer]
        self._last_v[s[newer]] = v[newer]

    def _values(self, s: Ints, t: Ints, v: npt.NDArray[np.float64], first: Ints) -> Samples:
        p, rows = self.c.value_index.expand(s, first)
        x = v[rows]
        pts = self.c.points
        d = decide_analog(x, pts.limit[p], pts.deadband[p], pts.direction[p])
        st = pts.kind[p] == STATE
        if st.any():
            code = x[st]
            ok = (code >= 0) & (code < 64) & (code == np.floor(code))
            bit = np.where(ok, code, 0).astype(np.uint64)
            hit = ok & (((pts.state_mask[p[st]] >> bit) & np.uint64(1)) == 1)
            d[st] = np.where(hit, 1, -1)
        self.evaluations += len(p)
        return Samples(p, t[rows], x, d)

    def _rates(self, s: Ints, t: Ints, v: npt.NDArray[np.float64], first: Ints) -> Samples:
        idx = self.c.rate_index
        keep = idx.count[s] > 0
        if not keep.any():
            return Samples.empty()
        s, t, v = s[keep], t[keep], v[keep]
        first = _firsts(s)
        last = _lasts(first, len(s))
        pv = np.empty_like(v)
        pt = np.empty_like(t)
        pv[1:], pt[1:] = v[:-1], t[:-1]
        pv[first], pt[first] = self._prev_v[s[first]], self._prev_t[s[first]]
        self._prev_v[s[last]], self._prev_t[s[last]] = v[last], t[last]
        dt = t - pt
        ok = (pt >= 0) & (dt > 0)
        rate = (v - pv)[ok] / dt[ok] * 1e9  # [unit/s]
        s, t = s[ok], t[ok]
        p, rows = idx.expand(s, _firsts(s))
        pts = self.c.points
        x = rate[rows] * pts.scale[p]
        self.evaluations += len(p)
        return Samples(p, t[rows], x, decide_analog(x, pts.limit[p], pts.deadband[p],
                                                      pts.direction[p]))

    def _stale_clear(self, fresh: npt.NDArray[np.bool_]) -> Samples:
        # A stale condition ends with any good sample of its signal (the newest one decides).
        stale = self.c.stale_index.points
        sig = self.c.points.signal[stale]
        hit = fresh[sig] & self.c.points.cond[stale]
        if not hit.any():
            return Samples.empty()
        p = stale[hit]
        return Samples(p, self._good_t[sig[hit]], np.full(len(p), np.nan),
                       np.full(len(p), -1, np.int8))

    def _deviations(self, touched: npt.NDArray[np.bool_]) -> Samples:
        c = self.c
        if len(c.dev_points) == 0:
            return Samples.empty()
        hit = np.flatnonzero(touched[c.dev_pv] | touched[c.dev_sp])
        pv, sp = c.dev_pv[hit], c.dev_sp[hit]
        x = self._last_v[pv] - self._last_v[sp]
        ok = np.isfinite(x)
        p, x = c.dev_points[hit][ok], x[ok]
        ts = np.maximum(self._last_t[pv], self._last_t[sp])[ok]
        pts = c.points
        self.evaluations += len(p)
        return Samples(p, ts, x, decide_analog(x, pts.limit[p], pts.deadband[p], pts.direction[p]))

    def _eval(self, g: ExprGroup, touched: npt.NDArray[np.bool_]) -> tuple[Ints, Floats, Ints]:
        """Rows of a group that read a touched signal: (rows, results, newest input ts)."""
        rows = np.flatnonzero(touched[g.sids].any(axis=1))
        if len(rows) == 0:
            return rows, np.empty(0), rows
        sids = g.sids[rows]
        x = g.fn([self._last_v[sids[:, j]] for j in range(sids.shape[1])], len(rows))
        return rows, x, self._last_t[sids].max(axis=1)

    def _exprs(self, touched: npt.NDArray[np.bool_]) -> Samples:
        parts = []
        for g in self.c.expressions:
            rows, x, ts = self._eval(g, touched)
            if len(rows):
                d = np.where(np.isnan(x), 0, np.where(x != 0, 1, -1)).astype(np.int8)
                parts.append(Samples(g.point[rows], ts, x, d))
                self.evaluations += len(rows)
        return Samples.concat(parts)

    def _suppress(self, touched: npt.NDArray[np.bool_]) -> list[Event]:
        events: list[Event] = []
        for g in self.c.suppressions:
            rows, x, ts = self._eval(g, touched)
            on = truthy(x)
            # Suppression holds only while its condition is known to be true: bad data
            # (a failed 'running' signal) must never hide alarms.
            for r, flag, t in zip(rows.tolist(), on.tolist(), ts.tolist(), strict=True):
                if g.state[r] == flag:
                    continue
                g.state[r] = flag
                events += self._apply(g.targets[r], functools.partial(
                    _suppress_step, on=flag, ts=t))
        return events

    def _changes(self, ch: Changes) -> list[Event]:
        out: list[Event] = []
        order = np.lexsort((ch.point, ch.ts))  # the journal and the live feed read in time order
        for p, ts, x, active in zip(ch.point[order].tolist(), ch.ts[order].tolist(),
                                    ch.value[order].tolist(), ch.active[order].tolist(),
                                    strict=True):
            rec = self.c.records[p]
            tr = lifecycle.condition(rec, active, ts, x)
            if tr is not None:
                out.append(self._send(rec, tr))
        return out

    def _send(self, rec: AlarmRecord, tr: Transition) -> Event:
        ev = journal.to_event(rec, tr, self._ids())
        self._emit(ev)
        return ev

    def _apply(self, points: Iterable[int],
               step: Callable[[AlarmRecord], Transition | None]) -> list[Event]:
        out = []
        for p in points:
            rec = self.c.records[p]
            tr = step(rec)
            if tr is not None:
                out.append(self._send(rec, tr))
        return out

    # --- the clock ---------------------------------------------------------------------

    def tick(self, now: int | None = None) -> list[Event]:
        """Stale checks, delays that elapsed without a sample, shelving expiry, at ``now`` [ns]."""
        now = now_ns() if now is None else now
        if self._t0 is None:
            self._t0 = now
        c = self.c
        expired = [i for i in sorted(self._shelved)
                   if (c.records[i].shelved_until or now) <= now]
        self._shelved.difference_update(expired)
        events = self._apply(
            expired,
            lambda r: lifecycle.unshelve(r, r.shelved_until or now, "system",
                                         "shelving expired", "shelve_expired"),
        )
        stale = c.stale_index.points
        if len(stale):
            ref = np.maximum(self._good_t[c.points.signal[stale]], self._t0)
            due = ref + c.stale_timeout[stale]
            over = (now > due) & ~c.points.cond[stale]
            p = stale[over]
            samples = Samples(p, due[over], np.full(len(p), np.nan), np.ones(len(p), np.int8))
            events += self._changes(c.points.advance(samples))
        events += self._changes(c.points.due(now))
        return events

    # --- operator actions --------------------------------------------------------------

    def record(self, alarm_id: str) -> AlarmRecord:
        i = self.c.by_alarm.get(alarm_id)
        if i is None:
            raise UnknownAlarmError(f"unknown alarm {alarm_id!r}")
        return self.c.records[i]

    def acknowledge(self, alarm_id: str, user: str, comment: str = "",
                    ts: int | None = None) -> Event:
        rec = self.record(alarm_id)
        return self._send(rec, lifecycle.acknowledge(rec, now_ns() if ts is None else ts, user,
                                                     comment))

    def shelve(self, alarm_id: str, user: str, duration_ns: int, comment: str = "",
               ts: int | None = None) -> Event:
        rec = self.record(alarm_id)
        at = now_ns() if ts is None else ts
        tr = lifecycle.shelve(rec, at, at + duration_ns, user, comment)
        self._shelved.add(self.c.by_alarm[alarm_id])
        return self._send(rec, tr)

    def unshelve(self, alarm_id: str, user: str, comment: str = "",
                 ts: int | None = None) -> Event | None:
        rec = self.record(alarm_id)
        tr = lifecycle.unshelve(rec, now_ns() if ts is None else ts, user, comment)
        return None if tr is None else self._send(rec, tr)

    def set_out_of_service(self, asset: str, out_of_service: bool, user: str,
                           comment: str = "", ts: int | None = None) -> list[Event]:
        """Take every alarm at or below ``asset`` out of service (or put it back)."""
        at = now_ns() if ts is None else ts
        self._oos[asset] = out_of_service
        ev = journal.service_event(asset, out_of_service, user, comment, at)
        self._emit(ev)
        events = [ev]
        for i, rec in enumerate(self.c.records):
            if in_subtree(rec.asset, asset):
                on = self._covered(rec.asset)
                events += self._apply([i], functools.partial(
                    lifecycle.set_out_of_service, on=on, ts=at, user=user, comment=comment))
        return events

    def _covered(self, asset: str) -> bool:
        return any(on and in_subtree(asset, a) for a, on in self._oos.items())

    # --- views -------------------------------------------------------------------------

    def alarms(self) -> list[AlarmRecord]:
        """A snapshot of every alarm."""
        return [dataclasses.replace(r) for r in self.c.records]

    def active(self) -> list[AlarmRecord]:
        """Alarms the operator must see (unack, acked, rtn_unack): priority first, newest first."""
        rank: dict[str, int] = {p: i for i, p in enumerate(PRIORITIES)}
        out = [dataclasses.replace(r) for r in self.c.records if r.state in ANNOUNCED]
        out.sort(key=lambda r: (rank.get(r.priority, 9), -r.since))
        return out

    def summary(self) -> dict[str, Any]:
        """Counts for the alarm banner: announced alarms by priority and by state."""
        by_priority: dict[str, int] = dict.fromkeys(PRIORITIES, 0)
        by_state = {s.value: 0 for s in AlarmState}
        unack = 0
        for r in self.c.records:
            st = r.state
            by_state[st.value] += 1
            if st in ANNOUNCED:
                by_priority[r.priority] = by_priority.get(r.priority, 0) + 1
            unack += st in (AlarmState.UNACK, AlarmState.RTN_UNACK)
        return {"by_priority": by_priority, "by_state": by_state, "unacknowledged": unack,
                "total": len(self.c.records)}

    # --- restart -----------------------------------------------------------------------

    def restore(self, events: Iterable[Event]) -> int:
        """Rebuild every alarm's state from the journal; return how many alarms it restored.

        Alarms the journal names but the rules no longer have are skipped. The restored
        process condition is taken as current until new samples say otherwise, so an alarm
        active before the restart is not announced a second time.
        """
        last, service = journal.replay(events)
        self._oos.update(service)
        n = 0
        for aid, (ts, payload) in last.items():
            i = self.c.by_alarm.get(aid)
            if i is None:
                continue
            journal.apply(self.c.records[i], ts, payload)
            if payload.shelved_until is not None:
                self._shelved.add(i)
            self.c.points.force(i, payload.active, ts)
            n += 1
        for g in self.c.suppressions:  # so that the next evaluation can lift it
            g.state[:] = [any(self.c.records[p].suppressed for p in t) for t in g.targets]
        return n
