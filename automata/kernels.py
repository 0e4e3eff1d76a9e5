"""The sequential loops of evaluation, as plain Python functions over numpy arrays.

Each runs as is on short traces (no compile latency) and is compiled with numba
for long ones (:func:`fast`); both run the same code, and the tests check that
they agree. Every loop is linear in the number of frames.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import cache

import numpy as np

#: Traces at least this long use the numba-compiled loops.
JIT_THRESHOLD = 20_000
JIT_WORK = 2_000_000  # frames x states: plain Python would take seconds


@cache
def _jit(fn: Callable) -> Callable:
    try:
        import numba
        from numba.extending import overload
    except ImportError:  # exact either way; only slower (about 100x on long traces)
        warnings.warn(
            "numba is not installed: framelogic's long-trace loops run as plain Python; "
            "pip install 'framelogic[fast]' (numba) for the compiled speed",
            RuntimeWarning,
            stacklevel=3,
        )
        return fn
    _register_steps(overload)
    return numba.njit(cache=False, nogil=True)(fn)


@cache
def _register_steps(overload: Callable) -> None:
    # The per-frame diagram steps are plain functions; the compiled loops inline
    # them (as numba.extending.register_jitable does, plus the inlining).
    for step in (pull, push):
        overload(step, strict=False, inline="always")(lambda *args, _step=step: _step)
    # the counter steps loop over whole counters: a call costs nothing next to that,
    # and inlining them made the kernels slow to compile
    for step in (
        counter_axis, counter_step, _strided_dot, counter_pair_step, _pair_coefficients,
        counter_joint_step, joint_fans, joint_spread, _joint_coefficients, _joint_dot,
    ):
        overload(step, strict=False)(lambda *args, _step=step: _step)


def compiled(fn: Callable) -> Callable:
    """``fn`` compiled with numba (as is without numba)."""
    return _jit(fn)


@cache
def compiled_cached(fn: Callable) -> Callable:
    """``fn`` compiled with numba, its machine code cached on disk (``cache=True``: a new
    process loads it instead of compiling again, seconds per loop; numba keys the cache
    on the function's file, so an edit recompiles), or :func:`compiled`'s in-memory
    compilation where numba has nowhere to write its cache (or is not installed)."""
    try:
        import numba
    except ImportError:  # pragma: no cover - compiled() warns and runs plain Python
        return _jit(fn)
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # pragma: no cover - no cache locator (a read-only install without a user cache)
        return _jit(fn)


def fast(fn: Callable, n: int, states: int = 1) -> Callable:
    """``fn`` compiled with numba when ``n`` frames (over ``states`` states each) make it
    worthwhile: a long trace, or a large automaton on a short one."""
    return _jit(fn) if n >= JIT_THRESHOLD or n * states >= JIT_WORK else fn


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
    var: np.ndarray, lo: np.ndarray, hi: np.ndarray, roots: np.ndarray,
    accepting: np.ndarray, live: np.ndarray, P: np.ndarray, threshold: float,
    longest: bool, max_length: int, starts: np.ndarray, ends: np.ndarray, probs: np.ndarray,
    work: np.ndarray,
) -> int:
    """Leftmost non-overlapping segments ``w[s..e]`` with ``P(w[s..e] |= φ) >= threshold``.

    From each start the automaton runs forward (a distribution over states,
    pushed through the :func:`flat_diagram` of its transitions); the scan from a
    start stops once the mass that can still reach acceptance falls below the
    threshold, since no later end can then reach it, or after ``max_length``
    frames (when > 0). A start is skipped without a scan when the probability
    that the run from it accepts at some end at all (one backward pass, the same
    for every start) is below the threshold: no single end can do better.
    Returns the number of segments written; ``work[0]`` counts the frames passed
    over, at most ``frames x (max_length + 1)`` (quadratic without a cap).
    """
    n = P.shape[0]
    nq = roots.shape[0]
    buf = np.empty(nq + var.shape[0])
    # reach[t]: P(the run from state 0 at frame t accepts at some end >= t)
    reach = np.empty(n)
    v = np.zeros(nq)
    for t in range(n - 1, -1, -1):
        for r in range(nq):
            buf[r] = 1.0 if accepting[r] else v[r]
        pull(var, lo, hi, P[t], buf)
        for q in range(nq):
            v[q] = buf[roots[q]]
        reach[t] = v[0]
    work[0] += n
    a = np.empty(nq)
    count = 0
    s = 0
    while s < n:
        if reach[s] < threshold - 1e-9:  # margin: rounding must never skip a match
            s += 1
            continue
        for q in range(nq):
            a[q] = 0.0
        a[0] = 1.0
        best_e = -1
        best_p = 0.0
        limit = n if max_length <= 0 else min(n, s + max_length)
        for e in range(s, limit):
            work[0] += 1
            push(var, lo, hi, roots, P[e], a, buf)
            p_acc = 0.0
            p_live = 0.0
            for q in range(nq):
                a[q] = buf[q]
                if accepting[q]:
                    p_acc += buf[q]
                if live[q]:
                    p_live += buf[q]
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


def segments_bool(
    delta: np.ndarray, accepting: np.ndarray, live: np.ndarray, letters: np.ndarray,
    longest: bool, max_length: int, starts: np.ndarray, ends: np.ndarray, work: np.ndarray,
) -> int:
    """:func:`segments` for a 0/1 trace (given as its ``letters``), in O(frames x states).

    One backward pass finds, for every start ``s``, the first and the last end
    ``e`` at which the run from state 0 over ``w[s..e]`` accepts: at frame ``t``
    the first/last accepting end from each state ``q`` is ``t`` (if
    ``delta[q, w_t]`` accepts) or the first/last end from ``delta[q, w_t]`` at
    ``t+1``. Picking the segments left to right is then O(1) per start, so a
    trace without any event costs one pass. Only a longest segment longer than
    ``max_length`` (> 0) needs a scan, of at most ``max_length`` frames, for the
    last accepting end inside the cap. ``work[0]`` counts state updates and scanned frames.
    """
    n = letters.shape[0]
    nq = delta.shape[0]
    first = np.empty(n, dtype=np.int64)
    last = np.empty(n, dtype=np.int64)
    f_next = np.full(nq, -1, dtype=np.int64)
    l_next = np.full(nq, -1, dtype=np.int64)
    f_cur = np.empty(nq, dtype=np.int64)
    l_cur = np.empty(nq, dtype=np.int64)
    for t in range(n - 1, -1, -1):
        c = letters[t]
        for q in range(nq):
            r = delta[q, c]
            if accepting[r]:
                f_cur[q] = t
                l_cur[q] = t if l_next[r] < 0 else l_next[r]
            else:
                f_cur[q] = f_next[r]
                l_cur[q] = l_next[r]
        for q in range(nq):
            f_next[q] = f_cur[q]
            l_next[q] = l_cur[q]
        first[t] = f_next[0]
        last[t] = l_next[0]
    work[0] += n * nq
    count = 0
    s = 0
    while s < n:
        e = first[s]
        if e < 0 or (max_length > 0 and e - s >= max_length):
            s += 1
            continue
        if longest:
            e = last[s]
            if max_length > 0 and e - s >= max_length:  # the last accepting end inside the cap
                e = first[s]
                q = 0
                for x in range(s, s + max_length):
                    work[0] += 1
                    q = delta[q, letters[x]]
                    if accepting[q]:
                        e = x
                    if not live[q]:
                        break
        starts[count] = s
        ends[count] = e
        count += 1
        s = e + 1
    return count


# ------------------------------------------------------------------ windows and counters
# A window of frames s..s+L-1 is the composition f_s ∘ ... ∘ f_{s+L-1} of the
# affine maps f_k(x) = c_k + a_k x, evaluated at x_end (the value when nothing
# in the window settled it). Compositions are associative, so the van Herk /
# Gil-Werman scheme gives every window from one prefix and one suffix scan per
# block of L frames: O(n) whatever L. All coefficients are >= 0: no cancellation.


def window_compose(a: np.ndarray, c: np.ndarray, L: int, x_end: float, out: np.ndarray) -> None:
    """``out[s]`` = composition over ``[s, s+L)`` at ``x_end``; needs ``len(a) >= len(out) + L - 1``."""
    N = a.shape[0]
    pa = np.empty(N)
    pc = np.empty(N)
    sa = np.empty(N)
    sc = np.empty(N)
    for b0 in range(0, N, L):
        b1 = min(b0 + L, N)
        A_ = 1.0
        C_ = 0.0
        for j in range(b0, b1):
            C_ = C_ + A_ * c[j]
            A_ = A_ * a[j]
            pa[j] = A_
            pc[j] = C_
        A_ = 1.0
        C_ = 0.0
        for j in range(b1 - 1, b0 - 1, -1):
            C_ = c[j] + a[j] * C_
            A_ = a[j] * A_
            sa[j] = A_
            sc[j] = C_
    for s in range(out.shape[0]):
        if s % L == 0:
            out[s] = sc[s] + sa[s] * x_end
        else:
            e = s + L - 1
            out[s] = sc[s] + sa[s] * (pc[e] + pa[e] * x_end)


def suffix_compose(a: np.ndarray, c: np.ndarray, x_end: float, out: np.ndarray) -> None:
    """``out[s]`` = composition over ``[s, len(a))`` at ``x_end``."""
    v = x_end
    for s in range(a.shape[0] - 1, -1, -1):
        v = c[s] + a[s] * v
        out[s] = v


def response_counter(
    c: np.ndarray, e: np.ndarray, bounds: np.ndarray, pi: np.ndarray, out: np.ndarray
) -> None:
    """``out[i]`` = P(every frame k >= i satisfies its rules), for rules
    ``p_r -> F[0,b_r] q`` (``b_1 < ... < b_m``) sharing ``q``.

    ``c[k]`` = P(q_k); ``e[r, k]`` = P(!q_k & !p_1 & ... & !p_r) (``e[0]`` = P(!q));
    ``pi[r, x]`` = the product over the frames before ``x + b_{r+1}`` back to ``x``
    of their zone's ``e`` (precomputed, see :class:`framelogic.automata.plan._Counter`). Decomposing on
    the first ``q`` frame ``j >= i``: a frame at distance ``d = j - k`` must avoid
    every ``p_r`` with ``b_r < d``. ``B[r]`` sums the terms with ``j - i <= b_{r+1}``
    (``b_{m+1} = inf``), each level from the one below with tail subtraction.
    """
    n = out.shape[0]
    m = bounds.shape[0]
    B = np.zeros(m + 1)
    Bprev = np.zeros(m + 1)
    t = np.zeros(m)
    es = 1.0  # no q from i to the end: every p must be false too
    for i in range(n - 1, -1, -1):
        for r in range(m + 1):
            Bprev[r] = B[r]
        # t[r] = the term of level r's window at its far end, seen from i + 1
        for r in range(m):
            j = i + 1 + bounds[r]
            t[r] = pi[r, i + 1] * c[j] * out[j + 1] if j < n - 1 else (pi[r, i + 1] * c[j] if j == n - 1 else 0.0)
        h = c[i] * (out[i + 1] if i + 1 < n else 1.0)
        B[0] = h + e[0, i] * (Bprev[0] - t[0]) if m > 0 else h + e[0, i] * Bprev[0]
        for r in range(1, m + 1):
            tail = Bprev[r] - Bprev[r - 1] + t[r - 1]
            if r < m:
                tail -= t[r]
            B[r] = B[r - 1] + e[r, i] * tail
        es = e[m, i] * es
        v = B[m] + es
        out[i] = min(max(v, 0.0), 1.0)


# ------------------------------------------------------------------ decision diagrams
# Exact probabilities need, for every state, the probability of each successor
# under independent per-proposition probabilities. Enumerating the 2^k letters
# costs |Q|·2^k per frame; a reduced ordered decision diagram of each state's
# successor function (shared across states) costs one multiply-add per node,
# and most guards test only a few propositions. Node x tests proposition
# var[x]; lo/hi are child nodes, or leaves -(state+1). Nodes are stored
# children first, so one sweep up evaluates values (:func:`pull`) and one sweep
# down pushes probability mass (:func:`push`). The loops take the diagram in
# its flat layout (:func:`flat_diagram`): no branch per child on whether it is
# a leaf, which about doubles the speed of the compiled loops.


def decision_diagram(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(var, lo, hi, roots)`` for the functions letter -> ``rows[r, letter]``."""
    var: list[int] = []
    lo: list[int] = []
    hi: list[int] = []
    unique: dict[tuple[int, int, int], int] = {}
    memo: dict[tuple[int, bytes], int] = {}

    def go(sub: np.ndarray, j: int) -> int:
        first = int(sub[0])
        if (sub == first).all():
            return -first - 1
        key = (j, sub.tobytes())
        hit = memo.get(key)
        if hit is not None:
            return hit
        # bit j is the lowest remaining bit: even positions have it 0, odd have it 1
        low, high = go(sub[0::2], j + 1), go(sub[1::2], j + 1)
        if low == high:
            node = low
        else:
            node = unique.get((j, low, high), -1)
            if node < 0:
                node = unique[(j, low, high)] = len(var)
                var.append(j)
                lo.append(low)
                hi.append(high)
        memo[key] = node
        return node

    roots = [go(np.ascontiguousarray(r), 0) for r in rows]
    as_array = lambda xs: np.array(xs, dtype=np.int64)  # noqa: E731
    return as_array(var), as_array(lo), as_array(hi), as_array(roots)


def flat_diagram(rows: np.ndarray, n_leaves: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`decision_diagram` of ``rows`` (values ``0..n_leaves-1``; by default
    the number of rows) with children and roots as indices into one buffer:
    the ``n_leaves`` leaf values first, then one slot per node."""
    var, lo, hi, roots = decision_diagram(rows)
    m = rows.shape[0] if n_leaves is None else n_leaves
    place = lambda c: np.where(c < 0, -c - 1, m + c).astype(np.int64)  # noqa: E731
    return var, place(lo), place(hi), place(roots)


def pull(var: np.ndarray, lo: np.ndarray, hi: np.ndarray, p: np.ndarray, buf: np.ndarray) -> None:
    """One frame backwards: with the leaf values in ``buf[:m]``, fill every node's
    slot with the expected leaf value below it under the per-proposition
    probabilities ``p``; ``buf[roots[q]]`` is then state ``q``'s expected successor
    value. (Arrays or plain lists: the monitor steps one frame on lists.)"""
    m = len(buf) - len(var)
    for x in range(len(var)):  # children first
        px = p[var[x]]
        buf[m + x] = (1.0 - px) * buf[lo[x]] + px * buf[hi[x]]


def push(var: np.ndarray, lo: np.ndarray, hi: np.ndarray, roots: np.ndarray, p: np.ndarray, a: np.ndarray, buf: np.ndarray) -> None:
    """One frame forwards: ``buf[:len(a)]`` = the distribution over successors of
    the state distribution ``a`` under the per-proposition probabilities ``p``.
    (Arrays or plain lists, like :func:`pull`.)"""
    m = len(a)
    nn = len(var)
    for j in range(m + nn):
        buf[j] = 0.0
    for q in range(m):
        buf[roots[q]] += a[q]
    for x in range(nn - 1, -1, -1):  # parents before children
        mass = buf[m + x]
        if mass != 0.0:
            px = p[var[x]]
            buf[lo[x]] += mass * (1.0 - px)
            buf[hi[x]] += mass * px


def backward_prob(
    var: np.ndarray, lo: np.ndarray, hi: np.ndarray, roots: np.ndarray, initial: int,
    P: np.ndarray, v: np.ndarray, out: np.ndarray,
) -> None:
    """``out[i]`` = acceptance probability of frames ``i..`` from ``initial``;
    ``v`` (acceptance after the last frame of ``P``) is updated in place."""
    nq = v.shape[0]
    buf = np.empty(nq + var.shape[0])
    buf[:nq] = v
    w = np.empty(nq)
    for i in range(P.shape[0] - 1, -1, -1):
        pull(var, lo, hi, P[i], buf)
        for q in range(nq):
            w[q] = buf[roots[q]]
        for q in range(nq):
            buf[q] = w[q]
        out[i] = buf[initial]
    v[:] = buf[:nq]


def forward_prob(
    var: np.ndarray, lo: np.ndarray, hi: np.ndarray, roots: np.ndarray,
    P: np.ndarray, a: np.ndarray, weights: np.ndarray, out: np.ndarray, record: np.ndarray,
) -> None:
    """Forward distribution over states; ``a`` (before the first frame of ``P``)
    is updated in place. ``out[i]`` = ``weights · a`` after frame ``i``; when
    ``record`` has rows, ``record[i]`` = the distribution before frame ``i``."""
    nq = a.shape[0]
    buf = np.empty(nq + var.shape[0])
    keep = record.shape[0] > 0
    for i in range(P.shape[0]):
        if keep:
            for q in range(nq):
                record[i, q] = a[q]
        push(var, lo, hi, roots, P[i], a, buf)
        total = 0.0
        for q in range(nq):
            a[q] = buf[q]
            total += weights[q] * buf[q]
        out[i] = total


def marked_prob(
    var: np.ndarray, lo: np.ndarray, hi: np.ndarray, roots: np.ndarray, on: np.ndarray,
    alpha: np.ndarray, P: np.ndarray, v: np.ndarray, out: np.ndarray,
) -> None:
    """The marked backward pass: ``roots[:nq]`` are the marker-off successors
    (``nq = len(v)``); ``on[r]`` is the buffer index of the marker-on successor of
    pre-marker state ``r``, whose probability before frame ``i`` is ``alpha[i, r]``.
    ``out[i]`` = ``sum_r alpha[i, r] · (acceptance after the marked frame i)``;
    ``v`` is updated in place."""
    nq = v.shape[0]
    m = on.shape[0]
    buf = np.empty(nq + var.shape[0])
    buf[:nq] = v
    w = np.empty(nq)
    for i in range(P.shape[0] - 1, -1, -1):
        pull(var, lo, hi, P[i], buf)
        total = 0.0
        for r in range(m):
            total += alpha[i, r] * buf[on[r]]
        out[i] = total
        for q in range(nq):
            w[q] = buf[roots[q]]
        for q in range(nq):
            buf[q] = w[q]
    v[:] = buf[:nq]


# ------------------------------------------------------------------ product counters
# See framelogic.automata.counters: the state of a product counter is a dense
# array over the product of the rules' counters; one rule's operator acts along
# its axis, the array viewed as A x S_j x B, through ops (kind, row, col,
# length, class): a band adds c·old[col + d] to new[row + d], a fan-in adds
# c·sum_d old[col + d] to new[row], a fan-out adds c·old[col] to new[row + d]
# (d < length), each a contiguous run of B-long rows.


def counter_axis(ops: np.ndarray, lo: int, hi: int, A_: int, S: int, B: int, coef: np.ndarray, src: np.ndarray, dst: np.ndarray) -> None:
    """``dst`` (zeroed here) = one rule's operator applied along its axis to ``src``."""
    # The runs are taken as views first: an index known to be >= 0 lets the
    # compiled loops skip the negative-index check and vectorize.
    dst[:] = 0.0
    for o in range(lo, hi):
        kind = ops[o, 0]
        rs = ops[o, 1]
        cs = ops[o, 2]
        L = ops[o, 3]
        c = coef[ops[o, 4]]
        if c == 0.0:
            continue
        for a in range(A_):
            base = a * S * B
            if kind == 0:
                dv = dst[base + rs * B : base + (rs + L) * B]
                sv = src[base + cs * B : base + (cs + L) * B]
                for d in range(L * B):
                    dv[d] += c * sv[d]
            elif kind == 1:
                if B == 1:  # one sum; four partial sums break the add chain
                    sv = src[base + cs : base + cs + L]
                    s0 = 0.0
                    s1 = 0.0
                    s2 = 0.0
                    s3 = 0.0
                    L4 = L - L % 4
                    for d in range(0, L4, 4):
                        s0 += sv[d]
                        s1 += sv[d + 1]
                        s2 += sv[d + 2]
                        s3 += sv[d + 3]
                    for d in range(L4, L):
                        s0 += sv[d]
                    dst[base + rs] += c * ((s0 + s1) + (s2 + s3))
                    continue
                dv = dst[base + rs * B : base + (rs + 1) * B]
                for d in range(L):
                    sv = src[base + (cs + d) * B : base + (cs + d + 1) * B]
                    for e in range(B):
                        dv[e] += c * sv[e]
            else:
                if B == 1:
                    x = c * src[base + cs]
                    dv = dst[base + rs : base + rs + L]
                    for d in range(L):
                        dv[d] += x
                    continue
                sv = src[base + cs * B : base + (cs + 1) * B]
                for d in range(L):
                    dv = dst[base + (rs + d) * B : base + (rs + d + 1) * B]
                    for e in range(B):
                        dv[e] += c * sv[e]


def counter_step(
    ops: np.ndarray, ranges: np.ndarray, dims: np.ndarray, coef: np.ndarray, weight: np.ndarray,
    v: np.ndarray, out: np.ndarray, work: np.ndarray,
) -> None:
    """``out`` = ``sum_x weight[x] · (M_m|x ... M_1|x) v`` for one frame (``coef[x, class]``);
    ``work`` has two rows of at least ``len(v)``."""
    m = ranges.shape[0]
    size = v.shape[0]
    if weight.shape[0] == 1 and m == 1:  # one rule, nothing shared
        counter_axis(ops, ranges[0, 0], ranges[0, 1], dims[0, 0], dims[0, 1], dims[0, 2], coef[0], v, out)
        return
    out[:] = 0.0
    for x in range(weight.shape[0]):
        w = weight[x]
        if w == 0.0:
            continue
        cx = coef[x]
        counter_axis(ops, ranges[0, 0], ranges[0, 1], dims[0, 0], dims[0, 1], dims[0, 2], cx, v, work[0, :size])
        for j in range(1, m):
            counter_axis(
                ops, ranges[j, 0], ranges[j, 1], dims[j, 0], dims[j, 1], dims[j, 2], cx,
                work[(j - 1) % 2, :size], work[j % 2, :size],
            )
        res = work[(m - 1) % 2, :size]
        for j in range(size):
            out[j] += w * res[j]


def _strided_dot(r: np.ndarray, stride: int, q: np.ndarray) -> float:
    """``sum_t r[t·stride] q[t]``, four partial sums (no add chain)."""
    n = q.shape[0]
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    n4 = n - n % 4
    for t in range(0, n4, 4):
        s0 += r[t * stride] * q[t]
        s1 += r[(t + 1) * stride] * q[t + 1]
        s2 += r[(t + 2) * stride] * q[t + 2]
        s3 += r[(t + 3) * stride] * q[t + 3]
    for t in range(n4, n):
        s0 += r[t * stride] * q[t]
    return (s0 + s1) + (s2 + s3)


def counter_product(
    b_ops: np.ndarray, b_ranges: np.ndarray, b_dims: np.ndarray,
    f_ops: np.ndarray, f_ranges: np.ndarray, f_dims: np.ndarray,
    coef: np.ndarray, weight: np.ndarray, r: np.ndarray, q0: np.ndarray, stride: int, block: int, out: np.ndarray,
) -> None:
    """``out[i]`` = ``sum_t R_i[t·stride] Q_i[t]`` (see framelogic.automata.counters): the
    backward ``R`` from ``r`` (after the last frame), the forward ``Q`` from ``q0`` (before
    frame 0) kept every ``block`` frames and recomputed block by block."""
    n = coef.shape[0]
    SR = r.shape[0]
    SQ = q0.shape[0]
    has_q = f_ranges.shape[0] > 0
    nb = (n + block - 1) // block
    ck = np.empty((nb if has_q else 1, SQ))
    qb = np.empty((block + 1 if has_q else 1, SQ))
    work = np.empty((2, max(SR, SQ)))
    q = q0.copy()
    if has_q:
        for k in range(nb):
            ck[k] = q
            for i in range(k * block, min(n, (k + 1) * block)):
                counter_step(f_ops, f_ranges, f_dims, coef[i], weight[i], q, qb[0], work)
                q[:] = qb[0]
    rn = np.empty(SR)
    for k in range(nb - 1, -1, -1):
        s = k * block
        e = min(n, s + block)
        if has_q:
            qb[0] = ck[k]
            for i in range(s, e - 1):
                counter_step(f_ops, f_ranges, f_dims, coef[i], weight[i], qb[i - s], qb[i - s + 1], work)
        else:
            qb[0] = q0
        for i in range(e - 1, s - 1, -1):
            counter_step(b_ops, b_ranges, b_dims, coef[i], weight[i], r, rn, work)
            r, rn = rn, r
            qi = qb[i - s] if has_q else qb[0]
            out[i] = _strided_dot(r, stride, qi)


# ------------------------------------------------------------------ pair counters
# Two rules' counters as one S1 x S2 array (rule 2 contiguous). The frame's
# operator is sum_{o1, o2} c(o1, o2) op1_{o1} ⊗ op2_{o2} with c(o1, o2) the
# probability of both ops' classes at the frame (one number per pair, computed
# up front for every frame): no sum over the shared atoms' values. Rule 1's ops
# only choose which source row feeds a destination row (a band or a fan-out
# reads one row, a fan-in the sum of its rows), so every destination row is
# built once, in L1, from its few source rows through rule 2's ops.


def counter_pair_step(
    ops2: np.ndarray, table: np.ndarray, n_in: np.ndarray, fan1: np.ndarray, coef: np.ndarray,
    src: np.ndarray, dst: np.ndarray, tmp: np.ndarray, seg: np.ndarray,
) -> None:
    """``dst`` = ``sum_{o1,o2} coef[o1, o2] (op1_{o1} ⊗ op2_{o2}) src`` over ``S1 x S2``
    (flat, row-major). ``table[u, k] = (o1, row)`` for the ``n_in[u]`` ops of rule 1 that
    write row ``u``: ``row < S1`` reads that row of ``src``, ``S1 + j`` the sum of the rows
    ``fan1[j] = (first, count)`` (kept in ``tmp``). ``seg[row, o2]``: scratch for the sums
    that rule 2's fan-ins read."""
    S1 = n_in.shape[0]
    S2 = src.shape[0] // S1
    n2 = ops2.shape[0]
    for j in range(fan1.shape[0]):
        cs = fan1[j, 0]
        t = tmp[j * S2 : (j + 1) * S2]
        s0 = src[cs * S2 : (cs + 1) * S2]
        for e in range(S2):
            t[e] = s0[e]
        for d in range(1, fan1[j, 1]):
            sv = src[(cs + d) * S2 : (cs + d + 1) * S2]
            for e in range(S2):
                t[e] += sv[e]
    # rule 2's fan-ins: one sum per source row, however many rows read it
    for o2 in range(n2):
        if ops2[o2, 0] != 1 or ops2[o2, 3] == 1:  # a one-entry fan-in is read in place
            continue
        cs = ops2[o2, 2]
        L = ops2[o2, 3]
        for row in range(S1 + fan1.shape[0]):
            if row < S1:
                sv = src[row * S2 + cs : row * S2 + cs + L]
            else:
                sv = tmp[(row - S1) * S2 + cs : (row - S1) * S2 + cs + L]
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            s3 = 0.0
            L4 = L - L % 4
            for d in range(0, L4, 4):
                s0 += sv[d]
                s1 += sv[d + 1]
                s2 += sv[d + 2]
                s3 += sv[d + 3]
            for d in range(L4, L):
                s0 += sv[d]
            seg[row, o2] = (s0 + s1) + (s2 + s3)
    # one band whose range every fan-out covers or misses: the band's range is written
    # once (fan-out constant + its source rows), the rest filled around it
    band = -1
    for o2 in range(n2):
        if ops2[o2, 0] == 0:
            band = o2 if band == -1 else -2
    if band >= 0:
        rsb = ops2[band, 1]
        Lb = ops2[band, 3]
        for o2 in range(n2):
            if ops2[o2, 0] == 2:
                lo = ops2[o2, 1]
                hi = lo + ops2[o2, 3]
                if not (lo <= rsb and hi >= rsb + Lb) and not (hi <= rsb or lo >= rsb + Lb):
                    band = -2
    if band >= 0:
        csb = ops2[band, 2]
        for u in range(S1):
            dv = dst[u * S2 : (u + 1) * S2]
            K_ = n_in[u]
            for e in range(rsb):
                dv[e] = 0.0
            for e in range(rsb + Lb, S2):
                dv[e] = 0.0
            cb = 0.0
            for o2 in range(n2):
                if ops2[o2, 0] != 2:
                    continue
                rs = ops2[o2, 1]
                cs = ops2[o2, 2]
                L = ops2[o2, 3]
                x = 0.0
                for k in range(K_):
                    c = coef[table[u, k, 0], o2]
                    if c != 0.0:
                        row = table[u, k, 1]
                        x += c * (src[row * S2 + cs] if row < S1 else tmp[(row - S1) * S2 + cs])
                if rs <= rsb and rs + L >= rsb + Lb:  # the band's range, and around it
                    cb += x
                    if x != 0.0:
                        for e in range(rs, rsb):
                            dv[e] += x
                        for e in range(rsb + Lb, rs + L):
                            dv[e] += x
                elif x != 0.0:
                    dv2 = dv[rs : rs + L]
                    for d in range(L):
                        dv2[d] += x
            dv2 = dv[rsb : rsb + Lb]
            if K_ == 0:
                for d in range(Lb):
                    dv2[d] = cb
            else:
                c0 = coef[table[u, 0, 0], band]
                r0 = table[u, 0, 1]
                off0 = (r0 if r0 < S1 else r0 - S1) * S2 + csb
                s0 = src[off0 : off0 + Lb] if r0 < S1 else tmp[off0 : off0 + Lb]
                if K_ == 1:
                    for d in range(Lb):
                        dv2[d] = cb + c0 * s0[d]
                else:
                    c1 = coef[table[u, 1, 0], band]
                    r1 = table[u, 1, 1]
                    off1 = (r1 if r1 < S1 else r1 - S1) * S2 + csb
                    s1 = src[off1 : off1 + Lb] if r1 < S1 else tmp[off1 : off1 + Lb]
                    for d in range(Lb):
                        dv2[d] = cb + c0 * s0[d] + c1 * s1[d]
                    for k in range(2, K_):
                        c = coef[table[u, k, 0], band]
                        r2 = table[u, k, 1]
                        off2 = (r2 if r2 < S1 else r2 - S1) * S2 + csb
                        s2 = src[off2 : off2 + Lb] if r2 < S1 else tmp[off2 : off2 + Lb]
                        for d in range(Lb):
                            dv2[d] += c * s2[d]
            for o2 in range(n2):
                if ops2[o2, 0] != 1:
                    continue
                rs = ops2[o2, 1]
                cs = ops2[o2, 2]
                L = ops2[o2, 3]
                x = 0.0
                for k in range(K_):
                    row = table[u, k, 1]
                    if L > 1:
                        x += coef[table[u, k, 0], o2] * seg[row, o2]
                    else:
                        x += coef[table[u, k, 0], o2] * (src[row * S2 + cs] if row < S1 else tmp[(row - S1) * S2 + cs])
                dv[rs] += x
        return
    for u in range(S1):
        dv = dst[u * S2 : (u + 1) * S2]
        for e in range(S2):
            dv[e] = 0.0
        K_ = n_in[u]
        for o2 in range(n2):
            kind = ops2[o2, 0]
            rs = ops2[o2, 1]
            cs = ops2[o2, 2]
            L = ops2[o2, 3]
            if kind == 1:
                x = 0.0
                for k in range(K_):
                    row = table[u, k, 1]
                    if L > 1:
                        x += coef[table[u, k, 0], o2] * seg[row, o2]
                    else:
                        x += coef[table[u, k, 0], o2] * (src[row * S2 + cs] if row < S1 else tmp[(row - S1) * S2 + cs])
                dv[rs] += x
                continue
            if kind == 2:
                x = 0.0
                for k in range(K_):
                    c = coef[table[u, k, 0], o2]
                    if c != 0.0:
                        row = table[u, k, 1]
                        x += c * (src[row * S2 + cs] if row < S1 else tmp[(row - S1) * S2 + cs])
                if x != 0.0:
                    dv2 = dv[rs : rs + L]
                    for d in range(L):
                        dv2[d] += x
                continue
            dv2 = dv[rs : rs + L]
            # a band: the (at most two, for every rule kind) source rows in one pass
            k = 0
            while k < K_:
                c0 = coef[table[u, k, 0], o2]
                r0 = table[u, k, 1]
                s0 = src[r0 * S2 + cs : r0 * S2 + cs + L] if r0 < S1 else tmp[(r0 - S1) * S2 + cs : (r0 - S1) * S2 + cs + L]
                if k + 1 < K_:
                    c1 = coef[table[u, k + 1, 0], o2]
                    r1 = table[u, k + 1, 1]
                    s1 = src[r1 * S2 + cs : r1 * S2 + cs + L] if r1 < S1 else tmp[(r1 - S1) * S2 + cs : (r1 - S1) * S2 + cs + L]
                    if c0 != 0.0 and c1 != 0.0:
                        for d in range(L):
                            dv2[d] += c0 * s0[d] + c1 * s1[d]
                    elif c1 != 0.0:
                        for d in range(L):
                            dv2[d] += c1 * s1[d]
                    elif c0 != 0.0:
                        for d in range(L):
                            dv2[d] += c0 * s0[d]
                    k += 2
                else:
                    if c0 != 0.0:
                        for d in range(L):
                            dv2[d] += c0 * s0[d]
                    k += 1


def _pair_coefficients(cls: np.ndarray, coef: np.ndarray, weight: np.ndarray, i: int, out: np.ndarray) -> None:
    """``out[a, b]`` = ``sum_x weight[x, i] coef[x, cls[a, b, 0], i] coef[x, cls[a, b, 1], i]``."""
    for a in range(cls.shape[0]):
        for b in range(cls.shape[1]):
            c1 = cls[a, b, 0]
            c2 = cls[a, b, 1]
            acc = 0.0
            for x in range(weight.shape[0]):
                acc += weight[x, i] * coef[x, c1, i] * coef[x, c2, i]
            out[a, b] = acc


def counter_pair(
    b_ops2: np.ndarray, b_table: np.ndarray, b_nin: np.ndarray, b_fan1: np.ndarray, b_cls: np.ndarray,
    f_ops2: np.ndarray, f_table: np.ndarray, f_nin: np.ndarray, f_fan1: np.ndarray, f_cls: np.ndarray,
    coef: np.ndarray, weight: np.ndarray, has_q: bool, r: np.ndarray, q0: np.ndarray, stride: int, block: int, out: np.ndarray,
    past_kind: int, hx: np.ndarray, hy: np.ndarray,
) -> None:
    """:func:`counter_product` for two rules through :func:`counter_pair_step`. Frame ``i``'s
    pair coefficients are ``sum_x weight[x, i] coef[x, c1, i] coef[x, c2, i]`` (the
    probability of both ops' classes, ``(c1, c2) = cls[o1, o2]``; :func:`_pair_coefficients`),
    backward and forward. One past rule
    first (``past_kind`` 0..2, ``hx``/``hy`` as in :func:`counter_single_past`) needs no
    forward pass: its ``Q_i(t)`` is a Horner sum over the frames before ``i``."""
    n = coef.shape[2]
    bc = np.empty((b_cls.shape[0], b_cls.shape[1]))
    fc = np.empty((f_cls.shape[0], f_cls.shape[1]))
    if past_kind >= 0:
        S = q0.shape[0]
        rn = np.empty_like(r)
        btmp = np.empty(max(1, b_fan1.shape[0]) * (r.shape[0] // b_nin.shape[0]))
        bseg = np.zeros((b_nin.shape[0] + b_fan1.shape[0], b_ops2.shape[0]))
        b = S - 1
        for i in range(n - 1, -1, -1):
            _pair_coefficients(b_cls, coef, weight, i, bc)
            counter_pair_step(b_ops2, b_table, b_nin, b_fan1, bc, r, rn, btmp, bseg)
            r, rn = rn, r
            if past_kind == 2:
                tail = 0.0
                acc = 0.0
                for d in range(b, 0, -1):
                    tail += r[d * stride]
                    j = i - d + b
                    acc = hx[j] * tail + hy[j] * acc
                out[i] = r[0] + acc
            else:
                acc = r[b * stride]
                total = r[b * stride]
                for t in range(b - 1, -1, -1):
                    acc = r[t * stride] + hx[i - 1 - t + b] * acc
                    total += r[t * stride]
                out[i] = total - acc + r[0] if past_kind == 0 else acc
        return
    SR = r.shape[0]
    SQ = q0.shape[0]
    nb = (n + block - 1) // block
    ck = np.empty((nb if has_q else 1, SQ))
    qb = np.empty((block + 1 if has_q else 1, SQ))
    btmp = np.empty(max(1, b_fan1.shape[0]) * (SR // b_nin.shape[0]))
    ftmp = np.empty(max(1, f_fan1.shape[0]) * (SQ // f_nin.shape[0]))
    bseg = np.zeros((b_nin.shape[0] + b_fan1.shape[0], b_ops2.shape[0]))
    fseg = np.zeros((f_nin.shape[0] + f_fan1.shape[0], f_ops2.shape[0]))
    q = q0.copy()
    qn = q0.copy()
    if has_q:
        for k in range(nb):
            ck[k] = q
            for i in range(k * block, min(n, (k + 1) * block)):
                _pair_coefficients(f_cls, coef, weight, i, fc)
                counter_pair_step(f_ops2, f_table, f_nin, f_fan1, fc, q, qn, ftmp, fseg)
                q, qn = qn, q
    rn = np.empty(SR)
    for k in range(nb - 1, -1, -1):
        s = k * block
        e = min(n, s + block)
        if has_q:
            qb[0] = ck[k]
            for i in range(s, e - 1):
                _pair_coefficients(f_cls, coef, weight, i, fc)
                counter_pair_step(f_ops2, f_table, f_nin, f_fan1, fc, qb[i - s], qb[i - s + 1], ftmp, fseg)
        else:
            qb[0] = q0
        for i in range(e - 1, s - 1, -1):
            _pair_coefficients(b_cls, coef, weight, i, bc)
            counter_pair_step(b_ops2, b_table, b_nin, b_fan1, bc, r, rn, btmp, bseg)
            r, rn = rn, r
            qi = qb[i - s] if has_q else qb[0]
            out[i] = _strided_dot(r, stride, qi)


def counter_single_past(
    ops: np.ndarray, ranges: np.ndarray, dims: np.ndarray, coef: np.ndarray, weight: np.ndarray,
    r: np.ndarray, kind: int, hx: np.ndarray, hy: np.ndarray, out: np.ndarray,
) -> None:
    """:func:`counter_product` for one past rule (``b + 1 = len(r)`` states): the forward
    ``Q_i(t)`` is a product over the ``t`` frames before ``i``, so ``sum_t R_i(t) Q_i(t)``
    is one Horner sum over them instead of a stored forward pass. ``hx``/``hy`` are
    per-frame probabilities with ``b`` frames of padding in front (the frames before 0):
    ``kind`` 0 (``O``): ``hx = P(!q)``, 1 before 0, signal ``sum R - sum_t R(t) prod hx``;
    1 (``H``): ``hx = P(q)``, 1 before 0; 2 (``S``): ``hx = P(r)``, ``hy = P(!r & q)``, 0 before 0."""
    n = coef.shape[0]
    S = r.shape[0]
    b = S - 1
    rn = np.empty(S)
    work = np.empty((2, S))
    for i in range(n - 1, -1, -1):
        counter_step(ops, ranges, dims, coef[i], weight[i], r, rn, work)
        r, rn = rn, r
        # frame i - 1 - t sits at index i - 1 - t + b of the padded arrays
        if kind == 2:  # sum_d P(r at i-d) (sum_{t>=d} R(t)) prod_{m<d} P(!r & q at i-m)
            tail = 0.0
            acc = 0.0
            for d in range(b, 0, -1):
                tail += r[d]
                j = i - d + b
                acc = hx[j] * tail + hy[j] * acc
            out[i] = r[0] + acc
        else:  # sum_t R(t) prod_{m=1..t} hx[i-m]
            acc = r[b]
            total = r[b]
            for t in range(b - 1, -1, -1):
                acc = r[t] + hx[i - 1 - t + b] * acc
                total += r[t]
            # O: Q(0) = 1, Q(t) = 1 - prod P(!q) for t >= 1
            out[i] = total - acc + r[0] if kind == 0 else acc


# ------------------------------------------------------------------ joint counters
# k rules' counters as one array, the last rule's axis contiguous. As for a pair,
# the frame's operator is sum_{o_1..o_k} c(o_1..o_k) op_{o_1} ⊗ ... ⊗ op_{o_k}
# with c the probability of all k ops' classes at the frame (the shared atoms'
# values summed out once per frame, a few hundred multiply-adds), so the counter
# is touched once per frame, not once per value of the shared atoms. The first
# k-1 rules' ops only choose which source row (a tuple of their coordinates)
# feeds a destination row; those choices are a fixed list of (destination row,
# source row, op tuple) triples, built once. A fan-in over a range of rows reads
# a sum kept in the array itself: every axis is extended by one slot per fan-in
# range (the array is "extended"), filled after the frame's rows are written
# (:func:`joint_fans`), so a combination of fan-ins on several axes is one read.


def joint_fans(fans: np.ndarray, v: np.ndarray) -> None:
    """Fill the fan-in slots of the extended array ``v``: ``fans[f] = (A, D, B, slot,
    first, count)`` sets ``v[a, slot, :] = sum_d v[a, first + d, :]`` over ``v`` viewed as
    ``A x D x B`` (axes in order, so slots of several axes hold sums over all of them)."""
    for f in range(fans.shape[0]):
        A_ = fans[f, 0]
        D = fans[f, 1]
        B = fans[f, 2]
        slot = fans[f, 3]
        first = fans[f, 4]
        count = fans[f, 5]
        for a in range(A_):
            base = a * D * B
            if B == 1:
                sv = v[base + first : base + first + count]
                s0 = 0.0
                s1 = 0.0
                s2 = 0.0
                s3 = 0.0
                c4 = count - count % 4
                for d in range(0, c4, 4):
                    s0 += sv[d]
                    s1 += sv[d + 1]
                    s2 += sv[d + 2]
                    s3 += sv[d + 3]
                for d in range(c4, count):
                    s0 += sv[d]
                v[base + slot] = (s0 + s1) + (s2 + s3)
                continue
            dv = v[base + slot * B : base + (slot + 1) * B]
            s0 = v[base + first * B : base + (first + 1) * B]
            for e in range(B):
                dv[e] = s0[e]
            for d in range(1, count):
                sv = v[base + (first + d) * B : base + (first + d + 1) * B]
                for e in range(B):
                    dv[e] += sv[e]


def joint_spread(spread: np.ndarray, v: np.ndarray) -> None:
    """Add the fan-out slots of the extended array ``v`` into the rows they broadcast to:
    ``spread[f] = (A, D, B, slot, first, count)`` adds ``v[a, slot, :]`` to
    ``v[a, first + d, :]`` (``d < count``) over ``v`` viewed as ``A x D x B``."""
    for f in range(spread.shape[0]):
        A_ = spread[f, 0]
        D = spread[f, 1]
        B = spread[f, 2]
        slot = spread[f, 3]
        first = spread[f, 4]
        count = spread[f, 5]
        for a in range(A_):
            base = a * D * B
            sv = v[base + slot * B : base + (slot + 1) * B]
            for d in range(count):
                dv = v[base + (first + d) * B : base + (first + d + 1) * B]
                for e in range(B):
                    dv[e] += sv[e]


def counter_joint_step(
    dst_row: np.ndarray, row_start: np.ndarray, trip_src: np.ndarray, trip_oo: np.ndarray,
    ops_last: np.ndarray, spread: np.ndarray, fans: np.ndarray, coef: np.ndarray, src: np.ndarray, dst: np.ndarray,
) -> None:
    """``dst`` = the frame's joint operator applied to ``src`` (both extended, see
    :func:`joint_fans` and :func:`joint_spread`). Destination row ``g`` (offset
    ``dst_row[g]``) sums, over the triples ``row_start[g] <= t < row_start[g + 1]``, the
    last rule's ops ``ops_last[o] = (kind, row, col, length)`` applied to the source row at
    offset ``trip_src[t]`` with coefficient ``coef[trip_oo[t] + o]`` (a fan-in reads one
    slot; a fan-out's constant is summed over the triples and broadcast once per row);
    the last row of ``ops_last`` holds the last rule's number of states."""
    nl = ops_last.shape[0] - 1
    S = ops_last[nl, 0]
    acc = np.zeros(S)  # the row, built in L1 and stored once
    bacc = np.zeros(max(1, nl))  # per op: its one-entry reads, summed over the triples
    for g in range(dst_row.shape[0]):
        for e in range(S):
            acc[e] = 0.0
        for o in range(nl):
            bacc[o] = 0.0
        for t in range(row_start[g], row_start[g + 1]):
            sb = trip_src[t]
            cb = trip_oo[t]
            for o in range(nl):
                c = coef[cb + o]
                if ops_last[o, 0] == 0:
                    if c != 0.0:
                        rs = ops_last[o, 1]
                        L = ops_last[o, 3]
                        av = acc[rs : rs + L]
                        sv = src[sb + ops_last[o, 2] : sb + ops_last[o, 2] + L]
                        for d in range(L):
                            av[d] += c * sv[d]
                else:
                    bacc[o] += c * src[sb + ops_last[o, 2]]
        for o in range(nl):
            x = bacc[o]
            kind = ops_last[o, 0]
            if kind == 1:
                acc[ops_last[o, 1]] += x
            elif kind == 2 and x != 0.0:
                rs = ops_last[o, 1]
                L = ops_last[o, 3]
                av = acc[rs : rs + L]
                for d in range(L):
                    av[d] += x
        dv = dst[dst_row[g] : dst_row[g] + S]
        for e in range(S):
            dv[e] = acc[e]
    joint_spread(spread, dst)
    joint_fans(fans, dst)


def _joint_coefficients(cls: np.ndarray, nops: np.ndarray, cx: np.ndarray, w: np.ndarray, out: np.ndarray, work: np.ndarray) -> None:
    """``out[flat(o_1..o_k)]`` = ``sum_x w[x] prod_j cx[x, cls[j, o_j]]`` (last op fastest),
    one axis at a time per ``x``; ``work`` has two halves of at least ``len(out)``."""
    T = out.shape[0]
    for t in range(T):
        out[t] = 0.0
    k = nops.shape[0]
    for x in range(w.shape[0]):
        wx = w[x]
        if wx == 0.0:
            continue
        cur = 0
        nxt = T
        work[0] = wx
        size = 1
        for j in range(k):
            nj = nops[j]
            for a in range(size - 1, -1, -1):
                v = work[cur + a]
                for o in range(nj):
                    work[nxt + a * nj + o] = v * cx[x, cls[j, o]]
            size *= nj
            cur, nxt = nxt, cur
        for t in range(T):
            out[t] += work[cur + t]


def _joint_dot(r: np.ndarray, ridx: np.ndarray, q: np.ndarray, qidx: np.ndarray) -> float:
    """``sum_t r[ridx[t]] q[qidx[t]]``."""
    acc = 0.0
    for t in range(ridx.shape[0]):
        acc += r[ridx[t]] * q[qidx[t]]
    return acc


def counter_joint(
    b_row: np.ndarray, b_start: np.ndarray, b_src: np.ndarray, b_oo: np.ndarray, b_last: np.ndarray,
    b_spread: np.ndarray, b_fans: np.ndarray, b_cls: np.ndarray, b_nops: np.ndarray,
    f_row: np.ndarray, f_start: np.ndarray, f_src: np.ndarray, f_oo: np.ndarray, f_last: np.ndarray,
    f_spread: np.ndarray, f_fans: np.ndarray, f_cls: np.ndarray, f_nops: np.ndarray,
    coef: np.ndarray, weight: np.ndarray, has_q: bool, r: np.ndarray, q0: np.ndarray, ridx: np.ndarray, qidx: np.ndarray,
    block: int, out: np.ndarray,
) -> None:
    """:func:`counter_product` for any number of rules through :func:`counter_joint_step`
    (``coef[i, x, class]``, ``weight[i, x]``; ``r``, ``q0`` extended, their fan-in slots
    filled): ``out[i]`` = ``sum_t R_i[ridx[t]] Q_i[qidx[t]]`` over the past rules'
    requirements ``t``, ``Q`` kept every ``block`` frames and recomputed block by block.
    Once ``R`` is all 0s at a block boundary (long probabilistic traces: the probability
    of keeping the rules over the frames after ``i`` underflows), every earlier signal is 0
    exactly and the pass stops there."""
    n = coef.shape[0]
    SR = r.shape[0]
    SQ = q0.shape[0]
    bT = 1
    for j in range(b_nops.shape[0]):
        bT *= b_nops[j]
    fT = 1
    for j in range(f_nops.shape[0]):
        fT *= f_nops[j]
    bc = np.empty(bT)
    fc = np.empty(fT)
    work = np.empty(2 * max(bT, fT))
    nb = (n + block - 1) // block
    ck = np.empty((nb if has_q else 1, SQ))
    qb = np.empty((block + 1 if has_q else 1, SQ))
    q = q0.copy()
    qn = q0.copy()
    if has_q:
        for k in range(nb):
            ck[k] = q
            for i in range(k * block, min(n, (k + 1) * block)):
                _joint_coefficients(f_cls, f_nops, coef[i], weight[i], fc, work)
                counter_joint_step(f_row, f_start, f_src, f_oo, f_last, f_spread, f_fans, fc, q, qn)
                q, qn = qn, q
    rn = r.copy()
    for k in range(nb - 1, -1, -1):
        s = k * block
        e = min(n, s + block)
        # R is linear in R_{i+1}: once every entry is exactly 0 (the probability of
        # keeping the rules over the frames after i underflowed), so is every earlier R
        # and every earlier signal; no need to step or to rebuild the block's Q
        dead = True
        for x in range(SR):
            if r[x] != 0.0:
                dead = False
                break
        if dead:
            for i in range(0, e):
                out[i] = 0.0
            return
        if has_q:
            qb[0] = ck[k]
            for i in range(s, e - 1):
                _joint_coefficients(f_cls, f_nops, coef[i], weight[i], fc, work)
                counter_joint_step(f_row, f_start, f_src, f_oo, f_last, f_spread, f_fans, fc, qb[i - s], qb[i - s + 1])
        else:
            qb[0] = q0
        for i in range(e - 1, s - 1, -1):
            _joint_coefficients(b_cls, b_nops, coef[i], weight[i], bc, work)
            counter_joint_step(b_row, b_start, b_src, b_oo, b_last, b_spread, b_fans, bc, r, rn)
            r, rn = rn, r
            out[i] = _joint_dot(r, ridx, qb[i - s] if has_q else qb[0], qidx)


# ------------------------------------------------------------------ window counters
# One rule alone (no shared atoms): the counter's FIFO entries (requirements
# 1..b, or the time left) are sliding-window sums W_i = sum_{k=i}^{i+b-1}
# D(i..k-1) y_k with D a product of one class per frame and y_k the entry frame
# k inserts (known once frame k is processed, going backwards). Blocks of b
# frames split every window into a suffix of its block (a running sum) and a
# prefix of the next block (tabulated once per block), as in window_compose,
# and so does the dot product with the forward counter: O(1) amortized per
# frame, products and sums of non-negative numbers only (no subtraction, so no
# cancellation), whatever b.


def counter_window(
    kind: int, b: int, alpha: np.ndarray, beta: np.ndarray, gamma: np.ndarray, delta: np.ndarray,
    hq: np.ndarray, n: int, out: np.ndarray,
) -> None:
    """:func:`counter_single_past` (``kind`` 0 ``O``, 1 ``H``, 2 ``S``) and the until counter
    (``kind`` 3) of one rule with ``b >= 1``, in ``O(n)``; the arrays are padded to at least
    ``(ceil(n / b) + 1) · b`` frames (``delta``, ``hq``: 1, ``beta``: 0 past the end).

    Per frame: ``O``: ``alpha = P(q | !p)``, ``beta = P(q)``, ``gamma = P(p & !q)``,
    ``delta = P(!q)``; ``S``: ``P(!p | r)``, ``P(r)``, ``P(p & !r & q)``, ``P(!r & q)``;
    ``H``: ``P(!p)``, -, ``P(p & q)``, ``P(!p & q)``, ``hq = P(q)``; until: ``P(!p | r)``,
    ``P(p & !r & q)``, ``P(r)``, ``P(!r & q)``."""
    nb = (n + b - 1) // b
    y = np.zeros((nb + 1) * b)
    PD = np.empty(b + 1)  # next block: products of its first m deltas
    Pre = np.empty(b + 1)  # next block: its first m window terms
    DSs = np.empty(b + 1)  # this block: products of its deltas from m on
    PP = np.empty(b + 1)  # this block: products of its first m deltas (O, S) or hq (H)
    Uf = np.empty(b + 1)
    B2 = np.empty(b + 1)
    Ya = np.empty(b + 1)
    r0 = 1.0  # R_{i+1}(0) (past) or the signal at i + 1 (until)
    w = 0.0  # W_{i+1}
    for blk in range(nb - 1, -1, -1):
        g = blk * b
        g1 = g + b
        PD[0] = 1.0
        Pre[0] = 0.0
        for m in range(b):
            Pre[m + 1] = Pre[m] + PD[m] * y[g1 + m]
            PD[m + 1] = PD[m] * delta[g1 + m]
        DSs[b] = 1.0
        for m in range(b - 1, -1, -1):
            DSs[m] = delta[g + m] * DSs[m + 1]
        if kind == 0 or kind == 2:
            # pairs (L, k), L < i <= k <= L + b, weight beta_L D(L+1..k-1) y_k:
            # L before the block (Ya), both in it (Uf · suffix), k in the next (B2)
            PP[0] = 1.0
            Uf[0] = 0.0
            B2[0] = 0.0
            for m in range(b):
                PP[m + 1] = PP[m] * delta[g + m]
                Uf[m + 1] = delta[g + m] * Uf[m] + beta[g + m]
                B2[m + 1] = B2[m] + beta[g + m] * DSs[m + 1] * Pre[m + 1]
            acc = 0.0
            t = 1.0
            for m in range(b - 1, -1, -1):
                L = g - b + m
                if L >= 0:
                    acc += beta[L] * t
                    t *= delta[L]
                Ya[m] = acc
        elif kind == 1:
            # sum_k y_k D(i..k-1) Hq(k-b..i-1): PP = Hq(g..), Ya = Hq(k-b..g-1), Uf = next block
            PP[0] = 1.0
            Uf[0] = 0.0
            for m in range(b):
                PP[m + 1] = PP[m] * hq[g + m]
                Uf[m + 1] = hq[g + m] * (Uf[m] + y[g1 + m] * PD[m])
            Ya[b] = 1.0
            for m in range(b - 1, -1, -1):
                L = g - b + m
                Ya[m] = (hq[L] if L >= 0 else 1.0) * Ya[m + 1]
        suf = 0.0
        sufa = 0.0
        for i in range(min(g1, n) - 1, g - 1, -1):
            m = i - g
            d = delta[i]
            if kind == 1:
                f1 = DSs[m + 1] * PD[m] * y[i + b]
                yi = gamma[i] * (r0 + w)
                r0n = alpha[i] * r0 + d * f1
            else:
                yi = gamma[i] * r0
                r0n = alpha[i] * r0 + beta[i] * w
            y[i] = yi
            suf = yi + d * suf
            w = suf + DSs[m] * Pre[m]
            if kind == 3:
                out[i] = r0n
            elif kind == 1:
                sufa = yi * Ya[m] + d * sufa
                out[i] = r0n + PP[m] * sufa + DSs[m] * Uf[m]
            else:
                sufa = yi * Ya[m] + d * sufa
                out[i] = r0n + PP[m] * sufa + Uf[m] * suf + B2[m]
            r0 = r0n
