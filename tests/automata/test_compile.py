"""DFA construction against the reference semantics."""

import numpy as np
import pytest
from hypothesis import given

from framelogic.automata import compile
from framelogic.logic import ast as A
from framelogic.logic import parse, satisfaction
from framelogic.logic.errors import AutomatonTooLarge, InvalidValue
from framelogic.logic.strategies import formulas, traces


ATOMS = ("a", "b", "c")


@given(formulas(ATOMS, max_depth=4, max_bound=3), traces(ATOMS, max_len=7))
def test_acceptance_equals_reference_semantics(f, t):
    dfa = compile(f, props=ATOMS)
    assert dfa.accepts(t) == bool(satisfaction(f, t)[0])


@given(formulas(ATOMS, max_depth=4, max_bound=3), traces(ATOMS, max_len=7))
def test_monolithic_acceptance_equals_reference_semantics(f, t):
    # the reference construction (progression over all letters) that compositional compile must match
    dfa = compile(f, props=ATOMS, compose=False)
    assert dfa.accepts(t) == bool(satisfaction(f, t)[0])


@given(formulas(ATOMS, max_depth=4, max_bound=3))
def test_minimized_is_equivalent_and_no_larger(f):
    raw = compile(f, props=ATOMS, minimize=False)
    small = compile(f, props=ATOMS)
    assert small.n_states <= raw.n_states
    assert raw.equivalent(small) is None
    assert small.minimize().n_states == small.n_states


@given(formulas(ATOMS, max_depth=3, max_bound=3), formulas(ATOMS, max_depth=3, max_bound=3))
def test_equivalence_counterexamples_are_real(f, g):
    c = compile(f, props=ATOMS).equivalent(compile(g, props=ATOMS))
    if c is not None:
        assert satisfaction(f, c)[0] != satisfaction(g, c)[0]


@given(formulas(ATOMS, max_depth=3, max_bound=3), traces(ATOMS, max_len=6))
def test_complement_and_products(f, t):
    d = compile(f, props=ATOMS)
    e = compile("a U b", props=ATOMS)
    v, w = bool(satisfaction(f, t)[0]), bool(satisfaction(parse("a U b"), t)[0])
    assert (~d).accepts(t) == (not v)
    assert (d & e).accepts(t) == (v and w)
    assert (d | e).accepts(t) == (v or w)
    assert not (~d).accepts({"a": [], "b": [], "c": []})


def test_minimal_sizes_of_familiar_formulas():
    # start state + the states a textbook construction needs
    assert compile("F a").n_states == 2
    assert compile("a U b").n_states == 3
    assert compile("G (a -> F[0,1000] b)").n_states == 1003  # linear in the bound
    assert compile("false").is_empty()
    assert compile("true").example() is not None


def test_examples_and_inclusion():
    w = compile("a & X b & X X !a").example()
    assert len(w) == 3 and satisfaction(parse("a & X b & X X !a"), w)[0]
    assert compile("G a").includes(compile("G a & F b")) is None
    c = compile("G a & F b").includes(compile("G a"))
    assert c is not None and satisfaction(parse("G a"), c)[0] and not satisfaction(parse("G a & F b"), c)[0]


def test_export():
    d = compile("a U b")
    g = d.to_networkx()
    assert g.number_of_nodes() == 3
    labels = sorted(lbl for _, _, lbl in g.edges(data="label"))
    assert "b" in labels and "!a & !b" in labels
    dot = d.to_dot()
    assert dot.startswith("digraph") and "doublecircle" in dot and 'label="a & !b"' in dot
    assert repr(d).startswith("<Automaton for a U b: 3 states")


def test_size_guard_names_the_subformula():
    with pytest.raises(AutomatonTooLarge, match=r"F\[5,40\] b.*max_states=50"):
        compile("G (a -> F[5,40] b)", max_states=50)
    d, e = compile("G (a -> F[0,20] b)"), compile("G (b -> F[0,20] a)")
    with pytest.raises(AutomatonTooLarge, match="max_states=30"):
        d.product(e, lambda x, y: x and y, max_states=30)
    assert (d & e).n_states > 30
    with pytest.raises(AutomatonTooLarge, match=r"max_cells=100 transition-table entries \(26 states x 4 letters"):
        compile("G (a -> F[0,30] b)", max_cells=100)


@given(
    formulas(("a", "b"), max_depth=3, max_bound=2, operators=["!", "&", "|", "X", "N", "F", "G", "U", "R"]),
    formulas(("a", "b"), max_depth=2, max_bound=2, operators=["!", "&", "Y", "S", "O", "H"]),
    traces(("a", "b"), max_len=7),
)
def test_future_operators_under_past_operators(fut, past, t):
    # past operators over future operands keep residual obligations in memory
    for f in (A.Y(fut), A.S(fut, past), A.S(past, fut, 0, 2), A.O(fut, 1, 3), A.H(A.disj(fut, past)), A.F(A.conj(fut, A.Y(A.O(fut))))):
        assert compile(f, props=("a", "b")).accepts(t) == bool(satisfaction(f, t)[0]), f


def test_time_bounds_and_errors():
    assert compile("F[0,1s] a", fps=10).equivalent(compile("F[0,10] a")) is None
    with pytest.raises(InvalidValue, match="at most 16"):
        compile(" & ".join(f"p{i}" for i in range(17)))
