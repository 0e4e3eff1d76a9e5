"""Nested bounded windows (automata/windows.py) and the planner's window parts:
the backward chain against brute force over all 0/1 worlds and against the
monolithic automaton; shifted counters for G (p -> O/H[a,b] q) with a > 0; closed
forms with lower bounds."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from framelogic.automata import windows as Wn
from framelogic.automata.engine import Evaluator
from framelogic.automata.plan import SignalBounds, _Columns, plan
from framelogic.logic import ast as A
from framelogic.logic import parse
from framelogic.logic.errors import AutomatonTooLarge
from framelogic.logic.passes import atom_names
from framelogic.logic.trace import TraceTable
from worlds import brute_force

ATOMS = ("a", "b", "c")


def literal(names):
    return st.builds(lambda nm, pos: A.atom(nm) if pos else A.neg(A.atom(nm)), st.sampled_from(names), st.booleans())


def propositional(names):
    lit = literal(names)
    return st.one_of(
        lit,
        st.builds(A.conj, lit, lit),
        st.builds(A.disj, lit, lit),
    )


# how a level's propositional part p meets the window z below it
JOINS = (
    lambda p, z: A.conj(p, z),
    lambda p, z: A.disj(p, z),
    lambda p, z: A.Implies(p, z),
    lambda p, z: z,
    lambda p, z: A.conj(A.neg(p), z),
)


@st.composite
def chains(draw, names=ATOMS, max_depth=3, max_bound=4, max_lo=3):
    """Random window chains: depth 2..max_depth, F or G per level, bounds up to max_bound
    (often past the trace end), an offset on the top window."""
    depth = draw(st.integers(2, max_depth))
    f = draw(propositional(names))
    for level in range(depth):
        op = draw(st.sampled_from([A.Eventually, A.Always]))
        hi = draw(st.integers(0, max_bound))
        top = level == depth - 1
        lo = draw(st.integers(0, max_lo)) if top else 0
        f = op(f, A.Bound(lo, lo + hi))
        if not top:
            join = draw(st.sampled_from(JOINS))
            f = join(draw(propositional(names)), f)
    return f


@st.composite
def trees(draw, names=ATOMS, max_bound=4, max_lo=3):
    """A top window over a propositional part and two or three windows (one possibly
    nested): a tree of 3 or 4 levels."""

    def window(inner, top=False):
        op = draw(st.sampled_from([A.Eventually, A.Always]))
        lo = draw(st.integers(0, max_lo)) if top else 0
        return op(inner, A.Bound(lo, lo + draw(st.integers(0, max_bound))))

    kids = [window(draw(propositional(names))) for _ in range(draw(st.integers(2, 3)))]
    if len(kids) == 2 and draw(st.booleans()):
        kids[1] = window(draw(st.sampled_from(JOINS))(draw(propositional(names)), kids[1]))
    body = draw(propositional(names))
    for kid in kids:
        join = draw(st.sampled_from([A.conj, A.disj, lambda x, y: A.Implies(y, x)]))
        body = join(body, kid)
    return window(body, top=True)


def probs(draw, n, k):
    return np.array(draw(st.lists(st.sampled_from([0.0, 0.1, 0.5, 0.7, 1.0]), min_size=n * k, max_size=n * k))).reshape(n, k)


def run_chain(f, values, names):
    chain = Wn.chain_of(f)
    assume(chain is not None)  # the smart constructors may fold a level away (p & !p)
    cols = _Columns(values, {nm: j for j, nm in enumerate(names)})
    return chain(cols.prob, len(values))


@settings(max_examples=200)
@given(st.one_of(chains(), trees()), st.data())
def test_chain_equals_brute_force(f, data):
    names = atom_names(f)
    k = len(names)
    n = data.draw(st.integers(1, max(1, 7 // max(k, 1))))
    values = probs(data.draw, n, k)
    got = run_chain(f, values, names)
    expected = brute_force(f, TraceTable(names, values))
    np.testing.assert_allclose(got, expected, atol=1e-12)


@settings(max_examples=30)
@given(st.one_of(chains(max_bound=5, max_lo=4), trees(max_bound=3, max_lo=3)), st.data())
def test_chain_equals_monolithic_automaton(f, data):
    names = atom_names(f)
    n = data.draw(st.integers(1, 25))
    values = np.array(data.draw(st.lists(st.floats(0, 1), min_size=n * len(names), max_size=n * len(names)))).reshape(n, len(names))
    got = run_chain(f, values, names)
    expected = Evaluator(f, max_states=20_000, engine="automaton")(TraceTable(names, values))
    np.testing.assert_allclose(got, expected, atol=1e-9)


@settings(max_examples=100)
@given(chains(max_bound=8, max_lo=4), st.data())
def test_plan_picks_the_chain_and_is_exact(f, data):
    names = atom_names(f)
    n = data.draw(st.integers(1, max(1, 7 // max(len(names), 1))))
    values = probs(data.draw, n, len(names))
    p = plan(f, max_states=1000)
    for part in p.parts:
        if Wn.chain_of(part.formula) is not None:
            assert part.method == "nested windows"
            assert "nested windows: " in p.describe()
    np.testing.assert_allclose(p(values), brute_force(f, TraceTable(names, values)), atol=1e-12)


def test_trees():
    f = parse("F[2,12] (a & F[0,3] b & G[0,2] (c | F[0,1] a))")
    chain = Wn.chain_of(f)
    assert chain.depth == 4 and chain.children == ((), (), (1,), (0, 2)) and chain.windows == (3, 1, 2, 10)
    assert chain.n_states == 5 * 3 * 4 * 12
    assert Wn.chain_of(parse("F[0,9] (F[0,1] a & F[0,1] b & F[0,1] c & F[0,1] (a & b))")) is None  # 5 levels


def test_spec_sequence_is_a_chain():
    f = parse("F[0,50] (ped & F[0,5] (brake & F[0,2] stopped))")
    chain = Wn.chain_of(f)
    assert (chain.depth, chain.windows, chain.kinds, chain.lo) == (3, (2, 5, 50), ("F", "F", "F"), 0)
    assert chain.n_states == 4 * 7 * 52
    p = plan(f, max_states=100)  # a chain may have up to 16 x max_states states
    assert p.describe() == "exact: one part; nested windows: 1 with <= 1,456 states"
    assert [str(x) for x in p.parts] == ["nested windows (1456 states): F[0,50] (ped & F[0,5] (brake & F[0,2] stopped))"]


@pytest.mark.parametrize(
    "text",
    [
        "F[0,3] a",  # one window: a closed form
        "F[0,3] (a & F[1,2] b)",  # inner lower bound
        "F[0,3] (a & F b)",  # unbounded inner window
        "F (a & F[0,2] b)",  # unbounded top window
        "F[0,3] (a & X b)",
        "F[0,3] (a U[0,2] b)",
    ],
)
def test_not_chains(text):
    assert Wn.chain_of(parse(text)) is None


def test_compiled_kernel_equals_plain_python():
    f = parse("G[1,9] (a -> F[0,4] (b & G[0,2] !c))")
    chain = Wn.chain_of(f)
    rng = np.random.default_rng(7)
    values = rng.random((60, 3))
    cols = _Columns(values, {"a": 0, "b": 1, "c": 2})
    m = 60 - chain.lo
    w = chain.tables(lambda g: cols.prob(g)[chain.lo :], m)
    succ, zcode, start = chain.transitions()
    row = chain.windows[-1] + 2
    outs = []
    for fn in (Wn.chain_backward, Wn.compiled_chain()):
        cur, sums = np.zeros((succ.shape[0], row)), np.zeros(succ.shape[0])
        cur[start, row - 1] = sums[start] = 1.0
        out = np.empty(m)
        fn(w, succ, zcode, row, False, cur, sums, out)
        outs.append(out)
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-13, atol=1e-15)
    expected = Evaluator(f, max_states=20_000, engine="automaton")(TraceTable(("a", "b", "c"), values))
    np.testing.assert_allclose(chain(cols.prob, 60), expected, atol=1e-10)


def test_chain_over_the_limit_fails_fast_or_gives_bounds():
    f = parse("F[0,50] (ped & F[0,5] (brake & F[0,2] stopped))")  # 4 x 7 x 52 = 1,456 states
    assert "nested windows: 1 with <= 1,456 states" in plan(f, max_states=91).describe()  # 16 x 91 = 1,456
    with pytest.raises(AutomatonTooLarge, match=r"the part F\[0,50\] \(ped & .*a chain of 1,456 states .* 16 x max_states = 1,440"):
        plan(f, max_states=90)
    b = plan(f, max_states=90, approx="bounds")
    assert "certified bounds for F[0,50]" in b.describe()
    assert [part.method for part in b.parts] == ["certified bounds", "propositional", "nested windows"]
    got = b(np.full((20, 3), 0.5))
    assert isinstance(got, SignalBounds)
    exact = plan(f, max_states=91)(np.full((20, 3), 0.5))
    assert np.all(got.lower <= exact + 1e-12) and np.all(exact <= got.upper + 1e-12)


# ------------------------------------------------------------------ rules and closed forms with a > 0

PAST_RULES = (
    "G (a -> O[{lo},{hi}] b)",
    "G (a -> H[{lo},{hi}] b)",
    "G (!a | O[{lo},{hi}] (b | c))",
    "G (a & c -> H[{lo},{hi}] !b)",
    "G O[{lo},{hi}] b",
    "G H[{lo},{hi}] (b & c)",
)


@settings(max_examples=100)
@given(st.sampled_from(PAST_RULES), st.integers(1, 4), st.integers(0, 4), st.data())
def test_shifted_past_rules_equal_brute_force(template, lo, width, data):
    f = parse(template.format(lo=lo, hi=lo + width))
    p = plan(f, max_states=1000)
    assert {part.method for part in p.parts} == {"counter"}, p.describe()
    names = p.names
    n = data.draw(st.integers(1, max(1, 7 // len(names))))
    values = probs(data.draw, n, len(names))
    np.testing.assert_allclose(p(values), brute_force(f, TraceTable(names, values)), atol=1e-12)


@settings(max_examples=40)
@given(st.sampled_from(PAST_RULES), st.integers(1, 6), st.integers(0, 6), st.data())
def test_shifted_past_rules_equal_monolithic_automaton(template, lo, width, data):
    f = parse(template.format(lo=lo, hi=lo + width))
    p = plan(f, max_states=1000)
    names = p.names
    n = data.draw(st.integers(1, 40))
    values = np.array(data.draw(st.lists(st.floats(0, 1), min_size=n * len(names), max_size=n * len(names)))).reshape(n, len(names))
    expected = Evaluator(f, max_states=20_000, engine="automaton")(TraceTable(names, values))
    np.testing.assert_allclose(p(values), expected, atol=1e-9)


def test_rules_sharing_atoms_keep_the_automaton():
    p = plan(parse("G (a -> O[1,2] (a | b))"), max_states=1000)
    assert "automaton" in p.describe()


CLOSED = ("O[{lo},{hi}] a", "H[{lo},{hi}] (a | b)", "a S[{lo},{hi}] b", "a U[{lo},{hi}] b", "F[{lo},{hi}] (a & !b)", "G[{lo},{hi}] a", "a W[{lo},{hi}] b")


@settings(max_examples=100)
@given(st.sampled_from(CLOSED), st.integers(1, 5), st.integers(0, 5), st.data())
def test_lower_bounded_closed_forms_equal_brute_force(template, lo, width, data):
    f = parse(template.format(lo=lo, hi=lo + width))
    p = plan(f, max_states=1000)
    assert p.describe() == "exact: one part; closed forms: 1", p.describe()
    names = p.names
    n = data.draw(st.integers(1, max(1, 8 // len(names))))
    values = probs(data.draw, n, len(names))
    np.testing.assert_allclose(p(values), brute_force(f, TraceTable(names, values)), atol=1e-12)


def test_docstring_examples():
    import doctest

    assert doctest.testmod(Wn).failed == 0


# ------------------------------------------------------------------ delayed until / since rules (a > 0)

DELAYED = (
    "G (a -> (b U[{lo},{hi}] c))",
    "G (a -> (!b U[{lo},{hi}] c))",
    "G (a -> (b S[{lo},{hi}] c))",
    "G (a -> (!b S[{lo},{hi}] c))",
    "G (!a | ((a | b) U[{lo},{hi}] c))",  # p and q share an atom
    "G (a & b -> (b S[{lo},{hi}] !c))",
    "G (b U[{lo},{hi}] c)",  # p = true
    "G (b S[{lo},{hi}] c)",
)


def delayed_formula(template, lo, width):
    f = parse(template.format(lo=lo, hi=lo + width))
    assert Wn.delayed_rule_of(f) is not None, template
    return f


@settings(max_examples=150)
@given(st.sampled_from(DELAYED), st.integers(1, 4), st.integers(0, 4), st.data())
def test_delayed_rules_equal_brute_force(template, lo, width, data):
    f = delayed_formula(template, lo, width)
    p = plan(f, max_states=1000)
    rule = Wn.delayed_rule_of(f)
    assert [(x.method, x.states) for x in p.parts] == [("counter", rule.n_states)], p.describe()
    names = p.names
    n = data.draw(st.integers(1, max(1, 7 // len(names))))
    values = probs(data.draw, n, len(names))
    np.testing.assert_allclose(p(values), brute_force(f, TraceTable(names, values)), atol=1e-12)


@settings(max_examples=40)
@given(st.sampled_from(DELAYED), st.integers(1, 5), st.integers(0, 5), st.data())
def test_delayed_rules_equal_monolithic_automaton(template, lo, width, data):
    f = delayed_formula(template, lo, width)
    names = atom_names(f)
    n = data.draw(st.integers(1, 40))
    values = np.array(data.draw(st.lists(st.floats(0, 1), min_size=n * len(names), max_size=n * len(names)))).reshape(n, len(names))
    expected = Evaluator(f, max_states=20_000, engine="automaton")(TraceTable(names, values))
    np.testing.assert_allclose(plan(f, max_states=1000)(values), expected, atol=1e-9)


@settings(max_examples=60)
@given(st.sampled_from(DELAYED), st.integers(1, 12), st.integers(0, 12), st.data())
def test_delayed_rules_on_boolean_traces_equal_reference(template, lo, width, data):
    from framelogic.logic.semantics import satisfaction

    f = delayed_formula(template, lo, width)
    names = atom_names(f)
    n = data.draw(st.integers(1, 60))
    bits = data.draw(st.lists(st.booleans(), min_size=n * len(names), max_size=n * len(names)))
    values = np.array(bits, dtype=float).reshape(n, len(names))
    expected = satisfaction(f, TraceTable(names, values)).astype(float)
    np.testing.assert_array_equal(plan(f, max_states=1000)(values), expected)


@pytest.mark.parametrize("kind", ["until", "since"])
def test_delayed_compiled_kernel_equals_plain_python(kind):
    f = parse("G (a -> (!b U[3,9] c))" if kind == "until" else "G (a -> (!b S[3,9] c))")
    rule = Wn.delayed_rule_of(f)
    values = np.random.default_rng(3).random((80, 3))
    cols = _Columns(values, {"a": 0, "b": 1, "c": 2})
    plain = rule(cols.prob, 80)  # 80 x 80 states: below the JIT threshold
    old = Wn._JIT_WORK
    try:
        Wn._JIT_WORK = 0
        compiled = rule(cols.prob, 80)
    finally:
        Wn._JIT_WORK = old
    np.testing.assert_allclose(plain, compiled, rtol=1e-12, atol=1e-15)


def test_delayed_rules_in_seconds_are_planned_as_counters():
    from framelogic.logic.passes import resolve_time

    for text in ("G (a -> (!b U[1s,3s] c))", "G (a -> (b S[1s,3s] c))"):
        p = plan(resolve_time(parse(text), 30), max_states=100_000)
        assert p.describe() == "exact: one part; counters: 1", p.describe()
        assert [x.states for x in p.parts] == [91 * 62]


@pytest.mark.parametrize(
    "text",
    [
        "G (a -> (b U[1,3] (c | a)))",  # r shares an atom with p
        "G (a -> (b S[1,3] (b & c)))",  # r shares an atom with q
        "G (a -> (b U[0,3] c))",  # no delay: the [0,b] counters
        "G (a -> (b U[1,3] c) & F[0,2] c)",  # two windows
        "G (a -> (b U[1,inf] c))",
    ],
)
def test_not_delayed_rules(text):
    assert Wn.delayed_rule_of(parse(text)) is None


def test_delayed_rule_over_the_limit_fails_fast():
    f = parse("G (a -> (b U[10,60] c))")  # 61 x 52 = 3,172 states
    assert Wn.delayed_rule_of(f).n_states == 3172
    assert plan(f, max_states=199).parts[0].method == "counter"  # 16 x 199 = 3,184
    with pytest.raises(AutomatonTooLarge, match=r"the part G \(a -> b U\[10,60\] c\).*delayed until window needs a chain of 3,172 states"):
        plan(f, max_states=198)


# ------------------------------------------------------------------ a delayed once rule beside a response rule

PAIRS = (
    "G (a -> O[{lo},{hi}] b) & G (b -> F[0,{h}] c)",
    "G (a -> O[{lo},{hi}] (b | c)) & G (!b -> F[0,{h}] c)",
    "G (b -> F[0,{h}] c) & G (a & d -> O[{lo},{hi}] !c)",
    "G (a -> O[{lo},{hi}] b) & G F[0,{h}] b",
)


def pair_formula(template, lo, width, h):
    f = parse(template.format(lo=lo, hi=lo + width, h=h))
    assert Wn.delayed_pair_of(f) is not None, template
    return f


@settings(max_examples=150)
@given(st.sampled_from(PAIRS), st.integers(1, 3), st.integers(0, 3), st.integers(0, 3), st.data())
def test_delayed_pair_equals_brute_force(template, lo, width, h, data):
    f = pair_formula(template, lo, width, h)
    p = plan(f, max_states=1000)
    assert [(x.method, x.states) for x in p.parts] == [("counter", Wn.delayed_pair_of(f).n_states)], p.describe()
    names = p.names
    n = data.draw(st.integers(1, max(1, 12 // len(names))))
    values = probs(data.draw, n, len(names))
    np.testing.assert_allclose(p(values), brute_force(f, TraceTable(names, values)), atol=1e-12)


@settings(max_examples=30)
@given(st.sampled_from(PAIRS), st.integers(1, 4), st.integers(0, 4), st.integers(0, 4), st.data())
def test_delayed_pair_equals_monolithic_automaton(template, lo, width, h, data):
    f = pair_formula(template, lo, width, h)
    names = atom_names(f)
    n = data.draw(st.integers(1, 30))
    values = np.array(data.draw(st.lists(st.floats(0, 1), min_size=n * len(names), max_size=n * len(names)))).reshape(n, len(names))
    expected = Evaluator(f, max_states=50_000, engine="automaton")(TraceTable(names, values))
    np.testing.assert_allclose(plan(f, max_states=1000)(values), expected, atol=1e-9)


@settings(max_examples=60)
@given(st.sampled_from(PAIRS), st.integers(1, 10), st.integers(0, 10), st.integers(0, 10), st.data())
def test_delayed_pair_on_boolean_traces_equals_reference(template, lo, width, h, data):
    from framelogic.logic.semantics import satisfaction

    f = pair_formula(template, lo, width, h)
    names = atom_names(f)
    n = data.draw(st.integers(1, 50))
    bits = data.draw(st.lists(st.booleans(), min_size=n * len(names), max_size=n * len(names)))
    values = np.array(bits, dtype=float).reshape(n, len(names))
    expected = satisfaction(f, TraceTable(names, values)).astype(float)
    np.testing.assert_array_equal(plan(f, max_states=1000)(values), expected)


def test_delayed_pair_compiled_equals_plain_python():
    f = parse("G (a -> O[4,9] b) & G (b -> F[0,6] c)")
    pair = Wn.delayed_pair_of(f)
    values = np.random.default_rng(5).random((60, 3))
    cols = _Columns(values, {"a": 0, "b": 1, "c": 2})
    plain = pair(cols.prob, 60)
    old = Wn._JIT_WORK
    try:
        Wn._JIT_WORK = 0
        compiled = pair(cols.prob, 60)
    finally:
        Wn._JIT_WORK = old
    np.testing.assert_allclose(plain, compiled, rtol=1e-12, atol=1e-15)


def test_delayed_pair_in_seconds_is_planned_as_a_counter():
    from framelogic.logic.passes import resolve_time

    p = plan(resolve_time(parse("G (a -> O[1s,2s] b) & G (b -> F[0,2s] c)"), 30), max_states=100_000)
    assert p.describe() == "exact: one part; counters: 1" and [x.states for x in p.parts] == [31 * 62]
    with pytest.raises(AutomatonTooLarge, match=r"delayed once rule and response rule need a chain of 1,922 states"):
        plan(resolve_time(parse("G (a -> O[1s,2s] b) & G (b -> F[0,2s] c)"), 30), max_states=120)


@pytest.mark.parametrize(
    "text",
    [
        "G (a -> O[1,3] b) & G (a -> F[0,2] c)",  # p's atom in the response rule
        "G (a -> O[1,3] (a | b)) & G (b -> F[0,2] c)",  # p's atom in q
        "G (a -> H[1,3] b) & G (b -> F[0,2] c)",  # H: not covered
        "G (a -> O[1,3] b) & G (b -> O[0,2] c)",  # the other rule is past
        "G (a -> O[1,3] b) & G (b -> F[1,2] c)",  # the response has a delay too
        "G (a -> O[1,3] b) & G (b -> F[0,2] c) & G (c -> F[0,1] b)",  # three rules
    ],
)
def test_not_delayed_pairs(text):
    assert Wn.delayed_pair_of(parse(text)) is None
