"""Bounded z3 analysis agrees with the reference semantics."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from framelogic.logic import ast as A
from framelogic.logic import parse, satisfaction
from framelogic.logic.analysis import equivalent, implies, satisfiable, valid
from framelogic.logic.strategies import formulas, traces

ATOMS = ("a", "b")


def test_examples():
    assert satisfiable(parse("F a & G !a")) is None
    w = satisfiable(parse("a U b & !b"))
    assert w is not None and satisfaction(parse("a U b & !b"), w)[0]
    assert valid(parse("G a -> F a")) is None
    assert equivalent(parse("a U b"), parse("b | (a & X (a U b))")) is None
    # On finite traces G F a and F G a both say "a at the last frame".
    assert equivalent(parse("G F a"), parse("F G a")) is None
    c = equivalent(parse("F a"), parse("G a"))
    assert c is not None and satisfaction(parse("F a"), c)[0] != satisfaction(parse("G a"), c)[0]
    assert implies(parse("G a"), parse("F a")) is None


def test_assumptions_prune_worlds():
    mutex = parse("G !(red & green)")
    assert satisfiable(parse("F (red & green)")) is not None
    assert satisfiable(parse("F (red & green)"), assume=[mutex]) is None
    w = satisfiable(parse("F red & F green"), assume=[mutex])
    assert w is not None and not np.any((w.column("red") == 1) & (w.column("green") == 1))


def test_the_bound_limits_what_is_found():
    f = parse("F[6,6] a")
    assert satisfiable(f, max_len=6) is None
    assert len(satisfiable(f, max_len=7)) == 7


@given(formulas(ATOMS, max_depth=3, max_bound=2), formulas(ATOMS, max_depth=3, max_bound=2), st.data())
def test_equivalent_agrees_with_the_evaluator(f, g, data):
    counter = equivalent(f, g, max_len=5)
    if counter is None:
        t = data.draw(traces(ATOMS, max_len=5))
        assert satisfaction(f, t)[0] == satisfaction(g, t)[0]
    else:
        assert satisfaction(f, counter)[0] != satisfaction(g, counter)[0]


@given(formulas(ATOMS, max_depth=4, max_bound=2))
def test_satisfiable_witness_really_satisfies(f):
    w = satisfiable(f, max_len=5)
    if w is not None:
        assert satisfaction(f, w)[0]
    c = valid(f, max_len=5)
    if c is not None:
        assert not satisfaction(f, c)[0]
