"""SPC per spot, fault-detection scoring and the statistics behind them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from ironfield.apps.welding.faults import FaultDetector, score_detection
from ironfield.apps.welding.spc import (
    MONTGOMERY,
    SpotChart,
    capability,
    constants,
    xbar_r_limits,
)
from ironfield.apps.welding.stats import cluster_bootstrap, wilson_interval
from ironfield.apps.welding.timing import SpotReference, StopReason, TimerResult

# Montgomery, Introduction to Statistical Quality Control, Appendix VI (n: A2, D3, D4).
TEXTBOOK = {
    2: (1.880, 0.0, 3.267), 3: (1.023, 0.0, 2.574), 4: (0.729, 0.0, 2.282),
    5: (0.577, 0.0, 2.114), 6: (0.483, 0.0, 2.004), 7: (0.419, 0.076, 1.924),
    8: (0.373, 0.136, 1.864), 9: (0.337, 0.184, 1.816), 10: (0.308, 0.223, 1.777),
}


@pytest.mark.parametrize("n", sorted(TEXTBOOK))
def test_chart_constants_match_montgomery(n: int) -> None:
    c = constants(n)
    assert TEXTBOOK[n] == (c.A2, c.D3, c.D4)
    # The table is internally consistent: A2 = 3/(d2 √n), D3/D4 = 1 ∓ 3 d3/d2.
    assert pytest.approx(3 / (c.d2 * math.sqrt(n)), abs=0.0015) == c.A2
    assert pytest.approx(1 + 3 * c.d3 / c.d2, abs=0.002) == c.D4
    assert pytest.approx(max(0.0, 1 - 3 * c.d3 / c.d2), abs=0.002) == c.D3


@pytest.mark.parametrize("n", [2, 5, 10])
def test_d2_is_the_mean_range_of_normal_samples(n: int) -> None:
    """d2 = E[range of n standard normals] = ∫ 1 − Φ(x)^n − (1 − Φ(x))^n dx."""

    def integrand(x: float) -> float:
        p = float(stats.norm.cdf(x))
        return 1.0 - p**n - (1.0 - p) ** n

    d2, _ = integrate.quad(integrand, -10, 10)
    assert MONTGOMERY[n].d2 == pytest.approx(d2, abs=0.0006)


def test_xbar_r_limits_and_capability() -> None:
    rng = np.random.default_rng(0)
    groups = rng.normal(200.0, 4.0, size=(25, 5))
    lim = xbar_r_limits(groups.tolist())
    r = groups.max(axis=1) - groups.min(axis=1)
    assert lim.center_x == pytest.approx(groups.mean())
    assert lim.center_r == pytest.approx(r.mean())
    assert lim.ucl_x == pytest.approx(groups.mean() + 0.577 * r.mean())
    assert lim.ucl_r == pytest.approx(2.114 * r.mean()) and lim.lcl_r == 0.0
    assert lim.sigma == pytest.approx(4.0, rel=0.2)
    cap = capability(200.0, 4.0, lsl=176.0, usl=236.0)
    assert cap.cp == pytest.approx(60 / 24) and cap.cpk == pytest.approx(24 / 12)
    one_sided = capability(200.0, 4.0, lsl=188.0, usl=None)
    assert math.isnan(one_sided.cp) and one_sided.cpk == pytest.approx(1.0)
    with pytest.raises(ValueError, match="2..10"):
        constants(11)


def test_spot_chart_flags_a_shift() -> None:
    rng = np.random.default_rng(1)
    chart = SpotChart(n=5, phase1=20)
    for v in rng.normal(240.0, 3.0, 100):
        assert chart.add(float(v)) == []
    assert chart.limits is not None
    found = []
    for v in rng.normal(252.0, 3.0, 50):  # weld time drifts up by 4 sigma
        found += chart.add(float(v))
    assert any(v.rule == "x-bar beyond control limit" for v in found)
    cap = chart.capability(lsl=220.0, usl=260.0)
    assert cap is not None and cap.cpk > 1.0


def test_detection_scored_by_precision_and_recall() -> None:
    # 1000 welds, 4 % bad; a detector catching 30 of 40 with 10 false alarms.
    actual = [True] * 40 + [False] * 960
    predicted = [True] * 30 + [False] * 10 + [True] * 10 + [False] * 950
    s = score_detection(predicted, actual)
    assert (s.tp, s.fn, s.fp, s.tn) == (30, 10, 10, 950)
    assert s.precision == pytest.approx(0.75) and s.recall == pytest.approx(0.75)
    assert s.prevalence == pytest.approx(0.04)
    assert s.precision_ci[0] < 0.75 < s.precision_ci[1]
    # "Everything is fine" is 96 % accurate and has no recall at all.
    lazy = score_detection([False] * 1000, actual)
    assert lazy.recall == 0.0 and math.isnan(lazy.precision) and lazy.f1 == 0.0


def test_wilson_interval_known_value() -> None:
    lo, hi = wilson_interval(4, 100)
    assert lo == pytest.approx(0.0157, abs=5e-4) and hi == pytest.approx(0.0984, abs=5e-4)
    assert wilson_interval(0, 50)[0] == 0.0


def test_cluster_bootstrap_covers_the_mean() -> None:
    rng = np.random.default_rng(2)
    clusters = [rng.normal(10.0, 1.0, size=(50, 1)) for _ in range(20)]
    lo, hi = cluster_bootstrap(clusters, lambda a: float(a[:, 0].mean()), n_boot=500)
    assert lo < 10.0 < hi and hi - lo < 0.5


def _result(**kw: object) -> TimerResult:
    base: dict[str, object] = {
        "stop_reason": StopReason.HEAT, "t_stop_s": 0.2, "samples": 200, "bad_samples": 0,
        "energy_j": 1400.0, "heat_after_peak_j": 700.0, "heat_target_j": 700.0,
        "heat_scale": 1.0, "t_alpha_s": 0.03, "r_alpha_uohm": 50.0, "beta_found": True,
        "t_beta_s": 0.1, "r_beta_uohm": 110.0, "r_end_uohm": 95.0, "expulsion": False,
        "t_expulsion_s": math.nan, "expulsions": 0,
    }
    base.update(kw)
    return TimerResult(**base)  # type: ignore[arg-type]


def test_fault_detector_rules() -> None:
    ref = SpotReference(heat_after_peak_j=700.0, r_beta_uohm=110.0, t_beta_s=0.1,
                        t_min_s=0.1, t_max_s=0.3, t_fixed_s=0.2, energy_j=1400.0)
    det = FaultDetector(ref)
    assert not det.check(_result()).suspect
    assert "expulsion" in det.check(_result(expulsion=True, t_expulsion_s=0.15)).reasons[0]
    assert "no beta peak" in det.check(_result(beta_found=False)).reasons[0]
    short = det.check(_result(stop_reason=StopReason.MAX_TIME, heat_after_peak_j=400.0))
    assert short.suspect and "expected" in short.reasons[0]
    assert det.check(_result(r_beta_uohm=60.0, heat_after_peak_j=1200.0)).suspect
