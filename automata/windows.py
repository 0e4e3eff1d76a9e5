"""Exact probabilities of nested bounded windows, without an automaton.

A **window chain** is a bounded ``F`` or ``G`` whose operand is propositional
except for one bounded ``F``/``G`` window starting at offset 0, whose operand is
again of that shape, down to a propositional innermost operand::

    F[0,10s] (ped & F[0,1s] (brake & F[0,500ms] stopped))
    G[0,50] (a -> F[0,10] (b & G[0,3] !c))

A level's operand may also hold several such windows side by side (``F[0,50]
(a & F[0,5] b & G[0,3] c)``): a **tree** of windows, evaluated the same way
(up to :data:`MAX_LEVELS` windows in all). Write the chain inside out as levels ``k = 0 .. L-1``: level ``k``'s operand
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

Two more shapes with a window that starts later than its frame (``a > 0``), which no
automaton handles at seconds-scale bounds, are exact chains here too:

* :class:`DelayedRule` (:func:`delayed_rule_of`): ``G (p -> q U[a,b] r)`` and ``G (p ->
  q S[a,b] r)`` with ``r`` over atoms of its own: a chain over (the ``q``-run from the
  frame, the distance from ``j + a`` to the next ``r``), ``(b + 1)(b - a + 2)`` states;
* :class:`DelayedPair` (:func:`delayed_pair_of`): ``G (p -> O[s,s+w] q) & G (p2 -> F[0,h]
  c)`` with ``p`` over atoms of its own (``q`` may share atoms with the response rule):
  the once rule moved ``s`` frames earlier beside the response rule, ``(w + 1)(h + 2)``
  states.

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

__all__ = [
    "CHAIN_STATES_PER_BUDGET", "MAX_LEVELS", "Chain", "DelayedPair", "DelayedRule", "chain_of", "chain_prob", "delayed_pair_of",
    "delayed_rule_of", "substitute",
    "temporal_tops",
]  # fmt: skip

#: The planner builds a chain of up to this many times its ``max_states`` (the budget of
#: automata): a chain state is one float64 in each of two dense arrays, nothing to
#: construct, and costs a few multiply-adds per frame.
CHAIN_STATES_PER_BUDGET = 16
#: The most levels of a chain or tree (its event tables have ``2^(2L-1)`` columns).
MAX_LEVELS = 4
#: Frames x states from which the chain runs compiled (numba) rather than as plain Python.
_JIT_WORK = 300_000

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
    """A window chain (or tree), levels inside out (see the module doc).

    Level ``k``'s children (``children[k]``, lower indices) are the windows inside its
    operand; ``operands[k][c]`` is its operand with child ``i``'s window replaced by bit
    ``i`` of ``c``; ``windows[k]`` is the length ``W_k`` of the window over level ``k``,
    ``kinds[k]`` ``"F"`` or ``"G"``, and ``lo`` the top window's offset. The top level
    is the last."""

    formula: A.Formula
    operands: tuple[tuple[A.Formula, ...], ...]
    windows: tuple[int, ...]
    kinds: tuple[str, ...]
    lo: int
    children: tuple[tuple[int, ...], ...] = ()

    def __post_init__(self) -> None:
        if not self.children:  # a chain: level k's child is k - 1
            object.__setattr__(self, "children", tuple(((k - 1,) if k else ()) for k in range(len(self.windows))))

    @property
    def depth(self) -> int:
        """The number of levels."""
        return len(self.windows)

    @property
    def n_states(self) -> int:
        out = 1
        for w in self.windows:
            out *= w + 2
        return out

    def _bit(self, k: int, zc: int) -> A.Formula:
        """Level ``k``'s event at a frame given the windows' truths ``zc`` (bit ``j``: the
        window over level ``j``): its operand true under ``F``, false under ``G``."""
        local = sum(((zc >> j) & 1) << i for i, j in enumerate(self.children[k]))
        h = self.operands[k][local]
        return h if self.kinds[k] == "F" else A.neg(h)

    def tables(self, prob: Callable[[A.Formula], np.ndarray], n: int) -> np.ndarray:
        """``w[t, zcode, xcode]`` = P(level ``k``'s event at ``t`` is bit ``k`` of ``xcode`` for
        every ``k``, given the windows' truths ``zcode``), exactly (shared atoms included)."""
        L = self.depth
        w = np.empty((n, 1 << (L - 1), 1 << L))
        for zc in range(1 << (L - 1)):
            bits = [self._bit(k, zc) for k in range(L)]
            for xc in range(1 << L):
                lits = [b if (xc >> k) & 1 else A.neg(b) for k, b in enumerate(bits)]
                w[:, zc, xc] = prob(A.conj(*lits))
        return np.clip(w, 0.0, 1.0)

    def transitions(self) -> tuple[np.ndarray, np.ndarray, int]:
        """``(succ[u, xin], zcode[u, xin], start)`` over the inner states ``u`` (levels
        ``0 .. L-2``, level 0 the fastest digit) and the inner levels' event bits ``xin``;
        ``zcode`` bit ``k`` is the truth of the window over level ``k`` after the frame."""
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
                    zc |= int(z) << k
                succ[u, xin] = v
                zcode[u, xin] = zc
        start = sum(inner[k] * int(strides[k]) for k in range(L - 1))
        return succ, zcode, int(start)

    def __call__(self, prob: Callable[[A.Formula], np.ndarray], n: int, block: int = 8192) -> np.ndarray:
        """``P((w, i) |= formula)`` for the ``n`` frames, ``prob(g)`` the per-frame
        probabilities of a propositional ``g``; the event tables are built ``block``
        frames at a time (memory ``O(block · 4^L)``), the chain carried across blocks."""
        top_f = self.kinds[-1] == "F"
        out = np.full(n, 0.0 if top_f else 1.0)
        m = n - self.lo  # frames whose top window starts inside the trace
        if m <= 0:
            return out
        succ, zcode, start = self.transitions()
        row = self.windows[-1] + 2
        cur = np.zeros((succ.shape[0], row))
        sums = np.zeros(succ.shape[0])
        cur[start, row - 1] = 1.0
        sums[start] = 1.0
        kernel = compiled_chain() if m * self.n_states >= _JIT_WORK else chain_backward
        sig = np.empty(m)
        for hi in range(m, 0, -block):
            lo = max(0, hi - block)
            w = self.tables(lambda g: prob(g)[self.lo + lo : self.lo + hi], hi - lo)
            kernel(w, succ, zcode, row, top_f, cur, sums, sig[lo:hi])
        out[:m] = np.clip(sig, 0.0, 1.0)
        return out


def chain_of(f: A.Formula) -> Chain | None:
    """The :class:`Chain` ``f`` is (at least two levels, at most :data:`MAX_LEVELS`), or ``None``.

    Every level's operand is propositional but for bounded ``F``/``G`` windows starting
    at offset 0 (several make a tree); the top window may have any finite bound."""
    if not isinstance(f, (A.Eventually, A.Always)):
        return None
    lo, hi = f.bound.frames(None)
    if hi is None:
        return None
    operands: list[tuple[A.Formula, ...]] = []
    children: list[tuple[int, ...]] = []
    windows: list[int] = []
    kinds: list[str] = []

    def build(body: A.Formula, window: int, kind: str) -> int | None:
        body = fold(body)
        tops = _ordered_tops(body)
        kids = []
        for g in tops:
            if not isinstance(g, (A.Eventually, A.Always)):
                return None
            glo, ghi = g.bound.frames(None)
            if glo != 0 or ghi is None:
                return None
            k = build(g.arg, int(ghi), "F" if isinstance(g, A.Eventually) else "G")
            if k is None or len(operands) > MAX_LEVELS:
                return None
            kids.append(k)
        ops = tuple(
            _replace(body, {g: A.Const(bool((c >> i) & 1)) for i, g in enumerate(tops)}) for c in range(1 << len(tops))
        )
        operands.append(ops)
        children.append(tuple(kids))
        windows.append(window)
        kinds.append(kind)
        return len(operands) - 1

    if build(f.arg, int(hi - lo), "F" if isinstance(f, A.Eventually) else "G") is None:
        return None
    if not 2 <= len(operands) <= MAX_LEVELS:
        return None
    return Chain(f, tuple(operands), tuple(windows), tuple(kinds), int(lo), tuple(children))


def _ordered_tops(f: A.Formula) -> list[A.Formula]:
    """:func:`temporal_tops` in the order of first occurrence (left to right)."""
    out: list[A.Formula] = []
    seen: set[A.Formula] = set()

    def go(g: A.Formula) -> None:
        if isinstance(g, _TEMPORAL):
            if g not in seen:
                seen.add(g)
                out.append(g)
            return
        for c in A.children(g):
            go(c)

    go(f)
    return out


def _replace(f: A.Formula, mapping: dict[A.Formula, A.Formula]) -> A.Formula:
    """``f`` with the outermost temporal subformulas in ``mapping`` replaced, at once."""

    def go(g: A.Formula) -> A.Formula:
        if g in mapping:
            return mapping[g]
        if isinstance(g, _TEMPORAL):
            return g
        return map_children(g, go)

    return go(f)


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


def chain_backward(w, succ, zcode, row, top_f, cur, sums, out):  # pragma: no cover - compiled
    """The backward chain over the frames of ``w`` (last first), from the state
    ``(cur, sums)`` (left there at the end): ``out[t]`` = P(the top window holds at ``t``).

    ``cur`` is ``(inner states, row)``: slot ``j`` of a row is the top counter ``d = j``
    (``row - 1`` is the cap); ``sums`` are the rows' sums. ``w[t, zcode, xcode]`` are the
    event tables; the top level's event bit is bit ``L - 1`` of ``xcode``, ``L - 1`` being
    the number of inner bits (``succ.shape[1] == 2^(L-1)``). A row of the next state is
    overwritten by its first contribution of the frame (``stamp``) instead of being
    cleared beforehand; rows nobody wrote have ``sums == 0`` and are never read.
    """
    n = w.shape[0]
    n_inner = succ.shape[0]
    n_xin = succ.shape[1]
    top = n_xin  # xcode bit of the top level
    a = cur
    b = np.empty_like(cur)
    sa = sums
    sb = np.zeros(n_inner)
    stamp = np.full(n_inner, -1, dtype=np.int64)
    cap = row - 1
    for t in range(n - 1, -1, -1):
        sb[:] = 0.0
        acc = 0.0
        for u in range(n_inner):
            total = sa[u]
            if total == 0.0:
                continue
            src = a[u]
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
                dst = b[v]
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
                sb[v] += (w0 + w1) * total
                if top_f:
                    acc += w1 * total + w0 * part
                else:
                    acc += w0 * edge
        out[t] = acc
        a, b = b, a
        sa, sb = sb, sa
    if n % 2 == 1:  # the state is in the scratch arrays: copy it back (rows with no mass need no copy)
        for u in range(n_inner):
            if sa[u] != 0.0:
                cur[u, :] = a[u, :]
        sums[:] = sa[:]
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


# ------------------------------------------------------------------ delayed until / since rules


@dataclass(frozen=True)
class DelayedRule:
    """``G (p -> q U[a,b] r)`` or ``G (p -> q S[a,b] r)`` with ``0 < a <= b < oo``,
    propositional ``p``, ``q``, ``r`` and ``r``'s atoms disjoint from ``p``'s and ``q``'s
    (``p`` and ``q`` may share atoms). Covered shapes: whatever :func:`.counters.rule_of`
    reads as a rule once the window is moved to ``[0, b-a]`` (``p -> B``, ``!p | B``,
    ``B`` alone with ``p = true``), ``B`` the one ``U``/``S`` window.

    ``q U[a,b] r`` holds at ``j`` iff the first ``r`` at or after ``j + a`` comes at
    ``j + a + D`` with ``D <= b - a`` and the run of ``q`` from ``j`` is at least ``a + D``
    frames long (a later ``r`` would need a longer run). So the instance at ``j`` is a
    function of ``(L_j, D_j)``: ``L_j`` the length of the ``q``-run from ``j`` (capped at
    ``b``) and ``D_j`` the distance from ``j + a`` to the next ``r`` (capped at
    ``b - a + 1``, "none in the window"). Going from ``j + 1`` to ``j`` the pair moves
    deterministically given ``q(j)`` and ``r(j + a)``; as ``r`` shares no atom with ``p``
    or ``q``, the triple ``(p(j), q(j), r(j + a))`` is independent of every other step's,
    so ``(L, D)`` is an exact backward Markov chain over ``(b + 1)(b - a + 2)`` states,
    with the mass of the states breaking instance ``j`` dropped at step ``j``; the signal
    at ``i`` is the mass left after step ``i``. Since is the mirror image: ``L_j`` is the
    ``q``-run ending at ``j``, ``D_j`` the distance from ``j - a`` back to the last ``r``;
    the pair is a forward chain, the rule a backward pass over it (``P(instances j..``
    ``hold | the pair at j - 1)``), and the pair's law at ``i - 1`` factors into the run's
    and the distance's (``q`` and ``r`` are independent), ``O(b)`` numbers per frame.

    A frame costs one multiply-add per state (the step that extends the run and the
    distance is a diagonal shift; the resets are row and column sums).

    >>> from framelogic.logic import parse
    >>> d = delayed_rule_of(parse("G (a -> (b U[1,2] c))"))
    >>> d.kind, d.a, d.b, d.n_states
    ('until', 1, 2, 9)
    >>> import numpy as np
    >>> vals = {"a": np.array([1.0, 0, 0, 0]), "b": np.array([1.0, 0, 0, 0]), "c": np.array([0, 1.0, 0, 0])}
    >>> d(lambda f: chain_prob(f, vals), 4).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """

    formula: A.Formula
    kind: str  # "until" or "since"
    p: A.Formula
    q: A.Formula
    r: A.Formula
    a: int
    b: int

    @property
    def n_states(self) -> int:
        return (self.b + 1) * (self.b - self.a + 2)

    def __call__(self, prob: Callable[[A.Formula], np.ndarray], n: int) -> np.ndarray:
        """``P((w, i) |= formula)`` for the ``n`` frames, ``prob(g)`` the per-frame
        probabilities of a propositional ``g``."""
        p, q = self.p, self.q
        neg, conj = A.neg, A.conj
        cls = np.stack(
            [prob(conj(q, neg(p))), prob(conj(q, p)), prob(conj(neg(q), neg(p))), prob(conj(neg(q), p))]
        ).astype(np.float64)
        cls = np.ascontiguousarray(np.clip(cls, 0.0, 1.0))
        r = np.clip(np.asarray(prob(self.r), dtype=np.float64), 0.0, 1.0)
        a, b = self.a, self.b
        out = np.empty(n)
        if n == 0:
            return out
        work = n * self.n_states
        if self.kind == "until":
            rd = np.zeros(n)  # r(j + a), none past the end
            if a < n:
                rd[: n - a] = r[a:]
            fn = compiled_delayed("until") if work >= _JIT_WORK else until_backward
            fn(cls, rd, a, b, out)
        else:
            rd = np.zeros(n)  # r(j - a), none before frame 0
            if a < n:
                rd[a:] = r[: n - a]
            qrun = np.clip(cls[0] + cls[1], 0.0, 1.0)
            fn = compiled_delayed("since") if work >= _JIT_WORK else since_backward
            fn(cls, rd, qrun, a, b, out)
        return np.clip(out, 0.0, 1.0)


def delayed_rule_of(g: A.Formula) -> DelayedRule | None:
    """The :class:`DelayedRule` ``g`` is, or ``None``."""
    from . import counters as C

    if not isinstance(g, A.Always) or not g.bound.is_trivial:
        return None
    arg = fold(g.arg)
    tops = temporal_tops(arg)
    if len(tops) != 1:
        return None
    (body,) = tops
    if not isinstance(body, (A.Until, A.Since)):
        return None
    lo, hi = body.bound.frames(None)
    if lo == 0 or hi is None:
        return None
    zero = type(body)(body.left, body.right, A.Bound(0, hi - lo))
    rule = C.rule_of(A.Always(substitute(arg, body, zero), g.bound))
    if rule is None or rule.kind not in ("until", "since"):
        return None
    from framelogic.logic.passes import atom_names

    if set(atom_names(rule.r)) & (set(atom_names(rule.p)) | set(atom_names(rule.q))):
        return None
    return DelayedRule(g, rule.kind, rule.p, rule.q, rule.r, int(lo), int(hi))


def until_backward(cls, rd, a, b, out):  # pragma: no cover - compiled
    """The backward ``(L, D)`` chain of a delayed until rule (see :class:`DelayedRule`):
    ``cls[c, j]`` the probabilities of ``q&!p, q&p, !q&!p, !q&p`` at ``j``, ``rd[j]`` that of
    ``r`` at ``j + a``; ``out[j]`` = P(every instance ``>= j`` holds).

    ``cur[L, D]`` = P(the pair at ``j + 1`` is ``(L, D)`` and every instance ``> j`` holds).
    One pass per frame: source row ``L`` feeds row ``min(L + 1, b)`` (``q`` at ``j``)
    shifted by one along ``D`` (no ``r`` at ``j + a``) or into its slot 0 (``r``), and its
    column sums feed row 0 (no ``q``: the run is 0, which breaks any instance, ``a > 0``).
    The instance at ``j`` holds (``p`` may be true) on the states with ``D <= b - a`` and
    ``L >= a + D``: within a row, the first ``L - a`` slots of the shift."""
    n = rd.shape[0]
    cap = b - a + 1  # D == cap: no r in the window
    nl = b + 1
    nd = cap + 1
    cur = np.zeros((nl, nd))
    nxt = np.zeros((nl, nd))
    cur[0, cap] = 1.0
    colsum = np.zeros(nd)
    for j in range(n - 1, -1, -1):
        q_np = cls[0, j]
        q_any = q_np + cls[1, j]
        nq_np = cls[2, j]
        pr = rd[j]
        pn = 1.0 - pr
        wy = pn * q_any  # shift, instance kept whatever p
        wn = pn * q_np  # shift, instance broken unless !p
        for d in range(nd):
            colsum[d] = 0.0
        total = 0.0
        acc = 0.0
        for ll in range(nl):
            l2 = ll + 1 if ll + 1 < b else b
            row = cur[ll]
            dst = nxt[l2]
            first = ll < b  # row b also receives from row b - 1: add to it
            k = l2 - a  # slots d + 1 <= k keep the instance (k <= b - a = cap - 1 always)
            if k < 0:
                k = 0
            if k > cap - 1:
                k = cap - 1
            kept = 0.0
            rest = 0.0
            if first:
                for d in range(k):
                    x = row[d]
                    kept += x
                    colsum[d] += x
                    dst[d + 1] = wy * x
                for d in range(k, cap - 1):
                    x = row[d]
                    rest += x
                    colsum[d] += x
                    dst[d + 1] = wn * x
            else:
                for d in range(k):
                    x = row[d]
                    kept += x
                    colsum[d] += x
                    dst[d + 1] += wy * x
                for d in range(k, cap - 1):
                    x = row[d]
                    rest += x
                    colsum[d] += x
                    dst[d + 1] += wn * x
            s = kept + rest
            x1 = row[cap - 1] if cap >= 2 else 0.0
            x2 = row[cap]
            if cap >= 2:
                colsum[cap - 1] += x1
            else:
                x1 = row[0]
                colsum[0] += x1
            colsum[cap] += x2
            s += x1 + x2
            edge = wn * (x1 + x2)
            reset = s * pr * (q_any if l2 >= a else q_np)
            if first:
                dst[cap] = edge
                dst[0] = reset
            else:
                dst[cap] += edge
                dst[0] += reset
            acc += wy * kept + wn * (s - kept) + reset
            total += s
        zero = nxt[0]
        for d in range(nd):
            zero[d] = 0.0
        for d in range(nd):
            d2 = d + 1 if d + 1 < cap else cap
            zero[d2] += colsum[d] * pn * nq_np
        zero[0] += total * pr * nq_np
        acc += total * nq_np
        out[j] = acc
        cur, nxt = nxt, cur
    return 0


def since_backward(cls, rd, qrun, a, b, out):  # pragma: no cover - compiled
    """The delayed since rule (see :class:`DelayedRule`): ``B[L, D]`` = P(every instance
    ``>= j`` holds | the pair at ``j - 1``), pulled backwards; ``rd[j]`` the probability
    of ``r`` at ``j - a`` and ``qrun[j]`` that of ``q`` at ``j``. ``out[i] = sum f(L) B g(D)``
    with ``f``, ``g`` the laws of the run and of the distance at ``i - 1``, summed in the
    same pass that writes ``B``."""
    n = rd.shape[0]
    cap = b - a + 1
    nl = b + 1
    nd = cap + 1
    cur = np.ones((nl, nd))
    nxt = np.empty((nl, nd))
    f = np.zeros(nl)
    g = np.zeros(nd)
    w0 = np.zeros(nd)
    for j in range(n - 1, -1, -1):
        q_np = cls[0, j]
        q_any = q_np + cls[1, j]
        nq_np = cls[2, j]
        pr = rd[j]
        pn = 1.0 - pr
        wy = pn * q_any
        wn = pn * q_np
        # the law of the pair at j - 1: the q-run ending there and the distance back to r
        prod = 1.0
        top = nl  # rows with f > 0
        for ll in range(nl):
            if ll == b:
                f[ll] = prod
                break
            before = qrun[j - 1 - ll] if j - 1 - ll >= 0 else 0.0
            f[ll] = prod * (1.0 - before)
            prod *= before
            if prod == 0.0:
                top = ll + 1
                break
        prod = 1.0
        for d in range(nd):
            if d == cap:
                g[d] = prod
                break
            x = rd[j - 1 - d] if j - 1 - d >= 0 else 0.0
            g[d] = prod * x
            prod *= 1.0 - x
        # no q at j: the run is 0, and an instance there fails (a > 0): only !p
        for d in range(nd):
            d2 = d + 1 if d + 1 < cap else cap
            w0[d] = nq_np * (pr * cur[0, 0] + pn * cur[0, d2])
        acc = 0.0
        for ll in range(nl):
            l2 = ll + 1 if ll + 1 < b else b
            src = cur[l2]
            dst = nxt[ll]
            reset = pr * (q_any if l2 >= a else q_np) * src[0]
            k = l2 - a
            if k < 0:
                k = 0
            if k > cap - 1:
                k = cap - 1
            for d in range(k):
                dst[d] = reset + wy * src[d + 1] + w0[d]
            for d in range(k, cap - 1):
                dst[d] = reset + wn * src[d + 1] + w0[d]
            for d in range(cap - 1, nd):
                dst[d] = reset + wn * src[cap] + w0[d]
            if ll < top:
                fl = f[ll]
                if fl != 0.0:
                    s = 0.0
                    for d in range(nd):
                        s += dst[d] * g[d]
                    acc += fl * s
        out[j] = acc
        cur, nxt = nxt, cur
    return 0


@cache
def compiled_delayed(kind: str) -> Callable:
    """:func:`until_backward` / :func:`since_backward` compiled with numba (as is without)."""
    fn = until_backward if kind == "until" else since_backward
    try:
        import numba
    except ImportError:  # pragma: no cover - exact either way, only slower
        return fn
    return numba.njit(cache=False, nogil=True, fastmath={"reassoc", "contract"})(fn)


# ------------------------------------------------------------------ a delayed once rule beside a response rule


@dataclass(frozen=True)
class DelayedPair:
    """``G (p -> O[s, s+w] q) & G (p2 -> F[0,h] c)`` with ``s > 0``, propositional parts, and
    ``p``'s atoms in neither ``q`` nor the response rule (``q``, ``p2`` and ``c`` may share
    atoms: ``G (a -> O[1s,2s] b) & G (b -> F[0,2s] c)``). The only shape covered so far.

    The once rule's instance at ``k`` reads ``p`` at ``k`` and ``q`` on ``[k-s-w, k-s]``: on
    the trace whose ``p`` is moved ``s`` frames earlier (``p'(j) = p(j + s)``, a coin of its
    own) it is ``p'(j) -> O[0,w] q`` at ``j = k - s``, so every frame's letter ``(p'(j),
    q(j), p2(j), c(j))`` is still independent of the others'. The signal at ``i`` asks for
    the once instances ``j >= i - s`` and the response instances ``k >= i``: a backward
    chain over (the once rule's pending requirement ``T`` on earlier frames, ``0..w``; the
    distance ``u`` to the next ``c``, ``0..h+1``) down to ``i`` keeps both rules; the
    ``s`` frames below ``i`` then keep the once rule alone (``O(s·w)`` per frame), and
    the frames before ``i - s`` meet requirement ``T`` with probability ``1 - prod (1 - q)``
    over the ``T`` frames before it (the window clipped at frame 0). Frames ``k < s`` (an
    empty window) need ``!p``.

    >>> from framelogic.logic import parse
    >>> d = delayed_pair_of(parse("G (a -> O[1,2] b) & G (b -> F[0,1] c)"))
    >>> d.s, d.w, d.h, d.n_states
    (1, 1, 1, 6)
    """

    formula: A.Formula
    p: A.Formula
    q: A.Formula
    p2: A.Formula
    c: A.Formula
    s: int
    w: int
    h: int

    @property
    def n_states(self) -> int:
        return (self.w + 1) * (self.h + 2)

    def __call__(self, prob: Callable[[A.Formula], np.ndarray], n: int) -> np.ndarray:
        out = np.empty(n)
        if n == 0:
            return out
        neg, conj = A.neg, A.conj
        # joint[x, j]: x = qv + 2 bv + 4 cv over (q, p2, c) at frame j
        joint = np.empty((8, n))
        for x in range(8):
            lits = [self.q if x & 1 else neg(self.q), self.p2 if x & 2 else neg(self.p2), self.c if x & 4 else neg(self.c)]
            joint[x] = prob(conj(*lits))
        joint = np.ascontiguousarray(np.clip(joint, 0.0, 1.0))
        pp = np.clip(np.asarray(prob(self.p), dtype=np.float64), 0.0, 1.0)
        moved = np.zeros(n)  # p(j + s), none past the end
        if self.s < n:
            moved[: n - self.s] = pp[self.s :]
        qq = np.clip(np.asarray(prob(self.q), dtype=np.float64), 0.0, 1.0)
        fn = compiled_pair() if n * self.n_states >= _JIT_WORK else pair_backward
        fn(joint, moved, qq, pp, self.s, self.w, self.h, out)
        return np.clip(out, 0.0, 1.0)


def delayed_pair_of(g: A.Formula) -> DelayedPair | None:
    """The :class:`DelayedPair` ``g`` is, or ``None``."""
    from framelogic.logic.passes import atom_names

    from . import counters as C

    if not isinstance(g, A.And) or len(g.args) != 2:
        return None
    for first, second in (g.args, g.args[::-1]):
        if not isinstance(first, A.Always) or not first.bound.is_trivial:
            continue
        arg = fold(first.arg)
        tops = temporal_tops(arg)
        if len(tops) != 1 or not isinstance(next(iter(tops)), A.Once):
            continue
        (body,) = tops
        lo, hi = body.bound.frames(None)
        if lo == 0 or hi is None:
            continue
        rule = C.rule_of(A.Always(substitute(arg, body, A.Once(body.arg, A.Bound(0, hi - lo))), first.bound))
        other = C.rule_of(second)
        if rule is None or other is None or rule.kind != "once" or other.kind != "until" or other.q != A.TRUE:
            continue
        mine = set(atom_names(rule.p))
        if mine & (set(atom_names(rule.q)) | other.atoms):
            continue
        return DelayedPair(g, rule.p, rule.q, other.p, other.r, int(lo), int(hi - lo), other.bound)
    return None


def pair_backward(joint, moved, qq, pp, s, w, h, out):  # pragma: no cover - compiled
    """:class:`DelayedPair`: ``cur[T, u]`` = P(pair state at ``j`` and every once instance
    ``>= j`` (moved) and response instance ``>= j`` holds), pulled from the end; ``T`` the
    once rule's requirement on frames ``< j`` (``0``: none; ``T``: a ``q`` among the ``T``
    frames before ``j``), ``u`` the distance from ``j`` to the next ``c`` (``h + 1``: none
    within ``h``). ``joint[x, j]`` = P(q, p2, c at ``j`` = the bits of ``x``), ``moved[j]`` =
    P(p at ``j + s``), ``qq``/``pp`` = P(q)/P(p) per frame."""
    n = moved.shape[0]
    nt = w + 1
    nu = h + 2
    cur = np.zeros((nt, nu))
    nxt = np.zeros((nt, nu))
    cur[0, h + 1] = 1.0
    rho = np.zeros(nt)
    tmp = np.zeros(nt)
    # blocked[i] = prod_{k=i}^{s-1} (1 - p(k)): the frames k < s with an empty window
    head = s if s < n else n
    blocked = np.ones(head + 1)
    for k in range(head - 1, -1, -1):
        blocked[k] = blocked[k + 1] * (1.0 - pp[k])
    for j in range(n - 1, -1, -1):
        pm = moved[j]
        for t in range(nt):
            for u in range(nu):
                nxt[t, u] = 0.0
        for qv in range(2):
            keep = joint[qv, j] + joint[qv + 2, j]  # no c at j: the distance grows, any p2
            lone = joint[qv, j]  # ... past h: only !p2 keeps the response instance
            hit = joint[qv + 4, j] + joint[qv + 6, j]  # c at j: the distance is 0
            for t in range(nt):
                row = cur[t]
                # the once rule's requirement after frame j (p' only matters with none pending)
                if qv:
                    t2a, fa, t2b, fb = 0, 1.0, -1, 0.0
                elif t == 1:
                    continue  # the pending q was needed at j
                elif t >= 2:
                    t2a, fa, t2b, fb = t - 1, 1.0, -1, 0.0
                else:
                    t2a, fa, t2b, fb = 0, 1.0 - pm, (w if w > 0 else -1), pm
                total = 0.0
                for u in range(nu):
                    total += row[u]
                if total == 0.0:
                    continue
                for t2, fac in ((t2a, fa), (t2b, fb)):
                    if t2 < 0 or fac == 0.0:
                        continue
                    dst = nxt[t2]
                    ck = fac * keep
                    dst[0] += fac * hit * total
                    for u in range(h):
                        dst[u + 1] += ck * row[u]
                    dst[h + 1] += fac * lone * (row[h] + row[h + 1])
        cur, nxt = nxt, cur
        # the signal at j: the once instances j - s .. j - 1 alone, then the frames before
        for t in range(nt):
            acc = 0.0
            for u in range(nu):
                acc += cur[t, u]
            rho[t] = acc
        steps = s if s < j else j
        for x in range(j - 1, j - 1 - steps, -1):
            pm = moved[x]
            qx = qq[x]
            for t in range(nt):
                tmp[t] = 0.0
            for t in range(nt):
                m = rho[t]
                if m == 0.0:
                    continue
                tmp[0] += m * qx
                if t == 1:
                    continue
                t2 = t - 1 if t >= 2 else 0
                if t2 == 0:
                    tmp[0] += m * (1.0 - qx) * (1.0 - pm)
                    if w > 0:
                        tmp[w] += m * (1.0 - qx) * pm
                else:
                    tmp[t2] += m * (1.0 - qx)
            for t in range(nt):
                rho[t] = tmp[t]
        base = j - steps  # rho: requirement on the frames before base
        total = rho[0]
        miss = 1.0
        for t in range(1, nt):
            k = base - t
            if k >= 0:  # frames before 0 have no q (the window is clipped there)
                miss *= 1.0 - qq[k]
            total += rho[t] * (1.0 - miss)
        out[j] = total * (blocked[j] if j < head else 1.0)
    return 0


@cache
def compiled_pair() -> Callable:
    """:func:`pair_backward` compiled with numba (as is without)."""
    try:
        import numba
    except ImportError:  # pragma: no cover - exact either way, only slower
        return pair_backward
    return numba.njit(cache=False, nogil=True, fastmath={"reassoc", "contract"})(pair_backward)
