"""The methods compared, all on identical per-frame probabilities.

A method is called as ``method(formula, probs)`` with ``formula`` a TLV query
string (``'"p" U "q"'``, quoted propositions, parsed by framelogic's parser)
and ``probs`` a mapping proposition -> per-frame probabilities; it returns the
predicted frames of interest as lists of frame indices (one list per event).

* framelogic, each match mode of :func:`framelogic.automata.localize`: exact
  probabilities under per-frame independence;
* NSVS-TL's reasoning step (``benchmarks/baselines/nsvs_tl.py``: frame
  validator, layered DTMC rebuilt and checked with Storm after every kept
  frame, buffer flushed as an event on success) at ``P>=0.6`` and ``P>=0.8``;
* per-frame thresholding without temporal reasoning: each proposition
  thresholded at 0.5 on its own frame, temporal operators dropped
  (``F a``, ``G a``, ``X a`` read as ``a``; ``a U b`` as ``a | b``);
* LogSTOP-style scores (Alur et al., arXiv 2510.06512, from the paper's
  definitions): NOT = 1-p, AND = product, OR = p+q-pq, UNTIL by the recursion
  ``u_i = b_i + (1-b_i) a_i u_{i+1}``, every occurrence of a subformula taken as
  independent (``p & !p`` scores ``p(1-p)``, not 0).

The last two turn their per-frame verdicts or scores into events with the
same TLV rule as framelogic's ``tlv`` mode (top-level ``F φ``: each frame of
``φ``; top-level ``G φ``: runs of ``φ``; no temporal operator: each frame;
otherwise runs), so that only the reasoning differs, not the event rule.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from framelogic.logic import ast as A
from framelogic.logic import parse
from framelogic.logic.errors import InvalidValue
from framelogic.logic.passes import atom_names, substitute
from framelogic.logic.printer import to_text

from .data import runs_of

Events = list[list[int]]
Probs = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Method:
    name: str
    run: Callable[[str, Probs], Events] = field(repr=False)
    max_frames: int | None = None  # videos longer than this are skipped (the method is too slow)
    note: str = ""
    # with_threshold(θ) -> run: methods whose decision threshold the benchmark may tune
    with_threshold: Callable[[float], Callable[[str, Probs], Events]] | None = field(default=None, repr=False)


# ----------------------------------------------------------------- framelogic


def framelogic_method(mode: str, threshold: float = 0.5, max_length: int | None = None) -> Callable[[str, Probs], Events]:
    from framelogic.automata import localize

    def run(formula: str, probs: Probs) -> Events:
        kw = {"max_length": max_length} if max_length else {}
        events = localize(formula, dict(probs), mode=mode, threshold=threshold, **kw)
        return [list(range(e.start, e.end + 1)) for e in events]

    return run


# ----------------------------------------------------------------- the TLV event rule


def tlv_events(f: A.Formula, signal: Callable[[A.Formula], np.ndarray], threshold: float = 0.5) -> Events:
    """Events by the TLV rule from a per-frame ``signal`` of a formula (see the module docstring)."""
    if isinstance(f, A.Eventually) and f.bound == A.UNBOUNDED:
        return [[int(i)] for i in np.flatnonzero(signal(f.arg) >= threshold)]
    if isinstance(f, A.Always) and f.bound == A.UNBOUNDED:
        return runs_of(signal(f.arg) >= threshold)
    if is_propositional(f):
        return [[int(i)] for i in np.flatnonzero(signal(f) >= threshold)]
    return runs_of(signal(f) >= threshold)


def is_propositional(f: A.Formula) -> bool:
    if isinstance(f, (A.Const, A.Atom)):
        return True
    return isinstance(f, (A.Not, A.And, A.Or, A.Implies, A.Iff)) and all(map(is_propositional, A.children(f)))


def _column(probs: Probs, name: str) -> np.ndarray:
    try:
        return np.asarray(probs[name], dtype=float)
    except KeyError:
        raise InvalidValue(f"no probabilities for proposition {name!r}; have {sorted(probs)}") from None


def _length(probs: Probs) -> int:
    return len(np.asarray(next(iter(probs.values()))))


# ----------------------------------------------------------------- per-frame thresholding


def per_frame_verdicts(f: A.Formula, probs: Probs, threshold: float = 0.5) -> np.ndarray:
    """Each proposition thresholded on its own frame; temporal operators dropped."""
    n = _length(probs)
    match f:
        case A.Const(v):
            return np.full(n, v)
        case A.Atom(name):
            return _column(probs, name) >= threshold
        case A.Not(a):
            return ~per_frame_verdicts(a, probs, threshold)
        case A.And(args):
            return np.logical_and.reduce([per_frame_verdicts(a, probs, threshold) for a in args])
        case A.Or(args):
            return np.logical_or.reduce([per_frame_verdicts(a, probs, threshold) for a in args])
        case A.Implies(a, b):
            return ~per_frame_verdicts(a, probs, threshold) | per_frame_verdicts(b, probs, threshold)
        case A.Iff(a, b):
            return per_frame_verdicts(a, probs, threshold) == per_frame_verdicts(b, probs, threshold)
    if isinstance(f, A.BINARY_TEMPORAL):  # "a U b" read as "a or b": the frames that take part
        return per_frame_verdicts(f.left, probs, threshold) | per_frame_verdicts(f.right, probs, threshold)  # type: ignore[union-attr]
    return per_frame_verdicts(A.children(f)[0], probs, threshold)


def per_frame_threshold(formula: str, probs: Probs, threshold: float = 0.5) -> Events:
    f = parse(formula)
    # verdicts are 0/1, so any threshold in (0, 1] reads them back unchanged
    return tlv_events(f, lambda g: per_frame_verdicts(g, probs, threshold).astype(float), 0.5)


# ----------------------------------------------------------------- LogSTOP-style scores


def logstop_scores(f: A.Formula | str, probs: Probs) -> np.ndarray:
    """LogSTOP-style score of ``f`` at every frame (see the module docstring).

    Works on the formula as built, without the smart constructors' folding
    (the parser already folds ``"p" & !"p"`` to ``false``; build the AST with
    the node classes to score it). Derived operators follow their textbook
    definitions (``F a = true U a``, ``G a = !F!a``, ...); bounded ``U``/``S``
    sum over their window.
    """
    g = parse(f) if isinstance(f, str) else f
    return _logstop(g, probs, _length(probs))


def _logstop(f: A.Formula, probs: Probs, n: int) -> np.ndarray:
    def s(g: A.Formula) -> np.ndarray:
        return _logstop(g, probs, n)

    def disj(*xs: np.ndarray) -> np.ndarray:  # p + q - pq, folded over the arguments
        return 1.0 - np.prod([1.0 - x for x in xs], axis=0)

    one = np.ones(n)
    match f:
        case A.Const(v):
            return np.full(n, float(v))
        case A.Atom(name):
            return _column(probs, name)
        case A.Not(a):
            return 1.0 - s(a)
        case A.And(args):
            return np.prod([s(a) for a in args], axis=0)
        case A.Or(args):
            return disj(*map(s, args))
        case A.Implies(a, b):
            return disj(1.0 - s(a), s(b))
        case A.Iff(a, b):
            x, y = s(a), s(b)
            return disj(x * y, (1.0 - x) * (1.0 - y))
        case A.Next(a):  # strong next: 0 on the last frame
            return np.concatenate([s(a)[1:], [0.0]])
        case A.WeakNext(a):  # weak next: 1 on the last frame
            return np.concatenate([s(a)[1:], [1.0]])
        case A.Prev(a):
            return np.concatenate([[0.0], s(a)[:-1]])
        case A.Until(a, b, bd):
            return _until(s(a), s(b), bd)
        case A.Eventually(a, bd):
            return _until(one, s(a), bd)
        case A.Always(a, bd):
            return 1.0 - _until(one, 1.0 - s(a), bd)
        case A.Release(a, b, bd):
            return 1.0 - _until(1.0 - s(a), 1.0 - s(b), bd)
        case A.WeakUntil(a, b, bd):  # (a U b) | G a
            x = s(a)
            return disj(_until(x, s(b), bd), 1.0 - _until(one, 1.0 - x, bd))
        case A.StrongRelease(a, b, bd):  # (a R b) & F a
            x = s(a)
            return (1.0 - _until(1.0 - x, 1.0 - s(b), bd)) * _until(one, x, bd)
        case A.Since(a, b, bd):  # the mirror image of until over the reversed trace
            return _until(s(a)[::-1], s(b)[::-1], bd)[::-1]
        case A.Once(a, bd):
            return _until(one, s(a)[::-1], bd)[::-1]
        case A.Historically(a, bd):
            return 1.0 - _until(one, 1.0 - s(a)[::-1], bd)[::-1]
    raise InvalidValue(f"LogSTOP-style scores: unknown node {type(f).__name__}")


def _until(a: np.ndarray, b: np.ndarray, bound: A.Bound) -> np.ndarray:
    n = len(a)
    out = np.zeros(n)
    if bound.is_trivial:
        nxt = 0.0
        for i in range(n - 1, -1, -1):
            nxt = b[i] + (1.0 - b[i]) * a[i] * nxt
            out[i] = nxt
        return out
    lo, hi = bound.frames(None)
    for i in range(n):
        # sum over the first j in [i+lo, i+hi] with b, a on [i, j), occurrences independent
        reach, total = 1.0, 0.0
        for k in range(i, min(n, i + lo)):
            reach *= a[k]
        for j in range(i + lo, n if hi is None else min(n, i + hi + 1)):
            total += reach * b[j]
            reach *= (1.0 - b[j]) * a[j]
        out[i] = total
    return out


def logstop(formula: str, probs: Probs, threshold: float = 0.5) -> Events:
    f = parse(formula)
    return tlv_events(f, lambda g: logstop_scores(g, probs), threshold)


# ----------------------------------------------------------------- NSVS-TL


def nsvs_available() -> bool:
    return (
        importlib.util.find_spec("stormpy") is not None
        and importlib.util.find_spec("benchmarks.baselines.nsvs_tl") is not None
    )


_STORM_OPS = (A.Const, A.Atom, A.Not, A.And, A.Or, A.Implies, A.Next, A.Until, A.Eventually, A.Always)


def nsvs_tl(formula: str, probs: Probs, threshold: float = 0.6) -> Events:
    """NSVS-TL's reasoning step on ``probs`` (the baseline in ``benchmarks/baselines``)."""
    from benchmarks.baselines import nsvs_tl as baseline

    f = parse(formula)
    names = list(atom_names(f))
    for g in _nodes(f):
        if not isinstance(g, _STORM_OPS) or getattr(g, "bound", A.UNBOUNDED) != A.UNBOUNDED:
            raise InvalidValue(f"the NSVS-TL baseline checks unbounded F G U X formulas only; {formula!r} has {to_text(g)!r}")
    # Storm labels must be plain identifiers; TLV propositions may hold spaces
    labels = [f"a{i}" for i in range(len(names))]
    pctl = to_text(substitute(f, {n: A.Atom(l, quoted=True) for n, l in zip(names, labels)}))
    arr = np.stack([_column(probs, n) for n in names], axis=1)
    return [list(range(s, e + 1)) for s, e in baseline.search(pctl, labels, arr, threshold=threshold)]


