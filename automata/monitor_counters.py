"""Exact forward filters for bounded rules: the counters a :class:`~.monitor.Monitor` steps.

:mod:`.counters` evaluates conjunctions of rules ``G (p -> B)`` offline (a
backward and a forward pass). A monitor reads one frame at a time and needs,
after every frame ``i``, three numbers about the *prefix* ``w[0..i]``:
``P(prefix |= φ)``, ``P(certainly satisfied)`` and ``P(certainly violated)``.
Here every rule is a small deterministic counter over the frames read so far,
and a conjunction is the filtering distribution over the product of its
counters (plus one number: the mass already violated).

Rules (``p``, ``q``, ``r`` propositional, ``b`` frames):

* ``G (p -> O[0,b] q)``: the counter is the number of frames since the last
  ``q`` (``b + 1`` = none within the window); ``H[0,b] q``: since the last
  ``!q``; ``G (p -> (q S[0,b] r))``: since the last ``r`` from which ``q`` held
  throughout. A ``p`` frame whose counter is out of (``H``: in) the window
  violates the rule: past rules never wait.
* ``G (p -> (q U[0,b] r))`` and ``G (p -> F[0,b] r)``: the counter is the
  number of frames left for the oldest pending obligation (0: none pending).
  Any ``r`` discharges every pending obligation, the oldest has the earliest
  deadline, so one number is the whole story. A pending obligation at the
  end of the prefix makes the prefix fail (the finite-trace semantics clip
  the window), so only counter 0 accepts.
* Rules with the same kind and the same ``q`` and ``r`` share one counter
  (``G (red -> F[0,3s] stopped) & G (stop_sign -> F[0,5s] stopped)`` is one
  counter of ``5s`` frames, not a product): their obligations are discharged by
  the same frames, and only the tightest one matters.
* ``G (p -> F[lo,hi] r)`` with ``lo > 0`` (a *delayed* window), alone in its
  part and with ``p`` and ``r`` over disjoint atoms: ``p`` read ``lo`` frames
  late is an independent input of an ``F[0,hi-lo] r`` counter, and the ``p``
  frames of the last ``lo`` frames are obligations whose window has not opened
  (they make the prefix fail, and are not violations yet).

Under per-frame independence the frame's effect on a product of counters is
``sum_x P(x) (M_1|x ⊗ ... ⊗ M_m|x)`` over the values ``x`` of the atoms that
several counters read, each ``M_j|x`` a sum of deterministic maps of counter
``j`` weighted by the probabilities of the counter's other atoms: a frame
costs ``2^|shared| · (maps per state) · (product states)``, flat in nothing
but exact. On 0/1 frames each counter is one integer and a frame costs
``O(number of counters)``.

**Two counters** (:func:`pair_step`) sum the shared atoms out first, as
:func:`.kernels.counter_pair_step` does offline: every counter's maps are cut into
runs shared by its maps (:func:`elementary_runs`: a shift, a reset, a clamp), the
frame's operator is ``sum_{e1,e2} c(e1, e2) run1_{e1} ⊗ run2_{e2}`` with one
coefficient per pair of runs, and every row of counter 1 (or the sum of the rows a
reset sends to one row) goes once through counter 2's runs: a few operations per
product state, whatever the number of shared atoms. Two counters get
:func:`.counters.budget`'s pair budget (4 x ``max_states``).

Verdicts are exact (equal to the minimal automaton's RV-LTL verdicts):
violations are final, a rule is certainly satisfied only when it is valid
(its ``p & !body`` can never happen), and every non-violated state of the
product has an accepting continuation — :func:`counter_filter` checks the
last with one propositional question (can one frame make every past rule's
``p`` false and every future rule's ``r`` true?) and returns ``None`` when it
fails, so the monitor falls back to an automaton.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from framelogic.logic import ast as A
from framelogic.logic.errors import AutomatonTooLarge, InvalidArgument, TraceError
from framelogic.logic.passes import atom_names
from framelogic.logic.printer import to_text

from . import counters as C
from . import kernels as K
from .letters import letter_of

__all__ = ["BoundsFilter", "CounterFilter", "counter_filter", "estimate_states"]

# propositional connectives the truth tables below evaluate
_PROP = (A.Const, A.Atom, A.Not, A.And, A.Or, A.Implies, A.Iff)


def truth_table(f: A.Formula, atoms: Sequence[str]) -> np.ndarray:
    """``f`` on every assignment of ``atoms`` (bit ``i`` of the index = ``atoms[i]``)."""
    n = 1 << len(atoms)
    idx = np.arange(n)
    pos = {a: i for i, a in enumerate(atoms)}

    def go(g: A.Formula) -> np.ndarray:
        match g:
            case A.Const(v):
                return np.full(n, bool(v))
            case A.Atom(name):
                return ((idx >> pos[name]) & 1).astype(bool)
            case A.Not(a):
                return ~go(a)
            case A.And(args):
                out = np.ones(n, dtype=bool)
                for a in args:
                    out &= go(a)
                return out
            case A.Or(args):
                out = np.zeros(n, dtype=bool)
                for a in args:
                    out |= go(a)
                return out
            case A.Implies(a, b):
                return ~go(a) | go(b)
            case A.Iff(a, b):
                return go(a) == go(b)
        raise InvalidArgument(f"{to_text(g)} is not propositional")  # pragma: no cover

    return go(f)


# ------------------------------------------------------------------ groups of rules


@dataclass
class _Group:
    """Rules of one kind with the same ``q`` and ``r``: one counter."""

    kind: str
    q: A.Formula
    r: A.Formula
    rules: list[tuple[A.Formula, int]] = field(default_factory=list)  # (p, bound)
    delay: int = 0  # a delayed window: p is read `delay` frames late (a fresh input atom)

    @property
    def past(self) -> bool:
        return self.kind in C.PAST_KINDS

    @property
    def top(self) -> int:
        return max(b for _, b in self.rules)

    @property
    def n_states(self) -> int:
        return self.top + 2 if self.past else self.top + 1

    @property
    def initial(self) -> int:
        return self.top + 1 if self.past else 0

    def atoms(self) -> tuple[str, ...]:
        names: set[str] = set(atom_names(self.q)) | set(atom_names(self.r))
        for p, _ in self.rules:
            names |= set(atom_names(p))
        return tuple(sorted(names))

    def accepting(self) -> np.ndarray:
        acc = np.zeros(self.n_states, dtype=bool)
        if self.past:
            acc[:] = True
        else:
            acc[0] = True
        return acc

    def table(self, atoms: Sequence[str]) -> np.ndarray:
        """``dst[assignment, state]``: the next state (-1: violated)."""
        S, N = self.n_states, self.top + 1
        q, r = truth_table(self.q, atoms), truth_table(self.r, atoms)
        ps = [(truth_table(p, atoms), b) for p, b in self.rules]
        t = np.arange(S)
        out = np.empty((len(q), S), dtype=np.int64)
        for a in range(len(q)):
            if self.kind == "once":
                nxt = np.zeros(S, dtype=np.int64) if q[a] else np.minimum(t + 1, N)
                bad = np.zeros(S, dtype=bool)
                for p, b in ps:
                    if p[a]:
                        bad |= nxt > b
            elif self.kind == "historically":
                nxt = np.zeros(S, dtype=np.int64) if not q[a] else np.minimum(t + 1, N)
                bad = np.zeros(S, dtype=bool)
                for p, b in ps:
                    if p[a]:
                        bad |= nxt <= b
            elif self.kind == "since":
                if r[a]:
                    nxt = np.zeros(S, dtype=np.int64)
                elif q[a]:
                    nxt = np.where(t == N, N, np.minimum(t + 1, N))
                else:
                    nxt = np.full(S, N, dtype=np.int64)
                bad = np.zeros(S, dtype=bool)
                for p, b in ps:
                    if p[a]:
                        bad |= nxt > b
            else:  # until: t = frames left for the oldest pending obligation
                bad = np.zeros(S, dtype=bool)
                if r[a]:
                    nxt = np.zeros(S, dtype=np.int64)
                else:
                    big = S + 1
                    nxt = np.where(t >= 1, t - 1, big)  # an old obligation's time left
                    bad |= (t == 1) | ((t >= 1) & ~q[a])
                    for p, b in ps:
                        if p[a]:
                            if b == 0 or not q[a]:
                                bad[:] = True
                            nxt = np.minimum(nxt, b)
                    nxt = np.where(nxt == big, 0, nxt)
            out[a] = np.where(bad, -1, nxt)
        return out

    def valid(self, atoms: Sequence[str]) -> bool:
        """No finite trace violates the group's rules (so it is certainly satisfied)."""
        q, r = truth_table(self.q, atoms), truth_table(self.r, atoms)
        for p, b in self.rules:
            p = truth_table(p, atoms)
            if self.delay:
                if p.any():
                    return False  # a p at the last frame: its window lies beyond the end
            elif self.kind == "historically":
                if (p & ~q).any() or (b >= 1 and p.any() and (~q).any()):
                    return False
            elif self.kind == "once":
                if (p & ~q).any():
                    return False
            elif (p & ~r).any():  # since, until
                return False
        return True

    def idle(self, atoms: Sequence[str]) -> np.ndarray:
        """Assignments that violate no rule of the counter from any state and lead to
        acceptance in one frame: a past rule's ``p`` false or its body settled by the
        frame alone (``q`` for ``O``, ``r`` for ``S``); a future rule's ``r`` true."""
        if self.past:
            ok = np.ones(1 << len(atoms), dtype=bool)
            settled = {"once": self.q, "since": self.r}.get(self.kind, A.FALSE)
            for p, _ in self.rules:
                ok &= ~truth_table(p, atoms) | truth_table(settled, atoms)
            return ok
        return truth_table(self.r, atoms)

    def text(self) -> str:
        body = {"once": "O", "historically": "H"}.get(self.kind)
        parts = []
        for p, b in self.rules:
            lo, hi = self.delay, self.delay + b
            if body:
                rhs = f"{body}[0,{b}] {to_text(self.q)}"
            elif self.kind == "since":
                rhs = f"({to_text(self.q)} S[0,{b}] {to_text(self.r)})"
            elif self.q == A.TRUE:
                rhs = f"F[{lo},{hi}] {to_text(self.r)}"
            else:
                rhs = f"({to_text(self.q)} U[0,{b}] {to_text(self.r)})"
            parts.append(f"G ({to_text(p)} -> {rhs})")
        return " & ".join(parts)


