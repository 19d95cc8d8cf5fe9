"""The haulage app in a real Platform, its telemetry arriving over the real Mosquitto:
a full truck cycle (jitter, a gap, an out-of-order and a late sample, bad data from other
trucks) becomes a cycle event, KPIs and dispatch decisions written back over MQTT."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from apps.haulage.haulage_rig import STATES, Publisher, full_cycle, node_codes, plant
from ironfield.apps.haulage.app import HaulageApp
from ironfield.core.batch import Batch
from ironfield.core.errors import IronfieldError
from ironfield.core.events import Event
from ironfield.core.plugins import App, SimulatedApp
from ironfield.core.timeutil import now_ns
from ironfield.runtime.platform import Platform
from ironfield.server.appweb import WebApp
from server.server_rig import stop_platform

pytestmark = pytest.mark.service


class SetListener:
    """The trucks' side of write-back: what arrives on ``.../dispatch_to/set``."""

    def __init__(self, host: str, port: int, site: str) -> None:
        self.got: list[tuple[str, dict[str, Any]]] = []
        self.subscribed = False
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.c.on_message = lambda c, u, m: self.got.append((m.topic, json.loads(m.payload)))
        self.c.on_subscribe = lambda *a: setattr(self, "subscribed", True)
        self.c.connect(host, port)
        self.c.subscribe(f"{site}/pit/+/dispatch_to/set", qos=1)
        self.c.loop_start()

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


