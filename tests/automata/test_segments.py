"""Segment modes: the linear 0/1 kernel equals the scanning kernel; the cap bounds the work."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framelogic.automata import compile, kernels, localize
from framelogic.automata.localize import DEFAULT_MAX_LENGTH, _segments
from framelogic.logic import ast as A
from framelogic.logic import parse
from framelogic.logic.passes import atom_names
from framelogic.logic.strategies import formulas, traces
from framelogic.logic.trace import TraceTable

ATOMS = ("a", "b")


def scanned(f, t, longest, max_length):
    """The segments of the scanning kernel (the behaviour before the 0/1 kernel),
    run on the 0/1 values as probabilities."""
    names = atom_names(f)
    sub = t.select(names)
    n = len(sub)
    if n == 0:
        return []
    dfa = compile(f, props=names)
    starts, ends, probs = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n)
    count = kernels.segments(
        *kernels.flat_diagram(dfa.delta), dfa.accepting, dfa.live,
        np.ascontiguousarray(sub.values), 0.5, longest, max_length or 0, starts, ends, probs, np.zeros(1, np.int64),
    )
    return [(int(starts[i]), int(ends[i])) for i in range(count)]


@given(
    formulas(ATOMS, max_depth=3, max_bound=3),
    traces(ATOMS, min_len=0, max_len=14),
    st.booleans(),
    st.sampled_from([None, 1, 2, 3, 5]),
)
def test_boolean_kernel_equals_the_scan(f, t, longest, max_length):
    found, _ = _segments(f, t, 0.5, longest=longest, max_length=max_length)
    assert [(s, e) for s, e, _ in found] == scanned(f, t, longest, max_length)
    assert all(p == 1.0 for _, _, p in found)
    if max_length is not None:
        assert all(e - s + 1 <= max_length for s, e, _ in found)


@pytest.mark.parametrize("longest", [False, True])
@pytest.mark.parametrize("max_length", [DEFAULT_MAX_LENGTH, None])
@pytest.mark.parametrize("text", ["F p", "F (p & X q)", "G[0,5] q & F p"])
def test_no_event_in_200k_frames_costs_one_pass(text, max_length, longest):
    n = 200_000
    t = TraceTable(("p", "q"), np.column_stack([np.zeros(n), np.ones(n)]))
    f = parse(text)
    found, work = _segments(f, t, 0.5, longest=longest, max_length=max_length)
    assert found == []
    # one backward pass over the automaton; the scan alone would be ~n^2/2 = 2e10
    assert work <= n * compile(f, props=atom_names(f)).n_states


def test_long_capped_segments_are_cut_at_the_cap_in_linear_work():
    n = 100_000
    t = TraceTable(("p",), np.ones((n, 1)))
    found, work = _segments(parse("G p"), t, 0.5, longest=True, max_length=30_000)
    assert [(s, e) for s, e, _ in found] == [(0, 29_999), (30_000, 59_999), (60_000, 89_999), (90_000, 99_999)]
    assert work <= 10 * n
    found, _ = _segments(parse("G p"), t, 0.5, longest=True, max_length=None)
    assert [(s, e) for s, e, _ in found] == [(0, n - 1)]


def test_probabilistic_start_without_any_chance_costs_no_scan():
    n = 3000
    t = TraceTable(("p",), np.full((n, 1), 1e-9))  # F p never reaches the threshold
    for max_length in (40, None):
        found, work = _segments(parse("F p"), t, 0.5, longest=False, max_length=max_length)
        assert found == [] and work == n  # the backward reachability pass only


def test_probabilistic_scan_work_is_bounded_by_the_cap():
    # p on the last frame: some end almost surely has p, but each single end only
    # with 0.1, so every start is scanned (as long as the cap allows)
    n = 2000
    t = TraceTable(("p",), np.full((n, 1), 0.1))
    f = A.Eventually(A.conj(A.atom("p"), A.N(A.FALSE)))
    found, work = _segments(f, t, 0.5, longest=False, max_length=40)
    assert found == [] and work <= n * 41
    found, work = _segments(f, t, 0.5, longest=False, max_length=None)
    assert found == [] and work >= n * n // 4  # the documented quadratic worst case


def test_compiled_and_plain_boolean_kernel_agree(monkeypatch):
    rng = np.random.default_rng(3)
    n = kernels.JIT_THRESHOLD + 1000
    t = TraceTable(ATOMS, (rng.random((n, 2)) < 0.3).astype(float))
    f = parse("a U (b & X b)")
    for longest in (False, True):
        jitted = _segments(f, t, 0.5, longest=longest, max_length=7)
        with monkeypatch.context() as m:
            m.setattr(kernels, "JIT_THRESHOLD", 10**9)
            plain = _segments(f, t, 0.5, longest=longest, max_length=7)
        assert jitted == plain and jitted[0]


def test_localize_default_cap_and_none():
    p = {"p": [1] * 12}
    assert [(e.start, e.end) for e in localize("G p", p, mode="longest", max_length=5)] == [(0, 4), (5, 9), (10, 11)]
    assert [(e.start, e.end) for e in localize("G p", p, mode="longest", max_length=None)] == [(0, 11)]
    assert [(e.start, e.end) for e in localize("G p", p, mode="longest")] == [(0, 11)]
    # a first match beyond the cap is no event from that start
    q = {"q": [0, 0, 0, 1]}
    assert [(e.start, e.end) for e in localize("F q", q, mode="shortest", max_length=2)] == [(2, 3), ]
