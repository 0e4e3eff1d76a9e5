"""The monitor's counters (automata/monitor_counters.py): rules G (p -> O/H/S/U/F[0,b] ...),
alone, merged and as products over shared atoms, and delayed windows G (p -> F[lo,hi] r),
against the automaton monitor (statuses on 0/1 and probability frames), brute force over
all worlds, and the reference semantics on every prefix with large bounds."""

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from framelogic.automata.monitor import Monitor, Verdict, _CounterPart
from framelogic.automata.monitor_counters import counter_filter, estimate_states
from framelogic.logic import ast as A
from framelogic.logic import parse, satisfaction
from framelogic.logic.errors import AutomatonTooLarge
from framelogic.logic.strategies import formulas, traces

from test_counters import PROPS, body
from worlds import brute_force

ATOMS = ("a", "b", "c")


def capped(n):
    """At most ``n`` examples (the automaton monitor is the slow side): the file stays
    within CI's time budget."""
    return settings(max_examples=min(settings.default.max_examples, n))


@st.composite
def rule_specs(draw, max_rules=3, max_bound=4, kinds=("O", "H", "S", "U", "F")):
    """Conjunctions of rules G (p -> B), including rules that share q and r (merged into
    one counter) and delayed windows F[lo,hi]."""
    rules = []
    for _ in range(draw(st.integers(1, max_rules))):
        p, q, r = (draw(st.sampled_from(PROPS)) for _ in range(3))
        kind = draw(st.sampled_from(kinds))
        b = draw(st.integers(0, max_bound))
        if rules and draw(st.booleans()):  # reuse q, r and kind of an earlier rule: one counter
            prev = draw(st.sampled_from(rules))
            rhs = prev.arg.right if isinstance(prev.arg, A.Implies) else None
            if rhs is not None and hasattr(rhs, "bound"):
                rules.append(A.Always(A.implies(p, type(rhs)(*[c for c in A.children(rhs)], bound=A.Bound(0, b)))))
                continue
        rules.append(A.Always(A.implies(p, body(kind, q, r, b))))
    return A.conj(*rules)


@st.composite
def delayed_specs(draw, max_bound=5):
    lo = draw(st.integers(1, max_bound))
    hi = draw(st.integers(lo, lo + max_bound))
    p = draw(st.sampled_from([parse("a"), parse("!a"), parse("a & b"), parse("a | b")]))
    r = draw(st.sampled_from([parse("c"), parse("!c"), parse("c | d")]))
    return A.Always(A.implies(p, A.temporal(A.Eventually, r, bound=A.Bound(lo, hi))))


def _statuses(m, t):
    return [(s.verdict, s.probability, s.p_satisfied, s.p_violated) for s in m.run(t)]


def _same(got, want, tol=0.0):
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g[0] is w[0], (i, g, w)
        for x, y in zip(g[1:], w[1:]):
            assert abs(x - y) <= tol, (i, g, w)


def _counted(m):
    return any(isinstance(p, _CounterPart) for p in m._parts)


@capped(200)
@given(rule_specs(), traces(ATOMS, max_len=12))
def test_counters_equal_the_automaton_monitor_on_01_frames(f, t):
    m, ref = Monitor(f), Monitor(f, counters=False)
    _same(_statuses(m, t), _statuses(ref, t))


@capped(150)
@given(rule_specs(max_rules=2, max_bound=3), traces(ATOMS, max_len=8, probabilistic=True))
def test_counters_equal_the_automaton_monitor_on_probabilities(f, t):
    m, ref = Monitor(f), Monitor(f, counters=False)
    got, want = _statuses(m, t), _statuses(ref, t)
    for g, w in zip(got, want):
        for x, y in zip(g[1:], w[1:]):
            assert abs(x - y) < 1e-9, (f, g, w)


@capped(80)
@given(delayed_specs(), st.data())
def test_delayed_windows_equal_the_automaton_monitor(f, data):
    names = ("a", "b", "c", "d")
    m, ref = Monitor(f), Monitor(f, counters=False)
    assert _counted(m)
    t = data.draw(traces(names, max_len=14))
    _same(_statuses(m, t), _statuses(ref, t))
    t = data.draw(traces(names, max_len=10, probabilistic=True))
    got, want = _statuses(m, t), _statuses(ref, t)
    for g, w in zip(got, want):
        for x, y in zip(g[1:], w[1:]):
            assert abs(x - y) < 1e-9, (f, g, w)