def _groups(rules: list[C.Rule]) -> list[_Group]:
    out: dict[tuple, _Group] = {}
    for rule in rules:
        key = (rule.kind, rule.q, rule.r)
        g = out.get(key)
        if g is None:
            g = out[key] = _Group(rule.kind, rule.q, rule.r)
        g.rules.append((rule.p, rule.bound))
    # past counters first (as the offline product does), small ones outermost
    return sorted(out.values(), key=lambda g: (not g.past, g.n_states))


# two counters step through pair_step (False: the general frame_step, for benchmarks)
PAIR_KERNEL = True

_DELAY_ATOM = "\x00delayed"  # the delayed p of a delayed window: an input the filter fills in


def _delayed(g: A.Formula) -> tuple[A.Formula, A.Formula, int, int] | None:
    """``(p, r, lo, hi)`` when ``g`` is ``G (p -> F[lo,hi] r)`` with ``lo > 0``, finite
    ``hi`` and ``p``, ``r`` propositional over disjoint atoms: the planner's matcher of
    response rules (:func:`.plan._response_rules`, one conjunct) plus this filter's conditions."""
    from .plan import _response_rules

    rules = _response_rules(g) if not isinstance(g, A.And) else None
    if not rules:
        return None
    ((p, r, lo, hi),) = rules
    if hi is None or lo == 0 or set(atom_names(p)) & set(atom_names(r)):
        return None
    return p, r, int(lo), int(hi)


# ------------------------------------------------------------------ the filter


