"""The Hidden world (automata/observe.py): exact inference over hidden sub-states,
Viterbi, the monitors' filter, fitting and the fitted decision."""

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framelogic.automata import compile, evaluate, localize
from framelogic.automata.observe import Hidden, HiddenModel, Joint, fit_hidden, resolve_decision, viterbi_path
from framelogic.automata.world import Markov, WorldFilter, resolve_world, viterbi
from framelogic.logic import ast as A
from framelogic.logic import atom_names, satisfaction
from framelogic.logic.errors import InvalidValue
from framelogic.logic.strategies import formulas, traces
from framelogic.logic.trace import TraceTable

ATOMS = ("a", "b")


@st.composite
def hidden_models(draw, max_k=3):
    k = draw(st.integers(2, max_k))
    truth = [False, True] + [draw(st.booleans()) for _ in range(k - 2)]
    rows = [np.array([draw(st.floats(0.05, 1.0)) for _ in range(k)]) for _ in range(k)]
    init = np.array([draw(st.floats(0.05, 1.0)) for _ in range(k)])
    mean = [draw(st.floats(-3, 3)) for _ in range(k)]
    sd = [draw(st.floats(0.5, 3)) for _ in range(k)]
    return HiddenModel(tuple(truth), tuple(tuple(r / r.sum()) for r in rows), tuple(init / init.sum()), tuple(mean), tuple(sd))


