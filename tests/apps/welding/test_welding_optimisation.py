"""Central optimisation: electrode wear model, stepper, and reference learning from QA."""

from __future__ import annotations

import numpy as np
import pytest

from apps.welding.welding_cases import conditions
from ironfield.apps.welding.electrode import LinearStepper, WearModel
from ironfield.apps.welding.reference import SpotLearner, UnknownWeldError
from ironfield.apps.welding.simulator import integrate
from ironfield.apps.welding.timing import SpotReference, StopReason, TimerResult, analyse_curve


def test_linear_stepper() -> None:
    s = LinearStepper(increase=0.08, over_welds=200)
    assert s.factor(0) == 1.0
    assert s.factor(100) == pytest.approx(1.04)
    assert s.factor(500) == pytest.approx(1.08)


def test_wear_model_reads_face_growth_from_resistance_drift() -> None:
    """Faces growing 6.0 -> 6.6 mm: the beta-peak drift shows it (within 0.2 mm, the fresh
    level being the median of the first ten welds); past the limit a dress is requested."""
    faces = np.linspace(6.0, 6.6, 13)
    conds = [c for f in faces for c in conditions(3, seed=int(f * 100),
                                                  electrode_face_mm=float(f), current_ka=9.5)]
    tr = integrate(conds, 0.3)
    model = WearModel(6.0, face_limit_mm=6.4, growth_per_weld=0.0, drift_weight=1.0,
                      smoothing=0.5)
    estimates = []
    for k, f in enumerate(np.repeat(faces, 3)):
        r = analyse_curve((tr.t_s, tr.current_ka[k], tr.voltage_v[k]))
        assert r.beta_found
        model.record(r.r_beta_uohm)
        estimates.append((f, model.face_est_mm()))
    late = [(f, e) for f, e in estimates[15:]]
    assert all(abs(e - f) < 0.2 for f, e in late), late
    advice = model.advice()
    assert advice.dress_requested and "limit" in advice.reason
    assert advice.current_factor > 1.05 and advice.life_used == 1.0
    model.dressed()
    assert model.welds == 0 and not model.advice().dress_requested


def test_wear_model_count_prior_and_ceiling() -> None:
    m = WearModel(6.0, growth_per_weld=5e-4, exponent=2.0, max_factor=1.04, max_welds=1000)
    for _ in range(100):
        m.record(None)
    a = m.advice()
    assert a.face_est_mm == pytest.approx(6.0 * np.sqrt(1.05))
    assert a.current_factor == pytest.approx(1.04) and "ceiling" in a.reason


REF = SpotReference(heat_after_peak_j=700.0, r_beta_uohm=110.0, t_beta_s=0.1,
                    t_min_s=0.1, t_max_s=0.3, t_fixed_s=0.2)


def result(heat: float = 700.0, t_stop: float = 0.2, scale: float = 1.0) -> TimerResult:
    return TimerResult(
        stop_reason=StopReason.HEAT, t_stop_s=t_stop, samples=200, bad_samples=0,
        energy_j=1400.0, heat_after_peak_j=heat, heat_target_j=heat, heat_scale=scale,
        t_alpha_s=0.03, r_alpha_uohm=50.0, beta_found=True, t_beta_s=0.11,
        r_beta_uohm=110.0 / scale, r_end_uohm=95.0, expulsion=False,
        t_expulsion_s=float("nan"), expulsions=0,
    )


def test_qa_moves_the_heat_target_and_is_audited() -> None:
    lrn = SpotLearner("spot-1", REF, gain=0.5, refresh_every=1000)
    lrn.observe("w-1", result(), passed=True, ts_ns=1)
    up = lrn.qa("w-1", nugget_mm=4.5, d_nominal_mm=5.0, ts_ns=2)
    assert up is not None and up.after["heat_after_peak_j"] > up.before["heat_after_peak_j"]
    assert "nugget 4.50 mm" in up.reason
    lrn.observe("w-2", result(), passed=True, ts_ns=3)
    down = lrn.qa("w-2", nugget_mm=5.5, d_nominal_mm=5.0, expelled=True, ts_ns=4)
    assert down is not None
    assert down.after["heat_after_peak_j"] < down.before["heat_after_peak_j"]
    assert [u.ts_ns for u in lrn.history] == [2, 4]
    with pytest.raises(UnknownWeldError, match="w-404"):
        lrn.qa("w-404", nugget_mm=5.0, d_nominal_mm=5.0, ts_ns=5)


def test_passing_welds_refresh_the_fixed_time_fallback() -> None:
    lrn = SpotLearner("spot-1", REF, refresh_every=30, min_passing=20)
    update = None
    for k in range(30):
        update = lrn.observe(f"w-{k}", result(t_stop=0.23), passed=True, ts_ns=k) or update
    assert update is not None
    assert lrn.reference.t_fixed_s == pytest.approx(0.23)
    assert update.before["t_fixed_s"] == 0.2 and update.after["t_fixed_s"] == 0.23


def test_qa_results_steer_the_nugget_towards_nominal(reference: SpotReference) -> None:
    """Closed loop on the simulator: a reference copied from an oversized fixed schedule
    is pulled towards the 5·√t nugget by chisel results on a few welds per batch."""
    from apps.welding.welding_cases import STACK
    from ironfield.apps.welding.simulator import simulate_batch
    from ironfield.apps.welding.timing import AdaptiveWeldTimer

    lrn = SpotLearner("spot-1", reference, gain=0.5, refresh_every=10_000)
    nominal = STACK.d_nominal_mm
    means = []
    for batch in range(8):
        conds = conditions(12, seed=100 + batch)
        timers = [AdaptiveWeldTimer(lrn.reference) for _ in conds]
        outs = simulate_batch(conds, timers, lrn.reference.t_max_s)
        means.append(float(np.mean([o.nugget_mm for o in outs])))
        for k, (o, tm) in enumerate(zip(outs, timers, strict=True)):
            wid = f"w-{batch}-{k}"
            lrn.observe(wid, tm.result(), passed=True, ts_ns=batch * 100 + k)
            if k < 3:  # QA chisels three welds of every batch
                lrn.qa(wid, nugget_mm=o.nugget_mm, d_nominal_mm=nominal,
                       expelled=o.expelled, ts_ns=batch * 100 + k)
    assert abs(means[0] - nominal) > 0.25  # the copied reference starts off nominal
    assert abs(means[-1] - nominal) < 0.5 * abs(means[0] - nominal)
    assert len(lrn.history) >= 8 and all(u.reason.startswith("QA of") for u in lrn.history)