async def until(cond: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def events(p: Platform, kind: str) -> list[Event]:
    assert p.historian is not None
    return list(p.historian.events(0, 2**62, types=[kind]))


def last(p: Platform, path: str) -> float | None:
    assert p.historian is not None
    b = p.historian.last([p.registry.id(path)])
    return float(b.value[0]) if len(b) else None


async def started(p: Platform) -> None:
    await p.start()
    conn = p.connectors["site-mqtt"]
    await asyncio.to_thread(conn.connected.wait, 10)  # type: ignore[attr-defined]
    await asyncio.sleep(0.5)  # subscriptions granted, the app subscribed to the bus


def test_plugin_protocols_and_bad_settings() -> None:
    app = HaulageApp()
    assert isinstance(app, App) and isinstance(app, WebApp) and isinstance(app, SimulatedApp)
    p = plant("s", "x")
    sigs = {d.path: d for d in app.signals(p.apps["haulage"], p)}
    for name in ("tonnes_total", "tph", "plan_tph", "kwh_per_t", "traction_kwh_total",
                 "regen_kwh_total", "charging_kw", "match_factor", "trucks_haul", "trucks_down"):
        assert f"s/haulage/{name}" in sigs
    assert sigs["s/haulage/tph"].unit == "t/h"
    bad = dict(p.apps["haulage"], kpi_period_s=-1)
    with pytest.raises(IronfieldError, match="apps.haulage: kpi_period_s"):
        app.signals(bad, p)
    bad = dict(p.apps["haulage"], trucks=[{"id": "t9", "model": "nope"}])
    with pytest.raises(IronfieldError, match="truck 't9' names unknown truck model 'nope'"):
        app.signals(bad, p)
    bad = dict(p.apps["haulage"], loader_status={"crusher": "s/pit/truck-01/state"})
    with pytest.raises(IronfieldError, match=r"loader_status: 'crusher' is not a loader \(loaders: bench-1460"):
        app.signals(bad, p)
    bad = dict(p.apps["haulage"], loader_status={"bench-1460": "s/pit/shovel-1460/ready"})
    with pytest.raises(IronfieldError, match="signals not in the plant: bench-1460: 's/pit/shovel-1460/ready'"):
        app.signals(bad, p)


async def test_a_truck_cycle_over_mqtt_becomes_cycle_kpis_and_dispatch(
        tmp_path: Path, mosquitto: tuple[str, int], unique: str) -> None:
    host, port = mosquitto
    site = f"h{unique}"
    p = Platform(plant=plant(site, unique), data_dir=tmp_path, app_factories={"haulage": HaulageApp})
    p.open()
    codes = node_codes()
    listener = SetListener(host, port, site)
    await started(p)
    pub = Publisher(host, port, site)
    try:
        await until(lambda: listener.subscribed, "the listener's subscription")
        t0 = now_ns() - 65 * 60 * 10**9  # older than the 60-min window: t/h over 1 h
        # bad data first: dispatch must keep serving truck-01 afterwards
        bad = full_cycle(t0).points[0]
        pub.point("truck-02", type(bad)(bad.ts, 1.0e6, 5.0e5, 0.0, 0.0, 0.5, "return"))
        pub.point("truck-03", bad)  # in the plant, not in the haulage fleet
        pub.c.publish(f"{site}/pit/truck-99/x_m", "12.0", qos=1)  # not in the plant at all
        pub.c.publish(f"{site}/pit/truck-01/payload_t", "heavy", qos=1)  # not a number
        cyc = full_cycle(t0)
        pts = list(cyc.points)
        i = len(pts) // 2
        pts[i], pts[i + 1] = pts[i + 1], pts[i]  # out of order within the reorder window
        late = pts.pop(40)
        for k, pt in enumerate(pts):
            pub.point("truck-01", pt)
            if k == 60:  # 20 samples (100 s) after its time: beyond the reorder window
                pub.point("truck-01", late)
        await until(lambda: bool(events(p, "haulage.cycle")), "the cycle event")
        await until(lambda: last(p, f"{site}/haulage/tonnes_total") == pytest.approx(88.0),
                    "tonnes_total")
        await until(lambda: len(listener.got) >= 2 and len(events(p, "haulage.dispatch")) >= 2,
                    "two dispatch decisions written back")

        (ev,) = events(p, "haulage.cycle")
        assert ev.asset == f"{site}/pit/truck-01"
        c = ev.payload
        assert (c["loader"], c["dump"]) == ("bench-1460", "crusher")
        assert c["tonnes"] == pytest.approx(statistics.median([88.0] * 69 + [97.0]))  # the bounce is ignored
        assert (c["start_ts"], c["end_ts"]) == (cyc.start_ts, cyc.end_ts)
        d = c["durations_s"]
        ph = cyc.phase_start
        assert d["load"] == pytest.approx((ph["haul"] - ph["load"]) / 1e9)
        assert d["haul"] == pytest.approx((ph["queue_dump"] - ph["haul"]) / 1e9)
        assert d["dump"] == pytest.approx((ph["return"] - ph["dump"]) / 1e9)
        assert sum(d.values()) == pytest.approx((cyc.end_ts - cyc.start_ts) / 1e9)
        assert c["regen_kwh"] == pytest.approx(cyc.regen_kwh, abs=1e-3)
        assert c["net_kwh"] == pytest.approx(cyc.used_kwh - cyc.regen_kwh, abs=1e-3)

        # data faults, each naming the truck (truck-02's lone sample waits for quiet_s)
        await until(lambda: bool(events(p, "haulage.impossible_position")), "the bad position")
        gap = events(p, "haulage.telemetry_gap")
        assert [(e.asset, e.payload["gap_s"]) for e in gap] == [(f"{site}/pit/truck-01", 75.0)]
        assert [e.asset for e in events(p, "haulage.late_sample")] == [f"{site}/pit/truck-01"]
        assert [e.asset for e in events(p, "haulage.impossible_position")] == [f"{site}/pit/truck-02"]
        assert [e.asset for e in events(p, "haulage.unknown_truck")] == [f"{site}/pit/truck-03"]
        health = p.health()
        assert health["pipeline"]["malformed"] >= 2  # truck-99 and "heavy", counted, no crash

        # KPIs computed from the inputs
        tonnes, net, regen = c["tonnes"], c["net_kwh"], c["regen_kwh"]
        root = f"{site}/haulage"
        await until(lambda: last(p, f"{root}/cycles_total") == 1.0, "cycles_total")
        # tipped about 53 min ago, tracking began 65 min ago: 88 t over the 60-min window
        assert last(p, f"{root}/tph") == pytest.approx(88.0 / 1.0)
        assert last(p, f"{root}/kwh_per_t") == pytest.approx(net / tonnes, rel=1e-6)
        assert last(p, f"{root}/traction_kwh_total") == pytest.approx(net + regen, rel=1e-6)
        assert last(p, f"{root}/regen_kwh_total") == pytest.approx(regen, rel=1e-6)
        assert last(p, f"{root}/regen_share") == pytest.approx(regen / (net + regen), rel=1e-6)
        mf = 2 * (d["spot"] + d["load"]) / (3 * (sum(d.values()) - d["queue_load"] - d["queue_dump"]))
        assert last(p, f"{root}/match_factor") == pytest.approx(mf, rel=1e-6)
        assert last(p, f"{root}/plan_tph") == pytest.approx(min(850.0, last(p, f"{root}/plan_tph") or 0))
        assert 0 < (last(p, f"{root}/plan_tph") or 0) <= 850.0
        assert last(p, f"{root}/trucks_queue_load") == 1.0  # truck-01 waits at the bench again
        assert last(p, f"{root}/trucks_idle") == 1.0  # truck-02 never sent a valid fix

        # write-back: dump choice while loading, loader (or charger) choice while tipping
        topic = f"{site}/pit/truck-01/dispatch_to/set"
        assert [t for t, _ in listener.got[:2]] == [topic, topic]
        first, second = (codes[int(b["v"])] for _, b in listener.got[:2])
        assert first in ("crusher", "rom-pad")
        assert second in ("bench-1460", "bench-1430", "bench-1400", "charger")
        assert {b["user"] for _, b in listener.got} == {"haulage-dispatch"}
        dis = sorted(events(p, "haulage.dispatch"), key=lambda e: e.ts)
        assert [(e.payload["truck"], e.payload["to"], e.payload["status"]) for e in dis[:2]] == [
            ("truck-01", first, "confirmed"), ("truck-01", second, "confirmed")]
        assert all(e.payload["reason"] for e in dis)
        assert p.tasks["app/haulage"].running and p.tasks["app/haulage"].restarts == 0
    finally:
        pub.close()
        listener.close()
        await stop_platform(p)


async def test_dispatch_honours_the_energy_charging_plan(
        tmp_path: Path, mosquitto: tuple[str, int], unique: str) -> None:
    host, port = mosquitto
    site = f"h{unique}"
    p = Platform(plant=plant(site, unique), data_dir=tmp_path, app_factories={"haulage": HaulageApp})
    p.open()
    codes = node_codes()
    listener = SetListener(host, port, site)
    await started(p)
    pub = Publisher(host, port, site)
    try:
        await until(lambda: listener.subscribed, "the listener's subscription")
        now = now_ns()
        assert p.pipeline is not None
        p.pipeline.emit_nowait(Event.make("energy.charging_plan", f"{site}/energy", {
            "plan_id": "p-42", "windows": [
                {"truck": "truck-01", "charger": "charger", "start_ns": now, "end_ns": now + 3600 * 10**9, "kwh": 120.0},
                {"truck": "truck-77", "charger": "charger", "start_ns": now, "end_ns": now + 60 * 10**9, "kwh": 5.0},
                {"truck": "truck-02", "charger": "crusher", "start_ns": now, "end_ns": now + 60 * 10**9, "kwh": 5.0}]}))
        await until(lambda: len(events(p, "haulage.charging_plan_rejected")) == 2, "the bad windows named")
        problems = sorted(e.payload["problem"] for e in events(p, "haulage.charging_plan_rejected"))
        assert problems == ["charging plan 'p-42' window 1: unknown truck 'truck-77'",
                            "charging plan 'p-42' window 2: 'crusher' is not a charger"]
        cyc = full_cycle(now - 20 * 60 * 10**9)
        # only up to the end of tipping: the truck becomes free at the crusher
        dump_end = cyc.phase_start["return"]
        for pt in cyc.points:
            if pt.ts <= dump_end + 15 * 10**9:
                pub.point("truck-01", pt)
        await until(lambda: len(listener.got) >= 2 and len(events(p, "haulage.dispatch")) >= 2,
                    "two decisions written back")
        assert codes[int(listener.got[1][1]["v"])] == "charger"
        dis = sorted(events(p, "haulage.dispatch"), key=lambda e: e.ts)
        assert dis[-1].payload["kind"] == "charge" and "p-42" in dis[-1].payload["reason"]
    finally:
        pub.close()
        listener.close()
        await stop_platform(p)


async def test_a_place_the_truck_cannot_be_told_is_named(
        tmp_path: Path, mosquitto: tuple[str, int], unique: str) -> None:
    host, port = mosquitto
    site = f"h{unique}"
    spec = plant(site, unique, codes={0: "none", 1: "bench-1460"})  # no code for a dump
    p = Platform(plant=spec, data_dir=tmp_path, app_factories={"haulage": HaulageApp})
    p.open()
    await started(p)
    pub = Publisher(host, port, site)
    try:
        cyc = full_cycle(now_ns() - 65 * 60 * 10**9)
        for pt in cyc.points:
            if pt.ts <= cyc.phase_start["haul"]:  # up to the end of loading
                pub.point("truck-01", pt)
        await until(lambda: bool(events(p, "haulage.dispatch_failed")), "the failed decision")
        (ev,) = events(p, "haulage.dispatch_failed")
        assert ev.asset == f"{site}/pit/truck-01"
        assert ev.payload["for"] == "dump"
        assert ev.payload["reason"] in (f"{site}/pit/truck-01/dispatch_to has no state for 'crusher'",
                                        f"{site}/pit/truck-01/dispatch_to has no state for 'rom-pad'")
        assert not events(p, "haulage.dispatch")
        assert p.tasks["app/haulage"].restarts == 0
    finally:
        pub.close()
        await stop_platform(p)


async def test_counters_continue_after_a_restart(
        tmp_path: Path, mosquitto: tuple[str, int], unique: str) -> None:
    site = f"h{unique}"
    p = Platform(plant=plant(site, unique), data_dir=tmp_path, app_factories={"haulage": HaulageApp})
    p.open()
    assert p.historian is not None
    root = f"{site}/haulage"
    # what a previous run of the app left in the historian
    ids = [p.registry.id(f"{root}/{n}") for n in ("tonnes_total", "cycles_total", "regen_kwh_total")]
    p.historian.write(Batch.build(np.asarray(ids), now_ns() - 10**9, np.asarray([5000.0, 57.0, 812.5])))
    await started(p)
    try:
        await until(lambda: last(p, f"{root}/cycles_total") == 57.0, "the counters written again")
        assert last(p, f"{root}/tonnes_total") == 5000.0
        assert last(p, f"{root}/regen_kwh_total") == 812.5
        assert last(p, f"{root}/traction_kwh_total") == 0.0  # none stored: from zero
    finally:
        await stop_platform(p)


def test_state_codes_match_the_rig() -> None:
    # the rig's wire codes are the demo plant's (the simulator and the app both read them)
    from ironfield.core.plant import load_plant
    from ironfield.demo import plant_path

    demo = load_plant(plant_path("demo"))
    d = {x.path: x for x in demo.signal_defs()}
    assert [d["luobei/pit/truck-01/state"].states[i] for i in range(len(STATES))] == STATES
    assert dict(d["luobei/pit/truck-10/dispatch_to"].states) == node_codes()


async def test_a_loader_going_down_is_planned_around_and_its_trucks_sent_elsewhere(
        tmp_path: Path, mosquitto: tuple[str, int], unique: str) -> None:
    host, port = mosquitto
    site = f"h{unique}"
    status = {f"bench-{b}": f"{site}/pit/shovel-{b}/available" for b in (1460, 1430, 1400)}
    p = Platform(plant=plant(site, unique, shovels=True, app={"loader_status": status}),
                 data_dir=tmp_path, app_factories={"haulage": HaulageApp})
    p.open()
    codes = node_codes()
    listener = SetListener(host, port, site)
    await started(p)
    pub = Publisher(host, port, site)
    app = p.apps["haulage"]
    assert isinstance(app, HaulageApp)

    def shovel(loader: str, v: float) -> None:
        b = loader.split("-")[1]
        pub.c.publish(f"{site}/pit/shovel-{b}/available", json.dumps({"v": v, "ts": now_ns() // 10**6}), qos=1)

    def down_events() -> list[Event]:
        return sorted(events(p, "haulage.loader_down"), key=lambda e: e.ts)

    try:
        await until(lambda: listener.subscribed and app.runner is not None and app.runner.dispatch.plan is not None,
                    "the app and its first plan")
        assert app.runner is not None
        full = app.runner.dispatch.plan
        assert full is not None and full.loader_tph("bench-1460") > 0
        shovel("bench-1460", 0.0)
        await until(lambda: len(down_events()) == 1, "bench-1460 reported down")
        ev = down_events()[0]
        assert ev.payload["loader"] == "bench-1460" and ev.payload["loaders_down"] == ["bench-1460"]
        assert ev.payload["redirected"] == []  # no truck was bound there
        plan = app.runner.dispatch.plan
        assert plan is not None and plan.loader_tph("bench-1460") == 0.0
        assert ev.payload["plan_tph"] == pytest.approx(plan.total_tph, abs=0.1)

        # truck-01 tips at the crusher: it is sent to a loader that is up (or to charge)
        cyc = full_cycle(now_ns() - 20 * 60 * 10**9)
        for pt in cyc.points:
            if pt.ts <= cyc.phase_start["return"] + 15 * 10**9:
                pub.point("truck-01", pt)
        await until(lambda: len(listener.got) >= 2, "two decisions written back")
        first = codes[int(listener.got[1][1]["v"])]
        assert first in ("bench-1430", "bench-1400")  # its battery holds another cycle
        # the loader truck-01 was sent to goes down: truck-01 is sent elsewhere at once
        shovel(first, 0.0)
        await until(lambda: len(down_events()) == 2 and len(listener.got) >= 3, "the redirect")
        ev = down_events()[1]
        assert ev.payload["loader"] == first and ev.payload["redirected"] == ["truck-01"]
        assert sorted(ev.payload["loaders_down"]) == sorted(["bench-1460", first])
        again = codes[int(listener.got[2][1]["v"])]
        assert again not in ("bench-1460", first)
        await until(lambda: any(e.payload["to"] == again for e in events(p, "haulage.dispatch")),
                    "the redirect's dispatch event")
        (redirect,) = [e for e in events(p, "haulage.dispatch") if e.payload["to"] == again]
        assert redirect.payload["truck"] == "truck-01" and redirect.payload["status"] == "confirmed"
        # a status of bad quality says nothing; a good 1 brings the loader back
        pub.c.publish(f"{site}/pit/shovel-1460/available", json.dumps({"v": 1, "q": 0, "ts": now_ns() // 10**6}), qos=1)
        shovel(first, 1.0)
        await until(lambda: bool(events(p, "haulage.loader_up")), "the loader back up")
        (up,) = events(p, "haulage.loader_up")
        assert up.payload["loader"] == first and up.payload["loaders_down"] == ["bench-1460"]
        assert app.runner.dispatch.loaders_down == {"bench-1460"}
        assert p.tasks["app/haulage"].restarts == 0
    finally:
        pub.close()
        listener.close()
        await stop_platform(p)
