"""The learned-reference snapshot: written whole or not at all, read back equal, and a
damaged file named rather than fatal."""

from __future__ import annotations

import json
from pathlib import Path

from ironfield.apps.welding.persist import load_references, references_path, save_references
from ironfield.apps.welding.timing_types import ResistanceBand, SpotReference


def _ref(t_fixed: float) -> SpotReference:
    return SpotReference(heat_after_peak_j=812.5, r_beta_uohm=161.0, t_beta_s=0.061, t_min_s=0.08,
                         t_max_s=0.3, t_fixed_s=t_fixed, n_welds=25, spot_id="s",
                         band=ResistanceBand((0.01, 0.02), (150.0, 155.0), (152.0, 158.0), (155.0, 161.0)))


def test_round_trip_and_atomic_replace(tmp_path: Path) -> None:
    path = references_path(tmp_path)
    assert load_references(path) == ({}, [])  # nothing saved yet: nothing to restore
    refs = {"area/line-1/robot-001/spot-01": _ref(0.2), "area/line-1/robot-001/spot-02": _ref(0.18)}
    save_references(path, refs)
    save_references(path, {**refs, "area/line-1/robot-001/spot-02": _ref(0.19)})
    back, problems = load_references(path)
    assert problems == []
    assert {k: v.to_dict() for k, v in back.items()} == {
        "area/line-1/robot-001/spot-01": _ref(0.2).to_dict(), "area/line-1/robot-001/spot-02": _ref(0.19).to_dict()}
    assert not list(path.parent.glob("*.tmp"))


def test_damaged_snapshots_are_named(tmp_path: Path) -> None:
    path = references_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text('{"format": 1, "references": {"a/spot-01": ')  # cut short by a full disk
    refs, problems = load_references(path)
    assert refs == {} and "not readable" in problems[0] and str(path) in problems[0]
    path.write_text(json.dumps({"format": 1, "references": {
        "a/spot-01": _ref(0.2).to_dict(), "a/spot-02": {"t_fixed_s": 0.2}, "a/spot-03": [1, 2]}}))
    refs, problems = load_references(path)
    assert list(refs) == ["a/spot-01"]
    assert [p.split(":")[0] for p in problems] == ["a/spot-02", "a/spot-03"]
    path.write_text(json.dumps({"references": []}))
    refs, problems = load_references(path)
    assert refs == {} and "format-1" in problems[0]
