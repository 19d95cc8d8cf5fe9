"""The demo's body shop: every robot welds its spots at line rate and publishes each weld.

Cheap enough for the demo on two cores: the lumped simulator
(:func:`~ironfield.apps.welding.simulator.integrate`) runs once at start-up for each
spot family on a grid of electrode face growth (fresh to 6 % larger) with scattered
contact conditions, plus welds with a sheet gap (expulsion) and with a shunting neighbour
(undersized). Each robot welds with the adaptive timer (:mod:`ironfield.apps.welding.timing`), whose
stop on every precomputed trajectory is also found once at start-up. A weld then picks a
trajectory for its family and its electrode's wear, cuts it where the timer stopped
(within the spot's bounds), scales it by the current step and adds sensor noise: numpy
slicing, not integration.

A robot's message is one Arrow IPC batch in ironfield's edge wire format
(:mod:`ironfield.connectors.wire`: signal path, ts, value, quality per row): the summary
rows at the weld's start and, if the robot sends curves, 4 x n curve rows at 1 kHz. The
robot obeys write-back: ``dress_cmd`` (tip dressing), ``current_step_pct`` and
``spot_NN_time_ms`` arrive on ``<signal>/set``.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import threading
import time
from dataclasses import dataclass, field, replace

import numpy as np
import pyarrow as pa

from ironfield.apps.welding.shop import CURVES, SUMMARY, FamilySpec, Shop
from ironfield.apps.welding.simulator import Trajectories, WeldConditions, integrate, run_controller
from ironfield.apps.welding.timing import AdaptiveWeldTimer, learn_reference
from ironfield.connectors.wire import encode_rows
from ironfield.core.plugins import SimulationContext
from ironfield.core.quality import Quality

log = logging.getLogger(__name__)

FACE_GRID = (1.0, 1.01, 1.02, 1.03, 1.04, 1.05, 1.06)
NORMAL, GAP, SHUNT = 10, 3, 3  # trajectories per (family, face level)
GOOD = int(Quality.GOOD)


@dataclass
class FamilyPool:
    """Precomputed trajectories of one spot family: rows by face level and kind."""

    family: FamilySpec
    traj: Trajectories
    rows: dict[tuple[int, str], list[int]]
    r_beta: np.ndarray  # per row, the edge timer's beta resistance [µΩ]
    expelled_edge: np.ndarray  # per row, did the edge timer see an expulsion
    stop: np.ndarray  # per row, the sample the robot's adaptive timer stopped at


def build_pool(f: FamilySpec, seed: int) -> FamilyPool:
    rng = np.random.default_rng(seed)
    conds: list[WeldConditions] = []
    rows: dict[tuple[int, str], list[int]] = {}
    base = WeldConditions(f.stackup, f.current_ka, f.force_kn, f.face_mm)
    for lvl, ratio in enumerate(FACE_GRID):
        for kind, n in (("normal", NORMAL), ("gap", GAP), ("shunt", SHUNT)):
            for _ in range(n):
                c = replace(base, electrode_face_mm=f.face_mm * ratio,
                            contact_factor=float(rng.lognormal(0.0, 0.2)), seed=len(conds) + 7 * seed)
                if kind == "gap":
                    c = replace(c, gap_mm=float(rng.uniform(0.5, 1.0)))
                elif kind == "shunt":
                    c = replace(c, shunt_pitch_mm=float(rng.uniform(25, 35)))
                rows.setdefault((lvl, kind), []).append(len(conds))
                conds.append(c)
    t_max = 1.5 * f.weld_time_ms / 1000
    traj = integrate(conds, t_max)
    nominal = int(round(f.weld_time_ms)) - 1
    # The robots weld with the adaptive timer at the edge, its reference learned from
    # fresh-face welds at the nominal time (as a shop commissions a spot).
    fresh = [traj.outcome(k, nominal) for k in rows[(0, "normal")]]
    ref = learn_reference([(o.t_s, o.current_ka, o.voltage_v) for o in fresh], [o.ok for o in fresh],
                          target_nugget_mm=f.stackup.d_nominal_mm,
                          nugget_mm=[o.nugget_mm for o in fresh])
    r_beta = np.full(len(conds), math.nan)
    expelled = np.zeros(len(conds), bool)
    stops = np.zeros(len(conds), np.int64)
    for k in range(len(conds)):
        timer = AdaptiveWeldTimer(ref)
        stops[k] = run_controller(traj, k, timer)
        res = timer.result()
        r_beta[k] = res.r_beta_uohm if res.beta_found else math.nan
        expelled[k] = res.expulsion
    return FamilyPool(f, traj, rows, r_beta, expelled, stops)


@dataclass
class RobotSim:
    path: str
    index: int
    curves: bool
    families: list[FamilySpec]  # by spot (0-based)
    times_ms: list[float]  # schedule per spot
    paths: pa.Array = field(repr=False, default=None)
    welds_since_dress: int = 0
    dress_pending: bool = False
    step_pct: float = 0.0
    next_spot: int = 0
    welds: int = 0
    last_end_ns: int = 0

    def __post_init__(self) -> None:
        self.paths = pa.array([f"{self.path}/{n}" for n in SUMMARY + CURVES], pa.string())


class ShopSim:
    """Welds of the whole shop, as robots would publish them (no network here)."""

    def __init__(self, shop: Shop, *, seed: int = 7, curve_lines: list[str] | None = None,
                 expulsion_p: float | None = None, shunt_p: float | None = None) -> None:
        self.shop = shop
        sim = shop.config.sim
        lines = curve_lines if curve_lines is not None else sim.curve_lines
        self.expulsion_p = sim.expulsion_p if expulsion_p is None else expulsion_p
        self.shunt_p = sim.shunt_p if shunt_p is None else shunt_p
        self.rng = np.random.default_rng(seed)
        self.pools = {f.name: build_pool(f, seed + k) for k, f in enumerate(shop.config.families)}
        n = shop.config.spots_per_robot
        self.robots: list[RobotSim] = []
        for r, path in enumerate(shop.robots):
            fams = [shop.family(r, k) for k in range(1, n + 1)]
            curves = lines is None or shop.line_of(path) in lines
            self.robots.append(RobotSim(path, r, curves, fams, [f.weld_time_ms for f in fams]))
        self.by_path = {r.path: r for r in self.robots}
        self.sent = 0
        self.sent_rows = 0

    def interval_s(self) -> float:
        """Time between two welds of one robot at line rate."""
        return self.shop.config.takt_s / self.shop.config.spots_per_robot

    def schedule(self, t0_s: float, speed: float = 1.0) -> list[tuple[float, int]]:
        """First weld time of every robot, spread evenly over one weld interval."""
        n = max(len(self.robots), 1)
        step = self.interval_s() / speed
        return [(t0_s + step * (r / n), r) for r in range(len(self.robots))]

    def command(self, signal: str, value: float) -> bool:
        """A write-back from the platform; False if it is not for a robot of this shop."""
        robot_path, _, name = signal.rpartition("/")
        r = self.by_path.get(robot_path)
        if r is None:
            return False
        if name == "dress_cmd" and value >= 0.5:
            r.dress_pending = True
        elif name == "current_step_pct":
            r.step_pct = float(value)
        elif name.startswith("spot_") and name.endswith("_time_ms"):
            k = int(name[5:7]) - 1
            if 0 <= k < len(r.times_ms):
                r.times_ms[k] = float(value)
        else:
            return False
        return True

    def weld(self, r: RobotSim, end_ns: int) -> tuple[str, bytes]:
        """The robot's next weld, ending at ``end_ns``: (topic, payload)."""
        k = r.next_spot
        r.next_spot = (k + 1) % len(r.families)
        state = 1.0
        if r.dress_pending or r.welds_since_dress >= 2 * max(f.dress_every for f in r.families):
            r.welds_since_dress = 0
            r.dress_pending = False
            state = 2.0  # dressed before this weld
        f = r.families[k]
        pool = self.pools[f.name]
        share = r.families.count(f) / len(r.families)
        rate = 5e-4 if f.coating.value == "galvanised" else 1.5e-4
        growth = math.sqrt(1 + rate * r.welds_since_dress * share)
        lvl = int(np.argmin([abs(g - growth) for g in FACE_GRID]))
        u = self.rng.random()
        kind = "gap" if u < self.expulsion_p else "shunt" if u < self.expulsion_p + self.shunt_p else "normal"
        choices = pool.rows[(lvl, kind)]
        row = choices[int(self.rng.integers(len(choices)))]
        # the adaptive timer's stop, within the spot's bounds (0.5x..1.5x its fallback time)
        t_fix = r.times_ms[k]
        stop = int(min(max(pool.stop[row], 0.5 * t_fix), 1.5 * t_fix, pool.traj.current_ka.shape[1] - 1))
        gain = 1.0 + r.step_pct / 100.0
        n = stop + 1
        i = pool.traj.current_ka[row, :n] * gain * (1 + 0.002 * self.rng.standard_normal(n))
        v = pool.traj.voltage_v[row, :n] * gain * (1 + 0.004 * self.rng.standard_normal(n))
        dur_ms = float(n)
        # a robot never starts a weld before its last one ended (a late publisher could)
        end_ns = max(end_ns, r.last_end_ns + int(dur_ms * 1e6) + 1_000_000)
        start = end_ns - int(dur_ms * 1e6)
        r.last_end_ns = end_ns
        energy = float(np.sum(i * v))  # [kA·V·ms] = [J]
        ex = int(pool.traj.expulsion_index[row])
        expelled = ex <= stop or bool(pool.expelled_edge[row])
        summary = [float(k + 1), dur_ms, float(np.sqrt(np.mean(i * i))),
                   float(np.mean(pool.traj.force_kn[row, :n])), energy,
                   float(pool.r_beta[row]),
                   1.0 if expelled else 0.0, float(r.welds_since_dress), state]
        r.welds_since_dress += 1
        r.welds += 1
        if r.curves:
            ts = np.empty(len(SUMMARY) + 4 * n, np.int64)
            ts[:len(SUMMARY)] = start
            t_curve = start + np.arange(1, n + 1, dtype=np.int64) * 1_000_000
            ts[len(SUMMARY):] = np.tile(t_curve, 4)
            vals = np.concatenate([np.asarray(summary), i, v, pool.traj.force_kn[row, :n],
                                   pool.traj.displacement_mm[row, :n]])
            idx = np.concatenate([np.arange(len(SUMMARY), dtype=np.int32),
                                  np.repeat(np.arange(len(SUMMARY), len(SUMMARY) + 4, dtype=np.int32), n)])
        else:
            ts = np.full(len(SUMMARY), start, np.int64)
            vals = np.asarray(summary)
            idx = np.arange(len(SUMMARY), dtype=np.int32)
        self.sent += 1
        self.sent_rows += len(ts)
        return f"{r.path}/weld", encode(r.paths, idx, ts, vals, source=r.path)


