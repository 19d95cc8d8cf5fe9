"""Validation of the plant file's alarms section: strict, with the rule and field named."""

from __future__ import annotations

from typing import Any

import pytest

from ironfield.alarms import AlarmRuleError, parse_rules
from ironfield.alarms.rules import DeviationRule, ExpressionRule, LimitRule, StaleRule
from ironfield.alarms.testing import AlarmHarness as Rig
from ironfield.core.plant import parse_plant

LEVEL = "plant/area/tank-1/level_m"


def problems(raw: list[dict[str, Any]]) -> list[tuple[str, str]]:
    with pytest.raises(AlarmRuleError) as ei:
        parse_rules(raw)
    return ei.value.problems


def test_a_good_rule_with_defaults_and_overrides() -> None:
    [rule] = parse_rules([{"id": "t1", "type": "limit", "signal": LEVEL, "hh": 9,
                           "h": {"limit": 8, "priority": "high", "on_delay": "500ms"},
                           "deadband": 0.5, "off_delay": 2}])
    assert isinstance(rule, LimitRule)
    assert rule.off_delay == 2_000_000_000 and rule.h is not None
    assert rule.h.on_delay == 500_000_000 and rule.hh is not None and rule.hh.limit == 9.0
    assert [n for n, _ in rule.levels()] == ["HH", "H"]


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"id": "a", "type": "limit", "signal": LEVEL, "h": 5, "deadbnd": 1},
         "alarms[0].deadbnd", "unknown field"),
        ({"id": "a", "type": "limit", "signal": LEVEL}, "alarms[0]", "at least one of hh, h, l, ll"),
        ({"id": "a", "type": "limit", "signal": LEVEL, "h": 5, "hh": 4}, "alarms[0]",
         "H=5.0 is not below HH=4.0"),
        ({"id": "a", "type": "limit", "signal": LEVEL, "h": {"limt": 5}}, "alarms[0].h.limt",
         "unknown field"),
        ({"id": "a", "type": "limit", "signal": LEVEL, "h": "high"}, "alarms[0].h",
         "expected a number or a mapping"),
        ({"id": "a", "type": "limit", "signal": LEVEL, "h": 5, "priority": "critical"},
         "alarms[0].priority", "'urgent', 'high', 'medium' or 'low'"),
        ({"id": "a", "type": "limit", "signal": LEVEL, "h": 5, "deadband": -1},
         "alarms[0].deadband", "greater than or equal to 0"),
        ({"id": "a", "type": "limit", "signal": "no slash", "h": 5}, "alarms[0].signal", "bad path"),
        ({"id": "a", "type": "limit", "signal": LEVEL, "h": 5, "on_delay": "5 parsecs"},
         "alarms[0].on_delay", "not a duration"),
        ({"id": "a", "type": "laser", "signal": LEVEL}, "alarms[0]", "unknown rule type 'laser'"),
        ({"id": "a", "signal": LEVEL}, "alarms[0]", "'type' is missing"),
        ({"type": "stale", "signal": LEVEL, "timeout": "10s"}, "alarms[0].id", "required field"),
        ({"id": "a", "type": "stale", "signal": LEVEL, "timeout": 0}, "alarms[0].timeout",
         "positive duration"),
        ({"id": "a", "type": "rate", "signal": LEVEL, "limit": -2}, "alarms[0].limit",
         "greater than 0"),
        ({"id": "a", "type": "state", "signal": LEVEL, "states": [99]}, "alarms[0].states",
         "outside 0..63"),
        ({"id": "a", "type": "expression", "expr": "x/y >"}, "alarms[0].expr",
         "at position 5"),
        ({"id": "a", "type": "expression", "expr": "__import__('os')"}, "alarms[0].expr",
         "unknown function '__import__'"),
        ({"id": "a", "type": "limit", "signal": LEVEL, "h": 1, "suppress_when": "run = 0"},
         "alarms[0].suppress_when", "unexpected character '='"),
        ({"id": "a b", "type": "limit", "signal": LEVEL, "h": 1}, "alarms[0].id", "pattern"),
    ],
)
def test_errors_name_the_rule_and_field(raw: dict[str, Any], field: str, words: str) -> None:
    found = problems([raw])
    assert any(f == field and words in m for f, m in found), found
    if "id" in raw:
        assert all(f"rule {raw['id']!r}" in m for _, m in found)


