"""The brute-force oracle for exact probabilities, shared by the automata tests."""

import itertools

import numpy as np

from framelogic.logic.semantics import satisfaction
from framelogic.logic.trace import TraceTable


def brute_force(f, t):
    """P((w,i) |= f) by enumerating every 0/1 world of the probabilistic trace."""
    n, k = t.values.shape
    out = np.zeros(n)
    for bits in itertools.product([0, 1], repeat=n * k):
        world = np.array(bits, dtype=float).reshape(n, k)
        weight = np.prod(np.where(world == 1, t.values, 1 - t.values))
        if weight:
            out += weight * satisfaction(f, TraceTable(t.names, world)).astype(float)
    return out
