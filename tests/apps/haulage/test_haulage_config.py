"""Plant-file models: a valid layout loads; a broken one says what is wrong."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ironfield.apps.haulage.config import HaulageConfig
from ironfield.apps.haulage.demo import demo_mine
from ironfield.apps.haulage.network import NoRouteError


def _layout(**over: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "nodes": [
            {"id": "L1", "kind": "loader", "x_m": 0, "y_m": 0, "rate_tph": 500},
            {"id": "C", "kind": "crusher", "x_m": 1000, "y_m": 0, "rate_tph": 800},
            {"id": "J", "kind": "junction", "x_m": 500, "y_m": 0},
        ],
        "segments": [
            {"a": "L1", "b": "J", "length_m": 500, "grade_pct": -3},
            {"a": "J", "b": "C", "length_m": 500, "grade_pct": -3},
        ],
        "truck_models": [{"name": "T", "empty_mass_t": 60, "payload_t": 90,
                          "battery_kwh": 400, "motor_power_kw": 800, "regen_power_kw": 800}],
        "trucks": [{"id": "t1", "model": "T"}],
    }
    d.update(over)
    return d


def test_valid_layout_and_routes() -> None:
    cfg = HaulageConfig.model_validate(_layout())
    net = cfg.network()
    r = net.route("L1", "C", loaded=True)
    assert [leg.segment for leg in r.legs] == ["L1->J", "J->C"]
    assert r.rise_m < 0
    back = net.route("C", "L1", loaded=False)
    assert all(leg.grade > 0 for leg in back.legs)
    assert cfg.truck_model("t1").payload_t == 90


def test_demo_mine_is_valid_and_downhill() -> None:
    cfg = demo_mine()
    net = cfg.network()
    for ld in net.loaders:
        assert net.route(ld, "crusher", loaded=True).rise_m < -100  # ore goes down


def test_disconnected_graph_names_the_island() -> None:
    d = _layout()
    d["nodes"].append({"id": "L2", "kind": "loader", "x_m": 0, "y_m": 900, "rate_tph": 300})
    with pytest.raises(ValidationError, match=r"disconnected: L2 not connected"):
        HaulageConfig.model_validate(d)


def test_loader_without_route_to_a_dump() -> None:
    d = _layout()
    d["nodes"].append({"id": "L2", "kind": "loader", "x_m": 0, "y_m": 900, "rate_tph": 300})
    # a one-way road *into* L2: it is connected but nothing loaded can leave it
    d["segments"].append({"a": "J", "b": "L2", "length_m": 400, "two_way": False})
    with pytest.raises(ValidationError, match=r"loader 'L2' has no route to any dump"):
        HaulageConfig.model_validate(d)


def test_unknown_references_are_named() -> None:
    d = _layout(trucks=[{"id": "t9", "model": "nope"}])
    d["segments"].append({"a": "J", "b": "X", "length_m": 10})
    with pytest.raises(ValidationError) as e:
        HaulageConfig.model_validate(d)
    msg = str(e.value)
    assert "segment 'J->X' joins unknown node 'X'" in msg
    assert "truck 't9' names unknown truck model 'nope'" in msg


def test_loader_needs_a_rate() -> None:
    d = _layout()
    del d["nodes"][0]["rate_tph"]
    with pytest.raises(ValidationError, match="node 'L1' .*needs rate_tph"):
        HaulageConfig.model_validate(d)


def test_no_route_error() -> None:
    d = _layout()
    d["segments"][0]["two_way"] = False
    d["segments"][1]["two_way"] = False
    with pytest.raises(ValidationError, match="cannot be reached empty"):
        HaulageConfig.model_validate(d)
    net = HaulageConfig.model_validate(_layout()).network()
    with pytest.raises(NoRouteError):
        net.route("L1", "nowhere", loaded=True)
