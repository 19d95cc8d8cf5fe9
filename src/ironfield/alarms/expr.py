"""A small, safe expression language for alarm conditions over several signals.

Expressions are tokenised, parsed by a Pratt (top-down operator precedence) parser [1]_ into
an AST of a handful of node types, and compiled into numpy closures evaluated over the
latest values of the signals, for many rules of the same shape at once. Nothing is ever handed to Python's ``eval``/``exec``: there are no attributes,
subscripts, strings as values or calls other than ``abs``, ``min`` and ``max``, so input
such as ``__import__('os')`` is refused by the parser with its position.

Grammar (lowest to highest precedence)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | cmp
    cmp     := sum (("<"|"<="|">"|">="|"=="|"!=") sum)?     -- never chained
    sum     := prod (("+"|"-") prod)*
    prod    := unary (("*"|"/"|"%") unary)*
    unary   := ("-"|"+") unary | atom
    atom    := NUMBER | "true" | "false" | PATH | 'quoted/path' | ALIAS
             | ("abs"|"min"|"max") "(" expr ("," expr)* ")" | "(" expr ")"

A signal path may be written unquoted (``luobei/pit/truck-07/payload_t``): a name that
contains ``/`` is a path and takes in ``-`` and ``.``, so put spaces around operators next
to unquoted paths, or quote the path (``'luobei/pit/truck-07/payload_t'-1``).

Values are floats; a comparison or logical operator gives 1.0 or 0.0. A signal with no value
yet (or a bad-quality one) reads as NaN, every comparison with NaN is false and NaN is not
true, so missing data never raises an alarm on its own.

.. [1] Pratt 1973, "Top down operator precedence", Proc. 1st ACM POPL, pp. 41-51.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ironfield.alarms.errors import ExpressionError
from ironfield.core.signals import validate_path

MAX_LENGTH = 4096
MAX_DEPTH = 64

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<str>'[^']*'|"[^"]*")
  | (?P<path>[A-Za-z_][A-Za-z0-9_.\-]*(?:/[A-Za-z0-9_.\-]+)+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|==|!=|[-+*/%<>(),])
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "true", "false"}
FUNCTIONS = {"abs": (1, 1), "min": (1, 16), "max": (1, 16)}
_COMPARE = {"<", "<=", ">", ">=", "==", "!="}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # num | path | str | name | op | end
    text: str
    pos: int


def tokenize(source: str) -> Iterator[Token]:
    """Tokens left to right, ending with an ``end`` token. Lazy, so that the parser reports
    the leftmost problem, whether it is a bad character or a bad construct."""
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters", source[:60], 0)
    pos = 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if m is None:
            ch = source[pos]
            if ch in "'\"":
                raise ExpressionError("unterminated quoted signal path", source, pos)
            raise ExpressionError(f"unexpected character {ch!r}", source, pos)
        kind = m.lastgroup or ""
        text = m.group()
        if kind == "str":
            yield Token("str", text[1:-1], pos)
        elif kind != "ws":
            yield Token(kind, text, pos)
        pos = m.end()
    yield Token("end", "", len(source))


# --- AST ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Num:
    value: float


@dataclass(frozen=True, slots=True)
class Signal:
    path: str
    pos: int


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-" | "+" | "not"
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # arithmetic, comparison, "and", "or"
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Call:
    func: str
    args: tuple[Node, ...]


Node = Num | Signal | Unary | Binary | Call

# Binding powers: a higher number binds tighter.
_INFIX = {
    "or": 10, "and": 20,
    "<": 40, "<=": 40, ">": 40, ">=": 40, "==": 40, "!=": 40,
    "+": 50, "-": 50, "*": 60, "/": 60, "%": 60,
}
_NOT_BP = 30
_UNARY_BP = 70


class _Parser:
    def __init__(self, source: str, aliases: Mapping[str, str]) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.ahead = next(self.tokens)
        self.aliases = aliases
        self.depth = 0

    def error(self, message: str, tok: Token | None = None) -> ExpressionError:
        t = tok or self.ahead
        return ExpressionError(message, self.source, t.pos)

    def peek(self) -> Token:
        return self.ahead

    def next(self) -> Token:
        t = self.ahead
        if t.kind != "end":
            self.ahead = next(self.tokens)
        return t

    def expect(self, text: str) -> Token:
        t = self.peek()
        if t.text != text or t.kind not in ("op", "name"):
            found = "end of expression" if t.kind == "end" else repr(t.text)
            raise self.error(f"expected {text!r}, found {found}")
        return self.next()

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error("empty expression")
        node = self.expr(0)
        t = self.peek()
        if t.kind != "end":
            raise self.error(f"unexpected {t.text!r} after a complete expression")
        return node

    def expr(self, min_bp: int) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"expression nested deeper than {MAX_DEPTH} levels")
        left = self.prefix()
        while True:
            t = self.peek()
            op = t.text if t.kind in ("op", "name") else ""
            bp = _INFIX.get(op)
            if bp is None or bp <= min_bp:
                break
            self.next()
            right = self.expr(bp)
            if op in _COMPARE:
                nxt = self.peek()
                if nxt.kind == "op" and nxt.text in _COMPARE:
                    raise self.error(
                        "comparisons cannot be chained; join them with 'and'", nxt
                    )
            left = Binary(op, left, right)
        self.depth -= 1
        return left

    def prefix(self) -> Node:
        t = self.next()
        if t.kind == "num":
            return Num(float(t.text))
        if t.kind == "path":
            return Signal(t.text, t.pos)
        if t.kind == "str":
            try:
                validate_path(t.text)
            except ValueError:
                raise self.error(f"bad signal path {t.text!r} in quotes", t) from None
            return Signal(t.text, t.pos)
        if t.kind == "op" and t.text in ("-", "+"):
            return Unary(t.text, self.expr(_UNARY_BP))
        if t.kind == "op" and t.text == "(":
            inner = self.expr(0)
            self.expect(")")
            return inner
        if t.kind == "name":
            return self.name(t)
        if t.kind == "end":
            raise self.error("expression ends where a value was expected", t)
        raise self.error(f"unexpected {t.text!r} where a value was expected", t)

    def name(self, t: Token) -> Node:
        word = t.text
        if word == "not":
            return Unary("not", self.expr(_NOT_BP))
        if word == "true":
            return Num(1.0)
        if word == "false":
            return Num(0.0)
        if word in _KEYWORDS:
            raise self.error(f"unexpected {word!r} where a value was expected", t)
        if word in FUNCTIONS:
            return self.call(t)
        if word in self.aliases:
            return Signal(self.aliases[word], t.pos)
        if self.peek().text == "(":
            raise self.error(
                f"unknown function {word!r} (allowed: {', '.join(sorted(FUNCTIONS))})", t
            )
        raise self.error(
            f"unknown name {word!r}: write a signal path (site/area/equipment/signal) "
            "or declare it under 'signals'", t,
        )

    def call(self, t: Token) -> Node:
        self.expect("(")
        args: list[Node] = []
        if self.peek().text != ")":
            args.append(self.expr(0))
            while self.peek().text == ",":
                self.next()
                args.append(self.expr(0))
        self.expect(")")
        lo, hi = FUNCTIONS[t.text]
        if not lo <= len(args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise self.error(f"{t.text}() takes {want} argument(s), got {len(args)}", t)
        return Call(t.text, tuple(args))


def parse(source: str, aliases: Mapping[str, str] | None = None) -> Node:
    """Parse an expression into its AST; raise :class:`ExpressionError` with the position."""
    return _Parser(source, aliases or {}).parse()


def signals(node: Node) -> list[str]:
    """The signal paths an expression reads, in first-use order, without repeats."""
    out: dict[str, None] = {}

    def walk(n: Node) -> None:
        if isinstance(n, Signal):
            out.setdefault(n.path, None)
        elif isinstance(n, Unary):
            walk(n.operand)
        elif isinstance(n, Binary):
            walk(n.left)
            walk(n.right)
        elif isinstance(n, Call):
            for a in n.args:
                walk(a)

    walk(node)
    return list(out)


# --- evaluation -----------------------------------------------------------------------
#
# Rules written once for many pieces of equipment share one shape and differ only in their
# signals. Evaluation is therefore vectorised over *rows*: a compiled expression takes, for
# each signal slot, an array of values (one per rule of that shape) and returns one result
# per row. The engine groups rules by :func:`template` and evaluates each group in one go.

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
