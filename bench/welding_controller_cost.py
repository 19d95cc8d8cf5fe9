"""Cost of ``AdaptiveWeldTimer.step`` per sample, against a bare Python loop over the same samples.

    python bench/welding_controller_cost.py [--welds 200] [--repeat 5]

The samples are simulated welds (1.0 mm galvanised, 1 kHz, fresh to worn electrodes)
converted once to Python floats, as a weld controller would receive them. Three loops
run over the same samples:

* bare: ``for t, i, u in samples: pass`` (the floor of any per-sample Python code);
* fixed: a fixed-time timer's ``step`` (one comparison);
* adaptive: ``AdaptiveWeldTimer.step`` with the weld's full decision logic; the timer's
  stop decision is honoured (as on a controller), so each weld is streamed until it
  says stop.

Reported: ns per sample (best of ``repeat`` runs, to reduce interference from other
processes), the ratio to the bare loop, and the share of a 1 kHz sample period.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import numpy as np

from ironfield.apps.welding.model import Coating, StackUp
from ironfield.apps.welding.simulator import (
    FixedTimer,
    WeldConditions,
    integrate,
    simulate_batch,
)
from ironfield.apps.welding.timing import AdaptiveWeldTimer, learn_reference


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--welds", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    su = StackUp(t1_mm=1.0, t2_mm=1.0, coating=Coating.GALVANISED)
    rng = np.random.default_rng(1)
    learn = [WeldConditions(su, 10.2, 2.7, 6.0, contact_factor=float(rng.lognormal(0, 0.2)),
                            seed=k) for k in range(30)]
    outs = simulate_batch(learn, [FixedTimer(0.24) for _ in learn], 0.24)
    ref = learn_reference([(o.t_s, o.current_ka, o.voltage_v) for o in outs],
                          [o.ok for o in outs])
    conds = [
        WeldConditions(su, 10.2 * (1 + 0.06 * k / args.welds), 2.7,
                       6.0 * (1 + 0.06 * k / args.welds),
                       gap_mm=0.5 if k % 7 == 0 else 0.0,
                       shunt_pitch_mm=35.0 if k % 5 == 0 else None, seed=1000 + k)
        for k in range(args.welds)
    ]
    tr = integrate(conds, ref.t_max_s)
    ts = tr.t_s.tolist()
    welds = [list(zip(ts, tr.current_ka[k].tolist(), tr.voltage_v[k].tolist(), strict=True))
             for k in range(args.welds)]
    # Each weld streamed until the adaptive timer stops it; all loops use these samples.
    stops = []
    for w in welds:
        tm = AdaptiveWeldTimer(ref)
        n = len(w)
        for j, (t, i, u) in enumerate(w):
            if tm.step(t, i, u):
                n = j + 1
                break
        stops.append(n)
    samples = [w[:n] for w, n in zip(welds, stops, strict=True)]
    total = sum(stops)

    def bare() -> None:
        for w in samples:
            for _t, _i, _u in w:
                pass

    def fixed() -> None:
        for w in samples:
            step = FixedTimer(ref.t_fixed_s).step
            for t, i, u in w:
                if step(t, i, u):
                    break

    def adaptive() -> None:
        for w in samples:
            step = AdaptiveWeldTimer(ref).step
            for t, i, u in w:
                if step(t, i, u):
                    break

    def best(fn: object) -> float:
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter_ns()
            fn()  # type: ignore[operator]
            times.append(time.perf_counter_ns() - t0)
        return min(times) / total

    b, f, a = best(bare), best(fixed), best(adaptive)
    print(f"python {platform.python_version()} on {platform.machine()}, "
          f"{args.welds} welds, {total} samples (best of {args.repeat})")
    print("| loop | ns per sample | ratio to bare loop | share of a 1 kHz period |")
    print("|---|---|---|---|")
    for name, v in (("bare `for t, i, u in samples`", b), ("FixedTimer.step", f),
                    ("AdaptiveWeldTimer.step", a)):
        print(f"| {name} | {v:.0f} | {v / b:.1f}x | {v / 1e6:.3%} |")
    print(f"Adaptive step cost above the bare loop: {a - b:.0f} ns per sample.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
