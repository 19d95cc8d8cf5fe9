"""Alarm engine throughput: 10,000 rules over a 200,000 values/s stream.

The stream is 20,000 signals at 10 Hz, delivered as one batch per 100 ms (20,000 values,
signals in a fixed non-sorted order, as a connector that walks its devices would send
them). 10,000 alarm points read it: 6,000 limit levels (1,500 signals x HH/H/L/LL with
deadband and on-delay), 1,500 rate-of-change, 1,000 deviation-from-setpoint, 500 stale,
800 discrete-state and 200 expression rules. Values are noisy random walks, so alarms do
come and go (a few per second), which exercises the lifecycle and the events too.

A second figure times an alarm flood: every signal jumps out of range in one batch.

The floor, run on the same batches in the same process, is a plain vectorised threshold
check: every value compared against the limit of every rule on its signal (the same
(value, rule) pairs expanded with ``np.repeat``), with no state, deadband, delays or
lifecycle. The ratio engine / floor is the price of doing alarms properly.

Run: ``.venv/bin/python bench/alarms_engine.py [--seconds 10]``
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import numpy.typing as npt

from ironfield.alarms import AlarmEngine
from ironfield.core.batch import Batch
from ironfield.core.events import Event
from ironfield.core.signals import SignalDef, SignalRegistry

N_SIGNALS = 20_000
RATE_HZ = 10
NS = 1_000_000_000


def build(reg: SignalRegistry) -> tuple[list[dict[str, Any]], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Rules, and for the floor: each rule's signal and a threshold on it."""
    paths = [f"bench/area-{i // 1000:02d}/eq-{i:05d}/x" for i in range(N_SIGNALS)]
    for i, p in enumerate(paths):
        reg.register(SignalDef(p, states={0: "stop", 1: "run", 2: "fault"}) if i >= 19_000 else p)
    rules: list[dict[str, Any]] = []
    floor_sig: list[int] = []
    floor_thr: list[float] = []

    def add(rule: dict[str, Any], sig: int, thr: float, n: int = 1) -> None:
        rules.append(rule)
        floor_sig.extend([sig] * n)
        floor_thr.extend([thr] * n)

    for i in range(1_500):  # 4 levels each
        add({"id": f"lim-{i}", "type": "limit", "signal": paths[i], "hh": 4.0, "h": 3.0,
             "l": -3.0, "ll": -4.0, "deadband": 0.2, "on_delay": "300ms"}, i, 3.0, 4)
    for i in range(1_500):
        add({"id": f"roc-{i}", "type": "rate", "signal": paths[1_500 + i], "limit": 40.0,
             "deadband": 5.0}, 1_500 + i, 40.0)
    for i in range(1_000):
        pv, sp = 3_000 + i, 4_000 + i
        add({"id": f"dev-{i}", "type": "deviation", "signal": paths[pv], "setpoint": paths[sp],
             "limit": 5.0, "deadband": 0.5}, pv, 5.0)
    for i in range(500):  # fed, so they stay quiet; the tick checks them
        add({"id": f"stale-{i}", "type": "stale", "signal": paths[5_000 + i], "timeout": "5s"},
            5_000 + i, 0.0)
    for i in range(800):
        add({"id": f"state-{i}", "type": "state", "signal": paths[19_000 + i],
             "states": ["fault"]}, 19_000 + i, 1.5)
    for i in range(200):
        a, b = paths[6_000 + 2 * i], paths[6_001 + 2 * i]
        add({"id": f"expr-{i}", "type": "expression", "expr": f"abs('{a}' - '{b}') > 6 and max('{a}', '{b}') > 2"},
            6_000 + 2 * i, 6.0)
    return rules, np.array(floor_sig, np.int64), np.array(floor_thr)


