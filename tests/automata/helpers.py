"""Shared strategies for the automata tests."""

from hypothesis import assume

from framelogic.logic import ast as A
from framelogic.logic.passes import desugar

PAST = (A.Prev, A.Since, A.Once, A.Historically)
FUTURE = (A.Next, A.WeakNext, A.Until, A.Release, A.WeakUntil, A.StrongRelease, A.Eventually, A.Always)


def future_inside_past(f, inside=False):
    if inside and isinstance(f, FUTURE):
        return True
    now = inside or isinstance(f, PAST)
    return any(future_inside_past(c, now) for c in A.children(f))


def compilable(f):
    """Filter for formulas the automaton construction supports."""
    assume(not future_inside_past(desugar(f)))
    return f
