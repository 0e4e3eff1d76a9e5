"""Split a formula into parts over disjoint propositions.

Frames are independent and so are propositions: two subformulas over disjoint
sets of atoms are independent random events at every frame ``i``. Then

* ``P(φ & ψ) = P(φ) · P(ψ)``,
* ``P(φ | ψ) = 1 - (1 - P(φ)) · (1 - P(ψ))``,
* ``P(!φ) = 1 - P(φ)``,

exactly, frame by frame. :func:`factor` finds the finest such split: it first
normalizes so that more of the formula is boolean structure (``G`` and ``H``
distribute over ``&``, ``F`` and ``O`` over ``|``, ``X N Y`` over both), then
groups the arguments of every ``&``/``|`` into connected components of shared
atoms. Whatever cannot be split further is a :class:`Leaf`.

>>> from framelogic.logic import parse
>>> print(describe(factor(parse("G (a & b) & F (c | d)"))))
and(G a, G b, or(F c, F d))
>>> print(describe(factor(parse("G (a -> F b) & G (b -> F c) & G d"))))
and(G (a -> F b) & G (b -> F c), G d)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from framelogic.logic import ast as A
from framelogic.logic.errors import InvalidArgument
from framelogic.logic.passes import atom_names, map_children
from framelogic.logic.printer import to_text

__all__ = ["Factor", "Indep", "Leaf", "Negate", "atoms", "components", "describe", "factor", "leaves", "normalize", "to_formula"]


@dataclass(frozen=True, slots=True)
class Leaf:
    """A part evaluated as one piece (propositional, closed form or automaton)."""

    formula: A.Formula


@dataclass(frozen=True, slots=True)
class Indep:
    """``&`` (``kind="and"``) or ``|`` (``kind="or"``) of parts over pairwise
    disjoint atoms: independent events at every frame."""

    kind: str
    parts: tuple[Factor, ...]

    def __post_init__(self) -> None:
        if self.kind not in ("and", "or"):
            raise InvalidArgument(f"kind={self.kind!r} must be 'and' or 'or'")


@dataclass(frozen=True, slots=True)
class Negate:
    """``!part``."""

    part: Factor


Factor = Union[Leaf, Indep, Negate]


# ------------------------------------------------------------------ normalization


def _conjuncts(f: A.Formula) -> list[A.Formula]:
    """``f`` as a conjunction, with negations pushed through ``|`` and ``->``."""
    match f:
        case A.And(args):
            return [c for a in args for c in _conjuncts(a)]
        case A.Not(A.Or(args)):
            return [c for a in args for c in _conjuncts(A.neg(a))]
        case A.Not(A.Implies(a, b)):
            return _conjuncts(a) + _conjuncts(A.neg(b))
    return [f]


def _disjuncts(f: A.Formula) -> list[A.Formula]:
    """``f`` as a disjunction, with negations pushed through ``&`` and ``->`` expanded."""
    match f:
        case A.Or(args):
            return [d for a in args for d in _disjuncts(a)]
        case A.Implies(a, b):
            return _disjuncts(A.neg(a)) + _disjuncts(b)
        case A.Not(A.And(args)):
            return [d for a in args for d in _disjuncts(A.neg(a))]
    return [f]


def normalize(f: A.Formula) -> A.Formula:
    """An equivalent formula whose boolean structure is as far out as it can go
    while splitting only into parts over disjoint atoms.

    Each rewrite is an identity of the finite-trace semantics under every
    window: ``G[l,h] (a & b) = G[l,h] a & G[l,h] b`` (and ``H``), ``F[l,h] (a | b)
    = F[l,h] a | F[l,h] b`` (and ``O``), ``X``/``N``/``Y`` over ``&`` and ``|``
    (at the trace end both sides are the same constant). The operand is split
    into groups of arguments sharing atoms, one operator per group, so that a
    part that would not factor keeps its simple shape (``G ((a | b) & (a | c))``
    stays one ``G`` over a propositional operand).
    """
    g = map_children(f, normalize)
    match g:
        case A.Always(a, bd) | A.Historically(a, bd):
            return _split(g, a, _conjuncts, A.conj, lambda x: A.temporal(type(g), x, bound=bd))
        case A.Eventually(a, bd) | A.Once(a, bd):
            return _split(g, a, _disjuncts, A.disj, lambda x: A.temporal(type(g), x, bound=bd))
        case A.Next(a) | A.WeakNext(a) | A.Prev(a):
            make = {A.Next: A.X, A.WeakNext: A.N, A.Prev: A.Y}[type(g)]
            h = _split(g, a, _conjuncts, A.conj, make)
            return h if h is not g else _split(g, a, _disjuncts, A.disj, make)
    return g


def _split(g: A.Formula, arg: A.Formula, pieces, join, wrap) -> A.Formula:  # type: ignore[no-untyped-def]
    groups = components(pieces(arg))
    if len(groups) < 2:
        return g
    return join(*(normalize(wrap(join(*grp))) for grp in groups))


def components(args: list[A.Formula]) -> list[list[A.Formula]]:
    """``args`` grouped into connected components of shared atoms (union-find),
    in order of first appearance."""
    parent = list(range(len(args)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    owner: dict[str, int] = {}
    for i, a in enumerate(args):
        for name in atom_names(a):
            parent[find(i)] = find(owner.setdefault(name, i))
    groups: dict[int, list[A.Formula]] = {}
    for i, a in enumerate(args):
        groups.setdefault(find(i), []).append(a)
    return list(groups.values())


# ------------------------------------------------------------------ factoring


def factor(f: A.Formula) -> Factor:
    """The finest split of ``f`` into independent parts (see the module doc)."""
    return _factor(normalize(f))


def _factor(f: A.Formula) -> Factor:
    match f:
        case A.Not(a):
            inner = _factor(a)
            return inner.part if isinstance(inner, Negate) else Negate(inner)
        case A.And() | A.Not(A.Or()) | A.Not(A.Implies()):
            return _group("and", _conjuncts(f), A.conj)
        case A.Or() | A.Implies() | A.Not(A.And()):
            return _group("or", _disjuncts(f), A.disj)
    return Leaf(f)


def _group(kind: str, args: list[A.Formula], join) -> Factor:  # type: ignore[no-untyped-def]
    whole = join(*args)  # folds constants, duplicates and complementary pairs
    if not isinstance(whole, A.And if kind == "and" else A.Or):  # folded to one argument or a constant
        return _factor(whole)
    groups = components(list(whole.args))
    parts = [_factor(g[0]) if len(g) == 1 else Leaf(join(*g)) for g in groups]
    if len(parts) == 1:
        return parts[0]
    flat: list[Factor] = []
    for p in parts:  # and(and(x, y), z) = and(x, y, z): the parts stay disjoint
        flat.extend(p.parts if isinstance(p, Indep) and p.kind == kind else (p,))
    return Indep(kind, tuple(flat))


# ------------------------------------------------------------------ inspection


def atoms(part: Factor) -> frozenset[str]:
    """The proposition names a part depends on."""
    match part:
        case Leaf(f):
            return frozenset(atom_names(f))
        case Negate(p):
            return atoms(p)
        case Indep(_, parts):
            return frozenset().union(*(atoms(p) for p in parts))
    raise InvalidArgument(f"part={part!r} is not a Factor")


def to_formula(part: Factor) -> A.Formula:
    """The formula a factor stands for (equivalent to the factored formula)."""
    match part:
        case Leaf(f):
            return f
        case Negate(p):
            return A.neg(to_formula(p))
        case Indep(kind, parts):
            return (A.conj if kind == "and" else A.disj)(*(to_formula(p) for p in parts))
    raise InvalidArgument(f"part={part!r} is not a Factor")


def leaves(part: Factor) -> list[A.Formula]:
    """The leaf formulas, left to right."""
    match part:
        case Leaf(f):
            return [f]
        case Negate(p):
            return leaves(p)
        case Indep(_, parts):
            return [f for p in parts for f in leaves(p)]
    raise InvalidArgument(f"part={part!r} is not a Factor")


def describe(part: Factor) -> str:
    """A one-line picture of the split: ``and(...)``, ``or(...)``, ``not(...)``, leaves as text."""
    match part:
        case Leaf(f):
            return to_text(f)
        case Negate(p):
            return f"not({describe(p)})"
        case Indep(kind, parts):
            return f"{kind}({', '.join(describe(p) for p in parts)})"
    raise InvalidArgument(f"part={part!r} is not a Factor")
