"""The public timing API: learn_reference and AdaptiveWeldTimer."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from apps.welding.welding_cases import WELD_TIME_S, conditions
from ironfield.apps.welding.simulator import WeldOutcome, simulate_batch
from ironfield.apps.welding.timing import (
    AdaptiveWeldTimer,
    SpotReference,
    SpotReferenceError,
    StopReason,
    TimerConfig,
    WeldCurve,
    analyse_curve,
    learn_reference,
)


def synthetic(
    r_of_t: object, *, current_ka: float = 9.0, t_end: float = 0.4, rate: float = 1000.0,
    noise: float = 0.0, seed: int = 0,
) -> tuple[list[float], list[float], list[float]]:
    rng = np.random.default_rng(seed)
    t = (np.arange(int(t_end * rate)) + 1) / rate
    r = np.array([r_of_t(x) for x in t])  # type: ignore[operator]
    r = r * (1 + noise * rng.standard_normal(len(t)))
    i = np.full(len(t), current_ka)
    return t.tolist(), i.tolist(), (r * i / 1000.0).tolist()


def alpha_beta(t: float) -> float:
    """A textbook dynamic-resistance curve [µΩ]: breakdown, rise, beta peak at 100 ms."""
    contact = 80.0 * math.exp(-t / 0.008)
    rise = 50.0 + 60.0 * min(t, 0.1) / 0.1
    fall = 20.0 * (1 - math.exp(-(t - 0.1) / 0.05)) if t > 0.1 else 0.0
    return contact + rise - fall


def run(timer: AdaptiveWeldTimer, curve: tuple[list[float], list[float], list[float]]) -> float:
    for t, i, u in zip(*curve, strict=True):
        if timer.step(t, i, u):
            return t
    return math.nan


def test_learn_reference_on_simulated_good_welds(
    reference: SpotReference, good_welds: list[WeldOutcome]
) -> None:
    assert all(o.ok for o in good_welds)
    ref = reference
    assert ref.mode == "adaptive" and ref.n_welds == len(good_welds)
    assert ref.t_fixed_s == pytest.approx(WELD_TIME_S)
    assert ref.t_min_s == pytest.approx(WELD_TIME_S / 3)
    assert ref.t_max_s == pytest.approx(1.5 * WELD_TIME_S)
    assert 0.0 < ref.heat_after_peak_j < ref.energy_j
    assert ref.r_alpha_uohm < ref.r_beta_uohm
    assert 0.03 < ref.t_beta_s < WELD_TIME_S
    assert ref.band is not None
    assert len(ref.band.t_s) == len(ref.band.p50_uohm)
    mids = [m for m in ref.band.p50_uohm if m == m]
    assert all(lo <= m <= hi for lo, m, hi in zip(ref.band.p10_uohm, ref.band.p50_uohm,
                                                  ref.band.p90_uohm, strict=True) if m == m)
    assert max(mids) == pytest.approx(ref.r_beta_uohm, rel=0.1)


def test_reference_replays_its_own_good_welds(
    reference: SpotReference, good_welds: list[WeldOutcome]
) -> None:
    """On the conditions it learned from, the adaptive timer stops near the fixed time."""
    conds = conditions(30, seed=1)
    timers = [AdaptiveWeldTimer(reference) for _ in conds]
    outs = simulate_batch(conds, timers, reference.t_max_s)
    times = [o.duration_s for o in outs]
    assert all(t == pytest.approx(WELD_TIME_S, abs=0.03) for t in times)
    assert all(tm.result().stop_reason is StopReason.HEAT for tm in timers)
    assert all(o.ok for o in outs)


def test_timer_stops_within_min_and_max(reference: SpotReference) -> None:
    # Fast heating (high current), slow heating (worn faces, shunt) and no melting at all.
    cases = (
        conditions(4, seed=2, current_ka=10.5)
        + conditions(4, seed=3, electrode_face_mm=6.5, shunt_pitch_mm=35.0)
        + conditions(4, seed=4, current_ka=5.0)
    )
    timers = [AdaptiveWeldTimer(reference) for _ in cases]
    outs = simulate_batch(cases, timers, 1.0)
    for o, tm in zip(outs, timers, strict=True):
        assert reference.t_min_s - 1e-9 <= o.duration_s <= reference.t_max_s + 1e-9
        assert tm.stopped
    res = [tm.result() for tm in timers]
    assert all(r.stop_reason is StopReason.HEAT for r in res[:4])
    assert all(r.stop_reason is StopReason.MAX_TIME for r in res[8:])
    assert not any(r.beta_found for r in res[8:])  # 5 kA never melts


def test_never_before_min_time() -> None:
    ref = SpotReference(heat_after_peak_j=1.0, r_beta_uohm=100.0, t_beta_s=0.02,
                        t_min_s=0.15, t_max_s=0.3, t_fixed_s=0.2)
    t_stop = run(AdaptiveWeldTimer(ref), synthetic(alpha_beta))
    assert t_stop == pytest.approx(0.15)


def test_max_time_when_no_beta_peak() -> None:
    ref = SpotReference(heat_after_peak_j=500.0, r_beta_uohm=110.0, t_beta_s=0.1,
                        t_min_s=0.1, t_max_s=0.3, t_fixed_s=0.2)
    flat = synthetic(lambda t: 80.0 * math.exp(-t / 0.008) + 60.0 + 100.0 * t, noise=0.005)
    timer = AdaptiveWeldTimer(ref)
    assert run(timer, flat) == pytest.approx(0.3)
    r = timer.result()
    assert r.stop_reason is StopReason.MAX_TIME and not r.beta_found


def test_stops_on_heat_after_the_beta_peak() -> None:
    curve = synthetic(alpha_beta, noise=0.005)
    f = analyse_curve(curve)
    assert f.beta_found and f.t_beta_s == pytest.approx(0.1, abs=0.01)
    # Heat after the peak delivered at 9 kA: P = I^2 R ~ 81 * ~100 W per ms.
    ref = SpotReference(heat_after_peak_j=700.0, r_beta_uohm=f.r_beta_uohm,
                        t_beta_s=f.t_beta_s, t_min_s=0.1, t_max_s=0.4, t_fixed_s=0.2)
    timer = AdaptiveWeldTimer(ref)
    t_stop = run(timer, curve)
    r = timer.result()
    assert r.stop_reason is StopReason.HEAT
    assert r.heat_after_peak_j == pytest.approx(700.0, abs=10.0)
    assert 0.15 < t_stop < 0.25


def test_lower_peak_resistance_asks_for_more_heat() -> None:
    curve = synthetic(alpha_beta)
    f = analyse_curve(curve)
    same = SpotReference(heat_after_peak_j=500.0, r_beta_uohm=f.r_beta_uohm,
                         t_beta_s=f.t_beta_s, t_min_s=0.1, t_max_s=0.4, t_fixed_s=0.2)
    higher = same.with_updates(r_beta_uohm=1.2 * f.r_beta_uohm)
    a, b = AdaptiveWeldTimer(same), AdaptiveWeldTimer(higher)
    ta, tb = run(a, curve), run(b, curve)
    assert tb > ta
    assert a.result().heat_scale == pytest.approx(1.0, rel=1e-6)
    assert b.result().heat_scale == pytest.approx(1.2, rel=1e-6)
    plain = AdaptiveWeldTimer(higher.with_updates(config=TimerConfig(normalise_heat=False)))
    assert run(plain, curve) == pytest.approx(ta)


def test_an_early_beta_peak_asks_for_less_heat_and_a_late_one_for_more() -> None:
    """IQR principle: the time of the resistance maximum against the reference's."""
    curve = synthetic(alpha_beta)
    f = analyse_curve(curve)
    ref = SpotReference(heat_after_peak_j=500.0, r_beta_uohm=f.r_beta_uohm,
                        t_beta_s=f.t_beta_s, t_min_s=0.1, t_max_s=0.4, t_fixed_s=0.2)
    early = AdaptiveWeldTimer(ref.with_updates(t_beta_s=1.25 * f.t_beta_s))  # peak came early
    late = AdaptiveWeldTimer(ref.with_updates(t_beta_s=0.8 * f.t_beta_s))  # peak came late
    t_ref, t_early, t_late = run(AdaptiveWeldTimer(ref), curve), run(early, curve), run(late, curve)
    assert early.result().heat_scale == pytest.approx(0.8, rel=1e-6)
    assert late.result().heat_scale == pytest.approx(1.25, rel=1e-6)
    assert t_early < t_ref < t_late
    off = TimerConfig(beta_time_exponent=0.0)
    assert run(AdaptiveWeldTimer(early.reference.with_updates(config=off)), curve) == t_ref