def brute_posterior(f, t, world, names):
    """P((w, i) |= f | observations) by enumerating every hidden trajectory of every
    proposition; weights are accumulated per 0/1 world, then f is checked once per world."""
    n = len(t)
    per_prop = []  # per proposition: {truth tuple: total weight of its hidden trajectories}
    for a in names:
        m = world.models[a]
        loge = m.log_emission(t.column(a))
        e = np.exp(loge - loge.max(axis=1, keepdims=True))  # a constant per frame: the same posterior, no underflow
        T, pi = m.T, np.asarray(m.initial)
        acc = {}
        for path in itertools.product(range(m.k), repeat=n):
            w = pi[path[0]] * e[0, path[0]]
            for i in range(1, n):
                w *= T[path[i - 1], path[i]] * e[i, path[i]]
            key = tuple(int(m.truth[s]) for s in path)
            acc[key] = acc.get(key, 0.0) + w
        per_prop.append(acc)
    num, den = np.zeros(n), 0.0
    for combo in itertools.product(*[list(acc.items()) for acc in per_prop]):
        w = float(np.prod([x[1] for x in combo]))
        if w:
            world01 = np.array([x[0] for x in combo], dtype=float).T.reshape(n, len(names))
            num += w * satisfaction(f, TraceTable(tuple(names), world01)).astype(float)
            den += w
    return num, den


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_hidden_world_equals_enumeration_of_hidden_trajectories(data):
    k = data.draw(st.integers(1, 2))
    names = ATOMS[:k]
    n = data.draw(st.integers(1, {1: 4, 2: 3}[k]))
    f = data.draw(formulas(names, max_depth=4, max_bound=2))
    t = data.draw(traces(names, min_len=n, max_len=n, probabilistic=True))
    world = Hidden(models={a: data.draw(hidden_models()) for a in names})
    num, den = brute_posterior(f, t, world, names)
    got = evaluate(f, t, world=world)
    if t.select(atom_names(f)).is_boolean:  # certain input: the boolean signal, whatever the world
        assert np.array_equal(got, satisfaction(f, t).astype(float))
    elif den > 0:
        assert np.allclose(got, num / den, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_two_state_hidden_model_with_a_likelihood_ratio_is_the_markov_world(data):
    # a Gaussian pair with equal sd and means -c, c is the likelihood ratio exp(2 c z):
    # the Markov world reading calibrated posteriors sigmoid(2 c z) at prior 0.5
    c = data.draw(st.floats(0.2, 2.0))
    stay = data.draw(st.floats(0.5, 0.95))
    f = data.draw(formulas(("a",), max_depth=3, max_bound=2))
    t = data.draw(traces(("a",), min_len=1, max_len=6, probabilistic=True))
    hid = Hidden(models={"a": HiddenModel.two_state(stay=stay, prior=0.5, mean=(-c, c), sd=(1.0, 1.0))})
    p = np.clip(t.column("a"), 1e-6, 1 - 1e-6)
    z = np.log(p) - np.log1p(-p)
    post = np.where((t.column("a") == 0) | (t.column("a") == 1), t.column("a"), 1 / (1 + np.exp(-2 * c * z)))
    mk = TraceTable(("a",), post[:, None])
    assert np.allclose(evaluate(f, t, world=hid), evaluate(f, mk, world=Markov(stay=stay, prior=0.5)), atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(hidden_models(max_k=4), traces(("a",), min_len=1, max_len=5, probabilistic=True))
def test_viterbi_is_the_truth_of_the_most_probable_hidden_trajectory(m, t):
    e = np.exp(m.log_emission(t.column("a")))

    def weight(path):
        w = m.initial[path[0]] * e[0, path[0]]
        for i in range(1, len(t)):
            w *= m.T[path[i - 1], path[i]] * e[i, path[i]]
        return w

    best = max(weight(p) for p in itertools.product(range(m.k), repeat=len(t)))
    path = viterbi_path(m, m.log_emission(t.column("a")))
    assert weight(tuple(path)) == pytest.approx(best, rel=1e-9)  # ties may pick either trajectory
    got = viterbi(t, ("a",), Hidden(models={"a": m})).column("a")
    assert np.array_equal(got, np.array([m.truth[s] for s in path], dtype=float))


@settings(max_examples=40, deadline=None)
@given(
    formulas(ATOMS, max_depth=3, max_bound=2, operators=["!", "&", "|", "Y", "O", "H", "S"]),
    traces(ATOMS, min_len=1, max_len=5, probabilistic=True),
    st.data(),
)
def test_filter_at_the_last_frame_equals_smoothing(f, t, data):
    world = Hidden(models={a: data.draw(hidden_models()) for a in ATOMS})
    d = compile(A.F(A.conj(f, A.neg(A.X(A.TRUE)))), props=ATOMS)
    wf = WorldFilter(d, d.atoms, world, None)
    for i in range(len(t)):
        dist = wf.step({"a": t.values[i, 0], "b": t.values[i, 1]})
        smooth = evaluate(f, t.slice(0, i + 1), world=world)[-1]
        assert np.isclose(dist[d.accepting].sum(), smooth, atol=1e-9)


def _sample(model: HiddenModel, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    s = rng.choice(model.k, p=np.asarray(model.initial))
    ys, zs = [], []
    for _ in range(n):
        ys.append(model.truth[s])
        zs.append(rng.normal(model.mean[s], model.sd[s]))
        s = rng.choice(model.k, p=model.T[s])
    z = np.array(zs)
    return 1 / (1 + np.exp(-z)), np.array(ys, dtype=float)


def test_fit_recovers_a_burst_state_and_picks_the_sub_states_by_bic():
    # false; true seen; true missed (a burst: scores like the false state's)
    truth = (False, True, True)
    T = ((0.95, 0.05, 0.0), (0.03, 0.92, 0.05), (0.0, 0.2, 0.8))
    model = HiddenModel(truth, T, (0.5, 0.4, 0.1), (-2.5, 2.5, -2.0), (1.0, 1.0, 1.0))
    rng = np.random.default_rng(1)
    videos = [_sample(model, 400, rng) for _ in range(15)]
    fitted = fit_hidden([{"p": s} for s, _ in videos], [{"p": y} for _, y in videos], substates=(1, 2))
    m = fitted.models["p"]
    assert m.k == 4  # two sub-states per value beat one by BIC
    tr = np.array(m.truth)
    mean = np.array(m.mean)
    # a true sub-state with false-looking scores: the burst, with a stay near 0.8
    burst = int(np.flatnonzero(tr)[np.argmin(mean[tr])])
    assert mean[burst] == pytest.approx(-2.0, abs=0.5)
    assert m.T[burst, burst] == pytest.approx(0.8, abs=0.08)
    seen = int(np.flatnonzero(tr)[np.argmax(mean[tr])])
    assert mean[seen] == pytest.approx(2.5, abs=0.3)
    # data from a plain two-state chain: one sub-state per value
    plain = HiddenModel.two_state(stay=0.9, prior=0.4, mean=(-2.0, 2.0), sd=(1.0, 1.0))
    videos = [_sample(plain, 400, rng) for _ in range(10)]
    fitted = fit_hidden([{"p": s} for s, _ in videos], [{"p": y} for _, y in videos], substates=(1, 2))
    m = fitted.models["p"]
    assert m.k == 2
    assert m.stay() == pytest.approx(0.9, abs=0.03)
    assert m.mean == pytest.approx((-2.0, 2.0), abs=0.15)


def test_fitted_decision_is_stored_round_trips_and_is_what_localize_uses():
    rng = np.random.default_rng(3)
    plain = HiddenModel.two_state(stay=0.92, prior=0.4, mean=(-1.0, 1.0), sd=(1.5, 1.5))
    vids = [_sample(plain, 200, rng) for _ in range(6)]
    w = fit_hidden([{"p": s} for s, _ in vids], [{"p": y} for _, y in vids], formula="G p", substates=(1,))
    assert w.decide in ("threshold", "viterbi")
    assert (w.threshold is None) == (w.decide == "viterbi")
    back = resolve_world(json.loads(json.dumps(w.to_dict())))
    assert isinstance(back, Hidden) and back == w and hash(back) == hash(w)
    s = {"p": vids[0][0]}
    explicit = localize("G p", s, mode="tlv", world=w, decide=w.decide, threshold=w.threshold or 0.5)
    assert localize("G p", s, mode="tlv", world=back) == explicit
    # explicit arguments win over the fitted ones
    assert resolve_decision(w, "threshold", 0.5) == ("threshold", 0.5)
    assert resolve_decision(Markov(), None, 0.3) == ("threshold", 0.3)


def test_hidden_world_arguments_are_checked():
    m = HiddenModel.two_state(stay=0.9, prior=0.5, mean=(-1.0, 1.0), sd=(1.0, 1.0))
    with pytest.raises(InvalidValue, match="true and one false"):
        HiddenModel((True, True), m.transition, m.initial, m.mean, m.sd)
    with pytest.raises(InvalidValue, match="sum to 1"):
        HiddenModel(m.truth, ((0.5, 0.6), (0.5, 0.5)), m.initial, m.mean, m.sd)
    with pytest.raises(InvalidValue, match="decide"):
        Hidden(models={"a": m}, decide="sometimes")
    with pytest.raises(InvalidValue, match="mutex"):
        Hidden(models={"a": m, "b": m}, mutex=(frozenset("ab"),))
    with pytest.raises(InvalidValue, match="no model for 'b'"):
        Hidden(models={"a": m}).decode(TraceTable(("b",), np.array([[0.5]])), ("b",))
    with pytest.raises(InvalidValue, match="substates"):
        fit_hidden({"a": [0.2, 0.8]}, {"a": [0, 1]}, substates=(0,))


def test_joint_transforms_are_the_kronecker_product(monkeypatch):
    from framelogic.automata import observe

    monkeypatch.setattr(observe, "DENSE_JOINT", 0)  # the per-axis path (large joint chains)
    rng = np.random.default_rng(0)
    ms = []
    for k in (2, 3, 4):
        T = rng.random((k, k))
        ms.append(HiddenModel((False, True) + (True,) * (k - 2), tuple(map(tuple, T / T.sum(1, keepdims=True))),
                              tuple(np.full(k, 1 / k)), tuple(np.zeros(k)), tuple(np.ones(k))))  # fmt: skip
    j = Joint(ms)
    assert j._dense is None
    Y = rng.random((3, j.m))
    assert np.allclose(j.fwd(Y), Y @ j.dense)
    assert np.allclose(j.bwd(Y), Y @ j.dense.T)


def test_forward_backward_loops_equal_the_vectorised_pass():
    from framelogic.automata import observe

    rng = np.random.default_rng(0)
    e = rng.random((3, 9, 4))
    T = rng.random((4, 4))
    T /= T.sum(axis=1, keepdims=True)
    pi = np.full(4, 0.25)
    outs = []
    for fb in (observe.forward_backward, observe._forward_backward_numpy):
        a, b, c = np.empty_like(e), np.empty_like(e), np.empty((3, 9))
        fb(e, T, pi, a, b, c)
        outs.append((a, b, c))
    for x, y in zip(*outs):
        assert np.allclose(x, y)


def test_search_reads_a_fitted_hidden_world_json_and_uses_its_decision(tmp_path):
    from framelogic.queries.search import search

    rng = np.random.default_rng(5)
    plain = HiddenModel.two_state(stay=0.95, prior=0.4, mean=(-1.0, 1.0), sd=(1.5, 1.5))
    s, y = _sample(plain, 300, rng)
    w = Hidden(models=fit_hidden({"a": s}, {"a": y}, substates=(1,)).models, decide="threshold", threshold=0.3)
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(w.to_dict()))
    table = {"a": _sample(plain, 200, rng)[0]}
    got = search('"a"', table, world=str(path))
    want = localize('"a"', table, world=w, threshold=0.3)
    assert [(m.start, m.end) for m in got] == [(e.start, e.end) for e in want]
    assert got != search('"a"', table, world=str(path), decide="threshold", threshold=0.5)


def test_docstring_examples():
    import doctest

    from framelogic.automata import observe

    assert doctest.testmod(observe).failed == 0


# ------------------------------------------------------------------ AR(1) logit noise


def _ar_log_density(m: HiddenModel, z: np.ndarray, path, scores: np.ndarray) -> float:
    """log p(z | hidden path) of AR(1) noise written out from the model's definition:
    the standardised residual u_i = (z_i - mean[x_i]) / sd[x_i] is a stationary AR(1)
    series, u_i = rho u_{i-1} + sqrt(1 - rho^2) N(0, 1); a certain score (exactly 0
    or 1) has no residual, so the series starts afresh at the frame after it."""
    mu, sd, r = np.asarray(m.mean), np.asarray(m.sd), m.rho
    out = 0.0
    for i, s in enumerate(path):
        u = (z[i] - mu[s]) / sd[s]
        if i == 0 or scores[i - 1] in (0.0, 1.0):
            out += -0.5 * u * u - np.log(sd[s])
        else:
            u0 = (z[i - 1] - mu[path[i - 1]]) / sd[path[i - 1]]
            v = 1.0 - r * r
            out += -0.5 * (u - r * u0) ** 2 / v - np.log(sd[s]) - 0.5 * np.log(v)
    return out


def brute_posterior_ar(f, t, world, names):
    """As :func:`brute_posterior`, with the AR(1) density of whole trajectories."""
    n = len(t)
    per_prop = []
    for a in names:
        m = world.models[a]
        p = np.clip(t.column(a), 1e-6, 1 - 1e-6)
        z = np.log(p) - np.log1p(-p)
        T, pi = m.T, np.asarray(m.initial)
        acc = {}
        logs = {}
        for path in itertools.product(range(m.k), repeat=n):
            certain = all(
                not ((t.column(a)[i] == 1.0 and not m.truth[s]) or (t.column(a)[i] == 0.0 and m.truth[s]))
                for i, s in enumerate(path)
            )
            if certain:
                logs[path] = _ar_log_density(m, z, path, t.column(a))
        top = max(logs.values())
        for path, lg in logs.items():
            w = pi[path[0]] * np.prod([T[path[i - 1], path[i]] for i in range(1, n)]) * np.exp(lg - top)
            key = tuple(int(m.truth[s]) for s in path)
            acc[key] = acc.get(key, 0.0) + w
        per_prop.append(acc)
    num, den = np.zeros(n), 0.0
    for combo in itertools.product(*[list(acc.items()) for acc in per_prop]):
        w = float(np.prod([x[1] for x in combo]))
        if w:
            world01 = np.array([x[0] for x in combo], dtype=float).T.reshape(n, len(names))
            num += w * satisfaction(f, TraceTable(tuple(names), world01)).astype(float)
            den += w
    return num, den


def _with_rho(m: HiddenModel, rho: float) -> HiddenModel:
    return HiddenModel(m.truth, m.transition, m.initial, m.mean, m.sd, rho)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_ar1_hidden_world_equals_enumeration_of_hidden_trajectories(data):
    k = data.draw(st.integers(1, 2))
    names = ATOMS[:k]
    n = data.draw(st.integers(1, {1: 4, 2: 3}[k]))
    f = data.draw(formulas(names, max_depth=4, max_bound=2))
    t = data.draw(traces(names, min_len=n, max_len=n, probabilistic=True))
    # one chain may have no AR(1) noise: the mixed joint chain
    world = Hidden(models={a: _with_rho(data.draw(hidden_models()), data.draw(st.sampled_from([0.0, 0.5, 0.9, -0.4])))
                           for a in names})  # fmt: skip
    num, den = brute_posterior_ar(f, t, world, names)
    got = evaluate(f, t, world=world)
    if t.select(atom_names(f)).is_boolean:
        assert np.array_equal(got, satisfaction(f, t).astype(float))
    elif den > 0:
        assert np.allclose(got, num / den, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_ar1_with_rho_zero_is_the_independent_emission_model(data):
    names = ATOMS[: data.draw(st.integers(1, 2))]
    f = data.draw(formulas(names, max_depth=3, max_bound=2))
    t = data.draw(traces(names, min_len=1, max_len=6, probabilistic=True))
    models = {a: data.draw(hidden_models()) for a in names}
    m = models[names[0]]
    assert np.allclose(m.log_pair_emission(t.column(names[0])), m.log_emission(t.column(names[0]))[:, None, :])
    # rho -> 0 through the AR(1) code path (a tiny rho) is the emission model's posterior
    ar = Hidden(models={a: _with_rho(x, 1e-12) for a, x in models.items()})
    assert np.allclose(evaluate(f, t, world=ar), evaluate(f, t, world=Hidden(models=models)), atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(hidden_models(max_k=3), st.sampled_from([0.3, 0.8, -0.5]), traces(("a",), min_len=1, max_len=5, probabilistic=True))
def test_ar1_viterbi_is_the_most_probable_hidden_trajectory(m, rho, t):
    m = _with_rho(m, rho)
    p = np.clip(t.column("a"), 1e-6, 1 - 1e-6)
    z = np.log(p) - np.log1p(-p)
    x = t.column("a")

    def logw(path):
        if any((x[i] == 1.0 and not m.truth[s]) or (x[i] == 0.0 and m.truth[s]) for i, s in enumerate(path)):
            return -np.inf
        with np.errstate(divide="ignore"):
            lt = sum(np.log(m.T[path[i - 1], path[i]]) for i in range(1, len(path)))
            return np.log(m.initial[path[0]]) + lt + _ar_log_density(m, z, path, x)

    best = max(logw(p) for p in itertools.product(range(m.k), repeat=len(t)))
    got = viterbi(t, ("a",), Hidden(models={"a": m})).column("a")
    path = viterbi_path(m, m.log_emission(x), m.log_pair_emission(x))
    assert logw(tuple(path)) == pytest.approx(best, rel=1e-9, abs=1e-9)
    assert np.array_equal(got, np.array([m.truth[s] for s in path], dtype=float))


def test_ar1_model_round_trips_and_is_checked():
    m = HiddenModel.two_state(stay=0.9, prior=0.5, mean=(-1.0, 1.0), sd=(1.0, 2.0), rho=0.7)
    w = Hidden(models={"a": m})
    back = resolve_world(json.loads(json.dumps(w.to_dict())))
    assert back == w and back.models["a"].rho == 0.7
    assert "rho" not in Hidden(models={"a": _with_rho(m, 0.0)}).to_dict()["models"]["a"]  # old files unchanged
    with pytest.raises(InvalidValue, match="rho"):
        _with_rho(m, 1.0)


@settings(max_examples=40, deadline=None)
@given(
    formulas(ATOMS, max_depth=3, max_bound=2),
    traces(ATOMS, min_len=1, max_len=4, probabilistic=True),
    st.data(),
)
def test_monitor_under_ar1_noise_is_the_exact_filter_at_every_prefix(f, t, data):
    from framelogic.automata import Monitor

    world = Hidden(models={a: _with_rho(data.draw(hidden_models()), data.draw(st.sampled_from([0.0, 0.7, -0.3])))
                           for a in ATOMS})  # fmt: skip
    m = Monitor(f, world=world)
    if not m.atoms:
        return
    t = t.select(m.atoms)
    for i in range(len(t)):
        status = m.step({a: float(t.column(a)[i]) for a in m.atoms})
        assert status.probability == pytest.approx(evaluate(f, t.slice(0, i + 1), world=world)[0], abs=1e-9)


def _sample_ar(model: HiddenModel, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    s = rng.choice(model.k, p=np.asarray(model.initial))
    u = rng.normal()
    ys, zs = [], []
    for i in range(n):
        if i:
            s = rng.choice(model.k, p=model.T[s])
            u = model.rho * u + np.sqrt(1 - model.rho**2) * rng.normal()
        ys.append(model.truth[s])
        zs.append(model.mean[s] + model.sd[s] * u)
    return 1 / (1 + np.exp(-np.array(zs))), np.array(ys, dtype=float)


def test_fit_recovers_ar1_noise_and_bic_tells_it_from_independent_noise():
    rng = np.random.default_rng(7)
    ar = HiddenModel.two_state(stay=0.95, prior=0.4, mean=(-1.5, 1.5), sd=(2.0, 2.5), rho=0.9)
    vids = [_sample_ar(ar, 300, rng) for _ in range(10)]
    m = fit_hidden([{"p": s} for s, _ in vids], [{"p": y} for _, y in vids], substates=(1, 2)).models["p"]
    assert m.k == 2 and m.rho == pytest.approx(0.9, abs=0.03)
    # slowly wandering noise: the common level is loosely pinned, the gap between the states tightly
    assert m.mean[1] - m.mean[0] == pytest.approx(3.0, abs=0.3)
    assert m.mean == pytest.approx((-1.5, 1.5), abs=0.8)
    assert m.sd == pytest.approx((2.0, 2.5), abs=0.3)
    assert m.stay() == pytest.approx(0.95, abs=0.02)
    # the AR(1) model reads these scores better than the independent-emission one
    w_ar = Hidden(models={"p": m})
    w_ind = fit_hidden([{"p": s} for s, _ in vids], [{"p": y} for _, y in vids], substates=(1,), noise=("independent",))
    test = [_sample_ar(ar, 300, rng) for _ in range(5)]
    acc = [np.mean([np.mean((evaluate("p", {"p": s}, world=w) >= 0.5) == (y == 1)) for s, y in test]) for w in (w_ar, w_ind)]
    assert acc[0] > acc[1] + 0.05
    # independent noise: BIC keeps rho out
    plain = HiddenModel.two_state(stay=0.9, prior=0.4, mean=(-2.0, 2.0), sd=(1.0, 1.0))
    vids = [_sample(plain, 300, rng) for _ in range(8)]
    m = fit_hidden([{"p": s} for s, _ in vids], [{"p": y} for _, y in vids], substates=(1, 2)).models["p"]
    assert m.rho == 0.0 and m.k == 2
    with pytest.raises(InvalidValue, match="noise"):
        fit_hidden([{"p": s} for s, _ in vids], [{"p": y} for _, y in vids], noise=("ar2",))
    only = fit_hidden([{"p": s} for s, _ in vids], [{"p": y} for _, y in vids], noise="ar1").models["p"]
    assert abs(only.rho) < 0.1  # asked for: fitted, and near 0 on independent noise


@settings(max_examples=30, deadline=None)
@given(
    formulas(ATOMS, max_depth=3, max_bound=2, operators=["!", "&", "|", "Y", "O", "H", "S"]),
    traces(ATOMS, min_len=1, max_len=5, probabilistic=True),
    st.data(),
)
def test_ar1_filter_step_at_the_last_frame_equals_smoothing(f, t, data):
    # the monitors' filter loop (world.WorldFilter.step) with Joint.frame_step as its predict + evidence
    world = Hidden(models={a: _with_rho(data.draw(hidden_models()), data.draw(st.sampled_from([0.0, 0.7, -0.3])))
                           for a in ATOMS})  # fmt: skip
    d = compile(A.F(A.conj(f, A.neg(A.X(A.TRUE)))), props=ATOMS)
    joint = Joint([world.models[a] for a in d.atoms], d.atoms)
    delta = np.asarray(d.delta, dtype=np.int64)
    target = (delta[:, joint.letters(len(d.atoms))] * joint.m + np.arange(joint.m)[None, :]).ravel()
    J = np.zeros((d.n_states, joint.m))
    J[d.initial] = joint.initial
    for i in range(len(t)):
        x = np.array([t.column(a)[i] for a in d.atoms])
        F, e = joint.frame_step(J, x, i == 0)
        G = np.bincount(target, weights=(F * e).ravel(), minlength=F.size)
        if not G.sum() > 0:  # certain scores that the chains cannot produce
            return
        J = G.reshape(F.shape) / G.sum()
        smooth = evaluate(f, t.slice(0, i + 1), world=world)[-1]
        assert np.isclose(J.sum(axis=1)[d.accepting].sum(), smooth, atol=1e-9)


def test_ar1_with_sub_states_finds_a_burst_state_under_correlated_noise():
    from framelogic.automata.observe import _em_ar1, _fit_ar1

    # false; true seen; true missed (scores like the false state's), AR(1) noise with rho 0.6
    truth = (False, True, True)
    T = ((0.95, 0.05, 0.0), (0.03, 0.92, 0.05), (0.0, 0.2, 0.8))
    model = HiddenModel(truth, T, (0.5, 0.4, 0.1), (-2.5, 2.5, -2.0), (1.0, 1.0, 1.0), 0.6)
    rng = np.random.default_rng(2)
    vids = [_sample_ar(model, 300, rng) for _ in range(6)]
    zs = [np.log(s) - np.log1p(-s) for s, _ in vids]
    ys = [y.astype(bool) for _, y in vids]
    m2, ll2 = _em_ar1(zs, ys, 2, 15)
    _, ll1 = _fit_ar1(zs, ys)
    assert ll2 > ll1 + 50  # the burst state explains what one true state cannot
    tr, mean = np.array(m2.truth), np.array(m2.mean)
    burst = int(np.flatnonzero(tr)[np.argmin(mean[tr])])
    assert mean[burst] == pytest.approx(-2.0, abs=0.6)
    assert m2.T[burst, burst] == pytest.approx(0.8, abs=0.1)
    assert m2.rho == pytest.approx(0.6, abs=0.1)
    fitted = fit_hidden([{"p": s} for s, _ in vids], [{"p": y} for _, y in vids], noise="ar1", ar_substates=2)
    assert fitted.models["p"].k == 4 and fitted.models["p"].rho != 0.0  # BIC keeps the burst state
    with pytest.raises(InvalidValue, match="ar_substates"):
        fit_hidden([{"p": s} for s, _ in vids], [{"p": y} for _, y in vids], ar_substates=0)


def test_ar1_steps_per_axis_equal_the_dense_joint_steps(monkeypatch):
    from framelogic.automata import observe

    rng = np.random.default_rng(4)
    models = {a: HiddenModel.two_state(stay=0.9, prior=0.3 + 0.2 * j, mean=(-1.0, 1.5), sd=(1.0, 1.5), rho=0.2 + 0.3 * j)
              for j, a in enumerate("abc")}  # fmt: skip
    models["c"] = _with_rho(models["c"], 0.0)  # a chain without AR(1) noise in the product
    w = Hidden(models=models)
    t = {a: rng.random(40) for a in "abc"}
    dense = [evaluate(f, t, world=w) for f in ("(a & b) U c", "a & b & c", "G (a -> F b)")]
    monkeypatch.setattr(observe, "DENSE_STEPS", 0)
    assert all(np.allclose(evaluate(f, t, world=w), d, atol=1e-12) for f, d in zip(("(a & b) U c", "a & b & c", "G (a -> F b)"), dense))


# ------------------------------------------------------------------ the truth x detector chain


@st.composite
def detector_models(draw, rho=(0.0, 0.5, -0.3)):
    """A factorial chain (base, detector params) with the base's truth states and a burst density."""
    base = _with_rho(draw(hidden_models(max_k=2)), draw(st.sampled_from(rho)))
    params = {
        "start": draw(st.floats(0.0, 0.6)), "stay": draw(st.floats(0.0, 0.95)),
        "mean": draw(st.floats(-3, 3)), "sd": draw(st.floats(0.5, 2.5)), "initial": draw(st.floats(0.0, 1.0)),
    }  # fmt: skip
    return base, params


def _factorial_paths(base: HiddenModel, prm: dict, x: np.ndarray):
    """``(truth tuple, (base path, detector path), log weight)`` of every trajectory of the
    world chain and the detector chain, written out from the definition: the chains are
    independent; a frame's logit has the base state's density while the detector is ok and
    the burst density in a burst; the AR(1) residual runs through both and starts afresh
    after a certain score (exactly 0 or 1)."""
    n = len(x)
    p = np.clip(x, 1e-6, 1 - 1e-6)
    z = np.log(p) - np.log1p(-p)
    D = np.array([[1 - prm["start"], prm["start"]], [1 - prm["stay"], prm["stay"]]])
    d0 = np.array([1 - prm["initial"], prm["initial"]])
    r = base.rho
    for xs in itertools.product(range(base.k), repeat=n):
        if any((x[i] == 1.0 and not base.truth[s]) or (x[i] == 0.0 and base.truth[s]) for i, s in enumerate(xs)):
            continue
        for ds in itertools.product((0, 1), repeat=n):
            mu = [prm["mean"] if d else base.mean[s] for s, d in zip(xs, ds)]
            sd = [prm["sd"] if d else base.sd[s] for s, d in zip(xs, ds)]
            with np.errstate(divide="ignore"):
                lw = np.log(base.initial[xs[0]]) + np.log(d0[ds[0]])
                lw += sum(np.log(base.T[xs[i - 1], xs[i]]) + np.log(D[ds[i - 1], ds[i]]) for i in range(1, n))
            for i in range(n):
                u = (z[i] - mu[i]) / sd[i]
                if i == 0 or x[i - 1] in (0.0, 1.0):
                    lw += -0.5 * u * u - np.log(sd[i])
                else:
                    u0 = (z[i - 1] - mu[i - 1]) / sd[i - 1]
                    lw += -0.5 * (u - r * u0) ** 2 / (1 - r * r) - np.log(sd[i]) - 0.5 * np.log(1 - r * r)
            yield tuple(int(base.truth[s]) for s in xs), (xs, ds), lw


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_detector_chain_equals_enumeration_of_truth_and_detector_trajectories(data):
    k = data.draw(st.integers(1, 2))
    names = ATOMS[:k]
    n = data.draw(st.integers(1, {1: 4, 2: 2}[k]))
    f = data.draw(formulas(names, max_depth=3, max_bound=2))
    t = data.draw(traces(names, min_len=n, max_len=n, probabilistic=True))
    drawn = {a: data.draw(detector_models()) for a in names}
    world = Hidden(models={a: HiddenModel.detector(b, **prm) for a, (b, prm) in drawn.items()})
    per_prop = []
    for a, (b, prm) in drawn.items():
        paths = list(_factorial_paths(b, prm, t.column(a)))
        top = max((lw for _, _, lw in paths), default=0.0)
        acc: dict = {}
        for key, _, lw in paths:
            acc[key] = acc.get(key, 0.0) + np.exp(lw - top)
        per_prop.append(acc)
    num, den = np.zeros(n), 0.0
    for combo in itertools.product(*[list(acc.items()) for acc in per_prop]):
        w = float(np.prod([c[1] for c in combo]))
        if w:
            world01 = np.array([c[0] for c in combo], dtype=float).T.reshape(n, k)
            num += w * satisfaction(f, TraceTable(tuple(names), world01)).astype(float)
            den += w
    got = evaluate(f, t, world=world)
    if t.select(atom_names(f)).is_boolean:
        assert np.array_equal(got, satisfaction(f, t).astype(float))
    elif den > 0:
        assert np.allclose(got, num / den, atol=1e-9)


@settings(max_examples=50, deadline=None)
@given(detector_models(), traces(("a",), min_len=1, max_len=4, probabilistic=True))
def test_detector_viterbi_is_the_most_probable_truth_and_detector_trajectory(drawn, t):
    b, prm = drawn
    m = HiddenModel.detector(b, **prm)
    x = t.column("a")
    paths = list(_factorial_paths(b, prm, x))
    best = max(lw for _, _, lw in paths)
    path = viterbi_path(m, m.log_emission(x), m.log_pair_emission(x) if m.rho else None)
    xs, ds = tuple(int(s) // 2 for s in path), tuple(int(s) % 2 for s in path)
    got = next(lw for _, key, lw in paths if key == (xs, ds))  # the decoded joint trajectory ...
    assert got == pytest.approx(best, rel=1e-9, abs=1e-9)  # ... is a most probable one (ties: either)
    decoded = viterbi(t, ("a",), Hidden(models={"a": m})).column("a")
    assert np.array_equal(decoded, np.array([b.truth[s] for s in xs], dtype=float))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_detector_chain_without_bursts_is_the_world_chain(data):
    names = ATOMS[: data.draw(st.integers(1, 2))]
    f = data.draw(formulas(names, max_depth=3, max_bound=2))
    t = data.draw(traces(names, min_len=1, max_len=6, probabilistic=True))
    # scores away from exactly 0/1: there a logit of -13.8 under unequal sds makes the
    # unreachable burst states outweigh the reachable ones by e^-300 per frame in the
    # backward pass's scaling (a float-range limit of a chain with dead states, not a model difference)
    t = TraceTable(t.names, np.clip(t.values, 0.01, 0.99), t.times, t.fps)
    drawn = {a: data.draw(detector_models()) for a in names}
    plain = Hidden(models={a: b for a, (b, _) in drawn.items()})
    never = Hidden(models={a: HiddenModel.detector(b, **{**prm, "start": 0.0, "initial": 0.0}) for a, (b, prm) in drawn.items()})
    assert np.allclose(evaluate(f, t, world=never), evaluate(f, t, world=plain), atol=1e-9)
    got = viterbi(t, names, never)
    assert np.array_equal(got.values, viterbi(t, names, plain).values)


def test_detector_model_round_trips_and_is_checked():
    b = HiddenModel.two_state(stay=0.9, prior=0.4, mean=(-2.0, 2.0), sd=(1.0, 1.0), rho=0.5)
    m = HiddenModel.detector(b, start=0.05, stay=0.9, mean=-2.5, sd=1.5)
    assert m.burst == (False, True, False, True) and m.rho == 0.5
    assert m.initial[1] == pytest.approx(0.6 * 0.05 / 0.15)  # the detector chain's stationary burst share
    w = Hidden(models={"a": m})
    back = resolve_world(json.loads(json.dumps(w.to_dict())))
    assert back == w and back.models["a"].burst == m.burst
    with pytest.raises(InvalidValue, match="start"):
        HiddenModel.detector(b, start=1.5, stay=0.9, mean=0.0, sd=1.0)
    with pytest.raises(InvalidValue, match="burst"):
        HiddenModel(m.truth, m.transition, m.initial, m.mean, m.sd, 0.0, (True,))


def _sample_bursts(n: int, rng: np.random.Generator, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """Truth from a sticky chain; missed-detection bursts (start 0.04, stay 0.9) turn a true
    frame's logit mean from 2 to -2; AR(1) noise of sd 1 and correlation ``rho``."""
    y = np.zeros(n, dtype=bool)
    d = np.zeros(n, dtype=bool)
    u = np.empty(n)
    u[0] = rng.normal()
    for i in range(1, n):
        y[i] = rng.random() < (0.95 if y[i - 1] else 0.03)
        d[i] = rng.random() < (0.9 if d[i - 1] else 0.04)
        u[i] = rho * u[i - 1] + np.sqrt(1 - rho * rho) * rng.normal()
    z = np.where(y & ~d, 2.0, -2.0) + u
    return 1 / (1 + np.exp(-z)), y.astype(float)


@pytest.mark.parametrize("rho", [0.0, 0.5])
def test_fit_recovers_the_detector_chain_and_bic_prefers_it_on_bursts(rho):
    from framelogic.automata.observe import _em_detector, _fit_ar1

    rng = np.random.default_rng(11)
    vids = [_sample_bursts(300, rng, rho) for _ in range(8)]
    zs = [np.log(s) - np.log1p(-s) for s, _ in vids]
    ys = [y.astype(bool) for _, y in vids]
    m, ll = _em_detector(zs, ys, ar=rho > 0)
    burst = np.asarray(m.burst)
    assert m.T[1, 1] + m.T[1, 3] == pytest.approx(0.9, abs=0.06)  # the detector stays in a burst (whatever the truth)
    assert m.T[0, 1] + m.T[0, 3] == pytest.approx(0.04, abs=0.02)  # a burst's start
    assert np.asarray(m.mean)[burst][0] == pytest.approx(-2.0, abs=0.4)
    assert m.mean[2] == pytest.approx(2.0, abs=0.3)  # true, detector ok
    assert m.rho == pytest.approx(rho, abs=0.1)
    noise = ("ar1", "detector") if rho else ("independent", "detector")
    fitted = fit_hidden([{"p": s} for s, _ in vids], [{"p": y} for _, y in vids], substates=(1,), noise=noise)
    assert fitted.models["p"].burst  # BIC keeps the detector chain over the world chain alone
    plain = HiddenModel.two_state(stay=0.9, prior=0.4, mean=(-2.0, 2.0), sd=(1.0, 1.0))
    vids = [_sample(plain, 300, rng) for _ in range(8)]
    fitted = fit_hidden([{"p": s} for s, _ in vids], [{"p": y} for _, y in vids], substates=(1,), noise=("independent", "detector"))
    assert not fitted.models["p"].burst  # no bursts in the data: BIC drops the detector chain
    _, base_ll = _fit_ar1(zs, ys)
    assert ll > base_ll or rho == 0.0


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_compiled_inference_equals_the_numpy_path(data):
    """The compiled loops (observe.COMPILED: evidence, joint posterior, automaton product, Viterbi)
    give the numpy path's numbers, with AR(1) chains, mixed chains and detector chains."""
    from framelogic.automata import observe

    names = ("a", "b", "c")[: data.draw(st.integers(1, 3))]
    n = data.draw(st.integers(1, 40))
    f = data.draw(formulas(names, max_depth=4, max_bound=3))
    t = data.draw(traces(names, min_len=n, max_len=n, probabilistic=True))
    models = {}
    for a in names:
        m = _with_rho(data.draw(hidden_models(max_k=3)), data.draw(st.sampled_from([0.0, 0.6, -0.3])))
        if data.draw(st.booleans()):
            m = HiddenModel.detector(m, start=0.05, stay=0.8, mean=-1.0, sd=1.5)
        models[a] = m
    world = Hidden(models=models)
    joint = Joint([models[a] for a in names], names)
    assert joint.compiled() is not None
    try:
        observe.COMPILED = False
        plain = evaluate(f, t, world=world)
        loge0, steps0 = joint.evidence(t, names)
        post0 = joint.posterior(loge0, steps0)
        dec0 = world.decode(t, names).values
    finally:
        observe.COMPILED = True
    got = evaluate(f, t, world=world)
    loge1, steps1 = joint.evidence(t, names)
    assert np.allclose(loge1, loge0, rtol=1e-12, atol=1e-12)
    assert (steps0 is None) == (steps1 is None)
    if steps0 is not None:
        for M0, M1 in zip(steps0.mats, steps1.mats):
            assert (M0 is None) == (M1 is None)
            if M0 is not None and n > 1:  # frame 0's step is never used
                assert np.allclose(M1[1:], M0[1:], rtol=1e-12, atol=1e-300)
    assert np.allclose(joint.posterior(loge1, steps1), post0, atol=1e-10)
    assert np.allclose(got, plain, atol=1e-10)
    assert np.array_equal(world.decode(t, names).values, dec0)  # Viterbi: the same path