@capped(60)
@given(rule_specs(max_rules=2, max_bound=2), traces(("a", "b", "c"), max_len=3, probabilistic=True))
def test_counter_probabilities_equal_brute_force_on_every_prefix(f, t):
    m = Monitor(f)
    for i, s in enumerate(m.run(t)):
        assert abs(s.probability - brute_force(f, t.slice(0, i + 1))[0]) < 1e-9


@capped(100)
@given(rule_specs(max_rules=4, max_bound=300), traces(ATOMS, min_len=1, max_len=30))
def test_large_bounds_on_every_prefix_equal_the_reference_semantics(f, t):
    m = Monitor(f)
    for i, s in enumerate(m.run(t)):
        holds = bool(satisfaction(f, t.slice(0, i + 1))[0])
        assert s.probability == float(holds)
        if s.verdict is Verdict.VIOLATED:  # violations are final: every longer prefix fails too
            assert not any(satisfaction(f, t.slice(0, j + 1))[0] for j in range(i, len(t)))


def test_rules_sharing_q_and_r_are_one_counter_at_any_frame_rate():
    m = Monitor("G (red -> F[0,3s] stopped) & G (stop_sign -> F[0,5s] stopped)", fps=60)
    (part,) = m._parts
    assert isinstance(part, _CounterPart) and part.filter.n_states == 301
    s = m.step({"red": 0.5, "stop_sign": 0.2, "stopped": 0.1})
    assert abs(s.probability - (1 - 0.6 * 0.9)) < 1e-12  # the prefix fails iff an obligation is pending
    assert s.p_violated == 0.0 and s.p_satisfied == 0.0


def test_products_over_the_budget_fail_on_probabilities_only_and_say_what_to_do():
    m = Monitor("G (yellow -> (!accel U[0,3s] red)) & G (red -> (!accel U[0,20s] green))", fps=60, max_states=10_000)
    frame = {"yellow": 0, "accel": 0, "red": 0, "green": 1}
    assert m.step(frame).verdict is Verdict.PRESUMABLY_SATISFIED  # 0/1 frames need no product
    with pytest.raises(AutomatonTooLarge, match=r"217,381 states .*max_states=10,000.*threshold"):
        m.step({**frame, "red": 0.5})


def test_doomed_states_are_violations_when_rules_pull_one_frame_both_ways():
    # the F rule needs a turn within 2 frames, the H rule forbids a turn without 3 frames of signal
    f = "G (turn -> H[0,3] signal) & G (signal -> F[0,2] turn)"
    m = Monitor(f)
    assert _counted(m) and m._parts[0].filter.live is not None
    ref = Monitor(f, counters=False)
    frames = [{"turn": 0, "signal": 0}, {"turn": 0, "signal": 1}]
    got = [m.step(x).verdict for x in frames]
    assert got == [ref.step(x).verdict for x in frames]
    # a turn by frame 3 would need signal on frames 0..3: no continuation satisfies both rules
    assert got == [Verdict.PRESUMABLY_SATISFIED, Verdict.VIOLATED]


def test_the_monitor_skips_automata_its_estimate_rules_out():
    f = parse("F[0,600] (ped & X (brake & F[0,60] (stopped | X stopped)))")
    assert estimate_states(f) > 100_000
    m = Monitor(f)
    assert "streaming" in m.describe()
    assert counter_filter(f, 100_000) is None


@st.composite
def chains(draw, max_levels=3, max_bound=4):
    """Sequences F[0,b1] (a1 & F[0,b2] (a2 & ...)) over a, b, c."""
    props = [parse(x) for x in ("a", "b", "c", "!a", "a & b", "b | c", "true")]
    levels = [(draw(st.sampled_from(props)), draw(st.integers(0, max_bound))) for _ in range(draw(st.integers(2, max_levels)))]
    f = A.temporal(A.Eventually, levels[-1][0], bound=A.Bound(0, levels[-1][1]))
    for a, b in reversed(levels[:-1]):
        f = A.temporal(A.Eventually, A.conj(a, f), bound=A.Bound(0, b))
    return f


