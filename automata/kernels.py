"""The sequential loops of evaluation, as plain Python functions over numpy arrays.

Each runs as is on short traces (no compile latency) and is compiled with numba
for long ones (:func:`fast`); both run the same code, and the tests check that
they agree. Every loop is linear in the number of frames.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np

#: Traces at least this long use the numba-compiled loops.
JIT_THRESHOLD = 20_000


@cache
def _jit(fn: Callable) -> Callable:
    import numba

    return numba.njit(cache=False, nogil=True)(fn)


def fast(fn: Callable, n: int) -> Callable:
    """``fn`` compiled with numba when ``n`` frames make it worthwhile."""
    return _jit(fn) if n >= JIT_THRESHOLD else fn


def run_states(delta: np.ndarray, letters: np.ndarray, q: int, out: np.ndarray) -> int:
    """``out[i]`` = state after frame ``i``; returns the last state."""
    for i in range(letters.shape[0]):
        q = delta[q, letters[i]]
        out[i] = q
    return q


def backward_bool(rdelta: np.ndarray, racc: np.ndarray, letters: np.ndarray, r: int, out: np.ndarray) -> int:
    """Backwards through the reverse automaton: ``out[i]`` = suffix from ``i`` accepted."""
    for i in range(letters.shape[0] - 1, -1, -1):
        r = rdelta[r, letters[i]]
        out[i] = racc[r]
    return r


def backward_bool_states(rdelta: np.ndarray, letters: np.ndarray, r: int, out: np.ndarray) -> int:
    """Like :func:`backward_bool` but records the reverse state before each frame."""
    for i in range(letters.shape[0] - 1, -1, -1):
        out[i] = r
        r = rdelta[r, letters[i]]
    return r


def backward_prob(delta: np.ndarray, initial: int, L: np.ndarray, v: np.ndarray, out: np.ndarray) -> None:
    """Exact backward pass: ``v[q]`` = P(suffix from here accepted | state q).

    ``L[i, s]`` is the probability of letter ``s`` at frame ``i``; ``v`` is updated
    in place and ``out[i]`` gets ``v[initial]`` after frame ``i``.
    """
    nq, ns = delta.shape
    w = np.empty(nq)
    for i in range(L.shape[0] - 1, -1, -1):
        for q in range(nq):
            acc = 0.0
            for s in range(ns):
                acc += L[i, s] * v[delta[q, s]]
            w[q] = acc
        for q in range(nq):
            v[q] = w[q]
        out[i] = v[initial]


def forward_prob(delta: np.ndarray, L: np.ndarray, a: np.ndarray, out: np.ndarray) -> None:
    """Forward distribution: ``out[i]`` = distribution over states before frame ``i``;
    ``a`` (the distribution before the first frame of ``L``) is updated in place."""
    nq, ns = delta.shape
    b = np.empty(nq)
    for i in range(L.shape[0]):
        for q in range(nq):
            out[i, q] = a[q]
            b[q] = 0.0
        for q in range(nq):
            if a[q] != 0.0:
                for s in range(ns):
                    b[delta[q, s]] += a[q] * L[i, s]
        for q in range(nq):
            a[q] = b[q]


def marked_prob(
    delta: np.ndarray, mark: int, alpha: np.ndarray, L: np.ndarray, v: np.ndarray, out: np.ndarray
) -> None:
    """Backward pass with the marker: ``out[i] = Σ_q α_i(q) Σ_s L[i,s] β_{i+1}(δ(q, s|mark))``.

    ``alpha[i]`` is the distribution before frame ``i`` (marker off so far); ``v``
    holds β after the last frame of ``L`` and is updated in place (marker off).
    """
    nq, ns = delta.shape
    half = ns // 2  # letters without the marker bit
    w = np.empty(nq)
    for i in range(L.shape[0] - 1, -1, -1):
        total = 0.0
        for q in range(nq):
            if alpha[i, q] != 0.0:
                acc = 0.0
                for s in range(half):
                    acc += L[i, s] * v[delta[q, s | mark]]
                total += alpha[i, q] * acc
        out[i] = total
        for q in range(nq):
            acc = 0.0
            for s in range(half):
                acc += L[i, s] * v[delta[q, s]]
            w[q] = acc
        for q in range(nq):
            v[q] = w[q]


def backward_bool_direct(delta: np.ndarray, v: np.ndarray, letters: np.ndarray, initial: int, out: np.ndarray) -> None:
    """Backward pass over the automaton itself, O(states) per frame: the fallback
    when the reverse automaton would be too large."""
    nq = delta.shape[0]
    w = np.empty(nq, dtype=np.bool_)
    for i in range(letters.shape[0] - 1, -1, -1):
        s = letters[i]
        for q in range(nq):
            w[q] = v[delta[q, s]]
        for q in range(nq):
            v[q] = w[q]
        out[i] = v[initial]


def segments(
    delta: np.ndarray, accepting: np.ndarray, live: np.ndarray, L: np.ndarray, threshold: float,
    longest: bool, max_length: int, starts: np.ndarray, ends: np.ndarray, probs: np.ndarray,
) -> int:
    """Leftmost non-overlapping segments ``w[s..e]`` with ``P(w[s..e] |= φ) >= threshold``.

    From each start the automaton runs forward (a distribution over states);
    the scan from a start stops once the mass that can still reach acceptance
    falls below the threshold. Returns the number of segments written.
    """
    n, ns = L.shape
    nq = delta.shape[0]
    a = np.empty(nq)
    b = np.empty(nq)
    count = 0
    s = 0
    while s < n:
        for q in range(nq):
            a[q] = 0.0
        a[0] = 1.0
        best_e = -1
        best_p = 0.0
        limit = n if max_length <= 0 else min(n, s + max_length)
        for e in range(s, limit):
            for q in range(nq):
                b[q] = 0.0
            for q in range(nq):
                if a[q] != 0.0:
                    for x in range(ns):
                        if L[e, x] != 0.0:
                            b[delta[q, x]] += a[q] * L[e, x]
            p_acc = 0.0
            p_live = 0.0
            for q in range(nq):
                a[q] = b[q]
                if accepting[q]:
                    p_acc += b[q]
                if live[q]:
                    p_live += b[q]
            if p_acc >= threshold:
                best_e = e
                best_p = p_acc
                if not longest:
                    break
            if p_live < threshold:
                break
        if best_e >= 0:
            starts[count] = s
            ends[count] = best_e
            probs[count] = best_p
            count += 1
            s = best_e + 1
        else:
            s += 1
    return count
