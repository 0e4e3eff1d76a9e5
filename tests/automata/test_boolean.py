"""The compositional boolean evaluator against the reference semantics."""

import doctest

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framelogic.automata import boolean
from framelogic.automata.boolean import BooleanProgram, boolean_signal
from framelogic.logic import ast as A
from framelogic.logic import parse, satisfaction
from framelogic.logic.errors import InvalidArgument, InvalidValue, TraceError
from framelogic.logic.strategies import formulas, traces
from framelogic.logic.trace import TraceTable

ATOMS = ("a", "b", "c")


def signal(f, t):
    prog = BooleanProgram(f)
    return prog(t.select(prog.names).values)


# ----------------------------------------------------------------- local strategies
# The shared strategy keeps bounds small; these reach far past the trace's end
# (up to ~10x its length and 10**9), mix past and future, and use the raw node
# constructors too, so unnormalized shapes (true U a, !!a, 3-way and) occur.

HUGE = 10**9


@st.composite
def wide_bounds(draw):
    lo = draw(st.one_of(st.integers(0, 5), st.integers(0, 400), st.just(HUGE)))
    hi = draw(st.one_of(st.none(), st.integers(lo, min(lo + 6, HUGE)), st.integers(lo, max(lo, 400)), st.just(HUGE)))
    return A.Bound(lo, hi)


bound_st = st.one_of(st.just(A.UNBOUNDED), wide_bounds())
leaf = st.one_of(st.sampled_from([A.atom(a) for a in ATOMS]), st.sampled_from([A.TRUE, A.FALSE]))
UNARY = [A.Not, A.Next, A.WeakNext, A.Prev]
BOUNDED_UNARY = [A.Eventually, A.Always, A.Once, A.Historically]
BINARY = [A.Implies, A.Iff]
BOUNDED_BINARY = [A.Until, A.Release, A.WeakUntil, A.StrongRelease, A.Since]


def extend(sub):
    return st.one_of(
        st.builds(lambda cls, a: cls(a), st.sampled_from(UNARY), sub),
        st.builds(lambda cls, a, b: cls(a, b), st.sampled_from(BOUNDED_UNARY), sub, bound_st),
        st.builds(lambda cls, a, b: cls(a, b), st.sampled_from(BINARY), sub, sub),
        st.builds(lambda cls, a, c, b: cls(a, c, b), st.sampled_from(BOUNDED_BINARY), sub, sub, bound_st),
        st.builds(lambda cls, xs: cls(tuple(xs)), st.sampled_from([A.And, A.Or]), st.lists(sub, min_size=2, max_size=3)),
    )


raw_formulas = st.recursive(leaf, extend, max_leaves=8)


@st.composite
def bool_traces(draw, max_len=40):
    n = draw(st.integers(0, max_len))
    density = draw(st.sampled_from([0.1, 0.5, 0.9]))
    seed = draw(st.integers(0, 2**32 - 1))
    values = (np.random.default_rng(seed).random((n, len(ATOMS))) < density).astype(float)
    return TraceTable(ATOMS, values)


# ----------------------------------------------------------------- properties


@given(formulas(ATOMS, max_depth=4, max_bound=6), traces(ATOMS, min_len=0, max_len=12))
def test_equals_reference_on_shared_strategy(f, t):
    assert np.array_equal(signal(f, t), satisfaction(f, t))


@given(raw_formulas, bool_traces())
def test_equals_reference_with_bounds_past_the_trace(f, t):
    assert np.array_equal(signal(f, t), satisfaction(f, t))


@given(
    formulas(ATOMS, max_depth=3, operators=["!", "&", "U", "S", "W", "M", "R", "F", "G", "O", "H"], max_bound=3),
    bool_traces(),
    st.sampled_from([1, 4, 10, 30]),
    st.data(),
)
def test_time_bounds_resolved_with_fps(f, t, fps, data):
    # rebuild the outermost bounded node with a bound in seconds
    lo = data.draw(st.sampled_from([0, 0.25, 0.5, 1.0]))
    hi = data.draw(st.sampled_from([None, 1.0, 2.0, 5.0]))
    g = A.Eventually(f, A.Bound(lo, hi, "s")) if data.draw(st.booleans()) else A.Since(f, A.atom("a"), A.Bound(lo, hi, "s"))
    t = TraceTable(t.names, t.values, None, fps)
    assert np.array_equal(boolean_signal(g, t), satisfaction(g, t))


@given(raw_formulas, bool_traces(max_len=12))
def test_bool_int_and_float_inputs_agree(f, t):
    prog = BooleanProgram(f)
    v = t.select(prog.names).values
    out = prog(v)
    assert out.dtype == bool and out.shape == (len(t),)
    assert np.array_equal(prog(v.astype(bool)), out)
    assert np.array_equal(prog(v.astype(np.int8)), out)


