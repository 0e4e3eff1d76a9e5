"""World models: the Markov world's exact inference against enumeration of every
hidden trajectory; the independent world as a special case; filtering, decoding,
fitting."""

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framelogic.automata import compile, evaluate, localize
from framelogic.automata.world import (
    Independent, Markov, WorldFilter, closure, fit_world, resolve_world, viterbi, world_signal,
)  # fmt: skip
from framelogic.logic import ast as A
from framelogic.logic import atom_names, satisfaction
from framelogic.logic.errors import InvalidArgument, InvalidValue, UnknownRateError
from framelogic.logic.strategies import formulas, traces
from framelogic.logic.trace import TraceTable


def trajectories(names, n, world, rate=None):
    """Every 0/1 world (n x k) with its prior probability under ``world``."""
    k = len(names)
    Ts = [world.transition(a, rate) for a in names]
    pis = [world.prior_for(a) for a in names]
    for bits in itertools.product([0, 1], repeat=n * k):
        w = np.array(bits).reshape(n, k)
        if any(sum(w[i, names.index(a)] for a in g if a in names) > 1 for g in world.mutex for i in range(n)):
            continue
        p = 1.0
        for j in range(k):
            p *= pis[j] if w[0, j] else 1 - pis[j]
            for i in range(1, n):
                p *= Ts[j][w[i - 1, j], w[i, j]]
        yield w, p


def likelihood(w, t, names, world):
    out = 1.0
    for j, a in enumerate(names):
        if a not in t.names:
            continue
        x, pr = world.calibrate(a, t.column(a)), world.prior_for(a)
        out *= float(np.prod(np.where(w[:, j] == 1, x / pr, (1 - x) / (1 - pr))))
    return out


def brute_posterior(f, t, world, names):
    """P((w, i) |= f | observations) by enumerating every hidden trajectory of ``names``
    (the mutex conditioning: trajectories violating a group have weight 0)."""
    n = len(t)
    num, den = np.zeros(n), 0.0
    for w, prior in trajectories(list(names), n, world):
        weight = prior * likelihood(w, t, names, world)
        if weight:
            num += weight * satisfaction(f, TraceTable(tuple(names), w.astype(float))).astype(float)
            den += weight
    return num, den


probs = st.floats(0.05, 0.95)


@st.composite
def markov_worlds(draw, names, mutex=False):
    stay = {a: draw(st.floats(0.05, 0.95)) for a in names}
    prior = {a: draw(st.floats(0.2, 0.8)) for a in names}
    for a in names:  # keep the chain valid: stay >= 1 - (1 - prior) / prior
        stay[a] = max(stay[a], 1 - (1 - prior[a]) / prior[a] + 0.01)
    groups = ()
    if mutex and len(names) >= 2 and draw(st.booleans()):
        groups = (frozenset(draw(st.lists(st.sampled_from(names), min_size=2, max_size=len(names), unique=True))),)
    return Markov(stay=stay, prior=prior, mutex=groups)


ATOMS = ("a", "b", "c")


@settings(max_examples=150)
@given(st.data())
def test_markov_equals_enumeration_of_hidden_trajectories(data):
    k = data.draw(st.integers(1, 3))
    names = ATOMS[:k]
    n = data.draw(st.integers(1, {1: 5, 2: 4, 3: 3}[k]))
    f = data.draw(formulas(names, max_depth=4, max_bound=2))
    t = data.draw(traces(names, min_len=n, max_len=n, probabilistic=True))
    world = data.draw(markov_worlds(names, mutex=True))
    # the chains φ depends on: its propositions and their mutex partners (the others are
    # independent of them, even where their own observations contradict a mutex group)
    linked = closure(atom_names(f), world)
    num, den = brute_posterior(f, t, world, tuple(x for x in names if x in linked))
    if t.select(atom_names(f)).is_boolean:  # certain input: the boolean signal, whatever the world
        assert np.array_equal(evaluate(f, t, world=world), satisfaction(f, t).astype(float))
    elif den == 0:
        with pytest.raises(InvalidValue, match="impossible"):
            evaluate(f, t, world=world)
    else:
        assert np.allclose(evaluate(f, t, world=world), num / den, atol=1e-9)


