"""A demo-plant Platform with synthetic history and a live generator, served by uvicorn on
loopback in a background thread. Used by the screenshot script (and handy by hand:
``python bench/server_demo_rig.py`` serves it on port 8611 until Ctrl-C)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np

from ironfield.alarms import AlarmEngine
from ironfield.core.batch import Batch
from ironfield.core.plant import parse_plant
from ironfield.core.timeutil import NS_PER_S, now_ns
from ironfield.runtime.platform import Platform
from ironfield.server.auth import Auth, ensure_demo_user
from ironfield.server.run import make_server

# A copy of the demo plant's assets (src/ironfield/demo/demo.yaml) without connectors, so
# the screenshots do not depend on a broker or on edits to the shipped demo.
PLANT = """
plant: demo
description: ironfield demo - Luobei open-pit mine and Hongqi body shop, simulated
data_dir: data/demo

equipment_types:
  haul_truck:
    description: unmanned battery-electric haul truck
    signals:
      - {name: payload_t, unit: t, range: [0, 120], description: payload on the tray}
      - {name: speed_kmh, unit: km/h, range: [0, 60], description: ground speed}
      - {name: soc_pct, unit: "%", range: [0, 100], description: battery state of charge}
      - {name: motor_temp_c, unit: degC, range: [-40, 160], description: traction motor temperature}
      - {name: battery_power_kw, unit: kW, range: [-2000, 2000], description: "battery power, positive = discharging"}
      - {name: state, type: state, unit: "", description: truck state, states: {0: parked, 1: queue, 2: loading, 3: hauling, 4: dumping, 5: returning, 6: charging, 7: down}}
  weld_robot:
    description: spot-welding robot with adaptive weld control
    signals:
      - {name: weld_current_ka, unit: kA, range: [0, 20], description: RMS weld current of the last weld}
      - {name: weld_time_ms, unit: ms, range: [0, 800], description: duration of the last weld}
      - {name: electrode_force_kn, unit: kN, range: [0, 8], description: electrode force}
      - {name: welds_since_dress, unit: "1", range: [0, 2000], description: welds since the last tip dressing}
      - {name: state, type: state, description: robot state, states: {0: idle, 1: welding, 2: dressing, 3: fault}}

sites:
  - id: luobei
    name: Luobei open-pit mine
    timezone: Asia/Harbin
    latitude: 47.6
    longitude: 130.8
    areas:
      - id: pit
        equipment:
          - {ids: "truck-{01..06}", type: haul_truck}
      - id: crusher
        equipment:
          - id: primary-crusher
            signals:
              - {name: throughput_tph, unit: t/h, range: [0, 1500], description: ore through the crusher}
              - {name: power_kw, unit: kW, range: [0, 1200], description: crusher motor power}
              - {name: bearing_temp_c, unit: degC, range: [-40, 120], description: main bearing temperature}
              - {name: feed_setpoint_tph, unit: t/h, range: [0, 1200], writable: true, description: feeder setpoint}
      - id: pv
        equipment:
          - id: inverter-01
            signals:
              - {name: ac_power_kw, unit: kW, range: [-5, 2600], description: AC power}
              - {name: irradiance_wm2, unit: W/m2, range: [0, 1500], description: plane-of-array irradiance}
              - {name: module_temp_c, unit: degC, range: [-45, 90], description: module temperature}
  - id: hongqi
    name: Hongqi car-body welding shop
    timezone: Asia/Shanghai
    areas:
      - id: body-shop
        equipment:
          - id: line-3
            equipment:
              - {ids: "robot-{001..012}", type: weld_robot}

historian:
  backend: duckdb
  path: ironfield.duckdb
  retention:
    default: {raw: 90d, rollup_1m: 2y, rollup_1h: 20y}
    platform: {raw: 30d}
