"""The monitor evidence benchmark (benchmarks/accuracy/monitor_world.py).

Its numbers stand on four things checked here: the offline replay gives the
monitor's own probabilities and verdicts (against ``Monitor.step`` on random
formulas, traces and worlds); the scenes hold or violate each spec exactly
where they say (the boolean monitor on their labels); the target noise models
keep the background at or below ``b``; and the statistics (Clopper–Pearson
bound, detection tally) are right on hand-made cases."""

import math

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from benchmarks.accuracy import monitor_world as mw
from framelogic.automata import Monitor, Verdict
from framelogic.automata.world import Independent, Markov
from framelogic.logic.errors import InvalidValue
from framelogic.logic.strategies import formulas, traces

ABC = ("a", "b", "c")
WORLDS = st.sampled_from([
    Independent(),
    Markov(),
    Markov(stay=0.6, prior=0.3),
    Markov(stay={"a": 0.9, "b": 0.7, "c": 0.99}, prior={"a": 0.2, "b": 0.5, "c": 0.7},
           calibration={"a": (1.5, -0.5), "c": (0.5, 1.0)}),
])  # fmt: skip


# ----------------------------------------------------------------- the offline replay


@given(formulas(ABC, max_depth=3, max_bound=3), traces(ABC, min_len=1, max_len=12, probabilistic=True), WORLDS,
       st.sampled_from([0.01, 0.2, 0.5]))  # fmt: skip
def test_offline_replay_is_the_monitor(f, t, world, delta):
    make = lambda: mw.automaton_monitor(f, world=world, confidence=delta)  # noqa: E731
    scores = {a: t.column(a) for a in ABC}
    if not mw.offline_applies(make(), scores):  # a part followed by its streaming signal
        event("streaming part: not replayed")
        return
    try:
        steps = [s for m in [make()] for s in m.run(t)]
    except InvalidValue:  # 0/1 observations the chains cannot produce: both must refuse
        event("impossible observations")
        with pytest.raises(InvalidValue):
            mw.offline_status(make(), scores)
        return
    off = mw.offline_status(make(), scores)
    event(f"replayed, {type(world).__name__}")
    for i, s in enumerate(steps):
        assert off.probability[i] == pytest.approx(s.probability, abs=1e-9)
        assert off.p_satisfied[i] == pytest.approx(s.p_satisfied, abs=1e-9)
        assert off.p_violated[i] == pytest.approx(s.p_violated, abs=1e-9)
        # verdicts agree wherever the number is not within rounding of the threshold
        if abs(s.p_violated - (1 - delta)) > 1e-9 and abs(s.p_satisfied - (1 - delta)) > 1e-9:
            assert bool(off.violated[i]) == (s.verdict is Verdict.VIOLATED)


def test_offline_replay_on_a_long_noisy_trace_matches_step_by_step():
    rng = np.random.default_rng(3)
    sc = mw.scene(int(60 * mw.FPS), rng, "no stop")
    scores = mw.scene_scores(sc.labels, "ar1", 0.1, rng)
    for spec in mw.SPECS.values():
        for world in (Independent(), Markov(), Markov(persist={"ped": 5.0, "stopped": 4.0, "lane": 3.0, "signal": 3.0})):
            diff, wrong = mw.check_offline(lambda: mw.automaton_monitor(spec, fps=mw.FPS, world=world), scores, 900)
            assert diff < 1e-9 and wrong == 0


def test_first_violation_uses_the_replay_and_agrees_with_stepping():
    rng = np.random.default_rng(5)
    t = mw.driving_trace(1.0, rng, violating=True)
    make = lambda: mw.automaton_monitor(mw.RULE, fps=mw.FPS, world=Markov(), confidence=mw.DELTA)  # noqa: E731
    assert mw.offline_applies(make(), t.scores)
    assert mw.first_violation(make, t.scores) == mw._first_violation(make, mw._frames(t.scores))
    assert mw.first_violation(make, t.scores) is not None


# ----------------------------------------------------------------- scenes and noise