def _nodes(f: A.Formula):  # type: ignore[no-untyped-def]
    yield f
    for c in A.children(f):
        yield from _nodes(c)


# ----------------------------------------------------------------- the registry

NSVS_MAX_FRAMES = 200  # its cost per flushed segment is quadratic in the segment length


def methods(*, nsvs: bool | None = None, segments: bool = True, nsvs_max_frames: int = NSVS_MAX_FRAMES) -> list[Method]:
    """The methods of the benchmark, framelogic's first."""
    out = [
        Method("framelogic (tlv)", framelogic_method("tlv"), with_threshold=lambda th: framelogic_method("tlv", th)),
        Method("framelogic (runs)", framelogic_method("runs")),
    ]
    if segments:
        out += [
            Method("framelogic (shortest)", framelogic_method("shortest", max_length=400)),
            Method("framelogic (longest)", framelogic_method("longest", max_length=400)),
        ]
    if nsvs is None:
        nsvs = nsvs_available()
    if nsvs:
        note = f"NSVS-TL runs on videos of at most {nsvs_max_frames} frames (Storm re-checks after every frame)"
        out += [
            Method("NSVS-TL P>=0.6", lambda f, p: nsvs_tl(f, p, 0.6), nsvs_max_frames, note),
            Method("NSVS-TL P>=0.8", lambda f, p: nsvs_tl(f, p, 0.8), nsvs_max_frames, note),
        ]
    out += [
        Method("per-frame threshold", per_frame_threshold,
               with_threshold=lambda th: lambda f, p: per_frame_threshold(f, p, th)),
        Method("LogSTOP-style", logstop, with_threshold=lambda th: lambda f, p: logstop(f, p, th)),
    ]
    return out