@capped(150)
@given(chains(), st.data())
def test_sequences_equal_the_automaton_monitor(f, data):
    m, ref = Monitor(f), Monitor(f, counters=False)
    t = data.draw(traces(ATOMS, max_len=14))
    _same(_statuses(m, t), _statuses(ref, t))
    t = data.draw(traces(ATOMS, max_len=8, probabilistic=True))
    got, want = _statuses(m, t), _statuses(ref, t)
    for g, w in zip(got, want):
        for x, y in zip(g[1:], w[1:]):
            assert abs(x - y) < 1e-9, (f, g, w)


def test_a_sequence_at_60_fps_is_a_small_filter():
    m = Monitor("F[0,10s] (ped & F[0,1s] (brake & F[0,500ms] stopped))", fps=60)
    assert "sequence of 3 steps (1,985 states)" in m.describe()
    s = m.step({"ped": 0.5, "brake": 0.5, "stopped": 0.5})
    assert abs(s.probability - 0.125) < 1e-12 and s.p_satisfied == s.probability and s.p_violated == 0.0


@capped(100)
@given(formulas(ATOMS, max_depth=3, max_bound=40), traces(ATOMS, max_len=12))
def test_any_formula_with_large_bounds_on_every_prefix_equals_the_reference_semantics(f, t):
    # a small budget: parts that are not counters are followed by their streaming signal
    m = Monitor(f, max_states=50)
    if not m.atoms:
        return
    t = t.select(m.atoms)
    final = None
    for i, s in enumerate(m.run(t)):
        holds = bool(satisfaction(f, t.slice(0, i + 1))[0])
        assert s.probability == float(holds)
        assert (s.verdict in (Verdict.SATISFIED, Verdict.PRESUMABLY_SATISFIED)) == holds
        if final is not None:
            assert s.verdict is final  # final verdicts stay
        elif s.verdict.final:
            final = s.verdict


def test_the_delayed_window_product_is_exact_with_zeros():
    from collections import deque

    from framelogic.automata.monitor_counters import _SlidingProduct

    rng = np.random.default_rng(1)
    window, queue = _SlidingProduct(), deque()
    for _ in range(500):
        x = float(rng.choice([0.0, 1.0, rng.random()]))
        window.push(x)
        queue.append(x)
        if len(queue) > 7:
            queue.popleft()
            window.pop()
        assert abs(window.product() - np.prod(queue)) < 1e-12


def test_module_doctests():
    import doctest

    from framelogic.automata import monitor_counters

    result = doctest.testmod(monitor_counters)
    assert result.attempted > 0 and result.failed == 0


@capped(80)
@given(rule_specs(max_rules=3, max_bound=2), traces(("a", "b", "c"), max_len=6, probabilistic=True))
def test_products_of_three_counters_reuse_partial_products_exactly(f, t):
    # with three counters, some read only part of the shared atoms: the product step
    # reuses their results across values of the other shared atoms
    m, ref = Monitor(f), Monitor(f, counters=False)
    for g, w in zip(_statuses(m, t), _statuses(ref, t)):
        for x, y in zip(g[1:], w[1:]):
            assert abs(x - y) < 1e-9, (f, g, w)


def test_a_three_counter_product_reads_shared_atoms_in_part():
    f = parse("G (a -> F[0,3] b) & G (c -> F[0,2] d) & G (b -> O[0,2] (c | e))")
    m, ref = Monitor(f), Monitor(f, counters=False)
    (part,) = m._parts
    assert len(part.filter.groups) == 3 and part.filter.shared == ("b", "c")
    rng = np.random.default_rng(4)
    for _ in range(40):
        fr = {x: float(rng.random()) for x in "abcde"}
        s, r = m.step(fr), ref.step(fr)
        assert abs(s.probability - r.probability) < 1e-9 and abs(s.p_violated - r.p_violated) < 1e-9


# ------------------------------------------------------------------ the pair filter


