"""Streaming monitors with RV-LTL verdicts.

A :class:`Monitor` reads one frame at a time (a mapping proposition ->
probability, or 0/1). It splits the formula into parts over disjoint
propositions (:func:`framelogic.automata.factor.factor`) and follows each part
by the cheapest exact means (:meth:`Monitor.describe` says which):

* **counters** (:mod:`.monitor_counters`, independent world) for conjunctions
  of rules ``G (p -> O/H[0,b] q | q S[0,b] r | q U[0,b] r | F[0,b] q)`` (rules
  with the same ``q`` and ``r`` share one counter; rules sharing propositions
  are followed as the product of their counters), delayed windows
  ``G (p -> F[lo,hi] r)`` and sequences ``F[0,b1] (a1 & F[0,b2] (a2 & ...))``.
  No automaton is built: a 0/1 frame moves one integer per counter
  (O(number of rules), whatever the bounds), a probability frame moves the
  exact filtering distribution over the counters' product (two counters
  through a pair kernel, with :func:`.counters.budget`'s pair budget of
  4 x ``max_states``, as the offline evaluator). A product over its budget
  follows 0/1 frames and refuses probability frames with an
  :class:`AutomatonTooLarge` naming the rules and the size, unless
  ``approx="bounds"``: then smaller groups of its rules are filtered exactly
  and every :class:`Status` carries certified Fréchet ``bounds``;
* an **automaton** per remaining part, when a cheap estimate of its size
  (:func:`.monitor_counters.estimate_states`) is within ``max_states`` — the
  monitor never spends seconds on an automaton that would not fit;
* else the part's **streaming signal** (0/1 frames only, below).

Memory is O(sum of the parts' states), whatever the stream length. A rule set
such as ``G (red -> F[0,3s] stopped) & G (ped -> F[0,2s] brake)`` costs two
counters of ``3s`` and ``2s`` frames, not their product. ``counters=False``
gives the automaton-per-part monitor (the reference the tests compare with).

Verdicts (RV-LTL, decided as early as certain from the automata's sinks):

* ``SATISFIED`` — every continuation of the prefix, including stopping now,
  satisfies φ;
* ``VIOLATED`` — no continuation satisfies φ;
* ``PRESUMABLY_SATISFIED`` — the prefix seen so far satisfies φ, but a
  continuation could still violate it;
* ``PRESUMABLY_VIOLATED`` — the prefix does not satisfy φ yet, but a
  continuation could.

With probabilities the state is uncertain: ``probability`` is P(prefix ⊨ φ),
``p_satisfied``/``p_violated`` the probability that the prefix is already
certainly satisfied / violated, all given the observations so far. The verdict
comes at a confidence level ``1 - δ`` (``confidence=δ``, default 0.01):

* ``SATISFIED`` when ``p_satisfied >= 1 - δ``;
* else ``VIOLATED`` when ``p_violated >= 1 - δ``;
* else ``PRESUMABLY_SATISFIED`` when ``probability >= 0.5``, else
  ``PRESUMABLY_VIOLATED``.

On 0/1 frames the three probabilities are 0 or 1, so this is exactly the RV-LTL
verdict for every δ. Counters give the automaton's verdicts exactly: a broken
rule is final, a rule set is certainly satisfied only when it is valid, and a
state of the product that no continuation can rescue (rules that pull one frame
both ways, like ``G (turn -> H[0,2s] signal) & G (signal -> F[0,3s] turn)``)
is found by a fixpoint over the product when that is affordable (else the
part's :meth:`describe` says VIOLATED may come when a rule breaks instead).

When a verdict can come: past operators decide a frame when it is read; a
bounded future operator decides frame ``i`` at the latest at frame ``i + hi``
(its window closed), earlier when a frame settles it. ``Monitor.horizon`` is
that delay for the whole formula, and ``signal=True`` reports every frame's
value of φ as soon as it is decided.

World models (``world=``). Under :class:`~framelogic.automata.world.Independent`
(the default) every proposition at every frame is an independent coin and the
probabilities come from pushing each part's state distribution through the
frame. ``p_satisfied`` and ``p_violated`` never decrease (the sinks keep their
mass), so once a verdict is SATISFIED or VIOLATED it stays. With long streams
of small but positive probabilities (a detector that says 0.05 "pedestrian" on
every empty frame), ``p_violated`` of a rule like ``G (ped -> F[0,2s] stopped)``
grows to 1 under independence although nothing happened: thousands of
independent 5% coins make one pedestrian nearly certain.

Under :class:`~framelogic.automata.world.Markov` each proposition is a hidden
persistent two-state chain and the frames are likelihoods of its state; each
part is followed by a :class:`~framelogic.automata.world.WorldFilter`, the exact
filtering distribution P(automaton state | observations so far) of the product
of the part's automaton with its chains. A steady 0.05 is then evidence
*against* a pedestrian, and a violation needs a run of evidence for one. A later
frame may revise what earlier frames meant (a persistent chain reads the past
through the present), so under Markov a SATISFIED or VIOLATED verdict holds for
the observations so far and can be withdrawn by later ones; the verdict after
the last frame is the one to act on. Parts over disjoint propositions are
independent chains, so the combination rules below stay exact; propositions
tied by a ``mutex`` group are one joint chain, and parts that share one are
followed as one automaton.

Combining the parts. Parts over disjoint propositions are independent events
at every prefix, so for an ``and`` of parts ``P(prefix ⊨ φ)`` is the product,
``p_satisfied`` the product and ``p_violated = 1 - Π(1 - p_violated)``; an
``or`` is the dual and a negation swaps satisfied and violated. These are exact
— the combined verdict equals the verdict of the one automaton of the whole
formula — when no part constrains the *length* of the trace on its own (a part
like ``N false``, "the trace ends here", could make two parts that are each
still satisfiable unsatisfiable together). The monitor checks this on every
part's automaton (every accepting state has an accepting successor, every
rejecting one a rejecting successor) and compiles a group of parts that fails
it as one automaton. A part whose conjuncts share propositions is one automaton
too, so its verdict is exact.

Parts too large to compile. A part whose automaton would exceed ``max_states``
is followed on 0/1 frames by a :class:`~framelogic.automata.streaming.StreamingSignal`
instead: its verdict is final (SATISFIED or VIOLATED) once the part's value at
frame 0 is decided — when its future window has passed, or earlier when a frame
settles it (a witness of an ``F``, a counterexample of a ``G``; the signal's
``early`` mode) — and before that PRESUMABLY_*, from
the part's value on the prefix read so far *as if the stream ended there*
(which is what the automaton's accepting states would say). So such a part's
final verdicts may come later than an automaton's would, never earlier and
never different. Probabilities for such a part raise :class:`AutomatonTooLarge`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from framelogic.logic import ast as A
from framelogic.logic.errors import AutomatonTooLarge, InvalidArgument, InvalidValue, TraceError
from framelogic.logic.passes import atom_names, resolve_time
from framelogic.logic.printer import to_text
from framelogic.logic.trace import as_trace

from .compile import as_formula, compile
from .construct import DEFAULT_MAX_STATES
from .dfa import Automaton
from .factor import Factor, Indep, Leaf, Negate, factor, to_formula
from .letters import letter_of
from .monitor_counters import BoundsFilter, CounterFilter, counter_filter, estimate_states
from .streaming import StreamingSignal
from .world import Independent, WorldFilter, closure, resolve_world


class Verdict(enum.Enum):
    SATISFIED = "satisfied"
    VIOLATED = "violated"
    PRESUMABLY_SATISFIED = "presumably satisfied"
    PRESUMABLY_VIOLATED = "presumably violated"

    @property
    def final(self) -> bool:
        """True for SATISFIED / VIOLATED: certain on 0/1 frames; on probabilities,
        certain at the monitor's confidence level (see the module doc)."""
        return self in (Verdict.SATISFIED, Verdict.VIOLATED)


