"""Tracking on synthetic telemetry: clean, jittery, gappy, out of order, and bad data."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from ironfield.apps.haulage.config import HaulageConfig
from ironfield.apps.haulage.demo import demo_mine
from ironfield.apps.haulage.sim import MineSim, SimSettings
from ironfield.apps.haulage.tracking import FleetTracker, Sample, TrackerSettings, TruckTracker
from ironfield.core.events import Event
from ironfield.core.timeutil import NS_PER_S

CFG = HaulageConfig.model_validate({
    "nodes": [
        {"id": "L", "kind": "loader", "x_m": 0, "y_m": 0, "rate_tph": 2700, "radius_m": 40},
        {"id": "D", "kind": "dump", "x_m": 1000, "y_m": 0, "rate_tph": 3000, "radius_m": 40},
    ],
    "segments": [{"a": "L", "b": "D", "length_m": 1000, "grade_pct": -5}],
    "truck_models": [{"name": "T", "empty_mass_t": 60, "payload_t": 90, "battery_kwh": 400,
                      "motor_power_kw": 800, "regen_power_kw": 800}],
    "trucks": [{"id": "t1", "model": "T"}],
})
BATTERY = 400.0
# scripted phases [s]: queue 60, spot 30, load 120, haul 100, queue 30, dump 40, return 100
SCRIPT = [("queue_load", 60), ("spot", 30), ("load", 120), ("haul", 100), ("queue_dump", 30),
          ("dump", 40), ("return", 100)]
REGEN_KWH, CLIMB_KWH = 8.0, 20.0  # per haul / per return


def _cycle_samples(n_cycles: int, dt_s: float = 2.0, jitter_m: float = 0.0,
                   seed: int = 0, report_state: bool = False) -> Iterator[Sample]:
    rng = random.Random(seed)
    t, soc = 0.0, 0.8
    for _ in range(n_cycles):
        for phase, dur in SCRIPT:
            steps = int(dur / dt_s)
            for k in range(steps):
                f = k / steps
                x, v, pay = 0.0, 0.0, 0.0
                if phase == "queue_load":
                    x = -20.0
                elif phase == "spot":
                    x, v = -20.0 + 20.0 * f, 1.5
                elif phase == "load":
                    pay = 90.0 * f
                elif phase == "haul":
                    x, v, pay = 1000.0 * f, 10.0, 90.0
                    soc += REGEN_KWH / BATTERY / steps
                elif phase == "queue_dump":
                    x, pay = 1020.0, 90.0
                elif phase == "dump":
                    x, pay = 1020.0, 90.0 * (1 - f)
                elif phase == "return":
                    x, v = 1000.0 * (1 - f), 10.0
                    soc -= CLIMB_KWH / BATTERY / steps
                yield Sample("t1", int(t * NS_PER_S), x + rng.gauss(0, jitter_m),
                             rng.gauss(0, jitter_m), v, pay, soc,
                             phase if report_state else None)
                t += dt_s
    # arrive at the loader once more so the last cycle closes
    for _ in range(5):
        yield Sample("t1", int(t * NS_PER_S), -20.0, 0.0, 0.0, 0.0, soc,
                     "queue_load" if report_state else None)
        t += dt_s


def _run(samples: Iterator[Sample] | list[Sample]) -> tuple[TruckTracker, list[Event]]:
    tr = TruckTracker("t1", CFG.network(), 90.0, BATTERY, TrackerSettings())
    evs: list[Event] = []
    for s in samples:
        evs.extend(tr.push(s))
    evs.extend(tr.flush())
    return tr, evs


def _check_cycles(tr: TruckTracker, n: int, tol_s: float) -> None:
    assert len(tr.cycles) == n
    for c in tr.cycles:
        assert c.loader == "L" and c.dump == "D"
        assert c.tonnes == pytest.approx(90.0, rel=0.02)
        assert c.net_kwh == pytest.approx(CLIMB_KWH - REGEN_KWH, abs=1.0)
        assert c.regen_kwh == pytest.approx(REGEN_KWH, abs=1.0)
        total = sum(d for _, d in SCRIPT)
        assert (c.end_ts - c.start_ts) / NS_PER_S == pytest.approx(total, abs=tol_s)
        for phase, dur in SCRIPT:
            assert c.durations_s.get(phase, 0.0) == pytest.approx(dur, abs=tol_s), phase


def test_clean_telemetry_inferred_phases() -> None:
    tr, evs = _run(_cycle_samples(3))
    _check_cycles(tr, 3, tol_s=8.0)
    assert sum(e.type == "haulage.cycle" for e in evs) == 3
    assert all(e.type in ("haulage.cycle", "haulage.phase") for e in evs)


def test_reported_states_are_trusted() -> None:
    tr, _ = _run(_cycle_samples(2, report_state=True))
    _check_cycles(tr, 2, tol_s=2.5)


def test_payload_sensor_noise_is_median_filtered() -> None:
    rng = random.Random(5)
    noisy = [Sample(s.truck, s.ts, s.x_m, s.y_m, s.speed_mps,
                    s.payload_t + (rng.gauss(0, 4.0) if s.payload_t > 80 else 0.0), s.soc)
             for s in _cycle_samples(2)]
    tr, _ = _run(noisy)
    assert len(tr.cycles) == 2
    assert all(c.tonnes == pytest.approx(90.0, abs=2.0) for c in tr.cycles)


def test_gps_jitter_does_not_split_phases() -> None:
    tr, evs = _run(_cycle_samples(3, jitter_m=6.0, seed=3))
    _check_cycles(tr, 3, tol_s=10.0)
    phase_changes = sum(e.type == "haulage.phase" for e in evs)
    assert phase_changes <= 3 * len(SCRIPT) + 2


def test_missing_samples_and_a_long_gap() -> None:
    rng = random.Random(1)
    samples = [s for s in _cycle_samples(3) if rng.random() > 0.2]  # drop 20 %
    # lose 70 s of one return leg entirely
    gap = [s for s in samples if not (700 * NS_PER_S < s.ts < 770 * NS_PER_S)]
    tr, evs = _run(gap)
    _check_cycles(tr, 3, tol_s=12.0)
    assert any(e.type == "haulage.telemetry_gap" for e in evs)


def test_out_of_order_within_the_window_is_reordered() -> None:
    samples = list(_cycle_samples(3))
    rng = random.Random(7)
    for i in range(0, len(samples) - 3, 3):  # shuffle within 6 s blocks
        block = samples[i:i + 3]
        rng.shuffle(block)
        samples[i:i + 3] = block
    tr, evs = _run(samples)
    _check_cycles(tr, 3, tol_s=8.0)
    assert not any(e.type == "haulage.late_sample" for e in evs)


def test_too_late_and_duplicate_samples_are_events() -> None:
    samples = list(_cycle_samples(2))
    late = samples[10]
    samples.insert(200, late)  # 380 s late: beyond the 10 s window
    samples.insert(300, samples[299])
    tr, evs = _run(samples)
    types = [e.type for e in evs]
    assert "haulage.late_sample" in types and "haulage.duplicate_sample" in types
    assert len(tr.cycles) == 2


def test_impossible_position_and_speed() -> None:
    samples = list(_cycle_samples(1))
    bad_pos = Sample("t1", samples[50].ts + 1, 1e7, 0.0, 0.0, 0.0, 0.5)
    teleport = Sample("t1", samples[60].ts + 1, 900.0, 0.0, 0.0, 0.0, 0.5)
    fast = Sample("t1", samples[70].ts + 1, 0.0, 0.0, 80.0, 0.0, 0.5)
    samples[51:51] = [bad_pos]
    samples[62:62] = [teleport]
    samples[73:73] = [fast]
    tr, evs = _run(samples)
    types = [e.type for e in evs]
    assert "haulage.impossible_position" in types
    assert types.count("haulage.impossible_speed") == 2
    assert len(tr.cycles) == 1


def test_unknown_truck_is_an_event_and_others_keep_tracking() -> None:
    ft = FleetTracker(CFG)
    evs = ft.push(Sample("ghost", 0, 0.0, 0.0, 0.0, 0.0, 0.5))
    assert [e.type for e in evs] == ["haulage.unknown_truck"]
    assert evs[0].asset == "ghost"
    for s in _cycle_samples(1):
        ft.push(s)
    ft.flush()
    assert len(ft.trackers["t1"].cycles) == 1


def test_simulated_fleet_telemetry_round_trip() -> None:
    """Tracking the simulator's telemetry recovers the tonnes it hauled."""
    cfg = demo_mine(n_trucks=4)
    ft = FleetTracker(cfg)
    events: list[Event] = []
    sim = MineSim(cfg, SimSettings(seed=2, duration_min=240, telemetry_s=5.0, mtbf_h=1e6),
                  on_telemetry=lambda s: events.extend(ft.push(s)))
    res = sim.run()
    events.extend(ft.flush())
    cycles = [c for t in ft.trackers.values() for c in t.cycles]
    assert not [e for e in events if e.type.startswith("haulage.impossible")]
    assert len(cycles) >= res.loads - 2 * len(cfg.trucks)
    tonnes = sum(c.tonnes for c in cycles)
    assert tonnes == pytest.approx(res.tonnes, rel=0.15)
