"""Exact counters for bounded rules ``G (p -> ...)``, alone or as a product.

A *rule* is ``G (p -> B)`` with propositional ``p`` and a bounded body ``B``:

* past: ``O[0,b] q``, ``H[0,b] q``, ``q S[0,b] r``;
* future: ``q U[0,b] r`` and ``F[0,b] q`` (``true U[0,b] q``).

Under per-frame independence the signal ``P((w, i) |= G (p -> B))`` is one
backward pass with ``b + 1`` numbers per frame and, for past bodies, one
forward pass of ``b + 1`` numbers:

* **past**: going backwards, every ``p`` frame ``k >= i`` leaves a
  requirement on the frames before it (``O``: a ``q`` within the next ``t``
  frames back; ``H``: ``q`` on all of them; ``S``: an ``r`` within them with
  ``q`` on the frames passed). Only the tightest one matters, so the state is
  one count ``t <= b``. ``R_i(t)`` = P(the frames ``i..`` keep every rule
  instance ``k >= i`` and leave requirement ``t`` on the frames before ``i``),
  and ``Q_i(t)`` = P(frames ``0..i-1`` meet requirement ``t``) (windows
  clipped at frame 0 as the semantics clip them), computed forwards. The
  signal is ``sum_t R_i(t) Q_i(t)``;
* **future**: the state is the time left for the oldest pending obligation
  (any ``r`` discharges them all, and the oldest has the earliest deadline);
  ``V_i(u)`` = P(frames ``i..`` keep every rule | state ``u`` before ``i``),
  and the signal is ``V_i(0)``.

Every per-frame operator is a sum of a few shifted copies ("bands"), sums
("fan-in") and broadcasts ("fan-out") over the counter, each weighted by the
probability of a propositional class (``q``, ``p & !q``, ...), so a frame costs
``O(b)`` contiguous multiply-adds.

One rule alone (``b >= 1``) needs none of that: its counter's entries are
sliding-window sums of one inserted value per frame scaled by a product of one
class per frame, and so is its dot product with the forward counter; blocks of
``b`` frames give every window as a running suffix plus a tabulated prefix of
the next block, ``O(1)`` per frame whatever ``b``, with products and sums of
non-negative numbers only (:func:`.kernels.counter_window`).

Rules that share propositions form a **product counter**: the state is the
tuple of counters (a dense array over their product), past rules first. Given
the shared atoms' values ``x`` at a frame, the rules' classes are independent
(each depends on its own atoms otherwise), so the frame's operator is
``sum_x P(x) (M_1|x ⊗ ... ⊗ M_m|x)``, applied one axis at a time: a frame costs
``2^|shared| · sum_j (ops of rule j) · (product states)``. The forward
``Q`` is stored only every ``block`` frames and recomputed block by block
during the backward pass (memory ``O(sqrt(n) · states)``).

**Two rules** (every shared-atom spec of the suite) take a faster route,
:func:`.kernels.counter_pair`: the frame's operator is also
``sum_{o1,o2} P(class o1 & class o2) op1_{o1} ⊗ op2_{o2}``, one coefficient per
pair of ops (``sum_x P(x) P(c1|x) P(c2|x)``, a few dozen multiply-adds per
frame), so the shared atoms' values are summed out before the counter is
touched, not once per value. Rule 1's ops only choose which source row (or
sum of rows) feeds a destination row, so every destination row is written once,
in L1, from at most two source rows (a band's range in one fused pass: fan-out
constant plus both rows), and rule 2's fan-ins read one sum per source row. One
past rule (with one future rule) needs no forward pass at all: as for a single
past rule, ``sum_t R_i(t, 0) Q_i(t)`` is a Horner sum over the ``b`` frames
before ``i``. A frame then costs a few operations per product state, with no
temporaries and no Python per frame.

**Three or more rules** take the same route, :func:`.kernels.counter_joint`: one
coefficient per tuple of the rules' ops, ``sum_x P(x) prod_j P(class o_j | x)``
(built one rule at a time per ``x``: about ``2^|shared| · 4^k`` multiply-adds per
frame), and every destination row of the last (contiguous) rule written once. The
first ``k - 1`` rules' ops only pick the source row, a tuple of their coordinates;
the array is *extended* by one slot per fan-in range (its sum, filled after the
rows are written) and, on those ``k - 1`` axes, one per fan-out (the broadcast row,
written once and then added to the rows it covers), so a destination row reads
about one source row: the (destination, source, op tuple) triples are listed once,
up front. The suite's 4-rule product (16,896 states at 5 fps, 221,991 at 10 fps)
runs at 1.7-3e8 state-frames/s on one core, four to seven times the axis-by-axis
product (benchmarks/product_counters.py).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from framelogic.logic import ast as A
from framelogic.logic.passes import atom_names, map_children

from . import kernels as K

__all__ = ["JOINT_STATES_PER_BUDGET", "PAIR_STATES_PER_BUDGET", "PAST_KINDS", "Product", "Rule", "budget", "product", "rule_of", "rules_of"]

PAST_KINDS = ("once", "historically", "since")
BAND, FANIN, FANOUT = 0, 1, 2


def _propositional(f: A.Formula) -> bool:
    from .plan import is_propositional

    return is_propositional(f)


@dataclass(frozen=True)
class Rule:
    """``G (p -> B)``: ``kind`` names ``B`` (``once``/``historically``: ``B = O/H[0,b] q``;
    ``since``: ``q S[0,b] r``; ``until``: ``q U[0,b] r``, ``F[0,b] r`` with ``q = true``)."""

    kind: str
    p: A.Formula
    q: A.Formula
    r: A.Formula
    bound: int

    @property
    def past(self) -> bool:
        return self.kind in PAST_KINDS

    @property
    def n_states(self) -> int:
        return self.bound + 1

    @property
    def atoms(self) -> frozenset[str]:
        return frozenset(atom_names(self.p)) | frozenset(atom_names(self.q)) | frozenset(atom_names(self.r))

    def ops(self) -> tuple[list[A.Formula], list[tuple], list[tuple], str]:
        """``(classes, backward ops, forward ops, forward start)``: an op is
        ``(kind, row, col, length, class)`` (see :func:`.kernels.counter_axis`);
        the forward start is ``"first"`` (only requirement 0 is met by no frames) or ``"all"``."""
        p, q, r, b = self.p, self.q, self.r, self.bound
        neg, conj, disj = A.neg, A.conj, A.disj
        if self.kind == "once":
            cls = [disj(q, neg(p)), q, neg(q), conj(p, neg(q)), A.TRUE]
            back = [(FANIN, 0, 0, 1, 0), (FANIN, 0, 1, b, 1), (BAND, 1, 2, b - 1, 2), (FANIN, b, 0, 1, 3)]
            fwd = [(FANIN, 0, 0, 1, 4), (FANOUT, 1, 0, b, 1), (BAND, 2, 1, b - 1, 2)]
            start = "first"
        elif self.kind == "historically":
            cls = [neg(p), conj(neg(p), q), conj(p, q), q, A.TRUE]
            back = [(FANIN, 0, 0, 1, 0), (BAND, 0, 1, b, 1), (FANIN, b, 0, b + 1, 2)]
            fwd = [(FANIN, 0, 0, 1, 4), (BAND, 1, 0, b, 3)]
            start = "all"
        elif self.kind == "since":
            cls = [disj(neg(p), r), conj(p, neg(r), q), r, conj(neg(r), q), A.TRUE]
            back = [(FANIN, 0, 0, 1, 0), (FANIN, b, 0, 1, 1), (FANIN, 0, 1, b, 2), (BAND, 1, 2, b - 1, 3)]
            fwd = [(FANIN, 0, 0, 1, 4), (FANOUT, 1, 0, b, 2), (BAND, 2, 1, b - 1, 3)]
            start = "first"
        else:  # until: pull form over the time left u (0 = nothing pending)
            cls = [disj(neg(p), r), conj(p, neg(r), q), r, conj(neg(r), q)]
            back = [(FANIN, 0, 0, 1, 0), (FANIN, 0, b, 1, 1), (FANOUT, 1, 0, b, 2), (BAND, 2, 1, b - 1, 3)]
            fwd, start = [], "first"
        if b == 0:  # the b-dependent ops would touch states that do not exist (or state 0 twice)
            keep = {"once": [0], "historically": [0, 2], "since": [0], "until": [0]}[self.kind]
            back = [back[j] for j in keep]
            fwd = fwd[:1]
        back = [o for o in back if o[3] > 0]
        fwd = [o for o in fwd if o[3] > 0]
        return cls, back, fwd, start


def rule_of(g: A.Formula) -> Rule | None:
    """The :class:`Rule` ``g`` is, or ``None``."""
    if not isinstance(g, A.Always) or not g.bound.is_trivial:
        return None
    body = g.arg
    p: A.Formula = A.TRUE
    match body:
        case A.Implies(left, right):
            p, body = left, right
        case A.Or(args):
            props = [x for x in args if _propositional(x)]
            if props:
                p = A.neg(A.disj(*props))
                body = _merged([x for x in args if not _propositional(x)], A.Or)
    if isinstance(body, (A.Or, A.And)):
        body = _merged(list(body.args), type(body))
    if body is None or not _propositional(p):
        return None
    match body:
        case A.Once(q, bd) | A.Historically(q, bd):
            kind, r = ("once" if isinstance(body, A.Once) else "historically"), A.TRUE
        case A.Eventually(r, bd):
            kind, q = "until", A.TRUE
        case A.Since(q, r, bd):
            kind = "since"
        case A.Until(q, r, bd):
            kind = "until"
        case _:
            return None
    if not (_propositional(q) and _propositional(r)):
        return None
    lo, hi = bd.frames(None)
    if lo != 0 or hi is None:
        return None
    return Rule(kind, p, q, r, int(hi))


def _merged(args: list[A.Formula], kind: type) -> A.Formula | None:
    """``O a | O b`` as ``O (a | b)`` (``F`` too), ``H a & H b`` as ``H (a & b)``, over one
    bound (the factoring normal form distributes them); one argument as is."""
    if len(args) == 1:
        return args[0]
    ops = (A.Once, A.Eventually) if kind is A.Or else (A.Historically,)
    first = args[0] if args else None
    if first is None or not isinstance(first, ops) or any(type(x) is not type(first) or x.bound != first.bound for x in args):
        return None
    join = A.disj if kind is A.Or else A.conj
    return type(first)(join(*(x.arg for x in args)), first.bound)


def rules_of(g: A.Formula) -> list[Rule] | None:
    """The rules of a conjunction of rules (or of one rule), or ``None``."""
    out = []
    for c in g.args if isinstance(g, A.And) else (g,):
        r = rule_of(c)
        if r is None:
            return None
        out.append(r)
    return out


def _cofactor(f: A.Formula, values: dict[str, bool]) -> A.Formula:
    def go(g: A.Formula) -> A.Formula:
        if isinstance(g, A.Atom) and g.name in values:
            return A.Const(values[g.name])
        return map_children(g, go)

    return go(f)


@dataclass
class Product:
    """A product counter over rules sharing atoms: past rules first, then future ones."""

    rules: list[Rule]
    shared: tuple[str, ...]
    n_states: int

    def __post_init__(self) -> None:
        rules = self.rules
        self.past = [r for r in rules if r.past]
        sizes = [r.n_states for r in rules]
        past_sizes = [r.n_states for r in self.past]
        self.stride = math.prod(r.n_states for r in rules if not r.past)
        self.assignments = [dict(zip(self.shared, bits)) for bits in itertools.product([False, True], repeat=len(self.shared))]
        classes: list[A.Formula] = []
        back_ops, fwd_ops, back_rng, fwd_rng = [], [], [], []
        q0 = np.ones(1)
        for j, rule in enumerate(rules):
            cls, back, fwd, start = rule.ops()
            base = len(classes)
            classes.extend(cls)
            back_rng.append((len(back_ops), len(back_ops) + len(back)))
            back_ops.extend((k, rs, cs, ln, c + base) for k, rs, cs, ln, c in back)
            if rule.past:
                fwd_rng.append((len(fwd_ops), len(fwd_ops) + len(fwd)))
                fwd_ops.extend((k, rs, cs, ln, c + base) for k, rs, cs, ln, c in fwd)
                first = np.zeros(rule.n_states)
                first[0] = 1.0
                q0 = np.kron(q0, np.ones(rule.n_states) if start == "all" else first)
        self.classes = classes
        self.back = _layout(back_ops, back_rng, sizes)
        self.fwd = _layout(fwd_ops, fwd_rng, past_sizes)
        self.q0 = q0
        self.r_end = np.zeros(self.n_states)
        self.r_end[0] = 1.0
        self._joint_args: tuple | None = None

    def coefficients(self, prob: Callable[[A.Formula], np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(coef[n, x, class], weight[n, x])``: the class probabilities given the shared
        atoms' values ``x`` (over the rules' own atoms) and ``P(x)``."""
        coef, weight = self.columns(prob, n)
        return np.ascontiguousarray(coef.transpose(2, 0, 1)), np.ascontiguousarray(weight.T)

    def columns(self, prob: Callable[[A.Formula], np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`coefficients` as ``(coef[x, class, n], weight[x, n])`` (one column per row)."""
        nx = len(self.assignments)
        coef = np.empty((nx, len(self.classes), n))
        weight = np.ones((nx, n))
        for x, values in enumerate(self.assignments):
            for g, c in enumerate(self.classes):
                coef[x, g] = prob(_cofactor(c, values))
            for name, v in values.items():
                px = prob(A.atom(name))
                weight[x] *= px if v else 1.0 - px
        return coef, weight

    def __call__(
        self, prob: Callable[[A.Formula], np.ndarray], n: int, window: bool = True, pair: bool = True,
        joint: bool | None = None,
    ) -> np.ndarray:
        """The signal over ``n`` frames: one rule through :func:`.kernels.counter_window`, two
        through :func:`.kernels.counter_pair`, three or more through
        :func:`.kernels.counter_joint`. For the tests and benchmarks: ``window=False`` runs one
        rule alone through the ``O(n·b)`` counter, ``pair=False`` two or more rules through
        the axis-by-axis product, ``joint=True`` any number of rules through the joint
        kernel (``False``: never)."""
        if window and len(self.rules) == 1 and self.rules[0].bound > 0 and n > 0 and not joint:
            return _window(self.rules[0], prob, n)
        if n > 0 and (joint or (joint is None and pair and len(self.rules) >= 3 and self._joint_pays())):
            return self._joint(prob, n)
        if pair and len(self.rules) == 2 and n > 0:
            return self._pair(prob, n)
        coef, weight = self.coefficients(prob, n)
        out = np.empty(n)
        if len(self.rules) == 1 and self.past:
            rule = self.rules[0]
            kind = PAST_KINDS.index(rule.kind)
            b = rule.bound
            before = 0.0 if kind == 2 else 1.0  # the frames before 0, as the clipped windows read them
            pad = lambda x: np.concatenate([np.full(b, before), x])  # noqa: E731
            hx = pad(coef[:, 0, 2] if kind != 1 else coef[:, 0, 3])
            hy = pad(coef[:, 0, 3]) if kind == 2 else hx
            K.fast(K.counter_single_past, n * self.n_states // 8)(
                *self.back, coef, weight, self.r_end.copy(), kind, hx, hy, out
            )
            return np.clip(out, 0.0, 1.0)
        block = max(16, int(math.isqrt(n)))
        K.fast(K.counter_product, n * self.n_states // 8)(
            *self.back, *self.fwd, coef, weight, self.r_end.copy(), self.q0.copy(), self.stride, block, out
        )
        return np.clip(out, 0.0, 1.0)

    def _pair(self, prob: Callable[[A.Formula], np.ndarray], n: int) -> np.ndarray:
        """Two rules through :func:`.kernels.counter_pair`: per frame and pair of ops, the
        probability of both ops' classes (the shared atoms summed out once, up front)."""
        first, second = self.rules
        (cls1, back1, fwd1, _), (_, back2, fwd2, _) = first.ops(), second.ops()
        coef, weight = self.columns(prob, n)  # classes given the shared atoms' values x, P(x)
        base2 = len(cls1)  # rule 2's classes follow rule 1's in self.classes

        def classes(ops1: list[tuple], ops2: list[tuple]) -> np.ndarray:
            """``[o1, o2] -> (class of o1, class of o2)`` in ``coef``: the kernel sums
            ``P(x) P(c1 | x) P(c2 | x)`` over ``x`` per frame."""
            out = np.zeros((max(1, len(ops1)), max(1, len(ops2)), 2), dtype=np.int64)
            for a, o1 in enumerate(ops1):
                for b, o2 in enumerate(ops2):
                    out[a, b] = (o1[4], o2[4] + base2)
            return out

        b_args = (_as_ops(back2), *_rows(back1, first.n_states), classes(back1, back2))
        if len(self.past) == 2:
            f_args = (_as_ops(fwd2), *_rows(fwd1, first.n_states), classes(fwd1, fwd2))
        else:  # no forward pass: none (future rules) or a Horner sum (one past rule)
            ident = [(BAND, 0, 0, 1, 0)]
            f_args = (_as_ops(ident), *_rows(ident, 1), classes(ident, ident))
        past_kind, hx, hy = -1, np.zeros(1), np.zeros(1)
        if len(self.past) == 1:
            past_kind = PAST_KINDS.index(first.kind)
            b = first.bound
            before = 0.0 if past_kind == 2 else 1.0  # the frames before 0, as the clipped windows read them
            pad = lambda x: np.concatenate([np.full(b, before), x])  # noqa: E731
            hx = pad(prob(cls1[(2, 3, 2)[past_kind]]))
            hy = pad(prob(cls1[3])) if past_kind == 2 else hx
        out = np.empty(n)
        block = max(16, int(math.isqrt(n)))
        K.fast(K.counter_pair, n * self.n_states // 8)(
            *b_args, *f_args, coef, weight, len(self.past) == 2, self.r_end.copy(), self.q0.copy(), self.stride, block, out,
            past_kind, hx, hy,
        )
        return np.clip(out, 0.0, 1.0)


    def _joint_pays(self) -> bool:
        """Whether the joint kernel's per-frame coefficients (one per tuple of the rules'
        ops, ``4^k`` for ``k`` rules) stay below the counter's own work: many rules with
        tiny bounds run the axis product instead."""
        return math.prod(len(r.ops()[1]) for r in self.rules) <= 4 * self.n_states

    def _joint(self, prob: Callable[[A.Formula], np.ndarray], n: int) -> np.ndarray:
        """Any number of rules through :func:`.kernels.counter_joint` (extended arrays:
        :func:`_joint_layout`)."""
        if self._joint_args is None:
            rules, past = self.rules, self.past
            bases = list(itertools.accumulate([len(r.ops()[0]) for r in rules], initial=0))
            back, b_strides, b_size = _joint_layout([r.ops()[1] for r in rules], [r.n_states for r in rules], bases)
            r_end = np.zeros(b_size)
            r_end[0] = 1.0
            K.joint_fans(back[6], r_end)
            if past:
                fwd, f_strides, f_size = _joint_layout([r.ops()[2] for r in past], [r.n_states for r in past], bases)
            else:  # no forward pass: Q is the one number 1
                fwd, f_strides, f_size = _joint_layout([[(FANIN, 0, 0, 1, 0)]], [1], [0])
            reqs = list(itertools.product(*(range(r.n_states) for r in past)))
            ridx = np.array([sum(t * s for t, s in zip(ts, b_strides)) for ts in reqs], dtype=np.int64)
            qidx = np.array([sum(t * s for t, s in zip(ts, f_strides)) for ts in reqs], dtype=np.int64)
            q0 = np.zeros(f_size)
            q0[qidx] = self.q0
            K.joint_fans(fwd[6], q0)
            self._joint_args = (back, fwd, r_end, q0, ridx, qidx)
        back, fwd, r_end, q0, ridx, qidx = self._joint_args
        coef, weight = self.coefficients(prob, n)
        out = np.empty(n)
        block = max(16, int(math.isqrt(n)))
        K.fast(K.counter_joint, n * self.n_states // 8)(
            *back, *fwd, coef, weight, bool(self.past), r_end.copy(), q0.copy(), ridx, qidx, block, out
        )
        return np.clip(out, 0.0, 1.0)


def _joint_layout(
    ops: list[list[tuple]], sizes: list[int], bases: list[int]
) -> tuple[tuple[np.ndarray, ...], list[int], int]:
    """``((dst_row, row_start, trip_src, trip_oo, ops_last, spread, fans, cls, nops), strides,
    size)`` of :func:`.kernels.counter_joint_step` for rules with ``ops`` (of
    :meth:`Rule.ops`, classes offset by ``bases``) over counters of ``sizes``, the last axis
    contiguous.

    Every axis gets one extra slot per fan-in range it reads (the range's sum,
    :func:`.kernels.joint_fans`), and each of the first ``k - 1`` axes one per fan-out (the
    row it broadcasts, written once and spread over its rows afterwards,
    :func:`.kernels.joint_spread`). A destination row then reads one source row per choice
    of the first ``k - 1`` rules' remaining ops, mostly one: the triples list those choices
    once, for every destination row."""
    k = len(ops)
    slots: list[dict[tuple[int, int], int]] = []
    spreads: list[dict[int, int]] = []  # fan-out op -> its slot (the first k - 1 axes)
    for j in range(k):
        ranges: dict[tuple[int, int], int] = {}
        for kind, _, cs, length, _ in ops[j]:
            if kind == FANIN and length > 1 and (cs, length) not in ranges:
                ranges[(cs, length)] = sizes[j] + len(ranges)
        slots.append(ranges)
        outs = [o for o, op in enumerate(ops[j]) if op[0] == FANOUT] if j < k - 1 else []
        spreads.append({o: sizes[j] + len(ranges) + m for m, o in enumerate(outs)})
    dims = [sizes[j] + len(slots[j]) + len(spreads[j]) for j in range(k)]
    strides = [math.prod(dims[j + 1 :]) for j in range(k)]
    fans = [
        (math.prod(dims[:j]), dims[j], strides[j], slot, cs, length)
        for j in range(k)
        for (cs, length), slot in slots[j].items()
    ]
    spread = [
        (math.prod(dims[:j]), dims[j], strides[j], slot, ops[j][o][1], ops[j][o][3])
        for j in range(k)
        for o, slot in spreads[j].items()
    ]
    nops = [len(o) for o in ops]
    op_strides = [math.prod(nops[j + 1 :]) for j in range(k)]

    def entries(j: int) -> list[list[tuple[int, int]]]:
        """Per written row of axis ``j`` (its states, then its fan-out slots): the ops
        writing it and the (extended) index each reads."""
        into: list[list[tuple[int, int]]] = [[] for _ in range(sizes[j] + len(spreads[j]))]
        for o, (kind, rs, cs, length, _) in enumerate(ops[j]):
            if kind == BAND:
                for d in range(length):
                    into[rs + d].append((o, cs + d))
            elif kind == FANOUT:
                into[spreads[j][o] - len(slots[j])].append((o, cs))
            else:
                into[rs].append((o, cs if length == 1 else slots[j][(cs, length)]))
        return into

    def place(j: int, u: int) -> int:
        return u if u < sizes[j] else u + len(slots[j])

    outer = [entries(j) for j in range(k - 1)]
    dst_row, row_start, trip_src, trip_oo = [], [0], [], []
    for us in itertools.product(*(range(len(e)) for e in outer)):
        dst_row.append(sum(place(j, u) * strides[j] for j, u in enumerate(us)))
        for combo in itertools.product(*(outer[j][u] for j, u in enumerate(us))):
            trip_src.append(sum(v * strides[j] for j, (_, v) in enumerate(combo)))
            trip_oo.append(sum(o * op_strides[j] for j, (o, _) in enumerate(combo)))
        row_start.append(len(trip_src))
    last = [
        (kind, rs, cs if kind != FANIN or length == 1 else slots[-1][(cs, length)], 1 if kind == FANIN else length)
        for kind, rs, cs, length, _ in ops[-1]
    ]
    last.append((sizes[-1], 0, 0, 0))
    cls = np.zeros((k, max(nops)), dtype=np.int64)
    for j in range(k):
        cls[j, : nops[j]] = [c + bases[j] for *_, c in ops[j]]
    as_int = lambda xs, w: np.array(xs, dtype=np.int64).reshape(-1, w)  # noqa: E731
    flat = lambda xs: np.array(xs, dtype=np.int64)  # noqa: E731
    arrays = (
        flat(dst_row), flat(row_start), flat(trip_src), flat(trip_oo),
        as_int(last, 4), as_int(spread, 6), as_int(fans, 6), cls, np.array(nops, dtype=np.int64),
    )
    return arrays, strides, math.prod(dims)


def _as_ops(ops: list[tuple]) -> np.ndarray:
    return np.array([o[:4] for o in ops], dtype=np.int64).reshape(-1, 4)


def _rows(ops: list[tuple], size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(table[size, K, 2], n_in[size], fan[F, 2])`` of :func:`.kernels.counter_pair_step`:
    the ops of the first rule that write each row, and from which row (``>= size``: a fan-in's sum)."""
    into: list[list[tuple[int, int]]] = [[] for _ in range(size)]
    fan: list[tuple[int, int]] = []
    for o, (kind, rs, cs, length, _) in enumerate(ops):
        if kind == BAND:
            for d in range(length):
                into[rs + d].append((o, cs + d))
        elif kind == FANOUT:
            for d in range(length):
                into[rs + d].append((o, cs))
        elif length == 1:
            into[rs].append((o, cs))
        else:
            fan.append((cs, length))
            into[rs].append((o, size + len(fan) - 1))
    width = max([1, *(len(x) for x in into)])
    table = np.zeros((size, width, 2), dtype=np.int64)
    for u, xs in enumerate(into):
        if xs:
            table[u, : len(xs)] = xs
    n_in = np.array([len(x) for x in into], dtype=np.int64)
    return table, n_in, np.array(fan, dtype=np.int64).reshape(-1, 2)


# the classes of Rule.ops each kind reads as (alpha, beta, gamma, delta, hq); -1: unused
_WINDOW_CLASSES = {
    "once": (0, 1, 3, 2, -1),
    "historically": (0, -1, 2, 1, 3),
    "since": (0, 2, 1, 3, -1),
    "until": (0, 1, 2, 3, -1),
}
_WINDOW_KINDS = {"once": 0, "historically": 1, "since": 2, "until": 3}


def _window(rule: Rule, prob: Callable[[A.Formula], np.ndarray], n: int) -> np.ndarray:
    """One rule alone with ``b >= 1`` in ``O(n)`` (:func:`.kernels.counter_window`)."""
    b = rule.bound
    size = ((n + b - 1) // b + 1) * b
    classes = rule.ops()[0]

    def col(c: int, pad: float) -> np.ndarray:
        x = np.empty(size)
        x[n:] = pad
        x[:n] = prob(classes[c]) if c >= 0 else pad
        return x

    a, be, ga, de, hq = _WINDOW_CLASSES[rule.kind]
    out = np.empty(n)
    K.fast(K.counter_window, n)(
        _WINDOW_KINDS[rule.kind], b, col(a, 0.0), col(be, 0.0), col(ga, 0.0), col(de, 1.0), col(hq, 1.0), n, out
    )
    return np.clip(out, 0.0, 1.0)


def _layout(ops: list[tuple], ranges: list[tuple[int, int]], sizes: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ops[n_ops, 5], ranges[m, 2], dims[m, 3])`` with ``dims[j] = (A, S_j, B)``: the array
    over the product viewed as ``A x S_j x B`` around axis ``j``."""
    dims = [(math.prod(sizes[:j]), sizes[j], math.prod(sizes[j + 1 :])) for j in range(len(sizes))]
    as_int = lambda xs, w: np.array(xs, dtype=np.int64).reshape(-1, w)  # noqa: E731
    return as_int(ops, 5), as_int(ranges, 2), as_int(dims, 3)


def product_size(rules: list[Rule]) -> int:
    return math.prod(r.n_states for r in rules)


# What a product state costs per frame, measured on the suite's specs (one core of the
# 2-core box, benchmarks/product_counters.py): the pair kernel 1.1-2.4e9 state-frames/s
# at 5k-55k states, the joint kernel (3+ rules) 1.7-3e8 at 7k-222k states, the
# axis-by-axis product it replaced 4-5e7. Budgets keep the worst frame about equally dear: a pair may carry four
# times max_states (~0.2-0.4 ms per frame at 400k states), three or more rules
# max_states (~0.3-0.6 ms per frame at 100k).
PAIR_STATES_PER_BUDGET = 4
JOINT_STATES_PER_BUDGET = 1


def budget(rules: list[Rule], max_states: int) -> int:
    """The most product states the planner gives ``rules`` under ``max_states``.

    >>> budget([None, None], 100_000), budget([None] * 3, 100_000)
    (400000, 100000)
    """
    return (PAIR_STATES_PER_BUDGET if len(rules) == 2 else JOINT_STATES_PER_BUDGET) * max_states


def product(rules: list[Rule]) -> Product:
    """The product counter of ``rules`` (shared atoms: those of two or more rules)."""
    seen: dict[str, int] = {}
    for r in rules:
        for a in r.atoms:
            seen[a] = seen.get(a, 0) + 1
    shared = tuple(sorted(a for a, c in seen.items() if c > 1))
    # smallest counters outermost: an axis then runs over long contiguous rows
    by_size = sorted(rules, key=lambda r: r.n_states)
    ordered = [r for r in by_size if r.past] + [r for r in by_size if not r.past]
    return Product(ordered, shared, product_size(rules))