@dataclass(frozen=True, slots=True)
class Status:
    """The monitor's answer after a frame."""

    frame: int  # index of the frame just read
    verdict: Verdict
    probability: float  # P(prefix so far satisfies φ)
    p_satisfied: float  # P(already certainly satisfied)
    p_violated: float  # P(already certainly violated)
    # (frame, value of φ at that frame) decided by this frame, oldest first; only
    # with Monitor(..., signal=True); frame i arrives at frame i + horizon
    resolved: tuple[tuple[int, float], ...] = ()
    # Monitor(..., approx="bounds") with a part over its budget: certified
    # ((lo, hi) of probability, of p_satisfied, of p_violated); the three numbers
    # above are then the lower ends. None: the numbers above are exact.
    bounds: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] | None = None


#: The default δ: a final verdict needs P >= 0.99.
DEFAULT_CONFIDENCE = 0.01


def _verdict(p: float, ps: float, pv: float, sure: float) -> Verdict:
    """The verdict at confidence level ``sure`` (= 1 - δ)."""
    if ps >= sure:
        return Verdict.SATISFIED
    if pv >= sure:
        return Verdict.VIOLATED
    return Verdict.PRESUMABLY_SATISFIED if p >= 0.5 else Verdict.PRESUMABLY_VIOLATED


