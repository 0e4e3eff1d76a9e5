"""Formula -> text. The output re-parses to an equal formula (tested).

Two styles: ``"symbols"`` (``G (ped -> F[0,30] stopped)``) and ``"words"``
(``always (ped implies eventually[0,30] stopped)``).

Every formula node prints with this printer: ``str(f) == to_text(f)``. The printer
installs that ``__str__`` (the AST does not import the printer, so that the two
modules form no import circle); :mod:`framelogic.logic` imports the printer, so
every import of a node type has it.
"""

from __future__ import annotations

from . import ast as A
from .errors import InvalidValue
from .lexical import is_identifier, quote

_SYMBOLS = {
    "not": "!", "and": " & ", "or": " | ", "implies": " -> ", "iff": " <-> ",
    A.Next: "X", A.WeakNext: "N", A.Prev: "Y", A.Eventually: "F", A.Always: "G",
    A.Once: "O", A.Historically: "H", A.Until: "U", A.Release: "R", A.WeakUntil: "W",
    A.StrongRelease: "M", A.Since: "S",
}  # fmt: skip
_WORDS = {
    "not": "not ", "and": " and ", "or": " or ", "implies": " implies ", "iff": " iff ",
    A.Next: "next", A.WeakNext: "weak_next", A.Prev: "previously", A.Eventually: "eventually",
    A.Always: "always", A.Once: "once", A.Historically: "historically", A.Until: "until",
    A.Release: "release", A.WeakUntil: "weak_until", A.StrongRelease: "strong_release",
    A.Since: "since",
}  # fmt: skip

# Binding strength, loosest first; a child binding looser than its slot needs parentheses.
_IFF, _IMP, _OR, _AND, _BIN, _UNARY, _ATOM = range(7)


def _level(f: A.Formula) -> int:
    match f:
        case A.Iff():
            return _IFF
        case A.Implies():
            return _IMP
        case A.Or():
            return _OR
        case A.And():
            return _AND
        case A.Until() | A.Release() | A.WeakUntil() | A.StrongRelease() | A.Since():
            return _BIN
        case A.Const() | A.Atom():
            return _ATOM
        case _:
            return _UNARY


def to_text(f: A.Formula, style: str = "symbols") -> str:
    """Print ``f``; ``style`` is ``"symbols"`` or ``"words"``."""
    if style not in ("symbols", "words"):
        raise InvalidValue(f"style={style!r} must be 'symbols' or 'words'")
    ops = _SYMBOLS if style == "symbols" else _WORDS

    def wrap(g: A.Formula, min_level: int) -> str:
        s = go(g)
        return f"({s})" if _level(g) < min_level else s

    def bound(b: A.Bound) -> str:
        return "" if b == A.UNBOUNDED else str(b)

    def go(g: A.Formula) -> str:
        match g:
            case A.Const(v):
                return "true" if v else "false"
            case A.Atom(name, quoted):
                return quote(name) if (quoted or not is_identifier(name)) else name
            case A.Not(a):
                return ops["not"] + wrap(a, _UNARY)
            case A.And(args):
                return ops["and"].join(wrap(a, _AND + 1) for a in args)
            case A.Or(args):
                return ops["or"].join(wrap(a, _OR + 1) for a in args)
            case A.Implies(a, b):
                return wrap(a, _IMP + 1) + ops["implies"] + wrap(b, _IMP)
            case A.Iff(a, b):
                return wrap(a, _IFF + 1) + ops["iff"] + wrap(b, _IFF)
            case A.Next(a) | A.WeakNext(a) | A.Prev(a):
                return f"{ops[type(g)]} {wrap(a, _UNARY)}"
            case A.Eventually(a, b) | A.Always(a, b) | A.Once(a, b) | A.Historically(a, b):
                return f"{ops[type(g)]}{bound(b)} {wrap(a, _UNARY)}"
            case A.Until(l, r, b) | A.Release(l, r, b) | A.WeakUntil(l, r, b) | A.StrongRelease(l, r, b) | A.Since(l, r, b):
                return f"{wrap(l, _UNARY)} {ops[type(g)]}{bound(b)} {wrap(r, _BIN)}"
        raise InvalidValue(f"not a formula: {g!r}")

    return go(f)


def _str(f: A.Formula) -> str:
    return to_text(f)


for _cls in A.NODE_TYPES:
    _cls.__str__ = _str  # type: ignore[assignment]
del _cls
