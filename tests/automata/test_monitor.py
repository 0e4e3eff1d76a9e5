"""The streaming monitor: every prefix against offline evaluation; exact prefix
probabilities; verdicts as early as certain."""

import numpy as np
import pytest
from hypothesis import given

from framelogic.automata import compile
from framelogic.automata.monitor import Monitor, Verdict
from framelogic.logic import satisfaction
from framelogic.logic.strategies import formulas, traces

from test_evaluate import brute_force

ATOMS = ("a", "b", "c")


@given(formulas(ATOMS, max_depth=3, max_bound=3), traces(ATOMS, max_len=7))
def test_monitor_on_every_prefix_equals_offline_evaluation(f, t):
    m = Monitor(f)
    names = m.atoms
    statuses = m.run(t) if names else []
    dfa = compile(f, props=ATOMS)
    for i, st_ in enumerate(statuses):
        prefix = t.slice(0, i + 1)
        holds = bool(satisfaction(f, prefix)[0])
        assert st_.probability == float(holds)
        if st_.verdict is Verdict.SATISFIED:
            assert holds and dfa.doomed_to_accept[dfa.run(prefix)[-1]]
        elif st_.verdict is Verdict.VIOLATED:
            assert not holds and not dfa.live[dfa.run(prefix)[-1]]
        else:
            assert (st_.verdict is Verdict.PRESUMABLY_SATISFIED) == holds


@given(formulas(("a", "b"), max_depth=3, max_bound=2), traces(("a", "b"), max_len=5, probabilistic=True))
def test_monitor_probability_is_exact_for_each_prefix(f, t):
    m = Monitor(f)
    if not m.atoms:
        return
    for i, st_ in enumerate(m.run(t)):
        prefix = t.slice(0, i + 1)
        assert abs(st_.probability - brute_force(f, prefix)[0]) < 1e-9


def test_monitor_verdicts_arrive_as_early_as_certain():
    m = Monitor("F[0,2] stop")
    assert m.step({"stop": 0}).verdict is Verdict.PRESUMABLY_VIOLATED
    assert m.step({"stop": 1}).verdict is Verdict.SATISFIED
    m.reset()
    for _ in range(3):
        s = m.step({"stop": 0})
    assert s.verdict is Verdict.VIOLATED and s.verdict.final and s.frame == 2
    with pytest.raises(Exception, match="no value for 'stop'"):
        m.step({"go": 1})


@pytest.mark.parametrize("text", ["G (a -> F[0,12] b)", "a U b", "H (b -> O[0,6] a) & F c", "(F a) S b"])
def test_small_and_vectorized_probability_paths_agree(text):
    rng = np.random.default_rng(7)
    frames = [{"a": float(rng.random()), "b": float(rng.random()), "c": float(rng.random())} for _ in range(60)]
    small, wide = Monitor(text), Monitor(text)
    for part in small._parts:
        part._small = True
    for part in wide._parts:
        part._small = False
    for fr in frames:
        x, y = small.step(fr), wide.step(fr)
        assert x.verdict is y.verdict
        assert abs(x.probability - y.probability) < 1e-12
        assert abs(x.p_satisfied - y.p_satisfied) < 1e-12 and abs(x.p_violated - y.p_violated) < 1e-12


@pytest.mark.parametrize("counters", [True, False])
def test_memory_does_not_grow_with_the_stream(counters):
    m = Monitor("G (a -> F[0,5] b)", counters=counters)
    (part,) = m._parts
    dist = (lambda: part.filter._dist) if counters else (lambda: part._dist)
    rng = np.random.default_rng(3)
    m.step({"a": 0.5, "b": 0.5})
    before = len(dist())  # the distribution over the part's states (automaton or counter)
    for _ in range(2000):
        m.step({"a": float(rng.random()), "b": float(rng.random())})
    size = part.filter.n_states if counters else part.automaton.n_states
    assert len(dist()) == before == size and m.status.frame == 2000


# ---------------------------------------------------------------- parts over disjoint atoms

import itertools

from hypothesis import strategies as st

from framelogic.logic import ast as A
from framelogic.logic.errors import AutomatonTooLarge
from framelogic.logic.trace import TraceTable

FOUR = ("a", "b", "c", "d")


@st.composite
def split_formulas(draw, max_depth=3, max_bound=3):
    """Boolean combinations of formulas over disjoint atoms ({a, b}, {c}, {d})."""
    pieces = [
        draw(formulas(("a", "b"), max_depth=max_depth, max_bound=max_bound)),
        draw(formulas(("c",), max_depth=max_depth, max_bound=max_bound)),
        draw(formulas(("d",), max_depth=max_depth, max_bound=max_bound)),
    ]
    ops = [A.conj, A.disj, A.implies, lambda x, y: A.neg(A.conj(x, y)), lambda x, y: A.conj(x, A.neg(y))]
    f = pieces[0]
    for p in pieces[1:]:
        f = draw(st.sampled_from(ops))(f, p)
    return f