def _bounded_verdict(bounds: tuple[tuple[float, float], ...], sure: float) -> Verdict:
    """The verdict from certified bounds: final only when the lower end decides it;
    PRESUMABLY_* by the middle of the probability's interval."""
    (p_lo, p_hi), (ps_lo, _), (pv_lo, _) = bounds
    if ps_lo >= sure:
        return Verdict.SATISFIED
    if pv_lo >= sure:
        return Verdict.VIOLATED
    return Verdict.PRESUMABLY_SATISFIED if (p_lo + p_hi) / 2 >= 0.5 else Verdict.PRESUMABLY_VIOLATED


def check_confidence(delta: object) -> float:
    """``confidence=δ`` as a float in (0, 1), or an :class:`InvalidArgument`."""
    if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not 0.0 < float(delta) < 1.0:
        raise InvalidArgument(
            f"confidence={delta!r} must be a number in (0, 1): the probability of error a final "
            "verdict may have (0.01: violated only when P(violated) >= 0.99)"
        )
    return float(delta)


class _AutomatonPart:
    """One part's automaton, stepped per frame by :meth:`Automaton.step` while frames
    are 0/1 (a single state), by :meth:`Automaton.push` (a distribution over
    states) once a probability arrives."""

    def __init__(self, formula: A.Formula, automaton: Automaton, sure: float) -> None:
        d = self.automaton = automaton
        self.formula = formula
        self.sure = sure
        self.atoms = d.atoms
        self.step_state = d.step
        sat, dead = d.doomed_to_accept, ~d.live
        # states that accept, are certainly satisfied, certainly violated
        self._masks = tuple(np.flatnonzero(row).tolist() for row in (d.accepting, sat, dead))
        self.det_status = [
            (Verdict.SATISFIED if sat[q] else Verdict.VIOLATED if dead[q]
             else Verdict.PRESUMABLY_SATISFIED if d.accepting[q] else Verdict.PRESUMABLY_VIOLATED,
             float(d.accepting[q]), float(sat[q]), float(dead[q]))
            for q in range(d.n_states)
        ]  # fmt: skip
        # Length-monotone: acceptance (rejection) reachable in k steps stays reachable
        # in k + 1, so the lengths that accept (reject) form an upward-closed set and
        # independent parts cannot disagree on the trace length (see the module doc).
        acc_next = d.accepting[d.delta]
        self.accepting_monotone = bool(np.all(~d.accepting | acc_next.any(axis=1)))
        self.rejecting_monotone = bool(np.all(d.accepting | (~acc_next).any(axis=1)))
        self.reset()

    def reset(self) -> None:
        self._state: int | None = self.automaton.initial  # None once uncertain
        self._dist: list[float] = []

    def step(self, frame: Mapping[str, float], index: int) -> tuple[Verdict, float, float, float]:
        """Read frame ``index``; return (verdict, P(accept), P(certainly sat), P(certainly violated))."""
        if self._state is not None:
            try:
                letter = letter_of(frame, self.atoms)
            except KeyError:
                letter = None  # reported below with the full message
            if letter is not None:
                q = self._state = self.step_state(self._state, letter)
                return self.det_status[q]
            self._dist = [0.0] * self.automaton.n_states
            self._dist[self._state] = 1.0
            self._state = None
        new = self._dist = self.automaton.push(self._dist, _values(frame, self.atoms, index))
        acc, sat, dead = self._masks
        p, ps, pv = sum(new[q] for q in acc), sum(new[q] for q in sat), sum(new[q] for q in dead)
        return _verdict(p, ps, pv, self.sure), min(max(p, 0.0), 1.0), ps, pv


def _values(frame: Mapping[str, float], atoms: Sequence[str], index: int) -> list[float]:
    """The frame's probabilities of ``atoms``, each checked to be in [0, 1]."""
    out = []
    for name in atoms:
        try:
            p = float(frame[name])
        except KeyError:
            raise TraceError(f"frame {index} has no value for {name!r}; it has {sorted(frame)}") from None
        if not 0.0 <= p <= 1.0:
            raise TraceError(f"frame {index}: {name}={p!r} is not a probability in [0, 1]")
        out.append(p)
    return out


class _WorldPart(_AutomatonPart):
    """One part's automaton under a Markov world: the exact filtering distribution over
    its states, from a :class:`~framelogic.automata.world.WorldFilter` over the product
    of the automaton with the part's hidden chains (on every frame, 0/1 ones too: the
    chains' states carry over to the next frame)."""

    def __init__(self, formula: A.Formula, automaton: Automaton, sure: float, world: object, rate: float | None) -> None:
        self.filter = WorldFilter(automaton, automaton.atoms, world, rate)
        super().__init__(formula, automaton, sure)
        self._index = tuple(np.asarray(m, dtype=np.intp) for m in self._masks)

    def reset(self) -> None:
        super().reset()
        self._state = None  # never the 0/1 shortcut: the chains' states matter
        self.filter.reset()

    def step(self, frame: Mapping[str, float], index: int) -> tuple[Verdict, float, float, float]:
        _values(frame, self.atoms, index)  # checked here, so errors name the frame
        dist = self._dist = self.filter.step(frame)
        p, ps, pv = (min(max(float(dist[m].sum()), 0.0), 1.0) for m in self._index)
        return _verdict(p, ps, pv, self.sure), p, ps, pv


