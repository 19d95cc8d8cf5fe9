"""A small simulated site that publishes over MQTT, as real machines would.

Trucks cycle load -> haul down -> dump -> return up -> (charge), the crusher's bearing
heats and cools (so the demo has alarms to acknowledge), a PV inverter follows a
clear-sky day, and welding robots publish each finished weld as one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

STATES = {"parked": 0, "queue": 1, "loading": 2, "hauling": 3, "dumping": 4, "returning": 5, "charging": 6}
# seconds in each phase of a truck's cycle (compressed for the demo)
PHASES = [("queue", 8), ("loading", 20), ("hauling", 60), ("dumping", 10), ("returning", 70)]


@dataclass
class Truck:
    id: str
    phase: int
    t_in_phase: float
    soc: float
    payload: float = 0.0
    motor_temp: float = 45.0


class SimulatedSite:
    def __init__(self, host: str, port: int, *, protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv311, trucks: int = 6,
                 robots: int = 12, pv: bool = True, rate_hz: float = 1.0, seed: int = 7) -> None:
        self.host, self.port, self.rate_hz = host, port, rate_hz
        self.rng = random.Random(seed)
        self.trucks = [
            Truck(f"truck-{i + 1:02d}", i % len(PHASES), self.rng.uniform(0, 10), self.rng.uniform(55, 95))
            for i in range(trucks)
        ]
        self.robots = [f"robot-{i + 1:03d}" for i in range(robots)]
        self.welds = dict.fromkeys(self.robots, 0)
        self.bearing = 70.0
        self.pv = pv  # off when an app simulates the PV plant itself
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"ironfield-demo-sim-{seed}", protocol=protocol)
        self.published = 0

    def _pub(self, topic: str, payload: str) -> None:
        self.client.publish(topic, payload, qos=1)
        self.published += 1

    def step(self, t: float, dt: float) -> None:
        for tr in self.trucks:
            tr.t_in_phase += dt
            name, dur = PHASES[tr.phase]
            if tr.t_in_phase >= dur:
                tr.phase = (tr.phase + 1) % len(PHASES)
                tr.t_in_phase = 0.0
                name, dur = PHASES[tr.phase]
            speed, power = 0.0, 20.0
            if name == "loading":
                tr.payload = min(90.0, tr.payload + 90.0 * dt / dur)
            elif name == "hauling":
                # loaded downhill: the motors brake and regenerate
                speed, power = 25 + self.rng.gauss(0, 1), -350 + self.rng.gauss(0, 20)
            elif name == "dumping":
                tr.payload = max(0.0, tr.payload - 90.0 * dt / dur)
            elif name == "returning":
                speed, power = 28 + self.rng.gauss(0, 1), 520 + self.rng.gauss(0, 25)
            tr.soc = min(100.0, max(5.0, tr.soc - power * dt / 3600 / 4.2))
            if tr.soc < 20:
                tr.soc = 95.0  # swapped at the charger (kept simple in the demo)
            tr.motor_temp += (45 + abs(power) / 12 - tr.motor_temp) * dt / 120
            base = f"luobei/pit/{tr.id}"
            for sig, v in (("payload_t", tr.payload), ("speed_kmh", speed), ("soc_pct", tr.soc),
                           ("motor_temp_c", tr.motor_temp), ("battery_power_kw", power),
                           ("state", STATES[name])):
                self._pub(f"{base}/{sig}", f"{v:.3f}")
        # crusher: bearing temperature swings past its 85 degC alarm limit for ~20 s of every 75 s, so a newcomer sees an alarm soon
        self.bearing = 76 + 14 * math.sin(t / 12) + self.rng.gauss(0, 0.3)
        tph = 900 + 80 * math.sin(t / 37) + self.rng.gauss(0, 10)
        for sig, v in (("throughput_tph", tph), ("power_kw", tph * 0.62), ("bearing_temp_c", self.bearing)):
            self._pub(f"luobei/crusher/primary-crusher/{sig}", f"{v:.3f}")
        if self.pv:
            hour = (time.gmtime(t).tm_hour + 8) % 24 + time.gmtime(t).tm_min / 60
            sun = max(0.0, math.sin(math.pi * (hour - 5) / 14))
            irr = 1000 * sun * (0.8 + 0.2 * self.rng.random())
            for sig, v in (("irradiance_wm2", irr), ("ac_power_kw", 2.4 * irr * 0.97),
                           ("module_temp_c", -10 + 0.03 * irr)):
                self._pub(f"luobei/pv/inverter-01/{sig}", f"{v:.3f}")
        for r in self.robots:
            if self.rng.random() < 0.5 * dt:
                self.welds[r] = (self.welds[r] + 1) % 1500
                current = 9.5 + 0.0008 * self.welds[r] + self.rng.gauss(0, 0.15)
                body = {"ts": int(t * 1000), "weld_current_ka": round(current, 3),
                        "weld_time_ms": round(240 + self.rng.gauss(0, 12), 1),
                        "electrode_force_kn": round(3.2 + self.rng.gauss(0, 0.05), 3),
                        "welds_since_dress": self.welds[r], "state": 1}
                self._pub(f"hongqi/body-shop/line-3/{r}/weld", json.dumps(body))

    async def run(self) -> None:
        self.client.connect_async(self.host, self.port)
        self.client.loop_start()
        try:
            dt = 1.0 / self.rate_hz
            while True:
                self.step(time.time(), dt)
                await asyncio.sleep(dt)
        finally:
            self.client.disconnect()
            self.client.loop_stop()
