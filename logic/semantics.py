"""Reference semantics: the plain, obviously correct finite-trace evaluator.

This is the oracle every fast path is tested against. It follows the textbook
LTLf definitions literally, position by position (quadratic in the trace
length for until/since; use :func:`framelogic.evaluate` for real work).

For a trace ``w`` of ``n >= 1`` frames, position ``i`` and a window
``[lo, hi]`` (``hi = inf`` when absent):

* future window ``W(i) = {j : i+lo <= j <= i+hi, j <= n-1}`` (clipped at the end)
* past window   ``P(i) = {j : i-hi <= j <= i-lo, j >= 0}`` (clipped at frame 0)
* ``X a``: ``i+1 < n`` and ``a`` at ``i+1``;  ``N a``: ``i+1 = n`` or ``a`` at ``i+1``
* ``Y a``: ``i > 0`` and ``a`` at ``i-1``
* ``a U b``: some ``j`` in ``W(i)`` has ``b``, and ``a`` holds at every ``k`` in ``[i, j)``
* ``F b``: some ``j`` in ``W(i)`` has ``b``;  ``G a``: every ``j`` in ``W(i)`` has ``a``
* ``a R b``: every ``j`` in ``W(i)`` has ``b``, or ``a`` at some ``k`` in ``[i, j)``
* ``a W b``: ``(a U b) | G a``;  ``a M b``: ``(a R b) & F a`` (same window)
* ``a S b``: some ``j`` in ``P(i)`` has ``b``, and ``a`` holds at every ``k`` in ``(j, i]``
* ``O b``: some ``j`` in ``P(i)`` has ``b``;  ``H a``: every ``j`` in ``P(i)`` has ``a``
"""

from __future__ import annotations

import numpy as np

from . import ast as A
from .errors import TraceError
from .passes import atom_names, resolve_time
from .trace import TraceTable, as_trace


def satisfaction(f: A.Formula, trace: object, *, fps: float | None = None) -> np.ndarray:
    """``out[i]`` is True iff ``(w, i) |= f``, for every frame ``i`` of a boolean trace.

    Time bounds are converted with ``fps`` (or the trace's own rate).
    """
    t = as_trace(trace)
    f = resolve_time(f, fps if fps is not None else t.rate)
    names = atom_names(f)
    t = t.select(names)
    if not t.is_boolean:
        raise TraceError(
            "the reference semantics needs a boolean trace (0/1 values); "
            "use framelogic.evaluate for probabilities"
        )
    columns = {name: [bool(v) for v in t.values[:, j]] for j, name in enumerate(names)}
    return np.array(_sat(f, columns, len(t)), dtype=bool)


def holds(f: A.Formula, trace: object, i: int = 0, *, fps: float | None = None) -> bool:
    """Whether ``(w, i) |= f``."""
    return bool(satisfaction(f, trace, fps=fps)[i])


def _window(i: int, n: int, b: A.Bound) -> range:
    lo, hi = b.frames(None)
    last = n - 1 if hi is None else min(i + hi, n - 1)
    return range(i + lo, last + 1)


def _past_window(i: int, b: A.Bound) -> range:
    lo, hi = b.frames(None)
    first = 0 if hi is None else max(i - hi, 0)
    return range(i - lo, first - 1, -1)


def _sat(f: A.Formula, cols: dict[str, list[bool]], n: int) -> list[bool]:
    def sat(g: A.Formula) -> list[bool]:
        return _sat(g, cols, n)

    match f:
        case A.Const(v):
            return [v] * n
        case A.Atom(name):
            return cols[name]
        case A.Not(a):
            return [not x for x in sat(a)]
        case A.And(args):
            vals = [sat(a) for a in args]
            return [all(v[i] for v in vals) for i in range(n)]
        case A.Or(args):
            vals = [sat(a) for a in args]
            return [any(v[i] for v in vals) for i in range(n)]
        case A.Implies(a, b):
            va, vb = sat(a), sat(b)
            return [(not va[i]) or vb[i] for i in range(n)]
        case A.Iff(a, b):
            va, vb = sat(a), sat(b)
            return [va[i] == vb[i] for i in range(n)]
        case A.Next(a):
            va = sat(a)
            return [i + 1 < n and va[i + 1] for i in range(n)]
        case A.WeakNext(a):
            va = sat(a)
            return [i + 1 >= n or va[i + 1] for i in range(n)]
        case A.Prev(a):
            va = sat(a)
            return [i > 0 and va[i - 1] for i in range(n)]
        case A.Eventually(a, b):
            va = sat(a)
            return [any(va[j] for j in _window(i, n, b)) for i in range(n)]
        case A.Always(a, b):
            va = sat(a)
            return [all(va[j] for j in _window(i, n, b)) for i in range(n)]
        case A.Once(a, b):
            va = sat(a)
            return [any(va[j] for j in _past_window(i, b)) for i in range(n)]
        case A.Historically(a, b):
            va = sat(a)
            return [all(va[j] for j in _past_window(i, b)) for i in range(n)]
        case A.Until(a, c, b):
            va, vc = sat(a), sat(c)
            return [
                any(vc[j] and all(va[k] for k in range(i, j)) for j in _window(i, n, b))
                for i in range(n)
            ]
        case A.Release(a, c, b):
            va, vc = sat(a), sat(c)
            return [
                all(vc[j] or any(va[k] for k in range(i, j)) for j in _window(i, n, b))
                for i in range(n)
            ]
        case A.WeakUntil(a, c, b):
            u = sat(A.Until(a, c, b))
            g = sat(A.Always(a, b))
            return [u[i] or g[i] for i in range(n)]
        case A.StrongRelease(a, c, b):
            r = sat(A.Release(a, c, b))
            e = sat(A.Eventually(a, b))
            return [r[i] and e[i] for i in range(n)]
        case A.Since(a, c, b):
            va, vc = sat(a), sat(c)
            return [
                any(vc[j] and all(va[k] for k in range(j + 1, i + 1)) for j in _past_window(i, b))
                for i in range(n)
            ]
    raise TypeError(f"not a formula: {f!r}")


def accepts(f: A.Formula, trace: TraceTable | object, *, fps: float | None = None) -> bool:
    """Whether the whole trace satisfies ``f`` (at frame 0). An empty trace satisfies nothing."""
    t = as_trace(trace)
    if len(t) == 0:
        return False
    return holds(f, t, 0, fps=fps)