class _StreamingPart:
    """A part too large for an automaton, followed on 0/1 frames by its satisfaction
    signal: final once frame 0's value is decided, else the prefix's value as if the
    stream ended now."""

    accepting_monotone = rejecting_monotone = True  # its final verdicts hold at every length

    def __init__(self, formula: A.Formula, error: AutomatonTooLarge, max_states: int) -> None:
        self.formula = formula
        self.signal = StreamingSignal(formula, early=True)  # final verdicts as soon as certain
        self.atoms = self.signal.names
        self._error = error
        self._max_states = max_states
        self.reset()

    def reset(self) -> None:
        self.signal.reset()
        self._value: bool | None = None  # frame 0's value, once decided

    def row(self, frame: Mapping[str, float], index: int) -> list[float]:
        """The frame's 0/1 values for this part, or the error that it cannot follow it."""
        row = []
        for name in self.atoms:
            try:
                v = frame[name]
            except KeyError:
                raise TraceError(f"frame {index} has no value for {name!r}; it has {sorted(frame)}") from None
            if v != 0 and v != 1:
                raise AutomatonTooLarge(
                    f"frame {index}: {name}={v!r} is a probability, but the part "
                    f"{to_text(self.formula)!r} of the formula needs more than max_states="
                    f"{self._max_states} automaton states, and without its automaton the monitor "
                    "follows it on 0/1 frames only; threshold the probabilities, raise max_states, "
                    "or shorten its time bounds"
                ) from self._error
            row.append(v)
        return row

    def step(self, frame: Mapping[str, float], index: int) -> tuple[Verdict, float, float, float]:
        if self._value is None:
            out = self.signal.push(self.row(frame, index))
            if out:
                self._value = out[0][1]  # frames come in order: this is frame 0
            else:
                prefix_value = self.signal.copy().finish()[0][1]
                return _DETERMINISTIC[False, prefix_value]
        return _DETERMINISTIC[True, self._value]


class _CounterPart:
    """Rules ``G (p -> B)`` (and delayed windows) followed by their exact counters
    (:mod:`.monitor_counters`): one integer per counter on 0/1 frames, the filtering
    distribution over the product of the counters once a probability arrives."""

    accepting_monotone = rejecting_monotone = True  # see monitor_counters: an idle frame accepts

    def __init__(self, formula: A.Formula, filt: CounterFilter, sure: float) -> None:
        self.formula = formula
        self.filter = filt
        self.atoms = filt.atoms
        self.sure = sure

    def reset(self) -> None:
        self.filter.reset()

    def check(self, frame: Mapping[str, float]) -> None:
        """Raise before any part moves when this frame needs a product over the budget."""
        filt = self.filter
        if filt._states is not None and filt.too_large and any(frame[name] not in (0, 1) for name in self.atoms):
            filt._prepare()

    def step(self, frame: Mapping[str, float], index: int) -> tuple[Verdict, float, float, float]:
        out = None
        if self.filter._states is not None:
            try:
                out = self.filter.step01(frame)
            except KeyError:
                pass
        if out is None:
            out = self.filter.step(frame, _values(frame, self.atoms, index))  # names a missing or bad value
        p, ps, pv = out
        return _verdict(p, ps, pv, self.sure), p, ps, pv


class _BoundsPart(_CounterPart):
    """A conjunction of rules whose counters' product is over its budget, with
    ``approx="bounds"``: exact integer counters on 0/1 frames, certified bounds from
    smaller groups on probability frames (:class:`.monitor_counters.BoundsFilter`)."""

    @property
    def bounds(self) -> tuple[tuple[float, float], ...]:
        return self.filter.bounds  # type: ignore[return-value]

    def step(self, frame: Mapping[str, float], index: int) -> tuple[Verdict, float, float, float]:
        _values(frame, self.atoms, index)  # names a missing or bad value
        p, ps, pv = self.filter.step(frame)
        return _bounded_verdict(self.bounds, self.sure), p, ps, pv


# (final, value) -> (verdict, P(accept), P(certainly sat), P(certainly violated)) on 0/1 frames
_DETERMINISTIC = {
    (True, True): (Verdict.SATISFIED, 1.0, 1.0, 0.0),
    (True, False): (Verdict.VIOLATED, 0.0, 0.0, 1.0),
    (False, True): (Verdict.PRESUMABLY_SATISFIED, 1.0, 0.0, 0.0),
    (False, False): (Verdict.PRESUMABLY_VIOLATED, 0.0, 0.0, 0.0),
}

