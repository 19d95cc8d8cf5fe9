"""Compile validated rules into alarm records, point columns and signal indexes.

Signal paths are resolved against the registry here, once; an unknown signal or state name
is reported with the rule id and the field, like a validation error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ironfield.alarms import expr, expr_eval
from ironfield.alarms.errors import AlarmRuleError
from ironfield.alarms.lifecycle import AlarmRecord
from ironfield.alarms.points import (
    DEVIATION,
    EXPRESSION,
    LIMIT,
    RATE,
    STALE,
    STATE,
    Points,
    SignalIndex,
)
from ironfield.alarms.rules import (
    DeviationRule,
    ExpressionRule,
    LimitRule,
    RateRule,
    Rule,
    StaleRule,
    StateRule,
)
from ironfield.core.signals import SignalRegistry, parent
from ironfield.core.timeutil import NS_PER_S

Floats = npt.NDArray[np.float64]


@dataclass
class ExprGroup:
    """Rules whose expressions share one shape, evaluated together: one row per rule."""

    fn: expr_eval.Compiled
    sids: npt.NDArray[np.int64]  # rows x slots: the signal filling each slot
    targets: list[list[int]]  # per row: its expression point, or the points it suppresses
    state: npt.NDArray[np.bool_]  # per row: the last result (suppressing or not)
    point: npt.NDArray[np.int64] = field(init=False)  # per row: its first target

    def __post_init__(self) -> None:
        self.point = np.array([t[0] for t in self.targets], np.int64)


@dataclass
class Compiled:
    records: list[AlarmRecord]
    points: Points
    n_signals: int
    by_alarm: dict[str, int]
    by_rule: dict[str, list[int]]
    value_index: SignalIndex  # limit and state points by their signal
    rate_index: SignalIndex
    stale_index: SignalIndex
    stale_timeout: npt.NDArray[np.int64]  # per point [ns]; 0 where not a stale point
    dev_points: npt.NDArray[np.int64]
    dev_pv: npt.NDArray[np.int64]
    dev_sp: npt.NDArray[np.int64]
    expressions: list[ExprGroup]
    suppressions: list[ExprGroup]
    relevant: npt.NDArray[np.bool_]  # signals any rule reads
    last_value: Floats = field(repr=False)


class _Builder:
    def __init__(self, registry: SignalRegistry) -> None:
        self.registry = registry
        self.n_signals = len(registry.mapping()) and max(registry.mapping().values()) + 1
        self.last_value: Floats = np.full(self.n_signals, np.nan)
        self.records: list[AlarmRecord] = []
        self.rows: list[dict[str, float | int]] = []
        self.by_rule: dict[str, list[int]] = {}
        self.problems: list[tuple[str, str]] = []
        # shape -> (AST of the first rule of that shape, signal rows, target rows)
        self.expressions: dict[str, tuple[expr.Node, list[list[int]], list[list[int]]]] = {}
        self.suppressions: dict[str, tuple[expr.Node, list[list[int]], list[list[int]]]] = {}

    def sid(self, rule: Rule, fieldname: str, path: str) -> int:
        s = self.registry.get_id(path)
        if s is None:
            raise _Problem(fieldname, f"rule {rule.id!r}: unknown signal {path!r}")
        return s

    def group(self, groups: dict[str, tuple[expr.Node, list[list[int]], list[list[int]]]],
              rule: Rule, fieldname: str, node: expr.Node, targets: list[int]) -> None:
        key, paths = expr_eval.template(node)
        if not paths:
            raise _Problem(fieldname, f"rule {rule.id!r}: the expression reads no signal")
        sids = [self.sid(rule, fieldname, p) for p in paths]
        g = groups.setdefault(key, (node, [], []))
        g[1].append(sids)
        g[2].append(targets)

    def add(self, rule: Rule, kind: int, level: str, path: str | None, priority: str,
            limit: float | None, message: str, /, **cols: float | int) -> int:
        asset = rule.asset or (parent(path) if path else "")
        aid = rule.id if level in ("", kind_name(kind)) else f"{rule.id}.{level}"
        point = len(self.records)
        self.records.append(AlarmRecord(
            alarm_id=aid, rule_id=rule.id, kind=kind_name(kind), level=level or kind_name(kind),
            asset=asset, signal=path, priority=priority, limit=limit,
            message=message or rule.message,
        ))
        self.rows.append({"kind": kind, "on_delay": rule.on_delay, "off_delay": rule.off_delay}
                         | cols)
        self.by_rule.setdefault(rule.id, []).append(point)
        return point

    def rule(self, rule: Rule) -> None:
        if isinstance(rule, LimitRule):
            sid = self.sid(rule, "signal", rule.signal)
            for name, lv in rule.levels():
                self.add(rule, LIMIT, name, rule.signal, lv.priority or rule.priority, lv.limit,
                         lv.message or "", signal=sid, limit=lv.limit,
                         deadband=rule.deadband if lv.deadband is None else lv.deadband,
                         direction=1 if name in ("H", "HH") else -1,
                         on_delay=rule.on_delay if lv.on_delay is None else lv.on_delay,
                         off_delay=rule.off_delay if lv.off_delay is None else lv.off_delay)
        elif isinstance(rule, RateRule):
            sid = self.sid(rule, "signal", rule.signal)
            d = {"rising": 1, "falling": -1, "both": 0}[rule.direction]
            lim = -rule.limit if d < 0 else rule.limit  # falling: a low limit at -limit
            self.add(rule, RATE, "", rule.signal, rule.priority, lim, "", signal=sid,
                     limit=lim, deadband=rule.deadband, direction=d,
                     scale=rule.per / NS_PER_S)
        elif isinstance(rule, DeviationRule):
            sid = self.sid(rule, "signal", rule.signal)
            sp = self.sid(rule, "setpoint", rule.setpoint)
            d = {"high": 1, "low": -1, "both": 0}[rule.direction]
            lim = -rule.limit if d < 0 else rule.limit  # low: a low limit at -limit
            self.add(rule, DEVIATION, "", rule.signal, rule.priority, lim, "", signal=sid,
                     limit=lim, deadband=rule.deadband, direction=d, sp=sp)
        elif isinstance(rule, StaleRule):
            sid = self.sid(rule, "signal", rule.signal)
            self.add(rule, STALE, "", rule.signal, rule.priority, rule.timeout / NS_PER_S, "",
                     signal=sid, timeout=rule.timeout)
        elif isinstance(rule, StateRule):
            sid = self.sid(rule, "signal", rule.signal)
            self.add(rule, STATE, "", rule.signal, rule.priority, None, "", signal=sid,
                     mask=self.state_mask(rule))
        else:
            self.expression(rule)
        if rule.suppress_when is not None:
            node = expr.parse(rule.suppress_when, rule.signals)
            self.group(self.suppressions, rule, "suppress_when", node,
                       list(self.by_rule[rule.id]))

    def expression(self, rule: ExpressionRule) -> None:
        node = rule.ast()
        paths = expr.signals(node)
        if not paths:
            raise _Problem("expr", f"rule {rule.id!r}: the expression reads no signal")
        for p in paths:
            self.sid(rule, "expr", p)
        rule_asset = rule if rule.asset else rule.model_copy(update={"asset": parent(paths[0])})
        point = self.add(rule_asset, EXPRESSION, "", None, rule.priority, None, "")
        self.group(self.expressions, rule, "expr", node, [point])

    def state_mask(self, rule: StateRule) -> int:
        names = {v: k for k, v in self.registry.definition(rule.signal).states.items()}
        mask = 0
        for s in rule.states:
            code = s if isinstance(s, int) else names.get(s)
            if code is None:
                known = ", ".join(sorted(names)) or "none declared"
                raise _Problem("states", f"rule {rule.id!r}: signal {rule.signal!r} has no "
                               f"state named {s!r} (its states: {known})")
            if not 0 <= code <= 63:
                raise _Problem("states", f"rule {rule.id!r}: state code {code} is outside 0..63")
            mask |= 1 << code
        return mask


class _Problem(Exception):
    def __init__(self, fieldname: str, message: str) -> None:
        self.fieldname, self.message = fieldname, message


def kind_name(kind: int) -> str:
    return ("limit", "rate", "deviation", "stale", "state", "expression")[kind]


def _col(rows: list[dict[str, float | int]], key: str, default: float, dtype: type) -> npt.NDArray[
    Any
]:
    return np.array([r.get(key, default) for r in rows], dtype=dtype)


def compile_rules(rules: Sequence[Rule], registry: SignalRegistry,
                  labels: Sequence[str] | None = None) -> Compiled:
    """``labels[i]`` says where rule ``i`` was written (default ``alarms[i]``)."""
    b = _Builder(registry)
    for i, rule in enumerate(rules):
        try:
            b.rule(rule)
        except _Problem as e:
            where = labels[i] if labels is not None else f"alarms[{i}]"
            b.problems.append((f"{where}.{e.fieldname}", e.message))
    if b.problems:
        raise AlarmRuleError(b.problems)
    rows, n = b.rows, len(b.records)
    pts = Points(n)
    kind = _col(rows, "kind", 0, np.int8)
    pts.kind[:] = kind
    pts.signal[:] = _col(rows, "signal", -1, np.int64)
    pts.limit[:] = _col(rows, "limit", math.nan, np.float64)
    pts.deadband[:] = _col(rows, "deadband", 0.0, np.float64)
    pts.direction[:] = _col(rows, "direction", 0, np.int8)
    pts.scale[:] = _col(rows, "scale", 1.0, np.float64)
    pts.state_mask[:] = _col(rows, "mask", 0, np.uint64)
    pts.on_delay[:] = _col(rows, "on_delay", 0, np.int64)
    pts.off_delay[:] = _col(rows, "off_delay", 0, np.int64)
    ids = np.arange(n, dtype=np.int64)
    ns = b.n_signals

    def index(mask: npt.NDArray[np.bool_]) -> SignalIndex:
        return SignalIndex(ids[mask], pts.signal[mask], ns)

    dev = kind == DEVIATION
    relevant = np.zeros(ns, np.bool_)
    relevant[pts.signal[pts.signal >= 0]] = True
    sp = _col(rows, "sp", -1, np.int64)
    relevant[sp[sp >= 0]] = True
    groups = {}
    for kind_groups in (b.expressions, b.suppressions):
        groups[id(kind_groups)] = [
            ExprGroup(expr_eval.compile_vector(node), np.array(rows, np.int64), targets,
                      np.zeros(len(rows), np.bool_))
            for node, rows, targets in kind_groups.values()
        ]
        for g in groups[id(kind_groups)]:
            relevant[g.sids.ravel()] = True
    return Compiled(
        records=b.records, points=pts, n_signals=ns,
        by_alarm={r.alarm_id: i for i, r in enumerate(b.records)}, by_rule=b.by_rule,
        value_index=index((kind == LIMIT) | (kind == STATE)), rate_index=index(kind == RATE),
        stale_index=index(kind == STALE), stale_timeout=_col(rows, "timeout", 0, np.int64),
        dev_points=ids[dev], dev_pv=pts.signal[dev], dev_sp=sp[dev],
        expressions=groups[id(b.expressions)], suppressions=groups[id(b.suppressions)],
        relevant=relevant,
        last_value=b.last_value,
    )
