"""Counters for bounded rules G (p -> O/H/S/U/F[0,b] ...), alone and as product
counters over shared atoms: against the monolithic automaton, brute force over
all worlds, and the planner's choice of method."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framelogic.automata import kernels as K
from framelogic.automata.counters import product, rule_of, rules_of
from framelogic.automata.engine import Evaluator
from framelogic.automata.factor import factor, leaves
from framelogic.automata.plan import _Columns, plan
from framelogic.logic import ast as A
from framelogic.logic import parse
from framelogic.logic.passes import atom_names, resolve_time
from framelogic.logic.strategies import traces
from framelogic.logic.trace import TraceTable
from worlds import brute_force

PROPS = [parse(s) for s in ["a", "b", "c", "!a", "a & b", "a | !b", "b | c", "a & !c", "!b & c", "true"]]
KINDS = ("O", "H", "S", "U", "F")


def capped(n):
    """At most ``n`` examples (each builds a monolithic automaton or enumerates worlds):
    the file stays within CI's time budget."""
    return settings(max_examples=min(settings.default.max_examples, n))


def body(kind, q, r, b):
    bound = A.Bound(0, b)
    return {
        "O": lambda: A.temporal(A.Once, q, bound=bound),
        "H": lambda: A.temporal(A.Historically, q, bound=bound),
        "S": lambda: A.temporal(A.Since, q, r, bound=bound),
        "U": lambda: A.temporal(A.Until, q, r, bound=bound),
        "F": lambda: A.temporal(A.Eventually, r, bound=bound),
    }[kind]()


@st.composite
def rule_specs(draw, max_rules=3, max_bound=4):
    """Conjunctions of 1..max_rules rules G (p -> B) with random kinds, letters and bounds."""
    rules = []
    for _ in range(draw(st.integers(1, max_rules))):
        p, q, r = (draw(st.sampled_from(PROPS)) for _ in range(3))
        b = body(draw(st.sampled_from(KINDS)), q, r, draw(st.integers(0, max_bound)))
        rules.append(A.Always(A.implies(p, b)))
    return A.conj(*rules)


def counter_signal(f, values):
    names = atom_names(f)
    counter = product(rules_of(f))
    cols = _Columns(values, {x: j for j, x in enumerate(names)})
    return counter(cols.prob, len(values))


def automaton(f, t):
    return Evaluator(f, max_states=100_000, engine="automaton")(t)


@capped(100)
@given(rule_specs(), traces(("a", "b", "c"), min_len=1, max_len=12, probabilistic=True))
def test_plan_equals_automaton_on_rule_conjunctions(f, t):
    sub = t.select(atom_names(f))
    assert np.allclose(plan(f, max_states=100_000)(sub.values), automaton(f, t), atol=1e-9)


