"""The demo's simulated shop talks MQTT like robots: one batch per weld on
``<robot>/weld`` (real Mosquitto), and it obeys write-back on ``<signal>/set``."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path

import numpy as np
import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from apps.welding.welding_rig import plant_text
from ironfield.apps.welding.app import WeldingApp
from ironfield.apps.welding.shop import CURVES, SUMMARY
from ironfield.connectors import wire
from ironfield.core.plant import parse_plant
from ironfield.core.plugins import SimulatedApp, SimulationContext


async def test_simulated_robots_publish_welds_and_obey_dress_commands(
        tmp_path: Path, mosquitto: tuple[str, int], unique: str) -> None:
    host, port = mosquitto
    site = f"w{unique}"
    text = plant_text(site, host, port, f"ing{unique}", robots=3, spots=2, lines=2,
                      app="    takt_s: 6\n    sim: {speed: 4, curve_lines: [line-1]}")
    plant = parse_plant(text)
    app = WeldingApp()
    assert isinstance(app, SimulatedApp)
    got: list[tuple[str, bytes]] = []
    lock = threading.Lock()

    def on_message(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        with lock:
            got.append((msg.topic, bytes(msg.payload)))

    watcher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"watch{unique}", protocol=mqtt.MQTTv5)
    watcher.on_message = on_message
    watcher.connect(host, port)
    watcher.subscribe(f"{site}/body-shop/+/+/weld", qos=1)
    watcher.loop_start()
    ctx = SimulationContext(name="welding", config=plant.apps["welding"], plant=plant, data_dir=tmp_path,
                            mqtt_host=host, mqtt_port=port, mqtt_protocol="5", seed=5)
    task = asyncio.create_task(app.simulate(ctx))
    robot = f"{site}/body-shop/line-1/robot-002"
    try:
        async with asyncio.timeout(30):
            # 6 robots, a weld each every 6 s / 2 spots / speed 4 = 0.75 s
            while sum(1 for t, _ in got if t == f"{robot}/weld") < 4:
                await asyncio.sleep(0.05)
        with lock:
            mine = [p for t, p in got if t == f"{robot}/weld"]
        paths, idx, b, _, source = wire.decode(mine[-1])
        assert source == robot
        assert paths == [f"{robot}/{n}" for n in SUMMARY + CURVES]
        rows = {n: b.value[idx == k] for k, n in enumerate(paths)}
        n = int(rows[f"{robot}/weld_time_ms"][0])
        for c in CURVES:
            assert len(rows[f"{robot}/{c}"]) == n  # 1 kHz for the weld's duration
        start = int(b.ts[idx == paths.index(f"{robot}/spot_no")][0])
        curve_ts = b.ts[idx == paths.index(f"{robot}/curve_current_ka")]
        assert np.array_equal(curve_ts, start + np.arange(1, n + 1) * 1_000_000)
        i = rows[f"{robot}/curve_current_ka"]
        u = rows[f"{robot}/curve_voltage_v"]
        assert abs(rows[f"{robot}/energy_j"][0] - float(np.sum(i * u))) < 1e-6 * float(np.sum(i * u))
        spots = [wire.decode(p)[2].value[0] for p in mine]  # spot_no is the first row
        assert set(spots) <= {1.0, 2.0} and spots[0] != spots[1]  # the robot alternates its two spots
        before = len(mine)
        since = rows[f"{robot}/welds_since_dress"][0]
        assert since >= 3
        # write-back as the MQTT connector sends it: the next weld comes after a dress
        watcher.publish(f"{robot}/dress_cmd/set", orjson.dumps({"v": 1.0, "ts": 0, "user": "welding"}), qos=1)
        async with asyncio.timeout(30):
            while True:
                with lock:
                    mine = [p for t, p in got if t == f"{robot}/weld"]
                dressed = [p for p in mine[before:] if wire.decode(p)[2].value[SUMMARY.index("welds_since_dress")] == 0.0]
                if dressed:
                    break
                await asyncio.sleep(0.05)
        v = wire.decode(dressed[0])[2].value
        assert v[SUMMARY.index("state")] == 2.0  # dressed before this weld
        # robots of the other line send summaries only (sim.curve_lines: [line-1])
        with lock:
            other = [p for t, p in got if t == f"{site}/body-shop/line-2/robot-005/weld"]
        assert other
        paths, idx, b, _, _ = wire.decode(other[-1])
        assert len(b) == len(SUMMARY) and sorted(paths[i] for i in idx) == sorted(
            f"{site}/body-shop/line-2/robot-005/{n}" for n in SUMMARY)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        watcher.disconnect()
        watcher.loop_stop()
