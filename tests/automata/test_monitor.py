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
    small._small, wide._small = True, False
    for fr in frames:
        x, y = small.step(fr), wide.step(fr)
        assert x.verdict is y.verdict
        assert abs(x.probability - y.probability) < 1e-12
        assert abs(x.p_satisfied - y.p_satisfied) < 1e-12 and abs(x.p_violated - y.p_violated) < 1e-12


def test_memory_does_not_grow_with_the_stream():
    m = Monitor("G (a -> F[0,5] b)")
    before = (m._dist.nbytes, len(m._dist_list))
    rng = np.random.default_rng(3)
    for _ in range(2000):
        m.step({"a": float(rng.random()), "b": float(rng.random())})
    assert (m._dist.nbytes, len(m._dist_list)) == before and m.status.frame == 1999
