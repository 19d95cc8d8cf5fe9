"""Alarm rules as written in the plant file's ``alarms:`` list, validated strictly.

Every rule has an ``id`` and a ``type`` that picks its model; unknown fields are refused so
a misspelt ``deadbnd`` cannot silently mean "no deadband". :func:`parse_rules` turns the
plain dicts of :class:`ironfield.core.plant.PlantSpec.alarms` into models and raises one
:class:`AlarmRuleError` naming every rule and field at fault.

A rule whose ``signal`` holds a brace range (``robot-{001..680}``) stands for one rule per
item, with the item appended to its id (``weld-current-high.robot-001``): the 680 robots of
the welding shop are written once. Other path fields of the rule that carry the same range
(a deviation's ``setpoint``) follow the same item.
"""

from __future__ import annotations

import itertools
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from ironfield.alarms import expr as exprlang
from ironfield.alarms.errors import AlarmRuleError, ExpressionError
from ironfield.core.signals import validate_path
from ironfield.core.timeutil import parse_duration

Priority = Literal["urgent", "high", "medium", "low"]
PRIORITIES: tuple[Priority, ...] = ("urgent", "high", "medium", "low")
Level = Literal["HH", "H", "L", "LL"]

_ID = r"^[A-Za-z0-9_.\-]+$"
_RANGE = re.compile(r"\{(\d+)\.\.(\d+)\}")


def _duration(v: Any) -> int:
    if isinstance(v, int | float | str) and not isinstance(v, bool):
        return parse_duration(v)
    raise ValueError(f"expected a duration such as '5s' or a number of seconds, got {v!r}")


DurationNs = Annotated[int, BeforeValidator(_duration)]


def _check_path(v: str) -> str:
    return validate_path(_RANGE.sub("0", v))


SignalPath = Annotated[str, BeforeValidator(lambda v: v if not isinstance(v, str) else v.strip())]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Rule(_Strict):
    id: str = Field(pattern=_ID)
    asset: str | None = None
    priority: Priority = "medium"
    message: str = ""
    on_delay: DurationNs = 0
    off_delay: DurationNs = 0
    # Declared before the expressions that may use its aliases: pydantic validates in order.
    signals: dict[str, str] = Field(default_factory=dict)
    suppress_when: str | None = None

    @field_validator("asset")
    @classmethod
    def _asset(cls, v: str | None) -> str | None:
        if v is not None and "/" in v:
            validate_path(v)
        return v

    @field_validator("signals")
    @classmethod
    def _aliases(cls, v: dict[str, str]) -> dict[str, str]:
        for name, path in v.items():
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name) or name in exprlang.FUNCTIONS or name in (
                "and", "or", "not", "true", "false"
            ):
                raise ValueError(f"alias {name!r} must be a plain name, not a keyword or function")
            _check_path(path)
        return v

    @field_validator("suppress_when")
    @classmethod
    def _suppress(cls, v: str | None, info: Any) -> str | None:
        if v is not None:
            _parse_expr(v, info.data.get("signals", {}))
        return v


def _parse_expr(source: str, aliases: dict[str, str]) -> exprlang.Node:
    try:
        return exprlang.parse(source, aliases)
    except ExpressionError as e:
        raise ValueError(f"{e.message} at position {e.position} in {source!r}") from None


class _SignalRule(_Rule):
    signal: SignalPath

    @field_validator("signal")
    @classmethod
    def _signal(cls, v: str) -> str:
        return _check_path(v) and v


class LevelSpec(_Strict):
    """One level of a limit rule; fields left out inherit the rule's."""

    limit: float
    priority: Priority | None = None
    deadband: float | None = Field(None, ge=0)
    on_delay: DurationNs | None = None
    off_delay: DurationNs | None = None
    message: str | None = None


def _level(v: Any) -> Any:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return {"limit": v}
    if v is None or isinstance(v, dict | LevelSpec):
        return v
    raise ValueError(f"expected a number or a mapping with 'limit', got {v!r}")