class CounterFilter:
    """The exact forward filter of a conjunction of rules (see the module doc).

    :meth:`step01` reads a 0/1 frame (one integer per counter), :meth:`step`
    a probability frame (a distribution over the product of the counters, of
    ``n_states`` entries; :class:`AutomatonTooLarge` at the first probability
    frame when that exceeds ``max_states``). Both return ``(P(prefix |= φ),
    P(certainly satisfied), P(certainly violated))``.
    """

    def __init__(
        self, formula: A.Formula, groups: list[_Group], max_states: int | None, delayed_p: A.Formula | None = None
    ) -> None:
        self.formula = formula
        self.groups = groups
        self.max_states = max_states
        self.delay = groups[0].delay if len(groups) == 1 else 0
        names: set[str] = set()
        for g in groups:
            names |= set(g.atoms())
        self.delayed_p = delayed_p  # a delayed window's p (its counter reads it `delay` frames late)
        if self.delay:
            names.discard(_DELAY_ATOM)
            names |= set(atom_names(self.delayed_p))
            self._dp_names = atom_names(self.delayed_p)
            self._dp_table = truth_table(self.delayed_p, self._dp_names)
        self.atoms = tuple(sorted(names))
        self.sizes = [g.n_states for g in groups]
        self.n_states = math.prod(self.sizes)
        # two counters step through the pair kernel and get the planner's pair budget
        # (counters.budget decides, for the offline evaluator and the monitor alike)
        self.budget = None if max_states is None else C.budget(groups, max_states)
        self.too_large = self.budget is not None and self.n_states > self.budget
        # approx="bounds" can split the product: two counters or more, each within max_states
        fits = all(max_states is None or g.n_states <= max_states for g in groups)
        self.boundable = len(groups) > 1 and not self.delay and fits
        seen: dict[str, int] = {}
        gatoms = [g.atoms() for g in groups]
        for ga in gatoms:
            for a in ga:
                seen[a] = seen.get(a, 0) + 1
        self.shared = tuple(sorted(a for a, c in seen.items() if c > 1))
        self._gatoms = gatoms
        self._tables = [g.table(ga) for g, ga in zip(groups, gatoms)]
        self._tables_list = [t.tolist() for t in self._tables]
        self.valid = all(g.valid(ga) for g, ga in zip(groups, gatoms))
        if self.delay:
            self.valid = not truth_table(self.delayed_p, atom_names(self.delayed_p)).any()
        self._initial = [g.initial for g in groups]
        # 0/1 path: each group's atoms' positions in self.atoms, for the assignment index
        self._bits = [[(name, 1 << i) for i, name in enumerate(ga)] for ga in gatoms]
        self._future = [j for j, g in enumerate(groups) if not g.past]
        self.plain = not self.delay  # advance() applies
        self._prob_ready = False
        self._pair: tuple[np.ndarray, ...] | None = None  # two counters: the pair kernel's runs (set by _prepare)
        self.live: np.ndarray | None = None  # product states with an accepting continuation (None: all)
        # False when some non-violated product states may be doomed and finding them was too
        # costly: VIOLATED then comes when a rule breaks, maybe later than the automaton's
        self.exact_verdicts = True
        self.reset()

    # ------------------------------------------------------------ shared
    def reset(self) -> None:
        self._states: list[int] | None = list(self._initial)  # None once a probability arrived
        self._dead = False
        self._dist: np.ndarray | None = None
        self._buffer: deque[float] = deque()  # delayed window: P(p) of the last `delay` frames
        self._ones = 0  # how many of them are 1 (0/1 frames)
        self._window: _SlidingProduct | None = None  # prod (1 - P(p)) over them (probability frames)
        self._index = -1

    def describe(self) -> str:
        n = len(self.groups)
        what = f"{n} counter{'s' if n > 1 else ''}"
        if n > 1:
            what += f" (product of {self.n_states:,} states"
            what += f", sharing {', '.join(self.shared)})" if self.shared else ")"
        if not self.exact_verdicts:
            what += "; VIOLATED when a rule breaks (a doomed prefix may be reported later)"
        return what

    # ------------------------------------------------------------ 0/1 frames
    def step01(self, frame: Mapping[str, float]) -> tuple[float, float, float] | None:
        """A 0/1 frame (None when it holds a probability: use :meth:`step`)."""
        if self._states is None:
            return None
        states = self._states
        new = list(states)
        delayed_now = 0
        if self.delay:
            pv = _prop01(self._dp_names, self._dp_table, frame)
            if pv is None:
                return None
        for j, bits in enumerate(self._bits):
            a = 0
            for name, bit in bits:
                if name == _DELAY_ATOM:
                    v = self._buffer[0] if len(self._buffer) == self.delay else 0.0
                else:
                    v = frame[name]
                if v == 1:
                    a |= bit
                elif v != 0:
                    return None
            if not self._dead:
                new[j] = self._tables_list[j][a][states[j]] if states[j] >= 0 else -1
        if self.delay:
            if len(self._buffer) == self.delay:
                self._ones -= self._buffer.popleft() == 1.0
            self._buffer.append(float(pv))  # type: ignore[arg-type]
            self._ones += bool(pv)
            delayed_now = self._ones
        self._index += 1
        self._states = new
        if self._dead or any(s < 0 for s in new):
            self._dead = True
            return 0.0, 0.0, 1.0
        if self.valid:
            return 1.0, 1.0, 0.0
        if self.live is not None:
            flat = 0
            for st, size in zip(new, self.sizes):
                flat = flat * size + st
            if not self.live[flat]:
                return 0.0, 0.0, 1.0  # doomed; the counters keep running (doomed stays doomed)
        ok = not delayed_now and all(new[j] == 0 for j in self._future)
        return (1.0 if ok else 0.0), 0.0, 0.0

    def advance(self, frame: Mapping[str, float]) -> tuple[float, float, float]:
        """:meth:`step01` for a frame already checked to be 0/1 on :attr:`atoms`, on the
        0/1 path, without a delayed window (:attr:`plain`): the hot loop of a monitor."""
        self._index += 1
        if self._dead:
            return _VIOLATED
        states = self._states
        tables = self._tables_list
        j = 0
        for bits in self._bits:
            a = 0
            for name, bit in bits:
                if frame[name]:
                    a |= bit
            q = tables[j][a][states[j]]  # type: ignore[index]
            if q < 0:
                self._dead = True
                return _VIOLATED
            states[j] = q  # type: ignore[index]
            j += 1
        if self.valid:
            return _SATISFIED
        if self.live is not None:
            flat = 0
            for st, size in zip(states, self.sizes):  # type: ignore[arg-type]
                flat = flat * size + st
            if not self.live[flat]:
                return _VIOLATED
        for j in self._future:
            if states[j]:  # type: ignore[index]
                return _PENDING
        return _HOLDS

    # ------------------------------------------------------------ probability frames
    def _prepare(self) -> None:
        if self.too_large:
            pair = f" (two counters get {C.PAIR_STATES_PER_BUDGET} x max_states)" if len(self.groups) == 2 else ""
            raise AutomatonTooLarge(
                f"the rules {to_text(self.formula)!r} share propositions ({', '.join(self.shared)}), so "
                f"their probabilities need the product of their counters: {self.n_states:,} states "
                f"({' x '.join(str(s) for s in self.sizes)}), over the budget of {self.budget:,} states "
                f"for max_states={self.max_states:,}{pair}; "
                + ("pass approx=\"bounds\" for certified bounds from smaller groups of rules, " if self.boundable else "")
                + "raise max_states (each probability frame costs about that many multiply-adds per "
                "shared-atom value), lower the frame rate or shorten the windows, or threshold the "
                "probabilities (0/1 frames need no product)"
            )
        groups = self.groups
        sizes = self.sizes
        self._dims = np.array(
            [(math.prod(sizes[:j]), sizes[j], math.prod(sizes[j + 1 :])) for j in range(len(sizes))], dtype=np.int64
        )
        nx = 1 << len(self.shared)
        self._nx = nx
        # apply counters reading fewer shared atoms first and give their atoms the high
        # bits of x: consecutive x then share the first counters' results
        reads = [[a for a in ga if a in self.shared] for ga in self._gatoms]
        order = sorted(range(len(groups)), key=lambda j: len(reads[j]))
        listed: list[str] = []
        for j in order:
            listed += [a for a in reads[j] if a not in listed]
        bits = listed[::-1]  # bit k of x is the value of bits[k]
        self._order = np.array(order, dtype=np.int64)
        masks, acc_mask = [], 0
        for j in order:
            for a in reads[j]:
                acc_mask |= 1 << bits.index(a)
            masks.append(acc_mask)
        self._pmask = np.array(masks, dtype=np.int64)
        # per group: its distinct maps, and for every shared value x the matrix from the
        # group's private assignments to those maps
        maps_per_group = []
        self._slots = list(self.atoms) + ([_DELAY_ATOM] if self.delay else [])
        slot = {a: i for i, a in enumerate(self._slots)}
        pmax = max(len([a for a in ga if a not in self.shared]) for ga in self._gatoms)
        G = len(groups)
        sel = np.full((G, nx, 1 << pmax), -1, dtype=np.int64)
        priv_idx = np.zeros((G, max(pmax, 1)), dtype=np.int64)
        npriv = np.zeros(G, dtype=np.int64)
        for j, (ga, tab) in enumerate(zip(self._gatoms, self._tables)):
            uniq, inverse = unique_rows(tab)
            maps_per_group.append(uniq)
            priv = [a for a in ga if a not in self.shared]
            npriv[j] = len(priv)
            priv_idx[j, : len(priv)] = [slot[a] for a in priv]
            pos = {a: i for i, a in enumerate(ga)}
            for x in range(nx):
                base = 0
                for k, a in enumerate(bits):
                    if a in pos and (x >> k) & 1:
                        base |= 1 << pos[a]
                for y in range(1 << len(priv)):
                    idx = base
                    for k, a in enumerate(priv):
                        if (y >> k) & 1:
                            idx |= 1 << pos[a]
                    sel[j, x, y] = inverse[idx]
        self._sel, self._priv_idx, self._npriv = sel, priv_idx, npriv
        self._shared_idx = np.array([slot[a] for a in bits], dtype=np.int64)
        umax = max(len(u) for u in maps_per_group)
        smax = max(sizes)
        self._maps = np.full((G, umax, smax), -1, dtype=np.int64)
        for j, u in enumerate(maps_per_group):
            self._maps[j, : len(u), : u.shape[1]] = u
        self._nmaps = np.array([len(u) for u in maps_per_group], dtype=np.int64)
        acc = np.ones(1, dtype=bool)
        for g in groups:
            acc = np.kron(acc, g.accepting()).astype(bool)
        self._acc = acc
        self._live = np.ones(self.n_states, dtype=bool) if self.live is None else self.live
        n = self.n_states
        self._stage = np.empty((G, n))
        self._out = np.empty(n)
        self._W = np.zeros((nx, G, umax))
        self._px = np.zeros(nx)
        self._res = np.zeros(3)
        self._segments = segments(self._maps, self._nmaps, self.sizes)
        self._kernel = K.compiled_cached(frame_step)
        self._pair = None
        if G == 2 and not self.delay and PAIR_KERNEL:
            runs1, mem1 = elementary_runs(maps_per_group[0], sizes[0])
            runs2, mem2 = elementary_runs(maps_per_group[1], sizes[1])
            self._pair = (
                mem1, mem2, runs1, runs2, np.zeros((nx, len(runs1))), np.zeros((nx, len(runs2))),
                np.zeros((len(runs1), len(runs2))), np.empty(sizes[1]),
            )  # fmt: skip
            self._pair_kernel = K.compiled_cached(pair_step)
        self._prob_ready = True

    def _to_dist(self) -> None:
        """Leave the 0/1 path: the current counters as a point distribution."""
        if not self._prob_ready:
            self._prepare()
        dist = np.zeros(self.n_states)
        if not self._dead:
            flat = 0
            for s, size in zip(self._states, self.sizes):  # type: ignore[union-attr]
                flat = flat * size + s
            dist[flat] = 1.0
        self._dist = dist
        self._states = None

    def step(self, frame: Mapping[str, float], checked: Sequence[float] | None = None) -> tuple[float, float, float]:
        """Any frame (probabilities or 0/1); ``checked``: its values of :attr:`atoms`, in order."""
        if self._states is not None:
            out = self.step01(frame)
            if out is not None:
                return out
            self._to_dist()
        row = [float(frame[name]) for name in self.atoms] if checked is None else list(checked)
        prob = dict(zip(self.atoms, row)) if self.delay else None
        if self.delay:
            row.append(self._buffer[0] if len(self._buffer) == self.delay else 0.0)
        values = np.array(row)
        new = self._out
        res = self._res
        if self._pair is not None:
            self._pair_kernel(
                values, self._shared_idx, self._priv_idx, self._npriv, self._sel, self._px, self._W, *self._pair,
                self._dist, new, self._acc, self._live, res,
            )  # fmt: skip
        else:
            self._kernel(
                values, self._shared_idx, self._priv_idx, self._npriv, self._sel, self._dist, self._dims,
                self._nmaps, self._W, self._px, self._stage, self._order, self._pmask, new, self._acc, self._live, res,
                *self._segments,
            )  # fmt: skip
        self._dist, self._out = new, self._dist
        self._index += 1
        alive, p, doomed = float(res[0]), float(res[1]), float(res[2])
        if self.delay:
            pp = _prop_prob(self._dp_names, self._dp_table, prob)
            if self._window is None:  # leaving the 0/1 path: the window so far
                self._window = _SlidingProduct()
                for x in self._buffer:
                    self._window.push(1.0 - x)
            if len(self._buffer) == self.delay:
                self._buffer.popleft()
                self._window.pop()
            self._buffer.append(pp)
            self._window.push(1.0 - pp)
            p *= self._window.product()
        pv = min(max(1.0 - alive + doomed, 0.0), 1.0)
        ps = (1.0 - pv) if self.valid else 0.0
        return min(max(p, 0.0), 1.0), ps, pv