# ----------------------------------------------------------------- median filter, then threshold


def median_filter(x: np.ndarray, window: int) -> np.ndarray:
    """Centred running median over ``window`` frames (odd), edges padded with the edge value."""
    if not isinstance(window, int) or window < 1 or window % 2 == 0:
        raise InvalidValue(f"window={window!r} must be an odd whole number of frames >= 1")
    x = np.asarray(x, dtype=float)
    if window == 1 or len(x) == 0:
        return x.copy()
    half = window // 2
    padded = np.concatenate([np.full(half, x[0]), x, np.full(half, x[-1])])
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, window), axis=1)


def median_threshold(window: int, threshold: float = 0.5) -> Callable[[str, Probs], Events]:
    """Each proposition's scores median-filtered over ``window`` frames, then per-frame threshold."""

    def run(formula: str, probs: Probs) -> Events:
        return per_frame_threshold(formula, {k: median_filter(v, window) for k, v in probs.items()}, threshold)

    return run


# ----------------------------------------------------------------- framelogic with a world model


def framelogic_world(world: object, *, decision: str = "threshold", threshold: float = 0.5) -> Callable[[str, Probs], Events]:
    """framelogic's ``tlv`` match mode under ``world`` (an ``Independent()`` or ``Markov(...)``
    from :mod:`framelogic.automata.world`), through ``localize(..., world=, decide=)``.
    ``decision``: ``"threshold"`` — frames where P(φ | all observations) under the world is
    at least ``threshold``; ``"viterbi"`` — the most probable 0/1 world (Viterbi over the
    chains), then φ evaluated exactly on it; ``"fitted"`` — the rule and threshold stored in a
    fitted world (``fit_hidden(..., formula=)``)."""
    from framelogic.automata import localize

    if decision not in ("threshold", "viterbi", "fitted"):
        raise InvalidValue(f"decision={decision!r} must be 'threshold', 'viterbi' or 'fitted'")

    def run(formula: str, probs: Probs) -> Events:
        if decision == "fitted":  # the world's own decision rule and threshold (fit_hidden chose them)
            events = localize(formula, dict(probs), mode="tlv", world=world)
        else:
            events = localize(formula, dict(probs), mode="tlv", threshold=threshold, world=world, decide=decision)
        return [list(range(e.start, e.end + 1)) for e in events]

    return run
