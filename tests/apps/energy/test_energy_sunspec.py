"""PV inverters over Modbus SunSpec: the energy app reads the real `sunspec` connector's
``ac_power_w`` (W, scaled to kW by the signal's unit) and SunSpec state from a pymodbus
SunSpec inverter simulator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from apps.energy.energy_rig import plant_yaml, until
from ironfield.apps.energy.app import EnergyApp
from ironfield.connectors.sim.modbus_inverter import SimInverter
from ironfield.core.plant import parse_plant
from ironfield.core.timeutil import NS_PER_MIN
from ironfield.runtime.platform import Platform
from server.server_rig import stop_platform

NOON = 12 * 3600.0  # the simulator's clock: solar noon at longitude 0, full output


async def test_sunspec_inverter_feeds_actual_pv(tmp_path: Path) -> None:
    async with SimInverter(clock=lambda: NOON, model=103, mppt=2) as sim:
        yaml = plant_yaml(None).replace(
            '      truck_soc: "luobei/pit/truck-*/soc_pct"\n',
            '      truck_soc: "luobei/pit/truck-*/soc_pct"\n'
            '      inverter_power: "luobei/pv/sunspec-*/ac_power_w"\n'
            '      inverter_status: "luobei/pv/sunspec-*/status"\n')
        yaml = yaml.replace("\napps:\n", f"""
connectors:
  - {{id: inv-1, type: sunspec, host: {sim.host}, port: {sim.port}, unit: 1, asset: luobei/pv/sunspec-01, interval: 500ms}}

apps:
""", 1)
        p = Platform(plant=parse_plant(yaml), data_dir=tmp_path, app_factories={"energy": EnergyApp})
        p.open()
        await p.start()
        try:
            assert p.historian is not None
            actual = p.registry.id("luobei/energy/pv_actual_kw")
            rows = await until(lambda: len(b := p.historian.raw([actual], 0, 2**62)) and b if p.historian else None,
                               "a settled minute of SunSpec data", timeout=150)
            assert p.registry.definition("luobei/pv/sunspec-01/ac_power_w").unit == "W"
            ts = int(rows.ts[0])
            w = p.historian.raw([p.registry.id("luobei/pv/sunspec-01/ac_power_w")], ts, ts + NS_PER_MIN)
            assert len(w) > 0
            assert rows.value[0] == pytest.approx(float(np.mean(w.value)) / 1000.0, rel=1e-9)
            assert rows.value[0] == pytest.approx(sim.rated_w / 1000.0, rel=1e-3)  # 10 kW at noon, in kW
            app = p.apps["energy"]
            assert isinstance(app, EnergyApp)
            frame = await until(lambda: app.state.frame if app.state.frame is not None
                                and any("sunspec-01" in k for k in app.state.frame.inverters) else None, "the frame")
            assert list(frame.inverters) == ["luobei/pv/sunspec-01/ac_power_w"]
        finally:
            await stop_platform(p)
