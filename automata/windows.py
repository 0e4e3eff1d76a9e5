"""Exact probabilities of nested bounded windows, without an automaton.

A **window chain** is a bounded ``F`` or ``G`` whose operand is propositional
except for one bounded ``F``/``G`` window starting at offset 0, whose operand is
again of that shape, down to a propositional innermost operand::

    F[0,10s] (ped & F[0,1s] (brake & F[0,500ms] stopped))
    G[0,50] (a -> F[0,10] (b & G[0,3] !c))

Write the chain inside out as levels ``k = 0 .. L-1``: level ``k``'s operand
is ``h_k(letter, z_k)``, propositional in the frame's letter and in ``z_k``,
the truth of the window one level down (``z_0`` does not exist), and ``W_k``
is the length of the window over it (``Op_{k+1}[0, W_k]``, the top window
``[lo, lo + W_{L-1}]``). Level ``k`` tracks one number backwards in time:

* ``d_k(t)`` = the distance from ``t`` to the next frame ``s >= t`` whose
  operand is true (under an ``F``) or false (under a ``G``), capped at
  ``W_k + 1`` ("none within the window"; frames past the trace end have none,
  which is how the semantics clip windows at the end);
* the window over level ``k`` holds at ``t`` iff ``d_k(t) <= W_k`` (``F``) or
  ``d_k(t) > W_k`` (``G``), and that is ``z_{k+1}(t)``.

Going from frame ``t + 1`` to ``t`` the tuple ``(d_0, ..., d_{L-1})`` moves
deterministically given the frame's letter: level by level from the inside,
``d_k`` resets to 0 when level ``k``'s event happens at ``t`` and otherwise
grows by one (capped). Under per-frame independence the letters are
independent across frames, so the distribution of the tuple is an exact
backward Markov chain over ``prod_k (W_k + 2)`` states, and the signal at
``i`` is the probability that ``d_{L-1}(i + lo)`` meets the top window's test.
The events' joint probabilities at a frame are the probabilities of
conjunctions of propositional formulas (atoms may be shared between levels;
they are summed over exactly), ``2^(L-1)`` conditional tables of ``2^L``
numbers per frame.

The chain is stored with the top level's counter as the contiguous axis: per
frame, every inner state's row (``W_{L-1} + 2`` numbers) is added, shifted by
one, into the row of each of its ``2^(L-1)`` successor inner states, and its
sum into their slot 0 — ``O(2^(L-1) · states)`` multiply-adds per frame, all
of non-negative numbers (no cancellation), rows with no mass skipped.
:func:`chain_of` recognizes a chain; :class:`Chain` evaluates it.

>>> from framelogic.logic import parse
>>> c = chain_of(parse("F[0,4] (a & F[0,2] b)"))
>>> c.n_states, c.depth
(24, 2)
>>> import numpy as np
>>> vals = {"a": np.array([1.0, 0, 0, 0]), "b": np.array([0, 0, 1.0, 0])}
>>> prob = lambda f: chain_prob(f, vals)
>>> c(prob, 4).tolist()
[1.0, 0.0, 0.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

from framelogic.logic import ast as A
from framelogic.logic.passes import map_children

from . import kernels as K

__all__ = ["CHAIN_STATES_PER_BUDGET", "Chain", "chain_of", "chain_prob", "substitute", "temporal_tops"]

#: The planner builds a chain of up to this many times its ``max_states`` (the budget of
#: automata): a chain state is one float64 in each of two dense arrays, nothing to
#: construct, and costs a few multiply-adds per frame.
CHAIN_STATES_PER_BUDGET = 16
#: Frames x states from which the chain runs compiled (numba) rather than as plain Python.
_JIT_WORK = 1_000_000

_TEMPORAL = (*A.UNARY_TEMPORAL, *A.BINARY_TEMPORAL)


def temporal_tops(f: A.Formula) -> set[A.Formula]:
    """The outermost temporal subformulas of ``f`` (reached through boolean connectives only)."""
    out: set[A.Formula] = set()
    stack = [f]
    while stack:
        g = stack.pop()
        if isinstance(g, _TEMPORAL):
            out.add(g)
        else:
            stack.extend(A.children(g))
    return out


def substitute(f: A.Formula, old: A.Formula, new: A.Formula) -> A.Formula:
    def go(g: A.Formula) -> A.Formula:
        if g == old:
            return new
        return map_children(g, go)

    return go(f)


@dataclass(frozen=True)
class Chain:
    """A window chain, levels inside out (see the module doc).

    ``operands[k]`` is level ``k``'s operand with the window below it replaced by
    the constant it is given (``operands[k][z]`` for ``z`` in ``(False, True)``;
    level 0 has one), ``windows[k]`` the length ``W_k`` of the window over it,
    ``kinds[k]`` ``"F"`` or ``"G"``, and ``lo`` the top window's offset."""

    formula: A.Formula
    operands: tuple[tuple[A.Formula, ...], ...]
    windows: tuple[int, ...]
    kinds: tuple[str, ...]
    lo: int

    @property
    def depth(self) -> int:
        return len(self.windows)

    @property
    def n_states(self) -> int:
        out = 1
        for w in self.windows:
            out *= w + 2
        return out

    def _bit(self, k: int, z: bool) -> A.Formula:
        """Level ``k``'s event at a frame given ``z_k``: the operand true under ``F``, false under ``G``."""
        h = self.operands[k][int(z) if k else 0]
        return h if self.kinds[k] == "F" else A.neg(h)

    def tables(self, prob: Callable[[A.Formula], np.ndarray], n: int) -> np.ndarray:
        """``w[t, zcode, xcode]`` = P(level ``k``'s event at ``t`` is bit ``k`` of ``xcode`` for
        every ``k``, given ``z_k`` = bit ``k - 1`` of ``zcode``), exactly (shared atoms included)."""
        L = self.depth
        w = np.empty((n, 1 << (L - 1), 1 << L))
        for zc in range(1 << (L - 1)):
            bits = [self._bit(k, bool((zc >> (k - 1)) & 1) if k else False) for k in range(L)]
            for xc in range(1 << L):
                lits = [b if (xc >> k) & 1 else A.neg(b) for k, b in enumerate(bits)]
                w[:, zc, xc] = prob(A.conj(*lits))
        return np.clip(w, 0.0, 1.0)

    def transitions(self) -> tuple[np.ndarray, np.ndarray, int]:
        """``(succ[u, xin], zcode[u, xin], start)`` over the inner states ``u`` (levels
        ``0 .. L-2``, level 0 the fastest digit) and the inner levels' event bits ``xin``."""
        L = self.depth
        caps = [w + 1 for w in self.windows]
        inner = caps[:-1]
        sizes = [c + 1 for c in inner]
        n_inner = int(np.prod(sizes)) if sizes else 1
        strides = np.cumprod([1, *sizes[:-1]]) if sizes else np.array([1])
        succ = np.zeros((n_inner, 1 << (L - 1)), dtype=np.int64)
        zcode = np.zeros((n_inner, 1 << (L - 1)), dtype=np.int64)
        for u in range(n_inner):
            d = [(u // int(strides[k])) % sizes[k] for k in range(L - 1)]
            for xin in range(1 << (L - 1)):
                v = 0
                zc = 0
                for k in range(L - 1):
                    nd = 0 if (xin >> k) & 1 else min(d[k] + 1, inner[k])
                    v += nd * int(strides[k])
                    z = nd <= self.windows[k] if self.kinds[k] == "F" else nd > self.windows[k]
                    zc |= int(z) << k  # z_{k+1} is bit k of the code
                succ[u, xin] = v
                zcode[u, xin] = zc
        start = sum(inner[k] * int(strides[k]) for k in range(L - 1))
        return succ, zcode, int(start)

    def __call__(self, prob: Callable[[A.Formula], np.ndarray], n: int) -> np.ndarray:
        """``P((w, i) |= formula)`` for the ``n`` frames, ``prob(g)`` the per-frame
        probabilities of a propositional ``g``."""
        top_f = self.kinds[-1] == "F"
        out = np.full(n, 0.0 if top_f else 1.0)
        m = n - self.lo  # frames whose top window starts inside the trace
        if m <= 0:
            return out
        w = self.tables(lambda g: prob(g)[self.lo : n], m)
        succ, zcode, start = self.transitions()
        row = self.windows[-1] + 2
        sig = np.empty(m)
        kernel = compiled_chain() if m * self.n_states >= _JIT_WORK else chain_backward
        kernel(w, succ, zcode, start, row, top_f, sig)
        out[:m] = np.clip(sig, 0.0, 1.0)
        return out


def chain_of(f: A.Formula) -> Chain | None:
    """The :class:`Chain` ``f`` is (at least two levels), or ``None``."""
    if not isinstance(f, (A.Eventually, A.Always)):
        return None
    lo, hi = f.bound.frames(None)
    if hi is None:
        return None
    ops: list[tuple[str, int]] = [("F" if isinstance(f, A.Eventually) else "G", int(hi - lo))]
    operands: list[tuple[A.Formula, ...]] = []
    body = fold(f.arg)
    while True:
        tops = temporal_tops(body)
        if not tops:
            operands.append((body,))
            break
        if len(tops) != 1:
            return None
        (g,) = tops
        if not isinstance(g, (A.Eventually, A.Always)):
            return None
        glo, ghi = g.bound.frames(None)
        if glo != 0 or ghi is None:
            return None
        operands.append(tuple(substitute(body, g, A.Const(z)) for z in (False, True)))
        ops.append(("F" if isinstance(g, A.Eventually) else "G", int(ghi)))
        body = fold(g.arg)
    if len(ops) < 2:
        return None
    ops.reverse()
    operands.reverse()
    return Chain(f, tuple(operands), tuple(w for _, w in ops), tuple(k for k, _ in ops), int(lo))


def fold(f: A.Formula) -> A.Formula:
    """Undo the planner's distribution in the boolean structure of ``f`` (not under
    temporal operators): ``G[a,b] x & G[a,b] y`` is ``G[a,b] (x & y)`` (``H`` too) and
    ``F[a,b] x | F[a,b] y`` is ``F[a,b] (x | y)`` (``O`` too); equivalences."""
    if isinstance(f, _TEMPORAL):
        return f
    f = map_children(f, fold)
    if not isinstance(f, (A.And, A.Or)):
        return f
    ops, join = ((A.Always, A.Historically), A.conj) if isinstance(f, A.And) else ((A.Eventually, A.Once), A.disj)
    groups: dict[tuple, list[A.Formula]] = {}
    rest: list[A.Formula] = []
    for x in f.args:
        if isinstance(x, ops):
            groups.setdefault((type(x), x.bound), []).append(x.arg)
        else:
            rest.append(x)
    if all(len(v) == 1 for v in groups.values()):
        return f
    merged = [op(join(*args), bd) for (op, bd), args in groups.items()]
    return (A.conj if isinstance(f, A.And) else A.disj)(*rest, *merged)


def chain_prob(f: A.Formula, values: dict[str, np.ndarray]) -> np.ndarray:
    """Per-frame probability of a propositional ``f`` over independent atoms ``values``
    (a small helper for examples and tests: Shannon expansion, no memo)."""
    n = len(next(iter(values.values())))
    match f:
        case A.Const(v):
            return np.full(n, 1.0 if v else 0.0)
        case A.Atom(name):
            return np.asarray(values[name], dtype=float)
        case A.Not(a):
            return 1.0 - chain_prob(a, values)
    from framelogic.logic.passes import atom_names

    x = atom_names(f)[0]

    def fix(v: bool) -> A.Formula:
        def go(g: A.Formula) -> A.Formula:
            if isinstance(g, A.Atom) and g.name == x:
                return A.Const(v)
            return map_children(g, go)

        return go(f)

    p = np.asarray(values[x], dtype=float)
    return p * chain_prob(fix(True), values) + (1.0 - p) * chain_prob(fix(False), values)


def chain_backward(w, succ, zcode, start, row, top_f, out):  # pragma: no cover - compiled
    """The backward chain: ``out[t]`` = P(the top window holds at ``t``) for ``t < len(w)``.

    ``cur``/``nxt`` are ``(inner states, row)`` arrays: slot ``j`` of a row is the top
    counter ``d = j`` (``row - 1`` is the cap). ``w[t, zcode, xcode]`` are the event
    tables; the top level's event bit is bit ``L - 1`` of ``xcode``, ``L - 1`` being the
    number of inner bits (``succ.shape[1] == 2^(L-1)``). A row of ``nxt`` is
    overwritten by its first contribution of the frame (``stamp``) instead of being
    cleared beforehand; rows nobody wrote have ``sums == 0`` and are never read.
    """
    n = w.shape[0]
    n_inner = succ.shape[0]
    n_xin = succ.shape[1]
    top = n_xin  # xcode bit of the top level
    cur = np.zeros((n_inner, row))
    nxt = np.zeros((n_inner, row))
    sums = np.zeros(n_inner)
    nsums = np.zeros(n_inner)
    stamp = np.full(n_inner, -1, dtype=np.int64)
    cur[start, row - 1] = 1.0
    sums[start] = 1.0
    cap = row - 1
    for t in range(n - 1, -1, -1):
        nsums[:] = 0.0
        acc = 0.0
        for u in range(n_inner):
            total = sums[u]
            if total == 0.0:
                continue
            src = cur[u]
            part = 0.0  # mass with d < cap - 1: still inside the window after the shift
            for j in range(cap - 1):
                part += src[j]
            edge = src[cap - 1] + src[cap]  # mass that lands on the cap
            for xin in range(n_xin):
                zc = zcode[u, xin]
                w1 = w[t, zc, xin | top]
                w0 = w[t, zc, xin]
                if w0 == 0.0 and w1 == 0.0:
                    continue
                v = succ[u, xin]
                dst = nxt[v]
                if stamp[v] != t:
                    stamp[v] = t
                    dst[0] = w1 * total
                    for j in range(cap - 1):
                        dst[j + 1] = w0 * src[j]
                    dst[cap] = w0 * edge
                else:
                    dst[0] += w1 * total
                    for j in range(cap - 1):
                        dst[j + 1] += w0 * src[j]
                    dst[cap] += w0 * edge
                nsums[v] += (w0 + w1) * total
                if top_f:
                    acc += w1 * total + w0 * part
                else:
                    acc += w0 * edge
        out[t] = acc
        cur, nxt = nxt, cur
        sums, nsums = nsums, sums
    return 0


@cache
def compiled_chain() -> Callable:
    """:func:`chain_backward` compiled with numba (as is without numba). Re-association and
    fused multiply-adds only (``fastmath`` ``reassoc``/``contract``): sums of non-negative
    numbers, so the result moves by rounding only."""
    try:
        import numba
    except ImportError:  # pragma: no cover - exact either way, only slower
        return K.compiled(chain_backward)
    return numba.njit(cache=False, nogil=True, fastmath={"reassoc", "contract"})(chain_backward)