LevelField = Annotated[LevelSpec | None, BeforeValidator(_level)]


class LimitRule(_SignalRule):
    """High-high / high / low / low-low absolute limits with deadband [signal unit]."""

    type: Literal["limit"]
    hh: LevelField = None
    h: LevelField = None
    l: LevelField = None  # noqa: E741 - ISA-18.2 names the low level L
    ll: LevelField = None
    deadband: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _levels(self) -> LimitRule:
        present = [(n, lv.limit) for n, lv in self.levels()]
        if not present:
            raise ValueError("give at least one of hh, h, l, ll")
        order = ["LL", "L", "H", "HH"]
        ranked = sorted(present, key=lambda x: order.index(x[0]))
        for (a, va), (b, vb) in itertools.pairwise(ranked):
            if not va < vb:
                raise ValueError(f"limits must rise LL < L < H < HH; {a}={va} is not below {b}={vb}")
        return self

    def levels(self) -> list[tuple[Level, LevelSpec]]:
        pairs: list[tuple[Level, LevelSpec | None]] = [
            ("HH", self.hh), ("H", self.h), ("L", self.l), ("LL", self.ll),
        ]
        return [(n, lv) for n, lv in pairs if lv is not None]


class RateRule(_SignalRule):
    """Rate of change between consecutive good samples [signal unit per ``per``]."""

    type: Literal["rate"]
    limit: float = Field(gt=0)
    per: DurationNs = 1_000_000_000
    direction: Literal["rising", "falling", "both"] = "both"
    deadband: float = Field(0.0, ge=0)

    @field_validator("per")
    @classmethod
    def _per(cls, v: int) -> int:
        if v <= 0:
            raise ValueError("'per' must be a positive duration")
        return v


class DeviationRule(_SignalRule):
    """Process value away from a setpoint signal by more than ``limit`` [signal unit]."""

    type: Literal["deviation"]
    setpoint: SignalPath
    limit: float = Field(gt=0)
    direction: Literal["high", "low", "both"] = "both"
    deadband: float = Field(0.0, ge=0)

    @field_validator("setpoint")
    @classmethod
    def _sp(cls, v: str) -> str:
        return _check_path(v) and v


class StaleRule(_SignalRule):
    """No sample of ``signal`` for longer than ``timeout``; checked on the engine's tick."""

    type: Literal["stale"]
    timeout: DurationNs

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, v: int) -> int:
        if v <= 0:
            raise ValueError("'timeout' must be a positive duration")
        return v


class StateRule(_SignalRule):
    """A discrete signal in one of the alarm ``states`` (codes 0..63 or names of the signal's states)."""

    type: Literal["state"]
    states: list[int | str] = Field(min_length=1)

    @field_validator("states")
    @classmethod
    def _codes(cls, v: list[int | str]) -> list[int | str]:
        for s in v:
            if isinstance(s, int) and not 0 <= s <= 63:
                raise ValueError(f"state code {s} is outside 0..63")
        return v


class ExpressionRule(_Rule):
    """A condition over several signals in the expression language (:mod:`.expr`)."""

    type: Literal["expression"]
    expr: str

    @field_validator("expr")
    @classmethod
    def _expr(cls, v: str, info: Any) -> str:
        _parse_expr(v, info.data.get("signals", {}))
        return v

    def ast(self) -> exprlang.Node:
        return exprlang.parse(self.expr, self.signals)


Rule = Annotated[
    LimitRule | RateRule | DeviationRule | StaleRule | StateRule | ExpressionRule,
    Field(discriminator="type"),
]
RULE_TYPES = ("limit", "rate", "deviation", "stale", "state", "expression")
_ADAPTER: TypeAdapter[Rule] = TypeAdapter(Rule)


