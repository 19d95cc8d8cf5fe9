"""The alarm expression language: precedence, errors with positions, and safety."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ironfield.alarms import ExpressionError
from ironfield.alarms.expr import MAX_DEPTH, Binary, Signal, parse, signals
from ironfield.alarms.expr_eval import compile_vector, evaluate, template


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("2 + 3 * 4", 14.0),
        ("(2 + 3) * 4", 20.0),
        ("10 - 4 - 3", 3.0),  # left-associative
        ("16 / 4 / 2", 2.0),
        ("-2 * -3", 6.0),
        ("- 2 - -2", 0.0),
        ("7 % 4 + 1", 4.0),
        ("2 * 3 > 5", 1.0),  # arithmetic binds tighter than comparison
        ("1 + 1 == 2 and 3 < 2", 0.0),
        ("1 or 0 and 0", 1.0),  # and binds tighter than or
        ("(1 or 0) and 0", 0.0),
        ("not 1 == 2", 1.0),  # not binds looser than comparison: not (1 == 2)
        ("not 0 and 0", 0.0),  # but tighter than and: (not 0) and 0
        ("abs(-3) + min(4, 2, 8) * max(1, 5)", 13.0),
        ("1.5e1 + .5", 15.5),
        ("true and not false", 1.0),
        ("3 != 3", 0.0),
        ("2 >= 2 and 2 <= 2", 1.0),
    ],
)
def test_precedence_and_values(source: str, expected: float) -> None:
    assert evaluate(source, {}) == expected


def test_signals_quoted_unquoted_and_aliases() -> None:
    values = {"a/b/c-1/x": 10.0, "a/b/c-1/y": 4.0}
    assert evaluate("a/b/c-1/x - a/b/c-1/y", values) == 6.0
    assert evaluate("'a/b/c-1/x'-'a/b/c-1/y'", values) == 6.0
    assert evaluate('"a/b/c-1/x" / 2', values) == 5.0
    node = parse("pv - sp > 5", {"pv": "a/b/c-1/x", "sp": "a/b/c-1/y"})
    assert evaluate(node, values) == 1.0
    assert signals(node) == ["a/b/c-1/x", "a/b/c-1/y"]
    # An unquoted path takes in '-': without spaces this is one (unknown) signal.
    assert isinstance(parse("a/b/c-1/x-a/b/c-1/y"), Signal)
    assert isinstance(parse("a/b/c-1/x - a/b/c-1/y"), Binary)


def test_missing_data_never_alarms() -> None:
    assert math.isnan(evaluate("a/x + 1", {}))
    assert evaluate("a/x > 1", {}) == 0.0
    assert evaluate("a/x <= 1", {}) == 0.0
    assert evaluate("a/x != 1", {}) == 0.0
    assert evaluate("a/x > 1 or 2 > 1", {}) == 1.0
    assert math.isnan(evaluate("not a/x", {}))
    assert math.isnan(evaluate("min(a/x, 3)", {}))
    assert math.isnan(evaluate("1 / 0", {}))
    assert math.isnan(evaluate("1 % 0", {}))


@pytest.mark.parametrize(
    ("source", "position", "words"),
    [
        ("1 +", 3, "ends where a value"),
        ("(1 + 2", 6, "expected ')'"),
        ("1 + * 2", 4, "unexpected '*'"),
        ("1 2", 2, "after a complete expression"),
        ("1 < 2 < 3", 6, "cannot be chained"),
        ("abs(1, 2)", 0, "takes 1 argument"),
        ("max()", 0, "takes 1 to 16"),
        ("speed > 3", 0, "unknown name 'speed'"),
        ("1 + 'a/b", 4, "unterminated"),
        ("a/b > 3 ; 1", 8, "unexpected character ';'"),
        ("'no-slash' > 1", 0, "bad signal path"),
        ("", 0, "empty expression"),
        ("a/b and", 7, "ends where a value"),
        ("and 1", 0, "unexpected 'and'"),
    ],
)
def test_errors_name_the_position(source: str, position: int, words: str) -> None:
    with pytest.raises(ExpressionError) as ei:
        parse(source)
    assert ei.value.position == position
    assert words in str(ei.value)
    # The message shows the source with a caret under the position.
    lines = str(ei.value).splitlines()
    assert lines[-1].index("^") - 2 == position


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("__import__('os')", "unknown function '__import__'"),
        ("__import__('os').system('rm -rf /')", "unknown function '__import__'"),
        ("open('/etc/passwd')", "unknown function 'open'"),
        ("eval('1')", "unknown function 'eval'"),
        ("().__class__.__bases__", "unexpected"),
        ("[x for x in y]", "unexpected character '['"),
        ("lambda: 1", "unexpected character ':'"),
        ("a/b if 1 else 2", "after a complete expression"),
        ("x[0]", "unexpected character '['"),
        ("'a/b'.upper()", "unexpected character '.'"),
        ("abs.__call__(1)", "unexpected character '.'"),
    ],
)
def test_python_injection_is_refused(source: str, words: str) -> None:
    with pytest.raises(ExpressionError) as ei:
        parse(source)
    assert words in str(ei.value)


def test_dunder_in_a_path_is_only_a_name() -> None:
    # Segments may hold '.' and '_': this is the (harmless) name of a signal, not an attribute.
    assert parse("a/b.__class__") == Signal("a/b.__class__", 0)
    assert evaluate("a/b.__class__ + 1", {"a/b.__class__": 1.0}) == 2.0


def test_nesting_and_length_are_bounded() -> None:
    parse("(" * (MAX_DEPTH - 2) + "1" + ")" * (MAX_DEPTH - 2))
    with pytest.raises(ExpressionError, match="nested deeper"):
        parse("(" * (MAX_DEPTH + 5) + "1" + ")" * (MAX_DEPTH + 5))
    with pytest.raises(ExpressionError, match="nested deeper"):
        parse("-" * (MAX_DEPTH + 5) + "1")
    with pytest.raises(ExpressionError, match="longer than"):
        parse("1 + " * 2000 + "1")


def test_rules_of_one_shape_share_a_template_and_evaluate_as_rows() -> None:
    a = parse("abs(s/r-1/i - s/r-1/sp) > 2 and s/r-1/run == 1")
    b = parse("abs(s/r-2/i - s/r-2/sp) > 2 and s/r-2/run == 1")
    c = parse("abs(s/r-2/i - s/r-2/sp) > 3 and s/r-2/run == 1")
    (ka, pa), (kb, pb), (kc, _) = template(a), template(b), template(c)
    assert ka == kb != kc
    assert pa == ["s/r-1/i", "s/r-1/sp", "s/r-1/run"] and pb[0] == "s/r-2/i"
    f = compile_vector(a)
    i = np.array([10.0, 10.0, 10.0, np.nan])
    sp = np.array([7.0, 9.0, 7.0, 7.0])
    run = np.array([1.0, 1.0, 0.0, 1.0])
    assert f([i, sp, run], 4).tolist() == [1.0, 0.0, 0.0, 0.0]
    # The same signal twice fills one slot.
    k, paths = template(parse("a/x - a/x + a/y"))
    assert paths == ["a/x", "a/y"] and k == "(($0 - $0) + $1)"
