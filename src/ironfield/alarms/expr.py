"""A small, safe expression language for alarm conditions over several signals.

Expressions are tokenised, parsed by a Pratt (top-down operator precedence) parser [1]_ into
an AST of a handful of node types; :mod:`.expr_eval` compiles it into numpy closures over
the latest values of the signals, for many rules of the same shape at once. Nothing is ever handed to Python's ``eval``/``exec``: there are no attributes,
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

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

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
