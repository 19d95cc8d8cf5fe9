"""Weld records and QA results: bad input is rejected or flagged with its reason."""

from __future__ import annotations

import math
from typing import Any

import pytest

from apps.welding.welding_cases import CURRENT_KA, FORCE_KN, STACK, WELD_TIME_S
from ironfield.apps.welding.model import Schedule
from ironfield.apps.welding.records import (
    RecordCheck,
    WeldRecord,
    check_qa,
    parse_records,
    record_from_outcome,
)
from ironfield.apps.welding.simulator import WeldOutcome

SPOTS = {"body/side-l/spot-0042"}
SCHEDULE = Schedule(current_ka=CURRENT_KA, weld_time_s=WELD_TIME_S, force_kn=FORCE_KN)


@pytest.fixture
def good(good_welds: list[WeldOutcome]) -> dict[str, Any]:
    rec = record_from_outcome(
        good_welds[0], weld_id="w-1", robot="robot-112", gun="gun-1",
        spot_id="body/side-l/spot-0042", stackup=STACK, schedule=SCHEDULE,
        start_ns=1_700_000_000_000_000_000,
    )
    return rec.model_dump(mode="json")


def one(raw: dict[str, Any], **limits: float) -> RecordCheck:
    return parse_records([raw], SPOTS, **limits)[0]


def codes(c: RecordCheck) -> set[str]:
    return {i.code for i in c.issues}


def test_good_record_accepted_and_learnable(good: dict[str, Any]) -> None:
    c = one(good)
    assert c.accepted and c.learnable, c.reasons()
    assert isinstance(c.record, WeldRecord)
    assert c.record.curves.resistance_uohm().shape == (200,)


def test_unknown_spot_rejected(good: dict[str, Any]) -> None:
    c = one({**good, "spot_id": "body/side-l/spot-9999"})
    assert not c.accepted and codes(c) == {"unknown_spot"}
    assert "spot-9999" in c.reasons()[0]


def test_missing_samples(good: dict[str, Any]) -> None:
    curves = dict(good["curves"])
    few = dict(curves, current_ka=list(curves["current_ka"]))
    few["current_ka"][50] = None
    c = one({**good, "curves": few})
    assert c.accepted and not c.learnable and codes(c) == {"missing_samples"}
    many = dict(curves, voltage_v=[None if k % 10 == 0 else v
                                   for k, v in enumerate(curves["voltage_v"])])
    assert not one({**good, "curves": many}).accepted
    short = dict(curves, current_ka=curves["current_ka"][:150],
                 voltage_v=curves["voltage_v"][:150])
    c = one({**good, "curves": short})
    assert not c.accepted and "expected 200" in c.reasons()[0]
    ragged = dict(curves, voltage_v=curves["voltage_v"][:199])
    c = one({**good, "curves": ragged})
    assert not c.accepted and "equally long" in c.reasons()[0]


def test_saturated_sensor_flagged(good: dict[str, Any]) -> None:
    curves = dict(good["curves"])
    clipped = [min(v, 9.0) if k > 20 else v for k, v in enumerate(curves["current_ka"])]
    clipped = [9.0 if k in range(100, 120) else v for k, v in enumerate(clipped)]
    c = one({**good, "curves": dict(curves, current_ka=clipped)}, current_full_scale_ka=9.0)
    assert c.accepted and not c.learnable
    assert "saturated" in codes(c)
    assert "current sensor sat at 9 kA" in " ".join(c.reasons())


def test_wrong_unit_rejected(good: dict[str, Any]) -> None:
    curves = dict(good["curves"])
    amps = [v * 1000.0 for v in curves["current_ka"]]
    c = one({**good, "curves": dict(curves, current_ka=amps)})
    assert not c.accepted and "wrong_unit" in codes(c)
    assert "looks like A" in " ".join(c.reasons())
    mv = [v * 1000.0 for v in curves["voltage_v"]]
    c = one({**good, "curves": dict(curves, voltage_v=mv)})
    assert not c.accepted and "looks like mV" in " ".join(c.reasons())


def test_energy_mismatch_flagged(good: dict[str, Any]) -> None:
    c = one({**good, "energy_j": good["energy_j"] * 2})
    assert c.accepted and codes(c) == {"energy_mismatch"}


def test_structurally_bad_record_rejected_without_blocking_others(
    good: dict[str, Any],
) -> None:
    batch = [
        {**good, "weld_id": "w-bad", "duration_s": -0.2},
        {**good, "weld_id": "w-2"},
        {"weld_id": "w-junk"},
        "not even a mapping",
        {**good, "weld_id": "w-3", "spot_id": "nowhere"},
        {**good, "weld_id": "w-4"},
    ]
    checks = parse_records(batch, SPOTS)  # type: ignore[arg-type]
    assert [c.ref for c in checks] == ["w-bad", "w-2", "w-junk", "#3", "w-3", "w-4"]
    assert [c.accepted for c in checks] == [False, True, False, False, False, True]
    assert "duration_s" in checks[0].reasons()[0]


def test_qa_for_a_weld_that_does_not_exist() -> None:
    qa = {"weld_id": "w-404", "method": "chisel", "nugget_mm": 4.8, "ts_ns": 1}
    c = check_qa(qa, known_welds={"w-1"})
    assert not c.accepted and "does not exist" in c.reasons()[0]
    assert check_qa({**qa, "weld_id": "w-1"}, known_welds={"w-1"}).accepted
    bad = check_qa({**qa, "weld_id": "w-1", "method": "x-ray", "nugget_mm": math.nan},
                   known_welds={"w-1"})
    assert not bad.accepted and len(bad.issues) >= 1