def expected_status(dfa, state):
    """The RV-LTL verdict of the whole formula's one automaton in ``state``."""
    if dfa.doomed_to_accept[state]:
        return Verdict.SATISFIED
    if not dfa.live[state]:
        return Verdict.VIOLATED
    return Verdict.PRESUMABLY_SATISFIED if dfa.accepting[state] else Verdict.PRESUMABLY_VIOLATED


def check_against_monolithic(f, t):
    m = Monitor(f)
    if not m.atoms:
        return m
    t = t.select(m.atoms)
    dfa = compile(f, props=m.atoms)
    states = dfa.run(t)
    for st_, q in zip(m.run(t), states):
        assert st_.verdict is expected_status(dfa, q), (st_, int(q))
        assert st_.probability == float(dfa.accepting[q])
        assert st_.p_satisfied == float(dfa.doomed_to_accept[q]) and st_.p_violated == float(not dfa.live[q])
    return m


@given(split_formulas(), traces(FOUR, max_len=8))
def test_split_monitor_verdicts_equal_the_whole_automaton(f, t):
    check_against_monolithic(f, t)


@given(formulas(ATOMS, max_depth=4, max_bound=3), traces(ATOMS, max_len=8))
def test_monitor_verdicts_equal_the_whole_automaton_on_any_formula(f, t):
    check_against_monolithic(f, t)


def test_parts_that_fix_the_trace_length_are_compiled_together():
    # c, "the trace ends now" (N false) and "the trace goes on" (X d) are each
    # satisfiable after frame 0, together they are not
    m = Monitor("c & N false & X d")
    assert m.run({"c": [1.0], "d": [0.0]})[0].verdict is Verdict.VIOLATED
    assert len(m.parts) == 1  # the length-fixing group became one automaton
    m = Monitor("G (a -> F[0,3] b) & G (c -> F[0,4] d)")
    assert len(m.parts) == 2 and m.automaton is None


def brute_force_status(f, t, atoms):
    """(P(accept), P(certainly satisfied), P(certainly violated)) of the prefix by
    enumerating its 0/1 worlds through the whole formula's automaton."""
    dfa = compile(f, props=atoms)
    t = t.select(atoms)
    n, k = t.values.shape
    out = np.zeros(3)
    for bits in itertools.product([0.0, 1.0], repeat=n * k):
        world = np.array(bits).reshape(n, k)
        weight = float(np.prod(np.where(world == 1, t.values, 1 - t.values)))
        if weight:
            q = dfa.run(TraceTable(atoms, world))[-1]
            out += weight * np.array([dfa.accepting[q], dfa.doomed_to_accept[q], not dfa.live[q]], dtype=float)
    return out


@given(split_formulas(max_depth=2, max_bound=2), traces(FOUR, max_len=3, probabilistic=True))
def test_split_monitor_probabilities_are_exact(f, t):
    m = Monitor(f)
    if not m.atoms:
        return
    for i, st_ in enumerate(m.run(t)):
        p, ps, pv = brute_force_status(f, t.slice(0, i + 1), m.atoms)
        assert abs(st_.probability - p) < 1e-9
        assert abs(st_.p_satisfied - ps) < 1e-9 and abs(st_.p_violated - pv) < 1e-9


def test_split_monitor_keeps_a_distribution_per_part():
    m = Monitor("G (red -> F[0,90] stopped) & G (ped -> F[0,60] brake) & G (stop_sign -> F[0,150] stopped)")
    assert [sorted(atom_set) for atom_set in (set(p.filter.atoms) for p in m._parts)] == [
        ["red", "stop_sign", "stopped"], ["brake", "ped"]]
    rng = np.random.default_rng(5)
    for _ in range(50):
        st_ = m.step({a: float(rng.random()) for a in m.atoms})
        assert 0.0 <= st_.probability <= 1.0


# ---------------------------------------------------------------- parts too large for an automaton