def test_detects_expulsion_from_a_resistance_drop() -> None:
    def expelled(t: float) -> float:
        return alpha_beta(t) * (0.85 if t >= 0.15 else 1.0)

    timer = AdaptiveWeldTimer(SpotReference(
        heat_after_peak_j=1e9, r_beta_uohm=110.0, t_beta_s=0.1, t_min_s=0.1, t_max_s=0.3,
        t_fixed_s=0.2))
    run(timer, synthetic(expelled, noise=0.008, seed=3))
    r = timer.result()
    assert r.expulsion and r.expulsions == 1
    assert r.t_expulsion_s == pytest.approx(0.15, abs=0.003)
    # The same curve without the drop, same noise: no expulsion.
    quiet = AdaptiveWeldTimer(timer.reference)
    run(quiet, synthetic(alpha_beta, noise=0.008, seed=3))
    assert not quiet.result().expulsion


def test_detects_expulsion_in_simulated_welds(reference: SpotReference) -> None:
    conds = conditions(10, seed=5, current_ka=10.6)
    timers = [AdaptiveWeldTimer(reference.with_updates(heat_after_peak_j=1e6))
              for _ in conds]
    outs = simulate_batch(conds, timers, reference.t_max_s)
    truth = [o.expelled for o in outs]
    seen = [tm.result().expulsion for tm in timers]
    assert sum(truth) >= 8
    assert seen == truth
    for o, tm in zip(outs, timers, strict=True):
        if o.expelled:
            assert tm.result().t_expulsion_s == pytest.approx(o.t_expulsion_s, abs=0.004)


