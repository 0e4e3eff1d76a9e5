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

``"tlv"`` — the ground-truth rule of the TLV benchmark (NSVS-TL): runs of the
formula's *body*, with a top-level unbounded ``F`` or ``G`` removed. So ``F p``
gives every run of ``p`` frames (each isolated ``p`` frame its own event),
``G p`` the runs of ``p``, ``p & q`` the runs where both hold, and ``p U q``
(or ``(p & q) U r``) the span from the first ``p`` of a run to the ``q`` frame.

The threshold comes from the argument, else 0.5; ``threshold=None`` reports every
run with a positive probability (what ``P=? [ φ ]`` asks for).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from framelogic.logic import ast as A
from framelogic.logic.errors import InvalidValue, check_probability
from framelogic.logic.passes import atom_names, resolve_time
from framelogic.logic.trace import TraceTable, as_trace

from . import kernels as K
from .compile import as_formula, compile
from .engine import evaluate, letter_probabilities

MODES = ("runs", "shortest", "longest", "tlv")
DEFAULT_MODE = "runs"
DEFAULT_THRESHOLD = 0.5


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


def tlv_body(f: A.Formula) -> A.Formula:
    """The formula whose runs are the TLV ground truth: a top-level F or G dropped."""
    if isinstance(f, (A.Eventually, A.Always)) and f.bound == A.UNBOUNDED:
        return f.arg
    return f


def localize(
    formula: A.Formula | str,
    table: object,
    *,
    fps: float | None = None,
    mode: str = DEFAULT_MODE,
    threshold: float | None = DEFAULT_THRESHOLD,
    max_length: int | None = None,
) -> list[Event]:
    """Events where ``formula`` holds in ``table`` under the match ``mode``.

    >>> localize("ped U stopped", {"ped": [0, 1, 1, 0, 0], "stopped": [0, 0, 0, 1, 0]})
    [Event(start=1, end=3, probability=1.0, start_time=None, end_time=None)]
    """
    if mode not in MODES:
        raise InvalidValue(f"mode={mode!r} must be one of {', '.join(MODES)}")
    if threshold is not None:
        threshold = check_probability("threshold", threshold)
    t = as_trace(table)
    rate = fps if fps is not None else t.rate
    f = resolve_time(as_formula(formula), rate)
    if mode in ("runs", "tlv"):
        body = tlv_body(f) if mode == "tlv" else f
        found = runs(evaluate(body, t), threshold)
    else:
        found = _segments(f, t, threshold, longest=mode == "longest", max_length=max_length)
    return [Event(s, e, p, _time(t, s, rate), _time(t, e, rate)) for s, e, p in found]


def _time(t: TraceTable, i: int, rate: float | None) -> float | None:
    if t.times is not None:
        return float(t.times[i])
    return None if rate is None else i / rate


def _segments(
    f: A.Formula, t: TraceTable, threshold: float | None, *, longest: bool, max_length: int | None
) -> list[tuple[int, int, float]]:
    names = atom_names(f)
    sub = t.select(names)
    n = len(sub)
    if n == 0:
        return []
    dfa = compile(f, props=names)
    if dfa.initial != 0:  # the kernel starts every scan in state 0
        raise AssertionError("compiled automata start in state 0")  # pragma: no cover
    L = letter_probabilities(sub.values)
    thr = 1e-12 if threshold is None else max(threshold, 1e-12)
    starts = np.empty(n, dtype=np.int64)
    ends = np.empty(n, dtype=np.int64)
    probs = np.empty(n)
    count = K.fast(K.segments, 10 * n)(  # quadratic in the worst case: compile from 2,000 frames
        dfa.delta, dfa.accepting, dfa.live, L, thr, longest, max_length or 0, starts, ends, probs
    )
    return [(int(starts[i]), int(ends[i]), float(min(probs[i], 1.0))) for i in range(count)]