@pytest.mark.parametrize("kind", [None, "no stop", "no signal"])
def test_scenes_hold_or_violate_each_spec_where_they_say(kind):
    for seed in range(3):
        sc = mw.scene(int(3 * 60 * mw.FPS), np.random.default_rng([seed, 7]), kind)
        assert set(sc.labels) == set(mw.PROPS) and sc.kind == kind
        assert sc.labels["ped"].any() and sc.labels["lane"].any()
        for name, spec in mw.SPECS.items():
            make = lambda: mw.automaton_monitor(spec, fps=mw.FPS)  # noqa: E731
            first = mw._first_violation(make, mw._frames(sc.labels))
            if kind is not None and name in mw.VIOLATES[kind]:
                assert first == sc.violation
            else:
                assert first is None


def test_violation_frames():
    sc = mw.scene(int(2 * 60 * mw.FPS), np.random.default_rng(1), "no stop")
    assert sc.violation == sc.onset + 60 and sc.labels["ped"][sc.onset] == 1 and not sc.labels["stopped"][sc.onset : sc.violation + 1].any()
    sc = mw.scene(int(2 * 60 * mw.FPS), np.random.default_rng(1), "no signal")
    assert sc.violation == sc.onset and sc.labels["lane"][sc.onset] == 1
    with pytest.raises(InvalidValue, match="kind"):
        mw.scene(3000, np.random.default_rng(0), "no brake")


@pytest.mark.parametrize("noise", [*mw.NOISES, *mw.STRESS])
def test_noise_models_keep_their_premise(noise):
    rng = np.random.default_rng(2)
    truth = np.repeat([0, 1, 0, 1, 0], 4000)
    for b in mw.BACKGROUNDS:
        s = mw.noisy_scores(noise, truth, b, rng)
        assert s.shape == truth.shape and ((s > 0) & (s < 1)).all()
        false, true = s[truth == 0], s[truth == 1]
        if noise in mw.NOISES:
            assert false.max() <= b  # background at most b
        else:
            assert (false > b).mean() > 0.3 and false.max() > 0.5  # the stress model leaves the premise
        assert np.median(true) > 0.5
    with pytest.raises(InvalidValue, match="noise"):
        mw.noisy_scores("gaussian", truth, 0.1, rng)


# ----------------------------------------------------------------- statistics


def test_clopper_pearson_upper_bound():
    assert mw.clopper_pearson_upper(0, 300) == pytest.approx(1 - 0.05 ** (1 / 300))
    assert mw.clopper_pearson_upper(0, 384, 0.025) < 0.01 < mw.clopper_pearson_upper(0, 360, 0.025)
    assert mw.clopper_pearson_upper(10, 10) == 1.0
    # x > 0: the bound p solves P(X <= x; n, p) = alpha (checked by summing the binomial)
    for x, n, alpha in [(1, 10, 0.05), (3, 400, 0.05), (7, 60, 0.025)]:
        p = mw.clopper_pearson_upper(x, n, alpha)
        cdf = sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(x + 1))
        assert cdf == pytest.approx(alpha, abs=1e-9) and x / n < p < 1
    assert mw.clopper_pearson_upper(1, 10) == pytest.approx(0.3942, abs=1e-4)  # the textbook value
    with pytest.raises(InvalidValue):
        mw.clopper_pearson_upper(5, 3)


def test_tally_counts_false_violations_detections_early_and_late_alarms():
    o = lambda kind, first, violation, final=False: mw.Outcome("ar1", 0.1, "response", "m", kind, first, violation, final)  # noqa: E731
    rows = [
        o(None, None, None), o(None, 500, None, True), o(None, 9, None),  # clean: two false violations, one final
        o("no stop", 130, 100), o("no stop", 100, 100),  # detected, 1 s and 0 s late
        o("no stop", 90, 100),  # early alarm
        o("no stop", 100 + 301, 100),  # 10.03 s late: a miss
        o("no stop", None, 100),  # never
        o("no signal", None, None),  # violates another spec: in neither pool
    ]
    t = mw.tally(rows)
    assert (t.clean, t.false, t.false_final) == (3, 2, 1)
    assert (t.violating, t.detected, t.early) == (5, 2, 1)
    assert sorted(t.delays) == [0.0, 1.0]
    assert t.upper == pytest.approx(mw.clopper_pearson_upper(2, 3))


# ----------------------------------------------------------------- a tiny run, end to end


