"""The streaming signal: streaming == offline on every prefix, values never
revised, emission exactly ``horizon`` frames late, flat memory for past bounds."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framelogic.automata.streaming import StreamingSignal
from framelogic.logic import ast as A
from framelogic.logic import parse, satisfaction
from framelogic.logic.strategies import formulas, traces

ATOMS = ("a", "b", "c")


def rows(t, names):
    cols = [t.names.index(n) for n in names]
    return [[float(r[j]) for j in cols] for r in t.values]


def check_every_prefix(f, t, early=False):
    """Feed the trace; after every push, a copy finished there gives the prefix's
    offline signal; what was emitted before equals the full trace's signal."""
    s = StreamingSignal(f, early=early)
    full = satisfaction(f, t)
    emitted: list[tuple[int, bool]] = []
    for m, row in enumerate(rows(t, s.names), start=1):
        emitted += s.push(row)
        assert [i for i, _ in emitted] == list(range(len(emitted)))  # in frame order, once each
        for i, v in emitted:
            assert v == bool(full[i]), (i, v)  # never revised by later frames
        if s.horizon is not None and not early:
            assert len(emitted) == max(m - s.horizon, 0)  # exactly `horizon` frames late
        elif s.horizon is not None:
            assert len(emitted) >= max(m - s.horizon, 0)  # at most `horizon` frames late
        done = s.copy()
        rest = done.finish()
        prefix = satisfaction(f, t.slice(0, m))
        assert [v for _, v in emitted + rest] == [bool(x) for x in prefix]
    emitted += s.finish()
    assert [v for _, v in emitted] == [bool(x) for x in full]


def wide_bounds(max_bound):
    @st.composite
    def build(draw):
        lo = draw(st.integers(0, max_bound))
        hi = draw(st.one_of(st.none(), st.integers(lo, max_bound)))
        return A.Bound(lo, hi)

    return st.one_of(st.just(A.UNBOUNDED), build())


def mixed_formulas(max_bound, depth=3):
    """Past and future operators mixed, bounds up to ``max_bound`` (far past the trace)."""
    leaf = st.one_of(st.sampled_from([A.atom(a) for a in ATOMS]), st.sampled_from([A.TRUE, A.FALSE]))
    unary = {
        "!": lambda a, b: A.neg(a), "X": lambda a, b: A.X(a), "N": lambda a, b: A.N(a),
        "Y": lambda a, b: A.Y(a),
        "F": lambda a, b: A.temporal(A.Eventually, a, bound=b), "G": lambda a, b: A.temporal(A.Always, a, bound=b),
        "O": lambda a, b: A.temporal(A.Once, a, bound=b), "H": lambda a, b: A.temporal(A.Historically, a, bound=b),
    }  # fmt: skip
    binary = {
        "&": lambda a, c, b: A.conj(a, c), "|": lambda a, c, b: A.disj(a, c),
        "->": lambda a, c, b: A.implies(a, c), "<->": lambda a, c, b: A.iff(a, c),
        "U": lambda a, c, b: A.temporal(A.Until, a, c, bound=b), "R": lambda a, c, b: A.temporal(A.Release, a, c, bound=b),
        "W": lambda a, c, b: A.temporal(A.WeakUntil, a, c, bound=b),
        "M": lambda a, c, b: A.temporal(A.StrongRelease, a, c, bound=b),
        "S": lambda a, c, b: A.temporal(A.Since, a, c, bound=b),
    }  # fmt: skip

    def extend(sub):
        return st.one_of(
            st.builds(lambda op, a, b: unary[op](a, b), st.sampled_from(sorted(unary)), sub, wide_bounds(max_bound)),
            st.builds(lambda op, a, c, b: binary[op](a, c, b), st.sampled_from(sorted(binary)), sub, sub, wide_bounds(max_bound)),
        )

    return st.recursive(leaf, extend, max_leaves=6)


@given(formulas(ATOMS, max_depth=4, max_bound=3), traces(ATOMS, max_len=9))
def test_streaming_equals_offline_on_every_prefix(f, t):
    check_every_prefix(f, t)


@given(mixed_formulas(max_bound=90), traces(ATOMS, max_len=9))
def test_streaming_equals_offline_with_bounds_far_beyond_the_trace(f, t):
    check_every_prefix(f, t)


@given(mixed_formulas(max_bound=6), traces(ATOMS, min_len=5, max_len=25))
def test_streaming_equals_offline_on_longer_traces(f, t):
    check_every_prefix(f, t)


@given(st.one_of(formulas(ATOMS, max_depth=4, max_bound=3), mixed_formulas(max_bound=12)), traces(ATOMS, max_len=20))
def test_early_decisions_equal_offline_on_every_prefix(f, t):
    check_every_prefix(f, t, early=True)