@given(formulas(ATOMS, max_depth=4, max_bound=3), traces(ATOMS, max_len=8))
def test_streaming_fallback_is_sound_and_exact_on_the_prefix(f, t):
    m = Monitor(f, max_states=2)  # forces the streaming signal for every non-trivial part
    if not m.atoms:
        return
    t = t.select(m.atoms)
    dfa = compile(f, props=m.atoms)
    final = None
    for i, (st_, q) in enumerate(zip(m.run(t), dfa.run(t))):
        holds = bool(satisfaction(f, t.slice(0, i + 1))[0])
        assert st_.probability == float(holds)
        if st_.verdict is Verdict.SATISFIED:
            assert dfa.doomed_to_accept[q]
        elif st_.verdict is Verdict.VIOLATED:
            assert not dfa.live[q]
        else:
            assert (st_.verdict is Verdict.PRESUMABLY_SATISFIED) == holds
        if final is not None:
            assert st_.verdict is final  # final verdicts stay
        elif st_.verdict.final:
            final = st_.verdict


def test_streaming_fallback_refuses_probabilities_with_a_clear_message():
    m = Monitor("G (a -> F[2,4] b)", max_states=3, counters=False)
    assert m.automaton is None and m.parts[0][1] is None
    m.step({"a": 1, "b": 0})
    with pytest.raises(AutomatonTooLarge, match="max_states=3.*0/1 frames only"):
        m.step({"a": 0.5, "b": 0})


@pytest.mark.parametrize(
    "text",
    [
        "G (red -> F[0,3s] stopped) & G (ped -> F[0,2s] brake) & G (stop_sign -> F[0,5s] stopped)",
        "G (turn -> H[0,2s] signal) & G (signal -> F[0,3s] turn)",
        "G (a -> F[2s,4s] b)",
        "F[0,10s] (ped & F[0,1s] (brake & F[0,500ms] stopped))",
    ],
)
def test_rule_specs_at_60_fps_run_on_0_1_frames(text):
    m = Monitor(text, fps=60, max_states=20_000)
    rng = np.random.default_rng(11)
    n = 400
    rows = (rng.random((n, len(m.atoms))) < 0.15).astype(float)
    table = TraceTable(m.atoms, rows, fps=60)
    statuses = m.run(table)
    for i in (0, 59, 250, n - 1):
        prefix = table.slice(0, i + 1)
        assert statuses[i].probability == float(satisfaction(m.formula, prefix)[0])


# ---------------------------------------------------------------- the resolved signal


@given(formulas(ATOMS, max_depth=4, max_bound=3), traces(ATOMS, max_len=8))
def test_resolved_signal_is_the_offline_signal_horizon_frames_late(f, t):
    m = Monitor(f, signal=True)
    if not m.atoms:
        return
    t = t.select(m.atoms)
    full = satisfaction(f, t)
    got = []
    for i, st_ in enumerate(m.run(t)):
        got += st_.resolved
        if m.horizon is not None:
            assert [j for j, _ in st_.resolved] == ([i - m.horizon] if i >= m.horizon else [])
    got += m.finish()
    assert got == [(j, float(v)) for j, v in enumerate(full)]


def test_resolved_signal_needs_0_1_frames_and_the_option():
    m = Monitor("a S b", signal=True)
    assert m.step({"a": 1, "b": 1}).resolved == ((0, 1.0),)
    with pytest.raises(Exception, match="0/1 values only"):
        m.step({"a": 0.5, "b": 1})
    plain = Monitor("a S b")
    assert plain.step({"a": 1, "b": 1}).resolved == ()
    with pytest.raises(Exception, match="signal=True"):
        plain.finish()


def test_a_refused_frame_moves_no_part():
    m = Monitor("G (a -> F[2,4] b) & G (c -> F[0,2] d)", max_states=8, counters=False)
    kinds = [aut is None for _, aut in m.parts]
    assert kinds == [True, False]  # the first part streams, the second has its automaton
    m.step({"a": 1, "b": 0, "c": 1, "d": 0})
    with pytest.raises(AutomatonTooLarge):
        m.step({"a": 0.5, "b": 0, "c": 0.5, "d": 0.5})
    assert m._parts[1]._state is not None  # the automaton part did not read the refused frame
    st_ = m.step({"a": 0, "b": 0, "c": 0, "d": 1})
    assert st_.frame == 1 and st_.verdict is Verdict.PRESUMABLY_VIOLATED  # a's F[2,4] b cannot hold yet


def test_a_frame_refused_by_a_counter_product_moves_no_part():
    m = Monitor("G (a -> F[0,2] b) & (G (c -> F[0,30] d) & G (d -> O[0,30] c))", max_states=100)
    assert all(p.filter is not None for p in m._parts)
    m.step({"a": 1, "b": 0, "c": 0, "d": 0})
    with pytest.raises(AutomatonTooLarge, match="product of their counters"):
        m.step({"a": 0.5, "b": 0.5, "c": 0.5, "d": 0})
    assert m._parts[0].filter._states is not None  # the small part did not read the refused frame
    assert m.step({"a": 0, "b": 1, "c": 0, "d": 0}).verdict is Verdict.PRESUMABLY_SATISFIED
