"""Structural passes over formulas: desugaring, negation normal form, atoms,
size, depth, substitution, and turning time bounds into frame bounds."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from . import ast as A
from .errors import InvalidArgument


def map_children(f: A.Formula, fn: Callable[[A.Formula], A.Formula]) -> A.Formula:
    """``f`` with ``fn`` applied to each direct subformula (rebuilt with smart constructors)."""
    match f:
        case A.Const() | A.Atom():
            return f
        case A.Not(a):
            return A.neg(fn(a))
        case A.And(args):
            return A.conj(*map(fn, args))
        case A.Or(args):
            return A.disj(*map(fn, args))
        case A.Implies(a, b):
            return A.implies(fn(a), fn(b))
        case A.Iff(a, b):
            return A.iff(fn(a), fn(b))
        case A.Next(a):
            return A.X(fn(a))
        case A.WeakNext(a):
            return A.N(fn(a))
        case A.Prev(a):
            return A.Y(fn(a))
    if isinstance(f, (A.Eventually, A.Always, A.Once, A.Historically)):
        return A.temporal(type(f), fn(f.arg), bound=f.bound)
    return A.temporal(type(f), fn(f.left), fn(f.right), bound=f.bound)  # type: ignore[union-attr]


def desugar(f: A.Formula) -> A.Formula:
    """Rewrite derived operators into the core ``Const Atom Not And Or Next Until Prev Since``."""
    g = map_children(f, desugar)
    match g:
        case A.Implies(a, b):
            return A.disj(A.neg(a), b)
        case A.Iff(a, b):
            return A.disj(A.conj(a, b), A.conj(A.neg(a), A.neg(b)))
        case A.WeakNext(a):
            return A.neg(A.X(A.neg(a)))
        case A.Eventually(a, bd):
            return A.Until(A.TRUE, a, bd)
        case A.Always(a, bd):
            return A.neg(A.Until(A.TRUE, A.neg(a), bd))
        case A.Once(a, bd):
            return A.Since(A.TRUE, a, bd)
        case A.Historically(a, bd):
            return A.neg(A.Since(A.TRUE, A.neg(a), bd))
        case A.Release(a, b, bd):
            return A.neg(A.Until(A.neg(a), A.neg(b), bd))
        case A.WeakUntil(a, b, bd):  # (a U b) | G a
            return A.disj(A.Until(a, b, bd), A.neg(A.Until(A.TRUE, A.neg(a), bd)))
        case A.StrongRelease(a, b, bd):  # (a R b) & F a
            return A.conj(A.neg(A.Until(A.neg(a), A.neg(b), bd)), A.Until(A.TRUE, a, bd))
    return g


def nnf(f: A.Formula) -> A.Formula:
    """Negation normal form: negations only on atoms and on past operators ``Y``/``S``
    (whose duals, weak-yesterday and trigger, are not in the language).
    Implications and equivalences are expanded."""
    return _nnf(f, False)


def _nnf(f: A.Formula, negate: bool) -> A.Formula:
    match f:
        case A.Const(v):
            return A.Const(v != negate)
        case A.Atom():
            return A.neg(f) if negate else f
        case A.Not(a):
            return _nnf(a, not negate)
        case A.And(args):
            parts = [_nnf(a, negate) for a in args]
            return A.disj(*parts) if negate else A.conj(*parts)
        case A.Or(args):
            parts = [_nnf(a, negate) for a in args]
            return A.conj(*parts) if negate else A.disj(*parts)
        case A.Implies(a, b):
            return _nnf(A.disj(A.neg(a), b), negate)
        case A.Iff(a, b):
            return _nnf(A.disj(A.conj(a, b), A.conj(A.neg(a), A.neg(b))), negate)
        case A.Next(a):
            return A.N(_nnf(a, True)) if negate else A.X(_nnf(a, False))
        case A.WeakNext(a):
            return A.X(_nnf(a, True)) if negate else A.N(_nnf(a, False))
        case A.Eventually(a, b):
            return A.temporal(A.Always, _nnf(a, True), bound=b) if negate else A.temporal(A.Eventually, _nnf(a, False), bound=b)
        case A.Always(a, b):
            return A.temporal(A.Eventually, _nnf(a, True), bound=b) if negate else A.temporal(A.Always, _nnf(a, False), bound=b)
        case A.Once(a, b):
            return A.temporal(A.Historically, _nnf(a, True), bound=b) if negate else A.temporal(A.Once, _nnf(a, False), bound=b)
        case A.Historically(a, b):
            return A.temporal(A.Once, _nnf(a, True), bound=b) if negate else A.temporal(A.Historically, _nnf(a, False), bound=b)
        case A.Until(a, c, b):
            if negate:
                return A.temporal(A.Release, _nnf(a, True), _nnf(c, True), bound=b)
            return A.temporal(A.Until, _nnf(a, False), _nnf(c, False), bound=b)
        case A.Release(a, c, b):
            if negate:
                return A.temporal(A.Until, _nnf(a, True), _nnf(c, True), bound=b)
            return A.temporal(A.Release, _nnf(a, False), _nnf(c, False), bound=b)
        case A.WeakUntil(a, c, b):
            if negate:
                return A.temporal(A.StrongRelease, _nnf(a, True), _nnf(c, True), bound=b)
            return A.temporal(A.WeakUntil, _nnf(a, False), _nnf(c, False), bound=b)
        case A.StrongRelease(a, c, b):
            if negate:
                return A.temporal(A.WeakUntil, _nnf(a, True), _nnf(c, True), bound=b)
            return A.temporal(A.StrongRelease, _nnf(a, False), _nnf(c, False), bound=b)
        case A.Prev(a):
            g = A.Y(_nnf(a, False))
            return A.neg(g) if negate else g
        case A.Since(a, c, b):
            g = A.temporal(A.Since, _nnf(a, False), _nnf(c, False), bound=b)
            return A.neg(g) if negate else g
    raise InvalidArgument(f"f={f!r} is not a formula")


def atoms(f: A.Formula) -> tuple[A.Atom, ...]:
    """The atoms of ``f`` in order of first appearance, without repeats."""
    seen: dict[A.Atom, None] = {}
    stack = [f]
    while stack:
        g = stack.pop()
        if isinstance(g, A.Atom):
            seen.setdefault(g, None)
        else:
            stack.extend(reversed(A.children(g)))
    return tuple(seen)


def atom_names(f: A.Formula) -> tuple[str, ...]:
    """The names of ``f``'s atoms (trace column names), first appearance first."""
    return tuple(dict.fromkeys(a.name for a in atoms(f)))


