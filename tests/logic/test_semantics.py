"""Reference semantics: worked examples and the algebraic laws of LTLf."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framelogic.logic import ast as A
from framelogic.logic import desugar, nnf, parse, satisfaction, substitute
from framelogic.logic.errors import TraceError, UnknownRateError
from framelogic.logic.strategies import formulas, traces
from framelogic.logic.trace import as_trace

ATOMS = ("a", "b", "c")


def sat(text, **cols):
    return satisfaction(parse(text), cols).astype(int).tolist()


def test_worked_examples():
    a = [1, 1, 0, 1, 0]
    b = [0, 0, 1, 0, 0]
    assert sat("a U b", a=a, b=b) == [1, 1, 1, 0, 0]
    assert sat("X a", a=a) == [1, 0, 1, 0, 0]
    assert sat("N a", a=a) == [1, 0, 1, 0, 1]
    assert sat("Y a", a=a) == [0, 1, 1, 0, 1]
    assert sat("F b", b=b) == [1, 1, 1, 0, 0]
    assert sat("G a", a=[0, 1, 1]) == [0, 1, 1]
    assert sat("F[1,2] b", b=b) == [1, 1, 0, 0, 0]
    assert sat("G[1,2] a", a=a) == [0, 0, 0, 0, 1]  # vacuous at the last frame
    assert sat("O b", b=b) == [0, 0, 1, 1, 1]
    assert sat("H a", a=a) == [1, 1, 0, 0, 0]
    assert sat("a S b", a=a, b=b) == [0, 0, 1, 1, 0]
    assert sat("O[1,2] b", b=b) == [0, 0, 0, 1, 1]
    assert sat("a R b", a=[0, 0, 1, 0], b=[1, 1, 1, 0]) == [1, 1, 1, 0]
    assert sat("a W b", a=[1, 1, 1], b=[0, 0, 0]) == [1, 1, 1]
    assert sat("a M b", a=[0, 1, 0], b=[1, 1, 0]) == [1, 1, 0]


def test_time_bounds_need_a_rate():
    cols = {"a": np.array([0, 0, 1.0])}
    with pytest.raises(UnknownRateError, match="fps"):
        satisfaction(parse("F[0,1s] a"), cols)
    assert satisfaction(parse("F[0,1s] a"), cols, fps=1).tolist() == [False, True, True]
    assert satisfaction(parse("F[0,1s] a"), cols, fps=2).tolist() == [True, True, True]
    timed = as_trace({"time": [0.0, 0.5, 1.0], "a": [0, 0, 1]})
    assert satisfaction(parse("F[0,500ms] a"), timed).tolist() == [False, True, True]


def test_probabilities_are_refused_by_the_oracle():
    with pytest.raises(TraceError, match="boolean"):
        satisfaction(parse("a"), {"a": [0.5]})


def equal_on(f, g, t):
    return np.array_equal(satisfaction(f, t), satisfaction(g, t))


@given(formulas(ATOMS), traces(ATOMS))
def test_desugared_formula_is_equivalent(f, t):
    assert equal_on(f, desugar(f), t)


@given(formulas(ATOMS), traces(ATOMS))
def test_nnf_is_equivalent(f, t):
    assert equal_on(f, nnf(f), t)


@given(formulas(ATOMS, max_depth=3), traces(ATOMS))
def test_dualities(f, t):
    g = A.atom("b")
    law_pairs = [
        (A.G(f), A.neg(A.F(A.neg(f)))),
        (A.R(f, g), A.neg(A.U(A.neg(f), A.neg(g)))),
        (A.O(f), A.S(A.TRUE, f)),
        (A.H(f), A.neg(A.O(A.neg(f)))),
        (A.N(f), A.neg(A.X(A.neg(f)))),
        (A.W(f, g), A.R(g, A.disj(g, f))),
        (A.M(f, g), A.U(g, A.conj(f, g))),
    ]
    for lhs, rhs in law_pairs:
        assert equal_on(lhs, rhs, t), (lhs, rhs)


@given(formulas(ATOMS, max_depth=3), formulas(ATOMS, max_depth=3), traces(ATOMS))
def test_expansion_laws(f, g, t):
    assert equal_on(A.U(f, g), A.disj(g, A.conj(f, A.X(A.U(f, g)))), t)
    assert equal_on(A.S(f, g), A.disj(g, A.conj(f, A.Y(A.S(f, g)))), t)
    assert equal_on(A.F(f), A.disj(f, A.X(A.F(f))), t)
    assert equal_on(A.G(f), A.conj(f, A.N(A.G(f))), t)


@given(formulas(ATOMS, max_depth=3), st.integers(0, 4), traces(ATOMS, max_len=10))
def test_bounded_and_unbounded_agree(f, lo, t):
    assert equal_on(A.F(f, 0, None), A.F(f), t)
    assert equal_on(A.G(f, 0, len(t)), A.G(f), t)  # a bound past the end is no bound
    assert equal_on(A.O(f, 0, None), A.O(f), t)
    # F[lo,hi] is lo nexts then F[0,hi-lo]
    nested = A.F(f, 0, 2)
    for _ in range(lo):
        nested = A.X(nested)
    assert equal_on(A.F(f, lo, lo + 2), nested, t)


@given(formulas(ATOMS, max_depth=3), traces(ATOMS))
def test_substitution_agrees_with_renaming_columns(f, t):
    g = substitute(f, {"a": A.atom("c"), "b": A.atom("a"), "c": A.atom("b")})
    renamed = {"c": t.column("a"), "a": t.column("b"), "b": t.column("c")}
    assert np.array_equal(satisfaction(f, t), satisfaction(g, renamed))
