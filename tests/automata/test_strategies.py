"""framelogic.testing: traces generated from automata satisfy / violate their formula."""

import pytest
from hypothesis import find, given
from hypothesis import strategies as st

from framelogic.logic import parse, satisfaction
from framelogic.logic.errors import InvalidValue
from framelogic.logic.strategies import formulas
from framelogic.testing import assert_holds, assert_violates, satisfying_traces, violating_traces

ATOMS = ("a", "b")


@given(formulas(ATOMS, max_depth=3, max_bound=2), st.data())
def test_generated_traces_satisfy_or_violate(f, data):
    for make, want in ((satisfying_traces, True), (violating_traces, False)):
        try:
            strat = make(f, atoms=ATOMS, max_len=8)
        except InvalidValue:
            continue  # unsatisfiable (or valid) within 8 frames
        t = data.draw(strat)
        assert bool(satisfaction(f, t)[0]) == want


def test_rare_behaviour_is_reached():
    spec = "G (red -> F[0,30] stopped) & F red & F green"
    t = find(satisfying_traces(spec, min_len=200, max_len=200), lambda t: True)
    assert len(t) == 200 and satisfaction(parse(spec), t)[0]


def test_shrinking_reaches_minimal_examples():
    t = find(satisfying_traces("F[3,3] a", max_len=10), lambda t: True)
    assert t.values.tolist() == [[0.0], [0.0], [0.0], [1.0]]
    t = find(violating_traces("G (a -> X b)", max_len=10), lambda t: True)
    assert t.values.tolist() == [[1.0, 0.0]]  # shortest: a on the last frame
    t = find(satisfying_traces("F (a & b)", max_len=6), lambda t: t.values.shape[0] >= 3)
    assert t.values.sum() == 2  # quiet frames, then the one frame with both


def test_unsatisfiable_and_valid_raise_clear_errors():
    with pytest.raises(InvalidValue, match="ruled out"):
        satisfying_traces("F a & G !a")
    with pytest.raises(InvalidValue, match="ruled out"):
        violating_traces("a | !a")
    with pytest.raises(InvalidValue, match="widen"):
        satisfying_traces("F[10,10] a", max_len=5)


def test_assertions_explain_failures():
    assert_holds("G (red -> F[0,2] stopped)", {"red": [1, 0, 0], "stopped": [0, 1, 0]})
    with pytest.raises(AssertionError) as info:
        assert_holds("G (red -> F[0,1] stopped)", {"red": [0, 1, 0, 0], "stopped": [0, 0, 0, 1]})
    msg = str(info.value)
    assert "is violated" in msg and "decided at frame 2: violated" in msg and ">    2" in msg
    assert_violates("F stopped", {"stopped": [0, 0]})
    with pytest.raises(AssertionError, match="holds"):
        assert_violates("F stopped", {"stopped": [0, 1]})
