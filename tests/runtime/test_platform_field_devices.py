"""A plant file with a SunSpec inverter and an OPC UA PLC (simulated, on loopback): their
values land in the historian, and a setpoint sent through the platform reaches the PLC
and is journaled."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ruamel.yaml import YAML

from ironfield.connectors.sim.devices import SimDevices
from ironfield.core.plugins import Command
from ironfield.runtime.platform import Platform

INV, PLC = "mine/energy/inverter-01", "mine/plant/plc"


async def test_field_devices_to_historian_and_setpoint_journaled(tmp_path: Path) -> None:
    async with SimDevices(plc_update_s=0.2) as dev:
        doc = {"plant": "mine", "sites": [{"id": "mine", "areas": [
            {"id": "energy", "equipment": [{"id": "inverter-01"}]},
            {"id": "plant", "equipment": [{"id": "plc", "signals": [
                {"name": "speed_setpoint_mps", "unit": "m/s", "writable": True, "range": [0.0, 3.0]}]}]}]}],
            "historian": {"backend": "duckdb", "path": "h.duckdb", "flush_interval": "100ms"},
            "connectors": dev.connectors(INV, PLC)}
        f = tmp_path / "plant.yaml"
        with f.open("w") as fh:
            YAML().dump(doc, fh)
        p = Platform.from_file(f, data_dir=tmp_path / "data")
        p.open()
        await p.start()
        try:
            assert p.historian is not None
            h = p.historian
            async with asyncio.timeout(30):
                # SunSpec signals exist once the inverter's model chain has been read
                while p.registry.get_id(f"{INV}/ac_power_w") is None:
                    await asyncio.sleep(0.1)
                power = p.registry.id(f"{INV}/ac_power_w")
                counter = p.registry.id(f"{PLC}/counter")
                while len(h.last([power, counter])) < 2:
                    await asyncio.sleep(0.1)
            ok = await p.command(Command(f"{PLC}/speed_setpoint_mps", 2.5, user="alice", reason="ramp up"))
            refused = await p.command(Command(f"{PLC}/speed_setpoint_mps", 9.0, user="alice"))
            assert ok.status == "confirmed" and ok.new_value == 2.5
            assert refused.status == "rejected" and "limit" in refused.message
            speed = p.registry.id(f"{PLC}/conveyor_speed_mps")
            async with asyncio.timeout(30):
                while True:
                    last = h.last([speed])
                    if len(last) and abs(float(last.value[0]) - 2.5) <= 0.021:
                        break
                    await asyncio.sleep(0.1)
            async with asyncio.timeout(10):
                while len(journal := h.events(0, 2**62, types=["command"])) < 2:
                    await asyncio.sleep(0.1)
        finally:
            await p.stop()
    first = journal[0].payload
    assert first["user"] == "alice" and first["status"] == "confirmed" and first["new_value"] == 2.5
    assert first["signal"] == f"{PLC}/speed_setpoint_mps" and first["reason"] == "ramp up"
    assert journal[1].payload["status"] == "rejected"
