"""OpenMines 0.2.0 benchmark: ironfield's haulage dispatcher against OpenMines' baselines.

OpenMines pins old numpy/pandas; keep it out of the project venv. Setup (Python 3.11):

    python3 -m venv /tmp/omvenv
    /tmp/omvenv/bin/pip install --no-deps openmines==0.2.0 tabulate
    /tmp/omvenv/bin/pip install numpy pandas matplotlib simpy scipy tqdm rich inflection \
        docutils openai highspy pydantic
    /tmp/omvenv/bin/pip install --no-deps -e /work/main

(``openai`` is imported at module level by the SPTF and SQ baselines; ``docutils`` and
``inflection`` by OpenMines' CLI module.) Run, from any folder (OpenMines writes ./logs):

    /tmp/omvenv/bin/python bench/openmines_dispatch.py --seeds 10 \
        --scenario ../shared/data/openmines/north_pit_mine.json

``IronfieldDispatcher`` is a drop-in OpenMines dispatcher (``give_init_order``,
``give_haul_order``, ``give_back_order``). It turns the OpenMines mine into the snapshot
types of :mod:`ironfield.apps.haulage.assign` (sites with their loaders and projected
queues, trucks en route) and asks the same :class:`~ironfield.apps.haulage.assign.Dispatcher`
the app uses, after an upper-stage plan from :func:`~ironfield.apps.haulage.lp.plan_flows`.
OpenMines ignores its own seed, so ``random`` and ``numpy`` are seeded before each run.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ironfield.apps.haulage.assign import (
    Dispatcher,
    DumpState,
    Inbound,
    LoaderState,
    Rule,
    SiteState,
    TruckView,
    Weights,
)
from ironfield.apps.haulage.lp import DumpSpec, LoaderSpec, PathSpec, plan_flows
from ironfield.core.errors import IronfieldError

try:  # OpenMines is only in the benchmark venv
    from openmines.src.dispatcher import BaseDispatcher
except ImportError:  # pragma: no cover - lets mypy/ruff/pytest import this module anywhere
    BaseDispatcher = object

DEFAULT_SCENARIO = Path(__file__).resolve().parents[2] / "shared/data/openmines/north_pit_mine.json"


class _MineView:
    """Distances, names and live road delays of one OpenMines mine, for ``travel_min``."""

    def __init__(self, mine: Any) -> None:
        self.mine = mine
        self.load_names = [s.name for s in mine.load_sites]
        self.dump_names = [s.name for s in mine.dump_sites]
        self.charging = mine.charging_site.name
        self.li = {n: i for i, n in enumerate(self.load_names)}
        self.di = {n: j for j, n in enumerate(self.dump_names)}
        self.obj = {s.name: s for s in [*mine.load_sites, *mine.dump_sites, mine.charging_site]}
        road = mine.road
        self.l2d = np.asarray(road.l2d_road_matrix, dtype=float)
        self.d2l = np.asarray(road.d2l_road_matrix, dtype=float)  # indexed [load][dump]
        self.c2l = np.asarray(road.charging_to_load, dtype=float)
        self.speed_kmh = float(np.mean([t.truck_speed for t in mine.trucks]))
        self._jams_at = -1.0
        self._jams: dict[tuple[str, str], list[tuple[float, float]]] = {}

    def km(self, a: str, b: str) -> float:
        if a == self.charging:
            return float(self.c2l[self.li[b]])
        if a in self.li:
            return float(self.l2d[self.li[a], self.di[b]])
        return float(self.d2l[self.li[b], self.di[a]])

    def _live_jams(self) -> dict[tuple[str, str], list[tuple[float, float]]]:
        """Jams on each road now: (minutes left, position 0..1), as OpenMines applies them."""
        now = float(self.mine.env.now)
        if now != self._jams_at:
            self._jams_at, self._jams = now, {}
            for ev in reversed(self.mine.random_event_pool.get_even_by_type("RoadEvent:jam")):
                i = ev.info
                if i["start_time"] < now - 60:
                    break
                if i["start_time"] <= now <= i["est_end_time"]:
                    self._jams.setdefault((i["start_location"], i["end_location"]), []).append(
                        (i["est_end_time"] - now, i["jam_position"]))
        return self._jams

    def travel_min(self, a: str, b: str, loaded: bool) -> float:
        """Free-flow time, stretched by a road under repair and delayed by live jams."""
        km = self.km(a, b)
        rep = self.mine.road.road_repairs.get((self.obj[a], self.obj[b]))
        if rep is not None and float(self.mine.env.now) < rep[1]:
            km *= 1.0 + self.mine.road.mu_punish_distance
        t = 60.0 * km / self.speed_kmh
        delay = sum(max(0.0, left - pos * t) for left, pos in self._live_jams().get((a, b), ()))
        return t + delay


class IronfieldDispatcher(BaseDispatcher):  # type: ignore[misc]
    """OpenMines dispatcher backed by ironfield's two-stage haulage dispatch."""

    def __init__(self, weights: Weights | None = None) -> None:
        super().__init__()
        self.name = "IronfieldDispatcher"
        self.weights = weights or Weights()
        self.core: Dispatcher | None = None
        self.view: _MineView | None = None

    # --- plumbing ----------------------------------------------------------------------
    def _setup(self, mine: Any) -> tuple[Dispatcher, _MineView]:
        if self.core is None or self.view is None:
            view = _MineView(mine)
            core = Dispatcher(view.travel_min, weights=self.weights)
            core.set_plan(self._plan(mine, view), 0.0)
            self.core, self.view = core, view
        return self.core, self.view

    @staticmethod
    def _plan(mine: Any, view: _MineView) -> Any:
        payload = float(np.mean([t.truck_capacity for t in mine.trucks]))
        loaders = [LoaderSpec(s.name, 60.0 * sum(sh.shovel_tons / sh.shovel_cycle_time
                                                 for sh in s.shovel_list))
                   for s in mine.load_sites]
        dumps = [DumpSpec(d.name, 60.0 * payload * sum(1.0 / dp.dump_time for dp in d.dumper_list))
                 for d in mine.dump_sites]
        paths = []
        for s in mine.load_sites:
            rate = sum(sh.shovel_tons / sh.shovel_cycle_time for sh in s.shovel_list)
            load_min = payload / (rate / len(s.shovel_list))
            for d in mine.dump_sites:
                trip = view.travel_min(s.name, d.name, True) + view.travel_min(d.name, s.name, False)
                paths.append(PathSpec(s.name, d.name, (trip + load_min + d.dumper_list[0].dump_time)
                                      / 60.0, payload))
        return plan_flows(loaders, dumps, paths, trucks_available=0.9 * len(mine.trucks))

    @staticmethod
    def _sites(mine: Any, now: float) -> list[SiteState]:
        sites = []
        for s in mine.load_sites:
            loaders = []
            for sh in s.shovel_list:
                rate = sh.shovel_tons / sh.shovel_cycle_time
                busy = now
                for req in sh.res.users:
                    busy = max(now, sh.last_service_time + req.truck.truck_capacity / rate)
                # a maintenance stop holds the shovel (and the truck under it) for ~45 min
                mnt = sh.event_pool.get_even_by_type("Shovel Maintenance Start")[-1:]
                if mnt and sh.res.users and mnt[0].info["end_time"] > now:
                    busy = max(busy, float(mnt[0].info["end_time"]))
                loaders.append(LoaderState(sh.name, rate, busy,
                                           [req.truck.truck_capacity for req in sh.res.queue]))
            sites.append(SiteState(s.name, loaders, Rule.FIRST_IDLE))
        return sites

    @staticmethod
    def _dumps(mine: Any, now: float) -> list[DumpState]:
        out = []
        for d in mine.dump_sites:
            busy = [max(now, dp.last_service_time + dp.dump_time) if dp.res.users else now
                    for dp in d.dumper_list]
            out.append(DumpState(d.name, busy, sum(len(dp.res.queue) for dp in d.dumper_list),
                                 d.dumper_list[0].dump_time))
        return out

    @staticmethod
    def _inbound(mine: Any, view: _MineView, me: Any, now: float, to_load: bool) -> list[Inbound]:
        out = []
        for t in mine.trucks:
            if t is me or t.target_location is None or t.current_location is None:
                continue
            dest = t.target_location.name
            if (dest in view.li) != to_load or t.current_location.name == dest:
                continue
            if t.status == "moving":
                moves = [e for k in ("init", "haul", "unhaul")
                         for e in t.event_pool.get_even_by_type(k)[-1:]]
                last = max(moves, key=lambda e: e.time_stamp) if moves else None
                if last is not None and last.info["target_location"] == dest:
                    eta = float(last.info["est_end_time"])
                else:  # order given, move not started yet
                    eta = now + view.travel_min(t.current_location.name, dest, False)
            elif t.status == "repairing":
                eta = (t.journey_start_time + t.repair_time
                       + view.travel_min(t.current_location.name, dest, False))
            else:
                continue
            out.append(Inbound(dest, max(eta, now), float(t.truck_capacity)))
        return out

    @staticmethod
    def _truck(truck: Any) -> TruckView:
        # a breakdown sampled since the last move is repaired before the next one starts
        return TruckView(truck.name, float(truck.truck_capacity),
                         delay_min=float(truck.repair_time or 0.0))

    def _to_loader(self, truck: Any, mine: Any) -> int:
        core, view = self._setup(mine)
        now = float(mine.env.now)
        tv = self._truck(truck)
        here = truck.current_location.name
        try:
            d = core.choose_loader(now, tv, here, self._sites(mine, now),
                                   self._inbound(mine, view, truck, now, to_load=True))
        except IronfieldError:  # keep the truck moving: nearest load site
            return min(range(len(view.load_names)),
                       key=lambda i: view.travel_min(here, view.load_names[i], False))
        core.record(here, d, tv.payload_t)
        return view.li[d.dest]

    # --- OpenMines API -----------------------------------------------------------------
    def give_init_order(self, truck: Any, mine: Any) -> int:
        return self._to_loader(truck, mine)

    def give_back_order(self, truck: Any, mine: Any) -> int:
        return self._to_loader(truck, mine)

    def give_haul_order(self, truck: Any, mine: Any) -> int:
        core, view = self._setup(mine)
        now = float(mine.env.now)
        tv = self._truck(truck)
        origin = truck.current_location.name
        d = core.choose_dump(now, tv, origin, self._dumps(mine, now),
                             self._inbound(mine, view, truck, now, to_load=False),
                             self._sites(mine, now))
        core.record(origin, d, float(truck.truck_load or truck.truck_capacity))
        return view.di[d.dest]


