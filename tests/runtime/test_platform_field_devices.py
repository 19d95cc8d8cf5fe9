"""A plant file with a SunSpec inverter and an OPC UA PLC (simulated, on loopback): their
values land in the historian, and a setpoint sent through the HTTP API reaches the PLC
and is journaled (who, what, old and new value, result)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from ruamel.yaml import YAML

from ironfield.connectors.sim.devices import SimDevices
from ironfield.runtime.platform import Platform
from ironfield.server.app import create_app
from ironfield.server.auth import USERS_FILE, UserStore

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
            # an engineer's machine token, through the real HTTP API
            store = UserStore(p.data_dir / USERS_FILE)
            store.set_user("alice", "a-long-enough-password", "engineer")
            token, _ = store.create_token("alice", "test")
            app = create_app(p)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                         headers={"Authorization": f"Bearer {token}"}) as c:
                r_ok = await c.post("/api/commands", json={"signal": f"{PLC}/speed_setpoint_mps",
                                                           "value": 2.5, "reason": "ramp up"})
                r_bad = await c.post("/api/commands", json={"signal": f"{PLC}/speed_setpoint_mps", "value": 9.0})
            ok, refused = r_ok.json(), r_bad.json()
            assert ok["status"] == "confirmed" and ok["new_value"] == 2.5, ok
            assert refused["status"] == "rejected" and "limit" in refused["message"], refused
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
    assert first["old_value"] == 1.5  # the PLC's setpoint before, read back by the connector
    assert first["signal"] == f"{PLC}/speed_setpoint_mps" and first["reason"] == "ramp up"
    assert journal[1].payload["status"] == "rejected"
