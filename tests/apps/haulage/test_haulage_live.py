"""Telemetry regrouping and fleet KPIs without a broker: values of one sample that arrive
apart, a sample missing fields or position, bad quality; delivered tonnes and t/h."""

from __future__ import annotations

import numpy as np
import pytest

from ironfield.apps.haulage.demo import demo_mine
from ironfield.apps.haulage.ingest import SampleAssembler
from ironfield.apps.haulage.live import LiveFleet
from ironfield.apps.haulage.model import MineModel
from ironfield.apps.haulage.settings import AppSettings
from ironfield.apps.haulage.tracking import Sample
from ironfield.core.batch import Batch
from ironfield.core.signals import SignalDef, SignalRegistry

STATES = {0: "idle", 1: "queue_load", 4: "haul", 6: "dump", 7: "return", 8: "charge", 9: "down"}
T0 = 1_790_000_000_000_000_000


def registry() -> SignalRegistry:
    r = SignalRegistry()
    for t in ("truck-01", "truck-02"):
        for n in ("x_m", "y_m", "speed_kmh", "payload_t", "soc_pct"):
            r.register(SignalDef(f"s/pit/{t}/{n}"))
        r.register(SignalDef(f"s/pit/{t}/state", type="state", states=STATES))
        r.register(SignalDef(f"s/pit/{t}/dispatch_to", type="state", writable=True,
                             states={0: "none", 1: "crusher"}))
    r.register(SignalDef("s/pit/crusher/x_m"))  # not a truck signal set, but named alike
    return r


def rows(r: SignalRegistry, truck: str, ts: int, **vals: float) -> Batch:
    ids = [r.id(f"s/pit/{truck}/{k}") for k in vals]
    return Batch.build(np.asarray(ids), ts, np.asarray(list(vals.values())))


def test_a_sample_is_assembled_from_values_that_arrive_apart() -> None:
    r = registry()
    a = SampleAssembler(r, "s", "pit", max_wait_s=2.0)
    a.add(rows(r, "truck-01", T0, x_m=10.0, y_m=20.0, speed_kmh=36.0), wall=0.0)
    assert a.ready(wall=0.5) == []  # payload, SoC and state still to come
    a.add(rows(r, "truck-01", T0, payload_t=88.0, soc_pct=55.0, state=4), wall=0.6)
    (smp,) = a.ready(wall=0.6)
    assert smp == Sample("truck-01", T0, 10.0, 20.0, 10.0, 88.0, 0.55, "haul")
    assert a.code_of("truck-01", "dest", "crusher") == 1
    assert a.code_of("truck-01", "dest", "nowhere") is None


def test_incomplete_samples_are_completed_after_a_wait_or_dropped_without_position() -> None:
    r = registry()
    a = SampleAssembler(r, "s", "pit", max_wait_s=2.0)
    a.add(rows(r, "truck-01", T0, x_m=1.0, y_m=2.0, speed_kmh=0.0, payload_t=0.0, soc_pct=80.0, state=9), wall=0.0)
    (first,) = a.ready(wall=0.0)
    assert first.state == "idle" and a.latest["truck-01"].state == "down"
    a.add(rows(r, "truck-01", T0 + 5_000_000_000, x_m=3.0, y_m=4.0), wall=1.0)
    a.add(rows(r, "truck-02", T0, payload_t=5.0), wall=1.0)  # never a position
    bad = Batch.build(np.asarray([r.id("s/pit/truck-01/payload_t")]), T0 + 6_000_000_000, 9.0, quality=0x00)
    a.add(bad, wall=1.0)
    assert a.ready(wall=2.5) == []
    (late,) = a.ready(wall=3.1)
    assert (late.x_m, late.y_m, late.payload_t, late.soc) == (3.0, 4.0, 0.0, 0.8)  # the rest from before
    assert a.dropped_no_position == 1 and a.bad_quality == 1
    assert a.ready(wall=99.0) == []


def test_delivered_tonnes_and_tph_over_the_window() -> None:
    cfg = demo_mine(2)
    s = AppSettings(site="s", area="pit", window_min=60.0)
    f = LiveFleet(s, cfg, MineModel(cfg))
    crusher = next(n for n in cfg.nodes if n.id == "crusher")
    ts = T0
    plan: list[tuple[str, float]] = [("haul", 88.0)] * 5 + [("haul", 130.0)] + [("dump", 40.0)] * 3 + [("return", 0.0)] * 3
    for state, pay in plan:
        ts += 5_000_000_000
        f.push(Sample("truck-01", ts, crusher.x_m, crusher.y_m, 0.0, pay, 0.5, state), None, wall=0.0)
    f.flush_quiet(wall=100.0)  # the truck went quiet: its buffered samples are released
    assert f.tonnes_total == pytest.approx(88.0)  # the median ignores the 130 t spike
    k = f.tick(T0 + 30 * 60 * 10**9, {}, 850.0)
    # tracking began with the first sample, 5 s after T0: 88 t over 30 min less 5 s
    assert k["tph"] == pytest.approx(88.0 / ((30 * 60 - 5) / 3600))
    k = f.tick(T0 + 59 * 60 * 10**9, {}, 850.0)
    assert k["tph"] == pytest.approx(88.0 / ((59 * 60 - 5) / 3600))
    k = f.tick(T0 + (60 * 60 + 40) * 10**9, {}, 850.0)
    assert k["tph"] == pytest.approx(88.0)  # a full window: tipped 50 s after T0, in the last hour
    k = f.tick(T0 + 125 * 60 * 10**9, {}, 850.0)
    assert k["tph"] == 0.0 and k["tonnes_total"] == pytest.approx(88.0)  # out of the window
    assert k["plan_tph"] == 850.0