def _loc(loc: tuple[int | str, ...], rtype: str) -> str:
    # pydantic puts the union tag first ("limit.hh.limit"); the plant file has no such level.
    parts = [str(p) for p in loc]
    if parts and parts[0] == rtype:
        parts = parts[1:]
    return ".".join(parts)


def _messages(e: ValidationError, rtype: str) -> list[tuple[str, str]]:
    out = []
    for err in e.errors():
        loc = _loc(tuple(err["loc"]), rtype)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling)"
        elif err["type"] == "missing":
            msg = "required field is missing"
        elif err["type"] == "union_tag_invalid":
            tag = err.get("ctx", {}).get("tag", rtype)
            msg = f"unknown rule type {tag!r}; expected one of {', '.join(RULE_TYPES)}"
        elif err["type"] == "union_tag_not_found":
            msg = f"'type' is missing; expected one of {', '.join(RULE_TYPES)}"
        out.append((loc, msg.removeprefix("Value error, ")))
    return out


_SEGMENT_WITH_RANGE = re.compile(r"[A-Za-z0-9_.\-]*\{\d+\.\.\d+\}[A-Za-z0-9_.\-]*")


def _sub(v: Any, token: str, item: str) -> Any:
    if isinstance(v, str):
        return v.replace(token, item)
    if isinstance(v, dict):
        return {k: _sub(x, token, item) for k, x in v.items()}
    return v


def expand(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """One dict per item of a brace range, or the dict as it is when it has none.

    The range is looked for in ``signal``, then ``expr``, then the ``signals`` aliases; every
    string of the rule that holds the same range follows the item, and the segment that
    holds it (``robot-007``) is appended to the id.
    """
    places = [raw.get("signal"), raw.get("expr")]
    aliases = raw.get("signals")
    if isinstance(aliases, dict):
        places += list(aliases.values())
    m = seg = None
    for text in places:
        if isinstance(text, str):
            seg = _SEGMENT_WITH_RANGE.search(text)
            if seg is not None:
                m = _RANGE.search(seg.group())
                break
    if m is None or seg is None:
        return [raw]
    lo, hi = int(m.group(1)), int(m.group(2))
    width = len(m.group(1))
    token = m.group(0)
    out = []
    for i in range(lo, hi + 1):
        item = str(i).zfill(width)
        d = {k: (v if k == "id" else _sub(v, token, item)) for k, v in raw.items()}
        d["id"] = f"{raw.get('id', '')}.{seg.group().replace(token, item)}"
        out.append(d)
    return out


def parse_rules(raw: list[dict[str, Any]], where: str = "alarms") -> list[Rule]:
    """Validate the plant file's alarm dicts; expand brace ranges; refuse repeated ids."""
    return [r for _, r in parse_rules_located(raw, where)]


def parse_rules_located(raw: list[dict[str, Any]], where: str = "alarms") -> list[tuple[str, Rule]]:
    """As :func:`parse_rules`, each rule with the place it was written (``alarms[3]``)."""
    problems: list[tuple[str, str]] = []
    rules: list[tuple[str, Rule]] = []
    seen: dict[str, str] = {}
    for i, item in enumerate(raw):
        rid = item.get("id") if isinstance(item, dict) else None
        label = f"{where}[{i}]"
        who = f"rule {rid!r}: " if rid else ""
        if not isinstance(item, dict):
            problems.append((label, "expected a mapping with 'id' and 'type'"))
            continue
        rtype = str(item.get("type", ""))
        for d in expand(item):
            try:
                rule = _ADAPTER.validate_python(d)
            except ValidationError as e:
                # Reported once: the items of a range share their mistakes.
                problems.extend(
                    (f"{label}.{f}" if f else label, who + m) for f, m in _messages(e, rtype)
                )
                break
            if rule.id in seen:
                problems.append(
                    (f"{label}.id", f"{who}id {rule.id!r} is already used by {seen[rule.id]}")
                )
                continue
            seen[rule.id] = label
            rules.append((label, rule))
    if problems:
        raise AlarmRuleError(problems)
    return rules