def frame_step(  # noqa: ANN201, PLR0913
    prob, shared_idx, priv_idx, npriv, sel, dist, dims, nmaps, W, px, stage, order, pmask, out, acc, live, res,
    segs, seg_range,
):  # fmt: skip
    """One probability frame: ``out = sum_x px[x] (M_1|x ⊗ ... ⊗ M_m|x) dist`` over the
    values ``x`` of the shared atoms, with ``M_j|x = sum_u W[x, j, u] · map_u`` (map ``u``
    of counter ``j`` as runs of states, :func:`segments`; violations drop out) and ``W[x, j, u]``
    the probability that counter ``j``'s private atoms select map ``u`` (``sel[j, x, y]``
    for private assignment ``y``). ``res`` = (mass left, accepting mass, doomed mass)."""
    nx = px.shape[0]
    n_groups = dims.shape[0]
    for x in range(nx):
        w = 1.0
        for k in range(shared_idx.shape[0]):
            v = prob[shared_idx[k]]
            w *= v if (x >> k) & 1 else 1.0 - v
        px[x] = w
    W[:] = 0.0
    for j in range(n_groups):
        npj = npriv[j]
        for y in range(1 << npj):
            pr = 1.0
            for k in range(npj):
                v = prob[priv_idx[j, k]]
                pr *= v if (y >> k) & 1 else 1.0 - v
            for x in range(nx):
                W[x, j, sel[j, x, y]] += pr
    out[:] = 0.0
    prev = -1
    for x in range(nx):
        wx = px[x]
        if wx == 0.0:
            continue
        # the counters are applied in `order`; stage[i] holds the result after the first
        # i + 1 of them, which depends only on the shared bits in pmask[i]: reuse it
        first = 0
        if prev >= 0:
            while first < n_groups and (x & pmask[first]) == (prev & pmask[first]):
                first += 1
        prev = x
        for i in range(first, n_groups):
            j = order[i]
            cur = dist if i == 0 else stage[i - 1]
            dst = stage[i]
            dst[:] = 0.0
            na, ns, nb = dims[j, 0], dims[j, 1], dims[j, 2]
            for u in range(nmaps[j]):
                w = W[x, j, u]
                if w == 0.0:
                    continue
                for g in range(seg_range[j, u, 0], seg_range[j, u, 1]):
                    kind, lo, hi, c = segs[g, 0], segs[g, 1], segs[g, 2], segs[g, 3]
                    if kind == 0:  # a run of states shifted by c: contiguous in both arrays
                        for a in range(na):
                            s0 = (a * ns + lo) * nb
                            t0 = (a * ns + lo + c) * nb
                            for i in range((hi - lo) * nb):
                                dst[t0 + i] += w * cur[s0 + i]
                    else:  # a run of states that all go to state c
                        for a in range(na):
                            t0 = (a * ns + c) * nb
                            for s in range(lo, hi):
                                s0 = (a * ns + s) * nb
                                for b in range(nb):
                                    dst[t0 + b] += w * cur[s0 + b]
        last = stage[n_groups - 1]
        for i in range(out.shape[0]):
            out[i] += wx * last[i]
    alive = 0.0
    accepted = 0.0
    doomed = 0.0
    for i in range(out.shape[0]):
        v = out[i]
        alive += v
        if acc[i]:
            accepted += v
        if not live[i]:
            doomed += v
    res[0] = alive
    res[1] = accepted
    res[2] = doomed


