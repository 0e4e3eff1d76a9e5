"""Bounded finite-trace analysis with z3.

Each question is asked for every trace length 1..``max_len`` (one boolean
per atom per frame), so the answers are exact *up to that length*: a formula
reported satisfiable really is (the witness proves it), but "unsatisfiable"
only means "no witness of length <= max_len". :mod:`framelogic.automata`
answers the same questions exactly, for every length, by automata emptiness;
the facade ``framelogic.satisfiable`` & co. use that. Domain assumptions (for
example mutual exclusion ``G !(red & green)``) are formulas required to hold at
frame 0 of every trace considered.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import z3

from . import ast as A
from .errors import InvalidArgument
from .passes import atom_names, resolve_time
from .semantics import _past_window as past_window
from .semantics import _window as future_window
from .trace import TraceTable

DEFAULT_MAX_LEN = 20


def _encode(f: A.Formula, n: int, var: dict[tuple[str, int], z3.BoolRef]) -> z3.BoolRef:
    """z3 expression for ``(w, 0) |= f`` on traces of exactly ``n`` frames."""
    memo: dict[tuple[A.Formula, int], z3.BoolRef] = {}

    def window(i: int, b: A.Bound) -> range:  # the windows of the reference semantics
        return future_window(i, n, b)

    def at(g: A.Formula, i: int) -> z3.BoolRef:
        key = (g, i)
        if key not in memo:
            memo[key] = enc(g, i)
        return memo[key]

    def enc(g: A.Formula, i: int) -> z3.BoolRef:
        match g:
            case A.Const(v):
                return z3.BoolVal(v)
            case A.Atom(name):
                return var[(name, i)]
            case A.Not(a):
                return z3.Not(at(a, i))
            case A.And(args):
                return z3.And([at(a, i) for a in args])
            case A.Or(args):
                return z3.Or([at(a, i) for a in args])
            case A.Implies(a, b):
                return z3.Implies(at(a, i), at(b, i))
            case A.Iff(a, b):
                return at(a, i) == at(b, i)
            case A.Next(a):
                return at(a, i + 1) if i + 1 < n else z3.BoolVal(False)
            case A.WeakNext(a):
                return at(a, i + 1) if i + 1 < n else z3.BoolVal(True)
            case A.Prev(a):
                return at(a, i - 1) if i > 0 else z3.BoolVal(False)
            case A.Eventually(a, b):
                return z3.Or([at(a, j) for j in window(i, b)] or [z3.BoolVal(False)])
            case A.Always(a, b):
                return z3.And([at(a, j) for j in window(i, b)] or [z3.BoolVal(True)])
            case A.Once(a, b):
                return z3.Or([at(a, j) for j in past_window(i, b)] or [z3.BoolVal(False)])
            case A.Historically(a, b):
                return z3.And([at(a, j) for j in past_window(i, b)] or [z3.BoolVal(True)])
            case A.Until(a, c, b):
                return z3.Or(
                    [z3.And([at(c, j)] + [at(a, k) for k in range(i, j)]) for j in window(i, b)]
                    or [z3.BoolVal(False)]
                )
            case A.Release(a, c, b):
                return z3.And(
                    [z3.Or([at(c, j)] + [at(a, k) for k in range(i, j)]) for j in window(i, b)]
                    or [z3.BoolVal(True)]
                )
            case A.WeakUntil(a, c, b):
                return z3.Or(at(A.Until(a, c, b), i), at(A.Always(a, b), i))
            case A.StrongRelease(a, c, b):
                return z3.And(at(A.Release(a, c, b), i), at(A.Eventually(a, b), i))
            case A.Since(a, c, b):
                return z3.Or(
                    [
                        z3.And([at(c, j)] + [at(a, k) for k in range(j + 1, i + 1)])
                        for j in past_window(i, b)
                    ]
                    or [z3.BoolVal(False)]
                )
        raise InvalidArgument(f"not a formula: {g!r}")

    return at(f, 0)


def _prepare(formulas: Sequence[A.Formula], fps: float | None) -> list[A.Formula]:
    out = []
    for i, f in enumerate(formulas):
        if not A.is_formula(f):
            raise InvalidArgument(f"formula #{i}={f!r} is not a formula; parse it first")
        out.append(resolve_time(f, fps))
    return out


def find_trace(
    f: A.Formula,
    *,
    max_len: int = DEFAULT_MAX_LEN,
    assume: Sequence[A.Formula] = (),
    fps: float | None = None,
) -> TraceTable | None:
    """A shortest trace (length <= ``max_len``) satisfying ``f`` and every assumption, or None."""
    if not isinstance(max_len, int) or max_len < 1:
        raise InvalidArgument(f"max_len={max_len!r} must be a positive integer")
    f, *assumptions = _prepare([f, *assume], fps)
    names = list(dict.fromkeys(n for g in [f, *assumptions] for n in atom_names(g)))
    for n in range(1, max_len + 1):
        var = {(a, i): z3.Bool(f"{a}@{i}") for a in names for i in range(n)}
        solver = z3.Solver()
        solver.add(_encode(f, n, var))
        for g in assumptions:
            solver.add(_encode(g, n, var))
        if solver.check() == z3.sat:
            model = solver.model()
            values = np.array(
                [[1.0 if z3.is_true(model.eval(var[(a, i)], model_completion=True)) else 0.0 for a in names] for i in range(n)],
                dtype=np.float64,
            ).reshape(n, len(names))
            return TraceTable(tuple(names), values, None, None)
    return None


def satisfiable(f: A.Formula, *, max_len: int = DEFAULT_MAX_LEN, assume: Sequence[A.Formula] = (), fps: float | None = None) -> TraceTable | None:
    """A witness trace satisfying ``f`` (length <= ``max_len``), or None if none exists up to that length."""
    return find_trace(f, max_len=max_len, assume=assume, fps=fps)


def valid(f: A.Formula, *, max_len: int = DEFAULT_MAX_LEN, assume: Sequence[A.Formula] = (), fps: float | None = None) -> TraceTable | None:
    """None if ``f`` holds on every trace up to ``max_len``; else a counterexample trace."""
    return find_trace(A.neg(f), max_len=max_len, assume=assume, fps=fps)


def equivalent(f: A.Formula, g: A.Formula, *, max_len: int = DEFAULT_MAX_LEN, assume: Sequence[A.Formula] = (), fps: float | None = None) -> TraceTable | None:
    """None if ``f`` and ``g`` agree on every trace up to ``max_len``; else a trace where they differ."""
    return find_trace(A.neg(A.iff(f, g)), max_len=max_len, assume=assume, fps=fps)


def implies(f: A.Formula, g: A.Formula, *, max_len: int = DEFAULT_MAX_LEN, assume: Sequence[A.Formula] = (), fps: float | None = None) -> TraceTable | None:
    """None if every trace (up to ``max_len``) satisfying ``f`` satisfies ``g``; else a counterexample."""
    return find_trace(A.conj(f, A.neg(g)), max_len=max_len, assume=assume, fps=fps)
