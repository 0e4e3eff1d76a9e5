"""The exact engine against the oracle and against brute-force enumeration."""


import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framelogic.automata import Evaluator, compile, evaluate
from framelogic.automata import kernels
from framelogic.logic import parse, satisfaction
from framelogic.logic.strategies import formulas, traces
from framelogic.logic.trace import TraceTable
from worlds import brute_force


ATOMS = ("a", "b", "c")


@given(formulas(ATOMS, max_depth=4, max_bound=3), traces(ATOMS, max_len=8))
def test_boolean_signal_equals_reference_at_every_frame(f, t):
    expected = satisfaction(f, t).astype(float)
    assert np.array_equal(evaluate(f, t), expected)
    assert np.array_equal(evaluate(f, t, engine="automaton"), expected)


@given(
    formulas(("a", "b"), max_depth=4, max_bound=2),
    traces(("a", "b"), min_len=1, max_len=6, probabilistic=True),
)
def test_exact_probability_equals_enumeration_of_all_worlds(f, t):
    expected = brute_force(f, t)
    assert np.allclose(evaluate(f, t), expected, atol=1e-9)
    assert np.allclose(evaluate(f, t, engine="automaton"), expected, atol=1e-9)


def test_exact_not_t_norm():
    t = {"a": [0.5, 0.3]}
    assert evaluate("a & !a", t).tolist() == [0.0, 0.0]
    assert evaluate("a | !a", t).tolist() == [1.0, 1.0]
    # LogSTOP-style independence of occurrences would give 0.5 * 0.5 here
    assert evaluate("a & a", {"a": [0.5]})[0] == 0.5


@pytest.mark.parametrize("text", ["a U b", "G (a -> F[0,3] b)", "F[2,5] (a & !b)", "a S b", "G (b -> O[0,2] a)", "F (b & Y Y a)"])
def test_compiled_loops_equal_plain_python(text, monkeypatch):
    rng = np.random.default_rng(0)
    n = 2000
    probs = {"a": rng.random(n), "b": rng.random(n)}
    bools = {k: (v > 0.5).astype(float) for k, v in probs.items()}
    for engine in ("exact", "automaton"):
        monkeypatch.setattr(kernels, "JIT_THRESHOLD", 10**9)
        plain = evaluate(text, probs, engine=engine), evaluate(text, bools, engine=engine)
        monkeypatch.setattr(kernels, "JIT_THRESHOLD", 0)
        jitted = evaluate(text, probs, engine=engine), evaluate(text, bools, engine=engine)
        assert np.allclose(plain[0], jitted[0], atol=1e-12)
        assert np.array_equal(plain[1], jitted[1])
        assert np.array_equal(jitted[1], satisfaction(parse(text), bools).astype(float))


def test_chunked_evaluation_equals_single_chunk(monkeypatch):
    rng = np.random.default_rng(1)
    t = {"a": rng.random(300), "b": rng.random(300), "c": rng.random(300)}
    for text in ["(a & b) U c", "G (a -> O[0,3] b) & F c"]:
        for engine in ("exact", "automaton"):  # the planner runs the marked pass on G (a -> O[0,3] b)
            whole = evaluate(text, t, engine=engine)
            monkeypatch.setattr("framelogic.automata.engine.CHUNK_CELLS", 64)
            assert np.allclose(evaluate(text, t, engine=engine), whole, atol=1e-12)
            monkeypatch.undo()


def test_reverse_automaton_fallback_agrees(monkeypatch):
    rng = np.random.default_rng(2)
    t = {"a": (rng.random(200) > 0.5).astype(float), "b": (rng.random(200) > 0.7).astype(float)}
    for text in ["G (a -> F[0,5] b)", "F (b & O[1,3] a)"]:
        expected = satisfaction(parse(text), t).astype(float)
        monkeypatch.setattr("framelogic.automata.engine.REVERSE_LIMIT", 1)
        ev = Evaluator(text, engine="automaton")
        assert np.array_equal(ev(t), expected)
        assert ev.program(None).reverse is None  # the fallback really ran
        monkeypatch.undo()