def segments(maps: np.ndarray, nmaps: np.ndarray, sizes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Every map ``maps[j, u, :sizes[j]]`` as runs of states: ``(0, lo, hi, c)`` sends
    ``s -> s + c`` and ``(1, lo, hi, d)`` sends ``s -> d`` for ``lo <= s < hi`` (violations,
    -1, are left out). Returns ``(runs[k, 4], range[j, u] = (first, end) into runs)``.
    Counters shift, reset and clamp, so a map is a handful of runs."""
    runs: list[tuple[int, int, int, int]] = []
    where = np.zeros((maps.shape[0], maps.shape[1], 2), dtype=np.int64)
    for j, ns in enumerate(sizes):
        for u in range(int(nmaps[j])):
            start = len(runs)
            m = maps[j, u, :ns].tolist()
            s = 0
            while s < ns:
                d = m[s]
                if d < 0:
                    s += 1
                    continue
                t = s + 1
                if t < ns and m[t] == d + 1:
                    while t < ns and m[t] == d + (t - s):
                        t += 1
                    runs.append((0, s, t, d - s))
                elif t < ns and m[t] == d:
                    while t < ns and m[t] == d:
                        t += 1
                    runs.append((1, s, t, d))
                else:
                    runs.append((0, s, t, d - s))
                s = t
            where[j, u] = (start, len(runs))
    return np.array(runs, dtype=np.int64).reshape(-1, 4), where


def elementary_runs(maps: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """One counter's maps (``maps[u, s]``, -1: violated) as a sum of shared runs:
    ``(runs[e] = (kind, lo, hi, c), mem[u, e])`` with map ``u`` = the sum of the runs
    ``e`` with ``mem[u, e] = 1`` (kinds as in :func:`segments`). Every map's runs are cut
    at every run boundary of every map, so two maps that move the same states the same
    way share a run, and a frame's operator ``sum_u W_u map_u`` is ``sum_e (sum_u W_u
    mem[u, e]) run_e``: a few runs (shift, reset, clamp) per counter, whatever its maps."""
    per_map = []
    cuts = {0, size}
    for u in range(maps.shape[0]):
        runs, _ = segments(maps[None, u : u + 1], np.array([1]), [size])
        per_map.append(runs.tolist())
        for _, lo, hi, _ in per_map[-1]:
            cuts.update((lo, hi))
    bounds = sorted(cuts)
    index: dict[tuple[int, int, int, int], int] = {}
    mem_rows = []
    for runs in per_map:
        mine = []
        for kind, lo, hi, c in runs:
            i = bounds.index(lo)
            while bounds[i] < hi:
                a, b = bounds[i], bounds[i + 1]
                key = (1, a, b, a + c) if kind == 0 and b - a == 1 else (kind, a, b, c)
                mine.append(index.setdefault(key, len(index)))
                i += 1
        mem_rows.append(mine)
    mem = np.zeros((maps.shape[0], max(len(index), 1)))
    for u, mine in enumerate(mem_rows):
        mem[u, mine] = 1.0
    runs = np.array(list(index), dtype=np.int64).reshape(-1, 4)
    return runs, mem


def pair_step(  # noqa: ANN201, PLR0913
    prob, shared_idx, priv_idx, npriv, sel, px, W, mem1, mem2, runs1, runs2, we1, we2, coef, tmp,
    dist, out, acc, live, res,
):  # fmt: skip
    """:func:`frame_step` for two counters (counter 2 contiguous), as in
    :func:`.kernels.counter_pair_step`: the shared atoms are summed out first, into one
    coefficient per pair of runs (``coef[e1, e2] = sum_x P(x) w1_x(e1) w2_x(e2)``, with
    ``w_x(e)`` the probability that counter ``j``'s private atoms pick a map holding run
    ``e``), then every source row of counter 1 (or the sum of the rows a reset run sends
    to one row) goes to its destination row through counter 2's runs: each product state
    is read about once per run of counter 1 that holds it, however many values the
    shared atoms take."""
    nx = px.shape[0]
    for x in range(nx):
        w = 1.0
        for k in range(shared_idx.shape[0]):
            v = prob[shared_idx[k]]
            w *= v if (x >> k) & 1 else 1.0 - v
        px[x] = w
    W[:] = 0.0
    for j in range(2):
        npj = npriv[j]
        for y in range(1 << npj):
            pr = 1.0
            for k in range(npj):
                v = prob[priv_idx[j, k]]
                pr *= v if (y >> k) & 1 else 1.0 - v
            for x in range(nx):
                W[x, j, sel[j, x, y]] += pr
    E1 = runs1.shape[0]
    E2 = runs2.shape[0]
    for x in range(nx):
        for e in range(E1):
            s = 0.0
            for u in range(mem1.shape[0]):
                s += W[x, 0, u] * mem1[u, e]
            we1[x, e] = s
        for e in range(E2):
            s = 0.0
            for u in range(mem2.shape[0]):
                s += W[x, 1, u] * mem2[u, e]
            we2[x, e] = s
    for e1 in range(E1):
        for e2 in range(E2):
            s = 0.0
            for x in range(nx):
                s += px[x] * we1[x, e1] * we2[x, e2]
            coef[e1, e2] = s
    S2 = tmp.shape[0]
    out[:] = 0.0
    for e1 in range(E1):
        nonzero = False
        for e2 in range(E2):
            if coef[e1, e2] != 0.0:
                nonzero = True
        if not nonzero:
            continue
        kind1, lo1, hi1, c1 = runs1[e1, 0], runs1[e1, 1], runs1[e1, 2], runs1[e1, 3]
        n_rows = hi1 - lo1 if kind1 == 0 else 1
        for k in range(n_rows):
            if kind1 == 0:
                src = dist[(lo1 + k) * S2 : (lo1 + k + 1) * S2]
                dst = out[(lo1 + k + c1) * S2 : (lo1 + k + c1 + 1) * S2]
            else:  # a reset: the rows' sum goes to one row
                for i in range(S2):
                    tmp[i] = dist[lo1 * S2 + i]
                for r in range(lo1 + 1, hi1):
                    row = dist[r * S2 : (r + 1) * S2]
                    for i in range(S2):
                        tmp[i] += row[i]
                src = tmp
                dst = out[c1 * S2 : (c1 + 1) * S2]
            for e2 in range(E2):
                w = coef[e1, e2]
                if w == 0.0:
                    continue
                kind2, lo2, hi2, c2 = runs2[e2, 0], runs2[e2, 1], runs2[e2, 2], runs2[e2, 3]
                if kind2 == 0:
                    sv = src[lo2:hi2]
                    dv = dst[lo2 + c2 : hi2 + c2]
                    for i in range(hi2 - lo2):
                        dv[i] += w * sv[i]
                else:
                    sv = src[lo2:hi2]
                    s0 = 0.0
                    s1 = 0.0
                    s2 = 0.0
                    s3 = 0.0
                    L = hi2 - lo2
                    L4 = L - L % 4
                    for i in range(0, L4, 4):
                        s0 += sv[i]
                        s1 += sv[i + 1]
                        s2 += sv[i + 2]
                        s3 += sv[i + 3]
                    for i in range(L4, L):
                        s0 += sv[i]
                    dst[c2] += w * ((s0 + s1) + (s2 + s3))
    alive = 0.0
    accepted = 0.0
    doomed = 0.0
    for i in range(out.shape[0]):
        v = out[i]
        alive += v
        if acc[i]:
            accepted += v
        if not live[i]:
            doomed += v
    res[0] = alive
    res[1] = accepted
    res[2] = doomed


class _SlidingProduct:
    """A queue's product, exact and O(1) amortized per push/pop (two stacks with
    running products; no division, so zeros are no trouble)."""

    def __init__(self) -> None:
        self._in: list[float] = []
        self._in_prod = 1.0
        self._out: list[float] = []  # running products from the bottom: _out[-1] = prod of the stack

    def push(self, x: float) -> None:
        self._in.append(x)
        self._in_prod *= x

    def pop(self) -> None:
        if not self._out:
            acc = 1.0
            for x in reversed(self._in):  # the oldest element ends on top
                acc *= x
                self._out.append(acc)
            self._in.clear()
            self._in_prod = 1.0
        self._out.pop()

    def product(self) -> float:
        return (self._out[-1] if self._out else 1.0) * self._in_prod


def _prop01(names: Sequence[str], table: np.ndarray, frame: Mapping[str, float]) -> bool | None:
    letter = letter_of(frame, names)
    return None if letter is None else bool(table[letter])


def _prop_prob(names: Sequence[str], tab: np.ndarray, prob: Mapping[str, float]) -> float:
    vec = np.ones(1)
    for name in names:
        v = prob[name]
        vec = np.concatenate([vec * (1.0 - v), vec * v])
    return float(vec[tab].sum())


# (P(prefix |= φ), P(certainly satisfied), P(certainly violated)) on 0/1 frames
_VIOLATED, _SATISFIED, _PENDING, _HOLDS = (0.0, 0.0, 1.0), (1.0, 1.0, 0.0), (0.0, 0.0, 0.0), (1.0, 0.0, 0.0)


def counter_filter(g: A.Formula, max_states: int | None) -> CounterFilter | None:
    """The filter of ``g`` (frame bounds) when ``g`` is a conjunction of rules, a delayed
    window or a sequence (see the module doc); else None.

    >>> from framelogic.logic import parse
    >>> f = counter_filter(parse("G (red -> F[0,90] stopped) & G (sign -> F[0,150] stopped)"), 10_000)
    >>> f.describe(), f.n_states  # one counter: both rules wait for the same frame
    ('1 counter', 151)
    >>> p, p_sat, p_violated = f.step({"red": 0.5, "sign": 0.0, "stopped": 0.2})
    >>> round(p, 12), p_sat, p_violated  # the prefix fails iff red without stopped: 0.5 * 0.8
    (0.6, 0.0, 0.0)
    >>> counter_filter(parse("G (a -> F[0,3] b) & G (b -> O[0,2] a)"), 10_000).describe()
    '2 counters (product of 16 states, sharing a, b)'
    """
    levels = chain_of(g)
    if levels is not None:
        if len({a for lv, _ in levels for a in atom_names(lv)}) > 16:
            return None
        return ChainFilter(g, levels, max_states)  # type: ignore[return-value]
    d = _delayed(g)
    if d is not None:
        p, r, lo, hi = d
        if _DELAY_ATOM in atom_names(r):
            return None
        group = _Group("until", A.TRUE, r, [(A.atom(_DELAY_ATOM), hi - lo)], delay=lo)
        names = atom_names(p)
        # exact verdicts: r can come (pending obligations are alive) and p can stay off
        if not truth_table(r, atom_names(r)).any() or truth_table(p, names).all():
            return None
        return CounterFilter(g, [group], max_states, delayed_p=p)
    rules = C.rules_of(g)
    if rules is None or not rules:
        return None
    groups = _groups(rules)
    names: set[str] = set()
    for grp in groups:
        names |= set(grp.atoms())
    atoms = tuple(sorted(names))
    if len(atoms) > 20:
        return None
    idle = np.ones(1 << len(atoms), dtype=bool)
    for grp in groups:
        # group.idle over the group's own atoms, lifted to all of them
        ga = grp.atoms()
        sub = grp.idle(ga)
        pos = [atoms.index(a) for a in ga]
        idx = np.arange(1 << len(atoms))
        local = np.zeros_like(idx)
        for k, p in enumerate(pos):
            local |= ((idx >> p) & 1) << k
        idle &= sub[local]
    filt = CounterFilter(g, groups, max_states)
    if not idle.any():
        # a non-violated product state might still be doomed (the rules pull one frame
        # different ways): find the live states of the product, when it is small enough
        if filt.budget is not None and not filt.too_large and (filt.n_states << len(atoms)) <= _LIVENESS_WORK:
            filt.live = _liveness(filt, atoms)
        else:  # exact probabilities still; a doomed state is reported when a rule breaks
            filt.exact_verdicts = False
    return filt


_LIVENESS_WORK = 1 << 23  # product states x assignments the liveness search may take


def _liveness(filt: CounterFilter, atoms: tuple[str, ...]) -> np.ndarray:
    """The product states from which some continuation (maybe empty) is accepted."""
    n = filt.n_states
    coords = np.unravel_index(np.arange(n), filt.sizes)
    idx = np.arange(1 << len(atoms))
    nexts = []
    for a in idx:
        flat = np.zeros(n, dtype=np.int64)
        dead = np.zeros(n, dtype=bool)
        for j, (ga, tab, size) in enumerate(zip(filt._gatoms, filt._tables, filt.sizes)):
            local = 0
            for k, name in enumerate(ga):
                if (a >> atoms.index(name)) & 1:
                    local |= 1 << k
            nxt = tab[local][coords[j]]
            dead |= nxt < 0
            flat = flat * size + np.maximum(nxt, 0)
        flat[dead] = -1
        nexts.append(flat)
    acc = np.ones(1, dtype=bool)
    for grp in filt.groups:
        acc = np.kron(acc, grp.accepting()).astype(bool)
    return backward_reach(unique_rows(np.array(nexts))[0], acc)


def backward_reach(nexts: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """States from which some path along ``nexts[u, s]`` (-1: no edge) reaches ``seeds``:
    a breadth-first search over the reversed edges, O(edges)."""
    n = seeds.shape[0]
    srcs = np.broadcast_to(np.arange(n), nexts.shape)
    ok = nexts >= 0
    src, dst = srcs[ok], nexts[ok]
    order = np.argsort(dst, kind="stable")
    src, dst = src[order], dst[order]
    starts = np.searchsorted(dst, np.arange(n))
    ends = np.searchsorted(dst, np.arange(n), side="right")
    live = seeds.copy()
    frontier = np.flatnonzero(live)
    while frontier.size:
        lens = ends[frontier] - starts[frontier]
        total = int(lens.sum())
        if total == 0:
            break
        first = np.repeat(starts[frontier] - (np.cumsum(lens) - lens), lens)
        preds = src[first + np.arange(total)]
        fresh = np.zeros(n, dtype=bool)
        fresh[preds] = True
        fresh &= ~live
        frontier = np.flatnonzero(fresh)
        live |= fresh
    return live


def unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(distinct rows, index of each row's distinct row)``, first-seen order."""
    seen: dict[bytes, int] = {}
    inverse = np.empty(a.shape[0], dtype=np.int64)
    for i, row in enumerate(a):
        inverse[i] = seen.setdefault(row.tobytes(), len(seen))
    firsts = np.zeros(len(seen), dtype=np.int64)
    firsts[inverse[::-1]] = np.arange(a.shape[0])[::-1]
    return a[firsts], inverse


