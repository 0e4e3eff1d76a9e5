"""Compositional compilation, the array kernels (products, lifting,
minimization) and the construction budget."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framelogic.automata import Automaton, compile
from framelogic.automata import dfa as D
from framelogic.automata.compile import _Composer, split
from framelogic.automata.construct import Budget
from framelogic.automata.letters import projection
from framelogic.logic import ast as A
from framelogic.logic import atom_names, satisfaction
from framelogic.logic.errors import AutomatonTooLarge, InvalidArgument, InvalidValue
from framelogic.logic.strategies import bounds, formulas, traces

ATOMS = ("a", "b", "c")


def same_automaton(x: Automaton, y: Automaton) -> None:
    # minimal DFAs are unique and numbered canonically: the arrays must be equal
    assert x.atoms == y.atoms
    assert x.n_states == y.n_states
    assert np.array_equal(x.delta, y.delta)
    assert np.array_equal(x.accepting, y.accepting)
    assert x.initial == y.initial == 0


# ----------------------------------------------------------------- compose == monolithic


@given(formulas(ATOMS, max_depth=4, max_bound=3))
def test_compositional_equals_monolithic(f):
    same_automaton(compile(f, props=ATOMS), compile(f, props=ATOMS, compose=False))


small = formulas(ATOMS, max_depth=2, max_bound=2)


@st.composite
def distributable(draw: st.DrawFn) -> A.Formula:
    """Formulas of exactly the shapes :func:`split` rewrites, over random operands."""
    x, y, z = draw(small), draw(small), draw(small)
    bd = draw(bounds(3))
    both = draw(st.sampled_from([A.conj(x, y), A.disj(x, y), A.implies(x, y), A.neg(A.disj(x, y)), A.neg(A.conj(x, y)), A.neg(A.implies(x, y))]))
    shape = draw(st.sampled_from("G H F O X N Y Uleft Uright Rleft Rright Sleft Sright".split()))
    match shape:
        case "G":
            return A.temporal(A.Always, both, bound=bd)
        case "H":
            return A.temporal(A.Historically, both, bound=bd)
        case "F":
            return A.temporal(A.Eventually, both, bound=bd)
        case "O":
            return A.temporal(A.Once, both, bound=bd)
        case "X":
            return A.X(both)
        case "N":
            return A.N(both)
        case "Y":
            return A.Y(both)
        case "Uleft":
            return A.temporal(A.Until, both, z, bound=bd)
        case "Uright":
            return A.temporal(A.Until, z, both, bound=bd)
        case "Rleft":
            return A.temporal(A.Release, both, z, bound=bd)
        case "Rright":
            return A.temporal(A.Release, z, both, bound=bd)
        case "Sleft":
            return A.temporal(A.Since, both, z, bound=bd)
    return A.temporal(A.Since, z, both, bound=bd)


@given(distributable(), traces(ATOMS, max_len=7))
def test_distributed_temporal_operators(f, t):
    d = compile(f, props=ATOMS)
    same_automaton(d, compile(f, props=ATOMS, compose=False))
    assert d.accepts(t) == bool(satisfaction(f, t)[0])


@given(formulas(ATOMS, max_depth=4, max_bound=3))
def test_every_piece_is_minimal(f):
    # products and complements are minimized as they go, unreachable fresh starts included
    composer = _Composer(ATOMS, Budget(formula=f))
    composer.dfa(f)
    for g, d in composer.cache.items():
        assert d.n_states == d.minimize().n_states, g
        assert set(d.atoms) <= set(atom_names(g))


def test_split_rules():
    a, b, c = A.atom("a"), A.atom("b"), A.atom("c")
    assert split(A.G(A.conj(a, A.F(b)), 0, 5)) == ("and", (A.G(a, 0, 5), A.G(A.F(b), 0, 5)))
    assert split(A.F(A.implies(a, b))) == ("or", (A.F(A.neg(a)), A.F(b)))
    assert split(A.U(c, A.disj(a, b), 1, 4)) == ("or", (A.U(c, a, 1, 4), A.U(c, b, 1, 4)))
    assert split(A.U(A.conj(a, b), c)) == ("and", (A.U(a, c), A.U(b, c)))
    assert split(A.R(c, A.conj(a, b))) == ("and", (A.R(c, a), A.R(c, b)))
    assert split(A.G(A.disj(a, b))) is None  # G does not distribute over |
    assert split(A.G(A.implies(a, A.F(b)))) is None
    assert split(A.W(A.conj(a, b), c, 1, 3)) is None  # with lo > 0 W does not distribute


def test_absorbing_pieces_cut_folds_short():
    a, b, c = A.atom("a"), A.atom("b"), A.atom("c")
    rule = A.G(A.implies(b, A.F(c, 0, 40)))
    for f, states in [(A.disj(A.F(a), A.G(A.neg(a)), rule), 2), (A.conj(A.F(a), A.G(A.neg(a)), rule), 1)]:
        d = compile(f)
        assert d.n_states == states
        same_automaton(d, compile(f, compose=False))


def test_props_order_and_extra_props():
    f = A.conj(A.G(A.implies(A.atom("b"), A.F(A.atom("a"), 0, 3))), A.F(A.atom("c")))
    for props in [("a", "b", "c"), ("c", "b", "a"), ("x", "c", "a", "b")]:
        same_automaton(compile(f, props=props), compile(f, props=props, compose=False))


def test_separate_rules_over_many_propositions():
    rules = [A.G(A.implies(A.atom(f"p{2 * i}"), A.F(A.atom(f"p{2 * i + 1}")))) for i in range(5)]
    d = compile(A.conj(*rules))
    assert len(d.atoms) == 10 and d.n_states == 1 + 2**5  # a fresh start, then one bit per rule
    d = compile(A.conj(*[A.F(A.atom(f"p{i}")) for i in range(6)]))
    assert d.n_states == 2**6


# ----------------------------------------------------------------- minimization


@st.composite
def random_dfas(draw: st.DrawFn, max_states: int = 12, max_atoms: int = 2) -> Automaton:
    n = draw(st.integers(1, max_states))
    k = draw(st.integers(0, max_atoms))
    cells = st.lists(st.integers(0, n - 1), min_size=n << k, max_size=n << k)
    delta = np.array(draw(cells), dtype=np.int32).reshape(n, 1 << k)
    acc = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    init = draw(st.integers(0, n - 1))
    return Automaton(tuple("xyz"[:k]), delta, acc, init)


def reference_classes(d: Automaton) -> int:
    """The number of Myhill-Nerode classes of the reachable part, by plain Moore refinement."""
    rows = d.delta.tolist()
    reach, todo = {d.initial}, [d.initial]
    while todo:
        for t in rows[todo.pop()]:
            if t not in reach:
                reach.add(t)
                todo.append(t)
    cls = {q: bool(d.accepting[q]) for q in reach}
    while True:
        sig = {q: (cls[q], tuple(cls[t] for t in rows[q])) for q in reach}
        ids = {s: i for i, s in enumerate(sorted(set(sig.values()), key=repr))}
        new = {q: ids[sig[q]] for q in reach}
        if len(set(new.values())) == len(set(cls.values())):
            return len(ids)
        cls = new


def words(k: int, max_len: int):
    for n in range(max_len + 1):
        yield from itertools.product(range(1 << k), repeat=n)


def run_word(d: Automaton, w) -> bool:
    q = d.initial
    for s in w:
        q = int(d.delta[q, s])
    return bool(len(w) and d.accepting[q])


@given(random_dfas())
def test_minimize_is_minimal_and_equivalent(d):
    m = d.minimize()
    assert m.n_states == reference_classes(d)
    for w in words(len(d.atoms), 4):
        assert run_word(m, w) == run_word(d, w)
    same_automaton(m.minimize(), m)  # canonical: minimizing again changes nothing


@given(random_dfas(max_states=30, max_atoms=2), st.sampled_from([0, 1 << 30]))
def test_refinement_rounds_agree(d, small_round):
    # the same partition from whole-array rounds only, or Python rounds only, and no hash fallback needed
    old = D._Refinement.SMALL_ROUND
    try:
        D._Refinement.SMALL_ROUND = small_round
        cls = D._Refinement(d.delta, d.accepting).run(None, None)
    finally:
        D._Refinement.SMALL_ROUND = old
    assert D._is_congruence(d.delta, d.accepting, cls)
    full = D._moore(d.delta, d.accepting.astype(np.int64))  # Nerode classes of all states
    assert len(np.unique(cls)) == len(np.unique(full))


@given(st.lists(st.integers(0, (1 << 40) - 1), max_size=200), st.sampled_from([1 << 10, 1 << 16, 1 << 17, 1 << 33, 1 << 40]))
def test_radix_sort_by_key(keys, n_keys):
    keys = np.array(keys, dtype=np.int64) % n_keys
    order = D._sort_by(keys, n_keys)
    assert sorted(order.tolist()) == list(range(keys.size))
    assert (np.diff(keys[order]) >= 0).all()


def test_minimize_of_deep_and_wide_automata():
    # a chain of 2000 states (Python rounds) and a 512-letter product (array rounds)
    d = compile(A.F(A.atom("a"), 0, 1999), compose=False)
    assert d.n_states == 2002
    w = compile(A.conj(*[A.F(A.atom(f"p{i}")) for i in range(9)]))
    assert w.n_states == 512


# ----------------------------------------------------------------- products and lifting


@given(random_dfas(max_atoms=2), random_dfas(max_atoms=2), st.sampled_from(["and", "or", "xor", "iff", "diff"]), st.data())
def test_products_accept_per_combine(d, e, op, data):
    combine = {"and": lambda x, y: x and y, "or": lambda x, y: x or y, "xor": lambda x, y: x != y,
               "iff": lambda x, y: x == y, "diff": lambda x, y: x and not y}[op]
    e = Automaton(tuple("yzw"[: len(e.atoms)]), e.delta, e.accepting, e.initial)  # overlapping atoms
    p = d.product(e, combine)
    assert set(p.atoms) == set(d.atoms) | set(e.atoms)
    assert not p.accepting[p.initial]  # the empty trace stays rejected
    to_d, to_e = projection(d.atoms, p.atoms), projection(e.atoms, p.atoms)
    for w in data.draw(st.lists(st.lists(st.integers(0, (1 << len(p.atoms)) - 1), min_size=1, max_size=6), max_size=30)):
        assert run_word(p, w) == combine(run_word(d, [to_d[s] for s in w]), run_word(e, [to_e[s] for s in w]))
    n = data.draw(st.integers(1, 5))
    t = {x: data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)) for x in (*p.atoms, "q")}
    assert p.accepts(t) == combine(d.accepts(t), e.accepts(t))


@given(formulas(("a", "b"), max_depth=3, max_bound=2), formulas(("b", "c"), max_depth=3, max_bound=2), traces(ATOMS, max_len=6))
def test_product_with_sorted_pair_index(f, g, t):
    # pair spaces too large for a flat table use sorted keys; same automaton either way
    x, y = compile(f), compile(g)
    dense = (x & y).minimize()
    old = D._DENSE_PAIRS
    try:
        D._DENSE_PAIRS = 0
        sparse = (x & y).minimize()
    finally:
        D._DENSE_PAIRS = old
    same_automaton(dense, sparse)
    sat = bool(satisfaction(f, t)[0]) and bool(satisfaction(g, t)[0])
    assert sparse.accepts(t) == sat


def test_lift_projects_letters():
    d = compile(A.U(A.atom("a"), A.atom("b")))
    up = d.lift(("z", "b", "a"))
    assert up.delta.shape == (d.n_states, 8)
    assert np.array_equal(up.delta[:, 0b110], d.delta[:, 0b11])  # b=1, a=1 whatever z is
    assert np.array_equal(up.delta[:, 0b011], d.delta[:, 0b10])  # z=1, b=1, a=0
    with pytest.raises(InvalidArgument, match="must include"):
        d.lift(("a",))


@given(random_dfas(max_atoms=2))
def test_example_is_a_shortest_accepted_trace(d):
    shortest = next((w for w in words(len(d.atoms), 6) if run_word(d, w)), None)
    ex = d.example()
    if shortest is None:
        assert ex is None or len(ex) > 6
    else:
        assert ex is not None and len(ex) == len(shortest) and d.accepts(ex)


# ----------------------------------------------------------------- budget


def test_budget_stops_nested_bounds_quickly():
    f = A.G(A.F(A.G(A.F(A.atom("a"), 0, 100), 0, 100), 0, 100), 0, 100)
    with pytest.raises(AutomatonTooLarge, match=r"max_seconds=0.3 .*lower --fps"):
        compile(f, max_seconds=0.3)


def test_budget_stops_wide_conjunctions_by_table_size():
    f = A.conj(*[A.F(A.atom(f"a{i}"), 0, 200) for i in range(10)])
    with pytest.raises(AutomatonTooLarge, match=r"F\[0,200\] a\d.*max_cells=50000 transition-table entries"):
        compile(f, max_cells=50_000)


def test_budget_stops_response_rules_with_large_bounds():
    f = A.conj(*[A.G(A.implies(A.atom(f"r{i}"), A.F(A.atom(f"s{i}"), 0, 300))) for i in range(3)])
    with pytest.raises(AutomatonTooLarge, match=r"G \(r\d -> F\[0,300\] s\d\) & G .*max_states=2000 .*while compiling"):
        compile(f, max_states=2000)


def test_budget_arguments_are_checked():
    with pytest.raises(InvalidValue, match="max_seconds=0"):
        compile("a", max_seconds=0)
    with pytest.raises(InvalidArgument, match="max_cells='big'"):
        compile("a", max_cells="big")
    with pytest.raises(InvalidValue, match="max_states=0"):
        Budget(max_states=0)


def test_too_many_propositions_is_a_clear_error():
    f = A.conj(*[A.F(A.atom(f"p{i}")) for i in range(17)])
    with pytest.raises(InvalidValue, match="at most 16.*symbolic transition guards"):
        compile(f)