@st.composite
def untils_with_lagging_operands(draw):
    """``U``-family operators whose operands are known at different delays (one side
    looks ahead), where early decisions must wait for the slower side."""
    def operand(wraps):
        a = A.atom(draw(st.sampled_from(ATOMS)))
        k = draw(st.integers(2, 4))  # lags of 2+ frames: the interesting case
        wrap = draw(st.sampled_from(wraps))
        if wrap == "X":
            return A.X(a)
        if wrap == "XX":
            return A.X(A.X(a))
        if wrap == "N":
            return A.N(a)
        if wrap == "F":
            return A.F(a, 0, k)
        if wrap == "G":
            return A.G(a, 0, k)
        return a

    cls = draw(st.sampled_from([A.Until, A.Release, A.WeakUntil, A.StrongRelease]))
    slow, fast = operand(["F", "G", "XX"]), operand(["", "X", "N"])
    left, right = (slow, fast) if draw(st.booleans()) else (fast, slow)
    lo = draw(st.integers(0, 3))
    f = A.temporal(cls, left, right, bound=A.Bound(lo, draw(st.integers(lo, 8))))
    return draw(st.sampled_from([f, A.neg(f), A.temporal(A.Eventually, f, bound=A.Bound(0, 3)), A.Y(f)]))


@given(untils_with_lagging_operands(), traces(ATOMS, max_len=20))
def test_early_decisions_wait_for_the_slower_operand(f, t):
    check_every_prefix(f, t, early=True)


def test_early_decisions_come_with_the_witness():
    s = StreamingSignal("F[0,100] (a & F[0,10] b)", early=True)
    assert s.push([1, 0]) == [] and s.push([0, 0]) == []
    assert s.push([0, 1]) == [(0, True)]  # frame 1 waits: a may still come within its window
    s = StreamingSignal("G[0,100] a", early=True)
    assert s.push([1]) == [] and s.push([0]) == [(0, False), (1, False)]


def test_past_only_formulas_emit_each_frame_immediately():
    s = StreamingSignal("H (stopped -> O[0,30] red) & (a S[2,5] b)")
    assert s.horizon == 0
    rng = np.random.default_rng(0)
    for i in range(50):
        out = s.push({n: int(rng.random() < 0.5) for n in s.names})
        assert [j for j, _ in out] == [i]


def test_horizon_adds_nested_lookahead():
    assert StreamingSignal("F[0,10] (a & X F[2,5] b)").horizon == 16
    assert StreamingSignal("G (a -> F[0,3] b)").horizon is None
    assert StreamingSignal("Y X X a").horizon == 1
    assert StreamingSignal(parse("F[0,1s] a"), fps=30).horizon == 30


def test_unbounded_operators_decide_runs_as_soon_as_a_witness_comes():
    s = StreamingSignal("F a")
    assert s.push([0]) == [] and s.push([0]) == []
    assert s.push([1]) == [(0, True), (1, True), (2, True)]
    s = StreamingSignal("G (a -> F[0,2] b)")
    out = []
    for row in ([1, 0], [0, 0], [0, 0], [0, 1]):
        out += s.push(row)
    assert out == [(0, False)]  # the first frame's obligation expired at frame 2


@pytest.mark.parametrize("text", ["O[0,{B}] a", "H[0,{B}] a", "b S[0,{B}] a", "O[{B},inf] a", "H a", "Y a"])
def test_past_operators_keep_constant_state_whatever_the_bound(text):
    sizes = []
    rng = np.random.default_rng(1)
    values = (rng.random((3000, 2)) < 0.5).astype(int)
    for bound in (10, 1000, 100_000):
        s = StreamingSignal(text.format(B=bound))
        biggest = 0
        for row in values:
            s.push({"a": row[0], "b": row[1]})
            biggest = max(biggest, max(size for _, size in s.state_sizes()))
        sizes.append(biggest)
    assert max(sizes) <= 4, sizes


def test_delayed_past_windows_keep_one_interval_per_gap():
    # O[lo,hi] must remember which of the last lo frames opened a window; merged
    # intervals cost one entry per run of such frames, not one per frame.
    s = StreamingSignal("O[1000,2000] a")
    for i in range(5000):
        s.push([int((i // 300) % 2 == 0)])  # runs of 300 frames
    assert max(size for _, size in s.state_sizes()) <= 2 * 3


def test_bounded_future_state_stays_within_the_window():
    s = StreamingSignal("G (red -> F[0,90] stopped)")
    rng = np.random.default_rng(2)
    for _ in range(2000):
        s.push([int(rng.random() < 0.3), int(rng.random() < 0.02)])
        assert sum(size for _, size in s.state_sizes()) <= 3 * 92  # ring buffers, never the stream


def test_bad_rows_are_reported():
    s = StreamingSignal("a U b")
    with pytest.raises(Exception, match="not 0 or 1"):
        s.push([0.5, 1])
    with pytest.raises(Exception, match="no value for 'b'"):
        s.push({"a": 1})
    with pytest.raises(Exception, match="expected one per name"):
        s.push([1])
    s.finish()
    with pytest.raises(Exception, match="after finish"):
        s.push([1, 1])
    s.reset()
    assert s.push([0, 1]) == [(0, True)]