# Long traces run the numba-compiled passes, short ones (and all without numba) the
# numpy path; the same passes as plain Python (what numba compiles) must agree too.
PATHS = {
    "compiled": lambda prog, v: prog._call_compiled(v, boolean._loops()),
    "plain passes": lambda prog, v: prog._call_compiled(v, boolean._LOOPS),
    "numpy": lambda prog, v: prog._call_numpy(v),
}


@pytest.mark.parametrize("path", sorted(PATHS))
@given(f=raw_formulas, t=bool_traces(max_len=25))
def test_every_path_equals_reference(path, f, t):
    prog = BooleanProgram(f)
    v = t.select(prog.names).values
    out = PATHS[path](prog, v)
    assert out.dtype == bool and out.shape == (len(t),)
    assert np.array_equal(out, satisfaction(f, t))
    assert np.array_equal(PATHS[path](prog, v.astype(bool)), out)


@pytest.mark.parametrize("path", sorted(PATHS))
def test_every_path_rejects_non_boolean_values(path):
    prog = BooleanProgram(parse("a U b"))
    for bad in (0.5, 2.0, np.nan, -1.0):
        v = np.zeros((4, 2))
        v[2, 1] = bad
        with pytest.raises(TraceError, match="of 'b' at frame 2 is not 0 or 1"):
            PATHS[path](prog, v)


@pytest.mark.parametrize("numba", [True, False])
@given(f=raw_formulas, t=bool_traces(max_len=20), bad=st.sampled_from([0.5, 2.0, -1.0, np.nan, 1e-9]), data=st.data())
def test_signal_is_the_float_signal_or_none(numba, f, t, bad, data):
    with pytest.MonkeyPatch.context() as mp:
        if numba:  # the compiled passes however short the trace
            mp.setattr(boolean, "COMPILED_FRAMES", 0)
        else:  # the numpy path
            mp.setattr(boolean, "_loops", lambda: None)
        _check_signal(f, t, bad, data)


def _check_signal(f, t, bad, data):
    prog = BooleanProgram(f)
    v = t.select(prog.names).values
    out = prog.signal(v)
    assert out.dtype == np.float64 and np.array_equal(out, satisfaction(f, t).astype(float))
    if v.size:  # one entry that is not 0 or 1 anywhere: the caller's probabilistic path
        i = data.draw(st.integers(0, v.shape[0] - 1))
        j = data.draw(st.integers(0, v.shape[1] - 1))
        w = v.copy()
        w[i, j] = bad
        assert prog.signal(w) is None