# ------------------------------------------------------------------ automaton size estimate

_WINDOW_OPS = (A.Until, A.Since, A.Eventually, A.Always, A.Once, A.Historically, A.Release, A.WeakUntil, A.StrongRelease)


def estimate_states(f: A.Formula) -> float:
    """A cheap over-estimate of the size of ``f``'s automaton (frame bounds): the product,
    over temporal operators, of the states a window needs (``hi - lo + 2`` numbers, times
    ``2^lo`` for a window that opens ``lo`` frames late). Used to skip automata that would
    fail or take seconds; the minimal automaton is usually far smaller."""
    total = 1.0
    stack = [f]
    while stack:
        g = stack.pop()
        stack.extend(A.children(g))
        if isinstance(g, _WINDOW_OPS):
            lo, hi = g.bound.frames(None)
            if hi is None:
                total *= 2.0 if lo == 0 else 2.0 ** min(lo, 1000) * 2.0
            else:
                total *= 2.0 ** min(lo, 1000) * (hi - lo + 2)
        elif isinstance(g, (A.Next, A.WeakNext, A.Prev)):
            total *= 2.0
        if total > 1e300:
            return math.inf
    return total


# ------------------------------------------------------------------ sequences


def chain_of(f: A.Formula) -> list[tuple[A.Formula, int]] | None:
    """``[(a_1, b_1), ..., (a_m, b_m)]`` (``m >= 2``) when ``f`` is the sequence
    ``F[0,b_1] (a_1 & F[0,b_2] (a_2 & ... F[0,b_m] a_m))`` with propositional ``a_i``."""
    from .plan import is_propositional

    out: list[tuple[A.Formula, int]] = []
    g = f
    while True:
        if not isinstance(g, A.Eventually):
            return None
        lo, hi = g.bound.frames(None)
        if lo != 0 or hi is None:
            return None
        body = g.arg
        if is_propositional(body):
            out.append((body, int(hi)))
            return out if len(out) >= 2 else None
        if not isinstance(body, A.And):
            return None
        nested = [x for x in body.args if not is_propositional(x)]
        if len(nested) != 1:
            return None
        out.append((A.conj(*[x for x in body.args if x is not nested[0]]), int(hi)))
        g = nested[0]


