"""The planner (independent parts, closed forms, counters, small automata)
against the monolithic automaton, brute-force enumeration and the oracle."""


import numpy as np
import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st

from framelogic.automata import evaluate
from framelogic.automata.engine import Evaluator
from framelogic.automata.factor import Indep, Leaf, Negate, atoms, factor, leaves, normalize, to_formula
from framelogic.automata.plan import SignalBounds, is_propositional, plan
from framelogic.logic import ast as A
from framelogic.logic import parse, satisfaction
from framelogic.logic.errors import AutomatonTooLarge
from framelogic.logic.passes import atom_names, resolve_time
from framelogic.logic.strategies import formulas, traces
from framelogic.logic.trace import TraceTable
from worlds import brute_force

ATOMS = ("a", "b", "c", "d")


def columns(f, t):
    return t.select(atom_names(f)).values


def automaton(f, t, max_states=100_000):
    return evaluate(f, t, engine="automaton") if max_states is None else Evaluator(f, max_states=max_states, engine="automaton")(t)


def smallest_budget_plan(f, first):
    """The bounds plan at the smallest power-of-two budget the planner can meet."""
    for budget in (2**k for k in range(first, 15)):
        try:
            return plan(f, max_states=budget, approx="bounds")
        except AutomatonTooLarge:
            continue
    assume(False)


# ------------------------------------------------------------------ factor


def _check_disjoint(part):
    match part:
        case Indep(_, parts):
            assert len(parts) >= 2
            seen = set()
            for p in parts:
                names = atoms(p)
                assert not (names & seen), f"parts share {names & seen}"
                seen |= names
                _check_disjoint(p)
        case Negate(p):
            assert not isinstance(p, Negate)
            _check_disjoint(p)


@given(formulas(ATOMS, max_depth=5, max_bound=3), traces(ATOMS, max_len=8))
def test_factor_parts_are_disjoint_and_equivalent(f, t):
    part = factor(f)
    _check_disjoint(part)
    assert atoms(part) <= set(atom_names(f))
    expected = satisfaction(f, t)
    assert np.array_equal(satisfaction(normalize(f), t), expected)
    assert np.array_equal(satisfaction(to_formula(part), t), expected)


def test_factor_examples():
    spec = parse("G (red -> F[0,3] stopped) & G (ped -> F[0,2] brake) & G (stop_sign -> F[0,5] stopped)")
    part = factor(spec)
    assert isinstance(part, Indep) and part.kind == "and" and len(part.parts) == 2
    assert [sorted(atoms(p)) for p in part.parts] == [["red", "stop_sign", "stopped"], ["brake", "ped"]]
    assert factor(parse("G (a & (b | c)) & F (d | X e)")) == Indep(
        "and", (Leaf(parse("G a")), Leaf(parse("G (b | c)")), Indep("or", (Leaf(parse("F d")), Leaf(parse("F X e")))))
    )
    # G ((a|b) & (a|c)) shares a: it stays one G over a propositional operand
    assert factor(parse("G ((a | b) & (a | c))")) == Leaf(parse("G ((a | b) & (a | c))"))
    assert factor(parse("!(a | X (b & c))")) == Negate(Indep("or", (Leaf(parse("a")), Indep("and", (Leaf(parse("X b")), Leaf(parse("X c")))))))
    assert factor(parse("a & !a")) == Leaf(A.FALSE)
    assert leaves(factor(parse("a -> G b"))) == [parse("a"), parse("G b")]


# ------------------------------------------------------------------ planner vs the other engines


@given(
    formulas(("a", "b", "c"), max_depth=4, max_bound=3),
    traces(("a", "b", "c"), min_len=1, max_len=12, probabilistic=True),
)
def test_plan_equals_monolithic_automaton(f, t):
    try:
        expected = automaton(f, t, max_states=5000)
    except AutomatonTooLarge:
        assume(False)
    p = plan(f, max_states=100_000)
    assert np.allclose(p(columns(f, t)), expected, atol=1e-9)


@given(
    formulas(("a", "b", "c"), max_depth=4, max_bound=3),
    st.integers(1, 4).flatmap(lambda n: traces(("a", "b", "c"), min_len=n, max_len=n, probabilistic=True)),
)
def test_plan_equals_enumeration_of_all_worlds(f, t):
    names = atom_names(f)
    assume(len(t) * max(len(names), 1) <= 9)
    sub = t.select(names)
    assert np.allclose(plan(f, max_states=100_000)(sub.values), brute_force(f, sub), atol=1e-9)


