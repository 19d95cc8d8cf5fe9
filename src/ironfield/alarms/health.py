"""Alarm-system health figures from the journal, per ANSI/ISA-18.2 and EEMUA 191.

Counts are of *annunciated* alarms: journal events with ``action == "activate"`` (an alarm
going to unacknowledged-active; shelved, suppressed and out-of-service alarms are never
annunciated). Figures are per operator: the totals divided by ``operators`` (the number of
operator consoles that share the alarms of the window).

Defaults and targets:

- rate: about 1 alarm per operator per 10 min (6/h, 150/day) is "very likely acceptable",
  about 2 per 10 min (12/h, 300/day) "maximum manageable" [1]_ [2]_;
- flood: more than 10 alarms per operator in 10 minutes [1]_ [2]_; target: under ~1 % of
  10-minute periods in flood, and under ~1 % of hours with more than 30 alarms [1]_;
- chattering: 3 or more activations of one alarm within 60 s [3]_ [4]_; target zero [1]_;
- stale (standing too long): active for more than 24 h [3]_; target fewer than 5 present
  on any day [1]_;
- top 10 most frequent alarms: target ~1 % to at most 5 % of all annunciations [1]_;
- priority distribution (three priorities): ~80 % low, ~15 % medium, ~5 % high [1]_ [2]_.

.. [1] ANSI/ISA-18.2-2016, Management of Alarm Systems for the Process Industries,
       "Alarm performance metrics" (monitoring and assessment clause).
.. [2] EEMUA Publication 191, Alarm Systems - A Guide to Design, Management and
       Procurement, 3rd ed., 2013.
.. [3] ISA-TR18.2.5-2012, Alarm System Monitoring, Assessment, and Auditing.
.. [4] Hollifield & Habibi 2010, The Alarm Management Handbook, 2nd ed., PAS.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ironfield.alarms.journal import EVENT_TYPE
from ironfield.core.events import Event
from ironfield.core.timeutil import NS_PER_DAY, NS_PER_H, NS_PER_MIN, NS_PER_S

TARGETS: dict[str, float] = {
    "per_10min_acceptable": 1.0, "per_10min_manageable": 2.0,
    "per_hour_acceptable": 6.0, "per_hour_manageable": 12.0,
    "per_day_acceptable": 150.0, "per_day_manageable": 300.0,
    "pct_10min_in_flood": 1.0, "pct_hours_over_30": 1.0, "max_per_10min": 10.0,
    "top10_pct": 5.0, "chattering": 0.0, "stale": 5.0,
}


@dataclass(frozen=True, slots=True)
class FloodPeriod:
    start: int  # [ns]
    end: int  # [ns]
    alarms: int  # annunciated in the period, all operators


@dataclass(frozen=True, slots=True)
class Standing:
    alarm: str
    priority: str
    active_since: int  # [ns]
    stale: bool  # active for longer than the stale threshold at the window's end


@dataclass(frozen=True, slots=True)
class AlarmHealth:
    start: int
    end: int
    operators: int
    annunciated: int
    per_10min: float  # mean [alarms / operator / 10 min]
    per_hour: float  # mean [alarms / operator / h]
    per_day: float  # mean [alarms / operator / day]
    max_per_10min: float  # worst 10-minute period [alarms / operator]
    pct_10min_in_flood: float  # [%] of 10-minute periods above the flood threshold
    pct_hours_over_30: float  # [%] of hours with more than 30 alarms per operator
    floods: list[FloodPeriod]
    chattering: dict[str, int]  # alarm -> activations that were part of a chatter burst
    standing: list[Standing]
    top10: list[tuple[str, int, float]]  # (alarm, annunciations, share [%])
    top10_pct: float  # [%] of all annunciations due to the ten most frequent alarms
    by_priority: dict[str, float] = field(default_factory=dict)  # share [%] of annunciations

    @property
    def stale(self) -> list[Standing]:
        return [s for s in self.standing if s.stale]


def _bins(ts: np.ndarray, start: int, width: int, n: int) -> np.ndarray:
    return np.bincount((ts - start) // width, minlength=n)[:n]


def alarm_health(
    events: Iterable[Event], start: int, end: int, operators: int = 1, *,
    chatter_count: int = 3, chatter_window: int = 60 * NS_PER_S,
    flood_threshold: int = 10, flood_window: int = 10 * NS_PER_MIN,
    stale_after: int = NS_PER_DAY, top: int = 10,
) -> AlarmHealth:
    """Health of the alarm system over ``[start, end)`` [ns] from journal events.

    Events before ``start`` are used only to know which alarms were already standing.
    """
    if end <= start:
        raise ValueError("the window must end after it starts")
    if operators < 1:
        raise ValueError("operators must be at least 1")
    acts: list[tuple[int, str, str]] = []
    last: dict[str, tuple[str, bool, str, int | None]] = {}  # alarm -> (to_state, active, prio, since)
    for ev in sorted((e for e in events if e.type == EVENT_TYPE and e.ts < end), key=lambda e: e.ts):
        p = ev.payload
        aid, prio = str(p["alarm"]), str(p["priority"])
        prev_since = last.get(aid, ("", False, prio, None))[3]
        since = ev.ts if p["action"] == "activate" else (prev_since if p["active"] else None)
        last[aid] = (str(p["to_state"]), bool(p["active"]), prio, since)
        if p["action"] == "activate" and ev.ts >= start:
            acts.append((ev.ts, aid, prio))

    span = end - start
    ts = np.array([a[0] for a in acts], np.int64)
    total = len(acts)
    n10 = -(-span // flood_window)
    nh = -(-span // NS_PER_H)
    per10 = _bins(ts, start, flood_window, n10) / operators
    perh = _bins(ts, start, NS_PER_H, nh) / operators
    flood = per10 > flood_threshold

    floods: list[FloodPeriod] = []
    i = 0
    while i < n10:
        if flood[i]:
            j = i
            while j + 1 < n10 and flood[j + 1]:
                j += 1
            floods.append(FloodPeriod(start + i * flood_window, min(end, start + (j + 1) * flood_window),
                                      round(float(per10[i:j + 1].sum()) * operators)))
            i = j + 1
        else:
            i += 1

    times: dict[str, list[int]] = defaultdict(list)
    for t, aid, _ in acts:
        times[aid].append(t)
    chattering: dict[str, int] = {}
    k = chatter_count - 1
    for aid, tl in times.items():
        a = np.array(tl, np.int64)
        if len(a) < chatter_count:
            continue
        burst = (a[k:] - a[:-k]) <= chatter_window
        if burst.any():
            # Every activation inside some burst window counts as chattering.
            inside = np.zeros(len(a), np.bool_)
            for off in range(chatter_count):
                inside[off:len(a) - k + off] |= burst
            chattering[aid] = int(inside.sum())

    standing = [
        Standing(aid, prio, since, end - since > stale_after)
        for aid, (state, active, prio, since) in last.items()
        if active and since is not None and state in ("unack", "acked")
    ]
    standing.sort(key=lambda s: s.active_since)

    counts = Counter(aid for _, aid, _ in acts)
    top_list = [(aid, n, 100.0 * n / total) for aid, n in counts.most_common(top)]
    prio_counts = Counter(p for _, _, p in acts)
    return AlarmHealth(
        start=start, end=end, operators=operators, annunciated=total,
        per_10min=total / operators / (span / flood_window),
        per_hour=total / operators / (span / NS_PER_H),
        per_day=total / operators / (span / NS_PER_DAY),
        max_per_10min=float(per10.max()) if n10 else 0.0,
        pct_10min_in_flood=100.0 * float(flood.mean()) if n10 else 0.0,
        pct_hours_over_30=100.0 * float((perh > 30).mean()) if nh else 0.0,
        floods=floods, chattering=chattering, standing=standing, top10=top_list,
        top10_pct=sum(x[2] for x in top_list),
        by_priority={p: 100.0 * n / total for p, n in prio_counts.items()} if total else {},
    )