def test_stop_on_expulsion() -> None:
    def expelled(t: float) -> float:
        return alpha_beta(t) * (0.85 if t >= 0.15 else 1.0)

    ref = SpotReference(heat_after_peak_j=1e9, r_beta_uohm=110.0, t_beta_s=0.1,
                        t_min_s=0.1, t_max_s=0.3, t_fixed_s=0.2,
                        config=TimerConfig(stop_on_expulsion=True))
    timer = AdaptiveWeldTimer(ref)
    assert run(timer, synthetic(expelled)) == pytest.approx(0.151, abs=0.003)
    assert timer.result().stop_reason is StopReason.EXPULSION


def test_fixed_mode_and_latched_stop(reference: SpotReference) -> None:
    timer = AdaptiveWeldTimer(reference.with_updates(mode="fixed"))
    curve = synthetic(alpha_beta)
    assert run(timer, curve) == pytest.approx(reference.t_fixed_s)
    assert timer.result().stop_reason is StopReason.FIXED_TIME
    assert timer.result().beta_found  # features still reported
    assert timer.step(0.5, 9.0, 1.0) is True  # stays stopped
    timer.reset()
    assert not timer.stopped and timer.result().samples == 0


def test_bad_samples_are_skipped_and_counted() -> None:
    ref = SpotReference(heat_after_peak_j=1e9, r_beta_uohm=110.0, t_beta_s=0.1,
                        t_min_s=0.1, t_max_s=0.3, t_fixed_s=0.2)
    timer = AdaptiveWeldTimer(ref)
    t, i, u = synthetic(alpha_beta, t_end=0.05)
    timer.step(t[0], i[0], u[0])
    timer.step(t[0], i[0], u[0])  # duplicate time
    timer.step(t[1], math.nan, u[1])  # lost current sample
    timer.step(math.nan, i[2], u[2])  # lost time stamp
    for k in range(2, len(t)):
        timer.step(t[k], i[k], u[k])
    r = timer.result()
    assert r.bad_samples == 3 and r.samples == len(t) - 1
    clean = analyse_curve((t, i, u))
    assert r.energy_j == pytest.approx(clean.energy_j, rel=0.01)


