"""The demo's haul fleet: :class:`~ironfield.apps.haulage.sim.MineSim` stepped against the
wall clock, publishing each truck's telemetry over MQTT as a real truck would
(``<site>/<area>/<truck>/<signal>``, JSON ``{"v": value, "ts": ms}``) and obeying the
dispatcher's assignments that come back on ``<site>/<area>/<truck>/dispatch_to/set``.

Time: real time by default (``sim.time_scale: 1``), so t/h are true t/h. The simulation
first runs ``warmup_min`` of simulated time unpublished, so trucks are spread over their
cycle when the demo starts and the first cycles complete within minutes. With
``time_scale`` > 1 (tests) timestamps are simulated time and run ahead of the wall clock.

Assignments: when the simulated truck has to choose (after dumping, after loading) it takes
the latest assignment received for it since its last choice; if none arrived it falls back
to its own dispatcher's choice (as a truck that lost its link would) and says so in the
log; :attr:`FleetSim.fallbacks` counts these. Breakdowns are published as state ``down``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
import time
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from ironfield.apps.haulage.config import NodeKind
from ironfield.apps.haulage.settings import DOWN, TELEMETRY, split
from ironfield.apps.haulage.sim import MineSim, SimSettings
from ironfield.apps.haulage.tracking import Phase, Sample
from ironfield.core.plugins import SimulationContext
from ironfield.core.timeutil import NS_PER_MIN, now_ns

log = logging.getLogger("ironfield.apps.haulage.sim")


class FleetSim:
    def __init__(self, ctx: SimulationContext) -> None:
        self.ctx = ctx
        self.settings, self.cfg = split(ctx.config)
        s = self.settings
        self.base = f"{s.site}/{s.area}"
        self.state_code, self.node_of, self.code_of_node = self._codes()
        self.buf: list[Sample] = []
        self.assigned: dict[str, str] = {}
        self.lock = threading.Lock()
        self.fallbacks = 0
        self.followed = 0
        self.published = 0
        self.bad_commands = 0
        self.t_wall0 = 0.0
        self.warming = True
        self._said: set[str] = set()
        self.sim = MineSim(self.cfg, SimSettings(
            seed=s.sim.seed, duration_min=math.inf, telemetry_s=s.sim.telemetry_s,
            mtbf_h=s.sim.mtbf_h, mttr_h=s.sim.mttr_h,
            loader_mtbf_h=s.sim.loader_mtbf_h if s.loader_status else 0.0,
            loader_mttr_h=s.sim.loader_mttr_h,
            t0_ns=now_ns() - int(s.sim.warmup_min * NS_PER_MIN)),
            on_telemetry=self.buf.append, assign=self._assign, redirect=self._redirect,
            on_loader=self._loader)
        # loader status as the shovels would send it: on every change, and every minute
        self.loader_up: dict[str, bool] = dict.fromkeys(s.loader_status, True)
        self._status_sent = 0.0
        self._last: dict[str, tuple[int, float, float, str | None]] = {}  # ts, soc, motor temp, dest
        proto = MQTTProtocolVersion.MQTTv5 if ctx.mqtt_protocol == "5" else MQTTProtocolVersion.MQTTv311
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=proto,
                                  client_id=f"ironfield-haulage-sim-{s.sim.seed}-{os.getpid()}")
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message

    def _codes(self) -> tuple[dict[str, int], dict[int, str], dict[str, int]]:
        """State codes of the trucks' ``state`` and ``dispatch_to`` signals, from the plant."""
        state: dict[str, int] = {}
        dest: dict[int, str] = {}
        for d in self.ctx.plant.signal_defs():
            if not d.path.startswith(self.base + "/"):
                continue
            if d.name == TELEMETRY["state"] and not state:
                state = {str(v): int(k) for k, v in d.states.items()}
            elif d.name == TELEMETRY["dest"] and not dest:
                dest = {int(k): str(v) for k, v in d.states.items()}
        return state, dest, {v: k for k, v in dest.items()}

    # --- MQTT --------------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any = None) -> None:
        client.subscribe(f"{self.base}/+/{TELEMETRY['dest']}/set", qos=1)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        truck = msg.topic.split("/")[-3]
        try:
            body = orjson.loads(msg.payload)
            code = int(body["v"] if isinstance(body, dict) else body)
            node = self.node_of[code]
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            self.bad_commands += 1
            log.warning("assignment for %s not understood: %r", truck, bytes(msg.payload)[:80])
            return
        with self.lock:
            self.assigned[truck] = node

    def _assign(self, truck: str, kind: str, now: float) -> str | None:
        with self.lock:
            node = self.assigned.pop(truck, None)
        if node is not None:
            k = self.sim.net.nodes[node].kind if node in self.sim.net.nodes else None
            ok = (k in (NodeKind.LOADER, NodeKind.CHARGER)) if kind == "load" else (
                k in (NodeKind.DUMP, NodeKind.CRUSHER))
            if ok:
                self.followed += 1
                return node
            log.warning("%s: assignment %s does not fit a %s choice; ignored", truck, node, kind)
        self.fallbacks += 1
        if self.warming:
            return None
        # the first time per truck loudly (once the app has had 2 min to see the fleet),
        # then quietly: a demo whose dispatch does not answer says so once per truck
        level = logging.INFO
        if truck not in self._said and time.monotonic() - self.t_wall0 > 120:
            level = logging.WARNING
            self._said.add(truck)
        log.log(level, "%s: no assignment from dispatch for its %s choice; the truck chooses itself",
                truck, kind)
        return None

    def _redirect(self, truck: str) -> str | None:
        """A new assignment for a truck queued at a loader that is down (no logging: the
        queue asks every half minute)."""
        with self.lock:
            node = self.assigned.get(truck)
            if node is None or node not in self.sim.net.nodes or \
                    self.sim.net.nodes[node].kind not in (NodeKind.LOADER, NodeKind.CHARGER):
                return None
            del self.assigned[truck]
        self.followed += 1
        return node

    def _loader(self, loader: str, up: bool, now_min: float) -> None:
        if loader in self.loader_up:
            self.loader_up[loader] = up
            self._status_sent = 0.0  # send with the next telemetry
            log.info("demo mine: loader %s %s", loader, "repaired" if up else "broke down")

    def _publish_loaders(self) -> None:
        if not self.loader_up or time.monotonic() - self._status_sent < 60.0:
            return
        self._status_sent = time.monotonic()
        ms = (self.sim.s.t0_ns + int(self.sim.env.now * NS_PER_MIN)) // 1_000_000
        for ld, up in self.loader_up.items():
            self.client.publish(self.settings.loader_status[ld],
                                orjson.dumps({"v": 1.0 if up else 0.0, "ts": ms}), qos=1)

    # --- telemetry ---------------------------------------------------------------------
    def _publish(self) -> None:
        samples, self.buf[:] = list(self.buf), []
        dests = {t.id: t.dest for t in self.sim.trucks}
        for smp in samples:
            ts0, soc0, temp0, dest0 = self._last.get(smp.truck, (smp.ts, smp.soc, 45.0, None))
            m = self.cfg.truck_model(smp.truck)
            h = (smp.ts - ts0) / 3.6e12
            power = (soc0 - smp.soc) * m.battery_kwh / h if h > 0 else 0.0
            temp = temp0 + (45 + abs(power) / 12 - temp0) * min(1.0, h * 3600 / 120)
            state = DOWN if smp.state == Phase.IDLE.value else smp.state
            ms = smp.ts // 1_000_000
            topic = f"{self.base}/{smp.truck}/"
            for sig, v in ((TELEMETRY["x"], smp.x_m), (TELEMETRY["y"], smp.y_m),
                           (TELEMETRY["speed"], smp.speed_mps * 3.6),
                           (TELEMETRY["payload"], smp.payload_t), (TELEMETRY["soc"], smp.soc * 100),
                           (TELEMETRY["state"], self.state_code.get(state or "", 0)),
                           ("battery_power_kw", power), ("motor_temp_c", temp)):
                self.client.publish(topic + sig, orjson.dumps({"v": round(float(v), 3), "ts": ms}), qos=1)
                self.published += 1
            dest = dests.get(smp.truck)
            if dest != dest0 and dest in self.code_of_node:
                self.client.publish(topic + TELEMETRY["dest"],
                                    orjson.dumps({"v": self.code_of_node[dest], "ts": ms}), qos=1)
            self._last[smp.truck] = (smp.ts, smp.soc, temp, dest)

    async def run(self) -> None:
        sc = self.settings.sim
        self.sim.start()
        if sc.warmup_min > 0:
            self.sim.env.run(until=sc.warmup_min)
        self.buf.clear()
        self.warming, self.fallbacks, self.followed = False, 0, 0
        self.client.connect_async(self.ctx.mqtt_host, self.ctx.mqtt_port)
        self.client.loop_start()
        self.t_wall0 = time.monotonic()
        step = min(1.0, sc.telemetry_s / sc.time_scale)
        try:
            while True:
                target = sc.warmup_min + (time.monotonic() - self.t_wall0) * sc.time_scale / 60.0
                if target > self.sim.env.now:
                    self.sim.env.run(until=target)
                if self.client.is_connected():
                    self._publish()
                    self._publish_loaders()
                else:
                    self.buf.clear()  # a truck without a link keeps no backlog here
                await asyncio.sleep(step)
        finally:
            self.client.disconnect()
            self.client.loop_stop()


async def simulate(ctx: SimulationContext) -> None:
    await FleetSim(ctx).run()
