"""Upper-stage LP: a feasible plan respects every limit; an infeasible one says why."""

from __future__ import annotations

import pytest

from ironfield.apps.haulage.lp import (
    DumpSpec,
    InfeasiblePlanError,
    LoaderSpec,
    PathSpec,
    plan_flows,
)

LOADERS = [LoaderSpec("L1", 1000, grade_pct=60), LoaderSpec("L2", 800, grade_pct=40)]
PATHS = [PathSpec("L1", "C", 0.5, 100), PathSpec("L2", "C", 0.4, 100),
         PathSpec("L1", "W", 0.3, 100), PathSpec("L2", "W", 0.3, 100)]


def test_loader_limited_plan_uses_short_paths() -> None:
    p = plan_flows(LOADERS, [DumpSpec("C", 5000), DumpSpec("W", 5000)], PATHS, 50)
    assert p.feasible
    assert p.total_tph == pytest.approx(1800)
    assert p.flows_tph[("L1", "W")] == pytest.approx(1000)  # shorter cycle than to C
    assert any("L1" in b for b in p.binding) and any("L2" in b for b in p.binding)


def test_truck_hours_bind() -> None:
    p = plan_flows(LOADERS, [DumpSpec("C", 5000), DumpSpec("W", 5000)], PATHS, 3)
    # 3 trucks, 0.3 h per 100 t trip: at most 1000 t/h
    assert p.total_tph == pytest.approx(1000)
    assert p.truck_hours_per_h == pytest.approx(3)
    assert "3 trucks available" in p.binding


def test_blend_window_holds() -> None:
    p = plan_flows(LOADERS, [DumpSpec("C", 1500, blend_min_pct=50, blend_max_pct=55)],
                   PATHS[:2], 50)
    assert p.feasible
    grade = (60 * p.flows_tph[("L1", "C")] + 40 * p.flows_tph[("L2", "C")]) / p.total_tph
    assert 50 - 1e-6 <= grade <= 55 + 1e-6
    assert p.total_tph == pytest.approx(1500)


def test_infeasible_min_feed_names_the_conflict() -> None:
    p = plan_flows(LOADERS, [DumpSpec("C", 3000, min_feed_tph=2500)], PATHS[:2], 50)
    assert not p.feasible
    text = "; ".join(p.conflicts)
    assert "'C' needs >= 2500 t/h feed cannot hold: short by 700 t/h" in text
    assert "loader 'L1' digs at most 1000 t/h" in text  # what binds it
    with pytest.raises(InfeasiblePlanError, match="short by 700"):
        p.raise_if_infeasible()
    # the dispatcher can still run on the elastic plan: both loaders flat out
    assert p.total_tph == pytest.approx(1800)


def test_infeasible_blend_is_named() -> None:
    # no loader digs 65 % ore: the crusher can only meet the window by not running,
    # which its minimum feed forbids
    p = plan_flows(LOADERS, [DumpSpec("C", 1500, min_feed_tph=500, blend_min_pct=65)],
                   PATHS[:2], 50)
    assert not p.feasible
    assert any("'C' blend >= 65 %" in c or "'C' needs >= 500 t/h" in c for c in p.conflicts)
    # without the minimum feed the plan is feasible but empty: that is the LP's answer
    assert plan_flows(LOADERS, [DumpSpec("C", 1500, blend_min_pct=65)], PATHS[:2],
                      50).total_tph == pytest.approx(0)


def test_target_beyond_truck_hours() -> None:
    p = plan_flows(LOADERS, [DumpSpec("C", 5000), DumpSpec("W", 5000)], PATHS, 2,
                   target_tph=1500)
    assert not p.feasible
    text = "; ".join(p.conflicts)
    assert "plan target 1500 t/h cannot hold" in text and "2 trucks available" in text
