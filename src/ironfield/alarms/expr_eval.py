"""Evaluation of alarm expressions (:mod:`.expr`), vectorised over rules of one shape.

Rules written once for many pieces of equipment share one shape and differ only in their
signals. A compiled expression therefore takes, for each signal slot, an array of values
(one per rule of that shape) and returns one result per row; the engine groups rules by
:func:`template` and evaluates each group in one go.

Values are floats; a comparison or logical operator gives 1.0 or 0.0. NaN (a signal with
no value yet, or a bad-quality one) is unknown: every comparison with it is false and it
is not true, so missing data never raises an alarm on its own.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from ironfield.alarms.expr import Binary, Node, Num, Signal, Unary, parse, signals

Vec = npt.NDArray[np.float64]
_Part = Callable[[Sequence[Vec]], Vec | float]
Compiled = Callable[[Sequence[Vec], int], Vec]


def truthy(x: Vec) -> npt.NDArray[np.bool_]:
    """NaN (unknown) is not true: missing data never raises an alarm by itself."""
    out: npt.NDArray[np.bool_] = (x != 0.0) & ~np.isnan(x)
    return out


def template(node: Node) -> tuple[str, list[str]]:
    """The expression's shape with its signals replaced by slots ``$0, $1, ...`` (in the
    order of :func:`signals`), and the signal paths that fill the slots."""
    paths = signals(node)
    slot = {p: i for i, p in enumerate(paths)}

    def key(n: Node) -> str:
        if isinstance(n, Num):
            return repr(n.value)
        if isinstance(n, Signal):
            return f"${slot[n.path]}"
        if isinstance(n, Unary):
            return f"({n.op} {key(n.operand)})"
        if isinstance(n, Binary):
            return f"({key(n.left)} {n.op} {key(n.right)})"
        return f"{n.func}({', '.join(key(a) for a in n.args)})"

    return key(node), paths


def _arr(x: Vec | float) -> Vec:
    return np.asarray(x, dtype=np.float64)


def _not(x: Vec) -> Vec:
    # not(unknown) stays unknown.
    return np.where(np.isnan(x), np.nan, (x == 0.0).astype(np.float64))


def _ne(a: Vec, b: Vec) -> Vec:
    out: Vec = ((a != b) & ~np.isnan(a) & ~np.isnan(b)).astype(np.float64)
    return out


def _div(a: Vec, b: Vec) -> Vec:
    return np.where(b != 0.0, a / np.where(b != 0.0, b, 1.0), np.nan)


def _mod(a: Vec, b: Vec) -> Vec:
    return np.where(b != 0.0, np.fmod(a, np.where(b != 0.0, b, 1.0)), np.nan)


_OPS: dict[str, Callable[[Vec, Vec], Vec]] = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": _div, "%": _mod,
    "<": lambda a, b: np.less(a, b).astype(np.float64),
    "<=": lambda a, b: np.less_equal(a, b).astype(np.float64),
    ">": lambda a, b: np.greater(a, b).astype(np.float64),
    ">=": lambda a, b: np.greater_equal(a, b).astype(np.float64),
    "==": lambda a, b: np.equal(a, b).astype(np.float64),
    "!=": _ne,
    "and": lambda a, b: (truthy(a) & truthy(b)).astype(np.float64),
    "or": lambda a, b: (truthy(a) | truthy(b)).astype(np.float64),
}


def compile_vector(node: Node) -> Compiled:
    """Compile to ``f(slot_values, rows) -> results``; slots follow :func:`signals`."""
    slot = {p: i for i, p in enumerate(signals(node))}

    def build(n: Node) -> _Part:
        if isinstance(n, Num):
            v = n.value
            return lambda xs: v
        if isinstance(n, Signal):
            k = slot[n.path]
            return lambda xs: xs[k]
        if isinstance(n, Unary):
            f = build(n.operand)
            if n.op == "-":
                return lambda xs: -_arr(f(xs))
            if n.op == "+":
                return f
            return lambda xs: _not(_arr(f(xs)))
        if isinstance(n, Binary):
            a, b, op = build(n.left), build(n.right), _OPS[n.op]
            return lambda xs: op(_arr(a(xs)), _arr(b(xs)))
        fs = [build(x) for x in n.args]
        if n.func == "abs":
            g = fs[0]
            return lambda xs: np.abs(_arr(g(xs)))
        # np.minimum/np.maximum propagate NaN: min over an unknown value is unknown.
        red = np.minimum if n.func == "min" else np.maximum
        return lambda xs: functools.reduce(red, [_arr(f(xs)) for f in fs])

    top = build(node)

    def run(xs: Sequence[Vec], rows: int) -> Vec:
        with np.errstate(all="ignore"):
            out: Vec = np.broadcast_to(_arr(top(xs)), (rows,)).astype(np.float64)
        return out

    return run


def evaluate(source: str | Node, values: Mapping[str, float]) -> float:
    """Evaluate once against a mapping of path to value (tests and previews)."""
    node = parse(source) if isinstance(source, str) else source
    xs = [np.array([values.get(p, math.nan)], np.float64) for p in signals(node)]
    return float(compile_vector(node)(xs, 1)[0])
