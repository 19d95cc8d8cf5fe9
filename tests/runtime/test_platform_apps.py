"""App plug-ins: the platform registers an app's derived signals, runs its processing under
supervision, and stores what it submits and emits."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ironfield.core.batch import Batch
from ironfield.core.errors import IronfieldError
from ironfield.core.events import Event
from ironfield.core.plant import PlantSpec
from ironfield.core.plugins import App, AppContext
from ironfield.core.signals import SignalDef
from ironfield.core.timeutil import now_ns
from ironfield.runtime.platform import Platform

PLANT = {
    "plant": "p",
    "sites": [{"id": "s", "areas": [{"id": "a", "equipment": [
        {"id": "feeder", "signals": [{"name": "tph", "unit": "t/h"}]},
        {"id": "crusher", "signals": [{"name": "kw", "unit": "kW"}]}]}]}],
    "historian": {"backend": "duckdb", "path": "h.duckdb", "flush_interval": "50ms"},
    "apps": {"intensity": {"site": "s/a"}},
}


class Intensity:
    """Specific energy of the crusher [kWh/t] = power [kW] / throughput [t/h], per batch."""

    name = "intensity"

    def signals(self, config: Mapping[str, Any], plant: PlantSpec) -> list[SignalDef]:
        return [SignalDef(f"{config['site']}/crusher/kwh_per_t", unit="kWh/t")]

    async def run(self, ctx: AppContext) -> None:
        site = ctx.config["site"]
        tph, kw = ctx.registry.id(f"{site}/feeder/tph"), ctx.registry.id(f"{site}/crusher/kw")
        out = ctx.registry.id(f"{site}/crusher/kwh_per_t")
        last: dict[int, float] = {}
        with ctx.bus.subscribe(signals={tph, kw}, policy="lag") as sub:
            while True:
                item = await sub.get()
                if not isinstance(item, Batch):
                    continue
                for s in (tph, kw):
                    sel = item.value[item.signal == s]
                    if len(sel):
                        last[s] = float(sel[-1])
                if len(last) == 2 and last[tph] > 0:
                    ts = int(item.ts.max())
                    await ctx.submit(Batch.build(out, ts, last[kw] / last[tph]))
                    if last[kw] / last[tph] > 1.0:
                        ctx.emit(Event.make("intensity.high", f"{site}/crusher", {"kwh_per_t": last[kw] / last[tph]}, ts=ts))


async def test_app_signals_processing_and_events(tmp_path: Path) -> None:
    factory: Any = Intensity
    p = Platform(plant=PlantSpec.model_validate(PLANT), data_dir=tmp_path, app_factories={"intensity": factory})
    p.open()
    assert isinstance(p.apps["intensity"], App)
    out = p.registry.id("s/a/crusher/kwh_per_t")
    assert p.registry.definition("s/a/crusher/kwh_per_t").unit == "kWh/t"
    await p.start()
    try:
        assert p.pipeline is not None and p.historian is not None
        await asyncio.sleep(0.2)  # the app has subscribed
        t = now_ns()
        await p.pipeline.submit(Batch.build([p.registry.id("s/a/feeder/tph"), p.registry.id("s/a/crusher/kw")],
                                            [t, t], [800.0, 480.0]))
        await p.pipeline.submit(Batch.build(p.registry.id("s/a/crusher/kw"), t + 1, 1200.0))
        async with asyncio.timeout(10):
            while len(p.historian.raw([out], 0, 2**62)) < 2:
                await asyncio.sleep(0.05)
            while not p.historian.events(0, 2**62, types=["intensity.high"]):
                await asyncio.sleep(0.05)
        b = p.historian.raw([out], 0, 2**62)
        assert np.allclose(b.value, [0.6, 1.5])
        assert p.tasks["app/intensity"].running
    finally:
        await p.stop()
    # the derived signal is in the historian's signal table, so ids survive a restart
    again = Platform(plant=PlantSpec.model_validate(PLANT), data_dir=tmp_path, app_factories={"intensity": factory})
    again.open()
    try:
        assert again.registry.id("s/a/crusher/kwh_per_t") == out
    finally:
        assert again.historian is not None
        again.historian.close()


def test_unknown_app_is_named(tmp_path: Path) -> None:
    p = Platform(plant=PlantSpec.model_validate({**PLANT, "apps": {"nosuch": {}}}), data_dir=tmp_path)
    with pytest.raises(IronfieldError, match="no plug-in 'nosuch' in ironfield.apps"):
        p.open()
    assert p.historian is not None
    p.historian.close()


def test_alarm_rules_may_name_signals_an_app_derives(tmp_path: Path) -> None:
    # apps register their signals before the alarm engine is built from the plant file
    alarm = {"id": "intensity-high", "type": "limit", "signal": "s/a/crusher/kwh_per_t",
             "h": {"limit": 1.0, "priority": "high"}}
    factory: Any = Intensity
    p = Platform(plant=PlantSpec.model_validate({**PLANT, "alarms": [alarm]}), data_dir=tmp_path,
                 app_factories={"intensity": factory})
    p.open()
    try:
        assert "s/a/crusher/kwh_per_t" in p.registry
        assert "alarms" in p.services
    finally:
        assert p.historian is not None
        p.historian.close()