def test_long_traces_run_the_compiled_passes_and_agree_with_numpy():
    rng = np.random.default_rng(3)
    n = boolean.COMPILED_FRAMES
    v = np.repeat(rng.random((n // 20, 3)) < 0.4, 20, axis=0)  # runs, as in video
    for text in ["G (a -> F[0,30] b) & H (c -> O[0,9] a)", "a U[2,40] b", "!(b W[0,25] c) | (a M[3,7] c)", "c S[5,60] a"]:
        prog = BooleanProgram(parse(text))
        cols = v[:, [ATOMS.index(x) for x in prog.names]]
        assert boolean._loops_for(cols) is not None
        assert np.array_equal(prog(cols), prog._call_numpy(cols))
        assert np.array_equal(prog.signal(cols.astype(float)), prog._call_numpy(cols).astype(float))
    assert boolean._loops_for(v[: n - 1]) is None


def test_work_rows_are_reused():
    # 5 rules of 3 passes each (F, ->, G): a rule's F and -> rows are free again once
    # its G is done, so 4 G rows wait for the final & while the 5th rule runs in 2 more
    f = parse(" & ".join(f"G (a{i} -> F[0,9] b{i})" for i in range(5)))
    prog = BooleanProgram(f)
    slots, n_rows = boolean._allocate(prog._steps, prog._last_use)
    assert n_rows == 6
    assert slots[-1] == -1 and all(slots[k] == -1 for k, s in enumerate(prog._steps) if s.op == "atom")


# ----------------------------------------------------------------- examples


@pytest.mark.parametrize(
    "text, trace, expected",
    [
        # the README's semantics table, one row at a time
        ("X a", {"a": [0, 1, 1]}, [1, 1, 0]),
        ("N a", {"a": [0, 1, 0]}, [1, 0, 1]),
        ("Y a", {"a": [1, 1, 0]}, [0, 1, 1]),
        ("F[1,2] a", {"a": [0, 0, 1, 0, 0]}, [1, 1, 0, 0, 0]),
        ("G[1,2] a", {"a": [0, 1, 1, 0, 1]}, [1, 0, 0, 1, 1]),  # empty window at the end: true
        ("a U b", {"a": [0, 1, 1, 0, 0], "b": [0, 0, 0, 1, 0]}, [0, 1, 1, 1, 0]),
        ("a U[1,2] b", {"a": [1, 1, 1, 1], "b": [1, 0, 0, 1]}, [0, 1, 1, 0]),
        ("a R b", {"a": [0, 1, 0, 0], "b": [1, 1, 1, 0]}, [1, 1, 0, 0]),
        ("a W b", {"a": [1, 1, 0, 1], "b": [0, 0, 1, 0]}, [1, 1, 1, 1]),
        ("a W b", {"a": [1, 0, 1], "b": [0, 0, 0]}, [0, 0, 1]),
        ("a M b", {"a": [0, 1, 0], "b": [1, 1, 1]}, [1, 1, 0]),
        ("O[1,2] a", {"a": [1, 0, 0, 0, 1]}, [0, 1, 1, 0, 0]),
        ("H[1,2] a", {"a": [0, 1, 1, 0, 1]}, [1, 0, 0, 1, 0]),  # frame 0: empty window
        ("a S b", {"a": [0, 1, 1, 0, 1], "b": [1, 0, 0, 0, 0]}, [1, 1, 1, 0, 0]),
        ("a S[1,1] b", {"a": [1, 1, 0], "b": [1, 1, 0]}, [0, 1, 0]),
        ("G (a -> F[0,2] b)", {"a": [1, 0, 1, 0, 0], "b": [0, 1, 0, 0, 1]}, [1, 1, 1, 1, 1]),
        ("G (a -> F[0,1] b)", {"a": [1, 0, 1, 0, 0], "b": [0, 1, 0, 0, 1]}, [0, 0, 0, 1, 1]),
    ],
)
def test_semantics_table_examples(text, trace, expected):
    f = parse(text)
    assert boolean_signal(f, trace).astype(int).tolist() == expected
    assert satisfaction(f, trace).astype(int).tolist() == expected


@pytest.mark.parametrize("text", ["a", "true", "false", "!a", "a U b", "G[2,5] a", "a S[0,3] b", "X a", "Y a", "N a"])
def test_empty_trace_gives_empty_signal(text):
    prog = BooleanProgram(parse(text))
    out = prog(np.zeros((0, len(prog.names))))
    assert out.dtype == bool and out.shape == (0,)


def test_bound_of_a_billion_frames_is_cheap_and_exact():
    rng = np.random.default_rng(1)
    short = {name: (rng.random(300) < 0.3).astype(float) for name in ATOMS}
    parts = ["G (a -> F[0,1000000000] b)", "c S[3,1000000000] a", "a U[1000000000,1000000000] b", "H[2,1000000000] !c"]
    for f in [*map(parse, parts), A.And(tuple(map(parse, parts)))]:
        assert np.array_equal(boolean_signal(f, short), satisfaction(f, short))
    # on a long trace, [0, 10**9] is the same as no bound at all
    long = {name: (rng.random(200_000) < 0.01).astype(float) for name in ATOMS}
    for text in ["F[0,1000000000] a", "a U[0,1000000000] b", "O[0,1000000000] a", "a R[0,1000000000] b"]:
        unbounded = text.replace("[0,1000000000]", "")
        assert np.array_equal(boolean_signal(parse(text), long), boolean_signal(parse(unbounded), long))


def test_long_trace_matches_reference_on_a_prefix_free_formula():
    # a window far smaller than the trace: shifting index arithmetic is exercised
    rng = np.random.default_rng(2)
    t = {name: (rng.random(3000) < 0.2).astype(float) for name in ATOMS}
    parts = ["G (a -> F[5,40] b)", "b S[2,30] c", "a W[3,50] c", "b M[0,7] a", "H[1,9] a", "Y X N a"]
    for f in [*map(parse, parts), A.Or(tuple(map(parse, parts)))]:
        assert np.array_equal(boolean_signal(f, t), satisfaction(f, t))


def test_shared_subformulas_are_evaluated_once():
    f = A.disj(parse("F[0,5] a & b"), parse("F[0,5] a & c"), parse("G F[0,5] a"))
    prog = BooleanProgram(f)
    assert prog.size == 8  # a, F, b, &, c, &, G, |


def test_names_are_the_formula_atoms_in_order():
    assert BooleanProgram(parse("b U (a & c)")).names == ("b", "a", "c")


def test_output_does_not_alias_the_input():
    prog = BooleanProgram(parse("a"))
    v = np.array([[True], [False]])
    out = prog(v)
    out[:] = False
    assert v[0, 0]


def test_bad_inputs_raise_framelogic_errors():
    prog = BooleanProgram(parse("a U b"))
    with pytest.raises(TraceError, match="not 0 or 1"):
        prog(np.array([[0.0, 0.5]]))
    with pytest.raises(TraceError, match="shape"):
        prog(np.zeros((3, 3)))
    with pytest.raises(TraceError, match="shape"):
        prog(np.zeros(3))
    with pytest.raises(InvalidValue, match="resolve_time"):
        BooleanProgram(parse("F[0,2s] a"))
    with pytest.raises(InvalidArgument):
        BooleanProgram("a U b")
    with pytest.raises(TraceError, match="missing"):
        boolean_signal(parse("a U b"), {"a": [1, 0]})


def test_docstring_examples():
    assert doctest.testmod(boolean, optionflags=doctest.ELLIPSIS).failed == 0
