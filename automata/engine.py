"""The satisfaction signal: ``P((w, i) |= φ)`` for every frame ``i``, exactly.

Frames are independent: proposition ``p`` holds at frame ``i`` with the given
probability, independently of everything else. Then the signal is computed
exactly (no t-norms: ``p & !p`` has probability 0) in time linear in the
number of frames. :class:`Evaluator` dispatches:

* 0/1 tables: :class:`~framelogic.automata.boolean.BooleanProgram`, one array
  pass per distinct subformula, flat in every bound;
* probabilities: the :mod:`~framelogic.automata.plan` — the formula split into
  parts over disjoint propositions, each a Shannon expansion, a closed form, a
  response counter or a small automaton run by the passes below;
* ``engine="automaton"``: one monolithic automaton of the whole formula, run by
  the same passes (kept for comparison and differential tests).

The automaton passes:

* future-only formulas: one backward pass over the automaton of ``φ``
  (``v_i(q)`` = probability that the rest of the trace is accepted from state
  ``q``); on 0/1 input the pass runs through the *reverse* automaton, one table
  lookup per frame whatever the bounds;
* formulas with past operators: the automaton of ``F (m & φ)`` with a marker
  ``m`` on frame ``i`` alone; a forward pass gives the state distribution
  before ``i`` (over the pre-marker states only) and a backward pass the
  acceptance probability after it. The planner builds that automaton as a
  product of past and future automata (:func:`marked_product`).

Guards are evaluated through a reduced ordered decision diagram of every
state's successor function (one multiply-add per diagram node and frame, not
one per letter), directly on the per-proposition probabilities. Memory stays
``O(n·k + |Q|·2^k)``; the marker pass keeps its forward distributions in
chunks with checkpoints."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from framelogic.logic import ast as A
from framelogic.logic.errors import AutomatonTooLarge, InvalidValue
from framelogic.logic.passes import atom_names, has_time_bounds, map_children, resolve_time
from framelogic.logic.printer import to_text
from framelogic.logic.trace import TraceTable, as_trace

from . import kernels as K
from .compile import as_formula, compile
from .construct import DEFAULT_MAX_STATES
from .dfa import Automaton
from .letters import encode
from .letters import letter_probabilities as letter_probabilities  # the baselines' import path
from .plan import APPROX_MODES, Plan, SignalBounds, plan
from .world import Markov, World, WorldPlan, resolve_world

CHUNK_CELLS = 1 << 21  # frames x states per chunk of forward distributions (marker pass)
REVERSE_LIMIT = 50_000  # reverse-automaton states before falling back
MARK = "\0marker"


def has_past(f: A.Formula) -> bool:
    stack = [f]
    while stack:
        g = stack.pop()
        if isinstance(g, (A.Prev, A.Since, A.Once, A.Historically)):
            return True
        stack.extend(A.children(g))
    return False


def has_future(f: A.Formula) -> bool:
    stack = [f]
    while stack:
        g = stack.pop()
        if isinstance(g, (A.Next, A.WeakNext, A.Until, A.Release, A.WeakUntil, A.StrongRelease, A.Eventually, A.Always)):
            return True
        stack.extend(A.children(g))
    return False


def _columns(values: np.ndarray) -> np.ndarray:
    # one array type for the compiled loops (numba compiles once per layout and
    # writability): C-contiguous float64, viewed read-only without copying
    out = np.ascontiguousarray(values, dtype=np.float64).view()
    out.setflags(write=False)
    return out


def reverse_automaton(dfa: Automaton, limit: int = REVERSE_LIMIT) -> tuple[np.ndarray, np.ndarray] | None:
    """Subset construction of the reversed automaton, restricted to what a
    backward pass visits: states are the sets ``{q : suffix accepted from q}``.

    Returns ``(rdelta, rbits)`` with ``rbits[r]`` the set as a boolean vector, or
    None past ``limit`` states.
    """
    delta = dfa.delta
    start = dfa.accepting.copy()
    index = {start.tobytes(): 0}
    bits = [start]
    rows = []
    i = 0
    while i < len(bits):
        v = bits[i]
        succ = v[delta]  # (states, letters): v' for each letter, column-wise
        row = np.empty(delta.shape[1], dtype=np.int32)
        for s in range(delta.shape[1]):
            col = np.ascontiguousarray(succ[:, s])
            key = col.tobytes()
            r = index.get(key)
            if r is None:
                if len(bits) >= limit:
                    return None
                r = index[key] = len(bits)
                bits.append(col)
            row[s] = r
        rows.append(row)
        i += 1
    return np.stack(rows), np.stack(bits)


ENGINES = ("exact", "automaton", "reference")


class Evaluator:
    """A formula prepared once for its satisfaction signal on any number of traces.

    Everything a rate needs is built on first use and kept, so evaluating many
    videos (or chunks of a stream of tables) pays the compilation once. Time
    bounds are resolved per sampling rate. Engines:

    * ``"exact"`` (default): 0/1 tables run the compositional
      :class:`~framelogic.automata.boolean.BooleanProgram` (flat in every
      bound); probabilities run the :func:`~framelogic.automata.plan.plan`
      (independent parts, closed forms, counters, small automata). With
      ``approx="bounds"`` a part whose automaton exceeds ``max_states`` is split
      and the call returns certified :class:`~framelogic.automata.plan.SignalBounds`;
    * ``"automaton"``: one monolithic automaton of the whole formula (kept for
      comparison and differential tests).

    >>> ev = Evaluator("a U b")
    >>> [ev(t).tolist() for t in ({"a": [1, 0], "b": [0, 1]}, {"a": [1, 1], "b": [0, 0]})]
    [[1.0, 1.0], [0.0, 0.0]]
    >>> print(Evaluator("G (a -> F[0,2s] b) & G c", fps=30).plan(30).describe())
    exact: product of 2 independent parts; closed forms: 1; counters: 1
    """

    def __init__(
        self,
        formula: A.Formula | str,
        *,
        fps: float | None = None,
        max_states: int = DEFAULT_MAX_STATES,
        engine: str = "exact",
        approx: str | None = None,
        world: World | str | None = None,
    ) -> None:
        _check_engine(engine, approx, allow_reference=False)
        self.world = resolve_world(world)
        _check_world(self.world, engine, approx)
        self.formula = as_formula(formula)
        self.fps = fps
        self.max_states = max_states
        self.engine = engine
        self.approx = approx
        self._programs: dict[float | None, _Program] = {}
        self._plans: dict[tuple[float | None, str | None], Plan] = {}
        self._booleans: dict[float | None, object] = {}
        self._world_plans: dict[tuple[float | None, Markov], WorldPlan] = {}

    def _key(self, rate: float | None) -> float | None:
        return rate if has_time_bounds(self.formula) else None

    def program(self, rate: float | None) -> _Program:
        """The monolithic automaton at ``rate`` (the ``"automaton"`` engine)."""
        key = self._key(rate)
        prog = self._programs.get(key)
        if prog is None:
            prog = self._programs[key] = _Program(resolve_time(self.formula, rate), self.max_states)
        return prog

    def plan(self, rate: float | None, approx: str | None | object = ...) -> Plan:
        """The plan the ``"exact"`` engine runs on probabilities at ``rate``
        (``plan.describe()`` says how each part is evaluated)."""
        approx = self.approx if approx is ... else approx
        key = (self._key(rate), approx)
        p = self._plans.get(key)
        if p is None:
            p = self._plans[key] = plan(resolve_time(self.formula, rate), max_states=self.max_states, approx=approx)  # type: ignore[arg-type]
        return p

    def world_plan(self, rate: float | None, world: Markov | None = None) -> WorldPlan:
        """The prepared inference under a Markov ``world`` (default: this evaluator's) at ``rate``."""
        world = self.world if world is None else world
        if not isinstance(world, Markov):
            raise InvalidValue(f"world={world!r}: only a Markov world has a world plan")
        key = (rate, world)
        p = self._world_plans.get(key)
        if p is None:
            p = self._world_plans[key] = WorldPlan(resolve_time(self.formula, rate), world, rate, max_states=self.max_states)
        return p

    def boolean_program(self, rate: float | None):  # type: ignore[no-untyped-def]
        """The program the ``"exact"`` engine runs on 0/1 tables at ``rate``."""
        from .boolean import BooleanProgram

        key = self._key(rate)
        prog = self._booleans.get(key)
        if prog is None:
            prog = self._booleans[key] = BooleanProgram(resolve_time(self.formula, rate))
        return prog

    def __call__(self, table: object, *, fps: float | None = None) -> np.ndarray | SignalBounds:
        """``out[i]`` = P((w, i) |= φ) for every frame ``i`` of ``table``."""
        return self._run(table, fps, self.engine, self.approx)

    def _run(
        self, table: object, fps: float | None, engine: str, approx: str | None, world: World | None = None
    ) -> np.ndarray | SignalBounds:
        t = as_trace(table)
        rate = fps if fps is not None else self.fps if self.fps is not None else t.rate
        world = self.world if world is None else world
        if isinstance(world, Markov):
            _check_world(world, engine, approx)
            return self.world_plan(rate, world)(t)
        if engine == "automaton":
            prog = self.program(rate)
            return prog.run(t.select(prog.names))
        values = t.columns(atom_names(self.formula))  # validated once, by the table
        if len(values) == 0:
            return np.zeros(0)
        out = self.boolean_program(rate).signal(values)  # 0/1 input: the compositional signal, no automaton
        return out if out is not None else self.plan(rate, approx)(values)

    def __repr__(self) -> str:
        return f"Evaluator({to_text(self.formula)!r})"


def _check_engine(engine: str, approx: str | None, *, allow_reference: bool) -> None:
    allowed = ENGINES if allow_reference else ENGINES[:2]
    if engine not in allowed:
        raise InvalidValue(f"engine={engine!r} must be one of {', '.join(map(repr, allowed))}")
    if approx not in APPROX_MODES:
        raise InvalidValue(f"approx={approx!r} must be None or 'bounds'")
    if approx is not None and engine != "exact":
        raise InvalidValue(f"approx={approx!r} needs engine='exact' (engine={engine!r} is always exact)")


def _check_world(world: World, engine: str, approx: str | None) -> None:
    if isinstance(world, Markov) and (engine != "exact" or approx is not None):
        raise InvalidValue(
            f"engine={engine!r}, approx={approx!r}: the Markov world has its own exact inference; "
            "engine= and approx= apply to the independent world only (leave them out)"
        )


def _maximal_past(f: A.Formula) -> list[A.Formula] | None:
    """The maximal pure-past subformulas that contain a past operator, or None
    when some past operator has a future operator inside (``Y F a``)."""
    out: dict[A.Formula, None] = {}

    def go(g: A.Formula) -> bool:
        if has_past(g) and not has_future(g):
            out.setdefault(g, None)
            return True
        if isinstance(g, (A.Prev, A.Since, A.Once, A.Historically)):
            return False
        return all(go(c) for c in A.children(g))

    return list(out) if go(f) else None


def marked_product(f: A.Formula, names: tuple[str, ...], max_states: int) -> Automaton | None:
    """The automaton of ``F (m & φ)`` built as a product instead of by progression.

    Every maximal pure-past subformula ``π_k`` of ``φ`` becomes a fresh atom
    ``z_k``; the small automaton of "``π_k`` holds at the last frame" tells
    ``z_k`` at every frame, and the future-only remainder ``φ[z/π]`` gets its
    own automaton. Before the marker only the past automata run; on the marker
    the future one starts, reading each frame's letter and the ``z`` bits of the
    past automata after that frame. The product has at most ``|P| (1 + |F|)``
    states however the progression of ``φ`` itself would grow (``G (turn ->
    H[0,60] signal) & G (signal -> F[0,90] turn)``: about 6,000 states, where
    progression exceeds 100,000). None when a past operator has a future
    operand (then progression is the only construction).
    """
    pasts = _maximal_past(f)
    if not pasts:
        return None
    zs = tuple(f"\0past{k}" for k in range(len(pasts)))
    table = {pi: A.Atom(z, True) for pi, z in zip(pasts, zs)}

    def swap(g: A.Formula) -> A.Formula:
        hit = table.get(g)
        return hit if hit is not None else map_children(g, swap)

    rest = swap(f)
    if has_past(rest):  # pragma: no cover - every past operator sits in some π_k
        return None
    k = len(names)
    past = [compile(A.F(A.conj(pi, A.neg(A.X(A.TRUE)))), props=names, max_states=max_states) for pi in pasts]
    fut = compile(rest, props=(*names, *zs), max_states=max_states)
    n_letters = 1 << k
    letters = np.arange(n_letters)
    index: dict[tuple, int] = {}
    keys: list[tuple] = []

    def state(key: tuple) -> int:
        s = index.get(key)
        if s is None:
            if len(keys) >= max_states:
                raise AutomatonTooLarge(
                    f"the product automaton of {to_text(f)} (past parts x future part) exceeds "
                    f"max_states={max_states}; raise max_states or shorten the windows"
                )
            s = index[key] = len(keys)
            keys.append(key)
        return s

    state((None, tuple(d.initial for d in past)))  # before the marker: past states only
    rows = []
    i = 0
    while i < len(keys):
        fs, ps = keys[i]
        nxt = [d.delta[p] for d, p in zip(past, ps)]  # (letter,) -> next past state, per past part
        z = np.zeros(n_letters, dtype=np.int64)
        for j, (d, col) in enumerate(zip(past, nxt)):
            z |= d.accepting[col].astype(np.int64) << (k + j)
        start = fut.initial if fs is None else fs
        fnext = fut.delta[start, letters | z]
        on = [state((int(fnext[x]), tuple(int(c[x]) for c in nxt))) for x in range(n_letters)]
        off = on if fs is not None else [state((None, tuple(int(c[x]) for c in nxt))) for x in range(n_letters)]
        rows.append(off + on)  # marker bit k: off letters first, then on
        i += 1
    accepting = np.array([fs is not None and bool(fut.accepting[fs]) for fs, _ in keys])
    dfa = Automaton((*names, MARK), np.array(rows, dtype=np.int32), accepting, 0, A.F(A.conj(A.Atom(MARK, True), f)))
    return dfa.minimize()


class _Program:
    """The compiled artifacts of one frame-bounded formula.

    * future-only: the automaton of φ, run backwards;
    * pure past: the automaton of "φ holds at the last frame", run forwards;
    * mixed: the automaton of ``F (m & φ)`` with the marker ``m``.
    """

    def __init__(self, f: A.Formula, max_states: int, *, split_past: bool = False) -> None:
        self.formula = f
        self.names = atom_names(f)
        past, future = has_past(f), has_future(f)
        if past and not future:
            self.kind = "past"
            self.dfa = compile(A.F(A.conj(f, A.neg(A.X(A.TRUE)))), props=self.names, max_states=max_states)
        elif past:
            self.kind = "marked"
            dfa = marked_product(f, self.names, max_states) if split_past else None
            if dfa is None:
                dfa = compile(A.F(A.conj(A.Atom(MARK, True), f)), props=(*self.names, MARK), max_states=max_states)
            self.dfa = dfa
        else:
            self.kind = "future"
            self.dfa = compile(f, props=self.names, max_states=max_states)

    @cached_property
    def reverse(self) -> tuple[np.ndarray, np.ndarray] | None:
        return reverse_automaton(self.dfa, REVERSE_LIMIT)

    @cached_property
    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The :func:`~framelogic.automata.kernels.flat_diagram` of the transitions."""
        d = self.dfa.delta
        if self.kind == "marked":  # marker off (first half of the letters), then on
            half = d.shape[1] // 2
            return K.flat_diagram(np.vstack([d[:, :half], d[:, half:]]), self.dfa.n_states)
        return K.flat_diagram(d)

    @cached_property
    def before_marker(self) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """``(states, flat diagram)`` of the states reachable before the marker
        (closed under marker-off letters, numbered ``0..len(states)``): the
        forward pass of the marked run needs only these, often a small share."""
        d = self.dfa.delta
        off = d[:, : d.shape[1] // 2]
        seen = np.zeros(self.dfa.n_states, dtype=bool)
        seen[self.dfa.initial] = True
        frontier = np.array([self.dfa.initial])
        while len(frontier):
            nxt = np.unique(off[frontier].ravel())
            nxt = nxt[~seen[nxt]]
            seen[nxt] = True
            frontier = nxt
        states = np.flatnonzero(seen)
        # the initial state first: the forward pass starts there
        states = np.concatenate([[self.dfa.initial], states[states != self.dfa.initial]])
        local = np.full(self.dfa.n_states, -1, dtype=np.int64)
        local[states] = np.arange(len(states))
        return states, K.flat_diagram(local[off[states]])

    def run(self, sub: TraceTable) -> np.ndarray:
        if len(sub) == 0:
            return np.zeros(0)
        boolean = sub.is_boolean
        match self.kind:
            case "future":
                if boolean:
                    return _future_bool(self.dfa, self.reverse, encode(sub.values))
                return _future_prob(self.dfa, self.flat, _columns(sub.values))
            case "past":
                return _past(self.dfa, self.flat, sub, boolean)
        return _marked(self, sub, boolean)


def evaluate(
    formula: A.Formula | str | Evaluator,
    table: object,
    *,
    fps: float | None = None,
    engine: str | None = None,
    approx: str | None = None,
    world: World | str | None = None,
) -> np.ndarray | SignalBounds:
    """``out[i]`` = P((w, i) |= φ) for every frame ``i`` (exactly 0/1 on 0/1 input).

    ``world`` says how the probabilities are read (:mod:`framelogic.automata.world`):
    ``None`` or ``Independent()`` (the default, or the :class:`Evaluator`'s own
    world): frames and propositions are independent coins; ``Markov(...)``: each
    proposition a persistent hidden chain observed through the scores, and the
    result is P((w, i) |= φ | all observations). Either way the probability is exact. ``engine`` is
    ``"exact"`` (the default, or the :class:`Evaluator`'s own engine): the
    compositional boolean program on 0/1 input, the planner of
    :mod:`framelogic.automata.plan` on probabilities; ``"automaton"``: one
    monolithic automaton (for comparison); ``"reference"``: the plain
    reference semantics (boolean traces only; quadratic; for checking).
    ``approx="bounds"`` lets the planner return certified
    :class:`~framelogic.automata.plan.SignalBounds` instead of failing when a
    part's automaton exceeds the state budget. Pass an :class:`Evaluator` to
    reuse its compilation across many tables.

    >>> evaluate("a U b", {"a": [1, 1, 0], "b": [0, 0.5, 1]}).tolist()
    [1.0, 1.0, 1.0]
    """
    _check_engine(engine or "exact", approx, allow_reference=True)
    w = None if world is None else resolve_world(world)
    if engine == "reference":
        from framelogic.logic.semantics import satisfaction

        t = as_trace(table)
        f = formula.formula if isinstance(formula, Evaluator) else as_formula(formula)
        rate = fps if fps is not None else t.rate
        return satisfaction(resolve_time(f, rate), t).astype(np.float64)
    if isinstance(formula, Evaluator):
        return formula._run(table, fps, engine or formula.engine, approx if approx is not None else formula.approx, w)
    return Evaluator(formula, engine=engine or "exact", approx=approx, world=w)(table, fps=fps)


def _past(dfa: Automaton, diagram: tuple, sub: TraceTable, boolean: bool) -> np.ndarray:
    """A pure-past formula's value at frame i depends on frames 0..i only: one
    forward pass over the automaton of "φ holds at the last frame" gives them all."""
    n = len(sub)
    if boolean:
        states = np.empty(n, dtype=np.int32)
        K.fast(K.run_states, n)(dfa.delta, encode(sub.values), dfa.initial, states)
        return dfa.accepting[states].astype(np.float64)
    out = np.empty(n)
    a = np.zeros(dfa.n_states)
    a[dfa.initial] = 1.0
    acc = dfa.accepting.astype(np.float64)
    K.fast(K.forward_prob, n, dfa.n_states)(*diagram, _columns(sub.values), a, acc, out, np.empty((0, 0)))
    return np.clip(out, 0.0, 1.0)


def _future_bool(dfa: Automaton, rev: tuple[np.ndarray, np.ndarray] | None, letters: np.ndarray) -> np.ndarray:
    n = len(letters)
    out = np.empty(n, dtype=np.bool_)
    if rev is not None:
        rdelta, rbits = rev
        racc = np.ascontiguousarray(rbits[:, dfa.initial])
        K.fast(K.backward_bool, n)(rdelta, racc, letters, 0, out)
    else:
        v = dfa.accepting.copy()
        K.fast(K.backward_bool_direct, n)(dfa.delta, v, letters, dfa.initial, out)
    return out.astype(np.float64)


def _future_prob(dfa: Automaton, diagram: tuple, values: np.ndarray) -> np.ndarray:
    n = values.shape[0]
    out = np.empty(n)
    v = dfa.accepting.astype(np.float64)
    K.fast(K.backward_prob, n, dfa.n_states)(*diagram, dfa.initial, values, v, out)
    return np.clip(out, 0.0, 1.0)


def _marked(prog: _Program, sub: TraceTable, boolean: bool) -> np.ndarray:
    dfa = prog.dfa
    mark = 1 << len(prog.names)
    n = len(sub)
    if boolean:
        letters = encode(sub.values)
        before = np.empty(n, dtype=np.int32)
        after = np.empty(n, dtype=np.int32)
        K.fast(K.run_states, n)(dfa.delta, letters, dfa.initial, after)
        before[0] = dfa.initial
        before[1:] = after[:-1]
        marked = dfa.delta[before, letters | mark]
        rev = prog.reverse
        if rev is not None:
            rdelta, rbits = rev
            rs = np.empty(n, dtype=np.int32)
            K.fast(K.backward_bool_states, n)(rdelta, letters, 0, rs)
            return rbits[rs, marked].astype(np.float64)
        # fallback: suffix acceptance per state, one frame at a time
        out = np.empty(n)
        v = dfa.accepting.copy()
        for i in range(n - 1, -1, -1):
            out[i] = v[marked[i]]
            v = v[dfa.delta[:, letters[i]]]
        return out
    values = _columns(sub.values)
    var, lo, hi, roots = prog.flat
    states, off = prog.before_marker  # the forward pass runs on the pre-marker states only
    m = len(states)
    on = np.ascontiguousarray(roots[dfa.n_states + states])  # their marker-on successors
    step = max(1, CHUNK_CELLS // m)
    # forward pass: checkpoints of the state distribution at chunk starts
    starts = list(range(0, n, step))
    checkpoints = np.empty((len(starts), m))
    a = np.zeros(m)
    a[0] = 1.0
    fwd = K.fast(K.forward_prob, n, m)
    zeros, none = np.zeros(m), np.empty((0, 0))
    for c, start in enumerate(starts):
        checkpoints[c] = a
        chunk = values[start : start + step]
        fwd(*off, chunk, a, zeros, np.empty(chunk.shape[0]), none)
    out = np.empty(n)
    v = dfa.accepting.astype(np.float64)
    back = K.fast(K.marked_prob, n, dfa.n_states)
    for c in range(len(starts) - 1, -1, -1):
        start = starts[c]
        chunk = values[start : start + step]
        alpha = np.empty((chunk.shape[0], m))
        a = checkpoints[c].copy()
        fwd(*off, chunk, a, zeros, np.empty(chunk.shape[0]), alpha)
        back(var, lo, hi, roots, on, alpha, chunk, v, out[start : start + chunk.shape[0]])
    return np.clip(out, 0.0, 1.0)
