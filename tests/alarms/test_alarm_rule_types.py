"""Rate of change, deviation, stale data, discrete states and expression rules."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ironfield.alarms.testing import T0, S
from ironfield.alarms.testing import AlarmHarness as Rig
from ironfield.core.batch import Batch

LEVEL = "plant/area/tank-1/level_m"
SP = "plant/area/tank-1/level_sp_m"
PUMP = "plant/area/tank-1/pump_state"
FLOW = "plant/area/tank-1/flow_m3h"
LEVEL2 = "plant/area/tank-2/level_m"
RUN2 = "plant/area/tank-2/running"


def test_rate_of_change_per_minute_by_direction() -> None:
    rig = Rig([
        {"id": "rise", "type": "rate", "signal": LEVEL, "limit": 30, "per": "1min",
         "direction": "rising"},
        {"id": "any", "type": "rate", "signal": LEVEL, "limit": 30, "per": "1min"},
    ])
    # 0.25 m/s = 15 m/min (fine), then 1 m/s = 60 m/min up, then 60 m/min down.
    ts = [T0 + i * S for i in range(8)]
    values = [0.0, 0.25, 0.5, 1.5, 2.5, 1.5, 0.5, 0.5]
    rig.feed(LEVEL, ts[:4], values[:4])  # the rate carries across batches
    rig.feed(LEVEL, ts[4:], values[4:])
    assert rig.actions("rise") == [("rise", "activate", T0 + 3 * S), ("rise", "clear", T0 + 5 * S)]
    assert rig.actions("any") == [("any", "activate", T0 + 3 * S), ("any", "clear", T0 + 7 * S)]
    assert rig.events[0].payload["value"] == 60.0  # [m/min]


def test_deviation_from_a_setpoint_signal() -> None:
    rig = Rig([{"id": "dev", "type": "deviation", "signal": LEVEL, "setpoint": SP, "limit": 1.0,
                "deadband": 0.2}])
    sid, sp = rig.sid(LEVEL), rig.sid(SP)
    rig.engine.process(Batch.build([sid, sp], [T0, T0], [5.0, 5.5]))
    rig.engine.process(Batch.build([sid], [T0 + S], [6.7]))  # 1.2 above
    rig.engine.process(Batch.build([sp], [T0 + 2 * S], [5.85]))  # setpoint moves: 0.85, held
    rig.engine.process(Batch.build([sp], [T0 + 3 * S], [5.95]))  # 0.75: clears (< 1.0 - 0.2)
    rig.engine.process(Batch.build([sp], [T0 + 3 * S], [5.5]))  # 1.2: back
    rig.engine.process(Batch.build([sid], [T0 + 4 * S], [4.2]))  # 1.3 below: still active
    rig.engine.process(Batch.build([sid], [T0 + 5 * S], [4.8]))  # 0.7 below: clear
    assert rig.actions() == [("dev", "activate", T0 + S), ("dev", "clear", T0 + 3 * S),
                             ("dev", "activate", T0 + 3 * S), ("dev", "clear", T0 + 5 * S)]


@pytest.mark.parametrize(
    ("direction", "expected"),
    [("high", [("activate", 1), ("clear", 2)]), ("low", [("activate", 3), ("clear", 4)]),
     ("both", [("activate", 1), ("clear", 2), ("activate", 3), ("clear", 4)])],
)
def test_deviation_directions(direction: str, expected: list[tuple[str, int]]) -> None:
    rig = Rig([{"id": "dev", "type": "deviation", "signal": LEVEL, "setpoint": SP, "limit": 1.0,
                "direction": direction}])
    rig.engine.process(Batch.build([rig.sid(SP)], T0, [5.0]))
    for k, v in enumerate([5.0, 6.5, 5.0, 3.5, 5.0]):  # deviations: per batch, newest values
        rig.feed(LEVEL, [T0 + k * S], [v])
    assert [(a, (t - T0) // S) for _, a, t in rig.actions()] == expected
    if direction == "low":
        assert rig.events[0].payload["limit"] == -1.0 and rig.events[0].payload["value"] == -1.5


def test_stale_data_on_the_clock() -> None:
    rig = Rig([{"id": "stale", "type": "stale", "signal": FLOW, "timeout": "30s"}])
    rig.engine.tick(T0)  # never seen: the first tick is the reference
    assert rig.engine.tick(T0 + 29 * S) == []
    [ev] = rig.engine.tick(T0 + 31 * S)
    assert ev.payload["action"] == "activate" and ev.ts == T0 + 30 * S
    assert ev.payload["value"] is None and ev.payload["limit"] == 30.0
    rig.feed(FLOW, [T0 + 40 * S], [12.0])
    assert rig.actions()[-1] == ("stale", "clear", T0 + 40 * S)
    assert rig.engine.tick(T0 + 69 * S) == []
    rig.feed(FLOW, [T0 + 65 * S], [12.0], quality=0x18)  # a bad sample is no fresh data
    assert [e.ts for e in rig.engine.tick(T0 + 71 * S)] == [T0 + 70 * S]


def test_discrete_state_by_name_and_code() -> None:
    rig = Rig([
        {"id": "trip", "type": "state", "signal": PUMP, "states": ["trip"], "priority": "high"},
        {"id": "off", "type": "state", "signal": PUMP, "states": [0]},
    ])
    rig.feed(PUMP, [T0 + i * S for i in range(5)], [1, 2, 2, 0, 1])
    assert rig.actions() == [
        ("trip", "activate", T0 + S), ("trip", "clear", T0 + 3 * S),
        ("off", "activate", T0 + 3 * S), ("off", "clear", T0 + 4 * S),
    ]


def test_expression_over_several_signals() -> None:
    rig = Rig([{"id": "dry-run", "type": "expression", "priority": "urgent",
                "expr": "pump == 1 and flow < 2 and abs(level - sp) > 0.5",
                "signals": {"pump": PUMP, "flow": FLOW, "level": LEVEL, "sp": SP}}])
    ids = [rig.sid(p) for p in (PUMP, FLOW, LEVEL, SP)]
    rig.engine.process(Batch.build(ids, T0, [1.0, 10.0, 5.0, 5.0]))
    rig.engine.process(Batch.build(ids[1], T0 + S, 1.0))  # flow drops: deviation still small
    rig.engine.process(Batch.build(ids[2], T0 + 2 * S, 4.0))  # level falls away
    rig.engine.process(Batch.build(ids[0], T0 + 3 * S, 0.0))  # pump stops
    assert rig.actions() == [("dry-run", "activate", T0 + 2 * S),
                             ("dry-run", "clear", T0 + 3 * S)]
    assert rig.events[0].asset == "plant/area/tank-1"
    assert rig.events[0].payload["priority"] == "urgent"


def test_expression_with_unknown_inputs_holds() -> None:
    rig = Rig([{"id": "x", "type": "expression", "expr": f"'{LEVEL}' > '{LEVEL2}'"}])
    rig.feed(LEVEL, [T0], [5.0])  # the other input has no value yet: no decision
    assert rig.actions() == []
    rig.feed(LEVEL2, [T0 + S], [4.0])
    assert rig.actions() == [("x", "activate", T0 + S)]


def test_signals_without_rules_cost_nothing_and_unknown_ids_are_ignored() -> None:
    rig = Rig([{"id": "lvl", "type": "limit", "signal": LEVEL, "h": 5.0}])
    b = Batch.build(np.array([rig.sid(FLOW), 999, rig.sid(LEVEL)]), T0, [100.0, 100.0, 6.0])
    rig.engine.process(b)
    assert rig.actions() == [("lvl.H", "activate", T0)]
    assert rig.engine.evaluations == 1


def test_many_rules_of_one_shape_are_evaluated_together() -> None:
    rig = Rig([
        {"id": f"hi-{k}", "type": "expression", "expr": f"'{p}' > 3"}
        for k, p in enumerate([LEVEL, LEVEL2, FLOW])
    ])
    assert len(rig.engine.c.expressions) == 1
    assert rig.engine.c.expressions[0].sids.shape == (3, 1)
    rig.engine.process(Batch.build([rig.sid(LEVEL), rig.sid(FLOW)], T0, [4.0, 1.0]))
    assert rig.actions() == [("hi-0", "activate", T0)]


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(-50.0, 50.0), min_size=2, max_size=60),
    gaps=st.lists(st.integers(1, 4), min_size=60, max_size=60),
    cuts=st.lists(st.integers(0, 60), max_size=5),
    bad=st.sets(st.integers(0, 59), max_size=6),
)
def test_rate_matches_a_per_sample_reference(
    values: list[float], gaps: list[int], cuts: list[int], bad: set[int]
) -> None:
    ts = [int(x) for x in T0 + np.cumsum(gaps[: len(values)]) * (S // 2)]
    rig = Rig([{"id": "r", "type": "rate", "signal": LEVEL, "limit": 10.0, "deadband": 2.0,
                "direction": "falling"}])
    q = np.array([0x18 if i in bad else 0xC0 for i in range(len(values))], np.uint8)
    bounds = sorted({0, len(values), *[c for c in cuts if c < len(values)]})
    for a, b in itertools.pairwise(bounds):
        rig.engine.process(Batch(np.full(b - a, rig.sid(LEVEL), np.int32),
                                 np.array(ts[a:b], np.int64), np.array(values[a:b]), q[a:b]))
    # Reference: the rate between consecutive good samples [unit/s], falling means negative.
    want: list[tuple[str, int]] = []
    cond = False
    prev: tuple[int, float] | None = None
    for i, (t, v) in enumerate(zip(ts, values, strict=True)):
        if i in bad:
            continue
        if prev is not None:
            rate = (v - prev[1]) / ((t - prev[0]) / S)
            c = True if -rate > 10.0 else (False if -rate < 8.0 else cond)
            if c != cond:
                cond = c
                want.append(("activate" if c else "clear", t))
        prev = (t, v)
    assert [(a, t) for _, a, t in rig.actions()] == want