def size(f: A.Formula) -> int:
    """Number of nodes (an n-ary and/or counts once)."""
    n, stack = 0, [f]
    while stack:
        g = stack.pop()
        n += 1
        stack.extend(A.children(g))
    return n


def depth(f: A.Formula) -> int:
    """Length of the longest root-to-leaf path (an atom has depth 1)."""
    best, stack = 0, [(f, 1)]
    while stack:
        g, d = stack.pop()
        best = max(best, d)
        stack.extend((c, d + 1) for c in A.children(g))
    return best


def subformulas(f: A.Formula) -> tuple[A.Formula, ...]:
    """Every distinct subformula, children before parents."""
    out: dict[A.Formula, None] = {}

    def go(g: A.Formula) -> None:
        for c in A.children(g):
            go(c)
        out.setdefault(g, None)

    go(f)
    return tuple(out)


def substitute(f: A.Formula, mapping: Mapping[str | A.Atom, A.Formula | str]) -> A.Formula:
    """Replace atoms (given by name or as :class:`Atom`) by formulas."""
    table: dict[A.Atom | str, A.Formula] = {}
    for k, v in mapping.items():
        v = A.atom(v) if isinstance(v, str) else v
        if not A.is_formula(v):
            raise InvalidArgument(f"mapping[{k!r}]={v!r} is not a formula")
        table[k] = v

    def go(g: A.Formula) -> A.Formula:
        if isinstance(g, A.Atom):
            return table.get(g, table.get(g.name, g))
        return map_children(g, go)

    return go(f)


def has_time_bounds(f: A.Formula) -> bool:
    stack = [f]
    while stack:
        g = stack.pop()
        b = getattr(g, "bound", None)
        if b is not None and b.unit == "s":
            return True
        stack.extend(A.children(g))
    return False


def resolve_time(f: A.Formula, fps: float | None) -> A.Formula:
    """Turn every time bound (``F[0,2s]``) into a frame bound at ``fps`` frames/s.

    A time window ``[t1, t2]`` covers the frame offsets ``k`` with
    ``t1 <= k / fps <= t2``. Raises :class:`UnknownRateError` when ``f`` has time
    bounds and ``fps`` is None.
    """
    if not has_time_bounds(f):
        return f

    def go(g: A.Formula) -> A.Formula:
        h = map_children(g, go)
        b = getattr(g, "bound", None)
        if b is not None and b.unit == "s":
            lo, hi = b.frames(fps)
            if isinstance(h, type(g)):
                return type(h)(*[getattr(h, s) for s in h.__slots__[:-1]], A.Bound(lo, hi, "frames"))
            return h
        return h

    return go(f)