_Part = _AutomatonPart | _StreamingPart | _CounterPart | _BoundsPart
# A monitor is built at the start of a stream: a part whose automaton takes longer
# than this to build is followed by its streaming signal instead of stalling the start.
MONITOR_MAX_SECONDS = 2.0
_SPLIT_CACHE = 1 << 16  # combined statuses of state tuples kept per monitor (0/1 path)
# The combination plan: a part's index, ("not", plan) or ("and" | "or", (plans...)).
_Plan = int | tuple


class Monitor:
    """Online monitor of one formula.

    ``max_states`` and ``max_seconds`` cap each part's automaton and counter product
    (see the module doc for parts beyond them); ``counters=False`` follows every part
    by an automaton (or its streaming signal) instead of counters. ``world`` is the world model the probabilities are
    read under (:class:`~framelogic.automata.world.Independent`, the default, or
    :class:`~framelogic.automata.world.Markov`); ``confidence`` is δ: SATISFIED
    (VIOLATED) only when P(satisfied | frames so far) (P(violated | ...)) is at
    least ``1 - δ``. When each verdict can come out is in the module doc.

    ``approx="bounds"``: a conjunction of rules whose counters' product exceeds its
    budget (:func:`.counters.budget`) is filtered as smaller groups of its rules that
    fit, each exactly, and every :class:`Status` carries certified Fréchet
    ``bounds`` (its three numbers are then the lower ends); SATISFIED / VIOLATED
    come only when the lower bound reaches the confidence level. :meth:`describe`
    says which parts are bounded. Without it such a part raises
    :class:`AutomatonTooLarge` at the first probability frame.

    With ``signal=True`` every :class:`Status` also carries
    ``resolved``: the frames whose value of φ (``(w, i) ⊨ φ``, 1.0 or 0.0) the
    frame just read decided. Frame ``i``'s value comes out with frame
    ``i + horizon`` (``horizon`` is φ's future lookahead in frames, 0 for a
    past-only formula); when φ has an unbounded future operator (``horizon`` is
    None) values come as soon as a frame settles them, the rest from
    :meth:`finish`. The resolved signal needs 0/1 frames and costs about a
    microsecond per formula node and frame, which is why it is opt-in.

    >>> m = Monitor("G (red -> F[0,2] stopped)")
    >>> m.step({"red": 1, "stopped": 0}).verdict
    <Verdict.PRESUMABLY_VIOLATED: 'presumably violated'>
    >>> m.step({"red": 0, "stopped": 1}).verdict
    <Verdict.PRESUMABLY_SATISFIED: 'presumably satisfied'>
    >>> g = Monitor("G ok", confidence=0.05)  # VIOLATED once P(violated) >= 0.95: 0.8, then 0.96
    >>> [g.step({"ok": 0.2}).verdict.value for _ in range(2)]
    ['presumably violated', 'violated']
    >>> s = Monitor("stopped -> O[0,2] red", signal=True)
    >>> s.horizon, s.step({"red": 1, "stopped": 0}).resolved, s.step({"red": 0, "stopped": 1}).resolved
    (0, ((0, 1.0),), ((1, 1.0),))
    """

    def __init__(
        self,
        formula: A.Formula | str,
        *,
        fps: float | None = None,
        max_states: int = DEFAULT_MAX_STATES,
        max_seconds: float = MONITOR_MAX_SECONDS,
        signal: bool = False,
        world: object = None,
        confidence: float = DEFAULT_CONFIDENCE,
        counters: bool = True,
        approx: str | None = None,
    ) -> None:
        if approx not in (None, "bounds"):
            raise InvalidValue(f"approx={approx!r} must be None or 'bounds'")
        self.approx = approx
        f = resolve_time(as_formula(formula), fps)
        self.counters = bool(counters)
        self.formula = f
        self.atoms = atom_names(f)
        self.max_states = max_states
        self.max_seconds = max_seconds
        self.confidence = check_confidence(confidence)
        self._sure = 1.0 - self.confidence
        self.world = resolve_world(world, where="Monitor")
        self.fps = fps
        # Independent: today's path (0/1 shortcuts, pushes); Markov: a filter per part
        self._markov = not isinstance(self.world, Independent)
        self.factors: Factor = factor(f)
        self._parts: list[_Part] = []
        if self._markov and isinstance(self.factors, Indep) and _tied(self.factors, self.world):
            self.factors = Leaf(f)  # a mutex group spans parts: they are one joint chain
        if isinstance(self.factors, Indep):
            self._plan: _Plan = self._plan_of(self.factors)
        else:  # one part (maybe negated): the whole formula's automaton is that part's
            self._plan = self._add(f)
        self._one = self._parts[0] if isinstance(self._plan, int) else None
        self._streaming = [p for p in self._parts if isinstance(p, _StreamingPart)]
        self._counted: list[_CounterPart] = [p for p in self._parts if isinstance(p, _CounterPart)]
        self._bounded = any(isinstance(p, _BoundsPart) for p in self._parts)
        self._all_counted = len(self._counted) == len(self._parts) and not signal
        self._stream = StreamingSignal(f)
        self.horizon: int | None = self._stream.horizon
        self.signal = bool(signal)
        self._fast = (
            self._one if isinstance(self._one, _AutomatonPart) and not self.signal and not self._markov else None
        )
        if self._fast is not None:
            self._fast_atoms = self._fast.atoms
            self._fast_step = self._fast.step_state
            self._fast_status = self._fast.det_status
        every_automaton = all(isinstance(p, _AutomatonPart) for p in self._parts)
        self._split = self._parts if self._one is None and every_automaton and not self.signal and not self._markov else None
        self._split_cache: dict[tuple[int, ...], tuple[Verdict, float, float, float]] = {}
        self.reset()

    # ------------------------------------------------------------ planning
    def _compile(self, f: A.Formula) -> Automaton:
        return compile(f, props=atom_names(f), max_states=self.max_states, max_seconds=self.max_seconds)

    def _automaton_part(self, f: A.Formula) -> _AutomatonPart:
        if self._markov:
            return _WorldPart(f, self._compile(f), self._sure, self.world, self.fps)
        if self.counters:  # skip automata that would take seconds to fail (cheap estimate)
            size = estimate_states(f)
            if size > self.max_states:
                raise AutomatonTooLarge(
                    f"the part {to_text(f)!r} would need about {size:,.0f} automaton states by its "
                    f"windows (over max_states={self.max_states:,}), so the monitor does not build it"
                )
        return _AutomatonPart(f, self._compile(f), self._sure)

    def _add(self, f: A.Formula) -> int:
        filt = counter_filter(f, self.max_states) if self.counters and not self._markov else None
        if filt is not None:
            if self.approx == "bounds" and isinstance(filt, CounterFilter) and filt.too_large and filt.boundable:
                self._parts.append(_BoundsPart(f, BoundsFilter(filt), self._sure))
                return len(self._parts) - 1
            self._parts.append(_CounterPart(f, filt, self._sure))
            return len(self._parts) - 1
        try:
            part: _Part = self._automaton_part(f)
        except AutomatonTooLarge as e:
            part = _StreamingPart(f, e, self.max_states)
        self._parts.append(part)
        return len(self._parts) - 1

    def _plan_of(self, fac: Factor) -> _Plan:
        match fac:
            case Leaf(g):
                return self._add(g)
            case Negate(p):
                return ("not", self._plan_of(p))
            case Indep(kind, parts):
                start = len(self._parts)
                plans = tuple(self._plan_of(p) for p in parts)
                need = "acc" if kind == "and" else "rej"
                if all(self._monotone(p, need) for p in plans):
                    return (kind, plans)
                try:  # a part constrains the trace length: one automaton keeps the verdict exact
                    whole = to_formula(fac)
                    part = self._automaton_part(whole)
                except AutomatonTooLarge:
                    return (kind, plans)  # still sound; a verdict may stay PRESUMABLY_* longer
                del self._parts[start:]
                self._parts.append(part)
                return len(self._parts) - 1
        raise InvalidArgument(f"factor={fac!r} is not a Factor")

    def _monotone(self, plan: _Plan, need: str) -> bool:
        if isinstance(plan, int):
            part = self._parts[plan]
            return part.accepting_monotone if need == "acc" else part.rejecting_monotone
        if plan[0] == "not":
            return self._monotone(plan[1], "rej" if need == "acc" else "acc")
        return all(self._monotone(p, need) for p in plan[1])

    def describe(self) -> str:
        """How each part is followed: ``counters``, ``automaton`` or ``streaming`` (0/1 only)."""
        out = []
        for p in self._parts:
            if isinstance(p, _CounterPart):
                how = f"counters: {p.filter.describe()}"
            elif isinstance(p, _AutomatonPart):
                how = f"automaton: {p.automaton.n_states} states"
            else:
                how = "streaming signal (0/1 frames only)"
            out.append(f"{to_text(p.formula)}: {how}")
        return "\n".join(out)

    @property
    def automaton(self) -> Automaton | None:
        """The formula's automaton when it is one part (None when it is split or too large)."""
        return self._one.automaton if isinstance(self._one, _AutomatonPart) else None

    @property
    def parts(self) -> tuple[tuple[A.Formula, Automaton | None], ...]:
        """``(formula, automaton)`` per part; the automaton is None for a part followed
        by counters or by its streaming signal (see :meth:`describe`)."""
        return tuple((p.formula, getattr(p, "automaton", None)) for p in self._parts)

    # ------------------------------------------------------------ streaming
    def reset(self) -> None:
        """Forget the frames read so far."""
        for part in self._parts:
            part.reset()
        # the one-automaton 0/1 path's state (None when that path is off or left)
        self._state: int | None = None if self._fast is None else self._fast.automaton.initial
        self._stream.reset()
        self._frame = -1
        self._status: Status | None = None

    @property
    def status(self) -> Status | None:
        """The answer after the last frame (None before the first)."""
        return self._status

    @property
    def verdict(self) -> Verdict | None:
        return None if self._status is None else self._status.verdict

    def step(self, frame: Mapping[str, float]) -> Status:
        """Read one frame: proposition -> probability (or 0/1)."""
        if not isinstance(frame, Mapping):
            raise InvalidArgument(f"frame={frame!r} must map proposition names to probabilities")
        if self._state is not None:
            # one automaton, 0/1 so far: the hot path is the automaton's step (the state
            # lives here and goes back to the part when a probability arrives)
            try:
                letter = letter_of(frame, self._fast_atoms)
            except KeyError:
                letter = None  # the part reports it, with the full message
            if letter is not None:
                q = self._state = self._fast_step(self._state, letter)
                self._frame += 1
                self._status = Status(self._frame, *self._fast_status[q])
                return self._status
            self._fast._state = self._state  # type: ignore[union-attr]
            self._state = None
        elif self._split is not None and self._split_states(frame):
            return self._status  # type: ignore[return-value]
        elif self._all_counted and self._counted_01(frame):
            return self._status  # type: ignore[return-value]
        i = self._frame + 1
        resolved: tuple[tuple[int, float], ...] = ()
        if self.signal:  # first: it checks the whole frame before any part moves
            try:
                resolved = tuple((j, float(v)) for j, v in self._stream.push(frame))
            except TraceError as e:
                raise TraceError(f"{e}; Monitor(signal=True) resolves frames from 0/1 values only") from None
        if self._one is not None and not self._bounded:
            self._status = Status(i, *self._one.step(frame, i), resolved)
        else:
            for name in self.atoms:  # before any part moves
                if name not in frame:
                    raise TraceError(f"frame {i} has no value for {name!r}; it has {sorted(frame)}")
            for part in self._streaming:
                part.row(frame, i)
            for part in self._counted:
                part.check(frame)
            values = [part.step(frame, i) for part in self._parts]
            if self._bounded:
                bounds = _combine_bounds(self._plan, values, self._parts)
                (p, _), (ps, _), (pv, _) = bounds
                self._status = Status(i, _bounded_verdict(bounds, self._sure), p, ps, pv, resolved, bounds)
            else:
                p, ps, pv = _combine(self._plan, values)
                self._status = Status(i, _verdict(p, ps, pv, self._sure), min(max(p, 0.0), 1.0), ps, pv, resolved)
        self._frame = i
        return self._status

    def _counted_01(self, frame: Mapping[str, float]) -> bool:
        """Every part is counters and the frame is 0/1: one integer step per counter.
        False (nothing moved) when the frame needs the general path."""
        try:
            for name in self.atoms:
                v = frame[name]
                if v != 0 and v != 1:
                    return False
        except KeyError:
            return False  # the general path reports it
        for part in self._counted:
            if part.filter._states is None:
                return False  # a part follows a distribution since a probability frame
        key = tuple(part.filter.advance(frame) if part.filter.plain else part.filter.step01(frame) for part in self._counted)
        res = self._split_cache.get(key)
        if res is None:
            if self._one is not None:
                p, ps, pv = key[0]  # type: ignore[misc]
            else:
                p, ps, pv = _combine(self._plan, [(None, *x) for x in key])  # type: ignore[arg-type, misc]
            point = ((p, p), (ps, ps), (pv, pv)) if self._bounded else None  # 0/1 frames: exact
            res = self._split_cache[key] = (_verdict(p, ps, pv, self._sure), min(max(p, 0.0), 1.0), ps, pv, (), point)
        self._frame += 1
        self._status = Status(self._frame, *res)
        return True

    def _split_states(self, frame: Mapping[str, float]) -> bool:
        """Several automata, 0/1 so far: step them all or none; the combined status of a
        tuple of states is computed once. False when the frame needs the general path."""
        states = []
        try:
            for part in self._split:
                q = part._state
                letter = letter_of(frame, part.atoms)
                if q is None or letter is None:
                    return False
                states.append(part.step_state(q, letter))
        except KeyError:
            return False  # the general path reports it
        key = tuple(states)
        res = self._split_cache.get(key)
        if res is None:
            values = [part.det_status[q] for part, q in zip(self._split, states)]
            p, ps, pv = _combine(self._plan, values)
            res = (_verdict(p, ps, pv, self._sure), min(max(p, 0.0), 1.0), ps, pv)
            if len(self._split_cache) < _SPLIT_CACHE:
                self._split_cache[key] = res
        for part, q in zip(self._split, states):
            part._state = q
        self._frame += 1
        self._status = Status(self._frame, *res)
        return True

    def finish(self) -> tuple[tuple[int, float], ...]:
        """End of stream (``signal=True``): the values of φ at the frames not resolved yet,
        with the finite-trace semantics (windows clip at the last frame read)."""
        if not self.signal:
            raise InvalidArgument("finish() returns the resolved signal; create the Monitor with signal=True")
        return tuple((j, float(v)) for j, v in self._stream.finish())

    def run(self, table: object) -> list[Status]:
        """The status after every frame of a trace table (the monitor is reset first).
        Under a Markov world, columns of mutex partners of the formula's propositions
        are read as their observations too."""
        t = as_trace(table)
        names = self.atoms
        if self._markov:
            names = names + tuple(n for n in closure(self.atoms, self.world) if n not in names and n in t.names)
        t = t.select(names)
        self.reset()
        return [self.step(dict(zip(names, row))) for row in t.values]