@st.composite
def pair_specs(draw, max_bound=5):
    """Two rules G (p -> B) over a, b, c (and sometimes a third that shares q and r
    with one of them: still two counters)."""
    rules = []
    for _ in range(2):
        p, q, r = (draw(st.sampled_from(PROPS)) for _ in range(3))
        kind, b = draw(st.sampled_from(("O", "H", "S", "U", "F"))), draw(st.integers(0, max_bound))
        rules.append(A.Always(A.implies(p, body(kind, q, r, b))))
    if draw(st.booleans()):
        rhs = rules[0].arg.right if isinstance(rules[0].arg, A.Implies) else None
        if rhs is not None and hasattr(rhs, "bound"):
            b = draw(st.integers(0, max_bound))
            rules.append(A.Always(A.implies(draw(st.sampled_from(PROPS)), type(rhs)(*A.children(rhs), bound=A.Bound(0, b)))))
    return A.conj(*rules)


def _two_counters(f):
    filt = counter_filter(f, 10_000)
    return filt if filt is not None and hasattr(filt, "groups") and len(filt.groups) == 2 and not filt.delay else None


def _general(filt):
    """The same filter stepping the general product (the pair kernel switched off)."""
    filt.reset()
    filt._prepare()
    filt._pair = None
    return filt


@capped(150)
@given(pair_specs(), st.data())
def test_the_pair_filter_equals_the_general_product_on_probability_frames(f, data):
    filt = _two_counters(f)
    event("two counters" if filt is not None else "other")
    if filt is None:
        return
    names = filt.atoms
    rows = data.draw(
        st.lists(
            st.fixed_dictionaries({a: st.sampled_from([0.0, 1.0, 0.5]) | st.floats(0, 1) for a in names}),
            min_size=1,
            max_size=10,
        )
    )
    filt.reset()
    got = []
    for r in rows:
        got.append((filt.step(r), filt._dist.copy() if filt._dist is not None else None))
    assert filt._pair is not None or filt._dist is None  # the pair kernel ran once a probability came
    ref = _general(counter_filter(f, 10_000))
    for r, (g, dist) in zip(rows, got):
        w = ref.step(r)
        assert all(abs(x - y) < 1e-9 for x, y in zip(g, w)), (f, g, w)
        if dist is not None and ref._dist is not None:
            assert np.abs(dist - ref._dist).max() < 1e-9


@capped(100)
@given(pair_specs(), traces(ATOMS, min_len=1, max_len=12))
def test_the_pair_filter_on_01_frames_equals_the_integer_counters(f, t):
    filt = _two_counters(f)
    event("two counters" if filt is not None else "other")
    if filt is None:
        return
    rows = [{a: float(t.column(a)[i]) for a in filt.atoms} for i in range(len(t))]
    filt.reset()
    want = [filt.step01(r) for r in rows]
    filt.reset()
    filt._to_dist()  # the distribution path from the first frame
    got = [filt.step(r) for r in rows]
    assert filt._pair is not None
    for g, w in zip(got, want):
        assert g[0] == pytest.approx(w[0], abs=1e-12) and g[2] == pytest.approx(w[2], abs=1e-12), (f, g, w)


def test_two_counters_get_the_pair_budget():
    from framelogic.automata import counters as C

    f = "G (yellow -> (!accel U[0,3s] red)) & G (red -> (!accel U[0,20s] green))"
    m = Monitor(f, fps=60)  # 217,381 states: over max_states=100,000, within the pair budget
    (part,) = m._parts
    assert part.filter.budget == C.budget(part.filter.groups, m.max_states) == 4 * m.max_states
    s = m.step({"yellow": 0.3, "accel": 0.2, "red": 0.4, "green": 0.1})
    assert part.filter._pair is not None and 0.0 <= s.probability <= 1.0
    m2, ref = Monitor(f, fps=1), Monitor(f, fps=1, counters=False)  # small enough for the automaton
    fr = {"yellow": 0.3, "accel": 0.2, "red": 0.4, "green": 0.1}
    for _ in range(5):
        s2, r = m2.step(fr), ref.step(fr)
        assert m2._parts[0].filter._pair is not None
        assert abs(s2.probability - r.probability) < 1e-12 and abs(s2.p_violated - r.p_violated) < 1e-12


# ------------------------------------------------------------------ approx="bounds"


def _largest_counter(f):
    return max(g.n_states for g in counter_filter(f, None).groups)