PROPS = st.sampled_from([parse(s) for s in ["a", "b", "!a", "a & b", "a | !b", "c", "a & !c", "b | c", "true"]])


def responses(atoms_q=("b", "c")):
    """Conjunctions of response rules G (p -> F[lo,hi] q) sharing q."""

    @st.composite
    def build(draw):
        q = draw(st.sampled_from([A.atom(x) for x in atoms_q] + [parse("b | c"), parse("b & !a")]))
        rules = []
        for _ in range(draw(st.integers(1, 3))):
            p = draw(PROPS)
            lo = draw(st.sampled_from([0, 0, 0, 1, 2]))
            hi = draw(st.one_of(st.none(), st.integers(lo, lo + 6)))
            rules.append(A.Always(A.implies(p, A.F(q, lo, hi))))
        return A.conj(*rules)

    return build()


@given(responses(), traces(("a", "b", "c"), min_len=1, max_len=14, probabilistic=True))
def test_response_counters_equal_automaton(f, t):
    p = plan(f, max_states=100_000)
    assert np.allclose(p(columns(f, t)), automaton(f, t), atol=1e-9)


@given(responses(), st.integers(1, 3).flatmap(lambda n: traces(("a", "b", "c"), min_len=n, max_len=n, probabilistic=True)))
def test_response_counters_equal_enumeration(f, t):
    sub = t.select(atom_names(f))
    assert np.allclose(plan(f, max_states=100_000)(sub.values), brute_force(f, sub), atol=1e-9)


def test_counters_cover_the_response_specs():
    spec = parse("G (red -> F[0,90] stopped) & G (stop_sign -> F[0,150] stopped)")
    assert plan(spec, max_states=20).describe() == "exact: one part; counters: 1"
    assert "counters: 1" in plan(parse("G (a -> F[60,120] b)"), max_states=20).describe()
    # p and q share an atom and lo > 0: not a counter, an automaton
    assert "automaton parts: 1" in plan(parse("G (a -> F[2,4] (a & b))"), max_states=1000).describe()


CLOSED = [
    "F[0,40] (a & !b)", "F[5,60] a", "F (a & b & c)", "G[0,50] (a | b)", "G[3,30] (a | b | c)", "G (a | b | c)",
    "O[0,40] (a & b)", "O[10,50] a", "H[0,30] (a | b)", "H[2,25] (a | c)", "O a", "H (a | b | c)",
    "X (a & b)", "N (a | b)", "Y (a & !b)",
    "a U[0,40] b", "(a | c) U[3,30] (b & !a)", "a U (a & b)", "a S[0,40] b", "(a | b) S[5,30] c", "a S b",
    "a R[0,40] b", "a R b", "a W[4,30] b", "(a | b) W c", "a M[2,30] b", "a M b",
    "G (a -> F[0,40] b)", "G (a -> F[0,20] c) & G (b -> F[0,35] c) & G (a & b -> F[0,5] c)",
    "G (a -> F[5,12] c)", "G (a -> F c)", "G F[0,30] b",
]


@pytest.mark.parametrize("text", CLOSED)
def test_closed_forms_on_long_traces(text):
    """10^5 frames, probabilities near 0 and 1 included: the closed forms and
    counters agree with the monolithic automaton to 1e-9."""
    f = parse(text)
    rng = np.random.default_rng(abs(hash(text)) % 2**32)
    n = 100_000
    values = rng.random((n, 3))
    values = np.where(rng.random((n, 3)) < 0.3, values**8, values)  # many small probabilities
    values[rng.random((n, 3)) < 0.01] = 1.0
    values[rng.random((n, 3)) < 0.01] = 0.0
    t = TraceTable(("a", "b", "c"), values)
    p = plan(f, max_states=1000)
    assert p.describe().startswith("exact") and "automaton" not in p.describe()
    got = p(columns(f, t))
    assert np.abs(got - automaton(f, t)).max() < 1e-9


# ------------------------------------------------------------------ budget and bounds