# --- benchmark runner ---------------------------------------------------------------------
BASELINES = {
    "ShortestTrip": ("shortest_trip_dispatcher", "ShortestTripDispatcher"),
    "SPTF": ("sptf_dispatcher", "SPTFDispatcher"),
    "SQ": ("sq_dispatcher", "SQDispatcher"),
    "Random": ("random_dispatcher", "RandomDispatcher"),
    "FixedGroup": ("fixed_group_dispatcher", "FixedGroupDispatcher"),
    "Nearest": ("nearest_dispatcher", "NearestDispatcher"),
    "Naive": ("naive_dispatcher", "NaiveDispatcher"),
}


def _make(name: str) -> Any:
    if name == "Ironfield":
        return IronfieldDispatcher()
    import importlib

    mod, cls = BASELINES[name]
    return getattr(importlib.import_module(f"openmines.src.dispatch_algorithms.{mod}"), cls)()


def _timed(fn: Callable[..., Any], wall: list[float], cpu: list[float]) -> Callable[..., Any]:
    def wrapper(*a: Any, **k: Any) -> Any:
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        try:
            return fn(*a, **k)
        finally:
            wall.append((time.perf_counter_ns() - t0) / 1e6)
            cpu.append((time.thread_time_ns() - c0) / 1e6)
    return wrapper


