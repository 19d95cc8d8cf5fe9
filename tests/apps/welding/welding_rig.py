"""A small body shop for the welding app tests: plant file, weld messages, an MQTT robot.

Imported as ``apps.welding.welding_rig``. Weld messages are built the way the demo's
robots build them (:func:`ironfield.apps.welding.shopsim.encode`, the edge wire format)
from trajectories of the lumped simulator, so tests know exactly what was sent.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import orjson
import paho.mqtt.client as mqtt
import pyarrow as pa
from paho.mqtt.enums import CallbackAPIVersion

from ironfield.apps.welding.shop import CURVES, DEFAULT_FAMILIES, SUMMARY, FamilySpec
from ironfield.apps.welding.shopsim import build_pool, encode

WRITABLE = ["dress_cmd", "current_step_pct"] + [f"spot_{k:02d}_time_ms" for k in range(1, 7)]


def plant_text(site: str, host: str, port: int, client: str, *, robots: int = 3, spots: int = 2,
               app: str = "", lines: int = 1) -> str:
    sigs = "\n".join(f"      - {{name: {n}}}" for n in SUMMARY if n not in ("state", "expulsion"))
    sigs += "\n      - {name: expulsion, type: bool}"
    sigs += "\n      - {name: state, type: state, states: {0: idle, 1: welding, 2: dressing, 3: fault}}"
    sigs += "\n" + "\n".join(f"      - {{name: {n}, type: waveform, range: [0, 20]}}" for n in CURVES)
    sigs += "\n" + "\n".join(f"      - {{name: {n}, writable: true, range: [0, 800]}}" for n in WRITABLE)
    per = robots
    eq = "\n".join(
        f"          - id: line-{k}\n            equipment:\n"
        f"              - {{ids: \"robot-{{{(k - 1) * per + 1:03d}..{k * per:03d}}}\", type: weld_robot}}"
        for k in range(1, lines + 1))
    return f"""
plant: weldtest
equipment_types:
  weld_robot:
    signals:
{sigs}
sites:
  - id: {site}
    timezone: UTC
    areas:
      - id: body-shop
        equipment:
{eq}
historian:
  backend: duckdb
  path: h.duckdb
  flush_interval: 50ms
connectors:
  - id: shop-mqtt
    type: mqtt
    url: mqtt://{host}:{port}
    client_id: {client}
    session_expiry_s: 0
    topics:
      - {{topic: "{site}/body-shop/{{line}}/{{robot}}/weld", format: arrow, signal: "{site}/body-shop/{{line}}/{{robot}}/{{key}}"}}
apps:
  welding:
    area: {site}/body-shop
    spots_per_robot: {spots}
    reference_welds: 5
{app}
"""


@dataclass
class Weld:
    """One weld as sent: the summary and the curves (arrays)."""

    robot: str
    start_ns: int
    summary: dict[str, float]
    curves: dict[str, np.ndarray]

    def payload(self) -> bytes:
        names = list(SUMMARY) + list(CURVES)
        paths = pa.array([f"{self.robot}/{n}" for n in names], pa.string())
        idx: list[int] = []
        ts: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        for k, n in enumerate(SUMMARY):
            if n in self.summary:
                idx.append(k)
                ts.append(np.array([self.start_ns]))
                vals.append(np.array([self.summary[n]]))
        out_idx = [np.asarray(idx, np.int32)]
        for j, n in enumerate(CURVES):
            c = self.curves.get(n)
            if c is None:
                continue
            out_idx.append(np.full(len(c), len(SUMMARY) + j, np.int32))
            ts.append(self.start_ns + np.arange(1, len(c) + 1, dtype=np.int64) * 1_000_000)
            vals.append(np.asarray(c, np.float64))
        return encode(paths, np.concatenate(out_idx), np.concatenate(ts).astype(np.int64),
                      np.concatenate(vals), source=self.robot)


class Welds:
    """Welds of one spot family from the lumped simulator (fresh faces)."""

    def __init__(self, family: FamilySpec = DEFAULT_FAMILIES[0], seed: int = 3) -> None:
        self.family = family
        self.pool = build_pool(family, seed)
        self.n = int(round(family.weld_time_ms))

    def rows(self, kind: str) -> list[int]:
        return self.pool.rows[(0, kind)]

    def make(self, robot: str, spot_no: int, start_ns: int, *, row: int | None = None,
             curves: bool = True, n: int | None = None) -> Weld:
        row = self.rows("normal")[0] if row is None else row
        n = self.n if n is None else n
        tr = self.pool.traj
        i, u = tr.current_ka[row, :n].copy(), tr.voltage_v[row, :n].copy()
        summary = {"spot_no": float(spot_no), "weld_time_ms": float(n),
                   "weld_current_ka": float(np.sqrt(np.mean(i * i))),
                   "electrode_force_kn": float(np.mean(tr.force_kn[row, :n])),
                   "energy_j": float(np.sum(i * u)), "r_beta_uohm": float("nan"),
                   "expulsion": 0.0, "welds_since_dress": 0.0, "state": 1.0}
        c = {"curve_current_ka": i, "curve_voltage_v": u, "curve_force_kn": tr.force_kn[row, :n].copy(),
             "curve_displacement_mm": tr.displacement_mm[row, :n].copy()} if curves else {}
        return Weld(robot, start_ns, summary, c)

    def expelling_row(self) -> int:
        """A trajectory with a sheet gap that expels before the nominal time."""
        for r in self.rows("gap"):
            if int(self.pool.traj.expulsion_index[r]) < self.n - 20:
                return r
        raise AssertionError("no expelling trajectory in the pool")


class Robot:
    """The shop side of MQTT: publishes welds (QoS 1) and collects write-backs."""

    def __init__(self, host: str, port: int, client_id: str, site: str) -> None:
        self.commands: list[tuple[str, float]] = []
        self._lock = threading.Lock()
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.c.on_message = self._on_message
        self.c.connect(host, port)
        self.c.subscribe(f"{site}/body-shop/+/+/+/set", qos=1)
        self.c.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.commands.append((msg.topic.removesuffix("/set"), float(orjson.loads(msg.payload)["v"])))

    def send(self, w: Weld) -> None:
        self.c.publish(f"{w.robot}/weld", w.payload(), qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def wait_for(pred: object, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