def test_too_large_part_is_named():
    f = parse("G (a -> F[0,4] b) & G (b -> O[1,3] a) & G c")  # O[1,3]: no counter, an automaton
    assert plan(f, max_states=100).n_states == 18  # the marked product: past part x future part, minimized
    with pytest.raises(AutomatonTooLarge, match=r"the part G \(a -> F\[0,4\] b\) & G \(b -> O\[1,3\] a\) has no exact evaluation"):
        plan(f, max_states=20)
    g = parse("G (a -> F[0,4] b) & G (b -> O[0,3] a) & G c")  # a product counter of 5 x 4 states
    assert "counters: 1 (product of 2 sharing a, b: 20 states)" in plan(g, max_states=20).describe()
    assert "20 states" in plan(g, max_states=5).describe()  # two rules: the pair kernel's budget, 4 x max_states
    with pytest.raises(AutomatonTooLarge, match=r"O\[0,3\] a\) has no exact evaluation .* product counter of its 2 rules needs 20 states \(the limit is 16\)"):
        plan(g, max_states=4)


_SMALL = formulas(("a", "b"), max_depth=2, max_bound=2)
_TEMPORAL = st.one_of(
    st.builds(lambda x, y: A.U(x, y, 0, 2), _SMALL, _SMALL),
    st.builds(lambda x, y: A.S(x, y, 0, 2), _SMALL, _SMALL),
    st.builds(lambda x, y: A.conj(x, A.X(y)), _SMALL, _SMALL),
    st.builds(lambda x: A.F(x, 1, 3), _SMALL),
    st.builds(lambda x: A.O(x, 0, 2), _SMALL),
)
NESTED = st.builds(
    lambda op, p, g, hi: op(A.implies(p, g), 0, hi),
    st.sampled_from([A.G, A.F, A.H, A.O]),
    st.sampled_from([A.atom("a"), A.atom("b"), A.neg(A.atom("a")), A.TRUE]),
    _TEMPORAL,
    st.one_of(st.none(), st.integers(1, 4)),
)  # a temporal operator over a temporal formula: rarely a closed form, so the budget splits often


@given(
    st.lists(NESTED, min_size=2, max_size=3),
    st.booleans(),
    traces(("a", "b"), min_len=1, max_len=10, probabilistic=True),
)
def test_bounds_contain_the_exact_value(parts, conjunction, t):
    f = A.conj(*parts) if conjunction else A.disj(*parts)
    try:
        exact = automaton(f, t, max_states=20_000)
    except AutomatonTooLarge:
        assume(False)
    p = smallest_budget_plan(f, first=1)
    got = p(columns(f, t))
    event("bounds" if isinstance(got, SignalBounds) else "exact")
    if isinstance(got, SignalBounds):
        assert p.approximate and p.describe().startswith("approximate")
        assert np.all(got.lower <= exact + 1e-9) and np.all(exact <= got.upper + 1e-9)
        assert np.all(got.lower <= got.upper + 1e-12)
    else:
        assert not p.approximate and np.allclose(got, exact, atol=1e-9)


def test_bounds_through_the_engine():
    f = "G (a -> F[0,4] b) & G (b -> O[0,3] a) & G c"  # the first two share a and b: a 20-state counter
    t = {"a": [0.5, 0.2, 0.9, 0.1, 0.7], "b": [0.3, 0.8, 0.4, 0.6, 0.2], "c": [1.0, 0.9, 0.9, 1.0, 1.0]}
    exact = evaluate(f, t)
    with pytest.raises(AutomatonTooLarge):
        Evaluator(f, max_states=4)(t)
    got = Evaluator(f, max_states=4, approx="bounds")(t)
    assert isinstance(got, SignalBounds)
    assert np.all(got.lower <= exact + 1e-12) and np.all(exact <= got.upper + 1e-12)
    assert np.any(got.lower < got.upper)
    # Fréchet for the and of the two rules, times the exact G c
    rule1, rule2, gc = evaluate("G (a -> F[0,4] b)", t), evaluate("G (b -> O[0,3] a)", t), evaluate("G c", t)
    assert np.allclose(got.lower, np.maximum(0, rule1 + rule2 - 1) * gc) and np.allclose(got.upper, np.minimum(rule1, rule2) * gc)
    assert isinstance(evaluate(f, {k: np.round(v) for k, v in t.items()}, approx="bounds"), np.ndarray)  # 0/1: exact
    described = Evaluator(f, max_states=4, approx="bounds").plan(None).describe()
    assert described.startswith("approximate") and "into its 2 conjuncts" in described