def stream(seconds: float, seed: int = 7) -> list[Batch]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(N_SIGNALS).astype(np.int32)
    level = np.zeros(N_SIGNALS)
    out = []
    steps = int(seconds * RATE_HZ)
    t0 = 1_700_000_000 * NS
    for k in range(steps):
        level += rng.normal(0.0, 0.15, N_SIGNALS)
        level *= 0.995  # mean-reverting, so values hover around 0 with rare excursions
        v = level + rng.normal(0.0, 0.05, N_SIGNALS)
        v[19_000:] = np.where(rng.random(1_000) < 0.001, 2.0, 1.0)  # states: rare faults
        ts = t0 + k * (NS // RATE_HZ) + np.arange(N_SIGNALS, dtype=np.int64)  # ns apart
        out.append(Batch(order, ts[order], v[order], np.full(N_SIGNALS, 0xC0, np.uint8)))
    return out


def floor(batches: list[Batch], rule_sig: npt.NDArray[np.int64], thr: npt.NDArray[np.float64]) -> tuple[float, int]:
    order = np.argsort(rule_sig, kind="stable")
    sig_sorted, thr_sorted = rule_sig[order], thr[order]
    count = np.bincount(rule_sig, minlength=N_SIGNALS)
    ptr = np.concatenate([[0], np.cumsum(count)])
    pairs = 0
    hits = 0
    t = time.perf_counter()
    for b in batches:
        k = count[b.signal]
        rows = np.repeat(np.arange(len(b)), k)
        j = np.arange(len(rows)) - np.repeat(np.cumsum(k) - k, k)
        lim = thr_sorted[ptr[b.signal][rows] + j]
        hits += int(np.count_nonzero(b.value[rows] > lim))
        pairs += len(rows)
    assert len(sig_sorted) == len(thr)
    return time.perf_counter() - t, pairs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="stream length [s]")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each; the fastest counts (the machine is shared)")
    args = ap.parse_args()
    reg = SignalRegistry()
    rules, rule_sig, thr = build(reg)
    batches = stream(args.seconds)
    n_values = sum(len(b) for b in batches)
    eng_times: list[float] = []
    floor_times: list[float] = []
    for _ in range(args.repeat):
        events: list[Event] = []
        t = time.perf_counter()
        eng = AlarmEngine(rules, reg, events.append)
        build_s = time.perf_counter() - t
        eng.tick(int(batches[0].ts.min()))
        t = time.perf_counter()
        for i, b in enumerate(batches):
            eng.process(b)
            if i % RATE_HZ == RATE_HZ - 1:  # the runtime ticks once a second
                eng.tick(int(b.ts.max()))
        eng_times.append(time.perf_counter() - t)
        f_s, pairs = floor(batches, rule_sig, thr)
        floor_times.append(f_s)
    eng_s, floor_s = min(eng_times), min(floor_times)

    # An alarm flood: every signal jumps far out of range in one batch (a site-wide upset).
    flood_events: list[Event] = []
    flood_eng = AlarmEngine(rules, reg, flood_events.append)
    flood_eng.process(batches[0])
    flood_eng.tick(int(batches[0].ts.max()))
    last = batches[1]
    upset = Batch(last.signal, last.ts, np.full(len(last), 1e3), last.quality)
    t = time.perf_counter()
    flood_eng.process(upset)
    flood_eng.tick(int(upset.ts.max()) + NS)  # let the on-delays run out
    flood_s = time.perf_counter() - t

    n_points = len(eng.c.records)
    print(f"rules (alarm points)  : {n_points:,} from {len(rules):,} rule entries (built in {build_s:.2f} s)")
    print(f"stream                : {n_values:,} values = {args.seconds:g} s at {n_values / args.seconds:,.0f} values/s")
    print(f"engine                : {eng_s:.3f} s, {eng.evaluations:,} rule evaluations, "
          f"{eng.evaluations / eng_s:,.0f} evaluations/s, {n_values / eng_s:,.0f} values/s "
          f"({args.seconds / eng_s:.1f}x real time), {len(events):,} alarm events")
    print(f"floor (threshold only): {floor_s:.3f} s, {pairs:,} (value, rule) pairs, "
          f"{pairs / floor_s:,.0f} evaluations/s, {n_values / floor_s:,.0f} values/s")
    print(f"alarm flood           : {len(flood_events):,} transitions from one batch in "
          f"{flood_s * 1e3:.0f} ms ({len(flood_events) / flood_s:,.0f} events/s)")
    print(f"ratio engine/floor    : {eng_s / floor_s:.1f}x the time of the floor "
          f"(fastest of {args.repeat}; per run engine {', '.join(f'{x:.2f}' for x in eng_times)} s, "
          f"floor {', '.join(f'{x:.3f}' for x in floor_times)} s)")


if __name__ == "__main__":
    main()
