"""Monitors under a world model and at a confidence level.

Under the Markov world the monitor's numbers after every frame are the
filtering probabilities: checked against a brute-force enumeration of every
hidden 0/1 trajectory of the prefix (weighted by the chains and the
likelihoods) and against the smoothing pass of :func:`world_signal` at frame 0
of the prefix. Verdicts follow ``confidence=δ`` exactly; 0/1 frames give the
RV-LTL verdicts whatever the world."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from framelogic.automata import compile
from framelogic.automata.monitor import DEFAULT_CONFIDENCE, Monitor, Verdict
from framelogic.automata.world import Independent, Markov, world_signal
from framelogic.logic import ast as A
from framelogic.logic.errors import InvalidArgument, InvalidValue
from framelogic.logic.strategies import formulas, traces
from framelogic.logic.trace import TraceTable

AB = ("a", "b")
FOUR = ("a", "b", "c", "d")


# ---------------------------------------------------------------- the oracle


def transition(stay, prior):
    """The chain of the module doc: true stays with ``stay``, stationary at ``prior``."""
    up = prior * (1 - stay) / (1 - prior)
    return np.array([[1 - up, up], [1 - stay, stay]])


def brute_force_status(f, t, stay, prior, mutex=()):
    """(P(accept), P(certainly sat), P(certainly violated)) of the prefix ``t`` given
    its observations: every hidden 0/1 trajectory (of ``t``'s propositions and of
    their mutex partners, which no frame observes), weighted by its chains' prior
    probability times the likelihoods of the observations, through the automaton."""
    observed = t.names
    names = observed + tuple(sorted({x for g in mutex for x in g} - set(observed)))
    dfa = compile(f, props=observed)
    n, k = len(t), len(names)
    total = 0.0
    out = np.zeros(3)
    for bits in itertools.product([0, 1], repeat=n * k):
        w = np.array(bits).reshape(n, k)
        if any(w[i, [names.index(x) for x in g]].sum() > 1 for g in mutex for i in range(n)):
            continue
        weight = 1.0
        for j, name in enumerate(names):
            T, pi = transition(stay[name], prior[name]), prior[name]
            weight *= pi if w[0, j] else 1 - pi
            for i in range(1, n):
                weight *= T[w[i - 1, j], w[i, j]]
            for i in range(n if j < len(observed) else 0):
                p = t.values[i, j]
                weight *= p / pi if w[i, j] else (1 - p) / (1 - pi)
        if weight == 0.0:
            continue
        q = dfa.run(TraceTable(observed, w[:, : len(observed)].astype(float)))[-1]
        total += weight
        out += weight * np.array([dfa.accepting[q], dfa.doomed_to_accept[q], not dfa.live[q]], dtype=float)
    return out / total


@st.composite
def markov_worlds(draw, names):
    """A Markov world with a stay and a prior per proposition (stationary chains)."""
    prior = {n: draw(st.sampled_from([0.2, 0.35, 0.5])) for n in names}
    stay = {n: draw(st.sampled_from([0.3, 0.5, 0.8, 0.95])) for n in names}
    return Markov(stay=stay, prior=prior)


def split_formula(draw):
    pieces = [draw(formulas(AB, max_depth=2, max_bound=2)), draw(formulas(("c",), max_depth=2, max_bound=2))]
    op = draw(st.sampled_from([A.conj, A.disj, A.implies, lambda x, y: A.neg(A.conj(x, y))]))
    return op(*pieces)


def check_every_prefix(m, f, t, world, mutex=()):
    every = set(t.names).union(*mutex)
    stay = {n: world.stay_for(n, None) for n in every}
    prior = {n: world.prior_for(n) for n in every}
    statuses = m.run(t)
    for i, s in enumerate(statuses):
        p, ps, pv = brute_force_status(f, t.slice(0, i + 1), stay, prior, mutex)
        assert s.probability == pytest.approx(p, abs=1e-9)
        assert s.p_satisfied == pytest.approx(ps, abs=1e-9) and s.p_violated == pytest.approx(pv, abs=1e-9)
        expected = (Verdict.SATISFIED if ps >= 1 - m.confidence else Verdict.VIOLATED if pv >= 1 - m.confidence
                    else Verdict.PRESUMABLY_SATISFIED if p >= 0.5 else Verdict.PRESUMABLY_VIOLATED)  # fmt: skip
        assert s.verdict is expected or min(abs(ps - (1 - m.confidence)), abs(pv - (1 - m.confidence)), abs(p - 0.5)) < 1e-9
    return statuses


# ---------------------------------------------------------------- Markov filtering is exact


@settings(max_examples=min(settings().max_examples, 300))
@given(st.data())
def test_markov_monitor_is_the_exact_filter_at_every_prefix(data):
    f = data.draw(formulas(AB, max_depth=3, max_bound=2))
    t = data.draw(traces(AB, max_len=4, probabilistic=True))
    world = data.draw(markov_worlds(AB))
    m = Monitor(f, world=world)
    if not m.atoms:
        return
    t = t.select(m.atoms)
    statuses = check_every_prefix(m, f, t, world)
    for i, s in enumerate(statuses):  # the same number from the smoothing pass over the prefix
        assert s.probability == pytest.approx(world_signal(f, t.slice(0, i + 1), world)[0], abs=1e-9)


@settings(max_examples=min(settings().max_examples, 200))
@given(st.data())
def test_split_markov_monitor_is_exact(data):
    f = split_formula(data.draw)
    t = data.draw(traces(("a", "b", "c"), max_len=3, probabilistic=True))
    world = data.draw(markov_worlds(("a", "b", "c")))
    m = Monitor(f, world=world)
    if not m.atoms:
        return
    check_every_prefix(m, f, t.select(m.atoms), world)


@settings(max_examples=min(settings().max_examples, 200))
@given(st.data())
def test_mutex_groups_across_parts_are_followed_as_one_chain(data):
    f = split_formula(data.draw)
    t = data.draw(traces(("a", "b", "c"), max_len=3, probabilistic=True))
    mutex = (frozenset({"b", "c"}),)
    world = Markov(stay=data.draw(st.sampled_from([0.5, 0.8])), prior=0.35, mutex=mutex)
    assume(not np.any((t.column("b") == 1) & (t.column("c") == 1)))  # impossible under the mutex: an error
    m = Monitor(f, world=world)
    if not m.atoms:
        return
    if {"b", "c"} <= set(m.atoms):
        assert len(m.parts) == 1  # the chains of b and c are one: one automaton follows both
    check_every_prefix(m, f, t.select(m.atoms), world, mutex)


def test_a_partner_outside_the_formula_ties_parts_and_is_unobserved():
    # mutex(a, x), mutex(x, b): a and b are linked through x, which no frame shows
    world = Markov(stay=0.8, prior=0.3, mutex=(frozenset({"a", "x"}), frozenset({"x", "b"})))
    m = Monitor("G a & F b", world=world)
    assert len(m.parts) == 1
    rng = np.random.default_rng(0)
    for _ in range(20):
        s = m.step({"a": float(rng.random()), "b": float(rng.random())})
        assert 0.0 <= s.probability <= 1.0
    assert Monitor("G a & F b", world=Markov(stay=0.8)).parts.__len__() == 2


def test_run_reads_the_columns_of_mutex_partners_as_observations():
    world = Markov(stay=0.8, prior=0.3, mutex=(frozenset({"a", "x"}),))
    a, x = [0.6, 0.7, 0.2], [0.9, 0.1, 0.5]
    by_run = Monitor("F[0,1] a", world=world).run({"a": a, "x": x})
    stepped = Monitor("F[0,1] a", world=world)
    by_step = [stepped.step({"a": p, "x": q}) for p, q in zip(a, x)]
    unobserved = Monitor("F[0,1] a", world=world).run({"a": a})
    assert [s.probability for s in by_run] == pytest.approx([s.probability for s in by_step])
    assert by_run[0].probability != pytest.approx(unobserved[0].probability)


@given(formulas(AB, max_depth=3, max_bound=2), traces(AB, max_len=5, probabilistic=True))
def test_no_persistence_and_flat_priors_is_the_independent_world(f, t):
    flat, indep = Monitor(f, world=Markov(stay=0.5, prior=0.5)), Monitor(f)
    if not indep.atoms:
        return
    t = t.select(indep.atoms)
    for x, y in zip(flat.run(t), indep.run(t)):
        assert x.verdict is y.verdict or abs(x.probability - 0.5) < 1e-9
        assert x.probability == pytest.approx(y.probability, abs=1e-9)
        assert x.p_satisfied == pytest.approx(y.p_satisfied, abs=1e-9)
        assert x.p_violated == pytest.approx(y.p_violated, abs=1e-9)


# ---------------------------------------------------------------- 0/1 frames


def rv_ltl(dfa, q):
    if dfa.doomed_to_accept[q]:
        return Verdict.SATISFIED
    if not dfa.live[q]:
        return Verdict.VIOLATED
    return Verdict.PRESUMABLY_SATISFIED if dfa.accepting[q] else Verdict.PRESUMABLY_VIOLATED


@given(formulas(FOUR, max_depth=3, max_bound=3), traces(FOUR, max_len=7), st.sampled_from([0.5, 0.01, 1e-6]),
       st.sampled_from([Independent(), Markov(), Markov(stay={"a": 0.6, "b": 0.99, "c": 0.9, "d": 0.7}, prior=0.3)]))
def test_0_1_frames_give_the_rv_ltl_verdicts_in_every_world_at_every_confidence(f, t, delta, world):
    m = Monitor(f, world=world, confidence=delta)
    if not m.atoms:
        return
    t = t.select(m.atoms)
    dfa = compile(f, props=m.atoms)
    for s, q in zip(m.run(t), dfa.run(t)):
        assert s.verdict is rv_ltl(dfa, q)
        assert s.probability == float(dfa.accepting[q])
        assert s.p_satisfied == float(dfa.doomed_to_accept[q]) and s.p_violated == float(not dfa.live[q])


def test_0_1_frames_that_break_a_mutex_group_are_an_error_under_markov():
    m = Monitor("G (red -> F green)", world=Markov(mutex=(frozenset({"red", "green"}),)))
    m.step({"red": 1, "green": 0})
    with pytest.raises(InvalidValue, match="impossible"):
        m.step({"red": 1, "green": 1})


# ---------------------------------------------------------------- confidence δ


def verdicts(monitor, frames):
    return [monitor.step(fr).verdict for fr in frames]


def test_violated_only_at_confidence_one_minus_delta():
    P, V = Verdict.PRESUMABLY_VIOLATED, Verdict.VIOLATED
    # G ok with P(ok) = 0.2 per frame: P(violated) = 0.8, 0.96, 0.992, 0.9984
    frames = [{"ok": 0.2}] * 4
    assert verdicts(Monitor("G ok"), frames) == [P, P, V, V]  # δ = 0.01: 0.992 is the first >= 0.99
    assert verdicts(Monitor("G ok", confidence=0.05), frames) == [P, V, V, V]
    assert verdicts(Monitor("G ok", confidence=0.3), frames) == [V, V, V, V]
    assert verdicts(Monitor("G ok", confidence=0.002), frames) == [P, P, P, V]
    assert verdicts(Monitor("G ok", confidence=0.001), frames) == [P, P, P, P]
    assert DEFAULT_CONFIDENCE == 0.01


def test_satisfied_only_at_confidence_one_minus_delta():
    S, PS, PV = Verdict.SATISFIED, Verdict.PRESUMABLY_SATISFIED, Verdict.PRESUMABLY_VIOLATED
    # F stop with P(stop) = 0.9 per frame: P(satisfied) = 0.9, 0.99 (edge), 0.999 ...
    frames = [{"stop": 0.9}] * 3
    assert verdicts(Monitor("F stop", confidence=0.05), frames) == [PS, S, S]
    assert verdicts(Monitor("F stop", confidence=0.0005), frames) == [PS, PS, PS]
    assert verdicts(Monitor("F stop", confidence=0.2), [{"stop": 0.3}, {"stop": 0.9}]) == [PV, S]


def test_under_markov_a_verdict_holds_for_the_frames_so_far():
    # a pedestrian and weak "stopped" evidence: under a persistent world a violation is
    # near certain after frame 2; then "stopped" is seen clearly, and a persistent chain
    # says the car was probably stopped already: the violation is withdrawn
    rule = "G (ped -> F[0,1] stopped)"
    frames = [{"ped": 0.999, "stopped": 0.1}] * 3 + [{"ped": 0.5, "stopped": 0.999}] * 2
    m = Monitor(rule, world=Markov(stay=0.99))
    statuses = [m.step(fr) for fr in frames]
    assert [s.verdict for s in statuses][2:4] == [Verdict.VIOLATED, Verdict.PRESUMABLY_VIOLATED]
    assert statuses[2].p_violated > 0.99 > 0.9 > statuses[3].p_violated
    # under independence the sinks only gain mass: p_violated never decreases
    pv = [s.p_violated for s in Monitor(rule).run({k: [fr[k] for fr in frames] for k in ("ped", "stopped")})]
    assert all(x <= y + 1e-15 for x, y in zip(pv, pv[1:]))


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1, math.nan, True, "0.01", None])
def test_confidence_must_be_in_the_open_unit_interval(bad):
    with pytest.raises(InvalidArgument, match="confidence="):
        Monitor("F a", confidence=bad)


def test_world_names_and_bad_worlds():
    assert isinstance(Monitor("F a", world="markov").world, Markov)
    assert isinstance(Monitor("F a", world="independent").world, Independent)
    with pytest.raises((InvalidArgument, InvalidValue)):
        Monitor("F a", world="persistent")


# ---------------------------------------------------------------- the example, one minute


def test_background_noise_makes_a_false_violation_only_in_the_independent_world():
    rule = "G (ped -> F[0,2s] stopped)"
    clean = {"ped": 0.05, "stopped": 0.01}  # nobody there, the car drives: a detector's background
    fps = 10  # a minute at 10 fps: F[0,2s] is 20 frames, a true run lasts 20 frames
    indep = Monitor(rule, fps=fps)
    markov = Monitor(rule, fps=fps, world=Markov(persist=2.0))
    first_indep = None
    for i in range(60 * fps):
        if indep.step(clean).verdict is Verdict.VIOLATED and first_indep is None:
            first_indep = i
        assert markov.step(clean).verdict is not Verdict.VIOLATED
    assert first_indep is not None and first_indep < 30 * fps
    assert markov.status.p_violated < 0.2
