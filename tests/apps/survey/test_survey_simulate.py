"""The demo's drone: trucks' payload telemetry over the real Mosquitto -> tonnes mined ->
a pit survey in the inbox that the app, running in a Platform, processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from apps.survey.survey_rig import events, plant, platform, wait_until
from ironfield.apps.survey.app import SurveyApp
from ironfield.apps.survey.simulate import (
    X0,
    Y0,
    TonnesCounter,
    bench_cut,
    payload_value,
)
from ironfield.core.plugins import SimulatedApp, SimulationContext
from server.server_rig import stop_platform


def test_bench_cut_holds_the_volume_mined() -> None:
    """The cut surface's volume equals what was mined, across strip and bench boundaries."""
    xs, ys = np.meshgrid(np.arange(0, 300, 0.25) + 0.125, np.arange(0, 240, 0.25) + 0.125)
    for v in (0.0, 17.4, 173.0, 5_000.0, 21_600.0, 30_000.0, 100_000.0):
        got = float(np.sum(bench_cut(xs, ys, v))) * 0.25**2
        assert abs(got - v) <= 0.005 * v + 1.0, (got, v)  # the grid's 0.25 m columns blur the face
    assert bench_cut(np.array([X0 + 1.0]), np.array([Y0 + 1.0]), 0.0)[0] == 0.0


def test_tonnes_counter_counts_each_dump_once_at_its_peak() -> None:
    c = TonnesCounter()
    for v in (0, 30, 60, 90.5, 90.2, 40, 3, 0, 0, 45, 88, 1):  # two loads; noise near the top
        c.on_payload("truck-01", float(v))
    c.on_payload("truck-02", 50.0)  # loaded, not yet dumped
    assert c.take() == (90.5 + 88.0, 13)
    assert c.take() == (0.0, 0)


def test_payload_readings_plain_or_json_and_malformed_ones_are_none() -> None:
    assert payload_value(b"90.5") == 90.5
    assert payload_value(b'{"v": 88.0, "ts": 1}') == 88.0
    assert payload_value(b'{"value": 3}') == 3.0
    for bad in (b"", b"full", b'{"v": "x"}', b"[1]", b'{"v": true}', b"\xff\xfe"):
        assert payload_value(bad) is None, bad


async def test_the_drone_surveys_the_production_and_the_app_processes_it(
        tmp_path: Path, mosquitto: tuple[str, int], unique: str) -> None:
    site = f"s{unique}"
    cfg = {"cell_m": 0.5, "min_change_m": 0.15, "stockpiles": [],  # the demo's settings
           "simulation": {"interval_s": 2.0, "spacing_m": 0.4, "plan_tph": 0.0}}
    p = platform(tmp_path, plant(site_id=site, **cfg))
    app = p.apps["survey"]
    assert isinstance(app, SurveyApp) and isinstance(app, SimulatedApp)
    ctx = SimulationContext(name="survey", config=p.plant.apps["survey"], plant=p.plant,
                            data_dir=tmp_path, mqtt_host=mosquitto[0], mqtt_port=mosquitto[1])
    state = tmp_path / "survey" / "sim" / "state.json"
    await p.start()
    drone = asyncio.create_task(app.simulate(ctx))
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    pub.connect(*mosquitto)
    pub.loop_start()
    try:
        await wait_until(lambda: len(events(p, "survey.processed")) >= 1, what="baseline flight")
        # five trucks load 90 t and dump it, four times each: 1800 t left the benches
        for k in range(20):
            for v in (0.0, 45.0, 90.0, 40.0, 0.0):  # half as the demo site's numbers, half as haulage's JSON
                body = f"{v}" if k % 2 else f'{{"v": {v}, "ts": 0}}'
                pub.publish(f"{site}/pit/truck-{k % 5:02d}/payload_t", body, qos=1).wait_for_publish(5)
            pub.publish(f"{site}/pit/truck-{k % 5:02d}/payload_t", b"garbage", qos=1).wait_for_publish(5)
        await wait_until(lambda: state.exists() and json.loads(state.read_text())["mined_t"] == 1800.0,
                         what="the drone counted 1800 t")
        flights = json.loads(state.read_text())["flights"]
        await wait_until(lambda: len(events(p, "survey.processed")) >= flights + 1,
                         what="a flight after the dumps processed")
        evs = sorted(events(p, "survey.processed"), key=lambda e: e.ts)
        assert events(p, "survey.failed") == []
    finally:
        drone.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await drone
        pub.loop_stop()
        pub.disconnect()
        await stop_platform(p)
    assert all(e.payload["files"][0].startswith("drone-") for e in evs)
    mined = sum(e.payload["mined_m3"] or 0.0 for e in evs)
    truth = 1800.0 / 2.6  # [m3] at the density the app and the drone share
    assert abs(mined - truth) / truth < 0.05, (mined, truth)
