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


# ----------------------------------------------------------------- shortcuts of the compositional construction

from hypothesis import event  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from framelogic.automata import Automaton  # noqa: E402
from framelogic.automata import dfa as D  # noqa: E402
from framelogic.automata.compile import _AND, _OR, _Composer, _shape, tensor_product  # noqa: E402
from framelogic.automata.construct import Budget  # noqa: E402
from framelogic.logic.passes import atom_names, substitute  # noqa: E402


def canonical(d: Automaton) -> Automaton:
    return D.minimal(d)  # minimal, states in BFS order


def same(x: Automaton, y: Automaton) -> None:
    assert x.atoms == y.atoms and x.initial == y.initial == 0
    assert np.array_equal(x.delta, y.delta) and np.array_equal(x.accepting, y.accepting)


@given(
    formulas(("a", "b"), max_depth=3, max_bound=2),
    formulas(("c", "d"), max_depth=3, max_bound=2),
    st.sampled_from(["and", "or"]),
    st.permutations(("a", "b", "c", "d")),
)
def test_tensor_product_equals_generic_product_and_minimization(f, g, op, order):
    x, y = compile(f, props=("a", "b")), compile(g, props=("c", "d"))
    table = _AND if op == "and" else _OR
    atoms = tuple(order)
    got = tensor_product(x, y, table, atoms, Budget(), A.conj(f, g))
    want = canonical(x.product(y, lambda p, q: bool(table[int(p), int(q)]), atoms=atoms))
    event("tensor product applies" if got is not None else "generic product")
    if got is not None:  # it claims its reachable part is minimal, numbered in BFS order
        same(got, want)


def test_tensor_product_applies_to_independent_rules():
    x, y = compile("F a & F b"), compile("F c")
    got = tensor_product(x, y, _AND, ("a", "b", "c"), Budget(), A.conj(x.formula, y.formula))
    assert got is not None and got.n_states == x.n_states * y.n_states
    same(got, compile("F a & F b & F c"))
    assert tensor_product(compile("G a"), compile("G c"), _AND, ("a", "c"), Budget(), A.TRUE) is None  # rejecting sinks


@given(formulas(ATOMS, max_depth=4, max_bound=3), st.permutations(("x", "y", "z")))
def test_shape_cache_gives_the_freshly_built_automaton(f, renamed):
    names = ("a", "b", "c", "x", "y", "z")
    g = substitute(f, dict(zip(ATOMS, renamed)))
    shared = _Composer(names, Budget())
    shared.dfa(f)
    hit = shared.dfa(g)  # from the shape cache when the renaming keeps the propositions' order
    fresh = _Composer(names, Budget()).dfa(g)
    assert hit.atoms == fresh.atoms
    same(canonical(hit), canonical(fresh))
    images = [renamed[ATOMS.index(n)] for n in ATOMS if n in atom_names(f)]
    if images == sorted(images):  # the renaming keeps the order
        own_f = tuple(n for n in names if n in atom_names(f))
        own_g = tuple(n for n in names if n in atom_names(g))
        assert _shape(f, own_f) == _shape(g, own_g)


@st.composite
def tables(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 12))
    k = draw(st.integers(0, 2))
    delta = np.array(draw(st.lists(st.integers(0, n - 1), min_size=n << k, max_size=n << k)), dtype=np.int32).reshape(n, 1 << k)
    acc = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    return delta, acc


@given(tables())
def test_small_moore_refinement_equals_hopcroft(t):
    delta, acc = t
    moore = D._moore_small(delta, acc)
    hopcroft = D._Refinement(delta, acc).run(None, None)
    # the same partition: a bijection between block numbers
    pairs = set(zip(moore.tolist(), hopcroft.tolist()))
    assert len(pairs) == len(set(moore.tolist())) == len(set(hopcroft.tolist()))


def same_partition(x: np.ndarray, y: np.ndarray) -> bool:
    pairs = set(zip(x.tolist(), y.tolist()))
    return len(pairs) == len(set(x.tolist())) == len(set(y.tolist()))


@given(tables())
def test_row_moore_refinement_equals_hopcroft(t):
    delta, acc = t
    hopcroft = D._Refinement(delta, acc).run(None, None)
    rows = D._moore_rows(delta, acc, delta.shape[0] + 1)  # one round per state always settles
    assert rows is not None and same_partition(rows, hopcroft)
    short = D._moore_rows(delta, acc, 1)
    assert short is None or same_partition(short, hopcroft)


@st.composite
def table_pairs(draw: st.DrawFn) -> tuple:
    k = draw(st.integers(0, 3))
    out = []
    for _ in range(2):
        n = draw(st.integers(1, 7))
        delta = np.array(draw(st.lists(st.integers(0, n - 1), min_size=n << k, max_size=n << k)), dtype=np.int32)
        acc = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
        out.append((delta.reshape(n, 1 << k), acc, draw(st.integers(0, n - 1))))
    return out


@given(table_pairs(), st.sampled_from([_AND, _OR, np.array([[False, True], [True, False]])]))
def test_small_product_equals_layered_product(pair, table):
    (d1, a1, i1), (d2, a2, i2) = pair
    budget = Budget()
    small = D._product_small(d1, a1, i1, d2, a2, i2, table, budget, "p")
    old = D._PY_PRODUCT_CELLS
    try:
        D._PY_PRODUCT_CELLS = -1  # force the array path
        layered = D._product(d1, a1, i1, d2, a2, i2, table, budget, "p")
    finally:
        D._PY_PRODUCT_CELLS = old
    assert small[0].shape[0] == layered[0].shape[0]  # both are the reachable part
    canon = [D._minimal(d, a, i, None, None) for d, a, i in (small, layered)]
    assert np.array_equal(canon[0][0], canon[1][0]) and np.array_equal(canon[0][1], canon[1][1])


@given(st.permutations(["a", "b", "c", "d"]), st.sets(st.sampled_from("abcd"), min_size=1), st.integers(0, 2**32 - 1))
def test_lifted_table_reads_the_projected_letter(atoms, subset, seed):
    from framelogic.automata.letters import projection

    own = tuple(a for a in atoms if a in subset)  # a run of consecutive bits or not
    rng = np.random.default_rng(seed)
    d = D.Automaton(own, rng.integers(0, 3, size=(3, 1 << len(own))), rng.random(3) < 0.5)
    lifted = D._lifted(d, tuple(atoms))
    assert np.array_equal(lifted, d.delta[:, projection(own, tuple(atoms))])