class ChainFilter:
    """The exact forward filter of a sequence ``F[0,b_1] (a_1 & F[0,b_2] (a_2 & ...))``.

    The state is, for every level ``i < m``, the frames since the latest frame that
    completed ``a_1 ... a_i`` in time (later completions dominate: they leave more time
    for the rest), plus one absorbing *accepted* state: ``prod (b_{i+1} + 2) + 1``
    states, flat in ``b_1``. A new chain may start only while the frame index is at
    most ``b_1`` (two transition tables). Accepted is certainly satisfied; a state is
    certainly violated when no continuation completes a chain (a fixpoint over the
    closed table, plus "a fresh chain could still start" while frames ``<= b_1`` remain).
    Same interface as :class:`CounterFilter`.
    """

    def __init__(self, formula: A.Formula, levels: list[tuple[A.Formula, int]], max_states: int | None) -> None:
        self.formula = formula
        self.levels = levels
        self.max_states = max_states
        names: set[str] = set()
        for a, _ in levels:
            names |= set(atom_names(a))
        self.atoms = tuple(sorted(names))
        self.shared: tuple[str, ...] = ()
        self.sizes = [b + 2 for _, b in levels[1:]]
        self.n_states = math.prod(self.sizes) + 1
        self.accept = self.n_states - 1
        self.too_large = max_states is not None and self.n_states > max_states
        self.start_until = levels[0][1]  # frames 0..b_1 may start a chain
        self._open, self._closed = (self._table(opened) for opened in (True, False))
        self._open_list, self._closed_list = self._open.tolist(), self._closed.tolist()
        self.live_closed = self._live(self._closed)
        allnone = int(np.ravel_multi_index(tuple(s - 1 for s in self.sizes), self.sizes))
        self.fresh_ok = bool(self.live_closed[self._open[:, allnone]].any())
        self.live = self.live_closed
        self.exact_verdicts = True
        self.plain = False  # the monitor calls step01
        self._prob_ready = False
        self.reset()

    def _table(self, opened: bool) -> np.ndarray:
        atoms, levels, sizes = self.atoms, self.levels, self.sizes
        tabs = [truth_table(a, atoms) for a, _ in levels]
        m = len(levels)
        inner = self.n_states - 1
        coords = np.unravel_index(np.arange(inner), sizes)
        out = np.empty((1 << len(atoms), self.n_states), dtype=np.int64)
        for x in range(1 << len(atoms)):
            new = []
            prev_ok = np.full(inner, bool(opened and tabs[0][x]))  # level 1 completes now
            for i in range(m - 1):  # t_i: frames since level i+1 of the chain completed (0-based i)
                b_next = levels[i + 1][1]
                none = sizes[i] - 1
                t = coords[i]
                inc = np.where((t == none) | (t + 1 > b_next), none, t + 1)
                ti = np.where(prev_ok, 0, inc)
                new.append(ti)
                prev_ok = bool(tabs[i + 1][x]) & (ti <= b_next) if i + 1 < m - 1 else None
                if i + 1 == m - 1:
                    done = bool(tabs[m - 1][x]) & (ti <= b_next)
            if m - 1 == 0:  # pragma: no cover - chains have two levels at least
                raise InvalidArgument("a chain needs two levels")
            flat = np.ravel_multi_index(tuple(new), sizes)
            out[x, :inner] = np.where(done, self.accept, flat)
            out[x, inner] = self.accept
        return out

    def _live(self, table: np.ndarray) -> np.ndarray:
        seeds = np.zeros(self.n_states, dtype=bool)
        seeds[self.accept] = True
        return backward_reach(unique_rows(table)[0], seeds)

    def reset(self) -> None:
        self._states: list[int] | None = [int(np.ravel_multi_index(tuple(s - 1 for s in self.sizes), self.sizes))]
        self._dist: np.ndarray | None = None
        self._index = -1

    def describe(self) -> str:
        return f"sequence of {len(self.levels)} steps ({self.n_states:,} states)"

    def _doomed_mask(self, j: int) -> np.ndarray:
        """Live states after frame ``j``: a fresh chain can still start while ``j < b_1``."""
        if j < self.start_until and self.fresh_ok:
            return self._all_live
        return self.live_closed

    def step01(self, frame: Mapping[str, float]) -> tuple[float, float, float] | None:
        if self._states is None:
            return None
        a = 0
        for i, name in enumerate(self.atoms):
            v = frame[name]
            if v == 1:
                a |= 1 << i
            elif v != 0:
                return None
        j = self._index + 1
        tab = self._open_list if j <= self.start_until else self._closed_list
        q = self._states[0] = tab[a][self._states[0]]
        self._index = j
        if q == self.accept:
            return 1.0, 1.0, 0.0
        if not self.live_closed[q] and not (j < self.start_until and self.fresh_ok):
            return 0.0, 0.0, 1.0
        return 0.0, 0.0, 0.0

    def _prepare(self) -> None:
        if self.too_large:
            raise AutomatonTooLarge(
                f"the sequence {to_text(self.formula)!r} needs {self.n_states:,} states (the windows after "
                f"the first), over max_states={self.max_states:,}; raise max_states, lower the frame rate "
                "or shorten the inner windows, or threshold the probabilities (0/1 frames need no "
                "distribution)"
            )
        n = self.n_states
        self._phases = []
        for tab in (self._open, self._closed):
            uniq, inverse = unique_rows(tab)
            sel = inverse.reshape(1, 1, -1)
            maps = uniq.reshape(1, len(uniq), n).astype(np.int64)
            nmaps = np.array([len(uniq)], dtype=np.int64)
            self._phases.append((sel, segments(maps, nmaps, [n]), nmaps, len(uniq)))
        umax = max(p[3] for p in self._phases)
        self._dims = np.array([[1, n, 1]], dtype=np.int64)
        self._shared_idx = np.zeros(0, dtype=np.int64)
        self._priv_idx = np.arange(max(len(self.atoms), 1), dtype=np.int64).reshape(1, -1)
        self._npriv = np.array([len(self.atoms)], dtype=np.int64)
        self._acc = np.zeros(n, dtype=bool)
        self._acc[self.accept] = True
        self._all_live = np.ones(n, dtype=bool)
        self._stage = np.empty((1, n))
        self._out = np.empty(n)
        self._order = np.zeros(1, dtype=np.int64)
        self._pmask = np.zeros(1, dtype=np.int64)
        self._W = np.zeros((1, 1, umax))
        self._px = np.zeros(1)
        self._res = np.zeros(3)
        self._kernel = K.compiled_cached(frame_step)
        self._prob_ready = True

    def step(self, frame: Mapping[str, float], checked: Sequence[float] | None = None) -> tuple[float, float, float]:
        if self._states is not None:
            out = self.step01(frame)
            if out is not None:
                return out
            if not self._prob_ready:
                self._prepare()
            self._dist = np.zeros(self.n_states)
            self._dist[self._states[0]] = 1.0
            self._states = None
        row = [float(frame[name]) for name in self.atoms] if checked is None else list(checked)
        j = self._index + 1
        sel, segs, nmaps, _ = self._phases[0 if j <= self.start_until else 1]
        new = self._out
        res = self._res
        self._kernel(
            np.array(row), self._shared_idx, self._priv_idx, self._npriv, sel, self._dist, self._dims,
            nmaps, self._W, self._px, self._stage, self._order, self._pmask, new, self._acc, self._doomed_mask(j), res,
            *segs,
        )  # fmt: skip
        self._dist, self._out = new, self._dist
        self._index = j
        p = min(max(float(res[1]), 0.0), 1.0)
        return p, p, min(max(float(res[2]), 0.0), 1.0)