@settings(max_examples=100)
@given(formulas(("a", "b"), max_depth=3, max_bound=2), traces(("a", "b", "c"), min_len=1, max_len=3, probabilistic=True), st.data())
def test_mutex_partner_outside_the_formula_is_observed(f, t, data):
    # c is not in the formula but is in a mutex group with a: its scores inform a
    world = data.draw(markov_worlds(("a", "b", "c")))
    world = Markov(stay=world.stay, prior=world.prior, mutex=(frozenset({"a", "c"}),))
    own = atom_names(f)
    hidden = (*own, "c") if "a" in own else own  # the chains the formula depends on
    if not hidden:
        return
    num, den = brute_posterior(f, t, world, hidden)
    if t.select(atom_names(f)).is_boolean:  # certain input: the boolean signal
        assert np.array_equal(evaluate(f, t, world=world), satisfaction(f, t).astype(float))
        return
    if den == 0:
        with pytest.raises(InvalidValue):
            evaluate(f, t, world=world)
        return
    assert np.allclose(evaluate(f, t, world=world), num / den, atol=1e-9)


@settings(max_examples=200)
@given(formulas(ATOMS, max_depth=4, max_bound=3), traces(ATOMS, min_len=1, max_len=8, probabilistic=True))
def test_no_persistence_and_flat_prior_is_the_independent_world(f, t):
    assert np.allclose(evaluate(f, t, world=Markov(stay=0.5, prior=0.5)), evaluate(f, t), atol=1e-9)


def test_independent_world_is_the_original_path():
    t = {"a": [0.9, 0.2, 0.6], "b": [0.1, 0.7, 0.4]}
    for text in ("a U b", "G (a -> F[0,1] b)", "a S b"):
        base = evaluate(text, t)
        assert np.array_equal(evaluate(text, t, world=Independent()), base)
        assert np.array_equal(evaluate(text, t, world=None), base)
        assert np.array_equal(evaluate(text, t, world="independent"), base)


@settings(max_examples=60)
@given(
    formulas(("a", "b"), max_depth=4, max_bound=2, operators=["!", "&", "|", "Y", "O", "H", "S"]),
    traces(("a", "b"), min_len=1, max_len=5, probabilistic=True),
    st.data(),
)
def test_filter_at_the_last_frame_equals_smoothing(f, t, data):
    world = data.draw(markov_worlds(("a", "b"), mutex=True))
    if world.mutex and np.any(t.values.sum(axis=1) == 2):
        return  # impossible observations (0/1 against the mutex group): tested elsewhere
    d = compile(A.F(A.conj(f, A.neg(A.X(A.TRUE)))), props=("a", "b"))
    wf = WorldFilter(d, d.atoms, world, None)
    smooth = [evaluate(f, t.slice(0, i + 1), world=world)[-1] for i in range(len(t))]
    for i in range(len(t)):
        dist = wf.step({"a": t.values[i, 0], "b": t.values[i, 1]})
        assert np.isclose(dist.sum(), 1.0)
        assert np.isclose(dist[d.accepting].sum(), smooth[i], atol=1e-9)
    wf.reset()
    assert wf.frame == 0


@settings(max_examples=150)
@given(st.data())
def test_viterbi_is_the_most_probable_trajectory(data):
    k = data.draw(st.integers(1, 3))
    names = ATOMS[:k]
    n = data.draw(st.integers(1, {1: 6, 2: 4, 3: 3}[k]))
    t = data.draw(traces(names, min_len=n, max_len=n, probabilistic=True))
    world = data.draw(markov_worlds(names, mutex=True))
    scores = [(prior * likelihood(w, t, names, world), w) for w, prior in trajectories(list(names), n, world)]
    best = max(s for s, _ in scores)
    if best == 0:
        with pytest.raises(InvalidValue):
            viterbi(t, names, world)
        return
    decoded = viterbi(t, names, world)
    assert decoded.is_boolean and decoded.names == names
    w = decoded.values.astype(int)
    mine = next(s for s, v in scores if np.array_equal(v, w))
    assert np.isclose(mine, best, rtol=1e-9)