def test_every_problem_is_reported_at_once_and_ids_must_be_unique() -> None:
    found = problems([
        {"id": "a", "type": "limit", "signal": LEVEL, "h": 5},
        {"id": "b", "type": "limit", "signal": LEVEL, "x": 1, "h": 5},
        {"id": "a", "type": "stale", "signal": LEVEL, "timeout": 5},
        "not a mapping",  # type: ignore[list-item]
    ])
    assert [f for f, _ in found] == ["alarms[1].x", "alarms[2].id", "alarms[3]"]
    assert "already used by alarms[0]" in found[1][1]


def test_brace_ranges_write_one_rule_for_many_robots() -> None:
    rules = parse_rules([{"id": "i-dev", "type": "deviation",
                          "signal": "hq/shop/line-3/robot-{008..011}/current_ka",
                          "setpoint": "hq/shop/line-3/robot-{008..011}/current_sp_ka", "limit": 0.8}])
    assert [r.id for r in rules] == ["i-dev.robot-008", "i-dev.robot-009", "i-dev.robot-010",
                                     "i-dev.robot-011"]
    assert isinstance(rules[2], DeviationRule)
    assert rules[2].signal == "hq/shop/line-3/robot-010/current_ka"
    assert rules[2].setpoint == "hq/shop/line-3/robot-010/current_sp_ka"


def test_brace_ranges_in_expressions_and_aliases() -> None:
    rules = parse_rules([
        {"id": "dry", "type": "expression",
         "expr": "run == 1 and 'hq/shop/pump-{1..3}/flow' < 2",
         "signals": {"run": "hq/shop/pump-{1..3}/running"}},
    ])
    assert [r.id for r in rules] == ["dry.pump-1", "dry.pump-2", "dry.pump-3"]
    assert isinstance(rules[1], ExpressionRule)
    assert rules[1].expr == "run == 1 and 'hq/shop/pump-2/flow' < 2"
    assert rules[1].signals == {"run": "hq/shop/pump-2/running"}
    # A mistake in a range is reported once, not once per item.
    found = problems([{"id": "bad", "type": "limit", "signal": "hq/shop/pump-{1..3}/flow",
                       "h": 5, "hx": 1}])
    assert found == [("alarms[0].hx", "rule 'bad': unknown field (check the spelling)")]


def test_unknown_signals_and_state_names_are_reported_when_the_engine_is_built() -> None:
    with pytest.raises(AlarmRuleError) as ei:
        Rig([
            {"id": "ok", "type": "stale", "signal": LEVEL, "timeout": 5},
            {"id": "typo", "type": "limit", "signal": "plant/area/tank-1/levl_m", "h": 5},
            {"id": "st", "type": "state", "signal": "plant/area/tank-1/pump_state",
             "states": ["tripped"]},
            {"id": "ex", "type": "expression", "expr": "plant/area/tank-9/x > 1"},
            {"id": "const", "type": "expression", "expr": "1 > 0"},
        ])
    assert ei.value.problems == [
        ("alarms[1].signal", "rule 'typo': unknown signal 'plant/area/tank-1/levl_m'"),
        ("alarms[2].states", "rule 'st': signal 'plant/area/tank-1/pump_state' has no state "
                             "named 'tripped' (its states: off, on, trip)"),
        ("alarms[3].expr", "rule 'ex': unknown signal 'plant/area/tank-9/x'"),
        ("alarms[4].expr", "rule 'const': the expression reads no signal"),
    ]


def test_build_errors_point_at_the_written_rule_not_its_expansion() -> None:
    with pytest.raises(AlarmRuleError) as ei:
        Rig([
            {"id": "many", "type": "stale", "signal": "plant/area/tank-{1..2}/level_m",
             "timeout": 5},
            {"id": "typo", "type": "limit", "signal": "plant/area/tank-1/levl_m", "h": 5},
        ])
    assert [f for f, _ in ei.value.problems] == ["alarms[1].signal"]


def test_rules_straight_from_a_plant_file() -> None:
    plant = parse_plant("""
plant: demo
sites:
  - id: plant
    areas:
      - id: area
        equipment:
          - id: tank-1
            signals: [{name: level_m, unit: m}, {name: flow_m3h}]
alarms:
  - id: tank-1-level
    type: limit
    signal: plant/area/tank-1/level_m
    hh: {limit: 9.5, priority: urgent}
    h: 9.0
    deadband: 0.2
    on_delay: 5s
  - id: tank-1-flow-stale
    type: stale
    signal: plant/area/tank-1/flow_m3h
    timeout: 1min
""")
    rules = parse_rules(plant.alarms)
    assert isinstance(rules[1], StaleRule) and rules[1].timeout == 60_000_000_000