def test_a_tiny_evidence_run_reports_every_spec_and_method():
    ev = mw.run_evidence(minutes=1.0, clean=2, violating=2, noises=("constant",), levels=(0.05,), check_frames=120)
    assert len(ev.outcomes) == 4 * len(mw.SPECS) * len(mw.METHODS)
    checked, frames, worst, wrong = ev.check
    assert checked == 2 * len(mw.SPECS) * len(mw.METHODS) and worst < 1e-9 and wrong == 0
    # constant scores: a fitted persistent world separates 0.9 from 0.05 without error
    fitted = mw.tally([x for x in ev.outcomes if x.method == mw.MARKOV_FITTED])
    assert fitted.false == 0 and fitted.detected == fitted.violating == 4
    text = mw.evidence_markdown(ev)
    for spec in mw.SPECS:
        assert f"| {spec} | {mw.MARKOV_FITTED} |" in text
    assert "95% upper bound" in text and "0 verdicts differ" in text


# ----------------------------------------------------------------- benchmarks/monitor_world.py


def test_clean_background_table_independent_fires_and_persistent_markov_does_not():
    from benchmarks import monitor_world as cli

    probs = cli.clean_trace(0.01, 1800, None)
    ind = cli.run(Independent(), probs, 30.0)
    assert ind.ever and ind.final and ind.first is not None and ind.first < 60  # a steady 1% "pedestrian" is fatal
    slow = cli.run(Markov(persist=2.0), probs, 30.0)
    assert not slow.ever and slow.max_pv < 0.01
    # the replayed first VIOLATED is the monitor's, frame by frame
    m = mw.automaton_monitor(cli.RULE, fps=30.0, world=Independent(), confidence=cli.DELTA)
    first = next(i for i, (p, q) in enumerate(probs) if m.step({"ped": p, "stopped": q}).verdict is Verdict.VIOLATED)
    assert ind.first == pytest.approx(first / 30.0)
    text = cli.clean_table(minutes=0.5, fps=30.0, seeds=1, levels=[0.05])
    assert text.count("| 0.05 |") == 6 and "markov persist 2s" in text


def test_accuracy_table_counts_wins_ties_and_losses_against_the_independent_world():
    from benchmarks import monitor_world as cli
    from benchmarks.accuracy import worlds as W
    from benchmarks.accuracy.report import Row

    def row(template, method, f1, ef1):
        return Row(template, "ar1/low", method, 0.0, 0.0, f1, ef1, 1.0, 5)

    rows = []
    for template, (ind, unf, vit, fit) in {"F p": (0.8, 0.9, 0.8, 0.7), "G p": (0.5, 0.502, 0.4, 0.6)}.items():
        rows += [row(template, W.INDEPENDENT, ind, ind), row(template, cli.UNFITTED, unf, unf),
                 row(template, cli.UNFITTED_VITERBI, vit, vit), row(template, W.MARKOV, fit, fit)]  # fmt: skip
    text = cli.accuracy_table(rows)
    assert f"* {cli.UNFITTED}: frame F1 1/1/0; event F1 1/1/0" in text  # 0.9 > 0.8 wins, 0.502 ties 0.5
    assert f"* {cli.UNFITTED_VITERBI}: frame F1 0/1/1" in text
    assert f"* {W.MARKOV}: frame F1 1/0/1" in text
    assert "| F p | ar1/low | 0.800 / 0.800 | 0.900 / 0.900 |" in text


def test_horizon_matches_the_one_frame_phantom_hazard():
    """Markov() reads a steady b as a calibrated posterior: one-frame phantom pedestrians
    have posterior weight about (1 - stay)^2 b / (1 - b) per frame, so P(violated) after n
    frames is about 1 - exp(-n h); the measured horizon is within a factor 1.5 of that."""
    from benchmarks import monitor_world as cli

    pv, first, reach = cli.horizon(Markov(), 0.1, minutes=2.0)
    h = 0.05**2 * 0.1 / 0.9
    predicted = 1 - math.exp(-h * 2 * 60 * 30)
    assert first is None and predicted / 1.5 < pv < predicted * 1.5
    assert 5 < reach < 12  # minutes until P(violated) >= 0.99 (measured on 10 minutes: 7.6)
    pv_i, first_i, reach_i = cli.horizon(Independent(), 0.01, minutes=2.0)
    assert first_i is not None and first_i < 60 and reach_i == pytest.approx(first_i / 60)
