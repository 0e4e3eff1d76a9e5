"""Exact analysis agrees with the bounded z3 analysis and the oracle."""

import numpy as np
from hypothesis import given

from framelogic.automata import analysis as exact
from framelogic.logic import analysis as bounded
from framelogic.logic import parse, satisfaction
from framelogic.logic.strategies import formulas


ATOMS = ("a", "b")


@given(formulas(ATOMS, max_depth=3, max_bound=2))
def test_exact_and_bounded_satisfiability_agree(f):
    w = exact.satisfiable(f)
    b = bounded.satisfiable(f, max_len=6)
    if w is not None:
        assert satisfaction(f, w)[0]
        # shortest witness: the bounded search (lengths 1..6) finds one of the same length
        if len(w) <= 6:
            assert b is not None and len(b) == len(w)
    else:
        assert b is None


@given(formulas(ATOMS, max_depth=3, max_bound=2), formulas(ATOMS, max_depth=3, max_bound=2))
def test_exact_equivalence_counterexamples(f, g):
    c = exact.equivalent(f, g)
    assert bool(c) == (c.counterexample is None)
    if c:
        assert bounded.equivalent(f, g, max_len=5) is None
    else:
        assert satisfaction(f, c.counterexample)[0] != satisfaction(g, c.counterexample)[0]


def test_beyond_any_fixed_bound():
    f = parse("F[30,30] a")
    assert bounded.satisfiable(f, max_len=20) is None
    w = exact.satisfiable(f)
    assert len(w) == 31 and satisfaction(f, w)[0]


def test_invariant_assumptions_prune_letters_with_z3():
    mutex = parse("G !(red & green)")
    assert exact.satisfiable("F (red & green)", assume=[mutex]) is None
    w = exact.satisfiable("F red & F green", assume=[mutex])
    assert w is not None and not np.any((w.column("red") == 1) & (w.column("green") == 1))
    assert exact.valid("G !(red & green)", assume=[mutex])
    ok = exact.feasible_letters(("red", "green", "yellow"), [parse("!(red & green) & (yellow -> !red)")])
    assert ok.sum() == 5
    # temporal assumptions are conjoined
    assert exact.satisfiable("F a", assume=[parse("G !a")]) is None


def test_answers_are_truthy_exactly_when_the_property_holds():
    # regression (issue 10): these returned None when the property held, so bool() was inverted
    import framelogic as fl

    assert not fl.equivalent("a", "b") and fl.equivalent("G a", "!F !a")
    assert fl.valid("a | !a") and not fl.valid("a")
    assert fl.entails("G a", "F a") and not fl.entails("F a", "G a")
    no = fl.entails("F a", "G a")
    assert no.counterexample is not None and satisfaction(parse("F a & !G a"), no.counterexample)[0]
    assert fl.valid("a | !a").counterexample is None