def _tied(fac: Factor, world: object) -> bool:
    """Whether mutex groups of ``world`` link propositions of two parts of ``fac``
    (directly, or through partners outside the formula): their chains are one."""
    from .factor import atoms as part_atoms

    if not getattr(world, "mutex", ()):
        return False

    def split(part: Factor) -> list[frozenset[str]]:
        match part:
            case Negate(p):
                return split(p)
            case Indep(_, parts):
                return [a for p in parts for a in split(p)]
        return [part_atoms(part)]

    spans = [set(closure(sorted(a), world)) for a in split(fac)]  # type: ignore[arg-type]
    return any(spans[i] & spans[j] for i in range(len(spans)) for j in range(i))


def _combine(plan: _Plan, values: list[tuple[Verdict, float, float, float]]) -> tuple[float, float, float]:
    """(P(accept), P(certainly sat), P(certainly violated)) of a plan over independent parts."""
    if isinstance(plan, int):
        _, p, ps, pv = values[plan]
        return p, ps, pv
    if plan[0] == "not":
        p, ps, pv = _combine(plan[1], values)
        return 1.0 - p, pv, ps
    p_all = ps_all = keep = 1.0  # keep: P(no part violated) for and, P(no part satisfied) for or
    if plan[0] == "and":
        for sub in plan[1]:
            p, ps, pv = _combine(sub, values)
            p_all *= p
            ps_all *= ps
            keep *= 1.0 - pv
        return p_all, ps_all, 1.0 - keep
    q_none = 1.0  # or: P(no part accepts)
    pv_all = 1.0
    for sub in plan[1]:
        p, ps, pv = _combine(sub, values)
        q_none *= 1.0 - p
        keep *= 1.0 - ps
        pv_all *= pv
    return 1.0 - q_none, 1.0 - keep, pv_all


