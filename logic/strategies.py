"""Hypothesis strategies for formulas and traces.

Used by framelogic's own tests and offered to users through
:mod:`framelogic.testing`. Formulas are built with the smart constructors, so
they are normalized exactly as parsed formulas are; traces shrink toward short
traces with few true atoms.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
from hypothesis import strategies as st

from . import ast as A
from .errors import InvalidArgument
from .trace import TraceTable

ALL_OPERATORS = frozenset("! & | -> <-> X N Y F G O H U R W M S".split())
PAST_OPERATORS = frozenset("Y O H S".split())
BOUNDABLE = frozenset("F G O H U R W M S".split())

_UNARY = {
    "!": lambda a, b: A.neg(a),
    "X": lambda a, b: A.X(a),
    "N": lambda a, b: A.N(a),
    "Y": lambda a, b: A.Y(a),
    "F": lambda a, b: A.temporal(A.Eventually, a, bound=b),
    "G": lambda a, b: A.temporal(A.Always, a, bound=b),
    "O": lambda a, b: A.temporal(A.Once, a, bound=b),
    "H": lambda a, b: A.temporal(A.Historically, a, bound=b),
}
_BINARY = {
    "&": lambda a, c, b: A.conj(a, c),
    "|": lambda a, c, b: A.disj(a, c),
    "->": lambda a, c, b: A.implies(a, c),
    "<->": lambda a, c, b: A.iff(a, c),
    "U": lambda a, c, b: A.temporal(A.Until, a, c, bound=b),
    "R": lambda a, c, b: A.temporal(A.Release, a, c, bound=b),
    "W": lambda a, c, b: A.temporal(A.WeakUntil, a, c, bound=b),
    "M": lambda a, c, b: A.temporal(A.StrongRelease, a, c, bound=b),
    "S": lambda a, c, b: A.temporal(A.Since, a, c, bound=b),
}


def bounds(max_bound: int = 4) -> st.SearchStrategy[A.Bound]:
    """Frame bounds ``[lo, hi]`` with ``0 <= lo <= hi <= max_bound`` or ``hi = inf``."""

    @st.composite
    def build(draw: st.DrawFn) -> A.Bound:
        lo = draw(st.integers(0, max_bound))
        hi = draw(st.one_of(st.none(), st.integers(lo, max_bound)))
        return A.Bound(lo, hi)

    return st.one_of(st.just(A.UNBOUNDED), build())


def formulas(
    atoms: Sequence[str] = ("a", "b", "c"),
    *,
    max_depth: int = 4,
    operators: Sequence[str] | None = None,
    bounded: bool = True,
    past: bool = True,
    max_bound: int = 4,
    constants: bool = True,
) -> st.SearchStrategy[A.Formula]:
    """Random formulas over ``atoms`` nesting at most ``max_depth`` levels.

    ``operators`` restricts the operators (symbols as in the grammar:
    ``! & | -> <-> X N Y F G O H U R W M S``); ``past=False`` drops ``Y O H S``;
    ``bounded=False`` gives only unbounded temporal operators.
    """
    if not atoms:
        raise InvalidArgument("atoms=() must name at least one proposition")
    if max_depth < 1:
        raise InvalidArgument(f"max_depth={max_depth!r} must be at least 1")
    ops = frozenset(ALL_OPERATORS if operators is None else operators)
    unknown = ops - ALL_OPERATORS
    if unknown:
        raise InvalidArgument(f"operators={sorted(unknown)} unknown; choose from {sorted(ALL_OPERATORS)}")
    if not past:
        ops -= PAST_OPERATORS
    return _formulas(tuple(atoms), max_depth, ops, bounded, max_bound, constants)


@cache
def _formulas(
    atoms: tuple[str, ...], depth: int, ops: frozenset[str], bounded: bool, max_bound: int, constants: bool
) -> st.SearchStrategy[A.Formula]:
    leaf = st.sampled_from([A.atom(a) for a in atoms])
    if constants:
        leaf = st.one_of(leaf, st.sampled_from([A.TRUE, A.FALSE]))
    if depth <= 1:
        return leaf
    sub = _formulas(atoms, depth - 1, ops, bounded, max_bound, constants)
    bound_st = bounds(max_bound) if bounded else st.just(A.UNBOUNDED)
    parts: list[st.SearchStrategy[A.Formula]] = [leaf]
    unary = sorted(o for o in ops if o in _UNARY)
    binary = sorted(o for o in ops if o in _BINARY)
    if unary:
        parts.append(
            st.builds(
                lambda op, a, b: _UNARY[op](a, b), st.sampled_from(unary), sub, bound_st
            )
        )
    if binary:
        parts.append(
            st.builds(
                lambda op, a, c, b: _BINARY[op](a, c, b), st.sampled_from(binary), sub, sub, bound_st
            )
        )
    return st.one_of(*parts)


def traces(
    atoms: Sequence[str] = ("a", "b", "c"),
    *,
    min_len: int = 1,
    max_len: int = 8,
    probabilistic: bool = False,
    fps: float | None = None,
) -> st.SearchStrategy[TraceTable]:
    """Random trace tables over ``atoms``: 0/1 values, or probabilities in [0, 1]
    (with 0 and 1 themselves likely) when ``probabilistic``."""
    if min_len < 0 or max_len < min_len:
        raise InvalidArgument(f"min_len={min_len!r}, max_len={max_len!r} must satisfy 0 <= min_len <= max_len")
    names = tuple(atoms)
    if probabilistic:
        value = st.one_of(
            st.sampled_from([0.0, 1.0, 0.5]),
            st.floats(0.0, 1.0, allow_nan=False, allow_infinity=False),
        )
    else:
        value = st.booleans().map(float)
    row = st.tuples(*[value for _ in names])
    return st.lists(row, min_size=min_len, max_size=max_len).map(
        lambda rows: TraceTable(names, np.array(rows, dtype=np.float64).reshape(len(rows), len(names)), None, fps)
    )