def test_viterbi_under_independence_thresholds_each_frame():
    t = {"a": [0.2, 0.5, 0.9]}
    assert viterbi(t, None, Independent()).values[:, 0].tolist() == [0.0, 1.0, 1.0]


def test_viterbi_bridges_a_dropout_the_threshold_breaks():
    t = {"p": [0.9, 0.9, 0.3, 0.9, 0.9], "q": [0.1, 0.1, 0.1, 0.1, 0.95]}
    world = Markov(stay=0.95)
    assert [(e.start, e.end) for e in localize("p U q", t, decide="viterbi", world=world)] == [(0, 4)]
    assert [(e.start, e.end) for e in localize("p U q", t)] == [(3, 4)]


def test_fit_world_recovers_persistence():
    rng = np.random.default_rng(1)
    n = 200_000
    truth = Markov(stay={"p": 0.97, "q": 0.9}, prior={"p": 0.3, "q": 0.5})
    labels, scores = {}, {}
    for a in ("p", "q"):
        T = truth.transition(a, None)
        x = np.empty(n, dtype=int)
        x[0] = rng.random() < truth.prior_for(a)
        u = rng.random(n)
        for i in range(1, n):
            x[i] = u[i] < T[x[i - 1], 1]
        labels[a] = x
        # a miscalibrated detector: its logit is 2.5 z for a Gaussian z ~ N(+-1.5, 1),
        # whose log likelihood ratio is 3 z: the posterior's logit is 1.2 logit + logit(prior)
        z = np.where(x, 1.5, -1.5) + rng.normal(0, 1.0, n)
        scores[a] = 1 / (1 + np.exp(-2.5 * z))
    fitted = fit_world(scores, labels)
    assert abs(fitted.stay_for("p", None) - 0.97) < 0.005
    assert abs(fitted.stay_for("q", None) - 0.9) < 0.005
    assert abs(fitted.prior_for("p") - 0.3) < 0.02
    a, b = fitted.calibration["p"]
    assert abs(a - 1.2) < 0.05 and abs(b - np.log(0.3 / 0.7)) < 0.05
    # persist in seconds with a rate; round trip through JSON
    timed = fit_world(scores, labels, fps=30)
    assert abs(timed.stay_for("p", 30) - fitted.stay_for("p", None)) < 1e-9
    back = resolve_world(json.loads(json.dumps(timed.to_dict())))
    assert back == timed and hash(back) == hash(timed)


def test_markov_arguments_are_checked():
    with pytest.raises(InvalidValue, match="stay"):
        Markov(stay=1.0)
    with pytest.raises(InvalidValue, match="prior"):
        Markov(prior={"a": 0.0})
    with pytest.raises(InvalidValue, match="mutex"):
        Markov(mutex=(frozenset({"a"}),))
    with pytest.raises(InvalidValue, match="must stay true"):
        Markov(stay=0.5, prior=0.9).transition("a", None)
    with pytest.raises(UnknownRateError, match="fps"):
        Markov(persist=2.0).stay_for("a", None)
    with pytest.raises(InvalidValue, match="no stay"):
        Markov(stay={"a": 0.9}).stay_for("b", None)
    with pytest.raises(InvalidArgument, match="world"):
        resolve_world(3)
    with pytest.raises(InvalidValue, match="markov"):
        resolve_world("sticky")
    with pytest.raises(InvalidValue, match="engine"):
        evaluate("a", {"a": [0.5]}, world=Markov(), engine="automaton")
    assert Markov(persist={"a": 1.0}, stay=0.8).stay_for("b", 10) == 0.8
    assert resolve_world("markov") == Markov()