def encode(paths: pa.Array, idx: np.ndarray, ts: np.ndarray, values: np.ndarray, *, source: str,
           seq: int = 0) -> bytes:
    """Rows in ironfield's edge wire format (Arrow IPC; see :mod:`ironfield.connectors.wire`)."""
    return encode_rows(paths, idx, ts, values, np.full(len(ts), GOOD, np.uint8), seq=seq, source=source)


def due(heap: list[tuple[float, int]], now_s: float) -> list[int]:
    """Pop the robots whose next weld is due."""
    out = []
    while heap and heap[0][0] <= now_s:
        out.append(heapq.heappop(heap)[1])
    return out


class Commands:
    """Write-backs received on ``<area>/+/+/+/set`` (paho's thread), drained by the loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: list[tuple[str, float]] = []

    def on_message(self, client: object, userdata: object, msg: object) -> None:
        import orjson

        topic: str = msg.topic  # type: ignore[attr-defined]
        try:
            v = float(orjson.loads(msg.payload)["v"])  # type: ignore[attr-defined]
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
            log.warning("welding sim: bad command on %s", topic)
            return
        with self._lock:
            self.items.append((topic.removesuffix("/set"), v))

    def take(self) -> list[tuple[str, float]]:
        with self._lock:
            out, self.items = self.items, []
        return out


def connect(host: str, port: int, protocol: str, client_id: str, area: str, cmds: Commands) -> object:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                    protocol=mqtt.MQTTv5 if protocol == "5" else mqtt.MQTTv311)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(20_000)
    c.on_message = cmds.on_message

    def on_connect(client: mqtt.Client, userdata: object, flags: object, rc: object, props: object = None) -> None:
        client.subscribe(f"{area.rstrip('/')}/+/+/+/set", qos=1)

    c.on_connect = on_connect
    c.connect_async(host, port, keepalive=30)
    c.loop_start()
    return c


async def run_shop(ctx: SimulationContext, *, tick_s: float = 0.05) -> None:
    """The demo's shop at line rate (times ``sim.speed``) until cancelled."""
    from ironfield.apps.welding.shop import WeldingConfig

    cfg = WeldingConfig.of(ctx.config)
    shop = Shop.from_paths(cfg, [d.path for d in ctx.plant.signal_defs_unchecked()])
    sim = await asyncio.to_thread(ShopSim, shop, seed=ctx.seed)
    cmds = Commands()
    client = connect(ctx.mqtt_host, ctx.mqtt_port, ctx.mqtt_protocol, f"welding-shop-sim-{ctx.seed}",
                     cfg.area, cmds)
    speed = cfg.sim.speed
    heap = sim.schedule(time.time(), speed)
    heapq.heapify(heap)
    step = sim.interval_s() / speed
    try:
        while True:
            for sig, v in cmds.take():
                sim.command(sig, v)
            now = time.time()
            for r in due(heap, now):
                topic, payload = sim.weld(sim.robots[r], time.time_ns())
                client.publish(topic, payload, qos=1)  # type: ignore[attr-defined]
                heapq.heappush(heap, (now + step, r))
            await asyncio.sleep(tick_s)
    finally:
        client.disconnect()  # type: ignore[attr-defined]
        client.loop_stop()  # type: ignore[attr-defined]