# ------------------------------------------------------------------ approx="bounds"


def fitting_groups(filt: CounterFilter) -> list[list[int]]:
    """Counters of ``filt`` (whose product is over its budget) in groups whose products
    fit their own budgets (:func:`.counters.budget`): greedily merge the two groups
    sharing the most atoms (then the smallest product) while the merge fits."""
    groups, ms = filt.groups, filt.max_states
    comps = [[j] for j in range(len(groups))]
    atoms = [set(ga) for ga in filt._gatoms]
    while True:
        best = None
        for a in range(len(comps)):
            for b in range(a + 1, len(comps)):
                ja, jb = comps[a], comps[b]
                shared = set().union(*(atoms[j] for j in ja)) & set().union(*(atoms[j] for j in jb))
                size = math.prod(groups[j].n_states for j in ja + jb)
                if not shared or (ms is not None and size > C.budget([groups[j] for j in ja + jb], ms)):
                    continue
                key = (len(shared), -size)
                if best is None or key > best[0]:
                    best = (key, a, b)
        if best is None:
            return comps
        _, a, b = best
        comps[a] = sorted(comps[a] + comps[b])
        del comps[b]


class BoundsFilter:
    """``approx="bounds"`` for a conjunction of rules whose counters' product exceeds its
    budget: the counters are split into groups that fit (:func:`fitting_groups`), each
    group's rules are filtered exactly (a :class:`CounterFilter`), and :meth:`step`
    returns certified Fréchet bounds on the whole conjunction. With ``A_i`` = "the prefix
    satisfies group ``i``" and ``V_i`` = "group ``i`` is certainly violated" (``k`` groups):

    * ``P(prefix |= φ) = P(∩ A_i)`` lies in ``[max(0, Σ P(A_i) - (k - 1)), min P(A_i)]``;
    * ``P(certainly violated)`` lies in ``[max P(V_i), min(1, Σ P(V_i))]`` when one frame
      can make every rule idle (then the whole is doomed exactly when a rule broke, see
      :func:`counter_filter`), else in ``[max P(V_i), 1 - lower(P(prefix |= φ))]`` (a doomed
      group dooms the whole; a doomed prefix is not satisfied);
    * ``P(certainly satisfied)`` is ``1 - P(certainly violated)`` when every rule is valid,
      else 0.

    While every frame is 0/1 only the whole conjunction's integer counters run and the
    bounds are the exact values (a point interval); the first probability frame seeds
    the groups' filters with those counters. :attr:`bounds` holds the last
    ``((lo, hi) of P(prefix |= φ), of P(certainly satisfied), of P(certainly violated))``
    and :meth:`step` returns the lower ends.
    """

    def __init__(self, whole: CounterFilter) -> None:
        if not whole.boundable:
            raise InvalidArgument(
                f"{to_text(whole.formula)!r} has no smaller groups of counters within max_states to bound it with"
            )
        self.whole = whole
        self.formula = whole.formula
        self.atoms = whole.atoms
        self.max_states = whole.max_states
        comps = fitting_groups(whole)
        key_of = {(g.kind, g.q, g.r): j for j, g in enumerate(whole.groups)}
        conjuncts = list(whole.formula.args) if isinstance(whole.formula, A.And) else [whole.formula]
        rules = C.rules_of(whole.formula) or []
        where = {j: i for i, comp in enumerate(comps) for j in comp}
        members: list[list[A.Formula]] = [[] for _ in comps]
        for c, rule in zip(conjuncts, rules):
            members[where[key_of[(rule.kind, rule.q, rule.r)]]].append(c)
        self.parts: list[CounterFilter] = []
        for cs in members:
            sub = counter_filter(A.conj(*cs), whole.max_states)
            if sub is None or getattr(sub, "too_large", True):  # pragma: no cover - groups of rules are counters
                raise InvalidArgument(f"{to_text(A.conj(*cs))!r} is not a counter filter within its budget")
            self.parts.append(sub)
        self.idle = whole.exact_verdicts  # over budget, exact_verdicts says whether a frame can idle every rule
        self.valid = whole.valid
        self._key_index = key_of
        self.plain = False  # a monitor's 0/1 hot loop calls step01
        self.too_large = False  # probability frames are bounded, never refused
        self.reset()

    def reset(self) -> None:
        self.whole.reset()
        for f in self.parts:
            f.reset()
        self._exact = True  # the whole's integer counters still run (0/1 frames so far)
        self.bounds: tuple[tuple[float, float], ...] | None = None

    @property
    def _states(self) -> list[int] | None:
        """The whole's integer counters while every frame was 0/1, else None."""
        return self.whole._states if self._exact else None

    def step01(self, frame: Mapping[str, float]) -> tuple[float, float, float] | None:
        """A 0/1 frame while every frame was 0/1: exact (None otherwise: use :meth:`step`)."""
        if not self._exact:
            return None
        out = self.whole.step01(frame)
        if out is not None:
            self.bounds = tuple((x, x) for x in out)
        return out

    def _seed(self) -> None:
        """Leave the 0/1 path: every group's counters from the whole's."""
        states = self.whole._states or []
        for f in self.parts:
            f._states = [states[self._key_index[(g.kind, g.q, g.r)]] for g in f.groups]
            f._dead = any(x < 0 for x in f._states)
            f._index = self.whole._index
        self._exact = False

    def describe(self) -> str:
        sizes = ", ".join(f"{f.n_states:,}" for f in self.parts)
        return (
            f"bounds (approx=\"bounds\"): {self.whole.describe()} is over its budget of "
            f"{self.whole.budget:,} states; on probability frames {len(self.parts)} groups of rules "
            f"filtered exactly ({sizes} states), combined by Fréchet bounds"
        )

    def step(self, frame: Mapping[str, float], checked: Sequence[float] | None = None) -> tuple[float, float, float]:
        if self._exact:
            out = self.step01(frame)
            if out is not None:
                return out
            self._seed()
        vals = [f.step(frame) for f in self.parts]
        k = len(vals)
        p_lo = max(0.0, sum(v[0] for v in vals) - (k - 1))
        pv_lo = max(v[2] for v in vals)
        p_hi = max(p_lo, min(min(v[0] for v in vals), 1.0 - pv_lo))
        pv_hi = 1.0 - p_lo
        if self.idle:
            pv_hi = min(pv_hi, sum(v[2] for v in vals))
        pv_hi = min(max(pv_hi, pv_lo), 1.0)
        ps = (1.0 - pv_hi, 1.0 - pv_lo) if self.valid else (0.0, 0.0)
        self.bounds = ((p_lo, p_hi), ps, (pv_lo, pv_hi))
        return p_lo, ps[0], pv_lo
