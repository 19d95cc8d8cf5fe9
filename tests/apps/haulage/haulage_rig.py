"""A small mine plant with an MQTT connector on the real Mosquitto, and truck telemetry
of one full haul cycle built from the demo mine's geometry (tests import this as
``apps.haulage.haulage_rig``)."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ironfield.apps.haulage.demo import demo_mine
from ironfield.core.plant import PlantSpec, parse_plant

STATES = ["idle", "queue_load", "spot", "load", "haul", "queue_dump", "dump", "return", "charge", "down"]
BATTERY_KWH = 420.0


def node_codes(n_trucks: int = 2) -> dict[int, str]:
    cfg = demo_mine(n_trucks)
    places = [n.id for n in cfg.nodes if n.kind.value != "junction"]
    return {0: "none", **{i + 1: p for i, p in enumerate(places)}}


def plant(site: str, unique: str, *, trucks_in_plant: int = 3, fleet: int = 2,
          app: dict[str, Any] | None = None, port: int = 1883,
          codes: dict[int, str] | None = None, shovels: bool = False) -> PlantSpec:
    """Trucks truck-01.. in ``<site>/pit``; the haulage fleet is the first ``fleet``;
    ``codes``: the states of ``dispatch_to`` (default: every place); ``shovels``: a shovel
    per loader (``shovel-1460`` digs at ``bench-1460`` ...) with an ``available`` signal."""
    codes = codes or node_codes(fleet)
    section = {"site": site, "area": "pit", "kpi_period_s": 0.5, "quiet_s": 2.0,
               **demo_mine(fleet).model_dump(mode="json", exclude_none=True), **(app or {})}
    doc = {
        "plant": "haultest",
        "equipment_types": {"haul_truck": {"signals": [
            {"name": "x_m", "unit": "m"}, {"name": "y_m", "unit": "m"},
            {"name": "speed_kmh", "unit": "km/h"}, {"name": "payload_t", "unit": "t"},
            {"name": "soc_pct", "unit": "%"}, {"name": "battery_power_kw", "unit": "kW"},
            {"name": "motor_temp_c", "unit": "degC"},
            {"name": "state", "type": "state", "states": dict(enumerate(STATES))},
            {"name": "dispatch_to", "type": "state", "writable": True, "range": [0, len(codes) - 1],
             "states": codes}]}},
        "sites": [{"id": site, "areas": [{"id": "pit", "equipment": [
            {"ids": f"truck-{{01..{trucks_in_plant:02d}}}", "type": "haul_truck"},
            *([{"id": f"shovel-{b}", "signals": [{"name": "available", "type": "bool"}]}
               for b in (1460, 1430, 1400)] if shovels else [])]}]}],
        "historian": {"backend": "duckdb", "path": "h.duckdb", "flush_interval": "50ms"},
        "connectors": [{"id": "site-mqtt", "type": "mqtt", "url": f"mqtt://127.0.0.1:{port}",
                        "client_id": f"hauling-{unique}", "session_expiry_s": 0,
                        "topics": [{"topic": f"{site}/{{area}}/{{equipment}}/{{signal}}",
                                    "format": "value"}]}],
        "apps": {"haulage": section},
    }
    return parse_plant(json.dumps(doc))


@dataclass
class Point:
    ts: int
    x: float
    y: float
    speed_kmh: float
    payload_t: float
    soc: float  # [-]
    state: str


@dataclass
class Cycle:
    """One truck's telemetry and what a correct tracker must make of it."""

    points: list[Point] = field(default_factory=list)
    start_ts: int = 0  # first queue_load sample at the first arrival
    end_ts: int = 0  # first queue_load sample at the next arrival
    phase_start: dict[str, int] = field(default_factory=dict)
    regen_kwh: float = 0.0
    used_kwh: float = 0.0
    gap: tuple[int, int] = (0, 0)


NODES = {n.id: (n.x_m, n.y_m) for n in demo_mine(1).nodes}


