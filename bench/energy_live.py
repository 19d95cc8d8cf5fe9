"""What the energy app's live processing costs with a full 24-h window (the demo plant's
inputs at the demo's 5-s rate, and 30 days of inverter power at 1 min before it), per step:
the tick (historian reads, pvlib for new minutes, balance, losses), the intraday and
day-ahead forecasts, the charging plan and the carbon account.

Baseline in the same process: the first (cold) tick, which models every minute of the
window; a steady tick models only the new minute. Run: ``.venv/bin/python bench/energy_live.py``
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import yaml

from ironfield.apps.energy.app import EnergyApp, parse_config
from ironfield.apps.energy.carbonlive import CarbonTracker, month_of
from ironfield.apps.energy.dayahead import DayAheadRunner
from ironfield.apps.energy.intraday import forecast
from ironfield.apps.energy.live import LiveProcessor
from ironfield.core.batch import Batch
from ironfield.core.plant import PlantSpec
from ironfield.core.plugins import AppContext
from ironfield.core.timeutil import NS_PER_MIN, NS_PER_S, now_ns
from ironfield.runtime.platform import Platform

DEMO = Path(__file__).resolve().parents[1] / "src" / "ironfield" / "demo" / "demo.yaml"


def plant() -> PlantSpec:
    full = yaml.safe_load(DEMO.read_text())
    luobei = next(s for s in full["sites"] if s["id"] == "luobei")
    luobei["areas"] = [a for a in luobei["areas"] if a["id"] in ("pv", "energy", "crusher")]
    luobei["areas"].append({"id": "pit", "equipment": [{"ids": "truck-{01..10}", "signals": [{"name": "soc_pct", "unit": "%"}]}]})
    return PlantSpec.model_validate({"plant": "bench", "sites": [luobei],
                                     "historian": {"backend": "duckdb", "path": "b.duckdb", "flush_interval": "50ms"},
                                     "apps": {"energy": full["apps"]["energy"]}})


T = TypeVar("T")


def timed(fn: Callable[..., T], *a: Any) -> tuple[T, float]:
    t = time.thread_time()
    r = fn(*a)
    return r, time.thread_time() - t


async def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Platform(plant=plant(), data_dir=Path(d), app_factories={"energy": EnergyApp})
        p.open()
        await p.start()
        try:
            assert p.pipeline is not None and p.historian is not None
            now = now_ns() // NS_PER_MIN * NS_PER_MIN
            ts = np.arange(now - 24 * 3600 * NS_PER_S, now, 5 * NS_PER_S, dtype=np.int64)
            rng = np.random.default_rng(1)
            sun = np.clip(np.sin((ts / NS_PER_S / 3600.0 + 8.0 - 6.0) / 12.0 * np.pi), 0, None)
            series = {"luobei/pv/weather-station/poa_wm2": 900 * sun, "luobei/pv/weather-station/module_temp_c": -5 + 20 * sun}
            for i in range(1, 5):
                series[f"luobei/pv/inverter-{i:02d}/ac_power_kw"] = 450 * sun
                series[f"luobei/pv/inverter-{i:02d}/status"] = np.where(sun > 0, 4.0, 2.0)
            series["luobei/energy/grid-meter/import_kw"] = np.clip(1400 - 1800 * sun, 0, None)
            series["luobei/energy/grid-meter/export_kw"] = np.clip(1800 * sun - 1400, 0, None)
            for k in ("luobei/energy/conveyor-01/power_kw", "luobei/energy/conveyor-02/power_kw",
                      "luobei/energy/camp/power_kw", "luobei/crusher/primary-crusher/power_kw"):
                series[k] = 200 + rng.normal(0, 5, len(ts))
            for i in range(1, 11):
                series[f"luobei/pit/truck-{i:02d}/soc_pct"] = 40 + 40 * rng.random(len(ts))
            for path, v in series.items():
                await p.pipeline.submit(Batch.build(p.registry.id(path), ts, v))
            # the day-ahead's history: 30 days before the window, inverters at 1 min
            hts = np.arange(now - 31 * 24 * 3600 * NS_PER_S, ts[0], 60 * NS_PER_S, dtype=np.int64)
            hsun = np.clip(np.sin((hts / NS_PER_S / 3600.0 + 8.0 - 6.0) / 12.0 * np.pi), 0, None)
            cloud = 0.4 + 0.6 * rng.random(31)[(hts - hts[0]) // (24 * 3600 * NS_PER_S)]
            for i in range(1, 5):
                await p.pipeline.submit(Batch.build(p.registry.id(f"luobei/pv/inverter-{i:02d}/ac_power_kw"), hts,
                                                    450 * hsun * cloud))
            await asyncio.sleep(2)
            p.historian.flush()
            cfg = parse_config(p.plant.apps["energy"])
            proc = LiveProcessor(cfg, p.registry, p.historian)
            res, cold = timed(proc.tick, now)
            steady = []
            for j in range(1, 6):
                _, t = timed(proc.tick, now + j * NS_PER_MIN)
                steady.append(t)
            f = res.frame
            fc, t_fc = timed(forecast, proc.models, f.ts, f.pv_kw, now, cfg.live.forecast_horizon_h)
            app = EnergyApp()
            app.cfg, app.carbon = cfg, CarbonTracker(cfg, p.registry, p.historian)
            ctx = AppContext(name="energy", config={}, plant=p.plant, registry=p.registry, bus=p.bus, data_dir=Path(d),
                             submit=p.pipeline.submit, emit=p.pipeline.emit_nowait, command=p.command, history=p.historian)
            runner = DayAheadRunner(cfg, p.registry, p.historian, proc.models)
            da, t_da_cold = timed(runner.run, now)
            da, t_da = timed(runner.run, now + 60 * NS_PER_S)
            assert da["available"], da["note"]
            (_, view), t_plan = timed(app._plan, ctx, f, fc, da, now)
            _, t_carbon = timed(app.carbon.account, month_of(now, cfg.site.timezone), now)
            st = float(np.median(steady))
            tick_s, fc_s, plan_s = cfg.live.tick_s, cfg.live.forecast_every_s, cfg.live.plan_every_s
            da_s = cfg.live.dayahead_every_s
            share = (st + t_carbon) / tick_s + t_fc / fc_s + t_plan / plan_s + t_da / da_s
            print(f"rows fed: {sum(len(v) for v in series.values())} ({len(ts)} per signal, 24 h at 5 s)")
            print(f"tick cold (models all {len(f.ts)} minutes): {cold * 1000:.0f} ms")
            print(f"tick steady (median of 5): {st * 1000:.0f} ms  -> steady/cold = {st / cold:.2f}")
            print(f"forecast: {t_fc * 1000:.0f} ms, plan (HiGHS LP + charge-when-low, "
                  f"{len(view['trucks'])} trucks x {len(view['ts'])} periods): {t_plan * 1000:.0f} ms, "
                  f"carbon month to date: {t_carbon * 1000:.0f} ms")
            print(f"day-ahead ({cfg.live.dayahead_history_days} days of history, {da['days_with_data']} with data): "
                  f"cold {t_da_cold * 1000:.0f} ms (pvlib clear sky for every step), warm {t_da * 1000:.0f} ms "
                  f"-> warm/cold = {t_da / t_da_cold:.2f}; plan PV: {view['pv_source']}")
            print(f"CPU share at tick {tick_s:.0f} s, forecast {fc_s:.0f} s, plan {plan_s:.0f} s, "
                  f"day-ahead {da_s:.0f} s: {100 * share:.2f} % of one core")
        finally:
            await p.stop()


if __name__ == "__main__":
    asyncio.run(main())
