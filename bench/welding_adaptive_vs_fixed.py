"""Adaptive weld timing against a fixed schedule, on the simulator, over whole electrode lives.

    python bench/welding_adaptive_vs_fixed.py            # full run (~1-2 min on 2 cores)
    python bench/welding_adaptive_vs_fixed.py --quick    # smoke run

Every claim this prints is a claim about ``ironfield.apps.welding.simulator`` (a lumped
model calibrated to published ranges), not about a real body shop.

Design (fixed before the first run, not tuned to the result):

* Four spot families inside the BS EN ISO 14373 ranges: 0.8 mm uncoated, 1.0 mm
  galvanised, 1.5 mm uncoated, 2.0 mm galvanised; force and time from the middle of the
  ranges; ISO 5821 cap faces of 6, 6, 7 and 8 mm.
* Schedule current: from a lobe sweep with fresh electrodes, 60 % of the way from the
  smallest current giving 4·√t to the expulsion current (upper middle of the lobe, the
  usual margin for wear).
* Electrodes wear with every weld (faster on zinc) and are dressed every 400 (uncoated)
  or 200 (galvanised) welds; a linear stepper raises the current by the expected face
  growth over the dress interval. Both arms share electrodes, stepper and dressing.
* Disturbances drawn per weld, independent of the arm: a neighbouring weld (shunt) with
  probability 0.2 at 25-50 mm pitch; a sheet gap with probability 0.15 of 0.2-1.0 mm;
  zinc coating weight x N(1, 0.15); contact condition x lognormal(0, 0.2); resistivity
  x N(1, 0.02); current regulation x N(1, 0.01); force x N(1, 0.03); sensor noise.
* Each family runs ``cycles`` dress-to-dress electrode cycles in parallel. Each weld is
  assigned to an arm by a fair coin (randomised, interleaved on the same electrode).
* Fixed arm: the schedule's weld time. Adaptive arm: ``AdaptiveWeldTimer`` with the
  spot's reference learned (``learn_reference``) from 30 reference welds made with the
  fixed schedule on fresh electrodes without gap or shunt (the reference-weld practice
  of Matuschek MASTER / Bosch UIR), their nuggets measured and the heat target scaled
  to a ``--target``·√t nugget (5·√t, the nominal size, in the pre-registered design);
  the reference is not updated during the trial.
* Truth: a weld is undersized below 4·√t, defective if undersized or expelled.
* Intervals: Wilson 95 % for proportions; for the ratio of defect rates and the
  difference of mean weld times a 95 % bootstrap that resamples whole electrode cycles
  (welds on one electrode are correlated); t intervals for mean time and energy.
* Fault detection (``FaultDetector`` on what each weld's timer measured) is scored with
  precision and recall; precision is also shown at the 4 % fault prevalence the issue
  quotes for production data.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ironfield.apps.welding.electrode import LinearStepper
from ironfield.apps.welding.faults import FaultDetector, score_detection
from ironfield.apps.welding.model import Coating, StackUp
from ironfield.apps.welding.simulator import (
    FixedTimer,
    WeldConditions,
    simulate_batch,
)
from ironfield.apps.welding.simulator_tools import Electrode, weldability_lobe
from ironfield.apps.welding.stats import cluster_bootstrap, wilson_interval
from ironfield.apps.welding.timing import AdaptiveWeldTimer, SpotReference, learn_reference

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Family:
    name: str
    stackup: StackUp
    face_mm: float
    force_kn: float
    weld_time_s: float
    dress_every: int


FAMILIES = (
    Family("0.8 uncoated", StackUp(t1_mm=0.8, t2_mm=0.8), 6.0, 2.2, 0.16, 400),
    Family("1.0 GI", StackUp(t1_mm=1.0, t2_mm=1.0, coating=Coating.GALVANISED), 6.0, 2.7,
           0.24, 200),
    Family("1.5 uncoated", StackUp(t1_mm=1.5, t2_mm=1.5), 7.0, 3.5, 0.30, 400),
    Family("2.0 GI", StackUp(t1_mm=2.0, t2_mm=2.0, coating=Coating.GALVANISED), 8.0, 4.8,
           0.44, 200),
)

P_SHUNT, SHUNT_PITCH = 0.2, (30.0, 60.0)
P_GAP, GAP_MM = 0.15, (0.2, 1.0)


def design_current(f: Family) -> tuple[float, Any]:
    lobe = weldability_lobe(f.stackup, face_mm=f.face_mm, force_kn=f.force_kn,
                            weld_time_s=f.weld_time_s)
    i = lobe.i_min_ka + 0.6 * (lobe.i_expulsion_ka - lobe.i_min_ka)
    return round(i, 2), lobe


def draw(rng: np.random.Generator, f: Family, current: float, face: float, seed: int,
         *, disturbed: bool = True) -> WeldConditions:
    shunt = None
    gap = 0.0
    if disturbed and rng.random() < P_SHUNT:
        shunt = float(rng.uniform(*SHUNT_PITCH))
    if disturbed and rng.random() < P_GAP:
        gap = float(rng.uniform(*GAP_MM))
    return WeldConditions(
        stackup=f.stackup,
        current_ka=current * float(rng.normal(1.0, 0.01)),
        force_kn=f.force_kn * float(rng.normal(1.0, 0.03)),
        electrode_face_mm=face,
        gap_mm=gap,
        shunt_pitch_mm=shunt,
        coating_factor=float(np.clip(rng.normal(1.0, 0.15), 0.6, 1.5)),
        contact_factor=float(rng.lognormal(0.0, 0.2)),
        resistivity_factor=float(rng.normal(1.0, 0.02)),
        seed=seed,
    )


def learn(f: Family, current: float, seed: int, target: float = 5.0
          ) -> tuple[SpotReference, float]:
    rng = np.random.default_rng(seed)
    conds = [draw(rng, f, current, f.face_mm, seed * 1000 + k, disturbed=False)
             for k in range(30)]
    outs = simulate_batch(conds, [FixedTimer(f.weld_time_s) for _ in conds], f.weld_time_s)
    ref = learn_reference([(o.t_s, o.current_ka, o.voltage_v) for o in outs],
                          [o.ok for o in outs], spot_id=f.name,
                          nugget_mm=[o.nugget_mm for o in outs],
                          target_nugget_mm=target * math.sqrt(f.stackup.governing_mm))
    return ref, float(np.median([o.energy_j for o in outs]))


def run_family(f: Family, cycles: int, seed: int, target: float = 5.0) -> dict[str, Any]:
    current, lobe = design_current(f)
    ref, e_nom = learn(f, current, seed, target)
    fixed_ref = ref.with_updates(mode="fixed", t_fixed_s=f.weld_time_s)
    detector = FaultDetector(ref)
    galv = f.stackup.galvanised
    electrodes = [Electrode(f.face_mm, galvanised=galv) for _ in range(cycles)]
    rate = electrodes[0].rate
    stepper = LinearStepper(increase=math.sqrt(1.0 + rate * f.dress_every) - 1.0,
                            over_welds=f.dress_every)
    rng = np.random.default_rng(seed + 1)
    cols: dict[str, list[float]] = {k: [] for k in (
        "cycle", "arm", "undersized", "expelled", "time", "energy", "suspect", "face",
        "nugget", "shunt", "gap")}
    for w in range(f.dress_every):
        factor = stepper.factor(w)
        arms = rng.random(cycles) < 0.5
        conds = [draw(rng, f, current * factor, electrodes[c].face_mm,
                      seed * 10_000_000 + w * 1000 + c) for c in range(cycles)]
        timers = [AdaptiveWeldTimer(ref if arms[c] else fixed_ref) for c in range(cycles)]
        outs = simulate_batch(conds, timers, ref.t_max_s)
        for c, (o, tm) in enumerate(zip(outs, timers, strict=True)):
            verdict = detector.check(tm.result())
            cols["cycle"].append(c)
            cols["arm"].append(1.0 if arms[c] else 0.0)
            cols["undersized"].append(float(o.undersized))
            cols["expelled"].append(float(o.expelled))
            cols["time"].append(o.duration_s)
            cols["energy"].append(o.energy_j)
            cols["suspect"].append(float(verdict.suspect))
            cols["face"].append(electrodes[c].face_mm)
            cols["nugget"].append(o.nugget_mm)
            cols["shunt"].append(float(conds[c].shunt_pitch_mm is not None))
            cols["gap"].append(float(conds[c].gap_mm > 0))
            electrodes[c].record(o.energy_j, e_nom, o.expelled)
    data = {k: np.asarray(v) for k, v in cols.items()}
    return {"family": f, "current": current, "lobe": lobe, "reference": ref, "data": data,
            "stepper": stepper}


def _mean_ci(x: F64) -> tuple[float, float, float]:
    m = float(np.mean(x))
    if len(x) < 2:
        return m, math.nan, math.nan
    half = 1.96 * float(np.std(x, ddof=1)) / math.sqrt(len(x))
    return m, m - half, m + half


def summarise(data: dict[str, F64], seed: int, n_boot: int) -> dict[str, Any]:
    defect = np.maximum(data["undersized"], data["expelled"])
    out: dict[str, Any] = {}
    for arm, name in ((0, "fixed"), (1, "adaptive")):
        m = data["arm"] == arm
        n = int(m.sum())
        row: dict[str, Any] = {"n": n}
        for key, x in (("undersized", data["undersized"]), ("expelled", data["expelled"]),
                       ("defect", defect)):
            k = int(x[m].sum())
            row[key] = (k / n if n else math.nan, *wilson_interval(k, n))
        row["time_ms"] = tuple(1000 * v for v in _mean_ci(data["time"][m]))
        row["energy_j"] = _mean_ci(data["energy"][m])
        truth = defect[m] > 0
        row["detection"] = score_detection(list(data["suspect"][m] > 0), list(truth))
        out[name] = row
    cyc = data["cycle"]
    table = np.column_stack([data["arm"], defect, data["time"]])
    clusters = [table[cyc == c] for c in np.unique(cyc)]

    def ratio(t: F64) -> float:
        a, f = t[t[:, 0] == 1], t[t[:, 0] == 0]
        fr = f[:, 1].mean() if len(f) else math.nan
        return float(a[:, 1].mean() / fr) if fr > 0 else math.nan

    def dtime(t: F64) -> float:
        a, f = t[t[:, 0] == 1], t[t[:, 0] == 0]
        return float(1000 * (a[:, 2].mean() - f[:, 2].mean()))

    out["ratio"] = (ratio(table), *cluster_bootstrap(clusters, ratio, n_boot=n_boot, seed=seed))
    out["dtime_ms"] = (dtime(table),
                       *cluster_bootstrap(clusters, dtime, n_boot=n_boot, seed=seed + 1))
    return out


def fmt_p(v: tuple[float, float, float]) -> str:
    return f"{100 * v[0]:.2f} % [{100 * v[1]:.2f}, {100 * v[2]:.2f}]"


def fmt_m(v: tuple[float, ...], nd: int = 0) -> str:
    return f"{v[0]:.{nd}f} [{v[1]:.{nd}f}, {v[2]:.{nd}f}]"


def precision_at(score: Any, prevalence: float) -> float:
    """Precision a detector with this recall and false-positive rate has at ``prevalence``."""
    negatives = score.fp + score.tn
    fpr = score.fp / negatives if negatives else math.nan
    rec = score.recall
    denom = rec * prevalence + fpr * (1 - prevalence)
    return rec * prevalence / denom if denom > 0 else math.nan


def breakdown(data: dict[str, F64]) -> list[str]:
    """Defect rates by disturbance: where the remaining defects come from."""
    shunt, gap = data["shunt"] > 0, data["gap"] > 0
    lines = [
        "| welds with | share | fixed: undersized / expulsion | "
        "adaptive: undersized / expulsion |",
        "|---|---|---|---|",
    ]
    for label, m in (("no gap, no shunt", ~shunt & ~gap), ("shunt only", shunt & ~gap),
                     ("gap only", gap & ~shunt), ("gap and shunt", gap & shunt)):
        cells = []
        for arm in (0, 1):
            a = m & (data["arm"] == arm)
            n = int(a.sum())
            if not n:
                cells.append("-")
                continue
            cells.append(f"{100 * data['undersized'][a].mean():.1f} % / "
                         f"{100 * data['expelled'][a].mean():.1f} % (n {n})")
        lines.append(f"| {label} | {100 * m.mean():.0f} % | {cells[0]} | {cells[1]} |")
    return [*lines, ""]


def report(name: str, s: dict[str, Any]) -> list[str]:
    f, a = s["fixed"], s["adaptive"]
    lines = [
        f"### {name}",
        "",
        "| | fixed schedule | adaptive timer |",
        "|---|---|---|",
        f"| welds | {f['n']} | {a['n']} |",
        f"| undersized (< 4√t) | {fmt_p(f['undersized'])} | {fmt_p(a['undersized'])} |",
        f"| expulsion | {fmt_p(f['expelled'])} | {fmt_p(a['expelled'])} |",
        f"| undersized or expulsion | {fmt_p(f['defect'])} | {fmt_p(a['defect'])} |",
        f"| mean weld time [ms] | {fmt_m(f['time_ms'], 1)} | {fmt_m(a['time_ms'], 1)} |",
        f"| energy per weld [J] | {fmt_m(f['energy_j'])} | {fmt_m(a['energy_j'])} |",
        "",
        f"Defect ratio adaptive/fixed: **{s['ratio'][0]:.2f}** [{s['ratio'][1]:.2f}, "
        f"{s['ratio'][2]:.2f}] (cycle bootstrap); mean weld time adaptive − fixed: "
        f"**{s['dtime_ms'][0]:+.1f} ms** [{s['dtime_ms'][1]:+.1f}, {s['dtime_ms'][2]:+.1f}].",
        "",
    ]
    for arm in ("fixed", "adaptive"):
        d = s[arm]["detection"]
        lines.append(
            f"Fault detection, {arm} arm: {d.summary()}; precision at 4 % prevalence "
            f"{precision_at(d, 0.04):.2f}."
        )
    lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=16, help="electrode cycles per family")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--boot", type=int, default=2000)
    ap.add_argument("--quick", action="store_true", help="4 cycles, 300 bootstrap draws")
    ap.add_argument("--target", type=float, default=5.0,
                    help="adaptive nugget target as a multiple of sqrt(t) (default 5, the "
                         "pre-registered design; 4.5 is the post-hoc variant)")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = ap.parse_args(argv)
    cycles, n_boot = (4, 300) if args.quick else (args.cycles, args.boot)
    t0 = time.perf_counter()
    lines = [
        "Claims are about the ironfield welding simulator, not a real shop.",
        "",
        f"Command: `python bench/welding_adaptive_vs_fixed.py"
        f"{' --quick' if args.quick else ''} --seed {args.seed} --target {args.target:g}`; "
        f"{cycles} dress-to-dress electrode cycles per family; adaptive reference aimed at "
        f"a {args.target:g}·√t nugget.",
        "",
        "| family | schedule | lobe (fresh) I_min / I_exp | reference heat after peak |",
        "|---|---|---|---|",
    ]
    pooled: dict[str, list[F64]] = {}
    results = []
    welds = 0
    for k, fam in enumerate(FAMILIES):
        r = run_family(fam, cycles, args.seed * 100 + k, args.target)
        results.append(r)
        ref = r["reference"]
        lines.append(
            f"| {fam.stackup.label()} | {r['current']:.2f} kA, "
            f"{fam.weld_time_s * 1000:.0f} ms ({fam.weld_time_s * 50:.0f} cyc), "
            f"{fam.force_kn} kN, dress every {fam.dress_every}, stepper "
            f"+{100 * r['stepper'].increase:.1f} % | {r['lobe'].i_min_ka:.1f} / "
            f"{r['lobe'].i_expulsion_ka:.1f} kA | {ref.heat_after_peak_j:.0f} J "
            f"(t {ref.t_min_s * 1000:.0f}-{ref.t_max_s * 1000:.0f} ms) |"
        )
        d = r["data"]
        welds += len(d["arm"])
        for key, v in d.items():
            pooled.setdefault(key, []).append(v + (1000 * k if key == "cycle" else 0))
    lines.append("")
    all_data = {k: np.concatenate(v) for k, v in pooled.items()}
    summaries = {}
    s = summarise(all_data, args.seed, n_boot)
    summaries["all"] = s
    lines += report("All families pooled", s)
    lines += ["Where the defects come from (all families):", "", *breakdown(all_data)]
    for k, r in enumerate(results):
        sf = summarise(r["data"], args.seed + k, n_boot)
        summaries[r["family"].name] = sf
        lines += report(r["family"].stackup.label(), sf)
    target_ok = s["ratio"][0] <= 0.5 and s["dtime_ms"][0] <= 0.0
    lines.append(
        f"Target (defects at most half of fixed, mean time no longer): "
        f"{'met' if target_ok else 'NOT met'} on the simulator. {welds} welds in "
        f"{time.perf_counter() - t0:.0f} s."
    )
    print("\n".join(lines))
    if args.json:
        def plain(v: Any) -> Any:
            if isinstance(v, dict):
                return {k: plain(x) for k, x in v.items()}
            if isinstance(v, tuple | list):
                return [plain(x) for x in v]
            if hasattr(v, "precision"):
                return {"precision": v.precision, "recall": v.recall, "f1": v.f1,
                        "tp": v.tp, "fp": v.fp, "fn": v.fn, "tn": v.tn}
            return v
        args.json.write_text(json.dumps(plain(summaries), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
