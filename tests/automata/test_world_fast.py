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
from framelogic.logic import atom_names
from framelogic.logic.errors import InvalidValue
from framelogic.logic.strategies import formulas, traces

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