def test_persistence_keeps_a_universal_property_alive():
    # the background probability 0.05 never means a pedestrian under the Markov world
    n = 3000
    t = TraceTable(("ped", "stopped"), np.column_stack([np.full(n, 0.05), np.full(n, 0.05)]), fps=30.0)
    f = "G (ped -> F[0,2s] stopped)"
    assert evaluate(f, t)[0] < 0.05
    assert evaluate(f, t, world=Markov(stay=0.99))[0] > 0.95


def test_long_trace_compiled_equals_plain(monkeypatch):
    from framelogic.automata import world as W

    rng = np.random.default_rng(0)
    t = {"a": rng.random(1000), "b": rng.random(1000)}
    plain_world, mutex = Markov(stay=0.9), Markov(stay=0.8, mutex=(frozenset("ab"),))
    # one proposition; a joint chain; future, past and marked automata
    for text, world in (("a & !b", plain_world), ("a | b", mutex), ("G (a -> F[0,3] b)", mutex), ("a S b", plain_world), ("F (b & Y Y a)", plain_world)):
        monkeypatch.setattr(W, "JIT_WORK", 10**12)
        monkeypatch.setattr(W, "JIT_TOTAL", 10**12)
        plain = evaluate(text, t, world=world), viterbi(t, None, world).values
        monkeypatch.setattr(W, "JIT_WORK", 0)
        monkeypatch.setattr(W, "CHUNK_CELLS", 512)  # many checkpoints
        jitted = evaluate(text, t, world=world), viterbi(t, None, world).values
        assert np.allclose(plain[0], jitted[0], atol=1e-10)
        assert np.array_equal(plain[1], jitted[1])


def test_docstring_examples():
    import doctest

    from framelogic.automata import world as W

    assert doctest.testmod(W, optionflags=doctest.ELLIPSIS).failed == 0


def _platt_loss(z, y, a, b):
    n_pos, n_neg = y.sum(), len(y) - y.sum()
    t = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    u = a * z + b
    return float(np.sum(t * np.logaddexp(0.0, -u) + (1 - t) * np.logaddexp(0.0, u)))


@settings(deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(20, 400), st.floats(0.05, 0.95), st.floats(0.0, 4.0), st.floats(-3, 3))
def test_platt_fit_is_the_likelihood_optimum(seed, n, share, separation, shift):
    """The calibration map minimises the (smoothed) negative log-likelihood: no
    nearby map does better, and nearly separable scores give a finite map
    (plain Newton used to diverge to maps like (2e7, -3e8))."""
    from framelogic.automata.world import _platt

    rng = np.random.default_rng(seed)
    y = (rng.random(n) < share).astype(float)
    if y.min() == y.max():
        y[0] = 1 - y[0]
    z = separation * (2 * y - 1) + shift + rng.standard_normal(n) * rng.choice([0.05, 1.0])
    a, b = _platt(z, y)
    assert np.isfinite(a) and np.isfinite(b) and abs(a) < 1e4
    best = _platt_loss(z, y, a, b)
    for da, db in [(0.01, 0), (-0.01, 0), (0, 0.01), (0, -0.01), (0.1, 0.1), (-0.1, -0.1)]:
        assert best <= _platt_loss(z, y, a + da, b + db) + 1e-7 * max(1.0, best)
    assert best <= _platt_loss(z, y, 1.0, 0.0) + 1e-9



def test_contradicting_observations_of_an_unrelated_mutex_group_do_not_matter():
    # found by hypothesis: `b` names neither a nor c, whose chains are independent of b's
    t = TraceTable(("a", "b", "c"), np.array([[0.0, 0.5, 0.0], [1.0, 0.0, 1.0]]), None, None)
    world = Markov(stay=0.5, prior=0.5, mutex=[("a", "c")])
    assert np.allclose(evaluate("b", t, world=world), [0.5, 0.0])
    with pytest.raises(InvalidValue, match="impossible"):
        evaluate("a | b", t, world=world)  # a's chain is tied to c's