@capped(200)
@given(pair_specs(max_bound=8) | rule_specs(max_rules=4, max_bound=4), traces(ATOMS, min_len=1, max_len=8, probabilistic=True))
def test_bounds_contain_the_exact_values_on_every_prefix(f, t):
    if not hasattr(counter_filter(f, None), "groups"):
        return  # a constant conjunct (G true): not a rule set
    exact = Monitor(f, max_states=1_000_000)
    small = max(2, _largest_counter(f))  # every counter fits alone; products often do not
    approx = Monitor(f, max_states=small, approx="bounds")
    bounded = "bounds" in approx.describe()
    event("bounded" if bounded else "exact (fits)")
    for s, b in zip(exact.run(t), approx.run(t)):
        if not bounded:
            assert b.bounds is None and b.probability == pytest.approx(s.probability, abs=1e-9)
            continue
        assert b.bounds is not None
        for (lo, hi), x in zip(b.bounds, (s.probability, s.p_satisfied, s.p_violated)):
            assert lo - 1e-9 <= x <= hi + 1e-9, (f, b, s)
        assert (b.probability, b.p_satisfied, b.p_violated) == tuple(lo for lo, _ in b.bounds)
        if b.verdict.final:  # certified: the exact monitor is at least as sure
            assert b.verdict is s.verdict, (f, b, s)


def test_bounds_are_exact_on_01_frames_and_named_in_describe():
    f = "G (a -> F[0,4] b) & G (b -> O[0,3] c) & G (c -> F[0,4] a)"
    m = Monitor(f, max_states=8, approx="bounds")
    assert "bounds" in m.describe() and "Fréchet" in m.describe()
    ref = Monitor(f, max_states=1_000_000)
    for fr in ({"a": 1, "b": 0, "c": 0}, {"a": 0, "b": 1, "c": 1}, {"a": 1, "b": 0, "c": 0}):
        s, r = m.step(fr), ref.step(fr)
        assert s.bounds == tuple((x, x) for x in (r.probability, r.p_satisfied, r.p_violated))
        assert s.verdict is r.verdict
    s = m.step({"a": 0.5, "b": 0.5, "c": 0.5})
    (lo, hi), _, _ = s.bounds
    assert lo <= ref.step({"a": 0.5, "b": 0.5, "c": 0.5}).probability <= hi and lo < hi


def test_without_approx_a_product_over_budget_names_the_part_and_suggests_bounds():
    f = "G (a -> F[0,4] b) & G (b -> O[0,3] c) & G (c -> F[0,4] a)"
    m = Monitor(f, max_states=8)
    assert m.step({"a": 0, "b": 0, "c": 0}).bounds is None
    with pytest.raises(AutomatonTooLarge, match=r"G \(a -> F\[0,4\] b\).*approx=\"bounds\""):
        m.step({"a": 0.5, "b": 0.5, "c": 0.5})


def test_a_counter_over_the_budget_alone_is_not_bounded():
    f = "G (a -> F[0,20] b) & G (b -> O[0,3] c)"  # the F counter (21 states) does not fit max_states=10
    m = Monitor(f, max_states=10, approx="bounds")
    assert "bounds" not in m.describe()
    with pytest.raises(AutomatonTooLarge) as e:
        m.step({"a": 0.5, "b": 0.5, "c": 0.5})
    assert "approx" not in str(e.value)  # bounds from smaller groups would not help


def test_approx_takes_bounds_or_nothing():
    from framelogic.logic.errors import InvalidValue

    with pytest.raises(InvalidValue, match="approx"):
        Monitor("G (a -> F[0,2] b)", approx="exact")


def test_the_five_rule_spec_monitors_probabilities_with_bounds_at_60_fps():
    spec = (
        "G (red -> F[0,3s] stopped) & G (ped -> F[0,2s] brake) & G (brake -> O[0,1s] (ped | red | car_close)) "
        "& G (turn -> H[0,2s] signal) & G (yellow -> (!accel U[0,3s] (red | stop_sign)))"
    )
    with pytest.raises(AutomatonTooLarge, match="approx"):
        Monitor(spec, fps=60).step({a: 0.5 for a in Monitor(spec, fps=60).atoms})
    m = Monitor(spec, fps=60, approx="bounds")
    s = m.step({a: 0.1 for a in m.atoms})
    (lo, hi), _, (vlo, vhi) = s.bounds
    assert 0.0 <= lo <= hi <= 1.0 and 0.0 <= vlo <= vhi <= 1.0