def _drive(c: Cycle, rng: random.Random, ts: int, route: list[str], state: str, payload: float,
           dsoc: float, step_m: float = 50.0, dt_ns: int = 5_000_000_000,
           gap_at: int | None = None) -> int:
    """Samples along ``route`` every ``dt_ns`` at ``step_m`` per sample; SoC changes by
    ``dsoc`` per sample (regen > 0). The 14 samples after sample ``gap_at`` are not sent
    (a 75 s silence between two samples)."""
    pts = [NODES[n] for n in route]
    soc = c.points[-1].soc
    k = 0
    for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
        n = max(1, int(math.hypot(x1 - x0, y1 - y0) // step_m))
        for i in range(1, n + 1):
            f = i / n
            soc += dsoc
            if dsoc > 0:
                c.regen_kwh += dsoc * BATTERY_KWH
            else:
                c.used_kwh -= dsoc * BATTERY_KWH
            ts += dt_ns
            k += 1
            if gap_at is not None and gap_at < k <= gap_at + 14:
                continue
            if gap_at is not None and k == gap_at + 15:
                c.gap = (c.points[-1].ts, ts)
            c.points.append(Point(ts, x0 + f * (x1 - x0) + rng.uniform(-2, 2),
                                  y0 + f * (y1 - y0) + rng.uniform(-2, 2),
                                  step_m / (dt_ns / 1e9) * 3.6, payload, soc, state))
    return ts


def _stay(c: Cycle, ts: int, node: str, state: str, n: int, payloads: list[float] | None = None,
          dt_ns: int = 5_000_000_000) -> int:
    x, y = NODES[node]
    for i in range(n):
        ts += dt_ns
        last = c.points[-1]
        pay = payloads[i] if payloads else last.payload_t
        c.points.append(Point(ts, x + (i % 2) * 3.0, y - (i % 3) * 2.0, 0.0, pay, last.soc, state))
        if i == 0:
            c.phase_start.setdefault(state, ts)
    return ts


def full_cycle(t0_ns: int, seed: int = 1) -> Cycle:
    """Return to bench-1460, load 88 t, haul to the crusher regenerating, tip, return
    (with a 70 s telemetry gap) and arrive again. Jitter of +-2 m on positions."""
    rng = random.Random(seed)
    t0_ns -= t0_ns % 1_000_000  # the wire carries milliseconds
    c = Cycle()
    x, y = NODES["pit-exit"]
    c.points.append(Point(t0_ns, x, y, 36.0, 0.0, 0.60, "return"))
    ts = _drive(c, rng, t0_ns, ["pit-exit", "bench-1460"], "return", 0.0, -0.001)
    c.used_kwh = c.regen_kwh = 0.0  # before the cycle starts
    ts = _stay(c, ts, "bench-1460", "queue_load", 3)
    c.start_ts = c.phase_start["queue_load"]
    ts = _stay(c, ts, "bench-1460", "spot", 2, [0.0, 0.0])
    ts = _stay(c, ts, "bench-1460", "load", 8, [11.0 * (i + 1) for i in range(8)])
    c.phase_start["haul"] = ts + 5_000_000_000
    route_down = ["bench-1460", "pit-exit", "ramp-mid", "crusher"]
    ts = _drive(c, rng, ts, route_down, "haul", 88.0, +0.0005)
    # the payload sensor bounces once: the median ignores it
    bounce = c.points[-20]
    c.points[-20] = Point(bounce.ts, bounce.x, bounce.y, bounce.speed_kmh, 97.0, bounce.soc, "haul")
    ts = _stay(c, ts, "crusher", "queue_dump", 2)
    ts = _stay(c, ts, "crusher", "dump", 4, [66.0, 44.0, 22.0, 0.0])
    c.phase_start["return"] = ts + 5_000_000_000
    ts = _drive(c, rng, ts, list(reversed(route_down)), "return", 0.0, -0.001, gap_at=20)
    c.phase_start.pop("queue_load")
    ts = _stay(c, ts, "bench-1460", "queue_load", 6)
    c.end_ts = c.phase_start["queue_load"]
    return c


class Publisher:
    """A truck's side of the wire: paho, QoS 1, JSON {"v": value, "ts": ms}."""

    def __init__(self, host: str, port: int, site: str) -> None:
        self.site = site
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.c.connect(host, port)
        self.c.loop_start()

    def point(self, truck: str, p: Point) -> None:
        ms = p.ts // 1_000_000
        base = f"{self.site}/pit/{truck}/"
        for sig, v in (("x_m", p.x), ("y_m", p.y), ("speed_kmh", p.speed_kmh),
                       ("payload_t", p.payload_t), ("soc_pct", 100.0 * p.soc),
                       ("state", float(STATES.index(p.state)))):
            self.c.publish(base + sig, json.dumps({"v": v, "ts": ms}), qos=1)

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()