"""

RULES: list[dict[str, Any]] = [
    {"id": "crusher-bearing-hot", "type": "limit", "signal": "luobei/crusher/primary-crusher/bearing_temp_c",
     "h": 85, "hh": {"limit": 95, "priority": "urgent"}, "deadband": 2, "priority": "high",
     "message": "crusher main bearing hot"},
    {"id": "truck-soc-low", "type": "limit", "signal": "luobei/pit/truck-{01..06}/soc_pct",
     "l": 25, "ll": 15, "deadband": 2, "priority": "medium", "message": "truck battery low"},
    {"id": "motor-hot", "type": "limit", "signal": "luobei/pit/truck-{01..06}/motor_temp_c",
     "h": 120, "priority": "low", "message": "traction motor warm"},
    {"id": "weld-current-high", "type": "limit", "signal": "hongqi/body-shop/line-3/robot-{001..012}/weld_current_ka",
     "h": 14.5, "priority": "high", "message": "weld current above schedule"},
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


class DemoRig:
    def __init__(self, data_dir: Path, hours: float = 24.0, port: int | None = None) -> None:
        plant = parse_plant(PLANT).model_copy(update={"alarms": RULES})
        self.platform = Platform(plant=plant, data_dir=data_dir)
        self.platform.open()
        assert self.platform.pipeline is not None
        engine = self.platform.services["alarms"]  # built by the platform from RULES
        assert isinstance(engine, AlarmEngine)
        self.engine = engine
        self.user, self.password = ensure_demo_user(data_dir)
        self.auth = Auth.in_data_dir(data_dir)
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.rng = np.random.default_rng(7)
        self.paths = [p for p in self.platform.registry if "/platform/" not in p]
        self.state = {p: self._start_value(p) for p in self.paths}
        self._history(hours)
        self.loop = asyncio.new_event_loop()
        self.server = make_server(self.platform, port=self.port, auth=self.auth, manage_platform=True)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _start_value(self, p: str) -> float:
        d = self.platform.registry.definition(p)
        if d.type == "state":
            return 1.0
        lo, hi = d.low if d.low is not None else 0.0, d.high if d.high is not None else 100.0
        return lo + (hi - lo) * float(self.rng.uniform(0.3, 0.6))

    def _step(self, p: str, v: float, t_s: float) -> float:
        d = self.platform.registry.definition(p)
        name = d.name
        if d.type == "state":
            states = sorted(d.states)
            if self.rng.random() < 0.04:
                w = np.array([0.1 if s in (0, 7, 3) else 1.0 for s in states])
                return float(self.rng.choice(states, p=w / w.sum()))
            return v
        if name == "welds_since_dress":
            return 0.0 if v > 900 else v + float(self.rng.integers(8, 20))
        if name == "soc_pct":
            return float(np.clip(v - 0.15 + (30 if v < 20 else 0), 0, 100))
        if name == "irradiance_wm2" or name == "ac_power_kw":
            day = max(0.0, np.sin((t_s % 86400) / 86400 * 2 * np.pi - np.pi / 2 + 0.6))
            top = 1000.0 if name == "irradiance_wm2" else 2400.0
            return float(top * day * float(self.rng.uniform(0.9, 1.0)))
        lo, hi = d.low if d.low is not None else 0.0, d.high if d.high is not None else 100.0
        span = hi - lo
        mid = lo + 0.45 * span
        return float(np.clip(v + 0.05 * (mid - v) + self.rng.normal(0, 0.02 * span), lo, hi))

    def _tick(self, ts: int) -> Batch:
        ids, vals = [], []
        for p in self.paths:
            self.state[p] = self._step(p, self.state[p], ts / NS_PER_S)
            ids.append(self.platform.registry.id(p))
            vals.append(self.state[p])
        return Batch.build(np.array(ids), ts, np.array(vals))

    def _history(self, hours: float) -> None:
        h = self.platform.historian
        assert h is not None
        now = now_ns()
        step = 30 * NS_PER_S
        n = int(hours * 3600 * NS_PER_S // step)
        parts = [self._tick(now - (n - i) * step) for i in range(n)]
        for i in range(0, len(parts), 500):
            b = Batch.concat(parts[i:i + 500])
            h.write(b)
            self.engine.process(b)

    def set(self, path: str, value: float) -> None:
        self.state[path] = value

    async def _live(self) -> None:
        assert self.platform.pipeline is not None
        while True:
            b = self._tick(now_ns())
            await self.platform.pipeline.submit(b)  # the platform's alarm service sees it
            await asyncio.sleep(1.0)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            gen = asyncio.create_task(self._live())
            try:
                await self.server.serve()
            finally:
                gen.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await gen

        self.loop.run_until_complete(main())
        self.loop.close()

    def start(self) -> DemoRig:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return self

    def call(self, fn: Any, *args: Any) -> Any:
        async def run() -> Any:
            return fn(*args)

        fut: Future[Any] = asyncio.run_coroutine_threadsafe(run(), self.loop)
        return fut.result(10)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(20)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        rig = DemoRig(Path(d), hours=24, port=8611).start()
        print(f"{rig.url}  user {rig.user}  password {rig.password}")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            rig.stop()
