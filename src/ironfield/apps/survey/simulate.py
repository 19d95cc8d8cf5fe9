"""The demo's drone: a new LiDAR survey of the simulated pit every few minutes.

The pit is the synthetic hillside of :mod:`.synth` with four bench strips (20 m wide,
6 m deep, 180 m long, faces battered at 70 degrees) mined face by face: the volume cut is the tonnes that left the
benches divided by the in-situ density (``apps.survey.density_t_m3``), so the surveys
follow the simulated production. Tonnes are counted from the trucks' MQTT telemetry
(``<site>/pit/+/payload_t``, a bare number or ``{"v": ...}``): a truck that carried more than 20 t and comes back under
5 t has dumped its peak payload. Between two flights with no telemetry at all, the plan
rate ``simulation.plan_tph`` is used instead (and the flight's name says ``plan``). The
pit starts with ``simulation.start_m3`` already mined, so the first flight shows benches.

Each flight is written as LAZ under a hidden name in the inbox and renamed in, so the app
only ever sees complete files; it talks to the platform only through MQTT and the inbox.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from ironfield.apps.survey import synth
from ironfield.apps.survey.config import SurveyConfig, load_config
from ironfield.apps.survey.io import write_las
from ironfield.core.plugins import SimulationContext

F64 = npt.NDArray[np.float64]
STRIP_W, DEPTH, X0, X1, Y0, STRIPS = 20.0, 6.0, 60.0, 240.0, 150.0, 4


@dataclass
class DemoPit(synth.Site):
    """The synthetic hillside with ``mined_m3`` [m3] cut out of its bench strips and the
    ROM stockpile (the synthetic site's cone, R 18 m, h 11 m, at site-local (170, 70) m)."""

    mined_m3: float = 0.0

    def change(self, x: F64, y: F64) -> F64:
        out: F64 = self._cone(x, y) - bench_cut(x, y, self.mined_m3)
        return out

    def ground(self, x: F64, y: F64, epoch: str) -> F64:
        out: F64 = self.terrain(x, y) + self.change(x, y)
        return out


def _ramp(u: F64, run: float) -> F64:
    out: F64 = np.clip(u / run + 0.5, 0.0, 1.0)
    return out


def bench_cut(x: F64, y: F64, volume_m3: float) -> F64:
    """Depth [m] cut at site-local (x, y) [m] once ``volume_m3`` has been mined.

    Strips are taken one after the other, a face advancing along x; a full round lowers
    all four strips by one bench (``DEPTH``). Faces are battered at 70 degrees: each strip's
    cut is ``DEPTH * a(x) * b(y)`` with linear ramps of run ``DEPTH / tan 70`` centred on
    its edges, so neighbouring strips' ramps add up to one and each ramp holds as much as
    it leaves out; the face is placed so that the volume is ``volume_m3`` exactly.
    """
    run = DEPTH / np.tan(np.radians(70.0))
    strip_m3 = STRIP_W * (X1 - X0) * DEPTH
    n, rem = divmod(max(volume_m3, 0.0), strip_m3)
    layers, current = divmod(int(n), STRIPS)
    full_x = np.minimum(_ramp(x - X0, run), _ramp(X1 - x, run))
    # the face's position L past X0 for a cross-section area A = rem / (W D) [m]: L = A once
    # both ramps are whole; before that the profile is a triangle of area (L + run)^2 / (4 run)
    area = rem / (STRIP_W * DEPTH)
    face = X0 + (area if area >= run else 2.0 * np.sqrt(run * area) - run)
    part_x = np.minimum(_ramp(x - X0, run), _ramp(face - x, run))
    depth = np.zeros_like(x)
    for k in range(STRIPS):
        lo, hi = Y0 + k * STRIP_W, Y0 + (k + 1) * STRIP_W
        b = np.minimum(_ramp(y - lo, run), _ramp(hi - y, run))
        times = layers + (1 if k < current else 0)
        depth += DEPTH * b * (times * full_x + (part_x if k == current else 0.0))
    return depth


def make_pit(seed: int) -> DemoPit:
    base = synth.make_site(seed)
    pit = DemoPit()
    pit.trees = [t for t in base.trees
                 if not (X0 - 8 < t.x < X1 + 8 and Y0 - 8 < t.y < Y0 + STRIPS * STRIP_W + 8)]
    pit.machines_after = [synth.Machine(40.0, 100.0, 11.0, 6.0, 5.5, 0.4),
                          synth.Machine(260.0, 60.0, 8.0, 4.0, 4.2, -1.0)]
    return pit


class TonnesCounter:
    """Tonnes dumped, from the trucks' payload telemetry (paho's thread writes, we read)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.peak: dict[str, float] = {}
        self.tonnes = 0.0
        self.messages = 0
        self.malformed = 0

    def on_payload(self, truck: str, payload_t: float) -> None:
        with self.lock:
            self.messages += 1
            peak = self.peak.get(truck, 0.0)
            if payload_t > peak:
                self.peak[truck] = payload_t
            elif payload_t < 5.0 and peak > 20.0:
                self.tonnes += peak
                self.peak[truck] = payload_t

    def take(self) -> tuple[float, int]:
        with self.lock:
            t, m = self.tonnes, self.messages
            self.tonnes, self.messages = 0.0, 0
            return t, m


def payload_value(raw: bytes | bytearray) -> float | None:
    """A payload reading [t]: a bare number, or a JSON object with ``v`` or ``value``
    (as the haulage simulation publishes); None for anything else."""
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    v = obj.get("v", obj.get("value")) if isinstance(obj, dict) else None
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def flight(pit: DemoPit, cfg: SurveyConfig, inbox: Path, name: str, seed: int) -> Path:
    """Scan the pit as it is now and rename the LAZ into the inbox (blocking)."""
    sim = cfg.simulation
    x, y, z, cls = synth.sample(pit, "after", spacing=sim.spacing_m, noise=sim.noise_m, seed=seed)
    inbox.mkdir(parents=True, exist_ok=True)
    tmp = inbox / f".{name}.tmp.laz"
    write_las(tmp, x, y, z, cls)
    target = inbox / f"{name}.laz"
    os.replace(tmp, target)
    return target


async def run_drone(ctx: SimulationContext) -> None:
    cfg = load_config(ctx.config)
    sim = cfg.simulation
    inbox = cfg.inbox_dir(ctx.data_dir)
    state_file = cfg.work_dir(ctx.data_dir) / "sim" / "state.json"
    state: dict[str, Any] = {"mined_t": 0.0, "flights": 0}
    if state_file.exists():
        state.update(json.loads(state_file.read_text()))
    pit = make_pit(ctx.seed)
    counter = TonnesCounter()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"ironfield-demo-drone-{ctx.seed}",
                         protocol=MQTTProtocolVersion.MQTTv5 if ctx.mqtt_protocol == "5"
                         else MQTTProtocolVersion.MQTTv311)
    topic = f"{cfg.site}/pit/+/payload_t"

    def on_connect(c: mqtt.Client, *_: Any) -> None:
        c.subscribe(topic, qos=0)

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        value = payload_value(msg.payload)
        if value is None:
            counter.malformed += 1  # counted, not a payload reading
            return
        counter.on_payload(msg.topic.split("/")[-2], value)

    client.on_connect = on_connect
    client.on_message = on_message
    if sim.telemetry:
        client.connect_async(ctx.mqtt_host, ctx.mqtt_port)
        client.loop_start()
    last = time.monotonic()
    try:
        while True:
            now = time.monotonic()
            tonnes, messages = counter.take()
            source = "telemetry"
            if messages == 0 and state["flights"] > 0:
                tonnes, source = sim.plan_tph * (now - last) / 3600.0, "plan"
            last = now
            state["mined_t"] += tonnes
            state["flights"] += 1
            pit.mined_m3 = sim.start_m3 + state["mined_t"] / cfg.density_t_m3
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            await asyncio.to_thread(flight, pit, cfg, inbox, f"drone-{stamp}-{source}",
                                    ctx.seed + state["flights"])
            state_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = state_file.with_name("state.json.part")
            tmp.write_text(json.dumps(state))
            tmp.replace(state_file)
            await asyncio.sleep(sim.interval_s)
    finally:
        if sim.telemetry:
            client.disconnect()
            client.loop_stop()
