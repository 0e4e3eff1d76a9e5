"""Localization: from a formula and a trace to events ``[start, end]``.

Match modes (``mode=``):

``"runs"`` (the default) — maximal runs of frames where the satisfaction
signal ``P((w, i) |= φ)`` is at least the threshold; an event's probability
is the largest signal value in it. Read it as "the frames from which φ holds".
Example: ``ped U stopped`` on ``ped = 0 1 1 0 0``, ``stopped = 0 0 0 1 0`` gives
one event ``[1, 3]``: from frame 1 the pedestrian is there until the car stops
at frame 3.

``"shortest"`` — segment matches: the sub-trace ``w[s..e]``, taken on its own
as a trace, satisfies φ with probability at least the threshold (computed
exactly). Scanning left to right, the leftmost start with a match is taken
with its shortest end; the next search starts after that end (no overlaps).
Example: ``F stopped`` on ``stopped = 0 0 1 1`` gives ``[0, 2]`` and ``[3, 3]``.

``"longest"`` — like ``"shortest"`` with the longest end for each start.
Example: ``G ped`` on ``ped = 0 1 1 0`` gives ``[1, 2]``.

In both segment modes an event's probability is ``P(w[s..e] |= φ)``, exact
under per-frame independence (``G a`` on ``a = 0.5 0.5`` with threshold 0.2
gives ``[0, 1]`` with probability 0.25).

``max_length=`` caps the length of a segment in frames (default
:data:`DEFAULT_MAX_LENGTH`, 10,000 frames: about 5.5 minutes at 30 fps): a
segment longer than that is not reported, and the longest segment from a start
is the longest within the cap. On a 0/1 trace the search is linear in the
number of frames whatever the cap (one backward pass over the automaton finds
every start's first and last matching end). On probabilities a scan from each
start runs until no continuation can reach the threshold or the cap is reached,
so it costs at most frames x ``max_length`` automaton steps;
``max_length=None`` removes the cap, and the scan is then quadratic in the worst
case (``F p`` with ``p`` never seen).

``"tlv"`` — the ground-truth rule of the TLV benchmark (NSVS-TL's dataset),
reproduced exactly on noise-free traces:

* ``F φ`` (top level, unbounded): every frame where ``φ`` holds is its own
  event ``[i, i]`` — ``F p`` on ``p = 0 1 1 0 1`` gives ``[1,1] [2,2] [4,4]``;
* ``G φ`` (top level, unbounded): the maximal runs of ``φ`` — ``G p`` on the
  same trace gives ``[1,2] [4,4]``;
* a formula without temporal operators (``p & q``): every frame where it
  holds is its own event;
* anything else (``p U q``, ``(p & q) U r``): the maximal runs of the
  satisfaction signal, i.e. from the first ``p`` of the run before a ``q``
  frame to that ``q`` frame — ``p U q`` on ``p = 1 1 0 0 1 0``,
  ``q = 0 0 1 0 0 1`` gives ``[0, 2]`` and ``[4, 5]``.

An event's probability is the largest signal value in it.

The threshold (:func:`threshold_rule`, the one place it is decided): the
``threshold=`` argument when given; else the formula's own PCTL wrapper
(``P>=0.8 [ φ ]`` gives 0.8, ``P>0.8`` the next float above 0.8, ``P<=0.2 [ φ ]``
localizes ``!φ`` with threshold 0.8, ``P=? [ φ ]`` reports every run with a
positive probability, without thresholding); else ``default_threshold`` (0.5).
``threshold=None`` means no thresholding as ``P=?`` does.

Worlds and decisions. ``world=`` says how the probabilities are read
(:mod:`framelogic.automata.world`): ``None`` / ``Independent()`` (each frame and
proposition an independent coin) or ``Markov(...)`` (persistent hidden chains
observed through the scores; the signal is then ``P((w, i) |= φ | all
observations)``). ``decide=`` says how frames are decided:

* ``"threshold"`` (the default): the satisfaction signal against the threshold,
  as above. Use it when the probability itself matters (ranking, ``P>=0.9``
  guarantees, a "with probability at least p" question).
* ``"viterbi"``: the most probable 0/1 world given the observations
  (:func:`~framelogic.automata.world.viterbi`, per proposition or mutex group),
  then φ evaluated exactly on it; the threshold is not used. Use it for
  long formulas over noisy detectors whose truth is persistent (one coherent
  explanation of the video instead of frame-wise marginals, which can disagree
  with each other across frames). An event's probability is still the largest
  value of the world's signal in it (segment modes: 1.0, the decoded world's).
  Under the independent world this is per-frame thresholding at 0.5, then exact
  reasoning.

The segment modes need ``P(w[s..e] |= φ)`` of a segment on its own, which only
the independent world gives: with a Markov world they need ``decide="viterbi"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from framelogic.logic import ast as A
from framelogic.logic.errors import InvalidValue, check_probability
from framelogic.logic.grammar import Spec, parse_spec
from framelogic.logic.passes import atom_names, resolve_time
from framelogic.logic.trace import TraceTable, as_trace

from . import kernels as K
from .compile import as_formula, compile
from .engine import evaluate
from .letters import encode
from .observe import resolve_decision
from .world import Independent, World, resolve_world, viterbi

MODES = ("runs", "shortest", "longest", "tlv")
DECISIONS = ("threshold", "viterbi")
DEFAULT_MODE = "runs"
DEFAULT_THRESHOLD = 0.5
#: The default ``max_length=`` of the segment modes, in frames.
DEFAULT_MAX_LENGTH = 10_000


class _FromSpec:
    """The default of ``threshold=``: take it from the formula's PCTL wrapper."""

    def __repr__(self) -> str:
        return "<from the formula's P>=p wrapper, else 0.5>"