def test_learning_needs_good_welds(good_welds: list[WeldOutcome]) -> None:
    curves = [WeldCurve(o.t_s, o.current_ka, o.voltage_v) for o in good_welds[:6]]
    with pytest.raises(SpotReferenceError, match="no good weld"):
        learn_reference(curves, [False] * 6)
    with pytest.raises(SpotReferenceError, match="one each"):
        learn_reference(curves, [True] * 5)
    with pytest.raises(SpotReferenceError, match="differ in length"):
        WeldCurve([0.001, 0.002], [9.0], [1.0, 1.0])
    few = learn_reference(curves, [True, True, False, False, False, False])
    assert few.mode == "fixed" and few.t_fixed_s == pytest.approx(WELD_TIME_S)
    assert "fixed time" in few.notes[0]


def test_target_nugget_scales_heat(good_welds: list[WeldOutcome]) -> None:
    curves = [(o.t_s, o.current_ka, o.voltage_v) for o in good_welds]
    ok = [o.ok for o in good_welds]
    d = [o.nugget_mm for o in good_welds]
    base = learn_reference(curves, ok)
    smaller = learn_reference(curves, ok, nugget_mm=d, target_nugget_mm=0.9 * float(np.median(d)))
    assert smaller.heat_after_peak_j == pytest.approx(0.81 * base.heat_after_peak_j, rel=1e-6)


def test_reference_round_trips_through_json(reference: SpotReference) -> None:
    text = json.dumps(reference.to_dict())
    again = SpotReference.from_dict(json.loads(text))
    assert again == reference or again.to_dict() == reference.to_dict()
    with pytest.raises(SpotReferenceError):
        SpotReference.from_dict({"heat_after_peak_j": 1.0})
    with pytest.raises(SpotReferenceError):
        SpotReference(heat_after_peak_j=1.0, r_beta_uohm=1.0, t_beta_s=0.1, t_min_s=0.3,
                      t_max_s=0.2, t_fixed_s=0.25)


def test_faster_sampling_gives_the_same_decision(reference: SpotReference) -> None:
    """The reference learned at 1 kHz works on a 5 kHz stream (filters use the real dt)."""
    from ironfield.apps.welding.simulator import simulate

    w = conditions(1, seed=8, electrode_face_mm=6.3)[0]
    slow = simulate(w, AdaptiveWeldTimer(reference), reference.t_max_s)
    fast = simulate(w, AdaptiveWeldTimer(reference), reference.t_max_s, rate_hz=5000.0)
    assert fast.duration_s == pytest.approx(slow.duration_s, abs=0.006)
    assert fast.nugget_mm == pytest.approx(slow.nugget_mm, abs=0.1)


def test_the_documented_example_runs() -> None:
    from pathlib import Path

    doc = Path(__file__).resolve().parents[3] / "docs" / "welding.md"
    blocks = doc.read_text(encoding="utf-8").split("```python")[1:]
    example = blocks[1].split("```")[0]
    printed: list[tuple[object, ...]] = []
    exec(example, {"print": lambda *a: printed.append(a)})  # our own doc, run as written
    duration, nugget, reason = printed[0]
    assert duration == pytest.approx(0.27, abs=0.002)
    assert nugget == pytest.approx(4.71, abs=0.02)
    assert reason is StopReason.HEAT
