"""ISPRS ground-filter scores: automatic parameters, and kappa over a grid of fixed ones.

    .venv/bin/python bench/survey_isprs.py [../shared/data/survey/isprs]

The second table shows that the automatic choice does not sit on a knife edge: mean
kappa over samp11 and samp12 for fixed cell sizes and slope thresholds around it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ironfield.apps.survey.ground import SmrfParams, smrf_arrays
from ironfield.apps.survey.isprs import SMRF_PUBLISHED_MEAN_KAPPA, evaluate, load_sample, score


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else (
        Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "survey" / "isprs")
    files = sorted(root.glob("samp*.txt"))
    if not files:
        raise SystemExit(f"no ISPRS samples in {root}")
    print("| sample | points | Type I % | Type II % | total % | kappa % | cell m | slope |")
    print("|---|---|---|---|---|---|---|---|")
    kappas = []
    for f in files:
        s, p = evaluate(f)
        kappas.append(s.kappa)
        print(f"| {f.stem} | {s.n_points} | {s.type1:.2f} | {s.type2:.2f} | {s.total:.2f} | "
              f"{s.kappa:.2f} | {p.cell:.2f} | {p.slope:.3f} |")
    print(f"| **mean** | | | | | **{np.mean(kappas):.2f}** | | |")
    print(f"\nSMRF published mean kappa, one parameter set: {SMRF_PUBLISHED_MEAN_KAPPA} %\n")
    data = [load_sample(f) for f in files]
    slopes = (0.1, 0.15, 0.2, 0.3)
    print("| cell m \\ slope | " + " | ".join(f"{s:g}" for s in slopes) + " |")
    print("|---" * (len(slopes) + 1) + "|")
    for cell in (1.0, 1.25, 1.5):
        row = []
        for slope in slopes:
            ks = [score(t, smrf_arrays(x, y, z, SmrfParams(cell=cell, slope=slope))[0]).kappa
                  for x, y, z, t in data]
            row.append(f"{np.mean(ks):.2f}")
        print(f"| {cell:g} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