FROM_SPEC = _FromSpec()


@dataclass(frozen=True, slots=True)
class Event:
    """Frames ``start..end`` (inclusive) and, when the trace has times, seconds."""

    start: int
    end: int
    probability: float
    start_time: float | None = None
    end_time: float | None = None

    @property
    def frames(self) -> int:
        return self.end - self.start + 1


def runs(signal: np.ndarray, threshold: float | None) -> list[tuple[int, int, float]]:
    """Maximal runs of ``signal >= threshold`` (``> 0`` when None), with their maxima."""
    hit = signal > 0 if threshold is None else signal >= threshold
    if not hit.any():
        return []
    edges = np.diff(np.concatenate([[0], hit.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return [(int(s), int(e), float(signal[s : e + 1].max())) for s, e in zip(starts, ends)]


def is_propositional(f: A.Formula) -> bool:
    return isinstance(f, (A.Const, A.Atom)) or (
        isinstance(f, (A.Not, A.And, A.Or, A.Implies, A.Iff)) and all(map(is_propositional, A.children(f)))
    )


def tlv_rule(f: A.Formula) -> tuple[A.Formula, bool]:
    """``(body, frames)``: the formula whose signal gives the TLV ground truth, and
    whether each of its frames is an event of its own (else maximal runs)."""
    if isinstance(f, A.Eventually) and f.bound == A.UNBOUNDED:
        return f.arg, True
    if isinstance(f, A.Always) and f.bound == A.UNBOUNDED:
        return f.arg, False
    return f, is_propositional(f)


def threshold_rule(
    spec: Spec, threshold: float | None | _FromSpec = FROM_SPEC, *, default: float = DEFAULT_THRESHOLD
) -> tuple[float | None, bool]:
    """``(threshold, negate)``: the one threshold rule (``negate``: search ``!φ``).

    Precedence: an explicit ``threshold`` (``None``: no thresholding); else the
    PCTL wrapper (``P>=p``; ``P>p`` the next float above ``p``, so ``P>1`` never
    holds; ``P<=p [φ]`` is ``P(!φ) >= 1-p``; ``P=?`` no thresholding); else
    ``default`` (a query file's ``set threshold``, else 0.5).

    >>> threshold_rule(parse_spec("P<0.25 [ a ]"))
    (0.7500000000000001, True)
    """
    if threshold is not FROM_SPEC:
        return threshold, False  # type: ignore[return-value]
    if spec.query:
        return None, False
    p = spec.threshold
    match spec.comparison:
        case ">=":
            return p, False
        case ">":
            return math.nextafter(p, 2.0), False
        case "<=":  # P(φ) <= p  is  P(!φ) >= 1 - p
            return 1.0 - p, True
        case "<":
            return math.nextafter(1.0 - p, 2.0), True
    return default, False


def localize(
    formula: A.Formula | Spec | str,
    table: object,
    *,
    fps: float | None = None,
    mode: str = DEFAULT_MODE,
    threshold: float | None | _FromSpec = FROM_SPEC,
    max_length: int | None = DEFAULT_MAX_LENGTH,
    default_threshold: float = DEFAULT_THRESHOLD,
    world: World | str | None = None,
    decide: str | None = None,
) -> list[Event]:
    """Events where ``formula`` holds in ``table`` under the match ``mode``.

    The threshold follows :func:`threshold_rule`; ``default_threshold`` is the
    one used when neither ``threshold`` nor a PCTL wrapper gives one. ``world``
    and ``decide`` (``"threshold"`` or ``"viterbi"``; None: the world's fitted
    rule, else ``"threshold"``): see the module doc.

    >>> localize("ped U stopped", {"ped": [0, 1, 1, 0, 0], "stopped": [0, 0, 0, 1, 0]})
    [Event(start=1, end=3, probability=1.0, start_time=None, end_time=None)]
    """
    if mode not in MODES:
        raise InvalidValue(f"mode={mode!r} must be one of {', '.join(MODES)}")
    w = resolve_world(world)
    # a fitted world carries its decision rule and threshold (automata/observe.py); explicit arguments win
    decide, default_threshold = resolve_decision(w, decide, default_threshold)
    markov = not isinstance(w, Independent)
    if markov and decide == "threshold" and mode in ("shortest", "longest"):
        raise InvalidValue(
            f"mode={mode!r} needs the probability of a segment on its own, which only the independent "
            "world gives; with a Markov world use decide='viterbi' or mode='runs'/'tlv'"
        )
    if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
        raise InvalidValue(f"max_length={max_length!r} must be a whole number of frames >= 1")
    if threshold is not FROM_SPEC and threshold is not None:
        threshold = check_probability("threshold", threshold)
    default_threshold = check_probability("default_threshold", default_threshold)
    spec = parse_spec(formula, source="formula") if isinstance(formula, str) else formula
    if not isinstance(spec, Spec):
        spec = Spec(as_formula(spec))
    threshold, negate = threshold_rule(spec, threshold, default=default_threshold)
    formula = A.neg(spec.formula) if negate else spec.formula
    t = as_trace(table)
    rate = fps if fps is not None else t.rate
    f = resolve_time(as_formula(formula), rate)
    world_arg = w if markov else None
    if decide == "viterbi":
        decoded = viterbi(t, atom_names(f), w, fps=rate) if atom_names(f) else t
        if mode in ("shortest", "longest"):
            found, _ = _segments(f, decoded, None, longest=mode == "longest", max_length=max_length)
        else:
            body, frames = tlv_rule(f) if mode == "tlv" else (f, False)
            hit = evaluate(body, decoded, fps=rate) == 1.0
            signal = evaluate(body, t, fps=rate, world=world_arg)
            found = _events(hit, signal, frames)
        return [Event(s, e, p, _time(t, s, rate), _time(t, e, rate)) for s, e, p in found]
    if mode == "runs":
        found = runs(evaluate(f, t, world=world_arg), threshold)
    elif mode == "tlv":
        body, frames = tlv_rule(f)
        signal = evaluate(body, t, world=world_arg)
        hit = signal > 0 if threshold is None else signal >= threshold
        if frames:
            found = [(int(i), int(i), float(signal[i])) for i in np.flatnonzero(hit)]
        else:
            found = runs(signal, threshold)
    else:
        found, _ = _segments(f, t, threshold, longest=mode == "longest", max_length=max_length)
    return [Event(s, e, p, _time(t, s, rate), _time(t, e, rate)) for s, e, p in found]


def _events(hit: np.ndarray, signal: np.ndarray, frames: bool) -> list[tuple[int, int, float]]:
    """Frames (``frames``) or maximal runs of ``hit``, each with the largest ``signal`` in it."""
    if frames:
        return [(int(i), int(i), float(signal[i])) for i in np.flatnonzero(hit)]
    edges = np.diff(np.concatenate([[0], hit.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [(int(s), int(e), float(signal[s : e + 1].max())) for s, e in zip(starts, ends)]


def _time(t: TraceTable, i: int, rate: float | None) -> float | None:
    if t.times is not None:
        return float(t.times[i])
    return None if rate is None else i / rate


def _segments(
    f: A.Formula, t: TraceTable, threshold: float | None, *, longest: bool, max_length: int | None
) -> tuple[list[tuple[int, int, float]], int]:
    """The segments and the kernel's work (automaton steps), which tests bound."""
    names = atom_names(f)
    sub = t.select(names)
    n = len(sub)
    if n == 0:
        return [], 0
    dfa = compile(f, props=names)
    if dfa.initial != 0:  # the kernels start every scan in state 0
        raise AssertionError("compiled automata start in state 0")  # pragma: no cover
    starts = np.empty(n, dtype=np.int64)
    ends = np.empty(n, dtype=np.int64)
    work = np.zeros(1, dtype=np.int64)
    cap = max_length or 0
    if sub.is_boolean:  # every probability is 1: linear, threshold-free
        letters = encode(sub.values)
        count = K.fast(K.segments_bool, n * dfa.n_states)(  # O(frames x states)
            dfa.delta, dfa.accepting, dfa.live, letters, longest, cap, starts, ends, work
        )
        return [(int(starts[i]), int(ends[i]), 1.0) for i in range(count)], int(work[0])
    P = np.ascontiguousarray(sub.values, dtype=np.float64)
    thr = 1e-12 if threshold is None else max(threshold, 1e-12)
    probs = np.empty(n)
    count = K.fast(K.segments, 10 * n)(  # up to n x cap steps: compile from 2,000 frames
        *K.flat_diagram(dfa.delta), dfa.accepting, dfa.live, P, thr, longest, cap, starts, ends, probs, work
    )
    return [(int(starts[i]), int(ends[i]), float(min(probs[i], 1.0))) for i in range(count)], int(work[0])