def _combine_bounds(
    plan: _Plan, values: list[tuple[Verdict, float, float, float]], parts: list[_Part]
) -> tuple[tuple[float, float], ...]:
    """:func:`_combine` over intervals: every combination is increasing in each part's
    three numbers (a negation flips and swaps them), so the lower (upper) ends combine
    the parts' lower (upper) ends. Exact parts are point intervals."""
    lows, highs = [], []
    for part, (v, p, ps, pv) in zip(parts, values):
        if isinstance(part, _BoundsPart):
            (pl, ph), (sl, sh), (vl, vh) = part.bounds
            lows.append((v, pl, sl, vl))
            highs.append((v, ph, sh, vh))
        else:
            lows.append((v, p, ps, pv))
            highs.append((v, p, ps, pv))

    def go(plan: _Plan) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        if isinstance(plan, int):
            return lows[plan][1:], highs[plan][1:]
        if plan[0] == "not":
            (pl, sl, vl), (ph, sh, vh) = go(plan[1])
            return (1.0 - ph, vl, sl), (1.0 - pl, vh, sh)
        subs = [go(sub) for sub in plan[1]]
        fake = [(None, *lo) for lo, _ in subs], [(None, *hi) for _, hi in subs]
        inner = (plan[0], tuple(range(len(subs))))
        return _combine(inner, fake[0]), _combine(inner, fake[1])  # type: ignore[arg-type]

    lo, hi = go(plan)
    clip = lambda x: min(max(x, 0.0), 1.0)  # noqa: E731
    return tuple((clip(a), clip(max(a, b))) for a, b in zip(lo, hi))  # type: ignore[return-value]
