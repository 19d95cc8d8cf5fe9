"""Limit alarms: HH/H/L/LL, deadband, on/off delays, against a per-sample reference."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ironfield.alarms.testing import T0, S
from ironfield.alarms.testing import AlarmHarness as Rig
from ironfield.core.batch import Batch

LEVEL = "plant/area/tank-1/level_m"


def test_four_levels_activate_and_clear_in_order() -> None:
    rig = Rig([{"id": "lvl", "type": "limit", "signal": LEVEL, "hh": 9, "h": 8, "l": 2, "ll": 1}])
    values = [5, 8.5, 9.5, 8.5, 5, 1.5, 0.5, 1.5, 5]
    rig.feed(LEVEL, [T0 + i * S for i in range(len(values))], values)
    assert [(a, act) for a, act, _ in rig.actions()] == [
        ("lvl.H", "activate"), ("lvl.HH", "activate"), ("lvl.HH", "clear"), ("lvl.H", "clear"),
        ("lvl.L", "activate"), ("lvl.LL", "activate"), ("lvl.LL", "clear"), ("lvl.L", "clear"),
    ]
    first = rig.events[0].payload
    assert first["value"] == 8.5 and first["limit"] == 8.0 and first["level"] == "H"
    assert rig.events[0].ts == T0 + S and rig.events[0].asset == "plant/area/tank-1"


def _activations(deadband: float, seed: int) -> int:
    rig = Rig([{"id": "lvl", "type": "limit", "signal": LEVEL, "h": 5.0, "deadband": deadband}])
    rng = np.random.default_rng(seed)
    n = 2_000
    values = 5.0 + rng.uniform(-0.3, 0.3, n)  # a value hovering at the limit +- noise
    values[0] = 6.0  # starts above the limit
    rig.feed(LEVEL, T0 + np.arange(n) * (S // 10), values)
    return sum(1 for _, a, _ in rig.actions() if a == "activate")


def test_deadband_stops_chatter_at_the_limit() -> None:
    # Without a deadband the noise crosses the limit hundreds of times (the test can fail);
    # a deadband wider than the noise band gives exactly the one activation.
    assert _activations(0.0, 1) > 100
    assert _activations(0.7, 1) == 1


def test_on_delay_ignores_short_excursions_and_stamps_the_delay() -> None:
    rig = Rig([{"id": "lvl", "type": "limit", "signal": LEVEL, "h": 5.0, "on_delay": "3s"}])
    ts = [T0 + i * S for i in range(12)]
    values = [4, 6, 6, 4, 4, 6, 6, 6, 6, 6, 4, 4]  # 2 s over, then 5 s over
    rig.feed(LEVEL, ts, values)
    assert rig.actions() == [("lvl.H", "activate", T0 + 8 * S), ("lvl.H", "clear", T0 + 10 * S)]


def test_off_delay_holds_the_alarm_through_short_dips() -> None:
    rig = Rig([{"id": "lvl", "type": "limit", "signal": LEVEL, "h": 5.0, "off_delay": "2s"}])
    values = [6, 4, 6, 4, 4, 4, 4]
    rig.feed(LEVEL, [T0 + i * S for i in range(len(values))], values)
    assert rig.actions() == [("lvl.H", "activate", T0), ("lvl.H", "clear", T0 + 5 * S)]


def test_on_delay_elapses_on_the_clock_without_new_samples() -> None:
    # Report-by-exception: one sample above the limit, then silence.
    rig = Rig([{"id": "lvl", "type": "limit", "signal": LEVEL, "h": 5.0, "on_delay": "10s"}])
    rig.feed(LEVEL, [T0], [7.0])
    assert rig.engine.tick(T0 + 9 * S) == []
    ev = rig.engine.tick(T0 + 11 * S)
    assert [(e.payload["action"], e.ts) for e in ev] == [("activate", T0 + 10 * S)]
    assert rig.engine.tick(T0 + 20 * S) == []


def test_bad_quality_and_nan_samples_decide_nothing() -> None:
    rig = Rig([{"id": "lvl", "type": "limit", "signal": LEVEL, "h": 5.0}])
    rig.feed(LEVEL, [T0], [9.0], quality=0x18)  # BAD_COMM_FAILURE
    rig.feed(LEVEL, [T0 + S], [float("nan")])
    assert rig.actions() == []
    rig.feed(LEVEL, [T0 + 2 * S], [9.0], quality=0x40)  # uncertain still counts
    assert rig.actions() == [("lvl.H", "activate", T0 + 2 * S)]


def _reference(values: list[float], ts: list[int], limit: float, db: float, on: int,
               off: int) -> list[tuple[bool, int]]:
    """Per-sample high-limit logic, written plainly: the oracle for the vectorised engine."""
    cond = alarm = False
    since = 0
    out = []
    for t, v in zip(ts, values, strict=True):
        c = True if v > limit else (False if v < limit - db else cond)
        if c != cond:
            cond, since = c, t
        delay = on if cond else off
        if alarm != cond and t - since >= delay:
            alarm = cond
            out.append((alarm, since + delay))
    return out


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=80),
    gaps=st.lists(st.integers(1, 3), min_size=80, max_size=80),
    cuts=st.lists(st.integers(0, 80), max_size=6),
    db=st.sampled_from([0.0, 0.5, 2.0]),
    on=st.sampled_from([0, 1, 3]),
    off=st.sampled_from([0, 2]),
    one_by_one=st.booleans(),
)
def test_vectorised_tracking_matches_the_per_sample_reference(
    values: list[float], gaps: list[int], cuts: list[int], db: float, on: int, off: int,
    one_by_one: bool,
) -> None:
    ts = list(T0 + np.cumsum(gaps[: len(values)]) * S)
    rig = Rig([{"id": "lvl", "type": "limit", "signal": LEVEL, "h": 5.0, "deadband": db,
                "on_delay": on, "off_delay": off}])
    # However the stream is cut into batches, the result is the same.
    # (One sample per batch takes the engine's single-sample path.)
    bounds = (list(range(len(values) + 1)) if one_by_one
              else sorted({0, len(values), *[c for c in cuts if c < len(values)]}))
    for a, b in zip(bounds, bounds[1:], strict=False):
        rig.feed(LEVEL, ts[a:b], values[a:b])
    got = [(act == "activate", t) for _, act, t in rig.actions()]
    assert got == _reference(values, ts, 5.0, db, on * S, off * S)


def test_many_samples_of_one_signal_in_one_unsorted_batch() -> None:
    rig = Rig([{"id": "lvl", "type": "limit", "signal": LEVEL, "h": 5.0, "deadband": 1.0}])
    ts = np.array([T0 + i * S for i in range(6)])
    values = np.array([4.0, 6.0, 4.5, 3.0, 6.5, 4.2])
    order = np.array([5, 2, 0, 4, 1, 3])  # arrives shuffled
    rig.feed(LEVEL, ts[order], values[order])
    assert rig.actions() == [("lvl.H", "activate", T0 + S), ("lvl.H", "clear", T0 + 3 * S),
                             ("lvl.H", "activate", T0 + 4 * S)]


def test_batches_in_a_repeating_shuffled_order_match_one_signal_at_a_time() -> None:
    paths = ["plant/area/tank-1/level_m", "plant/area/tank-1/flow_m3h",
             "plant/area/tank-2/level_m", "plant/area/tank-1/level_sp_m"]
    rules = [{"id": f"r{k}", "type": "limit", "signal": p, "h": 5.0, "l": 1.0, "deadband": 0.3,
              "on_delay": "500ms"} for k, p in enumerate(paths)]
    mixed, single = Rig(rules), Rig(rules)
    ids = np.array([mixed.sid(p) for p in paths], np.int32)
    order = np.array([2, 0, 3, 1])  # the same order every cycle, as a connector sends it
    rng = np.random.default_rng(3)
    for k in range(60):
        values = rng.uniform(0.0, 6.0, len(paths))
        ts = np.full(len(paths), T0 + k * S // 2, np.int64)
        mixed.engine.process(Batch(ids[order], ts[order], values[order],
                                   np.full(len(paths), 0xC0, np.uint8)))
        for j, p in enumerate(paths):
            single.feed(p, [int(ts[j])], [values[j]])
    assert len(single.actions()) > 10
    assert sorted(mixed.actions()) == sorted(single.actions())
