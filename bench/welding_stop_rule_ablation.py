"""Which part of the adaptive stop rule does what: a paired ablation on the simulator.

    python bench/welding_stop_rule_ablation.py --seeds 7,11,23       # ≈1 min per seed

A diagnostic, not the headline (that is ``welding_adaptive_vs_fixed.py``): per spot family
of that bench (same schedules, references, disturbance mix and stepper) it draws
``--welds`` welds at random points of the dress interval, integrates each once, and
replays the *same* trajectories under the fixed schedule and under variants of the
timer (paired: every weld under every controller). Electrode wear is drawn, not fed
back weld by weld, so the figures differ a little from the interleaved bench. Claims are
about the ironfield simulator only.

Variants: the rule before this change (heat target scaled by ``R_beta,ref/R_beta``
within 0.75-1.6, ``t_min`` = 0.5x the fixed time), each of the two changes alone, both
(the new default: also ``x t_beta/t_beta,ref``, clamp 0.5-2, ``t_min`` = 1/3), and the
exponent 1.5 on the beta-time factor as a sensitivity check (not adopted: 1 was chosen
before it was tried).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ironfield.apps.welding.electrode import LinearStepper
from ironfield.apps.welding.simulator import (
    FixedTimer,
    Trajectories,
    WeldConditions,
    integrate,
    run_controller,
)
from ironfield.apps.welding.simulator_tools import Electrode
from ironfield.apps.welding.timing import AdaptiveWeldTimer, SpotReference, TimerConfig

# The headline bench's families, schedules, reference welds and disturbance draw, reused.
_spec = importlib.util.spec_from_file_location(
    "welding_adaptive_vs_fixed", Path(__file__).resolve().parent / "welding_adaptive_vs_fixed.py"
)
assert _spec is not None and _spec.loader is not None
vs: Any = importlib.util.module_from_spec(_spec)
sys.modules["welding_adaptive_vs_fixed"] = vs
_spec.loader.exec_module(vs)

Case = tuple[Any, SpotReference, list[WeldConditions], Trajectories]
Maker = Callable[[SpotReference], SpotReference]

OLD = TimerConfig(beta_time_exponent=0.0, heat_scale_bounds=(0.75, 1.6))
VARIANTS: tuple[tuple[str, TimerConfig, float], ...] = (
    ("before: R_beta only, 0.75-1.6, t_min 0.5x", OLD, 0.5),
    ("t_min 1/3 only", OLD, 1 / 3),
    ("beta-time factor + 0.5-2 only (t_min 0.5x)", TimerConfig(), 0.5),
    ("both (new default)", TimerConfig(), 1 / 3),
    ("both, exponent 1.5 (sensitivity)", TimerConfig(beta_time_exponent=1.5), 1 / 3),
)


def build(seed: int, n: int) -> list[Case]:
    cases: list[Case] = []
    for k, f in enumerate(vs.FAMILIES):
        s = seed * 100 + k
        current, _ = vs.design_current(f)
        ref, _ = vs.learn(f, current, s)
        rng = np.random.default_rng(s + 1)
        rate = Electrode(f.face_mm, galvanised=f.stackup.galvanised).rate
        stepper = LinearStepper(increase=math.sqrt(1.0 + rate * f.dress_every) - 1.0,
                                   over_welds=f.dress_every)
        conds = []
        for j in range(n):
            w = int(rng.integers(0, f.dress_every))
            face = f.face_mm * math.sqrt(1.0 + rate * w)
            conds.append(vs.draw(rng, f, current * stepper.factor(w), face, s * 100_000 + j))
        cases.append((f, ref, conds, integrate(conds, ref.t_max_s)))
    return cases


def evaluate(cases: list[Case], make: Maker | None) -> dict[str, Any]:
    und: list[bool] = []
    exp: list[bool] = []
    t: list[float] = []
    fam: list[int] = []
    gap: list[bool] = []
    shunt: list[bool] = []
    for fi, (f, ref, conds, tr) in enumerate(cases):
        r2 = make(ref) if make else None
        for k, c in enumerate(conds):
            ctl = AdaptiveWeldTimer(r2) if r2 else FixedTimer(f.weld_time_s)
            s = min(run_controller(tr, k, ctl), len(tr.t_s) - 1)
            und.append(bool(tr.nugget_mm[k, s] < tr.d_min_mm[k]))
            exp.append(bool(tr.expulsion_index[k] <= s))
            t.append(float(tr.t_s[s]))
            fam.append(fi)
            gap.append(c.gap_mm > 0)
            shunt.append(c.shunt_pitch_mm is not None)
    u, e = np.array(und), np.array(exp)
    g, sh, fa = np.array(gap), np.array(shunt), np.array(fam)
    d = u | e
    return {
        "defect": float(d.mean()), "und": float(u.mean()), "exp": float(e.mean()),
        "t_ms": 1000 * float(np.mean(t)),
        "shunt_und": float(u[sh & ~g].mean()), "gap_exp": float(e[g & ~sh].mean()),
        "both": float(d[g & sh].mean()),
        "fam": [float(d[fa == i].mean()) for i in range(len(cases))],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seeds", default="7,11,23")
    ap.add_argument("--welds", type=int, default=3000, help="welds per family and seed")
    args = ap.parse_args(argv)
    print("| seed | controller | defects | undersized | expulsion | ratio to fixed | "
          "Δ time [ms] | shunt only: undersized | gap only: expulsion | gap+shunt: defects |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for seed in (int(x) for x in args.seeds.split(",")):
        cases = build(seed, args.welds)
        fixed = evaluate(cases, None)
        rows: list[tuple[str, dict[str, Any]]] = [("fixed schedule", fixed)]
        for name, cfg, tmin in VARIANTS:
            def make(ref: SpotReference, cfg: TimerConfig = cfg, tmin: float = tmin
                     ) -> SpotReference:
                return ref.with_updates(config=cfg, t_min_s=tmin * ref.t_fixed_s)
            rows.append((name, evaluate(cases, make)))
        for name, m in rows:
            print(f"| {seed} | {name} | {100 * m['defect']:.2f} % | {100 * m['und']:.2f} % | "
                  f"{100 * m['exp']:.2f} % | {m['defect'] / fixed['defect']:.2f} | "
                  f"{m['t_ms'] - fixed['t_ms']:+.1f} | {100 * m['shunt_und']:.1f} % | "
                  f"{100 * m['gap_exp']:.1f} % | {100 * m['both']:.1f} % |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
