"""A plant file naming a SunSpec inverter and an OPC UA PLC (the simulated devices): both
connectors built from it deliver values, and a setpoint reaches the PLC."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from ironfield.connectors.modbus.sunspec import create as create_sunspec
from ironfield.connectors.opcua.connector import create as create_opcua
from ironfield.connectors.sim.devices import SimDevices
from ironfield.connectors.sim.sink import CollectingSink
from ironfield.core.plant import parse_plant
from ironfield.core.plugins import Command, Connector, ConnectorContext, ConnectorFactory
from ironfield.core.quality import Quality
from ironfield.core.signals import SignalRegistry

NOON = 12 * 3600.0
INV, PLC = "mine/energy/inverter-01", "mine/plant/plc"


async def test_plant_file_with_inverter_and_plc(tmp_path: Path) -> None:
    async with SimDevices(clock=lambda: NOON, plc_update_s=0.2) as dev:
        doc = {"plant": "mine", "sites": [{"id": "mine", "areas": [
            {"id": "energy", "equipment": [{"id": "inverter-01"}]},
            {"id": "plant", "equipment": [{"id": "plc", "signals": [
                {"name": "speed_setpoint_mps", "unit": "m/s", "writable": True,
                 "range": [0.0, 3.0]}]}]}]}],
            "connectors": dev.connectors(INV, PLC)}
        f = tmp_path / "plant.yaml"
        with f.open("w") as fh:
            YAML().dump(doc, fh)
        plant = parse_plant(f.read_text(), str(f))
        reg = SignalRegistry()
        reg.register_many(plant.signal_defs())
        ctx = ConnectorContext(reg, plant, tmp_path, str(f))
        factories: dict[str, ConnectorFactory] = {"sunspec": create_sunspec, "opcua": create_opcua}
        conns: list[Connector] = [factories[c.type](c, ctx) for c in plant.connectors]
        sink = CollectingSink()
        tasks = [asyncio.create_task(c.run(sink)) for c in conns]

        def seen() -> set[str]:
            return {reg.path(s) for b in sink.batches for s in b.signal.tolist()}

        await sink.wait_for(lambda: {f"{INV}/ac_power_w", f"{PLC}/counter"} <= seen())
        plc = conns[1]
        r = await plc.write(Command(f"{PLC}/speed_setpoint_mps", 2.0, user="test"))
        assert (r.status, r.old_value, r.new_value) == ("confirmed", 1.5, 2.0)
        speed = reg.id(f"{PLC}/conveyor_speed_mps")

        def speed_now() -> float:
            b = sink.all()
            return float(b.value[b.signal == speed][-1])

        # the PLC's model follows the new setpoint (±0.02 m/s ripple)
        await sink.wait_for(lambda: abs(speed_now() - 2.0) <= 0.02 + 1e-9)
        for t in tasks:
            t.cancel()
        for t in tasks:
            with pytest.raises(asyncio.CancelledError):
                await t
    latest = {reg.path(s): (v, q) for s, _, v, q in sink.all().latest_per_signal().rows()}
    power, q = latest[f"{INV}/ac_power_w"]
    assert power == pytest.approx(10_000.0, abs=0.5) and q == Quality.GOOD
    assert latest[f"{PLC}/running"] == (1.0, Quality.GOOD)
    assert not [e for e in sink.events if e.type == "config_fault"]
