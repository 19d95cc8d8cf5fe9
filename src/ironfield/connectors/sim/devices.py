"""Both simulated devices at once, and the plant-file connector entries that read them
(for the demo and for end-to-end tests).

    async with SimDevices() as dev:
        plant["connectors"] += dev.connectors("luobei/energy/pv/inverter-01",
                                              "hongqi/body-shop/line-3/plc")

``python -m ironfield.connectors.sim`` runs them until interrupted and prints the entries.
"""

from __future__ import annotations

import time
from typing import Any

from ironfield.connectors.sim.modbus_inverter import SimInverter
from ironfield.connectors.sim.opcua_plc import SimPlc, node_id
from ironfield.connectors.sim.timemodel import Clock


class SimDevices:
    def __init__(self, *, clock: Clock = time.time, plc_update_s: float = 1.0,
                 longitude_deg: float = 0.0) -> None:
        self.plc = SimPlc(clock=clock, update_s=plc_update_s)
        self.inverter = SimInverter(clock=clock, longitude_deg=longitude_deg)

    async def __aenter__(self) -> SimDevices:
        await self.inverter.start()
        try:
            await self.plc.start()
        except BaseException:
            await self.inverter.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.plc.stop()
        await self.inverter.stop()

    def connectors(self, inverter_asset: str, plc_asset: str) -> list[dict[str, Any]]:
        """Plant-file ``connectors:`` entries for the two devices.

        The PLC's ``speed_setpoint_mps`` is writable on the device (variable write, or the
        ``set`` method); declare it ``writable: true`` with a range in the plant file.
        """
        tags = {"conveyor_speed_mps": "ConveyorSpeed", "motor_current_a": "MotorCurrent",
                "tank_level_pct": "TankLevel", "counter": "Counter", "running": "Running",
                "speed_setpoint_mps": "SpeedSetpoint"}
        nodes: list[dict[str, Any]] = [{"signal": s, "node": node_id(t)} for s, t in tags.items()]
        nodes[-1]["methods"] = {"set": "2:SetSpeed"}
        return [
            {"id": "sim-inverter", "type": "sunspec", "host": self.inverter.host,
             "port": self.inverter.port, "unit": self.inverter.unit, "asset": inverter_asset,
             "interval": "1s"},
            {"id": "sim-plc", "type": "opcua", "endpoint": self.plc.endpoint,
             "asset": plc_asset, "subscriptions": [
                 {"publishing_interval": "1s", "sampling_interval": "500ms", "nodes": nodes}]},
        ]