def test_a_truck_that_goes_silent_is_named_once() -> None:
    cfg = demo_mine(2)
    f = LiveFleet(AppSettings(site="s", area="pit"), cfg, MineModel(cfg))
    f.push(Sample("truck-02", T0, 0.0, 2600.0, 0.0, 0.0, 0.5, "queue_load"), None, wall=100.0)
    assert f.flush_quiet(wall=150.0)[0] == []
    (ev,) = f.flush_quiet(wall=161.0)[0]
    assert (ev.type, ev.asset, ev.payload["problem"]) == (
        "haulage.telemetry_stale", "s/pit/truck-02", "no telemetry for 61 s")
    assert f.flush_quiet(wall=300.0)[0] == []  # said once
    f.push(Sample("truck-02", T0 + 10**9, 0.0, 2600.0, 0.0, 0.0, 0.5, "queue_load"), None, wall=301.0)
    assert f.stale == set()


def test_the_first_cycle_of_a_truck_first_seen_at_a_loader_is_not_counted() -> None:
    cfg = demo_mine(1)
    f = LiveFleet(AppSettings(site="s", area="pit"), cfg, MineModel(cfg))
    at = {n.id: (n.x_m, n.y_m) for n in cfg.nodes}
    leg = [("load", "bench-1460", 40.0), ("load", "bench-1460", 90.0), ("haul", "pit-exit", 90.0),
           ("haul", "ramp-mid", 90.0), ("dump", "crusher", 50.0), ("dump", "crusher", 0.0),
           ("return", "ramp-mid", 0.0), ("return", "pit-exit", 0.0),
           ("queue_load", "bench-1460", 0.0), ("queue_load", "bench-1460", 0.0)]
    ts, cycles = T0, []
    for state, node, pay in leg + leg + [("queue_load", "bench-1460", 0.0)] * 3:
        ts += 200 * 10**9  # far apart: every leg is plausible at truck speeds
        x, y = at[node]
        evs, _ = f.push(Sample("truck-01", ts, x, y, 0.0, pay, 0.5, state), None, wall=0.0)
        cycles += [e for e in evs if e.type == "haulage.cycle"]
    evs, _ = f.flush_quiet(wall=100.0)
    cycles += [e for e in evs if e.type == "haulage.cycle"]
    assert f.partial_cycles == 1 and f.cycles_total == 1
    (c,) = cycles
    assert c.payload["durations_s"]["queue_load"] == 400.0  # the whole second cycle was seen
    assert f.tonnes_total == 180.0  # both loads were tipped, though


def test_charging_power_from_the_soc_rise_over_a_minute() -> None:
    cfg = demo_mine(1)
    f = LiveFleet(AppSettings(site="s", area="pit"), cfg, MineModel(cfg))
    r = registry()
    a = SampleAssembler(r, "s", "pit")
    for k in range(13):  # charging, SoC reading steps up 2.5 kWh once a minute
        soc = 50.0 + 100.0 * 2.5 / 420.0 * (k // 12)
        a.add(rows(r, "truck-01", T0 + k * 5 * 10**9, x_m=2450.0, y_m=0.0, speed_kmh=0.0,
                   payload_t=0.0, soc_pct=soc, state=8), wall=0.0)
        for smp in a.ready(wall=0.0):
            f.push(smp, a.latest.get(smp.truck), wall=0.0)
    f.flush_quiet(wall=100.0)
    kpis = f.tick(T0 + 10**12, a.latest, 850.0)
    assert kpis["trucks_charge"] == 1.0
    assert kpis["charging_kw"] == pytest.approx(2.5 / (60 / 3600))  # 2.5 kWh in 60 s: 150 kW


def test_the_plan_leaves_out_loaders_that_are_down() -> None:
    model = MineModel(demo_mine(10))
    full = model.plan(8.5)
    assert all(full.loader_tph(ld) > 0 for ld in ("bench-1460", "bench-1430", "bench-1400"))
    one_down = model.plan(8.5, {"bench-1460"})
    assert one_down.loader_tph("bench-1460") == 0.0
    # the others take what they can: more from each, less in all
    assert one_down.loader_tph("bench-1430") >= full.loader_tph("bench-1430")
    assert 0 < one_down.total_tph < full.total_tph
    none = model.plan(8.5, {"bench-1460", "bench-1430", "bench-1400"})
    assert none.total_tph == 0.0 and not none.feasible and none.conflicts == ["every loader is down"]


def test_a_loader_that_is_down_is_not_hanging() -> None:
    cfg = demo_mine(2)
    f = LiveFleet(AppSettings(site="s", area="pit"), cfg, MineModel(cfg))
    f.tick(T0, {}, 850.0)
    k = f.tick(T0 + 10 * 60 * 10**9, {}, 850.0)  # no truck under any of the 3 loaders
    assert k["hang_min"] == pytest.approx(30.0) and k["loaders_down"] == 0.0
    k = f.tick(T0 + 20 * 60 * 10**9, {}, 850.0, {"bench-1460"})  # one broken: 2 hang
    assert k["hang_min"] == pytest.approx(50.0) and k["loaders_down"] == 1.0
