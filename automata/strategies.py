"""Hypothesis strategies that generate traces *from the automaton*, and readable
assertions for property tests of users' own systems.

``satisfying_traces(φ)`` walks the minimal automaton of φ: at every frame it
draws a letter among those that keep an accepting state reachable in the frames
left, so even rare behaviours (``G (red -> F[0,30] stopped) & F red & F green``
over 200 frames) come out every time, where rejection sampling would almost
never find one. Hypothesis shrinks the draws toward short traces and letters
with few true propositions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import strategies as st

from framelogic.logic import ast as A
from framelogic.logic.errors import InvalidValue
from framelogic.logic.passes import atom_names, resolve_time
from framelogic.logic.printer import to_text
from framelogic.logic.trace import TraceTable, as_trace

from .compile import as_formula, compile
from .dfa import Automaton
from .letters import decode


def _exact_reach(dfa: Automaton, max_len: int) -> np.ndarray:
    """``R[r, q]``: from state ``q``, some word of exactly ``r`` letters ends accepting."""
    reach = np.zeros((max_len + 1, dfa.n_states), dtype=bool)
    reach[0] = dfa.accepting
    for r in range(1, max_len + 1):
        reach[r] = reach[r - 1][dfa.delta].any(axis=1)
    return reach


def _walks(
    dfa: Automaton, atoms: Sequence[str], min_len: int, max_len: int, what: str, fps: float | None = None
) -> st.SearchStrategy[TraceTable]:
    if not 1 <= min_len <= max_len:
        raise InvalidValue(f"min_len={min_len!r}, max_len={max_len!r} must satisfy 1 <= min_len <= max_len")
    reach = _exact_reach(dfa, max_len)
    lengths = [n for n in range(min_len, max_len + 1) if reach[n, dfa.initial]]
    if not lengths:
        if dfa.is_empty():
            raise InvalidValue(f"no trace {what}: every trace is ruled out (check the formula and assumptions)")
        raise InvalidValue(f"no trace of {min_len} to {max_len} frames {what}; widen min_len/max_len")
    # letters ordered by how many propositions they make true: shrinking goes to quiet traces
    k = len(atoms)
    order = sorted(range(1 << k), key=lambda s: (bin(s).count("1"), s))

    @st.composite
    def build(draw: st.DrawFn) -> TraceTable:
        length = lengths[draw(st.integers(0, len(lengths) - 1))]
        q = dfa.initial
        letters = []
        for t in range(length):
            left = length - t - 1
            ok = [s for s in order if reach[left, dfa.delta[q, s]]]
            s = ok[draw(st.integers(0, len(ok) - 1))]
            letters.append(s)
            q = int(dfa.delta[q, s])
        values = decode(letters, k)
        return TraceTable(tuple(atoms), values, None, fps)  # the rate the time bounds were read at

    return build()


def satisfying_traces(
    formula: A.Formula | str, *, atoms: Sequence[str] | None = None, min_len: int = 1, max_len: int = 20,
    fps: float | None = None, assume: Sequence[A.Formula | str] = (),
) -> st.SearchStrategy[TraceTable]:
    """Boolean traces that satisfy ``formula`` (and the assumptions) at frame 0."""
    f = resolve_time(as_formula(formula), fps)
    body = A.conj(f, *[resolve_time(as_formula(a), fps) for a in assume])
    names = tuple(atoms) if atoms is not None else atom_names(body)
    return _walks(compile(body, props=names), names, min_len, max_len, "satisfies " + to_text(f), fps)


def violating_traces(
    formula: A.Formula | str, *, atoms: Sequence[str] | None = None, min_len: int = 1, max_len: int = 20,
    fps: float | None = None, assume: Sequence[A.Formula | str] = (),
) -> st.SearchStrategy[TraceTable]:
    """Boolean traces that violate ``formula`` (and meet the assumptions)."""
    f = resolve_time(as_formula(formula), fps)
    body = A.conj(A.neg(f), *[resolve_time(as_formula(a), fps) for a in assume])
    names = tuple(atoms) if atoms is not None else atom_names(f)
    return _walks(compile(body, props=names), names, min_len, max_len, "violates " + to_text(f), fps)


def explain(formula: A.Formula | str, trace: object, *, fps: float | None = None, context: int = 2) -> str:
    """Why ``trace`` does or does not satisfy ``formula``: the first frame where the
    verdict became certain, the failing parts, and the propositions around it."""
    from framelogic.logic.semantics import satisfaction

    from .monitor import Monitor, Verdict

    t = as_trace(trace)
    f = resolve_time(as_formula(formula), fps if fps is not None else t.rate)
    names = atom_names(f)
    sub = t.select(names)
    holds = bool(satisfaction(f, sub)[0]) if len(sub) else False
    statuses = Monitor(f).run(sub) if names else []
    decided = next((s for s in statuses if s.verdict in (Verdict.SATISFIED, Verdict.VIOLATED)), None)
    lines = [f"{to_text(f)} {'holds' if holds else 'is violated'} on this {len(sub)}-frame trace"]
    if decided is not None:
        lines.append(f"decided at frame {decided.frame}: {decided.verdict.value}")
        focus = decided.frame
    else:
        lines.append(f"decided only at the end of the trace (frame {len(sub) - 1})")
        focus = len(sub) - 1
    failing = [g for g in A.children(f) if A.is_formula(g) and len(sub) and not satisfaction(g, sub)[0]]
    if isinstance(f, (A.And,)) and failing:
        lines.append("failing conjuncts: " + "; ".join(to_text(g) for g in failing))
    lo, hi = max(0, focus - context), min(len(sub) - 1, focus + context)
    shown = [*names, *(n for n in t.names if n not in names)]  # the formula's first, then context
    cols = t.select(shown).values
    width = max((len(n) for n in shown), default=4)
    lines.append("frame  " + "  ".join(n.rjust(width) for n in shown))
    for i in range(lo, hi + 1):
        mark = ">" if i == focus else " "
        lines.append(f"{mark}{i:5d}  " + "  ".join(f"{v:g}".rjust(width) for v in cols[i]))
    return "\n".join(lines)


def assert_holds(formula: A.Formula | str, trace: object, *, fps: float | None = None) -> None:
    """Raise AssertionError with an explanation unless ``trace`` satisfies ``formula``."""
    from framelogic.logic.semantics import satisfaction

    t = as_trace(trace)
    f = resolve_time(as_formula(formula), fps if fps is not None else t.rate)
    if not len(t) or not satisfaction(f, t.select(atom_names(f)))[0]:
        raise AssertionError(explain(f, t))


def assert_violates(formula: A.Formula | str, trace: object, *, fps: float | None = None) -> None:
    """Raise AssertionError with an explanation unless ``trace`` violates ``formula``."""
    from framelogic.logic.semantics import satisfaction

    t = as_trace(trace)
    f = resolve_time(as_formula(formula), fps if fps is not None else t.rate)
    if len(t) and satisfaction(f, t.select(atom_names(f)))[0]:
        raise AssertionError(explain(f, t))