@capped(60)
@given(rule_specs(max_bound=3), st.integers(1, 3).flatmap(lambda n: traces(("a", "b", "c"), min_len=n, max_len=n, probabilistic=True)))
def test_plan_equals_enumeration_of_all_worlds(f, t):
    sub = t.select(atom_names(f))
    if len(sub) * max(len(sub.names), 1) > 8:
        sub = TraceTable(sub.names, sub.values[: max(1, 8 // max(len(sub.names), 1))])
    assert np.allclose(plan(f, max_states=100_000)(sub.values), brute_force(f, sub), atol=1e-9)


@capped(100)
@given(rule_specs(), traces(("a", "b", "c"), min_len=1, max_len=12, probabilistic=True))
def test_counter_product_equals_automaton(f, t):
    """The product counter itself (every rule shape, also those the planner
    evaluates otherwise, e.g. a single response rule or independent rules)."""
    if rules_of(f) is None:  # a rule folded by the smart constructors (p = false, ...)
        return
    sub = t.select(atom_names(f))
    assert np.allclose(counter_signal(f, sub.values), automaton(f, t), atol=1e-9)


@capped(200)
@given(rule_specs())
def test_planner_uses_counters_for_rules(f):
    """Every leaf of the plan of a rule conjunction is a propositional part, a closed
    form or a counter: no automaton part."""
    p = plan(f, max_states=100_000)
    assert all(part.method in ("propositional", "closed form", "counter") for part in p.parts), p.describe()


def test_compiled_kernel_equals_plain_python():
    f = parse("G (a -> (!b S[0,3] c)) & G (c -> O[0,2] (a | b)) & G (b -> F[0,2] a) & G (a -> H[0,2] !c)")
    names = atom_names(f)
    values = np.random.default_rng(3).random((300, len(names)))
    counter = product(rules_of(f))
    cols = _Columns(values, {x: j for j, x in enumerate(names)})
    coef, weight = counter.coefficients(cols.prob, len(values))
    outs = []
    for fn in (K.counter_product, K.compiled(K.counter_product)):
        out = np.empty(len(values))
        fn(*counter.back, *counter.fwd, coef, weight, counter.r_end.copy(), counter.q0.copy(), counter.stride, 17, out)
        outs.append(out)
    assert np.allclose(outs[0], outs[1], atol=1e-12)
    t = TraceTable(names, values[:60])
    assert np.allclose(counter_signal(f, values[:60]), automaton(f, t), atol=1e-9)


def plain_and_compiled(run):
    """``run()`` in plain Python (long-trace threshold out of reach), then compiled."""
    outs = []
    for threshold in (10**9, 0):
        old, K.JIT_THRESHOLD = K.JIT_THRESHOLD, threshold
        try:
            outs.append(run())
        finally:
            K.JIT_THRESHOLD = old
    return outs


@pytest.mark.parametrize("text", ["G (a -> O[0,5] (b | c))", "G (a -> H[0,6] !b)", "G (a -> (!b S[0,7] c))", "G (a -> O[0,0] b)"])
def test_single_past_rule_compiled_equals_plain_python(text):
    """One past rule: the Horner sum over the frames before i instead of a forward pass."""
    f = parse(text)
    names = atom_names(f)
    values = np.random.default_rng(5).random((200, len(names)))
    counter = product(rules_of(f))
    cols = _Columns(values, {x: j for j, x in enumerate(names)})
    outs = plain_and_compiled(lambda: counter(cols.prob, len(values)))
    assert np.allclose(outs[0], outs[1], atol=1e-12)
    assert np.allclose(counter_signal(f, values[:50]), automaton(f, TraceTable(names, values[:50])), atol=1e-9)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("G (brake -> O[0,1s] (ped | red | car_close)) & G (turn -> H[0,2s] signal)",
         "exact: product of 2 independent parts; counters: 2"),
        ("G (moving -> (!red S[0,10s] green)) & G (brake -> O[0,1s] (ped | red | car_close))",
         "exact: one part; counters: 1 (product of 2 sharing red: 1,111 states)"),
        ("G (yellow -> (!accel U[0,3s] red)) & G (red -> (!accel U[0,20s] green))",
         "exact: one part; counters: 1 (product of 2 sharing accel, red: 6,231 states)"),
        ("G (turn -> H[0,2s] signal) & G (signal -> F[0,3s] turn)",
         "exact: one part; counters: 1 (product of 2 sharing signal, turn: 651 states)"),
    ],
)
def test_describe_names_the_product(text, expected):
    f = resolve_time(parse(text), 10)
    assert plan(f, max_states=100_000).describe() == expected


def test_rules_in_factored_form_are_recognized():
    # factoring distributes O over | and H over &; the counter takes them back
    f = resolve_time(parse("G (brake -> O[0,1s] (ped | red | car_close)) & G (turn -> H[0,2s] (signal & lamp))"), 5)
    parts = [rule_of(leaf) for leaf in leaves(factor(f))]
    assert [(r.kind, r.bound) for r in parts] == [("once", 5), ("historically", 10)]
    assert rule_of(parse("G (a -> O[1,3] b)")) is None  # a lower bound needs more than a counter
    assert rule_of(parse("G (a -> H b)")) is None  # unbounded


def test_over_budget_product_is_named_and_bounds_are_offered():
    f = resolve_time(parse("G (yellow -> (!accel U[0,3s] red)) & G (red -> (!accel U[0,20s] green))"), 60)
    from framelogic.logic.errors import AutomatonTooLarge

    assert "217,381 states" in plan(f, max_states=100_000).describe()  # a pair: 4 x max_states
    with pytest.raises(AutomatonTooLarge, match="217,381 states \\(the limit is 200,000\\)"):
        plan(f, max_states=50_000)
    b = plan(f, max_states=50_000, approx="bounds")
    assert b.approximate and "Fréchet" in b.describe()
    values = np.random.default_rng(0).random((200, len(b.names)))
    lower, upper = b(values)
    exact = plan(f, max_states=300_000)(values)
    assert np.all(lower <= exact + 1e-12) and np.all(exact <= upper + 1e-12)


def single_rule(kind, p, q, r, b):
    return A.Always(A.implies(p, body(kind, q, r, b)))


@st.composite
def long_probability_traces(draw, names=("a", "b", "c"), max_len=2000):
    """Up to ``max_len`` frames, probabilities mixed with exact 0s and 1s."""
    n = draw(st.integers(1, max_len))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    v = rng.random((n, len(names)))
    if draw(st.booleans()):  # near-certain letters: long traces keep signals far from 0
        v = np.where(rng.random(v.shape) < 0.5, 0.97 + 0.03 * v, 0.03 * v)
    hard = draw(st.floats(0.0, 0.5))
    v[rng.random(v.shape) < hard / 2] = 0.0
    v[rng.random(v.shape) < hard / 2] = 1.0
    return TraceTable(names, v)


@capped(150)
@given(
    st.sampled_from(KINDS), st.sampled_from(PROPS), st.sampled_from(PROPS), st.sampled_from(PROPS),
    st.integers(1, 300), long_probability_traces(),
)
def test_window_counter_equals_dense_counter(kind, p, q, r, b, t):
    """One rule alone in O(n) (blocked sliding windows) == the O(n·b) counter, to 1e-9
    relative, on long traces and bounds up to 300 (longer than some traces)."""
    f = single_rule(kind, p, q, r, b)
    rules = rules_of(f)
    if rules is None or len(rules) != 1:  # folded by the smart constructors
        return
    names = atom_names(f)
    sub = t.select(names)
    counter = product(rules)
    cols = _Columns(sub.values, {x: j for j, x in enumerate(names)})
    fast, dense = counter(cols.prob, len(sub)), counter(cols.prob, len(sub), window=False)
    assert np.allclose(fast, dense, rtol=1e-9, atol=1e-290)


@pytest.mark.parametrize("kind", KINDS)
def test_window_counter_compiled_equals_plain_python(kind):
    f = single_rule(kind, parse("a | !c"), parse("b"), parse("c & !a"), 37)
    names = atom_names(f)
    values = np.random.default_rng(7).random((500, len(names)))
    counter = product(rules_of(f))
    cols = _Columns(values, {x: j for j, x in enumerate(names)})
    outs = plain_and_compiled(lambda: counter(cols.prob, len(values)))
    assert np.allclose(outs[0], outs[1], rtol=1e-12, atol=0)
    assert np.allclose(outs[0], counter(cols.prob, len(values), window=False), rtol=1e-9, atol=1e-290)


@st.composite
def rule_pairs(draw, max_bound=12):
    """Two rules G (p -> B) over the same three atoms (so they share some), any kinds and bounds."""
    rules = []
    for _ in range(2):
        p, q, r = (draw(st.sampled_from(PROPS)) for _ in range(3))
        rules.append(single_rule(draw(st.sampled_from(KINDS)), p, q, r, draw(st.integers(0, max_bound))))
    return A.conj(*rules)


@capped(120)
@given(rule_pairs(), long_probability_traces(max_len=300))
def test_pair_kernel_equals_axis_product(f, t):
    """Two rules through the pair kernel (joint op coefficients, rows built once; a Horner
    sum for one past rule) == the axis-by-axis product conditioned on the shared atoms, to
    1e-9 relative on traces up to 300 frames with exact 0s and 1s."""
    rules = rules_of(f)
    if rules is None or len(rules) != 2:  # folded by the smart constructors
        return
    names = atom_names(f)
    sub = t.select(names)
    counter = product(rules)
    cols = _Columns(sub.values, {x: j for j, x in enumerate(names)})
    fast, axes = counter(cols.prob, len(sub)), counter(cols.prob, len(sub), pair=False)
    assert np.allclose(fast, axes, rtol=1e-9, atol=1e-290)


@capped(60)
@given(rule_pairs(max_bound=5), traces(("a", "b", "c"), min_len=1, max_len=10, probabilistic=True))
def test_pair_kernel_equals_automaton(f, t):
    rules = rules_of(f)
    if rules is None or len(rules) != 2:
        return
    sub = t.select(atom_names(f))
    assert np.allclose(counter_signal(f, sub.values), automaton(f, t), atol=1e-9)


SUITE_SHAPES = [
    "G (moving -> (!red S[0,10s] green)) & G (brake -> O[0,1s] (ped | red | car_close))",
    "G (turn -> H[0,2s] signal) & G (signal -> F[0,3s] turn)",
    "G (yellow -> (!accel U[0,3s] red)) & G (red -> (!accel U[0,20s] green))",
    "G (a -> H[0,3] b) & G (b -> H[0,2] !a)",
    "G (a -> (b S[0,3] c)) & G (c -> F[0,2] a)",
]


@pytest.mark.parametrize("text", SUITE_SHAPES)
def test_pair_kernel_compiled_equals_plain_python(text):
    """The suite's shared-atom specs (at 2 fps) and two more shapes: the compiled pair
    kernel == plain Python == the axis-by-axis product; the automaton on a short prefix."""
    f = resolve_time(parse(text), 2)
    names = atom_names(f)
    values = np.random.default_rng(11).random((400, len(names)))
    values[values < 0.05] = 0.0
    counter = product(rules_of(f))
    cols = _Columns(values, {x: j for j, x in enumerate(names)})
    outs = plain_and_compiled(lambda: counter(cols.prob, len(values)))
    assert np.allclose(outs[0], outs[1], rtol=1e-12, atol=1e-300)
    assert np.allclose(outs[0], counter(cols.prob, len(values), pair=False), rtol=1e-9, atol=1e-300)
    short = TraceTable(names, np.where(values[:30] > 0.5, 0.9, 0.1))
    assert np.allclose(counter_signal(f, short.values), automaton(f, short), atol=1e-9)


@st.composite
def rule_sets(draw, min_rules=3, max_rules=4, max_bound=4):
    """3-4 rules G (p -> B) over the same three atoms (so they share some), any kinds and
    small bounds (the axis product and the automaton stay small)."""
    rules = []
    for _ in range(draw(st.integers(min_rules, max_rules))):
        p, q, r = (draw(st.sampled_from(PROPS)) for _ in range(3))
        rules.append(single_rule(draw(st.sampled_from(KINDS)), p, q, r, draw(st.integers(0, max_bound))))
    return A.conj(*rules)


@capped(60)
@given(rule_sets(), long_probability_traces(max_len=80))
def test_joint_kernel_equals_axis_product(f, t):
    """3-4 rules through the joint kernel (op-tuple coefficients, fan-in and fan-out slots,
    each destination row written once) == the axis-by-axis product conditioned on the
    shared atoms, to 1e-9 relative, with exact 0s and 1s in the trace."""
    rules = rules_of(f)
    if rules is None or len(rules) < 3:  # folded by the smart constructors
        return
    names = atom_names(f)
    sub = t.select(names)
    counter = product(rules)
    cols = _Columns(sub.values, {x: j for j, x in enumerate(names)})
    joint, axes = counter(cols.prob, len(sub), joint=True), counter(cols.prob, len(sub), pair=False, joint=False)
    assert np.allclose(joint, axes, rtol=1e-9, atol=1e-290)


@capped(30)
@given(rule_sets(max_bound=2), traces(("a", "b", "c"), min_len=1, max_len=8, probabilistic=True))
def test_joint_kernel_equals_automaton(f, t):
    rules = rules_of(f)
    if rules is None or len(rules) < 3:
        return
    names = atom_names(f)
    sub = t.select(names)
    counter = product(rules)
    cols = _Columns(sub.values, {x: j for j, x in enumerate(names)})
    assert np.allclose(counter(cols.prob, len(sub), joint=True), automaton(f, t), atol=1e-9)


@capped(80)
@given(rule_sets(min_rules=1, max_rules=2, max_bound=6), long_probability_traces(max_len=120))
def test_joint_kernel_on_one_or_two_rules(f, t):
    """The joint kernel on one rule (a single axis) or two == the window counter / pair kernel."""
    rules = rules_of(f)
    if rules is None:
        return
    names = atom_names(f)
    sub = t.select(names)
    counter = product(rules)
    cols = _Columns(sub.values, {x: j for j, x in enumerate(names)})
    assert np.allclose(counter(cols.prob, len(sub), joint=True), counter(cols.prob, len(sub)), rtol=1e-9, atol=1e-290)


JOINT_SHAPES = [
    "G (red -> F[0,3s] stopped) & G (ped -> F[0,2s] brake) & G (brake -> O[0,1s] (ped | red | car_close)) "
    "& G (yellow -> (!accel U[0,3s] (red | stop_sign)))",
    "G (a -> (!b S[0,3] c)) & G (c -> O[0,2] (a | b)) & G (b -> F[0,2] a) & G (a -> H[0,2] !c)",
    "G (a -> H[0,3] b) & G (b -> H[0,2] !a) & G (c -> O[0,4] a)",
    # fan-outs on several outer axes (three future rules; two past rules with forward
    # fan-outs): the slot rows' spreads telescope through rows written in order
    "G (a -> F[0,3] b) & G (b -> (!c U[0,2] a)) & G (c -> F[0,4] a) & G (a -> O[0,3] c) & G (b -> (a S[0,2] c))",
    # a last rule without a band (F[0,1]) and one with b = 0: the op-by-op row path
    "G (a -> F[0,1] b) & G (b -> O[0,3] c) & G (c -> F[0,0] a) & G (a -> (b S[0,2] c))",
]


@pytest.mark.parametrize("text", JOINT_SHAPES)
def test_joint_kernel_compiled_equals_plain_python(text):
    """The suite's 4-rule product (at 1 fps) and two more shapes (several past rules: a
    forward pass too): compiled == plain Python == the axis product."""
    f = resolve_time(parse(text), 1)
    names = atom_names(f)
    values = np.random.default_rng(13).random((300, len(names)))
    values[values < 0.05] = 0.0
    counter = product(rules_of(f))
    cols = _Columns(values, {x: j for j, x in enumerate(names)})
    outs = plain_and_compiled(lambda: counter(cols.prob, len(values), joint=True))
    assert np.allclose(outs[0], outs[1], rtol=1e-12, atol=1e-300)
    assert np.allclose(outs[0], counter(cols.prob, len(values), pair=False, joint=False), rtol=1e-9, atol=1e-300)


def test_planner_runs_the_ten_atom_spec_through_one_product():
    """The suite's 10-atom spec at 5 fps: one 4-rule product (the joint kernel) and the
    independent turn rule; at 10 fps the product (221,991 states) is over max_states."""
    text = (
        "G (red -> F[0,3s] stopped) & G (ped -> F[0,2s] brake) & G (brake -> O[0,1s] (ped | red | car_close)) "
        "& G (turn -> H[0,2s] signal) & G (yellow -> (!accel U[0,3s] (red | stop_sign)))"
    )
    p = plan(resolve_time(parse(text), 5), max_states=100_000)
    assert p.describe() == (
        "exact: product of 2 independent parts; counters: 2 (product of 4 sharing brake, ped, red: 16,896 states)"
    )
    from framelogic.logic.errors import AutomatonTooLarge

    with pytest.raises(AutomatonTooLarge, match="221,991 states \\(the limit is 100,000\\)"):
        plan(resolve_time(parse(text), 10), max_states=100_000)


def test_joint_kernel_stops_once_the_backward_counter_is_zero():
    """A frame that breaks a rule surely makes R exactly 0 before it: the joint kernel stops
    stepping there (0 is exact) and still == the axis product, compiled == plain Python."""
    f = resolve_time(parse(JOINT_SHAPES[0]), 1)
    names = atom_names(f)
    values = np.random.default_rng(5).random((400, len(names)))
    values[250, names.index("red")] = 1.0
    values[250:254, names.index("stopped")] = 0.0  # G (red -> F[0,3] stopped) fails at 250
    counter = product(rules_of(f))
    cols = _Columns(values, {x: j for j, x in enumerate(names)})
    outs = plain_and_compiled(lambda: counter(cols.prob, len(values), joint=True))
    assert np.allclose(outs[0], outs[1], rtol=1e-12, atol=1e-300)
    assert np.all(outs[1][:251] == 0.0) and outs[1][251:].max() > 0.0
    assert np.allclose(outs[1], counter(cols.prob, len(values), pair=False, joint=False), rtol=1e-9, atol=1e-300)