def test_describe_and_names():
    p = plan(parse("G (a -> F[0,2] b) & F[0,3] c & !d & G (e -> O[1,2] (e & f))"), max_states=1000)
    assert p.names == ("a", "b", "c", "d", "e", "f")
    assert p.describe() == (
        "exact: product of 4 independent parts; propositional: 1; closed forms: 1; counters: 1; "
        "automaton parts: 1 with <= " + str(p.n_states) + " states"
    )
    assert [(part.method, part.states) for part in p.parts] == [
        ("counter", None), ("closed form", None), ("propositional", None), ("automaton", p.n_states)
    ]
    assert str(p.parts[3]) == f"automaton ({p.n_states} states): G (e -> O[1,2] (e & f))"
    q = plan(parse("G (e -> O[0,2] (e & f))"), max_states=1000)  # no lower bound: a counter
    assert q.describe() == "exact: one part; counters: 1" and [(x.method, x.states) for x in q.parts] == [("counter", 3)]
    assert is_propositional(parse("a -> (b <-> !c)")) and not is_propositional(parse("a & X b"))
    assert p(np.zeros((0, 6))).shape == (0,)
    with pytest.raises(TypeError, match="must be \\(frames, 6\\)"):
        p(np.zeros((3, 2)))


@pytest.mark.parametrize("name", ["factor", "plan"])
def test_docstring_examples(name):
    import doctest
    import importlib

    module = importlib.import_module(f"framelogic.automata.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


_PAST_ONLY = formulas(("a", "b", "c"), max_depth=3, max_bound=3, operators=["!", "&", "|", "Y", "O", "H", "S"], constants=False)
_FUTURE_ONLY = formulas(("a", "b", "c"), max_depth=3, max_bound=3, past=False, constants=False)
MIXED = st.builds(
    lambda wrap, x, y: wrap(x, y),
    st.sampled_from([
        lambda x, y: A.G(A.implies(x, y)),
        lambda x, y: A.F(A.conj(x, y), 0, 3),
        lambda x, y: A.U(y, x, 0, 4),
        lambda x, y: A.conj(A.X(x), y),
        lambda x, y: A.G(A.implies(y, A.F(x, 0, 2))),
        lambda x, y: A.conj(A.G(A.implies(x, y)), A.G(A.implies(y, A.F(x, 0, 3)))),
    ]),
    _FUTURE_ONLY,
    _PAST_ONLY,
)  # fmt: skip


@given(MIXED, traces(("a", "b", "c"), min_len=1, max_len=10, probabilistic=True))
def test_marked_product_equals_progression(f, t):
    """Mixed past/future parts: the product of past and future automata gives the
    same signal as the automaton of F (m & φ) built by progression."""
    from framelogic.automata.engine import _Program

    try:
        old = _Program(f, 5000)
    except AutomatonTooLarge:
        assume(False)
    assume(old.kind == "marked")
    new = _Program(f, 100_000, split_past=True)
    sub = t.select(old.names)
    assert np.allclose(new.run(sub), old.run(sub), atol=1e-9)
    rounded = TraceTable(sub.names, np.round(sub.values))
    assert np.array_equal(new.run(rounded), satisfaction(f, rounded).astype(float))


def test_marked_product_is_small_where_progression_explodes():
    from framelogic.automata.engine import _Program

    f = parse("G (turn -> H[0,60] signal) & G (signal -> F[0,90] turn)")
    prog = _Program(f, 10_000, split_past=True)
    assert prog.kind == "marked" and prog.dfa.n_states < 10_000
    with pytest.raises(AutomatonTooLarge):
        _Program(f, 10_000)


# ------------------------------------------------------------------ certified bounds for F G O H parts over the budget

WINDOW_OPS = {"F": A.F, "G": A.G, "O": A.O, "H": A.H}


@given(
    st.integers(1, 30),
    st.integers(0, 8),
    st.one_of(st.none(), st.integers(0, 12)),
    st.sampled_from([np.maximum, np.add]),
    st.data(),
)
def test_sliding_windows_equal_direct_reduction(n, start, length, op, data):
    from framelogic.automata.plan import sliding

    x = np.array(data.draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    end = lambda i: n if length is None else min(n, i + start + length)  # noqa: E731
    ref = [op.reduce(x[i + start : end(i)]) if i + start < end(i) else 0.0 for i in range(n)]
    assert np.allclose(sliding(x, start, length, op), ref, rtol=1e-12, atol=1e-12)


WINDOWED = st.builds(
    lambda op, arg, lo, width: WINDOW_OPS[op](arg, lo, None if width is None else lo + width),
    st.sampled_from(sorted(WINDOW_OPS)),
    st.one_of(_TEMPORAL, formulas(("a", "b"), max_depth=3, max_bound=2)),
    st.integers(0, 2),
    st.one_of(st.none(), st.integers(0, 4)),
)


@given(WINDOWED, traces(("a", "b"), min_len=1, max_len=10, probabilistic=True))
def test_window_bounds_contain_the_exact_value(f, t):
    """An F/G/O/H part over the budget: the exact value lies within its certified
    bounds at every frame (the smallest budget the planner can meet forces them)."""
    try:
        exact = automaton(f, t, max_states=20_000)
    except AutomatonTooLarge:
        assume(False)
    p = smallest_budget_plan(f, first=0)
    got = p(columns(f, t))
    windowed = any(part.method == "certified bounds" for part in p.parts)
    event("window bounds" if windowed else ("other bounds" if p.approximate else "exact"))
    if not p.approximate:
        assert np.allclose(got, exact, atol=1e-9)
        return
    assert isinstance(got, SignalBounds) and p.describe().startswith("approximate")
    if windowed:
        assert "certified bounds for" in p.describe()
    assert np.all(got.lower <= exact + 1e-12) and np.all(exact <= got.upper + 1e-12)
    assert np.all(got.lower <= got.upper + 1e-12) and np.all(got.lower >= 0) and np.all(got.upper <= 1)


def test_window_bounds_from_an_exact_operand():
    """F[0,600] (ped & χ) with χ exact: lower = the window's max of P(ped) P(χ),
    upper = min(1, the window's sum); the window is clipped at the trace end."""
    f = resolve_time(parse("F[0,10s] (ped & F[0,1s] (brake & F[0,500ms] stopped))"), 60)
    p = plan(f, max_states=5000, approx="bounds")
    assert p.approximate
    assert p.describe().startswith("approximate") and "certified bounds for F[0,600] (ped & F[0,60]" in p.describe()
    assert [part.method for part in p.parts] == ["certified bounds", "propositional", "nested windows"]
    rng = np.random.default_rng(7)
    values = rng.random((2000, 3)) ** 6  # small probabilities: the union bound stays below 1
    got = p(values)
    assert isinstance(got, SignalBounds)
    assert np.all(np.isfinite(got.lower)) and np.all(np.isfinite(got.upper))
    assert np.all((0 <= got.lower) & (got.lower <= got.upper) & (got.upper <= 1))
    inner = plan(f.arg.args[1], max_states=5000)
    assert not inner.approximate
    c = values[:, p.names.index("ped")] * inner(values[:, [p.names.index(x) for x in inner.names]])
    lower = [c[i : i + 601].max() for i in range(2000)]
    upper = [min(1.0, c[i : i + 601].sum()) for i in range(2000)]
    assert np.allclose(got.lower, lower, rtol=1e-12, atol=1e-15) and np.allclose(got.upper, upper, rtol=1e-12, atol=1e-15)
    assert np.any(got.upper < 1) and np.any(got.lower < got.upper)


def test_nested_driving_spec_bounds_contain_the_exact_value_at_5_fps():
    f = resolve_time(parse("F[0,10s] (ped & F[0,1s] (brake & F[0,500ms] stopped))"), 5)
    rng = np.random.default_rng(3)
    values = rng.random((2000, 3)) ** 4
    exact = plan(f, max_states=100_000)
    assert not exact.approximate
    want = exact(values)
    for budget in (8, 64):
        bounds = plan(f, max_states=budget, approx="bounds")
        assert bounds.names == exact.names and bounds.approximate
        got = bounds(values)
        assert np.all(got.lower <= want + 1e-12) and np.all(want <= got.upper + 1e-12)
        assert np.all(got.lower <= got.upper)


@pytest.mark.parametrize("text", ["G[0,20] (a -> (b U[0,4] (a & X b)))", "H[0,20] (a -> O[0,5] (b & Y a))"])
def test_window_bounds_for_g_and_h(text):
    f = parse(text)
    rng = np.random.default_rng(5)
    values = 1 - rng.random((300, 2)) ** 5  # probabilities near 1: G's lower bound stays above 0
    exact = plan(f, max_states=100_000)(values)
    p = plan(f, max_states=20, approx="bounds")  # the operand fits, the window part does not
    assert [part.method for part in p.parts] == ["certified bounds", "automaton"]
    got = p(values)
    assert np.all(got.lower <= exact + 1e-12) and np.all(exact <= got.upper + 1e-12)
    assert np.any(got.lower > 0)


def test_other_parts_over_the_budget_still_raise():
    f = parse("a U[0,6] (b & F[0,3] a)")
    with pytest.raises(AutomatonTooLarge, match=r"approx='bounds' covers parts with &, \|, F, G, O or H at the top"):
        plan(f, max_states=2, approx="bounds")
