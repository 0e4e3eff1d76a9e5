"""The Markov world's fast loops (unnormalised messages rescaled only at the edges
of [TINY, HUGE], evidence made once, sinks as columns, chain state first) against
the general loops they replace (``world.REFERENCE = True``), which normalise every
frame and are checked against enumeration in test_world.py."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framelogic.automata import evaluate
from framelogic.automata import world as W
from framelogic.automata.world import Markov
from framelogic.logic import atom_names, parse
from framelogic.logic.errors import InvalidValue
from framelogic.logic.strategies import formulas, traces
from test_world import brute_posterior
from test_world import markov_worlds as enumerable_worlds

ATOMS = ("a", "b", "c")


@st.composite
def markov_worlds(draw, names):
    stay = {a: draw(st.floats(0.05, 0.999)) for a in names}
    prior = {a: draw(st.floats(0.02, 0.98)) for a in names}
    for a in names:  # keep the chain valid: stay >= 1 - (1 - prior) / prior
        stay[a] = min(max(stay[a], 1 - (1 - prior[a]) / prior[a] + 0.01), 0.999)
    groups = ()
    if len(names) >= 2 and draw(st.booleans()):
        groups = (frozenset(draw(st.lists(st.sampled_from(names), min_size=2, max_size=len(names), unique=True))),)
    return Markov(stay=stay, prior=prior, mutex=groups)


def both(f, t, world, monkeypatch):
    """(general loops, fast loops) on one input, or the error each raised."""
    out = []
    for reference in (True, False):
        monkeypatch.setattr(W, "REFERENCE", reference)
        try:
            out.append(evaluate(f, t, world=world))
        except InvalidValue as err:
            out.append(err)
    return out


def agree(ref, fast):
    if isinstance(ref, Exception):
        assert isinstance(fast, InvalidValue) and "impossible" in str(fast)
        return
    assert not isinstance(fast, Exception), fast
    assert np.allclose(ref, fast, atol=1e-9, rtol=0)


@settings(max_examples=300, deadline=None)
@given(formulas(ATOMS, max_depth=4, max_bound=4), traces(ATOMS, min_len=1, max_len=40, probabilistic=True), st.data())
def test_fast_loops_equal_the_general_loops(f, t, data):
    world = data.draw(markov_worlds(ATOMS))
    with pytest.MonkeyPatch.context() as mp:
        agree(*both(f, t, world, mp))


@settings(max_examples=40, deadline=None)
@given(formulas(("a", "b"), max_depth=3, max_bound=3), st.integers(0, 2**32 - 1), st.data())
def test_fast_loops_rescale_on_long_extreme_traces(f, seed, data):
    # confident scores at a small prior: likelihood ratios of ~100 per frame, so the
    # unnormalised messages leave [TINY, HUGE] within 50 frames, many times over
    rng = np.random.default_rng(seed)
    n = 600
    world = Markov(stay=data.draw(st.sampled_from([0.5, 0.9, 0.999])), prior=data.draw(st.sampled_from([0.01, 0.3, 0.5])))
    if not atom_names(f):
        return
    truth = (np.cumsum(rng.random((n, 2)) < 0.02, axis=0) % 2).astype(bool)
    t = {a: np.where(truth[:, j], 1 - 1e-9, 1e-9) * 0.999 + 0.0005 * rng.random(n) for j, a in enumerate(("a", "b"))}
    with pytest.MonkeyPatch.context() as mp:
        agree(*both(f, t, world, mp))


def test_fast_loops_find_the_impossible_frame(monkeypatch):
    world = Markov(stay=0.9, mutex=(frozenset("ab"),))
    t = {"a": [0.5, 1.0, 0.3], "b": [0.5, 1.0, 0.2]}
    for text in ("a | b", "a U b", "b S a", "F (b & Y a)"):
        ref, fast = both(text, t, world, monkeypatch)
        assert isinstance(ref, InvalidValue) and isinstance(fast, InvalidValue)
        assert "around frame 1" in str(fast)


def test_compiled_fast_loops_equal_the_general_loops(monkeypatch):
    # the numba-compiled fast loops, with many checkpointed chunks, against the plain general ones
    rng = np.random.default_rng(1)
    t = {"a": rng.random(1000), "b": rng.random(1000), "c": rng.random(1000)}
    worlds = (Markov(stay=0.95), Markov(stay=0.8, prior=0.3, mutex=(frozenset("ab"),)))
    for text in ("a | b", "G (a -> F[0,5] b)", "a S b", "F (b & Y Y a)", "(a & b) U c"):
        for world in worlds:
            monkeypatch.setattr(W, "REFERENCE", True)
            monkeypatch.setattr(W, "JIT_WORK", 10**12)
            monkeypatch.setattr(W, "JIT_TOTAL", 10**12)
            ref = evaluate(text, t, world=world)
            monkeypatch.setattr(W, "REFERENCE", False)
            monkeypatch.setattr(W, "JIT_WORK", 0)
            monkeypatch.setattr(W, "CHUNK_CELLS", 300)  # many checkpoints, odd chunk lengths
            assert np.allclose(evaluate(text, t, world=world), ref, atol=1e-9, rtol=0), (text, world)


# ------------------------------------------------------------------ the fused loops
# Future formulas whose automaton has one waiting state (p U q, F p, G p, ...) over
# chains without mutex groups run in one fused forward-backward (world.until_one /
# until_two / until_fused); past ones (p S q, O p, H p) as their future mirror on the
# reversed scores (a stationary two-state chain is reversible).

OPERANDS = ("a", "!a", "b", "a & b", "a | c", "!b & c", "c")
SHAPES = ("{x} U {y}", "F {x}", "G {x}", "!({x} U {y})", "{x} W {y}", "X {x}", "{x} S {y}", "O {x}", "H {x}", "Y {x}",
          "!({x} S {y})", "({x} U {y}) | F {y}", "O {x} & H {y}")  # fmt: skip


@st.composite
def waiting_formulas(draw, operands=OPERANDS):
    shape = draw(st.sampled_from(SHAPES))
    return shape.format(x=f"({draw(st.sampled_from(operands))})", y=f"({draw(st.sampled_from(operands))})")


def fused_leaves(text, world):
    from framelogic.automata import Evaluator

    return [leaf for leaf in Evaluator(text, world=world).world_plan(None).leaves() if leaf.fused is not None]


def test_the_fused_loops_run_the_until_family():
    world = Markov(stay={"a": 0.9, "b": 0.97, "c": 0.8}, prior={"a": 0.3, "b": 0.5, "c": 0.6})
    for text, k in (("F a", 1), ("G !a", 1), ("a U b", 2), ("(a & b) U c", 3), ("a S b", 2), ("O a", 1), ("H (a | b)", 2)):
        (leaf,) = fused_leaves(text, world)
        assert leaf.chain.k == k and leaf.reverse == (text[0] in "OH" or " S " in text), text
    # a mutex group couples the chains: the general fast loops run instead
    assert not fused_leaves("a U b", Markov(mutex=(frozenset("ab"),)))
    assert not fused_leaves("G (a -> F[0,3] b)", world)  # many waiting states


@settings(max_examples=300, deadline=None)
@given(waiting_formulas(), traces(ATOMS, min_len=1, max_len=60, probabilistic=True), st.data())
def test_fused_loops_equal_the_general_loops(text, t, data):
    world = data.draw(markov_worlds(ATOMS))  # per-proposition stay and prior; mutex groups half the time
    with pytest.MonkeyPatch.context() as mp:
        agree(*both(text, t, world, mp))


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_fused_loops_equal_enumeration_of_hidden_trajectories(data):
    k = data.draw(st.integers(1, 3))
    names = ATOMS[:k]
    n = data.draw(st.integers(1, {1: 5, 2: 4, 3: 3}[k]))
    text = data.draw(waiting_formulas(tuple(o for o in OPERANDS if set(o) & set("abc") <= set(names))))
    t = data.draw(traces(names, min_len=n, max_len=n, probabilistic=True))
    world = data.draw(enumerable_worlds(names))  # no mutex groups: the fused loops' case
    used = atom_names(parse(text))
    num, den = brute_posterior(parse(text), t, world, used)
    got = evaluate(text, t, world=world)
    if t.select(used).is_boolean:
        return  # certain input: the boolean signal (test_world.py)
    assert np.allclose(got, num / den, atol=1e-9, rtol=0), (text, got, num / den)


@pytest.mark.parametrize("text", ["F a", "G a", "a U b", "(a & b) U c", "a S b", "H a", "!(b U (a | c))"])
def test_compiled_fused_loops_rescale_on_long_extreme_traces(text, monkeypatch):
    # confident scores at a small prior (likelihood ratios ~1000 per frame, messages
    # rescaled many times) and 3000 frames, compiled, against the plain general loops
    rng = np.random.default_rng(7)
    n = 3000
    truth = (np.cumsum(rng.random((n, 3)) < 0.01, axis=0) % 2).astype(bool)
    t = {a: np.where(truth[:, j], 1 - 1e-6, 1e-6) * 0.999 + 0.0005 * rng.random(n) for j, a in enumerate(ATOMS)}
    world = Markov(stay={"a": 0.99, "b": 0.9, "c": 0.999}, prior={"a": 0.01, "b": 0.3, "c": 0.5})
    assert fused_leaves(text, world)
    monkeypatch.setattr(W, "REFERENCE", True)
    monkeypatch.setattr(W, "JIT_WORK", 10**12)
    monkeypatch.setattr(W, "JIT_TOTAL", 10**12)
    ref = evaluate(text, t, world=world)
    monkeypatch.setattr(W, "REFERENCE", False)
    monkeypatch.setattr(W, "JIT_WORK", 0)
    assert np.allclose(evaluate(text, t, world=world), ref, atol=1e-9, rtol=0)


def test_propositional_parts_over_independent_chains_multiply_their_marginals(monkeypatch):
    # no mutex group: a propositional part over several chains is a sum of products of
    # the propositions' own posterior marginals (world._Leaf), against the joint chain
    from framelogic.automata import Evaluator

    rng = np.random.default_rng(3)
    t = {a: rng.random(500) for a in ATOMS}
    world = Markov(stay={"a": 0.9, "b": 0.97, "c": 0.8}, prior={"a": 0.3, "b": 0.5, "c": 0.7})
    for text in ("(a & b) | (!a & c)", "a <-> b", "(a | b) & (!a | c)"):
        leaves = Evaluator(text, world=world).world_plan(None).leaves()
        assert any(leaf.method == "chain" and leaf.chain.k >= 2 for leaf in leaves), text
        agree(*both(text, t, world, monkeypatch))


def test_threads_evaluating_at_once_agree_with_one_thread():
    # the fused loops' work arrays are per thread (world._scratch)
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(4)
    tables = [{a: rng.random(n) for a in ATOMS} for n in (50, 3000, 700, 3000, 20)]
    world = Markov(stay=0.9)
    texts = ("a U b", "F a", "(a & b) U c", "a S b", "a & b")
    alone = [[evaluate(x, t, world=world) for x in texts] for t in tables]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda t: [evaluate(x, t, world=world) for x in texts], tables * 3))
    for i, got in enumerate(together):
        for a, b in zip(alone[i % len(tables)], got):
            assert np.array_equal(a, b)


# ------------------------------------------------------------------ resetting automata, paired single chains
# Future parts whose automaton some letters reset (the response rules G (p -> F[0,b] q):
# q meets every pending deadline) run world.backward_reset; single-proposition parts
# of a conjunction or disjunction are smoothed two at a time (world.smooth_two).

RESPONSE = ("G ({x} -> F[0,{b}] {y})", "G ({x} -> F[{a},{b}] {y})", "G ({x} -> X F[0,{b}] {y})", "F[0,{b}] {y} & G {x}",
            "G ({x} -> F[0,{b}] {y}) | F {x}", "{x} U[0,{b}] {y}", "!G ({x} -> F[0,{b}] {y})")  # fmt: skip


@st.composite
def response_formulas(draw, operands=("a", "!a", "b", "!b", "a & c", "b | c", "c")):
    b = draw(st.integers(1, 5))
    shape = draw(st.sampled_from(RESPONSE))
    x, y = draw(st.sampled_from(operands)), draw(st.sampled_from(operands))
    return shape.format(x=f"({x})", y=f"({y})", a=draw(st.integers(0, b)), b=b)


def reset_leaves(text, world):
    from framelogic.automata import Evaluator

    out = []
    for leaf in Evaluator(text, world=world).world_plan(None).leaves():
        if leaf.method == "automaton" and leaf.fused is None:
            dp, _, onc, dfc, _ = leaf.tables
            nt = dfc.shape[0]
            cols = lambda c: np.where(c >= 0, c, np.where(c == -1, nt, nt + 1)).T  # noqa: E731
            if W._resets(cols(dfc), cols(onc), leaf.chain.letters(len(leaf.own)), dp.shape[0]) is not None:
                out.append(leaf)
    return out


def test_the_reset_loop_runs_the_response_rules():
    world = Markov(stay={"a": 0.9, "b": 0.97, "c": 0.8}, prior={"a": 0.3, "b": 0.5, "c": 0.6})
    for text in ("G (a -> F[0,5] b)", "G (a -> F[0,30] b) & G (c -> F[0,2] a)", "G (a -> F[0,4] (b | c))"):
        assert reset_leaves(text, world), text
    assert reset_leaves("G (a -> F[0,3] b)", Markov(mutex=(frozenset("ab"),)))  # the chain's letters decide, mutex too


@settings(max_examples=250, deadline=None)
@given(response_formulas(), traces(ATOMS, min_len=1, max_len=50, probabilistic=True), st.data())
def test_reset_loop_equals_the_general_loops(text, t, data):
    world = data.draw(markov_worlds(ATOMS))  # per-proposition stay and prior; mutex groups half the time
    with pytest.MonkeyPatch.context() as mp:
        agree(*both(text, t, world, mp))


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_reset_loop_and_paired_chains_equal_enumeration(data):
    names = ("a", "b")
    n = data.draw(st.integers(1, 4))
    text = data.draw(
        st.one_of(response_formulas(("a", "!a", "b", "!b")), st.sampled_from(["a & b", "a | !b", "!a & !b", "(a | b) & F b"]))
    )
    t = data.draw(traces(names, min_len=n, max_len=n, probabilistic=True))
    world = data.draw(enumerable_worlds(names, mutex=True))
    used = atom_names(parse(text))
    if t.select(used).is_boolean:
        return  # certain input: the boolean signal (test_world.py)
    num, den = brute_posterior(parse(text), t, world, names)  # both: a mutex group couples them
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(W, "PAIR_FRAMES", 0)  # paired on short traces too
        if den == 0.0:  # 0/1 scores against the mutex group
            with pytest.raises(InvalidValue, match="impossible"):
                evaluate(text, t, world=world)
            return
        got = evaluate(text, t, world=world)
    assert np.allclose(got, num / den, atol=1e-9, rtol=0), (text, got, num / den)


def test_single_proposition_parts_run_in_pairs(monkeypatch):
    calls = []
    monkeypatch.setattr(W, "_batched", lambda kind, leaves, t, _b=W._batched: calls.append(len(leaves)) or _b(kind, leaves, t))
    rng = np.random.default_rng(5)
    t = {a: rng.random(2500) for a in ATOMS}
    evaluate("a & !b & c & F a", t, world=Markov(stay=0.9))
    assert calls == [2]  # a and !b paired, c alone, F a its own loop


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "!a", "b", "!b", "c", "!c", "F a", "a U b"]), min_size=2, max_size=5),
    st.sampled_from([" & ", " | "]),
    traces(ATOMS, min_len=1, max_len=40, probabilistic=True),
    st.data(),
)
def test_paired_single_chains_equal_the_general_loops(parts, op, t, data):
    text = op.join(f"({p})" for p in parts)
    world = data.draw(markov_worlds(ATOMS))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(W, "PAIR_FRAMES", 0)  # paired on short traces too
        agree(*both(text, t, world, mp))


@pytest.mark.parametrize("text", ["G (a -> F[0,6] b)", "G (a -> F[2,5] (b | c))", "a & b", "!a | b | c", "a <-> b"])
def test_compiled_reset_loop_and_paired_chains_rescale_on_long_extreme_traces(text, monkeypatch):
    rng = np.random.default_rng(8)
    n = 3000
    truth = (np.cumsum(rng.random((n, 3)) < 0.01, axis=0) % 2).astype(bool)
    t = {a: np.where(truth[:, j], 1 - 1e-6, 1e-6) * 0.999 + 0.0005 * rng.random(n) for j, a in enumerate(ATOMS)}
    world = Markov(stay={"a": 0.99, "b": 0.9, "c": 0.999}, prior={"a": 0.01, "b": 0.3, "c": 0.5})
    monkeypatch.setattr(W, "REFERENCE", True)
    monkeypatch.setattr(W, "JIT_WORK", 10**12)
    monkeypatch.setattr(W, "JIT_TOTAL", 10**12)
    ref = evaluate(text, t, world=world)
    monkeypatch.setattr(W, "REFERENCE", False)
    monkeypatch.setattr(W, "JIT_WORK", 0)
    monkeypatch.setattr(W, "CHUNK_CELLS", 500)  # many checkpoints
    assert np.allclose(evaluate(text, t, world=world), ref, atol=1e-9, rtol=0)