def run_one(name: str, seed: int, scenario: Path) -> dict[str, float]:
    """One OpenMines run; returns tonnes, queue time, shovel utilisation, latency p99."""
    from openmines.src import mine as mine_mod
    from openmines.src.cli.run import run_dispatch_sim

    captured: dict[str, Any] = {}
    orig_start = mine_mod.Mine.start

    def start(self: Any, total_time: float = 480) -> dict[str, Any]:
        captured["mine"] = self
        return dict(orig_start(self, total_time))

    mine_mod.Mine.start = start
    # the frame dump only feeds OpenMines' charts; skipping it does not touch the run
    mine_mod.Mine.dump_frames = lambda self, total_time, rl=False: {"summary": {}}
    disp = _make(name)
    lat: list[float] = []
    cpu: list[float] = []
    for m in ("give_init_order", "give_haul_order", "give_back_order"):
        setattr(disp, "_raw_" + m, getattr(type(disp), m))
        setattr(type(disp), m, _timed(getattr(type(disp), m), lat, cpu))
    random.seed(seed)
    np.random.seed(seed)
    try:
        run_dispatch_sim(disp, str(scenario))
    finally:
        mine_mod.Mine.start = orig_start
        for m in ("give_init_order", "give_haul_order", "give_back_order"):
            setattr(type(disp), m, getattr(disp, "_raw_" + m))
    mine = captured["mine"]
    end = float(mine.env.now)
    tons = sum(dp.dumper_tons for ds in mine.dump_sites for dp in ds.dumper_list)
    wait = 0.0
    busy: dict[str, float] = {}
    for t in mine.trucks:
        for ev in t.event_pool.event_set.values():
            info = ev.info
            if ev.event_type in ("wait shovel", "wait dumper"):
                stop = info["end_time"] if info["end_time"] is not None else end
                wait += stop - info["start_time"]
            elif ev.event_type == "get shovel":
                stop = info["end_time"] if info["end_time"] is not None else end
                busy[info["shovel"]] = busy.get(info["shovel"], 0.0) + stop - info["start_time"]
    shovels = [sh.name for s in mine.load_sites for sh in s.shovel_list]
    util = float(np.mean([min(1.0, busy.get(s, 0.0) / end) for s in shovels]))
    return {"tons": float(tons), "queue_min_per_truck": wait / len(mine.trucks),
            "shovel_util": util, "p99_ms": float(np.percentile(lat, 99)) if lat else 0.0,
            "p99_cpu_ms": float(np.percentile(cpu, 99)) if cpu else 0.0,
            "p50_ms": float(np.percentile(lat, 50)) if lat else 0.0, "decisions": len(lat)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--only", nargs="*", default=None, help="dispatcher names to run")
    ap.add_argument("--json", type=Path, default=None, help="write per-run results here")
    args = ap.parse_args(argv)
    if not args.scenario.exists():
        print(f"scenario not found: {args.scenario}", file=sys.stderr)
        return 2
    logging.disable(logging.INFO)  # OpenMines logs every truck move to the console
    names = args.only or ["Ironfield", *BASELINES]
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    runs: dict[str, list[dict[str, float]]] = {}
    for name in names:
        runs[name] = []
        for seed in seeds:
            t0 = time.time()
            r = run_one(name, seed, args.scenario)
            runs[name].append(r)
            print(f"{name:12s} seed {seed:3d}: {r['tons']:9.1f} t  queue "
                  f"{r['queue_min_per_truck']:6.1f} min/truck  shovel util {r['shovel_util']:.3f}"
                  f"  p99 {r['p99_ms']:.3f} ms (cpu {r['p99_cpu_ms']:.3f})"
                  f"  ({time.time() - t0:.1f} s)", flush=True)
    rows = []
    for name, rs in runs.items():
        tons = [r["tons"] for r in rs]
        rows.append((name, statistics.mean(tons), statistics.stdev(tons) if len(tons) > 1 else 0.0,
                     min(tons), max(tons), statistics.mean(r["queue_min_per_truck"] for r in rs),
                     statistics.mean(r["shovel_util"] for r in rs),
                     float(np.percentile([r["p99_ms"] for r in rs], 50)),
                     float(np.percentile([r["p99_cpu_ms"] for r in rs], 50))))
    rows.sort(key=lambda r: -r[1])
    best_base = max((r for r in rows if r[0] != "Ironfield"), key=lambda r: r[1], default=None)
    print("\n| dispatcher | mean t | std t | min t | max t | queue min/truck | "
          "shovel util | p99 ms wall | p99 ms cpu | vs best baseline |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        ratio = f"{row[1] / best_base[1]:.3f}" if best_base else "-"
        print(f"| {row[0]} | {row[1]:,.0f} | {row[2]:,.0f} | {row[3]:,.0f} | {row[4]:,.0f} | "
              f"{row[5]:.1f} | {row[6]:.3f} | {row[7]:.3f} | {row[8]:.3f} | {ratio} |")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