def test_evaluator_compiles_once_per_rate():
    ev = Evaluator("G (a -> F[0,1s] b)")
    t10 = {"time": [i / 10 for i in range(30)], "a": [1.0] + [0.0] * 29, "b": [0.0] * 10 + [1.0] + [0.0] * 19}
    t5 = {"time": [i / 5 for i in range(30)], "a": t10["a"], "b": [0.0] * 5 + [1.0] + [0.0] * 24}
    assert ev(t10)[0] == 1.0 and ev(t5)[0] == 1.0  # 10 frames at 10 fps, 5 frames at 5 fps
    assert ev(t10, fps=5)[0] == 0.0  # frame 10 is 2 s later at 5 fps
    first = ev.boolean_program(10.0)
    ev(t10)
    assert ev.boolean_program(10.0) is first and len(ev._booleans) == 2
    probs = {**t10, "b": [0.5] * 30}
    assert ev(probs)[0] == 1 - 0.5**11 and ev.plan(10.0) is ev.plan(10.0) and len(ev._plans) == 1
    assert np.array_equal(evaluate(ev, t5), ev(t5))
    assert np.array_equal(evaluate(ev, t5, engine="automaton"), ev(t5)) and len(ev._programs) == 1
    assert repr(Evaluator("a U b")) == "Evaluator('a U b')"


def test_time_bounds_and_engines():
    t = {"time": [0.0, 0.5, 1.0, 1.5], "a": [0, 0, 0, 1]}
    assert evaluate("F[0,1s] a", t).tolist() == [0.0, 1.0, 1.0, 1.0]
    assert evaluate("F[0,1s] a", t, engine="reference").tolist() == [0.0, 1.0, 1.0, 1.0]
    assert evaluate("F[0,1s] a", t, engine="automaton").tolist() == [0.0, 1.0, 1.0, 1.0]
    assert evaluate("a", {"a": []}).shape == (0,)
    assert evaluate("a U b", {"a": [], "b": []}, engine="automaton").shape == (0,)
    with pytest.raises(ValueError, match="engine='fast'"):
        evaluate("a", {"a": [1]}, engine="fast")
    with pytest.raises(ValueError, match="approx='bounds' needs engine='exact'"):
        evaluate("a", {"a": [1]}, engine="automaton", approx="bounds")


@given(st.integers(1, 40), st.data())
def test_bound_large_relative_to_trace(n, data):
    t = data.draw(traces(("a", "b"), min_len=n, max_len=n))
    f = parse("G (a -> F[0,30] b)")
    assert np.array_equal(evaluate(f, t), satisfaction(f, t).astype(float))


@given(st.integers(0, 4), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_decision_diagram_computes_every_successor(k, n_states, seed):
    rows = np.random.default_rng(seed).integers(0, n_states, size=(n_states, 1 << k))
    var, lo, hi, roots = kernels.decision_diagram(rows)
    for r in range(n_states):
        for letter in range(1 << k):
            x, last_var = roots[r], -1
            while x >= 0:
                assert var[x] > last_var  # ordered: each path tests a proposition at most once
                last_var = var[x]
                x = hi[x] if (letter >> var[x]) & 1 else lo[x]
            assert -x - 1 == rows[r, letter]
    # reduced: no node with equal children, no two nodes alike
    assert np.all(lo != hi)
    assert len(set(zip(var.tolist(), lo.tolist(), hi.tolist()))) == len(var)


def test_decision_diagram_is_small_for_typical_guards():
    d = compile("G (p -> F[0,30] (q & !r | s))")
    var, _, _, _ = kernels.decision_diagram(d.delta)
    assert d.delta.shape == (33, 16) and len(var) <= 3 * d.n_states  # vs 16 letters per state


def test_without_numba_the_loops_run_as_python_with_a_warning(monkeypatch):
    import sys

    t = {"a": np.tile([1.0, 0.0, 0.3], 10), "b": np.tile([0.0, 1.0, 0.5], 10)}
    expected = evaluate("a U b", t)
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba -> ImportError
    monkeypatch.setattr(kernels, "JIT_THRESHOLD", 0)
    kernels._jit.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="numba is not installed"):
            got = evaluate("a U b", t)
    finally:
        kernels._jit.cache_clear()
    assert np.allclose(got, expected, atol=1e-12)
