"""Demo mine: two-stage dispatch against fixed truck-to-loader assignment, same process.

    .venv/bin/python bench/haulage_demo_dispatch.py --seeds 5 --hours 12

Fixed assignment (each truck bound to one loader, round robin, tipping where the
dispatcher would) is the usual baseline of dispatch studies (Munirathinam & Yingling 1994).
Prints tonnes per hour, the ratio to the baseline, kWh/t and decision latency.
"""

from __future__ import annotations

import argparse
import statistics

from ironfield.apps.haulage.demo import demo_mine
from ironfield.apps.haulage.sim import MineSim, SimSettings


def run(seed: int, hours: float, fixed: bool, trucks: int) -> tuple[float, float, float, float]:
    cfg = demo_mine(n_trucks=trucks)
    loaders = cfg.network().loaders
    binding = {t.id: loaders[i % len(loaders)] for i, t in enumerate(cfg.trucks)}

    def hook(truck: str, kind: str, now: float) -> str | None:
        return binding[truck] if kind == "load" else None

    sim = MineSim(cfg, SimSettings(seed=seed, duration_min=hours * 60),
                  assign=hook if fixed else None)
    res = sim.run()
    tonnes = res.tonnes
    return (tonnes / hours, res.net_kwh / tonnes if tonnes else 0.0,
            sim.dispatcher.latency_p99_ms(), sim.dispatcher.latency_p99_ms(cpu=True))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--hours", type=float, default=12.0)
    ap.add_argument("--trucks", type=int, default=10)
    a = ap.parse_args()
    rows = {}
    for name, fixed in (("fixed", True), ("two-stage", False)):
        rs = [run(s, a.hours, fixed, a.trucks) for s in range(a.seeds)]
        rows[name] = rs
        tph = [r[0] for r in rs]
        print(f"{name:10s} t/h mean {statistics.mean(tph):7.1f}  sd {statistics.pstdev(tph):5.1f}"
              f"  kWh/t {statistics.mean(r[1] for r in rs):.3f}"
              f"  p99 wall {max(r[2] for r in rs):.2f} ms  cpu {max(r[3] for r in rs):.2f} ms")
    ratio = (statistics.mean(r[0] for r in rows["two-stage"])
             / statistics.mean(r[0] for r in rows["fixed"]))
    print(f"two-stage / fixed tonnes: {ratio:.3f}")


if __name__ == "__main__":
    main()
