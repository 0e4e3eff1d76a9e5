"""Exact satisfaction probabilities without one monolithic automaton.

Under per-frame independence (every proposition at every frame an independent
coin) :func:`plan` splits a frame-bounded formula into parts over disjoint
propositions (:mod:`.factor`), which are independent events at every frame,
and evaluates every part by the cheapest exact method:

* **propositional** parts: Shannon expansion over the part's atoms (memoized
  cofactors), vectorized over frames;
* **closed forms**, ``O(n)`` and flat in the bound, for ``X N Y F G O H U S R
  W M`` over propositional operands (which may share atoms): every one is a
  composition of per-frame affine maps ``x -> c_k + a_k x`` over a window
  (decomposition on the first frame that settles it), computed with the van
  Herk / Gil-Werman block scheme. All coefficients are non-negative, so nothing
  cancels; past operators are the future ones on the reversed trace;
* **counters** for the response pattern ``G (p -> F[0,b] q)`` and
  conjunctions of such rules sharing ``q`` (``O(n)``, flat in the bounds): a
  backward recursion over the first ``q`` frame with tail subtraction; and
  for rules ``G (p -> O[0,b] q)``, ``G (p -> H[0,b] q)``, ``G (p -> (q S[0,b]
  r))``, ``G (p -> (q U[0,b] r))``, ``G (p -> F[0,b] q)`` one ``b + 1``-state
  counter each (``O(n·b)``), several rules sharing atoms as one exact product
  counter when the product fits its budget (``max_states``; four times that
  for two rules, which run the pair kernel; three or more run the joint
  kernel: :func:`.counters.budget`);
* **nested windows** (:mod:`.windows`): a bounded ``F``/``G`` whose operand is
  propositional but for ``F``/``G[0,b]`` windows, nested or side by side (up to
  4 windows in all: ``F[0,10s] (ped & F[0,1s] (brake & F[0,500ms] stopped))``,
  ``G[0,50] (a -> F[0,10] b)``): one backward chain over the distances to each
  level's next event, ``prod (b_k + 2)`` states (up to ``16 · max_states``),
  ``O(n · states)``, no automaton; and
  ``G (p -> O/H[a,b] q)`` with ``a > 0`` over disjoint ``p``, ``q`` as the
  ``[0, b-a]`` counter on ``p`` moved ``a`` frames earlier;
* **automaton** parts: everything else, through the exact automaton passes of
  :mod:`.engine` (future / past / marked), with ``max_states`` as the budget.
  A part mixing past and future operators is built as the product of the
  automata of its pure-past subformulas and of its future remainder
  (:func:`.engine.marked_product`), far smaller to construct than the
  progression of the whole part.

The parts' signals combine exactly: ``and`` multiplies, ``or`` is ``1 -
prod(1 - p)``, ``not`` is ``1 - p``. With ``approx="bounds"`` a conjunction
(disjunction) part whose automaton exceeds the budget is split into its
arguments and certified Fréchet bounds are propagated instead; an over-budget
``F``/``O`` (``G``/``H``) part, a disjunction (conjunction) over a window, gets
certified bounds from its operand's per-frame signal (planned recursively:
exact when it fits, else its own bounds): the window's largest operand
probability and the union bound (:class:`_WindowBounds`). The result is then a
:class:`SignalBounds`, never a silent approximation.

>>> from framelogic.logic import parse
>>> p = plan(parse("G (a -> F[0,2] b) & F[0,3] c & !d"), max_states=1000)
>>> p.names
('a', 'b', 'c', 'd')
>>> print(p.describe())
exact: product of 3 independent parts; propositional: 1; closed forms: 1; counters: 1
>>> for part in p.parts:
...     print(part)
counter: G (a -> F[0,2] b)
closed form: F[0,3] c
propositional: d
>>> p(np.array([[1, 0, 0, 0.5], [0, 1, 1, 0.5]])).tolist()
[0.5, 0.5]

Over the budget, an ``F`` part gets certified bounds (the exact values here
are 0.4375, 0.25 and 0):

>>> b = plan(parse("F[0,2] (a & X b)"), max_states=3, approx="bounds")
>>> print(b.describe())
approximate: one part; propositional: 1; closed forms: 1; certified bounds for F[0,2] (a & X b)
>>> lower, upper = b(np.full((3, 2), 0.5))
>>> lower.tolist(), upper.tolist()
([0.25, 0.25, 0.0], [0.5, 0.25, 0.0])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from framelogic.logic import ast as A
from framelogic.logic.errors import AutomatonTooLarge, InvalidArgument, InvalidValue
from framelogic.logic.passes import atom_names, has_time_bounds, map_children
from framelogic.logic.printer import to_text
from framelogic.logic.trace import TraceTable

from . import counters as C
from . import kernels as K
from . import windows as Wn
from .factor import Factor, Indep, Leaf, Negate, factor

__all__ = ["APPROX_MODES", "PartInfo", "Plan", "SignalBounds", "plan"]

APPROX_MODES = (None, "bounds")
_TEMPORAL = (
    A.Next, A.WeakNext, A.Prev, A.Until, A.Since, A.Eventually, A.Always, A.Once, A.Historically,
    A.Release, A.WeakUntil, A.StrongRelease,
)  # fmt: skip


class SignalBounds(NamedTuple):
    """Certified bounds ``lower[i] <= P((w, i) |= φ) <= upper[i]`` (``approx="bounds"``)."""

    lower: np.ndarray
    upper: np.ndarray


def is_propositional(f: A.Formula) -> bool:
    stack = [f]
    while stack:
        g = stack.pop()
        if isinstance(g, _TEMPORAL):
            return False
        stack.extend(A.children(g))
    return True


# ------------------------------------------------------------------ propositional parts


class _Columns:
    """Per-frame probabilities of propositional formulas over one values array,
    memoized by formula (Shannon cofactors repeat across parts)."""

    def __init__(self, values: np.ndarray, index: dict[str, int]) -> None:
        self.values = values
        self.index = index
        self.n = values.shape[0]
        self.memo: dict[A.Formula, np.ndarray] = {}

    def prob(self, f: A.Formula) -> np.ndarray:
        hit = self.memo.get(f)
        if hit is not None:
            return hit
        match f:
            case A.Const(v):
                out = np.full(self.n, 1.0 if v else 0.0)
            case A.Atom(name):
                out = self.values[:, self.index[name]]
            case A.Not(a):
                out = 1.0 - self.prob(a)
            case _:
                # Shannon expansion on the first atom: P(f) = p P(f|x) + (1-p) P(f|!x)
                x = atom_names(f)[0]
                p = self.values[:, self.index[x]]
                hi, lo = self.prob(_cofactor(f, x, True)), self.prob(_cofactor(f, x, False))
                out = p * hi + (1.0 - p) * lo
        self.memo[f] = out
        return out


def _cofactor(f: A.Formula, name: str, value: bool) -> A.Formula:
    """``f`` with atom ``name`` replaced by a constant (smart constructors fold it)."""

    def go(g: A.Formula) -> A.Formula:
        if isinstance(g, A.Atom):
            return A.Const(value) if g.name == name else g
        return map_children(g, go)

    return go(f)


# ------------------------------------------------------------------ parts


@dataclass
class _Stats:
    propositional: int = 0
    closed: int = 0
    counters: int = 0
    counter_states: list[int] = field(default_factory=list)  # product counters' states (past/until rules)
    chains: list[int] = field(default_factory=list)  # nested-window chains' states
    products: list[str] = field(default_factory=list)  # "product of 2 sharing red: 1,952 states"
    automata: list[int] = field(default_factory=list)
    split: list[str] = field(default_factory=list)
    windows: list[str] = field(default_factory=list)  # window parts given certified bounds
    parts: list[PartInfo] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PartInfo:
    """How one leaf of the plan is evaluated."""

    formula: A.Formula
    method: str  # "propositional", "closed form", "counter", "nested windows", "automaton" or "certified bounds"
    states: int | None = None  # automaton states (automaton parts), counter states (product counters)

    def __str__(self) -> str:
        extra = f" ({self.states} states)" if self.states is not None else ""
        return f"{self.method}{extra}: {to_text(self.formula)}"


class _Part:
    """One evaluated node: ``__call__(cols) -> (lower, upper)`` (the same array when exact)."""

    exact = True

    def __call__(self, cols: _Columns) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class _Prop(_Part):
    def __init__(self, f: A.Formula) -> None:
        self.f = f

    def __call__(self, cols: _Columns) -> tuple[np.ndarray, np.ndarray]:
        x = cols.prob(self.f)
        return x, x


def _pad(x: np.ndarray, front: int, back: int, value: float) -> np.ndarray:
    return np.concatenate([np.full(front, value), x, np.full(back, value)])


def _window(a: np.ndarray, c: np.ndarray, start: int, length: int | None, x_end: float, n: int) -> np.ndarray:
    """``out[i]`` (``i < n``) = composition over ``[i+start, i+start+length)`` clipped at
    the end of the ``len(a)`` frames (frames past the end are the identity map)."""
    size = len(a)
    if start >= size:
        return np.full(n, x_end)
    if length is None or length >= size:  # no window reaches past the trace: unbounded
        full = np.empty(size)
        K.fast(K.suffix_compose, size)(np.ascontiguousarray(a), np.ascontiguousarray(c), float(x_end), full)
        res = _pad(full, 0, start + n, x_end)[start : start + n]
        return res
    if length == 0:
        return np.full(n, x_end)
    total = start + n
    pa = _pad(a, 0, max(0, total + length - size), 1.0)
    pc = _pad(c, 0, max(0, total + length - size), 0.0)
    full = np.empty(total)
    K.fast(K.window_compose, total)(pa, pc, int(length), float(x_end), full)
    return full[start:]


class _Closed(_Part):
    """``X N Y F G O H U S R W M`` over propositional operands."""

    def __init__(self, f: A.Formula) -> None:
        self.f = f

    def __call__(self, cols: _Columns) -> tuple[np.ndarray, np.ndarray]:
        x = np.clip(closed_form(self.f, cols.prob), 0.0, 1.0)
        return x, x


def closed_form(f: A.Formula, prob: Callable[[A.Formula], np.ndarray]) -> np.ndarray:
    """The signal of a temporal operator over propositional operands, exactly."""
    n = len(prob(A.TRUE))
    if isinstance(f, (A.Prev, A.Once, A.Historically, A.Since)):  # the future dual on the reversed trace
        future = {A.Prev: A.Next, A.Once: A.Eventually, A.Historically: A.Always}
        g = A.Until(f.left, f.right, f.bound) if isinstance(f, A.Since) else (
            future[type(f)](f.arg) if isinstance(f, A.Prev) else future[type(f)](f.arg, f.bound)
        )
        return closed_form(g, lambda h: prob(h)[::-1])[::-1]
    match f:
        case A.Next(p):
            return np.append(prob(p)[1:], 0.0)
        case A.WeakNext(p):
            return np.append(prob(p)[1:], 1.0)
        case A.Eventually(p, bd):
            lo, hi = bd.frames(None)
            pp = prob(p)
            return _window(1.0 - pp, pp, lo, None if hi is None else hi - lo + 1, 0.0, n)
        case A.Always(p, bd):
            lo, hi = bd.frames(None)
            return _window(prob(p), np.zeros(n), lo, None if hi is None else hi - lo + 1, 1.0, n)
        case A.Until(p, q, bd):
            return _until(prob, p, q, bd, 0.0, n)
        case A.WeakUntil(p, q, bd):
            return _until(prob, p, q, bd, 1.0, n)
        case A.Release(p, q, bd):  # a R b = !(!a U !b)
            return 1.0 - _until(prob, A.neg(p), A.neg(q), bd, 0.0, n)
        case A.StrongRelease(p, q, bd):  # a M b = !(!a W !b)
            return 1.0 - _until(prob, A.neg(p), A.neg(q), bd, 1.0, n)
    raise InvalidValue(f"no closed form for {to_text(f)}")  # pragma: no cover - plan() checks first


def _until(prob: Callable, p: A.Formula, q: A.Formula, bd: A.Bound, x_end: float, n: int) -> np.ndarray:
    """``p U[lo,hi] q`` (``x_end=0``) or ``p W[lo,hi] q`` (``x_end=1``).

    Decomposing on the first ``q`` frame of the window: ``p`` on the frames
    before the window, ``p & !q`` inside it up to that frame. For ``W`` with
    ``lo > 0`` the ``G p`` alternative does not require ``p`` before the window:
    ``P = pre·S_W + (1 - pre)·P(p on the whole window)``.
    """
    lo, hi = bd.frames(None)
    length = None if hi is None else hi - lo + 1
    r = prob(p)
    inside = _window(prob(A.conj(p, A.neg(q))), prob(q), lo, length, x_end, n)
    if lo == 0:
        return inside
    pre = _window(r, np.zeros(n), 0, lo, 1.0, n)
    out = pre * inside
    if x_end:
        out = out + (1.0 - pre) * _window(r, np.zeros(n), lo, length, 1.0, n)
    return out


def _response_rules(f: A.Formula) -> list[tuple[A.Formula, A.Formula, int, int | None]] | None:
    """``[(p, q, lo, hi)]`` when ``f`` is a conjunction of ``G (p -> F[lo,hi] q)``
    with propositional ``p`` and ``q`` (``G F q`` counts, with ``p = true``)."""
    rules = []
    for g in f.args if isinstance(f, A.And) else (f,):
        if not isinstance(g, A.Always) or not g.bound.is_trivial:
            return None
        body = g.arg
        match body:
            case A.Implies(p, A.Eventually(q, bd)):
                pass
            case A.Or(args) if len(args) == 2 and any(isinstance(x, A.Eventually) for x in args):
                ev = next(x for x in args if isinstance(x, A.Eventually))
                other = next(x for x in args if x is not ev)
                p, q, bd = A.neg(other), ev.arg, ev.bound
            case A.Eventually(q, bd):
                p = A.TRUE
            case _:
                return None
        if not (is_propositional(p) and is_propositional(q)):
            return None
        lo, hi = bd.frames(None)
        rules.append((p, q, lo, hi))
    return rules


class _Counter(_Part):
    """Conjunctions of ``G (p_r -> F[lo_r, b_r] q)`` sharing one propositional ``q``:
    see :func:`.kernels.response_counter`. ``lo > 0`` is a shift of ``p`` when there is one
    rule and ``p`` and ``q`` share no atom (the shifted pairs stay independent)."""

    def __init__(self, f: A.Formula, rules: list) -> None:
        self.f = f
        self.q = rules[0][1]
        self.shift = rules[0][2]
        merged: dict[int | None, A.Formula] = {}
        for p, _, _, hi in rules:
            key = None if hi is None else hi - self.shift
            merged[key] = A.disj(merged.get(key, A.FALSE), p)
        self.unbounded = merged.pop(None, None)
        self.levels = sorted(merged.items())  # [(b_r, p_r)] by bound

    @staticmethod
    def accepts(rules: list) -> bool:
        if len({to_text(q) for _, q, _, _ in rules}) != 1:
            return False
        if all(lo == 0 for *_, lo, _ in rules):
            return True
        p, q, lo, _ = rules[0]
        return len(rules) == 1 and not set(atom_names(p)) & set(atom_names(q))

    def __call__(self, cols: _Columns) -> tuple[np.ndarray, np.ndarray]:
        n = cols.n
        s = self.shift
        size = n + s
        c = _pad(cols.prob(self.q), 0, s, 0.0)

        def not_p(p: A.Formula) -> np.ndarray:  # P(!p) at the shifted frame, with !q there
            if s == 0:
                return cols.prob(A.conj(A.neg(self.q), A.neg(p)))
            return _pad(1.0 - cols.prob(p), s, 0, 1.0) * (1.0 - c)

        levels = list(self.levels)
        if self.unbounded is not None:
            # G (p -> F q): a q at any later frame will do, the same as a bound
            # beyond the trace end (p is then only excluded when no q follows)
            levels.append((max([size, *(b for b, _ in levels)]) + 1, self.unbounded))
        ps = [p for _, p in levels]
        bounds = np.array([b for b, _ in levels], dtype=np.int64)
        m = len(ps)
        e = np.empty((m + 1, size))
        e[0] = 1.0 - c
        for r in range(1, m + 1):
            e[r] = not_p(A.disj(*ps[:r]))
        # pi[r, x]: the frames [x + b_{r+1} - b_{z+1}, x + b_{r+1} - b_z) are in zone z <= r
        pi = np.ones((m, size + 1))
        edges = np.concatenate([[0], bounds])
        for r in range(m):
            top = bounds[r]
            for z in range(r + 1):
                start, length = top - edges[z + 1], edges[z + 1] - edges[z]
                if length > 0:
                    pi[r, :size] *= _window(e[z], np.zeros(size), int(start), int(length), 1.0, size)
        out = np.empty(size)
        K.fast(K.response_counter, size)(c, e, bounds, pi, out)
        res = out[s : s + n]
        return res, res


class _Product(_Part):
    """Rules ``G (p -> O/H[0,b] q)``, ``G (p -> (q S/U[0,b] r))``, ``G (p -> F[0,b] q)``:
    one counter per rule, a product counter when they share atoms (:mod:`.counters`)."""

    def __init__(self, f: A.Formula, counter: C.Product) -> None:
        self.f = f
        self.counter = counter

    def __call__(self, cols: _Columns) -> tuple[np.ndarray, np.ndarray]:
        x = self.counter(cols.prob, cols.n)
        return x, x


class _Chain(_Part):
    """Nested bounded ``F``/``G`` windows over propositional operands (:mod:`.windows`)."""

    def __init__(self, f: A.Formula, chain: Wn.Chain) -> None:
        self.f = f
        self.chain = chain

    def __call__(self, cols: _Columns) -> tuple[np.ndarray, np.ndarray]:
        x = self.chain(cols.prob, cols.n)
        return x, x


class _ShiftedRule(_Part):
    """``G (p -> O[a,b] q)`` / ``G (p -> H[a,b] q)`` with ``a > 0`` and ``p``, ``q`` over
    disjoint atoms: the instance at frame ``k >= a`` is ``p(k) -> O/H[0,b-a] q`` read at
    ``k - a``, so the rule is the ``[0, b-a]`` counter on the trace whose ``p`` columns are
    moved ``a`` frames earlier (still independent frame by frame, as ``p`` and ``q`` share
    no atom), and the frames ``k < a`` (empty windows: ``O`` false, ``H`` true) need
    ``!p`` (``O``) or nothing (``H``)."""

    def __init__(self, f: A.Formula, rule: C.Rule, shift: int) -> None:
        self.f = f
        self.rule = rule
        self.shift = shift
        self.moved = set(atom_names(rule.p))

    def __call__(self, cols: _Columns) -> tuple[np.ndarray, np.ndarray]:
        n, a = cols.n, self.shift
        once = self.rule.kind == "once"
        blocked = 1.0 - cols.prob(self.rule.p) if once else np.ones(n)  # P(frame k asks nothing)
        head = min(a, n)
        # prefix[i] = prod_{k=i}^{head-1} blocked[k]
        prefix = np.ones(head + 1)
        for k in range(head - 1, -1, -1):
            prefix[k] = prefix[k + 1] * blocked[k]
        out = np.empty(n)
        if n <= a:
            out[:] = prefix[:n]
            return out, out
        cols_idx = sorted(cols.index.items(), key=lambda kv: kv[1])
        moved = np.empty((n - a, cols.values.shape[1]))
        for name, j in cols_idx:
            moved[:, j] = cols.values[a:, j] if name in self.moved else cols.values[: n - a, j]
        rest = C.product([self.rule])(_Columns(moved, cols.index).prob, n - a)
        out[a:] = rest
        out[:a] = rest[0] * prefix[:a]
        return out, out


def _shifted_rule(g: A.Formula) -> _ShiftedRule | None:
    """The :class:`_ShiftedRule` ``g`` is, or ``None``."""
    if not isinstance(g, A.Always) or not g.bound.is_trivial:
        return None
    arg = Wn.fold(g.arg)
    tops = Wn.temporal_tops(arg)
    if len(tops) != 1 or not isinstance(next(iter(tops)), (A.Once, A.Historically)):
        return None
    (body,) = tops
    lo, hi = body.bound.frames(None)
    if lo == 0 or hi is None:
        return None
    zero = type(body)(body.arg, A.Bound(0, hi - lo))
    rule = C.rule_of(A.Always(Wn.substitute(arg, body, zero), g.bound))
    if rule is None or rule.kind not in ("once", "historically"):
        return None
    if set(atom_names(rule.p)) & (set(atom_names(rule.q)) | set(atom_names(rule.r))):
        return None
    return _ShiftedRule(g, rule, int(lo))


class _Automaton(_Part):
    """Any other part, through the exact automaton passes of :mod:`.engine`."""

    def __init__(self, f: A.Formula, max_states: int) -> None:
        from .engine import _Program

        self.f = f
        self.program = _Program(f, max_states, split_past=True)
        self.names = self.program.names

    @property
    def n_states(self) -> int:
        return self.program.dfa.n_states

    def __call__(self, cols: _Columns) -> tuple[np.ndarray, np.ndarray]:
        if not self.names:
            x = self.program.run(TraceTable((), np.zeros((cols.n, 0))))
        else:
            idx = [cols.index[nm] for nm in self.names]
            x = self.program.run(TraceTable(self.names, cols.values[:, idx]))
        return x, x


class _Combine(_Part):
    """Independent parts: exact ``and``/``or``; bounds combine monotonically."""

    def __init__(self, kind: str, parts: list[_Part]) -> None:
        self.kind = kind
        self.parts = parts
        self.exact = all(p.exact for p in parts)

    def __call__(self, cols: _Columns) -> tuple[np.ndarray, np.ndarray]:
        vals = [p(cols) for p in self.parts]
        lo = _indep(self.kind, [v[0] for v in vals])
        hi = lo if self.exact else _indep(self.kind, [v[1] for v in vals])
        return lo, hi


def _indep(kind: str, xs: list[np.ndarray]) -> np.ndarray:
    if kind == "and":
        out = xs[0].copy()
        for x in xs[1:]:
            out *= x
        return out
    miss = 1.0 - xs[0]
    for x in xs[1:]:
        miss = miss * (1.0 - x)
    return 1.0 - miss


class _Not(_Part):
    def __init__(self, part: _Part) -> None:
        self.part = part
        self.exact = part.exact

    def __call__(self, cols: _Columns) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.part(cols)
        return (1.0 - hi, 1.0 - lo) if not self.exact else ((x := 1.0 - lo), x)


class _Frechet(_Part):
    """Certified bounds for a conjunction (disjunction) of dependent parts."""

    exact = False

    def __init__(self, kind: str, parts: list[_Part]) -> None:
        self.kind = kind
        self.parts = parts

    def __call__(self, cols: _Columns) -> tuple[np.ndarray, np.ndarray]:
        vals = [p(cols) for p in self.parts]
        los = np.stack([v[0] for v in vals])
        his = np.stack([v[1] for v in vals])
        m = len(vals)
        if self.kind == "and":
            return np.maximum(0.0, los.sum(axis=0) - (m - 1)), his.min(axis=0)
        return los.max(axis=0), np.minimum(1.0, his.sum(axis=0))


def sliding(x: np.ndarray, start: int, length: int | None, op: np.ufunc) -> np.ndarray:
    """``out[i]`` = ``op`` (``np.maximum`` or ``np.add``) over ``x[i+start : i+start+length]``
    clipped at the end of ``x`` (``length=None``: to the end); 0 for an empty window.

    Needs ``x >= 0`` (0 is then the identity of both). ``O(n)`` whatever the
    length: van Herk / Gil-Werman prefix and suffix scans per block of
    ``length`` frames, so a sum only ever adds the terms of its own window and
    its rounding error is relative to the window sum, not to a trace-long prefix.
    """
    n = len(x)
    if start >= n or length == 0:
        return np.zeros(n)
    y = x[start:]
    m = len(y)
    if length is None or length >= m:  # every window reaches the trace end
        res = op.accumulate(y[::-1])[::-1]
    else:
        L = length
        size = -(-(m + L - 1) // L) * L
        blocks = np.concatenate([y, np.zeros(size - m)]).reshape(-1, L)
        pre = op.accumulate(blocks, axis=1).ravel()
        suf = op.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].ravel()
        res = op(suf[:m], pre[L - 1 : L - 1 + m])
        res[::L] = suf[:m:L]  # a window starting a block is that block's suffix alone
    return np.concatenate([res, np.zeros(start)])


class _WindowBounds(_Part):
    """Certified bounds for ``F O`` (``G H``) over a window, from the operand's bounds
    ``c_lo <= P(χ_t) <= c_hi`` at every frame ``t`` of the window ``W_i``:

    * ``F``: ``max_W c_lo <= P(∃t χ_t) <= min(1, Σ_W c_hi)`` (one frame; union bound);
    * ``G = !F!``: ``max(0, 1 - Σ_W (1 - c_lo)) <= P(∀t χ_t) <= min_W c_hi``.

    An empty window (clipped at the trace ends) gives ``F`` 0 and ``G`` 1 exactly.
    Past windows are the future ones on the reversed trace."""

    exact = False

    def __init__(self, f: A.Formula, operand: _Part) -> None:
        self.f = f
        self.operand = operand
        self.past = isinstance(f, (A.Once, A.Historically))
        self.universal = isinstance(f, (A.Always, A.Historically))
        lo, hi = f.bound.frames(None)
        self.start = lo
        self.length = None if hi is None else hi - lo + 1

    def __call__(self, cols: _Columns) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = (np.clip(x, 0.0, 1.0) for x in self.operand(cols))
        if self.universal:
            lo, hi = 1.0 - hi, 1.0 - lo
        if self.past:
            lo, hi = lo[::-1], hi[::-1]
        lower = sliding(np.ascontiguousarray(lo), self.start, self.length, np.maximum)
        upper = np.minimum(1.0, sliding(np.ascontiguousarray(hi), self.start, self.length, np.add))
        if self.past:
            lower, upper = lower[::-1], upper[::-1]
        if self.universal:
            lower, upper = 1.0 - upper, 1.0 - lower
        return lower, upper


# ------------------------------------------------------------------ the plan


class Plan:
    """A formula split into independent parts, each with its exact method.

    ``plan(...)(values)`` gives ``P((w, i) |= φ)`` for every frame ``i`` of a
    ``(n, k)`` array of probabilities in :attr:`names` order (a
    :class:`SignalBounds` when :attr:`approximate`).
    """

    def __init__(self, formula: A.Formula, root: _Part, tree: Factor, stats: _Stats) -> None:
        self.formula = formula
        self.names = atom_names(formula)
        self.root = root
        self.tree = tree
        self.stats = stats
        self.approximate = not root.exact
        self._index = {nm: j for j, nm in enumerate(self.names)}

    def __call__(self, values: np.ndarray) -> np.ndarray | SignalBounds:
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(self.names):
            raise InvalidArgument(
                f"values of shape {values.shape} must be (frames, {len(self.names)}) in the order {list(self.names)}"
            )
        if values.shape[0] == 0:
            empty = np.zeros(0)
            return SignalBounds(empty, empty) if self.approximate else empty
        lo, hi = self.root(_Columns(values, self._index))
        lo = np.clip(lo, 0.0, 1.0)
        if self.approximate:
            return SignalBounds(lo, np.clip(hi, 0.0, 1.0))
        return lo

    @property
    def parts(self) -> tuple[PartInfo, ...]:
        """Every leaf with its method, left to right (``str(part)`` reads well)."""
        return tuple(self.stats.parts)

    @property
    def n_states(self) -> int:
        """The largest automaton part (0 when there is none)."""
        return max(self.stats.automata, default=0)

    def describe(self) -> str:
        """How each part is evaluated, e.g. ``exact: product of 3 independent parts;
        closed forms: 2; automaton parts: 1 with <= 93 states``."""
        t = self.tree
        if isinstance(t, Indep):
            shape = f"{'product' if t.kind == 'and' else 'union'} of {len(t.parts)} independent parts"
        elif isinstance(t, Negate) and isinstance(t.part, Indep):
            shape = f"complement of a {'product' if t.part.kind == 'and' else 'union'} of {len(t.part.parts)} independent parts"
        else:
            shape = "one part"
        s = self.stats
        items = [("propositional", s.propositional), ("closed forms", s.closed), ("counters", s.counters)]
        text = ", ".join([shape]) + "".join(f"; {name}: {k}" for name, k in items if k)
        if s.products:
            text += f" ({'; '.join(s.products)})"
        if s.chains:
            text += f"; nested windows: {len(s.chains)} with <= {max(s.chains):,} states"
        if s.automata:
            text += f"; automaton parts: {len(s.automata)} with <= {max(s.automata)} states"
        if self.approximate:
            how = []
            if s.split:
                how.append("Fréchet bounds, split for the state budget: " + "; ".join(s.split))
            if s.windows:
                how.append("certified bounds for " + "; ".join(s.windows))
            return f"approximate: {text}; " + "; ".join(how)
        return f"exact: {text}"

    def __repr__(self) -> str:
        return f"<Plan for {to_text(self.formula)}: {self.describe()}>"


def plan(f: A.Formula, *, max_states: int, approx: str | None = None) -> Plan:
    """Split ``f`` (frame bounds only) into independent parts and choose an exact
    method for each; see the module doc. Raises :class:`AutomatonTooLarge` naming
    the part whose automaton exceeds ``max_states`` unless ``approx="bounds"``."""
    if approx not in APPROX_MODES:
        raise InvalidValue(f"approx={approx!r} must be None or 'bounds'")
    if not A.is_formula(f):
        raise InvalidArgument(f"f={f!r} must be a Formula")
    if has_time_bounds(f):
        raise InvalidValue(f"{to_text(f)} has time bounds; resolve them first (framelogic.logic.resolve_time)")
    tree = factor(f)
    stats = _Stats()
    root = _build(tree, max_states, approx, stats)
    return Plan(f, root, tree, stats)


def _build(t: Factor, max_states: int, approx: str | None, stats: _Stats) -> _Part:
    match t:
        case Negate(p):
            return _Not(_build(p, max_states, approx, stats))
        case Indep(kind, parts):
            return _Combine(kind, [_build(p, max_states, approx, stats) for p in parts])
        case Leaf(g):
            return _leaf(g, max_states, approx, stats)
    raise InvalidArgument(f"t={t!r} is not a Factor")  # pragma: no cover


def _leaf(g: A.Formula, max_states: int, approx: str | None, stats: _Stats) -> _Part:
    if is_propositional(g):
        stats.propositional += 1
        stats.parts.append(PartInfo(g, "propositional"))
        return _Prop(g)
    if _has_closed_form(g):
        stats.closed += 1
        stats.parts.append(PartInfo(g, "closed form"))
        return _Closed(g)
    chain = Wn.chain_of(g)
    if chain is not None:
        limit = Wn.CHAIN_STATES_PER_BUDGET * max_states
        if chain.n_states > limit:
            err = AutomatonTooLarge(
                f"its {chain.depth} nested windows need a chain of {chain.n_states:,} states "
                f"(the limit is {Wn.CHAIN_STATES_PER_BUDGET} x max_states = {limit:,}); "
                "the automaton is not tried"
            )
            return _over_budget(g, max_states, approx, stats, err, "its nested windows' chain is over the limit")
        stats.chains.append(chain.n_states)
        stats.parts.append(PartInfo(g, "nested windows", chain.n_states))
        return _Chain(g, chain)
    shifted = _shifted_rule(g)
    if shifted is not None:
        stats.counters += 1
        stats.parts.append(PartInfo(g, "counter"))
        return shifted
    # G (p -> q U/S[a,b] r), a > 0: an (L, D) chain; G (p -> O[s,s+w] q) & G (p2 -> F[0,h] c) sharing q's atoms
    for chain, what in ((Wn.delayed_rule_of(g), "delayed {} window needs"), (Wn.delayed_pair_of(g), "delayed once rule and response rule need")):
        if chain is None:
            continue
        what = what.format(getattr(chain, "kind", ""))
        limit = Wn.CHAIN_STATES_PER_BUDGET * max_states
        if chain.n_states > limit:
            err = AutomatonTooLarge(
                f"its {what} a chain of {chain.n_states:,} states "
                f"(the limit is {Wn.CHAIN_STATES_PER_BUDGET} x max_states = {limit:,}); the automaton is not tried"
            )
            return _over_budget(g, max_states, approx, stats, err, "its delayed windows' chain is over the limit")
        stats.counters += 1
        stats.counter_states.append(chain.n_states)
        stats.parts.append(PartInfo(g, "counter", chain.n_states))
        return _Chain(g, chain)  # type: ignore[arg-type] # same call protocol as a Chain
    rules = _response_rules(g)
    if rules is not None and _Counter.accepts(rules):
        stats.counters += 1
        stats.parts.append(PartInfo(g, "counter"))
        return _Counter(g, rules)
    counted = C.rules_of(g)
    if counted is not None:
        size = C.product_size(counted)
        limit = C.budget(counted, max_states)
        if size <= limit:
            counter = C.product(counted)
            stats.counters += 1
            stats.counter_states.append(size)
            stats.parts.append(PartInfo(g, "counter", size))
            if len(counted) > 1:
                sharing = f" sharing {', '.join(counter.shared)}" if counter.shared else ""
                stats.products.append(f"product of {len(counted)}{sharing}: {size:,} states")
            return _Product(g, counter)
        # the monolithic automaton of such rules is no smaller than their product
        err = AutomatonTooLarge(
            f"the product counter of its {len(counted)} rules needs {size:,} states (the limit is {limit:,})"
        )
        return _over_budget(g, max_states, approx, stats, err, "its rules' counters make a product over the budget")
    try:
        part = _Automaton(g, max_states)
    except AutomatonTooLarge as err:
        return _over_budget(g, max_states, approx, stats, err)
    stats.automata.append(part.n_states)
    stats.parts.append(PartInfo(g, "automaton", part.n_states))
    return part


def _over_budget(
    g: A.Formula, max_states: int, approx: str | None, stats: _Stats, err: AutomatonTooLarge,
    why: str = "it is not a closed form or a counter",
) -> _Part:
    """Certified bounds for a part over the budget when asked for, else the error naming it."""
    if approx == "bounds" and isinstance(g, (A.And, A.Or)):
        kind = "and" if isinstance(g, A.And) else "or"
        stats.split.append(f"{to_text(g)} into its {len(g.args)} {'conjuncts' if kind == 'and' else 'disjuncts'}")
        subs = [_build(factor(a), max_states, approx, stats) for a in g.args]
        return _Frechet(kind, subs)
    if approx == "bounds" and isinstance(g, _WINDOWED):
        stats.windows.append(to_text(g))
        stats.parts.append(PartInfo(g, "certified bounds"))
        return _WindowBounds(g, _build(factor(g.arg), max_states, approx, stats))
    covers = "approx='bounds' covers parts with &, |, F, G, O or H at the top"
    if isinstance(g, (A.And, A.Or, *_WINDOWED)):
        hint = f"raise max_states, or pass approx='bounds' for certified lower/upper bounds ({covers})"
    else:
        hint = f"raise max_states, or use shorter time windows / a lower frame rate ({covers}, not this part)"
    raise AutomatonTooLarge(
        f"the part {to_text(g)} has no exact evaluation within the automaton budget "
        f"(max_states={max_states}): {why}, and its propositions are shared so it cannot be split "
        f"into independent parts; {hint}. The automaton construction said: {err}"
    ) from err


_WINDOWED = (A.Eventually, A.Always, A.Once, A.Historically)


def _has_closed_form(g: A.Formula) -> bool:
    match g:
        case A.Next(p) | A.WeakNext(p) | A.Prev(p):
            return is_propositional(p)
        case A.Eventually(p, _) | A.Always(p, _) | A.Once(p, _) | A.Historically(p, _):
            return is_propositional(p)
        case A.Until(p, q, _) | A.Since(p, q, _) | A.Release(p, q, _) | A.WeakUntil(p, q, _) | A.StrongRelease(p, q, _):
            return is_propositional(p) and is_propositional(q)
    return False
