"""Volume accuracy table: synthetic survey pairs and stockpiles against analytic truth.

    .venv/bin/python bench/survey_accuracy.py

For each seed and point spacing: SMRF ground filter, 0.5 m mean DEM, 0.1 m minimum
change (the issue's setting), and as a baseline in the same run a CloudCompare-style 2.5D
difference (mean of *all* points per cell, no ground filter, no threshold). Then stockpile
volumes with each base where that base is the truth. Prints markdown tables.
"""

from __future__ import annotations

import argparse

import numpy as np

from ironfield.apps.survey import synth
from ironfield.apps.survey.dem import dem_from_arrays
from ironfield.apps.survey.grid import GridSpec
from ironfield.apps.survey.ground import smrf_arrays
from ironfield.apps.survey.stockpile import stockpile_volume
from ironfield.apps.survey.volume import cut_fill


def _pct(got: float, truth: float) -> str:
    return f"{100 * (got - truth) / abs(truth):+.2f} %"


def volume_rows(seeds: list[int], spacings: list[float]) -> None:
    print("| seed | spacing m | pts/m2 | method | cut m3 (err) | fill m3 (err) | net m3 (err) |"
          " coverage |")
    print("|---|---|---|---|---|---|---|---|")
    for seed in seeds:
        site = synth.make_site(seed)
        t = site.truth()
        spec = GridSpec.covering(site.x0, site.y0, site.x0 + site.width,
                                 site.y0 + site.height, 0.5)
        for sp in spacings:
            ours, naive = [], []
            for epoch in ("before", "after"):
                x, y, z, _ = synth.sample(site, epoch, sp, 0.03, seed=100 + seed)
                g, _m = smrf_arrays(x, y, z)
                ours.append(dem_from_arrays(x[g], y[g], z[g], 0.5, spec=spec))
                naive.append(dem_from_arrays(x, y, z, 0.5, spec=spec))
            r, _ = cut_fill(ours[0], ours[1], 0.1)
            n, _ = cut_fill(naive[0], naive[1], 0.0, lod_k=0.0)
            for name, v in (("ironfield", r), ("2.5D mean, all points, no threshold", n)):
                print(f"| {seed} | {sp} | {1 / sp**2:.0f} | {name} | "
                      f"{v.cut_m3:,.0f} ({_pct(v.cut_m3, t['cut_m3'])}) | "
                      f"{v.fill_m3:,.0f} ({_pct(v.fill_m3, t['fill_m3'])}) | "
                      f"{v.net_m3:,.0f} ({_pct(v.net_m3, t['net_m3'])}) | {v.coverage:.3f} |")
        print(f"| {seed} | truth | | | {t['cut_m3']:,.0f} | {t['fill_m3']:,.0f} | "
              f"{t['net_m3']:,.0f} | |")


def stockpile_rows(seeds: list[int]) -> None:
    print("\n| seed | pile | base | volume m3 | truth m3 | error | coverage |")
    print("|---|---|---|---|---|---|---|")
    for seed in seeds:
        yard = synth.make_yard(seed)
        x, y, z, _ = synth.sample(yard, "after", 0.3, 0.03, seed=200 + seed)
        g, _m = smrf_arrays(x, y, z)
        dem = dem_from_arrays(x[g], y[g], z[g], 0.5)
        for pile, base in (("a", "lowest"), ("a", "elevation"), ("b", "plane"),
                           ("b", "triangulated")):
            res = stockpile_volume(dem, yard.pile_polygon(pile), base, 1.6, yard.z0)
            tv = yard.pile_volume(pile)
            print(f"| {seed} | {pile} | {base} | {res.volume_m3:,.1f} | {tv:,.1f} | "
                  f"{_pct(res.volume_m3, tv)} | {res.coverage:.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--spacings", type=float, nargs="+", default=[0.35, 0.25])
    args = ap.parse_args()
    volume_rows(args.seeds, args.spacings)
    stockpile_rows(args.seeds)
    print(f"\n(noise 0.03 m, cell 0.5 m, min change 0.1 m; {np.__name__} {np.__version__})")


if __name__ == "__main__":
    main()
